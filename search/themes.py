"""Theme × city matrix: for each theme and city, the match label, how many passages match, the best one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from corpus.normalize import without_invisible
from search.compare import Column, compare
from search.engine import Searcher
from search.hit import Hit
from search.judgments import read_input
from search.query import MAX_QUERY_CHARS, check_query

# The default rows: reform fields that plans across Japan share, in plain words, so that neither report's
# own headings decide the rows (いわき市's 「しごと効率化」 is a heading 会津若松市 never writes, though it
# reports plenty of work made more efficient). A user's own themes replace them (--themes FILE, the UI).
DEFAULT_THEMES = (
    "行政手続のオンライン化",
    "窓口サービスの改善",
    "AI・RPAによる業務効率化",
    "ペーパーレス化",
    "テレワーク・働き方改革",
    "人材育成・人事評価",
    "公共施設の再編・長寿命化",
    "民間委託・PPP/PFI",
    "財政の健全化・歳入の確保",
)
# The default rows in English, for a reader who reads no Japanese (shown beside them, never searched: a
# theme is asked as it is written)
THEMES_EN = dict(
    zip(
        DEFAULT_THEMES,
        (
            "online procedures",
            "counter services",
            "AI and RPA efficiency",
            "paperless office",
            "telework, work style",
            "HR development",
            "public facilities",
            "outsourcing, PPP/PFI",
            "sound finances",
        ),
        strict=True,
    )
)
MAX_THEMES = 200


def themed(theme: str) -> str:
    """A theme as shown: a built-in one with its English name (「ペーパーレス化 / paperless office」)."""
    return f"{theme} / {THEMES_EN[theme]}" if theme in THEMES_EN else theme


@dataclass(frozen=True)
class Cell:
    """One theme in one city: the theme and the city's column of its comparison (top 1)."""

    theme: str
    column: Column

    @property
    def city(self) -> str:
        return self.column.city

    @property
    def match(self) -> str:
        return str(self.column.match)

    @property
    def matching(self) -> int:
        """The city's passages that match the theme on their own (Column.matching)."""
        return self.column.matching

    @property
    def best(self) -> Hit | None:
        """The best passage, when the city matches at all."""
        return self.column.hits[0] if self.column.hits and self.match != "none" else None

    def to_dict(self) -> dict:
        """JSON-ready cell; `best` is the best passage as a hit, or null when nothing matches."""
        return {
            "theme": self.theme,
            "city": self.city,
            "match": self.match,
            "matching": self.matching,
            "best": self.best.to_dict() if self.best else None,
        }


@dataclass(frozen=True)
class Matrix:
    """Rows are themes, columns are cities."""

    themes: tuple[str, ...]
    cities: tuple[str, ...]
    cells: tuple[Cell, ...]
    english: tuple[str, ...] = ()  # the themes asked mostly in English: their labels are less certain
    few: tuple[str, ...] = ()  # cities of fewer passages than the label model's: less certain labels
    empty: tuple[str, ...] = ()  # the themes without a content word ("の", "12345"): none anywhere

    def cell(self, theme: str, city: str) -> Cell:
        """The cell of one theme and city."""
        return next(c for c in self.cells if c.theme == theme and c.city == city)

    def to_dict(self) -> dict:
        """{"themes", "cities", "cells", "english", "few_passages", "no_content"}."""
        return {
            "themes": list(self.themes),
            "cities": list(self.cities),
            "cells": [c.to_dict() for c in self.cells],
            "english": list(self.english),
            "few_passages": list(self.few),
            "no_content": list(self.empty),
        }


def check_themes(themes: Sequence[str], where: str = "", max_chars: int = MAX_QUERY_CHARS) -> list[str]:
    """The themes, once they are within MAX_THEMES, each read as a query is (`check_query`: control
    characters left out, cut at MAX_QUERY_CHARS: one had crashed the workbook, and a 200,000-character
    theme had been echoed whole); `where` names their source in the refusal."""
    if len(themes) > MAX_THEMES:
        given = f"{where} holds {len(themes)} themes" if where else f"{len(themes)} themes given"
        raise ValueError(f"{given}; the limit is {MAX_THEMES}")
    checked = []
    for n, theme in enumerate(themes, 1):
        try:
            checked.append(check_query(theme, max_chars).text)
        except ValueError:
            raise ValueError(f"theme {n} is empty; give the words of each theme") from None
    return list(dict.fromkeys(checked))


def read_themes(path: Path) -> list[str]:
    """Themes from a UTF-8 text file, one per line; blank lines and lines starting with # are skipped."""
    try:
        lines = read_input(Path(path)).decode("utf-8-sig").splitlines()
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot read themes file {str(path)!r}: {e}") from None
    lines = [without_invisible(t).strip() for t in lines]  # a line of a zero-width space is blank too
    themes = list(dict.fromkeys(t for t in lines if t and not t.startswith("#")))
    if not themes:
        raise ValueError(f"themes file {str(path)!r} holds no themes (one per line)")
    return check_themes(themes, f"themes file {str(path)!r}")


def theme_matrix(
    searcher: Searcher, themes: Sequence[str] | None = None, cities: Sequence[str] | None = None
) -> Matrix:
    """Compare every theme across the cities; each cell keeps its label, count and best passage."""
    themes = check_themes(themes or DEFAULT_THEMES, max_chars=searcher.max_query_chars)
    cells = []
    chosen: list[str] = []
    english, empty = [], []
    for theme in themes:
        result = compare(searcher, theme, cities, top_k=1)
        chosen = [c.city for c in result.columns]
        cells += [Cell(theme, column) for column in result.columns]
        english += [theme] if result.english else []
        empty += [] if result.content else [theme]
    few = tuple(dict.fromkeys(c.city for c in cells if c.column.evidence.few))
    return Matrix(tuple(themes), tuple(chosen), tuple(cells), tuple(english), few, tuple(empty))
