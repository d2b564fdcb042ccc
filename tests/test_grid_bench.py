"""The likelihood benchmark: exact normalization, honest windows, baselines, the CLI."""
import gzip
import itertools
import json
import math

import numpy as np
import pytest
import torch

from cadenza.families.benchmark import masked_logits, mixed_logprobs, mixture_weight, nll_per_step, score_windows, step_logprobs
from cadenza.nn.transformer import ModelConfig, Transformer
from cadenza.tokenize.pianoroll import BOS, END, PAD, PianoRollConfig, PianoRollTokenizer

from conftest import run_cli

TOK = PianoRollTokenizer(PianoRollConfig(60, 63))  # four pitches: 16 possible steps


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
            at = [i for p in pieces for i in range(len(p)) if p[i:i + len(whole)] == whole]
            assert (0 in at) if xs[0] == BOS else (xs[0] == END and any(i > 0 for i in at))
            leads.add(xs[0])
            shifts.add(shift)
    assert leads == {BOS, END} and len(shifts) > 1


def test_model_range_is_the_piano_widened_by_train_only():
    from cadenza.families.benchmark import check_range, range_for
    from cadenza.errors import OptionError

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
    model = Transformer(ModelConfig(vocab_size=TOK.vocab_size, block_size=32, n_layer=1, n_head=2, n_embd=16,
                                    dropout=0.0, n_conditions=5)).eval()  # shifts -2..+2
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
                   "--baselines", "--with-ngram", "--shift-aware", "--quiet", check=True)
    test_line = [line for line in proc.stdout.splitlines() if line.startswith("test NLL")]
    assert len(test_line) == 1 and "baseline independent pitches" in proc.stdout
    assert "mixed with the step 3-gram (weight " in proc.stdout
    again = run_cli("bench", "nll", "--data", str(data), "--checkpoint", str(out), check=True)
    assert [line for line in again.stdout.splitlines() if line.startswith("test NLL")] == test_line
    card = (out / "card.md").read_text()  # the card holds the command and the numbers just measured
    assert test_line[0] in card and "--steps 6 --eval-every 3" in card and "seed 0" in card
    assert [line for line in proc.stdout.splitlines() if line.startswith("mixed with")][0] in card
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(b"not gzip")
    proc = run_cli("bench", "nll", "--data", str(bad), "--steps", "1")
    assert proc.returncode == 2 and "bad.json.gz" in proc.stderr and "Traceback" not in proc.stderr


def test_an_interrupted_benchmark_run_resumes_to_the_same_model(tmp_path):
    from cadenza.families import by_name
    from cadenza.families.benchmark import Config
    from cadenza.hub import load_network
    from cadenza.train.run import run

    rng = np.random.default_rng(3)
    piece = lambda: [sorted(set(rng.choice([60, 62, 64, 67, 72], size=3).tolist())) for _ in range(int(rng.integers(8, 30)))]
    path = tmp_path / "tiny.json.gz"
    path.write_bytes(gzip.compress(json.dumps({s: [piece() for _ in range(4)] for s in ("train", "valid", "test")}).encode()))
    cfg = Config(data=str(path), block_size=32, n_layer=1, n_head=2, n_embd=16, steps=8,
                 eval_every=4, checkpoint_minutes=0.0, batch_size=2, bf16=False)

    class Interrupt(Exception):
        pass

    def stop_at_6(state, loss, lr):
        if state.step == 6:  # a checkpoint was written after every step up to 5
            raise Interrupt

    def train(out, command, resume=False, on_step=None):
        run(by_name("benchmark"), None if resume else cfg, out, resume=resume, force=False, quiet=True,
            command=command, echo=lambda m: None, on_step=on_step)
        return load_network(out)

    straight, _ = train(tmp_path / "straight", "cadenza bench nll --straight")
    with pytest.raises(Interrupt):
        train(tmp_path / "broken", "cadenza bench nll --first", on_step=stop_at_6)
    assert json.loads((tmp_path / "broken" / "checkpoint.json").read_text())["state"]["step"] == 5
    resumed, meta = train(tmp_path / "broken", "cadenza bench nll --resume", resume=True)
    assert meta["resumed_at"] == [5] and meta["command"] == "cadenza bench nll --first"  # the run's own command
    # the same windows (the batch generator's state was restored), the same weights
    for (name, x), (_, y) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(x, y), name
