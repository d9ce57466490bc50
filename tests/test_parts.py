"""Part vectors: which passages have parts, their storage, and how search reads them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import RecordingEmbedder
from fakes import FakeEmbedder
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.passage import Passage
from index.context import part_texts
from index.parts import Parts
from index.store import MANIFEST, CorruptIndex, current_generation, load_index, read_manifest
from search.fusion import with_parts


def _passage(text: str, initiative: str | None = None) -> Passage:
    return Passage("fixture:1", "テスト市", "テスト資料", "fixture", text, initiative=initiative)


# --- which passages have parts ------------------------------------------------------------------------


def test_a_packed_passage_is_split_into_its_sentences() -> None:
    text = "架空の窓口を統合した。\n施設の\n最適化\n架空の会議録システムを導入しました。12,345"
    # Short labels join the lines after them until a part is long enough; the figure after a sentence
    # end stands alone, and is dropped (it has no letters).
    assert part_texts(_passage(text)) == [
        "架空の窓口を統合した。",
        "施設の 最適化 架空の会議録システムを導入しました。",
    ]


def test_rows_and_one_sentence_passages_have_no_parts() -> None:
    row = "架空の取組\n内容：架空の窓口を統合する。\nR6取組状況：架空の検討を進めた。"
    assert part_texts(_passage(row, initiative="架空の取組")) == []
    assert part_texts(_passage("架空の窓口を統合した。")) == []
    assert part_texts(_passage("架空の窓口を統合した。\n1,234 5.6%")) == []


def test_build_embeds_the_parts_of_packed_passages_only(built_index) -> None:
    stored = load_index(built_index.index_dir)
    parts = stored.parts
    counts = np.diff(parts.indptr)
    assert len(parts) == len(stored.passages) and counts.sum() == len(parts.vectors) > 0
    texts = []
    for i, p in enumerate(stored.passages):
        assert counts[i] == len(part_texts(p)), p.text
        texts += part_texts(p)
    # The stored vectors are the embeddings of those texts, in passage order.
    np.testing.assert_allclose(parts.vectors, FakeEmbedder(32).embed_passages(texts), atol=1e-6)
    assert set(texts) <= set(built_index.embedder.passage_texts)


# --- storage --------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(counts=st.lists(st.integers(0, 4), min_size=1, max_size=12), seed=st.integers(0, 2**16))
def test_best_part_equals_brute_force(counts: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(sum(counts), 8)).astype(np.float32)
    query = rng.normal(size=8).astype(np.float32)
    parts = Parts.from_counts(counts, vectors)
    ids = rng.permutation(len(counts))[: rng.integers(0, len(counts) + 1)]
    owner = np.repeat(np.arange(len(counts)), counts)
    scores = vectors.astype(np.float64) @ query.astype(np.float64)  # exact, as `best` computes them
    pairs = list(zip(scores.tolist(), owner.tolist(), strict=True))
    want = [max((s for s, o in pairs if o == i), default=-np.inf) for i in ids]
    np.testing.assert_allclose(parts.best(ids, query), want, rtol=1e-6, atol=1e-7)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), dim=st.sampled_from([8, 384]))
def test_a_passage_s_best_part_is_the_same_whoever_it_is_read_with(seed: int, dim: int) -> None:
    # a shallow and a deep search read the parts of fewer or more candidates: the same passage must get
    # the same score to the last bit (a float32 product's had depended on the rows multiplied with it)
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 6, size=60).tolist()
    parts = Parts.from_counts(counts, rng.normal(size=(sum(counts), dim)).astype(np.float32))
    query = rng.normal(size=dim).astype(np.float32)
    ids = rng.permutation(len(counts))
    every = parts.best(ids, query)
    for k in (1, 2, 3, 5, 17, 40):
        assert parts.best(ids[:k], query).tobytes() == every[:k].tobytes()


def test_counts_must_add_up_to_the_vectors() -> None:
    with pytest.raises(ValueError, match="add up to 3 parts, but 2"):
        Parts.from_counts([1, 2], np.zeros((2, 4), dtype=np.float32))


def test_damaged_part_offsets_are_refused_in_one_line(built_index) -> None:
    gen = current_generation(built_index.index_dir)
    indptr = np.load(gen / "part_indptr.npy")
    indptr[1:] = indptr[-1] + 5  # offsets past the vectors
    np.save(gen / "part_indptr.npy", indptr)
    manifest = read_manifest(built_index.index_dir)
    manifest["files"]["part_indptr.npy"]["bytes"] = (gen / "part_indptr.npy").stat().st_size
    (gen / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(CorruptIndex, match=r"part_indptr\.npy does not count") as e:
        load_index(built_index.index_dir)
    assert "\n" not in str(e.value)


def test_an_index_of_the_previous_format_is_rebuilt_not_called_damaged(built_index) -> None:
    gen = current_generation(built_index.index_dir)
    manifest = read_manifest(built_index.index_dir)
    manifest["format"] -= 1
    for name in ("part_indptr.npy", "part_vectors.npy"):  # what an older version wrote lacks them
        del manifest["files"][name]
        (gen / name).unlink()
    (gen / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")

    report = built_index.build(RecordingEmbedder(32))

    assert report.changed and current_generation(built_index.index_dir) != gen
    assert len(load_index(built_index.index_dir).parts) == report.passages


# --- search ---------------------------------------------------------------------------------------------


def test_with_parts_by_hand() -> None:
    ids = np.array([7, 8, 9])
    cos = np.array([0.80, 0.78, 0.70], dtype=np.float32)
    best = np.array([-np.inf, 0.90, 0.60], dtype=np.float32)
    # 7 has no parts: 0.80. 8: 0.78 + 0.5 · (0.90 − 0.78) = 0.84. 9: its best part is below it: 0.70.
    got_ids, got = with_parts(ids, cos, best, weight=0.5)
    assert got_ids.tolist() == [8, 7, 9]
    np.testing.assert_allclose(got, [0.84, 0.80, 0.70], rtol=1e-6)
    same_ids, same = with_parts(ids, cos, best, weight=0.0)
    assert same_ids.tolist() == [7, 8, 9] and same.tolist() == cos.tolist()


@pytest.mark.parametrize("weight", [-0.1, 1.5, float("nan")])
def test_part_weight_must_be_between_0_and_1(weight: float) -> None:
    with pytest.raises(ValueError, match="part weight"):
        with_parts(np.array([1]), np.array([0.5]), np.array([0.6]), weight)
