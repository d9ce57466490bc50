"""Report files built at test time: PDFs (reportlab), an XLSX sheet, a DOCX, HTML, CP932 text, bad files.

Everything is made up ("テスト市" …) except `aizuwakamatsu_pdf`, which draws the bundled 会津若松市 report's
rows as a ruled multi-page table, like the published PDF.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "HeiseiMin-W3"  # reportlab's built-in Japanese CID font: nothing to install
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
BODY = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12, wordWrap="CJK")
CELL = ParagraphStyle("cell", fontName=FONT, fontSize=7, leading=9, wordWrap="CJK")
HEADING = ParagraphStyle("heading", fontName=FONT, fontSize=12, leading=16)
RULED = TableStyle([("GRID", (0, 0), (-1, -1), 0.5, "black"), ("VALIGN", (0, 0), (-1, -1), "TOP")])

# The fixture table of the made-up テスト市: three columns, one phrase per row to search for.
TABLE_HEADER = ["取組名", "所管課", "進捗状況"]
TABLE_ROWS = [
    ["窓口予約のオンライン化", "市民課", "令和6年度に予約システムを導入し、待ち時間を半減させた。"],
    ["公用車のカーシェアリング", "管財課", "公用車を十台削減し、休日は市民に貸し出す試行を始めた。"],
    ["紙の会議資料の廃止", "総務課", "全庁の会議でタブレットを使い、印刷費を三割削減した。"],
]


def _build(story: list, pagesize=A4, encrypt: str | None = None) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out, pagesize=pagesize, leftMargin=30, rightMargin=30, topMargin=30, bottomMargin=30
    )
    if encrypt:
        doc.encrypt = encrypt
    doc.build(story)
    return out.getvalue()


def _table(rows: list[list[str]], widths: list[float]) -> Table:
    cells = [[Paragraph(c.replace("\n", "<br/>"), CELL) for c in row] for row in rows]
    table = Table(cells, colWidths=widths, repeatRows=1)
    table.setStyle(RULED)
    return table


def table_pdf(encrypt: str | None = None) -> bytes:
    """Two pages: テスト市's heading, a paragraph and a ruled 3-column table; then a page of prose."""
    story = [
        Paragraph("テスト市 行政改革の取組状況", HEADING),
        Paragraph(
            "テスト市は市民の時間を大切にする市役所を目指し、手続と庁内業務の見直しを進めている。", BODY
        ),
        Spacer(1, 8),
        Paragraph("取組一覧", HEADING),
        _table([TABLE_HEADER, *TABLE_ROWS], [150, 80, 280]),
        PageBreak(),
        Paragraph("今後の方針", HEADING),
        Paragraph("来年度は図書館の開館時間を延長し、夜間の無人貸出機を駅前に設置する予定である。", BODY),
    ]
    return _build(story, encrypt=encrypt)


class _PrintedTable(Table):
    """A table ruled on every page as a printout draws it: reportlab leaves a row a page break cuts open
    (no rule at the page's bottom, none under the repeated header); a printed grid has both."""

    def draw(self):
        super().draw()
        n = self.repeatRows if isinstance(self.repeatRows, int) else max(self.repeatRows) + 1
        for y in (0, self._rowpositions[n]):
            self.canv.line(0, y, self._width, y)


def _sentences(tag: str, n: int) -> str:
    """n numbered sentences, each findable: 「<tag>の文1は架空の記述である。」…"""
    return "".join(f"{tag}の文{k}は架空の記述である。" for k in range(1, n + 1))


def split_row_pdf(repeat_header: bool = True, closed: bool = True) -> bytes:
    """テスト市's progress table (landscape) whose third row is taller than a page: the page break cuts it
    mid-sentence, and its rest continues on the next two pages (under the repeated header, or alone);
    ruled on every page as a printout draws it, or (closed=False) left open at the cut, as reportlab
    draws it."""
    header = ["改革項目", "具体的取組", "内容", "所管課", "R6取組状況"]
    rows = [
        [
            "①架空の窓口改革",
            "架空の取組一号",
            "架空の窓口を一つにまとめる。",
            "架空市民課",
            _sentences("一号", 3),
        ],
        [
            "①架空の窓口改革",
            "架空の取組二号",
            "架空の申請を電子化する。",
            "架空情報課",
            _sentences("二号", 9),
        ],
        [
            "②架空の財政改革",
            "架空の取組三号",
            "架空の施設を統合する。",
            "架空管財課",
            _sentences("三号", 400),
        ],
        ["③架空の人材育成", "架空の取組四号", "架空の研修を行う。", "架空人事課", _sentences("四号", 2)],
    ]
    cells = [[Paragraph(c, CELL) for c in row] for row in [header, *rows]]
    table = (_PrintedTable if closed else Table)(
        cells, colWidths=[80, 80, 110, 60, 230], repeatRows=int(repeat_header), splitInRow=1, splitByRow=0
    )
    table.setStyle(RULED)
    story = [Paragraph("テスト市 架空の行財政改革 取組状況（令和6年度）", HEADING), Spacer(1, 6), table]
    return _build(story, pagesize=landscape(A4))


