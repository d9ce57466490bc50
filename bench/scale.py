"""Scale: synthetic indexes of 10k, 100k and 1M passages drawn from the default corpus's statistics.

    .venv/bin/python bench/bench.py --only scale [--scale-1m] --out docs/BENCHMARKS.md

Each size is built through the project's own code (BM25.from_token_ids, build_dense_index,
index_manifest, save_index; embedding is skipped, vectors are given), then served by a fresh
process (`scale.py serve`) that loads it, answers every query in every mode with precomputed query
vectors (so the latencies exclude query embedding), then 10,000 mixed queries from 4 threads sharing
the one loaded Searcher while its resident memory is sampled. Recall@10 of the approximate index is
measured against exact search over the same vectors.

What is synthetic, all with a fixed seed:
  vectors   around the real passage and profile vectors of the index: one topic centre per ~200
            passages (a random mix of two real vectors plus a Gaussian with the real vectors'
            covariance), each passage its centre plus a smaller such Gaussian and a little isotropic
            noise, renormalized. On 135 of them the mean pairwise cosine is 0.86 and the mean
            nearest-neighbour cosine 0.96 (real corpus: 0.88 and 0.95).
  tokens    document lengths resampled from the real passages' token counts; tokens from a
            Zipf-Mandelbrot law fitted to the real rank-frequency curve, the real tokens at the head,
            invented ones in the tail, the vocabulary growing with the corpus by Heaps' law fitted on
            the real token stream.
  passages  8 invented cities; documents of 70 consecutive real passages (text, kind, initiative and
            fields copied), so filters, crowding and highlights behave as on the real corpus.
  queries   the bench's queries embedded with the real model, plus perturbed copies: 200 in all.

Over 300 lines by design: drawing a realistic synthetic corpus, building it at three sizes and the load
test share one set of measured statistics; split apart, each piece would need them passed around.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

SEED = 20261123
SIZES = (10_000, 100_000, 1_000_000)
N_QUERIES = 200
LOAD_QUERIES = 10_000
THREADS = 4
CITIES = [(f"合成市{i:02d}", f"Gosei {i:02d}") for i in range(1, 9)]
PER_DOCUMENT = 70
PER_TOPIC = 200
TOPIC_SPREAD, SPREAD, ISOTROPIC = 0.5, 0.5, 0.005
MODES = ("hybrid", "dense", "lexical")


@dataclasses.dataclass
class Real:
    """What is sampled from: the real index's vectors, passages and token statistics."""

    vectors: np.ndarray  # passage and profile vectors, float64
    passages: list  # list[Passage]
    lengths: np.ndarray  # tokens per passage
    tokens: list[str]  # distinct tokens, most frequent first
    counts: np.ndarray  # their counts
    stream: list[str]  # every token in corpus order (for Heaps' law)


def load_real(index_dir: Path) -> Real:
    """Read the real index and tokenize its passages."""
    from index.store import load_index
    from index.tokenize import tokenize

    index = load_index(index_dir)
    passages = list(index.passages)
    tokenized = [tokenize(p.text) for p in passages]
    counts = Counter(t for ts in tokenized for t in ts).most_common()
    return Real(
        np.vstack([index.vectors, index.profiles]).astype(np.float64),
        passages,
        np.array([len(ts) for ts in tokenized]),
        [t for t, _ in counts],
        np.array([c for _, c in counts], dtype=np.float64),
        [t for ts in tokenized for t in ts],
    )


# ---------------------------------------------------------------- synthetic data


