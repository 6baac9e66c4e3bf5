"""The web app on loopback, driven by Debian's Chromium through Playwright.

One host server, four example plugin sites and the session's one browser (tests/chromium.py,
shared with every other browser test): each test opens its own browser context (its own
cookies), signs up its own user and pushes its own model script. The host is plain HTTP on
127.0.0.1 (its public URL, so OAuth comes back to it); the plugin sites are HTTPS under their
public names, which the host reaches through `POWERSTRIP_RESOLVE` and Chromium through its
`--host-resolver-rules`, so the real OAuth sign-in runs in the browser.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest

from powerstrip.examples import EXAMPLES, ExampleConfig
from powerstrip.server import create_app
from powerstrip.settings import Settings
from powerstrip.testing import ASGIApp, LoopbackServer, ScriptedModelServer, TestCA
from tests import secret_watch
from tests.examples.conftest import CLIENT_ID, CLIENT_SECRET, SERVICE_KEY, make_config
from tests.server.conftest import vault_key

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "docs" / "screenshots"
# Set to 1 to (re)write the screenshots docs/web.md shows; scripts/screenshots.py does.
SCREENSHOTS_ENV = "POWERSTRIP_SCREENSHOTS"
PASSWORD = "a long enough passphrase"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
# Which example each plugin site serves.
SITES = {
    "plugin.example.com": "todo-none",
    "api.example.com": "todo-service",
    "www.example.com": "todo-user",
    "example.com": "todo-oauth",
}


class Gate:
    """Wraps a plugin app; while closed, its API calls wait (the manifest and spec do not)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.open = threading.Event()
        self.open.set()
        self.entered = threading.Event()
        self.api_calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and not path.startswith(
            ("/.well-known/", "/openapi", "/logo", "/legal", "/oauth")
        ):
            with self._lock:
                self.api_calls.append((scope["method"], path))
            self.entered.set()
            # The test opens the gate from its own thread.
            await anyio.to_thread.run_sync(self.open.wait)
        await self.app(scope, receive, send)