def sections_pdf() -> bytes:
    """Two sections of テスト市, one per page, with tables of the same header; the first ends with a note
    merged across its last row; the second has a two-level header (令和6年度 over 取組状況 and 評価)."""
    header = ["具体的取組", "内容", "所管課", "R6取組状況", "評価"]
    note = "※評価 A：計画どおり進んでいる B：概ね計画どおり C：遅れている"
    first = [
        ["架空の電子申請", "架空の申請を電子化する。", "架空情報課", _sentences("申請", 3), "A"],
        [note, "", "", "", ""],
    ]
    upper = ["具体的取組", "内容", "所管課", "令和6年度", ""]
    lower = ["", "", "", "取組状況", "評価"]
    second = [["架空の広告収入", "架空の広告枠を売る。", "架空財政課", _sentences("広告", 3), "C"]]
    merged = [("SPAN", (0, 2), (-1, 2))]
    two_level = [("SPAN", (3, 0), (4, 0)), *(("SPAN", (c, 0), (c, 1)) for c in range(3))]
    widths = [110, 150, 80, 360, 60]

    def ruled(rows, spans):
        table = Table([[Paragraph(c, CELL) for c in row] for row in rows], colWidths=widths, repeatRows=1)
        table.setStyle(TableStyle([*RULED.getCommands(), *spans]))
        return table

    story = [
        Paragraph("テスト市 架空の改革 取組評価（令和6年度）", HEADING),
        Paragraph("１ 架空の事務改善", HEADING),
        ruled([header, *first], merged),
        PageBreak(),
        Paragraph("２ 架空の財源確保", HEADING),
        ruled([upper, lower, *second], two_level),
    ]
    return _build(story, pagesize=landscape(A4))


def merged_label_pdf(label_on_later_page: bool = True) -> bytes:
    """テスト市's progress table over two pages, its 改革項目 merged over each group's rows as a printed
    spreadsheet draws it: the group ②, cut by the page break, has its label printed once, on the later
    page (centred in its rows there), or (label_on_later_page=False) on the first; its merged cell on
    the other page is blank."""
    width, height = landscape(A4)
    edges = [40, 160, 300, 420, 500, 800]
    header = ["改革項目", "具体的取組", "内容", "所管課", "R6取組状況"]

    def row(label: str, n: str, dept: str) -> list[str]:
        return [label, f"架空取組{n}号", f"架空の{n}号を進める。", dept, f"{n}号を実施した。"]

    second = ("", "②架空の財政") if label_on_later_page else ("②架空の財政", "")
    pages = [
        # (rows, the rows that start a merged 改革項目 cell: a rule across it above them)
        (
            [
                row("①架空の窓口", "一", "架空市民課"),
                row("", "二", "架空情報課"),
                row(second[0], "三", "架空管財課"),
                row("", "四", "架空財政課"),
            ],
            {0, 2},
        ),
        ([row(second[1], "五", "架空財政課"), row("③架空の人材", "六", "架空人事課")], {0, 1}),
    ]
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=(width, height))
    for rows, starts in pages:
        pdf.setFont(FONT, 8)
        lines = [header, *rows]
        ys = [height - 60 - 40 * k for k in range(len(lines) + 1)]
        for r, line in enumerate(lines):
            for x, text in zip(edges, line, strict=False):
                pdf.drawString(x + 3, (ys[r] + ys[r + 1]) / 2 - 3, text)
        for x in edges:
            pdf.line(x, ys[0], x, ys[-1])
        for r, y in enumerate(ys):
            across = r <= 1 or r == len(lines) or r - 1 in starts
            pdf.line(edges[0] if across else edges[1], y, edges[-1], y)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def image_only_pdf() -> bytes:
    """A scanned-looking PDF: one page holding an image and no text."""
    from PIL import Image
    from reportlab.lib.utils import ImageReader

    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4)
    c.drawImage(ImageReader(Image.new("RGB", (200, 100), "gray")), 100, 500, 200, 100)
    c.showPage()
    c.save()
    return out.getvalue()


