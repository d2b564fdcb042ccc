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
    html = (tmp_path / "rep.html").read_text()
    assert html.count("data:image/png;base64,") == 3 and "parallels per bar" in html
    again = run_cli(
        "evaluate", str(gen), "--reference", str(chorale_midi_folder / "sub"), "--out", str(tmp_path / "rep")
    )
    assert again.returncode == 2 and "exists" in again.stderr
