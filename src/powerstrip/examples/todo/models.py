"""The todo plugins' request and response bodies, as the model sees them in the OpenAPI."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["DeletedTodo", "NewTodo", "Todo", "TodoList"]


class NewTodo(BaseModel):
    """A todo to add."""

    todo: str = Field(min_length=1, max_length=500, description="What to do, in a short sentence.")


class Todo(BaseModel):
    """One todo and its id (the id is what delete takes)."""

    id: int = Field(description="The todo's id; pass it to delete the todo.")
    todo: str = Field(description="What to do.")


class TodoList(BaseModel):
    """The todos of one list, oldest first."""

    todos: list[Todo]


class DeletedTodo(BaseModel):
    """The todo that was deleted."""

    deleted: Todo
