"""`/api/audio`: speech to text for the signed-in user (the web app's microphone button).

`GET /api/audio` says whether transcription is there (the button is hidden otherwise) and the
caps a recording must fit; `POST /api/audio/transcriptions` takes the recording as the multipart
field `file` and answers its text. The host service does every check (host/transcription.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel, Field

from powerstrip.server.deps import CurrentHost, CurrentUser
from powerstrip.server.errors import ErrorAnswer
from powerstrip.server.input_types import Text

__all__ = ["TRANSCRIPTIONS_PATH", "router", "upload_cap"]

router = APIRouter(prefix="/audio", tags=["audio"])

TRANSCRIPTIONS_PATH = "/api/audio/transcriptions"
# Room for the multipart framing and the small fields beside the file (a prompt is ≤ 1000
# characters): the file itself is held to POWERSTRIP_TRANSCRIPTION_MAX_BYTES by the service.
_FORM_OVERHEAD = 64 * 1024


def upload_cap(max_audio_bytes: int) -> int:
    """The request body cap of a transcription route, for a file cap of `max_audio_bytes`."""
    return max_audio_bytes + _FORM_OVERHEAD


class AudioCapability(BaseModel):
    available: bool = Field(description="Whether speech to text is there at all.")
    backend: str | None = Field(
        description="`openai` (the model backend's /audio/transcriptions), `local` (Whisper on "
        "this host), or null."
    )
    engine: str | None = Field(description="The model, e.g. `local:whisper-tiny.en`.")
    max_bytes: int = Field(description="The largest audio file accepted, in bytes.")
    max_seconds: float = Field(description="The longest recording accepted, in seconds.")
    formats: list[str] = Field(description="The kinds of audio file read.")


class TranscriptionAnswer(BaseModel):
    text: str
    language: str | None = Field(description="ISO 639-1 code of the language heard, when known.")
    duration: float = Field(description="Seconds of audio.")
    engine: str


_ERRORS: dict[int | str, dict[str, Any]] = {  # Any: OpenAPI
    413: {
        "model": ErrorAnswer,
        "description": "The audio file is larger than POWERSTRIP_TRANSCRIPTION_MAX_BYTES.",
    },
    422: {
        "model": ErrorAnswer,
        "description": "The file is empty, corrupt, not audio of a kind read, or too long; or "
        "the language or prompt is not valid.",
    },
    503: {"model": ErrorAnswer, "description": "Speech to text is not available on this host."},
}


@router.get("")
async def capability(host: CurrentHost, user: CurrentUser) -> AudioCapability:
    """Whether voice input is there, and the caps a recording must fit."""
    info = host.transcriber.info
    return AudioCapability(
        available=info.available,
        backend=info.backend,
        engine=info.engine,
        max_bytes=info.max_bytes,
        max_seconds=info.max_seconds,
        formats=list(info.kinds),
    )


@router.post("/transcriptions", responses=_ERRORS)
async def transcribe(
    host: CurrentHost,
    user: CurrentUser,
    file: Annotated[UploadFile, File(description="The recording: wav, mp3, m4a, webm, ogg.")],
    language: Annotated[Text | None, Form(max_length=40)] = None,
    prompt: Annotated[Text | None, Form(max_length=4000)] = None,
) -> TranscriptionAnswer:
    """The text of a recording (wav, mp3, m4a/mp4, webm, ogg or flac)."""
    # The guard held the whole body to upload_cap(), so this read is bounded.
    data = await file.read()
    transcript = await host.transcriber.transcribe(user, data, language=language, prompt=prompt)
    return TranscriptionAnswer(
        text=transcript.text,
        language=transcript.language,
        duration=transcript.duration,
        engine=transcript.engine,
    )
