"""cadenza.io.musicxml: the MusicXML writer. Every file is read back through cadenza's own reader
(music21) and must give the notes (pitch, start, length per part), meters, keys and tempos
written; and its notation must add up: each note's written value (type, dots, tuplet ratio) is its
duration, every voice fills its measure, ties and tuplet brackets open and close."""

import random
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from cadenza.io import read_score, write_score
from cadenza.io.musicxml import musicxml_text
from cadenza.score import Dynamic, Key, Meter, Note, Part, Repeat, Score, Tempo

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TYPE_QUARTERS = {
    "whole": 4,
    "half": 2,
    "quarter": 1,
    "eighth": 1 / 2,
    "16th": 1 / 4,
    "32nd": 1 / 8,
    "64th": 1 / 16,
    "128th": 1 / 32,
}


def note_tuples(part: Part) -> list[tuple[int, float, float]]:
    return sorted((n.pitch, round(n.start_beats, 6), round(n.duration_beats, 6)) for n in part.notes)


def round_trip(score: Score, path: Path, divisions: int = 24) -> Score:
    """Write, check the notation, read back, and compare with what was written."""
    write_score(score, path)
    check_notation(path, divisions)
    back = read_score(path)
    parts = [p for p in score.parts if p.notes]
    assert [(p.name, p.program, p.is_drum) for p in back.parts] == [(p.name, p.program, p.is_drum) for p in parts]
    for original, read in zip(parts, back.parts):
        assert note_tuples(read) == note_tuples(original), original.name
        assert sorted((n.pitch, round(n.start_beats, 6), n.velocity) for n in read.notes) == sorted(
            (n.pitch, round(n.start_beats, 6), n.velocity) for n in original.notes
        ), original.name
    assert back.meters == score.meters
    assert back.keys == score.keys
    assert back.tempos == score.tempos
    return back


def check_notation(path: Path, divisions: int = 24) -> None:
    """What the round trip cannot see (music21 reads durations, not note values)."""
    root = ET.parse(path).getroot()
    assert int(root.find(".//divisions").text) == divisions
    numbers = None
    for part in root.findall("part"):
        measures = part.findall("measure")
        assert numbers is None or [m.get("number") for m in measures] == numbers  # every part has every bar
        numbers = [m.get("number") for m in measures]
        open_ties: dict[tuple, int] = {}
        for measure in measures:
            lengths: dict[str, int] = {}
            position, bar_length = 0, None
            tuplets: dict[str, int] = {}
            in_group: dict[str, tuple[int, int]] = {}  # ticks so far of each voice's open bracket, its normal notes
            for el in measure:
                if el.tag == "backup":
                    bar_length = position if bar_length is None else bar_length
                    assert int(el.find("duration").text) == position
                    position = 0
                    continue
                if el.tag != "note":
                    continue
                if el.find("grace") is not None:  # in no time, before a note of its voice
                    assert el.find("duration") is None and el.findtext("type") in ("eighth", "16th")
                    continue
                duration = int(el.find("duration").text)
                voice = el.find("voice").text
                kind = el.find("type")
                if kind is None:  # only a whole-bar rest has no type
                    assert el.find("rest").get("measure") == "yes"
                else:
                    value = TYPE_QUARTERS[kind.text] * divisions * (2 - 0.5 ** len(el.findall("dot")))
                    modification = el.find("time-modification")
                    if modification is not None:
                        actual, normal = (
                            int(modification.findtext("actual-notes")),
                            int(modification.findtext("normal-notes")),
                        )
                        value = value * normal / actual
                    assert value == duration, ET.tostring(el)
                marks = [mark.get("type") for mark in el.findall("notations/tuplet")]
                for mark in marks:
                    tuplets[voice] = tuplets.get(voice, 0) + (1 if mark == "start" else -1)
                    assert tuplets[voice] in (0, 1)
                if "start" in marks:
                    in_group[voice] = (0, int(el.findtext("time-modification/normal-notes")))
                if voice in in_group and el.find("chord") is None:
                    assert el.find("time-modification") is not None, ET.tostring(el)
                    in_group[voice] = (in_group[voice][0] + duration, in_group[voice][1])
                if "stop" in marks:  # a group as long as its normal notes: 3:2 triplet 8ths a quarter, 5:4 16ths too
                    total, normal = in_group.pop(voice)
                    assert total / normal / divisions in TYPE_QUARTERS.values(), (
                        f"bar {measure.get('number')}: a bracket as long as no {normal} equal notes"
                    )
                pitch = el.find("pitch")
                if pitch is not None:
                    key = (pitch.findtext("step"), pitch.findtext("alter"), pitch.findtext("octave"), voice)
                    types = [t.get("type") for t in el.findall("tie")]
                    if "stop" in types:
                        assert open_ties.pop(key, 0), f"tie stop without start in bar {measure.get('number')}"
                    if "start" in types:
                        open_ties[key] = 1
                if el.find("chord") is None:
                    position += duration
                    lengths[voice] = lengths.get(voice, 0) + duration
            bar_length = position if bar_length is None else bar_length
            assert set(lengths.values()) == {bar_length}, f"bar {measure.get('number')}: voices {lengths}"
            assert not any(tuplets.values())
        assert not open_ties


# ---------------------------------------------------------------------------------------------
# what the commands write


@pytest.mark.parametrize(
    "name",
    [
        "chorale-d-major-seed7",
        "chorale-a-minor-seed3",
        "folk-jig-g-major-seed1",
        "folk-reel-d-major-seed2",
        "harmonized-roland-und-godelinde-seed1",
    ],
)
def test_shipped_examples_survive_a_round_trip(tmp_path, name):
    score = read_score(EXAMPLES / f"{name}.mid")
    back = round_trip(score, tmp_path / f"{name}.musicxml")
    assert back.title == name


def test_compound_meter_tempo_is_marked_in_dotted_quarters_when_exact(tmp_path):
    jig = read_score(EXAMPLES / "folk-jig-g-major-seed1.mid")
    assert jig.meter == Meter(0.0, 6, 8) and jig.tempo_bpm == 165
    assert "<beat-unit>quarter</beat-unit><beat-unit-dot/><per-minute>110</per-minute>" in musicxml_text(jig)
    jig.tempos = [Tempo(0.0, 110.0)]
    assert "<beat-unit>quarter</beat-unit><per-minute>110</per-minute>" in musicxml_text(jig)  # not 73.333
    round_trip(jig, tmp_path / "jig.musicxml")


def test_cut_time_tempo_is_marked_in_halves(tmp_path):
    reel = read_score(EXAMPLES / "folk-reel-d-major-seed2.mid")
    reel.meters = [Meter(0.0, 2, 2)]
    reel.tempos = [Tempo(0.0, 200.0)]
    assert "<beat-unit>half</beat-unit><per-minute>100</per-minute>" in musicxml_text(reel)
    assert '<sound tempo="200"/>' in musicxml_text(reel)  # playback stays in quarters
    assert round_trip(reel, tmp_path / "reel.musicxml").tempos == [Tempo(0.0, 200.0)]


def test_the_composer_is_written_as_a_creator_and_read_back(tmp_path):
    score = odd_score()
    score.composer = 'J. S. Bach & "Cadenza" <chorales>'
    text = musicxml_text(score)
    root = ET.fromstring(text.split("\n", 2)[2])  # after the XML declaration and DOCTYPE
    identification = root.find("identification")
    assert [child.tag for child in identification] == ["creator", "encoding"]  # MusicXML 3.1's order
    assert identification.find("creator").get("type") == "composer"
    assert identification.find("creator").text == 'J. S. Bach & "Cadenza" <chorales>'
    assert round_trip(score, tmp_path / "composer.musicxml").composer == 'J. S. Bach & "Cadenza" <chorales>'


def test_a_score_without_a_composer_names_none(tmp_path):
    score = odd_score()
    assert "<creator" not in musicxml_text(score)
    assert read_score(write_score(score, tmp_path / "anonymous.musicxml")).composer == ""


def test_every_midi_pitch_comes_back(tmp_path):
    """MIDI notes 0 to 11 lie below MusicXML's octave 0: written as octave -1, as MuseScore writes
    them, they had been refused by our own reader (a tiny model's continuation wrote one)."""
    notes = [Note(p, float(i), 1.0) for i, p in enumerate([0, 5, 11, 12, 60, 127])]
    back = round_trip(Score(parts=[Part("x", 0, False, notes)], meters=[Meter(0.0, 4, 4)]), tmp_path / "all.musicxml")
    assert [n.pitch for n in back.notes()] == [0, 5, 11, 12, 60, 127]


def test_generated_chorale_keeps_fermatas_and_title(tmp_path):
    from cadenza.compose import composer

    c = composer.load("chorales")
    score = c.generate(bars=8, key=Key(0.0, 2, "major"), meter=Meter(0.0, 4, 4), tempo_bpm=72, seed=7)
    back = round_trip(score, tmp_path / "chorale.musicxml")
    assert back.title == score.title
    assert score.composer == "Cadenza (chorales model)"
    assert back.composer == score.composer
    assert back.fermatas_beats == sorted(set(score.fermatas_beats))
    text = (tmp_path / "chorale.musicxml").read_text()
    assert "<clef-octave-change>-1</clef-octave-change>" in text  # the tenor reads in treble-8
    assert text.count("<fifths>2</fifths><mode>major</mode>") == 4


# ---------------------------------------------------------------------------------------------
# hand-made scores: odd lengths, ties over bar lines, tuplets, voices, changes


def odd_score() -> Score:
    """Lengths that are no single note value, notes tied over one and two bar lines, triplets
    and 1/12-beat notes, chords, overlapping notes (voices), meter, key and tempo changes
    (one in the middle of a bar), and a part that rests for whole bars."""
    melody = [
        Note(67, 0, 5 / 4),
        Note(69, 5 / 4, 7 / 4),
        Note(71, 3, 13 / 12),
        Note(72, 3 + 13 / 12, 11 / 12),
        Note(74, 5, 1 / 3),
        Note(72, 5 + 1 / 3, 1 / 3),
        Note(71, 5 + 2 / 3, 1 / 3),
        Note(69, 6, 1 / 12),
        Note(67, 6 + 1 / 12, 1 / 6),
        Note(66, 6.25, 0.75),
        Note(67, 7, 9),
        Note(70, 16, 2.5),
        Note(62, 18.5, 1.5),
    ]
    chords = (
        [Note(p, 0, 3) for p in (55, 59, 62)]
        + [Note(p, 3, 1.5) for p in (54, 57, 60)]
        + [Note(55, 4.5, 6), Note(59, 5, 1), Note(60, 6, 0.5)]
    )
    bass = [Note(43, 0, 7), Note(38, 13, 0.75), Note(36, 13.75, 4.25)]
    return Score(
        parts=[Part("Flute", 73, False, melody), Part("Piano", 0, False, chords), Part("Cello", 42, False, bass)],
        tempos=[Tempo(0.0, 96.0), Tempo(5.5, 80.5)],
        meters=[Meter(0.0, 3, 4), Meter(6.0, 4, 4), Meter(14.0, 6, 8)],
        keys=[Key(0.0, 7, "major"), Key(10.0, 4, "minor"), Key(14.0, 5, "major")],
        title="Odd lengths & <ties>",
    )


