"""A small TODO plugin built with the SDK, and an in-process client for it.

`build(**options)` makes a fresh plugin (its own store) so each test can pick the auth scheme,
rate limit, allowlist or CORS origins it is about; the operations are always the same:

    GET    /todos                   list_todos   (CallContext, query `limit`)
    POST   /lists/{list_id}/todos   add_todo     (path, query and JSON body; not consequential)
    DELETE /todos/{todo_id}         delete_todo  (no CallContext; consequential; async)
    GET    /whoami                  whoami       (the CallContext as JSON)
    GET    /crash                   crash        (raises an unexpected exception)
"""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
from pydantic import BaseModel, Field

from powerstrip.sdk import CallContext, Plugin, PluginError
from powerstrip.sdk.assets import default_logo_png
from powerstrip.testing import ASGIApp

BASE = "https://plugin.example.com"
# Drawn once: the default 512×512 logo costs ~50 ms a plugin. Pass `logo_png=None` to `build`
# for the Plugin's own default.
TODO_LOGO = default_logo_png("todo")
SECRET_IN_CRASH = "db password hunter2"


class NewTodo(BaseModel):
    text: str = Field(description="What there is to do.")
    due: str | None = Field(default=None, description="When, as an ISO date.")


class Todo(BaseModel):
    id: int
    list_id: int
    text: str
    owner: str | None


def build(**options: Any) -> Plugin:  # Any: forwarded as Plugin keyword arguments
    """A fresh TODO plugin; `options` override the Plugin's arguments."""
    arguments: dict[str, Any] = {
        "name_for_model": "todo",
        "name_for_human": "TODO List",
        "description_for_model": "Keeps the user's TODO list: list, add and delete TODOs.",
        "description_for_human": "Manage your TODO list.",
        "contact_email": "support@example.com",
        "logo_png": TODO_LOGO,
    }
    arguments.update(options)
    plugin = Plugin(**arguments)
    todos: dict[int, Todo] = {}

    @plugin.get("/todos")
    def list_todos(ctx: CallContext, limit: int = 10) -> list[Todo]:
        """List the user's TODOs.

        The oldest come first; at most `limit` of them.
        """
        return [t for t in todos.values() if t.owner == ctx.user_id][:limit]

    @plugin.post("/lists/{list_id}/todos", consequential=False)
    def add_todo(list_id: int, todo: NewTodo, ctx: CallContext, priority: int = 0) -> Todo:
        """Add a TODO to one of the user's lists."""
        created = Todo(id=len(todos) + 1, list_id=list_id, text=todo.text, owner=ctx.user_id)
        todos[created.id] = created
        return created

    @plugin.delete("/todos/{todo_id}", consequential=True)
    async def delete_todo(todo_id: int) -> Todo:
        """Delete a TODO."""
        if todo_id not in todos:
            raise PluginError(404, "no such todo")
        return todos.pop(todo_id)

    @plugin.get("/whoami")
    def whoami(ctx: CallContext) -> dict[str, str | None]:
        """Tell who is calling, from where."""
        return dataclasses.asdict(ctx)

    @plugin.get("/crash")
    def crash() -> dict[str, str]:
        """Fail with an unexpected error."""
        raise RuntimeError(SECRET_IN_CRASH)

    return plugin


def client(
    app: ASGIApp, *, base_url: str = BASE, raise_app_exceptions: bool = True
) -> httpx.AsyncClient:
    """An in-process client for `app`; its requests come from 127.0.0.1."""
    transport = httpx.ASGITransport(app, raise_app_exceptions=raise_app_exceptions)
    return httpx.AsyncClient(transport=transport, base_url=base_url)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}
