# ruff: noqa: E402
"""Retrieval quality on BFCL's function descriptions, and the vector indexes' speed beside faiss.

    .venv/bin/python bench/retrieval.py                          quality, then speed at 10k-1M
    .venv/bin/python bench/retrieval.py --skip-quality --sizes 10000,100000   speed only
    .venv/bin/python bench/retrieval.py --skip-speed             quality only (no faiss needed)
    .venv/bin/python bench/retrieval.py --skip-quality --sizes 100000,1000000 \
        --hnsw-max 1000000 --ef 128,256 --rescore 0,100          HNSW at 100k and 1M (minutes)

**Quality.** No document-retrieval set with relevance judgements ships in a package here (BEIR,
MS MARCO and the MTEB sets are downloaded from hubs at run time), so the questions come from the
Berkeley Function Calling Leaderboard in the `bfcl-eval` wheel (downloaded once with
`pip download bfcl-eval --no-deps` into ~/.cache/powerstrip/bench, read with zipfile, as
bench/router.py does), non-live categories only. Every distinct function description is a
document, indexed through the engine (`Retriever.add_text`, a real SQLite store); a question's
relevant documents are the descriptions of the functions its ground truth calls. Scores:
recall@1, recall@10 and nDCG@10 (binary relevance), for BM25 alone (SQLite FTS5), each local
embedder alone (exact vector search, of the question's vector, and of the engine's vectors:
the question's and its sentences'), and each embedder fused with BM25: the engine's hybrid
search with its default weight, reciprocal rank fusion (k = 60) over the same candidates, and
the fusion with its weight chosen by 5-fold cross-validation (folds grouped so that questions
needing the same documents share a fold; each question is scored with the weight best on the
other folds) and by kind of question (tuned on the questions needing one function, tested on
those needing several, and the other way round). The hybrid's gain over BM25 gets a 95%
paired bootstrap interval. The same run measures ingest throughput through the engine
(chunks/s: extract, chunk, embed, one transaction per document; for many short documents and
for one long one) and the embedders' own batched throughput.

**Speed.** Random unit vectors (384 dimensions, all-MiniLM-L6-v2's size, unless
`--dimensions`) at each size, drawn around random topic centres (50 vectors a topic on average,
cosine about 0.7 to their centre) as text embeddings cluster by subject; each query is a new
vector of a random topic. (Uniform random vectors have no neighbourhoods: their "top 10" beyond
the first is noise that no approximate index can find, which says nothing about search over
text.) For each index: build time (wall clock and CPU), memory it added to the process
(resident set, from /proc), the latency of one query (min, p50, p99, top 10; the indexes take
turns query by query), its CPU time (median), and queries/s in batches of 32; HNSW's recall@10
against exact search. On a loaded machine an operation longer than a few milliseconds is
preempted and its wall-clock time multiplied, CPU time much less: compare CPU times. The
indexes: ours (`ExactIndex`, numpy; `HnswIndex`, usearch, built as the engine builds it: an
exact index first, then a graph over its rows in one multi-threaded batch, the graph's int8
copy walked and its best `--rescore` candidates scored again with the float32 rows) and
faiss-cpu's `IndexFlatIP` and `IndexHNSWSQ` (`IndexHNSWFlat` for `--hnsw-dtype f32`; the
`bench` extra) with the same HNSW parameters (M=16, efConstruction `--expansion-add`, efSearch
each of `--ef`; faiss's rows are not re-scored). BLAS and
OpenMP get one thread (`--threads`), so the exact indexes compare algorithms, not thread pools;
usearch searches a batch on every CPU. HNSW is built only up to `--hnsw-max` vectors (default
10,000) and faiss's up to `--faiss-hnsw-max` (100,000): a graph of a million 384-d vectors takes
many minutes to build.
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
    DEFAULT_HNSW_RESCORE,
    DEFAULT_VECTOR_WEIGHT,
    Embedder,
    ExactIndex,
    HnswIndex,
    OnnxEmbedder,
    Query,
    Retriever,
    Scope,
    WordLlamaEmbedder,
    convex_fusion,
    packaged_model,
    reciprocal_rank_fusion,
)
from powerstrip.retrieval.records import load_hits
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

FOLDS = 5
WEIGHTS = tuple(round(0.05 * step, 2) for step in range(21))  # the vector weight's grid
# Held out by kind of question: one function asked for, or several at once.
SINGLE = ("simple_python", "simple_java", "simple_javascript", "multiple")
SEVERAL = ("parallel", "parallel_multiple")


@dataclass(frozen=True)
class Question:
    text: str
    relevant: frozenset[str]  # document ids
    category: str


@dataclass(frozen=True)
class Corpus:
    documents: dict[str, str]  # id -> description
    questions: list[Question]


def corpus() -> Corpus:
    ids: dict[tuple[str, str], str] = {}
    documents: dict[str, str] = {}
    questions: list[Question] = []
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
                questions.append(Question(case.question, frozenset(relevant), category))
    return Corpus(documents, questions)


def per_question(rankings: Sequence[Sequence[str]], questions: Sequence[Question]) -> np.ndarray:
    """(questions, 3): recall@1, recall@10 and nDCG@10 (binary relevance) of each question."""
    out = np.zeros((len(questions), 3))
    for row, (ranking, question) in enumerate(zip(rankings, questions, strict=True)):
        relevant = question.relevant
        top = list(ranking[:K])
        dcg = sum(1 / math.log2(rank + 2) for rank, d in enumerate(top) if d in relevant)
        ideal = sum(1 / math.log2(rank + 2) for rank in range(min(len(relevant), K)))
        out[row] = (
            len(relevant & set(top[:1])) / len(relevant),
            len(relevant & set(top)) / len(relevant),
            dcg / ideal,
        )
    return out


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
    retriever: Retriever, scope: Scope, questions: Sequence[Question]
) -> list[list[str]]:
    """The engine's own search (`Retriever.search`, default settings) for each question."""
    rankings = []
    for question in questions:
        [hits] = await retriever.search(scope, [Query(question.text, top_k=K * 2)])
        rankings.append(list(dict.fromkeys(hit.document.external_id for hit in hits)))
    return rankings


