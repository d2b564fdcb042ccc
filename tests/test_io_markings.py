"""cadenza.io.scores: the markings a performer reads (dynamics, hairpins, accents, articulations,
slurs, tempo words) as velocities, Note.marks and tempos; and what it does not play."""

from __future__ import annotations

import pytest

from cadenza.io import read_score
from cadenza.io.scores import read_with_music21, unsupported_markings
from cadenza.perform.dynamics import VELOCITY
from cadenza.score import MARKS, Note, Part, Score

# -- a small MusicXML writer: one part, 4/4, a quarter note a division


def _note(step="C", octave=4, notations="", chord=False, dur=1, attrs="", tie=""):
    kind = {1: "quarter", 2: "half", 4: "whole"}[dur]
    tied = f'<tie type="{tie}"/>' if tie else ""
    return (
        f"<note{attrs}>{'<chord/>' if chord else ''}<pitch><step>{step}</step><octave>{octave}</octave></pitch>"
        f"<duration>{dur}</duration>{tied}<type>{kind}</type>"
        f"{f'<notations>{notations}</notations>' if notations else ''}</note>"
    )


def _direction(inner: str, sound: str = "") -> str:
    return f'<direction placement="below"><direction-type>{inner}</direction-type>{sound}</direction>'


def _dynamic(mark: str) -> str:
    return _direction(f"<dynamics><{mark}/></dynamics>")


def _articulation(name: str) -> str:
    return f"<articulations><{name}/></articulations>"


def _musicxml(*measures: list[str], staves: int = 1, left: str = "") -> str:
    """A one-part score; `left`: a right bar line (e.g. a backward repeat) for every measure
    that has one given as a "|:"-prefixed or ":|"-suffixed first/last item."""
    bars = []
    for i, body in enumerate(measures, 1):
        items = list(body)
        start = items and items[0] == "|:"
        end = items and items[-1] == ":|"
        items = [x for x in items if x not in ("|:", ":|")]
        attributes = ""
        if i == 1:
            attributes = (
                "<attributes><divisions>1</divisions><time><beats>4</beats><beat-type>4</beat-type></time>"
                f"{f'<staves>{staves}</staves>' if staves > 1 else ''}</attributes>"
            )
        lines = ""
        if start:
            lines += '<barline location="left"><repeat direction="forward"/></barline>'
        bars.append(
            f'<measure number="{i}">{attributes}{lines}{"".join(items)}'
            + ('<barline location="right"><repeat direction="backward"/></barline>' if end else "")
            + "</measure>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><score-partwise version="3.1"><part-list>'
        '<score-part id="P1"><part-name>Piano</part-name></score-part></part-list>'
        f'<part id="P1">{"".join(bars)}</part></score-partwise>'
    )


def _read(tmp_path, text: str, name: str = "piece.musicxml") -> Score:
    path = tmp_path / name
    path.write_text(text)
    [score] = read_with_music21(path)
    return score


def _notes(score: Score, part: int = 0) -> list[Note]:
    return sorted(score.parts[part].notes, key=lambda n: (n.start_beats, n.pitch))


# -- dynamics and hairpins


def test_dynamics_set_the_velocity_of_later_notes(tmp_path):
    score = _read(tmp_path, _musicxml([_dynamic("p"), _note(), _note(), _dynamic("f"), _note(), _note()]))
    assert [n.velocity for n in _notes(score)] == [VELOCITY["p"], VELOCITY["p"], VELOCITY["f"], VELOCITY["f"]]
    assert [n.velocity for n in _notes(score)] == [49, 49, 96, 96]


def test_notes_before_the_first_dynamic_play_mf(tmp_path):
    score = _read(tmp_path, _musicxml([_note(), _note(), _dynamic("ff"), _note(), _note()]))
    assert [n.velocity for n in _notes(score)] == [80, 80, 112, 112]


