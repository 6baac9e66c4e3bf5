"""The §6 headers and the daily pseudonym."""

from __future__ import annotations

from datetime import UTC, datetime

from powerstrip.runtime.headers import call_headers, ephemeral_user_id

SECRET = b"host-secret"
NOON = datetime(2026, 11, 23, 12, tzinfo=UTC)


def test_the_pseudonym_is_stable_within_a_day_and_changes_at_midnight_utc() -> None:
    morning = ephemeral_user_id(SECRET, "7", "p1", datetime(2026, 11, 23, 0, 0, 1, tzinfo=UTC))
    evening = ephemeral_user_id(SECRET, "7", "p1", datetime(2026, 11, 23, 23, 59, tzinfo=UTC))
    tomorrow = ephemeral_user_id(SECRET, "7", "p1", datetime(2026, 11, 24, 0, 0, tzinfo=UTC))
    assert morning == evening
    assert tomorrow != morning


def test_the_pseudonym_differs_per_plugin_and_user_and_hides_the_id() -> None:
    one = ephemeral_user_id(SECRET, "7", "p1", NOON)
    assert one != ephemeral_user_id(SECRET, "7", "p2", NOON)
    assert one != ephemeral_user_id(SECRET, "8", "p1", NOON)
    assert one != ephemeral_user_id(b"other-secret", "7", "p1", NOON)
    assert len(one) == 32
    assert int(one, 16) >= 0  # a hex digest, not the user id in any form


def test_headers_come_under_both_prefixes() -> None:
    headers = call_headers(conversation_id="c1", ephemeral_id="e1", subdivision="US-CA")
    assert headers == {
        "openai-conversation-id": "c1",
        "openai-ephemeral-user-id": "e1",
        "openai-subdivision-1-iso-code": "US-CA",
        "powerstrip-conversation-id": "c1",
        "powerstrip-ephemeral-user-id": "e1",
        "powerstrip-subdivision-1-iso-code": "US-CA",
    }


def test_no_location_header_without_a_location() -> None:
    headers = call_headers(conversation_id="c1", ephemeral_id="e1", subdivision=None)
    assert not any("subdivision" in name for name in headers)
