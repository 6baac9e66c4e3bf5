"""Deleting conversations whole, with every row that hangs off them, in one transaction.

The retention job, "delete all conversations" and account deletion share this. Each child
table is deleted explicitly (not left to ON DELETE CASCADE) so the counts that are logged are
exact and SQLite deletes the same rows as PostgreSQL; approvals go before the calls they point
at. The counts say how many rows went, never what they held.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from powerstrip.store import Approval, Call, ConversationPlugin, Feedback, Message
from powerstrip.store import Conversation as ConversationRow

__all__ = ["COUNTED_TABLES", "delete_conversation_rows"]

# Children first: feedback and approvals, then the calls approvals refer to, then messages.
_CHILDREN = (Feedback, Approval, Call, Message, ConversationPlugin)
COUNTED_TABLES = ("conversations", "messages", "calls", "approvals", "feedback")


async def delete_conversation_rows(
    session: AsyncSession, conversation_ids: Sequence[str]
) -> Counter[str]:
    """Delete these conversations and their rows; how many rows of each table went."""
    counts: Counter[str] = Counter()
    if not conversation_ids:
        return counts
    ids = list(conversation_ids)
    for model in _CHILDREN:
        result = await session.execute(delete(model).where(model.conversation_id.in_(ids)))
        counts[model.__tablename__] += result.rowcount  # type: ignore[attr-defined]
    result = await session.execute(delete(ConversationRow).where(ConversationRow.id.in_(ids)))
    counts["conversations"] += result.rowcount  # type: ignore[attr-defined]
    counts.pop("conversation_plugins", None)  # not the user's data, only which plugins were on
    return counts
