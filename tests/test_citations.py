"""The report renderer and source numbering (pure)."""

from __future__ import annotations

from agents.citations import (
    CitedText,
    Report,
    ReportSection,
    citation_marks,
    cites_anything,
    number_sources,
    render_report,
)

SOURCES = {"gc": "Garbage collection", "with": "The with statement", "unused": "Never cited"}


def section(heading: str, *paragraphs: tuple[str, tuple[str, ...]]) -> ReportSection:
    return ReportSection(heading, tuple(CitedText(text, ids) for text, ids in paragraphs))


def test_sources_are_numbered_in_order_of_first_citation() -> None:
    sections = [
        section("A", ("first", ("with",)), ("second", ("gc", "with"))),
        section("B", ("third", ("gc",))),
    ]
    assert number_sources(sections, SOURCES) == {"with": 1, "gc": 2}


def test_unknown_ids_are_dropped_from_numbers_and_marks() -> None:
    sections = [section("A", ("text", ("made-up", "gc")))]
    numbers = number_sources(sections, SOURCES)
    assert numbers == {"gc": 1}
    assert citation_marks(["made-up", "gc", "gc"], numbers) == "[1]"
    assert not cites_anything([section("A", ("text", ("made-up",)))], SOURCES)


def test_marks_are_unique_and_sorted_by_number() -> None:
    assert citation_marks(["b", "a", "b"], {"a": 1, "b": 2}) == "[1][2]"


def test_render_report_cites_and_lists_only_cited_sources() -> None:
    report = Report(
        "Memory  in\nPython",
        (
            section("Cycles", ("Cycles are found by the collector.", ("gc",))),
            section("Context", ("Exit runs on errors too.", ("with", "gc", "nope"))),
        ),
        SOURCES,
        ("The job stopped early.",),
    )
    text = render_report(report)
    assert text.startswith("# Memory in Python\n\n> The job stopped early.\n")
    assert "## Cycles\n\nCycles are found by the collector. [1]\n" in text
    assert "Exit runs on errors too. [1][2]" in text
    sources = text.split("## Sources\n\n")[1]
    assert sources == "- [1] gc — Garbage collection\n- [2] with — The with statement\n"
    assert "unused" not in text and "nope" not in text


def test_a_source_without_a_title_shows_its_id_only() -> None:
    report = Report("T", (section("S", ("Claim here.", ("doc-1",))),), {"doc-1": "doc-1"})
    assert render_report(report).endswith("## Sources\n\n- [1] doc-1\n")


def test_no_sources_section_when_nothing_is_cited() -> None:
    text = render_report(Report("T", (section("S", ("Uncited.", ())),), SOURCES))
    assert "## Sources" not in text and "[1]" not in text
    assert text == "# T\n\n## S\n\nUncited.\n"


def test_empty_sections_and_repeated_headings_are_not_rendered() -> None:
    from agents.citations import CitedText, Report, ReportSection, render_report

    report = Report(
        title="GC",
        sections=(
            ReportSection("GC", (CitedText("Cycles are found.", ("gc",)),)),
            ReportSection("Nothing here", ()),
            ReportSection("Cycles", (CitedText("Generations.", ("gc",)),)),
            ReportSection("cycles", (CitedText("Weak refs.", ()),)),
        ),
        sources={"gc": "Garbage collection"},
    )
    text = render_report(report)
    assert text.count("GC") == 1 and "Nothing here" not in text
    assert text.count("## Cycles") == 1 and "Weak refs." in text
    assert "Cycles are found. [1]" in text and "- [1] gc — Garbage collection" in text
