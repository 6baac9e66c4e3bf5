"""Check a whole directory of manifests and specs offline, and sum up what was found."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from powerstrip.check.report import CheckReport
from powerstrip.check.runner import check_local, read_local_plugin

__all__ = ["DirectorySummary", "check_directory", "find_manifests", "plugin_manifest_in"]


@dataclass(slots=True)
class DirectorySummary:
    """The totals of checking many plugins."""

    root: str
    reports: list[CheckReport] = field(default_factory=list)

    @property
    def plugins(self) -> int:
        return len(self.reports)

    @property
    def clean(self) -> int:
        """Plugins with no finding above info."""
        return sum(1 for r in self.reports if r.errors == 0 and r.warnings == 0)

    @property
    def passing(self) -> int:
        """Plugins with no error."""
        return sum(1 for r in self.reports if r.ok)

    @property
    def converted(self) -> int:
        """Plugins whose spec became at least one tool."""
        return sum(1 for r in self.reports if r.tools)

    @property
    def operations(self) -> int:
        return sum(len(r.tools) for r in self.reports)

    def findings_by_code(self) -> Counter[str]:
        return Counter(f.code for r in self.reports for f in r.findings)

    def plugins_by_code(self) -> Counter[str]:
        return Counter(code for r in self.reports for code in {f.code for f in r.findings})


def plugin_manifest_in(folder: Path) -> Path | None:
    """The manifest of a single plugin's folder (`ai-plugin.json` or `.well-known/...`), if any."""
    for candidate in (folder / ".well-known" / "ai-plugin.json", folder / "ai-plugin.json"):
        if candidate.is_file():
            return candidate
    return None


def find_manifests(folder: Path) -> list[Path]:
    """Every manifest under a folder: files named ai-plugin.json, or the JSON in `manifests/`."""
    found = {p for p in folder.rglob("ai-plugin.json") if p.is_file()}
    for manifests in [folder / "manifests", *folder.glob("*/manifests")]:
        if manifests.is_dir():
            found.update(p for p in manifests.glob("*.json") if p.is_file())
    if not found:
        found.update(p for p in folder.glob("*.json") if p.is_file())
    return sorted(found)


def check_directory(
    folder: Path, *, dev_mode: bool, on_progress: Callable[[Path], None] | None = None
) -> DirectorySummary:
    """Check every manifest under `folder` with its spec, offline (nothing is fetched)."""
    summary = DirectorySummary(root=str(folder))
    for path in find_manifests(folder):
        summary.reports.append(check_local(read_local_plugin(path), dev_mode=dev_mode))
        if on_progress is not None:
            on_progress(path)
    return summary
