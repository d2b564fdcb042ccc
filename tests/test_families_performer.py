"""The performer family (cadenza.families.performer), its features (cadenza.perform.features) and
the learned performer's Expression (cadenza.perform.learned), on made-up performances."""

from dataclasses import replace

import numpy as np
import pytest

from cadenza.data.asap import Aligned
from cadenza.families.performer import NoteBatches, build_network, example_of, loss
from cadenza.perform.features import N_FEATURES, NAMES, note_features
from cadenza.perform.learned import TARGETS, pedal_by_the_beat, predict
from cadenza.perform.performance import notes_in_order
from cadenza.score import Key, Meter, Note, Part, Score, Tempo


def piece() -> Score:
    melody = [Note(72 + (i % 3), i * 1.0, 1.0, 64) for i in range(16)]
    bass = [Note(48 + 5 * (b % 2), b * 4.0, 4.0, 50) for b in range(4)]
    return Score(
        parts=[Part("r", notes=melody), Part("l", notes=bass)],
        tempos=[Tempo(0.0, 60.0)],
        meters=[Meter(0.0, 4, 4)],
        keys=[Key(0.0, 0, "major")],
    )


def played(score: Score, stretch: np.ndarray, loud_top: int = 20) -> Aligned:
    """A made-up performance: beat i lasts stretch[i] seconds (marked: 1 s at 60 bpm), every
    note on time, the top notes `loud_top` louder, held to 80% of their length, the pedal
    down over the first bar."""
    beats = np.arange(len(stretch) + 1, dtype=np.float64)
    seconds = np.concatenate([[0.0], np.cumsum(stretch)])
    notes = [n for _, n in notes_in_order(score)]
    on = np.interp([n.start_beats for n in notes], beats, seconds)
    end = np.interp([n.end_beats for n in notes], beats, seconds)
    velocity = np.array([60.0 + (loud_top if n.pitch >= 72 else 0) for n in notes])
    return Aligned(
        score=score,
        beats=beats,
        seconds=seconds,
        downbeat=beats % 4 == 0,
        note_index=np.arange(len(notes)),
        velocity=velocity,
        onset_seconds=on,
        offset_seconds=on + 0.8 * (end - on),
        pedal=[(0.0, float(seconds[4]))],
        perf_notes=np.stack([on, end, [n.pitch for n in notes], velocity], axis=1),
    )


def test_features_describe_the_notes():
    score = piece()
    x = note_features(score)
    assert x.shape == (20, N_FEATURES) and len(NAMES) == N_FEATURES
    col = {n: i for i, n in enumerate(NAMES)}
    first_top, first_bass = x[0], x[1]  # notes_in_order: the melody's C5 above the bass at beat 0
    assert first_top[col["top"]] == 1 and first_top[col["bottom"]] == 0 and first_bass[col["bottom"]] == 1
    assert first_top[col["downbeat"]] == 1 and x[2][col["downbeat"]] == 0
    assert first_top[col["degree_0"]] == 1 and first_bass[col["degree_0"]] == 1


def test_targets_are_what_the_pianist_did():
    score = piece()
    stretch = np.ones(16)
    stretch[-4:] = 2.0  # a ritardando over the last bar
    e = example_of(played(score, stretch))
    col = {t: i for i, t in enumerate(TARGETS)}
    notes = [n for _, n in notes_in_order(score)]
    last_bar = np.array([n.start_beats >= 12 for n in notes])
    assert e.targets[last_bar, col["log_beat_factor"]] == pytest.approx(np.log(2.0), abs=1e-5)
    assert e.targets[~last_bar, col["log_beat_factor"]] == pytest.approx(0.0, abs=1e-5)
    top = np.array([n.pitch >= 72 for n in notes])
    assert e.targets[top, col["velocity"]].mean() > e.targets[~top, col["velocity"]].mean()
    assert e.targets[:, col["log_articulation"]] == pytest.approx(np.log(0.8), abs=1e-3)
    assert e.targets[:, col["shift"]] == pytest.approx(0.0, abs=1e-6)
    first_bar = np.array([n.start_beats < 4 for n in notes])
    assert e.targets[first_bar, col["pedal"]].all() and not e.targets[~first_bar, col["pedal"]].any()
    assert e.known.all()


