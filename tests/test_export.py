"""Exports of the theme matrix and the alignment: CSV (UTF-8 with BOM), Markdown, JSON, and the CLI."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import re
from pathlib import Path

import pytest
from conftest import KeywordEmbedder

from corpus.passage import Passage
from reform_search.cli import main
from reform_search.export import (
    BOM,
    CITATION,
    FORMATS,
    Sources,
    alignment_json,
    alignment_markdown,
    alignment_table,
    comparison_markdown,
    comparison_table,
    document_sources,
    matrix_markdown,
    matrix_table,
    render_alignment,
    render_comparison,
    render_matrix,
    xlsx,
)
from reform_search.output import APART, ENGLISH_NOTE, FEW, print_columns, quoted, source_text
from reform_search.render import comparison_html
from reform_search.workbook import heading
from search.align import Alignment, Pair, align
from search.compare import Column, Comparison, Evidence, compare
from search.hit import Hit
from search.labels import Match
from search.themes import DEFAULT_THEMES, Cell, Matrix, theme_matrix

THEMES = ["予算", "基金", "窓口", "雪かき", "港湾の浚渫工事"]
LINES = re.compile(r"^\d+(-\d+)?$")  # a span of lines, or one line


@pytest.fixture(scope="module")
def matrix(keyword_searcher) -> Matrix:
    """Mixed cells: strong where a town mentions the theme's word, none elsewhere."""
    m = theme_matrix(keyword_searcher, THEMES)
    assert {c.match for c in m.cells} == {"strong", "none"}  # both kinds of cell are exercised
    return m


@pytest.fixture(scope="module")
def sources(keyword_searcher) -> Sources:
    """The fixture index's source URLs and romaji names, as the CLI and the UI export with them."""
    return document_sources(keyword_searcher.index.documents)


@pytest.fixture(scope="module")
def alignment(keyword_searcher) -> Alignment:
    a = align(keyword_searcher, "テスト市", "サンプル町")
    assert a.only_a and a.only_b and any(p.counterpart for p in a.pairs)
    return a


