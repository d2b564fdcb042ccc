"""MIDI files <-> Score.

Reading uses symusic (fast, and strict about corrupt files); writing uses mido, so that the
bytes we write are exactly the ones chosen here: type 1, 480 ticks per quarter, a conductor
track 0 with every tempo, meter and key change, then one named track per Part with its
program at tick 0 and its own channel (drums on channel 10, i.e. channel index 9), then, when
the score has chord symbols (Score.chords), a track named "Chords" (CHORD_TRACK) on a channel
of its own: each symbol a text event at its start, its notes in close position (close_voicing)
held until the next symbol, so that a DAW both shows and plays the harmony. Section labels
(Score.sections) are marker events in track 0, each at its section's start. A pickup is
written as a short first bar (pickup_start), keys as spelled (Cb major: 7 flats), track names
in ASCII where they can be. A part's sustain pedal is controller 64 on its channel: 127 down,
0 up. Reading takes such a chord track back as Score.chords, not as a Part, and track 0's
markers as Score.sections (but the "Pickup" marker, PICKUP_MARKER).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from cadenza.chords import ChordSymbol, chord_text, close_voicing, parse_chord, written_text
from cadenza.errors import InputError, MusicError, counted
from cadenza.io.files import atomic_write
from cadenza.score import (
    KEY_NAMES,
    SPELLED_TONICS,
    Key,
    Meter,
    Note,
    Part,
    Pedal,
    Score,
    Section,
    Tempo,
    chord_notes,
    grace_runs,
    name_of_fifths,
    pickup_start,
    spelled_name,
)

TICKS_PER_QUARTER = 480
DRUM_CHANNEL = 9  # "channel 10" in General MIDI's 1-based numbering
_MELODIC_CHANNELS = tuple(c for c in range(16) if c != DRUM_CHANNEL)
CHORD_TRACK = "Chords"  # the name of the track that holds a score's chord symbols

Change = TypeVar("Change", Tempo, Meter, Key)


def key_spelling(key: Key) -> str:
    """The tonic as the key spells it (Key.tonic_name): 'Bb', 'F#', 'Cb' for Cb major."""
    return key.tonic_name


def mido_key_name(key: Key) -> str:
    """The name mido uses in a key_signature message: 'D', 'F#m', 'Bb', 'Ebm', 'Cb' (7 flats).
    MIDI knows major and minor only: a church mode is written as the key of its third (D dorian
    as D minor), under that key's usual name where its own spelling has no such key (Db dorian:
    C# minor)."""
    minor = key.mode == "minor"
    name = key_spelling(key) if key_spelling(key) in SPELLED_TONICS[minor] else KEY_NAMES[minor][key.tonic % 12]
    return name + ("m" if minor else "")


def key_from_sharps(sharps: int, minor: bool, start_beats: float = 0.0) -> Key:
    """A key signature's sharps count (negative for flats) and mode -> Key, spelled as the
    signature says (-7: Cb major, 5: B major). Each sharp moves the major tonic a fifth up;
    the minor tonic is a minor third below it."""
    tonic = (7 * sharps + (9 if minor else 0)) % 12
    name = spelled_name(*name_of_fifths(sharps + (3 if minor else 0)))
    return Key(start_beats, tonic, "minor" if minor else "major", name)


def sorted_changes(changes: list[Change], default: Change | None) -> list[Change]:
    """Sort tempo/meter/key changes by beat; of several at the same beat keep the last; if the
    first starts after beat 0, put `default` (when given) at beat 0, as MIDI players assume."""
    by_beat: dict[float, Change] = {}
    for c in sorted(changes, key=lambda c: c.start_beats):
        by_beat[c.start_beats] = c
    result = list(by_beat.values())
    if default is not None and (not result or result[0].start_beats > 0):
        result.insert(0, default)
    return result


# ---------------------------------------------------------------------------------------------
# reading


# Times past this are a damaged file, not music: 100,000 beats is about 14 hours at 120 bpm. A
# note at tick 2**31 would otherwise ask every later step for a piece millions of bars long.
MAX_BEATS = 100_000
METER_DENOMINATORS = (1, 2, 4, 8, 16, 32, 64, 128)  # what MIDI can store: a power of two


def tempo_fits(bpm: float) -> bool:
    """Whether a tempo (quarter notes a minute) is one a MIDI file can hold: 1 to 16,777,215
    microseconds a quarter note (3.6 to 60 million quarters a minute); not zero, negative or nan."""
    return bpm > 0 and 1 <= round(60_000_000 / bpm) <= 0xFFFFFF


