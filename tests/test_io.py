"""Real round trips through real files: MIDI (symusic in, mido out) and MusicXML/ABC/kern
(music21), plus the one-line errors users get for bad files."""
from pathlib import Path

import mido
import pytest

from cadenza.errors import InputError, OptionError, OutputExistsError
from cadenza.io import SUFFIXES, read_score, read_scores, write_score
from cadenza.io.midi import read_midi, write_midi
from cadenza.io.scores import music21_to_score
from cadenza.score import Key, Meter, Note, Part, Score, Tempo, pitch_range


def note_tuples(part: Part) -> list[tuple[int, float, float]]:
    return sorted((n.pitch, round(n.start_beats, 6), round(n.duration_beats, 6)) for n in part.notes)


def example_score() -> Score:
    """Four parts: a triplet melody, chords, overlapping notes of different lengths (two
    voices, one note tied over two bar lines) on a transposing instrument, and drums; meter,
    key and tempo changes."""
    soprano = [Note(70, 0, 1, 90), Note(72, 1, 0.5), Note(74, 1.5, 0.5), Note(75, 2, 1 / 3),
               Note(74, 2 + 1 / 3, 1 / 3), Note(72, 2 + 2 / 3, 1 / 3), Note(70, 3, 4)]  # tied over the bar
    alto = [Note(p, 0, 2) for p in (62, 65)] + [Note(p, 2, 1) for p in (63, 67)] + [Note(65, 3, 3)]
    clarinet = [Note(58, 0, 8), Note(62, 0, 1), Note(63, 1, 1), Note(65, 2, 2.5), Note(67, 4.5, 1.5)]
    drums = [Note(36, 0, 0.25, 110), Note(38, 1, 0.25, 100), Note(42, 1.5, 0.25, 70)]
    return Score(
        parts=[Part("Soprano", 52, False, soprano), Part("Alto", 0, False, alto),
               Part("Clarinet", 71, False, clarinet), Part("Drums", 0, True, drums)],
        tempos=[Tempo(0.0, 90.0), Tempo(3.0, 72.0)],
        meters=[Meter(0.0, 3, 4), Meter(3.0, 4, 4)],
        keys=[Key(0.0, 10, "major"), Key(3.0, 7, "minor")],
        title="Example",
    )


def assert_one_line_error(error: pytest.ExceptionInfo, path: Path) -> None:
    message = str(error.value)
    assert "\n" not in message and path.name in message and "Traceback" not in message


# ---------------------------------------------------------------------------------------------
# MIDI


def test_midi_round_trip_keeps_notes_parts_and_changes(tmp_path):
    score = example_score()
    out = write_midi(score, tmp_path / "example.mid")
    back = read_midi(out)
    assert [(p.name, p.program, p.is_drum) for p in back.parts] == [
        (p.name, p.program, p.is_drum) for p in score.parts]
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
    keys = [Key(float(i), tonic, mode) for i, (tonic, mode) in
            enumerate((t, m) for m in ("major", "minor") for t in range(12))]
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
        (0, False, [60]), (0, True, [36]), (40, False, [64])]
    assert score.tempos == [Tempo(0.0, 120.0)] and score.meters == [Meter(0.0, 4, 4)]


# ---------------------------------------------------------------------------------------------
# MusicXML, ABC, kern


def test_musicxml_round_trip_keeps_pitches_onsets_and_durations(tmp_path):
    score = example_score()
    back = read_score(write_score(score, tmp_path / "example.musicxml"))
    assert [(p.name, p.program, p.is_drum) for p in back.parts] == [
        (p.name, p.program, p.is_drum) for p in score.parts]
    for original, read in zip(score.parts, back.parts):
        assert note_tuples(read) == note_tuples(original), original.name
    assert back.meters == score.meters
    assert back.keys == score.keys
    assert back.tempos == score.tempos
    assert back.title == "Example"


def test_musicxml_writer_accepts_xml_suffix_and_quantizes(tmp_path):
    score = Score(parts=[Part("p", 0, False, [Note(60, 0.01, 0.98), Note(62, 1.0, 0.001)])])
    back = read_score(write_score(score, tmp_path / "q.xml"))
    assert note_tuples(back.parts[0]) == [(60, 0.0, 1.0), (62, 1.0, round(1 / 12, 6))]


