"""Passages on disk, read on demand: passages.jsonl with byte offsets, compact columns, id lookup by hash.

    passages.jsonl          one Passage per line (UTF-8 JSON), in index order
    passages_offsets.npy    int64 (n + 1,): line i is bytes offsets[i]:offsets[i + 1]
    passages_city.npy       int32 codes into `cities` (passages.json); likewise _document and _kind
    passages_year.npy       int16 fiscal year, 0 when unknown
    passages_group.npy      int32 crowding group: rows sharing a document and a 具体的取組 share one
    passages_chars.npy      int32 characters of the text, whitespace not counted (a match-label feature)
    passages_id_hash.npy    uint64 hashes of the passage ids, sorted; passages_id_row.npy: their rows
    passages.json           the code tables: cities, documents, kinds

Every file is memory-mapped: a loaded index of a million passages holds no Python object per passage,
and a Passage is decoded only when a hit, a highlight or an export needs its text.
"""

from __future__ import annotations

import json
import mmap
from array import array
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from corpus.passage import Passage
from index.hashing import stable_hash as id_hash

FORMAT_VERSION = 2  # 2: passages_chars.npy
LINES = "passages.jsonl"
OFFSETS = "passages_offsets.npy"
LOOKUP = "passages.json"
ID_HASH = "passages_id_hash.npy"
ID_ROW = "passages_id_row.npy"
CODED = ("city", "document", "kind")  # columns stored as codes into a list of names in passages.json
COLUMNS = {
    "city": ("passages_city.npy", np.int32),
    "document": ("passages_document.npy", np.int32),
    "kind": ("passages_kind.npy", np.int16),
    "year": ("passages_year.npy", np.int16),
    "group": ("passages_group.npy", np.int32),
    "chars": ("passages_chars.npy", np.int32),
}
FILES = (LINES, OFFSETS, LOOKUP, ID_HASH, ID_ROW, *(name for name, _ in COLUMNS.values()))


def write_passages(directory: Path, passages: Iterable[Passage]) -> int:
    """Write passages and their columns into `directory` (a fresh one: files are written in place).

    Streams: `passages` may be a generator, so a million passages never need to be in memory at once.
    Returns the number written.
    """
    directory = Path(directory)
    codes: dict[str, dict[str, int]] = {name: {} for name in CODED}
    columns = {name: array("q") for name in COLUMNS}
    groups: dict[tuple[str, str], int] = {}
    offsets, hashes = array("q", [0]), array("Q")
    with open(directory / LINES, "wb") as f:
        for p in passages:
            line = (json.dumps(p.to_dict(), ensure_ascii=False) + "\n").encode("utf-8")
            f.write(line)
            offsets.append(offsets[-1] + len(line))
            hashes.append(id_hash(p.id))
            for name, value in (("city", p.city), ("document", p.doc_id), ("kind", p.kind)):
                columns[name].append(codes[name].setdefault(value, len(codes[name])))
            columns["year"].append(p.fiscal_year or 0)
            # Rows sharing a 具体的取組 form one group for crowding; other passages stand alone.
            key = (p.doc_id, p.initiative or p.id)
            columns["group"].append(groups.setdefault(key, len(groups)))
            columns["chars"].append(len("".join(p.text.split())))
    n = len(hashes)
    _save(directory / OFFSETS, np.frombuffer(offsets, dtype=np.int64))
    for name, (file, dtype) in COLUMNS.items():
        _save(directory / file, np.frombuffer(columns[name], dtype=np.int64).astype(dtype))
    hash_arr = np.frombuffer(hashes, dtype=np.uint64) if n else np.zeros(0, dtype=np.uint64)
    order = np.argsort(hash_arr, kind="stable")
    _save(directory / ID_HASH, hash_arr[order])
    _save(directory / ID_ROW, order.astype(np.int64))
    names = {name + "s": list(codes[name]) for name in CODED}
    lookup = {"format_version": FORMAT_VERSION, "count": n, **names}
    (directory / LOOKUP).write_text(json.dumps(lookup, ensure_ascii=False), encoding="utf-8")
    return n


