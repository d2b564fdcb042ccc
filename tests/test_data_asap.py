"""cadenza.data.asap: ASAP's performances aligned to their scores, and the benchmark's curves.
The real-data tests need ../shared/data/asap and are skipped where it is absent."""

from __future__ import annotations

import collections
import csv
import gzip
from pathlib import Path

import numpy as np
import pytest

from cadenza.data import asap
from cadenza.errors import InputError, OptionError
from cadenza.io.midi import write_midi
from cadenza.perform.performance import notes_in_order
from cadenza.score import Meter, Note, Part, Score, Tempo, beats_to_seconds

ROOT = Path(__file__).resolve().parents[1]
ASAP = ROOT.parent / "shared" / "data" / "asap"
needs_asap = pytest.mark.skipif(not (ASAP / "metadata.csv").is_file(), reason="needs ../shared/data/asap")
SHORT = "Bach/Prelude/bwv_868/GonzalezJ05M"  # 417 score notes, one of the shortest pieces


# -- a made-up ASAP folder -------------------------------------------------------------------


def made_up_score(pickup: bool = False) -> Score:
    """Two parts: sixteenths with repeated pitches over chords; a tempo change unless `pickup`,
    in which case the piece opens with a one-beat pickup (its first note at beat 3)."""
    start = 3.0 if pickup else 0.0
    tune = [72, 72, 74, 72, 71, 71, 71, 69]
    melody = [Note(tune[i % 8], start + i * 0.25, 0.25, 60 + i % 30) for i in range(40)]
    chords = [Note(p, start + b, 1.0, 50) for b in range(0, 10) for p in (48, 55, 64)]
    tempos = [Tempo(0.0, 90.0)] if pickup else [Tempo(0.0, 90.0), Tempo(4.0, 60.0)]
    return Score(
        parts=[Part("right", notes=melody), Part("left", notes=chords)], tempos=tempos, meters=[Meter(0.0, 4, 4)]
    )


def write_performance(path: Path, notes: list[tuple[float, float, int, int]], pedal: list[tuple[float, float]]) -> None:
    """A one-track MIDI file at 120 bpm and 480 ticks per quarter (960 ticks a second)."""
    import mido

    events = []
    for start, end, pitch, velocity in notes:
        events += [(round(start * 960), 1, mido.Message("note_on", note=pitch, velocity=velocity))]
        events += [(round(end * 960), 0, mido.Message("note_off", note=pitch, velocity=0))]
    for down, up in pedal:
        events += [(round(down * 960), 2, mido.Message("control_change", control=64, value=100))]
        events += [(round(up * 960), 0, mido.Message("control_change", control=64, value=10))]
    track, now = mido.MidiTrack(), 0
    for tick, _, message in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(message.copy(time=tick - now))
        now = tick
    midi = mido.MidiFile(type=0, ticks_per_beat=480)
    midi.tracks.append(track)
    midi.save(path)


