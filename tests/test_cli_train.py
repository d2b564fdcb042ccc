"""`cadenza train` and `cadenza bench nll` (cadenza.cli.train) as a user runs them: real training
runs in subprocesses, refusals, resuming."""

import gzip
import json
import shutil

import numpy as np
import pytest

from conftest import one_line_error, run_cli

pytestmark = pytest.mark.slow  # every test here trains a model through the CLI or needs one so trained


def test_train_skips_bad_files_and_reports_them(tiny_model, chorale_midi_folder):
    meta = json.loads((tiny_model / "model.json").read_text())
    assert meta["data_summary"]["skipped"] == 2  # broken.mid and empty.mid
    assert (tiny_model / "model.safetensors").exists() and (tiny_model / "card.md").exists()
    assert "cadenza train --data" in (tiny_model / "card.md").read_text()


def test_train_refuses_to_clobber_and_resumes(tiny_model):
    one_line_error(run_cli("train", "--data", "x", "--out", str(tiny_model)), "--resume", "--force")


@pytest.mark.parametrize("orderless", [[], ["--orderless"]])
def test_forced_train_with_bad_data_keeps_the_old_model(tiny_model, tmp_path, orderless):
    out = tmp_path / "kept"
    shutil.copytree(tiny_model, out)
    before = sorted(p.name for p in out.iterdir())
    one_line_error(
        run_cli("train", "--data", "no-such-corpus", "--out", str(out), "--force", *orderless), "no-such-corpus"
    )
    assert sorted(p.name for p in out.iterdir()) == before


def test_orderless_training_resumes_and_refuses_to_clobber(tiny_harmonizer, satb_file):
    before = (tiny_harmonizer / "model.safetensors").read_bytes()
    proc = run_cli("train", "--resume", "--out", str(tiny_harmonizer), "--quiet", check=True)
    assert str(tiny_harmonizer) in proc.stdout
    assert (tiny_harmonizer / "model.safetensors").read_bytes() == before  # a finished run: nothing new
    one_line_error(
        run_cli("train", "--orderless", "--data", str(satb_file), "--out", str(tiny_harmonizer)), "--resume", "--force"
    )


def test_training_says_how_to_use_the_model(tiny_model):
    """A newcomer's model trained into ./models was not found by its name from elsewhere, and
    nothing said to give its folder."""
    proc = run_cli("train", "--resume", "--out", str(tiny_model), check=True)
    assert f"use it with --model {tiny_model}: `cadenza generate`" in proc.stderr
    assert "use it" not in run_cli("train", "--resume", "--out", str(tiny_model), "--quiet", check=True).stderr


def test_bench_cli_trains_evaluates_and_reloads(tmp_path):
    rng = np.random.default_rng(0)
    piece = lambda: [sorted(set(rng.choice([60, 64, 67, 72], size=3).tolist())) for _ in range(20)]
    data = tmp_path / "tiny.json.gz"
    data.write_bytes(
        gzip.compress(json.dumps({s: [piece() for _ in range(3)] for s in ("train", "valid", "test")}).encode())
    )
    out = tmp_path / "m"
    proc = run_cli(
        "bench",
        "nll",
        "--data",
        str(data),
        "--out",
        str(out),
        "--steps",
        "6",
        "--eval-every",
        "3",
        "--embd",
        "16",
        "--layers",
        "1",
        "--heads",
        "2",
        "--block-size",
        "32",
        "--batch-size",
        "4",
        "--baselines",
        "--with-ngram",
        "--shift-aware",
        "--quiet",
        check=True,
    )
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


# -- refusals, --resume on a finished run, Ctrl-C: as a user meets them -----------------------------


@pytest.mark.parametrize(
    "given,words",
    [
        (["--seed", "-1"], "--seed must be at least 0"),
        (["--lr", "-1"], "--lr must be positive"),
        (["--embd", "100", "--heads", "3"], "--embd 100 is not a multiple of --heads 3"),
        (["--nproc", "0"], "--nproc must be at least 1"),
        (["--data", "no-such-corpus"], "no-such-corpus"),
        (["--out-is-a-file"], "is a file, not a folder"),
    ],
)
def test_a_refused_train_leaves_nothing_behind(tmp_path, given, words):
    out = tmp_path / "new" / "model"
    if given == ["--out-is-a-file"]:
        (tmp_path / "new").write_text("a file where the folder would go")
        given = []
    before = sorted(tmp_path.rglob("*"))
    args = ["--data", "bach-chorales", "--out", str(out), *given]
    one_line_error(run_cli("train", *args), words)
    assert sorted(tmp_path.rglob("*")) == before  # no folder, no file


