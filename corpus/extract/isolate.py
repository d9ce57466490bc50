"""Run a parser of untrusted input in a child process: killed at the time limit, its memory capped.

The child is a fresh interpreter (`python -m corpus.extract.isolate`) that reads a JSON header line and
the file's bytes on stdin and answers one JSON object on stdout. Nothing is pickled either way, and a
parser that hangs, crashes or runs out of memory takes only the child down.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from dataclasses import asdict

from corpus.extract.base import Extracted, Limits
from corpus.refusal import Refusal


def run_isolated(target: str, data: bytes, name: str, limits: Limits) -> Extracted:
    """Call `target` ("module:function") on (data, name, limits) in a child process; errors as ValueError."""
    header = json.dumps({"target": target, "name": name, "limits": asdict(limits)}, ensure_ascii=False)
    # The child sees the modules this process sees (an editable install, a test's helpers).
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "corpus.extract.isolate"],
            input=header.encode("utf-8") + b"\n" + data,
            capture_output=True,
            timeout=limits.timeout_s,
            env=env,
        )
    except subprocess.TimeoutExpired:
        raise Refusal(
            f"{name}: reading it took longer than {limits.timeout_s:g} s (parse_timeout_s) and was stopped; "
            "the file may be malformed",
            f"{name} の読み取りが {limits.timeout_s:g} 秒を超えたため中止しました。"
            "ファイルが壊れている可能性があります",
        ) from None
    try:
        reply = json.loads(done.stdout.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        last = (done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"])[-1]
        raise Refusal(
            f"{name}: the parser stopped without an answer (exit code {done.returncode}: {_one_line(last)}); "
            "the file may be damaged",
            f"{name} を読み取れませんでした。ファイルが壊れている可能性があります",
        ) from None
    if "error" in reply:
        raise Refusal(reply["error"], reply["ja"]) if reply.get("ja") else ValueError(reply["error"])
    return Extracted.from_json(reply["extracted"])


def _serve() -> None:
    """Child side: parse stdin, print {"extracted": ...} or {"error": one line} on stdout."""
    import resource

    header = json.loads(sys.stdin.buffer.readline())
    memory = int(header["limits"]["memory_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    data = sys.stdin.buffer.read()
    name = header["name"]
    out, sys.stdout = sys.stdout.buffer, sys.stderr  # whatever a parser prints must not garble the reply
    try:
        module, _, function = header["target"].partition(":")
        result = getattr(importlib.import_module(module), function)(data, name, Limits(**header["limits"]))
        reply = {"extracted": result.to_json()}
    except ValueError as e:
        reply = {"error": _one_line(str(e)), "ja": _one_line(getattr(e, "ja", ""))}
    except MemoryError:
        reply = {
            "error": f"{name}: reading it needs more than {memory / 2**20:,.0f} MB (parser_memory_mb); "
            "the file may be malformed",
            "ja": f"{name} の読み取りに {memory / 2**20:,.0f} MB を超えるメモリが要るため中止しました。"
            "ファイルが壊れている可能性があります",
        }
    except Exception as e:  # a parser's own exception on a malformed file
        reply = {
            "error": _one_line(f"{name} cannot be read: {type(e).__name__}: {e}"),
            "ja": f"{name} を読み取れません。ファイルが壊れている可能性があります",
        }
    out.write(json.dumps(reply, ensure_ascii=False).encode("utf-8"))


def _one_line(message: str) -> str:
    return re.sub(r"\s+", " ", message).strip()[:500]


if __name__ == "__main__":
    _serve()
