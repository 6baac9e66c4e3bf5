"""`Plugin`: a few typed Python functions become a compliant ChatGPT-style plugin.

    plugin = Plugin(name_for_model="todo", name_for_human="TODO List", ...)

    @plugin.get("/todos")
    def list_todos(ctx: CallContext) -> TodoList:
        \"\"\"List the user's TODOs.\"\"\"

    app = plugin.app()   # a FastAPI app: serve it with uvicorn

The app serves `/.well-known/ai-plugin.json` (with the request's own host filled in),
`/openapi.yaml` and `/openapi.json`, `/logo.png` and `/legal`; it checks the auth scheme's
credentials, applies the rate limit and the caller allowlist, adds CORS for the host's origin,
and answers every error as JSON.
"""

from __future__ import annotations

import inspect
import ipaddress
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import yaml
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, Response

from powerstrip.findings import Severity
from powerstrip.plugin import parse_manifest
from powerstrip.sdk.assets import default_logo_png, legal_page_html
from powerstrip.sdk.auth import NoAuth, PluginAuth, credential_key
from powerstrip.sdk.context import CallContext, context_from_request
from powerstrip.sdk.errors import PluginError, install_error_handlers
from powerstrip.sdk.openapi_export import OpenAPIVersion, export_openapi
from powerstrip.sdk.plugin_files import PluginFiles, RenderedCache, RenderedDocument
from powerstrip.sdk.ratelimit import RateLimit, RateLimiter

__all__ = ["Operation", "Plugin"]

F = TypeVar("F", bound=Callable[..., Any])
_PLACEHOLDER_BASE = "https://plugin.example.com"
_KEYWORD = inspect.Parameter.KEYWORD_ONLY


@dataclass(frozen=True, slots=True)
class Operation:
    """One registered operation."""

    method: str
    path: str
    function: Callable[..., Any]
    operation_id: str
    summary: str
    description: str
    consequential: bool | None


