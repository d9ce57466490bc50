"""Exports that open in a spreadsheet or a document: CSV (UTF-8 with BOM), Excel (XLSX), Markdown, JSON.

Every row carries its citation in columns of its own: city, document, section, initiative,
department, page, lines, passage id and the document's source URL (a hyperlink in XLSX, where it is
http or https), so any cell can be traced to the report it came from; the city's romaji name comes last
(`city_en`), for a reader of English.
A table is built once as (header, rows) and written as CSV or as a sheet of an XLSX workbook (header
row frozen, text wrapped, columns sized to their content, match labels as ◎ ○ × with their names).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from corpus.passage import Passage
from index.documents import IndexedDocument
from reform_search.output import (
    ABSENT,
    APART,
    ENGLISH_NOTE,
    FEW,
    quoted,
    verdict_line,
    why_none,
)
from reform_search.workbook import inert, xlsx
from search.align import Alignment
from search.compare import Comparison
from search.hit import Results
from search.labels import Match
from search.themes import THEMES_EN, Matrix, themed

FORMATS = ("csv", "xlsx", "md", "json")
BOM = "\ufeff"  # Excel on Japanese Windows reads UTF-8 CSV as Shift_JIS without it
CITATION = (
    "city",
    "document",
    "section",
    "initiative",
    "department",
    "page",
    "lines",
    "passage_id",
    "source_url",
)
CITY_EN = "city_en"  # the city's romaji name: every table's last column (the columns before it stay put)


@dataclass(frozen=True)
class Sources:
    """What an export cites beyond a passage, from the index's documents: where each document was
    published (document id → URL) and each city's romaji name (city → name); "" where unknown."""

    urls: Mapping[str, str] = field(default_factory=dict)
    romaji: Mapping[str, str] = field(default_factory=dict)

    def url(self, doc_id: str) -> str:
        return self.urls.get(doc_id, "")

    def city_en(self, city: str) -> str:
        return self.romaji.get(city, "")


NO_SOURCES = Sources()  # an export without its documents: no URLs, no romaji names


def document_sources(documents: Sequence[IndexedDocument]) -> Sources:
    """The source URLs and the cities' romaji names of an index's documents."""
    return Sources({d.id: d.url for d in documents}, {d.city: d.city_en for d in documents if d.city_en})


def citation(p: Passage | None, sources: Sources = NO_SOURCES) -> dict[str, str]:
    """The citation columns of a passage (empty strings when there is none)."""
    if p is None:
        return dict.fromkeys(CITATION, "")
    lines = p.lines("-")
    return {
        "city": p.city,
        "document": p.document,
        "section": p.section,
        "initiative": p.initiative or "",
        "department": p.department or "",
        "page": str(p.page or ""),
        "lines": lines,
        "passage_id": p.id,
        "source_url": sources.url(p.doc_id),
    }


def one_line(text: str, limit: int | None = None) -> str:
    """A passage's text on one line, whole (a table's cell: it is what a researcher cites), or cut to
    `limit` characters (a Markdown list that is read, not cited from)."""
    flat = " ".join(text.split())
    return flat if limit is None or len(flat) <= limit else flat[: limit - 1] + "…"


def _csv(header: list[str], rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: inert(v) for k, v in row.items()} for row in rows)
    return BOM + buffer.getvalue()


