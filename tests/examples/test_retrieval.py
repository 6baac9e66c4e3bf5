"""The retrieval example over HTTPS on loopback: the chatgpt-retrieval-plugin's API, per user."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from powerstrip.examples import EXAMPLES, ExampleConfig, issue_user_key
from powerstrip.testing import LoopbackServer
from tests.conftest import ServeApp
from tests.examples.conftest import make_config
from tests.retrieval.files import write_docx, write_pdf


@dataclass(frozen=True)
class Plugin:
    server: LoopbackServer
    config: ExampleConfig
    keys: dict[str, str]

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.port}"


@pytest.fixture(scope="module")
def plugin(serve_app: ServeApp, tmp_path_factory: pytest.TempPathFactory) -> Plugin:
    config = make_config(tmp_path_factory.mktemp("retrieval"))
    server = serve_app(EXAMPLES["retrieval"].build(config))
    keys = {name: issue_user_key(config, name, example="retrieval") for name in ("ada", "bob")}
    return Plugin(server, config, keys)


@pytest.fixture
def client(plugin: Plugin, tls: ssl.SSLContext) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=plugin.url, verify=tls, timeout=30) as http:
        yield http


def _as(plugin: Plugin, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {plugin.keys[user]}"}


def _upsert(client: httpx.Client, plugin: Plugin, user: str, *documents: dict[str, Any]) -> Any:
    answer = client.post("/upsert", json={"documents": list(documents)}, headers=_as(plugin, user))
    assert answer.status_code == 200, answer.text
    return answer.json()["ids"]


def _query(client: httpx.Client, plugin: Plugin, user: str, *queries: dict[str, Any]) -> Any:
    answer = client.post("/query", json={"queries": list(queries)}, headers=_as(plugin, user))
    assert answer.status_code == 200, answer.text
    return answer.json()["results"]


def _delete_all(client: httpx.Client, plugin: Plugin, user: str) -> None:
    answer = client.request(
        "DELETE", "/delete", json={"delete_all": True}, headers=_as(plugin, user)
    )
    assert answer.json() == {"success": True}


def test_the_manifest_declares_bearer_user_keys_like_the_original(
    client: httpx.Client,
) -> None:
    manifest = client.get("/.well-known/ai-plugin.json").json()
    assert manifest["name_for_model"] == "retrieval"
    assert manifest["auth"] == {"type": "user_http", "authorization_type": "bearer"}
    spec = client.get("/openapi.json").json()
    assert {"/upsert", "/query", "/delete", "/notes", "/search"} <= set(spec["paths"])
    assert "/upsert-file" not in spec["paths"]  # multipart: for scripts, not for the model


def test_every_operation_refuses_a_missing_or_unknown_key(client: httpx.Client) -> None:
    bad = {"Authorization": "Bearer retrieval_not-a-key"}
    for method, path, body in [
        ("POST", "/upsert", {"documents": [{"text": "x"}]}),
        ("POST", "/query", {"queries": [{"query": "x"}]}),
        ("DELETE", "/delete", {"delete_all": True}),
        ("GET", "/search?query=x", None),
    ]:
        assert client.request(method, path, json=body).status_code == 401, path
        assert client.request(method, path, json=body, headers=bad).status_code == 401, path
    files = {"file": ("a.txt", b"hello", "text/plain")}
    assert client.post("/upsert-file", files=files).status_code == 401
    assert client.post("/upsert-file", files=files, headers=bad).status_code == 401


def test_upsert_and_several_queries_each_with_top_k_and_a_filter(
    client: httpx.Client, plugin: Plugin
) -> None:
    _delete_all(client, plugin, "ada")
    ids = _upsert(
        client,
        plugin,
        "ada",
        {
            "id": "garden",
            "text": "The tomatoes in the garden need water every morning in July.",
            "metadata": {"source": "file", "author": "Ada", "created_at": "2024-07-01"},
        },
        {
            "text": "The car's brake pads were replaced at the garage on Main Street.",
            "metadata": {"source": "email", "author": "Garage", "created_at": "1717200000"},
        },
    )
    assert ids[0] == "garden"
    assert len(ids[1]) == 36  # a new uuid when none is given
    first, second, third = _query(
        client,
        plugin,
        "ada",
        {"query": "when should I irrigate the vegetables?", "top_k": 1},
        {"query": "garden tomatoes water", "filter": {"source": "email"}},
        {"query": "brakes", "filter": {"start_date": "2024-06-15T00:00:00Z"}},
    )
    assert first["query"] == "when should I irrigate the vegetables?"
    assert len(first["results"]) == 1
    top = first["results"][0]
    assert top["metadata"]["document_id"] == "garden"
    assert top["metadata"]["author"] == "Ada"
    assert top["metadata"]["created_at"].startswith("2024-07-01")
    # The filter applies before ranking: only the email is searched, however poor a match.
    assert [r["metadata"]["document_id"] for r in second["results"]] == [ids[1]]
    assert [r["metadata"]["document_id"] for r in third["results"]] == ["garden"]

    # The same id replaces the document.
    _upsert(client, plugin, "ada", {"id": "garden", "text": "The roses bloom in June."})
    [found] = _query(client, plugin, "ada", {"query": "tomatoes", "top_k": 5})
    texts = [r["text"] for r in found["results"]]
    assert not any("tomatoes" in text for text in texts)


def test_bad_requests_are_refused_and_change_nothing(client: httpx.Client, plugin: Plugin) -> None:
    ada = _as(plugin, "ada")
    refused = client.post(
        "/upsert",
        json={"documents": [{"text": "ok", "metadata": {"created_at": "next tuesday"}}]},
        headers=ada,
    )
    assert refused.status_code == 422
    assert "created_at" in refused.json()["error"]["message"]
    too_many = client.post("/query", json={"queries": [{"query": "x", "top_k": 101}]}, headers=ada)
    assert too_many.status_code == 422
    nothing = client.request("DELETE", "/delete", json={}, headers=ada)
    assert nothing.status_code == 400
    assert "delete_all" in nothing.json()["error"]["message"]


def test_two_users_collections_never_mix(client: httpx.Client, plugin: Plugin) -> None:
    _upsert(client, plugin, "ada", {"id": "secret", "text": "Ada's locker code is 7341."})
    _upsert(client, plugin, "bob", {"id": "secret", "text": "Bob likes sailing on Sundays."})
    [bob] = _query(client, plugin, "bob", {"query": "locker code", "top_k": 10})
    assert all("7341" not in hit["text"] for hit in bob["results"])
    search = client.get("/search", params={"query": "locker code 7341"}, headers=_as(plugin, "bob"))
    assert all("7341" not in hit["text"] for hit in search.json()["results"])
    # Bob deleting everything, or Ada's document id, leaves Ada's document alone.
    client.request("DELETE", "/delete", json={"ids": ["secret"]}, headers=_as(plugin, "bob"))
    _delete_all(client, plugin, "bob")
    [ada] = _query(client, plugin, "ada", {"query": "locker code", "top_k": 1})
    assert "7341" in ada["results"][0]["text"]


def test_files_of_each_format_are_uploaded_and_found(
    client: httpx.Client, plugin: Plugin, tmp_path: Path
) -> None:
    pdf = write_pdf(
        tmp_path / "paper.pdf",
        ["Abstract: we measure glacier melt.", "Method: satellite radar.", "Result: faster."],
    )
    word = write_docx(tmp_path / "minutes.docx", ["The board approved the new budget."])
    page = b"<html><head><title>Soup</title></head><body><p>Simmer the lentils.</p></body></html>"
    uploads = [
        ("paper.pdf", pdf.read_bytes(), "glacier radar"),
        ("minutes.docx", word.read_bytes(), "board budget"),
        ("soup.html", page, "lentils"),
    ]
    ada = _as(plugin, "ada")
    for name, data, question in uploads:
        metadata = json.dumps({"source": "file", "author": "Ada"})
        answer = client.post(
            "/upsert-file", files={"file": (name, data)}, data={"metadata": metadata}, headers=ada
        )
        assert answer.status_code == 200, answer.text
        [document_id] = answer.json()["ids"]
        [found] = _query(client, plugin, "ada", {"query": question, "top_k": 1})
        assert found["results"][0]["metadata"]["document_id"] == document_id, name


@pytest.mark.parametrize(
    ("name", "data", "status", "says"),
    [
        ("empty.txt", b"", 400, "empty"),
        ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf", 400, "broken.pdf"),
        ("tool.exe", b"MZ\x90\x00", 400, "tool.exe"),
        ("huge.txt", b"a" * (20 * 1024 * 1024 + 1), 413, "cap"),
    ],
)
def test_a_bad_upload_is_refused_by_name_and_stores_nothing(
    client: httpx.Client, plugin: Plugin, name: str, data: bytes, status: int, says: str
) -> None:
    _delete_all(client, plugin, "bob")
    answer = client.post("/upsert-file", files={"file": (name, data)}, headers=_as(plugin, "bob"))
    assert answer.status_code == status, answer.text
    assert says in answer.json()["error"]["message"]
    [found] = _query(client, plugin, "bob", {"query": "pdf not really a a a", "top_k": 10})
    assert found["results"] == []


def test_delete_by_id_by_filter_and_all_removes_the_text_from_search_and_the_file(
    client: httpx.Client, plugin: Plugin
) -> None:
    _delete_all(client, plugin, "bob")
    words = {"one": "quixotic", "two": "zeppelin", "three": "xylophone"}
    for key, word in words.items():
        author = "Mallory" if key == "two" else "Bob"
        text = f"A note about a {word}: the {word} is kept in the attic."
        _upsert(client, plugin, "bob", {"id": key, "text": text, "metadata": {"author": author}})
    bob = _as(plugin, "bob")
    client.request("DELETE", "/delete", json={"ids": ["one"]}, headers=bob)
    client.request("DELETE", "/delete", json={"filter": {"author": "Mallory"}}, headers=bob)
    remaining = _query(client, plugin, "bob", *({"query": w, "top_k": 10} for w in words.values()))
    found = {r["metadata"]["document_id"] for result in remaining for r in result["results"]}
    assert found == {"three"}
    _delete_all(client, plugin, "bob")
    [none] = _query(client, plugin, "bob", {"query": "xylophone attic", "top_k": 10})
    assert none["results"] == []
    database = plugin.config.database("retrieval")
    stored = b"".join(
        path.read_bytes()
        for path in database.parent.iterdir()
        if path.name.startswith(database.name)  # the file, its -wal and -shm
    )
    for word in words.values():
        assert word.encode() not in stored, word
