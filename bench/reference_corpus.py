"""How many corpus specs the OpenAPI reference validator rejects, and how many `check` flags.

Run: `.venv/bin/python bench/reference_corpus.py [CORPUS_DIR]`. For every manifest under the
folder whose spec lies beside it (as `powerstrip check DIR` finds them), the spec file is read as
the reference validator's own command line reads it and judged by `openapi_spec_validator.validate`;
then `check` runs on the plugin. It prints how many specs the reference rejects, on how many of
those `check` reports a spec finding (a PS3xx warning or error), how many accepted specs get a
finding from the reference codes (PS330-PS339; the goal is none), the reference codes' counts,
and the time `check` takes on the whole folder (wall and CPU: the CPU figure is the one to
compare on a busy machine).
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

from jsonschema_path.handlers.file import FileHandler
from openapi_spec_validator import validate

from powerstrip.check import check_directory
from powerstrip.check.directory import find_manifests
from powerstrip.check.reference import REFERENCE_CODES
from powerstrip.check.runner import check_local, find_local_spec, read_local_plugin
from powerstrip.findings import Severity

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "plugins"


def reference_rejects(spec: Path) -> bool:
    """True when openapi-spec-validator refuses the file (it cannot read it, or it is invalid)."""
    try:
        with spec.open(encoding="utf-8") as stream:
            document = FileHandler()(stream)
        validate(document)
    # Anything the reference raises (unreadable YAML, an invalid document, a crash on a dangling
    # $ref) is a refusal: its command line would exit non-zero.
    except Exception:
        return True
    return False


def main(corpus: Path) -> None:
    specs = rejected = flagged = flagged_without_ours = not_specs = accepted_noisy = 0
    codes: Counter[str] = Counter()
    plugins_by_code: Counter[str] = Counter()
    silent: list[str] = []
    for manifest in find_manifests(corpus):
        local = read_local_plugin(manifest)
        if local.spec is None or local.parsed.manifest is None:
            continue
        spec_file = find_local_spec(manifest, local.parsed.manifest.api.url)
        if spec_file is None:
            continue
        specs += 1
        report = check_local(local, dev_mode=False)
        spec_findings = [
            f
            for f in report.findings
            if f.code.startswith("PS3") and f.severity is not Severity.INFO
        ]
        ours = [f for f in report.findings if f.code in REFERENCE_CODES]
        codes.update(f.code for f in ours)
        plugins_by_code.update({f.code for f in ours})
        if reference_rejects(spec_file):
            rejected += 1
            # Refused before conversion (PS300/PS301/PS306): not an OpenAPI 3 document at all.
            not_specs += any(f.code in ("PS300", "PS301", "PS306") for f in spec_findings)
            flagged_without_ours += any(f.code not in REFERENCE_CODES for f in spec_findings)
            if spec_findings:
                flagged += 1
            else:
                silent.append(manifest.stem)
        elif ours:
            accepted_noisy += 1
    start, cpu = time.perf_counter(), time.process_time()
    summary = check_directory(corpus, dev_mode=False)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    print(f"corpus: {corpus}")
    print(f"plugins: {summary.plugins}, specs read beside their manifest: {specs}")
    print(f"rejected by openapi-spec-validator: {rejected} ({not_specs} are not OpenAPI 3 at all)")
    print(f"  of those, flagged by check's other rules alone: {flagged_without_ours}")
    print(
        f"  of those, with a spec finding from check: {flagged} ({flagged / max(rejected, 1):.0%})"
    )
    print(f"  silent: {', '.join(silent) or 'none'}")
    print(f"accepted specs with a PS330-PS339 finding: {accepted_noisy}")
    print("reference findings by code (findings / plugins):")
    for code in sorted(codes):
        print(f"  {code}: {codes[code]} / {plugins_by_code[code]}")
    print(f"check_directory on the whole folder: {seconds:.2f} s wall, {cpu_seconds:.2f} s CPU")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CORPUS)
