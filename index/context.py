"""What the index reads of a passage: the passage with its context, never shown or cited as such.

A passage is displayed and cited as it stands in the report, but a reader of the report also sees
where it stands: the section path and the initiative a table row belongs to. The index gets the same:

    lexical text     section path and initiative (when the text does not already open with them),
                     then the text: a sheet's section or a row's initiative finds the row
    embedding text   a table row as it stands (it opens with its initiative); any other passage
                     under its document's title, which moves short passages back to their topic
    part texts       a packed passage's sentences, each embedded too (index/parts.py)

Measured on the visible judgments (5-fold cross-validated, bench/tune.py), the section path in the
embedding text lowered nDCG@10 from 0.771 to 0.751, and short list items embedded with their
neighbours in the list to 0.745: every row of a section then shares the same opening and moves
towards the others, and a timeline line takes on its neighbours' unrelated topics. Neither is done.
"""

from __future__ import annotations

from corpus.normalize import is_japanese
from corpus.passage import Passage
from corpus.split_blocks import SENTENCE

CONTEXT_VERSION = 2  # bump when what the index reads of a passage changes: indexes are rebuilt
# A sentence shorter than this (a label, a figure's caption) joins its neighbour in one part.
PART_CHARS = 12


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


def part_texts(p: Passage) -> list[str]:
    """The parts a packed passage is also embedded by (index/parts.py): its sentences, line by line,
    a piece under PART_CHARS joined to the one before it unless that one ends a sentence; pieces with
    fewer than 4 letters (figures) dropped. A table row states one initiative and has none, nor has a
    passage of one part.

    Measured (5-fold cross-validated, bench/tune.py parts): parts for table rows' fields lowered column
    recall@3; the document title before each part, as passages have it, undid the gain.
    """
    if p.initiative:
        return []
    parts: list[str] = []
    for line in p.text.split("\n"):
        for sentence in SENTENCE.findall(line.strip()):
            sentence = sentence.strip()
            if not sentence:
                continue
            short = len(sentence) < PART_CHARS or (parts and len(parts[-1]) < PART_CHARS)
            if parts and short and not parts[-1].endswith(("。", "！", "？", "!", "?")):
                parts[-1] = f"{parts[-1]} {sentence}"
            else:
                parts.append(sentence)
    parts = [x for x in parts if sum(is_japanese(c) or c.isalpha() for c in x) >= 4]
    return parts if len(parts) > 1 else []
