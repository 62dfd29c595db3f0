"""The synthesizer: a cited report from findings, citation fallback, anytime notes."""

from __future__ import annotations

import json
from typing import Any

from agents.synthesizer import gather_evidence, progress_notes, synthesize
from orchestrator.budget import Budgets
from orchestrator.graph.spec import AgentSpec
from orchestrator.models.protocol import GenerateRequest
from orchestrator.plan import TaskResult
from orchestrator.testing import ScriptedModel
from tests.support import make_context

QUESTION = "How does Python free memory?"


def found(task_id: str, claim: str, ids: list[str], titles: dict[str, str]) -> TaskResult:
    return TaskResult(
        task_id=task_id,
        status="done",
        output={
            "question": f"What about {task_id}?",
            "findings": [{"claim": claim, "source_ids": ids}],
            "titles": titles,
        },
        sources=list(titles),
    )


RESULTS = {
    "refs": found("refs", "Refcounts free most objects.", ["rc"], {"rc": "Reference counts"}),
    "cycles": found(
        "cycles",
        "A collector finds cycles.",
        ["gc", "invented"],
        {"gc": "Garbage collection", "extra": "Read, not cited"},
    ),
}


def report_reply(paragraphs: list[dict[str, Any]]) -> str:
    return json.dumps(
        {"title": "Freeing memory", "sections": [{"heading": "How", "paragraphs": paragraphs}]}
    )


def model_for(reply: str) -> ScriptedModel:
    def script(request: GenerateRequest, _: int) -> str:
        assert request.json_schema is not None and request.json_schema["title"] == "ResearchReport"
        return reply

    return ScriptedModel(script)


async def test_the_report_cites_what_the_model_cites() -> None:
    model = model_for(
        report_reply(
            [
                {"text": "Cycles need a collector.", "source_ids": ["gc"]},
                {
                    "text": "Refcounts free most objects, and a collector finds cycles.",
                    "source_ids": ["rc", "gc"],
                },
            ]
        )
    )
    ctx, _ = make_context(model)
    report, usage = await synthesize(ctx, AgentSpec(), QUESTION, RESULTS, total_tasks=2)
    assert report.startswith("# Freeing memory\n")
    assert "Cycles need a collector. [1]" in report
    assert "Refcounts free most objects, and a collector finds cycles. [1][2]" in report
    assert report.endswith(
        "## Sources\n\n- [1] gc — Garbage collection\n- [2] rc — Reference counts\n"
    )
    assert usage.total_tokens > 0 and ctx.budget.usage == usage
    prompt = model.calls[0].messages[-1].content
    assert "- A collector finds cycles. [gc]" in prompt and "invented" not in prompt
    schema = model.calls[0].json_schema
    assert schema is not None
    source = schema["$defs"]["Paragraph"]["properties"]["source_ids"]
    assert sorted(source["items"]["enum"]) == ["extra", "gc", "rc"]


async def test_a_report_that_cites_nothing_gets_the_findings_with_their_sources() -> None:
    model = model_for(report_reply([{"text": "Memory is freed somehow.", "source_ids": []}]))
    ctx, _ = make_context(model)
    report, _ = await synthesize(ctx, AgentSpec(), QUESTION, RESULTS, total_tasks=2)
    assert "Memory is freed somehow.\n" in report
    evidence = report.split("## Evidence\n\n")[1]
    assert "Refcounts free most objects. [1]" in evidence
    assert "A collector finds cycles. [2]" in evidence
    assert "- [1] rc — Reference counts\n- [2] gc — Garbage collection\n" in report


async def test_an_early_stop_and_failed_tasks_are_said_in_the_report() -> None:
    results = {
        **RESULTS,
        "later": TaskResult(task_id="later", status="skipped", error="dependency failed"),
    }
    model = model_for(report_reply([{"text": "Cycles need a collector.", "source_ids": ["gc"]}]))
    ctx, _ = make_context(model)
    report, _ = await synthesize(
        ctx, AgentSpec(), QUESTION, results, total_tasks=5, stopped_by="max_tokens"
    )
    assert "> The job stopped early: its 'max_tokens' budget was reached with 2 of 5" in report
    assert "not covered: later." in report


async def test_a_spent_budget_lists_the_findings_without_calling_the_model() -> None:
    model = model_for("unused")
    ctx, _ = make_context(model, budgets=Budgets(max_tokens=10))
    ctx.budget.usage = ctx.budget.usage.model_copy(update={"completion_tokens": 10})
    report, usage = await synthesize(
        ctx, AgentSpec(), QUESTION, RESULTS, total_tasks=2, stopped_by="max_tokens"
    )
    assert model.calls == [] and usage.total_tokens == 0
    assert "left no room to write the report" in report
    assert "## What about refs?\n\nRefcounts free most objects. [1]" in report
    assert "- [2] gc — Garbage collection" in report


async def test_unparseable_replies_fall_back_to_the_findings() -> None:
    model = model_for("I cannot do JSON")
    ctx, _ = make_context(model)
    report, _ = await synthesize(ctx, AgentSpec(), QUESTION, RESULTS, total_tasks=2, attempts=2)
    assert len(model.calls) == 2
    assert "did not follow the report format" in report
    assert "A collector finds cycles. [2]" in report


def test_evidence_keeps_only_done_results_and_known_sources() -> None:
    results = {**RESULTS, "bad": TaskResult(task_id="bad", status="failed", error="boom")}
    evidence = gather_evidence(results)
    assert [t.task_id for t in evidence.tasks] == ["refs", "cycles"]
    assert evidence.tasks[1].findings[0].source_ids == ("gc",)
    assert evidence.sources == {
        "rc": "Reference counts",
        "gc": "Garbage collection",
        "extra": "Read, not cited",
    }
    notes = progress_notes(results, total_tasks=3, stopped_by=None)
    assert notes == [
        "1 research task(s) failed or were skipped, so their sub-questions are not covered: bad."
    ]


def test_no_findings_is_said() -> None:
    empty = {"a": TaskResult(task_id="a", status="done", output={"findings": []})}
    notes = progress_notes(empty, total_tasks=1, stopped_by=None)
    assert notes == ["No research findings were gathered; this report is not backed by sources."]


async def test_a_paragraph_cites_only_sources_whose_findings_hold_its_words() -> None:
    model = model_for(
        report_reply(
            [
                # Cites gc for a claim about reference counts: moved to rc.
                {"text": "Refcounts free most objects.", "source_ids": ["gc"]},
                # Nothing found says this: left uncited.
                {"text": "Memory is returned to the operating system.", "source_ids": ["rc"]},
            ]
        )
    )
    ctx, _ = make_context(model)
    report, _ = await synthesize(ctx, AgentSpec(), QUESTION, RESULTS, total_tasks=2)
    assert "Refcounts free most objects. [1]" in report
    assert "Memory is returned to the operating system.\n" in report
    assert "- [1] rc — Reference counts" in report and "gc —" not in report
