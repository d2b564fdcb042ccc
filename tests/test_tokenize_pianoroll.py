"""cadenza.tokenize.pianoroll: steps as ascending pitches then END, and the grammar mask that makes
a causal model's step probabilities normalized (checked by enumeration in test_families_benchmark.py)."""

import pytest
import torch

from cadenza.errors import TokenizeError
from cadenza.tokenize.pianoroll import BOS, END, PAD, PITCH0, PianoRollConfig, PianoRollTokenizer, allowed_next

TOK = PianoRollTokenizer(PianoRollConfig(60, 63))  # four pitches: 16 possible steps


def test_tokenizer_round_trip_and_canonical_order():
    steps = [[63, 60], [], [61, 62, 60]]
    tokens = TOK.encode(steps)
    assert tokens[0] == BOS and tokens.count(END) == 3
    assert TOK.decode(tokens) == [[60, 63], [], [60, 61, 62]]


def test_pitches_outside_the_range_are_refused_and_shift_range_keeps_them_inside():
    with pytest.raises(TokenizeError, match="64 is outside 60..63"):
        TOK.encode([[60], [64]])
    assert TOK.shift_range([[61], [], [62, 63]]) == (-1, 0)
    assert TOK.shift_range([[], []]) == (0, 0)


def test_allowed_next_is_the_step_grammar():
    v = TOK.vocab_size
    mask = allowed_next(torch.tensor([BOS, END, PITCH0, PITCH0 + 2, PITCH0 + 3]), v)
    pitches = list(range(PITCH0, v))
    assert [t for t in range(v) if mask[0, t]] == [END] + pitches  # a step begins: any pitch, or END
    assert [t for t in range(v) if mask[1, t]] == [END] + pitches
    assert [t for t in range(v) if mask[2, t]] == [END] + pitches[1:]  # after a pitch: a higher one, or END
    assert [t for t in range(v) if mask[3, t]] == [END, PITCH0 + 3]
    assert [t for t in range(v) if mask[4, t]] == [END]  # the highest pitch: only END
    assert not mask[:, PAD].any() and not mask[:, BOS].any()
