"""Files of every format become text and metadata; a bad file is refused by name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from powerstrip.errors import IngestError
from powerstrip.retrieval import read_file
from tests.retrieval.files import write_docx, write_pdf

CAP = 100_000


def test_plain_text_is_read_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_text("Café menu.\n\n\n\nSecond   paragraph.", encoding="utf-8")
    extracted = read_file(path, max_bytes=CAP)
    assert extracted.kind == "text"
    assert extracted.text == "Café menu.\n\nSecond paragraph."
    assert extracted.title == "note.txt"


def test_markdown_takes_its_first_heading_as_title(tmp_path: Path) -> None:
    path = tmp_path / "readme.md"
    path.write_text("Intro line.\n\n# Project Falcon\n\nIt flies.", encoding="utf-8")
    extracted = read_file(path, max_bytes=CAP)
    assert (extracted.kind, extracted.title) == ("markdown", "Project Falcon")
    assert "It flies." in extracted.text


def test_html_keeps_visible_text_and_drops_scripts_and_styles(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Trip plan</title><meta name='author' content='Ada'>"
        "<style>p { color: red }</style></head><body><h1>Day one</h1>"
        "<p>Visit the museum &amp; the park.</p><script>alert('x')</script>"
        "<p>Dinner at eight.</p></body></html>",
        encoding="utf-8",
    )
    extracted = read_file(path, max_bytes=CAP)
    assert extracted.title == "Trip plan"
    assert extracted.author == "Ada"
    assert extracted.text == "Day one\n\nVisit the museum & the park.\n\nDinner at eight."


def test_a_pdf_of_several_pages_gives_each_page_as_a_paragraph(tmp_path: Path) -> None:
    pages = ["The first page is about apples.", "The second is pears.", "The third, plums."]
    path = write_pdf(tmp_path / "paper.pdf", pages, author="Grace Hopper")
    extracted = read_file(path, max_bytes=CAP)
    assert extracted.kind == "pdf"
    assert extracted.text.split("\n\n") == pages
    assert extracted.author == "Grace Hopper"
    assert extracted.title == "Test paper"


def test_a_docx_gives_its_paragraphs_and_author(tmp_path: Path) -> None:
    path = write_docx(
        tmp_path / "report.docx", ["Quarterly report.", "Sales rose by ten percent."], author="Bob"
    )
    extracted = read_file(path, max_bytes=CAP)
    assert extracted.kind == "docx"
    assert extracted.text == "Quarterly report.\n\nSales rose by ten percent."
    assert extracted.author == "Bob"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "the file is empty"),
        ("blank.md", b"  \n\n \t", "the file is empty"),
        (
            "broken.pdf",
            b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ntrailer garbage",
            "PDF is damaged",
        ),
        ("renamed.pdf", b"just some text", "does not start like a PDF"),
        ("renamed.docx", b"just some text", "not a DOCX"),
        ("zipped.docx", b"PK\x05\x06" + b"\x00" * 18, "DOCX is damaged"),
        ("binary.txt", b"abc\x00def", "looks binary"),
        ("latin1.txt", "café".encode("latin-1"), "not UTF-8"),
        ("image.png", b"\x89PNG\r\n", "cannot read files of type '.png'"),
        ("noext", b"text", "cannot read files of type '(no suffix)'"),
    ],
)
def test_a_bad_file_is_refused_with_its_name_and_the_reason(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IngestError, match=re.escape(message)) as caught:
        read_file(path, max_bytes=CAP)
    assert caught.value.where == str(path)
    assert caught.value.fix


def test_a_file_above_the_cap_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("word " * 1000, encoding="utf-8")
    with pytest.raises(IngestError, match="5000 bytes, above the 4999-byte cap") as caught:
        read_file(path, max_bytes=4999)
    assert "POWERSTRIP_RETRIEVAL_MAX_FILE_BYTES" in (caught.value.fix or "")


def test_a_pdf_without_text_is_refused(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "scan.pdf", [""])
    with pytest.raises(IngestError, match="holds no text"):
        read_file(path, max_bytes=CAP)


def test_a_missing_file_and_a_directory_are_refused(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such file"):
        read_file(tmp_path / "gone.txt", max_bytes=CAP)
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    with pytest.raises(IngestError, match="is a directory"):
        read_file(folder, max_bytes=CAP)
