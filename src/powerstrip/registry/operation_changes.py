"""What a new version of a spec changes in the operations the user consented to.

An "always allow" grant and the user's sense of what a function does are both keyed by the
operation's id. A new spec that keeps an id but moves it to another method or path, or flips its
consequential flag, changes what the user agreed to: such a spec is not applied by the spec
cache (the consented version keeps being served), and a refresh that applies it removes the
grants of the changed operations. An operation that is gone takes its grants with it, so an id
brought back later as another endpoint starts unconsented.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from powerstrip.openapi import Tool
from powerstrip.store import Grant

__all__ = ["OperationChanges", "compare_operations", "delete_grants"]


@dataclass(frozen=True, slots=True)
class OperationChanges:
    """Operation ids whose endpoint or consent changed, and those that are gone."""

    changed: tuple[str, ...]
    removed: tuple[str, ...]

    def describe(self) -> str:
        """A short line for logs: `changed=a,b removed=c`."""
        return f"changed={','.join(self.changed) or '-'} removed={','.join(self.removed) or '-'}"


def _prints(tools: Iterable[Tool]) -> dict[str, tuple[str, str, bool, bool | None]]:
    """Each operation id with what the user consented to: method, path, consequential flags."""
    return {
        tool.operation_id: (tool.method, tool.path, tool.consequential, tool.consequential_declared)
        for tool in tools
    }


def compare_operations(old: Iterable[Tool], new: Iterable[Tool]) -> OperationChanges:
    """What `new` changes in `old`, operation by operation id (additions are not changes)."""
    before, after = _prints(old), _prints(new)
    changed = sorted(key for key, value in after.items() if key in before and before[key] != value)
    removed = sorted(key for key in before if key not in after)
    return OperationChanges(tuple(changed), tuple(removed))


async def delete_grants(
    session: AsyncSession, plugin_id: int, operation_ids: Iterable[str] | None
) -> int:
    """Delete every user's grants for these operations of the plugin (None: all of them)."""
    statement = delete(Grant).where(Grant.plugin_id == plugin_id)
    if operation_ids is not None:
        ids = sorted(set(operation_ids))
        if not ids:
            return 0
        statement = statement.where(Grant.operation_id.in_(ids))
    result = await session.execute(statement)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
