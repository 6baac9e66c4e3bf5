"""Voice input in the browser: the microphone records real speech (espeak-ng's, played by
Chromium's fake audio device), the host transcribes it, and the text lands in the message box
for the person to check before sending."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.web.conftest import Web, new_context, sign_up


def test_a_recording_is_transcribed_into_the_message_box(browser: Browser, web: Web) -> None:
    context = new_context(browser)
    context.grant_permissions(["microphone"], origin=web.url)
    page = context.new_page()
    try:
        sign_up(page, web, "speaker")
        mic = page.locator("#mic")
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
