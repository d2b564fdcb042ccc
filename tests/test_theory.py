"""cadenza.theory: the parallels rule on hand-made motions, keys (estimated, and the key a melody
is in), the grid and the top line, phrase ends, cadence chords."""

import itertools

import numpy as np
import pytest

from cadenza.score import Key, Meter, Note, Part, Score
from cadenza.theory import (
    beats_to_step,
    cadence_chords,
    cut_top_line,
    estimate_key,
    final_chord_classes,
    parallel_motions,
    parallel_to,
    phrase_ends,
    scale,
    top_line,
)
from conftest import melody

# -- the parallels rule --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "upper, lower, parallel",
    [
        ((67, 69), (60, 62), True),  # a fifth, both up a tone: parallel fifths
        ((67, 65), (60, 58), True),  # ... both down
        ((72, 74), (60, 62), True),  # an octave: parallel octaves
        ((60, 62), (60, 62), True),  # a unison
        ((79, 81), (60, 62), True),  # a twelfth (a fifth an octave up) counts as a fifth
        ((67, 81), (60, 62), True),  # a fifth to a twelfth in the same direction
        ((72, 79), (60, 55), False),  # an octave to a double octave in contrary motion
        ((67, 62), (60, 55), True),  # down a fourth and down a fifth: still fifth to fifth
        ((67, 65), (60, 62), False),  # contrary motion, fifth to third
        ((67, 74), (60, 67), True),  # both up a fifth
        ((67, 67), (60, 48), False),  # oblique: the upper voice holds while the lower leaps
        ((67, 72), (60, 60), False),  # oblique: the lower voice repeats its note
        ((67, 67), (60, 60), False),  # both repeat
        ((64, 69), (60, 62), False),  # a third to a fifth: a direct fifth, not a parallel
        ((67, 74), (60, 62), False),  # a fifth to an octave: different intervals
        ((72, 74), (60, 67), False),  # an octave to a fifth
        ((72, 79), (60, 67), True),  # both up a fifth in octaves
        ((65, 67), (60, 62), False),  # a fourth to a fourth is no perfect consonance here
    ],
)
def test_parallel_to_on_hand_made_motions(upper, lower, parallel):
    (p1, p2), (q1, q2) = upper, lower
    assert bool(parallel_to(p1, q1, q2, p2, upper=True)) is parallel  # the upper voice moving ...
    assert bool(parallel_to(q1, p1, p2, q2, upper=False)) is parallel  # ... or the lower one
    assert [t for t, *_ in parallel_motions([[p1, q1], [p2, q2]])] == ([1] if parallel else [])


def test_parallel_to_takes_an_array_of_candidates():
    # the lower voice goes 60 -> 62 under a fifth 67: which next pitches of the upper voice are parallel?
    x = np.arange(50, 90)
    bad = parallel_to(67, 60, 62, x, upper=True)
    assert bad.shape == x.shape and bad.dtype == bool
    assert x[bad].tolist() == [69, 81]  # a fifth and a twelfth above 62; not 57 (down) nor 67 (held)
    assert not parallel_to(67, 60, 60, x, upper=True).any()  # the other voice holds: nothing is parallel
    assert not parallel_to(64, 60, 62, x, upper=True).any()  # a third is no perfect interval


def test_parallel_motions_skip_rests_and_name_the_interval():
    grid = [[72, 67, 60], [74, None, 62], [76, 71, 64], [74, 69, 62]]
    # soprano and bass in octaves all along; the alto rests at step 1, then moves in fifths with the bass
    assert parallel_motions(grid) == [(1, 0, 2, 0), (2, 0, 2, 0), (3, 0, 2, 0), (3, 1, 2, 7)]


# -- keys ------------------------------------------------------------------------------------------


def test_estimate_key_finds_the_chorale_key(chorale):
    assert str(estimate_key(chorale.notes())) == "F# minor"


