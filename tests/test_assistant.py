"""Harmonize, infill and rules: the orderless model, Gibbs sampling, and the commands."""
import gzip
import json
import math

import numpy as np
import pytest
import torch

from conftest import make_score, run_cli
from test_cli import one_line_error

from cadenza.errors import InputError, OptionError
from cadenza.compose.gibbs import arriving_parallels, leaving_parallels, parallels
from cadenza.families.orderless import ordered_nll
from cadenza.nn.orderless import OrderlessConfig, OrderlessModel
from cadenza.tokenize.cells import MASK
from cadenza.plan.rules import Rules, build_rules, load_fixed_cells, parse_fix, parse_range
from cadenza.score import Meter, Note, Part, Score, Tempo
from cadenza.theory import scale

SATB = ["Soprano", "Alto", "Tenor", "Bass"]


# -- rules ---------------------------------------------------------------------------------------

def test_rules_parse_names_numbers_and_lengths(tmp_path):
    assert parse_range("alto=G3-C5", SATB) == (1, (55, 72))
    assert parse_range("4=40-60", SATB) == (3, (40, 60))
    f = parse_fix("5:2.5:soprano=F#4/2", SATB)
    assert (f.bar, f.beat, f.voice, f.pitch, f.beats) == (5, 2.5, 0, 66, 2.0)
    assert f.start_beats(Meter(0.0, 3, 4)) == 4 * 3 + 1.5
    cells = tmp_path / "cells.json"
    cells.write_text(json.dumps([{"bar": 1, "beat": 1, "voice": "bass", "pitch": "C3"},
                                 {"bar": 2, "beat": 3, "voice": "tenor", "pitch": 55, "beats": 2}]))
    assert [(x.voice, x.pitch, x.beats) for x in load_fixed_cells(cells, SATB)] == [(3, 48, 1.0), (2, 55, 2.0)]


@pytest.mark.parametrize("call, words", [
    (lambda: parse_range("alto=C5-G3", SATB), "above"),
    (lambda: parse_range("viola=C3-C4", SATB), "unknown voice"),
    (lambda: parse_fix("3-1-bass=D3", SATB), "BAR:BEAT"),
    (lambda: parse_fix("0:1:bass=D3", SATB), "count from 1"),
    (lambda: build_rules("C major", ["bass=C#3-C#3"], [], None, SATB), "holds no note"),
    (lambda: build_rules("C major", [], ["1:1:bass=F#3"], None, SATB), "outside the scale"),
    (lambda: build_rules(None, ["bass=C3-G3"], ["1:1:bass=C4"], None, SATB), "outside its range"),
])
def test_contradictory_rules_are_refused(call, words):
    with pytest.raises(OptionError, match=words):
        call()


def test_bad_fixed_cells_file_names_the_file(tmp_path):
    bad = tmp_path / "cells.json"
    bad.write_text('[{"bar": 1, "voice": "bass"}]')
    with pytest.raises(InputError, match="cells.json: item 1 needs"):
        load_fixed_cells(bad, SATB)


# -- Gibbs helpers and exact likelihood ----------------------------------------------------------

def _cells(rows):
    return np.array([[0 if p is None else p + 1 for p in row] for row in rows], dtype=np.int64)


def test_parallels_found_and_contrary_motion_is_not():
    grid = _cells([[72, 65, 60, 48], [74, 67, 62, 50], [72, 69, 60, 53]])
    found = set(parallels(grid))
    # step 1: everyone up a tone; step 2: S and T down in octaves, A and B up (contrary to S, T)
    assert found == {(1, 0, 1, 7), (1, 0, 2, 0), (1, 0, 3, 0), (1, 2, 3, 0), (2, 0, 2, 0)}


def test_forbidden_values_are_exactly_those_that_add_a_parallel():
    rng = np.random.default_rng(0)
    for _ in range(40):
        grid = rng.integers(50, 75, size=(3, 4)) + 1
        for t in (1, 2):
            hold = rng.random(4) < 0.3
            grid[t, hold] = grid[t - 1, hold]
        grid[rng.random((3, 4)) < 0.05] = 0  # a few rests
        v = int(rng.integers(4))
        base = {(t, a, b) for t, a, b, _ in parallels(grid)}
        bad = arriving_parallels(grid, 1, v) | leaving_parallels(grid, 1, v)
        for x in range(40, 90):
            trial = grid.copy()
            trial[1, v] = x
            new = {(t, a, b) for t, a, b, _ in parallels(trial)} - base
            assert bool(bad[x]) == any(v in (a, b) for _, a, b in new), (grid, v, x)


