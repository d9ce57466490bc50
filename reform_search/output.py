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
