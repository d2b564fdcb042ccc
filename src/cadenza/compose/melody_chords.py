"""The chords under a melody, beat by beat, as four-part music sets its melodies: a hidden Markov
model whose hidden state is each beat's chord and whose observation is the melody's notes in
the beat. Its posterior (forward-backward) weighs the whole melody, after a beat as well as
before it, where a causal model choosing the lower voices sees only what came before.

`beat_chord` names the chord a beat of a setting holds: the triad or dominant seventh
(QUALITIES, with cadenza.chords.KINDS' tones) on any root that best covers the notes sounding
in the beat, its first step counting most and a bass on the root breaking ties.
`MelodyChords.count` counts, from settings and their keys, what follows what
(cadenza.compose.chord_paths.ChordTransitions, one per mode, chords relative to the tonic), how
the melody sits over each kind of chord, and where each lower voice stands on the beat above the
root. `MelodyChords.voice_log_probs` then gives, for a new melody, each lower voice's
log-probability of each pitch class on each beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadenza.chords import KINDS
from cadenza.compose.chord_paths import ChordTransitions, place_index, posterior
from cadenza.score import Key, Meter
from cadenza.theory import beat_beats

QUALITIES = ("major", "minor", "diminished", "dominant")
N_CHORDS = 12 * len(QUALITIES)  # class = quality * 12 + root
ONSET_WEIGHT = 0.5  # what a note sounding at a beat's first step adds to its share of the beat
MISSING_COST = 0.3  # what a chord loses for each of its tones not heard in the beat
ROOT_IN_BASS = 0.5  # what a chord gains where the lowest voice starts the beat on its root
SMOOTHING = 1.0  # added to every count of the melody's and the voices' tables

_TONES = [np.isin(np.arange(12), [(r + i) % 12 for i in KINDS[q]]) for q in QUALITIES for r in range(12)]


def beat_steps(meter: Meter, steps_per_beat: int) -> int:
    return max(1, round(beat_beats(meter) * steps_per_beat))


def beat_places(n_beats: int, meter: Meter) -> np.ndarray:
    """Each beat's place (chord_paths.place_index), bars starting at beat 0."""
    per_bar = max(1, round(meter.bar_beats / beat_beats(meter)))
    return np.array([place_index(per_bar, b % per_bar) for b in range(n_beats)], dtype=np.int64)


def beat_chord(beat: np.ndarray) -> int | None:
    """The chord class (quality * 12 + root, absolute) a beat of a setting holds: `beat` is
    (steps, voices) MIDI pitches, highest voice first, -1 for a rest. None where nothing sounds."""
    heard = np.zeros(12)
    for s, row in enumerate(beat):
        for p in row[row >= 0]:
            heard[p % 12] += 1.0 / len(beat) + (ONSET_WEIGHT if s == 0 else 0.0)
    if not heard.any():
        return None
    bass = beat[0, -1]
    best, chosen = -np.inf, 0
    for c, tones in enumerate(_TONES):
        score = heard[tones].sum() - heard[~tones].sum() - MISSING_COST * np.count_nonzero(heard[tones] == 0)
        score += ROOT_IN_BASS * (bass >= 0 and bass % 12 == c % 12)
        if score > best:
            best, chosen = score, c
    return chosen


def _melody_shares(cells: np.ndarray) -> np.ndarray:
    """(12,) the share of a beat each pitch class of a melody (its steps' pitches, -1 rest) sounds."""
    out = np.zeros(12)
    for p in cells[cells >= 0]:
        out[p % 12] += 1.0 / len(cells)
    return out


def _relative(c: int, tonic: int) -> int:
    q, root = divmod(c, 12)
    return q * 12 + (root - tonic) % 12


