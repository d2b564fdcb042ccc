"""POP909 (Wang, Chen, Jiang et al., ISMIR 2020): 909 Chinese pop songs arranged for piano, as a
melody, a secondary melody and a piano accompaniment, with beats, chords, keys and (from Dai,
Zhang & Dannenberg's hierarchical-structure annotations) the form. The data lies in
../shared/data/pop909 (see ../shared/data/README.md), one folder per song (about 890 of them).
License: MIT for both (pop909/LICENSE-POP909, (c) 2020 Music X Lab; pop909/LICENSE-structure,
(c) 2020 Shuqi Dai), as the LICENSE constant says: free to use, copy and modify, keeping the
copyright and permission notices.

What is read, per song folder NNN/:
- `NNN.mid`: tracks MELODY (the sung melody), BRIDGE (a secondary melody: instrumental leads in
  intros and interludes, counter-melodies) and PIANO (the accompaniment, with its sustain pedal),
  performed against a click: in seconds, not quantized. The file's own tempo and time signature
  (mostly 1/4) mean nothing and are not used.
- `beat_midi.txt`: one line per beat, `seconds  d2  d4`. d2 is 1 on every other beat in a duple
  song (a 2/4 downbeat) and on every third in a triple one (a 3/4 downbeat); d4 on every 4th
  (a 4/4 downbeat) or every 6th. Both come from a beat tracker and slip now and then: d4 has a
  2-beat "bar" about every 50 beats in many songs (beats 48, 98, 148...), and in some songs its
  phase is off by two beats throughout (compared with the hand-aligned bars below).
- `chord_midi.txt`: `start end name` in seconds, Harte-style names ("B:maj", "C#:min7",
  "Bb:maj/5", "E:sus4(b7)", "N" for no chord); every boundary lies on a beat of beat_midi.txt.
- `key_audio.txt`: `start end name` ("Gb:maj") in seconds (structure/analyzed_key.txt, one key
  for the song, when it is missing).
- `structure/melody.txt` (the melody by hand in sixteenths, `pitch duration`, pitch 0 a rest, its
  bars aligned to the bar lines by hand) and `structure/human_label1.txt` (the form: a letter per
  phrase and its length in bars, "i4A4B8A4...": upper case a melodic phrase, i intro, o outro,
  x/X/b instrumental).

How it is quantized and aligned (`read_song`). The beat grid is the song's own beats: a time in
seconds becomes a beat by linear interpolation between the beats of beat_midi.txt (beyond the
first and last, the nearest interval's length); a quarter note is one of those beats. Note onsets
and ends are then rounded to the nearest sixteenth (1/4 beat), a note lasts at least a sixteenth,
and two notes of one pitch that now overlap in a part are cut (the earlier ends where the later
begins; the same onset twice keeps the longer). Chord changes fall on beats: every boundary of
chord_midi.txt is one of beat_midi.txt's beats, so rounding to the nearest beat only absorbs float
noise (a chord may change on any beat, not only on a bar line).

Bar lines come from the hand-made files, not from d4 (which puts only about 70% of the
hand-aligned bar lines on its downbeats). structure/melody.txt keeps the song's beats one for one,
from its own bar 0 (where the music starts: the first chord that is not "N" in two songs of
three, the beat file's first downbeat in under half), except where it leaves out or adds a beat or two (an
irregular bar it evened out). So it is matched to the MIDI's quantized melody: for each of its
bars, the shift in sixteenths under which its notes (pitch and onset), and its chord changes
(finalized_chord.txt's, against chord_midi.txt's, for the bars where the melody rests), are found
in the MIDI, by a Viterbi path over the shifts the song supports most with a cost for changing
shift (`structure_shifts`; 99% of the hand-made notes match, against 89% under one shift a song).
Each hand-made bar line, moved by its bar's shift, is a bar line of the score (at the nearest
beat). Where the shift changes, the bar between is irregular and gets a meter of its own (a
6-beat stretch in a 4/4 song is a 4/4 and a 2/4 bar; 176 songs have such bars, 293 in all).
Before the first and after the last hand-made bar, bars go on regularly. Without a structure
folder (or with an empty melody.txt) the bar lines are regular at the phase most of d4's
downbeats (d2's in triple time) have. Beat 0 of the score is the last bar line at or before the
first note, so that a pickup lies inside a first bar counted from beat 0 (as
cadenza.score.pickup_start expects); the beats before it (count-in, silence) are dropped.
`read_song_aligned` gives the Score and its Alignment (that beat 0, and the per-bar shifts).

Meter: 4/4 when d2 falls every 2 beats, 3/4 when every 3 (27 songs read); each irregular bar gets
its own meter (1/4, 2/4, 3/4) and the next bar returns to the song's. Key: key_audio.txt's keys,
each change moved to the nearest bar line, the first at beat 0. Tempo: one, 60 / the mean beat
period (structure/tempo.txt has it rounded). Chords (`harte_text`): maj "", min "m", 7, maj7,
min7 "m7", dim, aug, dim7, hdim7 "m7b5", minmaj7 "mM7", maj6 "6", min6 "m6", sus2, sus4, 9ths...,
an inversion "/3", "/5", "/b7" (a degree above the root) a slash chord over that bass note
("Bb:maj/5" -> "Bb/F"). "sus4(b7)" (C7sus4, 1% of the chords) becomes "Csus4": cadenza.chords has
no 7sus4 kind, and its b7 is dropped rather than a third added. "N" (no chord) gives no symbol:
before the first chord there is none, but Score.chords cannot end a chord, so the chord before
an "N" inside the song (804 of 122,156 spans) or at its end stays in force through it. Sections:
human_label1.txt's phrases, each from its first bar's line; labels that start past the last note
are left out (song 062's labels, "...C8C86b8...", add up to more bars than the song has).

Skipped (InputError, naming the file): a song whose beats say 3/4 but whose labelled bars are 4
beats long (328, 624); one whose hand-made melody matches under half of the MIDI's under any
shifts (746: its beats are at half the song's pace); and one in ternary rhythm (12/8 or a shuffle:
more than TERNARY_SHARE of the melody's and piano's onsets on thirds of a beat, and more than on
odd sixteenths; 25 songs), which a sixteenth grid would distort (a triplet becoming 0, 1/4, 3/4).

Parts: "melody" (MELODY), "bridge" (BRIDGE, kept apart: it is neither the sung melody a model is
conditioned on nor the piano accompaniment it should learn; about half its notes start while the
melody sounds, as counter-melodies, the rest in intros, interludes and the singer's rests),
"piano" (PIANO, with its sustain pedal): MELODY_PART, BRIDGE_PART and ACCOMPANIMENT_PART.
Velocities are kept.

`pop_songs` reads every song folder under a root, each parsed once and cached as gzip JSON (a
Score's to_dict) under $CADENZA_CACHE/pop909, keyed by the folder's path and its files' sizes and
mtimes; songs go to train/valid/test by cadenza.data.corpus.tune_split of their id
("pop909:001"). A song that cannot be read is skipped with a one-line reason.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cadenza.chords import LETTER_PITCH_CLASS, LETTERS, parse_chord
from cadenza.data.corpus import TUNE_SPLITS as SPLITS
from cadenza.data.corpus import Piece, cache_dir
from cadenza.data.corpus import tune_split as split_of
from cadenza.errors import CadenzaError, InputError
from cadenza.score import Key, Meter, Note, Part, Pedal, Score, Section, Tempo, parse_key

LICENSE = (
    "MIT: POP909 (c) 2020 Music X Lab (pop909/LICENSE-POP909); its structure annotations (c) 2020 "
    "Shuqi Dai (pop909/LICENSE-structure)"
)
MELODY_PART = "melody"  # MELODY: the sung melody, what an accompaniment is conditioned on
BRIDGE_PART = "bridge"  # BRIDGE: the secondary melody (instrumental leads, counter-melodies)
ACCOMPANIMENT_PART = "piano"  # PIANO: the accompaniment to learn
_TRACKS = {"MELODY": MELODY_PART, "BRIDGE": BRIDGE_PART, "PIANO": ACCOMPANIMENT_PART}
CACHE_VERSION = 1  # bump when what read_song makes changes
MIN_STRUCTURE_MATCH = 0.5  # a song whose hand-made melody matches less (under any shifts) is skipped
TERNARY_SHARE = 0.1  # a song with more onsets on thirds of a beat (and more than on odd sixteenths) is skipped
SHIFT_CHANGE_COST = 6.0  # notes' worth of matches a change of the hand-made melody's shift must win...
SHIFT_JUMP_COST = 0.5  # ...and this many more per beat it moves
_SHIFT_CANDIDATES = 40  # shifts the Viterbi path chooses among: those most notes support

# Harte quality -> cadenza.chords spelling after the root
_QUALITIES = {
    "maj": "",
    "min": "m",
    "aug": "aug",
    "dim": "dim",
    "sus2": "sus2",
    "sus4": "sus4",
    "7": "7",
    "maj7": "maj7",
    "min7": "m7",
    "dim7": "dim7",
    "hdim7": "m7b5",
    "minmaj7": "mM7",
    "maj6": "6",
    "min6": "m6",
    "9": "9",
    "maj9": "maj9",
    "min9": "m9",
    "11": "11",
    "min11": "m11",
    "13": "13",
    "maj13": "maj13",
    "min13": "m13",
    "5": "5",
}
# an extension in parentheses -> the alteration cadenza.chords writes ("" when the kind has it)
_EXTENSIONS = {
    "9": "add9",
    "2": "add2",
    "4": "add4",
    "11": "add11",
    "13": "add13",
    "b9": "b9",
    "#9": "#9",
    "#11": "#11",
    "b13": "b13",
    "b5": "b5",
    "#5": "#5",
}
_DEGREE_SEMITONES = {1: 0, 2: 2, 3: 4, 4: 5, 5: 7, 6: 9, 7: 11}
_PC_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_LABEL = re.compile(r"([A-Za-z])(\d+)")


# ---------------------------------------------------------------------------------------------
# the annotation files


@dataclass(frozen=True)
class Beats:
    """beat_midi.txt: each beat's time and its two downbeat marks."""

    seconds: np.ndarray  # (n,) float, increasing
    down2: np.ndarray  # (n,) bool: a 2/4 (or 3/4) downbeat
    down4: np.ndarray  # (n,) bool: a 4/4 (or 6-beat) downbeat

    @property
    def beats_per_bar(self) -> int:
        """3 when the d2 marks fall every third beat (a triple song), else 4."""
        gaps = np.diff(np.flatnonzero(self.down2))
        return 3 if len(gaps) and int(np.median(gaps)) == 3 else 4

    def to_beats(self, seconds: np.ndarray) -> np.ndarray:
        """Seconds -> beats (0 = the file's first beat), linear between beats and, beyond the first
        and last, at the pace of the nearest interval."""
        t = self.seconds
        seconds = np.asarray(seconds, dtype=float)
        out = np.interp(seconds, t, np.arange(len(t), dtype=float))
        lo, hi = seconds < t[0], seconds > t[-1]
        out[lo] = (seconds[lo] - t[0]) / (t[1] - t[0])
        out[hi] = len(t) - 1 + (seconds[hi] - t[-1]) / (t[-1] - t[-2])
        return out


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(path, f"cannot read it ({getattr(e, 'strerror', None) or type(e).__name__})") from None
    return [line for line in text.splitlines() if line.strip()]


