"""Conversations as a user has them: create, list, read, delete, and run turns with plugins.

This is what both the REST API and `powerstrip chat` call: a turn loads the history and the
enabled plugins from the store (each plugin's tools from the spec cache, revalidated), runs the
runtime's `Conversation` loop, and records everything through `StoreRecorder` as it happens.

Every method takes the acting user and refuses (as "not found") a conversation that is not
theirs, so no route can forget the ownership check.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import anyio
from sqlalchemy import Connection, Row, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from powerstrip.coordination import TurnLocks
from powerstrip.errors import (
    CoordinationError,
    NotFoundError,
    PowerstripError,
    RegistryError,
    StaleDecisionError,
)
from powerstrip.host.grants import StoreGrants, put_grant
from powerstrip.host.history_cache import HistoryCache
from powerstrip.host.open_calls import awaits_model, close_open_calls
from powerstrip.host.recorder import StoreRecorder
from powerstrip.host.rewind import Rewound, last_user_seq, rewind_history
from powerstrip.host.users import UserInfo
from powerstrip.registry import Registry
from powerstrip.runtime import (
    ActivePlugin,
    ChatMessage,
    Conversation,
    ErrorEvent,
    Event,
    Executor,
    Model,
    SamplingOptions,
    ToolCall,
    ToolSpec,
    TurnDone,
)
from powerstrip.runtime.conversation import unanswered_calls
from powerstrip.runtime.headers import ephemeral_user_id
from powerstrip.settings import Settings
from powerstrip.store import (
    Approval,
    Call,
    ConversationPlugin,
    User,
    read_job,
    transaction,
    utcnow,
)
from powerstrip.store import Conversation as ConversationRow

__all__ = ["ChatSummary", "ChatView", "Chats", "PendingApproval"]

logger = logging.getLogger(__name__)

_TITLE_LIMIT = 300

_MAYBE_SENT = (
    "nothing is waiting for approval: the turn that made these calls stopped while they ran, "
    "so each may or may not have been made; they are marked interrupted and none is made again"
)

# The turn path's queries, built once (building a statement costs more than SQLite running it).
_OWNER = select(
    ConversationRow.user_id, ConversationRow.deleted_at, ConversationRow.sampling
).where(ConversationRow.id == bindparam("id"))
_ENABLED = (
    select(ConversationPlugin.conversation_id, ConversationPlugin.plugin_id)
    .where(ConversationPlugin.conversation_id.in_(bindparam("ids", expanding=True)))
    .order_by(ConversationPlugin.enabled_at, ConversationPlugin.plugin_id)
)


@dataclass(frozen=True, slots=True)
class ChatSummary:
    """One conversation in the user's list."""

    id: str
    title: str
    created_at: datetime
    updated_at: datetime
    plugin_ids: tuple[int, ...]
    # False: started with chat history off, so unlisted and deleted after the retention period.
    history_enabled: bool = True


@dataclass(frozen=True, slots=True)
class PendingApproval:
    """A call waiting for the user's decision."""

    call_id: str
    function_name: str
    arguments: str
    # Whether the person may answer "always allow" (the operation's own rule, `Tool`).
    can_always_allow: bool = False


@dataclass(frozen=True, slots=True)
class ChatView:
    """A conversation with its messages, and the calls awaiting approval if it is paused."""

    summary: ChatSummary
    messages: tuple[ChatMessage, ...]
    pending: tuple[PendingApproval, ...]
    # When each message was written (the page pairs plugin calls with the turn that made them).
    times: tuple[datetime, ...] = ()
    # The call log (`call_record`s, oldest first), when asked for with the view.
    calls: tuple[dict[str, Any], ...] = ()  # Any: JSON values


