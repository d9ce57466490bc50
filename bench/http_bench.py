"""HTTP benchmarks of the web UI's API (gradio_client, as a client program would call it).

    compare_roundtrip(url, queries, n)          -> {"p50_ms", "p95_ms", "n"}
    concurrent_load(url, clients=20, seconds=30) -> {"requests", "errors", "p50_ms", "p95_ms", ...}
    serving(index_dir, cache_dir)                 context manager: `reform-search serve` on a free port

    .venv/bin/python bench/http_bench.py --index-dir DIR [--cache-dir DIR] [--clients 20 --seconds 30]
    .venv/bin/python bench/http_bench.py --url http://127.0.0.1:7860/

bench/bench.py calls these functions; run alone, this prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # gradio_client goes through huggingface_hub: stay offline

import numpy as np

CLI = str(Path(sys.executable).parent / "reform-search")
QUERIES = (
    "DX推進",
    "書かない窓口",
    "公共施設の統廃合",
    "人件費の抑制",
    "電子決裁",
    "ペーパーレス会議",
    "指定管理者制度",
    "telework for city staff",
)


def _client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False)


def _percentiles(latencies: Sequence[float]) -> dict:
    if not latencies:
        return {"p50_ms": float("nan"), "p95_ms": float("nan")}
    ms = np.asarray(latencies) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p95_ms": round(float(np.percentile(ms, 95)), 1),
    }


def compare_roundtrip(url: str, queries: Sequence[str] = QUERIES, n: int = 50) -> dict:
    """Latency of one /compare call at a time from a warm client (first call of each query not counted)."""
    client = _client(url)
    for q in queries:  # warm: connection, and each query's tokenization and highlight caches
        client.predict(q, api_name="/compare")
    latencies = []
    for i in range(n):
        start = time.perf_counter()
        client.predict(queries[i % len(queries)], api_name="/compare")
        latencies.append(time.perf_counter() - start)
    return {**_percentiles(latencies), "n": n}


def concurrent_load(
    url: str, clients: int = 20, seconds: float = 30, queries: Sequence[str] = QUERIES
) -> dict:
    """`clients` clients calling /compare back to back for `seconds`: throughput, errors, latency."""
    connected = [_client(url) for _ in range(clients)]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def work(k: int, client) -> None:
        i = k
        while time.monotonic() < deadline:
            start = time.perf_counter()
            try:
                client.predict(queries[i % len(queries)], api_name="/compare")
            except Exception as e:  # counted, not raised: the point is how many fail
                with lock:
                    errors.append(f"{type(e).__name__}: {e}")
            else:
                with lock:
                    latencies.append(time.perf_counter() - start)
            i += 1

    started = time.monotonic()
    threads = [threading.Thread(target=work, args=(k, c)) for k, c in enumerate(connected)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    requests = len(latencies) + len(errors)
    return {
        "requests": requests,
        "errors": len(errors),
        **_percentiles(latencies),
        "per_second": round(requests / elapsed, 1),
        "clients": clients,
        "seconds": round(elapsed, 1),
        "first_error": errors[0] if errors else None,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(index_dir: Path, cache_dir: Path | None = None, timeout: float = 180) -> Iterator[str]:
    """Run `reform-search serve` on a free local port over an index; yields its URL, stops it after."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFORM_SEARCH_")}
    env |= {"REFORM_SEARCH_INDEX_DIR": str(index_dir), "REFORM_SEARCH_PORT": str(port)}
    if cache_dir:
        env["REFORM_SEARCH_CACHE_DIR"] = str(cache_dir)
    proc = subprocess.Popen(
        [CLI, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"reform-search serve exited with {proc.returncode}: {proc.stderr.read()[-2000:]}"
                )
            try:
                with urllib.request.urlopen(url, timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{url} did not answer within {timeout} s") from None
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="a running reform-search UI")
    where.add_argument("--index-dir", type=Path, help="start `reform-search serve` over this index")
    parser.add_argument("--cache-dir", type=Path)
    parser.add_argument("--n", type=int, default=50, help="sequential /compare calls")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args(argv)

    def run(url: str) -> dict:
        return {
            "compare_roundtrip": compare_roundtrip(url, QUERIES, args.n),
            "concurrent_load": concurrent_load(url, args.clients, args.seconds),
        }

    if args.url:
        result = run(args.url)
    else:
        with serving(args.index_dir, args.cache_dir) as url:
            result = run(url)
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 1 if result["concurrent_load"]["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
