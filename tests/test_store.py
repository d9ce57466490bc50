"""Index persistence: round trip, atomic generation switch, refusing missing, mismatched or damaged ones."""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURE_WORDS
from fakes import FakeEmbedder

from corpus.document import load_corpus
from corpus.split import split_passages
from index import store
from index.bm25 import ARRAY_FILES as BM25_ARRAYS
from index.bm25 import META_FILE as BM25_META
from index.build import expected_manifest
from index.context import embedding_text
from index.store import (
    CURRENT,
    CorruptIndex,
    MismatchedIndex,
    MissingIndex,
    StoredIndex,
    checksum_problems,
    current_generation,
    load_index,
    save_index,
)
from index.tokenize import tokenize
from search.engine import Searcher

REBUILD = "reform-search index --rebuild"


def _parts(stored: StoredIndex, **changes) -> dict:
    """save_index's arguments taken from a loaded index, whose fields carry the same names."""
    names = list(inspect.signature(save_index).parameters)[1:]  # all but index_dir
    return {name: changes.get(name, getattr(stored, name)) for name in names}


def _damaged_files(index_dir: Path) -> list[str]:
    return [name for name, _ in checksum_problems(index_dir)]


def _answers(index_dir: Path) -> list[list[tuple[str, float]]]:
    """(id, score) of the hits for every fixture word in every mode: what "answers identically" compares."""
    searcher = Searcher(load_index(index_dir), FakeEmbedder(32))
    return [
        [(h.passage.id, h.score) for h in searcher.search(word, 5, mode)]
        for word in FIXTURE_WORDS
        for mode in ("hybrid", "dense", "lexical")
    ]


def _leftovers(index_dir: Path) -> list[str]:
    """Entries of the index directory other than the live generation, CURRENT and the build lock."""
    live = current_generation(index_dir)
    return sorted(p.name for p in index_dir.iterdir() if p.name not in {CURRENT, ".lock", live.name})


def test_built_index_loads_with_what_was_built(built_index):
    stored = load_index(built_index.index_dir, expected_manifest(FakeEmbedder(32)))
    passages = [p for d in load_corpus(built_index.corpus) for p in split_passages(d)]
    assert stored.passages == passages
    want = FakeEmbedder(32).embed_passages([embedding_text(p) for p in passages])
    np.testing.assert_array_equal(stored.vectors, want)
    assert stored.manifest["passages"] == len(passages) == len(stored.dense) == stored.bm25.n_docs


def test_save_then_load_returns_what_was_saved(built_index, tmp_path):
    stored = load_index(built_index.index_dir)
    gen = save_index(tmp_path / "copy", **_parts(stored))
    copy = load_index(tmp_path / "copy", expected_manifest(FakeEmbedder(32)))

    assert copy.path == gen == current_generation(tmp_path / "copy")
    assert copy.passages == stored.passages
    for name, value in _parts(stored).items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(getattr(copy, name), value, err_msg=name)
    for name in ("indptr", "vectors"):
        np.testing.assert_array_equal(getattr(copy.parts, name), getattr(stored.parts, name), err_msg=name)
    assert {k: v for k, v in copy.manifest.items() if k != "files"} == {
        k: v for k, v in stored.manifest.items() if k != "files"
    }
    query = FakeEmbedder(32).embed_queries(["電子決裁"])[0]
    for got, want in zip(copy.dense.search(query, 5), stored.dense.search(query, 5), strict=True):
        np.testing.assert_array_equal(got, want)
    tokens = tokenize("ごみ有料化")
    np.testing.assert_array_equal(copy.bm25.scores(tokens), stored.bm25.scores(tokens))


def test_manifest_records_size_and_sha256_of_every_file(built_index):
    gen = current_generation(built_index.index_dir)
    files = json.loads((gen / store.MANIFEST).read_text(encoding="utf-8"))["files"]
    on_disk = sorted(p.name for p in gen.iterdir() if p.name != store.MANIFEST)
    assert sorted(files) == on_disk
    for name, info in files.items():
        assert info["bytes"] == (gen / name).stat().st_size
        assert info["sha256"] == store._sha256(gen / name)
    assert _damaged_files(built_index.index_dir) == []


def test_each_save_replaces_the_previous_generation(built_index):
    first = current_generation(built_index.index_dir)
    built_index.build(rebuild=True)
    second = current_generation(built_index.index_dir)
    assert second != first
    assert not first.exists()
    assert _leftovers(built_index.index_dir) == []