def read_beats(path: Path) -> Beats:
    """beat_midi.txt -> Beats. InputError for a line that is not three numbers, fewer than two
    beats, or times that do not increase."""
    rows = []
    for number, line in enumerate(_lines(path), 1):
        try:
            t, d2, d4 = (float(x) for x in line.split())
        except ValueError:
            raise InputError(path, f"line {number} is not 'seconds d2 d4': {line.strip()[:40]!r}") from None
        rows.append((t, d2, d4))
    if len(rows) < 2:
        raise InputError(path, f"{len(rows)} beat(s): need at least two")
    a = np.array(rows)
    if not np.all(np.diff(a[:, 0]) > 0):
        at = int(np.argmin(np.diff(a[:, 0]))) + 2
        raise InputError(path, f"beat times do not increase (line {at})")
    return Beats(a[:, 0], a[:, 1] > 0.5, a[:, 2] > 0.5)


def _timed_names(path: Path) -> list[tuple[float, float, str]]:
    """`start end name` lines (chord_midi.txt, key_audio.txt)."""
    out = []
    for number, line in enumerate(_lines(path), 1):
        fields = line.split(None, 2)
        try:
            out.append((float(fields[0]), float(fields[1]), fields[2].strip()))
        except (ValueError, IndexError):
            raise InputError(path, f"line {number} is not 'start end name': {line.strip()[:40]!r}") from None
    return out


