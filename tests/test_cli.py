"""The `reform-search` command line, in-process with the fake embedder, plus one real-model run."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from conftest import Run
from fakes import FakeEmbedder, json_refusal

from index import embed
from index.store import current_generation, load_index
from reform_search.cli import main
from search.compare import COLUMN_TOP_K

pytestmark = pytest.mark.usefixtures("clean_env")

HIT_KEYS = {"id": str, "rank": int, "score": float, "city": str, "document": str, "text": str}


@pytest.fixture
def cli(built_index, monkeypatch, capsys):
    """Run main() on the fixture index with the fake embedder; returns a function of the arguments."""
    monkeypatch.setattr(embed, "make_embedder", lambda *args, **kwargs: FakeEmbedder(32))

    def run(*args: str, index_dir: Path | None = None) -> Run:
        paths = [
            "--index-dir",
            str(index_dir or built_index.index_dir),
            "--cache-dir",
            str(built_index.cache_dir),
            "--corpus",
            str(built_index.corpus),
        ]
        code = main([*args, *paths])
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run


def _check_hit(hit: dict) -> None:
    for key, kind in HIT_KEYS.items():
        assert isinstance(hit[key], kind), key


def test_search_json_follows_the_contract(cli, built_index):
    run = cli("search", "電子決裁", "--json", "--top-k", "3")
    assert run.code == 0
    result = run.json()  # stdout holds the JSON object and nothing else
    assert set(result) == {"query", "content", "hits"} and result["query"] == "電子決裁"
    assert result["content"] is True
    assert [h["rank"] for h in result["hits"]] == [1, 2, 3]
    for hit in result["hits"]:
        _check_hit(hit)
    scores = [h["score"] for h in result["hits"]]
    assert scores == sorted(scores, reverse=True)
    passages = {p.id: p for p in load_index(built_index.index_dir).passages}
    for hit in result["hits"]:
        assert hit["text"] == passages[hit["id"]].text
        assert hit["city"] == passages[hit["id"]].city
    assert "テスト市" in run.out or "サンプル町" in run.out  # ensure_ascii=False


def test_search_without_a_content_word_finds_nothing_and_says_why(cli):
    assert cli("search", "の", "--json").json() == {"query": "の", "content": False, "hits": []}
    run = cli("search", "<script>alert(1)</script>")
    assert run.code == 0 and "no content word" in run.out and "[" not in run.out


def test_search_readable_output_shows_the_hits(cli):
    as_json = cli("search", "電子決裁", "--mode", "lexical", "--json").json()["hits"]
    run = cli("search", "電子決裁", "--mode", "lexical")
    assert run.code == 0 and as_json
    for hit in as_json:
        assert f"{hit['rank']:>2}. [{hit['score']:.4f}] {hit['city']} · {hit['document']}" in run.out
    for term in as_json[0]["highlights"]:  # not a terminal: matches are bracketed, not coloured
        assert re.search(f"【[^】]*{term}[^】]*】", run.out)
    # words side by side are one mark (【電子】【決裁】 had read as two)
    assert "【電子決裁】を全ての課" in run.out and "【電子】" not in run.out


def test_search_without_matches_says_so(cli):
    run = cli("search", "xyzzy", "--mode", "lexical")
    assert run.code == 0 and "no passages match 'xyzzy'" in run.out


@pytest.mark.parametrize(("city", "canonical"), [("テスト市", "テスト市"), ("Testshi", "テスト市")])
def test_search_city_filter(cli, city, canonical):
    hits = cli("search", "テレワーク", "--city", city, "--json", "--top-k", "20").json()["hits"]
    assert hits and {h["city"] for h in hits} == {canonical}


def test_cities_repeated_or_comma_separated_are_the_same_filter(cli):
    repeated = cli("compare", "テレワーク", "--city", "サンプル町", "--city", "テスト市", "--json").json()
    for together in ("サンプル町,テスト市", "サンプル町、 Testshi", "サンプル町､テスト市"):
        joined = cli("compare", "テレワーク", "--city", together, "--json").json()
        assert [c["city"] for c in joined["columns"]] == ["サンプル町", "テスト市"]
        assert joined == repeated
    for nothing in ("", " , "):  # had meant every city, silently
        run = cli("compare", "テレワーク", "--city", nothing)
        assert run.code == 2 and run.err.strip() == "reform-search: error: --city names no city"


def test_the_top_k_setting_is_search_s_count_not_a_count_per_city(cli, monkeypatch):
    # REFORM_SEARCH_TOP_K had also set the CLI's passages per city, while the UI and the API showed
    # COLUMN_TOP_K: the same comparison differed between them
    monkeypatch.setenv("REFORM_SEARCH_TOP_K", "7")
    assert len(cli("search", "テレワーク 電子決裁 窓口 ごみ", "--json").json()["hits"]) == 7
    columns = cli("compare", "テレワーク 電子決裁 窓口 ごみ", "--json").json()["columns"]
    assert [len(c["hits"]) for c in columns] == [COLUMN_TOP_K] * len(columns)
    columns = cli("compare", "テレワーク 電子決裁 窓口 ごみ", "--top-k", "1", "--json").json()["columns"]
    assert all(len(c["hits"]) == 1 for c in columns)


def test_search_years_are_read_as_add_reads_them(cli, capsys):
    # `search --year 令和6年度` had been refused ("invalid int value"), though add and the API take it
    by_number = cli("search", "テレワーク", "--year", "2024", "--json").json()["hits"]
    assert by_number and {h["fiscal_year"] for h in by_number} == {2024}
    for written in ("令和6年度", "R6", "2024年度"):
        assert cli("search", "テレワーク", "--year", written, "--json").json()["hits"] == by_number
    with pytest.raises(SystemExit) as exit:
        cli("search", "テレワーク", "--year", "来年")
    assert exit.value.code == 2 and "fiscal year '来年' not understood" in capsys.readouterr().err
    run = cli("search", "テレワーク", "--year", "1999")
    assert run.code == 2 and run.out == "" and "no document of fiscal year 1999" in run.err


def test_queries_file_gives_one_line_per_query_with_its_id(cli, tmp_path):
    queries = tmp_path / "q.jsonl"
    lines = [{"id": "q-1", "query": "電子決裁"}, {"id": 7, "query": "ごみ有料化"}, {"query": "テレワーク"}]
    rows = [json.dumps(x, ensure_ascii=False) for x in lines]
    rows.insert(2, "")  # blank lines are skipped
    queries.write_text("\n".join(rows) + "\n", encoding="utf-8")
    run = cli("search", "--queries", str(queries), "--json", "--top-k", "4")
    assert run.code == 0
    results = run.json_lines()
    assert [r["id"] for r in results] == ["q-1", 7, 4]  # a line without an id gets its line number
    for line, result in zip(lines, results, strict=True):
        single = cli("search", line["query"], "--json", "--top-k", "4").json()
        assert result == {"id": result["id"], **single}
    # Read by people, each query's list opens with its id and text, in the file's order.
    text = cli("search", "--queries", str(queries), "--top-k", "2").out
    heads = [line for line in text.splitlines() if line.startswith("=== ")]
    assert heads == ["=== q-1: 電子決裁", "=== 7: ごみ有料化", "=== 4: テレワーク"]
    assert text.index("=== 7:") < text.index(" 1. ", text.index("=== 7:"))


def test_chunks_lists_every_passage_without_rank_or_score(cli, built_index):
    run = cli("chunks", "--json")
    assert run.code == 0
    rows = run.json_lines()
    assert [r["id"] for r in rows] == [p.id for p in load_index(built_index.index_dir).passages]
    for row in rows:
        assert not {"rank", "score"} & set(row)
        assert all(isinstance(row[k], str) for k in ("id", "city", "document", "text"))
    testshi = cli("chunks", "--json", "--city", "Testshi").json_lines()
    assert testshi and {r["city"] for r in testshi} == {"テスト市"}
    assert len(testshi) < len(rows)


def test_index_builds_then_reports_no_change(cli, tmp_path):
    first = cli("index", "--json", index_dir=tmp_path / "new")
    assert first.code == 0
    report = first.json()
    assert report["documents"] == 2 and report["changed"] is True
    assert report["passages"] == len(load_index(tmp_path / "new").passages)
    again = cli("index", "--json", index_dir=tmp_path / "new").json()
    assert again["changed"] is False and again["embedded"] == 0
    # a truncated file is no index "up to date": it is built again (from the cache), and then searched
    _truncate_vectors(tmp_path / "new")
    assert cli("search", "電子決裁", index_dir=tmp_path / "new").code == 2
    mended = cli("index", "--json", index_dir=tmp_path / "new").json()
    assert mended["changed"] is True and mended["embedded"] == 0
    assert cli("search", "電子決裁", index_dir=tmp_path / "new").code == 0
    assert cli("check", index_dir=tmp_path / "new").code == 0


def _queries_file(tmp_path: Path, second_line: str) -> str:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1, "query": "電子決裁"}\n' + second_line + "\n", encoding="utf-8")
    return str(path)


def _truncate_vectors(index_dir: Path) -> None:
    path = current_generation(index_dir) / "vectors.npy"
    path.write_bytes(path.read_bytes()[:100])


# Placeholders: MISSING points --index-dir at an empty place, CORRUPT truncates vectors.npy first,
# BAD:<line> is a queries file whose second line is <line>, NOFILE a queries file that does not exist.
ERRORS = {
    "empty-query": (["search", ""], "empty"),
    "whitespace-query": (["search", " \u3000 "], "empty"),
    "unknown-city": (["search", "電子決裁", "--city", "アトランティス"], "known cities: テスト市"),
    "top-k-zero": (["search", "電子決裁", "--top-k", "0"], "top_k"),
    "top-k-negative": (["search", "電子決裁", "--top-k", "-3"], "-3"),
    "missing-index": (["search", "電子決裁", "MISSING"], "reform-search index"),
    "corrupt-index": (["search", "電子決裁", "CORRUPT"], "reform-search index --rebuild"),
    "chunks-missing-index": (["chunks", "--json", "MISSING"], "reform-search index"),
    "queries-not-json": (["search", "--queries", "BAD:{not json"], "bad.jsonl:2:"),
    "queries-no-query": (["search", "--queries", 'BAD:{"id": 2}'], "bad.jsonl:2:"),
    "queries-empty-query": (["search", "--queries", 'BAD:{"query": "  "}'], "bad.jsonl:2:"),
    "queries-missing-file": (["search", "--queries", "NOFILE"], "cannot read queries file"),
    # a device never ends: refused before it is read (it had been read until the process was killed)
    "queries-device": (["search", "--queries", "/dev/zero"], "zero is not a file or a pipe"),
    "themes-device": (["themes", "--themes", "/dev/zero"], "zero is not a file or a pipe"),
    "judgments-device": (["evaluate", "--labels", "/dev/zero"], "zero is not a file or a pipe"),
    "queries-nested-too-deep": (["search", "--queries", "BAD:" + "[" * 100_000], "bad.jsonl:2:"),
    "query-and-queries": (["search", "電子決裁", "--queries", 'BAD:{"query": "x"}'], "either a query or"),
    "neither-query-nor-queries": (["search"], "either a query or"),
}


@pytest.mark.parametrize(("args", "needle"), ERRORS.values(), ids=ERRORS.keys())
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_errors_exit_2_with_one_line_on_stderr(cli, built_index, tmp_path, args, needle, as_json):
    index_dir = None
    argv = []
    for arg in args:
        if arg == "MISSING":
            index_dir = tmp_path / "no-index-here"
        elif arg == "CORRUPT":
            _truncate_vectors(built_index.index_dir)
        elif arg.startswith("BAD:"):
            argv.append(_queries_file(tmp_path, arg[4:]))
        elif arg == "NOFILE":
            argv.append(str(tmp_path / "absent.jsonl"))
        else:
            argv.append(arg)
    run = cli(*argv, *(["--json"] if as_json else []), index_dir=index_dir)
    assert run.code == 2
    assert run.err.startswith("reform-search: error: ")
    assert run.err.endswith("\n") and run.err.count("\n") == 1
    assert needle in run.err
    if as_json or "--json" in argv:  # a script reads why on stdout: stderr's message as one JSON object
        assert json_refusal(run.out, run.err) == {
            "error": run.err.removeprefix("reform-search: error: ").strip(),
            "exit": 2,
        }
    else:
        assert run.out == ""


def test_long_query_is_cut_with_a_warning(cli):
    run = cli("search", "電子決裁" * 2500, "--json")
    assert run.code == 0
    assert run.json()["query"] == ("電子決裁" * 2500)[:1000]
    assert run.err.startswith("reform-search: warning: query cut to 1000 characters")
    assert run.json()["hits"]
    # cut at a word boundary before the limit, the warning says how long it is now
    run = cli("search", "電子決裁の推進、" * 200, "--json")
    assert run.code == 0 and run.json()["query"] == "電子決裁の推進、" * 125
    words = " ".join(["電子決裁 テレワーク導入推進"] * 100)  # the limit falls inside テレワーク導入推進
    run = cli("search", words, "--json")
    cut = run.json()["query"]
    assert 990 < len(cut) < 1000 and words.startswith(cut) and words[len(cut)] == " "
    assert run.err.startswith(f"reform-search: warning: query cut to {len(cut)} characters")


def test_max_query_chars_above_the_default_is_honoured(cli):
    # 1,400 punctuation marks carry no tokens; the words after them only count if they are kept.
    query = "。" * 1400 + "電子決裁"
    run = cli("search", query, "--mode", "lexical", "--max-query-chars", "2000", "--json")
    assert run.code == 0 and run.err == ""
    assert run.json()["hits"]


# --- the installed command, real bundled model, real default corpus ---------------------------------

COMMAND = str(Path(sys.executable).with_name("reform-search"))


def _nfkc(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


@pytest.fixture(scope="module")
def real_cli(real_index):
    """The installed command over the session's real index (default corpus, bundled model)."""
    env = real_index.env()

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([COMMAND, *args], env=env, capture_output=True, text=True, timeout=600)

    built = run("index", "--json", "--rebuild")
    assert built.returncode == 0, built.stderr
    return run, json.loads(built.stdout)


