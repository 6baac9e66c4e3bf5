"""Signing up, in and out in the browser; the session cookie and the form tokens."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.web.conftest import PASSWORD, Web, new_context, screenshot, sign_up


def test_sign_up_lands_in_an_empty_chat_and_sign_in_works_again(browser: Browser, web: Web) -> None:
    context = new_context(browser)
    page = context.new_page()
    page.goto(f"{web.url}/")
    expect(page).to_have_url(f"{web.url}/sign-in")
    screenshot(page, "sign-in-desktop")
    sign_up(page, web, "ada")
    expect(page.get_by_role("navigation", name="Conversations")).to_contain_text("ada")
    expect(page.get_by_placeholder("Send a message")).to_be_visible()
    cookie = next(c for c in context.cookies() if c["name"] == "powerstrip_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{web.url}/sign-in")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not right")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{web.url}/")
    context.close()
