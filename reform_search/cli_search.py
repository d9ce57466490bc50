"""The commands that ask the index: search, compare, similar, themes, align, evaluate; and writing their
exports (--format, --output)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reform_search.app import open_searcher
from reform_search.output import print_columns, print_hits, print_json
from reform_search.settings import Settings


def _emit(args: argparse.Namespace, data: str | bytes) -> None:
    """Print an export, or write it to --output atomically (corpus/atomic.py). A workbook (bytes) goes
    only to a file or a pipe, never onto a terminal."""
    from corpus.atomic import replace_atomic

    if args.output is None or str(args.output) == "-":  # `--output -`: stdout, not a file named "-"
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
    target = Path(args.output)
    if target.is_symlink() or target.exists():
        target = target.resolve()  # a link is written through, not replaced by a file of its own
        if target.exists() and not target.is_file():  # a device (/dev/full: no error, a file in its place)
            raise ValueError(f"{args.output} is not a regular file; --output writes and replaces a file")
    try:
        replace_atomic(target, write)
    except OSError as e:
        raise ValueError(f"cannot write {str(args.output)!r}: {e.strerror}") from None
    print(f"wrote {args.output}", file=sys.stderr)


READABLE_SUFFIX = "txt"  # a file of what the terminal shows (the command's default format)


def _format(args: argparse.Namespace, default: str | None = None) -> str:
    """The format to write: --format, else the one the --output file's suffix names, else JSON with
    --json, else the command's default (the same order for compare, themes and align). A file whose
    suffix names another format than --format, or no format at all (x.pdf), is refused: Markdown had been
    written into a file named .xlsx or .pdf, which its program then refused to open."""
    from reform_search.export import FORMATS

    fallback = "json" if args.json else (default or args.format_default)
    suffix = Path(args.output).suffix.lower().lstrip(".") if args.output and str(args.output) != "-" else ""
    named = suffix if suffix in FORMATS else None  # the format the file's suffix names (gomi.xlsx: xlsx)
    if args.format and named and named != args.format:
        raise ValueError(f"--format {args.format} would be written into {args.output}, a .{named} file")
    if suffix and not args.format and not named and suffix != READABLE_SUFFIX:
        kinds = ", ".join(f".{f}" for f in (*FORMATS, READABLE_SUFFIX))
        raise ValueError(f"{args.output}: name the file {kinds}, or give --format")
    return args.format or named or fallback


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
    if (args.format or args.output) and args.queries:
        raise ValueError("--format and --output write one query's hits; for --queries, use --json")
    searcher = open_searcher(settings)
    allowed = searcher.mask(args.city, args.document, args.year)
    for qid, text in checked:
        found = searcher.results(text, settings.top_k, settings.mode, allowed=allowed)
        if args.format or args.output:
            from reform_search.export import document_sources, render_results

            _emit(
                args, render_results(found, _format(args, "md"), document_sources(searcher.index.documents))
            )
        elif args.json:
            obj = found.to_dict()
            print_json({"id": qid, **obj} if args.queries else obj, compact=bool(args.queries))
        else:
            if args.queries:  # a batch's lists would otherwise run together
                print(f"=== {qid}: {text}\n")
            print_hits(found)
    return 0


def cmd_compare(args: argparse.Namespace, settings: Settings) -> int:
    """One column per city, ranked within the city, with a strong / weak / none label."""
    from search.compare import compare

    q = _checked(args.query, settings)
    searcher = open_searcher(settings)
    result = compare(searcher, q, args.city, settings.top_k, settings.mode)
    if args.format or args.output:
        from reform_search.export import document_sources, render_comparison

        # --output alone writes Markdown (--json, JSON); the terminal gets the readable columns
        fmt = _format(args, "md")
        _emit(args, render_comparison(result, fmt, document_sources(searcher.index.documents)))
    elif args.json:
        print_json(result.to_dict())
    else:
        print_columns(result.query, result.columns, content=result.content, english=result.english)
    return 0


def cmd_similar(args: argparse.Namespace, settings: Settings) -> int:
    """Counterparts of one passage in every other city (or the cities named)."""
    from search.counterparts import similar

    result = similar(open_searcher(settings), args.passage_id, args.city, settings.top_k)
    if args.json:
        print_json(result.to_dict())
    else:
        how = {
            "query": "its text searched as a query",
            "content": "its initiative and content searched as a query",
            "profile": "compared by its profile",
        }[result.by]
        title = f"counterparts of {result.source.id} ({how})"
        print_columns(title, result.columns, source=result.source)
    return 0


def cmd_themes(args: argparse.Namespace, settings: Settings) -> int:
    """Theme × city matrix as Markdown, CSV (UTF-8 with BOM) or JSON."""
    from reform_search.export import document_sources, render_matrix
    from search.themes import read_themes, theme_matrix

    themes = read_themes(args.themes) if args.themes else None
    fmt = _format(args)
    searcher = open_searcher(settings)
    matrix = theme_matrix(searcher, themes, args.city)
    _emit(args, render_matrix(matrix, fmt, document_sources(searcher.index.documents)))
    return 0


def cmd_align(args: argparse.Namespace, settings: Settings) -> int:
    """Initiatives of city A with their best counterparts in city B, and those only one city has."""
    from reform_search.export import document_sources, render_alignment
    from search.align import align

    fmt = _format(args)
    searcher = open_searcher(settings)
    alignment = align(searcher, args.city_a, args.city_b)
    _emit(args, render_alignment(alignment, fmt, document_sources(searcher.index.documents)))
    return 0


def _checked(query: str, settings: Settings) -> str:
    from search.query import check_query

    q = check_query(query, settings.max_query_chars)
    if q.truncated:
        print(f"reform-search: warning: query cut to {len(q.text)} characters", file=sys.stderr)
    return q.text


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
    _warn_keys_found_nowhere(judged, searcher)
    report = evaluate(searcher, **judged, folds=args.folds, mode=settings.mode, progress=_count_progress())
    if args.json:
        print_json(report.to_dict())
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


KEY_CHECK_PASSAGES = 200_000  # an index this large is not read through for the check below


def _warn_keys_found_nowhere(judged: dict[str, list[dict]], searcher) -> None:
    """A judged key phrase that no passage of its city holds (where a hit is credited: its first
    CREDIT_CHARS characters) can never be found, and would be scored as a miss: most likely a typo, or a
    phrase copied across a line or a page break. Said once, with the judgments it comes from."""
    from corpus.normalize import compact
    from search.evaluate import credited

    items = [(q["id"], r["city"], r["key"]) for q in judged["queries"] for r in q["relevant"]]
    items += [(p["id"], p[end]["city"], p[end]["key"]) for p in judged["pairs"] for end in ("from", "to")]
    passages = searcher.index.passages
    if not items or len(passages) > KEY_CHECK_PASSAGES:
        return
    texts: dict[str, list[str]] = {}
    for passage in passages:
        texts.setdefault(passage.city, []).append(credited(passage.text))
    nowhere = [
        f"{i} {city} {key!r}"
        for i, city, key in items
        if city in texts and not any(compact(key) in t for t in texts[city])
    ]
    if nowhere:
        shown = "; ".join(nowhere[:5]) + (f"; and {len(nowhere) - 5} more" if len(nowhere) > 5 else "")
        print(
            f"reform-search: warning: {len(nowhere)} judged key phrase(s) are in no passage of their city, "
            f"so they can never be found (a typo?): {shown}",
            file=sys.stderr,
        )


def _count_progress():
    """A judged-lines counter on stderr when it is a terminal; None (silence) otherwise."""
    if not sys.stderr.isatty():
        return None

    def update(done: int, total: int) -> None:
        print(f"\rjudged {done}/{total}", end="\n" if done >= total else "", file=sys.stderr, flush=True)

    return update
