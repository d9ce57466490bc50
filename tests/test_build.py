"""Building and updating an index: no-op when unchanged, incremental embedding, locking, the manifest."""

from __future__ import annotations

import fcntl
import hashlib
from collections import Counter

import numpy as np
import pytest
from conftest import RecordingEmbedder, write_fixture_corpus
from fakes import FakeEmbedder

from corpus.document import load_corpus
from corpus.split import SPLITTER_VERSION, split_passages
from index.build import build_index
from index.cache import EmbeddingCache
from index.calibration import PROBES_EN, PROBES_JA
from index.context import embedding_text
from index.store import current_generation, load_index, read_manifest
from index.tokenize import tokenizer_info


def _embedding_texts(corpus) -> set[str]:
    return {embedding_text(p) for d in load_corpus(corpus) for p in split_passages(d)}


@pytest.fixture
def overhead(built_index) -> RecordingEmbedder:
    """What a fully cached rebuild embeds: nothing, calibration probes included (they are cached too)."""
    embedder = RecordingEmbedder(32)
    assert built_index.build(embedder, rebuild=True).embedded == 0
    assert embedder.passage_texts == [] and embedder.calls == 0
    return embedder


def _passage_work(embedder: RecordingEmbedder, overhead: RecordingEmbedder) -> list[str]:
    """The passage texts `embedder` embedded beyond the overhead, calibration probes left out."""
    work = Counter(t for t in embedder.passage_texts if t not in PROBES_JA)
    return list((work - Counter(overhead.passage_texts)).elements())


def test_first_build_embeds_each_distinct_text_once(built_index, overhead):
    work = _passage_work(built_index.embedder, overhead)
    assert built_index.report.changed
    assert built_index.report.documents == 2
    assert built_index.report.passages == len(load_index(built_index.index_dir).passages)
    assert built_index.report.embedded == len(work) == len(set(work))
    assert _embedding_texts(built_index.corpus) <= set(work)


def test_unchanged_corpus_is_a_no_op(built_index):
    gen = current_generation(built_index.index_dir)
    listing = sorted(p.name for p in built_index.index_dir.iterdir())
    embedder = RecordingEmbedder(32)

    report = built_index.build(embedder)

    assert (report.changed, report.embedded, embedder.calls) == (False, 0, 0)
    assert report.passages == built_index.report.passages
    assert current_generation(built_index.index_dir) == gen
    assert sorted(p.name for p in built_index.index_dir.iterdir()) == listing


@pytest.mark.parametrize(
    ("old", "new", "field", "value"),
    [
        ('city_en = "Testshi"', 'city_en = "Test-City"', "city_en", "Test-City"),
        ('fiscal_year = 2024\nlayout = "blocks"', 'fiscal_year = 2024\nlayout = "auto"', "layout", "auto"),
        ("fiscal_year = 2024", 'fiscal_year = 2024\nurl = "https://example.invalid/memo.pdf"', "url", None),
    ],
)
def test_changed_metadata_is_indexed_again(built_index, old, new, field, value):
    # Only id, file hash, city, title and year had been compared: a new romaji name, layout or URL in
    # the manifest was "up to date", and the old one stayed (`--city Test-City` was an unknown city)
    manifest = built_index.corpus.read_text(encoding="utf-8")
    assert old in manifest
    built_index.corpus.write_text(manifest.replace(old, new, 1), encoding="utf-8")
    report = built_index.build()
    assert report.changed
    entry = next(d for d in read_manifest(built_index.index_dir)["documents"] if d["id"] == "testshi-memo")
    assert entry[field] == (value or "https://example.invalid/memo.pdf")
    assert built_index.build().changed is False  # and then it is up to date


def test_edited_document_re_embeds_only_the_changed_passage(built_index, overhead):
    path = built_index.corpus.parent / "testshi.txt"
    path.write_text(
        path.read_text(encoding="utf-8").replace("説明会を開く", "説明会を三回開く"), encoding="utf-8"
    )
    embedder = RecordingEmbedder(32)

    report = built_index.build(embedder)

    work = _passage_work(embedder, overhead)
    assert report.changed
    assert report.embedded == len(work) > 0
    assert embedder.calls == overhead.calls + report.embedded
    # Only texts of the edited bullet item were embedded; everything else came from the cache.
    assert all("説明会を三回開く" in text for text in work)
    assert any("説明会を三回開く" in p.text for p in load_index(built_index.index_dir).passages)


def test_rebuild_reuses_the_embedding_cache(built_index, overhead):
    gen = current_generation(built_index.index_dir)
    embedder = RecordingEmbedder(32)

    report = built_index.build(embedder, rebuild=True)

    assert report.changed
    assert report.embedded == len(_passage_work(embedder, overhead)) == 0
    assert embedder.calls == overhead.calls
    assert current_generation(built_index.index_dir) != gen
    assert report.passages == built_index.report.passages


def test_other_embedder_triggers_a_full_build(built_index):
    embedder = RecordingEmbedder(16)
    report = built_index.build(embedder)
    assert report.changed and report.embedded == built_index.report.embedded
    assert read_manifest(built_index.index_dir)["embedder"] == {"name": "fake/16", "dim": 16}


def test_failed_build_leaves_the_previous_index(built_index):
    before = [p.text for p in load_index(built_index.index_dir).passages]
    path = built_index.corpus.parent / "samplecho.txt"
    path.write_text(path.read_text(encoding="utf-8") + "・窓口の案内を増やす\n", encoding="utf-8")

    with pytest.raises(RuntimeError, match="fake embedder failing"):
        built_index.build(FakeEmbedder(32, fail_on_call=1))

    assert [p.text for p in load_index(built_index.index_dir).passages] == before