def test_odd_lengths_ties_tuplets_voices_and_changes(tmp_path):
    back = round_trip(odd_score(), tmp_path / "odd.musicxml")
    assert back.title == "Odd lengths & <ties>"
    assert min(n.start_beats for n in back.notes()) == 0.0


def test_dotted_rhythms_on_the_32nd_grid_are_no_triplets(tmp_path):
    """A double-dotted 8th and a 32nd (as folk tunes are written), a dotted 16th and a 32nd, a run
    of 32nds: plain note values, no 3:2 groups; a 1/24-beat note still finds its triplet 64th."""
    rhythm = [7 / 8, 1 / 8, 3 / 8, 1 / 8, 1 / 2, 1 / 8, 1 / 8, 1 / 8, 1 / 8, 1 / 2, 1, 7 / 4, 1 / 4, 2]
    notes, t = [], 0.0
    for i, length in enumerate(rhythm):
        notes.append(Note(60 + i % 7, t, length))
        t += length
    score = Score(parts=[Part("Fiddle", 40, False, notes)], meters=[Meter(0.0, 4, 4)], keys=[Key(0.0, 7, "minor")])
    round_trip(score, tmp_path / "dotted.musicxml")
    root = ET.fromstring(musicxml_text(score).split("\n", 2)[2])
    written = [(n.findtext("type"), len(n.findall("dot"))) for n in root.iter("note") if n.find("pitch") is not None]
    assert written == [
        ("eighth", 2),
        ("32nd", 0),
        ("16th", 1),
        ("32nd", 0),
        ("eighth", 0),
        *[("32nd", 0)] * 4,
        ("eighth", 0),
        ("quarter", 0),
        ("quarter", 2),
        ("16th", 0),
        ("half", 0),
    ]
    assert root.find(".//time-modification") is None
    fine = Score(parts=[Part("Fiddle", 40, False, [Note(60, 0, 1 / 24), Note(62, 1 / 24, 23 / 24), Note(64, 1, 3)])])
    round_trip(fine, tmp_path / "fine.musicxml")
    assert "<type>64th</type>" in musicxml_text(fine)


def test_quintuplets_septuplets_and_64ths_keep_their_times(tmp_path):
    """A score read from a file with quintuplets, septuplets, 64ths and 128ths is written on the
    grid they ask (here 1/5, 1/7 and 1/32 of a quarter: 24 x 5 x 7 x 4 divisions) and reads back
    exactly, under 5:4 and 7:4 brackets; a score of ordinary values keeps 24 divisions."""
    notes = [Note(60 + i, i / 5, 1 / 5) for i in range(5)]  # quintuplet 16ths
    notes += [Note(67 - i, 1 + i / 7, 1 / 7) for i in range(7)]  # septuplet 16ths
    notes += [Note(72, 2 + i / 16, 1 / 16) for i in range(8)] + [Note(74, 2.5 + i / 32, 1 / 32) for i in range(16)]
    notes += [Note(64, 3, 3 / 5), Note(65, 3.6, 2 / 5), Note(60, 4, 2 / 7), Note(62, 4 + 2 / 7, 5 / 7)]
    notes += [Note(60, 5, 3)]
    score = Score(parts=[Part("Piano", 0, False, notes)], meters=[Meter(0.0, 4, 4)])
    round_trip(score, tmp_path / "tuplets.musicxml", divisions=24 * 5 * 7 * 4)
    root = ET.fromstring(musicxml_text(score).split("\n", 2)[2])
    ratios = [
        (n.findtext("time-modification/actual-notes"), n.findtext("time-modification/normal-notes"), n.findtext("type"))
        for n in root.iter("note")
        if n.find("pitch") is not None
    ]
    assert ratios[:12] == [("5", "4", "16th")] * 5 + [("7", "4", "16th")] * 7
    assert ratios[12:36] == [(None, None, "64th")] * 8 + [(None, None, "128th")] * 16
    assert ratios[36:38] == [("5", "4", "eighth")] * 2  # a dotted 8th and an 8th, five 16ths in all
    assert ratios[38:41] == [("7", "4", "eighth"), ("7", "4", "quarter"), ("7", "4", "16th")]  # 2 + (4 + 1) 16ths
    plain = Score(parts=[Part("Piano", 0, False, [Note(60, 0, 1 / 3), Note(62, 1 / 3, 2 / 3), Note(64, 1, 1)])])
    assert "<divisions>24</divisions>" in musicxml_text(plain)


def test_a_run_of_tenths_from_inside_a_beat_reads_back(tmp_path):
    """32nds five to an 8th that begin a 20th into the beat (as in Glinka's The Lark): the beat
    is one 20:16 group, every note's value in it exact."""
    notes = [Note(61 + i, 0.35 + i / 10, 1 / 10) for i in range(4)] + [Note(60, 0, 0.35), Note(72, 0.75, 3.25)]
    score = Score(parts=[Part("Piano", 0, False, notes)], meters=[Meter(0.0, 4, 4)])
    round_trip(score, tmp_path / "tenths.musicxml", divisions=120)


def test_tuplets_in_part_of_a_beat_are_bracketed_as_players_read_them(tmp_path):
    """Five notes in the last dotted 8th of a 7/16 bar are 5:3 16ths; a pickup of a 16th and
    septuplet 32nds is a plain 16th and a 7:4 group; an 8th and five 32nds a plain 8th and a
    5:4 group. Each reads back exactly."""

    def groups(notes, numerator, denominator, name):
        score = Score(parts=[Part("Piano", 0, False, notes)], meters=[Meter(0.0, numerator, denominator)])
        round_trip(score, tmp_path / f"{name}.musicxml", divisions=_grid_of(score.parts).divisions)
        root = ET.fromstring(musicxml_text(score).split("\n", 2)[2])
        return [
            (
                n.findtext("type"),
                n.findtext("time-modification/actual-notes"),
                n.findtext("time-modification/normal-notes"),
            )
            for n in root.iter("note")
            if n.find("pitch") is not None
        ]

    from cadenza.io.musicxml import _grid_of

    seven = [Note(60, 0, 1)] + [Note(62 + i, 1 + i * 3 / 20, 3 / 20) for i in range(5)] + [Note(72, 1.75, 1.75)]
    assert groups(seven, 7, 16, "seven")[1:6] == [("16th", "5", "3")] * 5
    pickup = [Note(67, 3.25, 0.25)] + [Note(60 + i, 3.5 + i / 14, 1 / 14) for i in range(7)] + [Note(72, 4, 4)]
    assert groups(pickup, 4, 4, "pickup")[:8] == [("16th", None, None)] + [("32nd", "7", "4")] * 7
    eighth = [Note(60, 0, 0.5)] + [Note(62 + i, 0.5 + i / 10, 1 / 10) for i in range(5)] + [Note(72, 1, 3)]
    assert groups(eighth, 4, 4, "eighth")[:6] == [("eighth", None, None)] + [("32nd", "5", "4")] * 5


def test_odd_values_say_exactly_how_long_they_are():
    """Where no tuplet writes a length (a bar cut at an odd place), each value written for it,
    type, dots and ratio, is exactly as long as its duration, on any grid."""
    from cadenza.io.musicxml import _Grid, _split_length

    for divisions in (24, 120, 168, 3360):
        for ticks in range(1, 4 * divisions + 1):
            values = _split_length(ticks, _Grid(divisions))
            assert sum(v[0] for v in values) == ticks
            for length, kind, dots, ratio in values:
                actual, normal = ratio or (1, 1)
                written = TYPE_QUARTERS[kind] * (2 - 0.5**dots) * normal / actual
                assert written * divisions == pytest.approx(length), (divisions, ticks, kind, dots, ratio)


def test_a_performance_off_any_notated_grid_is_written_on_24_divisions(tmp_path):
    """Times no tuplet of note values makes (a performance read from MIDI, 1/480 of a quarter)
    are rounded to the 1/24 grid, as ever, rather than written on a grid too fine to read; a
    quintuplet in the same score does not change that."""
    notes = [Note(60, 0, 1 / 5), Note(62, 1 / 5, 4 / 5)] + [
        Note(64 + i, 1 + i * 121 / 480, 121 / 480) for i in range(4)
    ]
    score = Score(parts=[Part("Piano", 0, False, notes)], meters=[Meter(0.0, 4, 4)])
    text = musicxml_text(score)
    assert "<divisions>24</divisions>" in text
    (tmp_path / "performed.musicxml").write_text(text)
    check_notation(tmp_path / "performed.musicxml")
    back = read_score(tmp_path / "performed.musicxml")
    assert [round(n.start_beats * 24, 6) for n in back.parts[0].notes] == [0, 5, 24, 30, 36, 42]


def test_a_syncopated_note_is_one_value_only_when_a_player_reads_it_so(tmp_path):
    """Off the beat, a quarter or a dotted quarter stays one note; a double-dotted value, or a
    dotted 16th, that would cross the beat from inside it is tied at the beat instead."""

    def written(notes):
        score = Score(parts=[Part("Line", 0, False, notes)], meters=[Meter(0.0, 4, 4)])
        round_trip(score, tmp_path / f"syncopated-{len(list(tmp_path.iterdir()))}.musicxml")
        root = ET.fromstring(musicxml_text(score).split("\n", 2)[2])
        return [(n.findtext("type"), len(n.findall("dot"))) for n in root.iter("note") if n.find("pitch") is not None]

    assert written([Note(60, 0, 0.5), Note(62, 0.5, 1), Note(64, 1.5, 0.5)]) == [
        ("eighth", 0),
        ("quarter", 0),
        ("eighth", 0),
    ]
    assert written([Note(60, 0, 0.5), Note(62, 0.5, 1.5), Note(64, 2, 2)])[1] == ("quarter", 1)
    assert written([Note(60, 0, 0.5), Note(62, 0.5, 3.5)])[1:] == [("eighth", 0), ("half", 1)]
    assert written([Note(60, 0, 0.25), Note(62, 0.25, 7 / 8), Note(64, 1.125, 0.875)])[1:3] == [
        ("eighth", 1),
        ("32nd", 0),
    ]


