"""`powerstrip docs …`: add documents to a user's collection, list, search and delete them.

Adding is resumable: a file already indexed with the same content is skipped, and each file is
written in one transaction, so a batch stopped part-way (Ctrl-C, a crash) leaves only whole
documents and the same command finishes it. A bad file is reported by name and the rest go on.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

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
from powerstrip.cli.invocation import powerstrip_command
from powerstrip.errors import IngestError
from powerstrip.names import DEFAULT_COLLECTION

if TYPE_CHECKING:
    # The engine loads when a command runs, not for the CLI's help (cli/host.py).
    from powerstrip.host import DocumentInfo, Documents, Host

__all__ = ["docs_app"]

docs_app = typer.Typer(
    name="docs",
    help="Add documents to your collection, list, search and delete them.",
    no_args_is_help=True,
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
            documents = await _documents(host)
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
            documents = await _documents(host)
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


@docs_app.command("list")
def list_documents(
    collection: CollectionOption = DEFAULT_COLLECTION,
    user: UserOption = "dev",
    dev: DevOption = False,
) -> None:
    """List the documents of a collection: id (what delete takes), title, passages."""

    async def main() -> list[DocumentInfo]:
        async with open_host(load_settings(dev=dev)) as host:
            person = await acting_user(host, user)
            documents = await _documents(host)
            try:
                return await documents.list_documents(person, collection=collection)
            finally:
                await documents.aclose()

    found = run(main())
    if not found:
        out_console.print(f"{escape(user)}'s collection {escape(collection)!r} is empty.")
        return
    table = Table("id", "title", "kind", "passages", "added from")
    for info in found:
        meta = info.document
        table.add_row(
            escape(meta.external_id),
            escape(meta.title),
            meta.kind,
            str(info.chunks),
            escape(meta.source or ""),
        )
    out_console.print(table)


@docs_app.command("delete")
def delete(
    documents_named: Annotated[
        list[str] | None,
        typer.Argument(
            help="Documents to delete: a file added before (its path) or a document id from "
            "`docs list`.",
            show_default=False,
        ),
    ] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Delete every document of the collection.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask to confirm --all.")] = False,
    collection: CollectionOption = DEFAULT_COLLECTION,
    user: UserOption = "dev",
    dev: DevOption = False,
) -> None:
    """Delete documents: their text, vectors and index entries, and the text in the database."""
    names = documents_named or []
    if everything == bool(names):
        err_console.print(
            "[bold red]error:[/] name the documents to delete, or pass --all (not both). "
            f"Fix: see `{powerstrip_command()} docs list`"
        )
        raise typer.Exit(2)
    if everything and not yes:
        typer.confirm(f"Delete every document of {user}'s collection {collection!r}?", abort=True)
    # A file is known by its absolute path (what `docs add` stored); an id is taken as given.
    ids = [str(Path(name).resolve()) if Path(name).exists() else name for name in names]

    async def main() -> int:
        async with open_host(load_settings(dev=dev)) as host:
            person = await acting_user(host, user)
            documents = await _documents(host)
            try:
                if everything:
                    return await documents.delete(person, collection=collection)
                return await documents.delete_ids(person, ids, collection=collection)
            finally:
                await documents.aclose()

    deleted = run(main())
    out_console.print(
        f"Deleted {deleted} document(s) from {escape(user)}'s collection {escape(collection)!r}."
    )
    if names and deleted < len(names):
        err_console.print(
            f"{len(names) - deleted} of the documents named were not in the collection. "
            f"Fix: see `{powerstrip_command()} docs list`"
        )
        raise typer.Exit(1)


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


async def _documents(host: Host) -> Documents:
    """The document service over the host's store (it loads the embedder when it starts)."""
    from powerstrip.host import Documents

    return await Documents.start(host.sessions, host.settings)
