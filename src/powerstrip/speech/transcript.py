"""What a transcription gives back, whichever engine made it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Segment", "Transcript"]


@dataclass(frozen=True)
class Segment:
    """One stretch of speech, with its times in seconds and the decoder's confidence figures.

    The figures are those of OpenAI's `verbose_json` segments; an engine that does not give one
    leaves its default.
    """

    id: int
    start: float
    end: float
    text: str
    seek: int = 0
    tokens: tuple[int, ...] = ()
    temperature: float = 0.0
    avg_logprob: float = 0.0
    compression_ratio: float = 0.0
    no_speech_prob: float = 0.0


@dataclass(frozen=True)
class Transcript:
    """The text of a recording, its language (ISO 639-1, when known), duration and segments.

    `engine` names what transcribed it: `local:<model>` or `openai:<model>`.
    """

    text: str
    language: str | None
    duration: float
    engine: str
    segments: tuple[Segment, ...] = ()
