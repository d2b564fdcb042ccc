"""Arrangements: a lead sheet (a melody with chord symbols) played by a band in a style.

    arrange(score, style, seed, drums) -> Score
    load_style("waltz") / load_style("my-style.toml") -> Style   (cadenza.arrange.styles)

An arrangement keeps the lead sheet's meters, keys, tempos, title, repeats and chord symbols
(so its MusicXML shows them; with several pitched parts it is no lead sheet, so the symbols
are not sounded again) and has these parts, one MIDI track each: "Melody" (the lead sheet's
melody as written, on the style's melody program, its velocities kept), the chord part, named
after its instrument ("Guitar", "Piano": "Chords" is the MIDI chord-symbol track's), "Bass",
and, when drums play, "Drums" (is_drum). The style's patterns (cadenza.arrange.styles) say
what the accompaniment plays in each bar; these rules fit them to the tune:

- Time. The accompaniment starts at the first chord symbol, and not before the melody's first
  note (a pickup stays a pickup), and ends with the melody's last note. A bar shorter than the
  pattern (a pickup, a bar cut short by a meter change, the last bar) plays the events that
  start within it, cut at its end. Swing (styles' `swing`, long:short) moves the
  accompaniment's off-beat eighths later in meters counted in quarters or halves, not in
  compound meters (6/8), which swing already; the melody stays as written.
- Harmony. Each event plays the chord in force at its onset. The bass plays the root on the
  bar's first event and at every chord change (a symbol naming another chord than the one
  before it). At a change that falls between a part's events, a bass or chord note still
  sounding is cut there and struck again with the new chord (the bass on its root). Where no
  bass note sounds or starts at a change, a root is inserted there; where the chord part would
  not play the new chord before the next change or the bar's end, the chord is inserted (like
  the pattern's first chord event, with all its notes): each lasting to the part's next event,
  the bar's end or one counted beat, whichever comes first. A slash chord's bass (C/E) is its
  "root" for the bass. "approach" and "step" lead into the chord at the next bass note.
- The end. From the melody's last onset, the bass holds the root and the chord part the
  chord in force (the first voicing its pattern names) to the end; the drums play their
  pattern's downbeat strokes there.
- Registers. The bass lies in the style's bass register (E1-G2, MIDI 28-43), each note in the
  octave nearest the one before (the first nearest the register's middle; of a leap of a
  fourth and one of a fifth, the one that stays nearer the middle). Chord voicings lie in the
  chord register (C3-C5), each the inversion and octave of its voicing nearest the one the part
  played before (voice leading: the least total movement of its notes, lowest to lowest; the
  first nearest the register's middle), a note above the melody note sounding with it (or
  starting within an eighth after it) costing more.
- Repeats. Where a repeat's passes begin on a bar line and have the same chords, the second
  pass's accompaniment is the first's (so the MusicXML still writes the repeat once).
- Loudness. The styles' velocities are for a melody played at 80: they scale with the
  melody's median velocity, and the bass and chords stay at least 8 under it.
- A learned accompaniment. A style may name a model (`accompaniment = "pop"`) whose notes are
  the chord part, its own bass included; its drums still come from the patterns, and the rules
  of loudness and repeats hold for it as for a pattern's part.
- Chance. Only where a style asks for variation (a list of `what`, a `chance`, drum `fills`)
  is anything drawn, with random.Random(seed): the same seed gives the same arrangement.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from dataclasses import dataclass, replace
from statistics import median

from cadenza.arrange.styles import BUILTIN_STYLES, Event, Pattern, Style, load_style, read_style
from cadenza.chords import ChordSymbol, pitch_classes
from cadenza.errors import MusicError
from cadenza.score import Key, Meter, Note, Part, Score, bar_starts, in_force, pickup_start

__all__ = ["BUILTIN_STYLES", "Style", "arrange", "load_style", "read_style", "NO_CHORDS"]

EPS = 1e-6
NO_CHORDS = (
    "no chord symbols to arrange: give a lead sheet (a melody with chord symbols), "
    "or write chords for it first with `cadenza chords`"
)
UNDER_MELODY = 8  # the bass and chords stay at least this much softer than the melody


@dataclass
class _Slot:
    """An event placed in time: a note (bass), a chord (chords) or a stroke (drums) to play."""

    start: float
    end: float
    vel: int
    what: str | int
    voice: tuple[int, ...] = ()
    register: tuple[int, int] | None = None


class _Harmony:
    """The chord symbols in time: the one in force at a beat and the changes."""

    def __init__(self, chords: list[ChordSymbol]):
        by_start: dict[float, ChordSymbol] = {}
        for c in sorted(chords, key=lambda c: c.start_beats):  # of two at one beat, the later one sounds
            by_start[round(c.start_beats, 6)] = c
        self.chords = [by_start[t] for t in sorted(by_start)]
        self.starts = [c.start_beats for c in self.chords]
        self.changes = [
            c.start_beats for i, c in enumerate(self.chords) if i == 0 or _same(c) != _same(self.chords[i - 1])
        ]

    def at(self, beats: float) -> ChordSymbol:
        i = bisect_right(self.starts, beats + EPS) - 1
        return self.chords[max(i, 0)]

    def changes_in(self, lo: float, hi: float) -> list[float]:
        return [t for t in self.changes if lo - EPS <= t < hi - EPS]


def _same(c: ChordSymbol) -> tuple:
    return (c.root, c.kind, c.bass, c.alterations)


def arrange(
    score: Score, style: Style, seed: int = 0, drums: bool | None = None, accompaniment: list[Note] | None = None
) -> Score:
    """The lead sheet `score` arranged in `style` (see the module docstring); drums None plays
    them as the style says. `accompaniment`: the chord part's notes, bass included, where the
    style's chord part is a model's (Style.accompaniment; the caller plays the model:
    cadenza.compose.accompanist); the patterns' bass and chords are then not played. Raises
    MusicError for a score without a melody or chord symbols."""
    melody = next((p for p in score.parts if p.notes and not p.is_drum), None)
    if melody is None:
        raise MusicError("no melody to arrange: no part has pitched notes")
    if not score.chords:
        raise MusicError(NO_CHORDS)
    if style.accompaniment and accompaniment is None:
        raise ValueError(f"style {style.name} plays model {style.accompaniment}'s accompaniment: pass its notes")
    play_drums = style.drums if drums is None else drums
    rng = random.Random(seed)
    tune = sorted(melody.notes, key=lambda n: (n.start_beats, n.pitch))
    end = max(n.end_beats for n in tune)
    last_onset = tune[-1].start_beats
    harmony = _Harmony(score.chords)
    begin = max(harmony.starts[0], tune[0].start_beats)
    only_melody = replace(score, parts=[melody])
    starts = bar_starts(only_melody)
    pickup = pickup_start(only_melody) > 0
    meters = sorted(score.meters, key=lambda m: m.start_beats) or [Meter(0.0, 4, 4)]

    bass: list[_Slot] = []
    chords: list[_Slot] = []
    kit: list[_Slot] = []
    final: tuple[Pattern, Meter] | None = None
    for i, bar_start in enumerate(starts):
        bar_end = min(starts[i + 1] if i + 1 < len(starts) else end, end)
        lo = max(bar_start, begin)
        if bar_end <= lo + EPS:
            continue
        meter = _in_force(meters, bar_start)
        pattern, every = style.pattern_for(meter.numerator, meter.denominator)
        if bar_start <= last_onset + EPS:
            final = (pattern, meter)
        beat = _beat(meter)
        swing = style.swing if style.swing != 1.0 and not _compound(meter) else 1.0

        def place(events: tuple[Event, ...]) -> list[_Slot]:
            return _place(events, bar_start, meter.bar_beats, every, beat, swing, lo, bar_end, rng)  # noqa: B023

        bar_bass, bar_chords = place(pattern.bass), place(pattern.chords)
        if play_drums:
            number = i if pickup else i + 1  # as notation numbers bars: after a pickup, 1 is the first full bar
            fill = bool(pattern.fills) and number % style.fill_every == 0 and bar_end < end - EPS
            kit += place(rng.choice(pattern.fills) if fill else pattern.drums)
        changes = harmony.changes_in(lo, bar_end)
        _follow_changes(bar_bass, changes, pattern.bass[0] if pattern.bass else None, True, bar_end, beat)
        _follow_changes(bar_chords, changes, pattern.chords[0] if pattern.chords else None, False, bar_end, beat)
        if bar_bass:
            bar_bass[0].what = "root"
        bass += bar_bass
        chords += bar_chords

    if final is not None and last_onset >= begin - EPS:
        bass, chords, kit = (_cut_at(slots, last_onset) for slots in (bass, chords, kit))
        pattern, meter = final
        first_bass = pattern.bass[0].vel if pattern.bass else 64
        bass.append(_Slot(last_onset, end, first_bass, "root"))
        if pattern.chords:
            e = pattern.chords[0]
            chords.append(_Slot(last_onset, end, e.vel, e.what[0], (), e.register))
        if play_drums:
            scale = _beat(meter) if pattern.meter == "any" else 1.0
            for e in pattern.drums:
                if e.at == 0:
                    kit.append(_Slot(last_onset, min(end, last_onset + e.dur * scale), e.vel, e.what[0]))

    keys = sorted(score.keys, key=lambda k: k.start_beats)
    bass_notes = _realize_bass(bass, harmony, keys, style.bass_register)
    chord_notes = _realize_chords(chords, harmony, style.chords_register, tune) if accompaniment is None else []
    if accompaniment is not None:
        bass_notes, chord_notes = [], sorted(accompaniment, key=lambda n: (n.start_beats, n.pitch))
    kit_notes = [Note(int(s.what), s.start, s.end - s.start, s.vel) for s in kit]
    voices = [bass_notes, chord_notes, kit_notes]
    voices = _repeat_as_before(voices, score, harmony, starts, begin, last_onset)

    loud = median(n.velocity for n in tune)
    factor = loud / 80

    def level(notes: list[Note], pitched: bool) -> list[Note]:
        top = max(1, round(loud) - UNDER_MELODY) if pitched else 127
        return _tidy([replace(n, velocity=max(1, min(top, round(n.velocity * factor)))) for n in notes])

    parts = [
        replace(melody, name="Melody", program=style.melody_program, is_drum=False),
        Part(style.chords_name, style.chords_program, False, level(voices[1], True)),
        Part("Bass", style.bass_program, False, level(voices[0], True)),
    ]
    if play_drums and voices[2]:
        parts.append(Part("Drums", 0, True, level(voices[2], False)))
    return replace(score, parts=[p for p in parts if p.notes or p.name == "Melody"])


# ---------------------------------------------------------------------------------------------
# placing the patterns


def _in_force(items, beats: float):
    """The item in force at `beats` (cadenza.score.in_force), the first before any has begun."""
    return in_force(items, beats, EPS) or items[0]


def _compound(meter: Meter) -> bool:
    from cadenza.theory import is_compound

    return is_compound(meter.numerator, meter.denominator)


def _beat(meter: Meter) -> float:
    from cadenza.theory import beat_beats

    return beat_beats(meter)


def _swung(at: float, ratio: float) -> float:
    """A time in quarter notes from the bar's start with its off-beat eighths moved later:
    the first half of each quarter lasts ratio/(ratio+1) of it."""
    if ratio == 1.0:
        return at
    quarter = math.floor(at + EPS)
    f = at - quarter
    long = ratio / (ratio + 1)
    return quarter + (f * 2 * long if f <= 0.5 + EPS else long + (f - 0.5) * 2 * (1 - long))


def _place(
    events: tuple[Event, ...],
    bar_start: float,
    bar_beats: float,
    every: float | None,
    beat: float,
    swing: float,
    lo: float,
    hi: float,
    rng: random.Random,
) -> list[_Slot]:
    """A pattern's events in one bar: repeated every `every` quarter notes, or on every
    counted beat (an "any" pattern, every None, timed in beats); those that start in [lo, hi),
    cut at hi."""
    if every is None:
        copies = [(k * beat, beat) for k in range(math.ceil(bar_beats / beat - EPS))]
    else:
        copies = [(k * every, 1.0) for k in range(max(1, round(bar_beats / every)))]
    slots = []
    for offset, unit in copies:
        for e in events:
            at = offset + e.at * unit
            start = bar_start + _swung(at, swing)
            stop = min(bar_start + _swung(at + e.dur * unit, swing), hi)
            if start < lo - EPS or start >= hi - EPS:
                continue
            if e.chance < 1.0 and rng.random() >= e.chance:
                continue
            what = e.what[0] if len(e.what) == 1 else rng.choice(e.what)
            slots.append(_Slot(start, stop, e.vel, what, e.voice, e.register))
    slots.sort(key=lambda s: s.start)
    return slots


def _follow_changes(
    slots: list[_Slot], changes: list[float], first: Event | None, is_bass: bool, bar_end: float, beat: float
) -> None:
    """Fit one bar of a part to the chord changes in it (the module docstring's rule), in place;
    `first` is the part's first event in the pattern, what an inserted note or chord is like."""
    for i, t in enumerate(changes):
        starting = [s for s in slots if abs(s.start - t) < EPS]
        sounding = [s for s in slots if s.start < t - EPS and s.end > t + EPS]
        for s in sounding:
            again = replace(s, start=t, what="root" if is_bass else s.what)
            s.end = t
            if not is_bass or not starting:
                slots.append(again)
        if is_bass:
            for s in starting:
                s.what = "root"
        until = changes[i + 1] if i + 1 < len(changes) else bar_end
        unplayed = not any(t - EPS <= s.start < until - EPS for s in slots)
        if first is not None and not sounding and (unplayed or (is_bass and not starting)):
            later = [s.start for s in slots if s.start > t + EPS]
            stop = min([bar_end, t + beat, *later])
            what = "root" if is_bass else first.what[0]
            slots.append(_Slot(t, stop, first.vel, what, (), first.register))
        slots.sort(key=lambda s: s.start)


def _cut_at(slots: list[_Slot], at: float) -> list[_Slot]:
    """The slots that start before `at`, cut there."""
    return [replace(s, end=min(s.end, at)) for s in slots if s.start < at - EPS]


# ---------------------------------------------------------------------------------------------
# pitches


def _bass_class(c: ChordSymbol) -> int:
    return (c.root if c.bass is None else c.bass) % 12


def _step(c: ChordSymbol, what: str) -> int | None:
    """The pitch class of the chord's third, fifth or seventh (or sixth), None where it has none."""
    intervals = [(t - c.root) % 12 for t in pitch_classes(c)]
    for step in {"third": (4, 3, 2, 5), "fifth": (7, 6, 8), "seventh": (10, 11, 9)}.get(what, ()):
        if step in intervals:
            return (c.root + step) % 12
    return None


def _tone(c: ChordSymbol, what: str) -> int:
    """The pitch class of a chord tone the bass names (the root where the chord has none)."""
    pc = _step(c, what)
    return _bass_class(c) if pc is None else pc


def _places(pc: int, register: tuple[int, int]) -> list[int]:
    return [p for p in range(register[0], register[1] + 1) if p % 12 == pc % 12]


def _nearest(pc: int, near: float | None, register: tuple[int, int]) -> int:
    """The pitch of class `pc` in the register nearest `near` (its middle when None); between a
    fourth and a fifth, the one that brings the line nearer the register's middle."""
    middle = (register[0] + register[1]) / 2
    target = middle if near is None else near
    return min(_places(pc, register), key=lambda p: (abs(p - target) + 0.75 * abs(p - middle), p))


def _realize_bass(slots: list[_Slot], harmony: _Harmony, keys: list[Key], register: tuple[int, int]) -> list[Note]:
    from cadenza.theory import scale

    notes: list[Note] = []
    prev: int | None = None
    last_root: int | None = None
    for i, s in enumerate(slots):
        c = harmony.at(s.start)
        if s.what in ("approach", "step"):
            after = slots[i + 1].start if i + 1 < len(slots) else s.start
            target = _nearest(_bass_class(harmony.at(after)), prev, register)
            key = _in_force(keys, after) if keys else None
            steps = scale(key) if (key is not None and s.what == "step") else None
            pitch = _approach(target, prev, register, steps)
        elif s.what == "octave":
            root = _bass_class(c)
            others = [p for p in _places(root, register) if p != last_root]
            if others and last_root is not None and last_root % 12 == root:
                away = last_root
                pitch = min(others, key=lambda p: (abs(p - away), p))
            else:
                pitch = _nearest(root, prev, register)
        else:
            pitch = _nearest(_tone(c, str(s.what)), prev, register)
            if s.what == "root":
                last_root = pitch
        notes.append(Note(pitch, s.start, s.end - s.start, s.vel))
        prev = pitch
    return notes


def _approach(target: int, prev: int | None, register: tuple[int, int], steps: frozenset[int] | None) -> int:
    """A step into `target` from the side the line comes from (from below when it comes from
    the target itself): a half step, or with `steps` (a scale) the scale's step there."""

    def step(direction: int) -> int:
        if steps is not None:
            for d in (1, 2):
                if (target + direction * d) % 12 in steps:
                    return target + direction * d
        return target + direction

    first = -1 if prev is None or prev <= target else 1
    for direction in (first, -first):
        pitch = step(direction)
        if register[0] <= pitch <= register[1]:
            return pitch
    return target


def _voicing_classes(c: ChordSymbol, kind: str) -> list[int]:
    """The pitch classes a voicing plays, root upward: "shell" the third and the seventh (or
    sixth; a triad's third and fifth; a chord without a third its root); "close" and "open"
    every tone, at most four (the fifth goes first, then the highest extensions)."""
    tones = list(pitch_classes(c))
    if kind == "shell":
        third, fifth, seventh = (_step(c, w) for w in ("third", "fifth", "seventh"))
        upper = seventh if seventh is not None else fifth
        return [c.root if third is None else third, *([] if upper is None else [upper])]
    if len(tones) > 4:
        fifth = (c.root + 7) % 12
        if fifth in tones:
            tones.remove(fifth)
    return tones[:4]


def _voicing(
    c: ChordSymbol, kind: str, register: tuple[int, int], prev: tuple[int, ...] | None, melody: int | None
) -> tuple[int, ...]:
    """The voicing of `c`: of every inversion of `kind` at every octave inside the register,
    the one nearest `prev` (the least total movement, lowest note to lowest note; the
    register's middle when there is none), notes above the melody note `melody` costing more."""
    classes = _voicing_classes(c, kind)
    shapes = []
    for r in range(len(classes)):
        turn = classes[r:] + classes[:r]
        stack = [turn[0]]
        for pc in turn[1:]:
            stack.append(stack[-1] + ((pc - stack[-1]) % 12 or 12))
        if kind == "open" and len(stack) >= 3:
            stack[-2] -= 12
            stack.sort()
        shapes.append(stack)
    lo, hi = register
    inside, all_places = [], []
    for shape in shapes:
        for k in range(-2, 12):
            cand = tuple(p + 12 * k for p in shape)
            if min(cand) < 0 or max(cand) > 127:
                continue
            all_places.append(cand)
            if lo <= min(cand) and max(cand) <= hi:
                inside.append(cand)
    if not inside:  # a voicing wider than the register: the places that leave it least
        overflow = {cand: max(0, lo - min(cand)) + max(0, max(cand) - hi) for cand in all_places}
        least = min(overflow.values())
        inside = [cand for cand in all_places if overflow[cand] == least]

    def cost(cand: tuple[int, ...]) -> tuple[float, float, tuple[int, ...]]:
        if prev is None:
            move = abs(sum(cand) / len(cand) - (lo + hi) / 2)
        elif len(prev) == len(cand):
            move = sum(abs(a - b) for a, b in zip(sorted(cand), sorted(prev)))
        else:
            move = sum(min(abs(a - b) for b in prev) for a in cand) + sum(min(abs(a - b) for a in cand) for b in prev)
        above = sum(max(0, p - melody + 1) for p in cand) if melody is not None else 0
        return (move + 2 * above, sum(cand) / len(cand), cand)

    return min(inside, key=cost)


def _sounding(tune: list[Note], at: float) -> int | None:
    """The highest melody note sounding at `at`, or starting within an eighth after it."""
    pitches = [n.pitch for n in tune if n.start_beats - 0.5 < at + EPS and n.end_beats > at + EPS]
    return max(pitches) if pitches else None


def _realize_chords(slots: list[_Slot], harmony: _Harmony, register: tuple[int, int], tune: list[Note]) -> list[Note]:
    notes: list[Note] = []
    last: dict[tuple, tuple[int, ...]] = {}
    for s in slots:
        window = s.register or register
        stream = (s.what, window)
        voicing = _voicing(harmony.at(s.start), str(s.what), window, last.get(stream), _sounding(tune, s.start))
        last[stream] = voicing
        if s.voice:
            pitches = [voicing[v % len(voicing)] + 12 * (v // len(voicing)) for v in s.voice]
        else:
            pitches = list(voicing)
        notes += [Note(p, s.start, s.end - s.start, s.vel) for p in pitches if 0 <= p <= 127]
    return notes


# ---------------------------------------------------------------------------------------------
# repeats and tidying


def _repeat_as_before(
    voices: list[list[Note]],
    score: Score,
    harmony: _Harmony,
    starts: list[float],
    begin: float,
    last_onset: float,
) -> list[list[Note]]:
    """Each repeat's second pass (but its second ending) plays the accompaniment of its first,
    where both begin on a bar line after the accompaniment has begun, under one meter, and
    have the same chords; the end (from the melody's last onset) is left as it is."""
    bar_lines = {round(b, 6) for b in starts}
    for r in sorted(score.repeats, key=lambda r: r.start_beats):
        length = r.end_beats - r.start_beats
        a, b = r.start_beats, r.end_beats - r.ending_beats
        c, d = r.end_beats, min(r.end_beats + length - r.ending_beats, last_onset)
        if length <= 0 or b <= a or d <= c or a < begin - EPS:
            continue
        if round(a, 6) not in bar_lines or round(c, 6) not in bar_lines:
            continue
        if any(a + EPS < m.start_beats < d - EPS for m in score.meters):
            continue
        if _chords_in(harmony, a, a + (d - c)) != _chords_in(harmony, c, d):
            continue
        shift = c - a
        copied = []
        for notes in voices:
            kept = [n for n in notes if not c - EPS <= n.start_beats < d - EPS]
            moved = [
                replace(
                    n,
                    start_beats=n.start_beats + shift,
                    duration_beats=min(n.end_beats + shift, d) - n.start_beats - shift,
                )
                for n in notes
                if a - EPS <= n.start_beats < a + (d - c) - EPS
            ]
            copied.append(sorted(kept + moved, key=lambda n: (n.start_beats, n.pitch)))
        voices = copied
    return voices


def _chords_in(harmony: _Harmony, lo: float, hi: float) -> list[tuple]:
    inside = [(round(t - lo, 6), _same(harmony.at(t))) for t in harmony.changes_in(lo, hi) if t > lo + EPS]
    return [_same(harmony.at(lo)), *inside]


def _tidy(notes: list[Note]) -> list[Note]:
    """Times rounded to a millionth of a beat, in time order; a note struck again while it
    sounds is cut there; no two alike."""
    notes = [
        replace(n, start_beats=round(n.start_beats, 6), duration_beats=round(n.end_beats, 6) - round(n.start_beats, 6))
        for n in notes
    ]
    notes = sorted(notes, key=lambda n: (n.start_beats, n.pitch, -n.duration_beats))
    out: list[Note] = []
    sounding: dict[int, int] = {}  # pitch -> index in out of its last note
    for n in notes:
        j = sounding.get(n.pitch)
        if j is not None and out[j].end_beats > n.start_beats + EPS:
            if abs(out[j].start_beats - n.start_beats) < EPS:
                continue  # the same note twice
            out[j] = replace(out[j], duration_beats=n.start_beats - out[j].start_beats)
        sounding[n.pitch] = len(out)
        out.append(n)
    return [n for n in out if n.duration_beats > EPS]
