"""Choose a ranking constant by K-fold cross-validation over judgment files, and report the CV figure.

    python bench/tune.py fusion [--folds 5] [--queries F...]     the lexical weight (Japanese words)
    python bench/tune.py english [--folds 5] [--queries F...]    the weight of a question's English words
    python bench/tune.py english-bm25 [--folds 5] [--queries F...]  k1 and b of the English word bags
    python bench/tune.py bridge [--folds 5] [--queries F...]     the weight of a query's glossed words
    python bench/tune.py parts [--folds 5] [--queries F...]      the weight of a packed passage's sentences
    python bench/tune.py pairs [--folds 5] [--pairs F...]        how far counterparts lean to their source
    python bench/tune.py order [--folds 5] [--queries F...]      which passages a column shows first
    python bench/tune.py crowding [--folds 5] [--queries F...]   how far a third row of one initiative falls
    python bench/tune.py crowding-pairs [--folds 5] [--pairs F...]  the same for counterparts

`order` chooses PROMOTE (search/compare.py `reading_order`), which rests on the label model's
probabilities: fitted on these very judgments, they would flatter the held-out folds. So it is nested:
for each fold the label model is refitted without that fold's questions (bench/fit_labels.py), the
candidate is chosen on the other folds under that model and scored on the held-out fold.

For each fold, the candidate with the best mean objective (nDCG@10 + column recall@3, halved; for
pairs, hit@3; ties to the candidate listed first) on the other folds is chosen and scored on the
held-out fold; the report gives, per candidate, the whole-set measures, and the cross-validated
measures of the choice (the held-out folds' items pooled). A constant is worth shipping when its
cross-validated figure beats the current one, not only its whole-set figure.

Beside each candidate, its figures on the blind questions or pairs (bench/blind, `--blind`;
bench/judged.py): never chosen on, they tell whether a choice holds for judgments someone else wrote.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from judged import blind_files, judgment_files, required  # noqa: E402

from index.bm25 import BM25  # noqa: E402
from index.build import english_bags  # noqa: E402
from index.context import lexical_text  # noqa: E402
from index.tokenize import tokenize  # noqa: E402
from reform_search.settings import load_settings  # noqa: E402
from search.engine import Searcher  # noqa: E402
from search.evaluate import (  # noqa: E402
    QueryResult,
    assign_folds,
    pair_measures,
    query_measures,
    run_pairs,
    run_queries,
)
from search.judgments import read_judgments  # noqa: E402


def objective(results: Sequence[QueryResult]) -> float:
    """What a choice is made on: the mean of nDCG@10 and column recall@3."""
    m = query_measures(results)
    return (m["ndcg@10"] + m.get("column_recall@3", 0.0)) / 2


def pair_objective(results: Sequence) -> float:
    """What a counterpart constant is chosen on: hit@3 of the judged pairs."""
    return pair_measures(results)["hit@3"]


def cross_validate(
    per_candidate: dict[str, list], folds: int, measure: Callable[[Sequence], float] = objective
) -> tuple[list, list[str]]:
    """Held-out results of the choice made on the other folds, pooled; and the choice of each fold."""
    some = next(iter(per_candidate.values()))
    fold = assign_folds([r.id for r in some], folds)
    held: list = []
    chosen = []
    for f in range(folds):

        def train(name: str, f=f) -> float:
            return measure([r for r in per_candidate[name] if fold[r.id] != f])

        best = max(per_candidate, key=train)
        chosen.append(best)
        held.extend(r for r in per_candidate[best] if fold[r.id] == f)
    return held, chosen


def fusion_candidates() -> dict[str, Callable[[Searcher], None]]:
    """RRF as it was, and convex fusion at lexical weights 0 … 0.6."""
    out: dict[str, Callable[[Searcher], None]] = {
        "rrf": lambda s: setattr(s, "ranking", replace(s.ranking, fusion="rrf"))
    }
    for w in (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0):

        def apply(s: Searcher, w=w) -> None:
            s.ranking = replace(s.ranking, fusion="convex", lexical_weight=w)

        out[f"convex w={w}"] = apply
    return out


def english_candidates() -> dict[str, Callable[[Searcher], None]]:
    """English words leaning on the embedding alone, and meeting the passages' English words at
    weights 0.2 … 0.7."""
    out: dict[str, Callable[[Searcher], None]] = {}
    for w in (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
        out[f"English w={w}"] = lambda s, w=w: setattr(s, "ranking", replace(s.ranking, english_weight=w))
    return out


def english_bm25_candidates() -> dict[str, Callable[[Searcher], None]]:
    """The passages' English word bags (index/glossary.py) indexed with BM25's k1 and b over a grid."""
    out: dict[str, Callable[[Searcher], None]] = {}
    bags: list[list[str]] = []

    def apply(s: Searcher, k1: float, b: float) -> None:
        if not bags:  # read once: every passage's lexical tokens, glossed as a build glosses them
            bags.extend(english_bags(s.glossary.get(), [tokenize(lexical_text(p)) for p in s.passages]))
        s.index.english = BM25.build(bags, k1, b)

    for k1 in (0.6, 1.2, 2.0):
        for b in (0.5, 0.75, 0.9, 1.0):
            out[f"k1={k1} b={b}"] = lambda s, k1=k1, b=b: apply(s, k1, b)
    return out


def bridge_candidates() -> dict[str, Callable[[Searcher], None]]:
    """A Japanese query's words as typed only, and their English glosses met among the passages'
    English words at β = 0.1 … 0.5 of the Japanese words' weight."""
    out: dict[str, Callable[[Searcher], None]] = {}
    for w in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5):
        out[f"bridge β={w}"] = lambda s, w=w: setattr(s, "ranking", replace(s.ranking, bridge_weight=w))
    return out


