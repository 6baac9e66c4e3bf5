"""The misbehaving plugin API of `tests.runtime.fault_plugin`, as an installable plugin site."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from tests.runtime import fault_plugin

NAME = "faults.example.com"


async def manifest(request: Request) -> Response:
    return JSONResponse(
        {
            "schema_version": "v1",
            "name_for_human": "Faults",
            "name_for_model": "faults",
            "description_for_human": "A plugin that fails on request, for tests.",
            "description_for_model": "Fetch items; each fault path misbehaves in its own way.",
            "auth": {"type": "none"},
            "api": {"type": "openapi", "url": f"https://{NAME}/openapi.yaml"},
            "logo_url": f"https://{NAME}/logo.png",
            "contact_email": "support@example.com",
            "legal_info_url": f"https://{NAME}/legal",
        }
    )


async def spec(request: Request) -> Response:
    text = fault_plugin.SPEC.replace(
        "info: {title: Faults, version: v1}",
        f"info: {{title: Faults, version: v1}}\nservers: [{{url: 'https://{NAME}'}}]",
    )
    return Response(text, media_type="application/yaml")


app = Starlette(
    routes=[
        Route("/.well-known/ai-plugin.json", manifest),
        Route("/openapi.yaml", spec),
        Mount("/", fault_plugin.app),
    ]
)
