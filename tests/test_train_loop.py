"""cadenza.train.loop: fit() keeps a time budget that counts validation time, and patience stops a
run that no longer improves (and keeps the best model)."""

import json

import pytest

from cadenza.families.voices import Batches
from cadenza.nn.transformer import ModelConfig, Transformer
from cadenza.tokenize.voices import VoicesConfig, VoicesTokenizer
from cadenza.train import loop
from conftest import voices_config as cfg


@pytest.mark.slow  # about 80 real training steps
def test_a_time_budget_counts_validation_time(tmp_path, data, monkeypatch):
    """On a fake clock a step costs 1 s and a validation 10 s, every 25 steps. The first 20 steps'
    rate alone would plan 120 steps for a 2-minute budget (and 5 validations: 170 s in all);
    the run must instead end within the budget, validations included."""
    import types

    now = [0.0]
    monkeypatch.setattr(loop, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    tok = VoicesTokenizer(VoicesConfig(n_voices=4, steps_per_beat=2))
    c = cfg(steps=0, minutes=2.0, eval_every=25, checkpoint_minutes=100.0)
    model = Transformer(
        ModelConfig(vocab_size=tok.vocab_size, block_size=64, n_layer=1, n_head=2, n_embd=32, dropout=0.0)
    )

    def evaluate(m):
        now[0] += 10.0
        return 1.0

    def tick(state, loss, lr):
        now[0] += 1.0

    state = loop.fit(model, c, Batches(data, tok, 64, 0, 3), evaluate, tmp_path, {}, progress=tick)
    assert state.elapsed_s + 10.0 <= 120.0 + 1e-9  # the last step's end plus the final validation
    assert state.step == state.total_steps and state.step >= 70  # used the budget: at most 80 steps fit in it


@pytest.mark.slow  # 50 real training steps, then a resume
def test_patience_stops_a_run_that_no_longer_improves(tmp_path, data):
    tok = VoicesTokenizer(VoicesConfig(n_voices=4, steps_per_beat=2))
    model = Transformer(
        ModelConfig(vocab_size=tok.vocab_size, block_size=64, n_layer=1, n_head=2, n_embd=32, dropout=0.0)
    )
    scores = iter([3.0, 2.0, 2.5, 2.1, 2.2, 1.0, 0.5])  # best at the 2nd validation, then three worse

    state = loop.fit(
        model,
        cfg(steps=70, eval_every=10, patience=3),
        Batches(data, tok, 64, 0, 3),
        lambda m: next(scores),
        tmp_path,
        {},
    )
    assert state.stopped_early and state.step == 50 and state.best_valid == 2.0
    assert json.loads((tmp_path / "model.json").read_text())["step"] == 20  # the best model is the one kept
    resumed = loop.fit(
        model,
        cfg(steps=70, eval_every=10, patience=3),
        Batches(data, tok, 64, 0, 3),
        lambda m: next(scores),
        tmp_path,
        {},
        resume=True,
    )
    assert resumed.step == 50  # a stopped run stays stopped


@pytest.mark.slow  # about 100 real training steps
def test_a_longer_time_budget_trains_a_finished_run_further(tmp_path, data, monkeypatch):
    """On a fake clock (1 s a step, no validation cost): a 1-minute run, then the same run
    resumed with --minutes 2, the new total, trains about another minute's steps."""
    import types

    now = [0.0]
    monkeypatch.setattr(loop, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    tok = VoicesTokenizer(VoicesConfig(n_voices=4, steps_per_beat=2))

    def fit(minutes, resume):
        model = Transformer(
            ModelConfig(vocab_size=tok.vocab_size, block_size=64, n_layer=1, n_head=2, n_embd=32, dropout=0.0)
        )
        c = cfg(steps=0, minutes=minutes, eval_every=1000, checkpoint_minutes=100.0)
        tick = lambda state, loss, lr: now.__setitem__(0, now[0] + 1.0)
        return loop.fit(
            model, c, Batches(data, tok, 64, 0, 3), lambda m: 1.0, tmp_path, {"train": vars(c)}, resume, tick
        )

    first = fit(1.0, False)
    assert 55 <= first.step <= 60
    second = fit(2.0, True)
    assert 115 <= second.step <= 121 and second.elapsed_s <= 120.0  # the new total kept
    assert fit(2.0, True).step == second.step  # the same total again: finished, nothing more
