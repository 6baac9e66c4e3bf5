"""`/api/me` and `/api/grants`: who you are, and your "always allow" grants."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from powerstrip.host import list_grants, revoke_grant
from powerstrip.server.deps import CurrentHost, CurrentUser
from powerstrip.server.input_types import GrantId

__all__ = ["router"]

router = APIRouter(tags=["account"])


@router.get("/me")
async def me(user: CurrentUser) -> Any:  # Any: JSON
    return {"id": user.id, "username": user.username, "is_admin": user.is_admin}


@router.get("/grants")
async def grants(host: CurrentHost, user: CurrentUser) -> Any:  # Any: JSON
    return {
        "grants": [
            {
                "id": grant.id,
                "plugin_id": grant.plugin_id,
                "plugin": grant.plugin_name,
                "operation_id": grant.operation_id,
                "created_at": grant.created_at.isoformat(),
                "expires_at": grant.expires_at.isoformat() if grant.expires_at else None,
            }
            for grant in await list_grants(host.sessions, user.id)
        ]
    }


@router.delete("/grants/{grant_id}", status_code=204)
async def revoke(grant_id: GrantId, host: CurrentHost, user: CurrentUser) -> Response:
    await revoke_grant(host.sessions, user.id, grant_id)
    return Response(status_code=204)
