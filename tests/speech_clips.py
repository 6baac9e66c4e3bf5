"""Speech for the speech-to-text tests: sentences spoken by Debian's espeak-ng, in every kind of
file browsers record, re-encoded with PyAV (the FFmpeg libraries faster-whisper brings).

espeak-ng is installed by `.ci/apt-packages.sh` (`make test` runs it); a test that needs
speech fails, naming that script, when it is missing.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import av
import pytest

__all__ = [
    "FORMATS",
    "SENTENCE",
    "SENTENCE_WORDS",
    "Clips",
    "encode",
    "hears_the_sentence",
    "make_clips",
    "speak",
]

SENTENCE = "the quick brown fox jumps over the lazy dog"
# Words tiny.en hears in espeak-ng's voice every time (it may write "jump" for "jumps").
SENTENCE_WORDS = ("quick", "brown", "fox", "lazy", "dog")

# kind → (container format, codec, sample rate, file name)
FORMATS = {
    "mp3": ("mp3", "libmp3lame", 22_050, "clip.mp3"),
    "m4a/mp4": ("ipod", "aac", 22_050, "clip.m4a"),
    "webm": ("webm", "libopus", 48_000, "clip.webm"),
    "ogg": ("ogg", "libopus", 48_000, "clip.ogg"),
    "flac": ("flac", "flac", 22_050, "clip.flac"),
}


@dataclass(frozen=True)
class Clips:
    """The sentence as a WAV file and in each other kind, by kind."""

    wav: bytes
    encoded: dict[str, bytes]

    def of(self, kind: str) -> bytes:
        """The clip of `kind` (`wav`, `mp3`, `m4a/mp4`, `webm`, `ogg`, `flac`)."""
        return self.wav if kind == "wav" else self.encoded[kind]


def speak(text: str, path: Path) -> bytes:
    """`text` spoken by espeak-ng into the WAV file `path`; its bytes."""
    program = shutil.which("espeak-ng")
    if program is None:
        pytest.fail("espeak-ng is not installed: run `bash .ci/apt-packages.sh` (as root)")
    subprocess.run([program, "-w", str(path), text], check=True, capture_output=True)  # noqa: S603
    return path.read_bytes()


def encode(wav: bytes, kind: str) -> bytes:
    """The WAV clip re-encoded as `kind`, one of `FORMATS`."""
    container_format, codec, rate, _ = FORMATS[kind]
    out = io.BytesIO()
    with (
        av.open(io.BytesIO(wav)) as source,
        av.open(out, mode="w", format=container_format) as target,
    ):
        stream = target.add_stream(codec, rate=rate, layout="mono")
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=rate)
        for frame in source.decode(audio=0):
            for piece in resampler.resample(frame):
                for packet in stream.encode(piece):
                    target.mux(packet)
        for piece in resampler.resample(None):
            for packet in stream.encode(piece):
                target.mux(packet)
        for packet in stream.encode(None):
            target.mux(packet)
    return out.getvalue()


def make_clips(folder: Path) -> Clips:
    """The sentence spoken into `folder`, in every kind."""
    wav = speak(SENTENCE, folder / "clip.wav")
    return Clips(wav=wav, encoded={kind: encode(wav, kind) for kind in FORMATS})


def hears_the_sentence(text: str) -> bool:
    """At least four of the five words: lossy codecs blur one now and then ("fog" for "fox")."""
    return len(set(SENTENCE_WORDS) & set(re.findall(r"[a-z]+", text.lower()))) >= 4
