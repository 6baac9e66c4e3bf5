"""Chunks keep to the token budget, end on paragraph or sentence breaks, and overlap."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from powerstrip.errors import ConfigError
from powerstrip.retrieval import chunk_text, count_tokens


def _paragraph(label: str, sentences: int) -> str:
    return " ".join(f"{label} sentence {i} has six tokens." for i in range(sentences))


def test_a_short_text_is_one_chunk_spanning_it() -> None:
    [chunk] = chunk_text("Hello there. How are you?")
    assert (chunk.position, chunk.text, chunk.char_start, chunk.char_end) == (
        0,
        "Hello there. How are you?",
        0,
        25,
    )
    assert chunk.token_count == 7


def test_chunks_keep_to_the_budget_and_end_on_sentence_breaks() -> None:
    text = _paragraph("Alpha", 30)
    chunks = chunk_text(text, max_tokens=40, overlap=0)
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.token_count <= 40
        assert count_tokens(chunk.text) == chunk.token_count
        assert chunk.text.endswith(".")
        assert text[chunk.char_start : chunk.char_end] == chunk.text
    assert [c.position for c in chunks] == list(range(len(chunks)))


def test_a_chunk_ends_at_a_paragraph_break_when_the_next_paragraph_does_not_fit() -> None:
    text = _paragraph("Alpha", 4) + "\n\n" + _paragraph("Beta", 4)  # 28 tokens each
    chunks = chunk_text(text, max_tokens=40, overlap=0)
    assert [c.text for c in chunks] == [_paragraph("Alpha", 4), _paragraph("Beta", 4)]


def test_each_chunk_repeats_the_last_sentences_of_the_one_before() -> None:
    chunks = chunk_text(_paragraph("Alpha", 12), max_tokens=40, overlap=14)
    for before, after in itertools.pairwise(chunks):
        assert after.char_start < before.char_end  # they overlap ...
        assert after.char_start > before.char_start  # ... and each moves on


def test_a_sentence_longer_than_the_budget_is_cut_between_words() -> None:
    text = " ".join(f"w{i}" for i in range(25))
    chunks = chunk_text(text, max_tokens=10, overlap=0)
    assert [c.token_count for c in chunks] == [10, 10, 5]
    assert " ".join(c.text for c in chunks) == text


@pytest.mark.parametrize(("budget", "overlap"), [(0, 0), (10, 10), (10, -1)])
def test_a_bad_budget_or_overlap_is_refused(budget: int, overlap: int) -> None:
    with pytest.raises(ConfigError, match="POWERSTRIP_RETRIEVAL_CHUNK"):
        chunk_text("text", max_tokens=budget, overlap=overlap)


# No deadline: on a loaded machine one example may take longer, which says nothing of chunking.
@settings(deadline=None)
@given(st.text(alphabet=st.sampled_from("ab .!?\n"), max_size=400), st.integers(5, 30))
def test_every_token_of_the_text_is_in_some_chunk(text: str, budget: int) -> None:
    chunks = chunk_text(text, max_tokens=budget, overlap=budget // 3)
    covered = set()
    for chunk in chunks:
        assert chunk.token_count <= budget or " " not in chunk.text.strip()
        covered.update(range(chunk.char_start, chunk.char_end))
    for index, character in enumerate(text):
        if not character.isspace():
            assert index in covered