def test_a_crescendo_ramps_the_velocity_to_the_next_marking(tmp_path):
    crescendo = [
        _dynamic("p"),
        _note(),
        _direction('<wedge type="crescendo"/>'),
        _note(),
        _note(),
        _note(),
    ]
    score = _read(
        tmp_path,
        _musicxml(crescendo, [_note(), _note(), _direction('<wedge type="stop"/>'), _dynamic("f"), _note(), _note()]),
    )
    velocities = [n.velocity for n in _notes(score)]
    assert velocities[0] == 49 and velocities[-1] == 96
    assert all(a <= b for a, b in zip(velocities, velocities[1:]))  # monotonic
    assert len(set(velocities[1:6])) >= 4  # a ramp, not a step
    assert all(49 <= v < 96 for v in velocities[1:6])


def test_a_crescendo_written_before_a_grace_note_still_ramps(tmp_path):
    """MuseScore writes a wedge before the grace note it begins on; music21 puts a copy of the
    grace note in the measure and leaves the hairpin naming the original."""
    grace = "<note><grace/><pitch><step>B</step><octave>4</octave></pitch><type>eighth</type></note>"
    bars = [
        [_dynamic("p"), _note(), _note(), _note(), _note()],
        [_direction('<wedge type="crescendo"/>'), grace, _note("F"), _note("G"), _note("A"), _note("B")],
        [_note(), _note(), _note(), _note(), _direction('<wedge type="stop"/>')],
        [_dynamic("f"), _note(), _note(), _note(), _note()],
    ]
    notes = sorted(_read(tmp_path, _musicxml(*bars)).parts[0].notes, key=lambda n: n.start_beats)
    [grace] = [n for n in notes if "grace" in n.marks]
    velocities = [n.velocity for n in notes if n is not grace]
    assert grace.velocity == velocities[4]  # as loud as the note it leads to
    assert velocities[:4] == [49] * 4 and velocities[-4:] == [96] * 4
    ramp = velocities[4:12]
    assert all(a < b for a, b in zip(ramp, ramp[1:])) and 49 <= ramp[0] < ramp[-1] < 96


def test_a_diminuendo_without_a_goal_falls_one_step_and_holds(tmp_path):
    bars = [
        [_dynamic("f"), _note(), _direction('<wedge type="diminuendo"/>'), _note(), _note(), _note()],
        [_direction('<wedge type="stop"/>'), _note(), _note(), _note(), _note()],
    ]
    velocities = [n.velocity for n in _notes(_read(tmp_path, _musicxml(*bars)))]
    assert velocities[0] == 96
    assert all(a >= b for a, b in zip(velocities, velocities[1:]))
    assert velocities[-1] == 96 - 16


def test_a_dynamic_under_one_staff_is_for_both_hands(tmp_path):
    """music21 reads a two-staff piano part as two PartStaffs; a marking is for the instrument."""
    right = [_dynamic("pp"), _note("C", 5), _note("D", 5), _note("E", 5), _note("F", 5)]
    left = [_note("C", 3), _note("D", 3), _note("E", 3), _note("F", 3)]
    staff = "<staff>{}</staff>"
    body = [x.replace("</direction>", staff.format(1) + "</direction>") for x in right[:1]]
    body += [x.replace("</note>", staff.format(1) + "</note>") for x in right[1:]]
    body += ["<backup><duration>4</duration></backup>"]
    body += [x.replace("</note>", staff.format(2) + "</note>") for x in left]
    score = _read(tmp_path, _musicxml(body, staves=2))
    assert len(score.parts) == 2
    assert {n.velocity for p in score.parts for n in p.notes} == {VELOCITY["pp"]}


