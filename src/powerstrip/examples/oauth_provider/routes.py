"""The provider's HTTP endpoints: `GET`/`POST /authorize` and `POST /token`.

Authorization errors are shown as an HTML page unless the client and its redirect URI were
verified first: only then may the browser be sent back to the client (RFC 6749 §4.1.2.1),
otherwise the provider would be an open redirector.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import OAuth2Error  # type: ignore[import-untyped]  # no types
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from powerstrip.examples.oauth_provider.models import User
from powerstrip.examples.oauth_provider.pages import error_page, sign_in_page
from powerstrip.examples.oauth_provider.requests import IncomingRequest
from powerstrip.examples.oauth_provider.throttle import SignInThrottle

if TYPE_CHECKING:
    from powerstrip.examples.oauth_provider.provider import OAuthProvider

__all__ = ["build_router"]

logger = logging.getLogger(__name__)

# The sign-in page must not be framed (clickjacking) or cached (it may show a username).
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'",
}


def _html(content: str, status_code: int = 200, *, redirect_to: str = "") -> HTMLResponse:
    """A page; `redirect_to`, a verified redirect URI the form's answer redirects to, is added
    to `form-action`: browsers apply it to the redirect after the post too, and would stop the
    user on the provider's page otherwise."""
    headers = dict(_PAGE_HEADERS)
    parts = urlsplit(redirect_to)
    if parts.scheme in ("http", "https") and parts.netloc:
        headers["Content-Security-Policy"] = headers["Content-Security-Policy"].replace(
            "form-action 'self'", f"form-action 'self' {parts.scheme}://{parts.netloc}"
        )
    return HTMLResponse(content, status_code=status_code, headers=headers)


def build_router(provider: OAuthProvider) -> APIRouter:
    """The router to mount under `/oauth` (or any prefix)."""
    router = APIRouter()
    server = provider.server
    site = provider.config.site_name

    def refusal(error: OAuth2Error) -> Response:
        """Back to the client when its redirect URI was verified; an HTML page otherwise."""
        if error.redirect_uri:
            response: Response = server.handle_error_response(None, error)
            return response
        logger.info("oauth.authorize.refused error=%s", error.error)
        message = error.description or error.error
        return _html(error_page("This sign-in link is not valid", message), 400)

    def consent(incoming: IncomingRequest, user: User | None) -> Response:
        """Validate the authorization request, then issue a code to `user` (None: denied)."""
        try:
            grant = server.get_consent_grant(request=incoming, end_user=None)
        except OAuth2Error as error:
            return refusal(error)
        response: Response = server.create_authorization_response(
            request=grant.request, grant_user=user, grant=grant
        )
        return response

    def form(incoming: IncomingRequest, username: str = "", problem: str = "") -> Response:
        """The sign-in page for a valid request, with `problem` shown when there is one."""
        try:
            grant = server.get_consent_grant(request=incoming, end_user=None)
        except OAuth2Error as error:
            return refusal(error)
        page = sign_in_page(
            site=site,
            client_name=grant.request.client.name,
            scope=grant.request.scope or "",
            action=incoming.url,
            username=username,
            error=problem,
        )
        # The redirect URI the grant validated against the client's registered ones.
        redirect = getattr(grant, "redirect_uri", None) or grant.request.payload.redirect_uri
        return _html(page, 200, redirect_to=str(redirect or ""))

    @router.get("/authorize")
    async def authorize_form(request: Request) -> Response:
        return await run_in_threadpool(form, IncomingRequest.without_body(request))

    throttle = SignInThrottle()

    @router.post("/authorize")
    async def authorize(request: Request) -> Response:
        incoming = IncomingRequest.without_body(request)
        address = request.client.host if request.client else "unknown"
        wait = throttle.wait(address)
        if wait > 0:
            seconds = SignInThrottle.retry_after(wait)
            page = error_page("Too many attempts", f"Try again in {seconds} seconds.")
            response = _html(page, 429)
            response.headers["Retry-After"] = seconds
            return response
        fields = await request.form()
        decision = str(fields.get("decision") or "allow")
        if decision == "deny":
            return await run_in_threadpool(consent, incoming, None)
        username = str(fields.get("username") or "")
        password = str(fields.get("password") or "")
        user = await run_in_threadpool(provider.store.sign_in, username, password)
        if user is None:
            throttle.failed(address)
            logger.info("oauth.sign_in.refused")
            return await run_in_threadpool(
                form, incoming, username, "The username or password is not right."
            )
        return await run_in_threadpool(consent, incoming, user)

    @router.post("/token")
    async def token(request: Request) -> Response:
        try:
            incoming = await IncomingRequest.with_parameters(request)
        except OAuth2Error as error:
            response: Response = server.handle_error_response(None, error)
            return response
        try:
            result: Response = await run_in_threadpool(server.create_token_response, incoming)
        except OAuth2Error as error:  # raised before Authlib's own handling (insecure transport)
            result = server.handle_error_response(None, error)
        return result

    return router
