"""Notated scores -> Score, through music21: MusicXML (.musicxml .xml .mxl), ABC (.abc) and
Humdrum kern (.krn). MusicXML is written without music21, by cadenza.io.musicxml.

music21 is imported inside the functions: it is slow to import and only the edges need it.

Time conventions (see `music21_to_score`): beat 0 is the downbeat of the first full bar. A
piece that opens with a pickup (anacrusis) therefore starts after beat 0, so that bar lines
fall at whole multiples of the bar length, as they do in the notation.

Repeats (see `music21_to_score` and `_unfold`): a piece is read as played, its repeat signs,
first and second endings (and D.C., D.S. where music21 reads them) unfolded; each simple repeat
(a passage played twice, with or without first and second endings) is recorded in Score.repeats.

Markings (see `_markings`): dynamics, hairpins and accents become velocities (VELOCITY's table,
cadenza.perform.dynamics), accents, staccato, staccatissimo, tenuto, slurs and grace notes
Note.marks, tempo words without a number tempos. What a performance cannot play (trills,
arpeggios, "rit." ...) is counted by `unsupported_markings`.

Parts: each staff is a Part, named as its part is; the two staves of a piano part (a General
MIDI piano's program, or with no program a part named as a piano: `_hand_names`) are the hands,
"Right hand" and "Left hand" (PIANO_HANDS), as cadenza names them and its MusicXML writer writes
them (one part of two staves).

Section labels (see `_sections`): MusicXML's rehearsal marks and ABC's P: field lines inside a
tune (music21 drops those: `_abc_shortcuts` makes them rehearsal marks) become Score.sections,
each on a bar line.

ABC: the text is mended and checked before music21 reads it (cadenza.io.abc_text: inline fields,
voices, free text, ...); what music21 loses among its tokens is mended here (`_abc_shortcuts`: a
meter, key or tempo change on a bar line is given to the bar it opens, P: labels, fermatas).
"""

from __future__ import annotations

import io
import re
import warnings
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any

from cadenza.chords import ChordSymbol, chord_text, parse_chord, plain_chord_text
from cadenza.errors import InputError, MusicError
from cadenza.io.abc_text import DYNAMIC_FIELD, DYNAMIC_NAME, abc_voice_names, mended_abc
from cadenza.io.midi import DRUM_CHANNEL, MAX_BEATS, METER_DENOMINATORS, file_bytes, sorted_changes, tempo_fits
from cadenza.perform.dynamics import VELOCITY, where_they_change
from cadenza.score import (
    CHURCH_MODES,
    GRACE_NOTE_BEATS,
    MARKS,
    PIANO_HANDS,
    PIANOS,
    Dynamic,
    Key,
    Meter,
    Note,
    Part,
    Repeat,
    Score,
    Section,
    Tempo,
    bar_starts,
)

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


def read_with_music21(path: str | Path, problems: list[str] | None = None) -> list[Score]:
    """Read every piece in a MusicXML, ABC or kern file (an ABC file may hold many tunes: one
    Score each, titled from the tune's T: field). Pieces without notes are left out.

    Each piece is read as played: its repeats unfolded, each simple one recorded in
    Score.repeats (see `music21_to_score`). A piece whose repeats cannot be unfolded (music21
    refuses them, or they might play far too long) is read as written, folded; a line saying
    so ("FILE: TITLE: its repeats are read as written (why)") is added to `problems` when given.

    Raises InputError (one line naming the file, the problem in plain words) when the file is
    missing, empty, not well-formed XML, has numbers no score has (a meter of a billion beats,
    an octave of 1e300: checked before music21 sees them, as they can exhaust memory there), cannot
    be parsed, holds no notes at all, or has a note beyond MAX_BEATS. music21's own
    warnings are kept off stderr (see `quiet`).
    """
    path = Path(path)
    pieces, fmt, _, chord_texts, abc = _music21_pieces(path)
    fmt_name = FORMATS[path.suffix.lower()][1]
    with quiet(), _abc_shortcuts(fmt == "abc"):
        try:
            folded: list[str] = []
            scores = [
                music21_to_score(piece, unfold=True, problems=folded, chord_texts=chord_texts) for piece in pieces
            ]
            if abc is not None:
                _name_voices(scores, abc_voice_names(abc))
            scores = [score for score in scores if score.parts]
        except MusicError as e:  # a chord symbol cadenza cannot read (the message names it and its bar)
            raise InputError(path, str(e)) from None
        except Exception as e:  # music21 raises many kinds (and builds some things lazily)
            raise InputError(path, _parse_problem(e, fmt_name)) from None
    if not scores:
        raise InputError(path, f"no notes in this {fmt_name} file")
    if problems is not None:
        problems.extend(f"{path}: {line}" for line in folded)
    for score in scores:
        end = score.end_beats
        if end > MAX_BEATS:
            raise InputError(path, f"a note ends at beat {end:,.0f}, beyond the {MAX_BEATS:,} beats cadenza reads")
        if not score.title or score.title == path.name:  # music21 titles a piece without one by its file's name
            score.title = path.stem
    return scores


def _name_voices(scores: list[Score], names: list[list[str]]) -> None:
    """Each ABC tune's parts named as its voices are (`abc_voice_names`), where the tunes and
    their voices are as many as the pieces and their parts music21 made."""
    if len(names) != len(scores):
        return
    for score, voices in zip(scores, names):
        if len(voices) == len(score.parts):
            score.parts = [replace(p, name=p.name or name) for p, name in zip(score.parts, voices)]


def _music21_pieces(path: Path) -> tuple[list, str, bytes, dict[str, str], str | None]:
    """The pieces music21 parses from a score file (an ABC file may hold many), after our checks
    of what it would choke on; with music21's name of its format, the file's bytes, for ABC the
    chord symbols as written by the canonical spelling music21 was given instead (see
    cadenza.io.abc_text._abc_chords), and the ABC text as mended for music21 (None for other
    formats). Raises InputError as `read_with_music21` says."""
    from music21 import converter, stream

    if path.suffix.lower() not in FORMATS:
        raise InputError(path, f"not a score file music21 reads (use {', '.join(FORMATS)})")
    fmt, fmt_name = FORMATS[path.suffix.lower()]
    data = file_bytes(path)
    if not data.strip():
        raise InputError(path, "empty file (only white space)")
    if fmt == "musicxml":
        _check_musicxml(path, data)
    abc, chord_texts = None, dict[str, str]()
    if fmt == "abc":
        abc, chord_texts = mended_abc(path, _text(data))
    with quiet(), _abc_shortcuts(fmt == "abc"):
        try:
            if abc is not None and abc != _text(data):  # music21 reads the text we mended
                parsed = converter.parse(abc, format=fmt, forceSource=True, storePickle=False)
            else:
                parsed = converter.parse(path, format=fmt, forceSource=True, storePickle=False)
            pieces = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
        except Exception as e:  # music21 raises many kinds (and builds some things lazily)
            raise InputError(path, _parse_problem(e, fmt_name)) from None
    return pieces, fmt, data, chord_texts, abc


@contextmanager
def quiet() -> Iterator[None]:
    """Keep music21's chatter off the terminal while it reads: its warnings (MusicXML import
    warnings, "Error in beaming", ...) go through the warnings module or straight to
    sys.stderr (music21.environment's warn) and are of no use to a user; our own errors say
    what matters. Not thread-safe (it swaps sys.stderr and sys.stdout), like music21 itself."""
    with warnings.catch_warnings(), redirect_stderr(io.StringIO()), redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


@contextmanager
def _abc_shortcuts(active: bool = True) -> Iterator[None]:
    """Spare music21 two costly steps while it reads ABC, and keep the section labels it drops,
    for the duration (not thread-safe: it swaps methods of music21's classes and a function of
    its ABC translator, and puts them back):

    - beaming: beams are notation only (a Score has none), and music21's makeBeams is quadratic
      in a part's length (48 s of a 50 s read of an 800-bar tune);
    - the meter music21 invents for the overflow of an overfull bar, when that overflow is not
      a whole number of 1/2**k quarters (176/7 quarters: 5 s a bar, a minute for a damaged
      tune) or is longer than 64 quarters (bar lines music21 did not see: 1858 quarters, 67 s).
      A placeholder meter stands in, one music21_to_score drops (no MIDI file can hold it, as it
      drops the odd ones music21 makes); the notes keep their times.
    - section labels: a P: field line inside a tune's body (after its K:) names the section
      that begins with the next note or rest; music21 reads no object from it (and loses the
      token itself where it follows a bar line), so the label is tied to that note's token
      when the tokens are made (`_abc_labels`), and put before the note, in its bar, as a
      RehearsalMark, as MusicXML's <rehearsal> is read. A P: in the header (the order the
      parts are played in, P:AABB) is no label.
    """
    from music21 import abcFormat, expressions, meter, stream
    from music21 import dynamics as m21_dynamics
    from music21.abcFormat import translate

    if not active:
        yield
        return
    make_beams, best_meter = stream.Stream.makeBeams, stream.Measure.bestTimeSignature
    token_process, parse_note = abcFormat.ABCHandler.tokenProcess, translate.parseABCNote
    labels: dict[int, tuple[Any, str]] = {}  # id of a note token -> (the token, kept alive; its label)
    fermatas: dict[int, Any] = {}  # id of a note token -> the token (kept alive), that has a fermata
    changes: dict[int, tuple[Any, list]] = {}  # id of a note token -> (the token; the field tokens before it)
    dynamics: dict[int, tuple[Any, str]] = {}  # id of a note token -> (the token, kept alive; its dynamic)

    def token_process_with_labels(self) -> None:
        self.tokens, dynamic_of = _abc_dynamic_tokens(self.tokens)
        dynamics.update((id(token), (token, value)) for token, value in dynamic_of)
        self.tokens, marked = _abc_fermata_tokens(self.tokens)
        fermatas.update((id(token), token) for token in marked)
        token_process(self)  # the notes' keys and lengths, from the fields where they stand
        labels.update((id(token), (token, label)) for token, label in _abc_labels(self.tokens))
        self.tokens, moved = _abc_bar_line_changes(self.tokens)
        changes.update((id(token), (token, fields)) for token, fields in moved)

    def parse_note_with_label(token, dst) -> None:
        changed, fields = changes.get(id(token), (None, []))
        for change in fields if changed is token else []:  # the note opens its bar: the change is the bar's
            translate.metadataToM21Object(change, dst, 0, True, isinstance(dst, stream.Measure))
        labelled, label = labels.get(id(token), (None, ""))
        if labelled is token:
            dst.coreAppend(expressions.RehearsalMark(label))  # where the note is about to go
        marked, dynamic = dynamics.get(id(token), (None, ""))
        if marked is token:
            dst.coreAppend(m21_dynamics.Dynamic(dynamic))  # as music21 reads a MusicXML one
        before = len(dst._elements)
        parse_note(token, dst)
        if fermatas.get(id(token)) is token and len(dst._elements) > before:
            dst._elements[-1].expressions.append(expressions.Fermata())

    def best_or_placeholder(measure):
        length = Fraction(measure.duration.quarterLength).limit_denominator(1 << 20)
        if length.denominator & (length.denominator - 1) or length > 64:  # odd, or bar lines lost
            return meter.TimeSignature("1/3")
        return best_meter(measure)

    stream.Stream.makeBeams = _skip_beams  # type: ignore[method-assign]
    stream.Measure.bestTimeSignature = best_or_placeholder  # type: ignore[method-assign]
    abcFormat.ABCHandler.tokenProcess = token_process_with_labels  # type: ignore[method-assign]
    translate.parseABCNote = parse_note_with_label  # type: ignore[assignment]
    try:
        yield
    finally:
        stream.Stream.makeBeams = make_beams  # type: ignore[method-assign]
        stream.Measure.bestTimeSignature = best_meter  # type: ignore[method-assign]
        abcFormat.ABCHandler.tokenProcess = token_process  # type: ignore[method-assign]
        translate.parseABCNote = parse_note


