"""Chord symbols (lead-sheet harmony: "G", "D7", "Bm7b5", "C/E"): the one place for their rule.

A ChordSymbol is a root (pitch class), a kind from KINDS (MusicXML's <kind> values), the
alterations written after it ("b9", "#11", "add9"), an optional bass (pitch class) and the
text as the source wrote it, for display. `parse_chord` reads the common spellings and the
Nottingham ABC ones ("Cd" diminished, "Ca" augmented, "C/e" a lower-case bass, "D/f+" a
sharp one); `chord_text`
writes a canonical spelling that `parse_chord` reads back; `pitch_classes` gives the tones.

Nothing here imports cadenza.score (which imports this module).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from cadenza.errors import MusicError

_PITCH_CLASS_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
LETTERS = "CDEFGAB"
# semitones of a bass above its root -> letters above the root's (a third: E7/G#, Gm/Bb)
_BASS_STEPS = (0, 1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6)
LETTER_PITCH_CLASS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}

# kind (MusicXML's <kind> value) -> its tones as semitones above the root, root first
KINDS: dict[str, tuple[int, ...]] = {
    "major": (0, 4, 7),
    "minor": (0, 3, 7),
    "augmented": (0, 4, 8),
    "diminished": (0, 3, 6),
    "suspended-second": (0, 2, 7),
    "suspended-fourth": (0, 5, 7),
    "power": (0, 7),
    "major-sixth": (0, 4, 7, 9),
    "minor-sixth": (0, 3, 7, 9),
    "dominant": (0, 4, 7, 10),
    "major-seventh": (0, 4, 7, 11),
    "minor-seventh": (0, 3, 7, 10),
    "half-diminished": (0, 3, 6, 10),
    "diminished-seventh": (0, 3, 6, 9),
    "major-minor": (0, 3, 7, 11),
    "augmented-seventh": (0, 4, 8, 10),
    "dominant-ninth": (0, 4, 7, 10, 2),
    "major-ninth": (0, 4, 7, 11, 2),
    "minor-ninth": (0, 3, 7, 10, 2),
    "dominant-11th": (0, 4, 7, 10, 2, 5),
    "major-11th": (0, 4, 7, 11, 2, 5),
    "minor-11th": (0, 3, 7, 10, 2, 5),
    "dominant-13th": (0, 4, 7, 10, 2, 5, 9),
    "major-13th": (0, 4, 7, 11, 2, 5, 9),
    "minor-13th": (0, 3, 7, 10, 2, 5, 9),
}

# kind -> its spellings after the root, the canonical one (chord_text's) first. "d" and "a"
# are the Nottingham ABC files' diminished and augmented.
_SPELLINGS: dict[str, tuple[str, ...]] = {
    "major": ("", "maj", "M"),
    "minor": ("m", "min", "-", "mi"),
    "augmented": ("aug", "+", "a"),
    "diminished": ("dim", "°", "o", "d"),
    "suspended-second": ("sus2",),
    "suspended-fourth": ("sus4", "sus"),
    "power": ("5",),
    "major-sixth": ("6", "maj6", "M6"),
    "minor-sixth": ("m6", "min6", "-6"),
    "dominant": ("7", "dom7"),
    "major-seventh": ("maj7", "M7", "Maj7", "ma7", "Δ7", "Δ", "^7", "^"),
    "minor-seventh": ("m7", "min7", "-7", "mi7"),
    "half-diminished": ("m7b5", "ø7", "ø", "min7b5", "-7b5"),
    "diminished-seventh": ("dim7", "°7", "o7", "d7"),
    "major-minor": ("mM7", "mMaj7", "m(maj7)", "minmaj7", "m(M7)", "m/maj7", "m/M7", "mi(maj7)", "-maj7"),
    "augmented-seventh": ("aug7", "+7", "7+", "a7"),
    "dominant-ninth": ("9",),
    "major-ninth": ("M9", "maj9", "Maj9"),
    "minor-ninth": ("m9", "min9", "-9"),
    "dominant-11th": ("11",),
    "major-11th": ("M11", "maj11", "Maj11"),
    "minor-11th": ("m11", "min11", "-11"),
    "dominant-13th": ("13",),
    "major-13th": ("M13", "maj13", "Maj13"),
    "minor-13th": ("m13", "min13", "-13"),
}
_SUFFIX_KIND = {s: kind for kind, spellings in _SPELLINGS.items() for s in spellings}

# spellings that are a kind and alterations together: suffix -> (kind, alterations), the
# canonical suffix (chord_kind_text's) first of those that mean the same
_COMPOUND: dict[str, tuple[str, tuple[str, ...]]] = {
    "7sus4": ("suspended-fourth", ("b7",)),
    "7sus": ("suspended-fourth", ("b7",)),
    "9sus4": ("suspended-fourth", ("b7", "add9")),
    "9sus": ("suspended-fourth", ("b7", "add9")),
    "69": ("major-sixth", ("add9",)),
    "6/9": ("major-sixth", ("add9",)),
    "m69": ("minor-sixth", ("add9",)),
    "m6/9": ("minor-sixth", ("add9",)),
    "7alt": ("dominant", ("#5", "#9")),  # an altered dominant: its fifth and ninth raised, as often voiced
    "alt": ("dominant", ("#5", "#9")),
}
# (kind, alterations) -> its canonical suffix, the first listed; those that imply most first (9sus4 before 7sus4)
_CANONICAL_COMPOUNDS = sorted({m: s for s, m in reversed(_COMPOUND.items())}.items(), key=lambda c: -len(c[0][1]))

# alteration -> (semitones above the root it adds, the tone it replaces if the chord has it)
ALTERATIONS: dict[str, tuple[int, int | None]] = {
    "b7": (10, None),  # a seventh over a chord that has none (7sus4)
    "b5": (6, 7),
    "#5": (8, 7),
    "b9": (1, 2),
    "#9": (3, None),
    "#11": (6, 5),
    "b13": (8, 9),
    "add2": (2, None),
    "add4": (5, None),
    "add9": (2, None),
    "add11": (5, None),
    "add13": (9, None),
}

_NOTE = r"[A-G](?:#|b|♯|♭)?"
_CHORD = re.compile(
    rf"(?P<root>{_NOTE})"
    rf"(?P<kind>{'|'.join(re.escape(s) for s in sorted([*_SUFFIX_KIND, *_COMPOUND], key=len, reverse=True) if s)})?"
    rf"(?P<alterations>(?:\(?(?:{'|'.join(re.escape(a) for a in sorted(ALTERATIONS, key=len, reverse=True))})\)?)*)"
    r"(?:/(?P<bass>[A-Ga-g](?:#|b|♯|♭|\+)?))?"
)
_ACCEPTED = "a root A-G (# or b), a kind (m, 7, maj7, m7b5, dim, aug, sus4, 6, 9, 13, 5...), alterations, /bass"


@dataclass(frozen=True)
class ChordSymbol:
    """A chord symbol from `start_beats` on. Two symbols that mean the same chord are equal
    whatever their text ("Cd" and "Cdim")."""

    start_beats: float
    root: int  # pitch class, 0 = C
    kind: str  # one of KINDS
    bass: int | None = None  # pitch class of a bass other than the root (C/E: 4)
    text: str = field(default="", compare=False)  # as written in the source, for display
    alterations: tuple[str, ...] = ()  # each one of ALTERATIONS, as written ("b9", "#11", "add9")

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise MusicError(f"unknown chord kind {self.kind!r} (known: {', '.join(KINDS)})")
        if any(a not in ALTERATIONS for a in self.alterations):
            raise MusicError(f"unknown alteration in {self.alterations} (known: {', '.join(ALTERATIONS)})")
        if not self.text:
            object.__setattr__(self, "text", chord_text(self))


def _pitch_class(name: str) -> int:
    name = name.replace("♯", "#").replace("♭", "b").replace("+", "#")
    return (LETTER_PITCH_CLASS[name[0].upper()] + {"#": 1, "b": -1}.get(name[1:], 0)) % 12


def parse_chord(text: str, start_beats: float = 0.0) -> ChordSymbol:
    """'G', 'D7', 'Em', 'Bm7b5', 'F#m7', 'Cmaj7', 'CM7', 'C6', 'Am6', 'Cdim', 'Cdim7', 'C°',
    'Caug', 'C+', 'Csus4', 'C9', 'C7b9', 'C7#11', 'C13', 'C/E', 'D7/F#', 'C5', and the
    Nottingham ABC spellings 'Cd' (diminished), 'Ca' (augmented), 'C/e' (a lower-case bass),
    'D/f+' (+ for a sharp bass), '(E7)' (an optional chord, in parentheses) -> ChordSymbol.
    Raises MusicError naming the symbol and what is accepted."""
    written = text.strip()
    bare = written[1:-1].strip() if written.startswith("(") and written.endswith(")") else written
    m = _CHORD.fullmatch(bare)
    if not m:
        raise MusicError(f"unknown chord symbol {text!r}: expected {_ACCEPTED}, e.g. G, D7, Bm7b5, C/E")
    alterations = tuple(re.findall(r"(?:add)?[b#]?\d+", m["alterations"] or ""))
    kind, implied = _COMPOUND.get(m["kind"] or "", (_SUFFIX_KIND.get(m["kind"] or ""), ()))
    root = _pitch_class(m["root"])
    bass = _pitch_class(m["bass"]) if m["bass"] else None
    return ChordSymbol(
        start_beats,
        root,
        str(kind),
        None if bass == root else bass,
        written,
        (*implied, *(a for a in alterations if a not in implied)),
    )


def chord_text(c: ChordSymbol) -> str:
    """The canonical spelling of a chord symbol ('D7', 'Bm7b5', 'C/E'), which parse_chord reads
    back as the same chord: the root as C C# D Eb E F F# G Ab A Bb B name it, the bass by its
    interval above the root (E7/G#, Gm/Bb, F/Eb)."""
    root = _PITCH_CLASS_NAMES[c.root % 12]
    bass = f"/{_bass_name(root, c.bass % 12)}" if c.bass is not None else ""
    return f"{root}{chord_kind_text(c)}{bass}"


def _bass_name(root: str, bass: int) -> str:
    """The bass spelled by its interval above the root (a third above E is G#, above G minor's
    G a Bb), else by the usual names."""
    interval = (bass - _pitch_class(root)) % 12
    letter = LETTERS[(LETTERS.index(root[0]) + _BASS_STEPS[interval]) % 7]
    alter = (bass - LETTER_PITCH_CLASS[letter] + 6) % 12 - 6
    return letter + {-1: "b", 0: "", 1: "#"}[alter] if -1 <= alter <= 1 else _PITCH_CLASS_NAMES[bass]


def plain_chord_text(c: ChordSymbol) -> str:
    """chord_text without the compound spellings (_COMPOUND): the kind's own suffix and every
    alteration written out ('Asus4b7add9' for A9sus4, 'C7#5#9' for C7alt, 'Cm6add9' for Cm69),
    which music21's ABC reader reads (it drops '9sus4', 'm69' and '7alt' without a word)."""
    root = _PITCH_CLASS_NAMES[c.root % 12]
    bass = f"/{_bass_name(root, c.bass % 12)}" if c.bass is not None else ""
    return f"{root}{_plain_suffix(c)}{bass}"


def written_kind_text(c: ChordSymbol) -> str:
    """What follows the root in written_text, before any bass: the kind and alterations as the
    source spelled them where they read back as this chord ('7#5#9' for a C7#5#9, not '7alt')."""
    w = written_text(c).strip("()")
    m = _CHORD.fullmatch(w)
    if m is None:
        return chord_kind_text(c)
    return w[m.end("root") : m.start("bass") - 1 if m["bass"] else len(w)]


def chord_kind_text(c: ChordSymbol) -> str:
    """What chord_text writes after the root and before the bass ('m7b5', '7b9', '7sus4', '' for
    major)."""
    for (kind, implied), suffix in _CANONICAL_COMPOUNDS:
        if kind == c.kind and c.alterations[: len(implied)] == implied:
            return suffix + "".join(c.alterations[len(implied) :])
    return _plain_suffix(c)


def _plain_suffix(c: ChordSymbol) -> str:
    """The kind's own suffix and the alterations; a major chord whose first alteration is flat or
    sharp spelled "maj" (Cmajb9: "Cb9" reads as a C-flat ninth, "C#5" as a C-sharp fifth)."""
    alterations = "".join(c.alterations)
    kind = _SPELLINGS[c.kind][0] or ("maj" if alterations[:1] in ("b", "#") else "")
    return kind + alterations


def pitch_classes(c: ChordSymbol) -> tuple[int, ...]:
    """The chord's tones as pitch classes, root first, then the kind's tones upward (as KINDS
    lists them) with the alterations applied; the bass, when another note, is not added."""
    tones = list(KINDS[c.kind])
    for a in c.alterations:
        added, replaced = ALTERATIONS[a]
        if replaced is not None and replaced in tones and not a.startswith("add"):
            tones[tones.index(replaced)] = added
        elif added not in tones:
            tones.append(added)
    return tuple((c.root + t) % 12 for t in tones)


def transpose_chord(c: ChordSymbol, semitones: int) -> ChordSymbol:
    """The chord moved by `semitones` (root and bass), its text respelled canonically."""
    bass = None if c.bass is None else (c.bass + semitones) % 12
    moved = replace(c, root=(c.root + semitones) % 12, bass=bass, text="x")
    return replace(moved, text=chord_text(moved))


# kind -> the quality of its triad, what "root and quality" accuracy compares (sevenths and
# extensions aside, as MIREX's major/minor vocabulary does)
TRIAD_QUALITY = {
    kind: (
        "sus"
        if kind.startswith("suspended")
        else "power"
        if kind == "power"
        else {(4, 7): "major", (3, 7): "minor", (3, 6): "diminished", (4, 8): "augmented"}[(tones[1], tones[2])]
    )
    for kind, tones in KINDS.items()
}


def triad_quality(c: ChordSymbol) -> str:
    """'major', 'minor', 'diminished', 'augmented', 'sus' or 'power': the chord's triad, with a
    #5 on a major triad (C7#5: augmented) or a b5 on a minor one (Cm7b5: diminished) applied;
    a b5 on a major triad (C7b5) keeps its major third and counts as major."""
    fifth = {(t - c.root) % 12 for t in pitch_classes(c)}
    quality = TRIAD_QUALITY[c.kind]
    if quality == "major" and 8 in fifth and 7 not in fifth:
        return "augmented"
    if quality == "minor" and 6 in fifth and 7 not in fifth:
        return "diminished"
    return quality


def close_voicing(c: ChordSymbol, low: int = 52) -> tuple[int, ...]:
    """The chord's tones as MIDI pitches, stacked upward from the lowest one at or above `low`
    (52 = E3, a guitar's or a left hand's middle register): the bass (or root) first, then the
    other tones in close position; no tone twice."""
    bass = c.root if c.bass is None else c.bass
    first = low + (bass - low) % 12
    pitches = [first]
    for pc in pitch_classes(c):
        if pc == bass % 12:
            continue
        pitches.append(pitches[-1] + (pc - pitches[-1]) % 12 or 12)
    return tuple(sorted(pitches))


def written_text(c: ChordSymbol) -> str:
    """What a writer writes for a chord symbol: its own text when parse_chord reads that back as
    the same chord and it is no Nottingham shorthand (G#m in E major stays), else its root as
    written and the rest as chord_text spells it ("Cd" -> "Cdim", "A7/e" -> "A7/E", "D/f+" ->
    "D/F#")."""
    try:
        same = parse_chord(c.text, c.start_beats) == c
    except MusicError:
        same = False
    m = _CHORD.fullmatch(c.text.strip("()"))
    shorthand = m is not None and (
        (m["kind"] or "") in ("a", "d", "a7", "d7") or bool(m["bass"] and (m["bass"][0].islower() or "+" in m["bass"]))
    )
    if same and not shorthand:
        return c.text
    canonical = chord_text(c)
    if same and m is not None:  # keep the root as the source spelled it (Gb, not F#)
        return m["root"] + canonical[len(_PITCH_CLASS_NAMES[c.root % 12]) :]
    return canonical


def parse_progression(text: str, bar_beats: float, beat_beats: float) -> tuple[list[ChordSymbol], int]:
    """A chord progression as a user types it, one bar per `|`: "D | G A7 | D Bm | Em A7 | D"
    -> (chord symbols placed in bars of `bar_beats` quarter notes, the number of bars). A bar's
    chords share its counted beats (of `beat_beats` quarter notes) evenly, the first ones the
    longer when they do not divide (two in 4/4: beats 1 and 3; two in 3/4: beats 1 and 3; two
    in 6/8: each dotted quarter); '%' repeats the bar before; line breaks also end bars, and
    "||" is one bar line. An empty bar ("D | | A7") is refused.
    Raises MusicError naming the bar and the symbol it cannot read, or a bar of more chords
    than beats."""
    bars: list[str] = []
    for line in text.strip().splitlines():
        cells = [b.strip() for b in re.split(r"\|+", line)]  # "||" is one bar line, as a double bar is
        if cells and not cells[0]:
            cells = cells[1:]  # a line may start with a bar line
        if cells and not cells[-1]:
            cells = cells[:-1]  # and end with one
        if "" in cells:
            raise MusicError(
                f"bar {len(bars) + cells.index('') + 1} is empty: give its chords, or '%' to repeat the bar before"
            )
        bars += cells
    if not bars:
        raise MusicError("no chords: expected bars of chord symbols between '|', e.g. 'D | G A7 | D'")
    beats = max(1, round(bar_beats / beat_beats))
    chords: list[ChordSymbol] = []
    previous: list[str] = []
    for number, bar in enumerate(bars, start=1):
        names = previous if bar == "%" else bar.split()
        if not names:
            raise MusicError(f"bar {number}: '%' repeats the bar before, and there is none")
        if len(names) > beats:
            raise MusicError(f"bar {number}: {len(names)} chords in a bar of {beats} beat{'s' if beats > 1 else ''}")
        at = 0
        for i, name in enumerate(names):
            try:
                chords.append(parse_chord(name, (number - 1) * bar_beats + at * beat_beats))
            except MusicError as e:
                raise MusicError(f"bar {number}: {e}") from None
            at += beats // len(names) + (1 if i < beats % len(names) else 0)
        previous = names
    return chords, len(bars)