def test_bach_chorale_from_the_corpus():
    import music21

    score = music21_to_score(music21.corpus.parse("bach/bwv66.6"))
    assert [p.name for p in score.parts] == ["Soprano", "Alto", "Tenor", "Bass"]
    low, high = zip(*(pitch_range(Score(parts=[p])) for p in score.parts))
    assert 60 <= low[0] and high[0] <= 81 and 36 <= low[3] and high[3] <= 64
    assert sorted(high, reverse=True) == list(high)  # soprano highest, bass lowest
    assert score.key == Key(0.0, 6, "minor")  # F# minor
    assert score.meter == Meter(0.0, 4, 4)
    # one-beat pickup: it starts on beat 3 so that bar 1 begins at beat 4
    assert min(n.start_beats for n in score.notes()) == 3.0
    assert any(n.start_beats == 4.0 for n in score.parts[0].notes)


ABC_TUNES = """X:1
T:Pickup Tune
M:3/4
L:1/8
Q:1/4=100
K:G
D2|G2 B2 d2|c2 A2 F2|G6|]

X:2
T:Second Tune
M:6/8
L:1/8
K:Dm
A|d2 e f2 g|a3 A3|]
"""


def test_abc_tunes_with_pickups_align_bars_to_beat_zero(tmp_path):
    path = tmp_path / "tunes.abc"
    path.write_text(ABC_TUNES)
    first, second = read_scores(path)
    assert (first.title, second.title) == ("Pickup Tune", "Second Tune")
    assert first.meter == Meter(0.0, 3, 4) and first.key == Key(0.0, 7, "major")
    assert first.tempo_bpm == 100.0
    # the pickup D is the last beat of a virtual bar 0; G begins bar 1 at beat 3
    assert [(n.pitch, n.start_beats) for n in first.parts[0].notes[:2]] == [(62, 2.0), (67, 3.0)]
    assert second.key == Key(0.0, 2, "minor")
    assert [(n.pitch, n.start_beats) for n in second.parts[0].notes[:2]] == [(69, 2.5), (74, 3.0)]
    assert read_score(path).title == "Pickup Tune"


def test_kern_file_from_the_corpus_reads():
    import music21

    path = min(music21.corpus.getComposer("palestrina"), key=lambda p: Path(p).stat().st_size)
    score = read_score(path)
    assert len(score.parts) == 4 and all(p.notes for p in score.parts)
    assert score.meter.numerator > 0 and score.end_beats > 0


# ---------------------------------------------------------------------------------------------
# bad files, overwriting


BAD_FILES = {
    "empty.mid": b"",
    "random.mid": bytes(range(256)) * 3,
    "header_only.mid": b"MThd\x00\x00\x00\x06\x00\x01\x00\x00\x01\xe0",
    "garbage.musicxml": b"<score-partwise><part id='P1'><measure",
    "not_xml.xml": b"\x89PNG\r\n\x1a\n this is not a score",
    "empty.abc": b"   \n",
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_raise_one_line_input_errors(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(BAD_FILES[name])
    with pytest.raises(InputError) as error:
        read_score(path)
    assert_one_line_error(error, path)


def test_truncated_midi_raises_input_error(tmp_path):
    whole = write_midi(example_score(), tmp_path / "whole.mid").read_bytes()
    path = tmp_path / "truncated.mid"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputError) as error:
        read_score(path)
    assert_one_line_error(error, path)


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(InputError) as error:
        read_score(tmp_path / "nowhere.mid")
    assert_one_line_error(error, tmp_path / "nowhere.mid")
    odd = tmp_path / "notes.txt"
    odd.write_text("C D E")
    with pytest.raises(InputError) as error:
        read_score(odd)
    assert_one_line_error(error, odd)
    assert all(suffix in str(error.value) for suffix in SUFFIXES)


@pytest.mark.parametrize("name", ["out.mid", "out.musicxml"])
def test_write_refuses_to_overwrite_without_force(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"keep me")
    with pytest.raises(OutputExistsError):
        write_score(example_score(), path)
    assert path.read_bytes() == b"keep me"
    write_score(example_score(), path, force=True)
    assert read_score(path).parts
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temporary files left


def test_write_unknown_suffix_is_an_option_error(tmp_path):
    with pytest.raises(OptionError):
        write_score(example_score(), tmp_path / "out.wav")
