"""Sign-in tickets: signed, for one user and plugin, expiring, distinct, and used once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from powerstrip.errors import OAuthError
from powerstrip.host.sign_in_links import SignInLinks
from powerstrip.store import create_engine, session_factory, upgrade

pytestmark = pytest.mark.anyio

LINKS = SignInLinks("https://host.example.org/", os.urandom(32))


def _ticket(link: str) -> str:
    return link.split("ticket=", 1)[1]


def test_a_ticket_names_its_user_and_plugin() -> None:
    link = LINKS.link(7, 3, now=1_000)
    assert link.startswith("https://host.example.org/aip/3/oauth/begin?ticket=")
    ticket = LINKS.read(_ticket(link), 3, now=1_000)
    assert (ticket.user_id, ticket.plugin_id) == (7, 3)
    assert _ticket(LINKS.link(7, 3, now=1_000)) != _ticket(link)  # every link is distinct


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"), "not valid"),
        (lambda t: "x" + t, "not valid"),
        (lambda t: t.split(".")[0], "not valid"),
        (lambda t: "", "not valid"),
    ],
)
def test_an_altered_ticket_is_refused(change: object, message: str) -> None:
    ticket = _ticket(LINKS.link(7, 3, now=1_000))
    with pytest.raises(OAuthError, match=message):
        LINKS.read(change(ticket), 3, now=1_000)  # type: ignore[operator]


def test_a_ticket_is_for_its_plugin_only_and_expires() -> None:
    ticket = _ticket(LINKS.link(7, 3, now=1_000))
    with pytest.raises(OAuthError, match="another plugin"):
        LINKS.read(ticket, 4, now=1_000)
    with pytest.raises(OAuthError, match="expired"):
        LINKS.read(ticket, 3, now=1_000 + LINKS.ttl_seconds + 1)
    other_key = SignInLinks("https://host.example.org", os.urandom(32))
    with pytest.raises(OAuthError, match="not valid"):
        other_key.read(ticket, 3, now=1_000)


async def test_a_ticket_starts_one_sign_in_only(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'powerstrip.db'}"
    await upgrade(url)
    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        first, second = _ticket(LINKS.link(7, 3)), _ticket(LINKS.link(7, 3))
        await LINKS.use(sessions, first)
        with pytest.raises(OAuthError, match="already used"):
            await LINKS.use(sessions, first)
        await LINKS.use(sessions, second)
    finally:
        await engine.dispose()
