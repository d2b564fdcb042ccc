"""The Score: the one in-memory music type that every reader produces and every writer consumes.

Time is in beats, where a beat is a quarter note (music21's quarterLength, MIDI's "quarter").
Every time field says its unit. Pitches are MIDI numbers (60 = C4).
Nothing here imports music21 or a MIDI library: those live at the edges, in cadenza.io. The
rules of music theory (scales, chords, cadences, parallels, phrase ends) live in cadenza.theory.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field, replace

from cadenza.chords import LETTER_PITCH_CLASS, ChordSymbol, close_voicing, transpose_chord
from cadenza.errors import MusicError

PITCH_CLASS_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MODES = ("major", "minor")
# The church modes other than major (ionian) and minor (aeolian): the mode each is read as for
# harmony (by its third: a Dorian tune is harmonized as minor, a Mixolydian one as major) and
# where its key signature lies from the tonic on the line of fifths (D dorian: no sharps or
# flats, two fifths below D major's two sharps).
CHURCH_MODES = {
    "dorian": ("minor", -2),
    "phrygian": ("minor", -4),
    "lydian": ("major", 1),
    "mixolydian": ("major", -1),
    "locrian": ("minor", -5),
}
# A key's conventional tonic name by pitch class (major, then minor): the spelling with the
# fewer sharps or flats (Db major, not C#; G# minor, not Ab), F# major and Eb minor for the
# two keys of six either way. A user's own spelling (Cb major, C# major) is kept (Key.tonic_name).
KEY_NAMES = (
    ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"),
    ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B"),
)
# The tonics with a key signature (at most seven sharps or flats), by mode
SPELLED_TONICS = (
    ("Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#"),
    ("Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#", "G#", "D#", "A#"),
)


LETTERS_BY_FIFTHS = "FCGDAEB"  # the line of fifths from F (-1): C is 0, G 1 ... B 5, F# 6, Bb -2


def fifths_of(letter: str, alter: int) -> int:
    """A spelling's place on the line of fifths: C 0, G 1, F -1, F# 6, Bb -2, Cb -7."""
    return LETTERS_BY_FIFTHS.index(letter) - 1 + 7 * alter


def name_of_fifths(fifths: int) -> tuple[str, int]:
    """(letter, alteration) at a place on the line of fifths: 6 -> ('F', 1), -7 -> ('C', -1)."""
    return LETTERS_BY_FIFTHS[(fifths + 1) % 7], (fifths + 1) // 7


def spelled_name(letter: str, alter: int) -> str:
    """A letter and its alteration as text: ('F', 1) -> 'F#', ('B', -1) -> 'Bb', ('C', 2) -> 'C##'."""
    return letter + ("#" * alter if alter > 0 else "b" * -alter)


def mode_signature(tonic_name: str, modal: str) -> int:
    """Sharps (negative: flats) in a church mode's key signature, from its tonic as spelled
    (CHURCH_MODES): D dorian 0, G mixolydian 0, E phrygian 0, Eb dorian -5."""
    return fifths_of(tonic_name[0], tonic_name[1:].count("#") - tonic_name[1:].count("b")) + CHURCH_MODES[modal][1]


# ---------------------------------------------------------------------------------------------
# pitch names: a symmetric pair, like pretty_midi's note_name_to_number / note_number_to_name


def pitch_to_name(pitch: int) -> str:
    """60 -> 'C4' (scientific pitch notation, middle C = C4)."""
    return f"{PITCH_CLASS_NAMES[pitch % 12]}{pitch // 12 - 1}"


def tonic_name_pitch_class(name: str) -> int | None:
    """'C' -> 0, 'Cb' -> 11, 'F#' -> 6; None for anything but a letter and at most one # or b."""
    m = re.fullmatch(r"([A-G])([#b]?)", name)
    if not m:
        return None
    return (LETTER_PITCH_CLASS[m.group(1)] + {"#": 1, "b": -1, "": 0}[m.group(2)]) % 12


def name_to_pitch(name: str) -> int:
    """'C4' -> 60, 'F#3' -> 54, 'Bb5' -> 82. Raises MusicError on anything else."""
    m = re.fullmatch(r"\s*([A-Ga-g])([#b]*)(-?\d+)\s*", name)
    if not m:
        raise MusicError(f"not a pitch name: {name!r} (expected e.g. C4, F#3, Bb5; 60 = C4)")
    letter, accidentals, octave = m.groups()
    pitch = LETTER_PITCH_CLASS[letter.upper()] + accidentals.count("#") - accidentals.count("b")
    pitch += (int(octave) + 1) * 12
    if not 0 <= pitch <= 127:
        raise MusicError(f"pitch {name!r} is outside MIDI's 0..127")
    return pitch


# ---------------------------------------------------------------------------------------------
# the data types


