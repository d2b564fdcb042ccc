"""Data-parallel training (cadenza.train.distributed): two processes under torchrun (gloo on CPU)
train the same model as one process given the same global batch and seed, write the same files,
and only rank 0 writes them; an interrupted run resumes in two processes to the same model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch

from conftest import make_score, one_line_error, run_cli

# Loaded by every Python process the command starts (PYTHONPATH): the launcher, torchrun's agent
# and each worker. An audit hook logs, per process, its RANK and every file it creates, writes,
# renames or removes under CADENZA_TEST_WATCH; with CADENZA_TEST_FAIL_AT=N it fails the N-th
# checkpoint write, as a crash would, leaving the checkpoint of the step before.
SITECUSTOMIZE = r"""
import os, sys

_watch, _log = os.environ.get("CADENZA_TEST_WATCH"), os.environ.get("CADENZA_TEST_LOG")
if _watch and _log:
    _rank = os.environ.get("RANK", "-")
    _fail_at = int(os.environ.get("CADENZA_TEST_FAIL_AT", "0"))
    _file = open(os.path.join(_log, f"{os.getpid()}.log"), "a", buffering=1)
    _file.write(f"start {_rank} {os.environ.get('WORLD_SIZE', '-')}\n")
    _writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    _checkpoints = [0]

    def _hook(event, args):
        if event == "open":
            mode, flags = args[1], args[2]
            if not (isinstance(mode, str) and any(c in mode for c in "wax+")) and not (flags or 0) & _writing:
                return
        elif event not in ("os.rename", "os.remove", "os.mkdir", "os.chmod"):
            return
        paths = [a for a in args[:2 if event == "os.rename" else 1] if isinstance(a, (str, bytes, os.PathLike))]
        paths = [os.fsdecode(p) for p in paths]
        if not any(p.startswith(_watch) for p in paths):
            return
        _file.write(f"write {_rank} {event} {paths[-1]}\n")
        if _fail_at and event == "os.rename" and paths[-1].endswith("checkpoint.safetensors"):
            _checkpoints[0] += 1
            if _checkpoints[0] == _fail_at:
                raise RuntimeError("the test stops this run here")

    sys.addaudithook(_hook)
"""

TRAIN = [
    "--block-size",
    "64",
    "--layers",
    "1",
    "--heads",
    "2",
    "--embd",
    "32",
    "--dropout",
    "0",
    "--batch-size",
    "4",
    "--lr",
    "3e-3",
    "--warmup-steps",
    "2",
    "--steps",
    "12",
    "--eval-every",
    "4",
    "--checkpoint-minutes",
    "0",
    "--seed",
    "3",
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory, chorale):
    """Two pieces as MIDI files: a real chorale and a short hand-made score."""
    from cadenza.io.midi import write_midi

    path = tmp_path_factory.mktemp("dist-pieces")
    write_midi(chorale, path / "chorale.mid")
    write_midi(make_score(bars=4), path / "made.mid")
    return path


@pytest.fixture(autouse=True)
def _beside_the_pieces(monkeypatch, folder):
    """Runs name the pieces' folder from beside it ("--data", folder.name): the ids, and so the
    split by their hash, are then the same on every run (chorale.mid trains, made.mid validates)."""
    monkeypatch.chdir(folder.parent)


@pytest.fixture(scope="module")
def hooks(tmp_path_factory):
    path = tmp_path_factory.mktemp("hooks")
    (path / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return path


def cadenza(hooks: Path, out: Path, *args: str, fail_at: int = 0) -> tuple[subprocess.CompletedProcess, list]:
    """Run `cadenza ARGS` as a user would, watching out/: (the process, the log lines of every
    Python process it started, each split into words)."""
    log = Path(tempfile.mkdtemp(prefix=f"{out.name}-log-", dir=out.parent))
    env = {
        **os.environ,
        "CADENZA_TEST_WATCH": str(out),
        "CADENZA_TEST_LOG": str(log),
        "CADENZA_TEST_FAIL_AT": str(fail_at),
        "PYTHONPATH": os.pathsep.join(p for p in (str(hooks), os.environ.get("PYTHONPATH")) if p),
    }
    env.pop("WORLD_SIZE", None)
    proc = subprocess.run(
        [sys.executable, "-m", "cadenza.cli", *args], capture_output=True, text=True, timeout=300, env=env
    )
    return proc, [line.split() for f in sorted(log.iterdir()) for line in f.read_text().splitlines()]


def record(out: Path) -> dict:
    return json.loads((out / "checkpoint.json").read_text())


def weights(out: Path, name: str) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return {k: v for k, v in load_file(str(out / name)).items() if not k.startswith(("opt.", "torch_rng"))}


def assert_close_weights(a: dict, b: dict, tol: float) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=tol, rtol=0), (k, float((a[k] - b[k]).abs().max()))


@pytest.mark.slow
def test_two_processes_train_the_one_process_model_and_only_rank_0_writes(tmp_path, folder, hooks):
    one, two = tmp_path / "one", tmp_path / "two"
    single, _ = cadenza(hooks, one, "train", "--data", folder.name, "--out", str(one), *TRAIN)
    assert single.returncode == 0, single.stderr
    double, log = cadenza(hooks, two, "train", "--data", folder.name, "--out", str(two), *TRAIN, "--nproc", "2")
    assert double.returncode == 0, double.stderr

    # really two workers of one torchrun group
    assert sorted(w[1] for w in log if w[0] == "start" and w[1] != "-") == ["0", "1"]
    assert {w[2] for w in log if w[0] == "start" and w[1] != "-"} == {"2"}
    assert record(two)["processes"] == 2 and "processes" not in record(one)
    # the same loss curve and the same model as one process, within float rounding
    h1, h2 = record(one)["state"]["history"], record(two)["state"]["history"]
    assert [h[0] for h in h1] == [h[0] for h in h2] == [4, 8, 12]
    for a, b in zip(h1, h2):
        assert a[1] == pytest.approx(b[1], abs=1e-5) and a[2] == pytest.approx(b[2], abs=1e-5), (a, b)
    assert h1[-1][2] < h1[0][2]  # it learned: a curve worth comparing
    assert_close_weights(weights(one, "checkpoint.safetensors"), weights(two, "checkpoint.safetensors"), 1e-4)
    assert_close_weights(weights(one, "model.safetensors"), weights(two, "model.safetensors"), 1e-4)
    # the files one process writes, once; written by rank 0 alone; said once
    assert sorted(p.name for p in two.iterdir()) == sorted(p.name for p in one.iterdir())
    writers = {w[1] for w in log if w[0] == "write"}
    written = {Path(w[-1]).name for w in log if w[0] == "write"}
    assert writers == {"0"} and {"model.json", "checkpoint.safetensors", "card.md"} <= written
    assert double.stderr.count("done: 12 steps") == 1 and double.stdout.split() == [str(two)]
    assert "in 2 processes" in (two / "card.md").read_text()


@pytest.mark.slow
def test_an_interrupted_two_process_run_resumes_to_the_same_model(tmp_path, folder, hooks):
    """With dropout, so that each rank's own random generator must be restored too."""
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    settings = [*TRAIN, "--dropout", "0.2", "--nproc", "2"]  # the last --dropout counts
    proc, _ = cadenza(hooks, straight, "train", "--data", folder.name, "--out", str(straight), *settings)
    assert proc.returncode == 0, proc.stderr
    proc, _ = cadenza(hooks, broken, "train", "--data", folder.name, "--out", str(broken), *settings, fail_at=7)
    assert proc.returncode != 0 and record(broken)["state"]["step"] == 6  # stopped while saving step 7
    proc, log = cadenza(hooks, broken, "train", "--resume", "--out", str(broken), "--nproc", "2")
    assert proc.returncode == 0, proc.stderr
    assert record(broken)["state"]["history"] == record(straight)["state"]["history"]
    assert record(broken)["resumed_at"] == [6] and {w[1] for w in log if w[0] == "write"} == {"0"}
    assert_close_weights(weights(straight, "checkpoint.safetensors"), weights(broken, "checkpoint.safetensors"), 0)


