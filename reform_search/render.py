"""HTML of the web UI's views: Hits, Columns, Comparisons and a matrix's cells as safe HTML fragments.

Pure functions of library results. Every piece of document text (and every value that can come from a
user: queries, cities, file names) is escaped before it is inserted; the only markup is the builders' own.

    card / column               one passage; one city's column with its match badge
    comparison_html             a comparison: one column per city, side by side
    counterparts_html           a passage and its counterparts in the other cities
    hits_html                   search results
    cell_html                   the passages of one theme × city cell (the matrix: heatmap.py)
    documents_html, status_html the indexed documents; what is loaded

About 520 lines: every HTML fragment of the app but the heatmap's SVG in one module, so that escaping is
done (and reviewed) in one place.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence

from corpus.columns import column_role
from corpus.document import kind_name
from corpus.normalize import has_japanese
from index.documents import IndexedDocument
from reform_search.output import (
    ABSENT,
    APART,
    EMPTY_WORDS,
    ENGLISH_NOTE,
    FEW,
    quoted,
    snippet,
    why_none,
)
from search.compare import COLUMN_TOP_K, Column, Comparison
from search.counterparts import Counterparts
from search.engine import Searcher
from search.hit import Hit, Results, spans
from search.labels import Match
from search.themes import Matrix, themed

EXCERPT_CHARS = 180


def esc(value: object) -> str:
    """Text (or None) as HTML text or attribute value: &, <, >, " and ' escaped."""
    return html.escape("" if value is None else str(value), quote=True)


_MARKDOWN = re.compile(r"([\\`*_\[\]()!|~])")  # what Markdown reads as emphasis, code, a link or an image


def md(value: object) -> str:
    """Text (or None) inside Markdown, shown as written: HTML escaped (`esc`) and every ASCII mark that
    Markdown reads backslashed, so a document's title 「![t](http://…)」 is no image fetched from anywhere."""
    return _MARKDOWN.sub(r"\\\1", html.escape("" if value is None else str(value), quote=False))


def highlight(text: str, terms: Sequence[str], fields: Sequence[str] = ()) -> str:
    """Escaped text with each occurrence of the matched terms wrapped in <mark> (longest term first),
    none in the passage's field labels (`fields`: its column names; search/hit.py spans)."""
    return "".join(
        f'<mark class="rs-hl">{esc(piece)}</mark>' if marked else esc(piece)
        for piece, marked in spans(text, terms, fields)
    )


# What each label says of a city, in both languages: a badge's tooltip, and the legend over a comparison
MEANING = {
    Match.STRONG: "資料がこの問いに答えています / this city's documents answer the query",
    Match.WEAK: "関連する記述があります。本文を確認してください / related: read the passage",
    Match.NONE: "該当する取組は見つかりませんでした / nothing on it in this city's documents",
}
# A passage's mark: it is one of those "N 件が該当" counts
COUNTED = "「N 件が該当」に数えた箇所 / one of the passages counted as matching"


def legend() -> str:
    """What the labels and the marks on cards mean, folded under the verdicts (the README had been the
    only place that said ○ means "related: read the passage")."""
    items = "".join(f'<div class="rs-legend-item">{badge(m)} {esc(MEANING[m])}</div>' for m in Match)
    items += (
        f'<div class="rs-legend-item"><span class="rs-hit-match">{marked(Match.STRONG)}</span> '
        f"{esc(COUNTED)}</div>"
    )
    return f'<details class="rs-legend"><summary>記号の意味 / what the marks mean</summary>{items}</details>'


def badge(match: str) -> str:
    """The match label: ◎ 該当あり strong, ○ 関連あり weak, × 該当なし none (a screen reader reads the
    names, not "bullseye" or "multiplication sign"); what it means as its tooltip."""
    m = Match(match)
    return f'<span class="rs-badge rs-badge-{esc(match)}" title="{esc(MEANING[m])}">{marked(m)}</span>'


