"""The analyzer (cadenza.plan.analyze), its cadence matching (theory.cadence_kind) and `cadenza analyze`."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from cadenza.plan.analyze import _opens_in, analyze
from cadenza.plan.form import Plan, load_plan
from cadenza.score import Key, Meter, Note, Part, Score, parse_key, transpose
from cadenza.theory import cadence_kind, cadence_progression, fermatas_mark_phrases
from conftest import one_line_error, run_cli

C, D, E, F, G, A, B = 60, 62, 64, 65, 67, 69, 71  # C4 ...

# A 4-bar phrase in C major (quarter notes, each sounded as two eighths, then a whole note), over
# one chord a half bar:
# (melody pitches by bar, chords (bass, upper voices) by half bar)
PHRASE_A = (
    [[E + 12, D + 12, C + 12, D + 12], [E + 12, E + 12, D + 12, E + 12], [F + 12, E + 12, D + 12, D + 12], [C + 12]],
    [(C - 12, (G - 12, E))] * 4 + [(G - 24, (D, B - 12)), (G - 24, (F, B - 12))] + [(C - 12, (G - 12, E))] * 2,
)  # ends V7 - I, melody on the tonic: authentic
PHRASE_B = (
    [[G + 12, A + 12, G + 12, F + 12], [E + 12, F + 12, G + 12, A + 12], [A + 12, G + 12, F + 12, E + 12], [D + 12]],
    [(F - 24, (A - 12, C))] * 2
    + [(C - 12, (G - 12, E))] * 2
    + [(F - 24, (A - 12, C))] * 2
    + [(G - 24, (B - 12, D))] * 2,
)  # ends IV - V: a half cadence
# A with its second and third bars rewritten, same rhythm and chords
PHRASE_A_VARIED = (
    [PHRASE_A[0][0], [G + 12, A + 12, B + 12, G + 12], [A + 12, F + 12, B, D + 12], PHRASE_A[0][3]],
    PHRASE_A[1],
)


def piece(*phrases, shifts=None, key=Key(0.0, 0, "major"), fermatas=()) -> Score:
    """A three-part score (melody, inner voice, bass) of 4-bar phrases in 4/4, phrase i moved by
    shifts[i]."""
    melody, inner, bass = [], [], []
    at = 0.0
    for i, (bars, chords) in enumerate(phrases):
        k = shifts[i] if shifts else 0
        start = at
        for bar in bars:
            if len(bar) > 1:  # each quarter as two eighths: a tune that moves in eighths
                bar = [p for q in bar for p in (q, q)]
            length = 4.0 / len(bar)
            for p in bar:
                melody.append(Note(p + k, at, length))
                at += length
        for j, (low, upper) in enumerate(chords):
            bass.append(Note(low + k, start + 2 * j, 2.0))
            inner.extend(Note(p + k, start + 2 * j, 2.0) for p in upper)
    return Score(
        parts=[Part("melody", notes=melody), Part("inner", notes=inner), Part("bass", notes=bass)],
        meters=[Meter(0.0, 4, 4)],
        keys=[key],
        fermatas_beats=list(fermatas),
    )


def labels(analysis) -> list[str]:
    return [s.name for s in analysis.plan.sections]


def relations(analysis) -> list[str]:
    return [analysis.plan.relation(i) for i in range(len(analysis.plan.sections))]


# -- form ------------------------------------------------------------------------------------


def test_exact_repeats_aaba():
    a = analyze(piece(PHRASE_A, PHRASE_A, PHRASE_B, PHRASE_A))
    assert a.bars == 16 and a.meter == "4/4" and a.key == parse_key("C major")
    assert [(p.start_bar, p.end_bar) for p in a.phrases] == [(0, 4), (4, 8), (8, 12), (12, 16)]
    assert [p.end_beats for p in a.phrases] == [12.0, 28.0, 44.0, 60.0]
    assert labels(a) == ["A", "A", "B", "A"]
    assert relations(a) == ["new", "exact", "new", "exact"]
    assert [p.cadence for p in a.phrases] == ["authentic", "authentic", "half", "authentic"]
    assert a.plan.form() == "A4 A4 B4 A4"
    assert a.similarity.shape == (16, 16)
    assert a.similarity[0, 4] == 1.0 and a.similarity[1, 13] == 1.0 and a.similarity[0, 8] < 0.5
    np.testing.assert_allclose(a.similarity, a.similarity.T)


def test_a_period_s_second_phrase_opening_as_its_first_is_its_echo():
    question = (PHRASE_A[0][:1] + PHRASE_B[0][1:], PHRASE_A[1][:2] + PHRASE_B[1][2:])  # A's first bar, then IV - V
    plan = analyze(piece(question, PHRASE_A, PHRASE_B, PHRASE_B)).plan
    first = plan.sections[0]
    assert (first.phrases, first.cadences, first.echo) == ([4, 4], ["half", "authentic"], 1)
    assert [s.echo for s in plan.sections[1:]] == [0] * (len(plan.sections) - 1)
    plain = analyze(piece(PHRASE_B, PHRASE_A, PHRASE_B, PHRASE_B)).plan  # no bar in common: no echo
    assert all(s.echo == 0 for s in plain.sections)


def test_a_new_section_closing_with_the_first_sections_last_bar_rhymes():
    ending = (PHRASE_B[0][:3] + PHRASE_A[0][3:], PHRASE_B[1][:6] + PHRASE_A[1][6:])  # B, closing with A's last bar
    plan = analyze(piece(PHRASE_A, ending, PHRASE_A)).plan
    assert [(s.label, s.rhyme) for s in plan.sections] == [("A", 0), ("B", 1), ("A", 0)]
    plain = analyze(piece(PHRASE_A, PHRASE_B, PHRASE_A)).plan
    assert [s.rhyme for s in plain.sections] == [0, 0, 0]


def test_a_rhyme_is_heard_up_to_the_cadence_s_arrival():
    """B closes on A's cadence, its last bar the same up to the arrival and then another upbeat
    (into A's return, where A's led into B): a rhyme all the same, though the whole bar is less
    alike than SAME."""
    a_end = (PHRASE_A[0][:3] + [[C + 12, C + 12, C + 12, G]], PHRASE_A[1])
    b_end = (PHRASE_B[0][:3] + [[C + 12, C + 12, C + 12, B]], PHRASE_B[1][:6] + PHRASE_A[1][6:])
    a = analyze(piece(a_end, b_end, a_end))
    assert a.similarity[3, 7] < 0.8
    assert [(s.label, s.rhyme) for s in a.plan.sections] == [("A", 0), ("B", 1), ("A", 0)]


def test_an_exact_return_with_another_last_bar_ends_anew():
    """A strain played again whose last bar is another (a second ending): still an exact return,
    with an ending of 1 bar; played again note for note, none; the piece's close is never one."""
    second = (PHRASE_B[0][:3] + [[B]], PHRASE_B[1])  # B's last bar on B4, not D5: still a half cadence
    other = ([[C + 12, B, A, G], [A, B, C + 12, D + 12], [E + 12, D + 12, C + 12, B], [C + 12]], PHRASE_A[1])
    plan = analyze(piece(PHRASE_A, PHRASE_B, PHRASE_A, second, other)).plan
    assert plan.form() == "A8 A8 B4" and plan.relation(1) == "exact"
    assert [(s.phrases, s.ending) for s in plan.sections] == [([4, 4], 0), ([4, 4], 1), ([4], 0)]
    again = analyze(piece(PHRASE_A, PHRASE_B, PHRASE_A, PHRASE_B, other)).plan
    assert again.form() == "A8 A8 B4" and [s.ending for s in again.sections] == [0, 0, 0]
    last = analyze(piece(PHRASE_A, PHRASE_B, PHRASE_A, second)).plan  # the close: the plan sets it
    assert last.form() == "A8 A8" and [s.ending for s in last.sections] == [0, 0]