def test_each_familys_loss_weight_makes_split_batches_exact(tmp_path, folder):
    """The loss of a whole batch equals its slices' losses weighted by each family's loss_weight,
    as the processes combine them, and prepare hands that weight to the loop."""
    import gzip

    import numpy as np

    from cadenza.families import by_name

    rng = np.random.default_rng(0)
    piece = lambda: [sorted(set(rng.choice([60, 64, 67, 72], size=3).tolist())) for _ in range(rng.integers(8, 40))]
    bench = tmp_path / "tiny.json.gz"
    splits = {s: [piece() for _ in range(3)] for s in ("train", "valid", "test")}
    bench.write_bytes(gzip.compress(json.dumps(splits).encode()))
    small = dict(n_layer=1, n_head=2, n_embd=16, batch_size=4, dropout=0.0, steps=1)
    configs = {
        "voices": dict(data=folder.name, block_size=64, **small),
        "orderless": dict(data=folder.name, window_steps=32, **small),
        "benchmark": dict(data=str(bench), block_size=32, **small),
    }
    uneven = False
    for name, settings in configs.items():
        module = by_name(name).load()
        prepared = module.prepare(module.Config(**settings), None, lambda m: None)
        assert prepared.loss_weight is not None, name
        batch = prepared.batches.next(4)
        halves = [[t[:2] for t in batch], [t[2:] for t in batch]]
        with torch.no_grad():
            whole = float(prepared.loss(prepared.model, batch))
            parts = [(float(prepared.loss(prepared.model, h)), float(prepared.loss_weight(h))) for h in halves]
        weighted = sum(m * w for m, w in parts) / sum(w for _, w in parts)
        assert weighted == pytest.approx(whole, abs=1e-5), name
        uneven |= abs((parts[0][0] + parts[1][0]) / 2 - whole) > 1e-4
    assert uneven  # somewhere the plain average of the slices' means is not the batch's mean


def test_nproc_is_checked_in_one_line_before_anything_starts(tmp_path, folder):
    one_line_error(run_cli("train", "--data", folder.name, "--out", str(tmp_path / "m"), "--nproc", "0"), "--nproc")
    one_line_error(
        run_cli("train", "--data", folder.name, "--out", str(tmp_path / "m"), "--nproc", "2", "--batch-size", "5"),
        "--batch-size 5",
        "2 processes",
    )
    assert not (tmp_path / "m").exists()


def test_the_launcher_reruns_the_command_without_nproc(monkeypatch):
    from cadenza.errors import OptionError
    from cadenza.train import distributed

    assert distributed.without_nproc(["train", "--nproc", "2", "--out", "x", "--nproc=3", "--quiet"]) == [
        "train",
        "--out",
        "x",
        "--quiet",
    ]
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert distributed.should_launch(2) and not distributed.should_launch(1)
    with distributed.joined() as group:  # one process: no process group at all
        assert group is None
    assert not torch.distributed.is_initialized()
    monkeypatch.setenv("WORLD_SIZE", "2")  # already inside torchrun: never launch again
    assert not distributed.should_launch(2)
    with pytest.raises(OptionError, match="drop --nproc 3"):
        distributed.check_nproc(3)
