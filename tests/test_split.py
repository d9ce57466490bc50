"""Splitting documents into passages: progress-table rows, brochure items and paragraphs."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from corpus.document import Document, load_corpus, read_document
from corpus.extract import Record
from corpus.headings import heading
from corpus.normalize import compact
from corpus.passage import Passage, passage_id
from corpus.split import split_passages
from corpus.split_blocks import MAX_CHARS, _contents, split_blocks
from corpus.split_table import find_labels

DATA = Path(__file__).parent / "data"
AIZU_HEADER = "「行財政改革～未来へつなぐ自治体経営に向けて～」における令和6年度の取組状況"
ROW_FIELDS = ["内容", "所管課", "R6取組状況", "今後の課題・方向性"]
MAX_PASSAGE_CHARS = 800


@pytest.fixture(scope="module")
def docs() -> dict[str, Document]:
    return {d.city: d for d in load_corpus()}


@pytest.fixture(scope="module")
def aizu(docs: dict[str, Document]) -> Document:
    return docs["会津若松市"]


@pytest.fixture(scope="module")
def iwaki(docs: dict[str, Document]) -> Document:
    return docs["いわき市"]


@pytest.fixture(scope="module")
def aizu_passages(aizu: Document) -> list[Passage]:
    return split_passages(aizu)


@pytest.fixture(scope="module")
def iwaki_passages(iwaki: Document) -> list[Passage]:
    return split_passages(iwaki)


def span_text(doc: Document, p: Passage) -> str:
    """The source lines a passage says it came from, whitespace removed."""
    lines = doc.text.split("\n")
    return compact("".join(lines[p.line_start - 1 : p.line_end]))


def only_row(passages: list[Passage], **where: str) -> Passage:
    """The one passage whose field (or attribute) contains each given value."""
    found = [
        p
        for p in passages
        if all(v in (dict(p.fields).get(k) or getattr(p, k, None) or "") for k, v in where.items())
    ]
    assert len(found) == 1, [p.text[:40] for p in found]
    return found[0]


# --- invariants on both default reports ------------------------------------------------------


@pytest.mark.parametrize("city", ["会津若松市", "いわき市"])
def test_passages_are_non_empty_bounded_and_uniquely_identified(docs: dict[str, Document], city: str) -> None:
    doc = docs[city]
    passages = split_passages(doc)
    n_lines = len(doc.text.split("\n"))
    assert len(passages) > 20
    assert len({p.id for p in passages}) == len(passages)
    for p in passages:
        assert p.text.strip()
        assert len(p.text) <= MAX_PASSAGE_CHARS
        assert p.id.startswith(f"{doc.id}:")
        assert (p.doc_id, p.city, p.document, p.fiscal_year) == (doc.id, doc.city, doc.title, 2024)
        assert 1 <= p.line_start <= p.line_end <= n_lines


@pytest.mark.parametrize("city", ["会津若松市", "いわき市"])
def test_ids_are_stable_across_runs(docs: dict[str, Document], city: str) -> None:
    first = split_passages(docs[city])
    reread = {d.city: d for d in load_corpus()}[city]
    assert [p.id for p in split_passages(reread)] == [p.id for p in first]
    assert split_passages(docs[city]) == first


@pytest.mark.parametrize("city", ["会津若松市", "いわき市"])
def test_auto_layout_picks_the_same_splitter(docs: dict[str, Document], city: str) -> None:
    doc = docs[city]
    assert split_passages(dataclasses.replace(doc, layout="auto")) == split_passages(doc)


def test_find_labels(aizu: Document, iwaki: Document) -> None:
    labels = find_labels(aizu.text)
    assert labels is not None
    assert {"item", "initiative", "content", "department", "direction"} <= set(labels)
    assert labels["department"] == "所管課"
    assert find_labels(iwaki.text) is None


@pytest.mark.parametrize("city", ["会津若松市", "いわき市"])
def test_passages_round_trip_through_dicts(docs: dict[str, Document], city: str) -> None:
    for p in split_passages(docs[city]):
        d = json.loads(json.dumps(p.to_dict(), ensure_ascii=False))
        assert Passage.from_dict(d) == p
        assert list(d["fields"]) == [label for label, _ in p.fields]


def test_passage_id_depends_on_every_part() -> None:
    base = passage_id("test-doc", "⑴ テスト", "架空の取組", "本文")
    assert base == passage_id("test-doc", "⑴ テスト", "架空の取組", "本文")
    assert re.fullmatch(r"test-doc:[0-9a-f]{10}", base)
    others = {
        passage_id("other-doc", "⑴ テスト", "架空の取組", "本文"),
        passage_id("test-doc", "⑵ テスト", "架空の取組", "本文"),
        passage_id("test-doc", "⑴ テスト", "別の取組", "本文"),
        passage_id("test-doc", "⑴ テスト", "架空の取組", "本文。"),
        passage_id("test-doc", "⑴ テスト架空の取組", "", "本文"),  # parts are separated, not concatenated
    }
    assert base not in others and len(others) == 5


# --- 会津若松市: a progress table with interleaved columns -------------------------------------


def test_aizu_every_passage_is_a_row_with_initiative_and_section_path(aizu_passages: list[Passage]) -> None:
    for p in aizu_passages:
        assert p.kind == "row"
        assert p.initiative
        assert re.fullmatch(r"[⑴-⒇] \S.* > [①-⑳]\S+", p.section), p.section
        assert p.context == f"{p.section} > {p.initiative}"
        assert [label for label, _ in p.fields][:1] == ["内容"]
        assert p.text.startswith(p.initiative + "\n")


def test_aizu_sections_all_occur_and_come_from_section_lines(
    aizu: Document, aizu_passages: list[Passage]
) -> None:
    sections = {p.section.split(" > ")[0] for p in aizu_passages}
    assert {s[0] for s in sections} == {"⑴", "⑵", "⑶"}
    source_lines = {line.strip() for line in aizu.text.split("\n")}
    for section in sections:
        number, title = section.split(" ", 1)
        assert f"{number}　{title}" in source_lines


def test_aizu_running_header_is_in_no_passage(aizu: Document, aizu_passages: list[Passage]) -> None:
    assert aizu.text.count(AIZU_HEADER) >= 3  # the line really is repeated on every page
    for p in aizu_passages:
        assert compact(AIZU_HEADER) not in compact(p.text)
        assert "改革項目 具体的取組" not in p.text


def test_aizu_household_waste_charging_row(aizu: Document, aizu_passages: list[Passage]) -> None:
    rows = [p for p in aizu_passages if p.initiative == "循環型社会に適応した負担の適正化"]
    assert len(rows) == 1  # one row, not split into pieces
    row = rows[0]
    assert "家庭ごみ処理有料化" in row.text
    assert row.department == "環境共生課"
    assert row.section.startswith("⑴")
    assert isinstance(row.page, int) and row.page >= 1
    fields = dict(row.fields)
    assert list(fields) == ROW_FIELDS
    assert fields["所管課"] == "環境共生課"  # "環境共生" and "課" on two lines in the source
    assert fields["内容"].startswith("生活系一般廃棄物について")
    assert "「家庭ごみ処理有料化実施方針」の策定" in fields["R6取組状況"]
    assert "家庭ごみ処理有料化を導入する" in fields["今後の課題・方向性"]
    # Every field comes from the source lines the passage cites.
    for value in fields.values():
        assert compact(value) in span_text(aizu, row)


def test_aizu_every_passage_mentioning_household_charging_is_environment_department(
    aizu_passages: list[Passage],
) -> None:
    hits = [p for p in aizu_passages if "家庭ごみ処理有料化" in p.text]
    assert hits
    assert {p.department for p in hits} == {"環境共生課"}


def test_aizu_two_cells_on_one_line_are_split(aizu: Document, aizu_passages: list[Passage]) -> None:
    # Source line: "　令和6年10月に導入完了 　令和6年10月に導入完了。" (取組状況, then 今後の課題・方向性)
    row = only_row(aizu_passages, 内容="税証明等手数料")
    fields = dict(row.fields)
    assert list(fields) == ROW_FIELDS
    assert fields["R6取組状況"] == "令和6年10月に導入完了"
    assert fields["今後の課題・方向性"] == "令和6年10月に導入完了。"
    assert row.initiative == "電子決済による市税等の収納"


@pytest.mark.parametrize(
    ("content", "department"),
    [
        # One-line 所管課 cells that extraction moved to the top of the page, given back in order.
        ("ネーミングライツを活用した歳入増加", "財政課"),
        ("広告掲載等に関する要綱", "財政課"),
        ("未利用財産の他用途", "総務課"),
        ("税証明等手数料", "税務課"),
        ("住民票交付等の手数料", "市民課"),
        ("中期財政見通しを作成・公表", "財政課"),
        # Departments printed in the row itself, across lines.
        ("清掃手数料の収納", "環境共生課"),
        ("住宅使用料等の収納", "建築住宅課"),
        ("市税等の収納における電子決済", "納税課・国保年金課"),
    ],
)
def test_aizu_departments(aizu_passages: list[Passage], content: str, department: str) -> None:
    row = only_row(aizu_passages, 内容=content)
    assert row.department == department
    assert dict(row.fields)["所管課"] == department


def test_aizu_naming_rights_row(aizu: Document, aizu_passages: list[Passage]) -> None:
    row = only_row(aizu_passages, initiative="ネーミングライツ事業の検討")
    assert row.department == "財政課"
    assert row.section == "⑴ 持続可能な財政運営 > ②歳入の増加に向けた取組"
    fields = dict(row.fields)
    assert "市内の複数の企業を訪問" in fields["R6取組状況"]
    for label in ("内容", "R6取組状況", "今後の課題・方向性"):
        assert compact(fields[label]) in span_text(aizu, row)


def test_aizu_content_cells_lie_in_the_cited_lines(aizu: Document, aizu_passages: list[Passage]) -> None:
    for p in aizu_passages:
        assert compact(dict(p.fields)["内容"]) in span_text(aizu, p), p.initiative


def test_aizu_page_is_the_count_of_column_header_lines(aizu: Document, aizu_passages: list[Passage]) -> None:
    lines = aizu.text.split("\n")
    pages = sum(line.startswith("改革項目 具体的取組") for line in lines)
    for p in aizu_passages:
        assert p.page == sum(line.startswith("改革項目 具体的取組") for line in lines[: p.line_start])
    assert {p.page for p in aizu_passages} == set(range(1, pages + 1))


def test_aizu_field_text_has_no_line_wrapping_spaces(aizu_passages: list[Passage]) -> None:
    for p in aizu_passages:
        for label, value in p.fields:
            assert not re.search(r"[\u3040-\u9fff] [\u3040-\u9fff]", value), (label, value)
            assert value == value.strip(" \u3000\n"), (label, value)  # paragraph indents removed


# --- いわき市: a brochure ------------------------------------------------------------------------


def test_iwaki_bullets_are_their_own_passages(iwaki_passages: list[Passage]) -> None:
    by_text = {p.text: p for p in iwaki_passages}
    for item in ("テレワークを制度化（10月）", "スマホ市役所の開始（10月）", "保育DX（3月）"):
        assert item in by_text
        assert by_text[item].kind == "item"
        assert by_text[item].line_start == by_text[item].line_end


def test_iwaki_bullet_continuation_lines_join_their_item(iwaki_passages: list[Passage]) -> None:
    texts = {p.text for p in iwaki_passages}
    # "・行政MaaS車両による" + "出張行政サービスを開始（4月）" on the next line
    assert "行政MaaS車両による出張行政サービスを開始（4月）" in texts


def test_iwaki_population_sentence(iwaki_passages: list[Passage]) -> None:
    assert any("いわき市の人口は半減" in p.text for p in iwaki_passages)


def test_iwaki_no_passage_is_only_numbers(iwaki_passages: list[Passage]) -> None:
    for p in iwaki_passages:
        assert sum(c.isalpha() for c in p.text) >= 2, p.text


def test_iwaki_numbers_without_labels_are_dropped(iwaki: Document, iwaki_passages: list[Passage]) -> None:
    assert "\n2021 2022 2023 2024\n" in iwaki.text
    assert not any(p.text.strip() == "2021 2022 2023 2024" for p in iwaki_passages)


def test_iwaki_half_width_katakana_made_full_width(iwaki_passages: list[Passage]) -> None:
    text = "\n".join(p.text for p in iwaki_passages)
    assert "人材マネジメント" in text
    assert "行財政マネジメント" in text
    assert not re.search("[\uff61-\uff9f]", text)


def test_iwaki_letter_spacing_collapsed(iwaki_passages: list[Passage]) -> None:
    text = "\n".join(p.text for p in iwaki_passages)
    assert "公共施設の集中保全" in text
    assert "公 共 施 設" not in text
    assert "オンライン施設予約システム" in text
    assert "LINEを使った申請" in text
    assert "24時間いつでも" in text
    assert "AI会議録システム運用 BIツール" in text  # two words, not letter-spacing


def test_iwaki_passages_come_from_their_lines(iwaki: Document, iwaki_passages: list[Passage]) -> None:
    for p in iwaki_passages:
        assert compact(p.text) in span_text(iwaki, p), p.text


def test_iwaki_passages_have_no_section_or_initiative(iwaki_passages: list[Passage]) -> None:
    # The brochure has no Markdown headings: no section is guessed from nearby text.
    assert {p.kind for p in iwaki_passages} == {"item", "paragraph"}
    assert all(p.section == "" and p.initiative is None for p in iwaki_passages)


# --- a hand-written progress table -----------------------------------------------------------


@pytest.fixture(scope="module")
def table_doc() -> Document:
    return read_document(
        DATA / "corpus_table_fixture.txt",
        id="test-table",
        city="テスト市",
        title="テスト表",
        fiscal_year="R6",
    )


def test_table_fixture_rows(table_doc: Document) -> None:
    passages = split_passages(table_doc)
    got = [(p.section, p.initiative, p.department, p.page, dict(p.fields)) for p in passages]
    s1 = "⑴ テスト用の財政運営"
    s2 = "⑵ テスト用の窓口改革"
    expected = [
        (
            f"{s1} > ①架空の財政運営の推進",
            "架空予算の見える化",
            "テスト課",  # hoisted to the top of page 1
            1,
            {
                "内容": "架空の予算書を市民に分かりやすく示します。",
                "所管課": "テスト課",
                "R6取組状況": "架空の予算書を作成し、市民向けの説明会を開催した。",
                "今後の課題・方向性": "説明会の参加者が少なかったため、開催方法を見直していく。",
            },
        ),
        (
            f"{s1} > ①架空の財政運営の推進",
            "架空基金の積立",
            "会計課",
            1,
            {
                "内容": "架空の基金を計画的に積み立てます。",
                "所管課": "会計課",
                "R6取組状況": "架空の基金に計画どおり積み立てを行った。",
            },
        ),
        (
            f"{s1} > ②架空の業務の見直し",
            "架空業務の委託化",
            "窓口課",
            2,
            {
                "内容": "架空の窓口業務の委託化を検討します。",
                "所管課": "窓口課",
                "R6取組状況": "架空の窓口業務について、委託先の候補を調査した。",
                "今後の課題・方向性": "委託の効果を検証しながら、段階的に委託化を進めていく。",
            },
        ),
        (
            # A second 内容 under the same 具体的取組 opens a new row with the same initiative.
            f"{s1} > ②架空の業務の見直し",
            "架空業務の委託化",
            "テスト環境課",
            2,
            {
                "内容": "架空の清掃業務の委託化を検討します。",
                "所管課": "テスト環境課",
                "R6取組状況": "架空の清掃業務について、委託の費用を試算した。",
                "今後の課題・方向性": "費用対効果を比較し、委託化の是非を判断する。",
            },
        ),
        (
            f"{s2} > ①架空の窓口の改善",
            "架空手数料の電子決済",
            "テスト課",
            3,
            {
                "内容": "架空手数料の電子決済を検討します。",
                "所管課": "テスト課",
                "R6取組状況": "令和6年10月に導入完了",
                "今後の課題・方向性": "令和6年10月に導入完了。",
            },
        ),
    ]
    assert got == expected
    assert all(p.kind == "row" and p.fiscal_year == 2024 for p in passages)


def test_table_fixture_text_and_spans(table_doc: Document) -> None:
    passages = split_passages(table_doc)
    lines = table_doc.text.split("\n")
    first = passages[0]
    assert first.text == (
        "架空予算の見える化\n"
        "内容：架空の予算書を市民に分かりやすく示します。\n"
        "所管課：テスト課\n"
        "R6取組状況：架空の予算書を作成し、市民向けの説明会を開催した。\n"
        "今後の課題・方向性：説明会の参加者が少なかったため、開催方法を見直していく。"
    )
    # From the first line of its 内容 cell to the last line of its 今後の課題・方向性 cell.
    assert first.line_start == lines.index("架空の予算書を市民") + 1
    assert first.line_end == lines.index("を見直していく。") + 1
    last = passages[-1]
    assert last.line_start == lines.index("架空手数料の電子決") + 1
    assert last.line_end == last.line_start + 5
    for p in passages:
        assert "架空の例" not in p.text  # the running page header


def test_table_identical_rows_get_distinct_ids(table_doc: Document) -> None:
    # The last page printed twice: same section, initiative and text, so the same base id.
    text = table_doc.text.rstrip("\n")
    last_page = text[text.rindex(" テスト市行財政改革") :]
    doubled = dataclasses.replace(table_doc, text=text + "\n" + last_page + "\n")
    passages = split_passages(doubled)
    assert len(passages) == 6
    assert passages[-1].text == passages[-2].text
    assert passages[-1].id == passages[-2].id + "-2"
    assert len({p.id for p in passages}) == 6


# --- sheet rows (XLSX, CSV) ------------------------------------------------------------------


def sheet_doc(header: list[str], rows: list[list[str]], sheet: str = "取組一覧") -> Document:
    """A made-up テスト市 document holding one sheet's rows as records (row 1 is the header)."""
    records = tuple(
        Record(tuple(zip(header, row, strict=True)), row=n, sheet=sheet) for n, row in enumerate(rows, 2)
    )
    return Document(
        id="test-sheet", city="テスト市", title="テスト表", text="", source="t.xlsx", records=records
    )


