"""Column roles of progress tables (改革項目, 具体的取組, 内容, 所管課 …) and the header words naming them."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Headers that name the initiative only as they stand: 取組 inside a longer header is another column's
# (取組の成果, 今後の取組), but a column headed 取組 alone lists the initiatives themselves
INITIATIVE_ALONE = frozenset(
    {"取組", "取組み", "取り組み", "主な取組", "主な取組み", "主要な取組", "取組事項"}
)
# Column roles and the header words that name them, in table order.
LABEL = re.compile(
    r"(?P<item>改革項目|取組項目|施策項目|重点項目)|(?P<initiative>具体的取組|取組名|事業名)|(?P<content>取組内容|内容|概要)"
    r"|(?P<department>所管課|担当課|所管部署|担当部署|所管部局|担当部局|課名)|(?P<status>R\d+年?度?取組状況|取組状況|実績|進捗状況)"
    r"|(?P<direction>今後の課題・方向性|今後の方向性|課題・方向性|今後の課題)"
)
DEFAULT_LABELS = {
    "item": "改革項目",
    "initiative": "具体的取組",
    "content": "内容",
    "department": "所管課",
    "status": "取組状況",
    "direction": "今後の課題・方向性",
}
# Roles whose cells are merged over the rows below them in a progress sheet: blanks repeat the row above.
GROUPING = ("item", "initiative")
# How a note under a table opens (「※評価 A：計画どおり…」, 「注）…」): a note, never a heading or a row
NOTE_MARKS = ("※", "注", "（注", "(注")


def column_role(name: str) -> str | None:
    """The role a column header names ("所管課" → "department"), or None for other columns."""
    s = unicodedata.normalize("NFKC", name).strip().replace(" ", "")
    if s in INITIATIVE_ALONE:
        return "initiative"
    if m := LABEL.fullmatch(s):
        return m.lastgroup
    found = list(LABEL.finditer(s))
    # A longer header ("具体的取組の内容") is named by its longest label word; a mere mention is not.
    if found and len(s) <= 12:
        return max(found, key=lambda m: len(m.group())).lastgroup
    return None


def table_roles(names: Iterable[str]) -> dict[str, str | None]:
    """Role of each column of one table; with no initiative column, its last item column (取組項目) is it."""
    roles = {name: column_role(name) for name in names}
    if "initiative" not in roles.values():
        # A sheet headed 取組項目 / 内容 / 取組状況 lists initiatives under that name, not groups of them.
        items = [name for name, role in roles.items() if role == "item"]
        if items:
            roles[items[-1]] = "initiative"
    return roles
