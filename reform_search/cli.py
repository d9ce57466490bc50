"""The `reform-search` command line: index, search, chunks (and the commands added with each issue)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from reform_search import __version__
from reform_search.app import open_searcher
from reform_search.output import print_columns, print_hits
from reform_search.settings import Settings, load_settings

EXIT_USAGE = 2


def _settings_parser() -> argparse.ArgumentParser:
    """Flags for every setting, generated from the settings table so help and defaults never drift."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("settings (also REFORM_SEARCH_<NAME> environment variables)")
    for name in Settings.names():
        default = Settings.default(name)
        switch = Settings.choices(name) == ("on", "off") or Settings.choices(name) == ("off", "on")
        group.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            default=None,
            nargs="?" if switch else None,  # an on/off setting given alone means on: --read-only
            const="on" if switch else None,
            choices=Settings.choices(name),
            metavar=None if Settings.choices(name) else name.upper(),
            help=f"{Settings.help(name)} (default: {default})",
        )
    parent.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
    return parent


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with all subcommands."""
    settings = _settings_parser()
    parser = argparse.ArgumentParser(
        prog="reform-search",
        description="Find and compare Japanese municipalities' administrative reform initiatives, offline.",
    )
    parser.add_argument("--version", action="version", version=f"reform-search {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", parents=[settings], help="build or update the index of the corpus")
    p.add_argument(
        "--rebuild", action="store_true", help="rebuild from scratch (the embedding cache is kept)"
    )
    p.set_defaults(run=cmd_index)

    p = sub.add_parser(
        "search", parents=[settings], help="search passages (one query or a JSONL file of queries)"
    )
    p.add_argument("query", nargs="?", help="the query, in Japanese or English")
    p.add_argument(
        "--queries", type=Path, help='JSON lines file of {"id": ..., "query": ...}; one result line each'
    )
    _filters(p)
    p.set_defaults(run=cmd_search)

    p = sub.add_parser(
        "compare", parents=[settings], help="one column per city: its best passages and a match label"
    )
    p.add_argument("query", help="the theme or initiative to compare, in Japanese or English")
    p.add_argument("--city", action="append", metavar="CITY", help="compare only these cities (repeatable)")
    _export_flags(p, default="text")
    p.set_defaults(run=cmd_compare, top_k_default=3)

    p = sub.add_parser("similar", parents=[settings], help="counterparts of one passage in the other cities")
    p.add_argument("passage_id", metavar="PASSAGE_ID", help="a passage id (see `reform-search chunks`)")
    p.add_argument("--city", action="append", metavar="CITY", help="only these cities (repeatable)")
    p.set_defaults(run=cmd_similar, top_k_default=3)

    p = sub.add_parser("themes", parents=[settings], help="theme × city matrix: label, count, best passage")
    p.add_argument(
        "--themes", type=Path, metavar="FILE", help="themes, one per line (default: built-in list)"
    )
    p.add_argument("--city", action="append", metavar="CITY", help="only these cities (repeatable)")
    _export_flags(p, default="md")
    p.set_defaults(run=cmd_themes)

    p = sub.add_parser(
        "align", parents=[settings], help="each initiative of city A with its counterpart in B"
    )
    p.add_argument("city_a", metavar="CITY_A")
    p.add_argument("city_b", metavar="CITY_B")
    _export_flags(p, default="md")
    p.set_defaults(run=cmd_align)

    p = sub.add_parser(
        "add", parents=[settings], help="add a report (PDF, XLSX, CSV, DOCX, HTML, text) or a folder of them"
    )
    p.add_argument(
        "path", type=Path, metavar="PATH", help="a file, or a folder of files described by a manifest"
    )
    p.add_argument(
        "--manifest",
        type=Path,
        help="TOML manifest of a folder: one [[document]] per file (file, city, title, fiscal_year, url, "
        "kind, id...), files inside PATH (default: PATH/corpus.toml)",
    )
    p.add_argument(
        "--follow-symlinks",
        action="store_true",
        help="a folder's manifest may list symbolic links (refused by default: a link can lead anywhere)",
    )
    p.add_argument("--city", help="the municipality, e.g. 郡山市 (for one file)")
    p.add_argument("--title", help="the document's title (for one file)")
    p.add_argument("--year", dest="fiscal_year", help="fiscal year: 2024, 令和6年度 or R6")
    p.add_argument("--city-en", help="the city's name in romaji, accepted wherever a city is named")
    p.add_argument("--prefecture", help="e.g. 福島県")
    p.add_argument("--kind", help="kind of document (default: report)")
    p.add_argument("--url", help="where the document was published")
    p.add_argument(
        "--id",
        dest="doc_id",
        help="document id; adding under an existing id replaces that document "
        "(default: from city, year and file name)",
    )
    p.set_defaults(run=cmd_add)

    p = sub.add_parser("remove", parents=[settings], help="remove a document from the index")
    p.add_argument("document_id", metavar="DOCUMENT_ID", help="see `reform-search documents`")
    p.set_defaults(run=cmd_remove)

    p = sub.add_parser("documents", parents=[settings], help="list the indexed documents")
    p.set_defaults(run=cmd_documents)

    p = sub.add_parser("serve", parents=[settings], help="start the web UI (builds the index on first run)")
    p.set_defaults(run=cmd_serve)

    p = sub.add_parser("chunks", parents=[settings], help="list every indexed passage with its metadata")
    p.add_argument("--city", action="append", metavar="CITY", help="only this city (repeatable)")
    p.set_defaults(run=cmd_chunks)

    p = sub.add_parser(
        "evaluate",
        parents=[settings],
        help="measure the search on your own relevance judgments (JSONL, as in shared/eval)",
    )
    for kind, what in JUDGMENTS.items():
        p.add_argument("--" + kind, nargs="+", type=Path, metavar="FILE", help=what)
    p.add_argument(
        "--folds",
        type=int,
        default=0,
        metavar="K",
        help="also measure K folds of the judgments (split by id; K ≥ 2) and show the spread",
    )
    p.set_defaults(run=cmd_evaluate)

    p = sub.add_parser(
        "check", parents=[settings], help="verify the index files against their manifest (exit 2 if damaged)"
    )
    p.add_argument("--full", action="store_true", help="also compare every file's SHA-256 (reads it all)")
    p.set_defaults(run=cmd_check)
    return parser


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--city", action="append", metavar="CITY", help="only this city (name or alias; repeatable)"
    )
    p.add_argument(
        "--document", action="append", metavar="DOC", help="only this document id or title (repeatable)"
    )
    p.add_argument(
        "--year", action="append", type=int, metavar="YEAR", help="only this fiscal year, e.g. 2024"
    )


def _export_flags(p: argparse.ArgumentParser, default: str) -> None:
    from reform_search.export import FORMATS

    p.add_argument(
        "--format", choices=FORMATS, default=None, help=f"output format (default: {default}; --json = json)"
    )
    p.add_argument("--output", type=Path, metavar="FILE", help="write to FILE (atomically) instead of stdout")
    p.set_defaults(format_default=default)


def _emit(args: argparse.Namespace, data: str | bytes) -> None:
    """Print an export, or write it to --output atomically (corpus/atomic.py). A workbook (bytes) goes
    only to a file or a pipe, never onto a terminal."""
    from corpus.atomic import replace_atomic

    if args.output is None:
        if isinstance(data, str):
            sys.stdout.write(data)
        elif sys.stdout.isatty():
            raise ValueError("an XLSX workbook is not for the terminal; add --output FILE.xlsx")
        else:
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
        return
    write = (
        (lambda tmp: tmp.write_bytes(data))
        if isinstance(data, bytes)
        else (lambda tmp: tmp.write_text(data, encoding="utf-8", newline=""))
    )
    try:
        replace_atomic(args.output, write)
    except OSError as e:
        raise ValueError(f"cannot write {str(args.output)!r}: {e.strerror}") from None
    print(f"wrote {args.output}", file=sys.stderr)


def _format(args: argparse.Namespace) -> str:
    return "json" if args.json else (args.format or args.format_default)


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(**{n: getattr(args, n, None) for n in Settings.names()})
    # Comparison commands show a few passages per city unless --top-k (or its env var) says otherwise.
    if (
        getattr(args, "top_k_default", None)
        and args.top_k is None
        and "REFORM_SEARCH_TOP_K" not in os.environ
    ):
        settings = settings.override(top_k=args.top_k_default)
    return settings


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    """Build or update the index of the configured corpus, with a progress bar on stderr."""
    from reform_search.app import tqdm_progress
    from reform_search.manage import index_all

    report = index_all(settings, rebuild=args.rebuild, progress=tqdm_progress())
    if args.json:
        _print_json(report.to_dict())
    else:
        state = "built" if report.changed else "up to date"
        print(
            f"index {state}: {report.documents} documents, {report.passages} passages "
            f"({report.embedded} embedded now) in {report.seconds:.1f} s → {settings.index_dir}"
        )
    return 0


ONE_FILE_FLAGS = ("city", "city_en", "prefecture", "title", "fiscal_year", "kind", "url", "doc_id")


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    """Add one file with its city, title and year, or a folder described by a manifest, and index it."""
    from corpus.library import read_upload
    from reform_search.app import tqdm_progress
    from reform_search.manage import add_document, add_folder, limits_for

    if args.manifest or args.path.is_dir():
        given = [f"--{k.replace('_', '-')}" for k in ONE_FILE_FLAGS if getattr(args, k)]
        if given:
            raise ValueError(f"{', '.join(given)} describe one file; for a folder, give them in its manifest")
        if not args.path.is_dir():
            raise ValueError(
                f"{str(args.path)!r} is not a folder; --manifest goes with a folder of documents"
            )
        manifest = args.manifest or args.path / "corpus.toml"
        documents, report = add_folder(
            settings, args.path, manifest, progress=tqdm_progress(), follow_symlinks=args.follow_symlinks
        )
    else:
        missing = [f"--{k}" for k in ("city", "title") if not getattr(args, k)]
        if missing:
            raise ValueError(f"give the document's {' and '.join(missing)}")
        meta = {k: getattr(args, k) for k in ONE_FILE_FLAGS if k != "doc_id"} | {"id": args.doc_id}
        data = read_upload(args.path, limits_for(settings))
        document, report = add_document(settings, data, args.path.name, progress=tqdm_progress(), **meta)
        documents = [document]
    if args.json:
        metas = [d.meta() for d in documents]
        # One file: {"document": ...}; a folder: {"added": [...]}; then the index report ("documents": count).
        head = {"added": metas} if args.manifest or args.path.is_dir() else {"document": metas[0]}
        _print_json({**head, **report.to_dict()})
    else:
        for d in documents:
            print(f"added {d.id} ({d.city}「{d.title}」, {d.format})")
        print(
            f"index: {report.documents} documents, {report.passages} passages "
            f"({report.embedded} embedded now)"
        )
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    """Remove a document from the index."""
    from reform_search.manage import remove_document

    report = remove_document(settings, args.document_id)
    if args.json:
        _print_json({"removed": args.document_id, **report.to_dict()})
    else:
        print(f"removed {args.document_id}; index: {report.documents} documents, {report.passages} passages")
    return 0


def cmd_documents(args: argparse.Namespace, settings: Settings) -> int:
    """What is indexed: id, city, title, year, kind, passages, source."""
    from reform_search.manage import indexed_documents

    documents = indexed_documents(settings)
    if not documents:
        raise ValueError(f"no index at {settings.index_dir}; build it with `reform-search index`")
    for d in documents:
        if args.json:
            _print_json(d, compact=True)
        else:
            year = d.get("fiscal_year") or "—"
            fields = (d["id"], d["city"], year, d.get("kind", ""), d["passages"], d["title"], d["source"])
            print("\t".join(str(f) for f in fields))
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Build the index if needed, then start the web UI (127.0.0.1 unless --host says otherwise)."""
    from reform_search.web.server import serve

    serve(settings)
    return 0


