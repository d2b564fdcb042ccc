"""`cadenza evaluate` (cadenza.cli.evaluate) as a user runs it: the HTML and JSON report, bad files counted."""

import json

import pytest

from conftest import make_score, run_cli


@pytest.mark.slow  # two CLI runs over real chorales
def test_evaluate_cli_writes_html_and_json_and_counts_bad_files(tmp_path, chorale_midi_folder):
    from cadenza.io import write_score

    gen = tmp_path / "gen"
    gen.mkdir()
    for i in range(3):
        write_score(make_score(4, bars=4 + i), gen / f"p{i}.mid")
    (gen / "broken.mid").write_bytes(b"MThd garbage")
    proc = run_cli(
        "evaluate",
        str(gen),
        "--reference",
        str(chorale_midi_folder / "sub"),
        "--baseline",
        str(chorale_midi_folder),
        "--out",
        str(tmp_path / "rep.v0.7"),
        "--quiet",
        check=True,
    )
    assert str(tmp_path / "rep.v0.7.html") in proc.stdout
    for suffix in ("json", "html"):  # a dotted stem keeps its dots
        (tmp_path / f"rep.v0.7.{suffix}").rename(tmp_path / f"rep.{suffix}")
    report = json.loads((tmp_path / "rep.json").read_text())
    assert report["sets"]["generated"]["pieces"] == 3 and len(report["sets"]["generated"]["skipped"]) == 1
    base = report["sets"][chorale_midi_folder.name]  # the reference's own pieces again: every melody a copy
    assert report["reference"]["pieces"] == 6 and base["pieces"] == 6
    assert len(base["novelty"]["flagged"]) == 6 and base["chords"]["cited_share"] == 1.0
    assert report["sets"]["generated"]["classifier"]["run"] is False  # 3 pieces: too few to test
    assert "at least 4 pieces" in report["sets"]["generated"]["classifier"]["reason"]
    c = base["classifier"]
    assert c["run"] and (c["n_candidates"], c["n_reference"], c["voices"]) == (6, 6, 4)
    assert 0.0 <= c["low"] <= c["accuracy"] <= c["high"] <= 1.0
    assert (
        len(report["reference"]["voice_profile"]) == 4 and base["voice_profile"] == report["reference"]["voice_profile"]
    )
    html = (tmp_path / "rep.html").read_text()
    assert html.count("data:image/png;base64,") == 4 and "parallels per bar" in html
    assert "<h2>Structure like real music</h2>" in html and "bars that repeat an earlier bar exactly" in html
    assert "Can a classifier tell each set from the reference?" in html and "not run: needs at least 4" in html
    again = run_cli(
        "evaluate", str(gen), "--reference", str(chorale_midi_folder / "sub"), "--out", str(tmp_path / "rep")
    )
    assert again.returncode == 2 and "exists" in again.stderr


def test_evaluate_cli_rejects_a_grid_file_split_it_does_not_have(tmp_path):
    import gzip

    grids = tmp_path / "g.json.gz"
    grids.write_bytes(
        gzip.compress(json.dumps({s: [[[60, 55, 52, 48]] * 4] for s in ("train", "valid", "test")}).encode())
    )
    (tmp_path / "gen").mkdir()
    proc = run_cli("evaluate", str(tmp_path / "gen"), "--reference", f"{grids}:tests", "--out", str(tmp_path / "rep"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {grids}:tests: no split 'tests' in a four-voice grid file (splits: train, valid, test)"
    ]
    assert not (tmp_path / "rep.json").exists()


def test_the_structure_line_names_the_spread_of_real_pieces():
    import numpy as np

    from cadenza.cli.evaluate import structure_line
    from cadenza.evaluate import structure
    from test_structure import random_bar, score_of

    rng = np.random.default_rng(2)
    real = [structure.measure_piece(score_of([random_bar(rng) for _ in range(8)])) for _ in range(6)]
    loop = [random_bar(rng) for _ in range(2)]
    looping = [structure.measure_piece(score_of(loop * 4))] * 3
    line = structure_line("generated", structure.summarize(looping, real), structure.summarize(real))
    assert line.startswith("generated: structure: bar exact 75.0% (real sets 0.0%-0.0%), bar transposed 0.0%")
    assert "similarity error 0." in line and "(sets of 3 real pieces of these lengths 0." in line
    assert line.endswith(
        "4 of 7 measures inside the spread of real pieces, 4 within the means of as many real pieces; "
        "no cadence rates (the analyzer is not available)"
    )


def test_held_out_pieces_of_one_file_get_names_of_their_own():
    """`cadenza baseline heldout`: an ABC file of many tunes (Essen's) gives each its own file
    name, where the tunes of one file had all been written to one name and the second refused."""
    from cadenza.cli.evaluate import heldout_name

    names = [heldout_name(i) for i in ("essen:altdeu10.abc#12", "essen:altdeu10.abc#28", "essen:altdeu1.abc#12")]
    assert names == ["altdeu10-12", "altdeu10-28", "altdeu1-12"]
    assert heldout_name("bach-chorales:bach/bwv26.6.mxl") == "bach_bwv26.6"
    assert heldout_name("folder:sub/My Tune.mid") == "sub_My Tune"


@pytest.mark.slow  # three CLI runs over the real chorales
def test_held_out_chorales_are_written_as_musicxml_or_abc_with_their_fermatas_where_asked(tmp_path):
    """`cadenza baseline heldout --format musicxml`: pieces to compare with generated MusicXML,
    which carries the fermatas MIDI cannot, or ABC (four voices, fermatas kept); an unknown
    format is one line and status 2."""
    from cadenza.io import read_score

    bad = run_cli("baseline", "heldout", "--model", "chorales", "--format", "wav", "--out", str(tmp_path / "w"))
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "--format 'wav'" in bad.stderr
    assert not (tmp_path / "w").exists()

    def written(fmt):
        out = tmp_path / fmt
        run_cli("baseline", "heldout", "--model", "chorales", "--format", fmt, "--out", str(out), "--quiet", check=True)
        return sorted(out.iterdir())

    files = written("musicxml")
    assert files and all(f.suffix == ".musicxml" for f in files)
    assert all(read_score(f).fermatas_beats for f in files[:3])
    tunes = written("abc")
    assert len(tunes) == len(files) and all(f.suffix == ".abc" for f in tunes)
    scores = [read_score(f) for f in tunes[:3]]
    assert all(len(s.parts) == 4 and s.fermatas_beats for s in scores)
