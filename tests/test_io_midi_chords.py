"""cadenza.io.midi: chord symbols (Score.chords) through MIDI files: write_midi adds a "Chords"
track (a text event and the close-position notes of each symbol), read_midi takes it back as
Score.chords and makes no Part of it; a user's track of that name that holds no chord symbols
stays a part."""

import mido
import pytest

from cadenza.chords import parse_chord, written_text
from cadenza.io import read_score
from cadenza.io.midi import CHORD_TRACK, chord_channel, midi_bytes, read_midi, write_midi
from cadenza.score import CHORD_VELOCITY, Key, Meter, Note, Part, Score, Tempo
from conftest import note_tuples

TEXTS = ("G", "D7", "Em", "Bm7b5", "C/E", "Cd")


def melody(start: float = 0.0, beats: int = 24) -> Part:
    return Part("Melody", 73, False, [Note(67 + (i % 5), start + i, 1.0, 90) for i in range(beats)])


def chord_score() -> Score:
    """A melody over six chord symbols, two beats each, spelled as a lead sheet (and an ABC file) writes them."""
    return Score(
        parts=[melody(beats=12)],
        tempos=[Tempo(0.0, 100.0)],
        keys=[Key(0.0, 7, "major")],
        chords=[parse_chord(text, 2.0 * i) for i, text in enumerate(TEXTS)],
    )


def pickup_chord_score() -> Score:
    """A tune in 4/4 with a one-beat pickup (beat 3), the pickup harmonized, then a bar per chord."""
    notes = [Note(67, 3, 1), Note(72, 4, 2), Note(71, 6, 1), Note(69, 7, 1), Note(67, 8, 4), Note(66, 12, 4)]
    return Score(
        parts=[Part("Melody", 0, False, notes)],
        tempos=[Tempo(0.0, 90.0)],
        meters=[Meter(0.0, 4, 4)],
        keys=[Key(0.0, 7, "major")],
        chords=[parse_chord("D7", 3.0), parse_chord("G", 4.0), parse_chord("C/E", 8.0), parse_chord("Cd", 12.0)],
    )


def timed(track) -> list[tuple[int, object]]:
    """A mido track's messages with their ticks from the track's start."""
    now, out = 0, []
    for m in track:
        now += m.time
        out.append((now, m))
    return out


def chord_notes(track) -> list[tuple[int, int, int, int]]:
    """The notes of a mido track as (start tick, end tick, pitch, velocity), sorted."""
    held, notes = {}, []
    for tick, m in timed(track):
        if m.type == "note_on" and m.velocity > 0:
            held[m.note] = (tick, m.velocity)
        elif m.type in ("note_on", "note_off"):
            start, velocity = held.pop(m.note)
            notes.append((start, tick, m.note, velocity))
    assert not held
    return sorted(notes)


def assert_same_chords(back: list, chords: list) -> None:
    assert back == chords
    assert [c.start_beats for c in back] == [c.start_beats for c in chords]
    assert [c.text for c in back] == [written_text(c) for c in chords]  # as written: "Cd" as "Cdim"


def test_chords_round_trip_in_their_own_spelling(tmp_path):
    score = chord_score()
    back = read_midi(write_midi(score, tmp_path / "lead.mid"))
    assert_same_chords(back.chords, score.chords)
    # each as written, but the Nottingham shorthand "Cd", written as every reader knows it
    assert [c.text for c in back.chords] == [*TEXTS[:-1], "Cdim"]
    assert [(p.name, p.program) for p in back.parts] == [("Melody", 73)]  # the chord track is no part
    assert note_tuples(back.parts[0]) == note_tuples(score.parts[0])
    assert back.tempos == score.tempos and back.keys == score.keys and back.meters == score.meters


def test_chords_round_trip_with_a_pickup(tmp_path):
    score = pickup_chord_score()
    path = write_midi(score, tmp_path / "pickup.mid")
    midi = mido.MidiFile(path)
    chords = midi.tracks[-1]
    assert [(tick, m.text) for tick, m in timed(chords) if m.type == "text"] == [
        (0, "D7"),  # the pickup's chord at tick 0, where the pickup's first note is
        (480, "G"),
        (480 * 5, "C/E"),
        (480 * 9, "Cdim"),
    ]
    back = read_midi(path)
    assert back.meters == [Meter(0.0, 4, 4)]
    assert note_tuples(back.parts[0]) == note_tuples(score.parts[0])
    assert_same_chords(back.chords, score.chords)


