"""Settings: the one place configuration is read, from `POWERSTRIP_*` environment variables.

Every field is documented in docs/configuration.md; a test fails when one is not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["Settings"]


def _split_list(value: object) -> object:
    # Lists come from the environment as comma-separated text; an empty string means "none".
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


CommaList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """Powerstrip's configuration."""

    model_config = SettingsConfigDict(env_prefix="POWERSTRIP_", extra="ignore", frozen=True)

    dev_mode: bool = Field(
        default=False,
        description=(
            "Development mode: also allow plain-HTTP plugins on http://localhost and "
            "http://127.0.0.1 (any port), as the platform's localhost flow did; each plugin "
            "reaches only its own localhost origin. Nothing else is opened."
        ),
    )
    ca_bundle: Path | None = Field(
        default=None,
        description=(
            "A PEM file of CA certificates to trust instead of the default bundle (certifi), "
            "for plugins behind a private CA."
        ),
    )
    resolve: CommaList = Field(
        default_factory=list,
        description=(
            "Name-to-address overrides, like curl's --resolve/--connect-to, comma-separated: "
            "`HOST=ADDR`, `HOST=ADDR:PORT` or `HOST:PORT=ADDR:PORT`. The address guard still "
            "applies to the mapped address."
        ),
    )
    allow_hosts: CommaList = Field(
        default_factory=list,
        description=(
            "Destinations the address guard lets through although they are private or loopback, "
            "each for one plugin, comma-separated: `DESTINATION` or `DESTINATION=SITE`, a host "
            "name, `*.suffix` or CIDR opened for the plugins whose manifest host is SITE (bare "
            "host: the plugin it belongs to; a CIDR needs its SITE)."
        ),
    )
    fetch_timeout: float = Field(
        default=15.0, gt=0, description="Seconds allowed to fetch a manifest or a spec."
    )
    call_timeout: float = Field(
        default=45.0, gt=0, description="Seconds allowed for one API call's round trip."
    )
    max_response_bytes: int = Field(
        default=5_000_000,
        gt=0,
        description="The largest response body, in bytes, that the outbound client will read.",
    )
    max_request_bytes: int = Field(
        default=1_000_000,
        gt=0,
        description=(
            "The largest request body, in bytes, the server reads; a larger one is answered 413."
        ),
    )
    max_redirects: int = Field(
        default=5, ge=0, description="How many allowed redirects a manifest fetch may follow."
    )
    verification_key: str = Field(
        default="powerstrip",
        description=(
            "The key under `auth.verification_tokens` where this host's verification token is "
            "read (`openai` is always read too)."
        ),
    )

    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description=(
            "The host's public base URL, as browsers reach it: OAuth redirect URIs are "
            "`PUBLIC_URL/aip/PLUGIN_ID/oauth/callback`."
        ),
    )
    lenient_install: bool = Field(
        default=False,
        description=(
            "Install plugins whose only errors are manifest length or charset rules "
            "(PS102-PS106), marking them lenient; off, such plugins are refused."
        ),
    )
    unverified_install_cap: int = Field(
        default=15,
        ge=0,
        description="How many users may install a plugin an admin has not verified.",
    )
    max_plugins_per_conversation: int = Field(
        default=3, ge=1, description="How many plugins one conversation may enable at once."
    )
    oauth_state_ttl_seconds: int = Field(
        default=600, gt=0, description="Seconds an OAuth sign-in may take before its state expires."
    )

    data_dir: Path = Field(
        default=Path(".powerstrip"),
        description=(
            "The directory for Powerstrip's own files: the default SQLite database and, when no "
            "vault key is configured, the generated development key `vault.key`."
        ),
    )
    database_url: str = Field(
        default="",
        repr=False,  # a PostgreSQL URL may carry a password
        description=(
            "The SQLAlchemy async database URL. Default: `sqlite+aiosqlite:///DATA_DIR/"
            "powerstrip.db`. PostgreSQL: `postgresql+psycopg://USER:PASSWORD@HOST:5432/DB`."
        ),
    )
    redis_url: str = Field(
        default="",
        repr=False,  # a Redis URL may carry a password
        description=(
            "Redis for state shared by several workers (conversation turn locks, the sign-in "
            "throttle, background responses' events and cancels) and the background job queue: "
            "`redis://[:PASSWORD@]HOST:6379/DB` (`rediss://` for TLS). Unset: one process keeps "
            "that state in memory."
        ),
    )
    vault_keys: SecretStr = Field(
        default=SecretStr(""),
        description=(
            "The keys that seal secrets at rest, comma-separated `KEYID:BASE64KEY` (32-byte "
            "AES-256 keys, made by `powerstrip keys new`); the first one seals, all of them open. "
            "Unset: a development key is generated in `DATA_DIR/vault.key`."
        ),
    )

    model_base_url: str = Field(
        default="",
        description=(
            "The base URL of an OpenAI-compatible chat completions API (for example "
            "`https://api.openai.com/v1`). Unset: the built-in offline router answers."
        ),
    )
    model_name: str = Field(
        default="gpt-4o-mini", description="The model to ask at `POWERSTRIP_MODEL_BASE_URL`."
    )
    model_api_key: SecretStr = Field(
        default=SecretStr(""),
        description="The API key for `POWERSTRIP_MODEL_BASE_URL` (sent as a bearer token).",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info",
        description=(
            "How much `powerstrip serve` logs of its own work (plugin fetches, installs, turns). "
            "Every record carries its request and call ids and never a secret."
        ),
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description=(
            "How `powerstrip serve` writes its log lines: `text` for people, `json` for a log "
            "collector (one JSON object a line, with its request, conversation and call ids as "
            "fields). Secrets are masked in both."
        ),
    )
    turn_lock_lease_seconds: float = Field(
        default=30.0,
        ge=1,
        le=3600,
        description=(
            "On Redis, how long a conversation's turn lock outlives a worker that died holding "
            "it (the lease, renewed every third of it while the turn runs). Once it runs out, "
            "the next turn may run, and the recovery sweep closes the dead turn's calls."
        ),
    )
    turn_recovery_interval_seconds: float = Field(
        default=60.0,
        gt=0,
        le=86400,
        description=(
            "On Redis, how often the job workers sweep for turns whose worker died (their lock's "
            "lease gone, a call still open) and close their calls as interrupted."
        ),
    )
    shutdown_grace_seconds: float = Field(
        default=20,
        ge=0,
        le=3600,
        description=(
            "On SIGTERM (or Ctrl-C), how long `powerstrip serve` lets turns in flight finish "
            "before it ends them as interrupted, closing their open calls and telling their "
            "clients the server is shutting down."
        ),
    )
    metrics_token: SecretStr = Field(
        default=SecretStr(""),
        description=(
            "A bearer token that may read `/metrics` (Prometheus), for a scraper that should not "
            "hold an admin's API token. Unset: only admins' API tokens may read it."
        ),
    )
    max_steps: int = Field(
        default=8,
        ge=1,
        le=50,
        description="How many model completions one user message may take before the turn stops.",
    )
    context_chars: int = Field(
        default=120_000,
        ge=0,
        description=(
            "How much of a chat's history goes to the model with each completion, in "
            "characters (about four to a token): the most recent whole turns that fit, and "
            "always the current one. 0: the whole history. API callers that bring their own "
            "messages (/v1) always have all of them sent."
        ),
    )
    grant_ttl_days: int = Field(
        default=30,
        ge=0,
        description=(
            'Days an "always allow" for an operation lasts before the user is asked again; '
            "0: until revoked."
        ),
    )

    allow_signups: bool = Field(
        default=True,
        description=(
            "Whether anyone may create a web app account; off, only the first account (the "
            "admin) can still be made, and admins add users with the CLI."
        ),
    )
    session_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="Days a web app sign-in lasts without being used before it must be repeated.",
    )
    token_cache_seconds: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description=(
            "Seconds a worker keeps the owner of an API token it has just checked, instead of "
            "asking the store on every request; a token revoked through another worker (or "
            "the CLI) stops working there within this time. 0: ask the store every time."
        ),
    )

    mcp_calls_per_minute: int = Field(
        default=60,
        ge=1,
        description=(
            "How many plugin calls one user's MCP clients may make in any minute (counted in the "
            "call ledger, so every process agrees); the next one is refused until the minute "
            "has passed."
        ),
    )
    mcp_allow_commands: bool = Field(
        default=False,
        description=(
            "Let admins add an MCP server that runs as a local command (stdio); off, only MCP "
            "servers reached by URL may be added."
        ),
    )
    mcp_oauth_access_minutes: int = Field(
        default=60,
        ge=1,
        le=1440,
        description=(
            "Minutes an access token issued to an MCP client by the host's OAuth authorization "
            "server (`/oauth/token`) opens `/mcp`; the client then uses its refresh token."
        ),
    )
    mcp_oauth_refresh_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description=(
            "Days an MCP client's refresh token lasts unused; each use rotates it (a new one "
            "for another period). Unused that long, the client must be allowed again."
        ),
    )
    mcp_oauth_pending_clients: int = Field(
        default=1000,
        ge=1,
        description=(
            "How many MCP clients may be registered (`/oauth/register`, open to anyone) without "
            "anyone having connected them yet; more are refused until some are used or "
            "forgotten (after a day)."
        ),
    )

    retrieval_embedder: Literal["local", "wordllama", "openai", "lexical"] = Field(
        default="local",
        description=(
            "How document search embeds text: `local` runs the built-in sentence-embedding model "
            "(or `POWERSTRIP_RETRIEVAL_MODEL_DIR`) on this machine; `wordllama` the built-in "
            "static embeddings (faster, less accurate); `openai` asks "
            "`POWERSTRIP_RETRIEVAL_EMBEDDINGS_BASE_URL`; `lexical` uses full-text search only."
        ),
    )
    retrieval_index: Literal["auto", "exact", "hnsw"] = Field(
        default="auto",
        description=(
            "The in-memory vector index of each collection: `exact` (numpy, every vector "
            "scored), `hnsw` (approximate, usearch) or `auto`: exact until a collection holds "
            "`POWERSTRIP_RETRIEVAL_HNSW_MIN_VECTORS` vectors, HNSW from then on."
        ),
    )
    retrieval_hnsw_min_vectors: int = Field(
        default=200_000,
        ge=1,
        description=(
            "With `POWERSTRIP_RETRIEVAL_INDEX=auto`, the collection size from which its vectors "
            "are indexed by HNSW instead of scored exactly."
        ),
    )
    retrieval_hnsw_rescore: int = Field(
        default=100,
        ge=0,
        description=(
            "How many of an HNSW search's best candidates (found on the graph's int8 copy of the "
            "vectors) are scored again with the float32 vectors, the best `top_k` of them "
            "returned: more finds more of the true nearest, a little slower."
        ),
    )
    retrieval_vector_weight: float = Field(
        default=0.7,
        ge=0.0,
        le=1.0,
        description=(
            "The share of vector similarity in a hybrid search's fused score, from 0 (full-text "
            "only) to 1 (vectors only); each score is first divided by its best candidate's."
        ),
    )
    retrieval_model_dir: Path | None = Field(
        default=None,
        description=(
            "A folder holding an ONNX sentence-embedding model (`model.onnx`) and its "
            "`tokenizer.json`, for the local embedder. Unset: the built-in all-MiniLM-L6-v2."
        ),
    )
    retrieval_embeddings_base_url: str = Field(
        default="",
        description=(
            "The base URL of an OpenAI-compatible embeddings API (`POST {url}/embeddings`), "
            "for `POWERSTRIP_RETRIEVAL_EMBEDDER=openai`."
        ),
    )
    retrieval_embeddings_model: str = Field(
        default="text-embedding-3-small",
        description="The model to ask at `POWERSTRIP_RETRIEVAL_EMBEDDINGS_BASE_URL`.",
    )
    retrieval_embeddings_api_key: SecretStr = Field(
        default=SecretStr(""),
        description="The API key for `POWERSTRIP_RETRIEVAL_EMBEDDINGS_BASE_URL` (a bearer token).",
    )
    retrieval_chunk_tokens: int = Field(
        default=200,
        ge=16,
        le=2000,
        description="The token budget of one chunk of a document (words and punctuation marks).",
    )
    retrieval_chunk_overlap: int = Field(
        default=40,
        ge=0,
        description="Tokens each chunk repeats from the end of the one before; under the budget.",
    )
    retrieval_max_file_bytes: int = Field(
        default=20 * 1024 * 1024,
        ge=1,
        description="The largest file `powerstrip docs add` accepts, in bytes (default 20 MiB).",
    )

    retention_days: int = Field(
        default=30,
        ge=1,
        description=(
            "Days a conversation started with chat history off is kept (for abuse review) "
            "before the retention job deletes it with its messages, calls, approvals and "
            "feedback."
        ),
    )
    retention_interval_seconds: float = Field(
        default=3600.0,
        gt=0,
        description=(
            "Seconds between two runs of the retention job, which the job workers enqueue once "
            "per period (and when one starts)."
        ),
    )
    retention_batch_size: int = Field(
        default=200,
        ge=1,
        description="Conversations the retention job deletes per transaction.",
    )
    export_link_ttl_hours: int = Field(
        default=24,
        ge=1,
        description="Hours a data export's one-time download link works.",
    )
    export_inline_rows: int = Field(
        default=5000,
        ge=0,
        description=(
            "Exports of at most this many messages and calls are built while the request "
            "waits; larger ones in the background, their link mailed when SMTP is configured."
        ),
    )
    jobs_in_process: bool = Field(
        default=True,
        description=(
            "This process runs background jobs: `powerstrip serve` runs a job worker beside the "
            "web server (an arq worker on Redis when `POWERSTRIP_REDIS_URL` is set, the jobs "
            "table's runner otherwise). Turn off on web-only machines and run `powerstrip "
            "worker` on others."
        ),
    )
    jobs_concurrency: int = Field(
        default=4, ge=1, le=256, description="Jobs one worker runs at the same time."
    )
    jobs_max_attempts: int = Field(
        default=5,
        ge=1,
        le=100,
        description=(
            "Tries a job gets when it fails for a passing reason (a network or database "
            "error); then it is recorded as failed."
        ),
    )
    jobs_retry_seconds: float = Field(
        default=2.0,
        gt=0,
        description="The wait before a job's first retry; it doubles with each retry.",
    )
    jobs_retry_max_seconds: float = Field(
        default=300.0, gt=0, description="The longest wait between two tries of a job."
    )
    jobs_timeout_seconds: float = Field(
        default=3600.0,
        gt=0,
        description=(
            "The longest a job may run before it is stopped (and retried). On Redis, a job "
            "whose worker died is taken up again after this much time and 15 seconds more."
        ),
    )
    jobs_lease_seconds: float = Field(
        default=60.0,
        ge=1,
        le=3600,
        description=(
            "Without Redis, the lease of a running job in the jobs table, moved on every quarter "
            "of it while the job runs: a job whose worker died is taken up after this long."
        ),
    )
    jobs_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description=(
            "How often a worker looks for jobs other processes queued and for retries that "
            "came due."
        ),
    )
    jobs_keep_seconds: int = Field(
        default=86400,
        ge=60,
        description=(
            "Seconds a finished job's record (done or failed, and why) is kept; a job id is "
            "run once within this time."
        ),
    )
    jobs_queue_name: str = Field(
        default="powerstrip",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description=(
            "The job queue's name on Redis, and the prefix of its job ids: Powerstrip "
            "deployments sharing one Redis need different names."
        ),
    )
    oauth_refresh_ahead_seconds: int = Field(
        default=300,
        ge=0,
        description=(
            "OAuth access tokens expiring within this many seconds are refreshed by a "
            "background job, so no turn waits for the refresh (a turn still refreshes an "
            "expired token itself). 0 turns the job off."
        ),
    )
    oauth_refresh_interval_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Seconds between two looks for OAuth tokens about to expire.",
    )
    retrieval_inline_batch_files: int = Field(
        default=4,
        ge=0,
        description=(
            "A vector store file batch of at most this many files is ingested before the "
            "request is answered; a larger one by a background job (poll the batch, as with "
            "OpenAI)."
        ),
    )
    smtp_host: str = Field(
        default="",
        description="The SMTP server that mails export links. Unset: no mail is sent.",
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="The SMTP server's port.")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description=(
            "How the SMTP connection is protected: `starttls` (upgrade a plain connection), "
            "`tls` (TLS from the start, port 465) or `none` (a relay on this machine only)."
        ),
    )
    smtp_username: str = Field(default="", description="The SMTP login name; unset: no login.")
    smtp_password: SecretStr = Field(
        default=SecretStr(""), description="The SMTP login password; never logged."
    )
    smtp_from: str = Field(
        default="powerstrip@localhost",
        description="The sender address of the mails Powerstrip sends.",
    )
    smtp_timeout: float = Field(
        default=30.0, gt=0, description="Seconds allowed for sending one mail."
    )
    transcription: Literal["auto", "backend", "local", "off"] = Field(
        default="auto",
        description=(
            "Speech to text for voice input: `auto` uses the model backend's "
            "`/audio/transcriptions` when `POWERSTRIP_MODEL_BASE_URL` is set, else the local "
            "Whisper model; `backend` or `local` only that one; `off` none."
        ),
    )
    transcription_model: str = Field(
        default="whisper-1",
        description="The transcription model to ask at `POWERSTRIP_MODEL_BASE_URL`.",
    )
    transcription_model_dir: Path | None = Field(
        default=None,
        description=(
            "A folder holding a CTranslate2 Whisper model (`model.bin`, `config.json`, "
            "`tokenizer.json`) for local transcription. Unset: the built-in tiny.en."
        ),
    )
    transcription_max_bytes: int = Field(
        default=25 * 1024 * 1024,
        ge=1,
        description="The largest audio file, in bytes, transcription accepts (default 25 MiB).",
    )
    transcription_max_seconds: float = Field(
        default=300,
        gt=0,
        description="The longest recording, in seconds, transcription accepts.",
    )

    @model_validator(mode="after")
    def _default_database_url(self) -> Settings:
        # The default database lives in data_dir, so it follows POWERSTRIP_DATA_DIR.
        if not self.database_url:
            url = f"sqlite+aiosqlite:///{self.data_dir / 'powerstrip.db'}"
            object.__setattr__(self, "database_url", url)  # frozen model: set once, here
        return self

    @field_validator("resolve", "allow_hosts", mode="before")
    @classmethod
    def _lists(cls, value: object) -> object:
        return _split_list(value)