class Chats:
    """Runs users' conversations; one per process, shared by every request."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        registry: Registry,
        executor: Executor,
        model: Model,
        settings: Settings,
        ephemeral_secret: bytes,
        turn_watch: Callable[[AsyncIterator[Event]], AsyncIterator[Event]] | None = None,
        turn_locks: TurnLocks,
    ) -> None:
        """`turn_watch` wraps every turn's events (the host's shutdown drain and metrics)."""
        self.sessions = sessions
        self.registry = registry
        self.executor = executor
        self.model = model
        self.settings = settings
        self._ephemeral_secret = ephemeral_secret
        # One turn at a time per conversation, in this process or (on Redis) in any worker:
        # two interleaved turns would write one history in two orders.
        self._turn_locks = turn_locks
        self._histories = HistoryCache()
        self._watch = turn_watch or _unwatched

    # -- the list ----------------------------------------------------------------------------

    async def create(
        self,
        user: UserInfo,
        *,
        title: str = "",
        plugin_ids: tuple[int, ...] = (),
        sampling: SamplingOptions | None = None,
    ) -> ChatSummary:
        """Start a conversation with these plugins enabled; nothing is kept if one is refused.

        `sampling` (an API turn's) is kept: a turn resumed without options of its own, at the
        host's approval link, samples as the request that opened it asked."""
        limit = self.settings.max_plugins_per_conversation
        if len(set(plugin_ids)) > limit:
            # Refused before a conversation exists, so the error names none that never will.
            raise RegistryError(
                f"a conversation may enable at most {limit} plugins, and {len(set(plugin_ids))} "
                "were asked for",
                where="plugins",
                fix=f"choose at most {limit} plugins",
            )
        async with transaction(self.sessions) as session:
            # The owner's history switch as the conversation starts marks it for good (§9).
            history = await session.scalar(select(User.history_enabled).where(User.id == user.id))
            row = ConversationRow(
                user_id=user.id,
                title=title[:_TITLE_LIMIT],
                history_enabled=history is not False,
                sampling=(sampling.as_openai() or None) if sampling is not None else None,
            )
            session.add(row)
            await session.flush()
            conversation_id = row.id
        try:
            for plugin_id in plugin_ids:
                await self.registry.enable(conversation_id, plugin_id)
        except PowerstripError:
            async with transaction(self.sessions) as session:
                await session.execute(
                    delete(ConversationRow).where(ConversationRow.id == conversation_id)
                )
            raise
        return await self._summary(user, conversation_id)

    async def list_chats(self, user: UserInfo, *, with_plugins: bool = True) -> list[ChatSummary]:
        """The user's conversations, most recently active first.

        Conversations started with chat history off are never listed (spec §9); their owner
        still reaches each by its id. `with_plugins=False` leaves `plugin_ids` empty and skips
        reading them (the web app's sidebar, on every page, shows titles only).
        """
        async with self.sessions() as session:
            rows = (
                (
                    await session.execute(
                        select(ConversationRow)
                        .where(
                            ConversationRow.user_id == user.id,
                            ConversationRow.deleted_at.is_(None),
                            ConversationRow.history_enabled.is_(True),
                        )
                        .order_by(ConversationRow.updated_at.desc())
                    )
                )
                .scalars()
                .all()
            )
            enabled = await self._enabled(session, [row.id for row in rows]) if with_plugins else {}
        return [_summary(row, enabled.get(row.id, ())) for row in rows]

    async def get(
        self, user: UserInfo, conversation_id: str, *, with_calls: bool = False
    ) -> ChatView:
        """A conversation with its messages (and its call log, `with_calls`), in one session."""
        async with self.sessions() as session:
            row = await self._owned(session, user, conversation_id)
            enabled = await self._enabled(session, [conversation_id])
            history, times = await self._histories.load_timed(session, conversation_id)
            calls = await _calls(session, conversation_id) if with_calls else ()
            # Only calls put to the user and not yet decided wait for them: an approved call
            # still running (or one a stopped turn has yet to close) is no question to ask again.
            unanswered = unanswered_calls(history)
            asked = await _asked(session, conversation_id, unanswered) if unanswered else set()
        summary = _summary(row, enabled.get(conversation_id, ()))
        waiting = [call for call in unanswered if call.id in asked]
        allowable = await self._always_allowable(summary.plugin_ids) if waiting else frozenset()
        pending = tuple(
            PendingApproval(call.id, call.name, call.arguments, call.name in allowable)
            for call in waiting
        )
        return ChatView(summary, tuple(history), pending, times, calls)

    async def _always_allowable(self, plugin_ids: tuple[int, ...]) -> frozenset[str]:
        """The function names of these plugins that "always allow" may be offered for."""
        names: set[str] = set()
        for plugin_id in plugin_ids:
            try:
                cached = await self.registry.tools(plugin_id, revalidate=False)
            except PowerstripError:
                continue  # not offered now: the next turn answers its calls as unavailable
            names.update(t.function_name for t in cached.toolset.tools if t.may_always_allow)
        return frozenset(names)

    async def check_owner(self, user: UserInfo, conversation_id: str) -> None:
        """NotFoundError unless the conversation exists and is the user's (one small query)."""
        # A prebuilt statement as one read job: every turn over the API asks this first, and an
        # ORM session's identity map and unit of work cost it more than the query itself.
        await read_job(self.sessions, lambda connection: _owner(connection, user, conversation_id))

    async def rename(self, user: UserInfo, conversation_id: str, title: str) -> ChatSummary:
        async with transaction(self.sessions) as session:
            row = await self._owned(session, user, conversation_id)
            row.title = title[:_TITLE_LIMIT]
        return await self._summary(user, conversation_id)

    async def delete(self, user: UserInfo, conversation_id: str) -> None:
        """Delete a conversation with its messages, calls and approvals (spec §9)."""
        async with transaction(self.sessions) as session:
            row = await self._owned(session, user, conversation_id)
            await session.delete(row)
        self._histories.forget(conversation_id)
        logger.info("chats.delete user=%s conversation=%s", user.id, conversation_id)

    async def rewind(self, user: UserInfo, conversation_id: str, seq: int | None = None) -> Rewound:
        """Remove the user's message `seq` (None: their latest) and all after it (host/rewind.py).

        Waits for a turn of the conversation under way (in any worker, on Redis) to end first.
        """
        async with self._turn_locks.hold(conversation_id):
            try:
                async with transaction(self.sessions) as session:
                    await self._owned(session, user, conversation_id)
                    if seq is None:
                        seq = await last_user_seq(session, conversation_id)
                    return await rewind_history(session, conversation_id, seq)
            finally:
                self._histories.forget(conversation_id)

    def forget(self, conversation_ids: Iterable[str]) -> None:
        """Drop what this process cached of conversations deleted elsewhere (retention)."""
        for conversation_id in conversation_ids:
            self._histories.forget(conversation_id)

    async def enable(self, user: UserInfo, conversation_id: str, plugin_id: int) -> ChatSummary:
        await self.check_owner(user, conversation_id)
        await self.registry.enable(conversation_id, plugin_id)
        return await self._summary(user, conversation_id)

    async def disable(self, user: UserInfo, conversation_id: str, plugin_id: int) -> ChatSummary:
        await self.check_owner(user, conversation_id)
        await self.registry.disable(conversation_id, plugin_id)
        return await self._summary(user, conversation_id)

    async def calls(self, user: UserInfo, conversation_id: str) -> list[dict[str, Any]]:
        """The call log of a conversation (redacted at write time), oldest first."""
        async with self.sessions() as session:
            await self._owned(session, user, conversation_id)
            return list(await _calls(session, conversation_id))

    # -- turns -------------------------------------------------------------------------------

    def send(self, user: UserInfo, conversation_id: str, text: str) -> AsyncIterator[Event]:
        """Run a turn for the user's message, streaming its events.

        Every failure after the stream started, even before the model is asked, comes out as
        an error event: a streamed HTTP answer has already said 200.
        """
        return self._watch(
            self._guarded(self._send(user, conversation_id, text), conversation_id, user)
        )

    def resume(
        self,
        user: UserInfo,
        conversation_id: str,
        decisions: Mapping[str, bool],
        *,
        always_allow: frozenset[str] = frozenset(),
        sampling: SamplingOptions | None = None,
        client_tools: Sequence[ToolSpec] = (),
    ) -> AsyncIterator[Event]:
        """Continue a paused turn with the user's decisions (call id → approve?).

        `always_allow` names approved calls whose operation the user allows from now on; only
        operations declared `x-openai-isConsequential: false` may be (spec §5). `sampling` goes
        to the model with the rest of the turn (an API caller's, who resumes it), and so do
        `client_tools`, the functions that caller runs itself.
        """
        return self._watch(
            self._guarded(
                self._resume(
                    user, conversation_id, decisions, always_allow, sampling, client_tools
                ),
                conversation_id,
                user,
            )
        )

    def guarded(
        self, events: AsyncIterator[Event], conversation_id: str, user: UserInfo
    ) -> AsyncIterator[Event]:
        """`events` run as a chat's turn runs: one at a time per conversation, and whatever
        fails ends with an error event and closes the calls the turn left open (API turns)."""
        return self._watch(self._guarded(events, conversation_id, user))

    async def active(
        self, user: UserInfo, plugin_id: int, conversation_id: str
    ) -> ActivePlugin | None:
        """The plugin as a turn calls it (its tools revalidated), None when it cannot be had."""
        return await self._active(user, plugin_id, conversation_id)

    async def _send(self, user: UserInfo, conversation_id: str, text: str) -> AsyncIterator[Event]:
        conversation = await self._conversation(user, conversation_id)
        # What an earlier turn left open with no one to finish it (its own closing failed
        # too, say, while the store refused writes, or its worker died) is closed first: its
        # calls, and the answer the model never gave. Looked for in the history the turn holds
        # anyway, so a turn with nothing open pays no write transaction for it; the closing
        # itself re-reads under the write lock.
        history = conversation.history
        if (unanswered_calls(history) or awaits_model(history)) and await close_open_calls(
            self.sessions, conversation_id, reason="failed"
        ):
            conversation = await self._conversation(user, conversation_id)
        if not any(m.role == "user" for m in conversation.history):
            await self._default_title(conversation_id, text)
        async for event in conversation.send(text):
            yield event

    async def _resume(
        self,
        user: UserInfo,
        conversation_id: str,
        decisions: Mapping[str, bool],
        always_allow: frozenset[str],
        sampling: SamplingOptions | None = None,
        client_tools: Sequence[ToolSpec] = (),
    ) -> AsyncIterator[Event]:
        conversation = await self._conversation(user, conversation_id, resuming=True)
        if sampling is not None:
            conversation.sampling = sampling
        conversation.offer_client_tools(client_tools)
        pending = {call.id: call for call in conversation.pending_calls()}
        if not pending:
            raise StaleDecisionError(
                "nothing is waiting for approval",
                where=f"conversation {conversation_id}",
                fix="reload the conversation: its calls were answered or withdrawn",
            )
        complete = bool(pending) and all(call_id in decisions for call_id in pending)
        granted = [
            pending[call_id].name
            for call_id in always_allow
            if call_id in pending and decisions.get(call_id)
        ]
        grants = [
            grant for name in granted if (grant := self._grantable(conversation, name)) is not None
        ]
        # Grants only with a complete answer, in the claim's transaction: a refused resume
        # leaves nothing behind, and an accepted one never loses its grants.
        asked = await self._claim_decisions(
            user, conversation_id, list(pending), decisions, grants if complete else []
        )
        if pending and not asked:
            # No unanswered call waits for a person: the turn that made them had passed its
            # approvals (or needed none) and stopped while they ran (its worker died). Each may
            # have been sent, so none is sent again: they are closed as lost (this turn holds
            # the conversation's lock, so no live turn is running them).
            await close_open_calls(self.sessions, conversation_id, reason="lost")
            yield ErrorEvent(_MAYBE_SENT)
            yield TurnDone("")
            return
        if complete and isinstance(conversation.grants, StoreGrants):
            for plugin_id, operation_id in grants:
                conversation.grants.note(plugin_id, operation_id)
        async for event in conversation.resume(decisions):
            yield event

    async def _guarded(
        self, events: AsyncIterator[Event], conversation_id: str, user: UserInfo
    ) -> AsyncIterator[Event]:
        held = self._held(events, conversation_id, user)
        try:
            async for event in held:
                yield event
        except CoordinationError as exc:
            # Only taking the turn lock raises it (the turn's own errors become events inside):
            # nothing ran, and the turn ends saying why.
            logger.warning("chats.turn_lock_failed conversation=%s error=%s", conversation_id, exc)
            yield ErrorEvent(str(exc))
            yield TurnDone("")
        finally:
            # A client that leaves closes this generator: the turn's own closing runs now, not
            # whenever the garbage collector finalizes it.
            await held.aclose()

    async def _held(
        self, events: AsyncIterator[Event], conversation_id: str, user: UserInfo
    ) -> AsyncGenerator[Event]:
        """The turn's events; whatever goes wrong, the turn ends with an event and a history
        the next turn can continue from.

        One turn at a time per conversation in any worker, its closing included: what a
        failed or interrupted turn left open is closed before the next turn reads the history.
        """
        async with self._turn_locks.hold(conversation_id):
            started = utcnow()
            finished = False
            # The turn said it failed (the model failed, too many steps) and ended itself.
            ended_in_error = False
            error: str | None = None
            # What the turn left open is its own to close; False when it was refused before
            # it began because another worker resumed it (that turn may be running still).
            owns_turn = True
            try:
                async for event in events:
                    finished = finished or isinstance(event, TurnDone)
                    ended_in_error = ended_in_error or isinstance(event, ErrorEvent)
                    yield event
            except StaleDecisionError as exc:
                logger.info(
                    "chats.resume_refused conversation=%s error=%s", conversation_id, exc.message
                )
                error = str(exc)
                owns_turn = False
            except PowerstripError as exc:
                logger.warning(
                    "chats.turn_failed conversation=%s error=%s", conversation_id, exc.message
                )
                error = str(exc)
            except Exception:
                logger.exception("chats.turn_crashed conversation=%s", conversation_id)
                error = "the turn failed unexpectedly; the server log has the details"
            finally:
                if not finished and error is None:
                    # The client went away mid-turn (the stream was cancelled). Finish the
                    # bookkeeping shielded from that cancellation, or the conversation would
                    # wait forever for answers to calls nobody is running.
                    with anyio.CancelScope(shield=True):
                        await events.aclose()  # type: ignore[attr-defined]
                        await self._close(conversation_id, "interrupted", started)
            if error is not None:
                # A failed turn closes what it opened: no approval or call is left waiting
                # that no one can answer, so the next message works.
                if owns_turn:
                    await self._close(conversation_id, "failed", started)
                yield ErrorEvent(error)
                yield TurnDone("")
            elif finished and ended_in_error:
                # It ended without the model's answer: its history says so (an assistant
                # message), so only a turn still running, or one whose worker died, leaves a
                # history that does not end on one. A question put to the user stays open.
                await self._close(conversation_id, "failed", started)

    async def _close(
        self, conversation_id: str, reason: Literal["interrupted", "failed"], started: datetime
    ) -> None:
        try:
            await close_open_calls(self.sessions, conversation_id, reason=reason, since=started)
        except PowerstripError as exc:
            # The next turn closes them before it starts (`_send`).
            logger.warning(
                "chats.close_failed conversation=%s error=%s", conversation_id, exc.message
            )
        except Exception:
            # Whatever broke the closing, the turn still ends with its own error event.
            logger.exception("chats.close_crashed conversation=%s", conversation_id)

    # -- building blocks ---------------------------------------------------------------------

    async def _conversation(
        self, user: UserInfo, conversation_id: str, *, resuming: bool = False
    ) -> Conversation:
        """The conversation as a turn runs it; `resuming`: with the sampling options its API
        turn asked for, if any."""
        # The ownership check, the enabled plugins, the history and the grants in one read
        # job: one trip to SQLite's thread, where each statement through the async layer cost
        # more than the database took to run it. The history comes from the cache, topped up
        # with what was written since.
        grants = StoreGrants(self.sessions, user.id)

        def read(
            connection: Connection,
        ) -> tuple[dict[str, Any] | None, tuple[int, ...], list[ChatMessage]]:
            owner = _owner(connection, user, conversation_id)
            plugin_ids = _enabled_of(connection, [conversation_id]).get(conversation_id, ())
            history = self._histories.load(connection, conversation_id)
            # "Always allow" asked about once here, not once per call.
            grants.load(connection, plugin_ids)
            return owner.sampling, plugin_ids, history

        sampling, plugin_ids, history = await read_job(self.sessions, read)
        # Each plugin's spec is revalidated with the plugin once the owner is checked, the
        # plugins concurrently: a turn waits for the slowest of them, not for their sum.
        plugins = await asyncio.gather(
            *(self._active(user, pid, conversation_id) for pid in plugin_ids)
        )
        return Conversation(
            conversation_id=conversation_id,
            model=self.model,
            executor=self.executor,
            plugins=[plugin for plugin in plugins if plugin is not None],
            history=history,
            recorder=StoreRecorder(self.sessions, conversation_id, user.id),
            grants=grants,
            subdivision=user.subdivision,
            max_steps=self.settings.max_steps,
            context_chars=self.settings.context_chars,
            sampling=SamplingOptions.from_openai(sampling) if resuming and sampling else None,
        )

    async def _active(
        self, user: UserInfo, plugin_id: int, conversation_id: str
    ) -> ActivePlugin | None:
        try:
            cached = await self.registry.tools(plugin_id, user_id=user.id)
        except PowerstripError as exc:
            # A plugin whose spec cannot be had this turn is left out, not the whole turn.
            logger.warning(
                "chats.plugin_unavailable conversation=%s plugin=%s error=%s",
                conversation_id,
                plugin_id,
                exc.message,
            )
            return None
        return ActivePlugin(
            plugin_id=str(plugin_id),
            toolset=cached.toolset,
            description_for_model=cached.description_for_model,
            base_url=cached.api_base_url,
            origin=cached.manifest_url,
            mcp=cached.mcp,
            credentials=self.registry.credential_source(user.id, plugin_id),
            ephemeral_user_id=ephemeral_user_id(
                self._ephemeral_secret, str(user.id), str(plugin_id)
            ),
        )

    @staticmethod
    def _grantable(conversation: Conversation, function_name: str) -> tuple[int, str] | None:
        """The (plugin id, operation id) "always allow" would grant; refused when consequential."""
        plugin, tool = conversation.find(function_name)
        if plugin is None or tool is None:
            return None  # no longer offered: the loop answers the call as unknown
        if not tool.may_always_allow:
            raise RegistryError(
                f"{function_name} is consequential: it cannot be always allowed",
                where=f"plugin {plugin.plugin_id}",
                fix="approve this call without always_allow",
            )
        return int(plugin.plugin_id), tool.operation_id

    async def _claim_decisions(
        self,
        user: UserInfo,
        conversation_id: str,
        waiting: list[str],
        decisions: Mapping[str, bool],
        grants: list[tuple[int, str]],
    ) -> bool:
        """Record the user's decisions, claiming each pending approval exactly once; whether
        any of `waiting` was put to the user (False: none has an approval, nothing is claimed).

        `waiting` are the call ids the history shows unanswered. A row changes only while it is
        still pending, all in one transaction: when two windows or processes resume the same
        turn, the second finds the approvals decided and is refused, so an approved call is never
        made twice. Incomplete decisions claim nothing (the loop then says what is missing).
        `grants` ("always allow" of approved calls) are written in the same transaction.
        """
        async with transaction(self.sessions) as session:
            rows = (
                await session.execute(
                    select(Approval.tool_call_id, Approval.status).where(
                        Approval.conversation_id == conversation_id,
                        Approval.tool_call_id.in_(waiting),
                    )
                )
            ).all()
            if any(status != "pending" for _, status in rows):
                raise StaleDecisionError(
                    "these calls were already decided",
                    where=f"conversation {conversation_id}",
                    fix="reload the conversation: another window answered them",
                )
            if not rows:
                return False
            if not all(tool_call_id in decisions for tool_call_id, _ in rows):
                return True
            for tool_call_id, _ in rows:
                result = await session.execute(
                    update(Approval)
                    .where(
                        Approval.conversation_id == conversation_id,
                        Approval.tool_call_id == tool_call_id,
                        Approval.status == "pending",
                    )
                    .values(
                        status="approved" if decisions[tool_call_id] else "declined",
                        decided_at=utcnow(),
                    )
                )
                if not result.rowcount:  # type: ignore[attr-defined]
                    raise StaleDecisionError(
                        f"the call {tool_call_id} was already decided",
                        where=f"conversation {conversation_id}",
                        fix="reload the conversation: another window answered it",
                    )
            for plugin_id, operation_id in grants:
                await put_grant(
                    session, user.id, plugin_id, operation_id, self.settings.grant_ttl_days
                )
        return True

    async def _default_title(self, conversation_id: str, text: str) -> None:
        async with transaction(self.sessions) as session:
            row = await session.get(ConversationRow, conversation_id)
            if row is not None and not row.title:
                row.title = " ".join(text.split())[:80]

    async def _owned(
        self, session: AsyncSession, user: UserInfo, conversation_id: str
    ) -> ConversationRow:
        row = await session.get(ConversationRow, conversation_id)
        if row is None or row.user_id != user.id or row.deleted_at is not None:
            raise _not_found(conversation_id)
        return row

    async def _summary(self, user: UserInfo, conversation_id: str) -> ChatSummary:
        async with self.sessions() as session:
            row = await self._owned(session, user, conversation_id)
            enabled = await self._enabled(session, [conversation_id])
        return _summary(row, enabled.get(conversation_id, ()))

    @staticmethod
    async def _enabled(
        session: AsyncSession, conversation_ids: list[str]
    ) -> dict[str, tuple[int, ...]]:
        return await session.run_sync(_enabled_of, conversation_ids)


def _enabled_of(
    connection: Connection | Session, conversation_ids: list[str]
) -> dict[str, tuple[int, ...]]:
    """Each conversation's enabled plugins, in the order they were enabled."""
    if not conversation_ids:
        return {}
    rows = connection.execute(_ENABLED, {"ids": conversation_ids}).all()
    enabled: dict[str, list[int]] = {}
    for conversation_id, plugin_id in rows:
        enabled.setdefault(conversation_id, []).append(plugin_id)
    return {key: tuple(value) for key, value in enabled.items()}


def _owner(
    connection: Connection, user: UserInfo, conversation_id: str
) -> Row[int, datetime | None, dict[str, Any] | None]:
    """The conversation's owner row (`_OWNER`); NotFoundError unless it is `user`'s and not
    deleted (another user's is not found either: its id tells nothing)."""
    owner = connection.execute(_OWNER, {"id": conversation_id}).one_or_none()
    if owner is None or owner.user_id != user.id or owner.deleted_at is not None:
        raise _not_found(conversation_id)
    return owner


def _not_found(conversation_id: str) -> NotFoundError:
    return NotFoundError(
        f"no conversation {conversation_id}",
        where="conversations",
        fix="list your conversations to see their ids",
    )


def _unwatched(events: AsyncIterator[Event]) -> AsyncIterator[Event]:
    return events


def _summary(row: ConversationRow, plugin_ids: tuple[int, ...]) -> ChatSummary:
    return ChatSummary(
        row.id, row.title, row.created_at, row.updated_at, plugin_ids, row.history_enabled
    )


async def _asked(
    session: AsyncSession, conversation_id: str, calls: Iterable[ToolCall]
) -> set[str]:
    """Which of these calls have an approval still pending."""
    rows = await session.execute(
        select(Approval.tool_call_id).where(
            Approval.conversation_id == conversation_id,
            Approval.tool_call_id.in_([call.id for call in calls]),
            Approval.status == "pending",
        )
    )
    return set(rows.scalars())


async def _calls(session: AsyncSession, conversation_id: str) -> tuple[dict[str, Any], ...]:
    rows = await session.execute(
        select(Call).where(Call.conversation_id == conversation_id).order_by(Call.started_at)
    )
    return tuple(call_record(row) for row in rows.scalars())


def call_record(row: Call) -> dict[str, Any]:  # Any: JSON values
    """A call row as the debug view shows it (everything in it was redacted when written)."""
    return {
        "id": row.id,
        "plugin_id": row.plugin_id,
        "function_name": row.function_name,
        "operation_id": row.operation_id,
        "method": row.method,
        "url": row.url,
        "request": row.request,
        "status_code": row.status_code,
        "outcome": row.outcome,
        "error": row.error,
        "request_bytes": row.request_bytes,
        "response_bytes": row.response_bytes,
        "response_excerpt": row.response_excerpt,
        "truncated": row.truncated,
        "attempts": row.attempts,
        "duration_ms": row.duration_ms,
        "started_at": row.started_at.isoformat(),
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
    }
