"""Turning what a user typed into what the library takes, and the library's refusals into messages the
browser shows: one line, in Japanese and English, escaped."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path

import gradio as gr

from corpus.extract import Limits
from corpus.library import read_upload as read_file
from corpus.refusal import said
from index.store import IndexProblem
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
                    ERROR_PREFIX + _said(e),
                    *(gr.skip() for _ in range(outputs - 1)),
                )

        return wrapper

    return decorate


def query_text(text: str, searcher: Searcher) -> str:
    """The query as searched (an empty one never reaches here: its handler shows a hint instead)."""
    q = check_query(text, searcher.max_query_chars)
    if q.truncated:
        gr.Warning(f"クエリを {searcher.max_query_chars} 文字に短縮しました / query cut to that length")
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
