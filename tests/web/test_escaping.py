"""Whatever a plugin sends (its name, description, manifest, responses) shows as text in the
browser and never runs: the test watches for any dialog a script would open."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect
from pydantic import BaseModel

from powerstrip.sdk import Plugin
from powerstrip.testing import CallTool, Reply
from tests.web.conftest import Web, _serve, new_context, sign_up
from tests.web.test_chat import install, operations, start_chat

SCRIPT = "<svg onload=alert()>"  # 20 characters: the longest name a manifest may have
IMAGE = "<img src=x onerror=alert('description')><script>alert('d')</script>"
TODO = "<script>alert('todo')</script><img src=x onerror=alert('todo-img')>"


class Echo(BaseModel):
    text: str


def _evil_plugin() -> object:
    plugin = Plugin(
        name_for_model="evil",
        name_for_human=SCRIPT,
        description_for_model="Echoes text back.",
        description_for_human=IMAGE,
        contact_email="evil@example.com",
    )

    @plugin.get("/echo", consequential=False)
    def echo() -> Echo:
        """Echo a greeting."""
        return Echo(text=TODO)

    return plugin.app()


def _watch(page: Page, opened: list[str]) -> None:
    def record(dialog: Dialog) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)


@pytest.fixture
def evil_site(web: Web) -> Iterator[int]:
    """www.example.com serves a plugin whose name and description are markup, then is put back."""
    gate = web.gates["www.example.com"]
    plugin_id = web.plugin_ids["todo-user"]
    before = gate.app
    gate.app = _evil_plugin()  # type: ignore[assignment]
    with web.api() as api:
        assert api.post(f"/api/plugins/{plugin_id}/refresh").status_code == 200
    try:
        yield plugin_id
    finally:
        gate.app = before
        _serve(web, "www.example.com")
        with web.api() as api:
            api.post(f"/api/plugins/{plugin_id}/refresh")


def test_a_plugins_name_description_and_manifest_show_as_text(
    browser: Browser, web: Web, evil_site: int
) -> None:
    context = new_context(browser)
    page = context.new_page()
    opened: list[str] = []
    _watch(page, opened)
    sign_up(page, web, "mallory-watcher")
    page.goto(f"{web.url}/plugins")
    card = page.locator(f'.plugin-card[data-plugin-id="{evil_site}"]')
    expect(card.get_by_role("heading")).to_have_text(SCRIPT)
    expect(card.locator(".plugin-description")).to_have_text(IMAGE)
    page.goto(f"{web.url}/develop")
    page.get_by_label("Plugin URL").fill("https://www.example.com")
    page.get_by_role("button", name="Check", exact=True).click()
    expect(page.get_by_role("button", name="Add to the store")).to_be_visible()
    assert opened == []
    context.close()


def test_a_plugins_response_and_the_models_markup_show_as_text(browser: Browser, web: Web) -> None:
    context = new_context(browser)
    page = context.new_page()
    opened: list[str] = []
    _watch(page, opened)
    sign_up(page, web, "mallory-reader")
    install(page, web, "todo-none")
    ops = operations(web, "todo-none")
    web.model.push(
        CallTool(ops["add_todo"], {"username": "mallory-reader", "todo": TODO}),
        Reply(f"Here: {TODO} and [click](javascript:alert('link'))"),
    )
    start_chat(page, web, "todo-none", f"List {SCRIPT}")
    page.locator(".approval").get_by_role("button", name="Allow", exact=True).click()
    answer = page.locator(".answer.markdown").last
    expect(answer).to_contain_text("<script>alert('todo')</script>")
    expect(answer.locator("a")).to_have_count(0)  # javascript: links are dropped
    expect(page.locator(".msg.user").first).to_contain_text(SCRIPT)
    page.locator(".call-card.status-ok").click()
    expect(page.locator("#call-dialog")).to_be_visible()
    expect(page.locator("#call-dialog")).to_contain_text("alert('todo-img')")  # the response
    assert page.locator("#transcript script, #call-dialog script").count() == 0
    assert page.locator("#transcript img, #call-dialog img").count() == 0
    assert opened == []
    context.close()