def test_transposed_return_names_its_key():
    a = analyze(piece(PHRASE_A, PHRASE_B, PHRASE_A, shifts=[0, 0, 7]))
    assert labels(a) == ["A", "B", "A"]
    assert relations(a) == ["new", "new", "transposed"]
    assert a.plan.sections[2].key == parse_key("G major")
    assert a.plan.form() == "A4 B4 A4@G"
    assert a.phrases[2].key == parse_key("G major") and a.phrases[2].cadence == "authentic"


def test_varied_return_is_primed():
    a = analyze(piece(PHRASE_A, PHRASE_B, PHRASE_A_VARIED))
    assert [s.name for s in a.plan.sections] == ["A", "B", "A'"]
    assert relations(a) == ["new", "new", "varied"]


def test_minor_key_piece_reads_its_key_without_a_signature():
    score = transpose(piece(PHRASE_A, PHRASE_B, PHRASE_A), 9)  # A major ...
    score = replace(score, keys=[])
    a = analyze(score)
    assert a.key == parse_key("A major")
    assert a.plan.key == parse_key("A major") and all(s.key is None for s in a.plan.sections)


def test_the_plan_written_for_another_piece_names_every_key_and_leaves_an_open_close_to_be_planned():
    """`cadenza analyze` writes Analysis.recipe(): a newcomer's plan from a reel whose last bar
    leads back to its start (heard as no cadence), with its home sections keyless, had generated
    tunes ending on the leading tone, with a section the planner had moved to F sharp minor."""
    a = analyze(transpose(piece(PHRASE_A, PHRASE_B, PHRASE_A), 9))
    assert all(s.key is None for s in a.plan.sections)
    assert all(s.key == a.key for s in a.recipe().sections)
    last = a.plan.sections[-1]
    phrases = len(last.phrase_bars())
    heard = replace(last, cadences=["half"] * (phrases - 1) + ["none"])
    recipe = replace(a, plan=replace(a.plan, sections=[*a.plan.sections[:-1], heard])).recipe()
    assert recipe.sections[-1].cadences == ["half"] * (phrases - 1) + [""]
    assert recipe.cadence_of(len(recipe.sections) - 1, phrases - 1)[0] == "authentic"  # as a plan closes


