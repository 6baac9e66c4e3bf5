"""Several small plugins, one per name, served by one app that answers by the Host header.

Each name is its own plugin (its own manifest, `name_for_model` and one GET operation), so a
test can install more plugins than a conversation may enable.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

NAMES = tuple(f"p{n}.example.net" for n in range(5))


def _host(request: Request) -> str:
    return request.headers.get("host", "").partition(":")[0]


async def manifest(request: Request) -> Response:
    host = _host(request)
    name = host.partition(".")[0]
    return JSONResponse(
        {
            "schema_version": "v1",
            "name_for_human": f"Plugin {name}",
            "name_for_model": f"plugin_{name}",
            "description_for_human": "One of several small plugins, for tests.",
            "description_for_model": "Tells the time.",
            "auth": {"type": "none"},
            "api": {"type": "openapi", "url": f"https://{host}/openapi.yaml"},
            "logo_url": f"https://{host}/logo.png",
            "contact_email": "support@example.net",
            "legal_info_url": f"https://{host}/legal",
        }
    )


async def spec(request: Request) -> Response:
    text = f"""\
openapi: 3.0.1
info: {{title: Clock, version: v1}}
servers: [{{url: 'https://{_host(request)}'}}]
paths:
  /time:
    get:
      operationId: get_time
      summary: The current time.
      responses:
        '200':
          description: The time.
          content:
            application/json:
              schema: {{type: object, properties: {{time: {{type: string}}}}}}
"""
    return Response(text, media_type="application/yaml")


async def time(request: Request) -> Response:
    return JSONResponse({"time": "12:00"})


app = Starlette(
    routes=[
        Route("/.well-known/ai-plugin.json", manifest),
        Route("/openapi.yaml", spec),
        Route("/time", time),
    ]
)
