"""Load and convert every corpus spec; print specs/s and peak memory beside LangChain's converter.

Run: `make bench` (installs the `bench` extra), or `.venv/bin/python bench/convert_corpus.py
[CORPUS_DIR]`. LangChain is only a yardstick: when it is not installed its column says so.
"""

from __future__ import annotations

import gc
import json
import logging
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from powerstrip.errors import SpecError
from powerstrip.openapi import convert, load_spec

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "plugins"


@dataclass
class Outcome:
    name: str
    converted: int = 0
    rejected: int = 0
    crashed: int = 0
    functions: int = 0
    seconds: float = 0.0
    peak_mib: float = 0.0
    note: str = ""


def namespace_for(corpus: Path, spec: Path) -> str:
    manifest = corpus / "manifests" / f"{spec.stem}.json"
    if manifest.is_file():
        name = json.loads(manifest.read_text(encoding="utf-8")).get("name_for_model")
        if isinstance(name, str) and name:
            return name
    return spec.stem


def powerstrip_convert(text: str, source: str, namespace: str) -> int:
    """Our converter: returns the number of functions; raises SpecError on a rejected spec."""
    return len(convert(load_spec(text, source=source), namespace=namespace).tools)


def langchain_converter() -> Callable[[str, str, str], int] | None:
    # LangChain logs a warning for every 3.0 spec it reads; the figures are what matter here.
    logging.getLogger("langchain_community").setLevel(logging.CRITICAL)
    try:
        from langchain_classic.chains.openai_functions.openapi import (  # type: ignore[import-not-found]
            openapi_spec_to_openai_fn,
        )
        from langchain_community.utilities.openapi import (  # type: ignore[import-not-found]
            OpenAPISpec,
        )
    except ImportError:
        return None

    def run(text: str, source: str, namespace: str) -> int:
        spec = OpenAPISpec.from_text(text)
        functions, _ = openapi_spec_to_openai_fn(spec)
        return len(functions)

    return run


def measure(
    name: str, run: Callable[[str, str, str], int], specs: list[tuple[str, str, str]]
) -> Outcome:
    outcome = Outcome(name)
    gc.collect()
    start = time.perf_counter()
    for text, source, namespace in specs:
        try:
            count = run(text, source, namespace)
        except SpecError:
            outcome.rejected += 1
            continue
        except Exception:  # a crash of the yardstick is one of its results
            outcome.crashed += 1
            continue
        if count:
            outcome.converted += 1
            outcome.functions += count
        else:
            outcome.rejected += 1
    outcome.seconds = time.perf_counter() - start
    # A second pass under tracemalloc for the peak: tracing slows the code, so it is not timed.
    gc.collect()
    tracemalloc.start()
    for text, source, namespace in specs:
        try:
            run(text, source, namespace)
        except Exception:  # noqa: S112 - counted in the timed pass
            continue
    outcome.peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return outcome


def main() -> None:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CORPUS
    files = sorted(p for p in (corpus / "specs").iterdir() if p.is_file())
    specs = [
        (p.read_text(encoding="utf-8", errors="replace"), p.name, namespace_for(corpus, p))
        for p in files
    ]
    print(f"corpus: {corpus / 'specs'} ({len(specs)} specs)")
    outcomes = [measure("powerstrip", powerstrip_convert, specs)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LangChain's deprecation notices are not our figures
        langchain = langchain_converter()
        if langchain is None:
            missing = Outcome("langchain", note="not installed: pip install -e '.[bench]'")
        else:
            missing = measure("langchain", langchain, specs)
    outcomes.append(missing)
    header = f"{'converter':<12}{'converted':>10}{'rejected':>10}{'crashed':>9}{'functions':>11}"
    header += f"{'seconds':>9}{'specs/s':>9}{'peak MiB':>10}"
    print(header)
    for o in outcomes:
        if o.note:
            print(f"{o.name:<12}{o.note}")
            continue
        rate = len(specs) / o.seconds if o.seconds else float("inf")
        print(
            f"{o.name:<12}{o.converted:>10}{o.rejected:>10}{o.crashed:>9}{o.functions:>11}"
            f"{o.seconds:>9.2f}{rate:>9.1f}{o.peak_mib:>10.1f}"
        )


if __name__ == "__main__":
    main()
