"""`VectorStores`: OpenAI's vector stores over the retrieval engine (`host.documents`).

A vector store is one document collection of its user (`vs_...` is the collection's name), so
the engine's scoping keeps users and stores apart; each file added is ingested through
`Documents.add_file` (read, chunked, embedded, indexed) before the call returns, so its status
is final at once (`completed`, or `failed` with the reason). A file batch of more than
`POWERSTRIP_RETRIEVAL_INLINE_BATCH_FILES` files is answered `in_progress` at once and ingested
by the `vector_stores.ingest` background job (docs/jobs.md), as OpenAI's are: the client polls
the batch. The job is idempotent: a file it finds ingested already is not ingested again.

A file's `attributes` stay with its vector-store entry: an attribute filter picks the store's
files first, and the search then runs over those documents only.

    stores = VectorStores(objects, files, documents, settings)
    store = await stores.create(user, name="papers", file_ids=[file_id])
    page = await stores.search(user, store["id"], "what does the paper find?")
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from powerstrip.errors import InvalidInputError, NotFoundError, PowerstripError
from powerstrip.host.api_objects import ApiObjects, Page, PageRequest, new_id, now
from powerstrip.host.document_list import read_passages
from powerstrip.host.documents import Documents
from powerstrip.host.files import Files
from powerstrip.host.users import UserInfo
from powerstrip.jobs import JobPayload, Jobs
from powerstrip.settings import Settings

__all__ = ["INGEST_JOB", "SearchHit", "VectorStores", "matches"]

INGEST_JOB = "vector_stores.ingest"

JSON = dict[str, Any]  # Any: OpenAI's JSON

_MAX_RESULTS = 50
_COMPARISONS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin")
_ATTRIBUTE_LIMIT = 16


class SearchHit(dict[str, Any]):
    """A search result in OpenAI's shape: file_id, filename, score, attributes, content."""


def matches(filter_: Any, attributes: JSON) -> bool:  # Any: an OpenAI filter, unvalidated JSON
    """Whether a file's attributes pass an OpenAI attribute filter (comparison or compound)."""
    if not isinstance(filter_, dict):
        raise InvalidInputError("a filter must be an object", where="filters", fix=_FILTER_FIX)
    kind = filter_.get("type")
    if kind in ("and", "or"):
        parts = filter_.get("filters")
        if not isinstance(parts, list):
            raise InvalidInputError(
                f"an `{kind}` filter needs a list of `filters`", where="filters", fix=_FILTER_FIX
            )
        results = [matches(part, attributes) for part in parts]
        return all(results) if kind == "and" else any(results)
    if kind not in _COMPARISONS or not isinstance(filter_.get("key"), str):
        raise InvalidInputError(f"unknown filter type {kind!r}", where="filters", fix=_FILTER_FIX)
    key, wanted = filter_["key"], filter_.get("value")
    if key not in attributes:
        return kind in ("ne", "nin")
    value = attributes[key]
    if kind in ("in", "nin"):
        options = wanted if isinstance(wanted, list) else [wanted]
        return bool(value in options) is (kind == "in")
    if kind == "eq":
        return bool(value == wanted)
    if kind == "ne":
        return bool(value != wanted)
    try:
        if kind == "gt":
            return bool(value > wanted)
        if kind == "gte":
            return bool(value >= wanted)
        if kind == "lt":
            return bool(value < wanted)
        return bool(value <= wanted)
    except TypeError:
        return False  # a number compared with a string: no match, as OpenAI answers


_FILTER_FIX = (
    'use {"type": "eq", "key": "author", "value": "ada"} or '
    '{"type": "and", "filters": [...]}; comparisons: ' + ", ".join(_COMPARISONS)
)


