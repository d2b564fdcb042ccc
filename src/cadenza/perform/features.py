"""What a performer can see of each note of a score: the numbers the learned performer reads.

One row per note, in cadenza.perform.performance.notes_in_order order, with only what the
score says: pitch, written length, place in the bar and the beat, the dynamics the score marks
(its velocities) and its tempo marks, whether the note is the top or the bottom of its chord,
the melody's motion, how busy the music is around it, where it falls in the piece and its
four-bar group, fermatas, rests after it, and its degree in the key. Nothing here depends on
how the piece was played, so a generated chorale and an ASAP score are described alike.
"""

from __future__ import annotations

import numpy as np

from cadenza.perform.performance import meter_beat, notes_in_order
from cadenza.score import Score

NAMES = (
    "pitch",
    "log_length",
    "bar_sin",
    "bar_cos",
    "downbeat",
    "on_beat",
    "velocity",
    "velocity_vs_piece",
    "log_tempo",
    "top",
    "bottom",
    "chord_size",
    "melodic_step",
    "density",
    "log_gap_after",
    "log_gap_before",
    "in_piece",
    "in_group",
    "fermata",
    "rest_after",
    "to_end",
    *(f"degree_{d}" for d in range(12)),
)
N_FEATURES = len(NAMES)
GROUP_BARS = 4  # the phrase-sized group a note's place is measured in


def _meter_at(score: Score, beats: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bar length, beat length, bar start) at each position, under the score's meters."""
    meters = sorted(score.meters, key=lambda m: m.start_beats)
    bar = np.full(len(beats), 4.0)
    beat = np.ones(len(beats))
    start = np.zeros(len(beats))
    for m in meters:
        at = beats >= m.start_beats - 1e-9
        bar[at], beat[at], start[at] = m.bar_beats, meter_beat(m.numerator, m.denominator), m.start_beats
    return bar, beat, start


def note_features(score: Score) -> np.ndarray:
    """(notes, N_FEATURES) float32, rows in notes_in_order(score) order."""
    notes = [n for _, n in notes_in_order(score)]
    out = np.zeros((len(notes), N_FEATURES), dtype=np.float32)
    if not notes:
        return out
    col = {name: i for i, name in enumerate(NAMES)}
    pitch = np.array([n.pitch for n in notes], dtype=np.float64)
    start = np.array([n.start_beats for n in notes])
    length = np.array([n.duration_beats for n in notes])
    velocity = np.array([n.velocity for n in notes], dtype=np.float64)
    end = float(max(n.end_beats for n in notes))

    bar, beat, meter_start = _meter_at(score, start)
    in_bar = np.mod(start - meter_start, bar)
    out[:, col["pitch"]] = (pitch - 60) / 24
    out[:, col["log_length"]] = np.log2(np.maximum(length, 1 / 32)) / 3
    out[:, col["bar_sin"]] = np.sin(2 * np.pi * in_bar / bar)
    out[:, col["bar_cos"]] = np.cos(2 * np.pi * in_bar / bar)
    out[:, col["downbeat"]] = np.abs(in_bar) < 1e-6
    out[:, col["on_beat"]] = np.abs(np.mod(start - meter_start + 1e-6, beat)) < 2e-6
    out[:, col["velocity"]] = velocity / 127
    out[:, col["velocity_vs_piece"]] = (velocity - velocity.mean()) / 32
    # the marked tempo at each note: one beat's seconds under the tempo map, as bpm
    tempos = sorted(score.tempos, key=lambda t: t.start_beats)
    bpm = np.full(len(notes), tempos[0].bpm if tempos else 120.0)
    for t in tempos:
        bpm[start >= t.start_beats - 1e-9] = t.bpm
    out[:, col["log_tempo"]] = np.log(bpm / 100)

    # chords: the notes that start together
    onsets, group = np.unique(np.round(start, 6), return_inverse=True)
    top = np.full(len(onsets), -1.0)
    bottom = np.full(len(onsets), 999.0)
    np.maximum.at(top, group, pitch)
    np.minimum.at(bottom, group, pitch)
    size = np.bincount(group, minlength=len(onsets))
    out[:, col["top"]] = pitch == top[group]
    out[:, col["bottom"]] = pitch == bottom[group]
    out[:, col["chord_size"]] = size[group] / 6
    step = np.zeros(len(onsets))
    step[1:] = np.clip(np.diff(top), -12, 12) / 12
    out[:, col["melodic_step"]] = np.where(pitch == top[group], step[group], 0.0)
    window = np.searchsorted(onsets, onsets + 2, side="right") - np.searchsorted(onsets, onsets - 2, side="left")
    out[:, col["density"]] = (window / 16)[group]
    gap_after = np.diff(onsets, append=end)
    gap_before = np.diff(onsets, prepend=onsets[0] - 1.0)
    out[:, col["log_gap_after"]] = (np.log2(np.maximum(gap_after, 1 / 32)) / 3)[group]
    out[:, col["log_gap_before"]] = (np.log2(np.maximum(gap_before, 1 / 32)) / 3)[group]
    longest_end = np.full(len(onsets), -np.inf)
    np.maximum.at(longest_end, group, start + length)
    next_onset = np.append(onsets[1:], np.inf)
    out[:, col["rest_after"]] = (longest_end < next_onset - 0.1)[group] & np.isfinite(next_onset[group])

    out[:, col["in_piece"]] = start / max(end, 1e-6)
    bar_index = np.floor((start - meter_start) / bar + 1e-9)
    out[:, col["in_group"]] = np.mod(bar_index, GROUP_BARS) / GROUP_BARS + in_bar / bar / GROUP_BARS
    fermatas = np.round(np.array(score.fermatas_beats, dtype=np.float64), 6)
    out[:, col["fermata"]] = np.isin(np.round(start, 6), fermatas)
    out[:, col["to_end"]] = np.minimum(end - start, 16) / 16

    keys = sorted(score.keys, key=lambda k: k.start_beats)
    if keys:
        tonic = np.full(len(notes), keys[0].tonic)
        for k in keys:
            tonic[start >= k.start_beats - 1e-9] = k.tonic
        degree = np.mod(pitch.astype(int) - tonic, 12)
        out[np.arange(len(notes)), col["degree_0"] + degree] = 1
    return out
