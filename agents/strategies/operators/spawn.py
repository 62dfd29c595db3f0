"""``spawn_join``: native parallel output — fork the paths of a model's parallel block.

The model streams its answer; when it writes a parallel block (Multiverse, Yang et al.,
2025, arXiv:2506.09991, and native parallel reasoners: ``<Parallel><Path>…</Path>…
</Parallel>``; Adaptive Parallel Reasoning, Pan et al., 2025, arXiv:2504.15466:
``spawn([...])``), the stream is closed, every path is generated as its own request, all
concurrently, the results are joined back into the block and the model continues from
the joined text.

Chat APIs cannot resume a half-written assistant turn (vLLM's ``continue_final_message``
is not portable), so each generation after the first is sent as the conversation, the
text so far as an assistant message, and a user turn saying what to write next. The forks
of one block differ only in that last user turn, so they share the whole prefix (and the
pool's prefix routing sends them to the same replica).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agents.common import clip
from agents.strategies.runtime import Branches, StrategyDef
from agents.strategies.spawn_blocks import ParallelBlock, ParallelBlockDetector, Style
from orchestrator import BudgetExceeded, ChatMessage, InnerOp, StrategyOutcome

SYSTEM_PROMPT = {
    "tags": """Answer the user's question. When parts of the work are independent of
each other, have them worked out in parallel by writing a parallel block:
<Parallel>
<Goal>what the parts are for</Goal>
<Path>the first part's task, in one line</Path>
<Path>the second part's task, in one line</Path>
</Parallel>
Stop right after </Parallel>. Each path is then worked out separately and its result is
written into its <Path>; you then continue with <Conclusion>, combine the results there,
close it with </Conclusion></Parallel> and finish the answer.
Use at most {max_paths} paths. If nothing can be done in parallel, just answer.""",
    "spawn": """Answer the user's question. When parts of the work are independent of
