"""Read a file into plain text and its metadata: plain text, Markdown, HTML, PDF and DOCX.

The type comes from the file name's suffix and must agree with the bytes (a `.pdf` starts with
`%PDF-`, a `.docx` is a ZIP archive), so a renamed file is refused, not misread. Every refusal is
an `IngestError` naming the file, saying what is wrong and how to fix it; nothing is written
before the text is known to be good.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

from powerstrip.errors import IngestError

__all__ = ["SUFFIX_KINDS", "ExtractedText", "extract", "kind_of", "read_file"]

# The suffixes we read, and the document kind (store.DOCUMENT_KINDS) each one is.
SUFFIX_KINDS = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}
_SUFFIX_LIST = ", ".join(sorted(SUFFIX_KINDS))


@dataclass(frozen=True)
class ExtractedText:
    """A document's text and what the file says about itself."""

    kind: str
    text: str
    title: str
    author: str | None
    created_at: datetime | None
    byte_count: int
    sha256: str


def kind_of(name: str) -> str:
    """The document kind of a file name, from its suffix; `IngestError` when we do not read it."""
    suffix = Path(name).suffix.lower()
    kind = SUFFIX_KINDS.get(suffix)
    if kind is None:
        raise IngestError(
            f"cannot read files of type {suffix or '(no suffix)'!r}",
            where=name,
            fix=f"give a file ending in one of {_SUFFIX_LIST}",
        )
    return kind


def read_file(path: Path, *, max_bytes: int) -> ExtractedText:
    """Read and extract the file at `path`, refusing one above `max_bytes` before reading it."""
    name = str(path)
    kind = kind_of(name)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise _too_big(name, size, max_bytes)
        with path.open("rb") as file:
            data = file.read(max_bytes + 1)  # the file may have grown since stat()
    except IsADirectoryError:
        raise IngestError("is a directory, not a file", where=name, fix="give a file") from None
    except FileNotFoundError:
        raise IngestError("no such file", where=name, fix="check the path") from None
    except PermissionError:
        raise IngestError(
            "the file cannot be read (permission denied)", where=name, fix="check its permissions"
        ) from None
    if len(data) > max_bytes:
        raise _too_big(name, len(data), max_bytes)
    return extract(data, kind, name=name)


def extract(data: bytes, kind: str, *, name: str) -> ExtractedText:
    """The text and metadata of `data`, a document of `kind`; `name` is for error messages."""
    if not data.strip():
        raise IngestError("the file is empty", where=name, fix="give a file with some text in it")
    reader = _READERS.get(kind)
    if reader is None:
        raise IngestError(f"unknown document kind {kind!r}", where=name, fix=_SUFFIX_LIST)
    text, title, author, created_at = reader(data, name)
    text = _normalize(text)
    if not text:
        raise IngestError(
            "the file holds no text to index",
            where=name,
            fix="give a file with text in it (a scanned PDF needs OCR first)",
        )
    return ExtractedText(
        kind=kind,
        text=text,
        title=title.strip()[:500] or Path(name).name,
        author=author.strip() if author and author.strip() else None,
        created_at=created_at,
        byte_count=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


_Fields = tuple[str, str, str | None, datetime | None]  # text, title, author, created_at


def _too_big(name: str, size: int, max_bytes: int) -> IngestError:
    return IngestError(
        f"the file is {size} bytes, above the {max_bytes}-byte cap",
        where=name,
        fix="split the file, or raise POWERSTRIP_RETRIEVAL_MAX_FILE_BYTES",
    )


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data:
        raise IngestError(
            "the file looks binary (it holds NUL bytes), not text",
            where=name,
            fix="give a text file, or one of the document types with its own suffix",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"the file is not UTF-8 text (bad byte at offset {exc.start})",
            where=name,
            fix="convert it to UTF-8 (for example with iconv)",
        ) from None


def _read_text(data: bytes, name: str) -> _Fields:
    return _decode(data, name), "", None, None


_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _read_markdown(data: bytes, name: str) -> _Fields:
    text = _decode(data, name)
    heading = _HEADING.search(text)
    return text, heading[1] if heading else "", None, None


def _read_html(data: bytes, name: str) -> _Fields:
    parser = _HTMLText()
    parser.feed(_decode(data, name))
    parser.close()
    return "".join(parser.parts), "".join(parser.title), parser.author, None


class _HTMLText(HTMLParser):
    """The visible text of a page, with block elements as paragraph breaks."""

    _SKIP = frozenset({"script", "style", "noscript", "template", "svg", "head"})
    _BLOCKS = frozenset(
        {"p", "div", "section", "article", "header", "footer", "li", "ul", "ol", "table", "tr"}
        | {"h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "main", "aside", "nav"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self.author: str | None = None
        self._skipping = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag == "meta":
            values = dict(attrs)
            if (values.get("name") or "").lower() == "author" and values.get("content"):
                self.author = values["content"]
        elif tag in self._SKIP:
            self._skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif not self._skipping:
            self.parts.append(data)


def _read_pdf(data: bytes, name: str) -> _Fields:
    if not data.startswith(b"%PDF-"):
        raise IngestError(
            "the file does not start like a PDF (%PDF-)",
            where=name,
            fix="give a real PDF, or rename the file to its real type",
        )
    # Imported here: only a PDF needs pypdf loaded.
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise IngestError(
                "the PDF is encrypted", where=name, fix="give a copy without a password"
            )
        # Pages become paragraphs: a sentence is never glued to the next page's first word.
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        title = (info.title if info else None) or ""
        author = info.author if info else None
        created = info.creation_date if info else None
    except IngestError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        # pypdf signals damage with its own errors and, deep in a broken file, plain ones.
        raise IngestError(
            f"the PDF is damaged and cannot be read ({type(exc).__name__})",
            where=name,
            fix="re-export or repair the PDF",
        ) from None
    return "\n\n".join(pages), title, author, _utc(created)


def _read_docx(data: bytes, name: str) -> _Fields:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise IngestError(
            "the file is not a DOCX (a DOCX is a ZIP archive)",
            where=name,
            fix="give a Word .docx file (an old .doc must be saved as .docx first)",
        )
    import docx  # python-docx; imported here: only a DOCX needs it loaded
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
        paragraphs = [paragraph.text for paragraph in document.paragraphs]
        for table in document.tables:
            for row in table.rows:
                paragraphs.append(" | ".join(cell.text for cell in row.cells))
        core = document.core_properties
        title, author, created = core.title or "", core.author, core.created
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise IngestError(
            f"the DOCX is damaged and cannot be read ({type(exc).__name__})",
            where=name,
            fix="open and save it again in a word processor",
        ) from None
    return "\n\n".join(paragraphs), title, author, _utc(created)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:  # document formats often store local time without an offset
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


_SPACES = re.compile(r"[ \t\f\v\r\u00a0]+")
_BREAKS = re.compile(r"\n\s*\n\s*")


def _normalize(text: str) -> str:
    """Collapse runs of spaces; a blank line (a paragraph break) stays one blank line."""
    text = _SPACES.sub(" ", text)
    lines = "\n".join(line.strip() for line in text.split("\n"))
    return _BREAKS.sub("\n\n", lines).strip()


_READERS: dict[str, Callable[[bytes, str], _Fields]] = {
    "text": _read_text,
    "markdown": _read_markdown,
    "html": _read_html,
    "pdf": _read_pdf,
    "docx": _read_docx,
}
