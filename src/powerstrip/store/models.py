"""The tables: what the host records, and nothing about the rules that decide it (DESIGN.md).

Conventions: integer autoincrement ids unless a row is named by a uuid; every timestamp is a
timezone-aware UTC `UTCDateTime`; every secret is a vault token in a TEXT column whose name ends
with `_sealed`. Rows a user owns go when the user goes (ON DELETE CASCADE), so deleting an account
(spec §9) is one DELETE. Changing a table here needs a new migration in `migrations/versions/`: a
test fails when models and migrations disagree.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from powerstrip.aliases import JSONValue
from powerstrip.store.types import UTCDateTime, utcnow

__all__ = [
    "API_OBJECT_KINDS",
    "APPROVAL_STATUSES",
    "CALL_OUTCOMES",
    "CREDENTIAL_KINDS",
    "DOCUMENT_KINDS",
    "EXPORT_STATUSES",
    "FEEDBACK_RATINGS",
    "JOB_STATUSES",
    "ApiFileContent",
    "ApiObject",
    "ApiReplay",
    "ApiToken",
    "Approval",
    "Base",
    "Call",
    "Chunk",
    "Conversation",
    "ConversationPlugin",
    "Credential",
    "Document",
    "Export",
    "Feedback",
    "Grant",
    "HostSecret",
    "Install",
    "Job",
    "Message",
    "OAuthState",
    "Password",
    "Plugin",
    "Registration",
    "SignInUse",
    "User",
    "WebSession",
]

# Explicit constraint names, so migrations can name what they alter on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CREDENTIAL_KINDS = ("user_key", "oauth")
CALL_OUTCOMES = (
    "ok",
    "http_error",
    "network_error",
    "timeout",
    "refused",
    "invalid_arguments",
    "declined",
)
APPROVAL_STATUSES = ("pending", "approved", "declined")
# What a document was read from; "text" is text given directly (an API upsert, a note).
DOCUMENT_KINDS = ("text", "markdown", "html", "pdf", "docx")
FEEDBACK_RATINGS = ("up", "down")
# An export is built, then ready until downloaded once (used) or expired; failed keeps no file.
EXPORT_STATUSES = ("building", "ready", "used", "failed")
# A background job waits (queued), runs, then ends done, failed or cancelled.
JOB_STATUSES = ("queued", "running", "done", "failed", "cancelled")

# What the OpenAI-compatible API (/v1) keeps, one kind per object of OpenAI's API.
API_OBJECT_KINDS = (
    "file",
    "vector_store",
    "vector_store_file",
    "file_batch",
    "response",
    "conversation",
    "item",
    "assistant",
    "run",
    "upload",
    "upload_part",
)

# JSON columns hold whatever the manifest, the model or the request carried: any JSON value.


def _one_of(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


def _new_uuid() -> str:
    return str(uuid.uuid4())


def _user_fk() -> ForeignKey:
    return ForeignKey("users.id", ondelete="CASCADE")


def _plugin_fk() -> ForeignKey:
    return ForeignKey("plugins.id", ondelete="CASCADE")


class Base(DeclarativeBase):
    """The declarative base every table derives from."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012


