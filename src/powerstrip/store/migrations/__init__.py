"""Alembic migrations of the store; `powerstrip.store.migrate` runs them."""
