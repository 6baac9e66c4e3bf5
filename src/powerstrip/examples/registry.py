"""The registry of example plugins: a name, a one-line description, a factory, setup notes.

`powerstrip example serve NAME` builds `EXAMPLES[NAME].build(config)` and prints
`EXAMPLES[NAME].notes(config)`; a new example adds one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI

from powerstrip.examples.config import ExampleConfig
from powerstrip.examples.dev_secrets import resolve_secrets
from powerstrip.examples.retrieval import build_retrieval, issue_retrieval_key
from powerstrip.examples.sports import build_sports
from powerstrip.examples.todo import (
    build_todo_none,
    build_todo_oauth,
    build_todo_service,
    build_todo_user,
)
from powerstrip.examples.todo import issue_user_key as issue_todo_user_key

__all__ = ["EXAMPLES", "ExampleSpec", "issue_user_key"]


def _no_notes(config: ExampleConfig) -> str:
    return ""


@dataclass(frozen=True, slots=True)
class ExampleSpec:
    """One example: what it shows, how to build its app, and what its user must know.

    `notes(config)` may contain generated development secrets: print it to the operator's
    terminal, never to a log. `issue_key(config, user_id)`, for the `user_http` examples,
    issues a user's key.
    """

    description: str
    build: Callable[[ExampleConfig], FastAPI]
    notes: Callable[[ExampleConfig], str] = _no_notes
    # user_http examples: issue a key for a user id (what `make run` installs the plugin with).
    issue_key: Callable[[ExampleConfig, str], str] | None = None


def _service_notes(config: ExampleConfig) -> str:
    key = resolve_secrets(config).service_key
    return f"Register the plugin with the service key (bearer): {key}"


def _user_notes(config: ExampleConfig) -> str:
    return (
        "Issue a key for a user with "
        "powerstrip.examples.issue_user_key(config, 'alice'), then paste it at install."
    )


def _retrieval_notes(config: ExampleConfig) -> str:
    return (
        "Issue a key for a user with powerstrip.examples.issue_user_key(config, 'alice', "
        "example='retrieval'), then paste it at install; each key opens its user's collection."
    )


def _oauth_notes(config: ExampleConfig) -> str:
    secrets = resolve_secrets(config)
    users = ", ".join(f"{name} / {password}" for name, password in secrets.demo_users.items())
    return "\n".join(
        [
            f"OAuth client_id: {config.oauth_client_id}",
            f"OAuth client_secret: {secrets.oauth_client_secret}",
            f"Redirect URIs: {', '.join(config.oauth_redirect_uris)}",
            f"Demo users (username / password): {users}",
        ]
    )


EXAMPLES: dict[str, ExampleSpec] = {
    "todo-none": ExampleSpec(
        "Todo lists named by username, no auth (the platform's original example).",
        build_todo_none,
    ),
    "todo-service": ExampleSpec(
        "Todo lists named by username; the host sends one service key (service_http).",
        build_todo_service,
        _service_notes,
    ),
    "todo-user": ExampleSpec(
        "Each user's own todo list, reached with a personal key (user_http).",
        build_todo_user,
        _user_notes,
        issue_todo_user_key,
    ),
    "todo-oauth": ExampleSpec(
        "Each user's own todo list after signing in at the plugin's OAuth provider (oauth).",
        build_todo_oauth,
        _oauth_notes,
    ),
    "sports": ExampleSpec(
        "MLB players, teams, season stats and playoff series 2023-2025 (Lahman data, no auth).",
        build_sports,
    ),
    "retrieval": ExampleSpec(
        "Search each user's own documents and notes (the chatgpt-retrieval-plugin API, user keys).",
        build_retrieval,
        _retrieval_notes,
        issue_retrieval_key,
    ),
}


def issue_user_key(config: ExampleConfig, user_id: str, *, example: str = "todo-user") -> str:
    """Issue a key of the `user_http` example `example` for `user_id` (shown once)."""
    spec = EXAMPLES.get(example)
    if spec is None or spec.issue_key is None:
        keyed = ", ".join(name for name, entry in EXAMPLES.items() if entry.issue_key)
        raise ValueError(f"{example!r} takes no user keys; these do: {keyed}")
    return spec.issue_key(config, user_id)