def prose_pdf(pages: int, city: str = "テスト市") -> bytes:
    """`pages` pages, each with a heading, prose paragraphs and every third page a ruled table."""
    story: list = []
    for n in range(1, pages + 1):
        story.append(Paragraph(f"第{n}章 {city}の改革 その{n}", HEADING))
        for k in range(3):
            story.append(
                Paragraph(
                    f"{city}は取組{n}-{k}として、窓口{n}番の受付時間を見直し、申請書{k + n}種類を電子化した。"
                    f"職員{n * 3 + k}名が研修を受け、手続の平均所要時間は{10 + k}分短くなった。",
                    BODY,
                )
            )
        if n % 3 == 0:
            rows = [
                [f"事業{n}-{k}の推進", f"第{k}課", f"事業{n}-{k}は計画どおり進み、{k + 1}件の成果があった。"]
                for k in range(4)
            ]
            story.append(_table([["事業名", "担当課", "実績"], *rows], [150, 80, 280]))
        story.append(PageBreak())
    return _build(story[:-1])


def aizuwakamatsu_rows() -> list[tuple[str, str, str, dict]]:
    """(section, 改革項目, 具体的取組, fields) of each row of the bundled 会津若松市 report's table."""
    from corpus.document import load_corpus
    from corpus.split_table import split_table

    doc = next(d for d in load_corpus() if d.city == "会津若松市")
    rows: list[tuple[str, str, str, dict]] = []
    for p in split_table(doc):
        section, _, item = p.section.partition(" > ")
        if rows and rows[-1][:3] == (section, item, p.initiative or "") and p.fields[0][0] != "内容":
            rows[-1][3].update(p.fields)  # the second half of a long row the splitter cut in two
        else:
            rows.append((section, item, p.initiative or "", dict(p.fields)))
    return rows


def aizuwakamatsu_pdf() -> bytes:
    """The bundled 会津若松市 report's rows drawn as a ruled table over several landscape pages."""
    rows = aizuwakamatsu_rows()
    header = ["改革項目", "具体的取組", "内容", "所管課", "R6取組状況", "今後の課題・方向性"]
    story: list = []
    table: list[list[str]] = []
    section = last_item = None

    def flush() -> None:
        if table:
            story.append(_table([header, *table], [80, 80, 130, 50, 210, 220]))
            table.clear()

    for sec, item, initiative, fields in rows:
        if sec != section:
            flush()
            story += [Paragraph(sec, HEADING), Spacer(1, 4)]
            section, last_item = sec, None
        table.append(
            [item if item != last_item else "", initiative, *(fields.get(h, "") for h in header[2:])]
        )
        last_item = item
    flush()
    return _build(story, pagesize=landscape(A4))


def progress_xlsx() -> bytes:
    """An Excel 進捗管理表 of テスト市: title row, header row, merged 改革項目 cells, numbers and dates."""
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "進捗管理表"
    sheet["A1"] = "テスト市 行政改革 進捗管理表（令和6年度）"
    sheet.append([])
    sheet.append(["No.", "改革項目", "具体的取組", "所管課", "進捗状況", "更新日"])
    sheet.append(
        [
            1,
            "①デジタル化",
            "電子申請の拡大",
            "情報政策課",
            "申請手続の八割を電子化した。",
            dt.date(2024, 9, 30),
        ]
    )
    sheet.append(
        [2, None, "押印の見直し", "総務課", "押印を求める書類を九割減らした。", dt.date(2024, 10, 1)]
    )
    sheet.append([3, "②財政", "ふるさと納税の返礼品拡充", "財政課", "返礼品を四十品目増やした。", None])
    sheet.merge_cells("B4:B5")
    other = book.create_sheet("メモ")
    other["A1"] = "この シートは 表ではない メモ です"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# A sheet that names its rows under 取組項目 (no 具体的取組 column); a blank 取組項目 is a merged cell.
ITEM_SHEET_HEADER = ["取組項目", "内容", "取組状況", "所管課"]
ITEM_SHEET_ROWS = [
    ["雪灯籠まつりの運営見直し", "実行委員会の事務を民間団体に移す。", "委託先を公募で選んだ。", "観光課"],
    ["公民館予約のオンライン化", "予約を電子申請で受け付ける。", "全館で電子申請を始めた。", "生涯学習課"],
    ["", "利用料の支払いも電子化する。", "キャッシュレス決済を試行した。", "生涯学習課"],
]


