"""Retrieval: ingest, chunk, embed, index and search a user's documents.

    retriever = Retriever.from_settings(sessions, settings)
    await retriever.start()
    await retriever.add_file(Scope(user_id), Path("notes.md"))
    [hits] = await retriever.search(Scope(user_id), [Query("when is the meeting?", top_k=3)])

Modules, one job each: `extract` (files to text), `chunking`, `embedders`, `index` (in-memory
exact vectors), `hnsw` (approximate, for large collections), `records` (the store's documents
and chunks), `fusion` (one ranking from the full-text and the vector ones) and `engine` (the
`Retriever` tying them together). docs/retrieval.md describes the whole.
"""

from powerstrip.retrieval.chunking import Chunk, chunk_text, count_tokens
from powerstrip.retrieval.embedders import (
    EMBEDDER_KINDS,
    Embedder,
    ModelFiles,
    OnnxEmbedder,
    OpenAIEmbedder,
    WordLlamaEmbedder,
    make_embedder,
    packaged_model,
)
from powerstrip.retrieval.engine import INDEX_KINDS, AddedDocument, Hit, Query, Retriever
from powerstrip.retrieval.extract import SUFFIX_KINDS, ExtractedText, extract, kind_of, read_file
from powerstrip.retrieval.fusion import DEFAULT_VECTOR_WEIGHT, convex_fusion, reciprocal_rank_fusion
from powerstrip.retrieval.hnsw import DEFAULT_HNSW_RESCORE, HnswIndex
from powerstrip.retrieval.index import ExactIndex, VectorIndex
from powerstrip.retrieval.records import DocumentMeta, Filter, Scope

__all__ = [
    "DEFAULT_HNSW_RESCORE",
    "DEFAULT_VECTOR_WEIGHT",
    "EMBEDDER_KINDS",
    "INDEX_KINDS",
    "SUFFIX_KINDS",
    "AddedDocument",
    "Chunk",
    "DocumentMeta",
    "Embedder",
    "ExactIndex",
    "ExtractedText",
    "Filter",
    "Hit",
    "HnswIndex",
    "ModelFiles",
    "OnnxEmbedder",
    "OpenAIEmbedder",
    "Query",
    "Retriever",
    "Scope",
    "VectorIndex",
    "WordLlamaEmbedder",
    "chunk_text",
    "convex_fusion",
    "count_tokens",
    "extract",
    "kind_of",
    "make_embedder",
    "packaged_model",
    "read_file",
    "reciprocal_rank_fusion",
]
