"""Shared fixtures: a tiny made-up two-city corpus, its index built with the fake embedder, a Searcher."""

from __future__ import annotations

import functools
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest
from fakes import FakeEmbedder

from corpus.document import Document, load_corpus
from index.build import BuildReport, build_index
from index.cache import EmbeddingCache
from index.store import load_index
from search.engine import Searcher

# Obviously invented text: two fictional towns, one prose paragraph and a few bullet items each
# (the blocks splitter makes one passage of each item).
FIXTURE_MANIFEST = """\
[[document]]
id = "testshi-memo"
file = "testshi.txt"
city = "テスト市"
city_en = "Testshi"
title = "テスト市 架空の改革メモ（テスト用）"
fiscal_year = 2024
layout = "blocks"

[[document]]
id = "samplecho-memo"
file = "samplecho.txt"
city = "サンプル町"
city_en = "Samplecho"
title = "サンプル町 架空の改革メモ（テスト用）"
fiscal_year = "令和5年度"
layout = "blocks"
"""

FIXTURE_TEXTS = {
    "testshi.txt": """\
テスト市の架空の改革メモ。これはテスト用の作り話で、実在の自治体とは関係ありません。

・電子決裁を全ての課に広げ、紙の決裁を減らす
・テレワーク用の端末を職員に配る
・家庭ごみ有料化の説明会を開く
・窓口の受付番号をオンラインで知らせる
""",
    "samplecho.txt": """\
サンプル町の架空の改革メモ。これもテスト用の作り話で、実在の町とは関係ありません。

・家庭ごみ有料化で指定袋を販売する
・テレワークの試行を役場で始める
・電子決裁の試行を総務課で始める
""",
}

# Words that occur in the fixture texts, for queries.
FIXTURE_WORDS = ["電子決裁", "テレワーク", "ごみ有料化", "窓口", "指定袋", "端末", "説明会", "試行", "総務課"]


class RecordingEmbedder(FakeEmbedder):
    """The fake embedder, also keeping every passage text it embedded (queries, e.g. probes, are not kept)."""

    def __init__(self, dim: int = 32, **kwargs) -> None:
        super().__init__(dim, **kwargs)
        self.passage_texts: list[str] = []

    def embed_passages(self, texts):
        """Embed as FakeEmbedder does, recording the texts."""
        out = super().embed_passages(texts)
        self.passage_texts.extend(texts)
        return out


def write_fixture_corpus(directory: Path) -> Path:
    """Write the fixture corpus into `directory`; returns its corpus.toml."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in FIXTURE_TEXTS.items():
        (directory / name).write_text(text, encoding="utf-8")
    manifest = directory / "corpus.toml"
    manifest.write_text(FIXTURE_MANIFEST, encoding="utf-8")
    return manifest


@dataclass
class BuiltIndex:
    """Paths and objects of an index built from the fixture corpus with the fake embedder."""

    corpus: Path
    index_dir: Path
    cache_dir: Path
    embedder: RecordingEmbedder
    report: BuildReport

    @property
    def cache_path(self) -> Path:
        """The SQLite file the CLI uses inside `cache_dir`."""
        return self.cache_dir / "embeddings.sqlite3"

    def documents(self) -> list[Document]:
        """The fixture documents as they are on disk now."""
        return load_corpus(self.corpus)

    def build(self, embedder: FakeEmbedder | None = None, **kwargs) -> BuildReport:
        """Run build_index again on the same directories (a fresh embedder unless one is given)."""
        embedder = embedder or RecordingEmbedder(32)
        with EmbeddingCache(self.cache_path) as cache:
            return build_index(self.index_dir, self.documents(), embedder, cache, **kwargs)


@dataclass
class Run:
    """What one call of the CLI's main() gave: exit code, stdout, stderr."""

    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)

    def json_lines(self) -> list:
        return [json.loads(line) for line in self.out.splitlines()]


def _build(root: Path, extra_text: str = "") -> BuiltIndex:
    """The fixture corpus (with `extra_text` appended to テスト市's memo), indexed with the fake embedder."""
    corpus = write_fixture_corpus(root / "corpus")
    if extra_text:
        with open(corpus.parent / "testshi.txt", "a", encoding="utf-8") as f:
            f.write(extra_text)
    index_dir, cache_dir = root / "index", root / "cache"
    embedder = RecordingEmbedder(32)
    with EmbeddingCache(cache_dir / "embeddings.sqlite3") as cache:
        report = build_index(index_dir, load_corpus(corpus), embedder, cache)
    return BuiltIndex(corpus, index_dir, cache_dir, embedder, report)