def test_fermatas_mark_the_phrase_ends():
    # fermatas on the third beat of bar 2 (from 1), the downbeat of bar 4 and the last note: three phrases
    score = piece(PHRASE_A, PHRASE_B, PHRASE_A, fermatas=[6.0, 12.0, 44.0])
    a = analyze(score)
    assert [p.end_beats for p in a.phrases] == [6.0, 12.0, 44.0]
    assert [(p.start_bar, p.end_bar) for p in a.phrases] == [(0, 2), (2, 4), (4, 12)]
    assert a.plan.fermatas is True
    # the same notes without the marks: the phrases are inferred, one per 4 bars
    b = analyze(replace(score, fermatas_beats=[]))
    assert [p.end_bar for p in b.phrases] == [4, 8, 12] and b.plan.fermatas is None
    # one fermata, on the last note, marks the close and not the phrases (a piano piece's, a hymn tune's)
    c = analyze(replace(score, fermatas_beats=[44.0]))
    assert [p.end_bar for p in c.phrases] == [4, 8, 12] and c.plan.fermatas is None


def test_fermatas_mark_phrases_where_they_fall_as_often_as_phrases_do():
    four = Meter(0.0, 4, 4)
    assert fermatas_mark_phrases([6.0, 12.0, 44.0], 48.0, four)  # a chorale's, 12 bars
    assert not fermatas_mark_phrases([44.0], 48.0, four)  # the close alone
    assert not fermatas_mark_phrases([], 48.0, four)
    assert not fermatas_mark_phrases([100.0, 310.0], 312.0, Meter(0.0, 2, 4))  # a pause and the close in 156 bars
    assert fermatas_mark_phrases([30.0, 62.0], 64.0, four)  # 16 bars, a fermata each 8
    assert not fermatas_mark_phrases([30.0, 94.0], 96.0, four)  # 24 bars, one fermata inside


