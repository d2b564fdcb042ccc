"""Crash safety: a command killed with SIGKILL (a crash, the OOM killer, a pulled plug) at any
moment loses nothing that was complete and leaves no part of a file under a final name
(cadenza.io.files writes under a hidden `.NAME.RANDOM.tmp` name, flushes, renames). A training
run so killed resumes from its last complete checkpoint, to the very weights of a run never
killed; files that belong together (weights and their JSON) stay consistent when the kill falls
between their renames.

The commands run in subprocesses as a user runs them; where a kill must fall at an exact moment
(before or after one rename), the subprocess is the same command with `os.replace` wrapped to
announce that moment on stderr and wait there to be killed."""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cadenza.io.files import atomic_write, atomic_write_all, is_temporary, remove_temporaries
from conftest import make_score

OUTPUT_SUFFIXES = {
    ".safetensors",
    ".json",
    ".mid",
    ".musicxml",
    ".wav",
    ".ogg",
    ".flac",
    ".png",
    ".html",
    ".md",
    ".txt",
}


# -- what a folder holds after a kill ----------------------------------------------------------------


def check_complete(path: Path) -> None:
    """Raise unless `path`, a file under a final name, is whole: it parses as what its suffix says."""
    suffix = path.suffix
    if suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(path), "np") as f:
            for key in f.keys():
                f.get_tensor(key)
    elif suffix == ".json":
        json.loads(path.read_text())
    elif suffix == ".mid":
        import mido

        mido.MidiFile(str(path))
    elif suffix == ".musicxml":
        ET.parse(path)
    elif suffix in (".wav", ".ogg", ".flac"):
        import soundfile

        soundfile.read(str(path))
    elif suffix == ".png":
        from PIL import Image

        with Image.open(path) as im:
            im.load()
    elif suffix == ".html":
        assert path.read_text().rstrip().endswith("</html>"), path
    elif suffix == ".md":
        assert "## Measured" in path.read_text(), path  # a card's last section


def check_folder(folder: Path) -> list[Path]:
    """Every file under a final name in `folder` is whole; temporary files (left by the kill) are
    recognizable as such and carry no output's suffix, so nothing takes them for an output.
    Returns the temporaries found."""
    temporaries = []
    for p in sorted(folder.rglob("*")):
        if p.is_dir():
            continue
        if is_temporary(p):
            temporaries.append(p)
        else:
            assert not p.name.startswith("."), f"{p}: a hidden file that is no temporary"
        if p in temporaries or p.name.startswith("."):
            assert p.suffix not in OUTPUT_SUFFIXES, f"{p}: a temporary file that looks like an output"
            continue
        check_complete(p)
    return temporaries


# -- running a command to kill it ----------------------------------------------------------------------


class Command:
    """`cadenza ARGS` in a subprocess, its stderr read line by line as it comes. `patch`: Python
    run first in that process (to make a moment announce itself)."""

    def __init__(self, *args: str, patch: str = ""):
        code = "\n".join(
            [
                "import sys",
                patch,
                f"sys.argv = ['cadenza', *{list(args)!r}]",
                "from cadenza.cli.main import main",
                "main(sys.argv[1:])",
            ]
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stderr:  # type: ignore[union-attr]
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, marker: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"ended before {marker!r}:\n{''.join(self.seen)}")
            self.seen.append(line)
            if marker in line:
                return line
        raise AssertionError(f"no {marker!r} within {timeout} s:\n{''.join(self.seen)}")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def finish(self, timeout: float = 120) -> tuple[int, str]:
        self.proc.wait(timeout=timeout)
        while (line := self.lines.get(timeout=10)) is not None:
            self.seen.append(line)
        return self.proc.returncode, "".join(self.seen)


def pause_at_rename(name: str, nth: int = 1, after: bool = False) -> str:
    """Code that makes the `nth` rename onto a file called `name` (or ending in it, for a
    suffix) wait to be killed, announcing `PAUSED <path>` on stderr, before it is done (or
    just after)."""
    return f"""
import os, sys, time
_replace, _count = os.replace, [0]
def _paused(src, dst, *a, **k):
    hit = os.path.basename(str(dst)).endswith({name!r})
    if hit:
        _count[0] += 1
    if hit and _count[0] == {nth} and not {after!r}:
        print("PAUSED " + str(dst), file=sys.stderr, flush=True)
        time.sleep(120)
    done = _replace(src, dst, *a, **k)
    if hit and _count[0] == {nth} and {after!r}:
        print("PAUSED " + str(dst), file=sys.stderr, flush=True)
        time.sleep(120)
    return done
os.replace = _paused
"""


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cadenza.cli", *args], capture_output=True, text=True, timeout=300, env=os.environ.copy()
    )


# -- fixtures: music to train on and to compare with ----------------------------------------------------


@pytest.fixture(scope="module")
def pieces(tmp_path_factory) -> Path:
    """Six small four-voice pieces as MIDI files (made here: no corpus, no download)."""
    from cadenza.io.midi import write_midi

    folder = tmp_path_factory.mktemp("pieces")
    for bars in range(3, 9):
        write_midi(make_score(bars=bars), folder / f"piece{bars}.mid")
    return folder


