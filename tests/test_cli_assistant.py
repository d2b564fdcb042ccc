"""`cadenza harmonize` and `cadenza infill` (cadenza.cli.assistant) as a user runs them, with a tiny
orderless model really trained (conftest.tiny_harmonizer)."""

import json

import pytest

from conftest import make_score, melody, one_line_error, run_cli

pytestmark = pytest.mark.slow  # every test here needs the trained tiny_harmonizer and runs the CLI


def test_harmonize_keeps_the_melody_and_is_reproducible(tiny_harmonizer, tmp_path):
    from cadenza.io import read_score, write_score

    write_score(melody(), tmp_path / "tune.mid")
    args = [
        "harmonize",
        str(tmp_path / "tune.mid"),
        "--model",
        str(tiny_harmonizer),
        "--seed",
        "4",
        "--iterations",
        "6",
        "--formats",
        "mid,musicxml",
        "--quiet",
    ]
    run_cli(*args, "--n", "2", "--out", str(tmp_path / "h"), check=True)
    run_cli(*args, "--out", str(tmp_path / "again"), check=True)
    assert (tmp_path / "h-1.mid").read_bytes() == (tmp_path / "again.mid").read_bytes()
    run_cli(*[a if a != "4" else "5" for a in args], "--out", str(tmp_path / "five"), check=True)
    assert (tmp_path / "h-2.mid").read_bytes() == (tmp_path / "five.mid").read_bytes()  # alternative 2 = seed 5
    assert (tmp_path / "h-1.mid").read_bytes() != (tmp_path / "h-2.mid").read_bytes()
    out = read_score(tmp_path / "h-1.mid")
    assert len(out.parts) == 4
    given = [(n.pitch, n.start_beats, n.duration_beats) for n in read_score(tmp_path / "tune.mid").parts[0].notes]
    assert [(n.pitch, n.start_beats, n.duration_beats) for n in out.parts[0].notes] == given
    record = json.loads((tmp_path / "h-2.json").read_text())
    assert record["seed"] == 5 and record["phrase_ends_beats"][-1] == 14.0
    plan = record["melody_plan"]  # the analyzer's plan of the melody, which the phrase ends follow
    assert sum(s["bars"] for s in plan["sections"]) == 4 and plan["form"]


def test_harmonize_says_the_key_it_read_from_the_melody(tiny_harmonizer, tmp_path):
    from cadenza.io import write_score

    write_score(melody(), tmp_path / "tune.mid")  # E F# G# A B: E major, no key signature
    args = ["harmonize", str(tmp_path / "tune.mid"), "--model", str(tiny_harmonizer), "--iterations", "2"]
    proc = run_cli(*args, "--formats", "mid", "--out", str(tmp_path / "h"), check=True)
    assert "in E major" in proc.stderr


def test_harmonize_follows_an_abc_tunes_chord_symbols_and_writes_them(tiny_harmonizer, tmp_path):
    """A folk tune's chords are followed, said on stderr, recorded, and shown over the score;
    --ignore-chords leaves them out."""
    from cadenza.io import read_score

    (tmp_path / "tune.abc").write_text('X:1\nT:Tune\nM:4/4\nL:1/4\nK:G\n"G"GABc|"D7"dcBA|"C"GE"D"FA|"G"G4|]\n')
    args = ["harmonize", str(tmp_path / "tune.abc"), "--model", str(tiny_harmonizer), "--iterations", "2"]
    proc = run_cli(*args, "--formats", "musicxml", "--out", str(tmp_path / "h"), check=True)
    assert "following its chord symbols (5 as played" in proc.stderr
    assert [c.text for c in read_score(tmp_path / "h.musicxml").chords] == ["G", "D7", "C", "D", "G"]
    record = json.loads((tmp_path / "h.json").read_text())
    assert record["chord_symbols_followed"] == 5 and record["ignore_chords"] is False
    proc = run_cli(*args, "--ignore-chords", "--formats", "musicxml", "--out", str(tmp_path / "i"), check=True)
    assert "chord symbols" not in proc.stderr and not read_score(tmp_path / "i.musicxml").chords
    assert json.loads((tmp_path / "i.json").read_text())["chord_symbols_followed"] == 0
    again = ["infill", str(tmp_path / "h.musicxml"), "--bars", "2-3", "--model", str(tiny_harmonizer)]
    proc = run_cli(*again, "--iterations", "2", "--formats", "musicxml", "--out", str(tmp_path / "f"), check=True)
    assert "writing under its chord symbols (5 as played)" in proc.stderr  # and keeps them
    assert [c.text for c in read_score(tmp_path / "f.musicxml").chords] == ["G", "D7", "C", "D", "G"]
    assert json.loads((tmp_path / "f.json").read_text())["chord_symbols_followed"] == 5


