"""A classifier two-sample test: can a classifier tell a candidate set of pieces from a reference
set? If the two come from one distribution, no classifier does better than chance, so its
cross-validated accuracy is a test statistic (Lopez-Paz & Oquab, "Revisiting classifier
two-sample tests", ICLR 2017): 0.5 means indistinguishable, 1.0 always told apart.

Pieces are compared on a sixteenth-note grid of their voices, highest first (as the cells
tokenizer lays them out), with these features per piece, all shares so that length does not
count:
- per voice: the rate of pitch change per grid step (`change_rate`); where in the beat changes
  fall (on the beat, on the off-beat eighth, on a sixteenth: 3 shares); the melodic intervals
  between successive pitches, signed and clipped to +-8 semitones (16 shares); the pitch classes
  relative to the piece's estimated key tonic, weighted by duration (12 shares);
- per pair of voices: the vertical intervals between them modulo 12 at every step both sound
  (12 shares each).

Sampling biases are fitted to some of these same statistics (benchmarks/fit_interval_bias.py:
melodic intervals, intervals between voices, where in the beat voices move), and a set fitted
to the features a classifier reads can pass it without being like the music. So a second set,
`other_features`, counts what no bias is fitted to directly: per voice, its runs of three
melodic directions and its note lengths; per pair of voices, how often they move in contrary,
similar, parallel and oblique motion; each upper voice's interval class above the bass on the
beats only. A set that fools the
first classifier and not the second matches the statistics it was fitted to, not the music.

The test is a random forest (scikit-learn), scored by stratified k-fold cross-validation with
balanced accuracy (the mean of the two sets' recalls, so unequal set sizes do not move chance
away from 0.5), repeated over several shuffles; the 95% interval is the Wilson score interval
of that mean accuracy over the effective count 4 / (1/n1 + 1/n0) of a mean of two recalls
(each piece counted once: the repeats reuse the same pieces). Features see pitches and timing,
not form: shuffling a piece's bars moves it only 0.78 away from Bach (the calibration in
docs/EVALUATION.md), and a plan-level defect such as no returning theme is invisible to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cadenza.score import Note, Score
from cadenza.theory import SATB_RANGES, cross_related, estimate_key
from cadenza.tokenize.cells import REST, CellsTokenizer

STEPS_PER_BEAT = 4
MAX_INTERVAL = 8
INTERVALS = [i for i in range(-MAX_INTERVAL, MAX_INTERVAL + 1) if i != 0]


def grid_of(score: Score, n_voices: int) -> np.ndarray:
    """(T, n_voices) MIDI pitches, -1 for a rest, on a sixteenth-note grid, highest voice first."""
    return pitches_of_cells(CellsTokenizer(n_voices, STEPS_PER_BEAT).encode(score))


def pitches_of_cells(cells: np.ndarray) -> np.ndarray:
    """A grid of cells (cadenza.tokenize.cells: REST, else 1 + pitch) as grid_of's pitches."""
    return np.where(cells == REST, -1, cells - 1)


def tonic_of(grid: np.ndarray) -> int:
    notes = [Note(int(p), 0.0, 1.0) for p in grid.ravel() if p >= 0]
    return estimate_key(notes).tonic if notes else 0


def feature_names(n_voices: int) -> list[str]:
    names = []
    for v in range(n_voices):
        names.append(f"v{v}_change_rate")
        names += [f"v{v}_changes_at_{w}" for w in ("beat", "eighth", "sixteenth")]
        names += [f"v{v}_interval_{i:+d}" for i in INTERVALS]
        names += [f"v{v}_pc_{c}" for c in range(12)]
    for u in range(n_voices):
        for v in range(u + 1, n_voices):
            names += [f"v{u}v{v}_vertical_{c}" for c in range(12)]
    return names


def _shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else counts.astype(float)


