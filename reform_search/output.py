"""Readable terminal output: hits with their citation and the matched terms highlighted."""

from __future__ import annotations

import json
import math
import re
import shlex
import statistics
import sys
import textwrap

from corpus.passage import Passage
from search.hit import Hit, Results, spans
from search.labels import Match

SNIPPET_CHARS = 240


# between names given in one value: `--city 会津若松市,いわき市`, or cities="会津若松市、いわき市" in the API
NAME_SEPARATORS = re.compile("[,、，､]")


def split_names(values: list[str]) -> list[str]:
    """Names given one per value or several to a value, blanks dropped."""
    return [n.strip() for value in values for n in NAME_SEPARATORS.split(value) if n.strip()]


def quoted(title: str) -> str:
    """A document's title in quotes: 「…」, or 『…』 when it quotes with 「」 itself (「「行財政改革～…」に
    おける…」 had read as doubled brackets)."""
    return f"『{title}』" if "「" in title else f"「{title}」"


def verdict_line(columns) -> str:
    """Every city's mark in one line (「会津若松市 ◎ · いわき市 × · …」): with many cities, the columns
    below run over several screens."""
    return " · ".join(f"{c.city} {Match(c.match).mark}" for c in columns)


def highlight(text: str, terms: tuple[str, ...], tty: bool, fields: tuple[str, ...] = ()) -> str:
    """Mark the matched terms: bold on a terminal, 【】 when piped; none in a row's field labels."""
    mark = (lambda t: f"\x1b[1;33m{t}\x1b[0m") if tty else (lambda t: f"【{t}】")
    return "".join(mark(piece) if marked else piece for piece, marked in spans(text, terms, fields))