ITEM_ROWS = [
    ["雪灯籠まつりの運営見直し", "実行委員会の事務を民間団体に移す。", "委託先を公募で選んだ。", "観光課"],
    ["公民館予約のオンライン化", "予約を電子申請で受け付ける。", "全館で電子申請を始めた。", "生涯学習課"],
    ["", "利用料の支払いも電子化する。", "キャッシュレス決済を試行した。", "生涯学習課"],  # merged 取組項目
]


def test_sheet_without_initiative_column_names_rows_by_its_item_column() -> None:
    passages = split_passages(sheet_doc(["取組項目", "内容", "取組状況", "所管課"], ITEM_ROWS))
    got = [(p.initiative, p.section, p.department, p.line_start) for p in passages]
    assert got == [
        ("雪灯籠まつりの運営見直し", "取組一覧", "観光課", 2),
        ("公民館予約のオンライン化", "取組一覧", "生涯学習課", 3),
        ("公民館予約のオンライン化", "取組一覧", "生涯学習課", 4),  # filled down from the merged cell
    ]
    # The name opens the text, as a 具体的取組 does, and is not repeated as a field.
    assert passages[0].text == (
        "雪灯籠まつりの運営見直し\n"
        "内容：実行委員会の事務を民間団体に移す。\n"
        "取組状況：委託先を公募で選んだ。\n"
        "所管課：観光課"
    )
    assert all(p.text.startswith(p.initiative + "\n") for p in passages)
    assert [list(dict(p.fields)) for p in passages] == [["内容", "取組状況", "所管課"]] * 3