def read_midi(path: str | Path) -> Score:
    """Read a Standard MIDI File. Each track becomes a Part (symusic also splits a track by
    channel, so type-0 files come out one Part per channel); empty tracks are dropped. Notes
    of zero length (common for drums) get one tick. The title is the file's name. Time
    signatures, tempos and key signatures that cannot be meant (0/0, a zero tempo, 9 sharps)
    are ignored.

    A part's sustain pedal (Part.pedals) comes from its track's controller 64: down at 64 and
    over, up under 64 (cadenza reads the controller itself: symusic 0.6's Track.pedals starts
    the first span at tick 0 on any channel but the first). A pedal still down when the file
    ends is let up at the end of the track's last note. A track with a pedal and no notes (a
    file that keeps the pedal on a track of its own) gives it to the first part that is not drums.

    A track named "Chords" (CHORD_TRACK, in any case) of a type-1 or type-2 file whose text
    events are all chord symbols (parse_chord reads each; there is at least one) is the chord
    track write_midi writes: its texts become Score.chords, each at its event's beat (moved
    with the notes when the file opens with a pickup), spelled as written ("Cd" stays "Cd"),
    and its notes, the chords' sounding (each note starts with a symbol and is a tone of its
    close_voicing, as write_midi writes them), become no Part (nor does its pedal); other
    notes on it (a part played to the symbols) are read as a part, named as the track. A
    track of that name without text events, or with a text that is not a chord symbol, is an
    ordinary track. A file whose only notes are a chord track's reads as chords without parts.

    The marker events of track 0 (the conductor track, where write_midi writes them) become
    Score.sections, each at its marker's beat (moved with the notes when the file opens with
    a pickup; one at tick 0 stays at beat 0), labelled with the marker's text (stripped; of
    several at one tick the last); the "Pickup" marker at tick 0 (PICKUP_MARKER) and empty
    markers are none. Markers on other tracks are not read.

    Raises InputError, one line naming the file and the problem in plain words, for a file that
    is missing, empty or not a Standard MIDI File; that is damaged (truncated, a chunk length
    past the end of the file, undecodable events); that has zero ticks per quarter, SMPTE
    timing, no tracks or no notes (nor chord symbols); or a note beyond MAX_BEATS.
    """
    import symusic

    path = Path(path)
    data = file_bytes(path)
    ntracks = _check_header(path, data)
    data, chord_texts = _take_chord_track(data, ntracks)
    try:
        midi: Any = symusic.Score.from_midi(data, ttype="tick")
    except Exception as e:  # symusic raises RuntimeError (or others): find the problem ourselves
        raise InputError(path, _why_unreadable(data, ntracks, e)) from None
    tpq = midi.ticks_per_quarter
    if tpq <= 0:  # the header check makes this unreachable; kept as the guard a division needs
        raise InputError(path, "zero ticks per quarter")

    limit = MAX_BEATS * tpq
    parts, spans, last = [], [], 0  # spans: each part's pedal, (down, up) in ticks; last: the last note's end
    for track in midi.tracks:
        notes, end = [], 0
        for n in track.notes:
            if not 0 <= n.time <= n.time + n.duration <= limit:
                raise InputError(path, _absurd_time(n.time, n.duration, tpq))
            notes.append(Note(n.pitch, n.time / tpq, max(n.duration, 1) / tpq, n.velocity))
            end = max(end, n.time + max(n.duration, 1))
        if notes:
            notes.sort(key=lambda n: (n.start_beats, n.pitch))
            parts.append(Part(track.name.strip(), track.program, bool(track.is_drum), notes))
            spans.append(_pedal_down(_controller_64(track.controls), end, limit))
            last = max(last, end)
    chords = [parse_chord(text, tick / tpq) for tick, text in chord_texts if 0 <= tick <= limit]
    if not parts and not chords:
        tracks, _ = _walk_chunks(data, ntracks)
        if not tracks:
            raise InputError(path, "no tracks (no MTrk chunk)")
        raise InputError(path, f"no notes (in {counted(len(tracks), 'track')})")
    pianos = [i for i, p in enumerate(parts) if not p.is_drum]
    if pianos:
        apart = [s for chunk in _walk_chunks(data, ntracks)[0] for s in _pedal_apart(chunk, last, limit)]
        spans[pianos[0]] = merged_spans(spans[pianos[0]] + apart)
    for part, down in zip(parts, spans):
        part.pedals = [Pedal(a / tpq, (b - a) / tpq) for a, b in down]

    def fits(time: int) -> bool:
        return 0 <= time <= limit

    # MIDI stores whole microseconds per quarter; round away the float noise of the conversion
    tempos = [Tempo(t.time / tpq, round(float(t.qpm), 3)) for t in midi.tempos if fits(t.time) and t.mspq > 0]
    meters = [
        Meter(t.time / tpq, t.numerator, t.denominator)
        for t in midi.time_signatures
        if fits(t.time) and t.numerator >= 1 and t.denominator in METER_DENOMINATORS
    ]
    keys = [
        key_from_sharps(k.key, k.tonality == 1, k.time / tpq)
        for k in midi.key_signatures
        if fits(k.time) and -7 <= k.key <= 7
    ]
    score = Score(
        parts=parts,
        tempos=sorted_changes(tempos, Tempo(0.0, 120.0)),
        meters=sorted_changes(meters, Meter(0.0, 4, 4)),
        keys=sorted_changes(keys, None),
        title=path.stem,
        chords=chords,
        sections=_sections(midi, data, ntracks, limit),
    )
    marked = any(m.time == 0 and m.text.strip().lower() == PICKUP_MARKER.lower() for m in midi.markers)
    return pickup_from_short_bar(score, marked=marked)


