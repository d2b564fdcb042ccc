"""A melody's chord symbols ("G", "D7", "Am/C") as the harmony under it: the lower voices
narrowed on the grid before a model fills them, as a player follows a lead sheet.

Where a symbol starts, the bass sings its bass note (the slash bass, else the root) and the
voices between chord tones; on each counted beat the symbol holds, every lower voice sings a
chord tone. Between beats the voices are free: passing and neighbour notes, suspensions resolved.
A symbol holds until the next; the last to the end of its bar, so that a tune whose symbols stop
early is harmonized freely after them, its close planned as a tune's without symbols.
"""

from __future__ import annotations

import numpy as np

from cadenza.chords import ChordSymbol, pitch_classes
from cadenza.plan.constraints import narrow_to_chord
from cadenza.score import Score, bar_starts, in_force
from cadenza.theory import beat_beats, beats_to_step


def counted_beats(score: Score) -> list[float]:
    """Where each counted beat (theory.beat_beats) of each bar starts, under the score's meters."""
    beats: list[float] = []
    for start in bar_starts(score):
        meter = in_force(score.meters, start)
        if meter is None:
            continue
        beat = beat_beats(meter)
        beats += [start + k * beat for k in range(max(1, round(meter.bar_beats / beat)))]
    return beats


def plan_chord_symbols(
    allowed: np.ndarray, chords: list[ChordSymbol], score: Score, steps_per_beat: int
) -> dict[int, frozenset[int]]:
    """Narrow `allowed` (steps, voices, cells; in place) under the chord symbols `chords` of
    `score` (its bars and counted beats): at each symbol's first step its bass note in the lowest
    voice and its tones above; at each counted beat it holds (to the next symbol, the last to the
    end of its bar), its tones in every lower voice (plan.constraints.narrow_to_chord: a voice
    with no such note in reach keeps what it had). The chord's tones (its bass among them) at
    every step a symbol holds: what the symbols govern, where a cadence plan gives way."""
    T = allowed.shape[0]
    beats = counted_beats(score)
    bar_lines = bar_starts(score)
    ordered = sorted(chords, key=lambda c: c.start_beats)
    governed: dict[int, frozenset[int]] = {}
    for i, c in enumerate(ordered):
        s0 = beats_to_step(c.start_beats, steps_per_beat)
        if i + 1 < len(ordered):
            s1 = beats_to_step(ordered[i + 1].start_beats, steps_per_beat)
        else:
            bar_end = next((b for b in bar_lines if b > c.start_beats + 1e-9), None)
            s1 = T if bar_end is None else min(T, beats_to_step(bar_end, steps_per_beat))
        if not 0 <= s0 < min(s1, T):
            continue
        bass = c.bass if c.bass is not None else c.root
        tones = frozenset(pitch_classes(c)) | {bass}
        narrow_to_chord(allowed, s0, {bass}, tones)
        for b in beats:
            step = beats_to_step(b, steps_per_beat)
            if s0 < step < min(s1, T):
                narrow_to_chord(allowed, step, tones, tones)
        governed.update(dict.fromkeys(range(s0, min(s1, T)), tones))
    return governed
