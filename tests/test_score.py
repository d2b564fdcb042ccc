"""cadenza.score: pitch names, keys and meters by name, transposition, JSON, validation."""

import pytest

from cadenza.errors import MusicError
from cadenza.score import (
    Key,
    Note,
    Part,
    Score,
    excerpt,
    keys_released,
    name_to_pitch,
    one_line,
    overlaps,
    parse_key,
    parse_meter,
    pitch_to_name,
    transpose,
    without_grace_notes,
)
from conftest import make_score


def test_pitch_names_are_a_symmetric_pair():
    assert pitch_to_name(60) == "C4" and name_to_pitch("C4") == 60
    assert all(name_to_pitch(pitch_to_name(p)) == p for p in range(128))
    assert name_to_pitch("Bb5") == 82 and name_to_pitch("F#3") == 54
    with pytest.raises(MusicError):
        name_to_pitch("H4")


def test_keys_and_meters_by_name():
    assert parse_key("D major") == Key(0.0, 2, "major")
    assert parse_key("F# minor") == Key(0.0, 6, "minor")
    assert parse_key("Bb") == Key(0.0, 10, "major")
    assert parse_key("d") == Key(0.0, 2, "minor") and parse_key("f#") == Key(0.0, 6, "minor")  # as a form's keys
    assert parse_key("d major") == Key(0.0, 2, "major")
    with pytest.raises(MusicError, match="D major"):
        parse_key("H major")
    assert parse_meter("6/8").bar_beats == 3.0
    with pytest.raises(MusicError):
        parse_meter("4/5")


def test_transpose_moves_notes_and_key(chorale):
    up = transpose(chorale, 2)
    assert [n.pitch + 2 for n in chorale.notes()] == [n.pitch for n in up.notes()]
    assert up.key.tonic == (chorale.key.tonic + 2) % 12


def test_score_json_round_trip(chorale):
    assert Score.from_dict(chorale.to_dict()) == chorale


def test_the_composer_survives_json_and_old_dicts_without_it_still_load():
    score = make_score(bars=1)
    score.title, score.composer = "Chorale", "Cadenza (chorales model)"
    back = Score.from_dict(score.to_dict())
    assert back.composer == "Cadenza (chorales model)" and back == score
    assert transpose(score, 3).composer == "Cadenza (chorales model)"
    old = score.to_dict()
    del old["composer"]  # written before Scores had a composer
    assert Score.from_dict(old).composer == ""


def test_validate_names_the_musical_fact():
    s = make_score()
    s.parts[0].notes.append(Note(60, 3.0, 0.0))
    with pytest.raises(MusicError, match="ends before it starts: pitch 60"):
        s.validate()


def test_a_key_keeps_the_spelling_it_was_given():
    """Cb major is seven flats, not B major's five sharps: the tonic's name travels with the key."""
    from cadenza.theory import key_signature

    spelled = {"Cb major": -7, "Gb major": -6, "F# major": 6, "C# major": 7, "B major": 5, "Ab minor": -7}
    for text, sharps in spelled.items():
        key = parse_key(text)
        assert (str(key), key_signature(key)) == (text, sharps)
    assert parse_key("Cb major") == parse_key("B major")  # they sound the same
    assert str(parse_key("G# major")) == "Ab major"  # no key signature of eight sharps
    assert str(parse_key("e♭ Minor")) == "Eb minor"
    assert str(Key(0.0, 1, "major")) == "Db major" and str(Key(0.0, 8, "minor")) == "G# minor"  # unnamed: the usual
    cb = Score(keys=[parse_key("Cb major")])
    assert str(Score.from_dict(cb.to_dict()).key) == "Cb major"
    assert str(Score.from_dict({**cb.to_dict(), "keys": [[0.0, 11, "major"]]}).key) == "B major"  # older caches
    assert str(transpose(cb, 2).key) == "Db major"  # a moved key takes its usual name


def test_the_same_key_wherever_it_starts():
    from cadenza.theory import thirds

    g, later = parse_key("G major"), Key(16.0, 7, "major")
    assert g != later and g.same_key(later) and later.same_key(g)
    assert not g.same_key(parse_key("G minor")) and not g.same_key(parse_key("D major"))
    assert parse_key("Cb major").same_key(parse_key("B major"))
    assert thirds(7) == (10, 11) and thirds(11) == (2, 3)  # G: B-flat and B; B: D and D-sharp