def _is_pickup_marker(tick: int, text: str) -> bool:
    return tick == 0 and text.strip().lower() == PICKUP_MARKER.lower()


def _sections(midi: Any, data: bytes, ntracks: int, limit: int) -> list[Section]:
    """The section labels of a file read by symusic (`midi`, from `data`): track 0's marker
    events but the pickup's (see read_midi). symusic gathers every track's markers into one
    list; only when that list holds another than the pickup's is track 0 read again on its
    own (a type-0 file's markers are all track 0's)."""
    import symusic

    markers = [(m.time, m.text) for m in midi.markers]
    if all(_is_pickup_marker(tick, text) for tick, text in markers):
        return []
    if data[8:10] != b"\x00\x00":  # type 1 or 2: the markers of the first track alone
        tracks, _ = _walk_chunks(data, ntracks)
        if not tracks:
            return []
        alone = data[:8] + b"\x00\x01\x00\x01" + data[12:14] + b"MTrk" + len(tracks[0]).to_bytes(4, "big") + tracks[0]
        try:
            first: Any = symusic.Score.from_midi(alone, ttype="tick")
            markers = [(m.time, m.text) for m in first.markers]
        except Exception:  # symusic read the whole file; a first track it refuses alone has no sections
            return []
    by_tick: dict[int, str] = {}
    for tick, text in sorted(markers, key=lambda m: m[0]):  # stable: at one tick, the file's order
        if 0 <= tick <= limit and text.strip() and not _is_pickup_marker(tick, text):
            by_tick[tick] = text.strip()
    tpq = midi.ticks_per_quarter
    return [Section(tick / tpq, label) for tick, label in by_tick.items()]


_CHORDS_NAME = re.compile(rb"(?i)chords")


def _take_chord_track(data: bytes, ntracks: int) -> tuple[bytes, list[tuple[int, str]]]:
    """The file with its chord track's notes taken out, and that track's chord symbols as
    (tick, text): see read_midi for what a chord track is. When its notes are the symbols'
    sounding (each starts where a symbol does, a tone of its close_voicing), the track stays
    in the file with only the meta events the score reads from any track (tempo, meter, key,
    marker), so that symusic makes no Part of it and the other tracks keep their numbers; other
    notes (a part someone played) are left, to be read as a part. A file without a chord track
    (the first found is taken) is returned as it is, as is a type-0 file (its one track is the
    music) and one whose chunks are damaged (symusic says what is wrong). Only tracks whose
    bytes hold a text event and the word "chords" are walked event by event."""
    if data[8:10] == b"\x00\x00":  # type 0
        return data, []
    tracks, problem = _walk_chunks(data, ntracks)
    if problem:
        return data, []
    for number, chunk in enumerate(tracks):
        if b"\xff\x01" not in chunk or not _CHORDS_NAME.search(chunk):
            continue
        name, texts, kept, onsets, whole = None, [], [], set(), False
        for tick, status, start, end in _events(chunk):
            whole = end == len(chunk)
            if status & 0xF0 == 0x90 and chunk[end - 1] > 0:
                onsets.add((tick, chunk[end - 2]))
            if status != 0xFF:
                continue
            kind, value = chunk[start + 1], chunk[_meta_data(chunk, start) : end]
            if kind == 0x03 and name is None:
                name = _decoded(value)
            elif kind == 0x01:
                texts.append((tick, _decoded(value)))
            elif kind in (0x06, 0x51, 0x58, 0x59):
                kept.append((tick, chunk[start:end]))
            elif kind == 0x2F:
                whole = True  # the walk ends here
        if not whole or (name or "").strip().lower() != CHORD_TRACK.lower() or not texts:
            continue
        try:
            sounding = {tick: close_voicing(parse_chord(text)) for tick, text in texts}  # the last at a tick sounds
        except MusicError:
            continue
        if any(pitch not in sounding.get(tick, ()) for tick, pitch in onsets):
            return data, texts
        body, now = b"", 0
        for tick, event in kept:
            body += _vlq(tick - now) + event
            now = tick
        body += b"\x00\xff\x2f\x00"
        tracks[number] = body
        chunks = b"".join(b"MTrk" + len(t).to_bytes(4, "big") + t for t in tracks)
        return data[:10] + len(tracks).to_bytes(2, "big") + data[12:14] + chunks, texts
    return data, []


