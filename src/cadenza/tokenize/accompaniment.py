"""The accompaniment grid: a song on a sixteenth-note grid, its melody and chord symbols as
features per step and its accompaniment's notes as targets, all relative to the key's tonic.

    encode(score, melody, accompaniment) -> Grid   features (T, N_FEATURES), targets (T, N_PITCHES)
    decode(onset, held, grid, seed) -> [Note]      the accompaniment a model's probabilities give

A step is a sixteenth note (STEPS_PER_BEAT to the quarter), from beat 0 to the end of the last
note. Pitches and pitch classes are moved by the key in force's tonic, folded to -5..+6
semitones (`shift`), so that a song in any key reads as one on the tonic C (C major, C minor) in
about the same register; the melody's height is left as it is.

Targets: per step and pitch (MIDI LOW..LOW+N_PITCHES-1 after the shift; a note outside is moved
by octaves into it), SILENT, ONSET (a note of the accompaniment begins) or HELD (one sounds on).

Features per step (FEATURES names them, in order):
- the melody: the pitch class sounding (one-hot above the tonic; none in a rest), whether one
  sounds, whether one begins, its height ((pitch - 60) / 12);
- the chord symbol in force: its tones, its root and its bass (one-hot, above the tonic),
  whether it begins at this step, or no chord;
- the place: the step in its beat (of 4), the beat in its bar (1-5, or later), the bar's start;
  a minor key.

Decoding (`decode`): at each step, as many notes begin as the model expects there (the sum of
its onset probabilities, rounded by a draw), chosen among the pitches by their onset
probability sharpened (squared) and drawn with the seed; each is held while the model finds
holding it likelier than silence, up to MAX_HOLD_STEPS, and at least to the accompaniment's
next onset (unless the chord changes, or the same pitch is struck again, first: `_legato`).
The same seed gives the same notes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cadenza.chords import pitch_classes
from cadenza.score import Key, Note, Part, Score, bar_starts

STEPS_PER_BEAT = 4
LOW = 24  # C1: the lowest pitch of the grid (after the shift)
N_PITCHES = 72  # C1 to B6
SILENT, ONSET, HELD = 0, 1, 2
MAX_HOLD_STEPS = 8 * STEPS_PER_BEAT  # two bars of 4/4
FEATURES = (
    *(f"melody+{i}" for i in range(12)),
    "melody_sounds",
    "melody_begins",
    "melody_height",
    *(f"chord_tone+{i}" for i in range(12)),
    *(f"chord_root+{i}" for i in range(12)),
    *(f"chord_bass+{i}" for i in range(12)),
    "chord_begins",
    "no_chord",
    *(f"step_in_beat{i}" for i in range(STEPS_PER_BEAT)),
    *(f"beat{i}" for i in range(1, 7)),
    "bar_start",
    "minor",
)
N_FEATURES = len(FEATURES)
_F = {name: i for i, name in enumerate(FEATURES)}


@dataclass
class Grid:
    """A song's steps: features (T, N_FEATURES) float32, targets (T, N_PITCHES) int8 (all SILENT
    when the song has no accompaniment to learn from), and each step's key shift."""

    features: np.ndarray
    targets: np.ndarray
    shifts: np.ndarray  # (T,) int: the key in force's tonic, folded to -5..+6


def key_shift(key: Key | None) -> int:
    """The key's tonic as semitones from C, folded to -5..+6 (C major and A minor: 0 and -3)."""
    tonic = key.tonic % 12 if key is not None else 0
    return tonic if tonic <= 6 else tonic - 12


def grid_index(pitch: int, shift: int) -> int:
    """The grid row of a MIDI pitch under a key shift, moved by octaves into the grid."""
    k = pitch - shift - LOW
    while k < 0:
        k += 12
    while k >= N_PITCHES:
        k -= 12
    return k


def melody_of(parts: list[Part]) -> Part | None:
    """The melody among pitched parts: the one named "melody", else the first."""
    pitched = [p for p in parts if p.notes and not p.is_drum]
    return next((p for p in pitched if p.name.lower() == "melody"), pitched[0] if pitched else None)


def step_of(beats: float) -> int:
    """The grid step a time in quarter notes falls on (the nearest sixteenth)."""
    return _step(beats)


