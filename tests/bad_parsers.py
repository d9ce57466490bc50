"""Parsers that misbehave, for the tests of the child process that runs parsers (kept light to import)."""

from __future__ import annotations

import os
import time


def hang(data: bytes, name: str, limits: object) -> None:
    """A parser that never returns."""
    time.sleep(600)


def crash(data: bytes, name: str, limits: object) -> None:
    """A parser that dies without a word."""
    os._exit(3)


def fail(data: bytes, name: str, limits: object) -> None:
    """A parser raising its own exception with a multi-line message."""
    raise KeyError("no\nsuch part")