def item_sheet_xlsx() -> bytes:
    """An Excel 取組状況 sheet of テスト市 whose initiative column is headed 取組項目."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "取組一覧"
    sheet.append(ITEM_SHEET_HEADER)
    for row in ITEM_SHEET_ROWS:
        sheet.append([cell or None for cell in row])
    sheet.merge_cells("A3:A4")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def progress_csv(encoding: str = "cp932") -> bytes:
    """The same kind of sheet as CSV in Shift_JIS."""
    text = (
        "具体的取組,所管課,進捗状況\r\n"
        "庁舎照明のLED化,管財課,本庁舎の照明をすべてLEDに替えた。\r\n"
        "公共施設の予約一元化,施設課,予約窓口を一つのサイトにまとめた。\r\n"
    )
    return text.encode(encoding)


def report_docx() -> bytes:
    """A Word report of テスト市: a heading, a paragraph, a bullet list and a table."""
    import docx

    document = docx.Document()
    document.add_heading("テスト市 働き方改革の報告", level=1)
    document.add_paragraph("テスト市は職員の働き方改革として、フレックスタイム制を全課に広げた。")
    document.add_paragraph("在宅勤務の上限を週三日に緩和した", style="List Bullet")
    document.add_heading("取組の状況", level=2)
    table = document.add_table(rows=3, cols=3)
    for row, cells in zip(table.rows, [TABLE_HEADER, *([r[0], r[1], r[2]] for r in DOCX_ROWS)], strict=False):
        for cell, value in zip(row.cells, cells, strict=True):
            cell.text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


DOCX_ROWS = [
    ["庁内チャットの導入", "情報政策課", "全職員がチャットを使い、電話の取次ぎが減った。"],
    ["会議時間の上限設定", "人事課", "会議を原則三十分以内とし、開催数も減らした。"],
]


def report_html(encoding: str = "utf-8") -> bytes:
    """A municipal web page: navigation and footer around a <main> with headings, a paragraph and a list."""
    html = f"""<!DOCTYPE html>
<html lang="ja"><head><meta charset="{encoding}"><title>テスト市 行政改革</title>
<style>body {{ font-family: sans-serif; }}</style><script>var menu = "メニュー用スクリプト";</script></head>
<body><header>テスト市公式ウェブサイト</header>
<nav><ul><li>ホーム</li><li>くらし</li></ul></nav>
<main><h1>行政改革の取組</h1>
<p>テスト市は公共施設の再編を進め、老朽化した集会所を地区ごとに統合した。</p>
<h2>窓口サービス</h2>
<ul><li>土曜窓口の開設</li><li>証明書のコンビニ交付</li></ul>
</main><footer>(c) テスト市</footer></body></html>"""
    return html.encode(encoding)


CP932_TEXT = "テスト市 改革メモ\n\n・﨑山地区の公民館を夜間も開放し、地域の学習会に使えるようにした。\n"


def zip_bomb(unpacked_mb: int, name: str = "xl/workbook.xml") -> bytes:
    """A small zip (disguised as a workbook by its member names) that unpacks to `unpacked_mb` MB of zeros."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr(name, "<workbook/>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            block = b"\0" * 2**20
            for _ in range(unpacked_mb):
                f.write(block)
    return out.getvalue()


def _progress_with_sheet(edit) -> bytes:
    """The progress workbook with its first sheet's XML passed through `edit`."""
    source = zipfile.ZipFile(io.BytesIO(progress_xlsx()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in source.infolist():
            data = source.read(item)
            z.writestr(item, edit(data) if item.filename == "xl/worksheets/sheet1.xml" else data)
    return out.getvalue()


def xlsx_with_doctype() -> bytes:
    """A workbook whose sheet XML declares an entity (billion-laughs style): must be refused unparsed."""
    return _progress_with_sheet(lambda data: b'<!DOCTYPE x [<!ENTITY a "aaaaaaaa">]>' + data)


def write(directory: Path, name: str, data: bytes) -> Path:
    """Write bytes to directory/name; returns the path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(data)
    return path


def xlsx_with_dimension(ref: str) -> bytes:
    """The progress workbook with its first sheet's <dimension> rewritten to `ref` (e.g. a sheet that
    claims A1:XFD1048576: 17 billion cells in a file of a few KB)."""
    import re

    tag = f'<dimension ref="{ref}"/>'.encode()
    return _progress_with_sheet(lambda data: re.sub(rb'<dimension ref="[^"]*"/>', tag, data))
