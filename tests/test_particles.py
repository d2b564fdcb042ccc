"""Harmonizing with the shipped causal chorale model by particles (cadenza.compose.particles,
through cadenza.compose.harmonizer and `cadenza harmonize --model chorales`)."""

import numpy as np
import pytest

from cadenza.errors import OptionError
from cadenza.plan.rules import FixedNote, Rules
from cadenza.score import Key
from conftest import ROOT, melody, melody_of, one_line_error, run_cli


@pytest.fixture(scope="module")
def chorales():
    from cadenza.compose import harmonizer

    return harmonizer.load("chorales")


def sounding(part, beat):
    return [n.pitch for n in part.notes if n.start_beats <= beat < n.end_beats - 1e-9]


def test_the_melody_stays_on_top_and_the_lower_voices_sing_under_it(chorales):
    tune = melody(bars=4, low=67)  # G A B C D C B A ... on G, a fourth above the default
    [r] = chorales.harmonize(tune, seed=3)
    soprano, *lower = r.score.parts
    assert [(n.pitch, n.start_beats, n.duration_beats) for n in soprano.notes] == [
        (n.pitch, n.start_beats, n.duration_beats) for n in tune.parts[0].notes
    ]
    assert [p.name for p in r.score.parts] == ["Soprano", "Alto", "Tenor", "Bass"]
    for step in range(16 * 4):
        beat = step / 4
        top = sounding(soprano, beat)
        for part in lower:
            assert sounding(part, beat), f"{part.name} silent under the melody at beat {beat}"
            assert max(sounding(part, beat)) <= top[0], f"{part.name} above the melody at beat {beat}"
    bass = r.score.parts[-1].notes
    assert bass[-1].pitch % 12 == r.score.key.tonic  # the planned final cadence: I under the last note
    assert r.info["parallels_left"] == 0


def test_the_same_seed_gives_the_same_music_and_n_gives_the_next_seeds(chorales):
    tune = melody_of([67, 69, 71, 72, 74, 72, 71, 69, 67, 71, 69, 67], [1] * 11 + [1])
    one = chorales.harmonize(tune, seed=7)[0].score
    again = chorales.harmonize(tune, seed=7)[0].score
    first, second = chorales.harmonize(tune, seed=7, n=2)
    notes = [[(n.pitch, n.start_beats) for n in p.notes] for p in one.parts]
    assert notes == [[(n.pitch, n.start_beats) for n in p.notes] for p in again.parts]
    assert notes == [[(n.pitch, n.start_beats) for n in p.notes] for p in first.score.parts]
    eight = chorales.harmonize(tune, seed=8)[0].score
    assert [[(n.pitch, n.start_beats) for n in p.notes] for p in eight.parts] == [
        [(n.pitch, n.start_beats) for n in p.notes] for p in second.score.parts
    ]
    assert notes != [[(n.pitch, n.start_beats) for n in p.notes] for p in eight.parts]


@pytest.mark.parametrize("voices", [4, 3])
def test_the_closing_dominant_has_its_leading_tone_and_the_tonic_its_third(chorales, voices):
    """ "The Little Heathy Hill" (G, read as G dorian) closes G A G over V-I: the chord under the A
    sounds F sharp, the last one B or B flat, in four voices or three (there the alto sees to it).
    With seed 42 both had been hollow (D A C, then G D G G)."""
    from cadenza.io import read_score

    tune = read_score(ROOT / "examples/melody-little-heathy-hill.mid")
    [r] = chorales.harmonize(tune, seed=42, voices=voices)
    assert len(r.score.parts) == voices
    end = max(n.end_beats for n in r.score.parts[0].notes)
    last, before = (sorted(r.score.parts[0].notes, key=lambda n: n.start_beats)[i] for i in (-1, -2))
    assert (before.pitch, last.pitch) == (69, 67)
    dominant = {p % 12 for part in r.score.parts for p in sounding(part, before.start_beats)}
    tonic = {p % 12 for part in r.score.parts for p in sounding(part, end - 0.25)}
    assert 6 in dominant and dominant <= {2, 6, 9, 0}, dominant  # D F# A C
    assert tonic & {10, 11} and tonic <= {7, 10, 11, 2}, tonic  # G B(b) D


def test_a_fixed_note_is_kept_as_one_note(chorales):
    rules = Rules(fixed=[FixedNote(2, 1, 2, 55, 2.0)])  # tenor, bar 2 beat 1: G3 for a half note
    [r] = chorales.harmonize(melody(low=67), seed=1, rules=rules)
    tenor = r.score.parts[2].notes
    assert any(n.pitch == 55 and n.start_beats == 4.0 and n.duration_beats == 2.0 for n in tenor)  # and it ends


def test_gibbs_settings_and_infill_are_refused_for_a_causal_model(chorales):
    with pytest.raises(OptionError, match="orderless models; chorales is a causal model"):
        chorales.harmonize(melody(), temperature=0.5)
    with pytest.raises(OptionError, match="longer than this model harmonizes .2048, 128 bars of 4/4.; split"):
        chorales.harmonize(melody(bars=130))
    with pytest.raises(OptionError, match="infill needs an orderless one"):
        chorales.infill(chorales.harmonize(melody(), seed=1)[0].score, bars=(2, 3))


