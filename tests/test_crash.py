"""Crash safety: SIGKILL `index` and `add` at several points; damaged index files are caught.

The killed process is tests/crash_cli.py, the real `reform-search` CLI in a child process with the fake
embedder; it stops at a named point (CRASH_CLI_POINT) and prints a marker, and the test kills it there.
After each kill the previous index must load and answer exactly as before, library.toml must be as
before or consistent, and the next `index` run must succeed and leave no temporary files behind.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from conftest import FIXTURE_WORDS
from fakes import FakeEmbedder

from corpus.library import Library
from index import embed, store
from index.store import CURRENT, CorruptIndex, current_generation, load_index
from reform_search.check import check_index
from reform_search.cli import main
from search.engine import Searcher

ROOT = Path(__file__).resolve().parents[1]
CHILD = Path(__file__).with_name("crash_cli.py")
MARKER = b"CRASH-POINT"
REBUILD = "reform-search index --rebuild"
MODES = ("hybrid", "dense", "lexical")
NEW_DOCUMENT = """\
新市の架空の改革メモ。これはテスト用の作り話で、実在の市とは関係ありません。

・電子決裁の導入を全庁で検討する
・ごみ有料化の影響を調べる
・テレワークの規程を作る
"""


# --- running the child ----------------------------------------------------------------------------


def _env(point: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFORM_SEARCH_")}
    env.pop("CRASH_CLI_POINT", None)
    return env | ({"CRASH_CLI_POINT": point} if point else {})


def _command(built, *args: str) -> list[str]:
    paths = ["--index-dir", str(built.index_dir), "--cache-dir", str(built.cache_dir)]
    # The fixture index was built without a glossary (conftest.py): the child runs with the same settings.
    return [sys.executable, str(CHILD), *args, *paths, "--corpus", str(built.corpus), "--glossary", "off"]


def run_cli(built, *args: str) -> subprocess.CompletedProcess:
    """Run the child CLI to its end (no crash point)."""
    return subprocess.run(
        _command(built, *args), cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120
    )


def kill_at(built, point: str, *args: str, while_paused=None) -> None:
    """Start the child CLI, wait until it reaches `point`, call `while_paused()`, then SIGKILL it."""
    with open(built.index_dir.parent / "child.err", "w+b") as err:
        proc = subprocess.Popen(
            _command(built, *args), cwd=ROOT, env=_env(point), stdout=subprocess.PIPE, stderr=err
        )
        try:
            reached, out = _wait_for_marker(proc, time.monotonic() + 60)
            if not reached:
                proc.kill()
                proc.wait()
                err.seek(0)
                pytest.fail(
                    f"the child never reached crash point {point!r} (exit {proc.returncode}); if the product "
                    f"changed how it writes, move the hook in tests/crash_cli.py.\nstdout: {out.decode()}\n"
                    f"stderr: {err.read().decode()[-2000:]}"
                )
            if while_paused is not None:
                while_paused()
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL


def _wait_for_marker(proc: subprocess.Popen, deadline: float) -> tuple[bool, bytes]:
    fd, out = proc.stdout.fileno(), b""
    while MARKER not in out:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return False, out
        chunk = os.read(fd, 4096)
        if not chunk:  # the child ended without reaching the point
            return False, out
        out += chunk
    return True, out


# --- what is compared before and after ------------------------------------------------------------


def answers(index_dir: Path) -> dict[tuple[str, str], list[str]]:
    """Hit ids of every fixture word in every mode."""
    searcher = Searcher(load_index(index_dir), FakeEmbedder(32))
    return {
        (word, mode): [h.passage.id for h in searcher.search(word, 5, mode)]
        for word in FIXTURE_WORDS
        for mode in MODES
    }


def library_text(index_dir: Path) -> str | None:
    path = index_dir / "library" / "library.toml"
    return path.read_text(encoding="utf-8") if path.exists() else None


def assert_library_consistent(index_dir: Path) -> None:
    """library.toml parses and every document it names can be read back."""
    text = library_text(index_dir)
    if text is not None:
        tomllib.loads(text)
        assert all(d.id and d.text for d in Library(index_dir).documents())


def leftovers(index_dir: Path) -> list[str]:
    """Temporary files, generations other than the live one, and library files no manifest names."""
    live = current_generation(index_dir)
    found = []
    for path in sorted(index_dir.rglob("*")):
        rel = str(path.relative_to(index_dir))
        if ".tmp" in path.name or (
            path.parent == index_dir and path.name.startswith("gen-") and path != live
        ):
            found.append(rel)
    files = index_dir / "library" / "files"
    if files.is_dir():
        named = {Path(str(e.get("file", ""))).name for e in _library_entries(index_dir)}
        found += [f"library/files/{p.name}" for p in sorted(files.iterdir()) if p.name not in named]
    return sorted(set(found))


def _library_entries(index_dir: Path) -> list[dict]:
    text = library_text(index_dir)
    return tomllib.loads(text).get("document", []) if text else []


# --- kills ----------------------------------------------------------------------------------------

POINTS = [
    pytest.param("index", "embed:2", id="index-while-embedding"),
    pytest.param("index", "save-vectors", id="index-while-writing-files"),
    pytest.param("index", "save-bm25", id="index-files-written-no-manifest"),
    pytest.param("index", "generation-renamed", id="index-generation-done-current-old"),
    pytest.param("index", "current-replace", id="index-replacing-current"),
    pytest.param("add", "library-manifest", id="add-while-writing-library"),
    pytest.param("add", "embed:1", id="add-while-embedding"),
    pytest.param("add", "generation-renamed", id="add-generation-done-current-old"),
    pytest.param("add", "current-replaced", id="add-live-not-finished"),
    pytest.param("remove", "generation-renamed", id="remove-generation-done-current-old"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("command", "point"), POINTS)
def test_kill_keeps_previous_index_and_next_run_cleans_up(built_index, tmp_path, command, point):
    index_dir = built_index.index_dir
    before, pointer = answers(index_dir), (index_dir / CURRENT).read_bytes()
    library_before = library_text(index_dir)
    blocked = []

    if command == "add":
        new = tmp_path / "shinshi.txt"
        new.write_text(NEW_DOCUMENT, encoding="utf-8")
        args = ["add", str(new), "--city", "新市", "--title", "新市 架空の改革メモ", "--year", "2024"]
        args += ["--id", "shinshi-memo"]
    elif command == "remove":  # a corpus document hidden: the index is rebuilt without it
        args = ["remove", "samplecho-memo"]
    elif point.startswith("embed"):  # something new to embed, one text per batch
        with open(built_index.corpus.parent / "samplecho.txt", "a", encoding="utf-8") as f:
            f.write("・窓口の混雑状況を公開する\n・説明会の資料を配る\n")
        args = ["index", "--batch-size", "1"]
    else:
        args = ["index", "--rebuild"]  # the same documents, written again

    def while_paused() -> None:
        # The live run holds the lock: a second run is refused, not interleaved.
        if command == "index" and point.startswith("embed"):
            second = run_cli(built_index, "index")
            blocked.append((second.returncode, second.stderr))

    kill_at(built_index, point, *args, while_paused=while_paused)
    if blocked:
        assert blocked[0][0] == 2 and "another indexing run holds" in blocked[0][1], blocked

    went_live = point == "current-replaced"  # killed after its index went live: the change is kept
    if not went_live:  # the previous index is untouched: same pointer, whole files, same answers
        assert (index_dir / CURRENT).read_bytes() == pointer
        assert answers(index_dir) == before
    assert check_index(index_dir, full=True).ok
    assert_library_consistent(index_dir)

    # The next run is not blocked by the dead one's lock (flock dies with the process) and succeeds.
    done = run_cli(built_index, "index", "--json")
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr  # e.g. no corrupt embedding cache
    report = json.loads(done.stdout)
    assert check_index(index_dir, full=True).ok
    ids = {d["id"] for d in store.read_manifest(index_dir)["documents"]}
    if command == "index":
        inputs_changed = point.startswith("embed")
        assert report["changed"] == inputs_changed
        assert (answers(index_dir) != before) == inputs_changed
        assert library_text(index_dir) == library_before
    elif went_live:  # all: the document is in the library and the index, and nothing is left to do
        assert not report["changed"] and "shinshi-memo" in ids
        assert [e["id"] for e in _library_entries(index_dir)] == ["shinshi-memo"]
    else:  # nothing: the killed add or remove is undone, as the user never saw it succeed
        assert not report["changed"], "the next run must not finish a change that was killed"
        assert answers(index_dir) == before and "shinshi-memo" not in ids and "samplecho-memo" in ids
        assert library_text(index_dir) == library_before
        assert "samplecho-memo" not in Library(index_dir).removed()
    assert not (index_dir / "library" / "pending.json").exists()

    # The next run, whether it had anything to write or not, removes what the dead one left behind.
    assert leftovers(index_dir) == [], f"left after the next `index` run: {leftovers(index_dir)}"


# --- damaged files --------------------------------------------------------------------------------


@pytest.fixture
def cli(built_index, monkeypatch, capsys):
    """main() in this process on the fixture index with the fake embedder: (exit code, stdout, stderr)."""
    monkeypatch.setattr(embed, "make_embedder", lambda *args, **kwargs: FakeEmbedder(32))

    def run(*args: str) -> tuple[int, str, str]:
        paths = ["--index-dir", str(built_index.index_dir), "--cache-dir", str(built_index.cache_dir)]
        code = main([*args, *paths, "--corpus", str(built_index.corpus)])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip(path: Path) -> None:
    # Bytes near the end change: past any file header, so only the checksum can tell.
    data = bytearray(path.read_bytes())
    for i in range(len(data) - 8, len(data) - 2):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGE = [
    pytest.param(_truncate, store.PASSAGES, id="truncated-passages"),
    pytest.param(_truncate, store.DENSE, id="truncated-faiss"),
    pytest.param(Path.unlink, store.VECTORS, id="deleted-vectors"),
    pytest.param(Path.unlink, store.PROFILES, id="deleted-profiles"),
    pytest.param(_flip, store.VECTORS, id="edited-vectors"),
    pytest.param(_flip, store.DENSE, id="edited-faiss"),
]


@pytest.mark.parametrize(("damage", "name"), DAMAGE)
def test_damaged_file_is_reported_with_the_rebuild_hint(built_index, cli, damage, name):
    before = answers(built_index.index_dir)
    path = current_generation(built_index.index_dir) / name
    size = path.stat().st_size
    damage(path)
    same_size = path.exists() and path.stat().st_size == size

    code, out, _ = cli("check", "--full")
    assert code == 2
    assert name in out and REBUILD in out
    code, out, _ = cli("check", "--full", "--json")
    report = json.loads(out)
    assert code == 2 and not report["ok"] and REBUILD in report["fix"]
    assert [d.split(":")[0] for d in report["damaged"]] == [name]

    if same_size:
        # Loading checks sizes only (hashing every file per start would cost seconds at scale): the
        # quick check passes, `check --full` is what finds an edited file.
        assert cli("check")[0] == 0
    else:
        with pytest.raises(CorruptIndex, match=REBUILD) as error:
            load_index(built_index.index_dir)
        assert name in str(error.value)
        code, out, _ = cli("check")
        assert code == 2 and name in out and REBUILD in out
        code, _, err = cli("search", "電子決裁")
        assert code == 2 and REBUILD in err and "Traceback" not in err

    # The hint works: a rebuild restores the index and its answers.
    assert cli("index", "--rebuild")[0] == 0
    assert cli("check", "--full")[0] == 0
    assert answers(built_index.index_dir) == before


def test_check_reports_a_whole_index(cli, built_index):
    code, out, _ = cli("check")
    assert code == 0 and out.startswith("index OK: ") and "--full" in out
    code, out, _ = cli("check", "--full", "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["damaged"] == [] and report["full"]
    assert report["passages"] == built_index.report.passages


def test_check_tells_an_index_built_with_other_settings_from_a_damaged_one(cli, built_index, monkeypatch):
    # an index built with another embedder had been called "damaged", its hint cut to "rebuild"
    monkeypatch.setattr(embed, "make_embedder", lambda *args, **kwargs: FakeEmbedder(48))
    code, out, _ = cli("check")
    assert code == 2 and "is whole" in out and "damaged" not in out
    assert "fake/48" in out and "or use the settings it was built with" in out
    report = json.loads(cli("check", "--json")[1])
    assert not report["ok"] and report["damaged"] == [] and "fake/32" in report["mismatched"]
    assert "fix" not in report


def test_check_without_an_index_says_how_to_build_one(cli, built_index):
    (built_index.index_dir / CURRENT).unlink()
    code, out, err = cli("check")
    assert code == 2 and out == ""
    assert "no index at" in err and "reform-search index" in err


def test_unreadable_manifest_is_reported_and_the_advised_rebuild_fixes_it(cli, built_index):
    before = answers(built_index.index_dir)
    manifest = current_generation(built_index.index_dir) / store.MANIFEST
    manifest.write_bytes(manifest.read_bytes()[:100])
    code, _, err = cli("check")
    assert code == 2 and REBUILD in err and "Traceback" not in err
    assert cli("index", "--rebuild")[0] == 0
    assert cli("check", "--full")[0] == 0
    assert answers(built_index.index_dir) == before


@pytest.mark.parametrize("pointer", ["nonsense\n", "gen-20000101T000000-1-1\n"])
def test_damaged_current_pointer_is_reported_and_the_advised_rebuild_fixes_it(cli, built_index, pointer):
    before = answers(built_index.index_dir)
    (built_index.index_dir / CURRENT).write_text(pointer, encoding="utf-8")
    code, _, err = cli("check")
    assert code == 2 and REBUILD in err
    code, _, err = cli("index", "--rebuild")
    assert code == 0, err
    assert cli("check", "--full")[0] == 0
    assert answers(built_index.index_dir) == before
