"""Task DAG logic: validation messages, critical-path priorities, ready sets, replanning,
and ``DagProgress`` (the scheduler's bookkeeping)."""

from __future__ import annotations

from typing import Any

import networkx as nx
import pytest

from orchestrator import dag as dagmod
from orchestrator.dag_progress import DagProgress
from orchestrator.errors import PlanError
from orchestrator.plan import TaskPlan, TaskSpec, task_key


def spec(task_id: str, *deps: str, **extra: Any) -> TaskSpec:
    return TaskSpec(id=task_id, depends_on=deps, **extra)


def plan(*tasks: TaskSpec) -> TaskPlan:
    return TaskPlan(tasks=list(tasks))


DIAMOND = plan(spec("a"), spec("b", "a", estimate=3.0), spec("c", "a"), spec("d", "b", "c"))


def test_a_valid_plan_has_no_problems_and_builds_its_graph() -> None:
    assert dagmod.validate_plan(DIAMOND) == []
    graph = dagmod.build_dag(DIAMOND)
    assert list(graph.nodes) == ["a", "b", "c", "d"]
    assert set(graph.edges) == {("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")}
    assert dagmod.task_spec(graph, "b").estimate == 3.0


def test_a_cycle_is_reported_as_its_path_from_its_smallest_id() -> None:
    problems = dagmod.validate_plan(plan(spec("c", "b"), spec("a", "c"), spec("b", "a")))
    assert len(problems) == 1
    assert "tasks form a cycle a → b → c → a" in problems[0]
    assert "remove one of these dependencies" in problems[0]


def test_each_independent_cycle_is_reported() -> None:
    problems = dagmod.validate_plan(
        plan(spec("a", "b"), spec("b", "a"), spec("x", "y"), spec("y", "x"), spec("free"))
    )
    assert [p.split(" (")[0] for p in problems] == [
        "tasks form a cycle a → b → a",
        "tasks form a cycle x → y → x",
    ]


def test_self_dependency_and_missing_dependency_are_reported() -> None:
    problems = dagmod.validate_plan(plan(spec("a", "a"), spec("b", "ghost")))
    assert problems == [
        "task 'a' depends on itself; a task cannot wait for itself; remove 'a' from its depends_on",
        "task 'b' depends on 'ghost', which is not a task of the plan; every dependency must "
        "name a planned task; add a task 'ghost' or remove it from 'b''s depends_on",
    ]


def test_duplicate_ids_are_reported_once_with_their_count() -> None:
    problems = dagmod.validate_plan(plan(spec("a"), spec("a"), spec("a"), spec("b")))
    assert problems == [
        "task id 'a' is used by 3 tasks; task ids must be unique; rename all but one of them"
    ]


def test_unknown_kinds_and_the_task_limit_are_reported() -> None:
    problems = dagmod.validate_plan(
        plan(spec("a", kind="dance"), spec("b"), spec("c")),
        max_tasks=2,
        known_kinds={"research", "tool"},
    )
    assert problems == [
        "task 'a' has unknown kind 'dance'; known kinds: research, tool; use one of them",
        "the plan has 3 tasks, over the limit of 2; plan at most 2 tasks in all (merge related "
        "tasks) or raise max_tasks",
    ]


def test_build_dag_raises_plan_error_listing_every_problem() -> None:
    with pytest.raises(PlanError) as info:
        dagmod.build_dag(plan(spec("a", "ghost"), spec("b", "c"), spec("c", "b")), max_tasks=1)
    assert len(info.value.problems) == 3
    text = str(info.value)
    assert text.startswith("the plan is not a valid task DAG")
    assert "'ghost'" in text and "b → c → b" in text and "limit of 1" in text


def test_critical_path_priorities_sum_estimates_to_a_sink() -> None:
    graph = dagmod.build_dag(DIAMOND)
    assert dagmod.critical_path_priorities(graph) == {"a": 5.0, "b": 4.0, "c": 2.0, "d": 1.0}
    assert dagmod.critical_path_length(graph) == 5.0


def test_ready_tasks_are_those_whose_dependencies_are_done_best_first() -> None:
    graph = dagmod.build_dag(DIAMOND)
    assert dagmod.ready_tasks(graph, done=()) == ["a"]
    assert dagmod.ready_tasks(graph, done={"a"}) == ["b", "c"]
    assert dagmod.ready_tasks(graph, done={"a"}, running={"b"}) == ["c"]
    assert dagmod.ready_tasks(graph, done={"a", "b"}, blocked={"c"}) == []
    assert dagmod.ready_tasks(graph, done={"a", "b", "c"}) == ["d"]
    assert dagmod.ready_tasks(graph, done={"a"}, priorities={"b": 0, "c": 9, "a": 0, "d": 0}) == [
        "c",
        "b",
    ]


