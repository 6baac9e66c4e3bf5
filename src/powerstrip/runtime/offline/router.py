"""`OfflineRouter`: a `Model` that uses plugins without any LLM, from the history alone.

Each completion looks at the end of the history:

- tool results → render them, saying which operation was called with which arguments;
- a user message → pick an operation (or say that none fits), fill its arguments, and either
  call it or ask for the one required argument that is missing. A message that asks for
  several things ("the factorial of 5, 10 and 15", "book a flight ... and book a hotel ...")
  gets several calls in one assistant message (see `several.py`); the host asks approval for
  each consequential one.

A question asks in a fixed form ("To call `X` I need `param`"), so the next turn can recognise
the answer from the history: any server process can continue the conversation.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from powerstrip.errors import ModelError
from powerstrip.runtime.model import (
    ChatMessage,
    ModelDone,
    ModelEvent,
    ModelTextDelta,
    ModelToolCall,
    SamplingOptions,
    ToolCall,
    ToolSpec,
)
from powerstrip.runtime.offline.arguments import (
    answer_value,
    coerce,
    fill_arguments,
    is_identifier,
)
from powerstrip.runtime.offline.followup import (
    earlier_arguments,
    last_record,
    last_records,
    ordinal,
    points_back,
    record_arguments,
)
from powerstrip.runtime.offline.lookup import (
    FIND_PREFIX,
    SEARCH_WORDS,
    finder_arguments,
    finders,
    match_records,
    search_term,
)
from powerstrip.runtime.offline.params import Param, params_of
from powerstrip.runtime.offline.reasoning import rank_records, ranking_of
from powerstrip.runtime.offline.render import (
    is_declined,
    main_records,
    parse_body,
    render_ranked,
    render_result,
)
from powerstrip.runtime.offline.scan import Scan, scan
from powerstrip.runtime.offline.select import ABSTAIN_BELOW, Candidate, Selection, select
from powerstrip.runtime.offline.semantic import preload
from powerstrip.runtime.offline.several import (
    MAX_CALLS,
    blank_opening,
    clause_spans,
    enumerated_spans,
    segment_spans,
    value_context,
    value_sets,
    without_enumerator,
)
from powerstrip.runtime.offline.tokenize import (
    GENERIC_TERMS,
    identifier_words,
    stem,
    terms,
    word_set,
)

__all__ = ["OfflineRouter"]

logger = logging.getLogger(__name__)

_QUESTION = re.compile(r"^To call `([^`]+)` I need `([^`]+)`")
_SUGGESTION = re.compile(r"^I did not call any plugin\. Did you mean `([^`]+)`")
_YES = re.compile(
    r"^(?:yes|yeah|yep|yup|sure|ok|okay|please|please do|do it|go ahead|correct|right|"
    r"that one|exactly|y)\b[\s.!,]*(?:please|thanks|thank you)?[\s.!]*$",
    re.IGNORECASE,
)
# An answer longer than this is a new request, not the value that was asked for.
_ANSWER_WORDS = 12
# Below the threshold but above this, the best operation is named in a clarifying question.
_MIDDLING = 0.25
# An operation below the threshold is still called when its name is in the message and the
# message fills every argument it requires: the words say what to do and what with.
_RESCUE_FLOOR = 0.12
# The router reads only the end of the history: the last few turns, at most so many messages.
# A follow-up points at what the last answers showed, a question is answered on the next turn,
# and a value the user gave is carried over from these turns; what is older is not read, so a
# turn costs the same at turn 50 as at turn 1.
RECENT_TURNS = 8
RECENT_MESSAGES = 64


@dataclass(frozen=True, slots=True)
class _Decision:
    """What to do for a user message: call, or say something (a question, an abstention)."""

    text: str = ""
    call: ToolCall | None = None
    # Further calls of the same turn: a message that asks for several things at once.
    more: tuple[ToolCall, ...] = ()


@dataclass(frozen=True, slots=True)
class _Request:
    """One request of a message: an operation, its arguments, and where it was read."""

    tool: ToolSpec
    arguments: dict[str, Any]  # Any: JSON
    span: tuple[int, int]
    own: dict[str, Any] = field(default_factory=dict)  # what its own words gave
    # Parameters it took from the request before (name → that request's parameter): "the
    # GDP in these years" takes every year the request before was made for.
    inherited: dict[str, str] = field(default_factory=dict)


def _dumps(arguments: dict[str, Any]) -> str:  # Any: JSON
    return json.dumps(arguments, ensure_ascii=False)


def _call_id() -> str:
    return f"offline-{uuid.uuid4().hex[:12]}"


_OPENING = re.compile(
    r"^[\s,;.]*(?:and|also|additionally|then|plus|afterwards|after that|as well as|&)\b",
    re.IGNORECASE,
)


# A clause that asks the request before it again, with the values it gives: "then do the
# same for Seattle", "repeat the analysis for 'deletion'", "once more with 10 seconds".
_REFERS_BACK = re.compile(
    r"\b(?:the\s+same|repeat(?:s|ed|ing)?|again|once\s+more|likewise|similarly)\b", re.IGNORECASE
)
_FURTHER = re.compile(r"\b(?:also|additionally|then|afterwards|as well as|plus)\b", re.IGNORECASE)
_REPEATS = re.compile(r"\b(?:another|also)\W*$", re.IGNORECASE)
# A part that opens with the next of an enumeration ("The second car ...", "In the third
# round, ...", "Lastly, ...") describes another one: its new values are another call.
_NEXT_OF_ENUMERATION = re.compile(
    r"^\W*(?:(?:in|for|on|at|with)\s+)?(?:the\s+)?"
    r"(?:second|third|fourth|fifth|sixth|2nd|3rd|4th|5th|6th|last|final|other|secondly|thirdly"
    r"|lastly|finally)\b",
    re.IGNORECASE,
)


def _without_opener(part: str) -> str:
    """The clause with the word that opens it blanked out ("Additionally, what ..."): a
    capitalised opener is no name to fill an argument with."""
    return blank_opening(_OPENING, part)


def _opens_request(part: str) -> bool:
    """Whether a clause says it is a further request ("Also, compute ...", "and then ...")."""
    return _OPENING.match(part) is not None


class OfflineRouter:
    """Chooses and calls plugin operations from the user's words; no API key, no network."""

    def __init__(
        self,
        *,
        threshold: float = ABSTAIN_BELOW,
        today: Callable[[], date] = date.today,
    ) -> None:
        self.threshold = threshold
        self._today = today
        preload()

    @property
    def name(self) -> str:
        return "offline"

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolSpec],
        *,
        sampling: SamplingOptions | None = None,
    ) -> AsyncIterator[ModelEvent]:
        """Answer from the history: tool calls (one, or one per request), or a text reply.

        `sampling` is ignored: the router's answers are rules, not samples.
        """
        try:
            decision = self._decide(messages, tools)
        except ModelError:
            raise
        except Exception as exc:
            # The router is heuristics over arbitrary text and schemas: a bug must end this
            # turn as a model failure the loop reports, never as a crash of the server.
            logger.exception("offline.failed")
            raise ModelError(
                f"the offline router could not handle this message ({type(exc).__name__})",
                where="offline router",
                fix="rephrase the message, or configure a model URL",
            ) from exc
        if decision.text:
            yield ModelTextDelta(decision.text)
        if decision.call is not None:
            for call in (decision.call, *decision.more):
                yield ModelToolCall(call)
            yield ModelDone("tool_calls")
        else:
            yield ModelDone("stop")

    # -- decisions ---------------------------------------------------------------------------

    def _decide(self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec]) -> _Decision:
        """The reply to the history as it stands (no I/O; `stream` wraps it)."""
        history = recent(messages)
        if history and history[-1].role == "tool" and tools:
            continued = self._after_lookup(history, tools)
            if continued is not None:
                return continued
        if history and history[-1].role == "tool":
            return _Decision(self._results(history))
        user_index = next(
            (i for i in range(len(history) - 1, -1, -1) if history[i].role == "user"), None
        )
        if user_index is None:
            return _Decision("Ask me something, and I will pick a plugin operation for it.")
        text = unquoted(history[user_index].content or "")
        if not tools:
            return _Decision(
                "No plugin is enabled in this conversation, so there is nothing I can call. "
                "Enable a plugin and ask again."
            )
        earlier = history[:user_index]
        answered = self._answered_question(earlier, text, tools)
        if answered is not None:
            return answered
        confirmed = self._confirmed(earlier, text, tools)
        if confirmed is not None:
            return confirmed
        return self._request(text, tools, earlier)

    def _request(
        self,
        text: str,
        tools: Sequence[ToolSpec],
        earlier: Sequence[ChatMessage],
        preset: dict[str, Any] | None = None,
        tool: ToolSpec | None = None,
    ) -> _Decision:
        fresh = preset is None and tool is None
        pointed = ordinal(text)
        records = last_records(earlier) if pointed is not None else None
        # "the second one" names a list item, not an operation: leave it out of the choice.
        query = text
        if pointed is not None and records:
            query = text[: pointed[1][0]] + " " + text[pointed[1][1] :]
        scanned = scan(query, self._today())
        if tool is None:
            selection = select(query, tools, threshold=self.threshold)
            chosen = selection.chosen or self._rescue(query, selection, scanned)
            if chosen is None and fresh:
                listed = self._listed(query, tools, selection, scanned)
                if len(listed) > 1:
                    made = [ToolCall(_call_id(), t.name, _dumps(a)) for t, a in listed]
                    return _Decision(call=made[0], more=tuple(made[1:]))
            if chosen is None:
                found_tool = self._in_context(query, selection, scanned, text, earlier, tools)
                if found_tool is None:
                    return _Decision(self._abstain(text, selection, tools, scanned))
                tool = found_tool
            else:
                tool = chosen.tool
        params = params_of(tool.parameters)
        arguments, missing = self._arguments(tool, scanned, text, earlier, preset)
        if pointed is not None and not records:
            # "item number 3" with no list shown: a position, never an id (but "the number
            # 5" is still a number for anything else).
            written = text[pointed[1][0] : pointed[1][1]]
            for param in params:
                value = arguments.get(param.name)
                if is_identifier(param) and str(value) in re.findall(r"\d+", written):
                    del arguments[param.name]
                    if param.required:
                        missing.append(param)
        by_name = {param.name: param for param in params}
        arguments = {
            name: coerce(by_name[name], value) if name in by_name else value
            for name, value in arguments.items()
        }
        search = next(
            (p for p in params if p.name.lower() in SEARCH_WORDS and p.type == "string"), None
        )
        if search is not None and search.name not in arguments:
            term = search_term(search, tool, scanned, arguments)
            if term is not None:
                arguments[search.name] = term[0]
        if preset is None or not any(is_identifier(p) and p.name in preset for p in params):
            lookup = self._lookup(tool, params, arguments, scanned, tools, text)
            if lookup is not None:
                return lookup
        ranking = ranking_of(text)
        for param in params:
            # "top 3 by wins": the records are sorted here, so fetch as many as allowed.
            if ranking is not None and param.is_a("count") and param.maximum is not None:
                arguments[param.name] = int(param.maximum)
        # "the second one" with a list shown points at one record: one call.
        if fresh and not (pointed is not None and records):
            several = self._several(query, tools, tool, arguments, missing, scanned)
            if len(several) > 1:
                made = [ToolCall(_call_id(), t.name, _dumps(a)) for t, a in several]
                return _Decision(call=made[0], more=tuple(made[1:]))
        if missing:
            return _Decision(self._ask(tool, missing[0], arguments))
        call = ToolCall(_call_id(), tool.name, _dumps(arguments))
        return _Decision(call=call)

    def _listed(
        self, text: str, tools: Sequence[ToolSpec], selection: Selection, scanned: Scan
    ) -> list[tuple[ToolSpec, dict[str, Any]]]:
        """The calls of a message that lists values for its best operation, though that
        operation's fit is middling: "convicted in San Francisco in 2019 and ones in Texas
        in 2018" reads as one call's values left unexplained, while it is every required
        value several times over. Empty unless every call is of that operation and
        complete, and nothing contradicts it."""
        best = selection.best
        # A word that says it is another kind of thing ("monsoon rainfall") is no less
        # against it for being said of two cities.
        if best is None or best.fit < _MIDDLING or best.contradicted:
            return []
        filled = fill_arguments(best.tool.parameters, scanned)
        if filled.missing or filled.guessed:
            return []
        calls = self._several(text, tools, best.tool, dict(filled.arguments), [], scanned)
        required = [p.name for p in params_of(best.tool.parameters) if p.required]
        if len(calls) < 2 or any(
            t is not best.tool or any(n not in a for n in required) for t, a in calls
        ):
            return []
        return calls

    def _several(
        self,
        text: str,
        tools: Sequence[ToolSpec],
        tool: ToolSpec,
        arguments: dict[str, Any],
        missing: Sequence[Param],
        scanned: Scan,
    ) -> list[tuple[ToolSpec, dict[str, Any]]]:
        """The calls a message asks for when it asks for more than one (else one or none):
        its requests (clauses that select an operation with values of their own), each
        spread over the values it lists for a scalar parameter."""
        # A further request either brings values the one call does not use or says it is one
        # ("Also compute the distance"): otherwise the clauses are not selected one by one.
        maybe = bool(missing) or _FURTHER.search(text) is not None
        params = params_of(tool.parameters)
        requests = (
            self._requests(text, tools)
            if maybe or _unused_values(params, arguments, scanned)
            else []
        )
        if requests and {r.tool.name for r in requests} == {tool.name} and enumerated_spans(text):
            # Sentences that enumerate items of the one operation ("For the first ramp ...
            # For the second ramp ...") are its items, read over the whole message.
            requests = []
        if len(requests) < 2:
            if missing:
                return []
            requests = [_Request(tool, arguments, (0, len(text)))]
        calls: list[tuple[ToolSpec, dict[str, Any]]] = []
        previous_made: list[dict[str, Any]] = []
        for request in requests:
            start, end = request.span
            part = (
                scanned if (start, end) == (0, len(text)) else scan(text[start:end], self._today())
            )
            params = params_of(request.tool.parameters)
            own_made: list[dict[str, Any]] = []
            for base in _for_each_inherited(request, previous_made):
                # An enumeration's items are one call each, a list in step with them
                # included; otherwise the request's parts, each spread over its lists.
                sets = self._enumerated_frames(request.tool, params, base, part) or [
                    v
                    for frame in self._frames(request.tool, params, base, part)
                    for v in value_sets(params, frame, part)
                ]
                for values in sets:
                    by_name = {p.name: p for p in params}
                    coerced = {
                        k: coerce(by_name[k], v) if k in by_name else v for k, v in values.items()
                    }
                    own_made.append(coerced)
                    if (request.tool, coerced) not in calls:
                        calls.append((request.tool, coerced))
            previous_made = own_made
            made = [a for t, a in calls if t is request.tool]
            for other in _coordinated(part, request.tool, tools):
                for arguments in made:
                    filled = fill_arguments(other.parameters, part)
                    given = dict(filled.arguments)
                    for param in params_of(other.parameters):
                        if param.name in arguments:
                            given[param.name] = arguments[param.name]
                    complete = all(
                        p.name in given for p in params_of(other.parameters) if p.required
                    )
                    if complete and (other, given) not in calls:
                        calls.append((other, given))
        return calls if len(calls) <= MAX_CALLS else []

    def _frames(
        self, tool: ToolSpec, params: Sequence[Param], arguments: dict[str, Any], scanned: Scan
    ) -> list[dict[str, Any]]:
        """One request said again with other values: "stage 7 in easy mode and stage 3 in
        hard mode". Its parts are read in turn; a part that gives a parameter another value
        than the part before starts another call. A value only one call was given is shared
        ("... and Rock in Australia"); one no part gives is the whole request's."""
        if not _unused_values(params, arguments, scanned):
            return [arguments]  # every value is the one call's: nothing to say again with
        spans = segment_spans(scanned)
        if len(spans) < 2:
            return [arguments]
        vocabulary = frozenset(re.findall(r"[A-Za-z]{2,}", tool.description))
        by_name = {param.name: param for param in params}
        groups: list[dict[str, Any]] = []
        contexts: list[dict[str, frozenset[str]]] = []
        for start, end in spans:
            part = scan(scanned.text[start:end], self._today())
            # "another with entropy criterion", "also for a person who is 5.6 feet": said to
            # be another one, so a new value is enough, whatever words are around it.
            said_again = (
                _REPEATS.search(scanned.text[max(0, start - 12) : start]) is not None
                or _NEXT_OF_ENUMERATION.match(scanned.text[start:end]) is not None
            )
            filled = fill_arguments(tool.parameters, part, vocabulary=vocabulary, read_only=True)
            own = {name: filled.arguments[name] for name in filled.offered}
            if groups:
                own.update(_same_shape(part, own, groups[-1], contexts[-1], by_name))
            if not own:
                continue
            around = {name: value_context(part, value) for name, value in own.items()}
            # Another call: a value the one call left unused, between the same words as the
            # value it replaces ("of 4 seconds, then ... of 10 seconds").
            again = groups and any(
                name in groups[-1]
                and groups[-1][name] != value
                and not _used(value, arguments)
                and (said_again or around[name] & contexts[-1][name])
                for name, value in own.items()
            )
            if groups and not again:
                for name, value in own.items():
                    if name not in groups[-1]:
                        groups[-1][name] = value
                        contexts[-1][name] = around[name]
            else:
                groups.append(own)
                contexts.append(around)
        if len(groups) < 2:
            return [arguments]
        frames: list[dict[str, Any]] = []
        for index, group in enumerate(groups):
            frame: dict[str, Any] = {}
            for param in params:
                holders = [g for g in groups if param.name in g]
                if param.name in group:
                    frame[param.name] = group[param.name]
                elif len(holders) == 1:
                    frame[param.name] = holders[0][param.name]
                elif earlier := [g for g in groups[:index] if param.name in g]:
                    frame[param.name] = earlier[-1][param.name]
                elif param.name in arguments:
                    frame[param.name] = arguments[param.name]
                elif param.required:
                    return [arguments]
            frames.append(frame)
        return frames

    def _enumerated_frames(
        self, tool: ToolSpec, params: Sequence[Param], arguments: dict[str, Any], scanned: Scan
    ) -> list[dict[str, Any]]:
        """One call per sentence of an enumeration ("The first car ... The second car ..."),
        with the values it gives; what no such sentence gives is the whole message's. A
        value the whole message read that another sentence of the enumeration gave is that
        sentence's, so a sentence lacking it keeps it only when it is required."""
        if not _unused_values(params, arguments, scanned):
            return []  # every value is the one call's: nothing to enumerate
        vocabulary = frozenset(re.findall(r"[A-Za-z]{2,}", tool.description))
        owns: list[dict[str, Any]] = []
        for start, end in enumerated_spans(scanned.text):
            sentence = _without_opener(without_enumerator(scanned.text[start:end]))
            part = scan(sentence, self._today())
            filled = fill_arguments(tool.parameters, part, vocabulary=vocabulary, read_only=True)
            own = {name: filled.arguments[name] for name in filled.offered}
            if own:
                owns.append(own)
        if len(owns) < 2 or all(own == owns[0] for own in owns):
            return []
        # A list no item gives, of as many values as there are items, goes with them in
        # step: "two datasets, 'a' and 'b'. For the first run ... For the second run ...".
        in_step: dict[str, list[Any]] = {}
        for param in params:
            if param.name in arguments and not any(param.name in own for own in owns):
                rows = value_sets(params, {param.name: arguments[param.name]}, scanned)
                if len(rows) == len(owns):
                    in_step[param.name] = [row[param.name] for row in rows]
        frames: list[dict[str, Any]] = []
        for index, own in enumerate(owns):
            frame = dict(own)
            for param in params:
                if param.name in frame or param.name not in arguments:
                    continue
                others = [o[param.name] for o in owns if param.name in o]
                if param.name in in_step:
                    frame[param.name] = in_step[param.name][index]
                elif param.required or arguments[param.name] not in others:
                    frame[param.name] = arguments[param.name]
            frames.append(frame)
        return frames

    def _requests(self, text: str, tools: Sequence[ToolSpec]) -> list[_Request]:
        """The clauses of `text` that each make a request, with their arguments.

        A clause makes a request when it selects an operation and fills what it requires,
        from its own words or from the request before it ("Also compute the distance"). A
        clause that selects nothing, or the same operation without a value that differs, only
        adds detail to the request before it. Empty unless every request is complete.
        """
        # Words of some operations' names but not of all: what tells one operation from
        # another ("lcm" beside "gcd"), never a word every operation has.
        stems = [_name_stems(t.name) for t in tools]
        shared = frozenset.intersection(*stems) if stems else frozenset()
        names = frozenset().union(*stems) - shared
        spans = clause_spans(text, names)
        if len(spans) < 2:
            return []
        requests: list[_Request] = []
        for start, end in spans:
            part = text[start:end]
            part_scan = scan(_without_opener(part), self._today())
            selection = select(part, tools, threshold=self.threshold)
            chosen = selection.chosen or self._rescue(part, selection, part_scan)
            best = selection.best
            # Chosen on less evidence: a clause that turns out incomplete is then no request,
            # rather than a reason to read the message as one.
            lax = False
            if (
                chosen is None
                and best is not None
                and requests
                and _opens_request(part)
                and max(best.fit, best.lexical_fit) >= _MIDDLING
                and best.tool.name != requests[-1].tool.name
            ):
                # "..., also get me a train ticket": said to be a further request, so the
                # best operation for it needs less evidence than a message of its own; and
                # its words alone may be enough, when what it lacks is what the request
                # before gave ("Additionally, the GDP in these years").
                chosen, lax = best, best.fit < _MIDDLING
            if chosen is None:
                again = self._said_again(part, part_scan, requests)
                if again is not None:
                    requests.append(_Request(again[0], again[1], (start, end), again[2]))
                elif requests:
                    requests[-1] = _with_detail(requests[-1], part_scan)
                continue
            vocabulary = frozenset(re.findall(r"[A-Za-z]{2,}", chosen.tool.description))
            filled = fill_arguments(chosen.tool.parameters, part_scan, vocabulary=vocabulary)
            params = params_of(chosen.tool.parameters)
            own = {
                p.name: filled.arguments[p.name]
                for p in params
                if p.name in filled.arguments
                and not (p.has_default and filled.arguments[p.name] == p.default)
            }
            previous = requests[-1] if requests else None
            if (
                previous is not None
                and previous.tool.name == chosen.tool.name
                and not any(previous.own.get(k, v) != v for k, v in own.items())
            ):
                # The same request, told more about.
                merged = {**previous.arguments, **own}
                requests[-1] = _Request(
                    previous.tool, merged, (previous.span[0], end), {**previous.own, **own}
                )
                continue
            if not own and not _opens_request(part):
                continue
            found = dict(filled.arguments)
            inherited: dict[str, str] = {}
            for param in filled.missing:
                # What the request before it gave: "the same company", "the object".
                if previous is not None:
                    given = _inherited(param, previous)
                    if given is not None:
                        inherited[param.name], found[param.name] = given
            if lax and any(p.name not in found for p in filled.missing):
                continue
            requests.append(_Request(chosen.tool, found, (start, end), own, inherited))
        # A request still incomplete once the details after it are read: the clauses are
        # not requests of their own.
        for request in requests:
            required = (p.name for p in params_of(request.tool.parameters) if p.required)
            if any(name not in request.arguments for name in required):
                return []
        return requests

    def _said_again(
        self, part: str, part_scan: Scan, requests: Sequence[_Request]
    ) -> tuple[ToolSpec, dict[str, Any], dict[str, Any]] | None:
        """A clause that selects nothing but says it asks the request before again with
        other values: "then do the same for Seattle", "repeat it with 'deletion'". Returns
        that operation, the arguments (the request before's, with the clause's own), and the
        clause's own values; None when it says nothing again or gives no other value."""
        if not requests or _REFERS_BACK.search(part) is None:
            return None
        previous = requests[-1]
        vocabulary = frozenset(re.findall(r"[A-Za-z]{2,}", previous.tool.description))
        filled = fill_arguments(
            previous.tool.parameters, part_scan, vocabulary=vocabulary, read_only=True
        )
        own = {name: filled.arguments[name] for name in filled.offered}
        if not any(previous.arguments.get(name) != value for name, value in own.items()):
            return None
        return previous.tool, {**previous.arguments, **own}, own

    def _arguments(
        self,
        tool: ToolSpec,
        scanned: Scan,
        text: str,
        earlier: Sequence[ChatMessage],
        preset: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], list[Param]]:
        """The arguments for `tool` from the message, then from the conversation: the record
        pointed at ("the second one", "take it off") and values the user gave earlier."""
        vocabulary = frozenset(re.findall(r"[A-Za-z]{2,}", tool.description))
        filled = fill_arguments(tool.parameters, scanned, preset=preset, vocabulary=vocabulary)
        arguments = dict(filled.arguments)
        missing = list(filled.missing)
        pointed = ordinal(text)
        records = last_records(earlier) if pointed is not None else None
        if missing and records and pointed is not None:
            position = pointed[0]
            if -len(records) <= position < len(records):
                found = record_arguments(missing, records[position])
                arguments.update(found)
                missing = [p for p in missing if p.name not in found]
        if missing and pointed is None and points_back(text):
            # "take it off": the record the last answer was about.
            record = last_record(earlier)
            if record is not None:
                found = record_arguments(missing, record)
                arguments.update(found)
                missing = [p for p in missing if p.name not in found]
        if missing:
            carried = earlier_arguments(earlier)
            said = " ".join(m.content or "" for m in earlier if m.role == "user").casefold()
            for param in list(missing):
                # Only what the user gave is reused, never a value the router guessed.
                if param.name in carried and _said(carried[param.name], said):
                    arguments[param.name] = carried[param.name]
                    missing.remove(param)
        return arguments, missing

    def _in_context(
        self,
        query: str,
        selection: Selection,
        scanned: Scan,
        text: str,
        earlier: Sequence[ChatMessage],
        tools: Sequence[ToolSpec],
    ) -> ToolSpec | None:
        """An operation the conversation completes: a follow-up that says what to do but not
        with what ("take it off my list", "remove the first one"), or says only that it is
        about what was just done ("what's on it now?")."""
        last = _last_call(earlier)
        if last is None:
            return None
        words = set(terms(query))
        for candidate in selection.ranked[:3]:
            name = candidate.tool.name.rpartition("__")[2]
            # Judged on its words: the arguments it lacks are what the conversation gives.
            if candidate.lexical_fit < _RESCUE_FLOOR:
                continue
            # A specific word of its name says what to do; the conversation says with what.
            if not (set(terms(identifier_words(name))) - GENERIC_TERMS) & words:
                continue
            if not self._arguments(candidate.tool, scanned, text, earlier)[1]:
                return candidate.tool
        if words - GENERIC_TERMS or not (points_back(text) or ordinal(text)):
            return None
        # Nothing but "it": the reading operation of the same plugin about the same things
        # as the last call (`list_todos` after `add_todo`).
        namespace, _, operation = last.name.rpartition("__")
        things = set(terms(identifier_words(operation))) - GENERIC_TERMS - _VERB_TERMS
        for tool in tools:
            space, _, own = tool.name.rpartition("__")
            own_terms = set(terms(identifier_words(own)))
            if space != namespace or not own_terms & GENERIC_TERMS or not own_terms & things:
                continue
            if own_terms - GENERIC_TERMS - things:
                continue
            if not self._arguments(tool, scanned, text, earlier)[1]:
                return tool
        return None

    def _rescue(self, query: str, selection: Selection, scanned: Scan) -> Candidate | None:
        """A candidate below the threshold whose name words and required arguments are there."""
        words = set(terms(query))
        for candidate in selection.ranked[:3]:
            if candidate.fit < _RESCUE_FLOOR or candidate.contradicted:
                continue
            name = candidate.tool.name.rpartition("__")[2]
            # A specific word of its name ("add", "delete", "series"), not "get" or "list",
            # and none that says it is another one ("a *pet* store" for a grocery store).
            if not (set(terms(identifier_words(name))) - GENERIC_TERMS) & words:
                continue
            filled = fill_arguments(candidate.tool.parameters, scanned)
            required = [p for p in params_of(candidate.tool.parameters) if p.required]
            # Filled from the message: a kind guessed by meaning does not count.
            if not filled.missing and all(
                p.name in filled.arguments
                and p.name not in filled.guessed
                and not (p.has_default and not p.is_a("free_text"))
                for p in required
            ):
                return candidate
        return None

    def _lookup(
        self,
        tool: ToolSpec,
        params: Sequence[Param],
        arguments: dict[str, Any],
        scanned: Scan,
        tools: Sequence[ToolSpec],
        text: str,
        start: int = 0,
        after: int = 0,
    ) -> _Decision | None:
        """A call to the operation that finds an id the message names but does not give."""
        used = " ".join(str(v) for v in arguments.values()).casefold()
        names = [p.text for p in scanned.names if p.text.casefold() not in used]
        if not names:
            return None
        for index, param in enumerate(params):
            if index < after or param.name in arguments or not is_identifier(param):
                continue
            found = finders(tool, param, tools)
            first = start if index == after else 0
            if first >= len(found):
                continue
            finder = found[first]
            call_id = f"{FIND_PREFIX}{param.name}-{first}-{uuid.uuid4().hex[:8]}"
            lookup_arguments = finder_arguments(finder, names[0], arguments)
            return _Decision(call=ToolCall(call_id, finder.name, _dumps(lookup_arguments)))
        return None

    def _after_lookup(
        self, history: Sequence[ChatMessage], tools: Sequence[ToolSpec]
    ) -> _Decision | None:
        """After a lookup's result: the call asked for, with the id found (or a question)."""
        call_index = next(
            (i for i in range(len(history) - 1, -1, -1) if history[i].tool_calls), None
        )
        if call_index is None:
            return None
        call = history[call_index].tool_calls[0]
        if not call.id.startswith(FIND_PREFIX):
            return None
        param_name, _, rest = call.id.removeprefix(FIND_PREFIX).rpartition("-")[0].rpartition("-")
        position = int(rest) if rest.isdigit() else 0
        user_index = next(
            (i for i in range(call_index - 1, -1, -1) if history[i].role == "user"), None
        )
        if user_index is None:
            return None
        text = unquoted(history[user_index].content or "")
        earlier = history[:user_index]
        selection = select(text, tools, threshold=self.threshold)
        scanned = scan(text, self._today())
        chosen = selection.chosen or self._rescue(text, selection, scanned)
        if chosen is None:
            return None
        tool = chosen.tool
        param = next((p for p in params_of(tool.parameters) if p.name == param_name), None)
        if param is None:
            return None
        value, _ = parse_body(history[-1].content or "")
        _, records = main_records(value)
        known = {str(v).casefold() for v in json.loads(call.arguments or "{}").values()}
        names = [p.text for p in scanned.names]
        looked = [n for n in names if n.casefold() in known] or names[:1]
        matches = [m for name in looked for m in match_records(records or [], name, param)]
        if not matches and not (records and len(names) > len(looked)):
            # Not found by this operation: try the next one that finds such things.
            filled = fill_arguments(tool.parameters, scanned)
            params = params_of(tool.parameters)
            # The next finder of this parameter, else the next id parameter's first finder.
            index = next(i for i, p in enumerate(params) if p.name == param_name)
            again = self._lookup(
                tool, params, dict(filled.arguments), scanned, tools, text, position + 1, index
            )
            if again is None:
                again = self._lookup(
                    tool, params, dict(filled.arguments), scanned, tools, text, 0, index + 1
                )
            if again is not None:
                return again
            return _Decision(
                f"Called {call.name} with {call.arguments}: nothing matched "
                f"“{looked[0] if looked else text}”, so I did not call {tool.name}."
            )
        # A listing names every thing at once: "compare the Yankees and the Mets".
        for name in names:
            if name not in looked:
                matches += match_records(records or [], name, param)
        distinct = list({json.dumps(m.id): m for m in matches}.values())
        if len(distinct) > 1 and (param.type != "array" or len(distinct) > len(names)):
            options = ", ".join(f"{m.label} ({m.id})" for m in distinct[:8])
            return _Decision(
                f"Called {call.name} with {call.arguments}. Several match: {options}. "
                f"Which one do you mean for {tool.name}?"
            )
        ids = [m.id for m in distinct]
        preset = {param.name: ids if param.type == "array" else ids[0]}
        return self._request(text, tools, earlier, preset, tool)

    def _answered_question(
        self, earlier: Sequence[ChatMessage], answer: str, tools: Sequence[ToolSpec]
    ) -> _Decision | None:
        """If the router asked for an argument last turn, continue that request with it."""
        if len(earlier) < 2 or earlier[-1].role != "assistant" or earlier[-1].tool_calls:
            return None
        match = _QUESTION.match(earlier[-1].content or "")
        if match is None or len(answer.split()) > _ANSWER_WORDS:
            return None
        tool = next((t for t in tools if t.name == match[1]), None)
        request_index = next(
            (i for i in range(len(earlier) - 2, -1, -1) if earlier[i].role == "user"), None
        )
        if tool is None or request_index is None:
            return None
        param = next((p for p in params_of(tool.parameters) if p.name == match[2]), None)
        if param is None:
            return None
        value = answer_value(param, scan(answer, self._today()))
        if value is None:
            return _Decision(self._ask(tool, param, {}, again=True))
        # Earlier answers in a chain of questions were presets too: rebuild them first.
        preset = self._earlier_answers(earlier[: request_index + 1], tool)
        preset[param.name] = value
        request = unquoted(earlier[request_index].content or "")
        return self._request(request, tools, earlier[:request_index], preset, tool)

    def _confirmed(
        self, earlier: Sequence[ChatMessage], answer: str, tools: Sequence[ToolSpec]
    ) -> _Decision | None:
        """A "yes" to "Did you mean `X`?": the request of that turn, made with `X`."""
        if len(earlier) < 2 or earlier[-1].role != "assistant" or earlier[-1].tool_calls:
            return None
        match = _SUGGESTION.search(earlier[-1].content or "")
        if match is None or not _YES.match(answer.strip()):
            return None
        tool = next((t for t in tools if t.name == match[1]), None)
        request_index = next(
            (i for i in range(len(earlier) - 2, -1, -1) if earlier[i].role == "user"), None
        )
        if tool is None or request_index is None:
            return None
        request = unquoted(earlier[request_index].content or "")
        return self._request(request, tools, earlier[:request_index], tool=tool)

    def _earlier_answers(self, earlier: Sequence[ChatMessage], tool: ToolSpec) -> dict[str, Any]:
        """Answers to questions about `tool` asked just before `earlier`'s last user message."""
        preset: dict[str, Any] = {}
        params = {p.name: p for p in params_of(tool.parameters)}
        index = len(earlier) - 1
        while index >= 2 and earlier[index - 1].role == "assistant":
            match = _QUESTION.match(earlier[index - 1].content or "")
            if match is None or match[1] != tool.name or match[2] not in params:
                break
            value = answer_value(
                params[match[2]], scan(earlier[index].content or "", self._today())
            )
            if value is not None:
                preset.setdefault(match[2], value)
            index -= 2
        return preset

    # -- replies -----------------------------------------------------------------------------

    def _ask(self, tool: ToolSpec, param: Param, found: dict[str, Any], again: bool = False) -> str:
        what = f" ({param.description.strip().rstrip('.')})" if param.description else ""
        lines = [f"To call `{tool.name}` I need `{param.name}`{what}."]
        if param.enum:
            lines.append("One of: " + ", ".join(str(m) for m in param.enum) + ".")
        if found:
            lines.append(f"So far I have {_dumps(found)}.")
        if again:
            lines.append("I could not read a value from your answer.")
        lines.append(f"What should `{param.name}` be?")
        return " ".join(lines)

    def _abstain(
        self, text: str, selection: Selection, tools: Sequence[ToolSpec], scanned: Scan
    ) -> str:
        best = selection.best
        if best is not None and best.fit >= _MIDDLING:
            # Middling evidence: name the best candidate, with what was understood, and let
            # a "yes" on the next turn make the call.
            filled = fill_arguments(best.tool.parameters, scanned)
            found = f" with {_dumps(filled.arguments)}" if filled.arguments else ""
            return (
                f"I did not call any plugin. Did you mean `{best.tool.name}` "
                f"({_first_sentence(best.tool.description)}){found}? Say yes to call it, "
                "or ask again with the details."
            )
        can = _what_i_can_do(tools)
        if not terms(text):
            # "hi", "what can you do?": nothing but function words.
            return f"Hello! With the enabled plugins I can help with {can}. What would you like?"
        return f"I did not call any plugin: that is not something they do. I can help with {can}."

    def _results(self, history: Sequence[ChatMessage]) -> str:
        """The answer after tool results: one paragraph per call, naming call and arguments."""
        call_index = next(
            (i for i in range(len(history) - 1, -1, -1) if history[i].tool_calls), None
        )
        if call_index is None:
            return render_result(history[-1].content)
        answers = {m.tool_call_id: m.content for m in history[call_index + 1 :] if m.role == "tool"}
        parts: list[str] = []
        for call in history[call_index].tool_calls:
            if call.id not in answers:
                continue
            arguments = call.arguments or "{}"
            if is_declined(answers[call.id]):
                parts.append(f"Did not call {call.name} with {arguments}: you declined it.")
                continue
            parts.append(f"Called {call.name} with {arguments}.")
            parts.append(self._answer(history, answers[call.id]))
        return "\n\n".join(parts)

    def _answer(self, history: Sequence[ChatMessage], content: str | None) -> str:
        """The result, sorted and cut when the request asked for the most or the top N."""
        request = next((m.content or "" for m in reversed(history) if m.role == "user"), "")
        ranking = ranking_of(request)
        if ranking is not None and content:
            value, _ = parse_body(content)
            _, records = main_records(value)
            if records and all(isinstance(r, dict) for r in records):
                ranked = rank_records(records, ranking)
                if ranked is not None:
                    return render_ranked(ranked[0], ranked[1], ranking.count, len(records))
        return render_result(content)