def parts_candidates() -> dict[str, Callable[[Searcher], None]]:
    """Passages alone, and packed passages raised towards their best sentence by λ = 0.1 … 1."""
    out: dict[str, Callable[[Searcher], None]] = {}
    for w in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0):
        out[f"part λ={w}"] = lambda s, w=w: setattr(s, "ranking", replace(s.ranking, part_weight=w))
    return out


def pairs_candidates() -> dict[str, Callable[[Searcher], None]]:
    """Counterparts by their source's text alone, and leaning towards the source by γ = 0.1 … 0.5."""
    out: dict[str, Callable[[Searcher], None]] = {}
    for w in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5):
        out[f"source γ={w}"] = lambda s, w=w: setattr(s, "ranking", replace(s.ranking, source_weight=w))
    return out


CROWDING = (0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0)  # 1.0: no crowding beyond the first two


def crowding_candidates() -> dict[str, Callable[[Searcher], None]]:
    """How far a search's or a column's third row of one initiative and beyond is demoted (search/
    crowding.py DEMOTION), each earlier pick beyond the first two multiplying its score once more."""
    import search.crowding as crowding

    def apply(s: Searcher, d: float) -> None:
        crowding.DEMOTION = d

    return {f"demotion {d}": lambda s, d=d: apply(s, d) for d in CROWDING}


def crowding_pairs_candidates() -> dict[str, Callable[[Searcher], None]]:
    """The same for counterparts' columns (search/counterparts.py COUNTERPART_DEMOTION)."""
    import search.counterparts as counterparts

    def apply(s: Searcher, d: float) -> None:
        counterparts.COUNTERPART_DEMOTION = d

    return {f"demotion {d}": lambda s, d=d: apply(s, d) for d in CROWDING}


STUDIES = {
    "fusion": fusion_candidates,
    "english": english_candidates,
    "english-bm25": english_bm25_candidates,
    "bridge": bridge_candidates,
    "parts": parts_candidates,
    "pairs": pairs_candidates,
    "crowding": crowding_candidates,
    "crowding-pairs": crowding_pairs_candidates,
}


PROMOTE_GRID = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.01)  # 1.01: only the counted come first