def test_descendants_to_skip_follows_every_path() -> None:
    graph = dagmod.build_dag(DIAMOND)
    assert dagmod.descendants_to_skip(graph, "a") == {"b", "c", "d"}
    assert dagmod.descendants_to_skip(graph, "c") == {"d"}
    assert dagmod.descendants_to_skip(graph, "d") == set()


def test_add_tasks_grows_the_dag_or_changes_nothing() -> None:
    graph = dagmod.build_dag(DIAMOND)
    added = dagmod.add_tasks(graph, [spec("e", "d"), spec("f", "e", "a")])
    assert added == ["e", "f"]
    assert {("d", "e"), ("e", "f"), ("a", "f")} <= set(graph.edges)

    before = set(graph.edges)
    with pytest.raises(PlanError) as info:
        dagmod.add_tasks(graph, [spec("a"), spec("g", "h"), spec("h", "g")], max_tasks=7)
    problems = "\n".join(info.value.problems)
    assert "task id 'a' is already in the DAG" in problems
    assert "g → h → g" in problems
    assert "the plan has 9 tasks (6 already planned + 3 new), over the limit of 7" in problems
    assert set(graph.edges) == before and "g" not in graph


def test_progress_releases_tasks_as_their_dependencies_finish() -> None:
    progress = DagProgress(dagmod.build_dag(DIAMOND))
    assert progress.pop_ready() == "a"
    assert not progress.has_ready()
    assert progress.finish("a") == ["b", "c"]
    # b leads the longer path (4 against 2), so it comes out first.
    assert [progress.pop_ready(), progress.pop_ready()] == ["b", "c"]
    assert progress.finish("c") == []
    assert progress.finish("b") == ["d"]
    assert progress.pop_ready() == "d"
    assert progress.unsettled() == []


def test_progress_keys_chain_content_addresses() -> None:
    progress = DagProgress(dagmod.build_dag(DIAMOND))
    a = task_key(spec("a"), {})
    b = task_key(spec("b", "a", estimate=3.0), {"a": a})
    assert (progress.key("a"), progress.key("b")) == (a, b)
    keys = progress.keys()
    assert list(keys) == ["a", "b", "c", "d"] and len(set(keys.values())) == 4
    d = task_key(spec("d", "b", "c"), {"b": b, "c": keys["c"]})
    assert DagProgress(dagmod.build_dag(DIAMOND)).key("d") == d


def test_progress_gives_up_every_waiting_descendant_of_a_failure() -> None:
    progress = DagProgress(dagmod.build_dag(DIAMOND))
    progress.pop_ready()
    progress.finish("a")
    progress.pop_ready()
    assert progress.give_up("b") == ["d"]
    assert progress.pop_ready() == "c"
    assert progress.finish("c") == []
    assert progress.unsettled() == []


def test_progress_adds_tasks_and_raises_the_priorities_they_extend() -> None:
    progress = DagProgress(dagmod.build_dag(plan(spec("a"), spec("b"), spec("c"))))
    assert progress.pop_ready() == "a"
    added, blocked = progress.add([spec("x", "c", estimate=5.0), spec("y", "a")])
    assert (added, blocked) == (["x", "y"], [])
    assert progress.priorities["c"] == 6.0
    # c now leads a longer path than b, so it jumps ahead of it.
    assert progress.pop_ready() == "c"
    assert progress.finish("a") == ["y"]
    assert progress.pop_ready() == "b"
    assert progress.finish("c") == ["x"]
    assert progress.key("x") == task_key(spec("x", "c", estimate=5.0), {"c": progress.key("c")})


def test_progress_gives_up_new_tasks_that_depend_on_a_given_up_task() -> None:
    progress = DagProgress(dagmod.build_dag(plan(spec("a"), spec("b"))))
    progress.pop_ready()
    progress.give_up("a")
    _, blocked = progress.add([spec("x", "a"), spec("y", "x"), spec("z", "b")])
    assert blocked == ["x", "y"]
    assert progress.unsettled() == ["b", "z"]
    with pytest.raises(PlanError):
        progress.add([spec("x")])


