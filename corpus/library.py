"""Documents added by users, kept beside the index: extracted content and a TOML manifest, atomically written.

    INDEX_DIR/library/
      library.toml             [[document]] tables (corpus-manifest fields, sha256, format) and `removed` ids
      files/<id>-<hash>.json   extracted text and table rows of an added document (never the upload itself)
      files/<id>.txt           a text document added by an earlier version (still read)

The index covers the configured corpus minus the removed ids and the ids the library replaces, plus
the library's documents. A document id names one report: adding under an id already there replaces it.
Changes write new files and then the manifest, so the previous manifest is a complete snapshot to go
back to; files no manifest names are pruned once a change has been indexed.

About 300 lines: the library's manifest, stored files, journal and lock are one storage unit and change
together.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
import unicodedata
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path

from corpus.atomic import remove_stale_temps, write_text_atomic
from corpus.cities import city_key
from corpus.document import (
    Document,
    folder_file,
    load_corpus,
    make_document,
    manifest_entries,
    parse_fiscal_year,
    read_bounded,
    read_document,
)
from corpus.extract import Extracted, Limits, extract
from corpus.lock import busy, exclusive
from corpus.normalize import readable_name, without_invisible
from corpus.refusal import Refusal
from corpus.split import split_passages

LIBRARY = "library"
MANIFEST = "library.toml"
FIELDS = ("city", "city_en", "prefecture", "title", "fiscal_year", "period", "kind", "layout", "url")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
JOURNAL = "pending.json"  # the note of a change in progress (Library.begin)
# The fields as the upload form names them
_FIELD_JA = {
    "city": "市町村",
    "title": "資料名",
    "fiscal_year": "年度",
    "url": "URL",
    "city_en": "英語名",
}
MAX_FIELD_CHARS = 300  # a city, title, URL … longer than this is not a name


def check_fields(name: str, meta: dict) -> None:
    """Refuse a city, title or other field that holds a control character (DEL, NUL, a line break …),
    an unpaired surrogate, or more than MAX_FIELD_CHARS characters: checked before anything is parsed
    or stored, so the library manifest only ever holds what it can read back."""
    for key in FIELDS:
        value = meta.get(key)
        if not isinstance(value, str):
            continue
        # control characters, and the invisible ones text is read without (a city 「テスト\u200b市」 had
        # been a second テスト市, its own column under the same name)
        bad = next(
            (c for c in value if unicodedata.category(c) in ("Cc", "Cs") or not without_invisible(c)), None
        )
        if bad is not None:
            raise Refusal(
                f"{name}: the {key} holds the control character U+{ord(bad):04X}; type it without it",
                f"{name}：{_FIELD_JA.get(key, key)}に制御文字（U+{ord(bad):04X}）が含まれています",
            )
        if len(value) > MAX_FIELD_CHARS:
            raise Refusal(
                f"{name}: the {key} is {len(value)} characters long; keep it to {MAX_FIELD_CHARS}",
                f"{name}：{_FIELD_JA.get(key, key)}が {len(value)} 文字あります。"
                f"{MAX_FIELD_CHARS} 文字以内にしてください",
            )


class Library:
    """The user-added documents of one index directory."""

    def __init__(self, index_dir: Path) -> None:
        self.root = Path(index_dir) / LIBRARY
        self.files = self.root / "files"
        self.manifest = self.root / MANIFEST

    def _read(self) -> dict:
        try:
            return tomllib.loads(self.manifest.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise ValueError(
                f"library manifest {self.manifest} is unreadable ({e}); correct the place named, and keep "
                "the file: it lists every added document"
            ) from None

    def documents(self) -> list[Document]:
        """The added documents, read from their stored content."""
        return [self._load(e) for e in self.entries()]

    def _load(self, entry: dict) -> Document:
        path = self.files / Path(str(entry.get("file") or f"{entry['id']}.txt")).name
        if path.suffix != ".json":  # (an earlier version's entry names its original file: `source`)
            meta = {k: v for k, v in entry.items() if k not in ("file", "sha256", "format", "source")}
            document = read_document(path, **meta)
            return replace(document, source=str(entry["source"])) if entry.get("source") else document
        try:
            extracted = Extracted.from_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(
                f"library file {path} is unreadable ({e}); remove document {entry['id']} and add it again"
            ) from None
        meta = {k: v for k, v in entry.items() if k not in ("file", "sha256", "format", "source")}
        return make_document(
            extracted, str(entry.get("sha256", "")), str(entry.get("source", path.name)), **meta
        )

    def entries(self) -> list[dict]:
        """The added documents as the library manifest lists them (id, city, title, file …)."""
        return list(self._read().get("document", []))

    def removed(self) -> set[str]:
        """Ids of corpus documents the user removed from the index."""
        return set(self._read().get("removed", []))

    def prepare(
        self, data: bytes, filename: str, limits: Limits, indexed: Sequence[dict] = (), **meta: object
    ) -> Document:
        """Check and extract one file into a Document with its city, title and year; nothing is stored yet.

        The id is `meta["id"]` when given; else that of an added document with the same content — or of
        an `indexed` one (the index manifest's documents: a bundled report too, which this library does
        not hold); else one derived from city, fiscal year and file name, so a changed file replaces its
        older version.
        """
        name = _safe_name(filename)
        for required in ("city", "title"):
            if not str(meta.get(required) or "").strip():
                raise Refusal(
                    f"{name}: give the document's {required}",
                    f"{name}：{_FIELD_JA[required]}を入力してください",
                )
        check_fields(name, meta)
        year = parse_fiscal_year(meta.get("fiscal_year"))  # a bad year fails before the file is parsed
        extracted = extract(data, name, limits)
        sha256 = hashlib.sha256(data).hexdigest()
        doc_id = str(meta.get("id") or "").strip() or self._id_for(
            sha256, str(meta["city"]), year, name, indexed, str(meta["title"])
        )
        if not _ID.fullmatch(doc_id):
            raise ValueError(f"document id {doc_id!r}: use letters, digits, '.', '_' and '-' (at most 100)")
        fields = {k: str(meta[k]).strip() for k in FIELDS if meta.get(k) not in (None, "")}
        if "city_en" not in fields and (known := self._city_en(str(meta["city"]), indexed)):
            fields["city_en"] = known  # the city's romaji, as its other documents give it
        elif owner := self._city_en_owner(fields.get("city_en", ""), str(meta["city"]), indexed):
            raise Refusal(  # it had made that city's alias ambiguous: --city Iwaki refused
                f"{name}: the romaji name {fields['city_en']!r} is {owner}'s; give this city its own",
                f"{name}：ローマ字名 {fields['city_en']} は {owner} のものです。別の名前にしてください",
            )
        document = make_document(extracted, sha256, name, id=doc_id, **fields)
        passages = len(split_passages(document))
        if not passages:
            raise Refusal(
                f"{name} yields no passages: it holds no text to index",
                f"{name} には索引にする文字がありません",
            )
        if passages > limits.max_passages:  # checked before a single passage is embedded
            raise Refusal(
                f"{name} makes {passages:,} passages; the limit is {limits.max_passages:,} per document "
                "(max_passages)",
                f"{name} は {passages:,} 件の文章に分かれ、"
                f"1文書あたりの上限 {limits.max_passages:,} を超えます（max_passages）",
            )
        return document

    def prepare_folder(
        self,
        folder: Path,
        manifest: Path,
        limits: Limits,
        follow_symlinks: bool = False,
        indexed: Sequence[dict] = (),
    ) -> list[Document]:
        """Every document a manifest lists (files inside `folder`: corpus.document.folder_file), all
        checked before any is kept; each known as `prepare` knows it (a bundled report listed again
        replaces it, as one added alone does)."""
        documents = []
        for entry in manifest_entries(manifest):
            path = folder_file(Path(folder), entry["file"], follow_symlinks)
            known = [*indexed, *(d.meta() for d in documents)]  # the manifest's earlier ones too
            documents.append(self.prepare(read_upload(path, limits), path.name, limits, known, **entry))
        ids = [d.id for d in documents]
        if len(set(ids)) != len(ids):
            repeated = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"manifest {manifest} gives two documents the same id: {', '.join(repeated)}")
        return documents

    def _city_en(self, city: str, indexed: Sequence[dict] = ()) -> str:
        """The romaji name another document of the city (added, or `indexed`) gives it, if any: a document
        added without one had dropped the city's English name and alias (Aizuwakamatsu) from the index."""
        key = unicodedata.normalize("NFC", city.strip())
        entries = self._entries(indexed)
        return next((str(e["city_en"]) for e in entries if e.get("city") == key and e.get("city_en")), "")

    def _city_en_owner(self, city_en: str, city: str, indexed: Sequence[dict] = ()) -> str:
        """The other city whose name or romaji name `city_en` also names (as a city is looked up:
        cities.resolve_city), if any."""
        key, city = city_key(city_en), unicodedata.normalize("NFC", city.strip())
        for e in self._entries(indexed) if key else ():
            other = str(e.get("city") or "")
            if other != city and key in (city_key(other), city_key(str(e.get("city_en") or ""))):
                return other
        return ""

    def _entries(self, indexed: Sequence[dict] = ()) -> list[dict]:
        """The documents known by id: those added to this library, then the `indexed` ones."""
        return [*self.entries(), *indexed]

    def _id_for(
        self,
        sha256: str,
        city: str,
        year: int | None,
        name: str,
        indexed: Sequence[dict] = (),
        title: str = "",
    ) -> str:
        """The id of this city's document with the same bytes (a file added again under another name),
        added or `indexed`, else one derived from city, year and file name (a changed file replaces its
        older version), and from the title too when a document of another title has that one: two
        reports a city publishes under one file name (honpen.pdf) had replaced each other. The same
        bytes under another city are another document: a city may reuse a neighbour's template, and
        adding it must not remove the neighbour."""
        key = unicodedata.normalize("NFC", city.strip())  # as `prepare` stores it (make_document)
        entries = self._entries(indexed)
        same = [e["id"] for e in entries if e.get("sha256") == sha256 and e.get("city") == key]
        if same:
            return same[0]
        again = [  # its earlier version: the same file name, city, year and title, whatever its id
            e["id"]
            for e in entries
            if (e.get("city"), e.get("source"), e.get("fiscal_year")) == (key, name, year)
            and title
            and str(e.get("title", "")).strip() == title.strip()
        ]
        if again:
            return again[0]
        seed = f"{key}\x1f{year or ''}\x1f{name}"
        derived = "doc-" + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:12]
        other = next((e for e in entries if e["id"] == derived), None)
        if other is not None and title and str(other.get("title", "")).strip() != title.strip():
            seed += f"\x1f{title.strip()}"
            derived = "doc-" + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:12]
        return derived

    def put(self, documents: list[Document]) -> None:
        """Store documents, each replacing an added document with the same id."""
        state = self._read()
        entries = {e["id"]: e for e in state.get("document", [])}
        self.files.mkdir(parents=True, exist_ok=True)
        for d in documents:
            content = d.extracted().to_json()
            name = f"{d.id}-{hashlib.sha256(content.encode('utf-8')).hexdigest()[:12]}.json"
            write_text_atomic(self.files / name, content)
            entry = {
                "id": d.id,
                "file": f"files/{name}",
                "source": d.source,
                "sha256": d.sha256,
                "format": d.format,
            }
            entry |= {k: getattr(d, k) for k in FIELDS if getattr(d, k) not in (None, "")}
            entries[d.id] = entry
        self._write({**state, "document": list(entries.values())})

    def add(self, data: bytes, filename: str, limits: Limits, **meta: object) -> Document:
        """Check, extract and store one document (`prepare`, then `put`)."""
        document = self.prepare(data, filename, limits, **meta)
        self.put([document])
        return document

    def known(self, doc_id: str, corpus_ids: set[str]) -> dict:
        """The library's state, when `doc_id` is an added document or one of `corpus_ids`; else ValueError
        naming those known (read only: a refused removal is told before the library is locked)."""
        state = self._read()
        entries = state.get("document", [])
        if not any(e["id"] == doc_id for e in entries) and doc_id not in corpus_ids:
            known = ", ".join(sorted({e["id"] for e in entries} | corpus_ids))
            raise ValueError(f"unknown document id {doc_id!r}; known: {known}")
        return state

    def remove(self, doc_id: str, corpus_ids: set[str]) -> None:
        """Remove an added document, or hide a corpus document from the index (or both, for a replacement)."""
        state = self.known(doc_id, corpus_ids)
        entries = state.get("document", [])
        state = {**state, "document": [e for e in entries if e["id"] != doc_id]}
        if doc_id in corpus_ids:
            state["removed"] = sorted({*state.get("removed", []), doc_id})
        if not state["document"] and corpus_ids <= set(state.get("removed", [])):
            raise Refusal(
                f"{doc_id} is the last document of the index, which needs one; add another first",
                f"{doc_id} は索引に残る最後の資料です。先に別の資料を追加してください",
            )
        self._write(state)

    def snapshot(self) -> str | None:
        """The manifest as it is now, for `restore`."""
        try:
            return self.manifest.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    @property
    def journal(self) -> Path:
        return self.root / JOURNAL

    def begin(self, snapshot: str | None, live: str | None) -> None:
        """Before a change: note what the library was and which index generation was live, so that a
        change whose run is killed can be undone by the next run (reform_search/manage.py)."""
        self.root.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.journal, json.dumps({"before": snapshot, "live": live}, ensure_ascii=False))

    def pending(self) -> dict | None:
        """The note of a change that never finished, or None."""
        try:
            note = json.loads(self.journal.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            raise ValueError(
                f"{self.journal} is unreadable ({e}); it notes an unfinished add or remove: "
                "restore it, or move it aside to keep the library as it is"
            ) from None
        if not (isinstance(note, dict) and isinstance(note.get("before"), str | None)):
            raise ValueError(f"{self.journal} is not a note of an unfinished change; move it aside")
        return note

    def finish(self) -> None:
        """The change is done (indexed) or undone: drop its note."""
        self.journal.unlink(missing_ok=True)

    def restore(self, snapshot: str | None) -> None:
        """Go back to a snapshot taken before a change, and drop the files the change wrote."""
        if snapshot is None:
            self.manifest.unlink(missing_ok=True)
        else:
            write_text_atomic(self.manifest, snapshot)
        self.prune()

    def lock(self) -> AbstractContextManager[None]:
        """Hold the library for one change and its indexing; a second add, remove or index is refused."""
        return exclusive(self.root / ".lock", busy(self.root.parent))

    def prune(self) -> None:
        """Delete stored files that the manifest no longer names, and temporary files of dead writers."""
        remove_stale_temps(self.root)
        remove_stale_temps(self.files)
        if not self.files.is_dir():
            return
        named = {Path(str(e.get("file") or f"{e['id']}.txt")).name for e in self.entries()}
        for path in self.files.iterdir():
            if path.name not in named and not path.name.startswith("."):
                path.unlink(missing_ok=True)

    def _write(self, state: dict) -> None:
        lines = ["# Documents added to this index (written by reform-search; edit with care)."]
        if state.get("removed"):
            lines.append(f"removed = {json.dumps(state['removed'], ensure_ascii=False)}")
        for e in state.get("document", []):
            lines += ["", "[[document]]"]
            lines += [f"{k} = {json.dumps(str(v), ensure_ascii=False)}" for k, v in e.items()]
        text = "\n".join(lines) + "\n"
        try:  # never write what cannot be read back
            tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"the library would become unreadable ({e}); nothing was changed") from None
        self.root.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.manifest, text)


def read_upload(path: Path, limits: Limits) -> bytes:
    """The bytes of a file to add: a regular file within max_upload_mb (document.read_bounded)."""
    return read_bounded(Path(path), limits.max_bytes)


def all_documents(corpus: Path, index_dir: Path) -> list[Document]:
    """What an index covers: the corpus without the ids removed or replaced, then the added documents."""
    library = Library(index_dir)
    added = library.documents()
    hidden = library.removed() | {d.id for d in added}
    return [d for d in load_corpus(corpus) if d.id not in hidden] + added


def _safe_name(filename: str) -> str:
    """A file name for display only: its last component, as text, without control or path characters."""
    name = Path(unicodedata.normalize("NFC", readable_name(filename or "upload"))).name
    return re.sub(r"[\x00-\x1f\x7f/\\]", "_", name)[:120] or "upload"
