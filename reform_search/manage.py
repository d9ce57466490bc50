"""Workflows shared by the CLI and the web UI: index the corpus, add and remove documents."""

from __future__ import annotations

from collections.abc import Callable, Set
from pathlib import Path

from corpus.document import DEFAULT_CORPUS, Document, load_corpus
from corpus.extract import Limits
from corpus.library import Library, all_documents
from index import embed
from index.build import BuildReport, build_index
from index.cache import CACHE_FILE, EmbeddingCache
from index.documents import IndexedDocument
from index.embedder import Embedder
from index.glossary import LazyGlossary
from index.store import (
    CorruptIndex,
    IndexProblem,
    MissingIndex,
    current_generation,
    index_directory,
    read_manifest,
)
from reform_search import __version__
from reform_search.settings import Settings

Progress = Callable[[int, int], None] | None


def embedder_for(settings: Settings) -> Embedder:
    """The embedder the settings name."""
    # Looked up on the module at call time, so that tests can swap in a fake embedder.
    return embed.make_embedder(
        settings.embedder,
        settings.model,
        settings.device,
        settings.batch_size,
        precision=settings.precision,
        devices=settings.devices,
    )


def limits_for(settings: Settings) -> Limits:
    """The bounds an added (untrusted) file is read under."""
    return Limits(
        max_bytes=settings.max_upload_mb * 2**20,
        max_pages=settings.max_pages,
        max_unzipped_bytes=settings.max_unzipped_mb * 2**20,
        timeout_s=settings.parse_timeout_s,
        max_cells=settings.max_cells,
        max_passages=settings.max_passages,
        memory_bytes=settings.parser_memory_mb * 2**20,
    )


def _library(settings: Settings) -> Library:
    """The index directory's library, once the directory is known not to be a file."""
    return Library(index_directory(settings.index_dir))


def _existing_library(settings: Settings) -> Library:
    """The library of an index that exists: adding to or removing from a mistyped --index-dir had built
    a whole new index there (of the bundled corpus) and said nothing."""
    if current_generation(settings.index_dir) is None:
        raise MissingIndex(f"no index at {settings.index_dir}; build it with `reform-search index`")
    return _library(settings)


def index_all(
    settings: Settings, rebuild: bool = False, progress: Progress = None, embedder: Embedder | None = None
) -> BuildReport:
    """Bring the index up to date with the corpus and the added documents."""
    library = _library(settings)
    embedder = embedder or embedder_for(settings)  # bad embedder settings are refused before the lock
    with library.lock():
        _recover(settings, library)
        return _index(settings, rebuild, progress, embedder)


class OtherCorpus(ValueError):
    """The live index holds the documents of another corpus than the one the settings name: building it
    from theirs would drop every one of them (the bundled corpus in place of a nationwide one)."""


def check_corpus(settings: Settings, documents: list[Document], added_before: Set[str] = frozenset()) -> None:
    """Refuse (OtherCorpus) to build the live index from a corpus that shares no document with the
    corpus documents it holds (those not added through the library): another corpus altogether, as the
    bundled one is beside a nationwide one. The same corpus moved elsewhere, or edited, shares its ids
    and is built as ever; so is an index of no corpus documents. `added_before`: the library's documents
    before the change being built (one removed is no corpus document either)."""
    try:
        live = {str(d.get("id")) for d in (read_manifest(settings.index_dir) or {}).get("documents", [])}
    except (IndexProblem, AttributeError):
        return
    if not live:  # a new index: nothing of its own to lose
        return
    library = Library(settings.index_dir)
    added = {str(e.get("id")) for e in library.entries()} | added_before
    held = live - added  # the live index's corpus documents
    listed = ({d.id for d in documents} - added) | library.removed()
    if held and not held & listed:
        default = Path(settings.corpus).resolve() == DEFAULT_CORPUS.resolve()
        named = "the bundled corpus" if default else str(Path(settings.corpus).resolve())
        raise OtherCorpus(
            f"the index at {str(settings.index_dir)!r} holds the documents of another corpus than "
            f"{named} lists ({len(held)}, e.g. {min(held)}): give --corpus with the manifest it was built "
            "from to update it, or build it anew from this one with `reform-search index --rebuild`"
        )


def _index(
    settings: Settings,
    rebuild: bool,
    progress: Progress,
    embedder: Embedder | None,
    added_before: Set[str] = frozenset(),
) -> BuildReport:
    documents = all_documents(settings.corpus, settings.index_dir)
    if not rebuild:
        check_corpus(settings, documents, added_before)
    return build_index(
        settings.index_dir,
        documents,
        embedder or embedder_for(settings),
        EmbeddingCache(settings.cache_dir / CACHE_FILE),
        dense_kind=settings.dense_index,
        batch_size=settings.batch_size,
        rebuild=rebuild,
        progress=progress,
        package_version=__version__,
        glossary=LazyGlossary(settings.cache_dir, settings.glossary),
    )


