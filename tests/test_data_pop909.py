"""cadenza.data.pop909: a POP909 song folder read as a Score on its own beats (a tiny synthetic
song built here, and one real song when ../shared/data/pop909 is there)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cadenza.chords import parse_chord
from cadenza.data import pop909
from cadenza.data.corpus import tune_split as split_of
from cadenza.errors import InputError
from cadenza.score import Key, Meter, Pedal, Section, pickup_start

REAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "pop909"
T0, PERIOD = 0.2, 0.5  # the synthetic song's first beat (seconds) and beat (120 bpm)


def at(beat: float) -> float:
    """A beat of the synthetic beat file (0 = its first line) in seconds."""
    return T0 + PERIOD * beat


# The synthetic melody, in beats of its beat file: a pickup, two bars, two beats more (a bar the
# hand-made version leaves out), three bars. The beat file's downbeats are beats 1, 5, 9...
EIGHTHS = [60, 62, 64, 65, 67, 69, 71, 72]
MELODY = [
    (0.5, 0.5, 67),  # the pickup
    *((1 + i / 2, 0.5, p) for i, p in enumerate(EIGHTHS)),  # bar 1, from beat 1
    (5, 1.5, 79),
    (6.5, 0.5, 77),
    (7, 1.25, 76),
    (8.25, 0.75, 74),  # bar 2
    (9, 1, 72),
    (10, 1, 71),  # two beats more
    *((11 + i / 2, 0.5, p) for i, p in enumerate(EIGHTHS)),  # bar 3, from beat 11
    *((15 + i / 2, 0.5, p) for i, p in enumerate(reversed(EIGHTHS))),
    (19, 4, 60),
]
# The hand-made melody (structure/melody.txt): the same from beat 1 on, without beats 9-11, in sixteenths
HAND = [
    *((p, 2) for p in EIGHTHS),
    (79, 6),
    (77, 2),
    (76, 5),
    (74, 3),
    *((p, 2) for p in EIGHTHS),
    *((p, 2) for p in reversed(EIGHTHS)),
    (60, 16),
]
CHORDS = [  # (from beat, to beat, name), beats of the beat file
    (0, 1, "N"),
    (1, 3, "C:maj"),
    (3, 5, "A:min/b3"),
    (5, 6, "F:maj/3"),
    (6, 7, "N"),
    (7, 9, "G:7"),
    (9, 11, "G:7"),
    (11, 19, "C:maj"),
    (19, 23, "Bb:maj/5"),
]


def write_song(folder: Path, melody=MELODY, hand=HAND, labels="A1B1C2o1") -> Path:
    import pretty_midi

    folder.mkdir(parents=True)
    (folder / "structure").mkdir()
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    mel = pretty_midi.Instrument(0, name="MELODY")
    for i, (start, length, pitch) in enumerate(melody):
        wobble = 0.03 if i % 3 == 1 else 0.0  # played a little late: still its sixteenth
        mel.notes.append(pretty_midi.Note(90 + i % 5, pitch, at(start) + wobble, at(start + length) - 0.02))
    piano = pretty_midi.Instrument(0, name="PIANO")
    piano.notes += [
        pretty_midi.Note(60, 48, at(1), at(1.01)),  # a touch, then the same pitch in the same sixteenth...
        pretty_midi.Note(61, 48, at(1.03), at(3)),  # ...held: the one note kept, the longer
        pretty_midi.Note(62, 55, at(1.26), at(1.3)),  # a grace: at least a sixteenth
        pretty_midi.Note(63, 52, at(2.9), at(4.45)),  # early and late by a little
        pretty_midi.Note(64, 52, at(4.5), at(5.5)),
    ]
    piano.control_changes += [pretty_midi.ControlChange(64, 127, at(1)), pretty_midi.ControlChange(64, 0, at(5))]
    pm.instruments += [mel, piano]
    pm.write(str(folder / f"{folder.name}.mid"))
    beats = [f"{at(i)} {1.0 if i % 2 == 1 else 0.0} {1.0 if i % 4 == 1 else 0.0}" for i in range(24)]
    (folder / "beat_midi.txt").write_text("\n".join(beats) + "\n")
    (folder / "chord_midi.txt").write_text("".join(f"{at(a)}\t{at(b)}\t{n}\n" for a, b, n in CHORDS))
    (folder / "key_audio.txt").write_text(f"{at(0)} {at(15.2)} A:min\n{at(15.2)} {at(23)} C:maj\n")
    (folder / "structure" / "melody.txt").write_text("".join(f"{p} {d}\n" for p, d in hand))
    (folder / "structure" / "human_label1.txt").write_text(labels + "\n")
    return folder


def test_read_song_quantizes_on_the_songs_beats_with_the_hand_made_bars(tmp_path):
    score, alignment = pop909.read_song_aligned(write_song(tmp_path / "001"))
    # beat 0 is the bar line before the pickup: the beat file's beat -3 (beat 1, its first downbeat, is 4)
    assert alignment.origin == -3 and alignment.bar == 4 and alignment.matched == 1.0
    assert [p.name for p in score.parts] == [pop909.MELODY_PART, pop909.ACCOMPANIMENT_PART] == ["melody", "piano"]
    melody, piano = score.parts
    assert [(n.start_beats, n.duration_beats, n.pitch) for n in melody.notes] == [(s + 3, d, p) for s, d, p in MELODY]
    assert [n.velocity for n in melody.notes[:6]] == [90, 91, 92, 93, 94, 90]
    assert pickup_start(score) == 3.5
    assert [(n.start_beats, n.duration_beats, n.pitch, n.velocity) for n in piano.notes] == [
        (4.0, 2.0, 48, 61),
        (4.25, 0.25, 55, 62),
        (6.0, 1.5, 52, 63),
        (7.5, 1.0, 52, 64),
    ]
    assert piano.pedals == [Pedal(4.0, 4.0)]
    # the two beats the hand-made version leaves out make a 2/4 bar: bar lines 0 4 8 12 | 14 18 22
    assert score.meters == [Meter(0.0, 4, 4), Meter(12.0, 2, 4), Meter(14.0, 4, 4)]
    assert score.sections == [Section(4.0, "A"), Section(8.0, "B"), Section(14.0, "C"), Section(22.0, "o")]
    assert score.tempo_bpm == pytest.approx(120.0)
    assert score.keys == [Key(0.0, 9, "minor"), Key(18.0, 0, "major")]
    # chords on beats; "N" before the first chord gives none, inside the song none either (F/A goes on)
    assert [(c.start_beats, c.text) for c in score.chords] == [
        (4.0, "C"),
        (6.0, "Am/C"),
        (8.0, "F/A"),
        (10.0, "G7"),
        (14.0, "C"),
        (22.0, "Bb/F"),
    ]
    assert score.chords[1] == parse_chord("Am/C", 6.0) and score.chords[1].bass == 0
    assert score.chords[-1].bass == 5 and score.chords[3].kind == "dominant"
    assert alignment.hand_to_score(0) == 4.0 and alignment.hand_to_score(32) == 14.0
    assert pop909.read_song(tmp_path / "001").to_dict() == score.to_dict()


def test_without_the_structure_folder_bars_follow_the_beat_files_downbeats(tmp_path):
    folder = write_song(tmp_path / "007")
    for f in (folder / "structure").iterdir():
        f.unlink()
    (folder / "structure").rmdir()
    score, alignment = pop909.read_song_aligned(folder)
    assert alignment.shifts == () and alignment.origin == -3
    assert score.meters == [Meter(0.0, 4, 4)] and score.sections == []
    assert score.parts[0].notes[0].start_beats == 3.5


@pytest.mark.parametrize(
    "name, text",
    [
        ("B:maj", "B"),
        ("C#:min7", "C#m7"),
        ("Bb:maj/5", "Bb/F"),
        ("E:min/b3", "Em/G"),
        ("E:maj/3", "E/G#"),
        ("G:7/b7", "G7/F"),
        ("C:maj7/7", "Cmaj7/B"),
        ("D:hdim7", "Dm7b5"),
        ("B:dim7", "Bdim7"),
        ("A:minmaj7", "AmM7"),
        ("F:maj6", "F6"),
        ("F#:sus4(b7)", "F#sus4"),
        ("C:maj(9)", "Cadd9"),
        ("Ab:aug", "Abaug"),
        ("N", None),
    ],
)
def test_harte_names_become_chord_symbols(name, text):
    assert pop909.harte_text(name) == text
    if text:
        assert parse_chord(text).text == text


def test_a_broken_folder_names_its_file_and_pop_songs_skips_it(tmp_path):
    good = write_song(tmp_path / "001")
    bad = write_song(tmp_path / "002")
    (bad / "beat_midi.txt").write_text("0.1 1.0 1.0\n0.6 zero 0.0\n")
    with pytest.raises(InputError, match=r"002/beat_midi\.txt: line 2 is not"):
        pop909.read_song(bad)
    (tmp_path / "003").mkdir()  # no files at all
    with pytest.raises(InputError, match=r"003\.mid: no such file"):
        pop909.read_song(tmp_path / "003")
    splits, skipped = pop909.pop_songs(tmp_path)
    assert [p.id for ps in splits.values() for p in ps] == ["pop909:001"]
    assert splits[split_of("pop909:001")][0].score.parts[0].name == "melody"
    assert len(skipped) == 2 and skipped[0].startswith("pop909:002: ") and "beat_midi.txt" in skipped[0]
    assert skipped[1].startswith("pop909:003: ") and "003.mid" in skipped[1]
    assert all("\n" not in s for s in skipped)
    assert good.exists()


def test_pop_songs_reads_a_song_once_until_its_files_change(tmp_path, monkeypatch):
    folder = write_song(tmp_path / "001")
    first, _ = pop909.pop_songs(tmp_path)

    def fail(folder):
        raise InputError(folder, "parsed again")

    monkeypatch.setattr(pop909, "read_song", fail)
    again, skipped = pop909.pop_songs(tmp_path)
    assert skipped == [] and [p.score.to_dict() for ps in again.values() for p in ps] == [
        p.score.to_dict() for ps in first.values() for p in ps
    ]
    label = folder / "structure" / "human_label1.txt"
    os.utime(label, ns=(label.stat().st_atime_ns, label.stat().st_mtime_ns + 10**9))
    _, skipped = pop909.pop_songs(tmp_path)
    assert skipped == [f"pop909:001: {folder}: parsed again"]


def test_meters_of_irregular_bars():
    assert pop909._meters([0, 4, 10, 14], 4) == [Meter(0.0, 4, 4), Meter(8.0, 2, 4), Meter(10.0, 4, 4)]
    assert pop909._meters([0, 3, 5, 8], 3) == [Meter(0.0, 3, 4), Meter(3.0, 2, 4), Meter(5.0, 3, 4)]


@pytest.mark.skipif(not (REAL / "001").is_dir(), reason="no POP909 data in ../shared/data/pop909")
def test_a_real_song():
    score = pop909.read_song(REAL / "001")
    assert str(score.meter) == "4/4" and len(score.meters) == 1
    parts = {p.name: p for p in score.parts}
    assert parts["melody"].notes and parts["piano"].notes and parts["bridge"].notes
    assert len(score.chords) > 50 and str(score.key) == "Gb major"
    assert [s.label for s in score.sections[:3]] == ["i", "A", "B"]
    assert score.tempo_bpm == pytest.approx(90.0, abs=0.1)


def test_quantized_notes_of_one_pitch_do_not_overlap():
    import numpy as np

    notes = pop909._quantized(
        np.array([0.0, 0.52, 1.02, 1.04]), np.array([1.0, 2.0, 1.1, 1.6]), [60, 60, 62, 62], [70, 71, 72, 73]
    )
    assert [(n.start_beats, n.duration_beats, n.pitch, n.velocity) for n in notes] == [
        (0.0, 0.5, 60, 70),  # cut where the next 60 begins
        (0.5, 1.5, 60, 71),
        (1.0, 0.5, 62, 73),  # two 62s on one sixteenth: the longer
    ]
