"""The secret scan itself must find what it looks for (else a clean run proves nothing)."""

from __future__ import annotations

import logging
from pathlib import Path

from tests import secret_watch


def test_a_watched_secret_is_found_in_text_and_described_without_its_value() -> None:
    secrets = frozenset({"s3cret-value-123"})
    [leak] = secret_watch.leaks_in_text("error: token s3cret-value-123 refused", secrets)
    assert "s3cret-value-123" not in leak
    assert leak.startswith("s3cr")
    assert secret_watch.leaks_in_text("nothing here", secrets) == []


def test_a_watched_secret_is_found_in_a_database_file(tmp_path: Path) -> None:
    secrets = frozenset({"s3cret-value-123"})
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "powerstrip.db-wal").write_bytes(b"\x00\x01s3cret-value-123\x00")
    (tmp_path / "a" / "todo.db").write_bytes(b"s3cret-value-123")  # a plugin's own file
    [leak] = secret_watch.leaks_in_files(tmp_path, secrets)
    assert leak.startswith("powerstrip.db-wal in a:")


def test_log_records_are_captured_with_their_tracebacks() -> None:
    capture = secret_watch.LogCapture(logging.DEBUG)
    logger = logging.getLogger("powerstrip.test_secret_watch")
    logger.addHandler(capture)
    try:
        logger.debug("marker %s", "captured-marker-0001")
        try:
            raise ValueError("in-traceback-0002")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(capture)
    secrets = frozenset({"captured-marker-0001", "in-traceback-0002"})
    assert len(secret_watch.leaks_in_text(capture.text(), secrets)) == 2
    # Short values are not watched: they would match by chance.
    secret_watch.watch("short")
    assert "short" not in secret_watch.watched()


def test_a_watched_secret_is_found_in_every_encoded_form() -> None:
    import base64
    import json
    from urllib.parse import quote

    secret = 'sk-"odd"\\key/+?=\n'
    secrets = frozenset({secret})
    header = f"Bearer {secret}"
    texts = [
        repr(header.encode()),  # b'Bearer sk-"odd"\\key/+?=\n'
        json.dumps({"e": header}),
        quote(secret, safe=""),
        base64.b64encode(f"user:{secret}".encode()).decode(),
        base64.urlsafe_b64encode(f"ab{secret}".encode()).decode().rstrip("="),
        base64.b64encode(secret.encode()).decode(),
    ]
    for text in texts:
        assert secret_watch.leaks_in_text(f"noise {text} noise", secrets), text


# -- the session scan: every place a secret could be left, each shown to be searched -----------

PLANTED = "planted-Secret/+value=42"


def _zip(name: str, text: str) -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, text)
    return out.getvalue()


def test_every_encoding_of_a_secret_is_found_hex_included() -> None:
    import base64
    import json
    from urllib.parse import quote

    secrets = frozenset({PLANTED})
    data = PLANTED.encode()
    for text in (
        PLANTED,
        base64.b64encode(b"x" + data).decode(),
        quote(PLANTED, safe=""),
        data.hex(),
        "\\x" + data.hex().upper(),
        json.dumps({"k": PLANTED})[7:-1],
    ):
        assert secret_watch.leaks_in_text(f"<{text}>", secrets), text


def test_a_secret_inside_a_compressed_export_is_found(tmp_path: Path) -> None:
    secrets = frozenset({PLANTED})
    archive = _zip("account.json", f'{{"key": "{PLANTED}"}}')
    # Deflated: the raw bytes do not hold it, only the expanded member does.
    assert secret_watch.leaks_in_text(archive.decode("latin-1"), secrets) == []
    (tmp_path / "export.zip").write_bytes(archive)
    [leak] = secret_watch.leaks_in_exports(tmp_path, secrets)
    assert leak.startswith("export.zip:account.json:")


def test_a_secret_in_an_export_kept_in_the_sqlite_database_is_found(tmp_path: Path) -> None:
    import sqlite3

    secrets = frozenset({PLANTED})
    with sqlite3.connect(tmp_path / "powerstrip.db") as db:
        db.execute("CREATE TABLE exports (id TEXT, archive BLOB)")
        db.execute("INSERT INTO exports VALUES ('e1', ?)", (_zip("calls.json", PLANTED),))
    db.close()
    [leak] = secret_watch.leaks_in_files(tmp_path, secrets)
    assert leak.startswith("powerstrip.db in ")


def test_a_secret_in_a_postgresql_dump_is_found_raw_and_inside_bytea(tmp_path: Path) -> None:
    secrets = frozenset({PLANTED, "other-planted-secret"})
    dumps = tmp_path / "postgres-dumps"
    dumps.mkdir()
    archive = _zip("account.json", PLANTED).hex()
    (dumps / "t_a.sql").write_text(f"COPY exports (id, archive) FROM stdin;\ne1\t\\\\x{archive}\n")
    (dumps / "t_b.sql").write_text("COPY users (name) FROM stdin;\nother-planted-secret\n")
    assert secret_watch.leaks_in_dumps(tmp_path, secrets) == [
        "dump t_a.sql: plan… (24 chars)",
        "dump t_b.sql: othe… (20 chars)",
    ]


def test_every_answer_of_a_host_app_is_recorded_and_searched() -> None:
    import httpx
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from tests.answer_watch import AnswerRecorder

    async def leaky(request: object) -> JSONResponse:
        return JSONResponse({"debug": PLANTED[::-1][::-1]}, headers={"x-trace": "fine"})

    app = AnswerRecorder(Starlette(routes=[Route("/api/leaky", leaky)]))
    transport = httpx.ASGITransport(app)

    async def call() -> None:
        async with httpx.AsyncClient(transport=transport, base_url="http://host") as client:
            assert (await client.get("/api/leaky")).status_code == 200

    import anyio

    anyio.run(call)
    leaks = secret_watch.leaks_in_answers(frozenset({PLANTED}))
    assert any(leak.startswith("GET /api/leaky: plan") for leak in leaks), leaks


def test_the_session_scan_fails_on_a_planted_secret_in_each_place(tmp_path: Path) -> None:
    # What pytest_sessionfinish runs: planted in a log, a file and an export, found in each.
    planted = "planted-for-the-session-scan"
    secret_watch.watch(planted)
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "powerstrip.db").write_bytes(b"\0" + planted.encode() + b"\0")
    (tmp_path / "w" / "export.zip").write_bytes(_zip("README.txt", planted))
    leaks = secret_watch.scan_session(tmp_path, f"powerstrip.x INFO token={planted}")
    mine = [leak for leak in leaks if "plan" in leak]
    assert [leak.split(":")[0].split(" ")[0] for leak in mine] == ["log", "database", "export"]
    # Unwatch it again, or the real session scan would report this test's own plant.
    secret_watch.unwatch(planted)


def test_every_app_the_factory_builds_records_its_answers(tmp_path: Path) -> None:
    import powerstrip.server.app
    from powerstrip.server import create_app
    from powerstrip.settings import Settings
    from tests.answer_watch import AnswerRecorder

    for factory in (create_app, powerstrip.server.app.create_app):
        app = factory(Settings(data_dir=tmp_path))
        assert app.user_middleware[0].cls is AnswerRecorder