def test_the_network_learns_a_ritardando():
    import torch

    torch.manual_seed(0)
    score = piece()
    stretch = np.ones(16)
    stretch[-4:] = 2.0
    e = example_of(played(score, stretch))
    model = build_network(
        {"model": {"n_features": N_FEATURES, "block_size": 32, "n_layer": 1, "n_head": 2, "n_embd": 16, "dropout": 0.0}}
    )
    batches = NoteBatches([e], block=32, transpose=0, seed=0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    first = None
    for _ in range(150):
        value = loss(model, batches.next(4))
        first = float(value.detach()) if first is None else first
        opt.zero_grad()
        value.backward()
        opt.step()
    assert float(value.detach()) < first / 3
    model.eval()
    pred = predict(model, e.features, 32)
    notes = [n for _, n in notes_in_order(score)]
    last_bar = np.array([n.start_beats >= 12 for n in notes])
    assert pred[last_bar, 0].mean() > pred[~last_bar, 0].mean() + 0.3


def test_batches_are_reproducible_and_pad_short_pieces():
    e = example_of(played(piece(), np.ones(16)))
    a, b = NoteBatches([e], 32, 2, seed=5), NoteBatches([e], 32, 2, seed=5)
    xa, xb = a.next(3), b.next(3)
    assert all(np.array_equal(p.numpy(), q.numpy()) for p, q in zip(xa, xb))
    assert xa[3].sum() == 3 * 20  # 20 notes in a window of 32: the rest padding


def test_pedal_follows_the_bass():
    score = piece()
    notes = [n for _, n in notes_in_order(score)]
    spans = pedal_by_the_beat(notes, np.ones(len(notes), dtype=bool))
    # one span per bar: the bass changes every bar, and the pedal is changed with it
    assert len(spans) == 4 and all(b > a for a, b in spans)
    assert spans[0][0] > 0 and spans[1][0] > spans[0][1] - 1e-9
    assert pedal_by_the_beat(notes, np.zeros(len(notes), dtype=bool)) == []


def test_a_running_bass_is_pedalled_by_the_beat_not_by_the_note():
    # a broken-chord bass in sixteenths, each a new lowest note, a new root each beat: the pedal
    # changes once a beat, with the root, not with every sixteenth
    notes = [Note(40 + 2 * (i // 4) + (0, 7, 4, 7)[i % 4], i * 0.25, 0.25) for i in range(16)]
    notes += [Note(72, b * 1.0, 1.0) for b in range(4)]
    spans = pedal_by_the_beat(sorted(notes, key=lambda n: (n.start_beats, -n.pitch)), np.ones(len(notes), dtype=bool))
    assert len(spans) == 4


def test_the_learned_performer_keeps_the_marked_dynamics_and_holds_fermatas(monkeypatch):
    """With a network that predicts no departure at all, the score's own velocities and its
    fermatas are what is played."""
    from pathlib import Path

    import cadenza.perform.learned as learned

    monkeypatch.setattr(learned, "predict", lambda model, features, block: np.zeros((len(features), len(TARGETS))))
    score = piece()
    score.fermatas_beats = [7.0]
    e = learned.LearnedPerformer(None, {"model": {"block_size": 32}}, Path(".")).expression(score)
    assert list(e.velocity) == [n.velocity for _, n in notes_in_order(score)]
    assert e.beat_factor[7] == pytest.approx(2.0) and e.beat_factor[6] == pytest.approx(1.0)


def test_the_learned_shaping_scales_with_the_marked_level(monkeypatch):
    """The network's swing, learned in velocity units at the pianists' mean level, is scaled by
    the marked level: the same predicted dip takes a pp note down in proportion, not to silence
    (an added swing of 40 had put a pp left hand at velocity 2)."""
    from pathlib import Path

    import cadenza.perform.learned as learned

    score = piece()
    score.parts[1].notes = [replace(n, velocity=16) for n in score.parts[1].notes]
    order = [n for _, n in notes_in_order(score)]
    dip = np.array(
        [-2.0 if n.pitch < 60 else 0.0 for n in order]
    )  # 40 velocity units under the melody, 32 below the mean

    def predict(model, features, block):
        out = np.zeros((len(features), len(TARGETS)))
        out[:, TARGETS.index("velocity")] = dip
        return out

    monkeypatch.setattr(learned, "predict", predict)
    e = learned.LearnedPerformer(None, {"model": {"block_size": 32}}, Path(".")).expression(score)
    marked = np.array([n.velocity for n in order], dtype=np.float64)
    departure = e.velocity - marked
    shaping = learned.VELOCITY_UNIT * (dip - dip.mean())
    assert departure == pytest.approx(shaping * marked / learned.PERFORMANCE_VELOCITY)
    assert e.velocity[marked == 16].min() == pytest.approx(8.0)  # half of 16 (a dip of 32 at 64), not 16 - 32


def test_a_cross_validation_fold_is_checked_before_training():
    from cadenza.errors import OptionError
    from cadenza.families.performer import Config

    assert Config(data="asap", fold="2/5").fold == "2/5"
    with pytest.raises(OptionError, match="--fold '5/5'"):
        Config(data="asap", fold="5/5")


def test_per_beat_tempo_loss_counts_each_beat_once():
    """--tempo-per-beat: a beat's notes share its weight, so the tempo error is the mean over
    beats, not over notes (a chord no longer counts twice where a single note counts once)."""
    import torch

    score = piece()  # two notes on beats 0, 4, 8, 12 (melody and bass), one on the others
    stretch = np.ones(16)
    stretch[13:] = 2.0  # three single-note beats slowed
    e = example_of(played(score, stretch))
    notes = [n for _, n in notes_in_order(score)]
    chord = np.array([n.start_beats % 4 == 0 for n in notes])
    assert e.beat_share[chord] == pytest.approx(0.5) and e.beat_share[~chord] == pytest.approx(1.0)
    batch = NoteBatches([e], block=32, transpose=0, seed=0).next(1)

    def silent(x, valid):  # predicts no departure from the score at all
        return torch.zeros(x.shape[0], x.shape[1], len(TARGETS))

    by_note, by_beat = float(loss(silent, batch)), float(loss(silent, batch, tempo_per_beat=True))
    # the tempo term: 3 of 20 notes off by log 2, against 3 of 16 beats; the other terms the same
    assert by_beat - by_note == pytest.approx((3 / 16 - 3 / 20) * np.log(2.0) ** 2, abs=1e-5)
