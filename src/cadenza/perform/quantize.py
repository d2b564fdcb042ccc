"""A performance read as a score: beats tracked, the meter guessed, notes put on the grid.

A MIDI file recorded from a digital piano has its notes in seconds (its ticks follow a nominal
tempo, usually 120 bpm, that has nothing to do with the music). Before a model can continue it,
its notes must stand on beats and in bars. `is_performance` tells such a file from a score;
`quantized` turns it into one:

1. **Onset strength**: each note adds its velocity at its onset, on frames of FRAME_S seconds,
   smoothed over SMOOTH_S.
2. **Tempo**: the autocorrelation of that envelope, over beat periods of 0.3 to 1.2 s, weighted
   by a log-Gaussian preference around 0.6 s (100 bpm), one octave wide (Ellis 2007, "Beat
   tracking by dynamic programming", J. New Music Research 36(1), section 3.2).
3. **Beats**: Ellis' dynamic programme: each frame's best score is its onset strength plus the
   best earlier beat's score, less TIGHTNESS times the squared log ratio of the interval to the
   period, so the beats follow the music's tempo as it moves; the best last beat is traced back.
4. **Subdivision**: for each beat, whether its onsets fit a grid of 4 (sixteenths) or of 3
   (triplet eighths) better; a piece where most beats with onsets are in threes is in a
   compound meter (its beat a dotted quarter: 6/8, 9/8 or 12/8).
5. **Meter**: bars of 2, 3 or 4 beats, and where the first downbeat falls: the grouping and
   phase whose downbeats carry the most weight (velocity, length, and notes in the bass) against
   the other beats, 4 over 2 when they tie (within TIE).
6. **Notes** (and the sustain pedal) are carried to beats by the tracked beats (linear between
   them, extrapolated at the ends) and rounded to their beat's grid; a note keeps at least one
   step. The result has one tempo, the median beat's, and the file's velocities.

It is a heuristic, measured on ASAP's performances against their beat annotations by
benchmarks/quantize_quality.py; a rubato-heavy performance may come back a level off (half or
double the tempo) or with its bar lines shifted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from cadenza.score import Key, Meter, Note, Pedal, Score, Tempo, beats_to_seconds

FRAME_S = 0.01
SMOOTH_S = 0.02
MIN_PERIOD_S, MAX_PERIOD_S = 0.3, 1.2
PREFERRED_PERIOD_S = 0.6
TIGHTNESS = 20.0  # chosen on 12 of ASAP's validation performances: beat F 0.54, 0.60, 0.62, 0.59 at 2, 6, 20, 60
ON_GRID = 0.5  # a file with at least this share of onsets on a 1/12 or 1/16 quarter grid is a score
TIE = 0.05  # downbeat contrasts closer than this count as equal
BASS = 55  # notes below G3 weigh on the downbeat


def is_performance(score: Score) -> bool:
    """Whether `score`'s notes lie off any score grid (fewer than ON_GRID of its onsets on a
    1/12 or 1/16 quarter-note grid): a recorded performance, not a written score."""
    onsets = np.array([n.start_beats for n in score.notes()])
    if len(onsets) < 8:
        return False
    on = np.zeros(len(onsets), dtype=bool)
    for grid in (12, 16):
        on |= np.abs(onsets * grid - np.round(onsets * grid)) < 0.02
    return float(on.mean()) < ON_GRID


@dataclass
class Found:
    """What `quantized` found in a performance."""

    tempo_bpm: float  # quarter notes per minute, of the median beat
    meter: Meter
    beat_seconds: np.ndarray  # the tracked beats, in the performance's seconds

    def describe(self) -> str:
        return f"{self.meter} at {self.tempo_bpm:g} bpm, {len(self.beat_seconds)} beats tracked"


def quantized(score: Score) -> tuple[Score, Found]:
    """(`score` with its notes on tracked beats, in the meter found; what was found). See the
    module docstring."""
    notes = [n for p in score.parts for n in p.notes]
    onsets = np.array([beats_to_seconds(n.start_beats, score.tempos) for n in notes])
    weights = np.array([n.velocity / 127.0 for n in notes])
    env = _envelope(onsets, weights)
    period = _period(env)
    beats = _track(env, period) * FRAME_S
    if len(beats) < 4:  # too short to track: a steady beat at the period found
        beats = np.arange(onsets.min(), onsets.max() + period * FRAME_S, period * FRAME_S)

    def beat_of(t):
        return _to_beats(np.asarray(t, dtype=np.float64), beats)

    positions = beat_of(onsets)
    compound = _threes(positions) > 0.5
    per_beat = 3 if compound else 4
    ends = beat_of(np.array([beats_to_seconds(n.end_beats, score.tempos) for n in notes]))
    grid = _grids(positions, compound)
    weight = np.array([n.velocity / 127.0 * (1.0 + (n.pitch < BASS)) for n in notes]) * np.clip(
        ends - positions, 0.25, 2
    )
    per_bar, start = _meter(positions, weight)  # start: the first downbeat, in tracked beats
    quarters = 1.5 if compound else 1.0  # one tracked beat in quarter notes

    def place(x: float, k: int) -> float:
        return round((x - start) * k) / k * quarters

    parts = []
    i = 0
    for p in score.parts:
        out: list[Note] = []
        for n in p.notes:  # notes[i], in the same order
            k = grid.get(int(math.floor(positions[i])), per_beat)
            a = place(positions[i], k)
            b = max(place(ends[i], k), a + quarters / k)
            out.append(replace(n, start_beats=a, duration_beats=b - a))
            i += 1
        pedals = []
        for ped in p.pedals:
            a_s, b_s = beats_to_seconds(ped.start_beats, score.tempos), beats_to_seconds(ped.end_beats, score.tempos)
            a, b = (place(float(x), per_beat) for x in beat_of([a_s, b_s]))
            if b > a:
                pedals.append(Pedal(a, b - a))
        parts.append(replace(p, notes=out, pedals=pedals))
    lowest = min((n.start_beats for p in parts for n in p.notes), default=0.0)
    if lowest < 0:  # notes before the first downbeat: a pickup, shifted into a first (short) bar
        bar = per_bar * quarters
        shift = math.ceil(-lowest / bar) * bar
        parts = [
            replace(
                p,
                notes=[replace(n, start_beats=n.start_beats + shift) for n in p.notes],
                pedals=[replace(x, start_beats=x.start_beats + shift) for x in p.pedals],
            )
            for p in parts
        ]
    ibi = float(np.median(np.diff(beats))) if len(beats) > 1 else period * FRAME_S
    bpm = 60.0 / ibi * quarters
    meter = Meter(0.0, per_bar * 3, 8) if compound else Meter(0.0, per_bar, 4)
    keys = [Key(0.0, k.tonic, k.mode, k.tonic_name) for k in score.keys[:1]]
    read = replace(score, parts=parts, tempos=[Tempo(0.0, round(bpm, 1))], meters=[meter], keys=keys)
    return read, Found(round(bpm, 1), meter, beats)


def _envelope(onsets: np.ndarray, weights: np.ndarray) -> np.ndarray:
    n = int(onsets.max() / FRAME_S) + 2
    env = np.zeros(n)
    np.add.at(env, (onsets / FRAME_S).astype(int), weights)
    width = SMOOTH_S / FRAME_S
    k = np.exp(-0.5 * (np.arange(-3 * width, 3 * width + 1) / width) ** 2)
    return np.convolve(env, k / k.sum(), mode="same")


def _period(env: np.ndarray) -> float:
    """The beat period in frames (step 2)."""
    x = env - env.mean()
    lo, hi = int(MIN_PERIOD_S / FRAME_S), int(MAX_PERIOD_S / FRAME_S)
    ac = np.array([np.dot(x[:-lag], x[lag:]) if lag < len(x) else 0.0 for lag in range(lo, hi + 1)])
    lags = np.arange(lo, hi + 1)
    prior = np.exp(-0.5 * (np.log2(lags * FRAME_S / PREFERRED_PERIOD_S)) ** 2)
    return float(lags[int(np.argmax(ac * prior))])


def _track(env: np.ndarray, period: float) -> np.ndarray:
    """Beat frames by dynamic programming (step 3)."""
    n = len(env)
    strength = env / (env.std() + 1e-9)
    score = strength.copy()
    back = np.full(n, -1)
    lo, hi = int(round(period / 2)), int(round(period * 2))
    offsets = np.arange(-hi, -lo + 1)
    penalty = -TIGHTNESS * np.log(-offsets / period) ** 2
    for t in range(lo, n):
        prev = t + offsets
        ok = prev >= 0
        if not ok.any():
            continue
        cand = score[prev[ok]] + penalty[ok]
        j = int(np.argmax(cand))
        if cand[j] > 0:
            score[t] = strength[t] + cand[j]
            back[t] = prev[ok][j]
    tail = max(0, n - int(period) - 1)
    t = tail + int(np.argmax(score[tail:]))
    beats = [t]
    while back[t] >= 0:
        t = int(back[t])
        beats.append(t)
    return np.array(beats[::-1], dtype=np.float64)


def _to_beats(t: np.ndarray, beats: np.ndarray) -> np.ndarray:
    """Seconds to tracked-beat positions: linear between beats, each end extended with its
    nearest interval."""
    idx = np.arange(len(beats), dtype=np.float64)
    out = np.interp(t, beats, idx)
    before, after = t < beats[0], t > beats[-1]
    out[before] = (t[before] - beats[0]) / (beats[1] - beats[0])
    out[after] = len(beats) - 1 + (t[after] - beats[-1]) / (beats[-1] - beats[-2])
    return out


def _fit(frac: np.ndarray, k: int) -> float:
    return float(np.sum((frac * k - np.round(frac * k)) ** 2) / k**2)


def _threes(positions: np.ndarray) -> float:
    """The share of beats (with more than one onset) whose onsets fit thirds better than quarters."""
    beats = np.floor(positions).astype(int)
    votes = []
    for b in np.unique(beats):
        frac = positions[beats == b] - b
        frac = frac[(frac > 0.05) & (frac < 0.95)]
        if len(frac):
            votes.append(_fit(frac, 3) < _fit(frac, 4))
    return float(np.mean(votes)) if votes else 0.0


def _grids(positions: np.ndarray, compound: bool) -> dict[int, int]:
    """Each beat's grid: 6 or 4 steps in a compound meter's beat (its thirds, or their halves),
    else 4 (sixteenths) or 3 (triplets), by which fits its onsets better."""
    beats = np.floor(positions).astype(int)
    out = {}
    for b in np.unique(beats):
        frac = positions[beats == b] - b
        if compound:
            out[int(b)] = 6 if _fit(frac, 6) < 0.5 * _fit(frac, 3) else 3
        else:
            out[int(b)] = 3 if _fit(frac, 3) < 0.5 * _fit(frac, 4) else 4
    return out


def _meter(positions: np.ndarray, weight: np.ndarray) -> tuple[int, int]:
    """(beats per bar, the beat of the first downbeat) (step 5)."""
    beats = np.round(positions).astype(int)
    on_beat = np.abs(positions - beats) < 0.15
    per = np.zeros(int(beats.max()) + 2 - min(0, int(beats.min())))
    base = min(0, int(beats.min()))
    np.add.at(per, beats[on_beat] - base, weight[on_beat])
    best: tuple[float, int, int] = (-1.0, 4, 0)
    for n in (4, 3, 2):
        for phase in range(n):
            idx = np.arange(len(per))
            down = per[(idx + base - phase) % n == 0].mean()
            contrast = down / (per.mean() + 1e-9)
            if contrast > best[0] + TIE:
                best = (contrast, n, phase)
    return best[1], best[2]
