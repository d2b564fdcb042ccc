"""cadenza.evaluate.report: comparing the distributions of a measure."""

import gzip
import json

import numpy as np
import pytest

from cadenza.data.benchmarks import SPLITS
from cadenza.evaluate.report import compare
from conftest import ROOT


def test_distribution_comparison():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 300), rng.normal(0, 1, 300)
    same, apart = compare(a, b), compare(a, b + 10)
    assert same[0] > 0.85 and same[1] < 0.1
    assert apart[0] < 0.01 and apart[1] > 5


def test_evaluate_reports_progress_for_every_stage(tmp_path):
    from cadenza.evaluate.report import evaluate
    from cadenza.io import write_score
    from conftest import make_score

    for folder in ("gen", "ref"):
        (tmp_path / folder).mkdir()
        for i in range(3):
            write_score(make_score(4, bars=2 + i), tmp_path / folder / f"p{i}.mid")
    calls: list[tuple[str, int, int]] = []
    evaluate(str(tmp_path / "gen"), str(tmp_path / "ref"), progress=lambda *a: calls.append(a))
    stages = list(dict.fromkeys(what for what, _, _ in calls))
    assert stages == [
        f"reading {tmp_path / 'ref'}",
        f"measuring {tmp_path / 'ref'}",
        "reading generated",
        "measuring generated",
    ]
    assert all(total == 3 and 0 <= done < 3 for _, done, total in calls)


def _write_grids(folder, grids) -> None:
    """Each grid as a four-part MIDI file in 4/4."""
    from dataclasses import replace

    from cadenza.io import write_score
    from cadenza.score import Meter, Tempo
    from cadenza.tokenize.cells import CellsTokenizer

    folder.mkdir()
    for i, g in enumerate(grids):
        score = CellsTokenizer(4, 4).decode(np.where(g < 0, 0, g + 1))
        write_score(replace(score, tempos=[Tempo(0.0, 90.0)], meters=[Meter(0.0, 4, 4)]), folder / f"p{i}.mid")


@pytest.mark.slow  # 20 random forests, several seconds
def test_evaluate_runs_the_classifier_test_and_reports_voice_profiles(tmp_path):
    from cadenza.evaluate.report import evaluate, write_report
    from cadenza.io import write_score
    from cadenza.score import Meter
    from conftest import make_score
    from test_classifier import random_notes, stepwise

    rng = np.random.default_rng(0)
    _write_grids(tmp_path / "gen", [random_notes(64, rng) for _ in range(5)])
    _write_grids(tmp_path / "ref", [stepwise(64, rng) for _ in range(5)])
    changing = make_score(4, bars=4)
    changing.meters = [Meter(0.0, 4, 4), Meter(8.0, 3, 4)]
    write_score(changing, tmp_path / "gen" / "changes.mid")
    calls: list[tuple[str, int, int]] = []
    report = evaluate(str(tmp_path / "gen"), str(tmp_path / "ref"), progress=lambda *a: calls.append(a))
    gen, ref = report["sets"]["generated"], report["reference"]
    c = gen["classifier"]
    assert c["run"] and c["voices"] == 4 and c["features"] == 200 and c["seed"] == 0
    assert (c["n_candidates"], c["n_reference"], c["folds"], c["repeats"]) == (5, 5, 5, 5)
    assert c["accuracy"] > 0.9 and 0.0 <= c["low"] <= c["accuracy"] <= c["high"] <= 1.0
    assert [line for line in gen["skipped"] if "left out of the classifier test" in line] == [
        f"{tmp_path / 'gen'}:changes.mid#0: left out of the classifier test (meter changes (4/4 then 3/4) are not "
        "supported: the voices tokenizer needs one meter per piece)"
    ]
    assert gen["pieces"] == 6  # still measured
    assert ref["grid_voices"] == 4 and len(ref["voice_profile"]) == 4 and len(gen["voice_profile"]) == 4
    # random leaps against steps of one or two semitones
    assert sum(ref["voice_profile"][0]["intervals"][:2]) == pytest.approx(1.0)
    assert sum(gen["voice_profile"][0]["intervals"][2:]) > 0.7
    assert 0.1 < ref["voice_profile"][3]["change_rate"] < 0.5
    assert [done for what, done, total in calls if what == "classifier test: generated"] == list(range(25))
    write_report(report, tmp_path / "rep")
    saved = json.loads((tmp_path / "rep.json").read_text())
    assert saved["sets"]["generated"]["classifier"]["accuracy"] == c["accuracy"]
    assert saved["reference"]["voice_profile"] == ref["voice_profile"]
    page = (tmp_path / "rep.html").read_text()
    assert "0.5 means it cannot tell the set from the reference" in page
    assert f"<td>{c['accuracy']:.3f}</td><td>{c['low']:.3f}–{c['high']:.3f}</td><td>5 vs 5</td>" in page
    assert "<tr><th>Soprano</th>" in page and "× the reference" in page


