"""The web UI (Gradio): compare cities side by side, search, the theme × city matrix, manage the corpus.

    serve(settings)                 index if needed, load one Searcher, launch on settings.host:port
    build_app(settings, searcher)   the gr.Blocks (tests build it around a prepared index)

Gradio wiring only: the app state (the loaded Searcher, swapped after a rebuild here or outside the app,
and the indexing lock), the event handlers, the Blocks, and launching. The HTML comes from
reform_search/render.py, the CSS and JavaScript from reform_search/static/; ranking, labels and
counterparts all come from the library (search/, reform_search/); nothing here ranks.

Named API endpoints for gradio_client return the CLI's --json shapes: /search, /compare, /similar,
/themes.
"""

from __future__ import annotations

import html
import os
import re
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from functools import wraps
from importlib.resources import files
from pathlib import Path

# Before gradio is imported: no version check or telemetry, ever.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import gradio as gr
from starlette.middleware import Middleware

from corpus.document import fiscal_year_label
from corpus.extract import SUFFIXES
from index.build import tqdm_progress
from index.prefault import prefault
from index.store import IndexProblem, current_generation
from reform_search.cli import open_searcher
from reform_search.export import document_urls, render_comparison, render_matrix
from reform_search.guard import Guard
from reform_search.manage import add_document, index_all, indexed_documents, remove_document
from reform_search.render import (
    cell_html,
    comparison_html,
    counterparts_html,
    documents_html,
    esc,
    heatmap_svg,
    hits_html,
    status_html,
)
from reform_search.settings import Settings
from search.compare import compare, similar
from search.engine import MODES, Searcher, check_query
from search.themes import DEFAULT_THEMES, MAX_THEMES, theme_matrix

TITLE = "reform-search — 自治体の行政改革を探す・比べる"
EXAMPLES = ["DX推進", "書かない窓口", "公共施設の統廃合", "人件費の抑制", "ペーパーレス", "telework"]
SEARCH_EXAMPLES = ["電子決裁", "窓口のキャッシュレス化", "指定管理者制度", "staff reduction"]
COMPARE_TOP_K = 3  # passages per city in the Compare tab unless the slider says otherwise
CELL_TOP_K = 5  # passages shown for a theme × city cell
DOWNLOADS_KEPT_S = 3600  # exports (and Gradio's copies of uploads) older than this are deleted
THEMES_HINT = '<p class="rs-hint">表を作成しています… / building the matrix…</p>'
PRIVATE = {"api_visibility": "private"}  # UI events; only the four named endpoints are the API


def js_sections(text: str) -> dict[str, str]:
    """The sections of ui.js by name: the code after each `// === name` line, its leading comments dropped."""
    sections = {}
    for part in re.split(r"^// === ", text, flags=re.MULTILINE)[1:]:
        name, _, body = part.partition("\n")
        code = body.strip().splitlines()
        while code and code[0].startswith("//"):
            code.pop(0)
        sections[name.strip()] = "\n".join(code).strip()
    return sections


# Read once, at start-up: package data, so that they travel with an installed wheel.
STATIC = files("reform_search") / "static"
CSS = (STATIC / "ui.css").read_text(encoding="utf-8")
JS = js_sections((STATIC / "ui.js").read_text(encoding="utf-8"))

# ---------------------------------------------------------------- state


