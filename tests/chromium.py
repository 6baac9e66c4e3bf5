"""A real browser for tests: Debian's Chromium, driven by Playwright (no browser download).

`open_page(url)` loads a page in headless Chromium and returns what a person would see (the
body's text) and what scripts did (the value of `window.__pwned`, which a page that runs no
script leaves undefined). Chromium is installed by `.ci/chromium.sh`, as for the web tests, when
missing. Playwright's sync API runs in the calling thread: call it through `anyio.to_thread`
from async tests (a running event loop refuses it).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["CHROMIUM", "Seen", "open_page"]

CHROMIUM = Path("/usr/bin/chromium")
_ENSURE = Path(__file__).resolve().parents[1] / ".ci" / "chromium.sh"


@dataclass(frozen=True)
class Seen:
    title: str
    text: str
    script_ran: bool


def _ensure_chromium() -> None:
    if not CHROMIUM.exists():
        subprocess.run(["bash", str(_ENSURE)], check=False)  # noqa: S603, S607
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing and {_ENSURE} could not install it")


def open_page(url: str) -> Seen:
    """Open `url` in headless Chromium; what it shows, and whether any script ran."""
    _ensure_chromium()
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()
            page.goto(url)
            page.wait_for_load_state("load")
            ran = page.evaluate("() => window.__pwned !== undefined")
            return Seen(page.title(), page.inner_text("body"), bool(ran))
        finally:
            browser.close()