class Plugin:
    """A plugin built from typed functions; `app()` gives the ASGI app that serves it."""

    def __init__(
        self,
        *,
        name_for_model: str,
        name_for_human: str,
        description_for_model: str,
        description_for_human: str,
        contact_email: str,
        auth: PluginAuth | None = None,
        legal_info_url: str | None = None,
        legal_text: str | None = None,
        logo_png: bytes | None = None,
        title: str | None = None,
        version: str = "v1",
        openapi_version: OpenAPIVersion = "3.0.1",
        host_origins: Sequence[str] = (),
        rate_limit: RateLimit | None = None,
        allow_callers: Sequence[str] = (),
    ) -> None:
        self.name_for_model = name_for_model
        self.name_for_human = name_for_human
        self.description_for_model = description_for_model
        self.description_for_human = description_for_human
        self.contact_email = contact_email
        self.auth: PluginAuth = auth or NoAuth()
        self.legal_info_url = legal_info_url
        self.legal_text = legal_text
        self.logo_png = logo_png or default_logo_png(name_for_model)
        self.title = title or name_for_human
        self.version = version
        self.openapi_version = openapi_version
        self.host_origins = tuple(host_origins)
        self._limiter = RateLimiter(rate_limit) if rate_limit else None
        self._allowed = tuple(ipaddress.ip_network(c, strict=False) for c in allow_callers)
        self._operations: list[Operation] = []
        self._routers: list[tuple[str, APIRouter]] = []
        self._app: FastAPI | None = None
        self._built_at = datetime.now(UTC)
        self._files = RenderedCache(self._render_files)
        # One callable each, so FastAPI runs the identity check once per request and both the
        # route and the context dependency share its result.
        self._identity_dependency = self._identity

        async def context(request: Request, user_id: str | None) -> CallContext:
            return context_from_request(request, user_id)

        # Set by hand: this module's annotations are strings FastAPI could not resolve here.
        context.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [
                inspect.Parameter("request", _KEYWORD, annotation=Request),
                inspect.Parameter(
                    "user_id",
                    _KEYWORD,
                    annotation=Annotated[str | None, Depends(self._identity_dependency)],
                ),
            ],
            return_annotation=CallContext,
        )
        self._context_dependency = context
        self._check_manifest()

    # -- describing the plugin ---------------------------------------------------------------

    def manifest(self, base_url: str) -> dict[str, Any]:  # Any: JSON values
        """The ai-plugin.json for a plugin served at `base_url`."""
        base = base_url.rstrip("/")
        auth = self.auth.manifest_entry()
        for key in ("client_url", "authorization_url"):
            if isinstance(auth.get(key), str) and auth[key].startswith("/"):
                auth[key] = base + auth[key]
        return {
            "schema_version": "v1",
            "name_for_human": self.name_for_human,
            "name_for_model": self.name_for_model,
            "description_for_human": self.description_for_human,
            "description_for_model": self.description_for_model,
            "auth": auth,
            "api": {"type": "openapi", "url": f"{base}/openapi.yaml"},
            "logo_url": f"{base}/logo.png",
            "contact_email": self.contact_email,
            "legal_info_url": self.legal_info_url or f"{base}/legal",
        }

    def openapi(self, base_url: str) -> dict[str, Any]:  # Any: JSON values
        """The OpenAPI document for a plugin served at `base_url`."""
        return export_openapi(
            self.app().openapi(), base_url=base_url.rstrip("/"), version=self.openapi_version
        )

    def files(self, base_url: str) -> PluginFiles:
        """The manifest and spec as served at `base_url`: rendered once, then kept.

        Register every operation first: the documents are rendered from the built app.
        """
        return self._files.get(base_url)

    def _render_files(self, base_url: str) -> PluginFiles:
        spec = self.openapi(base_url)
        yaml_text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)
        when = self._built_at
        return PluginFiles(
            manifest=RenderedDocument.of(
                bytes(JSONResponse(self.manifest(base_url)).body), "application/json", when
            ),
            openapi_yaml=RenderedDocument.of(yaml_text.encode(), "application/yaml", when),
            openapi_json=RenderedDocument.of(
                bytes(JSONResponse(spec).body), "application/json", when
            ),
        )

    def _check_manifest(self) -> None:
        # A plugin built with the SDK must be compliant: refuse to build one that is not.
        report = parse_manifest(self.manifest(_PLACEHOLDER_BASE))
        errors = [f for f in report.findings if f.severity is Severity.ERROR]
        if errors:
            details = "; ".join(f"{f.location}: {f.message} ({f.fix})" for f in errors)
            raise ValueError(f"this plugin would break the platform's rules: {details}")

    # -- registering operations --------------------------------------------------------------

    def operation(
        self,
        method: str,
        path: str,
        *,
        consequential: bool | None = None,
        operation_id: str | None = None,
        summary: str | None = None,
    ) -> Callable[[F], F]:
        """Register a function as the operation `METHOD path`.

        The function's name is the operationId and its docstring's first line the summary (the
        rest is the description). `consequential=True` makes the host confirm every call;
        `False` lets users "always allow" it; `None` leaves the platform's default (GET is not
        consequential, other methods are). A parameter annotated `CallContext` receives the
        call's context; others are parsed from the path, query and JSON body as in FastAPI.
        """

        def register(function: F) -> F:
            if self._app is not None:
                raise RuntimeError("register every operation before calling app()")
            doc = inspect.cleandoc(function.__doc__ or "")
            first, _, rest = doc.partition("\n")
            self._operations.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    function=function,
                    operation_id=operation_id or function.__name__,
                    summary=summary or first.strip() or function.__name__.replace("_", " "),
                    description=rest.strip(),
                    consequential=consequential,
                )
            )
            return function

        return register

    def get(self, path: str, **options: Any) -> Callable[[F], F]:  # Any: see operation()
        return self.operation("GET", path, **options)

    def post(self, path: str, **options: Any) -> Callable[[F], F]:  # Any: see operation()
        return self.operation("POST", path, **options)

    def put(self, path: str, **options: Any) -> Callable[[F], F]:  # Any: see operation()
        return self.operation("PUT", path, **options)

    def patch(self, path: str, **options: Any) -> Callable[[F], F]:  # Any: see operation()
        return self.operation("PATCH", path, **options)

    def delete(self, path: str, **options: Any) -> Callable[[F], F]:  # Any: see operation()
        return self.operation("DELETE", path, **options)

    def include_router(self, router: APIRouter, *, prefix: str = "") -> None:
        """Serve extra routes that are not operations for the model (an OAuth provider...)."""
        if self._app is not None:
            raise RuntimeError("include every router before calling app()")
        self._routers.append((prefix, router))

    # -- the app -----------------------------------------------------------------------------

    def app(self) -> FastAPI:
        """The plugin's ASGI app (built once)."""
        if self._app is None:
            self._app = self._build()
        return self._app

    def _build(self) -> FastAPI:
        # The documents' Last-Modified: they cannot change once the app is built.
        self._built_at = datetime.now(UTC)
        app = FastAPI(
            title=self.title,
            version=self.version,
            description=self.description_for_human,
            openapi_url=None,
            docs_url=None,
            redoc_url=None,
        )
        install_error_handlers(app)
        if self.host_origins:
            app.add_middleware(
                CORSMiddleware,
                allow_origins=list(self.host_origins),
                allow_methods=["*"],
                allow_headers=["*"],
            )
        self._add_plugin_files(app)
        for prefix, router in self._routers:
            app.include_router(router, prefix=prefix, include_in_schema=False)
        for operation in self._operations:
            extra = {}
            if operation.consequential is not None:
                extra["x-openai-isConsequential"] = operation.consequential
            app.add_api_route(
                operation.path,
                self._endpoint(operation),
                methods=[operation.method],
                operation_id=operation.operation_id,
                summary=operation.summary,
                description=operation.description or None,
                dependencies=[Depends(self._identity_dependency)],
                openapi_extra=extra or None,
            )
        return app

    def _add_plugin_files(self, app: FastAPI) -> None:
        # Rendered once per base URL; a matching revalidation is a 304 without rendering.
        @app.get("/.well-known/ai-plugin.json", include_in_schema=False)
        def manifest(request: Request) -> Response:
            return self.files(str(request.base_url)).manifest.response(request)

        @app.get("/openapi.yaml", include_in_schema=False)
        def openapi_yaml(request: Request) -> Response:
            return self.files(str(request.base_url)).openapi_yaml.response(request)

        @app.get("/openapi.json", include_in_schema=False)
        def openapi_json(request: Request) -> Response:
            return self.files(str(request.base_url)).openapi_json.response(request)

        @app.get("/logo.png", include_in_schema=False)
        def logo() -> Response:
            return Response(self.logo_png, media_type="image/png")

        @app.get("/legal", include_in_schema=False)
        def legal() -> HTMLResponse:
            return HTMLResponse(
                legal_page_html(self.name_for_human, self.contact_email, self.legal_text)
            )

    async def _identity(self, request: Request) -> str | None:
        """Allowlist, credentials, then rate limit: the authenticated user id, or None."""
        address = request.client.host if request.client else ""
        if self._allowed and not _permitted(address, self._allowed):
            raise PluginError(403, f"calls from {address or 'this address'} are not allowed")
        try:
            user = await self.auth.authenticate(request)
        except PluginError:
            # A refused credential is charged to the address: were it keyed by the credential,
            # every guessed key would get a fresh bucket and the limit would never slow guessing.
            self._take_token(f"addr:{address}")
            raise
        if user is not None:
            self._take_token(f"user:{user}")
        elif isinstance(self.auth, NoAuth):
            self._take_token(f"addr:{address}")  # a header proves nothing without auth
        else:
            self._take_token(credential_key(request))
        return user

    def _take_token(self, key: str) -> None:
        """Take one call from `key`'s bucket, or refuse with 429 and `Retry-After`."""
        if self._limiter is None:
            return
        wait = self._limiter.acquire(key)
        if wait > 0:
            seconds = RateLimiter.retry_after(wait)
            message = f"too many requests: try again in {seconds} s"
            raise PluginError(429, message, headers={"Retry-After": seconds})

    def _endpoint(self, operation: Operation) -> Callable[..., Any]:
        """The function with `CallContext` parameters wired to the context dependency."""
        function = operation.function
        hints = typing.get_type_hints(function, include_extras=True)
        signature = inspect.signature(function)
        context = Annotated[CallContext, Depends(self._context_dependency)]
        parameters = [
            p.replace(
                annotation=context
                if hints.get(p.name) is CallContext
                else hints.get(p.name, p.annotation)
            )
            for p in signature.parameters.values()
        ]
        if inspect.iscoroutinefunction(function):

            async def endpoint(**kwargs: Any) -> Any:  # Any: the author's own types
                return await function(**kwargs)

        else:

            def endpoint(**kwargs: Any) -> Any:  # type: ignore[misc]  # Any: the author's
                return function(**kwargs)

        endpoint.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=parameters,
            return_annotation=hints.get("return", signature.return_annotation),
        )
        endpoint.__name__ = function.__name__
        # FastAPI falls back to the docstring for the description: give it only the details.
        endpoint.__doc__ = operation.description
        return endpoint


def _permitted(
    address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)