def make_asap(root: Path, score: Score, seed: int = 0, drop_line: bool = False) -> dict:
    """An ASAP-like folder holding `score` and one performance of it: time stretched by 1.5,
    starting 0.5 s in, each onset moved by up to 10 ms, velocities at random."""
    rng = np.random.default_rng(seed)
    folder = root / "Composer" / "Piece"
    folder.mkdir(parents=True)
    write_midi(score, folder / "midi_score.mid")
    first = min(n.start_beats for n in score.notes())
    beats = np.arange(np.floor(first), score.end_beats + 1e-9, 1.0)
    file_seconds = np.array([beats_to_seconds(b - first, score.tempos) for b in beats])  # the file starts at the pickup

    def performed(beat: float) -> float:
        return 0.5 + 1.5 * beats_to_seconds(beat - first, score.tempos)

    def annotations(seconds) -> str:
        labels = ["db" if b % 4 == 0 else "bR" if b < 4 else "b" for b in beats]  # bR: the pickup's beat
        labels[0] += ",4/4,0" if labels[0] == "db" else ",,0"
        return "".join(f"{s}\t{s}\t{label}\n" for s, label in zip(seconds, labels))

    (folder / "midi_score_annotations.txt").write_text(annotations(file_seconds))
    perf_beats = [performed(b) for b in beats][: len(beats) - drop_line]
    (folder / "Perf01_annotations.txt").write_text(annotations(perf_beats))
    played = []
    for _, n in notes_in_order(score):
        start = performed(n.start_beats) + rng.uniform(-0.01, 0.01)
        played.append((start, performed(n.end_beats) - 0.02, n.pitch, int(rng.integers(30, 110))))
    pedal = [(performed(first) + 0.1, performed(first + 2.0)), (performed(first + 2.2), performed(first + 5.0))]
    write_performance(folder / "Perf01.mid", played, pedal)
    with (root / "metadata.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["composer", "title", "folder", "xml_score", "midi_score", "midi_performance"])
        w.writerow(
            ["Composer", "Piece", "Composer/Piece", "", "Composer/Piece/midi_score.mid", "Composer/Piece/Perf01.mid"]
        )
    _add_annotation_columns(root / "metadata.csv")
    return {"played": played, "pedal": pedal, "beats": beats, "perf_beats": perf_beats}


def _add_annotation_columns(path: Path) -> None:
    rows = list(csv.reader(path.open()))
    rows[0] += ["performance_annotations", "midi_score_annotations"]
    for r in rows[1:]:
        r += [r[5].replace(".mid", "_annotations.txt"), "Composer/Piece/midi_score_annotations.txt"]
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)


# -- the made-up performance -------------------------------------------------------------------


@pytest.mark.parametrize("pickup", [False, True])
def test_align_made_up_performance_matches_every_note(tmp_path, pickup):
    score = made_up_score(pickup)
    made = make_asap(tmp_path, score, seed=3)
    (p,) = asap.performances(tmp_path)
    assert (p.composer, p.title, p.folder, p.performer) == ("Composer", "Piece", "Composer/Piece", "Perf01")
    assert p.id == "Composer/Piece/Perf01"
    a = asap.align(p)
    assert a.score.notes() == score.notes()  # read back at the score's own beats (the pickup too)
    np.testing.assert_allclose(a.beats, made["beats"])  # the annotations' seconds through the tempo map
    np.testing.assert_allclose(a.seconds, made["perf_beats"])
    assert a.downbeat.tolist() == [b % 4 == 0 for b in made["beats"]]
    assert (a.note_index >= 0).all() and a.match_rate == 1.0
    assert len(set(a.note_index.tolist())) == len(a.note_index)
    order = notes_in_order(score)
    played = np.array(made["played"])
    np.testing.assert_array_equal(a.perf_notes[a.note_index, 2], [n.pitch for _, n in order])
    # the notes were written in notes_in_order's order: each must find its own
    by_start = np.argsort(played[:, 0], kind="stable")
    np.testing.assert_array_equal(a.note_index, np.argsort(by_start))
    np.testing.assert_allclose(a.onset_seconds, played[:, 0], atol=2e-3)
    np.testing.assert_allclose(a.offset_seconds, played[:, 1], atol=2e-3)
    np.testing.assert_array_equal(a.velocity, played[:, 3])
    assert len(a.pedal) == 2
    np.testing.assert_allclose(np.array(a.pedal), np.array(made["pedal"]), atol=2e-3)
    # the time map the notes were carried by: 1.5 times the score's seconds, 0.5 s in
    first = min(n.start_beats for n in score.notes())
    assert a.seconds_at([first + 2.0])[0] == pytest.approx(0.5 + 1.5 * beats_to_seconds(2.0, score.tempos))


