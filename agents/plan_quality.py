"""Whether a plan's sub-questions are worth researching: pure checks over plain text.

A small model under a JSON grammar always writes *something* that parses; what it writes
may still be useless: the question copied, a run of enumerations ("1. 1. 2. 1. 3."), a
phrase repeated until the length limit, or the same sub-question twice. These checks
name each such problem in a sentence the planner feeds back to the model, and
``derived_subquestions`` gives an honest last resort built from the question's own
words when the model cannot write a usable plan. No I/O, no model.
"""

from __future__ import annotations

import itertools
import keyword
import re
from collections import Counter
from collections.abc import Sequence

# fmt: off
_STOPWORDS = """
a an the and or but if of to in on at by for with from into onto as is are was were be been
being am do does did doing have has had having it its it's this that these those there their
them they he she we you your i me my our us what which who whom whose when where why how
can could should would will shall may might must not no nor so than then too very just about
over under between each other some any all such only own same also more most much many
python python's meant
"""
# Words that link a question's terms rather than name one, and generic nouns.
_LINK_WORDS = """
handle handles handled handling work works working use uses used using affect affects
differ differs compare compared relate relates related mean means happen happens make makes
get gets create creates created define defines defined call calls called implement implements
support supports return returns change changes raise raises raised catch catches caught
behave behaves difference differences way ways purpose role meaning example examples
"""
# fmt: on
STOPWORDS = frozenset(_STOPWORDS.split())
LINK_WORDS = frozenset(_LINK_WORDS.split())
# Words after which a Python keyword names a construct ("with statement", "for loop").
KEYWORD_NOUNS = frozenset(
    [
        "statement",
        "statements",
        "loop",
        "loops",
        "clause",
        "expression",
        "expressions",
        "keyword",
        "block",
        "blocks",
    ]
)
_WORD = re.compile(r"[A-Za-z0-9_]+(?:'[A-Za-z]+)?")
# Two or more list markers in a row ("1. 2. 3.", "1) 1) 2)"): a small model's runaway enumeration.
_ENUMERATION = re.compile(r"(?:\b\d+\s*[.):]\s*){2,}")
# Characters of JSON or markup, and non-ASCII punctuation: a sign of a runaway reply.
_ODD_CHARACTER = re.compile(r"[{}\[\]<>|\\`~^=]|[^\x00-\x7f\w\s]")
# Two identical words in a row ("cycles cycles") or a short phrase said three times.
_REPEATED_WORD = re.compile(r"\b(\w{2,})(?:\W+\1\b)+", re.IGNORECASE)
COPY_SIMILARITY = 0.85
DUPLICATE_SIMILARITY = 0.75
MIN_WORDS = 3
MAX_WORDS = 30


def words(text: str) -> list[str]:
    """The lower-cased words of ``text`` (an apostrophe inside a word kept)."""
    return [w.lower() for w in _WORD.findall(text)]


