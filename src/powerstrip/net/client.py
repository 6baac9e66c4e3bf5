"""`GuardedClient`: the one way Powerstrip talks to the outside world.

Every hop passes `check_url` (scheme and port), the transport's address guard and TLS policy,
one time budget for the whole exchange, and a cap on the body size. `fetch` follows redirects
only when the caller's policy allows each hop; `request` never follows them and may retry.
"""

from __future__ import annotations

import functools
import logging
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

import anyio
import httpx

from powerstrip.errors import (
    AddressBlockedError,
    BrokenConnectionError,
    ConnectError,
    FetchTimeoutError,
    NetError,
    ProtocolError,
    RedirectRefusedError,
    ResponseTooLargeError,
    TLSPolicyError,
)
from powerstrip.net.address_guard import is_forbidden, parse_host_literal
from powerstrip.net.policy import NetPolicy, check_url
from powerstrip.net.resolver import resolve
from powerstrip.net.response import FetchedResponse
from powerstrip.net.retry import RetryPolicy, parse_retry_after
from powerstrip.net.transport import SITE_EXTENSION, GuardedTransport

__all__ = ["GuardedClient", "RedirectPolicy"]

logger = logging.getLogger(__name__)

RedirectPolicy = Callable[[httpx.URL, httpx.URL], bool]
"""Decides whether to follow a redirect from the first URL to the second."""

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Credentials are never carried to another origin on a redirect.
_ORIGIN_BOUND_HEADERS = ("authorization", "cookie", "proxy-authorization")
QueryParams = Mapping[str, str | int | float | bool | None]


def _no_cookies() -> CookieJar:
    """A jar that keeps no cookie and sends none.

    One client makes every user's calls (and the host's own fetches): a cookie a plugin set in
    its answer to one user's call would otherwise go out on the next user's call to that plugin,
    a session of one user presented on another's behalf.
    """
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def _may_retry(exc: NetError, method: str, retry: RetryPolicy | None, attempts: int) -> bool:
    """Whether a failed attempt may be made again: never when it may have happened already.

    A connection that could not be made sent nothing, so any method is retried; once the request
    went out, only a method that is safe to repeat is (a POST the plugin read must not run twice).
    """
    if retry is None or attempts >= retry.max_attempts:
        return False
    if isinstance(exc, ConnectError):
        return True
    return method.upper() in retry.repeatable_methods


@dataclass(frozen=True, slots=True)
class _Exchange:
    status_code: int
    headers: httpx.Headers
    content: bytes


def _log_url(url: httpx.URL) -> str:
    # Query strings can hold API keys: logs only get scheme, host, port and path. Cut from the
    # URL's text (a `?` or `#` in a path or user is percent-encoded there, so the first one
    # starts the query or fragment): `copy_with` parses the URL again, about six times the
    # cost, and every exchange names its URL twice.
    return str(url).partition("#")[0].partition("?")[0]


def _parse_url(url: str | httpx.URL) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
        # httpx decodes an `xn--` host only when asked: a label that is not valid punycode
        # (`xn--localhost`) fails there, inside the policy checks, unless it fails here.
        _ = parsed.host
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        # httpx rejects some spellings resolvers accept (`0177.0.0.1`); say what they hide.
        try:
            host = urlsplit(str(url)).hostname or ""
        except ValueError:
            host = ""
        literal = parse_host_literal(host)
        if literal is not None and is_forbidden(literal):
            raise AddressBlockedError(
                f"{host} spells {literal}, an address outbound requests may not reach",
                where=str(url),
                fix="use a host with a public address",
            ) from None
        raise TLSPolicyError(
            f"invalid URL: {exc}", where=str(url), fix="use an absolute https:// URL"
        ) from None
    return parsed


@functools.lru_cache(maxsize=512)
def _parse_site_url(url: str) -> httpx.URL:
    return _parse_url(url)


def _parse_plain_url(url: str | httpx.URL) -> httpx.URL:
    """`_parse_url`, remembered for a URL that carries no query and no user part.

    A turn revalidates the same spec of the same site, and names that site as each call's
    origin: parsing those URLs again cost more than the checks made with them. One with a query
    or a user part (or a fragment) may hold a credential, and is never kept. A URL that fails
    to parse is not remembered either (the cache keeps only what returned).
    """
    if not isinstance(url, str) or any(mark in url for mark in "?@#"):
        return _parse_url(url)
    return _parse_site_url(url)


