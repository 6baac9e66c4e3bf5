"""The guarded transport: httpcore with a network backend that checks every address it dials.

`GuardedNetworkBackend.connect_tcp` resolves the host once, refuses the connection when any
candidate address is forbidden (`address_guard`), and dials the vetted IP itself. httpcore then
runs TLS with `server_hostname` set to the original host, so SNI, certificate verification and
the Host header all keep the name while the socket goes to the pinned address.
`map_httpcore_errors` turns httpcore's exceptions into ours at this boundary.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

from powerstrip.errors import (
    AddressBlockedError,
    BrokenConnectionError,
    ConnectError,
    FetchTimeoutError,
    NetError,
    ProtocolError,
    TLSPolicyError,
)
from powerstrip.net.own_addresses import OUTBOUND_HEADER
from powerstrip.net.policy import NetPolicy, address_permitted, own_address_error
from powerstrip.net.resolver import resolve
from powerstrip.net.tls import build_ssl_context

__all__ = ["SITE_EXTENSION", "GuardedNetworkBackend", "GuardedTransport", "map_httpcore_errors"]

SITE_EXTENSION = "powerstrip.site"
"""The request extension naming the site (manifest host) a request is made for."""

logger = logging.getLogger(__name__)


def _ssl_cause(exc: BaseException) -> ssl.SSLError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


@contextmanager
def map_httpcore_errors(where: str) -> Iterator[None]:
    """Convert httpcore exceptions raised inside the block into Powerstrip errors, by kind.

    The kind says what may have happened, which is what decides a retry: `ConnectError` means
    no connection was made, so nothing was sent; `BrokenConnectionError` means the request was
    (or may have been) sent before the connection broke; `ProtocolError` means one side did not
    speak HTTP. httpx's own transport draws the same lines.
    """
    try:
        yield
    except NetError:
        raise
    except httpcore.TimeoutException as exc:
        raise FetchTimeoutError(
            f"timed out ({type(exc).__name__})",
            where=where,
            fix="check that the server answers promptly, or raise the timeout setting",
        ) from None
    except httpcore.UnsupportedProtocol as exc:
        raise TLSPolicyError(str(exc), where=where, fix="use an https:// URL") from None
    except httpcore.ConnectError as exc:
        raise ConnectError(
            f"could not connect: {exc or type(exc).__name__}",
            where=where,
            fix="check that the server is up and listening",
        ) from None
    except httpcore.LocalProtocolError:
        # h11 refused to write the request; its message quotes the offending header value,
        # which may be a credential, so it is not repeated here.
        raise ProtocolError(
            "the request could not be written as HTTP: a header name or value holds "
            "characters HTTP does not allow",
            where=where,
            fix="check the header values (keys must be printable ASCII without spaces)",
        ) from None
    except httpcore.RemoteProtocolError as exc:
        if _disconnected(exc):
            raise _broken(where, exc) from None
        raise ProtocolError(
            f"the answer is not well-formed HTTP: {exc or type(exc).__name__}",
            where=where,
            fix="check that the server speaks HTTP/1.1 (over TLS outside development mode)",
        ) from None
    except (httpcore.NetworkError, httpcore.ProtocolError, OSError) as exc:
        raise _broken(where, exc) from None


def _disconnected(exc: httpcore.RemoteProtocolError) -> bool:
    # h11 reports a peer that closed before answering as a protocol error; for a retry it is a
    # broken connection (the request went out), not a malformed answer.
    return "disconnected" in str(exc).lower()


def _broken(where: str, exc: BaseException) -> BrokenConnectionError:
    return BrokenConnectionError(
        f"the connection broke after the request was sent: {exc or type(exc).__name__}",
        where=where,
        fix="check the server's log: it may have received (and acted on) the request",
    )


class _GuardedStream(httpcore.AsyncNetworkStream):
    """A connected stream whose TLS handshake failures become TLSPolicyError."""

    def __init__(self, inner: httpcore.AsyncNetworkStream, host: str) -> None:
        self._inner = inner
        self._host = host

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
    ) -> httpcore.AsyncNetworkStream:
        try:
            return await self._inner.start_tls(ssl_context, server_hostname, timeout)
        except httpcore.ConnectError as exc:
            cause = _ssl_cause(exc)
            if cause is None:
                raise
            reason = getattr(cause, "verify_message", None) or cause.reason or str(cause)
            raise TLSPolicyError(
                f"TLS handshake with {self._host} refused: {reason}",
                where=self._host,
                fix=(
                    "serve TLS 1.2 or later with a certificate for this host name that chains "
                    "to a trusted CA (set ca_bundle for a private CA)"
                ),
            ) from None

    def get_extra_info(self, info: str) -> Any:  # Any: mirrors httpcore's own signature.
        return self._inner.get_extra_info(info)


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """A network backend that resolves once, applies the address guard, and dials the IP."""

    def __init__(
        self,
        policy: NetPolicy,
        inner: httpcore.AsyncNetworkBackend | None = None,
        *,
        site: str | None = None,
    ):
        self._policy = policy
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()
        # The manifest host of the plugin this backend connects for: allowlist entries are
        # per site, so each site has its own backend (and its own pool, see GuardedTransport).
        self._site = site

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        target = await resolve(host, port, self._policy.resolve)
        # Every candidate must pass, not just the first: a name that resolves to one public and
        # one private address is refused outright rather than raced.
        for address in target.addresses:
            if self._policy.own.is_own_socket(address, target.port):
                logger.warning("net.blocked_self host=%s address=%s", host, address)
                raise own_address_error(f"{host}:{port}")
            if not address_permitted(self._policy, host, address, self._site):
                logger.warning(
                    "net.blocked host=%s address=%s source=%s", host, address, target.source
                )
                raise AddressBlockedError(
                    f"{host} resolves to {address}, a loopback, private, link-local or reserved "
                    "address that outbound requests may not reach",
                    where=host,
                    fix=(
                        "use a host with a public address; an operator can open this "
                        "destination for this plugin with allow_hosts"
                    ),
                )
        last_error: Exception | None = None
        for address in target.addresses:
            try:
                stream = await self._inner.connect_tcp(
                    str(address),
                    target.port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
                continue
            logger.debug("net.connect host=%s address=%s port=%s", host, address, target.port)
            return _GuardedStream(stream, host)
        if last_error is None:  # pragma: no cover - resolve() never returns no address
            raise ConnectError(f"{host} has no address", where=host, fix="check its DNS records")
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise ConnectError(
            "unix sockets are not reachable through the guarded client",
            where=path,
            fix="use an https URL",
        )

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, inner: AsyncIterable[bytes], where: str) -> None:
        self._inner = inner
        self._where = where

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with map_httpcore_errors(self._where):
            async for part in self._inner:
                yield part

    async def aclose(self) -> None:
        close = getattr(self._inner, "aclose", None)
        if close is not None:
            with map_httpcore_errors(self._where):
                await close()


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport over httpcore with the guarded backend and the policy's TLS context.

    One connection pool per site (`SITE_EXTENSION`): the address guard runs when a connection
    is made, so a connection opened for one plugin must never be reused for another, whose
    allowlist entries differ.
    """

    def __init__(self, policy: NetPolicy, *, max_connections: int = 20) -> None:
        self._policy = policy
        self._ssl_context = build_ssl_context(policy)
        self._max_connections = max_connections
        self._pools: dict[str, httpcore.AsyncConnectionPool] = {}

    def _pool(self, site: str) -> httpcore.AsyncConnectionPool:
        pool = self._pools.get(site)
        if pool is None:
            pool = self._pools[site] = httpcore.AsyncConnectionPool(
                ssl_context=self._ssl_context,
                max_connections=self._max_connections,
                http1=True,
                http2=False,
                retries=0,
                # Idle connections go: a host with many plugins must not keep a socket each.
                keepalive_expiry=30.0,
                network_backend=GuardedNetworkBackend(self._policy, site=site or None),
            )
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request through its site's pool; never follows redirects."""
        url = request.url
        where = f"{url.scheme}://{url.netloc.decode('ascii')}{url.path}"
        assert isinstance(request.stream, httpx.AsyncByteStream)  # httpx always builds one
        site = str(request.extensions.get(SITE_EXTENSION) or url.host).lower()
        # Set last, over any header a caller (or a spec's header parameter) chose: a host that
        # receives this request must know it came from a host, not from a person.
        headers = [(k, v) for k, v in request.headers.raw if k.lower() != OUTBOUND_HEADER.encode()]
        headers.append((OUTBOUND_HEADER.encode(), b"1"))
        extensions = {k: v for k, v in request.extensions.items() if k != SITE_EXTENSION}
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=headers,
            content=request.stream,
            extensions=extensions,
        )
        with map_httpcore_errors(where):
            core_response = await self._pool(site).handle_async_request(core_request)
        body = core_response.stream
        if not isinstance(body, AsyncIterable):  # pragma: no cover - httpcore's async pool
            raise TypeError("httpcore returned a synchronous body to an async pool")
        return httpx.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=_ResponseStream(body, where),
            extensions=core_response.extensions,
        )

    async def aclose(self) -> None:
        """Close every pooled connection."""
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()
