"""The public API: search, compare, similar and themes as named endpoints (gradio_client) and MCP tools,
answering with the CLI's --json shapes; their docstrings are what an AI assistant reads."""

from __future__ import annotations

import threading

import gradio as gr

from reform_search.web.checks import (
    MAX_SEARCH_TOP_K,
    city_names,
    count,
    fiscal_years,
    friendly,
    gated,
    names,
    text,
)
from reform_search.web.state import AppState
from search.compare import COLUMN_TOP_K, MORE_TOP_K, compare
from search.counterparts import similar
from search.query import check_query
from search.themes import theme_matrix


def default(value: object, fallback: object) -> object:
    """A parameter as a script sent it, or its default where it sent null (plain HTTP sends every
    parameter in order, null for a default)."""
    return fallback if value is None else value


def register_api(state: AppState) -> None:
    """Register the endpoints inside the Blocks being built."""
    settings = state.settings

    def api_search(
        query: str,
        top_k: int = min(settings.top_k, MAX_SEARCH_TOP_K),
        mode: str = settings.mode,
        cities: list[str] | str | None = None,
        documents: list[str] | str | None = None,
        years: list[int | str] | None = None,
    ) -> dict:
        """Search Japanese municipalities' administrative reform reports (行財政改革, 構造改革, DX) for
        passages about a topic, best first. Each hit is one initiative row or paragraph with its city,
        document, section, page and text: cite them, do not invent what the reports do not say.

        Args:
            query: what to look for, in Japanese (best) or English, e.g. 書かない窓口 or paperless
            top_k: how many passages to return (1 to 100)
            mode: ranking: hybrid (default: embedding and Japanese BM25 fused), dense or lexical
            cities: only these municipalities (names as indexed, e.g. 会津若松市); empty for all
            documents: only these document ids; empty for all
            years: only these fiscal years (2024, FY2024, 令和6年度 or R6); empty for all
        """
        s = state.live()
        q = check_query(text(query, "query"), s.max_query_chars).text
        allowed = s.mask(city_names(cities), names(documents, "documents"), fiscal_years(years))
        top_k = count(default(top_k, min(settings.top_k, MAX_SEARCH_TOP_K)), 1, MAX_SEARCH_TOP_K)
        return s.results(q, top_k, default(mode, settings.mode), allowed).to_dict()

    def api_compare(
        query: str,
        cities: list[str] | str | None = None,
        top_k: int = COLUMN_TOP_K,
        mode: str = settings.mode,
    ) -> dict:
        """Compare municipalities on one reform topic: one column per city with its best passages and a
        calibrated label, "strong" (the city's reports cover it), "weak" or "none" (該当なし: the city's
        reports say nothing on it; report that plainly). "matching" counts the city's passages that
        match; each hit carries its own "match"; "evidence"."absent" lists the query's words that none
        of the city's passages holds, "evidence"."apart" its compounds the city writes only apart
        (ペーパーレス化 where it writes ペーパーレスの推進); "evidence"."few_passages": true when the city
        has fewer passages than the labels were fitted on (its label is less certain: say so).
        "english": true when the query is mostly English: its labels are less certain than a Japanese
        query's (say so, and read the passages).

        Args:
            query: the initiative or theme, in Japanese (best) or English, e.g. ごみ有料化 or PPP/PFI
            cities: the municipalities to compare (names as indexed); empty for every indexed city
            top_k: passages shown per city (1 to 10)
            mode: ranking within each city: hybrid (default), dense or lexical
        """
        top_k = count(default(top_k, COLUMN_TOP_K), 1, MORE_TOP_K)
        return compare(
            state.live(), text(query, "query"), city_names(cities), top_k, default(mode, settings.mode)
        ).to_dict()

    def api_similar(
        passage_id: str, cities: list[str] | str | None = None, top_k: int = COLUMN_TOP_K
    ) -> dict:
        """Find what other municipalities do that corresponds to one passage (an initiative of one city):
        one column per other city with its closest passages and a strong / weak / none label.

        Args:
            passage_id: the "id" of a passage returned by search or compare
            cities: only these municipalities; empty for every other indexed city
            top_k: passages per city (1 to 10)
        """
        top_k = count(default(top_k, COLUMN_TOP_K), 1, MORE_TOP_K)
        return similar(state.live(), text(passage_id, "passage_id"), city_names(cities), top_k).to_dict()

    def api_themes(themes: list[str] | str | None = None, cities: list[str] | str | None = None) -> dict:
        """A theme × city overview: for each reform theme and municipality, the label (strong / weak /
        none), how many passages match and the best one. "english" lists the themes asked mostly in
        English, whose labels are less certain (say so).

        Args:
            themes: the themes, one per item (at most 200); empty for the built-in reform themes
            cities: only these municipalities; empty for every indexed city
        """
        return theme_matrix(state.live(), names(themes, "themes"), city_names(cities)).to_dict()

    gate = threading.BoundedSemaphore(settings.concurrency)  # as many at a time as the UI's queue runs
    for fn, name in (
        (api_search, "search"),
        (api_compare, "compare"),
        (api_similar, "similar"),
        (api_themes, "themes"),
    ):
        # Off the queue: Gradio's MCP server calls a queued endpoint back over HTTP through its own
        # client, without the caller's credentials, so behind --auth every tool call failed; an
        # endpoint off the queue it calls in process. The four answer in milliseconds; `gate` holds
        # them to `concurrency` at a time, as the queue did.
        gr.api(friendly(gated(fn, gate), escape=False), api_name=name, queue=False)
