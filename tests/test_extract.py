"""Extraction of each format (fixtures built at test time), checks on untrusted files, row passages."""

from __future__ import annotations

import io
import re
import time
import zipfile

import make_files
import pypdfium2 as pdfium
import pytest

from corpus.columns import column_role
from corpus.document import make_document
from corpus.extract import Extracted, Limits, Record, extract
from corpus.extract import docx as docx_format
from corpus.extract import html as html_format
from corpus.extract import pdf as pdf_format
from corpus.extract import xlsx as xlsx_format
from corpus.extract.isolate import run_isolated
from corpus.extract.sniff import check_format, sniff
from corpus.extract.table import header_index, sheet_records, sub_header, unwrap
from corpus.normalize import compact
from corpus.split import split_passages

LIMITS = Limits(max_bytes=20 * 2**20, max_pages=500, max_unzipped_bytes=200 * 2**20, timeout_s=60)


def _document(extracted: Extracted, city: str = "テスト市"):
    return make_document(
        extracted, "0" * 64, f"fixture.{extracted.format}", id="fixture", city=city, title="テスト"
    )


def _passage_with(passages, phrase: str):
    found = [p for p in passages if phrase in p.text]
    assert len(found) == 1, [p.text for p in found]
    return found[0]


# --- format checks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("report.pdf", b"", "report.pdf is empty"),
        ("report.pdf", bytes(range(256)) * 8, "report.pdf is not a PDF (it looks like binary data)"),
        ("report.pdf", b"\x89PNG\r\n\x1a\n" + bytes(64), "is not a PDF (it looks like an image)"),
        ("notes.txt", b"%PDF-1.7\n%%EOF\n", "notes.txt is not text (it looks like a PDF); rename it to .pdf"),
        ("sheet.docx", None, "is not a Word document (.docx) (it looks like an Excel workbook (.xlsx))"),
        (
            "sheet.xlsx",
            b"PK\x03\x04" + bytes(40),
            "sheet.xlsx is a zip archive but no readable Excel workbook (.xlsx) (damaged, or another kind",
        ),
        ("old.xlsx", b"\xd0\xcf\x11\xe0" + bytes(40), "old-format (.xls/.doc) or password-protected"),
        ("memo.docx", b"PK\x03\x04" + bytes(40), "memo.docx is a zip archive but no readable Word document"),
        ("report.exe", b"MZ", "files of type '.exe' cannot be added"),
    ],
)
def test_name_and_content_must_agree(name, data, message):
    data = make_files.progress_xlsx() if data is None else data
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        check_format(data, name)


def test_sniff_tells_formats_apart():
    assert sniff(make_files.table_pdf()) == "pdf"
    assert sniff(make_files.progress_xlsx()) == "xlsx"
    assert sniff(make_files.report_docx()) == "docx"
    assert sniff(make_files.report_html()) == "html"
    assert sniff("テスト".encode("cp932")) == "text"
    # after blanks and comments, an HTML page's first tag tells it; anything else is text
    assert sniff(b"\xef\xbb\xbf <!-- a -->\n<!-- b --> <!DOCTYPE html><p>x") == "html"
    assert sniff(b"<!-- a --> x <html>") == "text"
    assert sniff(b"<!-- never closed <html>") == "text"


def test_sniffing_empty_comments_ends():
    # 282 bytes of empty comments had backtracked without end (sniffing runs before any child parser)
    assert sniff(b"<!---->" * 40 + b"x\n") == "text"
    assert sniff(b"<!---->" * 1000 + b"<html>") == "html"


def test_oversized_input_is_refused_before_parsing():
    small = Limits(max_bytes=100, max_pages=5, max_unzipped_bytes=10**6, timeout_s=5)
    with pytest.raises(ValueError, match=r"the limit is 0 MB \(max_upload_mb\)"):
        extract(b"x" * 101, "big.txt", small)


# --- text, CSV, HTML ---------------------------------------------------------------------------------


def test_cp932_text_is_decoded():
    extracted = extract(make_files.CP932_TEXT.encode("cp932"), "memo.txt", LIMITS)
    assert extracted.text == make_files.CP932_TEXT and extracted.format == "text"


@pytest.mark.parametrize("bom", [b"\xff\xfe", b"\xfe\xff"], ids=["le", "be"])
def test_utf16_text_and_html_with_their_bom_are_decoded(bom):
    # Windows Notepad's "Unicode": had been refused as "not text (it looks like binary data)"
    codec = "utf-16-le" if bom == b"\xff\xfe" else "utf-16-be"
    extracted = extract(bom + make_files.CP932_TEXT.encode(codec), "memo.txt", LIMITS)
    assert extracted.text == make_files.CP932_TEXT and extracted.format == "text"
    page = "<html><body><p>窓口改革（テスト用）</p></body></html>"
    assert "窓口改革（テスト用）" in extract(bom + page.encode(codec), "page.html", LIMITS).text
    with pytest.raises(ValueError, match="UTF-16 text that does not decode"):
        extract(bom + "改革".encode(codec) + b"\x00", "cut.txt", LIMITS)  # an odd byte: cut short


def test_csv_rows_become_records_with_column_names():
    extracted = extract(make_files.progress_csv("cp932"), "progress.csv", LIMITS)
    assert [r.row for r in extracted.records] == [2, 3]
    first = extracted.records[0]
    assert first.cells == (
        ("具体的取組", "庁舎照明のLED化"),
        ("所管課", "管財課"),
        ("進捗状況", "本庁舎の照明をすべてLEDに替えた。"),
    )
    p = _passage_with(split_passages(_document(extracted)), "LED")
    assert p.initiative == "庁舎照明のLED化" and p.department == "管財課"
    assert p.text == "庁舎照明のLED化\n所管課：管財課\n進捗状況：本庁舎の照明をすべてLEDに替えた。"
    assert (p.line_start, p.line_end, p.kind) == (2, 2, "row")