def test_resume_trains_a_finished_run_further_or_says_how(tiny_model, tmp_path):
    out = tmp_path / "m"
    shutil.copytree(tiny_model, out)
    proc = run_cli("train", "--resume", "--out", str(out), check=True)  # finished at step 8: says how to go on
    assert "finished its 8 steps" in proc.stderr and f"`cadenza train --resume --out {out} --steps N`" in proc.stderr
    one_line_error(run_cli("train", "--resume", "--out", str(out), "--steps", "5"), "at step 8 already", "more than 8")
    one_line_error(run_cli("train", "--resume", "--out", str(out), "--steps", "9", "--minutes", "5"), "not both")
    proc = run_cli("train", "--resume", "--out", str(out), "--steps", "12", check=True)
    assert "on from step 8 to step 12" in proc.stderr
    assert json.loads((out / "checkpoint.json").read_text())["state"]["step"] == 12


INTERRUPTIBLE = """
import sys, time
def announce(module, name, word, seconds):
    real = getattr(module, name)
    def slow(*args, **kwargs):
        print(word, file=sys.stderr, flush=True)
        time.sleep(seconds)
        return real(*args, **kwargs)
    setattr(module, name, slow)
import cadenza.data.corpus, cadenza.families.voices
"""


def interruptible(args: list[str], patch: str):
    """`cadenza ARGS` in a subprocess whose data reading or validation announces itself on stderr
    and takes a while (`patch`), as a large corpus's would: a moment to press Ctrl-C in."""
    import os
    import subprocess
    import sys

    run = f"sys.argv = ['cadenza', *{args!r}]\nfrom cadenza.cli.main import main\nmain(sys.argv[1:])"
    code = f"{INTERRUPTIBLE}\n{patch}\n{run}"
    return subprocess.Popen(
        [sys.executable, "-c", code], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )


def ctrl_c_when(proc, word: str) -> tuple[int, str]:
    import signal

    seen = []
    for line in proc.stderr:
        seen.append(line)
        if word in line:
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.communicate(timeout=120)[1]
    return proc.returncode, "".join(seen) + rest


def test_ctrl_c_while_reading_the_data_says_nothing_was_written(chorale_midi_folder, tmp_path):
    out = tmp_path / "m"
    args = ["train", "--data", str(chorale_midi_folder), "--out", str(out), "--steps", "8", "--quiet"]
    code, err = ctrl_c_when(interruptible(args, "announce(cadenza.data.corpus, 'load', 'READING', 60)"), "READING")
    assert code == 130 and f"interrupted while reading the data, before training: nothing was written to {out}" in err
    assert "Traceback" not in err and not out.exists()


def test_ctrl_c_during_validation_keeps_a_checkpoint_there_and_says_how_to_resume(chorale_midi_folder, tmp_path):
    out = tmp_path / "m"
    args = ["train", "--data", str(chorale_midi_folder), "--out", str(out), "--steps", "40", "--eval-every", "4"]
    args += ["--embd", "16", "--layers", "1", "--heads", "2", "--block-size", "64", "--batch-size", "2", "--quiet"]
    patch = "announce(cadenza.families.voices, 'evaluate', 'VALIDATING', 2)"  # checkpoints: every 2 minutes
    code, err = ctrl_c_when(interruptible(args, patch), "VALIDATING")
    assert code == 130 and "Traceback" not in err
    assert "stopping after this step to write a checkpoint" in err
    assert f"interrupted: {out} holds a checkpoint at step 4 of 40" in err  # the validation finished, then saved
    assert f"continue with `cadenza train --resume --out {out}`" in err
    proc = run_cli("train", "--resume", "--out", str(out), "--quiet", check=True)
    assert json.loads((out / "checkpoint.json").read_text())["state"]["step"] == 40, proc.stderr


def test_a_run_records_what_exclude_left_out_and_split_of_keeps_to_the_record(tmp_path, chorale_midi_folder):
    from cadenza.data.corpus import split_of
    from cadenza.io.midi import read_midi, write_midi
    from cadenza.score import Score
    from conftest import train_tiny

    held = tmp_path / "held"
    held.mkdir()
    chorale = read_midi(chorale_midi_folder / "sub" / "bwv66.6.mid")
    soprano = max(chorale.parts, key=lambda p: sum(n.pitch for n in p.notes) / len(p.notes))
    write_midi(Score(parts=[soprano], tempos=chorale.tempos, meters=chorale.meters), held / "tune.mid")
    out = train_tiny(tmp_path / "m", chorale_midi_folder, "--exclude", str(held), "--block-size", "96", steps=2)
    meta = json.loads((out / "model.json").read_text())
    left_out = meta["data_summary"]["excluded_ids"]
    assert len(left_out) == 1 and left_out[0].endswith("sub/bwv66.6.mid#0"), left_out
    train, valid = split_of(meta)
    assert len(train) + len(valid) == 5 and left_out[0] not in {p.id for p in train + valid}
    other = left_out[0].replace("bwv66.6", "bwv1.6")  # a record that is not what the matcher finds
    meta["data_summary"]["excluded_ids"] = [other]
    ids = {p.id for p in sum(split_of(meta), [])}
    assert len(ids) == 5 and other not in ids and left_out[0] in ids
