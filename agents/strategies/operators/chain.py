"""``chain_of_agents``: workers read a long input chunk by chunk, a manager answers.

Chain of Agents (Zhang et al., 2024, "Chain of Agents: Large Language Models
Collaborating on Long-Context Tasks", arXiv:2406.02818). The long input is the
conversation's texts before the question (a graph node's ``context`` key puts a document
there) and/or corpus ``documents`` read with the job's ``read`` tool; it is split into
chunks.

Where ours differs, and why: in the paper each worker reads its chunk *and* the previous
worker's communication unit, so the whole chain is sequential. breadth's default
(``mode: map_chain``) first has every worker note what its chunk says about the question,
all chunks at once (the map phase: independent reads, in parallel), then passes the
running summary along the notes only, skipping chunks with nothing relevant; the
sequential links read short notes instead of whole chunks, so the latency is about one
chunk read plus the short chain. ``mode: sequential`` is the paper's chain, for inputs
whose later parts only make sense in the light of earlier ones.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agents.common import clip
from agents.strategies.chain_chunks import (
    chain_prompt,
    check_chunking,
    manager_prompt,
    read_page,
    relevant_notes,
    sequential_prompt,
    split_chunks,
    worker_prompt,
)
from agents.strategies.prompting import ask
from agents.strategies.runtime import Branches, StrategyDef, gather_within_budget, question_of
from orchestrator import (
    BudgetExceeded,
    ChatMessage,
    ConfigError,
    InnerOp,
    StrategyOutcome,
    ToolError,
)

READ_TOOL = "read"
# Characters asked for per ``read`` call (the corpus tool's most).
READ_PAGE = 20_000
NOTE_CHARS = 400


class ChainOfAgentsParams(BaseModel):
    """Settings of ``chain_of_agents``."""

    model_config = ConfigDict(extra="forbid")

    chunk_chars: int = Field(
        default=4000, ge=300, le=100_000, description="Characters of input each worker reads."
    )
    overlap_chars: int = Field(
        default=0, ge=0, le=50_000, description="Characters consecutive chunks share."
    )
    max_chunks: int = Field(
        default=16, ge=1, le=256, description="Most chunks; a longer input is refused."
    )
    documents: list[str] = Field(
        default_factory=list,
        max_length=32,
        description="Corpus document ids read (with the job's read tool) as the long input.",
    )
    mode: Literal["map_chain", "sequential"] = Field(
        default="map_chain",
        description="map_chain: chunks noted in parallel, then a chain over the notes; "
        "sequential: the paper's chain, each worker reading its chunk and the summary.",
    )
    worker: str | None = Field(default=None, description="Agent of the workers; None: the node's.")
    manager: str | None = Field(
        default=None, description="Agent that writes the answer; None: the node's agent."
    )
    summary_chars: int = Field(
        default=3000, ge=200, le=50_000, description="The running summary is cut to this."
    )
    inner: InnerOp | None = Field(
        default=None, description="Strategy the manager answers with (e.g. op: vote)."
    )
    temperature: float | None = Field(
        default=None, ge=0.0, le=2.0, description="Temperature of the workers."
    )

    @model_validator(mode="after")
    def _consistent(self) -> ChainOfAgentsParams:
        check_chunking(self.chunk_chars, self.overlap_chars)
        return self


async def _read_document(branches: Branches, doc_id: str, limit: int) -> str:
    """A corpus document's text, page by page with the job's ``read`` tool (up to ``limit``)."""
    tools = branches.ctx.tools
    if tools is None or READ_TOOL not in tools:
        available = tools.names() if tools is not None else []
        raise ConfigError(
            f"chain_of_agents: params.documents needs the job's {READ_TOOL!r} tool, which this "
            f"job does not have (its tools: {available or 'none'}); run it with a corpus or "
            "give the long input as the node's context"
        )
    parts: list[str] = []
    offset: int | None = 0
    while offset is not None and sum(map(len, parts)) < limit:
        try:
            page = await tools.call(
                READ_TOOL, {"doc_id": doc_id, "offset": offset, "length": READ_PAGE}
            )
        except ToolError as exc:
            raise ConfigError(
                f"chain_of_agents: params.documents names {doc_id!r}, which cannot be read "
                f"({exc}); fix params.documents"
            ) from None
        body, offset = read_page(page)
        parts.append(body)
    return "".join(parts)


async def long_input(
    branches: Branches, params: ChainOfAgentsParams, messages: list[ChatMessage]
) -> list[str]:
    """The chunks of the long input: the texts before the question, then the documents."""
    limit = params.max_chunks * params.chunk_chars
    texts = [m.content for m in messages[:-1] if m.role == "user" and m.content.strip()]
    for doc_id in params.documents:
        texts.append(await _read_document(branches, doc_id, limit))
    chunks = [
        chunk
        for text in texts
        for chunk in split_chunks(text, params.chunk_chars, params.overlap_chars)
    ]
    if not chunks:
        raise ConfigError(
            "chain_of_agents needs a long input and got none: set the node's params.context "
            "to a state key holding the text, or list corpus ids in params.documents"
        )
    if len(chunks) > params.max_chunks:
        raise ConfigError(
            f"chain_of_agents: the input makes {len(chunks)} chunks of at most "
            f"{params.chunk_chars} characters, over max_chunks {params.max_chunks}; raise "
            "chunk_chars or max_chunks, or give a shorter input"
        )
    return chunks


async def run_chain_of_agents(
    branches: Branches, params: ChainOfAgentsParams, messages: list[ChatMessage]
) -> StrategyOutcome:
    worker = branches.or_agent(params.worker, param="params.worker")
    manager = branches.or_agent(params.manager, param="params.manager")
    chunks = await long_input(branches, params, messages)
    question = question_of(messages)
    # The workers and the manager see the conversation without the long input.
    base = [m for m in messages[:-1] if m.role != "user"] + [messages[-1]]
    total = len(chunks)
    details: dict[str, Any] = {"mode": params.mode, "chunks": total}
    stopped: BudgetExceeded | None = None
    summary = ""
    links = 0
    if params.mode == "map_chain":
        notes, stopped = await gather_within_budget(
            [
                worker.text(
                    ask(base, worker_prompt(question, chunk, i, total)),
                    temperature=params.temperature,
                )
                for i, chunk in enumerate(chunks, 1)
            ]
        )
        relevant = relevant_notes(notes)
        details["notes"] = [clip(n, NOTE_CHARS) if n is not None else None for n in notes]
        details["relevant_chunks"] = [i + 1 for i, _ in relevant]
        if stopped is not None:
            # Anytime: the notes taken before the stop are the evidence there is.
            summary = clip("\n\n".join(note for _, note in relevant), params.summary_chars)
            relevant = []
        for index, note in relevant:
            if not summary:
                summary = clip(note, params.summary_chars)
                continue
            try:
                reply = await worker.text(
                    ask(base, chain_prompt(question, summary, note, index + 1, total)),
                    temperature=params.temperature,
                )
            except BudgetExceeded as exc:
                stopped = exc
                break
            summary = clip(reply, params.summary_chars) or summary
            links += 1
    else:
        for index, chunk in enumerate(chunks, 1):
            try:
                reply = await worker.text(
                    ask(base, sequential_prompt(question, chunk, summary, index, total)),
                    temperature=params.temperature,
                )
            except BudgetExceeded as exc:
                stopped = exc
                break
            summary = clip(reply, params.summary_chars) or summary
            links += 1
    details["chain_links"] = links
    details["summary"] = summary
    answer: str | None = None
    if stopped is None:
        try:
            answer = await manager.solve(ask(base, manager_prompt(question, summary)), params.inner)
        except BudgetExceeded as exc:
            stopped = exc
    details["managed"] = answer is not None
    if answer is None:
        if stopped is not None and not summary:
            raise stopped
        # Anytime: the evidence gathered so far is the best answer there is.
        answer = summary
    return StrategyOutcome(
        answer=answer.strip(),
        candidates=[summary] if summary else [],
        details=details,
        stopped_by=stopped.budget if stopped is not None else None,
    )


CHAIN_OF_AGENTS = StrategyDef(
    name="chain_of_agents",
    params=ChainOfAgentsParams,
    run=run_chain_of_agents,
    paper="Zhang et al. 2024, Chain of Agents (arXiv:2406.02818)",
    summary="Workers read a long input chunk by chunk (in parallel) and pass a running "
    "summary of the evidence along a chain; a manager answers from it",
)
