"""cadenza.io.midi: real round trips through real MIDI files (symusic in, mido out): notes, parts,
tempo, meter and key changes, the file layout, type 0 files."""

import mido

from cadenza.io import read_score
from cadenza.io.midi import read_midi, write_midi
from cadenza.score import Key, Meter, Note, Part, Score, Tempo
from conftest import example_score, note_tuples


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


def test_track_names_keep_any_characters(tmp_path):
    score = Score(parts=[Part("Sopran ö 声", 0, False, [Note(60, 0, 1)])], title="Étude")
    assert read_midi(write_midi(score, tmp_path / "names.mid")).parts[0].name == "Sopran ö 声"


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