TRAIN = ("--steps", "30", "--eval-every", "5", "--embd", "16", "--layers", "1", "--heads", "2")
TRAIN += ("--block-size", "64", "--batch-size", "4", "--checkpoint-minutes", "0", "--seed", "3", "--quiet")


def train_args(data: Path, out: Path) -> list[str]:
    return ["train", "--data", str(data), "--out", str(out), *TRAIN]


@pytest.fixture(scope="module")
def straight(tmp_path_factory, pieces) -> Path:
    """The run never killed, to compare with."""
    out = tmp_path_factory.mktemp("straight") / "m"
    proc = run_cli(*train_args(pieces, out))
    assert proc.returncode == 0, proc.stderr
    return out


def same_weights(a: Path, b: Path) -> bool:
    from safetensors.numpy import load_file

    x, y = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    return x.keys() == y.keys() and all((x[k] == y[k]).all() for k in x)


def resume_to_the_end(out: Path) -> None:
    proc = run_cli("train", "--resume", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    check_folder(out)
    assert json.loads((out / "checkpoint.json").read_text())["state"]["step"] == 30


# -- atomic_write itself ------------------------------------------------------------------------------


def test_a_write_is_whole_or_absent_and_its_temporary_is_no_output(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    target = tmp_path / "piece.mid"
    atomic_write(target, b"MThd whole")
    assert target.read_bytes() == b"MThd whole" and len(synced) >= 2  # the file, then its folder
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())

    seen = []

    def dies_halfway(tmp: Path):
        seen.append(tmp)
        tmp.write_bytes(b"MThd half")
        raise KeyboardInterrupt  # Ctrl-C inside a writer

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, dies_halfway, force=True)
    assert target.read_bytes() == b"MThd whole"  # the old file, untouched
    assert is_temporary(seen[0]) and seen[0].name.startswith(".piece.mid.") and seen[0].suffix == ".tmp"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["piece.mid"]  # the temporary is gone


def test_leftover_temporaries_are_recognized_and_cleared(tmp_path):
    left = tmp_path / ".model.safetensors.abc123.tmp"
    left.write_bytes(b"half")
    other = tmp_path / ".notes.txt.abc.tmp"
    other.write_bytes(b"someone else's")
    assert is_temporary(left) and not is_temporary(tmp_path / "model.safetensors")
    assert remove_temporaries(tmp_path, ["model.safetensors"]) == [left]
    assert not left.exists() and other.exists()


