"""`powerstrip serve` as a real subprocess, for tests that signal or kill it.

with ServeProcess(tmp_path, model_url, grace=1) as served:
    served.wait_ready()
    ...
    served.terminate()       # SIGTERM: the graceful way
    served.kill_workers()    # SIGKILL to every worker process (with --workers N)
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests import secret_watch

ROOT = Path(__file__).resolve().parents[2]
# Starting a worker imports the retrieval and speech libraries: on a loaded 2-core machine that
# has taken a minute. This bounds a hang; it measures nothing.
STARTUP_SECONDS = 240


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_vault_keys() -> str:
    key = base64.b64encode(os.urandom(32)).decode()
    secret_watch.watch(key)
    return f"test:{key}"


class ServeProcess:
    """One `powerstrip serve --dev` on 127.0.0.1 with its data in `data_dir`."""

    def __init__(
        self,
        data_dir: Path,
        *,
        model_url: str,
        vault_keys: str,
        workers: int = 1,
        env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("POWERSTRIP_")}
        self.env = clean | {
            "POWERSTRIP_DATA_DIR": str(data_dir),
            "POWERSTRIP_MODEL_BASE_URL": model_url,
            "POWERSTRIP_MODEL_NAME": "scripted-model",
            "POWERSTRIP_VAULT_KEYS": vault_keys,
            "POWERSTRIP_CALL_TIMEOUT": "60",
            "COLUMNS": "200",
        }
        self.env |= env or {}
        command = [sys.executable, "-m", "powerstrip", "serve", "--dev", "--port", str(self.port)]
        self.command = [*command, "--workers", str(workers)]
        self.process: subprocess.Popen[str] | None = None
        self.output = ""

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            self.command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env,
            cwd=ROOT,
            start_new_session=True,  # signals go to it alone, never to pytest
        )

    def wait_ready(self) -> None:
        """Until `/readyz` answers 200 (every worker may not be up yet with several)."""
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        with httpx.Client(base_url=self.base, timeout=5) as client:
            while True:
                try:
                    if client.get("/readyz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if self.process.poll() is not None:
                    raise RuntimeError(f"powerstrip serve exited:\n{self.finish()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"powerstrip serve did not get ready:\n{self.finish()}")
                time.sleep(0.2)

    def client(self, **kwargs: Any) -> httpx.Client:  # Any: httpx.Client's options
        return httpx.Client(base_url=self.base, **({"timeout": 30} | kwargs))

    def terminate(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)

    def worker_pids(self) -> list[int]:
        """The processes the server started (uvicorn's workers), from /proc."""
        assert self.process is not None
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            # Fields after the command's closing parenthesis: state, then the parent's pid.
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            # multiprocessing's resource tracker is a child too, but serves nothing.
            if parent == self.process.pid and b"resource_tracker" not in command:
                found.append(int(entry.name))
        return found

    def finish(self, timeout: float = 60) -> str:
        """Wait for the process to end (killing it past `timeout`); its whole output."""
        assert self.process is not None
        try:
            out, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            out, _ = self.process.communicate()
        self.output += out or ""
        return self.output

    def __enter__(self) -> ServeProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.communicate()


def sse_stream(client: httpx.Client, path: str, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The events of a streamed turn, as they arrive (any transport error propagates)."""
    with client.stream("POST", path, json=body | {"stream": True}) as answer:
        assert answer.status_code == 200, answer.read()
        for line in answer.iter_lines():
            if line.startswith("data: "):
                yield json.loads(line[len("data: ") :])


def add_stall_plugin(client: httpx.Client, url: str) -> str:
    """Register, install and enable the stall plugin in a new conversation; its id."""
    added = client.post("/api/plugins", json={"url": url})
    assert added.status_code == 201, added.text
    plugin_id = added.json()["id"]
    installed = client.post(f"/api/plugins/{plugin_id}/install")
    assert installed.status_code == 200, installed.text
    chat = client.post("/api/conversations", json={"plugin_ids": [plugin_id]})
    assert chat.status_code in (200, 201), chat.text
    return str(chat.json()["id"])
