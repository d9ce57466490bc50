"""Reciprocal rank fusion against hand-computed examples, plus its tie and error rules."""

from __future__ import annotations

import numpy as np
import pytest

from search.fusion import RRF_K, convex, normalized, rrf, with_source


def test_three_documents_by_hand():
    # k = 60, lexical ranks A B C, dense ranks B C A:
    #   A: 1/(60+1) + 1/(60+3) = 0.016393443 + 0.015873016 = 0.032266459
    #   B: 1/(60+2) + 1/(60+1) = 0.016129032 + 0.016393443 = 0.032522475
    #   C: 1/(60+3) + 1/(60+2) = 0.015873016 + 0.016129032 = 0.032002048
    # so B, A, C.
    a, b, c = 0, 1, 2
    fused = rrf([[a, b, c], [b, c, a]])
    assert [doc for doc, _ in fused] == [b, a, c]
    assert [score for _, score in fused] == pytest.approx([0.032522475, 0.032266459, 0.032002048], abs=1e-9)
    assert RRF_K == 60


def test_weights_scale_each_ranking():
    # Weights 2 and 1, k = 60: A: 2/61 + 1/63 = 0.032786885 + 0.015873016 = 0.048659901,
    # B: 2/62 + 1/61 = 0.032258065 + 0.016393443 = 0.048651507,
    # C: 2/63 + 1/62 = 0.031746032 + 0.016129032 = 0.047875064; doubling the lexical ranking lifts A above B.
    fused = rrf([[0, 1, 2], [1, 2, 0]], weights=[2.0, 1.0])
    assert [doc for doc, _ in fused] == [0, 1, 2]
    assert [score for _, score in fused] == pytest.approx([0.048659901, 0.048651507, 0.047875064], abs=1e-9)
    assert [doc for doc, _ in rrf([[0, 1, 2], [1, 2, 0]], weights=[0.0, 1.0])] == [1, 2, 0]


def test_documents_in_only_one_ranking_are_kept():
    fused = dict(rrf([[7, 8], [9]], k=1))
    assert fused == pytest.approx({7: 1 / 2, 9: 1 / 2, 8: 1 / 3})


def test_ties_break_by_best_single_rank_then_lower_doc():
    # k = 1 keeps every sum exact in binary:
    #   doc 9: rank 1 in the first ranking        -> 1/2
    #   doc 4: rank 1 in the second ranking       -> 1/2
    #   doc 1: rank 3 in both                     -> 1/4 + 1/4 = 1/2
    #   doc 5, doc 6: rank 2 in one ranking each  -> 1/3
    # 9 and 4 share best rank 1, so 4 (lower id) leads; 1's best rank is only 3.
    fused = rrf([[9, 5, 1], [4, 6, 1]], k=1)
    assert fused == [(4, 0.5), (9, 0.5), (1, 0.5), (5, pytest.approx(1 / 3)), (6, pytest.approx(1 / 3))]


def test_scores_do_not_depend_on_ranking_order():
    rng = np.random.default_rng(0)
    rankings = [rng.permutation(50)[:30].tolist() for _ in range(4)]
    assert rrf(rankings) == rrf(rankings[::-1])


def test_numpy_ids_come_back_as_int():
    fused = rrf([np.array([3, 1], dtype=np.int64)])
    assert fused == [(3, pytest.approx(1 / 61)), (1, pytest.approx(1 / 62))]
    assert all(type(doc) is int for doc, _ in fused)


def test_no_rankings_fuse_to_nothing():
    assert rrf([]) == []
    assert rrf([[], []]) == []


@pytest.mark.parametrize("k", [0, -5])
def test_k_must_be_positive(k):
    with pytest.raises(ValueError, match=f"RRF k of {k}"):
        rrf([[1, 2]], k=k)


def test_weights_must_match_and_be_non_negative():
    with pytest.raises(ValueError, match="got 1 weights for 2 rankings"):
        rrf([[1], [2]], weights=[1.0])
    with pytest.raises(ValueError, match="weight 1 of -1"):
        rrf([[1], [2]], weights=[1.0, -1.0])


def test_duplicate_in_one_ranking_is_rejected():
    with pytest.raises(ValueError, match="ranking 0 lists doc 3 twice"):
        rrf([[3, 4, 3]])


# --- convex fusion ------------------------------------------------------------------------------------


def test_convex_fusion_by_hand() -> None:
    # dense cosines A 0.90, B 0.85, C 0.80 → min-max 1.0, 0.5, 0.0
    # BM25 C 6.0, B 3.0 (A has no query word) → divided by the max: C 1.0, B 0.5, A 0
    # w = 0.3: A 0.7·1.0 = 0.70; B 0.7·0.5 + 0.3·0.5 = 0.50; C 0.7·0 + 0.3·1.0 = 0.30
    a, b, c = 0, 1, 2
    fused = convex(([a, b, c], [0.90, 0.85, 0.80]), (([c, b], [6.0, 3.0]), 0.3))
    assert [doc for doc, _ in fused] == [a, b, c]
    assert [s for _, s in fused] == pytest.approx([0.70, 0.50, 0.30])
    # w = 0.8: A 0.2; B 0.1 + 0.4 = 0.5; C 0.8: the lexical evidence now leads
    fused = convex(([a, b, c], [0.90, 0.85, 0.80]), (([c, b], [6.0, 3.0]), 0.8))
    assert [doc for doc, _ in fused] == [c, b, a]
    assert [s for _, s in fused] == pytest.approx([0.8, 0.5, 0.2])