@pytest.fixture
def corpus_toml(tmp_path: Path) -> Path:
    """A fresh copy of the fixture corpus (free to edit); its corpus.toml."""
    return write_fixture_corpus(tmp_path / "corpus")


@pytest.fixture
def built_index(tmp_path: Path) -> BuiltIndex:
    """A fresh fixture index in tmp_path, free to damage or rebuild."""
    return _build(tmp_path)


@pytest.fixture(scope="session")
def shared_index(tmp_path_factory: pytest.TempPathFactory) -> BuiltIndex:
    """One fixture index for the whole session: read it, never change it."""
    return _build(tmp_path_factory.mktemp("shared"))


@pytest.fixture(scope="session")
def searcher(shared_index: BuiltIndex) -> Searcher:
    """A Searcher over the shared fixture index with the fake embedder (read-only)."""
    return Searcher(load_index(shared_index.index_dir), FakeEmbedder(32))


@pytest.fixture(autouse=True, scope="session")
def one_dictionary_read():
    """The real JMdict is read into a glossary table once per test process (2 s), not once for every
    temporary cache directory: many tests build an index through the default settings."""
    import index.glossary as glossary

    original = glossary.read_jmdict
    glossary.read_jmdict = functools.lru_cache(maxsize=4)(original)
    yield
    glossary.read_jmdict = original


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No REFORM_SEARCH_* variables from the calling shell leak into settings."""
    for name in list(os.environ):
        if name.startswith("REFORM_SEARCH_"):
            monkeypatch.delenv(name)


# --- the real default corpus with the real bundled model (built once per session, ~1 min cold) -------


@dataclass
class RealIndex:
    """The default corpus indexed with the bundled model in temporary directories."""

    index_dir: Path
    cache_dir: Path

    def settings(self, **overrides):
        """Settings pointing at this index (other settings at their defaults, env ignored)."""
        from reform_search.settings import Settings

        return Settings().override(index_dir=self.index_dir, cache_dir=self.cache_dir, **overrides)

    def env(self) -> dict[str, str]:
        """Environment for a `reform-search` subprocess using this index."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("REFORM_SEARCH_")}
        return env | {
            "REFORM_SEARCH_INDEX_DIR": str(self.index_dir),
            "REFORM_SEARCH_CACHE_DIR": str(self.cache_dir),
        }


# Embeddings of the real model kept between test runs (gitignored): the real index is rebuilt in a fresh
# directory every session, but its passages need not be embedded again. Keyed by model and text, so a
# stale entry is never used for another text; delete the folder to measure a cold build.
TEST_CACHE = Path(__file__).resolve().parent.parent / ".cache" / "test-embeddings" / "embeddings.sqlite3"


def _copy_sqlite(src: Path, dst: Path) -> None:
    """Copy an SQLite database consistently (the backup API), replacing `dst` atomically."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f"{dst.name}.tmp{os.getpid()}")  # test workers may copy at the same time
    tmp.unlink(missing_ok=True)
    with sqlite3.connect(src) as source, sqlite3.connect(tmp) as target:
        source.backup(target)
    source.close()
    target.close()
    os.replace(tmp, dst)


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory) -> RealIndex:
    """Build the real index once; every model test shares it (read-only: copy it before changing it)."""
    from reform_search.manage import index_all

    root = tmp_path_factory.mktemp("real")
    real = RealIndex(root / "index", root / "cache")
    cache_file = real.cache_dir / "embeddings.sqlite3"
    if TEST_CACHE.is_file():
        try:
            _copy_sqlite(TEST_CACHE, cache_file)
        except sqlite3.DatabaseError:
            TEST_CACHE.unlink()  # a damaged kept cache is dropped: this run embeds from scratch
    report = index_all(real.settings())
    assert report.changed and report.documents == 2
    _copy_sqlite(cache_file, TEST_CACHE)
    return real


@pytest.fixture(scope="session")
def real_searcher(real_index: RealIndex) -> Searcher:
    """A Searcher over the real index with the real bundled model."""
    from reform_search.app import open_searcher

    return open_searcher(real_index.settings())


# --- a fixture index where shared words decide similarity (for compare, themes, align and exports) ----

# Each keyword is one axis of the fake vectors: texts sharing a keyword are close, others are not, so
# labels and counterparts have obvious answers without a model. No probe text contains a keyword.
KEYWORDS = ("予算", "基金", "窓口", "清掃", "電子決済", "雪かき")

KEYWORD_MANIFEST = """\
[[document]]
id = "testshi-table"
file = "testshi_table.txt"
city = "テスト市"
city_en = "Testshi"
title = "テスト市 架空の取組状況（テスト用）"
fiscal_year = "R6"
layout = "table"