def test_plan_round_trips_as_text(tmp_path):
    a = analyze(piece(PHRASE_A, PHRASE_B, PHRASE_A, PHRASE_A_VARIED, shifts=[0, 0, 5, 0]))
    assert Plan.from_dict(a.plan.to_dict()) == a.plan
    assert Plan.from_dict(json.loads(json.dumps(a.plan.to_dict()))) == a.plan
    assert sum(s.bars for s in a.plan.sections) == a.bars
    assert [c for s in a.plan.sections for c in s.cadences] == [p.cadence for p in a.phrases]


def test_single_melody_line():
    score = piece(PHRASE_A, PHRASE_B, PHRASE_A)
    score = replace(score, parts=score.parts[:1])
    a = analyze(score)
    assert [p.end_bar for p in a.phrases] == [4, 8, 12]
    assert labels(a) == ["A", "B", "A"]
    assert [p.cadence for p in a.phrases] == ["authentic", "authentic", "authentic"]  # degrees 2-1 ...
    # ... B's notes fit D minor far better than C major, and it closes on D: a phrase in D minor
    assert [str(p.key) for p in a.phrases] == ["C major", "D minor", "C major"]


def test_no_notes_is_a_music_error():
    from cadenza.errors import MusicError

    with pytest.raises(MusicError):
        analyze(Score())


# -- cadences ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["C major", "A minor", "Eb major", "F# minor"])
@pytest.mark.parametrize("kind", ["authentic", "imperfect", "half", "plagal", "deceptive"])
def test_each_cadence_is_recognized_from_its_own_chords(key, kind):
    k = parse_key(key)
    before, end, melody = cadence_progression(k, kind)
    mel = min(melody, key=lambda pc: (pc - k.tonic) % 12)  # the tonic, or the lowest degree allowed
    if kind == "imperfect":
        mel = (k.tonic + 7) % 12  # the fifth
    before = before or ((k.tonic + 2) % 12, frozenset({(k.tonic + 2) % 12, (k.tonic + 5) % 12, (k.tonic + 9) % 12}))
    assert cadence_kind(k, before[0], before[1], end[0], end[1], mel) == kind


def test_cadences_in_c_major_and_a_minor_by_hand():
    c, a = parse_key("C major"), parse_key("A minor")
    g7, c_triad = {7, 11, 2, 5}, {0, 4, 7}
    assert cadence_kind(c, 7, g7, 0, c_triad, 0) == "authentic"
    assert cadence_kind(c, 7, g7, 0, c_triad, 4) == "imperfect"  # the third on top
    assert cadence_kind(c, 11, g7, 0, c_triad, 0) == "imperfect"  # V6 - I
    assert cadence_kind(c, 5, {5, 9, 0}, 7, {7, 11, 2}, 2) == "half"  # IV - V
    assert cadence_kind(c, 5, {5, 9, 0}, 0, c_triad, 0) == "plagal"
    assert cadence_kind(c, 7, g7, 9, {9, 0, 4}, 0) == "deceptive"
    assert cadence_kind(c, 0, c_triad, 0, c_triad, 0) == "none"  # no motion
    assert cadence_kind(c, 2, {2, 5, 9}, 9, {9, 0, 4}, 9) == "none"  # ii - vi
    assert cadence_kind(a, 4, {4, 8, 11, 2}, 9, {9, 0, 4}, 9) == "authentic"
    assert cadence_kind(a, 4, {4, 8, 11}, 9, {9, 1, 4}, 9) == "authentic"  # a Picardy third
    assert cadence_kind(a, 4, {4, 8, 11}, 5, {5, 9, 0}, 0) == "deceptive"  # V - VI
    assert cadence_kind(a, 2, {2, 5, 9}, 9, {9, 0, 4}, 4) == "plagal"
    assert cadence_kind(a, 5, {5, 9, 0}, 4, {4, 8, 11}, 11) == "half"
    assert cadence_kind(c, 7, {7, 11, 2}, 0, {0, 4, 7, 6}, 0) == "authentic"  # one foreign tone allowed
    assert cadence_kind(c, 9, {9, 0, 4}, 0, {0, 4, 7}, 0) == "none"  # vi - I