Candidates = list[tuple[dict[int, float], dict[int, float]]]


async def engine_candidates(
    retriever: Retriever, scope: Scope, sessions: Any, questions: Sequence[Question]
) -> tuple[Candidates, dict[int, str]]:
    """Each question's candidates with both rankers' scores, and each chunk's document id."""
    found: Candidates = []
    for question in questions:
        found.extend(await retriever.candidates(scope, [Query(question.text, top_k=K * 2)]))
    chunk_ids = sorted({i for lexical, vector in found for i in (*lexical, *vector)})
    stored = await load_hits(sessions, scope, chunk_ids)
    return found, {i: hit.document.external_id for i, hit in stored.items()}


def best_first(scores: dict[int, float]) -> list[int]:
    return sorted(scores, key=lambda i: -scores[i])


def fused_rankings(
    candidates: Candidates, documents: dict[int, str], fuse: Callable[..., Any]
) -> list[list[str]]:
    return [
        list(dict.fromkeys(documents[i] for i, _ in fuse(lexical, vector)))
        for lexical, vector in candidates
    ]


def by_weight(candidates: Candidates, documents: dict[int, str], questions: Any) -> np.ndarray:
    """(weights, questions, 3): every question's scores at every weight of the grid."""
    return np.stack(
        [
            per_question(
                fused_rankings(
                    candidates,
                    documents,
                    lambda lexical, vector, w=weight: convex_fusion(lexical, vector, weight=w),
                ),
                questions,
            )
            for weight in WEIGHTS
        ]
    )


def folds(questions: Sequence[Question]) -> np.ndarray:
    """A fold (0..FOLDS-1) per question; questions needing the same documents share one."""
    groups = sorted({q.relevant for q in questions}, key=lambda r: sorted(r))
    order = np.random.default_rng(12).permutation(len(groups))
    fold_of = {group: int(order[n]) % FOLDS for n, group in enumerate(groups)}
    return np.array([fold_of[q.relevant] for q in questions])


