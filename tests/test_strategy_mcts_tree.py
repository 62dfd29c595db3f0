"""The MCTS tree (pure): UCT, virtual loss, selection, expansion, backpropagation."""

from __future__ import annotations

import math

import pytest

from agents.strategies.mcts_tree import SearchTree


def grown(values: list[float], c: float = 1.0, vl: float = 1.0) -> SearchTree:
    """A root expanded into one child per value, each visited once with that value."""
    tree = SearchTree(max_depth=3, exploration=c, virtual_loss=vl)
    children = tree.expand(0, [f"step {i}" for i in range(len(values))])
    for child, value in zip(children, values, strict=True):
        tree.backpropagate([0, child], value)
    return tree


def test_uct_is_mean_plus_exploration_bonus() -> None:
    tree = grown([1.0, 0.0, 0.5], c=2.0)
    # The root has 3 visits; each child 1.
    bonus = 2.0 * math.sqrt(math.log(3) / 1)
    assert tree.uct(1) == pytest.approx(1.0 + bonus)
    assert tree.uct(2) == pytest.approx(0.0 + bonus)
    assert tree.uct(3) == pytest.approx(0.5 + bonus)


def test_unvisited_children_go_first_and_the_root_has_no_score() -> None:
    tree = grown([0.9])
    tree.expand(0, ["late"])
    assert tree.uct(2) == math.inf
    assert tree.select() == [0, 2]
    with pytest.raises(ValueError, match="root"):
        tree.uct(0)


def test_without_exploration_selection_is_greedy_on_the_mean() -> None:
    tree = grown([0.2, 0.8, 0.5], c=0.0)
    assert tree.select() == [0, 2]


def test_exploration_favours_the_less_visited_child() -> None:
    tree = grown([0.6, 0.5], c=1.0)
    for _ in range(5):
        tree.backpropagate([0, 1], 0.6)
    # Child 1 has the better mean but 6 visits; child 2 one visit and a big bonus.
    assert tree.select() == [0, 2]


def test_ties_go_to_the_older_child() -> None:
    assert grown([0.5, 0.5]).select() == [0, 1]


def test_virtual_loss_steers_the_next_selection_elsewhere() -> None:
    tree = grown([0.9, 0.6], c=0.1)
    first = tree.select()
    assert first == [0, 1]
    tree.add_virtual_loss(first)
    assert tree.select() == [0, 2]
    tree.remove_virtual_loss(first)
    assert tree.select() == [0, 1]
    assert all(n.virtual == 0 for n in tree.nodes)


def test_virtual_loss_counts_a_pending_child_as_visited() -> None:
    tree = grown([0.5])
    tree.expand(0, ["new"])
    tree.add_virtual_loss([0, 2])
    # A pending, unvisited child is no longer +inf: mean -vl over one pending visit.
    assert tree.uct(2) == pytest.approx(-1.0 + math.sqrt(math.log(2) / 1))


def test_removing_a_virtual_loss_that_is_not_there_is_an_error() -> None:
    with pytest.raises(ValueError, match="no virtual loss"):
        grown([0.5]).remove_virtual_loss([0])


def test_selection_stops_at_unexpanded_terminal_or_dead_end_nodes() -> None:
    tree = SearchTree(max_depth=1, exploration=1.0, virtual_loss=1.0)
    assert tree.select() == [0]
    (child,) = tree.expand(0, ["only step"])
    tree.backpropagate([0, child], 0.5)
    assert tree.terminal(child) and not tree.terminal(0)
    assert tree.select() == [0, child]
    with pytest.raises(ValueError, match="depth limit"):
        tree.expand(child, ["deeper"])
    dead = SearchTree(max_depth=3, exploration=1.0, virtual_loss=1.0)
    assert dead.expand(0, []) == []
    assert dead.node(0).expanded and dead.select() == [0]


def test_backpropagation_adds_a_visit_and_the_value_along_the_path() -> None:
    tree = SearchTree(max_depth=3, exploration=1.0, virtual_loss=1.0)
    (a,) = tree.expand(0, ["a"])
    (b,) = tree.expand(a, ["b"])
    tree.backpropagate([0, a, b], 1.0)
    tree.backpropagate([0, a], 0.0)
    assert (tree.node(0).visits, tree.node(a).visits, tree.node(b).visits) == (2, 2, 1)
    assert tree.node(a).mean == 0.5 and tree.node(b).mean == 1.0
    assert tree.node(b).depth == 2
    for bad in (-0.1, 1.1):
        with pytest.raises(ValueError, match="value"):
            tree.backpropagate([0], bad)


def test_best_path_follows_the_most_visited_children() -> None:
    tree = grown([0.9, 0.4])
    tree.backpropagate([0, 2], 0.4)
    (deep,) = tree.expand(2, ["deeper"])
    tree.backpropagate([0, 2, deep], 0.3)
    assert tree.best_path() == [0, 2, deep]
    assert tree.steps(deep) == ["step 1", "deeper"]
    assert tree.path_to(deep) == [0, 2, deep]


def test_best_path_ties_on_visits_go_to_the_higher_mean() -> None:
    assert grown([0.4, 0.9]).best_path() == [0, 2]


def test_details_and_bad_ids() -> None:
    tree = grown([0.5])
    assert tree.to_details() == [
        {"id": 1, "parent": 0, "depth": 1, "visits": 1, "mean": 0.5, "text": "step 0"}
    ]
    assert tree.node(0).mean == 0.5 and SearchTree(1, 1.0, 1.0).node(0).mean == 0.0
    with pytest.raises(ValueError, match="no node"):
        tree.node(9)
    with pytest.raises(ValueError, match="max_depth"):
        SearchTree(0, 1.0, 1.0)
    with pytest.raises(ValueError, match=">= 0"):
        SearchTree(1, -1.0, 1.0)
