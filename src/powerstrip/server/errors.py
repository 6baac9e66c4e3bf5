"""Errors as JSON: `{"error": {"type", "message", "where", "fix"}}` with a fitting status.

Every `PowerstripError` already says what, where and how to fix it without quoting secrets, so
it is shown as is; anything else is logged with its traceback and answered with a bare 500.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from powerstrip.errors import (
    AccessError,
    AudioError,
    AudioTooLargeError,
    ConfigError,
    CoordinationError,
    DiscoveryError,
    InvalidInputError,
    ManifestError,
    ModelError,
    NetError,
    NotFoundError,
    OAuthError,
    PowerstripError,
    RegistryError,
    SignInRequiredError,
    SpecError,
    StoreError,
    TranscriptionUnavailableError,
    VaultError,
)

__all__ = [
    "BodyTooLargeError",
    "ErrorAnswer",
    "ErrorDetail",
    "error_response",
    "error_responses",
    "install_error_handlers",
    "status_for",
    "too_large_response",
]

logger = logging.getLogger(__name__)

# Most specific first: NotFoundError is a RegistryError.
_STATUS: tuple[tuple[type[PowerstripError], int], ...] = (
    (NotFoundError, 404),
    (SignInRequiredError, 401),
    (AccessError, 403),
    (RegistryError, 409),
    (OAuthError, 400),
    (AudioTooLargeError, 413),
    (AudioError, 422),
    (TranscriptionUnavailableError, 503),
    (InvalidInputError, 422),
    (DiscoveryError, 422),
    (ManifestError, 422),
    (SpecError, 422),
    (NetError, 502),
    (ModelError, 502),
    (StoreError, 503),
    (CoordinationError, 503),
    (VaultError, 500),
    (ConfigError, 500),
)


def status_for(exc: PowerstripError) -> int:
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 400


class ErrorDetail(BaseModel):
    """What went wrong, where, and how to fix it."""

    type: str = Field(description="The kind of error, e.g. `NotFoundError`, `InvalidRequest`.")
    message: str
    where: str | None = None
    fix: str | None = None


class ErrorAnswer(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


_DESCRIPTIONS = {
    400: "The body is not valid JSON (or not readable text).",
    401: "No API token, or one that is not valid.",
    403: "An admin action by a user who is not one.",
    404: "No such plugin, conversation or grant, or it is another user's.",
    409: "A plugin store rule refuses the action.",
    413: "The body is larger than POWERSTRIP_MAX_REQUEST_BYTES.",
    422: "The request breaks the API's rules, or the plugin is unusable (its findings).",
    502: "The plugin or the model backend could not be reached or answered badly.",
    503: "The database or the workers' shared state (Redis) refused; nothing was written.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:  # Any: OpenAPI
    """The OpenAPI `responses` entries of these error statuses, in the error model."""
    return {
        status: {"model": ErrorAnswer, "description": _DESCRIPTIONS[status]} for status in statuses
    }


class _ErrorJSON(JSONResponse):
    """JSON that can always be written: an error may quote text the client sent, and that text
    may hold a lone surrogate, which UTF-8 cannot encode; it goes out as its JSON escape."""

    def render(self, content: Any) -> bytes:  # Any: JSON values
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        # backslashreplace writes U+D800 as `\ud800`: exactly JSON's escape for it.
        return text.encode("utf-8", "backslashreplace")


def error_response(
    status: int,
    kind: str,
    message: str,
    *,
    where: str | None = None,
    fix: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The error model of docs/api.md: `{"error": {"type", "message", "where", "fix"}}`."""
    body: dict[str, Any] = {"type": kind, "message": message}  # Any: JSON values
    if where:
        body["where"] = where
    if fix:
        body["fix"] = fix
    return _ErrorJSON({"error": body}, status_code=status, headers=headers)


class BodyTooLargeError(StarletteHTTPException):
    """The request body passed the cap (raised from `receive` while the app reads it)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(413, f"the request body is larger than {limit} bytes")


def too_large_response(limit: int) -> JSONResponse:
    """The 413 answer, in the API's error model."""
    return error_response(
        413,
        "RequestTooLarge",
        f"the request body is larger than {limit} bytes",
        where="request body",
        fix="send a smaller body; the host's admin sets the cap with POWERSTRIP_MAX_REQUEST_BYTES",
    )


# Starlette's and FastAPI's own refusals, said in the API's words.
_HTTP_ERRORS: dict[int, tuple[str, str, str | None]] = {
    400: (
        "MalformedBody",
        "the request body could not be read (not valid UTF-8, or not what its content type says)",
        "send a UTF-8 JSON object with `Content-Type: application/json`",
    ),
    404: ("NotFound", "no such path", "see the API reference in docs/api.md"),
    405: (
        "MethodNotAllowed",
        "this path does not answer this method",
        "use one of the methods in the `Allow` header",
    ),
}


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> list[str]:
    # Asked of the router itself (would this method match the path fully?), so routers nested
    # by include_router answer too.
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PowerstripError)
    async def powerstrip_error(request: Request, exc: PowerstripError) -> JSONResponse:
        status = status_for(exc)
        if status >= 500:
            logger.error("server.error path=%s error=%s", request.url.path, exc)
        return error_response(status, type(exc).__name__, exc.message, where=exc.where, fix=exc.fix)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        malformed = [e for e in errors if e.get("type") == "json_invalid"]
        if malformed:
            # Not JSON at all: a syntax error (400), not JSON that breaks the API's rules (422).
            where = malformed[0].get("loc", ("body", 0))
            reason = (malformed[0].get("ctx") or {}).get("error", "invalid JSON")
            return error_response(
                400,
                "MalformedJSON",
                f"the request body is not valid JSON: {reason} at character {where[-1]}",
                where="request body",
                fix="send a JSON object, as docs/api.md shows for this route",
            )
        problems = []
        locations = []
        for error in errors:
            location = ".".join(str(part) for part in error.get("loc", ()))
            locations.append(location)
            problems.append(f"{location}: {error.get('msg', 'invalid')}")
        return error_response(
            422,
            "InvalidRequest",
            "the request is not valid: " + "; ".join(problems),
            where=locations[0] if locations else "request",
            fix="see the API reference in docs/api.md",
        )

    @app.exception_handler(BodyTooLargeError)
    async def too_large(request: Request, exc: BodyTooLargeError) -> JSONResponse:
        return too_large_response(exc.limit)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind, message, fix = _HTTP_ERRORS.get(exc.status_code, ("HTTPError", str(exc.detail), None))
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names the methods of the first route that matched the path only; the
            # path may have more (GET and POST /api/plugins are two routes).
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return error_response(exc.status_code, kind, message, fix=fix, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("server.unexpected path=%s", request.url.path)
        return error_response(500, "InternalError", "the server failed; see its log")
