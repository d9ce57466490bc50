"""Regenerate the generated parts of README.md (the settings table) from the code: `make docs`."""

from __future__ import annotations

import sys
from pathlib import Path

from reform_search.settings import settings_markdown

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def with_settings(text: str) -> str:
    """README text with the block between the settings markers replaced by the current table."""
    head, found, rest = text.partition(START)
    _, found_end, tail = rest.partition(END)
    if not (found and found_end):
        raise ValueError(f"README.md lacks the markers {START} … {END}")
    return f"{head}{START}\n{settings_markdown()}{END}{tail}"


def main() -> int:
    """Rewrite README.md in place; exit 1 if it was out of date and --check was given."""
    text = README.read_text(encoding="utf-8")
    new = with_settings(text)
    if "--check" in sys.argv[1:]:
        return int(new != text)
    README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
