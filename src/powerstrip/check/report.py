"""What `powerstrip check` found about one plugin."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from powerstrip.findings import Finding, Severity
from powerstrip.openapi import Tool
from powerstrip.plugin import Manifest

__all__ = ["CheckReport", "SpecSource", "ToolSummary"]


@dataclass(frozen=True, slots=True)
class SpecSource:
    """An OpenAPI document's bytes and where they came from."""

    body: bytes
    url: str
    content_type: str | None = None
    # False when the spec came from another origin than the manifest: its body is then never
    # quoted in a finding (it may be some other service's answer, not the plugin author's).
    quotable: bool = True


@dataclass(frozen=True, slots=True)
class ToolSummary:
    """An operation as the model will see it."""

    function_name: str
    method: str
    path: str
    description: str
    consequential: bool
    consequential_declared: bool | None
    parameters: dict[str, Any]

    @classmethod
    def from_tool(cls, tool: Tool) -> ToolSummary:
        return cls(
            function_name=tool.function_name,
            method=tool.method,
            path=tool.path,
            description=tool.description,
            consequential=tool.consequential,
            consequential_declared=tool.consequential_declared,
            parameters=tool.parameters,
        )


@dataclass(slots=True)
class CheckReport:
    """Every finding about one plugin, plus what the host would make of it."""

    target: str
    manifest_url: str | None = None
    spec_url: str | None = None
    root_domain: str | None = None
    api_base_url: str | None = None
    manifest: Manifest | None = None
    tools: list[ToolSummary] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    # The TypeScript-like rendering the original platform gave models without function calling.
    prompt: str | None = None
    # The spec as fetched, when the manifest came from a file and its spec from the network.
    fetched_spec: SpecSource | None = None

    def add(self, findings: list[Finding] | tuple[Finding, ...]) -> None:
        self.findings.extend(findings)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    @property
    def errors(self) -> int:
        return self.count(Severity.ERROR)

    @property
    def warnings(self) -> int:
        return self.count(Severity.WARNING)

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def codes(self) -> Counter[str]:
        return Counter(f.code for f in self.findings)

    def sorted_findings(self) -> list[Finding]:
        order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
        return sorted(self.findings, key=lambda f: (order[f.severity], f.code, f.location))

    def as_dict(self) -> dict[str, Any]:
        name = self.manifest.name_for_model if self.manifest else None
        return {
            "target": self.target,
            "manifest_url": self.manifest_url,
            "spec_url": self.spec_url,
            "name_for_model": name,
            "root_domain": self.root_domain,
            "api_base_url": self.api_base_url,
            "ok": self.ok,
            "summary": {
                "errors": self.errors,
                "warnings": self.warnings,
                "info": self.count(Severity.INFO),
                "operations": len(self.tools),
            },
            "findings": [f.as_dict() for f in self.sorted_findings()],
            "prompt": self.prompt,
            "operations": [
                {
                    "function": t.function_name,
                    "method": t.method,
                    "path": t.path,
                    "description": t.description,
                    "consequential": t.consequential,
                    "consequential_declared": t.consequential_declared,
                    "parameters": t.parameters,
                }
                for t in self.tools
            ],
        }
