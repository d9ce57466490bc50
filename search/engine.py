"""Query → hits: dense, lexical (BM25) and hybrid (convex score fusion, or RRF) ranking with filters."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from corpus.document import resolve_city
from corpus.normalize import is_japanese
from index.embed import Embedder
from index.store import StoredIndex
from index.tokenize import matched_terms, surface_keys, tokenize
from search.crowding import crowd
from search.fusion import FUSIONS, LEXICAL_WEIGHT, RRF_K, convex, rrf
from search.hit import Hit

MODES = ("hybrid", "dense", "lexical")
MAX_QUERY_CHARS = 1000
CANDIDATES = 100  # per ranker, before fusion
SURFACE_CACHE = 4096  # passages whose highlight keys are kept


@dataclass(frozen=True)
class Query:
    """A validated query: its text (truncated if it was too long) and the filters it carries."""

    text: str
    truncated: bool = False


def check_query(text: str, max_chars: int = MAX_QUERY_CHARS) -> Query:
    """Refuse an empty query; cut an over-long one to `max_chars` (the caller warns)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("the query is empty; type the words to search for")
    text = " ".join(text.split())
    if len(text) > max_chars:
        return Query(text[:max_chars], truncated=True)
    return Query(text)


def lexical_weight(tokens: Sequence[str], query: str) -> float:
    """Weight of the BM25 ranking in hybrid fusion: the share of the query's words in Japanese script.

    BM25 over Japanese text matches Japanese query words; English words reach it only through the
    few loanword glosses of the dictionary, so an English query leans on the multilingual embedding.
    Glosses the tokenizer adds (テレワーク → "telework") are not words of the query and don't count.
    """
    folded = unicodedata.normalize("NFKC", query).lower()
    words = [t for t in tokens if any(is_japanese(c) for c in t) or t in folded]
    if not words:
        return 0.0
    return sum(any(is_japanese(c) for c in t) for t in words) / len(words)