def test_beats_that_do_not_correspond_are_refused_and_skipped(tmp_path):
    make_asap(tmp_path, made_up_score(), drop_line=True)
    (p,) = asap.performances(tmp_path)
    problem = asap.annotation_problem(p)
    assert problem and "Composer/Piece/Perf01" in problem and "in the performance's" in problem
    with pytest.raises(InputError, match="beats in the score's annotations"):
        asap.align(p)
    good, skipped = asap.usable(tmp_path)
    assert good == [] and skipped == [problem]


def test_performances_lists_only_performances_whose_files_exist(tmp_path):
    make_asap(tmp_path, made_up_score())
    (tmp_path / "Composer" / "Piece" / "Perf01.mid").unlink()
    assert asap.performances(tmp_path) == []
    with pytest.raises(InputError, match="metadata.csv"):
        asap.performances(tmp_path / "nowhere")


def test_cache_round_trip_gives_identical_arrays(tmp_path):
    from cadenza.data.corpus import cache_dir

    make_asap(tmp_path, made_up_score(), seed=5)
    (p,) = asap.performances(tmp_path)
    fresh = asap.aligned(p)
    path = asap.cache_path(p)
    assert path.is_file() and path.parent == cache_dir() / "asap" and path.name.endswith(".json.gz")
    gzip.decompress(path.read_bytes())  # gzip JSON, not pickle
    again = asap.aligned(p)
    assert again is not fresh
    _assert_same(again, fresh)
    path.write_bytes(b"not gzip")  # a damaged entry is computed again
    _assert_same(asap.aligned(p), fresh)
    _assert_same(asap.aligned(p, cache=False), fresh)


def _assert_same(a: asap.Aligned, b: asap.Aligned) -> None:
    assert a.score == b.score and a.pedal == b.pedal
    for name in (
        "beats",
        "seconds",
        "downbeat",
        "note_index",
        "velocity",
        "onset_seconds",
        "offset_seconds",
        "perf_notes",
    ):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        np.testing.assert_array_equal(x, y, err_msg=name)


def test_match_notes_keeps_time_order_and_takes_the_most_matches():
    # two score notes of one pitch, 0.2 s apart, played 0.15 s late: nearest-first would pair the
    # second with the first played note and leave the first score note without one
    got = asap.match_notes(
        np.array([60.0, 60.0]),
        np.array([1.0, 1.2]),
        np.array([0.25, 0.25]),
        np.array([60.0, 60.0, 62.0]),
        np.array([1.15, 1.35, 1.0]),
    )
    assert got.tolist() == [0, 1]
    # a note of another pitch or out of tolerance is not matched; nothing to match against
    got = asap.match_notes(
        np.array([61.0, 60.0]), np.array([1.0, 3.0]), np.array([0.25, 0.25]), np.array([60.0]), np.array([1.0])
    )
    assert got.tolist() == [-1, -1]
    assert asap.match_notes(np.array([60.0]), np.array([1.0]), np.array([0.25]), np.empty(0), np.empty(0)).tolist() == [
        -1
    ]


def test_match_tolerance_grows_with_slow_beats():
    beats, seconds = np.array([0.0, 1.0, 2.0]), np.array([0.0, 0.5, 2.5])
    np.testing.assert_allclose(asap.match_tolerance(np.array([0.5, 1.5, 5.0]), beats, seconds), [0.25, 0.6, 0.6])


# -- the curves ------------------------------------------------------------------------------------


def test_tempo_curve_is_the_inter_beat_intervals():
    np.testing.assert_allclose(asap.tempo_curve(np.array([0.0, 0.5, 1.5, 1.75])), [0.5, 1.0, 0.25])
    assert asap.tempo_curve(np.array([1.0])).shape == (0,)


