"""Starlette requests as Authlib sees them.

Authlib's grants are synchronous and read `request.payload.data`, `request.form`,
`request.args` and `request.headers`. The route reads the body asynchronously first and hands
Authlib an `IncomingRequest` snapshot, so the grant can run in a worker thread.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from authlib.oauth2.rfc6749 import (  # type: ignore[import-untyped]  # Authlib ships no types
    InvalidRequestError,
    JsonPayload,
    JsonRequest,
    OAuth2Payload,
    OAuth2Request,
)
from starlette.requests import Request

__all__ = ["IncomingRequest", "SnapshotJsonRequest", "SnapshotOAuth2Request"]

_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True, slots=True)
class IncomingRequest:
    """What Authlib needs of one HTTP request, read in full."""

    method: str
    url: str
    headers: Mapping[str, str]
    query: tuple[tuple[str, str], ...]
    body: tuple[tuple[str, str], ...] = ()

    @classmethod
    def without_body(cls, request: Request) -> IncomingRequest:
        """The request's method, URL, headers and query (the authorization endpoint)."""
        return cls(
            method=request.method,
            url=str(request.url),
            headers=request.headers,
            query=tuple(request.query_params.multi_items()),
        )

    @classmethod
    async def with_parameters(cls, request: Request) -> IncomingRequest:
        """The request with its JSON or form body as parameters (the token endpoint).

        Spec §4: the host posts with the manifest's `authorization_content_type`, which is
        either JSON or a form. A JSON body must be an object of strings.
        """
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == _JSON:
            body = _json_parameters(await request.body())
        elif kind in (_FORM, ""):
            form = await request.form()
            body = tuple((k, v) for k, v in form.multi_items() if isinstance(v, str))
        else:
            raise InvalidRequestError(f"send the parameters as {_FORM} or {_JSON}")
        return cls(
            method=request.method,
            url=str(request.url),
            headers=request.headers,
            query=tuple(request.query_params.multi_items()),
            body=body,
        )

    def parameters(self) -> dict[str, str]:
        """Query and body parameters; for a repeated name the first value wins."""
        return _first((*self.query, *self.body))


def _first(pairs: tuple[tuple[str, str], ...]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for key, value in pairs:
        merged.setdefault(key, value)
    return merged


def _json_parameters(raw: bytes) -> tuple[tuple[str, str], ...]:
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        raise InvalidRequestError("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidRequestError("the JSON body must be an object")
    wrong = sorted(key for key, value in data.items() if not isinstance(value, str))
    if wrong:
        raise InvalidRequestError(f"these fields must be strings: {', '.join(wrong)}")
    return tuple(data.items())


class _Payload(OAuth2Payload):  # type: ignore[misc]  # Authlib's base classes are untyped
    def __init__(self, incoming: IncomingRequest) -> None:
        self._data = incoming.parameters()
        datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in (*incoming.query, *incoming.body):
            datalist[key].append(value)
        self._datalist = datalist

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class SnapshotOAuth2Request(OAuth2Request):  # type: ignore[misc]  # untyped base class
    """Authlib's OAuth2Request over an `IncomingRequest`."""

    def __init__(self, incoming: IncomingRequest) -> None:
        super().__init__(method=incoming.method, uri=incoming.url, headers=incoming.headers)
        self._incoming = incoming
        self.payload = _Payload(incoming)

    @property
    def args(self) -> dict[str, str]:
        return _first(self._incoming.query)

    @property
    def form(self) -> dict[str, str]:
        return _first(self._incoming.body)


class _JsonPayload(JsonPayload):  # type: ignore[misc]  # untyped base class
    def __init__(self, incoming: IncomingRequest) -> None:
        self._data = incoming.parameters()

    @property
    def data(self) -> dict[str, str]:
        return self._data


class SnapshotJsonRequest(JsonRequest):  # type: ignore[misc]  # untyped base class
    """Authlib's JsonRequest over an `IncomingRequest` (used by extension endpoints)."""

    def __init__(self, incoming: IncomingRequest) -> None:
        super().__init__(incoming.method, incoming.url, incoming.headers)
        self.payload = _JsonPayload(incoming)
