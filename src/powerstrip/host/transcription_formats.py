"""A transcript in the shapes of OpenAI's `POST /v1/audio/transcriptions` answers.

`json` is `{"text", "usage"}`; `text` the bare text; `verbose_json` adds the task, language (by
name, as OpenAI writes it: `english`), duration and segments; `srt` and `vtt` are subtitles cut
at the segments (one cue for the whole clip when the engine gave none).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from powerstrip.speech import Segment, Transcript, language_name

__all__ = ["RESPONSE_FORMATS", "OpenAITranscription", "render"]

RESPONSE_FORMATS = ("json", "text", "verbose_json", "srt", "vtt")


@dataclass(frozen=True)
class OpenAITranscription:
    """An answer's body and its media type."""

    content: str
    media_type: str


def render(transcript: Transcript, response_format: str) -> OpenAITranscription:
    """`transcript` as OpenAI answers it in `response_format` (one of `RESPONSE_FORMATS`)."""
    if response_format == "text":
        return OpenAITranscription(transcript.text + "\n", "text/plain; charset=utf-8")
    if response_format in ("srt", "vtt"):
        return OpenAITranscription(_subtitles(transcript, response_format), "text/plain")
    body: dict[str, Any] = {"text": transcript.text}  # Any: JSON values
    if response_format == "verbose_json":
        body = {
            "task": "transcribe",
            "language": language_name(transcript.language or "en"),
            "duration": transcript.duration,
            "text": transcript.text,
            "segments": [_segment(segment) for segment in transcript.segments],
        }
    # OpenAI bills whisper-1 by the second and says so in `usage`.
    body["usage"] = {"type": "duration", "seconds": math.ceil(transcript.duration)}
    return OpenAITranscription(json.dumps(body, ensure_ascii=False), "application/json")


def _segment(segment: Segment) -> dict[str, Any]:  # Any: JSON values
    return {
        "id": segment.id,
        "seek": segment.seek,
        "start": segment.start,
        "end": segment.end,
        "text": segment.text,
        "tokens": list(segment.tokens),
        "temperature": segment.temperature,
        "avg_logprob": segment.avg_logprob,
        "compression_ratio": segment.compression_ratio,
        "no_speech_prob": segment.no_speech_prob,
    }


def _subtitles(transcript: Transcript, kind: str) -> str:
    cues = [(s.start, s.end, s.text.strip()) for s in transcript.segments if s.text.strip()]
    if not cues and transcript.text:
        cues = [(0.0, transcript.duration, transcript.text)]
    separator = "," if kind == "srt" else "."
    blocks = []
    for number, (start, end, text) in enumerate(cues, start=1):
        timing = f"{_clock(start, separator)} --> {_clock(end, separator)}"
        blocks.append(f"{number}\n{timing}\n{text}\n" if kind == "srt" else f"{timing}\n{text}\n")
    body = "\n".join(blocks)
    return body if kind == "srt" else f"WEBVTT\n\n{body}"


def _clock(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{whole:02d}{separator}{millis:03d}"
