"""`cadenza perform` (cadenza.cli.perform) as a user runs it, and the performed outputs of the
generating commands (cadenza.render.Performing)."""

import json

import pytest

from cadenza.io import read_score, write_score
from cadenza.render import Performing, write_outputs
from conftest import make_score, melody, one_line_error, run_cli

pytestmark = pytest.mark.slow  # CLI subprocesses


@pytest.fixture
def piece(tmp_path):
    path = tmp_path / "piece.mid"
    write_score(make_score(4, 4), path)
    return path


def test_perform_writes_the_performance_and_its_audio(piece, tmp_path):
    proc = run_cli("perform", str(piece), "--seed", "3", "--out", str(tmp_path / "played"), check=True)
    for suffix in ("mid", "wav", "json"):
        assert (tmp_path / f"played.{suffix}").stat().st_size > 0
        assert str(tmp_path / f"played.{suffix}") in proc.stdout
    record = json.loads((tmp_path / "played.json").read_text())
    assert record["performer"] == "rules" and record["seed"] == 3
    played, written = read_score(tmp_path / "played.mid"), read_score(piece)
    assert len(played.notes()) == len(written.notes())
    assert len({t.bpm for t in played.tempos}) > 1  # the tempo breathes
    run_cli("perform", str(piece), "--seed", "3", "--out", str(tmp_path / "again"), "--formats", "mid", check=True)
    assert (tmp_path / "again.mid").read_bytes() == (tmp_path / "played.mid").read_bytes()


def test_perform_refuses_what_it_cannot_do(piece, tmp_path):
    one_line_error(run_cli("perform", str(piece), "--performer", "robot"), "robot", "rules")
    one_line_error(run_cli("perform", str(piece), "--expressiveness", "5"), "expressiveness")
    one_line_error(run_cli("perform", str(piece), "--formats", "musicxml"), "notation")
    one_line_error(run_cli("perform", str(tmp_path / "missing.mid")), "missing.mid")
    run_cli("perform", str(piece), "--out", str(tmp_path / "x"), "--formats", "mid", check=True)
    one_line_error(run_cli("perform", str(piece), "--out", str(tmp_path / "x"), "--formats", "mid"), "x.mid")


def test_a_performer_model_of_ones_own_plays_by_its_folder(piece, tmp_path):
    """`--performer learned` played only the shipped model; one you trained had no way in."""
    from cadenza.hub import find_model

    mine = tmp_path / "my-performer"
    mine.mkdir()
    for f in find_model("performer").iterdir():
        if f.suffix in (".json", ".safetensors"):
            (mine / f.name).write_bytes(f.read_bytes())
    args = ("--seed", "3", "--formats", "mid")
    run_cli("perform", str(piece), "--performer", "learned", "--out", str(tmp_path / "a"), *args, check=True)
    run_cli("perform", str(piece), "--performer", str(mine), "--out", str(tmp_path / "b"), *args, check=True)
    assert (tmp_path / "a.mid").read_bytes() == (tmp_path / "b.mid").read_bytes()  # the same weights
    record = json.loads((tmp_path / "b.json").read_text())
    assert record["performer"] == "learned" and record["model"] == str(mine)
    assert record["seed"] is None  # it draws nothing: a seed printed and recorded had meant nothing
    proc = run_cli("perform", str(piece), "--performer", "learned", "--out", str(tmp_path / "c"), "--formats", "mid")
    assert "performer learned, expressiveness 1" in proc.stderr and "seed" not in proc.stderr
    one_line_error(run_cli("perform", str(piece), "--performer", "chorales"), "chorales", "no performer model")


def test_outputs_keep_the_score_and_add_the_performance(tmp_path):
    score = melody(8)
    paths = write_outputs(score, tmp_path / "a", ("mid", "wav"), {"command": "test"}, performing=Performing(seed=1))
    assert tmp_path / "a.performed.mid" in paths
    assert read_score(tmp_path / "a.mid").notes() == read_score(tmp_path / "a.mid").notes()
    written = read_score(tmp_path / "a.mid")
    assert [n.start_beats for n in written.notes()] == [n.start_beats for n in score.notes()]
    assert json.loads((tmp_path / "a.json").read_text())["performance"]["performer"] == "rules"
    paths = write_outputs(score, tmp_path / "b", ("mid",), {"command": "test"}, performing=Performing("none"))
    assert not (tmp_path / "b.performed.mid").exists()


