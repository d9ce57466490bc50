"""Documents and their metadata: corpus manifests (TOML), reading files of any format, years, cities."""

from __future__ import annotations

import hashlib
import re
import stat
import tomllib
import unicodedata
from dataclasses import dataclass, field, fields
from pathlib import Path

from corpus.extract import Extracted, Limits, Record, extract
from corpus.extract.text import decode_text
from corpus.refusal import Refusal, too_large

__all__ = [
    "DEFAULT_CORPUS",
    "Document",
    "decode_text",
    "load_corpus",
    "make_document",
    "manifest_entries",
    "read_document",
]

DEFAULT_CORPUS = Path(__file__).parent / "default" / "corpus.toml"
MAX_TEXT_BYTES = 50 * 1024 * 1024
# Bounds for files an operator lists in a corpus manifest; uploads get the (tighter) settings instead.
LOCAL_LIMITS = Limits(
    max_bytes=MAX_TEXT_BYTES,
    max_pages=5000,
    max_unzipped_bytes=2**31,
    timeout_s=600,
    max_cells=10**8,
    max_passages=10**7,
)
LAYOUTS = ("auto", "table", "blocks")
_ERAS = {"令和": 2018, "平成": 1988, "昭和": 1925, "r": 2018, "h": 1988, "s": 1925}
_ERA_YEARS = {"平成": 31, "昭和": 64, "h": 31, "s": 64}  # the last year of an era that has ended


@dataclass(frozen=True, kw_only=True)
class DocumentInfo:
    """What a document is known by, before indexing (a Document, with its content) and after (an
    index/documents.py IndexedDocument, with its passage count): who published it, what it is, where
    it came from."""

    id: str
    city: str
    title: str
    sha256: str = ""
    source: str = ""
    prefecture: str = ""
    city_en: str = ""
    fiscal_year: int | None = None
    period: str = ""
    kind: str = "report"
    layout: str = "auto"
    url: str = ""
    format: str = "text"

    def meta(self) -> dict:
        """The DocumentInfo fields alone, for manifests and listings."""
        return {f.name: getattr(self, f.name) for f in fields(DocumentInfo)}


# What a document's `kind` is called on screen, for the kinds this project's manifests use; any other
# kind a user gives is shown as written.
KIND_NAMES = {
    "report": ("報告書", "report"),
    "progress-report": ("進捗報告", "progress report"),
    "brochure": ("広報冊子", "brochure"),
    "plan": ("計画", "plan"),
}


def kind_name(kind: str) -> str:
    """A document kind as shown: 「進捗報告 / progress report」 for a known one, else as written."""
    names = KIND_NAMES.get(kind.strip().lower())
    return f"{names[0]} / {names[1]}" if names else kind


@dataclass(frozen=True, kw_only=True)
class Document(DocumentInfo):
    """One report of one municipality: its text (pages start at `page_starts` lines) and table rows."""

    text: str
    page_starts: tuple[int, ...] = field(default=(), repr=False)
    records: tuple[Record, ...] = field(default=(), repr=False)

    def extracted(self) -> Extracted:
        """The content alone, as stored in the library."""
        return Extracted(self.text, self.format, self.page_starts, self.records)


def fiscal_year_label(year: int) -> str:
    """A fiscal year as Japanese documents write it beside the Western one: "2024年度 / 令和6年度"."""
    for era in ("令和", "平成", "昭和"):
        n = year - _ERAS[era]
        if n >= 1:  # the newest era the year falls in (FY2019 is 令和元年度)
            return f"{year}年度 / {era}{'元' if n == 1 else n}年度"
    return f"{year}年度"


