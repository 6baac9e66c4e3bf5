"""`powerstrip docs …`: add documents to a user's collection and search them.

Adding is resumable: a file already indexed with the same content is skipped, and each file is
written in one transaction, so a batch stopped part-way (Ctrl-C, a crash) leaves only whole
documents and the same command finishes it. A bad file is reported by name and the rest go on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from powerstrip.cli.host import (
    DevOption,
    UserOption,
    acting_user,
    err_console,
    load_settings,
    open_host,
    out_console,
    run,
)
from powerstrip.errors import IngestError
from powerstrip.host import DEFAULT_COLLECTION, Documents

__all__ = ["docs_app"]

docs_app = typer.Typer(
    name="docs", help="Add documents to your collection and search them.", no_args_is_help=True
)

CollectionOption = Annotated[
    str, typer.Option("--collection", "-c", help="The collection of the user to use.")
]


@docs_app.command("add")
def add(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Files to add; a folder adds every file in it (and below) of a type Powerstrip "
            "reads (.txt, .md, .html, .pdf, .docx).",
            show_default=False,
        ),
    ],
    collection: CollectionOption = DEFAULT_COLLECTION,
    user: UserOption = "dev",
    dev: DevOption = False,
) -> None:
    """Add files to a collection: read, chunk, embed and index each one."""
    files = _expand(paths)

    async def main() -> tuple[int, int, list[str]]:
        added = skipped = 0
        failures: list[str] = []
        async with open_host(load_settings(dev=dev)) as host:
            person = await acting_user(host, user)
            documents = await Documents.start(host.sessions, host.settings)
            try:
                columns = (
                    TextColumn("{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                )
                with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
                    task = bar.add_task("adding documents", total=len(files))
                    for path in files:
                        try:
                            result = await documents.add_file(person, path, collection=collection)
                        except IngestError as exc:
                            failures.append(str(exc))
                            bar.console.print(f"[bold red]error:[/] {escape(str(exc))}")
                        else:
                            skipped += result.skipped
                            added += not result.skipped
                        bar.advance(task)
            finally:
                await documents.aclose()
        return added, skipped, failures

    added, skipped, failures = run(main())
    summary = f"Added {added} document(s) to {escape(user)}'s collection {escape(collection)!r}"
    if skipped:
        summary += f"; {skipped} already there unchanged"
    out_console.print(summary + ".")
    if failures:
        err_console.print(f"{len(failures)} file(s) could not be added (errors above).")
        raise typer.Exit(1)


@docs_app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="What to look for.", show_default=False)],
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="How many passages.")] = 5,
    collection: CollectionOption = DEFAULT_COLLECTION,
    user: UserOption = "dev",
    dev: DevOption = False,
) -> None:
    """Search a collection: the best passages, with the document each comes from."""

    async def main() -> None:
        async with open_host(load_settings(dev=dev)) as host:
            person = await acting_user(host, user)
            documents = await Documents.start(host.sessions, host.settings)
            try:
                hits = await documents.search(person, query, top_k=top_k, collection=collection)
            finally:
                await documents.aclose()
        if not hits:
            out_console.print("No passage matches.")
            return
        for rank, hit in enumerate(hits, start=1):
            title = hit.document.title or hit.document.external_id
            out_console.print(
                f"[bold]{rank}. {escape(title)}[/] (passage {hit.position + 1}, "
                f"score {hit.score:.4f})\n   {escape(hit.document.external_id)}"
            )
            out_console.print(f"   {escape(_excerpt(hit.text))}")

    run(main())


def _expand(paths: list[Path]) -> list[Path]:
    """The files named, folders walked for the types we read; a missing path stops the command."""
    from powerstrip.retrieval import SUFFIX_KINDS  # numpy and the model loaders: only when used

    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIX_KINDS
            )
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            err_console.print(
                f"[bold red]error:[/] {escape(str(path))}: no such file or folder. "
                "Fix: check the path"
            )
            raise typer.Exit(1)
    if not files:
        err_console.print("[bold red]error:[/] no document found in the paths given")
        raise typer.Exit(1)
    return files


def _excerpt(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
