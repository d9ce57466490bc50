"""One loaded index shared by threads: every answer equals the answer given alone."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from conftest import FIXTURE_WORDS

from index.dense import build_dense_index
from index.tokenize import surface_keys, tokenize

TEXTS = [
    "水道事業の広域化",
    "公共施設の統廃合",
    "組織機構の見直し",
    "広報紙のリニューアル",
    "行政手続きのオンライン化とテレワーク",
    "マイナンバーカードの普及",
]


def test_tokenize_from_many_threads_matches_one_thread():
    # A fugashi Tagger shared by threads returned other threads' words; each thread has its own now.
    want = {t: (tokenize(t), surface_keys(t)) for t in TEXTS}
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda t: (t, tokenize(t), surface_keys(t)), TEXTS * 100))
    assert all(want[t] == (tokens, keys) for t, tokens, keys in got)


def test_dense_search_from_many_threads_gives_identical_scores():
    rng = np.random.default_rng(0)
    v = rng.standard_normal((3_000, 32)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    for kind in ("flat", "ivf", "hnsw"):
        index = build_dense_index(v, kind=kind)
        want = [index.search(q, 20) for q in v[:50]]
        with ThreadPoolExecutor(4) as pool:
            got = list(pool.map(lambda q, index=index: index.search(q, 20), list(v[:50]) * 4))
        for (ids, scores), (want_ids, want_scores) in zip(got, want * 4, strict=True):
            np.testing.assert_array_equal(ids, want_ids)
            np.testing.assert_array_equal(scores, want_scores)


def test_shared_searcher_answers_threads_as_it_answers_one(searcher):
    asks = [(w, mode, cities) for w in FIXTURE_WORDS for mode in ("hybrid", "dense", "lexical")
            for cities in (None, ["テスト市"])]  # fmt: skip

    def answer(ask):
        word, mode, cities = ask
        hits = searcher.search(word, 5, mode, searcher.mask(cities))
        return [(h.passage.id, h.score, h.matched) for h in hits]

    want = [answer(a) for a in asks]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(answer, asks * 10))
    assert got == want * 10
