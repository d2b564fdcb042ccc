"""Structure like real music: how bars and phrases come back, how alike bars are at each
distance, and which cadences close the phrases, per piece and per set, beside the spread of real
pieces (issue 13).

Bars are cadenza.plan.similarity's: a bar is the set of its notes (onset in the bar, pitch,
duration), all parts together, and two bars' similarity is their intersection over union
(Museformer's bar similarity, Yu et al. 2022). A piece's first MAX_BARS bars are measured.

Per piece:
- bar recurrence: the shares of the bars with notes that
  - `bar_exact`: equal an earlier bar;
  - `bar_transposed`: equal an earlier bar moved by a nonzero shift (within an octave less a
    semitone either way), and no earlier bar as it stands;
  - `bar_varied`: are neither, but have similarity >= VARIED (0.5) with an earlier bar at the
    best shift: at least half the notes of the two bars in common.
  A bar is counted once, under the first of these that holds.
- phrase recurrence, the same for phrases: the analyzer's (cadenza.plan.analyze) when one is
  given and finds some, else consecutive windows of PHRASE_BARS (4) bars. A phrase of L bars
  recurs when an earlier span of L bars (any start, ending before the phrase begins) has every
  bar equal to it (`phrase_exact`), every bar equal at one common nonzero shift
  (`phrase_transposed`), or a mean bar similarity at the best shifts >= VARIED
  (`phrase_varied`). Phrases of one bar or less are bars, already counted, and left out.
- the similarity curve: the mean similarity of bars t = 1..MAX_DISTANCE (16) apart, without
  transposition, as Museformer computes its "similarity distribution" (NaN where the piece is
  too short).
- `similarity_error`: Museformer's similarity error (Yu et al. 2022, "Museformer: Transformer
  with Fine- and Coarse-Grained Attention for Music Generation", NeurIPS 2022, arXiv:2210.10349,
  objective evaluation): SE = (1/T) sum_{t=1..T} |L_t - L^_t|, the mean absolute difference
  between the similarity curve L of generated music and L^ of the real (training) music. Per
  piece: the piece's curve against the reference set's mean curve, over the distances both have
  (a reference piece against the mean of the other reference pieces).
- cadence rates (when an analyzer is given): the shares of the piece's phrase ends whose
  cadence is authentic, imperfect, half, plagal, deceptive or none (cadenza.plan.form.CADENCES).
- form (when an analyzer is given), from the sections the analyzer finds (cadenza.plan.analyze:
  music that returns marks a new section): `sections`, how many; `section_returns`, the share
  of sections that return an earlier one (exact, varied or transposed); `section_end_cadence`,
  the share of sections whose last phrase ends in a cadence (any but none); and
  `section_end_authentic`, in an authentic one.

Per set: each measure's mean over pieces and its 10th-90th percentile; for the reference these
percentiles are the spread of real pieces, and every other set's mean is marked inside or
outside it (`inside`: the issue asks that generated music land inside). Where most real pieces
score 0 (few repeat a bar exactly) that spread starts at 0 and lets a set that never repeats
pass, so a second, stricter mark says whether the mean lies within the 10th-90th percentile of
the means of as many real pieces drawn at random (with replacement, SE_DRAWS draws):
`inside_sets`, between `sets_low` and `sets_high`. Where most real pieces score one value (the
spread is 0%-0%: no deceptive cadence; or 100%-100%: every section closed) a mean lies inside it
only if every piece scores that value, and random sets of 40 real pieces fail it 32% to 100% of
the time on such a measure (chorales against bach-chorales; folk tunes against their held-out
tunes and O'Neill's): there `inside` is the second mark (`inside_range`). Also per set: its mean curve, and the SE of
that curve against the mean curve of real pieces of its pieces' lengths (Museformer's SE, like
with like), beside the spread of that SE for sets of real pieces like it (random draws from the
same real pieces of each length, against the rest of them), since the SE of a small set is never
0, even for real music. Lengths matter: a curve is a mean over the pairs of bars a piece has, and
a 16-bar chorale's (a Stollen at distance 4, no pair 16 apart) is not a 40-bar one's: Bach's 40
chorales of 16 bars (a pickup's counted) against all of his chorales score an SE of 0.017, outside the 0.007-0.012 of
random sets of 40 of them, which mix lengths as the reference does. The real pieces of a
piece's length (`length_pools`; a piece's `length` is its bars less a pickup's) are those of
exactly its length where the reference has LENGTH_MATCHES of them, else those within the fewest
bars of it that do. A drawn real set takes at most half of each pool, so where pools are small
it is smaller than the set and its range a little lenient (sets of Bach's chorales of one
length, measured against the rest, land above the range 18 times in 240 draws, not the 24 of a
fair 10%).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from cadenza.plan.similarity import BarNotes, bar_notes, bar_similarity, best_shift, similarity_by_distance
from cadenza.score import Score, pickup_start, without_grace_notes

MAX_BARS = 64  # bars of a piece measured (bar similarity is quadratic in bars)
MAX_DISTANCE = 16  # bar distances of the similarity curve, 1..16
PHRASE_BARS = 4  # phrase windows when the analyzer finds no phrases
VARIED = 0.5  # similarity at the best shift from which a bar or phrase counts as a varied return
SPREAD = (10.0, 90.0)  # percentiles of the per-piece values: the spread of real pieces
SE_DRAWS = 200  # random sets of real pieces drawn for the spread of the set-level similarity error
LENGTH_MATCHES = 10  # real pieces at least that a piece's length is matched with (see the module docstring)
SEED = 0

RECURRENCE = ("bar_exact", "bar_transposed", "bar_varied", "phrase_exact", "phrase_transposed", "phrase_varied")
LABELS = {
    "bar_exact": "bars that repeat an earlier bar exactly",
    "bar_transposed": "bars that repeat an earlier bar transposed",
    "bar_varied": f"bars that vary an earlier bar (similarity >= {VARIED})",
    "phrase_exact": "phrases that repeat earlier music exactly",
    "phrase_transposed": "phrases that repeat earlier music transposed",
    "phrase_varied": f"phrases that vary earlier music (similarity >= {VARIED})",
    "similarity_error": "similarity error of the piece's curve (Museformer)",
    "sections": "sections (the analyzer's form)",
    "section_returns": "sections that return an earlier one (exact, varied or transposed)",
    "section_end_cadence": "section ends with a cadence",
    "section_end_authentic": "section ends with an authentic cadence",
}
FORM = ("sections", "section_returns", "section_end_cadence", "section_end_authentic")


def _cadence_names() -> tuple[str, ...]:
    from cadenza.plan.form import CADENCES

    return tuple(CADENCES)


def pair_matrices(bars: list[BarNotes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(plain, transposed, shift): every pair of bars' similarity as they stand
    (similarity.bar_similarity), at the best shift (similarity.best_shift), and that shift in
    semitones (0 for two equal or two empty bars)."""
    n = len(bars)
    plain = bar_similarity(bars)
    trans, shift = np.eye(n), np.zeros((n, n), dtype=int)
    for i in range(n):
        for j in range(i + 1, n):
            s, k = best_shift(bars[j], bars[i])  # the shift that moves bar i onto bar j
            trans[i, j] = trans[j, i] = s
            shift[i, j], shift[j, i] = k, -k
    return plain, trans, shift