class _FailingDense:
    """A dense index whose save dies halfway through writing its file, like a crash or a full disk."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def save(self, path: Path) -> None:
        Path(path).write_bytes(b"half a faiss ind")
        raise OSError("simulated crash while writing the dense index")


def test_crash_while_writing_files_keeps_the_previous_generation(built_index):
    before = _answers(built_index.index_dir)
    stored = load_index(built_index.index_dir)
    live = stored.path

    with pytest.raises(OSError, match="simulated crash"):
        save_index(built_index.index_dir, **_parts(stored, dense=_FailingDense(stored.dense)))

    assert current_generation(built_index.index_dir) == live
    assert any(name.endswith(".tmp") for name in _leftovers(built_index.index_dir))
    assert _answers(built_index.index_dir) == before

    # The next save removes the unfinished generation.
    built_index.build(rebuild=True)
    assert _leftovers(built_index.index_dir) == []
    assert _answers(built_index.index_dir) == before


@pytest.mark.parametrize("crash_at", ["generation-rename", "current-swap"])
def test_crash_while_switching_keeps_the_previous_generation(built_index, monkeypatch, crash_at):
    before = _answers(built_index.index_dir)
    stored = load_index(built_index.index_dir)
    live = stored.path
    real_replace = os.replace

    def replace(src, dst):
        name = Path(dst).name
        if (crash_at == "current-swap" and name == CURRENT) or (
            crash_at == "generation-rename" and Path(src).name.endswith(".tmp") and Path(src).is_dir()
        ):
            raise OSError(f"simulated crash at {crash_at}")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError, match="simulated crash"):
        save_index(built_index.index_dir, **_parts(stored))
    monkeypatch.setattr(os, "replace", real_replace)

    assert (built_index.index_dir / CURRENT).read_text(encoding="utf-8").strip() == live.name
    assert _leftovers(built_index.index_dir)  # the unfinished or never-live generation, CURRENT.tmp*
    assert _answers(built_index.index_dir) == before

    built_index.build(rebuild=True)
    assert _leftovers(built_index.index_dir) == []


INDEX_FILES = [store.PASSAGES, store.VECTORS, store.DENSE, BM25_META, *BM25_ARRAYS.values()]


def test_every_file_is_on_disk_before_the_generation_goes_live(built_index, monkeypatch):
    # Only the directory entries had been synced: after a power loss, CURRENT could name a generation
    # of empty files, with the previous one already deleted
    stored = load_index(built_index.index_dir)
    synced: set[str] = set()
    real_fsync, real_replace = os.fsync, os.replace
    live: list[set[str]] = []

    def fsync(fd):
        synced.add(os.readlink(f"/proc/self/fd/{fd}"))
        return real_fsync(fd)

    def replace(src, dst):
        if Path(src).name.endswith(".tmp") and Path(src).is_dir():  # the generation going live
            live.append({str(p.resolve()) for p in Path(src).rglob("*") if p.is_file()})
            assert live[-1] <= synced, sorted(live[-1] - synced)
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    save_index(built_index.index_dir, **_parts(stored))
    assert len(live) == 1 and len(live[0]) >= len(INDEX_FILES)


def test_every_written_file_is_size_checked(built_index):
    # Files added later (not in INDEX_FILES) must be covered too: cut each in turn, then restore it.
    gen = current_generation(built_index.index_dir)
    names = sorted(json.loads((gen / store.MANIFEST).read_text(encoding="utf-8"))["files"])
    assert set(INDEX_FILES) <= set(names)
    for name in names:
        data = (gen / name).read_bytes()
        (gen / name).write_bytes(data[:-1])
        with pytest.raises(CorruptIndex, match=REBUILD):
            load_index(built_index.index_dir)
        (gen / name).write_bytes(data)
    assert load_index(built_index.index_dir).passages


@pytest.mark.parametrize("name", INDEX_FILES)
def test_truncated_file_is_corrupt_with_rebuild_hint(built_index, name):
    path = current_generation(built_index.index_dir) / name
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])

    with pytest.raises(CorruptIndex, match=REBUILD) as error:
        load_index(built_index.index_dir)
    assert path.name in str(error.value)


@pytest.mark.parametrize("name", INDEX_FILES)
def test_same_size_garbage_is_corrupt_not_a_crash(built_index, name):
    path = current_generation(built_index.index_dir) / name
    path.write_bytes(bytes(range(256)) * (path.stat().st_size // 256) + b"\xff" * (path.stat().st_size % 256))

    with pytest.raises(CorruptIndex, match=REBUILD):
        load_index(built_index.index_dir)


def test_missing_file_is_corrupt(built_index):
    (current_generation(built_index.index_dir) / store.VECTORS).unlink()
    with pytest.raises(CorruptIndex, match=REBUILD):
        load_index(built_index.index_dir)


@pytest.mark.parametrize(
    "pointer",
    [
        "nonsense\n",
        "",
        "gen-20000101T000000-1-1\n",  # looks like a generation but does not exist
        "manifest.json\n",
        pytest.param(
            b"\xff\xfe\x00\x81garbage",
            id="not-utf8",
        ),
    ],
)
def test_garbage_current_pointer_is_corrupt(built_index, pointer):
    path = built_index.index_dir / CURRENT
    path.write_bytes(pointer if isinstance(pointer, bytes) else pointer.encode())
    with pytest.raises(CorruptIndex, match=REBUILD):
        load_index(built_index.index_dir)


def _edit_manifest(index_dir: Path, edit) -> None:
    path = current_generation(index_dir) / store.MANIFEST
    path.write_text(json.dumps(edit(json.loads(path.read_text(encoding="utf-8")))), encoding="utf-8")


def _without(key):
    return lambda m: {k: v for k, v in m.items() if k != key}


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(_without("dense"), id="no-dense-entry"),
        pytest.param(lambda m: {**m, "passages": m["passages"] + 1}, id="wrong-passage-count"),
        pytest.param(
            _without("passages"),
            id="no-passage-count",
        ),
        pytest.param(
            lambda m: [m],
            id="not-an-object",
        ),
    ],
)
def test_damaged_manifest_is_corrupt(built_index, edit):
    _edit_manifest(built_index.index_dir, edit)
    with pytest.raises(CorruptIndex, match=REBUILD):
        load_index(built_index.index_dir)


def test_unreadable_manifest_is_corrupt(built_index):
    (current_generation(built_index.index_dir) / store.MANIFEST).write_text("{not json", encoding="utf-8")
    with pytest.raises(CorruptIndex, match=REBUILD):
        load_index(built_index.index_dir)


@pytest.mark.parametrize("exists", [False, True], ids=["no-dir", "empty-dir"])
def test_no_index_is_missing_and_says_how_to_build(tmp_path, exists):
    index_dir = tmp_path / "nowhere"
    if exists:
        index_dir.mkdir()
    with pytest.raises(MissingIndex, match="reform-search index") as error:
        load_index(index_dir)
    assert str(index_dir) in str(error.value)
    with pytest.raises(MissingIndex):
        _damaged_files(index_dir)


def test_other_embedder_is_mismatched_naming_both(built_index):
    with pytest.raises(MismatchedIndex) as error:
        load_index(built_index.index_dir, expected_manifest(FakeEmbedder(64)))
    message = str(error.value)
    assert built_index.embedder.name in message  # what the index was built with
    assert FakeEmbedder(64).name in message  # what is asked for now
    assert REBUILD in message


@pytest.mark.parametrize("key", ["splitter_version", "tokenizer"])
def test_other_splitter_or_tokenizer_is_mismatched(built_index, key):
    expected = expected_manifest(FakeEmbedder(32))
    expected[key] = {"changed": True}
    with pytest.raises(MismatchedIndex, match=key):
        load_index(built_index.index_dir, expected)


def test_other_format_version_is_mismatched(built_index):
    _edit_manifest(built_index.index_dir, lambda m: {**m, "format": store.FORMAT_VERSION + 1})
    with pytest.raises(MismatchedIndex, match=REBUILD):
        load_index(built_index.index_dir, expected_manifest(FakeEmbedder(32)))


def test_verify_checksums_names_an_edited_file(built_index):
    path = current_generation(built_index.index_dir) / store.PASSAGES
    text = path.read_text(encoding="utf-8")
    edited = text.replace("電子決裁", "電子決済", 1)  # same length, same size on disk
    assert edited != text and len(edited.encode()) == len(text.encode())
    path.write_text(edited, encoding="utf-8")

    assert _damaged_files(built_index.index_dir) == [store.PASSAGES]


def _spelled(index_dir: Path, how: str) -> Path:
    """Point CURRENT at the live generation through a symlink or a path with "..", as an operator might;
    returns the real generation directory."""
    real = current_generation(index_dir)
    if how == "symlink":
        (index_dir / "gen-link").symlink_to(real.name)
        name = "gen-link"
    else:
        name = f"{real.name}/../{real.name}"
    (index_dir / CURRENT).write_text(name + "\n", encoding="utf-8")
    return real


@pytest.mark.parametrize("how", ["symlink", "dotdot"])
def test_a_pointer_spelled_another_way_never_loses_the_live_generation(built_index, how):
    before = _answers(built_index.index_dir)
    real = _spelled(built_index.index_dir, how)
    assert current_generation(built_index.index_dir) == real.resolve()
    store.clean_stale(built_index.index_dir)  # what index, add, remove and serve run first
    assert real.is_dir() and _answers(built_index.index_dir) == before
    assert _damaged_files(built_index.index_dir) == []
    built_index.build(rebuild=True)  # a new generation goes live; only then is the old one removed
    assert _answers(built_index.index_dir) == before
    if how == "symlink":
        assert (built_index.index_dir / "gen-link").is_symlink()  # the user's link is left alone


def test_a_pointer_leading_outside_the_index_is_refused_and_nothing_there_is_touched(built_index, tmp_path):
    outside = tmp_path / "elsewhere" / "gen-20000101T000000-1-1"
    outside.mkdir(parents=True)
    (outside / "keep.txt").write_text("not the index's", encoding="utf-8")
    for name in (str(outside), f"../elsewhere/{outside.name}", f"../{built_index.index_dir.name}"):
        (built_index.index_dir / CURRENT).write_text(name + "\n", encoding="utf-8")
        with pytest.raises(CorruptIndex, match=REBUILD):
            load_index(built_index.index_dir)
        store.clean_stale(built_index.index_dir)
        assert (outside / "keep.txt").is_file()


def test_an_atomic_write_makes_its_rename_durable(tmp_path, monkeypatch):
    # the file's data was synced but not the directory holding the rename: after a power loss the
    # library's manifest could come back older than the index built from it
    from corpus.atomic import write_text_atomic

    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    write_text_atomic(tmp_path / "library.toml", "x = 1\n")
    assert (tmp_path / "library.toml").read_text(encoding="utf-8") == "x = 1\n"
    assert synced[-1] == str(tmp_path.resolve())  # after the file's own data


def test_an_atomic_write_follows_no_planted_link_and_keeps_the_file_s_mode(tmp_path):
    # its temporary name had been known in advance: a link planted there had the write overwrite the
    # link's target; and a private (0600) file replaced came back readable by all (0644)
    from corpus.atomic import replace_atomic, write_text_atomic

    victim = tmp_path / "victim.txt"
    victim.write_text("not to be overwritten", encoding="utf-8")
    out = tmp_path / "out.md"
    planted = tmp_path / f".out.md.tmp{os.getpid()}"
    planted.symlink_to(victim)
    write_text_atomic(out, "export")
    assert victim.read_text(encoding="utf-8") == "not to be overwritten"
    assert out.read_text(encoding="utf-8") == "export" and not out.is_symlink()
    out.chmod(0o600)
    write_text_atomic(out, "again")
    assert (out.stat().st_mode & 0o777, out.read_text(encoding="utf-8")) == (0o600, "again")
    # the writer opens its file by name: it lies in a folder of its own that nobody else can write to
    seen: list[tuple[int, str]] = []

    def write(tmp):
        seen.append((tmp.parent.stat().st_mode & 0o777, tmp.parent.name))
        tmp.write_text("third", encoding="utf-8")

    replace_atomic(out, write)
    replace_atomic(out, write)
    assert [mode for mode, _ in seen] == [0o700, 0o700] and seen[0][1] != seen[1][1]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [planted.name]


def test_a_killed_atomic_write_s_leftovers_are_removed_and_a_live_one_s_kept(tmp_path):
    from corpus.atomic import remove_stale_temps

    dead = 2**22 + 12345  # above Linux's pid_max default: no process has it
    (tmp_path / f".m.json.tmp{dead}.a_b1").mkdir()
    (tmp_path / f".m.json.tmp{dead}.a_b1" / "m.json").write_text("half", encoding="utf-8")
    (tmp_path / f".old.npy.tmp{dead}").write_text("half", encoding="utf-8")  # as older versions wrote
    live = tmp_path / f".m.json.tmp{os.getpid()}.xyz"
    live.mkdir()
    kept = [tmp_path / "m.json", tmp_path / ".hidden", tmp_path / f"m.json.tmp{dead}"]
    for p in kept:
        p.write_text("mine", encoding="utf-8")
    remove_stale_temps(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, *(p.name for p in kept)])
