"""`/v1/audio/transcriptions` through the official `openai` client, on the model backend's
speech-to-text (the scripted server's) and in OpenAI's answer shapes."""

from __future__ import annotations

import io

import openai
import pytest

from tests.speech_clips import Clips
from tests.v1.conftest import V1


def test_a_recording_is_transcribed_in_openai_s_shapes(v1: V1, speech_clips: Clips) -> None:
    client = v1.client("ada")
    v1.model.push_transcript("the quick brown fox")
    answer = client.audio.transcriptions.create(
        model="whisper-1", file=("clip.wav", io.BytesIO(speech_clips.wav), "audio/wav")
    )
    assert answer.text == "the quick brown fox"
    # The recording reached the backend as it was sent.
    assert v1.model.audio_requests[-1].file == speech_clips.wav
    v1.model.push_transcript("jumps over")
    text = client.audio.transcriptions.create(
        model="whisper-1",
        file=("clip.wav", io.BytesIO(speech_clips.wav), "audio/wav"),
        response_format="text",
    )
    assert str(text).strip() == "jumps over"


def test_what_is_not_audio_is_refused_in_openai_s_error_shape(v1: V1) -> None:
    client = v1.client("ada")
    before = len(v1.model.audio_requests)
    with pytest.raises(openai.BadRequestError) as refused:
        client.audio.transcriptions.create(
            model="whisper-1", file=("notes.wav", io.BytesIO(b"not audio at all"), "audio/wav")
        )
    assert refused.value.status_code == 400
    assert "audio" in str(refused.value.message).lower()
    assert len(v1.model.audio_requests) == before  # nothing was sent on