def test_ordered_nll_is_the_chain_rule_and_normalized():
    torch.manual_seed(0)
    model = OrderlessModel(OrderlessConfig(n_voices=2, steps_per_beat=2, n_layer=1, n_head=2, n_embd=16)).eval()
    grid = np.array([[61, 58], [63, 56]])
    order = [(1, 1), (0, 1)]
    got = ordered_nll(model, grid, order)
    with torch.no_grad():
        first = torch.log_softmax(model(torch.tensor([[[61, MASK], [63, MASK]]])), -1)[0, 1, 1]
        # every value of the first cell, then the second given it: sums to 1 over all 129^2 fillings
        x = torch.tensor([[[61, MASK], [63, k]] for k in range(129)])
        second = torch.log_softmax(model(x), -1)[:, 0, 1]
    manual = -(first[56] + second[56, 58]).item()
    assert math.isclose(got, manual, rel_tol=1e-5)
    total = torch.logsumexp(first[:, None] + second, dim=(0, 1)).item()
    assert abs(total) < 1e-5


# -- the commands, with a tiny model really trained ----------------------------------------------

@pytest.fixture(scope="module")
def satb_file(tmp_path_factory):
    """A small four-voice grid file in jsb16th_satb's format: real chorales from music21."""
    from music21 import corpus

    from cadenza.io.scores import music21_to_score
    from cadenza.tokenize.cells import CellsTokenizer

    tok = CellsTokenizer(n_voices=4, steps_per_beat=4)
    pieces = []
    for name in ("bwv66.6", "bwv1.6", "bwv10.7", "bwv101.7"):
        g = tok.encode(music21_to_score(corpus.parse(f"bach/{name}")))
        pieces.append([[None if c == 0 else int(c) - 1 for c in row] for row in g])
    path = tmp_path_factory.mktemp("satb") / "mini_satb.json.gz"
    path.write_bytes(gzip.compress(json.dumps({"train": pieces[:3], "valid": pieces[3:], "test": pieces[3:]}).encode()))
    return path


@pytest.fixture(scope="module")
def tiny_harmonizer(tmp_path_factory, satb_file):
    out = tmp_path_factory.mktemp("models") / "tinyharm"
    run_cli("train", "--orderless", "--data", str(satb_file), "--out", str(out), "--steps", "6", "--eval-every", "3",
            "--embd", "32", "--layers", "1", "--heads", "2", "--batch-size", "4", "--window-steps", "64",
            "--steps-per-beat", "4", "--quiet", check=True)
    return out


def melody(bars=4, low=64) -> Score:
    pitches = [low, low + 2, low + 4, low + 5, low + 7, low + 5, low + 4, low + 2]
    notes = [Note(pitches[i % 8], i * 1.0, 1.0) for i in range(bars * 4 - 2)] + [Note(low, bars * 4 - 2.0, 2.0)]
    return Score(parts=[Part("melody", notes=notes)], tempos=[Tempo(0.0, 90.0)], meters=[Meter(0.0, 4, 4)])


def test_harmonize_keeps_the_melody_and_is_reproducible(tiny_harmonizer, tmp_path):
    from cadenza.io import read_score, write_score

    write_score(melody(), tmp_path / "tune.mid")
    args = ["harmonize", str(tmp_path / "tune.mid"), "--model", str(tiny_harmonizer), "--seed", "4",
            "--iterations", "6", "--formats", "mid,musicxml", "--quiet"]
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


def test_harmonize_obeys_rules_and_voice_count(tiny_harmonizer):
    from cadenza.compose import harmonizer as assistant
    from cadenza.plan.rules import FixedNote

    h = assistant.load(str(tiny_harmonizer))
    rules = Rules(scale=None, ranges={3: (43, 50)}, fixed=[FixedNote(2, 1, 2, 57, 2.0)])
    [r] = h.harmonize(melody(), seed=1, iterations=4, rules=rules)
    bass, tenor = r.score.parts[3].notes, r.score.parts[2].notes
    assert all(43 <= n.pitch <= 50 for n in bass)
    assert any(n.pitch == 57 and n.start_beats <= 4.0 and n.end_beats >= 6.0 for n in tenor)
    [two] = h.harmonize(melody(), voices=2, seed=1, iterations=4)
    assert [p.name for p in two.score.parts] == ["Soprano", "Bass"]
    with pytest.raises(OptionError, match="leaves out"):
        h.harmonize(melody(), voices=2, rules=rules)
    with pytest.raises(OptionError, match="only 4 quarter-note beats"):
        h.harmonize(melody(), rules=Rules(fixed=[FixedNote(2, 5, 2, 57)]))
    from cadenza.score import parse_key

    [c] = h.harmonize(melody(), seed=2, iterations=4, rules=Rules(scale=parse_key("E major")))
    assert all(n.pitch % 12 in scale(parse_key("E major")) for p in c.score.parts for n in p.notes)


def test_fermatas_mark_the_phrase_ends(tiny_harmonizer, chorale):
    from cadenza.compose import harmonizer as assistant

    assert chorale.fermatas_beats  # read from the MusicXML
    h = assistant.load(str(tiny_harmonizer))
    [r] = h.harmonize(chorale, track=1, seed=0, iterations=2)
    last = max(n.start_beats for n in chorale.parts[0].notes)
    assert r.info["phrase_ends_beats"] == [b for b in chorale.fermatas_beats if b < last] + [last]


