"""The local model ranks by meaning and is the published file; an endpoint is asked over HTTP."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from powerstrip.errors import ConfigError, EmbeddingError
from powerstrip.retrieval import (
    ModelFiles,
    OnnxEmbedder,
    OpenAIEmbedder,
    WordLlamaEmbedder,
    make_embedder,
    packaged_model,
)
from powerstrip.settings import Settings
from tests.retrieval.conftest import EmbeddingsServer, fake_vector

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]


async def test_the_local_model_puts_related_sentences_closest(embedder: OnnxEmbedder) -> None:
    vectors = await embedder.embed(
        ["How do I cook pasta?", "Boil spaghetti in salted water.", "The stock market fell."]
    )
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    assert vectors.flags["C_CONTIGUOUS"]
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors[0]
    assert similarity[1] > similarity[2] + 0.3


async def test_a_batch_gives_the_same_vectors_as_one_at_a_time(embedder: OnnxEmbedder) -> None:
    texts = ["short", "a much longer sentence about the weather in Paris today"]
    together = await embedder.embed(texts)
    alone = np.vstack([await embedder.embed([text]) for text in texts])
    assert np.allclose(together, alone, atol=1e-4)  # padding must not change a vector


def test_the_packaged_files_have_the_hashes_docs_publish() -> None:
    files = packaged_model()
    docs = (ROOT / "docs" / "retrieval.md").read_text(encoding="utf-8")
    for path in (files.model, files.tokenizer):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest in docs, f"{path.name}'s sha256 is not in docs/retrieval.md"
    assert files.model_sha256 in docs
    assert files.tokenizer_sha256 in docs


def test_a_tampered_packaged_file_is_refused(tmp_path: Path) -> None:
    files = packaged_model()
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the model")
    tampered = ModelFiles(
        files.name, fake, files.tokenizer, files.model_sha256, files.tokenizer_sha256
    )
    with pytest.raises(EmbeddingError, match="published sha256"):
        OnnxEmbedder(tampered)


def test_a_model_folder_loads_any_onnx_model_with_a_tokenizer(tmp_path: Path) -> None:
    files = packaged_model()
    (tmp_path / "model.onnx").symlink_to(files.model)
    (tmp_path / "tokenizer.json").symlink_to(files.tokenizer)
    own = ModelFiles.from_dir(tmp_path)
    assert own.model_sha256 is None
    assert OnnxEmbedder(own).name == f"onnx:{tmp_path.name}"


def test_a_model_folder_without_the_files_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"does not hold model\.onnx and tokenizer\.json"):
        ModelFiles.from_dir(tmp_path)


def test_a_folder_whose_model_is_not_onnx_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"garbage")
    (tmp_path / "tokenizer.json").write_text("{}", encoding="utf-8")
    with pytest.raises(EmbeddingError, match="cannot be loaded"):
        OnnxEmbedder(ModelFiles.from_dir(tmp_path))


async def test_an_openai_compatible_endpoint_gives_normalized_vectors_in_order(
    endpoint: tuple[EmbeddingsServer, str],
) -> None:
    server, base_url = endpoint
    embedder = OpenAIEmbedder(base_url, "embed-small", "sk-test-key")
    try:
        vectors = await embedder.embed(["one", "two", "three"])
    finally:
        await embedder.aclose()
    assert embedder.name == "openai:embed-small"
    assert vectors.shape == (3, 8)
    expected = np.array([fake_vector(t) for t in ("one", "two", "three")], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert np.allclose(vectors, expected, atol=1e-6)
    [request] = server.requests
    assert request["body"]["model"] == "embed-small"
    assert request["body"]["input"] == ["one", "two", "three"]
    assert request["auth"] == "Bearer sk-test-key"


async def test_an_endpoint_error_says_the_status_and_never_echoes_its_message(
    endpoint: tuple[EmbeddingsServer, str],
) -> None:
    server, base_url = endpoint
    server.fail_with = 401
    embedder = OpenAIEmbedder(base_url, "embed-small", "sk-test-key")
    try:
        with pytest.raises(EmbeddingError, match="answered HTTP 401") as caught:
            await embedder.embed(["one"])
    finally:
        await embedder.aclose()
    assert "sk-" not in str(caught.value)


async def test_an_unreachable_endpoint_is_an_embedding_error() -> None:
    embedder = OpenAIEmbedder("http://user:pw@127.0.0.1:9/v1", "m", None, timeout=2, max_retries=0)
    try:
        with pytest.raises(EmbeddingError, match="could not be reached") as caught:
            await embedder.embed(["one"])
    finally:
        await embedder.aclose()
    assert "pw" not in str(caught.value)


def test_wordllama_loads_from_its_wheel_and_ranks_by_meaning() -> None:
    embedder = WordLlamaEmbedder()
    assert embedder.name == "wordllama-l2_supercat-256"
    vectors = embedder.embed_sync(
        ["How do I cook pasta?", "Boil spaghetti in salted water.", "The stock market fell."]
    )
    assert vectors.shape == (3, 256)
    assert vectors.flags["C_CONTIGUOUS"]
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors[0]
    assert similarity[1] > similarity[2]
    docs = (ROOT / "docs" / "retrieval.md").read_text(encoding="utf-8")
    spec = importlib.util.find_spec("wordllama")
    assert spec is not None
    assert spec.origin is not None
    folder = Path(spec.origin).parent
    for relative in (
        "weights/l2_supercat_256.safetensors",
        "tokenizers/l2_supercat_tokenizer_config.json",
    ):
        digest = hashlib.sha256((folder / relative).read_bytes()).hexdigest()
        assert digest in docs, f"{relative}'s sha256 is not in docs/retrieval.md"


def test_the_settings_choose_each_embedder() -> None:
    assert isinstance(make_embedder(Settings(retrieval_embedder="wordllama")), WordLlamaEmbedder)
    assert make_embedder(Settings(retrieval_embedder="lexical")) is None