def test_an_excerpt_is_its_bars_from_beat_0():
    from cadenza.score import Part, Pedal, Tempo, bar_starts, excerpt

    notes = [Note(60 + i % 12, i * 1.0, 2.0 if i % 4 == 3 else 1.0) for i in range(16)]
    score = Score(
        parts=[Part(notes=notes, pedals=[Pedal(3.0, 6.0)])],
        tempos=[Tempo(0.0, 100.0), Tempo(6.0, 80.0)],
        keys=[Key(0.0, 0, "major")],
        fermatas_beats=[7.0, 15.0],
    )
    assert bar_starts(score) == [0.0, 4.0, 8.0, 12.0, 16.0]  # the last note rings into a fifth bar
    part = excerpt(score, 2, 2)
    assert [n.start_beats for n in part.notes()] == [0.0, 1.0, 2.0, 3.0]
    assert part.notes()[-1].duration_beats == 1.0  # cut at the excerpt's end
    assert part.tempos == [Tempo(0.0, 100.0), Tempo(2.0, 80.0)] and part.fermatas_beats == [3.0]
    assert part.parts[0].pedals == [Pedal(0.0, 4.0)]
    with pytest.raises(MusicError, match="bars 1-5"):
        excerpt(score, 3, 9)


def test_church_modes_parse_and_every_format_writes_them(tmp_path):
    from cadenza.io import read_score, write_score
    from cadenza.score import Part

    assert [str(parse_key(t)) for t in ("Ddor", "g Mix", "E phrygian", "C aeolian")] == [
        "D dorian",
        "G mixolydian",
        "E phrygian",
        "C minor",
    ]
    # spelled so the signature needs seven sharps or flats at most
    assert [str(parse_key(t)) for t in ("Eb locrian", "Gb dorian", "Db dorian")] == [
        "D# locrian",
        "F# dorian",
        "Db dorian",
    ]
    for name in ("Db dorian", "B locrian"):  # MIDI knows no Dbm; music21 reads no K:Bloc
        key = parse_key(name)
        notes = [Note(key.tonic + 60 + step, float(i), 1.0) for i, step in enumerate((0, 1, 3, 5))]
        score = Score(parts=[Part("Melody", notes=notes)], keys=[key])
        for suffix in (".mid", ".abc", ".musicxml"):
            back = read_score(write_score(score, tmp_path / f"{name.replace(' ', '-')}{suffix}"))
            assert [n.pitch for n in back.notes()] == [n.pitch for n in notes], (name, suffix)


def test_a_piano_key_struck_again_ends_the_note_before_in_either_hand_and_only_from_since():
    right = Part("Right hand", 0, notes=[Note(60, 0.0, 4.0), Note(64, 0.0, 1.0)])
    left = Part("Left hand", 0, notes=[Note(60, 2.0, 1.0), Note(48, 0.0, 2.0), Note(48, 1.0, 1.0)])
    flute = Part("Flute", 73, notes=[Note(72, 0.0, 4.0), Note(72, 1.0, 1.0)])
    out = keys_released(Score(parts=[right, left, flute]))
    assert [(n.pitch, n.start_beats, n.duration_beats) for n in out.parts[0].notes] == [(60, 0.0, 2.0), (64, 0.0, 1.0)]
    assert [(n.pitch, n.duration_beats) for n in out.parts[1].notes] == [(60, 1.0), (48, 1.0), (48, 1.0)]
    assert out.parts[2] == flute  # not a piano
    kept = keys_released(Score(parts=[right, left]), since=2.5)  # the strikes at 1 and 2 are the prompt's
    assert kept.parts == [right, left]
    # a key struck by both hands at once, then again: both notes end there, whichever hand is first
    long, short = (
        Part("Right hand", 0, notes=[Note(60, 0.0, 4.0)]),
        Part("Left hand", 0, notes=[Note(60, 0.0, 1.0), Note(60, 2.0, 1.0)]),
    )
    for order in ([long, short], [short, long]):
        assert (
            max(n.end_beats for p in keys_released(Score(parts=order)).parts for n in p.notes if n.start_beats == 0)
            == 2.0
        )
    # a held note outlives a shorter one struck before `since`, and is cut by a strike after it
    held = Part("Right hand", 0, notes=[Note(60, 0.0, 10.0), Note(60, 1.0, 1.0), Note(60, 8.0, 1.0)])
    assert [n.end_beats for n in keys_released(Score(parts=[held]), since=8.0).parts[0].notes] == [8.0, 2.0, 9.0]


