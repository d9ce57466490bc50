"""Benchmark of adding a document: one 50-page PDF added to an index of the default corpus.

    .venv/bin/python bench/ingest_bench.py [--pages 50] [--index-dir DIR --cache-dir DIR]

Measures the time `add` takes (extraction in its child process, splitting, embedding the new passages,
rebuilding BM25 and FAISS) and proves that no passage already indexed was embedded again: every text
the embedder is given is recorded and compared with the embedding texts of the passages indexed before.
`measure_ingest` is the function bench/bench.py calls; this file's main prints the same as a table.
The PDF is made up (ベンチ市), built with reportlab by tests/make_files.py; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # make_files: the PDF builder the tests use


@dataclass(frozen=True)
class IngestResult:
    """What adding one PDF cost, and what it embedded."""

    pages: int
    pdf_bytes: int
    index_passages_before: int
    passages_added: int
    extract_seconds: float  # extraction alone (child process included), measured separately
    add_seconds: float  # the whole add: extraction, split, embedding, BM25 + FAISS, save
    embed_seconds: float  # the part of add_seconds spent embedding the new texts
    embedded_texts: int  # texts the embedder was given during the add
    existing_reembedded: int  # of those, texts of passages indexed before the add: must be 0
    searchable: bool  # a phrase of the new PDF is found, in the new document, right after the add

    def to_dict(self) -> dict:
        """Plain dict for JSON reports."""
        return asdict(self)


class CountingEmbedder:
    """Wraps an embedder and records every passage text it is asked to embed."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name, self.dim = inner.name, inner.dim
        self.texts: list[str] = []
        self.seconds = 0.0

    def embed_queries(self, texts):
        """Queries go straight through (calibration probes are queries)."""
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts):
        """Record, then embed (timed)."""
        self.texts.extend(texts)
        started = time.perf_counter()
        try:
            return self.inner.embed_passages(texts)
        finally:
            self.seconds += time.perf_counter() - started


def measure_ingest(
    work: Path, pages: int = 50, index_dir: Path | None = None, cache_dir: Path | None = None
) -> IngestResult:
    """Add a `pages`-page PDF to a copy of the index at `index_dir` (built in `work` when None)."""
    import make_files

    from corpus.extract import extract
    from index.build import profile_texts
    from index.context import embedding_text
    from index.store import load_index
    from reform_search.manage import add_document, embedder_for, index_all, limits_for
    from reform_search.settings import Settings
    from search.engine import Searcher

    work = Path(work)
    settings = Settings().override(index_dir=work / "index", cache_dir=work / "cache")
    if index_dir is not None:  # a copy: the add must not change the caller's index or cache
        shutil.copytree(index_dir, settings.index_dir)
        if cache_dir is not None:
            shutil.copytree(cache_dir, settings.cache_dir)
    embedder = embedder_for(settings)
    index_all(settings, embedder=embedder)  # no-op on an up-to-date copy; else builds the default corpus
    before = load_index(settings.index_dir).passages
    existing = {t for p in before for t in profile_texts(p, embedding_text(p))}

    data = make_files.prose_pdf(pages, city="ベンチ市")
    started = time.perf_counter()
    extract(data, "bench.pdf", limits_for(settings))
    extract_seconds = time.perf_counter() - started

    counting = CountingEmbedder(embedder)
    started = time.perf_counter()
    document, _ = add_document(
        settings,
        data,
        "bench.pdf",
        embedder=counting,
        city="ベンチ市",
        title="ベンチ市 改革報告",
        fiscal_year=2024,
    )
    add_seconds = time.perf_counter() - started

    index = load_index(settings.index_dir)
    searcher = Searcher(index, embedder)
    hits = searcher.search("取組7-1として", 5, "lexical")
    return IngestResult(
        pages=pages,
        pdf_bytes=len(data),
        index_passages_before=len(before),
        passages_added=len(index.passages) - len(before),
        extract_seconds=round(extract_seconds, 2),
        add_seconds=round(add_seconds, 2),
        embed_seconds=round(counting.seconds, 2),
        embedded_texts=len(counting.texts),
        existing_reembedded=len(set(counting.texts) & existing),
        searchable=bool(hits) and hits[0].passage.doc_id == document.id,
    )


def main() -> int:
    """Measure in a temporary directory and print a Markdown table; exit 1 if anything was re-embedded."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--index-dir", type=Path, help="an index of the default corpus to copy (else built)")
    parser.add_argument("--cache-dir", type=Path, help="its embedding cache (copied)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reform-search-ingest-") as tmp:
        result = measure_ingest(Path(tmp), args.pages, args.index_dir, args.cache_dir)
    print("| measurement | result |\n|---|---|")
    for key, value in result.to_dict().items():
        print(f"| {key} | {value} |")
    return 0 if result.existing_reembedded == 0 and result.searchable else 1


if __name__ == "__main__":
    sys.exit(main())
