"""The web UI (Gradio): compare cities side by side, search, the theme × city matrix, manage the corpus.

    serve(settings)                 index if needed, load one Searcher, launch on settings.host:port
    build_app(settings, searcher)   the gr.Blocks (tests build it around a prepared index)

Layout of this module, top to bottom: HTML builders (pure functions of library results; every piece
of document text is escaped before it is inserted), the app state (the loaded Searcher, swapped after
a rebuild, and the indexing lock), the event handlers, the Blocks, and launching. Ranking, labels and
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
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from functools import wraps
from pathlib import Path

# Before gradio is imported: no version check or telemetry, ever.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import gradio as gr

from index.build import expected_manifest, tqdm_progress
from index.store import IndexProblem, load_index
from reform_search.cli import open_searcher
from reform_search.export import MATCH_MARK, render_matrix
from reform_search.manage import add_document, index_all, indexed_documents, remove_document
from reform_search.output import snippet
from reform_search.settings import Settings
from search.compare import Column, Comparison, Counterparts, compare, similar
from search.engine import MODES, Searcher, check_query
from search.hit import Hit
from search.themes import DEFAULT_THEMES, MAX_THEMES, Matrix, theme_matrix


def upload_suffixes() -> tuple[str, ...]:
    """File types `add_document` accepts: every extractor's when the library has them, else plain text."""
    try:
        from corpus.extract import SUFFIXES  # PDF, XLSX, DOCX, HTML, CSV, text
    except ImportError:  # a library without extractors (before issue 5) takes text files only
        from corpus.library import TEXT_SUFFIXES as SUFFIXES
    return tuple(SUFFIXES)


TITLE = "reform-search — 自治体の行政改革を探す・比べる"
MATCH_JA = {"strong": "該当あり", "weak": "関連あり", "none": "該当なし"}
EXAMPLES = ["DX推進", "書かない窓口", "公共施設の統廃合", "人件費の抑制", "ペーパーレス", "telework"]
EXCERPT_CHARS = 180
COMPARE_TOP_K = 3  # passages per city in the Compare tab unless the slider says otherwise
CELL_TOP_K = 5  # passages shown for a theme × city cell
DOWNLOADS_KEPT_S = 3600  # exports (and Gradio's copies of uploads) older than this are deleted
THEMES_HINT = '<p class="rs-hint">表を作成しています… / building the matrix…</p>'

# ---------------------------------------------------------------- HTML builders (pure)


def esc(value: object) -> str:
    """Text (or None) as HTML text or attribute value: &, <, >, " and ' escaped."""
    return html.escape("" if value is None else str(value), quote=True)


def highlight(text: str, terms: Sequence[str]) -> str:
    """Escaped text with each occurrence of the matched terms wrapped in <mark> (longest term first)."""
    terms = sorted({t for t in terms if t and t.strip()}, key=len, reverse=True)
    if not terms:
        return esc(text)
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
    out, last = [], 0
    for m in pattern.finditer(text):
        out += [esc(text[last : m.start()]), f'<mark class="rs-hl">{esc(m.group())}</mark>']
        last = m.end()
    out.append(esc(text[last:]))
    return "".join(out)


def badge(match: str) -> str:
    """The match label: ◎ 該当あり strong, ○ 関連あり weak, × 該当なし none."""
    return (
        f'<span class="rs-badge rs-badge-{esc(match)}">{MATCH_MARK[match]} {MATCH_JA[match]}'
        f' <span class="rs-en">{esc(match)}</span></span>'
    )


def source_line(hit: Hit, score: bool = True) -> str:
    """Where a passage comes from: document, fiscal year, page, lines; and its score."""
    p = hit.passage
    where = [f"「{esc(p.document)}」"]
    if p.fiscal_year:
        where.append(f"{p.fiscal_year}年度")
    if p.page:
        where.append(f"p.{p.page}")
    if p.line_start:
        where.append(f"{p.line_start}–{p.line_end}行 / lines")
    tail = f' <span class="rs-score">score {hit.score:.4f}</span>' if score else ""
    return f'<div class="rs-source">出典 / source: {" · ".join(where)}{tail}</div>'


def section_label(section: str) -> str:
    """A section path for display: ⑴…⒇ as (1)…(20), which every Japanese font can draw."""
    return re.sub("[\u2474-\u2487]", lambda m: unicodedata.normalize("NFKC", m.group()), section)


def _full_text(hit: Hit) -> str:
    p = hit.passage
    if p.fields:  # a table row: its fields under their labels
        rows = "".join(
            f"<dt>{esc(label)}</dt><dd>{highlight(value, hit.matched)}</dd>" for label, value in p.fields
        )
        return f'<dl class="rs-fields">{rows}</dl>'
    return f'<div class="rs-full">{highlight(p.text, hit.matched)}</div>'