def test_the_cadence_key_follows_the_melody_when_the_signature_does_not_fit():
    from cadenza.score import Key
    from cadenza.theory import melody_key

    tune = melody()  # E F# G# A B ... on E: E major
    tune.keys = [Key(0.0, 0, "major")]  # a wrong signature: C major
    assert str(melody_key(tune, tune.parts[0].notes)) == "E major"
    tune.keys = [Key(0.0, 4, "major")]
    assert melody_key(tune, tune.parts[0].notes) is tune.keys[0]


def test_scales_and_cadence_chords():
    assert sorted(scale(Key(0.0, 2, "major"))) == [1, 2, 4, 6, 7, 9, 11]  # D major
    assert sorted(scale(Key(0.0, 9, "minor"))) == [0, 2, 4, 5, 7, 8, 9, 11]  # A minor with its G#
    (tonic_bass, tonic), (dominant_bass, dominant) = cadence_chords(Key(0.0, 9, "minor"))
    assert tonic_bass == 9 and tonic == {9, 0, 1, 4}  # with the Picardy third
    assert dominant_bass == 4 and dominant == {4, 8, 11, 2}  # E7
    assert final_chord_classes(Key(0.0, 7, "major"), 3, 4) == {7}  # the bass ends on the tonic
    assert final_chord_classes(Key(0.0, 7, "major"), 1, 4) == {7, 11, 2}
    assert final_chord_classes(Key(0.0, 7, "major"), 0, 1) == {7}  # a melody too


# -- the grid, the top line, phrase ends -------------------------------------------------------------


def test_beats_to_step_rounds_halves_up():
    assert [beats_to_step(b, 4) for b in (0.0, 0.125, 0.375, 0.2, 1.0)] == [0, 1, 2, 1, 4]
    assert [beats_to_step(b, 1) for b in (0.5, 1.5, 2.5, 2.49)] == [1, 2, 3, 2]


def test_top_line_keeps_the_highest_of_each_onset_and_cut_top_line_ends_it_at_the_next():
    notes = [Note(60, 0.0, 4.0), Note(64, 0.0, 2.0), Note(55, 1.0, 1.0), Note(67, 2.0, 1.0), Note(62, 2.0, 2.0)]
    assert top_line(notes) == [Note(64, 0.0, 2.0), Note(55, 1.0, 1.0), Note(67, 2.0, 1.0)]
    assert cut_top_line(notes) == [Note(64, 0.0, 1.0), Note(55, 1.0, 1.0), Note(67, 2.0, 1.0)]


def test_phrase_ends_at_long_notes_rests_and_fermatas():
    line = [
        Note(60, 0, 1),
        Note(62, 1, 1),
        Note(64, 2, 2),
        Note(65, 4, 1),
        Note(67, 5, 1),
        Note(65, 7, 1),
        Note(64, 8, 1),
        Note(62, 9, 1),
        Note(60, 10, 2),
    ]
    meter = Meter(0.0, 4, 4)
    # a half note the next note does not match (beat 2), a note before a rest of a beat (beat 5), the last
    assert [x.start_beats for x in phrase_ends(line, meter)] == [2, 5, 10]
    assert [x.start_beats for x in phrase_ends(line, meter, fermatas_beats=[4.0, 8.0])] == [4, 8, 10]
    assert phrase_ends([], meter) == []


# -- spelling by key and function ------------------------------------------------------------------


def names(key, pitches, **context) -> list[str]:
    from cadenza.theory import spell

    out = []
    for pitch in pitches:
        letter, alter, _ = spell(pitch, key, **context)
        out.append(letter + {1: "#", -1: "b", 2: "x", -2: "bb", 0: ""}[alter])
    return out


def test_spelling_follows_the_spelled_key():
    from cadenza.score import parse_key

    assert names(parse_key("Cb major"), [71, 61, 63, 64, 66, 68, 70]) == ["Cb", "Db", "Eb", "Fb", "Gb", "Ab", "Bb"]
    assert names(parse_key("C# major"), [61, 63, 65, 66, 68, 70, 72]) == ["C#", "D#", "E#", "F#", "G#", "A#", "B#"]
    assert names(parse_key("Gb major"), [71, 65]) == ["Cb", "F"]
    assert names(parse_key("F# major"), [71, 65]) == ["B", "E#"]