def test_sheet_with_two_item_columns_names_rows_by_the_last() -> None:
    header = ["改革項目", "取組項目", "内容", "所管課"]
    rows = [["①観光の振興", *ITEM_ROWS[0][:2], ITEM_ROWS[0][3]]]
    (p,) = split_passages(sheet_doc(header, rows))
    assert (p.initiative, p.section) == ("雪灯籠まつりの運営見直し", "取組一覧 > ①観光の振興")
    assert p.text.startswith("雪灯籠まつりの運営見直し\n内容：")


def test_sheet_with_initiative_column_keeps_its_item_as_section() -> None:
    header = ["取組項目", "具体的取組", "内容", "所管課"]
    rows = [["①観光の振興", *ITEM_ROWS[0][:2], ITEM_ROWS[0][3]]]
    (p,) = split_passages(sheet_doc(header, rows))
    assert (p.initiative, p.section) == ("雪灯籠まつりの運営見直し", "取組一覧 > ①観光の振興")
    assert "①観光の振興" not in p.text


# --- a hand-written brochure -----------------------------------------------------------------


@pytest.fixture(scope="module")
def brochure() -> list[Passage]:
    doc = read_document(
        DATA / "corpus_brochure_fixture.txt", id="test-brochure", city="テスト市", title="テスト"
    )
    return split_passages(doc)