def test_loudness_curve_averages_velocities_per_beat():
    beats = np.array([0.0, 1.0, 2.0, 3.0])
    onsets = np.array([0.0, 0.5, 0.999, 2.0, 3.0, -0.1, np.nan, 2.5])
    velocities = np.array([60, 70, 80, 100, 127, 127, 127, np.nan])
    curve = asap.loudness_curve(onsets, velocities, beats)
    # [0, 1): 60, 70, 80; [1, 2): none; [2, 3): 100 (the nan velocity left out); 3.0 and -0.1 outside
    np.testing.assert_array_equal(curve, [70.0, np.nan, 100.0])
    assert asap.loudness_curve(np.empty(0), np.empty(0), beats).shape == (3,)


def test_curve_correlation():
    assert asap.curve_correlation(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0])) == pytest.approx(1.0)
    assert asap.curve_correlation(np.array([1.0, 2.0, 3.0, 4.0]), np.array([4.0, 3.0, 2.0, 1.0])) == pytest.approx(-1.0)
    # r of [1, 2, 3, 4] and [1, 3, 2, 4] is 0.8; the nan beats are left out
    a = np.array([1.0, np.nan, 2.0, 3.0, 4.0, 9.0])
    b = np.array([1.0, 5.0, 3.0, 2.0, 4.0, np.inf])
    assert asap.curve_correlation(a, b) == pytest.approx(0.8)
    assert np.isnan(asap.curve_correlation(np.array([1.0, 2.0, np.nan]), np.array([1.0, 2.0, 3.0])))  # 2 points
    assert np.isnan(asap.curve_correlation(np.array([5.0, 5.0, 5.0]), np.array([1.0, 2.0, 3.0])))  # constant
    with pytest.raises(ValueError, match="different lengths"):
        asap.curve_correlation(np.ones(3), np.ones(4))


# -- splits ----------------------------------------------------------------------------------------


def test_split_of_is_by_piece_and_deterministic():
    assert asap.split_of("Bach/Fugue/bwv_846") == asap.split_of("Bach/Fugue/bwv_846")
    assert {asap.split_of(f"Some/Piece/{i}") for i in range(100)} == {"train", "valid", "test"}
    assert asap.piece_of("Beethoven/Piano_Sonatas/17-1_no_repeat") == "Beethoven/Piano_Sonatas/17-1"
    assert asap.piece_of("Beethoven/Piano_Sonatas/24-1_no_2_repeat") == "Beethoven/Piano_Sonatas/24-1"
    assert asap.piece_of("Schumann/Toccata_repeat") == "Schumann/Toccata"
    assert asap.piece_of("Beethoven/Piano_Sonatas/9-2_no_trio") == "Beethoven/Piano_Sonatas/9-2"
    assert asap.piece_of("Schubert/Moment_musical_no_3") == "Schubert/Moment_musical_no_3"
    for variant in (
        "Chopin/Sonata_2/2nd_no_repeat",
        "Schumann/Toccata_repeat",
        "Haydn/Keyboard_Sonatas/50-1_no_repeat",
    ):
        assert asap.split_of(variant) == asap.split_of(asap.piece_of(variant))
    # the value is fixed by SHA-1, not by the process (Python's hash() is salted per process)
    import hashlib

    bucket = int(hashlib.sha1(b"Bach/Fugue/bwv_846").hexdigest()[:8], 16) % 100
    assert asap.split_of("Bach/Fugue/bwv_846") == ("train" if bucket < 80 else "valid" if bucket < 90 else "test")


def test_cross_validation_folds_test_every_piece_once():
    pieces = [f"Some/Piece/{i}" for i in range(400)]
    tested = collections.Counter()
    for k in range(5):
        splits = {f: asap.split_of(f, (k, 5)) for f in pieces}
        tested.update(f for f, s in splits.items() if s == "test")
        share = collections.Counter(splits.values())
        assert 0.12 < share["test"] / 400 < 0.28 and 0.04 < share["valid"] / 400 < 0.13
        # a variant of a piece goes with its piece
        assert asap.split_of("Chopin/Sonata_2/2nd_no_repeat", (k, 5)) == asap.split_of("Chopin/Sonata_2/2nd", (k, 5))
    assert set(tested) == set(pieces) and set(tested.values()) == {1}


