"""The typed ai-plugin.json: what a manifest means once it has been read (spec §2, §4)."""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ApiRef",
    "AuthType",
    "AuthorizationType",
    "Manifest",
    "NoAuth",
    "OAuthAuth",
    "PluginAuth",
    "ServiceHttpAuth",
    "UserHttpAuth",
]


class AuthType(enum.StrEnum):
    NONE = "none"
    SERVICE_HTTP = "service_http"
    USER_HTTP = "user_http"
    OAUTH = "oauth"


class AuthorizationType(enum.StrEnum):
    BEARER = "bearer"
    BASIC = "basic"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NoAuth(_Frozen):
    type: Literal[AuthType.NONE] = AuthType.NONE


class ServiceHttpAuth(_Frozen):
    type: Literal[AuthType.SERVICE_HTTP] = AuthType.SERVICE_HTTP
    authorization_type: AuthorizationType
    verification_tokens: dict[str, str] = Field(default_factory=dict)


class UserHttpAuth(_Frozen):
    type: Literal[AuthType.USER_HTTP] = AuthType.USER_HTTP
    authorization_type: AuthorizationType


class OAuthAuth(_Frozen):
    type: Literal[AuthType.OAUTH] = AuthType.OAUTH
    client_url: str
    authorization_url: str
    scope: str = ""
    authorization_content_type: Literal["application/json", "application/x-www-form-urlencoded"] = (
        "application/json"
    )
    verification_tokens: dict[str, str] = Field(default_factory=dict)


PluginAuth = Annotated[
    NoAuth | ServiceHttpAuth | UserHttpAuth | OAuthAuth, Field(discriminator="type")
]


class ApiRef(_Frozen):
    type: Literal["openapi"] = "openapi"
    url: str


class Manifest(_Frozen):
    """A usable manifest. Lengths are not enforced here: findings report them (spec §2)."""

    schema_version: str = "v1"
    name_for_human: str
    name_for_model: str
    description_for_human: str
    description_for_model: str
    auth: PluginAuth
    api: ApiRef
    logo_url: str
    contact_email: str
    legal_info_url: str
    # Unknown top-level keys, kept so that nothing an author wrote is silently lost.
    extra: dict[str, Any] = Field(default_factory=dict)

    def verification_token(self, key: str) -> str | None:
        """The token the manifest carries for host `key`, falling back to `openai`."""
        tokens = getattr(self.auth, "verification_tokens", {})
        token = tokens.get(key) or tokens.get("openai")
        return token if isinstance(token, str) else None
