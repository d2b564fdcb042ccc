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

    path = tmp_path_factory.mktemp("train-pieces")
    write_midi(chorale, path / "chorale.mid")
    write_midi(make_score(bars=4), path / "made.mid")
    return path


@pytest.fixture(autouse=True)
def _beside_the_pieces(monkeypatch, folder):
    """Runs name the pieces' folder from beside it (data=folder.name): the ids, and so the split by
    their hash, are then the same on every run (chorale.mid trains, made.mid validates)."""
    monkeypatch.chdir(folder.parent)


def train(c, out, resume=False, on_step=None, said=None):
    """A voices run; with a list `said`, its progress comes as lines (under pytest stderr is no
    terminal) and everything it says is appended there."""
    return run(
        by_name("voices"),
        None if resume else c,
        out,
        resume=resume,
        force=False,
        quiet=said is None,
        command="cadenza train (test)",
        echo=(lambda m: None) if said is None else said.append,
        on_step=on_step,
    )


@pytest.mark.slow  # 40 training steps
def test_training_lowers_validation_loss(tmp_path, folder):
    state = train(cfg(data=folder.name, steps=40, eval_every=10), tmp_path)
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
    train(cfg(data=folder.name), straight)

    broken = tmp_path / "broken"

    def kill_at_11(state, loss, lr):
        if state.step == 11:  # a checkpoint was written after every step up to 10
            raise Interrupt

    with pytest.raises(Interrupt):
        train(cfg(data=folder.name), broken, on_step=kill_at_11)
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


@pytest.mark.slow  # 16 training steps
def test_progress_lines_and_the_final_report_agree(tmp_path, folder):
    """Each validation is reported as it happens, so the last "best" shown is the final report's."""
    said: list[str] = []
    state = train(cfg(data=folder.name, steps=16, eval_every=4), tmp_path, said=said)
    shown = [line for line in said if "validation loss" in line and line.startswith("step ")]
    assert len(shown) == 4 and shown[-1].startswith("step 16/16: validation loss")
    valid = [h[2] for h in state.history]
    best_step = state.history[valid.index(min(valid))][0]
    done = [line for line in said if line.startswith("done:")][0]
    assert f"best validation loss {min(valid):.4f} nats per cell at step {best_step}" in done
    assert f"{state.history[-1][2]:.4f}" in shown[-1]


@pytest.mark.slow  # 16 training steps
def test_a_run_too_short_to_learn_says_so_at_the_start_and_the_end(tmp_path, folder):
    said: list[str] = []
    state = train(cfg(data=folder.name, steps=16, eval_every=8), tmp_path, said=said)
    warnings = [line for line in said if line.startswith("warning:")]
    assert len(warnings) == 2, said
    start, end = warnings
    assert said.index(start) < said.index([line for line in said if line.startswith("step ")][0])  # before training
    # the threshold comes from what the shipped voices models trained (folk: 800 steps, chorales: 7,400)
    assert "16 steps are too few" in start and "800 to 7,400 steps" in start
    assert "(folk, leadsheet/melody, chorales)" in start  # a bundle's part counts too
    assert "--steps 800" in start
    assert f"`cadenza train --resume --out {tmp_path} --minutes" in end and "--steps 800" in end
    assert state.step == 16


@pytest.mark.slow  # a time budget of a few seconds
def test_a_short_time_budget_warns_once_it_is_timed(tmp_path, folder):
    said: list[str] = []
    train(cfg(data=folder.name, steps=0, minutes=0.04, eval_every=1000), tmp_path, said=said)
    warnings = [line for line in said if line.startswith("warning:")]
    assert len(warnings) == 2 and "steps are too few" in warnings[0] and "minutes here (--minutes" in warnings[0]


@pytest.mark.slow  # three short training runs
def test_resume_with_steps_or_minutes_trains_a_finished_run_further(tmp_path, folder):
    from cadenza.errors import OptionError

    def again(extend=None):
        said = []
        state = run(
            by_name("voices"),
            None,
            tmp_path,
            resume=True,
            force=False,
            quiet=True,
            command="cadenza train --resume",
            echo=said.append,
            extend=extend,
        )
        return state, said

    train(cfg(data=folder.name, steps=8, eval_every=4), tmp_path)
    state, said = again()  # finished: nothing to do, and it says how to go on
    assert state.step == 8 and "finished its 8 steps" in said[0] and "--steps N` (N above 8)" in said[0]
    with pytest.raises(OptionError, match="at step 8 already; with --resume, --steps is the run's new total"):
        again({"steps": 8})
    with pytest.raises(OptionError, match="not both"):
        again({"steps": 12, "minutes": 5.0})
    state, said = again({"steps": 12})
    assert state.step == 12 and said[0].startswith(f"training {tmp_path} on from step 8 to step 12")
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["train"]["steps"] == 12 and meta["extended"] == [[8, "--steps 12"]]
    assert "trained further from step 8 with `--resume --steps 12`" in (tmp_path / "card.md").read_text()
    record = json.loads((tmp_path / "checkpoint.json").read_text())
    minutes = record["state"]["elapsed_s"] / 60
    state, said = again({"minutes": minutes + 0.03})  # a time budget: about two more seconds
    assert state.step > 12 and state.total_steps == state.step
    assert json.loads((tmp_path / "checkpoint.json").read_text())["train"]["steps"] == 0


@pytest.mark.slow  # two short training runs
def test_ctrl_c_finishes_the_step_writes_a_checkpoint_and_says_how_to_go_on(tmp_path, folder, capsys):
    import os
    import signal

    def ctrl_c_at_5(state, loss, lr):
        if state.step == 5:
            os.kill(os.getpid(), signal.SIGINT)  # as a terminal's Ctrl-C, mid-run

    with pytest.raises(KeyboardInterrupt):
        train(cfg(data=folder.name, steps=12, eval_every=20, checkpoint_minutes=10.0), tmp_path, on_step=ctrl_c_at_5)
    assert json.loads((tmp_path / "checkpoint.json").read_text())["state"]["step"] == 5  # nothing lost
    err = capsys.readouterr().err  # said even when quiet
    assert "stopping after this step" in err
    assert f"checkpoint at step 5 of 12; continue with `cadenza train --resume --out {tmp_path}`" in err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Ctrl-C is Python's own again
    state = train(None, tmp_path, resume=True)
    assert state.step == 12
