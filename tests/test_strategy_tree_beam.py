"""Tree-of-Thoughts / Graph-of-Thoughts search state, value parsing and aggregation."""

from __future__ import annotations

import math

import pytest

from agents.strategies.tree_beam import (
    GOT_OPERATIONS,
    DfsFrontier,
    GotStep,
    Thought,
    ThoughtTree,
    aggregate_step_scores,
    aggregate_votes_for_states,
    combine_values,
    keep_best,
    parse_got_steps,
    parse_value,
    parse_vote,
    select_beam,
)
from orchestrator.errors import ConfigError


def _t(i: int, score: float | None) -> Thought:
    return Thought(id=i, parent=0, text=f"t{i}", depth=1, score=score)


def test_select_beam_best_first_stable_ties_unscored_last() -> None:
    candidates = [_t(1, 0.5), _t(2, None), _t(3, 0.9), _t(4, 0.5), _t(5, math.nan), _t(6, 0.1)]
    assert [t.id for t in select_beam(candidates, 3)] == [3, 1, 4]
    assert [t.id for t in select_beam(candidates, 10)] == [3, 1, 4, 6, 2, 5]
    assert keep_best(candidates, 1) == [candidates[2]]
    with pytest.raises(ConfigError, match="beam width"):
        select_beam(candidates, 0)


def test_tree_bfs_levels_paths_and_merge() -> None:
    tree = ThoughtTree("Use 4 4 6 8 to make 24")
    a, b = tree.expand(0, ["4 + 8 = 12", "6 - 4 = 2"])
    assert (a.id, a.depth, a.parent) == (1, 1, 0)
    c = tree.add(a.id, "12 * 2 = 24", score=1.0)
    tree.set_score(a.id, 0.5)
    tree.set_score(b.id, 0.9)
    assert [t.id for t in tree.level(1)] == [1, 2]
    assert [t.id for t in select_beam(tree.level(1), 1)] == [2]
    assert tree.path_text(c.id) == "4 + 8 = 12\n12 * 2 = 24"
    assert [t.id for t in tree.path(c.id)] == [0, 1, 3]
    assert [t.id for t in tree.children(a.id)] == [3]
    merged = tree.merge([c.id, b.id], "combined")
    assert merged.parent == c.id and merged.sources == (3, 2) and merged.depth == 3
    best = tree.best()
    assert best is not None and best.id == c.id
    assert tree.best(depth=5) is None
    assert len(tree.to_details()) == len(tree) - 1 == 4
    with pytest.raises(ValueError, match="no thought"):
        tree.get(99)
    with pytest.raises(ValueError):
        tree.merge([], "x")


def test_dfs_prunes_and_backtracks_best_first() -> None:
    tree = ThoughtTree()
    frontier = DfsFrontier(threshold=0.5)
    level1 = [tree.add(0, "a", 0.6), tree.add(0, "b", 0.9), tree.add(0, "c", 0.2)]
    pruned = frontier.push(level1)
    assert [t.text for t in pruned] == ["c"]
    first = frontier.pop()
    assert first is not None and first.text == "b"
    # b's children are all below the threshold: nothing stacked, so we backtrack to a.
    frontier.push([tree.add(first.id, "b1", 0.1), tree.add(first.id, "b2", None)])
    second = frontier.pop()
    assert second is not None and second.text == "a"
    frontier.push([tree.add(second.id, "a1", 0.7), tree.add(second.id, "a2", 0.8)])
    order = [frontier.pop(), frontier.pop(), frontier.pop()]
    assert [t.text if t else None for t in order] == ["a2", "a1", None]
    assert [t.text for t in frontier.pruned] == ["c", "b1", "b2"]
    assert frontier.popped == 4 and len(frontier) == 0


def test_dfs_without_threshold_keeps_everything_with_stable_ties() -> None:
    frontier = DfsFrontier()
    frontier.push([_t(1, 0.5), _t(2, 0.5), _t(3, None)])
    assert [frontier.pop().id for _ in range(3)] == [1, 2, 3]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("10 14: 10 + 14 = 24\nsure", 1.0),
        ("The numbers are too small.\nLikely", 0.5),
        ("1 2 3: cannot reach 24\nimpossible", 0.0),
        ("I rate this 7/10.", 0.7),
        ("Score: 8", 0.8),
        ("value = 0.35", 0.35),
        ("rating: 85%", 0.85),
        ("9", 0.9),
        ("42", 0.42),
        ("it is sure to work, but I am still thinking", 1.0),
        ("no verdict here", None),
        ("", None),
    ],
)
def test_parse_value(text: str, value: float | None) -> None:
    parsed = parse_value(text)
    if value is None:
        assert parsed is None
    else:
        assert parsed == pytest.approx(value)


def test_votes() -> None:
    assert parse_vote("Analysis...\nThe best choice is 2", 3) == 1
    assert parse_vote("The best choice is 9", 3) is None
    assert parse_vote("3", 3) == 2
    assert parse_vote("no idea", 3) is None
    shares = aggregate_votes_for_states([0, 1, 1, None, 1], 3)
    assert shares == [0.25, 0.75, 0.0]
    assert aggregate_votes_for_states([None], 2) == [0.0, 0.0]
    with pytest.raises(ValueError, match="state index"):
        aggregate_votes_for_states([3], 3)


def test_combine_values() -> None:
    assert combine_values([1.0, 0.5, None]) == pytest.approx(0.5)
    assert combine_values([1.0, 0.5, None], how="sum") == pytest.approx(1.5)
    assert combine_values([]) == 0.0