def test_a_chord_of_the_other_quality_is_not_the_cadence_s_chord():
    c, a = parse_key("C major"), parse_key("A minor")
    g7 = {7, 11, 2, 5}
    assert cadence_kind(c, 7, g7, 0, {0, 4, 7, 2}, 0) == "authentic"  # a passing D is one foreign note
    assert cadence_kind(c, 7, g7, 0, {0, 3, 7}, 0) == "none"  # C minor is not C major's tonic
    assert cadence_kind(a, 4, {4, 7, 11}, 9, {9, 0, 4}, 9) == "none"  # minor v - i: no leading tone
    assert cadence_kind(a, 4, {4, 8, 11}, 9, {9, 0, 4}, 9) == "authentic"  # V - i, as Bach closes
    assert cadence_kind(c, 7, g7, 9, {9, 0, 4}, 9) == "deceptive"
    assert cadence_kind(c, 7, g7, 9, {9, 1, 4}, 9) == "none"  # A major is not C major's vi
    assert cadence_kind(a, 2, {2, 5, 9}, 9, {9, 0, 4}, 9) == "plagal"
    assert cadence_kind(a, 2, {2, 6, 9}, 9, {9, 0, 4}, 9) == "none"  # D major is not A minor's iv


def test_cadences_of_a_melody_alone():
    c, a = parse_key("C major"), parse_key("A minor")
    assert cadence_kind(c, None, {D}, None, {C}, C) == "authentic"
    assert cadence_kind(c, None, {B}, None, {C}, C) == "authentic"
    assert cadence_kind(c, None, {A}, None, {C}, C) == "plagal"
    assert cadence_kind(c, None, {F}, None, {E}, E) == "imperfect"
    assert cadence_kind(c, None, {B}, None, {G}, G) == "imperfect"
    assert cadence_kind(c, None, {A}, None, {G}, G) == "half"
    assert cadence_kind(c, None, {C}, None, {D}, D) == "half"
    assert cadence_kind(c, None, {G}, None, {A}, A) == "none"  # no deceptive cadence from a melody
    assert cadence_kind(c, None, {G}, None, {F}, F) == "none"
    assert cadence_kind(a, None, {G + 1}, None, {A}, A) == "authentic"  # the raised seventh
    assert cadence_kind(a, None, {D}, None, {C}, C) == "imperfect"
    assert cadence_kind(a, None, {F}, None, {E}, E) == "half"
    assert cadence_kind(c, None, set(), None, set(), None) == "none"


# -- the command -------------------------------------------------------------------------------


def test_cli_prints_the_form_writes_plan_and_picture_and_refuses_overwrite(tmp_path, capsys):
    from cadenza.cli.main import main
    from cadenza.io import write_score

    src = write_score(piece(PHRASE_A, PHRASE_A, PHRASE_B, PHRASE_A), tmp_path / "song.mid")
    stem = tmp_path / "out" / "song"
    main(["analyze", str(src), "--out", str(stem), "--quiet"])
    out = capsys.readouterr().out
    assert "form A4 A4 B4 A4" in out and "exact of A" in out
    assert "bars 9-12  C major  half" in out
    plan_path, png = tmp_path / "out" / "song.plan.json", tmp_path / "out" / "song.similarity.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    plan = load_plan(plan_path)
    assert plan.form() == "A4 A4 B4 A4" and plan.key == parse_key("C major")
    assert [s.cadences for s in plan.sections] == [["authentic"], ["authentic"], ["half"], ["authentic"]]
    before = plan_path.read_bytes()
    with pytest.raises(SystemExit) as e:
        main(["analyze", str(src), "--out", str(stem), "--quiet"])
    assert e.value.code == 2 and "--force" in capsys.readouterr().err
    assert plan_path.read_bytes() == before
    main(["analyze", str(src), "--out", str(stem), "--quiet", "--force", "--format", "toml"])
    assert load_plan(tmp_path / "out" / "song.plan.toml") == plan
    main(["analyze", str(src), "--out", str(tmp_path / "other.toml"), "--quiet"])  # the suffix says TOML
    assert load_plan(tmp_path / "other.plan.toml") == plan and (tmp_path / "other.similarity.png").exists()


