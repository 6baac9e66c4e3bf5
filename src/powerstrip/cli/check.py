"""`powerstrip check TARGET`: every rule a plugin breaks, with a fix."""

from __future__ import annotations

import asyncio
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from powerstrip.cli.host import err_console, load_settings
from powerstrip.errors import ConfigError

if TYPE_CHECKING:
    # The checks (and the MCP SDK under them) load when a check runs, not for `--help`.
    from powerstrip.check import CheckReport, DirectorySummary
    from powerstrip.net import NetPolicy

__all__ = ["check"]


def check(
    target: Annotated[
        str,
        typer.Argument(
            help="A plugin URL (https://example.com), a domain (example.com), a manifest URL, "
            "a local ai-plugin.json, or a directory of manifests and specs.",
            show_default=False,
        ),
    ],
    dev: Annotated[
        bool,
        typer.Option(
            "--dev", help="Development mode: also allow http://localhost and http://127.0.0.1."
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON on standard output.")
    ] = False,
    prompt: Annotated[
        bool,
        typer.Option(
            "--prompt",
            help="Also print the namespace prompt text models without function calling see.",
        ),
    ] = False,
    offline: Annotated[
        bool,
        typer.Option("--offline", help="Never fetch: check local files only."),
    ] = False,
    resolve: Annotated[
        list[str] | None,
        typer.Option(
            "--resolve",
            metavar="HOST=ADDR",
            help="Map a host to an address, like curl's --resolve (repeatable).",
        ),
    ] = None,
    ca_bundle: Annotated[
        Path | None,
        typer.Option("--ca-bundle", help="Trust the CA certificates in this PEM file instead."),
    ] = None,
    mcp: Annotated[
        bool,
        typer.Option(
            "--mcp",
            help="The target is an MCP server: its streamable-HTTP URL, or a command that runs "
            "it over stdio (quoted, split like a shell would).",
        ),
    ] = False,
) -> None:
    """Tell a plugin author every rule their plugin breaks.

    Exits 0 when there is no error (warnings allowed), 1 when there is at least one error.
    """
    console = Console(stderr=as_json, highlight=False)
    try:
        settings = load_settings()
        overrides: dict[str, object] = {}
        if dev:
            overrides["dev_mode"] = True
        if resolve:
            overrides["resolve"] = [*settings.resolve, *resolve]
        if ca_bundle is not None:
            overrides["ca_bundle"] = ca_bundle
        settings = settings.model_copy(update=overrides)
        from powerstrip.net import NetPolicy

        policy = NetPolicy.from_settings(settings)
    except ConfigError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    from powerstrip.check import (
        plugin_manifest_in,
        render_report,
        render_summary,
        report_json,
        summary_json,
    )

    if mcp:
        report = asyncio.run(_check_mcp(target, policy))
        if as_json:
            sys.stdout.write(report_json(report) + "\n")
        else:
            render_report(report, console)
        raise typer.Exit(0 if report.ok else 1)
    path = Path(target)
    if path.is_dir() and plugin_manifest_in(path) is None:
        summary = _check_folder(path, settings.dev_mode, console)
        if as_json:
            sys.stdout.write(summary_json(summary) + "\n")
        else:
            render_summary(summary, console)
        raise typer.Exit(1 if any(not r.ok for r in summary.reports) else 0)
    manifest_path = plugin_manifest_in(path) if path.is_dir() else path
    local = manifest_path if manifest_path is not None and manifest_path.is_file() else None
    report = asyncio.run(_check_one(target, local, policy, offline=offline, dev=settings.dev_mode))
    if as_json:
        sys.stdout.write(report_json(report) + "\n")
    else:
        render_report(report, console, show_prompt=prompt)
    raise typer.Exit(0 if report.ok else 1)


async def _check_one(
    target: str, local: Path | None, policy: NetPolicy, *, offline: bool, dev: bool
) -> CheckReport:
    from powerstrip.check import check_manifest_file, check_url
    from powerstrip.net import GuardedClient

    async with GuardedClient(policy) as client:
        if local is not None:
            return await check_manifest_file(local, None if offline else client, dev_mode=dev)
        return await check_url(target, client, dev_mode=dev)


async def _check_mcp(target: str, policy: NetPolicy) -> CheckReport:
    from powerstrip.check import check_mcp_server
    from powerstrip.mcp_client import McpTarget
    from powerstrip.net import GuardedClient

    server = (
        McpTarget(url=target)
        if target.startswith(("https://", "http://"))
        else McpTarget(command=tuple(shlex.split(target)))
    )
    async with GuardedClient(policy) as client:
        report, _ = await check_mcp_server(server, client)
    return report


def _check_folder(folder: Path, dev: bool, console: Console) -> DirectorySummary:
    from powerstrip.check import check_directory, find_manifests

    total = len(find_manifests(folder))
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("checking plugins", total=total)
        return check_directory(folder, dev_mode=dev, on_progress=lambda _p: progress.advance(task))
