"""cadenza.io.musicxml: the MusicXML writer. Every file is read back through cadenza's own reader
(music21) and must give the notes (pitch, start, length per part), meters, keys and tempos
written; and its notation must add up: each note's written value (type, dots, 3:2 tuplet) is its
duration, every voice fills its measure, ties and tuplet brackets open and close."""

import random
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cadenza.io import read_score, write_score
from cadenza.io.musicxml import musicxml_text
from cadenza.score import Key, Meter, Note, Part, Score, Tempo

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TYPE_TICKS = {"whole": 48, "half": 24, "quarter": 12, "eighth": 6, "16th": 3, "32nd": 1.5}


def note_tuples(part: Part) -> list[tuple[int, float, float]]:
    return sorted((n.pitch, round(n.start_beats, 6), round(n.duration_beats, 6)) for n in part.notes)


def round_trip(score: Score, path: Path) -> Score:
    """Write, check the notation, read back, and compare with what was written."""
    write_score(score, path)
    check_notation(path)
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


def check_notation(path: Path) -> None:
    """What the round trip cannot see (music21 reads durations, not note values)."""
    root = ET.parse(path).getroot()
    divisions = int(root.find(".//divisions").text)
    assert divisions == 12
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
            for el in measure:
                if el.tag == "backup":
                    bar_length = position if bar_length is None else bar_length
                    assert int(el.find("duration").text) == position
                    position = 0
                    continue
                if el.tag != "note":
                    continue
                duration = int(el.find("duration").text)
                voice = el.find("voice").text
                kind = el.find("type")
                if kind is None:  # only a whole-bar rest has no type
                    assert el.find("rest").get("measure") == "yes"
                else:
                    value = TYPE_TICKS[kind.text] * (1.5 if el.find("dot") is not None else 1)
                    if el.find("time-modification") is not None:
                        value = value * 2 / 3
                    assert value == duration, ET.tostring(el)
                for mark in el.findall("notations/tuplet"):
                    tuplets[voice] = tuplets.get(voice, 0) + (1 if mark.get("type") == "start" else -1)
                    assert tuplets[voice] in (0, 1)
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
    assert jig.meter == Meter(0.0, 6, 8) and jig.tempo_bpm == 110
    assert "<beat-unit>quarter</beat-unit><per-minute>110</per-minute>" in musicxml_text(jig)  # not 73.333
    jig.tempos = [Tempo(0.0, 120.0)]
    assert "<beat-unit>quarter</beat-unit><beat-unit-dot/><per-minute>80</per-minute>" in musicxml_text(jig)
    round_trip(jig, tmp_path / "jig.musicxml")


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
