"""cadenza.families.benchmark: exact normalization, honest windows, packed training rows, the
model's range, shift conditions, the mixture weight."""

import itertools
import json
import math

import numpy as np
import pytest
import torch

from cadenza.families.benchmark import (
    StepBatches,
    masked_logits,
    mixed_logprobs,
    mixture_weight,
    nll_per_step,
    score_windows,
    step_logprobs,
)
from cadenza.nn.transformer import ModelConfig, Transformer
from cadenza.tokenize.pianoroll import BOS, END, PAD, PITCH0, PianoRollConfig, PianoRollTokenizer

TOK = PianoRollTokenizer(PianoRollConfig(60, 63))  # four pitches: 16 possible steps


def tiny(block=32):
    torch.manual_seed(1)
    return Transformer(
        ModelConfig(vocab_size=TOK.vocab_size, block_size=block, n_layer=2, n_head=2, n_embd=16, dropout=0.0)
    ).eval()


@torch.no_grad()
def step_logprob(model, context: list[list[int]], step: list[int]) -> float:
    tokens = TOK.encode(context + [step])
    n = len(sorted(set(step))) + 1  # the step's tokens: its pitches and END
    logp = torch.log_softmax(masked_logits(model, torch.tensor([tokens[:-1]])), -1)[0]
    return sum(float(logp[len(tokens) - 1 - n + i, tokens[len(tokens) - n + i]]) for i in range(n))


def test_probabilities_of_every_possible_step_sum_to_one():
    model = tiny()
    steps = [list(c) for r in range(5) for c in itertools.combinations(range(60, 64), r)]
    assert len(steps) == 16
    for context in ([], [[60, 63], [], [61]]):
        total = sum(math.exp(step_logprob(model, context, s)) for s in steps)
        assert total == pytest.approx(1.0, abs=1e-5)


def test_windows_score_each_token_once_with_context():
    tokens = PianoRollTokenizer().encode([[60 + (i % 5), 64] for i in range(100)])
    for block in (16, 50, 400):
        windows = list(score_windows(tokens, block))
        assert sum(int((y != PAD).sum()) for _, _, y in windows) == len(tokens) - 1
        assert windows[0][1][0] == BOS and all(x[0] == END and len(x) <= block for _, x, _ in windows[1:])
        scored = np.concatenate([start + np.nonzero(y != PAD)[0] for start, _, y in windows])
        assert sorted(scored.tolist()) == list(range(1, len(tokens)))  # target j is token start + j


def test_nll_per_step_matches_the_sum_of_step_probabilities():
    model = tiny(block=12)  # shorter than the piece: sliding windows
    piece = [[60], [61, 62], [], [63], [60, 61], [62]]
    nll, n = nll_per_step(model, [piece], TOK)
    assert n == 6
    full = tiny(block=64)
    exact = -sum(step_logprob(full, piece[:i], piece[i]) for i in range(6)) / 6
    nll_full, _ = nll_per_step(full, [piece], TOK)
    assert nll_full == pytest.approx(exact, abs=1e-4)
    assert nll > 0


def test_step_logprobs_are_each_steps_own_probability():
    model = tiny(block=64)
    piece = [[60], [61, 62], [], [63], [60, 61], [62]]
    (lp,) = step_logprobs(model, [piece], TOK)
    exact = [step_logprob(model, piece[:i], piece[i]) for i in range(6)]
    assert lp == pytest.approx(exact, abs=1e-4)


def test_training_rows_are_full_windows_of_real_pieces():
    from cadenza.families.benchmark import StepBatches

    tok = PianoRollTokenizer(PianoRollConfig(55, 70))
    pieces = [[[60], [61, 62], [], [63]], [[60, 63], [60], [62], [64, 65]]]
    x, y, seg, cond = StepBatches(pieces, tok, block_size=24, transpose=2, seed=1).next(4)
    assert x.shape == y.shape == seg.shape == cond.shape == (4, 24) and not (y == PAD).any()  # no padding
    leads, shifts = set(), set()
    for row_x, row_y, row_s, row_c in zip(x.tolist(), y.tolist(), seg.tolist(), cond.tolist()):
        for s in set(row_s):
            xs, ys, cs = ([v for v, g in zip(row, row_s) if g == s] for row in (row_x, row_y, row_c))
            assert xs[1:] == ys[:-1] and len(set(cs)) == 1  # next-token targets; one condition per window
            shift = cs[0] - 2
            steps = [[p - shift for p in step] for step in tok.decode(xs[1:] + ys[-1:])]
            whole = steps[:-1] if ys[-1] != END else steps  # a window cut by the row's end loses its last step
            # BOS leads a window from a piece's first step, END one from a later step, as in scoring
            at = [i for p in pieces for i in range(len(p)) if p[i : i + len(whole)] == whole]
            assert (0 in at) if xs[0] == BOS else (xs[0] == END and any(i > 0 for i in at))
            leads.add(xs[0])
            shifts.add(shift)
    assert leads == {BOS, END} and len(shifts) > 1


def test_model_range_is_the_piano_widened_by_train_only():
    from cadenza.errors import OptionError
    from cadenza.families.benchmark import check_range, range_for

    data = {"train": [[[30, 60]], [[100]]], "valid": [[[10]]], "test": [[[127]]]}
    assert range_for(data, margin=6) == PianoRollConfig(21, 108)  # 30-6 and 100+6 are within the 88 keys
    assert range_for({**data, "train": [[[18, 110]]]}, margin=2) == PianoRollConfig(16, 112)
    tok = PianoRollTokenizer(range_for(data))
    with pytest.raises(OptionError, match="test split holds pitches 127..127, outside the model's range 21..108"):
        check_range(data["test"], tok, "the test split")
    check_range(data["train"], tok, "the train split")


