"""What voice input costs on this machine: loading the local model, decoding each kind of
recording, and transcribing it, in wall time and CPU time, with the real-time factor.

Speech comes from Debian's espeak-ng (`bash .ci/apt-packages.sh` installs it), re-encoded into
every kind browsers record. Run: `.venv/bin/python bench/transcription.py [ROUNDS]`. CPU time
is the process's own, so a busy machine shows in the wall time but not in it.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from powerstrip.host import Transcriber, UserInfo
from powerstrip.settings import Settings
from powerstrip.speech import AUDIO_KINDS, decode_audio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.speech_clips import encode, speak  # noqa: E402  (the tests' own speech maker)

SPEECH = (
    "please add milk, eggs and bread to my shopping list, and remind me to call the "
    "plumber tomorrow morning at nine"
)
USER = UserInfo(id=1, username="bench", is_admin=False, subdivision=None)


def timed(work: Callable[[], object]) -> float:
    """Wall seconds of `work()`."""
    wall = time.perf_counter()
    work()
    return time.perf_counter() - wall


async def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        wav = speak(SPEECH, Path(folder) / "speech.wav")
        clips = {kind: wav if kind == "wav" else encode(wav, kind) for kind in AUDIO_KINDS}
        transcriber = Transcriber(Settings(data_dir=Path(folder), transcription="local"))
        wall, cpu = time.perf_counter(), time.process_time()
        await transcriber.warm()
        print(
            f"model load (sha256 check included): {time.perf_counter() - wall:.2f} s wall, "
            f"{time.process_time() - cpu:.2f} s CPU"
        )
        duration = decode_audio(wav, max_seconds=600).duration
        print(f"speech: {duration:.2f} s of espeak-ng, {rounds} round(s) a kind\n")
        print(
            f"{'kind':8} {'bytes':>7} {'decode ms':>9} {'wall s':>7} {'cpu s':>6} "
            f"{'RTF cpu':>7}  text"
        )
        for kind, data in clips.items():
            decodes = [
                timed(lambda d=data: decode_audio(d, max_seconds=600)) for _ in range(rounds)
            ]
            walls, cpus, text = [], [], ""
            for _ in range(rounds):
                wall, cpu = time.perf_counter(), time.process_time()
                transcript = await transcriber.transcribe(USER, data)
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
                text = transcript.text
            cpu_median = statistics.median(cpus)
            print(
                f"{kind:8} {len(data):7d} {statistics.median(decodes) * 1000:9.1f} "
                f"{statistics.median(walls):7.2f} {cpu_median:6.2f} "
                f"{cpu_median / duration:7.3f}  {text[:60]}"
            )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1))