def _read_queries(path: Path) -> list[tuple[object, str]]:
    from search.judgments import read_json_lines

    out = []
    for n, obj in read_json_lines(path, "queries"):
        if not isinstance(obj.get("query"), str) or not obj["query"].strip():
            raise ValueError(f'{path}:{n}: expected a JSON object with a non-empty "query" string')
        out.append((obj.get("id", n), obj["query"]))
    if not out:
        raise ValueError(f"queries file {str(path)!r} holds no queries")
    return out


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    """One query (readable or JSON) or a batch of JSONL queries (one JSON line each)."""
    if (args.query is None) == (args.queries is None):
        raise ValueError("give either a query or --queries FILE")
    batch = _read_queries(args.queries) if args.queries else [(None, args.query)]
    checked = [(qid, _checked(text, settings)) for qid, text in batch]
    searcher = open_searcher(settings)
    allowed = searcher.mask(args.city, args.document, args.year)
    for qid, text in checked:
        hits = searcher.search(text, settings.top_k, settings.mode, allowed=allowed)
        if args.json:
            obj = {"query": text, "hits": [h.to_dict() for h in hits]}
            _print_json({"id": qid, **obj} if args.queries else obj, compact=bool(args.queries))
        else:
            print_hits(text, hits)
    return 0


def cmd_compare(args: argparse.Namespace, settings: Settings) -> int:
    """One column per city, ranked within the city, with a strong / weak / none label."""
    from search.compare import compare

    q = _checked(args.query, settings)
    searcher = open_searcher(settings)
    result = compare(searcher, q, args.city, settings.top_k, settings.mode)
    if args.format or args.output:
        from reform_search.export import document_urls, render_comparison

        # --output alone writes Markdown (--json, JSON); the terminal gets the readable columns
        fmt = args.format or ("json" if args.json else "md")
        _emit(args, render_comparison(result, fmt, document_urls(searcher.index.documents)))
    elif args.json:
        _print_json(result.to_dict())
    else:
        print_columns(result.query, result.columns, content=result.content)
    return 0