# The articulations a performer reads off a note (Note.marks), as the MusicXML reader finds
# them (cadenza.io.scores); cadenza.perform.marks plays them:
# - "staccato", "staccatissimo", "tenuto": a dot, a wedge, a line over the note;
# - "accent", "marcato": > and ^ (the reader has already made the note louder: one marking
#   step, two for marcato);
# - "slur": under a slur and not its last note (played legato into the next);
# - "slur-end": the last note of a slur (a note ending one slur inside or at the start of
#   another has both);
# - "grace": a grace note, written small before the note it leads to and taking no time in
#   the notation; it sounds GRACE_NOTE_BEATS long just before that note (several one after
#   another), over the end of the note before.
MARKS = ("staccato", "staccatissimo", "tenuto", "accent", "marcato", "slur", "slur-end", "grace")
GRACE_NOTE_BEATS = 0.0625  # how long a notated grace note sounds: a 64th note, before the beat


@dataclass(frozen=True)
class Note:
    pitch: int
    start_beats: float
    duration_beats: float
    velocity: int = 80
    marks: tuple[str, ...] = ()  # articulations, each one of MARKS, in MARKS' order

    @property
    def end_beats(self) -> float:
        return self.start_beats + self.duration_beats


@dataclass(frozen=True)
class Pedal:
    """The sustain pedal held down (MIDI controller 64), like symusic's and pretty_midi's."""

    start_beats: float
    duration_beats: float

    @property
    def end_beats(self) -> float:
        return self.start_beats + self.duration_beats


@dataclass(frozen=True)
class Dynamic:
    """A dynamics mark under a part's staff as the page shows it (ppp..fff,
    perform.dynamics.VELOCITY's), from start_beats on; its notes' velocities are what it sounds like."""

    start_beats: float
    marking: str


@dataclass
class Part:
    """One voice or instrument: a MIDI track, a MusicXML part."""

    name: str = ""
    program: int = 0  # General MIDI program, 0 = acoustic grand piano
    is_drum: bool = False
    notes: list[Note] = field(default_factory=list)
    pedals: list[Pedal] = field(default_factory=list)  # sustain pedal, as a performance plays it
    dynamics: list[Dynamic] = field(default_factory=list)  # its dynamics marks where they change, by start


PIANO_HANDS = ("Right hand", "Left hand")  # a piano's two staves, as parts: one part of two staves in the notation
PIANOS = frozenset(range(8))  # General MIDI's pianos: the instruments with a sustain pedal and two staves


@dataclass(frozen=True)
class Tempo:
    start_beats: float
    bpm: float  # quarter notes per minute


@dataclass(frozen=True)
class Meter:
    start_beats: float
    numerator: int
    denominator: int

    @property
    def bar_beats(self) -> float:
        return self.numerator * 4.0 / self.denominator

    def __str__(self) -> str:
        return f"{self.numerator}/{self.denominator}"


@dataclass(frozen=True)
class Key:
    """A key from `start_beats` on. `tonic_name` is how the tonic is written ("Cb", "F#", "Eb"):
    it decides the key signature (Cb major: 7 flats; B major: 5 sharps) and the spelling of
    every note. Left empty, or naming another pitch class than `tonic`, it is the conventional
    name (KEY_NAMES). Two keys that sound the same are equal whatever their names."""

    start_beats: float
    tonic: int  # pitch class, 0 = C
    mode: str  # "major" or "minor"
    tonic_name: str = field(default="", compare=False)
    # a church mode (CHURCH_MODES: "dorian", "mixolydian", ...) whose third `mode` gives: it sets
    # the key signature, the spelling and the scale; the models and harmony read `mode`
    modal: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if tonic_name_pitch_class(self.tonic_name) != self.tonic % 12:
            object.__setattr__(self, "tonic_name", KEY_NAMES[self.mode == "minor"][self.tonic % 12])
        if self.modal:  # a mode's signature within seven sharps or flats: D# locrian, not Eb locrian
            sig = mode_signature(self.tonic_name, self.modal)
            if abs(sig) > 7:
                letter, alter = name_of_fifths(sig - CHURCH_MODES[self.modal][1] - 12 * (1 if sig > 0 else -1))
                object.__setattr__(self, "tonic_name", spelled_name(letter, alter))

    def __str__(self) -> str:
        return f"{self.tonic_name} {self.modal or self.mode}"

    def same_key(self, other: Key) -> bool:
        """Whether `other` is this key (tonic and mode), wherever either starts."""
        return (self.tonic, self.mode) == (other.tonic, other.mode)


@dataclass(frozen=True)
class Repeat:
    """Music played twice and written once, between repeat signs. The notes hold it as played:
    a first pass from start_beats to end_beats, then a second pass right after, the same but
    for its last `ending_beats` (the second ending, which differs from the first pass's last
    `ending_beats`, the first ending). ending_beats 0: the passes are the same throughout."""

    start_beats: float
    end_beats: float  # the end of the first pass
    ending_beats: float = 0.0

    def edges_beats(self) -> tuple[float, ...]:
        """Where each pass and each ending begins, and where the second pass ends."""
        second = self.end_beats - self.start_beats
        return (
            self.start_beats,
            self.end_beats - self.ending_beats,
            self.end_beats,
            self.end_beats + second - self.ending_beats,
            self.end_beats + second,
        )


