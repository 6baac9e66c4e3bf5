"""`/v1/audio/transcriptions`: OpenAI's speech-to-text route on the host's transcriber."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response

from powerstrip.server.deps import CurrentHost
from powerstrip.server.v1.access import CurrentCaller

__all__ = ["router"]

router = APIRouter(tags=["audio"])


@router.post("/audio/transcriptions", summary="Create a transcription")
async def create_transcription(
    host: CurrentHost,
    caller: CurrentCaller,
    file: Annotated[UploadFile, File()],
    model: Annotated[str, Form(max_length=100)],
    language: Annotated[str | None, Form(max_length=16)] = None,
    prompt: Annotated[str | None, Form(max_length=2000)] = None,
    response_format: Annotated[str, Form(max_length=16)] = "json",
) -> Response:
    """Transcribe a recording with the local Whisper model or the model backend's own.

    `model` is accepted as OpenAI's clients send it; the host's transcriber decides the engine.
    """
    del model
    data = await file.read(host.settings.transcription_max_bytes + 1)
    answer = await host.transcriber.transcribe_openai(
        caller.user, data, response_format=response_format, language=language, prompt=prompt
    )
    return Response(answer.content, media_type=answer.media_type)