def cross_validated(grid: np.ndarray, train_of: Sequence[np.ndarray]) -> tuple[np.ndarray, list]:
    """Each test set scored at the weight best (by nDCG@10) on its training set."""
    scores = np.zeros(grid.shape[1:])
    chosen = []
    for train in train_of:
        best = int(np.argmax(grid[:, train, 2].mean(axis=1)))
        scores[~train] = grid[best, ~train]
        chosen.append(WEIGHTS[best])
    return scores, chosen


def paired_interval(a: np.ndarray, b: np.ndarray, draws: int = 2000) -> tuple[float, float]:
    """A 95% bootstrap interval of mean(a - b), resampling questions."""
    rng = np.random.default_rng(3)
    difference = a - b
    means = [difference[rng.integers(0, len(a), len(a))].mean() for _ in range(draws)]
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


async def vector_rankings(embedder: Embedder, data: Corpus) -> tuple[list[list[str]], float]:
    ids = list(data.documents)
    started = time.perf_counter()
    vectors = await embedder.embed([data.documents[i] for i in ids])
    rate = len(ids) / (time.perf_counter() - started)
    index = ExactIndex()
    index.add(list(range(len(ids))), vectors)
    queries = await embedder.embed([q.text for q in data.questions])
    found = index.search(queries, K)
    return [[ids[row] for row, _ in hits] for hits in found], rate


