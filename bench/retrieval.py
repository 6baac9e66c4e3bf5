# ruff: noqa: E402
"""Retrieval quality on BFCL's function descriptions, and the vector indexes' speed beside faiss.

    .venv/bin/python bench/retrieval.py                          quality, then speed at 10k-1M
    .venv/bin/python bench/retrieval.py --sizes 10000,100000     speed at these sizes only
    .venv/bin/python bench/retrieval.py --skip-speed             quality only (no faiss needed)

**Quality.** No document-retrieval set with relevance judgements ships in a package here (BEIR,
MS MARCO and the MTEB sets are downloaded from hubs at run time), so the questions come from the
Berkeley Function Calling Leaderboard in the `bfcl-eval` wheel (downloaded once with
`pip download bfcl-eval --no-deps` into ~/.cache/powerstrip/bench, read with zipfile, as
bench/router.py does), non-live categories only. Every distinct function description is a
document, indexed through the engine (`Retriever.add_text`, a real SQLite store); a question's
relevant documents are the descriptions of the functions its ground truth calls. Scores:
recall@1, recall@10 and nDCG@10 (binary relevance), for BM25 alone (SQLite FTS5), each local
embedder alone (exact vector search), and each embedder fused with BM25 (the engine's hybrid
search, reciprocal rank fusion). The same run measures ingest throughput through the engine
(chunks/s: extract, chunk, embed, one transaction per document) and the embedders' own batched
throughput.

**Speed.** Random unit vectors of 384 dimensions (all-MiniLM-L6-v2's size) at each size, drawn
around random topic centres (50 vectors a topic on average, cosine about 0.7 to their centre)
as text embeddings cluster by subject; each query is a new vector of a random topic. (Uniform
random vectors have no neighbourhoods: their "top 10" beyond the first is noise that no
approximate index can find, which says nothing about search over text.) For each
index: build time, memory it added to the process (resident set, from /proc), the latency of one
query (min, p50, p99, top 10; the indexes take turns query by query; the minimum is the
figure a busy machine disturbs least) and queries/s in batches of 32;
HNSW's recall@10 against exact search. On a loaded machine an operation longer than a few
milliseconds is preempted and its time multiplied: the batched figures suffer first.
The indexes: ours (`ExactIndex`, numpy; `HnswIndex`, usearch) and faiss-cpu's `IndexFlatIP` and
`IndexHNSWFlat` (the `bench` extra) with the same HNSW parameters (M=16, efConstruction=128,
efSearch=64). The libraries use the threads they want (BLAS, OpenMP): on a shared machine the
figures move from run to run; compare the columns of one run. BLAS and OpenMP get one thread
(`--threads`), so the exact indexes compare algorithms, not thread pools.
"""

from __future__ import annotations

import os
import sys

# Before numpy and faiss load their thread pools (so the imports below come after code):
# `--threads=N`, default 1.
_THREADS = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--threads=")), "1")
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, _THREADS)

import argparse
import asyncio
import gc
import logging
import math
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from router import CATEGORIES as ROUTER_CATEGORIES
from router import load

from powerstrip.retrieval import (
    Embedder,
    ExactIndex,
    HnswIndex,
    OnnxEmbedder,
    Query,
    Retriever,
    Scope,
    WordLlamaEmbedder,
    packaged_model,
)
from powerstrip.store import User, create_engine, session_factory, transaction, upgrade

# Every non-live category with ground truth; `irrelevance` has none (nothing is relevant).
CATEGORIES = (
    "simple_python",
    "simple_java",
    "simple_javascript",
    "multiple",
    "parallel",
    "parallel_multiple",
)
assert "irrelevance" in ROUTER_CATEGORIES  # the same loader, which refuses live categories
DIMENSIONS = 384
K = 10


# -- quality ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Corpus:
    documents: dict[str, str]  # id -> description
    questions: list[tuple[str, set[str]]]  # text, relevant document ids


