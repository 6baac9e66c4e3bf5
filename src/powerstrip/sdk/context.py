"""What a plugin operation knows about the call: who, in which conversation, from where."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

__all__ = ["CallContext", "context_from_request"]


@dataclass(frozen=True, slots=True)
class CallContext:
    """The call's context, from the credentials and the headers the host adds (spec §6).

    `user_id` is the authenticated user under `user_http` and `oauth`; `None` otherwise.
    `ephemeral_user_id` is the host's per-plugin daily pseudonym of the user, never their id.
    """

    user_id: str | None
    conversation_id: str | None
    ephemeral_user_id: str | None
    subdivision: str | None
    client_address: str | None


def _header(request: Request, name: str) -> str | None:
    # Powerstrip sends both spellings; other hosts of the original platform send `openai-`.
    value = request.headers.get(f"powerstrip-{name}") or request.headers.get(f"openai-{name}")
    return value.strip() if value and value.strip() else None


def context_from_request(request: Request, user_id: str | None) -> CallContext:
    return CallContext(
        user_id=user_id,
        conversation_id=_header(request, "conversation-id"),
        ephemeral_user_id=_header(request, "ephemeral-user-id"),
        subdivision=_header(request, "subdivision-1-iso-code"),
        client_address=request.client.host if request.client else None,
    )
