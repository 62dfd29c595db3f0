"""Chain-of-Agents' pure parts: chunking at boundaries, notes, read pages, prompts."""

from __future__ import annotations

import itertools
import random

import pytest

from agents.strategies.chain_chunks import (
    NO_EVIDENCE,
    NOTHING_RELEVANT,
    chain_prompt,
    check_chunking,
    is_relevant,
    manager_prompt,
    read_page,
    relevant_notes,
    sequential_prompt,
    split_chunks,
    worker_prompt,
)


def test_a_text_that_fits_is_one_chunk_and_one_more_character_makes_two() -> None:
    text = "a" * 10 + " " + "b" * 9  # 20 characters, a space at the half
    assert split_chunks(text, 20) == [text]
    assert split_chunks(text + "c", 20) == ["a" * 10, "b" * 9 + "c"]


def test_blank_text_gives_no_chunk() -> None:
    assert split_chunks("  \n\n ", 100) == []


def test_chunks_end_at_the_best_boundary_in_their_second_half() -> None:
    text = "one two.\n\nthree four. five six seven eight"
    chunks = split_chunks(text, 16)
    assert chunks[0] == "one two."
    assert all(len(c) <= 16 for c in chunks)
    # A sentence end beats a word boundary when both are in the second half.
    assert split_chunks("aaaa. bb cc dd ee ff", 12)[0] == "aaaa. bb cc"
    assert split_chunks("aaaaaaa. bb cc dd ee", 12)[0] == "aaaaaaa."


def test_a_boundary_in_the_first_half_is_not_used() -> None:
    # The only space is at position 2 (< 10 // 2): the chunk is cut at the limit.
    assert split_chunks("ab cdefghijklmnop", 10) == ["ab cdefghi", "jklmnop"]


def test_a_word_longer_than_a_chunk_is_cut_at_the_limit() -> None:
    assert split_chunks("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_overlap_repeats_the_end_of_a_chunk_at_a_word_start() -> None:
    text = " ".join(f"w{i:02d}" for i in range(20))  # 79 characters
    chunks = split_chunks(text, 24, overlap_chars=8)
    for first, second in itertools.pairwise(chunks):
        assert second.split()[0] == first.split()[-1]
    assert chunks[-1].endswith("w19")
    plain = split_chunks(text, 24)
    for first, second in itertools.pairwise(plain):
        assert not set(first.split()) & set(second.split())


@pytest.mark.parametrize("seed", range(40))
def test_chunks_never_pass_the_limit_and_keep_every_word(seed: int) -> None:
    rng = random.Random(seed)
    text = "".join(rng.choice("abc .\n") for _ in range(rng.randint(0, 400)))
    size = rng.randint(2, 60)
    chunks = split_chunks(text, size)
    assert all(0 < len(c) <= size for c in chunks)
    assert "".join("".join(c.split()) for c in chunks) == "".join(text.split())


def test_chunking_settings_are_checked() -> None:
    check_chunking(10, 4)
    check_chunking(1, 0)
    with pytest.raises(ValueError, match="under half"):
        check_chunking(10, 5)
    with pytest.raises(ValueError, match="under half"):
        check_chunking(10, -1)
    with pytest.raises(ValueError, match=">= 1"):
        check_chunking(0, 0)


@pytest.mark.parametrize(
    ("note", "relevant"),
    [
        ("NOTHING RELEVANT", False),
        ("nothing relevant.", False),
        ("  **Nothing relevant**  ", False),
        ("", False),
        ("   ", False),
        ("Nothing relevant here except the year 1999.", True),
        ("The part says 42.", True),
    ],
)
def test_notes_saying_nothing_relevant_are_dropped(note: str, relevant: bool) -> None:
    assert is_relevant(note) is relevant


def test_relevant_notes_keep_chunk_order_and_indices() -> None:
    notes = [NOTHING_RELEVANT, " fact A ", None, "fact B", ""]
    assert relevant_notes(notes) == [(1, "fact A"), (3, "fact B")]


def test_read_pages_give_the_body_and_the_next_offset() -> None:
    first = (
        "[d1] Title (characters 0-5 of 10)\n\nhello\n\n"
        "[5 more characters: read(doc_id='d1', offset=5)]"
    )
    last = "[d1] Title (characters 5-10 of 10)\n\nworld\n\n[end of document]"
    assert read_page(first) == ("hello", 5)
    assert read_page(last) == ("world", None)
    assert read_page("plain text from another tool") == ("plain text from another tool", None)


def test_prompts_carry_the_question_the_chunk_and_the_summary() -> None:
    worker = worker_prompt(" Q? ", "CHUNK", 2, 5)
    assert "part 2 of 5" in worker and "CHUNK" in worker and "Q?" in worker
    assert NOTHING_RELEVANT in worker
    link = chain_prompt("Q?", "SUMMARY", "NOTE", 3, 5)
    assert "SUMMARY" in link and "NOTE" in link and "part 3 of 5" in link
    assert NO_EVIDENCE in sequential_prompt("Q?", "CHUNK", "", 1, 2)
    assert "OLD" in sequential_prompt("Q?", "CHUNK", "OLD", 2, 2)
    assert NO_EVIDENCE in manager_prompt("Q?", "")
    assert "EVIDENCE" in manager_prompt("Q?", "EVIDENCE")