def test_cli_default_stem_and_bad_input(tmp_path, monkeypatch, capsys):
    from cadenza.cli.main import main
    from cadenza.io import write_score

    monkeypatch.chdir(tmp_path)
    write_score(piece(PHRASE_A, PHRASE_B), tmp_path / "tune.mid")
    main(["analyze", "tune.mid", "--quiet"])
    assert (tmp_path / "out" / "tune-analysis.plan.json").exists()
    assert (tmp_path / "out" / "tune-analysis.similarity.png").exists()
    capsys.readouterr()
    (tmp_path / "junk.mid").write_bytes(b"not a midi file")
    one_line_error(run_cli("analyze", str(tmp_path / "junk.mid"), "--out", str(tmp_path / "x")), "junk.mid")


def test_a_pickup_piece_is_planned_from_its_first_downbeat():
    """The analyzer's plan is one generate --plan can realize (planned pieces open on the
    downbeat): the bar the pickup sits in comes off the first phrase, so AA stays exact."""
    from cadenza.plan.analyze import analyze
    from cadenza.score import Key, Meter, Note, Part, Score

    tune = [62, 64, 66, 67, 69, 67, 66, 64, 62, 64, 66, 64, 62, 61, 62, 62]  # 4 bars of quarters
    notes = [Note(57, 3.0, 1.0)]  # the pickup
    for rep in range(2):
        for i, p in enumerate(tune):
            notes.append(Note(p, 4.0 + 16 * rep + i, 1.0))
    score = Score(parts=[Part("Melody", 73, False, notes)], meters=[Meter(0.0, 4, 4)], keys=[Key(0.0, 2, "major")])
    a = analyze(score)
    plan = a.plan
    assert plan.bars == 8 and plan.form().split()[:2] == ["A4", "A4"], plan.form()
    # the phrases are numbered as the sections and the notation number the bars: the pickup's is bar 0
    text = a.describe()
    assert "  A    bars 1-4  " in text and "   1  a   bars 1-2  " in text, text
    assert "   2  b   bars 3-4  D major  authentic  ends bar 4 beat 1" in text, text


def test_a_chorales_cadences_away_from_home_are_in_its_plan(chorale):
    """BWV 66.6 (F# minor) closes its first phrases in the relative major, A (III)."""
    plan = analyze(chorale).plan
    assert [str(p.key) for p in analyze(chorale).phrases][:3] == ["A major", "A major", "F# minor"]
    assert plan.cadence_keys()[:3] == ["III", "III", ""]
    assert [str(k) for k in plan.phrase_keys()][:3] == ["A major", "A major", "F# minor"]
    assert Plan.from_dict(plan.to_dict()) == plan


def test_a_phrase_end_is_placed_as_a_musician_counts_the_bar():
    from cadenza.theory import bar_and_beat, counted

    six_eight, four_four = Meter(0.0, 6, 8), Meter(0.0, 4, 4)
    assert counted(0.0, six_eight) == "beat 1"
    assert counted(1.5, six_eight) == "beat 2"  # the second dotted quarter
    assert counted(0.5, six_eight) == "eighth 2"  # not beat 1.33333
    assert counted(2.5, six_eight) == "eighth 6"
    assert counted(0.25, six_eight) == "eighth 1.5"  # the sixteenth after the first eighth
    assert counted(3.0, four_four) == "beat 4"
    assert counted(1.5, four_four) == "beat 2.5"
    assert bar_and_beat(0.0, four_four) == "bar 1 beat 1"
    assert bar_and_beat(7.0, four_four) == "bar 2 beat 4"
    assert bar_and_beat(4.5, six_eight) == "bar 2 beat 2"  # 3 quarters a bar
    # two bars of 4/4, then 3/4: beat 11 is bar 4's first
    assert bar_and_beat(11.0, Meter(8.0, 3, 4), [0.0, 4.0, 8.0, 11.0]) == "bar 4 beat 1"


ASAP = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "asap"


