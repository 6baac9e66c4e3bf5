"""The host's side of the OAuth authorization-code flow (spec §4), with PKCE.

Building the provider URL, exchanging the code and refreshing tokens, through the guarded client,
in either content type the manifest asks for. Keeping `state` single-use and session-bound is the
registry's job (it stores only a hash of it); this module is the protocol.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from powerstrip.errors import NetError, OAuthError
from powerstrip.net import GuardedClient

__all__ = [
    "TokenSet",
    "authorization_url",
    "exchange_code",
    "new_pkce",
    "new_state",
    "refresh_tokens",
    "state_hash",
]

_FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True, slots=True)
class TokenSet:
    """What a token endpoint answered. Secret fields never show in reprs."""

    access_token: str = field(repr=False)
    token_type: str = "Bearer"  # noqa: S105 - the scheme's name, not a secret
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    scope: str | None = None

    def expired(
        self, now: datetime | None = None, *, leeway: timedelta = timedelta(seconds=30)
    ) -> bool:
        """True when the token is past (or within `leeway` of) its expiry."""
        if self.expires_at is None:
            return False
        return (now or datetime.now(UTC)) + leeway >= self.expires_at


def new_state() -> str:
    """An unguessable state value for one sign-in."""
    return secrets.token_urlsafe(32)


def state_hash(state: str) -> str:
    """What is stored of a state: its hash, so a leaked table cannot be replayed."""
    return hashlib.sha256(state.encode()).hexdigest()


def new_pkce() -> tuple[str, str]:
    """A PKCE pair: (code_verifier, S256 code_challenge)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_url(
    client_url: str,
    *,
    client_id: str,
    scope: str,
    state: str,
    redirect_uri: str,
    code_challenge: str,
    resource: str | None = None,
) -> str:
    """Where to send the user's browser (step 1): `client_url` plus the flow's parameters.

    Parameters already in `client_url` are kept; PKCE is added, which providers that do not
    know it ignore. `resource` (RFC 8707) names the server the token is for (MCP sends it).
    """
    parts = urlsplit(client_url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [
        ("response_type", "code"),
        ("client_id", client_id),
        ("scope", scope),
        ("state", state),
        ("redirect_uri", redirect_uri),
        ("code_challenge", code_challenge),
        ("code_challenge_method", "S256"),
    ]
    if resource:
        query.append(("resource", resource))
    return urlunsplit(parts._replace(query=urlencode(query)))


async def _token_request(
    client: GuardedClient,
    url: str,
    content_type: str,
    fields: dict[str, str],
    what: str,
    origin: str | None,
) -> TokenSet:
    body = urlencode(fields).encode() if content_type == _FORM else json.dumps(fields).encode()
    headers = {"content-type": content_type, "accept": "application/json"}
    try:
        response = await client.request("POST", url, headers=headers, content=body, origin=origin)
    except NetError as exc:
        raise OAuthError(
            f"the {what} could not reach the token endpoint: {exc.message}",
            where=url,
            fix=exc.fix or "check that the plugin's authorization_url is up",
        ) from None
    data = _parse(response.content, response.content_type)
    if not 200 <= response.status_code < 300 or "access_token" not in data:
        error = data.get("error") or f"HTTP {response.status_code}"
        detail = data.get("error_description")
        raise OAuthError(
            f"the {what} was refused: {error}" + (f" ({detail})" if detail else ""),
            where=url,
            fix="sign in to the plugin again",
        )
    return _token_set(data)


def _parse(content: bytes, content_type: str | None) -> dict[str, Any]:  # Any: JSON values
    text = content.decode("utf-8", errors="replace")
    try:
        value = json.loads(text)
    except ValueError:
        # Some providers answer form-encoded, as the OAuth 2 drafts once allowed.
        value = (
            dict(parse_qsl(text)) if "=" in text and (content_type or "").startswith(_FORM) else {}
        )
    return value if isinstance(value, dict) else {}


# A token said to live longer than this is taken to live this long: a provider's `expires_in`
# of 1e12 would overflow the date (and brick every call of the user), and nobody needs a token
# checked for expiry less than once a year.
MAX_EXPIRES_IN = 366 * 24 * 3600


def _expires_in(value: object) -> float | None:
    """`expires_in` as seconds, capped at MAX_EXPIRES_IN; None when absent or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, str) and not value.replace(".", "", 1).isdigit():
        return None
    try:
        seconds = float(value)
    except (ValueError, OverflowError):
        return None
    if seconds != seconds or seconds < 0:  # NaN, or a negative lifetime
        return None
    return min(seconds, MAX_EXPIRES_IN)


def _token_set(data: dict[str, Any]) -> TokenSet:  # Any: JSON values
    access = data.get("access_token")
    if not isinstance(access, str) or not access:
        raise OAuthError("the token endpoint sent no access_token", fix="sign in again")
    seconds = _expires_in(data.get("expires_in"))
    expires_at = None if seconds is None else datetime.now(UTC) + timedelta(seconds=seconds)
    refresh = data.get("refresh_token")
    scope = data.get("scope")
    return TokenSet(
        access_token=access,
        token_type=str(data.get("token_type") or "Bearer"),
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        expires_at=expires_at,
        scope=scope if isinstance(scope, str) else None,
    )


def _add_optional(fields: dict[str, str], **values: str | None) -> None:
    fields.update({name: value for name, value in values.items() if value})


async def exchange_code(
    client: GuardedClient,
    *,
    token_url: str,
    content_type: str,
    client_id: str,
    client_secret: str | None,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    origin: str | None = None,
    resource: str | None = None,
) -> TokenSet:
    """Step 3: trade the code for tokens at `authorization_url`, in the manifest's content type.

    `origin` is the plugin's manifest URL, on whose behalf the token endpoint is called. A
    public client (no `client_secret`, as MCP's registered clients are) proves itself by PKCE.
    """
    fields = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
    }
    _add_optional(fields, client_secret=client_secret, resource=resource)
    return await _token_request(client, token_url, content_type, fields, "code exchange", origin)


async def refresh_tokens(
    client: GuardedClient,
    *,
    token_url: str,
    content_type: str,
    client_id: str,
    client_secret: str | None,
    refresh_token: str,
    origin: str | None = None,
    resource: str | None = None,
) -> TokenSet:
    """Step 5: new tokens from a refresh token; a provider may keep the old refresh token."""
    fields = {
        "grant_type": "refresh_token",
        "client_id": client_id,
        "refresh_token": refresh_token,
    }
    _add_optional(fields, client_secret=client_secret, resource=resource)
    tokens = await _token_request(client, token_url, content_type, fields, "token refresh", origin)
    if tokens.refresh_token is None:
        return TokenSet(
            tokens.access_token, tokens.token_type, refresh_token, tokens.expires_at, tokens.scope
        )
    return tokens
