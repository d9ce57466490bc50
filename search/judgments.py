"""Relevance judgments on disk: JSON lines of queries, counterpart pairs and label probes, checked.

    queries   {"id", "query", "relevant": [{"city", "key"}, ...]}
    pairs     {"id", "from": {"city", "key"}, "to": {"city", "key"}}
    labels    {"id", "query", "expect": {city: "strong" | "none" | "any"}}

The formats of shared/eval (CONTRACT.md); a query batch for `search --queries` is the first without
"relevant". A bad file or line raises ValueError naming the file, the line and what was expected.
"""

from __future__ import annotations

import json
import os
import stat
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

EXPECTED = ("strong", "none", "any")


def _item(obj: object, where: str) -> dict:
    if not isinstance(obj, dict) or not all(isinstance(obj.get(f), str) and obj[f] for f in ("city", "key")):
        raise ValueError(f'{where}: expected {{"city": ..., "key": ...}} with non-empty strings')
    return obj


def _check_query_line(obj: dict, where: str) -> dict:
    if not isinstance(obj.get("query"), str) or not obj["query"].strip():
        raise ValueError(f'{where}: expected a non-empty "query" string')
    relevant = obj.get("relevant")
    if not isinstance(relevant, list) or not relevant:
        raise ValueError(f'{where}: expected "relevant": a non-empty list of {{"city", "key"}}')
    for item in relevant:
        _item(item, where)
    return obj


def _check_pair_line(obj: dict, where: str) -> dict:
    _item(obj.get("from"), where + ' "from"')
    _item(obj.get("to"), where + ' "to"')
    return obj


def _check_label_line(obj: dict, where: str) -> dict:
    if not isinstance(obj.get("query"), str) or not obj["query"].strip():
        raise ValueError(f'{where}: expected a non-empty "query" string')
    expect = obj.get("expect")
    if not isinstance(expect, dict) or not expect:
        raise ValueError(f'{where}: expected "expect": {{city: "strong" | "none" | "any"}}')
    for city, want in expect.items():
        if want not in EXPECTED:
            raise ValueError(f"{where}: {city} expects {want!r}; use one of {', '.join(EXPECTED)}")
    return obj


# The largest file of queries, judgments or themes read: far beyond any set of questions a person writes
MAX_INPUT_BYTES = 64 * 2**20


def read_input(path: Path, limit: int = MAX_INPUT_BYTES) -> bytes:
    """A file of queries, judgments or themes: a regular file or a pipe (`--queries /dev/stdin`, `<(…)`),
    never more than `limit` bytes of it; a device (/dev/zero, read without end) or a folder is refused.
    "-" is standard input, as in most tools (`… | reform-search search --queries -`)."""
    if str(path) == "-":
        path = Path("/dev/stdin")
    try:
        kind = os.stat(path).st_mode
        if not (stat.S_ISREG(kind) or stat.S_ISFIFO(kind)):
            raise ValueError(f"{Path(path).name} is not a file or a pipe")
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise ValueError(e.strerror or str(e)) from None
    if len(data) > limit:
        raise ValueError(f"it holds more than {limit // 2**20} MB")
    return data


def read_json_lines(path: Path, what: str) -> list[tuple[int, dict]]:
    """(line number, object) for each non-blank line of a JSONL file; an unreadable file or a line that
    is not a JSON object raises ValueError naming the file and line."""
    try:  # a BOM (Excel, Notepad) is no text; a device (/dev/zero) is refused, not read without end
        lines = read_input(Path(path)).decode("utf-8-sig").splitlines()
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot read {what} file {str(path)!r}: {e}") from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, RecursionError):  # RecursionError: nested beyond Python's stack
            obj = None
        if not isinstance(obj, dict):
            raise ValueError(f"{path}:{n}: not a JSON object")
        out.append((n, obj))
    return out


def _file_key(path: Path) -> object:
    """What tells one file from another: its device and inode (a hard link is the same file), or its
    resolved path where it cannot be read (reading it then says why)."""
    try:
        st = path.stat()
    except OSError:
        return path.resolve()
    return (st.st_dev, st.st_ino)


def read_judgments(paths: Sequence[Path], kind: str) -> list[dict]:
    """Judgments of one kind ("queries", "pairs", "labels") from JSONL files; a bad line raises ValueError."""
    check = {"queries": _check_query_line, "pairs": _check_pair_line, "labels": _check_label_line}[kind]
    files: dict[object, Path] = {}  # a file named twice (by two paths, or linked) is read once
    for p in paths:
        files.setdefault(_file_key(Path(p)), Path(p))
    names = Counter(p.name for p in files.values())
    out, seen = [], {}
    for path in files.values():
        for n, obj in read_json_lines(path, kind):
            where = f"{path}:{n}"
            # a line without an id is named by its file and line (by the path, when two files share a name)
            made = f"{path.name if names[path.name] == 1 else path}:{n}"
            item = check({"id": obj.get("id", made), **obj}, where)
            # ids 1 and "1" are one id (they share a fold); two judgments under one id would be scored
            # as one by any tool that matches results to judgments by id (../shared/eval/score.py)
            first = seen.setdefault(str(item["id"]), where)
            if first != where:
                raise ValueError(f"{where}: id {item['id']!r} is already that of {first}; give each its own")
            out.append(item)
    return out