class AppState:
    """The loaded Searcher (replaced, never mutated, after a rebuild) and the one-at-a-time indexing lock."""

    def __init__(self, settings: Settings, searcher: Searcher) -> None:
        self.settings = settings
        self.searcher = searcher
        self.lock = threading.Lock()
        self.downloads = Path(tempfile.mkdtemp(prefix="reform-search-ui-"))

    @property
    def embedder(self):
        """The embedder of the loaded index (indexing must use the same one)."""
        return self.searcher.embedder

    @contextmanager
    def indexing(self):
        """Hold the indexing lock; a second indexing request is refused with a message, not queued."""
        if not self.lock.acquire(blocking=False):
            raise ValueError("索引を更新中です / the index is being updated; try again when it has finished")
        try:
            yield
        finally:
            self.lock.release()

    def reload(self) -> None:
        """Load the live index generation and swap it in; searches in flight keep the old Searcher."""
        self.searcher = open_searcher(self.settings, embedder=self.embedder)

    def stale(self) -> bool:
        """Whether the live index generation is not the one loaded (it was changed outside the app)."""
        return current_generation(self.settings.index_dir) != self.searcher.index.path

    def live(self) -> Searcher:
        """The Searcher to answer a request with: reloaded first when the index changed outside the app.

        Under the indexing lock, without waiting for it: while the app indexes (it reloads when done) or
        another request is reloading, requests answer from the loaded Searcher.
        """
        if self.stale() and self.lock.acquire(blocking=False):
            try:
                if self.stale():  # not already reloaded by the request that held the lock before
                    self.reload()
            finally:
                self.lock.release()
        return self.searcher

    def city_en(self) -> dict[str, str]:
        """English names of the loaded cities."""
        return {c: en for c, en in self.searcher.index.city_pairs if en}

    def export_path(self, suffix: str, kind: str = "themes") -> Path:
        """A fresh file name for a download (generated, never from user input); old ones are pruned."""
        for old in self.downloads.glob("reform-search-*"):
            if time.time() - old.stat().st_mtime > DOWNLOADS_KEPT_S:
                old.unlink(missing_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return self.downloads / f"reform-search-{kind}-{stamp}-{uuid.uuid4().hex[:6]}.{suffix}"

    def downloads_of(self, render: Callable[[str], str | bytes], kind: str) -> list:
        """The DOWNLOADS of one result (`render(fmt)` gives its text, or a workbook's bytes), as button
        updates."""
        updates = []
        for fmt, _ in DOWNLOADS:
            path, data = self.export_path(fmt, kind), render(fmt)
            if isinstance(data, bytes):
                path.write_bytes(data)
            else:
                path.write_text(data, encoding="utf-8", newline="")
            updates.append(gr.update(value=str(path), interactive=True))
        return updates


def _said(e: Exception) -> str:
    """The first line of a refusal, escaped: messages quote user input (file names, cities) and the
    browser renders them as HTML."""
    return html.escape(str(e).splitlines()[0] if str(e) else type(e).__name__, quote=False)


def friendly(fn: Callable) -> Callable:
    """Turn the library's ValueError / IndexProblem into a one-line gr.Error for the browser."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ValueError, IndexProblem) as e:
            raise gr.Error(_said(e), title="エラー / Error", print_exception=False) from None

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


def _query(text: str | None, searcher: Searcher) -> str:
    if not (text or "").strip():
        raise ValueError("検索語を入力してください / type the words to search for")
    q = check_query(text, searcher.max_query_chars)
    if q.truncated:
        gr.Warning(f"クエリを {searcher.max_query_chars} 文字に短縮しました / query cut to that length")
    return q.text


def _cities(chosen: Sequence[str] | None, searcher: Searcher) -> list[str] | None:
    """None (every city) when all are chosen; a refusal when none is."""
    if not chosen:
        raise ValueError("市町村を1つ以上選んでください / choose at least one city")
    return None if set(chosen) >= set(searcher.cities) else list(chosen)


def parse_themes(text: str | None) -> list[str]:
    """Themes from a textbox, one per line (the defaults when empty)."""
    themes = list(dict.fromkeys(t.strip() for t in (text or "").splitlines() if t.strip()))
    if len(themes) > MAX_THEMES:
        raise ValueError(f"{len(themes)} themes given; the limit is {MAX_THEMES}")
    return themes or list(DEFAULT_THEMES)


def read_upload(path: str | None, max_mb: int) -> tuple[bytes, str]:
    """The bytes and original name of an uploaded file, refusing a missing or too large one early."""
    if not path:
        raise ValueError("ファイルを選んでください / choose a file to upload")
    p = Path(path)
    limit = max_mb * 1024 * 1024
    if p.stat().st_size > limit:
        raise ValueError(
            f"{p.name!r} is {p.stat().st_size:,} bytes; the upload limit is {limit:,} ({max_mb} MB)"
        )
    return p.read_bytes(), p.name


def _city_choices(state: AppState) -> list[tuple[str, str]]:
    en = state.city_en()
    return [(f"{c} ({en[c]})" if c in en else c, c) for c in state.searcher.cities]


def _doc_choices(state: AppState) -> list[tuple[str, str]]:
    return [(f"{d['city']}「{d['title']}」", d["id"]) for d in state.searcher.index.documents]


def _year_choices(state: AppState) -> list[tuple[str, int]]:
    years = sorted({d["fiscal_year"] for d in state.searcher.index.documents if d.get("fiscal_year")})
    return [(fiscal_year_label(y), y) for y in years]


# ---------------------------------------------------------------- handlers


REFRESHED = 11
DOWNLOADS = (("csv", "CSV"), ("xlsx", "Excel"), ("md", "Markdown"))  # what a result downloads as
CONFIRM_S = 120  # how long the server holds a removal for its confirmation
READ_ONLY = "この索引は読み取り専用です / this server is read-only: documents cannot be added or removed"


class Handlers:
    """What the UI's events do; each method takes `state.live()` once, so a swap never splits a request."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.settings = state.settings
        self.page_generation = state.searcher.index.path  # what the page's initial choices were made from

    @friendly
    def on_compare(self, query: str, chosen: list[str], top_k: float) -> tuple:
        """Comparison columns, an emptied counterparts panel, and the comparison's CSV and Markdown."""
        s = self.state.live()
        result = compare(s, _query(query, s), _cities(chosen, s), int(top_k), self.settings.mode)
        urls = document_urls(s.index.documents)
        files = self.state.downloads_of(lambda fmt: render_comparison(result, fmt, urls), "compare")
        return comparison_html(result, self.state.city_en()), "", *files

    @friendly
    def on_counterparts(self, chosen: list[str] | None, evt: gr.EventData) -> str:
        """The counterparts panel of the passage whose button was clicked (evt carries its id)."""
        return self.counterparts_of(str(evt._data.get("passage") or ""), chosen)

    def counterparts_of(self, passage_id: str, chosen: list[str] | None = None) -> str:
        """Counterparts of a passage in the chosen cities other than its own (all others when none)."""
        s = self.state.live()
        source_city = s.passages[s.position(passage_id)].city
        others = [c for c in (chosen or []) if c != source_city]
        return counterparts_html(similar(s, passage_id, others or None, COMPARE_TOP_K), self.state.city_en())

    @friendly
    def on_search(
        self, query: str, chosen: list[str], docs: list[str], years: list[int], mode: str, top_k: float
    ):
        """Search result cards (and an emptied counterparts panel)."""
        s = self.state.live()
        q = _query(query, s)
        hits = s.search(q, int(top_k), mode, _cities(chosen, s), docs or None, years or None)
        return hits_html(q, hits), ""

    @friendly
    def on_themes(self, text: str, chosen: list[str]):
        """Heatmap, the theme and city pickers, both downloads, an emptied cell panel."""
        s = self.state.live()
        matrix = theme_matrix(s, parse_themes(text), _cities(chosen, s))
        urls = document_urls(s.index.documents)
        return (
            heatmap_svg(matrix),
            gr.update(choices=list(matrix.themes), value=matrix.themes[0]),
            gr.update(choices=[(c, c) for c in matrix.cities], value=matrix.cities[0]),
            *self.state.downloads_of(lambda fmt: render_matrix(matrix, fmt, urls), "themes"),
            "",
        )

    def on_themes_tab(self, shown: str, text: str, chosen: list[str]):
        """Build the matrix the first time the tab is opened (and after the index changed)."""
        if "rs-heatmap" in (shown or ""):
            return tuple(gr.skip() for _ in range(4 + len(DOWNLOADS)))
        return self.on_themes(text, chosen)

    @friendly
    def on_cell(self, theme: str, city: str) -> str:
        """The passages of one theme × city cell."""
        if not theme or not city:
            raise ValueError("テーマと市町村を選んでください / choose a theme and a city")
        col = compare(self.state.live(), theme, [city], CELL_TOP_K, self.settings.mode).columns[0]
        return cell_html(theme, col)

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
        data, name = read_upload(path, self.settings.max_upload_mb)

        def step(done: int, total: int) -> None:
            progress((done, total), desc="埋め込み計算中 / embedding passages", unit="passages")

        meta = {"city": city, "city_en": city_en, "title": title, "fiscal_year": year, "kind": kind}
        meta = {k: v.strip() for k, v in meta.items() if v and v.strip()}
        with self.state.indexing():
            document, report = add_document(self.settings, data, name, step, self.state.embedder, **meta)
            self.state.reload()
        message = (
            f"追加しました / added {esc(document.city)}「{esc(document.title)}」 "
            f"(`{document.id}`): 索引 {report.passages} 箇所 / passages"
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
        doc = next((d for d in self.state.live().index.documents if d["id"] == doc_id), None)
        if doc is None:
            raise ValueError(f"unknown document {doc_id!r}; reload the page to see the indexed documents")
        question = (
            f"**{esc(doc['city'])}「{esc(doc['title'])}」** ({doc.get('passages', '?')} 箇所 / passages) "
            "を索引から削除しますか？ / Remove it from the index?"
        )
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

        def step(done: int, total: int) -> None:
            progress((done, total), desc="索引を更新中 / reindexing", unit="passages")

        with self.state.indexing():
            report = remove_document(self.settings, doc_id, step, self.state.embedder)
            self.state.reload()
        message = f"削除しました / removed `{esc(doc_id)}`: 索引 {report.passages} 箇所 / passages"
        return (*self.refreshed(message), None, gr.update(visible=False))

    @friendly
    def on_load(self):
        """A page was opened: refresh its city and document pickers when the index changed since start."""
        if self.state.live().index.path == self.page_generation:
            return tuple(gr.skip() for _ in range(REFRESHED))
        return self.refreshed("")

    def refreshed(self, message: str) -> tuple:
        """New values for everything that lists cities or documents (REFRESHED outputs)."""
        state = self.state
        cities = _city_choices(state)
        values = [v for _, v in cities]
        docs = _doc_choices(state)
        return (
            message,
            documents_html(indexed_documents(self.settings)),
            status_html(state.searcher),
            gr.update(choices=cities, value=values),
            gr.update(choices=cities, value=values),
            gr.update(choices=cities, value=values),
            gr.update(choices=docs, value=[]),
            gr.update(choices=_year_choices(state), value=[]),
            gr.update(choices=docs, value=None),
            gr.update(choices=cities, value=None),
            THEMES_HINT,  # the matrix is rebuilt when its tab is opened next
        )


# ---------------------------------------------------------------- the app


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
        gr.HTML('<span class="rs-ex-label">例 / examples:</span>')
        shown = [
            gr.Button(q, size="sm", variant="secondary", elem_classes="rs-ex", min_width=0) for q in examples
        ]
    return query, go, shown


def result_panes(name: str, hint: str = "") -> tuple[gr.HTML, gr.HTML]:
    """The results (NAME-results, whose cards' buttons ask for counterparts) and the counterparts panel."""
    out = gr.HTML(hint, elem_id=f"{name}-results", js_on_load=JS["counterparts"])
    return out, gr.HTML("", elem_id=f"{name}-counterparts")


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
                min_width=0,
            )
            for fmt, label in DOWNLOADS
        ]


