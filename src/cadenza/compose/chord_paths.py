"""Chord paths: a chord class per beat, chosen from per-beat scores under a style's habits of
change, as a hidden Markov model chooses.

`ChordTransitions` holds what a corpus of lead sheets does from beat to beat, counted from its
training split: how often the chord changes at each place in the bar (a folk tune changes on
the downbeat and at the half bar, rarely elsewhere), and which chord follows which when it
does. `best_path` (Viterbi) takes the likeliest path under given per-beat log scores;
`sampled_path` draws one (forward filtering, backward sampling), for alternatives.

Places: (the bar's beats: 2, 3, 4 or other) x (the beat's place in the bar: 1st, 2nd, 3rd,
later), 16 in all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_BAR_SIZES = {2: 0, 3: 1, 4: 2}


def place_index(beats_in_bar: int, place_in_bar: int) -> int:
    return 4 * _BAR_SIZES.get(beats_in_bar, 3) + min(place_in_bar, 3)


@dataclass
class ChordTransitions:
    change: np.ndarray  # (16,) P(the chord changes on a beat at this place)
    after: np.ndarray  # (C, C) P(next class | previous class, given a change); a zero diagonal
    first: np.ndarray  # (C,) P(the first beat's class)

    @classmethod
    def count(cls, paths: list[tuple[np.ndarray, np.ndarray]], n_classes: int, smoothing: float = 0.5):
        """From (classes, places) per tune, with add-`smoothing` counts. A place of -1 marks a
        beat where the key changes (classes are relative to the key): it is not counted."""
        changes = np.full((16, 2), smoothing)
        after = np.full((n_classes, n_classes), smoothing)
        np.fill_diagonal(after, 0.0)
        first = np.full(n_classes, smoothing)
        for classes, places in paths:
            if len(classes) == 0:
                continue
            first[classes[0]] += 1
            for t in range(1, len(classes)):
                if places[t] < 0:
                    continue
                changed = classes[t] != classes[t - 1]
                changes[places[t], int(changed)] += 1
                if changed:
                    after[classes[t - 1], classes[t]] += 1
        return cls(changes[:, 1] / changes.sum(1), after / after.sum(1, keepdims=True), first / first.sum())

    def to_dict(self) -> dict:
        return {"change": self.change.round(6).tolist(), "after": self.after.round(6).tolist(),
                "first": self.first.round(6).tolist()}  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict) -> ChordTransitions:
        return cls(*(np.asarray(d[k], dtype=np.float64) for k in ("change", "after", "first")))

    def log_step(self, place: int) -> np.ndarray:
        """(C, C) log P(class at a beat of this place | class at the beat before)."""
        step = np.log(self.change[place]) + np.log(np.maximum(self.after, 1e-12))
        np.fill_diagonal(step, np.log1p(-self.change[place]))
        return step


def best_path(log_scores: np.ndarray, places: np.ndarray, transitions: ChordTransitions) -> np.ndarray:
    """The class per beat (T,) that maximizes the summed per-beat log scores (T, C) plus the
    transitions' log probabilities (Viterbi)."""
    T, C = log_scores.shape
    score = np.log(transitions.first) + log_scores[0]
    back = np.zeros((T, C), dtype=np.int64)
    for t in range(1, T):
        total = score[:, None] + transitions.log_step(int(places[t]))
        back[t] = total.argmax(0)
        score = total[back[t], np.arange(C)] + log_scores[t]
    path = np.zeros(T, dtype=np.int64)
    path[-1] = int(score.argmax())
    for t in range(T - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def sampled_path(
    log_scores: np.ndarray, places: np.ndarray, transitions: ChordTransitions, rng: np.random.Generator
) -> np.ndarray:
    """A path drawn from the distribution best_path maximizes (forward filtering, backward
    sampling)."""
    T, C = log_scores.shape
    alpha = np.zeros((T, C))
    alpha[0] = np.log(transitions.first) + log_scores[0]
    for t in range(1, T):
        alpha[t] = _logsumexp(alpha[t - 1][:, None] + transitions.log_step(int(places[t])), axis=0) + log_scores[t]
    path = np.zeros(T, dtype=np.int64)
    path[-1] = _draw(alpha[-1], rng)
    for t in range(T - 1, 0, -1):
        path[t - 1] = _draw(alpha[t - 1] + transitions.log_step(int(places[t]))[:, path[t]], rng)
    return path


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    top = x.max(axis=axis, keepdims=True)
    return (top + np.log(np.exp(x - top).sum(axis=axis, keepdims=True))).squeeze(axis)


def _draw(log_p: np.ndarray, rng: np.random.Generator) -> int:
    p = np.exp(log_p - log_p.max())
    return int(rng.choice(len(p), p=p / p.sum()))
