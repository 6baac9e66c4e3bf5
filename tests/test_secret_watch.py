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
