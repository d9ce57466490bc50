"""A page's link: the tab, query, cities and controls a shared address asks for
(`/?tab=search&q=電子決裁&city=…&mode=lexical&k=20`), read when the page opens and when Back or Forward
bring an earlier question's address back. The page writes its address after each comparison or search
(ui.js `rsLink`), so the address bar always holds a link to what is on screen."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import gradio as gr

from corpus.cities import resolve_city
from corpus.document import parse_fiscal_year
from reform_search.settings import Settings
from reform_search.web.checks import MAX_SHOWN
from reform_search.web.state import DOWNLOADS
from search.compare import COLUMN_TOP_K, MORE_TOP_K
from search.engine import MODES

if TYPE_CHECKING:
    from reform_search.web.handlers import Handlers

TABS = ("compare", "search", "themes", "corpus")  # the tabs' ids (layout.py), as a link names them
ASKED = ("compare", "search")  # the tabs whose query a link carries
TOP_K = {"compare": MORE_TOP_K, "search": MAX_SHOWN}  # the most a tab's 件数 slider offers
MAX_LINK_VALUES = 200  # of a repeated parameter: a hostile address cannot ask about thousands of names
MAX_ADDRESS = 65_536  # characters of an address brought back by Back or Forward, read at most


def defaults(settings: Settings) -> dict[str, dict[str, object]]:
    """The first values of each asking tab's controls, by the parameter that carries them in an address, in
    the order of the handler's arguments after the cities: what the page opens with, what a link leaves
    out, and what the address leaves out (ui.js `rsLink`, handed this table)."""
    return {
        "compare": {"k": COLUMN_TOP_K},
        "search": {"doc": [], "year": [], "mode": settings.mode, "k": min(settings.top_k, MAX_SHOWN)},
    }


class Params(Protocol):
    """The query parameters of a request (starlette's QueryParams: a name may repeat)."""

    def getlist(self, key: str) -> list[str]: ...


@dataclass(frozen=True)
class Link:
    """What an opened address asks for: a tab (None: the page's first), a query to ask there (empty:
    none), the cities to ask about (None: every city, as a page opens), and the tab's controls: 件数
    (`top_k`), and for a search its ranking mode, documents and fiscal years (None or empty: the
    control's first value)."""

    tab: str | None = None
    query: str = ""
    cities: tuple[str, ...] | None = None
    top_k: int | None = None
    mode: str | None = None
    docs: tuple[str, ...] = ()
    years: tuple[int, ...] = ()

    @property
    def asks(self) -> bool:
        """Whether the link asks a comparison or a search (else it only opens a tab, or nothing)."""
        return bool(self.query) and self.tab in ASKED

    def values(self, first: dict[str, object]) -> list:
        """The values of its tab's controls (`first`: their first values, as `defaults` gives them)."""
        given = {"k": self.top_k, "mode": self.mode, "doc": list(self.docs), "year": list(self.years)}
        return [given[name] if given[name] else first[name] for name in first]


def read_link(
    params: Params,
    cities: Sequence[tuple[str, str]],
    documents: Sequence[str] = (),
    years: Sequence[int] = (),
) -> Link:
    """The link in an address's parameters. Never refused: a page opened from an old or mistyped link
    opens as ever. An unknown tab is the first one; `q` is asked on the compare tab unless `tab` names
    search; `city` may repeat or list names with commas, each read as the command line reads a city
    (`cities`: the indexed (city, romaji) pairs; Iwaki, いわき: corpus/cities.py), and the names of no
    indexed city are left out (none left, or none given: every city). The controls: `k` (件数), a whole
    number the tab's slider offers; on the search tab `mode` (hybrid, dense or lexical), `doc` (an id of
    `documents`, repeated) and `year` (one of `years`, as --year reads it: 2024, R6; repeated or listed
    with commas). A value the tab's control would not take is left out: the control keeps its first value."""
    tab = _last(params, "tab").lower()
    query = _last(params, "q").strip()
    tab = tab if tab in TABS else ("compare" if query else None)
    named = [c.strip() for value in _many(params, "city") for c in value.split(",")]
    known = tuple(dict.fromkeys(city for c in named if (city := _indexed(c, cities))))
    link = Link(tab, query, known or None, _whole(_last(params, "k"), TOP_K.get(tab or "", 0)))
    if tab != "search":
        return link
    mode = _last(params, "mode").strip().lower()
    docs = tuple(dict.fromkeys(d.strip() for d in _many(params, "doc") if d.strip() in documents))
    asked = [_year(y) for value in _many(params, "year") for y in value.split(",")]
    kept = tuple(dict.fromkeys(y for y in asked if y in years))
    return Link(tab, query, link.cities, link.top_k, mode if mode in MODES else None, docs, kept)


def _indexed(name: str, cities: Sequence[tuple[str, str]]) -> str | None:
    """The indexed city a link's name names (an alias too), or None (unknown, ambiguous or blank)."""
    try:
        return resolve_city(name, cities) if name else None
    except ValueError:
        return None


def _whole(value: str, high: int) -> int | None:
    """A whole number from 1 to `high` (10, or 10.0 as a hand may write it), else None."""
    try:
        number = float(value)
    except ValueError:
        return None
    return int(number) if number.is_integer() and 1 <= number <= high else None


def _year(value: str) -> int | None:
    """A fiscal year as --year reads it (2024, FY2024, R6, 令和6年度), else None."""
    try:
        return parse_fiscal_year(value.strip()[:20])
    except ValueError:
        return None


def _many(params: Params, key: str) -> list[str]:
    """A parameter's values, the first MAX_LINK_VALUES of them."""
    return params.getlist(key)[:MAX_LINK_VALUES]


def _last(params: Params, key: str) -> str:
    """A parameter's last value (a link edited by hand may repeat one), or ""."""
    values = params.getlist(key)
    return values[-1] if values else ""


def link_js(tab: str, how: str, first: dict, before: str = "") -> str:
    """The script that writes the address for what `tab` shows (ui.js `rsLink`; `how`: "ask", "redo" by a
    control, "tab" chosen, or "open"). Its inputs: the tab's query box, its cities, then its controls in
    the order of `defaults` (`first`, handed on: what the address leaves out)."""
    return f"(q, c, ...v) => {{ {before}window.rsLink?.('{tab}', q, c, v, {json.dumps(first)}, '{how}'); }}"


def link_shown(first: dict) -> str:
    """The script run once a link's comparison or search is in (an opened page's, or an earlier question's
    brought back by Back or Forward): said aloud, signalled when below the window, its address tidied.
    Its tab is read from the address as `read_link` reads it (a gr.State reaches a script as null: an
    opened link had been neither said nor tidied). Its inputs: each asking tab's query box, cities and
    controls (`first`: `defaults`)."""
    n = len(first["compare"])
    return (
        "(cq, cc, ...rest) => { window.rsLinked = true;"
        f" const cv = rest.slice(0, {n}), [sq, sc, ...sv] = rest.slice({n});"
        " const p = new URLSearchParams(location.search), last = (k) => (p.getAll(k).pop() || '');"
        " let tab = last('tab').toLowerCase(); const asked = last('q').trim();"
        f" if (!{json.dumps(list(TABS))}.includes(tab)) tab = asked ? 'compare' : '';"
        " const [q, c, v] = tab === 'compare' ? [cq, cc, cv] : [sq, sc, sv];"
        f" if ({json.dumps(list(ASKED))}.includes(tab) && (q || '').trim()) {{"
        " window.rsShown?.(`${tab}-results`, true);"
        f" window.rsLink?.(tab, q, c, v, {json.dumps(first)}, 'open'); }}"
        " window.rsRestoring = false; }"
    )


def opened(h: Handlers, link: Link, restored: bool = False) -> tuple:
    """What an opened link changes: the tabs; for compare, then search, the query box, its cities, its
    controls (`defaults`), its results, counterparts panel and downloads (as the tab's own button would
    answer them); and the tab opened, for the themes tab's matrix (built when opened). An address brought
    back by Back or Forward (`restored`) sets its tab (the first, when it names none) even when it asks
    nothing: the box emptied, as the page was before its first question."""
    tab = link.tab or ("compare" if restored else None)
    first = defaults(h.settings)
    out: list = [gr.Tabs(selected=tab) if tab else gr.skip()]
    for asked in ASKED:
        if asked == tab and (link.asks or restored):
            chosen = list(link.cities or h.every_city())
            values = link.values(first[asked])
            handler = h.on_compare if asked == "compare" else h.on_search
            out += [link.query, chosen, *values, *handler(link.query, chosen, *values)]
        else:
            out += [gr.skip()] * (4 + len(first[asked]) + len(DOWNLOADS))
    return (*out, tab)


def themes_opened(h: Handlers, tab: str | None, shown: str, text: str, chosen: list[str]) -> tuple:
    """The themes tab's matrix when a link opened that tab, as opening it by hand builds it."""
    if tab != "themes":
        return tuple(gr.skip() for _ in range(5 + len(DOWNLOADS)))
    return h.on_themes_tab(shown, text, chosen)
