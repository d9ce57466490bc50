"""Our BM25 against bm25s, a hand-made Japanese fixture, persistence and ranking invariants."""

from __future__ import annotations

import json
import math
from collections import Counter

import bm25s
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index import bm25 as bm25_module
from index.bm25 import ARRAY_FILES, BM25, K1, META_FILE, B

VOCAB = [f"w{i}" for i in range(120)]


def random_corpus(seed: int, n_docs: int = 300) -> list[list[str]]:
    """Zipf-like token draws so df ranges from 1 to most documents; some documents are empty."""
    rng = np.random.default_rng(seed)
    p = 1 / np.arange(1, len(VOCAB) + 1)
    p /= p.sum()
    return [list(rng.choice(VOCAB, size=rng.integers(0, 30), p=p)) for _ in range(n_docs)]


@pytest.fixture(scope="module")
def corpus() -> list[list[str]]:
    return random_corpus(0)


@pytest.mark.parametrize(("k1", "b"), [(K1, B), (0.9, 0.4), (2.0, 1.0), (1.5, 0.0)])
def test_scores_match_bm25s_lucene(corpus, k1, b):
    ours = BM25.build(corpus, k1=k1, b=b)
    ref = bm25s.BM25(k1=k1, b=b, method="lucene")
    ref.index(corpus, show_progress=False)
    rng = np.random.default_rng(1)
    for _ in range(150):
        # Repeats and out-of-vocabulary terms included: bm25s adds a repeated term once per occurrence.
        query = list(rng.choice([*VOCAB, "oov"], size=rng.integers(1, 7)))
        # bm25s's lucene variant drops the constant (k1 + 1) numerator factor; ours keeps it.
        expected = ref.get_scores(query) * (k1 + 1)
        np.testing.assert_allclose(ours.scores(query), expected, rtol=1e-5, atol=1e-5)


def test_repeated_query_term_counts_per_occurrence(corpus):
    index = BM25.build(corpus)
    np.testing.assert_allclose(index.scores(["w3", "w3"]), 2 * index.scores(["w3"]), rtol=1e-6)


# Four tiny "reform reports", tokens as a Japanese tokenizer would give them.
JA_DOCS = [
    ["行政", "改革", "大綱", "を", "策定"],
    ["ごみ", "収集", "業務", "の", "民間", "委託"],
    ["窓口", "業務", "を", "民間", "委託", "し", "委託", "費", "を", "削減"],
    ["職員", "定数", "の", "削減"],
]


def test_japanese_fixture_obvious_answer():
    index = BM25.build(JA_DOCS)
    ids, scores = index.search(["窓口", "委託"], k=3)
    assert ids.tolist() == [2, 1]  # doc 2 alone has 窓口 and has 委託 twice; doc 0 and 3 match nothing
    assert scores[0] > scores[1] > 0


def test_japanese_fixture_hand_computed_score():
    index = BM25.build(JA_DOCS)
    # 大綱: N=4, df=1 -> idf = ln(1 + 3.5/1.5); doc 0 has tf=1, dl=5, avgdl=(5+6+10+4)/4=6.25.
    idf = math.log(1 + 3.5 / 1.5)
    expected = idf * 1 * (K1 + 1) / (1 + K1 * (1 - B + B * 5 / 6.25))
    scores = index.scores(["大綱"])
    assert scores[0] == pytest.approx(expected, rel=1e-6)
    assert scores[1:].tolist() == [0, 0, 0]


def test_empty_documents_and_queries():
    index = BM25.build([[], ["a", "b"], [], ["b"]])
    assert index.n_docs == 4
    ids, _ = index.search(["b"], k=10)
    assert ids.tolist() == [3, 1]  # the shorter document ranks first
    assert len(index.search([], k=5)[0]) == 0
    assert len(index.search(["zzz"], k=5)[0]) == 0
    assert BM25.build([[], []]).scores(["a"]).tolist() == [0, 0]
    assert BM25.build([]).search(["a"], k=3)[0].shape == (0,)


@pytest.mark.parametrize("k", [0, -3])
def test_k_must_be_positive(corpus, k):
    with pytest.raises(ValueError, match=f"k of {k}"):
        BM25.build(corpus).search(["w1"], k=k)


def test_str_instead_of_tokens_is_rejected():
    with pytest.raises(ValueError, match="document 1 is a str"):
        BM25.build([["a"], "行政改革"])
    with pytest.raises(ValueError, match="query is a str"):
        BM25.build([["a"]]).scores("a")


