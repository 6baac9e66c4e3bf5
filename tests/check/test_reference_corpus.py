"""Over the real corpus: `check` flags every spec the OpenAPI reference validator rejects.

Figures for notes: `.venv/bin/python bench/reference_corpus.py`.
"""

from __future__ import annotations

from pathlib import Path

from jsonschema_path.handlers.file import FileHandler
from openapi_spec_validator import validate

from powerstrip.check.directory import find_manifests
from powerstrip.check.reference import REFERENCE_CODES
from powerstrip.check.runner import check_local, find_local_spec, read_local_plugin
from powerstrip.findings import Severity

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "plugins"


def _reference_rejects(spec: Path) -> bool:
    try:
        with spec.open(encoding="utf-8") as stream:
            validate(FileHandler()(stream))
    # Whatever the reference raises means its command line would refuse the file.
    except Exception:
        return True
    return False


def test_every_rejected_spec_has_a_spec_finding_and_accepted_ones_none_of_ours() -> None:
    manifests = find_manifests(CORPUS)
    assert manifests, f"corpus missing at {CORPUS}"
    rejected = silent = noisy = 0
    for path in manifests:
        local = read_local_plugin(path)
        if local.spec is None or local.parsed.manifest is None:
            continue
        spec = find_local_spec(path, local.parsed.manifest.api.url)
        assert spec is not None
        report = check_local(local, dev_mode=False)
        if _reference_rejects(spec):
            rejected += 1
            flagged = any(
                f.code.startswith("PS3") and f.severity is not Severity.INFO
                for f in report.findings
            )
            silent += not flagged
        else:
            noisy += any(f.code in REFERENCE_CODES for f in report.findings)
    assert rejected > 100, "the corpus holds well over a hundred rejected specs"
    assert silent == 0
    assert noisy == 0
