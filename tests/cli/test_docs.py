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
