"""ASAP (Aligned Scores and Performances, Foscarin et al., ISMIR 2020): scores and human piano
performances aligned beat by beat, and each score note matched to the note that played it.

The data lies in ../shared/data/asap (see ../shared/data/README.md; CC BY-NC-SA 4.0, so a model
learned from it is for non-commercial use). `metadata.csv` lists 1,021 performances of 223
score folders. A folder holds the quantized score `midi_score.mid` (repeats unfolded), its beats
`midi_score_annotations.txt` and, per performance, `<Performer>.mid` and
`<Performer>_annotations.txt`: the same beats, line for line, located in the performance. A line
is `seconds<TAB>seconds<TAB>label`; the label is `db` (a downbeat, with `,N/D` for a new time
signature and `,sharps` for a new key: `db,6/8,-4`, `db,,2`), `b` (a beat) or `bR` (a beat of an
irregular bar, such as a pickup); `b,,N` and `bR,,N` carry a key change.

`align` turns one performance into plain numpy arrays (`Aligned`): the annotated beats as score
positions in quarter notes and as seconds of the performance, and for each score note (in
`notes_in_order(score)` order, the order of an Expression's per-note arrays) the performed
note it matched, with its velocity, onset and release. `aligned` caches that as gzip JSON.

The note matching: a score note's onset is carried to the performance's time by the beats
(piecewise linear between annotated beats, extrapolated beyond the first and last with the
nearest interval's slope); it may match a performed note of the same pitch within
`match_tolerance` of that time (MATCH_SECONDS, or MATCH_BEATS of the local beat if that is
longer). Notes of one pitch are matched in time order (an order-preserving dynamic programme
over each cluster of notes that compete for the same performed notes): as many matches as
possible, then the nearest. 92% of the score notes of ASAP's 990 usable performances match
(median 95% a performance; 94% of the notes that no other note of the same pitch doubles at
the same onset, which can never all match). Most of the rest are ornaments the score MIDI
writes out (trills of 32nds, grace notes) and a performer plays with other notes.

Splits are by piece (`split_of`), never by performance, so a piece's performances stay together.

Measures for a performance benchmark: `tempo_curve` (inter-beat intervals), `loudness_curve`
(mean velocity per beat) and `curve_correlation` (Pearson r where both curves are defined).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.errors import InputError, OptionError
from cadenza.score import Score

CACHE_VERSION = 1  # bump when what `align` computes changes
MATCH_SECONDS = 0.25  # a score note matches a performed note at most this far from where the beats put it...
MATCH_BEATS = 0.3  # ...or this fraction of the local beat's length in the performance, if longer
PEDAL_DOWN = 64  # controller 64 at or above this value: the sustain pedal is down
SPLIT_PERCENT = (80, 10, 10)  # train, valid, test, by a hash of the piece (split_of)

# A folder that is another version of a piece's score (its repeats left out, or taken) is the
# same piece: Beethoven/Piano_Sonatas/17-1_no_repeat is 17-1, Schumann/Toccata_repeat is Toccata.
_VARIANT = re.compile(r"_(no_(\d+_)?repeat|no_trio|repeat)$")


@dataclass(frozen=True)
class AsapPerformance:
    composer: str
    title: str
    folder: str  # the piece's folder under the data's root, as metadata.csv writes it: Bach/Prelude/bwv_846
    performer: str  # the performance file's stem: Shi05M
    score_midi: Path
    score_annotations: Path
    performance_midi: Path
    performance_annotations: Path

    @property
    def id(self) -> str:
        """Bach/Prelude/bwv_846/Shi05M: unique over the data set."""
        return f"{self.folder}/{self.performer}"


def performances(root: Path) -> list[AsapPerformance]:
    """Every performance metadata.csv lists whose four files (score MIDI and annotations,
    performance MIDI and annotations) exist under `root`, in the file's order."""
    root = Path(root)
    meta = root / "metadata.csv"
    if not meta.is_file():
        raise InputError(meta, "no such file (is this the ASAP data set's folder?)")
    found = []
    with meta.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            p = AsapPerformance(
                composer=row["composer"],
                title=row["title"],
                folder=row["folder"],
                performer=Path(row["midi_performance"]).stem,
                score_midi=root / row["midi_score"],
                score_annotations=root / row["midi_score_annotations"],
                performance_midi=root / row["midi_performance"],
                performance_annotations=root / row["performance_annotations"],
            )
            if all(
                f.is_file() for f in (p.score_midi, p.score_annotations, p.performance_midi, p.performance_annotations)
            ):
                found.append(p)
    return found