@dataclass(frozen=True)
class Section:
    """A section label (a rehearsal letter: "A", "B", "A'", "Verse", "Chorus") from
    `start_beats` on, up to the next section's start. Readers put a label on a bar line.
    `dynamics`: the marking the section is played at (a plan's per-section "mf", written under
    the section's first note), if any."""

    start_beats: float
    label: str
    dynamics: str | None = None


@dataclass
class Score:
    parts: list[Part] = field(default_factory=list)
    tempos: list[Tempo] = field(default_factory=lambda: [Tempo(0.0, 120.0)])
    meters: list[Meter] = field(default_factory=lambda: [Meter(0.0, 4, 4)])
    keys: list[Key] = field(default_factory=list)
    title: str = ""
    composer: str = ""  # who wrote it, as a person reads it ("J. S. Bach", "Cadenza (chorales model)")
    fermatas_beats: list[float] = field(default_factory=list)  # onsets of notes marked with a fermata
    repeats: list[Repeat] = field(default_factory=list)  # music written once between repeat signs
    chords: list[ChordSymbol] = field(default_factory=list)  # chord symbols (lead-sheet harmony), by start
    sections: list[Section] = field(default_factory=list)  # section labels (rehearsal letters), by start

    # -- simple views ---------------------------------------------------------------------
    def notes(self) -> list[Note]:
        return [n for p in self.parts for n in p.notes]

    @property
    def end_beats(self) -> float:
        return max((n.end_beats for n in self.notes()), default=0.0)

    @property
    def pitched_parts(self) -> list[Part]:
        """The parts that sound pitches: those with notes, but for drums."""
        return [p for p in self.parts if p.notes and not p.is_drum]

    @property
    def meter(self) -> Meter:
        return self.meters[0] if self.meters else Meter(0.0, 4, 4)

    @property
    def tempo_bpm(self) -> float:
        return self.tempos[0].bpm if self.tempos else 120.0

    @property
    def key(self) -> Key | None:
        return self.keys[0] if self.keys else None

    @property
    def last_key(self) -> Key | None:
        """The key in force at the end (what a continuation goes on in)."""
        return self.keys[-1] if self.keys else None

    def seconds(self) -> float:
        """Length in seconds under the tempo map."""
        return beats_to_seconds(self.end_beats, self.tempos)

    def validate(self) -> Score:
        for part in self.parts:
            for n in part.notes:
                if not 0 <= n.pitch <= 127:
                    raise MusicError(f"pitch {n.pitch} at beat {n.start_beats} is outside 0..127")
                if n.duration_beats <= 0:
                    raise MusicError(
                        f"note ends before it starts: pitch {n.pitch} ({pitch_to_name(n.pitch)}) "
                        f"at beat {n.start_beats}"
                    )
                if not 0 <= n.velocity <= 127:
                    raise MusicError(f"velocity {n.velocity} at beat {n.start_beats} is outside 0..127")
                if any(m not in MARKS for m in n.marks):
                    raise MusicError(f"unknown mark in {n.marks} at beat {n.start_beats} (known: {', '.join(MARKS)})")
        for t in self.tempos:
            if not t.bpm > 0:
                raise MusicError(f"tempo {t.bpm} at beat {t.start_beats} is not positive")
        return self

    # -- JSON (for caches; never pickle) ------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "title": self.title,
            "composer": self.composer,
            "tempos": [[t.start_beats, t.bpm] for t in self.tempos],
            "meters": [[m.start_beats, m.numerator, m.denominator] for m in self.meters],
            "keys": [
                [k.start_beats, k.tonic, k.mode, k.tonic_name, *([k.modal] if k.modal else [])] for k in self.keys
            ],
            "fermatas": list(self.fermatas_beats),
            "repeats": [[r.start_beats, r.end_beats, r.ending_beats] for r in self.repeats],
            "parts": [
                {
                    "name": p.name,
                    "program": p.program,
                    "is_drum": p.is_drum,
                    "notes": [_note_item(n) for n in p.notes],
                    **({"pedals": [[q.start_beats, q.duration_beats] for q in p.pedals]} if p.pedals else {}),
                    **({"dynamics": [[d.start_beats, d.marking] for d in p.dynamics]} if p.dynamics else {}),
                }
                for p in self.parts
            ],
            **({"chords": [_chord_item(c) for c in self.chords]} if self.chords else {}),
            **({"sections": [_section_item(s) for s in self.sections]} if self.sections else {}),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Score:
        return cls(
            title=d.get("title", ""),
            composer=d.get("composer", ""),
            tempos=[Tempo(float(a), float(b)) for a, b in d["tempos"]],
            meters=[Meter(float(a), int(b), int(c)) for a, b, c in d["meters"]],
            keys=[
                Key(float(k[0]), int(k[1]), str(k[2]), str(k[3]) if len(k) > 3 else "", str(k[4]) if len(k) > 4 else "")
                for k in d["keys"]
            ],
            fermatas_beats=[float(b) for b in d.get("fermatas", [])],
            repeats=[Repeat(float(a), float(b), float(c)) for a, b, c in d.get("repeats", [])],
            parts=[
                Part(
                    name=p["name"],
                    program=int(p["program"]),
                    is_drum=bool(p["is_drum"]),
                    notes=[_item_note(item) for item in p["notes"]],
                    pedals=[Pedal(float(a), float(b)) for a, b in p.get("pedals", [])],
                    dynamics=[Dynamic(float(a), str(b)) for a, b in p.get("dynamics", [])],
                )
                for p in d["parts"]
            ],
            chords=[_item_chord(item) for item in d.get("chords", [])],
            sections=[
                Section(float(s[0]), str(s[1]), str(s[2]) if len(s) > 2 and s[2] else None)
                for s in d.get("sections", [])
            ],
        )


