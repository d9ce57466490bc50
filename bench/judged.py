"""The judgment files: the visible ones that constants are chosen on (../shared/eval: queries, pairs,
label probes) and the blind ones that only check the choice (bench/blind, README there).

The blind questions, pairs and label probes were written and judged by readers of the passages who
never saw a ranking, after every constant had been chosen. They are never fitted nor chosen on, so
their figures estimate what a question nobody tuned for gets: the check that a cross-validated figure
cannot give once the same judgments have guided many choices.
"""

from __future__ import annotations

import glob
from pathlib import Path

HERE = Path(__file__).resolve().parent
EVAL = HERE.parent.parent / "shared" / "eval"
BLIND = HERE / "blind"


def judgment_files(kind: str) -> list[str]:
    """The visible files of one kind ("queries", "pairs", "labels")."""
    return sorted(glob.glob(str(EVAL / f"{kind}*.jsonl")))


def blind_files(kind: str) -> list[str]:
    """The blind files of one kind (bench/blind): measured, never chosen on."""
    return sorted(glob.glob(str(BLIND / f"{kind}*.jsonl")))


def required(files: list[str], option: str) -> list[str]:
    """The files, or a clear exit when there are none: without the visible judgments beside the checkout
    (../shared/eval) a fit or a tuning run would choose on what is left and print figures that look
    like the usual ones."""
    if not files:
        raise SystemExit(f"no judgment files for {option}: none in {EVAL}; pass {option} FILE...")
    return files
