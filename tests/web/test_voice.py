"""Voice input in the browser: the microphone records real speech (espeak-ng's, played by
Chromium's fake audio device), the host transcribes it, and the text lands in the message box
for the person to check before sending. Without a transcriber on the host, or without a
microphone in the browser, there is no microphone button."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import pytest
from playwright.sync_api import Browser, Page, expect

from powerstrip.server import create_app
from powerstrip.testing import LoopbackServer
from tests.web.conftest import Web, new_context, sign_up

# A browser with no microphone: one that lists no audio input (Chromium's fake device is there
# for every page of the session's browser, so this page is told there is none).
_NO_MICROPHONE = """
navigator.mediaDevices.enumerateDevices = async () => [];
"""


@pytest.fixture(scope="module")
def deaf_host(web: Web, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    """A second host like `web` but with transcription off (its own store, no plugins)."""
    root = tmp_path_factory.mktemp("deaf")
    server = LoopbackServer(None, lifespan=True)  # type: ignore[arg-type] - the app comes next
    settings = web.settings.model_copy(
        update={
            "data_dir": root,
            "database_url": f"sqlite+aiosqlite:///{root / 'powerstrip.db'}",
            "public_url": server.url,
            "transcription": "off",
        }
    )
    server.app = create_app(settings)
    server.start()
    try:
        yield replace(web, server=server, settings=settings, plugin_ids={}, admin_token="")
    finally:
        server.stop()


def _audio_available(page: Page, web: Web) -> bool:
    """What the host's `GET /api/audio` tells this signed-in page."""
    token = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    answer = page.request.get(f"{web.url}/api/audio", headers={"X-CSRF-Token": token})
    assert answer.ok, answer.text()
    return bool(answer.json()["available"])


def _voice_decision(page: Page) -> str | None:
    """What the page decided about voice input, once it has (`data-voice` on the button)."""
    mic = page.locator("#mic")
    expect(mic).to_have_attribute("data-voice", re.compile(r"^[a-z-]+$"))
    return mic.get_attribute("data-voice")


def test_no_transcriber_on_the_host_means_no_microphone_button(
    browser: Browser, deaf_host: Web
) -> None:
    context = new_context(browser)
    context.grant_permissions(["microphone"], origin=deaf_host.url)
    page = context.new_page()
    try:
        sign_up(page, deaf_host, "deaf-admin")
        assert not _audio_available(page, deaf_host)
        assert _voice_decision(page) == "no-transcriber"
        expect(page.locator("#mic")).to_be_hidden()
    finally:
        context.close()


def test_no_microphone_in_the_browser_means_no_microphone_button(
    browser: Browser, web: Web
) -> None:
    context = new_context(browser)
    context.grant_permissions(["microphone"], origin=web.url)
    context.add_init_script(_NO_MICROPHONE)
    page = context.new_page()
    try:
        sign_up(page, web, "no-microphone")
        # The host transcribes (the model backend does): only the browser lacks a microphone.
        assert _audio_available(page, web)
        assert _voice_decision(page) == "no-microphone"
        expect(page.locator("#mic")).to_be_hidden()
    finally:
        context.close()


def test_a_recording_is_transcribed_into_the_message_box(browser: Browser, web: Web) -> None:
    context = new_context(browser)
    context.grant_permissions(["microphone"], origin=web.url)
    page = context.new_page()
    try:
        sign_up(page, web, "speaker")
        mic = page.locator("#mic")
        assert _voice_decision(page) == "ready"
        expect(mic).to_be_visible()
        before = len(web.model.audio_requests)
        web.model.push_transcript("the quick brown fox jumps over the lazy dog")
        mic.click()
        expect(mic).to_have_attribute("aria-pressed", "true")
        page.wait_for_timeout(1500)  # a second and a half of the spoken sentence
        mic.click()
        box = page.locator("#message")
        expect(box).to_have_value("the quick brown fox jumps over the lazy dog")
        # Nothing was sent as a message: the person reads the text first.
        expect(page.locator(".answer")).to_have_count(0)
        [recorded] = web.model.audio_requests[before:]
        # What the browser recorded reached the transcriber as audio it could read.
        assert recorded.content_type.startswith(("audio/webm", "audio/ogg", "video/webm"))
        assert len(recorded.file) > 1000
    finally:
        context.close()