class Searcher:
    """A loaded index and the embedder that made it, ready to answer queries concurrently."""

    def __init__(
        self,
        index: StoredIndex,
        embedder: Embedder,
        rrf_k: int = RRF_K,
        max_query_chars: int = MAX_QUERY_CHARS,
        fusion: str = FUSIONS[0],
        lexical_weight: float = LEXICAL_WEIGHT,
    ) -> None:
        if fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {fusion!r}; choose one of: {', '.join(FUSIONS)}")
        self.index = index
        self.embedder = embedder
        self.rrf_k = rrf_k
        self.fusion = fusion
        self.lexical_weight = lexical_weight
        self.max_query_chars = max_query_chars
        # A memory-mapped table: passages are decoded when a hit needs them, and filters and crowding
        # read its compact columns, so nothing here grows with the number of passages.
        self.passages = index.passages
        # Rows sharing a 具体的取組 share a group id, for crowding; other passages stand alone.
        self.groups = self.passages.column("group")
        self._surface_keys: dict[int, list[tuple[str, str]]] = {}  # highlight keys of recent hits

    @property
    def cities(self) -> list[str]:
        """Indexed cities in the order their documents were added."""
        return list(dict.fromkeys(city for city, _ in self.index.city_pairs))

    def position(self, passage_id: str) -> int:
        """Row of a passage id in the index; an unknown id raises ValueError saying how to list ids."""
        try:
            return self.passages.position(passage_id)
        except KeyError:
            raise ValueError(
                f"unknown passage id {passage_id!r}; list the ids with `reform-search chunks`"
            ) from None

    def resolve_cities(self, names: Iterable[str]) -> list[str]:
        """Canonical names for city names or aliases; an unknown one raises ValueError listing the known."""
        return [resolve_city(n, self.index.city_pairs) for n in names]

    def mask(
        self,
        cities: Sequence[str] | None = None,
        documents: Sequence[str] | None = None,
        years: Sequence[int] | None = None,
    ) -> np.ndarray | None:
        """Boolean mask of the passages the filters allow, or None when nothing is filtered."""
        if not (cities or documents or years):
            return None
        allowed = np.ones(len(self.passages), dtype=bool)
        if cities:
            allowed &= self.passages.isin("city", self.resolve_cities(cities))
        if documents:
            known = {d["id"]: d["id"] for d in self.index.documents} | {
                d["title"]: d["id"] for d in self.index.documents
            }
            unknown = [d for d in documents if d not in known]
            if unknown:
                raise ValueError(
                    f"unknown document {unknown[0]!r}; known ids: {', '.join(sorted(set(known.values())))}"
                )
            allowed &= self.passages.isin("document", [known[d] for d in documents])
        if years:
            allowed &= self.passages.isin("year", [int(y) for y in years])
        return allowed

    def search(
        self,
        query: str,
        top_k: int = 10,
        mode: str = "hybrid",
        cities: Sequence[str] | None = None,
        documents: Sequence[str] | None = None,
        years: Sequence[int] | None = None,
        allowed: np.ndarray | None = None,
        query_vector: np.ndarray | None = None,
    ) -> list[Hit]:
        """The best `top_k` passages for `query`, best first."""
        q = check_query(query, self.max_query_chars)
        if top_k <= 0:
            raise ValueError(f"top-k must be a positive number of hits, got {top_k}")
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of: {', '.join(MODES)}")
        if allowed is None:
            allowed = self.mask(cities, documents, years)
        n_allowed = len(self.passages) if allowed is None else int(allowed.sum())
        if n_allowed == 0:
            return []
        tokens = tokenize(q.text)
        depth = min(n_allowed, max(CANDIDATES, top_k))
        ranked: list[tuple[int, float]]
        if mode == "lexical":
            ids, scores = self.index.bm25.search(tokens, depth, allowed)
            ranked = list(zip(ids.tolist(), scores.tolist(), strict=True))
        else:
            vec = self.embedder.embed_queries([q.text])[0] if query_vector is None else query_vector
            ids, scores = self.index.dense.search(vec, depth, allowed)
            if mode == "dense":
                ranked = list(zip(ids.tolist(), scores.tolist(), strict=True))
            else:
                ranked = self._fuse(
                    (ids, scores), self.index.bm25.search(tokens, depth, allowed), tokens, q.text
                )
        # The candidates' groups as plain ints: crowding looks each one up many times.
        candidates = [i for i, _ in ranked]
        group_of = dict(zip(candidates, self.groups[candidates].tolist(), strict=True))
        ranked = crowd(ranked, group_of, top_k)
        query_tokens = set(tokens)
        hits = []
        for rank, (i, s) in enumerate(ranked, 1):
            p = self.passages[i]
            hits.append(Hit(p, rank, s, self._matched(i, p.text, query_tokens)))
        return hits

    def _fuse(self, dense, lexical, tokens: Sequence[str], text: str) -> list[tuple[int, float]]:
        """Hybrid ranking of the dense and lexical candidates; the lexical side counts in proportion to
        the query's Japanese words (English reaches Japanese text only through glosses)."""
        share = lexical_weight(tokens, text)
        if self.fusion == "rrf":
            return rrf([dense[0].tolist(), lexical[0].tolist()], k=self.rrf_k, weights=[1.0, share])
        return convex(dense, lexical, self.lexical_weight * share)

    def _matched(self, i: int, text: str, query_tokens: set[str]) -> tuple[str, ...]:
        # Tokenizing a passage for highlights costs more than the search itself; keep the result.
        keys = self._surface_keys.get(i)
        if keys is None:
            if len(self._surface_keys) >= SURFACE_CACHE:
                self._surface_keys.clear()  # bounded: memory stays flat however many queries come
            keys = self._surface_keys[i] = surface_keys(text)
        return tuple(matched_terms(text, query_tokens, keys))