def test_chromatic_notes_are_spelled_by_what_they_do():
    from cadenza.score import parse_key

    d, a_minor, g = parse_key("D major"), parse_key("A minor"), parse_key("G major")
    # a sharp key's chromatic notes are raised degrees (or naturals), never flats
    assert names(d, range(60, 72)) == ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
    # passing notes spelled the way they move; neighbours as the degree that resolves
    assert names(d, [63], toward=64) + names(d, [63], toward=62) == ["D#", "Eb"]  # D-D#-E, E-Eb-D
    assert names(d, [70], toward=71) + names(d, [70], toward=69) == ["A#", "Bb"]
    # the leading tone of minor stays raised, even falling (A G# G F# F E)
    assert names(a_minor, [68], toward=67) == ["G#"]
    assert names(a_minor, [68, 70, 61, 63]) == ["G#", "Bb", "C#", "D#"]
    # without a step to go by, the key's notes sounding with it decide: A# in F# major's chord, Bb in G minor's
    assert names(g, [70], against=[66, 61]) == ["A#"]
    assert names(g, [70], against=[67, 62]) == ["Bb"]
    assert names(parse_key("C major"), [68, 63], against=[65, 60]) == ["Ab", "Eb"]  # F minor in C major
    # a step's spelling gives way to the key's where it would write Cx or Cb; a lower neighbour keeps it
    e, f = parse_key("E major"), parse_key("F major")
    assert names(e, [62], toward=63) + names(f, [71], toward=70) == ["D", "B"]  # D-D#, B-Bb
    assert names(parse_key("C# minor"), [67], toward=68, came_from=68) == ["Fx"]  # G# Fx G#
    assert names(parse_key("A major"), [65], toward=66, came_from=64) == ["E#"]  # E E# F#: the key's own default
    # but the third of a chord sounding with it keeps its letter: E# over C# (V of iii in D major)
    assert names(d, [65], toward=66, against=[61, 68]) + names(d, [65], toward=64, against=[61, 68]) == ["E#", "E#"]
    # a double sharp only where a step asks for one
    assert names(parse_key("F# major"), [67], toward=68) + names(parse_key("F# major"), [67]) == ["Fx", "G"]
    # or where it is the third of a major chord on a note of the key: Fx in D# major, V of G# major
    assert names(parse_key("C# minor"), [67], toward=65, against=[63, 70]) == ["Fx"]
    assert names(parse_key("F# major"), [67], against=[63, 70]) + names(parse_key("F# major"), [67], against=[59]) == [
        "Fx",
        "G",
    ]
    # not a chromatic passing note over a chord that is not D# major: G# G F# over B7 in E major
    assert names(parse_key("E major"), [67], toward=66, against=[51, 54, 57]) == ["G"]
    assert names(parse_key("F# major"), [62], toward=61, against=[58, 66]) == ["D"]  # D# D C# over F# A#
    # a figure keeps the spelling its pitch had earlier in the bar: G# Fx G# Fx, not G# Fx G# G
    c_sharp_minor = parse_key("C# minor")
    assert names(c_sharp_minor, [67], toward=56, came_from=68) == ["G"]
    assert names(c_sharp_minor, [67], toward=56, came_from=68, earlier=("F", 2)) == ["Fx"]
    # a double sharp or a white key with an accidental is kept only by a step: not E# kept onto an F leapt to
    assert names(d, [65], toward=62, came_from=69, earlier=("E", 1)) == ["F"]
    assert names(d, [65], toward=66, earlier=("E", 1)) == ["E#"]
    # but a note of the key is the key's, and a semitone step still decides: D D# E Eb D in D major
    assert names(parse_key("C major"), [65], earlier=("E", 1)) == ["F"]
    assert names(d, [63], toward=62, earlier=("D", 1)) == ["Eb"]