class VectorStores:
    """Create, fill, search and delete a user's vector stores."""

    def __init__(
        self,
        objects: ApiObjects,
        files: Files,
        documents: Callable[[], Awaitable[Documents]],
        settings: Settings,
        jobs: Jobs,
        load_user: Callable[[int], Awaitable[UserInfo]],
    ) -> None:
        self.objects = objects
        self.files = files
        self._documents = documents
        self.settings = settings
        self.jobs = jobs
        self._load_user = load_user
        jobs.register(INGEST_JOB, self._ingest_job)

    # -- stores ------------------------------------------------------------------------------

    async def create(
        self,
        user: UserInfo,
        *,
        name: str | None = None,
        file_ids: Sequence[str] = (),
        metadata: JSON | None = None,
        expires_after: JSON | None = None,
        chunking_strategy: JSON | None = None,
    ) -> JSON:
        strategy = self._strategy(chunking_strategy)
        for file_id in file_ids:
            await self.files.get(user, file_id)  # refused before anything is made
        created = now()
        data: JSON = {
            "id": new_id("vs_"),
            "object": "vector_store",
            "created_at": created,
            "name": name or "",
            "usage_bytes": 0,
            "file_counts": _counts([]),
            "status": "completed",
            "expires_after": expires_after,
            "expires_at": None,
            "last_active_at": created,
            "metadata": metadata or {},
        }
        await self.objects.create(user, "vector_store", data)
        for file_id in file_ids:
            await self._add(user, data["id"], file_id, {}, strategy, batch_id=None)
        return await self.get(user, data["id"])

    async def get(self, user: UserInfo, store_id: str) -> JSON:
        data = await self.objects.get(user, "vector_store", store_id, what="vector store")
        entries = await self.objects.all(user, "vector_store_file", parent_id=store_id)
        return data | {
            "file_counts": _counts(entries),
            "usage_bytes": sum(int(entry.get("usage_bytes", 0)) for entry in entries),
        }

    async def page(self, user: UserInfo, request: PageRequest) -> Page:
        page = await self.objects.page(user, "vector_store", request)
        return Page([await self.get(user, data["id"]) for data in page.data], page.has_more)

    async def modify(self, user: UserInfo, store_id: str, changes: JSON) -> JSON:
        await self.objects.update(user, "vector_store", store_id, changes)
        return await self.get(user, store_id)

    async def delete(self, user: UserInfo, store_id: str) -> JSON:
        await self.get(user, store_id)
        documents = await self._documents()
        await documents.delete(user, None, collection=store_id)
        await self.objects.delete(user, "vector_store", store_id)
        return {"id": store_id, "object": "vector_store.deleted", "deleted": True}

    # -- files -------------------------------------------------------------------------------

    async def add_file(
        self,
        user: UserInfo,
        store_id: str,
        file_id: str,
        *,
        attributes: JSON | None = None,
        chunking_strategy: JSON | None = None,
    ) -> JSON:
        """Ingest the file into the store; its entry says `completed` or `failed` and why."""
        await self.get(user, store_id)
        strategy = self._strategy(chunking_strategy)
        return await self._add(user, store_id, file_id, attributes or {}, strategy, None)

    async def file(self, user: UserInfo, store_id: str, file_id: str) -> JSON:
        return _public(await self._entry(user, store_id, file_id))

    async def _entry(self, user: UserInfo, store_id: str, file_id: str) -> JSON:
        await self.get(user, store_id)
        return await self.objects.get(
            user, "vector_store_file", _row(store_id, file_id), what="vector store file"
        )

    async def file_page(
        self,
        user: UserInfo,
        store_id: str,
        request: PageRequest,
        *,
        status: str | None = None,
        batch_id: str | None = None,
    ) -> Page:
        await self.get(user, store_id)

        def keep(data: JSON) -> bool:
            return (status is None or data.get("status") == status) and (
                batch_id is None or data.get("batch_id") == batch_id
            )

        page = await self.objects.page(
            user,
            "vector_store_file",
            request,
            parent_id=store_id,
            keep=keep,
            cursor_row=lambda file_id: _row(store_id, file_id),
        )
        return Page([_public(data) for data in page.data], page.has_more)

    async def update_file(
        self, user: UserInfo, store_id: str, file_id: str, attributes: JSON
    ) -> JSON:
        await self.file(user, store_id, file_id)
        data = await self.objects.update(
            user,
            "vector_store_file",
            _row(store_id, file_id),
            {"attributes": _attributes(attributes)},
        )
        return _public(data)

    async def remove_file(self, user: UserInfo, store_id: str, file_id: str) -> JSON:
        entry = await self._entry(user, store_id, file_id)
        from powerstrip.retrieval import Filter

        if entry.get("external_id"):
            documents = await self._documents()
            await documents.delete(
                user, Filter(external_ids=(entry["external_id"],)), collection=store_id
            )
        await self.objects.delete(user, "vector_store_file", _row(store_id, file_id))
        return {"id": file_id, "object": "vector_store.file.deleted", "deleted": True}

    async def file_content(self, user: UserInfo, store_id: str, file_id: str) -> JSON:
        """The text the engine parsed out of a file of the store, as OpenAI's content page.

        One `text` part per indexed chunk, in order, each without the overlap it repeats of
        the one before, so the parts joined are the parsed text (a PDF's words, not its bytes);
        a file that failed to ingest has none.
        """
        entry = await self._entry(user, store_id, file_id)
        passages = []
        if entry.get("external_id"):
            passages = await read_passages(
                self.objects.sessions, user, entry["external_id"], collection=store_id
            )
        return {
            "object": "vector_store.file_content.page",
            "file_id": file_id,
            "filename": entry.get("filename", ""),
            "attributes": entry.get("attributes") or {},
            "data": [{"type": "text", "text": text} for text in passages],
            "has_more": False,
            "next_page": None,
        }

    # -- batches -----------------------------------------------------------------------------

    async def create_batch(
        self,
        user: UserInfo,
        store_id: str,
        file_ids: Sequence[str],
        *,
        files: Sequence[JSON] = (),
        attributes: JSON | None = None,
        chunking_strategy: JSON | None = None,
    ) -> JSON:
        await self.get(user, store_id)
        strategy = self._strategy(chunking_strategy)
        wanted = [(file_id, attributes or {}) for file_id in file_ids] + [
            (str(entry.get("file_id")), entry.get("attributes") or attributes or {})
            for entry in files
        ]
        if not wanted:
            raise InvalidInputError(
                "a file batch needs file_ids or files", where="file_ids", fix="name some files"
            )
        for file_id, _ in wanted:
            await self.files.get(user, file_id)
        batch: JSON = {
            "id": new_id("vsfb_"),
            "object": "vector_store.files_batch",
            "created_at": now(),
            "vector_store_id": store_id,
            "status": "in_progress",
            "file_counts": _counts([]),
        }
        await self.objects.create(user, "file_batch", batch, parent_id=store_id)
        if len(wanted) > self.settings.retrieval_inline_batch_files:
            for file_id, attrs in wanted:
                await self._entry_for(user, store_id, file_id, attrs, strategy, batch["id"])
            payload: JobPayload = {
                "user": user.id,
                "scopes": sorted(user.scopes),
                "store": store_id,
                "batch": batch["id"],
                "files": [[file_id, attrs] for file_id, attrs in wanted],
                "strategy": strategy,
            }
            await self.jobs.enqueue(INGEST_JOB, batch["id"], payload)
            return await self.batch(user, store_id, batch["id"])
        for file_id, attrs in wanted:
            await self._add(user, store_id, file_id, attrs, strategy, batch["id"])
        return await self.batch(user, store_id, batch["id"], finished=True)

    async def _ingest_job(self, payload: JobPayload) -> None:
        """The `vector_stores.ingest` job: ingest a batch's files not ingested yet."""
        found = await self._load_user(int(payload["user"]))
        user = dataclasses.replace(found, scopes=frozenset(payload["scopes"]))
        store_id, batch_id = str(payload["store"]), str(payload["batch"])
        batch = await self.objects.find(user, "file_batch", batch_id)
        if batch is None or batch["status"] != "in_progress":
            return  # cancelled, finished, or gone with its store
        strategy = dict(payload["strategy"])
        for file_id, attrs in payload["files"]:
            entry = await self.objects.find(user, "vector_store_file", _row(store_id, file_id))
            if entry is None or entry.get("batch_id") != batch_id:
                continue  # removed from the store (or re-added by another batch) meanwhile
            if entry["status"] != "in_progress":
                continue  # ingested by an earlier try of this job
            if (await self.objects.find(user, "file_batch", batch_id) or {}).get(
                "status"
            ) != "in_progress":
                return  # cancelled while ingesting
            try:
                await self._add(user, store_id, str(file_id), dict(attrs), strategy, batch_id)
            except NotFoundError:
                await self.objects.update(
                    user,
                    "vector_store_file",
                    _row(store_id, file_id),
                    {
                        "status": "failed",
                        "last_error": {"code": "not_found", "message": "the file was deleted"},
                    },
                )
        if (await self.objects.find(user, "file_batch", batch_id) or {}).get(
            "status"
        ) == "in_progress":
            await self.objects.update(user, "file_batch", batch_id, {"status": "completed"})

    async def batch(
        self, user: UserInfo, store_id: str, batch_id: str, *, finished: bool = False
    ) -> JSON:
        await self.get(user, store_id)
        batch = await self.objects.get(user, "file_batch", batch_id, what="file batch")
        entries = [
            entry
            for entry in await self.objects.all(user, "vector_store_file", parent_id=store_id)
            if entry.get("batch_id") == batch_id
        ]
        counts = _counts(entries)
        if finished:
            batch = await self.objects.update(user, "file_batch", batch_id, {"status": "completed"})
        # A batch its job is ingesting is done when the job says so: while a file's entry is
        # being rewritten the entries seen here may be one short, and all of them complete.
        if batch["status"] == "in_progress" and counts["in_progress"] == 0:
            # Until then one file counts as still in progress: a client polls until no file
            # is (the openai client's `poll` does), and must not stop at a batch in progress.
            done = next((k for k in ("completed", "failed", "cancelled") if counts[k]), None)
            if done is not None:
                counts = counts | {"in_progress": 1, done: counts[done] - 1}
        return batch | {"file_counts": counts}

    async def cancel_batch(self, user: UserInfo, store_id: str, batch_id: str) -> JSON:
        """Stop a batch its job is still ingesting; its files not ingested yet are cancelled.

        A batch ingested before it was answered is finished: OpenAI answers a finished batch's
        cancel with the batch as it is.
        """
        await self.get(user, store_id)
        batch = await self.objects.get(user, "file_batch", batch_id, what="file batch")
        if batch["status"] == "in_progress":
            await self.objects.update(user, "file_batch", batch_id, {"status": "cancelled"})
            await self.jobs.cancel(f"{INGEST_JOB}:{batch_id}")
            for entry in await self.objects.all(user, "vector_store_file", parent_id=store_id):
                if entry.get("batch_id") == batch_id and entry.get("status") == "in_progress":
                    await self.objects.update(
                        user,
                        "vector_store_file",
                        _row(store_id, str(entry["id"])),
                        {"status": "cancelled"},
                    )
        return await self.batch(user, store_id, batch_id)

    # -- search ------------------------------------------------------------------------------

    async def search(
        self,
        user: UserInfo,
        store_ids: Sequence[str],
        query: str,
        *,
        max_num_results: int = 10,
        filters: Any = None,  # Any: OpenAI's filter JSON
        score_threshold: float = 0.0,
    ) -> list[SearchHit]:
        """The best chunks of the stores for `query`, with the file each came from."""
        if not 1 <= max_num_results <= _MAX_RESULTS:
            raise InvalidInputError(
                f"max_num_results must be from 1 to {_MAX_RESULTS}, not {max_num_results}",
                where="max_num_results",
                fix=f"ask for at most {_MAX_RESULTS} results",
            )
        if not query.strip():
            raise InvalidInputError(
                "the search query is empty", where="query", fix="send the words to search for"
            )
        from powerstrip.retrieval import Filter

        documents = await self._documents()
        found: list[SearchHit] = []
        for store_id in store_ids:
            await self.get(user, store_id)
            entries = {
                entry["external_id"]: entry
                for entry in await self.objects.all(user, "vector_store_file", parent_id=store_id)
                if entry.get("status") == "completed"
                and entry.get("external_id")
                and (filters is None or matches(filters, entry.get("attributes") or {}))
            }
            if not entries:
                continue
            hits = await documents.search(
                user,
                query,
                top_k=max_num_results,
                where=Filter(external_ids=tuple(entries)),
                collection=store_id,
            )
            for hit in hits:
                entry = entries.get(hit.document.external_id)
                if entry is None or hit.score < score_threshold:
                    continue
                found.append(
                    SearchHit(
                        file_id=entry["id"],
                        filename=entry.get("filename", ""),
                        score=hit.score,
                        attributes=entry.get("attributes") or {},
                        content=[{"type": "text", "text": hit.text}],
                        vector_store_id=store_id,
                    )
                )
        found.sort(key=lambda hit: float(hit["score"]), reverse=True)
        return found[:max_num_results]

    # -- building blocks ---------------------------------------------------------------------

    def _strategy(self, requested: JSON | None) -> JSON:
        """The chunking the engine applies: the host's own chunk size and overlap.

        `auto` and `static` are accepted (a static one is checked as OpenAI checks it), and the
        entry reports the sizes that were really used.
        """
        if requested is not None:
            kind = requested.get("type")
            if kind not in ("auto", "static", "other"):
                raise InvalidInputError(
                    f"chunking_strategy type {kind!r} is not auto or static",
                    where="chunking_strategy",
                    fix='use {"type": "auto"}',
                )
            if kind == "static":
                static = requested.get("static") or {}
                size = static.get("max_chunk_size_tokens")
                overlap = static.get("chunk_overlap_tokens")
                if (
                    not isinstance(size, int)
                    or not isinstance(overlap, int)
                    or not 100 <= size <= 4096
                    or not 0 <= overlap <= size // 2
                ):
                    raise InvalidInputError(
                        "a static chunking_strategy needs max_chunk_size_tokens from 100 to "
                        "4096 and chunk_overlap_tokens at most half of it",
                        where="chunking_strategy.static",
                        fix='use {"type": "static", "static": {"max_chunk_size_tokens": 800, '
                        '"chunk_overlap_tokens": 400}}',
                    )
        return {
            "type": "static",
            "static": {
                "max_chunk_size_tokens": self.settings.retrieval_chunk_tokens,
                "chunk_overlap_tokens": self.settings.retrieval_chunk_overlap,
            },
        }

    async def _entry_for(
        self,
        user: UserInfo,
        store_id: str,
        file_id: str,
        attributes: JSON,
        strategy: JSON,
        batch_id: str | None,
        *,
        file: JSON | None = None,
    ) -> None:
        """The file's entry in the store, `in_progress` (a new one replaces an older one)."""
        if file is None:
            file = await self.files.get(user, file_id)
        row = _row(store_id, file_id)
        entry: JSON = {
            "id": file_id,
            "object": "vector_store.file",
            "created_at": now(),
            "vector_store_id": store_id,
            "usage_bytes": 0,
            "status": "in_progress",
            "last_error": None,
            "chunking_strategy": strategy,
            "attributes": _attributes(attributes),
            "filename": file["filename"],
            "batch_id": batch_id,
            "external_id": None,
        }
        if await self.objects.find(user, "vector_store_file", row) is not None:
            await self.objects.delete(user, "vector_store_file", row)
        await self.objects.create(user, "vector_store_file", entry, parent_id=store_id, row_id=row)

    async def _add(
        self,
        user: UserInfo,
        store_id: str,
        file_id: str,
        attributes: JSON,
        strategy: JSON,
        batch_id: str | None,
    ) -> JSON:
        file, content = await self.files.content(user, file_id)
        row = _row(store_id, file_id)
        await self._entry_for(user, store_id, file_id, attributes, strategy, batch_id, file=file)
        documents = await self._documents()
        try:
            with tempfile.TemporaryDirectory(prefix="powerstrip-v1-") as folder:
                path = Path(folder) / file["filename"]
                path.write_bytes(content)
                added = await documents.add_file(user, path, collection=store_id)
        except PowerstripError as exc:
            changes: JSON = {
                "status": "failed",
                "last_error": {"code": "invalid_file", "message": exc.message[:500]},
            }
        else:
            changes = {
                "status": "completed",
                "usage_bytes": len(content),
                "external_id": added.external_id,
            }
        return _public(await self.objects.update(user, "vector_store_file", row, changes))


