"""Plain text and Markdown: decoded as UTF-8 (with or without BOM), Shift_JIS/CP932 or EUC-JP."""

from __future__ import annotations

from corpus.extract.base import Extracted, Limits
from corpus.extract.sniff import is_utf16
from corpus.normalize import clean_text
from corpus.refusal import Refusal


def decode_text(data: bytes, name: str = "input") -> str:
    """Decode a text file as UTF-8 (with or without BOM), UTF-16 (with its BOM), Shift_JIS/CP932 or
    EUC-JP; refuse binary data."""
    if not data.strip():
        raise Refusal(f"{name} is empty", f"{name} は空です")
    if is_utf16(data):
        try:
            return clean_text(data.decode("utf-16"))
        except UnicodeDecodeError:
            raise Refusal(
                f"{name} is UTF-16 text that does not decode; save it as UTF-8",
                f"{name} は UTF-16 として読めません。UTF-8 で保存し直してください",
            ) from None
    if b"\x00" in data[:8192]:
        raise Refusal(
            f"{name} looks binary (NUL bytes), not text; convert it to UTF-8 text first",
            f"{name} は文字のファイルではないようです。UTF-8 のテキストに変換してください",
        )
    try:
        return clean_text(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        pass
    # Legacy encodings overlap (EUC-JP bytes often decode as CP932 half-width katakana), so keep the
    # decoding that looks most like ordinary Japanese.
    candidates = []
    for encoding in ("cp932", "euc_jp"):
        try:
            candidates.append(data.decode(encoding))
        except UnicodeDecodeError:
            continue
    if not candidates:
        raise Refusal(
            f"{name} is not UTF-8, Shift_JIS/CP932 or EUC-JP text",
            f"{name} は UTF-8・Shift_JIS・EUC-JP のいずれの文字コードでも読めません",
        )
    return clean_text(min(candidates, key=_oddness))


def _oddness(text: str) -> float:
    """Share of characters that are rare in real Japanese text: half-width katakana, private use, C1."""
    odd = sum(
        1 for c in text if "\uff61" <= c <= "\uff9f" or "\ue000" <= c <= "\uf8ff" or "\x80" <= c <= "\x9f"
    )
    return odd / max(len(text), 1)


def extract(data: bytes, name: str, limits: Limits) -> Extracted:
    """A text or Markdown file as one page of text."""
    return Extracted(decode_text(data, name), "text")