def _md_cell(text: str) -> str:
    """Text as one Markdown table cell or line: | escaped, whitespace on one line, <, >, & as entities,
    and a link's or an image's `](` broken, so that markup in a document or a query is shown as written,
    never run by a Markdown viewer (a passage's ![](https://…) had been an image fetched from anywhere)."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
    escaped = escaped.replace("](", "]\\(")
    return " ".join(escaped.split())


def matrix_table(m: Matrix, sources: Sources = NO_SOURCES) -> tuple[list[str], list[dict]]:
    """(header, rows) of the matrix: one row per theme and city; `few_passages` last ("yes": the city's
    labels are less certain, FEW), so that the columns before it stay where they were."""
    header = ["theme", "match", "matching", *CITATION, "text", "theme_en", CITY_EN, "few_passages"]
    rows = []
    for c in m.cells:
        p = c.best.passage if c.best else None
        rows.append(
            {
                "theme": c.theme,
                "theme_en": THEMES_EN.get(c.theme, ""),  # last: the columns before it stay where they were
                "match": c.match,
                "matching": c.matching,
                **citation(p, sources),
                "text": one_line(p.text) if p else "",
            }
        )
    for row, c in zip(rows, m.cells, strict=True):
        row["city"] = c.city  # the cell's city, also when it has no best passage
        row[CITY_EN] = sources.city_en(c.city)
        row["few_passages"] = "yes" if c.city in m.few else ""
    return header, rows


def matrix_grid(m: Matrix) -> tuple[list[str], list[dict]]:
    """(header, rows) of the matrix as a reader draws it: a row per theme, a column per city, each cell
    its label and the passages that match on their own (「◎ strong (2)」)."""
    header = ["theme", *m.cities]
    rows = []
    for theme in m.themes:
        cells = {city: m.cell(theme, city) for city in m.cities}
        rows.append(
            {"theme": theme} | {c: f"{Match(x.match).label} ({x.matching})" for c, x in cells.items()}
        )
    return header, rows


def matrix_markdown(m: Matrix) -> str:
    """The matrix as a Markdown table (◎ strong, ○ weak, × none, with counts) plus numbered citations."""
    out = [f"| テーマ / theme | {' | '.join(map(_md_cell, m.cities))} |", "|---|" + "---|" * len(m.cities)]
    notes: list[str] = []
    for theme in m.themes:
        cells = []
        for city in m.cities:
            c = m.cell(theme, city)
            ref = ""
            if c.best:
                notes.append(_note(c.best.passage))
                ref = f" [{len(notes)}]"
            cells.append(f"{Match(c.match).mark} {c.match} ({c.matching}){ref}")
        out.append(f"| {_md_cell(themed(theme))} | {' | '.join(cells)} |")
    out += ["", "◎ strong · ○ weak · × none (該当なし); (n) = passages that match on their own.", ""]
    if m.english:
        out += [f"{'、'.join(m.english)}: {' / '.join(ENGLISH_NOTE)}", ""]
    if m.few:
        out += [f"{'、'.join(map(_md_cell, m.few))}: {FEW}", ""]
    out += [f"{n}. {note}" for n, note in enumerate(notes, 1)]
    return "\n".join(out) + "\n"


def _note(p: Passage) -> str:
    """A passage cited in Markdown: city, document, context, page and lines where it has them, id, text."""
    cite = citation(p)
    where = [f"p.{cite['page']}"] if cite["page"] else []
    where += [f"l.{cite['lines']}"] if cite["lines"] else []  # a table within a text has none (its heading)
    # the section path's > as ›: escaped, a plain > reads &gt; in a text editor
    head = _md_cell(p.context.replace(" > ", " › "))
    place = f" {head}" if head else ""
    cited = [", ".join(where)] if where else []
    cited += [f"所管課 / department: {_md_cell(p.department)}"] if p.department else []
    cited.append(f"`{p.id}`")
    text = _md_cell(one_line(p.text, 120))
    return f"{_md_cell(p.city)}{_md_cell(quoted(p.document))}{place} ({'; '.join(cited)}): {text}"


def alignment_table(a: Alignment, sources: Sources = NO_SOURCES) -> tuple[list[str], list[dict]]:
    """(header, rows) of the alignment's pairs."""
    header = [
        "row",
        *_named("source"),
        "source_text",
        "match",
        "z",
        *_named("counterpart"),
        "counterpart_text",
        f"source_{CITY_EN}",
        f"counterpart_{CITY_EN}",
        "absent",
    ]
    rows = []
    for pair in a.pairs:
        other = pair.counterpart.passage if pair.counterpart else None
        row = {"row": "pair"} | _cited("source", pair.source, sources)
        row |= {"source_text": one_line(pair.source.text), "match": pair.match, "z": f"{pair.z:.2f}"}
        row |= _cited("counterpart", other, sources)
        row["counterpart_text"] = one_line(other.text) if other else ""
        rows.append(row | _romaji(sources, pair.source, other) | {"absent": "、".join(pair.absent)})
    # What only B has: no source of A leads to it, so the pairs never name it (the workbook has a sheet)
    for p in a.only_b:
        row = {"row": f"only {a.city_b}"} | _cited("source", p, sources)
        rows.append(row | {"source_text": one_line(p.text), "match": "none"} | _romaji(sources, p, None))
    return header, rows


def _named(prefix: str) -> list[str]:
    """The citation's column names under a prefix: source_city …, source_url (not source_source_url)."""
    return [f"{prefix}_{k.removeprefix('source_')}" for k in CITATION]


def _romaji(sources: Sources, source: Passage, other: Passage | None) -> dict[str, str]:
    """A pair's two cities' romaji names (the counterpart's "" where there is none)."""
    return {
        f"source_{CITY_EN}": sources.city_en(source.city),
        f"counterpart_{CITY_EN}": sources.city_en(other.city) if other else "",
    }


