"""cadenza.io.midi: real round trips through real MIDI files (symusic in, mido out): notes, parts,
tempo, meter and key changes, the file layout, type 0 files."""

import os
import struct

import mido
import pytest

from cadenza.errors import InputError
from cadenza.io import read_score
from cadenza.io.midi import read_midi, write_midi
from cadenza.score import Key, Meter, Note, Part, Score, Tempo
from conftest import example_score, note_tuples, one_line_error, run_cli


def test_midi_round_trip_keeps_notes_parts_and_changes(tmp_path):
    score = example_score()
    out = write_midi(score, tmp_path / "example.mid")
    back = read_midi(out)
    assert [(p.name, p.program, p.is_drum) for p in back.parts] == [(p.name, p.program, p.is_drum) for p in score.parts]
    for original, read in zip(score.parts, back.parts):
        assert note_tuples(read) == note_tuples(original)
    assert [n.velocity for n in back.parts[0].notes][:1] == [90]
    assert back.tempos == score.tempos
    assert back.meters == score.meters
    assert back.keys == score.keys


def test_midi_layout_is_type_1_with_a_conductor_track(tmp_path):
    midi = mido.MidiFile(write_midi(example_score(), tmp_path / "a.mid"))
    assert midi.type == 1 and midi.ticks_per_beat == 480
    conductor = {m.type for m in midi.tracks[0]}
    assert {"set_tempo", "time_signature", "key_signature"} <= conductor
    assert not any(m.type == "note_on" for m in midi.tracks[0])
    channels = [{m.channel for m in t if m.type == "note_on"} for t in midi.tracks[1:]]
    assert channels == [{0}, {1}, {2}, {9}]
    assert [t.name for t in midi.tracks[1:]] == ["Soprano", "Alto", "Clarinet", "Drums"]


def test_midi_bytes_are_deterministic(tmp_path):
    a = write_midi(example_score(), tmp_path / "a.mid").read_bytes()
    b = write_midi(example_score(), tmp_path / "b.mid").read_bytes()
    assert a == b


def test_every_key_survives_midi(tmp_path):
    keys = [
        Key(float(i), tonic, mode)
        for i, (tonic, mode) in enumerate((t, m) for m in ("major", "minor") for t in range(12))
    ]
    score = Score(parts=[Part("p", 0, False, [Note(60, 0, 24)])], keys=keys)
    assert read_midi(write_midi(score, tmp_path / "keys.mid")).keys == keys


def test_track_names_are_ascii_where_they_can_be(tmp_path):
    """Latin-1 readers show UTF-8's "·" as "Â·": names are written in ASCII (accents dropped,
    punctuation replaced); only what has no ASCII form stays, as UTF-8."""
    score = Score(parts=[Part("Sopran ö 声", 0, False, [Note(60, 0, 1)])], title="chorales · Étude · seed 7")
    path = write_midi(score, tmp_path / "names.mid")
    assert read_midi(path).parts[0].name == "Sopran o 声"
    midi = mido.MidiFile(path)
    assert midi.tracks[0].name == "chorales - Etude - seed 7"


def test_type_0_file_is_split_by_channel(tmp_path):
    midi = mido.MidiFile(type=0, ticks_per_beat=96)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.Message("program_change", channel=1, program=40))
    track.append(mido.Message("note_on", channel=0, note=60, velocity=90))
    track.append(mido.Message("note_on", channel=1, note=64, velocity=70))
    track.append(mido.Message("note_on", channel=9, note=36, velocity=100))
    track.append(mido.Message("note_off", channel=0, note=60, time=96))
    track.append(mido.Message("note_off", channel=1, note=64))
    track.append(mido.Message("note_off", channel=9, note=36))
    path = tmp_path / "type0.mid"
    midi.save(path)
    score = read_score(path)
    assert sorted((p.program, p.is_drum, [n.pitch for n in p.notes]) for p in score.parts) == [
        (0, False, [60]),
        (0, True, [36]),
        (40, False, [64]),
    ]
    assert score.tempos == [Tempo(0.0, 120.0)] and score.meters == [Meter(0.0, 4, 4)]


# -- issue 19: spelled keys, pickups as a short first bar --------------------------------------------


def test_key_signature_keeps_the_spelling(tmp_path):
    from cadenza.score import parse_key

    for text, mido_name in (("Cb major", "Cb"), ("Gb major", "Gb"), ("F# major", "F#"), ("C# major", "C#")):
        score = Score(parts=[Part("p", 0, False, [Note(71, 0, 1)])], keys=[parse_key(text)])
        midi = mido.MidiFile(write_midi(score, tmp_path / f"{mido_name}.mid"))
        assert [m.key for m in midi.tracks[0] if m.type == "key_signature"] == [mido_name]
        assert str(read_midi(tmp_path / f"{mido_name}.mid").key) == text