@pytest.mark.parametrize("encoding", ["utf-8", "shift_jis"])
def test_html_main_text_with_headings_as_sections(encoding):
    extracted = extract(make_files.report_html(encoding), "page.html", LIMITS)
    for left_out in ("メニュー用スクリプト", "公式ウェブサイト", "くらし", "font-family"):
        assert left_out not in extracted.text
    passages = split_passages(_document(extracted))
    assert _passage_with(passages, "集会所").section == "行政改革の取組"
    item = _passage_with(passages, "コンビニ交付")
    assert (item.section, item.kind, item.text) == (
        "行政改革の取組 > 窓口サービス",
        "item",
        "証明書のコンビニ交付",
    )


TABLE_PAGE = """<html><body><nav>メニュー</nav><main><h1>行政改革の取組状況（テスト用）</h1>
<p>テスト市の令和6年度の取組をお知らせします。</p>
<h3>(2) 取組項目別の進捗</h3>
<table border="1"><thead>
<tr><th>取組項目</th><th>内容</th><th>担当課</th><th>令和6年度の実績</th></tr></thead><tbody>
<tr><td>架空の議事録作成支援</td><td>会議録作成にAIを<br>活用する。</td><td>行政管理課</td>
<td>作成時間を6割短縮した。</td></tr>
<tr><td>架空のおくやみコーナー</td><td>遺族の手続を一か所で案内する。</td><td>市民課</td><td>7月に開設した。</td></tr>
</tbody></table></main><table><tr><td>本文の外の表</td><td>数字</td></tr></table></body></html>"""


def test_html_table_rows_are_rows_under_the_heading_above_the_table():
    # A city's 取組状況 page is often one table; read as text it had become one paragraph, and a header
    # naming two progress-table labels had sent the whole page to the PDF table splitter
    extracted = html_format.extract(TABLE_PAGE.encode(), "page.html", LIMITS)
    assert "架空の議事録作成支援" not in extracted.text and "本文の外の表" not in extracted.text
    assert [r.sheet for r in extracted.records] == [
        "行政改革の取組状況（テスト用） > (2) 取組項目別の進捗"
    ] * 2
    passages = split_passages(_document(extracted))
    rows = [p for p in passages if p.kind == "row"]
    assert [(p.initiative, p.department) for p in rows] == [
        ("架空の議事録作成支援", "行政管理課"),
        ("架空のおくやみコーナー", "市民課"),
    ]
    assert rows[0].text.splitlines()[1] == "内容：会議録作成にAIを 活用する。"
    assert _passage_with(passages, "お知らせします").kind == "paragraph"


def test_html_blocks_a_cms_adds_to_the_page_body_are_left_out():
    page = """<html><body><main><h1>行政改革（テスト用）</h1><p>窓口の受付時間を見直した。</p>
<div class="contact"><h2>このページに関するお問い合わせ</h2><div><p>総務部 行政管理課（架空）</p></div></div>
<div id="enquete"><h2>このページの情報は役に立ちましたか？</h2><p>役に立った</p></div>
<p>会議資料を電子化した。</p></main></body></html>""".encode()
    text = html_format.extract(page, "p.html", LIMITS).text
    assert "窓口の受付時間を見直した。" in text and "会議資料を電子化した。" in text  # after them too
    for left_out in ("お問い合わせ", "行政管理課", "役に立ち"):
        assert left_out not in text


def test_html_lines_that_only_link_to_files_are_left_out():
    # A 関連資料 list names documents without saying what they hold; its items had ranked for any
    # question on a plan's title
    page = """<html><body><main><h1>行政改革（テスト用）</h1>
<p>受付時間を見直した。詳しくは<a href="plan.pdf">計画本編</a>をご覧ください。</p>
<h2>関連資料</h2><ul><li><a href="/files/plan.pdf">テスト市改革プラン本編（PDF：1.2MB）</a></li>
<li><a href="list.xlsx?v=2">進捗一覧（Excel）</a>、<a href="list.pdf">（PDF）</a></li>
<li><a href="/detail.html">取組の詳細ページ</a></li></ul>
<p><a href="form.docx">様式（Word）</a></p></main></body></html>""".encode()
    text = html_format.extract(page, "p.html", LIMITS).text
    assert "詳しくは計画本編をご覧ください。" in text  # a link inside a sentence is part of it
    assert "・取組の詳細ページ" in text  # a page, not a file
    assert not any(x in text for x in ("プラン本編", "進捗一覧", "様式", "\ue000", "\ue001"))