@dataclass
class Web:
    """The running host, its plugin sites, and helpers for the tests."""

    server: LoopbackServer
    model: ScriptedModelServer
    settings: Settings
    sites: dict[str, LoopbackServer]
    gates: dict[str, Gate]
    configs: dict[str, ExampleConfig]
    plugin_ids: dict[str, int] = field(default_factory=dict)
    admin_token: str = ""

    @property
    def url(self) -> str:
        return self.server.url

    def api(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token or self.admin_token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def form_token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no form token"
    return found.group(1)


def sign_up_http(web: Web, username: str) -> httpx.Client:
    """A user made through the sign-up form, and an HTTP client signed in as them."""
    client = httpx.Client(base_url=web.url, timeout=30, follow_redirects=False)
    page = client.get("/sign-up")
    answer = client.post(
        "/sign-up",
        data={
            "csrf": form_token(page.text),
            "username": username,
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )
    assert answer.status_code == 303, answer.text
    return client


def api_token(client: httpx.Client) -> str:
    page = client.get("/settings")
    made = client.post("/settings/tokens", data={"csrf": form_token(page.text), "name": "tests"})
    assert made.status_code == 200, made.text
    found = re.search(r'<code id="new-token">([^<]+)</code>', made.text)
    assert found, "the settings page did not show the new token"
    secret_watch.watch(found.group(1))
    return found.group(1)


def _add_plugins(web: Web) -> None:
    """Add the four examples; register, publish the token and verify the two that need it."""
    with web.api() as api:
        for site, example in SITES.items():
            answer = api.post("/api/plugins", json={"url": f"https://{site}"})
            assert answer.status_code == 201, answer.text
            plugin_id = int(answer.json()["id"])
            web.plugin_ids[example] = plugin_id
            if example in ("todo-service", "todo-oauth"):
                body = (
                    {"service_key": SERVICE_KEY}
                    if example == "todo-service"
                    else {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
                )
                answer = api.post(f"/api/plugins/{plugin_id}/registration", json=body)
                assert answer.status_code == 200, answer.text
                token = answer.json()["verification_token"]
                _serve(web, site, verification_tokens={"powerstrip": token})
                answer = api.post(f"/api/plugins/{plugin_id}/registration/verify")
                assert answer.status_code == 200, answer.text


def _serve(web: Web, site: str, **changes: Any) -> None:
    config = make_config(web.configs[site].data_dir, **(_site_fields(web.url) | changes))
    web.gates[site].app = EXAMPLES[SITES[site]].build(config)
    web.configs[site] = config


def _site_fields(public_url: str) -> dict[str, Any]:
    redirects = tuple(f"{public_url}/aip/{n}/oauth/callback" for n in range(1, 30))
    return {"verification_tokens": {}, "oauth_redirect_uris": redirects}


@pytest.fixture(scope="session")
def web(
    tmp_path_factory: pytest.TempPathFactory,
    test_ca: TestCA,
    browser_sites: dict[str, LoopbackServer],
) -> Iterator[Web]:
    root = tmp_path_factory.mktemp("web")
    server = LoopbackServer(None, lifespan=True)  # type: ignore[arg-type] - the app comes next
    public_url = server.url
    gates: dict[str, Gate] = {}
    sites: dict[str, LoopbackServer] = {}
    configs: dict[str, ExampleConfig] = {}
    for site, example in SITES.items():
        config = make_config(root / "plugins", **_site_fields(public_url))
        gates[site] = Gate(EXAMPLES[example].build(config))
        configs[site] = config
        # Bound by tests/chromium.py before the browser started, so the browser resolves it.
        sites[site] = browser_sites[site]
        sites[site].app = gates[site]
        sites[site].start()
    model = ScriptedModelServer(expected_api_key="model-key-not-a-plugin-secret")
    model.start()
    settings = Settings(
        data_dir=root,
        database_url=f"sqlite+aiosqlite:///{root / 'powerstrip.db'}",
        public_url=public_url,
        resolve=[f"{name}:443=127.0.0.1:{s.port}" for name, s in sites.items()],
        allow_hosts=list(sites),
        ca_bundle=test_ca.ca_pem_path(root),
        model_base_url=f"{model.url}/v1",
        model_name="scripted-model",
        model_api_key="model-key-not-a-plugin-secret",
        vault_keys=vault_key(),
        call_timeout=5,
        lenient_install=True,
    )
    server.app = create_app(settings)
    server.start()
    web = Web(server, model, settings, sites, gates, configs)
    try:
        admin = sign_up_http(web, "admin")
        try:
            web.admin_token = api_token(admin)
        finally:
            admin.close()
        _add_plugins(web)
        yield web
    finally:
        server.stop()
        model.stop()
        for site in sites.values():
            site.stop()


@pytest.fixture(scope="module")
def browser(chromium_endpoint: str) -> Iterator[Browser]:
    """The session's Chromium (tests/chromium.py), connected for one module.

    Playwright's sync API keeps an event loop marked running in this thread while it is
    started, which the suite's async tests cannot share: it is started per module (pytest tears
    module fixtures down before the next module's tests), the browser itself once per session.
    """
    with sync_playwright() as playwright:
        connected = playwright.chromium.connect_over_cdp(chromium_endpoint)
        try:
            yield connected
        finally:
            connected.close()


def new_context(browser: Browser, *, phone: bool = False) -> BrowserContext:
    return browser.new_context(
        viewport=PHONE if phone else DESKTOP,
        ignore_https_errors=True,  # the plugin sites' test CA; the host itself is plain HTTP
        is_mobile=phone,
        has_touch=phone,
        device_scale_factor=2 if phone else 1,
    )


def sign_up(page: Page, web: Web, username: str) -> None:
    """Sign up through the page, as a person would."""
    page.goto(f"{web.url}/sign-up")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=False).first.fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(f"{web.url}/")


def screenshot(page: Page, name: str) -> None:
    """Keep what the page shows as docs/screenshots/NAME.png, when asked to.

    Off by default, so a test run leaves the tree clean; `scripts/screenshots.py` (or
    `POWERSTRIP_SCREENSHOTS=1`) retakes them for docs/web.md. The pages are driven and checked
    the same either way.
    """
    if os.environ.get(SCREENSHOTS_ENV) != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)
