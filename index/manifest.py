"""The index manifest's shape, checked once for every reader (loading, `check`, `serve`): a field that is
missing, retyped or emptied is named in one line with the fix before anything uses it.

The manifest is the one file the others are trusted through: it names the files (and their sizes and
SHA-256), the passage count, the embedder, the dense index and each city's calibration. A damaged one
must not become a KeyError deep inside a search, nor switch checks off (`"files": {}`), nor point a
checksum at a file outside the generation (`"files": {"../x": …}`).
"""

from __future__ import annotations

import re
from pathlib import Path

from index.bm25 import file_names as bm25_files
from index.calibration import Calibration
from index.parts import FILES as PART_FILES
from index.passages import FILES as PASSAGE_FILES
from index.problems import REBUILD_HINT, CorruptIndex

VECTORS = "vectors.npy"
PROFILES = "profiles.npy"
DENSE = "dense.faiss"
ENGLISH = "bm25_en"  # prefix of the passages' English-word BM25 files
# Every generation holds these (save_index writes them); the manifest must list each one.
REQUIRED_FILES = frozenset(
    {*PASSAGE_FILES, VECTORS, PROFILES, *PART_FILES, DENSE, *bm25_files(), *bm25_files(ENGLISH)}
)
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def validate_manifest(manifest: object, where: Path) -> dict:
    """The manifest, if its shape is whole; else CorruptIndex naming the first bad field and the fix."""

    def bad(field: str, problem: str) -> CorruptIndex:
        return CorruptIndex(f"index manifest {where}: {field} {problem}; {REBUILD_HINT}")

    if not isinstance(manifest, dict):
        raise bad("the whole file", "is not a JSON object")
    for key, kind in (("format", int), ("passages", int), ("embedder", dict), ("dense", dict)):
        if key not in manifest:
            raise bad(f'"{key}"', "is missing")
        if not _is(manifest[key], kind):
            raise bad(f'"{key}"', f"should be {kind.__name__ if kind is dict else 'an integer'}")
    if manifest["passages"] < 0:
        raise bad('"passages"', "is negative")
    if not (isinstance(manifest["embedder"].get("name"), str) and manifest["embedder"]["name"]):
        raise bad('"embedder.name"', "should be the embedder's name")
    dim = manifest["embedder"].get("dim")
    if not (_is(dim, int) and dim > 0):
        raise bad('"embedder.dim"', "should be a positive integer")
    if not (isinstance(manifest["dense"].get("kind"), str) and manifest["dense"]["kind"]):
        raise bad('"dense.kind"', "should name the dense index")
    _documents(manifest.get("documents"), bad)
    _files(manifest.get("files"), bad)
    try:
        calibration = Calibration.from_manifest(manifest.get("calibration"))
    except ValueError as e:
        raise bad('"calibration"', f"is unusable ({str(e).split(';')[0]})") from None
    calibrated = {city for city, _ in calibration.nulls}
    uncalibrated = sorted({d["city"] for d in manifest["documents"]} - calibrated)
    if uncalibrated:
        raise bad('"calibration.cities"', f"lacks {', '.join(uncalibrated[:3])}")
    return manifest


def _is(value: object, kind: type) -> bool:
    return isinstance(value, kind) and not isinstance(value, bool)


def _documents(documents: object, bad) -> None:
    if not isinstance(documents, list) or not documents:
        raise bad('"documents"', "should list the indexed documents")
    for n, d in enumerate(documents):
        if not isinstance(d, dict):
            raise bad(f'"documents[{n}]"', "should be an object")
        for key in ("id", "city", "title"):
            if not (isinstance(d.get(key), str) and d[key].strip()):
                raise bad(f'"documents[{n}].{key}"', "should be a non-empty string")
        for key in ("city_en", "url"):
            if d.get(key) is not None and not isinstance(d[key], str):
                raise bad(f'"documents[{n}].{key}"', "should be a string")
        year = d.get("fiscal_year")
        if year is not None and not _is(year, int):
            raise bad(f'"documents[{n}].fiscal_year"', "should be a year or null")
        count = d.get("passages", 0)
        if not (_is(count, int) and count >= 0):
            raise bad(f'"documents[{n}].passages"', "should be a count")


def _files(files: object, bad) -> None:
    if not isinstance(files, dict):
        raise bad('"files"', "should map each index file to its size and SHA-256")
    missing = sorted(REQUIRED_FILES - set(files))
    if missing:
        raise bad('"files"', f"does not list {', '.join(missing[:3])}")
    for name, info in files.items():
        if not _FILE_NAME.fullmatch(name):
            raise bad(f'"files" entry {name!r}', "is not a file name of the generation")
        if not isinstance(info, dict):
            raise bad(f'"files.{name}"', "should be an object")
        if not (_is(info.get("bytes"), int) and info["bytes"] >= 0):
            raise bad(f'"files.{name}.bytes"', "should be the file's size in bytes")
        if not (isinstance(info.get("sha256"), str) and _SHA256.fullmatch(info["sha256"])):
            raise bad(f'"files.{name}.sha256"', "should be a SHA-256 in hex")
