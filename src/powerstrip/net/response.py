"""What the guarded client hands back: a fully read, size-capped response."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from email.message import Message

import httpx

from powerstrip.errors import HTTPStatusError

__all__ = ["FetchedResponse"]

_BODY_QUOTE = 200


@dataclass(frozen=True, slots=True)
class FetchedResponse:
    """A completed HTTP exchange; non-2xx statuses are data here, not errors."""

    url: str
    status_code: int
    headers: httpx.Headers
    content: bytes
    elapsed: float
    redirects: tuple[str, ...] = ()
    attempts: int = 1

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased (`""` when absent)."""
        return str(self.headers.get("content-type", "")).split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        """The charset the server declared, when it names a codec Python knows."""
        header = self.headers.get("content-type")
        if not header:
            return None
        message = Message()
        message["content-type"] = header
        charset = message.get_param("charset")
        if not isinstance(charset, str):
            return None
        try:
            return codecs.lookup(charset).name
        except LookupError:
            return None

    @property
    def text(self) -> str:
        """The body decoded by its declared charset, else UTF-8, replacing undecodable bytes."""
        return self.content.decode(self.charset or "utf-8", errors="replace")

    @property
    def is_success(self) -> bool:
        """True for 2xx statuses."""
        return 200 <= self.status_code < 300

    def raise_for_status(self) -> FetchedResponse:
        """Raise HTTPStatusError unless the status is 2xx; return self so calls can chain."""
        if self.is_success:
            return self
        body_start = self.text[:_BODY_QUOTE]
        phrase = httpx.codes.get_reason_phrase(self.status_code) or "unknown status"
        if 300 <= self.status_code < 400:
            fix = "serve the resource at this URL directly; redirects are not followed here"
        elif self.status_code < 500:
            fix = "check the URL, the method and the credentials the server expects"
        else:
            fix = "the server failed: check its logs, or try again later"
        raise HTTPStatusError(
            f"the server answered {self.status_code} {phrase}: {body_start!r}",
            status_code=self.status_code,
            body_start=body_start,
            where=self.url,
            fix=fix,
        )