def test_brochure_fixture_bullets(brochure: list[Passage]) -> None:
    items = [(p.text, p.section) for p in brochure if p.kind == "item"]
    under = "テスト市の改革（フィクスチャ） > 主な取組"  # a ## heading under the # one
    assert items == [
        ("架空窓口のオンライン化（4月）", under),
        ("テスト用マネジメント研修の実施（全職員対象）", under),  # continuation line joined
        ("公共施設の点検", under),  # letter-spacing collapsed
    ]


def test_brochure_fixture_paragraphs(brochure: list[Passage]) -> None:
    paragraphs = [p for p in brochure if p.kind == "paragraph"]
    assert any(
        "テスト市は架空の市です。この文書はテスト用の例であり、実在の自治体とは関係ありません。" in p.text
        for p in paragraphs
    )
    last = paragraphs[-1]
    assert last.section == "テスト市の改革（フィクスチャ） > おわりに"
    assert "LINEを使った架空の申請を始めます。" in last.text
    assert "AI会議録システム運用 BIツール" in last.text


def test_brochure_fixture_drops_numbers_and_heading_lines(brochure: list[Passage]) -> None:
    for p in brochure:
        assert "2024" not in p.text and "100 200" not in p.text
        assert "##" not in p.text


def test_brochure_fixture_level_one_heading(brochure: list[Passage]) -> None:
    first = brochure[0]
    assert first.section == "テスト市の改革（フィクスチャ）"
    assert not first.text.startswith("#")