@pytest.mark.parametrize("text", ["5/5", "1/1", "a/5", "2", "-1/5", "0/11", "\u00b2/5", "1/5/2"])
def test_a_fold_must_be_k_of_n(text):
    with pytest.raises(OptionError, match="K/N"):
        asap.parse_fold(text)
    assert asap.parse_fold("") is None and asap.parse_fold("4/5") == (4, 5)


@needs_asap
def test_splits_over_asap_have_about_the_intended_sizes():
    found = asap.performances(ASAP)
    assert len(found) == 1021
    by_split = collections.defaultdict(set)
    for p in found:
        by_split[asap.split_of(p.folder)].add(asap.piece_of(p.folder))
    pieces = sum(len(s) for s in by_split.values())
    assert 0.7 < len(by_split["train"]) / pieces < 0.9
    assert 0.05 < len(by_split["valid"]) / pieces < 0.15 and 0.05 < len(by_split["test"]) / pieces < 0.15
    assert not (by_split["train"] & by_split["valid"]) and not (by_split["train"] & by_split["test"])
    performed = collections.Counter(asap.split_of(p.folder) for p in found)
    assert performed["valid"] > 50 and performed["test"] > 50


# -- a real performance ----------------------------------------------------------------------------


@needs_asap
def test_align_a_real_bach_prelude():
    p = next((p for p in asap.performances(ASAP) if p.id == SHORT), None)
    if p is None:
        pytest.skip(f"{SHORT} is not in this copy of ASAP")
    assert asap.annotation_problem(p) is None
    a = asap.align(p)
    n = len(a.score.notes())
    assert len(a.note_index) == len(a.velocity) == len(a.onset_seconds) == len(a.offset_seconds) == n
    assert len(a.beats) == len(a.seconds) == len(a.downbeat) and a.downbeat[0]
    assert (np.diff(a.beats) > 0).all() and (np.diff(a.seconds) > 0).all()
    assert a.match_rate > 0.8
    matched = a.note_index >= 0
    pitches = np.array([note.pitch for _, note in notes_in_order(a.score)])
    np.testing.assert_array_equal(a.perf_notes[a.note_index[matched], 2], pitches[matched])
    assert len(set(a.note_index[matched].tolist())) == matched.sum()
    np.testing.assert_array_equal(a.velocity[matched], a.perf_notes[a.note_index[matched], 3])
    assert np.isnan(a.velocity[~matched]).all() and np.isnan(a.onset_seconds[~matched]).all()
    assert (a.offset_seconds[matched] > a.onset_seconds[matched]).all()
    # onsets go forward with the score: hardly ever more than a little back in time
    onsets = a.onset_seconds[matched]
    assert np.mean(np.diff(onsets) > -0.1) > 0.98
    assert (
        np.corrcoef(onsets, np.array([note.start_beats for _, note in notes_in_order(a.score)])[matched])[0, 1] > 0.99
    )
    # every onset near the time the beats give it
    expected = a.seconds_at([note.start_beats for _, note in notes_in_order(a.score)])
    assert np.median(np.abs(onsets - expected[matched])) < 0.05
    # the curves a benchmark takes from it
    tempo = asap.tempo_curve(a.seconds)
    assert len(tempo) == len(a.beats) - 1 and (tempo > 0).all()
    loud = asap.loudness_curve(a.onset_seconds, a.velocity, a.seconds)
    assert len(loud) == len(tempo) and np.isfinite(loud).mean() > 0.9
    assert ((loud[np.isfinite(loud)] >= 1) & (loud[np.isfinite(loud)] <= 127)).all()
    assert a.perf_notes.shape[1] == 4 and (np.diff(a.perf_notes[:, 0]) >= 0).all()
    assert all(up > down for down, up in a.pedal)
