"""Readable terminal output: hits with their citation and the matched terms highlighted."""

from __future__ import annotations

import sys
import textwrap

from search.hit import Hit

SNIPPET_CHARS = 240


def highlight(text: str, terms: tuple[str, ...], tty: bool) -> str:
    """Mark the matched terms: bold on a terminal, 【】 when piped."""
    for term in sorted(set(terms), key=len, reverse=True):
        text = text.replace(term, f"\x1b[1;33m{term}\x1b[0m" if tty else f"【{term}】")
    return text


def snippet(text: str, terms: tuple[str, ...], limit: int = SNIPPET_CHARS) -> str:
    """A window of the passage around its first matched term, on one line."""
    flat = " ".join(text.split())
    first = min((flat.find(t) for t in terms if t in flat), default=0)
    start = max(0, first - limit // 4)
    piece = flat[start : start + limit]
    return ("…" if start else "") + piece + ("…" if start + limit < len(flat) else "")


def citation(hit: Hit) -> str:
    """City, document, year, page and lines of a hit."""
    p = hit.passage
    where = []
    if p.page:
        where.append(f"p.{p.page}")
    if p.line_start:
        where.append(f"l.{p.line_start}–{p.line_end}")
    year = f" ({p.fiscal_year})" if p.fiscal_year else ""
    return f"{p.city} · {p.document}{year} · {' '.join(where)}"


def print_hits(query: str, hits: list[Hit], out=None) -> None:
    """Print ranked hits for people: rank, score, citation, context and a highlighted snippet."""
    out = out or sys.stdout
    tty = out.isatty()
    if not hits:
        print(f"no passages match {query!r}", file=out)
        return
    for h in hits:
        p = h.passage
        print(f"{h.rank:>2}. [{h.score:.4f}] {citation(h)}", file=out)
        context = " > ".join(x for x in (p.section, p.initiative) if x)
        if p.department:
            context += f"  〔{p.department}〕"
        if context:
            print(f"    {context}", file=out)
        body = highlight(snippet(p.text, h.matched), h.matched, tty)
        print(textwrap.indent(body, "    "), file=out)
        print(file=out)


MATCH_LABELS = {"strong": "◎ 該当あり strong", "weak": "○ 関連あり weak", "none": "× 該当なし none"}


def print_columns(title: str, columns, source: Hit | None = None, out=None) -> None:
    """Print a comparison city by city: the match label, then the city's best passages."""
    out = out or sys.stdout
    tty = out.isatty()
    print(f"== {title}", file=out)
    if source is not None:
        print(f"   {citation(source)}", file=out)
        print(textwrap.indent(snippet(source.passage.text, ()), "   "), file=out)
    for column in columns:
        print(f"\n## {column.city}  {MATCH_LABELS[column.match]}  (z={column.evidence.z:.1f})", file=out)
        if column.match == "none":
            print("   該当なし — no passage of this city matches; closest:", file=out)
        for h in column.hits:
            p = h.passage
            context = " > ".join(x for x in (p.section, p.initiative) if x)
            print(f"  {h.rank}. [{h.score:.4f}] {p.id}  {context}", file=out)
            body = highlight(snippet(p.text, h.matched, 160), h.matched, tty)
            print(textwrap.indent(body, "     "), file=out)