def _abc_dynamic_tokens(tokens: list) -> tuple[list, list[tuple[Any, str]]]:
    """music21's ABC tokens less each dynamic (abc_text.DYNAMIC_FIELD, which music21 takes for
    a chord), and the note, rest or chord token that follows each in its voice, with the
    dynamic's name (a dynamic after a voice's or tune's last note is dropped; of two before one
    note, the last)."""
    from music21 import abcFormat

    head, tail = DYNAMIC_FIELD.split("{}")
    out, marked, pending = [], list[tuple[Any, str]](), ""
    for token in tokens:
        src = getattr(token, "src", "")
        if isinstance(token, abcFormat.ABCChord) and src.startswith(head) and src.endswith(tail):
            pending = src[len(head) : -len(tail)]
            continue
        if isinstance(token, abcFormat.ABCMetadata) and re.match(r"\[?[XV]:", src.strip()):
            pending = ""  # a new tune or voice (fields are not parsed yet: no .tag to read)
        elif pending and isinstance(token, abcFormat.ABCNote):
            marked.append((token, pending))
            pending = ""
        out.append(token)
    return out, marked


def _abc_fermata_tokens(tokens: list) -> tuple[list, list]:
    """music21's ABC tokens less each fermata mark (abc_text._FERMATA_MARK: a crescendo's start
    and its end at once), and the note or chord tokens that follow one in its bar (a mark before
    a bar line, a field or the end is dropped: a fermata on a bar line is no note's)."""
    from music21 import abcFormat

    out, marked, pending = [], [], False
    i = 0
    while i < len(tokens):
        token = tokens[i]
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if isinstance(token, abcFormat.ABCCrescStart) and isinstance(after, abcFormat.ABCParenStop):
            pending, i = True, i + 2
            continue
        if isinstance(token, (abcFormat.ABCBar, abcFormat.ABCMetadata)):
            pending = False
        elif pending and isinstance(token, abcFormat.ABCNote):  # a chord's token is one too
            marked.append(token)
            pending = False
        out.append(token)
        i += 1
    return out, marked


def _abc_labels(tokens: list) -> list[tuple[Any, str]]:
    """The section labels of music21's ABC tokens (a P: field inside a tune's body: after the
    tune's K:), each with the token of the next note, rest or chord (of several labels before
    one note, the last); a label after the tune's last note is none."""
    from music21 import abcFormat

    out, body, label = [], False, ""
    for token in tokens:
        if isinstance(token, abcFormat.ABCMetadata):
            if token.tag == "X":
                body, label = False, ""
            elif token.tag == "K":
                body = True
            elif token.tag == "P" and body and token.data.strip():
                label = token.data.strip()
        elif label and isinstance(token, abcFormat.ABCNote):
            out.append((token, label))
            label = ""
    return out


def _abc_bar_line_changes(tokens: list) -> tuple[list, list[tuple[Any, list]]]:
    """music21's ABC tokens less the meter, key and tempo changes on a bar line (an M:, K: or Q:
    field line of a tune's body after a bar line, which music21 would drop), each with the
    token of the next note, rest or chord, whose bar it changes. A change inside a bar is left
    to music21 (which changes the bar's meter or key, and the tempo where it stands); one after
    the last note is dropped."""
    from music21 import abcFormat

    out, moved, pending = [], list[tuple[Any, list]](), list[Any]()
    body, after_bar = False, False
    for token in tokens:
        if isinstance(token, abcFormat.ABCMetadata):
            if token.tag == "X":
                body, pending = False, []
            elif not body and token.tag == "K":  # the header's last field
                body, after_bar = True, True
            elif body and after_bar and token.tag in ("M", "K", "Q"):
                pending.append(token)
                continue
        elif isinstance(token, abcFormat.ABCBar):
            after_bar = True
        elif isinstance(token, abcFormat.ABCNote):
            if pending:
                moved.append((token, pending))
                pending = []
            after_bar = False
        out.append(token)
    return out, moved


def _skip_beams(self, *args, inPlace=False, **kwargs):  # noqa: N803 (music21's keyword)
    return None if inPlace else self


def _text(data: bytes) -> str:
    """The text our checks read: UTF-8, else Latin-1 (music21 reads ABC as UTF-8 only, and its
    refusal of anything else is then said in our words by _parse_problem)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


# tag -> (what it must be, a test of its text); checked in each measure of each part
_MUSICXML_NUMBERS = {
    "divisions": ("a positive number", lambda v: 0 < float(v) <= 1e6),
    "duration": ("a number 0 or more", lambda v: 0 <= float(v) < 1e12),
    "beats": ("a whole number of beats (or a sum, 3+2)", lambda v: all(0 < int(b) <= 1000 for b in v.split("+"))),
    "beat-type": ("a whole note value (4 for quarters)", lambda v: all(0 < int(b) <= 1024 for b in v.split("+"))),
    # -1: MIDI notes 0 to 11, which MusicXML's 0 to 9 leave out and MuseScore writes as -1 (so do we)
    "octave": ("a whole number -1 to 9", lambda v: -1 <= int(v) <= 9),
    "fifths": ("a whole number of sharps or flats", lambda v: -14 <= int(v) <= 14),
    "alter": ("a number of semitones (-1, 1, 0.5)", lambda v: -4 <= float(v) <= 4 and (2 * float(v)).is_integer()),
    "staff": ("a whole number", lambda v: 0 < int(v) <= 100),
    "midi-channel": ("a whole number 1 to 16", lambda v: 1 <= int(v) <= 16),
    "midi-program": ("a whole number 1 to 128", lambda v: 1 <= int(v) <= 128),
    "per-minute": ("a number", lambda v: 0 <= float(v) < 1e6),
}


def _check_musicxml(path: Path, data: bytes) -> None:
    """Refuse what is not well-formed XML or has numbers no score has (an octave of 1e300, a
    meter of a billion beats, a note of a million bars) before music21 parses it: music21 says
    such things in its own words, or builds one object per beat and runs out of memory."""
    import xml.etree.ElementTree as ET

    if data[:2] == b"PK":
        data = _mxl_score(path, data)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        line, column = getattr(e, "position", (0, 0))
        raise InputError(path, f"not well-formed XML ({_xml_problem(e)} at line {line}, column {column})") from None
    except LookupError as e:  # the XML declaration names an encoding Python does not know
        name = str(e).rsplit(":", 1)[-1].strip()[:30]
        raise InputError(path, f"its XML declaration names an unknown encoding ({name})") from None
    except ValueError:  # e.g. an encoding that cannot be switched to
        raise InputError(path, "not readable XML (its declared encoding cannot be read)") from None
    if root.tag == "score-timewise":
        raise InputError(path, "a timewise MusicXML score, which cadenza cannot read; export it as partwise")
    if root.tag != "score-partwise":
        raise InputError(path, f"not a MusicXML score (its root element is <{root.tag}>, not <score-partwise>)")
    names = _part_names(root)
    places: list[tuple[str, Any]] = []
    for part in root.iter("part"):
        for measure in part.iter("measure"):
            places.append((f" in measure {measure.get('number', '?')} of {names[part]}", measure))
    places.append((" in the part list", root.find("part-list")))
    for where, element in places:
        if element is None:
            continue
        for el in element.iter():
            rule = _MUSICXML_NUMBERS.get(el.tag)
            if rule is None:
                continue
            value = (el.text or "").strip()
            try:
                good = rule[1](value)
            except (ValueError, OverflowError):
                good = False
            if not good:
                shown = value if len(value) <= 20 else value[:20] + "..."
                raise InputError(path, f"<{el.tag}> is {shown!r}{where}; expected {rule[0]}")
    _check_musicxml_lengths(path, root, names)


def _part_names(root) -> dict[Any, str]:
    """How a message names each <part>: "part 'Violin'" (its part-name, else abbreviation) or "part 2"."""
    names = {}
    for i, score_part in enumerate(root.iter("score-part"), 1):
        name = (score_part.findtext("part-name") or score_part.findtext("part-abbreviation") or "").strip()
        names[score_part.get("id")] = f"part '{name[:30]}'" if name else f"part {i}"
    return {part: names.get(part.get("id"), f"part {i}") for i, part in enumerate(root.iter("part"), 1)}


def _check_musicxml_lengths(path: Path, root, names: dict[Any, str]) -> None:
    """Refuse a note (or forward, backup) longer than MAX_BEATS: music21 would fill the bars."""
    for part in root.iter("part"):
        divisions = 1.0
        for el in part.iter():
            if el.tag not in ("divisions", "duration"):
                continue
            try:
                value = float((el.text or "").strip())
            except ValueError:
                continue  # outside a measure: music21 ignores it
            if el.tag == "divisions" and value > 0:
                divisions = value
            elif el.tag == "duration" and value / divisions > MAX_BEATS:
                raise InputError(
                    path,
                    f"a duration of {value / divisions:,.0f} beats in {names[part]}, "
                    f"beyond the {MAX_BEATS:,} beats cadenza reads",
                )


def _xml_problem(e: Exception) -> str:
    """expat's name for a well-formedness error, said plainly."""
    what = str(e).split(":", 1)[0]
    if what.startswith("not well-formed"):
        return "an invalid character or token"
    if "amplification" in what:
        return "entities that expand to far too much text"
    return what


def _mxl_score(path: Path, data: bytes) -> bytes:
    """The score inside a compressed MusicXML (.mxl) file: the root file its container names."""
    import zipfile
    import zlib

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            name = None
            if "META-INF/container.xml" in names:
                found = re.search(rb'full-path="([^"]+)"', archive.read("META-INF/container.xml"))
                name = found[1].decode("utf-8", "replace") if found else None
            if name not in names:
                name = next(
                    (n for n in names if n.endswith((".xml", ".musicxml")) and not n.startswith("META-INF")), None
                )
            if name is None:
                raise InputError(path, "a zip archive without a MusicXML score in it")
            info = archive.getinfo(name)
            if info.file_size > 256 << 20:
                raise InputError(path, f"its score is {info.file_size >> 20:,} MB unpacked, too large to read")
            return archive.read(name)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
    ) as e:
        raise InputError(path, f"a damaged compressed MusicXML (.mxl) file ({_zip_problem(e)})") from None