def stem(word: str) -> str:
    """A crude stem, enough to match "cycles" with "cycle" and "collector" with "collected"."""
    word = word.removesuffix("'s")
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    for suffix in ("ing", "ion", "ed", "or", "er"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            word = word[: -len(suffix)]
            break
    return word.removesuffix("e") if len(word) > 3 else word


def content_words(text: str) -> list[str]:
    """The words that carry meaning (stopwords and bare numbers dropped), stemmed, in order."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and not w.isdigit()]


def overlap(a: Sequence[str], b: Sequence[str]) -> float:
    """Jaccard similarity of two word lists as sets (0 when both are empty)."""
    left, right = set(a), set(b)
    return len(left & right) / len(left | right) if left | right else 0.0


def degenerate(text: str) -> str | None:
    """Why ``text`` is not a well-formed sub-question (runaway or empty text), else None."""
    all_words = words(text)
    odd = _ODD_CHARACTER.findall(text)
    if odd:
        return f"it contains {''.join(dict.fromkeys(odd))[:10]!r}, which no question needs"
    if _ENUMERATION.search(text):
        return "it contains a run of list numbers such as '1. 2. 3.'"
    if _REPEATED_WORD.search(text):
        return "it repeats a word"
    if len(all_words) < MIN_WORDS:
        return f"it has fewer than {MIN_WORDS} words"
    if len(all_words) > MAX_WORDS:
        return f"it has more than {MAX_WORDS} words; ask one short question"
    numbers = sum(w.isdigit() for w in all_words)
    if numbers * 3 > len(all_words):
        return "it is mostly numbers"
    common, count = Counter(all_words).most_common(1)[0]
    if count >= 3 and common not in STOPWORDS:
        return f"it repeats {common!r} {count} times"
    if len(set(all_words)) * 3 < len(all_words) * 2 and len(all_words) >= 9:
        return "it repeats itself"
    if not content_words(text):
        return "it names nothing to look up"
    return None


def copies_question(text: str, question: str) -> bool:
    """Whether a sub-question is the question again (same meaningful words, or contains it)."""
    mine, theirs = content_words(text), content_words(question)
    squeezed = " ".join(words(question))
    return (squeezed != "" and squeezed in " ".join(words(text))) or (
        overlap(mine, theirs) >= COPY_SIMILARITY
    )


def plan_text_problems(
    question: str,
    subquestions: Sequence[tuple[str, str]],
    *,
    fewest: int = 1,
    allow_copy: bool = False,
) -> list[str]:
    """Every problem of a plan's (id, sub-question) pairs, as sentences for the model.

    A sub-question must be well formed (``degenerate``), must not copy the question
    (unless ``allow_copy``: a plan of one sub-question may be the question itself), and
    must not duplicate an earlier one; at least ``fewest`` must remain usable.
    """
    problems = []
    kept: list[tuple[str, list[str]]] = []
    for sub_id, text in subquestions:
        reason = degenerate(text)
        if reason is None and not allow_copy and copies_question(text, question):
            reason = "it only repeats the question; ask about one part of it"
        if reason is None:
            mine = content_words(text)
            twin = next((i for i, w in kept if overlap(mine, w) >= DUPLICATE_SIMILARITY), None)
            if twin is not None:
                reason = f"it asks the same as sub-question {twin!r}; ask about another part"
            else:
                kept.append((sub_id, mine))
        if reason is not None:
            problems.append(f"sub-question {sub_id!r} ({_short(text)!r}) is not usable: {reason}")
    if len(kept) < fewest:
        problems.append(
            f"the plan has {len(kept)} usable sub-question{'s' if len(kept) != 1 else ''}; "
            f"write at least {fewest} different ones, each about one part of the question"
        )
    return problems


def usable_subquestions(question: str, candidates: Sequence[str], limit: int) -> list[str]:
    """Up to ``limit`` of ``candidates`` that pass every check, first ones first.

    With a ``limit`` of one, the question itself is a usable sub-question.
    """
    kept: list[str] = []
    for text in candidates:
        pairs = [(str(i), t) for i, t in enumerate([*kept, text])]
        if not plan_text_problems(question, pairs, fewest=0, allow_copy=limit == 1):
            kept.append(text)
        if len(kept) == limit:
            break
    return kept


def key_phrases(question: str) -> list[str]:
    """The question's runs of meaningful words, in order ("garbage collector", ...).

    Runs break at stopwords, numbers, generic words ("difference") and the verbs
    questions link their terms with ("handle", "work"); a Python keyword stays when a
    word such as "statement" follows it ("with statement"). At most four words a run.
    """
    tokens = _WORD.findall(question)
    phrases: list[list[str]] = [[]]
    for index, word in enumerate(tokens):
        lower = word.lower()
        following = tokens[index + 1].lower() if index + 1 < len(tokens) else ""
        keyword_term = lower in keyword.kwlist and following in KEYWORD_NOUNS
        breaks = lower in STOPWORDS or lower in LINK_WORDS or word.isdigit()
        if breaks and not keyword_term and lower not in ("python", "python's"):
            if phrases[-1]:
                phrases.append([])
            continue
        phrases[-1].append(word)
    return [" ".join(p[-4:]) for p in phrases if p]


def derived_subquestions(question: str, count: int) -> list[str]:
    """``count`` distinct sub-questions made from the question's own phrases (last resort).

    Each phrase of the question is asked about on its own, then how the phrases relate;
    a question with one phrase is asked about its uses, limits and common mistakes.
    Fewer than ``count`` come back only when the question has no meaningful word at all.
    """
    phrases = key_phrases(question)
    bare = [p for p in phrases if p.lower() not in ("python", "python's")]
    subject = bare or phrases
    if not subject:
        return []
    pairs = itertools.pairwise(subject)
    candidates = [f"What is meant by {p}?" for p in subject]
    candidates += [f"How does {a} relate to {b}?" for a, b in pairs]
    candidates += [f"What are the uses of {subject[0]}?", f"What are the limits of {subject[0]}?"]
    candidates += [f"What are common mistakes when using {p}?" for p in subject]
    return usable_subquestions(question, candidates, count)


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
