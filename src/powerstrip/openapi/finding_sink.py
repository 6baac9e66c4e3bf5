"""Collects the findings of one load or conversion, once each."""

from __future__ import annotations

from powerstrip.findings import RULES, Finding, Severity, location, quote_value

__all__ = ["FindingSink", "at", "quote_body"]

# How much of a rejected body we show: enough to recognise a page or an error message.
BODY_QUOTE_CHARS = 120


def quote_body(text: str) -> str:
    """The start of a body as one printable line, for messages about what came back."""
    return quote_value(text.lstrip("\ufeff \t\r\n"), BODY_QUOTE_CHARS)


class FindingSink:
    """An ordered, de-duplicated list of findings.

    The same bad `$ref` reached from ten operations is one problem at one location, so a finding
    with the same code, location and message is kept only once.
    """

    def __init__(self) -> None:
        self._findings: list[Finding] = []
        self._seen: set[tuple[str, str, str]] = set()

    def add(
        self, code: str, where: str, message: str, fix: str, value: object = None
    ) -> Finding | None:
        """Record a finding of rule `code`; return it, or None when it was already recorded."""
        key = (code, where, message)
        if key in self._seen:
            return None
        self._seen.add(key)
        finding = Finding(
            rule=RULES[code],
            location=where,
            message=message,
            fix=fix,
            value=None if value is None else quote_value(value),
        )
        self._findings.append(finding)
        return finding

    def extend(self, findings: tuple[Finding, ...] | list[Finding]) -> None:
        for finding in findings:
            key = (finding.code, finding.location, finding.message)
            if key not in self._seen:
                self._seen.add(key)
                self._findings.append(finding)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(self._findings)

    def errors(self) -> list[Finding]:
        return [f for f in self._findings if f.severity is Severity.ERROR]


def at(where: str, *parts: str | int) -> str:
    """Extend a location by more parts: `at("spec.paths['/a']", "get")` → `spec.paths['/a'].get`."""
    return where + location("x", *parts)[1:]