def _section_item(s: Section) -> list:
    """A section in JSON: [start, label], and its dynamics as a 3rd item when it has them."""
    return [s.start_beats, s.label, s.dynamics] if s.dynamics else [s.start_beats, s.label]


def _note_item(n: Note) -> list:
    """A note in JSON: [pitch, start, duration, velocity], and its marks as a 5th item when it
    has any (so that a score without marks is written as it was before marks existed)."""
    item: list = [n.pitch, n.start_beats, n.duration_beats, n.velocity]
    return [*item, list(n.marks)] if n.marks else item


def _chord_item(c: ChordSymbol) -> list:
    """A chord symbol in JSON: [start, root, kind, bass or null, text, alterations]."""
    return [c.start_beats, c.root, c.kind, c.bass, c.text, list(c.alterations)]


def _item_chord(item: list) -> ChordSymbol:
    bass = None if item[3] is None else int(item[3])
    return ChordSymbol(float(item[0]), int(item[1]), str(item[2]), bass, str(item[4]), tuple(map(str, item[5])))


def _item_note(item: list) -> Note:
    marks = tuple(str(m) for m in item[4]) if len(item) > 4 else ()
    return Note(int(item[0]), float(item[1]), float(item[2]), int(item[3]), marks)


def without_grace_notes(score: Score) -> Score:
    """`score` less its notated grace notes (marked "grace"): the music as its phrases, harmony
    and rhythm are heard and counted (the analyzer, the measures, the models' grids), ornaments
    aside. `score` itself when it has none."""
    if not any("grace" in n.marks for p in score.parts for n in p.notes):
        return score
    return replace(score, parts=[replace(p, notes=[n for n in p.notes if "grace" not in n.marks]) for p in score.parts])


def grace_runs(
    notes: list[Note],
) -> tuple[list[Note], list[tuple[float, list[list[Note]]]], list[tuple[float, list[list[Note]]]]]:
    """(the notes not marked "grace", the runs of grace chords that lead to one of them, those that
    lead to none), each run by the beat where it ends: a run of grace chords, each beginning
    where the one before it ends, leads to the first note that begins where one of them ends.
    The writers use it to put grace notes before their notes (MusicXML), or to play them
    (MIDI)."""
    plain = [n for n in notes if "grace" not in n.marks]
    marked = sorted((n for n in notes if "grace" in n.marks), key=lambda n: n.start_beats)
    if not marked:
        return plain, [], []
    chords: list[list[Note]] = []
    for n in marked:
        if chords and abs(chords[-1][0].start_beats - n.start_beats) < 1e-6:
            chords[-1].append(n)
        else:
            chords.append([n])
    starts = sorted(n.start_beats for n in plain)
    runs: list[tuple[float, list[list[Note]]]] = []
    orphans: list[tuple[float, list[list[Note]]]] = []
    run: list[list[Note]] = []
    for i, chord in enumerate(chords):
        run.append(chord)
        end = max(n.end_beats for n in chord)
        k = bisect_left(starts, end - 1e-6)
        if k < len(starts) and abs(starts[k] - end) < 1e-6:  # a note begins there: the run leads to it
            runs.append((starts[k], run))
        elif i + 1 < len(chords) and abs(chords[i + 1][0].start_beats - end) < 1e-6:
            continue  # the next grace follows on
        else:
            orphans.append((end, run))
        run = []
    return plain, runs, orphans


# ---------------------------------------------------------------------------------------------
# the pickup


