"""The report as Markdown with numbered citations (pure: plain data in, text out).

Sources are numbered in the order they are first cited, so ``[1]`` is the first source
a reader meets. A citation of an id that is not a known source is dropped: the report
never points at a document that does not exist. The ``## Sources`` list holds exactly
the cited sources, as list items ``[n] doc-id — title``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CitedText:
    """A paragraph or claim and the ids of the sources behind it."""

    text: str
    source_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportSection:
    heading: str
    paragraphs: tuple[CitedText, ...] = ()


@dataclass(frozen=True)
class Report:
    """A report before rendering: title, notes (shown first), sections, known sources."""

    title: str
    sections: tuple[ReportSection, ...]
    # Source id → title, for every document the report may cite.
    sources: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def number_sources(sections: Iterable[ReportSection], known: Mapping[str, str]) -> dict[str, int]:
    """Each cited known source's number, in order of first citation (from 1)."""
    numbers: dict[str, int] = {}
    for section in sections:
        for paragraph in section.paragraphs:
            for source_id in paragraph.source_ids:
                if source_id in known and source_id not in numbers:
                    numbers[source_id] = len(numbers) + 1
    return numbers


def cites_anything(sections: Iterable[ReportSection], known: Mapping[str, str]) -> bool:
    """Whether any paragraph cites a known source."""
    return bool(number_sources(sections, known))


def citation_marks(source_ids: Sequence[str], numbers: Mapping[str, int]) -> str:
    """``[1][3]`` for the numbered ids among ``source_ids`` (each once, in number order)."""
    cited = sorted({numbers[i] for i in source_ids if i in numbers})
    return "".join(f"[{n}]" for n in cited)


def render_report(report: Report) -> str:
    """The report as Markdown: title, notes, sections with ``[n]`` marks, then ``## Sources``."""
    numbers = number_sources(report.sections, report.sources)
    lines = [f"# {_one_line(report.title) or 'Report'}", ""]
    for note in report.notes:
        lines += [f"> {_one_line(note)}", ""]
    shown_headings = {_one_line(report.title).casefold()}
    for section in report.sections:
        body = []
        for paragraph in section.paragraphs:
            text = paragraph.text.strip()
            marks = citation_marks(paragraph.source_ids, numbers)
            if text or marks:
                body += [f"{text} {marks}".strip(), ""]
        if not body:
            continue  # a heading with nothing under it says nothing
        heading = _one_line(section.heading) or "Findings"
        if heading.casefold() not in shown_headings:
            # A heading that repeats the title or an earlier one would only repeat it.
            lines += [f"## {heading}", ""]
            shown_headings.add(heading.casefold())
        lines += body
    if numbers:
        lines += ["## Sources", ""]
        for source_id, number in numbers.items():
            title = _one_line(report.sources[source_id])
            suffix = f" — {title}" if title and title != source_id else ""
            lines.append(f"- [{number}] {source_id}{suffix}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())