# --- property: plain text is covered ---------------------------------------------------------

WORD_CHARS = "あいうかきくさしたちなにのはまやらをテストデジタル公共施設改革市役所窓口abcxyzAB0123456789"
WORDS = st.text(alphabet=WORD_CHARS, min_size=1, max_size=6)
LINES = st.lists(WORDS, min_size=1, max_size=5).map(" ".join)
PARAGRAPHS = st.lists(LINES, min_size=1, max_size=4).map("\n".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(PARAGRAPHS, min_size=1, max_size=12))
@example(["0 AA", "A"])  # a heading over a lone letter, which makes no passage: the heading stays text
@example(["0 AA\nAA BB\n1 CC\nDD"])  # headings written straight above their text
def test_split_blocks_covers_every_paragraph(paragraphs: list[str]) -> None:
    doc = Document(
        id="test-prop",
        city="テスト市",
        title="テスト",
        text="\n\n".join(paragraphs),
        sha256="",
        source="generated",
    )
    passages = split_blocks(doc)
    assert all(p.text.strip() for p in passages)
    # a numbered heading line is not lost: it heads the section path of the passages under it; the lines
    # between headings stay together in one passage
    covered = [compact(p.text) for p in passages] + [compact(p.section) for p in passages]
    for paragraph in paragraphs:
        runs: list[list[str]] = [[]]
        for line in paragraph.split("\n"):
            if heading(line.strip()):
                runs += [[line], []]
            else:
                runs[-1].append(line)
        for run in filter(None, runs):
            text = "\n".join(run)
            if sum(c.isalpha() for c in text) >= 2:  # numbers alone may be dropped
                assert any(compact(text) in c for c in covered), (text, paragraph)


def test_brochure_passages_cite_the_page_the_text_marks(
    iwaki: Document, iwaki_passages: list[Passage]
) -> None:
    # Extraction opens each page with a one-space indent; a passage is on the page its first line is on.
    lines = iwaki.text.split("\n")
    marks = [n for n, line in enumerate(lines, 1) if re.match(r"^ [^ ]", line)]
    assert len(marks) >= 5
    pages = [p.page for p in iwaki_passages]
    assert all(isinstance(n, int) and n >= 1 for n in pages) and pages == sorted(pages)
    for p in iwaki_passages:
        # Oracle: 1 + the marked page starts at or before the passage's first line (a wrap inside an
        # open bullet item is not a page start, so count only the starts the passages themselves begin).
        assert p.page <= 1 + sum(m <= p.line_start for m in marks)
    # The 2022–2024 timeline is one page: its first and its last items are on it, the cover is page 1.
    first = next(p for p in iwaki_passages if "行政MaaS車両" in p.text)
    last = next(p for p in iwaki_passages if "保育DX" in p.text)
    assert first.page == last.page > 1
    assert iwaki_passages[0].page == 1


def _generated(text: str, city: str = "テスト市") -> Document:
    """A plain-text document of a fixture city, as a test writes it."""
    return Document(id="t", city=city, title="テスト", text=text, sha256="", source="generated")


def test_text_without_page_marks_cites_no_page() -> None:
    text = "架空の町の改革メモ（テスト用）。\n\n・窓口の受付時間を見直す\n・電子申請を広げる\n"
    doc = _generated(text, "テスト町")
    assert [p.page for p in split_blocks(doc)] == [None, None, None]


def test_a_text_that_indents_its_paragraphs_by_one_space_cites_no_page() -> None:
    # PDF text opens each page with one space; a text indenting every paragraph so had cited each
    # paragraph as a page of its own (p.2, p.3 …)
    paragraphs = [
        " 架空の窓口の受付時間を見直した。",
        " 架空の電子申請を広げた。",
        " 架空の公用車を減らした。",
    ]
    doc = _generated("テスト町の改革メモ（テスト用）\n" + "\n".join(paragraphs) + "\n", "テスト町")
    assert {p.page for p in split_blocks(doc)} == {None}
    # nor one whose paragraphs run over two lines
    wrapped = "".join(f" 架空の取組{n}を始めた。その成果は、\n架空の報告{n}に記した。\n" for n in range(6))
    assert {p.page for p in split_blocks(_generated(wrapped, "テスト町"))} == {None}
    # a PDF's text of short pages (slides of three lines) keeps them: one such line a page
    slides = "".join(
        f" 架空のスライド{n}（テスト用）\n架空の取組{n}を進めた。\n架空の成果{n}が出た。\n" for n in range(8)
    )
    assert sorted({p.page for p in split_blocks(_generated(slides, "テスト町"))}) == list(range(1, 9))