def _search(run, *args: str) -> list[dict]:
    done = run("search", *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["hits"]


@pytest.mark.model
@pytest.mark.slow
def test_real_model_end_to_end(real_cli):
    run, built = real_cli
    assert built["documents"] == 2 and built["changed"] is True and built["passages"] > 0

    hits = _search(run, "ごみ処理の有料化", "--top-k", "5")
    assert len(hits) == 5
    assert hits[0]["city"] == "会津若松市" and "有料化" in _nfkc(hits[0]["text"])

    iwaki = _search(run, "ごみ処理の有料化", "--top-k", "5", "--city", "いわき市")
    assert iwaki and {h["city"] for h in iwaki} == {"いわき市"}

    for mode in ("lexical", "dense"):
        ranked = _search(run, "ごみ処理の有料化", "--top-k", "5", "--mode", mode)
        assert [h["rank"] for h in ranked] == [1, 2, 3, 4, 5]
        assert [h["score"] for h in ranked] == sorted((h["score"] for h in ranked), reverse=True)
    assert any("有料化" in _nfkc(h["text"]) for h in _search(run, "ごみ処理の有料化", "--mode", "lexical"))

    again = run("index", "--json")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["changed"] is False and report["embedded"] == 0
    assert report["passages"] == built["passages"]


def test_a_mistyped_argument_is_one_line_naming_the_help(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["search", "電子決裁", "--mode", "bogus"])
    out, err = capsys.readouterr()
    assert exit.value.code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("reform-search: error: argument --mode: invalid choice: 'bogus'")
    assert err.rstrip().endswith("(see reform-search search --help)")
    with pytest.raises(SystemExit):  # an argument the command does not take: the command's help too
        main(["search", "電子決裁", "--folds", "3"])
    err = capsys.readouterr().err
    assert "unrecognized arguments: --folds 3" in err
    assert err.rstrip().endswith("(see reform-search search --help)")
    with pytest.raises(SystemExit) as exit:  # with --json, a script reads it on stdout too
        main(["search", "電子決裁", "--json", "--mode", "bogus"])
    out, err = capsys.readouterr()
    assert exit.value.code == 2 and "invalid choice: 'bogus'" in json_refusal(out, err)["error"]


def test_an_index_folder_it_cannot_make_is_one_line(cli, tmp_path):
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    (tmp_path / "memo.txt").write_text("架空のメモ（テスト用）。", encoding="utf-8")
    for command in (["index"], ["add", str(tmp_path / "memo.txt"), "--city", "テスト市", "--title", "t"]):
        run = cli(*command, "--json", index_dir=tmp_path / "a-file" / "index")
        assert run.code == 2 and run.err.count("\n") == 1, command
        assert json_refusal(run.out, run.err)["exit"] == 2
        assert run.err.startswith("reform-search: error: ") and "Not a directory" in run.err


def test_a_judgments_file_with_a_bom_is_read(cli, tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_text('{"id": 1, "query": "電子決裁"}\n', encoding="utf-8-sig")  # as Excel or Notepad save it
    run = cli("search", "--queries", str(path), "--json")
    assert run.code == 0 and json.loads(run.out)["id"] == 1


@pytest.mark.parametrize(
    ("port", "needle"), [("99999", "port must be at most 65535"), ("IN_USE", "Address already in use")]
)
def test_serve_on_a_port_it_cannot_have_is_refused_in_words(cli, port, needle):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        if port == "IN_USE":
            port = str(taken.getsockname()[1])
        run = cli("serve", "--port", port)
    assert run.code == 2 and run.out == "" and run.err.count("\n") == 1 and needle in run.err


def test_serve_on_a_network_host_without_auth_is_refused_before_anything_runs(cli, built_index):
    before = sorted(p.name for p in built_index.index_dir.iterdir())
    run = cli("serve", "--host", "0.0.0.0")
    assert run.code == 2 and run.out == ""
    assert run.err.count("\n") == 1 and "--read-only" in run.err and "--auth" in run.err
    assert sorted(p.name for p in built_index.index_dir.iterdir()) == before


def test_on_off_settings_are_switches_too():
    from reform_search.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["serve", "--read-only"]).read_only == "on"
    assert parser.parse_args(["serve", "--read-only", "off"]).read_only == "off"
    assert parser.parse_args(["serve"]).read_only is None  # the setting's default or environment decides


def test_passages_and_its_alias_chunks_list_the_same(cli):
    passages, chunks = cli("passages", "--json"), cli("chunks", "--json")
    assert passages.code == chunks.code == 0 and passages.out == chunks.out and passages.out.count("\n") > 3


def test_a_fix_names_the_index_dir_it_was_given(tmp_path, capsys):
    # "build it with `reform-search index`", copied as printed, had built the default index instead
    from reform_search.cli import main

    nowhere = tmp_path / "no where"
    assert main(["search", "電子決裁", "--index-dir", str(nowhere)]) == 2
    assert f"build it with `reform-search index --index-dir '{nowhere}'`" in capsys.readouterr().err
    corpus = tmp_path / "corpus.toml"  # and the corpus it was to be built from, as given
    assert main(["search", "電子決裁", "--index-dir", str(nowhere), "--corpus", str(corpus)]) == 2
    assert f"`reform-search index --index-dir '{nowhere}' --corpus {corpus}`" in capsys.readouterr().err
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "CURRENT").write_text("../x\n", encoding="utf-8")
    assert main(["search", "電子決裁", "--index-dir", str(tmp_path / "bad")]) == 2
    assert f"`reform-search index --rebuild --index-dir {tmp_path / 'bad'}`" in capsys.readouterr().err