class PassageTable(Sequence[Passage]):
    """Read-only, memory-mapped passages: `table[i]` decodes one Passage; columns answer filters."""

    def __init__(
        self,
        directory: Path,
        lines: bytes | mmap.mmap,
        offsets: np.ndarray,
        labels: dict[str, list[str]],
        columns: dict[str, np.ndarray],
        ids: tuple[np.ndarray, np.ndarray],
    ) -> None:
        self.directory = Path(directory)
        self._lines = lines
        self._offsets = offsets
        self._columns = columns
        self._id_hash, self._id_row = ids
        self.labels = labels  # names of the codes of city, document and kind

    @classmethod
    def open(cls, directory: Path) -> PassageTable:
        """Map the files written by `write_passages`; missing, short or inconsistent ones raise ValueError."""
        directory = Path(directory)
        for name in FILES:
            if not (directory / name).is_file():
                raise ValueError(f"passage file {directory / name} is missing")
        try:
            lookup = json.loads((directory / LOOKUP).read_text(encoding="utf-8"))
            n = int(lookup["count"])
            if lookup.get("format_version") != FORMAT_VERSION:
                raise ValueError(f"format version {lookup.get('format_version')!r}, not {FORMAT_VERSION}")
            offsets = _load(directory / OFFSETS)
            columns = {name: _load(directory / file) for name, (file, _) in COLUMNS.items()}
            id_hash, id_row = _load(directory / ID_HASH), _load(directory / ID_ROW)
            size = (directory / LINES).stat().st_size
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(f"passage files in {directory} are unreadable ({e})") from None
        problem = _inconsistency(n, size, offsets, columns, id_hash, id_row, lookup)
        if problem:
            raise ValueError(f"passage files in {directory} disagree: {problem}")
        lines: bytes | mmap.mmap = b""
        if size:
            with open(directory / LINES, "rb") as f:
                lines = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        labels = {name: list(lookup[name + "s"]) for name in CODED}
        table = cls(directory, lines, offsets, labels, columns, (id_hash, id_row))
        # A file replaced by garbage of the same size fails here, not at the first search.
        for i in sorted({0, n - 1}) if n else ():
            try:
                table[i]
            except ValueError as e:
                raise ValueError(f"{directory / LINES} line {i + 1} is not a passage ({e})") from None
        return table

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self)
        i = int(i)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"passage {i} is out of range: the index holds {n} passages")
        start, end = int(self._offsets[i]), int(self._offsets[i + 1])
        try:
            return Passage.from_dict(json.loads(self._lines[start:end]))
        except (ValueError, TypeError, AttributeError) as e:  # bad JSON or UTF-8, or not a Passage's fields
            path = self.directory / LINES
            raise ValueError(f"{path} line {i + 1} is damaged ({type(e).__name__})") from None

    def __iter__(self) -> Iterator[Passage]:
        for i in range(len(self)):
            yield self[i]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equality is by content, like a list

    def __repr__(self) -> str:
        return f"PassageTable({len(self)} passages in {self.directory})"

    def column(self, name: str) -> np.ndarray:
        """A per-passage column (read-only): codes for city, document and kind; year (0: unknown); group."""
        if name not in COLUMNS:
            raise ValueError(f"unknown passage column {name!r}; choose one of {', '.join(COLUMNS)}")
        return self._columns[name]

    def isin(self, name: str, values: Iterable[str | int]) -> np.ndarray:
        """Boolean mask of the passages whose `name` (city, document, kind, year) is one of `values`."""
        if name in CODED:
            index = {label: code for code, label in enumerate(self.labels[name])}
            wanted = [index[v] for v in values if v in index]
        else:
            wanted = [int(v) for v in values]
        return np.isin(self.column(name), np.asarray(wanted, dtype=np.int64))

    def position(self, passage_id: str) -> int:
        """Row of a passage id; KeyError when no passage has it."""
        return self.find(passage_id)[0]

    def find(self, passage_id: str) -> tuple[int, Passage]:
        """Row and passage of a passage id (read once); KeyError when no passage has it."""
        h = np.uint64(id_hash(passage_id))
        at = int(np.searchsorted(self._id_hash, h))
        # Equal hashes are checked against the passage itself: a collision never returns the wrong row.
        while at < len(self._id_hash) and self._id_hash[at] == h:
            row = int(self._id_row[at])
            found = self[row]
            if found.id == passage_id:
                return row, found
            at += 1
        raise KeyError(passage_id)


def _inconsistency(
    n: int,
    size: int,
    offsets: np.ndarray,
    columns: dict[str, np.ndarray],
    id_hash: np.ndarray,
    id_row: np.ndarray,
    lookup: dict,
) -> str:
    """Describe the first way the passage files disagree with each other, or return ''."""
    if offsets.dtype != np.int64 or offsets.shape != (n + 1,):
        return f"offsets have shape {offsets.shape} ({offsets.dtype}), expected ({n + 1},) int64"
    if offsets[0] != 0 or offsets[-1] != size:
        return f"offsets end at byte {int(offsets[-1])} of a {size}-byte {LINES}"
    for name, (_, dtype) in COLUMNS.items():
        if columns[name].shape != (n,) or columns[name].dtype != dtype:
            return f"column {name} has shape {columns[name].shape} ({columns[name].dtype}), expected ({n},)"
    if id_hash.shape != (n,) or id_row.shape != (n,) or id_hash.dtype != np.uint64:
        return "the passage id lookup does not match the passage count"
    for name in CODED:
        labels = lookup.get(name + "s")
        if not isinstance(labels, list):
            return f"no list of {name} names"
        # A city code past the end of its list would fail only when a filter is built.
        if n and (columns[name].min() < 0 or columns[name].max() >= len(labels)):
            return f"a {name} code is outside the {len(labels)} names"
    return ""


def _load(path: Path) -> np.ndarray:
    """A read-only memory map of an .npy file, as a plain ndarray view."""
    return np.load(path, mmap_mode="r", allow_pickle=False).view(np.ndarray)


def _save(path: Path, array_: np.ndarray) -> None:
    np.save(path, np.ascontiguousarray(array_), allow_pickle=False)
