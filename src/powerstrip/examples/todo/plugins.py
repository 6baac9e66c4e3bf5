"""The four todo plugins, one per auth scheme of spec §4, built with the SDK.

| example | auth | whose list |
| --- | --- | --- |
| `todo-none` | none | the `username` the model passes |
| `todo-service` | service_http (one key for the host) | the `username` the model passes |
| `todo-user` | user_http (a key per user) | the key's user |
| `todo-oauth` | oauth (the example provider) | the signed-in user |
"""

from __future__ import annotations

from fastapi import FastAPI

from powerstrip.examples.config import ExampleConfig
from powerstrip.examples.dev_secrets import resolve_secrets
from powerstrip.examples.oauth_provider import OAuthProvider, ProviderConfig
from powerstrip.examples.todo.operations import (
    add_named_list_operations,
    add_own_list_operations,
)
from powerstrip.examples.todo.store import TodoStore
from powerstrip.examples.todo.user_keys import UserKeys
from powerstrip.sdk import NoAuth, OAuth, Plugin, PluginAuth, ServiceAuth, UserAuth

__all__ = [
    "build_todo_none",
    "build_todo_oauth",
    "build_todo_service",
    "build_todo_user",
    "issue_user_key",
    "oauth_provider",
]

_NAMED = (
    "Keeps todo lists, one per username. Add a todo, list the todos with their ids, or delete "
    "a todo by its id. Every operation takes the username whose list it reads or changes; ask "
    "the user for their username when it is not known."
)
_OWN = (
    "Keeps the signed-in user's todo list. Add a todo, list the todos with their ids, or "
    "delete a todo by its id. The list always belongs to the user who installed the plugin."
)


def _plugin(
    config: ExampleConfig, *, name: str, human: str, summary: str, for_model: str, auth: PluginAuth
) -> Plugin:
    return Plugin(
        name_for_model=name,
        name_for_human=human,
        description_for_model=for_model,
        description_for_human=summary,
        contact_email=config.contact_email,
        auth=auth,
        rate_limit=config.rate_limit,
        host_origins=config.host_origins,
    )


def build_todo_none(config: ExampleConfig) -> FastAPI:
    """`todo-none`: no auth; lists are named by a username (the original example)."""
    plugin = _plugin(
        config,
        name="todo",
        human="TODO (no auth)",
        summary="Manage todo lists, no sign-in needed.",
        for_model=_NAMED,
        auth=NoAuth(),
    )
    add_named_list_operations(plugin, TodoStore(config.database("todo-none")))
    return plugin.app()


def build_todo_service(config: ExampleConfig) -> FastAPI:
    """`todo-service`: the host sends one service key on every call."""
    auth = ServiceAuth(
        key=resolve_secrets(config).service_key,
        verification_tokens=dict(config.verification_tokens),
    )
    plugin = _plugin(
        config,
        name="todo_service",
        human="TODO (service key)",
        summary="Manage todo lists through a host that holds the service key.",
        for_model=_NAMED,
        auth=auth,
    )
    add_named_list_operations(plugin, TodoStore(config.database("todo-service")))
    return plugin.app()


def build_todo_user(config: ExampleConfig) -> FastAPI:
    """`todo-user`: each user pastes their own key; the list is the key's user's."""
    keys = UserKeys(config.database("todo-user"))
    plugin = _plugin(
        config,
        name="todo_user",
        human="TODO (user key)",
        summary="Manage your own todo list with your personal key.",
        for_model=_OWN,
        auth=UserAuth(validate=keys.user_for),
    )
    add_own_list_operations(plugin, TodoStore(config.database("todo-user")))
    return plugin.app()


def issue_user_key(config: ExampleConfig, user_id: str) -> str:
    """Issue a new `todo-user` key for `user_id` (shown once: only its digest is stored)."""
    return UserKeys(config.database("todo-user")).issue(user_id)


def oauth_provider(config: ExampleConfig) -> OAuthProvider:
    """The `todo-oauth` provider with the configured client and demo users provisioned."""
    secrets = resolve_secrets(config)
    provider = OAuthProvider(
        ProviderConfig(
            database=config.database("todo-oauth"),
            access_token_seconds=config.oauth_access_token_seconds,
        )
    )
    provider.add_client(
        config.oauth_client_id, secrets.oauth_client_secret, config.oauth_redirect_uris
    )
    for username, password in secrets.demo_users.items():
        provider.add_user(username, password)
    return provider


def build_todo_oauth(config: ExampleConfig) -> FastAPI:
    """`todo-oauth`: users sign in at the plugin's own OAuth provider."""
    provider = oauth_provider(config)
    auth = OAuth(
        validate=provider.validate_access_token,
        client_url="/oauth/authorize",
        authorization_url="/oauth/token",
        scope=" ".join(provider.config.scopes),
        authorization_content_type=config.oauth_content_type,
        verification_tokens=dict(config.verification_tokens),
    )
    plugin = _plugin(
        config,
        name="todo_oauth",
        human="TODO (OAuth)",
        summary="Manage your own todo list after signing in.",
        for_model=_OWN,
        auth=auth,
    )
    plugin.include_router(provider.router, prefix="/oauth")
    add_own_list_operations(plugin, TodoStore(config.database("todo-oauth")))
    return plugin.app()
