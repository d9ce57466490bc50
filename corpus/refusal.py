"""A refusal of what a user gave (a file, a field), said in English and in Japanese.

The CLI and logs print the English (`str`); the browser, Japanese-first, shows both (`said`). A plain
ValueError is still a refusal, in English only: most are a script's or an operator's, not a planner's.
"""

from __future__ import annotations


class Refusal(ValueError):
    """Why a file or field was refused, in English (its message) and Japanese (`ja`)."""

    def __init__(self, en: str, ja: str) -> None:
        super().__init__(en)
        self.ja = ja


def said(e: Exception) -> str:
    """The refusal as the browser shows it: "日本語 / English" for a Refusal, else its message."""
    en = str(e) or type(e).__name__
    ja = getattr(e, "ja", "")
    return f"{ja} / {en}" if ja else en


def too_large(name: str, size: int, limit: int) -> Refusal:
    """A file over the upload limit (`max_upload_mb`)."""
    return Refusal(
        f"{name} is {size / 2**20:,.1f} MB; the limit is {limit / 2**20:,.0f} MB (max_upload_mb)",
        f"{name} は {size / 2**20:,.1f} MB あり、上限の {limit / 2**20:,.0f} MB を超えます（max_upload_mb）",
    )