def test_an_output_never_replaces_the_input_even_with_force(tiny_harmonizer, tmp_path):
    """`harmonize hymn.musicxml --out hymn` was refused with a hint to use --force, which would
    have replaced the melody with its harmonization (a newcomer)."""
    from cadenza.io import write_score

    write_score(melody(), tmp_path / "hymn.musicxml")
    before = (tmp_path / "hymn.musicxml").read_bytes()
    args = ["harmonize", str(tmp_path / "hymn.musicxml"), "--model", str(tiny_harmonizer), "--iterations", "2"]
    proc = run_cli(*args, "--formats", "mid,musicxml", "--out", str(tmp_path / "hymn"), "--force", "--quiet")
    one_line_error(proc, "hymn.musicxml", "reads", "--out")
    assert (tmp_path / "hymn.musicxml").read_bytes() == before and not (tmp_path / "hymn.mid").exists()


def test_infill_changes_only_the_region(tiny_harmonizer, tmp_path):
    from cadenza.io import read_score, write_score

    piece = make_score(4, bars=4)
    write_score(piece, tmp_path / "piece.mid")
    run_cli(
        "infill",
        str(tmp_path / "piece.mid"),
        "--bars",
        "2-3",
        "--voices",
        "alto,tenor",
        "--model",
        str(tiny_harmonizer),
        "--seed",
        "1",
        "--iterations",
        "5",
        "--formats",
        "mid",
        "--out",
        str(tmp_path / "f"),
        "--fix",
        "3:2:tenor=E3/2",
        "--quiet",
        check=True,
    )
    before, after = read_score(tmp_path / "piece.mid"), read_score(tmp_path / "f.mid")

    def outside(part):
        return [(n.pitch, n.start_beats, n.duration_beats) for n in part.notes if not 4 <= n.start_beats < 12]

    for v in range(4):
        if v in (1, 2):
            assert outside(after.parts[v]) == outside(before.parts[v])
            assert all(
                4 <= n.start_beats and n.end_beats <= 12 + 1e-9
                for n in after.parts[v].notes
                if n not in before.parts[v].notes
            )
        else:
            assert after.parts[v].notes == before.parts[v].notes
    # the tenor is the third part; the fixed E3 sounds from bar 3 beat 2 for two beats
    assert any(n.pitch == 52 and n.start_beats <= 9.0 and n.end_beats >= 11.0 for n in after.parts[2].notes)
    one_line_error(
        run_cli(
            "infill",
            str(tmp_path / "piece.mid"),
            "--bars",
            "2-3",
            "--voices",
            "alto",
            "--model",
            str(tiny_harmonizer),
            "--fix",
            "3:2:tenor=E3",
        ),
        "outside the region",
    )


@pytest.mark.parametrize(
    "make, args, words",
    [
        ("chords", [], "2 parts with notes"),
        ("high", [], "outside the soprano range"),
    ],
)
def test_harmonize_bad_melodies(tiny_harmonizer, tmp_path, make, args, words):
    from cadenza.io import write_score

    score = make_score(2, bars=2) if make == "chords" else melody(low=100)
    write_score(score, tmp_path / "m.mid")
    one_line_error(run_cli("harmonize", str(tmp_path / "m.mid"), "--model", str(tiny_harmonizer), *args), words)


@pytest.mark.parametrize(
    "bars, words",
    [("5-3", "empty"), ("9-10", "past the end"), ("3-30", "within 1-4"), ("x", "FIRST-LAST")],
)
def test_infill_bad_regions(tiny_harmonizer, tmp_path, bars, words):
    from cadenza.io import write_score

    write_score(make_score(4, bars=4), tmp_path / "p.mid")
    one_line_error(run_cli("infill", str(tmp_path / "p.mid"), "--bars", bars, "--model", str(tiny_harmonizer)), words)