NUMBERED_TEXT = """\
テスト市 行政改革推進計画（テスト用の架空の文書）

第1章 計画の概要

本計画は架空の計画で、実在の市とは関係ありません。

第2章 取組

1 ペーパーレス化の推進

(1) 会議資料の電子化

会議資料をタブレットで配り、印刷を減らす。

2 窓口の改善

・受付番号をオンラインで知らせる

①「窓口」 ②「電子」
"""


def test_numbered_headings_of_plain_text_become_sections() -> None:
    doc = _generated(NUMBERED_TEXT)
    got = {p.text: p.section for p in split_blocks(doc)}
    title = "テスト市 行政改革推進計画（テスト用の架空の文書） > "  # its title line heads every section
    assert got["本計画は架空の計画で、実在の市とは関係ありません。"] == title + "第1章 計画の概要"
    assert got["会議資料をタブレットで配り、印刷を減らす。"] == (
        title + "第2章 取組 > 1 ペーパーレス化の推進 > (1) 会議資料の電子化"
    )
    # (1) closes with its number; ①… is numbered twice: text, not a heading
    assert got["受付番号をオンラインで知らせる"] == title + "第2章 取組 > 2 窓口の改善"
    assert got["①「窓口」 ②「電子」"] == title + "第2章 取組 > 2 窓口の改善"
    assert not any(
        t.startswith(("テスト市", "第1章", "第2章", "1 ペーパーレス")) for t in got
    )  # headings are no passages


def test_a_texts_title_line_over_its_first_heading_heads_its_sections() -> None:
    # the title line had been a passage of its own, citing nothing but the title, and a column's best
    title = "見本町 窓口改革 追加資料（架空の資料）"
    body = (
        "\n\n1 おくやみ窓口の設置\n架空の窓口を一か所にまとめた。"
        "\n\n2 予約のオンライン化\n架空の予約をスマートフォンで受け付けた。\n"
    )
    got = {p.text: p.section for p in split_blocks(_generated(title + body))}
    assert got == {
        "架空の窓口を一か所にまとめた。": f"{title} > 1 おくやみ窓口の設置",
        "架空の予約をスマートフォンで受け付けた。": f"{title} > 2 予約のオンライン化",
    }
    for other in ("令和6年度 架空市行財政改革実施計画", "架空市DX推進計画（案）", "Reform Plan 2025"):
        assert all(p.section.startswith(other + " > ") for p in split_blocks(_generated(other + body)))
    # a sentence (with or without its 。), or a title over prose rather than a heading, stays text
    sentences = ("見本町は架空の窓口を改めた。", "本町では架空の受付を見直しました", "架空の予約を始めます")
    sentences += ("架空の受付を見直している", "架空の改革を進めたい", "詳しくは架空のページをご覧ください")
    for text in (*(line + body for line in sentences), title + "\n\n架空の窓口を改めた。\n"):
        assert any(text.split("\n")[0] in p.text for p in split_blocks(_generated(text)))
    # a date, or a report's opening section, heads nothing: it would open every citation
    dates = ("令和7年3月", "令和７年（２０２５年）３月", "2025年3月31日（月）", "R7.3.31", "March 2025")
    for line in (*dates, "はじめに"):
        assert not any(line in p.section for p in split_blocks(_generated(line + body)))


def test_a_report_of_numbered_initiative_cards_gives_one_passage_per_card() -> None:
    # 取組1 … 【目標】【実績】【評価】 boxes, one per initiative: the whole page had been one passage citing
    # none of them
    cards = "テスト町 架空の取組シート（テスト用）\n\n" + "".join(
        f"取組{n}\u3000架空の{name} 所管：{dept}\n\n【目標】 {name}を進める。\n\n"
        f"【実績】 {name}を始めた。\n\n"
        for n, name, dept in (
            (1, "交通再編", "企画課"),
            (2, "温泉民営化", "観光課"),
            (3, "給食統合", "学校教育課"),
        )
    )
    got = split_blocks(_generated(cards))
    assert [p.section.split(" > ")[-1] for p in got] == [
        "取組1\u3000架空の交通再編 所管：企画課",
        "取組2\u3000架空の温泉民営化 所管：観光課",
        "取組3\u3000架空の給食統合 所管：学校教育課",
    ]
    assert all("【目標】" in p.text and "【実績】" in p.text for p in got)
    # a sentence or a column's name that opens with 取組 heads nothing
    assert heading("取組1件目を実施した。") is None and heading("取組状況") is None