def test_html_merged_cells_keep_every_cell_under_its_column():
    # Read cell by cell, the row under a <td rowspan=2> had shifted left: its 所管課 under 具体的取組
    page = """<html><body><main><h2>取組の状況（テスト用）</h2><table>
<tr><th>改革項目</th><th>具体的取組</th><th>内容</th><th>所管課</th><th>R6取組状況</th></tr>
<tr><td rowspan="2">①窓口改革（架空）</td><td>書かない窓口</td><td>架空の窓口</td><td>市民課</td>
<td>架空の窓口を開いた。</td></tr>
<tr><td>オンライン申請</td><td>架空の申請</td><td>情報課</td><td>架空の申請を拡大した。</td></tr>
<tr><td>②庁舎管理（架空）</td><td>照明の更新</td><td colspan="2">架空の照明（二列にまたがる）</td>
<td>完了した。</td></tr>
<tr><td colspan="2">③ふるさと納税の返礼品拡充（架空）</td><td>架空の返礼品</td><td>企画課</td>
<td>三十品目増やした。</td></tr>
</table></main></body></html>""".encode()
    passages = split_passages(_document(html_format.extract(page, "p.html", LIMITS)))
    rows = {p.initiative: p for p in passages if p.kind == "row"}
    assert rows["オンライン申請"].department == "情報課"
    assert "R6取組状況：架空の申請を拡大した。" in rows["オンライン申請"].text
    assert rows["オンライン申請"].section.endswith("①窓口改革（架空）")  # the group, filled down
    assert "R6取組状況：完了した。" in rows["照明の更新"].text  # after a cell two columns wide
    # a group's cell spanning the initiative's column names the row, not the row above's initiative
    spanned = _passage_with(passages, "三十品目")
    assert (spanned.initiative, spanned.department) == ("③ふるさと納税の返礼品拡充（架空）", "企画課")
    # a cell spanning down at the right leaves its column blank; a hostile span is bounded
    assert html_format.grid([["a", "b"], ["c"]], [[(1, 1), (1, 2)], [(1, 1)]]) == [["a", "b"], ["c", ""]]
    assert len(html_format.grid([["a"]], [[(html_format.MAX_COLSPAN, 1)]])[0]) == html_format.MAX_COLSPAN


def test_html_an_image_named_like_a_share_button_leaves_out_nothing_after_it():
    # a void element never ends: an <img class="sns-icon"> had left out the rest of the page
    page = """<html><body><main><h1>テスト市の行政改革（架空）</h1>
<p><img class="sns-icon" src="x.png">シェア</p><p>架空の窓口改革を進めた。</p>
<h2>今後</h2><p>架空の計画を続ける。</p></main></body></html>""".encode()
    text = html_format.extract(page, "p.html", LIMITS).text
    assert "架空の窓口改革を進めた。" in text and "## 今後" in text and "架空の計画を続ける。" in text


def test_html_headings_inside_a_menu_are_not_the_page_s():
    # a <nav> with its own <h2> inside <main> had closed the page's open heading: the table under
    # 窓口の改革 lost that section
    page = """<html><body><main><h1>テスト市 行政改革（架空）</h1><h2>窓口の改革</h2>
<nav><h2>メニュー</h2><ul><li>ホーム</li></ul></nav>
<table><tr><th>取組名</th><th>所管課</th></tr><tr><td>架空の窓口改革</td><td>市民課</td></tr></table>
</main></body></html>""".encode()
    extracted = html_format.extract(page, "p.html", LIMITS)
    assert [r.sheet for r in extracted.records] == ["テスト市 行政改革（架空） > 窓口の改革"]
    assert "メニュー" not in extracted.text and "ホーム" not in extracted.text


def test_html_without_main_keeps_the_body_text():
    page = "<html><body><h2>方針</h2><p>テスト</p></body></html>".encode()
    assert html_format.extract(page, "p.html", LIMITS).text == "## 方針\n\nテスト"


@pytest.mark.parametrize(
    ("page", "text"),
    [
        # an item's nested list goes on its line after 「：」: one passage cites the item with what it
        # lists (the children had been passages without their parent, the parent one of a few words)
        ("<ul><li>電子申請の拡大<ul><li>子育て26件。</li><li>介護12件。</li></ul></li><li>決済</li></ul>",
         "・電子申請の拡大：子育て26件。介護12件。\n・決済"),
        ("<ul><li>窓口\n  <ul><li>書かない窓口</li><li>予約</li></ul>\n </li></ul><p>後</p>",
         "・窓口：書かない窓口、予約\n\n後"),
        # items left open, as HTML allows: the next item closes the one before, the list's end all
        ("<ul><li>一つ目<li>二つ目<ul><li>子一<li>子二</ul><li>三つ目</ul><p>後</p>",
         "・一つ目\n・二つ目：子一、子二\n・三つ目\n\n後"),
        ("<ol><li>親<ol><li>子<ul><li>孫</li></ul></li></ol></li></ol>", "・親：子：孫"),
    ],
)  # fmt: skip
def test_html_nested_lists_stay_with_their_item(page, text):
    assert html_format.extract(page.encode(), "p.html", LIMITS).text == text


# --- PDF -----------------------------------------------------------------------------------------------


def test_pdf_table_rows_stand_under_the_numbered_heading_across_pages():
    # The legend between heading and table, and the page's top line over a header repeated on a new page,
    # had been every row's section
    rows = [[f"架空の取組{n:02d}", "テスト課", "予定どおり進めた。" * 3] for n in range(60)]
    story = [
        make_files.Paragraph("2 取組項目別の進捗状況（テスト用）", make_files.HEADING),
        make_files.Paragraph("評価基準 A：計画どおり B：概ね計画どおり", make_files.BODY),
        make_files._table([make_files.TABLE_HEADER, *rows], [150, 80, 280]),
    ]

    def header(canvas, _):  # a running header at the top of every page, above the table
        canvas.setFont(make_files.FONT, 9)
        canvas.drawString(30, make_files.A4[1] - 20, "架空市 実施計画 進捗状況（テスト用）")

    out = io.BytesIO()
    doc = make_files.SimpleDocTemplate(out, pagesize=make_files.A4, topMargin=40, bottomMargin=30)
    doc.build(story, onFirstPage=header, onLaterPages=header)
    extracted = pdf_format.extract(out.getvalue(), "progress.pdf", LIMITS)
    assert len(extracted.records) == 60 and max(r.page for r in extracted.records) >= 2
    assert {r.sheet for r in extracted.records} == {"2 取組項目別の進捗状況（テスト用）"}


