"""What the UI's events do: compare, search, themes, counterparts, and the corpus's add and remove."""

from __future__ import annotations

import time

import gradio as gr

from reform_search import manage
from reform_search.export import document_sources, render_comparison, render_matrix, render_results
from reform_search.heatmap import heatmap_svg
from reform_search.output import quoted
from reform_search.render import (
    cell_html,
    comparison_html,
    counterparts_html,
    documents_html,
    esc,
    hits_html,
    matrix_notes,
    md,
    status_html,
)
from reform_search.web.checks import (
    MAX_SHOWN,
    chosen_cities,
    count,
    friendly,
    parse_themes,
    query_text,
    read_upload,
    reported,
)
from reform_search.web.state import (
    ASK,
    BUILTIN_THEMES,
    CELL_TOP_K,
    CHANGED,
    CHOOSE_CELL,
    CHOOSE_CITY,
    DOWNLOADS,
    GONE,
    NOTHING_CHOSEN,
    THEMES_HINT,
    AppState,
    city_choices,
    doc_choices,
    no_downloads,
    removal_question,
    year_choices,
)
from search.compare import MORE_TOP_K, compare
from search.counterparts import similar
from search.themes import theme_matrix, themed

# What `refreshed` gives: the corpus message, table and status; compare's and search's panes and
# downloads (cleared); seven city, document and year pickers; the heatmap and its downloads
REFRESHED = 3 + 2 * (2 + len(DOWNLOADS)) + 7 + 1 + len(DOWNLOADS)
CONFIRM_S = 120  # how long the server holds a removal for its confirmation


def unasked(query: str | None, chosen: list[str] | None) -> str | None:
    """The hint shown in place of results asked for without a question (ASK) or a city (CHOOSE_CITY)."""
    return ASK if not (query or "").strip() else None if chosen else CHOOSE_CITY


READ_ONLY = "この索引は読み取り専用です / this server is read-only: documents cannot be added or removed"


