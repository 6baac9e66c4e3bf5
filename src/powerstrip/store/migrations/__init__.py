"""Alembic migrations of the store; `powerstrip.store.migrate` runs them."""

__all__: list[str] = []  # Alembic reads the folder; nothing here is imported by name
