"""Documents added by users, kept beside the index: stored files plus a TOML manifest, written atomically.

    INDEX_DIR/library/
      library.toml        [[document]] tables (same fields as a corpus manifest) and `removed` ids
      files/<id>.txt      the decoded text of each added document (a user's file name is never a path)

The index covers the configured corpus minus the removed ids, plus the library's documents.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
import unicodedata
from pathlib import Path

from corpus.document import Document, decode_text, load_corpus, parse_fiscal_year, read_document
from corpus.split import split_passages

LIBRARY = "library"
MANIFEST = "library.toml"
TEXT_SUFFIXES = (".txt", ".md", ".text")
FIELDS = ("city", "city_en", "prefecture", "title", "fiscal_year", "period", "kind", "layout", "url")


class Library:
    """The user-added documents of one index directory."""

    def __init__(self, index_dir: Path) -> None:
        self.root = Path(index_dir) / LIBRARY
        self.manifest = self.root / MANIFEST

    def _read(self) -> dict:
        try:
            return tomllib.loads(self.manifest.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise ValueError(
                f"library manifest {self.manifest} is unreadable ({e}); fix or delete it"
            ) from None

    def documents(self) -> list[Document]:
        """The added documents, read from their stored text."""
        entries = self._read().get("document", [])
        return [read_document(self.root / "files" / f"{e['id']}.txt", **e) for e in entries]

    def removed(self) -> set[str]:
        """Ids of corpus documents the user removed from the index."""
        return set(self._read().get("removed", []))

    def add(self, data: bytes, filename: str, max_bytes: int, **meta: object) -> Document:
        """Store a text document (UTF-8, Shift_JIS/CP932 or EUC-JP) with its city, title and year."""
        suffix = Path(filename or "").suffix.lower()
        if suffix not in TEXT_SUFFIXES:
            allowed = ", ".join(TEXT_SUFFIXES)
            raise ValueError(f"{filename!r}: only text files ({allowed}) can be added for now")
        if len(data) > max_bytes:
            raise ValueError(f"{filename!r} is {len(data):,} bytes; the upload limit is {max_bytes:,}")
        for required in ("city", "title"):
            if not str(meta.get(required) or "").strip():
                raise ValueError(f"{filename!r}: give the document's {required}")
        parse_fiscal_year(meta.get("fiscal_year"))  # a bad year fails here, before anything is stored
        doc_id = "doc-" + hashlib.sha256(data).hexdigest()[:12]
        state = self._read()
        entries = [e for e in state.get("document", []) if e["id"] != doc_id]
        entry = {"id": doc_id, "file": f"files/{doc_id}.txt", "source": _safe_name(filename)}
        entry |= {k: str(meta[k]).strip() for k in FIELDS if meta.get(k) not in (None, "")}
        text = decode_text(data, _safe_name(filename))
        files = self.root / "files"
        files.mkdir(parents=True, exist_ok=True)
        _write_atomic(files / f"{doc_id}.txt", text)
        document = read_document(files / f"{doc_id}.txt", **entry)
        if not split_passages(document):
            (files / f"{doc_id}.txt").unlink(missing_ok=True)
            raise ValueError(f"{_safe_name(filename)!r} yields no passages: it holds no text to index")
        self._write({**state, "document": [*entries, entry]})
        return document

    def remove(self, doc_id: str, corpus_ids: set[str]) -> None:
        """Remove an added document, or hide a corpus document from the index."""
        state = self._read()
        entries = state.get("document", [])
        if any(e["id"] == doc_id for e in entries):
            self._write({**state, "document": [e for e in entries if e["id"] != doc_id]})
            (self.root / "files" / f"{doc_id}.txt").unlink(missing_ok=True)
        elif doc_id in corpus_ids:
            self._write({**state, "removed": sorted({*state.get("removed", []), doc_id})})
        else:
            known = ", ".join(sorted({e["id"] for e in entries} | corpus_ids))
            raise ValueError(f"unknown document id {doc_id!r}; known: {known}")

    def _write(self, state: dict) -> None:
        lines = ["# Documents added to this index (written by reform-search; edit with care)."]
        if state.get("removed"):
            lines.append(f"removed = {json.dumps(state['removed'], ensure_ascii=False)}")
        for e in state.get("document", []):
            lines += ["", "[[document]]"]
            lines += [f"{k} = {json.dumps(str(v), ensure_ascii=False)}" for k, v in e.items()]
        self.root.mkdir(parents=True, exist_ok=True)
        _write_atomic(self.manifest, "\n".join(lines) + "\n")


def all_documents(corpus: Path, index_dir: Path) -> list[Document]:
    """What an index covers: the corpus without the ids the user removed, then the added documents."""
    library = Library(index_dir)
    removed = library.removed()
    return [d for d in load_corpus(corpus) if d.id not in removed] + library.documents()


def _safe_name(filename: str) -> str:
    """A file name for display only: its last component, without control or path characters."""
    name = Path(unicodedata.normalize("NFC", filename or "upload")).name
    return re.sub(r"[\x00-\x1f\x7f/\\]", "_", name)[:120] or "upload"


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
