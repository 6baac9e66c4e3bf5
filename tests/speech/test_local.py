"""The built-in Whisper model transcribes real speech offline, loads once, and is the model its
hashes say it is."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from powerstrip.errors import ConfigError, TranscriptionUnavailableError
from powerstrip.speech import LocalWhisper, WhisperFiles, decode_audio, packaged_whisper
from tests.speech_clips import Clips, hears_the_sentence

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]


# One clip here, as Chrome and Firefox record: every kind decodes to the same samples
# (test_audio.py), and other tests transcribe M4A (Safari) and WAV end to end. Each
# transcription costs about a second of both cores.
async def test_speech_is_transcribed_offline(
    local_whisper: LocalWhisper, speech_clips: Clips
) -> None:
    audio = decode_audio(speech_clips.of("webm"), max_seconds=60)
    transcript = await local_whisper.transcribe(audio, language=None, prompt=None)
    assert hears_the_sentence(transcript.text), transcript.text
    assert transcript.language == "en"
    assert transcript.engine == "local:whisper-tiny.en"
    assert transcript.duration == pytest.approx(audio.duration, abs=0.01)
    assert transcript.segments
    assert 0 <= transcript.segments[0].start < transcript.segments[-1].end <= audio.duration + 0.5


def test_the_model_loads_once_per_process(local_whisper: LocalWhisper) -> None:
    files = packaged_whisper()
    assert files is not None
    assert LocalWhisper(files).loaded  # a second engine finds the first one's model in memory


def test_the_packaged_files_have_the_hashes_docs_voice_md_publishes() -> None:
    files = packaged_whisper()
    assert files is not None
    docs = (ROOT / "docs" / "voice.md").read_text(encoding="utf-8")
    for name, expected in files.sha256.items():
        assert hashlib.sha256((files.folder / name).read_bytes()).hexdigest() == expected
        rows = [line for line in docs.splitlines() if line.startswith(f"| `{name}` |")]
        assert len(rows) == 1, name
        assert expected in rows[0], name


async def test_a_tampered_model_file_is_refused_before_it_loads(tmp_path: Path) -> None:
    files = packaged_whisper()
    assert files is not None
    folder = tmp_path / "model"
    folder.mkdir()
    for name in files.sha256:
        (folder / name).symlink_to(files.folder / name)
    (folder / "config.json").unlink()
    shutil.copy(files.folder / "config.json", folder / "config.json")
    with (folder / "config.json").open("a") as handle:
        handle.write("\n")
    tampered = WhisperFiles(name="tampered", folder=folder, sha256=files.sha256)
    with pytest.raises(TranscriptionUnavailableError, match="published sha256"):
        await LocalWhisper(tampered).load()


def test_a_folder_without_a_model_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"model\.bin") as caught:
        WhisperFiles.from_dir(tmp_path)
    assert caught.value.where == "POWERSTRIP_TRANSCRIPTION_MODEL_DIR"


async def test_an_operators_model_folder_loads_the_same_way(tmp_path: Path) -> None:
    files = packaged_whisper()
    assert files is not None
    folder = tmp_path / "mine"
    folder.mkdir()
    for name in files.sha256:
        (folder / name).symlink_to(files.folder / name)
    own = LocalWhisper(WhisperFiles.from_dir(folder))
    assert not own.loaded
    assert await own.english_only()  # loaded: it is tiny.en again, under another folder
    assert own.loaded
    assert own.name == "local:whisper:mine"
