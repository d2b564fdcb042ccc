"""Score -> MusicXML, written directly from the Score with the standard library.

music21 still reads MusicXML for cadenza (cadenza.io.scores) but no longer writes it: its export
(makeNotation, then the exporter's own passes) took longer than writing the music itself, about
0.7 s per two minutes of four-voice chorale and 24 s for a 10-minute piano performance, and
MuseScore misread its tuplets in dense music. This writer makes one pass over the notes, in
time proportional to their number, and its output depends only on the Score (no date inside).

What is written (MusicXML 3.1, partwise; times on a grid of DIVISIONS = 24 per quarter note,
or, for a score whose notes lie on a finer grid of note values (64ths, 128ths, quintuplets,
septuplets, nonuplets: fractions of a quarter with a denominator of at most FINEST_FRACTION
dividing FINEST), on that grid, so that a score read from a file is written with its times;
a score with any other time (a performance, unquantized) is rounded to DIVISIONS as a whole.
A note shorter than the grid keeps one step):

- part-list: per Part its name, an abbreviation (S. A. T. B. for the four voices), and its
  instrument: the General MIDI program's name, the program, and the MIDI channel the MIDI
  writer gives it (10 for drums), so that readers get program and drum flag back. A piano's
  two hands (parts named as PIANO_HANDS, one piano program, right above left) are one part, "Piano",
  of two staves (<staves>2</staves>, braced): one instrument, as a pianist's score and
  MuseScore's piano have it. The left hand's notes carry <staff>2</staff> and voices 5-8; its
  clef is the second; a section's dynamics are written once, under the right hand's staff
  (between the two, as a piano score has them). cadenza's reader names the two staves of a
  piano part PIANO_HANDS again.
- bars from the meter map; a meter change inside a bar ends that bar early. A score that opens
  with a pickup (cadenza.score.pickup_start: the first note inside the first bar, on a 16th)
  has it as an implicit bar 0 holding only what is played, as cadenza's reader expects (and
  as the MIDI writer writes it: a short first bar); otherwise the first bar is full. A last bar
  short by the pickup (cadenza.score.ends_short_by_its_pickup) is written as short.
- per part: the clef its voice reads in (treble for a soprano or alto, treble-8 for a tenor,
  bass for a bass), else the one that leaves fewer notes outside the staff (treble or bass);
  a piano hand's staff changes clef at bar lines for a passage on the other side of middle C
  (written at the end of the bar before, as MuseScore writes a change of clef), and a hand's
  passages in the treble clef high above the staff are written under an 8va line (an octave
  shift: the notes keep their pitch, the reader shows them an octave lower; _ottava_lines),
  the key signature of each Key as spelled (Cb major: 7 flats; mid-bar changes where they fall), time
  signatures, and in the first part the tempo marks, as metronome marks (in dotted quarters
  in 6/8, 9/8, 12/8 when that number stays exact) with sound tempo, before the note they fall
  on, and a final bar line.
- section labels (Score.sections) as rehearsal marks (<direction><direction-type><rehearsal>),
  in the first part only, before the note they fall on (at the start of their bar when they
  start on a bar line, as cadenza's readers put them); of several at one grid step, the last.
  Each part's own dynamics marks (Part.dynamics, a read file's) under it, or, under a part
  without any, its sections' dynamics (a plan's "p", "mf"), where they differ from the mark
  before (under a piano's (first) staff).
- notes: notes with the same start and end form a chord; notes that overlap otherwise go to
  further voices (the first voice free at the chord's start, the higher chord first), so every
  note keeps its pitch, onset and length; a passage that would need more than MAX_VOICES at once
  (from and to points where no note sounds across) is one voice of tied chords, and a pitch
  sounding twice at once there is written once. A voice keeps its number from bar to bar, so
  that ties find their notes. Grace notes (marked "grace"; a run of them leads to the note that
  begins where it ends, cadenza.score.grace_runs) are written as <grace/> notes before that
  note, in its voice, on its staff: a lone one (or chord) a slashed eighth, a run 16ths; they
  take no time in the bar. One that leads to no note is written as the 64th it sounds. A
  note's articulations (Note.marks: staccato, staccatissimo, tenuto, accent, marcato; not
  slurs) are written on its first value (ARTICULATIONS). Each
  voice fills its bar with notes and rests, every rest shown (a bar must add up on the page); a
  note crossing a bar line is tied over it. Lengths are written as the fewest tied values
  (dotted where exact), cut where the meter's beats ask: a rest at every beat (two that begin a
  half bar of 4/4 or 12/8 make one), a note of a compound meter at the beats it crosses (whole
  beats stay dotted values), a note of a simple meter that starts off the beat and is no single
  value at the next beat.
  A beat (quarter note) with a boundary off the 32nd grid (off the 64th or 128th grid where
  the score's grid holds them) is written in 3:2 groups of triplet 8ths, 16ths, 32nds or
  64ths, only where a group holds more than one note or rest; else, where a boundary halves
  the beat, each half as its own (an 8th, then five 32nds under a 5:4 bracket); else as one
  group of the beat's fewest equal notes its boundaries allow, in the time of as many plain
  values as fill it (5:4 16ths, 7:4, 9:8 32nds; 5:3 16ths in a dotted 8th, at a bar's end);
  on the grid, a double-dotted 8th and a 32nd stay what they are. A length that no such group
  writes is written as odd values, each exact in its own ratio. (A compound meter's beats are
  taken as quarter notes here too: a quintuplet over a dotted quarter is written in two groups.)
- pitch spelling by key and by function (cadenza.io.spelling, theory.spell): the key's notes as the spelled key
  has them (the raised 6th and 7th of minor too: F# and G# in A minor), then the notes of the
  key the passage around them is in (theory.passage_keys: Fx in a G# major passage under C#
  minor's signature), a chromatic note as the step it takes to the next note of its voice
  (D# rising to E, Eb falling to D), else as the key's notes sounding with it and around it
  suggest (A# against F# and C#), else as a raised 1st, 4th, 5th or lowered 3rd, 7th in major
  (no flats in D major) and a lowered 2nd or raised 3rd, 4th in minor; a pitch class the voice
  has spelled since the bar line (or key change) keeps that spelling (G# Fx G# Fx, not G# Fx G# G).
  A note tied on from a chord keeps its spelling.
  Accidentals are marked where the key signature and the bar so far do not already give them.
- fermatas (Score.fermatas_beats) on the notes that start there, and velocities as each
  note's dynamics attribute (percent of velocity 90), which cadenza's reader reads back.
- repeats (Score.repeats, whose notes are the music as played) written once: the first pass
  from a forward repeat bar line (heavy-light, on the left of its first bar) to a backward one
  (light-heavy, on the right of its last), and the second pass left out but for its second
  ending; with an ending, the first pass's last bars stand under a volta <ending number="1">
  (start ... stop, on the bar with the backward repeat) and the second pass's last bars follow
  it under <ending number="2"> (start ... discontinue: open at its end; a second ending that ends
  inside a bar runs to the bar's end, over the next strain's pickup). Bars are numbered as
  written (1, 2, 3 ... on the page; 0 for a pickup). A tie whose other note lies in the music
  left out (over a backward repeat, into a second ending) is dropped: the note is struck again.
  A repeat is folded only where nothing is lost (`passes_alike`, which cadenza.io.abc folds by
  too), else written out in full, as played: its passes and endings must lie on bar lines (the
  first bar's start counts, a pickup's too), or, a repeat of whole bars in one meter, inside
  bars, as folk tunes are written (a pass that opens with a pickup into its first bar ends as
  far into its last: that bar is cut there into two measures, the second implicit, numbered
  X1, X2 ... as MusicXML numbers the last half of a mid-measure repeat; not inside the first
  bar, on a half beat in a beat holding a triplet, else on the 32nd grid), not past the last
  bar; its second pass must equal its first
  but for the ending, in every part (each note's pitch, grid onset, length and velocity, notes
  cut at the passes' edges) and in fermatas, its keys, meters and tempos the same in both
  passes (where each begins and where the first ends, the same changes at the same places, none
  in the endings), and it may not begin before the second pass of one folded
  before it ends; its passes must hold the same chord symbols and section labels, at the same
  places. A Score without repeats is written as before, byte for byte.

Reading a file back with cadenza.io.read_score gives the notes (pitch, grid start and length
per part), meters, keys and tempos written (tests/test_musicxml_writer.py), and section labels on
bar lines (one written inside a bar at the next; tests/test_sections.py). One limit is the
reader's: it joins tied notes by pitch, so one pitch sounding twice at once in a part (two
overlapping notes of one key) may come back joined differently. The reader unfolds repeats
(cadenza.io.scores): a folded file reads back as played, with the same Score.repeats, but
for a note held over a repeat sign or into a second ending, which is struck again (above). A
bar cut short (by a repeat, by a meter starting inside it) holds no whole-bar rest, which
music21 reads as the meter's whole bar.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cached_property
from math import lcm
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from cadenza.chords import ALTERATIONS, KINDS, ChordSymbol, written_kind_text
from cadenza.io.files import atomic_write
from cadenza.io.midi import part_channels
from cadenza.io.spelling import in_effect, spell_lines
from cadenza.perform.dynamics import marks_shown, where_they_change
from cadenza.score import (
    PIANO_HANDS,
    PIANOS,
    Key,
    Meter,
    Note,
    Part,
    Repeat,
    Score,
    Section,
    ends_short_by_its_pickup,
    grace_runs,
    pickup_start,
)
from cadenza.theory import beat_beats, is_compound, key_signature, key_signature_alterations, passage_keys

DIVISIONS = 24  # per quarter note on the usual grid: a 32nd is 3; in 3:2 groups an 8th 8, a 16th 4, a 32nd 2, a 64th 1
MAX_VOICES = 4  # per staff, as MuseScore reads them (it drops notes of a fifth voice)
# Note.marks written as MusicXML articulations, in this order (a portato is a staccato and a tenuto)
ARTICULATIONS = {
    "staccato": "staccato",
    "staccatissimo": "staccatissimo",
    "tenuto": "tenuto",
    "accent": "accent",
    "marcato": "strong-accent",
}
_Groups = dict[tuple[int, int, tuple[str, ...]], dict[int, int]]  # (start, end, articulations) -> pitch -> velocity
FINEST = 10080  # the finest grid a score may be written on (2^5 3^2 5 7 a quarter), for the times below
# a time off the DIVISIONS grid is kept where it is a fraction of a quarter with at most this denominator
FINEST_FRACTION = 96
_QUARTERS = {
    "whole": Fraction(4),
    "half": Fraction(2),
    "quarter": Fraction(1),
    "eighth": Fraction(1, 2),
    "16th": Fraction(1, 4),
    "32nd": Fraction(1, 8),
    "64th": Fraction(1, 16),
    "128th": Fraction(1, 32),
}


# every written value, plain or dotted, by its length in quarters: (type, dots), the fewest dots winning
_VALUES = {
    quarters * (2 - Fraction(1, 2**dots)): (kind, dots) for kind, quarters in _QUARTERS.items() for dots in (2, 1, 0)
}
_UNDOTTED = {(kind, 0) for kind in _QUARTERS}


@dataclass(frozen=True)
class _Grid:
    """The ticks a quarter note is written in (MusicXML's divisions) for one score, and the note
    values they hold: DIVISIONS, or finer for a score whose notes lie on a finer grid (_grid_of)."""

    divisions: int

    def ticks(self, beats: float) -> int:
        return round(beats * self.divisions)

    @cached_property
    def plain(self) -> int:
        """The shortest plain value boundaries may lie on outside tuplets: a 32nd, or a 64th or
        128th where the grid holds it; a boundary off it is written in a tuplet."""
        return next(self.divisions // d for d in (32, 16, 8) if self.divisions % d == 0)

    @cached_property
    def measure_types(self) -> list[tuple[int, str, int]]:
        """(ticks, type, dots), longest first: each value whose last dot lies on `plain`."""
        values = []
        for kind, quarters in _QUARTERS.items():
            for dots in (0, 1, 2):
                if self.divisions * quarters >= self.plain * 2**dots:
                    values.append((int(self.divisions * quarters * (2 - Fraction(1, 2**dots))), kind, dots))
        return sorted(values, reverse=True)

    @cached_property
    def syncopated_values(self) -> set[int]:
        """The values a note off the beat may keep across the next beat: at most one dot, on the 16th grid."""
        return {value for value, _, dots in self.measure_types if dots < 2 and value % (self.divisions // 4) == 0}

    @cached_property
    def tuplet_units(self) -> list[int]:
        """A triplet 8th, 16th, 32nd, 64th ... as far as the grid holds them."""
        return [self.divisions // d for d in (3, 6, 12, 24, 48) if self.divisions % d == 0]

    def in_tuplet(self, ticks: int, actual: int, normal: int) -> tuple[str, int] | None:
        """The type and dots of a note `ticks` long in an `actual`:`normal` tuplet, if one value is."""
        return _VALUES.get(Fraction(ticks * actual, self.divisions * normal))


def _grid_of(parts: list[Part]) -> _Grid:
    """The grid a score's `parts` (their notes that take time) are written on: DIVISIONS a quarter,
    or the finest its notes ask (up to FINEST) where every note's start and end that lies
    off DIVISIONS is a fraction of a quarter with a denominator of at most FINEST_FRACTION
    dividing FINEST (a 64th, a quintuplet, a septuplet). Any other time (a performance,
    unquantized) puts the whole score on DIVISIONS, each time rounded to it."""
    denominators = {DIVISIONS}
    for part in parts:
        for note in part.notes:
            for beats in (note.start_beats, note.end_beats):
                if abs(beats * DIVISIONS - round(beats * DIVISIONS)) < 1e-6:
                    continue
                fraction = Fraction(beats).limit_denominator(FINEST_FRACTION)
                if abs(beats - fraction) > 1e-6 or FINEST % fraction.denominator:
                    return _Grid(DIVISIONS)
                denominators.add(fraction.denominator)
    return _Grid(lcm(*denominators))


_ALTER_NAMES = {-2: "flat-flat", -1: "flat", 0: "natural", 1: "sharp", 2: "double-sharp"}
_ABBREVIATIONS = {"soprano": "S.", "alto": "A.", "tenor": "T.", "bass": "B.", "right hand": "R.H.", "left hand": "L.H."}


def _written_parts(parts: list[Part]) -> list[list[int]]:
    """The Score's parts as written: each part alone, but a piano's right hand followed by its
    left hand (PIANO_HANDS, one General MIDI piano program), which is one part of two staves,
    [right, left]: "Piano", as the reader names such a part's staves the hands again."""
    out: list[list[int]] = []
    i = 0
    while i < len(parts):
        pair = i + 1 < len(parts) and (parts[i].name, parts[i + 1].name) == PIANO_HANDS
        if pair and parts[i].program == parts[i + 1].program and parts[i].program in PIANOS:
            out.append([i, i + 1])
            i += 2
        else:
            out.append([i])
            i += 1
    return out


def write_musicxml(score: Score, path: str | Path, force: bool = False) -> Path:
    """Write `score` as MusicXML (see the module docstring), atomically.

    Raises OutputExistsError if `path` exists and not `force`.
    """
    return atomic_write(path, musicxml_text(score).encode("utf-8"), force=force)


MXL_MIMETYPE = "application/vnd.recordare.musicxml"


def write_mxl(score: Score, path: str | Path, force: bool = False) -> Path:
    """Write `score` as compressed MusicXML (.mxl), atomically: a zip holding the document
    write_musicxml writes, as score.musicxml, and the container that names it (MusicXML
    4.0's layout: an uncompressed `mimetype` first, then META-INF/container.xml). Every entry is
    dated 1980-01-01, so the file depends only on the Score."""
    import io
    import zipfile

    inner = "score.musicxml"
    container = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<container>\n  <rootfiles>\n'
        f'    <rootfile full-path="{inner}" media-type="{MXL_MIMETYPE}+xml"/>\n'
        "  </rootfiles>\n</container>\n"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text, method in (
            ("mimetype", MXL_MIMETYPE, zipfile.ZIP_STORED),
            ("META-INF/container.xml", container, zipfile.ZIP_DEFLATED),
            (inner, musicxml_text(score), zipfile.ZIP_DEFLATED),
        ):
            archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), text.encode("utf-8"), method)
    return atomic_write(path, buffer.getvalue(), force=force)


