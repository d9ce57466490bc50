"""The commands that build and change the index: index, add, remove, documents, passages, check, serve."""

from __future__ import annotations

import argparse

from reform_search.output import EXIT_USAGE, print_json, quoted, with_index_flags
from reform_search.settings import Settings


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    """Build or update the index of the configured corpus, with a progress bar on stderr."""
    from reform_search.app import tqdm_progress
    from reform_search.manage import index_all

    report = index_all(settings, rebuild=args.rebuild, progress=tqdm_progress())
    if args.json:
        print_json(report.to_dict())
    else:
        state = "built" if report.changed else "up to date"
        print(
            f"index {state}: {report.documents} documents, {report.passages} passages "
            f"({report.embedded} texts embedded now: passages, their fields and sentences) "
            f"in {report.seconds:.1f} s → {settings.index_dir}"
        )
    return 0


ONE_FILE_FLAGS = ("city", "city_en", "prefecture", "title", "fiscal_year", "kind", "url", "doc_id")


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    """Add one file with its city, title and year, or a folder described by a manifest, and index it."""
    from corpus.library import read_upload
    from reform_search.app import tqdm_progress
    from reform_search.manage import add_document, add_folder, indexed_entries, limits_for, unchanged

    before = indexed_entries(settings)  # a document added with the id of one of these replaces it
    if args.manifest or args.path.is_dir():
        given = [f"--{k.replace('_', '-')}" for k in ONE_FILE_FLAGS if getattr(args, k)]
        if given:
            raise ValueError(
                f"{', '.join(given)} {'describes' if len(given) == 1 else 'describe'} one file; "
                "for a folder, give them in its manifest"
            )
        if not args.path.is_dir():
            raise ValueError(
                f"{str(args.path)!r} is not a folder; --manifest goes with a folder of documents"
            )
        manifest = args.manifest or args.path / "corpus.toml"
        documents, report = add_folder(
            settings, args.path, manifest, progress=tqdm_progress(), follow_symlinks=args.follow_symlinks
        )
    else:
        missing = [f"--{k}" for k in ("city", "title") if not getattr(args, k)]
        if missing:
            raise ValueError(f"give the document's {' and '.join(missing)}")
        meta = {k: getattr(args, k) for k in ONE_FILE_FLAGS if k != "doc_id"} | {"id": args.doc_id}
        data = read_upload(args.path, limits_for(settings))
        document, report = add_document(settings, data, args.path.name, progress=tqdm_progress(), **meta)
        documents = [document]
    same = {d.id for d in documents if unchanged(d.meta(), before.get(d.id))}  # added again as it was
    if args.json:
        metas = [d.meta() for d in documents]
        # One file: {"document": ...}; a folder: {"added": [...]}; then the index report ("documents": count).
        head = {"added": metas} if args.manifest or args.path.is_dir() else {"document": metas[0]}
        replaced = sorted(d.id for d in documents if d.id in before and d.id not in same)
        print_json({**head, "replaced": replaced, "unchanged": sorted(same), **report.to_dict()})
    else:
        for d in documents:
            done = "unchanged" if d.id in same else "replaced" if d.id in before else "added"
            print(f"{done} {d.id} ({d.city}{quoted(d.title)}, {d.format})")
        print(
            f"index: {report.documents} documents, {report.passages} passages "
            f"({report.embedded} texts embedded now: passages, their fields and sentences)"
        )
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    """Remove a document from the index."""
    from reform_search.manage import remove_document

    report = remove_document(settings, args.document_id)
    if args.json:
        print_json({"removed": args.document_id, **report.to_dict()})
    else:
        print(f"removed {args.document_id}; index: {report.documents} documents, {report.passages} passages")
    return 0


# The header of `documents`' tab-separated table (its --json lines carry these names as keys).
DOCUMENT_COLUMNS = ("id", "city", "fiscal_year", "kind", "passages", "title", "source")


def cmd_documents(args: argparse.Namespace, settings: Settings) -> int:
    """What is indexed: id, city, title, year, kind, passages, source."""
    from reform_search.manage import indexed_documents

    documents = indexed_documents(settings)
    if not documents:
        raise ValueError(f"no index at {settings.index_dir}; build it with `reform-search index`")
    if not args.json:
        print("\t".join(DOCUMENT_COLUMNS))
    for d in documents:
        if args.json:
            print_json(d.to_dict(), compact=True)
        else:
            fields = (d.id, d.city, d.fiscal_year or "—", d.kind, d.passages, d.title, d.source)
            print("\t".join(str(f) for f in fields))
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Build the index if needed, then start the web UI (127.0.0.1 unless --host says otherwise)."""
    from reform_search.web.server import serve

    serve(settings)
    return 0


def cmd_passages(args: argparse.Namespace, settings: Settings) -> int:
    """Every indexed passage with its metadata: JSON lines with --json, a table otherwise."""
    from corpus.cities import resolve_city
    from index.store import load_index

    index = load_index(settings.index_dir)
    cities = {resolve_city(c, index.city_pairs) for c in args.city or []}
    for p in index.passages:
        if cities and p.city not in cities:
            continue
        if args.json:
            d = p.to_dict()
            print_json(
                {"id": d.pop("id"), "city": d.pop("city"), "document": d.pop("document"), **d}, compact=True
            )
        else:
            print(f"{p.id}\t{p.city}\t{p.section}\t{p.text[:60].replace(chr(10), ' ')}")
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    """Verify the live index: every file present at its recorded size; with --full, its SHA-256 too."""
    from index.build import expected_manifest
    from reform_search.check import check_index
    from reform_search.manage import embedder_for

    expected = expected_manifest(embedder_for(settings))
    report = check_index(settings.index_dir, full=args.full, expected=expected)
    if args.json:  # its fix names the index checked, as every error's does (it had rebuilt the default)
        said = report.to_dict()
        print_json({k: with_index_flags(v, args) if isinstance(v, str) else v for k, v in said.items()})
    else:
        print(with_index_flags(report.message(), args))
    return 0 if report.ok else EXIT_USAGE


def cmd_cache(args: argparse.Namespace, settings: Settings) -> int:
    """The embedding cache's size; with --prune DAYS, the embeddings no build used for DAYS days removed."""
    from index.cache import CACHE_FILE, EmbeddingCache

    path = settings.cache_dir / CACHE_FILE
    report = {"path": str(path), "embeddings": 0, "bytes": 0, "removed": 0}
    if path.exists():  # else said, not created
        with EmbeddingCache(path) as cache:
            report["removed"] = cache.prune(args.prune) if args.prune is not None else 0
            report["embeddings"], report["bytes"] = cache.stats()
    if args.json:
        print_json(report)
        return 0
    if args.prune is not None:
        print(f"removed {report['removed']:,} embeddings no build used in the last {args.prune} days")
    print(f"embedding cache {path}: {report['embeddings']:,} embeddings, {report['bytes'] / 1e6:.1f} MB")
    return 0