@pytest.mark.parametrize("name", ["Piano", "", "MusicXML Part", "Harp"])
def test_a_two_staff_part_without_a_program_is_a_piano_unless_named_otherwise(tmp_path, name):
    """31 of ASAP's piano scores have an empty part name (music21 then names it after the
    instrument, "Midi_1", and loses its program): they had been continued as four chorale voices."""
    right = [_note("C", 5), _note("D", 5), _note("E", 5), _note("F", 5)]
    left = [_note("C", 3), _note("D", 3), _note("E", 3), _note("F", 3)]
    staff = "<staff>{}</staff>"
    body = [x.replace("</note>", staff.format(1) + "</note>") for x in right]
    body += ["<backup><duration>4</duration></backup>"]
    body += [x.replace("</note>", staff.format(2) + "</note>") for x in left]
    text = _musicxml(body, staves=2).replace("<part-name>Piano</part-name>", f"<part-name>{name}</part-name>")
    if not name:
        text = text.replace(
            "</score-part>",
            "<score-instrument id='P1-I1'><instrument-name>Midi_1</instrument-name></score-instrument></score-part>",
        )
    names = [p.name for p in _read(tmp_path, text).parts]
    assert names == (["Harp", "Harp"] if name == "Harp" else ["Right hand", "Left hand"])


def test_a_velocity_the_file_gives_a_note_wins(tmp_path):
    score = _read(tmp_path, _musicxml([_dynamic("p"), _note(attrs=' dynamics="100"'), _note(), _note(), _note()]))
    velocities = [n.velocity for n in _notes(score)]
    assert velocities[0] == 90  # MusicXML's dynamics="100" is music21's velocity 90
    assert velocities[1:] == [49, 49, 49]


def test_sforzando_and_fp(tmp_path):
    bars = [[_dynamic("p"), _note(), _dynamic("sfz"), _note(), _note(), _dynamic("fp"), _note()]]
    notes = _notes(_read(tmp_path, _musicxml(*bars, [_note(), _note(), _note(), _note()])))
    assert [n.velocity for n in notes[:4]] == [49, 65, 49, 96]
    assert notes[1].marks == ("accent",)
    assert {n.velocity for n in notes[4:]} == {49}


# -- accents and articulations


def test_an_accent_is_louder_than_its_neighbours(tmp_path):
    bar = [_dynamic("mp"), _note(), _note(notations=_articulation("accent")), _note()]
    bar += [_note(notations=_articulation("strong-accent"))]
    notes = _notes(_read(tmp_path, _musicxml(bar)))
    assert [n.velocity for n in notes] == [64, 80, 64, 96]
    assert notes[1].velocity > notes[0].velocity and notes[1].velocity > notes[2].velocity
    assert [n.marks for n in notes] == [(), ("accent",), (), ("marcato",)]


def test_an_accent_without_dynamics_is_one_step_over_mf(tmp_path):
    notes = _notes(_read(tmp_path, _musicxml([_note(), _note(notations=_articulation("accent")), _note(), _note()])))
    assert [n.velocity for n in notes] == [80, 96, 80, 80]


def test_articulations_and_slurs_land_on_their_notes(tmp_path):
    bar1 = [
        _note("C", notations=_articulation("staccato")),
        _note("D", notations=_articulation("tenuto")),
        _note("E", notations=_articulation("staccatissimo")),
        _note("F", notations='<slur type="start" number="1"/>'),
    ]
    bar2 = [
        _note("G"),
        _note("A", notations='<slur type="stop" number="1"/>'),
        _note("B"),
        _note("C", 5, notations=_articulation("detached-legato")),
    ]
    notes = _notes(_read(tmp_path, _musicxml(bar1, bar2)))
    assert [n.marks for n in notes] == [
        ("staccato",),
        ("tenuto",),
        ("staccatissimo",),
        ("slur",),
        ("slur",),
        ("slur-end",),
        (),
        ("staccato", "tenuto"),
    ]
    assert all(m in MARKS for n in notes for m in n.marks)
    assert {n.velocity for n in notes} == {80}  # articulations other than accents leave the velocity