async def quality() -> None:
    data = corpus()
    questions = data.questions
    print(
        f"quality: {len(questions)} BFCL questions ({', '.join(CATEGORIES)}), "
        f"{len(data.documents)} distinct function descriptions as documents\n"
    )
    loaded: dict[str, Embedder] = {
        "all-MiniLM-L6-v2 (local)": OnnxEmbedder(packaged_model()),
        "wordllama": WordLlamaEmbedder(),
    }
    fold = folds(questions)
    category = np.array([q.category for q in questions])
    single = np.isin(category, SINGLE)
    rows: list[tuple[str, np.ndarray]] = []
    notes: list[str] = []
    ingest_rows: list[tuple[str, int, float, float | None]] = []
    long_rows: list[tuple[str, int, float]] = []
    bm25 = np.zeros(0)
    with tempfile.TemporaryDirectory() as folder:
        for label, embedder in [("BM25 (lexical)", None), *loaded.items()]:
            sub = Path(folder) / str(len(ingest_rows))
            sub.mkdir()
            engine, sessions, scope = await store(sub)
            retriever = Retriever(sessions, embedder)
            chunks, seconds = await ingest(retriever, scope, data.documents)
            ranked = per_question(await engine_rankings(retriever, scope, questions), questions)
            raw = None
            if embedder is None:
                bm25 = ranked
                rows.append((label, ranked))
            else:
                alone, raw = await vector_rankings(embedder, data)
                rows.append(
                    (f"{label} alone (the question's vector)", per_question(alone, questions))
                )
                candidates, documents = await engine_candidates(
                    retriever, scope, sessions, questions
                )
                grid = by_weight(candidates, documents, questions)
                rows.append(
                    (f"{label} alone (the question's and its sentences' vectors)", grid[-1])
                )
                rrf = fused_rankings(
                    candidates,
                    documents,
                    lambda a, b: reciprocal_rank_fusion([best_first(a), best_first(b)]),
                )
                rows.append(
                    (
                        f"hybrid, reciprocal rank fusion k=60: BM25 + {label}",
                        per_question(rrf, questions),
                    )
                )
                rows.append(
                    (f"hybrid (the engine, weight {DEFAULT_VECTOR_WEIGHT}): BM25 + {label}", ranked)
                )
                cv, chosen = cross_validated(grid, [fold != f for f in range(FOLDS)])
                rows.append(
                    (f"hybrid, weight by {FOLDS}-fold cross-validation: BM25 + {label}", cv)
                )
                low, high = paired_interval(cv[:, 2], bm25[:, 2])
                notes.append(
                    f"{label}: cross-validated hybrid nDCG@{K} - BM25 = "
                    f"{100 * (cv[:, 2].mean() - bm25[:, 2].mean()):+.1f} points "
                    f"(95% bootstrap interval {100 * low:+.1f} to {100 * high:+.1f}); "
                    f"weights chosen per fold: {', '.join(map(str, chosen))}; "
                    f"the engine's default: {100 * (ranked[:, 2].mean() - bm25[:, 2].mean()):+.1f}"
                )
                held, chosen = cross_validated(grid, [single, ~single])
                for part, name in ((single, "one function"), (~single, "several functions")):
                    notes.append(
                        f"{label}: weight tuned on the other kind, tested on questions needing "
                        f"{name} ({part.sum()}): nDCG@{K} {held[part, 2].mean():.3f} vs BM25 "
                        f"{bm25[part, 2].mean():.3f} "
                        f"({100 * (held[part, 2].mean() - bm25[part, 2].mean()):+.1f} points)"
                    )
                notes.append(
                    f"{label}: the weight tuned on questions needing one function: {chosen[0]}, "
                    f"on those needing several: {chosen[1]}"
                )
                by_tenth = ", ".join(
                    f"{weight}: {grid[n, :, 2].mean():.3f}"
                    for n, weight in enumerate(WEIGHTS)
                    if n % 2 == 0
                )
                notes.append(
                    f"{label}: nDCG@{K} by weight on all questions (tuned on the test set: for "
                    f"reference only): {by_tenth}"
                )
            ingest_rows.append((label, chunks, seconds, raw))
            # One long document (every description, a paragraph each): many chunks, one write.
            long_text = "\n\n".join(data.documents.values())
            started = time.perf_counter()
            added = await retriever.add_text(scope, "all", long_text, kind="markdown")
            long_rows.append((label, added.chunks, time.perf_counter() - started))
            await engine.dispose()
    print(f"| ranking | recall@1 | recall@{K} | nDCG@{K} |")
    print("| --- | ---: | ---: | ---: |")
    for label, scores in rows:
        r1, r10, ndcg = scores.mean(axis=0)
        print(f"| {label} | {r1:.3f} | {r10:.3f} | {ndcg:.3f} |")
    print()
    for note in notes:
        print(f"- {note}")
    print()
    print("| ingest through the engine | chunks | chunks/s | embedder alone, batched texts/s |")
    print("| --- | ---: | ---: | ---: |")
    for label, chunks, seconds, raw in ingest_rows:
        alone = f"{raw:,.0f}" if raw else "-"
        print(f"| {label} | {chunks} | {chunks / seconds:,.0f} | {alone} |")
    print()
    print("| ingest of one long document (every description) | chunks | chunks/s |")
    print("| --- | ---: | ---: |")
    for label, chunks, seconds in long_rows:
        print(f"| {label} | {chunks} | {chunks / seconds:,.0f} |")
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