@dataclass
class MelodyChords:
    transitions: dict[str, ChordTransitions]  # "major", "minor": chords relative to the tonic
    melody: np.ndarray  # (qualities, 12) log P(a melody pitch class this far above the root | quality)
    voices: np.ndarray  # (lower voices, qualities, 12) log P(the voice's pitch class on the beat, above the root | quality)

    @classmethod
    def count(cls, settings: list[tuple[np.ndarray, Key, Meter]], steps_per_beat: int) -> MelodyChords:
        """From settings: each a grid (T, V) of MIDI pitches, highest voice first, -1 for rests;
        its key; its meter."""
        n_lower = settings[0][0].shape[1] - 1
        melody = np.full((len(QUALITIES), 12), SMOOTHING)
        voices = np.full((n_lower, len(QUALITIES), 12), SMOOTHING)
        paths: dict[str, list] = {"major": [], "minor": []}
        for grid, key, meter in settings:
            step = beat_steps(meter, steps_per_beat)
            n_beats = len(grid) // step
            places = beat_places(n_beats, meter)
            classes, kept = [], []
            for b in range(n_beats):
                beat = grid[b * step : (b + 1) * step]
                c = beat_chord(beat)
                if c is None:
                    continue
                q, root = divmod(c, 12)
                melody[q] += np.roll(_melody_shares(beat[:, 0]), -root)
                for v in range(1, n_lower + 1):
                    if beat[0, v] >= 0:
                        voices[v - 1, q, (beat[0, v] - root) % 12] += 1
                classes.append(_relative(c, key.tonic))
                kept.append(places[b])
            paths["minor" if key.mode == "minor" else "major"].append((np.array(classes), np.array(kept)))
        return cls(
            {mode: ChordTransitions.count(p, N_CHORDS) for mode, p in paths.items()},
            np.log(melody / melody.sum(axis=1, keepdims=True)),
            np.log(voices / voices.sum(axis=2, keepdims=True)),
        )

    def to_dict(self) -> dict:
        return {
            "qualities": list(QUALITIES),
            "transitions": {mode: t.to_dict() for mode, t in self.transitions.items()},
            "melody": self.melody.round(5).tolist(),
            "voices": self.voices.round(5).tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> MelodyChords:
        if tuple(d["qualities"]) != QUALITIES:
            raise ValueError(f"chord qualities {d['qualities']} are not this version's {list(QUALITIES)}")
        return cls(
            {mode: ChordTransitions.from_dict(t) for mode, t in d["transitions"].items()},
            np.asarray(d["melody"], dtype=np.float64),
            np.asarray(d["voices"], dtype=np.float64),
        )

    def chord_probabilities(
        self, melody: np.ndarray, key: Key, meter: Meter, steps_per_beat: int, past_only: bool = False
    ) -> np.ndarray:
        """(beats, N_CHORDS): each beat's chord (relative to the tonic) given the whole melody
        (T,) of MIDI pitches, -1 for rests, on a grid of `steps_per_beat`."""
        step = beat_steps(meter, steps_per_beat)
        n_beats = -(-len(melody) // step)
        scores = np.zeros((n_beats, N_CHORDS))
        for b in range(n_beats):
            shares = np.roll(_melody_shares(melody[b * step : (b + 1) * step]), -key.tonic)  # above the tonic
            for c in range(N_CHORDS):
                q, root = divmod(c, 12)
                scores[b, c] = np.roll(shares, -root) @ self.melody[q]
        mode = "minor" if key.mode == "minor" else "major"
        return posterior(scores, beat_places(n_beats, meter), self.transitions[mode], past_only)

    def voice_log_probs(
        self, melody: np.ndarray, key: Key, meter: Meter, steps_per_beat: int, past_only: bool = False
    ) -> np.ndarray:
        """(beats, lower voices, 12): log P(each absolute pitch class) for each lower voice on the
        first step of each beat, the chords weighed by chord_probabilities."""
        chords = self.chord_probabilities(melody, key, meter, steps_per_beat, past_only)
        voices = np.exp(self.voices)
        out = np.zeros((len(chords), len(voices), 12))
        for c in range(N_CHORDS):
            q, root = divmod(c, 12)
            out += chords[:, c, None, None] * np.roll(voices[:, q, :], root + key.tonic, axis=1)[None]
        return np.log(out)

    def tone_log_probs(
        self, melody: np.ndarray, key: Key, meter: Meter, steps_per_beat: int, floor: float
    ) -> np.ndarray:
        """(beats, 12): log(floor + P(the beat's chord has this absolute pitch class)), the chords
        weighed by chord_probabilities."""
        chords = self.chord_probabilities(melody, key, meter, steps_per_beat)
        tones = np.array(_TONES, dtype=np.float64)  # (N_CHORDS, 12), roots relative to the tonic
        return np.log(floor + np.roll(chords @ tones, key.tonic, axis=1))