def _step(beats: float) -> int:
    return int(math.floor(beats * STEPS_PER_BEAT + 0.5))


def encode(score: Score, melody: Part, accompaniment: list[Part]) -> Grid:
    """The grid of a song (see the module docstring): `melody` is the part whose line the
    features read (its top note where it has chords), `accompaniment` the parts to learn."""
    notes = [n for p in (melody, *accompaniment) for n in p.notes]
    end = max((n.end_beats for n in notes), default=0.0)
    t_len = max(1, _step(end))
    keys = sorted(score.keys, key=lambda k: k.start_beats)
    chords = sorted(score.chords, key=lambda c: c.start_beats)
    features = np.zeros((t_len, N_FEATURES), dtype=np.float32)
    shifts = np.zeros(t_len, dtype=np.int64)
    minor = np.zeros(t_len, dtype=bool)
    for key in keys:  # each key from its step on (before the first: C major)
        a = max(0, _step(key.start_beats))
        shifts[a:] = key_shift(key)
        minor[a:] = key.mode == "minor"
    features[:, _F["minor"]] = minor

    # the melody's top line: at each step, the highest note sounding
    top = np.full(t_len, -1, dtype=np.int64)
    for n in sorted(melody.notes, key=lambda n: n.pitch):
        a, b = _step(n.start_beats), max(_step(n.start_beats) + 1, _step(n.end_beats))
        top[a : min(b, t_len)] = n.pitch
        if a < t_len:
            features[a, _F["melody_begins"]] = 1.0
    sounding = top >= 0
    features[sounding, _F["melody_sounds"]] = 1.0
    features[sounding, _F["melody_height"]] = (top[sounding] - 60) / 12
    rows = np.nonzero(sounding)[0]
    features[rows, (top[rows] - shifts[rows]) % 12] = 1.0

    # the chord symbols, each from its step to the next one's (before the first: no chord)
    features[:, _F["no_chord"]] = 1.0
    for i, c in enumerate(chords):
        a = max(0, _step(c.start_beats))
        b = min(t_len, _step(chords[i + 1].start_beats)) if i + 1 < len(chords) else t_len
        if a >= b:
            continue
        rows = np.arange(a, b)
        s = shifts[rows]
        features[rows, _F["no_chord"]] = 0.0
        for pc in pitch_classes(c):
            features[rows, _F["chord_tone+0"] + (pc - s) % 12] = 1.0
        features[rows, _F["chord_root+0"] + (c.root - s) % 12] = 1.0
        features[rows, _F["chord_bass+0"] + ((c.root if c.bass is None else c.bass) - s) % 12] = 1.0
        features[a, _F["chord_begins"]] = 1.0

    # the place in the bar
    features[np.arange(t_len), _F["step_in_beat0"] + np.arange(t_len) % STEPS_PER_BEAT] = 1.0
    starts = [_step(b) for b in bar_starts(score)] or [0]
    for i, a in enumerate(starts):
        b = starts[i + 1] if i + 1 < len(starts) else t_len
        if a >= t_len:
            break
        features[a, _F["bar_start"]] = 1.0
        for t in range(max(a, 0), min(b, t_len)):
            features[t, _F["beat1"] + min((t - a) // STEPS_PER_BEAT, 5)] = 1.0

    targets = np.zeros((t_len, N_PITCHES), dtype=np.int8)
    for n in sorted((n for p in accompaniment for n in p.notes), key=lambda n: n.start_beats):
        a = _step(n.start_beats)
        if a >= t_len:
            continue
        b = min(t_len, max(a + 1, _step(n.end_beats)))
        k = grid_index(n.pitch, int(shifts[a]))
        held = targets[a + 1 : b, k]
        held[held == SILENT] = HELD
        targets[a, k] = ONSET
    return Grid(features, targets, shifts)


def decode(
    onset: np.ndarray, held: np.ndarray, grid: Grid, seed: int = 0, velocity: int = 64, start: int = 0, stop=None
) -> list[Note]:
    """Notes from per-step, per-pitch probabilities of a note beginning (`onset`) and of one
    held on (`held`), each (T, N_PITCHES) (see the module docstring), between steps `start`
    and `stop`."""
    rng = np.random.default_rng(seed)
    t_len = onset.shape[0]
    stop = t_len if stop is None else min(stop, t_len)
    silent = np.clip(1.0 - onset - held, 0.0, 1.0)
    busy_until = np.zeros(N_PITCHES, dtype=np.int64)  # a pitch sounding until this step
    notes: list[Note] = []
    for t in range(start, stop):
        expected = float(onset[t].sum())
        n = int(math.floor(expected) + (rng.random() < expected - math.floor(expected)))
        if n <= 0:
            continue
        weights = onset[t] ** 2
        weights[busy_until > t] *= 0.05  # a pitch still held is seldom struck again at once
        if weights.sum() <= 0:
            continue
        n = min(n, int((weights > 0).sum()))
        chosen = rng.choice(N_PITCHES, size=n, replace=False, p=weights / weights.sum())
        for k in sorted(int(x) for x in chosen):
            end = t + 1
            while (
                end < min(t_len, t + MAX_HOLD_STEPS) and held[end, k] > silent[end, k] and onset[end, k] < held[end, k]
            ):
                end += 1
            busy_until[k] = end
            pitch = k + LOW + int(grid.shifts[t])
            notes.append(Note(pitch, t / STEPS_PER_BEAT, (end - t) / STEPS_PER_BEAT, velocity))
    return _legato(notes, grid, stop)


def _legato(notes: list[Note], grid: Grid, stop: int) -> list[Note]:
    """Each note held at least until the accompaniment's next onset, unless a chord change or
    the same pitch struck again comes first: the pianists the model learned from release the
    keys early and hold the sound with the pedal, which a score without pedal marks loses."""
    onsets = sorted({_step(n.start_beats) for n in notes})
    changes = np.nonzero(grid.features[:, _F["chord_begins"]])[0]
    again: dict[int, list[int]] = {}
    for n in notes:
        again.setdefault(n.pitch, []).append(_step(n.start_beats))
    out = []
    for n in notes:
        a = _step(n.start_beats)
        limits = [stop]
        i = np.searchsorted(onsets, a, side="right")
        nxt = onsets[i] if i < len(onsets) else stop
        j = np.searchsorted(changes, a, side="right")
        limits.append(int(changes[j]) if j < len(changes) else stop)
        limits += [b for b in again[n.pitch] if b > a][:1]
        end = max(_step(n.end_beats), min(nxt, *limits))
        out.append(Note(n.pitch, n.start_beats, (end - a) / STEPS_PER_BEAT, n.velocity))
    return out


class AccompanimentTokenizer:
    """The grid under the Tokenizer protocol (cadenza.tokenize.base): its settings are this
    module's constants, recorded so that a model trained on another grid is refused."""

    kind = "accompaniment"
    vocab_size = 3  # per pitch and step: SILENT, ONSET, HELD

    def to_dict(self) -> dict:
        return {"kind": self.kind, "steps_per_beat": STEPS_PER_BEAT, "n_features": N_FEATURES}

    @classmethod
    def from_dict(cls, d: dict) -> AccompanimentTokenizer:
        from cadenza.tokenize.base import config_of

        settings = config_of(d, cls.kind)
        if settings != {"steps_per_beat": STEPS_PER_BEAT, "n_features": N_FEATURES}:
            raise ValueError(f"an accompaniment grid of {settings}, not this version's")
        return cls()

    def encode(self, score: Score, melody: Part | None = None, accompaniment: list[Part] | None = None) -> Grid:
        """The grid of `score`: its melody (the part named "melody", else the first) and, to
        learn from, its `accompaniment` parts (none: features only)."""
        chosen = melody or melody_of(score.parts)
        if chosen is None:
            from cadenza.errors import MusicError

            raise MusicError("no melody: no part has pitched notes")
        return encode(score, chosen, list(accompaniment or []))

    def decode(self, probabilities: np.ndarray, grid: Grid, seed: int = 0) -> list[Note]:
        """Notes from (T, N_PITCHES, 3) probabilities of SILENT, ONSET, HELD (see `decode`)."""
        return decode(probabilities[..., ONSET], probabilities[..., HELD], grid, seed)