def parse_fiscal_year(value: object) -> int | None:
    """Western fiscal year from 2024, "2024", "FY2024", "令和6年度", "R6", "平成31年度" or "令和元年度" (a
    Japanese fiscal year is named by the calendar year it starts in: FY2024 is 令和6年度)."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        year = value
    else:
        s = unicodedata.normalize("NFKC", str(value)).strip().lower().replace("元", "1")
        if m := re.fullmatch(r"(?:fy\s*)?(\d{4})(?:年度?)?", s):
            year = int(m.group(1))
        elif m := re.fullmatch(r"(令和|平成|昭和|r|h|s)\.?\s*(\d{1,2})(?:年度?)?", s):
            era, n = m.group(1), int(m.group(2))
            if not 1 <= n <= _ERA_YEARS.get(era, 99):  # R0 had been 2018, 平成99年度 2087
                raise Refusal(
                    f"fiscal year {value!r} is no year of its era",
                    f"年度「{value}」はその元号にない年です",
                )
            year = _ERAS[era] + n
        else:
            raise Refusal(
                f"fiscal year {value!r} not understood; use e.g. 2024, FY2024, 令和6年度 or R6",
                f"年度「{value}」を読み取れません。2024、令和6年度、R6 のように入力してください",
            )
    if not 1900 <= year <= 2100:
        raise Refusal(
            f"fiscal year {value!r} is out of range (1900-2100)",
            f"年度「{value}」は範囲外です（1900〜2100）",
        )
    return year


def read_document(path: Path, limits: Limits | None = None, **meta: object) -> Document:
    """Read one file (text, PDF, XLSX, CSV, DOCX, HTML) into a Document; `meta` holds the manifest fields."""
    path = Path(path)
    limits = limits or LOCAL_LIMITS
    if not path.exists():
        raise ValueError(f"document file {str(path)!r} does not exist")
    data = read_bounded(path, limits.max_bytes)
    return make_document(
        extract(data, path.name, limits), hashlib.sha256(data).hexdigest(), path.name, **meta
    )


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of a regular file (a link to one too) of at most `limit` bytes, else a refusal. A
    device, a FIFO or a directory is refused before it is opened (/dev/zero reports no size and never
    ends; a FIFO blocks forever), and no more than `limit` + 1 bytes are ever read, whatever the size
    on disk said."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise Refusal(f"{path.name} is not a regular file", f"{path.name} は通常のファイルではありません")
        data = b""
        if info.st_size <= limit:
            with path.open("rb") as f:
                data = f.read(limit + 1)
        if info.st_size > limit or len(data) > limit:
            raise too_large(path.name, max(info.st_size, limit + 1), limit)
        return data
    except OSError as e:
        raise ValueError(f"cannot read {str(path)!r}: {e.strerror}") from None


def make_document(extracted: Extracted, sha256: str, source: str, **meta: object) -> Document:
    """A Document from extracted content, the hash of the original file and manifest fields."""
    for required in ("id", "city", "title"):
        if not meta.get(required):
            raise ValueError(f"document {source}: missing '{required}' in its manifest entry")
    layout = str(meta.get("layout", "auto"))
    if layout not in LAYOUTS:
        raise ValueError(f"document {source}: layout {layout!r} is not one of {', '.join(LAYOUTS)}")
    return Document(
        id=str(meta["id"]),
        city=unicodedata.normalize("NFC", str(meta["city"])),
        title=str(meta["title"]),
        text=extracted.text,
        sha256=sha256,
        source=str(meta.get("source") or source),
        prefecture=str(meta.get("prefecture", "")),
        city_en=str(meta.get("city_en", "")),
        fiscal_year=parse_fiscal_year(meta.get("fiscal_year")),
        period=str(meta.get("period", "")),
        kind=str(meta.get("kind", "report")),
        layout=layout,
        url=str(meta.get("url", "")),
        format=extracted.format,
        page_starts=extracted.page_starts,
        records=extracted.records,
    )


def load_corpus(manifest: Path = DEFAULT_CORPUS, limits: Limits | None = None) -> list[Document]:
    """Read every document listed in a corpus manifest (TOML, one [[document]] table per file)."""
    manifest = Path(manifest)
    docs = [read_document(manifest.parent / str(e["file"]), limits, **e) for e in manifest_entries(manifest)]
    ids = [d.id for d in docs]
    if len(set(ids)) != len(ids):
        raise ValueError(f"corpus manifest {str(manifest)!r} repeats a document id: {ids}")
    return docs


def folder_file(folder: Path, name: object, follow_symlinks: bool = False) -> Path:
    """The file a folder manifest's `file = name` means, confined to the folder: a relative path with
    no "..", and, unless `follow_symlinks`, no symbolic link on the way (a link could lead anywhere)."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a document's file must be a file name, got {name!r}")
    relative = Path(name)
    if relative.is_absolute() or ".." in relative.parts:
        raise ValueError(f"file = {name!r} leads outside the folder {str(folder)!r}; list files inside it")
    path = Path(folder)
    for part in relative.parts:
        path = path / part
        if path.is_symlink() and not follow_symlinks:
            raise ValueError(
                f"{name!r} is a symbolic link; copy the file into the folder, or pass --follow-symlinks"
            )
    return path


# What a manifest's [[document]] table may say of a document (README "Adding documents")
MANIFEST_KEYS = (
    "file", "id", "city", "city_en", "prefecture", "title", "fiscal_year", "period", "kind", "layout", "url",
    "source",
)  # fmt: skip


def manifest_entries(manifest: Path) -> list[dict]:
    """The [[document]] tables of a manifest, each with at least a 'file'."""
    manifest = Path(manifest)
    try:
        spec = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ValueError(f"corpus manifest {str(manifest)!r} cannot be read: {e}") from None
    entries = spec.get("document", [])
    if not entries:
        raise ValueError(f"corpus manifest {str(manifest)!r} lists no [[document]]")
    for n, e in enumerate(entries, 1):
        if not e.get("file"):
            raise ValueError(f"corpus manifest {str(manifest)!r}: document {n} has no 'file'")
        # a misspelt key (fiscal_yaer) had been dropped in silence, and the document indexed without it
        if unknown := [k for k in e if k not in MANIFEST_KEYS]:
            raise ValueError(
                f"corpus manifest {str(manifest)!r}: document {n} has an unknown key {unknown[0]!r}; "
                f"known keys: {', '.join(MANIFEST_KEYS)}"
            )
        # a list or a table had been stored as its Python repr (city "['a', 'b']")
        for key, value in e.items():
            if not (isinstance(value, str) or (key == "fiscal_year" and type(value) is int)):
                kind = "text or a year" if key == "fiscal_year" else "text"
                raise ValueError(
                    f"corpus manifest {str(manifest)!r}: document {n}'s {key} must be {kind}, "
                    f"got {type(value).__name__}"
                )
    return entries
