"""The theme × city matrix as an SVG heatmap: cells colored by match and labelled with their counts,
theme labels broken between words over up to three lines, city heads with their romaji names; small
enough for a phone, whose theme labels stay pinned while the cells scroll sideways.

Everything drawn from a user or a document (themes, cities) is escaped (`render.esc`).
"""

from __future__ import annotations

from reform_search.render import SCROLL_HINT, esc
from search.labels import Match
from search.themes import THEMES_EN, Matrix, themed

HEAT = {"strong": ("#0f766e", "#ffffff"), "weak": ("#99e0cf", "#134e4a"), "none": ("#eef1f4", "#475569")}


def _text_width(text: str, size: float) -> float:
    """Rough rendered width: full-width characters take a full em, others about half."""
    return sum(size if ord(c) > 0x2E7F else size * 0.6 for c in text)


LABEL_WIDTH = 140  # px: a longer theme label is written on more lines (a phone shows the matrix unscaled)
LABEL_LINES = 3  # a label longer still is cut with "…" (the cell's tooltip holds it whole)
LABEL_LINE_H = 16
# kinsoku: characters a Japanese line does not begin with (small kana too: ファシリテ|ィー)
_NO_LINE_START = "・、。，．）」』】〕ーぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ"


def _label_lines(text: str, size: float) -> list[str]:
    """A theme label as one line, as two of about equal width when it is wider than LABEL_WIDTH, or as
    up to LABEL_LINES lines, each ending between words where it can; one longer still is cut with "…":
    a long line typed as a theme had widened the matrix until the browser scaled every label down to
    nothing, and 「窓口のデジタル化（書かない窓口・オンライン申請）」 had been cut after two lines."""
    total = _text_width(text, size)
    if total <= LABEL_WIDTH:
        return [text]
    if total > 2 * LABEL_WIDTH:
        lines, rest = [], text
        while rest and len(lines) < LABEL_LINES - 1 and _text_width(rest, size) > LABEL_WIDTH:
            line = _fit(rest, LABEL_WIDTH, size)
            words = [n for n in range(len(line) * 2 // 3, len(line)) if _word_break(rest, n)]
            line = line[: words[-1]] if words else line  # ends between words where it can
            while len(line) > 1 and (rest[len(line)] in _NO_LINE_START or line[-1] in _OPENING):
                line = line[:-1]  # never a line opening with ー, nor one ending with （
            lines.append(line)
            rest = rest[len(line) :]
        if _text_width(rest, size) > LABEL_WIDTH:
            rest = _fit(rest, LABEL_WIDTH - _text_width("…", size), size) + "…"
        return [*lines, rest] if rest else lines
    fits = [n for n in range(1, len(text)) if text[n] not in _NO_LINE_START]
    fits = [n for n in fits if max(_text_width(text[:n], size), _text_width(text[n:], size)) <= LABEL_WIDTH]
    words = [n for n in fits if _word_break(text, n)]  # between words where the label has room
    if not fits:
        return [text[: len(text) // 2], text[len(text) // 2 :]]
    cut = min(words or fits, key=lambda n: abs(_text_width(text[:n], size) - total / 2))
    return [text[:cut], text[cut:]]


_OPENING = "（(「『【〔"
_AFTER = "のとやをにへで・、 /"  # a line may end after a particle or a separator


def _script(c: str) -> str:
    if "\u30a0" <= c <= "\u30ff":
        return "katakana"
    if "\u3040" <= c <= "\u309f":
        return "hiragana"
    return "latin" if c.isascii() else "kanji"


def _word_break(text: str, n: int) -> bool:
    """Whether a theme label can break before text[n] without cutting a word: after a particle or a
    separator (行政手続の|オンライン化), or where kanji and katakana meet (窓口|サービス)."""
    before, after = text[n - 1], text[n]
    if after in _OPENING:  # before a bracket: 窓口のデジタル化|（書かない窓口…）
        return before not in _OPENING
    if before in _AFTER:  # a particle ends a word unless kana go on (に of による, の of のあり方)
        return _script(after) != "hiragana" or _script(before) != "hiragana"
    if _script(before) == "hiragana" and _script(after) == "kanji":  # による|業務, not 働き|方
        return n >= 2 and _script(text[n - 2]) == "hiragana"
    return {_script(before), _script(after)} == {"kanji", "katakana"}


def _fit(text: str, width: float, size: float) -> str:
    """The longest start of `text` no wider than `width`."""
    used = 0.0
    for n, c in enumerate(text):
        used += _text_width(c, size)
        if used > width:
            return text[:n]
    return text


MIN_HEATMAP_SCALE = 0.8  # the smallest a heatmap is drawn (its 14 px labels at 11 px)


def heatmap_svg(matrix: Matrix, city_en: dict[str, str] | None = None) -> str:
    """The theme × city matrix as an SVG heatmap: cells colored by match, labeled with the count; each
    city's head with its romaji name under it (`city_en`), as search cards and verdicts name it."""
    romaji = [(city_en or {}).get(c, "") for c in matrix.cities]
    size, pad = 14, 10
    head_h = 50 if any(romaji) else 34
    n = max(len(matrix.cities), 1)
    # As narrow as its labels allow, so that a phone shows it at full size rather than scaled down
    heads = [
        max(_text_width(c, size), _text_width(r, 11)) for c, r in zip(matrix.cities, romaji, strict=True)
    ]
    cell_w = min(220, max(120, *(w + 2 * pad for w in heads)))
    labels = [_label_lines(t, size) for t in matrix.themes]
    # a built-in theme's English name on smaller lines under it (search/themes.py THEMES_EN)
    english = [_label_lines(THEMES_EN[t], 11) if t in THEMES_EN else [] for t in matrix.themes]
    widths = [_text_width(line, size) for lines in labels for line in lines]
    widths += [_text_width(line, 11) for lines in english for line in lines]
    labels = [[*lines, *en] for lines, en in zip(labels, english, strict=True)]
    cell_h = max([40, *(LABEL_LINE_H * len(lines) + 10 for lines in labels)])  # three lines: 58
    label_w = max([*widths, 80]) + 2 * pad
    width = label_w + cell_w * n
    height = head_h + cell_h * len(matrix.themes)
    out = [
        # shrunk to the screen, but never below MIN_HEATMAP_SCALE of its size: a phone scrolls it sideways
        # rather than shrink three cities' labels to 8 px
        f'<svg class="rs-heatmap" viewBox="0 0 {width:.0f} {height}" width="{width:.0f}" height="{height}" '
        f'style="min-width:{width * MIN_HEATMAP_SCALE:.0f}px" '
        # a group, not an image: an image's children (the cells, each a button) are hidden from readers
        'role="group" aria-label="テーマと市町村の表 / themes by city" xmlns="http://www.w3.org/2000/svg">'
    ]
    # The theme labels again, pinned to the left while a phone scrolls the cells sideways (they had
    # scrolled away with them); the same place and scale as the labels under them, hidden from readers
    pinned = [
        f'<svg class="rs-hm-pinned" viewBox="0 0 {label_w:.0f} {height}" aria-hidden="true" '
        f'style="width:{100 * round(label_w) / round(width):.4f}%" xmlns="http://www.w3.org/2000/svg">'
        f'<rect width="{label_w:.0f}" height="{head_h + cell_h * len(matrix.themes)}" class="rs-hm-pin"/>'
    ]
    for j, (city, en) in enumerate(zip(matrix.cities, romaji, strict=True)):
        x = label_w + j * cell_w + cell_w / 2
        out.append(f'<text x="{x:.0f}" y="22" class="rs-hm-col" text-anchor="middle">{esc(city)}</text>')
        if en:  # one too long for the widest column is cut (the documents table holds it whole)
            room = cell_w - 2 * pad
            en = en if _text_width(en, 11) <= room else _fit(en, room - _text_width("…", 11), 11) + "…"
            out.append(
                f'<text x="{x:.0f}" y="39" class="rs-hm-col-en" text-anchor="middle" '
                f'lang="en">{esc(en)}</text>'
            )
    for i, (theme, lines) in enumerate(zip(matrix.themes, labels, strict=True)):
        y = head_h + i * cell_h
        x = label_w - pad
        first = y + cell_h / 2 + 5 - (len(lines) - 1) * LABEL_LINE_H / 2
        japanese = len(lines) - len(english[i])  # its lines, then its English name's
        spans = "".join(
            f'<tspan x="{x:.0f}" y="{first + n * LABEL_LINE_H:.0f}"'
            + (' class="rs-hm-row-en" lang="en">' if n >= japanese else ">")
            + f"{esc(line)}</tspan>"
            for n, line in enumerate(lines)
        )
        named = themed(theme)
        out.append(f'<text class="rs-hm-row" text-anchor="end"><title>{esc(named)}</title>{spans}</text>')
        pinned.append(f'<text class="rs-hm-row" text-anchor="end">{spans}</text>')
        for j, city in enumerate(matrix.cities):
            c = matrix.cell(theme, city)
            fill, ink = HEAT[c.match]
            x = label_w + j * cell_w
            label = f"{Match(c.match).mark} {c.matching}件" if c.match != "none" else "× 該当なし none"
            # no × between theme and city: it is 該当なし's mark ("× いわき市" read as none)
            tip = f"{named} · {city}: {Match(c.match).ja} ({c.match}), {c.matching}"
            out.append(
                f'<g class="rs-hm-cell rs-hm-{c.match}" data-theme="{esc(theme)}" data-city="{esc(city)}" '
                f'role="button" tabindex="0"><title>{esc(tip)}</title>'
                f'<rect x="{x + 2:.0f}" y="{y + 2}" width="{cell_w - 4:.0f}" height="{cell_h - 4}" rx="5" '
                f'style="fill:{fill}"/><text x="{x + cell_w / 2:.0f}" y="{y + cell_h / 2 + 5:.0f}" '
                f'style="fill:{ink}" text-anchor="middle" class="rs-hm-val">{esc(label)}</text></g>'
            )
    out.append("</svg>")
    pinned.append("</svg>")
    return (
        '<div class="rs-heatmap-wrap"><div class="rs-note">セルをクリックすると該当箇所を表示 / '
        "click a cell to see its passages (件 = passages that match on their own)</div>"
        f'{SCROLL_HINT}<div class="rs-hm-grid">{"".join(out)}{"".join(pinned)}</div>{_legend()}</div>'
    )


def _legend() -> str:
    """What the cells' colours mean, as a line of HTML under the matrix: outside the picture, it wraps to
    the screen and stays in view while a phone scrolls the cells sideways (ui.css .rs-hm-keys); drawn in
    the picture, it had scrolled away with them."""
    keys = "".join(
        f'<span class="rs-hm-key"><span class="rs-hm-swatch" style="background:{HEAT[m][0]}"></span>'
        f'<span aria-hidden="true">{Match(m).mark}</span> {Match(m).ja} {m}</span>'
        for m in ("strong", "weak", "none")
    )
    return f'<div class="rs-hm-keys">{keys}</div>'