def pickup_start(score: Score) -> float:
    """The beat a score's pickup (anacrusis) starts on, 0.0 if it has none. A Score keeps a
    pickup inside a first bar counted from beat 0 (cadenza.io.scores), so that bar lines fall
    at whole bars: it has one when its first note falls inside the first bar, on a 16th, and
    the piece goes on past that bar (a first bar cut short by a meter change has none). The
    MIDI and MusicXML writers both write such a bar as short as the pickup. A grace note before
    the first note (marked "grace") does not count."""
    starts = [n.start_beats for p in score.parts for n in p.notes if "grace" not in n.marks]
    if not starts:
        return 0.0
    first = round(min(starts) * 4) / 4
    meters = sorted(score.meters, key=lambda m: m.start_beats)
    if not meters or meters[0].start_beats > 0:
        return 0.0
    bar = meters[0].bar_beats
    if abs(min(starts) - first) > 1e-6 or not 0 < first < bar or score.end_beats <= bar + 1e-6:
        return 0.0
    if any(0 < m.start_beats < bar - 1e-6 for m in meters):
        return 0.0
    return first


def ends_short_by_its_pickup(score: Score) -> bool:
    """Whether a score that opens with a pickup (pickup_start) ends its last bar short by the
    pickup's length, in one meter throughout, with nothing after its last note (a jig's
    `D|GAB ...|D3 D2|]`: the last bar and the pickup make one bar, as tune books write a tune).
    The MusicXML and ABC writers write that bar as short, and `continue` begins the new music
    where it ends. Not where a repeat of whole bars (from a bar line) is played to the last bar:
    there the bar's rest is the music's (`D|:GAB c2A|...|G3 G2z:|` goes back without its pickup)."""
    pickup = pickup_start(score)
    if pickup <= 0 or len({(m.numerator, m.denominator) for m in score.meters}) != 1:
        return False
    end, bar = score.end_beats, score.meters[0].bar_beats
    if any(c.start_beats >= end - 1e-6 for c in score.chords):
        return False
    bars = (end - pickup) / bar
    if round(bars) < 1 or abs(bars - round(bars)) > 1e-6:
        return False
    last_line = end - pickup
    return not any(
        abs(r.start_beats / bar - round(r.start_beats / bar)) < 1e-6
        and 2 * r.end_beats - r.start_beats > last_line + 1e-6
        for r in score.repeats
    )


# ---------------------------------------------------------------------------------------------
# keys and meters by name


def with_ascii_signs(text: str) -> str:
    """`text` with the sharp and flat signs (U+266F, U+266D) written # and b."""
    return text.replace("\u266f", "#").replace("\u266d", "b")


def tonic_as_written(text: str) -> str:
    """The tonic a key's text names, as written ('f# minor' -> 'F#'), before parse_key gives a
    tonic beyond seven sharps or flats its usual name."""
    given = with_ascii_signs(text).strip()
    return given[:1].upper() + (given[1] if given[1:2] in ("#", "b") else "")


def parse_key(text: str) -> Key:
    """'D major', 'F# minor', 'Bb', 'c minor', 'Am', 'Cb major' -> Key, spelled as given (Cb
    major keeps its seven flats, C# major its seven sharps). A lower-case tonic without a mode
    is minor ('d', 'f#'), as in a form's keys (`--keys "C G a C"`, `A8@d`). A tonic whose key
    would need more than seven sharps or flats (G# major, Fb major) takes its usual name (Ab
    major, E major).
    Raises MusicError naming what is accepted."""
    text = with_ascii_signs(text)
    m = re.fullmatch(r"\s*([A-Ga-g])([#b]?)\s*((?i:major|minor|maj|min)|m|(?i:[a-z]{3,10}))?\s*", text)
    modal = _church_mode(m.group(3)) if m and m.group(3) and len(m.group(3)) >= 3 else ""
    if not m or modal is None:
        import difflib

        word = text.strip()[1:].lstrip("#b ").lower()
        tonic_ok = re.match(r"\s*[A-Ga-g][#b]?(\s|$)", text) is not None
        near = difflib.get_close_matches(word, ["major", "minor", *CHURCH_MODES], n=1, cutoff=0.6) if tonic_ok else []
        hint = f" (did you mean '{text.strip()[: len(text.strip()) - len(word)].strip()} {near[0]}'?)" if near else ""
        raise MusicError(
            f"unknown key {text!r}{hint}: give a tonic A-G with optional # or b and 'major' or 'minor' (or a "
            "church mode: dorian, phrygian, lydian, mixolydian, locrian), e.g. 'D major', 'F# minor', 'D dorian'"
        )
    letter, accidental, mode = m.groups()
    if modal:
        mode = CHURCH_MODES[modal][0]
    else:
        minor = ("minor", "min", "m", "aeolian", "aeo")
        mode = "minor" if (mode or ("m" if letter.islower() else "")).lower() in minor else "major"
    name = letter.upper() + accidental
    tonic = tonic_name_pitch_class(name)
    assert tonic is not None
    return Key(0.0, tonic, mode, name if modal or name in SPELLED_TONICS[mode == "minor"] else "", modal)


