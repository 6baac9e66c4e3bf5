"""The suite-wide secret scan: after every test has run, no secret may appear in a log record,
in any answer of the host's API, in a data export, in the bytes of a host database file or in
a dump of a PostgreSQL test database.

Tests `watch()` the secrets they create or see (credentials a plugin received, API tokens,
vault keys); the fixed test secrets are watched from the start. What is searched, at the end of
each worker's session (`scan_session`), against every secret watched by then:
- every log record's text (a handler on the root logger keeps them);
- every answer a host app gave, headers and body (`record_answer`, fed by the middleware
  `tests/answer_watch.py` puts on every app `create_app` builds), with any zip inside expanded;
- every `powerstrip.db*` file under the worker's temporary directory, raw, and every zip kept in
  one of its tables expanded (data exports are stored compressed);
- every `*.zip` file under that directory (exports the CLI wrote);
- every PostgreSQL dump `dump_postgres` wrote before a test schema was dropped, with the zips
  its `bytea` values hold expanded.
Leaks are written to a report file that the xdist controller (or the single process) turns into
a failed run.

A secret is looked for in every form it could leak in, not only as written: escaped (Python
repr, JSON), URL-encoded, hex (as `bytea` dumps and debug output print bytes) and
base64-encoded (standard and URL-safe, at any alignment inside a longer encoded value). This is
written independently of the host's redactor on purpose: the scan must find what the redactor
misses. All forms of all secrets are searched in one pass (Aho-Corasick), so the scan stays
linear in the bytes searched however many secrets the suite saw.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import io
import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import threading
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import ahocorasick

__all__ = [
    "LogCapture",
    "dump_postgres",
    "forms",
    "leaks_in_answers",
    "leaks_in_dumps",
    "leaks_in_exports",
    "leaks_in_files",
    "leaks_in_text",
    "record_answer",
    "scan_session",
    "set_artifact_dir",
    "unwatch",
    "watch",
    "watched",
]

_MIN_LENGTH = 8
_lock = threading.Lock()
_watched: set[str] = set()


def watch(*secrets: str) -> None:
    """Add secrets to look for at the end (too-short values would match by chance)."""
    with _lock:
        _watched.update(s for s in secrets if len(s) >= _MIN_LENGTH)


def unwatch(secret: str) -> None:
    """Stop looking for `secret` (only for the scan's own tests, which plant one on purpose)."""
    with _lock:
        _watched.discard(secret)


def watched() -> frozenset[str]:
    with _lock:
        return frozenset(_watched)


def describe(secret: str) -> str:
    """A secret named without revealing it."""
    return f"{secret[:4]}… ({len(secret)} chars)"


_forms_cache: dict[str, frozenset[str]] = {}


def forms(secret: str) -> frozenset[str]:
    """Every spelling of `secret` a leak could take (see the module docstring)."""
    cached = _forms_cache.get(secret)
    if cached is not None:
        return cached
    found = {
        secret,
        secret.strip(),
        repr(secret)[1:-1],
        repr(secret.encode("utf-8", "surrogatepass"))[2:-1],
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
    }
    data = secret.encode("utf-8", "surrogatepass")
    found.update({data.hex(), data.hex().upper()})
    for offset in range(3):
        # Encode behind `offset` filler bytes; keep only the characters that depend on the
        # secret's bytes alone, so the form matches wherever the secret sits in a longer value.
        encoded = base64.b64encode(b"\0" * offset + data).decode()
        first = -(-8 * offset // 6)
        last = 8 * (offset + len(data)) // 6
        core = encoded[first:last]
        found.update({core, core.replace("+", "-").replace("/", "_")})
    result = frozenset(form for form in found if len(form) >= _MIN_LENGTH)
    _forms_cache[secret] = result
    return result


class _Scanner:
    """Every form of every secret in one Aho-Corasick automaton, over bytes read as latin-1."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._automaton = ahocorasick.Automaton()
        for secret in secrets:
            for form in forms(secret):
                key = form.encode("utf-8", "surrogatepass").decode("latin-1")
                if key not in self._automaton:
                    self._automaton.add_word(key, set())
                self._automaton.get(key).add(secret)
        self._empty = len(self._automaton) == 0
        if not self._empty:
            self._automaton.make_automaton()

    def found(self, data: bytes | str) -> set[str]:
        """The secrets some form of which is in `data`."""
        if self._empty:
            return set()
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogatepass")
        hits: set[str] = set()
        for _end, secrets in self._automaton.iter(data.decode("latin-1")):
            hits |= secrets
        return hits


def _scanner(secrets: frozenset[str] | None) -> _Scanner:
    return _Scanner(sorted(secrets if secrets is not None else watched()))


def leaks_in_text(text: str, secrets: frozenset[str] | None = None) -> list[str]:
    """The watched secrets found in `text` in any of their `forms`, described."""
    return [describe(s) for s in sorted(_scanner(secrets).found(text))]


def _expanded(data: bytes) -> Iterator[tuple[str, bytes]]:
    """The members of `data` when it is a zip archive (nothing otherwise), by name."""
    if not data.startswith(b"PK\x03\x04"):
        return
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                yield info.filename, archive.read(info)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return


def _blobs_of(path: Path) -> Iterator[tuple[str, bytes]]:
    """Every BLOB value in every table of a SQLite file, read-only, by table and column."""
    try:
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return
    try:
        tables = [
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        for table in tables:
            cursor = connection.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - own names
            columns = [column[0] for column in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    if isinstance(value, bytes):
                        yield f"{table}.{column}", value
    except sqlite3.Error:
        return
    finally:
        connection.close()


def leaks_in_files(root: Path, secrets: frozenset[str] | None = None) -> list[str]:
    """Watched secrets found, in any of their `forms`, in a host database file under `root`.

    The raw bytes of every `powerstrip.db*` file (pages, journal, WAL), and the members of
    every zip a table of the database holds (data exports are kept compressed).
    """
    scanner = _scanner(secrets)
    found = []
    for path in sorted(root.rglob("powerstrip.db*")):
        if not path.is_file():
            continue
        hits = scanner.found(path.read_bytes())
        if path.name == "powerstrip.db":
            for _column, blob in _blobs_of(path):
                for _member, content in _expanded(blob):
                    hits |= scanner.found(content)
        found += [f"{path.name} in {path.parent.name}: {describe(s)}" for s in sorted(hits)]
    return found


def leaks_in_exports(root: Path, secrets: frozenset[str] | None = None) -> list[str]:
    """Watched secrets in the members of every `*.zip` under `root` (exports written to disk)."""
    scanner = _scanner(secrets)
    found = []
    for path in sorted(root.rglob("*.zip")):
        if not path.is_file():
            continue
        for member, content in _expanded(path.read_bytes()):
            found += [
                f"{path.name}:{member}: {describe(s)}" for s in sorted(scanner.found(content))
            ]
    return found


# -- answers of the host's API ---------------------------------------------------------------

_answers: dict[bytes, tuple[str, bytes]] = {}


def record_answer(where: str, data: bytes) -> None:
    """Keep one answer of a host app (its head and body) for the final scan; zips expanded."""
    parts = [(where, data)]
    # A body that is a zip (a data export download) is searched inside, member by member.
    body = data.partition(b"\r\n\r\n")[2]
    parts += [(f"{where} {member}", content) for member, content in _expanded(body)]
    with _lock:
        for place, content in parts:
            _answers.setdefault(hashlib.sha256(content).digest(), (place, content))


def leaks_in_answers(secrets: frozenset[str] | None = None) -> list[str]:
    """Watched secrets in any recorded answer of a host app, with the request that got it."""
    scanner = _scanner(secrets)
    with _lock:
        answers = list(_answers.values())
    found = []
    for where, content in answers:
        found += [f"{where}: {describe(s)}" for s in sorted(scanner.found(content))]
    return found


# -- PostgreSQL dumps ------------------------------------------------------------------------

_artifacts: list[Path] = []
_BYTEA = re.compile(rb"\\x((?:504b0304)[0-9a-f]*)")


def set_artifact_dir(path: Path) -> None:
    """Where `dump_postgres` writes its dumps (the worker's temporary directory)."""
    _artifacts[:] = [path]


def dump_postgres(url: str, schema: str) -> Path | None:
    """`pg_dump` one test schema to the artifact directory for the final scan.

    None when there is no artifact directory (outside pytest) or no `pg_dump` (the client
    package is missing): the scan then has no dump to search, and says nothing about one.
    """
    program = shutil.which("pg_dump")
    if not _artifacts or program is None:
        return None
    target = _artifacts[0] / "postgres-dumps" / f"{schema}.sql"
    target.parent.mkdir(parents=True, exist_ok=True)
    from sqlalchemy.engine import make_url  # the URL's driver part means nothing to libpq

    parts = make_url(url)
    env = {**os.environ, "PGPASSWORD": parts.password or "", "PGCONNECT_TIMEOUT": "10"}
    with target.open("wb") as out:
        done = subprocess.run(  # noqa: S603 - a fixed program and our own arguments
            [
                program,
                "--no-owner",
                "--no-privileges",
                f"--schema={schema}",
                f"--host={parts.host or '127.0.0.1'}",
                f"--port={parts.port or 5432}",
                f"--username={parts.username or 'postgres'}",
                f"--dbname={parts.database or 'postgres'}",
            ],
            stdout=out,
            stderr=subprocess.PIPE,
            check=False,
            timeout=60,
            env=env,
        )
    if done.returncode != 0:
        raise RuntimeError(f"pg_dump of {schema} failed: {done.stderr.decode()[:500]}")
    return target


def leaks_in_dumps(root: Path, secrets: frozenset[str] | None = None) -> list[str]:
    """Watched secrets in every PostgreSQL dump under `root`, zips in `bytea` values expanded."""
    scanner = _scanner(secrets)
    found = []
    for path in sorted(root.rglob("postgres-dumps/*.sql")):
        data = path.read_bytes()
        hits = scanner.found(data)
        for match in _BYTEA.finditer(data):
            with contextlib.suppress(ValueError, binascii.Error):
                for _member, content in _expanded(bytes.fromhex(match.group(1).decode())):
                    hits |= scanner.found(content)
        found += [f"dump {path.name}: {describe(s)}" for s in sorted(hits)]
    return found


def scan_session(root: Path, log_text: str) -> list[str]:
    """Every leak of a watched secret the session left: logs, answers, files, exports, dumps."""
    secrets = watched()
    leaks = [f"log: {leak}" for leak in leaks_in_text(log_text, secrets)]
    leaks += [f"API answer {leak}" for leak in leaks_in_answers(secrets)]
    leaks += [f"database file {leak}" for leak in leaks_in_files(root, secrets)]
    leaks += [f"export {leak}" for leak in leaks_in_exports(root, secrets)]
    leaks += [f"PostgreSQL {leak}" for leak in leaks_in_dumps(root, secrets)]
    return leaks


class LogCapture(logging.Handler):
    """Keeps the text of every record (with its traceback) for the final scan."""

    def __init__(self, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self._texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a record that cannot be formatted is searched by its parts
            text = f"{record.msg} {record.args}"
        with _lock:
            self._texts.append(text)

    def text(self) -> str:
        with _lock:
            return "\n".join(self._texts)