def test_chords_round_trip_across_a_meter_change(tmp_path):
    score = chord_score()
    score.meters = [Meter(0.0, 4, 4), Meter(8.0, 3, 4)]
    score.parts = [melody(beats=17)]
    score.chords = [parse_chord(t, b) for t, b in (("G", 0), ("D7", 4), ("Em", 8), ("Bm7b5", 11), ("C/E", 14))]
    back = read_midi(write_midi(score, tmp_path / "meters.mid"))
    assert back.meters == score.meters
    assert_same_chords(back.chords, score.chords)
    assert [p.name for p in back.parts] == ["Melody"]


def test_the_chord_track_sounds_each_symbol_in_close_position(tmp_path):
    from cadenza.chords import close_voicing

    score = chord_score()
    midi = mido.MidiFile(write_midi(score, tmp_path / "lead.mid"))
    assert [t.name for t in midi.tracks] == ["", "Melody", CHORD_TRACK]
    track = midi.tracks[-1]
    assert {m.channel for m in track if m.type in ("note_on", "note_off")} == {1}  # the first channel free
    assert [(m.channel, m.program) for m in track if m.type == "program_change"] == [(1, 0)]
    assert not any(m.type == "marker" for m in track)
    expected = []
    for i, c in enumerate(score.chords):
        start, end = 960 * i, 960 * (i + 1)  # held until the next symbol; the last until the last note's end
        expected += [(start, end, pitch, round(90 * CHORD_VELOCITY / 80)) for pitch in close_voicing(c)]
    assert chord_notes(track) == sorted(expected)  # under the melody's 90 as 60 is under 80
    # the symbol comes before the notes it names
    assert [m.type for m in track][2:4] == ["text", "note_on"]


