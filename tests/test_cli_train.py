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
