"""The label model: logistic coefficients over the evidence of search/labels.py, its thresholds, the
range of each feature it was fitted on, and which candidates of a city count as matching.

Fitted and written by bench/fit_labels.py; shipped in label_model.json beside this module.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from search.labels import Match

MODEL_FILE = Path(__file__).with_name("label_model.json")
# The evidence, in the order of the model's coefficients (search/labels.py says what each is)
FEATURES = (
    "z",
    "words",
    "phrase",
    "log_chars",
    "missing",
    "missing_pairs",
    "log_terms",
    "words_x_terms",
)


@dataclass(frozen=True)
class LabelModel:
    """Logistic coefficients over FEATURES, the two probability thresholds, and each feature's range
    among the examples it was fitted on (`bounds`: (low, high) per feature; None: unbounded).

    A feature beyond its fitted range is read at the range's edge: a logistic model extrapolates
    linearly, and the coefficient of *terms* (the query's number of content words, fitted on questions
    of up to a dozen words) would otherwise call most of a city's passages a match for a long text, such
    as a table row's initiative and 内容 sought as a counterpart.
    """

    intercept: float
    coefficients: tuple[float, ...]
    weak: float
    strong: float
    bounds: tuple[tuple[float, float], ...] | None = None
    # What a passage other than the city's best needs to count as matching (None: `weak`)
    passage: float | None = None
    # The fewest passages of a city it was fitted on (None: unknown): a city with fewer lies outside the
    # cities it learned from, and its null (index/calibration.py) lies lower, its passages' z higher
    fitted_passages: int | None = None

    def few(self, passages: int) -> bool:
        """Whether a city of `passages` passages has fewer than any city the model was fitted on."""
        return self.fitted_passages is not None and passages < self.fitted_passages

    def probability(self, features: np.ndarray) -> np.ndarray:
        """P(match) for rows of features (columns in FEATURES order)."""
        x = np.asarray(features, dtype=np.float64)
        if self.bounds is not None:
            low, high = np.asarray(self.bounds, dtype=np.float64).T
            x = np.clip(x, low, high)
        logit = self.intercept + x @ np.asarray(self.coefficients)
        return 1 / (1 + np.exp(-logit))

    def matching(self, probabilities: np.ndarray, ranked: Sequence[int] = ()) -> np.ndarray:
        """Which of a city's candidates match: any at `passage` or above, and, when its best (the one
        the city's label rests on) is not one of them but reaches `weak`, one more: the first of
        `ranked` (candidate indices in the order the city's column ranks them) of the best's band, else
        the best. The ranking tells which of a city's likely answers a reader should see marked:
        「古くなった公共施設をどう減らしているか」 had marked a row on farm roads' tunnels, the best by
        probability, above the 公共施設の再編 row ranked first (marked passages judged relevant: visible
        questions 72 % → 76 %, blind 75 % → 76 %; the city's label and count are unchanged). The first
        of the best's band (◎ when the best is ◎): a ◎ column had shown one card, marked ○, and its ◎
        passage unmarked; counting both would have made the count depend on the ranking, which another
        city's words move.

        The model is fitted on cities (a city is as good as its best passage), so a passage below the
        best one at 0.5 is no match by that alone: of the passages counted at `weak`, 30 % were judged
        relevant (the exhaustively judged questions and the hand-judged topic passages), of those
        counted at the chosen `passage`, 75 % (bench/fit_labels.py, cross-validated)."""
        p = np.asarray(probabilities, dtype=np.float64)
        out = p >= (self.weak if self.passage is None else self.passage)
        if len(p) and p.max() >= self.weak and not out.any():  # (at `passage`, the best is counted)
            best = int(np.argmax(p))
            band = self.label(p[best])  # the city's label: the one counted is of its band
            out[next((n for n in ranked if self.label(p[n]) == band), best)] = True
        return out

    def label(self, probability: float) -> Match:
        if probability >= self.strong:
            return Match.STRONG
        if probability >= self.weak:
            return Match.WEAK
        return Match.NONE

    def to_dict(self) -> dict:
        return {
            "features": list(FEATURES),
            "intercept": self.intercept,
            "coefficients": list(self.coefficients),
            "weak": self.weak,
            "strong": self.strong,
            "bounds": None if self.bounds is None else [list(b) for b in self.bounds],
            "passage": self.passage,
            "fitted_passages": self.fitted_passages,
        }

    @classmethod
    def from_dict(cls, d: dict) -> LabelModel:
        if list(d.get("features", ())) != list(FEATURES):
            raise ValueError(f"label model features {d.get('features')} are not {list(FEATURES)}")
        return cls(
            float(d["intercept"]),
            tuple(float(c) for c in d["coefficients"]),
            float(d["weak"]),
            float(d["strong"]),
            _bounds(d.get("bounds"), len(d["coefficients"])),
            None if d.get("passage") is None else float(d["passage"]),
            None if d.get("fitted_passages") is None else int(d["fitted_passages"]),
        )


def _bounds(value, n: int) -> tuple[tuple[float, float], ...] | None:
    """A model file's feature bounds: None, or one [low, high] per coefficient (`n`) with low ≤ high."""
    if value is None:
        return None
    bounds = tuple((float(low), float(high)) for low, high in value)
    if len(bounds) != n or any(not low <= high for low, high in bounds):
        raise ValueError(f"label model bounds {value} are not one [low, high] per feature")
    return bounds


@lru_cache(maxsize=1)
def shipped_model() -> LabelModel:
    """The model shipped with the package (search/label_model.json)."""
    return LabelModel.from_dict(json.loads(MODEL_FILE.read_text(encoding="utf-8")))