def test_a_shift_aware_model_is_scored_as_untransposed():
    from cadenza.families.benchmark import shift_condition

    torch.manual_seed(0)
    model = Transformer(
        ModelConfig(
            vocab_size=TOK.vocab_size, block_size=32, n_layer=1, n_head=2, n_embd=16, dropout=0.0, n_conditions=5
        )
    ).eval()  # shifts -2..+2
    x = torch.tensor([TOK.encode([[60], [61, 63]])])
    untransposed = masked_logits(model, x, conditions=torch.full_like(x, shift_condition(model, 0)))
    assert shift_condition(model, 0) == 2 and shift_condition(model, -2) == 0
    assert torch.equal(masked_logits(model, x), untransposed)  # the default: not transposed
    up = masked_logits(model, x, conditions=torch.full_like(x, shift_condition(model, 2)))
    assert not torch.allclose(up, untransposed)  # the condition reaches the output
    with pytest.raises(ValueError, match="takes conditions"):
        model(x)


def test_mixture_weight_maximizes_the_mixed_likelihood():
    rng = np.random.default_rng(0)
    a, b = -rng.gamma(2.0, 1.0, 500), -rng.gamma(2.0, 1.0, 500)
    w = mixture_weight(a, b)
    grid = np.linspace(0.001, 0.999, 999)
    best = grid[np.argmax([mixed_logprobs(a, b, g).sum() for g in grid])]
    assert abs(w - best) < 0.002 and 0.05 < w < 0.95
    assert mixed_logprobs(a, b, w).sum() >= max(a.sum(), b.sum())  # never worse than either model alone


# -- StepBatches: the training rows --------------------------------------------------------------

PIECES = [[[60], [61, 62], [], [63]], [[60, 63], [60], [62], [64, 65]], [[58, 66], [], [], [59], [67, 72, 60]]]


def windows_of(row_x, row_y, row_s, row_c):
    """Each window of a packed row: (its inputs followed by its last target, its condition)."""
    for s in sorted(set(row_s)):
        xs, ys, cs = ([v for v, g in zip(row, row_s) if g == s] for row in (row_x, row_y, row_c))
        assert xs[1:] == ys[:-1] and len(set(cs)) == 1, (xs, ys, cs)  # next-token targets, one condition
        yield xs + ys[-1:], cs[0]


def test_step_batches_fill_rows_with_windows_from_step_starts():
    tok = PianoRollTokenizer(PianoRollConfig(55, 72))
    encoded = [tok.encode(p) for p in PIECES]
    x, y, seg, cond = StepBatches(PIECES, tok, block_size=20, transpose=3, seed=5).next(24)
    assert (x != PAD).all() and (y != PAD).all()  # rows are full
    assert int(x.max()) < tok.vocab_size and int(y.max()) < tok.vocab_size  # no pitch shifted out of 55..72
    shifts, starts, top = set(), set(), set()
    i_of = lambda found: found[0][0] if len({i for i, _ in found}) == 1 else None  # the piece, if only one fits
    for row_x, row_y, row_s, row_c in zip(x.tolist(), y.tolist(), seg.tolist(), cond.tolist()):
        assert row_s[0] == 0 and all(b - a in (0, 1) for a, b in zip(row_s, row_s[1:]))  # segments count up
        for window, c in windows_of(row_x, row_y, row_s, row_c):
            shift = c - 3
            assert -3 <= shift <= 3
            plain = [t - shift if t >= PITCH0 else t for t in window]
            assert plain[0] in (BOS, END)
            # the window is its piece from a step start on, led by the token before that step: BOS
            # at the piece's start, else the previous step's END
            found = [
                (i, at)
                for i, e in enumerate(encoded)
                for at in range(1, len(e))
                if e[at - 1 : at - 1 + len(plain)] == plain and (at == 1 or e[at - 1] == END)
            ]
            assert found, window
            assert (plain[0] == BOS) == all(at == 1 for _, at in found)
            shifts.add(shift)
            starts.update(at for _, at in found)
            if i_of(found) == 2:  # the piece reaching 72, the top of the range, may not go up
                top.add(shift)
    assert len(shifts) > 1 and 1 in starts and len(starts) > 3
    assert top and max(top) <= 0 and len(top) > 2
    assert seg.max() > 0  # some rows hold more than one window


def test_step_batches_state_round_trip():
    tok = PianoRollTokenizer(PianoRollConfig(55, 72))
    b = StepBatches(PIECES, tok, block_size=20, transpose=3, seed=5)
    b.next(3)
    state = json.loads(json.dumps(b.state()))  # as a checkpoint stores it
    first = b.next(4)
    b.set_state(state)
    again = b.next(4)
    other = StepBatches(PIECES, tok, block_size=20, transpose=3, seed=99)
    other.set_state(state)
    for a, b2, c in zip(first, again, other.next(4)):
        assert torch.equal(a, b2) and torch.equal(a, c)
    assert not torch.equal(first[0], StepBatches(PIECES, tok, block_size=20, transpose=3, seed=99).next(4)[0])