def test_queries_come_through_a_pipe(cli, tmp_path):
    # --queries /dev/stdin and <(…) are pipes: read (bounded), not refused as devices are
    import os
    import threading

    fifo = tmp_path / "queries.fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "w", encoding="utf-8") as f:
            f.write('{"id": 7, "query": "電子決裁"}\n')

    writer = threading.Thread(target=feed)
    writer.start()
    run = cli("search", "--queries", str(fifo), "--json")
    writer.join()
    assert run.code == 0 and json.loads(run.out.splitlines()[0])["id"] == 7


def test_a_shared_flag_before_the_command_is_said_to_go_after_it(cli, capsys):
    for given, flag, command in (
        (["--json", "search", "窓口"], "--json", "search"),
        (["--top-k", "3", "search", "窓口"], "--top-k", "search"),
    ):
        with pytest.raises(SystemExit) as stop:
            main(given)
        assert stop.value.code == 2
        said = capsys.readouterr().err.strip()
        assert f"{flag} goes after the command: reform-search {command} … {flag}" in said and "\n" not in said
    with pytest.raises(SystemExit) as stop:  # not a flag of that command's: moving it would not help
        main(["--top-k", "3", "documents"])
    assert stop.value.code == 2
    assert "documents takes no --top-k (see reform-search documents --help)" in capsys.readouterr().err


