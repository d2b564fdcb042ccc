import pytest

from cadenza.errors import MusicError, TokenizeError
from cadenza.score import Key, Note, Score, name_to_pitch, parse_key, parse_meter, pitch_to_name, transpose
from cadenza.theory import estimate_key
from cadenza.tokenize.voices import BOS, EOS, HOLD, PITCH0, REST, VoicesConfig, VoicesTokenizer

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


def test_estimate_key_finds_the_chorale_key(chorale):
    assert str(estimate_key(chorale.notes())) == "F# minor"


def test_score_json_round_trip(chorale):
    assert Score.from_dict(chorale.to_dict()) == chorale


def test_validate_names_the_musical_fact():
    s = make_score()
    s.parts[0].notes.append(Note(60, 3.0, 0.0))
    with pytest.raises(MusicError, match="ends before it starts: pitch 60"):
        s.validate()


def test_voices_round_trip_is_lossless_on_the_grid(chorale):
    tok = VoicesTokenizer(VoicesConfig(n_voices=4, steps_per_beat=4))
    ids = tok.encode(chorale)
    assert ids[0] == BOS and ids[-1] == EOS
    back = tok.decode(ids, tempo_bpm=chorale.tempo_bpm)
    assert str(back.key) == "F# minor" and str(back.meter) == "4/4"
    assert tok.encode(back) == ids  # decoding then encoding gives the same tokens
    for original, decoded in zip(tok.voices_of(chorale), back.parts):
        assert [(n.pitch, n.start_beats, n.duration_beats) for n in original] == \
               [(n.pitch, n.start_beats, n.duration_beats) for n in decoded.notes]


def test_bar_tokens_count_down_to_the_end():
    tok = VoicesTokenizer(VoicesConfig(n_voices=4, steps_per_beat=2, max_bars_left=8))
    ids = tok.encode(make_score(bars=3))
    bars = [t - tok.bar0 for t in ids if tok.is_bar(t)]
    assert bars == [2, 1, 0]
    cells = [t for t in ids if t in (REST, HOLD) or PITCH0 <= t < PITCH0 + 128]
    assert len(cells) == 3 * 8 * 4  # 3 bars x 8 eighth-note steps x 4 voices


def test_decode_survives_malformed_tokens():
    tok = VoicesTokenizer(VoicesConfig(n_voices=2))
    score = tok.decode([BOS, HOLD, tok.bar0, 9999, PITCH0 + 60, HOLD, REST, HOLD, REST, REST])
    assert [n.pitch for p in score.parts for n in p.notes] == [60]


def test_unsupported_meter_is_a_clear_error():

    tok = VoicesTokenizer(VoicesConfig(n_voices=4, meters=("4/4",)))
    s = make_score()
    s.meters = [parse_meter("7/8")]
    with pytest.raises(TokenizeError, match="7/8 is not supported"):
        tok.encode(s)


def test_meter_changes_are_refused_not_misaligned():
    from cadenza.score import Meter

    s = make_score(bars=3)
    s.meters = [Meter(0.0, 4, 4), Meter(8.0, 3, 4)]
    with pytest.raises(TokenizeError, match="4/4 then 3/4"):
        VoicesTokenizer(VoicesConfig(n_voices=4)).encode(s)
    s.meters = [Meter(0.0, 4, 4), Meter(8.0, 4, 4)]  # a restated meter is no change
    assert VoicesTokenizer(VoicesConfig(n_voices=4)).encode(s)
