"""Notated scores -> Score, through music21: MusicXML (.musicxml .xml .mxl), ABC (.abc) and
Humdrum kern (.krn). MusicXML is written without music21, by cadenza.io.musicxml.

music21 is imported inside the functions: it is slow to import and only the edges need it.

Time conventions (see `music21_to_score`): beat 0 is the downbeat of the first full bar. A
piece that opens with a pickup (anacrusis) therefore starts after beat 0, so that bar lines
fall at whole multiples of the bar length, as they do in the notation.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from cadenza.errors import InputError
from cadenza.io.midi import DRUM_CHANNEL, one_line, sorted_changes
from cadenza.score import Key, Meter, Note, Part, Score, Tempo

# suffix -> (music21 format name, the name users know)
FORMATS = {
    ".musicxml": ("musicxml", "MusicXML"),
    ".xml": ("musicxml", "MusicXML"),
    ".mxl": ("musicxml", "MusicXML"),
    ".abc": ("abc", "ABC"),
    ".krn": ("humdrum", "Humdrum kern"),
}
_MAJOR_LIKE = {"major", "ionian", "lydian", "mixolydian"}
_MINOR_LIKE = {"minor", "aeolian", "dorian", "phrygian", "locrian"}


# ---------------------------------------------------------------------------------------------
# reading


def read_with_music21(path: str | Path) -> list[Score]:
    """Read every piece in a MusicXML, ABC or kern file (an ABC file may hold many tunes: one
    Score each, titled from the tune's T: field). Pieces without notes are left out.

    Raises InputError (one line naming the file) when the file is missing, empty, cannot be
    parsed, or holds no notes at all.
    """
    from music21 import converter, stream

    path = Path(path)
    fmt, fmt_name = FORMATS.get(path.suffix.lower(), (None, None))
    if fmt is None:
        raise InputError(path, f"not a score file music21 reads (use {', '.join(FORMATS)})")
    if not path.is_file():
        raise InputError(path, "no such file")
    if not path.read_bytes().strip():
        raise InputError(path, "empty file")
    try:
        parsed = converter.parse(path, format=fmt, forceSource=True, storePickle=False)
    except Exception as e:  # music21's parsers raise many kinds; all mean "not readable"
        raise InputError(path, f"not valid {fmt_name}: {one_line(e)}") from None
    pieces = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
    scores = []
    for piece in pieces:
        try:
            score = music21_to_score(piece)
        except Exception as e:  # music21 builds some things lazily: bad input can fail here too
            raise InputError(path, f"not valid {fmt_name}: {one_line(e)}") from None
        if score.parts:
            scores.append(score)
    if not scores:
        raise InputError(path, f"no notes in this {fmt_name} file")
    for score in scores:
        score.title = score.title or path.stem
    return scores


def music21_to_score(m21_stream, title: str = "") -> Score:
    """Convert a music21 Score (or a lone Part or Stream) to a Score.

    - One Part per music21 part that has notes; program from the part's instrument when it
      names one (else 0); a part on MIDI channel 10 is a drum part.
    - Tied notes become one Note; chords become one Note per pitch; grace notes and unpitched
      percussion are dropped. Transposing instruments are read at sounding pitch.
    - Meters from TimeSignatures; tempos from MetronomeMarks (120 if none).
    - Keys from Key objects (modes other than major and minor map by their third: dorian ->
      minor, mixolydian -> major). A bare KeySignature keeps its sharps count and takes its
      mode from one key analysis of the piece (`analyze('key')`). No key signature: no keys.
    - Pickup: if the first bar is shorter than the meter's bar, every time is shifted by
      (bar length - pickup length), so beat 0 is where the full first bar would have begun
      and bar lines fall at multiples of the bar length. Changes at offset 0 stay at beat 0.
    """
    from music21 import stream

    instruments = m21_stream.recurse().getElementsByClass("Instrument")
    if any(getattr(inst, "transposition", None) for inst in instruments):
        m21_stream = m21_stream.toSoundingPitch(inPlace=False)
    m21_parts = list(m21_stream.parts) if isinstance(m21_stream, stream.Score) else []
    m21_parts = m21_parts or [m21_stream]
    shift = _pickup_shift(m21_parts)

    def beats(offset) -> float:
        return float(offset) + shift

    def change_beats(offset) -> float:
        return 0.0 if offset == 0 else beats(offset)

    parts, tempos, meters, keys, bare_signatures = [], [], [], [], []
    fermatas: set[float] = set()
    for m21_part in m21_parts:
        flat = m21_part.flatten()
        fermatas.update(
            beats(n.offset) for n in flat.notes if any("Fermata" in e.classes for e in getattr(n, "expressions", []))
        )
        notes = [Note(p, beats(start), float(length), vel) for p, start, length, vel in _tied_notes(flat)]
        if notes:
            notes.sort(key=lambda n: (n.start_beats, n.pitch))
            instrument = m21_part.getInstrument(returnDefault=False)
            program = getattr(instrument, "midiProgram", None) or 0
            is_drum = getattr(instrument, "midiChannel", None) == DRUM_CHANNEL
            name = m21_part.partName or getattr(instrument, "partName", None) or ""
            parts.append(Part(name, program, is_drum, notes))
        for mark in flat.getElementsByClass("MetronomeMark"):
            bpm = mark.getQuarterBPM()
            if bpm:  # music21's conversion to quarters can leave 110.00000000000001
                tempos.append(Tempo(change_beats(mark.offset), round(float(bpm), 6)))
        for ts in flat.getElementsByClass("TimeSignature"):
            meters.append(Meter(change_beats(ts.offset), ts.numerator, ts.denominator))
        for ks in flat.getElementsByClass("KeySignature"):
            mode = getattr(ks, "mode", None)
            if mode in _MAJOR_LIKE | _MINOR_LIKE:
                mode = "minor" if mode in _MINOR_LIKE else "major"
                keys.append(Key(change_beats(ks.offset), ks.tonic.pitchClass, mode))
            else:
                bare_signatures.append(ks)
    if bare_signatures:
        analysed_mode = m21_stream.analyze("key").mode  # once per piece, only when needed
        mode = "minor" if analysed_mode == "minor" else "major"
        # put first, so that an explicit Key at the same beat (listed later) wins in sorted_changes
        keys[:0] = [Key(change_beats(ks.offset), ks.asKey(mode).tonic.pitchClass, mode) for ks in bare_signatures]

    metadata = m21_stream.metadata
    return Score(
        parts=parts,
        tempos=sorted_changes(tempos, Tempo(0.0, 120.0)),
        meters=sorted_changes(meters, Meter(0.0, 4, 4)),
        keys=sorted_changes(keys, None),
        fermatas_beats=sorted(fermatas),
        title=title or (metadata.bestTitle if metadata is not None else None) or "",
    )


def _pickup_shift(m21_parts) -> float:
    """Beats to add to every time so that a pickup bar ends where a full bar would."""
    from music21 import meter, stream

    lengths, bar = [], None
    for m21_part in m21_parts:
        measures = m21_part.getElementsByClass(stream.Measure)
        if len(measures) < 2:  # a lone short bar is a short piece, not a pickup
            continue
        first = measures[0]
        lengths.append(float(first.duration.quarterLength))
        ts = first.timeSignature or m21_part.recurse().getElementsByClass(meter.TimeSignature).first()
        if bar is None and ts is not None:
            bar = float(ts.barDuration.quarterLength)
    if not lengths or bar is None:
        return 0.0
    pickup = max(lengths)
    return bar - pickup if 0 < pickup < bar else 0.0


def _tied_notes(flat) -> list[tuple[int, Fraction | float, Fraction | float, int]]:
    """(pitch, offset, quarter length, velocity) of each sounding note in a flat stream, with
    notes joined across ties (start, continue..., stop) of the same pitch.

    Done here rather than by music21's stripTies, which split in two a start-continue-stop
    chain held in a second voice (in a file music21 itself had written)."""
    from music21 import chord, note

    pieces = []  # (offset, pitch, length, tie type, velocity)
    for el in flat.notes:
        if el.duration.isGrace or el.quarterLength <= 0:
            continue
        if isinstance(el, note.Note):
            components = [el]
        elif isinstance(el, chord.Chord):
            components = list(el.notes)
        else:  # unpitched percussion
            continue
        for n in components:
            velocity = n.volume.velocity if n.volume.velocity is not None else el.volume.velocity
            tie = n.tie.type if n.tie is not None else None
            velocity = 80 if velocity is None else int(velocity)
            pieces.append((el.offset, n.pitch.midi, el.quarterLength, tie, velocity))
    pieces.sort(key=lambda p: p[0])

    result: list[list] = []  # [pitch, offset, length, velocity]
    open_ties: dict[int, int] = {}  # pitch -> index in result of a note whose tie goes on
    for offset, pitch, length, tie, velocity in pieces:
        if not 0 <= pitch <= 127:
            continue
        i = open_ties.get(pitch)
        if tie in ("stop", "continue") and i is not None and abs(result[i][1] + result[i][2] - offset) < 1e-6:
            result[i][2] += length
        else:
            i = len(result)
            result.append([pitch, offset, length, velocity])
        if tie in ("start", "continue"):
            open_ties[pitch] = i
        elif open_ties.get(pitch) == i:
            del open_ties[pitch]
    return [tuple(r) for r in result]
