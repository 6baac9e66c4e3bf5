"""The four auth schemes of spec §4 as the host applies them: credentials → request headers."""

from __future__ import annotations

from powerstrip.plugin import AuthType

__all__ = ["authorization_header"]


def authorization_header(
    auth_type: AuthType, authorization_type: str | None, secret: str
) -> dict[str, str]:
    """The Authorization header for a call.

    `service_http` and `user_http` send the key as `Bearer KEY` or `Basic KEY` (as pasted; the
    platform never encoded it), `oauth` sends the user's access token as `Bearer`.
    """
    if auth_type is AuthType.NONE:
        return {}
    scheme = "Basic" if (authorization_type or "bearer").lower() == "basic" else "Bearer"
    if auth_type is AuthType.OAUTH:
        scheme = "Bearer"
    return {"Authorization": f"{scheme} {secret}"}
