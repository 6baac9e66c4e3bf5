"""Show check results to a person (Rich) or a program (JSON)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from powerstrip.check.directory import DirectorySummary
from powerstrip.check.report import CheckReport
from powerstrip.findings import RULES, Severity

__all__ = ["render_report", "render_summary", "report_json", "summary_json"]

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def _totals(errors: int, warnings: int, info: int) -> str:
    mark = "[bold red]✗[/]" if errors else "[bold green]✓[/]"
    return f"{mark} {errors} error(s), {warnings} warning(s), {info} info"


def render_report(report: CheckReport, console: Console, *, show_prompt: bool = False) -> None:
    """The whole report of one plugin: header, findings, operations, summary."""
    console.print(f"[bold]Checking[/] {escape(report.manifest_url or report.target)}")
    manifest = report.manifest
    if manifest is not None:
        console.print(
            f"  plugin [bold]{escape(manifest.name_for_human)}[/] "
            f"({escape(manifest.name_for_model)}) · auth {manifest.auth.type}"
            + (f" · root domain {escape(report.root_domain)}" if report.root_domain else "")
        )
    if report.spec_url:
        console.print(f"  spec {escape(report.spec_url)}")
    findings = report.sorted_findings()
    if findings:
        table = Table(title="Findings", show_lines=False, expand=True)
        table.add_column("code", no_wrap=True)
        table.add_column("severity", no_wrap=True)
        # Every wrapping column here and in the operations table shares the width by ratio: one
        # without a ratio takes its content's width, and a long location or function name left
        # the last column one letter a line on an 80-column pipe.
        table.add_column("location", overflow="fold", ratio=2, min_width=12)
        table.add_column("what and how to fix", overflow="fold", ratio=3, min_width=24)
        for f in findings:
            table.add_row(
                f.code,
                f"[{_STYLE[f.severity]}]{f.severity}[/]",
                escape(f.location),
                f"{escape(f.message)}\n[dim]fix: {escape(f.fix)}[/]",
            )
        console.print(table)
    if report.tools:
        ops = Table(title="Operations as the model sees them", expand=True)
        ops.add_column("function", overflow="fold", ratio=2, min_width=12)
        ops.add_column("call", overflow="fold", ratio=2, min_width=10)
        ops.add_column("consequential", no_wrap=True)
        ops.add_column("description", overflow="fold", ratio=3, min_width=20)
        for tool in report.tools:
            flag = "yes" if tool.consequential else "no"
            if tool.consequential_declared is None:
                flag += " (default)"
            ops.add_row(
                escape(tool.function_name),
                escape(f"{tool.method} {tool.path}"),
                flag,
                escape(tool.description),
            )
        console.print(ops)
    if show_prompt and report.prompt:
        console.print("[bold]Prompt text for models without function calling[/]")
        console.print(escape(report.prompt), soft_wrap=True)
    if report.api_base_url:
        console.print(f"  API base URL: {escape(report.api_base_url)}")
    console.print(
        _totals(report.errors, report.warnings, report.count(Severity.INFO))
        + f" · {len(report.tools)} operation(s)"
    )


def render_summary(summary: DirectorySummary, console: Console) -> None:
    """One table of counts per finding code over many plugins, then the totals."""
    table = Table(title=f"Findings over {summary.plugins} plugin(s) in {escape(summary.root)}")
    table.add_column("code", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("rule", overflow="fold")
    table.add_column("findings", justify="right")
    table.add_column("plugins", justify="right")
    by_plugin = summary.plugins_by_code()
    for code, count in sorted(summary.findings_by_code().items()):
        rule = RULES[code]
        table.add_row(
            code,
            f"[{_STYLE[rule.severity]}]{rule.severity}[/]",
            escape(rule.title),
            str(count),
            str(by_plugin[code]),
        )
    console.print(table)
    errors = sum(r.errors for r in summary.reports)
    warnings = sum(r.warnings for r in summary.reports)
    info = sum(r.count(Severity.INFO) for r in summary.reports)
    console.print(
        f"{summary.plugins} plugin(s): {summary.passing} without errors, {summary.clean} clean, "
        f"{summary.converted} spec(s) converted into {summary.operations} operation(s)"
    )
    console.print(_totals(errors, warnings, info))


def report_json(report: CheckReport) -> str:
    """The report as indented JSON, the shape `powerstrip check --json` prints."""
    return json.dumps(report.as_dict(), indent=2, ensure_ascii=False)


def summary_json(summary: DirectorySummary) -> str:
    """A folder's summary as indented JSON, the shape `check --json FOLDER` prints."""
    data: dict[str, Any] = {
        "root": summary.root,
        "plugins": summary.plugins,
        "without_errors": summary.passing,
        "clean": summary.clean,
        "converted": summary.converted,
        "operations": summary.operations,
        "findings_by_code": dict(sorted(summary.findings_by_code().items())),
        "plugins_by_code": dict(sorted(summary.plugins_by_code().items())),
        "reports": [r.as_dict() for r in summary.reports],
    }
    return json.dumps(data, indent=2, ensure_ascii=False)