def changes(line: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(both, changed): bools over a voice's grid steps 1.., whether it sounds at the step and the
    one before, and whether its pitch changed between them (pitches, -1 a rest)."""
    both = (line[1:] >= 0) & (line[:-1] >= 0)
    return both, both & (line[1:] != line[:-1])


def melodic_steps(line: np.ndarray) -> np.ndarray:
    """A voice's signed intervals between successive pitches, rests bridged, repeats left out."""
    steps = np.diff(line[line >= 0])
    return steps[steps != 0]


def voice_features(line: np.ndarray, tonic: int) -> dict[str, np.ndarray | float]:
    """One voice's statistics: change rate, where changes fall in the beat, intervals, pitch classes."""
    both, changed = changes(line)
    rate = float(changed.sum() / both.sum()) if both.any() else 0.0
    where = (np.arange(1, len(line)) % STEPS_PER_BEAT)[changed]
    at = np.array([(where == 0).sum(), (where == 2).sum(), (where % 2 == 1).sum()], dtype=float)
    steps = np.clip(melodic_steps(line), -MAX_INTERVAL, MAX_INTERVAL)
    intervals = np.array([(steps == i).sum() for i in INTERVALS], dtype=float)
    pcs = np.bincount((line[line >= 0] - tonic) % 12, minlength=12).astype(float)
    return {"change_rate": rate, "at": _shares(at), "intervals": _shares(intervals), "pcs": _shares(pcs)}


def features(grid: np.ndarray) -> np.ndarray:
    """The feature vector of one piece (names: feature_names(grid.shape[1]))."""
    n = grid.shape[1]
    tonic = tonic_of(grid)
    out: list[float] = []
    for v in range(n):
        f = voice_features(grid[:, v], tonic)
        out.append(float(f["change_rate"]))
        for k in ("at", "intervals", "pcs"):
            out += list(f[k])  # type: ignore[arg-type]
    for u in range(n):
        for v in range(u + 1, n):
            both = (grid[:, u] >= 0) & (grid[:, v] >= 0)
            out += list(_shares(np.bincount((grid[both, u] - grid[both, v]) % 12, minlength=12).astype(float)))
    return np.array(out)


LENGTHS = (1, 2, 3, 4, 6, 8, 12)  # note lengths in grid steps counted by other_features (then longer)


def _directions(line: np.ndarray) -> np.ndarray:
    """A voice's successive melodic directions (-1, 1), repeats left out, rests bridged."""
    return np.sign(melodic_steps(line))


def note_lengths(line: np.ndarray) -> np.ndarray:
    """The lengths in grid steps of a voice's notes (a run of one pitch is one note)."""
    starts = np.flatnonzero(np.diff(line, prepend=-2) != 0)
    lengths = np.diff(np.append(starts, len(line)))
    return lengths[line[starts] >= 0]


def motions(upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """Counts of contrary, similar, parallel (both move by the same interval in semitones) and
    oblique motion between two voices, over the steps where both sound before and after and at
    least one moves."""
    both = (upper[1:] >= 0) & (upper[:-1] >= 0) & (lower[1:] >= 0) & (lower[:-1] >= 0)
    du, dl = np.diff(upper)[both], np.diff(lower)[both]
    moving = (du != 0) | (dl != 0)
    du, dl = du[moving], dl[moving]
    oblique = (du == 0) | (dl == 0)
    parallel = ~oblique & (du == dl)
    similar = ~oblique & ~parallel & (np.sign(du) == np.sign(dl))
    contrary = ~oblique & (np.sign(du) != np.sign(dl))
    return np.array([contrary.sum(), similar.sum(), parallel.sum(), oblique.sum()], dtype=float)


def other_features(grid: np.ndarray) -> np.ndarray:
    """The second feature vector of one piece, of statistics no sampling bias is fitted to
    directly (they overlap with what the biases fit: the beats' intervals over the bass are some
    of the steps the vertical bias counts, runs of directions follow in part from the contour
    bias's pairs of moves): per voice the shares of its runs of three melodic directions (up or down: 8) and
    of its note lengths in bins up to each of LENGTHS (a length of 5 falls in the bin of 6), then
    longer (8); per pair of voices the shares of contrary,
    similar, parallel and oblique motion (4); for each voice above the lowest the shares of its
    interval classes above the lowest voice on the beats only (every STEPS_PER_BEAT-th step, both
    sounding: 12)."""
    n = grid.shape[1]
    out: list[float] = []
    for v in range(n):
        d = (_directions(grid[:, v]) > 0).astype(int)
        runs = d[:-2] * 4 + d[1:-1] * 2 + d[2:] if len(d) > 2 else np.zeros(0, dtype=int)
        out += list(_shares(np.bincount(runs, minlength=8).astype(float)))
        lengths = np.searchsorted(LENGTHS, note_lengths(grid[:, v]))  # LENGTHS[i - 1] < length <= LENGTHS[i]
        out += list(_shares(np.bincount(lengths, minlength=len(LENGTHS) + 1).astype(float)))
    for u in range(n):
        for v in range(u + 1, n):
            out += list(_shares(motions(grid[:, u], grid[:, v])))
    beats = grid[::STEPS_PER_BEAT]
    for u in range(n - 1):
        both = (beats[:, u] >= 0) & (beats[:, -1] >= 0)
        out += list(_shares(np.bincount((beats[both, u] - beats[both, -1]) % 12, minlength=12).astype(float)))
    return np.array(out)


@dataclass
class TestResult:
    accuracy: float  # balanced accuracy, mean over repeats
    low: float  # Wilson 95% interval
    high: float
    n_candidates: int
    n_reference: int
    repeats: int
    folds: int

    def line(self) -> str:
        return (
            f"classifier accuracy {self.accuracy:.2f} (95% interval {self.low:.2f}-{self.high:.2f}; "
            f"{self.n_candidates} candidate vs {self.n_reference} reference pieces, "
            f"{self.folds}-fold cross-validation x {self.repeats})"
        )

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def wilson(correct: float, n: float, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return math.nan, math.nan
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def two_sample_test(
    candidates: list[np.ndarray],
    reference: list[np.ndarray],
    seed: int = 0,
    folds: int = 5,
    repeats: int = 5,
    progress: Callable[[int, int], None] | None = None,
    featurize: Callable[[np.ndarray], np.ndarray] = features,
) -> TestResult:
    """Cross-validated balanced accuracy of a random forest telling the candidate grids from the
    reference grids (each (T, V) as grid_of gives; V must agree), on `featurize`'s vector of
    each (features, or other_features). `progress(forests fitted, forests)` is called as it goes."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold

    voices = {g.shape[1] for g in candidates + reference}
    if len(voices) != 1:
        raise ValueError(f"the pieces have different numbers of voices ({sorted(voices)})")
    folds = min(folds, len(candidates), len(reference))
    if folds < 2:
        raise ValueError("the test needs at least 2 pieces in each set")
    x = np.stack([featurize(g) for g in candidates + reference])
    y = np.array([1] * len(candidates) + [0] * len(reference))
    scores = []
    for r in range(repeats):
        predicted = np.zeros_like(y)
        for k, (train, test) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=seed + r).split(x, y)):
            if progress:
                progress(r * folds + k, repeats * folds)
            forest = RandomForestClassifier(n_estimators=300, random_state=seed + r, n_jobs=1)
            forest.fit(x[train], y[train])
            predicted[test] = forest.predict(x[test])
        scores.append(balanced_accuracy_score(y, predicted))
    accuracy = float(np.mean(scores))
    # balanced accuracy is the mean of two recalls: its variance is that of a proportion over
    # the effective count 4 / (1/n1 + 1/n0), which is len(y) only when the sets are equal
    n_eff = 4 / (1 / len(candidates) + 1 / len(reference))
    low, high = wilson(accuracy * n_eff, n_eff)
    return TestResult(accuracy, low, high, len(candidates), len(reference), repeats, folds)


def random_notes(length: int, rng: np.random.Generator) -> np.ndarray:
    """The calibration's random set: four voices of random pitches in SATB ranges, in notes of an
    eighth to a half, a (length, 4) grid as grid_of gives."""
    out = np.zeros((length, 4), dtype=np.int64)
    for v, (lo, hi) in enumerate(SATB_RANGES):
        s = 0
        while s < length:
            d = int(rng.choice([2, 4, 4, 8]))
            out[s : s + d, v] = rng.integers(lo, hi + 1)
            s += d
    return out


def cross_relation_share(grids: list[np.ndarray]) -> tuple[float, float]:
    """(the share of grid steps, the share of pieces with at least one) where two sounding voices
    are a letter and itself altered (theory.cross_related, F against F#), in each piece's key as
    estimate_key reads its notes. No grids: (nan, nan)."""
    if not grids:
        return math.nan, math.nan
    steps = clashing = pieces = 0
    for g in grids:
        notes = [Note(int(p), 0.0, 1.0) for p in g.ravel() if p >= 0]
        key = estimate_key(notes) if notes else None
        here = 0
        for row in g:
            pcs = {int(p) % 12 for p in row if p >= 0}
            here += bool(cross_related(pcs, key) & pcs)
        steps, clashing, pieces = steps + len(g), clashing + here, pieces + (here > 0)
    return clashing / steps, pieces / len(grids)


def voice_profile(grids: list[np.ndarray]) -> list[dict]:
    """Per voice, pooled over the pieces: pitch-change rate per sixteenth step, and the shares of
    melodic intervals by size (semitones 1-7, then 8+ for larger). No grids: an empty list."""
    out: list[dict] = []
    if not grids:
        return out
    for v in range(grids[0].shape[1]):
        both = changed = 0
        sizes = np.zeros(9)
        for g in grids:
            sounds, moved = changes(g[:, v])
            both += int(sounds.sum())
            changed += int(moved.sum())
            sizes += np.bincount(np.minimum(np.abs(melodic_steps(g[:, v])), 8), minlength=9)
        out.append(
            {"change_rate": changed / both if both else math.nan, "intervals": [float(x) for x in _shares(sizes)[1:]]}
        )
    return out