def cmd_similar(args: argparse.Namespace, settings: Settings) -> int:
    """Counterparts of one passage in every other city (or the cities named)."""
    from search.compare import similar

    result = similar(open_searcher(settings), args.passage_id, args.city, settings.top_k)
    if args.json:
        _print_json(result.to_dict())
    else:
        how = {
            "query": "its text searched as a query",
            "content": "its initiative and content searched as a query",
            "profile": "compared by its profile",
        }[result.by]
        title = f"counterparts of {result.source.passage.id} ({how})"
        print_columns(title, result.columns, source=result.source)
    return 0


def cmd_themes(args: argparse.Namespace, settings: Settings) -> int:
    """Theme × city matrix as Markdown, CSV (UTF-8 with BOM) or JSON."""
    from reform_search.export import document_urls, render_matrix
    from search.themes import read_themes, theme_matrix

    themes = read_themes(args.themes) if args.themes else None
    fmt = _format(args)
    searcher = open_searcher(settings)
    matrix = theme_matrix(searcher, themes, args.city)
    _emit(args, render_matrix(matrix, fmt, document_urls(searcher.index.documents)))
    return 0


def cmd_align(args: argparse.Namespace, settings: Settings) -> int:
    """Initiatives of city A with their best counterparts in city B, and those only one city has."""
    from reform_search.export import document_urls, render_alignment
    from search.align import align

    fmt = _format(args)
    searcher = open_searcher(settings)
    alignment = align(searcher, args.city_a, args.city_b)
    _emit(args, render_alignment(alignment, fmt, document_urls(searcher.index.documents)))
    return 0