def _zip_problem(e: Exception) -> str:
    text = str(e)
    if "CRC" in text or "decompressing" in text:
        return "a checksum does not match"
    if "not a zip file" in text.lower():
        return "not a zip archive"
    if "compression" in text.lower():
        return "an unknown compression method"
    return "the archive cannot be unpacked"


def _parse_problem(e: Exception, fmt_name: str) -> str:
    """Why music21 could not read a file, in our words (its own messages name its internals)."""
    import zipfile

    text = str(e)
    if isinstance(e, UnicodeDecodeError):
        return f"not UTF-8 text (byte 0x{e.object[e.start]:02X} at position {e.start:,}); save it as UTF-8"
    if isinstance(e, zipfile.BadZipFile):
        return f"a damaged compressed MusicXML (.mxl) file ({_zip_problem(e)})"
    if isinstance(e, MemoryError):
        return f"too large to read as {fmt_name}"
    if isinstance(e, RecursionError):
        return f"not valid {fmt_name} (nested too deeply to read)"
    if isinstance(e, ZeroDivisionError):
        return f"not valid {fmt_name} (a length, meter or tempo of zero)"
    if re.search(r"partition by 0|\(0/\d+\)|MeterTerminal|TimeSignature", text):
        return f"not valid {fmt_name} (a meter it cannot use)"
    if "spineType" in text:
        return "not valid Humdrum kern (a spine without a ** header, such as **kern)"
    if "Malformed humdrum" in text or "dataStream" in text:
        return "not valid Humdrum kern (its spines do not split, join and end in order)"
    if "accidental" in text:
        return f"not valid {fmt_name} (an accidental it cannot read)"
    if "quarter length associated with this metadata" in text:
        return "not valid ABC (an L: note length it cannot read)"
    if "default note length" in text:
        return "not valid ABC (notes before the tune says their length: no L: or M: field)"
    if m := re.search(r"invalid literal for (?:int|float)\(\)(?: with base \d+)?: (.*)", text):
        return f"not valid {fmt_name} (a number was expected, not {m[1][:30]})"
    where = ""
    measure, part = getattr(e, "measureNumber", None), getattr(e, "partName", None)
    if measure or part:
        where = f" in measure {measure} of part {part}" if part else f" in measure {measure}"
    return f"not valid {fmt_name}: it cannot be read{where} (the file is damaged or uses notation cadenza cannot read)"


def music21_to_score(
    m21_stream,
    title: str = "",
    unfold: bool = False,
    problems: list[str] | None = None,
    chord_texts: dict[str, str] | None = None,
) -> Score:
    """Convert a music21 Score (or a lone Part or Stream) to a Score.

    - One Part per music21 part that has notes; program from the part's instrument when it
      names one (else 0); a part on MIDI channel 10 is a drum part.
    - Tied notes become one Note; chords become one Note per pitch; unpitched percussion is
      dropped. Transposing instruments are read at sounding pitch.
    - Grace notes become Notes marked "grace", each GRACE_NOTE_BEATS long, the last ending where
      its note begins (over the end of the note before); those that would begin before beat 0
      (graces on the first note of a piece without a pickup) are left out, saying so in
      `problems`.
    - Meters from TimeSignatures; tempos from MetronomeMarks (120 if none), and from tempo
      words without a number ("Allegro", "Andante con moto": a TempoText, or a text direction
      such as MusicXML's <words>) at music21's number for them (`tempo.defaultTempoValues`),
      unless a MetronomeMark with a number is in the same bar (see `_tempo_words`); gradual
      and relative changes ("rit.", "accel.", "più mosso", "Tempo I") are not read.
    - Markings (see `_markings`): dynamics, hairpins and accents give the velocities; accents,
      staccato, staccatissimo, tenuto and slurs give Note.marks. A velocity the file gives a
      note itself (music21's `volume.velocity`, e.g. MusicXML's <note dynamics=...>) wins. A
      piece without markings is read as before they were read: velocity 80, no marks.
    - Keys from Key objects (a church mode is kept as Key.modal, its `mode` by its third:
      dorian -> minor, mixolydian -> major). A bare KeySignature keeps its sharps count and takes its
      mode from one key analysis of the piece (`analyze('key')`). No key signature: no keys.
    - Pickup: if the first bar is shorter than the meter's bar, every time is shifted by
      (bar length - pickup length), so beat 0 is where the full first bar would have begun
      and bar lines fall at multiples of the bar length. Changes at offset 0 stay at beat 0.
    - A bar longer or shorter than its meter's between the first and the last (a miscounted
      bar) is a change of meter for that bar (`_irregular_bars`), so the bars after it begin
      where the file has them.
    - Repeats: with `unfold`, the music as played (see `_unfold`): each bar where it is played,
      every time, with its notes, fermatas and changes of meter, key and tempo; a pass played
      again begins under the meter, key and tempo its bar is written under; simple repeats in
      Score.repeats. Where the repeats cannot be unfolded the music is read as written, and a
      line saying why goes to `problems` (when given). Without `unfold` (the default): as
      written, each repeated passage once.
    - Chord symbols (music21's harmony.ChordSymbol: MusicXML's <harmony>, ABC's quoted chords)
      become Score.chords where they are played (see `_chord_symbol`), never notes; one that
      cadenza cannot read raises MusicError naming it and its bar. `chord_texts` gives the
      text as written for a canonical spelling (see cadenza.io.abc_text._abc_chords).
    - Section labels (music21's RehearsalMark: MusicXML's <rehearsal>, ABC's P: inside a tune)
      become Score.sections where they are played (each playing of a repeated one), on bar
      lines (see `_sections`); a section takes the first part's dynamics mark (ppp..fff) at its
      start, or the last before it, as its dynamics (as the MusicXML writer writes a plan's; it
      shows them only under a part without marks of its own).
    - Each part's dynamics marks (ppp..fff; not pppp, ffff ...) become its Part.dynamics where
      they change, as played, so that a piece written from this one shows them (its velocities
      sound them).
    """
    from music21 import stream

    instruments = m21_stream.recurse().getElementsByClass("Instrument")
    if any(getattr(inst, "transposition", None) for inst in instruments):
        m21_stream = m21_stream.toSoundingPitch(inPlace=False)
    m21_parts = list(m21_stream.parts) if isinstance(m21_stream, stream.Score) else []
    m21_parts = m21_parts or [m21_stream]
    shift = _pickup_shift(m21_parts)
    played = None
    if unfold:
        try:
            played = _unfold(m21_stream, m21_parts)
        except Exception as e:  # music21 raises many kinds on repeats it cannot make sense of
            if problems is not None:
                name = title or (m21_stream.metadata.bestTitle if m21_stream.metadata is not None else None)
                problems.append(f"{name or 'the piece'}: its repeats are read as written ({_unfold_problem(e)})")

    def beats(offset) -> float:
        return float(offset) + shift

    def change_beats(offset) -> float:
        return 0.0 if offset == 0 else beats(offset)

    def places(part: int, offset) -> list:
        return [offset] if played is None else played.places(part, offset)

    parts, bare_signatures = [], []
    # (part, written offset, change at its written beat), as the parts have them
    tempos: list[tuple[int, Any, Tempo]] = []
    meters: list[tuple[int, Any, Meter]] = []
    keys: list[tuple[int, Any, Key]] = []
    fermatas: set[float] = set()
    chords: dict[tuple, ChordSymbol] = {}  # one per place and chord, whichever part has it
    labels: list[Section] = []  # section labels where they are played, in every part
    markings: dict[float, str] = {}  # the first part's dynamics marks (ppp..fff) by beat
    flats = [m21_part.flatten() for m21_part in m21_parts]
    try:
        marked = _markings(m21_stream, m21_parts, flats)
    except Exception:  # markings in a shape music21 seldom gives: the notes as they were read before markings
        marked = {}
    tempo_words = []  # (part, offset, quarter notes a minute) of tempo words without a number
    hand_names = _hand_names(m21_parts)
    early = 0  # grace notes that would begin before beat 0
    for i, m21_part in enumerate(m21_parts):
        flat = flats[i]
        fermatas.update(
            beats(at)
            for n in flat.notes
            if any("Fermata" in e.classes for e in getattr(n, "expressions", []))
            for at in places(i, n.offset)
        )
        for cs in flat.getElementsByClass("ChordSymbol"):
            chord = _chord_symbol(cs, chord_texts or {})
            if chord is None:
                continue
            for at in places(i, cs.offset):
                moved = replace(chord, start_beats=beats(at))
                chords.setdefault((round(moved.start_beats, 6), moved), moved)
        for mark in flat.getElementsByClass("RehearsalMark"):
            label = " ".join(str(mark.content or "").split())
            if label:
                labels += [Section(change_beats(at), label) for at in places(i, mark.offset)]
        own: dict[float, str] = {}  # this part's dynamics marks (ppp..fff) by beat, as played
        for dynamic in flat.getElementsByClass("Dynamic"):
            value = str(dynamic.value).strip()
            if value in _LEVELS:
                own.update({round(change_beats(at), 6): value for at in places(i, dynamic.offset)})
        if i == 0:
            markings = dict(own)
        shown = [(at, own[at]) for at in sorted(own) if own[at] in VELOCITY]  # ppp..fff; pppp is not written
        part_marks = [Dynamic(at, m) for at, m in where_they_change(shown)]
        seams = played.seams(i) if played is not None else set()
        pieces = _tied_notes(flat, partial(places, i), seams, marked, m21_part)
        notes = [Note(p, beats(start), float(length), vel, marks) for p, start, length, vel, marks in pieces]
        early += sum(n.start_beats < -1e-9 for n in notes)  # grace notes on the first note of the piece
        notes = [n for n in notes if n.start_beats >= -1e-9]
        if notes:
            notes.sort(key=lambda n: (n.start_beats, n.pitch))
            instrument = m21_part.getInstrument(returnDefault=False)
            program = getattr(instrument, "midiProgram", None) or 0
            is_drum = getattr(instrument, "midiChannel", None) == DRUM_CHANNEL
            name = hand_names.get(i) or m21_part.partName or getattr(instrument, "partName", None) or ""
            parts.append(Part(name, program, is_drum, notes, dynamics=part_marks))
        for mark in flat.getElementsByClass("MetronomeMark"):
            bpm = mark.getQuarterBPM()
            if bpm and tempo_fits(bpm):  # not Q:1/4=-60; music21's quarters can be 110.00000000000001
                tempos.append((i, mark.offset, Tempo(change_beats(mark.offset), round(float(bpm), 6))))
        for words in flat.getElementsByClass(("TempoText", "TextExpression")):
            bpm = _tempo_word(words.text if "TempoText" in words.classes else words.content)
            if bpm:
                tempo_words.append((i, words.offset, bpm))
        for ts in flat.getElementsByClass("TimeSignature"):
            if ts.numerator >= 1 and ts.denominator in METER_DENOMINATORS:  # not music21's 9/18 for a tuplet bar
                meters.append((i, ts.offset, Meter(change_beats(ts.offset), ts.numerator, ts.denominator)))
        for ks in flat.getElementsByClass("KeySignature"):
            mode = getattr(ks, "mode", None)
            if mode in _MAJOR_LIKE | _MINOR_LIKE:
                modal = mode if mode in CHURCH_MODES else ""
                mode = "minor" if mode in _MINOR_LIKE else "major"
                keys.append(
                    (
                        i,
                        ks.offset,
                        Key(change_beats(ks.offset), ks.tonic.pitchClass, mode, _tonic_name(ks.tonic), modal),
                    )
                )
            else:
                bare_signatures.append((i, ks))
    if early and problems is not None:
        name = title or (m21_stream.metadata.bestTitle if m21_stream.metadata is not None else None)
        problems.append(f"{name or 'the piece'}: {early} grace note(s) before its first beat are left out")
    tempos += _tempo_words(m21_parts, tempos, tempo_words, change_beats)
    if bare_signatures:
        try:
            analysed_mode = m21_stream.analyze("key").mode  # once per piece, only when needed
        except Exception:  # music21 finds no likely key (too few notes): say major
            analysed_mode = "major"
        mode = "minor" if analysed_mode == "minor" else "major"
        # put first, so that an explicit Key at the same beat (listed later) wins in sorted_changes
        keys[:0] = [
            (
                i,
                ks.offset,
                Key(change_beats(ks.offset), ks.asKey(mode).tonic.pitchClass, mode, _tonic_name(ks.asKey(mode).tonic)),
            )
            for i, ks in bare_signatures
        ]

    metadata = m21_stream.metadata
    score = Score(
        parts=parts,
        tempos=sorted_changes([c for _, _, c in tempos], Tempo(0.0, 120.0)),
        meters=sorted_changes([c for _, _, c in meters], Meter(0.0, 4, 4)),
        keys=sorted_changes([c for _, _, c in keys], None),
        fermatas_beats=sorted(fermatas),
        chords=sorted(chords.values(), key=lambda c: c.start_beats),
        title=title or (metadata.bestTitle if metadata is not None else None) or "",
        composer=_composer(metadata),
    )
    if played is not None:
        score.tempos = _played_changes(played, tempos, change_beats, Tempo(0.0, 120.0), lambda t: t.bpm)
        score.meters = _played_changes(
            played, meters, change_beats, Meter(0.0, 4, 4), lambda m: (m.numerator, m.denominator)
        )
        score.keys = _played_changes(
            played, keys, change_beats, None, lambda k: (k.tonic, k.mode, k.tonic_name, k.modal)
        )
        score.repeats = [Repeat(beats(a), beats(b), c) for a, b, c in played.repeats]
    score.meters = _irregular_bars(score.meters, [beats(at) for at in _bar_lines(m21_parts, played)])
    # a section's dynamics: the first part's last mark where its label is or before (a marking
    # holds until the next; the MusicXML writer marks a section where its dynamics change)
    marking_beats = sorted(markings)

    def in_effect(at: float) -> str | None:
        k = bisect_right(marking_beats, at + 1e-6) - 1
        return markings[marking_beats[k]] if k >= 0 else None

    score.sections = _sections(score, [replace(s, dynamics=in_effect(s.start_beats)) for s in labels])
    return score