def _events(chunk: bytes) -> Iterator[tuple[int, int, int, int]]:
    """The events of a track chunk as (tick, status, start, end): the event's tick from the
    track's start, its status byte (running status applied; 0xFF for a meta event, whose type
    is chunk[start + 1]) and where its bytes after the delta time lie, chunk[start:end] (a
    channel event under running status starts at its first data byte). The walk ends with the
    end-of-track event, or quietly at anything it cannot decode."""
    pos, tick, running, size = 0, 0, 0, len(chunk)

    def number() -> int:  # a variable-length quantity
        nonlocal pos
        value = 0
        for _ in range(4):
            byte = chunk[pos]
            pos += 1
            value = value << 7 | byte & 0x7F
            if byte < 0x80:
                return value
        raise IndexError("a variable-length quantity of more than 4 bytes")

    try:
        while pos < size:
            tick += number()
            start, byte = pos, chunk[pos]
            if byte in (0xFF, 0xF0, 0xF7):  # meta event (type, length, data); sysex (length, data)
                pos += 2 if byte == 0xFF else 1
                length = number()  # not `pos += number()`: number() moves pos itself
                pos += length
                if pos > size:
                    return
                yield tick, byte, start, pos
                if byte == 0xFF and chunk[start + 1] == 0x2F:
                    return
                continue
            if byte >= 0x80:
                running = byte
                pos += 1
            if not 0x80 <= running < 0xF0:
                return
            pos += 1 if running & 0xF0 in (0xC0, 0xD0) else 2  # program change, channel pressure: one data byte
            if pos > size:
                return
            yield tick, running, start, pos
    except IndexError:
        return


def _meta_data(chunk: bytes, start: int) -> int:
    """Where the data of the meta event at chunk[start] begins (after FF, its type and its length)."""
    pos = start + 2
    while chunk[pos] & 0x80:
        pos += 1
    return pos + 1


def _decoded(text: bytes) -> str:
    """MIDI text as written: UTF-8 (as cadenza writes it), else Latin-1."""
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        return text.decode("latin-1")


def _vlq(value: int) -> bytes:
    """A variable-length quantity, as MIDI writes delta times."""
    out = [value & 0x7F]
    while value > 0x7F:
        value >>= 7
        out.append(value & 0x7F | 0x80)
    return bytes(reversed(out))


def _controller_64(controls: Any) -> list[tuple[int, int]]:
    """A symusic track's controller-64 events, (tick, value) in the order of the file."""
    if not len(controls):
        return []
    c = controls.numpy()
    sustain = c["number"] == 64
    return list(zip(c["time"][sustain].tolist(), c["value"][sustain].tolist()))


def _pedal_down(events: list[tuple[int, int]], end: int, limit: int) -> list[tuple[int, int]]:
    """Where controller-64 events (tick, value) hold the pedal down, as (down, up) tick spans:
    down at 64 and over, up under 64 (repeats of either change nothing; so do events past
    `limit`). A pedal still down at the last event is let up at `end` (the last note's end)
    if that is later."""
    spans, down = [], None
    for tick, value in events:
        if not 0 <= tick <= limit:
            continue
        if value >= 64:
            if down is None:
                down = tick
        elif down is not None:
            if tick > down:
                spans.append((down, tick))
            down = None
    if down is not None and end > down:
        spans.append((down, end))
    return spans


def _pedal_apart(chunk: bytes, end: int, limit: int) -> list[tuple[int, int]]:
    """The pedal spans (down, up) in ticks of a track chunk that plays no notes, each channel's
    read as _pedal_down does, none for a track with a note. symusic drops a track without notes,
    its controllers with it, so such a track is walked here; the walk stops quietly at anything
    it cannot decode (symusic has read the file already)."""
    by_channel: dict[int, list[tuple[int, int]]] = {}
    for tick, status, _, stop in _events(chunk):
        kind, channel = status & 0xF0, status & 0x0F
        if kind == 0x90 and chunk[stop - 1] > 0:
            return []
        if kind == 0xB0 and chunk[stop - 2] == 64:
            by_channel.setdefault(channel, []).append((tick, chunk[stop - 1]))
    return [s for events in by_channel.values() for s in _pedal_down(events, end, limit)]


