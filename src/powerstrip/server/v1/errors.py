"""Errors as OpenAI answers them: `{"error": {"message", "type", "param", "code"}}`.

The `openai` client reads `error.message` into its exception and picks the exception class by
status (400 BadRequestError, 401 AuthenticationError, 404 NotFoundError, 409 ConflictError, ...),
so the statuses follow OpenAI's: a request that breaks the API's rules is a 400, not a 422.
Our own `where` and `fix` ride along: `param` is the `where`, and the message ends with the fix.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from powerstrip.errors import (
    AccessError,
    AudioError,
    AudioTooLargeError,
    IngestError,
    InvalidInputError,
    ModelError,
    NetError,
    NotFoundError,
    PowerstripError,
    RegistryError,
    SearchError,
    SignInRequiredError,
    StoreError,
    TranscriptionUnavailableError,
)

__all__ = ["install_openai_errors", "openai_error", "openai_error_for"]

logger = logging.getLogger(__name__)

# Most specific first: NotFoundError is a RegistryError, SignInRequiredError an AccessError.
_STATUS: tuple[tuple[type[PowerstripError], int, str], ...] = (
    (NotFoundError, 404, "invalid_request_error"),
    (SignInRequiredError, 401, "authentication_error"),
    (AccessError, 403, "permission_error"),
    (RegistryError, 409, "invalid_request_error"),
    (AudioTooLargeError, 413, "invalid_request_error"),
    (AudioError, 400, "invalid_request_error"),
    (TranscriptionUnavailableError, 503, "server_error"),
    (InvalidInputError, 400, "invalid_request_error"),
    (IngestError, 400, "invalid_request_error"),
    (SearchError, 400, "invalid_request_error"),
    (NetError, 502, "server_error"),
    (ModelError, 502, "server_error"),
    (StoreError, 503, "server_error"),
)

_CODES = {401: "invalid_api_key", 404: "not_found", 409: "conflict", 403: "insufficient_scope"}


def openai_error(
    status: int, message: str, *, kind: str = "invalid_request_error", param: str | None = None
) -> JSONResponse:
    """An answer in OpenAI's error shape."""
    body: dict[str, Any] = {  # Any: JSON
        "error": {"message": message, "type": kind, "param": param, "code": _CODES.get(status)}
    }
    return JSONResponse(body, status_code=status)


def openai_error_for(exc: PowerstripError) -> JSONResponse:
    status, kind = next(
        ((status, kind) for cls, status, kind in _STATUS if isinstance(exc, cls)),
        (400, "invalid_request_error"),
    )
    message = exc.message if not exc.fix else f"{exc.message} ({exc.fix})"
    return openai_error(status, message, kind=kind, param=exc.where)


def install_openai_errors(app: FastAPI) -> None:
    @app.exception_handler(PowerstripError)
    async def powerstrip_error(request: Request, exc: PowerstripError) -> JSONResponse:
        answer = openai_error_for(exc)
        if answer.status_code >= 500:
            logger.error("v1.error path=%s error=%s", request.url.path, exc)
        return answer

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        location = [str(part) for part in first.get("loc", ()) if part != "body"]
        if first.get("type") == "json_invalid":
            return openai_error(400, "the request body is not valid JSON", param="body")
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: "
            f"{e.get('msg', 'invalid')}"
            for e in errors
        )
        return openai_error(400, f"invalid request: {problems}", param=".".join(location) or None)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return openai_error(404, f"no such endpoint: {request.method} {request.url.path}")
        if exc.status_code == 405:
            return openai_error(405, f"{request.method} is not allowed on {request.url.path}")
        return openai_error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("v1.unexpected path=%s", request.url.path)
        return openai_error(500, "the server failed; see its log", kind="server_error")
