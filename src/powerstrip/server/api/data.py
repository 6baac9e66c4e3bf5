"""`/api/settings` and `/api/data/...`: the chat history switch, exports and deletions (§9).

What a settings page calls: read and change the switch and the e-mail export links go to,
start an export (its one-time `download_url` is in that answer only) and follow its status,
delete all conversations or the account (each with `confirm` equal to the user name), and
rate answers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from powerstrip.host import DataSettings, ExportInfo, FeedbackInfo
from powerstrip.server.deps import CurrentHost, CurrentUser
from powerstrip.server.input_types import MAX_ROW_ID, Text

__all__ = ["router"]

router = APIRouter(tags=["data"])

# Any below: OpenAPI entries.

Seq = Annotated[
    int, Path(ge=1, le=MAX_ROW_ID, description="The message's place in the conversation.")
]


class SettingsChange(BaseModel):
    history_enabled: bool | None = Field(
        default=None,
        description="Chat history on or off for conversations started from now on.",
    )
    email: Text | None = Field(
        default=None,
        max_length=320,
        description='Where export links are mailed; "" clears it.',
    )


class Confirmation(BaseModel):
    confirm: Text = Field(max_length=200, description="Your user name, to confirm.")


class Rating(BaseModel):
    rating: Literal["up", "down"]
    comment: Text = Field(default="", max_length=4000, description="What was wrong (optional).")


class SettingsOut(BaseModel):
    history_enabled: bool = Field(description="Off: new conversations are unlisted, then deleted.")
    email: str | None = Field(description="Where export links are mailed.")
    retention_days: int = Field(description="Days a history-off conversation is kept.")


class ExportOut(BaseModel):
    id: str
    status: Literal["building", "ready", "used", "failed"]
    created_at: datetime
    expires_at: datetime = Field(description="When the download link stops working.")
    size_bytes: int
    mailed_to: str | None = Field(description="Where the link was mailed, if it was.")
    error: str | None


class ExportStarted(ExportOut):
    download_url: str = Field(description="Downloads the zip once; shown only in this answer.")


class ExportList(BaseModel):
    exports: list[ExportOut]


class Deleted(BaseModel):
    deleted: dict[str, int] = Field(description="How many rows of each table went.")


class FeedbackOut(BaseModel):
    conversation_id: str
    message_seq: int
    rating: Literal["up", "down"]
    comment: str
    updated_at: datetime


class FeedbackList(BaseModel):
    feedback: list[FeedbackOut]


_STARTED: dict[int | str, dict[str, Any]] = {
    201: {
        "model": ExportStarted,
        "description": "The export is ready: `download_url` downloads it, once.",
    },
    202: {"description": "The export is being built: follow its `status`."},
}


def _settings(settings: DataSettings) -> SettingsOut:
    return SettingsOut(
        history_enabled=settings.history_enabled,
        email=settings.email,
        retention_days=settings.retention_days,
    )


def _export(info: ExportInfo) -> ExportOut:
    return ExportOut(
        id=info.id,
        status=info.status,
        created_at=info.created_at,
        expires_at=info.expires_at,
        size_bytes=info.size_bytes,
        mailed_to=info.mailed_to,
        error=info.error,
    )


def _feedback(info: FeedbackInfo) -> FeedbackOut:
    return FeedbackOut(
        conversation_id=info.conversation_id,
        message_seq=info.message_seq,
        rating=info.rating,
        comment=info.comment,
        updated_at=info.updated_at,
    )


@router.get("/settings")
async def get_settings(host: CurrentHost, user: CurrentUser) -> SettingsOut:
    """Your data settings: the history switch, the export e-mail, the retention period."""
    return _settings(await host.data.settings(user))


@router.patch("/settings")
async def change_settings(
    body: SettingsChange, host: CurrentHost, user: CurrentUser
) -> SettingsOut:
    settings = await host.data.update(
        user,
        history_enabled=body.history_enabled,
        email=body.email or None,
        clear_email=body.email == "",
    )
    return _settings(settings)


@router.post("/data/exports", status_code=202, responses=_STARTED)
async def start_export(host: CurrentHost, user: CurrentUser, response: Response) -> ExportStarted:
    """Export all your data as a zip. The answer holds the one-time `download_url` (shown only
    here, and mailed when SMTP and your e-mail are set); `status` is `ready`, or `building`
    for a large export: follow it at `GET /api/data/exports/{id}`."""
    ticket = await host.exports.start(user)
    response.status_code = 202 if ticket.info.status == "building" else 201
    return ExportStarted(**_export(ticket.info).model_dump(), download_url=ticket.download_url)


@router.get("/data/exports")
async def list_exports(host: CurrentHost, user: CurrentUser) -> ExportList:
    """Your exports whose links have not expired, newest first."""
    return ExportList(exports=[_export(info) for info in await host.exports.list_exports(user)])


@router.get("/data/exports/{export_id}")
async def get_export(export_id: str, host: CurrentHost, user: CurrentUser) -> ExportOut:
    """One of your exports: is it built, used, expired?"""
    return _export(await host.exports.get(user, export_id))


@router.post("/data/conversations/delete")
async def delete_conversations(body: Confirmation, host: CurrentHost, user: CurrentUser) -> Deleted:
    """Delete every conversation you have, listed or not, with its messages, calls, approvals
    and feedback. `confirm` must be your user name."""
    report = await host.data.delete_conversations(user, confirm=body.confirm)
    return Deleted(deleted=report.counts)


@router.post("/data/account/delete")
async def delete_account(body: Confirmation, host: CurrentHost, user: CurrentUser) -> Deleted:
    """Delete your account and everything of it; your API tokens stop working. `confirm` must
    be your user name."""
    report = await host.data.delete_account(user, confirm=body.confirm)
    return Deleted(deleted=report.counts)


@router.put("/conversations/{conversation_id}/messages/{seq}/feedback")
async def give_feedback(
    conversation_id: str, seq: Seq, body: Rating, host: CurrentHost, user: CurrentUser
) -> FeedbackOut:
    """Rate an answer; `seq` is the message's place in the conversation (1 is the first)."""
    info = await host.feedback.give(user, conversation_id, seq, body.rating, body.comment)
    return _feedback(info)


@router.delete("/conversations/{conversation_id}/messages/{seq}/feedback", status_code=204)
async def withdraw_feedback(
    conversation_id: str, seq: Seq, host: CurrentHost, user: CurrentUser
) -> Response:
    await host.feedback.withdraw(user, conversation_id, seq)
    return Response(status_code=204)


@router.get("/conversations/{conversation_id}/feedback")
async def list_feedback(conversation_id: str, host: CurrentHost, user: CurrentUser) -> FeedbackList:
    """Your ratings of the conversation's answers."""
    found = await host.feedback.list_feedback(user, conversation_id)
    return FeedbackList(feedback=[_feedback(info) for info in found])