def test_a_chord_under_a_slur_and_a_tied_note_ending_it(tmp_path):
    bar1 = [
        _note("C", notations='<slur type="start"/>' + _articulation("staccato")),
        _note("E", chord=True),
        _note("D"),
        _note("E", dur=2, tie="start", notations='<tied type="start"/>'),
    ]
    bar2 = [_note("E", dur=2, tie="stop", notations='<tied type="stop"/><slur type="stop"/>'), _note("F", dur=2)]
    notes = _notes(_read(tmp_path, _musicxml(bar1, bar2)))
    assert [(n.pitch, n.start_beats, n.duration_beats) for n in notes] == [
        (60, 0.0, 1.0),
        (64, 0.0, 1.0),
        (62, 1.0, 1.0),
        (64, 2.0, 4.0),
        (65, 6.0, 2.0),
    ]
    assert [n.marks for n in notes] == [("staccato", "slur"), ("staccato", "slur"), ("slur",), ("slur-end",), ()]


# -- tempo words


def test_tempo_words_without_a_number_give_music21s_tempo(tmp_path):
    from music21 import tempo

    words = _direction("<words>Allegro</words>").replace("below", "above")
    score = _read(tmp_path, _musicxml([words, _note(), _note(), _note(), _note()]))
    assert score.tempos[0].bpm == pytest.approx(tempo.defaultTempoValues["allegro"])


def test_a_metronome_mark_at_the_same_place_wins_over_tempo_words(tmp_path):
    words = _direction("<words>Adagio</words>", sound='<sound tempo="100"/>')
    score = _read(tmp_path, _musicxml([words, _note(), _note(), _note(), _note()]))
    assert [t.bpm for t in score.tempos] == [100.0]
    rit = _direction("<words>rit.</words>")
    score = _read(tmp_path, _musicxml([_note(), _note(), rit, _note(), _note()]))
    assert [t.bpm for t in score.tempos] == [120.0]


def test_tempo_words_in_the_first_bar_are_the_tempo_from_its_start(tmp_path):
    """ "Andante" over the first note after a rest is the piece's tempo; a MetronomeMark with a
    number in the same bar says the tempo instead."""
    rest = "<note><rest/><duration>1</duration><type>quarter</type></note>"
    bar = [rest, _direction("<words>Andante</words>"), _note(), _note(), _note()]
    score = _read(tmp_path, _musicxml(bar, [_note(dur=4)]))
    assert [(t.start_beats, t.bpm) for t in score.tempos] == [(0.0, 72.0)]
    metronome = "<metronome><beat-unit>quarter</beat-unit><per-minute>66</per-minute></metronome>"
    score = _read(tmp_path, _musicxml([_direction(metronome, sound='<sound tempo="66"/>'), *bar], [_note(dur=4)]))
    assert [(t.start_beats, t.bpm) for t in score.tempos] == [(0.0, 66.0)]


# -- as before, repeats, JSON


def test_a_score_without_markings_reads_as_before(tmp_path):
    score = _read(tmp_path, _musicxml([_note(), _note("D"), _note("E"), _note("F")], [_note("G", dur=4)]))
    assert {n.velocity for n in score.notes()} == {80}
    assert all(n.marks == () for n in score.notes())
    assert all(len(item) == 4 for p in score.to_dict()["parts"] for item in p["notes"])


def test_unfolded_repeats_keep_marks_and_velocities(tmp_path):
    bar1 = ["|:", _dynamic("p"), _note(notations=_articulation("staccato")), _note(notations='<slur type="start"/>')]
    bar1 += [_note(notations='<slur type="stop"/>'), _note(notations=_articulation("accent")), ":|"]
    bar2 = [_dynamic("f"), _note(dur=4)]
    score = _read(tmp_path, _musicxml(bar1, bar2))
    notes = _notes(score)
    assert len(notes) == 9 and len(score.repeats) == 1
    first, second = notes[:4], notes[4:8]
    assert [n.start_beats for n in second] == [4.0, 5.0, 6.0, 7.0]
    assert [(n.velocity, n.marks) for n in first] == [(n.velocity, n.marks) for n in second]
    assert [n.marks for n in first] == [("staccato",), ("slur",), ("slur-end",), ("accent",)]
    assert [n.velocity for n in first] == [49, 49, 49, 65]
    assert notes[8].velocity == 96


