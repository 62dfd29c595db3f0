"""Research quality of the default job on the embedded defaults, over a labelled question set.

Each question of ``bench/research_questions.jsonl`` (a question and the ids of the
built-in corpus documents that answer it) runs as a real ``deep_research`` job, one
after another, exactly as ``breadth research`` runs it: the in-process executor, the
embedded store (in a temporary folder), the built-in model (SmolLM2-135M on llama.cpp)
and the built-in corpus. For each job it prints one JSON line: the plan's width and
sub-questions, whether some were made from the question's words, the documents the
report cites, whether one of them is relevant, and the job's wall time. A summary line
follows (share of reports citing a relevant document, mean and minimum plan width,
median and p90 wall time, against the goals); ``bench/results/research_quality.json``
keeps them all.

    .venv/bin/python bench/research_quality.py                  # every question
    .venv/bin/python bench/research_quality.py --limit 5        # the first five
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from orchestrator.app import Runtime
from orchestrator.events import Event
from orchestrator.job import JobRecord, JobRequest
from orchestrator.plan import TaskPlan
from orchestrator.settings import Settings
from tools.corpus import Corpus

BENCH = Path(__file__).resolve().parent
QUESTIONS = BENCH / "research_questions.jsonl"
RESULTS = BENCH / "results" / "research_quality.json"
GOAL_RELEVANT, GOAL_WIDTH, GOAL_MEDIAN_S = 0.8, 3, 60.0
_SOURCE_LINE = re.compile(r"^\s*[-*]?\s*\[(\d+)\]\s+(\S+)", re.MULTILINE)


def load_questions(path: Path) -> list[dict[str, Any]]:
    """The labelled questions; every relevant id must be a built-in corpus document."""
    known = {doc.id for doc in Corpus.builtin()}
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        unknown = [i for i in row["relevant"] if i not in known]
        if not row.get("question") or not row["relevant"] or unknown:
            raise SystemExit(
                f"{path}:{number}: each line needs a question and relevant ids of the built-in "
                f"corpus; unknown ids {unknown!r} (known: `breadth` built-in corpus ids such "
                f"as {sorted(known)[:5]!r})"
            )
        rows.append(row)
    return rows


def cited_ids(report: str) -> list[str]:
    """The document ids the report's ``## Sources`` list names (what it cites)."""
    if "## Sources" not in report:
        return []
    return [doc_id for _, doc_id in _SOURCE_LINE.findall(report.split("## Sources")[-1])]


class _Log:
    """Keeps the job's ``log`` events (the planner says there which tasks it derived)."""

    def __init__(self) -> None:
        self.derived: list[str] = []

    async def __call__(self, event: Event) -> None:
        if event.type == "log":
            self.derived += list(event.data.get("derived", []))


async def run_one(runtime: Runtime, row: dict[str, Any]) -> dict[str, Any]:
    log = _Log()
    started, cpu_started = time.perf_counter(), time.process_time()
    record: JobRecord = await runtime.research(
        JobRequest(question=row["question"], graph="deep_research"), listeners=[log]
    )
    wall = time.perf_counter() - started
    # This process's CPU time, all threads (llama.cpp's included): less disturbed than the
    # wall time by other work on a shared machine.
    cpu = time.process_time() - cpu_started
    plan_json = await runtime.store.get_artifact(record.id, "plan")
    plan = TaskPlan.model_validate_json(plan_json) if plan_json else None
    cited = cited_ids(record.report or "")
    relevant = [i for i in cited if i in row["relevant"]]
    return {
        "question": row["question"],
        "state": record.state,
        "width": len(plan.tasks) if plan else 0,
        "subquestions": [t.description for t in plan.tasks] if plan else [],
        "derived": log.derived,
        "cited": cited,
        "relevant_cited": relevant,
        "cites_relevant": bool(relevant),
        "report_chars": len(record.report or ""),
        "tokens": record.usage.total_tokens,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "error": record.error,
    }


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    walls = sorted(r["wall_s"] for r in rows)
    cpus = sorted(r["cpu_s"] for r in rows)
    widths = [r["width"] for r in rows]
    share = sum(r["cites_relevant"] for r in rows) / len(rows)
    median = statistics.median(walls)
    p90 = walls[min(len(walls) - 1, round(0.9 * (len(walls) - 1)))]
    return {
        "summary": True,
        "questions": len(rows),
        "done": sum(r["state"] == "done" for r in rows),
        "share_citing_relevant": round(share, 3),
        "mean_width": round(statistics.fmean(widths), 2),
        "min_width": min(widths),
        "plans_with_derived_tasks": sum(bool(r["derived"]) for r in rows),
        "median_wall_s": round(median, 1),
        "p90_wall_s": round(p90, 1),
        "max_wall_s": walls[-1],
        "median_cpu_s": round(statistics.median(cpus), 1),
        "goals_met": {
            "relevant_share>=0.8": share >= GOAL_RELEVANT,
            "every_plan>=3": min(widths) >= GOAL_WIDTH,
            "median<=60s": median <= GOAL_MEDIAN_S,
        },
        "llama_threads": os.environ.get("BREADTH_LLAMA_THREADS", "default (1)"),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=Path, default=QUESTIONS, help="labelled JSONL file")
    parser.add_argument("--limit", type=int, default=0, help="run only the first N questions")
    args = parser.parse_args(argv)
    if args.limit < 0:
        parser.error(f"--limit {args.limit} is negative; give 0 (all) or a positive count")
    rows = load_questions(args.questions)[: args.limit or None]
    lines: list[dict[str, Any]] = []
    RESULTS.parent.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="breadth-bench-") as home:
        settings = Settings(data_dir=home, executor="local")
        async with await Runtime.open(settings) as runtime:
            for row in rows:
                line = await run_one(runtime, row)
                print(json.dumps(line), flush=True)
                lines.append(line)
                # Kept after every job, with the summary so far: a stopped run keeps its figures.
                write_results([*lines, {**summary(lines), "partial": len(lines) < len(rows)}])
    print(json.dumps(summary(lines)), flush=True)
    return 0


def write_results(lines: list[dict[str, Any]]) -> None:
    RESULTS.write_text("".join(json.dumps(line) + "\n" for line in lines))


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
