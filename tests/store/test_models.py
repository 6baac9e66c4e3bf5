"""The tables keep the store's conventions: sealed secrets in TEXT, UTC timestamps, indexes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, DateTime, Text, UniqueConstraint

from powerstrip.store import Base, UTCDateTime

SECRET_WORDS = ("secret", "token", "key", "verifier", "password")
# Columns whose names sound secret but hold public values.
NOT_SECRET = {
    "registrations.verification_token",  # published in the manifest by the developer
    "messages.tool_call_id",
    "approvals.tool_call_id",
    "credentials.token_type",  # "bearer"
    "api_tokens.token_hash",  # a SHA-256 digest: a one-way hash, not the token
    "registrations.token_verified_at",
    "chunks.token_count",  # how many tokens of text the chunk holds
    "passwords.password_hash",  # an Argon2id hash: one-way, salted and slow by design
}


def _columns() -> list[tuple[str, str, Column[Any]]]:
    return [
        (table.name, column.name, column)
        for table in Base.metadata.sorted_tables
        for column in table.columns
    ]


def test_every_sealed_column_is_text() -> None:
    sealed = [(t, c, col) for t, c, col in _columns() if c.endswith("_sealed")]
    assert len(sealed) == 6
    for table, name, column in sealed:
        assert isinstance(column.type, Text), f"{table}.{name} must be TEXT"


def test_every_column_that_sounds_secret_is_sealed() -> None:
    for table, name, _ in _columns():
        qualified = f"{table}.{name}"
        if any(word in name for word in SECRET_WORDS) and qualified not in NOT_SECRET:
            assert name.endswith("_sealed"), f"{qualified} looks like a secret but is not sealed"


def test_every_timestamp_is_utc_aware() -> None:
    for table, name, column in _columns():
        if isinstance(column.type, DateTime | UTCDateTime):
            assert isinstance(column.type, UTCDateTime), f"{table}.{name}"


def test_the_host_s_frequent_queries_have_indexes() -> None:
    indexed = {
        (index.table.name, tuple(column.name for column in index.columns))
        for table in Base.metadata.sorted_tables
        for index in table.indexes
        if index.table is not None
    }
    unique = {
        (table.name, tuple(constraint.columns.keys()))
        for table in Base.metadata.sorted_tables
        for constraint in table.constraints
        if isinstance(constraint, UniqueConstraint)
    }
    assert ("calls", ("conversation_id", "started_at")) in indexed
    assert ("installs", ("plugin_id",)) in indexed
    assert ("messages", ("conversation_id", "seq")) in unique
    assert ("installs", ("user_id", "plugin_id")) in unique
    assert ("grants", ("user_id", "plugin_id", "operation_id")) in unique
