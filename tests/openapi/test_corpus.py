"""The real plugin corpus: every spec converts or is refused with an error; junk is refused.

Figures for notes, in one line:
    .venv/bin/python -c "from tests.openapi.test_corpus import corpus_summary as s; print(s())"
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from powerstrip.errors import SpecError
from powerstrip.findings import Severity
from powerstrip.openapi import ToolSet, convert, load_spec
from powerstrip.openapi.budget import fit_schema
from powerstrip.openapi.finding_sink import quote_body

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "plugins"
VALID_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _files(folder: str) -> list[Path]:
    # Missing corpus is a failure, not a skip: CI has it, and a silent skip would hide a regression.
    directory = CORPUS / folder
    if not directory.is_dir():
        return [directory / "MISSING"]
    return sorted(p for p in directory.iterdir() if p.is_file())


def namespace_for(spec: Path) -> str:
    """`name_for_model` of the plugin the spec belongs to, or the file stem."""
    manifest = CORPUS / "manifests" / f"{spec.stem}.json"
    if manifest.is_file():
        name = json.loads(manifest.read_text(encoding="utf-8")).get("name_for_model")
        if isinstance(name, str) and name:
            return name
    return spec.stem


def load_and_convert(spec: Path) -> ToolSet:
    return convert(load_spec(spec.read_bytes(), source=spec.name), namespace=namespace_for(spec))


def _outcome(spec: Path) -> ToolSet | SpecError:
    try:
        return load_and_convert(spec)
    except SpecError as error:
        return error


def corpus_summary() -> dict[str, Any]:
    """Counts over the corpus: converted/rejected specs, rejection codes, top finding codes."""
    converted = rejected = tools = 0
    rejection_codes: Counter[str] = Counter()
    finding_codes: Counter[str] = Counter()
    for spec in _files("specs"):
        try:
            toolset = load_and_convert(spec)
        except SpecError as error:
            rejected += 1
            rejection_codes.update(f.code for f in error.findings)
            continue
        converted += 1
        tools += len(toolset.tools)
        finding_codes.update(f.code for f in toolset.findings)
    junk: Counter[str] = Counter()
    for body in _files("specs_rejected"):
        try:
            load_and_convert(body)
        except SpecError as error:
            junk.update(f.code for f in error.findings)
    return {
        "specs": converted + rejected,
        "converted": converted,
        "tools": tools,
        "rejected": rejected,
        "rejection_codes": dict(rejection_codes.most_common()),
        "not_a_spec_refused_codes": dict(junk.most_common()),
        "finding_codes": dict(finding_codes.most_common()),
    }


@pytest.mark.parametrize("spec", _files("specs"), ids=lambda p: p.name)
def test_spec_converts_or_is_refused_with_an_error(spec: Path) -> None:
    assert spec.is_file(), f"corpus missing at {CORPUS}"
    toolset = _outcome(spec)
    if isinstance(toolset, SpecError):
        assert any(f.severity is Severity.ERROR for f in toolset.findings)
        return
    assert toolset.tools
    names = [t.function_name for t in toolset.tools]
    assert len(set(names)) == len(names)
    for tool in toolset.tools:
        assert VALID_NAME.match(tool.function_name), tool.function_name
        assert toolset.lookup(tool.function_name) is tool
        assert tool.parameters["type"] == "object"
        Draft202012Validator.check_schema(tool.parameters)
        json.dumps(tool.as_openai_tool())
        assert len(tool.description) <= 300
    for finding in toolset.findings:
        assert finding.location.startswith("spec")
        assert finding.message
        assert finding.fix


@pytest.mark.parametrize("body", _files("specs_rejected"), ids=lambda p: p.name)
def test_what_is_not_a_spec_is_refused_quoting_the_body(body: Path) -> None:
    assert body.is_file(), f"corpus missing at {CORPUS}"
    with pytest.raises(SpecError) as caught:
        load_and_convert(body)
    text = body.read_bytes().decode("utf-8-sig", errors="replace")
    start = quote_body(text)[:40]
    assert start in str(caught.value)
    assert any(start in f.message for f in caught.value.findings)
    assert all(f.severity is Severity.ERROR for f in caught.value.findings)


def test_corpus_summary_accounts_for_every_file() -> None:
    summary = corpus_summary()
    assert summary["specs"] == len(_files("specs"))
    assert summary["converted"] + summary["rejected"] == summary["specs"]
    assert summary["tools"] >= summary["converted"]
    # Every body that is not a spec is refused, each with at least one finding.
    assert sum(summary["not_a_spec_refused_codes"].values()) >= len(_files("specs_rejected"))


def test_the_size_limits_leave_the_real_corpus_unchanged() -> None:
    # The limits only change a result when they report; no real spec comes near them.
    for spec in _files("specs"):
        outcome = _outcome(spec)
        findings = outcome.findings
        assert "PS326" not in {f.code for f in findings}, spec.name
        assert not any("alias" in f.message for f in findings), spec.name
        if isinstance(outcome, ToolSet):
            for tool in outcome.tools:
                assert fit_schema(tool.parameters).cut_depth is None, spec.name
