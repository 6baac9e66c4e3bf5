"""The executor: one plugin call, from the model's arguments to what the model reads back.

Validate the arguments against the tool's JSON Schema, build the request, add the credentials
and the §6 headers, send it through the guarded client (retries within the budget, no
redirects), cut the response for the model, and describe everything that happened — redacted —
for the call record.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from powerstrip.errors import (
    AddressBlockedError,
    FetchTimeoutError,
    NetError,
    RedirectRefusedError,
    TLSPolicyError,
)
from powerstrip.logs import remember_secret
from powerstrip.mcp_client import McpTarget, McpUnauthorizedError, call_tool
from powerstrip.net import GuardedClient, RetryPolicy
from powerstrip.openapi import Tool
from powerstrip.redaction import Redactor
from powerstrip.runtime.request_builder import UnsafeArgumentError, build_request
from powerstrip.runtime.truncate import MODEL_RESPONSE_LIMIT, truncate_for_model

__all__ = ["CallOutcome", "CallRequest", "Executor", "Outcome"]

logger = logging.getLogger(__name__)

Outcome = Literal[
    "ok", "http_error", "network_error", "timeout", "refused", "invalid_arguments", "declined"
]
_EXCERPT = 2_000
_VALIDATOR_CACHE = 512


@dataclass(frozen=True, slots=True)
class CallRequest:
    """Everything the executor needs for one call besides the tool and the arguments."""

    base_url: str
    auth_headers: Mapping[str, str] = field(default_factory=dict)
    context_headers: Mapping[str, str] = field(default_factory=dict)
    # Plaintext secrets of this call (credentials), masked wherever they would be recorded.
    secrets: tuple[str, ...] = ()
    # The plugin's manifest URL, on whose behalf the call is made (None: the API's own origin).
    origin: str | None = None
    # Set for a plugin that is an MCP server: the call is its `tools/call`, not an HTTP request.
    mcp: McpTarget | None = None


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """What happened on one call: for the model (`model_text`) and for the record (the rest)."""

    call_id: str
    function_name: str
    operation_id: str
    method: str
    url: str
    request: dict[str, Any]  # Any: the redacted request as JSON
    outcome: Outcome
    status_code: int | None
    error: str | None
    model_text: str
    truncated: bool
    request_bytes: int
    response_bytes: int
    response_excerpt: str
    attempts: int
    duration_ms: int
    started_at: datetime
    finished_at: datetime

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


class Executor:
    """Runs plugin calls through one guarded client."""

    def __init__(
        self,
        client: GuardedClient,
        *,
        retry: RetryPolicy | None = None,
        response_limit: int = MODEL_RESPONSE_LIMIT,
    ) -> None:
        self.client = client
        self.retry = retry or RetryPolicy()
        self.response_limit = response_limit
        # Keyed by the schema object's id, holding the schema itself so the id cannot be
        # reused by another object while the entry lives; bounded, least recently used out.
        self._validators: OrderedDict[int, tuple[dict[str, Any], Draft202012Validator | None]] = (
            OrderedDict()
        )

    async def execute(self, tool: Tool, arguments_json: str, request: CallRequest) -> CallOutcome:
        """Make the call `tool(arguments_json)`; never raises for the plugin's or model's faults.

        Not for the host's own either: whatever goes wrong ends this call with an outcome, so
        the conversation never waits forever for its answer (only cancellation propagates).
        """
        for secret in request.secrets:
            # A credential fetched just now (a refreshed token) is masked in every log record.
            remember_secret(secret)
        try:
            return await self._execute(tool, arguments_json, request)
        except Exception as exc:
            # The message may quote what failed (an argument, a credential): the log hygiene
            # masks the call's secrets (powerstrip.logs).
            kind = type(exc).__name__
            logger.error(
                "call.crashed function=%s error=%s: %s", tool.function_name, kind, str(exc)[:200]
            )
            return self.not_made(
                tool,
                f"the host failed while making the call ({type(exc).__name__}); it may not have "
                "reached the plugin, and the server log has the details",
            )

    def not_made(self, tool: Tool, reason: str) -> CallOutcome:
        """The outcome of a call the host did not make: refused, with `reason` for the record."""
        now = datetime.now(UTC)
        return CallOutcome(
            call_id=str(uuid.uuid4()),
            function_name=tool.function_name,
            operation_id=tool.operation_id,
            method=tool.method,
            url="",
            request={},
            outcome="refused",
            status_code=None,
            error=reason,
            model_text=f"The call to {tool.function_name} was not made: {reason}",
            truncated=False,
            request_bytes=0,
            response_bytes=0,
            response_excerpt="",
            attempts=0,
            duration_ms=0,
            started_at=now,
            finished_at=now,
        )

    async def _execute(self, tool: Tool, arguments_json: str, request: CallRequest) -> CallOutcome:
        started_at = datetime.now(UTC)
        started = time.monotonic()
        redactor = Redactor(request.secrets)
        call_id = str(uuid.uuid4())

        def finish(**values: Any) -> CallOutcome:  # Any: the fields below
            values.setdefault("request", {})
            values.setdefault("url", "")
            values.setdefault("status_code", None)
            values.setdefault("error", None)
            values.setdefault("truncated", False)
            values.setdefault("request_bytes", 0)
            values.setdefault("response_bytes", 0)
            values.setdefault("response_excerpt", "")
            values.setdefault("attempts", 0)
            return CallOutcome(
                call_id=call_id,
                function_name=tool.function_name,
                operation_id=tool.operation_id,
                method=tool.method,
                duration_ms=round((time.monotonic() - started) * 1000),
                started_at=started_at,
                finished_at=datetime.now(UTC),
                **values,
            )

        arguments, problem = self._arguments(tool, arguments_json)
        if arguments is None:
            message = f"The arguments for {tool.function_name} are not valid: {problem}"
            return finish(outcome="invalid_arguments", error=problem, model_text=message)

        if request.mcp is not None:
            return await self._execute_mcp(tool, arguments, request, redactor, finish)

        try:
            plugin_request = build_request(tool, arguments, request.base_url)
        except UnsafeArgumentError as exc:
            message = f"The arguments for {tool.function_name} are not valid: {exc}"
            return finish(outcome="invalid_arguments", error=str(exc), model_text=message)
        unsendable = _unsendable_header(request.auth_headers) or _unsendable_header(
            request.context_headers
        )
        if unsendable is not None:
            # Never quote the value: it is a credential, or the user's own data. httpx would
            # raise (and quote it) deep inside the send.
            fix = (
                "set the key again, or sign in to the plugin again"
                if unsendable in request.auth_headers
                else "correct the setting it comes from"
            )
            reason = (
                f"the {unsendable} header cannot be sent: its value has a non-ASCII or control "
                f"character; {fix}"
            )
            logger.warning("call.unsendable function=%s header=%s", tool.function_name, unsendable)
            return finish(
                outcome="refused",
                error=reason,
                model_text=f"The call to {tool.function_name} was not made: {reason}",
            )
        headers = {**plugin_request.headers, **request.context_headers, **request.auth_headers}
        if plugin_request.content_type:
            headers["content-type"] = plugin_request.content_type
        record = {
            "arguments": redactor.json(arguments),
            "headers": redactor.headers(headers),
            "body": redactor.json(plugin_request.body_json),
        }
        url = redactor.url(plugin_request.url)
        sent = len(plugin_request.body or b"")
        try:
            response = await self.client.request(
                plugin_request.method,
                plugin_request.url,
                headers=headers,
                content=plugin_request.body,
                retry=self._retry_for(plugin_request.method),
                origin=request.origin,
            )
        except NetError as exc:
            outcome: Outcome = (
                "timeout"
                if isinstance(exc, FetchTimeoutError)
                else "refused"
                if isinstance(exc, AddressBlockedError | TLSPolicyError | RedirectRefusedError)
                else "network_error"
            )
            reason = redactor.text(str(exc))
            logger.info("call.failed function=%s outcome=%s", tool.function_name, outcome)
            return finish(
                outcome=outcome,
                url=url,
                request=record,
                error=reason,
                request_bytes=sent,
                attempts=exc.attempts,
                model_text=f"The call to {tool.function_name} failed: {reason}",
            )
        text = redactor.text(response.text)
        cut = truncate_for_model(text, self.response_limit)
        status = response.status_code
        failure: str | None = None
        if 200 <= status < 300:
            outcome, model_text = "ok", cut.text
        else:
            outcome = "http_error"
            note = " (redirects are not followed on API calls)" if 300 <= status < 400 else ""
            failure = f"HTTP {status}{note}"
            model_text = f"The plugin answered HTTP {status}{note}:\n{cut.text}"
        logger.info(
            "call.done function=%s status=%s bytes=%s attempts=%s",
            tool.function_name,
            status,
            len(response.content),
            response.attempts,
        )
        return finish(
            outcome=outcome,
            url=url,
            request=record,
            status_code=status,
            error=failure,
            model_text=model_text,
            truncated=cut.truncated,
            request_bytes=sent,
            response_bytes=len(response.content),
            response_excerpt=text[:_EXCERPT],
            attempts=response.attempts,
        )

    async def _execute_mcp(
        self,
        tool: Tool,
        arguments: dict[str, Any],  # Any: JSON values
        request: CallRequest,
        redactor: Redactor,
        finish: Callable[..., CallOutcome],
    ) -> CallOutcome:
        """The call as the MCP server's `tools/call` of the tool (its operation id)."""
        assert request.mcp is not None  # the caller checked
        target = request.mcp
        unsendable = _unsendable_header(request.auth_headers) or _unsendable_header(
            request.context_headers
        )
        if unsendable is not None:
            reason = f"the {unsendable} header cannot be sent: its value has a control character"
            return finish(
                outcome="refused",
                error=reason,
                model_text=f"The call to {tool.function_name} was not made: {reason}",
            )
        headers = {**request.context_headers, **request.auth_headers}
        record = {
            "arguments": redactor.json(arguments),
            "headers": redactor.headers(headers) if target.url is not None else {},
            "mcp_tool": tool.operation_id,
        }
        sent = len(json.dumps(arguments).encode())
        try:
            result = await call_tool(
                self.client,
                target,
                tool.operation_id,
                arguments,
                headers=headers if target.url is not None else None,
            )
        except NetError as exc:
            outcome: Outcome = (
                "timeout"
                if isinstance(exc, FetchTimeoutError)
                else "refused"
                if isinstance(exc, AddressBlockedError | TLSPolicyError | RedirectRefusedError)
                else "network_error"
            )
            reason = redactor.text(str(exc))
            logger.info("call.failed function=%s outcome=%s", tool.function_name, outcome)
            # A refused credential is the server's 401, as for an API: the caller renews the
            # user's token once and calls again.
            unauthorized = isinstance(exc, McpUnauthorizedError)
            return finish(
                outcome="http_error" if unauthorized else outcome,
                status_code=401 if unauthorized else None,
                url=redactor.url(target.name),
                request=record,
                error=reason,
                request_bytes=sent,
                attempts=1,
                model_text=f"The call to {tool.function_name} failed: {reason}",
            )
        text = redactor.text(result.text)
        cut = truncate_for_model(text, self.response_limit)
        if result.is_error:
            outcome, failure = "http_error", "the MCP tool answered with an error"
            model_text = f"The tool answered with an error:\n{cut.text}"
        else:
            outcome, failure, model_text = "ok", None, cut.text
        logger.info(
            "call.done function=%s mcp=true error=%s bytes=%s",
            tool.function_name,
            result.is_error,
            result.size,
        )
        return finish(
            outcome=outcome,
            url=redactor.url(target.name),
            request=record,
            error=failure,
            model_text=model_text,
            truncated=cut.truncated,
            request_bytes=sent,
            response_bytes=result.size,
            response_excerpt=text[:_EXCERPT],
            attempts=1,
        )

    def _retry_for(self, method: str) -> RetryPolicy:
        if method.upper() in self.retry.repeatable_methods:
            return self.retry
        # A POST or DELETE that failed with a 5xx may have happened: only a 429 (refused before
        # any work) is retried, so one approved action never runs twice.
        return replace(self.retry, retry_statuses=frozenset({429}))

    def _arguments(self, tool: Tool, text: str) -> tuple[dict[str, Any] | None, str]:
        try:
            value = json.loads(text or "{}")
        except json.JSONDecodeError as exc:
            return None, f"they are not valid JSON ({exc.msg} at position {exc.pos})"
        if not isinstance(value, dict):
            return None, f"they must be a JSON object, got {type(value).__name__}"
        validator = self._validator(tool)
        if validator is not None:
            errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
            if errors:
                problems = [
                    f"{'.'.join(str(p) for p in e.absolute_path) or 'arguments'}: {e.message}"
                    for e in errors[:5]
                ]
                return None, "; ".join(problems)
        return value, ""

    def _validator(self, tool: Tool) -> Draft202012Validator | None:
        key = id(tool.parameters)
        entry = self._validators.get(key)
        if entry is not None and entry[0] is tool.parameters:
            self._validators.move_to_end(key)
            return entry[1]
        validator: Draft202012Validator | None
        try:
            Draft202012Validator.check_schema(tool.parameters)
            validator = Draft202012Validator(tool.parameters)
        except SchemaError:
            # A spec's schema we cannot use to validate: let the plugin judge the arguments.
            validator = None
        self._validators[key] = (tool.parameters, validator)
        if len(self._validators) > _VALIDATOR_CACHE:
            self._validators.popitem(last=False)
        return validator


def _unsendable_header(headers: Mapping[str, str]) -> str | None:
    """The name of the first header whose value HTTP cannot carry, or None when all can."""
    for name, value in headers.items():
        if not all(char == "\t" or " " <= char <= "~" for char in value):
            return name
    return None