def marked(match: Match) -> str:
    """A label's mark, hidden from screen readers, then its Japanese and English names."""
    hidden = f'<span aria-hidden="true">{match.mark}</span>'
    return f'{hidden} {match.ja} <span class="rs-en" lang="en">{match.value}</span>'


QUERY_SHOWN = 80  # characters of a query a heading names; the rest is "…"


def named_query(query: str) -> str:
    """The query as a heading names it: quoted, cut to QUERY_SHOWN characters (a pasted page of text had
    filled the screen above its results)."""
    return quoted(query if len(query) <= QUERY_SHOWN else query[:QUERY_SHOWN] + "…")


def source_line(hit: Hit, score: bool = True) -> str:
    """Where a passage comes from: document, fiscal year, page, lines; and its score."""
    p = hit.passage
    where = [esc(quoted(p.document))]
    if p.fiscal_year:
        where.append(f"{p.fiscal_year}年度")
    if p.page:
        where.append(f"p.{p.page}")
    if p.line_start:
        where.append(f"{p.lines()}行 / lines")
    tail = f' <span class="rs-score">score {hit.score:.4f}</span>' if score else ""
    return f'<div class="rs-source">出典 / source: {" · ".join(where)}{tail}</div>'


def section_label(section: str) -> str:
    """A section path for display: ⑴…⒇ as (1)…(20), which every Japanese font can draw."""
    return re.sub("[\u2474-\u2487]", lambda m: unicodedata.normalize("NFKC", m.group()), section)


# A table row's labels in English, by the role their header names (corpus/columns.py), for a reader who
# reads no Japanese: the labels are the report's own (R6取組状況, 今後の課題・方向性)
ROLE_EN = {
    "item": "reform item",
    "initiative": "initiative",
    "content": "what it is",
    "department": "department",
    "status": "progress",
    "direction": "issues and next steps",
}


def _label(label: str) -> str:
    en = ROLE_EN.get(column_role(label) or "")
    return esc(label) + (f' <span class="rs-en" lang="en">/ {en}</span>' if en else "")


def _full_text(hit: Hit) -> str:
    p = hit.passage
    if p.fields:  # a table row: its fields under their labels
        rows = "".join(
            f"<dt>{_label(label)}</dt><dd>{highlight(value, hit.matched)}</dd>" for label, value in p.fields
        )
        return f'<dl class="rs-fields">{rows}</dl>'
    return f'<div class="rs-full">{highlight(p.text, hit.matched, p.field_names)}</div>'


def card(
    hit: Hit,
    *,
    with_city: bool = False,
    action: bool = True,
    score: bool = True,
    match: str | None = None,
    city_en: str = "",
) -> str:
    """One passage as a card: title, section, 所管課, highlighted excerpt (full text on demand), source;
    `with_city`: its city's name first (with `city_en`, its romaji)."""
    p = hit.passage
    title = p.initiative or (p.section.split(" > ")[-1] if p.section else "")
    excerpt = snippet(p.text, hit.matched, EXCERPT_CHARS)
    text = f'<p class="rs-text">{highlight(excerpt, hit.matched, p.field_names)}</p>'
    head = [f'<span class="rs-rank">{hit.rank}</span>'] if hit.rank else []
    if match is not None and match != Match.NONE:  # one of the passages counted as 該当 in its column
        head.append(
            f'<span class="rs-hit-match" data-match="{esc(match)}" title="{esc(COUNTED)}">'
            f"{marked(Match(match))}</span>"
        )
    if with_city:
        en = f' <span class="rs-en" lang="en">{esc(city_en)}</span>' if city_en else ""
        head.append(f'<span class="rs-city-chip">{esc(p.city)}{en}</span>')
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
        named = f"{p.city}{quoted(title or snippet(p.text, (), 30))}"  # one button of many: say whose
        parts.append(
            f'<button type="button" class="rs-cp-btn" data-passage="{esc(p.id)}" '
            f'aria-label="{esc(named)}の他市の類似取組 / counterparts">'
            '他市の類似取組 / counterparts <span aria-hidden="true">→</span></button>'
        )
    return f'<article class="rs-card" data-passage-id="{esc(p.id)}">{"".join(parts)}</article>'