def _checked(query: str, settings: Settings) -> str:
    from search.engine import check_query

    q = check_query(query, settings.max_query_chars)
    if q.truncated:
        print(f"reform-search: warning: query cut to {settings.max_query_chars} characters", file=sys.stderr)
    return q.text


def cmd_chunks(args: argparse.Namespace, settings: Settings) -> int:
    """Every indexed passage with its metadata: JSON lines with --json, a table otherwise."""
    from corpus.document import resolve_city
    from index.store import load_index

    index = load_index(settings.index_dir)
    cities = {resolve_city(c, index.city_pairs) for c in args.city or []}
    for p in index.passages:
        if cities and p.city not in cities:
            continue
        if args.json:
            d = p.to_dict()
            _print_json(
                {"id": d.pop("id"), "city": d.pop("city"), "document": d.pop("document"), **d}, compact=True
            )
        else:
            print(f"{p.id}\t{p.city}\t{p.section}\t{p.text[:60].replace(chr(10), ' ')}")
    return 0


JUDGMENTS = {
    "queries": 'JSON lines of {"id", "query", "relevant": [{"city", "key"}, ...]}: nDCG@10, recall@10, MRR, '
    "column recall@3",
    "pairs": 'JSON lines of {"id", "from": {"city", "key"}, "to": {"city", "key"}}: counterparts hit@3',
    "labels": 'JSON lines of {"id", "query", "expect": {CITY: "strong" | "none" | "any"}}: label accuracy',
}