@pytest.mark.skipif(not (ASAP / "Mozart").is_dir(), reason="needs ../shared/data/asap")
def test_a_chromatic_piece_keeps_its_files_key_where_it_ends_in_it():
    """Mozart's K.332 Adagio (B flat major; 11% of its notes off the scale, the last chord's bass on
    D) had been analyzed in F major, its dominant, which its second theme is in."""
    from cadenza.io import read_score

    a = analyze(read_score(ASAP / "Mozart" / "Piano_Sonatas" / "12-2" / "midi_score.mid"))
    assert (a.key.tonic, a.key.mode) == (10, "major")
    assert any(p.key.tonic == 5 for p in a.phrases)  # its second theme in F


# A minor, then E major, closing there (a minor chorale that moves to its dominant's major key)
A_MINOR_OPENING = (
    [[E + 12, D + 12, C + 12, B], [A, C + 12, B, A], [C + 12, D + 12, E + 12, D + 12], [C + 12]],
    [(A - 24, (E - 12, C))] * 2
    + [(D - 12, (A - 12, F))] * 2
    + [(F - 24, (A - 12, C))] * 2
    + [(E - 24, (G - 11, B - 12))] * 2,
)  # ends on E major: a half cadence in A minor
E_MAJOR_CLOSE = (
    [[B, C + 13, D + 13, E + 12], [F + 13, E + 12, D + 13, C + 13], [B, A, G + 1, F + 1], [E]],
    [(E - 24, (G - 11, B - 12))] * 2
    + [(A - 24, (C - 11, E - 12))] * 2
    + [(B - 24, (D - 11, F - 11))] * 2
    + [(E - 24, (G - 23, B - 12))] * 2,
)  # closes V - I in E major


def test_a_piece_keeps_its_files_key_where_it_opens_in_it_and_closes_elsewhere():
    """A chorale in C# minor that moved to G# major and closed there had been read as in A flat
    major, every phrase named from there. A piece whose file names its key, opening on that key's
    tonic chord with its first bars in the key's scale, is in that key, wherever it closes."""
    a = analyze(piece(A_MINOR_OPENING, E_MAJOR_CLOSE, E_MAJOR_CLOSE, key=Key(0.0, 9, "minor")))
    assert (a.key.tonic, a.key.mode) == (9, "minor")
    assert (a.phrases[-1].key.tonic, a.phrases[-1].key.mode, a.phrases[-1].cadence) == (4, "major", "authentic")
    # a lone note first (a pickup) or the other mode's chord says nothing of the key it opens in;
    assert [
        _opens_in(Key(0.0, 9, "minor"), [Note(A - 12, 0.0, 1.0), *chord], 4.0)
        for chord in ([], [Note(C, 0.0, 1.0)], [Note(C + 1, 0.0, 1.0)], [Note(E, 0.0, 1.0)])
    ] == [False, True, False, True]  # an open fifth, as a B minor chorale of the model's opened, is enough
    # opening and closing in E major, the file's A minor is not taken on trust
    a = analyze(piece(E_MAJOR_CLOSE, E_MAJOR_CLOSE, key=Key(0.0, 9, "minor")))
    assert (a.key.tonic, a.key.mode) == (4, "major")


# two-bar phrases under fermatas, in A minor then E major, and the chords (bass, upper voices)
_AM, _E, _DM, _B = (A - 24, (E - 12, C)), (E - 24, (G - 11, B - 12)), (D - 12, (A - 12, F)), (B - 24, (D - 11, F - 11))
TWO_BAR_PHRASES = (
    ([[C + 12, B, A, G + 1], [A]], [_AM, _E, _AM, _AM]),  # authentic in A minor
    ([[A, C + 12, B, D + 12], [B]], [_AM, _DM, _E, _E]),  # half in A minor
    ([[B, C + 13, D + 13, E + 12], [F + 13]], [_E, _E, _B, _B]),  # half in E major
    ([[G + 13, F + 13, E + 12, D + 13], [E + 12]], [_E, _B, _E, _E]),  # authentic in E major
)


