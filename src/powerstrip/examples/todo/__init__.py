"""The todo example plugins: the same three operations under each of the four auth schemes."""

from powerstrip.examples.todo.plugins import (
    build_todo_none,
    build_todo_oauth,
    build_todo_service,
    build_todo_user,
    issue_user_key,
    oauth_provider,
)

__all__ = [
    "build_todo_none",
    "build_todo_oauth",
    "build_todo_service",
    "build_todo_user",
    "issue_user_key",
    "oauth_provider",
]
