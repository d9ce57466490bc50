"""The `reform-search` command line: index, search, chunks (and the commands added with each issue)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from corpus.document import parse_fiscal_year
from reform_search import __version__
from reform_search.cli_corpus import (
    cmd_add,
    cmd_cache,
    cmd_check,
    cmd_documents,
    cmd_index,
    cmd_passages,
    cmd_remove,
    cmd_serve,
)
from reform_search.cli_parser import Parser, settings_parser
from reform_search.cli_search import (
    JUDGMENTS,
    cmd_align,
    cmd_compare,
    cmd_evaluate,
    cmd_search,
    cmd_similar,
    cmd_themes,
)
from reform_search.output import INTERRUPTED, refuse, split_names, with_index_flags
from reform_search.settings import GROUPS, Settings, load_settings
from search.compare import COLUMN_TOP_K

# The settings each command reads (settings.GROUPS), so its --help lists those and no others: a flag of
# another group (`compare --port`) is refused as a mistake, not ignored
READ = ("where",)
CHECK = ("where", "model")
ASK = ("where", "model", "ranking")
BUILD = ("where", "model", "build")
ADD = ("where", "model", "build", "limits")
SERVE = tuple(GROUPS)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with all subcommands."""
    parser = Parser(
        prog="reform-search",
        description="Find and compare Japanese municipalities' administrative reform initiatives, offline.",
    )
    parser.add_argument("--version", action="version", version=f"reform-search {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = _command(sub, "index", BUILD, help="build or update the index of the corpus")
    p.add_argument(
        "--rebuild", action="store_true", help="rebuild from scratch (the embedding cache is kept)"
    )
    p.set_defaults(run=cmd_index)

    p = _command(sub, "search", ASK, help="search passages: one query, or a JSONL file")
    p.add_argument("query", nargs="?", help="the query, in Japanese or English")
    p.add_argument("--queries", type=Path, help='JSON lines of {"id": .., "query": ..}; one line out each')
    _filters(p)
    _export_flags(p, "text")
    p.set_defaults(run=cmd_search)

    p = _command(sub, "compare", ASK, help="one column per city: its best passages and a match label")
    p.add_argument("query", help="the theme or initiative to compare, in Japanese or English")
    p.add_argument(
        "--city", action="append", metavar="CITY", help="compare only these cities (repeatable, or A,B)"
    )
    _export_flags(p, default="text")
    p.set_defaults(run=cmd_compare, top_k_default=COLUMN_TOP_K)

    p = _command(sub, "similar", ASK, help="counterparts of one passage in the other cities")
    p.add_argument("passage_id", metavar="PASSAGE_ID", help="a passage id (see `reform-search passages`)")
    p.add_argument("--city", action="append", metavar="CITY", help="only these cities (repeatable, or A,B)")
    p.set_defaults(run=cmd_similar, top_k_default=COLUMN_TOP_K)

    p = _command(sub, "themes", ASK, help="theme × city matrix: label, count, best passage")
    p.add_argument(
        "--themes", type=Path, metavar="FILE", help="themes, one per line (default: built-in list)"
    )
    p.add_argument("--city", action="append", metavar="CITY", help="only these cities (repeatable, or A,B)")
    _export_flags(p, default="md")
    p.set_defaults(run=cmd_themes)

    p = _command(sub, "align", ASK, help="each initiative of city A with its counterpart in B")
    p.add_argument("city_a", metavar="CITY_A")
    p.add_argument("city_b", metavar="CITY_B")
    _export_flags(p, default="md")
    p.set_defaults(run=cmd_align)

    p = _command(sub, "add", ADD, help="add a report (PDF, XLSX, CSV, DOCX, HTML, text) or a folder of them")
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
    p.add_argument("--year", dest="fiscal_year", help="fiscal year: 2024, FY2024, 令和6年度 or R6")
    p.add_argument("--city-en", help="the city's name in romaji, accepted wherever a city is named")
    p.add_argument("--prefecture", help="e.g. 福島県")
    p.add_argument("--kind", help="kind of document (default: report)")
    p.add_argument("--url", help="where the document was published")
    p.add_argument(
        "--id",
        dest="doc_id",
        help="document id; adding under an existing id replaces that document "
        "(default: the id of this city's document with the same content, else one from city, year "
        "and file name)",
    )
    p.set_defaults(run=cmd_add)

    p = _command(sub, "remove", BUILD, help="remove a document from the index")
    p.add_argument("document_id", metavar="DOCUMENT_ID", help="see `reform-search documents`")
    p.set_defaults(run=cmd_remove)

    p = _command(sub, "documents", READ, help="list the indexed documents")
    p.set_defaults(run=cmd_documents)

    p = _command(sub, "serve", SERVE, help="start the web UI (builds the index on first run)")
    p.set_defaults(run=cmd_serve)

    p = _command(
        sub,
        "passages",
        READ,
        aliases=["chunks"],  # the name the evaluation contract uses
        help="list every indexed passage with its metadata (also: chunks)",
    )
    p.add_argument("--city", action="append", metavar="CITY", help="only this city (repeatable, or A,B)")
    p.set_defaults(run=cmd_passages)

    p = _command(
        sub,
        "evaluate",
        ASK,
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

    p = _command(
        sub, "cache", READ, help="the embedding cache's size; --prune DAYS removes unused embeddings"
    )
    p.add_argument(
        "--prune",
        type=_days,
        metavar="DAYS",
        help="remove the embeddings no index build stored or read in the last DAYS days (0: all but "
        "today's), then compact the file; a later build embeds again what it needs",
    )
    p.set_defaults(run=cmd_cache)

    p = _command(
        sub, "check", CHECK, help="verify the index files against their manifest (exit 2 if damaged)"
    )
    p.add_argument("--full", action="store_true", help="also compare every file's SHA-256 (reads it all)")
    p.set_defaults(run=cmd_check)
    return parser


def _command(sub, name: str, groups: tuple[str, ...], **kwargs) -> argparse.ArgumentParser:
    """A command's parser, with the flags of the settings it reads (`groups`)."""
    epilog = "Every setting is also an environment variable, REFORM_SEARCH_<NAME> (README: Settings)."
    return sub.add_parser(name, parents=[settings_parser(groups)], epilog=epilog, **kwargs)


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--city", action="append", metavar="CITY", help="only this city (name or alias; repeatable, or A,B)"
    )
    p.add_argument(
        "--document", action="append", metavar="DOC", help="only this document id or title (repeatable)"
    )
    p.add_argument(
        "--year",
        action="append",
        type=_fiscal_year,
        metavar="YEAR",
        help="only this fiscal year: 2024, FY2024, 令和6年度 or R6",
    )


def _fiscal_year(text: str) -> int:
    """A --year value as `add --year` and the API's years read it: 2024, 令和6年度, R6."""
    try:
        year = parse_fiscal_year(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if year is None:
        raise argparse.ArgumentTypeError(f"{text!r} is no fiscal year; write 2024, FY2024, 令和6年度 or R6")
    return year


def _days(text: str) -> int:
    """A --prune value: a whole number of days, 0 or more."""
    try:
        days = int(text)
    except ValueError:
        days = -1
    if days < 0:
        raise argparse.ArgumentTypeError(f"--prune takes a number of days, 0 or more; got {text!r}")
    return days


def _export_flags(p: argparse.ArgumentParser, default: str) -> None:
    from reform_search.export import FORMATS

    p.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help=f"output format (default: the --output file's suffix, else json with --json, else {default})",
    )
    p.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="write to FILE (atomically) instead of stdout; without --format, its suffix names the format",
    )
    p.set_defaults(format_default=default)


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(**{n: getattr(args, n, None) for n in Settings.names()})
    # Comparison commands show a few passages per city unless --top-k says otherwise, as the UI and the
    # API do: the top_k setting is the number of hits `search` returns, not a number per city.
    if getattr(args, "top_k_default", None) and args.top_k is None:
        settings = settings.override(top_k=args.top_k_default)
    return settings


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, run, and turn expected errors into one line on stderr with exit code 2 (and,
    with --json, one JSON object on stdout: output.refuse)."""
    from index.store import IndexProblem

    parser = build_parser()
    args = parser.parse_args(argv)
    as_json = bool(getattr(args, "json", False))
    if isinstance(getattr(args, "city", None), list):  # --city A --city B, or --city A,B
        args.city = split_names(args.city)
        if not args.city:  # `--city ""` had meant every city, silently
            return refuse("--city names no city", as_json)
    for stream, errors in ((sys.stdout, "strict"), (sys.stderr, "backslashreplace")):
        if hasattr(stream, "reconfigure"):  # Japanese output whatever the locale; a file name that is no
            stream.reconfigure(encoding="utf-8", errors=errors)  # UTF-8 (\udcff) is said, not fatal
    try:
        settings = _settings(args)
        return args.run(args, settings)
    except (ValueError, IndexProblem) as e:
        return refuse(with_index_flags(str(e), args), as_json)
    except KeyboardInterrupt:
        return refuse("interrupted", as_json, INTERRUPTED)
    except BrokenPipeError:
        return 0
    except OSError as e:  # a folder it cannot write (read-only, or a file where a folder should be), a port
        where = f" {str(e.filename)!r}" if e.filename else ""
        return refuse(f"cannot use{where}: {e.strerror or e}", as_json)


if __name__ == "__main__":
    sys.exit(main())
