"""A stable 64-bit hash of text (Python's own hash() is salted per process): BM25 finds its terms' columns
by it, and the passage table its ids' rows; both are stored, so it never changes."""

from __future__ import annotations

import hashlib


def stable_hash(text: str) -> int:
    """blake2b of the UTF-8 text, 8 bytes, read little-endian."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")
