"""Documents and their metadata: corpus manifests (TOML), text decoding, fiscal years, city names."""

from __future__ import annotations

import hashlib
import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from corpus.normalize import clean_text

DEFAULT_CORPUS = Path(__file__).parent / "default" / "corpus.toml"
MAX_TEXT_BYTES = 50 * 1024 * 1024
LAYOUTS = ("auto", "table", "blocks")
_ERAS = {"令和": 2018, "平成": 1988, "昭和": 1925, "r": 2018, "h": 1988, "s": 1925}


@dataclass(frozen=True)
class Document:
    """One report of one municipality, with its decoded text."""

    id: str
    city: str
    title: str
    text: str
    sha256: str
    source: str
    prefecture: str = ""
    city_en: str = ""
    fiscal_year: int | None = None
    period: str = ""
    kind: str = "report"
    layout: str = "auto"
    url: str = ""

    def meta(self) -> dict:
        """Metadata without the text, for manifests and listings."""
        return {k: v for k, v in self.__dict__.items() if k != "text"}


def parse_fiscal_year(value: object) -> int | None:
    """Western fiscal year from 2024, "2024", "令和6年度", "R6", "平成31年度" or "令和元年度"."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        year = value
    else:
        s = unicodedata.normalize("NFKC", str(value)).strip().lower().replace("元", "1")
        if m := re.fullmatch(r"(\d{4})(?:年度?)?", s):
            year = int(m.group(1))
        elif m := re.fullmatch(r"(令和|平成|昭和|r|h|s)\.?\s*(\d{1,2})(?:年度?)?", s):
            year = _ERAS[m.group(1)] + int(m.group(2))
        else:
            raise ValueError(f"fiscal year {value!r} not understood; use e.g. 2024, 令和6年度 or R6")
    if not 1900 <= year <= 2100:
        raise ValueError(f"fiscal year {value!r} is out of range (1900-2100)")
    return year


def decode_text(data: bytes, name: str = "input") -> str:
    """Decode a text file as UTF-8 (with or without BOM), Shift_JIS/CP932 or EUC-JP; refuse binary data."""
    if not data.strip():
        raise ValueError(f"{name} is empty")
    if b"\x00" in data[:8192]:
        raise ValueError(f"{name} looks binary (NUL bytes), not text; convert it to UTF-8 text first")
    try:
        return clean_text(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        pass
    # Legacy encodings overlap (EUC-JP bytes often decode as CP932 half-width katakana), so keep the
    # decoding that looks most like ordinary Japanese.
    candidates = []
    for encoding in ("cp932", "euc_jp"):
        try:
            candidates.append(data.decode(encoding))
        except UnicodeDecodeError:
            continue
    if not candidates:
        raise ValueError(f"{name} is not UTF-8, Shift_JIS/CP932 or EUC-JP text")
    return clean_text(min(candidates, key=_oddness))


def _oddness(text: str) -> float:
    """Share of characters that are rare in real Japanese text: half-width katakana, private use, C1."""
    odd = sum(
        1 for c in text if "\uff61" <= c <= "\uff9f" or "\ue000" <= c <= "\uf8ff" or "\x80" <= c <= "\x9f"
    )
    return odd / max(len(text), 1)


def read_document(path: Path, **meta: object) -> Document:
    """Read one text file into a Document; `meta` holds city, title and the other manifest fields."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"document file {str(path)!r} does not exist")
    size = path.stat().st_size
    if size > MAX_TEXT_BYTES:
        raise ValueError(f"{path.name} is {size:,} bytes; the limit is {MAX_TEXT_BYTES:,}")
    data = path.read_bytes()
    text = decode_text(data, path.name)
    for required in ("id", "city", "title"):
        if not meta.get(required):
            raise ValueError(f"document {path.name}: missing '{required}' in its manifest entry")
    layout = str(meta.get("layout", "auto"))
    if layout not in LAYOUTS:
        raise ValueError(f"document {path.name}: layout {layout!r} is not one of {', '.join(LAYOUTS)}")
    return Document(
        id=str(meta["id"]),
        city=unicodedata.normalize("NFC", str(meta["city"])),
        title=str(meta["title"]),
        text=text,
        sha256=hashlib.sha256(data).hexdigest(),
        source=str(meta.get("source") or path.name),
        prefecture=str(meta.get("prefecture", "")),
        city_en=str(meta.get("city_en", "")),
        fiscal_year=parse_fiscal_year(meta.get("fiscal_year")),
        period=str(meta.get("period", "")),
        kind=str(meta.get("kind", "report")),
        layout=layout,
        url=str(meta.get("url", "")),
    )


def load_corpus(manifest: Path = DEFAULT_CORPUS) -> list[Document]:
    """Read every document listed in a corpus manifest (TOML, one [[document]] table per file)."""
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
    docs = [read_document(manifest.parent / str(e["file"]), **e) for e in entries]
    ids = [d.id for d in docs]
    if len(set(ids)) != len(ids):
        raise ValueError(f"corpus manifest {str(manifest)!r} repeats a document id: {ids}")
    return docs


def _city_key(name: str) -> str:
    s = unicodedata.normalize("NFKC", name).casefold()
    s = re.sub(r"[\s\-_・]", "", s)
    return re.sub(r"(市|町|村|区|city|shi)$", "", s)


def resolve_city(name: str, cities: Iterable[tuple[str, str]]) -> str:
    """The canonical city for a name or alias (会津若松市, 会津若松, Aizuwakamatsu, aizu-wakamatsu).

    `cities` holds (canonical name, English name) pairs of the indexed cities. An exact name always
    wins; a loose form (without 市/町/村, any case or spacing) must point at exactly one city.
    """
    pairs = list(dict.fromkeys(cities))
    known = ", ".join(dict.fromkeys(f"{c} ({e})" if e else c for c, e in pairs))
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"unknown city {name!r}; known cities: {known}")
    exact = unicodedata.normalize("NFC", name.strip())
    if any(exact == c for c, _ in pairs):
        return exact
    keys: dict[str, set[str]] = {}
    for city, city_en in pairs:
        for alias in (city, city_en):
            if alias:
                keys.setdefault(_city_key(alias), set()).add(city)
    found = keys.get(_city_key(name), set())
    if len(found) > 1:
        raise ValueError(f"city {name!r} is ambiguous: {', '.join(sorted(found))}; use the full name")
    if not found:
        raise ValueError(f"unknown city {name!r}; known cities: {known}")
    return found.pop()
