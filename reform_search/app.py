"""Workflows the command line, the web app and the benchmarks share: open a searcher over the index the
settings name, and show the progress of long work on the terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import fields

from reform_search.settings import Settings


def open_searcher(settings: Settings, embedder=None):
    """Load the index and its embedder (or the one given), checking that they match the settings."""
    from index.build import expected_manifest
    from index.glossary import LazyGlossary
    from index.store import load_index
    from reform_search.manage import embedder_for
    from search.engine import Searcher
    from search.fusion import Ranking

    embedder = embedder or embedder_for(settings)
    glossary = LazyGlossary(settings.cache_dir, settings.glossary)
    index = load_index(settings.index_dir, expected_manifest(embedder))
    # the settings of the Ranking's names (a setting per field, declared once: settings.py)
    ranking = Ranking(**{f.name: getattr(settings, f.name) for f in fields(Ranking)})
    return Searcher(index, embedder, ranking, glossary, settings.max_query_chars)


def tqdm_progress(desc: str = "embedding passages") -> Callable[[int, int], None]:
    """A progress callback drawing a tqdm bar on stderr (created on the first call)."""
    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, desc=desc, unit="passage", file=sys.stderr)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update