def _only_numbers(tmp_path, both: bool):
    corpus = write_fixture_corpus(tmp_path / "corpus")
    # Figures without labels yield no passages (corpus/split_blocks.py drops them).
    (corpus.parent / "samplecho.txt").write_text("2020 2040\n\n332,931 255,645\n", encoding="utf-8")
    if both:
        (corpus.parent / "testshi.txt").write_text("100 77\n\n53\n", encoding="utf-8")
    docs = load_corpus(corpus)
    assert not split_passages(docs[1])
    return docs


def test_documents_without_passages_are_refused(tmp_path):
    docs = _only_numbers(tmp_path, both=True)
    with pytest.raises(ValueError, match="no passages"):
        build_index(tmp_path / "index", docs, FakeEmbedder(32), None)
    assert current_generation(tmp_path / "index") is None


def test_one_document_without_passages_is_refused_by_name(tmp_path):
    docs = _only_numbers(tmp_path, both=False)
    with pytest.raises(ValueError, match=docs[1].id):
        build_index(tmp_path / "index", docs, FakeEmbedder(32), None)


def test_concurrent_build_is_refused(built_index):
    with open(built_index.index_dir / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(ValueError, match="another indexing run"):
            built_index.build(rebuild=True)
    # Once released, building works again.
    assert built_index.build(rebuild=True).changed


def test_manifest_records_what_built_the_index(built_index):
    manifest = read_manifest(built_index.index_dir)
    docs = load_corpus(built_index.corpus)

    assert manifest["embedder"] == {"name": built_index.embedder.name, "dim": built_index.embedder.dim}
    assert manifest["tokenizer"] == tokenizer_info()
    assert {"fugashi", "unidic_lite", "version"} <= set(manifest["tokenizer"])
    assert manifest["splitter_version"] == SPLITTER_VERSION
    assert [d["id"] for d in manifest["documents"]] == [d.id for d in docs]
    for entry, doc in zip(manifest["documents"], docs, strict=True):
        raw = (built_index.corpus.parent / doc.source).read_bytes()
        assert entry["sha256"] == hashlib.sha256(raw).hexdigest()
        assert entry["passages"] == len(split_passages(doc)) > 0
        assert (entry["city"], entry["city_en"]) == (doc.city, doc.city_en)
    assert manifest["passages"] == sum(d["passages"] for d in manifest["documents"])


def test_without_a_cache_every_rebuild_embeds_everything(tmp_path, corpus_toml):
    reports = [
        build_index(tmp_path / "index", load_corpus(corpus_toml), FakeEmbedder(32), None, rebuild=True)
        for _ in range(2)
    ]
    assert reports[0].embedded == reports[1].embedded >= len(_embedding_texts(corpus_toml))


def test_an_index_without_its_cache_embeds_only_what_it_lacks(built_index, tmp_path):
    # "Copy the index directory, serve anywhere": the first `add` there had embedded the whole corpus
    # again. Unchanged passages now keep the vectors the index holds; only the edited one is embedded, and
    # the index is the one a build from scratch gives, to the bit.
    path = built_index.corpus.parent / "testshi.txt"
    path.write_text(
        path.read_text(encoding="utf-8").replace("説明会を開く", "説明会を三回開く"), encoding="utf-8"
    )
    embedder = RecordingEmbedder(32)
    with EmbeddingCache(tmp_path / "empty.sqlite3") as cache:  # the index without its cache
        report = build_index(built_index.index_dir, built_index.documents(), embedder, cache)
    work = [t for t in embedder.passage_texts if t not in PROBES_JA + PROBES_EN]
    assert report.changed and work and all("説明会を三回開く" in t for t in work)
    assert report.embedded == len(set(work)) == 1  # (the calibration's probes are embedded apart)

    scratch = tmp_path / "scratch"
    build_index(scratch, built_index.documents(), FakeEmbedder(32), None)
    got, want = load_index(built_index.index_dir), load_index(scratch)
    assert [p.id for p in got.passages] == [p.id for p in want.passages]
    for name in ("vectors", "profiles"):
        assert np.asarray(getattr(got, name)).tobytes() == np.asarray(getattr(want, name)).tobytes(), name
    assert np.asarray(got.parts.indptr).tolist() == np.asarray(want.parts.indptr).tolist()
    assert np.asarray(got.parts.vectors).tobytes() == np.asarray(want.parts.vectors).tobytes()
    assert got.manifest["calibration"] == want.manifest["calibration"]


def test_vectors_of_an_index_built_otherwise_are_not_taken(built_index, tmp_path):
    # another model's index: every text is embedded again by the new one (nothing taken across models)
    embedder = RecordingEmbedder(16)
    with EmbeddingCache(tmp_path / "empty.sqlite3") as cache:
        report = build_index(built_index.index_dir, built_index.documents(), embedder, cache)
    assert report.changed and report.embedded == built_index.report.embedded
    assert _embedding_texts(built_index.corpus) <= set(embedder.passage_texts)


def test_a_new_splitter_version_keeps_the_vectors_of_passages_it_leaves_alone(
    built_index, tmp_path, monkeypatch
):
    # a version bump rebuilds the index, but an unchanged passage's vectors depend on the model and its
    # text alone: without the cache, nothing is embedded again
    monkeypatch.setattr("index.build.SPLITTER_VERSION", 999)
    embedder = RecordingEmbedder(32)
    with EmbeddingCache(tmp_path / "empty.sqlite3") as cache:
        report = build_index(built_index.index_dir, built_index.documents(), embedder, cache)
    assert report.changed and report.embedded == 0
    assert [t for t in embedder.passage_texts if t not in PROBES_JA + PROBES_EN] == []
    assert read_manifest(built_index.index_dir)["splitter_version"] == 999
