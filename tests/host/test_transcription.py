"""`host.transcriber`: the settings choose the engine, every recording is checked the same way,
and the answers take OpenAI's shapes. The backend is a real OpenAI-compatible server on loopback
(the scripted model's `/v1/audio/transcriptions`), called through the official client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from openai.types.audio import Transcription, TranscriptionVerbose

from powerstrip.errors import (
    AudioError,
    AudioTooLargeError,
    InvalidInputError,
    ModelError,
    TranscriptionUnavailableError,
)
from powerstrip.host import Transcriber, UserInfo
from powerstrip.host.transcription_formats import render
from powerstrip.settings import Settings
from powerstrip.speech import LocalWhisper, Segment, Transcript
from powerstrip.testing import Fail, ScriptedModelServer
from tests import secret_watch
from tests.speech_clips import Clips, hears_the_sentence

pytestmark = pytest.mark.anyio

ADA = UserInfo(id=1, username="ada", is_admin=False, subdivision=None)
MODEL_KEY = "sk-transcription-key-never-shown"
secret_watch.watch(MODEL_KEY)


def settings(tmp_path: Path, **changes: Any) -> Settings:
    return Settings(data_dir=tmp_path, **changes)


@pytest.fixture(scope="module")
def backend() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer(expected_api_key=MODEL_KEY) as server:
        yield server


def backend_settings(tmp_path: Path, server: ScriptedModelServer, **changes: Any) -> Settings:
    return settings(tmp_path, model_base_url=server.base_url, model_api_key=MODEL_KEY, **changes)


# -- which engine ------------------------------------------------------------------------------


def test_without_a_backend_the_local_model_is_chosen(tmp_path: Path) -> None:
    transcriber = Transcriber(settings(tmp_path))
    assert transcriber.available
    assert transcriber.backend == "local"
    assert transcriber.info.engine == "local:whisper-tiny.en"


def test_with_a_backend_auto_chooses_it(tmp_path: Path, backend: ScriptedModelServer) -> None:
    transcriber = Transcriber(backend_settings(tmp_path, backend))
    assert transcriber.backend == "openai"
    assert transcriber.info.engine == "openai:whisper-1"


def test_local_can_be_chosen_beside_a_backend(tmp_path: Path, backend: ScriptedModelServer) -> None:
    assert Transcriber(backend_settings(tmp_path, backend, transcription="local")).backend == (
        "local"
    )


async def test_off_or_a_missing_backend_means_unavailable(
    tmp_path: Path, speech_clips: Clips
) -> None:
    for chosen in (
        Transcriber(settings(tmp_path, transcription="off")),
        Transcriber(settings(tmp_path, transcription="backend")),  # no base URL
    ):
        assert not chosen.available
        assert chosen.backend is None
        assert chosen.info.engine is None
        with pytest.raises(TranscriptionUnavailableError, match="not available"):
            await chosen.transcribe(ADA, speech_clips.wav)


# -- the local engine ---------------------------------------------------------------------------


async def test_the_local_engine_transcribes_real_speech(
    tmp_path: Path, local_whisper: LocalWhisper, speech_clips: Clips
) -> None:
    # As Safari records: MP4 with AAC.
    transcript = await Transcriber(settings(tmp_path)).transcribe(ADA, speech_clips.of("m4a/mp4"))
    assert hears_the_sentence(transcript.text), transcript.text
    assert transcript.language == "en"
    assert 2.0 < transcript.duration < 4.0


async def test_recordings_are_transcribed_off_the_event_loop_one_at_a_time(
    tmp_path: Path, local_whisper: LocalWhisper, speech_clips: Clips
) -> None:
    transcriber = Transcriber(settings(tmp_path))
    seen_busy = 0
    async with anyio.create_task_group() as group:
        results: list[str] = []

        async def one() -> None:
            results.append((await transcriber.transcribe(ADA, speech_clips.wav)).text)

        group.start_soon(one)
        group.start_soon(one)
        # The loop keeps running while the model works: it sees the model busy. Were the model
        # run on the loop's thread, nothing could look while it held its lock.
        while len(results) < 2:
            seen_busy += local_whisper.busy
            await anyio.sleep(0.001)
    assert seen_busy > 0
    assert not local_whisper.busy
    assert len(results) == 2
    assert all(hears_the_sentence(text) for text in results), results


async def test_the_english_model_refuses_another_language(
    tmp_path: Path, local_whisper: LocalWhisper, speech_clips: Clips
) -> None:
    with pytest.raises(InvalidInputError, match="English only") as caught:
        await Transcriber(settings(tmp_path)).transcribe(ADA, speech_clips.wav, language="fr")
    assert caught.value.where == "language"


@pytest.mark.parametrize(
    ("language", "prompt", "where"),
    [("klingon", None, "language"), ("e1", None, "language"), (None, "x" * 1001, "prompt")],
)
async def test_a_bad_language_or_prompt_is_refused(
    tmp_path: Path, speech_clips: Clips, language: str | None, prompt: str | None, where: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        await Transcriber(settings(tmp_path)).transcribe(
            ADA, speech_clips.wav, language=language, prompt=prompt
        )
    assert caught.value.where == where


async def test_the_caps_come_from_the_settings(tmp_path: Path, speech_clips: Clips) -> None:
    small = Transcriber(settings(tmp_path, transcription_max_bytes=1000))
    with pytest.raises(AudioTooLargeError):
        await small.transcribe(ADA, speech_clips.wav)
    short = Transcriber(settings(tmp_path, transcription_max_seconds=1.5))
    with pytest.raises(AudioError, match=r"longer than the 1\.5 seconds"):
        await short.transcribe(ADA, speech_clips.wav)


# -- the backend engine -------------------------------------------------------------------------


async def test_the_backend_gets_the_recording_and_its_answer_comes_back(
    tmp_path: Path, backend: ScriptedModelServer, speech_clips: Clips
) -> None:
    backend.push_transcript("Add milk to my shopping list.")
    transcriber = Transcriber(backend_settings(tmp_path, backend))
    before = len(backend.audio_requests)
    try:
        transcript = await transcriber.transcribe(
            ADA, speech_clips.of("ogg"), language="english", prompt="Shopping."
        )
    finally:
        await transcriber.aclose()
    assert transcript.text == "Add milk to my shopping list."
    assert transcript.engine == "openai:whisper-1"
    assert transcript.language == "en"
    assert 2.0 < transcript.duration < 4.0  # from our own decoding
    sent = backend.audio_requests[before]
    assert sent.file == speech_clips.of("ogg")  # the recording as it was uploaded
    assert (sent.filename, sent.content_type) == ("audio.ogg", "audio/ogg")
    assert (sent.model, sent.language, sent.prompt) == ("whisper-1", "en", "Shopping.")
    assert sent.response_format == "json"


async def test_an_unusable_recording_never_reaches_the_backend(
    tmp_path: Path, backend: ScriptedModelServer, speech_clips: Clips
) -> None:
    transcriber = Transcriber(backend_settings(tmp_path, backend))
    before = len(backend.audio_requests)
    for data in (b"", b"not audio at all", speech_clips.wav[:12] + bytes(3000)):
        with pytest.raises(AudioError):
            await transcriber.transcribe(ADA, data)
    await transcriber.aclose()
    assert len(backend.audio_requests) == before


@pytest.mark.parametrize(
    ("status", "fix_word"), [(401, "POWERSTRIP_MODEL_API_KEY"), (404, "TRANSCRIPTION=local")]
)
async def test_a_backend_failure_is_a_model_error_without_the_key(
    tmp_path: Path, backend: ScriptedModelServer, speech_clips: Clips, status: int, fix_word: str
) -> None:
    backend.push_transcript(Fail(status, {"error": {"message": f"echo {MODEL_KEY}"}}))
    transcriber = Transcriber(backend_settings(tmp_path, backend))
    with pytest.raises(ModelError, match=f"HTTP {status}") as caught:
        await transcriber.transcribe(ADA, speech_clips.wav)
    await transcriber.aclose()
    assert MODEL_KEY not in str(caught.value)
    assert fix_word in (caught.value.fix or "")


async def test_an_unreachable_backend_is_a_model_error(tmp_path: Path, speech_clips: Clips) -> None:
    with ScriptedModelServer() as gone:
        url = gone.base_url
    transcriber = Transcriber(settings(tmp_path, model_base_url=url))
    with pytest.raises(ModelError, match="could not reach"):
        await transcriber.transcribe(ADA, speech_clips.wav)
    await transcriber.aclose()


# -- OpenAI's shapes ----------------------------------------------------------------------------


async def test_the_local_answer_takes_openais_verbose_shape(
    tmp_path: Path, local_whisper: LocalWhisper, speech_clips: Clips
) -> None:
    transcriber = Transcriber(settings(tmp_path))
    verbose = await transcriber.transcribe_openai(
        ADA, speech_clips.wav, response_format="verbose_json"
    )
    assert verbose.media_type == "application/json"
    body = TranscriptionVerbose.model_validate_json(verbose.content)
    assert hears_the_sentence(body.text), body.text
    assert body.language == "english"
    assert body.duration == pytest.approx(2.78, abs=0.1)
    assert body.segments
    assert body.segments[0].tokens
    assert body.segments[0].end <= body.duration + 0.5
    assert json.loads(verbose.content)["usage"] == {"type": "duration", "seconds": 3}


TRANSCRIPT = Transcript(
    text="Add milk. Then eggs.",
    language="en",
    duration=62.5,
    engine="local:test",
    segments=(
        Segment(id=0, start=0.0, end=1.5, text=" Add milk."),
        Segment(id=1, start=59.25, end=62.5, text=" Then eggs."),
    ),
)


def test_the_other_shapes_are_openais() -> None:
    plain = render(TRANSCRIPT, "json")
    assert Transcription.model_validate_json(plain.content).text == "Add milk. Then eggs."
    assert json.loads(plain.content)["usage"] == {"type": "duration", "seconds": 63}
    text = render(TRANSCRIPT, "text")
    assert (text.content, text.media_type) == (
        "Add milk. Then eggs.\n",
        "text/plain; charset=utf-8",
    )
    assert render(TRANSCRIPT, "srt").content == (
        "1\n00:00:00,000 --> 00:00:01,500\nAdd milk.\n\n"
        "2\n00:00:59,250 --> 00:01:02,500\nThen eggs.\n"
    )
    assert render(TRANSCRIPT, "vtt").content == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nAdd milk.\n\n"
        "00:00:59.250 --> 00:01:02.500\nThen eggs.\n"
    )


async def test_verbose_answers_ask_the_backend_for_segments(
    tmp_path: Path, backend: ScriptedModelServer, speech_clips: Clips
) -> None:
    backend.push_transcript("Hello there.")
    transcriber = Transcriber(backend_settings(tmp_path, backend))
    answer = await transcriber.transcribe_openai(ADA, speech_clips.wav, response_format="srt")
    await transcriber.aclose()
    assert backend.audio_requests[-1].response_format == "verbose_json"
    assert answer.content == "1\n00:00:00,000 --> 00:00:01,000\nHello there.\n"


async def test_an_unknown_response_format_is_refused(tmp_path: Path, speech_clips: Clips) -> None:
    with pytest.raises(InvalidInputError, match="response_format"):
        await Transcriber(settings(tmp_path)).transcribe_openai(
            ADA, speech_clips.wav, response_format="xml"
        )
