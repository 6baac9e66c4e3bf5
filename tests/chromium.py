"""The one browser of a test session: Debian's Chromium, driven by Playwright (no download).

Every browser test of the suite uses the same Chromium process (starting one costs about a
second), reached over its DevTools socket (`chromium_endpoint`):

- the web app's tests (tests/web/) connect Playwright to it once per module (`browser` there);
- any other test calls `open_page(chromium_endpoint, url)` for what a page shows and whether a
  script in it ran (the data export's page, say), from a worker thread in async tests.

Chromium resolves the public names of `BROWSER_SITES` to loopback servers bound here before it
starts (`browser_sites`), so its `--host-resolver-rules` can name their ports; tests/web/ serves
the example plugins on them (the real OAuth sign-in runs in the browser). Its microphone is a
fake device playing a sentence espeak-ng spoke, so voice input is tested on real audio.

Chromium is /usr/bin/chromium, installed by `.ci/chromium.sh` when missing.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from powerstrip.testing import LoopbackServer, TestCA
from tests.speech_clips import SENTENCE, speak

__all__ = ["BROWSER_SITES", "CHROMIUM", "Seen", "open_page"]

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

CHROMIUM = Path("/usr/bin/chromium")
_ENSURE = Path(__file__).resolve().parents[1] / ".ci" / "chromium.sh"
# The HTTPS sites the browser reaches by name (the example plugins' public names).
BROWSER_SITES = ("plugin.example.com", "api.example.com", "www.example.com", "example.com")


@dataclass(frozen=True)
class Seen:
    title: str
    text: str
    script_ran: bool


async def _unserved(scope: object, receive: object, send: object) -> None:
    raise RuntimeError("this site's app was not set: tests/web/conftest.py serves the examples")


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, installed by `.ci/chromium.sh` when missing."""
    if not CHROMIUM.exists():
        subprocess.run(["bash", str(_ENSURE)], check=False)  # noqa: S603, S607
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing and {_ENSURE} could not install it")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser_sites(test_ca: TestCA) -> Iterator[dict[str, LoopbackServer]]:
    """A TLS server on loopback for each of `BROWSER_SITES`, bound but not started.

    Whoever serves a site sets its `app` and starts it; the browser already resolves the name.
    """
    context = test_ca.server_context(*BROWSER_SITES)
    sites = {name: LoopbackServer(_unserved, ssl_context=context) for name in BROWSER_SITES}
    try:
        yield sites
    finally:
        for site in sites.values():
            site.stop()


@pytest.fixture(scope="session")
def chromium_endpoint(
    chromium: Path,
    browser_sites: dict[str, LoopbackServer],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The DevTools WebSocket URL of the session's one Chromium."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    spoken = profile.parent / "spoken.wav"
    speak(SENTENCE, spoken)
    rules = ", ".join(f"MAP {name} 127.0.0.1:{s.port}" for name, s in browser_sites.items())
    process = subprocess.Popen(  # noqa: S603 - our own arguments
        [
            str(chromium),
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            f"--host-resolver-rules={rules}",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={spoken}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        endpoint = ""
        for line in process.stderr:
            if line.startswith("DevTools listening on "):
                endpoint = line.split(" on ", 1)[1].strip()
                break
        assert endpoint, "Chromium did not open its DevTools socket"
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


def open_page(endpoint: str, url: str) -> Seen:
    """Open `url` in the session's Chromium; what it shows, and whether any script ran.

    A page that runs no script leaves `window.__pwned` undefined. Playwright's sync API runs in
    the calling thread: call this through `anyio.to_thread` from async tests.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.connect_over_cdp(endpoint)
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(url)
            page.wait_for_load_state("load")
            ran = page.evaluate("() => window.__pwned !== undefined")
            return Seen(page.title(), page.inner_text("body"), bool(ran))
        finally:
            context.close()
            browser.close()
