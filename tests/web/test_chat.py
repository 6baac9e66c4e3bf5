"""Chatting in the browser: a plugin call streams in, its details, approvals, phone and desktop."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from powerstrip.testing import CallTool, Reply
from tests.examples.conftest import SERVICE_KEY
from tests.web.conftest import PASSWORD, Web, new_context, screenshot, sign_up


def operations(web: Web, example: str) -> dict[str, str]:
    """operation id → the function name the model calls, for one example plugin."""
    with web.api() as api:
        answer = api.get(f"/api/plugins/{web.plugin_ids[example]}/operations")
    assert answer.status_code == 200, answer.text
    return {op["operation_id"]: op["function_name"] for op in answer.json()["operations"]}


def install(page: Page, web: Web, example: str) -> None:
    page.goto(f"{web.url}/plugins")
    card = page.locator(f'.plugin-card[data-plugin-id="{web.plugin_ids[example]}"]')
    if card.get_by_role("button", name="Uninstall").count():
        return  # installed already (the same user in an earlier test)
    card.get_by_role("button", name="Install").click()
    expect(page.get_by_role("status")).to_contain_text("installed")


def start_chat(page: Page, web: Web, example: str, text: str) -> None:
    """A new chat with one plugin on, and its first message sent with Enter."""
    page.goto(f"{web.url}/")
    page.locator("#plugin-picker summary").click()
    page.locator(f'input[name="plugin-{web.plugin_ids[example]}"]').check()
    box = page.get_by_placeholder("Send a message")
    box.fill(text)
    box.press("Enter")
    page.wait_for_url(f"{web.url}/c/*")


def test_a_plugin_call_streams_in_and_its_details_hide_the_key(browser: Browser, web: Web) -> None:
    context = new_context(browser)
    page = context.new_page()
    sign_up(page, web, "cy")
    install(page, web, "todo-service")
    ops = operations(web, "todo-service")
    web.model.push(
        CallTool(ops["list_todos"], {"username": "cy"}), Reply("Your list is **empty**.")
    )
    gate = web.gates["api.example.com"]
    gate.open.clear()  # the plugin answers only when the test says so
    gate.entered.clear()
    start_chat(page, web, "todo-service", "What is on my list?")
    # Declared not consequential: asked once, and "always allow" may be chosen.
    page.locator(".approval").get_by_role("button", name="Always allow").click()

    # The call is shown while it runs: the turn's events arrive before the turn ends.
    running = page.locator(".msg.streaming .call-card.status-running")
    expect(running).to_contain_text("Using")
    assert gate.entered.wait(10)
    expect(page.locator(".answer.markdown")).to_have_count(0)
    gate.open.set()

    answer = page.locator(".answer.markdown").last
    expect(answer).to_contain_text("Your list is empty.")
    expect(answer.locator("strong")).to_have_text("empty")  # markdown, rendered by the server
    card = page.locator(".call-card.status-ok")
    expect(card).to_contain_text("Used")
    screenshot(page, "chat-desktop")

    card.click()
    dialog = page.locator("#call-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Request to")
    expect(dialog).to_contain_text("Response from")
    expect(dialog).to_contain_text("/todos")
    screenshot(page, "call-details-desktop")
    assert SERVICE_KEY not in dialog.inner_text()
    assert SERVICE_KEY not in page.content()
    context.close()


def test_a_consequential_call_waits_and_runs_once_after_allow(browser: Browser, web: Web) -> None:
    context = new_context(browser)
    page = context.new_page()
    sign_up(page, web, "dee")
    install(page, web, "todo-none")
    ops = operations(web, "todo-none")
    web.model.push(
        CallTool(ops["add_todo"], {"username": "dee", "todo": "buy milk"}),
        Reply("Added buy milk."),
    )
    gate = web.gates["plugin.example.com"]
    before = len([c for c in gate.api_calls if c == ("POST", "/todos/dee")])
    start_chat(page, web, "todo-none", "Add buy milk to my list")

    approval = page.locator(".approval")
    expect(approval).to_contain_text("buy milk")
    expect(approval.get_by_role("button", name="Always allow")).to_be_visible()
    screenshot(page, "approval-desktop")
    assert len([c for c in gate.api_calls if c == ("POST", "/todos/dee")]) == before

    approval.get_by_role("button", name="Allow", exact=True).click()
    expect(page.locator(".answer.markdown").last).to_contain_text("Added buy milk.")
    expect(page.locator(".approval")).to_have_count(0)
    assert len([c for c in gate.api_calls if c == ("POST", "/todos/dee")]) == before + 1
    context.close()


def test_the_same_conversation_on_a_phone_and_a_desktop(browser: Browser, web: Web) -> None:
    desktop = new_context(browser)
    page = desktop.new_page()
    sign_up(page, web, "eve")
    install(page, web, "todo-none")
    web.model.push(
        Reply(
            "| item | done |\n| --- | --- |\n| milk | no |\n\n`code` and [a link](https://example.org)"
        )
    )
    start_chat(page, web, "todo-none", "Show me a table")
    expect(page.locator(".answer.markdown table")).to_be_visible()
    url = page.url

    phone = new_context(browser, phone=True)
    small = phone.new_page()
    small.goto(url)
    small.get_by_label("Username").fill("eve")
    small.get_by_label("Password").fill(PASSWORD)
    small.get_by_role("button", name="Sign in").click()
    expect(small).to_have_url(url)
    expect(small.locator(".msg.user")).to_contain_text("Show me a table")
    expect(small.locator(".answer.markdown table")).to_contain_text("milk")
    width = small.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page is {width} px wide on a 360 px phone"
    screenshot(small, "chat-phone")
    small.get_by_role("button", name="Conversations").click()
    expect(small.locator("#sidebar")).to_contain_text("Show me a table")
    screenshot(small, "sidebar-phone")

    # Feedback: thumbs down with a note, kept across reloads and devices.
    page.reload()
    page.get_by_role("button", name="Bad answer").click()
    page.get_by_label("What was wrong?").fill("too short")
    page.get_by_role("button", name="Send feedback").click()
    expect(page.get_by_text("Thanks for the feedback.")).to_be_visible()
    small.reload()
    expect(small.get_by_role("button", name="Bad answer")).to_have_attribute("aria-pressed", "true")
    desktop.close()
    phone.close()


def test_regenerate_and_edit_replace_the_answers_they_redo(browser: Browser, web: Web) -> None:
    context = new_context(browser)
    page = context.new_page()
    sign_up(page, web, "fay")
    install(page, web, "todo-service")
    ops = operations(web, "todo-service")
    web.model.push(CallTool(ops["list_todos"], {"username": "fay"}), Reply("First answer."))
    start_chat(page, web, "todo-service", "What is on my list?")
    page.locator(".approval").get_by_role("button", name="Always allow").click()
    answers = page.locator(".answer.markdown")
    expect(answers).to_have_text(["First answer."])

    # Regenerate: the answer and its call card are replaced, not kept above the new one.
    web.model.push(CallTool(ops["list_todos"], {"username": "fay-again"}), Reply("Second."))
    page.get_by_role("button", name="Regenerate the answer").click()
    expect(answers).to_have_text(["Second."])
    expect(page.locator(".msg.user")).to_have_count(1)
    cards = page.locator(".call-card.status-ok")
    expect(cards).to_have_count(1)
    # The card is the new turn's call (the removed turn's call stays in the log, unshown).
    cards.click()
    dialog = page.locator("#call-dialog")
    expect(dialog).to_contain_text("/todos/fay-again")
    dialog.get_by_role("button", name="Close").click()

    # Edit: the message goes back in the box; sending replaces it and everything after it.
    page.locator(".msg.user").get_by_role("button", name="Edit").click()
    box = page.get_by_placeholder("Send a message")
    expect(box).to_have_value("What is on my list?")
    expect(page.locator("#editing")).to_be_visible()
    web.model.push(Reply("Third."))
    box.fill("Anything new on my list?")
    box.press("Enter")
    expect(answers).to_have_text(["Third."])
    expect(page.locator("#editing")).to_be_hidden()
    page.reload()  # what the server kept
    expect(page.locator(".msg.user .bubble")).to_have_text(["Anything new on my list?"])
    expect(answers).to_have_text(["Third."])
    expect(page.locator(".call-card")).to_have_count(0)
    context.close()


def test_stop_generating_ends_the_turn_and_the_next_message_goes_through(
    browser: Browser, web: Web
) -> None:
    context = new_context(browser)
    page = context.new_page()
    sign_up(page, web, "gus")
    install(page, web, "todo-service")
    ops = operations(web, "todo-service")
    web.model.push(CallTool(ops["list_todos"], {"username": "gus"}))
    gate = web.gates["api.example.com"]
    gate.open.clear()
    gate.entered.clear()
    try:
        start_chat(page, web, "todo-service", "What is on my list?")
        page.locator(".approval").get_by_role("button", name="Allow", exact=True).click()
        assert gate.entered.wait(10)  # the call is under way, held by the plugin
        stop = page.get_by_role("button", name="Stop generating")
        expect(stop).to_be_visible()
        stop.click()
        expect(stop).to_be_hidden()
        expect(page.locator("#send")).to_be_visible()
    finally:
        gate.open.set()
    # The host closed the turn: the call is not shown as still running, and nothing waits.
    expect(page.locator(".call-card.status-running")).to_have_count(0)
    expect(page.locator(".approval")).to_have_count(0)
    web.model.push(Reply("Back again."))
    box = page.get_by_placeholder("Send a message")
    box.fill("Are you there?")
    box.press("Enter")
    expect(page.locator(".answer.markdown").last).to_have_text("Back again.")
    context.close()