def _rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a CSV export (after checking its BOM)."""
    assert text.startswith(BOM) and not text.startswith(BOM * 2)
    reader = csv.DictReader(io.StringIO(text[1:], newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def _cells(line: str) -> list[str]:
    """Cells of a Markdown table row, splitting on pipes that are not escaped."""
    assert line.startswith("|") and line.endswith("|"), line
    return [c.strip() for c in re.split(r"(?<!\\)\|", line[1:-1])]


def _table(markdown: str) -> list[list[str]]:
    """The first Markdown table of a document: header, then the rows (the --- line dropped)."""
    lines = markdown.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    table = [_cells(line) for line in lines[start:end]]
    assert all(set(c) <= {"-"} for c in table[1]), "second line is the delimiter row"
    return [table[0], *table[2:]]


def _expected_citation(p: Passage) -> dict[str, str]:
    return {
        "city": p.city,
        "document": p.document,
        "section": p.section,
        "initiative": p.initiative or "",
        "department": p.department or "",
        "page": str(p.page) if p.page else "",
        # a span, or its one line
        "lines": f"{p.line_start}-{p.line_end}" if p.line_end != p.line_start else str(p.line_start),
        "passage_id": p.id,
        "source_url": "",  # the fixture documents state no URL
    }


# --- matrix: CSV ----------------------------------------------------------------------------------------


def test_matrix_csv_has_a_bom_one_header_and_a_row_per_cell(matrix: Matrix) -> None:
    text = render_matrix(matrix, "csv")
    header, rows = _rows(text)
    assert header[:3] == ["theme", "match", "matching"] and set(CITATION) <= set(header)
    assert len(header) == len(set(header))
    assert text.count(",".join(header)) == 1  # the header row appears once
    assert [(r["theme"], r["city"]) for r in rows] == [(c.theme, c.city) for c in matrix.cells]
    assert [(r["match"], int(r["matching"])) for r in rows] == [(c.match, c.matching) for c in matrix.cells]


def test_matrix_csv_citations_are_filled_only_for_cells_with_a_passage(matrix: Matrix) -> None:
    _, rows = _rows(render_matrix(matrix, "csv"))
    for row, cell in zip(rows, matrix.cells, strict=True):
        citation = {k: row[k] for k in CITATION}
        if cell.best is None:
            # The city column still says which cell this is; everything else is empty.
            assert citation == {**dict.fromkeys(CITATION, ""), "city": cell.city}
            assert row["text"] == ""
        else:
            p = cell.best.passage
            assert citation == _expected_citation(p)
            assert LINES.match(row["lines"]) and row["passage_id"] and row["document"]
            assert row["text"] and "\n" not in row["text"]
            assert " ".join(p.text.split()).startswith(row["text"].rstrip("…"))
    # テスト市 cites rows of a progress table: section, initiative, 所管課 and page are all there.
    table_rows = [r for r, c in zip(rows, matrix.cells, strict=True) if c.best and c.city == "テスト市"]
    assert table_rows
    for row in table_rows:
        assert all(row[k] for k in CITATION if k != "source_url"), row


def test_matrix_workbook_opens_with_the_theme_by_city_grid(matrix: Matrix) -> None:
    import io as _io

    from openpyxl import load_workbook

    book = load_workbook(_io.BytesIO(render_matrix(matrix, "xlsx")))
    grid, cells = book.worksheets  # the grid a reader draws, then a row per cell with its citation
    rows = list(grid.values)
    assert list(rows[0]) == ["テーマ / theme", *matrix.cities]  # a city's name as it stands
    assert [r[0] for r in rows[1:]] == list(matrix.themes)
    for theme, row in zip(matrix.themes, rows[1:], strict=True):
        for city, shown in zip(matrix.cities, row[1:], strict=True):
            cell = matrix.cell(theme, city)
            assert shown == f"{Match(cell.match).label} ({cell.matching})"
    assert cells.max_row == len(matrix.cells) + 1


# --- matrix: Markdown -----------------------------------------------------------------------------------


def test_matrix_markdown_rows_columns_and_numbered_citations(matrix: Matrix) -> None:
    text = matrix_markdown(matrix)
    header, *rows = _table(text)
    assert header[1:] == list(matrix.cities)
    assert [r[0] for r in rows] == list(matrix.themes)
    assert all(len(r) == len(matrix.cities) + 1 for r in rows)
    notes = dict(re.findall(r"^(\d+)\. (.*)$", text, flags=re.M))
    expected_refs = 0
    for theme, row in zip(matrix.themes, rows, strict=True):
        for city, shown in zip(matrix.cities, row[1:], strict=True):
            cell = matrix.cell(theme, city)
            assert cell.match in shown and f"({cell.matching})" in shown
            ref = re.search(r"\[(\d+)\]", shown)
            assert (ref is not None) == (cell.best is not None), shown
            if ref:
                expected_refs += 1
                assert int(ref.group(1)) == expected_refs  # numbered in reading order
                note = notes[ref.group(1)]
                assert cell.best.passage.id in note and city in note
    assert len(notes) == expected_refs


# --- alignment: CSV, Markdown, JSON -----------------------------------------------------------------------


def _col(prefix: str, key: str) -> str:
    return f"{prefix}_{key.removeprefix('source_')}"  # source_url, not source_source_url


def test_alignment_csv_has_every_pair_with_both_citations(alignment: Alignment) -> None:
    header, rows = _rows(render_alignment(alignment, "csv"))
    assert {_col("source", k) for k in CITATION} | {_col("counterpart", k) for k in CITATION} <= set(header)
    assert "source_source_url" not in header and {"source_url", "counterpart_url"} <= set(header)
    pairs = [r for r in rows if r["row"] == "pair"]
    assert [r["source_passage_id"] for r in pairs] == [p.source.id for p in alignment.pairs]
    for row, pair in zip(pairs, alignment.pairs, strict=True):
        assert row["match"] == pair.match
        assert float(row["z"]) == pytest.approx(pair.z, abs=0.005)
        assert {k: row[_col("source", k)] for k in CITATION} == _expected_citation(pair.source)
        assert row["source_text"] == " ".join(pair.source.text.split())  # whole, not cut at 200
        other = {k: row[_col("counterpart", k)] for k in CITATION}
        if pair.counterpart is None:
            assert other == dict.fromkeys(CITATION, "") and row["counterpart_text"] == ""
        else:
            assert other == _expected_citation(pair.counterpart.passage)
            assert row["counterpart_text"]
    # What only B has is in the CSV too (it had been only in the workbook, Markdown and JSON)
    only = [r for r in rows if r["row"] != "pair"]
    assert {r["row"] for r in only} <= {f"only {alignment.city_b}"}
    assert [r["source_passage_id"] for r in only] == [p.id for p in alignment.only_b]
    assert all(r["match"] == "none" and r["counterpart_passage_id"] == "" for r in only)


def _only_sections(markdown: str) -> dict[str, list[str]]:
    """The ids listed under each "only in" heading of an alignment in Markdown."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in markdown.split("\n"):
        if line.startswith("## "):
            current = line
            sections[current] = []
        elif current and line.startswith("- "):
            sections[current] += re.findall(r"`([^`]+)`", line)
    return sections


def test_alignment_markdown_pairs_and_only_in_sections(alignment: Alignment) -> None:
    text = alignment_markdown(alignment)
    assert alignment.city_a in text.split("\n")[0] and alignment.city_b in text.split("\n")[0]
    header, *rows = _table(text)
    assert header == [alignment.city_a, "", alignment.city_b]
    assert len(rows) == len(alignment.pairs)
    for row, pair in zip(rows, alignment.pairs, strict=True):
        assert len(row) == 3
        assert f"`{pair.source.id}`" in row[0]
        assert pair.match in row[1]
        if pair.counterpart:
            assert f"`{pair.counterpart.passage.id}`" in row[2]
        else:
            assert row[2] == "該当なし"
    sections = _only_sections(text)
    assert len(sections) == 2
    (head_a, ids_a), (head_b, ids_b) = sections.items()
    assert alignment.city_a in head_a and f"({len(alignment.only_a)})" in head_a
    assert alignment.city_b in head_b and f"({len(alignment.only_b)})" in head_b
    assert ids_a == [p.id for p in alignment.only_a]
    assert ids_b == [p.id for p in alignment.only_b]


def test_alignment_markdown_says_none_when_one_city_has_nothing_of_its_own(alignment: Alignment) -> None:
    everything_shared = Alignment(alignment.city_a, alignment.city_b, alignment.pairs, (), ())
    sections = _only_sections(alignment_markdown(everything_shared))
    assert all(ids == [] for ids in sections.values())
    assert alignment_markdown(everything_shared).count("- (none)") == 2


