"""cadenza.families.voices: training batches (windows from a bar line after the BOS KEY METER
prefix, targets on cells only, transpositions in range that move the key too, a state that
reproduces them) and evaluation windows that score every cell once."""

import json

import numpy as np
import pytest
import torch

from cadenza.data.corpus import Piece
from cadenza.families.voices import PREFIX_LEN, Batches, cell_targets, tokenize_pieces, transpose_tokens
from cadenza.score import Key, Meter, transpose
from cadenza.tokenize.voices import BOS, EOS, HOLD, N_PITCHES, PAD, PITCH0, REST, VoicesConfig, VoicesTokenizer
from conftest import make_score

TOK = VoicesTokenizer(VoicesConfig(n_voices=4, steps_per_beat=2))


def is_cell(t: int) -> bool:
    return t in (REST, HOLD) or PITCH0 <= t < PITCH0 + N_PITCHES


def expected_window(p, bar: int, shift: int, n: int) -> np.ndarray:
    """The first n tokens of the window of piece p from bar `bar`, transposed by `shift`, worked
    out without transpose_tokens: the prefix with the key moved, then the piece from the bar on."""
    key = TOK.token_key(int(p.tokens[1]))
    prefix = [BOS, TOK.key_token(Key(0.0, (key.tonic + shift) % 12, key.mode)), int(p.tokens[2])]
    start = int(p.bar_starts[bar])
    body = p.tokens[start : start + n - PREFIX_LEN].copy()
    is_pitch = (body >= PITCH0) & (body < PITCH0 + N_PITCHES)
    body[is_pitch] += shift
    return np.concatenate([prefix, body])


def locate(x: np.ndarray, pieces) -> list[tuple[int, int, int]]:
    """Every (piece, bar, shift) whose window begins with x's tokens (x up to its padding)."""
    n = int((x != PAD).sum())
    assert (x[:n] != PAD).all() and (x[n:] == PAD).all()  # tokens, then padding only
    found = []
    for i, p in enumerate(pieces):
        for bar, start in enumerate(p.bar_starts):
            body = p.tokens[start : start + n - PREFIX_LEN]
            if len(body) != n - PREFIX_LEN:
                continue
            pitch = (body >= PITCH0) & (body < PITCH0 + N_PITCHES)
            if not (x[PREFIX_LEN:n][~pitch] == body[~pitch]).all():
                continue
            # the shift is the first pitch's; a window without pitches could have any
            shifts = [int(x[PREFIX_LEN:n][pitch][0] - body[pitch][0])] if pitch.any() else range(-127, 128)
            found += [(i, bar, s) for s in shifts if (expected_window(p, bar, s, n) == x[:n]).all()]
    return found


@pytest.fixture(scope="module")
def extremes():
    """The hand-made score moved near the top (highest pitch 126) and, in 3/4 so that no window
    could come from either, near the bottom (lowest pitch 3) of MIDI's range, tokenized:
    transposition must not push them out of it."""
    low = transpose(make_score(bars=4), -45)
    low.meters = [Meter(0.0, 3, 4)]
    pieces = [Piece("high", transpose(make_score(bars=4), 50)), Piece("low", low)]
    tokenized, skipped = tokenize_pieces(pieces, TOK)
    assert not skipped and tokenized[0].high == 126 and tokenized[1].low == 3
    return tokenized


def test_windows_start_at_a_bar_after_the_prefix_and_targets_are_cells_only(data):
    batches = Batches(data, TOK, 64, 5, seed=0)
    seen = set()
    for _ in range(4):
        x, y = (a.numpy() for a in batches.next(8))
        assert x.shape == y.shape == (8, 64)
        for row_x, row_y in zip(x, y):
            found = locate(row_x, data)
            assert found, row_x  # the prefix, then the (transposed) piece from one of its bar lines
            assert row_x[0] == BOS and TOK.is_bar(int(row_x[PREFIX_LEN]))
            n = int((row_x != PAD).sum())
            # y[i] is the token after x[i] where that is a cell (REST, HOLD, pitch), else PAD
            want = [t if is_cell(t) else PAD for t in row_x[1:n].tolist()]
            assert row_y[: n - 1].tolist() == want
            assert is_cell(int(row_y[n - 1])) or row_y[n - 1] == PAD
            assert (row_y[n:] == PAD).all()
            assert all(is_cell(t) or t == PAD for t in row_y.tolist())  # no BAR, key, meter or EOS target
            seen.update(found)
    assert {i for i, _, _ in seen} == {0, 1}  # both pieces
    assert len({b for _, b, _ in seen}) > 3 and len({s for _, _, s in seen}) > 3  # many bars and shifts