def test_a_lead_sheet_continued_as_one_line_loses_its_chord_symbols_others_keep_them():
    """The pianist continued a lead sheet into its one part, and the last symbol sounded on under
    every new bar (a Chords track holding G to the end)."""
    from cadenza.chords import parse_chord
    from cadenza.score import Note, Part, Score, without_a_last_chord_sounding

    melody = Part("Melody", 0, False, [Note(67, float(i), 1.0) for i in range(8)])
    lead = Score(parts=[melody], chords=[parse_chord("G", 0.0), parse_chord("D", 4.0)])
    assert without_a_last_chord_sounding(lead).chords == []
    choir = Score(parts=[melody, Part("Bass", 0, False, [Note(43, 0.0, 8.0)])], chords=lead.chords)
    assert without_a_last_chord_sounding(choir).chords == lead.chords


# ---------------------------------------------------------------------------------------------
# grace notes (marked "grace") beside the notes they lead to


def _graced_tune() -> Score:
    """Four bars of a melody, a grace note (or a run of two) before some of its notes."""
    grace = ("grace",)
    melody = [Note(74 - (i % 5), float(i), 1.0) for i in range(16)]
    melody += [Note(76, 3.9375, 0.0625, 80, grace), Note(79, 7.875, 0.0625, 80, grace)]
    melody += [Note(78, 7.9375, 0.0625, 80, grace), Note(72, 11.9375, 0.0625, 80, grace)]
    return Score(parts=[Part("Fiddle", 40, False, melody)], keys=[Key(0.0, 2, "major", "D")])


def test_grace_runs_end_at_the_first_note_they_reach():
    """A reviewer's case: a lone grace before a 16th and a run before the next note were one run."""
    from cadenza.score import grace_runs

    grace = ("grace",)
    notes = [Note(72, 0.0, 1.0), Note(74, 0.9375, 0.0625, 80, grace), Note(72, 1.0, 0.0625)]
    notes += [Note(77, 1.0625, 0.0625, 80, grace), Note(76, 1.125, 0.0625, 80, grace), Note(74, 1.1875, 1.0)]
    plain, runs, orphans = grace_runs(notes)
    assert [(at, [[n.pitch for n in c] for c in run]) for at, run in runs] == [(1.0, [[74]]), (1.1875, [[77], [76]])]
    assert not orphans and len(plain) == 3


def test_an_excerpt_keeps_each_grace_note_with_its_note():
    """A reviewer's case: `perform --bars 2-3` dropped the graces before bar 2's first note (begun
    before the cut) and kept, at its end, those of the note after it, leading to nothing."""
    score = _graced_tune()
    part = excerpt(score, 2, 3).parts[0]
    graces = sorted((n.start_beats, n.pitch) for n in part.notes if "grace" in n.marks)
    # the run before bar 3; not the grace of bar 2's first note (it would begin before beat 0),
    # nor the one before bar 4's first note (11.9375 in the piece, 7.9375 here)
    assert graces == [(3.875, 79), (3.9375, 78)]
    assert min(n.start_beats for n in part.notes) == 0.0


def test_the_analysis_and_the_models_grids_hear_no_ornaments():
    """A reviewer's cases: graces made the analyzer cut the note before them and hear a half
    cadence; the measures counted polyphony; the chords model's melody and the voices grid took
    them for 16ths."""
    from cadenza.evaluate.measures import measure_piece
    from cadenza.plan.analyze import analyze
    from cadenza.tokenize.chord_beats import melody_line
    from cadenza.tokenize.voices import VoicesConfig, VoicesTokenizer

    graced = _graced_tune()
    plain = without_grace_notes(graced)
    assert len(plain.parts[0].notes) == 16
    assert repr(analyze(graced)) == repr(analyze(plain))
    assert measure_piece(graced)["polyphony"] == measure_piece(plain)["polyphony"]
    assert melody_line(graced) == melody_line(plain)
    tokenizer = VoicesTokenizer(VoicesConfig(n_voices=1, steps_per_beat=16))  # a 64th a step: a grace its own
    assert tokenizer.cells(graced) == tokenizer.cells(plain)


def test_a_melody_with_grace_notes_is_one_line_in_its_own_midi(tmp_path):
    """A reviewer's case: read back from Cadenza's MIDI (which has no marks), the graces overlapped
    the notes before them, and a reel was taken for chords. The note before a run now ends where
    it begins, as a player lets go."""
    from cadenza.io import read_score, write_score

    write_score(_graced_tune(), tmp_path / "tune.mid")
    back = read_score(tmp_path / "tune.mid").parts[0].notes
    assert len(back) == 20 and one_line(back) and overlaps(back) == 0
    assert [n.end_beats for n in back if n.start_beats == 3.0] == [3.9375]