def test_alignment_json_round_trip(alignment: Alignment) -> None:
    d = json.loads(alignment_json(alignment))
    assert (d["city_a"], d["city_b"]) == (alignment.city_a, alignment.city_b)
    assert [p["source"]["id"] for p in d["pairs"]] == [p.source.id for p in alignment.pairs]
    for got, pair in zip(d["pairs"], alignment.pairs, strict=True):
        assert got["match"] == pair.match
        assert Passage.from_dict(got["source"]) == pair.source
        if pair.counterpart is None:
            assert got["counterpart"] is None
        else:
            assert got["counterpart"]["id"] == pair.counterpart.passage.id
    assert d["only_a"] == [p.id for p in alignment.only_a]
    assert d["only_b"] == [p.id for p in alignment.only_b]


# --- texts that could break a Markdown table ---------------------------------------------------------------


def _passage(n: int, city: str, text: str) -> Passage:
    return Passage(
        id=f"fixture-doc:{n:010d}",
        doc_id="fixture-doc",
        city=city,
        document="テスト用 | 架空の文書",
        text=text,
        section="⑴ テスト|節",
        initiative="架空の取組",
        line_start=n,
        line_end=n + 2,
    )


HAZARDS = ["窓口|受付の見直し", "一行目\n二行目 | 三列目", "末尾のパイプ |", "改行\r\nCRLF の行"]


def test_markdown_escapes_pipes_and_newlines_in_passages() -> None:
    a = _passage(1, "テスト市", HAZARDS[0])
    b = _passage(2, "サンプル町", HAZARDS[1])
    c = _passage(3, "テスト市", HAZARDS[2])
    d = _passage(4, "サンプル町", HAZARDS[3])
    m = Matrix(
        ("テーマ",),
        ("テスト市", "サンプル町"),
        (
            Cell("テーマ", Column("テスト市", Match.STRONG, (Hit(a, 1, 1.0),), Evidence(5.0), 1)),
            Cell("テーマ", Column("サンプル町", Match.WEAK, (Hit(b, 1, 1.0),), Evidence(2.0), 1)),
        ),
    )
    header, *rows = _table(matrix_markdown(m))
    assert len(header) == 3 and len(rows) == 1 and len(rows[0]) == 3
    pairs = (
        Pair(a, Column("サンプル町", Match.STRONG, (Hit(b, 1, 0.9),), Evidence(5.0), 1)),
        Pair(c, Column("サンプル町", Match.NONE, (), Evidence(0.1))),
    )
    text = alignment_markdown(Alignment("テスト市", "サンプル町", pairs, (c,), (d,)))
    header, *rows = _table(text)
    assert len(rows) == 2 and all(len(r) == 3 for r in rows)
    assert "窓口\\|受付の見直し" in rows[0][0]  # the pipe is kept, escaped
    assert [ids for ids in _only_sections(text).values()] == [[c.id], [d.id]]


@pytest.mark.parametrize(
    "theme",
    [
        "窓口|受付",
        "一行目\n二行目",
        "一行目\r\n二行目",
    ],
)
def test_markdown_theme_with_a_pipe_or_newline_stays_one_row(theme: str) -> None:
    m = Matrix((theme,), ("テスト市",), (Cell(theme, Column("テスト市", Match.NONE, (), Evidence(0.0))),))
    lines = [line for line in re.split(r"\r\n|\r|\n", matrix_markdown(m)) if line.strip()]
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == 3  # header, delimiter, one theme row
    assert not [line for line in lines if not line.startswith("|") and "二行目" in line]
    assert len(_cells(table[2])) == 2


# --- formats ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xls", "CSV", "markdown", ""])
def test_unknown_format_is_a_value_error(matrix: Matrix, alignment: Alignment, fmt: str) -> None:
    with pytest.raises(ValueError, match="csv, xlsx, md, json"):
        render_matrix(matrix, fmt)
    with pytest.raises(ValueError, match="unknown format"):
        render_alignment(alignment, fmt)


def test_render_dispatches_every_format(matrix: Matrix, alignment: Alignment) -> None:
    assert set(FORMATS) == {"csv", "xlsx", "md", "json"}
    assert render_matrix(matrix, "xlsx")[:2] == render_alignment(alignment, "xlsx")[:2] == b"PK"  # a zip
    assert render_matrix(matrix, "csv").lstrip(BOM).startswith(",".join(matrix_table(matrix)[0]))
    assert render_matrix(matrix, "md") == matrix_markdown(matrix)
    assert json.loads(render_matrix(matrix, "json")) == matrix.to_dict()
    assert render_alignment(alignment, "csv").lstrip(BOM).startswith(",".join(alignment_table(alignment)[0]))
    assert render_alignment(alignment, "md") == alignment_markdown(alignment)
    assert render_alignment(alignment, "json") == alignment_json(alignment)


# --- the CLI: themes and align, on the keyword fixture index ------------------------------------------------


@pytest.fixture
def cli(keyword_index, monkeypatch, capsys, clean_env):
    """Run main() on the keyword fixture index with its embedder; returns (code, stdout, stderr)."""
    import reform_search.manage as manage

    monkeypatch.setattr(manage, "embedder_for", lambda settings: KeywordEmbedder())

    def run(*args: str) -> tuple[int, str, str]:
        paths = ["--index-dir", str(keyword_index.index_dir), "--cache-dir", str(keyword_index.cache_dir)]
        code = main([*args, *paths])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def themes_file(tmp_path: Path) -> Path:
    path = tmp_path / "themes.txt"
    path.write_text("# テスト用のテーマ\n" + "\n".join(THEMES) + "\n", encoding="utf-8")
    return path