def add_document(
    settings: Settings,
    data: bytes,
    filename: str,
    progress: Progress = None,
    embedder: Embedder | None = None,
    **meta: object,
) -> tuple[Document, BuildReport]:
    """Extract a file (PDF, XLSX, CSV, DOCX, HTML, text), keep it in the library and index it.

    A file that is refused changes nothing; on any failure while indexing, the library goes back to
    what it was. A document with the id of one already there replaces it.
    """
    library = _existing_library(settings)
    document = library.prepare(data, filename, limits_for(settings), _indexed(settings), **meta)
    report = _change(settings, library, lambda: library.put([document]), progress, embedder)
    return document, report


def indexed_entries(settings: Settings) -> dict[str, dict]:
    """The live index's documents by id, as its manifest lists them: an add whose document has one of
    these ids replaces it, or leaves it as it was (`unchanged`)."""
    return {str(d.get("id")): d for d in _indexed(settings) if isinstance(d, dict)}


def unchanged(meta: dict, entry: dict | None) -> bool:
    """Whether an added document (`meta`: Document.meta) is the indexed one (`entry`) as it was: the
    same file (sha256) and every field the same."""
    if entry is None:
        return False
    unset = ("", None)  # a field dropped (a URL left out) is a change too
    return all(
        (entry.get(k) if entry.get(k) not in unset else None) == (v if v not in unset else None)
        for k, v in meta.items()
    )


def _indexed(settings: Settings) -> list[dict]:
    """The live index's documents (a bundled report added again replaces it rather than standing beside
    it twice: Library.prepare); none when there is no readable index yet."""
    try:
        return list(read_manifest(settings.index_dir)["documents"])
    except (IndexProblem, KeyError, TypeError):
        return []


def add_folder(
    settings: Settings,
    folder: Path,
    manifest: Path,
    progress: Progress = None,
    embedder: Embedder | None = None,
    follow_symlinks: bool = False,
) -> tuple[list[Document], BuildReport]:
    """Add every document a manifest lists (files inside `folder`): all of them, or none."""
    library = _existing_library(settings)
    documents = library.prepare_folder(
        folder, manifest, limits_for(settings), follow_symlinks, _indexed(settings)
    )
    report = _change(settings, library, lambda: library.put(documents), progress, embedder)
    return documents, report


def remove_document(
    settings: Settings, doc_id: str, progress: Progress = None, embedder: Embedder | None = None
) -> BuildReport:
    """Take a document out of the index (an added one is deleted; a corpus one is hidden)."""
    library = _existing_library(settings)
    corpus_ids = {d.id for d in load_corpus(settings.corpus)}
    library.known(doc_id, corpus_ids)  # an unknown id is refused before the library is locked
    return _change(settings, library, lambda: library.remove(doc_id, corpus_ids), progress, embedder)


def _change(
    settings: Settings,
    library: Library,
    change: Callable[[], None],
    progress: Progress,
    embedder: Embedder | None,
) -> BuildReport:
    """Apply a library change and index it, all or nothing: if indexing fails, the library is restored as
    it was; if the process is killed, the next run restores it (`_recover`) unless the new index had
    already gone live. Bad embedder settings are refused first: a refusal leaves no lock file behind."""
    embedder = embedder or embedder_for(settings)
    with library.lock():
        _recover(settings, library)
        before = library.snapshot()
        added_before = {str(e.get("id")) for e in library.entries()}
        library.begin(before, _live(settings))
        try:
            change()
            report = _index(settings, False, progress, embedder, added_before)
        except BaseException:
            library.restore(before)
            library.finish()
            raise
        library.finish()
        library.prune()
    return report


def _live(settings: Settings) -> str | None:
    """The live generation's name (None: no index; "?": a damaged pointer, which only a new one fixes)."""
    try:
        gen = current_generation(settings.index_dir)
    except CorruptIndex:
        return "?"
    return gen.name if gen else None


def _recover(settings: Settings, library: Library) -> None:
    """Finish what a killed add or remove left (called under the library lock): if the index generation
    it started from is still live, its change never reached the index and is undone; if a newer one is
    live, the change was indexed and stays. Then stray files go."""
    note = library.pending()
    if note is not None:
        if _live(settings) == note.get("live"):
            library.restore(note["before"])
        library.finish()
    library.prune()


def indexed_documents(settings: Settings) -> list[IndexedDocument]:
    """The documents of the live index with their passage counts (empty when there is no index)."""
    manifest = read_manifest(settings.index_dir)
    return [IndexedDocument.from_dict(d) for d in manifest["documents"]] if manifest else []
