"""The live progress view: tasks done / running / total, tokens used, the current node.

``Progress`` is pure (it folds events); ``ProgressView`` renders it with rich, live on a
terminal, or as one plain line per notable event elsewhere (CI logs, pipes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.text import Text

from orchestrator.events import Event


@dataclass
class Progress:
    """What the progress view shows, folded from a job's events."""

    started_at: float = field(default_factory=time.monotonic)
    node: str = ""
    total: int = 0
    running: set[str] = field(default_factory=set)
    done: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    cached: set[str] = field(default_factory=set)
    tokens: int = 0
    stopped_by: str | None = None

    def apply(self, event: Event) -> None:
        task = event.task_id
        if event.type == "node_started":
            self.node = str(event.data.get("node", ""))
        elif event.type == "plan_ready":
            self.total = max(self.total, int(event.data.get("tasks", 0)))
        elif event.type == "tasks_added":
            self.total += len(event.data.get("task_ids", []))
        elif event.type == "task_started" and task:
            self.running.add(task)
        elif event.type == "task_finished" and task:
            self.running.discard(task)
            self.done.add(task)
            if event.data.get("resumed"):
                self.cached.add(task)
        elif event.type in ("task_skipped", "task_failed") and task:
            self.running.discard(task)
            self.failed.add(task)
        elif event.type == "tokens":
            self.tokens = max(self.tokens, int(event.data.get("total_tokens", 0)))
        elif event.type == "budget_reached":
            self.stopped_by = str(event.data.get("budget", ""))
        self.total = max(self.total, len(self.done | self.failed | self.running))

    def line(self) -> str:
        elapsed = time.monotonic() - self.started_at
        parts = [
            f"[{self.node or 'starting'}]",
            f"tasks {len(self.done)}/{self.total} done",
            f"{len(self.running)} running",
        ]
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.cached:
            parts.append(f"{len(self.cached)} reused")
        parts.append(f"{self.tokens:,} tokens")
        parts.append(f"{elapsed:5.1f}s")
        if self.stopped_by:
            parts.append(f"stopped by {self.stopped_by}")
        return " · ".join(parts)


_PLAIN_EVENTS = {
    "node_started",
    "plan_ready",
    "task_finished",
    "task_failed",
    "task_skipped",
    "budget_reached",
    "job_finished",
    "job_failed",
}


class ProgressView:
    """Renders ``Progress`` live on a terminal, or as plain lines on other streams."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.console = Console(file=stream, stderr=stream is None)
        self.progress = Progress()
        self._live: Live | None = None

    def __enter__(self) -> ProgressView:
        if self.console.is_terminal:
            self._live = Live(self._render(), console=self.console, refresh_per_second=8)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.__exit__(None, None, None)
            self._live = None

    def _render(self) -> Text:
        return Text(self.progress.line(), style="bold cyan")

    def __call__(self, event: Event) -> None:
        self.progress.apply(event)
        if self._live is not None:
            self._live.update(self._render())
        elif event.type in _PLAIN_EVENTS:
            self.console.print(Text(self.progress.line()), highlight=False, soft_wrap=True)