def test_a_marked_title_straight_above_its_text_heads_it() -> None:
    # 「■ 窓口が変わります」 over its text had been one list item, glued: 「窓口が変わります令和6年度から…」
    text = (
        "■ 架空の窓口が変わります\n令和6年度から、架空の本庁舎の窓口を書かない窓口に切り替えた。\n\n"
        "導入後の架空の調査では、手続の時間が短くなった。\n\n"
        "■ 架空の施設を見直します\n架空の施設の約4割は築40年を超えており、統合を進めている。\n\n"
        "■予算の共通業務\n\n■市民サービスの個別業務\n\n"  # ■ lines alone stay items
        "■ 架空の項目が長くて一行に収まらず折り返された\n続きの文。\n"  # a wrapped item stays one
    )
    got = [(p.kind, p.section, p.text) for p in split_blocks(_generated(text))]
    assert got[0][1] == "架空の窓口が変わります" and got[0][2].startswith("令和6年度から、")
    assert "導入後の架空の調査" in got[0][2]  # the text after it stays under it
    assert got[1][1] == "架空の施設を見直します" and got[1][2].startswith("架空の施設の約4割")
    assert [(k, t) for k, _, t in got[2:4]] == [
        ("item", "予算の共通業務"),
        ("item", "市民サービスの個別業務"),
    ]
    assert got[4][0] == "item" and got[4][2].startswith("架空の項目が長くて")


def test_a_table_of_contents_is_no_passage_and_heads_nothing() -> None:
    # a report's 目次 had been three passages of leader dots and page numbers, one with the title glued
    # to 「目次」, and an entry had been the section over what followed
    toc = (
        "架空市 第4次行政改革大綱（架空の資料）\n目 次\n"
        "第1章 改革の基本的な考え方・・・・・・・・・・2\n1 改革の背景・・・・・2\n2 改革の目標……3\n"
        "第2章 重点取組........4\n\n"
    )
    body = "第1章 改革の基本的な考え方\n\n1 改革の背景\n架空の人口は減り続けている。\n"
    got = split_blocks(_generated(toc + body))
    assert [p.text for p in got] == ["架空の人口は減り続けている。"]
    assert got[0].section.endswith("第1章 改革の基本的な考え方 > 1 改革の背景")
    assert not any("・・・" in p.section or "目" in p.section.split(" > ")[0][-2:] for p in got)
    # dots in a sentence, or a number after a word, are text
    kept = "架空の計画は3か年…2025年度まで続く。\n架空の事業は「A・B・C」の3区分。\n"
    texts = "\n".join(p.text for p in split_blocks(_generated(kept)))
    assert "架空の計画は3か年…2025年度まで続く。" in texts and "「A・B・C」の3区分。" in texts


def test_a_paragraph_repeated_in_a_text_without_pages_is_kept_and_a_header_over_pages_is_not() -> None:
    header = "テスト市 架空の改革レポート（テスト用の見出し）"
    para = "窓口の受付時間を見直し、混雑する時間帯に職員を厚く配置した。"
    text = "\n\n".join([header, para] * 3)
    unpaged = _generated(text)
    # without pages nothing runs over them: each paragraph is a passage, the repeats too (one document
    # of a paragraph written three times had been refused as holding no text)
    assert sum(p.text.count(header) for p in split_passages(unpaged)) == 3
    pages = [f"{para}（{n}頁目）" for n in range(3)]
    text = "\n\n".join(f"{header}\n\n{page}" for page in pages)
    lines = text.split("\n")
    starts = tuple(n + 1 for n, line in enumerate(lines) if line == header)
    paged = dataclasses.replace(unpaged, text=text, page_starts=starts)  # each page opens with the header
    passages = split_passages(paged)
    assert passages and not any(header in p.text for p in passages)
    assert all(any(page in p.text for p in passages) for page in pages)


def test_markdown_headings_nest_by_level_and_numbered_ones_beneath_them() -> None:
    # a DOCX's headings (and a web page's h1–h6) had given only the nearest one as the section
    text = (
        "# 第2章 改革の取組（テスト用）\n\n## 1 デジタル化\n\n(1) 行政手続のオンライン化\n"
        "申請の八割を電子化した。\n\n## 2 財政\n\n基金を見直した。\n\n"
        "# 第3章 推進体制\n\n本部会議を開いた。\n"
    )
    doc = _generated(text)
    assert [(p.section, p.text) for p in split_blocks(doc)] == [
        (
            "第2章 改革の取組（テスト用） > 1 デジタル化 > (1) 行政手続のオンライン化",
            "申請の八割を電子化した。",
        ),
        ("第2章 改革の取組（テスト用） > 2 財政", "基金を見直した。"),
        ("第3章 推進体制", "本部会議を開いた。"),
    ]


def test_a_marked_line_short_of_the_width_is_a_line_of_its_own_in_prose() -> None:
    # a brochure's 「■ 職員の働き方を変える」 had been glued to the paragraph under it
    body = [
        "架空市では、フリーアドレス制の執務室を本庁",
        "舎で試行しました。固定席をなくし、部署を越え",
        "た打合せがしやすくなりました。令和6年度には",
        "全フロアに拡大しています（テスト用の例）。",
    ]
    text = "\n".join(["■ 職員の働き方を変える", *body, "あわせて無線LANを整備しました。"])
    doc = _generated(text)
    (passage,) = split_blocks(doc)
    # now it heads the paragraph, its section and the card's title (a marked title over its text)
    assert passage.section == "職員の働き方を変える"
    assert passage.text.startswith("架空市では、フリーアドレス制の執務室を本庁舎で試行しました。")
    # a marked line within prose, below its first line, still starts a line of its own
    text = "\n".join([*body, "■ 職員の働き方を変える", "あわせて無線LANを整備しました。"])
    (passage,) = split_blocks(_generated(text))
    assert "\n■ 職員の働き方を変える\n" in passage.text or "\n■職員の働き方を変える\n" in passage.text


