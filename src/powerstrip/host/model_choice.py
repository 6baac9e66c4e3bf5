"""Which model backend the settings ask for: an OpenAI-compatible API, or the offline router."""

from __future__ import annotations

from powerstrip.runtime import Model, OfflineRouter, OpenAICompatModel
from powerstrip.settings import Settings

__all__ = ["model_from_settings"]


def model_from_settings(settings: Settings) -> Model:
    """`POWERSTRIP_MODEL_BASE_URL` set: that API; unset: the built-in offline router."""
    if settings.model_base_url:
        api_key = settings.model_api_key.get_secret_value() or None
        return OpenAICompatModel(settings.model_base_url, settings.model_name, api_key)
    return OfflineRouter()
