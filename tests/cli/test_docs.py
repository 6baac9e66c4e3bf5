"""`powerstrip docs`: add files to a collection with a progress bar, search them, resume a batch."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Cli
from tests.retrieval.files import write_docx, write_pdf


def _library(folder: Path) -> Path:
    folder.mkdir()
    write_pdf(folder / "paper.pdf", ["We measure glacier melt.", "Radar from satellites."])
    write_docx(folder / "minutes.docx", ["The board approved the budget."])
    (folder / "recipe.html").write_text("<p>Whisk flour, eggs and milk.</p>", encoding="utf-8")
    (folder / "ignored.png").write_bytes(b"\x89PNG")  # a folder adds only the types we read
    return folder


def test_files_are_added_and_found_by_meaning(cli: Cli, tmp_path: Path) -> None:
    folder = _library(tmp_path / "library")
    added = cli("docs", "add", str(folder), "--dev")
    assert "Added 3 document(s) to dev's collection 'default'." in added.stdout
    found = cli("docs", "search", "how do I make pancake batter?", "--top-k", "1", "--dev")
    assert "recipe.html" in found.stdout
    assert "Whisk flour, eggs and milk." in found.stdout


def test_a_batch_resumes_and_a_bad_file_is_named_while_the_rest_go_in(
    cli: Cli, tmp_path: Path
) -> None:
    cli.env["POWERSTRIP_RETRIEVAL_EMBEDDER"] = "lexical"
    cli.env["POWERSTRIP_RETRIEVAL_MAX_FILE_BYTES"] = "100000"
    folder = _library(tmp_path / "library")
    cli("docs", "add", str(folder / "paper.pdf"), "--dev")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    (folder / "big.md").write_text("word " * 30_000, encoding="utf-8")
    result = cli("docs", "add", str(folder), "--dev", code=1)
    assert "Added 2 document(s)" in result.stdout
    assert "1 already there unchanged" in result.stdout
    for name, reason in [
        ("empty.txt", "the file is empty"),
        ("broken.pdf", "the PDF is damaged"),
        ("big.md", "above the 100000-byte cap"),
    ]:
        assert reason in result.output
        assert str(folder / name) in result.output
    assert "3 file(s) could not be added" in result.stderr
    found = cli("docs", "search", "glacier", "--dev")
    assert "paper.pdf" in found.stdout
    assert "No passage matches." in cli("docs", "search", "glacier", "-c", "work", "--dev").stdout


def test_a_missing_path_stops_before_anything_is_added(cli: Cli, tmp_path: Path) -> None:
    cli.env["POWERSTRIP_RETRIEVAL_EMBEDDER"] = "lexical"
    result = cli("docs", "add", str(tmp_path / "nowhere"), "--dev", code=1)
    assert "no such file or folder" in result.stderr


def _database_bytes(cli: Cli) -> bytes:
    """The SQLite file of the commands' store, with its write-ahead log."""
    files = [p for p in cli.data_dir.iterdir() if p.name.startswith("powerstrip.db")]
    assert files
    return b"".join(path.read_bytes() for path in files)


def test_documents_are_listed_and_deleted_by_path_or_id_and_leave_the_file(
    cli: Cli, tmp_path: Path
) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "quokka.md").write_text("# Quokka\n\nThe quokka smiles on Rottnest.", "utf-8")
    (folder / "axolotl.txt").write_text("An axolotl regrows its gills.", encoding="utf-8")
    (folder / "narwhal.txt").write_text("A narwhal's tusk is a tooth.", encoding="utf-8")
    cli("docs", "add", str(folder), "--dev")
    listed = cli("docs", "list", "--dev").stdout
    assert "Quokka" in listed
    assert "narwhal.txt" in listed

    one = cli("docs", "delete", str(folder / "quokka.md"), "--dev")  # by the file's path
    assert "Deleted 1 document(s)" in one.stdout
    two = cli("docs", "delete", str((folder / "axolotl.txt").resolve()), "nope", "--dev", code=1)
    assert "Deleted 1 document(s)" in two.stdout
    assert "1 of the documents named were not in the collection" in two.stderr
    for word in ("quokka", "axolotl"):
        # Vector search still offers the nearest remaining passage, never the deleted one.
        assert word not in cli("docs", "search", word, "--dev").stdout.lower()
        assert word.encode() not in _database_bytes(cli).lower(), word
    assert "narwhal" in cli("docs", "search", "narwhal tusk", "--dev").stdout

    assert cli("docs", "delete", "--dev", code=2).stderr  # nothing named, no --all
    cli("docs", "delete", "--all", "--dev", input="n\n", code=1)  # not confirmed: kept
    assert "narwhal" in cli("docs", "search", "narwhal tusk", "--dev").stdout
    assert "Deleted 1 document(s)" in cli("docs", "delete", "--all", "--yes", "--dev").stdout
    assert "is empty" in cli("docs", "list", "--dev").stdout
    assert b"narwhal" not in _database_bytes(cli).lower()
