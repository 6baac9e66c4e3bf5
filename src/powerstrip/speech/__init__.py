"""Speech to text: check and decode uploaded audio, and transcribe it with the local Whisper
model (faster-whisper, tiny.en from a wheel) or the model backend's `/audio/transcriptions`.

    audio = decode_audio(data, max_seconds=300)          # blocking: from a worker thread
    transcript = await LocalWhisper(packaged_whisper()).transcribe(audio, language=None,
                                                                   prompt=None)

`host.transcriber` (host/transcription.py) chooses the engine from the settings; edges call it.
"""

from powerstrip.speech.audio import (
    AUDIO_KINDS,
    SAMPLE_RATE,
    DecodedAudio,
    check_size,
    decode_audio,
    sniff_kind,
)
from powerstrip.speech.languages import language_code, language_name
from powerstrip.speech.local import LocalWhisper, WhisperFiles, packaged_whisper
from powerstrip.speech.remote import BackendTranscriber
from powerstrip.speech.transcript import Segment, Transcript

__all__ = [
    "AUDIO_KINDS",
    "SAMPLE_RATE",
    "BackendTranscriber",
    "DecodedAudio",
    "LocalWhisper",
    "Segment",
    "Transcript",
    "WhisperFiles",
    "check_size",
    "decode_audio",
    "language_code",
    "language_name",
    "packaged_whisper",
    "sniff_kind",
]
