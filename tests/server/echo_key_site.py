"""A `user_http` plugin that answers 401 quoting the key it got, in every encoding it can think of.

Servers do echo credentials back in error bodies (escaped, URL-encoded, inside a base64 token);
whatever form it takes, the key must not travel further than this plugin.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

NAME = "keys.example.com"

SPEC = f"""openapi: 3.0.1
info: {{title: Keys, version: v1}}
servers: [{{url: 'https://{NAME}'}}]
paths:
  /whoami:
    get:
      operationId: whoami
      summary: Say who the key belongs to.
      responses:
        '200': {{description: The key's owner.}}
"""


async def manifest(request: Request) -> Response:
    return JSONResponse(
        {
            "schema_version": "v1",
            "name_for_human": "Keys",
            "name_for_model": "keys",
            "description_for_human": "Says who your key belongs to.",
            "description_for_model": "Say who the user's key belongs to.",
            "auth": {"type": "user_http", "authorization_type": "bearer"},
            "api": {"type": "openapi", "url": f"https://{NAME}/openapi.yaml"},
            "logo_url": f"https://{NAME}/logo.png",
            "contact_email": "support@example.com",
            "legal_info_url": f"https://{NAME}/legal",
        }
    )


async def spec(request: Request) -> Response:
    return Response(SPEC, media_type="application/yaml")


async def whoami(request: Request) -> Response:
    header = request.headers.get("authorization", "")
    key = header.partition(" ")[2]
    raw = header.encode()
    echoes = {
        "repr": repr(raw),
        "escaped": header.encode("unicode_escape").decode(),
        "url": quote(key, safe=""),
        "form": quote(key),
        "basic": base64.b64encode(f"user:{key}".encode()).decode(),
        "urlsafe": base64.urlsafe_b64encode(f"ab{key}".encode()).decode().rstrip("="),
        "token": base64.b64encode(key.encode()).decode(),
    }
    # ensure_ascii off and on, so both JSON escapings reach the host.
    body = json.dumps({"error": f"key {key} is unknown", "echo": echoes}, ensure_ascii=False)
    return Response(body, status_code=401, media_type="application/json")


app = Starlette(
    routes=[
        Route("/.well-known/ai-plugin.json", manifest),
        Route("/openapi.yaml", spec),
        Route("/whoami", whoami),
    ]
)