def _church_mode(word: str) -> str | None:
    """The mode a word names: '' for major and minor (and ionian, aeolian), a CHURCH_MODES name
    for one of those or its first three letters ('dor', 'Mix'), None for anything else."""
    word = word.lower()
    if word in ("major", "minor", "maj", "min", "ionian", "aeolian", "ion", "aeo"):
        return ""
    return next((mode for mode in CHURCH_MODES if mode == word or mode[:3] == word), None)


def parse_meter(text: str) -> Meter:
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m or int(m.group(1)) < 1 or int(m.group(2)) not in (1, 2, 4, 8, 16):
        raise MusicError(f"unknown meter {text!r}: give numerator/denominator, e.g. 4/4, 3/4, 6/8")
    return Meter(0.0, int(m.group(1)), int(m.group(2)))


# ---------------------------------------------------------------------------------------------
# transformations


def transpose(score: Score, semitones: int) -> Score:
    """A copy moved by `semitones`; keys and chord symbols move with it (taking their
    conventional names and spellings). Drum parts and section labels stay as they are."""
    parts = [
        replace(p, notes=p.notes if p.is_drum else [replace(n, pitch=n.pitch + semitones) for n in p.notes])
        for p in score.parts
    ]
    keys = [replace(k, tonic=(k.tonic + semitones) % 12, tonic_name="") for k in score.keys]
    chords = [transpose_chord(c, semitones) for c in score.chords]
    return replace(score, parts=parts, keys=keys, chords=chords)


def keys_released(score: Score, since: float = 0.0) -> Score:
    """`score` with each piano key sounding once at a time: a note struck while the same key of
    the piano still sounds (in either hand: the piano parts, PIANOS, are one keyboard) ends
    the note before at its onset, as a pianist lets a key up to strike it again. Only strikes
    from `since` on cut (a continuation leaves its prompt as written). Other parts are as they
    were; every piano part is one keyboard (two pianos would be read as one)."""
    piano = [i for i, p in enumerate(score.parts) if p.program in PIANOS and not p.is_drum]
    ends: dict[tuple[int, int], float] = {}  # (part, note index) -> its new end
    by_key: dict[int, list[tuple[float, int, int]]] = {}
    for i in piano:
        for j, n in enumerate(score.parts[i].notes):
            by_key.setdefault(n.pitch, []).append((n.start_beats, i, j))
    for strikes in by_key.values():
        sounding: list[tuple[float, float, int, int]] = []  # (start, end, part, index) of the key's notes
        for start, i, j in sorted(strikes):
            sounding = [x for x in sounding if x[1] > start]
            if start >= since:
                for a, b, pi, pj in sounding:
                    if a < start < b:
                        ends[pi, pj] = min(start, ends.get((pi, pj), b))
            note = score.parts[i].notes[j]
            sounding.append((start, note.end_beats, i, j))
    if not ends:
        return score
    parts = list(score.parts)
    for i in piano:
        notes = parts[i].notes
        cut = [
            replace(n, duration_beats=ends[i, j] - n.start_beats) if (i, j) in ends else n for j, n in enumerate(notes)
        ]
        parts[i] = replace(parts[i], notes=cut)
    return replace(score, parts=parts)


def bar_starts(score: Score) -> list[float]:
    """The beat each bar starts on, under the score's meters, to past its last note; bar 0 is a
    pickup's bar when it has one (pickup_start)."""
    meters = sorted(score.meters, key=lambda m: m.start_beats) or [Meter(0.0, 4, 4)]
    end = max(score.end_beats, 1e-6)
    starts: list[float] = []
    for i, m in enumerate(meters):
        stop = meters[i + 1].start_beats if i + 1 < len(meters) else end
        at = m.start_beats
        while at < stop - 1e-9:
            starts.append(round(at, 6))
            at += m.bar_beats
    return starts or [0.0]


