"""The per-city null of embedding similarity (index/calibration.py): a city of few passages is read as a
city of NULL_PASSAGES would be, never against the lower best of its few."""

from __future__ import annotations

import math

import numpy as np
import pytest

from index.calibration import MIN_STD, NULL_PASSAGES, calibrate, normal_maximum, null_of, probe_vectors


def test_the_expected_maximum_of_normal_draws_matches_known_values_and_a_simulation() -> None:
    assert normal_maximum(1) == pytest.approx((0.0, 1.0), abs=1e-6)
    assert normal_maximum(2)[0] == pytest.approx(1 / math.sqrt(math.pi), abs=1e-6)
    draws = np.random.default_rng(0).standard_normal((200_000, NULL_PASSAGES)).max(axis=1)
    assert normal_maximum(NULL_PASSAGES) == pytest.approx((draws.mean(), draws.std()), abs=0.01)


def test_a_city_of_enough_passages_keeps_the_best_of_its_own() -> None:
    cosines = np.random.default_rng(1).normal(0.8, 0.02, size=(30, NULL_PASSAGES))
    best = cosines.max(axis=1)
    assert null_of(cosines) == pytest.approx((best.mean(), best.std()))


def test_a_few_passages_are_read_as_the_best_of_null_passages_would_be() -> None:
    # a city of 5 passages drawn from the same cosines as one of NULL_PASSAGES: the best of its 5 lies
    # lower; its null is raised to about that of the larger city, where it had stayed below it
    rng = np.random.default_rng(2)
    many = rng.normal(0.8, 0.02, size=(400, NULL_PASSAGES))
    few = many[:, :5]
    mean_many, _ = null_of(many)
    mean_few, std_few = null_of(few)
    plain = few.max(axis=1).mean()
    assert plain < mean_many - 0.015  # the plain best of five: far below
    assert mean_few == pytest.approx(mean_many, abs=0.004)
    assert std_few > 0
    # each probe raised by its own spread, so a city whose cosines spread more is raised more
    lifted = few.max(axis=1) + few.std(axis=1) * (normal_maximum(NULL_PASSAGES)[0] - normal_maximum(5)[0])
    assert mean_few == pytest.approx(lifted.mean())


class _Probes:
    """An embedder whose probe vectors are fixed unit vectors (calibrate asks for each probe once)."""

    name, dim = "fixture-probes", 4

    def __init__(self) -> None:
        self.rng = np.random.default_rng(3)

    def _one(self) -> np.ndarray:
        v = self.rng.normal(size=(1, self.dim)).astype(np.float32)
        return v / np.linalg.norm(v)

    def embed_queries(self, texts):
        return self._one()

    def embed_passages(self, texts):
        return self._one()


def test_calibrate_raises_only_the_null_of_a_city_of_few_passages() -> None:
    rng = np.random.default_rng(4)
    vectors = rng.normal(size=(NULL_PASSAGES + 3, 4)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    cities = ["大きいテスト市"] * NULL_PASSAGES + ["小さいテスト町"] * 3
    out = calibrate(_Probes(), vectors, cities)["cities"]
    probes = probe_vectors(_Probes())  # the same vectors: each probe asked for in the same order
    big, small = vectors[:NULL_PASSAGES], vectors[NULL_PASSAGES:]
    for kind, probe in probes.items():
        for city, own in (("大きいテスト市", big), ("小さいテスト町", small)):
            mean, std = null_of(probe @ own.T)
            assert out[city][kind] == pytest.approx({"mean": mean, "std": max(std, MIN_STD)})
        assert out["大きいテスト市"][kind]["mean"] == pytest.approx((probe @ big.T).max(axis=1).mean())
        assert out["小さいテスト町"][kind]["mean"] > (probe @ small.T).max(axis=1).mean()
