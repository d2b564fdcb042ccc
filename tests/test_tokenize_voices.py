"""cadenza.tokenize.voices: the voices tokenizer's round trip, bar countdown, malformed input, meters."""

import pytest

from cadenza.errors import TokenizeError
from cadenza.score import parse_meter
from cadenza.tokenize.voices import BOS, EOS, HOLD, PITCH0, REST, VoicesConfig, VoicesTokenizer
from conftest import make_score


def test_voices_round_trip_is_lossless_on_the_grid(chorale):
    tok = VoicesTokenizer(VoicesConfig(n_voices=4, steps_per_beat=4))
    ids = tok.encode(chorale)
    assert ids[0] == BOS and ids[-1] == EOS
    back = tok.decode(ids, tempo_bpm=chorale.tempo_bpm)
    assert str(back.key) == "F# minor" and str(back.meter) == "4/4"
    assert tok.encode(back) == ids  # decoding then encoding gives the same tokens
    for original, decoded in zip(tok.voices_of(chorale), back.parts):
        assert [(n.pitch, n.start_beats, n.duration_beats) for n in original] == [
            (n.pitch, n.start_beats, n.duration_beats) for n in decoded.notes
        ]


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