def test_a_dash_is_standard_output_for_output_and_standard_input_for_queries(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = cli("compare", "電子決裁", "--output", "-", "--format", "csv")
    assert run.code == 0 and "電子決裁" in run.out and not (tmp_path / "-").exists()
    from search.judgments import read_input

    read, write = os.pipe()
    os.write(write, b'{"id": 1, "query": "x"}\n')
    os.close(write)
    saved = os.dup(0)
    os.dup2(read, 0)
    try:
        assert read_input(Path("-")) == b'{"id": 1, "query": "x"}\n'
    finally:
        os.dup2(saved, 0)
        os.close(saved)
        os.close(read)


def test_check_names_the_index_it_checked_in_its_fix(cli, built_index, tmp_path):
    copy = tmp_path / "idx"
    shutil.copytree(built_index.index_dir, copy, symlinks=True)
    damaged = next(p for p in copy.glob("gen-*/passages.jsonl"))
    damaged.write_bytes(damaged.read_bytes() + b"x")
    for json_flag in (("--json",), ()):
        run = cli("check", *json_flag, index_dir=copy)
        assert run.code == 2
        fix = run.json()["fix"] if json_flag else run.out
        assert f"--index-dir {copy}" in fix  # it had said `reform-search index --rebuild` alone


def test_cache_says_its_size_and_prunes_what_no_build_used(built_index, monkeypatch, tmp_path, capsys):
    import shutil

    import index.cache as cache_module

    cache_dir = tmp_path / "cache-copy"  # a copy: the fixture index's cache stays whole for the other tests
    shutil.copytree(built_index.cache_dir, cache_dir)

    def run(*args: str) -> Run:
        code = main(["cache", *args, "--cache-dir", str(cache_dir)])
        return Run(code, *capsys.readouterr())

    report = json.loads(run("--json").out)
    assert report["path"] == str(cache_dir / "embeddings.sqlite3")
    assert report["embeddings"] > 0 and report["bytes"] > 0 and report["removed"] == 0
    later = cache_module.today() + 400  # a year later, nothing rebuilt in between
    monkeypatch.setattr(cache_module, "today", lambda: later)
    said = run("--prune", "365")
    assert said.code == 0 and f"removed {report['embeddings']:,} embeddings" in said.out
    assert json.loads(run("--json").out)["embeddings"] == 0
    for days in ("-1", "a week"):  # refused as a mistyped argument is, before anything is read
        with pytest.raises(SystemExit) as refused:
            run("--prune", days, "--json")
        out, err = capsys.readouterr()
        assert refused.value.code == 2 and "0 or more" in json_refusal(out, err)["error"]
    cache_dir = tmp_path / "none"  # no cache yet: said, not created (pruning it had raised a NameError)
    assert json.loads(run("--json").out)["embeddings"] == 0 and not cache_dir.exists()
    said = run("--prune", "30")
    assert said.code == 0 and "removed 0 embeddings" in said.out and not cache_dir.exists()
