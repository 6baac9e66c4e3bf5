"""Documents go in whole, search finds them, collections never mix, delete is final."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.errors import EmbeddingError, IngestError, SearchError
from powerstrip.retrieval import (
    Filter,
    HnswIndex,
    OnnxEmbedder,
    OpenAIEmbedder,
    Query,
    Retriever,
    Scope,
)
from powerstrip.store import Chunk, Document
from tests.retrieval.conftest import EmbeddingsServer
from tests.retrieval.files import write_docx, write_pdf

pytestmark = pytest.mark.anyio

Sessions = async_sessionmaker[AsyncSession]

NOTES = {
    "garden": "The tomatoes in the garden need water every morning in July.",
    "car": "The car's brake pads were replaced at the garage on Main Street.",
    "bank": "My savings account interest rate went up to four percent this year.",
}


async def _add_notes(retriever: Retriever, scope: Scope) -> None:
    for key, note in NOTES.items():
        await retriever.add_text(scope, key, note, source="note", author=f"author-{key}")


async def _top(retriever: Retriever, scope: Scope, query: str, **options: object) -> list[str]:
    [hits] = await retriever.search(scope, [Query(query, **options)])  # type: ignore[arg-type]
    return [hit.document.external_id for hit in hits]


async def _counts(sessions: Sessions) -> tuple[int, int]:
    async with sessions() as session:
        documents = await session.scalar(select(func.count(Document.id)))
        chunks = await session.scalar(select(func.count(Chunk.id)))
    return documents or 0, chunks or 0


async def test_search_finds_a_note_by_meaning_and_by_words(
    retriever: Retriever, users: tuple[Scope, Scope]
) -> None:
    ada, _ = users
    await _add_notes(retriever, ada)
    assert (await _top(retriever, ada, "when should I irrigate the vegetables?"))[0] == "garden"
    assert (await _top(retriever, ada, "brake pads"))[0] == "car"
    assert (await _top(retriever, ada, "savings interest"))[0] == "bank"


async def test_several_queries_are_answered_at_once_each_with_its_top_k(
    retriever: Retriever, users: tuple[Scope, Scope]
) -> None:
    ada, _ = users
    await _add_notes(retriever, ada)
    first, second = await retriever.search(
        ada, [Query("garage repair", top_k=1), Query("money in the bank", top_k=2)]
    )
    assert [hit.document.external_id for hit in first] == ["car"]
    assert len(second) == 2
    assert second[0].document.external_id == "bank"
    assert second[0].score >= second[1].score


async def test_files_of_every_format_are_indexed_and_found(
    retriever: Retriever, users: tuple[Scope, Scope], tmp_path: Path
) -> None:
    ada, _ = users
    pdf = write_pdf(
        tmp_path / "paper.pdf",
        ["Abstract: we measure glacier melt.", "Method: satellite radar.", "Result: faster."],
        author="Ada",
    )
    word = write_docx(tmp_path / "minutes.docx", ["The board approved the new budget."])
    page = tmp_path / "recipe.html"
    page.write_text("<h1>Pancakes</h1><p>Whisk flour, eggs and milk.</p>", encoding="utf-8")
    notes = tmp_path / "todo.md"
    notes.write_text("# Todo\n\nRenew the passport before the trip.", encoding="utf-8")
    for path in (pdf, word, page, notes):
        added = await retriever.add_file(ada, path)
        assert added.chunks >= 1
        assert added.external_id == str(path.resolve())
    assert (await _top(retriever, ada, "satellite radar glacier"))[0] == str(pdf.resolve())
    assert (await _top(retriever, ada, "budget approval"))[0] == str(word.resolve())
    assert (await _top(retriever, ada, "how to make pancakes"))[0] == str(page.resolve())
    assert (await _top(retriever, ada, "passport renewal"))[0] == str(notes.resolve())
    [hits] = await retriever.search(ada, [Query("glacier", top_k=1)])
    assert hits[0].document.author == "Ada"
    assert hits[0].document.kind == "pdf"


async def test_a_long_document_is_stored_as_ordered_chunks(
    retriever: Retriever, users: tuple[Scope, Scope], sessions: Sessions
) -> None:
    ada, _ = users
    long_text = "\n\n".join(
        f"Chapter {i}. " + " ".join(f"Line {j} of chapter {i}." for j in range(8)) for i in range(6)
    )
    added = await retriever.add_text(ada, "book", long_text)
    assert added.chunks > 3
    async with sessions() as session:
        rows = (await session.scalars(select(Chunk).order_by(Chunk.position))).all()
    assert [row.position for row in rows] == list(range(added.chunks))
    assert all(row.embedding is not None and len(row.embedding) == 384 * 4 for row in rows)
    assert all(row.embedder == "all-MiniLM-L6-v2-int8" for row in rows)


async def test_two_users_collections_never_mix(
    retriever: Retriever, users: tuple[Scope, Scope]
) -> None:
    ada, bob = users
    await retriever.add_text(ada, "secret", "Ada's locker code is written under the blue mug.")
    await retriever.add_text(bob, "other", "Bob keeps his bicycle in the shed.")
    assert await _top(retriever, bob, "locker code blue mug", top_k=10) == ["other"]
    assert await _top(retriever, ada, "bicycle shed", top_k=10) == ["secret"]
    # Same external id in both collections: two documents, neither replaces the other.
    await retriever.add_text(bob, "secret", "Bob's own note about a secret recipe.")
    assert await _top(retriever, ada, "secret recipe", top_k=10) == ["secret"]
    [[hit]] = await retriever.search(ada, [Query("recipe", top_k=1)])
    assert "Ada" in hit.text
    # Another collection of the same user is separate too.
    work = Scope(ada.user_id, "work")
    assert await _top(retriever, work, "locker code") == []


async def test_delete_removes_the_text_vectors_and_index_entries(
    retriever: Retriever, users: tuple[Scope, Scope], sessions: Sessions
) -> None:
    ada, _ = users
    await _add_notes(retriever, ada)
    assert await retriever.delete(ada, Filter(external_ids=("car",))) == 1
    assert "car" not in await _top(retriever, ada, "brake pads garage", top_k=10)
    async with sessions() as session:
        texts = (await session.scalars(select(Chunk.text))).all()
        assert not any("brake" in t for t in texts)
        if session.get_bind().dialect.name == "sqlite":
            matches = await session.scalar(
                text("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH 'brake'")
            )
            assert matches == 0
    held = retriever._partitions[ada].index.ids()  # the in-memory index let the vectors go
    assert len(held) == len(NOTES) - 1
    assert await retriever.delete(ada) == 2
    assert await _top(retriever, ada, "tomatoes", top_k=10) == []
    assert await _counts(sessions) == (0, 0)


async def test_adding_a_document_again_replaces_it_and_unchanged_content_is_skipped(
    retriever: Retriever, users: tuple[Scope, Scope], sessions: Sessions
) -> None:
    ada, _ = users
    await retriever.add_text(ada, "note", "The meeting is on Monday.")
    again = await retriever.add_text(ada, "note", "The meeting is on Monday.")
    assert again.skipped
    await retriever.add_text(ada, "note", "The meeting moved to Thursday.")
    assert await _counts(sessions) == (1, 1)
    [[hit]] = await retriever.search(ada, [Query("meeting day", top_k=5)])
    assert hit.text == "The meeting moved to Thursday."


@pytest.mark.parametrize(
    ("name", "content"),
    [("empty.txt", b""), ("broken.pdf", b"%PDF-1.7\n%%EOF garbage"), ("sheet.xlsx", b"PK")],
)
async def test_a_bad_file_changes_nothing(
    retriever: Retriever,
    users: tuple[Scope, Scope],
    sessions: Sessions,
    tmp_path: Path,
    name: str,
    content: bytes,
) -> None:
    ada, _ = users
    await retriever.add_text(ada, "keep", "A note that must survive.")
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IngestError) as caught:
        await retriever.add_file(ada, path)
    assert caught.value.where == str(path)
    assert await _counts(sessions) == (1, 1)


async def test_a_file_above_the_cap_changes_nothing(
    retriever: Retriever, users: tuple[Scope, Scope], sessions: Sessions, tmp_path: Path
) -> None:
    ada, _ = users
    path = tmp_path / "huge.txt"
    path.write_text("words " * 10_000, encoding="utf-8")
    with pytest.raises(IngestError, match="above the 50000-byte cap"):
        await retriever.add_file(ada, path)
    assert await _counts(sessions) == (0, 0)


async def test_filters_apply_before_ranking(
    retriever: Retriever, users: tuple[Scope, Scope]
) -> None:
    ada, _ = users
    await _add_notes(retriever, ada)
    # The garden note is the best match, but only the car's author may answer: it still does.
    only_car = Filter(author="author-car")
    assert await _top(retriever, ada, "tomatoes need water", top_k=1, where=only_car) == ["car"]
    assert await _top(retriever, ada, "tomatoes", where=Filter(source="email")) == []
    old = datetime(2001, 1, 1, tzinfo=UTC)
    await retriever.add_text(ada, "diary", "Tomatoes again, long ago.", created_at=old)
    recent = Filter(start_date=datetime(2020, 1, 1, tzinfo=UTC))
    assert await _top(retriever, ada, "tomatoes", where=recent) == []
    assert await _top(retriever, ada, "tomatoes", where=Filter(end_date=old)) == ["diary"]


async def test_each_part_of_a_question_of_several_sentences_finds_its_passage(
    retriever: Retriever, users: tuple[Scope, Scope]
) -> None:
    ada, _ = users
    await _add_notes(retriever, ada)
    await retriever.add_text(ada, "dentist", "The dentist appointment is on Friday at noon.")
    question = (
        "Could you help me with two things? First, when do I see the dentist? "
        "Second, has the interest on my savings changed?"
    )
    assert set(await _top(retriever, ada, question, top_k=2)) == {"dentist", "bank"}


async def test_every_candidate_is_scored_by_both_rankers(
    retriever: Retriever, users: tuple[Scope, Scope]
) -> None:
    ada, _ = users
    await _add_notes(retriever, ada)
    [(lexical, vector)] = await retriever.candidates(ada, [Query("brake pads")])
    # Only the car note shares a word; every note is a vector candidate, and has a cosine.
    assert len(lexical) == 1
    assert set(lexical) <= set(vector)
    assert len(vector) == len(NOTES)
    [hits] = await retriever.search(ada, [Query("brake pads", top_k=3)])
    assert hits[0].document.external_id == "car"
    assert hits[0].score == pytest.approx(1.0)  # the best of both rankers
    assert all(0.0 <= hit.score <= 1.0 for hit in hits)


async def test_the_vector_weight_is_checked(sessions: Sessions, embedder: OnnxEmbedder) -> None:
    with pytest.raises(ValueError, match="vector_weight"):
        Retriever(sessions, embedder, vector_weight=-0.1)


async def test_lexical_only_mode_searches_by_words(
    sessions: Sessions, users: tuple[Scope, Scope]
) -> None:
    ada, bob = users
    retriever = Retriever(sessions, None)
    await _add_notes(retriever, ada)
    assert (await _top(retriever, ada, "garage brake"))[0] == "car"
    assert await _top(retriever, ada, "irrigate vegetables") == []  # no shared word
    assert await _top(retriever, bob, "garage brake") == []
    assert await _top(retriever, ada, 'NEAR("brake" OR) * :') == ["car"]  # syntax is text


async def test_another_worker_sees_the_writes_of_this_one(
    sessions: Sessions, embedder: OnnxEmbedder, users: tuple[Scope, Scope]
) -> None:
    ada, _ = users
    one, two = Retriever(sessions, embedder), Retriever(sessions, embedder)
    await one.add_text(ada, "a", "Penguins live in the southern hemisphere.")
    await two.start()
    assert len(two._partitions[ada].index) == 1  # built from the store at start
    await one.add_text(ada, "b", "Polar bears hunt seals on Arctic ice.")
    assert (await _top(two, ada, "arctic predators"))[0] == "b"
    await one.delete(ada, Filter(external_ids=("b",)))
    assert "b" not in await _top(two, ada, "arctic predators")
    assert two._partitions[ada].index.ids() == one._partitions[ada].index.ids()
    # A delete and an add between two searches leave the count as it was: still noticed.
    await one.delete(ada, Filter(external_ids=("a",)))
    await one.add_text(ada, "c", "Camels store fat in their humps.")
    assert await _top(two, ada, "penguins", top_k=10) == ["c"]
    assert two._partitions[ada].index.ids() == one._partitions[ada].index.ids()


async def test_a_top_k_out_of_range_is_refused(
    retriever: Retriever, users: tuple[Scope, Scope]
) -> None:
    ada, _ = users
    with pytest.raises(SearchError, match="top_k must be from 1 to 100"):
        await retriever.search(ada, [Query("x", top_k=0)])


async def test_a_failing_embedder_leaves_the_stored_document_as_it_was(
    sessions: Sessions, users: tuple[Scope, Scope], endpoint: tuple[EmbeddingsServer, str]
) -> None:
    ada, _ = users
    server, base_url = endpoint
    retriever = Retriever(sessions, OpenAIEmbedder(base_url, "embed-small", None))
    try:
        await retriever.add_text(ada, "note", "The first version of the note.")
        server.fail_with = 422
        with pytest.raises(EmbeddingError, match="HTTP 422"):
            await retriever.add_text(ada, "note", "A second version that never arrives.")
        server.fail_with = None
        [[hit]] = await retriever.search(ada, [Query("version of the note")])
    finally:
        await retriever.aclose()
    assert hit.text == "The first version of the note."
    assert await _counts(sessions) == (1, 1)


@pytest.mark.parametrize("index", ["hnsw", "auto"])
async def test_the_hnsw_index_answers_searches_and_deletes_like_the_exact_one(
    sessions: Sessions, embedder: OnnxEmbedder, users: tuple[Scope, Scope], index: str
) -> None:
    # auto with a threshold of 2 vectors: the collection moves to HNSW as it grows.
    retriever = Retriever(sessions, embedder, index=index, hnsw_min_vectors=2)
    ada, bob = users
    await _add_notes(retriever, ada)
    await retriever.add_text(bob, "bob", "Bob's tomatoes are red.")
    assert isinstance(retriever._partitions[ada].index, HnswIndex)
    assert (await _top(retriever, ada, "when should I irrigate the vegetables?"))[0] == "garden"
    assert await _top(retriever, ada, "garden", where=Filter(author="author-car")) == ["car"]
    assert "bob" not in await _top(retriever, ada, "red tomatoes", top_k=10)
    await retriever.delete(ada, Filter(external_ids=("garden",)))
    assert "garden" not in await _top(retriever, ada, "tomatoes water", top_k=10)
    # A new process builds its indexes from the store.
    again = Retriever(sessions, embedder, index=index, hnsw_min_vectors=2)
    await again.start()
    assert isinstance(again._partitions[ada].index, HnswIndex)
    assert (await _top(again, ada, "brake pads"))[0] == "car"
