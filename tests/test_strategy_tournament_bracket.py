"""Knockout brackets, both-order match resolution, verdict parsing and the tournament."""

from __future__ import annotations

import random

import pytest

from agents.strategies.tournament_bracket import (
    Match,
    Outcome,
    Tournament,
    make_bracket,
    next_round,
    parse_verdict,
    resolve_match,
)
from orchestrator.errors import ConfigError


def test_power_of_two_bracket_keeps_top_seeds_apart() -> None:
    matches = make_bracket(8)
    assert [(m.a, m.b) for m in matches] == [(0, 7), (3, 4), (1, 6), (2, 5)]
    assert not any(m.is_bye for m in matches)
    assert [m.slot for m in matches] == [0, 1, 2, 3]


@pytest.mark.parametrize("n", [2, 3, 5, 6, 7, 9, 12, 16])
def test_every_candidate_appears_once_and_byes_go_to_top_seeds(n: int) -> None:
    matches = make_bracket(n)
    players = [m.a for m in matches] + [m.b for m in matches if m.b is not None]
    assert sorted(players) == list(range(n))
    size = 1 << (n - 1).bit_length()
    byes = sorted(m.a for m in matches if m.is_bye)
    assert byes == list(range(size - n))
    assert len(matches) == size // 2


def test_five_candidates() -> None:
    matches = make_bracket(5)
    assert [(m.a, m.b) for m in matches] == [(0, None), (3, 4), (1, None), (2, None)]


def test_single_candidate_and_bad_counts() -> None:
    assert make_bracket(1) == [Match(slot=0, a=0, b=None)]
    with pytest.raises(ConfigError, match="at least 1 candidate"):
        make_bracket(0)


def test_seeded_shuffle_is_reproducible_and_order_wins() -> None:
    first = make_bracket(6, seed=3)
    assert first == make_bracket(6, seed=3)
    expected = list(range(6))
    random.Random(3).shuffle(expected)
    assert [m.a for m in first if m.is_bye] == expected[:2]
    ordered = make_bracket(4, order=[2, 0, 3, 1])
    assert [(m.a, m.b) for m in ordered] == [(2, 1), (0, 3)]
    with pytest.raises(ValueError, match="permutation"):
        make_bracket(3, order=[0, 0, 1])


def test_next_round_pairs_in_order_with_odd_bye() -> None:
    assert [(m.a, m.b) for m in next_round([4, 1, 7, 2])] == [(4, 1), (7, 2)]
    assert [(m.a, m.b) for m in next_round([4, 1, 7])] == [(4, 1), (7, None)]


def test_consistent_verdicts_win() -> None:
    # a shown first wins; then b shown first loses ("second" = a).
    assert resolve_match("first", "second") == Outcome(winner="a", reason="consistent")
    assert resolve_match("second", "first") == Outcome(winner="b", reason="consistent")


def test_position_bias_cancels_to_a_tie() -> None:
    outcome = resolve_match("first", "first")
    assert outcome.winner is None and outcome.reason == "tie"
    assert resolve_match("second", "second").winner is None


def test_tie_broken_by_score_then_seed() -> None:
    assert resolve_match("first", "first", 0.2, 0.9) == Outcome(winner="b", reason="score")
    assert resolve_match("tie", "tie", 0.9, 0.2) == Outcome(winner="a", reason="score")
    assert resolve_match("first", "first", 0.5, 0.5).winner is None
    assert resolve_match(None, None, final=True) == Outcome(winner="a", reason="seed")


def test_one_sided_verdict_wins_over_tie_or_unreadable() -> None:
    assert resolve_match("tie", "first") == Outcome(winner="b", reason="one_sided")
    assert resolve_match(None, "second") == Outcome(winner="a", reason="one_sided")


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ('{"winner": "B", "reason": "clearer"}', "second"),
        ("After comparing, [[A]]", "first"),
        ("[[C]]", "tie"),
        ("The better response is B.", "second"),
        ("Winner: A", "first"),
        ("Response A is better than response B.", "first"),
        ("B", "second"),
        ("a", "first"),
        ("It is a tie.", "tie"),
        ("The winner is a tie.", "tie"),
        ("I cannot decide.", None),
        ("", None),
    ],
)
def test_parse_verdict(text: str, verdict: str | None) -> None:
    assert parse_verdict(text) == verdict


def _play(tournament: Tournament, strength: list[float]) -> None:
    while not tournament.finished:
        pending = tournament.pending()
        assert pending, "an unfinished tournament always has a match to judge"
        for match in pending:
            assert match.b is not None
            winner = match.a if strength[match.a] >= strength[match.b] else match.b
            tournament.record(match, winner)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 11])
def test_tournament_strongest_wins(n: int) -> None:
    strength = [float((i * 7) % n) for i in range(n)]
    tournament = Tournament(n, seed=1)
    _play(tournament, strength)
    assert tournament.champion == max(range(n), key=lambda i: (strength[i], -i))
    played = [r for r in tournament.history if r.reason != "bye"]
    assert len(played) == n - 1
    details = tournament.to_details()
    assert details["champion"] == tournament.champion
    assert details["rounds"] == tournament.rounds_total()


