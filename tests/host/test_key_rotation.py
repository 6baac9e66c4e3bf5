"""`rotate_keys`: every sealed column re-sealed under the active key, all or nothing."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.auth import Vault
from powerstrip.errors import VaultError
from powerstrip.host.key_rotation import rotate_keys, sealed_columns
from powerstrip.registry.context import (
    client_secret_context,
    credential_context,
    service_key_context,
    verifier_context,
)
from powerstrip.store import (
    Base,
    Credential,
    OAuthState,
    Plugin,
    Registration,
    User,
    create_engine,
    session_factory,
    transaction,
    upgrade,
    utcnow,
)

pytestmark = pytest.mark.anyio

OLD = os.urandom(32)
NEW = os.urandom(32)


@dataclass
class Store:
    sessions: async_sessionmaker[AsyncSession]
    # Every sealed value written, with the context it opens in and its plaintext.
    secrets: list[tuple[str, str, str, str]]  # table, column, context, plaintext


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    await upgrade(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    old = Vault({"old": OLD}, "old")
    secrets: list[tuple[str, str, str, str]] = []

    def seal(table: str, column: str, context: str, plaintext: str) -> str:
        secrets.append((table, column, context, plaintext))
        return old.seal(plaintext, context=context)

    async with transaction(sessions) as session:
        user = User(username="ada")
        session.add(user)
        plugins = [
            Plugin(
                name_for_model=f"p{n}",
                manifest_url=f"https://p{n}.example.com/.well-known/ai-plugin.json",
                root_domain=f"p{n}.example.com",
                manifest={},
                spec_url="",
                api_base_url="",
                auth_type="none",
            )
            for n in range(2)
        ]
        session.add_all(plugins)
        await session.flush()
        first, second = plugins
        session.add_all(
            [
                Registration(
                    plugin_id=first.id,
                    verification_token="t",
                    service_key_sealed=seal(
                        "registrations",
                        "service_key_sealed",
                        service_key_context(first.id),
                        "service-key",
                    ),
                ),
                Registration(
                    plugin_id=second.id,
                    verification_token="t",
                    oauth_client_id="client",
                    oauth_client_secret_sealed=seal(
                        "registrations",
                        "oauth_client_secret_sealed",
                        client_secret_context(second.id),
                        "client-secret",
                    ),
                ),
                Credential(
                    user_id=user.id,
                    plugin_id=first.id,
                    kind="user_key",
                    secret_sealed=seal(
                        "credentials",
                        "secret_sealed",
                        credential_context(user.id, first.id, "secret"),
                        "user-key",
                    ),
                ),
                Credential(
                    user_id=user.id,
                    plugin_id=second.id,
                    kind="oauth",
                    secret_sealed=seal(
                        "credentials",
                        "secret_sealed",
                        credential_context(user.id, second.id, "secret"),
                        "access-token",
                    ),
                    refresh_sealed=seal(
                        "credentials",
                        "refresh_sealed",
                        credential_context(user.id, second.id, "refresh"),
                        "refresh-token",
                    ),
                ),
                OAuthState(
                    state_hash="a" * 64,
                    user_id=user.id,
                    plugin_id=second.id,
                    session_id="s",
                    code_verifier_sealed=seal(
                        "oauth_states",
                        "code_verifier_sealed",
                        verifier_context("a" * 64),
                        "verifier",
                    ),
                    redirect_uri="https://host.example.org/cb",
                    expires_at=utcnow() + timedelta(minutes=5),
                ),
            ]
        )
    yield Store(sessions, secrets)
    await engine.dispose()


async def _values(store: Store) -> dict[tuple[str, str], list[str]]:
    """Every sealed value in the store, by table and column, in primary key order."""
    found: dict[tuple[str, str], list[str]] = {}
    async with store.sessions() as session:
        for model in (Registration, Credential, OAuthState):
            rows = (await session.execute(select(model))).scalars().all()
            for column in sealed_columns()[model.__tablename__]:
                found[(model.__tablename__, column)] = [
                    value for row in rows if (value := getattr(row, column)) is not None
                ]
    return found


def _opened(vault: Vault, values: list[str], context: str) -> set[str]:
    """What the values of a column open to in `context` (other rows' values do not open)."""
    opened = set()
    for value in values:
        try:
            opened.add(vault.open(value, context=context))
        except VaultError:
            continue
    return opened


def test_every_sealed_column_of_the_store_is_rotated() -> None:
    in_store = {
        table.name: tuple(c.name for c in table.columns if c.name.endswith("_sealed"))
        for table in Base.metadata.sorted_tables
    }
    assert {name: columns for name, columns in in_store.items() if columns} == sealed_columns()


async def test_rotation_reseals_everything_under_the_new_key(store: Store) -> None:
    async with store.sessions() as session:
        stamps = {c.id: c.updated_at for c in (await session.execute(select(Credential))).scalars()}
    progress: list[tuple[str, int, int]] = []
    vault = Vault({"new": NEW, "old": OLD}, "new")

    report = await rotate_keys(
        store.sessions, vault, on_progress=lambda *args: progress.append(args)
    )

    assert (report.active_key_id, report.rotated, report.current) == ("new", 6, 0)
    assert {t.table: (t.rotated, t.current) for t in report.tables} == {
        "registrations": (2, 0),
        "credentials": (3, 0),
        "oauth_states": (1, 0),
        "host_secrets": (0, 0),
    }
    assert progress == [
        ("registrations", 2, 6),
        ("credentials", 5, 6),
        ("oauth_states", 6, 6),
        ("host_secrets", 6, 6),
    ]
    values = await _values(store)
    only_new = Vault({"new": NEW}, "new")
    for table, column, context, plaintext in store.secrets:
        assert plaintext in _opened(only_new, values[(table, column)], context)
    assert all(v.startswith("v1.new.") for vs in values.values() for v in vs)
    async with store.sessions() as session:
        after = {c.id: c.updated_at for c in (await session.execute(select(Credential))).scalars()}
    assert after == stamps  # a rotation is not a change of the credential

    again = await rotate_keys(store.sessions, vault)
    assert (again.rotated, again.current) == (0, 6)
    assert await _values(store) == values


async def test_a_tampered_value_stops_the_rotation_and_changes_nothing(store: Store) -> None:
    async with transaction(store.sessions) as session:
        credential = (
            (await session.execute(select(Credential).order_by(Credential.id.desc())))
            .scalars()
            .first()
        )
        assert credential is not None
        token = credential.secret_sealed
        credential.secret_sealed = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
        tampered_id = credential.id
    before = await _values(store)

    with pytest.raises(VaultError) as caught:
        await rotate_keys(store.sessions, Vault({"new": NEW, "old": OLD}, "new"))

    message = str(caught.value)
    assert f"table credentials, row id={tampered_id}, column secret_sealed" in message
    assert "changed nothing" in message
    assert await _values(store) == before


async def test_a_value_sealed_with_a_removed_key_stops_the_rotation(store: Store) -> None:
    before = await _values(store)
    with pytest.raises(VaultError) as caught:
        await rotate_keys(store.sessions, Vault({"new": NEW}, "new"))
    assert "table registrations, row id=1, column service_key_sealed" in str(caught.value)
    assert "not configured" in str(caught.value)
    assert await _values(store) == before


async def test_a_secret_written_during_the_rotation_waits_for_it_and_is_kept(
    store: Store, tmp_path: Path
) -> None:
    old = Vault({"old": OLD}, "old")
    fresh = old.seal("refreshed-token", context=credential_context(1, 2, "secret"))
    refused: list[str] = []

    def meanwhile(table: str, seen: int, total: int) -> None:
        # The server refreshes a token after the rotation read the table, before it writes:
        # the rotation holds SQLite's write lock from its first read, so the write must wait.
        if table == "credentials" and not refused:
            with sqlite3.connect(tmp_path / "store.db", timeout=0.1) as connection:
                try:
                    connection.execute(
                        "UPDATE credentials SET secret_sealed = ? "
                        "WHERE user_id = 1 AND plugin_id = 2",
                        (fresh,),
                    )
                except sqlite3.OperationalError as exc:
                    refused.append(str(exc))

    report = await rotate_keys(
        store.sessions, Vault({"new": NEW, "old": OLD}, "new"), on_progress=meanwhile
    )
    assert refused == ["database is locked"]
    assert report.rotated == 6
    # The refresh that waited lands after the rotation, and nothing overwrites it.
    with sqlite3.connect(tmp_path / "store.db") as connection:
        connection.execute(
            "UPDATE credentials SET secret_sealed = ? WHERE user_id = 1 AND plugin_id = 2",
            (fresh,),
        )
    async with store.sessions() as session:
        kept = await session.scalar(
            select(Credential.secret_sealed).where(
                Credential.user_id == 1, Credential.plugin_id == 2
            )
        )
    assert kept == fresh
    again = await rotate_keys(store.sessions, Vault({"new": NEW, "old": OLD}, "new"))
    assert again.rotated == 1  # the refreshed token, sealed under the old key
