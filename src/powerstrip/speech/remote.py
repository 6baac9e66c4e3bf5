"""The model backend's speech-to-text: `POST {base_url}/audio/transcriptions` (OpenAI's API).

Through the official `openai` client, like the chat backend (`runtime/openai_compat.py`), so it
reaches OpenAI and the servers that copy its API (vLLM, LocalAI, speaches, another Powerstrip).
The recording is sent as it was uploaded; every failure of the client becomes a `ModelError`
whose text has passed through a `Redactor` that knows the API key.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import openai

from powerstrip.errors import ModelError
from powerstrip.redaction import Redactor
from powerstrip.speech.languages import language_code
from powerstrip.speech.transcript import Segment, Transcript

if TYPE_CHECKING:
    from powerstrip.speech.audio import DecodedAudio

__all__ = ["BackendTranscriber"]

logger = logging.getLogger(__name__)

# The client would read OPENAI_API_KEY when given none, and send it to any base URL.
_NO_KEY = "no-key-configured"
_MAX_DETAIL = 300
# What the upload is called towards the backend: servers pick the decoder by extension.
_FILE_NAMES = {
    "wav": ("audio.wav", "audio/wav"),
    "mp3": ("audio.mp3", "audio/mpeg"),
    "m4a/mp4": ("audio.m4a", "audio/mp4"),
    "webm": ("audio.webm", "audio/webm"),
    "ogg": ("audio.ogg", "audio/ogg"),
    "flac": ("audio.flac", "audio/flac"),
}


class BackendTranscriber:
    """Transcribes with an OpenAI-compatible `/audio/transcriptions` endpoint."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None,
        *,
        timeout: float = 120,
        max_retries: int = 2,
    ) -> None:
        self._model = model
        self._timeout = timeout
        self._redactor = Redactor([api_key] if api_key else [])
        self._where = f"{self._redactor.url(base_url)}/audio/transcriptions, model {model}"
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or _NO_KEY,
            timeout=timeout,
            max_retries=max_retries,
        )

    @property
    def name(self) -> str:
        """`openai:<model>`, as transcripts name their engine."""
        return f"openai:{self._model}"

    async def transcribe(
        self,
        data: bytes,
        audio: DecodedAudio,
        *,
        language: str | None,
        prompt: str | None,
        segments: bool,
    ) -> Transcript:
        """The backend's transcript of `data` (already checked and decoded into `audio`).

        `segments`: ask for `verbose_json` (language, segments), which not every server or model
        offers; otherwise plain `json`, which all do.
        """
        filename, content_type = _FILE_NAMES[audio.kind]
        options: dict[str, Any] = {}  # Any: the client's keyword arguments
        if language:
            options["language"] = language
        if prompt:
            options["prompt"] = prompt
        try:
            answer = await self._client.audio.transcriptions.create(
                model=self._model,
                file=(filename, data, content_type),
                response_format="verbose_json" if segments else "json",
                **options,
            )
        except openai.OpenAIError as exc:
            raise self._error(exc) from None  # from None: the exception may quote the key
        return self._transcript(answer, audio, language)

    def _transcript(self, answer: Any, audio: DecodedAudio, asked: str | None) -> Transcript:
        # Any: the client's model, built without validation from what the server sent.
        text = getattr(answer, "text", None)
        if not isinstance(text, str):
            raise ModelError(
                "the transcription backend's answer has no `text`",
                where=self._where,
                fix="check that the base URL points at an OpenAI-compatible API",
            )
        said = getattr(answer, "language", None)
        language = language_code(said) if isinstance(said, str) else None
        parts = []
        for number, piece in enumerate(getattr(answer, "segments", None) or ()):
            start, end = getattr(piece, "start", 0.0), getattr(piece, "end", 0.0)
            words = getattr(piece, "text", "")
            if isinstance(start, int | float) and isinstance(end, int | float):
                parts.append(Segment(id=number, start=float(start), end=float(end), text=words))
        return Transcript(
            text=text.strip(),
            language=language or asked,
            duration=round(audio.duration, 3),
            engine=self.name,
            segments=tuple(parts),
        )

    def _error(self, exc: openai.OpenAIError) -> ModelError:
        if isinstance(exc, openai.APITimeoutError):
            what = f"the transcription backend did not answer within {self._timeout:g} s"
            fix = "check that the model server is up, or send a shorter recording"
        elif isinstance(exc, openai.APIConnectionError):
            what = "could not reach the transcription backend"
            fix = "check POWERSTRIP_MODEL_BASE_URL and that the model server is running"
        elif isinstance(exc, openai.APIStatusError):
            detail = _detail(exc)
            what = f"the transcription backend answered HTTP {exc.status_code}: {detail}"
            if exc.status_code in (401, 403):
                fix = "check POWERSTRIP_MODEL_API_KEY and its permissions"
            elif exc.status_code == 404:
                fix = (
                    "this backend may not offer /audio/transcriptions: set "
                    "POWERSTRIP_TRANSCRIPTION=local, or check POWERSTRIP_TRANSCRIPTION_MODEL"
                )
            else:
                fix = "check the model server's logs, or try again later"
        else:
            what = f"the OpenAI client failed: {type(exc).__name__}"
            fix = "check the model backend's settings"
        what = self._redactor.text(what)
        logger.warning("speech.backend.failed where=%s error=%s", self._where, what)
        return ModelError(what, where=self._where, fix=fix)

    async def aclose(self) -> None:
        """Close the client's connections."""
        await self._client.close()


def _detail(exc: openai.APIStatusError) -> str:
    body = exc.body
    message: object = None
    if isinstance(body, dict):
        nested = body.get("error")
        message = nested.get("message") if isinstance(nested, dict) else body.get("message")
    if not isinstance(message, str) or not message:
        message = exc.message.removeprefix(f"Error code: {exc.status_code} - ")
    return message[:_MAX_DETAIL] + ("..." if len(message) > _MAX_DETAIL else "")