def corpus() -> Corpus:
    ids: dict[tuple[str, str], str] = {}
    documents: dict[str, str] = {}
    questions: list[tuple[str, set[str]]] = []
    for category in CATEGORIES:
        for case in load(category):
            described = {f["name"]: f.get("description", "").strip() for f in case.functions}
            for name, description in described.items():
                if description and (name, description) not in ids:
                    ids[(name, description)] = f"d{len(ids)}"
                    documents[ids[(name, description)]] = description
            wanted = {name for answer in case.answers for name in answer}
            relevant = {ids[(n, described[n])] for n in wanted if (n, described.get(n, "")) in ids}
            if relevant:
                questions.append((case.question, relevant))
    return Corpus(documents, questions)


def scores(rankings: Sequence[Sequence[str]], questions: Sequence[tuple[str, set[str]]]) -> Any:
    recall1 = recall10 = ndcg = 0.0
    for ranking, (_, relevant) in zip(rankings, questions, strict=True):
        top = list(ranking[:K])
        recall1 += len(relevant & set(top[:1])) / len(relevant)
        recall10 += len(relevant & set(top)) / len(relevant)
        dcg = sum(1 / math.log2(rank + 2) for rank, d in enumerate(top) if d in relevant)
        ideal = sum(1 / math.log2(rank + 2) for rank in range(min(len(relevant), K)))
        ndcg += dcg / ideal
    n = len(questions)
    return recall1 / n, recall10 / n, ndcg / n