def _row(store_id: str, file_id: str) -> str:
    return f"{store_id}/{file_id}"


def _public(entry: JSON) -> JSON:
    """A vector-store file as the API shows it (without the engine's bookkeeping)."""
    return {
        key: value
        for key, value in entry.items()
        if key not in ("filename", "batch_id", "external_id")
    }


def _attributes(attributes: Any) -> JSON:  # Any: unvalidated JSON
    if not isinstance(attributes, dict) or len(attributes) > _ATTRIBUTE_LIMIT:
        raise InvalidInputError(
            f"attributes must be an object of at most {_ATTRIBUTE_LIMIT} keys",
            where="attributes",
            fix='send {"author": "ada", "year": 2024}',
        )
    for key, value in attributes.items():
        if not isinstance(value, str | int | float | bool) or len(str(key)) > 64:
            raise InvalidInputError(
                f"attribute {key!r} must be a string, number or boolean, its key ≤ 64 characters",
                where="attributes",
                fix="flatten nested values into strings",
            )
    return dict(attributes)


def _counts(entries: Sequence[JSON]) -> JSON:
    counts = {"in_progress": 0, "completed": 0, "failed": 0, "cancelled": 0}
    for entry in entries:
        status = str(entry.get("status"))
        if status in counts:
            counts[status] += 1
    return counts | {"total": len(entries)}