def piece_of(folder: str) -> str:
    """The piece a folder holds: the folder without a variant's suffix (_no_repeat, _no_2_repeat,
    _no_trio, _repeat), so that two versions of one score are one piece."""
    return _VARIANT.sub("", folder.strip("/"))


def split_of(folder: str, fold: tuple[int, int] | None = None) -> str:
    """ "train", "valid" or "test" for a piece folder: the first 8 hex digits of the SHA-1 of its
    piece (piece_of: variants of one score go together), as a number, modulo 100: below 80
    train, below 90 valid, else test. Every performance of a piece is in its piece's split;
    the same folder gets the same split on every machine and run.

    With `fold` (K, N), for cross-validation: the numbers n with n * N // 100 == K (the K-th of
    N slices, as equal as 100 allows) are the test split, and of the rest those ending in 0 are
    the valid split (the same tenth in every fold, less the test slice's share of it), so that
    over K = 0..N-1 every piece is a test piece exactly once."""
    bucket = int(hashlib.sha1(piece_of(folder).encode()).hexdigest()[:8], 16) % 100
    if fold is not None:
        k, n = fold
        return "test" if bucket * n // 100 == k else "valid" if bucket % 10 == 0 else "train"
    train, valid, _ = SPLIT_PERCENT
    return "train" if bucket < train else "valid" if bucket < train + valid else "test"


def parse_fold(text: str) -> tuple[int, int] | None:
    """ "K/N" (the K-th of N cross-validation folds, 0 <= K < N, 2 <= N <= 10) as (K, N); "" as None."""
    if not text:
        return None
    match = re.fullmatch(r"([0-9]+)/([0-9]+)", text)
    if not (match and 2 <= int(match[2]) <= 10 and int(match[1]) < int(match[2])):
        raise OptionError(f"--fold {text!r}: write K/N, the K-th of N folds, 0 <= K < N, 2 <= N <= 10 (e.g. 0/5)")
    return int(match[1]), int(match[2])


# ---------------------------------------------------------------------------------------------
# annotations


def read_annotations(path: Path) -> tuple[np.ndarray, list[str]]:
    """(seconds, labels) of an annotation file's lines. InputError for a line that is not
    `seconds<TAB>seconds<TAB>label`."""
    seconds, labels = [], []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(path, f"cannot read it ({e.strerror or type(e).__name__})") from None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        try:
            seconds.append(float(fields[0]))
            labels.append(fields[2].strip())
        except (IndexError, ValueError):
            raise InputError(path, f"line {number} is not seconds, seconds and a label, tab separated") from None
    return np.array(seconds, dtype=np.float64), labels


def annotation_problem(p: AsapPerformance) -> str | None:
    """Why a performance's beats cannot be used (None when they can): the score's and the
    performance's annotation files do not have the same beats line for line, or a file's
    beats are fewer than two or do not go forward in time."""
    score_seconds, score_labels = read_annotations(p.score_annotations)
    perf_seconds, perf_labels = read_annotations(p.performance_annotations)
    if len(score_labels) != len(perf_labels):
        return f"{p.id}: {len(score_labels)} beats in the score's annotations, {len(perf_labels)} in the performance's"
    if score_labels != perf_labels:
        line = next(i for i, (a, b) in enumerate(zip(score_labels, perf_labels), 1) if a != b)
        return f"{p.id}: line {line} labels differ ({score_labels[line - 1]!r} in the score, {perf_labels[line - 1]!r})"
    if len(score_labels) < 2:
        return f"{p.id}: fewer than two annotated beats"
    for what, s in (("score", score_seconds), ("performance", perf_seconds)):
        if not np.all(np.diff(s) > 0):
            line = int(np.argmax(np.diff(s) <= 0)) + 2
            return f"{p.id}: the {what}'s beats go back in time at line {line}"
    return None


