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


def test_a_top_voice_running_a_bar_ahead_round_trips_and_is_padded_with_rests(chorale):
    tok = VoicesTokenizer(VoicesConfig(n_voices=4, steps_per_beat=4, lead_bars=1))
    plain = VoicesTokenizer(VoicesConfig(n_voices=4, steps_per_beat=4))
    ids, flat = tok.encode(chorale), plain.encode(chorale)
    bar = tok.steps_per_bar(chorale.meter)
    assert len(ids) == len(flat) + 1 + bar * 4  # one more bar: its BAR token and its cells
    cells = [t for t in ids if t in (REST, HOLD) or PITCH0 <= t < PITCH0 + 128]
    flat_cells = [t for t in flat if t in (REST, HOLD) or PITCH0 <= t < PITCH0 + 128]
    steps = [cells[i : i + 4] for i in range(0, len(cells), 4)]
    flat_steps = [flat_cells[i : i + 4] for i in range(0, len(flat_cells), 4)]
    assert [s[0] for s in steps[: len(flat_steps)]] == [s[0] for s in flat_steps]  # the melody in time
    assert all(s[1:] == [REST] * 3 for s in steps[:bar])  # the lower voices start a bar late
    assert [s[1:] for s in steps[bar:]] == [s[1:] for s in flat_steps]
    assert all(s[0] == REST for s in steps[len(flat_steps) :])  # and the melody's padding at the end
    back = tok.decode(ids, tempo_bpm=chorale.tempo_bpm)
    assert [[(n.pitch, n.start_beats, n.duration_beats) for n in p.notes] for p in back.parts] == [
        [(n.pitch, n.start_beats, n.duration_beats) for n in line] for line in tok.voices_of(chorale)
    ]
    with pytest.raises(ValueError, match="lead_bars must be 0 or more, and 0 for one voice"):
        VoicesConfig(n_voices=1, lead_bars=1)