def test_tournament_rounds_and_byes() -> None:
    tournament = Tournament(5)
    assert tournament.rounds_total() == 3
    first = tournament.pending()
    assert [(m.a, m.b) for m in first] == [(3, 4)]
    assert [r.winner for r in tournament.history if r.reason == "bye"] == [0, 1, 2]
    tournament.record(first[0], 4)
    assert tournament.round_index == 1
    second = tournament.pending()
    assert [(m.a, m.b) for m in second] == [(0, 4), (1, 2)]
    tournament.record_outcome(second[0], resolve_match("second", "first"))
    assert not tournament.finished
    tournament.record_outcome(second[1], resolve_match("first", "second"))
    final = tournament.pending()
    assert [(m.a, m.b) for m in final] == [(4, 1)]
    tournament.record(final[0], 1, "score")
    assert tournament.finished and tournament.champion == 1
    assert tournament.pending() == []
    assert tournament.history[-1].reason == "score"


def test_tournament_rejects_bad_records() -> None:
    tournament = Tournament(4)
    match = tournament.pending()[0]
    with pytest.raises(ValueError, match="did not play"):
        tournament.record(match, 99)
    with pytest.raises(ValueError, match="tie"):
        tournament.record_outcome(match, resolve_match("first", "first"))
    tournament.record(match, match.a)
    with pytest.raises(ValueError, match="not pending"):
        tournament.record(match, match.a)


@pytest.mark.parametrize(
    ("label", "verdict"),
    [
        ("1", "first"),
        ("first", "first"),
        ("Response A", "first"),
        ("candidate a", "first"),
        ("2", "second"),
        ("Second", "second"),
        ("response b", "second"),
        ("Candidate B", "second"),
        ("both", "tie"),
        ("C", "tie"),
        ("tie", "tie"),
        ("draw", "tie"),
        ("neither", "tie"),
    ],
)
def test_every_label_in_a_json_verdict(label: str, verdict: str) -> None:
    assert parse_verdict(f'{{"winner": "{label}"}}') == verdict


def test_a_bare_label_in_quotes_brackets_or_markdown() -> None:
    assert parse_verdict("(A)") == "first"
    assert parse_verdict("**B**.") == "second"
    assert parse_verdict("`first`") == "first"


def test_messages_name_the_bad_value_and_the_fix() -> None:
    with pytest.raises(ConfigError) as none:
        make_bracket(0)
    assert str(none.value) == (
        "a tournament needs at least 1 candidate, got 0; set n >= 2 so there is something "
        "to compare"
    )
    with pytest.raises(ValueError) as order:
        make_bracket(2, order=[0, 2])
    assert str(order.value) == (
        "bracket order [0, 2] must be a permutation of 0..1; "
        "list every candidate index exactly once, strongest first"
    )
    t = Tournament(2)
    [match] = t.pending()
    with pytest.raises(ValueError) as tie:
        t.record_outcome(match, Outcome(winner=None, reason="tie"))
    assert str(tie.value) == (
        f"match {match!r} ended in a tie; re-judge it or call "
        "resolve_match(..., final=True) to settle it"
    )
    stale = Match(slot=0, a=1, b=0)
    with pytest.raises(ValueError) as pending:
        t.record(stale, 1)
    assert str(pending.value) == (
        f"match {stale!r} is not pending in round 0; record only matches returned by pending()"
    )
    bye = Match(slot=0, a=0, b=None)
    with pytest.raises(ValueError) as walkover:
        t.record_outcome(bye, Outcome(winner="a", reason="seed"))
    assert str(walkover.value) == f"match {bye!r} is a bye; it is settled automatically"


def test_a_tournament_uses_its_seed_or_order_for_the_first_round() -> None:
    assert Tournament(8, seed=3).pending() == make_bracket(8, 3)
    assert Tournament(8, seed=3).pending() != make_bracket(8)
    order = [7, 6, 5, 4, 3, 2, 1, 0]
    assert Tournament(8, seed=3, order=order).pending() == make_bracket(8, order=order)


def test_a_single_candidate_has_nothing_pending() -> None:
    t = Tournament(1)
    assert (t.champion, t.pending(), t.rounds_total()) == (0, [], 0)


def test_history_records_both_players_round_and_reason() -> None:
    t = Tournament(8)
    while not t.finished:
        for match in t.pending():
            if match.slot % 2:
                t.record_outcome(match, Outcome(winner="b", reason="consistent"))
            else:
                t.record(match, match.a)
    assert [r.round for r in t.history] == [0, 0, 0, 0, 1, 1, 2]
    assert [r.reason for r in t.history] == ["judge", "consistent"] * 3 + ["judge"]
    first = t.history[0]
    assert (first.a, first.b, first.winner) == (0, 7, 0)
    details = t.to_details()
    assert list(details) == ["champion", "rounds", "matches"]
    assert details["rounds"] == 3
    assert details["matches"] == [r.model_dump() for r in t.history]


@pytest.mark.parametrize(("n", "rounds"), [(1, 0), (2, 1), (3, 2), (4, 2), (5, 3), (8, 3)])
def test_rounds_total(n: int, rounds: int) -> None:
    assert Tournament(n).rounds_total() == rounds


@pytest.mark.parametrize("label", ["tie", "Draw", "neither"])
def test_a_json_tie_is_not_overridden_by_a_phrase_in_its_reason(label: str) -> None:
    reply = f'{{"winner": "{label}", "reason": "A is better on style, B on substance"}}'
    assert parse_verdict(reply) == "tie"


def test_only_punctuation_around_a_bare_label_is_stripped() -> None:
    assert parse_verdict("AX") is None
    assert parse_verdict("'B'") == "second"