def excerpt(score: Score, first: int, last: int) -> Score:
    """Bars `first` to `last` (inclusive, numbered as notation shows them: after a pickup, bar
    1 is the first full bar) as a score of their own, from beat 0: the notes that start in
    them, cut at the excerpt's end, with the tempo, meter, key and dynamics mark in force at its start and
    the changes within it, and the chord symbols, section labels and fermatas within it. Repeat signs are
    dropped (the notes are as played). Raises MusicError for bars the score does not have."""
    starts = bar_starts(score)
    pickup = int(pickup_start(score) > 0)
    lo, hi = 1 - pickup, len(starts) - pickup
    if not lo <= first <= last <= hi:
        raise MusicError(f"bars {first}-{last}: this piece has bars {lo}-{hi}")
    a = starts[first - lo]
    b = starts[last - lo + 1] if last - lo + 1 < len(starts) else score.end_beats

    def changes(items):
        kept = [replace(c, start_beats=0.0) for c in items if c.start_beats <= a + 1e-9][-1:]
        return kept + [replace(c, start_beats=c.start_beats - a) for c in items if a + 1e-9 < c.start_beats < b - 1e-9]

    def cut(part: Part) -> Part:
        # a grace note goes with the note it leads to; those of the excerpt's first note, which
        # would begin before its beat 0, are left out, as the reader leaves out a piece's
        leads_to = {id(n): at for at, run in grace_runs(part.notes)[1] for chord in run for n in chord}
        notes = [
            replace(n, start_beats=n.start_beats - a, duration_beats=min(n.end_beats, b) - n.start_beats)
            for n in part.notes
            if a - 1e-9 <= n.start_beats and a - 1e-9 <= leads_to.get(id(n), n.start_beats) < b - 1e-9
        ]
        pedals = [
            Pedal(max(q.start_beats, a) - a, min(q.end_beats, b) - max(q.start_beats, a))
            for q in part.pedals
            if q.end_beats > a and q.start_beats < b
        ]
        return replace(part, notes=notes, pedals=pedals, dynamics=changes(part.dynamics))

    return replace(
        score,
        parts=[cut(p) for p in score.parts],
        tempos=changes(sorted(score.tempos, key=lambda t: t.start_beats)) or [Tempo(0.0, 120.0)],
        meters=changes(sorted(score.meters, key=lambda m: m.start_beats)) or [Meter(0.0, 4, 4)],
        keys=changes(sorted(score.keys, key=lambda k: k.start_beats)),
        fermatas_beats=[f - a for f in score.fermatas_beats if a - 1e-9 <= f < b - 1e-9],
        repeats=[],
        chords=[
            replace(c, start_beats=c.start_beats - a) for c in score.chords if a - 1e-9 <= c.start_beats < b - 1e-9
        ],
        sections=[
            replace(s, start_beats=s.start_beats - a) for s in score.sections if a - 1e-9 <= s.start_beats < b - 1e-9
        ],
        title=f"{score.title} (bars {first}-{last})" if score.title else score.title,
    )


def in_force(items, at_beats: float, tolerance: float = 1e-6):
    """The last of `items` (sorted by start_beats: meters, keys, tempos, chord symbols) that
    starts at or before `at_beats` (within `tolerance`), or None when none has begun."""
    found = None
    for item in items:
        if item.start_beats > at_beats + tolerance:
            break
        found = item
    return found


CHORD_VELOCITY = 60  # chord symbols sounding under a melody at Note's default 80: audible, under it


def at_the_melodys_level(notes: list[Note], line: list[Note], under: float = 1.0) -> list[Note]:
    """`notes` (a voice's under a melody `line`) at the velocity of the melody note struck last
    at or before each (the first, before the melody begins), times `under`: the voices sing as
    loud as the tune, a pp tune's harmony pp (they had sung mf under anything), its sforzando
    with it."""
    if not line:
        return notes
    line = sorted(line, key=lambda x: x.start_beats)
    onsets = [x.start_beats for x in line]
    return [
        replace(
            n, velocity=max(1, round(under * line[max(bisect_right(onsets, n.start_beats + 1e-6) - 1, 0)].velocity))
        )
        for n in notes
    ]


def overlaps(notes: list[Note]) -> int:
    """How many of the notes start while an earlier one still sounds (a bass held under a run
    counts once for each note of the run). Notated grace notes (marked "grace"), which sound over
    the end of the note before theirs, are not counted."""
    count, end = 0, float("-inf")
    for n in sorted((n for n in notes if "grace" not in n.marks), key=lambda x: x.start_beats):
        count += n.start_beats < end - 1e-6
        end = max(end, n.end_beats)
    return count


GRACE_BEATS = 0.125  # a played grace note: the next note starts less than this after it (a 32nd note)


def is_grace(note: Note, following: Note | None) -> bool:
    """Whether `note` is a grace note as a player plays one: the `following` note (the next to
    start) starts less than GRACE_BEATS (a 32nd note, an eighth of a quarter-note beat) after it,
    not with it, however long it is held (a legato player holds it into the next)."""
    return following is not None and 1e-6 < following.start_beats - note.start_beats < GRACE_BEATS


def without_graces(line: list[Note]) -> list[Note]:
    """A line (notes one after another) less its grace notes (is_grace), each note they followed
    lengthened to the grace's end where it had ended at the grace's start: the line as its
    harmony hears it. A notated grace note (marked "grace" by cadenza.io.scores) sounds just
    before its note, and a played one took its sliver from the note before."""
    line = sorted(line, key=lambda x: x.start_beats)
    out: list[Note] = []
    for note, following in zip(line, [*line[1:], None]):
        if not is_grace(note, following):
            out.append(note)
        elif out and abs(out[-1].end_beats - note.start_beats) < 1e-6:
            out[-1] = replace(out[-1], duration_beats=note.end_beats - out[-1].start_beats)
    return out