def merged_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(down, up) spans sorted, those that overlap joined into one; spans that only touch stay
    apart (the pedal goes up and straight down again)."""
    result: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if result and a < result[-1][1]:
            result[-1] = (result[-1][0], max(result[-1][1], b))
        else:
            result.append((a, b))
    return result


def pedal_spans(pedals: list[Pedal], time: Callable[[float], int]) -> list[tuple[int, int]]:
    """A part's pedal as (down, up) in whole units of `time(beats)` (ticks, samples): each span
    at least one unit long, sorted, overlapping spans joined (merged_spans). Shared by the MIDI
    writer and the audio renderer."""
    spans = []
    for p in pedals:
        down = time(p.start_beats)
        spans.append((down, max(time(p.end_beats), down + 1)))
    return merged_spans(spans)


def file_bytes(path: Path) -> bytes:
    """A file's bytes, or InputError for a folder, a missing, unreadable or empty file."""
    if path.is_dir():
        raise InputError(path, "is a folder, not a file")
    if not path.is_file():
        raise InputError(path, "not a regular file (a device or a pipe?)" if path.exists() else "no such file")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(path, f"cannot read it ({e.strerror or type(e).__name__})") from None
    if not data:
        raise InputError(path, "empty file (0 bytes)")
    return data


def _check_header(path: Path, data: bytes) -> int:
    """The header's track count, or InputError for a header cadenza cannot use."""
    import struct

    if data[:4] != b"MThd":
        raise InputError(path, _not_midi(data))
    if len(data) < 14:
        raise InputError(path, f"truncated MIDI file (the header is cut short: {len(data)} of 14 bytes)")
    length, fmt, ntracks, division = struct.unpack(">IHHH", data[4:14])
    if length != 6:
        raise InputError(path, f"damaged MIDI header (its length field says {length:,} bytes, not 6)")
    if fmt > 2:
        raise InputError(path, f"unknown MIDI format {fmt} (0, 1 or 2 expected)")
    if ntracks == 0:
        raise InputError(path, "no tracks (the MIDI header says 0)")
    if division & 0x8000:
        raise InputError(
            path, "SMPTE timing (frames per second) is not supported; cadenza reads MIDI timed in ticks per quarter"
        )
    if division == 0:
        raise InputError(path, "zero ticks per quarter (the MIDI header's time division is 0)")
    return ntracks


def _not_midi(data: bytes) -> str:
    """What a file without a MIDI header is, as far as its first bytes tell."""
    head = data[:512]
    if head.startswith(b"RIFF") and head[8:12] == b"RMID":
        return "a RIFF MIDI (.rmi) file, not a Standard MIDI File (no MThd header)"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:  # cut inside a character, or not text
        text = head[:-3].decode("utf-8", "replace")
    if "\ufffd" not in text and all(c.isprintable() or c.isspace() for c in text):
        return "not a MIDI file (no MThd header; it is text)"
    return "not a MIDI file (no MThd header)"


def _walk_chunks(data: bytes, ntracks: int) -> tuple[list[bytes], str | None]:
    """The MTrk chunks among the first `ntracks` chunks after the header (as symusic reads
    them: other chunks are skipped, bytes after them ignored) and the first problem met."""
    tracks: list[bytes] = []
    pos = 14
    for chunk in range(1, ntracks + 1):
        if pos >= len(data):
            break
        if len(data) - pos < 8:
            return tracks, f"truncated MIDI file (chunk {chunk}'s header is cut short at byte {pos:,})"
        tag, length, left = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "big"), len(data) - pos - 8
        if length > left:
            what = f"track {len(tracks) + 1}" if tag == b"MTrk" else f"chunk {chunk}"
            return (
                tracks,
                f"track chunk length runs past the end of the file ({what} claims {length:,} bytes, {left:,} are left)",
            )
        if tag == b"MTrk":
            tracks.append(data[pos + 8 : pos + 8 + length])
        pos += 8 + length
    return tracks, None


def _why_unreadable(data: bytes, ntracks: int, error: Exception) -> str:
    """Why symusic refused a file whose header is sound, in our words: a chunk that runs past the
    end, else the first track that fails on its own, and what is wrong in it."""
    import symusic

    tracks, problem = _walk_chunks(data, ntracks)
    if problem:
        return problem
    for number, track in enumerate(tracks, 1):
        alone = data[:8] + b"\x00\x01\x00\x01" + data[12:14] + b"MTrk" + len(track).to_bytes(4, "big") + track
        try:
            symusic.Score.from_midi(alone, ttype="tick")
        except Exception as e:
            return f"corrupt MIDI track {number}: {_event_problem(e)}"
    return f"corrupt MIDI file: {_event_problem(error)}"


