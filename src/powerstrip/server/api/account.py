"""`/api/me`, `/api/tokens` and `/api/grants`: who you are, your API tokens, and your "always
allow" grants."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from powerstrip.host import list_grants, revoke_grant
from powerstrip.server.deps import CurrentHost, CurrentUser
from powerstrip.server.input_types import GrantId, Text

__all__ = ["router"]

router = APIRouter(tags=["account"])

TokenId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The token's id.")]


class Me(BaseModel):
    id: int
    username: str
    is_admin: bool
    scopes: list[str] = Field(description="What the credential of this request may do.")


class NewToken(BaseModel):
    name: Text = Field(default="", max_length=100, description="A label to tell tokens apart.")
    scopes: list[Text] = Field(
        default=["chat", "files"],
        description="chat, files, admin (admin: an admin's token only).",
        max_length=3,
    )


class IssuedTokenOut(BaseModel):
    id: int
    name: str
    scopes: list[str]
    token: str = Field(description="Shown only now: the store keeps its SHA-256 alone.")


class TokenOut(BaseModel):
    id: int
    name: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None


class TokenList(BaseModel):
    tokens: list[TokenOut]


class GrantOut(BaseModel):
    id: int
    plugin_id: int
    plugin: str
    operation_id: str
    created_at: datetime
    expires_at: datetime | None


class GrantList(BaseModel):
    grants: list[GrantOut]


@router.get("/me")
async def me(user: CurrentUser) -> Me:
    """The signed-in user."""
    return Me(
        id=user.id,
        username=user.username,
        is_admin=user.is_admin,
        scopes=sorted(s for s in user.scopes if user.may(s)),
    )


@router.get("/tokens")
async def tokens(host: CurrentHost, user: CurrentUser) -> TokenList:
    """Your API tokens, newest first (never the tokens themselves)."""
    rows = await host.users.tokens(user)
    return TokenList(
        tokens=[
            TokenOut(
                id=row.id,
                name=row.name,
                scopes=list(row.scopes),
                created_at=row.created_at,
                last_used_at=row.last_used_at,
            )
            for row in rows
        ]
    )


@router.post("/tokens", status_code=201)
async def issue(body: NewToken, host: CurrentHost, user: CurrentUser) -> IssuedTokenOut:
    """A new API token for you: its text is in this answer only."""
    issued = await host.users.issue_token(user, name=body.name, scopes=body.scopes)
    return IssuedTokenOut(
        id=issued.id, name=issued.name, scopes=list(issued.scopes), token=issued.token
    )


@router.delete("/tokens/{token_id}", status_code=204)
async def revoke_token(token_id: TokenId, host: CurrentHost, user: CurrentUser) -> Response:
    """Revoke one of your tokens."""
    await host.users.revoke_token(user, token_id)
    return Response(status_code=204)


@router.get("/grants")
async def grants(host: CurrentHost, user: CurrentUser) -> GrantList:
    """Your "always allow" grants."""
    return GrantList(
        grants=[
            GrantOut(
                id=grant.id,
                plugin_id=grant.plugin_id,
                plugin=grant.plugin_name,
                operation_id=grant.operation_id,
                created_at=grant.created_at,
                expires_at=grant.expires_at,
            )
            for grant in await list_grants(host.sessions, user.id)
        ]
    )


@router.delete("/grants/{grant_id}", status_code=204)
async def revoke(grant_id: GrantId, host: CurrentHost, user: CurrentUser) -> Response:
    """Revoke an "always allow" grant: that operation asks again."""
    await revoke_grant(host.sessions, user.id, grant_id)
    return Response(status_code=204)
