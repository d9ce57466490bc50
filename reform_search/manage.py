"""Workflows shared by the CLI and the web UI: index the corpus, add and remove documents."""

from __future__ import annotations

from collections.abc import Callable

from corpus.document import Document, load_corpus
from corpus.library import Library, all_documents
from index.build import BuildReport, build_index
from index.cache import EmbeddingCache
from index.embed import Embedder, make_embedder
from index.store import read_manifest
from reform_search.settings import Settings

Progress = Callable[[int, int], None] | None


def embedder_for(settings: Settings) -> Embedder:
    """The embedder the settings name."""
    return make_embedder(settings.embedder, settings.model, settings.device, settings.batch_size)


def index_all(
    settings: Settings, rebuild: bool = False, progress: Progress = None, embedder: Embedder | None = None
) -> BuildReport:
    """Bring the index up to date with the corpus and the added documents."""
    return build_index(
        settings.index_dir,
        all_documents(settings.corpus, settings.index_dir),
        embedder or embedder_for(settings),
        EmbeddingCache(settings.cache_dir / "embeddings.sqlite3"),
        dense_kind=settings.dense_index,
        batch_size=settings.batch_size,
        rebuild=rebuild,
        progress=progress,
    )


def add_document(
    settings: Settings,
    data: bytes,
    filename: str,
    progress: Progress = None,
    embedder: Embedder | None = None,
    **meta: object,
) -> tuple[Document, BuildReport]:
    """Store a document in the index's library and index it; on any failure the index stays as it was."""
    library = Library(settings.index_dir)
    document = library.add(data, filename, settings.max_upload_mb * 1024 * 1024, **meta)
    try:
        report = index_all(settings, progress=progress, embedder=embedder)
    except BaseException:
        library.remove(document.id, set())
        raise
    return document, report


def remove_document(
    settings: Settings, doc_id: str, progress: Progress = None, embedder: Embedder | None = None
) -> BuildReport:
    """Take a document out of the index (an added one is deleted; a corpus one is hidden)."""
    Library(settings.index_dir).remove(doc_id, {d.id for d in load_corpus(settings.corpus)})
    return index_all(settings, progress=progress, embedder=embedder)


def indexed_documents(settings: Settings) -> list[dict]:
    """The documents of the live index with their passage counts (empty when there is no index)."""
    manifest = read_manifest(settings.index_dir)
    return list(manifest["documents"]) if manifest else []