# -- boundaries and the cycle report -------------------------------------------------------


def test_two_tasks_sharing_an_id_are_reported() -> None:
    problems = dagmod.validate_plan(plan(spec("a"), spec("a")))
    assert problems == [
        "task id 'a' is used by 2 tasks; task ids must be unique; rename all but one of them"
    ]


def test_a_plan_exactly_at_the_task_limit_is_valid() -> None:
    assert dagmod.validate_plan(plan(spec("a"), spec("b")), max_tasks=2) == []
    graph = dagmod.build_dag(plan(spec("a"), spec("b")), max_tasks=2)
    assert dagmod.add_tasks(graph, [spec("c")], max_tasks=3) == ["c"]
    with pytest.raises(PlanError, match="the new tasks cannot be added to the task DAG"):
        dagmod.add_tasks(graph, [spec("d")], max_tasks=3)


def test_no_known_kinds_at_all_says_none() -> None:
    problems = dagmod.validate_plan(plan(spec("a")), known_kinds=())
    assert problems == [
        "task 'a' has unknown kind 'research'; known kinds: (none); use one of them"
    ]


def test_build_dag_and_add_tasks_check_kinds() -> None:
    with pytest.raises(PlanError) as info:
        dagmod.build_dag(plan(spec("a", kind="dance")), known_kinds={"research"})
    assert info.value.problems == [
        "task 'a' has unknown kind 'dance'; known kinds: research; use one of them"
    ]
    graph = dagmod.build_dag(plan(spec("a")), known_kinds={"research"})
    with pytest.raises(PlanError) as added:
        dagmod.add_tasks(graph, [spec("b", "a", kind="dance")], known_kinds={"research"})
    assert str(added.value).startswith("the new tasks cannot be added to the task DAG")
    assert added.value.problems == [
        "task 'b' has unknown kind 'dance'; known kinds: research; use one of them"
    ]


def test_cycles_are_reported_in_order_of_their_smallest_id() -> None:
    # x's cycle comes after a's in networkx's order here: the report sorts them.
    problems = dagmod.validate_plan(
        plan(spec("x", "y", "a"), spec("y", "x"), spec("a", "b"), spec("b", "a"))
    )
    assert [p.split(" (")[0] for p in problems] == [
        "tasks form a cycle a → b → a",
        "tasks form a cycle x → y → x",
    ]


def test_a_task_that_only_depends_on_a_cycle_is_not_part_of_it() -> None:
    problems = dagmod.validate_plan(plan(spec("a", "b"), spec("b", "a"), spec("c", "a")))
    assert problems == [
        "tasks form a cycle a → b → a (each arrow points from a task to one that depends on "
        "it); a plan must be acyclic; remove one of these dependencies"
    ]


def test_the_cycle_shown_is_searched_from_the_smallest_id() -> None:
    # Two cycles share b: a → c → b ... and b → d → b; the one through 'a' is shown.
    problems = dagmod.validate_plan(
        plan(spec("d", "b"), spec("c", "a", "b"), spec("a", "c"), spec("b", "d", "c"))
    )
    assert [p.split(" (")[0] for p in problems] == ["tasks form a cycle a → c → a"]


def test_a_self_dependency_inside_a_cycle_is_reported_apart_from_the_cycle() -> None:
    problems = dagmod.validate_plan(plan(spec("a", "a", "b"), spec("b", "a")))
    assert [p.split(";")[0] for p in problems] == [
        "task 'a' depends on itself",
        "tasks form a cycle a → b → a (each arrow points from a task to one that depends on it)",
    ]


def test_a_cycle_beside_a_missing_dependency_is_still_found() -> None:
    problems = dagmod.validate_plan(plan(spec("a", "ghost", "b"), spec("b", "a")))
    assert [p.split(" (")[0].split(",")[0] for p in problems] == [
        "task 'a' depends on 'ghost'",
        "tasks form a cycle a → b → a",
    ]