def test_json_round_trip_with_marks():
    notes = [Note(60, 0.0, 1.0, 49, ("staccato",)), Note(62, 1.0, 1.0, 65, ("accent", "slur")), Note(64, 2.0, 1.0)]
    score = Score(parts=[Part("Piano", notes=notes)])
    d = score.to_dict()
    assert d["parts"][0]["notes"] == [
        [60, 0.0, 1.0, 49, ["staccato"]],
        [62, 1.0, 1.0, 65, ["accent", "slur"]],
        [64, 2.0, 1.0, 80],
    ]
    back = Score.from_dict(d)
    assert back.parts[0].notes == notes
    assert Note(60, 0.0, 1.0, 80) == Note(60, 0.0, 1.0)  # the old four-field note, as before


# -- what is not played


def test_unsupported_markings_counts_a_trill(tmp_path):
    bar = [
        _note(notations="<ornaments><trill-mark/></ornaments>"),
        _note(notations="<ornaments><trill-mark/></ornaments>"),
        _note(notations="<arpeggiate/>"),
        _note(notations=_articulation("staccato")),
    ]
    path = tmp_path / "trills.musicxml"
    path.write_text(_musicxml(bar))
    assert unsupported_markings(path) == {"trill": 2, "arpeggio": 1}
    quiet = tmp_path / "plain.musicxml"
    quiet.write_text(_musicxml([_dynamic("p"), _note(), _note(), _note(), _note()]))
    assert unsupported_markings(quiet) == {}


def test_what_is_played_but_not_written_back_as_marks(tmp_path):
    """`continue` writes the prompt's hairpins and sforzandi as its notes' loudness, not as marks:
    with marks=True they are counted too, so that it can say so. Its levels (p, f) are written
    back as marks."""
    bar = [_dynamic("p"), _direction('<wedge type="crescendo"/>'), _note(), _note(), _note()]
    end = [
        _note(),
        _direction('<wedge type="stop"/>'),
        _dynamic("f"),
        _note(notations="<ornaments><trill-mark/></ornaments>"),
        _dynamic("sfz"),
    ]
    path = tmp_path / "marked.musicxml"
    path.write_text(_musicxml(bar + [_note()], end + [_note(), _note()]))
    assert unsupported_markings(path) == {"trill": 1}
    assert unsupported_markings(path, marks=True) == {"dynamics mark": 1, "hairpin": 1, "trill": 1}
    from conftest import run_cli

    proc = run_cli(
        "continue", str(path), "--bars", "1", "--seed", "1", "--formats", "musicxml", "--out", str(tmp_path / "c")
    )
    assert proc.returncode == 0, proc.stderr
    assert (
        f"{path}: not written into the continuation's notation: dynamics mark x1, hairpin x1, trill x1" in proc.stderr
    )
    continued = read_score(tmp_path / "c.musicxml")
    new = sorted(n.velocity for n in continued.parts[0].notes if n.start_beats >= 8.0)
    assert [(d.start_beats, d.marking) for d in continued.parts[0].dynamics] == [(0.0, "p"), (5.0, "f")]
    assert set(new) == {VELOCITY["f"]}  # the new bar goes on at the last mark's level (it had played the median)


def test_a_musicxml_file_without_a_title_is_titled_by_its_name_without_suffix(tmp_path):
    """music21 titles it by the file's whole name: a continuation was called "berceuse.mxl · continued"."""
    from cadenza.io import read_score

    for name in ("berceuse.musicxml", "berceuse.xml"):
        (tmp_path / name).write_text(_musicxml([_note(), _note(), _note(), _note()]))
        assert read_score(tmp_path / name).title == "berceuse"


