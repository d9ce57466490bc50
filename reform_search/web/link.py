"""A page's link: the tab, query and cities a shared address asks for (`/?tab=search&q=電子決裁&city=…`),
read once when the page opens. The page writes its address back after each comparison or search (ui.js
`rsLink`), so the address bar always holds a link to what is on screen."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import gradio as gr

from corpus.cities import resolve_city
from reform_search.web.checks import MAX_SHOWN
from reform_search.web.state import DOWNLOADS
from search.compare import COLUMN_TOP_K

if TYPE_CHECKING:
    from reform_search.web.handlers import Handlers

TABS = ("compare", "search", "themes", "corpus")  # the tabs' ids (layout.py), as a link names them
ASKED = ("compare", "search")  # the tabs whose query a link carries
MAX_LINK_CITIES = 200  # a hostile address cannot make a request of thousands of names


class Params(Protocol):
    """The query parameters of a request (starlette's QueryParams: a name may repeat)."""

    def getlist(self, key: str) -> list[str]: ...


@dataclass(frozen=True)
class Link:
    """What an opened address asks for: a tab (None: the page's first), a query to ask there (empty:
    none), and the cities to ask about (None: every city, as a page opens)."""

    tab: str | None = None
    query: str = ""
    cities: tuple[str, ...] | None = None

    @property
    def asks(self) -> bool:
        """Whether the link asks a comparison or a search (else it only opens a tab, or nothing)."""
        return bool(self.query) and self.tab in ASKED


def read_link(params: Params, cities: Sequence[tuple[str, str]]) -> Link:
    """The link in an address's parameters. Never refused: a page opened from an old or mistyped link
    opens as ever. An unknown tab is the first one; `q` is asked on the compare tab unless `tab` names
    search; `city` may repeat or list names with commas, each read as the command line reads a city
    (`cities`: the indexed (city, romaji) pairs; Iwaki, いわき: corpus/cities.py), and the names of no
    indexed city are left out (none left, or none given: every city)."""
    tab = _last(params, "tab").lower()
    query = _last(params, "q").strip()
    tab = tab if tab in TABS else ("compare" if query else None)
    named = [c.strip() for value in params.getlist("city")[:MAX_LINK_CITIES] for c in value.split(",")]
    known = tuple(dict.fromkeys(city for c in named if (city := _indexed(c, cities))))
    return Link(tab, query, known or None)


def _indexed(name: str, cities: Sequence[tuple[str, str]]) -> str | None:
    """The indexed city a link's name names (an alias too), or None (unknown, ambiguous or blank)."""
    try:
        return resolve_city(name, cities) if name else None
    except ValueError:
        return None


def _last(params: Params, key: str) -> str:
    """A parameter's last value (a link edited by hand may repeat one), or ""."""
    values = params.getlist(key)
    return values[-1] if values else ""


def opened(h: Handlers, link: Link) -> tuple:
    """What an opened link changes: the tabs; for compare, then search, the query box, its cities, its
    results, counterparts panel and downloads (as the tab's own button would answer them, at the
    controls' first values); and the tab opened, for the themes tab's matrix (built when opened)."""
    out: list = [gr.Tabs(selected=link.tab) if link.tab else gr.skip()]
    for tab in ASKED:
        if link.asks and link.tab == tab:
            chosen = list(link.cities or h.every_city())
            if tab == "compare":
                answer = h.on_compare(link.query, chosen, COLUMN_TOP_K)
            else:
                top = min(h.settings.top_k, MAX_SHOWN)
                answer = h.on_search(link.query, chosen, [], [], h.settings.mode, top)
            out += [link.query, chosen, *answer]
        else:
            out += [gr.skip()] * (4 + len(DOWNLOADS))
    return (*out, link.tab)


def themes_opened(h: Handlers, tab: str | None, shown: str, text: str, chosen: list[str]) -> tuple:
    """The themes tab's matrix when a link opened that tab, as opening it by hand builds it."""
    if tab != "themes":
        return tuple(gr.skip() for _ in range(5 + len(DOWNLOADS)))
    return h.on_themes_tab(shown, text, chosen)
