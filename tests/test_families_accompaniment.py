"""The accompaniment family: the sixteenth-note grid (features and targets relative to the key),
decoding notes from probabilities, a model trained for a few steps by the CLI on arranged songs,
and `cadenza arrange` with a style whose chord part is that model."""

import json
from dataclasses import replace

import numpy as np
import pytest

from cadenza.arrange import arrange, load_style
from cadenza.chords import parse_chord
from cadenza.errors import MusicError
from cadenza.families.accompaniment import roles
from cadenza.io import read_score, write_score
from cadenza.score import PIANO_HANDS, Key, Meter, Note, Part, Score
from cadenza.tokenize.accompaniment import (
    FEATURES,
    HELD,
    LOW,
    N_FEATURES,
    ONSET,
    SILENT,
    STEPS_PER_BEAT,
    decode,
    encode,
    key_shift,
)
from conftest import run_cli
from test_chords_family import tune_book

F = {name: i for i, name in enumerate(FEATURES)}


def song(tonic=4) -> Score:
    """Two bars of 4/4 in E major (tonic 4): a melody, a piano part, chords E then A."""
    melody = Part("melody", notes=[Note(68 + tonic - 4, 0, 1), Note(71 + tonic - 4, 1, 1), Note(76 + tonic - 4, 4, 4)])
    piano = Part("piano", notes=[Note(40, 0, 4), Note(56, 0.5, 0.5), Note(59, 1.0, 3.0), Note(45, 4, 4)])
    chords = [parse_chord("E", 0.0), parse_chord("A/C#", 4.0)]
    return Score(parts=[melody, piano], meters=[Meter(0.0, 4, 4)], keys=[Key(0.0, tonic, "major")], chords=chords)


def test_the_grid_reads_melody_chords_and_place_relative_to_the_key():
    s = song()
    g = encode(s, s.parts[0], [s.parts[1]])
    assert g.features.shape == (8 * STEPS_PER_BEAT, N_FEATURES) and key_shift(s.keys[0]) == 4
    first = g.features[0]
    assert first[F["melody+4"]] == 1 and first[F["melody_begins"]] == 1  # G# is the third above E
    assert {i for i in range(12) if first[F[f"chord_tone+{i}"]]} == {0, 4, 7}  # E major read as C major
    assert first[F["bar_start"]] == 1 and first[F["beat1"]] == 1 and first[F["step_in_beat0"]] == 1
    second_bar = g.features[16]
    assert second_bar[F["chord_root+5"]] == 1 and second_bar[F["chord_bass+9"]] == 1  # A/C# as F/A
    assert second_bar[F["chord_begins"]] == 1 and g.features[17][F["chord_begins"]] == 0
    assert g.features[2][F["melody_sounds"]] == 1 and g.features[2][F["melody_begins"]] == 0
    # targets: E2 (40) struck at step 0 and held through step 15, at row 40 - 4 - LOW
    row = 40 - 4 - LOW
    assert g.targets[0, row] == ONSET and set(g.targets[1:16, row]) == {HELD} and g.targets[16, row] == SILENT


def test_decoding_certain_probabilities_gives_the_notes_back_in_the_songs_key():
    s = song()
    g = encode(s, s.parts[0], [s.parts[1]])
    onset = (g.targets == ONSET).astype(float)
    held = (g.targets == HELD).astype(float)
    notes = decode(onset, held, g, seed=5)
    assert sorted((n.pitch, n.start_beats, n.duration_beats) for n in notes) == sorted(
        (n.pitch, n.start_beats, n.duration_beats) for n in s.parts[1].notes
    )
    # a key released early (the pedal held the sound) sounds on to the next onset, not past a chord change
    held[5:16] = 0.0
    short = {(n.pitch, n.start_beats): n.duration_beats for n in decode(onset, held, g, seed=5)}
    assert short[(59, 1.0)] == 3.0 and short[(56, 0.5)] == 0.5
    assert short[(40, 0.0)] == 1.25  # held as the model says: the next onset (0.5) comes sooner


@pytest.mark.parametrize("tonic, mode, shift", [(9, "minor", -3), (7, "major", -5), (6, "major", 6), (11, "minor", -1)])
def test_every_key_is_read_on_the_tonic_c_and_written_back_in_its_own(tonic, mode, shift):
    s = song()
    moved = tonic - 4
    s = Score(
        parts=[Part(p.name, notes=[Note(n.pitch + moved, n.start_beats, n.duration_beats) for n in p.notes])
               for p in s.parts],
        meters=s.meters, keys=[Key(0.0, tonic, mode)], chords=[parse_chord("C", 0.0)],
    )  # fmt: skip
    g = encode(s, s.parts[0], [s.parts[1]])
    assert key_shift(s.keys[0]) == shift and set(g.shifts) == {shift}
    assert g.features[0, F[f"chord_root+{(0 - shift) % 12}"]] == 1  # a C chord, relative to the tonic
    notes = decode((g.targets == ONSET).astype(float), (g.targets == HELD).astype(float), g, seed=1)
    assert sorted((n.pitch, n.start_beats) for n in notes) == sorted((n.pitch, n.start_beats) for n in s.parts[1].notes)


