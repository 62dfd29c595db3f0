"""What the live page draws from: a job's graph, its task DAG with results, its report (pure).

The page loads this once (and again when the DAG grows or the job ends), then follows
the job's event stream for states, durations, tokens and attempts. Everything a model
wrote (questions, answers, the report) is data here: the page sets it as text, and the
report is rendered from Markdown with raw HTML disabled (markdown-it escapes it and
refuses ``javascript:`` links).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from markdown_it import MarkdownIt

from orchestrator.graph.spec import GraphSpec
from orchestrator.plan import TaskPlan, TaskResult, TaskSpec

# Characters of a branch's text shown on the page.
BRANCH_CHARS = 400
# Branches listed per task at most.
MAX_BRANCHES = 32

_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def render_report(markdown: str | None) -> str | None:
    """The report as HTML, with any HTML in it escaped."""
    return None if markdown is None else _MARKDOWN.render(markdown)


def graph_view(spec: GraphSpec | None) -> dict[str, Any]:
    """The agent graph's nodes (in file order) and edges, for the page's header row."""
    if spec is None:
        return {"name": None, "nodes": [], "edges": []}
    return {
        "name": spec.name,
        "nodes": [
            {"name": name, "op": node.op, "agent": node.agent} for name, node in spec.nodes.items()
        ],
        "edges": [{"from": edge.from_, "to": edge.to} for edge in spec.edges],
    }


def _clip(text: Any) -> str:
    value = text if isinstance(text, str) else str(text)
    return value if len(value) <= BRANCH_CHARS else value[: BRANCH_CHARS - 1] + "…"


def branches_of(result: TaskResult) -> list[dict[str, str]]:
    """What a task fanned out to, from its result: an operator's samples or candidates and
    a debate's rounds; a researcher's findings."""
    output = result.output if isinstance(result.output, Mapping) else {}
    branches: list[dict[str, str]] = []
    op = output.get("op")
    details = output.get("details") if isinstance(output.get("details"), Mapping) else {}
    rounds = details.get("rounds") if isinstance(details, Mapping) else None
    if isinstance(rounds, list):
        for index, round_ in enumerate(rounds):
            branches.append({"label": f"round {index + 1}", "text": _clip(round_)})
    candidates = output.get("candidates")
    if isinstance(candidates, list):
        label = f"{op} sample" if op else "sample"
        for index, candidate in enumerate(candidates):
            branches.append({"label": f"{label} {index + 1}", "text": _clip(candidate)})
    if not branches:
        findings = output.get("findings")
        for index, finding in enumerate(findings if isinstance(findings, list) else []):
            claim = finding.get("claim") if isinstance(finding, Mapping) else finding
            branches.append({"label": f"finding {index + 1}", "text": _clip(claim)})
    return branches[:MAX_BRANCHES]


def _task_view(task: TaskSpec, result: TaskResult | None) -> dict[str, Any]:
    question = task.params.get("question") if isinstance(task.params, Mapping) else None
    view: dict[str, Any] = {
        "id": task.id,
        "kind": task.kind,
        "question": _clip(question or task.description or task.id),
        "depends_on": list(task.depends_on),
        "status": None,
        "attempts": 0,
        "tokens": 0,
        "duration_s": None,
        "branches": [],
    }
    if result is not None:
        view |= {
            "status": result.status,
            "attempts": result.attempts,
            "tokens": result.usage.total_tokens,
            "duration_s": round(max(0.0, result.finished_at - result.started_at), 3),
            "branches": branches_of(result),
            "error": _clip(result.error) if result.error else None,
        }
    return view


def tasks_view(plan: TaskPlan | None, results: Iterable[TaskResult]) -> list[dict[str, Any]]:
    """Every task of the DAG (the plan's, then those tasks added), with its stored result."""
    by_task = {result.task_id: result for result in results}
    tasks: dict[str, TaskSpec] = {task.id: task for task in plan.tasks} if plan else {}
    for result in by_task.values():
        for added in result.new_tasks:
            tasks.setdefault(added.id, added)
    return [_task_view(task, by_task.get(task.id)) for task in tasks.values()]
