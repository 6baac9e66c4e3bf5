"""A browser that follows a Powerstrip host's OAuth sign-in link to the end, over real HTTP.

    async with httpx.AsyncClient() as browser:
        page = await sign_in_through_host(
            browser, link, "alice", password, public_url="http://127.0.0.1:8000"
        )
        assert page.status_code == 200

The steps a person takes: open the host's sign-in page, press "Continue" (a same-origin form
post with the page's CSRF token), fill in the provider's form, and land back on the host's
callback. `locate(url)` says where the browser really goes for a URL (tests that serve
`https://example.com` on a loopback port map it there); by default, the URL itself.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx

__all__ = ["SignInError", "sign_in_through_host"]


class SignInError(AssertionError):
    """A step of the sign-in answered something other than what a browser expects there."""


def _expect(answer: httpx.Response, status: int, step: str) -> None:
    if answer.status_code != status:
        raise SignInError(
            f"{step}: expected HTTP {status}, got {answer.status_code}: {answer.text}"
        )


async def sign_in_through_host(
    browser: httpx.AsyncClient,
    link: str,
    username: str,
    password: str,
    *,
    public_url: str,
    locate: Callable[[str], str] = lambda url: url,
) -> httpx.Response:
    """Sign in as `username` from the host's `link`; the host's answer to the callback."""
    page = await browser.get(locate(link))
    _expect(page, 200, "the host's sign-in page")
    if "Continue to sign in" not in page.text:  # who, what and where, before going on
        raise SignInError(f"the host's sign-in page does not ask to continue: {page.text}")
    ticket = parse_qs(urlsplit(link).query)["ticket"][0]
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    begin = await browser.post(
        locate(link),
        data={"ticket": ticket, "csrf": csrf},
        headers={"Origin": public_url, "Sec-Fetch-Site": "same-origin"},
    )
    _expect(begin, 303, "continuing from the host's sign-in page")
    provider = locate(begin.headers["location"])
    form = await browser.get(provider)
    _expect(form, 200, "the provider's sign-in form")
    signed = await browser.post(provider, data={"username": username, "password": password})
    _expect(signed, 302, "signing in at the provider")
    return await browser.get(locate(signed.headers["location"]))
