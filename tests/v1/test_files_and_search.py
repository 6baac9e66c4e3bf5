"""Files, vector stores and a streamed response citing a real PDF, through the `openai` client."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from powerstrip.testing import CallTool, Reply, Respond, ScriptStep
from tests.retrieval.files import write_pdf
from tests.v1.conftest import V1

PAGES = [
    "The lighthouse keeper logged the tides every morning at six.",
    "The harbour froze in the winter of 1947, and the ferries stopped for nine days.",
]


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_pdf(tmp_path_factory.mktemp("pdf") / "harbour.pdf", PAGES)


def test_files_upload_list_retrieve_content_delete(v1: V1, pdf: Path) -> None:
    client = v1.client("ada")
    with pdf.open("rb") as handle:
        uploaded = client.files.create(file=handle, purpose="assistants")
    assert (uploaded.filename, uploaded.bytes, uploaded.purpose) == (
        "harbour.pdf",
        pdf.stat().st_size,
        "assistants",
    )
    assert client.files.retrieve(uploaded.id).id == uploaded.id
    assert client.files.content(uploaded.id).read() == pdf.read_bytes()
    assert uploaded.id in [f.id for f in client.files.list()]
    assert uploaded.id in [f.id for f in client.files.list(purpose="assistants")]
    assert uploaded.id not in [f.id for f in client.files.list(purpose="batch")]
    deleted = client.files.delete(uploaded.id)
    assert deleted.deleted is True
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(uploaded.id)


def test_lists_page_with_after_and_limit(v1: V1) -> None:
    client = v1.client("paging")
    made = [
        client.files.create(file=(f"n{i}.txt", f"note {i}".encode()), purpose="user_data").id
        for i in range(5)
    ]
    first = client.files.list(limit=2, order="asc")
    assert [f.id for f in first.data] == made[:2]
    assert first.has_more is True
    # The client follows `after` by itself.
    assert [f.id for f in client.files.list(limit=2, order="asc")] == made
    assert [f.id for f in client.files.list(limit=2, order="desc")] == made[::-1]


def test_a_large_file_batch_is_ingested_by_a_job_and_polled_to_completion(v1: V1) -> None:
    client = v1.client("batcher")
    notes = [
        client.files.create(
            file=(f"tide{i}.md", f"# Tide {i}\nHigh tide {i} came at {i} o'clock.".encode()),
            purpose="assistants",
        ).id
        for i in range(v1.settings.retrieval_inline_batch_files + 2)
    ]
    store = client.vector_stores.create(name="tides")
    # More files than are ingested inline: answered at once, the job does the rest.
    batch = client.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=notes)
    assert batch.status in ("in_progress", "completed")
    done = client.vector_stores.file_batches.poll(
        batch.id, vector_store_id=store.id, poll_interval_ms=50
    )
    assert done.status == "completed"
    assert (done.file_counts.completed, done.file_counts.total) == (len(notes), len(notes))
    hits = client.vector_stores.search(store.id, query="When did high tide 3 come?")
    assert hits.data[0].file_id == notes[3]


def test_a_vector_store_ingests_searches_and_filters(v1: V1, pdf: Path) -> None:
    client = v1.client("ada")
    with pdf.open("rb") as handle:
        paper = client.files.create(file=handle, purpose="assistants")
    note = client.files.create(
        file=("note.md", b"# Ferries\nThe ferries run hourly in summer."), purpose="assistants"
    )
    store = client.vector_stores.create(name="harbour")
    entry = client.vector_stores.files.create_and_poll(
        vector_store_id=store.id, file_id=paper.id, attributes={"kind": "history", "year": 1947}
    )
    assert entry.status == "completed"
    batch = client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id, files=[{"file_id": note.id, "attributes": {"kind": "note"}}]
    )
    assert batch.status == "completed"
    assert batch.file_counts.completed == 1
    assert [
        f.id
        for f in client.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id)
    ] == [note.id]
    store = client.vector_stores.retrieve(store.id)
    assert store.file_counts.completed == 2
    assert store.file_counts.total == 2

    hits = client.vector_stores.search(store.id, query="When did the harbour freeze?")
    assert hits.data[0].file_id == paper.id
    assert "1947" in hits.data[0].content[0].text
    filtered = client.vector_stores.search(
        store.id,
        query="ferries",
        filters={"type": "eq", "key": "kind", "value": "note"},
    )
    assert [hit.file_id for hit in filtered.data] == [note.id]
    numeric = client.vector_stores.search(
        store.id, query="ferries", filters={"type": "gte", "key": "year", "value": 1900}
    )
    assert [hit.file_id for hit in numeric.data] == [paper.id]

    client.vector_stores.files.delete(note.id, vector_store_id=store.id)
    again = client.vector_stores.search(store.id, query="ferries run hourly")
    assert note.id not in [hit.file_id for hit in again.data]
    assert client.vector_stores.delete(store.id).deleted is True


def test_a_store_file_s_content_is_its_parsed_text_in_chunks(v1: V1, pdf: Path) -> None:
    client = v1.client("ada")
    with pdf.open("rb") as handle:
        paper = client.files.create(file=handle, purpose="assistants")
    long_note = " ".join(f"Sentence number {n} is about the tides." for n in range(120))
    note = client.files.create(file=("tides.txt", long_note.encode()), purpose="assistants")
    store = client.vector_stores.create(file_ids=[paper.id, note.id])

    parts = list(client.vector_stores.files.content(paper.id, vector_store_id=store.id))
    text = "".join(part.text or "" for part in parts)
    assert {part.type for part in parts} == {"text"}
    for page in PAGES:  # the PDF's words, not its bytes
        assert page in text
    assert "%PDF" not in text

    # A file cut into several chunks: one part each, the overlap not repeated.
    chunks = list(client.vector_stores.files.content(note.id, vector_store_id=store.id))
    assert len(chunks) > 1
    assert "".join(part.text or "" for part in chunks) == long_note

    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.content(paper.id, vector_store_id="vs_missing")


def test_a_bad_chunking_strategy_is_refused_and_a_good_one_reported(v1: V1) -> None:
    client = v1.client("ada")
    with pytest.raises(openai.BadRequestError):
        client.vector_stores.create(
            chunking_strategy={
                "type": "static",
                "static": {"max_chunk_size_tokens": 50, "chunk_overlap_tokens": 40},
            }
        )
    note = client.files.create(file=("a.txt", b"some words"), purpose="assistants")
    store = client.vector_stores.create(
        file_ids=[note.id],
        chunking_strategy={
            "type": "static",
            "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400},
        },
    )
    [entry] = client.vector_stores.files.list(store.id)
    # What the engine really used: the host's chunk size.
    assert entry.chunking_strategy.static.max_chunk_size_tokens == 200  # type: ignore[union-attr]


def _cite(body: dict[str, object]) -> ScriptStep:
    # The model read the numbered passages; it answers citing the first one.
    tool_output = str(body["messages"][-1]["content"])  # type: ignore[index]
    assert "[1]" in tool_output
    assert "1947" in tool_output
    return Reply("The harbour froze in 1947 [1].")


def test_a_streamed_response_cites_the_pdf(v1: V1, pdf: Path) -> None:
    client = v1.client("ada")
    with pdf.open("rb") as handle:
        paper = client.files.create(file=handle, purpose="assistants")
    store = client.vector_stores.create(name="cited", file_ids=[paper.id])
    v1.model.push(CallTool("file_search", {"query": "harbour froze"}), Respond(_cite))
    stream = client.responses.create(
        model="scripted-model",
        input="When did the harbour freeze?",
        tools=[{"type": "file_search", "vector_store_ids": [store.id]}],
        stream=True,
    )
    events = list(stream)
    kinds = [event.type for event in events]
    assert kinds[0] == "response.created"
    assert kinds[-1] == "response.completed"
    for kind in (
        "response.file_search_call.in_progress",
        "response.file_search_call.searching",
        "response.file_search_call.completed",
        "response.output_text.delta",
        "response.output_text.annotation.added",
        "response.output_text.done",
    ):
        assert kind in kinds
    assert [e.sequence_number for e in events] == list(range(len(events)))
    final = events[-1].response  # type: ignore[union-attr]
    assert final.output_text == "The harbour froze in 1947 [1]."
    search, message = final.output
    assert search.type == "file_search_call"
    assert search.results[0].file_id == paper.id  # type: ignore[union-attr, index]
    [annotation] = message.content[0].annotations  # type: ignore[union-attr]
    assert annotation.type == "file_citation"
    assert (annotation.file_id, annotation.filename) == (paper.id, "harbour.pdf")  # type: ignore[union-attr]
    assert "1947" in annotation.quote  # type: ignore[union-attr]
    # The tool the model was offered, and a stored response that says the same.
    assert v1.model.requests[-2]["tools"][0]["function"]["name"] == "file_search"
    kept = client.responses.retrieve(final.id)
    assert kept.output_text == final.output_text