def test_files_written_together_are_all_written_before_any_is_renamed(tmp_path, monkeypatch):
    order = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (order.append(Path(b).name), real_replace(a, b)))

    def weights(tmp: Path):
        order.append("wrote weights")
        tmp.write_bytes(b"w")

    atomic_write_all([(tmp_path / "m.safetensors", weights), (tmp_path / "m.json", b"{}")])
    assert order == ["wrote weights", "m.safetensors", "m.json"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# -- training: the checkpoint a kill leaves is always one to resume from ---------------------------------


def test_a_checkpoint_record_comes_from_its_weights_when_the_json_lags(tmp_path):
    """A kill between the renames of checkpoint.safetensors and checkpoint.json leaves a JSON one
    checkpoint older than the weights: the weights' own record wins, and model.json is put right."""
    import torch
    from safetensors.torch import save_file

    from cadenza.nn.checkpoint import HEADER_KEY
    from cadenza.train.records import checkpoint_record, repair_pairs

    new = {"tokenizer": {"kind": "voices"}, "state": {"step": 7}}
    save_file({"x": torch.zeros(2)}, str(tmp_path / "checkpoint.safetensors"), metadata={HEADER_KEY: json.dumps(new)})
    (tmp_path / "checkpoint.json").write_text(json.dumps({**new, "state": {"step": 6}}))
    assert checkpoint_record(tmp_path)["state"]["step"] == 7
    meta = {"model": {}, "step": 20, "valid_loss": 1.5}
    save_file({"x": torch.zeros(2)}, str(tmp_path / "model.safetensors"), metadata={HEADER_KEY: json.dumps(meta)})
    (tmp_path / "model.json").write_text(json.dumps({**meta, "step": 10, "valid_loss": 2.0}))
    repair_pairs(tmp_path)
    assert json.loads((tmp_path / "model.json").read_text()) == meta
    assert json.loads((tmp_path / "checkpoint.json").read_text())["state"]["step"] == 7


@pytest.mark.slow  # four short training runs (one in the fixture)
def test_training_killed_at_any_moment_resumes_to_the_same_model(tmp_path, pieces, straight):
    """Killed as soon as the first checkpoint is complete, and at a random moment later (the run
    checkpoints every step): each time every file parses and --resume ends with the weights of
    the run never killed."""
    for i, delay in enumerate([0.0, random.Random(0).uniform(0.1, 0.8)]):
        out = tmp_path / f"run{i}"
        cmd = Command(*train_args(pieces, out))
        deadline = time.monotonic() + 60
        while not (out / "checkpoint.json").exists() and cmd.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(delay)
        cmd.kill()
        check_folder(out)
        resume_to_the_end(out)
        assert same_weights(out, straight), f"kill {i} after {delay:.2f} s"


@pytest.mark.slow  # three short training runs
def test_a_kill_between_the_checkpoint_files_loses_nothing(tmp_path, pieces, straight):
    """Killed just after checkpoint.safetensors (step 3) was renamed into place and before
    checkpoint.json (still step 2) was: the resumed run must start from the weights' step, not
    the JSON's, or its weights, optimizer and data order disagree."""
    out = tmp_path / "m"
    cmd = Command(*train_args(pieces, out), patch=pause_at_rename("checkpoint.safetensors", nth=3, after=True))
    cmd.wait_for("PAUSED")
    cmd.kill()
    check_folder(out)
    assert json.loads((out / "checkpoint.json").read_text())["state"]["step"] == 2  # the JSON lags
    resume_to_the_end(out)
    assert same_weights(out, straight)


@pytest.mark.slow  # two short training runs
def test_a_kill_between_the_model_files_leaves_weights_that_say_what_they_are(tmp_path, pieces):
    """Killed just after model.safetensors (the second best model) was renamed and before
    model.json was: the weights carry their own model.json, from which resuming puts it right."""
    from cadenza.train.records import header_record

    out = tmp_path / "m"
    cmd = Command(*train_args(pieces, out), patch=pause_at_rename("model.safetensors", nth=2, after=True))
    cmd.wait_for("PAUSED")
    cmd.kill()
    check_folder(out)
    carried = header_record(out / "model.safetensors")
    assert carried is not None and carried["step"] > json.loads((out / "model.json").read_text())["step"] == 5
    resume_to_the_end(out)
    meta = json.loads((out / "model.json").read_text())
    assert meta == header_record(out / "model.safetensors")
    history = json.loads((out / "checkpoint.json").read_text())["state"]["history"]
    assert meta["valid_loss"] == min(h[2] for h in history)  # the best of the whole run is the one kept


# -- writing a piece's outputs, and a report ------------------------------------------------------------


@pytest.mark.slow  # generate killed a few times
def test_generate_killed_at_random_moments_leaves_only_whole_files(tmp_path):
    rng = random.Random(1)
    out = tmp_path / "pieces"
    args = ("generate", "--model", "chorales", "--out", f"{out}/", "--n", "3", "--seed", "1", "--bars", "8")
    args += ("--formats", "mid,musicxml,wav,ogg,png", "--force", "--quiet")
    for _ in range(3):
        cmd = Command(*args)
        time.sleep(rng.uniform(1.5, 4.5))
        cmd.kill()
        if out.exists():
            check_folder(out)
    proc = run_cli(*args)  # the same command again finishes and replaces what the kills left
    assert proc.returncode == 0, proc.stderr
    check_folder(out)
    assert len([p for p in out.glob("*.mid") if not p.name.endswith(".performed.mid")]) == 3


@pytest.mark.slow  # generate killed once, then evaluate
def test_a_piece_killed_before_its_rename_is_not_read_as_a_piece(tmp_path, pieces):
    """Killed with a piece's MIDI written in full but not yet renamed: no .mid of that name
    appears, and `cadenza evaluate` on the folder reads the finished pieces only."""
    out = tmp_path / "pieces"
    cmd = Command(
        "generate",
        *("--model", "chorales", "--out", f"{out}/", "--n", "2", "--seed", "1", "--bars", "4"),
        *("--formats", "mid", "--quiet"),
        patch=pause_at_rename(".mid", nth=2),
    )
    paused = Path(cmd.wait_for("PAUSED").split(" ", 1)[1].strip())
    cmd.kill()
    assert not paused.exists()
    assert len(check_folder(out)) == 1  # the one temporary, named as such
    proc = run_cli("evaluate", str(out), "--reference", str(pieces), "--out", str(tmp_path / "report"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["sets"]["generated"]["pieces"] == 1 and not report["sets"]["generated"]["skipped"]


@pytest.mark.slow  # evaluate killed twice, then run to the end
def test_evaluate_killed_while_writing_its_report_leaves_only_whole_files(tmp_path, pieces):
    stem = tmp_path / "out" / "report"
    args = ("evaluate", str(pieces), "--reference", str(pieces), "--out", str(stem), "--quiet")
    cmd = Command(*args, patch=pause_at_rename("report.json"))  # both files written, neither renamed
    cmd.wait_for("PAUSED")
    cmd.kill()
    assert len(check_folder(stem.parent)) == 2 and not list(stem.parent.glob("report.*"))
    cmd = Command(*args)
    time.sleep(random.Random(2).uniform(0.5, 2.5))
    cmd.kill()
    check_folder(stem.parent)
    proc = run_cli(*args, "--force")
    assert proc.returncode == 0, proc.stderr
    check_folder(stem.parent)
    assert {p.name for p in stem.parent.glob("report.*")} == {"report.json", "report.html"}
