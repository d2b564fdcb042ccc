"""The sustain pedal (Part.pedals): MIDI controller 64 read and written, and played by the renderer."""

import mido
import numpy as np
import pytest

from cadenza.io.audio import SAMPLE_RATE, render, sustained
from cadenza.io.midi import read_midi, write_midi
from cadenza.score import Meter, Note, Part, Pedal, Score, Tempo
from conftest import ROOT

ASAP = ROOT.parent / "shared/data/asap"
BALLADE = ASAP / "Chopin/Ballades/3/Ko11M.mid"  # a Disklavier performance (Yamaha e-Competition)
LISZT = ASAP / "Liszt/Concert_Etude_S145/1/midi_score.mid"  # its pedal is on channel 2 (index 1)


def pedalled() -> Score:
    notes = [Note(60, 0, 1), Note(64, 1, 1), Note(67, 2, 2), Note(48, 0, 4)]
    pedals = [Pedal(0, 1), Pedal(1, 2.5), Pedal(3.7, 1 / 3)]  # the first two touch: up and straight down
    return Score(
        parts=[Part("Piano", 0, False, notes, pedals), Part("Strings", 48, False, [Note(55, 0, 4)], [Pedal(0.5, 2)])],
        tempos=[Tempo(0.0, 100.0)],
    )


def cc64(track) -> list[tuple[int, int]]:
    """(tick, value) of each controller-64 event in a mido track."""
    now, result = 0, []
    for m in track:
        now += m.time
        if m.type == "control_change" and m.control == 64:
            result.append((now, m.value))
    return result


def test_pedals_round_trip_through_midi(tmp_path):
    score = pedalled()
    back = read_midi(write_midi(score, tmp_path / "p.mid"))
    for part, read in zip(score.parts, back.parts):
        assert len(read.pedals) == len(part.pedals)
        for a, b in zip(part.pedals, read.pedals):
            assert a.start_beats == pytest.approx(b.start_beats, abs=1 / 480)
            assert a.end_beats == pytest.approx(b.end_beats, abs=1 / 480)
    assert back.to_dict()["parts"][0]["pedals"] == [[p.start_beats, p.duration_beats] for p in back.parts[0].pedals]


def test_pedals_are_written_as_controller_64_on_the_parts_channel(tmp_path):
    midi = mido.MidiFile(write_midi(pedalled(), tmp_path / "p.mid"))
    assert cc64(midi.tracks[1]) == [(0, 127), (480, 0), (480, 127), (1680, 0), (1776, 127), (1936, 0)]
    assert cc64(midi.tracks[2]) == [(240, 127), (1200, 0)]
    assert {m.channel for m in midi.tracks[2] if m.type == "control_change"} == {1}
    # at one tick: the note-off, the pedal up, the pedal down, then the note-on
    now, at_480 = 0, []
    for m in midi.tracks[1]:
        now += m.time
        if now == 480 and not m.is_meta:
            at_480.append((m.type, getattr(m, "value", None)))
    assert at_480 == [("note_off", None), ("control_change", 0), ("control_change", 127), ("note_on", None)]


def test_a_score_without_pedals_writes_no_controllers(tmp_path):
    score = pedalled()
    for part in score.parts:
        part.pedals = []
    midi = mido.MidiFile(write_midi(score, tmp_path / "p.mid"))
    assert not any(m.type == "control_change" for t in midi.tracks for m in t)
    assert all(not p.pedals for p in read_midi(tmp_path / "p.mid").parts)


def test_overlapping_and_empty_pedals_are_written_as_one_held_pedal(tmp_path):
    score = Score(parts=[Part("p", 0, False, [Note(60, 0, 4)], [Pedal(2, 1), Pedal(0, 2.5), Pedal(3.5, 0)])])
    midi = mido.MidiFile(write_midi(score, tmp_path / "p.mid"))
    assert cc64(midi.tracks[1]) == [(0, 127), (1440, 0), (1680, 127), (1681, 0)]


def test_pedals_move_with_a_pickup(tmp_path):
    notes = [Note(67, 3, 1), Note(72, 4, 2), Note(71, 6, 2), Note(67, 8, 4)]
    score = Score(parts=[Part("p", 0, False, notes, [Pedal(3, 1), Pedal(4, 4)])], meters=[Meter(0.0, 4, 4)])
    midi = mido.MidiFile(write_midi(score, tmp_path / "p.mid"))
    assert cc64(midi.tracks[1]) == [(0, 127), (480, 0), (480, 127), (2400, 0)]
    assert read_midi(tmp_path / "p.mid").parts[0].pedals == score.parts[0].pedals


def performance(*tracks: list[mido.Message]) -> mido.MidiFile:
    midi = mido.MidiFile(type=1, ticks_per_beat=480)
    midi.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000)]))
    for messages in tracks:
        midi.tracks.append(mido.MidiTrack(messages))
    return midi


