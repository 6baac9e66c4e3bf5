"""`upsert`: concurrent writers of one unique row all succeed, and the row holds the last."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.store import Grant, Plugin, User, transaction, upsert, utcnow

pytestmark = pytest.mark.anyio


async def _user_and_plugin(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with transaction(sessions) as session:
        user = User(username="ada")
        plugin = Plugin(
            name_for_model="todo",
            manifest_url="https://example.com/.well-known/ai-plugin.json",
            root_domain="example.com",
            manifest={"schema_version": "v1"},
            spec_url="https://example.com/openapi.yaml",
            api_base_url="https://example.com",
            auth_type="none",
        )
        session.add_all([user, plugin])
        await session.flush()
        return user.id, plugin.id


async def test_concurrent_upserts_of_one_row_all_succeed_and_leave_one_row(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    user_id, plugin_id = await _user_and_plugin(sessions)
    start = utcnow()

    async def grant(days: int) -> None:
        async with transaction(sessions) as session:
            await upsert(
                session,
                Grant,
                {
                    "user_id": user_id,
                    "plugin_id": plugin_id,
                    "operation_id": "list_todos",
                    "created_at": utcnow(),
                    "expires_at": start + timedelta(days=days),
                },
                key=("user_id", "plugin_id", "operation_id"),
                update=("created_at", "expires_at"),
            )

    await asyncio.gather(*(grant(days) for days in range(1, 17)))
    async with sessions() as session:
        [row] = (await session.execute(select(Grant))).scalars().all()
    assert (row.user_id, row.plugin_id, row.operation_id) == (user_id, plugin_id, "list_todos")
    assert row.expires_at is not None
    assert start + timedelta(days=1) <= row.expires_at <= start + timedelta(days=16)