def played_legato(notes: list[Note]) -> bool:
    """Whether notes are one line whose overlaps are a player's legato: no two start together,
    each sounds into the next for less than half the time from its own start to the next's, and none past the start
    of the note after the next; a grace note (is_grace) is not counted. A keyboard player's melody holds each key a
    little past the next (a MIDI file played in), and past a grace note into the note it leads to; a held note under a
    run, or a chord, is two lines."""
    ordered = sorted(notes, key=lambda x: x.start_beats)
    line = [n for n, f in zip(ordered, [*ordered[1:], None]) if not is_grace(n, f)]
    for a, b, c in zip(line, line[1:], [*line[2:], None]):
        if b.start_beats - a.start_beats < 1e-6 or (c is not None and a.end_beats > c.start_beats + 1e-6):
            return False
        if a.end_beats - b.start_beats >= 0.5 * (b.start_beats - a.start_beats):
            return False
    return True


def one_line(notes: list[Note]) -> bool:
    """Whether notes are one line: at most 5% of them start while an earlier one sounds (a melody,
    its notes overlapping a little where played legato), not two voices or more (chords, a held
    bass under an arpeggio)."""
    return overlaps(notes) <= 0.05 * len(notes)


def is_lead_sheet(score: Score) -> bool:
    """A melody and its chord symbols: chord symbols over one pitched part. Its chords sound
    (chord_notes) in its MIDI's chord track and its audio; an arrangement, whose parts already
    play the harmony, shows its symbols and does not sound them again."""
    return bool(score.chords) and sum(1 for p in score.parts if p.notes and not p.is_drum) == 1


def chord_notes(score: Score) -> list[Note]:
    """A lead sheet's chord symbols as they sound (is_lead_sheet; none for another score): each
    symbol's tones in close position (close_voicing), as loud as the melody where the symbol
    starts times CHORD_VELOCITY / 80 (under an mf melody at 80, 60), held until the next
    symbol starts; the last until the score's last note ends, or for a bar when no note sounds
    after it; a symbol that another replaces at the same beat sounds not at all, nor does one
    before the first note that another replaces by then (the last sounds from that note)."""
    if not is_lead_sheet(score):
        return []
    chords = sorted(score.chords, key=lambda c: c.start_beats)
    first = min(n.start_beats for p in score.parts for n in p.notes)
    before = [c for c in chords if c.start_beats <= first + 1e-9]
    if before:  # of the symbols at or before the first note (a pickup's), the last sounds, from that note
        chords = [replace(before[-1], start_beats=max(first, before[-1].start_beats)), *chords[len(before) :]]
    meters = sorted(score.meters, key=lambda m: m.start_beats)
    end = score.end_beats
    notes = []
    for i, c in enumerate(chords):
        if i + 1 < len(chords):
            off = chords[i + 1].start_beats
        else:
            bar = in_force(meters, c.start_beats, 1e-9) or Meter(0.0, 4, 4)
            off = end if end > c.start_beats + 1e-9 else c.start_beats + bar.bar_beats
        if off > c.start_beats + 1e-9:
            notes += [Note(p, c.start_beats, off - c.start_beats) for p in close_voicing(c)]
    melody = [n for p in score.parts if not p.is_drum for n in p.notes]
    return at_the_melodys_level(notes, melody, CHORD_VELOCITY / Note.velocity)


def without_a_last_chord_sounding(score: Score) -> Score:
    """A continued piece whose chord symbols would sound on under its new music: a lead sheet
    (is_lead_sheet) continued as one line, whose last symbol would hold to the end, without its
    symbols. Any other is returned as it is, its symbols shown over the music they came with."""
    return replace(score, chords=[]) if is_lead_sheet(score) else score


def with_chords_sounding(score: Score) -> Score:
    """A lead sheet (is_lead_sheet) with its chord symbols sounding as a last part, "Chords"
    (chord_notes, program 0): what its audio plays. Any other score is returned as it is."""
    if not is_lead_sheet(score):
        return score
    return replace(score, parts=[*score.parts, Part("Chords", 0, False, chord_notes(score))])


def pitch_range(score: Score) -> tuple[int, int]:
    pitches = [n.pitch for p in score.parts if not p.is_drum for n in p.notes]
    return (min(pitches), max(pitches)) if pitches else (60, 60)


def beats_to_seconds(beats: float, tempos: list[Tempo]) -> float:
    """Seconds from beat 0 to `beats` under a tempo map (tempo changes sorted by beat)."""
    seconds, at_beats, bpm = 0.0, 0.0, (tempos[0].bpm if tempos else 120.0)
    for t in tempos[1:] if tempos else []:
        if t.start_beats >= beats:
            break
        seconds += (t.start_beats - at_beats) * 60.0 / bpm
        at_beats, bpm = t.start_beats, t.bpm
    return seconds + (beats - at_beats) * 60.0 / bpm