[[document]]
id = "samplecho-items"
file = "samplecho_items.txt"
city = "サンプル町"
city_en = "Samplecho"
title = "サンプル町 架空の改革メモ（テスト用）"
fiscal_year = 2024
layout = "blocks"
"""

# テスト市 is tests/data/corpus_table_fixture.txt: rows about 予算, 基金, 窓口, 清掃 and 電子決済.
# サンプル町 shares 予算 and 窓口, has 雪かき of its own, and one item holds a "|" (a Markdown hazard).
SAMPLECHO_ITEMS = """\
サンプル町の架空の改革メモ。これはテスト用の作り話で、実在の町とは関係ありません。

・架空の予算書を町民向けに公開する
・架空の窓口業務を委託する
・架空の雪かきボランティア|除雪を募集する
"""


class KeywordEmbedder(FakeEmbedder):
    """Fake vectors: one axis per KEYWORDS word the text contains, plus a little hash noise; unit length."""

    NOISE = 0.1

    def __init__(self, dim: int = 64) -> None:
        super().__init__(dim)
        self.name = f"fake-keyword/{dim}"

    def _embed(self, texts, kind):
        import numpy as np

        texts = list(texts)
        out = self.NOISE * super()._embed(texts, kind)
        for i, text in enumerate(texts):
            for axis, word in enumerate(KEYWORDS):
                if word in text:
                    out[i, axis] += 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)


@dataclass
class KeywordIndex:
    """The keyword fixture corpus indexed with KeywordEmbedder (read-only, shared by the session)."""

    corpus: Path
    index_dir: Path
    cache_dir: Path


@pytest.fixture(scope="session")
def keyword_index(tmp_path_factory: pytest.TempPathFactory) -> KeywordIndex:
    """Build the keyword fixture index once."""
    root = tmp_path_factory.mktemp("keyword")
    corpus = root / "corpus"
    corpus.mkdir()
    table = Path(__file__).parent / "data" / "corpus_table_fixture.txt"
    (corpus / "testshi_table.txt").write_text(table.read_text(encoding="utf-8"), encoding="utf-8")
    (corpus / "samplecho_items.txt").write_text(SAMPLECHO_ITEMS, encoding="utf-8")
    (corpus / "corpus.toml").write_text(KEYWORD_MANIFEST, encoding="utf-8")
    built = KeywordIndex(corpus / "corpus.toml", root / "index", root / "cache")
    with EmbeddingCache(built.cache_dir / "embeddings.sqlite3") as cache:
        build_index(built.index_dir, load_corpus(built.corpus), KeywordEmbedder(), cache)
    return built


@pytest.fixture(scope="session")
def keyword_searcher(keyword_index: KeywordIndex) -> Searcher:
    """A Searcher over the keyword fixture index with KeywordEmbedder."""
    return Searcher(load_index(keyword_index.index_dir), KeywordEmbedder())


# --- the web UI: the fixture corpus plus items whose text is HTML markup (to be shown as text) ----------

HTML_ITEMS = (
    "・<script>alert(1)</script>で電子決裁の通知を送る\n"
    '・<img src=x onerror=alert(1)>テレワーク端末の写真 & "引用" ${1+1} {{value}}\n'
)


def build_html_index(root: Path) -> BuiltIndex:
    """The fixture corpus with HTML_ITEMS added to テスト市's memo, indexed with the fake embedder."""
    return _build(root, HTML_ITEMS)


@pytest.fixture
def html_index(tmp_path: Path) -> BuiltIndex:
    """A fresh index of the fixture corpus plus HTML_ITEMS (free to change)."""
    return build_html_index(tmp_path)