class Handlers:
    """What the UI's events do; each method takes `state.live()` once, so a swap never splits a request."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.settings = state.settings
        self.page_generation = state.searcher.index.path  # what the page's initial choices were made from

    @friendly
    def on_compare(self, query: str, chosen: list[str], top_k: float) -> tuple:
        """Comparison columns, an emptied counterparts panel, and the comparison's CSV and Markdown.
        Asked without a question or a city, it says so in place of the results (not as an error, which
        would leave the last comparison on screen and in the downloads)."""
        if hint := unasked(query, chosen):
            return hint, "", *no_downloads()
        s = self.state.live()
        top_k = count(top_k, 1, MORE_TOP_K, "件数 / passages per city")  # as the slider: a crafted call too
        result = compare(s, query_text(query, s), chosen_cities(chosen, s), top_k, self.settings.mode)
        if not result.content:  # no content word: nothing compared, nothing to save
            return comparison_html(result, self.state.city_en()), "", *no_downloads()
        sources = document_sources(s.index.documents)
        files = self.state.downloads_of(
            lambda fmt: render_comparison(result, fmt, sources), "compare", result.query
        )
        return comparison_html(result, self.state.city_en()), "", *files

    @friendly
    def on_counterparts(self, chosen: list[str] | None, evt: gr.EventData) -> str:
        """The counterparts panel of the passage whose button was clicked (evt carries its id)."""
        return self.counterparts_of(str(evt._data.get("passage") or ""), chosen)

    def counterparts_of(self, passage_id: str, chosen: list[str] | None = None) -> str:
        """Counterparts of a passage in the chosen cities other than its own (all others when none); a
        passage removed since its card was shown (in another tab, by another user) is said to be gone."""
        s = self.state.live()
        try:
            source_city = s.passages[s.passages.position(passage_id)].city
        except KeyError:
            return GONE
        others = [c for c in (chosen or []) if c != source_city]
        # The panel shows COLUMN_TOP_K per city and folds the rest of MORE_TOP_K behind 「さらに…件」.
        return counterparts_html(similar(s, passage_id, others or None, MORE_TOP_K), self.state.city_en())

    @friendly
    def on_search(
        self, query: str, chosen: list[str], docs: list[str], years: list[int], mode: str, top_k: float
    ):
        """Search result cards, an emptied counterparts panel, and the hits' CSV, workbook and Markdown."""
        if hint := unasked(query, chosen):
            return hint, "", *no_downloads()
        s = self.state.live()
        q = query_text(query, s)
        allowed = s.mask(chosen_cities(chosen, s), docs or None, years or None)
        # the filters can exclude each other (a document of a city not ticked)
        if allowed is not None and not allowed.any():
            return NOTHING_CHOSEN, "", *no_downloads()
        found = s.results(q, count(top_k, 1, MAX_SHOWN, "件数 / passages shown"), mode, allowed)
        sources = document_sources(s.index.documents)  # hits are taken away as a comparison is
        export = lambda fmt: render_results(found, fmt, sources)  # noqa: E731
        files = self.state.downloads_of(export, "search", found.query)
        return hits_html(found, self.state.city_en()), "", *(files if found.hits else no_downloads())

    def every_city(self) -> list[str]:
        """Every indexed city ticked (すべて / all)."""
        return list(self.state.live().cities)

    def no_city(self) -> list[str]:
        """No city ticked (解除 / none): the first of a few to tick next."""
        return []

    @friendly
    def on_themes(self, text: str, chosen: list[str]):
        """Heatmap, the theme and city pickers, both downloads, an emptied cell panel, and the themes text
        it was built from (`on_themes_edited`)."""
        if not chosen:
            return CHOOSE_CITY, gr.skip(), gr.skip(), *no_downloads(), "", gr.skip()
        s = self.state.live()
        matrix = theme_matrix(s, parse_themes(text), chosen_cities(chosen, s))
        sources = document_sources(s.index.documents)
        builtin = "" if (text or "").strip() else BUILTIN_THEMES
        return (
            builtin + matrix_notes(matrix) + heatmap_svg(matrix, self.state.city_en()),
            gr.update(choices=[(themed(t), t) for t in matrix.themes], value=matrix.themes[0]),
            gr.update(  # named as the page first named them, in romaji too
                choices=[x for x in city_choices(self.state) if x[1] in matrix.cities], value=matrix.cities[0]
            ),
            *self.state.downloads_of(lambda fmt: render_matrix(matrix, fmt, sources), "themes"),
            "",
            text,
        )

    def on_themes_tab(self, shown: str, text: str, chosen: list[str]):
        """Build the matrix the first time the tab is opened (and after the index changed)."""
        if "rs-heatmap" in (shown or ""):
            return tuple(gr.skip() for _ in range(5 + len(DOWNLOADS)))
        return self.on_themes(text, chosen)

    def on_themes_edited(self, text: str, chosen: list[str], built: str | None):
        """The themes box was left: the matrix again if its text changed since the matrix was built (a
        reader tabbing through the box had lost the cell she had opened)."""
        if text == built:
            return tuple(gr.skip() for _ in range(5 + len(DOWNLOADS)))
        return self.on_themes(text, chosen)

    @friendly
    def on_cell(self, theme: str, city: str) -> str:
        """The passages of one theme × city cell."""
        if not theme or not city:  # said in place: a raised error also badged the panel "Error" alone
            return CHOOSE_CELL
        result = compare(self.state.live(), theme, [city], CELL_TOP_K, self.settings.mode)
        return cell_html(theme, result.columns[0], self.state.city_en().get(city, ""), result.english)

    def on_pick_cell(self, evt: gr.EventData):
        """A heatmap cell was clicked: select it in the pickers and show its passages."""
        theme, city = evt._data.get("theme"), evt._data.get("city")
        return theme, city, self.on_cell(theme, city)

    @reported(REFRESHED + 1)
    def on_add(
        self,
        path: str | None,
        city: str,
        city_en: str,
        title: str,
        year: str,
        kind: str,
        progress=gr.Progress(),  # noqa: B008
    ):
        """Store and index an uploaded document (any format add_document reads), then swap the Searcher."""
        self._writable()
        data, name = read_upload(path, manage.limits_for(self.settings))

        def step(done: int, total: int) -> None:
            progress((done, total), desc="埋め込み計算中 / embedding passages", unit="passages")

        meta = {"city": city, "city_en": city_en, "title": title, "fiscal_year": year, "kind": kind}
        meta = {k: v.strip() for k, v in meta.items() if v and v.strip()}
        before = manage.indexed_entries(self.settings)  # as `add` reads them: an unchanged file is said so
        with self.state.indexing():
            document, report = manage.add_document(
                self.settings, data, name, step, self.state.embedder, **meta
            )
            self.state.reload()
        added = next((d.passages for d in self.state.live().index.documents if d.id == document.id), 0)
        done = "置き換えました / replaced" if document.id in before else "追加しました / added"  # same id
        done = "変更なし / unchanged" if manage.unchanged(document.meta(), before.get(document.id)) else done
        message = (
            f"{done} {md(document.city)}{md(quoted(document.title))} (`{document.id}`): "
            f"{added} 箇所 / passages（索引全体 {report.passages} 箇所 / in the index）"
        )
        return (*self.refreshed(message), None)

    def _writable(self) -> None:
        if self.settings.read_only == "on":  # the events are not even wired then; this holds regardless
            raise ValueError(READ_ONLY)

    @reported(4)
    def on_remove_ask(self, doc_id: str | None):
        """A removal's first step: say what would go, and hold it in this session (server-side) for the
        second. A request to remove that did not go through this step is refused."""
        self._writable()
        if not doc_id:
            raise ValueError("削除する資料を選んでください / choose a document to remove")
        doc = next((d for d in self.state.live().index.documents if d.id == doc_id), None)
        if doc is None:
            raise ValueError(f"unknown document {doc_id!r}; reload the page to see the indexed documents")
        question = removal_question(doc)
        return "", {"id": doc_id, "until": time.monotonic() + CONFIRM_S}, question, gr.update(visible=True)

    def on_remove_cancel(self):
        """The user said no: forget the held removal and hide the question."""
        return None, gr.update(visible=False)

    @reported(REFRESHED + 2)
    def on_remove(self, pending: dict | None, progress=gr.Progress()):  # noqa: B008
        """A removal's second step: take out the document this session's first step held, then swap in
        the new Searcher."""
        self._writable()
        if not pending or time.monotonic() > pending.get("until", 0):
            raise ValueError(
                "削除の確認がありません。もう一度「削除」を押してください / "
                "no removal is waiting for confirmation; press Remove again"
            )
        doc_id = str(pending["id"])
        doc = next((d for d in self.state.live().index.documents if d.id == doc_id), None)
        named = f"{md(doc.city)}{md(quoted(doc.title))} (`{esc(doc_id)}`)" if doc else f"`{esc(doc_id)}`"

        def step(done: int, total: int) -> None:
            progress((done, total), desc="索引を更新中 / reindexing", unit="passages")

        with self.state.indexing():
            report = manage.remove_document(self.settings, doc_id, step, self.state.embedder)
            self.state.reload()
        message = f"削除しました / removed {named}: 索引全体 {report.passages} 箇所 / passages in the index"
        return (*self.refreshed(message), None, gr.update(visible=False))

    @friendly
    def on_load(self):
        """A page was opened: refresh its city and document pickers when the index changed since start."""
        if self.state.live().index.path == self.page_generation:
            return tuple(gr.skip() for _ in range(REFRESHED))
        return self.refreshed("", asked=False)

    def refreshed(self, message: str, asked: bool = True) -> tuple:
        """New values for everything that lists cities or documents (REFRESHED outputs); with `asked`
        (a change made on this page), what was compared or searched before it is cleared, not shown or
        saved; a page just opened has asked nothing, and keeps its first hints."""
        state = self.state
        cities = city_choices(state)
        values = [v for _, v in cities]
        docs = doc_choices(state)
        cleared = (CHANGED, "", *no_downloads(), CHANGED, "", *no_downloads())
        results = cleared if asked else tuple(gr.skip() for _ in cleared)
        return (
            message,
            documents_html(manage.indexed_documents(self.settings)),
            status_html(state.searcher),
            *results,
            gr.update(choices=cities, value=values),
            gr.update(choices=cities, value=values),
            gr.update(choices=cities, value=values),
            gr.update(choices=docs, value=[]),
            gr.update(choices=year_choices(state), value=[]),
            gr.update(choices=docs, value=None),
            gr.update(choices=cities, value=None),
            THEMES_HINT,  # the matrix is rebuilt when its tab is opened next
            *no_downloads(),
        )