ACYCLIC_CASES = [
    plan(spec("a")),
    plan(spec("a"), spec("b", "a"), spec("c", "a", "b"), spec("d", "c")),
    # Diamonds and long chains: each task settles only once all its dependencies have.
    plan(spec("a"), spec("b", "a"), spec("c", "a"), spec("d", "b", "c"), spec("e", "d", "a")),
    plan(*(spec(f"t{i}", *([f"t{i - 1}"] if i else [])) for i in range(6))),
    # Dependencies that are problems of their own do not make a cycle.
    plan(spec("a", "a"), spec("b", "a")),
    plan(spec("a", "ghost"), spec("b", "a", "ghost")),
    plan(spec("a"), spec("a"), spec("b", "a")),
]
CYCLIC_CASES = [
    plan(spec("a", "b"), spec("b", "a")),
    plan(spec("a", "c"), spec("b", "a"), spec("c", "b")),
    plan(spec("r"), spec("a", "r", "b"), spec("b", "a"), spec("z", "a")),
    plan(spec("a", "a", "b"), spec("b", "a")),
    plan(spec("a"), spec("a", "b"), spec("b", "a")),
    # Tasks sharing an id act as one node: its dependencies are those of all of them.
    plan(spec("a", "b"), spec("a"), spec("b", "a")),
]


@pytest.mark.parametrize("tasks", ACYCLIC_CASES)
def test_the_fast_acyclicity_check_passes_acyclic_plans(tasks: TaskPlan) -> None:
    # The fast check spares acyclic plans the networkx analysis: it must say so for them.
    assert dagmod._is_acyclic(tasks.tasks)


@pytest.mark.parametrize("tasks", CYCLIC_CASES)
def test_the_fast_acyclicity_check_catches_every_cycle(tasks: TaskPlan) -> None:
    assert not dagmod._is_acyclic(tasks.tasks)
    assert any("form a cycle" in p for p in dagmod.validate_plan(tasks))


def test_critical_path_of_an_empty_dag_is_zero() -> None:
    assert dagmod.critical_path_length(nx.DiGraph()) == 0.0
    assert dagmod._is_acyclic([])


def test_critical_path_takes_the_longest_branch() -> None:
    graph = dagmod.build_dag(
        plan(spec("a", estimate=0.0), spec("b", "a", estimate=0.5), spec("c", "a", estimate=2.0))
    )
    assert dagmod.critical_path_priorities(graph) == {"a": 2.0, "b": 0.5, "c": 2.0}
    assert dagmod.critical_path_length(graph) == 2.0


def test_progress_starts_the_roots_with_the_longest_path_first() -> None:
    progress = DagProgress(
        dagmod.build_dag(plan(spec("a"), spec("b", estimate=3.0), spec("c", estimate=2.0)))
    )
    assert progress.has_ready()
    assert [progress.pop_ready() for _ in range(3)] == ["b", "c", "a"]
    assert not progress.has_ready()
    assert progress.spec("b").estimate == 3.0


def test_progress_releases_a_task_only_when_its_last_dependency_finishes() -> None:
    progress = DagProgress(
        dagmod.build_dag(plan(spec("a"), spec("b"), spec("c"), spec("d", "a", "b", "c")))
    )
    assert progress.finish("a") == []
    assert progress.finish("b") == []
    assert progress.finish("c") == ["d"]


def test_progress_finishing_skips_a_dependent_that_was_given_up() -> None:
    progress = DagProgress(
        dagmod.build_dag(plan(spec("a"), spec("x"), spec("b", "a", "x"), spec("c", "a")))
    )
    assert progress.give_up("x") == ["b"]
    assert progress.finish("a") == ["c"]
    assert progress.unsettled() == ["c"]


def test_progress_new_tasks_on_finished_ones_are_ready_at_once_best_first() -> None:
    progress = DagProgress(dagmod.build_dag(plan(spec("a"), spec("b"))))
    assert progress.pop_ready() == "a"
    assert progress.finish("a") == []
    added, blocked = progress.add(
        [spec("x", "a"), spec("y", "a", estimate=4.0), spec("z", "y", estimate=2.0)]
    )
    assert (added, blocked) == (["x", "y", "z"], [])
    # y leads y -> z (4 + 2); its priority adds its successors' tail.
    assert (progress.priorities["y"], progress.priorities["z"]) == (6.0, 2.0)
    assert progress.priorities["a"] == 7.0
    assert [progress.pop_ready(), progress.pop_ready(), progress.pop_ready()] == ["y", "b", "x"]
    assert not progress.has_ready()
    assert progress.finish("y") == ["z"]


def test_progress_add_checks_the_kinds() -> None:
    progress = DagProgress(dagmod.build_dag(plan(spec("a"))))
    with pytest.raises(PlanError, match="unknown kind 'dance'"):
        progress.add([spec("x", "a", kind="dance")], known_kinds={"research"})
    assert progress.add([spec("x", "a")], known_kinds={"research"}) == (["x"], [])
