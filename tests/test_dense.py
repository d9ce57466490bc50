"""Dense indexes against the exact NumPy reference: order, filtering, persistence and validation."""

from __future__ import annotations

import faiss
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index import dense
from index.dense import (
    HNSW_EF_CONSTRUCTION,
    HNSW_EF_SEARCH,
    HNSW_EXACT_BELOW,
    HNSW_M,
    DenseIndex,
    ExactNumpyIndex,
    FlatFaissIndex,
    HNSWFaissIndex,
    IVFFaissIndex,
    build_dense_index,
    ivf_lists,
    load_dense_index,
)
from index.dense import base as dense_base

KINDS = ["numpy", "flat", "hnsw", "ivf"]
APPROXIMATE = ["hnsw", "ivf"]


def unit_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    return unit_vectors(2_000, 32, seed=0)


@pytest.fixture(scope="module")
def queries() -> np.ndarray:
    return unit_vectors(40, 32, seed=1)


def clustered_vectors(n: int, dim: int, seed: int, clusters: int = 50) -> np.ndarray:
    """Unit vectors around a few random centres: the structure IVF lists exploit, like real embeddings."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim))
    v = centres[rng.integers(clusters, size=n)] + 0.6 * rng.standard_normal((n, dim))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def big() -> tuple[np.ndarray, HNSWFaissIndex, ExactNumpyIndex]:
    v = unit_vectors(5_000, 64, seed=2)
    return v, HNSWFaissIndex.build(v), ExactNumpyIndex(v)


@pytest.fixture(scope="module")
def clustered() -> tuple[np.ndarray, np.ndarray, dict]:
    """5,000 clustered vectors, queries drawn the same way, and every kind built over them."""
    v = clustered_vectors(5_100, 64, seed=3)
    data, qs = v[:5_000], v[5_000:]
    return data, qs, {kind: build_dense_index(data, kind=kind) for kind in KINDS}


def test_every_kind_satisfies_the_protocol(vectors):
    for kind in KINDS:
        index = build_dense_index(vectors[:50], kind=kind)
        assert isinstance(index, DenseIndex)
        assert (index.kind, index.dim, len(index)) == (kind, 32, 50)
        assert index.params()["kind"] == kind


@pytest.mark.parametrize("k", [1, 10, 100])
def test_flat_matches_numpy(vectors, queries, k):
    flat, exact = FlatFaissIndex.build(vectors), ExactNumpyIndex(vectors)
    for q in queries:
        got_ids, got_scores = flat.search(q, k)
        want_ids, want_scores = exact.search(q, k)
        np.testing.assert_array_equal(got_ids, want_ids)
        np.testing.assert_allclose(got_scores, want_scores, atol=1e-5)
        assert got_ids.dtype == np.int64 and got_scores.dtype == np.float32
        np.testing.assert_allclose(want_scores, vectors[want_ids] @ q, atol=1e-5)


def test_exact_ties_break_to_lower_index_in_both():
    base = unit_vectors(6, 16, seed=3)
    # Every vector four times, shuffled: FAISS alone returns tied ids in no particular order.
    dup = np.repeat(base, 4, axis=0)[np.random.default_rng(4).permutation(24)]
    flat, exact = FlatFaissIndex.build(dup), ExactNumpyIndex(dup)
    for q in base:
        for k in (2, 3, 6, 24):
            ids, _ = exact.search(q, k)
            np.testing.assert_array_equal(flat.search(q, k)[0], ids)
            same = np.flatnonzero((dup == q).all(axis=1))
            assert ids[: min(k, 4)].tolist() == same[: min(k, 4)].tolist()


def test_hnsw_recall_at_10(big):
    _, hnsw, exact = big
    qs = unit_vectors(100, 64, seed=5)
    found = sum(len(np.intersect1d(hnsw.search(q, 10)[0], exact.search(q, 10)[0])) for q in qs)
    assert found / (10 * len(qs)) >= 0.95


@pytest.mark.parametrize("kind", ["numpy", "flat"])
def test_filtered_exact_search_equals_numpy_filtered(vectors, queries, kind):
    index = build_dense_index(vectors, kind=kind)
    allowed = np.random.default_rng(6).random(len(vectors)) < 0.1
    allowed_ids = np.flatnonzero(allowed)
    for q in queries[:10]:
        ids, scores = index.search(q, 15, allowed=allowed)
        assert allowed[ids].all()
        sub = vectors[allowed_ids] @ q
        order = np.lexsort((allowed_ids, -sub))[:15]
        np.testing.assert_array_equal(ids, allowed_ids[order])
        np.testing.assert_allclose(scores, sub[order], atol=1e-5)


def test_hnsw_filtered_search(big):
    v, hnsw, exact = big
    rng = np.random.default_rng(7)
    qs = unit_vectors(20, 64, seed=8)
    # Large mask: the graph walk with an IDSelectorBitmap; small mask: the exact path.
    for fraction in (0.5, (HNSW_EXACT_BELOW // 2) / len(v)):
        allowed = rng.random(len(v)) < fraction
        found = 0
        for q in qs:
            ids, _ = hnsw.search(q, 10, allowed=allowed)
            assert len(ids) == 10 and allowed[ids].all()
            found += len(np.intersect1d(ids, exact.search(q, 10, allowed=allowed)[0]))
        assert found / (10 * len(qs)) >= 0.95


def test_hnsw_never_pads_when_k_reaches_the_allowed_count(big):
    v, hnsw, exact = big
    allowed = np.zeros(len(v), dtype=bool)
    allowed[np.random.default_rng(9).permutation(len(v))[: HNSW_EXACT_BELOW + 500]] = True
    q = unit_vectors(1, 64, seed=10)[0]
    ids, _ = hnsw.search(q, len(v), allowed=allowed)
    assert sorted(ids.tolist()) == np.flatnonzero(allowed).tolist()
    np.testing.assert_array_equal(ids, exact.search(q, len(v), allowed=allowed)[0])


def test_hnsw_falls_back_to_exact_when_the_graph_walk_comes_up_short(big, monkeypatch):
    v, hnsw, exact = big
    # Force the graph walk on a 10-vector filter, where it returns -1 padding for this seed.
    monkeypatch.setattr(dense_base, "HNSW_EXACT_BELOW", 0)
    allowed = np.zeros(len(v), dtype=bool)
    allowed[np.random.default_rng(10).permutation(len(v))[:10]] = True
    for q in unit_vectors(5, 64, seed=12):
        ids, scores = hnsw.search(q, 10, allowed=allowed)
        want_ids, want_scores = exact.search(q, 10, allowed=allowed)
        np.testing.assert_array_equal(ids, want_ids)
        np.testing.assert_allclose(scores, want_scores, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_round_trip(tmp_path, vectors, queries, kind):
    index = build_dense_index(vectors, kind=kind)
    path = tmp_path / f"dense.{kind}"
    index.save(path)
    assert not list(tmp_path.glob("*.tmp"))
    loaded = load_dense_index(path, kind=kind, dim=32)
    assert loaded.kind == kind and len(loaded) == len(vectors)
    assert loaded.params() == index.params()
    for q in queries[:5]:
        for a, b in zip(loaded.search(q, 10), index.search(q, 10), strict=True):
            np.testing.assert_array_equal(a, b)


def test_hnsw_params_are_recorded(vectors):
    params = HNSWFaissIndex.build(vectors[:100]).params()
    assert params == {
        "kind": "hnsw",
        "dim": 32,
        "metric": "inner_product",
        "M": HNSW_M,
        "efConstruction": HNSW_EF_CONSTRUCTION,
        "efSearch": HNSW_EF_SEARCH,
    }


def test_load_refuses_mismatches(tmp_path, vectors):
    flat_path = tmp_path / "flat.faiss"
    build_dense_index(vectors, kind="flat").save(flat_path)
    with pytest.raises(ValueError, match="dimension 32, expected 64"):
        load_dense_index(flat_path, kind="flat", dim=64)
    with pytest.raises(ValueError, match="holds a flat index, not hnsw"):
        load_dense_index(flat_path, kind="hnsw", dim=32)
    with pytest.raises(ValueError, match="is corrupt"):
        load_dense_index(flat_path, kind="numpy", dim=32)
    with pytest.raises(ValueError, match="unknown"):
        load_dense_index(flat_path, kind="auto", dim=32)
    with pytest.raises(ValueError, match="is missing"):
        load_dense_index(tmp_path / "nope.faiss", kind="flat", dim=32)
    l2 = faiss.IndexFlatL2(32)
    faiss.write_index(l2, str(tmp_path / "l2.faiss"))
    with pytest.raises(ValueError, match="non-inner-product"):
        load_dense_index(tmp_path / "l2.faiss", kind="flat", dim=32)


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_corrupt_file_says_how_to_rebuild(tmp_path, vectors, kind):
    path = tmp_path / "dense.faiss"
    build_dense_index(vectors[:100], kind=kind).save(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"is corrupt; rebuild it with `reform-search index --rebuild`"):
        load_dense_index(path, kind=kind, dim=32)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.ones((4, 8), dtype=np.float32), "norm 2.82843"),
        (np.ones(8, dtype=np.float32), "2-D"),
        (np.zeros((3, 0), dtype=np.float32), "2-D"),
        (np.eye(4, dtype=np.int64), "floating point"),
        (np.full((2, 4), np.nan, dtype=np.float32), "NaN"),
    ],
)
def test_invalid_vectors_are_rejected(bad, message):
    for kind in KINDS:
        with pytest.raises(ValueError, match=message):
            build_dense_index(bad, kind=kind)


def test_invalid_search_arguments_are_rejected(vectors, queries):
    index = FlatFaissIndex.build(vectors)
    with pytest.raises(ValueError, match="shape \\(32,\\)"):
        index.search(np.zeros(16, dtype=np.float32), 5)
    with pytest.raises(ValueError, match="query has L2 norm 2"):
        index.search(queries[0] * 2, 5)
    with pytest.raises(ValueError, match="k of 0"):
        index.search(queries[0], 0)
    with pytest.raises(ValueError, match="bool array"):
        index.search(queries[0], 5, allowed=np.ones(len(vectors), dtype=np.int8))
    with pytest.raises(ValueError, match="unknown"):
        build_dense_index(vectors, kind="annoy")


def test_auto_is_exact_below_the_threshold_and_approximate_from_it(vectors):
    assert dense.APPROXIMATE == "ivf"
    assert build_dense_index(vectors[:300]).kind == "flat"
    assert build_dense_index(vectors[:300], threshold=300).kind == "ivf"
    assert build_dense_index(vectors[:300], threshold=301).kind == "flat"
    assert build_dense_index(vectors[:300], threshold=300, approximate="hnsw").kind == "hnsw"


@pytest.mark.parametrize("kind", APPROXIMATE)
def test_approximate_recall_at_10_on_clustered_vectors(clustered, kind):
    _, qs, built = clustered
    exact = built["numpy"]
    found = sum(len(np.intersect1d(built[kind].search(q, 10)[0], exact.search(q, 10)[0])) for q in qs)
    assert found / (10 * len(qs)) >= 0.95


@pytest.mark.parametrize("fraction", [0.5, 0.125, 0.02])
def test_ivf_filtered_search_probes_more_lists_and_keeps_recall(clustered, fraction, monkeypatch):
    data, qs, built = clustered
    ivf, exact = built["ivf"], built["numpy"]
    monkeypatch.setattr(dense_base, "HNSW_EXACT_BELOW", 0)  # the list scan, even for small filters
    allowed = np.random.default_rng(13).random(len(data)) < fraction
    found = 0
    for q in qs:
        ids, scores = ivf.search(q, 10, allowed=allowed)
        assert len(ids) == 10 and allowed[ids].all() and np.all(np.diff(scores) <= 0)
        found += len(np.intersect1d(ids, exact.search(q, 10, allowed=allowed)[0]))
    assert found / (10 * len(qs)) >= 0.95


def test_ivf_falls_back_to_exact_when_the_probed_lists_come_up_short(clustered, monkeypatch):
    data, qs, built = clustered
    ivf, exact = built["ivf"], built["numpy"]
    monkeypatch.setattr(dense_base, "HNSW_EXACT_BELOW", 0)  # force the list scan on a 10-vector filter
    allowed = np.zeros(len(data), dtype=bool)
    allowed[np.random.default_rng(14).permutation(len(data))[:10]] = True
    for q in qs[:5]:
        ids, scores = ivf.search(q, 10, allowed=allowed)
        want_ids, want_scores = exact.search(q, 10, allowed=allowed)
        np.testing.assert_array_equal(ids, want_ids)
        np.testing.assert_allclose(scores, want_scores, atol=1e-5)


def test_ivf_params_are_recorded_and_lists_follow_the_size(vectors):
    index = IVFFaissIndex.build(vectors)
    assert index.params() == {
        "kind": "ivf",
        "dim": 32,
        "metric": "inner_product",
        "nlist": ivf_lists(len(vectors)),
        "nprobe": min(dense.IVF_NPROBE, ivf_lists(len(vectors))),
    }
    assert [ivf_lists(n) for n in (0, 50, 2_000, 100_000, 1_000_000)] == [1, 1, 51, 1024, 4096]


def test_loaded_faiss_index_is_memory_mapped(tmp_path, vectors):
    # A mapped index holds its vectors in the page cache, not in the process's anonymous memory.
    big = unit_vectors(20_000, 256, seed=15)  # 20 MB of vectors
    build_dense_index(big, kind="flat").save(tmp_path / "flat.faiss")
    before = _rss_anon_kib()
    loaded = load_dense_index(tmp_path / "flat.faiss", kind="flat", dim=256)
    assert _rss_anon_kib() - before < 5_000
    np.testing.assert_array_equal(loaded.search(big[7], 1)[0], [7])


def _rss_anon_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("RssAnon:"))


@pytest.mark.parametrize("kind", KINDS)
def test_empty_index(kind):
    index = build_dense_index(np.zeros((0, 8), dtype=np.float32), kind=kind)
    assert len(index) == 0
    ids, scores = index.search(unit_vectors(1, 8, seed=11)[0], 5)
    assert ids.shape == (0,) and scores.shape == (0,)
    assert ids.dtype == np.int64 and scores.dtype == np.float32


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 60), k=st.integers(1, 80), seed=st.integers(0, 2**16), data=st.data())
def test_hit_count_is_min_of_k_and_allowed(n, k, seed, data):
    v = unit_vectors(n, 8, seed)
    q = unit_vectors(1, 8, seed + 1)[0]
    allowed = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    for kind in KINDS:
        index = build_dense_index(v, kind=kind)
        for mask in (None, allowed):
            ids, scores = index.search(q, k, allowed=mask)
            n_allowed = n if mask is None else int(mask.sum())
            assert len(ids) == len(scores) == min(k, n_allowed)
            assert np.all(np.diff(scores) <= 0)
            if mask is not None:
                assert mask[ids].all()