def test_aggregate_step_scores() -> None:
    scores = [0.9, 0.5, 0.8]
    assert aggregate_step_scores(scores, "min") == 0.5
    assert aggregate_step_scores(scores, "prod") == pytest.approx(0.36)
    assert aggregate_step_scores(scores, "mean") == pytest.approx(2.2 / 3)
    assert aggregate_step_scores(scores, "last") == 0.8
    with pytest.raises(ValueError):
        aggregate_step_scores([], "min")
    with pytest.raises(ConfigError, match="'max'"):
        aggregate_step_scores(scores, "max")  # type: ignore[arg-type]


def test_got_steps_parse_in_order() -> None:
    steps = parse_got_steps(
        [
            {"generate": 3},
            {"score": {}},
            {"score": None},
            {"score": {"rubric": "Short wins."}},
            {"keep_best": 2},
            {"aggregate": 2},
            {"refine": 1},
        ]
    )
    assert steps == [
        GotStep("generate", 3),
        GotStep("score"),
        GotStep("score"),
        GotStep("score", rubric="Short wins."),
        GotStep("keep_best", 2),
        GotStep("aggregate", 2),
        GotStep("refine", 1),
    ]


def test_got_steps_name_every_bad_step_and_the_known_operations() -> None:
    with pytest.raises(ConfigError) as info:
        parse_got_steps(
            [
                {"score": {}},
                {"explode": 2},
                {"generate": True},
                {"aggregate": 1},
                {"generate": 1, "score": {}},
                {"score": {"rubric": ""}},
            ]
        )
    message = str(info.value)
    assert "steps[0] = {'score': {}}: the first step must be generate" in message
    assert "steps[1] = {'explode': 2}: unknown operation 'explode'" in message
    assert "steps[2] = {'generate': True}" in message
    assert "steps[3] = {'aggregate': 1}" in message and "m in 2..16" in message
    assert "steps[4]" in message and "one operation" in message
    assert "steps[5]" in message
    assert all(name in message for name in GOT_OPERATIONS)
    bad_lists: list[object] = [[], "generate", None]
    for bad in bad_lists:
        with pytest.raises(ConfigError, match="non-empty list"):
            parse_got_steps(bad)


@pytest.mark.parametrize(
    ("reply", "value"),
    [
        # Unscaled numbers: up to 1 as is, up to 10 out of 10, above out of 100.
        ("score: 1", 1.0),
        ("score: 2", 0.2),
        ("score: 10", 1.0),
        ("score: 11", 0.11),
        ("score: 150%", 1.0),
        ("5%", 0.05),
        # A label on the last line beats a fraction above it.
        ("7/10\nlikely", 0.5),
        # A fraction over zero is no fraction.
        ("3/0 and score 5", 0.5),
        ("1/1", 1.0),
        ("15/10", 1.0),
        # Failing all else, the last label anywhere.
        ("It is likely, I think.\n(more text)", 0.5),
        ("sure, likely, impossible\nthen.", 0.0),
    ],
)
def test_value_scales_and_precedence(reply: str, value: float) -> None:
    assert parse_value(reply) == pytest.approx(value)


def test_votes_for_the_first_and_the_last_state() -> None:
    assert parse_vote("The best choice is 1", 3) == 0
    assert parse_vote("The best choice is 3", 3) == 2
    assert parse_vote("1", 3) == 0
    assert parse_vote("3", 3) == 2
    with pytest.raises(ValueError) as caught:
        aggregate_votes_for_states([3], 3)
    assert str(caught.value) == "vote 3 is not a state index in 0..2"


def test_step_scores_default_to_the_weakest_step() -> None:
    assert aggregate_step_scores([0.2, 0.9]) == 0.2
    with pytest.raises(ValueError) as caught:
        aggregate_step_scores([])
    assert str(caught.value) == "aggregate_step_scores needs at least one step score"


def test_a_child_scored_exactly_at_the_threshold_is_kept() -> None:
    frontier = DfsFrontier(threshold=0.5)
    child = Thought(id=1, parent=0, text="x", depth=1, score=0.5)
    assert frontier.push([child]) == []
    assert frontier.pop() == child


def test_tree_bookkeeping() -> None:
    tree = ThoughtTree()
    assert tree.root.text == ""
    first = tree.add(0, "a", score=0.9)
    second = tree.add(0, "b", score=0.1)
    deeper = tree.add(second.id, "c", score=0.5)
    assert first.sources == ()
    assert [t.id for t in tree.children(0)] == [first.id, second.id]
    assert tree.best() == first
    assert tree.best(2) == deeper
    merged = tree.merge([first.id, deeper.id], "m", score=0.7)
    assert (merged.score, merged.sources, merged.depth) == (0.7, (1, 3), 3)
    with pytest.raises(ValueError) as missing:
        tree.get(9)
    assert str(missing.value) == "no thought with id 9; ids are 0..4"
    with pytest.raises(ValueError) as empty:
        tree.merge([], "m")
    assert str(empty.value) == "merge needs at least one source thought"


def test_got_steps_report_every_problem_in_order_with_the_operations() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_got_steps([{"score": {}}, {"bogus": 1}])
    assert str(caught.value) == (
        "steps[0] = {'score': {}}: the first step must be generate (the working set starts "
        "with the question alone); steps[1] = {'bogus': 1}: unknown operation 'bogus'. "
        "Known operations: " + "; ".join(GOT_OPERATIONS.values())
    )


def test_got_score_takes_only_a_mapping_with_a_rubric() -> None:
    for bad in (3, "be strict", {"rubric": ""}, {"rubric": "x", "n": 2}):
        with pytest.raises(ConfigError, match=r"^steps\[1\] = "):
            parse_got_steps([{"generate": 2}, {"score": bad}])
    steps = parse_got_steps([{"generate": 16}, {"score": {"rubric": "be strict"}}])
    assert steps == [GotStep("generate", count=16), GotStep("score", rubric="be strict")]