def usable(root: Path) -> tuple[list[AsapPerformance], list[str]]:
    """(the performances whose beats can be used, one line for each left out and why)."""
    good, skipped = [], []
    for p in performances(root):
        problem = annotation_problem(p)
        if problem:
            skipped.append(problem)
        else:
            good.append(p)
    return good, skipped


# ---------------------------------------------------------------------------------------------
# MIDI, read directly with symusic (the raw tempo map, the pedal)


def _symusic(path: Path, ttype: str) -> Any:
    import symusic

    from cadenza.io.midi import file_bytes

    try:
        return symusic.Score.from_midi(file_bytes(Path(path)), ttype=ttype)
    except InputError:
        raise
    except Exception as e:
        raise InputError(path, f"corrupt MIDI file ({str(e)[:80]})") from None


def score_seconds_to_quarters(path: Path, seconds: np.ndarray) -> np.ndarray:
    """Times in seconds of a MIDI file (as its tempo map plays it) -> its quarter notes, as the
    file counts them (before read_midi moves a pickup), rounded to the file's ticks. Past the
    last tempo change, the last tempo goes on; before the first, 120 bpm."""
    midi = _symusic(path, "tick")
    tpq = midi.ticks_per_quarter
    changes: dict[int, float] = {0: 0.5}  # tick -> seconds per quarter; MIDI's default 120 bpm
    for t in sorted(midi.tempos, key=lambda t: t.time):
        if t.mspq > 0:
            changes[int(t.time)] = t.mspq / 1e6
    ticks = np.array(sorted(changes), dtype=np.float64)
    spq = np.array([changes[int(t)] for t in ticks])
    quarters = ticks / tpq
    at_seconds = np.concatenate([[0.0], np.cumsum(np.diff(quarters) * spq[:-1])])
    i = np.clip(np.searchsorted(at_seconds, seconds, side="right") - 1, 0, len(ticks) - 1)
    exact = quarters[i] + (np.asarray(seconds, dtype=np.float64) - at_seconds[i]) / spq[i]
    return np.round(exact * tpq) / tpq


def performed_notes(path: Path) -> np.ndarray:
    """Every note of a MIDI file, all tracks together, as rows (start seconds, end seconds,
    pitch, velocity), by start, then pitch."""
    midi = _symusic(path, "second")
    rows = [(n.time, n.time + n.duration, n.pitch, n.velocity) for t in midi.tracks for n in t.notes]
    notes = np.array(rows, dtype=np.float64).reshape(-1, 4)
    return notes[np.lexsort((notes[:, 2], notes[:, 0]))]


def sustain_pedal(path: Path) -> list[tuple[float, float]]:
    """The spans (down, up) in seconds where a MIDI file holds the sustain pedal down
    (controller 64 at PEDAL_DOWN or more), tracks merged; a pedal never lifted is lifted at
    the file's end."""
    midi = _symusic(path, "second")
    spans: list[tuple[float, float]] = []
    for track in midi.tracks:
        down: float | None = None
        for c in sorted((c for c in track.controls if c.number == 64), key=lambda c: c.time):
            if c.value >= PEDAL_DOWN and down is None:
                down = float(c.time)
            elif c.value < PEDAL_DOWN and down is not None:
                spans.append((down, float(c.time)))
                down = None
        if down is not None:
            spans.append((down, max(float(midi.end()), down)))
    merged: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


# ---------------------------------------------------------------------------------------------
# alignment


