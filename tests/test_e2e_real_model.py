"""The one end-to-end check that a real model works: the README's research job on SmolLM2.

Runs the CLI as a user does (embedded store, embedded model, built-in corpus), then
asserts structure, not prose: the job completes, its plan is a valid DAG of three
well-formed, distinct sub-questions, and the report cites at least one real corpus document.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agents.plan_quality import plan_text_problems
from orchestrator.dag import build_dag, validate_plan
from orchestrator.job import JobRecord
from orchestrator.plan import TaskPlan
from orchestrator.store.embedded import open_embedded_store
from tools.corpus import Corpus

QUESTION = "How does Python's garbage collector handle reference cycles?"


def _cli(args: list[str], home: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BREADTH_")}
    env.update(BREADTH_HOME=str(home), BREADTH_LLAMA_THREADS="1", COLUMNS="120")
    return subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.real_model
@pytest.mark.timeout(900)
async def test_research_job_runs_end_to_end_on_the_embedded_model(tmp_path: Path) -> None:
    run = _cli(["research", QUESTION, "--json"], tmp_path, timeout=840)
    assert run.returncode == 0, f"stdout:\n{run.stdout[-3000:]}\nstderr:\n{run.stderr[-3000:]}"
    record = JobRecord.model_validate(json.loads(run.stdout))
    assert record.state == "done", record.error
    assert record.tasks_total >= 1
    assert record.usage.total_tokens > 0

    store = await open_embedded_store(tmp_path)
    try:
        stored = await store.get_job(record.id)
        plan_json = await store.get_artifact(record.id, "plan")
        results = await store.list_results(record.id)
    finally:
        await store.aclose()
    assert stored is not None and stored.state == "done"
    assert plan_json is not None
    plan = TaskPlan.model_validate_json(plan_json)
    assert validate_plan(plan) == []
    # Width: three distinct, well-formed sub-questions, none a copy of the question.
    assert len(plan.tasks) == 3, plan
    numbered = [(task.id, task.description) for task in plan.tasks]
    assert plan_text_problems(QUESTION, numbered, fewest=3) == []
    dag = build_dag(plan)
    assert dag.number_of_nodes() == len(plan.tasks)
    assert any(r.status == "done" for r in results.values())

    report = stored.report or ""
    corpus_ids = {doc.id for doc in Corpus.builtin().documents}
    cited_numbers = {int(n) for n in re.findall(r"\[(\d+)\]", report.split("## Sources")[0])}
    source_lines = re.findall(
        r"^\s*[-*]?\s*\[(\d+)\]\s+(\S+)", report.split("## Sources")[-1], re.M
    )
    sources = {int(n): doc_id for n, doc_id in source_lines}
    assert cited_numbers, report
    assert cited_numbers <= set(sources), (cited_numbers, sources)
    assert {sources[n] for n in cited_numbers} & corpus_ids, report

    shown = _cli(["show", record.id], tmp_path, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert record.id in shown.stdout
    assert "Sources" in shown.stdout
