"""What the index reads of a passage: the passage with its context, never shown or cited as such.

A passage is displayed and cited as it stands in the report, but a reader of the report also sees
where it stands: the section path and the initiative a table row belongs to. The index gets the same:

    lexical text     section path and initiative (when the text does not already open with them),
                     then the text: a sheet's section or a row's initiative finds the row
    embedding text   a table row as it stands (it opens with its initiative); any other passage
                     under its document's title, which moves short passages back to their topic

Measured on the visible judgments (5-fold cross-validated, bench/tune.py), the section path in the
embedding text lowered nDCG@10 from 0.771 to 0.751, and short list items embedded with their
neighbours in the list to 0.745: every row of a section then shares the same opening and moves
towards the others, and a timeline line takes on its neighbours' unrelated topics. Neither is done.
"""

from __future__ import annotations

from corpus.passage import Passage

CONTEXT_VERSION = 1  # bump when what the index reads of a passage changes: indexes are rebuilt


def _compact(text: str) -> str:
    return "".join(text.split())


def head(p: Passage) -> list[str]:
    """The section path and the initiative, each when present and not already the text's opening."""
    opening = _compact(p.text)[:200]
    return [x for x in (p.section, p.initiative) if x and _compact(x) not in opening]


def lexical_text(p: Passage) -> str:
    """What BM25 indexes for a passage: its head, then its text."""
    return "\n".join([*head(p), p.text])


def embedding_text(p: Passage) -> str:
    """The text embedded for `p`: a table row as it stands (it opens with its initiative), any other
    passage under its document's title (module docstring)."""
    return p.text if p.initiative else f"{p.document}\n{p.text}"