def _bar_lines(m21_parts: list, played: _Played | None) -> list[float]:
    """Where the first part's bars begin as played, and where the last ends (quarter lengths,
    before any pickup shift); none for a part without bars."""
    from music21 import stream

    if played is not None:
        return played.bounds[0]
    bars = list(m21_parts[0].getElementsByClass(stream.Measure))
    if not bars:
        return []
    return [float(m.offset) for m in bars] + [float(bars[-1].offset + bars[-1].duration.quarterLength)]


_MOST_BEATS_IN_A_BAR = 32  # a bar of more (a whole cadenza written as one bar) keeps the meter in force


def _irregular_bars(meters: list[Meter], lines: list[float]) -> list[Meter]:
    """`meters` with a change of meter for each bar that the file makes longer or shorter than
    its meter's (a miscounted bar of a folk tune, a bar of 2 beats in 3/4), and back after it, so
    that the bars after it begin where the file has them rather than across its beats. `lines`:
    where the bars begin as played, and where the last ends. Left as they are: the first bar (a
    pickup), the last, a bar that with the next makes one whole bar (a section's last bar and the
    next's pickup, or a repeat's), a length no meter of sixteenths writes (a bar a 32nd short), and
    a bar of more than 32 of its meter's beats. Two such bars in a row in one meter are one change."""
    out = list(meters)
    j = 1
    while j < len(lines) - 2:  # the bars between the first and the last
        start, length = lines[j], lines[j + 1] - lines[j]
        meter = [m for m in out if m.start_beats <= start + 1e-6][-1]
        bar = meter.bar_beats
        if not _on_grid(meter, start) or abs(length - bar) < 1e-6 or length < 1e-6:
            j += 1
            continue
        if abs(length + lines[j + 2] - lines[j + 1] - bar) < 1e-6:  # split across a section's end
            j += 2
            continue
        written = next(
            (
                Meter(start, round(length * den / 4), den)
                for den in (meter.denominator, 8, 16)
                if abs(length * den / 4 - round(length * den / 4)) < 1e-6
            ),
            None,
        )
        if written is not None and written.numerator <= _MOST_BEATS_IN_A_BAR:
            after = [m for m in out if abs(m.start_beats - lines[j + 1]) < 1e-6]
            out = [m for m in out if abs(m.start_beats - start) > 1e-6] + [written]
            if not after:
                out.append(Meter(lines[j + 1], meter.numerator, meter.denominator))
            out.sort(key=lambda m: m.start_beats)
        j += 1
    return [m for i, m in enumerate(out) if not i or not _restated(out[i - 1], m)]  # two short bars: one change


def _restated(before: Meter, meter: Meter) -> bool:
    """Whether `meter` says again what `before` says, on its grid of bars (one that is not
    begins the bars anew where it stands: after a bar too long for any meter, as music21 reads it)."""
    return str(meter) == str(before) and _on_grid(before, meter.start_beats)


def _on_grid(meter: Meter, at: float) -> bool:
    """Whether a bar of `meter` begins at `at` (counted from where the meter begins)."""
    return abs((at - meter.start_beats + 1e-6) % meter.bar_beats) < 2e-6


def _sections(score: Score, labels: list[Section]) -> list[Section]:
    """Section labels on the score's bar lines (cadenza.score.bar_starts), by start: one that
    is not on a bar line (a label over a pickup into the section: ABC's P:B before the notes
    leading into B's first bar) starts at the next bar line; one at beat 0 stays there (a label
    at the piece's start, over its pickup too, as keys and meters at offset 0 do). Of several
    at one bar line, the first given (the first part's); none at or after the last note's end."""
    if not labels:
        return []
    lines, end = bar_starts(score), score.end_beats
    by_start: dict[float, Section] = {}
    for section in labels:
        k = bisect_right(lines, section.start_beats + 1e-6) - 1
        at = lines[k] if k >= 0 and section.start_beats - lines[k] < 1e-6 else None
        if at is None:
            at = lines[k + 1] if k + 1 < len(lines) else end
        if at < end - 1e-6:
            by_start.setdefault(round(at, 6), replace(section, start_beats=at))
    return [section for _, section in sorted(by_start.items())]


def _chord_symbol(cs, chord_texts: dict[str, str]) -> ChordSymbol | None:
    """A music21 ChordSymbol as ours (at its written offset, 0), None for a "no chord" or an
    empty one. Read from its figure (music21's spelling, a flat as "-", back in ours), which
    for MusicXML music21 builds from the root, kind and bass; raises MusicError naming the
    symbol and its bar when cadenza cannot read it."""
    if "NoChord" in cs.classes:
        return None
    figure = str(cs.figure or "").strip()
    if not figure:
        return None
    spelled = re.sub(r"(^|/)([A-Ga-g])-", r"\1\2b", figure)
    try:
        if spelled in chord_texts:  # ABC: as the file wrote it
            return replace(parse_chord(spelled), text=chord_texts[spelled])
        read = parse_chord(spelled)  # a plain spelling (Asus4b7add9) is shown as ours (A9sus4)
        return _as_the_file_wrote_it(
            replace(read, text=chord_text(read) if spelled == plain_chord_text(read) else spelled), cs
        )
    except MusicError as e:
        built = _chord_from_parts(cs)  # a figure music21 wrote its own way ("G7 add b9", "Cpower")
        if built is None:
            bar = getattr(cs, "measureNumber", None)
            raise MusicError(f"bar {bar}: {e}" if bar is not None else str(e)) from None
        return _as_the_file_wrote_it(built, cs)


_M21_KINDS = {"dominant-seventh": "dominant", "minor-major-seventh": "major-minor"}
_M21_KINDS["half-diminished-seventh"] = "half-diminished"


def _as_the_file_wrote_it(chord: ChordSymbol, cs) -> ChordSymbol:
    """`chord` with the text a MusicXML <harmony> shows (its root, its <kind text="7sus4">, its
    bass), where that spells the same chord: music21's figure for it is its own ("Asus add b7",
    "Eø7" for a kind written m7b5). Else as it was."""
    shown = getattr(cs, "chordKindStr", None)
    if not isinstance(shown, str) or chord.text.startswith("("):
        return chord
    root = re.sub(r"-", "b", cs.root().name)
    bass = "/" + re.sub(r"-", "b", cs.bass().name) if chord.bass is not None and cs.bass() is not None else ""
    try:
        same = parse_chord(f"{root}{shown}{bass}")
    except MusicError:
        return chord
    return replace(chord, text=f"{root}{shown}{bass}") if same == chord else chord


def _chord_from_parts(cs) -> ChordSymbol | None:
    """Our ChordSymbol from music21's root, kind, bass and degree changes (as MusicXML's
    <harmony> gives them), None where they are not ours."""
    try:
        root, bass = cs.root().pitchClass, cs.bass().pitchClass if cs.bass() is not None else None
        alterations = []
        for step in cs.chordStepModifications:
            shift = int(round(step.interval.semitones)) if step.interval is not None else 0
            sign = {-1: "b", 0: "", 1: "#"}[shift]
            alterations.append(f"add{step.degree}" if step.modType == "add" and not sign else f"{sign}{step.degree}")
        kind = _M21_KINDS.get(cs.chordKind, cs.chordKind)
        return ChordSymbol(0.0, root, kind, None if bass == root else bass, "", tuple(alterations))
    except Exception:  # a kind, degree or alteration that is not ours, or no root
        return None


# ---------------------------------------------------------------------------------------------
# repeats: the music as played


