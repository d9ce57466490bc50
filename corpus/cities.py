"""City names as a reader types them: the canonical name of an indexed city for its name or an alias
(会津若松市, 会津若松, Aizuwakamatsu, aizu-wakamatsu)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from corpus.normalize import without_invisible

_KIND = re.compile(r"(市|町|村|区)$")  # what kind of municipality a Japanese name says it is


def city_key(name: str) -> str:
    s = unicodedata.normalize("NFKC", name).casefold()
    s = re.sub(r"[\s\-_・]", "", s)
    return re.sub(r"(市|町|村|区|city|shi)$", "", s)


def _kind(name: str) -> str:
    """The 市, 町, 村 or 区 a name ends with ("" where it names none, as 会津若松 or Iwaki do)."""
    m = _KIND.search(unicodedata.normalize("NFKC", name).strip())
    return m.group(1) if m else ""


def resolve_city(name: str, cities: Iterable[tuple[str, str]]) -> str:
    """The canonical city for a name or alias (会津若松市, 会津若松, Aizuwakamatsu, aizu-wakamatsu).

    `cities` holds (canonical name, English name) pairs of the indexed cities. An exact name always
    wins; a loose form (without 市/町/村, any case or spacing) must point at exactly one city. A name that
    says its kind (府中市) never finds a city of another (府中町): with only one of them indexed, the other
    had been answered in its place.
    """
    pairs = list(dict.fromkeys(cities))
    known = ", ".join(dict.fromkeys(f"{c} ({e})" if e else c for c, e in pairs))
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"unknown city {name!r}; known cities: {known}")
    exact = unicodedata.normalize("NFC", without_invisible(name).strip())  # as the query is read
    if any(exact == c for c, _ in pairs):
        return exact
    keys: dict[str, set[str]] = {}
    for city, city_en in pairs:
        for alias in (city, city_en):
            if alias:
                keys.setdefault(city_key(alias), set()).add(city)
    kind = _kind(exact)
    found = {c for c in keys.get(city_key(name), set()) if not kind or _kind(c) in (kind, "")}
    if len(found) > 1:
        raise ValueError(f"city {name!r} is ambiguous: {', '.join(sorted(found))}; use the full name")
    if not found:
        raise ValueError(f"unknown city {name!r}; known cities: {known}")
    return found.pop()