def _event_problem(error: Exception) -> str:
    """symusic's complaint about a track's events, in our words."""
    import re

    text = str(error)
    if "Unexpected EOF" in text:
        return "an event runs past the end of the track"
    if "running status" in text:
        return "a data byte stands where a status byte should be"
    if m := re.search(r"status byte: *(?:0x)?([0-9a-fA-F]+)", text):
        return f"unknown status byte 0x{m[1].upper()}"
    if "Meta value" in text:
        return "a meta event's value is out of range"
    if m := re.search(r"Get (pitch|velocity)=(-?\d+)", text):
        return f"a note with {m[1]} {m[2]} (MIDI allows 0-127)"
    return "its events cannot be decoded"


def _absurd_time(tick: int, ticks: int, tpq: int) -> str:
    what = f"a note at beat {tick / tpq:,.0f} (tick {tick:,})"
    if 0 <= tick <= MAX_BEATS * tpq:
        what = f"a note {ticks / tpq:,.0f} beats long (at tick {tick:,})"
    return f"{what} lies outside the {MAX_BEATS:,} beats cadenza reads; the file's times are damaged"


# ---------------------------------------------------------------------------------------------
# writing


def write_midi(score: Score, path: str | Path, force: bool = False) -> Path:
    """Write `score` as a type-1 MIDI file (see the module docstring for the layout).

    Beats are rounded to 1/480 of a quarter. The bytes depend only on the Score. Parts take
    channels 0, 1, 2, ... skipping 9, wrapping after 15 melodic parts; drum parts use 9.
    A score that opens with a pickup (pickup_start) begins at the pickup: tick 0 is its first
    note, the first bar is as short as the pickup (a time signature of its length, 1/4 for a
    quarter, then the piece's meter at the first downbeat; and a marker "Pickup" at tick 0 that
    tells it from a meter change), so nothing plays silence first.
    Section labels (Score.sections) are marker events in track 0 at their starts (after the
    meter, key and tempo changes at the same tick; one before a pickup's first note at tick 0).
    Text (the title, part names) is written in ASCII where it can be (see _text).

    Chord symbols (Score.chords) go on a last track, CHORD_TRACK, on a channel no part uses
    (chord_channel), program 0: each symbol a text event at its start, spelled as the symbol
    is ("Cd", "C#m") where that spelling is ASCII and reads back as the same chord, else as
    chord_text spells it ("Cdim", "Cm7b5"). A lead sheet's track also sounds them
    (cadenza.score.chord_notes: close position, held until the next symbol), so a DAW shows
    and plays the harmony, as cadenza's own audio does (render.write_outputs); an arrangement,
    whose parts play the harmony already, gets the text events alone. A symbol before a
    pickup's first note is written at the pickup. A score without chord symbols has no such
    track.
    Raises OutputExistsError if `path` exists and not `force`.
    """
    return atomic_write(path, midi_bytes(score), force=force)


def midi_bytes(score: Score) -> bytes:
    """The bytes write_midi writes."""
    import mido

    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_QUARTER)
    shift = pickup_start(score)
    midi.tracks.append(_conductor_track(score, shift))
    for part, channel in zip(score.parts, part_channels(score)):
        midi.tracks.append(_part_track(part, channel, shift))
    if score.chords:
        midi.tracks.append(_chord_track(score, chord_channel(score), shift))
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def part_channels(score: Score) -> list[int]:
    """The MIDI channel of each part: 0, 1, 2, ... skipping 9, wrapping after 15 melodic
    parts; drum parts use 9. Shared by the MIDI writer and the audio renderer."""
    channels, melodic = [], 0
    for part in score.parts:
        if part.is_drum:
            channels.append(DRUM_CHANNEL)
        else:
            channels.append(_MELODIC_CHANNELS[melodic % len(_MELODIC_CHANNELS)])
            melodic += 1
    return channels


def chord_channel(score: Score) -> int:
    """The channel of the chord track (write_midi): the first melodic channel no part uses, the
    last one (15) when parts use them all."""
    used = set(part_channels(score))
    return next((c for c in _MELODIC_CHANNELS if c not in used), _MELODIC_CHANNELS[-1])


def _ticks(beats: float) -> int:
    return max(0, round(beats * TICKS_PER_QUARTER))


PICKUP_MARKER = "Pickup"  # the marker at tick 0 of a file whose short first bar is a pickup


