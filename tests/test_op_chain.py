"""The ``chain_of_agents`` operator (Chain of Agents) on a scripted model."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

import pytest
from pydantic import Field

from agents.strategies.operators import STRATEGIES
from agents.strategies.runtime import Branches, parse_params
from orchestrator.app import builtin_ops
from orchestrator.budget import Budgets
from orchestrator.context import RunContext
from orchestrator.errors import BudgetExceeded, ConfigError
from orchestrator.graph.spec import AgentSpec, NodeSpec
from orchestrator.models.protocol import ChatMessage, GenerateRequest
from orchestrator.ops import StrategyOutcome
from orchestrator.testing import ScriptedModel
from tests.support import Gated, Rendezvous, last_user, make_context
from tools.registry import ToolRegistry, tool

CHAIN = STRATEGIES["chain_of_agents"]
QUESTION = "Where was the treasure hidden?"
# Three paragraphs of about 350 characters: one chunk each at chunk_chars 400.
PARAGRAPHS = [
    "The ship left port in spring. " + "It sailed south for weeks. " * 12,
    "The captain buried the treasure under the old oak. " + "The crew kept quiet. " * 14,
    "Years later the map was found in a library. " + "Nobody believed it. " * 14,
]
DOCUMENT = "\n\n".join(PARAGRAPHS)
_PART = re.compile(r"Part (\d+):")


def script(request: GenerateRequest, index: int) -> str:
    """Workers note only the oak; links merge; the manager answers from the summary."""
    last = last_user(request)
    if "Write down, briefly" in last:
        return "The treasure is under the old oak." if "oak" in last else "NOTHING RELEVANT"
    if "Rewrite the summary" in last:
        part = re.search(r"part (\d+) of", last)
        return f"Summary through part {part.group(1) if part else '?'}: oak."
    if "Answer the question from the evidence" in last:
        return "Under the old oak." if "oak" in last else "Unknown."
    raise AssertionError(f"unexpected prompt {last[:80]!r}")


async def run(
    ctx: RunContext, messages: list[ChatMessage] | None = None, **raw: Any
) -> tuple[StrategyOutcome, Branches]:
    branches = Branches(ctx, AgentSpec())
    params = parse_params(CHAIN, {"chunk_chars": 400, **raw}, where="test")
    convo = messages or [
        ChatMessage(role="user", content=DOCUMENT),
        ChatMessage(role="user", content=QUESTION),
    ]
    return await CHAIN.run(branches, params, convo), branches


async def test_chunks_are_noted_then_the_relevant_notes_chained_then_a_manager_answers() -> None:
    model = ScriptedModel(script)
    ctx, _ = make_context(model)
    outcome, branches = await run(ctx)
    assert outcome.answer == "Under the old oak."
    details = outcome.details
    assert details["chunks"] == 3 and details["relevant_chunks"] == [2]
    assert details["chain_links"] == 0  # one relevant note needs no link
    assert details["summary"] == "The treasure is under the old oak."
    assert len(model.calls) == 4
    # Workers and the manager do not get the whole document in their conversation.
    assert all(DOCUMENT not in m.content for r in model.calls for m in r.messages)
    assert branches.usage.total_tokens == ctx.budget.usage.total_tokens > 0


async def test_every_chunk_is_read_concurrently() -> None:
    rendezvous = Rendezvous(3)
    gated = Gated(ScriptedModel(script), rendezvous, lambda r: "Write down" in last_user(r))
    ctx, _ = make_context(gated)
    outcome, _ = await asyncio.wait_for(run(ctx), timeout=30)
    assert rendezvous.groups == 1 and outcome.answer == "Under the old oak."


async def test_the_summary_is_passed_along_the_relevant_notes_in_order() -> None:
    asked: list[str] = []

    def noting(request: GenerateRequest, index: int) -> str:
        last = last_user(request)
        asked.append(last)
        if "Write down, briefly" in last:
            number = _PART.search(last)
            return f"Note {number.group(1) if number else '?'} about oak."
        return script(request, index)

    ctx, _ = make_context(ScriptedModel(noting))
    outcome, _ = await run(ctx)
    links = [a for a in asked if "Rewrite the summary" in a]
    assert len(links) == 2 and outcome.details["chain_links"] == 2
    assert "Note 1 about oak." in links[0] and "part 2 of 3" in links[0]
    assert "Summary through part 2" in links[1] and "part 3 of 3" in links[1]
    assert outcome.details["summary"] == "Summary through part 3: oak."


async def test_sequential_mode_is_the_papers_chain() -> None:
    asked: list[str] = []

    def worker(request: GenerateRequest, index: int) -> str:
        last = last_user(request)
        asked.append(last)
        if "Answer the question" in last:
            return "Under the old oak."
        return f"CU{len(asked)}"

    model = ScriptedModel(worker)
    ctx, _ = make_context(model)
    outcome, _ = await run(ctx, mode="sequential")
    assert len(model.calls) == 4 and outcome.details["chain_links"] == 3
    assert "no part of the text is relevant" in asked[0]
    assert "CU1" in asked[1] and PARAGRAPHS[1][:40] in asked[1]
    assert "CU2" in asked[2] and "CU3" in asked[3]


async def test_corpus_documents_are_read_page_by_page_with_the_read_tool() -> None:
    pages: list[int] = []
    text = DOCUMENT

    @tool
    def read(doc_id: str, offset: int = 0, length: Annotated[int, Field(ge=1)] = 2000) -> str:
        """Read a document page.

        Args:
            doc_id: the document.
            offset: where to start.
            length: characters wanted.
        """
        if doc_id != "saga":
            raise KeyError(doc_id)
        pages.append(offset)
        end = min(len(text), offset + 500)
        footer = (
            f"[{len(text) - end} more characters: read(doc_id='saga', offset={end})]"
            if end < len(text)
            else "[end of document]"
        )
        return (
            f"[saga] Saga (characters {offset}-{end} of {len(text)})\n\n"
            f"{text[offset:end]}\n\n{footer}"
        )

    ctx, _ = make_context(ScriptedModel(script), tools=ToolRegistry([read]))
    question = [ChatMessage(role="user", content=QUESTION)]
    outcome, _ = await run(ctx, question, documents=["saga"])
    assert pages == [0, 500, 1000]
    assert outcome.answer == "Under the old oak."
    with pytest.raises(ConfigError, match="'nope', which cannot be read"):
        await run(ctx, question, documents=["nope"])


async def test_missing_input_tools_and_oversized_input_are_config_errors() -> None:
    ctx, _ = make_context(ScriptedModel(script))
    with pytest.raises(ConfigError, match="needs a long input"):
        await run(ctx, [ChatMessage(role="user", content=QUESTION)])
    with pytest.raises(ConfigError, match="'read' tool"):
        await run(ctx, [ChatMessage(role="user", content=QUESTION)], documents=["x"])
    with pytest.raises(ConfigError, match="over max_chunks 2"):
        await run(ctx, max_chunks=2)
    await run(ctx, max_chunks=3)


async def test_a_budget_stop_answers_with_the_evidence_so_far() -> None:
    def verbose(request: GenerateRequest, index: int) -> str:
        last = last_user(request)
        if "Write down, briefly" in last:
            return "Oak evidence. " * 40
        return script(request, index)

    ctx, _ = make_context(ScriptedModel(verbose), budgets=Budgets(max_tokens=600))
    outcome, _ = await run(ctx)
    assert outcome.stopped_by == "max_tokens"
    assert outcome.details["managed"] is False
    assert outcome.answer.startswith("Oak evidence.")

    ctx, _ = make_context(ScriptedModel(script), budgets=Budgets(max_tokens=1))
    ctx.budget.usage = ctx.budget.usage.model_copy(update={"prompt_tokens": 5})
    with pytest.raises(BudgetExceeded):
        await run(ctx)


async def test_the_manager_composes_with_an_inner_strategy() -> None:
    model = ScriptedModel(script)
    ctx, _ = make_context(model)
    outcome, _ = await run(ctx, inner={"op": "vote", "params": {"n": 3, "extract": "last_line"}})
    assert outcome.answer == "under the old oak"
    assert [r.n for r in model.calls][-1] == 3


async def test_a_graph_node_gives_a_state_key_as_the_long_input() -> None:
    model = ScriptedModel(script)
    ctx, _ = make_context(model)
    op = builtin_ops().get("chain_of_agents")
    node = NodeSpec(op="chain_of_agents", params={"context": "saga", "chunk_chars": 400})
    update = await op(ctx, node, {"question": QUESTION, "saga": PARAGRAPHS})
    assert update["answer"] == "Under the old oak."
    assert update["strategy"]["chunks"] == 3
    with pytest.raises(ConfigError, match="context 'saga'"):
        await op(ctx, node, {"question": QUESTION, "saga": ["ok", 3]})
    with pytest.raises(ConfigError, match="context 'saga'"):
        await op(ctx, node, {"question": QUESTION})


def test_bad_params_are_refused() -> None:
    with pytest.raises(ConfigError, match="under half"):
        parse_params(CHAIN, {"chunk_chars": 400, "overlap_chars": 200}, where="test")
    with pytest.raises(ConfigError, match="chunk_chars"):
        parse_params(CHAIN, {"chunk_chars": 299}, where="test")
    with pytest.raises(ConfigError, match="mode"):
        parse_params(CHAIN, {"mode": "tree"}, where="test")