# What a × column says; an English question's 該当なし is less sure (its words meet the reports' through
# their glosses), and says so
NONE_SAID = (
    '<p class="rs-none">該当なし — この市の資料に該当する取組は見つかりませんでした。'
    '<br><span class="rs-en" lang="en">No matching initiative in this city\'s documents.</span></p>'
)
NONE_ENGLISH = (
    '<p class="rs-none">該当なし — 英語の質問では該当する取組が見つかりませんでした'
    "（日本語でもお試しください）。"
    '<br><span class="rs-en" lang="en">No matching initiative found for this English question; '
    "the reports are in Japanese, so try it in Japanese too.</span></p>"
)


def column(
    col: Column,
    city_en: str = "",
    *,
    action: bool = True,
    fold: int | None = None,
    anchor: str = "",
    english: bool = False,
) -> str:
    """One city's column: name, match badge, then its best passages (or 該当なし, plainly); with `fold`,
    the passages after the first `fold` wait behind 「さらに N 件 / N more」. No raw scores: a column is
    in reading order (counted passages first: search/compare.py), not in score order, and the routes of
    counterparts score on different scales; the rank and the ◎ 該当 mark say what a score would. An
    English question's 該当なし is less sure (its words meet the reports' through their glosses), and
    says so."""
    en = f' <span class="rs-city-en" lang="en">{esc(city_en)}</span>' if city_en else ""
    count = f"{col.matching} 件が該当 / matching" if col.match != "none" else ""
    if count and col.matching > len(col.hits):  # the count is the city's, the cards are its best few
        count += f" · 上位 {len(col.hits)} 件を表示 / top {len(col.hits)} shown"
    head = (
        f'<header class="rs-col-head"><h3 class="rs-city">{esc(col.city)}{en}</h3>{badge(col.match)}'
        f'<span class="rs-meta">{count}</span></header>'
    )
    if col.evidence.absent:
        head += f'<p class="rs-absent">{ABSENT}: {esc("、".join(col.evidence.absent))}</p>'
    if col.evidence.apart:
        head += f'<p class="rs-absent rs-apart">{APART}: {esc("、".join(col.evidence.apart))}</p>'
    if col.evidence.few:
        head += f'<p class="rs-absent rs-few">{esc(FEW)}</p>'
    if why := why_none(col, english):
        head += f'<p class="rs-absent rs-held">{esc(why)}</p>'
    labels = col.hit_matches or (None,) * len(col.hits)
    shown = [card(h, action=action, score=False, match=m) for h, m in zip(col.hits, labels, strict=True)]
    cards = "".join(shown[:fold])
    if fold is not None and len(shown) > fold:
        more = len(shown) - fold
        cards += (
            f'<details class="rs-more"><summary>さらに {more} 件を表示 / {more} more</summary>'
            f"{''.join(shown[fold:])}</details>"
        )
    if col.match == "none":
        body = NONE_ENGLISH if english else NONE_SAID
        if cards:  # an English question's too: its 該当なし is the less sure
            body += (
                f'<details class="rs-closest"><summary>参考: 最も近い箇所 / closest passages '
                f"(not a match)</summary>{cards}</details>"
            )
    else:
        body = cards or '<p class="rs-none">—</p>'
    at = f' id="{esc(anchor)}"' if anchor else ""
    focusable = ' tabindex="-1"' if anchor else ""  # a verdict link moves the focus here, not to <body>
    return (
        f'<section class="rs-col rs-col-{esc(col.match)}"{at} data-city="{esc(col.city)}"{focusable}>'
        f"{head}{body}</section>"
    )