def test_infill_changes_only_the_region(tiny_harmonizer, tmp_path):
    from cadenza.io import read_score, write_score

    piece = make_score(4, bars=4)
    write_score(piece, tmp_path / "piece.mid")
    run_cli("infill", str(tmp_path / "piece.mid"), "--bars", "2-3", "--voices", "alto,tenor", "--model",
            str(tiny_harmonizer), "--seed", "1", "--iterations", "5", "--formats", "mid", "--out",
            str(tmp_path / "f"), "--fix", "3:2:tenor=E3/2", "--quiet", check=True)
    before, after = read_score(tmp_path / "piece.mid"), read_score(tmp_path / "f.mid")

    def outside(part):
        return [(n.pitch, n.start_beats, n.duration_beats) for n in part.notes if not 4 <= n.start_beats < 12]

    for v in range(4):
        if v in (1, 2):
            assert outside(after.parts[v]) == outside(before.parts[v])
            assert all(4 <= n.start_beats and n.end_beats <= 12 + 1e-9 for n in after.parts[v].notes
                       if n not in before.parts[v].notes)
        else:
            assert after.parts[v].notes == before.parts[v].notes
    # the tenor is the third part; the fixed E3 sounds from bar 3 beat 2 for two beats
    assert any(n.pitch == 52 and n.start_beats <= 9.0 and n.end_beats >= 11.0 for n in after.parts[2].notes)
    one_line_error(run_cli("infill", str(tmp_path / "piece.mid"), "--bars", "2-3", "--voices", "alto",
                           "--model", str(tiny_harmonizer), "--fix", "3:2:tenor=E3"), "outside the region")


@pytest.mark.parametrize("make, args, words", [
    ("chords", [], "2 parts with notes"),
    ("high", [], "outside the soprano range"),
])
def test_harmonize_bad_melodies(tiny_harmonizer, tmp_path, make, args, words):
    from cadenza.io import write_score

    score = make_score(2, bars=2) if make == "chords" else melody(low=100)
    write_score(score, tmp_path / "m.mid")
    one_line_error(run_cli("harmonize", str(tmp_path / "m.mid"), "--model", str(tiny_harmonizer), *args), words)


@pytest.mark.parametrize("bars, words", [("5-3", "empty"), ("9-10", "past the end"), ("x", "FIRST-LAST")])
def test_infill_bad_regions(tiny_harmonizer, tmp_path, bars, words):
    from cadenza.io import write_score

    write_score(make_score(4, bars=4), tmp_path / "p.mid")
    one_line_error(run_cli("infill", str(tmp_path / "p.mid"), "--bars", bars, "--model", str(tiny_harmonizer)), words)


def test_generate_takes_rules(tiny_model, tmp_path):
    from cadenza.io import read_score

    run_cli("generate", "--model", str(tiny_model), "--bars", "2", "--seed", "2", "--scale", "D major",
            "--fix", "2:1:bass=D3/2", "--formats", "mid", "--out", str(tmp_path / "g"), "--quiet", check=True)
    score = read_score(tmp_path / "g.mid")
    assert all(n.pitch % 12 in (2, 4, 6, 7, 9, 11, 1) for p in score.parts for n in p.notes)
    assert any(n.pitch == 50 and n.start_beats == 4.0 and n.duration_beats >= 2.0 for n in score.parts[3].notes)
    one_line_error(run_cli("generate", "--model", str(tiny_model), "--bars", "2", "--scale", "D major",
                           "--fix", "1:1:bass=C3"), "outside the scale")


def test_orderless_training_resumes_and_refuses_to_clobber(tiny_harmonizer, satb_file):
    before = (tiny_harmonizer / "model.safetensors").read_bytes()
    proc = run_cli("train", "--resume", "--out", str(tiny_harmonizer), "--quiet", check=True)
    assert str(tiny_harmonizer) in proc.stdout
    assert (tiny_harmonizer / "model.safetensors").read_bytes() == before  # a finished run: nothing new
    one_line_error(run_cli("train", "--orderless", "--data", str(satb_file), "--out", str(tiny_harmonizer)),
                   "--resume", "--force")


def test_the_cadence_key_follows_the_melody_when_the_signature_does_not_fit():
    from cadenza.theory import melody_key
    from cadenza.score import Key

    tune = melody()  # E F# G# A B ... on E: E major
    tune.keys = [Key(0.0, 0, "major")]  # a wrong signature: C major
    assert str(melody_key(tune, tune.parts[0].notes)) == "E major"
    tune.keys = [Key(0.0, 4, "major")]
    assert melody_key(tune, tune.parts[0].notes) is tune.keys[0]