def test_decoding_draws_as_many_notes_as_expected_and_the_same_seed_gives_the_same_notes():
    s = song()
    g = encode(s, s.parts[0], [])
    assert not g.targets.any()  # a lead sheet: nothing to learn, features only
    rng = np.random.default_rng(0)
    onset = rng.random(g.targets.shape) * 0.02  # about 1.4 notes expected per step
    held = np.full(g.targets.shape, 0.1)
    a, b = decode(onset, held, g, seed=3), decode(onset, held, g, seed=3)
    assert a == b and a != decode(onset, held, g, seed=4)
    assert 0.8 * onset.sum() < len(a) < 1.2 * onset.sum()


def test_roles_find_the_melody_and_the_accompaniment():
    s = song()
    melody, accompaniment = roles(s)
    assert melody.name == "melody" and [p.name for p in accompaniment] == ["piano"]
    with pytest.raises(MusicError, match="one pitched part only"):
        roles(Score(parts=[s.parts[0]]))
    # a MusicXML piano of two staves reads as the hands: they are the piano, not the strings too
    hands = [replace(s.parts[1], name=name) for name in PIANO_HANDS]
    strings = replace(s.parts[1], name="Strings", program=48)
    melody, accompaniment = roles(replace(s, parts=[s.parts[0], *hands, strings]))
    assert [p.name for p in accompaniment] == list(PIANO_HANDS)


@pytest.fixture(scope="module")
def tiny_accompaniment(tmp_path_factory):
    """A model trained for a few steps on songs arranged in the folk style (melody, guitar, bass)."""
    from cadenza.io import read_scores

    folder = tmp_path_factory.mktemp("songs")
    book = tune_book(folder / "book.abc.txt", copies=6)
    for i, tune in enumerate(read_scores(book.rename(folder / "book.abc"))):
        write_score(arrange(tune, load_style("folk"), seed=i), folder / f"song{i}.mid")
    (folder / "book.abc").unlink()
    out = tmp_path_factory.mktemp("models") / "accomp"
    run_cli("train", "--family", "accompaniment", "--data", str(folder), "--out", str(out), "--steps", "4",
            "--eval-every", "2", "--embd", "16", "--layers", "1", "--heads", "2", "--block-size", "64",
            "--batch-size", "4", "--quiet", check=True)  # fmt: skip
    return out, folder


def test_a_style_plays_a_trained_accompaniment_model(tiny_accompaniment, tmp_path):
    model, folder = tiny_accompaniment
    meta = json.loads((model / "model.json").read_text())
    assert meta["tokenizer"]["kind"] == "accompaniment" and meta["songs"]["test"] == 0  # own songs: all trained on
    assert "--family accompaniment" in (model / "card.md").read_text()
    style = tmp_path / "mine.toml"
    text = (load_style("pop").source and open(load_style("pop").source).read()).replace(
        'accompaniment = "pop"', f'accompaniment = "{model}"'
    )
    style.write_text(text)
    tune = tmp_path / "tune.abc"
    tune.write_text('X:1\nT:t\nM:4/4\nL:1/4\nK:G\n"G"GABc|"C"e2"D7"d2|"G"B2G2|"G"G4|]\n')
    args = ("arrange", str(tune), "--style", str(style), "--seed", "2", "--formats", "mid", "--performer", "none")
    proc = run_cli(*args, "--out", str(tmp_path / "a"))
    assert proc.returncode == 0, proc.stderr
    record = json.loads((tmp_path / "a.json").read_text())
    assert record["accompaniment_model"] == str(model)
    back = read_score(tmp_path / "a.mid")
    assert [p.name for p in back.parts if not p.is_drum][:2] == ["Melody", "Piano"]
    piano = next(p for p in back.parts if p.name == "Piano")
    assert piano.notes and max(n.end_beats for n in piano.notes) <= 16 + 1e-6
    again = run_cli(*args, "--out", str(tmp_path / "b"))
    assert again.returncode == 0 and read_score(tmp_path / "b.mid").parts == back.parts  # same seed, same notes
