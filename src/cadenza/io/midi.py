"""MIDI files <-> Score.

Reading uses symusic (fast, and strict about corrupt files); writing uses mido, so that the
bytes we write are exactly the ones chosen here: type 1, 480 ticks per quarter, a conductor
track 0 with every tempo, meter and key change, then one named track per Part with its
program at tick 0 and its own channel (drums on channel 10, i.e. channel index 9).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, TypeVar

from cadenza.errors import InputError
from cadenza.io.files import atomic_write
from cadenza.score import Key, Meter, Note, Part, Score, Tempo

TICKS_PER_QUARTER = 480
DRUM_CHANNEL = 9  # "channel 10" in General MIDI's 1-based numbering
_MELODIC_CHANNELS = tuple(c for c in range(16) if c != DRUM_CHANNEL)

# Conventional key spellings by tonic pitch class: flats for F, Bb, Eb, Ab, Db, Gb major and
# d, g, c, f, bb, eb minor; sharps otherwise (B major, not Cb; g# minor, not ab).
_MAJOR_SPELLING = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
_MINOR_SPELLING = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")

Change = TypeVar("Change", Tempo, Meter, Key)


def key_spelling(key: Key) -> str:
    """The tonic's conventional name: Key(0, 10, 'major') -> 'Bb', Key(0, 6, 'minor') -> 'F#'."""
    return (_MINOR_SPELLING if key.mode == "minor" else _MAJOR_SPELLING)[key.tonic % 12]


def mido_key_name(key: Key) -> str:
    """The name mido uses in a key_signature message: 'D', 'F#m', 'Bb', 'Ebm'."""
    return key_spelling(key) + ("m" if key.mode == "minor" else "")


def key_from_sharps(sharps: int, minor: bool, start_beats: float = 0.0) -> Key:
    """A key signature's sharps count (negative for flats) and mode -> Key.
    Each sharp moves the major tonic a fifth up; the minor tonic is a minor third below it."""
    tonic = (7 * sharps + (9 if minor else 0)) % 12
    return Key(start_beats, tonic, "minor" if minor else "major")


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


def read_midi(path: str | Path) -> Score:
    """Read a Standard MIDI File. Each track becomes a Part (symusic also splits a track by
    channel, so type-0 files come out one Part per channel); empty tracks are dropped. Notes
    of zero length (common for drums) get one tick. The title is the file's name.

    Raises InputError for a missing, empty, corrupt or note-less file.
    """
    import symusic

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    if path.stat().st_size == 0:
        raise InputError(path, "empty file (0 bytes)")
    try:
        midi: Any = symusic.Score(str(path), ttype="tick")
    except Exception as e:  # symusic raises RuntimeError (or others) with a one-line reason
        raise InputError(path, f"not a readable MIDI file: {one_line(e)}") from None
    tpq = midi.ticks_per_quarter
    if tpq <= 0:
        raise InputError(path, f"not a readable MIDI file: {tpq} ticks per quarter")

    parts = []
    for track in midi.tracks:
        notes = [Note(n.pitch, n.time / tpq, max(n.duration, 1) / tpq, n.velocity) for n in track.notes]
        if notes:
            notes.sort(key=lambda n: (n.start_beats, n.pitch))
            parts.append(Part(track.name.strip(), track.program, bool(track.is_drum), notes))
    if not parts:
        raise InputError(path, "no notes in this MIDI file")

    tempos = [Tempo(t.time / tpq, round(float(t.qpm), 3)) for t in midi.tempos]  # MIDI stores whole µs
    meters = [Meter(t.time / tpq, t.numerator, t.denominator) for t in midi.time_signatures]
    keys = [key_from_sharps(k.key, k.tonality == 1, k.time / tpq) for k in midi.key_signatures]
    return Score(
        parts=parts,
        tempos=sorted_changes(tempos, Tempo(0.0, 120.0)),
        meters=sorted_changes(meters, Meter(0.0, 4, 4)),
        keys=sorted_changes(keys, None),
        title=path.stem,
    )


def one_line(e: Exception) -> str:
    """The gist of a library's error message, on one line."""
    lines = str(e).strip().splitlines()
    text = lines[0] if lines else type(e).__name__
    text = text.removeprefix("MiniMidi: ").removesuffix(": iostream error")  # symusic's wrapping
    return text[:160]


# ---------------------------------------------------------------------------------------------
# writing


def write_midi(score: Score, path: str | Path, force: bool = False) -> Path:
    """Write `score` as a type-1 MIDI file (see the module docstring for the layout).

    Beats are rounded to 1/480 of a quarter. The bytes depend only on the Score. Parts take
    channels 0, 1, 2, ... skipping 9, wrapping after 15 melodic parts; drum parts use 9.
    Raises OutputExistsError if `path` exists and not `force`.
    """
    return atomic_write(path, midi_bytes(score), force=force)


def midi_bytes(score: Score) -> bytes:
    """The bytes write_midi writes."""
    import mido

    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_QUARTER)
    midi.tracks.append(_conductor_track(score))
    for part, channel in zip(score.parts, part_channels(score)):
        midi.tracks.append(_part_track(part, channel))
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


def _ticks(beats: float) -> int:
    return max(0, round(beats * TICKS_PER_QUARTER))


def _conductor_track(score: Score):
    import mido

    events = []  # (tick, order, message); at one tick: meter, key, tempo
    for m in score.meters:
        message = mido.MetaMessage(
            "time_signature",
            numerator=m.numerator,
            denominator=m.denominator,
            clocks_per_click=24,
            notated_32nd_notes_per_beat=8,
        )
        events.append((_ticks(m.start_beats), 0, message))
    for k in score.keys:
        message = mido.MetaMessage("key_signature", key=mido_key_name(k))
        events.append((_ticks(k.start_beats), 1, message))
    for t in score.tempos:
        message = mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(t.bpm))
        events.append((_ticks(t.start_beats), 2, message))
    header = [mido.MetaMessage("track_name", name=_text(score.title))] if score.title else []
    return _track(header, events)


def _part_track(part: Part, channel: int):
    import mido

    header = [
        mido.MetaMessage("track_name", name=_text(part.name)),
        mido.Message("program_change", channel=channel, program=part.program),
    ]
    events = []  # (tick, order, message); at one tick every note_off (0) before any note_on (1)
    for n in part.notes:
        on = _ticks(n.start_beats)
        off = max(_ticks(n.end_beats), on + 1)
        # velocity 0 would read as a note-off, so the quietest note written is velocity 1
        velocity = max(1, n.velocity)
        events.append((on, 1, mido.Message("note_on", channel=channel, note=n.pitch, velocity=velocity)))
        events.append((off, 0, mido.Message("note_off", channel=channel, note=n.pitch, velocity=0)))
    return _track(header, events)


def _text(text: str) -> str:
    """MIDI text is bytes. We write UTF-8 (what symusic and most DAWs read); mido encodes
    text as Latin-1, so hand it the UTF-8 bytes spelled as Latin-1 characters."""
    return text.encode("utf-8").decode("latin-1")


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