# Quotation marks that open and close a whole message: `"Can you ... ?"`, `“…”`.
_WRAPS = {'"': '"', "“": "”", "'": "'"}


def unquoted(text: str) -> str:
    """The message without the quotation marks around the whole of it: a message pasted in
    quotes is the request itself, not a quoted value (`"Can you find ...?"`). Quotes inside
    it stay, and so do quotes that close before the end ("'milk' and 'eggs'")."""
    stripped = text.strip()
    if len(stripped) < 2:
        return text
    close = _WRAPS.get(stripped[0])
    if close is None or stripped[-1] != close:
        return text
    inner = stripped[1:-1]
    if close in inner or (stripped[0] != close and stripped[0] in inner):
        return text
    return inner.strip()


def recent(messages: Sequence[ChatMessage]) -> list[ChatMessage]:
    """The last `RECENT_TURNS` turns of the history (at most `RECENT_MESSAGES` messages),
    without system messages: read from the end, so the cost does not grow with the history."""
    out: list[ChatMessage] = []
    users = 0
    for index in range(len(messages) - 1, max(-1, len(messages) - 1 - RECENT_MESSAGES), -1):
        message = messages[index]
        if message.role == "system":
            continue
        out.append(message)
        if message.role == "user":
            users += 1
            if users >= RECENT_TURNS:
                break
    out.reverse()
    return out