@dataclass
class _Played:
    """How a piece's written bars are played: `order[j]` is the written bar (an index among the
    part's Measures, the same in every part) played j-th; per part, `starts[b]` is where
    written bar b begins and `bounds[j]` where played bar j begins (its last, where the last
    ends), in quarter lengths before any pickup shift. `repeats`: the simple repeats, as
    (start, end of the first pass, ending) in played quarter lengths."""

    order: list[int]
    starts: list[list[float]]
    bounds: list[list[float]]
    repeats: list[tuple[float, float, float]] = field(default_factory=list)
    plays: list[list[int]] = field(default_factory=list)  # written bar -> the played bars that are it

    def __post_init__(self) -> None:
        self.plays = [[] for _ in range(max(map(len, self.starts)))]
        for j, b in enumerate(self.order):
            self.plays[b].append(j)

    def places(self, part: int, offset) -> list[float]:
        """Where what is written at `offset` in a part is played: at each playing of its bar
        (what lies before the first bar, once, where it is)."""
        starts = self.starts[part]
        b = bisect_right(starts, float(offset) + 1e-9) - 1
        if b < 0:
            return [float(offset)]
        return [self.bounds[part][j] + float(offset) - starts[b] for j in self.plays[b]]

    def seam_bars(self) -> list[int]:
        """The played bars played after another than the bar written before them."""
        return [j for j in range(1, len(self.order)) if self.order[j] != self.order[j - 1] + 1]

    def seams(self, part: int) -> set[float]:
        return {round(self.bounds[part][j], 6) for j in self.seam_bars()}


_UNFOLD_MAX_BEATS = MAX_BEATS  # the most that unfolding may make of a piece, judged before unfolding


def _unfold(m21_stream, m21_parts: list) -> _Played | None:
    """How the piece is played, None when it has no repeat signs, voltas or D.C./D.S.

    music21's Expander (`Stream.expandRepeats`) decides the order the bars are played in, on a
    skeleton of each part: its bars, empty but for their repeat bar lines, voltas and repeat
    expressions (expanding the parts themselves deep-copies every note: ten times slower).
    Read as written, a piece loses nothing but its repeats; so where unfolding could lose or
    garble music, an Exception says why and the caller reads the piece as written: music21
    refuses the repeats, a written bar with notes is never played, the parts unfold to different
    bars, or the piece might play for more than MAX_BEATS (judged from the repeat signs before
    unfolding: a backward repeat to be played a million times).

    The simple repeats are found in the order the bars are played (`_simple_repeats`); none
    where the piece has a D.C. or D.S.
    """
    from music21 import stream

    marks = list(m21_stream.recurse().getElementsByClass(("RepeatMark", "RepeatBracket")))
    if not marks:
        return None
    commands = any("RepeatExpressionCommand" in m.classes for m in marks)
    bars = [list(part.getElementsByClass(stream.Measure)) for part in m21_parts]
    if not all(bars):
        raise ValueError("a part without bars")
    brackets = [m for m in marks if "RepeatBracket" in m.classes]
    endings = max((max(b.numberRange or [0]) for b in brackets), default=0)  # three endings: three passes
    bound = float(m21_stream.highestTime) * _unfold_factor(bars, endings) * (2 if commands else 1)
    if bound > _UNFOLD_MAX_BEATS:
        raise ValueError(f"played in full it might last {bound:,.0f} beats")
    order: list[int] = []
    unfolded: dict[tuple, list[int]] = {}  # parts marked alike are played alike
    for part_bars in bars:
        marked = _repeat_marks(part_bars, brackets)
        if marked not in unfolded:
            unfolded[marked] = _bar_order(part_bars, brackets)
        part_order = unfolded[marked]
        unplayed = set(range(len(part_bars))) - set(part_order)
        if any(part_bars[b].recurse().notes for b in unplayed):
            raise ValueError("a bar with notes would never be played")
        if order and part_order != order:
            raise ValueError("the parts unfold to different bars")
        order = part_order
    starts, bounds = [], []
    for part_bars in bars:
        part_starts = [float(m.offset) for m in part_bars]
        lengths = [b - a for a, b in zip(part_starts, part_starts[1:])]
        if any(length < 0 for length in lengths):
            raise ValueError("bars out of order")
        lengths.append(float(part_bars[-1].duration.quarterLength))
        part_bounds = [part_starts[order[0]]] if order else [0.0]
        for b in order:
            part_bounds.append(part_bounds[-1] + lengths[b])
        starts.append(part_starts)
        bounds.append(part_bounds)
    played = _Played(order, starts, bounds)
    if not commands:
        played.repeats = _simple_repeats(order, bounds[0], _brackets(bars[0], brackets), _section_starts(bars[0]))
    return played


def _unfold_factor(bars: list[list], endings: int = 0) -> int:
    """At most how many times a bar is played, from the repeat signs alone: each backward repeat
    plays its bars `times` times (2 unless it says; as many as the highest of `endings`, the
    voltas' numbers), and repeats inside repeats multiply (an end without a start is one level
    deep). `bars`: each part's Measures."""
    factor = 1
    for part_bars in bars:
        depth, most, times = 0, 0, max(2, endings)
        for m in part_bars:
            for barline in (m.leftBarline, m.rightBarline):
                if barline is None or "Repeat" not in barline.classes:
                    continue
                if barline.direction == "start":
                    depth += 1
                    most = max(most, depth)
                else:
                    times = max(times, barline.times or 2)
                    most, depth = max(most, depth or 1), max(depth - 1, 0)
        factor = max(factor, times ** max(most, 1))
    return factor


def _repeat_marks(bars: list, brackets: list) -> tuple:
    """What decides how a part's bars are played, bar by bar: its repeat bar lines, the voltas
    it stands under, its repeat expressions."""
    index = {id(m): i for i, m in enumerate(bars)}
    voltas: dict[int, list] = {}
    k = 0  # the part's brackets, counted in the piece's order
    for bracket in brackets:
        spanned = [index[id(m)] for m in bracket.getSpannedElements() if id(m) in index]
        for i in spanned:
            voltas.setdefault(i, []).append((k, tuple(bracket.numberRange)))
        k += bool(spanned)
    marks = []
    for i, m in enumerate(bars):
        lines = [getattr(m, side) for side in ("leftBarline", "rightBarline")]
        marks.append(
            (
                tuple(
                    (line.direction, line.times) if line is not None and "Repeat" in line.classes else None
                    for line in lines
                ),
                tuple(voltas.get(i, ())),
                tuple(type(e).__name__ for e in m.recurse().getElementsByClass("RepeatExpression")),
            )
        )
    return tuple(marks)


def _bar_order(bars: list, brackets: list) -> list[int]:
    """The written bar (an index in `bars`, a part's Measures) played at each step, as music21
    unfolds the part's repeats: on a skeleton of the part (see `_unfold`). `brackets`: the
    piece's RepeatBrackets (those spanning this part's bars are copied)."""
    import copy

    from music21 import bar, note, spanner, stream

    skeleton = stream.Part()
    copies = {}
    for m in bars:
        empty = stream.Measure(number=m.number)
        empty.numberSuffix = m.numberSuffix
        empty.append(note.Rest(quarterLength=1))  # the Expander plays the bars; their lengths are ours
        for side in ("leftBarline", "rightBarline"):
            line = getattr(m, side)
            if line is not None and "Repeat" in line.classes:
                times = line.times if line.direction == "end" else None
                setattr(empty, side, bar.Repeat(direction=line.direction, times=times))
        for expression in m.recurse().getElementsByClass("RepeatExpression"):
            empty.insert(0.0, copy.deepcopy(expression))
        skeleton.append(empty)
        copies[id(m)] = empty
    empties = list(copies.values())
    voltas = _brackets(bars, brackets)
    for k, bracket in enumerate(brackets):
        spanned = [empties[b] for b in sorted(voltas) if voltas[b] == k]
        if spanned:
            skeleton.insert(0.0, spanner.RepeatBracket(spanned, number=list(bracket.numberRange)))
    for b in _implied_starts(bars, voltas):
        empties[b].leftBarline = bar.Repeat(direction="start")
    index = {id(m): i for i, m in enumerate(empties)}
    order = []
    for m in skeleton.expandRepeats().getElementsByClass(stream.Measure):
        origin: Any = m
        while origin is not None and id(origin) not in index:
            origin = origin.derivation.origin
        if origin is None:
            raise ValueError("a bar played is none written")
        order.append(index[id(origin)])
    return order


def _brackets(bars: list, brackets: list) -> dict[int, int]:
    """Written bar index (in `bars`, a part's Measures) -> the volta it stands under (the
    bracket's place among the piece's `brackets`): every bar from the bracket's first to its
    last (music21 keeps only those two of an ABC volta)."""
    index = {id(m): i for i, m in enumerate(bars)}
    out: dict[int, int] = {}
    for k, bracket in enumerate(brackets):
        spanned = [index[id(m)] for m in bracket.getSpannedElements() if id(m) in index]
        out |= {b: k for b in range(min(spanned), max(spanned) + 1)} if spanned else {}
    return out


def _section_starts(bars: list) -> set[int]:
    """The written bars that begin a section: after a double, final or repeat bar line, or
    with one on their left."""
    plain = (None, "regular", "dotted", "dashed", "tick", "short", "none")
    out = set()
    for i, m in enumerate(bars):
        lines = [m.leftBarline, bars[i - 1].rightBarline if i else None]
        if any(line is not None and ("Repeat" in line.classes or line.type not in plain) for line in lines):
            out.add(i)
    return out


def _implied_starts(bars: list, voltas: dict[int, int]) -> list[int]:
    """The bars where a repeat begins though no start repeat sign is written there: a backward
    repeat with none since the one before it goes back to the bar after that one (after its
    voltas), not to the first bar as music21 has it (in ABC, A :| B :| is played A A B B)."""
    out = []
    after_end, open_start = None, False  # the bar after the last backward repeat
    for i, m in enumerate(bars):
        for line, last in ((m.leftBarline, i - 1), (m.rightBarline, i)):
            if line is None or "Repeat" not in line.classes:
                continue
            if line.direction == "start":
                open_start = True
                continue
            if not open_start and after_end is not None:
                b = after_end
                while b in voltas and b <= last:
                    b += 1
                left = bars[b].leftBarline if b < len(bars) else None
                if b <= last and (left is None or "Repeat" not in left.classes):
                    out.append(b)
            open_start, after_end = False, last + 1
    return out


def _simple_repeats(
    order: list[int], bounds: list[float], voltas: dict[int, int], sections: set[int]
) -> list[tuple[float, float, float]]:
    """The simple repeats in the order bars are played (`order`: written bar indices), as
    (start, end of the first pass, ending) in quarter lengths, `bounds[j]` being where played
    bar j begins (the last, where the piece ends). `voltas` and `sections`: see `_brackets`
    and `_section_starts`.

    A repeat is where a written bar is played again right after the bars from its last playing
    on: a pass played twice, no more (a third pass or a third ending, or a repeat inside one
    beginning on the same bar, is left out), the second pass the same bars as the first but
    for their endings. The first ending: the bars of the first pass under a volta; the second:
    as long (whole bars), beginning with a bar under another volta, and going on over the bars
    written after it up to the end of the section (music21 reads every ABC second ending as
    one bar). Endings of unequal length are left out, but for a first ending cut short for the
    pickup that opens the pass (`|:d|... |1 G3 G2:|2 G3 G3|]` in 6/8: the first ending and the
    pickup fill a bar): its second pass ends as far into the second ending as the first ending
    is long, and the rest of the second ending follows the repeat.
    """
    passes = []  # (first pass's first played bar, second pass's first played bar)
    for k in range(1, len(order)):
        if order[k] <= order[k - 1]:
            passes.append((max(j for j in range(k) if order[j] == order[k]), k))
    chained = {k for _, k in passes} & {p for p, _ in passes}  # bars beginning a pass played three times
    repeats = []
    for p, k in passes:
        if p in chained or k in chained:
            continue
        n, d = k - p, 0
        while d < n and k + d < len(order) and order[k + d] == order[p + d]:
            d += 1
        if d == n:
            repeats.append((bounds[p], bounds[k], 0.0))
            continue
        first = order[p + d : k]
        if not d or k + d >= len(order) or any(b not in voltas for b in first):
            continue
        volta = voltas.get(order[k + d])
        if volta is None or volta in {voltas[b] for b in first}:
            continue
        ending = bounds[k] - bounds[p + d]
        end, length = k + d, 0.0
        while end < len(order) and length < ending - 1e-6:
            b = order[end]
            if end > k + d and (b != order[end - 1] + 1 or voltas.get(b, volta) != volta or b in sections):
                break
            length += bounds[end + 1] - bounds[end]
            end += 1
        pickup = bounds[p + 1] - bounds[p] if p + 1 < len(bounds) else 0.0  # the pass's first bar
        if abs(length - ending) < 1e-6 or (d and abs(length - ending - pickup) < 1e-6 and pickup < length):
            repeats.append((bounds[p], bounds[k], ending))  # a second ending one pickup longer: it goes on after
    return repeats