def _cited(prefix: str, p: Passage | None, sources: Sources) -> dict[str, str]:
    """The citation of `p` under `_named(prefix)`'s column names."""
    return dict(zip(_named(prefix), citation(p, sources).values(), strict=True))


def alignment_markdown(a: Alignment) -> str:
    """The alignment as Markdown: pairs, then the initiatives only one city has."""
    city_a, city_b = _md_cell(a.city_a), _md_cell(a.city_b)
    out = [f"# {city_a} ↔ {city_b}", "", f"| {city_a} | | {city_b} |", "|---|---|---|"]
    for pair in a.pairs:
        left = f"{_md_cell(one_line(pair.source.text, 80))} `{pair.source.id}`"
        right = (
            f"{_md_cell(one_line(pair.counterpart.passage.text, 80))} `{pair.counterpart.passage.id}`"
            if pair.counterpart
            else "該当なし"
        )
        named = pair.absent if pair.counterpart else ()  # a ○ is read with the words the other city lacks
        absent = f" ({ABSENT}: {_md_cell('、'.join(named))})" if named else ""
        out.append(f"| {left} | {Match(pair.match).mark} {pair.match} | {right}{absent} |")
    if a.few:
        out += ["", f"{'、'.join(map(_md_cell, a.few))}: {FEW}"]
    for city, only in ((a.city_a, a.only_a), (a.city_b, a.only_b)):
        out += ["", f"## {_md_cell(city)} のみ / only in {_md_cell(city)} ({len(only)})", ""]
        out += [f"- {_md_cell(one_line(p.text, 100))} `{p.id}`" for p in only] or ["- (none)"]
    return "\n".join(out) + "\n"


def alignment_json(a: Alignment) -> str:
    """The alignment as JSON."""
    obj = {
        "city_a": a.city_a,
        "city_b": a.city_b,
        "pairs": [
            {
                "source": pair.source.to_dict(),
                "match": pair.match,
                "z": round(pair.z, 2),
                "counterpart": pair.counterpart.to_dict() if pair.counterpart else None,
                "absent": list(pair.absent),
            }
            for pair in a.pairs
        ],
        "only_a": [p.id for p in a.only_a],
        "only_b": [p.id for p in a.only_b],
        "few_passages": list(a.few),
    }
    return json.dumps(obj, ensure_ascii=False, indent=1) + "\n"


def comparison_table(c: Comparison, sources: Sources = NO_SOURCES) -> tuple[list[str], list[dict]]:
    """(header, rows) of the comparison: one row per city and shown passage."""
    header = [
        "query",
        "match",
        "matching",
        "absent",
        "apart",
        "few_passages",
        "english_query",
        "rank",
        "passage_match",
        *CITATION,
        "text",
        CITY_EN,
    ]
    rows = []
    for col in c.columns:
        absent = "、".join(col.evidence.absent)  # the query's nouns the city never writes
        head = {"query": c.query, "match": str(col.match), "matching": col.matching, "absent": absent}
        head["apart"] = "、".join(col.evidence.apart)  # compounds it writes only apart (under × or ○)
        head["few_passages"] = "yes" if col.evidence.few else ""  # its label is less certain (FEW)
        head["english_query"] = "yes" if c.english else ""  # so are an English question's (ENGLISH_NOTE)
        romaji = sources.city_en(col.city)
        # a counted passage's label; a shown passage that does not count has none, as on screen
        marks = [str(m) if m != Match.NONE else "" for m in col.hit_matches or ("",) * len(col.hits)]
        shown = [(hit.rank, mark, hit.passage) for hit, mark in zip(col.hits, marks, strict=True)]
        for rank, mark, passage in shown or [("", "", None)]:
            cite = citation(passage, sources) | {"city": col.city}
            text = one_line(passage.text) if passage else ""
            rows.append(head | {"rank": rank, "passage_match": mark} | cite | {"text": text, CITY_EN: romaji})
    return header, rows


