"""Random and mutated manifests never make the reader raise: they only produce findings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from powerstrip.findings import RULES
from powerstrip.plugin import parse_manifest

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "plugins"
SAMPLES = [
    json.loads(p.read_text(encoding="utf-8"))
    for p in sorted((CORPUS / "manifests_raw").glob("*.json"))[:8]
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = [
    "schema_version",
    "name_for_human",
    "name_for_model",
    "description_for_human",
    "description_for_model",
    "auth",
    "api",
    "logo_url",
    "contact_email",
    "legal_info_url",
    "type",
    "url",
    "authorization_type",
    "client_url",
    "authorization_url",
    "scope",
    "authorization_content_type",
    "verification_tokens",
]


def _assert_well_formed(data: object) -> None:
    report = parse_manifest(data)
    for finding in report.findings:
        assert finding.rule is RULES[finding.code]
        assert finding.location
        assert finding.message
        assert finding.fix
    if report.manifest is not None:
        assert report.manifest.name_for_model


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_random_bytes_only_produce_findings(body: bytes) -> None:
    _assert_well_formed(body)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_random_json_only_produces_findings(value: Any) -> None:
    _assert_well_formed(value)
    _assert_well_formed(json.dumps(value))


def _mutate(data: Any, path: list[str], replacement: Any, delete: bool) -> Any:
    if not path or not isinstance(data, dict):
        return data
    head, *rest = path
    copy = dict(data)
    if not rest:
        if delete:
            copy.pop(head, None)
        else:
            copy[head] = replacement
    elif head in copy:
        copy[head] = _mutate(copy[head], rest, replacement, delete)
    return copy


@settings(max_examples=400, deadline=None)
@given(
    sample=st.sampled_from(SAMPLES),
    path=st.lists(st.sampled_from(FIELDS), min_size=1, max_size=2),
    replacement=json_values,
    delete=st.booleans(),
)
def test_mutated_real_manifests_only_produce_findings(
    sample: dict[str, Any], path: list[str], replacement: Any, delete: bool
) -> None:
    _assert_well_formed(_mutate(sample, path, replacement, delete))