def test_convex_fuses_only_its_pool_by_hand() -> None:
    # pool 2: dense A 0.90, B 0.80 → 1.0, 0.0 (C 0.70 and D 0.60 lie beyond it: 0, as if not fetched)
    # BM25 D 8.0, B 4.0 (the first two; C's 2.0 lies beyond) → D 1.0, B 0.5
    # w = 0.4: A 0.6; B 0 + 0.2 = 0.2; D 0.4; C 0, after the others by its cosine
    a, b, c, d = 0, 1, 2, 3
    fused = convex(([a, b, c, d], [0.90, 0.80, 0.70, 0.60]), (([d, b, c], [8.0, 4.0, 2.0]), 0.4), pool=2)
    assert fused == [(a, pytest.approx(0.6)), (d, pytest.approx(0.4)), (b, pytest.approx(0.2)), (c, 0.0)]
    # the same pool fetched less deep gives the same scores for what both hold
    shallow = dict(convex(([a, b], [0.90, 0.80]), (([d, b], [8.0, 4.0]), 0.4), pool=2))
    assert shallow == {doc: s for doc, s in fused if doc in shallow}
    assert normalized(np.array([0.9, 0.8, 0.95]), "min", pool=2).tolist() == pytest.approx([1.0, 0.0, 0.0])


def test_convex_keeps_the_margin_that_rrf_flattens() -> None:
    # The embedding puts A far ahead; BM25 lists B and C only through one common word (equal small scores).
    dense = ([0, 1, 2], [0.95, 0.70, 0.69])
    lexical = ([1, 2], [0.4, 0.4])
    assert convex(dense, (lexical, 0.3))[0][0] == 0
    assert rrf([[0, 1, 2], [1, 2]])[0][0] == 1  # RRF: rank 2 + rank 1 beats rank 1 alone


def test_convex_weights_are_checked_and_ties_go_to_dense() -> None:
    with pytest.raises(ValueError, match="lexical weight"):
        convex(([0], [1.0]), (([0], [1.0]), 1.5))
    with pytest.raises(ValueError, match=r"add up to 1\.2"):
        convex(([0], [1.0]), (([0], [1.0]), 0.6), (([0], [2.0]), 0.6))
    # equal fused scores (1 − w)·1 vs w·1 at w = 0.5: the document the embedding liked more goes first
    assert [d for d, _ in convex(([0, 1], [0.9, 0.1]), (([1], [2.0]), 0.5))] == [0, 1]
    assert normalized(np.array([3.0, 3.0]), "min").tolist() == [1.0, 1.0]  # no spread: all equal, not NaN
    assert convex(([], []), (([], []), 0.3)) == []


def test_two_lexical_rankings_by_hand() -> None:
    # dense A 0.9, B 0.8, C 0.7 → 1.0, 0.5, 0.0; Japanese BM25 B 4.0 → B 1.0; English BM25 C 2.0, A 1.0 →
    # C 1.0, A 0.5. Weights 0.3 and 0.2: dense 0.5. A 0.5 + 0.1 = 0.6; B 0.25 + 0.3 = 0.55; C 0 + 0.2 = 0.2
    a, b, c = 0, 1, 2
    fused = convex(([a, b, c], [0.9, 0.8, 0.7]), (([b], [4.0]), 0.3), (([c, a], [2.0, 1.0]), 0.2))
    assert fused == [(a, pytest.approx(0.6)), (b, pytest.approx(0.55)), (c, pytest.approx(0.2))]
    # A list without hits gives its weight back to the embedding: dense 0.8, B 0.4 + 0.2 = 0.6
    fused = convex(([a, b, c], [0.9, 0.8, 0.7]), (([], []), 0.3), (([b], [1.0]), 0.2))
    assert fused == [(a, pytest.approx(0.8)), (b, pytest.approx(0.6)), (c, pytest.approx(0.0))]


def test_with_source_by_hand() -> None:
    # Ranking scores 0.9, 0.6, 0.3 → 1, 0.5, 0; cosines to the source 0.70, 0.90, 0.80 → 0, 1, 0.5.
    ids = np.array([7, 3, 5])
    got_ids, got = with_source(ids, [0.9, 0.6, 0.3], np.array([0.70, 0.90, 0.80]), weight=0.6)
    # fused: 7 → 0.4·1 + 0.6·0 = 0.4; 3 → 0.4·0.5 + 0.6·1 = 0.8; 5 → 0 + 0.6·0.5 = 0.3
    assert got_ids.tolist() == [3, 7, 5]
    assert got == pytest.approx([0.8, 0.4, 0.3])
    # γ = 0 keeps the ranking; γ = 1 is the source's similarity alone
    assert with_source(ids, [0.9, 0.6, 0.3], np.array([0.70, 0.90, 0.80]), 0.0)[0].tolist() == [7, 3, 5]
    assert with_source(ids, [0.9, 0.6, 0.3], np.array([0.70, 0.90, 0.80]), 1.0)[0].tolist() == [3, 5, 7]
    empty_ids, empty = with_source(np.array([], dtype=np.int64), [], np.array([]), 0.5)
    assert len(empty_ids) == 0 and len(empty) == 0


@pytest.mark.parametrize("weight", [-0.1, 1.5, float("nan")])
def test_with_source_refuses_a_weight_outside_0_1(weight: float) -> None:
    with pytest.raises(ValueError, match="source weight"):
        with_source(np.array([1]), [0.5], np.array([0.6]), weight)
