"""Checks on zip-based Office files before a parser opens them: size bombs and XML entity declarations."""

from __future__ import annotations

import io
import zipfile
import zlib

from corpus.extract.base import Limits
from corpus.refusal import Refusal

MAX_MEMBERS = 10_000
_CHUNK = 1 << 20
_DECLARATIONS = (b"<!DOCTYPE", b"<!ENTITY")


def open_checked(data: bytes, name: str, limits: Limits) -> zipfile.ZipFile:
    """The zip archive in `data`, refused when it would unpack too large or its XML declares entities."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise Refusal(
            f"{name} is damaged: not a readable zip archive ({e})", f"{name} は壊れていて開けません"
        ) from None
    if len(members) > MAX_MEMBERS:
        raise Refusal(
            f"{name} holds {len(members):,} files inside; at most {MAX_MEMBERS:,} are accepted",
            f"{name} は内部に {len(members):,} 個のファイルを含みます。上限は {MAX_MEMBERS:,} です",
        )
    total = sum(m.file_size for m in members)
    if total > limits.max_unzipped_bytes:
        raise Refusal(
            f"{name} would unpack to {total / 2**20:,.0f} MB, over the limit of "
            f"{limits.max_unzipped_bytes / 2**20:,.0f} MB (max_unzipped_mb); it may be a zip bomb",
            f"{name} は展開すると {total / 2**20:,.0f} MB になり、上限 "
            f"{limits.max_unzipped_bytes / 2**20:,.0f} MB を超えます（max_unzipped_mb）",
        )
    if any(m.flag_bits & 0x1 for m in members):
        raise Refusal(
            f"{name} is password-protected; save an unprotected copy and add that",
            f"{name} はパスワードで保護されています。保護のないコピーを保存して追加してください",
        )
    for m in members:
        if m.filename.endswith((".xml", ".rels")):
            _refuse_declarations(archive, m, name)
    return archive


def _refuse_declarations(archive: zipfile.ZipFile, member: zipfile.ZipInfo, name: str) -> None:
    """Office XML never declares a DTD; one that does may try entity expansion or external entities."""
    tail = b""
    try:
        with archive.open(member) as f:
            first = True
            while chunk := f.read(_CHUNK):
                if first and (chunk.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in chunk[:200]):
                    raise Refusal(
                        f"{name}: {member.filename} is not UTF-8 XML; the file is not a valid Office file",
                        f"{name} は正しい Office ファイルではありません",
                    )
                first = False
                window = tail + chunk
                if any(d in window for d in _DECLARATIONS):
                    raise Refusal(
                        f"{name}: {member.filename} declares a DTD or entities, which Office files never do; "
                        "refused",
                        f"{name} は Office ファイルにはない宣言（DTD）を含むため受け付けません",
                    )
                tail = window[-16:]
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError) as e:
        raise Refusal(
            f"{name} is damaged: {member.filename} cannot be unpacked ({e})",
            f"{name} は壊れていて展開できません",
        ) from None
