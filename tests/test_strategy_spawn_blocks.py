"""Parallel-block detection (tags and spawn), streamed detection, fork and join contexts."""

from __future__ import annotations

import json

import pytest

from agents.strategies.spawn_blocks import (
    ParallelBlockDetector,
    find_parallel_block,
    fork_context,
    join_paths,
)

TAGS = (
    "We need both factors.\n"
    "<Parallel>\n<Goal>\n<Outline>1: factor 91</Outline>\n<Outline>2: factor 77</Outline>\n"
    "</Goal>\n<Path>\n1: Factor 91.\n</Path>\n<Path>\n2: Factor 77.\n</Path>\n</Parallel>\n"
    "So the common factor is 7."
)


def test_find_complete_tag_block() -> None:
    block = find_parallel_block(TAGS)
    assert block is not None
    assert block.style == "tags"
    assert block.prefix == "We need both factors.\n"
    assert block.outlines == ["1: factor 91", "2: factor 77"]
    assert block.goal is not None and block.goal.startswith("<Outline>1: factor 91")
    assert block.paths == ["1: Factor 91.", "2: Factor 77."]
    assert block.complete and block.ready and not block.concluding
    assert TAGS[block.end :] == "\nSo the common factor is 7."


def test_open_block_is_incomplete_with_closed_paths_only() -> None:
    block = find_parallel_block("Intro <parallel><Path>a</Path><Path>b")
    assert block is not None
    assert block.paths == ["a"]
    assert not block.complete and not block.ready


def test_conclusion_marks_the_paths_final() -> None:
    text = "x<Parallel><Path>a</Path><Path>b</Path><Conclusion>so"
    block = find_parallel_block(text)
    assert block is not None
    assert block.concluding and block.ready and not block.complete
    assert block.paths == ["a", "b"]
    assert text[block.end :] == "<Conclusion>so"


def test_outlines_become_paths_when_no_path_is_written() -> None:
    block = find_parallel_block(
        "<Parallel><Goal><Outline>p</Outline><Outline>q</Outline></Goal></Parallel>"
    )
    assert block is not None and block.paths == ["p", "q"]


def test_no_block() -> None:
    assert find_parallel_block("Plain reasoning, no parallel section.") is None
    assert find_parallel_block("spawn(42) and respawn(['x'])") is None


@pytest.mark.parametrize(
    ("call", "paths"),
    [
        ('spawn(["check case n=1", "check case n=2"])', ["check case n=1", "check case n=2"]),
        ("spawn('a', 'b')", ["a", "b"]),
        ('spawn(msgs=("one (with parens)", "two"))', ["one (with parens)", "two"]),
    ],
)
def test_spawn_calls(call: str, paths: list[str]) -> None:
    text = f"Let me split this.\n{call}\nafter"
    block = find_parallel_block(text)
    assert block is not None
    assert block.style == "spawn" and block.complete and block.ready
    assert block.paths == paths
    assert block.prefix == "Let me split this.\n"
    assert text[block.end :] == "\nafter"


def test_invalid_spawn_is_skipped_for_a_later_one() -> None:
    block = find_parallel_block("spawn(x) then spawn(['y'])")
    assert block is not None and block.paths == ["y"]
    assert find_parallel_block('spawn(["unfinished"') is not None
    assert find_parallel_block("spawn(['a'])", styles=("tags",)) is None


def test_streamed_detection_fires_exactly_when_the_closing_tag_arrives() -> None:
    detector = ParallelBlockDetector()
    close_end = TAGS.index("</Parallel>") + len("</Parallel>")
    fired_at = None
    for position, char in enumerate(TAGS):
        block = detector.feed(char)
        if block is not None:
            assert fired_at is None
            fired_at = position
            assert block.paths == ["1: Factor 91.", "2: Factor 77."]
    assert fired_at == close_end - 1
    assert detector.block is not None and detector.block.complete


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 50])
def test_streamed_spawn_detection(chunk_size: int) -> None:
    text = 'Think. spawn(["a)", "b"]) more text'
    detector = ParallelBlockDetector()
    found = []
    for start in range(0, len(text), chunk_size):
        block = detector.feed(text[start : start + chunk_size])
        if block is not None:
            found.append((start, block))
    assert len(found) == 1
    start, block = found[0]
    close = text.index("])") + 1
    assert start <= close < start + chunk_size
    assert block.paths == ["a)", "b"]