def test_unsupported_markings_in_abc(tmp_path):
    path = tmp_path / "tune.abc"
    path.write_text('X:1\nT:t\nM:4/4\nL:1/4\nK:C\n"^rit." !p! C TD !trill!E {g}F | !>!G A B c |]\n')
    counts = unsupported_markings(path)
    assert counts["trill"] == 2 and counts["accent"] == 1 and "dynamic" not in counts  # !p! is played
    assert "grace note" not in counts  # read and played (marked "grace")
    assert "dynamics mark" not in unsupported_markings(path, marks=True)  # ... and written back as a mark


def test_abc_dynamics_set_the_notes_loudness(tmp_path):
    """A teacher's `!pp!` tune was played at mf: music21 drops ABC's dynamics. Each level holds
    to the next, in its own voice; a chord takes it whole; sfz accents one note; +f+ is one too."""
    from cadenza.io import read_score
    from cadenza.perform.dynamics import VELOCITY

    path = tmp_path / "soft.abc"
    path.write_text(
        "X:1\nT:soft\nM:4/4\nL:1/4\nK:C\nV:1\nV:2\n"
        "[V:1] !pp!C D E F | G A +f+B c | !sfz![CEG]2 !p!z2 |]\n"
        "[V:2] C,4 | !ff!G,,4 | C,4 |]\n"
    )
    upper, lower = read_score(path).parts
    assert [n.velocity for n in upper.notes[:6]] == [VELOCITY["pp"]] * 6
    assert [n.velocity for n in upper.notes[6:8]] == [VELOCITY["f"]] * 2
    assert {n.velocity for n in upper.notes[8:]} == {VELOCITY["f"] + 16}  # sfz: an accent on f
    assert [n.velocity for n in lower.notes] == [80, VELOCITY["ff"], VELOCITY["ff"]]  # mf until its own mark
    # each voice's levels are its marks, which the MusicXML and ABC writers show (they had shown none)
    marked = [[(d.start_beats, d.marking) for d in part.dynamics] for part in read_score(path).parts]
    assert marked == [[(0.0, "pp"), (6.0, "f"), (10.0, "p")], [(4.0, "ff")]]  # each voice its own
    from cadenza.io import write_score

    xml = write_score(read_score(path), tmp_path / "soft.musicxml")
    assert [[(d.start_beats, d.marking) for d in part.dynamics] for part in read_score(xml).parts] == marked
    abc = write_score(read_score(path), tmp_path / "again.abc")  # as !pp! on the first note at or after each
    assert [[(d.start_beats, d.marking) for d in part.dynamics] for part in read_score(abc).parts] == [
        marked[0][:2],  # the p on the last beat's rest marks no note
        marked[1],
    ]
    assert unsupported_markings(path, marks=True) == {"dynamics mark": 1}  # not written back as a mark: the sfz


def test_abc_dynamics_after_chord_symbols_inside_chords_and_at_a_voices_end(tmp_path):
    """A reviewer's cases: "G"!pp!G (ABC 2.1's order) and "C"!trill!!mf!c were dropped silently,
    [C!p!E] made the file unreadable, "G"[!ff!GB] (a newcomer's) was dropped, and a !p! after a
    voice's or tune's last note carried into the next voice and tune."""
    from cadenza.io import read_scores
    from cadenza.perform.dynamics import VELOCITY

    path = tmp_path / "teach.abc"
    path.write_text(
        "X:1\nT:teach\nM:4/4\nL:1/4\nK:G\nV:1\nV:2\n"
        '[V:1] "G"!pp!G A B c | "D"d2 "G" !f!B2 | [C!p!E] "C"!trill!!mf!c "G"[!ff!GB] A | G4 !p!|]\n'
        "[V:2] G,4 | D,4 | C,4 | G,4 |]\n"
        "X:2\nT:two\nM:4/4\nL:1/4\nK:C\nC D E F |]\n"
    )
    first, second = read_scores(path)
    upper, lower = first.parts
    assert [n.velocity for n in upper.notes] == [VELOCITY[v] for v in "pp pp pp pp pp f p p mf ff ff ff ff".split()]
    assert [c.text for c in first.chords] == ["G", "D", "G", "C", "G"]  # the chord symbols stay
    assert {n.velocity for n in lower.notes} == {80} and {n.velocity for n in second.parts[0].notes} == {80}