def test_a_melody_cadence_is_heard_as_the_cadence_it_was_written_for():
    """The realizer writes a lone melody's cadences with theory.melody_cadence; the analyzer hears
    them with theory.cadence_kind: each pair of degrees must be heard as its kind."""
    from cadenza.score import parse_key
    from cadenza.theory import cadence_kind, melody_cadence

    for name in ("C major", "A minor", "F# major", "Bb minor"):
        key = parse_key(name)
        for kind, away in itertools.product(("authentic", "imperfect", "half", "plagal"), (False, True)):
            before, end = melody_cadence(key, kind, away)
            for x in sorted(before) if before is not None else [None]:
                for y in sorted(end):
                    heard = cadence_kind(key, None, {x} if x is not None else set(), None, {y}, y)
                    assert heard == kind, (name, kind, x, y, heard)
        # away from home, an authentic cadence comes to its tonic by the leading tone alone
        assert melody_cadence(key, "authentic", away=True) == (
            frozenset({(key.tonic + 11) % 12}),
            frozenset({key.tonic}),
        )


def chords_score(signature: Key, bars: list[list[tuple[int, ...]]]) -> Score:
    """A piano part of whole-beat chords in 4/4, four chords a bar, under one key signature."""
    notes = [Note(p, 4 * b + i, 1.0) for b, bar in enumerate(bars) for i, chord in enumerate(bar) for p in chord]
    return Score(parts=[Part("Piano", 0, False, notes)], keys=[signature])


C_BARS = [[(60, 64, 67), (65, 69, 72), (67, 71, 74), (60, 64, 67)]] * 2  # I IV V I in C
AB_BARS = [[(56, 60, 63), (61, 65, 68), (63, 67, 70), (56, 60, 63)]] * 4  # I IV V I in Ab


def test_a_passage_is_heard_in_its_own_key_under_the_signature():
    from cadenza.score import parse_key
    from cadenza.theory import passage_keys

    keys = passage_keys(chords_score(parse_key("C major"), C_BARS + AB_BARS + C_BARS))
    named = [(k.start_beats, str(k)) for k in keys]
    assert [name for _, name in named] == ["C major", "Ab major", "C major"], named
    assert 4 <= named[1][0] <= 12 and 20 <= named[2][0] <= 28, named  # near bars 3 and 7
    # one key throughout: one passage
    assert [str(k) for k in passage_keys(chords_score(parse_key("C major"), C_BARS * 3))] == ["C major"]


def test_passage_keys_at_the_edges():
    """Notes before beat 0 count only from 0 (they had wrapped round to the end); no notes, drums
    only, a church mode's signature: the score's keys; a lone melody's few notes say no key of
    their own under a signature; a silence of 100,000 beats."""
    from cadenza.score import parse_key
    from cadenza.theory import passage_keys

    c = parse_key("C major")
    early = chords_score(c, AB_BARS + C_BARS * 4)
    early.parts[0].notes = [replace_start(n, n.start_beats - 16) for n in early.parts[0].notes]
    assert [str(k) for k in passage_keys(early)][-1] == "C major"
    only_before = Score(parts=[Part("", 0, False, [Note(60, -2, 1)])], keys=[c])
    assert passage_keys(only_before) == [c]
    assert passage_keys(Score(keys=[c])) == [c]
    assert passage_keys(Score(parts=[Part("Drums", 0, True, [Note(36, 0, 1)])], keys=[c])) == [c]
    dorian = Key(0.0, 2, "minor", "D", "dorian")
    assert passage_keys(chords_score(dorian, AB_BARS)) == [dorian]
    line = Score(parts=[Part("", 0, False, [Note(p, i, 1) for i, p in enumerate([63, 62, 63, 64] * 3)])], keys=[c])
    assert [str(k) for k in passage_keys(line)] == ["C major"]
    far = chords_score(c, C_BARS)
    far.parts[0].notes.append(Note(60, 100_000, 1))
    assert [str(k) for k in passage_keys(far)] == ["C major"]


def replace_start(note: Note, start: float) -> Note:
    from dataclasses import replace

    return replace(note, start_beats=start)