def _spell_bass(root: str, degree: int, semitones: int) -> str:
    """The bass `degree` letters above `root` (a third above E: G#), `semitones` above it, or its
    usual name when that would take two sharps or flats."""
    pc = (LETTER_PITCH_CLASS[root[0]] + {"#": 1, "b": -1}.get(root[1:], 0) + semitones) % 12
    letter = LETTERS[(LETTERS.index(root[0]) + degree - 1) % 7]
    alter = (pc - LETTER_PITCH_CLASS[letter] + 6) % 12 - 6
    return letter + {-1: "b", 0: "", 1: "#"}[alter] if -1 <= alter <= 1 else _PC_NAMES[pc]


def harte_text(name: str) -> str | None:
    """A POP909 (Harte) chord name -> a text cadenza.chords.parse_chord reads: "B:maj" -> "B",
    "C#:min7" -> "C#m7", "Bb:maj/5" -> "Bb/F", "E:min/b3" -> "Em/G", "D:hdim7" -> "Dm7b5",
    "C:maj(9)" -> "Cadd9", "E:sus4(b7)" -> "Esus4" (no 7sus4 kind: the b7 is dropped); None for
    "N" (no chord). Raises ValueError for a name it cannot map."""
    name = name.strip()
    if name in ("N", "X", ""):
        return None
    m = re.fullmatch(r"([A-G][#b]?)(?::([^/(]*)(?:\(([^)]*)\)?)?)?(?:/([#b]*)(\d+))?", name)
    if not m:
        raise ValueError(f"unknown chord {name!r}")
    root, quality, extensions, accidentals, degree = m.groups()
    quality = quality or "maj"
    if quality not in _QUALITIES:
        raise ValueError(f"unknown chord quality {quality!r} in {name!r}")
    text = root + _QUALITIES[quality]
    for ext in (e.strip() for e in (extensions or "").split(",") if e.strip()):
        if ext.startswith("*") or (ext == "b7" and quality.startswith("sus")):
            continue  # an omitted tone; a 7sus4's b7, which no kind holds
        if ext not in _EXTENSIONS:
            raise ValueError(f"unknown chord extension {ext!r} in {name!r}")
        text += _EXTENSIONS[ext]
    if degree:
        d = int(degree)
        semitones = _DEGREE_SEMITONES[(d - 1) % 7 + 1] + accidentals.count("#") - accidentals.count("b")
        if semitones % 12:
            text += "/" + _spell_bass(root, (d - 1) % 7 + 1, semitones)
    return text