def test_cli_themes_csv_to_a_file_equals_stdout(
    cli, themes_file: Path, tmp_path: Path, matrix, sources
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "テーマ.csv"
    code, out, err = cli("themes", "--themes", str(themes_file), "--format", "csv", "--output", str(target))
    assert code == 0 and out == "" and str(target) in err
    assert os.listdir(out_dir) == ["テーマ.csv"]  # no temporary file left beside it
    written = target.read_bytes().decode("utf-8")
    code, out, _ = cli("themes", "--themes", str(themes_file), "--format", "csv")
    assert code == 0
    assert written == out == render_matrix(matrix, "csv", sources)
    assert written.startswith(BOM) and "\r\n" in written  # Excel-friendly CSV kept byte for byte


def test_cli_output_replaces_a_file_and_keeps_it_when_writing_fails(
    cli, themes_file: Path, tmp_path: Path, monkeypatch
) -> None:
    target = tmp_path / "matrix.md"
    target.write_text("古い内容（テスト用）\n", encoding="utf-8")
    code, _, _ = cli("themes", "--themes", str(themes_file), "--output", str(target))
    assert code == 0 and target.read_text(encoding="utf-8").startswith("| テーマ")  # md by default
    target.write_text("古い内容（テスト用）\n", encoding="utf-8")  # what a failed write must leave
    before = target.read_bytes()

    real_replace = os.replace

    def failing_replace(src, dst):
        if Path(dst) == target:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    code, out, err = cli("themes", "--themes", str(themes_file), "--format", "md", "--output", str(target))
    assert code == 2 and out == "" and str(target) in err and "No space left" in err
    assert target.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["matrix.md", "themes.txt"]  # the temporary file is gone


def test_cli_output_to_a_missing_directory_exits_2(cli, themes_file: Path, tmp_path: Path) -> None:
    code, _, err = cli("themes", "--themes", str(themes_file), "--output", str(tmp_path / "nope" / "m.md"))
    assert code == 2 and "cannot write" in err
    assert not (tmp_path / "nope").exists()


def test_cli_output_writes_through_a_link_and_refuses_what_is_no_file(
    cli, themes_file: Path, tmp_path: Path, matrix, sources
) -> None:
    # A link is written through (it had been replaced by a file of its own, the target left as it was)
    target, link = tmp_path / "target.md", tmp_path / "link.md"
    target.write_text("古い内容（テスト用）\n", encoding="utf-8")
    link.symlink_to(target)
    code, _, _ = cli("themes", "--themes", str(themes_file), "--output", str(link))
    assert code == 0 and link.is_symlink() and target.read_text(encoding="utf-8").startswith("| テーマ")
    # A FIFO or a device is no file to replace (/dev/full had become a file, its ENOSPC never seen)
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    code, _, err = cli("themes", "--themes", str(themes_file), "--output", str(fifo))
    assert code == 2 and "is not a regular file" in err and err.count("\n") == 1
    assert not fifo.is_file()
    # Without --format, the suffix names it: a .csv holds CSV, a .xlsx a workbook
    code, _, _ = cli("themes", "--themes", str(themes_file), "--output", str(tmp_path / "m.csv"))
    assert code == 0 and (tmp_path / "m.csv").read_bytes().decode() == render_matrix(matrix, "csv", sources)
    code, _, _ = cli("themes", "--themes", str(themes_file), "--output", str(tmp_path / "m.xlsx"))
    assert code == 0 and (tmp_path / "m.xlsx").read_bytes()[:2] == b"PK"


def test_cli_format_then_suffix_then_json_alike_in_every_export(
    cli, themes_file: Path, matrix, tmp_path, sources
) -> None:
    # --json, passed by habit in scripts, had overridden --format and the file's suffix in themes and
    # align but not in compare: a .xlsx file held JSON
    code, out, _ = cli("themes", "--themes", str(themes_file), "--json")
    assert code == 0 and json.loads(out) == matrix.to_dict()
    code, out, _ = cli("themes", "--themes", str(themes_file), "--format", "csv", "--json")
    assert code == 0 and out == render_matrix(matrix, "csv", sources)
    for command in (
        ("themes", "--themes", str(themes_file)),
        ("align", "テスト市", "サンプル町"),
        ("compare", "電子決裁"),
    ):
        book = tmp_path / f"{command[0]}.xlsx"
        code, _, _ = cli(*command, "--output", str(book), "--json")
        assert code == 0 and book.read_bytes()[:2] == b"PK", command
        code, out, _ = cli(*command, "--format", "md", "--json")
        assert code == 0 and out.lstrip().startswith(("|", "#")), command


def test_cli_themes_bad_themes_file_exits_2(cli, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("# only a comment\n", encoding="utf-8")
    code, out, err = cli("themes", "--themes", str(empty))
    assert code == 2 and out == "" and "no themes" in err


def test_cli_align_markdown(cli, alignment: Alignment) -> None:
    code, out, _ = cli("align", "Testshi", "サンプル町", "--format", "md")
    assert code == 0
    assert out == alignment_markdown(alignment)
    assert f"only in {alignment.city_a}" in out and f"only in {alignment.city_b}" in out
    code, out, _ = cli("align", "テスト市", "サンプル町", "--json")
    assert code == 0 and json.loads(out)["only_b"] == [p.id for p in alignment.only_b]


def test_cli_align_same_city_exits_2(cli) -> None:
    code, out, err = cli("align", "テスト市", "testshi")
    assert code == 2 and out == "" and "two different cities" in err


# --- one real run: the default themes of the real corpus as CSV -------------------------------------


@pytest.mark.model
def test_real_themes_csv(real_index, real_searcher, capsys, clean_env, tmp_path: Path) -> None:
    target = tmp_path / "themes.csv"
    paths = ["--index-dir", str(real_index.index_dir), "--cache-dir", str(real_index.cache_dir)]
    assert main(["themes", "--format", "csv", "--output", str(target), *paths]) == 0
    capsys.readouterr()
    _, rows = _rows(target.read_bytes().decode("utf-8"))
    m = theme_matrix(real_searcher)
    assert len(rows) == len(m.themes) * len(m.cities) == len(DEFAULT_THEMES) * 2
    passages = {p.id: p for p in real_searcher.passages}
    for row, cell in zip(rows, m.cells, strict=True):
        assert (row["theme"], row["city"], row["match"]) == (cell.theme, cell.city, cell.match)
        if cell.best is None:
            assert row["passage_id"] == row["lines"] == row["document"] == ""
        else:
            p = passages[row["passage_id"]]
            assert {k: row[k] for k in CITATION} == _expected_citation(p)
            assert LINES.match(row["lines"])


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted() -> None:
    from reform_search.export import _csv

    text = _csv(["a", "b"], [{"a": '=HYPERLINK("x")', "b": "普通の文"}, {"a": "@SUM(1)", "b": "-1+2"}])
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[1] == ['\'=HYPERLINK("x")', "普通の文"] and rows[2] == ["'@SUM(1)", "'-1+2"]


# --- the comparison view as CSV / Markdown / JSON -------------------------------------------------------


def test_a_comparison_of_many_cities_opens_with_every_verdict_on_one_line() -> None:
    def col(city: str, match: Match) -> Column:
        return Column(city, match, (), Evidence(1.0), int(match != Match.NONE))

    three = Comparison(
        "電子決裁", (col("テスト市", Match.STRONG), col("サンプル町", Match.NONE), col("例示村", Match.WEAK))
    )
    line = "テスト市 ◎ · サンプル町 × · 例示村 ○"
    assert comparison_markdown(three).splitlines()[2] == line
    out = io.StringIO()
    print_columns(three.query, three.columns, out=out)
    assert line in out.getvalue().splitlines()[1]
    two = dataclasses.replace(three, columns=three.columns[:2])  # two columns are their own summary
    assert "·" not in comparison_markdown(two)


def test_comparison_exports_name_the_compounds_a_city_writes_only_apart() -> None:
    evidence = Evidence(2.0, apart=("=HYPERLINK(1)", "ペーパーレス化"))
    c = Comparison("ペーパーレス化", (Column("テスト市", Match.WEAK, (), evidence, 0),))
    header, rows = comparison_table(c)
    assert header.index("apart") == header.index("absent") + 1
    assert rows[0]["apart"] == "=HYPERLINK(1)、ペーパーレス化"
    assert f"{APART}: =HYPERLINK(1)、ペーパーレス化" in comparison_markdown(c)
    out = io.StringIO()
    print_columns(c.query, c.columns, out=out)
    assert f"   {APART}: =HYPERLINK(1)、ペーパーレス化" in out.getvalue().splitlines()
    (row,) = csv.DictReader(io.StringIO(render_comparison(c, "csv").lstrip("\ufeff")))
    assert row["apart"] == "'=HYPERLINK(1)、ペーパーレス化"  # as no formula, like every other cell
    none = Comparison(c.query, (dataclasses.replace(c.columns[0], evidence=Evidence(2.0)),))
    assert APART not in comparison_markdown(none) and comparison_table(none)[1][0]["apart"] == ""


def test_an_english_question_s_comparison_table_says_its_labels_are_less_certain() -> None:
    # the CSV and the workbook had lost the caveat the screen, the CLI and the Markdown give
    col = Column("テスト市", Match.WEAK, (), Evidence(2.0), 1)
    english = comparison_table(Comparison("paperless administration", (col,), english=True))
    japanese = comparison_table(Comparison("ペーパーレス", (col,)))
    assert english[1][0]["english_query"] == "yes" and japanese[1][0]["english_query"] == ""
    assert heading("english_query").startswith("英語の質問")


def test_comparison_exports_name_the_words_a_city_never_writes() -> None:
    c = Comparison(
        "議員定数の削減", (Column("テスト市", Match.NONE, (), Evidence(0.1, absent=("議員定数",)), 0),)
    )
    _, rows = comparison_table(c)
    assert rows[0]["absent"] == "議員定数"
    assert "資料にない語 / not in this city's documents: 議員定数" in comparison_markdown(c)
    assert "less certain" not in comparison_markdown(c)
    english = comparison_markdown(dataclasses.replace(c, english=True)).splitlines()
    assert english[2] == " / ".join(ENGLISH_NOTE)  # above the cities
    assert FEW not in comparison_markdown(c)
    few = Comparison(c.query, (dataclasses.replace(c.columns[0], evidence=Evidence(3.0, few=True)),))
    assert FEW in comparison_markdown(few).splitlines()  # under its city
    out = io.StringIO()
    print_columns(few.query, few.columns, out=out)
    assert f"   {FEW}" in out.getvalue().splitlines()


def test_markdown_shows_markup_as_written_and_cites_only_what_a_passage_has() -> None:
    # A Markdown viewer runs HTML: a query or a document's <img onerror=…> had reached it as markup
    hostile = "<img src=x onerror=alert(1)> & ごみ ![](https://example.invalid/t.png) [x](javascript:1)"
    row = dataclasses.replace(_passage(3, "<b>テスト市</b>", hostile), line_start=None, line_end=None)
    c = Comparison(hostile, (Column("<b>テスト市</b>", Match.WEAK, (Hit(row, 1, 1.0),), Evidence(1.0), 1),))
    md = comparison_markdown(c)
    assert "<img" not in md and "<b>" not in md
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; ごみ" in md and "## &lt;b&gt;テスト市&lt;/b&gt;" in md
    # nor an image fetched from anywhere, nor a link: their `](` is broken
    assert "](" not in md and "![]\\(https://example.invalid/t.png)" in md and "[x]\\(javascript:1)" in md
    # a table row within a text has no line numbers: no empty 「l.」 in its citation
    assert f"(`{row.id}`)" in md and "l.;" not in md and "(; " not in md
    # nor a dangling separator in the terminal's citation line
    assert source_text(Hit(row, 1, 1.0)) == "<b>テスト市</b> · テスト用 | 架空の文書"
    assert source_text(Hit(_passage(3, "テスト市", "x"), 1, 1.0)).endswith(" · l.3–5")


def test_markdown_citations_read_plainly_in_a_text_editor() -> None:
    # from a planner's walkthrough: the section path's > had read 「&gt;」 in Notepad, the department
    # (on screen and in CSV) was missing, and a title quoting 「…」 had been wrapped in 「」 again
    row = dataclasses.replace(
        _passage(3, "テスト市", "庁内の押印を見直す"),
        document="「テスト計画」における令和6年度の取組状況",
        section="⑴ 行政サービス > ①デジタル化",
        department="総務課",
    )
    column = Column("テスト市", Match.WEAK, (Hit(row, 1, 1.0),), Evidence(1.0), 1)
    md = comparison_markdown(Comparison("押印", (column,)))
    cited = next(line for line in md.splitlines() if row.id in line)
    assert "&gt;" not in cited and "⑴ 行政サービス › ①デジタル化 › 架空の取組" in cited
    assert f"(l.3-5; 所管課 / department: 総務課; `{row.id}`)" in cited  # one space after each ;
    assert "テスト市『「テスト計画」における令和6年度の取組状況』" in cited
    assert quoted("テスト計画") == "「テスト計画」"
    first = comparison_markdown(Comparison("「押印」の廃止", (column,))).splitlines()[0]
    assert first.startswith("# 『「押印」の廃止』の比較")
    assert "『「押印」の廃止』の比較" in comparison_html(
        Comparison("「押印」の廃止", (column,))
    )  # on screen too


def test_cli_compare_exports_every_shown_passage_with_its_citation(cli, keyword_searcher, tmp_path) -> None:
    from search.compare import compare

    result = compare(keyword_searcher, "基金", top_k=2)
    code, out, _ = cli("compare", "基金", "--top-k", "2", "--format", "csv")
    assert code == 0 and out.startswith(BOM)
    rows = list(csv.DictReader(io.StringIO(out[len(BOM) :])))
    # Oracle: one row per city and shown passage (a city showing none: one row), in the columns' order.
    want = [(col.city, h.passage.id) for col in result.columns for h in col.hits] + [
        (col.city, "") for col in result.columns if not col.hits
    ]
    assert [(r["city"], r["passage_id"]) for r in rows] == want
    # a counted passage carries its label, any other shown passage none (on screen: no mark)
    labels = [str(m) if m != "none" else "" for col in result.columns for m in col.hit_matches]
    assert [r["passage_match"] for r in rows if r["passage_id"]] == labels and any(labels)
    for r in rows:
        col = next(c for c in result.columns if c.city == r["city"])
        assert (r["match"], int(r["matching"]), r["query"]) == (col.match, col.matching, "基金")
        assert r["absent"] == "、".join(col.evidence.absent)
        assert set(CITATION) <= set(r)
    code, md, _ = cli("compare", "基金", "--top-k", "2", "--format", "md")
    assert code == 0 and md.startswith("# 「基金」の比較")
    for col in result.columns:
        assert f"## {col.city}: " in md
    code, js, _ = cli("compare", "基金", "--top-k", "2", "--format", "json")
    assert code == 0 and json.loads(js) == result.to_dict()
    target = tmp_path / "比較.md"  # --output alone writes Markdown, atomically
    code, out, err = cli("compare", "基金", "--top-k", "2", "--output", str(target))
    assert code == 0 and out == "" and str(target) in err and target.read_text(encoding="utf-8") == md


# --- Excel workbooks ------------------------------------------------------------------------------------


def _sheets(path: Path) -> dict[str, list[list]]:
    from openpyxl import load_workbook

    book = load_workbook(path)
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"  # the header row stays in view
        assert all(cell.font.bold for cell in sheet[1])
    sheets = {s.title: [[c.value for c in row] for row in s.iter_rows()] for s in book.worksheets}
    for rows in sheets.values():  # a header reads 「市町村 / city」: Japanese first, then the CSV's key
        keys = [str(c).rsplit(" / ", 1)[-1] for c in rows[0]]
        sides = any(k.startswith("counterpart_") for k in keys)
        assert all(c == heading(k, sides) for c, k in zip(rows[0], keys, strict=True))
        rows[0] = [str(c).rsplit(" / ", 1)[-1] for c in rows[0]]
    return sheets


def test_cli_xlsx_exports_open_with_their_citations(cli, themes_file: Path, tmp_path: Path, matrix) -> None:
    target = tmp_path / "テーマ.xlsx"
    code, out, err = cli("themes", "--themes", str(themes_file), "--format", "xlsx", "--output", str(target))
    assert code == 0 and out == "" and str(target) in err
    grid, rows = _sheets(target).values()  # the theme × city grid first
    assert grid[0] == ["theme", *matrix.cities] and len(grid) == len(matrix.themes) + 1
    header, body = rows[0], rows[1:]
    assert header[:3] == ["theme", "match", "matching"] and set(CITATION) <= set(header)
    # Oracle: the same table as the CSV, row for row, the label written with its mark and names.
    _, want = matrix_table(matrix)
    assert len(body) == len(want)
    for got, row in zip(body, want, strict=True):
        cells = dict(zip(header, got, strict=True))
        assert cells["match"] == Match(row["match"]).label  # e.g. "◎ 該当あり strong"
        assert (cells["theme"], cells["city"], cells["matching"]) == (
            row["theme"],
            row["city"],
            row["matching"],
        )
        assert (cells["passage_id"] or "") == row["passage_id"]
        assert cells["page"] == (int(row["page"]) if row["page"] else None)  # a number, not text

    target = tmp_path / "align.xlsx"
    code, *_ = cli("align", "テスト市", "サンプル町", "--format", "xlsx", "--output", str(target))
    sheets = _sheets(target)
    assert code == 0 and len(sheets) == 3  # the pairs, and what only each city has
    header, *body = next(iter(sheets.values()))
    assert "source_passage_id" in header
    assert all(isinstance(r[header.index("z")], float) for r in body if r[0] == "pair")

    target = tmp_path / "compare.xlsx"
    code, *_ = cli("compare", "基金", "--format", "xlsx", "--output", str(target))
    (rows,) = _sheets(target).values()
    assert code == 0 and rows[0][:2] == ["query", "match"] and rows[1][0] == "基金"


def test_workbook_headers_are_japanese_first() -> None:
    # a planner opening the workbook had read English keys only (query, match, passage_id …)
    assert heading("city") == "市町村 / city" and heading("passage_match") == "箇所の判定 / passage_match"
    assert heading("counterpart_initiative") == "対応する取組 / counterpart_initiative"
    assert (
        heading("source_url") == "出典URL / source_url"
        and heading("counterpart_url") == "対応するURL / counterpart_url"
    )
    assert heading("z") == "z" and heading("会津若松市") == "会津若松市"
    assert heading("source_url", sides=True) == "元のURL / source_url"  # align's first side
    header, _ = comparison_table(Comparison("x", ()))
    assert all(" / " in heading(k) for k in header)  # every column of a comparison is named


def test_xlsx_cells_cannot_run_as_formulas_and_sheet_names_are_valid() -> None:
    from openpyxl import load_workbook

    # a city's name is a column's head in the theme grid: an uploaded 「=HYPERLINK(…)」 city had been a
    # live formula there
    city = '=HYPERLINK("http://example.invalid/x","テスト市")'
    data = xlsx([("a/b:c*?[x]" + "長" * 40, ["text", city], [{"text": '=HYPERLINK("x")'}])])
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"rs-{os.getpid()}.xlsx"
    path.write_bytes(data)
    try:
        sheet = load_workbook(path).worksheets[0]
    finally:
        path.unlink()
    assert len(sheet.title) <= 31 and not re.search(r"[\[\]:*?/\\]", sheet.title)
    # Text as it stands, typed as text (the CSV's quote had been written into the workbook's cell)
    assert sheet["A2"].value == '=HYPERLINK("x")' and sheet["A2"].data_type == "s"
    assert sheet["B1"].value == city and sheet["B1"].data_type == "s"


def test_source_urls_are_cited_and_only_web_addresses_link(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from index.documents import IndexedDocument
    from reform_search.export import citation, document_sources

    urls = document_sources(
        [
            IndexedDocument(
                id="plan", city="テスト市", title="架空の計画", url="https://example.invalid/plan.pdf"
            ),
            IndexedDocument(id="memo", city="テスト市", title="架空のメモ"),
        ]
    )
    assert urls.urls == {"plan": "https://example.invalid/plan.pdf", "memo": ""}
    p = Passage(id="plan-1", doc_id="plan", city="テスト市", document="架空の計画（テスト用）", text="本文")
    assert citation(p, urls)["source_url"] == "https://example.invalid/plan.pdf"
    assert citation(p)["source_url"] == "" and citation(None)["source_url"] == ""
    rows = [{"source_url": u} for u in (urls.url("plan"), "javascript:alert(1)", "file:///etc/passwd", "")]
    path = tmp_path / "links.xlsx"
    path.write_bytes(xlsx([("links", ["source_url"], rows)]))
    sheet = load_workbook(path).worksheets[0]
    assert sheet["A2"].hyperlink.target == "https://example.invalid/plan.pdf"
    assert [sheet[f"A{n}"].hyperlink for n in (3, 4, 5)] == [None, None, None]
    assert sheet["A3"].value == "javascript:alert(1)"  # shown as text, never a link


def test_cli_search_exports_its_hits_with_their_citations(cli, keyword_index, tmp_path: Path) -> None:
    # a planner could take a comparison or a matrix away, but not a search's hits
    code, out, _ = cli("search", "電子決裁", "--top-k", "3", "--json")
    hits = json.loads(out)["hits"]
    target = tmp_path / "電子決裁.xlsx"
    code, out, err = cli("search", "電子決裁", "--top-k", "3", "--output", str(target))
    assert code == 0 and out == "" and str(target) in err
    (sheet,) = _sheets(target).values()
    assert sheet[0][:3] == ["query", "rank", "score"] and set(CITATION) <= set(sheet[0])
    rows = [dict(zip(sheet[0], row, strict=True)) for row in sheet[1:]]
    assert [(r["rank"], r["passage_id"], r["city"]) for r in rows] == [
        (h["rank"], h["id"], h["city"]) for h in hits
    ]
    assert all(r["text"] and r["score"] == round(h["score"], 4) for r, h in zip(rows, hits, strict=True))
    code, out, _ = cli("search", "電子決裁", "--top-k", "3", "--format", "csv")
    assert code == 0 and out.startswith(BOM + "query,rank,score,city") and len(out.splitlines()) == 4
    code, out, _ = cli("search", "電子決裁", "--top-k", "2", "--format", "md")
    assert out.startswith("# 「電子決裁」の検索結果 / search results") and f"`{hits[0]['id']}`" in out
    code, out, _ = cli("search", "の", "--format", "md")  # no content word: said, not an empty list
    assert code == 0 and "no content word" in out
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": 1, "query": "電子決裁"}\n', encoding="utf-8")
    code, _, err = cli("search", "--queries", str(queries), "--format", "csv")
    assert code == 2 and "for --queries, use --json" in err


def test_a_built_in_theme_carries_its_english_name_into_every_export(keyword_searcher) -> None:
    from search.themes import DEFAULT_THEMES, THEMES_EN

    m = theme_matrix(
        keyword_searcher, [DEFAULT_THEMES[3], "電子決裁"]
    )  # ペーパーレス化 and a theme of one's own
    header, rows = _rows(render_matrix(m, "csv"))
    # last: the columns a script reads by place stay put (then whether the city's labels are less certain)
    assert header[-3:] == ["theme_en", "city_en", "few_passages"]
    assert {(r["theme"], r["theme_en"]) for r in rows} == {
        (DEFAULT_THEMES[3], THEMES_EN[DEFAULT_THEMES[3]]),
        ("電子決裁", ""),
    }
    assert f"| {DEFAULT_THEMES[3]} / {THEMES_EN[DEFAULT_THEMES[3]]} |" in render_matrix(m, "md")


def test_every_table_names_its_cities_in_romaji_last(keyword_searcher, matrix, alignment, sources) -> None:
    from reform_search.export import results_table

    assert sources.romaji == {"テスト市": "Testshi", "サンプル町": "Samplecho"}  # the fixture corpus
    found = keyword_searcher.results("電子決裁", top_k=5)
    tables = {
        "search": results_table(found, sources),
        "compare": comparison_table(compare(keyword_searcher, "電子決裁"), sources),
        "themes": matrix_table(matrix, sources),
    }
    for name, (header, rows) in tables.items():
        assert (header[-2:] if name == "themes" else header[-1:])[0] == "city_en" and rows, name
        assert all(r["city_en"] == sources.romaji[r["city"]] for r in rows), name
    header, rows = alignment_table(alignment, sources)
    assert header[-3:-1] == ["source_city_en", "counterpart_city_en"]  # then the absent words
    for r in rows:
        assert r["source_city_en"] == sources.romaji[r["source_city"]]
        assert r["counterpart_city_en"] == sources.romaji.get(r.get("counterpart_city", ""), "")
    assert _rows(render_matrix(matrix, "csv", sources))[0][-2:] == ["city_en", "few_passages"]
    assert all(r["city_en"] == "" for r in matrix_table(matrix)[1])  # without sources: unknown, not wrong


def test_an_output_file_named_for_another_format_is_refused_and_not_written(cli, tmp_path: Path) -> None:
    # Markdown had been written into x.pdf, and into c.xlsx under --format md, files their programs refuse
    for args, needle in (
        (["compare", "電子決裁", "--output", str(tmp_path / "x.pdf")], "name the file .csv, .xlsx"),
        (["search", "電子決裁", "--format", "md", "--output", str(tmp_path / "c.xlsx")], "a .xlsx file"),
        (["themes", "--format", "csv", "--output", str(tmp_path / "t.json")], "a .json file"),
    ):
        code, out, err = cli(*args)
        assert out == ""
        assert code == 2 and needle in err and err.count("\n") == 1, args
    assert list(tmp_path.iterdir()) == []  # nothing written
    code, _, err = cli("compare", "電子決裁", "--output", str(tmp_path / "c.txt"))  # what the terminal shows
    assert code == 0 and (tmp_path / "c.txt").read_text(encoding="utf-8").startswith("# ")
    code, _, _ = cli("compare", "電子決裁", "--format", "md", "--output", str(tmp_path / "notes"))  # explicit
    assert code == 0 and (tmp_path / "notes").read_text(encoding="utf-8").startswith("# ")


def test_a_matrix_names_its_cities_of_few_passages_in_every_export_and_on_screen(keyword_searcher) -> None:
    # the CLI and Markdown had said a city's labels are less certain; the CSV, the workbook and the web
    # matrix had not (the fixture's cities are smaller than the label model's)
    from reform_search import render

    m = theme_matrix(keyword_searcher, ["電子決裁", "テレワーク"])
    assert m.few and set(m.few) <= set(m.cities)
    header, rows = _rows(render_matrix(m, "csv"))
    assert header[-1] == "few_passages"
    assert all(r["few_passages"] == ("yes" if r["city"] in m.few else "") for r in rows)
    assert render.esc(FEW) in render.matrix_notes(m)
    assert all(render.esc(city) in render.matrix_notes(m) for city in m.few)
