"""The store: tables, sessions and migrations; SQLite by default, PostgreSQL by URL.

It holds no business rules (DESIGN.md): what may be written is decided above it, in the registry
and the runtime. Every write that belongs together goes through one `transaction(...)`.

    engine = create_engine(settings.database_url)
    await upgrade(settings.database_url)           # at startup: migrate to the newest schema
    sessions = session_factory(engine)
    async with transaction(sessions) as session:
        session.add(User(username="ada"))

The turn path's batches of prebuilt Core statements run as one synchronous job each
(`read_job`, `write_job`): one trip to SQLite's thread for the whole batch.
"""

from powerstrip.store.engine import create_engine, display_url, normalize_url, session_factory
from powerstrip.store.jobs import read_job, write_job
from powerstrip.store.mcp_clients import (
    MCP_TOKEN_KINDS,
    McpAuthCode,
    McpClient,
    McpConnection,
    McpToken,
)
from powerstrip.store.migrate import (
    current_revision,
    head_revision,
    require_head,
    revision_of,
    upgrade,
)
from powerstrip.store.models import (
    API_OBJECT_KINDS,
    APPROVAL_STATUSES,
    CALL_OUTCOMES,
    CREDENTIAL_KINDS,
    DOCUMENT_KINDS,
    EXPORT_STATUSES,
    FEEDBACK_RATINGS,
    JOB_STATUSES,
    ApiFileContent,
    ApiObject,
    ApiReplay,
    ApiToken,
    Approval,
    Base,
    Call,
    Chunk,
    Conversation,
    ConversationPlugin,
    Credential,
    Document,
    Export,
    Feedback,
    Grant,
    HostSecret,
    Install,
    Job,
    Message,
    OAuthState,
    Password,
    Plugin,
    Registration,
    SignInUse,
    User,
    WebSession,
)
from powerstrip.store.session import transaction
from powerstrip.store.types import UTCDateTime, utcnow
from powerstrip.store.upsert import upsert

__all__ = [
    "API_OBJECT_KINDS",
    "APPROVAL_STATUSES",
    "CALL_OUTCOMES",
    "CREDENTIAL_KINDS",
    "DOCUMENT_KINDS",
    "EXPORT_STATUSES",
    "FEEDBACK_RATINGS",
    "JOB_STATUSES",
    "MCP_TOKEN_KINDS",
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
    "McpAuthCode",
    "McpClient",
    "McpConnection",
    "McpToken",
    "Message",
    "OAuthState",
    "Password",
    "Plugin",
    "Registration",
    "SignInUse",
    "UTCDateTime",
    "User",
    "WebSession",
    "create_engine",
    "current_revision",
    "display_url",
    "head_revision",
    "normalize_url",
    "read_job",
    "require_head",
    "revision_of",
    "session_factory",
    "transaction",
    "upgrade",
    "upsert",
    "utcnow",
    "write_job",
]