def snippet(text: str, terms: tuple[str, ...], limit: int = SNIPPET_CHARS) -> str:
    """A window of the passage, on one line, that shows the most of its marks (search/hit.py `spans`: the
    matched terms where they are whole words): of the windows opening a little before a mark, the one
    holding the most distinct marked words (then the most of their characters, then the first); the
    passage's opening when nothing is marked. A term written only inside another word (可 of 可能) draws
    no window: it would show nothing marked."""
    flat = " ".join(text.split())
    marks, at = [], 0
    for piece, marked in spans(flat, terms):
        if marked:
            marks.append((at, piece))
        at += len(piece)
    starts = {max(0, at - limit // 4) for at, _ in marks} or {0}

    def shown(start: int) -> tuple[int, int, int]:
        held = {piece for at, piece in marks if start <= at and at + len(piece) <= start + limit}
        return len(held), sum(map(len, held)), -start

    start = max(starts, key=shown)
    piece = flat[start : start + limit]
    return ("…" if start else "") + piece + ("…" if start + limit < len(flat) else "")


def source_text(hit: Hit) -> str:
    """City, document, year, page and lines of a hit."""
    p = hit.passage
    where = []
    if p.page:
        where.append(f"p.{p.page}")
    if p.line_start:
        where.append(f"l.{p.lines()}")
    year = f" ({p.fiscal_year})" if p.fiscal_year else ""
    return " · ".join([p.city, f"{p.document}{year}", *([" ".join(where)] if where else [])])


def print_hits(results: Results, out=None) -> None:
    """Print ranked hits for people: rank, score, citation, context and a highlighted snippet."""
    out = out or sys.stdout
    tty = out.isatty()
    if not results.content:
        print(NOTHING_TO_FIND.strip(), file=out)
        return
    if not results.hits:
        print(f"no passages match {results.query!r}", file=out)
        return
    for h in results.hits:
        p = h.passage
        print(f"{h.rank:>2}. [{h.score:.4f}] {source_text(h)}", file=out)
        context = p.context
        if p.department:
            context += f"  〔{p.department}〕"
        if context:
            print(f"    {context}", file=out)
        body = highlight(snippet(p.text, h.matched), h.matched, tty, p.field_names)
        print(textwrap.indent(body, "    "), file=out)
        print(file=out)


# The query's words that none of a city's passages holds (its label weighs them: search/labels.py)
ABSENT = "資料にない語 / not in this city's documents"
# The query's compounds the city writes only apart (ペーパーレス where it asks ペーパーレス化), named under
# a × or ○ (search/compare.py): the label weighs them too (its *missing pairs*), so it says why
APART = "近い箇所に一続きでは書かれていない語 / written only apart in this city's nearest passages"
# Said under a × whose query words the city all writes, as one: why it is × all the same (a × with no
# word named had said no reason)
WORDS_HELD = (
    "語はどれも資料にありますが、近い箇所は問いに答えていないと判定しました / every word is in this "
    "city's documents, but its nearest passages were judged not to answer the query"
)
# Said instead where a word other than a noun is missing from the city's documents (書く of 「書かない窓口」
# in a city that never writes it: only nouns are named absent, and "every word" had been untrue)
NOT_ANSWERED = (
    "近い箇所は問いに答えていないと判定しました / this city's nearest passages were judged not to answer "
    "the query"
)


def why_none(column, english: bool) -> str:
    """What a × says when it names no absent or apart word: WORDS_HELD, or NOT_ANSWERED where the city
    lacks a word of the query all the same; "" for any other column (an English question's 該当なし says
    it is less sure instead)."""
    e = column.evidence
    if column.match != "none" or english or e.absent or e.apart or not math.isfinite(e.z):
        return ""
    return NOT_ANSWERED if e.unwritten else WORDS_HELD


# Said under a city whose passages are fewer than those of any city the labels were fitted on
FEW = (
    "資料が少ない市のため、判定は参考程度です / few passages in this city: its label is less certain "
    "(the labels were fitted on cities of more)"
)
# what a query without a content word holds, as every message says it
EMPTY_WORDS = (
    "助詞・英語の the や of・記号・数字・HTML",
    "particles, common English words such as the or of, symbols, numbers or markup",
)
NO_CONTENT = (
    "   検索語に内容を表す語がないため、どの市にも該当しません / the query has no content word "
    f"({EMPTY_WORDS[1]} alone), so no city matches"
)
NOTHING_TO_FIND = (
    "検索語に内容を表す語がないため、該当する箇所はありません / the query has no content word "
    f"({EMPTY_WORDS[1]} alone), so no passage is nearer than another"
)


# Said where a query is read as English (search/compare.py Comparison.english): Japanese, English
ENGLISH_NOTE = (
    "英語の質問では ◎○× の判定が日本語より不確かです。本文で確かめてください。",
    "Labels are less certain for English questions: read the passages.",
)


def print_columns(
    title: str,
    columns,
    source: Passage | None = None,
    out=None,
    content: bool = True,
    english: bool = False,
) -> None:
    """Print a comparison city by city: the match label and count, then the city's best passages, those
    that the count includes marked ◎; a query without a content word, or one read as English, says so."""
    out = out or sys.stdout
    tty = out.isatty()
    print(f"== {title}", file=out)
    if not content:
        print(NO_CONTENT, file=out)
    elif english:
        print(f"   {' / '.join(ENGLISH_NOTE)}", file=out)
    if source is not None:
        print(f"   {source_text(Hit(source, 0, 0.0))}", file=out)
        print(textwrap.indent(snippet(source.text, ()), "   "), file=out)
    if content and len(columns) > 2:  # every city's verdict on one line before the columns
        print(f"   {verdict_line(columns)}", file=out)
    for column in columns:
        count = f"  {column.matching} 件が該当 / matching" if column.match != "none" else ""
        label = Match(column.match).label
        z = f"  (z={column.evidence.z:.1f})" if math.isfinite(column.evidence.z) else ""
        print(f"\n## {column.city}  {label}{count}{z}", file=out)
        if column.evidence.absent:
            print(f"   {ABSENT}: {'、'.join(column.evidence.absent)}", file=out)
        if column.evidence.apart:
            print(f"   {APART}: {'、'.join(column.evidence.apart)}", file=out)
        if column.evidence.few:
            print(f"   {FEW}", file=out)
        if why := why_none(column, english):
            print(f"   {why}", file=out)
        if column.match == "none":
            closest = "; closest:" if column.hits else ""
            print(f"   該当なし — no passage of this city matches{closest}", file=out)
        marks = column.hit_matches or (Match.NONE,) * len(column.hits)
        for h, m in zip(column.hits, marks, strict=True):
            p = h.passage
            context = p.context
            mark = f"{Match(m).mark} " if m != Match.NONE else ""
            print(f"  {h.rank}. {mark}[{h.score:.4f}] {p.id}  {context}", file=out)
            body = highlight(snippet(p.text, h.matched, 160), h.matched, tty, p.field_names)
            print(textwrap.indent(body, "     "), file=out)


def miss_line(miss: dict) -> str:
    """One judged item the search missed, on one line (as score.py prints it, plus why)."""
    if miss["what"] == "query":
        head = f"miss  q{miss['id']} {miss['query']!r}: {miss['city']} {miss['key']!r}"
        if miss["rank"] is None:
            return f"{head} not in the top 10"
        return f"{head} ranked {miss['rank']}, but not in its city's top 3 of compare"
    if miss["what"] == "pair":
        src, dst = miss["from"], miss["to"]
        if not miss["source_found"]:
            return f"pair {miss['id']}: no passage of {src['city']} holds {src['key']!r}"
        return f"pair {miss['id']}: {src['key']!r} -> {dst['city']} {dst['key']!r} not in top 3"
    return f"label {miss['id']} {miss['query']!r}: {miss['city']} {miss['got']} (want {miss['want']})"


def _measure(value: float | int) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def print_evaluation(
    summaries: dict[str, dict], misses: list[dict], folds: dict[str, list[dict]], out=None
) -> None:
    """Print the misses, one summary line per judgment kind (as score.py does) and, with folds, one line
    per measure with its value in each fold and their spread."""
    out = out or sys.stdout
    for miss in misses:
        print(miss_line(miss), file=out)
    for kind, measures in summaries.items():
        print(
            " ".join(f"{kind if name == 'n' else name}={_measure(v)}" for name, v in measures.items()),
            file=out,
        )
    for kind, per_fold in folds.items():
        for name in per_fold[0]:
            values = [m[name] for m in per_fold]
            line = f"{kind} {name} by fold: {' '.join(_measure(v) for v in values)}"
            if name != "n":
                spread = f"{_measure(min(values))}–{_measure(max(values))}"
                line += f"  (range {spread}, sd {statistics.pstdev(values):.3f})"
            print(line, file=out)


EXIT_USAGE = 2  # the exit code of a refusal: bad input, a damaged or missing index


def refuse(message: str, as_json: bool = False, code: int = EXIT_USAGE) -> int:
    """Say why a command stopped: one line on stderr (`reform-search: error: …`) and, for a script that
    asked for `--json`, the same on stdout as one JSON object, `{"error": message, "exit": code}`: its
    parser then reads why, where it had read an empty output. Returns `code`."""
    print(f"reform-search: {'' if code == INTERRUPTED else 'error: '}{message}", file=sys.stderr)
    if as_json:
        print(json.dumps({"error": message, "exit": code}, ensure_ascii=False), flush=True)
    return code


INTERRUPTED = 130  # the exit code of a command stopped by Ctrl-C


def print_json(obj: object, compact: bool = False) -> None:
    """One JSON document on stdout (UTF-8, Japanese as it is)."""
    print(json.dumps(obj, ensure_ascii=False, indent=None if compact else 1))


# What names the index an error's fix must build: the flags of these settings, as the user gave them
INDEX_FLAGS = (
    ("index_dir", "--index-dir"),
    ("corpus", "--corpus"),
    ("embedder", "--embedder"),
    ("model", "--model"),
)


def with_index_flags(message: str, args: object) -> str:
    """An error's fix as the user can run it: `reform-search index …` with the --index-dir, --corpus,
    --embedder and --model they gave (as printed, it had built the default index instead)."""
    given = [(flag, getattr(args, name, None)) for name, flag in INDEX_FLAGS]
    flags = "".join(f" {flag} {shlex.quote(str(value))}" for flag, value in given if value)
    if not flags:
        return message
    return re.sub(
        r"`reform-search index( --rebuild)?`", lambda m: f"`reform-search index{m[1] or ''}{flags}`", message
    )
