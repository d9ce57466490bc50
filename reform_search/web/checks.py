"""Turning what a user typed into what the library takes, and the library's refusals into messages the
browser shows: one line, in Japanese and English, escaped."""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path

import gradio as gr

from corpus.document import parse_fiscal_year
from corpus.extract import Limits
from corpus.library import read_upload as read_file
from corpus.refusal import said
from index.store import IndexProblem
from reform_search.output import split_names
from reform_search.render import md
from search.engine import Searcher
from search.query import check_query
from search.themes import DEFAULT_THEMES, check_themes


def _said(e: Exception, escape: bool = True) -> str:
    """The first line of a refusal, in Japanese and English where it is said in both (corpus/refusal.py),
    escaped for the browser, which renders it as HTML (messages quote user input: file names, cities)."""
    line = said(e).splitlines()[0]
    return html.escape(line, quote=False) if escape else line


def friendly(fn: Callable, escape: bool = True) -> Callable:
    """Turn the library's ValueError / IndexProblem into a one-line gr.Error: escaped for the browser,
    as it stands for the API's scripts and AI assistants (escape=False), which read it as text."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ValueError, IndexProblem) as e:
            raise gr.Error(_said(e, escape), title="エラー / Error", print_exception=False) from None

    return wrapper


ERROR_PREFIX = "**エラー / Error**: "


def reported(outputs: int) -> Callable:
    """For the corpus's add and remove: a refusal goes in the corpus message area, in words, and every
    other output is left as it was — a raised error would mark each output (the documents table too)
    with an error badge, which reads as a broken index."""

    def decorate(fn: Callable) -> Callable:
        @wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except (ValueError, IndexProblem) as e:
                return (
                    ERROR_PREFIX + md(said(e).splitlines()[0]),  # shown as Markdown: file names, titles
                    *(gr.skip() for _ in range(outputs - 1)),
                )

        return wrapper

    return decorate


def query_text(text: str, searcher: Searcher) -> str:
    """The query as searched (an empty one never reaches here: its handler shows a hint instead)."""
    q = check_query(text, searcher.max_query_chars)
    if q.truncated:
        gr.Warning(f"クエリを {len(q.text)} 文字に短縮しました / query cut to {len(q.text)} characters")
    return q.text


def chosen_cities(chosen: Sequence[str] | None, searcher: Searcher) -> list[str] | None:
    """None (every city) when all are chosen; a refusal when none is."""
    if not chosen:
        raise ValueError("市町村を1つ以上選んでください / choose at least one city")
    return None if set(chosen) >= set(searcher.cities) else list(chosen)


def parse_themes(text: str | None) -> list[str]:
    """Themes from a textbox, one per line (the defaults when empty)."""
    themes = list(dict.fromkeys(t.strip() for t in (text or "").splitlines() if t.strip()))
    return check_themes(themes) or list(DEFAULT_THEMES)


def read_upload(path: str | None, limits: Limits) -> tuple[bytes, str]:
    """The bytes and original name of an uploaded file, refusing a missing or too large one early (by
    the same rule as `add`: corpus.library.read_upload)."""
    if not path:
        raise ValueError("ファイルを選んでください / choose a file to upload")
    return read_file(Path(path), limits), Path(path).name


# ---- what a script sends the API (reform_search/web/api.py)

MAX_SHOWN = 50  # the most passages the search tab's slider shows
MAX_SEARCH_TOP_K = 100  # what the tool descriptions promise: search 1 to 100, a column 1 to MORE_TOP_K


def _blank(value: object) -> bool:
    """Nothing given: None, "" or [] (the filter is then every city, document or year)."""
    return value is None or value == "" or value == []


def names(value: object, what: str) -> list[str] | None:
    """A list of names from a script: one bare name is a list of one (it had been read letter by letter:
    themes="DX推進" as D, X, 推, 進); empty is None (all)."""
    if _blank(value):
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ValueError(f"{what} must be a list of names (or one name), got {type(value).__name__}")


def city_names(value: object) -> list[str] | None:
    """Cities from a script, as `--city` reads them: several to a value too ("会津若松市,いわき市", which
    had been refused as one unknown city)."""
    given = names(value, "cities")
    return (split_names(given) or None) if given is not None else None


def text(value: object, what: str) -> str:
    """A query or id from a script: text, or a one-line refusal (a number had been "the query is empty")."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text, got {type(value).__name__}")
    return value


def count(value: object, low: int, high: int, what: str = "top_k") -> int:
    """A whole number from `low` to `high`, or a one-line refusal (2.5, "abc", None and 10**9 included)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{what} must be a whole number from {low} to {high}, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not number.is_integer() or not low <= number <= high:
        raise ValueError(f"{what} must be a whole number from {low} to {high}, got {value!r}")
    return int(number)


def fiscal_years(value: object) -> list[int] | None:
    """Fiscal years from a script: 2024, "2024", "令和6年度" or "R6", one or a list."""
    if _blank(value):
        return None
    items = value if isinstance(value, list | tuple) else [value]
    if any(_blank(v) for v in items):  # as --year "" is: [""] had meant every year, silently
        raise ValueError(f"years must not hold a blank entry, got {value!r}; leave years empty for all")
    return [y for y in (parse_fiscal_year(v) for v in items) if y is not None] or None


def gated(fn: Callable, gate: threading.BoundedSemaphore) -> Callable:
    """`fn` run while holding `gate`: at most as many calls at a time as it has places."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        with gate:
            return fn(*args, **kwargs)

    return wrapper
