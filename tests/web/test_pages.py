"""Every main page, at desktop and phone size: no serious or critical axe-core violation, no
horizontal scrolling on a 360 px phone, and the screenshots docs/web.md shows."""

from __future__ import annotations

import re
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from powerstrip.testing import Reply
from tests.web.conftest import PASSWORD, Web, new_context, screenshot
from tests.web.test_chat import install, start_chat

AXE = Axe()


def _serious(page: Page) -> list[dict[str, Any]]:  # Any: axe-core's JSON
    results = AXE.run(page)
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def _sign_in_as_admin(page: Page, web: Web) -> None:
    page.goto(f"{web.url}/sign-in")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{web.url}/")


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_every_main_page_is_accessible_and_fits_the_screen(
    browser: Browser, web: Web, phone: bool
) -> None:
    size = "phone" if phone else "desktop"
    context = new_context(browser, phone=phone)
    page = context.new_page()
    problems: dict[str, list[dict[str, Any]]] = {}

    def check(name: str) -> None:
        found = _serious(page)
        if found:
            problems[name] = found
        width = page.evaluate("document.documentElement.scrollWidth")
        viewport = page.viewport_size or {"width": 0}
        assert width <= viewport["width"], f"{name} is {width} px wide at {size} size"
        screenshot(page, f"{name}-{size}")

    page.goto(f"{web.url}/sign-in")
    check("sign-in")
    _sign_in_as_admin(page, web)
    install(page, web, "todo-none")
    page.goto(f"{web.url}/")
    check("new-chat")
    # Installable: the service worker takes the app shell. The model backend transcribes
    # speech here, so the mic shows (test_voice.py records with it).
    assert page.evaluate("async () => (await navigator.serviceWorker.ready).active !== null")
    expect(page.locator("#mic")).to_be_visible()
    web.model.push(Reply("Here is a **table**:\n\n| todo | done |\n| --- | --- |\n| milk | no |"))
    start_chat(page, web, "todo-none", "Show my todos as a table")
    expect(page.locator(".answer.markdown table")).to_be_visible()
    check("conversation")
    for path, name in (
        ("/plugins", "store"),
        ("/develop", "develop"),
        ("/admin", "admin"),
        ("/settings", "settings"),
    ):
        page.goto(f"{web.url}{path}")
        check(name)
    # Develop: check's findings shown inline, before anything is stored.
    page.goto(f"{web.url}/develop")
    page.get_by_label("Plugin URL").fill("https://api.example.com")
    page.get_by_role("button", name="Check", exact=True).click()
    expect(
        page.get_by_role("heading", name=re.compile(r"\d+ errors?, \d+ warnings?"))
    ).to_be_visible()
    expect(page.get_by_role("button", name="Add to the store")).to_be_visible()
    check("develop-check")
    context.close()
    assert problems == {}, problems
