"""The chord-beats tokenizer: a lead sheet as one step per counted beat, the melody as features and
the chord symbol in force as a class, both relative to the key's tonic.

    encode(score) -> BeatSheet   the beats, their melody features and the chord classes
    decode(classes, sheet)       the chord symbols of a class per beat, placed where they change

A beat is the meter's counted beat (theory.beat_beats: a quarter in 4/4 and 3/4, a dotted
quarter in 6/8, a half in 2/2). The beats run from the one holding the melody's first note to
the end of its last. The melody is the first pitched part's top line (or the part asked for).

A class is "no chord" (0) or a root as semitones above the tonic of the key in force, times a
kind from `kinds` (the chord kinds the training data uses often enough): 1 + root * len(kinds)
+ kind. A kind outside `kinds` counts as the kind of its triad (Am7 as Am, C9 as C) when that
is in `kinds`, else as major. A slash bass is not a class: the chord is its root's.

Features per beat (FEATURES names them, in order):
- the melody's pitch classes above the tonic, weighted by how long each sounds in the beat;
- the pitch class sounding as the beat begins (one-hot; none for a rest);
- onsets in the beat (a quarter each), the share of the beat that is rest, the melody's mean
  height ((pitch - 60) / 12);
- the beat's place in its bar (first, second, third, later), the bar's beats (2, 3, 4, other);
- minor key; place in the tune (0 to 1); first bar; last bar.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

from cadenza.chords import KINDS, TRIAD_QUALITY, ChordSymbol, chord_kind_text
from cadenza.compose.chord_paths import place_index
from cadenza.errors import MusicError, counted
from cadenza.score import Key, Meter, Note, Score, bar_starts, in_force, spelled_name, without_grace_notes
from cadenza.theory import beat_beats, cut_top_line, melody_key, spell
from cadenza.tokenize.base import config_of

NO_CHORD = 0
FEATURES = (
    *(f"sounds+{i}" for i in range(12)),
    *(f"begins+{i}" for i in range(12)),
    "onsets",
    "rest",
    "height",
    *(f"beat{i}" for i in range(1, 5)),
    *(f"bar{i}" for i in ("2", "3", "4", "other")),
    "minor",
    "place",
    "first_bar",
    "last_bar",
)
N_FEATURES = len(FEATURES)
_EPS = 1e-6


@dataclass
class BeatSheet:
    """A lead sheet's beats: start and length (quarter notes), the key in force, the melody's
    features, and the chord class of each (-1: the sheet has no chord symbols at all)."""

    starts_beats: np.ndarray  # (T,) float
    lengths_beats: np.ndarray  # (T,) float
    keys: list[Key]  # (T,)
    places: np.ndarray  # (T,) int: the beat's place (compose.chord_paths.place_index: bar size x place in bar)
    features: np.ndarray  # (T, N_FEATURES) float32
    classes: np.ndarray  # (T,) int


@dataclass(frozen=True)
class ChordBeatsTokenizer:
    kinds: tuple[str, ...] = ("major", "minor", "dominant", "diminished")
    kind: ClassVar[str] = "chords"

    def __post_init__(self) -> None:
        unknown = [k for k in self.kinds if k not in KINDS]
        if unknown or not self.kinds:
            raise ValueError(f"chord kinds {unknown or '(none)'}: expected some of {', '.join(KINDS)}")

    @property
    def vocab_size(self) -> int:
        return 1 + 12 * len(self.kinds)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "kinds": list(self.kinds)}

    @classmethod
    def from_dict(cls, d: dict) -> ChordBeatsTokenizer:
        return cls(tuple(config_of(d, cls.kind)["kinds"]))

    # -- classes

    def kind_of(self, chord: ChordSymbol) -> str:
        """The kind a chord counts as (see the module docstring)."""
        if chord.kind in self.kinds:
            return chord.kind
        triad = TRIAD_QUALITY[chord.kind]
        return triad if triad in self.kinds else "major"

    def class_of(self, chord: ChordSymbol | None, tonic: int) -> int:
        if chord is None:
            return NO_CHORD
        return 1 + ((chord.root - tonic) % 12) * len(self.kinds) + self.kinds.index(self.kind_of(chord))

    def chord_of(self, cls: int, key: Key, start_beats: float) -> ChordSymbol | None:
        """The chord symbol of a class in `key` (None for no chord), its root spelled as the key
        spells it (theory.spell: G# in E major, Ab in Eb major, G# in A minor)."""
        if cls == NO_CHORD:
            return None
        root_step, kind = divmod(cls - 1, len(self.kinds))
        root = (key.tonic + root_step) % 12
        chord = ChordSymbol(start_beats, root, self.kinds[kind])
        letter, alter, _ = spell(60 + root, key)
        return replace(chord, text=spelled_name(letter, alter) + chord_kind_text(chord))

    def root_of(self, cls: int) -> int | None:
        """Semitones above the tonic (None for no chord)."""
        return None if cls == NO_CHORD else (cls - 1) // len(self.kinds)

    # -- the pair

    def encode(self, score: Score, part: int | None = None) -> BeatSheet:
        """The beats of `score`'s melody (the first pitched part, or part `part`, 0-based).
        Raises MusicError for a score with no pitched notes there."""
        line = melody_line(score, part)
        if not line:
            raise MusicError("no melody: the part has no pitched notes")
        key = melody_key(score, line, on_final=False)  # as the shipped chords models learned it
        keys = sorted(score.keys, key=lambda k: k.start_beats) if score.key == key else [key]
        starts, lengths, places, bar_sizes, bar_of = _beats(score, line)
        T = len(starts)
        features = np.zeros((T, N_FEATURES), dtype=np.float32)
        key_at = [in_force(keys, s) or key for s in starts]
        chords = sorted(score.chords, key=lambda c: c.start_beats)
        classes = np.full(T, -1 if not chords else NO_CHORD, dtype=np.int64)
        ends = np.array([n.end_beats for n in line])
        onsets = np.array([n.start_beats for n in line])
        for t in range(T):
            a, b, k = starts[t], starts[t] + lengths[t], key_at[t]
            f = features[t]
            sounding = np.nonzero((onsets < b - _EPS) & (ends > a + _EPS))[0]
            covered = 0.0
            heights = []
            for i in sounding:
                n = line[i]
                overlap = min(b, n.end_beats) - max(a, n.start_beats)
                f[(n.pitch - k.tonic) % 12] += overlap / lengths[t]
                covered += overlap
                heights.append(n.pitch)
                if n.start_beats <= a + _EPS:
                    f[12 + (n.pitch - k.tonic) % 12] = 1.0
            f[24] = np.sum((onsets >= a - _EPS) & (onsets < b - _EPS)) / 4
            f[25] = max(0.0, 1 - covered / lengths[t])
            f[26] = (np.mean(heights) - 60) / 12 if heights else 0.0
            f[27 + min(places[t], 3)] = 1.0
            f[31 + {2: 0, 3: 1, 4: 2}.get(bar_sizes[t], 3)] = 1.0
            f[35] = k.mode == "minor"
            f[36] = t / max(T - 1, 1)
            f[37] = bar_of[t] == bar_of[0]
            f[38] = bar_of[t] == bar_of[-1]
            if chords:
                classes[t] = self.class_of(in_force(chords, a), k.tonic)
        where = np.array([place_index(size, place) for size, place in zip(bar_sizes, places)], dtype=np.int64)
        return BeatSheet(starts, lengths, key_at, where, features, classes)

    def decode(self, classes, sheet: BeatSheet) -> list[ChordSymbol]:
        """Chord symbols where the chord changes (none for a change to no chord). A class is
        relative to the key in force: at a change of key the same class is another chord."""
        chords: list[ChordSymbol] = []
        previous: ChordSymbol | None = None
        for t, cls in enumerate(int(c) for c in classes):
            chord = self.chord_of(cls, sheet.keys[t], float(sheet.starts_beats[t]))
            if chord is not None and (previous is None or (chord.root, chord.kind) != (previous.root, previous.kind)):
                chords.append(chord)
            previous = chord
        return chords


def melody_line(score: Score, part: int | None = None) -> list[Note]:
    """The melody a lead sheet's chords go with: the top line of part `part` (0-based), else of
    the first part with pitched notes, each note cut where the next begins."""
    score = without_grace_notes(score)  # ornaments aside
    if part is not None:
        if not 0 <= part < len(score.parts):
            count = len(score.parts)
            raise MusicError(f"no part {part + 1}: the score has {counted(count, 'part')}")
        if score.parts[part].is_drum:
            raise MusicError(f"part {part + 1} ({score.parts[part].name or 'unnamed'}) is drums, not a melody")
        return cut_top_line(score.parts[part].notes)
    for p in score.parts:
        if p.notes and not p.is_drum:
            return cut_top_line(p.notes)
    return []


def _beats(score: Score, line: list[Note]) -> tuple[np.ndarray, np.ndarray, list[int], list[int], list[int]]:
    """(start, length, place in bar, beats in bar, bar number) of each counted beat from the one holding the
    melody's first note to the end of its last."""
    first, last = line[0].start_beats, max(n.end_beats for n in line)
    meters = sorted(score.meters, key=lambda m: m.start_beats) or [Meter(0.0, 4, 4)]
    bars = bar_starts(score)
    starts, lengths, places, sizes, bar_of = [], [], [], [], []
    for i, bar in enumerate(bars):
        end = bars[i + 1] if i + 1 < len(bars) else max(last, bar + _EPS)
        meter = in_force(meters, bar) or meters[0]
        step = beat_beats(meter)
        per_bar = max(1, round(meter.bar_beats / step))
        at, place = bar, 0
        while at < end - _EPS:
            length = min(step, end - at)
            if at + length > first + _EPS and at < last - _EPS:
                starts.append(at)
                lengths.append(length)
                places.append(place)
                sizes.append(per_bar)
                bar_of.append(i)
            at += step
            place += 1
    return np.array(starts, dtype=np.float64), np.array(lengths, dtype=np.float64), places, sizes, bar_of
