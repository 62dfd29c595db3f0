"""Chain-of-Agents' pure parts: splitting a long input into chunks, and the workers' prompts.

Chain of Agents (Zhang et al., 2024, arXiv:2406.02818): worker agents each read one chunk
of a long input and pass a "communication unit" (a running summary of what helps answer
the query) along the chain; a manager answers from the last one. Chunks are cut at
paragraph, line, sentence or word boundaries so that no word is split. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

NOTHING_RELEVANT = "NOTHING RELEVANT"

# Where a chunk may end, best first: a paragraph, a line, a sentence, a word.
_BOUNDARIES = ("\n\n", "\n", ". ", " ")
_NOTHING = re.compile(r"^\W*nothing\s+relevant\W*$", re.IGNORECASE)
# The footer of the corpus ``read`` tool when more of the document remains.
_MORE = re.compile(r"\[(\d+) more characters: read\(doc_id=.*?, offset=(\d+)\)\]\s*$")
_READ_HEADER = re.compile(r"^\[[^\]\n]+\][^\n]*\(characters \d+-\d+ of \d+\)\n\n")
_READ_END = re.compile(r"\n\n\[(?:end of document|\d+ more characters: read\(.*?\))\]\s*$")

WORKER_PROMPT = (
    "You read part {index} of {total} of a long text, for this question:\n{question}\n\n"
    "Part {index}:\n{chunk}\n\nWrite down, briefly, everything in this part that helps "
    "answer the question (facts, names, numbers, short quotes). If nothing in it does, "
    f"reply exactly: {NOTHING_RELEVANT}"
)

CHAIN_PROMPT = (
    "Question:\n{question}\n\nSummary of the evidence so far:\n{summary}\n\n"
    "New evidence, from part {index} of {total}:\n{note}\n\nRewrite the summary so that "
    "it keeps everything that helps answer the question and adds the new evidence. Write "
    "only the summary."
)

SEQUENTIAL_PROMPT = (
    "You read part {index} of {total} of a long text, for this question:\n{question}\n\n"
    "Summary of the evidence in the earlier parts:\n{summary}\n\nPart {index}:\n{chunk}\n\n"
    "Rewrite the summary so that it keeps everything that helps answer the question and "
    "adds what this part says. Write only the summary."
)

MANAGER_PROMPT = (
    "Workers read a long text part by part and summarized the evidence it gives for the "
    "question.\n\nEvidence:\n{summary}\n\nQuestion:\n{question}\n\nAnswer the question "
    "from the evidence."
)

NO_EVIDENCE = "(no part of the text is relevant to the question)"


def check_chunking(chunk_chars: int, overlap_chars: int) -> None:
    """Chunks must advance: the overlap must be under half a chunk."""
    if chunk_chars < 1:
        raise ValueError(f"chunk_chars {chunk_chars!r} must be >= 1")
    if overlap_chars < 0 or 2 * overlap_chars >= chunk_chars:
        raise ValueError(
            f"overlap_chars {overlap_chars!r} must be >= 0 and under half of chunk_chars "
            f"({chunk_chars}); lower overlap_chars"
        )


def _cut(text: str, start: int, limit: int) -> int:
    """Where the chunk starting at ``start`` ends: the last boundary within ``limit``.

    A boundary in the chunk's second half is preferred, best kind first; a chunk with
    none there is cut at ``limit`` (a word longer than half a chunk).
    """
    end = start + limit
    if end >= len(text):
        return len(text)
    floor = start + limit // 2
    for boundary in _BOUNDARIES:
        found = text.rfind(boundary, floor, end)
        if found >= 0:
            return found + len(boundary)
    return end


def _next_start(text: str, cut: int, start: int, overlap: int) -> int:
    """The next chunk's start: ``overlap`` characters back from ``cut``, at a word start."""
    if overlap <= 0:
        return cut
    back = max(start + 1, cut - overlap)
    space = text.find(" ", back, cut)
    return space + 1 if space >= 0 else back


def split_chunks(text: str, chunk_chars: int, overlap_chars: int = 0) -> list[str]:
    """``text`` split into chunks of at most ``chunk_chars`` characters, in order.

    Consecutive chunks share up to ``overlap_chars`` characters (so a fact cut by a
    boundary is whole in one of them). Blank text gives no chunks.
    """
    check_chunking(chunk_chars, overlap_chars)
    text = text.strip()
    chunks: list[str] = []
    start = 0
    while start < len(text):
        cut = _cut(text, start, chunk_chars)
        piece = text[start:cut].strip()
        if piece:
            chunks.append(piece)
        if cut >= len(text):
            break
        start = _next_start(text, cut, start, overlap_chars)
    return chunks


def is_relevant(note: str) -> bool:
    """False for an empty note or a worker's "NOTHING RELEVANT" reply."""
    return bool(note.strip()) and _NOTHING.match(note.strip()) is None


def read_page(text: str) -> tuple[str, int | None]:
    """A page of the corpus ``read`` tool: its body and the offset of the next page.

    Text in another format is returned whole, with no next page.
    """
    more = _MORE.search(text)
    body = _READ_END.sub("", _READ_HEADER.sub("", text, count=1))
    return body, (int(more.group(2)) if more else None)


def worker_prompt(question: str, chunk: str, index: int, total: int) -> str:
    """The map step: one worker notes what its chunk (``index``, 1-based) says."""
    return WORKER_PROMPT.format(question=question.strip(), chunk=chunk, index=index, total=total)


def chain_prompt(question: str, summary: str, note: str, index: int, total: int) -> str:
    """One link of the chain: the running summary updated with a chunk's note."""
    return CHAIN_PROMPT.format(
        question=question.strip(), summary=summary, note=note, index=index, total=total
    )


def sequential_prompt(question: str, chunk: str, summary: str, index: int, total: int) -> str:
    """The paper's worker: the previous communication unit plus the chunk itself."""
    return SEQUENTIAL_PROMPT.format(
        question=question.strip(),
        summary=summary or NO_EVIDENCE,
        chunk=chunk,
        index=index,
        total=total,
    )


def manager_prompt(question: str, summary: str) -> str:
    """The manager's prompt: the last communication unit and the question."""
    return MANAGER_PROMPT.format(question=question.strip(), summary=summary or NO_EVIDENCE)


def relevant_notes(notes: Sequence[str | None]) -> list[tuple[int, str]]:
    """The (0-based chunk index, note) pairs that carry evidence, in chunk order."""
    return [(i, note.strip()) for i, note in enumerate(notes) if note and is_relevant(note)]
