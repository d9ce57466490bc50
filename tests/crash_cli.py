"""`reform-search` in a child process with the fake embedder, able to stop at a named point (test-only).

    python tests/crash_cli.py index --index-dir ... --cache-dir ... --corpus ...

CRASH_CLI_POINT names a point; when the child reaches it, it prints `CRASH-POINT <name>`
on stdout and sleeps, so that tests/test_crash.py can SIGKILL it right there. The hooks live here and
only here: the product code is run unchanged.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
from fakes import FakeEmbedder

from index import embed
from index.bm25 import BM25
from reform_search.cli import main

MARKER = "CRASH-POINT"


def _pause(point: str) -> None:
    print(f"{MARKER} {point}", flush=True)
    time.sleep(600)  # the test kills us long before this ends
    raise SystemExit(f"crash point {point}: nobody killed this process")


def _in_temporary_generation(path: object) -> bool:
    parent = Path(os.fspath(path)).parent.name
    return parent.startswith("gen-") and parent.endswith(".tmp")


class _PausingEmbedder(FakeEmbedder):
    """The fake embedder, pausing at the start of its n-th passage batch."""

    def __init__(self, pause_on: int) -> None:
        super().__init__(32)
        self.pause_on = pause_on

    def embed_passages(self, texts):
        """Pause before the n-th batch; embed as FakeEmbedder does."""
        if self.batches + 1 == self.pause_on:
            _pause(f"embed:{self.pause_on}")
        return super().embed_passages(texts)


def _install(point: str) -> None:
    """Patch the one function that reaches `point` (in this process only)."""
    kind, _, arg = point.partition(":")
    if kind == "embed":
        pause_on = int(arg or 2)
        embed.make_embedder = lambda *args, **kwargs: _PausingEmbedder(pause_on)
        return
    embed.make_embedder = lambda *args, **kwargs: FakeEmbedder(32)
    if kind == "save-vectors":  # passages.jsonl and vectors.npy written, nothing else
        real_save = np.save

        def save(file, arr, *args, **kwargs):
            real_save(file, arr, *args, **kwargs)
            if _in_temporary_generation(file) and Path(os.fspath(file)).name == "vectors.npy":
                _pause(point)

        np.save = save
    elif kind == "save-bm25":  # every data file of the new generation written, but not its manifest
        real_bm25_save = BM25.save

        def bm25_save(self, directory):
            out = real_bm25_save(self, directory)
            _pause(point)
            return out

        BM25.save = bm25_save
    elif kind in ("generation-renamed", "current-replace", "current-replaced", "library-manifest"):
        real_replace = os.replace

        def replace(src, dst, **kwargs):
            name = Path(os.fspath(dst)).name
            if kind == "current-replace" and name == "CURRENT":
                _pause(point)  # the new CURRENT is written to its temporary file, not yet renamed
            if kind == "library-manifest" and name == "library.toml":
                _pause(point)
            out = real_replace(src, dst, **kwargs)
            if kind == "current-replaced" and name == "CURRENT":
                _pause(point)  # the new generation is live; the run has not finished
            if kind == "generation-renamed" and name.startswith("gen-") and Path(os.fspath(dst)).is_dir():
                _pause(point)  # the new generation is complete, CURRENT still names the old one
            return out

        os.replace = replace
    elif kind:
        raise SystemExit(f"unknown crash point {point!r}")


if __name__ == "__main__":
    _install(os.environ.get("CRASH_CLI_POINT", ""))
    sys.exit(main(sys.argv[1:]))
