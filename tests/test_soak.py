"""The benchmark's soak and throughput harnesses (bench/soak.py, bench/throughput.py), fake embedder."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
from fakes import FakeEmbedder

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


soak = _load("soak")
throughput = _load("throughput")


@pytest.mark.usefixtures("clean_env")
def test_soak_runs_every_kind_of_call_and_reads_memory(built_index):
    result = soak.soak(built_index.index_dir, built_index.cache_dir, n=400, embedder=FakeEmbedder(32))
    assert sum(result.kinds.values()) == 400
    assert set(result.kinds) == {"hybrid", "dense", "lexical", "compare", "similar"}
    for reading in (result.start, result.end):
        assert set(reading) == set(soak.FIELDS)
        assert reading["VmRSS"] >= reading["RssAnon"] + reading["RssFile"] > 0
    assert len(result.rss_samples_kib) == soak.SAMPLES and result.peak_kib >= result.end["VmRSS"]
    # Nothing here keeps per-query state: a few hundred queries leave the heaps as they were.
    assert result.growth("RssAnon") < soak.MAX_GROWTH
    rows = soak.soak_rows(result)
    assert rows[0]["target"] == "≤ 5%" and rows[0]["ok"] == (result.growth() <= soak.MAX_GROWTH)
    assert result.ok == (rows[0]["ok"] and rows[1]["ok"])
    assert result.prefaulted > 0  # the tokenizer's dictionary was mapped in full, as `serve` does
    assert all({"metric", "result", "note"} <= set(r) for r in rows)


def test_soak_queries_are_varied_and_repeatable():
    passages = ["テスト市は電子決裁を全ての課に広げる。", "サンプル町はテレワークの試行を始める。"] * 5
    queries = soak.query_texts(passages, 1000)
    assert queries == soak.query_texts(passages, 1000)
    assert len(set(queries)) > 200 and all(q.strip() for q in queries)


def test_throughput_measures_default_corpus_passages():
    texts = throughput.default_passages()
    assert len(texts) > 100 and all(t.strip() for t in texts)
    japanese = [t for t in texts if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]{4}", t)]
    assert len(japanese) == len(texts)  # report text, not placeholders
    t = throughput.measure(FakeEmbedder(32), texts[:70], batch_size=32)
    assert t.passages == 70 and t.seconds > 0 and t.per_second == 70 / t.seconds
