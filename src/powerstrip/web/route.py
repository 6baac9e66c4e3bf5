"""`WebRoute`: a page route whose failures answer as HTML pages, never as the API's JSON.

Whatever a page's handler or its dependencies raise becomes a page: a redirect to the sign-in
page, a 403 for a refused form, the same 404 for anything missing or not the user's.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from powerstrip.errors import AccessError, NotFoundError, PowerstripError
from powerstrip.web.render import templates
from powerstrip.web.security import CsrfRefused, NeedsSignIn

__all__ = ["WebRoute", "error_page"]


def error_page(status: int, title: str, message: str) -> Response:
    body = (
        templates()
        .get_template("error.html")
        .render(title=title, message=message, user=None, csrf="", visitor=None)
    )
    return Response(body, status_code=status, media_type="text/html")


class WebRoute(APIRoute):
    """A page route: failures answer as HTML pages, never as the API's JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except NeedsSignIn as exc:
                target = (
                    "/sign-in" if exc.next_path in ("/", "") else (f"/sign-in?next={exc.next_path}")
                )
                return RedirectResponse(target, status_code=303)
            except CsrfRefused as exc:
                return error_page(403, "This form was refused", exc.reason)
            except NotFoundError:
                return _not_found()
            except (RequestValidationError, StarletteHTTPException):
                return _not_found()
            except AccessError as exc:
                return error_page(403, "Not allowed", exc.message)
            except PowerstripError as exc:
                return error_page(400, "That did not work", str(exc))

        return page_handler


def _not_found() -> Response:
    # The same page whether the thing does not exist or is someone else's: ids do not leak.
    return error_page(404, "Not found", "There is nothing here, or it is not yours to see.")