def bar_recurrence(bars: list[BarNotes], trans: np.ndarray, shift: np.ndarray) -> dict[str, float]:
    """Shares of the bars with notes that repeat an earlier bar exactly, transposed, or varied
    (see the module docstring); NaN for a piece without notes."""
    counts = dict.fromkeys(("bar_exact", "bar_transposed", "bar_varied"), 0)
    filled = [i for i, b in enumerate(bars) if b]
    for i in filled:
        earlier = [j for j in range(i) if bars[j]]
        if not earlier:
            continue
        if any(bars[j] == bars[i] for j in earlier):
            counts["bar_exact"] += 1
        elif any(trans[i, j] >= 1.0 - 1e-9 and shift[i, j] != 0 for j in earlier):
            counts["bar_transposed"] += 1
        elif max(trans[i, j] for j in earlier) >= VARIED:
            counts["bar_varied"] += 1
    return {k: v / len(filled) if filled else math.nan for k, v in counts.items()}


def _span_relation(bars: list[BarNotes], trans: np.ndarray, shift: np.ndarray, s: int, j: int, length: int) -> str:
    """How bars s..s+length-1 relate to bars j..j+length-1: exact, transposed, varied or new."""
    pairs = [(s + o, j + o) for o in range(length)]
    if all(bars[a] == bars[b] for a, b in pairs):
        return "exact"
    shifts = {int(shift[a, b]) for a, b in pairs if bars[a] or bars[b]}
    if len(shifts) == 1 and 0 not in shifts and all(trans[a, b] >= 1.0 - 1e-9 for a, b in pairs):
        return "transposed"
    if float(np.mean([trans[a, b] for a, b in pairs])) >= VARIED:
        return "varied"
    return "new"