def comparison_html(result: Comparison, city_en: dict[str, str] | None = None) -> str:
    """The comparison: one column per city, side by side (a CSS grid that stacks on narrow screens)."""
    city_en = city_en or {}
    cols = "".join(
        column(c, city_en.get(c.city, ""), anchor=f"rs-verdict-{n}", english=result.english)
        for n, c in enumerate(result.columns)
    )
    why = (
        ""
        if result.content
        else '<p class="rs-why" role="note">検索語に内容を表す語がないため、どの市にも該当しません'
        f'（{EMPTY_WORDS[0]} だけでは検索できません）。<br><span class="rs-en" lang="en">'
        f"The query has no content word ({EMPTY_WORDS[1]} alone), so no city matches.</span></p>"
    )
    if result.english:
        ja, en = (esc(t) for t in ENGLISH_NOTE)
        why = f'<p class="rs-why" role="note">{ja}<br><span class="rs-en" lang="en">{en}</span></p>'
        if words := japanese_words(result):  # each a button: it compares that word (ui.js), none typed
            tried = "".join(
                f'<button type="button" class="rs-try-word" lang="ja" data-try="{esc(w)}">{esc(w)}</button>'
                for w in words
            )
            why += f'<p class="rs-why rs-try">日本語で試す / try in Japanese: {tried}</p>'
    return (
        f'<div class="rs-result" data-query="{esc(result.query)}">'
        f'<h2 class="rs-query" tabindex="-1">{esc(named_query(result.query))}の比較 / comparison</h2>{why}'
        f"{verdicts(result, city_en) + legend() if result.content else ''}"
        f"{grid(cols, len(result.columns))}</div>"
    )


MANY_CITIES = 3  # more columns than this lie in one row that scrolls sideways (a phone stacks them)


def grid(cols: str, n: int) -> str:
    """The columns side by side. Up to MANY_CITIES they share the width; more lie in one row that
    scrolls sideways: wrapped to a second row, a 4th city's column had begun under the longest of the
    first three, some 1,500 px down, beside empty space."""
    if n <= MANY_CITIES:
        return f'<div class="rs-grid">{cols}</div>'
    note = f"{n} 市町村: 横にスクロールできます / {n} cities: scroll sideways"
    region = f'role="region" aria-label="{n} 市町村の比較 / {n} cities" tabindex="0"'
    return f'<p class="rs-many-note">{note}</p><div class="rs-grid rs-many" {region}>{cols}</div>'


def verdicts(
    result: Comparison | Counterparts, city_en: dict[str, str] | None = None, to: str = "rs-verdict"
) -> str:
    """Every city's label in one line above the columns, each a link to its column (whose id is `to`-n):
    on a phone the columns stack, and the second city's verdict would be a screen or two below the
    first. A city's romaji name follows its own, as in its column's heading."""
    if len(result.columns) < 2:
        return ""
    city_en = city_en or {}
    en = {
        c.city: f' <span class="rs-city-en" lang="en">{esc(city_en[c.city])}</span>'
        if city_en.get(c.city)
        else ""
        for c in result.columns
    }
    links = "".join(
        f'<a class="rs-verdict" href="#{to}-{n}" data-city="{esc(c.city)}">'
        f'<span class="rs-verdict-city">{esc(c.city)}{en[c.city]}</span>{badge(c.match)}</a>'
        for n, c in enumerate(result.columns)
    )
    return f'<nav class="rs-verdicts" aria-label="各市の判定 / verdicts">{links}</nav>'


# How the counterparts were sought (search/counterparts.py): said under the source, in both languages.
CP_HOW = {
    "query": "短い項目のため、本文をそのまま検索語として各市を比較しました / "
    "a short item: its text was searched in each city like a typed query",
    "content": "取組名と内容欄を検索語として各市を比較しました / "
    "the initiative and its stated content were searched in each city like a typed query",
    "profile": "取組の内容・状況・課題の各欄をあわせて比較しました / "
    "compared by the row as a whole and by each of its fields",
    # a passage without fields (a paragraph, a brochure page) has no fields to compare by
    "whole": "本文全体の意味で各市を比較しました / compared by the meaning of the passage as a whole",
}