def test_evaluate_says_why_the_classifier_test_was_not_run(tmp_path):
    from cadenza.evaluate.report import _html, evaluate
    from cadenza.io import write_score
    from conftest import make_score

    for folder, n in (("gen", 3), ("ref", 5)):
        (tmp_path / folder).mkdir()
        for i in range(n):
            write_score(make_score(4, bars=2 + i), tmp_path / folder / f"p{i}.mid")
    report = evaluate(str(tmp_path / "gen"), str(tmp_path / "ref"))
    c = report["sets"]["generated"]["classifier"]
    assert c["run"] is False and (c["n_candidates"], c["n_reference"]) == (3, 5)
    assert c["reason"] == "needs at least 4 pieces on the 4-voice grid in each set; this set has 3, the reference 5"
    assert len(report["sets"]["generated"]["voice_profile"]) == 4
    assert "<td colspan=3>not run: needs at least 4 pieces" in _html(report, figures=[])


SATB = ROOT.parent / "shared" / "benchmarks" / "jsb16th_satb.json.gz"


@pytest.mark.skipif(not SATB.is_file(), reason="needs ../shared/benchmarks/jsb16th_satb.json.gz")
def test_a_grid_file_split_loads_as_scores_and_is_used_as_is():
    from cadenza.data import corpus
    from cadenza.evaluate.classifier import grid_of
    from cadenza.evaluate.report import load_set

    data = corpus.load(f"{SATB}:test")
    assert len(data.pieces) == 77 and not data.skipped
    assert data.pieces[12].id == "jsb16th_satb.json.gz:test#12"
    score = data.pieces[0].score
    assert [str(m) for m in score.meters] == ["4/4"] and score.tempos[0].bpm == 80.0
    assert [p.name for p in score.parts] == ["Soprano", "Alto", "Tenor", "Bass"]
    from cadenza.data.benchmarks import load_satb

    raw = load_satb(SATB)["test"][0]
    assert (grid_of(score, 4)[: len(raw)] == raw - 1).all()  # the same grid back (rests: cell 0 -> -1)
    pieces, skipped = load_set(f"{SATB}:test", reference_split=True)
    assert len(pieces) == 77 and skipped == []
    assert len(corpus.load(f"{SATB}:valid").pieces) == 76


def test_a_bad_grid_file_split_is_a_one_line_option_error(tmp_path):
    from cadenza.data import corpus
    from cadenza.errors import InputError, OptionError

    grids = tmp_path / "g.json.gz"
    grids.write_bytes(gzip.compress(json.dumps({s: [[[60, 55, 52, 48]] * 4] for s in SPLITS}).encode()))
    assert len(corpus.load(f"{grids}:train").pieces) == 1
    with pytest.raises(OptionError) as e:
        corpus.load(f"{grids}:tset")
    assert str(e.value) == f"{grids}:tset: no split 'tset' in a four-voice grid file (splits: train, valid, test)"
    with pytest.raises(OptionError, match="name a split") as e:
        corpus.load(str(grids))
    assert "\n" not in str(e.value)
    with pytest.raises(OptionError, match="no such file"):
        corpus.load(f"{tmp_path / 'none.json.gz'}:test")
    (tmp_path / "bad.json.gz").write_bytes(b"not gzip")
    with pytest.raises(InputError, match="bad.json.gz: not a four-voice grid file") as e:
        corpus.load(f"{tmp_path / 'bad.json.gz'}:test")
    assert "\n" not in str(e.value)


def test_evaluate_reports_structure_beside_the_spread_of_real_pieces(tmp_path):
    """Looping pieces against through-composed ones: their bar repetition lies outside the
    reference's spread, and the report's structure section and curve figure say so."""
    from cadenza.evaluate.report import evaluate, write_report
    from cadenza.io import write_score
    from test_structure import random_bar, score_of

    rng = np.random.default_rng(1)
    for folder in ("gen", "ref"):
        (tmp_path / folder).mkdir()
    for i in range(4):
        loop = [random_bar(rng) for _ in range(2)]
        write_score(score_of(loop * 6), tmp_path / "gen" / f"loop{i}.mid")
    for i in range(6):
        write_score(score_of([random_bar(rng) for _ in range(12)]), tmp_path / "ref" / f"real{i}.mid")
    report = evaluate(str(tmp_path / "gen"), str(tmp_path / "ref"))
    ref, gen = report["reference"]["structure"], report["sets"]["generated"]["structure"]
    assert ref["pieces"] == 6 and gen["pieces"] == 4
    assert ref["measures"]["bar_exact"]["high"] == 0.0 and "inside" not in ref["measures"]["bar_exact"]
    m = gen["measures"]["bar_exact"]
    assert m["mean"] == pytest.approx(10 / 12) and m["inside"] is False and m["inside_sets"] is False
    assert gen["curve"]["mean"][1] == pytest.approx(1.0) and ref["curve"]["mean"][1] < 0.2
    assert gen["similarity_error"] > 0.3 and gen["similarity_error_inside"] is False
    write_report(report, tmp_path / "rep")
    saved = json.loads((tmp_path / "rep.json").read_text())
    assert saved["sets"]["generated"]["structure"]["measures"]["bar_exact"]["mean"] == m["mean"]
    page = (tmp_path / "rep.html").read_text()
    assert "<h2>Structure like real music</h2>" in page
    assert "<tr><th>bars that repeat an earlier bar exactly</th><td>0.0%<br><small>real pieces: 0.0% to 0.0%" in page
    assert "<td>83.3%<br><small><b>outside</b>; <b>not within</b> the means of 4 real pieces" in page
    assert "<h2>Bar similarity by distance</h2>" in page and page.count("data:image/png;base64,") == 4
