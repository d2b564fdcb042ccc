"""The learned performer: a network trained on human pianists (cadenza.families.performer) turned
into an Expression (cadenza.perform.performance) for any score.

Per note the network predicts its beat's stretch against the marked tempo, its velocity
against the piece's mean, its onset against the beat, its articulation and the pedal. The
beat factors of the notes in a beat are averaged into that beat's (beats without an onset take
their neighbours'); velocities are the score's own (its dynamics markings) plus the network's
shaping around them (its predicted departures less their mean, then scaled), so a p stays
below an f at every expressiveness. The shaping is scaled by the marked level against the pianists' mean
(PERFORMANCE_VELOCITY): the network learned it in velocity units around that mean, and a swing
of 30 that is a phrase's breath at mp would silence a pp (loudness goes as the velocity's
logarithm, as the rules' DLS law has it); fermatas are held as the score marks them; the
pedal is held over the notes predicted pedalled and changed wherever the bass moves, as
pianists change it with the harmony.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from cadenza.perform.performance import Expression, beat_grid, beat_index, notes_in_order
from cadenza.score import Score

# What the network predicts for each note (cadenza.families.performer trains it)
TARGETS = ("log_beat_factor", "velocity", "shift", "log_articulation", "pedal")
VELOCITY_UNIT = 20.0  # velocity target = (velocity - performance mean) / VELOCITY_UNIT
# The mean velocity of ASAP's human performances (64.4 over 60 drawn at random, seed 0; their
# middle ten to ninety percent 54 to 72): the level the network's shaping was learned at
PERFORMANCE_VELOCITY = 64.0
SHIFT_UNIT = 0.1  # shift target = seconds / SHIFT_UNIT
FERMATA_HOLD = 2.0  # a fermata's beats, as long again (as the rules hold them: cadenza.perform.rules)
FERMATA_RELEASE = 0.8  # a fermata's note sounds this much of its held length: a breath before going on
PEDAL_LIFT_BEATS = 0.1  # how long after a change of bass the pedal goes down again (a legato pedal)


class LearnedPerformer:
    def __init__(self, model, meta: dict, directory: Path):
        self.model, self.meta, self.directory = model, meta, directory

    def expression(self, score: Score, seed: int = 0, choir: bool = False) -> Expression:
        """How the network plays `score`. It draws nothing at random, so every seed gives the
        same performance; `choir` drops the pedal and keeps every note legato."""
        from cadenza.perform.features import note_features

        notes = [n for _, n in notes_in_order(score)]
        pred = predict(self.model, note_features(score), int(self.meta["model"]["block_size"]))
        col = {t: i for i, t in enumerate(TARGETS)}
        beats = beat_grid(score)
        start = np.array([n.start_beats for n in notes])
        beat_of = beat_index(beats, start)
        sums = np.bincount(beat_of, weights=pred[:, col["log_beat_factor"]], minlength=len(beats) - 1)
        counts = np.bincount(beat_of, minlength=len(beats) - 1)
        heard = counts > 0
        centres = np.arange(len(beats) - 1)
        log_factor = np.interp(centres, centres[heard], sums[heard] / counts[heard]) if heard.any() else 0 * centres
        marked = np.array([n.velocity for n in notes], dtype=np.float64)
        shaping = VELOCITY_UNIT * pred[:, col["velocity"]]
        velocity = marked + (shaping - shaping.mean()) * marked / PERFORMANCE_VELOCITY
        articulation = np.exp(np.clip(pred[:, col["log_articulation"]], -3.0, 1.5))
        if choir:
            articulation = np.maximum(articulation, 0.95)
        # fermatas, as the score marks them: their beats held twice as long, a breath after
        for f in score.fermatas_beats:
            under = np.abs(start - f) < 1e-6
            if under.any():
                length = max(n.duration_beats for n, u in zip(notes, under) if u)
                held = (beats[:-1] >= f - 1e-6) & (beats[:-1] < f + length - 1e-6)
                log_factor = np.where(held, log_factor + np.log(FERMATA_HOLD), log_factor)
                articulation = np.where(under, np.minimum(articulation, FERMATA_RELEASE), articulation)
        return Expression(
            beats=beats,
            beat_factor=np.exp(log_factor),
            velocity=velocity,
            shift_seconds=SHIFT_UNIT * pred[:, col["shift"]],
            articulation=articulation,
            pedal=[] if choir else pedal_by_the_beat(notes, pred[:, col["pedal"]] > 0),
        )


def predict(model, features: np.ndarray, block: int) -> np.ndarray:
    """Predictions (notes, len(TARGETS)) for a whole piece: windows of `block` notes, each half
    overlapping the next, averaged where they overlap (every note sees context on both sides)."""
    import torch

    n = len(features)
    out = np.zeros((n, len(TARGETS)))
    weight = np.zeros(n)
    if n == 0:
        return out
    step = max(1, block // 2)
    starts = list(range(0, max(1, n - block + 1), step))
    if starts[-1] + block < n:
        starts.append(n - block)
    with torch.no_grad():
        for s in starts:
            window = torch.from_numpy(np.ascontiguousarray(features[s : s + block], dtype=np.float32))[None]
            pred = model(window).numpy()[0]
            out[s : s + len(pred)] += pred
            weight[s : s + len(pred)] += 1
    return out / weight[:, None]


def pedal_by_the_beat(notes, down: np.ndarray) -> list[tuple[float, float]]:
    """Sustain-pedal spans (beats) over the onsets whose notes are predicted pedalled. The pedal
    is decided on the beat (at each onset on a quarter note), as pianists pedal with the
    harmony rather than with each note of a figuration: it goes down just after such an onset
    when its notes are pedalled, comes up at one that is not, and is changed (up at the onset,
    down again just after it) where the lowest sounding note is not the one it was taken with.
    The last span ends with the last note."""
    if not notes:
        return []
    start = np.array([n.start_beats for n in notes])
    onsets, group = np.unique(np.round(start, 6), return_inverse=True)
    pedalled = np.zeros(len(onsets), dtype=bool)
    np.logical_or.at(pedalled, group, down)
    bass = np.full(len(onsets), 999)  # the lowest note sounding at each onset
    for n in notes:
        a, b = np.searchsorted(onsets, [n.start_beats - 1e-6, n.end_beats - 1e-6])
        bass[a:b] = np.minimum(bass[a:b], n.pitch)
    on_beat = np.abs(onsets - np.round(onsets)) < 1e-6
    on_beat[0] = True
    end = float(max(n.end_beats for n in notes))
    spans: list[tuple[float, float]] = []
    opened: float | None = None
    taken_with = 0
    for i, at in enumerate(onsets):
        if not on_beat[i]:
            continue
        if opened is not None and (not pedalled[i] or bass[i] != taken_with):
            spans.append((opened, float(at)))
            opened = None
        if pedalled[i] and opened is None:
            nxt = onsets[i + 1] if i + 1 < len(onsets) else end
            opened, taken_with = float(at) + min(PEDAL_LIFT_BEATS, (float(nxt) - float(at)) / 2), int(bass[i])
    if opened is not None:
        spans.append((opened, end))
    return [(a, b) for a, b in spans if b > a]


def load_performer(name: str = "performer") -> LearnedPerformer:
    """The learned performer by model name or folder (see `cadenza models`), loaded once."""
    from cadenza import hub

    return _loaded(str(hub.find_model(name).resolve()))


@functools.lru_cache(maxsize=4)
def _loaded(directory: str) -> LearnedPerformer:
    from cadenza import hub

    return hub.load(directory, expect="performer")