def test_a_one_voice_model_is_refused_in_one_sentence():
    from cadenza.compose import harmonizer

    with pytest.raises(OptionError, match="folk writes one voice; harmonize needs a model of several"):
        harmonizer.load("folk").harmonize(melody())


def test_given_cells_become_onsets_holds_and_rests():
    from cadenza.compose.particles import given_tokens
    from cadenza.tokenize.voices import HOLD, PITCH0, REST

    grid = np.array([[61], [61], [61], [0], [63]])  # C4 three steps, a rest, D4 (cells: 1 + pitch)
    hidden = np.zeros(grid.shape, dtype=bool)
    strikes = np.zeros(grid.shape, dtype=bool)
    strikes[2, 0] = True  # C4 struck again at step 2
    tokens = given_tokens(grid, hidden, strikes)
    assert [tokens[t, 0] for t in range(5)] == [PITCH0 + 60, HOLD, PITCH0 + 60, REST, PITCH0 + 62]
    hidden[1, 0] = True
    assert (1, 0) not in given_tokens(grid, hidden, strikes)


def test_decoders_rows_equal_single_decoders_and_keep_redraws_rows():
    from cadenza import hub
    from cadenza.nn.numpy_decoder import Decoder, Decoders

    model, _ = hub.load_network("chorales", expect="voices")
    seqs = np.random.default_rng(0).integers(5, 130, size=(3, 12))
    rows = Decoders(Decoder(model), 3)
    rows.feed(seqs[:, :8])
    rows.keep(np.array([2, 0, 2]))  # row 0 goes on as old row 2, row 1 as old row 0, row 2 as old row 2
    after = rows.feed(np.array([[60], [61], [62]]))
    for row, (old, nxt) in enumerate([(2, 60), (0, 61), (2, 62)]):
        one = Decoder(model)
        one.feed(list(seqs[old, :8]))
        assert np.allclose(one.feed([nxt]), after[row], atol=1e-4)
    assert not np.allclose(after[0], after[2])  # the same past, different next tokens


@pytest.mark.slow
def test_cadenza_harmonize_with_the_chorale_model(tmp_path):
    from cadenza.io import read_score, write_score

    write_score(melody(low=67), tmp_path / "tune.mid")
    run_cli("harmonize", str(tmp_path / "tune.mid"), "--model", "chorales", "--seed", "2", "--formats", "mid",
            "--performer", "none", "--out", str(tmp_path / "h"), "--quiet", check=True)  # fmt: skip
    assert len(read_score(tmp_path / "h.mid").parts) == 4
    r = run_cli("harmonize", str(tmp_path / "tune.mid"), "--model", "chorales", "--temperature", "0.5",
                "--out", str(tmp_path / "t"))  # fmt: skip
    assert r.returncode == 2
    one_line_error(r, "causal model")


@pytest.mark.slow
def test_a_meter_the_chorale_model_does_not_know_goes_to_the_orderless_harmonizer(tmp_path):
    from cadenza.io import read_score, write_score
    from cadenza.score import Meter

    tune = melody_of([67, 69, 71, 72, 74, 72, 71] * 2, [0.5] * 14)
    tune.meters = [Meter(0.0, 7, 8)]
    write_score(tune, tmp_path / "seven.mid")
    r = run_cli("harmonize", str(tmp_path / "seven.mid"), "--seed", "1", "--formats", "mid", "--performer", "none",
                "--out", str(tmp_path / "h"))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "does not know 7/8; harmonized by the orderless harmonizer" in r.stderr
    assert len(read_score(tmp_path / "h.mid").parts) == 4
    r = run_cli("harmonize", str(tmp_path / "seven.mid"), "--model", "chorales", "--out", str(tmp_path / "c"))
    one_line_error(r, "meter 7/8 is not supported", "--model harmonizer")


def test_a_held_note_costs_where_a_voice_may_move_but_not_under_a_fermata(chorales, monkeypatch):
    """HOLD_COST makes the lower voices strike new notes more often (the particles' voices held
    where Bach's move: 0.82 of his alto's rate on the test sopranos with their fermatas), the
    shipped cost among them, while under a fermata they hold the chord all the same (the mask of
    held cells sees to that)."""
    from cadenza.compose import particles

    # G major, a half note under a fermata at beat 6 (bar 2, beat 3), long notes elsewhere
    tune = melody_of([67, 69, 71, 72, 74, 72, 71, 69, 67], [2, 2, 1, 1, 2, 2, 2, 2, 2], key=Key(0.0, 7, "major"))
    tune.fermatas_beats = [6.0]

    def lower_onsets(cost: float) -> tuple[int, list[int]]:
        monkeypatch.setattr(particles, "HOLD_COST", cost)
        onsets, under = 0, []
        for seed in range(3):
            score = chorales.harmonize(tune, seed=seed)[0].score
            for part in score.parts[1:]:
                onsets += len(part.notes)
                under += [n.start_beats for n in part.notes if 6.0 < n.start_beats < 8.0 - 1e-9]
        return onsets, under

    shipped_cost = particles.HOLD_COST
    plain, plain_under = lower_onsets(0.0)
    shipped, _ = lower_onsets(shipped_cost)
    costly, costly_under = lower_onsets(3.0)
    assert plain < shipped < costly and costly > plain * 1.2, (plain, shipped, costly)
    assert plain_under == costly_under == [], (plain_under, costly_under)
