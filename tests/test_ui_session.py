"""The live page's pure parts: its session cookie (forgery, expiry, redirects) and the
snapshot it draws (graph, tasks with branches, the report with HTML escaped)."""

from __future__ import annotations

import pytest

from orchestrator.graph.spec import EdgeSpec, GraphSpec, NodeSpec
from orchestrator.plan import TaskPlan, TaskResult, TaskSpec
from orchestrator.service.ui.session import (
    MAX_TOKEN_CHARS,
    Session,
    read_session,
    safe_next,
    sign_session,
)
from orchestrator.service.ui.snapshot import branches_of, graph_view, render_report, tasks_view
from orchestrator.usage import TokenUsage

SECRET = b"0123456789abcdef" * 4
SESSION = Session(tenant="acme", key_digest="d" * 64, expires_at=2_000)


def test_a_signed_session_reads_back_until_it_expires() -> None:
    token = sign_session(SECRET, SESSION)
    assert read_session(SECRET, token, now=1_000) == SESSION
    assert read_session(SECRET, token, now=2_000) is None  # expired
    assert "acme" not in token and SECRET.decode() not in token  # encoded, and no secret


def test_forged_or_mangled_sessions_are_refused() -> None:
    token = sign_session(SECRET, SESSION)
    payload, signature = token.split(".")
    other = sign_session(SECRET, Session("intruder", "e" * 64, 9_999))
    forged = [
        sign_session(b"another secret", SESSION),  # signed with another key
        other.split(".")[0] + "." + signature,  # someone else's payload, this signature
        payload + "." + signature[:-2] + "AA",
        payload + "." + other.split(".")[1],
        token + ".x",
        "",
        None,
        "x" * (MAX_TOKEN_CHARS + 1),
        "!!!.???",
    ]
    for bad in forged:
        assert read_session(SECRET, bad, now=1_000) is None, bad


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/ui/jobs/abc", "/ui/jobs/abc"),
        (None, "/ui/jobs"),
        ("https://evil.example/ui/", "/ui/jobs"),
        ("//evil.example/ui/jobs", "/ui/jobs"),
        ("/ui/\\evil", "/ui/jobs"),
        ("/v1/jobs", "/ui/jobs"),
        ("/ui/jobs\r\nSet-Cookie: x=1", "/ui/jobs"),
    ],
)
def test_after_login_the_page_only_goes_to_its_own_paths(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_the_report_is_rendered_with_html_escaped_and_no_script_links() -> None:
    report = (
        "# Findings\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n"
        "[click](javascript:alert(3)) and [docs](https://docs.python.org/3/) [1]\n"
    )
    rendered = render_report(report) or ""
    assert "<h1>Findings</h1>" in rendered
    assert "<script>" not in rendered and "&lt;script&gt;" in rendered
    assert "<img" not in rendered
    assert 'href="javascript' not in rendered and "[click](javascript:alert(3))" in rendered
    assert '<a href="https://docs.python.org/3/">docs</a>' in rendered
    assert render_report(None) is None


def test_the_graph_view_lists_nodes_in_file_order_with_their_edges() -> None:
    spec = GraphSpec(
        name="g",
        nodes={
            "plan": NodeSpec(op="plan", agent="planner"),
            "research": NodeSpec(op="research", agent="researcher"),
        },
        edges=[
            EdgeSpec.model_validate({"from": "START", "to": "plan"}),
            EdgeSpec.model_validate({"from": "plan", "to": "research"}),
        ],
    )
    view = graph_view(spec)
    assert [n["name"] for n in view["nodes"]] == ["plan", "research"]
    assert view["nodes"][0] == {"name": "plan", "op": "plan", "agent": "planner"}
    assert view["edges"][1] == {"from": "plan", "to": "research"}
    assert graph_view(None)["nodes"] == []


def test_tasks_carry_their_results_and_branches_and_tasks_added_later() -> None:
    plan = TaskPlan(
        tasks=[
            TaskSpec(id="facts", kind="research", description="How big can ints get?"),
            TaskSpec(
                id="check",
                kind="operator",
                description="Is it right?",
                depends_on=("facts",),
                params={"op": "vote"},
            ),
        ]
    )
    extra = TaskSpec(id="more", kind="research", description="And floats?", depends_on=("facts",))
    results = [
        TaskResult(
            task_id="facts",
            status="done",
            output={"findings": [{"claim": "arbitrary precision", "source_ids": ["ints"]}]},
            usage=TokenUsage(prompt_tokens=30, completion_tokens=12),
            started_at=10.0,
            finished_at=11.5,
            new_tasks=[extra],
        ),
        TaskResult(
            task_id="check",
            status="failed",
            output={"op": "vote", "candidates": ["yes", "yes", "<b>no</b>"]},
            error="budget",
            attempts=2,
        ),
    ]
    views = {view["id"]: view for view in tasks_view(plan, results)}
    assert list(views) == ["facts", "check", "more"]
    facts, check, more = views["facts"], views["check"], views["more"]
    assert facts["tokens"] == 42 and facts["duration_s"] == 1.5 and facts["status"] == "done"
    assert facts["branches"] == [{"label": "finding 1", "text": "arbitrary precision"}]
    assert check["depends_on"] == ["facts"] and check["attempts"] == 2
    assert [b["label"] for b in check["branches"]] == [
        "vote sample 1",
        "vote sample 2",
        "vote sample 3",
    ]
    assert check["branches"][2]["text"] == "<b>no</b>"  # data: the page sets it as text
    assert more["status"] is None and more["depends_on"] == ["facts"]


def test_a_debates_rounds_are_its_branches() -> None:
    result = TaskResult(
        task_id="t",
        status="done",
        output={
            "op": "debate",
            "candidates": ["4"],
            "details": {"rounds": [["4", "5"], ["4", "4"]]},
        },
    )
    assert [b["label"] for b in branches_of(result)] == ["round 1", "round 2", "debate sample 1"]