def test_the_chords_follow_the_melodys_loudness(tmp_path):
    """A pp tune's chords had sounded at a flat 60, twice as loud as its melody: each symbol now
    sounds at 60/80 of the melody note struck at or before it."""
    from dataclasses import replace

    score = chord_score()
    score.parts[0].notes = [replace(n, velocity=32 if n.start_beats < 6 else 112) for n in score.parts[0].notes]
    track = mido.MidiFile(write_midi(score, tmp_path / "soft.mid")).tracks[-1]
    assert {(start // 960, v) for start, _, _, v in chord_notes(track)} == {
        (0, 24),
        (1, 24),
        (2, 24),
        (3, 84),
        (4, 84),
        (5, 84),
    }


def test_a_last_symbol_after_the_last_note_sounds_for_a_bar(tmp_path):
    score = Score(parts=[melody(beats=4)], meters=[Meter(0.0, 3, 4)], chords=[parse_chord("G"), parse_chord("C", 6)])
    notes = chord_notes(mido.MidiFile(write_midi(score, tmp_path / "late.mid")).tracks[-1])
    assert {(a, b) for a, b, _, _ in notes} == {(0, 6 * 480), (6 * 480, 9 * 480)}


def test_a_symbol_replaced_at_the_same_beat_is_named_but_not_sounded(tmp_path):
    score = Score(parts=[melody(beats=4)], chords=[parse_chord("G"), parse_chord("Em"), parse_chord("C", 2)])
    path = write_midi(score, tmp_path / "twice.mid")
    track = mido.MidiFile(path).tracks[-1]
    assert [m.text for m in track if m.type == "text"] == ["G", "Em", "C"]
    assert [(a, b, p) for a, b, p, _ in chord_notes(track)] == [
        (0, 960, 52),
        (0, 960, 55),
        (0, 960, 59),
        (960, 1920, 60),
        (960, 1920, 64),
        (960, 1920, 67),
    ]
    assert read_midi(path).chords == score.chords


def test_a_score_without_chords_writes_no_chord_track(tmp_path):
    score = chord_score()
    score.chords = []
    midi = mido.MidiFile(write_midi(score, tmp_path / "plain.mid"))
    assert [t.name for t in midi.tracks] == ["", "Melody"]
    assert not any(m.type == "text" for t in midi.tracks for m in t)
    assert read_midi(tmp_path / "plain.mid").chords == []
    # the chord track is added after the others, which stay byte for byte as they were
    with_chords = mido.MidiFile(write_midi(chord_score(), tmp_path / "chords.mid"))
    assert [t.name for t in with_chords.tracks] == ["", "Melody", CHORD_TRACK]
    assert [list(t) for t in with_chords.tracks[:2]] == [list(t) for t in midi.tracks]


@pytest.mark.parametrize(
    "text, written",
    [
        ("Cd", "Cdim"),  # the Nottingham shorthands, written as every reader knows them
        ("Ca", "Caug"),
        ("A7/e", "A7/E"),
        ("D/f+", "D/F#"),
        ("C-7", "C-7"),
        ("(E7)", "(E7)"),
        ("F\u266fm", "F#m"),  # the sharp sign has an ASCII stand-in
        ("C\u00b0", "Cdim"),  # no ASCII stand-in: the canonical spelling
        ("C\u00f87", "Cm7b5"),  # "Co7", the stand-in, would be another chord (diminished seventh)
        ("C\u03947", "Cmaj7"),
    ],
)
def test_a_symbol_is_written_in_its_own_spelling_where_that_is_ascii_and_the_same_chord(tmp_path, text, written):
    chord = parse_chord(text, 0.0)
    path = write_midi(Score(parts=[melody(beats=4)], chords=[chord]), tmp_path / "spelled.mid")
    assert [m.text for m in mido.MidiFile(path).tracks[-1] if m.type == "text"] == [written]
    back = read_midi(path).chords
    assert back == [chord] and back[0].text == written


def test_the_chord_channel_is_one_no_part_uses():
    def score(*drums: bool) -> Score:
        return Score(parts=[Part(f"p{i}", 0, d, [Note(60, 0, 1)]) for i, d in enumerate(drums)])

    assert chord_channel(score()) == 0
    assert chord_channel(score(False, False)) == 2
    assert chord_channel(score(*[False] * 9)) == 10  # not 9, the drums' channel
    assert chord_channel(score(True)) == 0
    assert chord_channel(score(*[False] * 15)) == 15  # every melodic channel is taken: the last


def user_file(path, name: str, *texts: str, fmt: int = 1) -> None:
    """A file from elsewhere: a melody track, then a track called `name` with notes (C major
    triads) and `texts` as text events."""
    midi = mido.MidiFile(type=fmt, ticks_per_beat=96)
    track = mido.MidiTrack([mido.MetaMessage("track_name", name=name)])
    for text in texts:
        track.append(mido.MetaMessage("text", text=text))
    for pitch in (60, 64, 67):
        track.append(mido.Message("note_on", channel=1, note=pitch, velocity=70))
    for i, pitch in enumerate((60, 64, 67)):
        track.append(mido.Message("note_off", channel=1, note=pitch, time=0 if i else 384))
    if fmt == 1:
        tune = mido.MidiTrack([mido.MetaMessage("track_name", name="Tune")])
        tune += [mido.Message("note_on", note=72, velocity=90), mido.Message("note_off", note=72, time=384)]
        midi.tracks.append(tune)
    midi.tracks.append(track)
    midi.save(path)


@pytest.mark.parametrize(
    "name, texts",
    [
        ("Chords", ()),  # notes and no text: a part of chords someone played
        ("chords", ("verse",)),  # a text that is not a chord symbol
        ("Chords", ("C", "intro")),
        ("Comping", ("C",)),  # another name
    ],
)
def test_a_users_chords_track_without_chord_symbols_stays_a_part(tmp_path, name, texts):
    path = tmp_path / "user.mid"
    user_file(path, name, *texts)
    score = read_midi(path)
    assert score.chords == []
    assert [(p.name, [n.pitch for n in p.notes]) for p in score.parts] == [("Tune", [72]), (name, [60, 64, 67])]


def test_a_users_chords_track_with_chord_symbols_becomes_chords(tmp_path):
    path = tmp_path / "user.mid"
    user_file(path, " CHORDS ", "C")  # its notes, C E G, are the symbol's close voicing
    score = read_midi(path)
    assert [p.name for p in score.parts] == ["Tune"]
    assert score.chords == [parse_chord("C", 0.0)] and score.chords[0].text == "C"


@pytest.mark.parametrize("texts", [("G",), ("Am",), ("C7", "Am")])
def test_chord_symbols_over_notes_that_are_not_their_sounding_keep_the_notes_as_a_part(tmp_path, texts):
    """A part played on a track called Chords, under chord symbols (here a C major triad under
    G, or A minor, whose voicing A C E has no G, also where it replaces C7 at once): the symbols are
    read, the notes stay a part."""
    path = tmp_path / "user.mid"
    user_file(path, "Chords", *texts)
    score = read_midi(path)
    assert score.chords == [parse_chord(t, 0.0) for t in texts]
    assert [(p.name, [n.pitch for n in p.notes]) for p in score.parts] == [("Tune", [72]), ("Chords", [60, 64, 67])]


def test_a_type_0_file_keeps_its_one_track_whatever_it_is_called(tmp_path):
    path = tmp_path / "type0.mid"
    user_file(path, "Chords", "C", fmt=0)
    score = read_midi(path)
    assert score.chords == [] and [n.pitch for n in score.parts[0].notes] == [60, 64, 67]


def test_meta_events_on_the_chord_track_still_count(tmp_path):
    """Only the chord track's notes are taken out: a tempo change written on it is read."""
    path = tmp_path / "tempo.mid"
    user_file(path, "Chords", "C")
    midi = mido.MidiFile(path)
    midi.tracks[-1].insert(1, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(75), time=0))
    midi.save(path)
    score = read_midi(path)
    assert score.tempos == [Tempo(0.0, 75.0)]
    assert [p.name for p in score.parts] == ["Tune"] and score.chords == [parse_chord("C")]