def pickup_from_short_bar(score: Score, marked: bool = False) -> Score:
    """The reader's half of the writers' pickup. A file whose first bar is shorter than the meter
    that follows it at the bar's end (1/4, then 4/4 from beat 1) opens with a pickup, not a
    meter change, when it says so (`marked`: a marker PICKUP_MARKER at tick 0, as write_midi
    writes) or when that bar is at most half as long as the next (a file from elsewhere: one
    bar of 3/4 before 4/4 stays a meter change). Returns the score with the pickup where a
    Score keeps it: every time moved on by what the short bar leaves out (3 beats after a 1/4
    bar in 4/4; chord symbols too, as notes), the meter from beat 0, changes at beat 0 left
    there (section labels too). Any other score is returned as it is."""
    from dataclasses import replace

    meters = sorted(score.meters, key=lambda m: m.start_beats)
    if len(meters) < 2 or meters[0].start_beats != 0:
        return score
    short, real = meters[0], meters[1]
    if abs(real.start_beats - short.bar_beats) > 1e-6 or short.bar_beats >= real.bar_beats - 1e-6:
        return score
    if not marked and short.bar_beats > real.bar_beats / 2 + 1e-6:
        return score
    shift = real.bar_beats - short.bar_beats

    def moved(beats: float) -> float:
        return beats + shift if beats > 0 else beats

    return replace(
        score,
        parts=[
            replace(
                p,
                notes=[replace(n, start_beats=n.start_beats + shift) for n in p.notes],
                pedals=[replace(q, start_beats=q.start_beats + shift) for q in p.pedals],
            )
            for p in score.parts
        ],
        meters=[replace(real, start_beats=0.0)] + [replace(m, start_beats=m.start_beats + shift) for m in meters[2:]],
        tempos=[replace(t, start_beats=moved(t.start_beats)) for t in score.tempos],
        keys=[replace(k, start_beats=moved(k.start_beats)) for k in score.keys],
        fermatas_beats=[b + shift for b in score.fermatas_beats],
        chords=[replace(c, start_beats=c.start_beats + shift) for c in score.chords],
        sections=[replace(s, start_beats=moved(s.start_beats)) for s in score.sections],
    )


def pickup_meter(length_beats: float, denominator: int) -> tuple[int, int]:
    """The time signature of a pickup bar `length_beats` quarters long, in the piece's
    denominator where it divides the pickup (else a finer one): 1 -> 1/4, 0.5 -> 1/8,
    1.5 in 6/8 -> 3/8, 0.25 -> 1/16."""
    while abs(length_beats * denominator / 4 - round(length_beats * denominator / 4)) > 1e-6:
        denominator *= 2
    return max(1, round(length_beats * denominator / 4)), denominator


def _conductor_track(score: Score, shift: float):
    import mido

    def time_signature(numerator: int, denominator: int):
        return mido.MetaMessage(
            "time_signature",
            numerator=numerator,
            denominator=denominator,
            clocks_per_click=24,
            notated_32nd_notes_per_beat=8,
        )

    events = []  # (tick, order, message); at one tick: meter, key, tempo
    opening = min(score.meters, key=lambda m: m.start_beats) if score.meters else None
    for m in score.meters:
        if shift and m is opening:  # the pickup's short bar, then the meter from the first downbeat
            events.append((0, 0, time_signature(*pickup_meter(m.bar_beats - shift, m.denominator))))
            events.append((_ticks(m.bar_beats - shift), 0, time_signature(m.numerator, m.denominator)))
        else:
            events.append((_ticks(m.start_beats - shift), 0, time_signature(m.numerator, m.denominator)))
    for k in score.keys:
        message = mido.MetaMessage("key_signature", key=mido_key_name(k))
        events.append((_ticks(k.start_beats - shift), 1, message))
    for t in score.tempos:
        message = mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(t.bpm))
        events.append((_ticks(t.start_beats - shift), 2, message))
    for s in sorted(score.sections, key=lambda s: s.start_beats):
        events.append((_ticks(s.start_beats - shift), 3, mido.MetaMessage("marker", text=_text(s.label))))
    header = [mido.MetaMessage("track_name", name=_text(score.title))] if score.title else []
    if shift:  # says that the short first bar is a pickup (DAWs show it on the timeline)
        header.append(mido.MetaMessage("marker", text=PICKUP_MARKER))
    return _track(header, events)