def test_piece_starting_on_beat_one_has_no_pickup_and_a_leading_rest_keeps_its_beat(tmp_path):
    on_one = Score(parts=[Part("Melody", 0, False, [Note(60, 0, 1), Note(62, 1, 3), Note(64, 4, 4)])])
    round_trip(on_one, tmp_path / "on_one.musicxml")
    assert 'implicit="yes"' not in musicxml_text(on_one)
    # the first note a third of a beat in: no pickup (not on a 16th), a full bar with a rest
    late = Score(parts=[Part("Melody", 0, False, [Note(60, 1 / 3, 2 / 3), Note(62, 1, 3), Note(64, 4, 4)])])
    round_trip(late, tmp_path / "late.musicxml")
    assert 'implicit="yes"' not in musicxml_text(late)


def test_pickup_bar_is_written_as_an_anacrusis(tmp_path):
    score = Score(
        parts=[Part("Soprano", 0, False, [Note(67, 2.5, 0.5), Note(72, 3, 3), Note(71, 6, 3)])],
        meters=[Meter(0.0, 3, 4)],
        keys=[Key(0.0, 0, "major")],
    )
    round_trip(score, tmp_path / "pickup.musicxml")
    text = musicxml_text(score)
    assert '<measure number="0" implicit="yes">' in text and '<measure number="1">' in text


@pytest.mark.parametrize("meter", ["2/2", "5/8", "3/8", "12/8", "7/4"])
def test_other_meters(tmp_path, meter):
    numerator, denominator = map(int, meter.split("/"))
    rng = random.Random(numerator * 100 + denominator)
    notes, t = [], 0.0
    while t < 24:
        length = rng.choice([0.25, 0.5, 0.75, 1, 1.5, 2, 3, 1 / 3, 2 / 3])
        notes.append(Note(rng.randrange(60, 80), t, length))
        t += length + rng.choice([0, 0, 0.5])
    score = Score(parts=[Part("Line", 0, False, notes)], meters=[Meter(0.0, numerator, denominator)])
    round_trip(score, tmp_path / "meter.musicxml")


def test_dense_overlapping_performance_like_part(tmp_path):
    """Random onsets and lengths on the 1/12-beat grid, many overlapping (a piano performance
    quantized): every note comes back, through as many voices as it takes."""
    rng = random.Random(7)
    notes = [
        Note(rng.randrange(30, 100), rng.randrange(0, 16 * 12) / 12, rng.randrange(1, 30) / 12, rng.randrange(20, 127))
        for _ in range(300)
    ]
    # a key cannot sound twice at once: the reader joins tied notes by pitch
    notes = [
        n
        for i, n in enumerate(notes)
        if not any(
            m.pitch == n.pitch and m.start_beats < n.end_beats and n.start_beats < m.end_beats for m in notes[:i]
        )
    ]
    score = Score(parts=[Part("Piano", 0, False, notes)], tempos=[Tempo(0.0, 100.0)])
    round_trip(score, tmp_path / "dense.musicxml")


def test_only_the_passage_that_needs_five_voices_is_chordified(tmp_path):
    """A left hand of a held bass under a moving line (bars 1-2, two voices), then a bar where
    five notes overlap at once, each starting a 16th after the last (bar 3): bar 3 is written as
    tied chords in one voice, and bars 1-2 keep their two voices, the bass untied."""
    two = [Note(36, 0, 4), Note(36, 4, 4)] + [Note(48 + i % 5, i, 1) for i in range(8)]
    five = [Note(50 + 3 * k, 8 + k / 4, 3 - k / 4) for k in range(5)]
    score = Score(parts=[Part("Piano", 0, False, two + five)], meters=[Meter(0.0, 4, 4)])
    round_trip(score, tmp_path / "passages.musicxml")
    root = ET.fromstring(musicxml_text(score).split("\n", 2)[2])
    measures = root.findall("part/measure")
    for measure in measures[:2]:
        assert {n.findtext("voice") for n in measure.iter("note")} == {"1", "2"}
        assert measure.find("note/tie") is None  # nothing tied within bars 1-2
    assert {n.findtext("voice") for n in measures[2].iter("note")} == {"1"}
    assert measures[2].find("note/tie") is not None  # the chords of bar 3, tied on


def test_a_key_struck_again_inside_a_chordified_passage_keeps_its_ties_whole(tmp_path):
    """A long C4 with a short C4 struck inside it, where five notes sound at once (one voice of
    tied chords): every tie that starts stops, and C4 comes back as the long note, the short one,
    and the long one struck again after it."""
    notes = [Note(60, 0, 4), Note(60, 1, 1), Note(64, 0, 4), Note(67, 0.5, 3), Note(70, 1, 2), Note(72, 1.5, 1)]
    score = Score(parts=[Part("Piano", 0, False, notes)], meters=[Meter(0.0, 4, 4)])
    write_score(score, tmp_path / "again.musicxml")
    check_notation(tmp_path / "again.musicxml")
    back = read_score(tmp_path / "again.musicxml")
    assert sorted((n.start_beats, n.duration_beats) for n in back.notes() if n.pitch == 60) == [(0, 1), (1, 1), (2, 2)]
    assert note_tuples(Part("", 0, False, [n for n in back.notes() if n.pitch != 60])) == note_tuples(
        Part("", 0, False, [n for n in notes if n.pitch != 60])
    )


def test_spelling_follows_the_key_and_the_line(tmp_path):
    def steps(key, pitches):
        score = Score(parts=[Part("", 0, False, [Note(p, i, 1) for i, p in enumerate(pitches)])], keys=[key])
        root = ET.fromstring(musicxml_text(score).split("\n", 2)[2])
        return [
            n.findtext("pitch/step") + {"1": "#", "-1": "b"}.get(n.findtext("pitch/alter"), "")
            for n in root.iter("note")
            if n.find("pitch") is not None
        ]

    assert steps(Key(0.0, 9, "minor"), [68, 69, 70, 69]) == ["G#", "A", "Bb", "A"]
    assert steps(Key(0.0, 2, "minor"), [61, 62, 58, 57]) == ["C#", "D", "Bb", "A"]
    assert steps(Key(0.0, 5, "major"), [63, 62, 63, 64]) == ["Eb", "D", "D#", "E"]
    assert steps(Key(0.0, 6, "major"), [65, 70, 61]) == ["E#", "A#", "C#"]


def test_output_is_deterministic_and_escapes_names(tmp_path):
    score = odd_score()
    score.parts[0].name = 'Flute "1" & <friends>'
    assert musicxml_text(score) == musicxml_text(score)
    back = read_score(write_score(score, tmp_path / "names.musicxml"))
    assert back.parts[0].name == 'Flute "1" & <friends>'


def test_changes_inside_a_bar(tmp_path):
    """A key change on the third beat, a tempo change inside a note, and a meter change that
    cuts a bar short: each comes back at its beat."""
    notes = [Note(60, 0, 3), Note(64, 3, 2), Note(66, 5, 1), Note(67, 6, 3)]
    score = Score(
        parts=[Part("Melody", 0, False, notes)],
        tempos=[Tempo(0.0, 100.0), Tempo(3.5, 60.0)],
        meters=[Meter(0.0, 4, 4), Meter(5.0, 3, 4)],
        keys=[Key(0.0, 0, "major"), Key(2.0, 7, "major")],
    )
    round_trip(score, tmp_path / "changes.musicxml")
    text = musicxml_text(score)
    assert text.count("<time>") == 2 and text.count("<key>") == 2


def test_parts_without_notes_and_drums(tmp_path):
    drums = Part("Drums", 0, True, [Note(36, 0, 0.25, 110), Note(38, 1, 0.25, 100), Note(42, 1.5, 0.25, 70)])
    score = Score(parts=[Part("Silent", 40, False, []), drums])
    back = round_trip(score, tmp_path / "drums.musicxml")
    assert [p.name for p in back.parts] == ["Drums"]
    assert "<midi-channel>10</midi-channel>" in musicxml_text(score)