def pickup_score() -> Score:
    """A tune in 4/4 that opens with a one-beat pickup (beat 3 of the bar before the first full one)."""
    notes = [Note(67, 3, 1), Note(72, 4, 2), Note(71, 6, 1), Note(69, 7, 1), Note(67, 8, 4)]
    return Score(
        parts=[Part("Melody", 0, False, notes)],
        tempos=[Tempo(0.0, 90.0)],
        meters=[Meter(0.0, 4, 4)],
        keys=[Key(0.0, 0, "major")],
        fermatas_beats=[8.0],
    )


def test_a_pickup_is_written_as_a_short_first_bar(tmp_path):
    """No bar of silence before the pickup: tick 0 is its first note, a 1/4 bar, then 4/4."""
    midi = mido.MidiFile(write_midi(pickup_score(), tmp_path / "pickup.mid"))
    now, meters = 0, []
    for m in midi.tracks[0]:
        now += m.time
        if m.type == "time_signature":
            meters.append((now, f"{m.numerator}/{m.denominator}"))
    assert meters == [(0, "1/4"), (480, "4/4")]
    assert [(m.type, m.text) for m in midi.tracks[0] if m.type == "marker"] == [("marker", "Pickup")]
    first = next(m for m in midi.tracks[1] if m.type == "note_on")
    assert (first.note, first.time) == (67, 0)
    assert midi.length == pytest.approx(9 * 60 / 90)  # nine beats of music, no silence before


def test_pickup_meters_and_the_readers_half(tmp_path):
    from cadenza.io.midi import pickup_from_short_bar, pickup_meter
    from cadenza.score import pickup_start

    assert [pickup_meter(b, 4) for b in (1, 0.5, 1.5, 0.25, 3)] == [(1, 4), (1, 8), (3, 8), (1, 16), (3, 4)]
    assert pickup_meter(1.5, 8) == (3, 8) and pickup_meter(1, 2) == (1, 4)
    assert pickup_start(pickup_score()) == 3.0
    assert pickup_start(Score(parts=[Part("p", 0, False, [Note(60, 0, 8)])])) == 0.0  # starts on beat 1
    assert pickup_start(Score(parts=[Part("p", 0, False, [Note(60, 3, 1)])])) == 0.0  # one short bar: no pickup
    assert pickup_start(Score(parts=[Part("p", 0, False, [Note(60, 1 / 3, 8)])])) == 0.0  # not on a 16th
    # what a reader gets from the short bar (meters 1/4, then 4/4 at beat 1), back where a Score keeps a pickup
    score = pickup_score()
    as_read = Score(
        parts=[
            Part("Melody", 0, False, [Note(n.pitch, n.start_beats - 3, n.duration_beats) for n in score.parts[0].notes])
        ],
        tempos=[Tempo(0.0, 90.0)],
        meters=[Meter(0.0, 1, 4), Meter(1.0, 4, 4)],
        keys=[Key(0.0, 0, "major")],
    )
    back = pickup_from_short_bar(as_read)
    assert back.parts[0].notes == score.parts[0].notes
    assert back.meters == [Meter(0.0, 4, 4)] and back.tempos == score.tempos and back.keys == score.keys
    real_change = Score(parts=[Part("p", 0, False, [Note(60, 0, 8)])], meters=[Meter(0.0, 4, 4), Meter(4.0, 3, 4)])
    assert pickup_from_short_bar(real_change) is real_change
    # a bar of 3/4 before 4/4 is a meter change, unless the file marks it as a pickup
    three = Score(parts=[Part("p", 0, False, [Note(60, 0, 8)])], meters=[Meter(0.0, 3, 4), Meter(3.0, 4, 4)])
    assert pickup_from_short_bar(three) is three
    assert pickup_from_short_bar(three, marked=True).parts[0].notes == [Note(60, 1, 8)]


def test_a_pickup_round_trips_as_a_pickup_not_a_meter_change(tmp_path):
    score = pickup_score()
    back = read_midi(write_midi(score, tmp_path / "pickup.mid"))
    assert back.meters == [Meter(0.0, 4, 4)]
    assert note_tuples(back.parts[0]) == note_tuples(score.parts[0])


# -- issue 19: a broken MIDI file is refused in one line naming it, in our words ------------------------


def smf(*tracks: bytes, fmt: int = 1, division: int = 480, header_length: int = 6, ntracks: int | None = None) -> bytes:
    """A Standard MIDI File built by hand from raw track bodies, so that any field can be wrong."""
    out = b"MThd" + struct.pack(">IHHH", header_length, fmt, len(tracks) if ntracks is None else ntracks, division)
    for body in tracks:
        out += b"MTrk" + struct.pack(">I", len(body)) + body
    return out


NOTE = b"\x00\x90\x3c\x40\x60\x80\x3c\x00"  # middle C, 96 ticks
END = b"\x00\xff\x2f\x00"  # end of track
VALID = smf(NOTE + END)
FAR = b"\xff\xff\xff\x7f\xff\x01\x00"  # an empty text event 2**28 - 1 ticks after the last event

