"""Documents and manifests: decoding, fiscal years, TOML corpus manifests and city names."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corpus.cities import resolve_city
from corpus.document import (
    DEFAULT_CORPUS,
    Document,
    decode_text,
    fiscal_year_label,
    load_corpus,
    parse_fiscal_year,
    read_document,
)

FIXTURE_TEXT = "テスト市行財政改革の取組状況（架空の例）\n公共施設の見直しを進めます。\n令和6年度：ＤＸ推進\n"

# --- fiscal years ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "year"),
    [
        (2024, 2024),
        ("2024", 2024),
        ("2024年度", 2024),
        ("２０２４年度", 2024),
        ("令和6年度", 2024),
        ("令和６年度", 2024),
        ("令和6年", 2024),
        ("令和6", 2024),
        ("R6", 2024),
        ("r6", 2024),
        ("Ｒ６", 2024),
        ("R.6", 2024),
        ("R6年度", 2024),
        ("平成31年度", 2019),
        ("H31", 2019),
        ("令和元年度", 2019),
        ("令和元年", 2019),
        ("昭和64年", 1989),
        ("  令和7年度 ", 2025),
        ("FY2024", 2024),  # as English writes it: FY2024 is 令和6年度
        ("fy 2023", 2023),
        ("ＦＹ２０２４", 2024),
    ],
)
def test_parse_fiscal_year(value: object, year: int) -> None:
    assert parse_fiscal_year(value) == year


@pytest.mark.parametrize("value", [None, ""])
def test_parse_fiscal_year_absent(value: object) -> None:
    assert parse_fiscal_year(value) is None


@pytest.mark.parametrize(
    "value",
    # no year 0 of an era, nor one past an ended era's last (R0 had been 2018, 平成99年度 2087)
    [
        "来年度",
        "R",
        "令和",
        "2024-25",
        "FY24",  # two digits: no year (FY2024 is read)
        "R6年度度",
        True,
        1800,
        3000,
        2024.5,
        "R0",
        "令和0年度",
        "平成32年度",
        "H99",
        "昭和65年",
    ],
)
def test_parse_fiscal_year_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="fiscal year"):
        parse_fiscal_year(value)


@given(st.integers(min_value=1, max_value=80))
def test_reiwa_and_r_forms_agree(n: int) -> None:
    assert parse_fiscal_year(f"令和{n}年度") == parse_fiscal_year(f"R{n}") == 2018 + n


@given(st.integers(min_value=1, max_value=31))
def test_heisei_forms_agree(n: int) -> None:
    assert parse_fiscal_year(f"平成{n}年度") == parse_fiscal_year(f"H{n}") == 1988 + n


# --- decoding --------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932", "shift_jis", "euc_jp"])
def test_decode_text_round_trips(encoding: str) -> None:
    assert decode_text(FIXTURE_TEXT.encode(encoding)) == FIXTURE_TEXT


def test_decode_text_prefers_cp932_for_windows_only_characters() -> None:
    # ① and ㈱ exist in CP932 (NEC extensions) but not in plain Shift_JIS.
    text = "①テスト市の取組\n㈱フィクスチャによる委託"
    assert decode_text(text.encode("cp932")) == text


def test_decode_text_cleans_up() -> None:
    assert decode_text("公共\r\n施設\tﾏﾈｼﾞﾒﾝﾄ".encode("cp932")) == "公共\n施設 マネジメント"


@pytest.mark.parametrize("data", [b"", b"  \n\t\r\n"])
def test_decode_text_rejects_empty(data: bytes) -> None:
    with pytest.raises(ValueError, match=r"fixture\.txt is empty"):
        decode_text(data, "fixture.txt")


def test_decode_text_rejects_binary() -> None:
    with pytest.raises(ValueError, match="binary"):
        decode_text(b"%PDF-1.7\x00\x01\x02" + "テスト".encode(), "report.pdf")


def test_decode_text_rejects_undecodable() -> None:
    with pytest.raises(ValueError, match="not UTF-8, Shift_JIS/CP932 or EUC-JP"):
        decode_text(b"\xff\xfe\xfd\xfc abc", "odd.txt")


@pytest.mark.parametrize("encoding", ["cp932", "euc_jp"])
def test_read_document_legacy_encoding_fixture(tmp_path: Path, encoding: str) -> None:
    utf8 = tmp_path / "fixture_utf8.txt"
    legacy = tmp_path / f"fixture_{encoding}.txt"
    utf8.write_text(FIXTURE_TEXT, encoding="utf-8")
    legacy.write_bytes(FIXTURE_TEXT.encode(encoding))
    meta = {"id": "test-city", "city": "テスト市", "title": "テスト文書"}
    a, b = read_document(utf8, **meta), read_document(legacy, **meta)
    assert a.text == b.text == FIXTURE_TEXT
    # The hash is of the bytes on disk: a re-encoded file is a changed file.
    assert a.sha256 != b.sha256
    assert b.sha256 == hashlib.sha256(legacy.read_bytes()).hexdigest()


# --- read_document ---------------------------------------------------------------------------


def test_read_document_fields(tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    path.write_text(FIXTURE_TEXT, encoding="utf-8")
    doc = read_document(
        path,
        id="test-r6",
        city="テスト市",
        city_en="Fixture City",
        prefecture="テスト県",
        title="テスト市の改革（フィクスチャ）",
        fiscal_year="令和6年度",
        period="2022-2024",
        kind="brochure",
        layout="blocks",
        url="https://example.org/fixture.pdf",
    )
    assert doc.id == "test-r6"
    assert doc.city == "テスト市"
    assert doc.city_en == "Fixture City"
    assert doc.prefecture == "テスト県"
    assert doc.fiscal_year == 2024
    assert doc.period == "2022-2024"
    assert doc.kind == "brochure"
    assert doc.layout == "blocks"
    assert doc.url == "https://example.org/fixture.pdf"
    assert doc.source == "report.txt"
    assert doc.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    meta = doc.meta()
    assert "text" not in meta
    assert meta["city"] == "テスト市" and meta["fiscal_year"] == 2024


def test_read_document_defaults(tmp_path: Path) -> None:
    path = tmp_path / "plain.txt"
    path.write_text("テスト本文", encoding="utf-8")
    doc = read_document(path, id="t", city="テスト市", title="テスト")
    assert (doc.fiscal_year, doc.kind, doc.layout, doc.city_en, doc.prefecture) == (
        None,
        "report",
        "auto",
        "",
        "",
    )


def test_read_document_composes_city_name(tmp_path: Path) -> None:
    # A decomposed ダ (タ + combining voiced mark) from a file name or a Mac keyboard.
    path = tmp_path / "plain.txt"
    path.write_text("テスト本文", encoding="utf-8")
    doc = read_document(path, id="t", city="\u30bf\u3099ミー市", title="テスト")
    assert doc.city == "ダミー市"


def test_read_document_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        read_document(tmp_path / "nowhere.txt", id="t", city="テスト市", title="テスト")


def test_read_document_rejects_unknown_layout(tmp_path: Path) -> None:
    path = tmp_path / "plain.txt"
    path.write_text("テスト本文", encoding="utf-8")
    with pytest.raises(ValueError, match=r"layout 'grid' is not one of auto, table, blocks"):
        read_document(path, id="t", city="テスト市", title="テスト", layout="grid")


def test_document_is_frozen(tmp_path: Path) -> None:
    path = tmp_path / "plain.txt"
    path.write_text("テスト本文", encoding="utf-8")
    doc = read_document(path, id="t", city="テスト市", title="テスト")
    with pytest.raises(AttributeError):
        doc.city = "別の市"  # type: ignore[misc]


# --- manifests -------------------------------------------------------------------------------

ENTRY_A = """
[[document]]
id = "test-a"
file = "a.txt"
city = "テスト市"
city_en = "Fixture City"
title = "テスト市の改革（フィクスチャ）"
fiscal_year = "R6"
layout = "blocks"
"""
ENTRY_B = """
[[document]]
id = "test-b"
file = "sub/b.txt"
city = "フィクスチャ町"
title = "フィクスチャ町の取組状況"
fiscal_year = 2023
"""


def write_corpus(root: Path, manifest: str) -> Path:
    """A temporary corpus: two small text files and the given manifest text."""
    (root / "sub").mkdir(exist_ok=True)
    (root / "a.txt").write_text("テスト市は架空の市です。\n", encoding="utf-8")
    (root / "sub" / "b.txt").write_bytes("フィクスチャ町も架空です。\n".encode("cp932"))
    path = root / "corpus.toml"
    path.write_text(manifest, encoding="utf-8")
    return path


def test_load_corpus_reads_every_document(tmp_path: Path) -> None:
    docs = load_corpus(write_corpus(tmp_path, ENTRY_A + ENTRY_B))
    assert [d.id for d in docs] == ["test-a", "test-b"]
    a, b = docs
    assert (a.city, a.city_en, a.fiscal_year, a.layout) == ("テスト市", "Fixture City", 2024, "blocks")
    assert (b.city, b.fiscal_year, b.layout) == ("フィクスチャ町", 2023, "auto")
    assert a.text == "テスト市は架空の市です。\n"
    assert b.text == "フィクスチャ町も架空です。\n"  # CP932 on disk, relative to the manifest


@pytest.mark.parametrize("field", ["id", "city", "title"])
def test_load_corpus_names_missing_field(tmp_path: Path, field: str) -> None:
    entry = "\n".join(line for line in ENTRY_A.split("\n") if not line.startswith(f"{field} ="))
    with pytest.raises(ValueError, match=f"missing '{field}'"):
        load_corpus(write_corpus(tmp_path, entry + ENTRY_B))


def test_load_corpus_rejects_duplicate_ids(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="repeats a document id"):
        load_corpus(write_corpus(tmp_path, ENTRY_A + ENTRY_B.replace("test-b", "test-a")))


def test_load_corpus_rejects_empty_manifest(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"lists no \[\[document\]\]"):
        load_corpus(write_corpus(tmp_path, "# nothing here\n"))


def test_load_corpus_rejects_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot be read"):
        load_corpus(write_corpus(tmp_path, "[[document]\nid = "))


def test_load_corpus_rejects_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot be read"):
        load_corpus(tmp_path / "absent.toml")


def test_load_corpus_rejects_missing_text_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        load_corpus(write_corpus(tmp_path, ENTRY_A.replace("a.txt", "gone.txt")))


def test_load_corpus_rejects_bad_fiscal_year(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'来年度'"):
        load_corpus(write_corpus(tmp_path, ENTRY_A.replace('"R6"', '"来年度"')))


def test_default_corpus() -> None:
    docs = load_corpus()
    by_city = {d.city: d for d in docs}
    assert set(by_city) == {"会津若松市", "いわき市"}
    assert len({d.id for d in docs}) == len(docs)
    aizu, iwaki = by_city["会津若松市"], by_city["いわき市"]
    assert (aizu.city_en, aizu.fiscal_year, aizu.layout, aizu.prefecture) == (
        "Aizuwakamatsu",
        2024,
        "table",
        "福島県",
    )
    assert (iwaki.city_en, iwaki.fiscal_year, iwaki.layout) == ("Iwaki", 2024, "blocks")
    for doc in docs:
        data = (DEFAULT_CORPUS.parent / doc.source).read_bytes()
        assert doc.sha256 == hashlib.sha256(data).hexdigest()
        assert "\r" not in doc.text and "ﾏﾈｼﾞﾒﾝﾄ" not in doc.text
    assert "家庭ごみ処理有料化" in aizu.text
    assert "人材\nマネジメント" in iwaki.text  # half-width katakana in the PDF text made full-width


def test_document_meta_round_trips_to_document() -> None:
    doc = load_corpus()[0]
    assert Document(**doc.meta(), text=doc.text) == doc


# --- city names ------------------------------------------------------------------------------

CITIES = [("会津若松市", "Aizuwakamatsu"), ("いわき市", "Iwaki"), ("テスト市", "Fixture City")]


@pytest.mark.parametrize(
    ("name", "city"),
    [
        ("会津若松市", "会津若松市"),
        ("会津若松", "会津若松市"),
        ("Aizuwakamatsu", "会津若松市"),
        ("aizu-wakamatsu", "会津若松市"),
        ("AIZUWAKAMATSU", "会津若松市"),
        ("Aizu Wakamatsu", "会津若松市"),
        ("aizuwakamatsu-shi", "会津若松市"),
        ("Aizuwakamatsu City", "会津若松市"),
        ("ＡＩＺＵＷＡＫＡＭＡＴＳＵ", "会津若松市"),
        (" 会津若松市 ", "会津若松市"),
        ("いわき市", "いわき市"),
        ("いわき", "いわき市"),
        ("iwaki", "いわき市"),
        ("テスト市", "テスト市"),
        ("fixture-city", "テスト市"),
        ("FIXTURE", "テスト市"),
    ],
)
def test_resolve_city(name: str, city: str) -> None:
    assert resolve_city(name, CITIES) == city


@pytest.mark.parametrize("name", ["郡山市", "Koriyama", "", "   ", "市"])
def test_resolve_city_unknown_lists_known_cities(name: str) -> None:
    with pytest.raises(ValueError, match="unknown city") as err:
        resolve_city(name, CITIES)
    message = str(err.value)
    assert "会津若松市 (Aizuwakamatsu)" in message and "いわき市 (Iwaki)" in message and "テスト市" in message


def test_resolve_city_accepts_cities_without_english_name() -> None:
    assert resolve_city("フィクスチャ町", [("フィクスチャ町", "")]) == "フィクスチャ町"
    with pytest.raises(ValueError, match=r"known cities: フィクスチャ町$"):
        resolve_city("テスト市", [("フィクスチャ町", "")])


def test_a_name_of_another_kind_of_municipality_is_no_alias() -> None:
    # テスト町 alone indexed: テスト市 had been answered with it (府中市 for 府中町, 大和町 for 大和市)
    town = [("テスト町", "Tesuto")]
    assert resolve_city("テスト", town) == resolve_city("tesuto", town) == "テスト町"
    for other in ("テスト市", "テスト村", "テスト区", "テスト 市"):
        with pytest.raises(ValueError, match="unknown city"):
            resolve_city(other, town)
    # two of one name, each found by its own kind; the name alone is ambiguous
    both = [("テスト町", ""), ("テスト村", "")]
    assert resolve_city("テスト村", both) == "テスト村"
    with pytest.raises(ValueError, match="unknown city"):
        resolve_city("テスト市", both)  # it had been "ambiguous: テスト村, テスト町", neither asked for
    with pytest.raises(ValueError, match="ambiguous"):
        resolve_city("テスト", both)


def test_resolve_city_exact_name_wins_over_alias_collision() -> None:
    cities = [("テスト市", "Test City"), ("テスト町", "Test Town")]
    assert resolve_city("テスト市", cities) == "テスト市"
    assert resolve_city("テスト町", cities) == "テスト町"


@pytest.mark.parametrize(
    ("year", "label"),
    [
        (2024, "2024年度 / 令和6年度"),
        (2019, "2019年度 / 令和元年度"),
        (2018, "2018年度 / 平成30年度"),
        (1989, "1989年度 / 平成元年度"),
        (1988, "1988年度 / 昭和63年度"),
        (1900, "1900年度"),
    ],
)
def test_fiscal_year_label_gives_both_calendars(year: int, label: str) -> None:
    assert fiscal_year_label(year) == label
    if "/" in label:  # the label reads back as the same year, in either calendar
        western, era = label.split(" / ")
        assert parse_fiscal_year(western) == parse_fiscal_year(era) == year