async def store(folder: Path) -> Any:
    url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    await upgrade(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    async with transaction(sessions) as session:
        user = User(username="bench")
        session.add(user)
        await session.flush()
        return engine, sessions, Scope(user.id)


async def ingest(
    retriever: Retriever, scope: Scope, documents: dict[str, str]
) -> tuple[int, float]:
    started = time.perf_counter()
    chunks = 0
    for identifier, text in documents.items():
        chunks += (await retriever.add_text(scope, identifier, text)).chunks
    return chunks, time.perf_counter() - started


async def engine_rankings(
    retriever: Retriever, scope: Scope, questions: Sequence[tuple[str, set[str]]]
) -> list[list[str]]:
    rankings = []
    for text, _ in questions:
        [hits] = await retriever.search(scope, [Query(text, top_k=K * 2)])
        rankings.append(list(dict.fromkeys(hit.document.external_id for hit in hits)))
    return rankings


async def vector_rankings(embedder: Embedder, data: Corpus) -> tuple[list[list[str]], float]:
    ids = list(data.documents)
    started = time.perf_counter()
    vectors = await embedder.embed([data.documents[i] for i in ids])
    rate = len(ids) / (time.perf_counter() - started)
    index = ExactIndex()
    index.add(list(range(len(ids))), vectors)
    queries = await embedder.embed([text for text, _ in data.questions])
    found = index.search(queries, K)
    return [[ids[row] for row, _ in hits] for hits in found], rate


async def quality() -> None:
    data = corpus()
    print(
        f"quality: {len(data.questions)} BFCL questions ({', '.join(CATEGORIES)}), "
        f"{len(data.documents)} distinct function descriptions as documents\n"
    )
    loaded: dict[str, Embedder] = {
        "all-MiniLM-L6-v2 (local)": OnnxEmbedder(packaged_model()),
        "wordllama": WordLlamaEmbedder(),
    }
    rows: list[tuple[str, tuple[float, float, float]]] = []
    ingest_rows: list[tuple[str, int, float, float | None]] = []
    with tempfile.TemporaryDirectory() as folder:
        for label, embedder in [("BM25 (lexical)", None), *loaded.items()]:
            sub = Path(folder) / str(len(ingest_rows))
            sub.mkdir()
            engine, sessions, scope = await store(sub)
            retriever = Retriever(sessions, embedder)
            chunks, seconds = await ingest(retriever, scope, data.documents)
            ranked = await engine_rankings(retriever, scope, data.questions)
            raw = None
            if embedder is None:
                rows.append((label, scores(ranked, data.questions)))
            else:
                alone, raw = await vector_rankings(embedder, data)
                rows.append((f"{label} alone", scores(alone, data.questions)))
                rows.append((f"hybrid: BM25 + {label}", scores(ranked, data.questions)))
            ingest_rows.append((label, chunks, seconds, raw))
            await engine.dispose()
    print(f"| ranking | recall@1 | recall@{K} | nDCG@{K} |")
    print("| --- | ---: | ---: | ---: |")
    for label, (r1, r10, ndcg) in rows:
        print(f"| {label} | {r1:.3f} | {r10:.3f} | {ndcg:.3f} |")
    bm25 = rows[0][1][2]
    best = max((row for row in rows if row[0].startswith("hybrid")), key=lambda row: row[1][2])
    print(f"\nbest hybrid nDCG@{K} - BM25: {100 * (best[1][2] - bm25):+.1f} points ({best[0]})\n")
    print("| ingest through the engine | chunks | chunks/s | embedder alone, batched texts/s |")
    print("| --- | ---: | ---: | ---: |")
    for label, chunks, seconds, raw in ingest_rows:
        alone = f"{raw:,.0f}" if raw else "-"
        print(f"| {label} | {chunks} | {chunks / seconds:,.0f} | {alone} |")
    print()


# -- speed --------------------------------------------------------------------------------------


def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def unit_rows(rng: np.random.Generator, rows: int, centres: np.ndarray | None = None) -> np.ndarray:
    """Unit rows: uniform, or around `centres` (cosine about 0.7 to a random centre)."""
    out = np.empty((rows, DIMENSIONS), dtype=np.float32)
    for start in range(0, rows, 100_000):  # a block at a time: no float64 copy of it all
        block = rng.standard_normal((min(100_000, rows - start), DIMENSIONS), dtype=np.float32)
        if centres is not None:
            block /= np.sqrt(DIMENSIONS)  # noise of norm ~1 around a unit centre
            block += centres[rng.integers(0, len(centres), len(block))]
        out[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


@dataclass
class Measured:
    name: str
    build_s: float
    memory_mb: float
    min_ms: float
    p50_ms: float
    p99_ms: float
    qps: float
    top: list[list[int]]


def measure(
    runs: Sequence[tuple[str, Callable[[], Any], Callable[[Any, np.ndarray], list[list[int]]]]],
    queries: np.ndarray,
) -> list[Measured]:
    """Build every index, then time them query by query in turn.

    Interleaved, so a burst of load from the machine's other users slows every index alike
    instead of whichever happened to be measured at the time.
    """
    built = []
    for name, build, search in runs:
        gc.collect()
        before = resident_mb()
        started = time.perf_counter()
        index = build()
        seconds = time.perf_counter() - started
        built.append((name, index, search, seconds, resident_mb() - before))
        search(index, queries[:5])  # warm up: first-touch pages, thread pools
    latencies: list[list[float]] = [[] for _ in built]
    tops: list[list[list[int]]] = [[] for _ in built]
    for row in range(len(queries)):
        for slot, (_, index, search, _, _) in enumerate(built):
            started = time.perf_counter()
            found = search(index, queries[row : row + 1])
            latencies[slot].append((time.perf_counter() - started) * 1000)
            tops[slot].extend(found)
    batch_seconds = [0.0 for _ in built]
    for start in range(0, len(queries), 32):
        for slot, (_, index, search, _, _) in enumerate(built):
            started = time.perf_counter()
            search(index, queries[start : start + 32])
            batch_seconds[slot] += time.perf_counter() - started
    results = []
    for slot, (name, _, _, seconds, memory) in enumerate(built):
        fastest = min(latencies[slot])
        p50, p99 = np.percentile(latencies[slot], [50, 99])
        qps = len(queries) / batch_seconds[slot]
        results.append(
            Measured(name, seconds, memory, fastest, float(p50), float(p99), qps, tops[slot])
        )
    built.clear()
    gc.collect()
    return results


def ours_exact(vectors: np.ndarray) -> Callable[[], ExactIndex]:
    def build() -> ExactIndex:
        index = ExactIndex(DIMENSIONS)
        index.add(range(len(vectors)), vectors)
        return index

    return build


def ours_hnsw(vectors: np.ndarray) -> Callable[[], HnswIndex]:
    def build() -> HnswIndex:
        index = HnswIndex(DIMENSIONS)
        index.add(np.arange(len(vectors)), vectors)
        return index

    return build


def ours_search(index: Any, queries: np.ndarray) -> list[list[int]]:
    return [[i for i, _ in hits] for hits in index.search(queries, K)]


def faiss_flat(vectors: np.ndarray) -> Callable[[], Any]:
    import faiss

    def build() -> Any:
        index = faiss.IndexFlatIP(DIMENSIONS)
        index.add(vectors)
        return index

    return build


def faiss_hnsw(vectors: np.ndarray) -> Callable[[], Any]:
    import faiss

    def build() -> Any:
        index = faiss.IndexHNSWFlat(DIMENSIONS, 16, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 128
        index.add(vectors)
        index.hnsw.efSearch = 64
        return index

    return build


def faiss_search(index: Any, queries: np.ndarray) -> list[list[int]]:
    _, ids = index.search(queries, K)
    return [[int(i) for i in row if i >= 0] for row in ids]


def recall(found: list[list[int]], truth: list[list[int]]) -> float:
    hits = sum(len(set(a) & set(b)) for a, b in zip(found, truth, strict=True))
    return hits / (K * len(truth))


def speed(sizes: Sequence[int], query_count: int, hnsw_max: int) -> None:
    try:
        import faiss  # noqa: F401
    except ImportError:
        have_faiss = False
        print("faiss-cpu is not installed (pip install -e '.[bench]'): its columns are skipped")
    else:
        have_faiss = True
    rng = np.random.default_rng(7)
    print(
        f"speed: {DIMENSIONS}-d unit vectors around topic centres, {query_count} queries, "
        f"top {K}, {os.environ['OMP_NUM_THREADS']} BLAS/OpenMP thread(s), "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n"
    )
    print(
        "| vectors | index | build s | memory MB | min ms | p50 ms | p99 ms "
        "| queries/s (batch 32) | recall@10 vs exact |"
    )
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for size in sizes:
        centres = unit_rows(rng, max(1, size // 50))
        vectors = unit_rows(rng, size, centres)
        queries = unit_rows(rng, query_count, centres)
        runs = [("ours: exact (numpy)", ours_exact(vectors), ours_search)]
        if have_faiss:
            runs.append(("faiss IndexFlatIP", faiss_flat(vectors), faiss_search))
        if size <= hnsw_max:
            runs.append(("ours: HNSW (usearch)", ours_hnsw(vectors), ours_search))
            if have_faiss:
                runs.append(("faiss IndexHNSWFlat", faiss_hnsw(vectors), faiss_search))
        results = measure(runs, queries)
        truth = results[0].top
        for r in results:
            exact = r.name in ("ours: exact (numpy)", "faiss IndexFlatIP")
            shown = "(exact)" if exact else f"{recall(r.top, truth):.3f}"
            print(
                f"| {size:,} | {r.name} | {r.build_s:.1f} | {r.memory_mb:,.0f} | {r.min_ms:.2f} "
                f"| {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.qps:,.0f} | {shown} |"
            )
        by = {r.name: r for r in results}
        notes = []
        if "faiss IndexFlatIP" in by:
            ours, theirs = by["ours: exact (numpy)"], by["faiss IndexFlatIP"]
            notes.append(
                f"exact / faiss flat: min {ours.min_ms / theirs.min_ms:.2f}x, "
                f"p50 {ours.p50_ms / theirs.p50_ms:.2f}x"
            )
        if "ours: HNSW (usearch)" in by:
            exact, hnsw = by["ours: exact (numpy)"], by["ours: HNSW (usearch)"]
            notes.append(
                f"HNSW vs exact: {exact.min_ms / hnsw.min_ms:.1f}x by min latency, "
                f"{hnsw.qps / exact.qps:.1f}x queries/s"
            )
        if notes:
            print(f"| {size:,} | *{'; '.join(notes)}* | | | | | | | |")
        del vectors
        gc.collect()
    print(f"\npeak resident memory of the run: {peak_mb():,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--hnsw-max", type=int, default=10**9, help="skip HNSW above this size (build time)"
    )
    parser.add_argument("--threads", default="1", help="BLAS and OpenMP threads (--threads=N)")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    options = parser.parse_args()
    logging.getLogger("alembic").setLevel(logging.WARNING)  # each store's migrations
    if not options.skip_quality:
        asyncio.run(quality())
    if not options.skip_speed:
        sizes = [int(s) for s in options.sizes.split(",") if s]
        speed(sizes, options.queries, options.hnsw_max)


if __name__ == "__main__":
    main()