BROKEN_MIDI = {
    "text": (b"X:1\nT:a tune\nK:D\nDEFG|\n", "not a MIDI file (no MThd header; it is text)"),
    "noise": (bytes(range(128, 256)) * 4, "not a MIDI file (no MThd header)"),
    "rmid": (
        b"RIFF\x00\x00\x00\x00RMIDdata" + VALID,
        "a RIFF MIDI (.rmi) file, not a Standard MIDI File (no MThd header)",
    ),
    "header_cut": (VALID[:10], "truncated MIDI file (the header is cut short: 10 of 14 bytes)"),
    "huge_chunk": (
        VALID[:18] + b"\xff\xff\xff\xff" + VALID[22:],
        "track chunk length runs past the end of the file (track 1 claims 4,294,967,295 bytes, 12 are left)",
    ),
    "truncated": (VALID[:-3], "track chunk length runs past the end of the file (track 1 claims 12 bytes, 9 are left)"),
    "header_length": (smf(NOTE + END, header_length=7), "damaged MIDI header (its length field says 7 bytes, not 6)"),
    "format_3": (smf(NOTE + END, fmt=3), "unknown MIDI format 3 (0, 1 or 2 expected)"),
    "zero_ppq": (smf(NOTE + END, division=0), "zero ticks per quarter (the MIDI header's time division is 0)"),
    "smpte": (
        smf(NOTE + END, division=0xE728),
        "SMPTE timing (frames per second) is not supported; cadenza reads MIDI timed in ticks per quarter",
    ),
    "zero_tracks": (smf(ntracks=0), "no tracks (the MIDI header says 0)"),
    "no_track_chunk": (smf(ntracks=1), "no tracks (no MTrk chunk)"),
    "no_notes": (smf(b"\x00\xff\x51\x03\x07\xa1\x20" + END), "no notes (in 1 track)"),
    "bad_status": (smf(NOTE + END, b"\x00\xf4" + END), "corrupt MIDI track 2: unknown status byte 0xF4"),
    "velocity_200": (
        smf(b"\x00\x90\x3c\xc8\x60\x80\x3c\x00" + END),
        "corrupt MIDI track 1: a note with velocity 200 (MIDI allows 0-127)",
    ),
    "event_past_end": (
        smf(NOTE + b"\x00\xff\x03\x20abc"),
        "corrupt MIDI track 1: an event runs past the end of the track",
    ),
    "no_status": (smf(b"\x00\x3c\x40" + END), "corrupt MIDI track 1: a data byte stands where a status byte should be"),
    "note_at_tick_2**30": (
        smf(FAR * 4 + NOTE + END),
        "a note at beat 2,236,962 (tick 1,073,741,820) lies outside the 100,000 beats cadenza reads; "
        "the file's times are damaged",
    ),
    "note_2**30_ticks_long": (
        smf(b"\x00\x90\x3c\x40" + FAR * 4 + b"\x00\x80\x3c\x00" + END),
        "a note 2,236,962 beats long (at tick 0) lies outside the 100,000 beats cadenza reads; "
        "the file's times are damaged",
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN_MIDI))
def test_a_broken_midi_file_is_refused_in_one_line_naming_it(tmp_path, name):
    """symusic's words ("Invaild midi file!", "MiniMidi: ...") never reach the user; what they
    get names the file, then what is wrong with it."""
    data, reason = BROKEN_MIDI[name]
    path = tmp_path / f"{name}.mid"
    path.write_bytes(data)
    with pytest.raises(InputError) as error:
        read_score(path)
    assert str(error.value) == f"{path}: {reason}"


def test_meta_events_that_cannot_be_meant_are_ignored(tmp_path):
    """A zero tempo, a 0/1 time signature and a key of -128 sharps (damaged meta events) do not
    stop a file with real notes: they are left out, and the defaults stand."""
    zero_tempo = b"\x00\xff\x51\x03\x00\x00\x00"
    zero_meter = b"\x00\xff\x58\x04\x00\x00\x18\x08"
    bad_key = b"\x00\xff\x59\x02\x80\x00"
    path = tmp_path / "odd_meta.mid"
    path.write_bytes(smf(zero_tempo + zero_meter + bad_key + NOTE + END, division=96))
    score = read_midi(path)
    assert score.tempos == [Tempo(0.0, 120.0)] and score.meters == [Meter(0.0, 4, 4)] and score.keys == []
    assert [(n.pitch, n.start_beats, n.duration_beats) for n in score.parts[0].notes] == [(60, 0.0, 1.0)]


DRUMS_ONLY = smf(b"\x00\x99\x24\x64\x60\x89\x24\x00" + END)


def test_continue_and_harmonize_refuse_a_drums_only_file_in_one_line(tmp_path):
    """A drum loop reads (it renders to audio), but there is nothing to continue or harmonize."""
    path = tmp_path / "beat.mid"
    path.write_bytes(DRUMS_ONLY)
    assert read_score(path).parts[0].is_drum
    for command in ("continue", "harmonize"):
        proc = run_cli(command, str(path), "--out", str(tmp_path / command), "--formats", "mid")
        one_line_error(proc, f"error: {path}: only drums, no pitched notes")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_is_not_a_file(tmp_path):
    path = tmp_path / "live.mid"
    os.mkfifo(path)
    with pytest.raises(InputError) as error:
        read_score(path)
    assert str(error.value) == f"{path}: not a regular file (a device or a pipe?)"
