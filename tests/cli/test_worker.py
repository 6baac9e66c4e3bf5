"""`powerstrip worker`: a real process that runs the jobs a web-only server queued."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from powerstrip.host import Host
from powerstrip.settings import Settings
from tests.cli.conftest import run_async, vault_entry

ROOT = Path(__file__).resolve().parents[2]


async def _queue_export(settings: Settings) -> str:
    """As a web-only server would: start a background export, and run nothing."""
    host = await Host.start(settings)
    try:
        ada = await host.users.ensure("ada")
        ticket = await host.exports.start(ada, mode="background")
        assert ticket.info.status == "building"
        assert await host.jobs.depth() == 1
        return ticket.info.id
    finally:
        await host.aclose()


async def _export_status(
    settings: Settings, export_id: str, process: subprocess.Popen[str] | None = None
) -> str:
    """The export's status; with `process`, once it is no longer building (or the worker died)."""
    host = await Host.start(settings, migrate=False)
    try:
        ada = await host.users.ensure("ada")
        # Waiting for the worker to take the job; the deadline only ends a hang.
        deadline = time.monotonic() + 60
        while True:
            status = (await host.exports.get(ada, export_id)).status
            if process is None or status != "building" or process.poll() is not None:
                return status
            assert time.monotonic() < deadline, "the worker did not build the export"
            await asyncio.sleep(0.05)
    finally:
        await host.aclose()


def test_a_worker_runs_the_jobs_a_web_only_server_queued(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POWERSTRIP_")}
    env |= {
        "POWERSTRIP_DATA_DIR": str(tmp_path),
        "POWERSTRIP_VAULT_KEYS": vault_entry("k1"),
        "POWERSTRIP_JOBS_POLL_SECONDS": "0.1",
        "POWERSTRIP_JOBS_IN_PROCESS": "false",  # what the servers are told; the worker ignores it
        "COLUMNS": "200",
    }
    settings = Settings(
        data_dir=tmp_path,
        vault_keys=env["POWERSTRIP_VAULT_KEYS"],
        jobs_in_process=False,
    )
    export_id = run_async(_queue_export(settings))
    process = subprocess.Popen(
        [sys.executable, "-m", "powerstrip", "worker"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        built = run_async(_export_status(settings, export_id, process))
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert built == "ready"
    assert "Powerstrip worker" in out
    assert "running jobs from the jobs table" in out
