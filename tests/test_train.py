import json

import pytest
import torch

from cadenza.data.corpus import Piece
from cadenza.evaluate.ngram import NGram
from cadenza.families import by_name
from cadenza.families.voices import Batches, Config, tokenize_pieces
from cadenza.hub import load_network
from cadenza.nn.transformer import ModelConfig, Transformer
from cadenza.tokenize.voices import VoicesConfig, VoicesTokenizer
from cadenza.train import loop
from cadenza.train.run import run

from conftest import make_score


@pytest.fixture(scope="module")
def data(chorale):
    tok = VoicesTokenizer(VoicesConfig(n_voices=4, steps_per_beat=2))
    pieces = [Piece("chorale", chorale), Piece("made", make_score(bars=4))]
    tokenized, skipped = tokenize_pieces(pieces, tok)
    assert not skipped
    return tokenized


@pytest.fixture(scope="module")
def folder(tmp_path_factory, chorale):
    """The same two pieces as MIDI files, for training runs that read a folder as a user's would."""
    from cadenza.io.midi import write_midi

    path = tmp_path_factory.mktemp("pieces")
    write_midi(chorale, path / "chorale.mid")
    write_midi(make_score(bars=4), path / "made.mid")
    return path


def train(c, out, resume=False, on_step=None):
    return run(by_name("voices"), None if resume else c, out, resume=resume, force=False, quiet=True,
               command="cadenza train (test)", echo=lambda m: None, on_step=on_step)


def cfg(**kw):
    base = dict(data="test", steps_per_beat=2, block_size=64, n_layer=1, n_head=2, n_embd=32, dropout=0.1,
                batch_size=4, lr=3e-3, warmup_steps=2, steps=16, eval_every=8, checkpoint_minutes=0.0, seed=3)
    return Config(**{**base, **kw})


def test_training_lowers_validation_loss(tmp_path, folder):
    state = train(cfg(data=str(folder), steps=40, eval_every=10), tmp_path)
    valid = [h[2] for h in state.history]
    assert valid[-1] < valid[0] - 0.5  # it really learns, not just runs
    model, meta = load_network(tmp_path)
    assert meta["valid_loss"] == pytest.approx(min(valid))
    assert (tmp_path / "checkpoint.safetensors").exists()


class Interrupt(Exception):
    pass


def test_resume_continues_exactly_where_it_stopped(tmp_path, folder):
    straight = tmp_path / "straight"
    train(cfg(data=str(folder)), straight)

    broken = tmp_path / "broken"

    def kill_at_11(state, loss, lr):
        if state.step == 11:  # a checkpoint was written after every step up to 10
            raise Interrupt

    with pytest.raises(Interrupt):
        train(cfg(data=str(folder)), broken, on_step=kill_at_11)
    assert json.loads((broken / "checkpoint.json").read_text())["state"]["step"] == 10
    resumed_steps = []
    state = train(None, broken, resume=True, on_step=lambda s, l, r: resumed_steps.append(s.step))
    assert resumed_steps[0] == 11 and state.step == 16  # continued, did not restart
    a, _ = load_network(straight)
    b, _ = load_network(broken)
    assert json.loads((broken / "model.json").read_text())["resumed_at"] == [10]
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name


def test_ngram_baseline_is_a_normalized_model(data):
    from cadenza.evaluate.ngram import CELL_VOCAB

    ng = NGram(order=3).fit(p.tokens for p in data)
    ctx = tuple(int(t) for t in data[0].tokens[10:12])
    assert sum(ng.prob(ctx, t) for t in CELL_VOCAB) == pytest.approx(1.0)
    assert 0 < ng.nll(p.tokens for p in data) < 3.0  # far better than uniform over 130 cells (4.87 nats)


def test_evaluation_scores_every_cell_exactly_once(data):
    from cadenza.families.voices import cell_targets, eval_windows
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

    now = [0.0]
    monkeypatch.setattr(loop, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    tok = VoicesTokenizer(VoicesConfig(n_voices=4, steps_per_beat=2))
    c = cfg(steps=0, minutes=2.0, eval_every=25, checkpoint_minutes=100.0)
    model = Transformer(ModelConfig(vocab_size=tok.vocab_size, block_size=64, n_layer=1,
                                n_head=2, n_embd=32, dropout=0.0))

    def evaluate(m):
        now[0] += 10.0
        return 1.0

    def tick(state, loss, lr):
        now[0] += 1.0

    state = loop.fit(model, c, Batches(data, tok, 64, 0, 3), evaluate, tmp_path, {},
                             progress=tick)
    assert state.elapsed_s + 10.0 <= 120.0 + 1e-9  # the last step's end plus the final validation
    assert state.step == state.total_steps and state.step >= 70  # used the budget: at most 80 steps fit in it


def test_patience_stops_a_run_that_no_longer_improves(tmp_path, data):
    tok = VoicesTokenizer(VoicesConfig(n_voices=4, steps_per_beat=2))
    model = Transformer(ModelConfig(vocab_size=tok.vocab_size, block_size=64, n_layer=1,
                                n_head=2, n_embd=32, dropout=0.0))
    scores = iter([3.0, 2.0, 2.5, 2.1, 2.2, 1.0, 0.5])  # best at the 2nd validation, then three worse

    state = loop.fit(model, cfg(steps=70, eval_every=10, patience=3), Batches(data, tok, 64, 0, 3),
                             lambda m: next(scores), tmp_path, {})
    assert state.stopped_early and state.step == 50 and state.best_valid == 2.0
    assert json.loads((tmp_path / "model.json").read_text())["step"] == 20  # the best model is the one kept
    resumed = loop.fit(model, cfg(steps=70, eval_every=10, patience=3), Batches(data, tok, 64, 0, 3),
                               lambda m: next(scores), tmp_path, {}, resume=True)
    assert resumed.step == 50  # a stopped run stays stopped