def _part_track(part: Part, channel: int, shift: float = 0.0):
    import mido

    header = [
        mido.MetaMessage("track_name", name=_text(part.name)),
        mido.Message("program_change", channel=channel, program=part.program),
    ]
    # (tick, order, message); at one tick: every note_off (0), the pedal up (1), down (2), then note_ons (3)
    events = []
    # a note that a run of grace notes follows is let go where they begin, as a player does: the
    # file is then one line where the score was (read back, the graces are played ones, score.is_grace)
    let_go = {round(at, 6): min(n.start_beats for n in run[0]) for at, run in grace_runs(part.notes)[1]}
    for n in part.notes:
        end = n.end_beats
        if "grace" not in n.marks and n.start_beats < let_go.get(round(end, 6), -1.0):
            end = let_go[round(end, 6)]
        on = max(_ticks(n.start_beats - shift), 0)  # a grace note before a pickup's first note: at its start
        off = max(_ticks(end - shift), on + 1)
        # velocity 0 would read as a note-off, so the quietest note written is velocity 1
        velocity = max(1, n.velocity)
        events.append((on, 3, mido.Message("note_on", channel=channel, note=n.pitch, velocity=velocity)))
        events.append((off, 0, mido.Message("note_off", channel=channel, note=n.pitch, velocity=0)))
    for down, up in pedal_spans(part.pedals, lambda beats: _ticks(beats - shift)):
        events.append((down, 2, mido.Message("control_change", channel=channel, control=64, value=127)))
        events.append((up, 1, mido.Message("control_change", channel=channel, control=64, value=0)))
    return _track(header, events)


def _chord_track(score: Score, channel: int, shift: float = 0.0):
    """The chord track (see write_midi): a text event per chord symbol and the notes of its
    sounding (cadenza.score.chord_notes), in the order of their starts."""
    import mido

    header = [
        mido.MetaMessage("track_name", name=CHORD_TRACK),
        mido.Message("program_change", channel=channel, program=0),
    ]
    # (tick, order, message); at one tick: every note_off (0), the symbol (1), then note_ons (2)
    events = []
    for c in sorted(score.chords, key=lambda c: c.start_beats):
        events.append((_ticks(c.start_beats - shift), 1, mido.MetaMessage("text", text=_chord_spelling(c))))
    for n in chord_notes(score):
        on, off = _ticks(n.start_beats - shift), _ticks(n.end_beats - shift)
        events.append((on, 2, mido.Message("note_on", channel=channel, note=n.pitch, velocity=n.velocity)))
        events.append((off, 0, mido.Message("note_off", channel=channel, note=n.pitch, velocity=0)))
    return _track(header, events)


def _chord_spelling(c: ChordSymbol) -> str:
    """The text a chord symbol is written as: its own (as _text writes it) when that is ASCII
    and parse_chord reads it back as the same chord ("Cd", "C♯m" as "C#m"), else chord_text's
    ("C°" as "Cdim", "Cø7" as "Cm7b5": the ASCII stand-in "Co7" would read as another chord)."""
    from dataclasses import replace

    own = _ascii(written_text(c))
    if own.isascii():
        try:
            if replace(parse_chord(own), start_beats=c.start_beats) == c:
                return own
        except MusicError:
            pass
    return chord_text(c)


# Punctuation that has a plain ASCII stand-in
_ASCII_PUNCTUATION = str.maketrans(
    {
        "\u00b7": "-",  # middle dot: "chorales · D major · seed 7" -> "chorales - D major - seed 7"
        "\u2022": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2026": "...",
        "\u00a0": " ",
        "\u00df": "ss",
        "\u00e6": "ae",
        "\u00c6": "AE",
        "\u00f8": "o",
        "\u00d8": "O",
        "\u0153": "oe",
        "\u0152": "OE",
        "\u266f": "#",
        "\u266d": "b",
    }
)


def _text(text: str) -> str:
    """MIDI text (track names) as bytes every DAW displays: the Standard MIDI File names no
    encoding, and many readers take the bytes as Latin-1, where UTF-8's "·" shows as "Â·". So
    punctuation becomes its ASCII stand-in (" · " -> " - ") and letters lose their accents
    (Étude -> Etude); only what has no ASCII form (声) stays, as UTF-8. mido encodes text as
    Latin-1, so it is handed the bytes spelled as Latin-1 characters."""
    return _ascii(text).encode("utf-8").decode("latin-1")


def _ascii(text: str) -> str:
    """`text` with the ASCII stand-ins _text writes: punctuation replaced, accents dropped."""
    import unicodedata

    text = unicodedata.normalize("NFKD", text.translate(_ASCII_PUNCTUATION))
    text = "".join(c for c in text if c.isascii() or not unicodedata.combining(c))
    return unicodedata.normalize("NFC", text)


def _track(header: list, events: list):
    """A MidiTrack: `header` messages at tick 0, then `events` (tick, order, message) sorted
    by tick, order and pitch (a stable sort: ties keep their given order), then end_of_track."""
    import mido

    track = mido.MidiTrack(header)
    now = 0
    for tick, _, message in sorted(events, key=lambda e: (e[0], e[1], getattr(e[2], "note", 0))):
        track.append(message.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track
