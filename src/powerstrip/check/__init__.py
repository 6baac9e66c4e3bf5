"""`powerstrip check`: every rule a plugin breaks, with where and how to fix it."""

from powerstrip.check.directory import (
    DirectorySummary,
    check_directory,
    find_manifests,
    plugin_manifest_in,
)
from powerstrip.check.mcp_server import (
    check_listed,
    check_mcp_server,
    mcp_findings,
    mcp_namespace,
)
from powerstrip.check.render import render_report, render_summary, report_json, summary_json
from powerstrip.check.report import CheckReport, ToolSummary
from powerstrip.check.runner import SpecSource, check_manifest_file, check_url, evaluate

__all__ = [
    "CheckReport",
    "DirectorySummary",
    "SpecSource",
    "ToolSummary",
    "check_directory",
    "check_listed",
    "check_manifest_file",
    "check_mcp_server",
    "check_url",
    "evaluate",
    "find_manifests",
    "mcp_findings",
    "mcp_namespace",
    "plugin_manifest_in",
    "render_report",
    "render_summary",
    "report_json",
    "summary_json",
]
