"""Secrets and credentials (spec §4): the vault that seals them at rest.

Nothing in this package stores a plaintext secret.
"""

from powerstrip.auth.vault import Secret, Vault, generate_key

__all__ = ["Secret", "Vault", "generate_key"]