def card(hit: Hit, *, with_city: bool = False, action: bool = True, score: bool = True) -> str:
    """One passage as a card: title, section, 所管課, highlighted excerpt (full text on demand), source."""
    p = hit.passage
    title = p.initiative or (p.section.split(" > ")[-1] if p.section else "")
    excerpt = snippet(p.text, hit.matched, EXCERPT_CHARS)
    text = f'<p class="rs-text">{highlight(excerpt, hit.matched)}</p>'
    head = [f'<span class="rs-rank">{hit.rank}</span>'] if hit.rank else []
    if with_city:
        head.append(f'<span class="rs-city-chip">{esc(p.city)}</span>')
    # A passage without a heading (a list item, a paragraph) leads with its own text.
    head.append(f'<span class="rs-title">{esc(title)}</span>' if title else text)
    parts = [f'<div class="rs-card-head">{"".join(head)}</div>']
    if p.section and p.section != title:
        parts.append(f'<div class="rs-section">{esc(section_label(p.section))}</div>')
    if p.department:
        parts.append(f'<div class="rs-dept">所管課 / department: {esc(p.department)}</div>')
    if title:
        parts.append(text)
    if p.fields or " ".join(p.text.split()) != excerpt:
        parts.append(f"<details><summary>全文 / full text</summary>{_full_text(hit)}</details>")
    parts.append(source_line(hit, score))
    if action:
        parts.append(
            f'<button type="button" class="rs-cp-btn" data-passage="{esc(p.id)}">'
            "他市の類似取組 / counterparts →</button>"
        )
    return f'<article class="rs-card" data-passage-id="{esc(p.id)}">{"".join(parts)}</article>'


def column(col: Column, city_en: str = "", *, action: bool = True) -> str:
    """One city's column: name, match badge, then its best passages (or 該当なし, plainly)."""
    en = f' <span class="rs-city-en">{esc(city_en)}</span>' if city_en else ""
    count = f"{col.matching} 件が該当 / matching" if col.match != "none" else ""
    head = (
        f'<header class="rs-col-head"><h3 class="rs-city">{esc(col.city)}{en}</h3>{badge(col.match)}'
        f'<span class="rs-meta">{count}</span></header>'
    )
    cards = "".join(card(h, action=action) for h in col.hits)
    if col.match == "none":
        body = (
            '<p class="rs-none">該当なし — この市の資料に該当する取組は見つかりませんでした。'
            '<br><span class="rs-en">No matching initiative in this city\'s documents.</span></p>'
        )
        if cards:
            body += (
                f'<details class="rs-closest"><summary>参考: 最も近い箇所 / closest passages '
                f"(not a match)</summary>{cards}</details>"
            )
    else:
        body = cards or '<p class="rs-none">—</p>'
    return (
        f'<section class="rs-col rs-col-{esc(col.match)}" data-city="{esc(col.city)}">{head}{body}</section>'
    )


def comparison_html(result: Comparison, city_en: dict[str, str] | None = None) -> str:
    """The comparison: one column per city, side by side (a CSS grid that stacks on narrow screens)."""
    city_en = city_en or {}
    cols = "".join(column(c, city_en.get(c.city, "")) for c in result.columns)
    return (
        f'<div class="rs-result" data-query="{esc(result.query)}">'
        f'<div class="rs-query">「{esc(result.query)}」の比較 / comparison</div>'
        f'<div class="rs-grid">{cols}</div></div>'
    )


def counterparts_html(result: Counterparts, city_en: dict[str, str] | None = None) -> str:
    """A passage and its counterparts in the other cities, one column per city."""
    city_en = city_en or {}
    src = result.source.passage
    name = src.initiative or snippet(src.text, (), 40)
    cols = "".join(column(c, city_en.get(c.city, ""), action=False) for c in result.columns)
    if not cols:
        cols = '<p class="rs-none">他の市の資料がありません / no other city is indexed.</p>'
    return (
        f'<div class="rs-cp-panel" data-source="{esc(src.id)}">'
        f'<h3 class="rs-cp-title">他市の類似取組 / counterparts: {esc(src.city)}「{esc(name)}」</h3>'
        f'<div class="rs-cp-source">{card(result.source, action=False, score=False)}</div>'
        f'<div class="rs-grid">{cols}</div></div>'
    )


def hits_html(query: str, hits: Sequence[Hit]) -> str:
    """Search results as a list of cards with the city on each."""
    if not hits:
        return f'<p class="rs-none">「{esc(query)}」に該当する箇所はありません / no passages match.</p>'
    cards = "".join(card(h, with_city=True) for h in hits)
    head = f'<div class="rs-query">「{esc(query)}」: {len(hits)} 件 / hits</div>'
    return f'<div class="rs-hits">{head}{cards}</div>'


