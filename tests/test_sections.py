"""Section labels (rehearsal letters, Score.sections): the Score's JSON, excerpts, and every format
that holds them: MIDI markers in track 0, MusicXML rehearsal marks, ABC P: fields inside a tune;
the Nottingham tunes' part labels; a composed piece's plan."""

from __future__ import annotations

from pathlib import Path

import mido
import pytest

from cadenza.io import read_score, write_score
from cadenza.io.abc import abc_text
from cadenza.io.midi import PICKUP_MARKER
from cadenza.io.musicxml import DIVISIONS, musicxml_text
from cadenza.score import Key, Meter, Note, Part, Repeat, Score, Section, Tempo, bar_starts, excerpt, transpose

NOTTINGHAM = Path("/work/shared/data/nottingham-abc")
FORMATS = (".mid", ".musicxml", ".abc")


def tune(bars: int = 8, pickup: bool = False, sections: tuple = ((1, "A"), (5, "B"))) -> Score:
    """A melody of `bars` bars of 4/4 quarters in G, with a one-beat pickup when asked, and its
    sections at the bars given (numbered as notation shows them: after a pickup, bar 1 is the
    first full bar)."""
    first = 4.0 if pickup else 0.0  # where bar 1 begins
    notes = [Note(62, 3.0, 1.0)] if pickup else []
    notes += [Note(67 + (i % 5), first + i, 1.0) for i in range(4 * bars)]
    labelled = [Section(first + 4.0 * (bar - 1), label) for bar, label in sections]
    return Score(
        parts=[Part("Melody", 0, False, notes)],
        tempos=[Tempo(0.0, 100.0)],
        meters=[Meter(0.0, 4, 4)],
        keys=[Key(0.0, 7, "major")],
        title="Sections",
        sections=labelled,
    )


def starts_and_labels(score: Score) -> list[tuple[float, str]]:
    return [(s.start_beats, s.label) for s in score.sections]


def round_trip(score: Score, path: Path) -> Score:
    write_score(score, path)
    return read_score(path)


# ---------------------------------------------------------------------------------------------
# the Score


def test_sections_survive_the_scores_json():
    score = tune()
    d = score.to_dict()
    assert d["sections"] == [[0.0, "A"], [16.0, "B"]]
    back = Score.from_dict(d)
    assert back.sections == score.sections
    assert "sections" not in tune(sections=()).to_dict()  # written only when there are any
    assert Score.from_dict(tune(sections=()).to_dict()).sections == []


def test_an_excerpt_keeps_the_sections_inside_it_moved_to_its_start():
    score = tune(sections=((1, "A"), (3, "A'"), (5, "B"), (7, "C")))
    part = excerpt(score, 3, 6)
    assert starts_and_labels(part) == [(0.0, "A'"), (8.0, "B")]
    with_pickup = excerpt(tune(pickup=True), 5, 8)
    assert starts_and_labels(with_pickup) == [(0.0, "B")]


def test_transposing_keeps_the_labels():
    score = tune()
    assert transpose(score, 3).sections == score.sections


# ---------------------------------------------------------------------------------------------
# the formats


@pytest.mark.parametrize("suffix", FORMATS)
@pytest.mark.parametrize("pickup", [False, True])
def test_sections_round_trip_through_each_format(tmp_path, suffix, pickup):
    score = tune(pickup=pickup)
    back = round_trip(score, tmp_path / f"tune{suffix}")
    assert starts_and_labels(back) == starts_and_labels(score)
    assert [n.start_beats for n in back.parts[0].notes] == [n.start_beats for n in score.parts[0].notes]


@pytest.mark.parametrize("suffix", FORMATS)
def test_a_section_at_beat_0_over_a_pickup_stays_there(tmp_path, suffix):
    score = tune(pickup=True)
    score.sections = [Section(0.0, "Intro"), Section(12.0, "Verse"), Section(28.0, "Chorus")]
    back = round_trip(score, tmp_path / f"tune{suffix}")
    assert starts_and_labels(back) == [(0.0, "Intro"), (12.0, "Verse"), (28.0, "Chorus")]


def test_midi_writes_a_marker_per_section_in_track_0_after_the_pickup_marker(tmp_path):
    path = tmp_path / "tune.mid"
    write_score(tune(pickup=True), path)
    midi = mido.MidiFile(path)
    markers = [(t, m.text) for t, m in _timed(midi.tracks[0]) if m.type == "marker"]
    assert markers == [(0, PICKUP_MARKER), (480, "A"), (480 + 16 * 480, "B")]  # the pickup is one beat
    assert not any(m.type == "marker" for track in midi.tracks[1:] for m in track)


