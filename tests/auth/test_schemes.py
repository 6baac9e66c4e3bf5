"""Each auth scheme's credentials as the Authorization header the host sends (spec §4)."""

from __future__ import annotations

import pytest

from powerstrip.auth import authorization_header
from powerstrip.plugin import AuthType


@pytest.mark.parametrize(
    ("auth_type", "authorization_type", "header"),
    [
        (AuthType.NONE, None, {}),
        (AuthType.SERVICE_HTTP, "bearer", {"Authorization": "Bearer K"}),
        (AuthType.SERVICE_HTTP, "basic", {"Authorization": "Basic K"}),
        (AuthType.USER_HTTP, "Bearer", {"Authorization": "Bearer K"}),
        (AuthType.USER_HTTP, "basic", {"Authorization": "Basic K"}),
        (AuthType.OAUTH, None, {"Authorization": "Bearer K"}),
        (AuthType.OAUTH, "basic", {"Authorization": "Bearer K"}),
    ],
)
def test_the_header_for_each_scheme(
    auth_type: AuthType, authorization_type: str | None, header: dict[str, str]
) -> None:
    assert authorization_header(auth_type, authorization_type, "K") == header
