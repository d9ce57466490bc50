"""A damaged manifest, field by field: every command answers in one line with exit 2 (or works), never a
traceback; and `check --full` refuses exactly what loading refuses (one validation serves both)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from fakes import FakeEmbedder

from index import embed
from index.store import FORMAT_VERSION, MANIFEST, current_generation
from reform_search.cli import main

pytestmark = pytest.mark.usefixtures("clean_env")

MUTATIONS = {
    "deleted": None,
    "a string": "x",
    "emptied": "",
    "a list": [],
    "an object": {},
    "null": "null",
    "negative": -1,
    "zero": 0,
    "a float": 2.5,
    "true": True,
}


def _paths(manifest: dict) -> list[tuple]:
    """Every field worth damaging: top level, one level into objects, the first document, one file,
    one city's calibration."""
    out = [(k,) for k in manifest]
    for key in ("embedder", "dense", "tokenizer", "bm25", "calibration"):
        out += [(key, k) for k in manifest.get(key, {})]
    out += [("documents", 0, k) for k in manifest["documents"][0]]
    name = sorted(manifest["files"])[0]
    out += [("files", name), ("files", name, "bytes"), ("files", name, "sha256")]
    city = next(iter(manifest["calibration"]["cities"]))
    out += [("calibration", "cities", city), ("calibration", "cities", city, "query_ja", "std")]
    return out


def _damaged(manifest: dict, path: tuple, how: str) -> dict:
    out = copy.deepcopy(manifest)
    parent = out
    for key in path[:-1]:
        parent = parent[key]
    if how == "deleted":
        del parent[path[-1]]
    else:
        value = MUTATIONS[how]
        parent[path[-1]] = None if value == "null" else value
    return out


@pytest.fixture
def run(built_index, monkeypatch, capsys):
    monkeypatch.setattr(embed, "make_embedder", lambda *args, **kwargs: FakeEmbedder(32))

    def cli(*args: str) -> tuple[int, str]:
        paths = ["--index-dir", str(built_index.index_dir), "--cache-dir", str(built_index.cache_dir)]
        code = main([*args, *paths, "--corpus", str(built_index.corpus)])  # an exception fails the test
        return code, capsys.readouterr().err

    return cli


def test_every_damaged_field_is_one_line_and_check_agrees_with_search(built_index, run):
    path = current_generation(built_index.index_dir) / MANIFEST
    original = path.read_bytes()
    manifest = json.loads(original)
    tried = refused = 0
    try:
        for field in _paths(manifest):
            for how in MUTATIONS:
                path.write_text(json.dumps(_damaged(manifest, field, how), ensure_ascii=False), "utf-8")
                label = f"{'.'.join(map(str, field))} {how}"
                searched, err = run("search", "電子決裁", "--json")
                assert searched in (0, 2), label
                if searched == 2:
                    assert len(err.strip().splitlines()) == 1 and "rebuild" in err, (label, err)
                compared, err = run("compare", "電子決裁", "--json")
                assert compared in (0, 2), label
                checked, err = run("check", "--full")
                assert checked in (0, 2), label
                assert (checked == 0) == (searched == 0 and compared == 0), (label, err)
                tried, refused = tried + 1, refused + (searched == 2)
    finally:
        path.write_bytes(original)
    assert run("check", "--full")[0] == 0
    assert tried > 300 and refused > tried // 2  # most damage is refused; harmless edits still work


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"files": {}}',
        "",
        "\x00",
        f'{{"format": {FORMAT_VERSION}, "passages": 1e999}}',
    ],
)
def test_unparsable_or_hollow_manifests_are_refused_in_one_line(built_index, run, text):
    path = current_generation(built_index.index_dir) / MANIFEST
    path.write_text(text, encoding="utf-8")
    for command in (("search", "電子決裁"), ("check", "--full"), ("documents",)):
        code, err = run(*command)
        assert code == 2 and len(err.strip().splitlines()) == 1 and "manifest" in err, (command, err)


def test_an_index_dir_that_is_a_file_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(embed, "make_embedder", lambda *args, **kwargs: FakeEmbedder(32))
    afile = tmp_path / "not-a-dir"
    afile.write_text("x", encoding="utf-8")
    for command in (("search", "電子決裁"), ("check",), ("index",), ("documents",)):
        code = main([*command, "--index-dir", str(afile)])
        err = capsys.readouterr().err
        assert code == 2 and "is a file, not an index directory" in err and err.count("\n") == 1, command


def test_an_unreadable_file_under_check_full_is_named(built_index, run, monkeypatch):
    import index.store as store

    gen = current_generation(built_index.index_dir)
    real = store._sha256

    def unreadable(path: Path) -> str:
        if path.name == "vectors.npy":
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(store, "_sha256", unreadable)
    code, _ = run("check", "--full")
    assert code == 2 and (gen / "vectors.npy").is_file()