def test_transpositions_stay_in_range_and_move_the_key(extremes):
    batches = Batches(extremes, TOK, 48, 12, seed=1)
    shifts = {0: set(), 1: set()}
    for _ in range(6):
        x, _ = batches.next(8)
        for row in x.numpy():
            found = locate(row, extremes)
            assert found, row
            pitches = row[(row >= PITCH0) & (row < PITCH0 + N_PITCHES)] - PITCH0
            if len(pitches):  # (a window of held notes and rests says nothing of its shift)
                [(i, shift)] = {(i, s) for i, _, s in found}
                shifts[i].add(shift)
                assert 0 <= pitches.min() and pitches.max() <= 127
    assert shifts[0] and max(shifts[0]) <= 1 and min(shifts[0]) >= -12  # highest pitch 126: at most one up
    assert shifts[1] and min(shifts[1]) >= -3 and max(shifts[1]) <= 12  # lowest pitch 3: at most three down
    assert len(shifts[0] | shifts[1]) > 5


def test_transpose_tokens_moves_pitches_and_key_only():
    ids = np.array(TOK.encode(make_score(bars=2)), dtype=np.int64)
    assert ids[1] == TOK.key_token(Key(0.0, 0, "major"))
    up = transpose_tokens(ids, 3, TOK)
    assert up[1] == TOK.key_token(Key(0.0, 3, "major"))
    pitch = (ids >= PITCH0) & (ids < PITCH0 + N_PITCHES)
    rest = ~pitch
    rest[1] = False  # everything but the pitches and the key: BOS, meter, bars, HOLD, REST, EOS
    assert (up[pitch] == ids[pitch] + 3).all() and (up[rest] == ids[rest]).all()
    minor = ids.copy()
    minor[1] = TOK.key_token(Key(0.0, 10, "minor"))
    assert transpose_tokens(minor, 4, TOK)[1] == TOK.key_token(Key(0.0, 2, "minor"))  # Bb minor -> D minor
    assert transpose_tokens(minor, -11, TOK)[1] == TOK.key_token(Key(0.0, 11, "minor"))
    assert transpose_tokens(ids, 0, TOK) is ids


def test_cell_targets_keep_cells_and_pad_the_rest():
    ids = np.array(
        [BOS, TOK.key_token(Key(0.0, 0, "major")), TOK.meter0, TOK.bar0 + 2, REST, HOLD, PITCH0, PITCH0 + 127, EOS]
    )
    assert cell_targets(ids).tolist() == [PAD, PAD, PAD, PAD, REST, HOLD, PITCH0, PITCH0 + 127, PAD]


def test_batches_state_reproduces_the_same_batches(data):
    batches = Batches(data, TOK, 64, 5, seed=0)
    batches.next(3)
    state = json.loads(json.dumps(batches.state()))  # as a checkpoint stores it
    first = batches.next(6)
    batches.set_state(state)
    again = batches.next(6)
    other = Batches(data, TOK, 64, 5, seed=123)
    other.set_state(state)
    for a, b, c in zip(first, again, other.next(6)):
        assert torch.equal(a, b) and torch.equal(a, c)
    assert not torch.equal(first[0], Batches(data, TOK, 64, 5, seed=123).next(6)[0])


def test_evaluation_scores_every_cell_exactly_once(data):
    from cadenza.families.voices import cell_targets, eval_windows
    from cadenza.tokenize.voices import VoicesConfig, VoicesTokenizer

    tok = VoicesTokenizer(VoicesConfig(n_voices=4, steps_per_beat=2))
    for block in (40, 64, 1000):  # windows shorter and longer than a piece
        windows = list(eval_windows(data, tok, block))
        scored = sum(int((y != 0).sum()) for _, y in windows)
        cells = sum(int((cell_targets(p.tokens[1:]) != 0).sum()) for p in data)
        assert scored == cells, block