def how_sought(result: Counterparts) -> str:
    """How the counterparts of `result` were sought, in both languages (CP_HOW)."""
    by = "whole" if result.by == "profile" and not result.source.fields else result.by
    return CP_HOW.get(by, "")


def counterparts_html(result: Counterparts, city_en: dict[str, str] | None = None) -> str:
    """A passage and its counterparts in the other cities, one column per city."""
    city_en = city_en or {}
    src = result.source
    name = src.initiative or snippet(src.text, (), 40)
    cols = "".join(
        column(c, city_en.get(c.city, ""), action=False, fold=COLUMN_TOP_K, anchor=f"rs-cp-verdict-{n}")
        for n, c in enumerate(result.columns)
    )
    if not cols:
        cols = '<p class="rs-none">他の市の資料がありません / no other city is indexed.</p>'
    how = how_sought(result)
    return (
        f'<div class="rs-cp-panel" data-source="{esc(src.id)}" data-by="{esc(result.by)}">'
        f'<h2 class="rs-cp-title" tabindex="-1">'  # over its cities' h3 headings
        f"他市の類似取組 / counterparts: {esc(src.city)}{esc(quoted(name))}</h2>"
        f'<div class="rs-cp-source">{card(Hit(src, 0, 0.0), action=False, score=False)}</div>'
        + (f'<p class="rs-cp-how">{esc(how)}</p>' if how else "")
        + verdicts(result, city_en, "rs-cp-verdict")
        + grid(cols, len(result.columns))
        # back to the card it was asked from (ui.js): on a phone the panel opens thousands of pixels below
        + f'<button type="button" class="rs-cp-back" data-source="{esc(src.id)}">'
        "↑ 元の箇所へ戻る / back to the passage</button></div>"
    )


TRY_WORDS = 5  # Japanese words an English question's comparison offers to try


def japanese_words(result: Comparison) -> list[str]:
    """The Japanese words the shown passages matched an English question by (through their glosses),
    first seen first: the reports' own words for what was asked, for a reader who cannot write them
    (「try it in Japanese too」 had offered none)."""
    seen = [
        w for col in result.columns for h in col.hits for w in h.matched if has_japanese(w) and len(w) > 1
    ]
    return list(dict.fromkeys(seen))[:TRY_WORDS]


def hits_html(results: Results, city_en: dict[str, str] | None = None) -> str:
    """Search results as a list of cards with the city (and its romaji name) on each."""
    city_en = city_en or {}
    query, hits = results.query, results.hits
    if not results.content:
        return (
            f'<p class="rs-why" role="note">{esc(named_query(query))}には内容を表す語がないため、'
            f"該当する箇所はありません（{EMPTY_WORDS[0]} だけでは検索できません）。<br>"
            f'<span class="rs-en" lang="en">The query has no content word ({EMPTY_WORDS[1]} alone), so no '
            "passage is found.</span></p>"
        )
    if not hits:
        named = esc(named_query(query))
        return f'<p class="rs-none">{named}に該当する箇所はありません / no passages match.</p>'
    # Ranks only: the three modes score on different scales (fused, cosine, BM25), so a raw score
    # would mean something else in each.
    cards = "".join(
        card(h, with_city=True, score=False, city_en=city_en.get(h.passage.city, "")) for h in hits
    )
    head = (
        f'<h2 class="rs-query" tabindex="-1">{esc(named_query(query))}: {len(hits)} 件 / hits '
        "(順位順 / by rank)</h2>"
    )
    return f'<div class="rs-hits">{head}{cards}</div>'


def english_note(themes: Sequence[str]) -> str:
    """Above a matrix with themes asked in English: their labels are less certain (as compare says)."""
    if not themes:
        return ""
    ja, en = (esc(t) for t in ENGLISH_NOTE)
    named = "、".join(esc(quoted(t)) for t in themes)
    return f'<p class="rs-why" role="note">{named}：{ja}<br><span class="rs-en" lang="en">{en}</span></p>'


