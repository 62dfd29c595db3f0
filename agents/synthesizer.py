"""The synthesizer: turns the research tasks' findings into the cited Markdown report.

The model writes the report as structured output (sections of paragraphs, each with
the ids of the sources behind it, only ids the findings cite); ``agents.citations``
renders it. A paragraph keeps only the citations whose evidence holds its words. The
report always cites when there is evidence: if the model cites nothing, the findings
are added with their own sources. It is anytime: after an early
stop, or when the budget leaves no room for a model call, it reports what is done and
says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, create_model

from agents import prompts
from agents.citations import CitedText, Report, ReportSection, cites_anything, render_report
from agents.common import agent_replica, clip, generate_json
from agents.grounding import grounded_ids
from orchestrator import (
    AgentSpec,
    BudgetExceeded,
    ChatMessage,
    ModelOutputError,
    RunContext,
    TaskResult,
    TokenUsage,
)

FINDINGS_CHARS = 6000


@dataclass(frozen=True)
class TaskFindings:
    """One finished research task: its sub-question and its cited findings."""

    task_id: str
    question: str
    findings: tuple[CitedText, ...]


@dataclass(frozen=True)
class Evidence:
    """What the finished tasks found, and the title of every source they cite or read."""

    tasks: tuple[TaskFindings, ...]
    sources: dict[str, str]

    def has_cited_findings(self) -> bool:
        return any(f.source_ids for task in self.tasks for f in task.findings)


def gather_evidence(results: Mapping[str, TaskResult]) -> Evidence:
    """The findings of the finished (``done``) results; citations only of known sources."""
    tasks = []
    sources: dict[str, str] = {}
    for task_id, result in results.items():
        if result.status != "done":
            continue
        output: Mapping[str, Any] = result.output if isinstance(result.output, Mapping) else {}
        titles: Mapping[str, Any] = output.get("titles") or {}
        known = dict.fromkeys(result.sources)
        findings = []
        for raw in output.get("findings") or []:
            ids = tuple(dict.fromkeys(str(i) for i in raw.get("source_ids", []) if i in known))
            findings.append(CitedText(str(raw.get("claim", "")), ids))
        for source_id in known:
            sources.setdefault(source_id, str(titles.get(source_id) or source_id))
        question = str(output.get("question") or task_id)
        tasks.append(TaskFindings(task_id, question, tuple(findings)))
    return Evidence(tuple(tasks), sources)


def progress_notes(
    results: Mapping[str, TaskResult], *, total_tasks: int, stopped_by: str | None
) -> list[str]:
    """What the reader must know about missing work: an early stop, failed tasks, no findings."""
    notes = []
    done = [r for r in results.values() if r.status == "done"]
    if stopped_by is not None:
        notes.append(
            f"The job stopped early: its {stopped_by!r} budget was reached with {len(done)} of "
            f"{total_tasks} research tasks done, so this report uses only their findings."
        )
    missed = sorted(i for i, r in results.items() if r.status in ("failed", "skipped"))
    if missed:
        notes.append(
            f"{len(missed)} research task(s) failed or were skipped, so their sub-questions "
            f"are not covered: {', '.join(missed)}."
        )
    if not any(isinstance(r.output, Mapping) and r.output.get("findings") for r in done):
        notes.append("No research findings were gathered; this report is not backed by sources.")
    return notes


def findings_sections(evidence: Evidence) -> list[ReportSection]:
    """One section per finished task: its sub-question and its findings, cited."""
    return [ReportSection(task.question, task.findings) for task in evidence.tasks if task.findings]


def findings_prompt(evidence: Evidence) -> str:
    """The findings as the synthesizer sees them, grouped by sub-question, cut to fit."""
    blocks = []
    for task in evidence.tasks:
        lines = [f"Sub-question: {task.question}"]
        for finding in task.findings:
            ids = f" [{', '.join(finding.source_ids)}]" if finding.source_ids else ""
            lines.append(f"- {finding.text}{ids}")
        blocks.append("\n".join(lines))
    return clip("\n\n".join(blocks), FINDINGS_CHARS) or "(none)"


def report_model(source_ids: Sequence[str], max_sections: int) -> type[BaseModel]:
    """The report's schema: paragraphs may cite only ``source_ids`` (up to four each).

    Citing is not forced: a paragraph a weak model cannot attribute stays uncited, and
    the findings, which always carry their sources, are added instead.
    """
    source: Any = (
        cast(Any, Literal)[tuple(source_ids)] if source_ids else Annotated[str, Field(max_length=1)]
    )
    forbid = ConfigDict(extra="forbid")
    paragraph: Any = create_model(
        "Paragraph",
        __config__=forbid,
        text=(str, Field(min_length=10, max_length=600)),
        source_ids=(list[source], Field(min_length=0, max_length=4 if source_ids else 0)),
    )
    section: Any = create_model(
        "Section",
        __config__=forbid,
        heading=(str, Field(min_length=3, max_length=80)),
        paragraphs=(list[paragraph], Field(min_length=1, max_length=2)),
    )
    return create_model(
        "ResearchReport",
        __config__=forbid,
        title=(str, Field(min_length=3, max_length=120)),
        sections=(list[section], Field(min_length=1, max_length=max_sections)),
    )


def report_tokens(max_sections: int) -> int:
    """The longest report the schema admits, in tokens (its completion limit's floor)."""
    return 100 + 450 * max_sections


def grounded_sections(sections: Sequence[ReportSection], evidence: Evidence) -> list[ReportSection]:
    """The sections with each paragraph citing only sources whose evidence holds its words.

    A source's evidence is its title and the findings that cite it (each checked against
    the document when it was found); a paragraph none of its sources supports cites the
    best-supported source instead, or none (``agents.grounding``).
    """
    texts = dict(evidence.sources)
    for task in evidence.tasks:
        for finding in task.findings:
            for source_id in finding.source_ids:
                texts[source_id] = f"{texts.get(source_id, '')}\n{finding.text}"
    return [
        ReportSection(
            section.heading,
            tuple(
                CitedText(p.text, tuple(grounded_ids(p.text, p.source_ids, texts)))
                for p in section.paragraphs
            ),
        )
        for section in sections
    ]


def reply_sections(reply: Mapping[str, Any]) -> list[ReportSection]:
    return [
        ReportSection(
            str(section["heading"]),
            tuple(CitedText(str(p["text"]), tuple(p["source_ids"])) for p in section["paragraphs"]),
        )
        for section in reply["sections"]
    ]


async def synthesize(
    ctx: RunContext,
    agent: AgentSpec,
    question: str,
    results: Mapping[str, TaskResult],
    *,
    total_tasks: int,
    stopped_by: str | None = None,
    max_sections: int = 3,
    attempts: int = 2,
    with_findings: bool = False,
) -> tuple[str, TokenUsage]:
    """The Markdown report answering ``question`` from ``results``, and the tokens it took.

    ``with_findings`` adds, after the model's sections, one section per sub-question with
    its cited findings: the report shows every branch of the research, whatever the
    model's summary keeps.
    """
    evidence = gather_evidence(results)
    notes = progress_notes(results, total_tasks=total_tasks, stopped_by=stopped_by)
    title = question
    sections: list[ReportSection]
    replica = agent_replica(ctx, agent)
    system = agent.system or prompts.SYNTHESIZER_SYSTEM.format(max_sections=max_sections)
    user = prompts.SYNTHESIZER_USER.format(question=question, findings=findings_prompt(evidence))
    try:
        reply, _ = await generate_json(
            ctx,
            agent,
            [ChatMessage(role="system", content=system), ChatMessage(role="user", content=user)],
            report_model(list(evidence.sources), max_sections),
            replica=replica,
            min_max_tokens=report_tokens(max_sections),
            attempts=attempts,
        )
    except BudgetExceeded as exc:
        notes.append(
            f"The {exc.budget!r} budget left no room to write the report with the model, so "
            f"the findings are listed as gathered."
        )
        sections = findings_sections(evidence)
    except ModelOutputError:
        notes.append(
            "The synthesizer's reply did not follow the report format, so the findings are "
            "listed as gathered."
        )
        sections = findings_sections(evidence)
    else:
        data = reply.model_dump()
        title = str(data["title"]).strip() or question
        sections = grounded_sections(reply_sections(data), evidence)
        if with_findings:
            sections += findings_sections(evidence)
        elif evidence.has_cited_findings() and not cites_anything(sections, evidence.sources):
            cited = [f for task in evidence.tasks for f in task.findings if f.source_ids]
            sections.append(ReportSection("Evidence", tuple(cited)))
    report = Report(title, tuple(sections), evidence.sources, tuple(notes))
    return render_report(report), replica.usage
