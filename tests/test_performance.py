"""The Performance type and realize (cadenza.perform.performance), and the perform API
(cadenza.perform)."""

import numpy as np
import pytest

from cadenza.errors import OptionError
from cadenza.perform import check_performer, is_choral, perform
from cadenza.perform.performance import Expression, beat_grid, deadpan, meter_beat, notes_in_order, realize, scaled
from cadenza.score import Meter, Note, Part, Score, Tempo, beats_to_seconds
from conftest import make_score


def two_hands(bars: int = 4) -> Score:
    """A melody over a bass, 4/4 at 90 then 60 bpm from bar 3."""
    melody = [Note(72 + (i % 5), i * 1.0, 1.0, 70) for i in range(bars * 4)]
    bass = [Note(48, b * 4.0, 4.0, 60) for b in range(bars)]
    return Score(
        parts=[Part("right", 0, False, melody), Part("left", 0, False, bass)],
        tempos=[Tempo(0.0, 90.0), Tempo(8.0, 60.0)],
    )


def test_beat_grid_follows_the_meter():
    assert meter_beat(6, 8) == 1.5 and meter_beat(3, 4) == 1.0 and meter_beat(2, 2) == 2.0 and meter_beat(7, 8) == 0.5
    score = Score(parts=[Part(notes=[Note(60, 0.0, 6.0)])], meters=[Meter(0.0, 6, 8)])
    assert list(beat_grid(score)) == [0.0, 1.5, 3.0, 4.5, 6.0]


def test_deadpan_plays_the_score_as_written():
    score = two_hands()
    p = realize(score, deadpan(score))
    for (part, pitch, start, end, velocity), (i, n) in zip(p.notes, notes_in_order(score)):
        assert (part, pitch, velocity) == (i, n.pitch, n.velocity)
        assert start == pytest.approx(beats_to_seconds(n.start_beats, score.tempos))
        assert end == pytest.approx(beats_to_seconds(n.end_beats, score.tempos))
    assert p.pedal == []


def test_to_score_plays_at_the_performed_times():
    score = two_hands()
    e = deadpan(score)
    e.beat_factor = np.linspace(0.8, 1.6, len(e.beat_factor))
    e.shift_seconds = np.full(len(e.shift_seconds), -0.02)
    e.pedal = [(0.0, 3.5)]
    p = realize(score, e)
    written = p.to_score()
    starts = sorted(beats_to_seconds(n.start_beats, written.tempos) for part in written.parts for n in part.notes)
    assert starts == pytest.approx(sorted(n[2] for n in p.notes), abs=2e-3)
    pedal = written.parts[0].pedals[0]
    assert beats_to_seconds(pedal.end_beats, written.tempos) == pytest.approx(p.pedal[0][1], abs=2e-3)
    assert written.meters == score.meters and len(written.notes()) == len(score.notes())
    # stretched beats: the last beat lasts twice the first's marked length
    assert np.diff(p.seconds)[-1] > np.diff(p.seconds)[0] * 1.5


def test_scaled_expression_goes_from_written_to_twice():
    score = two_hands()
    base = deadpan(score)
    e = deadpan(score)
    e.beat_factor = np.full(len(e.beat_factor), 1.2)
    e.velocity = e.velocity + 10
    none, twice = scaled(e, base, 0.0), scaled(e, base, 2.0)
    assert np.allclose(none.beat_factor, 1.0) and np.allclose(none.velocity, base.velocity)
    assert np.allclose(twice.beat_factor, 1.44) and np.allclose(twice.velocity, base.velocity + 20)


def test_realize_keeps_notes_audible_and_in_range():
    score = two_hands()
    e = deadpan(score)
    e.velocity = np.full(len(e.velocity), 300.0)
    e.articulation = np.full(len(e.articulation), 1e-4)
    e.shift_seconds[0] = -5.0
    p = realize(score, e)
    assert all(n[4] == 127 and n[3] - n[2] >= 0.03 - 1e-9 and n[2] >= 0 for n in p.notes)


def test_a_note_ends_where_its_pitch_is_struck_again():
    score = Score(parts=[Part(notes=[Note(60, 0.0, 1.0), Note(60, 1.0, 1.0), Note(64, 1.0, 1.0)])])
    e = deadpan(score)
    e.articulation = np.full(3, 1.5)
    [first, *_] = sorted(realize(score, e).notes, key=lambda n: (n[2], n[1]))
    assert first[3] == pytest.approx(0.5)  # 120 bpm: the second C at 0.5 s


def test_perform_checks_its_options():
    with pytest.raises(OptionError, match="unknown performer"):
        check_performer("robot")
    with pytest.raises(OptionError, match="expressiveness"):
        check_performer("rules", 3.0)


def test_voices_are_choral_and_hands_are_not():
    assert is_choral(make_score(4, 2))
    assert not is_choral(two_hands())


def test_perform_none_is_the_score_and_rules_are_reproducible():
    score = two_hands(8)
    written = perform(score, "none")
    assert [n[2] for n in written.notes] == pytest.approx(
        [beats_to_seconds(n.start_beats, score.tempos) for _, n in notes_in_order(score)]
    )
    a, b, c = (perform(score, "rules", seed=s) for s in (1, 1, 2))
    assert a.notes == b.notes and a.pedal == b.pedal
    assert a.notes != c.notes
    assert a.notes != written.notes
    flat = perform(score, "rules", seed=1, expressiveness=0.0)
    assert [n[2] for n in flat.notes] == pytest.approx([n[2] for n in written.notes], abs=1e-6)


def test_expression_arrays_follow_the_notes():
    score = two_hands()
    e = deadpan(score)
    assert isinstance(e, Expression)
    assert len(e.velocity) == len(score.notes()) and len(e.beat_factor) == len(e.beats) - 1


def test_a_performance_writes_midi_and_audio(tmp_path):
    from cadenza.io import read_score

    p = perform(two_hands(), "rules", seed=2)
    p.write(tmp_path / "p.mid")
    p.write(tmp_path / "p.wav")
    assert (tmp_path / "p.wav").stat().st_size > 1000
    back = read_score(tmp_path / "p.mid")
    assert sorted(n.velocity for n in back.notes()) == sorted(n[4] for n in p.notes)
    with pytest.raises(OptionError, match="mid"):
        p.write(tmp_path / "p.musicxml")


def test_a_pickup_stays_a_pickup_when_played(tmp_path):
    from cadenza.io import read_score
    from cadenza.score import pickup_start

    melody = [Note(67, 3.0, 1.0)] + [Note(72 + i % 3, 4.0 + i, 1.0) for i in range(12)]
    bass = [Note(48, 4.0 + 4 * b, 4.0) for b in range(3)]
    score = Score(parts=[Part("r", notes=melody), Part("l", notes=bass)])
    assert pickup_start(score) == 3.0
    p = perform(score, "rules", seed=1)
    assert float(p.beats_at(min(n[2] for n in p.notes))) != 3.0  # played off the beat's grid (the noise rule)
    assert pickup_start(p.to_score()) == 3.0
    p.write(tmp_path / "p.mid")
    assert pickup_start(read_score(tmp_path / "p.mid")) == 3.0  # a short first bar, no silence before it
