import json

import pytest
import torch

from cadenza.corpus import Piece
from cadenza.dataset import tokenize_pieces
from cadenza.evaluate.ngram import NGram
from cadenza.model import load_model
from cadenza.tokenize.voices import VoicesConfig, VoicesTokenizer
from cadenza.train import TrainConfig, train

from conftest import make_score


@pytest.fixture(scope="module")
def data(chorale):
    tok = VoicesTokenizer(VoicesConfig(n_voices=4, steps_per_beat=2))
    pieces = [Piece("chorale", chorale), Piece("made", make_score(bars=4))]
    tokenized, skipped = tokenize_pieces(pieces, tok)
    assert not skipped
    return tokenized


def cfg(**kw):
    base = dict(data="test", steps_per_beat=2, block_size=64, n_layer=1, n_head=2, n_embd=32, dropout=0.1,
                batch_size=4, lr=3e-3, warmup_steps=2, steps=16, eval_every=8, checkpoint_minutes=0.0, seed=3)
    return TrainConfig(**{**base, **kw})


def test_training_lowers_validation_loss(tmp_path, data):
    state = train(cfg(steps=40, eval_every=10), data, data, tmp_path)
    valid = [h[2] for h in state.history]
    assert valid[-1] < valid[0] - 0.5  # it really learns, not just runs
    model, meta = load_model(tmp_path)
    assert meta["valid_loss"] == pytest.approx(min(valid))
    assert (tmp_path / "checkpoint.safetensors").exists()


class Interrupt(Exception):
    pass


def test_resume_continues_exactly_where_it_stopped(tmp_path, data):
    straight = tmp_path / "straight"
    train(cfg(), data, data, straight)

    broken = tmp_path / "broken"

    def kill_at_11(state, loss, lr):
        if state.step == 11:  # a checkpoint was written after every step up to 10
            raise Interrupt

    with pytest.raises(Interrupt):
        train(cfg(), data, data, broken, progress=kill_at_11)
    assert json.loads((broken / "checkpoint.json").read_text())["state"]["step"] == 10
    resumed_steps = []
    state = train(cfg(), data, data, broken, resume=True, progress=lambda s, l, r: resumed_steps.append(s.step))
    assert resumed_steps[0] == 11 and state.step == 16  # continued, did not restart
    a, _ = load_model(straight, "model")
    b, _ = load_model(broken, "model")
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name


def test_ngram_baseline_is_a_normalized_model(data):
    from cadenza.evaluate.ngram import CELL_VOCAB

    ng = NGram(order=3).fit(p.tokens for p in data)
    ctx = tuple(int(t) for t in data[0].tokens[10:12])
    assert sum(ng.prob(ctx, t) for t in CELL_VOCAB) == pytest.approx(1.0)
    assert 0 < ng.nll(p.tokens for p in data) < 3.0  # far better than uniform over 130 cells (4.87 nats)


def test_evaluation_scores_every_cell_exactly_once(data):
    from cadenza.dataset import cell_targets, eval_windows
    from cadenza.tokenize.voices import VoicesConfig, VoicesTokenizer

    tok = VoicesTokenizer(VoicesConfig(n_voices=4, steps_per_beat=2))
    for block in (40, 64, 1000):  # windows shorter and longer than a piece
        windows = list(eval_windows(data, tok, block))
        scored = sum(int((y != 0).sum()) for _, y in windows)
        cells = sum(int((cell_targets(p.tokens[1:]) != 0).sum()) for p in data)
        assert scored == cells, block


def test_a_time_budget_counts_validation_time(tmp_path, data, monkeypatch):
    """On a fake clock a step costs 1 s and a validation 10 s, every 25 steps. The first 20 steps'
    rate alone would plan 120 steps for a 2-minute budget (and 5 validations: 170 s in all);
    the run must instead end within the budget, validations included."""
    import types

    from cadenza import train as train_module

    now = [0.0]
    monkeypatch.setattr(train_module, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    tok = VoicesTokenizer(VoicesConfig(n_voices=4, steps_per_beat=2))
    c = cfg(steps=0, minutes=2.0, eval_every=25, checkpoint_minutes=100.0)
    model = train_module.Transformer(train_module.ModelConfig(vocab_size=tok.vocab_size, block_size=64, n_layer=1,
                                                              n_head=2, n_embd=32, dropout=0.0))

    def evaluate(m):
        now[0] += 10.0
        return 1.0

    def tick(state, loss, lr):
        now[0] += 1.0

    state = train_module.fit(model, c, train_module.Batches(data, tok, 64, 0, 3), evaluate, tmp_path, {},
                             progress=tick)
    assert state.elapsed_s + 10.0 <= 120.0 + 1e-9  # the last step's end plus the final validation
    assert state.step == state.total_steps and state.step >= 70  # used the budget: at most 80 steps fit in it


def test_patience_stops_a_run_that_no_longer_improves(tmp_path, data):
    from cadenza import train as train_module

    tok = VoicesTokenizer(VoicesConfig(n_voices=4, steps_per_beat=2))
    model = train_module.Transformer(train_module.ModelConfig(vocab_size=tok.vocab_size, block_size=64, n_layer=1,
                                                              n_head=2, n_embd=32, dropout=0.0))
    scores = iter([3.0, 2.0, 2.5, 2.1, 2.2, 1.0, 0.5])  # best at the 2nd validation, then three worse

    state = train_module.fit(model, cfg(steps=70, eval_every=10, patience=3), train_module.Batches(data, tok, 64, 0, 3),
                             lambda m: next(scores), tmp_path, {})
    assert state.stopped_early and state.step == 50 and state.best_valid == 2.0
    assert json.loads((tmp_path / "model.json").read_text())["step"] == 20  # the best model is the one kept
    resumed = train_module.fit(model, cfg(steps=70, eval_every=10, patience=3), train_module.Batches(data, tok, 64, 0, 3),
                               lambda m: next(scores), tmp_path, {}, resume=True)
    assert resumed.step == 50  # a stopped run stays stopped
