"""`reform-search check`: is the live index whole? File sizes from its manifest; with `full`, SHA-256."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from index.store import (
    REBUILD_HINT,
    IndexProblem,
    MismatchedIndex,
    MissingIndex,
    checksum_problems,
    current_generation,
    load_index,
    read_manifest,
    size_problems,
)


@dataclass(frozen=True)
class CheckReport:
    """What `check_index` found: the live generation and its damaged files (none when the index is whole)."""

    index_dir: Path
    generation: str
    files: int
    passages: int
    full: bool
    damaged: tuple[str, ...]  # "file: what is wrong with it"
    # whole, but built with other settings than these (another embedder, splitter…): the whole message
    mismatched: str = ""

    @property
    def ok(self) -> bool:
        """True when no file is damaged and the index was built with these settings."""
        return not self.damaged and not self.mismatched

    def message(self) -> str:
        """One line when the index is whole; else one line per damaged file and the rebuild hint."""
        if self.ok:
            where = f"({self.generation} in {self.index_dir})"
            if self.full:
                head = f"index OK: {self.passages} passages; {self.files} files"
                return f"{head} match the manifest's SHA-256 {where}"
            return (
                f"index OK: {self.passages} passages; {self.files} files at the sizes the manifest records "
                f"{where}; --full also compares their SHA-256"
            )
        if not self.damaged:  # whole: a rebuild is one way, the settings it was built with another
            return f"index at {self.index_dir} is whole ({self.generation}) but {self.mismatched}"
        lines = [f"index at {self.index_dir} is damaged ({self.generation}):"]
        lines += [f"  {d}" for d in self.damaged]
        return "\n".join([*lines, REBUILD_HINT[0].upper() + REBUILD_HINT[1:]])

    def to_dict(self) -> dict:
        """JSON for `reform-search check --json`."""
        return {
            "ok": self.ok,
            "index_dir": str(self.index_dir),
            "generation": self.generation,
            "files": self.files,
            "passages": self.passages,
            "full": self.full,
            "damaged": list(self.damaged),
            **({"mismatched": self.mismatched} if self.mismatched else {}),
            **({"fix": REBUILD_HINT} if self.damaged else {}),
        }


def check_index(index_dir: Path, full: bool = False, expected: dict | None = None) -> CheckReport:
    """Compare the live generation's files with its manifest, then open it as a search would (the same
    validation: passage counts, parts, the `expected` settings); an unreadable pointer or manifest raises."""
    index_dir = Path(index_dir)
    gen = current_generation(index_dir)
    if gen is None:
        raise MissingIndex(f"no index at {index_dir}; build it with `reform-search index`")
    manifest = read_manifest(index_dir)  # its shape is validated as loading validates it
    damaged = [f"{name}: {problem}" for name, problem in size_problems(gen, manifest)]
    if full and not damaged:  # hashing only makes sense once every file is there at its size
        damaged += [f"{name}: {problem}" for name, problem in checksum_problems(index_dir)]
    mismatched = ""
    if not damaged:
        try:
            load_index(index_dir, expected)
        except MismatchedIndex as e:  # no damage: another embedder or splitter built it
            mismatched = str(e)
        except IndexProblem as e:
            damaged.append(f"opening it as a search would: {str(e).split('; rebuild')[0]}")
    return CheckReport(
        index_dir, gen.name, len(manifest["files"]), manifest["passages"], full, tuple(damaged), mismatched
    )
