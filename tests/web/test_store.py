"""The plugin store in the browser: install the todo plugin under each auth scheme."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from powerstrip.examples import issue_user_key
from tests.examples.conftest import USERS
from tests.web.conftest import Web, new_context, screenshot, sign_up


def _card(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator(".plugin-card").filter(
        has=page.get_by_role("heading", name=name, exact=True)
    )


def _name(web: Web, example: str) -> str:
    with web.api() as api:
        plugins = api.get("/api/plugins").json()["plugins"]
    return next(p["name_for_human"] for p in plugins if p["id"] == web.plugin_ids[example])


def test_install_under_each_auth_scheme_including_the_real_oauth_sign_in(
    browser: Browser, web: Web
) -> None:
    context = new_context(browser)
    page = context.new_page()
    sign_up(page, web, "bea")
    page.goto(f"{web.url}/plugins")
    screenshot(page, "store-desktop")

    # none and service_http: installed at once.
    for example in ("todo-none", "todo-service"):
        card = _card(page, _name(web, example))
        card.get_by_role("button", name="Install").click()
        expect(page.get_by_role("status")).to_contain_text("installed")
        expect(
            _card(page, _name(web, example)).get_by_role("button", name="Uninstall")
        ).to_be_visible()

    # user_http: the user pastes their own key.
    card = _card(page, _name(web, "todo-user"))
    key = issue_user_key(web.configs["www.example.com"], "bea")
    card.get_by_label("Your key").fill(key)
    card.get_by_role("button", name="Install").click()
    expect(page.get_by_role("status")).to_contain_text("installed")

    # oauth: the same tab goes to the host's confirmation, the provider, and back.
    _card(page, _name(web, "todo-oauth")).get_by_role("button", name="Install and sign in").click()
    page.get_by_role("button", name="Continue to sign in").click()
    expect(page).to_have_url(re.compile(r"^https://example\.com/"))
    username = next(iter(USERS))
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill(USERS[username])
    page.get_by_role("button", name="Sign in and allow").click()
    expect(page.get_by_role("heading", name="Signed in")).to_be_visible()
    page.get_by_role("link", name="Back to Powerstrip").click()

    page.goto(f"{web.url}/plugins?tab=installed")
    for example in ("todo-none", "todo-service", "todo-user", "todo-oauth"):
        expect(
            _card(page, _name(web, example)).get_by_role("button", name="Uninstall")
        ).to_be_visible()

    # Uninstall one; refresh another shows what changed (nothing).
    _card(page, _name(web, "todo-service")).get_by_role("button", name="Uninstall").click()
    expect(page.get_by_role("status")).to_contain_text("uninstalled")
    _card(page, _name(web, "todo-none")).get_by_role("button", name="Refresh").click()
    expect(page.get_by_role("heading", name="Nothing changed")).to_be_visible()
    context.close()


def test_logos_come_from_the_host_not_the_plugin(browser: Browser, web: Web) -> None:
    context = new_context(browser)
    page = context.new_page()
    origins: set[str] = set()
    page.on("request", lambda request: origins.add(request.url.split("/")[2]))
    sign_up(page, web, "logo-watcher")
    page.goto(f"{web.url}/plugins")
    expect(page.locator(".plugin-card img.logo").first).to_be_visible()
    assert origins == {web.url.split("/")[2]}
    context.close()