def test_outputs_interrupted_part_way_leave_none_of_the_new_files(tmp_path, monkeypatch):
    """Ctrl-C while the audio renders, after the MIDI files are written: the files this call made
    are removed (a newcomer's rerun had been refused: "exists; use --force"), one it replaced
    under --force stays as written."""
    import cadenza.io.audio

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cadenza.io.audio, "write_audio", interrupted)
    (tmp_path / "a.mid").write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        write_outputs(melody(4), tmp_path / "a", ("mid", "wav"), {"command": "test"}, True, Performing(seed=1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mid"]  # no a.performed.mid, a.wav, a.json
    assert read_score(tmp_path / "a.mid").notes()  # replaced, whole
    with pytest.raises(KeyboardInterrupt):
        write_outputs(melody(4), tmp_path / "b", ("mid", "wav"), {"command": "test"}, performing=Performing(seed=1))
    assert not list(tmp_path.glob("b*"))
    (tmp_path / "c.json").symlink_to(tmp_path / "nowhere")  # a user's link, never written: it stays
    with pytest.raises(KeyboardInterrupt):
        write_outputs(melody(4), tmp_path / "c", ("mid", "wav"), {"command": "test"}, performing=Performing(seed=1))
    assert [p.name for p in tmp_path.glob("c*")] == ["c.json"]


def test_generate_writes_a_performed_midi_unless_told_not_to(tiny_model, tmp_path):
    args = ["generate", "--model", str(tiny_model), "--bars", "2", "--seed", "1", "--formats", "mid", "--quiet"]
    run_cli(*args, "--out", str(tmp_path / "a"), check=True)
    assert (tmp_path / "a.performed.mid").stat().st_size > 0
    run_cli(*args, "--out", str(tmp_path / "b"), "--performer", "none", check=True)
    assert not (tmp_path / "b.performed.mid").exists()
    one_line_error(run_cli(*args, "--out", str(tmp_path / "c"), "--performer", "robot"), "robot")


def test_perform_says_what_it_did_not_play(tmp_path):
    from music21 import expressions, note, stream

    part = stream.Part()
    for i, name in enumerate(["C5", "D5", "E5", "F5", "G5", "A5", "B5", "C6"]):
        n = note.Note(name, quarterLength=1.0)
        if i == 2:
            n.expressions.append(expressions.Trill())
        part.append(n)
    path = tmp_path / "trill.musicxml"
    stream.Score([part]).write("musicxml", fp=str(path))
    proc = run_cli("perform", str(path), "--formats", "mid", "--out", str(tmp_path / "t"), check=True)
    assert "trill x1" in proc.stderr and "trill.musicxml" in proc.stderr and "whole file" not in proc.stderr
    part_of_it = run_cli(
        "perform", str(path), "--bars", "2", "--formats", "mid", "--out", str(tmp_path / "b"), check=True
    )
    assert "trill x1" in part_of_it.stderr and "counted in the whole file" in part_of_it.stderr


def test_perform_plays_the_bars_asked_for(piece, tmp_path):
    run_cli("perform", str(piece), "--bars", "2-3", "--formats", "mid", "--out", str(tmp_path / "b"), check=True)
    played, whole = read_score(tmp_path / "b.mid"), read_score(piece)
    assert 0 < len(played.notes()) < len(whole.notes())
    assert json.loads((tmp_path / "b.json").read_text())["bars"] == [2, 3]
    one_line_error(run_cli("perform", str(piece), "--bars", "3-9", "--out", str(tmp_path / "c")), "piece.mid", "bars")
    one_line_error(run_cli("perform", str(piece), "--bars", "two", "--out", str(tmp_path / "d")), "--bars")


def test_audio_alone_writes_no_performed_midi(tmp_path):
    write_outputs(melody(4), tmp_path / "a", ("wav",), {"command": "test"}, performing=Performing(seed=1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.wav"]


def test_a_plan_for_another_piece_is_refused(piece, tmp_path):
    from cadenza.plan.form import parse_form

    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(parse_form("A8 B8").to_dict()))
    proc = run_cli("perform", str(piece), "--plan", str(plan), "--out", str(tmp_path / "p"))
    one_line_error(proc, "plan.json", "16 bars", "4")