each other, have them worked out in parallel by child threads: write
spawn(["the first part's task", "the second part's task"])
and stop right after the closing bracket. Each child works on its task separately; their
results come back as join([...]) and you then finish the answer from them.
Use at most {max_paths} tasks. If nothing can be done in parallel, just answer.""",
}

FORK_PROMPT = {
    "tags": "Work out only path {number} of the {total} paths of the parallel block above: "
    "{path}\nWrite this path's result, concisely; the other paths and the conclusion are "
    "written separately. Do not write <Path> tags.",
    "spawn": "You are child thread {number} of {total}, spawned with this task: {path}\n"
    "Do the task and reply with its result, concisely; it is returned to the parent by join.",
}

CONTINUE_PROMPT = {
    "tags": "Every path of your parallel block has been worked out and its result written "
    "into it above. Continue exactly where the text stops: write the conclusion that combines "
    "the paths, close it with </Conclusion></Parallel>, then finish the answer. Do not "
    "repeat the text above.",
    "spawn": "The spawned threads have returned: their results are in the join([...]) above. "
    "Continue exactly where the text stops and finish the answer. Do not repeat the text above.",
}


def _all_styles() -> list[Style]:
    return ["tags", "spawn"]


class SpawnJoinParams(BaseModel):
    """Settings of ``spawn_join``."""

    model_config = ConfigDict(extra="forbid")

    max_blocks: int = Field(
        default=2,
        ge=1,
        le=8,
        description="Most parallel blocks forked in one answer, sequential and nested ones "
        "together; later blocks are left as the model wrote them.",
    )
    max_paths: int = Field(
        default=4, ge=1, le=16, description="Most paths forked per block; extra paths are dropped."
    )
    styles: list[Style] = Field(
        default_factory=_all_styles,
        min_length=1,
        max_length=2,
        description="Block styles to detect: tags (<Parallel><Path>) and spawn (spawn([...])).",
    )
    path_max_tokens: int | None = Field(
        default=None, ge=1, le=131_072, description="Completion limit of each path; None: agent's."
    )
    inner: InnerOp | None = Field(
        default=None, description="Strategy each path is answered with (e.g. op: vote)."
    )


def assistant_turn(messages: Sequence[ChatMessage], text: str, ask: str) -> list[ChatMessage]:
    """The conversation, the answer so far as an assistant turn, and a user turn ``ask``."""
    said = [ChatMessage(role="assistant", content=text)] if text else []
    return [*messages, *said, ChatMessage(role="user", content=ask)]


@dataclass
class _SpawnRun:
    """One spawn_join run: the blocks forked so far (shared by nested forks), the budget stop."""

    branches: Branches
    params: SpawnJoinParams
    blocks: list[dict[str, Any]] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    continuations: int = 0
    stopped_by: str | None = None

    async def _stream(
        self, convo: list[ChatMessage], max_tokens: int | None
    ) -> tuple[str, ParallelBlock | None, dict[str, Any]]:
        """Stream one generation; close it the moment a block is complete and may be forked.

        Returns the text, the block and its record in ``blocks``. The block's slot is
        taken when it is detected, so concurrent forks never fork more
        than ``max_blocks`` in all; once none is left, blocks are streamed as written.
        """
        detector: ParallelBlockDetector | None = ParallelBlockDetector(self.params.styles)
        parts: list[str] = []
        stream = self.branches.stream(convo, max_tokens=max_tokens)
        try:
            async for chunk in stream:
                parts.append(chunk.delta)
                if detector is None or not chunk.delta or detector.feed(chunk.delta) is None:
                    continue
                if len(self.blocks) < self.params.max_blocks:
                    record: dict[str, Any] = {}
                    self.blocks.append(record)
                    # Closing the stream stops the generation; the paths are forked instead.
                    return "".join(parts), detector.block, record
                detector = None
        finally:
            await stream.aclose()
        return "".join(parts), None, {}

    async def generate(
        self, messages: list[ChatMessage], depth: int, max_tokens: int | None = None
    ) -> str:
        """The answer to ``messages``, every detected block forked, joined and continued.

        Raises ``BudgetExceeded`` only when nothing was written yet; otherwise the text so
        far is returned and ``stopped_by`` set.
        """
        text = ""
        style: Style = "tags"
        while True:
            convo = assistant_turn(messages, text, CONTINUE_PROMPT[style]) if text else messages
            try:
                written, block, record = await self._stream(convo, max_tokens)
            except BudgetExceeded as exc:
                if not text:
                    raise
                self.stopped_by = exc.budget
                return text
            self.continuations += bool(text)
            if block is None:
                return text + written
            paths = block.paths[: self.params.max_paths]
            record.update(
                depth=depth,
                style=block.style,
                paths=paths,
                dropped_paths=len(block.paths) - len(paths),
            )
            head = text + block.head
            forks = await asyncio.gather(
                *(
                    self._fork(messages, head, block.style, i, paths, depth)
                    for i in range(len(paths))
                ),
                return_exceptions=True,
            )
            errors = [r for r in forks if isinstance(r, BaseException)]
            if errors:
                raise errors[0]
            results = [str(r) for r in forks]
            record["results"] = [clip(r, 500) for r in results]
            self.results.extend(results)
            text += block.model_copy(update={"paths": paths}).join(results)
            style = block.style
            if self.stopped_by is not None:
                return text

    async def _fork(
        self,
        messages: list[ChatMessage],
        head: str,
        style: Style,
        index: int,
        paths: Sequence[str],
        depth: int,
    ) -> str:
        """One path's result, generated from the shared head (nested blocks fork too)."""
        ask = FORK_PROMPT[style].format(number=index + 1, total=len(paths), path=paths[index])
        convo = assistant_turn(messages, head, ask)
        try:
            if self.params.inner is not None:
                return await self.branches.solve(convo, self.params.inner)
            return await self.generate(convo, depth + 1, self.params.path_max_tokens)
        except BudgetExceeded as exc:
            self.stopped_by = exc.budget
            return "(not worked out: the job's budget ran out)"


async def run_spawn_join(
    branches: Branches, params: SpawnJoinParams, messages: list[ChatMessage]
) -> StrategyOutcome:
    if not any(m.role == "system" for m in messages):
        style = "tags" if "tags" in params.styles else "spawn"
        system = SYSTEM_PROMPT[style].format(max_paths=params.max_paths)
        messages = [ChatMessage(role="system", content=system), *messages]
    run = _SpawnRun(branches, params)
    answer = await run.generate(messages, 0)
    details = {
        "blocks_forked": len(run.blocks),
        "paths_forked": sum(len(b["paths"]) for b in run.blocks),
        "continuations": run.continuations,
        "blocks": run.blocks,
    }
    return StrategyOutcome(answer.strip(), run.results, details, stopped_by=run.stopped_by)


SPAWN_JOIN = StrategyDef(
    name="spawn_join",
    params=SpawnJoinParams,
    run=run_spawn_join,
    paper="Yang et al. 2025, Multiverse (arXiv:2506.09991); Pan et al. 2025, Adaptive "
    "Parallel Reasoning (arXiv:2504.15466)",
    summary="The model streams its answer; each parallel block it writes is forked into "
    "concurrent path generations sharing the prefix, joined back, and continued",
)
