"""`/v1/uploads` through the official client: a file in parts, completed into a searchable file."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from sqlalchemy import select

from powerstrip.store import ApiObject, create_engine, session_factory, transaction
from powerstrip.testing import ScriptedModelServer
from tests.retrieval.files import write_pdf
from tests.v1.conftest import V1, serve_v1

PAGES = [
    "The tide tables of 1902 were printed in the harbour office.",
    "Each ferry carried a copy folded into its logbook.",
]


def test_a_pdf_sent_in_parts_becomes_a_file_that_search_finds(v1: V1, tmp_path: Path) -> None:
    client = v1.client("ada")
    pdf = write_pdf(tmp_path / "tides.pdf", PAGES)
    size = pdf.stat().st_size
    upload = client.uploads.upload_file_chunked(
        file=pdf, mime_type="application/pdf", purpose="assistants", part_size=size // 3 + 1
    )
    assert upload.status == "completed"
    assert (upload.filename, upload.bytes, upload.purpose) == ("tides.pdf", size, "assistants")
    assert upload.file is not None
    assert upload.file.bytes == size
    assert client.files.content(upload.file.id).read() == pdf.read_bytes()

    store = client.vector_stores.create(file_ids=[upload.file.id])
    hits = client.vector_stores.search(store.id, query="tide tables 1902")
    assert hits.data[0].file_id == upload.file.id


def test_parts_are_checked_and_an_upload_ends_once(v1: V1) -> None:
    client = v1.client("ada")
    data = b"line one\nline two\n"
    upload = client.uploads.create(
        bytes=len(data), filename="notes.txt", mime_type="text/plain", purpose="user_data"
    )
    assert upload.status == "pending"
    assert upload.expires_at == upload.created_at + 3600
    first = client.uploads.parts.create(upload.id, data=data[:9])
    assert (first.object, first.upload_id) == ("upload.part", upload.id)
    with pytest.raises(openai.BadRequestError, match="more than the 18"):
        client.uploads.parts.create(upload.id, data=data)  # past the size declared
    second = client.uploads.parts.create(upload.id, data=data[9:])
    with pytest.raises(openai.BadRequestError, match="hold 9 bytes"):
        client.uploads.complete(upload.id, part_ids=[second.id])
    with pytest.raises(openai.BadRequestError, match="md5"):
        client.uploads.complete(upload.id, part_ids=[first.id, second.id], md5="0" * 32)
    with pytest.raises(openai.BadRequestError, match="each once"):
        client.uploads.complete(upload.id, part_ids=[first.id, first.id])
    checksum = hashlib.md5(data, usedforsecurity=False).hexdigest()
    done = client.uploads.complete(upload.id, part_ids=[first.id, second.id], md5=checksum)
    assert done.status == "completed"
    assert done.file is not None
    assert client.files.content(done.file.id).read() == data
    with pytest.raises(openai.BadRequestError, match="is completed"):
        client.uploads.parts.create(upload.id, data=b"more")
    with pytest.raises(openai.BadRequestError, match="is completed"):
        client.uploads.cancel(upload.id)


def test_a_cancelled_upload_takes_no_more_parts(v1: V1) -> None:
    client = v1.client("ada")
    upload = client.uploads.create(
        bytes=10, filename="a.txt", mime_type="text/plain", purpose="assistants"
    )
    part = client.uploads.parts.create(upload.id, data=b"12345")
    assert client.uploads.cancel(upload.id).status == "cancelled"
    with pytest.raises(openai.BadRequestError, match="is cancelled"):
        client.uploads.complete(upload.id, part_ids=[part.id])
    with pytest.raises(openai.BadRequestError, match="is cancelled"):
        client.uploads.parts.create(upload.id, data=b"67890")


def test_bad_uploads_are_refused(v1: V1) -> None:
    client = v1.client("ada")
    with pytest.raises(openai.BadRequestError, match="purpose"):
        client.uploads.create(
            bytes=10,
            filename="a.txt",
            mime_type="text/plain",
            purpose="wallpaper",  # type: ignore[arg-type]
        )
    with pytest.raises(openai.BadRequestError, match="cap"):
        client.uploads.create(
            bytes=v1.settings.retrieval_max_file_bytes + 1,
            filename="huge.bin",
            mime_type="application/octet-stream",
            purpose="assistants",
        )
    with pytest.raises(openai.NotFoundError):
        client.uploads.parts.create("upload_missing", data=b"x")


def test_another_user_s_upload_is_404(v1: V1) -> None:
    ada, bob = v1.client("ada"), v1.client("bob")
    upload = ada.uploads.create(
        bytes=4, filename="a.txt", mime_type="text/plain", purpose="assistants"
    )
    part = ada.uploads.parts.create(upload.id, data=b"abcd")
    with pytest.raises(openai.NotFoundError):
        bob.uploads.parts.create(upload.id, data=b"abcd")
    with pytest.raises(openai.NotFoundError):
        bob.uploads.complete(upload.id, part_ids=[part.id])
    with pytest.raises(openai.NotFoundError):
        bob.uploads.cancel(upload.id)
    assert ada.uploads.complete(upload.id, part_ids=[part.id]).status == "completed"


async def _age(v1: V1, upload_id: str) -> None:
    """Move the upload's expiry into the past, as an hour going by would."""
    engine = create_engine(v1.settings.database_url)
    try:
        async with transaction(session_factory(engine)) as session:
            row = (
                await session.execute(select(ApiObject).where(ApiObject.id == upload_id))
            ).scalar_one()
            row.data = {**row.data, "expires_at": 0}
    finally:
        await engine.dispose()


def test_an_upload_expires_after_an_hour(v1: V1) -> None:
    client = v1.client("ada")
    upload = client.uploads.create(
        bytes=4, filename="a.txt", mime_type="text/plain", purpose="assistants"
    )
    part = client.uploads.parts.create(upload.id, data=b"ab")
    asyncio.run(_age(v1, upload.id))
    with pytest.raises(openai.BadRequestError, match="is expired"):
        client.uploads.complete(upload.id, part_ids=[part.id])


@pytest.fixture(scope="module")
def small_bodies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[V1]:
    """A host whose JSON bodies are capped at 2 kB, and files at 64 kB."""
    with ScriptedModelServer() as model:
        server = serve_v1(
            tmp_path_factory.mktemp("small"),
            model,
            max_request_bytes=2_000,
            retrieval_max_file_bytes=64_000,
        )
        with server:
            running = V1(server, model, server.settings)  # type: ignore[attr-defined]
            yield running
            running.close()


def test_a_part_may_be_as_big_as_a_file_other_bodies_may_not(small_bodies: V1) -> None:
    client = small_bodies.client("ada")
    data = bytes(range(256)) * 200  # 51,200 bytes: far over the JSON cap, under the file cap
    upload = client.uploads.create(
        bytes=len(data), filename="blob.bin", mime_type="application/octet-stream", purpose="batch"
    )
    part = client.uploads.parts.create(upload.id, data=data)
    done = client.uploads.complete(upload.id, part_ids=[part.id])
    assert done.file is not None
    assert client.files.content(done.file.id).read() == data
    token = client.api_key
    too_big = httpx.post(
        f"{small_bodies.base_url}/uploads/{upload.id}/complete",
        headers={"Authorization": f"Bearer {token}"},
        json={"part_ids": ["part_" + "0" * 24] * 200},
    )
    assert too_big.status_code == 413