class User(Base):
    """A person who signs in to the host."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # ISO 3166-2 code sent as `openai-subdivision-1-iso-code` when set (spec §6).
    subdivision: Mapped[str | None] = mapped_column(String(8))
    # The chat history switch (spec §9): conversations started while it is off are unlisted
    # and deleted after the retention period. `email` is where export links are mailed.
    history_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HostSecret(Base):
    """A random key of the host itself (pseudonyms, sign-in links), sealed by the vault.

    Kept in the store, not derived from the vault keys, so rotating those keys changes neither
    users' pseudonyms nor links in flight, and every process sharing the store agrees on it.
    """

    __tablename__ = "host_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret_sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A bearer token for the REST API; only its SHA-256 is kept, the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(_user_fk(), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Space-separated: chat, files, admin (admin counts only for an admin's token).
    scopes: Mapped[str] = mapped_column(String(100), default="admin chat files")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()


class Plugin(Base):
    """An installed plugin: its manifest as read, where its API is, and its cached spec."""

    __tablename__ = "plugins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name_for_model: Mapped[str] = mapped_column(String(255))
    manifest_url: Mapped[str] = mapped_column(String(2048), unique=True)
    root_domain: Mapped[str] = mapped_column(String(253))
    manifest: Mapped[dict[str, JSONValue]] = mapped_column(JSON)
    spec_url: Mapped[str] = mapped_column(Text)
    api_base_url: Mapped[str] = mapped_column(Text)
    auth_type: Mapped[str] = mapped_column(String(32))
    spec_body: Mapped[str | None] = mapped_column(Text)
    spec_etag: Mapped[str | None] = mapped_column(String(512))
    spec_last_modified: Mapped[str | None] = mapped_column(String(64))
    spec_fetched_at: Mapped[datetime | None] = mapped_column()
    # "METHOD /path" of each operation as of the last add or refresh: what the next refresh
    # reports its changes against (the spec cache updates spec_body between refreshes).
    reviewed_operations: Mapped[list[str] | None] = mapped_column(JSON)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    banned: Mapped[bool] = mapped_column(Boolean, default=False)
    lenient: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Registration(Base):
    """What a plugin's developer set up: the service key or OAuth client, the verification token.

    `developer_id` is SET NULL when the developer's account goes: the plugin outlives it.
    """

    __tablename__ = "registrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plugin_id: Mapped[int] = mapped_column(_plugin_fk(), unique=True)
    developer_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    service_key_sealed: Mapped[str | None] = mapped_column(Text)
    oauth_client_id: Mapped[str | None] = mapped_column(String(512))
    oauth_client_secret_sealed: Mapped[str | None] = mapped_column(Text)
    # Not a secret: the developer publishes it in the manifest's `verification_tokens`.
    verification_token: Mapped[str] = mapped_column(String(128))
    token_verified_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Install(Base):
    """A user's install of a plugin, with the auth and API host they consented to (spec §7)."""

    __tablename__ = "installs"
    __table_args__ = (
        UniqueConstraint("user_id", "plugin_id"),
        # The registry counts a plugin's installs (the 15-user cap on unverified plugins).
        Index(None, "plugin_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(_user_fk())
    plugin_id: Mapped[int] = mapped_column(_plugin_fk())
    consented_auth: Mapped[dict[str, JSONValue]] = mapped_column(JSON)
    consented_api_host: Mapped[str] = mapped_column(String(253))
    needs_reconsent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Credential(Base):
    """A user's secret for a plugin: a pasted key, or OAuth tokens — sealed."""

    __tablename__ = "credentials"
    __table_args__ = (
        UniqueConstraint("user_id", "plugin_id"),
        CheckConstraint(_one_of("kind", CREDENTIAL_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(_user_fk())
    plugin_id: Mapped[int] = mapped_column(_plugin_fk())
    kind: Mapped[str] = mapped_column(String(16))
    secret_sealed: Mapped[str] = mapped_column(Text)  # the user key, or the access token
    refresh_sealed: Mapped[str | None] = mapped_column(Text)
    token_type: Mapped[str | None] = mapped_column(String(32))
    scope: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SignInUse(Base):
    """A sign-in link that was followed: each link starts one sign-in, then no more."""

    __tablename__ = "sign_in_uses"

    link_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the link
    used_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class OAuthState(Base):
    """A pending OAuth sign-in: single-use, bound to a session, expiring (spec §4).

    Keyed by the SHA-256 of the state, never the state itself, so a database read cannot
    complete someone's sign-in.
    """

    __tablename__ = "oauth_states"
    __table_args__ = (Index(None, "expires_at"),)

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(_user_fk())
    plugin_id: Mapped[int] = mapped_column(_plugin_fk())
    session_id: Mapped[str] = mapped_column(String(128))
    code_verifier_sealed: Mapped[str] = mapped_column(Text)
    redirect_uri: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class Conversation(Base):
    """A chat; `deleted_at` marks it gone from view until it is purged (spec §9).

    `history_enabled` is the owner's history switch when the conversation started, kept for
    good: off, it is unlisted and the retention job deletes it once it is old enough.
    """

    __tablename__ = "conversations"
    __table_args__ = (
        Index(None, "user_id", "updated_at"),  # the history list
        Index(None, "history_enabled", "created_at"),  # the retention job
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_new_uuid)
    user_id: Mapped[int] = mapped_column(_user_fk())
    title: Mapped[str] = mapped_column(String(300), default="")
    history_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column()
    # An API turn's sampling options (Chat Completions' names): the rest of a turn resumed at
    # the host's approval link samples as its request asked. NULL: the backend's defaults.
    sampling: Mapped[dict[str, JSONValue] | None] = mapped_column(JSON)


class ConversationPlugin(Base):
    """A plugin enabled in a conversation."""

    __tablename__ = "conversation_plugins"

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    plugin_id: Mapped[int] = mapped_column(_plugin_fk(), primary_key=True)
    enabled_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    """One message of a conversation, in order (`seq`), in the OpenAI chat shape."""

    __tablename__ = "messages"
    # The unique constraint is also the index that reads a conversation in order; the other
    # finds the last day's messages (the periodic recovery sweep, `host/turn_recovery.py`).
    __table_args__ = (UniqueConstraint("conversation_id", "seq"), Index(None, "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str | None] = mapped_column(Text)
    tool_calls: Mapped[list[JSONValue] | None] = mapped_column(JSON)
    tool_call_id: Mapped[str | None] = mapped_column(String(128))
    # A tool message's plugin (its namespace), kept when written: the model sees the result
    # marked as that plugin's data, even after the plugin is disabled. NULL: not a plugin's.
    source_plugin: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Call(Base):
    """One plugin API call as it was made: redacted request, outcome, sizes and timing."""

    __tablename__ = "calls"
    __table_args__ = (
        CheckConstraint(_one_of("outcome", CALL_OUTCOMES), name="outcome"),
        Index(None, "conversation_id", "started_at"),
        Index(None, "user_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_new_uuid)
    # NULL: made for an MCP client, outside any conversation (still the user's call).
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(_user_fk())
    plugin_id: Mapped[int] = mapped_column(_plugin_fk())
    function_name: Mapped[str] = mapped_column(String(64))
    operation_id: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(10))
    url: Mapped[str] = mapped_column(Text)  # redacted: no secrets in the query
    request: Mapped[dict[str, JSONValue]] = mapped_column(JSON)  # redacted
    status_code: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(24))
    error: Mapped[str | None] = mapped_column(Text)
    request_bytes: Mapped[int] = mapped_column(Integer, default=0)
    response_bytes: Mapped[int] = mapped_column(Integer, default=0)
    response_excerpt: Mapped[str] = mapped_column(Text, default="")  # redacted, truncated
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class Approval(Base):
    """A consequential call waiting for, or given, the user's yes or no (spec §5)."""

    __tablename__ = "approvals"
    __table_args__ = (
        CheckConstraint(_one_of("status", APPROVAL_STATUSES), name="status"),
        Index(None, "conversation_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    tool_call_id: Mapped[str] = mapped_column(String(128))
    function_name: Mapped[str] = mapped_column(String(64))
    arguments: Mapped[dict[str, JSONValue]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column()


class Grant(Base):
    """An "always allow" for one operation of a plugin, by one user (spec §5)."""

    __tablename__ = "grants"
    __table_args__ = (UniqueConstraint("user_id", "plugin_id", "operation_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(_user_fk())
    plugin_id: Mapped[int] = mapped_column(_plugin_fk())
    operation_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()  # NULL: until revoked


class Document(Base):
    """A document in a user's collection: its metadata; its text lives in its chunks.

    A collection is named per user (`user_id`, `collection`): every read and write of retrieval
    is scoped by both, so one user's text never reaches another's search. `external_id` is the
    caller's name for the document (a plugin's document id, a file's path), unique in the
    collection, so adding it again replaces it. `created_at` is the document's own date (as its
    metadata says), `added_at` when it was indexed.
    """

    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("user_id", "collection", "external_id"),
        CheckConstraint(_one_of("kind", DOCUMENT_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(_user_fk())
    collection: Mapped[str] = mapped_column(String(100), default="default")
    external_id: Mapped[str] = mapped_column(String(1024))
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(500), default="")
    source: Mapped[str | None] = mapped_column(String(64))
    source_id: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime | None] = mapped_column()
    content_sha256: Mapped[str] = mapped_column(String(64))
    byte_count: Mapped[int] = mapped_column(Integer, default=0)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class Chunk(Base):
    """One piece of a document's text, in order (`position`), with its embedding.

    `user_id` and `collection` repeat the document's, so search filters chunks without a join.
    `embedding` is the vector as little-endian float32 bytes (no pgvector on Debian's
    PostgreSQL: the in-memory index is rebuilt from these), NULL in lexical-only mode;
    `embedder` names the model that made it, so a change of model is noticed, not mixed.
    """

    __tablename__ = "chunks"
    # The unique constraint is also the index that reads a document's chunks in order.
    # AUTOINCREMENT on SQLite as on PostgreSQL: an id is never reused, so a collection's
    # (count, highest id) changes with every write and tells a worker its index is stale.
    __table_args__ = (
        UniqueConstraint("document_id", "position"),
        Index(None, "user_id", "collection"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(_user_fk())
    collection: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    char_start: Mapped[int] = mapped_column(Integer)
    char_end: Mapped[int] = mapped_column(Integer)
    token_count: Mapped[int] = mapped_column(Integer)
    embedder: Mapped[str | None] = mapped_column(String(200))
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)


class ApiObject(Base):
    """An object of the OpenAI-compatible API (/v1), in OpenAI's own JSON shape (`data`).

    One table for every kind: each is a user's JSON object, listed by its parent (a vector
    store's files, a conversation's items, a thread's runs) in creation order (`seq`), which is
    all the API ever asks of them; the engines above decide what `data` holds.
    """

    __tablename__ = "api_objects"
    __table_args__ = (
        CheckConstraint(_one_of("kind", API_OBJECT_KINDS), name="kind"),
        Index(None, "user_id", "kind", "parent_id", "seq"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(_user_fk())
    kind: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, JSONValue]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Password(Base):
    """A web app account's password, as an Argon2id hash (never the password itself)."""

    __tablename__ = "passwords"

    user_id: Mapped[int] = mapped_column(_user_fk(), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebSession(Base):
    """A signed-in browser: the store keeps the SHA-256 of the session cookie, not the cookie."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie
    user_id: Mapped[int] = mapped_column(_user_fk(), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class Feedback(Base):
    """A thumbs up or down (and what was wrong) on one answer of a conversation."""

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("conversation_id", "message_seq"),
        CheckConstraint(_one_of("rating", FEEDBACK_RATINGS), name="rating"),
        Index(None, "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(_user_fk())
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    message_seq: Mapped[int] = mapped_column(Integer)
    rating: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ApiFileContent(Base):
    """The bytes of an uploaded file (`/v1/files`), kept apart from its listing row."""

    __tablename__ = "api_file_contents"

    file_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    user_id: Mapped[int] = mapped_column(_user_fk())


class ApiReplay(Base):
    """The answer to a create sent with an `Idempotency-Key`, replayed when it is sent again.

    `retry_ref` is the SHA-256 of the client's key (with the route), `body_sha256` of the request
    body: a key sent again with another body is refused, not replayed. `status` 0 means the
    first request is still being answered.
    """

    __tablename__ = "api_replays"
    __table_args__ = (Index(None, "created_at"),)

    user_id: Mapped[int] = mapped_column(_user_fk(), primary_key=True)
    retry_ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    body_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer, default=0)
    media_type: Mapped[str] = mapped_column(String(100), default="application/json")
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Export(Base):
    """A user's data export (spec §9): the zip, and the one-time link that downloads it.

    Only the SHA-256 of the link's secret is kept (`link_hash`), as for API tokens. The archive
    is in the store, so whichever process serves the link has it; it is dropped once used,
    failed or expired.
    """

    __tablename__ = "exports"
    __table_args__ = (
        CheckConstraint(_one_of("status", EXPORT_STATUSES), name="status"),
        Index(None, "user_id"),
        Index(None, "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_new_uuid)
    user_id: Mapped[int] = mapped_column(_user_fk())
    link_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="building")
    archive: Mapped[bytes | None] = mapped_column(LargeBinary)
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    mailed_to: Mapped[str | None] = mapped_column(String(320))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class Job(Base):
    """A background job of the embedded runner (`powerstrip.jobs`), kept until it is finished.

    `id` is the enqueuer's deterministic id: a job enqueued twice is one row, run once. A
    running job belongs to one process (`owner`) until `lease_until`, which that process keeps
    moving on; a job whose lease ran out (its process died) is taken up by another. `payload`
    is JSON and never holds a secret in the clear.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(_one_of("status", JOB_STATUSES), name="status"),
        Index(None, "status", "run_at"),
    )

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, JSONValue]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_at: Mapped[datetime] = mapped_column()
    owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