def test_search_returns_top_k_of_positive_scores_in_order(corpus):
    index = BM25.build(corpus)
    query = ["w5", "w40", "w2"]
    scores = index.scores(query)
    ids, got = index.search(query, k=25)
    expected = sorted(np.flatnonzero(scores > 0), key=lambda d: (-scores[d], d))[:25]
    assert ids.tolist() == expected
    assert ids.dtype == np.int64 and got.dtype == np.float32
    np.testing.assert_array_equal(got, scores[ids])


def test_allowed_mask_restricts_candidates(corpus):
    index = BM25.build(corpus)
    allowed = np.random.default_rng(3).random(len(corpus)) < 0.3
    query = ["w0", "w7"]
    ids, _ = index.search(query, k=20, allowed=allowed)
    assert len(ids) > 0 and allowed[ids].all()
    full, _ = index.search(query, k=len(corpus))
    assert ids.tolist() == [d for d in full.tolist() if allowed[d]][:20]
    with pytest.raises(ValueError, match="allowed must be a bool array"):
        index.search(query, k=5, allowed=np.ones(3, dtype=bool))


def test_ties_break_to_lower_index():
    index = BM25.build([["x", "y"], ["x", "z"], ["y", "z"], ["x", "w"]])
    ids, scores = index.search(["x"], k=2)
    assert ids.tolist() == [0, 1]  # docs 0, 1 and 3 tie
    assert scores[0] == scores[1]


def test_save_load_round_trip(tmp_path, corpus):
    index = BM25.build(corpus, k1=1.1, b=0.6)
    written = index.save(tmp_path)
    assert sorted(written) == sorted([META_FILE, *ARRAY_FILES.values()])
    assert all((tmp_path / name).is_file() for name in written)
    loaded = BM25.load(tmp_path)
    assert (loaded.k1, loaded.b, loaded.n_docs, loaded.vocab) == (1.1, 0.6, index.n_docs, index.vocab)
    for query in (["w1"], ["w9", "w9", "w60"], ["oov"]):
        np.testing.assert_array_equal(loaded.scores(query), index.scores(query))


def test_japanese_vocab_survives_json(tmp_path):
    BM25.build(JA_DOCS).save(tmp_path)
    assert BM25.load(tmp_path).search(["窓口"], k=1)[0].tolist() == [2]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / ARRAY_FILES["weights"]).unlink(), "is missing"),
        (lambda d: (d / ARRAY_FILES["doc_ids"]).write_bytes(b"\x93NUMPY garbage"), "is corrupt"),
        (lambda d: (d / META_FILE).write_text("{not json", encoding="utf-8"), "is corrupt"),
        (lambda d: _edit_meta(d, terms=1), "is corrupt"),
        (lambda d: np.save(d / ARRAY_FILES["term_hashes"], np.zeros(3, dtype=np.uint64)), "is corrupt"),
        (lambda d: np.save(d / ARRAY_FILES["term_offsets"], np.zeros(121, dtype=np.int64)), "is corrupt"),
        (lambda d: _edit_meta(d, n_docs=2), "is corrupt"),
        (lambda d: _edit_meta(d, format_version=99), "format version 99"),
        (lambda d: np.save(d / ARRAY_FILES["indptr"], np.arange(3)), "is corrupt"),
    ],
)
def test_damaged_index_raises_value_error(tmp_path, corpus, damage, message):
    BM25.build(corpus).save(tmp_path)
    damage(tmp_path)
    with pytest.raises(ValueError, match=message) as error:
        BM25.load(tmp_path)
    assert "reform-search index --rebuild" in str(error.value)


def _edit_meta(directory, **changes):
    path = directory / META_FILE
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta.update(changes)
    path.write_text(json.dumps(meta), encoding="utf-8")


@settings(max_examples=60, deadline=None)
@given(
    docs=st.lists(st.lists(st.sampled_from("あいうえおか"), max_size=8), max_size=25),
    query=st.lists(st.sampled_from("あいうえおかき"), max_size=5),
    k=st.integers(1, 30),
    data=st.data(),
)
def test_ranking_invariants(docs, query, k, data):
    index = BM25.build(docs)
    allowed = np.array(data.draw(st.lists(st.booleans(), min_size=len(docs), max_size=len(docs))), dtype=bool)
    for mask in (None, allowed):
        ids, scores = index.search(query, k, allowed=mask)
        assert len(ids) == len(scores) <= k
        assert np.all(scores > 0)
        assert np.all(np.diff(scores) <= 0)
        assert len(set(ids.tolist())) == len(ids)
        if mask is not None:
            assert mask[ids].all()