def _played_changes(played: _Played, changes: list[tuple[int, Any, Any]], at, default, value) -> list:
    """Tempos, meters or keys ((part, written offset, change) as read) as played: each at every
    playing of its bar; at each bar played after another than the one written before it, the
    change in effect where that bar is written (`default` before the first), unless the bar has
    its own; and none that changes nothing (the same again, as a pass played again restates
    its first bar's)."""
    from dataclasses import replace

    written = sorted(changes, key=lambda c: float(c[1]))  # stable: a bare key signature before a Key
    out = []
    for j in played.seam_bars():
        start = played.starts[0][played.order[j]]
        before = [change for _, offset, change in written if float(offset) <= start + 1e-9] or [default]
        if before[-1] is not None:
            out.append(replace(before[-1], start_beats=at(played.bounds[0][j])))
    for part, offset, change in changes:
        out += [replace(change, start_beats=at(place)) for place in played.places(part, offset)]
    result = sorted_changes(out, default)
    return [c for i, c in enumerate(result) if not i or value(c) != value(result[i - 1])]


def _unfold_problem(e: Exception) -> str:
    """Why a piece's repeats were not unfolded, in a few words."""
    if isinstance(e, ValueError) and str(e):
        return str(e)
    return "music21 finds its repeat signs, voltas or D.C./D.S. badly formed"


def _composer(metadata) -> str:
    """The piece's composer from music21's metadata ("" when it names none). music21 writes
    "Music21" (music21.defaults.author) as the composer of a file it exports without one: that
    placeholder names nobody."""
    from music21 import defaults

    composer = getattr(metadata, "composer", None) if metadata is not None else None
    composer = composer.strip() if isinstance(composer, str) else ""
    return "" if composer == defaults.author else composer


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


def _tied_notes(
    flat,
    places=None,
    seams: set[float] | None = None,
    marked: dict[int, tuple[int, tuple[str, ...]]] | None = None,
    part=None,
) -> list[tuple[int, Any, Any, int, tuple[str, ...]]]:
    """(pitch, offset, quarter length, velocity, marks) of each sounding note in a flat stream,
    with notes joined across ties (start, continue..., stop) of the same pitch. A note's
    velocity is the one music21 gives it, else the one its markings give it (`marked`, by the
    id of the note, see `_markings`), else 80; its marks are its markings' (none if not given).
    A note joined across ties keeps the velocity and marks of its first piece, but for its
    place in a slur, which is its last piece's ("slur-end" when the slur ends on a tied note).

    Done here rather than by music21's stripTies, which split in two a start-continue-stop
    chain held in a second voice (in a file music21 itself had written).

    A grace note (or chord) is GRACE_NOTE_BEATS long and marked "grace", the last of those
    written before a note in its voice (of `part`, the music21 part `flat` flattens) ending
    where that note begins; it takes the velocity the file gives it, else its note's.

    Unfolded (see `_unfold`), `places(offset)` gives where what is written at an offset is
    played; at `seams` (where a bar is played after another than the one written before it: a
    second ending after the bar before the first) a tie goes on into the note of its pitch
    that begins there, though that note, written after another bar, has no tie from it.
    """
    from music21 import chord, note

    seams = seams or set()
    places = places or (lambda offset: [offset])
    marked = marked or {}
    pieces = []  # (offset, pitch, length, tie type, velocity, marks)
    grace_notes = []  # (offset, grace note or chord), in order
    for el in flat.notes:
        if el.duration.isGrace or el.quarterLength <= 0:
            if el.duration.isGrace and "Harmony" not in el.classes and el.pitches:  # not a chord symbol
                grace_notes.append((el.offset, el))
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
            by_marks, marks = marked.get(id(n), (80, ()))
            velocity = by_marks if velocity is None else int(velocity)
            pieces += [(at, n.pitch.midi, el.quarterLength, tie, velocity, marks) for at in places(el.offset)]
    # the first note's velocity at each offset, for a grace note the file gives none
    loudness = {round(float(p[0]), 6): p[4] for p in reversed(pieces)} if grace_notes else {}
    # by voice: after `flat` is read, as reaching the notes through their measures changes what
    # music21 gives as their offset (the measure's, not the flat stream's)
    voice_of = _voices([part]) if grace_notes and part is not None else {}
    graces: dict[tuple[Any, str], list] = {}  # (offset, voice) -> the grace notes and chords written there
    for offset, el in grace_notes:
        graces.setdefault((offset, voice_of.get(id(el), "")), []).append(el)
    for (offset, _), written in graces.items():  # each GRACE_NOTE_BEATS long, the last ending on its note
        for k, el in enumerate(written):
            before = GRACE_NOTE_BEATS * (len(written) - k)
            for n, at in (
                (n, at) for n in (el.notes if isinstance(el, chord.Chord) else [el]) for at in places(offset)
            ):
                velocity = n.volume.velocity if n.volume.velocity is not None else el.volume.velocity
                velocity = loudness.get(round(float(at), 6), 80) if velocity is None else int(velocity)
                pieces.append((at - before, n.pitch.midi, GRACE_NOTE_BEATS, None, velocity, ("grace",)))
    pieces.sort(key=lambda p: p[0])

    result: list[list] = []  # [pitch, offset, length, velocity, marks]
    open_ties: dict[int, int] = {}  # pitch -> index in result of a note whose tie goes on
    for offset, pitch, length, tie, velocity, marks in pieces:
        if not 0 <= pitch <= 127:
            continue
        i = open_ties.get(pitch)
        tied = tie in ("stop", "continue") or (round(float(offset), 6) in seams and "grace" not in marks)
        if tied and i is not None and abs(result[i][1] + result[i][2] - offset) < 1e-6:
            result[i][2] += length
            if _SLUR_MARKS & set(marks):  # the slur goes on, or ends, where the tied note does
                kept = [m for m in result[i][4] if m not in _SLUR_MARKS] + [m for m in marks if m in _SLUR_MARKS]
                result[i][4] = tuple(m for m in MARKS if m in kept)
        else:
            i = len(result)
            result.append([pitch, offset, length, velocity, marks])
        if tie in ("start", "continue"):
            open_ties[pitch] = i
        elif open_ties.get(pitch) == i:
            del open_ties[pitch]
    return [tuple(r) for r in result]


def _tonic_name(pitch) -> str:
    """music21's tonic spelling in ours: 'B-' -> 'Bb', 'C#' -> 'C#' (Key keeps it when it fits)."""
    return str(pitch.name).replace("-", "b")


# ---------------------------------------------------------------------------------------------
# markings: what a performer reads off the page beyond the notes

_NO_DYNAMIC = VELOCITY["mf"]  # a part before its first dynamic marking, and a piece without any
_STEP = 16  # one marking step in VELOCITY (p 49, mp 64, mf 80, f 96): an accent, a hairpin without a goal
_LEVELS = {
    **VELOCITY,
    **{"p" * k: VELOCITY["ppp"] for k in range(4, 7)},
    **{"f" * k: VELOCITY["fff"] for k in range(4, 7)},
}
# sforzandi: an accent on the notes where they stand, in marking steps; the level goes on
_SFORZANDI = {"sf": 1, "sfz": 1, "fz": 1, "rf": 1, "rfz": 1, "sff": 2, "sffz": 2, "sfffz": 2}
_FORTE_PIANO = re.compile(r"(s?)(f+)(z?)(p+)")  # fp, sfp, sfpp, fzp: loud where it stands, then soft
_HAIRPIN_REACH = 4.0  # quarter notes past a hairpin's end where the marking it leads to may stand
# a music21 articulation's class name -> the marks it gives (those not here are not played)
_ARTICULATION_MARKS = {
    "Staccato": ("staccato",),
    "Staccatissimo": ("staccatissimo",),
    "Spiccato": ("staccato",),
    "Tenuto": ("tenuto",),
    "DetachedLegato": ("staccato", "tenuto"),  # portato: a dot under a line
    "Accent": ("accent",),
    "StrongAccent": ("marcato",),
}
_ACCENT_STEPS = {"accent": 1, "marcato": 2}
_SLUR_MARKS = {"slur", "slur-end"}


