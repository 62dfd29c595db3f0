"""Parallel-Probe's controller (pure): consensus stopping and deviation pruning."""

from __future__ import annotations

import pytest

from agents.strategies.probe_consensus import ProbeController


def controller(**overrides: object) -> ProbeController:
    settings: dict[str, object] = {
        "patience": 2,
        "min_share": 0.5,
        "warmup": 1,
        "deviation": 2,
        "min_branches": 1,
    }
    settings.update(overrides)
    return ProbeController(**settings)  # type: ignore[arg-type]


def test_stops_once_the_leader_holds_for_patience_probes() -> None:
    c = controller(patience=2)
    first = c.observe({0: "4", 1: "4", 2: "5"})
    assert first.leader == "4" and first.stable_for == 1 and not first.stop
    second = c.observe({0: "4", 1: "4", 2: "5"})
    assert second.stable_for == 2 and second.stop


def test_patience_one_stops_at_the_first_probe() -> None:
    assert controller(patience=1).observe({0: "4", 1: "5", 2: "4"}).stop


def test_a_leader_change_restarts_the_count() -> None:
    c = controller(patience=2)
    c.observe({0: "4", 1: "4", 2: "5"})
    changed = c.observe({0: "5", 1: "5", 2: "4"})
    assert changed.leader == "5" and changed.stable_for == 1 and not changed.stop
    assert c.observe({0: "5", 1: "5", 2: "4"}).stop


def test_no_answers_means_no_leader_and_no_stop() -> None:
    c = controller(patience=1)
    decision = c.observe({0: None, 1: None})
    assert decision.leader is None and decision.stable_for == 0 and not decision.stop


def test_the_leader_needs_min_share_of_the_answers() -> None:
    c = controller(patience=1, min_share=0.6)
    # 2 of 4 answers: a share of 0.5 is below 0.6.
    assert not c.observe({0: "4", 1: "4", 2: "5", 3: "6"}).stop
    # 3 of 5: exactly 0.6 is enough.
    assert c.observe({0: "4", 1: "4", 2: "4", 3: "5", 4: "6"}).stop


def test_missing_answers_do_not_count_against_the_share() -> None:
    decision = controller(patience=1, min_share=1.0).observe({0: "4", 1: None, 2: "4"})
    assert decision.share == 1.0 and decision.stop


def test_deviating_branches_are_pruned_after_warmup_and_streak() -> None:
    c = controller(patience=5, warmup=1, deviation=2)
    answers = {0: "4", 1: "4", 2: "9"}
    assert c.observe(answers).prune == ()  # warm-up probe: no pruning
    assert c.observe(answers).prune == (2,)  # streak 2 reaches deviation 2


def test_pruning_waits_for_the_warmup_even_with_a_long_streak() -> None:
    c = controller(patience=5, warmup=2, deviation=1)
    answers = {0: "4", 1: "4", 2: "9"}
    assert c.observe(answers).prune == ()
    assert c.observe(answers).prune == ()
    assert c.observe(answers).prune == (2,)


def test_a_branch_that_rejoins_the_leader_restarts_its_streak() -> None:
    c = controller(patience=9, warmup=0, deviation=2)
    c.observe({0: "4", 1: "4", 2: "9"})
    assert c.observe({0: "4", 1: "4", 2: "4"}).prune == ()
    assert c.observe({0: "4", 1: "4", 2: "9"}).prune == ()


def test_a_branch_without_an_answer_does_not_deviate() -> None:
    c = controller(patience=9, warmup=0, deviation=1)
    assert c.observe({0: "4", 1: "4", 2: None}).prune == ()


def test_min_branches_stay_live_longest_streak_pruned_first() -> None:
    c = controller(patience=9, warmup=0, deviation=1, min_branches=3)
    c.observe({0: "4", 1: "4", 2: "4", 3: "7", 4: "4"})
    decision = c.observe({0: "4", 1: "4", 2: "7", 3: "7", 4: "8"})
    # 5 branches, 3 must stay: two pruned; branch 3 deviated longest, then 2 (lower index).
    assert decision.prune == (2, 3)


def test_nothing_is_pruned_when_fewer_than_min_branches_are_live() -> None:
    c = controller(patience=9, warmup=0, deviation=1, min_branches=3)
    assert c.observe({0: "4", 1: "9"}).prune == ()
    # Exactly min_branches live: still nothing to prune.
    assert c.observe({0: "4", 1: "4", 2: "9"}).prune == ()


def test_no_pruning_when_stopping_or_when_turned_off() -> None:
    stopping = controller(patience=1, warmup=0, deviation=1)
    assert stopping.observe({0: "4", 1: "4", 2: "9"}).prune == ()
    off = controller(patience=9, warmup=0, deviation=1, prune=False)
    assert off.observe({0: "4", 1: "4", 2: "9"}).prune == ()


@pytest.mark.parametrize(
    "bad",
    [
        {"patience": 0},
        {"deviation": 0},
        {"min_branches": 0},
        {"warmup": -1},
        {"min_share": 0.0},
        {"min_share": 1.1},
    ],
)
def test_bad_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        controller(**bad)