def _inherited(param: Param, previous: _Request) -> tuple[str, Any] | None:  # Any: JSON
    """The parameter of the request before that gave the same thing (`company` for
    `company_name`), and its value."""
    if param.name in previous.arguments:
        return param.name, previous.arguments[param.name]
    for other in params_of(previous.tool.parameters):
        given = other.name in previous.arguments and other.type == param.type
        if given and other.name_terms & param.name_terms:
            return other.name, previous.arguments[other.name]
    return None


def _with_detail(request: _Request, part: Scan) -> _Request:
    """The request with what a clause that selects nothing tells about it ("You are
    considering a 'minor' scale type."): values read on evidence for parameters its own
    words left out; what it gave stays."""
    vocabulary = frozenset(re.findall(r"[A-Za-z]{2,}", request.tool.description))
    filled = fill_arguments(request.tool.parameters, part, vocabulary=vocabulary, read_only=True)
    detail = {name: filled.arguments[name] for name in filled.offered if name not in request.own}
    if not detail:
        return request
    return replace(
        request,
        arguments={**request.arguments, **detail},
        own={**request.own, **detail},
    )


def _for_each_inherited(
    request: _Request, previous_made: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:  # Any: JSON
    """The request's arguments once per value the request before was made with for what
    it inherits: after "the life expectancy in 1900 and 1950", "the GDP in these years" is
    asked for 1900 and for 1950, the way the words refer back to all of them."""
    rows: list[dict[str, Any]] = []
    for made in previous_made:
        row = {name: made[source] for name, source in request.inherited.items() if source in made}
        if len(row) == len(request.inherited) and row not in rows:
            rows.append(row)
    if len(rows) < 2:
        return [request.arguments]
    return [{**request.arguments, **row} for row in rows]


def _unused_values(params: Sequence[Param], arguments: dict[str, Any], scanned: Scan) -> bool:
    """Whether the message has a value the call does not use: a number, name or quoted
    string (or, for an enum, any word: "hard mode")."""
    if any(p.enum for p in params):
        return True
    flat = [
        item
        for value in arguments.values()
        for item in (value if isinstance(value, list) else [value])
    ]
    numbers = {float(v) for v in flat if isinstance(v, int | float) and not isinstance(v, bool)}
    words = " ".join(str(v) for v in flat).casefold()
    if any(
        n.value not in numbers and n.value / 100 not in numbers and n.value * 100 not in numbers
        for n in scanned.numbers
    ):
        return True
    return any(p.text.casefold() not in words for p in (*scanned.names, *scanned.quoted))


def _same_shape(
    part: Scan,
    own: dict[str, Any],
    group: dict[str, Any],
    around: dict[str, frozenset[str]],
    params: dict[str, Param],
) -> dict[str, Any]:  # Any: JSON
    """Numbers of a part that stand where a number of the part before stood: in "$30.45 in
    Chicago, $52.33 in Sacramento", 52.33 is written as 30.45 was (before "in"), so it is the
    purchase amount again, though nothing in its own words names the amount; "of 10 and
    acceleration of 9.8", saying nothing again, is one request."""
    # Only a part that already says the request again, with another value for something
    # the part before gave ("in Sacramento" after "in Chicago"), is read for its shape.
    if not any(name in group and group[name] != value for name, value in own.items()):
        return {}
    taken = {float(v) for v in own.values() if isinstance(v, int | float)}
    out: dict[str, Any] = {}
    for number in part.numbers:
        if number.value in taken:
            continue
        context = value_context(part, number.value)
        fits = [
            name
            for name, value in group.items()
            if name not in own
            and name not in out
            and name in params
            and params[name].type in ("number", "integer")
            and isinstance(value, int | float)
            and not isinstance(value, bool)
            and context & around.get(name, frozenset())
        ]
        if len(fits) == 1:
            integral = params[fits[0]].type == "integer" and number.value == int(number.value)
            out[fits[0]] = int(number.value) if integral else number.value
    return out


# What may stand between two operations named together: "the median and variance", "the
# area, perimeter and the angles".
_COORDINATION = frozenset({",", "and", "&", "the", "a", "an", "its", "their", "his", "her"})


@functools.lru_cache(maxsize=4096)
def _name_stems(name: str) -> frozenset[str]:
    """The specific words of an operation's name, stemmed (memoised: asked per clause)."""
    return frozenset(stem(w.lower()) for w in identifier_words(name)) - GENERIC_TERMS


def _coordinated(part: Scan, chosen: ToolSpec, tools: Sequence[ToolSpec]) -> list[ToolSpec]:
    """Other operations a clause names beside the one it selected, joined to its name by
    "and" or a comma: "Determine the median and variance of 3, 4, 5" asks for the median
    and for the variance. Each must have a word of its name that the chosen one lacks."""
    own = _name_stems(chosen.name)
    words = [stem(t.lower) for t in part.tokens]
    anchors = {i for i, w in enumerate(words) if w in own}
    if not anchors:
        return []
    found: list[ToolSpec] = []
    for tool in tools:
        if tool.name == chosen.name:
            continue
        distinct = _name_stems(tool.name) - own
        if not distinct or not (distinct - _COORDINATION):
            continue
        named = {i for i, w in enumerate(words) if w in distinct}
        if any(_joined(part, a, b) for a in anchors for b in named):
            found.append(tool)
    return found


def _joined(part: Scan, a: int, b: int) -> bool:
    """Whether tokens `a` and `b` are two members of one list: only "and", commas and
    determiners between them, "and" or a comma among them."""
    low, high = min(a, b), max(a, b)
    between = [part.tokens[k].lower for k in range(low + 1, high)]
    return (
        0 < len(between) <= 3
        and all(w in _COORDINATION for w in between)
        and any(w in (",", "and", "&") for w in between)
    )


def _used(value: Any, arguments: dict[str, Any]) -> bool:  # Any: JSON
    """Whether one of `arguments` has `value` (or a value written the same)."""
    written = str(value).casefold()
    return any(str(v).casefold() == written or value == v for v in arguments.values())


def _last_call(history: Sequence[ChatMessage]) -> ToolCall | None:
    """The most recent call made in the history."""
    for message in reversed(history):
        if message.tool_calls:
            return message.tool_calls[-1]
    return None


def _said(value: Any, said: str) -> bool:  # Any: JSON
    """Whether the user's own words contain `value` (every item, for a list)."""
    if isinstance(value, list):
        return bool(value) and all(_said(item, said) for item in value)
    if isinstance(value, bool) or value is None:
        return False
    return str(value).casefold() in said


# Words of operation names that say what is done, not what it is done to.
_VERBS = word_set(
    """
    get list add delete remove create update set find search check calculate compute make
    fetch retrieve show post put patch send run do new
    """
)
_TOPICS_PER_PLUGIN = 4
_VERB_TERMS = frozenset(terms(list(_VERBS)))


def _what_i_can_do(tools: Sequence[ToolSpec]) -> str:
    """The things each enabled plugin works with, in a few words: "todos (todo) and players,
    teams, season averages, stats (sports)"."""
    topics: dict[str, list[str]] = {}
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for tool in tools:
        namespace, _, operation = tool.name.rpartition("__")
        words = [w for w in identifier_words(operation) if w not in _VERBS]
        key = (namespace, tuple(terms(words)))
        if words and key not in seen:
            seen.add(key)
            topics.setdefault(namespace or "plugin", []).append(" ".join(words))
    parts = [
        f"{', '.join(things[:_TOPICS_PER_PLUGIN])} ({name})" for name, things in topics.items()
    ]
    if not parts:
        return "the operations of the enabled plugins"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _first_sentence(text: str) -> str:
    sentence = text.strip().split(". ")[0].strip()
    return sentence if len(sentence) <= 160 else sentence[:159] + "…"
