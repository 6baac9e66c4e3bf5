"""The original quickstart TODO plugin, kept as its docs wrote it (Quart + quart-cors).

Only two things differ from the original `main.py`: files are read from beside this module
rather than from the working directory, and the hand-written manifest and spec name
`localhost:PORT`, which is replaced with the request's `Host` at serve time, as the original
replaced its placeholder host. Everything else, loose ends included, is the original's style.
"""

import json
from pathlib import Path

import quart
import quart_cors
from quart import request

HERE = Path(__file__).parent

app = quart_cors.cors(quart.Quart(__name__), allow_origin="https://chat.openai.com")

# Keep track of todo's. Does not persist if Python session is restarted.
_TODOS: dict[str, list[str]] = {}


@app.post("/todos/<string:username>")
async def add_todo(username: str) -> quart.Response:
    body = await quart.request.get_json(force=True)
    if username not in _TODOS:
        _TODOS[username] = []
    _TODOS[username].append(body["todo"])
    return quart.Response(response="OK", status=200)


@app.get("/todos/<string:username>")
async def get_todos(username: str) -> quart.Response:
    return quart.Response(response=json.dumps(_TODOS.get(username, [])), status=200)


@app.delete("/todos/<string:username>")
async def delete_todo(username: str) -> quart.Response:
    body = await quart.request.get_json(force=True)
    todo_idx = body["todo_idx"]
    # fail silently, it's a simple plugin
    if 0 <= todo_idx < len(_TODOS.get(username, [])):
        _TODOS[username].pop(todo_idx)
    return quart.Response(response="OK", status=200)


@app.get("/logo.png")
async def plugin_logo() -> quart.Response:
    # The original used quart.send_file; Quart leaves that file open when a client stops
    # reading early (the validator caps what it reads), which warns at a random later moment.
    return quart.Response((HERE / "logo.png").read_bytes(), mimetype="image/png")


@app.get("/.well-known/ai-plugin.json")
async def plugin_manifest() -> quart.Response:
    host = request.headers["Host"]
    text = (HERE / "ai-plugin.json").read_text()
    text = text.replace("localhost:PORT", host)
    return quart.Response(text, mimetype="text/json")


@app.get("/openapi.yaml")
async def openapi_spec() -> quart.Response:
    host = request.headers["Host"]
    text = (HERE / "openapi.yaml").read_text()
    text = text.replace("localhost:PORT", host)
    return quart.Response(text, mimetype="text/yaml")