def musicxml_text(score: Score) -> str:
    """The MusicXML document write_musicxml writes. It depends only on the Score."""
    from pretty_midi import program_to_instrument_name

    parts = _graces_across(score.parts, _written_parts(score.parts)) or [Part("", 0, False, [])]
    timed = [replace(part, notes=_graces(part.notes)[0]) for part in parts]  # the notes that take time
    grid = _grid_of(timed)
    voices = [_voices(part.notes, grid) for part in parts]
    starts = [e.start for vs in voices for v in vs for e in v]
    end = max((e.end for vs in voices for v in vs for e in v), default=1)
    bars = _bars(score, min(starts, default=0), end, grid)
    keys = _changes([(grid.ticks(k.start_beats), k) for k in score.keys])
    tempos = _changes([(grid.ticks(t.start_beats), t) for t in score.tempos])
    fermatas = {grid.ticks(b) for b in score.fermatas_beats}
    chords = sorted(((grid.ticks(c.start_beats), c) for c in score.chords), key=lambda c: c[0])
    sections = _changes([(grid.ticks(s.start_beats), s) for s in score.sections])
    written_parts = _written_parts(parts)
    dynamics = [_marks(parts, members, list(score.sections), grid) for members in written_parts]
    passages = _changes([(grid.ticks(k.start_beats), k) for k in passage_keys(score)])  # spelled by, within a signature
    edges = {bar.start for bar in bars} | {grid.ticks(b) for r in score.repeats for b in r.edges_beats()}
    spell_lines([v for vs in voices for v in vs], keys, passages, edges, tied_in=lambda e: e.tied_in)
    for element in (e for vs in voices for v in vs for e in v if e.graces):  # each run leading to its note
        spell_lines([[*element.graces, replace(element, graces=[])]], keys, passages, edges)
    points = sorted({t for vs in voices for v in vs for e in v for t in (e.start, e.end)} | {t for t, _ in chords})
    inside = _inside_bars(score, bars, points, grid)
    if inside:  # cut the bars where a repeat that folds so begins or ends inside one, and only there
        cut = _cut(bars, inside, end)
        at = [bar.start for bar in cut] + [cut[-1].end]
        cut_folds = _folds(score, parts, cut, grid, keys, tempos, fermatas, chords, sections, dynamics)
        used = inside & {at[b] for f in cut_folds for b in (f.start, f.end, f.ending, f.second, f.after)}
        bars = _cut(bars, used, end) if used else bars
    folds = _folds(score, parts, bars, grid, keys, tempos, fermatas, chords, sections, dynamics)
    layout = _layout(bars, folds)

    title = escape(score.title or "Untitled")
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<!DOCTYPE score-partwise PUBLIC "-//Recordare//DTD MusicXML 3.1 Partwise//EN" '
        '"http://www.musicxml.org/dtds/partwise.dtd">',
        '<score-partwise version="3.1">',
        f"  <work>\n    <work-title>{title}</work-title>\n  </work>",
        f"  <movement-title>{title}</movement-title>",
        "  <identification>",
        *([f'    <creator type="composer">{escape(score.composer)}</creator>'] if score.composer else []),
        "    <encoding>\n      <software>cadenza</software>\n    </encoding>\n  </identification>",
        "  <part-list>",
    ]
    channels = part_channels(Score(parts=parts))
    for index, members in enumerate(written_parts, start=1):
        part, channel = parts[members[0]], channels[members[0]]
        grand = len(members) == 2
        out += [
            f'    <score-part id="P{index}">',
            f"      <part-name>{'Piano' if grand else escape(part.name)}</part-name>",
            f"      <part-abbreviation>{'Pno.' if grand else escape(_abbreviation(part.name))}</part-abbreviation>",
            f'      <score-instrument id="P{index}-I1">',
            f"        <instrument-name>{program_to_instrument_name(part.program)}</instrument-name>",
            "      </score-instrument>",
            f'      <midi-instrument id="P{index}-I1">',
            f"        <midi-channel>{channel + 1}</midi-channel>",
            f"        <midi-program>{part.program + 1}</midi-program>",
            "      </midi-instrument>",
            "    </score-part>",
        ]
    out.append("  </part-list>")
    folded = any(place.cut_in or place.cut_out for place in layout)  # 8va lines are of the music as played
    for index, members in enumerate(written_parts, start=1):
        out.append(f'  <part id="P{index}">')
        clefs = [_bar_clefs(timed[i], bars, grid) for i in members]
        lines = [[] if folded else _ottava_lines(timed[i], bars, clefs[s], grid) for s, i in enumerate(members)]
        by_bar = [[_pieces_by_bar(voice, bars) for voice in voices[i]] for i in members]
        for k, place in enumerate(layout):
            b = place.bar
            after = layout[k + 1].bar if k + 1 < len(layout) else None
            staves = [
                _StaffBar(
                    [pieces[b] for pieces in by_bar[s]],
                    clefs[s][b] if k == 0 else None,
                    clefs[s][after] if after is not None and clefs[s][after] != clefs[s][b] else None,
                    [(t, kind) for t, kind in lines[s] if bars[b].start <= t <= bars[b].end],
                )
                for s in range(len(members))
            ]
            _write_measure(
                out,
                grid,
                bars[b],
                place,
                staves,
                keys,
                tempos if index == 1 else [],
                fermatas,
                chords if index == 1 else [],
                sections if index == 1 else [],
                dynamics[index - 1],
            )
        out.append("  </part>")
    out.append("</score-partwise>\n")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# time: bars, voices, and the pieces of notes in each bar