def test_pdf_table_rows_keep_their_columns_and_page():
    extracted = pdf_format.extract(make_files.table_pdf(), "report.pdf", LIMITS)
    assert extracted.format == "pdf" and len(extracted.page_starts) == 2
    assert [r.cells for r in extracted.records] == [
        tuple(zip(make_files.TABLE_HEADER, row, strict=True)) for row in make_files.TABLE_ROWS
    ]
    assert {(r.page, r.sheet) for r in extracted.records} == {(1, "取組一覧")}
    passages = split_passages(_document(extracted))
    row = _passage_with(passages, "カーシェアリング")
    assert (row.initiative, row.department, row.page, row.kind) == (
        "公用車のカーシェアリング",
        "管財課",
        1,
        "row",
    )
    assert [name for name, _ in row.fields] == ["所管課", "進捗状況"]
    assert row.section == "取組一覧"
    # Text outside the table keeps its page too; table cells are not repeated in the text.
    assert _passage_with(passages, "図書館").page == 2
    assert _passage_with(passages, "市民の時間").page == 1
    assert "タブレット" not in extracted.text


@pytest.mark.parametrize(("repeat_header", "closed"), [(True, True), (False, True), (True, False)])
def test_a_row_a_page_break_cuts_is_one_passage_on_its_first_page(repeat_header, closed):
    # Its rest on the next pages had been passages of their own (cut mid-sentence, no department) or,
    # alone on a page without the header, loose paragraphs; drawn without a rule at the cut, the table
    # had not been found at all
    data = make_files.split_row_pdf(repeat_header, closed)
    extracted = pdf_format.extract(data, "split.pdf", LIMITS)
    assert len(extracted.page_starts) >= 3
    rows = [p for p in split_passages(_document(extracted)) if p.kind == "row"]
    assert [p.initiative for p in rows] == [f"架空の取組{n}号" for n in "一二三四"]
    cut = rows[2]
    assert (cut.page, cut.department, cut.section) == (
        1,
        "架空管財課",
        "テスト市 架空の行財政改革 取組状況（令和6年度） > ②架空の財政改革",
    )
    said = re.findall(r"三号の文(\d+)は架空の記述である。", compact(cut.text))
    assert said == [str(n) for n in range(1, 401)]  # every sentence, once, in order
    assert rows[3].page > 1 and "三号" not in rows[3].text


@pytest.mark.parametrize("label_on_later_page", [True, False])
def test_a_merged_group_label_a_page_break_cuts_names_its_rows_on_both_pages(label_on_later_page):
    # Printed once on the later page, the label had left the rows above the break blank, and they took
    # the label of the group above them (②'s 三号 and 四号 under ①)
    data = make_files.merged_label_pdf(label_on_later_page)
    rows = [
        p for p in split_passages(_document(pdf_format.extract(data, "m.pdf", LIMITS))) if p.kind == "row"
    ]
    groups = {p.initiative: p.section.rsplit(" > ", 1)[-1] for p in rows}
    assert groups == {
        "架空取組一号": "①架空の窓口",
        "架空取組二号": "①架空の窓口",
        "架空取組三号": "②架空の財政",
        "架空取組四号": "②架空の財政",
        "架空取組五号": "②架空の財政",
        "架空取組六号": "③架空の人材",
    }
    assert [p.page for p in rows] == [1, 1, 1, 1, 2, 2]


def test_only_the_rest_of_a_cut_row_joins_the_row_above():
    from corpus.extract.base import Record
    from corpus.extract.pdf import _continued

    names = ("具体的取組", "内容", "所管課", "R6取組状況", "評価")
    above = Record(
        tuple(
            zip(
                names,
                (
                    "架空の取組",
                    "架空の窓口をまとめる。",
                    "架空市民課",
                    "架空の窓口を一つにまとめる準備を進め、職員の",
                    "A",
                ),
                strict=True,
            )
        )
    )

    def row(*values: str) -> tuple:
        return tuple(zip(names, values, strict=True))

    assert _continued(above, row("", "", "", "研修を行った。", ""))  # cut mid-sentence
    assert not _continued(
        above, row("", "", "架空情報課", "別の課が申請を電子化した。", "")
    )  # own department
    assert not _continued(above, row("次の取組", "", "", "研修を行った。", ""))  # an initiative of its own
    assert not _continued(above, row("", "", "", "", "B"))  # a grade is no prose that a page break cuts
    ended = Record(row("架空の取組", "", "", "架空の窓口を一つにまとめる準備を進めた。", "A"))
    assert not _continued(ended, row("", "", "", "研修を行った。", ""))  # every sentence above ended