def _markings(m21_stream, m21_parts: list, flats: list) -> dict[int, tuple[int, tuple[str, ...]]]:
    """The velocity and marks the markings give each written note: id of the music21 Note (a
    chord's notes each) -> (velocity, marks, in MARKS' order). `flats`: the parts flattened.

    - Dynamics (music21 Dynamic, ppp..fff at VELOCITY's numbers, pppp and beyond as ppp, ffff
      and beyond as fff) set the level of every later note of their instrument: a part, or the
      staves of one (music21 reads a MusicXML piano part as two PartStaffs, and a marking under
      one staff is for both hands, as MuseScore plays it). Before an instrument's first marking
      it plays mf (80), as a piece without any does.
    - Sforzandi (sf, sfz, fz, rf, rfz; sff, sffz: two steps) are accents on the notes where they
      stand (the "accent" mark, "marcato" for two steps); the level goes on unchanged. fp plays
      the notes where it stands f, then p; sfp, sfpp, fzp: an accent, then p, pp.
    - Hairpins (Crescendo, Diminuendo) ramp the level linearly over the music they span, from
      the level where they begin to the next marking (if it stands before the hairpin's end or
      up to _HAIRPIN_REACH quarters after it, and goes the hairpin's way), else one step (16)
      up or down; the level reached holds until the next marking.
    - Accents: "accent" one step (16) louder than the level, "marcato" two; with a sforzando
      on the same note, the larger. Velocities stay within 1..127.
    - Articulations: staccato, staccatissimo, tenuto (spiccato is read as staccato, a portato
      as staccato and tenuto).
    - Slurs: each note under a slur in its voice (all voices of the staff where music21 has
      none) gets "slur", the notes where it ends "slur-end"; a note that ends one slur and
      goes on under another has both.
    """
    groups = _instrument_groups(m21_parts)
    where: dict[int, tuple[int, float, float]] = {}  # id(Note or Chord) -> (part, offset, quarter length)
    elements: list[list] = [[] for _ in m21_parts]  # per part, (offset, element) in offset order
    graces: list[tuple[tuple[str, ...], int, float]] = []  # (pitches, part, offset) of each grace note
    for i, flat in enumerate(flats):
        for el in flat.notes:
            if el.duration.isGrace or el.quarterLength <= 0:
                graces.append((tuple(p.nameWithOctave for p in el.pitches), i, float(el.offset)))
                continue
            offset = float(el.offset)
            where[id(el)] = (i, offset, float(el.quarterLength))
            elements[i].append((offset, el))
    if not where:
        return {}
    marks: dict[int, set[str]] = {}  # id(Note or Chord) -> its marks
    for part_elements in elements:
        for _, el in part_elements:
            found = _marks_of(el.articulations)
            if found:
                marks[id(el)] = found
    spanners = list(m21_stream.recurse().getElementsByClass(("Slur", "DynamicWedge")))
    voices = _voices(m21_parts) if any("Slur" in sp.classes for sp in spanners) else {}

    # dynamics and hairpins, per instrument
    levels: dict[int, list[tuple[float, int]]] = {}  # group -> (offset, velocity) of each marking
    onsets: dict[int, list[tuple[float, str, int]]] = {}  # group -> (offset, what, value): sforzandi, fp
    for i, flat in enumerate(flats):
        for dynamic in flat.getElementsByClass("Dynamic"):
            value, offset = str(dynamic.value).strip(), float(dynamic.offset)
            forte_piano = _FORTE_PIANO.fullmatch(value)
            if value in _LEVELS:
                levels.setdefault(groups[i], []).append((offset, _LEVELS[value]))
            elif value in _SFORZANDI:
                onsets.setdefault(groups[i], []).append((offset, "sforzando", _SFORZANDI[value]))
            elif forte_piano:
                accented = bool(forte_piano[1] or forte_piano[3])
                onsets.setdefault(groups[i], []).append(
                    (offset, "sforzando", 1) if accented else (offset, "fp", _LEVELS[forte_piano[2]])
                )
                levels.setdefault(groups[i], []).append((offset, _LEVELS[forte_piano[4]]))
    hairpins: dict[int, list[tuple[float, float, int]]] = {}  # group -> (start, end, +1 or -1)
    slurs = []
    for sp in spanners:
        named = sp.getSpannedElements()
        placed = [_place(e, where, m21_parts) for e in named]
        if None in placed:  # perhaps a grace note music21 copied into the measure (_grace_place)
            before = min((s[1] for s in placed if s is not None), default=float("inf"))
            placed = [s if s is not None else _grace_place(e, graces, before) for e, s in zip(named, placed)]
        spanned = [s for s in placed if s is not None]
        if not spanned:
            continue
        if "Slur" in sp.classes:
            slurs.append((sp, spanned))
            continue
        start, end = min(s[1] for s in spanned), max(s[1] + s[2] for s in spanned)
        sign = 1 if "Crescendo" in sp.classes else -1 if "Diminuendo" in sp.classes else 0
        if sign and end > start:
            hairpins.setdefault(groups[spanned[0][0]], []).append((start, end, sign))

    # slurs
    for sp, spanned in slurs:
        first, last = min(s[1] for s in spanned), max(s[1] for s in spanned)
        if last - first < 1e-6:
            continue
        in_voices = {voices.get(id(e), "") for e in sp.getSpannedElements()}
        for part in sorted({s[0] for s in spanned}):
            offsets = [offset for offset, _ in elements[part]]
            for offset, el in elements[part][bisect_right(offsets, first - 1e-6) : bisect_right(offsets, last + 1e-6)]:
                voice = voices.get(id(el), "")
                if voice and "" not in in_voices and voice not in in_voices:
                    continue
                marks.setdefault(id(el), set()).add("slur-end" if offset > last - 1e-6 else "slur")

    # velocities
    curves = {g: _dynamics_curve(levels.get(g, []), hairpins.get(g, [])) for g in set(groups)}
    at_onset: dict[tuple[int, float], tuple[str, int]] = {}  # (group, onset) -> ("sforzando", steps), ("fp", velocity)
    for g, marked_onsets in onsets.items():
        starts = sorted({offset for i, part in enumerate(elements) if groups[i] == g for offset, _ in part})
        for offset, kind, amount in marked_onsets:
            k = bisect_right(starts, offset - 1e-6)  # the notes where it stands, else the next within a beat
            if k < len(starts) and starts[k] < offset + 1.0:
                at_onset[g, round(starts[k], 6)] = (kind, amount)
    out: dict[int, tuple[int, tuple[str, ...]]] = {}
    for i, part_elements in enumerate(elements):
        g = groups[i]
        for offset, el in part_elements:
            level, sforzando = curves[g](offset), 0
            kind, amount = at_onset.get((g, round(offset, 6)), ("", 0))
            if kind == "sforzando":  # over the level before it (an sfp's p comes after)
                level, sforzando = curves[g](offset - 1e-6), amount
            elif kind == "fp":
                level = float(amount)
            for n in el.notes if el.isChord else [el]:
                found = marks.get(id(el), set()) | _marks_of(n.articulations if n is not el else ())
                steps = max([sforzando] + [_ACCENT_STEPS.get(m, 0) for m in found])
                if sforzando:
                    found.add("marcato" if sforzando > 1 else "accent")
                velocity = min(127, max(1, round(level + _STEP * steps)))
                out[id(n)] = (velocity, tuple(m for m in MARKS if m in found))
    return out


def _marks_of(articulations) -> set[str]:
    """The marks music21's articulations give (those a performer here plays)."""
    return {m for a in articulations for m in _ARTICULATION_MARKS.get(type(a).__name__, ())}


def _instrument_groups(m21_parts: list) -> list[int]:
    """The instrument of each part, as the index of its first part: the staves music21 makes of
    one MusicXML part (PartStaffs whose ids are the part's id and "-Staff1", "-Staff2", ...)
    are one instrument; every other part is its own."""
    first: dict[str, int] = {}
    out = []
    for i, part in enumerate(m21_parts):
        m = re.fullmatch(r"(.+)-Staff\d+", str(part.id)) if "PartStaff" in part.classes else None
        out.append(first.setdefault(m[1], i) if m else i)
    return out


def _hand_names(m21_parts: list) -> dict[int, str]:
    """Part index -> "Right hand" or "Left hand" (PIANO_HANDS) for the two staves of a piano
    part (a General MIDI piano's program, or with no program a part named as a piano or not named
    at all, _NO_NAME: a harp's or a closed-score choir's two staves keep their name), as cadenza
    names a piano's hands and its
    MusicXML writer writes them."""
    groups = _instrument_groups(m21_parts)
    out: dict[int, str] = {}
    for first in set(groups):
        staves = [i for i, g in enumerate(groups) if g == first]
        instrument = m21_parts[first].getInstrument(returnDefault=False)
        program = getattr(instrument, "midiProgram", None)
        name = (m21_parts[first].partName or "").strip().lower()
        named = name in PIANO_NAMES or bool(_NO_NAME.fullmatch(name))
        if len(staves) == 2 and (program in PIANOS if program is not None else named):
            out.update(zip(staves, PIANO_HANDS))
    return out


PIANO_NAMES = {"piano", "pno.", "pno", "pianoforte", "klavier", "grand piano", "acoustic grand piano"}
# a part name that names no instrument: none, or an exporter's placeholder (music21 puts the
# instrument's "Midi_1" for an empty <part-name>, and loses its <midi-program>: 31 of ASAP's 220
# piano scores): a part of two staves so named is a piano's
_NO_NAME = re.compile(r"|midi[_ ]?\d*|musicxml part|p\d+|part \d+|\d+\.?|instrument \d*")


def _voices(m21_parts: list) -> dict[int, str]:
    """id of each Note and Chord in a music21 Voice -> the voice's id (notes in a bar without
    voices are not listed: that bar has one)."""
    out: dict[int, str] = {}
    for part in m21_parts:
        for measure in part.getElementsByClass("Measure"):
            for voice in measure.voices:
                out.update((id(el), str(voice.id)) for el in voice.notes)
    return out


def _place(element, where: dict[int, tuple[int, float, float]], m21_parts: list) -> tuple[int, float, float] | None:
    """(part, offset, quarter length) of an element a spanner spans: a note or chord (`where`),
    or another thing in a part (a rest, a grace note, a SpannerAnchor music21 puts where a
    hairpin ends without a note); None if in none."""
    if id(element) in where:
        return where[id(element)]
    for i, part in enumerate(m21_parts):
        try:
            return i, float(element.getOffsetInHierarchy(part)), float(element.quarterLength)
        except Exception:  # music21's SitesException: not in this part
            continue
    return None


def _grace_place(element, graces: list[tuple[tuple[str, ...], int, float]], before: float):
    """(part, offset, 0) of a grace note a spanner names but the score does not hold: music21's
    MusicXML reader puts a copy of a grace note in the measure, and a hairpin that begins on it
    (a wedge written before a grace note, as MuseScore writes it) keeps the original. The copy is
    the last grace note of the same pitches at or before the spanner's other notes; None if the
    element is no grace note or none matches."""
    if getattr(element, "quarterLength", 1) != 0 or not hasattr(element, "pitches"):
        return None
    pitches = tuple(p.nameWithOctave for p in element.pitches)
    matches = [(offset, part) for names, part, offset in graces if names == pitches and offset <= before + 1e-6]
    if not matches:
        return None
    offset, part = max(matches)
    return part, offset, 0.0


def _dynamics_curve(levels: list[tuple[float, int]], hairpins: list[tuple[float, float, int]]):
    """The level (a velocity) at each offset of an instrument, from its markings ((offset,
    velocity)) and hairpins ((start, end, +1 crescendo or -1 diminuendo)), as `_markings` says."""
    levels = sorted(levels, key=lambda m: m[0])
    pieces: list[tuple[float, float, float, float]] = []  # (start, end, level at start, level at end and after)
    starts: list[float] = []

    def level(at: float) -> float:
        k = bisect_right(starts, at + 1e-9) - 1
        if k < 0:
            return float(_NO_DYNAMIC)
        start, end, first, last = pieces[k]
        return last if at >= end or end <= start else first + (last - first) * (at - start) / (end - start)

    events = sorted(
        [(offset, 0, float(v), 0.0) for offset, v in levels] + [(a, 1, float(sign), b) for a, b, sign in hairpins],
        key=lambda e: e[:2],
    )
    marked = [offset for offset, _ in levels]
    for offset, kind, value, end in events:
        if kind == 0:
            pieces.append((offset, offset, value, value))
        else:
            first = level(offset)
            k = bisect_right(marked, offset + 1e-6)  # the next marking
            goal, reach = first + value * _STEP, end
            if k < len(levels) and levels[k][0] <= end + _HAIRPIN_REACH and (levels[k][1] - first) * value > 0:
                goal, reach = float(levels[k][1]), min(end, levels[k][0])
            goal = min(float(VELOCITY["fff"]), max(float(VELOCITY["ppp"]), goal))
            pieces.append((offset, reach, first, goal))
        starts.append(offset)
    return level


