"""DeepConf online pruning (Fu et al., 2025) as a pure state machine."""

from __future__ import annotations

import pytest

from agents.strategies.vote_confidence import (
    calibrate_threshold,
    lowest_group_confidence,
    token_confidences,
)
from agents.strategies.vote_pruning import TracePruner, warmup_then_prune
from orchestrator.errors import ConfigError
from orchestrator.models.protocol import TokenLogprob


def _chosen(*logprobs: float) -> list[TokenLogprob]:
    return [TokenLogprob(token=f"t{i}", logprob=lp) for i, lp in enumerate(logprobs)]


def test_confident_trace_runs_to_the_end() -> None:
    pruner = TracePruner(threshold=-0.5, window=4)
    for _ in range(10):
        assert pruner.feed(_chosen(-0.1, -0.2)) == "continue"
    assert not pruner.aborted
    assert pruner.tokens == 20
    assert pruner.trace_confidence() == pytest.approx(-0.15)


def test_trace_is_aborted_when_its_window_drops_below_threshold() -> None:
    pruner = TracePruner(threshold=-0.5, window=4)
    assert pruner.feed(_chosen(-0.1, -0.1, -0.1)) == "continue"
    assert pruner.lowest_window is None
    assert pruner.feed(_chosen(-0.1)) == "continue"
    assert pruner.lowest_window == pytest.approx(-0.1)
    # Window means: -0.55 after the second token of this chunk -> abort mid-chunk.
    assert pruner.feed(_chosen(-1.0, -1.0, -1.0, -1.0)) == "abort"
    assert pruner.tokens == 6
    assert pruner.aborted
    assert pruner.feed(_chosen(-0.01)) == "abort"
    assert pruner.tokens == 6


def test_short_trace_is_never_aborted_online() -> None:
    pruner = TracePruner(threshold=0.0, window=8)
    assert pruner.feed(_chosen(-3.0, -3.0, -3.0)) == "continue"
    assert pruner.trace_confidence() == pytest.approx(-3.0)
    assert TracePruner(threshold=0.0).trace_confidence() is None


def test_auto_mode_uses_top_k_when_alternatives_are_streamed() -> None:
    peaked = TokenLogprob(token="a", logprob=-0.01, top_logprobs={"a": -0.01, "b": -7.99})
    flat = TokenLogprob(token="c", logprob=-0.6, top_logprobs={"c": -0.6, "d": -0.8})
    pruner = TracePruner(threshold=2.0, window=2)
    assert pruner.feed([peaked, peaked]) == "continue"
    assert pruner.confidences == pytest.approx([4.0, 4.0])
    assert pruner.feed([flat]) == "continue"
    assert pruner.feed([flat]) == "abort"


def test_mode_is_fixed_for_the_whole_trace() -> None:
    pruner = TracePruner(threshold=-10.0, window=2)
    pruner.feed([TokenLogprob(token="a", logprob=-0.1, top_logprobs={"a": -0.1, "b": -3.0})])
    with pytest.raises(ValueError, match="no top_logprobs"):
        pruner.feed(_chosen(-0.2))


def test_plan_splits_warmup_and_pruned_traces() -> None:
    plan = warmup_then_prune(64, warmup=16, keep_percent=10, window=4)
    assert (plan.warmup, plan.pruned, plan.total) == (16, 48, 64)
    small = warmup_then_prune(8, warmup=16)
    assert (small.warmup, small.pruned) == (8, 0)


def test_plan_threshold_keeps_about_keep_percent_of_warmup_like_traces() -> None:
    plan = warmup_then_prune(40, warmup=10, keep_percent=20, window=3)
    warmup = [[-0.1 * (i + 1)] * 6 for i in range(10)]
    threshold = plan.threshold([*warmup, []])
    expected = calibrate_threshold([lowest_group_confidence(t, 3) for t in warmup], 20)
    assert threshold == pytest.approx(expected)
    survivors = 0
    for trace in warmup:
        pruner = plan.pruner(threshold)
        decision = pruner.feed(_chosen(*trace))
        survivors += decision == "continue"
        assert token_confidences(_chosen(*trace)) == trace
    assert survivors == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"total": 0}, "total traces 0"),
        ({"total": 4, "warmup": 0}, "warm-up traces 0"),
        ({"total": 4, "keep_percent": 0.0}, "keep_percent 0.0"),
        ({"total": 4, "keep_percent": 150.0}, r"\(0, 100\]"),
        ({"total": 4, "window": 0}, "window 0"),
    ],
)
def test_plan_rejects_bad_settings(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        warmup_then_prune(**kwargs)  # type: ignore[arg-type]


def test_pruner_rejects_bad_window() -> None:
    with pytest.raises(ConfigError, match="window 0"):
        TracePruner(threshold=0.0, window=0)


def _with_alternatives(logprob: float) -> TokenLogprob:
    return TokenLogprob(token="t", logprob=logprob, top_logprobs={"t": logprob, "u": -3.0})


def test_plan_defaults_are_deepconf_low_with_16_warmup_traces() -> None:
    plan = warmup_then_prune(20)
    assert (plan.warmup, plan.pruned, plan.keep_percent, plan.window) == (16, 4, 10.0, 2048)


def test_plan_smallest_and_largest_settings_are_valid() -> None:
    plan = warmup_then_prune(1, warmup=1, keep_percent=100.0, window=1)
    assert (plan.warmup, plan.pruned, plan.total) == (1, 0, 1)
    assert warmup_then_prune(3, warmup=1, keep_percent=0.5).keep_percent == 0.5
    with pytest.raises(ConfigError) as caught:
        warmup_then_prune(3, keep_percent=100.5)
    assert str(caught.value) == (
        "keep_percent 100.5 is out of range; use a value in (0, 100], "
        "e.g. 10 (DeepConf-low) or 90 (DeepConf-high)"
    )


def test_the_plan_window_sets_the_threshold_and_the_pruners() -> None:
    plan = warmup_then_prune(4, warmup=2, keep_percent=100.0, window=2)
    # Lowest 2-token means: 1.0 and 2.0 (the whole-trace means are 3.0 and 3.5).
    assert plan.threshold([[1.0, 1.0, 7.0], [2.0, 2.0, 5.0, 5.0]]) == 1.0
    pruner = plan.pruner(0.0, "chosen")
    assert pruner.window == 2
    assert pruner.feed([_with_alternatives(-0.5)]) == "continue"
    # "chosen": the chosen token's logprob, although alternatives were streamed.
    assert pruner.confidences == [-0.5]


def test_a_fixed_mode_is_kept_and_the_trace_confidence_uses_the_window() -> None:
    pruner = TracePruner(threshold=-100.0, window=2, mode="chosen")
    assert pruner.aborted is False
    pruner.feed([_with_alternatives(-1.0), _with_alternatives(-1.0), _with_alternatives(-7.0)])
    assert pruner.confidences == [-1.0, -1.0, -7.0]
    assert pruner.trace_confidence() == -4.0  # lowest 2-token mean, not the whole -3.0
