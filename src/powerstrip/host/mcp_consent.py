"""What an MCP client asks the person on the consent page, and where it may send them back.

- `check_redirect_uri`: a client may be sent back to HTTPS, or to plain HTTP on this machine
  only (a desktop app's loopback listener); never a custom scheme, a fragment or a user name.
- `ConsentTickets`: the authorization request the SDK checked travels to the consent page in
  its URL, signed with a host key and expiring in `CONSENT_SECONDS`, so no page, link or form
  can alter what the person is asked (the client, the redirect URI, the PKCE challenge, the
  state, the resource).
- `redirect_with`: the answer's URL (the code or the error, the `state`, the issuer `iss`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from powerstrip.errors import InvalidInputError, OAuthError
from powerstrip.host.clock import Clock, system_clock

__all__ = [
    "CONSENT_SECONDS",
    "ConsentRequest",
    "ConsentTickets",
    "check_redirect_uri",
    "redirect_with",
]

# The person may have to sign in to the web app first.
CONSENT_SECONDS = 600
_MAX_STATE = 1000
_MAX_URI = 2000
_LOOPBACK_NAMES = frozenset({"localhost"})


@dataclass(frozen=True, slots=True)
class ConsentRequest:
    """An authorization request the SDK checked, waiting on the consent page for a yes."""

    client_id: str
    redirect_uri: str
    redirect_uri_explicit: bool
    code_challenge: str
    state: str | None
    scopes: tuple[str, ...]
    resource: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _is_loopback(hostname: str) -> bool:
    if hostname.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def check_redirect_uri(uri: str) -> str:
    """`uri` when a client may be sent back there: HTTPS, or HTTP on this machine (loopback).

    No fragment (RFC 6749 §3.1.2) and no user name in it; a custom scheme or plain HTTP to
    another machine would hand the code to whoever listens there.
    """
    where = "redirect_uris"
    fix = "register an https:// redirect URI, or http://127.0.0.1:PORT/... for a local app"
    if len(uri) > _MAX_URI:
        raise InvalidInputError(f"a redirect URI is longer than {_MAX_URI} characters", where=where)
    try:
        parts = urlsplit(uri)
        hostname = parts.hostname or ""
        parts.port  # noqa: B018 - a malformed port raises here
    except ValueError as exc:
        raise InvalidInputError(f"{uri!r} is not a URL", where=where, fix=fix) from exc
    if parts.fragment or "#" in uri:
        raise InvalidInputError(f"{uri!r} has a fragment", where=where, fix=fix)
    if parts.username is not None or parts.password is not None:
        raise InvalidInputError(f"{uri!r} carries a user name", where=where, fix=fix)
    if not hostname:
        raise InvalidInputError(f"{uri!r} names no host", where=where, fix=fix)
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(hostname)):
        return uri
    raise InvalidInputError(
        f"{uri!r} is neither https:// nor http:// on this machine (loopback)", where=where, fix=fix
    )


def redirect_with(uri: str, **params: str | None) -> str:
    """`uri` with `params` added to its query (those that are None left out)."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(name, value) for name, value in params.items() if value is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


class ConsentTickets:
    """Signs and reads the consent page's requests."""

    def __init__(self, key: bytes, *, clock: Clock = system_clock) -> None:
        self._key = key
        self._clock = clock

    def make(self, request: ConsentRequest) -> str:
        """The signed request the consent page's URL carries (it cannot be altered)."""
        if request.state is not None and len(request.state) > _MAX_STATE:
            raise InvalidInputError(f"state is longer than {_MAX_STATE} characters", where="state")
        expires = int(self._clock().timestamp()) + CONSENT_SECONDS
        body = [
            request.client_id,
            request.redirect_uri,
            request.redirect_uri_explicit,
            request.code_challenge,
            request.state,
            list(request.scopes),
            request.resource,
            expires,
        ]
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(payload)}"

    def read(self, ticket: str) -> ConsentRequest:
        """The request of a ticket; OAuthError when it is forged, altered or expired."""
        payload, _, signature = ticket.partition(".")
        fix = "start connecting again from your MCP client"
        # A real ticket is base64url text; compare_digest refuses non-ASCII text with a
        # TypeError, so anything else is simply not one.
        if (
            not ticket.isascii()
            or not payload
            or not hmac.compare_digest(signature, self._sign(payload))
        ):
            raise OAuthError("this authorization request is not valid", where="request", fix=fix)
        try:
            client_id, redirect, explicit, challenge, state, scopes, resource, expires = json.loads(
                _unb64(payload)
            )
        except (ValueError, TypeError) as exc:
            raise OAuthError("this authorization request is not valid", where="request") from exc
        if self._clock().timestamp() > expires:
            raise OAuthError("this authorization request has expired", where="request", fix=fix)
        return ConsentRequest(
            str(client_id),
            str(redirect),
            bool(explicit),
            str(challenge),
            None if state is None else str(state),
            tuple(str(scope) for scope in scopes),
            str(resource),
        )

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, f"consent.{payload}".encode(), hashlib.sha256).digest())
