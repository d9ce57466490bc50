"""Warm `compare` latency for the 2 default cities and for 20 cities (18 synthetic copies), in-process.

The 20-city index repeats the two default reports under 18 invented city names (テスト市01…): the copies
reuse the cached embeddings, so it builds in seconds. Only timing is measured here.

    .venv/bin/python bench/compare_bench.py [--reps N]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

QUERIES = (
    "DX推進",
    "書かない窓口",
    "ごみ有料化",
    "PPP/PFI",
    "テレワーク",
    "公共施設の統廃合",
    "人件費の抑制",
    "telework",
)
EXTRA_CITIES = 18


def synthetic_corpus(root: Path, extra: int = EXTRA_CITIES) -> Path:
    """A corpus manifest with the default reports plus `extra` copies under invented cities."""
    from corpus.document import DEFAULT_CORPUS, manifest_entries

    root.mkdir(parents=True, exist_ok=True)
    entries = list(manifest_entries(DEFAULT_CORPUS))
    lines = ["# Synthetic cities for timing only: copies of the default reports."]
    for n in range(extra + 1):
        for e in entries:
            text = (DEFAULT_CORPUS.parent / e["file"]).read_text(encoding="utf-8")
            name = f"{n:02d}-{e['file']}"
            (root / name).write_text(text, encoding="utf-8")
            city = e["city"] if n == 0 else f"テスト市{n:02d}"
            lines += [
                "",
                "[[document]]",
                f'id = "{e["id"]}-{n:02d}"',
                f'file = "{name}"',
                f'city = "{city}"',
                f'title = "{e["title"]}"',
                f'fiscal_year = "{e.get("fiscal_year", "")}"',
                f'layout = "{e.get("layout", "auto")}"',
            ]
    manifest = root / "corpus.toml"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return manifest


def _latencies(searcher, cities: list[str], reps: int) -> list[float]:
    from search.compare import compare

    for q in QUERIES:  # warm-up
        compare(searcher, q, cities)
    times = []
    for _ in range(reps):
        for q in QUERIES:
            start = time.perf_counter()
            compare(searcher, q, cities)
            times.append(time.perf_counter() - start)
    return times


def measure_compare(cache_dir: Path, reps: int = 5, tmp: Path | None = None) -> dict[str, dict[str, float]]:
    """{"2 cities" | "20 cities": {"p50_ms", "p95_ms", "passages"}}; builds the 20-city index in `tmp`."""
    from reform_search.app import open_searcher
    from reform_search.manage import index_all
    from reform_search.settings import Settings

    own = tmp is None
    tmp = Path(tempfile.mkdtemp(prefix="compare-bench-")) if own else tmp
    try:
        manifest = synthetic_corpus(tmp / "corpus")
        settings = Settings().override(corpus=manifest, index_dir=tmp / "index", cache_dir=cache_dir)
        index_all(settings)
        searcher = open_searcher(settings)
        out = {}
        for label, cities in (("2 cities", searcher.cities[:2]), ("20 cities", searcher.cities)):
            times = _latencies(searcher, cities, reps)
            out[label] = {
                "p50_ms": float(np.percentile(times, 50) * 1000),
                "p95_ms": float(np.percentile(times, 95) * 1000),
                "passages": len(searcher.passages),
                "cities": len(cities),
            }
        return out
    finally:
        if own:
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    """Print the two measurements."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument(
        "--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "reform-search-bench-cache"
    )
    args = parser.parse_args()
    for label, m in measure_compare(args.cache_dir, args.reps).items():
        print(f"{label}: p50 {m['p50_ms']:.1f} ms, p95 {m['p95_ms']:.1f} ms ({m['passages']} passages)")


if __name__ == "__main__":
    main()