def wire_query(
    h: Handlers,
    fn: Callable,
    box: tuple[gr.Textbox, gr.Button, list[gr.Button]],
    filters: list,
    panes: tuple[gr.HTML, gr.HTML],
    cities: gr.CheckboxGroup,
    downloads: Sequence[gr.DownloadButton] = (),
) -> None:
    """fn(query, *filters) on the button, on Enter and after an example fills the box; cards: counterparts.
    fn returns the panes' contents, then the downloads' updates."""
    query, go, examples = box
    inputs, outputs = [query, *filters], [*panes, *downloads]
    for trigger in (go.click, query.submit):
        trigger(fn, inputs, outputs, **PRIVATE)
    for button in examples:
        button.click(lambda q: q, button, query, **PRIVATE).then(fn, inputs, outputs, **PRIVATE)
    out, cp = panes
    out.counterparts(h.on_counterparts, [cities], cp, scroll_to_output=True, **PRIVATE)


def build_blocks(state: AppState) -> gr.Blocks:
    """The tabs and their events (handlers take state.live() once per request)."""
    settings = state.settings
    cities = _city_choices(state)
    all_cities = [v for _, v in cities]
    suffixes = list(SUFFIXES)

    cache = (DOWNLOADS_KEPT_S, DOWNLOADS_KEPT_S)
    with gr.Blocks(title="reform-search", analytics_enabled=False, delete_cache=cache) as app:
        with gr.Row(elem_classes="rs-header"):
            gr.HTML(
                f'<h1 class="rs-h1">{esc(TITLE)}</h1><p class="rs-sub">Find and compare municipal '
                "administrative reform in Japan, offline, in the cities' own reports</p>",
                scale=4,
            )
            status = gr.HTML(status_html(state.searcher), elem_id="rs-status", scale=1, min_width=240)

        with gr.Tabs(elem_id="rs-tabs"):
            # ---- 比較 / Compare
            with gr.Tab("比較 / Compare", id="compare", elem_id="tab-compare"):
                c_box = query_box(
                    "compare",
                    "比べたい取組・テーマ / initiative or theme to compare",
                    "例: DX推進、書かない窓口、公共施設の統廃合、telework",
                    "比較する / Compare",
                    EXAMPLES,
                )
                with gr.Row(equal_height=True):
                    c_cities = gr.CheckboxGroup(
                        cities, value=all_cities, label="市町村 / cities", elem_id="compare-cities", scale=3
                    )
                    c_top = gr.Slider(
                        1,
                        10,
                        value=COMPARE_TOP_K,
                        step=1,
                        label="件数 / passages per city",
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
            with gr.Tab("検索 / Search", id="search", elem_id="tab-search"):
                s_box = query_box(
                    "search",
                    "検索語 / query",
                    "例: 電子決裁、窓口のキャッシュレス化、staff reduction",
                    "検索 / Search",
                    SEARCH_EXAMPLES,
                )
                with gr.Row(equal_height=True):
                    s_cities = gr.CheckboxGroup(cities, value=all_cities, label="市町村 / cities", scale=2)
                    s_docs = gr.Dropdown(
                        _doc_choices(state),
                        value=[],
                        multiselect=True,
                        label="資料 / documents (空欄 = すべて / all)",
                        scale=2,
                    )
                    s_years = gr.Dropdown(
                        _year_choices(state),
                        value=[],
                        multiselect=True,
                        label="年度 / fiscal year (空欄 = すべて / all)",
                        scale=1,
                        min_width=160,
                        elem_id="search-years",
                    )
                with gr.Row(equal_height=True):
                    s_mode = gr.Radio(list(MODES), value=settings.mode, label="方式 / ranking mode", scale=2)
                    s_top = gr.Slider(1, 50, value=settings.top_k, step=1, label="件数 / top-k", scale=1)
                s_panes = result_panes("search")

            # ---- テーマ / Themes
            with gr.Tab("テーマ / Themes", id="themes", elem_id="tab-themes") as t_tab:  # noqa: SIM117
                with gr.Row(equal_height=False):
                    with gr.Column(scale=2, min_width=260):
                        t_themes = gr.Textbox(
                            "\n".join(DEFAULT_THEMES),
                            lines=8,
                            max_lines=20,
                            label="テーマ（1行に1つ） / themes, one per line",
                        )
                        t_cities = gr.CheckboxGroup(cities, value=all_cities, label="市町村 / cities")
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
            with gr.Tab("資料 / Corpus", id="corpus", elem_id="tab-corpus"):
                gr.Markdown("#### 索引済みの資料 / indexed documents")
                d_table = gr.HTML(documents_html(indexed_documents(settings)), elem_id="corpus-table")
                d_msg = gr.Markdown(READ_ONLY if settings.read_only == "on" else "", elem_id="corpus-message")
                with gr.Row(equal_height=False, visible=settings.read_only != "on"):
                    with gr.Column(scale=3, min_width=300):
                        gr.Markdown(
                            "#### 資料を追加 / add a document\n"
                            f"{' '.join(suffixes)} — {settings.max_upload_mb} MB まで / up to "
                            f"{settings.max_upload_mb} MB (text: UTF-8, Shift_JIS or EUC-JP)"
                        )
                        a_file = gr.File(
                            label="ファイル / file",
                            file_types=suffixes,
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
                            a_year = gr.Textbox(label="年度 / fiscal year", placeholder="2024, 令和6年度, R6")
                            a_kind = gr.Textbox(label="種類 / kind", placeholder="report")
                        a_go = gr.Button(
                            "追加して索引 / Add and index", variant="primary", elem_id="corpus-add"
                        )
                    with gr.Column(scale=2, min_width=260):
                        gr.Markdown("#### 資料を削除 / remove a document")
                        r_doc = gr.Dropdown(
                            _doc_choices(state),
                            value=None,
                            label="資料 / document",
                            elem_id="corpus-remove-doc",
                        )
                        r_go = gr.Button("削除… / Remove…", variant="stop", elem_id="corpus-remove")
                        with gr.Group(visible=False, elem_id="corpus-confirm") as r_confirm:
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
        wire_query(h, h.on_compare, c_box, [c_cities, c_top], c_panes, c_cities, c_files)
        wire_query(h, h.on_search, s_box, [s_cities, s_docs, s_years, s_mode, s_top], s_panes, s_cities)

        t_outputs = [t_map, t_theme, t_city, *t_files, t_cell]
        t_go.click(h.on_themes, [t_themes, t_cities], t_outputs, **PRIVATE)
        t_tab.select(h.on_themes_tab, [t_map, t_themes, t_cities], t_outputs, **PRIVATE)
        t_map.pick_cell(h.on_pick_cell, None, [t_theme, t_city, t_cell], scroll_to_output=True, **PRIVATE)
        t_show.click(h.on_cell, [t_theme, t_city], t_cell, **PRIVATE)

        refresh = [
            d_msg,
            d_table,
            status,
            c_cities,
            s_cities,
            t_cities,
            s_docs,
            s_years,
            r_doc,
            t_city,
            t_map,
        ]
        index_ui = {**PRIVATE, "concurrency_limit": 1, "concurrency_id": "indexing"}
        if settings.read_only != "on":  # read-only: no event, so no endpoint, can change the index
            a_inputs = [a_file, a_city, a_city_en, a_title, a_year, a_kind]
            a_go.click(h.on_add, a_inputs, [*refresh, a_file], **index_ui)
            r_go.click(h.on_remove_ask, r_doc, [d_msg, r_pending, r_ask, r_confirm], **PRIVATE)
            r_no.click(h.on_remove_cancel, None, [r_pending, r_confirm], **PRIVATE)
            r_yes.click(h.on_remove, r_pending, [*refresh, r_pending, r_confirm], **index_ui)
        app.load(h.on_load, None, refresh, show_progress="hidden", **PRIVATE)

        # ---------------------------------------------------------- API (gradio_client): CLI JSON shapes

        def api_search(
            query: str,
            top_k: int = settings.top_k,
            mode: str = settings.mode,
            cities: list[str] | None = None,
            documents: list[str] | None = None,
            years: list[int] | None = None,
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
                years: only these fiscal years (e.g. 2024); empty for all
            """
            s = state.live()
            q = check_query(query, s.max_query_chars).text
            hits = s.search(q, int(top_k), mode, cities or None, documents or None, years or None)
            return {"query": q, "hits": [h.to_dict() for h in hits]}

        def api_compare(
            query: str, cities: list[str] | None = None, top_k: int = COMPARE_TOP_K, mode: str = settings.mode
        ) -> dict:
            """Compare municipalities on one reform topic: one column per city with its best passages and a
            calibrated label, "strong" (the city's reports cover it), "weak" or "none" (該当なし: the city's
            reports say nothing on it; report that plainly). "matching" counts the city's passages that
            match; each hit carries its own "match".

            Args:
                query: the initiative or theme, in Japanese (best) or English, e.g. ごみ有料化 or PPP/PFI
                cities: the municipalities to compare (names as indexed); empty for every indexed city
                top_k: passages shown per city (1 to 10)
                mode: ranking within each city: hybrid (default), dense or lexical
            """
            return compare(state.live(), query, cities or None, int(top_k), mode).to_dict()

        def api_similar(passage_id: str, cities: list[str] | None = None, top_k: int = COMPARE_TOP_K) -> dict:
            """Find what other municipalities do that corresponds to one passage (an initiative of one city):
            one column per other city with its closest passages and a strong / weak / none label.

            Args:
                passage_id: the "id" of a passage returned by search or compare
                cities: only these municipalities; empty for every other indexed city
                top_k: passages per city (1 to 10)
            """
            return similar(state.live(), passage_id, cities or None, int(top_k)).to_dict()

        def api_themes(themes: list[str] | None = None, cities: list[str] | None = None) -> dict:
            """A theme × city overview: for each reform theme and municipality, the label (strong / weak /
            none), how many passages match and the best one.

            Args:
                themes: the themes, one per item (at most 200); empty for the built-in reform themes
                cities: only these municipalities; empty for every indexed city
            """
            if themes and len(themes) > MAX_THEMES:
                raise ValueError(f"{len(themes)} themes given; the limit is {MAX_THEMES}")
            return theme_matrix(state.live(), themes or None, cities or None).to_dict()

        for fn, name in (
            (api_search, "search"),
            (api_compare, "compare"),
            (api_similar, "similar"),
            (api_themes, "themes"),
        ):
            gr.api(friendly(fn), api_name=name)
    return app


# ---------------------------------------------------------------- launching


def _auth(value: str) -> tuple[str, str] | None:
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ValueError("auth must be user:password (setting auth / REFORM_SEARCH_AUTH)")
    return user, password


def launch_options(settings: Settings) -> dict:
    """Arguments of Blocks.launch() for these settings: host, port, auth, upload limit; never a share link."""
    return {
        "server_name": settings.host,
        "server_port": settings.port,
        "auth": _auth(settings.auth),
        "share": False,
        "max_file_size": f"{settings.max_upload_mb}mb",
        "theme": gr.themes.Default(primary_hue="teal", neutral_hue="slate"),
        "css": CSS,
        "footer_links": ["api"],
        "enable_monitoring": False,
        "run_history": False,
        "ssr_mode": False,
        # The four read-only endpoints as MCP tools for AI assistants; uploads and removals are private
        # UI events and never become tools. Gradio's MCP route does not check the UI's login: with auth
        # set, the guard asks MCP calls for the same credentials (reform_search/guard.py).
        "mcp_server": settings.mcp == "on",
        "app_kwargs": {"middleware": [Middleware(Guard, credentials=_auth(settings.auth))]},
    }


def launch(app: gr.Blocks, settings: Settings, **kwargs):
    """Launch the app with `launch_options(settings)` (keyword arguments override them)."""
    return app.launch(**{**launch_options(settings), **kwargs})


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def check_exposure(settings: Settings) -> None:
    """Refuse to serve documents' add and remove to a network without a login."""
    if settings.host not in LOOPBACK and not settings.auth and settings.read_only != "on":
        raise ValueError(
            f"serving on {settings.host} without --auth would let anyone on the network add or remove "
            "documents; set --auth user:password, or --read-only to serve search and compare only"
        )


def serve(settings: Settings) -> None:
    """Bring the index up to date (progress on stderr), load one Searcher and serve the UI until stopped."""
    _auth(settings.auth)  # refuse a malformed auth or an open network before the slow part
    check_exposure(settings)
    report = index_all(settings, progress=tqdm_progress())
    state = "built" if report.changed else "up to date"
    print(f"index {state}: {report.documents} documents, {report.passages} passages", file=sys.stderr)
    searcher = open_searcher(settings)
    if settings.prefault == "on":
        searcher.search("準備", 1, "hybrid")  # loads the model and the tagger: their files are mapped now
        mapped = prefault()
        print(f"model and dictionary mapped into memory: {mapped / 1e6:.0f} MB", file=sys.stderr)
    app = build_app(settings, searcher)
    shown = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    print(f"reform-search UI: http://{shown}:{settings.port}/  (Ctrl+C stops it)", file=sys.stderr)
    launch(app, settings, quiet=True)
