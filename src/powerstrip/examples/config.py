"""`ExampleConfig`: everything the example plugins need to know, with local-development defaults.

Secrets left as None are generated on first use and kept in `DATA_DIR/dev-secrets.json`
(readable by the owner only), so a restart keeps them; `notes()` of each example shows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from powerstrip.sdk import RateLimit

__all__ = ["DEV_REDIRECT_URI", "ExampleConfig", "OAuthContentType"]

OAuthContentType = Literal["application/json", "application/x-www-form-urlencoded"]

# Where a Powerstrip host on localhost:8000 receives the code for a plugin installed with the
# id `todo-oauth` (spec §4: PUBLIC_URL/aip/PLUGIN_ID/oauth/callback). Development only.
DEV_REDIRECT_URI = "http://localhost:8000/aip/todo-oauth/oauth/callback"


@dataclass(frozen=True, slots=True)
class ExampleConfig:
    """How to build an example plugin.

    `data_dir` holds one SQLite file per example (todos, user keys, OAuth clients and tokens)
    and the generated development secrets. `service_key`, `oauth_client_secret` and the
    passwords of `demo_users` are generated when None. `verification_tokens` is what the host
    issued at registration (`{"powerstrip": "..."}`): `todo-service` and `todo-oauth` publish
    it, the other schemes have no place for it in the manifest.
    """

    data_dir: Path = Path(".powerstrip/examples")
    service_key: str | None = field(default=None, repr=False)
    verification_tokens: Mapping[str, str] = field(default_factory=dict)
    oauth_client_id: str = "powerstrip"
    oauth_client_secret: str | None = field(default=None, repr=False)
    oauth_redirect_uris: tuple[str, ...] = (DEV_REDIRECT_URI,)
    oauth_content_type: OAuthContentType = "application/json"
    # How long an access token of `todo-oauth` lasts; short ones make hosts refresh often.
    oauth_access_token_seconds: int = 3600
    # username -> password; None means the users alice and bob with generated passwords.
    demo_users: Mapping[str, str] | None = field(default=None, repr=False)
    contact_email: str = "support@example.com"
    rate_limit: RateLimit | None = None
    host_origins: tuple[str, ...] = ()

    def database(self, name: str) -> Path:
        """The SQLite file of the example `name`."""
        return self.data_dir / f"{name}.db"
