"""Score -> ABC (the abc 2.1 standard), written directly from the Score: lead sheets (a melody
with its chord symbols in quotes: "G", "D7", "Bm7b5", "C/E") and pieces of a few voices.

Times are on a grid of TICKS = 24 per quarter note (32nds, triplet 16ths and all coarser
values); a note shorter than a grid step keeps one step. What is written (one tune, X:1):

- a header: `%abc-2.1` (the standard, under which an accidental holds to the end of its bar),
  X:1, T: the title (write_abc: else the file's name without its suffix), C: the composer
  when known, M: the first meter, L: the unit note length (1/16 when the commonest note is
  shorter than an eighth, 1/4 when it is a quarter or longer and no meter counts in eighths,
  else 1/8), Q: the first tempo in quarter notes a minute (Q:1/4=120), in dotted quarters in
  a compound meter (Q:3/8=80 in 6/8) when the number stays exact, K: the first key as spelled
  (Key.tonic_name) with its mode (K:G, K:Em, K:Bb, K:F#m; K:C for a score without a key).
  With several parts, each part's music follows a V: line with its name, after K:
  (V:1 name="Soprano"): music21 makes an empty part of a V: line in the header, and cadenza's
  reader then unfolds no repeats.
- bars from the meters (cadenza.score.bar_starts), `|` after each and `|]` after the last,
  four to a line; the last bar is filled with rests. A pickup (cadenza.score.pickup_start)
  is a short first bar holding only what is played, and a last bar short by it
  (cadenza.score.ends_short_by_its_pickup) is written as short, as tune books write it.
- repeats (Score.repeats, whose notes are the music as played) written once: the first pass
  between `|:` (at the tune's start too) and `:|`, the second pass left out but for its
  second ending, `|: ... |[1 ... :|[2 ... ||` (`::` where one repeat ends as the next begins,
  `|:` after a second ending). A repeat is folded by the MusicXML writer's rules
  (cadenza.io.musicxml.passes_alike), only where nothing is lost, else written out in full,
  as played: its second pass must be the same as its first but for the ending, in every part
  (each note's pitch, onset, length and velocity on the grid, notes cut at the passes'
  edges), in fermatas, chord symbols and section labels; its keys, meters and tempos the same
  in both passes (the same where each begins and where the first ends, the same changes at the
  same places, none in the endings); it may not begin before the second pass of one folded
  before it ends, nor run past the last bar. Its passes and endings begin and end on bar
  lines, or (as the MusicXML writer also folds them) inside bars in a repeat of whole bars in one
  meter: a strain that opens with a pickup, as folk tunes are written (`|: D | GBd gdB | cBA G2 :|`,
  the pickup's bar and the pass's last bar short, together a bar); not inside the first bar
  but at its start (a short first bar reads as a pickup), and only on a half beat in a beat
  holding a triplet. A tie into the music a repeat skips (over `:|`, into a second ending) is
  not written: the note is struck again, as in MusicXML. A tune whose voice would hold fewer
  than two plain bar lines is written out (music21 makes no bars of it, so plays no repeat).
- changes of meter, key and tempo as field lines (M:3/4, K:D, Q:1/4=90 or Q:3/8=60; a tempo only where it
  changes on a bar line, rounded to a whole number: a performance's tempo at every beat is not
  written), not inline fields ([M:3/4]): music21 itself ignores inline fields and drops a field
  line that follows a bar line (cadenza's reader mends both, for files written elsewhere:
  cadenza.io.scores), so a change on a bar line stands between two bar lines (the line before
  it ends with `|` or `:|`, the next begins with `|`, `|:` or `|[2`), and a key or tempo
  change inside a bar is a field line where it falls. Every voice has the meter and key
  changes; with several voices and key changes, each voice after the first restates the first
  key (music21 would carry the last key of the voice before into it).
- notes: spelled by the key and by what they do (cadenza.io.spelling, as the MusicXML writer spells
  them), with octave marks (C is middle C, MIDI 60; c 72; c' 84; C, 48); lengths as multiples
  of L (c2, c/2, c3/2), each as the fewest tied note values (dotted where exact); rests `z`;
  a note crossing a bar line tied over it (`-`). An accidental is marked where the key
  signature and the accidentals before it in the bar do not give the note, whether a reader
  carries an accidental to the letter in every octave (as music21 does) or in its own octave
  only (= for a natural); a note tied over a bar line has it again after the bar line, and a
  double sharp or flat is marked on each of its notes (music21 carries it on as a single one).
- notes of one part that start and end together form a chord ([CEG]); where notes of one
  part overlap otherwise, only its top line is written: at each start the chord with the
  highest note, which cuts short a lower one still sounding; a chord starting under a higher
  one still sounding is left out, and a comment line after the title says how many notes of
  which part (`% 36 of 110 notes of the Piano part are left out: ...`). Grace notes (marked
  "grace") are left out too, and counted in a comment line of their own.
- a beat (a quarter note from the bar's first beat) in which a note or rest starts off the
  32nd grid is written in triplets, of triplet 8ths (the whole beat) or 16ths (half beats):
  (3abc, or (3:2:n for n notes of other lengths. Its other starts are rounded to triplet
  16ths (a beat mixing a triplet and a 16th), in a beat too short for a triplet (of 5/16) to
  32nds. Other tuplets (quintuplets...) are rounded to the grid.
- chord symbols (Score.chords) in the first part's voice, as chords.written_text writes them
  (which cadenza's reader parses back), before the note or rest at their start ("G"B2); a note or
  rest sounding across a chord's start is split there (tied) for the symbol to stand on.
  Symbols before a pickup: the last, on its first note.
- fermatas (Score.fermatas_beats) as `H` before each note or chord starting there.
- each part's dynamics marks (Part.dynamics, ppp..fff) as `!p!` before the first note or chord
  of its voice starting at or after the mark, which cadenza's reader reads back as the part's
  marks; a part without marks of its own shows its sections' dynamics (a plan's "p"), as the
  MusicXML writer does (perform.dynamics.marks_shown).
- section labels (Score.sections) as P: field lines in the first part's voice, each before the
  bar its section starts on (P:A before the first bar, after K:; later ones between two bar
  lines, as changes are written); a section starting inside a bar before the next bar, one
  inside a pickup before the first bar; of several before one bar, the last. In a folded
  repeat, each once (not its second pass's); one on the first bar line of a repeat that opens
  with a pickup before its `|:`. cadenza's reader reads each as a section label at the start
  of the bar after it, at each playing (music21 itself drops them).

Not written: velocities (but for the dynamics marks), Note.marks (articulations, slurs), pedals, programs and
drum channels (a drum part is written as pitches). Reading a file back with
cadenza.io.read_scores gives the notes as played (pitch, start and length on the grid, per
part), meters, keys, tempos, chord symbols, section labels and repeats written (the reader
unfolds the repeats and gives back the same Score.repeats; a repeat written out comes back as
none) (tests/test_io_abc.py, tests/test_sections.py), but for what music21 does not read: ties
between chords (each piece comes back a chord of its own), fermatas, part names, the place of a
key change inside a bar (read at the bar's start), a second chord symbol on one note.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from cadenza.chords import written_text
from cadenza.io.files import atomic_write
from cadenza.io.musicxml import change_ticks, held_past, metronome_beat, passes_alike, ways_to_fold
from cadenza.io.spelling import in_effect, spell_lines
from cadenza.perform.dynamics import marks_shown
from cadenza.score import (
    Key,
    Meter,
    Note,
    Part,
    Repeat,
    Score,
    Section,
    bar_starts,
    ends_short_by_its_pickup,
    name_of_fifths,
    pickup_start,
    spelled_name,
    without_grace_notes,
)
from cadenza.theory import beat_beats, key_signature, key_signature_alterations, passage_keys

TICKS = 24  # per quarter note: 32nds (3), triplet 16ths (4), 16ths (6), triplet 8ths (8)
BARS_PER_LINE = 4
# note values in ticks: dotted whole ... 32nd, double-dotted too; and those with no double dot
_VALUES = (144, 96, 84, 72, 48, 42, 36, 24, 21, 18, 12, 9, 6, 3)
_PLAIN_VALUES = tuple(v for v in _VALUES if v not in (84, 42, 21))
_ACCIDENTALS = {-2: "__", -1: "_", 0: "=", 1: "^", 2: "^^"}
_UNKNOWN = 99  # an accidental state no note has: the next note of that letter shows its own


def write_abc(score: Score, path: str | Path, force: bool = False) -> Path:
    """Write `score` as ABC (see the module docstring), atomically; titled by the score's title,
    else by the file's name without its suffix.

    Raises OutputExistsError if `path` exists and not `force`.
    """
    path = Path(path)
    titled = replace(score, title=score.title or path.stem)
    return atomic_write(path, abc_text(titled).encode("utf-8"), force=force)


def abc_text(score: Score) -> str:
    """The ABC tune write_abc writes. It depends only on the Score."""
    plain = without_grace_notes(score)  # this ABC writes no grace notes (a comment counts them)
    kept = [i for i, p in enumerate(score.parts) if p.notes]
    graces = [len(score.parts[i].notes) - len(plain.parts[i].notes) for i in kept]
    score = plain
    parts = [score.parts[i] for i in kept] or [Part()]
    lines = [_top_line(p.notes) for p in parts]
    end = max((e.end for line in lines for e in line), default=1)
    chord_ticks = [_tick(c.start_beats) for c in score.chords]
    music_end = max([end, *(t + 1 for t in chord_ticks)])
    bars = _bars(score, music_end)
    first = bars[0].start
    keys = _changes([(_tick(k.start_beats), k) for k in score.keys], first)
    tempos = _changes([(_tick(t.start_beats), t) for t in score.tempos], first)
    fermatas = {_tick(b) for b in score.fermatas_beats}
    for line in lines:
        for e in line:
            e.fermata = e.start in fermatas
    marks = [[(_tick(t), m) for t, m in marks_shown(p, score.sections)] for p in parts]
    for line, part_marks in zip(lines, marks):
        for t, marking in part_marks:  # on the first note at or after the mark (ABC marks notes)
            marked = next((e for e in line if e.start >= t), None)
            if marked is not None:
                marked.dynamic = marking

    voices = []
    for v, line in enumerate(lines):
        cuts = {t for t, _ in keys} | ({t for t, _ in tempos} | set(chord_ticks) if v == 0 else set())
        moved = _snap(line, cuts, bars)
        chords = [(moved.get(t, t), c) for t, c in zip(chord_ticks, score.chords)] if v == 0 else []
        voices.append((_snapped(line, moved), {moved.get(t, t) for t in cuts}, sorted(chords, key=lambda tc: tc[0])))
    passages = _changes([(_tick(k.start_beats), k) for k in passage_keys(score)], first)
    edges = {bar.start for bar in bars} | {_tick(b) for r in score.repeats for b in r.edges_beats()}
    spell_lines([line for line, _, _ in voices], keys, passages, edges)

    unit = _unit([e for line, _, _ in voices for e in line], bars)
    key0 = keys[0][1] if keys and keys[0][0] <= first else None
    tempo0 = tempos[0][1].bpm if tempos and tempos[0][0] <= first else 120.0
    out = ["%abc-2.1", "X:1", f"T:{_field(score.title or 'Untitled')}"]
    out += [f"C:{_field(score.composer)}"] if score.composer else []
    out += _left_out_comments(parts, lines, graces)
    out += [f"M:{bars[0].meter}", f"L:1/{4 * TICKS // unit}", _tempo_field(tempo0, bars[0].meter)]
    out.append(f"K:{_key_name(key0)}")
    folds = _folds(score, bars, keys, tempos, fermatas, lines, marks)
    for folded in (folds, []):
        written = _layout(bars, folded, music_end)
        labels = _labels(score, bars, written, folded)
        texts = [
            _voice(line, cuts, chords, written, bars, keys, tempos if v == 0 else [], unit, labels if v == 0 else {})
            for v, (line, cuts, chords) in enumerate(voices)
        ]
        if not folded or all(_regular_bar_lines(text) >= 2 for text in texts):
            break  # else music21 makes no bars of a voice, and plays no repeat: written out as played
    several = len(parts) > 1
    for v, (part, text) in enumerate(zip(parts, texts)):
        if several:
            name = _field(part.name).replace('"', "'")
            out.append(f"V:{v + 1}" + (f' name="{name}"' if name else ""))
            if v and len(keys) > 1:
                out.append(f"K:{_key_name(key0)}")
        out += text
    return "\n".join(out) + "\n"


def _left_out_comments(parts: list[Part], lines: list[list[_Element]], graces: list[int]) -> list[str]:
    """A comment line (%) for each part some of whose notes its one line leaves out (_top_line:
    notes under a higher one still sounding, as a piano's inner voices), and one for each part
    whose `graces` (grace notes, which this ABC does not write) were left out, saying how many:
    a reader of the file learns that the MusicXML and MIDI hold what the ABC does not."""
    out = []
    for part, line, left_out in zip(parts, lines, graces):  # (no notes at all: no comment)
        kept = {(e.start, p) for e in line for p in e.pitches}
        dropped = sum((_tick(n.start_beats), n.pitch) not in kept for n in part.notes)
        name = f"the {part.name} part" if part.name else "a part"
        if dropped:
            out.append(
                f"% {dropped} of {len(part.notes)} notes of {name} are left out: this ABC writes one line of "
                "notes and chords a part, and a note under a higher one still sounding is not on it "
                "(the MusicXML and MIDI keep every note)"
            )
        if left_out:
            out.append(
                f"% {left_out} grace notes of {name} are left out: this ABC writes no grace notes "
                "(the MusicXML and MIDI keep them)"
            )
    return out


def _regular_bar_lines(lines: list[str]) -> int:
    """How many plain bar lines (`|`, and the voltas `[1` `[2`) a voice's lines hold: music21
    makes bars of a voice only with two or more."""
    tokens = []
    for line in "\n".join(lines).splitlines():
        if not _FIELD_LINE.match(line):
            tokens += _BAR_LINE.findall(re.sub(r'"[^"]*"', "", line))
    return sum(token in ("|", "[1", "[2") for token in tokens)


_FIELD_LINE = re.compile(r"[A-Za-z]:")
_BAR_LINE = re.compile(r"\[[12]|::|:\||\|[:\]|]?")


# ---------------------------------------------------------------------------------------------
# time: the grid, bars, one line per part


@dataclass
class _Element:
    """A note or chord of a part's line, on the grid, its spellings filled in later."""

    start: int
    end: int
    pitches: list[int]  # low to high
    fermata: bool = False
    dynamic: str = ""  # a dynamics mark (p, ff) written before it
    spellings: list[tuple[str, int, int]] = field(default_factory=list)  # (letter, alter, octave) per pitch


@dataclass
class _Bar:
    start: int
    end: int
    origin: int  # where beat 1 falls (before `start` in a pickup bar)
    meter: Meter


def _tick(beats: float) -> int:
    """The nearest point of the 32nd grid or of the triplet-16th grid (the 32nd's when as near)."""
    exact = beats * TICKS
    plain, triplet = 3 * round(beats * 8), 4 * round(beats * 6)
    return plain if abs(plain - exact) <= abs(triplet - exact) + 1e-9 else triplet


def _top_line(notes: list[Note]) -> list[_Element]:
    """A part's notes as one line of notes and chords on the grid: notes that start and end
    together form a chord; where notes overlap otherwise, the chord with the highest note at
    a start is kept and cuts short the one before it, and one starting under a higher chord
    still sounding is left out."""
    groups: dict[tuple[int, int], set[int]] = {}
    for n in notes:
        start, end = _tick(n.start_beats), _tick(n.end_beats)
        end = end if end > start else start + (3 if start % 3 == 0 else 4)
        groups.setdefault((start, end), set()).add(n.pitch)
    line: list[_Element] = []
    for (start, end), pitches in sorted(groups.items(), key=lambda g: (g[0][0], -max(g[1]), g[0][1])):
        if line and start < line[-1].end:
            if start == line[-1].start or max(pitches) <= line[-1].pitches[-1]:
                continue
            line[-1].end = start
        line.append(_Element(start, end, sorted(pitches)))
    return line


def _bars(score: Score, end: int) -> list[_Bar]:
    """The bars from beat 0 (or a pickup) to `end` (ticks), as cadenza.score.bar_starts has
    them, followed on in the last meter as far as `end` asks (a chord symbol after the notes)."""
    meters = sorted(score.meters, key=lambda m: m.start_beats) or [Meter(0.0, 4, 4)]
    if meters[0].start_beats > 0:
        meters.insert(0, replace(meters[0], start_beats=0.0))
    starts = [_tick(b) for b in bar_starts(replace(score, meters=meters))]
    meter_ticks = [_tick(m.start_beats) for m in meters]

    def meter_at(tick: int) -> Meter:
        return meters[max(bisect_right(meter_ticks, tick) - 1, 0)]

    bars = [_Bar(a, b, a, meter_at(a)) for a, b in zip(starts, starts[1:])]
    at = starts[-1]
    while True:
        meter = meter_at(at)
        bars.append(_Bar(at, at + max(1, round(meter.bar_beats * TICKS)), at, meter))
        at = bars[-1].end
        if at >= end:
            break
    pickup = pickup_start(score)
    if pickup > 0 and _tick(pickup) < bars[0].end:
        bars[0].start = _tick(pickup)
    if ends_short_by_its_pickup(score) and bars[-1].start < end < bars[-1].end:
        bars[-1].end = end  # a tune book's last bar, short by the pickup (cadenza.score)
    return bars


def _label_ticks(score: Score, bars: list[_Bar]) -> list[tuple[int | None, str]]:
    """Each section label with the bar line it is read back on (a tick; None: the tune's start,
    for a section starting at or before the first bar's start): its start, else the next bar
    line (a reader puts a label on a bar line); of several on one bar line, the last. A section
    starting after the last bar begins is left out."""
    starts = [bar.start for bar in bars]
    out: dict[int | None, str] = {}
    for section in sorted(score.sections, key=lambda s: s.start_beats):
        label = _field(section.label)
        tick = _tick(section.start_beats)
        b = bisect_left(starts, tick)
        if label and b < len(bars):
            out[None if tick <= starts[0] else starts[b]] = label
    return list(out.items())


def _labels(score: Score, bars: list[_Bar], written: list[_Written], folds: list[_Fold]) -> dict[int, str]:
    """The written bar (an index in `written`) each section label is written before: the bar
    its section starts on, else the next (one inside a pickup: the first bar); of several, the
    last. A label of a repeat's second pass is not written (its first pass's is played again),
    and one on the first bar line of a repeat that begins inside a bar (with a pickup into it)
    stands before the repeat sign, over the pickup."""
    starts = [w.bar.start for w in written]
    out: dict[int, str] = {}
    for tick, label in _label_ticks(score, bars):
        if tick is None:
            out[0] = label
            continue
        if any(fold.end <= tick < fold.second for fold in folds):
            continue
        b = bisect_left(starts, tick)
        if b == len(written) or starts[b] != tick:
            continue
        opening = written[b - 1].bar if b > 1 and written[b - 1].opens else None
        if opening is not None and opening.start != opening.origin and opening.end == tick:
            b -= 1
        out[b] = label
    return out


def _changes(changes: list[tuple[int, Any]], first: int) -> list[tuple[int, Any]]:
    """Key or tempo changes by tick, the last of several at one tick kept; those at or before
    the first bar's start at that start."""
    by_tick: dict[int, Any] = {}
    for tick, change in sorted(changes, key=lambda c: c[0]):
        by_tick[max(tick, first)] = change
    return sorted(by_tick.items(), key=lambda c: c[0])


def _window(tick: int, bars: list[_Bar], starts: list[int]) -> tuple[int, int]:
    """The beat (a quarter note from its bar's first beat, cut at the bar's end) holding `tick`;
    `starts`: the bars' starts."""
    bar = bars[max(bisect_right(starts, tick) - 1, 0)]
    start = bar.origin + (tick - bar.origin) // TICKS * TICKS
    return start, min(start + TICKS, bar.end)


def _snap(line: list[_Element], cuts: set[int], bars: list[_Bar]) -> dict[int, int]:
    """Where each start, end and cut that must move is written: in a beat holding a point off
    the 32nd grid (a triplet), the beat's points off the triplet-16th grid rounded to it (to
    the 32nd grid where the beat is too short for a triplet of 16ths)."""
    points = {t for e in line for t in (e.start, e.end)} | cuts
    starts = [b.start for b in bars]
    beats: dict[tuple[int, int], list[int]] = {}
    for t in points:
        beats.setdefault(_window(t, bars, starts), []).append(t)
    moved = {}
    for (start, stop), inside in beats.items():
        if all((t - start) % 3 == 0 for t in inside):
            continue
        step = 4 if (stop - start) % 12 == 0 else 3
        for t in inside:
            to = start + step * round((t - start) / step)
            if to != t:
                moved[t] = to
    return moved


def _snapped(line: list[_Element], moved: dict[int, int]) -> list[_Element]:
    out = []
    for e in line:
        start, end = moved.get(e.start, e.start), moved.get(e.end, e.end)
        if end > start:
            out.append(replace(e, start=start, end=end))
    return out


def _unit(elements: list[_Element], bars: list[_Bar]) -> int:
    """L: in ticks: a 16th when the commonest length (of notes off triplets) is shorter than an
    eighth, a quarter when it is a quarter or longer and no meter counts in eighths or less,
    else an eighth."""
    lengths = Counter(e.end - e.start for e in elements if (e.end - e.start) % 3 == 0)
    common = lengths.most_common(1)[0][0] if lengths else TICKS // 2
    if common < TICKS // 2:
        return TICKS // 4
    if common >= TICKS and all(b.meter.denominator <= 4 for b in bars):
        return TICKS
    return TICKS // 2


# ---------------------------------------------------------------------------------------------
# repeats: which bars are written, in what order, under which bar lines


@dataclass(frozen=True)
class _Fold:
    """A repeat written once, in ticks: the first pass from `start` to `end`, its last `ending`
    the first ending; the second pass from `end` to `after`, of which only the second ending
    (from `second`) is written."""

    start: int
    end: int
    ending: int

    @property
    def second(self) -> int:
        return 2 * self.end - self.start - self.ending

    @property
    def after(self) -> int:
        return 2 * self.end - self.start


@dataclass
class _Written:
    """A bar as written, in the order written: a bar, or a piece of one where a repeat begins
    or ends inside it (`bar`: its start, end, beat 1 and meter), what stands at its start (a
    start repeat `|:`, a volta `[1` or `[2`), the bar line after it (`|`, `:|`, `||` after a
    second ending, `|]`), and whether the bar written after it is another than the one next in
    time (`cut`: a repeat skips what lies between; no tie is written over its end)."""

    bar: _Bar
    opens: str = ""
    volta: str = ""
    close: str = "|"
    cut: bool = False


def _folds(
    score: Score,
    bars: list[_Bar],
    keys: list[tuple[int, Key]],
    tempos: list[tuple[int, Any]],
    fermatas: set[int],
    lines: list[list[_Element]],
    marks: list[list[tuple[int, str]]],
) -> list[_Fold]:
    """The repeats that can be written once, as the MusicXML writer folds them
    (cadenza.io.musicxml.passes_alike: the same keys, meters and tempos in both passes, none
    changing in the endings; the second pass, but for its ending, the same as the
    first in every part's notes and velocities, fermatas, chord symbols and section labels; each
    part's dynamics `marks`, as changes, the same in force where each pass begins), in
    order, none overlapping one kept before it, and where ABC can write them (`_fold`). Any
    other is written out in full, as played."""
    if not score.repeats:
        return []
    first = bars[0].start
    meters = _changes([(_tick(m.start_beats), m) for m in score.meters], first)
    changes = change_ticks(keys, tempos, meters)
    changes = sorted(
        changes + [(t, (f"dynamics {k}", m)) for k, ms in enumerate(marks) for t, m in ms], key=lambda c: c[0]
    )
    notes = [[(_tick(n.start_beats), _tick(n.end_beats), n.pitch, n.velocity) for n in p.notes] for p in score.parts]
    chords = sorted(((_tick(c.start_beats), c) for c in score.chords), key=lambda c: c[0])
    labels = _label_ticks(score, bars)
    points = sorted(
        {t for line in lines for e in line for t in (e.start, e.end)} | {t for t, _ in chords + keys + tempos}
    )
    opening = {_tick(r.start_beats) for r in score.repeats}  # where a pass begins, its bar is cut anyway
    folds: list[_Fold] = []
    for repeat in sorted(score.repeats, key=lambda r: (r.start_beats, r.end_beats)):
        for way in ways_to_fold(repeat):
            plain_of_endings = bool(repeat.ending_beats and not way.ending_beats)
            fold = _fold(way, bars, points, plain_of_endings, opening)
            if fold is None or (folds and fold.start < folds[-1].after) or held_past(way, repeat, notes, _tick):
                continue
            pickup = bars[0].end if fold.start == first and first != bars[0].origin else first
            sections = [(pickup if t is None else t, Section(0.0, label)) for t, label in labels]
            if passes_alike(fold.start, fold.end, fold.ending, notes, changes, fermatas, chords, sections):
                folds.append(fold)
                break
    return folds


def _fold(
    repeat: Repeat,
    bars: list[_Bar],
    points: list[int],
    plain_of_endings: bool = False,
    opening: frozenset | set = frozenset(),
) -> _Fold | None:
    """A repeat in ticks, None unless ABC can write it once: its passes and endings begin and
    end on bar lines, or, a repeat of whole bars in one meter, inside bars (a pass opening with a
    pickup into its first bar, as folk tunes are written, ends as far into its last bar); not inside
    the first bar but at its start (a short first bar reads as a pickup), not before the first
    bar or past the last, and on the 32nd grid, on a half beat in a beat holding a triplet
    (`points`: the ticks where notes begin and end, and chord symbols, keys and tempos change).
    A repeat with endings read as a plain one (`plain_of_endings`) is not cut where its second
    pass would end, as the MusicXML writer does not cut it there (its endings are written),
    unless another repeat opens there (`opening`), which cuts that bar all the same."""
    start, end, ending = _tick(repeat.start_beats), _tick(repeat.end_beats), _tick(repeat.ending_beats)
    if end <= start or not 0 <= ending < end - start:
        return None
    fold = _Fold(start, end, ending)
    if start < bars[0].start or fold.after > bars[-1].end:
        return None
    lines = {bar.start for bar in bars if bar.start == bar.origin} | {bars[-1].end}
    ticks = (start, end, end - ending, fold.second, fold.after)
    inside = [t for t in ticks[: 5 - bool(ending)] if t not in lines]  # a second ending runs to a bar's end
    if plain_of_endings and fold.after in inside and fold.after not in opening:
        return None
    if not inside:
        return fold
    starts = [bar.start for bar in bars]
    bar = bars[bisect_right(starts, start) - 1]
    if (end - start) % max(1, round(bar.meter.bar_beats * TICKS)):
        return None
    if any(_meter(b) != _meter(bar) for b in bars if start <= b.start < fold.after):
        return None  # a meter change would put the passes' bar lines in other places
    for t in inside:
        if bars[0].start < t < bars[0].end:
            return None
        beat, stop = _window(t, bars, starts)
        triplets = any((p - beat) % 3 for p in points[bisect_right(points, beat) : bisect_left(points, stop)])
        if (t - beat) % (TICKS // 2 if triplets else 3):  # not where a triplet may end: on a half beat
            return None
    return fold


def _layout(bars: list[_Bar], folds: list[_Fold], end: int) -> list[_Written]:
    """The bars to write, in order: every bar, cut where a repeat begins or ends inside it, but
    the second passes the folds skip (save their second endings) and the piece of the last bar
    after the music's `end` that a repeat ending inside it leaves, with their repeat signs,
    voltas and bar lines."""
    cuts = sorted(
        {t for f in folds for t in (f.start, f.end, f.end - f.ending, f.second, f.after)[: 5 - bool(f.ending)]}
    )
    pieces = []
    for bar in bars:
        inner = cuts[bisect_right(cuts, bar.start) : bisect_left(cuts, bar.end)]
        for a, z in zip([bar.start, *inner], [*inner, bar.end]):
            if not any(f.end <= a < f.second for f in folds) and (a == bar.start or a < end):
                pieces.append(replace(bar, start=a, end=z))
    opens = {f.start for f in folds}
    ends = {f.end for f in folds}
    voltas = {f.end - f.ending: "[1" for f in folds if f.ending} | {f.second: "[2" for f in folds if f.ending}
    ends_at = [piece.end for piece in pieces]  # a second ending ends at the bar line at or after its pass's end
    second_ends = {min((e for e in ends_at if e >= f.after), default=f.after) for f in folds if f.ending}
    written = []
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        close = ":|" if piece.end in ends else "|]" if last else "||" if piece.end in second_ends else "|"
        cut = not last and pieces[i + 1].start != piece.end
        written.append(_Written(piece, "|:" if piece.start in opens else "", voltas.get(piece.start, ""), close, cut))
    return written


# ---------------------------------------------------------------------------------------------
# spelling


# ---------------------------------------------------------------------------------------------
# writing one voice


@dataclass
class _Token:
    """One written note, chord or rest: its start as played and its length as written (ticks,
    3/2 of the length played in a triplet), what it is and what goes before it."""

    start: int
    written: int
    element: _Element | None  # None: a rest
    tied: bool = False  # tied on to the next token
    tuplet: str = ""  # "(3" or "(3:2:n" on a triplet's first token
    chords: list[str] = field(default_factory=list)


def _voice(
    line: list[_Element],
    cuts: set[int],
    chords: list[tuple[int, Any]],
    written: list[_Written],
    bars: list[_Bar],
    keys: list[tuple[int, Key]],
    tempos: list[tuple[int, Any]],
    unit: int,
    labels: dict[int, str] | None = None,
) -> list[str]:
    """The lines of one voice: its bars as written (`written`: with the repeats folded; `bars`:
    every bar, in time), four to a line, with field lines for changes and section labels
    (`labels`: index in `written` -> label)."""
    labels = labels or {}
    starts = [e.start for e in line]
    changes: dict[int, list[str]] = {}
    first = written[0].bar.start
    for tick, k in keys[1:] if keys and keys[0][0] <= first else keys:
        changes.setdefault(tick, []).append(f"K:{_key_name(k)}")
    bar_meters = {bar.start: bar.meter for bar in bars}
    for tick, t in tempos[1:] if tempos and tempos[0][0] <= first else tempos:
        if tick in bar_meters:  # a performance's tempo at every beat is not a lead sheet's: bar lines only
            changes.setdefault(tick, []).append(_tempo_field(round(t.bpm), bar_meters[tick]))
    out: list[str] = [f"P:{labels[0]}"] if 0 in labels else []  # before the first bar: no bar line before it
    text, count = written[0].opens, 0
    for b, w in enumerate(written):
        bar = w.bar
        fields = [f"P:{labels[b]}"] if b and b in labels else []
        fields += (
            [f"M:{bar.meter}"]
            if b and (bar.meter.numerator, bar.meter.denominator) != _meter(written[b - 1].bar)
            else []
        )
        fields += changes.get(bar.start, []) if b else []
        if fields:
            out += [text, *fields] if text else fields
            text, count = w.opens or "|", 0
        else:
            if b and w.opens:  # the bar line before a repeat is its start repeat sign
                close = written[b - 1].close
                text = text[: len(text) - len(close)] + _OPENING[close]
            if count == BARS_PER_LINE:
                out.append(text)
                text, count = "", 0
        pieces = []
        for e in line[max(bisect_right(starts, bar.start) - 1, 0) :]:
            if e.start >= bar.end:
                break
            if e.end > bar.start:
                pieces.append(e)
        early = [(bar.start, c) for t, c in chords if t < bar.start][-1:] if b == 0 else []
        here = early + [(t, c) for t, c in chords if bar.start <= t < bar.end]
        tokens = _tokens(pieces, bar, {t for t in cuts if bar.start < t < bar.end}, here, tie_over=not w.cut)
        inside = sorted((t, f) for t, f in changes.items() if bar.start < t < bar.end)
        body = _bar_text(tokens, bar, keys, unit, inside)
        if w.volta:  # right after the bar line before it: |[1 ... :|[2
            text += w.volta + " " + body
        else:
            text += (" " if text else "") + body
        text += " " + w.close
        count += 1
    out.append(text)
    return out


_OPENING = {"|": "|:", ":|": "::", "||": "|:"}  # a bar line, and it as the start of a repeat


def _meter(bar: _Bar) -> tuple[int, int]:
    return bar.meter.numerator, bar.meter.denominator


def _tokens(
    pieces: list[_Element], bar: _Bar, cuts: set[int], chords: list[tuple[int, Any]], tie_over: bool = True
) -> list[_Token]:
    """The bar's notes and rests as written tokens: rests filling the gaps, everything cut at
    the cuts (chord symbols, key and tempo changes) and at the edges of triplets, then into
    note values (tied; over the bar's end only with `tie_over`)."""
    filled: list[tuple[int, int, _Element | None]] = []
    at = bar.start
    for e in pieces:
        start, end = max(e.start, bar.start), min(e.end, bar.end)
        if start > at:
            filled.append((at, start, None))
        filled.append((start, end, e))
        at = end
    if at < bar.end:
        filled.append((at, bar.end, None))
    cuts = cuts | {t for t, _ in chords if bar.start < t < bar.end}
    bounds = {a for a, _, _ in filled[1:]} | cuts
    groups = _triplets(bounds, bar)
    edges = sorted(cuts | {t for g in groups for t in g})
    group_starts = [g[0] for g in groups]

    tokens: list[_Token] = []
    for a, z, element in filled:
        points = [a, *(t for t in edges if a < t < z), z]
        for p, q in zip(points, points[1:]):
            gi = bisect_right(group_starts, p) - 1
            triplet = gi >= 0 and p < groups[gi][1]
            written = (q - p) * 3 // 2 if triplet else q - p
            start = p
            on_beat = not triplet and (p - bar.origin) % round(beat_beats(bar.meter) * TICKS) == 0
            for value in _split(written, double_dots=on_beat):
                ticks = value * 2 // 3 if triplet else value
                tied = element is not None and start + ticks < element.end and (tie_over or start + ticks < bar.end)
                tokens.append(_Token(start, value, element, tied=tied))
                start += ticks
    for g0, g1 in groups:
        inside = [t for t in tokens if g0 <= t.start < g1]
        inside[0].tuplet = "(3" if len(inside) == 3 else f"(3:2:{len(inside)}"
    for tick, chord in chords:
        token = next(t for t in tokens if t.start >= tick)
        token.chords.append(written_text(chord))
    return tokens


def _triplets(bounds: set[int], bar: _Bar) -> list[tuple[int, int]]:
    """The triplets of the bar, as (start, end) ticks: in each beat holding a start off the 32nd
    grid, of triplet 8ths (the whole beat) when every start allows, else of triplet 16ths (each
    half beat, where a start falls inside it)."""
    groups = []
    for w in range(bar.origin, bar.end, TICKS):
        ws, we = max(w, bar.start), min(w + TICKS, bar.end)
        inside = [t for t in bounds if ws < t < we]
        if not any((t - w) % 3 for t in inside):
            continue
        size = TICKS if ws == w and we - ws == TICKS and all((t - w) % 8 == 0 for t in inside) else TICKS // 2
        groups += [(g, g + size) for g in range(w, we, size) if g >= ws and any(g < t < g + size for t in inside)]
    return groups


def _split(ticks: int, double_dots: bool = True) -> list[int]:
    """A length as the fewest tied note values, longest first (dotted where exact; double-dotted
    only with `double_dots`: a note that begins on a beat, as the MusicXML writer has them)."""
    out = []
    for value in _VALUES if double_dots else _PLAIN_VALUES:
        while ticks >= value:
            out.append(value)
            ticks -= value
    return out + ([ticks] if ticks else [])


def _bar_text(
    tokens: list[_Token], bar: _Bar, keys: list[tuple[int, Key]], unit: int, fields: list[tuple[int, list[str]]]
) -> str:
    """One bar's tokens as ABC: a space before each beat (notes within a beat are beamed),
    accidentals where the key and the bar so far do not give the note."""
    beat = round(beat_beats(bar.meter) * TICKS)
    octave_state: dict[tuple[str, int], int] = {}  # accidentals in force, for readers that keep them to an octave
    letter_state: dict[str, int] = {}  # ... and for those that carry them to every octave
    out = ""
    for i, token in enumerate(tokens):
        while fields and fields[0][0] <= token.start:  # a change inside the bar: field lines before the note
            lines = fields.pop(0)[1]
            out += ("" if out.endswith("\n") else "\n") + "\n".join(lines) + "\n"
            if any(line.startswith("K:") for line in lines):  # readers differ on what holds: mark every note after it
                letter_state.update(dict.fromkeys("ABCDEFG", _UNKNOWN))
                octave_state.clear()
        if i and not out.endswith("\n") and ((token.start - bar.origin) % beat == 0 or token.tuplet):
            out += " "
        out += token.tuplet + "".join(f'"{c}"' for c in token.chords)
        e = token.element
        if e is None:
            out += "z" + _length(token.written, unit)
            continue
        signature = key_signature_alterations(in_effect(keys, token.start))
        notes = []
        for letter, alter, octave in e.spellings:
            in_force = {
                octave_state.get((letter, octave), signature[letter]),
                letter_state.get(letter, signature[letter]),
            }
            shown = in_force != {alter} or abs(alter) == 2  # music21 carries a double sharp as a single one
            accidental = _ACCIDENTALS[alter] if shown else ""
            octave_state[(letter, octave)] = letter_state[letter] = alter
            marks = "'" * (octave - 5) if octave >= 5 else "," * (4 - octave)
            notes.append(accidental + (letter.lower() if octave >= 5 else letter) + marks)
        tie = "-" if token.tied else ""
        struck = token.start == e.start
        decorations = (f"!{e.dynamic}!" if e.dynamic and struck else "") + ("H" if e.fermata and struck else "")
        if len(notes) == 1:
            out += decorations + notes[0] + _length(token.written, unit) + tie
        else:
            out += decorations + "[" + "".join(n + tie for n in notes) + "]" + _length(token.written, unit)
    return out


# ---------------------------------------------------------------------------------------------
# small texts


def _length(ticks: int, unit: int) -> str:
    """A length as a multiple of L: '' (one), '3', '/2', '3/2'."""
    f = Fraction(ticks, unit)
    if f == 1:
        return ""
    if f.denominator == 1:
        return str(f.numerator)
    return ("" if f.numerator == 1 else str(f.numerator)) + f"/{f.denominator}"


def _key_name(key: Key | None) -> str:
    """K:'s value: the tonic as spelled, 'm' for minor (G, Em, Bb, F#m), a church mode's first
    three letters (Ddor, Gmix); C without a key."""
    if key is None:
        return "C"
    if key.modal == "locrian":  # music21 reads no K:Bloc: the signature's major key (the notes right, the mode lost)
        return spelled_name(*name_of_fifths(key_signature(key)))
    if key.modal:
        return key.tonic_name + key.modal[:3]
    return key.tonic_name + ("m" if key.mode == "minor" else "")


def _tempo_field(bpm: float, meter: Meter) -> str:
    """A Q: field in the beat the MusicXML writer marks (musicxml.metronome_beat): Q:3/8=80 in
    6/8, Q:1/2=100 in 2/2, else quarters (Q:1/4=120)."""
    beat, per_minute = metronome_beat(bpm, meter.numerator, meter.denominator)
    unit = {1.0: "1/4", 1.5: "3/8", 2.0: "1/2"}[beat]
    return f"Q:{unit}={_number(per_minute)}"


def _number(value: float) -> str:
    return format(round(value, 3), "g")


def _field(text: str) -> str:
    """Text for a header field: one line."""
    return " ".join(text.split())