def phrase_recurrence(
    bars: list[BarNotes], trans: np.ndarray, shift: np.ndarray, spans: list[tuple[int, int]]
) -> dict[str, float]:
    """Shares of the phrases `spans` ((first bar, bars), longer than one bar, inside the piece)
    that repeat earlier music exactly, transposed, or varied (see the module docstring); NaN
    when there are none."""
    order = ("exact", "transposed", "varied")
    counts = dict.fromkeys(order, 0)
    spans = [(s, n) for s, n in spans if n > 1 and s >= 0 and s + n <= len(bars) and any(bars[s : s + n])]
    for s, n in spans:
        found = {_span_relation(bars, trans, shift, s, j, n) for j in range(0, s - n + 1)}
        for name in order:
            if name in found:
                counts[name] += 1
                break
    return {f"phrase_{k}": v / len(spans) if spans else math.nan for k, v in counts.items()}


def windows(n_bars: int, size: int = PHRASE_BARS) -> list[tuple[int, int]]:
    """Consecutive windows of `size` bars (the last one shorter)."""
    return [(s, min(size, n_bars - s)) for s in range(0, n_bars, size)]


def measure_piece(score: Score, analyze: Callable[[Score], Any] | None = None) -> dict:
    """One piece's structure measures (see the module docstring): the RECURRENCE shares,
    `curve` (MAX_DISTANCE similarities), `bars`, `phrases_from` ("analyzer" or "windows") and,
    with an analyzer, `cadences` (a share per cadence name; NaN when it finds no phrase ends)."""
    score = without_grace_notes(score)  # ornaments aside
    bars = bar_notes(score)[:MAX_BARS]
    plain, trans, shift = pair_matrices(bars)
    # its length in whole bars, for comparing like with like: a pickup's bar is not one
    out: dict[str, Any] = {"bars": len(bars), "length": max(1, len(bars) - int(pickup_start(score) > 0))}
    out.update(bar_recurrence(bars, trans, shift))
    phrases: list = []
    plan = None
    if analyze is not None:
        try:
            analysis = analyze(score)
            phrases, plan = list(analysis.phrases), getattr(analysis, "plan", None)
        except Exception as e:  # an analysis that fails leaves windows and no cadences, and says why
            out["analysis_error"] = f"{type(e).__name__}: {e}"
    spans = [(p.start_bar, p.end_bar - p.start_bar) for p in phrases]  # end_bar is exclusive
    if spans:
        out["phrases_from"] = "analyzer"
    else:
        spans, out["phrases_from"] = windows(len(bars)), "windows"
    out.update(phrase_recurrence(bars, trans, shift, spans))
    out["curve"] = similarity_by_distance(plain, MAX_DISTANCE).tolist()
    if analyze is not None:
        names = _cadence_names()
        ends = [p.cadence for p in phrases]
        out["cadences"] = {c: (ends.count(c) / len(ends) if ends else math.nan) for c in names}
    if plan is not None and plan.sections:
        n = len(plan.sections)
        last = [s.cadences[-1] if s.cadences else "none" for s in plan.sections]
        out["form"] = {
            "sections": float(n),
            "section_returns": sum(1 for i in range(n) if plan.relation(i) != "new") / n,
            "section_end_cadence": sum(1 for c in last if c != "none") / n,
            "section_end_authentic": last.count("authentic") / n,
        }
    return out