@dataclass
class _Element:
    """A note or chord of one voice: pitches on the grid, with spellings filled in later."""

    start: int
    end: int
    pitches: list[int]  # low to high
    velocities: list[int]
    spellings: list[tuple[str, int, int]] | None = None  # (step, alter, octave) per pitch
    tied_in: list[bool] | None = None  # per pitch, in a chordified passage: tied from the chord before
    tied_out: list[bool] | None = None  # ... and tied on to the next
    graces: list[_Element] = field(default_factory=list)  # grace notes or chords before it, each at its start
    marks: tuple[str, ...] = ()  # its notes' articulations (ARTICULATIONS' keys); chordified, those struck at its start


@dataclass
class _Bar:
    start: int
    end: int
    origin: int  # where beat 1 falls (before `start` in a pickup bar)
    number: str
    numerator: int
    denominator: int
    new_meter: bool
    cut: bool = False  # the rest of a bar cut where a repeat begins or ends inside it (_cut)


def _changes(changes: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
    """Tempo or key changes by grid tick, the last of several at one tick kept."""
    by_tick: dict[int, Any] = {}
    for tick, change in sorted(changes, key=lambda c: c[0]):
        by_tick[max(tick, 0)] = change
    return sorted(by_tick.items())


def _bars(score: Score, first: int, end: int, grid: _Grid) -> list[_Bar]:
    """The bars from beat 0 (or a pickup) to the end of the last note, following the meters."""
    meters = _changes([(grid.ticks(m.start_beats), m) for m in score.meters])
    if not meters or meters[0][0] > 0:
        meters.insert(0, (0, meters[0][1] if meters else None))
    bars: list[_Bar] = []
    at, i = 0, 0
    while True:
        new_meter = not bars
        while i + 1 < len(meters) and meters[i + 1][0] <= at:
            i, new_meter = i + 1, True
        meter = meters[i][1]
        numerator, denominator = (meter.numerator, meter.denominator) if meter else (4, 4)
        stop = at + _meter_ticks(numerator, denominator, grid)
        if i + 1 < len(meters) and meters[i + 1][0] < stop:
            stop = meters[i + 1][0]  # the next meter starts inside this bar: end it there
        bars.append(_Bar(at, stop, at, str(len(bars) + 1), numerator, denominator, new_meter))
        at = stop
        if at >= end:
            break
    if pickup_start(score) and first < bars[0].end:
        bars[0].start = first  # a pickup: the first bar holds only what is played in it
        for bar_index, bar in enumerate(bars):
            bar.number = str(bar_index)
    if ends_short_by_its_pickup(score) and bars[-1].start < end < bars[-1].end:
        bars[-1].end = end  # and the last only what is played before the pickup comes round again
    return bars


def _inside_bars(score: Score, bars: list[_Bar], points: list[int], grid: _Grid) -> set[int]:
    """The ticks inside bars where a repeat's passes or endings begin or end, for each repeat
    that could be written once so (`ways_to_fold`; see the module docstring): of whole bars in one
    meter, not inside the first bar, not past the last, on a half beat in a beat holding a
    triplet (`points`: where notes begin and end and chord symbols change), else on the 32nd
    grid, and cutting no bar twice (a pickup pass whose first ending begins in its last bar: the
    reader would read the three pieces as changes of meter). Whether its passes are alike is
    `_folds`' to say."""
    lines = {bar.start for bar in bars} | {bars[-1].end}
    starts = [bar.start for bar in bars]
    out: set[int] = set()
    for repeat in score.repeats:
        for way in ways_to_fold(repeat):
            start, end, ending = grid.ticks(way.start_beats), grid.ticks(way.end_beats), grid.ticks(way.ending_beats)
            length = end - start
            ticks = (start, end, end - ending, end + length - ending, end + length)
            if length <= 0 or not 0 <= ending < length or start < bars[0].start or ticks[-1] > bars[-1].end:
                continue
            # a second ending runs to a bar's end; a repeat with endings is not cut where its plain reading would end
            inside = [t for t in ticks if t not in lines and not (repeat.ending_beats and t == ticks[-1])]
            if not inside:
                continue
            bar = bars[bisect_right(starts, start) - 1]
            meter = (bar.numerator, bar.denominator)
            if length % _bar_ticks(bar, grid) or any(
                (b.numerator, b.denominator) != meter for b in bars if start <= b.start < ticks[-1]
            ):
                continue  # a meter change would put the passes' bar lines in other places
            if not all(
                not bars[0].start < t < bars[0].end and _cuttable(t, bars, starts, points, grid) for t in inside
            ):
                continue
            cut_bars = [bisect_right(starts, t) - 1 for t in sorted(out | set(inside))]
            if len(cut_bars) == len(set(cut_bars)):  # one cut a bar: two would read back as meter changes
                out.update(inside)
    return out


def _bar_ticks(bar: _Bar, grid: _Grid) -> int:
    """How long a whole bar of `bar`'s meter is, in ticks."""
    return _meter_ticks(bar.numerator, bar.denominator, grid)


def _meter_ticks(numerator: int, denominator: int, grid: _Grid) -> int:
    """How long a whole bar of a meter is, in ticks."""
    return max(1, round(numerator * 4 * grid.divisions / denominator))


def _cuttable(tick: int, bars: list[_Bar], starts: list[int], points: list[int], grid: _Grid) -> bool:
    """Whether a bar may be cut at `tick`: on the grid of plain values (a 32nd, or finer where
    the score's grid holds it), on a half beat where the beat (a quarter note from the bar's
    first beat) holds a point off that grid (a tuplet)."""
    bar = bars[max(bisect_right(starts, tick) - 1, 0)]
    quarter = grid.divisions
    beat = bar.origin + (tick - bar.origin) // quarter * quarter
    tuplets = any((p - beat) % grid.plain for p in points if beat <= p < beat + quarter)
    return (tick - beat) % (quarter // 2 if tuplets else grid.plain) == 0


def _cut(bars: list[_Bar], ticks: set[int], end: int) -> list[_Bar]:
    """`bars` cut at `ticks` (inside them) into measures: the rest of a cut bar keeps the bar's
    beat 1 (`origin`: written as an implicit measure), and a rest of the last bar after the
    music's `end` is dropped."""
    out = []
    for bar in bars:
        inner = sorted(t for t in ticks if bar.start < t < bar.end)
        for k, (a, z) in enumerate(zip([bar.start, *inner], [*inner, bar.end])):
            if k and a >= end:
                break
            out.append(replace(bar, start=a, end=z, new_meter=bar.new_meter and not k, cut=bool(k)))
    return out


def _voices(notes: list[Note], grid: _Grid) -> list[list[_Element]]:
    """Notes on the grid, grouped into chords (same start, end and articulations), then into voices in which
    nothing overlaps: each chord goes to the first voice free at its start (the higher of two
    chords starting together first, so voice 1 tends to be the upper one). A passage that would
    need more than MAX_VOICES voices at once is chordified instead (one voice): the passage from
    the last point before it to the first after it where no note sounds across, so that the
    rest of the part keeps its voices (a piece continued in a denser texture than its prompt)."""
    notes, graces = _graces(notes)
    groups: _Groups = {}  # (start, end, articulations) -> pitch -> velocity
    for n in notes:
        start = grid.ticks(n.start_beats)
        end = max(grid.ticks(n.end_beats), start + 1)
        pitches = groups.setdefault((start, end, _articulations(n)), {})
        pitches[n.pitch] = max(n.velocity, pitches.get(n.pitch, 0))
    passages: list[_Groups] = []
    reach = None  # where the passage's notes so far end
    for (start, end, marks), pitches in sorted(groups.items(), key=lambda g: (g[0][0], -max(g[1]), g[0][1])):
        if reach is None or start >= reach:  # nothing sounds across `start`: a new passage
            passages.append({})
        passages[-1][(start, end, marks)] = pitches
        reach = end if reach is None or start >= reach else max(reach, end)
    voices: list[list[_Element]] = []
    for passage in passages:
        lines = _lines(passage)
        for v, line in enumerate(lines if len(lines) <= MAX_VOICES else [_chordified(passage)]):
            if v == len(voices):
                voices.append([])
            voices[v] += line
    for at, chords in graces:
        tick = grid.ticks(at)
        there = [e for voice in voices for e in voice if e.start == tick]
        # each note of the last grace chord before the nearest in pitch of the notes it leads to,
        # each note of an earlier one where the nearest in pitch of the last chord's goes
        lead = {
            n.pitch: min(range(len(there)), key=lambda i: min(abs(p - n.pitch) for p in there[i].pitches))
            for n in chords[-1]
        }
        for chord in chords:
            to: dict[int, list[Note]] = {}
            for n in sorted(chord, key=lambda n: n.pitch):
                to.setdefault(lead[min(lead, key=lambda p: abs(p - n.pitch))], []).append(n)
            for e, ns in to.items():
                there[e].graces.append(_Element(tick, tick, [n.pitch for n in ns], [n.velocity for n in ns]))
    return voices or [[]]


def _graces(notes: list[Note]) -> tuple[list[Note], list[tuple[float, list[list[Note]]]]]:
    """`notes` less their grace notes (marked "grace"), and those grace notes as runs of chords
    (notes starting together) by the beat of the note they lead to (cadenza.score.grace_runs). Grace notes
    that lead to no note are kept among the notes, written as what they sound."""
    plain, runs, orphans = grace_runs(notes)
    return plain + [n for _, run in orphans for chord in run for n in chord], runs


def _graces_across(parts: list[Part], written_parts: list[list[int]]) -> list[Part]:
    """`parts` with grace notes that lead to no note of their own staff but to one of another
    staff of the same instrument (the other hand of a piano, written as one part; a keyboard
    part of the same name and program, as the three staves of a Liszt etude) moved to that staff: a grace
    chord written on the lower staff before a chord of the upper (in MusicXML a grace note goes
    before a note of its own voice)."""
    parts = list(parts)
    staff_of = {i: members for members in written_parts for i in members}
    for here in range(len(parts)):
        _, _, orphans = grace_runs(parts[here].notes)
        if not orphans:
            continue
        same = (parts[here].name, parts[here].program)
        keyboard = parts[here].program in KEYBOARD_PROGRAMS  # two violins of one name are two players
        for there in (j for j in range(len(parts)) if j != here):
            if there not in staff_of.get(here, []) and not (
                keyboard and (parts[there].name, parts[there].program) == same
            ):
                continue
            starts = {round(n.start_beats, 6) for n in parts[there].notes if "grace" not in n.marks}
            moved = [n for end, run in orphans if round(end, 6) in starts for chord in run for n in chord]
            if moved:
                ids = {id(n) for n in moved}
                parts[here] = replace(parts[here], notes=[n for n in parts[here].notes if id(n) not in ids])
                parts[there] = replace(parts[there], notes=[*parts[there].notes, *moved])
                orphans = grace_runs(parts[here].notes)[2]
    return parts


def _timed(notes: list[Note], grid: _Grid) -> list[tuple[int, int, int, tuple]]:
    """(start, end, pitch, how it is played) in ticks of each note, as `passes_alike` compares
    them, how it is played being (velocity, articulations, place before its note): a note's
    place 0; a grace note in no time at the tick of the note it leads to, its place how many
    grace chords of its run it is from that note (1 for the last), so that it is alike only to
    the same grace note, as far from the same note."""
    plain, runs = _graces(notes)
    out = [
        (grid.ticks(n.start_beats), grid.ticks(n.end_beats), n.pitch, (n.velocity, _articulations(n), 0)) for n in plain
    ]
    for at, chords in runs:
        tick = grid.ticks(at)
        out += [(tick, tick, n.pitch, (n.velocity, (), len(chords) - k)) for k, c in enumerate(chords) for n in c]
    return out


def _articulations(note: Note) -> tuple[str, ...]:
    """The note's marks the writer writes as articulations, in ARTICULATIONS' order."""
    return tuple(m for m in ARTICULATIONS if m in note.marks)


def _lines(groups: _Groups) -> list[list[_Element]]:
    """Chords (`groups`, in the order _voices sorts them) into voices, each to the first voice free at its start."""
    voices: list[list[_Element]] = []
    voice_ends: list[int] = []
    for (start, end, marks), pitches in groups.items():
        ordered = sorted(pitches)
        element = _Element(start, end, ordered, [pitches[p] for p in ordered], marks=marks)
        v = next((i for i, voice_end in enumerate(voice_ends) if voice_end <= start), len(voices))
        if v == len(voices):
            voices.append([])
            voice_ends.append(start)
        voices[v].append(element)
        voice_ends[v] = end
    return voices


def _chordified(groups: _Groups) -> list[_Element]:
    """One voice of chords: a chord wherever the set of sounding notes changes, each note tied
    from chord to chord for as long as it sounds. A pitch sounding twice at once is written once
    at each moment, as the note struck later, and tied only between chords that hold the same
    note: a note that another of its pitch interrupts is struck again where it goes on after it."""
    notes = sorted(
        (start, end, pitch, velocity, marks)
        for (start, end, marks), pitches in groups.items()
        for pitch, velocity in pitches.items()
    )
    times = sorted({t for start, end, *_ in notes for t in (start, end)})
    chords: list[_Element] = []
    sounding: list[tuple] = []
    held: dict[int, tuple] = {}  # pitch -> the note the chord before wrote for it
    i = 0
    for t0, t1 in zip(times, times[1:]):
        sounding = [n for n in sounding if n[1] > t0]
        while i < len(notes) and notes[i][0] == t0:
            sounding.append(notes[i])
            i += 1
        if not sounding:
            held = {}
            continue
        by_pitch = {n[2]: n for n in sorted(sounding, key=lambda n: n[0])}  # the latest onset of a pitch
        ordered = sorted(by_pitch)
        if held:  # the chord before ties on only where this chord goes on with the same note
            chords[-1].tied_out = [held[p] is by_pitch.get(p) for p in chords[-1].pitches]
        chords.append(
            _Element(
                t0,
                t1,
                ordered,
                [by_pitch[p][3] for p in ordered],
                tied_in=[held.get(p) is by_pitch[p] for p in ordered],
                tied_out=[False] * len(ordered),
                marks=tuple(m for m in ARTICULATIONS if any(m in n[4] for n in by_pitch.values() if n[0] == t0)),
            )
        )
        held = by_pitch
    return chords


def _at(starts: list[int], tick: int) -> int:
    """The index of what holds `tick`: the last of `starts` (ascending) at or before it, else the first."""
    return max(bisect_right(starts, tick) - 1, 0)


def _pieces_by_bar(voice: list[_Element], bars: list[_Bar]) -> list[list[tuple]]:
    """Per bar, the (start, end, element, tied from before, tied on) pieces of the voice's
    elements, each element cut at the bar lines it crosses."""
    starts = [bar.start for bar in bars]
    out: list[list[tuple]] = [[] for _ in bars]
    for element in voice:
        b = _at(starts, element.start)
        at = element.start
        while at < element.end and b < len(bars):
            stop = min(element.end, bars[b].end)
            out[b].append((at, stop, element, at > element.start, stop < element.end))
            at, b = stop, b + 1
    return out


# ---------------------------------------------------------------------------------------------
# repeats: which bars are written, in what order, under which bar lines


@dataclass
class _Fold:
    """A repeat written once, in bar indices: the first pass is bars [start, end), its first
    ending [ending, end); the second pass is bars [end, after), of which only its second ending
    [second, after) is written (second == after: no ending)."""

    start: int
    end: int
    ending: int
    second: int
    after: int


@dataclass
class _Place:
    """One measure as written: the bar, its number, the contents of its left and right bar
    lines ("" for none), and whether the bar written before it (`cut_in`) or after it
    (`cut_out`) is another than the one next to it in time (a repeat skips what lies between)."""

    bar: int
    number: str
    left: str = ""
    right: str = ""
    cut_in: bool = False
    cut_out: bool = False


def _marks(parts: list[Part], members: list[int], sections: list[Section], grid: _Grid) -> list[tuple[int, str]]:
    """The dynamics marks under a written part (its `members`: one part, or a piano's two hands),
    by tick, where they change: each member's (perform.dynamics.marks_shown), the upper staff's
    first at one place."""
    at: dict[int, str] = {}
    for i in reversed(members):
        at |= {grid.ticks(t): m for t, m in marks_shown(parts[i], sections)}
    return [(int(t), m) for t, m in where_they_change(sorted(at.items()))]


def _folds(
    score: Score,
    parts: list[Part],
    bars: list[_Bar],
    grid: _Grid,
    keys: list[tuple[int, Any]],
    tempos: list[tuple[int, Any]],
    fermatas: set[int],
    chords: Sequence[tuple[int, ChordSymbol]] = (),
    sections: Sequence[tuple[int, Section]] = (),
    dynamics: Sequence[Sequence[tuple[int, str]]] = (),
) -> list[_Fold]:
    """The repeats that can be written once: in order, none overlapping one kept before it,
    each of measures (a pickup or a bar cut by `_cut` may open one), with the same keys, meters and tempos in
    both passes (`passes_alike`; the dynamics marks written under each part, `dynamics`, count as
    such changes: a pass must be marked as loud where it starts both times), and with its
    second pass, but for the ending,
    the same as its first in every part (every note's pitch, length and velocity on the grid,
    notes cut at the passes' edges) and in fermatas, chord symbols and section labels; a repeat
    whose two endings came out alike as a plain one. Any other is written out in full."""
    at_bar = {bar.start: i for i, bar in enumerate(bars) if bar.start == bar.origin or bar.cut or not i}
    at_bar[bars[-1].end] = len(bars)
    meters = _changes([(grid.ticks(m.start_beats), m) for m in score.meters])
    marks = [(t, (f"dynamics {k}", m)) for k, part_marks in enumerate(dynamics) for t, m in part_marks]
    changes = sorted(change_ticks(keys, tempos, meters) + marks, key=lambda c: c[0])
    notes = [_timed(p.notes, grid) for p in parts]
    if bars[0].start != bars[0].origin:
        # a label at a pickup's start is read on the first bar line, as the second pass's is; where
        # one stands there already, it is the strain's, and the pickup's own is left out
        lead = any(t == bars[0].end for t, _ in sections)
        sections = [
            (bars[0].end if t <= bars[0].start else t, x) for t, x in sections if not (lead and t <= bars[0].start)
        ]
    folds: list[_Fold] = []
    for repeat in sorted(score.repeats, key=lambda r: (r.start_beats, r.end_beats)):
        for way in ways_to_fold(repeat):
            fold = _fold(way, at_bar, grid)
            if fold is None or (folds and fold.start < folds[-1].after) or held_past(way, repeat, notes, grid.ticks):
                continue
            start, end = bars[fold.start].start, bars[fold.end].start
            ending = bars[fold.end].start - bars[fold.ending].start
            if passes_alike(start, end, ending, notes, changes, fermatas, chords, sections):
                folds.append(fold)
                break
    return folds


def held_past(way: Repeat, repeat: Repeat, notes: Sequence[Sequence[tuple]], tick) -> bool:
    """Whether `way`, a repeat with endings read as a plain one (`ways_to_fold`), would end its
    second pass where a note sounds on (`notes`: per part, (start, end, ...) in ticks; `tick`:
    beats to ticks): a second ending that goes on after the first's length (it ends
    a pickup longer, cadenza.io.scores) is written in place instead, its note whole."""
    if not repeat.ending_beats or way.ending_beats:
        return False
    after = tick(2 * way.end_beats - way.start_beats)
    return any(a < after < z for part in notes for a, z, *_ in part)


def ways_to_fold(repeat: Repeat) -> tuple[Repeat, ...]:
    """The readings of a repeat a writer tries in turn (the MusicXML and the ABC writer both):
    one with endings first as a plain repeat, since two endings that came out alike are only
    more to read, then as it is."""
    return (replace(repeat, ending_beats=0.0), repeat) if repeat.ending_beats else (repeat,)


def passes_alike(
    start: int,
    end: int,
    ending: int,
    notes: Sequence[list[tuple[int, int, int, Any]]],
    changes: list[tuple[int, tuple]],
    fermatas: set[int],
    chords: Sequence[tuple[int, ChordSymbol]] = (),
    sections: Sequence[tuple[int, Section]] = (),
) -> bool:
    """Whether a repeat can be written once without losing anything, on any grid of ticks (the
    MusicXML and the ABC writer both fold by it): its first pass from `start` to `end`, its
    second from `end` on, as long, their last `ending` ticks the first and second endings. The
    keys, meters and tempos (`changes`, see `change_ticks`) must be the same in both passes: the
    same in force where each begins and where the first ends (a reader going back to the start
    repeat is told nothing new), the same changes inside each (a bar of 2/4 in a strain of 3/4,
    at its place in both), none in the endings; and the second pass, but for its ending,
    must be the same as the first in every part (`notes`: per part, (start, end, pitch, how
    it is played: its velocity, or more that a writer compares) of every note, notes cut at the
    passes' edges) and in fermatas, chord symbols and section labels (by tick; a second pass
    may also have no labels, as a reader gives a strain that opens after its pickup's label)."""
    length = end - start
    plain = [(t, what) for t, what in changes if not what[0].startswith("dynamics")]
    if not _in_force(plain, start) == _in_force(plain, end - 1) == _in_force(plain, end):
        return False  # going back to the start repeat restates nothing: it must be as it was there
    if not _marks_alike([(t, what) for t, what in changes if what[0].startswith("dynamics")], start, end):
        return False
    if ending and any(end - ending <= t < end or end + length - ending <= t < end + length for t, _ in changes):
        return False  # a change in either ending
    if [(t - start, what) for t, what in changes if start < t < end - ending] != [
        (t - end, what) for t, what in changes if end < t < end + length - ending
    ]:
        return False
    if {t - start for t in fermatas if start <= t < end - ending} != {
        t - end for t in fermatas if end <= t < end + length - ending
    }:
        return False
    if {(t - start, replace(c, start_beats=0.0)) for t, c in chords if start <= t < end - ending} != {
        (t - end, replace(c, start_beats=0.0)) for t, c in chords if end <= t < end + length - ending
    }:
        return False
    labels = {(t - start, s.label, s.dynamics) for t, s in sections if start <= t < end - ending}
    again = {(t - end, s.label, s.dynamics) for t, s in sections if end <= t < end + length - ending}
    if again and again != labels:  # a second pass labelled as its first, or not at all (a reader may not restate it)
        return False
    return all(_window(part, start, end - ending) == _window(part, end, end + length - ending) for part in notes)


def _fold(repeat: Repeat, at_bar: dict[int, int], grid: _Grid) -> _Fold | None:
    """A repeat in bar indices, None unless its passes and endings begin and end on bar lines
    (measures); a second ending that ends inside a measure runs to its end (the music after it
    is written in place all the same: a second ending a pickup longer, the next strain's pickup)."""
    start, end, ending = grid.ticks(repeat.start_beats), grid.ticks(repeat.end_beats), grid.ticks(repeat.ending_beats)
    length = end - start
    if length <= 0 or not 0 <= ending < length:
        return None
    ticks = [start, end, end - ending, end + length - ending, end + length]
    if ending and ticks[-1] not in at_bar:
        ticks[-1] = min((t for t in at_bar if t > ticks[-1]), default=ticks[-1])
    if any(tick not in at_bar for tick in ticks):
        return None
    return _Fold(*(at_bar[tick] for tick in ticks))


def change_ticks(
    keys: list[tuple[int, Any]], tempos: list[tuple[int, Any]], meters: list[tuple[int, Any]]
) -> list[tuple[int, tuple]]:
    """Where the key, tempo or meter in effect changes, and to what ((tick, (kind, value)), by
    tick), from each one's changes by tick (the first being what is in effect from the start,
    listed too), for `passes_alike`."""
    return sorted(
        _change_ticks(keys, "key", lambda k: (k.tonic, k.mode, k.tonic_name, k.modal))
        + _change_ticks(tempos, "tempo", lambda t: t.bpm)
        + _change_ticks(meters, "meter", lambda m: (m.numerator, m.denominator)),
        key=lambda c: c[0],
    )


def _change_ticks(changes: list[tuple[int, Any]], kind: str, value) -> list[tuple[int, tuple]]:
    """Where a key, tempo or meter map sets what is in effect (its first) or changes it, and to what."""
    return [
        (tick, (kind, value(change)))
        for i, (tick, change) in enumerate(changes)
        if not i or value(change) != value(changes[i - 1][1])
    ]


def _in_force(changes: list[tuple[int, tuple]], tick: int) -> dict[str, tuple]:
    """What of each kind (key, tempo, meter) is in effect at `tick`."""
    return {what[0]: what for t, what in changes if t <= tick}


def _marks_alike(marks: list[tuple[int, tuple]], start: int, end: int) -> bool:
    """Whether a repeat's two passes begin under the same dynamics marks (`marks`: changes of the
    kinds "dynamics N", one per part), as a reader going back finds them: the mark written at
    the start is read again (`|: !f! ... !p! :|` folds), else the one in force at the first
    pass's end must be the one it began with."""
    for kind in {what[0] for _, what in marks}:
        these = [(t, what) for t, what in marks if what[0] == kind]
        first, second = _in_force(these, start).get(kind), _in_force(these, end).get(kind)
        restated = any(t == start for t, _ in these)
        if first != second or (not restated and _in_force(these, end - 1).get(kind) != first):
            return False
    return True


def _window(notes: list[tuple[int, int, int, Any]], start: int, stop: int) -> list[tuple[int, int, int, Any]]:
    """What sounds from `start` to `stop`: each note cut there, in ticks from `start`."""
    return sorted(
        (max(a, start) - start, min(max(z, a + 1), stop) - start, pitch, velocity)
        for a, z, pitch, velocity in notes
        if a < stop and max(z, a + 1) > start
    )


def _layout(bars: list[_Bar], folds: list[_Fold]) -> list[_Place]:
    """The measures to write, in order: every bar but the second passes a fold skips, numbered
    on from the first bar's number; repeat signs and voltas on their bar lines, a final bar line
    on the last (which a backward repeat may already be)."""
    skipped = {b for fold in folds for b in range(fold.end, fold.second)}
    forward = {fold.start for fold in folds}
    backward = {fold.end - 1 for fold in folds}
    endings_start = {fold.ending: "1" for fold in folds if fold.ending < fold.end}
    endings_start |= {fold.second: "2" for fold in folds if fold.second < fold.after}
    endings_stop = {fold.end - 1: ("1", "stop") for fold in folds if fold.ending < fold.end}
    endings_stop |= {fold.after - 1: ("2", "discontinue") for fold in folds if fold.second < fold.after}
    order = [b for b in range(len(bars)) if b not in skipped]
    count, implicit = int(bars[0].number), 0
    layout = []
    for k, b in enumerate(order):
        if k and bars[b].cut:  # the rest of a bar cut by a repeat: no number of its own
            implicit += 1
            number = f"X{implicit}"
        else:
            number, count = str(count), count + 1
        left = "<bar-style>heavy-light</bar-style>" if b in forward else ""
        if b in endings_start:
            left += f'<ending number="{endings_start[b]}" type="start"/>'
        if b in forward:
            left += '<repeat direction="forward"/>'
        last = k == len(order) - 1
        right = "<bar-style>light-heavy</bar-style>" if b in backward or last else ""
        if b in endings_stop:
            volta, kind = endings_stop[b]
            right += f'<ending number="{volta}" type="{kind}"/>'
        if b in backward:
            right += '<repeat direction="backward"/>'
        before = order[k - 1] if k else -1
        after = order[k + 1] if not last else len(bars)
        layout.append(_Place(b, number, left, right, before != b - 1, after != b + 1))
    return layout


# ---------------------------------------------------------------------------------------------
# notation: lengths as note values, tuplets, spelling, clefs


def _notated(pieces: list[tuple], bar: _Bar, grid: _Grid, breaks: Sequence[int] = ()) -> list[list]:
    """The voice's pieces in one bar, gaps filled with rests, as written notes:
    [start, ticks, type (None: a whole-bar rest), dots, tuplet, element (None: a rest),
    tied from before, tied on]. `tuplet` is None outside tuplets, else (mark, actual, normal):
    the mark "start", "" or "stop" for the group's first, middle and last note (None: an odd
    length outside a group, in a ratio of its own), and the ratio (3, 2; 5, 4 ...).
    Notes are also cut at `breaks` (where a key changes inside the bar) outside groups."""
    filled, at = [], bar.start
    for start, stop, element, tie_in, tie_out in pieces:
        if start > at:
            filled.append((at, start, None, False, False))
        filled.append((start, stop, element, tie_in, tie_out))
        at = stop
    if at < bar.end:
        filled.append((at, bar.end, None, False, False))

    bounds = [p[0] for p in filled[1:]]
    groups: list[tuple[int, int, int, int]] = []  # (start, end, actual, normal)
    for window in range(bar.origin, bar.end, grid.divisions):
        ws, we = max(window, bar.start), min(window + grid.divisions, bar.end)
        inside = [t for t in bounds if ws < t < we]
        if ws < we and any((t - bar.origin) % grid.plain for t in inside):
            groups += _tuplets(window, grid.divisions, ws, we, inside, grid)
    group_starts = [g[0] for g in groups]
    edges = {edge for group in groups for edge in group[:2]}
    for tick in breaks:
        gi = bisect_right(group_starts, tick) - 1
        if gi < 0 or tick >= groups[gi][1]:
            edges.add(tick)
    cuts = sorted(edges)

    out: list[list] = []
    for start, stop, element, tie_in, tie_out in filled:
        points = [start, *(c for c in cuts if start < c < stop), stop]
        # a bar cut short (by a repeat, a meter) has no whole-bar rest
        whole = bar.end - bar.start == _bar_ticks(bar, grid)
        written = []
        for a, z in zip(points, points[1:]):
            gi = bisect_right(group_starts, a) - 1
            group = groups[gi] if gi >= 0 and a < groups[gi][1] else None
            if group is not None and (a, z) != group[:2]:
                g0, g1, actual, normal = group
                for piece_start, ticks, kind, dots, *in_ratio in _in_group(a, z, actual, normal, grid):
                    mark = "start" if piece_start == g0 else "stop" if piece_start + ticks == g1 else ""
                    written.append([piece_start, ticks, kind, dots, (mark, *in_ratio)])
            elif element is None and (a, z) == (bar.start, bar.end) and bar.start == bar.origin and whole:
                written.append([a, z - a, None, 0, None])  # a whole-bar rest (music21 reads it as the meter's bar)
            else:
                for ticks, kind, dots, ratio in _values(a, z, bar, element is None, grid):
                    written.append([a, ticks, kind, dots, (None, *ratio) if ratio else None])
                    a += ticks
        last = len(written) - 1
        for i, note in enumerate(written):
            tied = element is not None
            note += [element, tied and (tie_in or i > 0), tied and (tie_out or i < last)]
        if element is not None and start == element.start:  # its grace notes, in no time, before it
            kind = "eighth" if len(element.graces) == 1 else "16th"
            out += [[start, 0, kind, 0, None, grace, False, False] for grace in element.graces]
        out += written
    return out


def _tuplets(
    origin: int, span: int, start: int, end: int, inside: list[int], grid: _Grid
) -> list[tuple[int, int, int, int]]:
    """The tuplet groups of a beat (a quarter note from beat 1 at `origin`, `span` long; of it,
    what lies in the bar, `start` to `end`) whose boundaries `inside` lie off the plain grid, as
    (start, end, actual, normal): 3:2 groups of triplet 8ths if every boundary allows, else of
    triplet 16ths, 32nds, 64ths ..., only those with a boundary inside; else, where a boundary
    halves the beat, each half's own (an 8th, then five 32nds under a 5:4 bracket); else one
    group, in the fewest equal notes its boundaries lie on, in the time of the most plain values
    fewer than those that fill it (5:4 16ths, 7:4, 9:8 32nds; 5:3 16ths in a dotted 8th); else
    none (odd values)."""
    length = end - start
    *units, smallest = grid.tuplet_units
    fits = [u for u in units if length % (3 * u) == 0] + [smallest]  # the smallest, as far as it goes
    unit = next((u for u in fits if all((t - start) % u == 0 for t in inside)), None)
    if unit is not None:  # a group that one note or rest fills is a plain value
        return [
            (g, min(g + 3 * unit, end), 3, 2)
            for g in range(start, end, 3 * unit)
            if any(g < t < g + 3 * unit for t in inside)
        ]
    middle = origin + span // 2
    if span % 2 == 0 and middle in inside:
        halves = (
            (origin, start, middle, [t for t in inside if t < middle]),
            (middle, middle, end, [t for t in inside if t > middle]),
        )
        return [
            group
            for at, a, z, within in halves
            if any((t - at) % grid.plain for t in within)
            for group in _tuplets(at, span // 2, a, z, within, grid)
        ]
    for actual in range(2, 2 * FINEST_FRACTION):
        if length % actual or any((t - start) % (length // actual) for t in inside):
            continue
        plain = [m for m in range(1, actual) if grid.in_tuplet(length // actual, actual, m) in _UNDOTTED]
        if plain:
            return [(start, end, actual, plain[-1])]
    return []


def _in_group(
    start: int, stop: int, actual: int, normal: int, grid: _Grid
) -> list[tuple[int, int, str, int, int, int]]:
    """A note or rest from `start` to `stop` inside an `actual`:`normal` tuplet as written
    values (start, ticks, type, dots, actual, normal): one where one value is that long, else
    the longest that fit, tied; a rest no value of the ratio fits (in a group cut short at an
    odd place) in a ratio of its own that makes it exact (_odd_value)."""
    out = []
    while start < stop:
        values = ((t, grid.in_tuplet(t, actual, normal)) for t in range(stop - start, 0, -1))
        ticks, value = next(((t, v) for t, v in values if v is not None), (stop - start, None))
        if value is None:
            kind, ratio = _odd_value(ticks, grid)
            out.append((start, ticks, kind, 0, *ratio))
        else:
            out.append((start, ticks, *value, actual, normal))
        start += ticks
    return out


def _values(
    start: int, stop: int, bar: _Bar, rest: bool, grid: _Grid
) -> list[tuple[int, str, int, tuple[int, int] | None]]:
    """Note values for a note or rest from `start` to `stop` outside tuplet groups, written as the
    meter's beats ask. A rest is cut at every beat (two beats that begin a half bar of a 4/4 or
    12/8 bar make one rest: no rest hides the middle of a bar, no dotted rest stands for beats
    of a simple meter). In compound meters (6/8, 9/8, 12/8) a note too is cut at the beats it
    crosses, except whole beats (a dotted quarter or dotted half on the beat). In simple meters
    a note that starts off the beat is cut at the next beat unless its length is one value on the
    16th grid with at most one dot (a syncopated quarter stays one note; a double-dotted 8th
    from the second 16th of a beat is cut)."""
    compound = is_compound(bar.numerator, bar.denominator)
    beat = 3 * grid.divisions // 2 if compound else max(1, 4 * grid.divisions // bar.denominator)
    length, offbeat = stop - start, (start - bar.origin) % beat
    if not rest and not compound:
        if offbeat and length not in grid.syncopated_values and length > beat - offbeat:
            return _split_length(beat - offbeat, grid) + _split_length(length - (beat - offbeat), grid)
        return _split_length(length, grid)
    lengths, at = [], start
    if offbeat:  # the rest of a beat begun before
        lengths.append(min(stop, at + beat - offbeat) - at)
        at += lengths[-1]
    pairs = rest and (bar.numerator // 3 if compound else bar.numerator) == 4
    while stop - at >= beat:  # whole beats
        if not rest:  # a note on the beat in a compound meter: whole beats as dotted values
            whole = max(w for w in (4 * beat, 2 * beat, beat) if w <= stop - at)
        else:
            two = pairs and (at - bar.origin) % (2 * beat) == 0 and stop - at >= 2 * beat
            whole = 2 * beat if two else beat
        lengths.append(whole)
        at += whole
    if at < stop:
        lengths.append(stop - at)
    return [value for piece in lengths for value in _split_length(piece, grid)]


def _split_length(ticks: int, grid: _Grid) -> list[tuple[int, str, int, tuple[int, int] | None]]:
    """A length as tied note values, each the longest that fits (dotted where exact):
    (ticks, type, dots, ratio: None, or (actual, normal) for an odd value). Lengths off the
    plain grid (in bars cut short at odd places, notes cut by a key change off the grid, a beat
    whose tuplets no one ratio writes) end in triplet 32nds and one shorter value, the shortest
    type as long or longer in the ratio that makes it exact (1/24 of a quarter: a 64th in 3:2)."""
    out: list[tuple[int, str, int, tuple[int, int] | None]] = []
    for value, kind, dots in grid.measure_types:
        while ticks >= value:
            out.append((value, kind, dots, None))
            ticks -= value
    if ticks:
        small = grid.divisions // 12  # a triplet 32nd
        out += [(small, "32nd", 0, (3, 2))] * (ticks // small)
        if ticks % small:
            kind, ratio = _odd_value(ticks % small, grid)
            out.append((ticks % small, kind, 0, ratio))
    return out


def _odd_value(ticks: int, grid: _Grid) -> tuple[str, tuple[int, int]]:
    """A length no plain or tuplet value is, as the shortest type as long or longer in the ratio
    (actual, normal) that makes it exact: 1/24 of a quarter a 64th in 3:2."""
    length = Fraction(ticks, grid.divisions)
    kind, quarters = min(((k, q) for k, q in _QUARTERS.items() if q >= length), key=lambda kq: kq[1])
    ratio = length / quarters  # normal / actual
    return kind, (ratio.denominator, ratio.numerator)


TREBLE = "<clef><sign>G</sign><line>2</line></clef>"
BASS = "<clef><sign>F</sign><line>4</line></clef>"
MIDDLE_C = 60


def _bar_clefs(part: Part, bars: list[_Bar], grid: _Grid) -> list[str]:
    """The clef of each bar of a part: its one clef (_clef), except that a piano hand's staff
    changes clef for a passage on the other side of middle C, as engravers write a left hand
    that climbs into the treble: at a bar line where this bar and the next lie wholly there (a
    bar of rests goes along with either), and back at the first bar with a note on the staff's
    own side."""
    home = _clef(part)
    if part.name not in PIANO_HANDS or home not in (TREBLE, BASS):
        return [home] * len(bars)
    away = BASS if home == TREBLE else TREBLE
    starts = [bar.start for bar in bars]
    pitches: list[list[int]] = [[] for _ in bars]
    for n in part.notes:
        pitches[_at(starts, grid.ticks(n.start_beats))].append(n.pitch)

    def over_there(b: int) -> bool:  # every note of bar b on the away clef's side of middle C
        return all((p >= MIDDLE_C) == (away == TREBLE) for p in pitches[b])

    clef, out = home, []
    for b in range(len(bars)):
        if clef == home and pitches[b] and over_there(b) and b + 1 < len(bars) and over_there(b + 1):
            clef = away
        elif clef == away and not over_there(b):
            clef = home
        out.append(clef)
    return out


OTTAVA_LOW = 72  # C5: a run of a piano hand's onsets in the treble clef whose keys all lie at or above it
OTTAVA_HIGH = 88  # and reach E6 (three ledger lines) is written an octave lower under an 8va line,
OTTAVA_FROM = 84  # from its first onset that reaches C6 (two ledger lines) to its last


def _ottava_lines(part: Part, bars: list[_Bar], clefs: list[str], grid: _Grid) -> list[tuple[int, str]]:
    """Where 8va lines start ("down") and stop, in ticks: over each run of a piano hand's onsets
    in the treble clef whose keys all lie at or above OTTAVA_LOW and that reaches OTTAVA_HIGH,
    from its first onset reaching OTTAVA_FROM to the end of the notes of its last, as engravers
    spare a pianist the ledger lines (the line's notes keep their pitch)."""
    if part.name not in PIANO_HANDS:
        return []
    starts = [bar.start for bar in bars]
    onsets: dict[int, list[Note]] = {}
    for n in part.notes:
        onsets.setdefault(grid.ticks(n.start_beats), []).append(n)
    out: list[tuple[int, str]] = []
    run: list[int] = []

    def close(breaking: int | None) -> None:
        """End the run at the onset that breaks it (None: the piece's end): the line stops where
        its last onset's notes end, and no later than that onset."""
        high = [t for t in run if max(n.pitch for n in onsets[t]) >= OTTAVA_FROM]  # the line spans these
        if any(n.pitch >= OTTAVA_HIGH for t in high for n in onsets[t]):
            end = max(max(grid.ticks(n.start_beats + n.duration_beats), high[-1] + 1) for n in onsets[high[-1]])
            out.append((high[0], "down"))
            out.append((end if breaking is None else min(end, breaking), "stop"))
        run.clear()

    for t in sorted(onsets):
        bar = _at(starts, t)
        if clefs[bar] == TREBLE and min(n.pitch for n in onsets[t]) >= OTTAVA_LOW:
            run.append(t)
        else:
            close(t)
    close(None)
    return out


def _lines_by_note(
    lines: list[tuple[int, str]], bar: _Bar, written: list[list]
) -> dict[tuple[int, int], list[tuple[int, str]]]:
    """The 8va starts and stops that fall inside `bar` (one stopping at a bar line ends the bar
    before), by the (voice, note) of the staff they are written before: a note or rest that
    starts where they do, in the first voice that has one (MuseScore places a line by where it
    stands in the file, not by its offset), else the first voice's note that holds through
    them, with an offset."""
    out: dict[tuple[int, int], list[tuple[int, str]]] = {}
    for t, kind in lines:
        if not (t < bar.end and (t > bar.start or kind == "down")):
            continue
        at = next(((v, i) for v, notes in enumerate(written) for i, n in enumerate(notes) if n[0] == t), None)
        if at is None:
            at = (0, _at([n[0] for n in written[0]], t))
        out.setdefault(at, []).append((t, kind))
    return out


def _octave_shift(kind: str, staff: int, grand: bool, offset: int) -> str:
    """An 8va line's start ("down": the notes are written an octave below their pitch, which
    the notes keep) or its stop, `offset` ticks after the note it is written before, on `staff`
    of a part of several staves (`grand`)."""
    where = f"<staff>{staff}</staff>" if grand else ""
    offset_element = f"<offset>{offset}</offset>" if offset else ""
    return (
        f'      <direction placement="above"><direction-type><octave-shift type="{kind}" size="8" number="{staff}"/>'
        f"</direction-type>{offset_element}{where}</direction>"
    )


def _clef(part: Part) -> str:
    """The clef element for a part: as its voice's name says (treble for a soprano or an alto,
    treble-8 for a tenor, bass for a bass, as choirs read them), else treble or bass, whichever
    leaves fewer semitones outside the staff's ledger-free range; a part that lies lower still (a
    bass guitar's or a tuba's E1-G2) reads in the bass clef an octave down (8vb), as bass parts
    are written. Drums too are written as
    pitches (so that readers get their notes back), mostly in the bass clef. An instrument that is
    not a keyboard nor a bass instrument (General MIDI program) leans to the treble clef, as
    such parts are written (TREBLE_BIAS). A piano's right hand is written in the treble clef and
    its left hand in the bass clef, as pianists read, and passages wholly on the other side of
    middle C change clef (_bar_clefs): a newcomer's Liszt left hand, high for most of the piece,
    had its whole staff in the treble clef and its low notes ten ledger lines under it."""
    if part.name in PIANO_HANDS:  # its home clef, whatever its notes: passages change clef in _bar_clefs
        return TREBLE if part.name == PIANO_HANDS[0] else BASS
    words = set(part.name.lower().replace(".", " ").split())
    if "tenor" in part.name.lower():
        return "<clef><sign>G</sign><line>2</line><clef-octave-change>-1</clef-octave-change></clef>"
    if words & {"soprano", "sopran", "alto", "alt"}:
        return TREBLE
    treble: float = sum(max(0, 62 - n.pitch, n.pitch - 79) for n in part.notes)  # D4..G5 need no ledger line
    bass: float = sum(max(0, 41 - n.pitch, n.pitch - 59) for n in part.notes)  # F2..B3
    low_bass = sum(max(0, 29 - n.pitch, n.pitch - 47) for n in part.notes)  # F1..B2, in the bass clef 8vb
    if not part.is_drum and low_bass < bass and (words & {"bass", "bas", "basso"} or low_bass < treble):
        return "<clef><sign>F</sign><line>4</line><clef-octave-change>-1</clef-octave-change></clef>"
    if words & {"bass", "bas", "basso"} and not part.is_drum:
        return BASS
    if not part.is_drum and part.program not in KEYBOARD_PROGRAMS | BASS_PROGRAMS:
        treble /= TREBLE_BIAS  # an accordion's or a guitar's chords in the middle read in the treble clef
    return BASS if bass < treble else TREBLE


KEYBOARD_PROGRAMS = frozenset(range(0, 21))  # pianos, chromatic percussion, organs: either clef, by their notes
BASS_PROGRAMS = frozenset([*range(32, 40), 42, 43, 57, 58, 70])  # basses, cello, trombone, tuba, bassoon
TREBLE_BIAS = 2.0  # other instruments read in the treble clef unless the bass clef needs half the ledger room


def _abbreviation(name: str) -> str:
    short = _ABBREVIATIONS.get(name.strip().lower())
    return short or (name if len(name) <= 4 else name[:3].rstrip() + ".")


def _number(value: float) -> str:
    return format(round(value, 3), "g")


# ---------------------------------------------------------------------------------------------
# writing one measure of one part


@dataclass
class _StaffBar:
    """One staff's share of a measure: its voices' pieces, its clef in the first measure, and
    the next measure's clef where it changes. A change is written at the end of the measure
    before it, as MuseScore writes one: written at the start of its measure, MuseScore shows it
    after the old clef when that measure begins a system."""

    pieces_by_voice: list[list[tuple]]
    clef: str | None
    clef_after: str | None = None
    ottava: list[tuple[int, str]] = field(default_factory=list)  # 8va lines starting or stopping in it (ticks)


def _write_measure(
    out: list[str],
    grid: _Grid,
    bar: _Bar,
    place: _Place,
    staves: list[_StaffBar],
    keys: list[tuple[int, Any]],
    tempos: list[tuple[int, Any]],
    fermatas: set[int],
    chords: Sequence[tuple[int, ChordSymbol]] = (),
    sections: Sequence[tuple[int, Section]] = (),
    dynamics: Sequence[tuple[int, str]] = (),
) -> None:
    """One measure of one part: of one staff, or of a piano's two (the second staff's voices
    numbered from MAX_VOICES + 1, each of its notes marked <staff>2</staff>)."""
    b = place.bar
    grand = len(staves) > 1
    implicit = ' implicit="yes"' if bar.start != bar.origin else ""
    out.append(f'    <measure number="{place.number}"{implicit}>')
    if place.left:  # a left bar line must come first in its measure
        out.append(f'      <barline location="left">{place.left}</barline>')
    attributes = []
    if b == 0:
        attributes.append(f"<divisions>{grid.divisions}</divisions>")
    key_here = [(t, k) for t, k in keys if (b == 0 and t <= bar.start) or bar.start <= t < bar.end]
    key_at_start = [k for t, k in key_here if t <= bar.start]
    mid_keys = [(t, k) for t, k in key_here if t > bar.start]
    if key_at_start:
        attributes.append(_key_element(key_at_start[-1]))
    if bar.new_meter:
        attributes.append(f"<time><beats>{bar.numerator}</beats><beat-type>{bar.denominator}</beat-type></time>")
    if grand and b == 0:
        attributes.append(f"<staves>{len(staves)}</staves><part-symbol>brace</part-symbol>")
    for s, staff in enumerate(staves, start=1):
        if staff.clef is not None:
            attributes.append(_on_staff(staff.clef, s, grand))
    if attributes:
        out.append("      <attributes>" + "".join(attributes) + "</attributes>")
    here = [
        (max(tick, bar.start), tempo)
        for tick, tempo in tempos
        if bar.start <= tick < bar.end or (b == 0 and tick < bar.start)
    ]
    harmonies = [
        (max(tick, bar.start), chord)
        for tick, chord in chords
        if bar.start <= tick < bar.end or (b == 0 and tick < bar.start)
    ]
    labels = [
        (max(tick, bar.start), section)
        for tick, section in sections
        if bar.start <= tick < bar.end or (b == 0 and tick < bar.start)
    ]
    markings = [
        (max(tick, bar.start), marking)
        for tick, marking in dynamics
        if bar.start <= tick < bar.end or (b == 0 and tick < bar.start)
    ]

    for s, staff in enumerate(staves):
        # every voice's written notes, then accidentals in time order across the staff's voices
        pieces_by_voice = staff.pieces_by_voice
        present = [v for v, pieces in enumerate(pieces_by_voice) if pieces or v == 0]
        first = s == 0
        written = [
            _notated(pieces_by_voice[v], bar, grid, [t for t, _ in mid_keys] if v == 0 and first else ())
            for v in present
        ]
        if place.cut_in or place.cut_out:  # ties to and from music a repeat skips are dropped
            for notes in written:
                for note in notes:
                    _untie(note, bar, place.cut_in, place.cut_out)
        _mark_accidentals(written, keys)
        lines = _lines_by_note(staff.ottava, bar, written)
        for vi, (v, notes) in enumerate(zip(present, written)):
            # a voice keeps its number from bar to bar, so that ties find their notes
            number = s * MAX_VOICES + v + 1
            if number > 1:
                out.append(f"      <backup><duration>{bar.end - bar.start}</duration></backup>")
            pending = list(mid_keys) if number == 1 else []
            for i, note in enumerate(notes):
                while pending and pending[0][0] <= note[0]:
                    out.append("      <attributes>" + _key_element(pending.pop(0)[1]) + "</attributes>")
                if number == 1:  # rehearsal and tempo marks go before the note they start on (or in)
                    next_start = notes[i + 1][0] if i + 1 < len(notes) else bar.end
                    out += [
                        _rehearsal(section.label, tick - note[0])
                        for tick, section in labels
                        if note[0] <= tick < next_start
                    ]
                    out += [_dynamics(m, tick - note[0]) for tick, m in markings if note[0] <= tick < next_start]
                    out += [
                        _tempo_direction(tempo.bpm, tick - note[0], bar)
                        for tick, tempo in here
                        if note[0] <= tick < next_start
                    ]
                    out += [
                        _harmony(chord, tick - note[0]) for tick, chord in harmonies if note[0] <= tick < next_start
                    ]
                out += [_octave_shift(kind, s + 1, grand, t - note[0]) for t, kind in lines.get((vi, i), [])]
                _write_note(out, note, number, fermatas, s + 1 if grand else None)
        for t, kind in staff.ottava:  # an 8va line ending with the bar: after the staff's voices, which fill it
            if t == bar.end and kind == "stop":
                out.append(_octave_shift(kind, s + 1, grand, 0))
    changes = [_on_staff(staff.clef_after, s, grand) for s, staff in enumerate(staves, start=1) if staff.clef_after]
    if changes:
        out.append("      <attributes>" + "".join(changes) + "</attributes>")
    if place.right:
        out.append(f'      <barline location="right">{place.right}</barline>')
    out.append("    </measure>")


def _on_staff(clef: str, staff: int, grand: bool) -> str:
    """A clef element for `staff` (from 1) of a part of several staves (`grand`); as it is else."""
    return clef.replace("<clef>", f'<clef number="{staff}">') if grand else clef


def _untie(note: list, bar: _Bar, cut_in: bool, cut_out: bool) -> None:
    """Drop a written note's tie from the bar before (`cut_in`, at the bar's start) or on to the
    bar after (`cut_out`, at its end): the bar next to it on the page is not the one it was
    tied to, which a repeat skips. The note stays; it is struck again."""
    element = note[5]
    if element is None:
        return
    if cut_in and note[0] == bar.start:
        note[6] = False
        if element.tied_in is not None and note[0] == element.start:
            element = note[5] = replace(element, tied_in=[False] * len(element.pitches))
    if cut_out and note[0] + note[1] == bar.end:
        note[7] = False
        if element.tied_out is not None and note[0] + note[1] == element.end:
            note[5] = replace(element, tied_out=[False] * len(element.pitches))


def _key_element(key: Key) -> str:
    return f"<key><fifths>{key_signature(key)}</fifths><mode>{key.modal or key.mode}</mode></key>"


def metronome_beat(bpm: float, numerator: int, denominator: int) -> tuple[float, float]:
    """(beat, beats a minute) for a metronome mark of a tempo in quarter notes a minute: the beat
    a player counts (theory.beat_beats: a dotted quarter in 6/8, a half in 2/2), when the number
    of them a minute stays exact to the thousandth; else (1.0, bpm), in quarters. 120 in 6/8 is
    (1.5, 80), 200 in 2/2 (2.0, 100), 110 in 6/8 (1.0, 110)."""
    beat = beat_beats(Meter(0.0, numerator, denominator))
    if beat not in (1.5, 2.0):  # a quarter, or an eighth-note beat nobody marks a metronome in
        return 1.0, bpm
    per_minute = round(bpm / beat, 3)
    return (beat, per_minute) if per_minute * beat == bpm else (1.0, bpm)


_BEAT_UNITS = {
    1.0: "<beat-unit>quarter</beat-unit>",
    1.5: "<beat-unit>quarter</beat-unit><beat-unit-dot/>",
    2.0: "<beat-unit>half</beat-unit>",
}


def _tempo_direction(bpm: float, offset: int, bar: _Bar) -> str:
    """A metronome mark in the counted beat (and the tempo for playback, always in quarters),
    `offset` ticks after the note it is written before."""
    beat, per_minute = metronome_beat(bpm, bar.numerator, bar.denominator)
    offset_element = f'<offset sound="yes">{offset}</offset>' if offset else ""
    return (
        '      <direction placement="above"><direction-type><metronome parentheses="no">'
        f"{_BEAT_UNITS[beat]}<per-minute>{_number(per_minute)}</per-minute></metronome>"
        f'</direction-type>{offset_element}<sound tempo="{_number(bpm)}"/></direction>'
    )


def _dynamics(marking: str, offset: int) -> str:
    """A section's dynamics marking (mf), under the staff, `offset` ticks after the note it is
    written before."""
    offset_element = f"<offset>{offset}</offset>" if offset else ""
    return (
        '      <direction placement="below"><direction-type>'
        f"<dynamics><{marking}/></dynamics></direction-type>{offset_element}</direction>"
    )


def _rehearsal(label: str, offset: int) -> str:
    """A section label as a rehearsal mark, `offset` ticks after the note it is written before."""
    offset_element = f"<offset>{offset}</offset>" if offset else ""
    return (
        '      <direction placement="above"><direction-type>'
        f"<rehearsal>{escape(label)}</rehearsal></direction-type>{offset_element}</direction>"
    )


def _harmony(chord: ChordSymbol, offset: int) -> str:
    """A chord symbol as MusicXML's <harmony>, `offset` ticks after the note it is written
    before: root (spelled as its text spells it, else by the usual names), kind (with the
    canonical suffix and alterations as its text), bass, and each alteration as a <degree>
    (not printed: the kind's text shows it)."""
    root = _step_alter(chord.root, chord.text.lstrip("("))
    bass_text = chord.text.rstrip(")").rsplit("/", 1)[1] if "/" in chord.text else ""
    parts = [f"<root><root-step>{root[0]}</root-step>{_alter_element('root', root[1])}</root>"]
    parts.append(f'<kind text="{escape(written_kind_text(chord), {chr(34): "&quot;"})}">{chord.kind}</kind>')
    if chord.bass is not None:
        step, alter = _step_alter(chord.bass, bass_text)
        parts.append(f"<bass><bass-step>{step}</bass-step>{_alter_element('bass', alter)}</bass>")
    for a in chord.alterations:
        value = int(a.removeprefix("add").lstrip("#b"))
        alter = 1 if "#" in a else -1 if a.startswith("b") else 0
        added, replaced = ALTERATIONS[a]
        kind = "alter" if replaced in KINDS[chord.kind] and not a.startswith("add") else "add"
        parts.append(
            f'<degree print-object="no"><degree-value>{value}</degree-value><degree-alter>{alter}</degree-alter>'
            f"<degree-type>{kind}</degree-type></degree>"
        )
    if offset:
        parts.append(f"<offset>{offset}</offset>")
    return "      <harmony>" + "".join(parts) + "</harmony>"


_FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
_SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def _step_alter(pitch_class: int, text: str) -> tuple[str, int]:
    """(step, alter) of a chord's root or bass: as `text` begins when it names that pitch class
    (D#, Gb, Cb), else by the usual names (C# Eb F# Ab Bb)."""
    letter = text[:1].upper()
    if letter in "ABCDEFG" and letter:
        accidental = text[1:2] if text[1:2] in ("#", "b", "+") else ""
        alter = {"#": 1, "+": 1, "b": -1}.get(accidental, 0)
        if ("C D EF G A B".index(letter) + alter) % 12 == pitch_class:
            return letter, alter
    name = (_SHARP_NAMES if pitch_class in (1, 6) else _FLAT_NAMES)[pitch_class]
    return name[0], {"#": 1, "b": -1}.get(name[1:], 0)


def _alter_element(what: str, alter: int) -> str:
    return f"<{what}-alter>{alter}</{what}-alter>" if alter else ""


def _mark_accidentals(voices: list[list[list]], keys: list[tuple[int, Any]]) -> None:
    """Append to each written note the accidental names to show, one per pitch (None: none):
    where the alteration differs from the key signature's, or from an earlier note on the same
    step and octave in this bar. A note tied over the bar line shows none and changes nothing."""
    notes = sorted((note for voice in voices for note in voice), key=lambda n: (n[0], n[1] > 0))  # graces first
    state: dict[tuple[str, int], int] = {}
    alters_at: dict[int, dict[str, int]] = {}
    for note in notes:
        element = note[5]
        if element is None:
            note.append(None)
            continue
        key = in_effect(keys, note[0])
        alters = alters_at.get(id(key))
        if alters is None:
            alters = alters_at[id(key)] = key_signature_alterations(key)
        shown: list = []
        for i, (step, alter, octave) in enumerate(element.spellings):
            if _tied(note, i)[0]:  # tied from before: no accidental
                shown.append(None)
                continue
            current = state.get((step, octave), alters[step])
            shown.append(_ALTER_NAMES.get(alter) if alter != current else None)
            state[(step, octave)] = alter
        note.append(shown)


def _tied(note: list, i: int) -> tuple[bool, bool]:
    """Whether pitch i of a written note is tied from the note before and on to the next: within
    its element (cut at bar lines and into note values), or, in a chordified passage, as a note
    sounding on from chord to chord."""
    start, ticks, element, tie_in, tie_out = note[0], note[1], note[5], note[6], note[7]
    if element.tied_in is not None:
        tie_in = tie_in or (start == element.start and element.tied_in[i])
        tie_out = tie_out or (start + ticks == element.end and element.tied_out[i])
    return tie_in, tie_out


def _write_note(out: list[str], note: list, voice: int, fermatas: set[int], staff: int | None = None) -> None:
    start, ticks, kind, dots, tuplet, element, _, _, accidentals = note
    rhythm = f"<duration>{ticks}</duration>"
    after = f"<voice>{voice}</voice>"
    if kind is not None:
        after += f"<type>{kind}</type>" + "<dot/>" * dots
    mark, actual, normal = tuplet if tuplet is not None else (None, 0, 0)
    modification = (
        f"<time-modification><actual-notes>{actual}</actual-notes><normal-notes>{normal}</normal-notes></time-modification>"
        if tuplet is not None
        else ""
    )
    if staff is not None:  # after the time modification, as MusicXML orders a note's elements
        modification += f"<staff>{staff}</staff>"
    tuplet_mark = f'<tuplet type="{mark}" bracket="yes"/>' if mark in ("start", "stop") else ""
    if element is None:  # every voice's rests are shown: a bar must add up on the page
        rest = '<rest measure="yes"/>' if kind is None else "<rest/>"
        notations = f"<notations>{tuplet_mark}</notations>" if tuplet_mark else ""
        out.append(f"      <note>{rest}{rhythm}{after}{modification}{notations}</note>")
        return
    grace = ticks == 0  # a grace note (_notated): no duration
    if grace:
        rhythm = ""
    fermata = start == element.start and start in fermatas and not grace
    for i, ((step, alter, octave), velocity) in enumerate(zip(element.spellings, element.velocities)):
        pitch = f"<step>{step}</step>" + (f"<alter>{alter}</alter>" if alter else "") + f"<octave>{octave}</octave>"
        tie_in, tie_out = _tied(note, i)
        ties = ('<tie type="stop"/>' if tie_in else "") + ('<tie type="start"/>' if tie_out else "")
        tied = ('<tied type="stop"/>' if tie_in else "") + ('<tied type="start"/>' if tie_out else "")
        accidental = f"<accidental>{accidentals[i]}</accidental>" if accidentals[i] else ""
        marks = tied + (tuplet_mark if i == 0 else "") + ('<fermata type="upright"/>' if fermata and i == 0 else "")
        if i == 0 and start == element.start and element.marks and not grace:  # on the note's first value
            marks += "<articulations>" + "".join(f"<{ARTICULATIONS[m]}/>" for m in element.marks) + "</articulations>"
        notations = f"<notations>{marks}</notations>" if marks else ""
        slash = ' slash="yes"' if kind == "eighth" else ""  # a lone grace (_notated); not a run of 16ths
        chord = (f"<grace{slash}/>" if grace else "") + ("<chord/>" if i else "")
        out.append(
            f'      <note dynamics="{_number(velocity / 0.9)}">{chord}<pitch>{pitch}</pitch>{rhythm}{ties}'
            f"{after}{accidental}{modification}{notations}</note>"
        )
