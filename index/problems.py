"""What can be wrong with an index, as exceptions whose message says what to do."""

from __future__ import annotations

REBUILD_HINT = "rebuild it with `reform-search index --rebuild`"


class IndexProblem(Exception):
    """An index that is missing, built with other settings, or damaged; the message says what to do."""


class MissingIndex(IndexProblem):
    """No index at the given directory."""


class MismatchedIndex(IndexProblem):
    """The index was built with settings (model, tokenizer, splitter) other than the current ones."""


class CorruptIndex(IndexProblem):
    """An index file is missing, truncated or unreadable."""
