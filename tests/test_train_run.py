"""cadenza.train.run: the run skeleton really trains (the loss falls), and an interrupted run
resumes to exactly the model an uninterrupted one makes, for the voices and benchmark families."""

import gzip
import json

import numpy as np
import pytest
import torch

from cadenza.families import by_name
from cadenza.hub import load_network
from cadenza.train.run import run
from conftest import make_score
from conftest import voices_config as cfg


@pytest.fixture(scope="module")
def folder(tmp_path_factory, chorale):
    """The same two pieces as MIDI files, for training runs that read a folder as a user's would."""
    from cadenza.io.midi import write_midi

    path = tmp_path_factory.mktemp("pieces")
    write_midi(chorale, path / "chorale.mid")
    write_midi(make_score(bars=4), path / "made.mid")
    return path


def train(c, out, resume=False, on_step=None):
    return run(
        by_name("voices"),
        None if resume else c,
        out,
        resume=resume,
        force=False,
        quiet=True,
        command="cadenza train (test)",
        echo=lambda m: None,
        on_step=on_step,
    )


@pytest.mark.slow  # 40 training steps
def test_training_lowers_validation_loss(tmp_path, folder):
    state = train(cfg(data=str(folder), steps=40, eval_every=10), tmp_path)
    valid = [h[2] for h in state.history]
    assert valid[-1] < valid[0] - 0.5  # it really learns, not just runs
    model, meta = load_network(tmp_path)
    assert meta["valid_loss"] == pytest.approx(min(valid))
    assert (tmp_path / "checkpoint.safetensors").exists()


class Interrupt(Exception):
    pass


@pytest.mark.slow  # three training runs
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
    state = train(None, broken, resume=True, on_step=lambda s, loss, lr: resumed_steps.append(s.step))
    assert resumed_steps[0] == 11 and state.step == 16  # continued, did not restart
    a, _ = load_network(straight)
    b, _ = load_network(broken)
    assert json.loads((broken / "model.json").read_text())["resumed_at"] == [10]
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name


@pytest.mark.slow  # three training runs
def test_an_interrupted_benchmark_run_resumes_to_the_same_model(tmp_path):
    from cadenza.families import by_name
    from cadenza.families.benchmark import Config
    from cadenza.hub import load_network
    from cadenza.train.run import run

    rng = np.random.default_rng(3)
    piece = lambda: [
        sorted(set(rng.choice([60, 62, 64, 67, 72], size=3).tolist())) for _ in range(int(rng.integers(8, 30)))
    ]
    path = tmp_path / "tiny.json.gz"
    path.write_bytes(
        gzip.compress(json.dumps({s: [piece() for _ in range(4)] for s in ("train", "valid", "test")}).encode())
    )
    cfg = Config(
        data=str(path),
        block_size=32,
        n_layer=1,
        n_head=2,
        n_embd=16,
        steps=8,
        eval_every=4,
        checkpoint_minutes=0.0,
        batch_size=2,
        bf16=False,
    )

    class Interrupt(Exception):
        pass

    def stop_at_6(state, loss, lr):
        if state.step == 6:  # a checkpoint was written after every step up to 5
            raise Interrupt

    def train(out, command, resume=False, on_step=None):
        run(
            by_name("benchmark"),
            None if resume else cfg,
            out,
            resume=resume,
            force=False,
            quiet=True,
            command=command,
            echo=lambda m: None,
            on_step=on_step,
        )
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
