"""cadenza evaluate: the measures on pieces whose answers are known, novelty, the report."""
import json
import math

import numpy as np

from conftest import make_score, run_cli

from cadenza.evaluate.measures import measure_piece
from cadenza.evaluate.novelty import ReferenceIndex
from cadenza.evaluate.report import compare
from cadenza.score import Key, Meter, Note, Part, Score, Tempo, transpose


def melody(pitches, durations=None, key=Key(0.0, 0, "major")) -> Score:
    durations = durations or [1.0] * len(pitches)
    notes, t = [], 0.0
    for p, d in zip(pitches, durations):
        notes.append(Note(p, t, d))
        t += d
    return Score(parts=[Part("m", notes=notes)], tempos=[Tempo(0.0, 100.0)], meters=[Meter(0.0, 4, 4)], keys=[key])


def test_melody_measures_match_hand_counts():
    # C major: C D E F | G G G G | G G C' B | C D C C  (G six times in a row; B down to C, a
    # leap of a major seventh, resolved by a step up)
    m = measure_piece(melody([60, 62, 64, 65, 67, 67, 67, 67, 67, 67, 72, 71, 60, 62, 60, 60]))
    assert m["starts_on_tonic"] == 1.0 and m["in_key_share"] == 1.0
    assert m["pitch_range"] == 12.0
    assert m["excessive_repetition"] == 2 / 16  # the 5th and 6th G
    assert m["leaps_resolved"] == 1.0  # the only leap over a fifth (67 -> 72 is a fourth)
    assert m["polyphony"] == 1.0 and math.isnan(m["parallels_per_bar"])
    assert m["onsets_per_bar"] == 4.0 and m["mean_ioi_beats"] == 1.0 and m["empty_beat_rate"] == 0.0
    assert m["pc_entropy"] == -sum(p * math.log2(p) for p in np.array([5, 2, 1, 1, 6, 1]) / 16)


def test_recurrence_exact_and_transposed():
    bar = [60, 64, 67, 64]
    exact = measure_piece(melody(bar + [62, 65, 69, 65] + bar + [60] * 4))
    assert exact["recurring_exact"] == 1 / 4  # bar 1 comes back as bar 3
    moved = measure_piece(melody(bar + [p + 2 for p in bar] + [55, 57, 59, 60]))
    assert moved["recurring_transposed"] == 1 / 3 and moved["recurring_exact"] == 0.0


def test_voice_leading_measures_in_four_parts():
    m = measure_piece(make_score(4, bars=2))
    assert m["polyphony"] == 4.0
    assert m["parallels_per_bar"] > 0  # the hand-made voices all move in parallel
    assert m["out_of_range_per_bar"] == 1.0  # the tenor G#4 (68), twice in two bars, is above G4


def test_novelty_flags_a_transposed_copy():
    reference = [melody([60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62, 60, 62] * 2)]
    index = ReferenceIndex.build(reference)
    copy = index.novelty(transpose(reference[0], 5))
    assert copy["longest_copied_notes"] == 32 and copy["copied_window_share"] == 1.0 and copy["plagiarism"] == 1.0
    fresh = index.novelty(melody([60, 67, 64, 72, 60, 65, 62, 71, 60, 69, 64, 67, 60, 67, 64, 72]))
    assert fresh["plagiarism"] == 0.0 and fresh["longest_copied_notes"] < 6


def test_distribution_comparison():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 300), rng.normal(0, 1, 300)
    same, apart = compare(a, b), compare(a, b + 10)
    assert same[0] > 0.85 and same[1] < 0.1
    assert apart[0] < 0.01 and apart[1] > 5


def test_evaluate_cli_writes_html_and_json_and_counts_bad_files(tmp_path, chorale_midi_folder):
    from cadenza.io import write_score

    gen = tmp_path / "gen"
    gen.mkdir()
    for i in range(3):
        write_score(make_score(4, bars=4 + i), gen / f"p{i}.mid")
    (gen / "broken.mid").write_bytes(b"MThd garbage")
    proc = run_cli("evaluate", str(gen), "--reference", str(chorale_midi_folder / "sub"), "--baseline",
                   str(chorale_midi_folder), "--out", str(tmp_path / "rep.v0.7"), "--quiet", check=True)
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
    again = run_cli("evaluate", str(gen), "--reference", str(chorale_midi_folder / "sub"), "--out", str(tmp_path / "rep"))
    assert again.returncode == 2 and "exists" in again.stderr
