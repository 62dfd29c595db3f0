"""Verifiable tasks of graded difficulty for ``bench/quality.py``, each with an exact checker.

Three families, each at levels 1 (easy) to 3 (hard), generated from a seed (the same seed
gives the same tasks, in the same order):

- ``arithmetic``: a chain of 1, 2 or 4 integer operations ("Start with 7. Add 5. ...");
  level 1 adds or subtracts numbers up to 9, levels 2-3 also multiply, with numbers up to
  20; the answer is the last number the reply states.
- ``countdown``: reach a target with 2, 3 or 4 given numbers, each used exactly once, with
  + - * / and parentheses (Game of 24 / Countdown); every task is solvable (it is built
  from a witness expression). A reply is right when its expression uses exactly the given
  numbers and evaluates, in exact fractions (never ``eval``), to the target.
- ``mc``: which section of the Python language reference (the built-in corpus,
  ``tools.corpus.Corpus.builtin``) a passage comes from, among 2, 3 or 4 section titles;
  the answer is the letter the reply states ("the answer is B", or a reply opening with it).

Pure apart from reading the built-in corpus.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from agents.strategies.extract import extract_answer
from tools.corpus import Corpus

FAMILIES = ("arithmetic", "countdown", "mc")
LEVELS = (1, 2, 3)
_CHAIN_STEPS = {1: 1, 2: 2, 3: 4}
_COUNTDOWN_NUMBERS = {1: 2, 2: 3, 3: 4}
_MC_CHOICES = {1: 2, 2: 3, 3: 4}
LETTERS = "ABCD"

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
# The letter after "answer is" / "answer:", or opening the reply as "B)", "B." or alone
# (upper case only, so "the answer is a ..." and "A passage ..." are not A).
MC_PATTERN = (
    r"(?:answer\s*(?:is|:)\s*(?:option\s*)?[(*]*|\A\s*[(*]*(?=[A-D](?:[).:]|\s*\Z)))"
    r"((?-i:[A-D]))(?![\w])"
)
# An arithmetic expression after "answer is" / "answer:", up to the end of the line.
COUNTDOWN_PATTERN = r"answer\s*(?:is|:)[ \t*]*([-+*/×÷() \t\d]*\d[-+*/×÷() \t\d]*)"
_MC_RE = re.compile(MC_PATTERN, re.IGNORECASE | re.MULTILINE)
_COUNTDOWN_RE = re.compile(COUNTDOWN_PATTERN, re.IGNORECASE | re.MULTILINE)
_TOKEN = re.compile(r"\s*(?:(\d+)|([-+*/×÷()]))")


@dataclass(frozen=True)
class Task:
    """One question: its family and level, the prompt, and what a right reply must give."""

    family: str
    level: int
    prompt: str
    answer: str
    numbers: tuple[int, ...] = ()
    choices: tuple[str, ...] = field(default_factory=tuple)

    @property
    def extract(self) -> dict[str, Any]:
        """The answer-extraction params a voting operator needs for this family."""
        if self.family == "arithmetic":
            return {"extract": "last_number"}
        pattern = MC_PATTERN if self.family == "mc" else COUNTDOWN_PATTERN
        return {"extract": "regex", "pattern": pattern}


# -- checkers ----------------------------------------------------------------------------


def vote_key(task: Task, text: str) -> str | None:
    """What a voting operator extracts from ``text`` for this task (None: it abstains)."""
    params = task.extract
    return extract_answer(text, params["extract"], pattern=params.get("pattern"))


def stated_number(text: str) -> str | None:
    """The last number ``text`` states (thousands separators dropped), as the vote reads it."""
    found = _NUMBER.findall(text.replace(",", ""))
    if not found:
        return None
    value = Fraction(found[-1])
    return str(value.numerator) if value.denominator == 1 else str(value)


def stated_letter(text: str) -> str | None:
    """The letter after the last "answer is"; a bare letter (a vote's winner) is itself."""
    found = _MC_RE.findall(text)
    if found:
        return str(found[-1]).upper()
    bare = text.strip().strip("().*").strip()
    return bare.upper() if len(bare) == 1 and bare.upper() in LETTERS else None


def stated_expression(text: str) -> str | None:
    """The expression after the last "answer is"; else ``text`` itself if it is one."""
    found = _COUNTDOWN_RE.findall(text)
    if found:
        return str(found[-1]).strip()
    bare = text.strip().rstrip(".")
    return bare if bare and _TOKEN.match(bare) and parse_expression(bare) is not None else None


def parse_expression(text: str) -> tuple[Fraction, list[int]] | None:
    """The exact value of an arithmetic expression and the numbers it uses, or None.

    Integers, + - * / (also × ÷) and parentheses; no unary minus. Division by zero, any
    other character or a malformed expression gives None. A recursive-descent parser over
    ``Fraction``s: nothing is evaluated as Python.
    """
    tokens: list[str] = []
    position = 0
    stripped = text.strip()
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if match is None:
            return None
        tokens.append(match.group(1) or match.group(2).replace("×", "*").replace("÷", "/"))
        position = match.end()
    used: list[int] = []
    index = 0

    def peek() -> str | None:
        return tokens[index] if index < len(tokens) else None

    def take() -> str:
        nonlocal index
        index += 1
        return tokens[index - 1]

    def atom() -> Fraction | None:
        token = peek()
        if token is None:
            return None
        if token == "(":
            take()
            value = expression()
            if value is None or peek() != ")":
                return None
            take()
            return value
        if token.isdigit():
            used.append(int(take()))
            return Fraction(int(token))
        return None

    def term() -> Fraction | None:
        value = atom()
        while value is not None and peek() in ("*", "/"):
            op = take()
            right = atom()
            if right is None or (op == "/" and right == 0):
                return None
            value = value * right if op == "*" else value / right
        return value

    def expression() -> Fraction | None:
        value = term()
        while value is not None and peek() in ("+", "-"):
            op = take()
            right = term()
            if right is None:
                return None
            value = value + right if op == "+" else value - right
        return value

    value = expression()
    if value is None or index != len(tokens):
        return None
    return value, used


def check(task: Task, reply: str) -> bool:
    """Whether ``reply`` (an operator's answer: a trace or a bare voted value) is right."""
    if task.family == "arithmetic":
        return stated_number(reply) == task.answer
    if task.family == "mc":
        return stated_letter(reply) == task.answer
    expression = stated_expression(reply)
    if expression is None:
        return False
    parsed = parse_expression(expression)
    if parsed is None:
        return False
    value, used = parsed
    return value == Fraction(int(task.answer)) and Counter(used) == Counter(task.numbers)


# -- generators --------------------------------------------------------------------------


def arithmetic_task(rng: random.Random, level: int) -> Task:
    """A chain of integer operations, applied in order to a start value."""
    top = 9 if level == 1 else 20
    value = rng.randint(2, top)
    lines = [f"Start with {value}."]
    for _ in range(_CHAIN_STEPS[level]):
        op = rng.choice(("add", "subtract") if level == 1 else ("add", "subtract", "multiply"))
        if op == "add":
            operand = rng.randint(2, top)
            value += operand
            lines.append(f"Add {operand}.")
        elif op == "subtract":
            operand = rng.randint(2, top)
            value -= operand
            lines.append(f"Subtract {operand}.")
        else:
            operand = rng.randint(2, 5)
            value *= operand
            lines.append(f"Multiply by {operand}.")
    prompt = (
        " ".join(lines) + " What is the result? Work it out step by step, then end with "
        "'The answer is N'."
    )
    return Task("arithmetic", level, prompt, str(value))


def _witness(rng: random.Random, numbers: Sequence[int]) -> tuple[str, Fraction]:
    """A random expression using every number once (a random bracketing and operators)."""
    parts: list[tuple[str, Fraction]] = [(str(n), Fraction(n)) for n in numbers]
    while len(parts) > 1:
        left = parts.pop(rng.randrange(len(parts)))
        right = parts.pop(rng.randrange(len(parts)))
        op = rng.choice("+-*/")
        if op == "/" and right[1] == 0:
            op = "+"
        value = {
            "+": left[1] + right[1],
            "-": left[1] - right[1],
            "*": left[1] * right[1],
            "/": left[1] / right[1] if right[1] else left[1],
        }[op]
        parts.append((f"({left[0]} {op} {right[0]})", value))
    text, value = parts[0]
    return (text[1:-1] if len(numbers) > 1 else text), value


def countdown_task(rng: random.Random, level: int) -> Task:
    """Numbers and a positive whole target some expression over all of them reaches."""
    count = _COUNTDOWN_NUMBERS[level]
    while True:
        numbers = tuple(rng.randint(1, 12) for _ in range(count))
        _, value = _witness(rng, numbers)
        if value.denominator == 1 and 1 <= value <= 100:
            break
    listed = ", ".join(str(n) for n in numbers)
    prompt = (
        f"Use the numbers {listed}, each exactly once, with + - * / and parentheses, to make "
        f"{value}. Write the expression, then end with 'The answer is <expression>'."
    )
    return Task("countdown", level, prompt, str(value), numbers=numbers)


def _passages(text: str) -> list[str]:
    """Prose paragraphs of a reference section (no headings, code or grammar)."""
    found = []
    for block in re.split(r"\n\s*\n", text):
        flat = " ".join(block.split())
        if block.startswith(" ") or not 80 <= len(flat) <= 400 or "::=" in flat:
            continue
        found.append(flat)
    return found


@dataclass(frozen=True)
class _Section:
    title: str
    passages: tuple[str, ...]


def _sections(corpus: Corpus) -> list[_Section]:
    sections = []
    titles: set[str] = set()
    for doc in corpus:
        passages = tuple(_passages(doc.text))
        if passages and doc.title not in titles:
            titles.add(doc.title)
            sections.append(_Section(doc.title, passages))
    return sections


def mc_task(rng: random.Random, level: int, sections: Sequence[_Section]) -> Task:
    """Which reference section a passage comes from, among ``2..4`` section titles."""
    count = _MC_CHOICES[level]
    picked = rng.sample(list(sections), count)
    right = picked[0]
    passage = rng.choice(right.passages)
    titles = [s.title for s in picked]
    rng.shuffle(titles)
    letter = LETTERS[titles.index(right.title)]
    options = "\n".join(f"{LETTERS[i]}) {t}" for i, t in enumerate(titles))
    prompt = (
        "Which section of the Python language reference is this passage from?\n\n"
        f"Passage: {passage}\n\n{options}\n\nReply with the letter only: 'The answer is X'."
    )
    return Task("mc", level, prompt, letter, choices=tuple(titles))


def generate(
    count: int,
    *,
    seed: int,
    families: Sequence[str] = FAMILIES,
    levels: Sequence[int] = LEVELS,
    corpus: Corpus | None = None,
) -> list[Task]:
    """``count`` tasks cycling through every (family, level) pair, from ``seed``.

    Raises ``ValueError`` naming an unknown family or level.
    """
    bad_families = sorted(set(families) - set(FAMILIES))
    bad_levels = sorted(set(levels) - set(LEVELS))
    if bad_families or bad_levels or not families or not levels:
        raise ValueError(
            f"families {list(families)!r} / levels {list(levels)!r}: each must be a non-empty "
            f"subset of {list(FAMILIES)} / {list(LEVELS)} (unknown: {bad_families + bad_levels})"
        )
    rng = random.Random(seed)
    sections = _sections(corpus if corpus is not None else Corpus.builtin())
    pairs = [(f, lv) for f in families for lv in levels]
    tasks = []
    for index in range(count):
        family, level = pairs[index % len(pairs)]
        if family == "arithmetic":
            tasks.append(arithmetic_task(rng, level))
        elif family == "countdown":
            tasks.append(countdown_task(rng, level))
        else:
            tasks.append(mc_task(rng, level, sections))
    return tasks