def test_a_file_of_chords_alone_reads_as_chords_without_parts(tmp_path):
    score = Score(chords=[parse_chord("G"), parse_chord("D7", 4.0)])
    back = read_midi(write_midi(score, tmp_path / "changes.mid"))
    assert back.parts == [] and back.chords == score.chords


def test_a_chord_track_edited_in_a_daw_keeps_its_notes(tmp_path):
    """Chord notes moved off their symbols (a DAW user's comping) are no longer the symbols'
    sounding: they are read as a part, and the symbols as chords; written again, both stay."""
    path = write_midi(chord_score(), tmp_path / "lead.mid")
    midi = mido.MidiFile(path)
    track = midi.tracks[-1]
    first = next(i for i, m in enumerate(track) if m.type == "note_on")
    track[first] = track[first].copy(note=track[first].note + 1)  # G B D -> G# B D
    midi.save(path)
    back = read_midi(path)
    assert back.chords == chord_score().chords
    assert [p.name for p in back.parts] == ["Melody", CHORD_TRACK]
    again = read_midi(write_midi(back, tmp_path / "again.mid"))
    assert again.chords == back.chords and [p.name for p in again.parts] == ["Melody", CHORD_TRACK]
    assert note_tuples(again.parts[1]) == note_tuples(back.parts[1])


def test_read_score_reads_the_chords(tmp_path):
    score = pickup_chord_score()
    score.title = "tune"  # as read_midi names it, after the file
    path = write_midi(score, tmp_path / "tune.mid")
    back = read_score(path)
    assert_same_chords(back.chords, score.chords)
    assert [p.name for p in back.parts] == ["Melody"]
    assert midi_bytes(back) == midi_bytes(score)  # written again, the same file


def test_an_arrangement_shows_its_chord_symbols_without_sounding_them(tmp_path):
    import mido

    from cadenza.chords import parse_chord
    from cadenza.score import with_chords_sounding

    tune = Part("Melody", 73, False, [Note(67, 0, 2), Note(71, 2, 2), Note(74, 4, 4)])
    bass = Part("Bass", 32, False, [Note(43, 0, 4), Note(38, 4, 4)])
    score = Score(parts=[tune, bass], meters=[Meter(0.0, 4, 4)], chords=[parse_chord("G", 0), parse_chord("D7", 4)])
    write_midi(score, tmp_path / "band.mid")
    track = mido.MidiFile(tmp_path / "band.mid").tracks[-1]
    assert track.name == CHORD_TRACK and not [m for m in track if m.type == "note_on"]
    assert [m.text for m in track if m.type == "text"] == ["G", "D7"]
    back = read_midi(tmp_path / "band.mid")
    assert [p.name for p in back.parts] == ["Melody", "Bass"] and back.chords == score.chords
    assert with_chords_sounding(score) is score  # its audio does not play the symbols again
