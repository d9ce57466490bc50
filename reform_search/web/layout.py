"""The page: a header and four tabs (比較 / Compare, 検索 / Search, テーマ / Themes, 資料 / Corpus), and the
events that tie their components to the handlers. Only the four named API endpoints are public.

About 480 lines: Gradio wires an event only inside the Blocks that holds both its components, and the
tabs' events cross tabs (adding a document refreshes every tab's city and document pickers), so the
page and its events are built in one function; the handlers they call are in handlers.py."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import gradio as gr
from starlette.datastructures import QueryParams

from corpus.document import KIND_NAMES, kind_name
from corpus.extract import SUFFIXES
from reform_search.app import open_searcher
from reform_search.manage import indexed_documents
from reform_search.render import documents_html, esc, status_html
from reform_search.settings import Settings
from reform_search.web.api import register_api
from reform_search.web.checks import MAX_SHOWN
from reform_search.web.handlers import READ_ONLY, Handlers
from reform_search.web.link import (
    MAX_ADDRESS,
    Link,
    Params,
    defaults,
    link_js,
    link_shown,
    opened,
    read_link,
    themes_opened,
)
from reform_search.web.state import (
    DOWNLOADS,
    DOWNLOADS_KEPT_S,
    EXAMPLES,
    JS,
    PRIVATE,
    SEARCH_EXAMPLES,
    THEMES_HINT,
    TITLE,
    AppState,
    city_choices,
    doc_choices,
    year_choices,
)
from search.compare import MORE_TOP_K
from search.engine import MODE_NAMES, MODES, Searcher
from search.themes import DEFAULT_THEMES


def build_app(settings: Settings, searcher: Searcher | None = None) -> gr.Blocks:
    """The Blocks app over a loaded Searcher (opened from settings when not given), queue configured."""
    state = AppState(settings, searcher or open_searcher(settings))
    app = build_blocks(state)
    app.queue(default_concurrency_limit=settings.concurrency)
    app.reform_state = state  # for tests and tools: the live Searcher is app.reform_state.searcher
    return app


def query_box(
    name: str, label: str, placeholder: str, button: str, examples: Sequence[str]
) -> tuple[gr.Textbox, gr.Button, list[gr.Button]]:
    """A query box (elem_id NAME-query), its button (NAME-go) and a row of example queries."""
    with gr.Row(equal_height=True):
        query = gr.Textbox(label=label, placeholder=placeholder, elem_id=f"{name}-query", scale=5)
        go = gr.Button(button, variant="primary", elem_id=f"{name}-go", scale=1, min_width=170)
    with gr.Row(elem_classes="rs-examples"):
        # for the keyboard: past the examples and filters to the results (some 15 Tab presses), shown
        # only while it has the focus
        gr.HTML(
            f'<a class="rs-skip" href="#{name}-results">結果へ移動 / skip to the results</a>'
            '<span class="rs-ex-label">例 / examples:</span>'
        )
        shown = [
            gr.Button(q, size="sm", variant="secondary", elem_classes="rs-ex", min_width=0) for q in examples
        ]
    return query, go, shown


def result_panes(name: str, hint: str = "") -> tuple[gr.HTML, gr.HTML]:
    """The results (NAME-results, whose cards' buttons ask for counterparts) and the counterparts panel."""
    out = gr.HTML(hint, elem_id=f"{name}-results", js_on_load=JS["counterparts"])
    return out, gr.HTML("", elem_id=f"{name}-counterparts")


def city_picker(
    name: str, cities: list[tuple[str, str]], chosen: list[str], **column: object
) -> tuple[gr.CheckboxGroup, gr.Button, gr.Button]:
    """The cities to ask about (NAME-cities), with すべて / all (NAME-all) and 解除 / none (NAME-none):
    narrowing seven cities to two had taken five clicks, each redoing the result."""
    with gr.Column(min_width=220, **column):
        group = gr.CheckboxGroup(cities, value=chosen, label="市町村 / cities", elem_id=f"{name}-cities")
        with gr.Row(elem_classes="rs-examples"):
            every, clear = (
                gr.Button(label, size="sm", variant="secondary", min_width=0, elem_id=f"{name}-{key}")
                for key, label in (("all", "すべて / all"), ("none", "解除 / none"))
            )
    return group, every, clear


def download_buttons(name: str) -> list[gr.DownloadButton]:
    """One download button per DOWNLOADS format (NAME-csv, NAME-xlsx, NAME-md), enabled once there is a
    result to save."""
    with gr.Row():
        return [
            gr.DownloadButton(
                f"{label} ダウンロード / download",
                size="sm",
                interactive=False,
                elem_id=f"{name}-{fmt}",
                elem_classes="rs-dl",
                min_width=0,
            )
            for fmt, label in DOWNLOADS
        ]


def wire_query(
    h: Handlers,
    fn: Callable,
    box: tuple[gr.Textbox, gr.Button, list[gr.Button]],
    cities: gr.CheckboxGroup,
    controls: list,
    panes: tuple[gr.HTML, gr.HTML],
    downloads: Sequence[gr.DownloadButton] = (),
    toggles: Sequence[gr.Button] = (),
) -> None:
    """fn(query, cities, *controls) on the button, on Enter, after an example fills the box, and when a
    city or control is changed with a query in the box (`toggles`: the cities' all / none buttons too);
    cards: counterparts. fn returns the panes' contents, then the downloads' updates."""
    query, go, examples = box
    filters = [cities, *controls]
    inputs, outputs = [query, *filters], [*panes, *downloads]
    # asked for: said aloud, and brought into view; by a control: said aloud only. Either way the
    # address bar then links to what is shown (link.py), a new question a new entry of the history
    results, tab = panes[0].elem_id, panes[0].elem_id.removesuffix("-results")
    first = defaults(h.settings)
    shown, redone = (
        link_js(tab, how, first, before=f"window.rsShown?.('{results}'{quiet}); ")
        for how, quiet in (("ask", ""), ("redo", ", true"))
    )
    asked = {"inputs": inputs, **PRIVATE}
    for trigger in (go.click, query.submit):
        trigger(fn, inputs, outputs, **PRIVATE).then(None, js=shown, **asked)

    def again(text: str, *values):
        """A filter changed: the result for it at once (what is shown follows the controls), once
        something is asked."""
        return fn(text, *values) if (text or "").strip() else tuple(gr.skip() for _ in outputs)

    for control in filters:  # a slider being dragged asks again only once the last answer is in, and
        # the answers of a drag replace each other without the spinner flashing over the results
        control.input(
            again, inputs, outputs, trigger_mode="always_last", show_progress="hidden", **PRIVATE
        ).then(None, js=redone, **asked)
    for button, chosen in zip(toggles, (h.every_city, h.no_city), strict=False):
        button.click(chosen, None, cities, **PRIVATE).then(
            again, inputs, outputs, show_progress="hidden", **PRIVATE
        ).then(None, js=redone, **asked)
    for button in examples:
        button.click(lambda q: q, button, query, **PRIVATE).then(fn, inputs, outputs, **PRIVATE).then(
            None, js=shown, **asked
        )
    out, cp = panes
    out.counterparts(h.on_counterparts, [cities], cp, scroll_to_output=True, **PRIVATE)


# a cell's passages brought up and their heading focused (Tab then goes on through them, not the matrix)
SHOW_CELL = (
    "() => { const c = document.getElementById('themes-cell'); c?.scrollIntoView({block: 'start'});"
    " c?.querySelector('.rs-query')?.focus({preventScroll: true}); }"
)


def build_blocks(state: AppState) -> gr.Blocks:
    """The tabs and their events (handlers take state.live() once per request)."""
    settings = state.settings
    cities = city_choices(state)
    all_cities = [v for _, v in cities]
    first = defaults(settings)  # the controls' first values, as a link leaves them out
    suffixes = list(SUFFIXES)

    cache = (DOWNLOADS_KEPT_S, DOWNLOADS_KEPT_S)
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=cache) as app:
        with gr.Row(elem_classes="rs-header"):
            header = gr.HTML(
                f'<h1 class="rs-h1">{esc(TITLE)}</h1><p class="rs-sub" lang="en">Find and compare municipal '
                "administrative reform in Japan, offline, in the cities' own reports</p>"
                '<p id="rs-announce" class="rs-sr" role="status" aria-live="polite"></p>',
                scale=4,
                js_on_load=JS["history"],
            )
            status = gr.HTML(status_html(state.searcher), elem_id="rs-status", scale=1, min_width=240)

        with gr.Tabs(elem_id="rs-tabs") as tabs:
            # ---- 比較 / Compare
            with gr.Tab("比較 / Compare", id="compare", elem_id="tab-compare") as c_tab:
                c_box = query_box(
                    "compare",
                    "比べたい取組・テーマ / initiative or theme to compare",
                    "例: DX推進、書かない窓口、公共施設の統廃合、telework",
                    "比較する / Compare",
                    EXAMPLES,
                )
                with gr.Row(equal_height=True):
                    c_cities, *c_toggles = city_picker("compare", cities, all_cities, scale=3)
                    c_top = gr.Slider(
                        1,
                        MORE_TOP_K,
                        value=first["compare"]["k"],
                        step=1,
                        label="件数 / passages per city",
                        elem_id="compare-top",
                        scale=1,
                        min_width=300,
                    )
                c_files = download_buttons("compare")
                c_panes = result_panes(
                    "compare",
                    '<p class="rs-hint">取組やテーマを入力すると、市ごとに該当する箇所を並べて表示します。'
                    "<br>Type an initiative or a theme: each city's best passages appear side by side.</p>",
                )

            # ---- 検索 / Search
            with gr.Tab("検索 / Search", id="search", elem_id="tab-search") as s_tab:
                s_box = query_box(
                    "search",
                    "検索語 / query",
                    "例: 電子決裁、窓口のキャッシュレス化、staff reduction",
                    "検索 / Search",
                    SEARCH_EXAMPLES,
                )
                with gr.Row(equal_height=True):
                    s_cities, *s_toggles = city_picker("search", cities, all_cities, scale=2)
                    s_docs = gr.Dropdown(
                        doc_choices(state),
                        value=[],
                        multiselect=True,
                        label="資料 / documents (空欄 = すべて / all)",
                        scale=2,
                        elem_id="search-docs",
                    )
                    s_years = gr.Dropdown(
                        year_choices(state),
                        value=[],
                        multiselect=True,
                        label="年度 / fiscal year (空欄 = すべて / all)",
                        scale=1,
                        min_width=160,
                        elem_id="search-years",
                    )
                with gr.Row(equal_height=True):
                    s_mode = gr.Radio(
                        [(MODE_NAMES[m], m) for m in MODES],
                        value=first["search"]["mode"],
                        label="方式 / ranking mode",
                        scale=2,
                        elem_id="search-mode",
                    )
                    s_top = gr.Slider(
                        1,
                        MAX_SHOWN,
                        value=first["search"]["k"],
                        step=1,
                        label="件数 / passages shown",
                        scale=1,
                        elem_id="search-top",
                    )
                s_files = download_buttons("search")
                s_panes = result_panes(
                    "search",
                    '<p class="rs-hint">検索語を入力すると、すべての市の箇所を近い順に表示します。'
                    "<br>Type a query: the passages of every city appear, nearest first.</p>",
                )

            # ---- テーマ / Themes
            with gr.Tab("テーマ / Themes", id="themes", elem_id="tab-themes") as t_tab:  # noqa: SIM117
                with gr.Row(equal_height=False):
                    with gr.Column(scale=2, min_width=260):
                        t_themes = gr.Textbox(
                            "\n".join(DEFAULT_THEMES),
                            elem_id="themes-text",
                            lines=8,
                            max_lines=20,
                            label="テーマ（1行に1つ） / themes, one per line",
                        )
                        t_cities, *t_toggles = city_picker("themes", cities, all_cities)
                        t_go = gr.Button("表を作成 / Build matrix", variant="primary", elem_id="themes-go")
                        t_files = download_buttons("themes")
                    with gr.Column(scale=5, min_width=320):
                        t_map = gr.HTML(THEMES_HINT, elem_id="themes-heatmap", js_on_load=JS["pick_cell"])
                        with gr.Row(equal_height=True):
                            t_theme = gr.Dropdown(
                                [], value=None, label="テーマ / theme", allow_custom_value=True, scale=2
                            )
                            t_city = gr.Dropdown(cities, value=None, label="市町村 / city", scale=1)
                            t_show = gr.Button("箇所を表示 / Show passages", scale=1, min_width=160)
                        t_cell = gr.HTML("", elem_id="themes-cell")

            # ---- 資料 / Corpus
            with gr.Tab("資料 / Corpus", id="corpus", elem_id="tab-corpus") as d_tab:
                gr.Markdown("#### 索引済みの資料 / indexed documents")
                d_table = gr.HTML(documents_html(indexed_documents(settings)), elem_id="corpus-table")
                d_msg = gr.Markdown(READ_ONLY if settings.read_only == "on" else "", elem_id="corpus-message")
                with gr.Row(equal_height=False, visible=settings.read_only != "on"):
                    with gr.Column(scale=3, min_width=300):
                        gr.Markdown(
                            "#### 資料を追加 / add a document\n"
                            f"{' '.join(suffixes)} — {settings.max_upload_mb} MB まで / up to "
                            f"{settings.max_upload_mb} MB (text: UTF-8, Shift_JIS or EUC-JP) · "
                            "\\* は必須 / \\* required"
                        )
                        # No file_types: Gradio's own check of them says "Invalid file type" in English
                        # alone; the add handler refuses any other type in Japanese and English.
                        a_file = gr.File(
                            label="ファイル / file",
                            type="filepath",
                            height=120,
                            elem_id="corpus-file",
                        )
                        with gr.Row():
                            a_city = gr.Textbox(
                                label="市町村 / city *", placeholder="郡山市", elem_id="corpus-city"
                            )
                            a_city_en = gr.Textbox(label="英語名 / city in romaji", placeholder="Koriyama")
                        with gr.Row():
                            a_title = gr.Textbox(label="資料名 / title *", scale=2, elem_id="corpus-title")
                            a_year = gr.Textbox(
                                label="年度 / fiscal year", placeholder="2024, FY2024, 令和6年度, R6"
                            )
                            a_kind = gr.Dropdown(
                                [(kind_name(k), k) for k in KIND_NAMES],
                                value="report",
                                label="種類 / kind",
                                allow_custom_value=True,
                            )
                        a_go = gr.Button(
                            "追加して索引 / Add and index", variant="primary", elem_id="corpus-add"
                        )
                    with gr.Column(scale=2, min_width=260):
                        gr.Markdown("#### 資料を削除 / remove a document")
                        r_doc = gr.Dropdown(
                            doc_choices(state),
                            value=None,
                            label="資料 / document",
                            elem_id="corpus-remove-doc",
                        )
                        r_go = gr.Button(
                            "削除… / Remove…", variant="stop", elem_id="corpus-remove", interactive=False
                        )
                        with gr.Group(visible=False, elem_classes="rs-confirm") as r_confirm:
                            r_ask = gr.Markdown("", elem_id="corpus-confirm-text")
                            with gr.Row():
                                r_yes = gr.Button(
                                    "削除して索引 / Remove and reindex",
                                    variant="stop",
                                    elem_id="corpus-remove-yes",
                                )
                                r_no = gr.Button("やめる / Cancel", elem_id="corpus-remove-no")
                r_pending = gr.State(None)  # the removal the server holds for its confirmation

        # ---------------------------------------------------------- events (UI only: private)

        h = Handlers(state)
        # each tab's controls after its cities, in the order of link.py `defaults` (a link's parameters)
        c_controls, s_controls = [c_top], [s_docs, s_years, s_mode, s_top]
        wire_query(h, h.on_compare, c_box, c_cities, c_controls, c_panes, c_files, c_toggles)
        wire_query(h, h.on_search, s_box, s_cities, s_controls, s_panes, s_files, s_toggles)

        t_built = gr.State(None)  # the themes text the matrix shown was built from
        t_outputs = [t_map, t_theme, t_city, *t_files, t_cell, t_built]
        # One matrix built at a time, in the order asked: leaving the themes box by its 解除 / none button
        # had built the matrix for every city after the one for none, and shown it over no city ticked
        matrix = {**PRIVATE, "concurrency_limit": 1, "concurrency_id": "themes-matrix"}
        # built on the button: what it holds said aloud (it had been built in silence for a screen reader)
        t_go.click(h.on_themes, [t_themes, t_cities], t_outputs, **matrix).then(
            None, js="() => window.rsShown?.('themes-heatmap', true)", **PRIVATE
        )
        # the matrix (and what it downloads) follows its controls: a city ticked, the themes edited
        t_cities.input(h.on_themes, [t_themes, t_cities], t_outputs, trigger_mode="always_last", **matrix)
        edited = [t_themes, t_cities, t_built]
        t_themes.blur(h.on_themes_edited, edited, t_outputs, trigger_mode="always_last", **matrix)
        for button, chosen in zip(t_toggles, (h.every_city, h.no_city), strict=True):
            button.click(chosen, None, t_cities, **PRIVATE).then(
                h.on_themes, [t_themes, t_cities], t_outputs, **matrix
            )
        t_tab.select(h.on_themes_tab, [t_map, t_themes, t_cities], t_outputs, **matrix)
        # a cell's passages appear below the matrix and its pickers, often below the fold: bring them up
        for event in (
            t_map.pick_cell(h.on_pick_cell, None, [t_theme, t_city, t_cell], **PRIVATE),
            t_show.click(h.on_cell, [t_theme, t_city], t_cell, **PRIVATE),
        ):
            event.then(None, js=SHOW_CELL, **PRIVATE)

        refresh = [
            d_msg,
            d_table,
            status,
            *c_panes,
            *c_files,
            *s_panes,
            *s_files,
            c_cities,
            s_cities,
            t_cities,
            s_docs,
            s_years,
            r_doc,
            t_city,
            t_map,
            *t_files,
        ]
        index_ui = {**PRIVATE, "concurrency_limit": 1, "concurrency_id": "indexing"}
        if settings.read_only != "on":  # read-only: no event, so no endpoint, can change the index
            a_inputs = [a_file, a_city, a_city_en, a_title, a_year, a_kind]
            # the message is above the documents' table, out of view of a phone's form: brought into
            # view and focused; a cancelled removal gives the focus back to its button
            said, back = (f"() => window.rsReveal?.('{x}')" for x in ("corpus-message", "corpus-remove"))
            a_go.click(h.on_add, a_inputs, [*refresh, a_file], **index_ui).then(None, js=said, **PRIVATE)
            r_go.click(h.on_remove_ask, r_doc, [d_msg, r_pending, r_ask, r_confirm], **PRIVATE)
            # a red button stays grey until there is something to remove
            r_doc.change(lambda doc: gr.update(interactive=bool(doc)), r_doc, r_go, **PRIVATE)
            r_no.click(h.on_remove_cancel, None, [r_pending, r_confirm], **PRIVATE).then(
                None, js=back, **PRIVATE
            )
            r_yes.click(h.on_remove, r_pending, [*refresh, r_pending, r_confirm], **index_ui).then(
                None, js=said, **PRIVATE
            )

        # an opened link (?tab=…&q=…&city=…&k=…) asks what it names, once the pickers are up to date; an
        # earlier question's address brought back by Back or Forward (ui.js) is asked again in place
        def link_of(params: Params) -> Link:
            index = state.live().index
            years = sorted({d.fiscal_year for d in index.documents if d.fiscal_year})
            return read_link(params, index.city_pairs, [d.id for d in index.documents], years)

        def on_link(request: gr.Request):
            return opened(h, link_of(request.query_params))

        def on_back(evt: gr.EventData):
            address = str(evt._data.get("search") or "")[:MAX_ADDRESS]
            return opened(h, link_of(QueryParams(address.removeprefix("?"))), restored=True)

        linked = gr.State(None)  # the tab a link opened
        link_outputs = [
            tabs,
            *(c_box[0], c_cities, *c_controls, *c_panes, *c_files),
            *(s_box[0], s_cities, *s_controls, *s_panes, *s_files),
        ]
        opened_link = app.load(h.on_load, None, refresh, show_progress="hidden", **PRIVATE).then(
            on_link, None, [*link_outputs, linked], **PRIVATE
        )
        back = header.restore(on_back, None, [*link_outputs, linked], **PRIVATE)
        asked_now = [c_box[0], c_cities, *c_controls, s_box[0], s_cities, *s_controls]
        for event in (opened_link, back):
            event.then(
                lambda *a: themes_opened(h, *a), [linked, t_map, t_themes, t_cities], t_outputs, **matrix
            )
            # what a link asked, said (and signalled below a phone's window) as an asked result is, and
            # the address tidied to what is shown (a city no longer indexed left out)
            event.then(None, asked_now, js=link_shown(first), **PRIVATE)
        # the address follows the tab shown: a query's tab with its box's query, the others alone (once the
        # link opened has been read: a tab selected as the page opens had emptied the address before)
        tab_shown = (
            (c_tab, "compare", [c_box[0], c_cities, *c_controls]),
            (s_tab, "search", [s_box[0], s_cities, *s_controls]),
            (t_tab, "themes", []),
            (d_tab, "corpus", []),
        )
        for tab, name, shown in tab_shown:
            js = link_js(name, "tab", first, before="if (!window.rsLinked) return; ")
            tab.select(None, shown, js=js, **PRIVATE)

        # ---------------------------------------------------------- API (gradio_client): CLI JSON shapes
        register_api(state)
    return app
