"""How alike a piece's bars are: the measure the analyzer finds repeats with and evaluation
compares structure by.

A bar is the set of its notes as (onset within the bar, pitch, duration), in beats; two bars'
similarity is the share of notes they hold in common (intersection over union), the bar
similarity of Museformer (Yu et al. 2022, "Museformer: Transformer with Fine- and
Coarse-Grained Attention for Music Generation", section 3.1). Identical bars score 1, bars with
nothing in common 0, two empty bars 1. Transposed, the best shift of one bar's pitches counts.
"""

from __future__ import annotations

import math

import numpy as np

from cadenza.score import Score

BarNotes = frozenset[tuple[float, int, float]]


def bar_notes(score: Score, bar_beats: float | None = None) -> list[BarNotes]:
    """Each bar's notes (onset in the bar, pitch, duration), bars of `bar_beats` (default: the
    first meter's) counted from beat 0; drums left out, a note belongs to the bar it starts in."""
    size = bar_beats or score.meter.bar_beats
    n = max(1, math.ceil(score.end_beats / size - 1e-9))
    bars: list[set[tuple[float, int, float]]] = [set() for _ in range(n)]
    for part in score.parts:
        if part.is_drum:
            continue
        for x in part.notes:
            b = min(int(x.start_beats / size + 1e-9), n - 1)
            bars[b].add((round(x.start_beats - b * size, 3), x.pitch, round(x.duration_beats, 3)))
    return [frozenset(b) for b in bars]


def jaccard(a: frozenset, b: frozenset) -> float:
    """The share of their members two sets hold in common (intersection over union); 1 for two
    empty sets."""
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def shifted(bar: BarNotes, semitones: int) -> BarNotes:
    return frozenset((t, p + semitones, d) for t, p, d in bar)


def best_shift(a: BarNotes, b: BarNotes, reach: int = 11) -> tuple[float, int]:
    """(similarity, semitones) of `b` moved by the shift within +-reach that makes it most like
    `a`; ties go to the smallest move."""
    best = (jaccard(a, b), 0)
    if not a or not b:
        return best
    for k in sorted(range(-reach, reach + 1), key=abs):
        s = jaccard(a, shifted(b, k))
        if s > best[0] + 1e-12:
            best = (s, k)
    return best


def bar_similarity(bars: list[BarNotes], transposed: bool = False) -> np.ndarray:
    """(bars, bars) similarities; with `transposed`, each pair at its best shift."""
    n = len(bars)
    sim = np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            sim[i, j] = sim[j, i] = best_shift(bars[i], bars[j])[0] if transposed else jaccard(bars[i], bars[j])
    return sim


def similarity_by_distance(sim: np.ndarray, max_distance: int) -> np.ndarray:
    """(max_distance,) the mean similarity of bars 1, 2, ... max_distance apart (nan where the
    piece is too short)."""
    n = sim.shape[0]
    return np.array([np.mean(np.diag(sim, d)) if d < n else np.nan for d in range(1, max_distance + 1)])
