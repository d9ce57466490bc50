"""The scale benchmark's synthetic corpus (bench/scale.py) on the fixture index, with the fake embedder."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeEmbedder

from index.store import load_index
from search.engine import Searcher

SCALE = Path(__file__).resolve().parent.parent / "bench" / "scale.py"


@pytest.fixture(scope="module")
def scale():
    spec = importlib.util.spec_from_file_location("bench_scale", SCALE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def real(scale, shared_index):
    return scale.load_real(shared_index.index_dir)


def test_synthetic_data_is_deterministic_and_shaped_like_the_real(scale, real):
    a, b = scale.synthetic_vectors(real, 500), scale.synthetic_vectors(real, 500)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1, atol=1e-5)
    ids, lengths, vocab = scale.synthetic_tokens(real, 500)
    assert lengths.sum() == len(ids) and ids.max() < len(vocab) and len(set(vocab)) == len(vocab)
    assert vocab[: len(real.tokens)] == real.tokens  # the real tokens head the vocabulary
    docs = scale.synthetic_documents(500)
    assert sum(d["passages"] for d in docs) == 500
    assert {d["city"] for d in docs} == {c for c, _ in scale.CITIES}


def test_build_serve_and_recall_through_the_project_code(scale, real, tmp_path):
    built = scale.build(real, 1_200, tmp_path / "index", FakeEmbedder(32), None, dense_kind="ivf")
    assert built["dense"].kind == "ivf"
    index = load_index(tmp_path / "index")
    assert len(index.passages) == 1_200 and index.manifest["dense"]["kind"] == "ivf"
    assert index.manifest["dense"]["nlist"] == built["dense"].params()["nlist"]

    vectors = built["vectors"]
    queries = scale.query_vectors(real, FakeEmbedder(32).embed_queries(["電子決裁", "テレワーク"]), n=20)
    truth = scale.exact_top(vectors, queries)
    recall, _ = scale.recall_at_10(built["dense"], queries, truth)
    assert recall >= 0.95
    masks = scale.city_masks(tmp_path / "index", len(queries))
    assert masks.sum(axis=1).min() > 0

    searcher = Searcher(index, scale.NoEmbedder(index.manifest["embedder"]["name"], 32))
    query = searcher.prepare("電子決裁", vector=queries[0])
    hits = searcher.search(query, 5, "hybrid", searcher.mask([scale.CITIES[0][0]]))
    assert hits and all(h.passage.city == scale.CITIES[0][0] for h in hits)

    texts = json.dumps(["電子決裁", "テレワーク"] * 10, ensure_ascii=False)
    np.savez(tmp_path / "q.npz", vectors=queries, texts=np.array(texts))
    served = scale.serve(tmp_path / "index", tmp_path / "q.npz", 60, 2)
    assert served["load_test"]["mismatches"] == 0
    assert set(served["times"]) == {"hybrid", "dense", "lexical", "hybrid, one city"}
