"""Development secrets: generated once per data directory, never hard-coded, never logged.

Values given in `ExampleConfig` win; the rest are read from `DATA_DIR/dev-secrets.json`,
created on first use with owner-only permissions.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from powerstrip.examples.config import ExampleConfig

__all__ = ["DevSecrets", "resolve_secrets"]

_FILE = "dev-secrets.json"
_DEMO_USERS = ("alice", "bob")


@dataclass(frozen=True, slots=True)
class DevSecrets:
    """The secrets an example uses, after generation."""

    service_key: str = field(repr=False)
    oauth_client_secret: str = field(repr=False)
    demo_users: dict[str, str] = field(repr=False)


def _load(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise ValueError(f"{path} is not valid JSON; delete it to generate new secrets") from exc
    return data if isinstance(data, dict) else {}


def _save(path: Path, data: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
    temporary.replace(path)


def resolve_secrets(config: ExampleConfig) -> DevSecrets:
    """The configured secrets, generating (and remembering) any that were left as None."""
    path = config.data_dir / _FILE
    stored = _load(path)
    changed = False

    def remembered(key: str) -> str:
        nonlocal changed
        value = stored.get(key)
        if not isinstance(value, str) or not value:
            value = stored[key] = secrets.token_urlsafe(24)
            changed = True
        return value

    service_key = config.service_key or remembered("service_key")
    client_secret = config.oauth_client_secret or remembered("oauth_client_secret")
    if config.demo_users is not None:
        users = dict(config.demo_users)
    else:
        users = {name: remembered(f"password:{name}") for name in _DEMO_USERS}
    if changed:
        _save(path, stored)
    return DevSecrets(service_key, client_secret, users)