# ---------------------------------------------------------------------------------------------
# sets


def mean_curve(curves: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """(MAX_DISTANCE,) the mean over pieces at each distance, weighted by `weights` (one per
    piece; default equal), NaN where no piece of positive weight reaches it."""
    curves = np.asarray(curves, dtype=float).reshape(-1, MAX_DISTANCE)
    w = np.ones(len(curves)) if weights is None else np.asarray(weights, dtype=float)
    have = ~np.isnan(curves)
    total = (np.where(have, curves, 0.0) * w[:, None]).sum(axis=0)
    mass = (have * w[:, None]).sum(axis=0)
    return np.where(mass > 0, total / np.where(mass > 0, mass, 1.0), np.nan)


def similarity_error(curve: np.ndarray, reference: np.ndarray) -> float:
    """Museformer's SE: the mean over distances of |curve - reference|, over the distances both
    define; NaN when they share none."""
    d = np.abs(np.asarray(curve, dtype=float) - np.asarray(reference, dtype=float))
    d = d[~np.isnan(d)]
    return float(d.mean()) if len(d) else math.nan


def piece_errors(curves: np.ndarray, reference_curves: np.ndarray | None) -> list[float]:
    """Each piece's SE against the reference's mean curve; with no reference given, the pieces
    are the reference, and each is compared with the mean of the others."""
    curves = np.asarray(curves, dtype=float).reshape(-1, MAX_DISTANCE)
    if reference_curves is not None:
        ref = mean_curve(reference_curves)
        return [similarity_error(c, ref) for c in curves]
    have = ~np.isnan(curves)
    total, n = np.where(have, curves, 0.0).sum(axis=0), have.sum(axis=0)
    out = []
    for c, h in zip(curves, have):
        rest_n = n - h
        rest = np.where(rest_n > 0, (total - np.where(h, c, 0.0)) / np.maximum(rest_n, 1), np.nan)
        out.append(similarity_error(c, rest))
    return out


def length_matches(bars: int, reference_bars: np.ndarray, least: int = LENGTH_MATCHES) -> np.ndarray:
    """Indices of the reference pieces like a piece of `bars` bars in length: those within the
    smallest tolerance (in bars) that finds `least` of them (all of them, with fewer pieces):
    the pieces of exactly its length wherever the reference has `least` of them."""
    gap = np.abs(np.asarray(reference_bars) - bars)
    if not len(gap):
        return np.zeros(0, dtype=int)
    tol = np.sort(gap)[min(least, len(gap)) - 1]
    return np.flatnonzero(gap <= tol)


def length_pools(bars: Sequence[int], reference_bars: np.ndarray) -> dict[int, np.ndarray]:
    """Per length in a set, its length_matches among the reference pieces."""
    return {n: length_matches(n, reference_bars) for n in sorted(set(bars))}


def matched_curve(
    curves: np.ndarray, counts: dict[int, int], pools: dict[int, np.ndarray], left_out: np.ndarray | None = None
) -> np.ndarray:
    """The mean curve of the reference pieces (`curves`) weighted to a set's lengths: the set's
    `counts[n]` pieces of n bars spread their weight evenly over `pools[n]` (length_pools), less
    the pieces `left_out` (a mask). NaN where no weighted piece reaches a distance, or no piece
    is left in a pool."""
    weights = np.zeros(len(curves))
    for n, pool in pools.items():
        if left_out is not None:
            pool = pool[~left_out[pool]]
        if len(pool):
            weights[pool] += counts.get(n, 0) / len(pool)
    return mean_curve(curves, weights)


def error_spread(
    reference_curves: np.ndarray,
    counts: dict[int, int],
    pools: dict[int, np.ndarray],
    draws: int = SE_DRAWS,
    seed: int = SEED,
) -> dict:
    """The SE of sets of real pieces like a set with `counts[n]` pieces of n bars: per draw and
    length, as many pieces from its pool (`pools`, as the set is compared with) as the set has
    of that length, but at most half the pool, without putting a piece in twice; their mean
    curve against the rest of the same pools (matched_curve). Its SPREAD percentiles and
    median over random draws, and `size`, the pieces a drawn set has (fewer than the set's
    where its pools are small: a smaller set's SE runs larger, so the range is then more
    lenient). NaN with too few pieces."""
    curves = np.asarray(reference_curves, dtype=float).reshape(-1, MAX_DISTANCE)
    nan = {"size": 0, "low": math.nan, "median": math.nan, "high": math.nan}
    takes = {n: min(counts[n], len(pools[n]) // 2) for n in pools}
    size = sum(takes.values())
    if size < 1:
        return nan
    rng = np.random.default_rng(seed)
    errors = []
    for _ in range(draws):
        pick = np.zeros(len(curves), dtype=bool)
        for n, pool in pools.items():
            free = pool[~pick[pool]]
            pick[rng.choice(free, min(takes[n], len(free)), replace=False)] = True
        errors.append(similarity_error(mean_curve(curves[pick]), matched_curve(curves, counts, pools, pick)))
    e = np.array([x for x in errors if not math.isnan(x)])
    if not len(e):
        return nan
    lo, med, hi = np.percentile(e, [SPREAD[0], 50.0, SPREAD[1]])
    return {"size": int(pick.sum()), "low": float(lo), "median": float(med), "high": float(hi)}


def _stats(values: list[float]) -> dict:
    v = np.array([x for x in values if not math.isnan(x)], dtype=float)
    if not len(v):
        return {"mean": math.nan, "low": math.nan, "high": math.nan, "n": 0, "values": []}
    lo, hi = np.percentile(v, SPREAD)
    return {"mean": float(v.mean()), "low": float(lo), "high": float(hi), "n": int(len(v)), "values": v.tolist()}


def summarize(pieces: list[dict], reference: list[dict] | None = None) -> dict:
    """A set's structure: per measure its mean, SPREAD percentiles (`low`, `high`) and per-piece
    values; beside a reference, whether the mean lies `inside` the reference's spread. Also the
    mean `curve` (with the SPREAD percentiles per distance), `similarity_error` of the mean curve
    against the reference pieces' of its lengths with `error_spread` for real sets like it, and
    the `phrases_from` counts. (Each piece's own similarity_error compares it with every
    reference piece.)"""
    curves = np.array([p["curve"] for p in pieces], dtype=float).reshape(-1, MAX_DISTANCE)
    ref_curves = (
        np.array([p["curve"] for p in reference], dtype=float).reshape(-1, MAX_DISTANCE)
        if reference is not None
        else None
    )
    values: dict[str, list[float]] = {k: [p[k] for p in pieces] for k in RECURRENCE}
    values["similarity_error"] = piece_errors(curves, ref_curves)
    with_cadences = [p for p in pieces if "cadences" in p]
    for c in _cadence_names() if with_cadences else ():
        values[f"cadence_{c}"] = [p["cadences"][c] for p in with_cadences]
    with_form = [p for p in pieces if "form" in p]
    for k in FORM if with_form else ():
        values[k] = [p["form"][k] for p in with_form]
    measures = {k: _stats(v) for k, v in values.items()}
    if reference is not None:
        ref_summary = summarize(reference)
        rng = np.random.default_rng(SEED)
        for k, m in measures.items():
            r = ref_summary["measures"].get(k)
            if not r or not r["n"] or math.isnan(m["mean"]):
                m["inside"] = m["inside_sets"] = None
                continue
            means = rng.choice(np.array(r["values"]), size=(SE_DRAWS, m["n"]), replace=True).mean(axis=1)
            m["sets_low"], m["sets_high"] = (float(x) for x in np.percentile(means, SPREAD))
            m["inside_sets"] = bool(m["sets_low"] - 1e-9 <= m["mean"] <= m["sets_high"] + 1e-9)
            lo, hi, _ = inside_range(m, r)  # real sets' means where real pieces score one value
            m["inside"] = bool(lo - 1e-9 <= m["mean"] <= hi + 1e-9)
    with np.errstate(all="ignore"):
        have = ~np.isnan(curves)
        low = [
            float(np.percentile(curves[have[:, t], t], SPREAD[0])) if have[:, t].any() else math.nan
            for t in range(MAX_DISTANCE)
        ]
        high = [
            float(np.percentile(curves[have[:, t], t], SPREAD[1])) if have[:, t].any() else math.nan
            for t in range(MAX_DISTANCE)
        ]
    out: dict[str, Any] = {
        "pieces": len(pieces),
        "measures": measures,
        "curve": {"mean": mean_curve(curves).tolist(), "low": low, "high": high},
        "phrases_from": {src: sum(1 for p in pieces if p["phrases_from"] == src) for src in ("analyzer", "windows")},
        "cadences_measured": bool(with_cadences),
        "analysis_errors": sum(1 for p in pieces if "analysis_error" in p),
    }
    if ref_curves is not None and reference is not None:
        counts = Counter(int(p["length"]) for p in pieces)
        pools = length_pools(list(counts), np.array([int(p["length"]) for p in reference]))
        out["similarity_error"] = similarity_error(mean_curve(curves), matched_curve(ref_curves, counts, pools))
        out["error_spread"] = error_spread(ref_curves, counts, pools)
        e = out["similarity_error"]
        s = out["error_spread"]
        out["similarity_error_inside"] = bool(e <= s["high"]) if not (math.isnan(e) or math.isnan(s["high"])) else None
    return out


def _one_value(reference_measure: dict) -> bool:
    """Whether most real pieces (10th to 90th percentile) score one value on a measure."""
    return bool(reference_measure["high"] - reference_measure["low"] < 1e-9)


def inside_range(measure: dict, reference_measure: dict) -> tuple[float, float, str]:
    """The range a set's mean is marked `inside` against: the spread of single real pieces, or
    where that is one value, the spread of the means of as many real pieces ("real sets")."""
    if _one_value(reference_measure) and "sets_low" in measure:
        return measure["sets_low"], measure["sets_high"], "real sets"
    return reference_measure["low"], reference_measure["high"], "real"


def measure_names(summary: dict) -> list[str]:
    """The measures of a summary in report order."""
    return [k for k in (*RECURRENCE, "similarity_error") if k in summary["measures"]] + [
        k for k in summary["measures"] if k.startswith("cadence_") or k in FORM
    ]


def label(name: str) -> str:
    if name.startswith("cadence_"):
        return (
            f"phrase ends: {name[len('cadence_') :]} cadence" if name != "cadence_none" else "phrase ends: no cadence"
        )
    return LABELS.get(name, name.replace("_", " "))


def inside_count(summary: dict, mark: str = "inside") -> tuple[int, int]:
    """(measures whose mean lies inside the reference's spread, measures compared); with
    mark="inside_sets", within the means of as many real pieces."""
    marks = [m.get(mark) for m in summary["measures"].values()]
    return sum(1 for x in marks if x), sum(1 for x in marks if x is not None)
