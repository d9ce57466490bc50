"""What the live index already holds, taken again by the next build: a passage whose texts to embed are
unchanged (its own, its profile's and its parts') keeps its vector, profile and part vectors, without
embedding them again or reading the cache.

The cache (index/cache.py) makes a rebuild cheap, but it lives beside the index, not in it: an index
copied to another machine without it ("copy the index directory, serve anywhere") had embedded the whole
corpus again at the first `add` (some 40 s for the default corpus on two cores, hours for a large one).
The vectors are the same either way: they are those the same model gave the same texts, and a profile
is the mean of the same vectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corpus.passage import Passage
from index.problems import IndexProblem
from index.store import load_index

# What a vector depends on among the manifest's settings: the model, how a passage's embedding text is
# composed, and how passages are read. Another splitter, tokenizer or calibration leaves an unchanged
# passage's vectors as they were (a passage the splitter changed is no longer the same passage).
VECTOR_KEYS = ("embedder", "context_version", "passages_format")


@dataclass(frozen=True)
class Held:
    """One passage's vectors as the live index holds them."""

    vector: np.ndarray
    profile: np.ndarray
    parts: np.ndarray  # its part vectors, one row each (none for most passages)


@dataclass(frozen=True)
class Texts:
    """What a build embeds of one passage: its own text, its profile's texts, its parts' texts."""

    own: str
    profiled: tuple[str, ...]
    parts: tuple[str, ...]


def held_vectors(index_dir: Path, expected: dict, passages: list[Passage]) -> dict[int, Held]:
    """{position in `passages`: Held} for each passage the live index at `index_dir` holds as it stands
    (the same id and every field the same, so the same texts to embed: index/build.py `texts_of`).
    Nothing when there is no live index, or it is damaged or its vectors were made otherwise (`expected`,
    as VECTOR_KEYS read it): the build then embeds through the cache as before. Some 45 µs a
    passage (a million: under a minute), against embedding it again."""
    try:
        live = load_index(index_dir, {key: expected[key] for key in VECTOR_KEYS})
    except IndexProblem:
        return {}
    held: dict[int, Held] = {}
    for n, p in enumerate(passages):
        try:
            i, stored = live.passages.find(p.id)
        except (KeyError, ValueError):  # not there, or a damaged line: embedded as new
            continue
        if stored != p:
            continue
        start, end = int(live.parts.indptr[i]), int(live.parts.indptr[i + 1])
        held[n] = Held(
            np.array(live.vectors[i], dtype=np.float32),
            np.array(live.profiles[i], dtype=np.float32),
            np.array(live.parts.vectors[start:end], dtype=np.float32),
        )
    return held
