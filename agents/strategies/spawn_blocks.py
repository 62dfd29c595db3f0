"""Native parallel output: detect a model's parallel block, fork its paths, join them back.

Two output styles are understood. Multiverse (Yang et al., 2025, "Multiverse: Your
Language Models Secretly Decide How to Parallelize and Merge Generation") and native
parallel reasoners write ``<Parallel><Goal>…</Goal><Path>…</Path>…<Conclusion>…
</Conclusion></Parallel>``; Adaptive Parallel Reasoning (Pan et al., 2025, "Learning
Adaptive Parallel Reasoning with Language Models") writes ``spawn([...])`` and gets the
children's results back with ``join``. Each path is generated as its own request that
shares the prefix, then the results are joined into the context the model continues
from. Standard library and pydantic only.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from agents.strategies.text_scan import closing_bracket

Style = Literal["tags", "spawn"]

_OPEN_RE = re.compile(r"<Parallel>", re.IGNORECASE)
_CLOSE_RE = re.compile(r"</Parallel>", re.IGNORECASE)
_GOAL_RE = re.compile(r"<Goal>(.*?)</Goal>", re.IGNORECASE | re.DOTALL)
_OUTLINE_RE = re.compile(r"<Outline>(.*?)</Outline>", re.IGNORECASE | re.DOTALL)
_PATH_RE = re.compile(r"<Path>(.*?)</Path>", re.IGNORECASE | re.DOTALL)
_CONCLUSION_RE = re.compile(r"<Conclusion>", re.IGNORECASE)
_SPAWN_RE = re.compile(r"\bspawn\s*\(")
_TRIGGERS = ("</parallel>", "<conclusion>", ")")


class ParallelBlock(BaseModel):
    """A parallel block found in generated text.

    ``prefix`` is the text before it and ``paths`` the prompt of each path (for
    ``spawn``, each child's message). ``complete`` is true once ``</Parallel>`` (or the
    ``spawn(...)`` closing bracket) was seen; ``concluding`` once ``<Conclusion>``
    opened, which also means every path is listed. ``end`` is the offset in the text
    where the block stops (the closing tag's end, or where ``<Conclusion>`` starts).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    style: Style
    prefix: str
    goal: str | None = None
    outlines: list[str] = []
    paths: list[str]
    complete: bool
    concluding: bool = False
    end: int

    @property
    def ready(self) -> bool:
        """True when the paths are final and can be forked."""
        return bool(self.paths) and (self.complete or self.concluding)

    @property
    def head(self) -> str:
        """The text every path's generation shares: the prefix and the opened block."""
        return _block_head(self.prefix, self.style, self.goal)

    def fork_contexts(self) -> list[str]:
        """The text each path's generation continues from (all share the same head)."""
        return [
            fork_context(self.prefix, path, style=self.style, goal=self.goal) for path in self.paths
        ]

    def join(self, results: Sequence[str]) -> str:
        """The context to continue from once every path has a result."""
        return join_paths(self.prefix, self.paths, results, style=self.style, goal=self.goal)


def _find_tags(text: str, start: int) -> ParallelBlock:
    body_start = start + len("<Parallel>")
    close = _CLOSE_RE.search(text, body_start)
    conclusion = _CONCLUSION_RE.search(text, body_start, close.start() if close else len(text))
    stop = conclusion.start() if conclusion else (close.start() if close else len(text))
    body = text[body_start:stop]
    goal_match = _GOAL_RE.search(body)
    goal = goal_match.group(1).strip() if goal_match else None
    outlines = [o.strip() for o in _OUTLINE_RE.findall(goal_match.group(1))] if goal_match else []
    paths_body = body[goal_match.end() :] if goal_match else body
    paths = [p.strip() for p in _PATH_RE.findall(paths_body)]
    if not paths and (close or conclusion):
        paths = outlines
    end = stop if conclusion is not None or close is None else close.end()
    return ParallelBlock(
        style="tags",
        prefix=text[:start],
        goal=goal,
        outlines=outlines,
        paths=paths,
        complete=close is not None,
        concluding=conclusion is not None,
        end=end,
    )


def _spawn_messages(arg_text: str) -> list[str] | None:
    """The child messages of ``spawn(...)``: strings given directly or in a list."""
    try:
        call = ast.parse(f"f({arg_text})", mode="eval").body
        if not isinstance(call, ast.Call):
            return None
        values = [ast.literal_eval(a) for a in call.args]
        values += [ast.literal_eval(k.value) for k in call.keywords]
    except (SyntaxError, ValueError, TypeError):
        return None
    messages: list[str] = []
    for value in values:
        items = value if isinstance(value, list | tuple) else [value]
        if not all(isinstance(item, str) for item in items):
            return None
        messages.extend(item.strip() for item in items)
    return messages or None


def _find_spawn(text: str, start: int) -> ParallelBlock | None:
    open_at = text.index("(", start)
    close = closing_bracket(text, open_at)
    if close is None:
        return ParallelBlock(
            style="spawn", prefix=text[:start], paths=[], complete=False, end=len(text)
        )
    messages = _spawn_messages(text[open_at + 1 : close])
    if messages is None:
        return None
    return ParallelBlock(
        style="spawn", prefix=text[:start], paths=messages, complete=True, end=close + 1
    )


def find_parallel_block(
    text: str, styles: Sequence[Style] = ("tags", "spawn")
) -> ParallelBlock | None:
    """The first parallel block in ``text`` (complete or still open), or None.

    A ``spawn(...)`` whose arguments are not strings or a list of strings is not a
    block and the search goes on after it.
    """
    position = 0
    while True:
        candidates: list[tuple[int, Style]] = []
        if "tags" in styles and (tag := _OPEN_RE.search(text, position)):
            candidates.append((tag.start(), "tags"))
        if "spawn" in styles and (spawn := _SPAWN_RE.search(text, position)):
            candidates.append((spawn.start(), "spawn"))
        if not candidates:
            return None
        start, style = min(candidates)
        if style == "tags":
            return _find_tags(text, start)
        block = _find_spawn(text, start)
        if block is not None:
            return block
        position = start + len("spawn")


def _block_head(prefix: str, style: Style, goal: str | None) -> str:
    if style == "spawn":
        return prefix
    head = prefix if not prefix or prefix.endswith("\n") else prefix + "\n"
    head += "<Parallel>\n"
    if goal:
        head += f"<Goal>\n{goal}\n</Goal>\n"
    return head


def _clean_result(result: str) -> str:
    return re.sub(r"\s*</Path>\s*$", "", result.strip(), flags=re.IGNORECASE)


def fork_context(prefix: str, path: str, *, style: Style = "tags", goal: str | None = None) -> str:
    """The text one path is generated from: the shared head, then this path's prompt."""
    if style == "spawn":
        return f"{prefix}{path}\n"
    return f"{_block_head(prefix, style, goal)}<Path>\n{path}\n"


def join_paths(
    prefix: str,
    paths: Sequence[str],
    results: Sequence[str],
    *,
    style: Style = "tags",
    goal: str | None = None,
) -> str:
    """The context to continue from after every path has run.

    ``tags``: the block rewritten with each path's prompt followed by its result, then
    ``<Conclusion>`` opened for the model to write. ``spawn``: the spawn call followed
    by ``join([...])`` holding the children's results as a JSON list, in path order.
    """
    if len(paths) != len(results):
        raise ValueError(
            f"join_paths got {len(paths)} paths but {len(results)} results; "
            "pass one result per path, in order"
        )
    if style == "spawn":
        joined = json.dumps([r.strip() for r in results], ensure_ascii=False)
        return f"{prefix}spawn({json.dumps(list(paths), ensure_ascii=False)})\njoin({joined})\n"
    parts = [_block_head(prefix, style, goal)]
    for path, result in zip(paths, results, strict=True):
        parts.append(f"<Path>\n{path}\n{_clean_result(result)}\n</Path>\n")
    parts.append("<Conclusion>\n")
    return "".join(parts)


class ParallelBlockDetector:
    """Watches a token stream and reports the first parallel block once it can fork.

    ``feed(chunk)`` returns the block when its ``</Parallel>`` (or ``<Conclusion>``,
    or the ``spawn(...)`` closing bracket) arrives, else None; the caller then stops
    the stream and forks ``block.paths``. It reports one block only.
    """

    def __init__(self, styles: Sequence[Style] = ("tags", "spawn")) -> None:
        self.styles = tuple(styles)
        self.text = ""
        self.block: ParallelBlock | None = None

    def feed(self, chunk: str) -> ParallelBlock | None:
        """Add streamed text; return the block the moment it becomes ready to fork."""
        if self.block is not None:
            return None
        scan_from = max(0, len(self.text) - len("</parallel>"))
        self.text += chunk
        window = self.text[scan_from:].lower()
        if not any(trigger in window for trigger in _TRIGGERS):
            return None
        block = find_parallel_block(self.text, self.styles)
        if block is not None and block.ready:
            self.block = block
            return block
        return None
