"""Errors as JSON: `{"error": {"type", "message", "where", "fix"}}` with a fitting status.

Every `PowerstripError` already says what, where and how to fix it without quoting secrets, so
it is shown as is; anything else is logged with its traceback and answered with a bare 500.
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
    ConfigError,
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
    VaultError,
)

__all__ = ["error_response", "install_error_handlers", "status_for"]

logger = logging.getLogger(__name__)

# Most specific first: NotFoundError is a RegistryError.
_STATUS: tuple[tuple[type[PowerstripError], int], ...] = (
    (NotFoundError, 404),
    (SignInRequiredError, 401),
    (AccessError, 403),
    (RegistryError, 409),
    (OAuthError, 400),
    (InvalidInputError, 422),
    (DiscoveryError, 422),
    (ManifestError, 422),
    (SpecError, 422),
    (NetError, 502),
    (ModelError, 502),
    (StoreError, 503),
    (VaultError, 500),
    (ConfigError, 500),
)


def status_for(exc: PowerstripError) -> int:
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 400


def error_response(
    status: int, kind: str, message: str, *, where: str | None = None, fix: str | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"type": kind, "message": message}  # Any: JSON values
    if where:
        body["where"] = where
    if fix:
        body["fix"] = fix
    return JSONResponse({"error": body}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PowerstripError)
    async def powerstrip_error(request: Request, exc: PowerstripError) -> JSONResponse:
        status = status_for(exc)
        if status >= 500:
            logger.error("server.error path=%s error=%s", request.url.path, exc)
        return error_response(status, type(exc).__name__, exc.message, where=exc.where, fix=exc.fix)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            location = ".".join(str(part) for part in error.get("loc", ()))
            problems.append(f"{location}: {error.get('msg', 'invalid')}")
        return error_response(
            422,
            "InvalidRequest",
            "the request is not valid: " + "; ".join(problems),
            fix="see the API reference in docs/api.md",
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, "HTTPError", str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("server.unexpected path=%s", request.url.path)
        return error_response(500, "InternalError", "the server failed; see its log")