# -- grace notes


def _grace(step: str, octave: int = 5, kind: str = "eighth", chord: bool = False, slash: bool = True) -> str:
    slashed = ' slash="yes"' if slash else ""
    return (
        f"<note><grace{slashed}/>{'<chord/>' if chord else ''}"
        f"<pitch><step>{step}</step><octave>{octave}</octave></pitch><type>{kind}</type></note>"
    )


def test_grace_notes_sound_just_before_their_note(tmp_path):
    """Grace notes were dropped: a Mozart score read and written again, or performed, lost its
    ornaments (3,900 in ASAP's 220 scores). Each is now a Note marked "grace", a 64th long, the
    last ending where its note begins; a chord of them sounds together; the note keeps its time."""
    bars = [
        [_dynamic("p"), _note("E", 5), _grace("D"), _note("C", 5), _grace("A", 4, "16th"), _grace("B", 4, "16th")]
        + [_note("C", 5), _grace("E", 4), _grace("G", 4, chord=True), _note("F")],
    ]
    notes = sorted(_read(tmp_path, _musicxml(*bars)).parts[0].notes, key=lambda n: (n.start_beats, n.pitch))
    graces = [(n.pitch, n.start_beats, n.duration_beats) for n in notes if "grace" in n.marks]
    assert graces == [(74, 0.9375, 0.0625), (69, 1.875, 0.0625), (71, 1.9375, 0.0625), (64, 2.9375, 0.0625)] + [
        (67, 2.9375, 0.0625)
    ]
    assert [(n.pitch, n.start_beats, n.duration_beats) for n in notes if not n.marks] == [
        (76, 0.0, 1.0),
        (72, 1.0, 1.0),
        (72, 2.0, 1.0),
        (65, 3.0, 1.0),
    ]
    assert {n.velocity for n in notes} == {VELOCITY["p"]}  # as loud as the notes they lead to


def test_grace_notes_on_the_first_beat_are_left_out_and_said(tmp_path):
    from music21 import converter

    from cadenza.io.scores import music21_to_score

    path = tmp_path / "first.musicxml"
    path.write_text(_musicxml([_grace("D"), _note("C"), _note(), _grace("B", 4), _note(), _note()]))  # B before beat 3
    problems: list[str] = []
    score = music21_to_score(converter.parse(str(path)), title="first", problems=problems)
    assert [(n.pitch, n.start_beats) for n in score.parts[0].notes if "grace" in n.marks] == [(71, 1.9375)]
    assert problems == ["first: 1 grace note(s) before its first beat are left out"]


def test_abc_grace_notes_are_read(tmp_path):
    score = _read(tmp_path, "X:1\nT:t\nM:4/4\nL:1/4\nK:D\nD {g}A {ag}B d |]\n", "tune.abc")
    graces = sorted((n.start_beats, n.pitch) for n in score.parts[0].notes if "grace" in n.marks)
    assert graces == [(0.9375, 79), (1.875, 81), (1.9375, 79)]


def _voiced(step: str, octave: int, voice: int, dur: int = 1, grace: bool = False) -> str:
    kind = {1: "quarter", 2: "half", 4: "whole"}[dur]
    timing = "" if grace else f"<duration>{dur}</duration>"
    return (
        f"<note>{'<grace/>' if grace else ''}<pitch><step>{step}</step><octave>{octave}</octave></pitch>{timing}"
        f"<voice>{voice}</voice><type>{'eighth' if grace else kind}</type></note>"
    )