def _key_of(name: str) -> Key:
    """'Gb:maj' -> Gb major, 'C#:min' -> C# minor."""
    m = re.fullmatch(r"\s*([A-G][#b]?)\s*:\s*(maj|min)\w*\s*", name)
    if not m:
        raise ValueError(f"unknown key {name!r} (expected e.g. Gb:maj, C#:min)")
    return parse_key(f"{m.group(1)} {'major' if m.group(2) == 'maj' else 'minor'}")


def read_labels(path: Path) -> list[tuple[str, int]]:
    """human_label1.txt -> [(letter, bars)], "i4A4B8" -> [("i", 4), ("A", 4), ("B", 8)]."""
    text = "".join(_lines(path)).replace(" ", "")
    if not re.fullmatch(r"(?:[A-Za-z]\d+)+", text):
        raise InputError(path, f"not a form like i4A4B8A4: {text[:40]!r}")
    return [(letter, int(bars)) for letter, bars in _LABEL.findall(text)]


def read_structure_melody(path: Path) -> list[tuple[int, int, int]]:
    """structure/melody.txt -> [(start, duration, pitch)] in sixteenths from its bar 0, rests left
    out."""
    notes, at = [], 0
    for number, line in enumerate(_lines(path), 1):
        try:
            pitch, duration = (int(x) for x in line.split())
        except ValueError:
            raise InputError(path, f"line {number} is not 'pitch sixteenths': {line.strip()[:40]!r}") from None
        if pitch:
            notes.append((at, duration, pitch))
        at += duration
    return notes


def read_structure_chords(path: Path) -> list[tuple[str, int]]:
    """structure/finalized_chord.txt -> [(Harte name, beats)]: 'B:maj [3, 6, 11] 11 2'."""
    out = []
    for number, line in enumerate(_lines(path), 1):
        name, _, rest = line.partition(" [")
        try:
            out.append((name.strip(), int(rest.split()[-1])))
        except (ValueError, IndexError):
            raise InputError(path, f"line {number} is not 'name [tones] root beats': {line.strip()[:40]!r}") from None
    return out


# ---------------------------------------------------------------------------------------------
# bar lines