def comparison_markdown(c: Comparison) -> str:
    """The comparison city by city: the label and count, then the shown passages with their citations."""
    out = [f"# {_md_cell(quoted(c.query))}の比較 / comparison", ""]
    if c.english:
        out += [" / ".join(ENGLISH_NOTE), ""]
    if c.content and len(c.columns) > 2:
        out += [_md_cell(verdict_line(c.columns)), ""]
    for col in c.columns:
        match = Match(col.match)
        count = f" — {col.matching} 件が該当 / matching" if match != Match.NONE else ""
        out += [f"## {_md_cell(col.city)}: {match.label}{count}", ""]
        if col.evidence.absent:
            out += [f"{ABSENT}: {_md_cell('、'.join(col.evidence.absent))}", ""]
        if col.evidence.apart:
            out += [f"{APART}: {_md_cell('、'.join(col.evidence.apart))}", ""]
        if col.evidence.few:
            out += [FEW, ""]
        if why := why_none(col, c.english):
            out += [why, ""]
        if match == Match.NONE and col.hits:
            out += ["該当なし — closest passages, not a match:", ""]
        marks = col.hit_matches or (Match.NONE,) * len(col.hits)
        out += [
            f"{hit.rank}. {Match(m).mark + ' ' if m != Match.NONE else ''}{_note(hit.passage)}"
            for hit, m in zip(col.hits, marks, strict=True)
        ]
        out.append("")
    return "\n".join(out)


def results_table(r: Results, sources: Sources = NO_SOURCES) -> tuple[list[str], list[dict]]:
    """(header, rows) of a search: one row per hit, best first, with its ranking score and citation."""
    header = ["query", "rank", "score", *CITATION, "text", CITY_EN]
    rows = [
        {"query": r.query, "rank": h.rank, "score": round(h.score, 4)}
        | citation(h.passage, sources)
        | {"text": one_line(h.passage.text), CITY_EN: sources.city_en(h.passage.city)}
        for h in r.hits
    ]
    return header, rows


def results_markdown(r: Results) -> str:
    """A search's hits, best first, each with its citation (or why there are none)."""
    out = [f"# {_md_cell(quoted(r.query))}の検索結果 / search results", ""]
    if not r.hits:
        said = (
            "内容を表す語がありません / no content word" if not r.content else "該当なし / no passages match"
        )
        out += [said, ""]
    out += [f"{h.rank}. {_note(h.passage)}" for h in r.hits]
    return "\n".join(out) + "\n"


def _render(result, fmt: str, table, sheet: str, markdown, sources: Sources) -> str | bytes:
    """A one-table result (`table(result, sources)` gives its header and rows) in one of FORMATS."""
    write = {
        "csv": lambda: _csv(*table(result, sources)),
        "xlsx": lambda: xlsx([(sheet, *table(result, sources))]),
        "md": lambda: markdown(result),
        "json": lambda: json.dumps(result.to_dict(), ensure_ascii=False, indent=1) + "\n",
    }
    return write[_check(fmt)]()


def render_comparison(c: Comparison, fmt: str, sources: Sources = NO_SOURCES) -> str | bytes:
    """The comparison in one of FORMATS (XLSX as bytes); `sources` gives the source URL column."""
    return _render(c, fmt, comparison_table, "比較 compare", comparison_markdown, sources)


def render_results(r: Results, fmt: str, sources: Sources = NO_SOURCES) -> str | bytes:
    """A search's hits in one of FORMATS (XLSX as bytes); `sources` gives the source URL column."""
    return _render(r, fmt, results_table, "検索 search", results_markdown, sources)


def render_matrix(m: Matrix, fmt: str, sources: Sources = NO_SOURCES) -> str | bytes:
    """The matrix in one of FORMATS (XLSX as bytes: the theme × city grid, then one row per theme and
    city with its best passage's citation, as CSV has it); `sources` gives the source URL column."""
    if _check(fmt) == "xlsx":
        return xlsx([("表 matrix", *matrix_grid(m)), ("テーマ themes", *matrix_table(m, sources))])
    return _render(m, fmt, matrix_table, "テーマ themes", matrix_markdown, sources)


def render_alignment(a: Alignment, fmt: str, sources: Sources = NO_SOURCES) -> str | bytes:
    """The alignment in one of FORMATS (XLSX as bytes: the pairs, then what only one city has)."""
    return {
        "csv": lambda: _csv(*alignment_table(a, sources)),
        "xlsx": lambda: alignment_xlsx(a, sources),
        "md": lambda: alignment_markdown(a),
        "json": lambda: alignment_json(a),
    }[_check(fmt)]()


def alignment_xlsx(a: Alignment, sources: Sources = NO_SOURCES) -> bytes:
    """The pairs on one sheet, the initiatives only A or only B has on one sheet each."""
    only = [
        (
            f"{city}のみ only"[:31],
            [*CITATION, "text", CITY_EN],
            [citation(p, sources) | {"text": one_line(p.text), CITY_EN: sources.city_en(p.city)} for p in ps],
        )
        for city, ps in ((a.city_a, a.only_a), (a.city_b, a.only_b))
    ]
    return xlsx([("対応 pairs", *alignment_table(a, sources)), *only])


def _check(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    return fmt