def test_grace_notes_of_two_voices_each_lead_to_their_own_note(tmp_path):
    """A reviewer's case: a grace in each voice before beat 2 was read as a run of two (0.875,
    0.9375); and graces read after the first were placed by their bar's offset, not the piece's
    (music21 answers a note's offset by the stream it was last reached through)."""
    bar = [
        _voiced("G", 5, 1),
        _voiced("A", 5, 1, grace=True),
        _voiced("G", 5, 1),
        _voiced("F", 5, 1, dur=2),
        "<backup><duration>4</duration></backup>",
        _voiced("C", 4, 2),
        _voiced("D", 4, 2, grace=True),
        _voiced("E", 4, 2, dur=2),
        _voiced("D", 4, 2),
    ]
    score = _read(tmp_path, _musicxml(bar, bar))
    graces = sorted((n.start_beats, n.pitch) for n in score.parts[0].notes if "grace" in n.marks)
    assert graces == [(0.9375, 62), (0.9375, 81), (4.9375, 62), (4.9375, 81)]


def test_a_grace_note_on_a_pickup_keeps_the_pickup(tmp_path):
    """A reviewer's case: the grace before a pickup's note is not on a 16th, so the pickup was
    not found, and the writers added a whole opening bar of rests before it."""
    from cadenza.io import write_score
    from cadenza.score import pickup_start

    pickup = '<measure number="0" implicit="yes"><attributes><divisions>1</divisions><time><beats>4</beats>'
    pickup += f"<beat-type>4</beat-type></time></attributes>{_grace('A', 4)}{_note('G')}</measure>"
    text = _musicxml([_note("C", 5, dur=4)], [_note("B", dur=4)]).replace(
        '<measure number="1"><attributes><divisions>1</divisions><time><beats>4</beats><beat-type>4</beat-type></time>'
        "</attributes>",
        pickup + '<measure number="1">',
    )
    score = _read(tmp_path, text)
    assert pickup_start(score) == 3.0
    write_score(score, tmp_path / "back.musicxml")
    assert '<measure number="0" implicit="yes">' in (tmp_path / "back.musicxml").read_text()
    write_score(score, tmp_path / "back.mid")
    back = read_score(tmp_path / "back.mid")
    assert min(n.start_beats for n in back.parts[0].notes) == pytest.approx(3.0)  # the grace: at the pickup's start


def test_a_melody_with_grace_notes_is_one_line():
    """A reviewer's case: a reel with ornaments was continued by the chorale model, as "one part
    with chords", and a harmonized melody had each note before a grace cut a 64th short."""
    from cadenza.compose.harmonizer import melody_line
    from cadenza.score import one_line, overlaps

    melody = [Note(79, 0.0, 1.0), Note(72, 0.9375, 0.0625, 80, ("grace",)), Note(74, 1.0, 1.0), Note(72, 2.0, 2.0)]
    assert overlaps(melody) == 0 and one_line(melody)
    assert melody_line(Part("Flute", 73, False, melody), None, "tune.musicxml") == melody


def test_a_grace_on_the_first_note_is_named_as_not_played(tmp_path):
    """The reader leaves it out (it would begin before beat 0); `perform` and `continue` say so."""
    path = tmp_path / "first.abc"
    path.write_text("X:1\nT:t\nM:4/4\nL:1/4\nK:D\n{g}A F {g}A d |]\n")
    assert unsupported_markings(path) == {"grace note on the first note": 1}
    assert [n.start_beats for n in _read(tmp_path, path.read_text(), "again.abc").parts[0].notes] == [
        0,
        1,
        1.9375,
        2,
        3,
    ]
    pickup = '<measure number="0" implicit="yes"><attributes><divisions>1</divisions><time><beats>4</beats>'
    pickup += f"<beat-type>4</beat-type></time></attributes>{_grace('A', 4)}{_note('G')}</measure>"
    text = _musicxml([_note("C", 5, dur=4)]).replace(
        '<measure number="1"><attributes><divisions>1</divisions><time><beats>4</beats><beat-type>4</beat-type></time>'
        "</attributes>",
        pickup + '<measure number="1">',
    )
    (tmp_path / "pickup.musicxml").write_text(text)
    assert unsupported_markings(tmp_path / "pickup.musicxml") == {}  # a pickup's grace begins after beat 0: played