def structure_shifts(
    midi_melody: list[tuple[int, int]],
    hand_melody: list[tuple[int, int, int]],
    n_bars: int,
    bar: int,
    midi_chords: set[tuple[int, str]] | None = None,
    hand_chords: list[tuple[int, str]] | None = None,
) -> tuple[list[int], float]:
    """Per bar of the hand-made melody, the shift in sixteenths that carries it onto the MIDI's
    quantized melody, and the share of its notes that then match. `midi_melody`: (onset in
    sixteenths of the beat file's beats, pitch); `hand_melody`: read_structure_melody's notes.
    A Viterbi path over the shifts most notes support, each bar scored by its notes found in the
    MIDI under a shift, and its chord changes (`hand_chords`: sixteenth, Harte name) found among
    chord_midi.txt's (`midi_chords`), which place the bars where the melody rests. A change of shift
    costs SHIFT_CHANGE_COST matches and SHIFT_JUMP_COST more per beat it moves (so a repeated
    chorus elsewhere does not draw the path away), and may not move a bar line back onto or
    behind the one before."""
    notes = [(s, p) for s, _, p in hand_melody if s // (4 * bar) < n_bars]
    if not notes or not midi_melody or n_bars < 1:
        return [0] * max(n_bars, 0), 0.0
    midi = set(midi_melody)
    by_pitch: dict[int, list[int]] = {}
    for q, p in midi:
        by_pitch.setdefault(p, []).append(q)
    support = Counter(q - s for s, p in notes for q in by_pitch.get(p, ()))
    if not support:
        return [0] * n_bars, 0.0
    shifts = np.array([o for o, _ in support.most_common(_SHIFT_CANDIDATES)])
    score = np.zeros((n_bars, len(shifts)))
    for s, p in notes:
        for k, o in enumerate(shifts.tolist()):
            if (s + o, p) in midi:
                score[s // (4 * bar), k] += 1
    melody_score = score.copy()
    for s, name in hand_chords or ():
        if s // (4 * bar) < n_bars:
            for k, o in enumerate(shifts.tolist()):
                if (s + o, name) in (midi_chords or ()):
                    score[s // (4 * bar), k] += 1
    move = shifts[None, :] - shifts[:, None]  # [from, to], sixteenths
    cost = np.where(move == 0, 0.0, SHIFT_CHANGE_COST + SHIFT_JUMP_COST * np.abs(move) / 4)
    cost[move <= -4 * bar] = np.inf
    value = score[0].copy()
    back = np.zeros((n_bars, len(shifts)), dtype=int)
    for b in range(1, n_bars):
        options = value[:, None] - cost  # [from, to]
        back[b] = np.argmax(options, axis=0)
        value = options[back[b], np.arange(len(shifts))] + score[b]
    path = [int(np.argmax(value))]
    for b in range(n_bars - 1, 0, -1):
        path.append(int(back[b, path[-1]]))
    path.reverse()
    matched = float(sum(melody_score[b, k] for b, k in enumerate(path)))
    return [int(shifts[k]) for k in path], matched / len(notes)


def _regular_phase(beats: Beats, bar: int) -> int:
    """The beat (mod bar) most downbeats of the beat file fall on (d4's, or d2's in triple time)."""
    marks = np.flatnonzero(beats.down2 if bar == 3 else beats.down4)
    return Counter(int(i) % bar for i in marks).most_common(1)[0][0] if len(marks) else 0


def _meters(lines: list[int], bar: int) -> list[Meter]:
    """Bar lines (beats from beat 0, the first at 0) -> the meters: a bar of `bar` beats is the
    song's meter, a shorter one a meter of its own, a longer one that many whole bars and the rest."""
    lengths: list[int] = []
    for a, b in zip(lines, lines[1:]):
        gap = b - a
        lengths += [bar] * (gap // bar) + ([gap % bar] if gap % bar else [])
    meters: list[Meter] = []
    at = 0
    for n in [*lengths, bar]:
        if not meters or meters[-1].numerator != n:
            meters.append(Meter(float(at), n, 4))
        at += n
    return meters


# ---------------------------------------------------------------------------------------------
# the song


def song_id(folder: Path) -> str:
    """'pop909:001' for a song folder named 001."""
    return f"pop909:{Path(folder).name}"


def _quantized(onsets: np.ndarray, ends: np.ndarray, pitches: list[int], velocities: list[int]) -> list[Note]:
    """Notes from onsets and ends in beats, rounded to sixteenths (at least one long); one pitch's
    overlapping notes cut, the same onset twice kept once (the longer)."""
    on = np.floor(onsets * 4 + 0.5) / 4
    off = np.maximum(np.floor(ends * 4 + 0.5) / 4, on + 0.25)
    best: dict[tuple[int, float], tuple[float, int]] = {}
    for a, b, p, v in zip(on.tolist(), off.tolist(), pitches, velocities):
        old = best.get((p, a))
        if old is None or b > old[0]:
            best[(p, a)] = (b, v)
    notes = sorted((a, p, b, v) for (p, a), (b, v) in best.items())
    last: dict[int, int] = {}  # pitch -> index in out of its latest note
    out: list[Note] = []
    for a, p, b, v in notes:
        if p in last and out[last[p]].end_beats > a:
            prev = out[last[p]]
            out[last[p]] = Note(prev.pitch, prev.start_beats, a - prev.start_beats, prev.velocity)
        last[p] = len(out)
        out.append(Note(p, a, b - a, v))
    return out


@dataclass(frozen=True)
class Alignment:
    """How a song's score lies on its beat file and its hand-made (structure/) files."""

    origin: int  # the beat of beat_midi.txt (0 = its first line) that is the score's beat 0
    bar: int  # beats in a regular bar: 4 or 3
    shifts: tuple[int, ...]  # per hand-made bar: sixteenths from its place to the beat file's; () when unused
    matched: float  # share of the hand-made melody's notes found in the MIDI under those shifts

    def hand_to_score(self, sixteenths: int) -> float:
        """A place in the hand-made files (sixteenths from their bar 0) -> the score's beats."""
        if not self.shifts:
            raise ValueError("the song's bar lines do not come from its hand-made files")
        b = min(max(sixteenths // (4 * self.bar), 0), len(self.shifts) - 1)
        return (sixteenths + self.shifts[b]) / 4 - self.origin


def read_song(folder: Path) -> Score:
    """One POP909 song folder -> a Score on its own beats: parts "melody", "bridge" and "piano",
    chord symbols, key(s), one tempo, meters and sections (see the module docstring). Raises
    InputError naming the file at fault."""
    return read_song_aligned(folder)[0]


def read_song_aligned(folder: Path) -> tuple[Score, Alignment]:
    """read_song's Score, and how it lies on the beat file and the hand-made files (Alignment)."""
    import pretty_midi

    folder = Path(folder)
    mid = folder / f"{folder.name}.mid"
    if not mid.is_file():
        found = sorted(folder.glob("*.mid"))
        if len(found) != 1:
            raise InputError(mid, "no such file" if not found else f"{len(found)} MIDI files in the folder")
        mid = found[0]
    beats = read_beats(folder / "beat_midi.txt")
    chord_path = folder / "chord_midi.txt"
    chord_rows = _timed_names(chord_path)
    bar = beats.beats_per_bar
    try:
        pm = pretty_midi.PrettyMIDI(str(mid))
    except Exception as e:  # a damaged file raises anything from mido's parser
        raise InputError(mid, f"not a readable MIDI file ({type(e).__name__}: {str(e)[:80]})") from None
    tracks = {}
    for inst in pm.instruments:
        part = _TRACKS.get(inst.name.strip().upper())
        if part and inst.notes:
            tracks[part] = inst
    for need in ("MELODY", "PIANO"):
        if _TRACKS[need] not in tracks:
            names = ", ".join(i.name.strip() or "(unnamed)" for i in pm.instruments) or "none"
            raise InputError(mid, f"no {need} track with notes (tracks: {names})")

    # the notes, in beats of the beat file (0 = its first beat), not yet quantized
    timed = {}
    for part, inst in tracks.items():
        ns = sorted(inst.notes, key=lambda n: (n.start, n.pitch))
        on = beats.to_beats(np.array([n.start for n in ns]))
        off = beats.to_beats(np.array([n.end for n in ns]))
        timed[part] = (on, off, [int(n.pitch) for n in ns], [int(n.velocity) for n in ns])
    onsets = np.concatenate([timed[MELODY_PART][0], timed[ACCOMPANIMENT_PART][0]])
    fraction = onsets - np.floor(onsets)
    thirds = float(np.mean((np.abs(fraction - 1 / 3) < 0.04) | (np.abs(fraction - 2 / 3) < 0.04)))
    odd_sixteenths = float(np.mean((np.abs(fraction - 0.25) < 0.04) | (np.abs(fraction - 0.75) < 0.04)))
    if thirds > TERNARY_SHARE and thirds > odd_sixteenths:
        raise InputError(
            mid,
            f"ternary rhythm (12/8 or shuffle): {thirds:.0%} of the melody's and piano's onsets fall on thirds "
            f"of a beat (against {odd_sixteenths:.0%} on odd sixteenths), which a sixteenth grid cannot hold",
        )
    first = min(float(np.floor(t[0].min() * 4 + 0.5) / 4) for t in timed.values())
    last = max(float(t[1].max()) for t in timed.values())

    # bar lines, in beats of the beat file, and the hand-made bars' lines (for the sections)
    structure = folder / "structure"
    labels: list[tuple[str, int]] = []
    hand_lines: list[int] = []
    shifts: list[int] = []
    matched = 0.0
    if (structure / "melody.txt").is_file():
        hand = read_structure_melody(structure / "melody.txt")
        if (structure / "human_label1.txt").is_file():
            labels = read_labels(structure / "human_label1.txt")
        n_bars = max(sum(n for _, n in labels), max((s + d for s, d, _ in hand), default=0) // (4 * bar) + 1)
        if labels and hand:
            hand_bar = _hand_bar_beats(hand, structure, sum(n for _, n in labels))
            if hand_bar != bar:
                raise InputError(
                    structure / "human_label1.txt",
                    f"its bars are {hand_bar} beats long, the beats' meter {bar} (beat_midi.txt): meter unclear",
                )
        mel_on, _, mel_pitch, _ = timed[MELODY_PART]
        midi_melody = list(zip(np.floor(mel_on * 4 + 0.5).astype(int).tolist(), mel_pitch))
        hand_chords: list[tuple[int, str]] = []
        if (structure / "finalized_chord.txt").is_file():
            at = 0
            for name, length in read_structure_chords(structure / "finalized_chord.txt"):
                if not hand_chords or hand_chords[-1][1] != name:
                    hand_chords.append((4 * at, name))
                at += length
        midi_chords = _chord_changes(chord_rows, beats)
        shifts, matched = structure_shifts(midi_melody, hand, n_bars, bar, midi_chords, hand_chords)
        if hand and matched < MIN_STRUCTURE_MATCH:
            raise InputError(
                structure / "melody.txt",
                f"only {matched:.0%} of its notes are the MIDI melody's under any shift: "
                "the beats (beat_midi.txt) or bars are unclear",
            )
        if hand:
            hand_lines = [math.floor((b * 4 * bar + o) / 4 + 0.5) for b, o in enumerate(shifts)]
        else:
            shifts = []
    if hand_lines:
        lines = hand_lines[:1]
        for x in hand_lines[1:]:
            if x > lines[-1]:  # two hand-made bar lines on one beat (a shift of under a beat): one
                lines.append(x)
    else:
        labels = []  # without the hand-made bars, the form's bars cannot be placed
        phase = _regular_phase(beats, bar)
        lines = [phase]
    while lines[0] > first:
        lines.insert(0, lines[0] - bar)
    while lines[-1] + bar <= last:
        lines.append(lines[-1] + bar)
    origin = max(x for x in lines if x <= first)
    lines = [x - origin for x in lines if origin <= x <= last]

    score = Score(title=f"POP909 {folder.name}", composer="")
    for part in (MELODY_PART, BRIDGE_PART, ACCOMPANIMENT_PART):
        if part not in timed:
            continue
        on, off, pitches, velocities = timed[part]
        notes = _quantized(on - origin, off - origin, pitches, velocities)
        pedals = _pedals(tracks[part], beats, origin) if part == ACCOMPANIMENT_PART else []
        score.parts.append(Part(name=part, program=0, notes=notes, pedals=pedals))
    score.meters = _meters(lines, bar)
    score.tempos = [Tempo(0.0, round(60.0 / float(np.mean(np.diff(beats.seconds))), 3))]
    score.chords = _chords(chord_path, chord_rows, beats, origin)
    score.keys = _keys(folder, beats, origin, lines)
    end = score.end_beats
    at = 0
    for letter, n in labels:
        if at < len(hand_lines) and hand_lines[at] - origin < end:
            start = float(max(hand_lines[at] - origin, 0))
            if score.sections and score.sections[-1].start_beats >= start:
                score.sections.pop()  # two labels on one beat (before the first note): the later one
            score.sections.append(Section(start, letter))
        at += n
    try:
        score.validate()
    except CadenzaError as e:
        raise InputError(mid, str(e)) from None
    return score, Alignment(origin, bar, tuple(shifts), matched if shifts else 0.0)


def _hand_bar_beats(hand: list[tuple[int, int, int]], structure: Path, labelled_bars: int) -> int:
    """The beats in a bar of the hand-made files: their length (the chords', else the melody's)
    over the labelled bars, 3 or 4."""
    chords = structure / "finalized_chord.txt"
    beats = sum(n for _, n in read_structure_chords(chords)) if chords.is_file() else max(s + d for s, d, _ in hand) / 4
    return 3 if beats / max(labelled_bars, 1) < 3.5 else 4


def _pedals(inst, beats: Beats, origin: int) -> list[Pedal]:
    """The sustain pedal (controller 64 at 64 or more) held, in sixteenths."""
    spans, down = [], None
    for cc in sorted((c for c in inst.control_changes if c.number == 64), key=lambda c: c.time):
        if cc.value >= 64 and down is None:
            down = cc.time
        elif cc.value < 64 and down is not None:
            spans.append((down, cc.time))
            down = None
    if not spans:
        return []
    b = beats.to_beats(np.array(spans).ravel()).reshape(-1, 2) - origin
    q = np.floor(b * 4 + 0.5) / 4
    return [Pedal(float(a), float(e - a)) for a, e in q.tolist() if e > a and a >= 0]


def _chord_changes(rows: list[tuple[float, float, str]], beats: Beats) -> set[tuple[int, str]]:
    """chord_midi.txt's changes of chord: (the sixteenth of the beat file's beats, Harte name)."""
    if not rows:
        return set()
    at = np.floor(beats.to_beats(np.array([r[0] for r in rows])) * 4 + 0.5).astype(int).tolist()
    return {(a, r[2]) for i, (a, r) in enumerate(zip(at, rows)) if i == 0 or rows[i - 1][2] != r[2]}


def _chords(path: Path, rows: list[tuple[float, float, str]], beats: Beats, origin: int) -> list:
    """chord_midi.txt's rows -> chord symbols at their nearest beats; "N" gives none (see the
    module docstring); a chord the same as the one in force is left out."""
    starts = beats.to_beats(np.array([r[0] for r in rows])) - origin if rows else np.zeros(0)
    out: list = []
    for (_, _, name), b in zip(rows, starts.tolist()):
        try:
            text = harte_text(name)
        except ValueError as e:
            raise InputError(path, str(e)) from None
        if text is None:
            continue
        at = max(float(math.floor(b + 0.5)), 0.0)
        chord = parse_chord(text, at)
        if out and out[-1].start_beats >= at:
            out.pop()  # a chord before beat 0 (or two on one beat): the later one is in force
        if out and (out[-1].root, out[-1].kind, out[-1].bass, out[-1].alterations) == (
            chord.root,
            chord.kind,
            chord.bass,
            chord.alterations,
        ):
            continue
        out.append(chord)
    return out


def _keys(folder: Path, beats: Beats, origin: int, lines: list[int]) -> list[Key]:
    """key_audio.txt's keys (or structure/analyzed_key.txt's one), each at its nearest bar line,
    the first at beat 0."""
    path = folder / "key_audio.txt"
    if path.is_file():
        rows = _timed_names(path)
    else:
        path = folder / "structure" / "analyzed_key.txt"
        if not path.is_file():
            return []
        rows = [(0.0, 0.0, _lines(path)[0].strip())] if _lines(path) else []
    if not rows:
        return []
    starts = beats.to_beats(np.array([r[0] for r in rows])) - origin
    keys: list[Key] = []
    for (_, _, name), b in zip(rows, starts.tolist()):
        try:
            key = _key_of(name)
        except ValueError as e:
            raise InputError(path, str(e)) from None
        at = 0.0 if not keys else float(min(lines, key=lambda x: abs(x - b)))
        key = Key(at, key.tonic, key.mode, key.tonic_name)
        if keys and keys[-1].same_key(key):
            continue
        if keys and keys[-1].start_beats >= at:
            keys.pop()
        keys.append(key)
    return keys


# ---------------------------------------------------------------------------------------------
# the data set


def song_folders(root: Path) -> list[Path]:
    """The song folders under `root`: those named by a number, or holding a beat file or MIDI."""
    root = Path(root)
    return sorted(
        d
        for d in root.iterdir()
        if d.is_dir() and (d.name.isdigit() or (d / "beat_midi.txt").exists() or any(d.glob("*.mid")))
    )


def _cache_file(folder: Path) -> Path:
    files = sorted(p for p in [*folder.iterdir(), *(folder / "structure").glob("*")] if p.is_file())
    stamp = "|".join(f"{p.relative_to(folder)}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
    key = hashlib.sha1(f"{folder.resolve()}|{stamp}|v{CACHE_VERSION}".encode()).hexdigest()
    return cache_dir() / "pop909" / f"{key}.json.gz"


def cached_song(folder: Path) -> Score:
    """read_song(folder), or what it gave before for the folder as it is (the same files, sizes
    and mtimes)."""
    folder = Path(folder)
    cache = _cache_file(folder)
    if cache.exists():
        try:
            return Score.from_dict(json.loads(gzip.decompress(cache.read_bytes())))
        except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError, IndexError):
            pass  # a damaged cache entry is parsed again
    score = read_song(folder)
    from cadenza.io.files import atomic_write

    atomic_write(cache, gzip.compress(json.dumps(score.to_dict()).encode()), force=True)
    return score


def pop_songs(
    root: str | Path, progress: Callable[[int, int], None] | None = None
) -> tuple[dict[str, list[Piece]], list[str]]:
    """({split: songs}, one line per song skipped): every song folder under `root` read (cached)
    as a Piece with the id pop909:NNN, in train, valid or test by corpus.tune_split of its id.
    `progress(songs done, songs)` is called as songs are read."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise InputError(root, "no such folder (the POP909 data: ../shared/data/pop909)")
    folders = song_folders(root)
    splits: dict[str, list[Piece]] = {s: [] for s in SPLITS}
    skipped: list[str] = []
    for i, folder in enumerate(folders):
        if progress:
            progress(i, len(folders))
        piece_id = song_id(folder)
        try:
            score = cached_song(folder)
        except InputError as e:
            skipped.append(f"{piece_id}: {e}")
            continue
        except (CadenzaError, OSError, ValueError) as e:
            skipped.append(f"{piece_id}: {folder}: {type(e).__name__}: {e}")
            continue
        splits[split_of(piece_id)].append(Piece(piece_id, score))
    if progress:
        progress(len(folders), len(folders))
    return splits, skipped
