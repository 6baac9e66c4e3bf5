"""`check` says what the OpenAPI reference validator refuses: where, in plain words, how to fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from powerstrip.check import CheckReport
from powerstrip.check.reference import REFERENCE_CODES
from powerstrip.check.runner import check_local, read_local_plugin
from powerstrip.findings import Finding, Severity
from tests.check.plugin_site import manifest

VALID = """
openapi: 3.0.3
info: {title: TODO, version: v1}
paths:
  /todos:
    get:
      operationId: listTodos
      summary: List the TODOs
      parameters:
        - {name: q, in: query, schema: {type: string}}
      responses:
        "200":
          description: OK
          content:
            application/json:
              schema: {$ref: "#/components/schemas/TodoList"}
components:
  schemas:
    TodoList: {type: array, items: {type: string}}
"""


def _check(tmp_path: Path, spec: str | dict[str, Any]) -> CheckReport:
    text = spec if isinstance(spec, str) else json.dumps(spec)
    (tmp_path / "openapi.yaml").write_text(text, encoding="utf-8")
    path = tmp_path / "ai-plugin.json"
    path.write_text(json.dumps(manifest("https://example.com")), encoding="utf-8")
    return check_local(read_local_plugin(path), dev_mode=False)


def _spec(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(VALID)
    document.update(changes)
    return document


def _ours(report: CheckReport) -> list[Finding]:
    return [f for f in report.findings if f.code in REFERENCE_CODES]


def _at(report: CheckReport, code: str) -> Finding:
    found = [f for f in report.findings if f.code == code]
    assert found, f"no {code} in {[str(f) for f in report.findings]}"
    return found[0]


def test_a_spec_the_reference_validator_accepts_gets_no_reference_finding(tmp_path: Path) -> None:
    assert _ours(_check(tmp_path, VALID)) == []


def test_a_dangling_response_ref_is_a_warning_naming_the_missing_target(tmp_path: Path) -> None:
    spec = VALID.replace("#/components/schemas/TodoList", "#/components/schemas/Todo")
    finding = _at(_check(tmp_path, spec), "PS337")
    assert finding.severity is Severity.WARNING
    where = "spec.paths['/todos'].get.responses['200'].content['application/json'].schema['$ref']"
    assert finding.location == where
    assert "spec.components.schemas.Todo" in finding.message
    assert "does not exist" in finding.message
    assert finding.fix.startswith("define spec.components.schemas.Todo")


def test_a_dangling_ref_in_a_request_body_is_an_error(tmp_path: Path) -> None:
    spec = _spec()
    spec["paths"]["/todos"]["post"] = {
        "operationId": "addTodo",
        "summary": "Add one",
        "requestBody": {
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Nope"}}}
        },
        "responses": {"200": {"description": "OK"}},
    }
    report = _check(tmp_path, spec)
    errors = [f for f in report.findings if f.severity is Severity.ERROR]
    assert any("Nope" in f.message for f in errors), [str(f) for f in report.findings]


def test_a_wrong_type_name_in_a_parameter_is_an_error_saying_how_the_host_reads_it(
    tmp_path: Path,
) -> None:
    spec = VALID.replace("schema: {type: string}}", "schema: {type: String}}")
    finding = _at(_check(tmp_path, spec), "PS336")
    assert finding.severity is Severity.ERROR
    assert finding.location == "spec.paths['/todos'].get.parameters[0].schema.type"
    assert "'String'" in finding.message
    assert "reads it as 'string'" in finding.message
    assert finding.fix == "write `type: string`"


def test_a_wrong_type_name_in_a_response_is_a_warning(tmp_path: Path) -> None:
    spec = VALID.replace("items: {type: string}", "items: {type: str}")
    finding = _at(_check(tmp_path, spec), "PS335")
    assert finding.severity is Severity.WARNING
    assert finding.location == "spec.components.schemas.TodoList.items.type"


def test_required_false_in_a_parameter_schema_is_reported(tmp_path: Path) -> None:
    spec = VALID.replace("schema: {type: string}}", "schema: {type: string, required: false}}")
    finding = _at(_check(tmp_path, spec), "PS333")
    assert finding.location == "spec.paths['/todos'].get.parameters[0].schema.required"
    assert "list of property names" in finding.message
    assert "required: [" in finding.fix


def test_a_response_without_description_is_reported_at_the_response(tmp_path: Path) -> None:
    spec = _spec()
    del spec["paths"]["/todos"]["get"]["responses"]["200"]["description"]
    finding = _at(_check(tmp_path, spec), "PS331")
    assert finding.location == "spec.paths['/todos'].get.responses['200']"
    assert "response object has no `description`" in finding.message


def test_a_content_entry_that_is_not_a_media_type_object_is_reported(tmp_path: Path) -> None:
    spec = _spec()
    spec["paths"]["/todos"]["get"]["responses"]["200"]["content"] = {
        "application/json": {"type": "array", "items": {"type": "string"}}
    }
    finding = _at(_check(tmp_path, spec), "PS332")
    assert (
        finding.location == "spec.paths['/todos'].get.responses['200'].content['application/json']"
    )
    assert "`type`" in finding.message
    assert "media type object" in finding.message
    assert "x-type" in finding.fix


def test_repeats_of_one_kind_become_one_finding_that_counts_them(tmp_path: Path) -> None:
    spec = _spec()
    spec["paths"] = {
        f"/item{i}": {"get": {"operationId": f"get{i}", "summary": "Get", "responses": {"200": {}}}}
        for i in range(40)
    }
    found = [f for f in _check(tmp_path, spec).findings if f.code == "PS331"]
    assert len(found) == 1
    assert found[0].location == "spec.paths['/item0'].get.responses['200']"
    assert "in 40 places" in found[0].message
    assert "and 37 more" in found[0].message


def test_two_of_a_kind_stay_two_findings(tmp_path: Path) -> None:
    spec = _spec()
    spec["paths"] = {
        f"/item{i}": {"get": {"operationId": f"get{i}", "summary": "Get", "responses": {"200": {}}}}
        for i in range(2)
    }
    found = [f for f in _check(tmp_path, spec).findings if f.code == "PS331"]
    assert [f.location for f in found] == [
        "spec.paths['/item0'].get.responses['200']",
        "spec.paths['/item1'].get.responses['200']",
    ]


def test_an_external_ref_is_never_fetched(tmp_path: Path) -> None:
    # A relative file beside the spec would be read if the validator resolved it: it must not.
    (tmp_path / "other.yaml").write_text("Todo: {type: string}\n", encoding="utf-8")
    spec = VALID.replace("#/components/schemas/TodoList", "other.yaml#/Todo")
    report = _check(tmp_path, spec)
    stopped = _at(report, "PS339")
    assert "other.yaml" in stopped.message
    assert "not listed" in stopped.message
    assert report.tools, "the spec still converts"


def test_conversion_is_unchanged_by_the_reference_findings(tmp_path: Path) -> None:
    clean = _check(tmp_path, VALID)
    spec = _spec()
    del spec["paths"]["/todos"]["get"]["responses"]["200"]["description"]
    broken = _check(tmp_path, spec)
    assert "PS331" in broken.codes()
    assert [t.parameters for t in broken.tools] == [t.parameters for t in clean.tools]


def test_a_31_schema_problem_is_placed_where_it_is_written(tmp_path: Path) -> None:
    spec = VALID.replace("openapi: 3.0.3", "openapi: 3.1.0").replace(
        "TodoList: {type: array, items: {type: string}}",
        "TodoList: {type: object, properties: {n: {type: int}}}",
    )
    finding = _at(_check(tmp_path, spec), "PS335")
    assert finding.location == "spec.components.schemas.TodoList.properties.n.type"
    assert "`type: 'int'`" in finding.message
    assert "reads it as 'integer'" in finding.message


def test_a_default_that_breaks_its_schema_is_named_by_its_field(tmp_path: Path) -> None:
    spec = VALID.replace(
        "TodoList: {type: array, items: {type: string}}",
        "TodoList: {type: object, properties: {due: {type: string, format: date-time, "
        "default: tomorrow}}}",
    )
    finding = _at(_check(tmp_path, spec), "PS334")
    assert finding.location == "spec.components.schemas.TodoList.properties.due.default"
    assert finding.message.startswith("`default`: 'tomorrow' is not a 'date-time'")


def test_a_parameter_location_that_does_not_exist_lists_every_location(tmp_path: Path) -> None:
    spec = VALID.replace("{name: q, in: query,", "{name: q, in: body,")
    finding = _at(_check(tmp_path, spec), "PS334")
    assert finding.location == "spec.paths['/todos'].get.parameters[0].in"
    assert finding.message == "`in` is 'body'; OpenAPI allows 'path', 'query', 'header', 'cookie'"


def test_example_and_examples_together_are_named_at_the_media_type(tmp_path: Path) -> None:
    spec = _spec()
    media = spec["paths"]["/todos"]["get"]["responses"]["200"]["content"]["application/json"]
    media.update(example=["a"], examples={"one": {"value": ["a"]}})
    finding = _at(_check(tmp_path, spec), "PS330")
    assert (
        finding.location == "spec.paths['/todos'].get.responses['200'].content['application/json']"
    )
    assert finding.message == (
        "this media type object has both `example` and `examples`; OpenAPI allows only one of them"
    )


def test_an_unknown_key_names_its_object_in_plain_words(tmp_path: Path) -> None:
    spec = _spec(info={"title": "TODO", "version": "v1", "servers": []})
    finding = _at(_check(tmp_path, spec), "PS332")
    assert finding.location == "spec.info"
    assert finding.message == (
        "`servers` is not defined for an info object; the reference validator refuses it"
    )
    assert finding.fix.endswith("or rename it `x-servers` to keep it as an extension")


def test_only_the_default_that_breaks_its_schema_is_reported(tmp_path: Path) -> None:
    spec = VALID.replace(
        "TodoList: {type: array, items: {type: string}}",
        "TodoList: {type: object, properties: {a: {type: string, default: 0}, "
        "b: {type: integer, default: 0}}}",
    )
    found = [f for f in _check(tmp_path, spec).findings if f.code == "PS333"]
    assert [f.location for f in found] == ["spec.components.schemas.TodoList.properties.a.default"]
