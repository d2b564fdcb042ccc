"""Two baselines for chords under a melody, both counted from a training split of lead sheets
(cadenza.tokenize.chord_beats' BeatSheets), to measure the chords model against:

- `ContainsBaseline`: at each beat, the most common chord (in the training tunes) whose tones
  hold every pitch class the melody sounds in the beat; when none holds them all, the one that
  holds the most of the beat's sounding time (the more common first); a beat of rest keeps the
  chord before it;
- `HmmBaseline`: a hidden Markov model over chord classes: the transitions of
  cadenza.compose.chord_paths (changes by place in the bar, chord after chord), and as
  emission the probability of the beat's melody pitch classes under each chord (a multinomial
  per chord, add-one smoothed, each pitch class weighted by its share of the beat), times
  `emission_weight`; its Viterbi path.
"""

from __future__ import annotations

import numpy as np

from cadenza.chords import pitch_classes
from cadenza.compose.chord_paths import ChordTransitions, best_path
from cadenza.score import Key
from cadenza.tokenize.chord_beats import NO_CHORD, BeatSheet, ChordBeatsTokenizer

_IN_C = Key(0.0, 0, "major")


def class_tones(tokenizer: ChordBeatsTokenizer) -> np.ndarray:
    """(C, 12) bool: the pitch classes above the tonic of each class (none for no chord)."""
    tones = np.zeros((tokenizer.vocab_size, 12), dtype=bool)
    for cls in range(1, tokenizer.vocab_size):
        chord = tokenizer.chord_of(cls, _IN_C, 0.0)
        assert chord is not None
        tones[cls, list(pitch_classes(chord))] = True
    return tones


def _sounding(sheet: BeatSheet) -> np.ndarray:
    """(T, 12) each pitch class's share of each beat (the features' first 12)."""
    return sheet.features[:, :12].astype(np.float64)


class ContainsBaseline:
    def __init__(self, tokenizer: ChordBeatsTokenizer, train: list[BeatSheet]):
        self.tones = class_tones(tokenizer)
        counts = np.bincount(np.concatenate([s.classes for s in train]), minlength=tokenizer.vocab_size)
        counts[NO_CHORD] = 0
        self.frequency = counts / max(counts.sum(), 1)

    def predict(self, sheet: BeatSheet) -> np.ndarray:
        sounding = _sounding(sheet)
        held = sounding @ self.tones.T.astype(np.float64)  # (T, C): the beat's time under each chord's tones
        path = np.zeros(len(sounding), dtype=np.int64)
        previous = int(self.frequency.argmax())
        for t, (share, under) in enumerate(zip(sounding, held)):
            if share.sum() <= 1e-9:
                path[t] = previous
                continue
            best = np.isclose(under, under.max())  # every tone held, if any chord holds them all
            candidates = np.where(best, self.frequency, -1.0)
            candidates[NO_CHORD] = -1.0
            path[t] = previous = int(candidates.argmax())
        return path


class HmmBaseline:
    def __init__(self, tokenizer: ChordBeatsTokenizer, train: list[BeatSheet], emission_weight: float = 1.0):
        C = tokenizer.vocab_size
        counts = np.ones((C, 12))
        for s in train:
            sounding = _sounding(s)
            for cls in np.unique(s.classes):
                counts[cls] += sounding[s.classes == cls].sum(0)
        self.log_emission = np.log(counts / counts.sum(1, keepdims=True))
        from cadenza.families.chords import counted_places

        self.transitions = ChordTransitions.count([(s.classes, counted_places(s)) for s in train], C)
        self.emission_weight = emission_weight

    def log_scores(self, sheet: BeatSheet) -> np.ndarray:
        return self.emission_weight * _sounding(sheet) @ self.log_emission.T

    def predict(self, sheet: BeatSheet) -> np.ndarray:
        return best_path(self.log_scores(sheet), sheet.places, self.transitions)