def test_the_pickup_marker_is_no_section(tmp_path):
    back = round_trip(tune(pickup=True, sections=()), tmp_path / "tune.mid")
    assert back.sections == []
    assert back.parts[0].notes[0].start_beats == 3.0  # and it still says that the file opens with a pickup


def test_only_track_0s_markers_are_sections(tmp_path):
    """A marker on another track is not read; a type-0 file's markers are its one track's."""
    for file_type in (1, 0):
        midi = mido.MidiFile(type=file_type, ticks_per_beat=480)
        conductor = [
            mido.MetaMessage("marker", text=" Verse ", time=0),
            mido.MetaMessage("marker", text="Chorus", time=1920),
        ]
        notes = [mido.Message("note_on", note=60, velocity=80, time=0), mido.Message("note_off", note=60, time=3840)]
        if file_type == 1:
            other = [mido.MetaMessage("marker", text="Elsewhere", time=960), *notes]
            other[1] = other[1].copy(time=0)
            midi.tracks += [mido.MidiTrack(conductor), mido.MidiTrack(other)]
        else:
            midi.tracks.append(mido.MidiTrack([*conductor, notes[0].copy(time=0), notes[1].copy(time=1920)]))
        path = tmp_path / f"type{file_type}.mid"
        midi.save(path)
        assert starts_and_labels(read_score(path)) == [(0.0, "Verse"), (4.0, "Chorus")]


def test_musicxml_writes_rehearsal_marks_in_the_first_part_only():
    score = tune()
    score.parts.append(Part("Bass", 32, False, [Note(43, 4.0 * i, 4.0) for i in range(8)]))
    text = musicxml_text(score)
    first, second = text.split('<part id="P2">')
    assert first.count("<rehearsal>A</rehearsal>") == 1 and first.count("<rehearsal>B</rehearsal>") == 1
    assert "<rehearsal>" not in second
    measure_5 = first.split('<measure number="5">')[1].split("</measure>")[0]
    assert measure_5.index("<rehearsal>B</rehearsal>") < measure_5.index("<note")  # at the start of its bar


def test_a_section_inside_a_bar_is_read_from_musicxml_at_the_next_bar_line(tmp_path):
    score = tune()
    score.sections = [Section(0.0, "A"), Section(14.5, "B")]  # B inside bar 4, half a beat into a note
    assert f"<rehearsal>B</rehearsal></direction-type><offset>{DIVISIONS // 2}</offset>" in musicxml_text(score)
    assert starts_and_labels(round_trip(score, tmp_path / "tune.musicxml")) == [(0.0, "A"), (16.0, "B")]
    lines = abc_text(score).splitlines()
    assert lines[lines.index("P:B") - 1].endswith("|") and lines[lines.index("P:B") + 1].startswith("|")


def test_a_folded_repeat_keeps_the_labels_of_both_passes(tmp_path):
    """Bars 1-4 played twice (A, A), then B: the MusicXML writes the repeat once (the second
    pass's label with it) and reads back both."""
    score = tune(sections=((1, "A"), (5, "A"), (9, "B")), bars=12)
    melody = score.parts[0].notes
    score.parts[0].notes = melody[:16] + [Note(n.pitch, n.start_beats + 16, 1.0) for n in melody[:16]] + melody[32:]
    score.repeats = [Repeat(0.0, 16.0)]
    text = musicxml_text(score)
    assert '<repeat direction="backward"/>' in text and text.count("<rehearsal>A</rehearsal>") == 1
    back = round_trip(score, tmp_path / "tune.musicxml")
    assert back.repeats == score.repeats
    assert starts_and_labels(back) == [(0.0, "A"), (16.0, "A"), (32.0, "B")]


def test_abc_writes_p_fields_at_the_bars_the_sections_start_on():
    lines = abc_text(tune(pickup=True)).splitlines()
    k = lines.index("K:G")
    assert lines[k + 1].startswith("D")  # the pickup, then the first bar: no label before the pickup
    assert "P:A" in lines and "P:B" in lines
    assert lines[lines.index("P:A") - 1].endswith("|")  # between two bar lines, as music21 reads them
    assert lines[lines.index("P:A") + 1].startswith("|")
    no_pickup = abc_text(tune()).splitlines()
    assert no_pickup[no_pickup.index("K:G") + 1] == "P:A"  # a section from the first bar: before it