def _basis(real: Real) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the real vectors, and their principal axes scaled by the spread along each."""
    mean = real.vectors.mean(axis=0)
    _, s, vt = np.linalg.svd(real.vectors - mean, full_matrices=False)
    return mean, (s / np.sqrt(len(real.vectors)))[:, None] * vt


def synthetic_vectors(real: Real, n: int, seed: int = SEED, chunk: int = 100_000) -> np.ndarray:
    """n unit vectors in topic clusters around the real ones (see the module docstring)."""
    rng = np.random.default_rng(seed)
    mean, basis = _basis(real)
    residuals = real.vectors - mean
    topics = max(16, n // PER_TOPIC)
    mix = rng.random((topics, 1))
    pick = rng.integers(len(residuals), size=(2, topics))
    centres = mix * residuals[pick[0]] + (1 - mix) * residuals[pick[1]]
    centres += TOPIC_SPREAD * rng.standard_normal((topics, len(basis))) @ basis
    topic = rng.integers(topics, size=n)
    out = np.empty((n, real.vectors.shape[1]), dtype=np.float32)
    for start in range(0, n, chunk):
        t = topic[start : start + chunk]
        x = mean + centres[t] + SPREAD * rng.standard_normal((len(t), len(basis))) @ basis
        x += ISOTROPIC * rng.standard_normal(x.shape)
        out[start : start + len(t)] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def query_vectors(real: Real, embedded: np.ndarray, n: int = N_QUERIES, seed: int = SEED) -> np.ndarray:
    """The embedded bench queries, then perturbed copies of them (cycling), n unit vectors in all."""
    rng = np.random.default_rng(seed + 1)
    _, basis = _basis(real)
    extra = n - len(embedded)
    base = embedded[np.arange(extra) % len(embedded)]
    noisy = base + SPREAD * rng.standard_normal((extra, len(basis))) @ basis
    noisy += ISOTROPIC * rng.standard_normal(noisy.shape)
    out = np.vstack([embedded, noisy])
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def zipf_fit(counts: np.ndarray) -> tuple[float, float]:
    """(s, q) of the Zipf-Mandelbrot law count ∝ (rank + q)^-s fitted to a rank-frequency curve."""
    ranks = np.arange(1, len(counts) + 1)
    head = counts >= 2  # the hapax tail of a small sample is flat and would bend the fit
    best = (np.inf, 1.0, 0.0)
    for q in (0, 0.5, 1, 2, 4, 8, 16, 32):
        x, y = np.log(ranks[head] + q), np.log(counts[head])
        slope, icept = np.polyfit(x, y, 1)
        err = float(np.mean((y - (slope * x + icept)) ** 2))
        best = min(best, (err, -slope, q))
    return best[1], best[2]


def heaps_fit(stream: Sequence[str]) -> tuple[float, float]:
    """(K, beta) of Heaps' law V = K·N^beta fitted on prefixes of the real token stream."""
    points, seen = [], set()
    first = min(100, max(2, len(stream) // 10))  # 100 tokens on, fewer for a tiny corpus
    marks = set(np.unique(np.geomspace(first, len(stream), 12).astype(int)).tolist())
    for i, token in enumerate(stream, 1):
        seen.add(token)
        if i in marks:
            points.append((i, len(seen)))
    x, y = np.log([p[0] for p in points]), np.log([p[1] for p in points])
    beta, log_k = np.polyfit(x, y, 1)
    return float(np.exp(log_k)), float(beta)


def synthetic_tokens(real: Real, n: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(token ids, tokens per document, vocabulary) for n documents (see the module docstring)."""
    rng = np.random.default_rng(seed + 2)
    lengths = real.lengths[rng.integers(len(real.lengths), size=n)]
    total = int(lengths.sum())
    k, beta = heaps_fit(real.stream)
    size = max(len(real.tokens), int(k * total**beta))
    s, q = zipf_fit(real.counts)
    p = (np.arange(1, size + 1) + q) ** -s
    # Token ids by rank; the rarest ranks are drawn too seldom to all appear, as in real text.
    ids = rng.choice(size, size=total, p=p / p.sum()).astype(np.int32)
    vocab = real.tokens + [f"語{r:07d}" for r in range(len(real.tokens), size)]
    return ids, lengths, vocab


def synthetic_documents(n: int) -> list[dict]:
    """Manifest entries of the documents of n passages: PER_DOCUMENT each, cities in turn."""
    docs = []
    for d in range(-(-n // PER_DOCUMENT)):
        city, city_en = CITIES[d % len(CITIES)]
        docs.append(
            {
                "id": f"syn-{d:06d}",
                "city": city,
                "city_en": city_en,
                "title": f"{city} 行財政改革の取組状況 第{d // len(CITIES) + 1}号",
                "fiscal_year": 2019 + d % 6,
                "sha256": "",
                "source": "synthetic",
                "kind": "synthetic",
                "passages": min(PER_DOCUMENT, n - d * PER_DOCUMENT),
            }
        )
    return docs


def synthetic_passages(real: Real, documents: list[dict], seed: int = SEED) -> Iterator:
    """Passages document by document: each document a run of consecutive real passages, renamed."""
    rng = np.random.default_rng(seed + 3)
    for doc in documents:
        start = int(rng.integers(len(real.passages)))
        for i in range(doc["passages"]):
            p = real.passages[(start + i) % len(real.passages)]
            yield dataclasses.replace(
                p,
                id=f"{doc['id']}:{i:03d}",
                doc_id=doc["id"],
                city=doc["city"],
                document=doc["title"],
                fiscal_year=doc["fiscal_year"],
            )


# ---------------------------------------------------------------- build


def build(real: Real, n: int, index_dir: Path, embedder, cache, dense_kind: str = "auto") -> dict:
    """Draw n passages and build their index through the project's code; timings in seconds."""
    from index.bm25 import BM25
    from index.build import expected_manifest, index_manifest
    from index.calibration import calibrate
    from index.dense import build_dense_index
    from index.parts import Parts
    from index.store import save_index

    clock = time.perf_counter
    t0 = clock()
    vectors = synthetic_vectors(real, n)
    ids, lengths, vocab = synthetic_tokens(real, n)
    documents = synthetic_documents(n)
    t1 = clock()
    bm25 = BM25.from_token_ids(ids, lengths, vocab)
    del ids
    t2 = clock()
    dense = build_dense_index(vectors, dense_kind)
    t3 = clock()
    cities = np.repeat([d["city"] for d in documents], [d["passages"] for d in documents])
    calibration = calibrate(embedder, vectors, cities.tolist(), cache)
    t4 = clock()
    manifest = index_manifest(expected_manifest(embedder), documents, calibration, dense, dense_kind, bm25)
    # Profiles are the passage vectors themselves, and no passage has part vectors: synthetic passages
    # have no fields to average and no sentences of their own.
    parts = Parts.none(n, vectors.shape[1])
    # Nor English words: the glossary reads real Japanese words, and the synthetic tokens are drawn.
    english = BM25.from_token_ids(np.zeros(0, dtype=np.int64), np.zeros(n, dtype=np.int64), [])
    passages = synthetic_passages(real, documents)
    save_index(index_dir, manifest, passages, vectors, vectors, parts, dense, bm25, english)
    t5 = clock()
    return {
        "vectors": vectors,
        "dense": dense,
        "terms": len(bm25.terms),
        "postings": len(bm25.doc_ids),
        "seconds": {
            "draw": t1 - t0,
            "bm25": t2 - t1,
            "dense": t3 - t2,
            "calibrate": t4 - t3,
            "save": t5 - t4,
        },
    }


def disk_usage(index_dir: Path) -> dict[str, int]:
    """Bytes of each file of the live generation."""
    from index.store import current_generation

    gen = current_generation(index_dir)
    return {p.name: p.stat().st_size for p in sorted(gen.iterdir())}


# ---------------------------------------------------------------- recall


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int = 10, allowed=None, chunk: int = 200_000):
    """Exact top-k ids per query (brute force in chunks), optionally within a mask per query."""
    best_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(vectors), chunk):
        scores = queries @ vectors[start : start + chunk].T
        if allowed is not None:
            scores[~allowed[:, start : start + chunk]] = -np.inf
        s = np.concatenate([best_s, scores], axis=1)
        i = np.concatenate(
            [best_i, np.broadcast_to(np.arange(start, start + scores.shape[1]), scores.shape)], axis=1
        )
        top = np.argsort(-s, axis=1, kind="stable")[:, :k]
        best_s, best_i = np.take_along_axis(s, top, 1), np.take_along_axis(i, top, 1)
    return best_i


def recall_at_10(index, queries: np.ndarray, truth: np.ndarray, allowed=None) -> tuple[float, list[float]]:
    """Share of the exact top 10 that `index` returns, and each search's seconds."""
    found, times = 0, []
    for j, q in enumerate(queries):
        mask = None if allowed is None else allowed[j]
        start = time.perf_counter()
        ids, _ = index.search(q, 10, mask)
        times.append(time.perf_counter() - start)
        found += len(np.intersect1d(ids, truth[j]))
    return found / truth.size, times


def city_masks(index_dir: Path, n_queries: int) -> np.ndarray:
    """Per query, the passages of one city (cities in turn): the filter of a per-city comparison."""
    from index.passages import PassageTable
    from index.store import current_generation

    table = PassageTable.open(current_generation(index_dir))
    masks = [table.isin("city", [CITIES[j % len(CITIES)][0]]) for j in range(len(CITIES))]
    return np.array([masks[j % len(CITIES)] for j in range(n_queries)])


# ---------------------------------------------------------------- serving, in a fresh process


def memory() -> dict[str, int]:
    """VmRSS, RssAnon, RssFile and VmHWM of this process, in bytes."""
    out = {}
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                out[name] = int(value.split()[0]) * 1024
    return out


class NoEmbedder:
    """Stands in for the model: every query comes with its vector, so embedding is never timed."""

    def __init__(self, name: str, dim: int) -> None:
        self.name, self.dim = name, dim

    def embed_queries(self, texts):
        raise RuntimeError("scale bench: a query arrived without its vector")

    embed_passages = embed_queries


def serve(index_dir: Path, queries_file: Path, load_queries: int, threads: int) -> dict:
    """Load the index, time every query in every mode, then run the concurrent load; JSON-ready."""
    import gc

    from index.store import load_index
    from index.tokenize import tokenize
    from search.engine import Searcher

    tokenize("準備")  # the tagger's dictionary is not part of the index's memory
    data = np.load(queries_file)
    texts, vectors = json.loads(str(data["texts"])), data["vectors"]
    before = memory()
    start = time.perf_counter()
    index = load_index(index_dir)
    embedder = index.manifest["embedder"]
    searcher = Searcher(index, NoEmbedder(embedder["name"], embedder["dim"]))
    load_s = time.perf_counter() - start
    loaded = memory()

    def ask(j: int, mode: str, city: str | None = None):
        cities = [city] if city else None
        return searcher.search(searcher.prepare(texts[j], vectors[j]), 10, mode, searcher.mask(cities))

    for j in range(min(10, len(texts))):  # first calls: tagger, page faults of the hottest pages
        for mode in MODES:
            ask(j, mode)
    times: dict[str, list[float]] = {m: [] for m in (*MODES, "hybrid, one city")}
    answers = {}
    for j in range(len(texts)):
        for mode in MODES:  # interleaved so that drift in machine load hits every mode alike
            t = time.perf_counter()
            answers[j, mode] = [h.passage.id for h in ask(j, mode)]
            times[mode].append(time.perf_counter() - t)
        t = time.perf_counter()
        ask(j, "hybrid", CITIES[j % len(CITIES)][0])
        times["hybrid, one city"].append(time.perf_counter() - t)
    after_timing = memory()

    # The load: one Searcher shared by `threads` threads, modes and city filters mixed; a warm-up
    # first, so that the highlight cache and the allocator's pools have settled before the readings.
    def plan(start: int, stop: int) -> list[tuple[int, str, str | None]]:
        return [
            (j % len(texts), MODES[j % 3], CITIES[j % 8][0] if j % 4 == 0 else None)
            for j in range(start, stop)
        ]

    def changed(item: tuple[int, str, str | None]) -> bool:
        """Whether an unfiltered query's answer differs from its answer when asked alone."""
        j, mode, city = item
        ids = [h.passage.id for h in ask(j, mode, city)]
        return city is None and ids != answers[j, mode]

    warm_up, samples, mismatches = max(1, load_queries // 5), [], 0
    with ThreadPoolExecutor(threads) as pool:
        mismatches += sum(pool.map(changed, plan(0, warm_up)))
        gc.collect()
        warm = memory()
        start = time.perf_counter()
        step = max(1, load_queries // 10)
        for at in range(0, load_queries, step):
            mismatches += sum(pool.map(changed, plan(warm_up + at, warm_up + min(at + step, load_queries))))
            samples.append(memory()["VmRSS"])
        load_s_total = time.perf_counter() - start
    gc.collect()
    end = memory()
    return {
        "load_seconds": load_s,
        "memory": {"before": before, "loaded": loaded, "timed": after_timing, "warm": warm, "end": end},
        "rss_samples": samples,
        "times": times,
        "load_test": {
            "queries": load_queries,
            "warm_up": warm_up,
            "threads": threads,
            "seconds": load_s_total,
            "mismatches": mismatches,
        },
        "dense": index.manifest["dense"],
    }


# ---------------------------------------------------------------- one size, start to end


def measure(
    real: Real,
    n: int,
    root: Path,
    embedder,
    cache,
    texts: list[str],
    embedded: np.ndarray,
    load_queries: int = LOAD_QUERIES,
    log=print,
) -> dict:
    """Build an index of n synthetic passages under `root`, serve it in a subprocess, measure, remove it."""
    import subprocess

    from index.dense import IVFFaissIndex

    index_dir = root / f"scale-{n}"
    try:
        log(f"scale {n:,}: drawing and building")
        built = build(real, n, index_dir, embedder, cache)
        sizes = disk_usage(index_dir)
        queries = query_vectors(real, embedded)
        qtexts = [texts[j % len(texts)] for j in range(len(queries))]
        qfile = root / "queries.npz"
        np.savez(qfile, vectors=queries, texts=np.array(json.dumps(qtexts, ensure_ascii=False)))

        log(f"scale {n:,}: recall of the approximate index against exact search")
        vectors, dense = built.pop("vectors"), built.pop("dense")
        approx = dense if dense.kind != "flat" else None
        start = time.perf_counter()
        approx = approx or IVFFaissIndex.build(vectors)
        approx_build = time.perf_counter() - start
        truth = exact_top(vectors, queries)
        masks = city_masks(index_dir, len(queries))
        truth_city = exact_top(vectors, queries, allowed=masks)
        recall, approx_times = recall_at_10(approx, queries, truth)
        recall_city, city_times = recall_at_10(approx, queries, truth_city, masks)
        params = approx.params()
        del vectors, approx, dense

        log(f"scale {n:,}: serving from a fresh process ({load_queries:,} queries in the load test)")
        cmd = [sys.executable, __file__, "serve", str(index_dir), str(qfile), str(load_queries), str(THREADS)]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=7200)
        if proc.returncode != 0:
            raise RuntimeError(f"scale serve exited with {proc.returncode}:\n{proc.stderr[-3000:]}")
        served = json.loads(proc.stdout)
        return {
            "n": n,
            **built,
            "disk": sizes,
            "approximate": {
                "kind": "ivf",
                "params": params,
                "built_for_recall_s": approx_build if served["dense"]["kind"] == "flat" else None,
                "recall": recall,
                "recall_city": recall_city,
                "times": approx_times,
                "times_city": city_times,
            },
            **served,
        }
    finally:
        shutil.rmtree(index_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """`serve INDEX_DIR QUERIES N THREADS` (used by measure), or a standalone run printing JSON."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "serve":
        result = serve(Path(argv[1]), Path(argv[2]), int(argv[3]), int(argv[4]))
        print(json.dumps(result))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-dir", type=Path, required=True, help="the real (default corpus) index")
    parser.add_argument("--cache-dir", type=Path, required=True, help="its embedding cache")
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated passage counts")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from queries import QUERIES

    results = run_sizes(args.index_dir, args.cache_dir, [int(s) for s in args.sizes.split(",")], QUERIES)
    print(json.dumps(results, default=float, indent=1))
    return 0


def run_sizes(
    index_dir: Path,
    cache_dir: Path,
    sizes: Sequence[int],
    texts: list[str],
    load_queries: int = LOAD_QUERIES,
    log=print,
) -> list[dict]:
    """Measure every size in turn with the real index's model and cache; temporary files removed."""
    from index.cache import EmbeddingCache
    from reform_search.manage import embedder_for
    from reform_search.settings import load_settings

    real = load_real(index_dir)
    embedder = embedder_for(load_settings(index_dir=index_dir, cache_dir=cache_dir))
    embedded = np.asarray(embedder.embed_queries(list(texts)), dtype=np.float32)
    results = []
    with EmbeddingCache(Path(cache_dir) / "embeddings.sqlite3") as cache:
        for n in sizes:
            free = shutil.disk_usage(tempfile.gettempdir()).free
            if free < n * 8_000 + 2**30:  # ~6.5 KB a passage on disk, with room to spare
                raise RuntimeError(
                    f"{free / 2**30:.1f} GiB free in {tempfile.gettempdir()}: too little for {n:,}"
                )
            with tempfile.TemporaryDirectory(prefix="reform-search-scale-") as tmp:
                results.append(
                    measure(real, n, Path(tmp), embedder, cache, list(texts), embedded, load_queries, log)
                )
    return results


def ann_sweep(
    index_dir: Path,
    cache_dir: Path,
    n: int,
    texts: list[str],
    probes: Sequence[int] = (16, 32, 64, 96, 128, 192),
    efs: Sequence[int] = (64, 128, 256, 384, 512),
    log=print,
) -> dict:
    """IVF (nprobe) against HNSW (efSearch) on n synthetic vectors: build time, size, recall@10, latency."""
    from index.dense import HNSW_EF_CONSTRUCTION, HNSW_M, HNSWFaissIndex, IVFFaissIndex
    from reform_search.manage import embedder_for
    from reform_search.settings import load_settings

    real = load_real(index_dir)
    embedder = embedder_for(load_settings(index_dir=index_dir, cache_dir=cache_dir))
    queries = query_vectors(real, np.asarray(embedder.embed_queries(list(texts)), dtype=np.float32))
    vectors = synthetic_vectors(real, n)
    truth = exact_top(vectors, queries)
    out: dict = {"n": n, "ivf": {}, "hnsw": {}}
    for name, make, knob, values in (
        ("ivf", IVFFaissIndex.build, "nprobe", probes),
        ("hnsw", HNSWFaissIndex.build, "efSearch", efs),
    ):
        log(f"ann {n:,}: building {name}")
        start = time.perf_counter()
        index = make(vectors)
        out[name]["build_s"] = time.perf_counter() - start
        with tempfile.TemporaryDirectory(prefix="reform-search-ann-") as tmp:
            index.save(Path(tmp) / "dense.faiss")
            out[name]["bytes"] = (Path(tmp) / "dense.faiss").stat().st_size
        out[name]["params"] = index.params()
        for value in values:
            if name == "ivf":
                index.index.nprobe = min(value, index.index.nlist)
            else:
                index.index.hnsw.efSearch = value
            for q in queries[:20]:  # warm the pages this setting touches
                index.search(q, 10)
            recall, times = recall_at_10(index, queries, truth)
            out[name][value] = {"recall": recall, "p50": float(np.percentile(times, 50)),
                                "p95": float(np.percentile(times, 95))}  # fmt: skip
        out[name]["knob"] = knob
        out[name]["construction"] = (
            {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION} if name == "hnsw" else {}
        )
        del index
    return out


if __name__ == "__main__":
    sys.exit(main())