# tempo words: a gradual or relative change (not read as a tempo), and what a text says
_GRADUAL_TEMPO = (
    r"rit|ritard|ritardando|riten|ritenuto|rall|rallentando|allarg|allargando|slentando|calando|smorz|smorzando|morendo"
)
_TEXT_KINDS = (
    (re.compile(rf"\b({_GRADUAL_TEMPO})\b"), "rit. text"),
    (re.compile(r"\b(accel|accelerando|stringendo|stretto|incalzando)\b"), "accel. text"),
    (re.compile(r"\b(cresc|crescendo)\b"), "cresc. text"),
    (re.compile(r"\b(dim|dimin|diminuendo|decresc|decrescendo)\b"), "dim. text"),
    (re.compile(r"\b(più|piu|meno|tempo (i|primo|1)|slower|faster|slow down|speed up)\b"), "tempo text"),
    (re.compile(r"^\s*(ped|pedal|con ped|senza ped)\b"), "pedal marking"),
)


def _text_kind(text: str) -> str | None:
    """What a text direction asks for that the reader does not play ("rit. text", "cresc. text",
    "tempo text" for a relative tempo such as "più mosso" or "Tempo I"), None if nothing."""
    words = re.sub(r"[^\w\s]", " ", str(text or "").lower())
    return next((name for pattern, name in _TEXT_KINDS if pattern.search(words)), None)


def _tempo_words(m21_parts: list, tempos: list, words: list, change_beats) -> list[tuple[int, Any, Tempo]]:
    """The tempos of tempo words without a number ((part, written offset, bpm)), as `tempos`
    has them (part, written offset, Tempo): those not in a bar with a MetronomeMark that has a
    number (in `tempos`, one that says the same, such as MusicXML's <sound tempo> beside
    "Andante"). A word in the first bar is the piece's tempo from its start (it may stand over
    a note after a rest, its first note in its part)."""
    from music21 import stream

    starts = [[float(m.offset) for m in part.getElementsByClass(stream.Measure)] for part in m21_parts]

    def bar(part: int, offset) -> int | float:  # the bar an offset is in; the offset itself where a part has no bars
        return bisect_right(starts[part], float(offset) + 1e-9) - 1 if starts[part] else float(offset)

    numbered = {bar(i, offset) for i, offset, _ in tempos}
    out = []
    for i, offset, bpm in words:
        if bar(i, offset) not in numbered:
            offset = 0 if starts[i] and bar(i, offset) <= 0 else offset
            out.append((i, offset, Tempo(change_beats(offset), bpm)))
    return out


def _tempo_word(text: str) -> float | None:
    """Quarter notes a minute for tempo words without a number ("Allegro", "Andante con moto",
    "Adagio."), at music21's number for them (`tempo.defaultTempoValues`, through
    `TempoText.getMetronomeMark`); None for other text, and for a gradual or relative change
    ("rit.", "accel.", "più lento", "Tempo I", "a tempo"), which are not played."""
    from music21 import tempo

    words = re.sub(r"[^\w\s]", " ", str(text or "")).strip()
    if not words or len(words) > 60 or _text_kind(words) or re.search(r"\ba tempo\b", words.lower()):
        return None
    number = tempo.TempoText(words).getMetronomeMark().number
    return float(number) if number else None


# ---------------------------------------------------------------------------------------------
# what the performer does not play

# music21 class (a name among an object's `classes`) -> a plain name, for what a note carries or
# a spanner marks that the reader does not turn into notes, velocities, marks or tempos; the
# first that applies names it. None: not counted (a fingering is no sound; an ottava is read at
# its sounding pitch; a trill's wavy line is its trill's).
_UNPLAYED = (
    ("Fermata", None),
    ("Fingering", None),
    ("StringIndication", None),
    ("FretIndication", None),
    ("TrillExtension", None),
    ("Trill", "trill"),
    ("GeneralMordent", "mordent"),
    ("Turn", "turn"),
    ("GeneralAppoggiatura", "appoggiatura"),
    ("Schleifer", "schleifer"),
    ("Tremolo", "tremolo"),
    ("TremoloSpanner", "tremolo"),
    ("ArpeggioMark", "arpeggio"),
    ("ArpeggioMarkSpanner", "arpeggio"),
    ("Glissando", "glissando"),
    ("PedalMark", "pedal marking"),
    ("BreathMark", "breath mark"),
    ("Caesura", "caesura"),
)
_PLAYED_SPANNERS = {"Slur", "DynamicWedge", "RepeatBracket", "StaffGroup", "Ottava", "MultiMeasureRest", "Line"}
# ABC decorations music21 drops (!name! or +name+) -> a plain name ("crescendo(" and
# "diminuendo(" it reads; the others are named as written)
_ABC_NAMES = {
    **dict.fromkeys(["trill", "trill(", "tr"], "trill"),
    **dict.fromkeys(["mordent", "lowermordent", "uppermordent", "pralltriller", "prall"], "mordent"),
    **dict.fromkeys(["turn", "turnx", "invertedturn", "invertedturnx"], "turn"),
    **dict.fromkeys(["accent", "emphasis", ">"], "accent"),
    **dict.fromkeys(["<(", "crescendo", "cresc"], "crescendo hairpin"),
    **dict.fromkeys([">(", "diminuendo", "decrescendo(", "decresc", "dim"], "diminuendo hairpin"),
    **dict.fromkeys(["upbow", "downbow"], "bowing"),
    "breath": "breath mark",
    "wedge": "staccatissimo",
    "tenuto": "tenuto",
    "arpeggio": "arpeggio",
    "roll": "roll",
    "slide": "slide",
}
_ABC_PLAYED = {"crescendo(", "diminuendo(", "fermata", "invertedfermata"}  # (fermatas: abc_text._abc_fermatas)
_ABC_LETTERS = {"T": "trill", "~": "roll", "L": "accent", "P": "mordent", "u": "bowing", "v": "bowing"}


def unsupported_markings(path: str | Path, marks: bool = False) -> dict[str, int]:
    """The notations in a MusicXML, ABC or kern file that cadenza reads but does not play, by a
    plain name, most frequent first: {"trill": 3, "arpeggio": 2}, so that a performance can say
    "played what it could; skipped: trill x3, arpeggio x2". Empty when everything is played.
    With `marks`, also those it plays but does not write back as marks (the written file keeps
    them as its notes' loudness): "dynamics mark" (sf, sfz, fp ..., pppp, ffff ...; ppp to fff
    are written back, Part.dynamics) and "hairpin".

    Counted: ornaments (trill, mordent, turn, appoggiatura, tremolo), arpeggios, glissandos,
    pedal markings, breath marks and caesuras, other articulations (bowings, "stress", ...;
    not fingerings), grace notes on a piece's very first note (the reader leaves them out: they
    would begin before beat 0), dynamics it does not know ("dynamic
    n"), text asking for what is not played ("rit. text", "accel. text", "cresc. text", "dim.
    text", "tempo text" for "più mosso", "Tempo I"), and in ABC the decorations music21 drops
    (accents, trills, bowings ...; its dynamics and fermatas are read). Parses the file again (about as long as
    reading it); raises InputError as `read_with_music21` does.
    """
    path = Path(path)
    pieces, fmt, data, _, _ = _music21_pieces(path)
    counts: Counter[str] = Counter()
    with quiet():
        for piece in pieces:
            parts = list(getattr(piece, "parts", [])) or [piece]
            opens_on_its_bar = not _pickup_shift(parts)  # a grace on its first note would begin before beat 0
            for el in piece.recurse():
                classes = el.classes
                if "GeneralNote" in classes:
                    if opens_on_its_bar and el.duration.isGrace and not el.isRest and "Harmony" not in classes:
                        if el.getOffsetInHierarchy(piece) == 0:  # left out by the reader: music21_to_score
                            counts["grace note on the first note"] += 1
                    things = [*el.expressions, *el.articulations]
                    things += [x for n in (el.notes if el.isChord else []) for x in (*n.expressions, *n.articulations)]
                    for thing in things:
                        if type(thing).__name__ not in _ARTICULATION_MARKS and "TextExpression" not in thing.classes:
                            name = _unplayed_name(thing)
                            counts.update([name] if name else [])
                elif "Dynamic" in classes:
                    value = str(el.value).strip()
                    if value not in _LEVELS and value not in _SFORZANDI and not _FORTE_PIANO.fullmatch(value):
                        counts[_text_kind(value) or f"dynamic {value}"] += 1
                    elif marks and value not in VELOCITY:  # ppp..fff are written back (Part.dynamics)
                        counts["dynamics mark"] += 1
                elif "TextExpression" in classes or "TempoText" in classes:
                    kind = _text_kind(el.content if "TextExpression" in classes else el.text)
                    counts.update([kind] if kind else [])
                elif "Spanner" in classes and not _PLAYED_SPANNERS & set(classes):
                    name = _unplayed_name(el)
                    counts.update([name] if name else [])
                elif marks and "DynamicWedge" in classes:
                    counts["hairpin"] += 1
    if fmt == "abc":
        counts.update(_abc_unplayed(_text(data)))
    if counts.pop("dynamic other-dynamics", 0):  # music21 (10.5) loses the text of MusicXML's <other-dynamics>
        text = _text(_mxl_score(path, data) if data[:2] == b"PK" else data)
        for other in re.findall(r"<other-dynamics[^>]*>([^<]*)</other-dynamics>", text):
            counts[_text_kind(other) or f"dynamic {other.strip()}"] += 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _unplayed_name(thing) -> str | None:
    """A plain name for an expression, articulation or spanner the reader does not play (see
    _UNPLAYED; else music21's class name in words: UpBow -> "up bow"), None if not counted."""
    classes = set(thing.classes)
    for cls, name in _UNPLAYED:
        if cls in classes:
            return name
    return re.sub(r"(?<!^)(?=[A-Z])", " ", type(thing).__name__).lower()


def _abc_unplayed(text: str) -> Counter[str]:
    """The decorations of ABC text that music21 drops, by plain name (see _ABC_NAMES; one that
    closes, such as "trill)", is not counted again)."""
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        if re.match(r"\s*[A-Za-z+]:", line):  # a header field, lyrics, a continued field
            continue
        line = re.sub(r'%.*$|"[^"]*"|\[[A-Za-z]:[^\]]*\]', "", line)  # comments, text, inline fields
        for m in re.finditer(r"!([^!\s]+)!|\+([^+\s]+)\+", line):
            name = m[1] or m[2]
            if name in _ABC_PLAYED or (name.endswith(")") and len(name) > 1) or DYNAMIC_NAME.fullmatch(name):
                continue  # (a dynamic is read: abc_text.DYNAMIC_FIELD)
            counts[_ABC_NAMES.get(name, name)] += 1
        line = re.sub(r"![^!\s]*!|\+[^+\s]*\+", "", line)
        counts.update(_ABC_LETTERS[c] for c in line if c in _ABC_LETTERS)
    return counts
