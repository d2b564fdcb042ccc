"""cadenza.tokenize.piano: REMI with the hands as programs, behind composer and key tokens."""

from __future__ import annotations

import numpy as np
import pytest

from cadenza.errors import TokenizeError
from cadenza.score import Key, Meter, Note, Part, Score, Tempo
from cadenza.tokenize.piano import HANDS, PianoConfig, PianoTokenizer, hands

TOK = PianoTokenizer(PianoConfig(composers=("Bach", "Chopin")))


def piano_piece(meter=Meter(0.0, 3, 4), bars=4) -> Score:
    """A right hand of eighths and triplets over a left hand of dotted halves and chords."""
    right, left = [], []
    size = meter.bar_beats
    for b in range(bars):
        t = b * size
        right += [Note(72 + (i % 3) * 2, t + i * 0.5, 0.5) for i in range(4)]
        right += [Note(79 - i, t + 2 + i / 3, 1 / 3) for i in range(3)]
        left += [Note(48, t, size), Note(55, t + 1, 2.0), Note(64, t + 1, 2.0)]
    return Score(
        parts=[Part("Upper", notes=right), Part("Lower", notes=left)],
        tempos=[Tempo(0.0, 96.0)],
        meters=[meter],
        keys=[Key(0.0, 0, "major")],
    )


def tuples(notes):
    return sorted((n.pitch, round(n.start_beats, 4), round(n.duration_beats, 4)) for n in notes)


def test_a_piece_decodes_to_its_notes_in_their_hands_with_meter_and_key():
    score = piano_piece()
    ids = TOK.encode(score, "Chopin")
    assert ids[:3] == [TOK.bos, TOK.composer_token("Chopin"), TOK.key_token(Key(0.0, 0, "major"))]
    back = TOK.decode(ids, tempo_bpm=96.0)
    assert [p.name for p in back.parts] == list(HANDS)
    assert tuples(back.parts[0].notes) == tuples(score.parts[0].notes)
    assert tuples(back.parts[1].notes) == tuples(score.parts[1].notes)
    assert [str(m) for m in back.meters] == ["3/4"] and str(back.keys[0]) == "C major"
    assert back.tempo_bpm == 96.0


def test_one_part_is_split_into_hands_at_middle_c_and_more_parts_by_height():
    one = Score(parts=[Part("p", notes=[Note(60, 0, 1), Note(59, 0, 1), Note(40, 1, 1)])])
    assert [[n.pitch for n in h] for h in hands(one)] == [[60], [59, 40]]
    three = Score(
        parts=[
            Part("mid", notes=[Note(60, 0, 1)]),
            Part("low", notes=[Note(40, 0, 1)]),
            Part("hi", notes=[Note(80, 0, 1)]),
        ]
    )
    assert [[n.pitch for n in h] for h in hands(three)] == [[80, 60], [40]]


def test_transposing_moves_pitches_and_the_key_token_together():
    ids = np.array(TOK.encode(piano_piece(), None))
    up = TOK.transpose(ids, 5)
    moved = TOK.pitch_of[up][TOK.pitch_of[ids] >= 0] - TOK.pitch_of[ids][TOK.pitch_of[ids] >= 0]
    assert set(moved.tolist()) == {5}
    assert TOK.token_key(int(ids[2])) == Key(0.0, 0, "major")
    assert TOK.token_key(int(up[2])) == Key(0.0, 5, "major")  # C major up a fourth: F major
    assert (up[TOK.pitch_of[ids] < 0][3:] == ids[TOK.pitch_of[ids] < 0][3:]).all()  # nothing else moves


def test_a_major_signature_over_minor_music_is_read_as_its_relative_minor():
    a_minor = [Note(p, i * 0.5, 0.5) for i, p in enumerate([69, 72, 76, 69, 71, 68, 64, 69] * 4)]
    a_minor += [Note(45, i * 2.0, 2.0) for i in range(8)]
    score = Score(parts=[Part("p", notes=a_minor)], keys=[Key(0.0, 0, "major")])  # no sharps or flats
    assert TOK.token_key(TOK.encode(score)[2]) == Key(0.0, 9, "minor")


def test_composers_are_found_whatever_their_case_and_none_is_a_token_of_its_own():
    assert TOK.composer_token("chopin") == TOK.composer_token("Chopin") != TOK.composer_token(None)
    assert TOK.composer_token("none") == TOK.composer_token(None) == TOK.composer0
    with pytest.raises(KeyError):
        TOK.composer_token("Mozart")
    with pytest.raises(ValueError, match="none"):
        PianoConfig(composers=("none",))


def test_an_empty_score_and_an_unwritable_meter_are_refused():
    with pytest.raises(TokenizeError, match="no notes"):
        TOK.encode(Score(parts=[Part("p")]))
    with pytest.raises(TokenizeError, match="11/4"):
        TOK.meter_token(Meter(0.0, 11, 4))


def test_the_tokenizer_saves_and_loads_itself():
    again = PianoTokenizer.from_dict(TOK.to_dict())
    assert (
        again.to_dict()
        == TOK.to_dict()
        == {
            "kind": "piano",
            "composers": ("Bach", "Chopin"),
            "steps_per_beat": 12,
            "pitch_low": 21,
            "pitch_high": 108,
        }
    )
    assert again.vocab_size == TOK.vocab_size == TOK.key0 + 24
