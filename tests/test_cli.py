"""The command line as a user runs it: real subprocesses, real files."""
import json
import shutil

import pytest

from conftest import make_score, run_cli


def one_line_error(proc, *words):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for w in words:
        assert w in lines[0], lines[0]


def test_train_skips_bad_files_and_reports_them(tiny_model, chorale_midi_folder):
    meta = json.loads((tiny_model / "model.json").read_text())
    assert meta["data_summary"]["skipped"] == 2  # broken.mid and empty.mid
    assert (tiny_model / "model.safetensors").exists() and (tiny_model / "card.md").exists()
    assert "cadenza train --data" in (tiny_model / "card.md").read_text()


def test_generate_writes_every_format_and_same_seed_gives_identical_midi(tiny_model, tmp_path):
    args = ["generate", "--model", str(tiny_model), "--bars", "2", "--key", "D major", "--tempo", "72",
            "--seed", "7", "--quiet"]
    first = run_cli(*args, "--out", str(tmp_path / "a"), check=True)
    run_cli(*args, "--out", str(tmp_path / "b"), "--formats", "mid", check=True)
    for suffix in ("mid", "musicxml", "wav", "png", "json"):
        assert (tmp_path / f"a.{suffix}").stat().st_size > 0
    assert str(tmp_path / "a.mid") in first.stdout
    assert (tmp_path / "a.mid").read_bytes() == (tmp_path / "b.mid").read_bytes()
    record = json.loads((tmp_path / "a.json").read_text())
    assert record["seed"] == 7 and record["key"] == "D major" and record["tempo"] == 72


def test_alternatives_use_consecutive_seeds(tiny_model, tmp_path):
    run_cli("generate", "--model", str(tiny_model), "--bars", "2", "--seed", "3", "--n", "2", "--formats", "mid",
            "--out", str(tmp_path / "alt"), check=True)
    seeds = [json.loads((tmp_path / f"alt-{i}.json").read_text())["seed"] for i in (1, 2)]
    assert seeds == [3, 4]
    assert (tmp_path / "alt-1.mid").read_bytes() != (tmp_path / "alt-2.mid").read_bytes()


def test_no_silent_overwrite(tiny_model, tmp_path):
    args = ["generate", "--model", str(tiny_model), "--bars", "1", "--seed", "1", "--formats", "mid",
            "--out", str(tmp_path / "x")]
    run_cli(*args, check=True)
    before = (tmp_path / "x.mid").read_bytes()
    one_line_error(run_cli(*args, "--seed", "2"), "exists", "--force")
    assert (tmp_path / "x.mid").read_bytes() == before
    run_cli(*args, "--seed", "2", "--force", check=True)


def test_continue_keeps_the_prompt(tiny_model, tmp_path, chorale):
    from cadenza.io import read_score
    from cadenza.io.midi import write_midi

    prompt = tmp_path / "prompt.mid"
    write_midi(make_score(bars=2), prompt)
    run_cli("continue", str(prompt), "--model", str(tiny_model), "--bars", "2", "--seed", "1", "--formats", "mid",
            "--out", str(tmp_path / "next"), check=True)
    before, after = read_score(prompt), read_score(tmp_path / "next.mid")
    for p, q in zip(before.parts, after.parts):
        assert q.notes[:len(p.notes)] == p.notes
    assert after.end_beats > before.end_beats


def test_render_uses_a_soundfont(tmp_path):
    import soundfile

    from cadenza.io.midi import write_midi

    write_midi(make_score(bars=1), tmp_path / "in.mid")
    run_cli("render", str(tmp_path / "in.mid"), "--out", str(tmp_path / "in.wav"), check=True)
    audio, rate = soundfile.read(tmp_path / "in.wav")
    assert rate == 44100 and abs(audio).max() > 0.05


@pytest.mark.parametrize("content,words", [
    (b"", ["empty"]),
    (b"this is not music at all", ["bad.mid"]),
    (b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0MTrk\x00\x00\x00\x40\x00\x90\x3c", ["bad.mid"]),
])
def test_bad_prompt_files_give_one_line_and_exit_2(tiny_model, tmp_path, content, words):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(content)
    one_line_error(run_cli("continue", str(bad), "--model", str(tiny_model)), *words)
    one_line_error(run_cli("render", str(bad)), *words)


@pytest.mark.parametrize("args,words", [
    (["--bars", "0"], ["bars", "at least 1"]),
    (["--tempo", "-1"], ["tempo", "between"]),
    (["--key", "H major"], ["unknown key", "D major"]),
    (["--meter", "4/5"], ["meter"]),
    (["--top-p", "2"], ["top-p"]),
    (["--formats", "mp3"], ["mp3", "choose from"]),
])
def test_impossible_options_say_what_is_accepted(tiny_model, tmp_path, args, words):
    one_line_error(run_cli("generate", "--model", str(tiny_model), "--out", str(tmp_path / "z"), *args), *words)


def test_missing_model_and_unknown_corpus(tmp_path):
    one_line_error(run_cli("generate", "--model", "no-such-model"), "no model named")
    one_line_error(run_cli("train", "--data", "no-such-corpus", "--out", str(tmp_path / "m")), "no-such-corpus",
                   "bach-chorales")


def test_train_refuses_to_clobber_and_resumes(tiny_model):
    one_line_error(run_cli("train", "--data", "x", "--out", str(tiny_model)), "--resume", "--force")


@pytest.mark.parametrize("orderless", [[], ["--orderless"]])
def test_forced_train_with_bad_data_keeps_the_old_model(tiny_model, tmp_path, orderless):
    out = tmp_path / "kept"
    shutil.copytree(tiny_model, out)
    before = sorted(p.name for p in out.iterdir())
    one_line_error(run_cli("train", "--data", "no-such-corpus", "--out", str(out), "--force", *orderless),
                   "no-such-corpus")
    assert sorted(p.name for p in out.iterdir()) == before


def test_models_lists_shipped_models():
    proc = run_cli("models", check=True)
    assert "chorales" in proc.stdout and "folk" in proc.stdout and "harmonize, infill" in proc.stdout
    one_line_error(run_cli("generate", "--model", "harmonizer"), "cadenza harmonize")


@pytest.mark.parametrize("command", ["generate", "continue", "train", "render", "models", "harmonize", "infill",
                                     "evaluate", "baseline markov", "baseline heldout", "bench nll"])
def test_every_command_has_help(command):
    proc = run_cli(*command.split(), "--help")
    assert proc.returncode == 0 and "Usage" in proc.stdout and "Traceback" not in proc.stderr, proc.stderr