def test_phrases_that_never_return_are_two_sections_where_the_music_leaves_home_for_good():
    """Phrases that nothing returns are joined into sections of a usual length; a chorale planned
    "A4 B4" in C# minor and G# major had been read as one section of eight bars in G# major. The
    join is cut at the home cadence after which the music stays in another key, two phrases a
    side at least."""
    a = analyze(piece(*TWO_BAR_PHRASES, key=Key(0.0, 9, "minor"), fermatas=(4.0, 12.0, 20.0, 28.0)))
    assert a.plan.form() == "A4 B4@E"
    assert [s.cadences for s in a.plan.sections] == [["authentic", "half"], ["half", "authentic"]]
    # three lines are too few to cut (two a side at least); without fermatas, a tune's strain that
    # modulates, the four are one section (Nottingham's parts)
    three = piece(*TWO_BAR_PHRASES[0:1], *TWO_BAR_PHRASES[2:], key=Key(0.0, 9, "minor"), fermatas=(4.0, 12.0, 20.0))
    assert analyze(three).plan.form() == "A6@E"
    assert analyze(piece(*TWO_BAR_PHRASES, key=Key(0.0, 9, "minor"))).plan.form() == "A8@E"
    # a strain of two phrases, the second in another key, is one section that modulates
    a = analyze(piece(A_MINOR_OPENING, E_MAJOR_CLOSE, key=Key(0.0, 9, "minor")))
    assert a.plan.form() == "A8@E"
    # phrases that stay at home (an authentic close, then a half close) stay one section
    assert analyze(piece(PHRASE_A, PHRASE_B)).plan.form() == "A8"


def test_a_church_mode_the_file_names_is_the_key_the_analysis_names(tmp_path):
    """`cadenza analyze` of a tune whose ABC says K:Dmix had said D major: the key profiles know
    major and minor only. The home key, and each phrase and section read in it, is now named as
    the file names it, and a recipe for generate keeps it."""
    from cadenza.io import read_score

    tune = (
        "X:1\nT:Mixo\nM:4/4\nL:1/8\nK:Dmix\n"
        "A2|d2 e2 f2 g2|a2 g2 f2 e2|d2 c2 A2 c2|d6 A2|"
        "d2 e2 f2 g2|a2 b2 c'2 a2|g2 e2 c2 e2|d6|]\n"
    )
    (tmp_path / "mixo.abc").write_text(tune)
    analysis = analyze(read_score(tmp_path / "mixo.abc"))
    assert str(analysis.key) == "D mixolydian" and analysis.key.modal == "mixolydian"
    assert str(analysis.plan.key) == "D mixolydian" and str(analysis.recipe().key) == "D mixolydian"
    assert any(p.key.modal == "mixolydian" for p in analysis.phrases)
    major = read_score(tmp_path / "mixo.abc")
    major.keys = [Key(0.0, 2, "major")]  # the same notes under K:D
    assert str(analyze(major).key) == "D major"


def test_a_phrase_that_closes_on_the_home_tonic_stays_in_the_home_key(tmp_path):
    """A slow air's phrase B c d c B A F E D (bars 13-16) closes in D major, its home key, with
    2-1 in the melody; the analysis had read it in B minor (whose profile fits B c d better),
    "imperfect" on B minor's third, so harmonize planned a B minor chord under its close. Another
    key is read now only where the phrase closes more firmly in it than at home."""
    from cadenza.io import read_score

    air = (
        "X:1\nT:Slow Air\nM:3/4\nL:1/8\nK:D\n"
        "A2|d4 e2|f4 e2|d2 B2 A2|F4 A2|B4 c2|d4 e2|f2 e2 d2|e4 A2|"
        "d4 e2|f4 e2|d2 B2 A2|F4 A2|B4 c2|d2 c2 B2|A2 F2 E2|D4|]\n"
    )
    (tmp_path / "air.abc").write_text(air)
    last = analyze(read_score(tmp_path / "air.abc")).phrases[-1]
    assert last.start_bar == 13  # bars 13-16, as `cadenza analyze` prints them
    assert (str(last.key), last.cadence) == ("D major", "authentic")
