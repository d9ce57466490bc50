"""Result crowding: a few hits per initiative, so one long run of sibling rows doesn't fill the page."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

FREE_PER_GROUP = 2
# A search's or a comparison's third row of one initiative and beyond: × DEMOTION for each earlier pick
# beyond FREE_PER_GROUP. Chosen by 5-fold cross-validation over the visible questions (bench/tune.py
# crowding: 0.9 in four folds of five; 0.7 before): nDCG@10 0.869 → 0.872, recall@10 0.923 → 0.926,
# column recall@3 0.824 kept. The judged answers to a question are often several rows of one initiative.
DEMOTION = 0.9
# Counterparts (search/counterparts.py) crowd their own: another city's three best should be three of
# its initiatives where it can. Chosen over the judged pairs (bench/tune.py crowding-pairs): hit@3 is the
# same at every value, so the value they had stays.
COUNTERPART_DEMOTION = 0.7


def crowd(
    ranked: Sequence[tuple[int, float]],
    group_of: Mapping[int, Hashable] | Sequence[Hashable],  # by position: a table column or a dict
    k: int,
    free: int = FREE_PER_GROUP,
    demotion: float | None = None,
) -> list[tuple[int, float]]:
    """Re-rank (id, score) pairs, multiplying a hit's score by `demotion` (None: DEMOTION) for every
    earlier pick of its group beyond the first `free`; returns the best `k`, scores non-increasing.

    Progress tables list many rows under one 具体的取組 (seven rows of 公共施設等の長寿命化); without
    crowding they take every slot and the other cities' answers fall off the first page.
    """
    demotion = DEMOTION if demotion is None else demotion
    if not 0 < demotion <= 1:
        raise ValueError(f"demotion must be in (0, 1], got {demotion}")
    remaining = [(i, float(s)) for i, s in ranked]
    picked: list[tuple[int, float]] = []
    seen: dict[Hashable, int] = {}
    while remaining and len(picked) < k:
        best_at, best_score = 0, float("-inf")
        for at, (i, s) in enumerate(remaining):
            factor = demotion ** max(0, seen.get(group_of[i], 0) - free + 1)
            effective = s * factor if s >= 0 else s / factor  # demotion lowers negative scores too
            if effective > best_score:
                best_at, best_score = at, effective
        i, _ = remaining.pop(best_at)
        picked.append((i, best_score))
        seen[group_of[i]] = seen.get(group_of[i], 0) + 1
    return picked
