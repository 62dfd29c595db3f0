"""The plot of ``bench/quality.py``: accuracy against tokens per question, per configuration.

matplotlib comes with the ``bench`` extra and is imported only here, when a plot is drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def plot(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """Draw every row (95 % interval bars); plain votes are joined as the baseline curve."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit(
            'the plot needs matplotlib: .venv/bin/python -m pip install -e ".[bench]"'
        ) from None
    figure, axes = plt.subplots(figsize=(8, 5))
    votes = sorted(
        (r for r in rows if r.get("role") == "baseline"), key=lambda r: r["tokens_per_question"]
    )
    if votes:
        axes.plot(
            [r["tokens_per_question"] for r in votes],
            [r["accuracy"] for r in votes],
            "-o",
            color="grey",
            label="plain vote (single sample, matched n)",
        )
    for row in rows:
        error = [[row["accuracy"] - row["ci_low"]], [row["ci_high"] - row["accuracy"]]]
        operator = row.get("role") == "operator"
        axes.errorbar(
            [row["tokens_per_question"]],
            [row["accuracy"]],
            yerr=error,
            fmt="s" if operator else ".",
            color=None if operator else "grey",
            capsize=3,
            label=row["config"] if operator else None,
        )
    model = rows[0]["model"] if rows else ""
    questions = rows[0]["questions"] if rows else 0
    axes.set_xscale("log")
    axes.set_xlabel("tokens per question (prompt + completion, log scale)")
    axes.set_ylabel("accuracy (95 % Wilson interval)")
    axes.set_title(f"Quality at matched compute: {model}, {questions} questions", fontsize=10)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8, loc="best")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
