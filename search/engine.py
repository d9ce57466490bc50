"""Query → hits: dense, lexical (BM25) and hybrid (convex score fusion, or RRF) ranking with filters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from corpus.cities import resolve_city
from index.documents import indexed_years, named_documents
from index.embedder import Embedder
from index.glossary import Glossary, LazyGlossary, surfaces_of
from index.marks import bound_singles, joined_singles, matched_terms
from index.store import StoredIndex
from index.tokenize import surface_keys
from index.topk import allowed_count
from search.crowding import crowd
from search.fusion import Ranking, convex, rrf, with_parts
from search.hit import Hit, Results
from search.labels import content_terms, has_content
from search.markup import has_markup, strip_markup
from search.query import MAX_QUERY_CHARS, LexicalQuery, Prepared, check_query, read_lexical

MODES = ("hybrid", "dense", "lexical")
# Shown in the UI: in plain words in both languages, the setting's name (--mode) last
MODE_NAMES = {
    "hybrid": "おすすめ（意味＋語） / recommended: meaning and words (hybrid)",
    "dense": "意味で探す / by meaning (dense)",
    "lexical": "語で探す / by words (lexical)",
}
_NONE = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))  # a ranking without hits
CANDIDATES = 100  # per ranker, before fusion
SURFACE_CACHE = 4096  # passages whose highlight keys are kept


class Searcher:
    """A loaded index and the embedder that made it, ready to answer queries concurrently."""

    def __init__(
        self,
        index: StoredIndex,
        embedder: Embedder,
        ranking: Ranking = Ranking(),  # noqa: B008 (frozen: one shared default is safe)
        glossary: LazyGlossary | None = None,
        max_query_chars: int = MAX_QUERY_CHARS,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.ranking = ranking  # how its rankings are fused (search/fusion.py Ranking)
        self.glossary = glossary  # for highlights: which Japanese words an English question met
        self.max_query_chars = max_query_chars
        # A memory-mapped table: passages are decoded when a hit needs them, and filters and crowding
        # read its compact columns, so nothing here grows with the number of passages.
        self.passages = index.passages
        # Rows sharing a 具体的取組 share a group id, for crowding; other passages stand alone.
        self.groups = self.passages.column("group")
        self._surface_keys: dict[int, list[tuple[str, str]]] = {}  # highlight keys of recent hits
        self._glossed: dict[int, tuple] = {}  # and their glossed runs (index/glossary.py Glossary.glossed)

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
                f"unknown passage id {passage_id!r}; list the ids with `reform-search passages`"
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
            allowed &= self.passages.isin("document", named_documents(self.index.documents, documents))
        if years:
            allowed &= self.passages.isin("year", indexed_years(self.index.documents, years))
        return allowed

    def prepare(self, query: str, vector: np.ndarray | None = None) -> Prepared:
        """Check a query (empty: refused; too long: cut, `truncated` says so) and prepare its lexical
        side; its embedding is `vector` when given, else computed when a ranking first needs it."""
        checked = check_query(query, self.max_query_chars)
        embed = lambda text: self.embedder.embed_queries([text])[0]  # noqa: E731
        # ranked as read without its markup (`<b>窓口</b>` as 窓口: markup is no content), shown as typed
        read = " ".join(strip_markup(checked.text).split()) if has_markup(checked.text) else checked.text
        return Prepared(checked, self.lexical_query(read), embed, vector, read)

    def search(
        self,
        query: str | Prepared,
        top_k: int = 10,
        mode: str = "hybrid",
        allowed: np.ndarray | None = None,
    ) -> list[Hit]:
        """The best `top_k` passages for `query` (text, or prepared once for several rankings), best
        first, among the passages `allowed` lets through (a mask from Searcher.mask; None: all); none
        for a query without a content word ("の", "12345", markup), where no passage is nearer than
        another (search/labels.py has_content), as compare shows none."""
        q = query if isinstance(query, Prepared) else self.prepare(query)
        if not has_content(q.lexical.tokens, q.read):
            return []
        return self.hits(q, self.ranked(q, top_k, mode, allowed))

    def results(
        self, query: str, top_k: int = 10, mode: str = "hybrid", allowed: np.ndarray | None = None
    ) -> Results:
        """`search`'s hits with their query, and whether it had a content word (none found, and why)."""
        q = self.prepare(query)
        hits = tuple(self.search(q, top_k, mode, allowed))
        return Results(query, hits, has_content(q.lexical.tokens, q.read))

    def ranked(
        self,
        q: Prepared,
        top_k: int,
        mode: str = "hybrid",
        allowed: np.ndarray | None = None,
        demotion: float | None = None,
    ) -> list[tuple[int, float]]:
        """What `search` ranks, as (passage position, score) pairs, best first and crowded (by
        `demotion`; None: search/crowding.py's), before any passage is decoded: for callers that build
        hits of the few they keep."""
        ranked = self.fused(q, top_k, mode, allowed)
        return crowd(ranked, self.group_of([i for i, _ in ranked]), top_k, demotion=demotion)

    def fused(
        self, q: Prepared, top_k: int, mode: str = "hybrid", allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """The ranking `ranked` crowds, at least `top_k` deep (where as many are allowed), best first: for
        callers that re-score it and crowd what they keep themselves (crowded twice, a row sharing its
        initiative with two better ones had been demoted twice)."""
        if top_k <= 0:
            raise ValueError(f"top-k must be a positive number of hits, got {top_k}")
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of: {', '.join(MODES)}")
        n_allowed = allowed_count(allowed, len(self.passages), "make it with Searcher.mask from names")
        if n_allowed == 0:
            return []
        lexical = q.lexical
        # fetched as deep as asked; fused on the first CANDIDATES of each list alone, so that the first
        # hits are the same for every top_k (search/fusion.py convex)
        depth = min(n_allowed, max(CANDIDATES, top_k))
        if mode != "dense":  # the two lexical rankings: the query's Japanese words, its English words
            japanese = self.index.bm25.search(lexical.terms, depth, allowed)
            english = self.index.english.search(lexical.english, depth, allowed) if lexical.english else _NONE
        ranked: list[tuple[int, float]]
        if mode == "lexical":
            ranked = self._lexical(japanese, english, lexical)
        else:
            ids, scores = self._dense(q.vector, depth, allowed, pooled=mode != "dense")
            if mode == "dense":
                ranked = list(zip(ids.tolist(), scores.tolist(), strict=True))
            else:
                bridged = _NONE  # its Japanese words' glosses among the passages' English words
                if lexical.bridge:
                    bridged = self.index.english.search(lexical.bridge, depth, allowed)
                ranked = self._fuse((ids, scores), japanese, english, lexical, bridged)
        return ranked

    def _dense(
        self, vector: np.ndarray, depth: int, allowed: np.ndarray | None, pooled: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """The dense ranking, `depth` deep, raised by the passages' parts (`with_parts`). `pooled` (for
        fusion): its first CANDIDATES raised among themselves, as a list of CANDIDATES gives them, then
        the deeper ones in the order the index gives them (raised together with them, a deeper passage
        had moved into the fused pool; raised among themselves, one fetched only by a deeper list had
        moved ahead of them); else all raised together, best first."""
        ids, scores = self.index.dense.search(vector, depth, allowed)
        best = self.index.parts.best(ids, vector)
        if not pooled:
            return with_parts(ids, scores, best, self.ranking.part_weight)
        weight = self.ranking.part_weight
        head = with_parts(ids[:CANDIDATES], scores[:CANDIDATES], best[:CANDIDATES], weight)
        return np.concatenate([head[0], ids[CANDIDATES:]]), np.concatenate([head[1], scores[CANDIDATES:]])

    def group_of(self, positions: list[int]) -> dict[int, int]:
        """The crowding group of each passage position, as plain ints (crowding looks each one up many
        times)."""
        return dict(zip(positions, self.groups[positions].tolist(), strict=True))

    def hits(self, q: Prepared, ranked: Sequence[tuple[int, float]]) -> list[Hit]:
        """Hits of ranked (passage position, score) pairs, ranks from 1, with the words to highlight."""
        # its content words: a bare number (the 6 of 「6種類の…」) is marked nowhere, as the labels count it
        # nowhere: every report writes 6 in dates and counts, and a passage sharing only it answers nothing
        terms, english = set(content_terms(list(q.lexical.terms))), set(q.lexical.english)
        # The glossary is read on the first English question, not before.
        glossary = self.glossary.get() if english and self.glossary is not None else None
        bound = bound_singles(q.read)  # 館 of 児童館: marked within 児童館, not in 本館
        hits = []
        for rank, (i, s) in enumerate(ranked, 1):
            p = self.passages[i]
            found = self._matched(i, p.text, terms, english, glossary)
            hits.append(Hit(p, rank, s, tuple(joined_singles(p.text, found, bound))))
        return hits

    def lexical_query(self, text: str) -> LexicalQuery:
        """The BM25 side of a (checked) query (search/query.py read_lexical): glossed for the bridge
        only where it can meet something (convex fusion, a bridge weight, passages with English words)."""
        r = self.ranking
        bridging = r.bridge_weight > 0 and r.fusion == "convex" and len(self.index.english.terms) > 0
        return read_lexical(text, self.glossary, bridging)

    @staticmethod
    def _lexical(japanese, english, query: LexicalQuery) -> list[tuple[int, float]]:
        """The lexical ranking: BM25 scores of the one index the query meets, or both fused by the
        query's share of words in each language when it meets both."""
        if not len(english[0]) or not len(japanese[0]):
            ids, scores = japanese if len(japanese[0]) else english
            return list(zip(ids.tolist(), scores.tolist(), strict=True))
        fused = convex(_NONE, (japanese, query.share), (english, 1 - query.share), pool=CANDIDATES)
        # past the first CANDIDATES of each (convex fuses those alone), both lists' tails at 0, the
        # language of most of the query's words first: a deep search had stopped at 100 hits
        seen = {doc for doc, _ in fused}
        tails = (japanese, english) if query.share >= 0.5 else (english, japanese)
        tail = dict.fromkeys(int(i) for ids, _ in tails for i in ids[CANDIDATES:] if int(i) not in seen)
        return fused + [(i, 0.0) for i in tail]

    def _fuse(self, dense, japanese, english, query: LexicalQuery, bridged=_NONE) -> list[tuple[int, float]]:
        """Hybrid ranking of the dense candidates and the lexical ones: the query's Japanese words
        against the passages' Japanese words at `lexical_weight`, of which the English glosses of its
        Japanese words (`bridged`: met among the passages' English words) take `bridge_weight`, and its
        English words against the passages' English words at `english_weight`; each in proportion to
        its share of the query's words (a list without hits gives its weight back to the embedding)."""
        # RRF: the first CANDIDATES of each, then the rest in the embedding's order (as convex)
        if self.ranking.fusion == "rrf":
            rankings = [r[:CANDIDATES].tolist() for r in (dense[0], japanese[0], english[0])]
            fused = rrf(rankings, k=self.ranking.rrf_k, weights=[1.0, query.share, 1 - query.share])
            seen = {doc for doc, _ in fused}
            return fused + [(int(i), 0.0) for i in dense[0][CANDIDATES:] if int(i) not in seen]
        japanese_weight = self.ranking.lexical_weight * query.share
        beta = self.ranking.bridge_weight if len(bridged[0]) else 0.0
        return convex(
            dense,
            (japanese, japanese_weight * (1 - beta)),
            (bridged, japanese_weight * beta),
            (english, self.ranking.english_weight * (1 - query.share)),
            pool=CANDIDATES,
        )

    def _matched(
        self, i: int, text: str, terms: set[str], english: set[str], glossary: Glossary | None
    ) -> tuple[str, ...]:
        """The words of passage `i` to highlight: those sharing a token with the query, and those whose
        English glosses hold one of its English words."""
        # Tokenizing a passage for highlights costs more than the search itself; keep the result.
        keys = self._surface_keys.get(i)
        if keys is None:
            if len(self._surface_keys) >= SURFACE_CACHE:
                self._surface_keys.clear()  # bounded: memory stays flat however many queries come
            keys = self._surface_keys[i] = surface_keys(text)
        found = matched_terms(text, terms, keys)
        if glossary is not None:  # its glossed runs, read once per passage (Glossary.glossed)
            runs = self._glossed.get(i)
            if runs is None:
                if len(self._glossed) >= SURFACE_CACHE:
                    self._glossed.clear()
                runs = self._glossed[i] = glossary.glossed(keys)
            glossed = surfaces_of(runs, english)
            found = [s for s in dict.fromkeys(s for s, _ in keys) if s in glossed or s in found]
        return tuple(found)