def note(pitch: int, length: int, channel: int = 0, wait: int = 0) -> list[mido.Message]:
    return [
        mido.Message("note_on", channel=channel, note=pitch, velocity=80, time=wait),
        mido.Message("note_off", channel=channel, note=pitch, velocity=0, time=length),
    ]


def pedal(value: int, wait: int, channel: int = 0) -> mido.Message:
    return mido.Message("control_change", channel=channel, control=64, value=value, time=wait)


def test_the_pedal_is_read_from_controller_64_as_a_performance_plays_it(tmp_path):
    """Down at 64 and over, up under 64 (a half pedal's 70 is down, 40 up); a pedal on a channel
    other than the first starts where it starts (symusic's own Track.pedals puts it at tick 0);
    one still down at the end is let up at the end of the last note."""
    on, off = note(60, 480, channel=1)
    track = [pedal(70, 240, channel=1), pedal(100, 10, channel=1), pedal(40, 230, channel=1), on]
    track += [pedal(127, 480, channel=1), off]
    path = tmp_path / "perf.mid"
    performance(track).save(path)
    assert read_midi(path).parts[0].pedals == [Pedal(0.5, 0.5), Pedal(2.0, 1.0)]


def test_a_pedal_on_a_track_without_notes_goes_to_the_first_piano_part(tmp_path):
    drums = note(36, 120, channel=9)
    piano = note(60, 960)
    pedal_track = [mido.MetaMessage("track_name", name="pedal"), pedal(127, 240), pedal(0, 480), pedal(127, 0)]
    path = tmp_path / "apart.mid"
    performance(drums, piano, pedal_track).save(path)
    score = read_midi(path)
    assert [p.is_drum for p in score.parts] == [True, False]
    assert score.parts[0].pedals == []
    assert score.parts[1].pedals == [Pedal(0.5, 1.0), Pedal(1.5, 0.5)]  # the last let up where the note ends


@pytest.mark.skipif(not BALLADE.is_file(), reason="needs ../shared/data/asap")
def test_a_real_performance_reads_with_its_pedal():
    score = read_midi(BALLADE)
    (piano,) = score.parts
    assert len(piano.pedals) == 435 and piano.pedals[0] == Pedal(0.0, 2967 / 960)
    assert all(a.end_beats <= b.start_beats for a, b in zip(piano.pedals, piano.pedals[1:]))
    assert all(p.duration_beats > 0 for p in piano.pedals)


@pytest.mark.skipif(not LISZT.is_file(), reason="needs ../shared/data/asap")
def test_a_pedal_on_channel_2_starts_where_it_starts():
    first, second = (p.pedals[0] for p in read_midi(LISZT).parts)
    assert first.start_beats == pytest.approx(120002 / 480)  # symusic: tick 0, a pedal of 250 beats
    assert second.start_beats == pytest.approx(2 / 480)


# -- the renderer ------------------------------------------------------------------------------------------------


def one_note(pedals: list[Pedal]) -> Score:
    return Score(parts=[Part("p", 0, False, [Note(60, 0, 0.5, 100)], pedals)], tempos=[Tempo(0.0, 120.0)])


def test_a_note_held_by_the_pedal_sounds_longer():
    """A quarter second's note, the pedal down for 2 s: far more sound after the note-off."""
    off = SAMPLE_RATE // 4

    def after_release(samples: np.ndarray) -> float:  # loudness is normalized: compare with the note itself
        return float((samples[off:] ** 2).sum() / (samples[:off] ** 2).sum())

    dry, held = render(one_note([])), render(one_note([Pedal(0, 4)]))
    assert len(held) - len(dry) == round(1.75 * SAMPLE_RATE)  # the note-off moves from 0.25 s to 2 s
    assert after_release(held) > 3 * after_release(dry)


def test_a_pedal_that_holds_no_release_changes_nothing():
    score = one_note([Pedal(0.1, 0.2), Pedal(0.5, 1)])  # down after the note-on, up before; then down at its end
    assert np.array_equal(render(score), render(one_note([])))


def test_a_note_struck_again_under_the_pedal_is_let_go_first():
    spans = [(5, 100)]
    notes = [(0, 10, 60, 80), (20, 30, 60, 80), (25, 50, 62, 80), (120, 130, 60, 80)]
    assert sustained(notes, spans) == [(0, 20, 60, 80), (20, 100, 60, 80), (25, 100, 62, 80), (120, 130, 60, 80)]
    # released as the pedal goes down or as it comes up: not held
    assert sustained([(0, 5, 60, 80), (6, 100, 61, 80)], spans) == [(0, 5, 60, 80), (6, 100, 61, 80)]
    # a note still held by its key is not cut; both end when the pedal comes up
    assert sustained([(0, 50, 60, 80), (20, 30, 60, 80)], spans) == [(0, 100, 60, 80), (20, 100, 60, 80)]
    # spans that touch: the pedal goes up and straight down again, letting go of what it held
    assert sustained([(0, 10, 60, 80)], [(5, 40), (40, 90)]) == [(0, 40, 60, 80)]