def test_pdf_sections_notes_and_two_level_headers():
    # A section that starts at the top of a page had kept the one before; a note merged across a
    # table's last row had been an initiative; a two-level header's names were 令和6年度 and 列5, and its
    # second line a row
    passages = split_passages(_document(pdf_format.extract(make_files.sections_pdf(), "s.pdf", LIMITS)))
    first, second = _passage_with(passages, "架空の電子申請"), _passage_with(passages, "架空の広告収入")
    assert (first.section, first.page) == ("１ 架空の事務改善", 1)
    assert (second.section, second.page) == ("２ 架空の財源確保", 2)
    assert [name for name, _ in second.fields] == ["内容", "所管課", "令和6年度取組状況", "令和6年度評価"]
    note = _passage_with(passages, "計画どおり進んでいる")
    assert (note.kind, note.initiative, note.section) == ("paragraph", None, "１ 架空の事務改善")
    assert [p.initiative for p in passages if p.kind == "row"] == ["架空の電子申請", "架空の広告収入"]


def test_pdf_without_text_layer_is_refused():
    with pytest.raises(ValueError, match=r"scan\.pdf has no text layer: OCR is not supported"):
        pdf_format.extract(make_files.image_only_pdf(), "scan.pdf", LIMITS)


def test_encrypted_pdf_is_refused():
    with pytest.raises(ValueError, match=r"locked.pdf is encrypted \(password-protected\)"):
        pdf_format.extract(make_files.table_pdf(encrypt="secret"), "locked.pdf", LIMITS)


