"""The three todo operations, in the two ownership styles the examples show.

`add_named_list_operations`: the list is named by a `username` path parameter the model
fills in, as in the platform's original todo example (anyone who knows a name can read that
list: fine for a demo without users, never for real data).
`add_own_list_operations`: the list belongs to the authenticated user (`ctx.user_id`); no
parameter lets the model pick someone else's list.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path as PathParam

from powerstrip.examples.todo.models import DeletedTodo, NewTodo, Todo, TodoList
from powerstrip.examples.todo.store import TodoStore
from powerstrip.sdk import CallContext, Plugin, PluginError

__all__ = ["add_named_list_operations", "add_own_list_operations"]

Username = Annotated[
    str,
    PathParam(
        min_length=1,
        max_length=64,
        description="The name of the list's owner, as the user gave it.",
    ),
]
TodoId = Annotated[int, PathParam(ge=1, description="The id of the todo, from the list.")]


def _missing(todo_id: int) -> PluginError:
    return PluginError(404, f"there is no todo with id {todo_id} in this list; list the todos")


def add_named_list_operations(plugin: Plugin, store: TodoStore) -> None:
    """Register add, list and delete on `/todos/{username}`."""

    @plugin.post("/todos/{username}", consequential=False)
    def add_todo(username: Username, body: NewTodo) -> Todo:
        """Add a todo to the named user's list."""
        return store.add(username, body.todo)

    @plugin.get("/todos/{username}", consequential=False)
    def list_todos(username: Username) -> TodoList:
        """List the named user's todos, oldest first, each with its id."""
        return TodoList(todos=store.todos(username))

    @plugin.delete("/todos/{username}/{todo_id}", consequential=True)
    def delete_todo(username: Username, todo_id: TodoId) -> DeletedTodo:
        """Delete one todo from the named user's list, by its id (not its position)."""
        deleted = store.delete(username, todo_id)
        if deleted is None:
            raise _missing(todo_id)
        return DeletedTodo(deleted=deleted)


def _owner(ctx: CallContext) -> str:
    # The auth schemes that reach these operations always name a user; refuse rather than
    # fall back to a shared list if that ever changes.
    if not ctx.user_id:
        raise PluginError(401, "this operation needs a signed-in user")
    return ctx.user_id


def add_own_list_operations(plugin: Plugin, store: TodoStore) -> None:
    """Register add, list and delete on `/todos`, for the authenticated user's own list."""

    @plugin.post("/todos", consequential=False)
    def add_todo(body: NewTodo, ctx: CallContext) -> Todo:
        """Add a todo to the user's list."""
        return store.add(_owner(ctx), body.todo)

    @plugin.get("/todos", consequential=False)
    def list_todos(ctx: CallContext) -> TodoList:
        """List the user's todos, oldest first, each with its id."""
        return TodoList(todos=store.todos(_owner(ctx)))

    @plugin.delete("/todos/{todo_id}", consequential=True)
    def delete_todo(todo_id: TodoId, ctx: CallContext) -> DeletedTodo:
        """Delete one todo from the user's list, by its id (not its position)."""
        deleted = store.delete(_owner(ctx), todo_id)
        if deleted is None:
            raise _missing(todo_id)
        return DeletedTodo(deleted=deleted)