def test_streamed_conclusion_triggers_fork() -> None:
    detector = ParallelBlockDetector(styles=("tags",))
    assert detector.feed("<Parallel><Path>a</Path>") is None
    assert detector.feed("<Path>b</Path><Concl") is None
    block = detector.feed("usion>")
    assert block is not None and block.paths == ["a", "b"]
    assert detector.feed("</Parallel>") is None


def test_fork_contexts_share_a_head_and_join_rebuilds_the_block() -> None:
    block = find_parallel_block(TAGS)
    assert block is not None
    forks = block.fork_contexts()
    head = forks[0][: forks[0].index("<Path>")]
    assert block.head == head
    assert all(f.startswith(head) for f in forks)
    assert forks[1].endswith("<Path>\n2: Factor 77.\n")
    joined = block.join(["91 = 7 * 13</Path>", "77 = 7 * 11"])
    assert joined.startswith("We need both factors.\n<Parallel>\n<Goal>\n<Outline>")
    assert "<Path>\n1: Factor 91.\n91 = 7 * 13\n</Path>\n" in joined
    assert "<Path>\n2: Factor 77.\n77 = 7 * 11\n</Path>\n" in joined
    assert joined.endswith("<Conclusion>\n")
    assert joined.count("</Path>") == 2


def test_join_without_goal_and_spawn_join() -> None:
    assert (
        join_paths("Pre", ["a"], ["r"]) == "Pre\n<Parallel>\n<Path>\na\nr\n</Path>\n<Conclusion>\n"
    )
    joined = join_paths("Pre ", ["x", "y"], ["rx ", "ry"], style="spawn")
    head, tail = joined.split("\n", 1)
    assert head == 'Pre spawn(["x", "y"])'
    assert json.loads(tail.strip().removeprefix("join(").removesuffix(")")) == ["rx", "ry"]
    assert fork_context("Pre ", "x", style="spawn") == "Pre x\n"
    spawned = find_parallel_block("Pre spawn(['x'])")
    assert spawned is not None and spawned.head == "Pre "
    with pytest.raises(ValueError, match="one result per path"):
        join_paths("", ["a", "b"], ["r"])


def test_an_unclosed_spawn_is_an_incomplete_block() -> None:
    block = find_parallel_block('spawn("a", ')
    assert block is not None
    assert (block.style, block.complete, block.paths, block.ready) == ("spawn", False, [], False)


def test_only_tags_after_the_opening_one_count() -> None:
    # A stray closing tag before the block does not close it.
    block = find_parallel_block("x </Parallel> y <Parallel><Path>a</Path>")
    assert block is not None
    assert (block.prefix, block.paths, block.complete, block.end) == (
        "x </Parallel> y ",
        ["a"],
        False,
        40,
    )
    # A conclusion after the closing tag is not the block's.
    closed = find_parallel_block("<Parallel><Path>a</Path></Parallel> <Conclusion>")
    assert closed is not None
    assert (closed.complete, closed.concluding, closed.end) == (True, False, 35)
    # Paths after the closing tag, or inside the goal, are not the block's paths.
    later = find_parallel_block("<Parallel><Path>a</Path></Parallel> later <Path>b</Path>")
    assert later is not None and later.paths == ["a"]
    example = "<Parallel><Goal>Answer like <Path>this</Path></Goal><Path>a</Path></Parallel>"
    in_goal = find_parallel_block(example)
    assert in_goal is not None and in_goal.paths == ["a"]


def test_a_spawn_block_forks_and_joins_in_its_own_notation() -> None:
    block = find_parallel_block('Go: spawn(["é", "b"])')
    assert block is not None
    assert block.fork_contexts() == ["Go: é\n", "Go: b\n"]
    assert block.join(["ü", "x"]) == 'Go: spawn(["é", "b"])\njoin(["ü", "x"])\n'


def test_a_result_ending_with_a_lowercase_closing_tag_is_cleaned() -> None:
    assert (
        join_paths("", ["p"], ["r </path>"]) == "<Parallel>\n<Path>\np\nr\n</Path>\n<Conclusion>\n"
    )
    with pytest.raises(ValueError) as caught:
        join_paths("", ["a", "b"], ["r"])
    assert str(caught.value) == (
        "join_paths got 2 paths but 1 results; pass one result per path, in order"
    )


def test_the_detector_starts_empty_and_keeps_to_its_styles() -> None:
    detector = ParallelBlockDetector()
    block = detector.feed("<Parallel><Path>a</Path></Parallel>")
    assert block is not None and block.prefix == ""
    assert ParallelBlockDetector(("tags",)).feed('spawn("a")') is None
