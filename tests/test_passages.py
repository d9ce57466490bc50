"""The memory-mapped passage table: round trip, decoding on demand, id positions, columns, damage."""

from __future__ import annotations

import numpy as np
import pytest
from fakes import FakeEmbedder

from corpus.passage import Passage
from index import passages as passages_module
from index.passages import COLUMNS, LINES, OFFSETS, PassageTable, write_passages
from index.store import load_index
from search.engine import Searcher


def make_passages() -> list[Passage]:
    """Two cities, three documents, rows sharing an initiative, text with newlines and odd characters."""
    out = []
    for d, (doc, city, year) in enumerate(
        [("a-plan", "会津若松市", 2024), ("a-memo", "会津若松市", None), ("b-plan", "いわき市", 2023)]
    ):
        for i in range(6):
            initiative = f"取組{i // 3}" if doc != "a-memo" else None
            out.append(
                Passage(
                    id=f"{doc}:{i:04d}",
                    doc_id=doc,
                    city=city,
                    document=f"{city}の計画 {d}",
                    text=f'第{i}項\n窓口の「改革」{"ー" * i} "quoted" \\ 😀',
                    fiscal_year=year,
                    section="1 > 2",
                    initiative=initiative,
                    department="総務課" if i % 2 else None,
                    kind="row" if initiative else ("item" if i % 2 else "paragraph"),
                    line_start=i,
                    line_end=i + 1,
                    fields=(("内容", f"内容{i}"), ("所管課", "総務課")) if initiative else (),
                )
            )
    return out


@pytest.fixture
def table(tmp_path) -> PassageTable:
    write_passages(tmp_path, iter(make_passages()))  # a generator: written as a stream
    return PassageTable.open(tmp_path)


def test_round_trip_as_a_sequence(table):
    want = make_passages()
    assert len(table) == len(want) == 18
    assert list(table) == want and table == want
    assert table[0] == want[0] and table[-1] == want[-1] and table[3:6] == want[3:6]
    assert [p.id for p in table] == [p.id for p in want]
    with pytest.raises(IndexError, match="18 passages"):
        table[18]


def test_passages_are_decoded_only_when_asked(tmp_path, monkeypatch):
    write_passages(tmp_path, make_passages())
    decoded = []
    real = Passage.from_dict.__func__
    monkeypatch.setattr(
        Passage, "from_dict", classmethod(lambda cls, d: decoded.append(d["id"]) or real(cls, d))
    )
    table = PassageTable.open(tmp_path)
    assert len(decoded) <= 2  # opening checks the first and the last line only
    decoded.clear()
    assert table[7].id == "a-memo:0001"
    assert decoded == ["a-memo:0001"]


def test_position_of_every_id_and_unknown_ids(table):
    for row, p in enumerate(make_passages()):
        assert table.position(p.id) == row
    with pytest.raises(KeyError):
        table.position("a-plan:9999")


def test_position_survives_hash_collisions(tmp_path, monkeypatch):
    monkeypatch.setattr(passages_module, "id_hash", lambda passage_id: 42)  # every id collides
    write_passages(tmp_path, make_passages())
    table = PassageTable.open(tmp_path)
    assert [table.position(p.id) for p in make_passages()] == list(range(18))
    with pytest.raises(KeyError):
        table.position("nope")


def test_columns_answer_filters_without_decoding(table):
    want = make_passages()
    assert table.labels["city"] == ["会津若松市", "いわき市"]
    np.testing.assert_array_equal(table.isin("city", ["いわき市"]), [p.city == "いわき市" for p in want])
    np.testing.assert_array_equal(
        table.isin("document", ["a-memo", "b-plan"]), [p.doc_id != "a-plan" for p in want]
    )
    np.testing.assert_array_equal(table.isin("kind", ["row"]), [p.kind == "row" for p in want])
    np.testing.assert_array_equal(table.isin("year", [2024]), [p.fiscal_year == 2024 for p in want])
    np.testing.assert_array_equal(table.column("year"), [p.fiscal_year or 0 for p in want])
    assert not table.isin("city", ["架空町"]).any()
    with pytest.raises(ValueError, match="unknown passage column"):
        table.column("colour")


def test_groups_join_rows_of_one_initiative_in_one_document(table):
    want = make_passages()
    groups = table.column("group")
    key = [(p.doc_id, p.initiative or p.id) for p in want]
    for i in range(len(want)):
        for j in range(len(want)):
            assert (groups[i] == groups[j]) == (key[i] == key[j])


def test_everything_is_memory_mapped_read_only(table):
    for name in COLUMNS:
        column = table.column(name)
        assert isinstance(column.base, np.memmap) and not column.flags.writeable


def test_empty_table(tmp_path):
    assert write_passages(tmp_path, []) == 0
    table = PassageTable.open(tmp_path)
    assert len(table) == 0 and list(table) == [] and not table.isin("city", ["x"]).any()
    with pytest.raises(KeyError):
        table.position("x")


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda d: (d / LINES).write_bytes((d / LINES).read_bytes()[:-3]), id="short-lines"),
        pytest.param(lambda d: np.save(d / OFFSETS, np.arange(3, dtype=np.int64)), id="offsets"),
        pytest.param(lambda d: np.save(d / COLUMNS["city"][0], np.full(18, 5, np.int32)), id="city-codes"),
        pytest.param(lambda d: (d / COLUMNS["kind"][0]).unlink(), id="missing-column"),
        pytest.param(
            lambda d: (d / LINES).write_bytes(b"\xff" * (d / LINES).stat().st_size), id="same-size-garbage"
        ),
    ],
)
def test_damaged_files_raise_value_error(tmp_path, damage):
    write_passages(tmp_path, make_passages())
    damage(tmp_path)
    with pytest.raises(ValueError, match="passage"):
        PassageTable.open(tmp_path)


def test_searcher_holds_no_passage_objects(built_index, monkeypatch):
    decoded = []
    real = Passage.from_dict.__func__
    monkeypatch.setattr(
        Passage, "from_dict", classmethod(lambda cls, d: decoded.append(d["id"]) or real(cls, d))
    )
    searcher = Searcher(load_index(built_index.index_dir), FakeEmbedder(32))
    decoded.clear()
    hits = searcher.search("電子決裁", 3, "hybrid", searcher.mask(["テスト市"]))
    assert len(decoded) == len(hits) == 3  # the hits, and nothing else
    assert searcher.passages[searcher.position(hits[0].passage.id)] == hits[0].passage


def test_lines_are_cited_as_a_span_or_one_line():
    base = {"id": "d:0", "doc_id": "d", "city": "テスト市", "document": "計画", "text": "x"}
    assert Passage(**base, line_start=12, line_end=18).lines() == "12–18"
    assert Passage(**base, line_start=173, line_end=173).lines() == "173"
    assert Passage(**base).lines() == ""