def test_truncated_pdf_is_refused():
    data = make_files.table_pdf()
    with pytest.raises(ValueError, match=r"cut\.pdf is truncated or damaged"):
        pdf_format.extract(data[: len(data) // 2], "cut.pdf", LIMITS)


def test_page_limit():
    few = Limits(max_bytes=LIMITS.max_bytes, max_pages=1, max_unzipped_bytes=10**6, timeout_s=60)
    with pytest.raises(ValueError, match=r"long.pdf has 2 pages; the limit is 1 \(max_pages\)"):
        pdf_format.extract(make_files.table_pdf(), "long.pdf", few)


def test_table_continued_over_pages_keeps_its_header():
    # Every third page of the prose PDF has a ruled table with the header 事業名 / 担当課 / 実績.
    extracted = pdf_format.extract(make_files.prose_pdf(6), "long.pdf", LIMITS)
    assert {r.page for r in extracted.records} == {3, 6}
    assert {tuple(n for n, _ in r.cells) for r in extracted.records} == {("事業名", "担当課", "実績")}
    passages = split_passages(_document(extracted))
    row = _passage_with(passages, "事業6-2は")
    assert (row.initiative, row.department, row.page) == ("事業6-2の推進", "第2課", 6)
    assert _passage_with(passages, "取組5-1として").page == 5


@pytest.mark.slow
def test_aizuwakamatsu_report_round_trip():
    """The bundled report's rows drawn as a multi-page ruled table come back one passage per row."""
    data = make_files.aizuwakamatsu_pdf()
    extracted = pdf_format.extract(data, "aizu.pdf", LIMITS)
    passages = split_passages(_document(extracted, city="会津若松市"))
    rows = [p for p in passages if p.kind == "row"]
    assert len({p.page for p in rows}) > 3
    hit = _passage_with(rows, "家庭ごみ処理有料化実施方針")
    assert hit.initiative == "循環型社会に適応した負担の適正化"
    assert hit.department == "環境共生課" and ("所管課", "環境共生課") in hit.fields
    assert hit.section == "⑴ 持続可能な財政運営 > ①安定的・効率的な財政運営の推進"
    assert [n for n, _ in hit.fields] == ["内容", "所管課", "R6取組状況", "今後の課題・方向性"]
    # The page is the one the row was drawn on (checked with the other PDF library).
    pdf = pdfium.PdfDocument(data)
    on_page = [n + 1 for n in range(len(pdf)) if "循環型社会に適応" in pdf[n].get_textpage().get_text_range()]
    assert on_page == [hit.page]
    # Every row of the report comes back whole: one passage per drawn row, initiative and department right.
    drawn = make_files.aizuwakamatsu_rows()
    assert len(rows) == len(drawn)
    assert [(p.initiative, p.department) for p in rows] == [(r[2], r[3].get("所管課")) for r in drawn]


# --- XLSX, DOCX -------------------------------------------------------------------------------------


CAPTION = "テスト市 行政改革 進捗管理表（令和6年度）"


def test_xlsx_rows_with_header_row_detected_and_merged_cells_filled():
    extracted = xlsx_format.extract(make_files.progress_xlsx(), "progress.xlsx", LIMITS)
    assert [(r.sheet, r.row) for r in extracted.records] == [(CAPTION, n) for n in (4, 5, 6)]
    # the sheet's title is its rows' section (its name, 進捗管理表, said again in it), not a passage
    assert "進捗管理表（令和6年度）" not in extracted.text and "表ではない メモ" in extracted.text
    passages = split_passages(_document(extracted))
    merged = _passage_with(passages, "押印")
    assert merged.section == f"{CAPTION} > ①デジタル化"  # B5 is merged into B4
    assert (merged.initiative, merged.department, merged.line_start) == ("押印の見直し", "総務課", 5)
    assert merged.fields == (
        ("No.", "2"),
        ("所管課", "総務課"),
        ("進捗状況", "押印を求める書類を九割減らした。"),
        ("更新日", "2024-10-01"),
    )


def test_xlsx_two_level_header_a_note_row_and_two_departments():
    # As the helper's 進捗管理表 had them: 令和6年度 merged over 実績 | 評価, a note merged across the row
    # under the table, and a 所管課 cell naming two departments on two lines
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "重点1"
    sheet.append(["番号", "取組項目", "所管課", "令和6年度", None, "今後の方向性"])
    sheet.append([None, None, None, "実績", "評価", None])
    sheet.append([1, "架空の窓口改善", "市民課", "12手続で始めた。", "A", "支所へ広げる。"])
    sheet.append([2, "架空の寄附推進", "企画政策課\n観光物産課", "寄附が増えた。", "B", "品目を増やす。"])
    sheet.append(["※評価 A：計画どおり B：概ね計画どおり（テスト用の注記）"])
    sheet.merge_cells("D1:E1")
    sheet.merge_cells("A5:F5")
    data = io.BytesIO()
    book.save(data)
    extracted = xlsx_format.extract(data.getvalue(), "sheet.xlsx", LIMITS)
    names = [name for name, _ in extracted.records[0].cells]
    assert names == ["番号", "取組項目", "所管課", "令和6年度実績", "令和6年度評価", "今後の方向性"]
    passages = split_passages(_document(extracted))
    rows = [p for p in passages if p.kind == "row"]
    assert [(p.initiative, p.department) for p in rows] == [
        ("架空の窓口改善", "市民課"),
        ("架空の寄附推進", "企画政策課、観光物産課"),
    ]
    note = _passage_with(passages, "※評価")
    assert (note.kind, note.initiative, note.text) == (
        "paragraph",
        None,
        "※評価 A：計画どおり B：概ね計画どおり（テスト用の注記）",
    )


def test_a_header_repeated_inside_a_table_is_no_row():
    # a table's header again on a new page (or mid-sheet) had become a row 「取組名：取組名 …」
    data = "取組名,所管課,状況\n架空の窓口改善,市民課,済\n取組名,所管課,状況\n架空の会議削減,総務課,済\n"
    passages = split_passages(_document(extract(data.encode("utf-8"), "t.csv", LIMITS)))
    assert [p.initiative for p in passages if p.kind == "row"] == ["架空の窓口改善", "架空の会議削減"]


def test_zip_bomb_is_refused_before_parsing():
    small = Limits(max_bytes=LIMITS.max_bytes, max_pages=5, max_unzipped_bytes=2 * 2**20, timeout_s=60)
    with pytest.raises(ValueError, match=r"bomb.xlsx would unpack to 3 MB, over the limit of 2 MB"):
        xlsx_format.extract(make_files.zip_bomb(3), "bomb.xlsx", small)


def test_xml_with_entity_declarations_is_refused():
    with pytest.raises(ValueError, match="declares a DTD or entities"):
        xlsx_format.extract(make_files.xlsx_with_doctype(), "dtd.xlsx", LIMITS)
    source = zipfile.ZipFile(io.BytesIO(make_files.report_docx()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/document.xml":
                data = data.replace(b"?>", b'?><!DOCTYPE w [<!ENTITY e SYSTEM "file:///etc/passwd">]>', 1)
            z.writestr(item, data)
    with pytest.raises(ValueError, match=r"word/document\.xml declares a DTD or entities"):
        docx_format.extract(out.getvalue(), "dtd.docx", LIMITS)


def test_sheet_limit():
    one = Limits(
        max_bytes=LIMITS.max_bytes, max_pages=1, max_unzipped_bytes=LIMITS.max_unzipped_bytes, timeout_s=60
    )
    with pytest.raises(ValueError, match=r"has 2 sheets; the limit is 1"):
        xlsx_format.extract(make_files.progress_xlsx(), "progress.xlsx", one)


def test_docx_paragraphs_headings_and_tables():
    extracted = docx_format.extract(make_files.report_docx(), "report.docx", LIMITS)
    # cited by the heading the table stands under: its row numbers had been cited as lines of the text,
    # beside the paragraphs' own line numbers
    assert [(r.sheet, r.row) for r in extracted.records] == [
        ("テスト市 働き方改革の報告 > 取組の状況", None),
        ("テスト市 働き方改革の報告 > 取組の状況", None),
    ]
    passages = split_passages(_document(extracted))
    assert _passage_with(passages, "フレックスタイム").section == "テスト市 働き方改革の報告"
    assert _passage_with(passages, "在宅勤務").kind == "item"
    row = _passage_with(passages, "電話の取次ぎ")
    assert (row.initiative, row.department, row.line_start) == ("庁内チャットの導入", "情報政策課", None)
    assert row.section == "テスト市 働き方改革の報告 > 取組の状況"  # the headings above the table


def test_docx_cells_merged_across_columns_keep_the_cells_after_them_in_place():
    import docx

    document = docx.Document()
    table = document.add_table(rows=2, cols=4)
    for cell, value in zip(table.rows[0].cells, ["具体的取組", "内容", "所管課", "取組状況"], strict=True):
        cell.text = value
    merged = table.rows[1].cells[0].merge(table.rows[1].cells[1])
    merged.text = "公用車の削減（架空）"
    table.rows[1].cells[2].text = "管財課"
    table.rows[1].cells[3].text = "十台削減した。"
    out = io.BytesIO()
    document.save(out)
    (record,) = docx_format.extract(out.getvalue(), "m.docx", LIMITS).records
    cells = dict(record.cells)
    assert (cells["具体的取組"], cells["内容"], cells["所管課"], cells["取組状況"]) == (
        "公用車の削減（架空）",
        "",
        "管財課",
        "十台削減した。",
    )


def test_a_group_written_on_every_row_keeps_its_rows_initiatives_merged_down():
    # 改革項目 repeated on each row and 具体的取組 merged down: the second row had taken the group's name
    # as its initiative
    rows = [
        ["改革項目", "具体的取組", "内容", "所管課"],
        ["①窓口改革（架空）", "書かない窓口（架空）", "申請書を自動作成", "市民課"],
        ["①窓口改革（架空）", "", "支所にも拡大", "支所課"],
        ["②施設（架空）", "", "複合化", "施設課"],  # a new group's blank initiative: its own cell's
    ]
    records, _ = sheet_records(rows)
    passages = split_passages(_document(Extracted("", "csv", (), tuple(records))))
    assert [(p.initiative, p.department) for p in passages] == [
        ("書かない窓口（架空）", "市民課"),
        ("書かない窓口（架空）", "支所課"),
        ("②施設（架空）", "施設課"),
    ]


def test_table_cells_and_word_paragraphs_are_cleaned_as_text_is():
    # invisible characters and look-alikes had been cleaned from a page's text only: a cell's
    # 書かない窓\u200b口 was tokenized 窓 / 口, and a query for 窓口 missed it
    records, _ = sheet_records([["取組名", "所管課"], ["書かない窓\u200b口（架空）", "⽀援課\u00ad"]])
    assert dict(records[0].cells) == {"取組名": "書かない窓口（架空）", "所管課": "支援課"}
    import docx

    document = docx.Document()
    document.add_paragraph("窓\u200b口の⽀援をﾏｲﾅﾝﾊﾞｰで行う（架空）。")
    out = io.BytesIO()
    document.save(out)
    assert (
        docx_format.extract(out.getvalue(), "c.docx", LIMITS).text
        == "窓口の支援をマイナンバーで行う（架空）。"
    )


# --- tables in general ---------------------------------------------------------------------------------


def test_header_row_is_found_below_a_title():
    rows = [
        ["令和6年度 進捗", "", ""],
        ["", "", ""],
        ["取組名", "所管課", "状況"],
        ["庁舎の改修", "管財課", "完了"],
    ]
    assert header_index(rows) == 2
    records, lead = sheet_records(rows, sheet="S", first_row=1)
    # the title is the table's caption, the last part of its rows' section: as a passage of its own, a
    # bare title had ranked first in its city's column
    assert lead == []
    assert records == [
        Record(
            (("取組名", "庁舎の改修"), ("所管課", "管財課"), ("状況", "完了")), None, 4, "S > 令和6年度 進捗"
        )
    ]
    # a note or a sentence above the header stays text, each a paragraph of its own; a CSV has no sheet
    rows = [["※金額は千円", ""], ["令和6年度", "9月末現在"], ["本表は架空です。", ""], *rows[2:]]
    records, lead = sheet_records(rows)
    assert lead == ["※金額は千円", "", "令和6年度 9月末現在", "", "本表は架空です。", ""]
    assert records[0].sheet == ""
    records, _ = sheet_records([["令和6年度 進捗"], ["9月末現在"], *rows[3:]], sheet="S")
    assert records[0].sheet == "S > 令和6年度 進捗 9月末現在"


def test_rows_without_a_header_are_text():
    rows = [["今年度は三件の改修を行った。", ""], ["来年度も続ける。", ""]]
    assert header_index(rows) is None
    assert sheet_records(rows) == ([], ["今年度は三件の改修を行った。", "", "来年度も続ける。", ""])


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("所管課", "department"),
        ("担当課", "department"),
        ("具体的取組", "initiative"),
        ("事業名", "initiative"),
        ("R6取組状況", "status"),
        ("改革項目", "item"),
        ("重点項目", "item"),  # merged over its rows: filled down like 改革項目
        ("課名", "department"),
        ("今後の課題・方向性", "direction"),
        ("No.", None),
        ("更新日", None),
        # a column headed 取組 alone lists the initiatives (a DOCX report's 項目 / 取組 / 効果 table had
        # left every row without one); inside a longer header it is another column's word
        ("取組", "initiative"),
        ("主な取組", "initiative"),
        ("取組事項", "initiative"),
        ("取組の成果", None),
        ("取組内容", "content"),
    ],
)
def test_column_roles(name, role):
    assert column_role(name) == role


def test_unwrap_joins_wrapped_lines_and_keeps_paragraphs():
    cell = "予算編成方針とともに中期財政見通しを作\n成・公表した。\n・説明会を開いた\n・意見を集めた"
    assert (
        unwrap(cell)
        == "予算編成方針とともに中期財政見通しを作成・公表した。\n・説明会を開いた\n・意見を集めた"
    )
    # two sections' names one under the other are two names (a 担当課 cell had read 「市民課税務課」); a name
    # wrapped in the middle is one
    assert unwrap("市民課\n税務課") == "市民課\n税務課"
    assert unwrap("こども家庭\n支援課") == "こども家庭支援課"
    assert unwrap("上下水道局経営企画\n課") == "上下水道局経営企画課"


def test_extracted_round_trips_through_json():
    extracted = xlsx_format.extract(make_files.progress_xlsx(), "progress.xlsx", LIMITS)
    assert Extracted.from_json(extracted.to_json()) == extracted


# --- the child process -----------------------------------------------------------------------------------


def test_a_hanging_parser_is_stopped_at_the_time_limit():
    quick = Limits(max_bytes=100, max_pages=1, max_unzipped_bytes=100, timeout_s=1)
    started = time.monotonic()
    with pytest.raises(ValueError, match=r"x.pdf: reading it took longer than 1 s \(parse_timeout_s\)"):
        run_isolated("bad_parsers:hang", b"data", "x.pdf", quick)
    assert time.monotonic() - started < 10


def test_a_page_of_unclosed_tags_is_stopped_at_the_time_limit():
    # Python's HTMLParser slows with the square of such a page (56 s for 100 KB): it had run in the
    # server's own process, with no limit, holding the indexing slot
    quick = Limits(max_bytes=LIMITS.max_bytes, max_pages=1, max_unzipped_bytes=100, timeout_s=2)
    hostile = ("<html><body><p>テスト市（架空）</p>" + "<a " * 60_000).encode("utf-8")
    started = time.monotonic()
    with pytest.raises(ValueError, match=r"x.html: reading it took longer than 2 s \(parse_timeout_s\)"):
        extract(hostile, "x.html", quick)
    assert time.monotonic() - started < 15


def test_a_crashing_parser_gives_a_message():
    with pytest.raises(ValueError, match=r"x.pdf: the parser stopped without an answer \(exit code 3"):
        run_isolated("bad_parsers:crash", b"data", "x.pdf", LIMITS)


def test_a_parser_exception_becomes_one_line():
    with pytest.raises(ValueError, match=r"^x.pdf cannot be read: KeyError: 'no\\nsuch part'$"):
        run_isolated("bad_parsers:fail", b"data", "x.pdf", LIMITS)


def test_extract_runs_binary_parsers_in_a_child(monkeypatch):
    monkeypatch.setattr(pdf_format, "extract", lambda *a: pytest.fail("parsed in the test process"))
    extracted = extract(make_files.table_pdf(), "report.pdf", LIMITS)
    assert len(extracted.records) == 3


# --- bounded work per file ------------------------------------------------------------------------------


def test_a_sheet_that_declares_too_many_cells_is_refused_before_a_row_is_read():
    data = make_files.xlsx_with_dimension("A1:XFD1048576")
    assert len(data) < 20_000
    said = r"declares 1,048,576 rows × 16,384 columns; the limit is 1,000,000 cells \(max_cells\)"
    with pytest.raises(ValueError, match=said):
        xlsx_format.extract(data, "claims.xlsx", LIMITS)
    # its time and memory are measured by the benchmark (bench/faults.py), not asserted here


def test_cells_are_counted_as_they_are_read_whatever_a_sheet_declares():
    few = Limits(**{**LIMITS.__dict__, "max_cells": 20})
    with pytest.raises(ValueError, match=r"holds more than 20 cells; the limit is 20 \(max_cells\)"):
        xlsx_format.extract(make_files.xlsx_with_dimension("A1:A1"), "lies.xlsx", few)
    rows = "\n".join(f"{n},テスト項目{n},架空の内容{n}" for n in range(10)).encode()
    from corpus.extract.table import extract_csv

    with pytest.raises(ValueError, match=r"holds more than 20 cells"):
        extract_csv(b"No,item,content\n" + rows, "big.csv", few)
    assert extract_csv(b"No,item,content\n" + rows, "big.csv", LIMITS).records  # under the default: read


def test_the_parser_memory_cap_is_a_limit_of_its_own():
    tiny = Limits(**{**LIMITS.__dict__, "memory_bytes": 64 * 2**20})  # too little for Python and openpyxl
    with pytest.raises(ValueError, match=r"progress\.xlsx"):
        extract(make_files.progress_xlsx(), "progress.xlsx", tiny)
    assert extract(make_files.progress_xlsx(), "progress.xlsx", LIMITS).records


def test_xlsx_grouped_header_over_most_columns_names_every_sub_column():
    # 令和6年度 over 目標 | 実績 | 評価 and 令和7年度 over 目標 | 効果額, the other columns merged down over
    # both rows: the second header row had been a passage, two columns named 列5 and 列6, and the last
    # two values glued together (the last merged cell read short)
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["番号", "取組項目", "担当課", "令和6年度", None, None, "令和7年度", None])
    sheet.append([None, None, None, "目標", "実績", "評価", "目標", "効果額"])
    sheet.append([1, "架空の電子申請", "情報課", "10手続", "12手続で始めた", "A", "20手続", "300"])
    sheet.append([2, "架空の窓口改善", "市民課", "予約導入", "導入した", "B", "全庁展開", "1200"])
    for cells in ("A1:A2", "B1:B2", "C1:C2", "D1:F1", "G1:H1"):
        sheet.merge_cells(cells)
    data = io.BytesIO()
    book.save(data)
    extracted = xlsx_format.extract(data.getvalue(), "plan.xlsx", LIMITS)
    assert len(extracted.records) == 2  # the second header row is no record
    names = [name for name, _ in extracted.records[0].cells]
    assert names == [
        "番号", "取組項目", "担当課", "令和6年度目標", "令和6年度実績", "令和6年度評価", "令和7年度目標",
        "令和7年度効果額",
    ]  # fmt: skip
    assert [v for _, v in extracted.records[1].cells][-2:] == ["全庁展開", "1200"]
    rows = [p for p in split_passages(_document(extracted)) if p.kind == "row"]
    assert [(p.initiative, p.department) for p in rows] == [
        ("架空の電子申請", "情報課"),
        ("架空の窓口改善", "市民課"),
    ]


def test_a_data_row_of_short_labels_is_no_second_header_row():
    # a table without merged headers: its first row of short cells stays a row
    rows = [
        ["番号", "取組項目", "担当課", "評価"],
        ["1", "窓口改善", "市民課", "A"],
        ["2", "電子申請", "情報課", "B"],
    ]
    records, _ = sheet_records(rows)
    assert [dict(r.cells)["取組項目"] for r in records] == ["窓口改善", "電子申請"]
    # nor is a row continuing the last column only
    assert not sub_header(["番号", "取組項目", "担当課"], ["", "", "総務課"])