def nested_order(
    searcher: Searcher,
    judged: Sequence[dict],
    query_files: Sequence[str],
    folds: int,
    blind: Sequence[dict] = (),
) -> None:
    """PROMOTE by nested cross-validation (module docstring); prints each candidate's held-out measures
    and the choice's."""
    import fit_labels

    import search.compare as comparing

    label_files = judgment_files("labels")
    exs = fit_labels.all_examples(searcher, query_files, label_files)
    fold = assign_folds([q["id"] for q in judged], folds)
    shipped, promote = comparing.shipped_model, comparing.PROMOTE
    results: dict[tuple[float, int], list] = {}
    try:
        for f in range(folds):
            model = fit_labels.fit([e for e in exs if not (e.group[0] == "q" and fold[e.group[1]] == f)])
            comparing.shipped_model = lambda model=model: model
            for t in PROMOTE_GRID:
                comparing.PROMOTE = t
                results[t, f] = run_queries(searcher, judged)
    finally:
        comparing.shipped_model, comparing.PROMOTE = shipped, promote
    for t in PROMOTE_GRID:
        held = [r for f in range(folds) for r in results[t, f] if fold[r.id] == f]
        print(f"PROMOTE {t:<5}", json.dumps({k: round(v, 3) for k, v in query_measures(held).items()}))
    held, chosen = [], []
    for f in range(folds):
        best = max(PROMOTE_GRID, key=lambda t: objective([r for r in results[t, f] if fold[r.id] != f]))
        chosen.append(best)
        held += [r for r in results[best, f] if fold[r.id] == f]
    print(
        f"cross-validated ({folds} folds)",
        json.dumps({k: round(v, 3) for k, v in query_measures(held).items()}),
    )
    print("chosen per fold:", ", ".join(map(str, chosen)))
    for t in PROMOTE_GRID if blind else ():  # under the shipped model; measured, never chosen on
        comparing.PROMOTE = t
        m = query_measures(run_queries(searcher, blind))
        print(f"blind PROMOTE {t:<5}", json.dumps({k: round(v, 3) for k, v in m.items()}))
    comparing.PROMOTE = promote


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("study", choices=sorted([*STUDIES, "order"]))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--queries", nargs="+", default=judgment_files("queries"))
    ap.add_argument("--pairs", nargs="+", default=judgment_files("pairs"))
    ap.add_argument(
        "--blind",
        nargs="*",
        default=blind_files("queries") + blind_files("pairs"),
        help="questions and pairs measured beside, never chosen on",
    )
    a = ap.parse_args()
    from reform_search.app import open_searcher

    kind = "pairs" if a.study in ("pairs", "crowding-pairs") else "queries"
    required(a.pairs if kind == "pairs" else a.queries, f"--{kind}")
    searcher = open_searcher(load_settings())
    blind = read_judgments([Path(p) for p in a.blind if Path(p).name.startswith(kind)], kind)
    if a.study == "order":
        judged = read_judgments([Path(p) for p in a.queries], "queries")
        nested_order(searcher, judged, a.queries, a.folds, blind)
        return
    if kind == "pairs":
        judged = read_judgments([Path(p) for p in a.pairs], "pairs")
        run, measures, measure = run_pairs, pair_measures, pair_objective
    else:
        judged = read_judgments([Path(p) for p in a.queries], "queries")
        run, measures, measure = run_queries, query_measures, objective
    per_candidate = {}
    for name, apply in STUDIES[a.study]().items():
        apply(searcher)
        per_candidate[name] = run(searcher, judged)
        m = measures(per_candidate[name])
        line = f"{name.ljust(16)} {json.dumps({k: round(v, 3) for k, v in m.items()})}"
        if blind:  # measured beside, never chosen on (bench/judged.py)
            b = measures(run(searcher, blind))
            line += f"  blind {json.dumps({k: round(v, 3) for k, v in b.items()})}"
        print(line)
    held, chosen = cross_validate(per_candidate, a.folds, measure)
    m = measures(held)
    print(f"cross-validated ({a.folds} folds)", json.dumps({k: round(v, 3) for k, v in m.items()}))
    print("chosen per fold:", ", ".join(chosen))


if __name__ == "__main__":
    main()
