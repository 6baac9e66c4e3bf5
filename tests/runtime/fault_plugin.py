"""A loopback plugin API that misbehaves on request, and the OpenAPI document describing it."""

from __future__ import annotations

import asyncio
import gzip
import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SPEC = """
openapi: 3.0.1
info: {title: Faults, version: v1}
paths:
  /items/{item_id}:
    get:
      operationId: getItem
      parameters:
        - {name: item_id, in: path, required: true, schema: {type: string}}
        - {name: tags, in: query, schema: {type: array, items: {type: string}}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1}}
      responses: {"200": {description: OK}}
  /items:
    post:
      operationId: addItem
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [name]
              properties:
                name: {type: string}
                count: {type: integer}
      responses: {"200": {description: OK}}
  /echo-header/{item_id}:
    get:
      operationId: echoHeader
      parameters:
        - {name: item_id, in: path, required: true, schema: {type: string}}
        - {name: Openai-Ephemeral-User-Id, in: header, schema: {type: string}}
        - {name: X-Trace, in: header, schema: {type: string}}
      responses: {"200": {description: OK}}
  /notes:
    post:
      operationId: addNote
      x-openai-isConsequential: false
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                name: {type: string}
      responses: {"200": {description: OK}}
  /private:
    get:
      operationId: getPrivate
      responses: {"200": {description: OK}}
  /fault/{kind}:
    post:
      operationId: postFault
      parameters:
        - {name: kind, in: path, required: true, schema: {type: string}}
      responses: {"200": {description: OK}}
    get:
      operationId: fault
      parameters:
        - {name: kind, in: path, required: true, schema: {type: string}}
      responses: {"200": {description: OK}}
"""

ATTEMPTS: dict[str, int] = {}
# Headers of every request to /items, as the plugin received them (the server runs in-process).
RECEIVED: list[dict[str, str]] = []


async def echo_item(request: Request) -> Response:
    RECEIVED.append(dict(request.headers))
    return JSONResponse(
        {
            "path": request.url.path,
            "raw_path": request.scope["raw_path"].decode(),
            "query": request.url.query,
            "headers": dict(request.headers),
        }
    )


async def add_item(request: Request) -> Response:
    return JSONResponse({"received": json.loads(await request.body())})


async def private(request: Request) -> Response:
    RECEIVED.append(dict(request.headers))
    if request.headers.get("authorization") != "Bearer fresh-token":
        return JSONResponse({"error": "expired token"}, status_code=401)
    return JSONResponse({"secret_data": 42})


async def fault(request: Request) -> Response:
    kind = request.path_params["kind"]
    ATTEMPTS[kind] = ATTEMPTS.get(kind, 0) + 1
    if kind == "error500":
        return JSONResponse({"error": "boom"}, status_code=500)
    if kind == "ratelimited-once":
        if ATTEMPTS[kind] == 1:
            return JSONResponse({"error": "slow down"}, 429, headers={"Retry-After": "1"})
        return JSONResponse({"ok": True, "attempt": ATTEMPTS[kind]})
    if kind == "slow":
        await asyncio.sleep(5)
        return JSONResponse({"late": True})
    if kind == "big":
        return JSONResponse([{"id": i, "text": "x" * 90} for i in range(20_000)])
    if kind == "gzip-bomb":
        # 20 MB of zeros, gzip-compressed to ~20 KB: the cap must hold on the decoded size.
        body = gzip.compress(b"0" * 20_000_000)
        return Response(body, headers={"content-encoding": "gzip"}, media_type="text/plain")
    if kind == "gzip-small":
        body = gzip.compress(b'{"small": true}')
        return Response(body, headers={"content-encoding": "gzip"}, media_type="application/json")
    if kind == "garbage":
        return Response(bytes(range(256)) * 10, media_type="application/octet-stream")
    if kind == "redirect":
        return Response(status_code=302, headers={"Location": "https://elsewhere.example.com/"})
    return JSONResponse({"kind": kind})


app = Starlette(
    routes=[
        Route("/items/{item_id:path}", echo_item, methods=["GET"]),
        Route("/items", add_item, methods=["POST"]),
        Route("/echo-header/{item_id}", echo_item, methods=["GET"]),
        Route("/notes", add_item, methods=["POST"]),
        Route("/private", private, methods=["GET"]),
        Route("/fault/{kind}", fault, methods=["GET", "POST"]),
    ]
)
