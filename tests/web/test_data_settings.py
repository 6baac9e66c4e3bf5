"""The settings page's data controls in the browser: the history switch, an export that
downloads once, and deleting the account behind a typed confirmation."""

from __future__ import annotations

import io
import zipfile

from playwright.sync_api import Browser, expect

from powerstrip.host import ARCHIVE_FILES
from tests.web.conftest import PASSWORD, Web, new_context, sign_up


def test_history_export_and_account_deletion_from_settings(browser: Browser, web: Web) -> None:
    context = new_context(browser)
    page = context.new_page()
    try:
        sign_up(page, web, "keeper")
        page.goto(f"{web.url}/settings")
        history = page.locator("#history")
        expect(history).to_be_checked()
        history.uncheck()
        page.locator("form[action='/settings/data/history'] button").click()
        expect(page.get_by_role("status")).to_contain_text("Chat history is off")
        expect(page.locator("#history")).not_to_be_checked()

        page.get_by_role("button", name="Export my data").click()
        link = page.locator("#export-link")
        expect(link).to_be_visible()
        link.click()
        with page.expect_download() as download:
            page.get_by_role("button", name="Download").click()
        archive = zipfile.ZipFile(io.BytesIO(download.value.path().read_bytes()))
        assert set(archive.namelist()) == set(ARCHIVE_FILES)
        assert b'"username": "keeper"' in archive.read("account.json")

        page.goto(f"{web.url}/settings")
        page.locator("#confirm-account").fill("someone-else")
        page.get_by_role("button", name="Delete my account").click()
        expect(page.get_by_role("alert")).to_be_visible()
        page.locator("#confirm-account").fill("keeper")
        page.get_by_role("button", name="Delete my account").click()
        page.wait_for_url(f"{web.url}/sign-in")
        # The account is gone: its password no longer signs in.
        page.get_by_label("Username").fill("keeper")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_be_visible()
    finally:
        context.close()
