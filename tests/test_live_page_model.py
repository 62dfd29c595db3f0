"""The live page's model of a job (``static/dag_state.js``), run in the session's chromium:
what a snapshot and the event stream make of each task (states, reused, attempts,
durations, tokens, branches) and when the page asks for a fresh snapshot."""

from __future__ import annotations

import json
from typing import Any

from orchestrator.service.ui import assets
from tests.browser_support import BrowserThread

SNAPSHOT = {
    "job": {"id": "j1", "state": "running", "question": "q", "graph": "g"},
    "graph": {"name": "g", "nodes": [{"name": "plan", "op": "plan", "agent": "planner"}]},
    "tasks": [
        {
            "id": "a",
            "kind": "research",
            "question": "A?",
            "depends_on": [],
            "status": "done",
            "attempts": 1,
            "tokens": 40,
            "duration_s": 2.5,
            "branches": [{"label": "finding 1", "text": "x"}],
        },
        {"id": "b", "kind": "research", "question": "B?", "depends_on": ["a"], "status": None},
    ],
    "report_html": None,
}


def event(type_: str, ts: float, task_id: str | None = None, **data: Any) -> dict[str, Any]:
    return {"type": type_, "job_id": "j1", "ts": ts, "task_id": task_id, "data": data}


def fold(browser: BrowserThread, events: list[dict[str, Any]]) -> dict[str, Any]:
    """Apply the snapshot, then the events, in the page's model; its state as plain data."""
    script = (assets.static_file("dag_state.js") or (b"", ""))[0].decode()
    program = f"""() => {{
        const model = window.BreadthDagState;
        const state = model.createState();
        model.applySnapshot(state, {json.dumps(SNAPSHOT)});
        const reloads = {json.dumps(events)}.map(e => model.applyEvent(state, e.type, e));
        const tasks = Object.fromEntries(Array.from(state.tasks.values()).map(t => [t.id, {{
            state: t.state, attempts: t.attempts, tokens: t.tokens, duration: t.duration,
            deps: t.dependsOn, branches: model.branchesOf(t).map(b => b.label)}}]));
        const nodes = Object.fromEntries(Array.from(state.nodes.entries()));
        return {{tasks, nodes, reloads, job: state.job.state, events: state.events}};
    }}"""

    def steps(chromium: Any) -> dict[str, Any]:
        page = chromium.new_page()
        try:
            page.set_content("<!doctype html><title>model</title>")
            page.add_script_tag(content=script)
            result: dict[str, Any] = page.evaluate(program)
            return result
        finally:
            page.close()

    return browser.run(steps)


def test_a_snapshot_gives_stored_results_until_events_say_more(browser: BrowserThread) -> None:
    folded = fold(browser, [])
    assert folded["tasks"]["a"] == {
        "state": "done",
        "attempts": 1,
        "tokens": 40,
        "duration": 2.5,
        "deps": [],
        "branches": ["finding 1"],
    }
    assert folded["tasks"]["b"]["state"] == "pending" and folded["tasks"]["b"]["deps"] == ["a"]


def test_a_resumed_run_shows_reused_tasks_and_runs_the_rest(browser: BrowserThread) -> None:
    folded = fold(
        browser,
        [
            event("job_started", 100.0),
            event("node_started", 100.1, node="plan", visit=1),
            event("plan_ready", 100.2, plan=[{"id": "c", "question": "C?", "depends_on": ["b"]}]),
            event("node_finished", 100.3, node="plan", visit=1),
            event("task_finished", 100.4, "a", attempts=1, resumed=True, total_tokens=40),
            event("task_started", 101.0, "b", kind="research"),
            event("tokens", 101.5, "b", prompt_tokens=30, completion_tokens=12),
            event(
                "execute_tool",
                101.6,
                "b",
                tool="search",
                status="ok",
                duration_s=0.2,
                arguments="{}",
            ),
            event("task_retry", 102.0, "b", attempt=1, error="timeout", delay_s=0.1),
            event("task_finished", 104.0, "b", attempts=2, resumed=False, total_tokens=90),
            event("task_started", 104.5, "c", kind="tool"),
            event("task_failed", 105.0, "c", error="bad arguments", attempts=1),
            event("tasks_added", 105.1, "b", task_ids=["d"]),
            event("job_finished", 106.0, total_tokens=200),
        ],
    )
    tasks = folded["tasks"]
    assert tasks["a"]["state"] == "reused" and tasks["a"]["duration"] == 2.5
    assert tasks["b"] == {
        "state": "done",
        "attempts": 2,
        "tokens": 90,
        "duration": 3.0,
        "deps": ["a"],
        "branches": ["model call", "search (ok, 0.20 s)"],
    }
    assert tasks["c"]["state"] == "failed" and tasks["c"]["deps"] == ["b"]
    assert folded["nodes"]["plan"] == {"state": "done", "visits": 1}
    # Added tasks and the job's end ask for a fresh snapshot; nothing else does.
    assert [i for i, reload in enumerate(folded["reloads"]) if reload] == [12, 13]
    assert folded["job"] == "done" and folded["events"] == 14


def test_a_new_run_starts_every_task_over(browser: BrowserThread) -> None:
    folded = fold(
        browser,
        [
            event("job_started", 100.0),
            event("task_started", 100.5, "a", kind="research"),
            event("task_skipped", 100.6, "b", cause="a dependency failed"),
        ],
    )
    assert folded["tasks"]["a"]["state"] == "running"
    assert folded["tasks"]["b"]["state"] == "skipped"
