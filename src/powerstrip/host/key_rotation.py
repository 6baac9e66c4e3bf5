"""Key rotation: re-seal every secret in the store under the vault's active key.

After a new key is put first in `POWERSTRIP_VAULT_KEYS` (the old ones after it), `rotate_keys`
opens each sealed value with whichever key sealed it and seals it again with the active one;
then the old keys can be dropped. Every sealed column (`*_sealed` in `store.models`) is covered,
each opened in the vault context it was sealed for (`registry.context`).

It is all one transaction, and every value is opened before anything is written: a value that
does not open (altered, or sealed with a key no longer configured) stops the rotation with a
`VaultError` naming its table, row and column, and the store is left exactly as it was.

    report = await rotate_keys(host.sessions, host.vault)
    print(report.rotated, "re-sealed,", report.current, "already current")
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from powerstrip.auth import Vault
from powerstrip.errors import VaultError
from powerstrip.host.host_secret import host_secret_context
from powerstrip.registry.context import (
    client_secret_context,
    credential_context,
    service_key_context,
    verifier_context,
)
from powerstrip.store import Credential, HostSecret, OAuthState, Registration, transaction

__all__ = [
    "ProgressCallback",
    "RotationReport",
    "TableRotation",
    "rotate_keys",
    "sealed_columns",
]

logger = logging.getLogger(__name__)

# Called after each table with (table name, values seen so far, values in all tables).
ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class TableRotation:
    """What the rotation did in one table."""

    table: str
    rotated: int
    current: int


@dataclass(frozen=True, slots=True)
class RotationReport:
    """What a rotation did: per table, how many values were re-sealed and how many were current."""

    active_key_id: str
    tables: tuple[TableRotation, ...]

    @property
    def rotated(self) -> int:
        """Values re-sealed under the active key."""
        return sum(table.rotated for table in self.tables)

    @property
    def current(self) -> int:
        """Values that were sealed under the active key already (opened, left unchanged)."""
        return sum(table.current for table in self.tables)


@dataclass(frozen=True, slots=True)
class _Column:
    """A sealed column, and the vault context of its value in a given row."""

    name: str
    context: Callable[[Any], str]  # Any: a row of the column's table


@dataclass(frozen=True, slots=True)
class _Table:
    model: type[Registration] | type[Credential] | type[OAuthState] | type[HostSecret]
    key: str  # the primary key attribute, to name the row and target the update
    columns: tuple[_Column, ...]
    # Columns written back unchanged, so an `onupdate` timestamp keeps its meaning: a rotation
    # changes how a secret is stored, not the secret.
    keep: tuple[str, ...] = ()


# Every `*_sealed` column of store.models; `test_key_rotation` fails when a new one is missing.
_TABLES: tuple[_Table, ...] = (
    _Table(
        Registration,
        "id",
        (
            _Column("service_key_sealed", lambda row: service_key_context(row.plugin_id)),
            _Column("oauth_client_secret_sealed", lambda row: client_secret_context(row.plugin_id)),
        ),
    ),
    _Table(
        Credential,
        "id",
        (
            _Column(
                "secret_sealed",
                lambda row: credential_context(row.user_id, row.plugin_id, "secret"),
            ),
            _Column(
                "refresh_sealed",
                lambda row: credential_context(row.user_id, row.plugin_id, "refresh"),
            ),
        ),
        keep=("updated_at",),
    ),
    _Table(
        OAuthState,
        "state_hash",
        (_Column("code_verifier_sealed", lambda row: verifier_context(row.state_hash)),),
    ),
    _Table(
        HostSecret,
        "name",
        (_Column("secret_sealed", lambda row: host_secret_context(row.name)),),
    ),
)


def sealed_columns() -> dict[str, tuple[str, ...]]:
    """The sealed columns rotation covers, by table name."""
    return {
        table.model.__tablename__: tuple(column.name for column in table.columns)
        for table in _TABLES
    }


async def rotate_keys(
    sessions: async_sessionmaker[AsyncSession],
    vault: Vault,
    *,
    on_progress: ProgressCallback | None = None,
) -> RotationReport:
    """Re-seal every stored secret not sealed under the vault's active key, in one transaction.

    Raises `VaultError` naming the table, row and column of the first value that does not open;
    nothing is written then.
    """
    async with transaction(sessions) as session:
        rows = [(table, await _rows(session, table)) for table in _TABLES]
        total = sum(_count(table, table_rows) for table, table_rows in rows)
        seen = 0
        results: list[TableRotation] = []
        writes: list[_Write] = []
        for table, table_rows in rows:
            result, table_writes = _reseal(vault, table, table_rows)
            results.append(result)
            writes.extend(table_writes)
            seen += result.rotated + result.current
            if on_progress is not None:
                on_progress(result.table, seen, total)
        # Only now, with every value opened, is anything written. Each update also requires the
        # value it replaces: a secret written meanwhile (a token refreshed by the server; SQLite
        # does not lock what was read) is never overwritten with the older one.
        for write in writes:
            table = write.table
            outcome = await session.execute(
                update(table.model)
                .where(
                    _attribute(table, table.key) == write.key,
                    *(_attribute(table, name) == old for name, old in write.old.items()),
                )
                .values(**write.values, **{name: _attribute(table, name) for name in table.keep})
            )
            if not outcome.rowcount:  # type: ignore[attr-defined]
                raise VaultError(
                    "key rotation stopped and changed nothing: a secret changed while it ran",
                    where=f"table {table.model.__tablename__}, row {table.key}={write.key}",
                    fix="run `powerstrip keys rotate` again",
                )
    report = RotationReport(vault.active_key_id, tuple(results))
    logger.info(
        "keys.rotate active=%s rotated=%s current=%s",
        report.active_key_id,
        report.rotated,
        report.current,
    )
    return report


@dataclass(frozen=True, slots=True)
class _Write:
    table: _Table
    key: Any  # Any: the row's primary key (an int or a str)
    values: dict[str, str]
    old: dict[str, str]  # the values read, which the update requires to be unchanged


async def _rows(session: AsyncSession, table: _Table) -> Sequence[Any]:  # Any: the table's rows
    # FOR UPDATE (PostgreSQL): a token refreshed meanwhile is not overwritten with its older
    # value. SQLite has a single writer and fails a transaction whose snapshot went stale.
    statement = select(table.model).order_by(_attribute(table, table.key)).with_for_update()
    return (await session.execute(statement)).scalars().all()


def _count(table: _Table, rows: Sequence[Any]) -> int:  # Any: the table's rows
    return sum(
        1 for row in rows for column in table.columns if getattr(row, column.name) is not None
    )


def _reseal(
    vault: Vault,
    table: _Table,
    rows: Sequence[Any],  # Any: the table's rows
) -> tuple[TableRotation, list[_Write]]:
    name = table.model.__tablename__
    rotated = current = 0
    writes: list[_Write] = []
    for row in rows:
        changed: dict[str, str] = {}
        old: dict[str, str] = {}
        for column in table.columns:
            token = getattr(row, column.name)
            if token is None:
                continue
            try:
                fresh = vault.rotate(token, context=column.context(row))
            except VaultError as exc:
                key = getattr(row, table.key)
                raise VaultError(
                    f"key rotation stopped and changed nothing: {exc.message}",
                    where=f"table {name}, row {table.key}={key}, column {column.name}",
                    fix=(
                        "if the key that sealed it was removed, put it back in "
                        "POWERSTRIP_VAULT_KEYS after the active one; if the value was altered, "
                        "delete that row (its owner enters the secret or signs in again); "
                        "then rotate again"
                    ),
                ) from None
            if fresh == token:
                current += 1
            else:
                changed[column.name] = fresh
                old[column.name] = token
                rotated += 1
        if changed:
            writes.append(_Write(table, getattr(row, table.key), changed, old))
    return TableRotation(name, rotated, current), writes


def _attribute(table: _Table, name: str) -> InstrumentedAttribute[Any]:  # Any: column type
    attribute: InstrumentedAttribute[Any] = getattr(table.model, name)
    return attribute
