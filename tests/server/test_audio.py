"""`/api/audio` on a real server: the capability probe, a recording transcribed for a signed-in
user, and every refusal (no token, too big, not audio, voice input off)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from powerstrip.speech import LocalWhisper
from tests.server.local_host import local_host
from tests.speech_clips import Clips, hears_the_sentence

pytestmark = pytest.mark.anyio


def upload(data: bytes, name: str = "note.m4a", kind: str = "audio/mp4") -> dict[str, object]:
    return {"files": {"file": (name, data, kind)}}


async def test_the_probe_says_what_is_offered(tmp_path: Path) -> None:
    async with local_host(tmp_path) as host:
        async with await host.user("ada") as ada:
            answer = await ada.get("/api/audio")
        async with host.client() as stranger:
            refused = await stranger.get("/api/audio")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "available": True,
        "backend": "local",
        "engine": "local:whisper-tiny.en",
        "max_bytes": 25 * 1024 * 1024,
        "max_seconds": 300.0,
        "formats": ["wav", "mp3", "m4a/mp4", "webm", "ogg", "flac"],
    }
    assert refused.status_code == 401


async def test_a_recording_is_transcribed_for_a_signed_in_user(
    tmp_path: Path, local_whisper: LocalWhisper, speech_clips: Clips
) -> None:
    # A JSON cap below the recording's size: audio has its own, larger one.
    assert len(speech_clips.wav) > 64_000
    async with local_host(tmp_path, max_request_bytes=64_000) as host:
        token = await host.token("ada")
        # A transcription takes about a second of both cores, far more on a busy machine.
        async with httpx.AsyncClient(
            base_url=host.server.url, headers={"Authorization": f"Bearer {token}"}, timeout=120
        ) as ada:
            # The file's name and claimed type do not matter: its bytes say it is WAV.
            answer = await ada.post(
                "/api/audio/transcriptions",
                data={"language": "en"},
                **upload(speech_clips.wav, "recording.bin", "application/octet-stream"),
            )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert hears_the_sentence(body["text"]), body
    assert body["language"] == "en"
    assert body["engine"] == "local:whisper-tiny.en"
    assert 2.0 < body["duration"] < 4.0


async def test_without_a_token_the_upload_is_refused_before_it_is_read(
    tmp_path: Path, speech_clips: Clips
) -> None:
    async with local_host(tmp_path) as host, host.client() as stranger:
        answer = await stranger.post("/api/audio/transcriptions", **upload(speech_clips.wav))
        wrong = await stranger.post(
            "/api/audio/transcriptions",
            headers={"Authorization": "Bearer pst_not-a-token"},
            **upload(speech_clips.wav),
        )
    assert answer.status_code == 401
    assert answer.json()["error"]["type"] == "SignInRequiredError"
    assert wrong.status_code == 401


async def test_a_file_past_the_audio_cap_is_refused(tmp_path: Path, speech_clips: Clips) -> None:
    size = len(speech_clips.wav)
    async with (
        local_host(tmp_path, transcription_max_bytes=size - 1) as host,
        await host.user("ada") as ada,
    ):
        # The body fits the route's cap (file cap + form room): the service refuses the file.
        by_service = await ada.post("/api/audio/transcriptions", **upload(speech_clips.wav))
        # A body past the route's cap is refused by the guard, before it is read.
        by_guard = await ada.post(
            "/api/audio/transcriptions", **upload(speech_clips.wav * 2 + bytes(70_000))
        )
    assert by_service.status_code == 413
    assert by_service.json()["error"]["type"] == "AudioTooLargeError"
    assert "POWERSTRIP_TRANSCRIPTION_MAX_BYTES" in by_service.json()["error"]["fix"]
    assert by_guard.status_code == 413
    assert by_guard.json()["error"]["type"] == "RequestTooLarge"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"%PDF-1.7 a document, not a recording", "not audio"),
        (b"RIFF\x10\x00\x00\x00WAVEfmt " + bytes(500), "cannot be decoded|no sound"),
    ],
)
async def test_what_is_not_usable_audio_is_refused_clearly(
    tmp_path: Path, data: bytes, message: str
) -> None:
    async with local_host(tmp_path) as host, await host.user("ada") as ada:
        answer = await ada.post("/api/audio/transcriptions", **upload(data))
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["type"] == "AudioError"
    assert error["where"] == "audio file"
    assert re.search(message, error["message"]), error


async def test_a_missing_file_field_is_refused(tmp_path: Path) -> None:
    async with local_host(tmp_path) as host, await host.user("ada") as ada:
        answer = await ada.post("/api/audio/transcriptions", data={"language": "en"})
    assert answer.status_code == 422
    assert answer.json()["error"]["where"] == "body.file"


async def test_a_token_without_the_chat_scope_is_refused(
    tmp_path: Path, speech_clips: Clips
) -> None:
    async with local_host(tmp_path) as host:
        async with await host.user("ada") as ada:
            made = await ada.post("/api/tokens", json={"name": "files only", "scopes": ["files"]})
            assert made.status_code in (200, 201), made.text
        narrow = host.client({"Authorization": f"Bearer {made.json()['token']}"})
        async with narrow:
            probe = await narrow.get("/api/audio")
            answer = await narrow.post("/api/audio/transcriptions", **upload(speech_clips.wav))
    assert probe.status_code == 403
    assert answer.status_code == 403
    assert "chat" in answer.json()["error"]["message"]


async def test_with_voice_input_off_the_probe_and_the_upload_say_so(
    tmp_path: Path, speech_clips: Clips
) -> None:
    async with local_host(tmp_path, transcription="off") as host, await host.user("ada") as ada:
        probe = await ada.get("/api/audio")
        answer = await ada.post("/api/audio/transcriptions", **upload(speech_clips.wav))
    assert probe.json()["available"] is False
    assert probe.json()["backend"] is None
    assert answer.status_code == 503
    assert answer.json()["error"]["type"] == "TranscriptionUnavailableError"
