"""Semantic evidence for selection: how close a message is in meaning to an operation's text.

Word matching misses "playoffs" for "postseason" and "record" for "wins". The router adds the
cosine between the message and each operation's text in WordLlama's static token embeddings
(the `l2_supercat` 256-d weights inside the `wordllama` wheel, MIT licence), loaded by the
retrieval package's `WordLlamaEmbedder`: from the package folder, hash-checked, with downloads
disabled. A static model averages token vectors, so a message
costs ~0.1 ms; the packaged MiniLM sentence encoder of the retrieval package would cost 16-22
ms a message on a 2-core machine, the whole turn budget. Loading takes about a second, once
per process, on the first turn that needs it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from powerstrip.retrieval import WordLlamaEmbedder

__all__ = ["embed", "preload", "semantic_available"]

logger = logging.getLogger(__name__)

_LOCK = threading.Lock()
_MODEL: list[WordLlamaEmbedder | None] = []  # [] until loaded, [None] if it cannot be


def _model() -> WordLlamaEmbedder | None:
    with _LOCK:
        if not _MODEL:
            try:
                # Imported here, in the loader thread: the retrieval package (PDF and DOCX
                # readers, indexes) is not part of importing the router.
                from powerstrip.retrieval import WordLlamaEmbedder

                _MODEL.append(WordLlamaEmbedder())
            except Exception:  # the router still works on words alone
                logger.exception("offline.semantic_unavailable")
                _MODEL.append(None)
        return _MODEL[0]


def preload() -> None:
    """Start loading the model in the background, so the first turn does not wait a second."""
    if not _MODEL:
        threading.Thread(target=_model, name="offline-semantic-load", daemon=True).start()


def semantic_available() -> bool:
    """Whether the embedding model could be loaded (it ships as a dependency)."""
    return _model() is not None


def embed(texts: Sequence[str]) -> NDArray[np.float32] | None:
    """Unit vectors of `texts` (one row each), or None when the model is not there."""
    model = _model()
    if model is None or not texts:
        return None
    return model.embed_sync(list(texts))
