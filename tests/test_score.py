"""cadenza.score: pitch names, keys and meters by name, transposition, JSON, validation."""

import pytest

from cadenza.errors import MusicError
from cadenza.score import Key, Note, Score, name_to_pitch, parse_key, parse_meter, pitch_to_name, transpose
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


def test_validate_names_the_musical_fact():
    s = make_score()
    s.parts[0].notes.append(Note(60, 3.0, 0.0))
    with pytest.raises(MusicError, match="ends before it starts: pitch 60"):
        s.validate()
