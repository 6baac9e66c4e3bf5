"""Uploaded audio is read by its bytes, decoded with PyAV, and refused clearly when unusable."""

from __future__ import annotations

import pytest

from powerstrip.errors import AudioError, AudioTooLargeError
from powerstrip.speech import AUDIO_KINDS, SAMPLE_RATE, check_size, decode_audio, sniff_kind
from tests.speech_clips import Clips


@pytest.mark.parametrize("kind", AUDIO_KINDS)
def test_every_kind_browsers_record_is_recognised_and_decoded(
    speech_clips: Clips, kind: str
) -> None:
    data = speech_clips.of(kind)
    assert sniff_kind(data) == kind
    audio = decode_audio(data, max_seconds=60)
    assert audio.kind == kind
    # The same sentence, whatever the container: within a codec frame or two of the WAV's length.
    assert audio.duration == pytest.approx(len(speech_clips.wav[44:]) / 2 / 22_050, abs=0.1)
    assert audio.samples.dtype.name == "float32"
    assert len(audio.samples) == pytest.approx(audio.duration * SAMPLE_RATE)
    assert 0.05 < float(abs(audio.samples).max()) <= 1.0  # speech, not silence


def test_the_kind_comes_from_the_bytes_not_the_name() -> None:
    with pytest.raises(AudioError, match="not audio of a kind") as caught:
        sniff_kind(b"<html><body>not a recording</body></html>")
    assert "wav, mp3, m4a/mp4, webm, ogg, flac" in (caught.value.fix or "")
    assert sniff_kind(b"\xff\xfb\x90\x00" + bytes(12)) == "mp3"  # a bare MPEG layer III frame
    with pytest.raises(AudioError):
        sniff_kind(b"\xff\xf1\x50\x80" + bytes(12))  # ADTS AAC is not taken for MP3


def test_an_empty_file_is_refused_before_anything_else() -> None:
    with pytest.raises(AudioError, match="empty"):
        check_size(0, 1000)


def test_a_file_past_the_size_cap_is_refused_with_the_setting_to_raise() -> None:
    with pytest.raises(AudioTooLargeError, match="1001 bytes") as caught:
        check_size(1001, 1000)
    assert "POWERSTRIP_TRANSCRIPTION_MAX_BYTES" in (caught.value.fix or "")
    check_size(1000, 1000)


def test_a_recording_past_the_duration_cap_is_refused(speech_clips: Clips) -> None:
    with pytest.raises(AudioError, match="longer than the 1 seconds") as caught:
        decode_audio(speech_clips.wav, max_seconds=1)
    assert "POWERSTRIP_TRANSCRIPTION_MAX_SECONDS" in (caught.value.fix or "")


def test_a_wav_header_without_samples_holds_no_sound(speech_clips: Clips) -> None:
    with pytest.raises(AudioError, match=r"no sound|cannot be decoded"):
        decode_audio(speech_clips.wav[:44], max_seconds=60)


@pytest.mark.parametrize("kind", ["wav", "webm", "ogg", "m4a/mp4", "flac", "mp3"])
def test_a_corrupt_file_is_refused_as_such(speech_clips: Clips, kind: str) -> None:
    data = speech_clips.of(kind)
    # The signature survives; everything after it is noise.
    corrupt = data[:12] + bytes((i * 37 + 11) % 256 for i in range(4000))
    with pytest.raises(AudioError, match=r"cannot be decoded|no sound|no audio track") as caught:
        decode_audio(corrupt, max_seconds=60)
    assert caught.value.where == "audio file"


def test_a_recording_cut_off_midway_still_decodes_what_arrived(speech_clips: Clips) -> None:
    data = speech_clips.of("webm")
    audio = decode_audio(data[: len(data) // 2], max_seconds=60)
    assert 0.5 < audio.duration < 2.5
