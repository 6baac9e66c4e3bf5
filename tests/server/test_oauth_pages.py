"""The sign-in pages a browser sees: who may continue a sign-in, and what a used link shows.

Login CSRF: without a check, a page on another site could post *its* owner's sign-in ticket
from the victim's browser, so the victim's provider login is attached to the attacker's
Powerstrip account. Continuing needs a same-origin request carrying the token of the page this
very browser was shown.
"""

from __future__ import annotations

import re

import httpx
import pytest

from tests.registry.conftest import PUBLIC_URL
from tests.server.conftest import Hosted, query_of

pytestmark = pytest.mark.anyio

_CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


async def _sign_in_url(hosted: Hosted, username: str) -> str:
    async with (
        await hosted.user("admin", admin=True) as admin,
        await hosted.user("dev") as developer,
        await hosted.user(username) as user,
    ):
        plugin_id = await hosted.add_registered(developer, admin, "example.com")
        installed = await user.post(f"/api/plugins/{plugin_id}/install")
        assert installed.status_code == 200, installed.text
        return str(installed.json()["sign_in_url"])


async def _shown(browser: httpx.AsyncClient, hosted: Hosted, url: str) -> str:
    """Open the Continue page in `browser`; the page's CSRF token."""
    page = await browser.get(hosted._local(url))
    assert page.status_code == 200, page.text
    found = _CSRF_FIELD.search(page.text)
    assert found, page.text
    return found.group(1)


async def test_a_cross_site_continue_is_refused(hosted: Hosted) -> None:
    sign_in_url = await _sign_in_url(hosted, "mallory")
    ticket = query_of(sign_in_url)["ticket"][0]
    async with hosted.client() as attacker:
        token = await _shown(attacker, hosted, sign_in_url)
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Referer": "https://evil.example/trap.html"},
        {},  # no origin headers at all: the token bound to this browser is still missing
    ):
        async with hosted.client() as victim:
            # The victim's browser opened nothing; the attacker's page posts its own ticket
            # and the token the attacker was shown in *its* browser.
            answer = await victim.post(
                hosted._local(sign_in_url),
                data={"ticket": ticket, "csrf": token},
                headers=headers,
            )
            assert answer.status_code == 403, (headers, answer.text)
            assert "location" not in answer.headers
            assert not any(name.startswith("powerstrip_oauth_") for name in victim.cookies)
    # Refused requests did not use the link up.
    async with hosted.client() as owner:
        token = await _shown(owner, hosted, sign_in_url)
        answer = await owner.post(
            hosted._local(sign_in_url),
            data={"ticket": ticket, "csrf": token},
            headers={"Origin": PUBLIC_URL, "Sec-Fetch-Site": "same-origin"},
        )
        assert answer.status_code == 303, answer.text


async def test_a_same_origin_continue_with_the_page_s_token_goes_to_the_provider(
    hosted: Hosted,
) -> None:
    sign_in_url = await _sign_in_url(hosted, "alice")
    ticket = query_of(sign_in_url)["ticket"][0]
    async with hosted.client() as browser:
        token = await _shown(browser, hosted, sign_in_url)
        refused = await browser.post(
            hosted._local(sign_in_url),
            data={"ticket": ticket, "csrf": token + "x"},
            headers={"Origin": PUBLIC_URL},
        )
        assert refused.status_code == 403
        answer = await browser.post(
            hosted._local(sign_in_url),
            data={"ticket": ticket, "csrf": token},
            headers={"Origin": PUBLIC_URL},
        )
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"].startswith("https://example.com/")


async def test_a_used_link_shows_that_it_was_used(hosted: Hosted) -> None:
    sign_in_url = await _sign_in_url(hosted, "alice")
    page = await hosted.browser_sign_in(sign_in_url, "alice")
    assert "Signed in" in page.text
    async with hosted.client() as browser:
        again = await browser.get(hosted._local(sign_in_url))
    assert again.status_code == 400
    assert "already used" in again.text
    assert "Continue to sign in" not in again.text
