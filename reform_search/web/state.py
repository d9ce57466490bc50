"""What the web app holds: its settings and the loaded Searcher (swapped after a rebuild), the indexing
lock, its downloads, the static CSS and JavaScript, and the choices its pickers offer."""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
import threading
import time
import unicodedata
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path

import gradio as gr

from corpus.document import fiscal_year_label
from index.store import current_generation
from reform_search.app import open_searcher
from reform_search.output import quoted
from reform_search.render import md
from reform_search.settings import Settings
from search.engine import Searcher
from search.markup import strip_markup

TITLE = "reform-search — 自治体の行政改革を探す・比べる"
EXAMPLES = ["DX推進", "書かない窓口", "公共施設の統廃合", "人件費の抑制", "ペーパーレス", "telework"]
SEARCH_EXAMPLES = ["電子決裁", "窓口のキャッシュレス化", "指定管理者制度", "staff reduction"]
CELL_TOP_K = 5  # passages shown for a theme × city cell
DOWNLOADS_KEPT_S = 3600  # exports (and Gradio's copies of uploads) older than this are deleted
ASK = (
    '<p class="rs-hint" role="status">検索語を入力してください（例: 書かない窓口、ごみ有料化）。'
    '<br><span class="rs-en" lang="en">Type what to look for, e.g. 書かない窓口 or "telework".</span></p>'
)
CHOOSE_CITY = (
    '<p class="rs-hint" role="status">市町村を1つ以上選んでください。'
    '<br><span class="rs-en" lang="en">Choose at least one city.</span></p>'
)
CHOOSE_CELL = (
    '<p class="rs-none" role="status">テーマと市町村を選んでください。'
    '<br><span class="rs-en" lang="en">Choose a theme and a city.</span></p>'
)
BUILTIN_THEMES = (  # above a matrix built from an empty themes box
    '<p class="rs-hint" role="status">テーマが空欄のため、既定のテーマで作成しました。'
    '<br><span class="rs-en" lang="en">No themes typed: the built-in ones were used.</span></p>'
)
NOTHING_CHOSEN = (
    '<p class="rs-none" role="status">選んだ市町村・資料・年度のすべてに当てはまる箇所はありません。'
    '<br><span class="rs-en" lang="en">'
    "No passage is in the chosen cities, documents and years at once.</span></p>"
)
THEMES_HINT = '<p class="rs-hint">表を作成しています… / building the matrix…</p>'
# In place of a comparison or search made before documents were added or removed: it may show (and save)
# a removed document's passages, or lack the added one's
CHANGED = (
    '<p class="rs-hint" role="status">資料が追加・削除されました。もう一度お調べください。'
    '<br><span class="rs-en" lang="en">The documents changed: ask again.</span></p>'
)
GONE = (
    '<p class="rs-none" role="status">この箇所は索引から削除されました。'
    '<br><span class="rs-en" lang="en">This passage is no longer in the index.</span></p>'
)
PRIVATE = {"api_visibility": "private"}  # UI events; only the four named endpoints are the API
DOWNLOADS = (("csv", "CSV"), ("xlsx", "Excel"), ("md", "Markdown"))  # what a result downloads as


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
        # gone when the server stops (1,150 of them had piled up in /tmp); pruned as it runs (export_path)
        atexit.register(shutil.rmtree, self.downloads, ignore_errors=True)

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

    def export_path(self, suffix: str, kind: str = "themes", about: str = "") -> Path:
        """A fresh file name for a download, generated (the query's letters and digits alone, `slug`, say
        what it holds: never a path from user input); old ones are pruned."""
        for old in self.downloads.glob("reform-search-*"):
            try:
                if time.time() - old.stat().st_mtime > DOWNLOADS_KEPT_S:
                    old.unlink(missing_ok=True)
            except FileNotFoundError:  # pruned by another request meanwhile
                continue
        stamp = time.strftime("%Y%m%d-%H%M%S")
        named = f"{kind}-{slug(about)}" if slug(about) else kind
        return self.downloads / f"reform-search-{named}-{stamp}-{uuid.uuid4().hex[:6]}.{suffix}"

    def downloads_of(self, render: Callable[[str], str | bytes], kind: str, about: str = "") -> list:
        """The DOWNLOADS of one result (`render(fmt)` gives its text, or a workbook's bytes), as button
        updates; `about` (a query) names the files."""
        updates = []
        for fmt, _ in DOWNLOADS:
            path, data = self.export_path(fmt, kind, about), render(fmt)
            if isinstance(data, bytes):
                path.write_bytes(data)
            else:
                path.write_text(data, encoding="utf-8", newline="")
            updates.append(gr.update(value=str(path), interactive=True))
        return updates


def no_downloads() -> list:
    """The download buttons emptied and greyed: nothing shown, nothing to save."""
    return [gr.update(value=None, interactive=False) for _ in DOWNLOADS]


SLUG_CHARS = 30


def slug(text: str) -> str:
    """A query as part of a file name: its letters and digits (any script), runs of anything else one
    "_", at most SLUG_CHARS, its markup left out as the query is ranked without it: 「ごみ有料化」 stays,
    「../<b>x</b> 窓口」 is x_窓口."""
    words = re.sub(r"[\W_]+", "_", unicodedata.normalize("NFKC", strip_markup(text or ""))).strip("_")
    return words[:SLUG_CHARS].strip("_")


def city_choices(state: AppState) -> list[tuple[str, str]]:
    en = state.city_en()
    return [(f"{c} ({en[c]})" if c in en else c, c) for c in state.searcher.cities]


def doc_choices(state: AppState) -> list[tuple[str, str]]:
    """Each document as the pickers name it: city and title, and where two share those, also the file
    it came from and its id (two uploads under one title had been two identical entries)."""
    docs = state.searcher.index.documents
    named = [f"{d.city}{quoted(d.title)}" for d in docs]
    times = Counter(named)
    return [
        (name if times[name] == 1 else f"{name} · {doc_source(d)}", d.id)
        for name, d in zip(named, docs, strict=True)
    ]


def doc_source(doc) -> str:
    """The file a document came from and its id: what tells two documents of one title apart."""
    return f"{Path(doc.source).name} · id {doc.id}" if doc.source else f"id {doc.id}"


def removal_question(doc) -> str:
    """A removal's first step asks this (Markdown): which document, its passages, its file and id."""
    named = f"{md(doc.city)}{md(quoted(doc.title))}"
    return (
        f"**{named}** ({doc.passages} 箇所 / passages; {md(doc_source(doc))}) "
        "を索引から削除しますか？ / Remove it from the index?"
    )


def year_choices(state: AppState) -> list[tuple[str, int]]:
    years = sorted({d.fiscal_year for d in state.searcher.index.documents if d.fiscal_year})
    return [(fiscal_year_label(y), y) for y in years]


# ---------------------------------------------------------------- handlers