def matrix_notes(m: Matrix) -> str:
    """Above a matrix: a heading for screen readers (what it holds, said when it is built), which themes
    were asked in English (less certain), and which have no content word (× everywhere, and why: a line
    of 「の」 or 「12345」 had been a silent row of ×)."""
    n, k = len(m.themes), len(m.cities)
    size = f"{n} テーマ・{k} 市町村 / {n} theme{'s' * (n != 1)} by {k} cit{'ies' if k != 1 else 'y'}"
    head = f'<h2 class="rs-query rs-sr" tabindex="-1">表を作成しました / matrix built: {size}</h2>'
    if m.few:  # as a comparison says it under the city: its ◎ and ○ are less certain
        head += f'<p class="rs-absent rs-few">{esc("、".join(m.few))}: {esc(FEW)}</p>'
    if not m.empty:
        return head + english_note(m.english)
    named = "、".join(esc(quoted(t)) for t in m.empty)
    return (
        head
        + english_note(m.english)
        + (
            f'<p class="rs-why" role="note">{named}：内容を表す語がないため、どの市にも該当しません。<br>'
            f'<span class="rs-en" lang="en">No content word ({EMPTY_WORDS[1]} alone): no '
            "city matches.</span></p>"
        )
    )


def cell_html(theme: str, col: Column, city_en: str = "", english: bool = False) -> str:
    """The passages behind one theme × city cell (a theme asked in English says its label is less sure,
    as the comparison does)."""
    en = f" ({esc(city_en)})" if city_en else ""
    note = english_note([theme]) if english else ""
    return (
        '<div class="rs-cell-panel"><h2 class="rs-query" tabindex="-1">'
        f"テーマ / theme{esc(quoted(themed(theme)))} · "
        f"市町村 / city {esc(col.city)}{en}</h2>"
        f"{note}{column(col, city_en, action=False, english=english)}</div>"
    )


def status_html(searcher: Searcher) -> str:
    """One line about what is loaded."""
    docs = searcher.index.documents
    return (
        f'<div class="rs-status">{len(searcher.cities)} 市町村 / cities · {len(docs)} 資料 / documents · '
        f"{len(searcher.passages)} 箇所 / passages</div>"
    )


# Over a box wider than the screen (the heatmap's cells, the documents table on a phone), shown only while
# it overflows (ui.css .rs-scroll-hint, ui.js `cue`); for the eye alone: a screen reader reads every cell
SCROLL_HINT = (
    '<p class="rs-scroll-hint" aria-hidden="true">横にスクロールできます '
    '<span lang="en">/ scroll sideways</span></p>'
)
DOC_COLUMNS = (
    ("city", "市町村 / city"),
    ("title", "資料 / title"),
    ("fiscal_year", "年度 / FY"),
    ("kind", "種類 / kind"),
    ("passages", "箇所 / passages"),
    ("source", "ファイル / source"),
    ("id", "ID"),
)


def _doc_cell(d: IndexedDocument, key: str) -> str:
    """One cell of the documents table, as HTML: a known kind by its name in both languages, a city with
    its romaji name under it (a phone's narrow column has room for no more)."""
    value = getattr(d, key) or ""
    if key == "city" and d.city_en:
        return f'{esc(value)}<br><span class="rs-city-en" lang="en">{esc(d.city_en)}</span>'
    return esc(kind_name(value) if key == "kind" else value)


def documents_html(documents: Sequence[IndexedDocument]) -> str:
    """The indexed documents as a table (every value escaped)."""
    if not documents:
        return '<p class="rs-none">索引に資料がありません / no documents are indexed.</p>'
    head = "".join(f'<th class="rs-th-{k}">{esc(label)}</th>' for k, label in DOC_COLUMNS)
    rows = "".join(
        "<tr>" + "".join(f'<td class="rs-td-{k}">{_doc_cell(d, k)}</td>' for k, _ in DOC_COLUMNS) + "</tr>"
        for d in documents
    )
    table = f'<table class="rs-table"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
    return f'<div class="rs-table-wrap">{SCROLL_HINT}{table}</div>'
