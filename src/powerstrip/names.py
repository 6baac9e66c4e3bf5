"""Names the host and its faces share, in a module that imports nothing.

The CLI shows them in its help (a default, the scopes a token may have) without loading the
engine behind them; `powerstrip.host` re-exports each where it is used.
"""

from __future__ import annotations

__all__ = ["ALL_SCOPES", "DEFAULT_COLLECTION", "DEV_USER"]

# The admin user development mode acts as: the server for requests without a token from
# loopback, the CLI by default.
DEV_USER = "dev"

# What a token may be used for: chats (REST conversations, /v1 chat and responses), files
# (documents, /v1 files and vector stores), admin (review, users; only an admin's token has it).
ALL_SCOPES: frozenset[str] = frozenset({"chat", "files", "admin"})

# The collection a document goes in when none is named.
DEFAULT_COLLECTION = "default"
