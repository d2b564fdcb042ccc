"""What a listener hears, as numbers: one Score -> a dict of measures (all floats, NaN where a
measure does not apply), plus the pitch-class histogram and the bar self-similarity matrix.

Groups (names in the returned dict):
- pitch and harmony: pc_entropy (bits), in_key_share, pitch_range, polyphony, chords_per_bar
  (harmonic rhythm), with `chords` kept for the vocabulary comparison in cadenza.evaluate.report;
- the music-theory checks of Magenta's RL Tuner (Jaques et al. 2017) on the top line:
  starts_on_tonic, leaps_resolved, excessive_repetition, autocorrelation_1..3,
  unique_highest, unique_lowest (shares of 4-bar phrases);
- voice leading (2-4 parts): parallels_per_bar, crossings_per_bar, wide_spacings_per_bar,
  out_of_range_per_bar (4 parts);
- rhythm: onsets_per_bar, mean_ioi_beats, empty_beat_rate, groove_consistency (Wu & Yang 2020);
- structure: recurring_exact, recurring_transposed, recurring_varied (shares of bars that come
  back later), cadence_share (phrase ends on a root-position tonic or dominant chord).
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from cadenza.score import Key, Note, Score, without_grace_notes
from cadenza.theory import cadence_chords, estimate_key, phrase_ends, scale, top_line

STEPS_PER_BEAT = 4


def sounding_grid(notes: list[Note], n_steps: int) -> list[list[int]]:
    """[step] -> pitches sounding, on a sixteenth-note grid."""
    grid: list[list[int]] = [[] for _ in range(n_steps)]
    for n in notes:
        a = int(n.start_beats * STEPS_PER_BEAT + 0.5)
        b = max(a + 1, int(n.end_beats * STEPS_PER_BEAT + 0.5))
        for s in range(a, min(b, n_steps)):
            grid[s].append(n.pitch)
    return grid


def relative_chord(pitches: list[int], key: Key) -> tuple | None:
    """A chord as pitch classes relative to the tonic, with the mode; None under three classes."""
    classes = frozenset((p - key.tonic) % 12 for p in pitches)
    return (key.mode, tuple(sorted(classes))) if len(classes) >= 3 else None


def is_cadence_chord(pitches: list[int], key: Key) -> bool:
    """Root position of a chord a phrase closes on (score.cadence_chords): tonic or dominant."""
    if not pitches:
        return False
    bass, classes = min(pitches) % 12, {p % 12 for p in pitches}
    return any(bass == root and classes <= chord for root, chord in cadence_chords(key))


def measure_piece(score: Score) -> dict:
    """Every measure of one piece (see the module docstring), plus `pc_histogram` (12 shares),
    `chords` (Counter of relative chords) and `ssm` (bars x bars similarity)."""
    score = without_grace_notes(score)  # ornaments aside
    notes = [n for p in score.parts if not p.is_drum for n in p.notes]
    out: dict = {}
    if not notes:
        raise ValueError("no pitched notes")
    key = score.key or estimate_key(notes)
    bar_beats = score.meter.bar_beats or 4.0
    n_bars = max(1, math.ceil(score.end_beats / bar_beats - 1e-9))
    n_steps = int(round(n_bars * bar_beats * STEPS_PER_BEAT))
    grid = sounding_grid(notes, n_steps)

    hist = np.bincount([n.pitch % 12 for n in notes], minlength=12).astype(float)
    hist /= hist.sum()
    out["pc_histogram"] = hist.tolist()
    nz = hist[hist > 0]
    out["pc_entropy"] = float(-(nz * np.log2(nz)).sum())
    out["in_key_share"] = sum(n.pitch % 12 in scale(key) for n in notes) / len(notes)
    pitches = [n.pitch for n in notes]
    out["pitch_range"] = float(max(pitches) - min(pitches))
    busy = [len(set(g)) for g in grid if g]
    out["polyphony"] = float(np.mean(busy)) if busy else 0.0

    beats = [grid[int(b * STEPS_PER_BEAT)] for b in range(int(n_bars * bar_beats))]
    chords = [relative_chord(g, key) for g in beats]
    out["chords"] = Counter(c for c in chords if c)
    changes = sum(1 for a, b in zip(chords, chords[1:]) if b and a != b)
    out["chords_per_bar"] = changes / n_bars

    out.update(_melody_measures(top_line(notes), key, bar_beats))
    out.update(_voice_leading(score, n_bars))
    out.update(_rhythm(notes, grid, n_bars, bar_beats))
    out.update(_structure(notes, grid, n_bars, bar_beats, key, score))
    return out


def _melody_measures(line: list[Note], key: Key, bar_beats: float) -> dict:
    pitches = np.array([n.pitch for n in line], dtype=float)
    out = {"starts_on_tonic": float(line[0].pitch % 12 == key.tonic)}
    steps = np.diff(pitches)
    leaps = [i for i in range(len(steps) - 1) if abs(steps[i]) > 7]  # larger than a fifth
    resolved = [i for i in leaps if 0 < abs(steps[i + 1]) <= 2 and np.sign(steps[i + 1]) != np.sign(steps[i])]
    out["leaps_resolved"] = len(resolved) / len(leaps) if leaps else math.nan
    run, repeated = 1, 0
    for a, b in zip(pitches, pitches[1:]):
        run = run + 1 if a == b else 1
        repeated += run > 4  # RL Tuner: no note more than four times in a row
    out["excessive_repetition"] = repeated / len(pitches)
    centered = pitches - pitches.mean()
    denom = float((centered**2).sum())
    for lag in (1, 2, 3):
        out[f"autocorrelation_{lag}"] = (
            float((centered[:-lag] * centered[lag:]).sum()) / denom if denom and len(pitches) > lag else math.nan
        )
    phrase_beats = 4 * bar_beats
    highs = lows = phrases = 0
    for k in range(int(max(n.end_beats for n in line) // phrase_beats) + 1):
        ps = [n.pitch for n in line if k * phrase_beats <= n.start_beats < (k + 1) * phrase_beats]
        if len(ps) < 2:
            continue
        phrases += 1
        highs += ps.count(max(ps)) == 1
        lows += ps.count(min(ps)) == 1
    out["unique_highest"] = highs / phrases if phrases else math.nan
    out["unique_lowest"] = lows / phrases if phrases else math.nan
    return out


def _voice_leading(score: Score, n_bars: int) -> dict:
    from cadenza.evaluate.voice_leading import measure

    parts = score.pitched_parts
    names = ("parallels_per_bar", "crossings_per_bar", "wide_spacings_per_bar", "out_of_range_per_bar")
    if not 2 <= len(parts) <= 4:
        return {k: math.nan for k in names}
    s = measure(score, n_voices=len(parts))
    out_of_range = (s.notes - s.in_range) / n_bars if len(parts) == 4 else math.nan
    return dict(
        zip(
            names,
            (
                (s.parallel_fifths + s.parallel_octaves) / n_bars,
                s.crossings / n_bars,
                s.wide_spacings / n_bars,
                out_of_range,
            ),
        )
    )


def _rhythm(notes: list[Note], grid, n_bars: int, bar_beats: float) -> dict:
    onsets = sorted({round(n.start_beats * STEPS_PER_BEAT) for n in notes})
    iois = np.diff(onsets) / STEPS_PER_BEAT
    n_beats = int(n_bars * bar_beats)
    empty = sum(
        1 for b in range(n_beats) if not any(grid[s] for s in range(b * STEPS_PER_BEAT, (b + 1) * STEPS_PER_BEAT))
    )
    per_bar = int(round(bar_beats * STEPS_PER_BEAT))
    patterns = np.zeros((n_bars, per_bar), dtype=bool)
    for s in onsets:
        if s < n_bars * per_bar:
            patterns[s // per_bar, s % per_bar] = True
    hamming = [np.mean(patterns[i] != patterns[i + 1]) for i in range(n_bars - 1)]
    return {
        "onsets_per_bar": len(onsets) / n_bars,
        "mean_ioi_beats": float(iois.mean()) if len(iois) else math.nan,
        "empty_beat_rate": empty / max(1, n_beats),
        "groove_consistency": 1 - float(np.mean(hamming)) if hamming else math.nan,
    }


def bar_contents(notes: list[Note], n_bars: int, bar_beats: float) -> list[tuple]:
    """Each bar as a sorted tuple of (onset step in the bar, pitch, length in steps)."""
    bars: list[list] = [[] for _ in range(n_bars)]
    for n in notes:
        b = min(n_bars - 1, int(n.start_beats // bar_beats + 1e-9))
        bars[b].append(
            (round((n.start_beats - b * bar_beats) * STEPS_PER_BEAT), n.pitch, round(n.duration_beats * STEPS_PER_BEAT))
        )
    return [tuple(sorted(b)) for b in bars]


def _structure(notes, grid, n_bars: int, bar_beats: float, key: Key, score: Score) -> dict:

    per_bar = int(round(bar_beats * STEPS_PER_BEAT))
    chroma = np.zeros((n_bars, 12 + per_bar))
    for s, g in enumerate(grid):
        for p in g:
            chroma[min(n_bars - 1, s // per_bar), p % 12] += 1
    for n in notes:
        s = round(n.start_beats * STEPS_PER_BEAT)
        if s < n_bars * per_bar:
            chroma[s // per_bar, 12 + s % per_bar] += 1
    norms = np.linalg.norm(chroma, axis=1)
    unit = chroma / np.where(norms > 0, norms, 1)[:, None]
    ssm = unit @ unit.T
    contents = bar_contents(notes, n_bars, bar_beats)
    exact = transposed = varied = counted = 0
    for i in range(n_bars):
        if not contents[i]:
            continue
        counted += 1
        later = range(i + 1, n_bars)
        if any(contents[j] == contents[i] for j in later):
            exact += 1
        elif any(_transposed(contents[i], contents[j]) for j in later):
            transposed += 1
        elif any(ssm[i, j] > 0.9 for j in later):
            varied += 1
    line = top_line(notes)
    ends = phrase_ends(line, score.meter)
    cadences = sum(is_cadence_chord(grid[min(len(grid) - 1, round(x.start_beats * STEPS_PER_BEAT))], key) for x in ends)
    return {
        "recurring_exact": exact / max(1, counted),
        "recurring_transposed": transposed / max(1, counted),
        "recurring_varied": varied / max(1, counted),
        "cadence_share": cadences / len(ends) if ends else math.nan,
        "ssm": ssm.tolist(),
    }


def _transposed(a: tuple, b: tuple) -> bool:
    if len(a) != len(b) or not a:
        return False
    shift = b[0][1] - a[0][1]
    return shift != 0 and all(x[0] == y[0] and x[2] == y[2] and y[1] - x[1] == shift for x, y in zip(a, b))


SCALARS = (
    "pc_entropy",
    "in_key_share",
    "pitch_range",
    "polyphony",
    "chords_per_bar",
    "starts_on_tonic",
    "leaps_resolved",
    "excessive_repetition",
    "autocorrelation_1",
    "autocorrelation_2",
    "autocorrelation_3",
    "unique_highest",
    "unique_lowest",
    "parallels_per_bar",
    "crossings_per_bar",
    "wide_spacings_per_bar",
    "out_of_range_per_bar",
    "onsets_per_bar",
    "mean_ioi_beats",
    "empty_beat_rate",
    "groove_consistency",
    "recurring_exact",
    "recurring_transposed",
    "recurring_varied",
    "cadence_share",
)