def unit_rows(
    rng: np.random.Generator, rows: int, dimensions: int, centres: np.ndarray | None = None
) -> np.ndarray:
    """Unit rows: uniform, or around `centres` (cosine about 0.7 to a random centre)."""
    out = np.empty((rows, dimensions), dtype=np.float32)
    for start in range(0, rows, 100_000):  # a block at a time: no float64 copy of it all
        block = rng.standard_normal((min(100_000, rows - start), dimensions), dtype=np.float32)
        if centres is not None:
            block /= np.sqrt(dimensions)  # noise of norm ~1 around a unit centre
            block += centres[rng.integers(0, len(centres), len(block))]
        out[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


@dataclass
class Measured:
    name: str
    build_s: float | None  # None: the same graph as the row above
    build_cpu_s: float | None
    memory_mb: float | None
    min_ms: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float  # CPU time per query, the median
    qps: float
    top: list[list[int]]


Run = tuple[str, Callable[[], Any], Callable[[Any, np.ndarray], list[list[int]]]]


def measure(runs: Sequence[Run], queries: np.ndarray) -> list[Measured]:
    """Build every index, then time them query by query in turn.

    Interleaved, so a burst of load from the machine's other users slows every index alike
    instead of whichever happened to be measured at the time; at each turn every index gets
    another query, so no index finds a query's graph nodes or rows cached by the one before.
    Each query's CPU time (the process's, all threads) is taken beside its wall-clock time: a
    process waiting for a CPU adds wall-clock time but no CPU time.
    """
    built = []
    graphs: dict[int, Any] = {}
    for name, build, search in runs:
        gc.collect()
        before = resident_mb()
        started, cpu = time.perf_counter(), time.process_time()
        index = build()
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
        shared = id(index) in graphs
        graphs[id(index)] = index
        built.append(
            (
                name,
                index,
                search,
                None if shared else (seconds, cpu_seconds, resident_mb() - before),
            )
        )
        search(index, queries[:5])  # warm up: first-touch pages, thread pools
    latencies: list[list[float]] = [[] for _ in built]
    cpu_times: list[list[float]] = [[] for _ in built]
    tops: list[list[list[int]]] = [[[] for _ in queries] for _ in built]
    # Each index asks a different query at each turn: rows sharing a graph (several search
    # settings) would otherwise find the nodes the row before them walked still in cache.
    stride = max(1, len(queries) // max(1, len(built)))
    for turn in range(len(queries)):
        for slot, (_, index, search, _) in enumerate(built):
            row = (turn + slot * stride) % len(queries)
            started, cpu = time.perf_counter(), time.process_time()
            [found] = search(index, queries[row : row + 1])
            latencies[slot].append((time.perf_counter() - started) * 1000)
            cpu_times[slot].append((time.process_time() - cpu) * 1000)
            tops[slot][row] = found
    batch_seconds = [0.0 for _ in built]
    starts = range(0, len(queries), 32)
    for turn in range(len(starts)):
        for slot, (_, index, search, _) in enumerate(built):
            start = starts[(turn + slot) % len(starts)]  # another batch each, as above
            started = time.perf_counter()
            search(index, queries[start : start + 32])
            batch_seconds[slot] += time.perf_counter() - started
    results = []
    for slot, (name, _, _, building) in enumerate(built):
        p50, p99 = np.percentile(latencies[slot], [50, 99])
        results.append(
            Measured(
                name,
                building[0] if building else None,
                building[1] if building else None,
                building[2] if building else None,
                min(latencies[slot]),
                float(p50),
                float(p99),
                float(np.median(cpu_times[slot])),
                len(queries) / batch_seconds[slot],
                tops[slot],
            )
        )
    built.clear()
    gc.collect()
    return results


def ours_exact(vectors: np.ndarray) -> Callable[[], ExactIndex]:
    def build() -> ExactIndex:
        index = ExactIndex(vectors.shape[1])
        index.add(range(len(vectors)), vectors)
        return index

    return build


def once(build: Callable[[], Any]) -> Callable[[], Any]:
    """The index `build` makes, built on the first call only (several search settings)."""
    made: list[Any] = []

    def get() -> Any:
        if not made:
            made.append(build())
        return made[0]

    return get


def ours_hnsw(vectors: np.ndarray, dtype: str, expansion_add: int) -> Callable[[], HnswIndex]:
    """The engine's way: float32 rows in an exact index, then a graph over them that keeps them."""

    def build() -> HnswIndex:
        exact = ours_exact(vectors)()
        return HnswIndex.from_exact(exact, dtype=dtype, expansion_add=expansion_add)

    return build


def ours_search(index: Any, queries: np.ndarray) -> list[list[int]]:
    return [[i for i, _ in hits] for hits in index.search(queries, K)]


def ours_hnsw_search(expansion: int, rescore: int) -> Callable[[Any, np.ndarray], list[list[int]]]:
    def search(index: HnswIndex, queries: np.ndarray) -> list[list[int]]:
        index.expansion_search = expansion
        index.rescore = rescore
        return ours_search(index, queries)

    return search


def faiss_flat(vectors: np.ndarray) -> Callable[[], Any]:
    import faiss

    def build() -> Any:
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        return index

    return build


def faiss_hnsw(vectors: np.ndarray, dtype: str, expansion_add: int) -> Callable[[], Any]:
    import faiss

    def build() -> Any:
        dimensions = vectors.shape[1]
        if dtype in ("i8", "f16"):  # a byte (or two) a dimension, as usearch's copy
            quantizer = {
                "i8": faiss.ScalarQuantizer.QT_8bit,  # each dimension's range in 256 steps
                "f16": faiss.ScalarQuantizer.QT_fp16,
            }[dtype]
            index = faiss.IndexHNSWSQ(dimensions, quantizer, 16, faiss.METRIC_INNER_PRODUCT)
            index.train(vectors[:100_000])
        else:
            index = faiss.IndexHNSWFlat(dimensions, 16, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = expansion_add
        index.add(vectors)
        return index

    return build


def faiss_search(index: Any, queries: np.ndarray) -> list[list[int]]:
    _, ids = index.search(queries, K)
    return [[int(i) for i in row if i >= 0] for row in ids]


def faiss_hnsw_search(expansion: int) -> Callable[[Any, np.ndarray], list[list[int]]]:
    def search(index: Any, queries: np.ndarray) -> list[list[int]]:
        index.hnsw.efSearch = expansion
        return faiss_search(index, queries)

    return search


def recall(found: list[list[int]], truth: list[list[int]]) -> float:
    hits = sum(len(set(a) & set(b)) for a, b in zip(found, truth, strict=True))
    return hits / (K * len(truth))


@dataclass(frozen=True)
class SpeedOptions:
    sizes: Sequence[int]
    queries: int
    dimensions: int
    hnsw_max: int
    faiss_hnsw_max: int
    hnsw_dtype: str
    expansion_add: int
    expansions: Sequence[int]
    rescores: Sequence[int]


def speed(options: SpeedOptions) -> None:
    try:
        import faiss  # noqa: F401
    except ImportError:
        have_faiss = False
        print("faiss-cpu is not installed (pip install -e '.[bench]'): its columns are skipped")
    else:
        have_faiss = True
    rng = np.random.default_rng(7)
    dimensions = options.dimensions
    print(
        f"speed: {dimensions}-d unit vectors around topic centres, {options.queries} queries, "
        f"top {K}, {os.environ['OMP_NUM_THREADS']} BLAS/OpenMP thread(s), HNSW vectors as "
        f"{options.hnsw_dtype} (re-scored with float32 rows), expansion "
        f"{options.expansion_add} when adding; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n"
    )
    print(
        "| vectors | index | build s (CPU s) | memory MB | min ms | p50 ms | p99 ms "
        "| CPU ms/query (p50) | queries/s (batch 32) | recall@10 vs exact |"
    )
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for size in options.sizes:
        centres = unit_rows(rng, max(1, size // 50), dimensions)
        vectors = unit_rows(rng, size, dimensions, centres)
        queries = unit_rows(rng, options.queries, dimensions, centres)
        runs: list[Run] = [("ours: exact (numpy)", ours_exact(vectors), ours_search)]
        if have_faiss:
            runs.append(("faiss IndexFlatIP", faiss_flat(vectors), faiss_search))
        if size <= options.hnsw_max:
            graph = once(ours_hnsw(vectors, options.hnsw_dtype, options.expansion_add))
            for expansion in options.expansions:
                for rescore in options.rescores:
                    runs.append(
                        (
                            f"ours: HNSW (usearch), ef {expansion}, rescore {rescore}",
                            graph,
                            ours_hnsw_search(expansion, rescore),
                        )
                    )
            if have_faiss and size <= options.faiss_hnsw_max:
                theirs = once(faiss_hnsw(vectors, options.hnsw_dtype, options.expansion_add))
                kind = "IndexHNSWFlat" if options.hnsw_dtype == "f32" else "IndexHNSWSQ"
                for expansion in options.expansions:
                    runs.append(
                        (f"faiss {kind}, ef {expansion}", theirs, faiss_hnsw_search(expansion))
                    )
        results = measure(runs, queries)
        truth = results[0].top
        for r in results:
            exact = r.name in ("ours: exact (numpy)", "faiss IndexFlatIP")
            shown = "(exact)" if exact else f"{recall(r.top, truth):.3f}"
            built = (
                "(same graph)" if r.build_s is None else f"{r.build_s:,.1f} ({r.build_cpu_s:,.1f})"
            )
            memory = "" if r.memory_mb is None else f"{r.memory_mb:,.0f}"
            print(
                f"| {size:,} | {r.name} | {built} | {memory} | {r.min_ms:.2f} "
                f"| {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.cpu_ms:.2f} | {r.qps:,.0f} | {shown} |"
            )
        by = {r.name: r for r in results}
        exact = by["ours: exact (numpy)"]
        if "faiss IndexFlatIP" in by:
            theirs = by["faiss IndexFlatIP"]
            print(
                f"- {size:,}: exact / faiss IndexFlatIP: CPU time per query "
                f"{exact.cpu_ms / theirs.cpu_ms:.2f}x, "
                f"fastest query {exact.min_ms / theirs.min_ms:.2f}x, "
                f"p50 {exact.p50_ms / theirs.p50_ms:.2f}x, time for batches of 32 "
                f"{theirs.qps / exact.qps:.2f}x (goal: at most 1.2x)"
            )
        for r in results:
            if r.name.startswith("ours: HNSW"):
                print(
                    f"- {size:,}: {r.name} / exact: recall@10 {recall(r.top, truth):.3f}, "
                    f"queries/s {r.qps / exact.qps:.1f}x, CPU time per query "
                    f"{exact.cpu_ms / r.cpu_ms:.1f}x less (goal: recall >= 0.95 at >= 20x)"
                )
        del vectors
        gc.collect()
    print(f"\npeak resident memory of the run: {peak_mb():,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--dimensions", type=int, default=DIMENSIONS)
    parser.add_argument(
        "--hnsw-max",
        type=int,
        default=10_000,
        help="HNSW only up to this size (default 10,000: a graph of 1M takes many minutes)",
    )
    parser.add_argument(
        "--faiss-hnsw-max", type=int, default=100_000, help="faiss's HNSW only up to this size"
    )
    parser.add_argument(
        "--hnsw-dtype",
        choices=("f32", "f16", "i8"),
        default="i8",
        help="the graph's copy of the vectors (default i8, the engine's)",
    )
    parser.add_argument(
        "--expansion-add",
        type=int,
        default=128,
        help="HNSW efConstruction (default 128, the engine's)",
    )
    parser.add_argument(
        "--ef",
        default="128",
        help="HNSW search expansions, e.g. 64,128 (default 128, the engine's)",
    )
    parser.add_argument(
        "--rescore",
        default=str(DEFAULT_HNSW_RESCORE),
        help=(
            "how many of HNSW's candidates are re-scored with float32 (0: the graph's top k), "
            f"e.g. 0,50,100; default {DEFAULT_HNSW_RESCORE}, the engine's"
        ),
    )
    parser.add_argument("--threads", default="1", help="BLAS and OpenMP threads (--threads=N)")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    options = parser.parse_args()
    logging.getLogger("alembic").setLevel(logging.WARNING)  # each store's migrations
    if not options.skip_quality:
        asyncio.run(quality())
    if not options.skip_speed:
        speed(
            SpeedOptions(
                sizes=[int(s) for s in options.sizes.split(",") if s],
                queries=options.queries,
                dimensions=options.dimensions,
                hnsw_max=options.hnsw_max,
                faiss_hnsw_max=options.faiss_hnsw_max,
                hnsw_dtype=options.hnsw_dtype,
                expansion_add=options.expansion_add,
                expansions=[int(e) for e in options.ef.split(",") if e],
                rescores=[int(r) for r in options.rescore.split(",") if r],
            )
        )


if __name__ == "__main__":
    main()
