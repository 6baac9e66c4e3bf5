"""The check report stays readable in an 80-column pipe, where Rich cannot ask for the width."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from powerstrip.check import check_manifest_file, render_report

pytestmark = pytest.mark.anyio

SPEC = """\
openapi: 3.0.1
info: {title: Flights, version: v1}
servers: [{url: "https://flights.example.com"}]
paths:
  /an/api/with/a/very/long/path/to/search/flights/between/two/cities:
    get:
      operationId: searchFlightsBetweenTwoCitiesOnCertainDates
      summary: Search flights on a flight route for certain dates
      responses: {"200": {description: the flights}}
"""


async def test_long_names_and_paths_leave_the_description_readable(tmp_path: Path) -> None:
    manifest = {
        "schema_version": "v1",
        "name_for_human": "Flights",
        "name_for_model": "a_rather_long_namespace_for_a_flight_plugin",
        "description_for_human": "Search flights.",
        "description_for_model": "Search flights.",
        "auth": {"type": "none"},
        "api": {"type": "openapi", "url": "https://flights.example.com/openapi.yaml"},
        "logo_url": "https://flights.example.com/logo.png",
        "contact_email": "help@example.com",
        "legal_info_url": "https://example.com/legal",
    }
    (tmp_path / "ai-plugin.json").write_text(json.dumps(manifest))
    (tmp_path / "openapi.yaml").write_text(SPEC)
    report = await check_manifest_file(tmp_path / "ai-plugin.json", None, dev_mode=False)
    out = io.StringIO()
    render_report(report, Console(file=out, width=80, color_system=None))
    assert report.tools, out.getvalue()
    text = out.getvalue()
    assert "Search flights on a" in text, text
    assert report.findings, "a long location in the findings table too"
    assert "what and how" in text, text