HEAT = {"strong": ("#0f766e", "#ffffff"), "weak": ("#99e0cf", "#134e4a"), "none": ("#eef1f4", "#475569")}


def _text_width(text: str, size: float) -> float:
    """Rough rendered width: full-width characters take a full em, others about half."""
    return sum(size if ord(c) > 0x2E7F else size * 0.6 for c in text)


def heatmap_svg(matrix: Matrix) -> str:
    """The theme × city matrix as an SVG heatmap: cells colored by match, labeled with the count."""
    size, cell_h, pad, head_h = 14, 40, 10, 34
    n = max(len(matrix.cities), 1)
    cell_w = max(120, min(220, 640 // n), *(_text_width(c, size) + 2 * pad for c in matrix.cities))
    label_w = max([_text_width(t, size) for t in matrix.themes] + [80]) + 2 * pad
    legend_w = 3 * 170
    width = max(label_w + cell_w * n, label_w + legend_w)
    height = head_h + cell_h * len(matrix.themes) + 40
    out = [
        f'<svg class="rs-heatmap" viewBox="0 0 {width:.0f} {height}" width="{width:.0f}" height="{height}" '
        'role="img" aria-label="テーマ × 市 / theme × city" xmlns="http://www.w3.org/2000/svg">'
    ]
    for j, city in enumerate(matrix.cities):
        x = label_w + j * cell_w + cell_w / 2
        out.append(f'<text x="{x:.0f}" y="22" class="rs-hm-col" text-anchor="middle">{esc(city)}</text>')
    for i, theme in enumerate(matrix.themes):
        y = head_h + i * cell_h
        out.append(
            f'<text x="{label_w - pad:.0f}" y="{y + cell_h / 2 + 5:.0f}" class="rs-hm-row" '
            f'text-anchor="end">{esc(theme)}</text>'
        )
        for j, city in enumerate(matrix.cities):
            c = matrix.cell(theme, city)
            fill, ink = HEAT[c.match]
            x = label_w + j * cell_w
            label = f"{MATCH_MARK[c.match]} {c.count}件" if c.match != "none" else "× 該当なし"
            tip = f"{theme} × {city}: {MATCH_JA[c.match]} ({c.match}), {c.count}"
            out.append(
                f'<g class="rs-hm-cell rs-hm-{c.match}" data-theme="{esc(theme)}" data-city="{esc(city)}" '
                f'role="button" tabindex="0"><title>{esc(tip)}</title>'
                f'<rect x="{x + 2:.0f}" y="{y + 2}" width="{cell_w - 4:.0f}" height="{cell_h - 4}" rx="5" '
                f'style="fill:{fill}"/><text x="{x + cell_w / 2:.0f}" y="{y + cell_h / 2 + 5:.0f}" '
                f'style="fill:{ink}" text-anchor="middle" class="rs-hm-val">{esc(label)}</text></g>'
            )
    y, x = height - 14, label_w
    for match in ("strong", "weak", "none"):
        fill, _ = HEAT[match]
        out.append(
            f'<rect x="{x:.0f}" y="{y - 12}" width="16" height="16" rx="3" style="fill:{fill}" '
            'stroke="#94a3b8"/>'
            f'<text x="{x + 22:.0f}" y="{y + 1}" class="rs-hm-legend">'
            f"{MATCH_MARK[match]} {MATCH_JA[match]} {match}</text>"
        )
        x += 170
    out.append("</svg>")
    return (
        '<div class="rs-heatmap-wrap"><div class="rs-note">セルをクリックすると該当箇所を表示 / '
        "click a cell to see its passages (件 = passages that match on their own)</div>"
        + "".join(out)
        + "</div>"
    )


def cell_html(theme: str, col: Column) -> str:
    """The passages behind one theme × city cell."""
    return (
        f'<div class="rs-cell-panel"><div class="rs-query">テーマ / theme「{esc(theme)}」 × '
        f"{esc(col.city)}</div>{column(col, action=False)}</div>"
    )


def status_html(searcher: Searcher) -> str:
    """One line about what is loaded."""
    docs = searcher.index.documents
    return (
        f'<div class="rs-status">{len(searcher.cities)} 市町村 / cities · {len(docs)} 資料 / documents · '
        f"{len(searcher.passages)} 箇所 / passages</div>"
    )


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
        old = self.searcher
        index = load_index(self.settings.index_dir, expected_manifest(old.embedder))
        self.searcher = Searcher(index, old.embedder, rrf_k=old.rrf_k, max_query_chars=old.max_query_chars)

    def city_en(self) -> dict[str, str]:
        """English names of the loaded cities."""
        return {c: en for c, en in self.searcher.index.city_pairs if en}

    def export_path(self, suffix: str) -> Path:
        """A fresh file name for a download (generated, never from user input); old ones are pruned."""
        for old in self.downloads.glob("reform-search-themes-*"):
            if time.time() - old.stat().st_mtime > DOWNLOADS_KEPT_S:
                old.unlink(missing_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return self.downloads / f"reform-search-themes-{stamp}-{uuid.uuid4().hex[:6]}.{suffix}"


def friendly(fn: Callable) -> Callable:
    """Turn the library's ValueError / IndexProblem into a one-line gr.Error for the browser."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ValueError, IndexProblem) as e:
            message = str(e).splitlines()[0] if str(e) else type(e).__name__
            # gr.Error renders its message as HTML, and messages quote user input (file names, cities).
            raise gr.Error(
                html.escape(message, quote=False), title="エラー / Error", print_exception=False
            ) from None

    return wrapper


def _query(text: str | None, searcher: Searcher) -> str:
    q = check_query(text or "", searcher.max_query_chars)
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


DOC_COLUMNS = (
    ("city", "市町村 / city"),
    ("title", "資料 / title"),
    ("fiscal_year", "年度 / FY"),
    ("kind", "種類 / kind"),
    ("passages", "箇所 / passages"),
    ("source", "ファイル / source"),
    ("id", "ID"),
)


def documents_html(documents: Sequence[dict]) -> str:
    """The indexed documents as a table (every value escaped)."""
    if not documents:
        return '<p class="rs-none">索引に資料がありません / no documents are indexed.</p>'
    head = "".join(f"<th>{esc(label)}</th>" for _, label in DOC_COLUMNS)
    rows = "".join(
        "<tr>"
        + "".join(f'<td class="rs-td-{k}">{esc(d.get(k) or "")}</td>' for k, _ in DOC_COLUMNS)
        + "</tr>"
        for d in documents
    )
    return f'<table class="rs-table"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


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


class Handlers:
    """What the UI's events do; each method reads `state.searcher` once, so a swap never splits a request."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.settings = state.settings

    @friendly
    def on_compare(self, query: str, chosen: list[str], top_k: float) -> tuple[str, str]:
        """Comparison columns (and an emptied counterparts panel)."""
        s = self.state.searcher
        result = compare(s, _query(query, s), _cities(chosen, s), int(top_k), self.settings.mode)
        return comparison_html(result, self.state.city_en()), ""

    @friendly
    def on_counterparts(self, chosen: list[str] | None, evt: gr.EventData) -> str:
        """The counterparts panel of the passage whose button was clicked (evt carries its id)."""
        return self.counterparts_of(str(evt._data.get("passage") or ""), chosen)

    def counterparts_of(self, passage_id: str, chosen: list[str] | None = None) -> str:
        """Counterparts of a passage in the chosen cities other than its own (all others when none)."""
        s = self.state.searcher
        source_city = s.passages[s.position(passage_id)].city
        others = [c for c in (chosen or []) if c != source_city]
        return counterparts_html(similar(s, passage_id, others or None, COMPARE_TOP_K), self.state.city_en())

    @friendly
    def on_search(
        self, query: str, chosen: list[str], docs: list[str], years: list[int], mode: str, top_k: float
    ):
        """Search result cards (and an emptied counterparts panel)."""
        s = self.state.searcher
        q = _query(query, s)
        hits = s.search(q, int(top_k), mode, _cities(chosen, s), docs or None, years or None)
        return hits_html(q, hits), ""

    @friendly
    def on_themes(self, text: str, chosen: list[str]):
        """Heatmap, the theme and city pickers, both downloads, an emptied cell panel."""
        s = self.state.searcher
        matrix = theme_matrix(s, parse_themes(text), _cities(chosen, s))
        paths = {}
        for fmt in ("csv", "md"):
            path = self.state.export_path(fmt)
            path.write_text(render_matrix(matrix, fmt), encoding="utf-8", newline="")
            paths[fmt] = str(path)
        return (
            heatmap_svg(matrix),
            gr.update(choices=list(matrix.themes), value=matrix.themes[0]),
            gr.update(choices=[(c, c) for c in matrix.cities], value=matrix.cities[0]),
            gr.update(value=paths["csv"], interactive=True),
            gr.update(value=paths["md"], interactive=True),
            "",
        )

    def on_themes_tab(self, shown: str, text: str, chosen: list[str]):
        """Build the matrix the first time the tab is opened (and after the index changed)."""
        if "rs-heatmap" in (shown or ""):
            return tuple(gr.skip() for _ in range(6))
        return self.on_themes(text, chosen)

    @friendly
    def on_cell(self, theme: str, city: str) -> str:
        """The passages of one theme × city cell."""
        if not theme or not city:
            raise ValueError("テーマと市町村を選んでください / choose a theme and a city")
        col = compare(self.state.searcher, theme, [city], CELL_TOP_K, self.settings.mode).columns[0]
        return cell_html(theme, col)

    def on_pick_cell(self, evt: gr.EventData):
        """A heatmap cell was clicked: select it in the pickers and show its passages."""
        theme, city = evt._data.get("theme"), evt._data.get("city")
        return theme, city, self.on_cell(theme, city)

    @friendly
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
        """Store and index an uploaded text document, then swap in the new Searcher."""
        data, name = read_upload(path, self.settings.max_upload_mb)

        def step(done: int, total: int) -> None:
            progress((done, total), desc="埋め込み計算中 / embedding passages", unit="passages")

        meta = {"city": city, "city_en": city_en, "title": title, "fiscal_year": year, "kind": kind}
        meta = {k: v.strip() for k, v in meta.items() if v and v.strip()}
        with self.state.indexing():
            document, report = add_document(self.settings, data, name, step, self.state.embedder, **meta)
            self.state.reload()
        message = (
            f"✅ 追加しました / added {esc(document.city)}「{esc(document.title)}」 "
            f"(`{document.id}`): 索引 {report.passages} 箇所 / passages"
        )
        return (*self.refreshed(message), None)

    @friendly
    def on_remove(self, doc_id: str | None, progress=gr.Progress()):  # noqa: B008
        """Take a document out of the index, then swap in the new Searcher."""
        if doc_id == CANCELLED:
            return tuple(gr.skip() for _ in range(REFRESHED))
        if not doc_id:
            raise ValueError("削除する資料を選んでください / choose a document to remove")

        def step(done: int, total: int) -> None:
            progress((done, total), desc="索引を更新中 / reindexing", unit="passages")

        with self.state.indexing():
            report = remove_document(self.settings, doc_id, step, self.state.embedder)
            self.state.reload()
        return self.refreshed(
            f"🗑 削除しました / removed `{esc(doc_id)}`: 索引 {report.passages} 箇所 / passages"
        )

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


REFRESHED = 11
CANCELLED = "__cancelled__"
CONFIRM_JS = (
    "(d) => (d && !confirm('この資料を索引から削除しますか？ / Remove this document from the index?')) "
    f"? {CANCELLED!r} : d"
)


# ---------------------------------------------------------------- the app


CP_JS = """
if (!element.__rsBound) {
  element.__rsBound = true;
  element.addEventListener('click', (e) => {
    const b = e.target.closest('button[data-passage]');
    if (!b || !element.contains(b)) return;
    element.querySelectorAll('.rs-card.rs-active').forEach((c) => c.classList.remove('rs-active'));
    const c = b.closest('.rs-card');
    if (c) c.classList.add('rs-active');
    trigger('counterparts', {passage: b.dataset.passage});
  });
}
"""

CELL_JS = """
if (!element.__rsBound) {
  element.__rsBound = true;
  const pick = (e) => {
    const c = e.target.closest('[data-theme]');
    if (c && element.contains(c)) trigger('pick_cell', {theme: c.dataset.theme, city: c.dataset.city});
  };
  element.addEventListener('click', pick);
  element.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') pick(e); });
}
"""


def build_app(settings: Settings, searcher: Searcher | None = None) -> gr.Blocks:
    """The Blocks app over a loaded Searcher (opened from settings when not given), queue configured."""
    state = AppState(settings, searcher or open_searcher(settings))
    app = build_blocks(state)
    app.queue(default_concurrency_limit=settings.concurrency)
    app.reform_state = state  # for tests and tools: the live Searcher is app.reform_state.searcher
    return app


def _city_choices(state: AppState) -> list[tuple[str, str]]:
    en = state.city_en()
    return [(f"{c} ({en[c]})" if c in en else c, c) for c in state.searcher.cities]


def _doc_choices(state: AppState) -> list[tuple[str, str]]:
    return [(f"{d['city']}「{d['title']}」", d["id"]) for d in state.searcher.index.documents]


def _year_choices(state: AppState) -> list[tuple[str, int]]:
    years = sorted({d["fiscal_year"] for d in state.searcher.index.documents if d.get("fiscal_year")})
    return [(f"{y}年度", y) for y in years]


def build_blocks(state: AppState) -> gr.Blocks:
    """The tabs and their events (handlers read state.searcher once per request)."""
    settings = state.settings
    cities = _city_choices(state)
    all_cities = [v for _, v in cities]
    suffixes = upload_suffixes()

    def examples(queries: Sequence[str]) -> list[gr.Button]:
        with gr.Row(elem_classes="rs-examples"):
            gr.HTML('<span class="rs-ex-label">例 / examples:</span>')
            return [
                gr.Button(q, size="sm", variant="secondary", elem_classes="rs-ex", min_width=0)
                for q in queries
            ]

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
                with gr.Row(equal_height=True):
                    c_query = gr.Textbox(
                        label="比べたい取組・テーマ / initiative or theme to compare",
                        placeholder="例: DX推進、書かない窓口、公共施設の統廃合、telework",
                        elem_id="compare-query",
                        scale=5,
                    )
                    c_go = gr.Button(
                        "比較する / Compare", variant="primary", elem_id="compare-go", scale=1, min_width=170
                    )
                c_examples = examples(EXAMPLES)
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
                c_out = gr.HTML(
                    '<p class="rs-hint">取組やテーマを入力すると、市ごとに該当する箇所を並べて表示します。'
                    "<br>Type an initiative or a theme: each city's best passages appear side by side.</p>",
                    elem_id="compare-results",
                    js_on_load=CP_JS,
                )
                c_cp = gr.HTML("", elem_id="compare-counterparts")

            # ---- 検索 / Search
            with gr.Tab("検索 / Search", id="search", elem_id="tab-search"):
                with gr.Row(equal_height=True):
                    s_query = gr.Textbox(
                        label="検索語 / query",
                        placeholder="例: 電子決裁、窓口のキャッシュレス化、staff reduction",
                        elem_id="search-query",
                        scale=5,
                    )
                    s_go = gr.Button(
                        "検索 / Search", variant="primary", elem_id="search-go", scale=1, min_width=170
                    )
                s_examples = examples(
                    ["電子決裁", "窓口のキャッシュレス化", "指定管理者制度", "staff reduction"]
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
                    )
                with gr.Row(equal_height=True):
                    s_mode = gr.Radio(list(MODES), value=settings.mode, label="方式 / ranking mode", scale=2)
                    s_top = gr.Slider(1, 50, value=settings.top_k, step=1, label="件数 / top-k", scale=1)
                s_out = gr.HTML("", elem_id="search-results", js_on_load=CP_JS)
                s_cp = gr.HTML("", elem_id="search-counterparts")

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
                        with gr.Row():
                            t_csv = gr.DownloadButton(
                                "CSV ⬇", size="sm", interactive=False, elem_id="themes-csv", min_width=0
                            )
                            t_md = gr.DownloadButton(
                                "Markdown ⬇", size="sm", interactive=False, elem_id="themes-md", min_width=0
                            )
                    with gr.Column(scale=5, min_width=320):
                        t_map = gr.HTML(
                            THEMES_HINT,
                            elem_id="themes-heatmap",
                            js_on_load=CELL_JS,
                        )
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
                d_msg = gr.Markdown("", elem_id="corpus-message")
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=300):
                        gr.Markdown(
                            "#### 資料を追加 / add a document\n"
                            f"{' '.join(suffixes)} — {settings.max_upload_mb} MB まで / up to "
                            f"{settings.max_upload_mb} MB (text: UTF-8, Shift_JIS or EUC-JP)"
                        )
                        a_file = gr.File(
                            label="ファイル / file",
                            file_types=list(suffixes),
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
                        r_go = gr.Button(
                            "削除して索引 / Remove and reindex", variant="stop", elem_id="corpus-remove"
                        )

        # ---------------------------------------------------------- events (UI only: private)

        h = Handlers(state)
        ui = {"api_visibility": "private"}
        c_inputs = [c_query, c_cities, c_top]
        for trigger in (c_go.click, c_query.submit):
            trigger(h.on_compare, c_inputs, [c_out, c_cp], **ui)
        for button in c_examples:
            button.click(lambda q: q, button, c_query, **ui).then(h.on_compare, c_inputs, [c_out, c_cp], **ui)
        c_out.counterparts(h.on_counterparts, [c_cities], c_cp, scroll_to_output=True, **ui)

        s_inputs = [s_query, s_cities, s_docs, s_years, s_mode, s_top]
        for trigger in (s_go.click, s_query.submit):
            trigger(h.on_search, s_inputs, [s_out, s_cp], **ui)
        for button in s_examples:
            button.click(lambda q: q, button, s_query, **ui).then(h.on_search, s_inputs, [s_out, s_cp], **ui)
        s_out.counterparts(h.on_counterparts, [s_cities], s_cp, scroll_to_output=True, **ui)

        t_outputs = [t_map, t_theme, t_city, t_csv, t_md, t_cell]
        t_go.click(h.on_themes, [t_themes, t_cities], t_outputs, **ui)
        t_tab.select(h.on_themes_tab, [t_map, t_themes, t_cities], t_outputs, **ui)
        t_map.pick_cell(h.on_pick_cell, None, [t_theme, t_city, t_cell], scroll_to_output=True, **ui)
        t_show.click(h.on_cell, [t_theme, t_city], t_cell, **ui)

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
        index_ui = {**ui, "concurrency_limit": 1, "concurrency_id": "indexing"}
        a_inputs = [a_file, a_city, a_city_en, a_title, a_year, a_kind]
        a_go.click(h.on_add, a_inputs, [*refresh, a_file], **index_ui)
        r_go.click(h.on_remove, [r_doc], refresh, js=CONFIRM_JS, **index_ui)

        # ---------------------------------------------------------- API (gradio_client): CLI JSON shapes

        def api_search(
            query: str,
            top_k: int = settings.top_k,
            mode: str = settings.mode,
            cities: list[str] | None = None,
            documents: list[str] | None = None,
            years: list[int] | None = None,
        ) -> dict:
            """Passages for a query, best first: {"query", "hits"} as `reform-search search --json`."""
            s = state.searcher
            q = check_query(query, s.max_query_chars).text
            hits = s.search(q, int(top_k), mode, cities or None, documents or None, years or None)
            return {"query": q, "hits": [h.to_dict() for h in hits]}

        def api_compare(
            query: str, cities: list[str] | None = None, top_k: int = COMPARE_TOP_K, mode: str = settings.mode
        ) -> dict:
            """One column per city with a strong / weak / none label: `reform-search compare --json`."""
            return compare(state.searcher, query, cities or None, int(top_k), mode).to_dict()

        def api_similar(passage_id: str, cities: list[str] | None = None, top_k: int = COMPARE_TOP_K) -> dict:
            """Counterparts of a passage in the other cities: `reform-search similar --json`."""
            return similar(state.searcher, passage_id, cities or None, int(top_k)).to_dict()

        def api_themes(themes: list[str] | None = None, cities: list[str] | None = None) -> dict:
            """Theme × city matrix {"themes", "cities", "cells"}: `reform-search themes --json`."""
            if themes and len(themes) > MAX_THEMES:
                raise ValueError(f"{len(themes)} themes given; the limit is {MAX_THEMES}")
            return theme_matrix(state.searcher, themes or None, cities or None).to_dict()

        for fn, name in (
            (api_search, "search"),
            (api_compare, "compare"),
            (api_similar, "similar"),
            (api_themes, "themes"),
        ):
            gr.api(friendly(fn), api_name=name)
    return app


# ---------------------------------------------------------------- launching

CSS = """
.gradio-container { max-width: 1400px !important; }
.rs-header { align-items: flex-end; }
.rs-h1 { font-size: 1.3rem; margin: 0; }
.rs-sub { margin: 2px 0 0; color: var(--body-text-color-subdued); font-size: .9rem; }
.rs-status { text-align: right; color: var(--body-text-color-subdued); font-size: .9rem; padding-top: .4rem; }
.rs-result, .rs-hits, .rs-cp-panel, .rs-cell-panel, .rs-heatmap-wrap, .rs-hint {
  font-family: var(--font), "IPAexGothic", "IPAGothic", "Noto Sans CJK JP", sans-serif; }
.rs-hint { color: var(--body-text-color-subdued); padding: 1rem 0; }
.rs-examples { align-items: center; gap: 6px !important; flex-wrap: wrap; }
.rs-examples > * { flex: 0 0 auto !important; min-width: 0 !important; width: auto !important; }
.rs-ex-label { color: var(--body-text-color-subdued); font-size: .85rem; }
.rs-query { font-weight: 600; margin: .5rem 0 .6rem; color: var(--body-text-color-subdued); }
.rs-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 360px), 1fr));
  gap: 16px; align-items: start; }
.rs-col { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 12px 14px;
  background: var(--background-fill-secondary); min-width: 0; }
.rs-col-head { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 10px;
  border-bottom: 1px solid var(--border-color-primary); padding-bottom: 8px; margin-bottom: 4px; }
.rs-city { font-size: 1.25rem; font-weight: 700; margin: 0 !important; }
.rs-city-en { font-size: .8rem; font-weight: 400; color: var(--body-text-color-subdued); }
.rs-meta { font-size: .85rem; color: var(--body-text-color-subdued); margin-left: auto; }
.rs-badge { display: inline-block; padding: 2px 10px; border-radius: 999px; font-weight: 700;
  font-size: .92rem; white-space: nowrap; }
.rs-badge .rs-en { font-weight: 400; font-size: .78rem; opacity: .85; }
.rs-badge-strong { background: #0f766e; color: #fff; }
.rs-badge-weak { background: #ccfbf1; color: #115e59; border: 1px solid #5eead4; }
.rs-badge-none { background: #f1f5f9; color: #334155; border: 1px solid #94a3b8; }
.rs-none { font-weight: 600; color: #334155; margin: .6rem 0; line-height: 1.6; }
.dark .rs-none { color: #cbd5e1; }
.rs-none .rs-en { font-weight: 400; color: var(--body-text-color-subdued); }
.rs-card { background: var(--background-fill-primary); border: 1px solid var(--border-color-primary);
  border-radius: 8px; padding: 10px 12px; margin-top: 10px; line-height: 1.6; }
.rs-card.rs-active { outline: 2px solid #0f766e; }
.rs-card-head { display: flex; gap: 8px; align-items: baseline; }
.rs-rank { flex: 0 0 auto; font-size: .8rem; font-weight: 700; color: #fff; background: #64748b;
  border-radius: 4px; padding: 0 6px; }
.rs-city-chip { flex: 0 0 auto; font-size: .8rem; font-weight: 700; color: #0f766e; border: 1px solid #0f766e;
  border-radius: 4px; padding: 0 6px; }
.rs-title { font-weight: 700; }
.rs-section { font-size: .82rem; color: var(--body-text-color-subdued); margin-top: 2px; }
.rs-dept { display: inline-block; font-size: .8rem; background: #eef2ff; color: #3730a3; border-radius: 4px;
  padding: 0 6px; margin-top: 4px; }
.rs-text { margin: 6px 0 !important; overflow-wrap: anywhere; white-space: pre-wrap; }
mark.rs-hl { background: #fde68a; color: inherit; padding: 0 1px; border-radius: 2px; }
.rs-card details summary, .rs-closest summary { cursor: pointer; font-size: .85rem; color: #0f766e; }
.rs-fields { margin: 4px 0; font-size: .9rem; }
.rs-fields dt { font-weight: 700; font-size: .8rem; color: var(--body-text-color-subdued); margin-top: 4px; }
.rs-fields dd { margin: 0 0 0 .6rem; white-space: pre-wrap; overflow-wrap: anywhere; }
.rs-full { white-space: pre-wrap; overflow-wrap: anywhere; font-size: .9rem; }
.rs-source { font-size: .8rem; color: var(--body-text-color-subdued); margin-top: 4px;
  overflow-wrap: anywhere; }
.rs-score { margin-left: 6px; white-space: nowrap; }
.rs-cp-btn { margin-top: 8px; font-size: .85rem; padding: 3px 10px; border-radius: 6px; cursor: pointer;
  border: 1px solid #0f766e; color: #0f766e; background: transparent; }
.rs-cp-btn:hover { background: #0f766e; color: #fff; }
.rs-cp-panel { margin-top: 18px; padding: 12px 14px; border: 2px solid #0f766e; border-radius: 12px; }
.rs-cp-title { margin: 0 0 6px !important; font-size: 1.1rem; }
.rs-cp-source .rs-card { background: var(--background-fill-secondary); margin-bottom: 12px; }
.rs-heatmap-wrap { overflow-x: auto; }
.rs-heatmap { max-width: 100%; height: auto; }
.rs-heatmap text { font-size: 14px; fill: var(--body-text-color); }
.rs-heatmap .rs-hm-col { font-weight: 700; }
.rs-heatmap .rs-hm-val { font-weight: 700; fill: inherit; }
.rs-heatmap .rs-hm-legend { font-size: 12px; }
.rs-hm-cell { cursor: pointer; }
.rs-hm-cell:hover rect, .rs-hm-cell:focus rect { stroke: #f59e0b; stroke-width: 3; }
.rs-table { border-collapse: collapse; width: 100%; font-size: .9rem; }
.rs-table th, .rs-table td { border-bottom: 1px solid var(--border-color-primary); padding: 6px 8px;
  text-align: left; vertical-align: top; }
.rs-table th { font-weight: 600; color: var(--body-text-color-subdued); white-space: nowrap; }
.rs-table .rs-td-id, .rs-table .rs-td-source { font-family: var(--font-mono); font-size: .8rem;
  overflow-wrap: anywhere; }
.rs-table .rs-td-passages, .rs-table .rs-td-fiscal_year { text-align: right; white-space: nowrap; }
.rs-hits { max-width: 1040px; }
.rs-note { font-size: .85rem; color: var(--body-text-color-subdued); margin-bottom: 4px; }
"""


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
    }


def launch(app: gr.Blocks, settings: Settings, **kwargs):
    """Launch the app with `launch_options(settings)` (keyword arguments override them)."""
    return app.launch(**{**launch_options(settings), **kwargs})


def serve(settings: Settings) -> None:
    """Bring the index up to date (progress on stderr), load one Searcher and serve the UI until stopped."""
    _auth(settings.auth)  # refuse a malformed auth before the slow part
    report = index_all(settings, progress=tqdm_progress())
    state = "built" if report.changed else "up to date"
    print(f"index {state}: {report.documents} documents, {report.passages} passages", file=sys.stderr)
    if settings.host not in ("127.0.0.1", "localhost", "::1") and not settings.auth:
        print(
            f"reform-search: warning: serving on {settings.host} without auth; set --auth user:password",
            file=sys.stderr,
        )
    app = build_app(settings)
    shown = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    print(f"reform-search UI: http://{shown}:{settings.port}/  (Ctrl+C stops it)", file=sys.stderr)
    launch(app, settings, quiet=True)