@dataclass
class Aligned:
    """One performance aligned to its score. Per-beat arrays follow the annotated beats;
    per-note arrays follow notes_in_order(score)."""

    score: Score  # read_midi(score_midi)
    beats: np.ndarray  # the annotated beats as score positions, in quarter notes (as `score` counts them)
    seconds: np.ndarray  # the same beats' times in the performance
    downbeat: np.ndarray  # bool: the beat starts a bar
    note_index: np.ndarray  # the row of perf_notes each score note matched, -1 if none
    velocity: np.ndarray  # its performed velocity (nan if unmatched)
    onset_seconds: np.ndarray  # its performed onset (nan if unmatched)
    offset_seconds: np.ndarray  # its performed release (nan if unmatched)
    pedal: list[tuple[float, float]]  # sustain pedal spans (down, up) in performance seconds
    perf_notes: np.ndarray  # (n, 4): start seconds, end seconds, pitch, velocity of every performed note

    @property
    def match_rate(self) -> float:
        """The fraction of score notes matched to a performed note."""
        return float(np.mean(self.note_index >= 0)) if len(self.note_index) else float("nan")

    def seconds_at(self, beats) -> np.ndarray:
        """Score positions (quarter notes) -> performance seconds, on the beats' time map
        (extrapolated with the first and last beat's slope)."""
        return _extrapolated(np.atleast_1d(np.asarray(beats, dtype=np.float64)), self.beats, self.seconds)


