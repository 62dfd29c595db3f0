"""The command line as a user meets it: exit codes and one-paragraph errors, no tracebacks."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from orchestrator.cli import EXIT_USER_ERROR, main

BAD_GRAPH = """\
name: broken
agents:
  lead: {model: default}
nodes:
  plan: {op: plan, agent: lead}
  research: {op: reserch, agent: lead}
edges:
  - {from: START, to: plan}
  - {from: plan, to: research}
  - {from: research, to: synthesize}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_validate_accepts_the_builtin_graph(capsys: pytest.CaptureFixture[str]) -> None:
    path = Path(__file__).parents[1] / "graphs" / "deep_research.yaml"
    assert main(["validate", str(path)]) == 0
    assert "ok" in capsys.readouterr().out


def test_validate_reports_every_problem_with_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(BAD_GRAPH)
    assert main(["validate", str(path)]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{path}:6" in err and "'reserch'" in err
    assert f"{path}:10" in err and "'synthesize'" in err


def test_schema_prints_the_graph_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "nodes" in schema["properties"]


def test_graphs_lists_deep_research(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graphs"]) == 0
    assert "deep_research" in capsys.readouterr().out


def test_show_unknown_job_names_it(
    redis_url: str, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["show", "nope123", "--redis-url", redis_url, "--namespace", namespace])
    assert code == EXIT_USER_ERROR
    assert "'nope123'" in capsys.readouterr().err


def test_unreachable_redis_is_one_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"redis://127.0.0.1:{_free_port()}/0"
    assert main(["jobs", "--redis-url", url]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert url in err and "Traceback" not in err


def test_bad_model_url_is_rejected_before_anything_runs(
    redis_url: str, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "research",
            "q?",
            "--model-url",
            "localhost:8000",
            "--redis-url",
            redis_url,
            "--namespace",
            namespace,
        ]
    )
    assert code == EXIT_USER_ERROR
    assert "'localhost:8000'" in capsys.readouterr().err


def test_research_without_question_explains(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["research"]) == EXIT_USER_ERROR
    assert "--resume" in capsys.readouterr().err