class _BoundedDecoder:
    """Undo a Content-Encoding without ever producing more than the caller allows."""

    def __init__(self, encoding: str, where: str) -> None:
        kind = encoding.strip().lower()
        self._zlib: zlib._Decompress | None = None
        if kind in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif kind == "deflate":
            self._zlib = zlib.decompressobj()
        elif kind not in ("", "identity"):
            raise ProtocolError(
                f"the response uses the {kind!r} content encoding, which is not accepted",
                where=where,
                fix="serve the response uncompressed, or gzip/deflate-encoded",
            )
        self._where = where

    def feed(self, chunk: bytes, limit: int) -> bytes:
        if self._zlib is None:
            return chunk
        try:
            # max_length bounds the output; what is left stays in unconsumed_tail.
            out = self._zlib.decompress(self._zlib.unconsumed_tail + chunk, max(limit, 1))
        except zlib.error as exc:
            raise ProtocolError(
                f"the compressed response is corrupt: {exc}",
                where=self._where,
                fix="check the server's Content-Encoding",
            ) from None
        return out

    def flush(self, limit: int) -> bytes:
        if self._zlib is None:
            return b""
        return self.feed(b"", limit)


class GuardedClient:
    """The guarded outbound HTTP client; use as `async with GuardedClient(policy) as client:`.

    Raises ConfigError at construction when the policy's CA bundle cannot be loaded.
    """

    def __init__(self, policy: NetPolicy) -> None:
        self.policy = policy
        # trust_env=False: proxies from the environment would bypass the address guard.
        self._client = httpx.AsyncClient(
            transport=GuardedTransport(policy),
            follow_redirects=False,
            trust_env=False,
            # Ask for bodies as they are; a server that compresses anyway is decoded under the
            # size cap (see _BoundedDecoder).
            headers={"accept-encoding": "identity"},
            cookies=_no_cookies(),
            # The whole-exchange budget is enforced with anyio.fail_after around each call.
            timeout=None,  # noqa: S113
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._client.aclose()

    async def fetch(
        self,
        url: str,
        *,
        redirect_policy: RedirectPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - a budget, enforced with fail_after
        max_bytes: int | None = None,
        origin: str | None = None,
    ) -> FetchedResponse:
        """GET a manifest or spec, following only the redirects `redirect_policy` allows.

        `timeout` (default `policy.fetch_timeout`) bounds the whole exchange, redirects
        included. Non-2xx statuses are returned, not raised. `origin` is the URL of the site the
        request is made for (a plugin's manifest URL; None: the destination itself): local
        destinations in development mode and the operator's allowlist are opened per origin.
        """
        budget = self.policy.fetch_timeout if timeout is None else timeout
        cap = self.policy.max_response_bytes if max_bytes is None else max_bytes
        current = _parse_plain_url(url)
        # Without an origin, the first URL is the site: its redirects are made on its behalf.
        on_behalf = _parse_plain_url(origin) if origin is not None else current
        hop_headers = dict(headers or {})
        redirects: list[str] = []
        started = time.monotonic()
        try:
            with anyio.fail_after(budget):
                while True:
                    await self._check_url(current, on_behalf)
                    exchange = await self._exchange(
                        "GET", current, headers=hop_headers, cap=cap, origin=on_behalf
                    )
                    location = exchange.headers.get("location")
                    if exchange.status_code not in _REDIRECT_STATUSES or location is None:
                        break
                    target = self._redirect_target(current, location)
                    if redirect_policy is None or not redirect_policy(current, target):
                        raise RedirectRefusedError(
                            f"redirect from {current.host} to {target.host} refused "
                            f"({_log_url(current)} -> {_log_url(target)})",
                            where=_log_url(current),
                            fix=(
                                "serve the resource at the requested URL, or redirect only "
                                "to a subdomain of the same host"
                            ),
                        )
                    if len(redirects) >= self.policy.max_redirects:
                        raise RedirectRefusedError(
                            f"more than {self.policy.max_redirects} redirects, last from "
                            f"{current.host} to {target.host}",
                            where=_log_url(current),
                            fix="serve the resource without a chain (or loop) of redirects",
                        )
                    logger.info("net.redirect from=%s to=%s", _log_url(current), _log_url(target))
                    if (target.scheme, target.host, target.port) != (
                        current.scheme,
                        current.host,
                        current.port,
                    ):
                        for name in _ORIGIN_BOUND_HEADERS:
                            hop_headers = {
                                k: v for k, v in hop_headers.items() if k.lower() != name
                            }
                    redirects.append(str(current))
                    current = target
        except TimeoutError:
            raise self._timeout_error(current, budget) from None
        elapsed = time.monotonic() - started
        logger.info(
            "net.fetch url=%s status=%s bytes=%s redirects=%s elapsed=%.3f",
            _log_url(current),
            exchange.status_code,
            len(exchange.content),
            len(redirects),
            elapsed,
        )
        return FetchedResponse(
            url=str(current),
            status_code=exchange.status_code,
            headers=exchange.headers,
            content=exchange.content,
            elapsed=elapsed,
            redirects=tuple(redirects),
            attempts=1,
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: QueryParams | None = None,
        json: object = None,
        content: bytes | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - a budget, enforced with fail_after
        max_bytes: int | None = None,
        retry: RetryPolicy | None = None,
        origin: str | None = None,
    ) -> FetchedResponse:
        """Make one API call; never follows redirects (a 3xx is returned as is).

        `timeout` (default `policy.call_timeout`) bounds the whole round trip, retries
        included. With `retry`, a connection that could not be made, a broken connection (only
        for `retry.repeatable_methods`) and `retry.retry_statuses` are retried with backoff,
        honouring `Retry-After`, never sleeping past the deadline. A `NetError` raised here
        carries the number of attempts made. `origin` is as for `fetch`.
        """
        budget = self.policy.call_timeout if timeout is None else timeout
        cap = self.policy.max_response_bytes if max_bytes is None else max_bytes
        target = _parse_url(url)
        if params:
            target = target.copy_merge_params(dict(params))
        on_behalf = _parse_plain_url(origin) if origin is not None else None
        await self._check_url(target, on_behalf)
        started = time.monotonic()
        deadline = started + budget
        attempts = 0
        try:
            with anyio.fail_after(budget):
                while True:
                    attempts += 1
                    try:
                        exchange = await self._exchange(
                            method.upper(),
                            target,
                            headers=dict(headers or {}),
                            cap=cap,
                            json=json,
                            content=content,
                            origin=on_behalf or target,
                        )
                    except (ConnectError, BrokenConnectionError) as exc:
                        if not _may_retry(exc, method, retry, attempts):
                            raise
                        assert retry is not None  # _may_retry says no without a policy
                        delay = retry.backoff(attempts)
                        if time.monotonic() + delay >= deadline:
                            raise
                    else:
                        if (
                            retry is None
                            or exchange.status_code not in retry.retry_statuses
                            or attempts >= retry.max_attempts
                        ):
                            break
                        delay = self._retry_delay(exchange, retry, attempts, target, deadline)
                    logger.info(
                        "net.retry url=%s attempt=%s delay=%.3f", _log_url(target), attempts, delay
                    )
                    await anyio.sleep(delay)
        except TimeoutError:
            error = self._timeout_error(target, budget)
            error.attempts = attempts
            raise error from None
        except NetError as exc:
            exc.attempts = attempts
            raise
        elapsed = time.monotonic() - started
        logger.info(
            "net.request method=%s url=%s status=%s bytes=%s attempts=%s elapsed=%.3f",
            method.upper(),
            _log_url(target),
            exchange.status_code,
            len(exchange.content),
            attempts,
            elapsed,
        )
        return FetchedResponse(
            url=str(target),
            status_code=exchange.status_code,
            headers=exchange.headers,
            content=exchange.content,
            elapsed=elapsed,
            redirects=(),
            attempts=attempts,
        )

    async def _check_url(self, url: httpx.URL, origin: httpx.URL | None) -> None:
        """`check_url`, except that a host that does not exist is named as such.

        `http://locahost:5005` breaks the scheme rule only because of a typo: saying "plain http
        is refused" would send its author looking in the wrong place.
        """
        try:
            check_url(self.policy, url, origin)
        except TLSPolicyError:
            host = url.host
            overridden = any(rule.matches(host, rule.port or 0) for rule in self.policy.resolve)
            if url.scheme == "http" and parse_host_literal(host) is None and not overridden:
                try:
                    await resolve(host, url.port or 80)
                except ConnectError:
                    raise ConnectError(
                        f"{host!r} is neither a name that resolves nor a local host "
                        "(localhost, 127.0.0.1, ::1)",
                        where=_log_url(url),
                        fix="check the spelling of the host name",
                    ) from None
            raise

    @staticmethod
    def _retry_delay(
        exchange: _Exchange, retry: RetryPolicy, attempts: int, url: httpx.URL, deadline: float
    ) -> float:
        asked = parse_retry_after(exchange.headers)
        delay = retry.backoff(attempts) if asked is None else asked
        remaining = deadline - time.monotonic()
        if delay >= remaining:
            what = (
                f"Retry-After {asked:g} s" if asked is not None else f"a backoff of {delay:.2f} s"
            )
            raise FetchTimeoutError(
                f"the server answered {exchange.status_code} and {what} would pass the "
                f"deadline ({max(remaining, 0.0):.2f} s left)",
                where=_log_url(url),
                fix="try again later, or raise call_timeout",
            )
        return delay

    @staticmethod
    def _redirect_target(current: httpx.URL, location: str) -> httpx.URL:
        try:
            target = current.join(location)
            _ = target.host  # an invalid `xn--` label fails only when decoded (see _parse_url)
        except (httpx.InvalidURL, ValueError) as exc:
            raise RedirectRefusedError(
                f"redirect to an invalid location {location[:200]!r}: {exc}",
                where=_log_url(current),
                fix="send an absolute or relative URL in Location",
            ) from None
        return target

    def _timeout_error(self, url: httpx.URL, budget: float) -> FetchTimeoutError:
        return FetchTimeoutError(
            f"no complete answer within {budget:g} s",
            where=_log_url(url),
            fix="check that the server answers promptly, or raise the timeout setting",
        )

    async def _exchange(
        self,
        method: str,
        url: httpx.URL,
        *,
        headers: Mapping[str, str],
        cap: int,
        origin: httpx.URL,
        json: object = None,
        content: bytes | None = None,
    ) -> _Exchange:
        """One request/response on the wire, reading at most `cap` body bytes."""
        where = _log_url(url)
        try:
            request = self._client.build_request(
                method,
                url,
                headers=headers,
                json=json,
                content=content,
                extensions={SITE_EXTENSION: origin.host.lower()},
            )
            response = await self._client.send(request, stream=True)
        except NetError:
            raise
        except httpx.HTTPError as exc:
            # Raised while building the request, before anything went out.
            raise ProtocolError(
                f"the request could not be built: {type(exc).__name__}",
                where=where,
                fix="check the URL and the request headers",
            ) from None
        except ValueError:
            # httpx reads the Location of every 3xx (to offer `next_request`), and decoding
            # a host that is not valid punycode (`xn--localhost`) raises a UnicodeError. The
            # request was sent; httpx closed the response.
            raise ProtocolError(
                "the server answered with a redirect to a Location that is not a valid URL",
                where=where,
                fix="send an absolute or relative URL with a valid host in Location",
            ) from None
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > cap:
                raise self._too_large(where, cap, f"Content-Length says {declared} bytes")
            if response.status_code in _REDIRECT_STATUSES and "location" in response.headers:
                return _Exchange(response.status_code, response.headers, b"")
            decoder = _BoundedDecoder(response.headers.get("content-encoding", ""), where)
            body = bytearray()
            # Raw bytes, decoded here under the cap: httpx would inflate a whole chunk first,
            # and a few KB of gzip or zstd can inflate to gigabytes.
            async for chunk in response.aiter_raw():
                body += decoder.feed(chunk, cap - len(body) + 1)
                if len(body) > cap:
                    raise self._too_large(where, cap, "the body passed the cap while streaming")
            body += decoder.flush(cap - len(body) + 1)
            if len(body) > cap:
                raise self._too_large(where, cap, "the body passed the cap while decoding")
        except NetError:
            raise
        except httpx.HTTPError as exc:
            raise ProtocolError(
                f"the response could not be read: {exc}",
                where=where,
                fix="check that the server sends a well-formed HTTP response",
            ) from None
        finally:
            await response.aclose()
        return _Exchange(response.status_code, response.headers, bytes(body))

    @staticmethod
    def _too_large(where: str, cap: int, detail: str) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            f"the response is larger than {cap} bytes ({detail})",
            where=where,
            fix="make the response smaller, or raise max_response_bytes",
        )
