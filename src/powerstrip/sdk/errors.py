"""Plugin errors as JSON: a clear message and a status, never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ["PluginError", "error_body", "install_error_handlers"]

logger = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "invalid_arguments",
    429: "rate_limited",
    500: "internal_error",
}


class PluginError(Exception):
    """Raise from an operation to answer with a JSON error: `PluginError(404, "no such todo")`."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.code = code or _CODES.get(status_code, "error")
        self.headers = headers or {}


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:  # Any: JSON values
    """The one error shape every plugin answer uses: `{"error": {"code", "message", ...}}`."""
    return {"error": {"code": code, "message": message, **extra}}


async def _plugin_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, PluginError):  # registered for this type only
        raise exc
    return JSONResponse(
        error_body(exc.code, exc.message), status_code=exc.status_code, headers=exc.headers
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, StarletteHTTPException):  # registered for this type only
        raise exc
    code = _CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):  # registered for this type only
        raise exc
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        problems.append({"where": where or "request", "problem": str(error.get("msg", ""))})
    summary = "; ".join(f"{p['where']}: {p['problem']}" for p in problems[:5])
    return JSONResponse(
        error_body(
            "invalid_arguments", f"the arguments are not valid: {summary}", details=problems
        ),
        status_code=422,
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The trace goes to the plugin's own log, never to the caller.
    logger.exception("sdk.unhandled path=%s", request.url.path)
    return JSONResponse(
        error_body("internal_error", "the plugin failed to handle this request"), status_code=500
    )


def install_error_handlers(app: FastAPI) -> None:
    """Make every error of `app` a JSON body with a clear message."""
    app.add_exception_handler(PluginError, _plugin_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