def test_a_passage_key_is_named_near_the_signature():
    """Pitch class 8's minor key is G# minor under E major's signature, Ab minor under Db
    major's; the dominant of F# minor is C# major, not Db major, under three sharps."""
    from cadenza.score import parse_key
    from cadenza.theory import passage_keys

    g_sharp_minor = [[(56, 59, 63), (61, 64, 68), (63, 67, 70), (56, 59, 63)]] * 4  # i iv V i
    for signature, name in (("E major", "G# minor"), ("Db major", "Ab minor")):
        assert str(passage_keys(chords_score(parse_key(signature), g_sharp_minor))[0]) == name
    c_sharp_major = [[(61, 65, 68), (66, 70, 73), (68, 72, 75), (61, 65, 68)]] * 4
    assert str(passage_keys(chords_score(parse_key("A major"), c_sharp_major))[0]) == "C# major"


def test_a_note_of_its_passage_key_is_spelled_as_that_key_spells_it():
    from cadenza.score import parse_key

    c_sharp_minor, g_sharp_major = (
        parse_key("C# minor"),
        Key(0.0, 8, "major", "G#"),
    )  # eight sharps: named so by passage_keys
    assert names(c_sharp_minor, [67]) == ["G"]  # no double sharp without a reason
    assert names(c_sharp_minor, [67], passage=g_sharp_major) == ["Fx"]  # the leading tone of the passage's key
    # a note of the signature's key keeps its spelling; one of neither key follows the rules as before
    assert names(c_sharp_minor, [64, 62], passage=g_sharp_major) == ["E", "D"]
    assert names(parse_key("Eb major"), [71], passage=parse_key("Gb major")) == ["Cb"]
    assert names(parse_key("Eb major"), [71]) == ["B"]


def test_a_key_signature_means_the_major_key_or_its_relative_minor_as_the_notes_say():
    from cadenza.score import Key, Note
    from cadenza.theory import signature_key

    a_minor = [Note(p, i * 0.5, 0.5) for i, p in enumerate([57, 60, 64, 69, 68, 64, 59, 57] * 2)]
    c_major = [Note(p, i * 0.5, 0.5) for i, p in enumerate([60, 64, 67, 72, 65, 62, 59, 60] * 2)]
    assert signature_key(Key(0.0, 0, "major"), a_minor) == Key(0.0, 9, "minor")
    assert signature_key(Key(0.0, 0, "major"), c_major) == Key(0.0, 0, "major")
    assert signature_key(Key(0.0, 9, "minor"), c_major) == Key(0.0, 0, "major")
    assert signature_key(Key(0.0, 2, "major"), []) == Key(0.0, 2, "major")


def test_cross_relations_are_a_letter_against_itself_altered():
    from cadenza.score import parse_key
    from cadenza.theory import cross_related

    d_major, a_minor, c_major = parse_key("D major"), parse_key("A minor"), parse_key("C major")
    assert cross_related([6], d_major) == {5}  # F sharp against F
    assert cross_related([7], a_minor) == {8}  # G against G sharp; F sharp (the raised 6th) is a step
    assert cross_related([4], c_major) == {3}  # E against E flat, not against F (a diatonic semitone)
    assert cross_related([11, 0], c_major) == {10, 1}  # B against B flat, C against C sharp
    assert cross_related([], c_major) == frozenset()


def test_a_key_is_named_from_the_home_key_as_its_degree():
    """The dominant of C# minor is G# major (Key itself says Ab major: no signature of eight
    sharps), and the major of G# minor G# major; the subdominant of Gb major Cb major; names of
    one sharp or flat at most."""
    from cadenza.score import parse_key
    from cadenza.theory import key_name

    for home, key, name in [
        ("C# minor", "G# major", "G# major"),
        ("C# minor", "B major", "B major"),
        ("F# major", "D# minor", "D# minor"),
        ("Gb major", "Cb major", "Cb major"),
        ("D minor", "C# major", "C# major"),
        ("G major", "D major", "D major"),
        ("C major", "F# major", "F# major"),
        ("F# major", "F major", "F major"),  # not E# major (eleven sharps)
        ("Eb major", "E minor", "E minor"),  # not Fb minor
        ("C# minor", "C major", "C major"),  # not B# major
        ("G# minor", "D# major", "D# major"),  # the dominant keeps its letter
        ("G# minor", "G# major", "G# major"),  # and so does the tonic's other mode
        ("D# minor", "D# major", "D# major"),
    ]:
        assert key_name(parse_key(key), parse_key(home)) == name, (home, key)
    assert key_name(parse_key("G# major"), None) == "Ab major"