@pytest.mark.parametrize("bar_line", ["|", ""])
def test_abc_p_fields_in_the_body_are_labels_and_the_header_one_is_the_order(tmp_path, bar_line):
    """The header's P:AABB is the order the parts are played in, not a label; a label before a
    pickup into its section's first bar (after a bar line, as the Nottingham tunes have it, or
    inside the bar) starts at that bar."""
    path = tmp_path / "tune.abc"
    path.write_text(
        f"X:1\nT:Parts\nP:AABB\nM:4/4\nL:1/4\nK:C\nP:A\nG|c d e f|g4|c d e f|g3{bar_line}\nP:B\nG|c2 e2|g4|c3|]\n"
    )
    score = read_score(path)
    assert starts_and_labels(score) == [(0.0, "A"), (20.0, "B")]  # bar 0: the pickup's; B: bar 5, after its G


# ---------------------------------------------------------------------------------------------
# the Nottingham tunes and composed pieces


def nottingham(tmp_path: Path, name: str, number: int) -> tuple[Score, str]:
    """Tune X:`number` of a Nottingham file, read from a copy of that tune alone, and its text."""
    source = NOTTINGHAM / name
    if not source.is_file():
        pytest.skip(f"{source} is not here")
    text = source.read_text(encoding="utf-8", errors="replace")
    tunes = ["X:" + t for t in text.split("X:")[1:]]
    found = next(t for t in tunes if t.split("\n", 1)[0][2:].strip() == str(number))
    copy = tmp_path / f"{number}.abc"
    copy.write_text(found)
    return read_score(copy), found


def test_a_nottingham_tunes_part_labels_are_sections_on_bar_lines(tmp_path):
    """'A and D' (jigs X:1): P:A over a one-eighth pickup, P:B after a key change; each part
    played twice (repeats with first and second endings), so the labels read A A B B."""
    score, text = nottingham(tmp_path, "jigs.abc", 1)
    body = text.split("K:", 1)[1]
    assert "\nP:A\n" in body and "\nP:B\n" in body  # what the file says
    assert [s.label for s in score.sections] == ["A", "A", "B", "B"]
    lines = bar_starts(score)
    assert all(any(abs(s.start_beats - b) < 1e-6 for b in lines) for s in score.sections)
    bar = score.meter.bar_beats
    assert [s.start_beats / bar for s in score.sections] == [0, 9, 17, 25]  # bar 0: the pickup's; 8 bars a pass
    back = round_trip(score, tmp_path / "tune.musicxml")  # written with its repeats folded
    assert starts_and_labels(back) == starts_and_labels(score)


@pytest.mark.slow  # it needs the trained tiny_model
def test_a_piece_composed_to_a_plan_carries_its_sections(tiny_model):
    from cadenza.compose.composer import load
    from cadenza.plan.form import parse_form

    score = load(str(tiny_model)).generate(plan=parse_form("A2 B2 A'2"), seed=1)
    bar = score.meter.bar_beats
    assert starts_and_labels(score) == [(0.0, "A"), (2 * bar, "B"), (4 * bar, "A'")]


# ---------------------------------------------------------------------------------------------


def _timed(track) -> list:
    """(tick, message) of a mido track."""
    out, now = [], 0
    for message in track:
        now += message.time
        out.append((now, message))
    return out


def test_a_sections_dynamics_read_back_from_musicxml_where_its_label_moves_to_a_bar_line(tmp_path):
    notes = [Note(72, float(i), 1.0, 80) for i in range(16)]
    score = Score(parts=[Part("", notes=notes)], sections=[Section(0.0, "A", "p"), Section(6.5, "B", "f")])
    write_score(score, tmp_path / "off.musicxml")
    back = read_score(tmp_path / "off.musicxml")
    assert [(s.start_beats, s.label, s.dynamics) for s in back.sections] == [(0.0, "A", "p"), (8.0, "B", "f")]


def test_a_sections_dynamics_that_is_no_marking_is_not_printed():
    score = Score(parts=[Part("", notes=[Note(72, 0.0, 4.0)])], sections=[Section(0.0, "A", "loud")])
    assert "<dynamics>" not in musicxml_text(score)
    assert Score.from_dict({**score.to_dict(), "sections": [[0.0, "A", None]]}).sections == [Section(0.0, "A")]
