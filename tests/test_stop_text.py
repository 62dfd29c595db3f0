"""Stop strings over token pieces: what is released, what is held back, what is cut."""

from __future__ import annotations

from orchestrator.models.stop_text import StopWindow


def feed(window: StopWindow[int], pieces: list[str]) -> list[tuple[str, int]]:
    released: list[tuple[str, int]] = []
    for i, piece in enumerate(pieces):
        released += window.add(piece, i)
        if window.stopped:
            return released
    return released + window.finish()


def test_without_stops_every_piece_is_released_at_once() -> None:
    window: StopWindow[int] = StopWindow()
    assert window.add("Hello", 0) == [("Hello", 0)]
    assert window.add(" world", 1) == [(" world", 1)]
    assert window.finish() == []
    assert window.text == "Hello world"


def test_stop_inside_a_piece_cuts_it() -> None:
    window: StopWindow[int] = StopWindow(["."])
    assert feed(window, ["One", " two. Three", " four"]) == [("One", 0), (" two", 1)]
    assert window.stopped and window.text == "One two"


def test_stop_spanning_pieces_is_held_back_then_dropped() -> None:
    window: StopWindow[int] = StopWindow(["\n\n"])
    assert window.add("Answer:", 0) == [("Answer:", 0)]
    assert window.add(" yes\n", 1) == []  # may begin the stop string
    assert window.add("\nmore", 2) == [(" yes", 1)]
    assert window.stopped and window.text == "Answer: yes"


def test_held_piece_is_released_when_the_stop_does_not_follow() -> None:
    window: StopWindow[int] = StopWindow(["END"])
    assert window.add("the E", 0) == []
    assert window.add("ND", 1) == [("the ", 0)]
    assert window.stopped and window.text == "the "
    other: StopWindow[int] = StopWindow(["END"])
    assert other.add("the E", 0) == []
    assert other.add("gg", 1) == [("the E", 0), ("gg", 1)]


def test_pieces_after_a_stop_are_ignored_and_text_ends_before_it() -> None:
    window: StopWindow[int] = StopWindow(["stop", "halt"])
    released = feed(window, ["go ", "on, ", "then halt", " and stop"])
    assert released == [("go ", 0), ("on, ", 1), ("then ", 2)]
    assert window.add("more", 9) == []
    assert window.text == "go on, then "


def test_earliest_of_several_stops_wins() -> None:
    window: StopWindow[int] = StopWindow(["b", "abc"])
    assert feed(window, ["xxabc"]) == [("xx", 0)]


def test_finish_releases_a_held_tail_and_empty_pieces_pass_through() -> None:
    window: StopWindow[int] = StopWindow(["</s>"])
    assert window.add("", 0) == [("", 0)]
    assert window.add("tail <", 1) == []
    assert window.finish() == [("tail <", 1)]
    assert window.text == "tail <"
