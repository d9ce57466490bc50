"""The `reform-search` command line: index, search, chunks (and the commands added with each issue)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from reform_search import __version__
from reform_search.output import print_hits
from reform_search.settings import Settings, load_settings

EXIT_USAGE = 2


def _settings_parser() -> argparse.ArgumentParser:
    """Flags for every setting, generated from the settings table so help and defaults never drift."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("settings (also REFORM_SEARCH_<NAME> environment variables)")
    for name in Settings.names():
        default = Settings.default(name)
        group.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            default=None,
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

    p = sub.add_parser("chunks", parents=[settings], help="list every indexed passage with its metadata")
    p.add_argument("--city", action="append", metavar="CITY", help="only this city (repeatable)")
    p.set_defaults(run=cmd_chunks)
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


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(**{n: getattr(args, n, None) for n in Settings.names()})


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    """Build or update the index of the configured corpus, with a progress bar on stderr."""
    from corpus.document import load_corpus
    from index.build import build_index, tqdm_progress
    from index.cache import EmbeddingCache
    from index.embed import make_embedder

    documents = load_corpus(settings.corpus)
    embedder = make_embedder(settings.embedder, settings.model, settings.device, settings.batch_size)
    report = build_index(
        settings.index_dir,
        documents,
        embedder,
        EmbeddingCache(settings.cache_dir / "embeddings.sqlite3"),
        dense_kind=settings.dense_index,
        batch_size=settings.batch_size,
        rebuild=args.rebuild,
        progress=tqdm_progress(),
    )
    if args.json:
        _print_json(report.to_dict())
    else:
        state = "built" if report.changed else "up to date"
        print(
            f"index {state}: {report.documents} documents, {report.passages} passages "
            f"({report.embedded} embedded now) in {report.seconds:.1f} s → {settings.index_dir}"
        )
    return 0


def open_searcher(settings: Settings):
    """Load the index and its embedder, checking that they match the current settings."""
    from index.build import expected_manifest
    from index.embed import make_embedder
    from index.store import load_index
    from search.engine import Searcher

    embedder = make_embedder(settings.embedder, settings.model, settings.device, settings.batch_size)
    index = load_index(settings.index_dir, expected_manifest(embedder))
    return Searcher(index, embedder, rrf_k=settings.rrf_k)


def _read_queries(path: Path) -> list[tuple[object, str]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot read queries file {str(path)!r}: {e}") from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            obj = None
        if not isinstance(obj, dict) or not isinstance(obj.get("query"), str) or not obj["query"].strip():
            raise ValueError(f'{path}:{n}: expected a JSON object with a non-empty "query" string')
        out.append((obj.get("id", n), obj["query"]))
    if not out:
        raise ValueError(f"queries file {str(path)!r} holds no queries")
    return out


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    """One query (readable or JSON) or a batch of JSONL queries (one JSON line each)."""
    from search.engine import check_query

    if (args.query is None) == (args.queries is None):
        raise ValueError("give either a query or --queries FILE")
    batch = _read_queries(args.queries) if args.queries else [(None, args.query)]
    checked = []
    for qid, text in batch:
        q = check_query(text, settings.max_query_chars)
        if q.truncated:
            print(
                f"reform-search: warning: query cut to {settings.max_query_chars} characters", file=sys.stderr
            )
        checked.append((qid, q.text))
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


def _print_json(obj: object, compact: bool = False) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=None if compact else 1))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, run, and turn expected errors into one line on stderr with exit code 2."""
    from index.store import IndexProblem

    parser = build_parser()
    args = parser.parse_args(argv)
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