def reference_scores(docs: list[list[str]], query: list[str], k1: float = K1, b: float = B) -> np.ndarray:
    """BM25 (Lucene idf, with the (k1 + 1) factor) document by document, with Counters: the slow oracle."""
    n = len(docs)
    avgdl = sum(map(len, docs)) / n
    df = Counter(t for d in docs for t in set(d))
    out = np.zeros(n)
    for i, d in enumerate(docs):
        tf = Counter(d)
        for t in query:
            if tf[t]:
                idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                out[i] += idf * tf[t] * (k1 + 1) / (tf[t] + k1 * (1 - b + b * len(d) / avgdl))
    return out


def test_vectorized_build_from_token_ids_matches_the_reference_and_bm25s(corpus):
    vocab = sorted({t for d in corpus for t in d}, reverse=True)  # ids in another order than first use
    ids = {t: i for i, t in enumerate(vocab)}
    flat = np.array([ids[t] for d in corpus for t in d], dtype=np.int32)
    lengths = np.array([len(d) for d in corpus])
    index = BM25.from_token_ids(flat, lengths, vocab)
    ref = bm25s.BM25(k1=K1, b=B, method="lucene")
    ref.index(corpus, show_progress=False)
    rng = np.random.default_rng(3)
    for _ in range(60):
        query = list(rng.choice([*VOCAB, "oov"], size=rng.integers(1, 6)))
        got = index.scores(query)
        np.testing.assert_allclose(got, reference_scores(corpus, query), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(got, ref.get_scores(query) * (K1 + 1), rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(index.scores(query), BM25.build(corpus).scores(query))


def test_from_token_ids_refuses_inconsistent_input():
    with pytest.raises(ValueError, match="lengths must count"):
        BM25.from_token_ids(np.array([0, 1, 1]), np.array([1, 1]), ["a", "b"])
    with pytest.raises(ValueError, match="vocabulary of 2 terms"):
        BM25.from_token_ids(np.array([0, 2]), np.array([2]), ["a", "b"])
    with pytest.raises(ValueError, match="twice"):
        BM25.from_token_ids(np.array([0, 1]), np.array([2]), ["a", "a"])


def test_load_maps_the_arrays_read_only(tmp_path, corpus):
    BM25.build(corpus).save(tmp_path)
    loaded = BM25.load(tmp_path)
    for array in (loaded.indptr, loaded.doc_ids, loaded.weights, loaded.terms.hashes):
        assert isinstance(array.base, np.memmap) and not array.flags.writeable
    np.testing.assert_array_equal(loaded.scores(["w1", "w2"]), BM25.build(corpus).scores(["w1", "w2"]))


def test_colliding_term_hashes_are_told_apart_by_their_bytes(monkeypatch, corpus):
    terms = ("w0", "w5", "w40")
    honest = [BM25.build(corpus[:50]).scores([term]) for term in terms]
    monkeypatch.setattr(bm25_module, "term_hash", lambda term: 7)  # every term collides
    index = BM25.build(corpus[:50])
    assert index.terms.column("oov") is None
    for term, want in zip(terms, honest, strict=True):
        np.testing.assert_array_equal(index.scores([term]), want)
    assert sorted(index.vocab) == sorted({t for d in corpus[:50] for t in d})


def test_postings_and_df_agree_with_the_tokens_each_document_holds():
    docs = [["窓口", "電子"], ["窓口"], ["税"], ["窓口", "税", "税"]]
    index = BM25.build(docs)
    ids, weights = index.postings("窓口")
    assert ids.tolist() == [0, 1, 3] and len(weights) == 3 and (weights > 0).all()
    assert index.postings("ない語")[0].tolist() == []
    every = np.ones(len(docs), dtype=bool)
    assert index.df(["窓口", "税", "ない語"], every).tolist() == [3, 2, 0]
    assert index.df(["窓口", "税"], np.array([True, False, False, True])).tolist() == [2, 1]
    assert np.allclose(index.scores(["窓口"])[[0, 1, 3]], weights)
