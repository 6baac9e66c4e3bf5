"""`GET /v1/models`: the model this host answers with (any model name is accepted)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from powerstrip.errors import NotFoundError
from powerstrip.server.deps import CurrentHost
from powerstrip.server.v1.access import CurrentCaller

__all__ = ["router"]

router = APIRouter(tags=["models"])

_CREATED = 1_700_000_000  # models have no creation time here; a fixed one keeps answers stable


def _model(name: str) -> dict[str, Any]:  # Any: JSON
    return {"id": name, "object": "model", "created": _CREATED, "owned_by": "powerstrip"}


@router.get("/models", summary="List models")
async def list_models(host: CurrentHost, caller: CurrentCaller) -> Any:
    return {"object": "list", "data": [_model(name) for name in host.openai.model_names]}


@router.get("/models/{model}", summary="Retrieve a model")
async def retrieve_model(model: str, host: CurrentHost, caller: CurrentCaller) -> Any:
    if model not in host.openai.model_names:
        raise NotFoundError(
            f"no model {model!r} on this host",
            where="model",
            fix="list the models with GET /v1/models",
        )
    return _model(model)
