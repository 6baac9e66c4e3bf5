"""Retake the web app's screenshots in docs/screenshots/ (the ones docs/web.md shows).

    .venv/bin/python scripts/screenshots.py [PYTEST ARGS...]

Runs the browser tests (tests/web/) with `POWERSTRIP_SCREENSHOTS=1`, which makes their
`screenshot()` calls write PNG files; an ordinary test run takes none, so it leaves the tree
clean. Extra arguments go to pytest, e.g. `-k settings` to retake only some.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    env = os.environ | {"POWERSTRIP_SCREENSHOTS": "1", "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}
    command = [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:randomly"]
    command += [str(REPO / "tests" / "web"), *argv]
    return subprocess.run(command, cwd=REPO, env=env, check=False).returncode  # noqa: S603


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
