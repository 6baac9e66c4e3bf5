"""Uploaded audio: what kind it is (from its bytes), and its samples at 16 kHz mono.

Browsers record WebM/Opus (Chrome, Firefox), MP4/AAC (Safari) or Ogg; people upload WAV, MP3,
M4A or FLAC. The kind is read from the file's first bytes, never from its name or the content
type the client claims, and only these kinds reach the decoder. Decoding uses PyAV (FFmpeg's
libraries, in the wheel faster-whisper depends on): a file that FFmpeg cannot read, that holds no
audio, or that runs past the duration cap is refused with an `AudioError` that says which.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from powerstrip.errors import AudioError, AudioTooLargeError

if TYPE_CHECKING:
    import av
    import av.container

__all__ = [
    "AUDIO_KINDS",
    "SAMPLE_RATE",
    "DecodedAudio",
    "check_size",
    "decode_audio",
    "sniff_kind",
]

SAMPLE_RATE = 16_000  # what Whisper models take

# Each accepted kind, as the error messages and the capability probe name it.
AUDIO_KINDS = ("wav", "mp3", "m4a/mp4", "webm", "ogg", "flac")
_KINDS_TEXT = ", ".join(AUDIO_KINDS)
_WHERE = "audio file"


@dataclass(frozen=True)
class DecodedAudio:
    """A clip's samples (float32 in [-1, 1], mono, `SAMPLE_RATE`), its kind and duration."""

    samples: NDArray[np.float32]
    kind: str

    @property
    def duration(self) -> float:
        """Seconds of audio."""
        return len(self.samples) / SAMPLE_RATE


def check_size(size: int, max_bytes: int) -> None:
    """Refuse an empty file, or one past `max_bytes`."""
    if size == 0:
        raise AudioError(
            "the audio file is empty", where=_WHERE, fix="record again, or send a file with sound"
        )
    if size > max_bytes:
        raise AudioTooLargeError(
            f"the audio file has {size} bytes, more than the {max_bytes} allowed",
            where=_WHERE,
            fix="send a shorter recording; the admin sets the cap with "
            "POWERSTRIP_TRANSCRIPTION_MAX_BYTES",
        )


def sniff_kind(data: bytes) -> str:
    """The audio kind of `data` from its signature; `AudioError` when it is none we read."""
    head = data[:16]
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML: Matroska, which WebM is
        return "webm"
    if head[4:8] == b"ftyp":  # ISO base media: MP4, M4A, 3GP
        return "m4a/mp4"
    if head[:3] == b"ID3" or _mpeg_frame(head):
        return "mp3"
    raise AudioError(
        "the file is not audio of a kind the host reads",
        where=_WHERE,
        fix=f"send one of: {_KINDS_TEXT} (what browsers record is all of these)",
    )


def _mpeg_frame(head: bytes) -> bool:
    # An MPEG audio frame header: 11 sync bits, a version other than "reserved" (01), layer III
    # (01 in bits 2-1, what .mp3 files are; ADTS AAC has layer 00 and is read as mp4 audio).
    if len(head) < 2 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version = (head[1] >> 3) & 0b11
    layer = (head[1] >> 1) & 0b11
    return version != 0b01 and layer == 0b01


def decode_audio(data: bytes, *, max_seconds: float) -> DecodedAudio:
    """The samples of `data`, checked: a kind we read, decodable, some sound, not too long.

    Blocking (FFmpeg decodes on this thread): call it from a worker thread.
    """
    kind = sniff_kind(data)
    import av  # imported here: the server starts without loading FFmpeg's libraries

    limit = int(max_seconds * SAMPLE_RATE)
    pieces: list[NDArray[Any]] = []  # Any: s16 samples, whatever dtype PyAV's stubs name
    count = 0
    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError(
                    f"the {kind} file holds no audio track",
                    where=_WHERE,
                    fix="send a recording with sound",
                )
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            for frame in _frames(container):
                for out in resampler.resample(frame):
                    array = out.to_ndarray().reshape(-1)
                    pieces.append(array)
                    count += len(array)
                if count > limit:
                    raise _too_long(max_seconds)
            for out in resampler.resample(None):  # what the resampler still holds
                pieces.append(out.to_ndarray().reshape(-1))
                count += len(pieces[-1])
    except av.FFmpegError as exc:
        raise AudioError(
            f"the {kind} file cannot be decoded ({type(exc).__name__}); it may be cut off or "
            "corrupt",
            where=_WHERE,
            fix="record again, or send the file whole",
        ) from None
    if count > limit:
        raise _too_long(max_seconds)
    if count == 0:
        raise AudioError(
            f"the {kind} file holds no sound", where=_WHERE, fix="record again: nothing was heard"
        )
    samples = np.concatenate(pieces).astype(np.float32) / 32768.0
    return DecodedAudio(samples=samples, kind=kind)


def _frames(container: av.container.InputContainer) -> Iterator[av.AudioFrame]:
    # Skip a frame FFmpeg cannot read, as faster-whisper's own loader does: browser recordings
    # cut off mid-packet end with one. A file whose frames are all broken ends up with no sound.
    import av

    stream = container.streams.audio[0]
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            continue
        for frame in frames:
            if isinstance(frame, av.AudioFrame):
                yield frame


def _too_long(max_seconds: float) -> AudioError:
    return AudioError(
        f"the recording is longer than the {max_seconds:g} seconds allowed",
        where=_WHERE,
        fix="send a shorter recording; the admin sets the cap with "
        "POWERSTRIP_TRANSCRIPTION_MAX_SECONDS",
    )