def test_a_plans_sections_are_named_in_its_key():
    from cadenza.plan.form import Plan

    plan = Plan.from_dict(
        {"key": "C# minor", "sections": [{"label": "A", "bars": 4}, {"label": "B", "bars": 4, "key": "G# major"}]}
    )
    assert "bars 5-8  G# major" in plan.describe(), plan.describe()
    assert plan.form() == "A4 B4@G#"  # the form line names it as the section line does (it said @Ab)
    assert plan.to_dict()["form"] == "A4 B4@G#"  # in the plan file too (written for readers, not read)
    gb = Plan.from_dict(
        {"key": "C major", "sections": [{"label": "A", "bars": 4}, {"label": "B", "bars": 4, "key": "Gb major"}]}
    )
    assert Plan.from_dict(gb.to_dict()).sections[1].key.tonic_name == "Gb"  # read back with its own signature
    assert Plan.from_dict({"key": "C major", "sections": [{"label": "A", "bars": 4, "key": "A minor"}]}).form() == (
        "A4@a"
    )


def test_a_passage_is_named_nearest_its_signature():
    """A passage's key takes, of its two names, the one nearer the signature on the line of fifths:
    Schubert's Impromptu op. 90/1 writes its Cb major passage in C minor's signature with Cb and
    Fb, where B major's B and E had been written."""
    from cadenza.score import Key, parse_key
    from cadenza.theory import passage_named

    assert str(passage_named(Key(0.0, 11, "major"), parse_key("C minor"))) == "Cb major"
    assert str(passage_named(Key(0.0, 8, "major"), parse_key("C# minor"))) == "G# major"  # the dominant, as before
    assert str(passage_named(Key(0.0, 8, "minor"), parse_key("Db major"))) == "Ab minor"
    assert str(passage_named(Key(0.0, 6, "major"), parse_key("C major"))) == "F# major"  # a tie: as key_spelled
    # minor's raised 7th, an accidental, is the passage's where that key spells it otherwise: Cb in Cb major
    c_minor = parse_key("C minor")
    assert names(c_minor, [71], passage=Key(0.0, 11, "major", "Cb")) == ["Cb"]
    assert names(c_minor, [71], passage=parse_key("Eb major")) + names(c_minor, [71]) == ["B", "B"]


def test_grace_notes_do_not_say_a_passage_key():
    """A lone melody with a grace note before each note: counted, the ornaments made it thick
    enough to say a key of its own (A minor under C major's signature), and in Beethoven's sonata
    no. 7 (op. 10 no. 3), Largo, a G# neighbour came out as Ab. A grace note is an ornament, not
    harmony."""
    from dataclasses import replace

    from cadenza.theory import passage_keys

    notes = []
    for i, p in enumerate([69, 71, 72, 71, 69, 68, 69, 64] * 4):
        notes.append(Note(p, float(i), 1.0))
        if i:
            notes.append(Note(p + 1, i - 0.0625, 0.0625, 80, ("grace",)))
    graced = Score(parts=[Part("Flute", 73, False, notes)], keys=[Key(0.0, 0, "major", "C")], meters=[Meter(0.0, 4, 4)])
    counted = replace(graced, parts=[Part("Flute", 73, False, [replace(n, marks=()) for n in notes])])
    assert [k.tonic_name for k in passage_keys(counted)] == ["C", "A", "C"]  # what counting them said
    assert passage_keys(graced) == [Key(0.0, 0, "major", "C")]