def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    """Measures of the search on the user's judgment files (the same as shared/eval/score.py's)."""
    from reform_search.output import print_evaluation
    from search.evaluate import (
        by_fold,
        check_folds,
        evaluate,
        label_measures,
        misses,
        pair_measures,
        query_measures,
    )
    from search.judgments import read_judgments

    files = {kind: getattr(args, kind) or [] for kind in JUDGMENTS}
    if not any(files.values()):
        raise ValueError("give judgments to measure: --queries, --pairs and/or --labels FILE.jsonl")
    judged = {kind: read_judgments(paths, kind) for kind, paths in files.items()}
    for kind, paths in files.items():
        if paths and not judged[kind]:
            raise ValueError(f"--{kind} {' '.join(map(str, paths))} holds no judgments")
    check_folds(args.folds, **judged)  # before the model loads
    searcher = open_searcher(settings)
    _warn_unknown_cities(judged, searcher.cities)
    report = evaluate(searcher, **judged, folds=args.folds, mode=settings.mode, progress=_count_progress())
    if args.json:
        _print_json(report.to_dict())
        return 0
    results = {"queries": report.queries, "pairs": report.pairs, "labels": report.labels}
    measures = {"queries": query_measures, "pairs": pair_measures, "labels": label_measures}
    given = {kind: r for kind, r in results.items() if r}
    folds = {kind: by_fold(r, args.folds, measures[kind]) for kind, r in given.items()} if args.folds else {}
    summaries = {kind: measures[kind](r) for kind, r in given.items()}
    print_evaluation(summaries, misses(report.queries, report.pairs, report.labels), folds)
    return 0


def _warn_unknown_cities(judged: dict[str, list[dict]], cities: list[str]) -> None:
    """A city the index does not hold can never be found: most likely a typo or an alias (not matched)."""
    named = [r["city"] for q in judged["queries"] for r in q["relevant"]]
    named += [p[end]["city"] for p in judged["pairs"] for end in ("from", "to")]
    named += [city for p in judged["labels"] for city in p["expect"]]
    unknown = sorted(set(named) - set(cities))
    if unknown:
        print(
            f"reform-search: warning: judgments name cities the index does not hold: {', '.join(unknown)} "
            f"(indexed: {', '.join(cities)}; judgments must name cities exactly as indexed)",
            file=sys.stderr,
        )


def _count_progress():
    """A judged-lines counter on stderr when it is a terminal; None (silence) otherwise."""
    if not sys.stderr.isatty():
        return None

    def update(done: int, total: int) -> None:
        print(f"\rjudged {done}/{total}", end="\n" if done >= total else "", file=sys.stderr, flush=True)

    return update


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    """Verify the live index: every file present at its recorded size; with --full, its SHA-256 too."""
    from index.build import expected_manifest
    from reform_search.check import check_index
    from reform_search.manage import embedder_for

    expected = expected_manifest(embedder_for(settings))
    report = check_index(settings.index_dir, full=args.full, expected=expected)
    if args.json:
        _print_json(report.to_dict())
    else:
        print(report.message())
    return 0 if report.ok else EXIT_USAGE


def _print_json(obj: object, compact: bool = False) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=None if compact else 1))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, run, and turn expected errors into one line on stderr with exit code 2."""
    from index.store import IndexProblem

    parser = build_parser()
    args = parser.parse_args(argv)
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8")  # Japanese output whatever the locale
    try:
        settings = _settings(args)
        return args.run(args, settings)
    except (ValueError, IndexProblem) as e:
        print(f"reform-search: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("reform-search: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
