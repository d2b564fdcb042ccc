"""The likelihood benchmark: exact normalization, honest windows, baselines, the CLI."""
import gzip
import itertools
import json
import math

import numpy as np
import pytest
import torch

from cadenza.bench import masked_logits, mixed_logprobs, mixture_weight, nll_per_step, score_windows, step_logprobs
from cadenza.model import ModelConfig, Transformer
from cadenza.tokenize.grid import BOS, END, PAD, GridConfig, GridTokenizer

from conftest import run_cli

TOK = GridTokenizer(GridConfig(60, 63))  # four pitches: 16 possible steps


def tiny(block=32):
    torch.manual_seed(1)
    return Transformer(ModelConfig(vocab_size=TOK.vocab_size, block_size=block, n_layer=2, n_head=2, n_embd=16,
                                   dropout=0.0)).eval()


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


def test_tokenizer_round_trip_and_canonical_order():
    steps = [[63, 60], [], [61, 62, 60]]
    tokens = TOK.encode(steps)
    assert tokens[0] == BOS and tokens.count(END) == 3
    assert TOK.decode(tokens) == [[60, 63], [], [60, 61, 62]]


def test_windows_score_each_token_once_with_context():
    tokens = GridTokenizer().encode([[60 + (i % 5), 64] for i in range(100)])
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


@pytest.mark.parametrize("rope", [True, False])
def test_packed_windows_see_only_themselves(rope):
    torch.manual_seed(0)
    model = Transformer(ModelConfig(vocab_size=TOK.vocab_size, block_size=16, n_layer=2, n_head=2, n_embd=16,
                                    dropout=0.0, rope=rope)).eval()
    a, b = torch.tensor([TOK.encode([[60], [61, 63]])]), torch.tensor([TOK.encode([[62], [], [60, 61, 62]])])
    packed = model(torch.cat([a, b], 1), torch.tensor([[0] * a.size(1) + [1] * b.size(1)]))
    assert torch.allclose(packed[:, :a.size(1)], model(a), atol=1e-5)
    assert torch.allclose(packed[:, a.size(1):], model(b), atol=1e-5)  # as if alone: no peeking at a


def test_training_rows_are_full_windows_of_real_pieces():
    from cadenza.bench import StepBatches

    pieces = [[[60], [61, 62], [], [63]], [[60, 63], [60], [62]]]
    x, y, seg = StepBatches(pieces, TOK, block_size=24, transpose=0, seed=1).next(3)
    assert x.shape == y.shape == seg.shape == (3, 24) and not (y == PAD).any()  # no padding
    for row_x, row_y, row_s in zip(x.tolist(), y.tolist(), seg.tolist()):
        for s in set(row_s):
            xs = [t for t, g in zip(row_x, row_s) if g == s]
            ys = [t for t, g in zip(row_y, row_s) if g == s]
            assert xs[0] in (BOS, END) and xs[1:] == ys[:-1]  # each segment: BOS or END, then next-token targets
            window = TOK.decode(xs[1:] + ys[-1:])  # a run of whole steps of one piece (maybe cut at the end)
            assert any(window[:-1] == p[i:i + len(window) - 1] for p in pieces for i in range(len(p)))


def test_mixture_weight_maximizes_the_mixed_likelihood():
    rng = np.random.default_rng(0)
    a, b = -rng.gamma(2.0, 1.0, 500), -rng.gamma(2.0, 1.0, 500)
    w = mixture_weight(a, b)
    grid = np.linspace(0.001, 0.999, 999)
    best = grid[np.argmax([mixed_logprobs(a, b, g).sum() for g in grid])]
    assert abs(w - best) < 0.002 and 0.05 < w < 0.95
    assert mixed_logprobs(a, b, w).sum() >= max(a.sum(), b.sum())  # never worse than either model alone


def test_baselines_are_normalized():
    from cadenza.evaluate.step_baselines import IndependentPitches, StepNGram

    pieces = [[[60], [61, 62], [], [63]], [[60, 63], [60]]]
    ind = IndependentPitches(60, 63).fit(pieces)
    ngram = StepNGram(ind, order=2).fit(pieces)
    steps = [tuple(c) for r in range(5) for c in itertools.combinations(range(60, 64), r)]
    assert sum(math.exp(ind.logprob(s)) for s in steps) == pytest.approx(1.0)
    assert sum(math.exp(ngram.logprob(((60,),), s)) for s in steps) == pytest.approx(1.0)


def test_bench_cli_trains_evaluates_and_reloads(tmp_path):
    rng = np.random.default_rng(0)
    piece = lambda: [sorted(set(rng.choice([60, 64, 67, 72], size=3).tolist())) for _ in range(20)]
    data = tmp_path / "tiny.json.gz"
    data.write_bytes(gzip.compress(json.dumps({s: [piece() for _ in range(3)] for s in
                                               ("train", "valid", "test")}).encode()))
    out = tmp_path / "m"
    proc = run_cli("bench", "nll", "--data", str(data), "--out", str(out), "--steps", "6", "--eval-every", "3",
                   "--embd", "16", "--layers", "1", "--heads", "2", "--block-size", "32", "--batch-size", "4",
                   "--baselines", "--with-ngram", "--quiet", check=True)
    test_line = [line for line in proc.stdout.splitlines() if line.startswith("test NLL")]
    assert len(test_line) == 1 and "baseline independent pitches" in proc.stdout
    assert "mixed with the step 3-gram (weight " in proc.stdout
    again = run_cli("bench", "nll", "--data", str(data), "--checkpoint", str(out), check=True)
    assert [line for line in again.stdout.splitlines() if line.startswith("test NLL")] == test_line
    card = (out / "card.md").read_text()  # the card holds the command and the numbers just measured
    assert test_line[0] in card and "--steps 6 --eval-every 3" in card and "seed 0" in card
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(b"not gzip")
    proc = run_cli("bench", "nll", "--data", str(bad), "--steps", "1")
    assert proc.returncode == 2 and "bad.json.gz" in proc.stderr and "Traceback" not in proc.stderr