def _extrapolated(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """np.interp, but straight on beyond both ends with the end intervals' slopes."""
    y = np.interp(x, xp, fp)
    before, after = x < xp[0], x > xp[-1]
    y[before] = fp[0] + (x[before] - xp[0]) * (fp[1] - fp[0]) / (xp[1] - xp[0])
    y[after] = fp[-1] + (x[after] - xp[-1]) * (fp[-1] - fp[-2]) / (xp[-1] - xp[-2])
    return y


def match_tolerance(onset_beats: np.ndarray, beats: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """How far (seconds) from its expected time each score note may be played and still match:
    MATCH_SECONDS, or MATCH_BEATS of the performed length of the beat it falls in if longer."""
    i = np.clip(np.searchsorted(beats, onset_beats, side="right") - 1, 0, len(beats) - 2)
    return np.maximum(MATCH_SECONDS, MATCH_BEATS * (seconds[i + 1] - seconds[i]))


def match_notes(
    pitches: np.ndarray, expected: np.ndarray, tolerance: np.ndarray, perf_pitches: np.ndarray, perf_onsets: np.ndarray
) -> np.ndarray:
    """For each score note (pitch, expected onset in seconds, tolerance), the index of the
    performed note (perf_pitches, perf_onsets) it matches, -1 for none. A match has the same
    pitch and an onset within the tolerance; each performed note matches at most one score
    note, and notes of one pitch are matched in time order. Of the matchings that allows it
    takes the most matches, then the nearest (a dynamic programme over each cluster of score
    notes competing for the same performed notes)."""
    n = len(pitches)
    result = np.full(n, -1, dtype=np.int64)
    if n == 0 or len(perf_pitches) == 0:
        return result
    # one sorted key for pitch and time: the notes of one pitch form one run, in time order
    span = float(max(np.max(np.abs(perf_onsets)), np.max(np.abs(expected)) + np.max(tolerance))) * 4 + 10.0
    perf_order = np.lexsort((perf_onsets, perf_pitches))
    perf_key = perf_pitches[perf_order] * span + perf_onsets[perf_order]
    key = pitches * span + expected
    lo = np.searchsorted(perf_key, key - tolerance, side="left")
    hi = np.searchsorted(perf_key, key + tolerance, side="right")
    has = hi > lo
    idx = np.flatnonzero(has)
    if not len(idx):
        return result
    # clusters: score notes whose windows of performed notes overlap, transitively
    order = idx[np.lexsort((key[idx], lo[idx]))]
    reach = np.maximum.accumulate(hi[order])
    starts = np.flatnonzero(np.concatenate([[True], lo[order][1:] >= reach[:-1]]))
    ends = np.concatenate([starts[1:], [len(order)]])
    for s, e in zip(starts, ends):
        members = order[s:e]
        if e - s == 1 and hi[members[0]] - lo[members[0]] == 1:
            result[members[0]] = perf_order[lo[members[0]]]
            continue
        members = members[np.argsort(key[members], kind="stable")]
        first, last = int(lo[members].min()), int(hi[members].max())
        for i, j in _best_monotone(key[members], tolerance[members], perf_key[first:last]):
            result[members[i]] = perf_order[first + j]
    return result


def _best_monotone(want: np.ndarray, tolerance: np.ndarray, have: np.ndarray) -> list[tuple[int, int]]:
    """Order-preserving pairs (i, j), |want[i] - have[j]| <= tolerance[i], each index at most
    once: the most pairs, then the smallest sum of distances against tolerances."""
    n, m = len(want), len(have)
    gain = 10.0 - np.abs(want[:, None] - have[None, :]) / tolerance[:, None]  # at least 9 when within tolerance
    ok = np.abs(want[:, None] - have[None, :]) <= tolerance[:, None]
    best = np.zeros((n + 1, m + 1))
    for i in range(1, n + 1):
        row, prev = best[i], best[i - 1]
        for j in range(1, m + 1):
            v = max(prev[j], row[j - 1])
            if ok[i - 1, j - 1]:
                v = max(v, prev[j - 1] + gain[i - 1, j - 1])
            row[j] = v
    pairs = []
    i, j = n, m
    while i > 0 and j > 0:
        if ok[i - 1, j - 1] and best[i, j] == best[i - 1, j - 1] + gain[i - 1, j - 1]:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif best[i, j] == best[i - 1, j]:
            i -= 1
        else:
            j -= 1
    return pairs[::-1]


def align(p: AsapPerformance) -> Aligned:
    """Align one performance to its score (see the module docstring). InputError for files
    that cannot be read, or beats that do not correspond (annotation_problem)."""
    from cadenza.io.midi import read_midi
    from cadenza.perform.performance import notes_in_order

    problem = annotation_problem(p)
    if problem:
        raise InputError(p.performance_annotations, problem)
    score = read_midi(p.score_midi)
    score_seconds, labels = read_annotations(p.score_annotations)
    seconds, _ = read_annotations(p.performance_annotations)
    beats = score_seconds_to_quarters(p.score_midi, score_seconds) + _pickup_shift(p.score_midi, score)
    if not np.all(np.diff(beats) > 0):
        raise InputError(p.score_annotations, f"{p.id}: two annotated beats fall on one score position")

    perf_notes = performed_notes(p.performance_midi)
    ordered = [n for _, n in notes_in_order(score)]
    onset_beats = np.array([n.start_beats for n in ordered], dtype=np.float64)
    pitches = np.array([n.pitch for n in ordered], dtype=np.float64)
    expected = _extrapolated(onset_beats, beats, seconds)
    tolerance = match_tolerance(onset_beats, beats, seconds)
    note_index = match_notes(pitches, expected, tolerance, perf_notes[:, 2], perf_notes[:, 0])

    matched = note_index >= 0
    picked = np.full((len(ordered), 4), np.nan)
    picked[matched] = perf_notes[note_index[matched]]
    return Aligned(
        score=score,
        beats=beats,
        seconds=seconds,
        downbeat=np.array([label.startswith("db") for label in labels], dtype=bool),
        note_index=note_index,
        velocity=picked[:, 3],
        onset_seconds=picked[:, 0],
        offset_seconds=picked[:, 1],
        pedal=sustain_pedal(p.performance_midi),
        perf_notes=perf_notes,
    )


def _pickup_shift(path: Path, score: Score) -> float:
    """How far read_midi moved the file's notes (a pickup bar, see pickup_from_short_bar), in quarters."""
    midi = _symusic(path, "tick")
    first = min((n.time for t in midi.tracks for n in t.notes), default=0)
    return min((n.start_beats for n in score.notes()), default=0.0) - first / midi.ticks_per_quarter


# ---------------------------------------------------------------------------------------------
# the cache


def cache_path(p: AsapPerformance) -> Path:
    """Where `aligned` keeps a performance's alignment: keyed by its four files' paths, sizes
    and modification times, CACHE_VERSION and the matching's settings."""
    from cadenza.data.corpus import cache_dir

    parts = []
    for f in (p.score_midi, p.score_annotations, p.performance_midi, p.performance_annotations):
        st = f.stat()
        parts.append(f"{f.resolve()}|{st.st_size}|{st.st_mtime_ns}")
    parts.append(f"v{CACHE_VERSION}|{MATCH_SECONDS}|{MATCH_BEATS}|{PEDAL_DOWN}")
    key = hashlib.sha1("\n".join(parts).encode()).hexdigest()
    return cache_dir() / "asap" / f"{key}.json.gz"


def aligned(p: AsapPerformance, cache: bool = True) -> Aligned:
    """align(p), kept as gzip JSON under cache_dir()/asap (cache_path); a damaged entry is
    computed again."""
    if not cache:
        return align(p)
    path = cache_path(p)
    if path.exists():
        try:
            return _from_json(json.loads(gzip.decompress(path.read_bytes())))
        except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError, IndexError):
            pass
    result = align(p)
    from cadenza.io.files import atomic_write

    atomic_write(path, gzip.compress(json.dumps(_to_json(result)).encode()), force=True)
    return result


def _to_json(a: Aligned) -> dict:
    return {
        "version": CACHE_VERSION,
        "score": a.score.to_dict(),
        "beats": a.beats.tolist(),
        "seconds": a.seconds.tolist(),
        "downbeat": a.downbeat.tolist(),
        "note_index": a.note_index.tolist(),
        "velocity": a.velocity.tolist(),
        "onset_seconds": a.onset_seconds.tolist(),
        "offset_seconds": a.offset_seconds.tolist(),
        "pedal": [list(s) for s in a.pedal],
        "perf_notes": a.perf_notes.tolist(),
    }


def _from_json(d: dict) -> Aligned:
    if d["version"] != CACHE_VERSION:
        raise ValueError("another version's cache")

    def floats(name: str) -> np.ndarray:
        return np.array(d[name], dtype=np.float64)

    return Aligned(
        score=Score.from_dict(d["score"]),
        beats=floats("beats"),
        seconds=floats("seconds"),
        downbeat=np.array(d["downbeat"], dtype=bool),
        note_index=np.array(d["note_index"], dtype=np.int64),
        velocity=floats("velocity"),
        onset_seconds=floats("onset_seconds"),
        offset_seconds=floats("offset_seconds"),
        pedal=[(float(a), float(b)) for a, b in d["pedal"]],
        perf_notes=floats("perf_notes").reshape(-1, 4),
    )


# ---------------------------------------------------------------------------------------------
# curves for the benchmark


def tempo_curve(seconds_of_beats: np.ndarray) -> np.ndarray:
    """The inter-beat intervals (seconds) of a performance's beats: one per beat but the last."""
    return np.diff(np.asarray(seconds_of_beats, dtype=np.float64))


def loudness_curve(onsets_seconds: np.ndarray, velocities: np.ndarray, beat_seconds: np.ndarray) -> np.ndarray:
    """For each beat interval [b_i, b_i+1), the mean velocity of the notes whose onset falls in
    it; nan where none does. Notes with a nan onset or velocity (unmatched) are left out."""
    onsets = np.asarray(onsets_seconds, dtype=np.float64)
    values = np.asarray(velocities, dtype=np.float64)
    edges = np.asarray(beat_seconds, dtype=np.float64)
    n = max(len(edges) - 1, 0)
    keep = np.isfinite(onsets) & np.isfinite(values)
    onsets, values = onsets[keep], values[keep]
    which = np.searchsorted(edges, onsets, side="right") - 1
    inside = (which >= 0) & (which < n)
    total = np.bincount(which[inside], weights=values[inside], minlength=n)
    count = np.bincount(which[inside], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def curve_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson's r of two curves over the beats where both are finite; nan for fewer than 3
    such beats or a curve that is constant there."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"curves of different lengths ({len(a)} and {len(b)} beats)")
    both = np.isfinite(a) & np.isfinite(b)
    if both.sum() < 3 or np.ptp(a[both]) == 0 or np.ptp(b[both]) == 0:
        return float("nan")
    x, y = a[both] - a[both].mean(), b[both] - b[both].mean()
    return float(np.clip((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()), -1.0, 1.0))