def test_a_page_number_written_as_a_dash_item_is_no_passage() -> None:
    text = "・窓口の受付時間を見直した（テスト用）\n\n- 1 -\n\n・会議資料を電子化した（テスト用）\n\n- 2 -\n"
    doc = _generated(text)
    assert [p.text for p in split_blocks(doc)] == [
        "窓口の受付時間を見直した（テスト用）",
        "会議資料を電子化した（テスト用）",
    ]


def test_a_header_on_both_pages_of_a_two_page_document_is_dropped() -> None:
    header = "テスト市 行政改革実施計画 進捗状況（テスト用）"
    pages = ["窓口の受付時間を見直した（1頁目）。", "会議資料を電子化した（2頁目）。"]
    text = "\n\n".join(f"{header}\n\n{page}" for page in pages)
    lines = text.split("\n")
    starts = tuple(n + 1 for n, line in enumerate(lines) if line == header)
    doc = Document(
        id="t", city="テスト市", title="テスト", text=text, sha256="", source="generated", page_starts=starts
    )
    passages = split_passages(doc)
    assert not any(header in p.text for p in passages)
    assert all(any(page in p.text for p in passages) for page in pages)


def test_a_line_without_a_sentence_end_is_cut_into_passages_of_bounded_length() -> None:
    # a table flattened into one line had made one passage of 105,000 characters (minutes to embed)
    text = "行財政改革推進" * 15000
    doc = _generated(text)
    passages = split_blocks(doc)
    assert max(len(p.text) for p in passages) <= MAX_CHARS
    assert "".join(p.text for p in passages) == text


def test_a_heading_written_straight_above_its_text_heads_it() -> None:
    # No blank line between a numbered heading and its text (as people write plain-text reports): each
    # item is still a passage of its own under its heading, not glued to it and packed with the next.
    text = (
        "## 1 窓口サービスの改善（架空）\n\n"
        "(1) 書かない窓口の導入\n申請書を書かずに手続きができる窓口を導入した。\n\n"
        "(2) おくやみコーナーの設置\n遺族の手続きを一か所で受け付ける。\n"
        "(3) 窓口の案内\n案内板を改めた。\n"
    )
    doc = _generated(text)
    got = [(p.section, p.text) for p in split_blocks(doc)]
    assert got == [
        (
            "1 窓口サービスの改善（架空） > (1) 書かない窓口の導入",
            "申請書を書かずに手続きができる窓口を導入した。",
        ),
        ("1 窓口サービスの改善（架空） > (2) おくやみコーナーの設置", "遺族の手続きを一か所で受け付ける。"),
        ("1 窓口サービスの改善（架空） > (3) 窓口の案内", "案内板を改めた。"),
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("# 概要", (1, "概要")),
        ("### 取組", (3, "取組")),
        ("第3章 財政運営", (1, "第3章 財政運営")),
        ("第1節 予算", (2, "第1節 予算")),
        ("2 ペーパーレス化の推進", (3, "2 ペーパーレス化の推進")),
        ("２．窓口改革", (3, "２．窓口改革")),
        ("（１）電子申請", (4, "（１）電子申請")),
        ("⑵ 会議の見直し", (4, "⑵ 会議の見直し")),
        ("①\u3000おくやみ窓口の設置", (5, "①\u3000おくやみ窓口の設置")),
        ("2 4時間いつでも", None),  # a number split by extraction, not a heading
        ("2020 2040 2060", None),
        ("1 窓口を改善しました。", None),  # a sentence
        ("(1) 窓口 (2) 電子", None),
        ("3 " + "長" * 60, None),
    ],
)
def test_heading_levels(line: str, expected) -> None:
    assert heading(line) == expected


def test_lines_over_a_list_are_prose_packed_as_prose_is() -> None:
    # A lead sentence written straight above its list had been in no passage, and found by no search;
    # it is prose, packed with the prose before it as prose is
    text = (
        "テスト町の取組（テスト用）\n\n"
        "令和6年度は、押印の見直しを全庁で実施した。主な成果は次のとおり。\n"
        "・電子決裁の導入\n・テレワークの制度化\n"
    )
    doc = _generated(text, "テスト町")
    got = [(p.kind, p.text) for p in split_blocks(doc)]
    assert got == [
        (
            "paragraph",
            "テスト町の取組（テスト用）\n令和6年度は、押印の見直しを全庁で実施した。主な成果は次のとおり。",
        ),
        ("item", "電子決裁の導入"),
        ("item", "テレワークの制度化"),
    ]


# The table-of-contents pattern the splitter had used: the oracle its reading from the line's end agrees with
_CONTENTS_PATTERN = re.compile(r"[・.…‥･·．]{2,}\s*[0-9０-９]+\s*$|^(目次|もくじ|contents)$", re.IGNORECASE)


_CONTENTS_PIECES = ["・", ".", "…", "1", "２", " ", "\t", "\n", "x", "目次", "Contents", "章"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_CONTENTS_PIECES), max_size=10).map("".join))
def test_a_contents_line_is_told_as_the_pattern_tells_it(line: str) -> None:
    assert _contents(line) == (_CONTENTS_PATTERN.search(line) is not None)


def test_a_line_of_many_leader_dots_splits_at_once() -> None:
    # a 240 KB line of ・ had held `add` for minutes: the pattern tried every dot against the rest
    text = "■ テスト市（fixture）\n" + "・" * 80_000 + "x\n"
    assert not _contents(text.splitlines()[1])
    assert _contents("1 改革の背景・・・・・2") and _contents("目次")