def test_writing_musicxml_does_not_import_music21(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys; from cadenza.io import write_score; from cadenza.score import Note, Part, Score; "
        f"write_score(Score(parts=[Part('p', 0, False, [Note(60, 0, 1)])]), {str(tmp_path / 'x.musicxml')!r}); "
        "print('music21' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False"


# ---------------------------------------------------------------------------------------------
# issue 19: spelling by key and function, pickups, rests


@pytest.mark.slow
def test_a_harmonized_pickup_stays_a_pickup(tiny_harmonizer):
    """The lower voices start with the melody: a tune that opens with a pickup is harmonized
    with a pickup bar (bar 0, implicit), not with chords padding the bar before it."""
    from dataclasses import replace

    from cadenza.compose import harmonizer as assistant
    from conftest import melody

    tune = melody()
    tune.parts[0].notes = [replace(n, start_beats=n.start_beats + 3) for n in tune.parts[0].notes]
    h = assistant.load(str(tiny_harmonizer))
    for seed in range(3):
        [r] = h.harmonize(tune, seed=seed, iterations=4)
        assert min(n.start_beats for n in r.score.notes()) == 3.0
        assert '<measure number="0" implicit="yes">' in musicxml_text(r.score)


def written_notes(score: Score) -> list[ET.Element]:
    root = ET.fromstring(musicxml_text(score).split("\n", 2)[2])
    return list(root.iter("note"))


def name_of(note: ET.Element) -> str:
    return note.findtext("pitch/step") + {"1": "#", "-1": "b"}.get(note.findtext("pitch/alter") or "", "")


def test_the_key_is_written_as_spelled(tmp_path):
    from cadenza.score import parse_key

    scale = [71, 73, 75, 76, 78, 80, 82, 83]
    score = Score(
        parts=[Part("Flute", 73, False, [Note(p, i, 1) for i, p in enumerate(scale)])], keys=[parse_key("Cb major")]
    )
    text = musicxml_text(score)
    assert "<fifths>-7</fifths><mode>major</mode>" in text
    assert [name_of(n) for n in written_notes(score)] == ["Cb", "Db", "Eb", "Fb", "Gb", "Ab", "Bb", "Cb"]
    assert "<accidental>" not in text  # the signature gives every flat
    score.keys = [parse_key("C# major")]
    assert "<fifths>7</fifths>" in musicxml_text(score)
    round_trip(score, tmp_path / "c-sharp.musicxml")


def test_chromatic_notes_in_a_sharp_key_are_sharps_and_follow_their_line():
    """In D major: D# rising to E, A# rising to B (not Eb, Bb), A# against an F# major chord
    even when it leaps away, Eb falling to D, Bb falling to A."""
    from cadenza.score import parse_key

    melody = [62, 63, 64, 71, 70, 71, 70, 66, 64, 63, 62, 71, 70, 69]
    under = [Note(54, 6, 1), Note(61, 6, 1)]  # F# and C# under the A# at beat 6
    score = Score(
        parts=[Part("Soprano", 0, False, [Note(p, i, 1) for i, p in enumerate(melody)]), Part("Alto", 0, False, under)],
        keys=[parse_key("D major")],
    )
    soprano = [name_of(n) for n in written_notes(score) if n.find("pitch") is not None][: len(melody)]
    assert soprano == ["D", "D#", "E", "B", "A#", "B", "A#", "F#", "E", "Eb", "D", "B", "Bb", "A"]


def g_sharp_major_passage() -> Score:
    """C# minor's signature over four bars of G# major (I IV V I, whole beats), with a melody
    whose G (pitch class 7) leaps away over G# major's chord, no D# major chord under it."""
    bar = [(56, 60, 63), (61, 65, 68), (63, 67, 70), (56, 60, 63)]
    chords = [Note(p, 4 * b + i, 1) for b in range(4) for i, chord in enumerate(bar) for p in chord]
    melody = [Note(75, 0, 4), Note(72, 4, 4), Note(79, 8, 1), Note(75, 9, 3), Note(80, 12, 4)]
    return Score(
        parts=[Part("Soprano", 0, False, melody), Part("Organ", 19, False, chords)],
        keys=[Key(0.0, 1, "minor")],
    )


def test_a_passage_in_another_key_is_spelled_in_it_under_the_same_signature():
    """The dominant's key of C# minor, G# major, reached without a new signature (as a chorale
    modulates): its leading tone is Fx, not G, even where it leaps away."""
    score = g_sharp_major_passage()
    text = musicxml_text(score)
    assert text.count("<fifths>4</fifths>") == 2  # the signature stays (one per part)
    written = [name_of(n) + (n.findtext("pitch/alter") == "2") * "x" for n in written_notes(score)]
    assert written[2] == "Fx", written[:5]


def test_a_passage_in_c_flat_major_under_c_minor_is_spelled_with_flats():
    """Four bars of Cb major (I IV V I) under C minor's signature: Cb, Fb, Gb and Db, as Schubert
    writes them (his op. 90/1, bars 48-72), not B major's B, E, F# and C#."""
    bar = [(59, 63, 66), (64, 68, 71), (66, 70, 73), (59, 63, 66)]
    chords = [Note(p, 4 * b + i, 1) for b in range(4) for i, chord in enumerate(bar) for p in chord]
    score = Score(parts=[Part("Organ", 19, False, chords)], keys=[Key(0.0, 0, "minor")])
    first_bars = ET.fromstring(musicxml_text(score)).findall("part/measure")[:3]  # the last beat's reach is thin
    names = {name_of(n) for m in first_bars for n in m.findall("note") if n.find("pitch") is not None}
    assert {"Cb", "Fb", "Gb", "Db"} <= names and not names & {"B", "E", "F#", "C#"}, names


def turning_figure() -> Score:
    """C# minor: G#3 Fx4 G#4 G4 in one bar, the second G leaping back down to G#3 (the left hand
    of `generate --model piano --form "A4 B4" --keys "c# G#" --meter 4/4 --seed 1`, bar 4)."""
    line = [Note(p, i, 1) for i, p in enumerate((56, 67, 68, 67, 56))]
    return Score(parts=[Part("Piano", 0, False, line)], keys=[Key(0.0, 1, "minor")])


def test_a_figure_keeps_one_spelling_of_a_note_within_its_bar():
    """The G that steps up to G# is Fx; the same note later in the bar, leaping away, had been
    written G natural: the bar read Fx, then G natural, for one note."""
    pitched = [n for n in written_notes(turning_figure()) if n.find("pitch") is not None]
    assert [name_of(n) + (n.findtext("pitch/alter") == "2") * "x" for n in pitched] == ["G#", "Fx", "G#", "Fx", "G#"]


def test_a_key_change_inside_a_bar_forgets_the_spellings_before_it():
    """Eb in C major, then A major from beat 3: the same pitch there is D#, not an Eb kept on."""
    line = [Note(p, i, 1) for i, p in enumerate((63, 60, 63, 69))]
    score = Score(parts=[Part("Flute", 73, False, line)], keys=[Key(0.0, 0, "major"), Key(2.0, 9, "major")])
    pitched = [n for n in written_notes(score) if n.find("pitch") is not None]
    assert [name_of(n) for n in pitched] == ["Eb", "C", "D#", "A"]


def test_rests_of_every_voice_are_shown_and_typed_as_the_meter_asks(tmp_path):
    """No hidden rests (a bar must add up on the page); no rest hides the middle of a 4/4 bar
    or stands dotted for beats of a simple meter; in 6/8 a note shows the bar's second beat."""
    two_voices = [Note(72, 0, 4), Note(60, 1, 1), Note(62, 2, 1)]  # the lower voice rests on beats 1 and 4
    score = Score(parts=[Part("Piano", 0, False, two_voices)])
    round_trip(score, tmp_path / "voices.musicxml")
    assert 'print-object="no"' not in musicxml_text(score)

    def rests(notes, meter):
        score = Score(parts=[Part("Line", 0, False, notes)], meters=[meter])
        round_trip(score, tmp_path / f"rests{len(list(tmp_path.iterdir()))}.musicxml")
        return [
            (n.findtext("type") + "." * len(n.findall("dot")), n.find("rest") is not None) for n in written_notes(score)
        ]

    # 4/4: a note on beat 1, rests on beats 2 and 3 (quarter + quarter, not a half on beat 2)
    assert rests([Note(60, 0, 1), Note(62, 3, 1), Note(64, 4, 4)], Meter(0.0, 4, 4))[:4] == [
        ("quarter", False),
        ("quarter", True),
        ("quarter", True),
        ("quarter", False),
    ]
    # 4/4: a rest of a beat and a half on beat 1: a quarter and an eighth rest, not a dotted quarter
    assert rests([Note(60, 0, 4), Note(62, 5.5, 0.5), Note(64, 6, 2)], Meter(0.0, 4, 4))[1:3] == [
        ("quarter", True),
        ("eighth", True),
    ]
    # 6/8: a dotted quarter from the third eighth is an eighth tied to a quarter over the beat
    assert rests([Note(60, 0, 1), Note(62, 1, 1.5), Note(64, 2.5, 0.5), Note(65, 3, 3)], Meter(0.0, 6, 8))[:4] == [
        ("quarter", False),
        ("eighth", False),
        ("quarter", False),
        ("eighth", False),
    ]


def test_voices_of_a_choir_read_in_their_clefs():
    low_alto = Part("Alto", 0, False, [Note(p, i, 1) for i, p in enumerate([57, 55, 59, 60])])
    text = musicxml_text(Score(parts=[low_alto]))
    assert "<clef><sign>G</sign><line>2</line></clef>" in text  # an alto reads in the treble clef, low or not
    high_bass = Part("Bass", 0, False, [Note(p, i, 1) for i, p in enumerate([62, 64, 60, 59])])
    assert "<clef><sign>F</sign><line>4</line></clef>" in musicxml_text(Score(parts=[high_bass]))


def test_chords_in_the_middle_read_in_the_treble_clef_on_an_accordion_and_by_their_notes_on_a_piano():
    chords = [Note(p, 1.0 + b, 0.8) for b in range(0, 16, 2) for p in (57, 60, 64)]  # A3 C4 E4 on the off-beats
    treble, bass = "<clef><sign>G</sign><line>2</line></clef>", "<clef><sign>F</sign><line>4</line></clef>"
    assert treble in musicxml_text(Score(parts=[Part("Accordion", 21, False, chords)]))
    assert bass in musicxml_text(Score(parts=[Part("Piano", 0, False, chords)]))  # a semitone less out of the staff
    assert bass in musicxml_text(Score(parts=[Part("Cello", 42, False, chords)]))
    low = [Note(p, b, 1.0) for b, p in enumerate([45, 48, 52, 50])]  # A2-E3: low enough for any instrument's bass clef
    assert bass in musicxml_text(Score(parts=[Part("Accordion", 21, False, low)]))


# ---------------------------------------------------------------------------------------------
# repeats: music played twice, written once between repeat signs (with first and second endings)


def passes(
    first: Sequence[tuple[int, float, float]], second: Sequence[tuple[int, float, float]], at: float
) -> list[Note]:
    """Notes as played: (pitch, start, length) of a first pass from beat 0, then of the second from `at`."""
    return [Note(p, s, d) for p, s, d in first] + [Note(p, at + s, d) for p, s, d in second]


def repeated(ending: bool) -> Score:
    """4/4, as played: a two-part first pass of four bars, the second pass the same but for its
    last bar when `ending` (a note tied into it from the bar before in both passes), then a
    closing bar. Without an ending, a note is also held over from each pass into what follows."""
    tune = [(67, 0, 1), (69, 1, 1), (71, 2, 2), (72, 4, 2), (71, 6, 2), (69, 8, 3), (67, 11, 2), (66, 13, 3)]
    bass = [(43, 0, 4), (48, 4, 4), (50, 8, 4), (38, 12, 4)]
    if ending:
        second_tune, second_bass = tune[:-1] + [(67, 13, 3)], bass[:-1] + [(43, 12, 4)]
        repeat = Repeat(0.0, 16.0, 4.0)
    else:
        tune[-1] = (66, 13, 4)  # held over the repeat sign: to beat 17 and to beat 33
        tune[0] = (66, 0, 1)  # ... which the first pass begins with (struck, the first time)
        second_tune, second_bass = tune[1:], bass
        repeat = Repeat(0.0, 16.0)
    melody = passes(tune, second_tune, 16) + [Note(67, 33, 3)]
    return Score(
        parts=[
            Part("Flute", 73, False, melody),
            Part("Cello", 42, False, passes(bass, second_bass, 16) + [Note(43, 32, 4)]),
        ],
        keys=[Key(0.0, 7, "major")],
        repeats=[repeat],
        title="Repeated",
    )


def measures(text: str) -> list[ET.Element]:
    root = ET.fromstring(text.split("\n", 2)[2])
    parts = root.findall("part")
    assert len({len(p.findall("measure")) for p in parts}) == 1
    return parts[0].findall("measure")


def barlines(measure: ET.Element) -> dict[str, str]:
    """'left' / 'right' -> the bar line's children, as text: 'heavy-light ending 1 start repeat forward'."""
    out = {}
    for barline in measure.findall("barline"):
        words: list[str] = []
        for child in barline:
            words += (
                [child.text or ""] if child.tag == "bar-style" else [child.tag, *(v for _, v in sorted(child.items()))]
            )
        out[str(barline.get("location"))] = " ".join(words)
    return out


def sounding(notes) -> set[tuple[int, int]]:
    """(pitch, 16th) for every 16th each note sounds in: what is heard, however it is tied."""
    return {(p, t) for p, start, length in notes for t in range(round(start * 4), round((start + length) * 4))}


def played_back(path: Path) -> list[set[tuple[int, int]]]:
    """The written file played as music21 unfolds its repeats: what sounds, per part."""
    import music21

    written = music21.converter.parse(str(path), forceSource=True, storePickle=False)
    assert isinstance(written, music21.stream.Score)
    unfolded = written.expandRepeats()
    return [
        sounding(
            (pitch.midi, float(n.offset), float(n.quarterLength)) for n in part.flatten().notes for pitch in n.pitches
        )
        for part in unfolded.parts
    ]


def test_a_repeat_without_an_ending_is_written_once_between_repeat_signs(tmp_path):
    score = repeated(ending=False)
    path = write_score(score, tmp_path / "repeat.musicxml")
    check_notation(path)  # bars add up; no tie into the skipped pass is left open
    written = measures(path.read_text())
    assert [m.get("number") for m in written] == ["1", "2", "3", "4", "5"]  # 4 bars, then the closing one
    assert [barlines(m) for m in written] == [
        {"left": "heavy-light repeat forward"},
        {},
        {},
        {"right": "light-heavy repeat backward"},
        {"right": "light-heavy"},
    ]
    assert "<ending" not in path.read_text()
    # the note held over the repeat sign is not tied to what follows it on the page
    assert not [t for t in written[3].iter("tie") if t.get("type") == "start"]
    assert not [t for t in written[4].iter("tie") if t.get("type") == "stop"]
    assert played_back(path) == [sounding(note_tuples(part)) for part in score.parts]
    back = read_score(path)  # cadenza's reader reads the bars as written
    assert back.end_beats == 36.0 and back.repeats == score.repeats and back.keys == score.keys


def test_a_repeat_with_first_and_second_endings(tmp_path):
    score = repeated(ending=True)
    path = write_score(score, tmp_path / "endings.musicxml")
    check_notation(path)
    text = path.read_text()
    for part in ET.fromstring(text.split("\n", 2)[2]).findall("part"):  # every part has the signs
        written = part.findall("measure")
        assert [m.get("number") for m in written] == ["1", "2", "3", "4", "5", "6"]
        assert [barlines(m) for m in written] == [
            {"left": "heavy-light repeat forward"},
            {},
            {},
            {"left": "ending 1 start", "right": "light-heavy ending 1 stop repeat backward"},
            {"left": "ending 2 start", "right": "ending 2 discontinue"},
            {"right": "light-heavy"},
        ]
        assert written[0].find("barline") is written[0][0]  # a left bar line comes first
    # the tie into the first ending stays; the one into the second, from a bar not written, goes
    flute = ET.fromstring(text.split("\n", 2)[2]).find("part")
    assert [t.get("type") for t in flute.findall("measure")[3].iter("tie")] == ["stop"]
    assert [t.get("type") for t in flute.findall("measure")[4].iter("tie")] == []
    assert played_back(path) == [sounding(note_tuples(part)) for part in score.parts]
    back = read_score(path)
    assert back.end_beats == 36.0 and back.repeats == score.repeats


def test_generated_jig_is_written_with_its_repeats_and_endings(tmp_path):
    """The planner's repeats (A A B B in 6/8, each with a second ending): 32 bars as played,
    20 written, and music21 plays them back as generated."""
    from cadenza.compose import composer
    from cadenza.plan.form import parse_form, with_options

    plan = with_options(parse_form("A8 A8 B8 B8"), None, "half authentic half")
    score = composer.load("folk").generate(key="G major", meter="6/8", seed=3, plan=plan)
    assert score.repeats and all(r.ending_beats for r in score.repeats)
    path = write_score(score, tmp_path / "jig.musicxml")
    check_notation(path)
    text = path.read_text()
    assert len(measures(text)) == 32 - sum((r.end_beats - r.start_beats) / 3 for r in score.repeats) + sum(
        r.ending_beats / 3 for r in score.repeats
    )
    assert text.count('<repeat direction="forward"/>') == text.count('<repeat direction="backward"/>') == 2
    assert text.count('<ending number="2" type="start"/>') == 2
    assert played_back(path) == [sounding(note_tuples(part)) for part in score.parts]
    read_score(path)


@pytest.mark.parametrize("seed, count, ending", [(1, 14, 0), (2, 6, 0), (3, 14, 4), (4, 3, 4)])
def test_repeats_of_voices_and_chords_with_notes_held_over_the_repeat_signs(tmp_path, seed, count, ending):
    """Two bars of 4/4 played four times over, notes held over bar lines and so over the repeat
    signs, in a part of voices or (seeds 1 and 3) one chordified: bars 3-4 repeated, with a
    second ending (its notes a semitone up) or without. Every bar adds up, no tie is left open,
    and what is written, played with its repeats, sounds as the notes."""
    rng = random.Random(seed)
    cell: list[Note] = []
    for _ in range(count):
        n = Note(rng.randrange(40, 90), rng.randrange(0, 16) / 2, rng.randrange(1, 9) / 2)
        if not any(
            m.pitch == n.pitch and m.start_beats < n.end_beats + 8 and n.start_beats < m.end_beats + 8 for m in cell
        ):
            cell.append(n)  # a key sounds once at a time, in this cell and the next
    notes = [replace(n, start_beats=n.start_beats + 8 * k) for k in range(4) for n in cell] + [Note(30, 0, 0.5)]
    notes = [replace(n, pitch=n.pitch + 1) if 24 - ending <= n.start_beats < 24 else n for n in notes]
    score = Score(parts=[Part("Piano", 0, False, notes)], repeats=[Repeat(8.0, 16.0, ending)])
    path = write_score(score, tmp_path / "voices.musicxml")
    check_notation(path)
    as_played = len(measures(musicxml_text(replace(score, repeats=[]))))
    assert len(measures(path.read_text())) == as_played - 2 + ending // 4  # the second pass's bars, but its ending
    assert played_back(path) == [sounding(note_tuples(score.parts[0]))]


def unfoldable(change: str) -> Score:
    score = repeated(ending=True)
    melody = score.parts[0].notes
    if change == "notes":  # the second pass differs outside its ending
        melody[9] = replace(melody[9], pitch=melody[9].pitch + 2)
    elif change == "velocity":
        melody[9] = replace(melody[9], velocity=110)
    elif change == "key":  # the second pass changes key
        score.keys.append(Key(20.0, 2, "major"))
    elif change == "tempo":
        score.tempos.append(Tempo(17.0, 90.0))
    elif change == "off the bar lines":
        score.repeats = [Repeat(0.0, 15.0, 4.0)]
    elif change == "ending of the whole pass":
        score.repeats = [Repeat(0.0, 16.0, 16.0)]
    elif change == "past the end":
        score.repeats = [Repeat(8.0, 24.0)]
    elif change == "a pickup bar":  # each pass opens with one (a repeat sign cannot make it up)
        for part in score.parts:
            part.notes = [n for n in part.notes if not (0 <= n.start_beats < 4 or 16 <= n.start_beats < 20)]
        score.parts[0].notes += [Note(62, 3, 1), Note(62, 19, 1)]
    elif change == "dynamics":
        score.parts[1].dynamics = [Dynamic(0.0, "p"), Dynamic(8.0, "f")]
    return score


def test_a_folk_tunes_repeats_opening_with_a_pickup_are_written_once(tmp_path):
    """A tune whose strains each open with a pickup, as folk tunes are written (`D|G A B c|d2 B:|`):
    each pass begins inside a bar and ends as far into its last. The writer had written such
    tunes out in full; now it cuts the bar where a pass ends into two measures, the second
    implicit (numbered X1, as MusicXML numbers the last half of a mid-measure repeat), and
    writes each strain once. Read back, it is the music as played, with the same repeats."""
    tune = "X:1\nT:Pickups\nM:4/4\nL:1/4\nK:G\nD|G A B c|d2 B:|\n|:d|e d c B|A2 G:|\n"
    (tmp_path / "tune.abc").write_text(tune)
    score = read_score(tmp_path / "tune.abc")
    assert score.repeats == [Repeat(3.0, 11.0), Repeat(19.0, 27.0)]
    path = write_score(score, tmp_path / "tune.musicxml")
    check_notation(path)
    written = measures(path.read_text())
    assert [(m.get("number"), m.get("implicit")) for m in written] == [
        ("0", "yes"),
        ("1", None),
        ("2", None),
        ("X1", "yes"),
        ("3", None),
        ("4", None),
    ]
    assert [barlines(m) for m in written] == [
        {"left": "heavy-light repeat forward"},
        {},
        {"right": "light-heavy repeat backward"},
        {"left": "heavy-light repeat forward"},
        {},
        {"right": "light-heavy repeat backward"},
    ]
    [heard] = played_back(path)  # music21 counts from the pickup's first beat
    assert heard == {(p, t - 12) for p, t in sounding(note_tuples(score.parts[0]))}
    back = read_score(path)
    assert note_tuples(back.parts[0]) == note_tuples(score.parts[0])
    assert back.repeats == score.repeats and back.meters == score.meters and back.end_beats == 35.0


@pytest.mark.parametrize(
    "tune",
    [
        "D|G A B c|d4|z3:|\n|:B|c d e f|g3:|",  # a rest fills a bar cut short: no whole-bar rest there
        "P:A\nD|G A B c|d2 B:|\nP:B\n|:d|e d c B|A2 G:|",  # labels, read on the first bar line of each pass
        "D|G A B c|[1 d2 B:|[2 d2 B2|]",  # a first ending cut short for the pickup, a whole second one
        "P:A\nd\nP:B\n|:g d B d|c A F A|G B d g|f d e f:|",  # a pickup labelled apart from its strain
    ],
)
def test_a_pickup_repeat_reads_back_as_it_was_written(tmp_path, tune):
    """Reviewers' cases: a rest over a whole bar cut short had been written as a whole-bar rest,
    which music21 reads as a full bar, so every later note came back late; a tune with P: labels
    was written out; a bar cut twice read back as two changes of meter; a first ending cut short
    for the pickup into the second time, with a whole second ending (the most common jig
    layout, a newcomer found), had been read as played, no repeat. Each reads back as it was,
    folded where nothing is lost."""
    (tmp_path / "tune.abc").write_text(f"X:1\nT:t\nM:4/4\nL:1/4\nK:G\n{tune}\n")
    score = read_score(tmp_path / "tune.abc")
    path = write_score(score, tmp_path / "tune.musicxml")
    check_notation(path)
    back = read_score(path)
    assert note_tuples(back.parts[0]) == note_tuples(score.parts[0])
    assert back.repeats == score.repeats and back.meters == score.meters and back.sections == score.sections
    assert path.read_text().count('<repeat direction="backward"/>') == len(score.repeats)


def test_a_strain_labelled_at_its_pickup_outside_the_repeat_folds(tmp_path):
    """A newcomer's jig: `P:B` then `d|:g2d ...|1 G3 G2d:|2 G3 G3|]`, the pickup before the repeat
    sign. The reader labels the first pass (at the pickup's bar) and not the second, and the
    writers had written the strain out for the label alone; a second pass with no label folds."""
    tune = "X:1\nT:t\nM:4/4\nL:1/4\nK:G\nP:A\n|:D|G A B c|d3:|\nP:B\nd|:e d c B|[1 A2 G d:|[2 A2 G2|]\n"
    (tmp_path / "tune.abc").write_text(tune)
    score = read_score(tmp_path / "tune.abc")
    assert [s.label for s in score.sections] == ["A", "A", "B"] and len(score.repeats) == 2
    path = write_score(score, tmp_path / "tune.musicxml")
    check_notation(path)
    assert path.read_text().count('<repeat direction="backward"/>') == 2
    back = read_score(path)
    assert note_tuples(back.parts[0]) == note_tuples(score.parts[0]) and back.repeats == score.repeats


def test_a_bar_a_repeat_would_cut_twice_is_written_out(tmp_path):
    """A pass opening with a pickup whose first ending begins inside its last bar would cut that
    bar twice, and the reader read the three pieces back as changes of meter: such a repeat is
    written out, and reads back in 4/4 throughout."""
    tune = [(62, 3, 1), (67, 4, 1), (69, 5, 1), (71, 6, 1), (72, 7, 1), (74, 8, 2)]
    notes = [Note(p, s, d) for p, s, d in tune] + [Note(71, 10, 1)]  # the first ending: B
    notes += [Note(p, s + 8, d) for p, s, d in tune] + [Note(67, 18, 1)]  # the second: G
    notes += [Note(71, 19, 1), Note(72, 20, 1), Note(74, 21, 1), Note(76, 22, 1), Note(78, 23, 1), Note(79, 24, 4)]
    score = Score(
        parts=[Part("Flute", 73, False, notes)], keys=[Key(0.0, 7, "major")], repeats=[Repeat(3.0, 11.0, 1.0)]
    )
    text = musicxml_text(score)
    assert "<repeat" not in text
    back = round_trip(score, tmp_path / "twice.musicxml")
    assert back.meters == [Meter(0.0, 4, 4)]


@pytest.mark.parametrize(
    "change",
    [
        "notes",
        "velocity",
        "key",
        "tempo",
        "off the bar lines",
        "ending of the whole pass",
        "past the end",
        "a pickup bar",
        "dynamics",
    ],
)
def test_a_repeat_that_cannot_be_folded_is_written_out_in_full(tmp_path, change):
    """Never lose music: a second pass that is not the first (a note, a velocity), a change of
    key or tempo inside it, a second pass marked otherwise where it begins (p, then f from bar 3
    on: going back would read p), or a repeat that is not of whole bars is written as played."""
    from dataclasses import replace as copy

    score = unfoldable(change)
    text = musicxml_text(score)
    assert text == musicxml_text(copy(score, repeats=[]))
    assert "<repeat" not in text and "<ending" not in text
    round_trip(score, tmp_path / "full.musicxml")


def test_a_repeat_overlapping_one_written_before_is_written_out():
    """Six bars alike: a repeat of bars 1-2 folds, and so does one of bar 5 that begins where
    the first one's second pass ends, but not those beginning inside that first one."""
    bar = [(60, 0, 1), (64, 1, 1), (67, 2, 2)]
    notes = [Note(p, 4 * b + s, d) for b in range(6) for p, s, d in bar] + [Note(72, 24, 4)]
    score = Score(parts=[Part("Oboe", 68, False, notes)], repeats=[Repeat(0, 8), Repeat(4, 8), Repeat(12, 16)])
    score.repeats.append(Repeat(16, 20))
    written = measures(musicxml_text(score))
    assert [barlines(m) for m in written] == [
        {"left": "heavy-light repeat forward"},
        {"right": "light-heavy repeat backward"},
        {"left": "heavy-light repeat forward", "right": "light-heavy repeat backward"},
        {"right": "light-heavy"},
    ]
    assert [m.get("number") for m in written] == ["1", "2", "3", "4"]


def test_without_repeats_the_music_is_written_as_played(tmp_path):
    score = repeated(ending=True)
    score.repeats = []
    text = musicxml_text(score)
    assert [m.get("number") for m in measures(text)] == [str(b) for b in range(1, 10)]
    assert [barlines(m) for m in measures(text)] == [{}] * 8 + [{"right": "light-heavy"}]
    round_trip(score, tmp_path / "as-played.musicxml")


def test_a_part_lower_than_a_choir_bass_reads_in_the_bass_clef_an_octave_down(tmp_path):
    from cadenza.io import read_score, write_score
    from cadenza.score import Meter, Note, Part, Score

    low = Part("Bass", 32, False, [Note(p, i * 1.0, 1.0) for i, p in enumerate((28, 31, 35, 38, 40, 43))])
    choir = Part("Bass", 52, False, [Note(p, i * 1.0, 1.0) for i, p in enumerate((48, 43, 50, 55, 52, 48))])
    for part, octave_down in ((low, True), (choir, False)):
        path = write_score(Score(parts=[part], meters=[Meter(0.0, 3, 4)]), tmp_path / f"{octave_down}.musicxml")
        assert ("<clef-octave-change>-1</clef-octave-change>" in path.read_text()) == octave_down
        assert [n.pitch for n in read_score(path).parts[0].notes] == [n.pitch for n in part.notes]


def test_a_pianos_two_hands_are_one_part_of_two_braced_staves_and_other_parts_are_not(tmp_path):
    """One instrument, as a pianist's score and MuseScore's piano have it: the left hand on the
    second staff (voices from 5), its clef the second; read back as the two hands."""
    from cadenza.io.musicxml import musicxml_text
    from cadenza.score import PIANO_HANDS, Note, Part, Score

    hands = [Part(PIANO_HANDS[0], 0, notes=[Note(72, 0, 4)]), Part(PIANO_HANDS[1], 0, notes=[Note(43, 0, 4)])]
    flute = Part("Flute", 73, notes=[Note(84, 0, 4)])
    xml = musicxml_text(Score(parts=[flute, *hands]))
    part_list = xml[xml.index("<part-list>") : xml.index("</part-list>")]
    assert part_list.count("<score-part ") == 2 and "<part-name>Piano</part-name>" in part_list
    assert "<part-abbreviation>Pno.</part-abbreviation>" in part_list
    piano = xml.split('<part id="P2">')[1]
    assert "<staves>2</staves><part-symbol>brace</part-symbol>" in piano
    assert '<clef number="2"><sign>F</sign><line>4</line></clef>' in piano
    assert re.search(r"<step>G</step><octave>2</octave>.*<voice>5</voice>.*<staff>2</staff>", piano)
    assert "<staff>" not in xml.split('<part id="P2">')[0]  # the flute's one staff
    back = read_score(write_score(Score(parts=[flute, *hands]), tmp_path / "piano.musicxml"))
    assert [(p.name, p.program, [n.pitch for n in p.notes]) for p in back.parts] == [
        ("Flute", 73, [84]),
        ("Right hand", 0, [72]),
        ("Left hand", 0, [43]),
    ]
    plain = musicxml_text(Score(parts=hands[::-1]))  # left above right: two parts, not a grand staff
    assert "<staves>" not in plain and plain.count("<score-part ") == 2


def test_only_a_pianos_two_staves_are_read_as_the_hands(tmp_path):
    """A two-staff part is the hands where its program is a piano's, or, with no program, where
    its name says piano; a harp's or a closed-score choir's staves keep their name. Hands on
    another instrument than a piano are written as two parts."""
    from cadenza.score import PIANO_HANDS

    right, left = [Note(72 + i % 3, i, 1) for i in range(8)], [Note(48 - i % 3, i, 2) for i in range(0, 8, 2)]
    piano = musicxml_text(Score(parts=[Part(PIANO_HANDS[0], 0, notes=right), Part(PIANO_HANDS[1], 0, notes=left)]))
    unprogrammed = re.sub(r"<midi-instrument.*?</midi-instrument>", "", piano, flags=re.S)

    def names(text: str, name: str = "Piano") -> list[tuple[str, int]]:
        path = tmp_path / "staves.musicxml"
        path.write_text(text.replace("<part-name>Piano</part-name>", f"<part-name>{name}</part-name>"))
        return [(p.name, p.program) for p in read_score(path).parts]

    assert names(piano) == [("Right hand", 0), ("Left hand", 0)]
    assert names(piano.replace("<midi-program>1<", "<midi-program>7<"), "Harpsichord")[0] == ("Right hand", 6)
    assert names(piano.replace("<midi-program>1<", "<midi-program>47<"), "Harp") == [("Harp", 46)] * 2
    assert names(unprogrammed) == [("Right hand", 0), ("Left hand", 0)]
    assert names(unprogrammed, "Choir") == [("Choir", 0)] * 2
    organ = musicxml_text(Score(parts=[Part(PIANO_HANDS[0], 19, notes=right), Part(PIANO_HANDS[1], 19, notes=left)]))
    assert "<staves>" not in organ and organ.count("<score-part ") == 2
    assert names(organ) == [("Right hand", 19), ("Left hand", 19)]


def test_a_pianos_right_hand_leans_to_the_treble_clef_and_its_left_hand_to_the_bass():
    from cadenza.score import PIANO_HANDS

    middle = [Note(p, i, 1) for i, p in enumerate([55, 57, 59, 60, 62, 64])]  # G3..E4: either clef would do
    xml = musicxml_text(Score(parts=[Part(PIANO_HANDS[0], notes=middle), Part(PIANO_HANDS[1], notes=middle)]))
    assert '<clef number="1"><sign>G</sign>' in xml and '<clef number="2"><sign>F</sign>' in xml
    low = [Note(p, i, 1) for i, p in enumerate([28, 31, 33, 35])]  # E1..B1: a bass guitar's would be 8vb
    xml = musicxml_text(Score(parts=[Part(PIANO_HANDS[1], notes=low)]))
    assert "<sign>F</sign>" in xml and "clef-octave-change" not in xml


def test_a_left_hand_high_for_most_of_a_piece_keeps_the_bass_clef_where_its_bass_notes_are():
    """A newcomer's Liszt left hand lay above middle C most of the time, and its whole staff was
    in the treble clef, its G#1 and D1 ten ledger lines under it: a hand's home clef is the
    pianist's (bass for the left), and its high passages change clef bar by bar."""
    from cadenza.score import PIANO_HANDS

    high = [Note(p, 4 * b + i, 1) for b in range(6) for i, p in enumerate([67, 71, 74, 79])]  # G4..G5
    low = [Note(32, 24 + i, 1) for i in range(4)]  # then a bar of G#1
    right = [Note(84, 4 * b, 4) for b in range(7)]
    xml = musicxml_text(Score(parts=[Part(PIANO_HANDS[0], notes=right), Part(PIANO_HANDS[1], notes=high + low)]))
    # the high bars in the treble clef, a passage of the bass staff; the G#1 back in the bass clef
    assert re.findall(r'<clef number="2"><sign>(\w)</sign>', xml) == ["G", "F"]


def test_a_hand_changes_clef_for_a_passage_on_the_other_side_of_middle_c_and_not_for_one_bar():
    """As engravers write it: the left hand takes the treble clef from a bar line where two bars
    lie wholly at or above middle C, and the bass clef again at its first note below; one high
    bar alone stays in the bass clef. The right hand likewise below middle C."""

    from cadenza.score import PIANO_HANDS

    def bars_of(pitches_by_bar):
        return [Note(p, 4 * b + i, 1) for b, ps in enumerate(pitches_by_bar) for i, p in enumerate(ps)]

    left = bars_of([[43, 48], [60, 64], [62, 67], [72], [50], [64, 67], [48]])
    right = bars_of([[72], [76], [55, 57], [59], [64], [72], [74]])
    xml = musicxml_text(Score(parts=[Part(PIANO_HANDS[0], notes=right), Part(PIANO_HANDS[1], notes=left)]))

    def clefs(staff: int) -> list[tuple[str, str]]:
        """(bar, clef sign) where each clef takes effect: the first bar's opens it, a change is
        written at the end of the bar before (as MuseScore writes one)."""
        out = []
        for n, m in re.findall(r'<measure number="(\d+)"(.*?)</measure>', xml, re.S):
            for clef in re.finditer(rf'<clef number="{staff}"><sign>(\w)</sign>', m):
                opens = clef.start() < m.index("<note")
                assert n == "1" or not opens  # only the first bar opens with a clef
                out.append((n if opens else str(int(n) + 1), clef.group(1)))
        return out

    assert clefs(2) == [("1", "F"), ("2", "G"), ("5", "F")]  # bar 6 alone stays in the bass clef
    assert clefs(1) == [("1", "G"), ("3", "F"), ("5", "G")]
    assert read_score_back(xml) == sorted((n.pitch, n.start_beats) for n in right + left)


def read_score_back(xml: str) -> list[tuple[int, float]]:
    """The notes music21 reads from the MusicXML, as (pitch, onset in beats)."""
    import music21

    parsed = music21.converter.parseData(xml, format="musicxml")
    return sorted((int(n.pitch.midi), float(n.getOffsetInHierarchy(parsed))) for n in parsed.recurse().notes)


def test_a_right_hand_passage_high_above_the_staff_is_written_under_an_8va_line():
    """A hand's onsets in the treble clef that keep at or above C5 and reach E6 (three ledger
    lines) are written under an 8va line (an octave shift down) from the first of them that
    reaches C6 to the end of the last, wherever in a bar they fall; the notes keep their pitch.
    A dip below C5 ends a line; a violin has none. A newcomer had read a right hand up to F7 on
    ledger lines, in bars that also went low."""
    from cadenza.score import PIANO_HANDS

    def bars_of(pitches_by_bar):
        return [Note(p, 4 * b + i, 1) for b, ps in enumerate(pitches_by_bar) for i, p in enumerate(ps)]

    right = bars_of([[72, 76], [84, 91], [88, 93, 96], [79, 88], [67, 91, 76, 79], [60, 86, 84]])
    left = bars_of([[48]] * 6)
    xml = musicxml_text(Score(parts=[Part(PIANO_HANDS[0], notes=right), Part(PIANO_HANDS[1], notes=left)]))
    shifts = [
        (n, kind, int(offset or 0))
        for n, m in re.findall(r'<measure number="(\d+)"(.*?)</measure>', xml, re.S)
        for kind, offset in re.findall(
            r'<octave-shift type="(\w+)" size="8" number="1"/></direction-type>'
            r"(?:<offset>(-?\d+)</offset>)?<staff>1</staff>",
            m,
        )
    ]
    # bars 2-4 (bar 4's 88 ends at beat 2); bar 5's one 91 (its 76 and 79 do not reach C6); bar 6's
    # 86 alone reaches C6 but not E6: no line
    assert shifts == [("2", "down", 0), ("4", "stop", 0), ("5", "down", 0), ("5", "stop", 0)], shifts
    assert read_score_back(xml) == sorted((n.pitch, n.start_beats) for n in right + left)
    violin = musicxml_text(Score(parts=[Part("Violin", 40, notes=right)]))
    assert "octave-shift" not in violin


def test_an_8va_line_stops_where_the_run_breaks_and_starts_before_the_note_it_starts_on():
    """A held high chord's line stops at the low note that breaks the run, not where the chord
    ends (the low note would be read an octave down, and two lines would nest); a line that
    starts while another voice holds a note is written before the note that starts there (MuseScore
    places a line where it stands in the file, not by its offset)."""
    from cadenza.score import PIANO_HANDS

    right = [Note(88, 0, 4), Note(67, 1, 1), Note(89, 2, 1), Note(91, 3, 1)]
    xml = musicxml_text(Score(parts=[Part(PIANO_HANDS[0], notes=right), Part(PIANO_HANDS[1], notes=[Note(48, 0, 4)])]))
    events = re.findall(r'octave-shift type="(\w+)"[^>]*/></direction-type>(?:<offset>(\d+)</offset>)?', xml)
    assert [k for k, _ in events] == ["down", "stop", "down", "stop"], events
    assert read_score_back(xml) == sorted((n.pitch, n.start_beats) for n in right + [Note(48, 0, 4)])
    held = [Note(79, 0, 4), Note(88, 1, 1), Note(91, 2, 1)]  # a G5 held under E6 and G6: two voices
    xml = musicxml_text(Score(parts=[Part(PIANO_HANDS[0], notes=held), Part(PIANO_HANDS[1], notes=[Note(48, 0, 4)])]))
    start = xml.index('octave-shift type="down"')
    following = xml[start : xml.index("</note>", start)]
    assert "<offset>" not in following and "<step>E</step><octave>6</octave>" in following


def test_no_8va_line_where_a_repeat_is_written_once():
    """Lines are found in the music as played; where a repeat writes bars once, a line could
    start in a written bar and stop in a skipped one, so none is written."""
    from cadenza.score import PIANO_HANDS

    high = [Note(88 + (i % 8) % 3, i, 1) for i in range(16)]  # two bars, played twice
    score = Score(parts=[Part(PIANO_HANDS[0], notes=high)], repeats=[Repeat(0.0, 8.0)])
    xml = musicxml_text(score)
    assert "backward" in xml and xml.count("<measure ") == 2  # written once, between repeat signs
    assert "octave-shift" not in xml


def test_dynamics_marks_are_shown_and_a_repeat_marked_alike_still_folds(tmp_path):
    """A part's dynamics marks (Part.dynamics, a read file's) are written as <dynamics> under it
    where they change; a repeat whose passes begin and end under the same mark is written once."""
    score = repeated(ending=True)
    score.parts[0].dynamics = [Dynamic(0.0, "pp"), Dynamic(0.5, "pp"), Dynamic(33.0, "f")]
    text = musicxml_text(score)
    assert "<repeat" in text and text.count("<dynamics>") == 2  # pp and f, under the first part only
    back = read_score(write_score(score, tmp_path / "m.musicxml"))
    assert [(d.start_beats, d.marking) for d in back.parts[0].dynamics] == [(0.0, "pp"), (33.0, "f")]
    assert back.parts[1].dynamics == []


def test_a_strain_marked_f_then_p_each_time_folds_and_a_parts_own_marks_beat_its_sections(tmp_path):
    """`|: !f! ... !p! ... :|`, common in folk tunes, was written out twice: going back, the f
    written at the start is read again. And a second part marked otherwise than the first had
    shown the first part's marks, which a read file's section labels carry."""
    from cadenza.io.abc import abc_text
    from cadenza.score import Section

    score = repeated(ending=False)
    score.parts[0].dynamics = [Dynamic(0.0, "f"), Dynamic(8.0, "p"), Dynamic(16.0, "f"), Dynamic(24.0, "p")]
    assert "<repeat" in musicxml_text(score) and ":|" in abc_text(score)
    score.parts[1].dynamics = [Dynamic(0.0, "pp"), Dynamic(16.0, "mf")]  # not alike: written out
    assert "<repeat" not in musicxml_text(score)
    score.repeats, score.sections = [], [Section(0.0, "A", "f"), Section(8.0, "B", "p")]
    back = read_score(write_score(score, tmp_path / "sections.musicxml"))
    assert [(d.start_beats, d.marking) for d in back.parts[1].dynamics] == [(0.0, "pp"), (16.0, "mf")]


def test_a_plans_section_dynamics_are_shown_in_abc_too(tmp_path):
    """A planned piece's sections carry its dynamics (a plan's "p"); MusicXML showed them, ABC
    did not. Both writers now show a part's own marks, or where it has none its sections'."""
    from cadenza.io.abc import abc_text
    from cadenza.score import Section

    score = Score(
        parts=[Part("Melody", 0, False, [Note(67 + i % 3, float(i), 1.0) for i in range(16)])],
        sections=[Section(0.0, "A", "p"), Section(8.0, "B", "f")],
    )
    assert "!p!" in abc_text(score) and "!f!" in abc_text(score)
    assert musicxml_text(score).count("<dynamics>") == 2
    back = read_score(write_score(score, tmp_path / "planned.abc"))
    assert [(d.start_beats, d.marking) for d in back.parts[0].dynamics] == [(0.0, "p"), (8.0, "f")]


def test_compressed_musicxml_holds_the_same_document_and_reads_back(tmp_path):
    """`--out piece.mxl` had written piece.musicxml: .mxl is a zip of the document, the same
    bytes as the .musicxml, under the container MuseScore and music21 look for."""
    import zipfile

    score = read_score(EXAMPLES / "chorale-d-major-seed7.mid")
    path = write_score(score, tmp_path / "piece.mxl")
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist()[0] == "mimetype"
        assert archive.read("mimetype") == b"application/vnd.recordare.musicxml"
        assert 'full-path="score.musicxml"' in archive.read("META-INF/container.xml").decode()
        assert archive.read("score.musicxml").decode() == musicxml_text(score)
    back = read_score(path)
    assert [note_tuples(p) for p in back.parts] == [note_tuples(p) for p in score.parts if p.notes]
    assert write_score(score, tmp_path / "again.mxl").read_bytes() == path.read_bytes()  # no date inside


# ---------------------------------------------------------------------------------------------
# grace notes


def _graced() -> Score:
    """A right hand: a lone grace note, a run of two, a chord of two; a left hand holding a note
    under a second voice that has a grace note of its own."""
    grace = ("grace",)
    right = [
        Note(72, 0.0, 1.0),
        Note(74, 0.9375, 0.0625, 70, grace),
        Note(72, 1.0, 1.0),
        Note(69, 1.875, 0.0625, 80, grace),
        Note(71, 1.9375, 0.0625, 80, grace),
        Note(72, 2.0, 0.5),
        Note(70, 2.5, 0.5),  # B flat: its grace is spelled in the key
        Note(64, 2.9375, 0.0625, 80, grace),
        Note(67, 2.9375, 0.0625, 80, grace),
        Note(65, 3.0, 1.0),
    ]
    left = [Note(48, 0.0, 4.0), Note(55, 0.0, 2.0), Note(54, 1.9375, 0.0625, 80, grace), Note(55, 2.0, 2.0)]
    return Score(
        parts=[Part("Right hand", 0, False, right), Part("Left hand", 0, False, left)],
        keys=[Key(0.0, 5, "major", "F")],
    )


def test_grace_notes_are_written_as_grace_notes_and_read_back(tmp_path):
    """They were dropped on reading; written as notes, they would have cut the note before."""
    score = _graced()
    back = round_trip(score, tmp_path / "graced.musicxml")  # the score's 24 divisions: graces take no time
    for original, read in zip(score.parts, back.parts):
        assert sorted((n.pitch, n.start_beats, n.marks) for n in read.notes) == sorted(
            (n.pitch, n.start_beats, n.marks) for n in original.notes
        )
    text = (tmp_path / "graced.musicxml").read_text()
    assert text.count('<grace slash="yes"/>') == 3 + 1  # the lone one, the chord's two; the left hand's
    assert text.count("<grace/>") == 2  # the run of two 16ths: no slash
    assert "<step>D</step><octave>5</octave>" in text.split("<grace")[1]  # the lone grace, D5, first
    root = ET.parse(tmp_path / "graced.musicxml").getroot()
    notes = root.findall(".//note")
    for i, el in enumerate(notes):  # each grace note in the voice of the note it leads to
        if el.find("grace") is not None:
            following = next(n for n in notes[i + 1 :] if n.find("grace") is None and n.find("chord") is None)
            assert el.findtext("voice") == following.findtext("voice")
            assert el.findtext("staff") == following.findtext("staff")


def test_a_grace_note_leading_to_no_note_is_written_as_it_sounds(tmp_path):
    """A grace note a user's edit left on its own (nothing begins where it ends)."""
    score = Score(parts=[Part("Flute", 73, False, [Note(72, 0.0, 1.0), Note(74, 1.5, 0.0625, 80, ("grace",))])])
    text = musicxml_text(score)
    assert "<grace" not in text
    back = round_trip(score, tmp_path / "alone.musicxml", divisions=48)
    assert [n.pitch for n in back.parts[0].notes] == [72, 74]


def test_abc_leaves_grace_notes_out_and_says_so():
    from cadenza.io.abc import abc_text

    text = abc_text(Score(parts=[_graced().parts[0]], keys=[Key(0.0, 5, "major", "F")]))
    assert "% 5 grace notes of the Right hand part are left out" in text
    assert text.rstrip().endswith("\nc c c/2B/2 F |]")  # the notes before them keep their lengths


def test_grace_notes_in_two_voices_a_repeat_and_across_a_piano_staff(tmp_path):
    """A reviewer's cases: graces of two voices before one beat were written as one grace chord
    before the lower voice's note; a grace on the first note of a repeated passage had the
    repeat written out in full; a grace chord on the lower staff leading to a chord of the upper
    (as ASAP's Liszt writes them) came back as plain 64ths, rounded to the grid."""
    grace = ("grace",)
    passage = [Note(79, 0.0, 1.0), Note(81, 0.9375, 0.0625, 80, grace), Note(79, 1.0, 1.0), Note(77, 2.0, 2.0)]
    passage += [Note(60, 0.0, 1.0), Note(62, 0.9375, 0.0625, 80, grace), Note(64, 1.0, 3.0)]
    twice = [replace(n, start_beats=n.start_beats + k) for k in (4.0, 8.0) for n in passage]
    upper = [Note(72, 0.0, 4.0), *twice, Note(84, 12.0, 1.0)]
    lower = [Note(48, 0.0, 4.0), Note(48, 4.0, 8.0), Note(64, 12.9375, 0.0625, 80, grace), Note(43, 14.0, 2.0)]
    upper.append(Note(76, 13.0, 1.0))
    score = Score(
        parts=[Part("Right hand", 0, False, upper), Part("Left hand", 0, False, lower)],
        repeats=[Repeat(4.0, 8.0)],
    )
    path = tmp_path / "voices.musicxml"
    write_score(score, path)
    check_notation(path)
    text = path.read_text()
    assert text.count('<repeat direction="backward"/>') == 1  # folded: the passage written once
    root = ET.parse(path).getroot()
    notes = root.findall(".//note")
    graces = [(i, el) for i, el in enumerate(notes) if el.find("grace") is not None]
    assert len(graces) == 3  # two in the passage, one before the right hand's E5
    for i, el in graces:
        following = next(n for n in notes[i + 1 :] if n.find("grace") is None and n.find("chord") is None)
        assert (el.findtext("voice"), el.findtext("staff")) == (
            following.findtext("voice"),
            following.findtext("staff"),
        )
        assert abs(int(el.findtext("pitch/octave")) - int(following.findtext("pitch/octave"))) <= 1
    back = read_score(path)
    got = sorted((n.pitch, n.start_beats) for p in back.parts for n in p.notes if "grace" in n.marks)
    assert got == sorted((n.pitch, n.start_beats) for p in score.parts for n in p.notes if "grace" in n.marks)


def test_a_violins_grace_before_a_rest_stays_its_own():
    """A reviewer's case: of two parts named Violin, the first's grace before a rest went to the
    second's note. Only a keyboard's staves share their grace notes."""
    first = [Note(76, 0.0, 1.0), Note(79, 1.9375, 0.0625, 80, ("grace",)), Note(76, 3.0, 1.0)]
    second = [Note(64, 0.0, 2.0), Note(64, 2.0, 2.0)]
    score = Score(parts=[Part("Violin", 40, False, first), Part("Violin", 40, False, second)])
    text = musicxml_text(score)
    assert "<grace" not in text  # leading to no note of its own part: written as it sounds
    assert text.split('<part id="P2">')[1].count("<note") == 2


# ---------------------------------------------------------------------------------------------
# articulations


def test_articulations_are_written_and_read_back(tmp_path):
    """A newcomer's continued Mozart came back without one of its 112 staccatos: the writer wrote
    no articulations. Each is written on its note's first value (a tied note once), a chord's on
    the chord, and a portato as a dot under a line."""
    marks = [("staccato",), ("staccatissimo",), ("tenuto",), ("accent",), ("marcato",), ("staccato", "tenuto")]
    notes = [Note(72 + i, float(i), 1.0, 80, m) for i, m in enumerate(marks)]
    notes += [Note(60, 6.0, 1.0, 80, ("staccato",)), Note(64, 6.0, 1.0, 80, ("staccato",))]
    notes += [Note(67, 7.0, 2.0, 80, ("accent",))]  # tied over the bar line
    score = Score(parts=[Part("Flute", 73, False, notes)])
    back = round_trip(score, tmp_path / "marks.musicxml")
    assert sorted((n.pitch, n.start_beats, n.marks) for n in back.parts[0].notes) == sorted(
        (n.pitch, n.start_beats, n.marks) for n in notes
    )
    text = (tmp_path / "marks.musicxml").read_text()
    assert text.count("<articulations>") == len(marks) + 2  # the chord once, the tied note once
    assert "<strong-accent/>" in text and "<staccato/><tenuto/>" in text


def test_a_repeat_whose_passes_differ_in_a_staccato_is_written_out():
    """Folded, the second pass would have been read with the first pass's articulations."""
    passage = [Note(72, 0.0, 1.0), Note(74, 1.0, 1.0), Note(76, 2.0, 2.0)]

    def text(dotted: bool) -> str:
        second = [replace(n, start_beats=n.start_beats + 4) for n in passage]
        second[0] = replace(second[0], marks=("staccato",) if dotted else ())
        notes = [*passage, *second, Note(72, 8.0, 4.0)]
        return musicxml_text(Score(parts=[Part("Flute", 73, False, notes)], repeats=[Repeat(0.0, 4.0)]))

    assert '<repeat direction="backward"/>' in text(False)
    assert '<repeat direction="backward"/>' not in text(True)


def test_each_note_keeps_its_own_articulations(tmp_path):
    """A reviewer's cases: of a chord of a staccato C, a plain E and an accented G, all three came
    back staccato and accented; a staccato C in one voice marked the plain C struck with it in
    another. Notes of one rhythm but other marks are written apart."""
    notes = [Note(60, 0.0, 1.0, 80, ("staccato",)), Note(64, 0.0, 1.0), Note(67, 0.0, 1.0, 80, ("accent",))]
    notes += [Note(72, 1.0, 1.0, 80, ("staccato",)), Note(72, 1.0, 3.0)]
    back = round_trip(Score(parts=[Part("Piano", 0, False, notes)]), tmp_path / "apart.musicxml")
    assert sorted((n.pitch, n.start_beats, n.duration_beats, n.marks) for n in back.parts[0].notes) == sorted(
        (n.pitch, n.start_beats, n.duration_beats, n.marks) for n in notes
    )
