"""cadenza.chords: chord symbols, their spellings and tones; Score.chords in JSON, transpose and
excerpt; read from ABC and MusicXML (never as notes) and written by our MusicXML writer."""

import re
from dataclasses import replace
from pathlib import Path

import pytest

from cadenza.chords import KINDS, ChordSymbol, chord_text, parse_chord, pitch_classes
from cadenza.errors import InputError, MusicError
from cadenza.io import read_score, read_scores, write_score
from cadenza.io.musicxml import DIVISIONS, musicxml_text, write_musicxml
from cadenza.score import Note, Part, Repeat, Score, excerpt, transpose

NOTTINGHAM = Path("/work/shared/data/nottingham-abc")

# text -> (root, kind, bass, alterations, pitch classes root first, canonical spelling)
SPELLINGS = {
    "G": (7, "major", None, (), (7, 11, 2), "G"),
    "D7": (2, "dominant", None, (), (2, 6, 9, 0), "D7"),
    "Em": (4, "minor", None, (), (4, 7, 11), "Em"),
    "Bm7b5": (11, "half-diminished", None, (), (11, 2, 5, 9), "Bm7b5"),
    "F#m7": (6, "minor-seventh", None, (), (6, 9, 1, 4), "F#m7"),
    "Cmaj7": (0, "major-seventh", None, (), (0, 4, 7, 11), "Cmaj7"),
    "CM7": (0, "major-seventh", None, (), (0, 4, 7, 11), "Cmaj7"),
    "C6": (0, "major-sixth", None, (), (0, 4, 7, 9), "C6"),
    "Am6": (9, "minor-sixth", None, (), (9, 0, 4, 6), "Am6"),
    "Cdim": (0, "diminished", None, (), (0, 3, 6), "Cdim"),
    "Cdim7": (0, "diminished-seventh", None, (), (0, 3, 6, 9), "Cdim7"),
    "C°": (0, "diminished", None, (), (0, 3, 6), "Cdim"),
    "Caug": (0, "augmented", None, (), (0, 4, 8), "Caug"),
    "C+": (0, "augmented", None, (), (0, 4, 8), "Caug"),
    "Csus4": (0, "suspended-fourth", None, (), (0, 5, 7), "Csus4"),
    "C9": (0, "dominant-ninth", None, (), (0, 4, 7, 10, 2), "C9"),
    "C7b9": (0, "dominant", None, ("b9",), (0, 4, 7, 10, 1), "C7b9"),
    "C7#11": (0, "dominant", None, ("#11",), (0, 4, 7, 10, 6), "C7#11"),
    "C13": (0, "dominant-13th", None, (), (0, 4, 7, 10, 2, 5, 9), "C13"),
    "C/E": (0, "major", 4, (), (0, 4, 7), "C/E"),
    "D7/F#": (2, "dominant", 6, (), (2, 6, 9, 0), "D7/F#"),
    "C5": (0, "power", None, (), (0, 7), "C5"),
    # the Nottingham ABC files' spellings
    "Cd": (0, "diminished", None, (), (0, 3, 6), "Cdim"),
    "Ca": (0, "augmented", None, (), (0, 4, 8), "Caug"),
    "C/e": (0, "major", 4, (), (0, 4, 7), "C/E"),
    "D/f+": (2, "major", 6, (), (2, 6, 9), "D/F#"),
    "Gm/bb": (7, "minor", 10, (), (7, 10, 2), "Gm/Bb"),
    "(E7)": (4, "dominant", None, (), (4, 8, 11, 2), "E7"),
    "Fa7": (5, "augmented-seventh", None, (), (5, 9, 1, 3), "Faug7"),
    "Cadd9": (0, "major", None, ("add9",), (0, 4, 7, 2), "Cadd9"),
    # everyday spellings a newcomer's tunes used, refused before (A7sus4) or dropped unread (A7alt)
    "A7sus4": (9, "suspended-fourth", None, ("b7",), (9, 2, 4, 7), "A7sus4"),
    "A7sus": (9, "suspended-fourth", None, ("b7",), (9, 2, 4, 7), "A7sus4"),
    "A9sus4": (9, "suspended-fourth", None, ("b7", "add9"), (9, 2, 4, 7, 11), "A9sus4"),
    "A6/9": (9, "major-sixth", None, ("add9",), (9, 1, 4, 6, 11), "A69"),
    "A69": (9, "major-sixth", None, ("add9",), (9, 1, 4, 6, 11), "A69"),
    "Am6/9": (9, "minor-sixth", None, ("add9",), (9, 0, 4, 6, 11), "Am69"),
    "A^7": (9, "major-seventh", None, (), (9, 1, 4, 8), "Amaj7"),
    "Ami": (9, "minor", None, (), (9, 0, 4), "Am"),
    "Ami7": (9, "minor-seventh", None, (), (9, 0, 4, 7), "Am7"),
    "Am/maj7": (9, "major-minor", None, (), (9, 0, 4, 8), "AmM7"),
    "A7alt": (9, "dominant", None, ("#5", "#9"), (9, 1, 5, 7, 0), "A7alt"),
    "Aalt": (9, "dominant", None, ("#5", "#9"), (9, 1, 5, 7, 0), "A7alt"),
    "A7sus4/E": (9, "suspended-fourth", 4, ("b7",), (9, 2, 4, 7), "A7sus4/E"),
}


@pytest.mark.parametrize("text", SPELLINGS)
def test_parse_and_format_every_spelling(text):
    root, kind, bass, alterations, tones, canonical = SPELLINGS[text]
    chord = parse_chord(text, 2.5)
    assert (chord.start_beats, chord.root, chord.kind, chord.bass, chord.alterations) == (
        2.5,
        root,
        kind,
        bass,
        alterations,
    )
    assert chord.text == text
    assert pitch_classes(chord) == tones
    assert chord_text(chord) == canonical
    again = parse_chord(canonical, 2.5)
    assert again == chord and chord_text(again) == canonical


def test_every_kind_round_trips_through_its_canonical_spelling():
    for kind in KINDS:
        chord = ChordSymbol(0.0, 10, kind, 3)
        assert parse_chord(chord_text(chord)) == chord
        assert pitch_classes(chord)[0] == 10


@pytest.mark.parametrize("text", ["H7", "Cxyz", "", "c", "C/H", "C7b10"])
def test_an_unknown_symbol_is_a_one_line_music_error(text):
    with pytest.raises(MusicError) as info:
        parse_chord(text)
    message = str(info.value)
    assert "\n" not in message and repr(text) in message and "Bm7b5" in message


def test_an_unknown_kind_or_alteration_is_refused():
    with pytest.raises(MusicError):
        ChordSymbol(0.0, 0, "dominant-seventh")
    with pytest.raises(MusicError):
        ChordSymbol(0.0, 0, "dominant", alterations=("b4",))


def test_text_is_display_only():
    assert parse_chord("Cd") == parse_chord("Cdim")
    assert ChordSymbol(1.0, 2, "dominant").text == "D7"


# ---------------------------------------------------------------------------------------------
# the Score


def chord_score() -> Score:
    notes = [Note(60 + i, float(i), 1.0) for i in range(16)]
    chords = [
        parse_chord("C", 0.0),
        parse_chord("Am7", 2.0),
        parse_chord("D7/F#", 4.0),
        parse_chord("G7b9", 6.5),
        parse_chord("Cmaj7", 8.0),
        parse_chord("Bm7b5", 12.0),
        parse_chord("E7#11", 14.0),
    ]
    return Score(parts=[Part("melody", 0, False, notes)], chords=chords)


def test_to_dict_and_from_dict_keep_chords_and_leave_scores_without_them_as_they_were():
    score = chord_score()
    d = score.to_dict()
    back = Score.from_dict(d)
    assert back.chords == score.chords
    assert [c.text for c in back.chords] == [c.text for c in score.chords]
    assert "chords" not in Score(parts=score.parts).to_dict()
    assert Score.from_dict(Score(parts=score.parts).to_dict()).chords == []


def test_transpose_moves_root_and_bass():
    moved = transpose(chord_score(), 2)
    assert [chord_text(c) for c in moved.chords] == ["D", "Bm7", "E7/G#", "A7b9", "Dmaj7", "C#m7b5", "F#7#11"]
    assert [c.text for c in moved.chords] == [chord_text(c) for c in moved.chords]
    assert transpose(moved, -2).chords == chord_score().chords


def test_excerpt_cuts_chords():
    part = excerpt(chord_score(), 2, 3)  # beats 4 to 12
    assert [(c.start_beats, chord_text(c)) for c in part.chords] == [(0.0, "D7/F#"), (2.5, "G7b9"), (4.0, "Cmaj7")]


# ---------------------------------------------------------------------------------------------
# reading and writing

ABC = """X:1
T:Chords
M:4/4
L:1/8
K:G
|:"G"GABc "Cd"d2 "Ca"e2|"C/e"f2 "D7/F#"g2 "Bm7b5"a4|"Em"b4 "(A7)"a2 "D/f+"f2:|
"G"g8|]
"""
ABC_CHORDS = [
    (0.0, 7, "major", None, "G"),
    (2.0, 0, "diminished", None, "Cd"),
    (3.0, 0, "augmented", None, "Ca"),
    (4.0, 0, "major", 4, "C/e"),
    (5.0, 2, "dominant", 6, "D7/F#"),
    (6.0, 11, "half-diminished", None, "Bm7b5"),
    (8.0, 4, "minor", None, "Em"),
    (10.0, 9, "dominant", None, "(A7)"),
    (11.0, 2, "major", 6, "D/f+"),
]


def chord_tuples(score: Score) -> list[tuple]:
    return [(round(c.start_beats, 6), c.root, c.kind, c.bass, c.text) for c in score.chords]


def test_abc_quoted_chords_are_read_where_played_and_add_no_notes(tmp_path):
    with_chords, without = tmp_path / "with.abc", tmp_path / "without.abc"
    with_chords.write_text(ABC)
    without.write_text(re.sub(r'"[^"]*"', "", ABC))
    score = read_score(with_chords)
    second_pass = [(b + 12.0, r, k, bass, t) for b, r, k, bass, t in ABC_CHORDS]
    assert chord_tuples(score) == ABC_CHORDS + second_pass + [(24.0, 7, "major", None, "G")]
    plain = read_score(without)
    assert plain.chords == []
    assert [p.notes for p in score.parts] == [p.notes for p in plain.parts]
    assert score.repeats == plain.repeats


def test_an_unreadable_abc_chord_symbol_names_it_and_its_bar(tmp_path):
    path = tmp_path / "bad.abc"
    path.write_text(ABC.replace('"Bm7b5"', '"Bxq"'))
    with pytest.raises(InputError) as info:
        read_score(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and "'Bxq'" in message and "bar 2" in message


def test_abc_annotations_and_no_chord_are_not_chords(tmp_path):
    path = tmp_path / "notes.abc"
    path.write_text('X:1\nT:a\nM:4/4\nL:1/4\nK:C\n"^Allegro"C "N.C."D "G"E F|]\n')
    assert chord_tuples(read_score(path)) == [(2.0, 7, "major", None, "G")]


def test_musicxml_round_trip_keeps_the_chords(tmp_path):
    score = chord_score()
    path = write_musicxml(score, tmp_path / "chords.musicxml")
    back = read_score(path)
    assert back.chords == score.chords
    assert [n.pitch for n in back.parts[0].notes] == [n.pitch for n in score.parts[0].notes]
    text = musicxml_text(score)
    assert text.count("<harmony>") == len(score.chords)
    assert f"<offset>{DIVISIONS // 2}</offset>" in text  # G7b9 half a beat into its note


def test_musicxml_round_trip_of_every_kind(tmp_path):
    notes = [Note(60, float(i), 1.0) for i in range(len(KINDS))]
    chords = [
        ChordSymbol(float(i), (3 * i) % 12, kind, None if i % 3 else (i + 4) % 12) for i, kind in enumerate(KINDS)
    ]
    score = Score(parts=[Part("", 0, False, notes)], chords=chords)
    back = read_score(write_musicxml(score, tmp_path / "kinds.musicxml"))
    assert back.chords == score.chords


def test_a_folded_repeat_keeps_chords_that_differ_between_passes(tmp_path):
    notes = [Note(60, float(i), 1.0) for i in range(8)]
    same = Score(parts=[Part("", 0, False, notes)], repeats=[Repeat(0.0, 4.0)])
    same.chords = [parse_chord("C", 0.0), parse_chord("C", 4.0)]
    assert musicxml_text(same).count("<harmony>") == 1  # folded: written once
    assert read_score(write_musicxml(same, tmp_path / "same.musicxml")).chords == same.chords
    other = Score(parts=same.parts, repeats=same.repeats, chords=[parse_chord("C", 0.0), parse_chord("G", 4.0)])
    assert read_score(write_musicxml(other, tmp_path / "other.musicxml")).chords == other.chords


def test_abc_to_musicxml_round_trip(tmp_path):
    path = tmp_path / "tune.abc"
    path.write_text(ABC)
    score = read_score(path)
    back = read_score(write_musicxml(score, tmp_path / "tune.musicxml"))
    assert back.chords == score.chords


@pytest.mark.skipif(not (NOTTINGHAM / "jigs.abc").exists(), reason="the Nottingham ABC files are not here")
def test_a_nottingham_file_reads_with_chords():
    scores = read_scores(NOTTINGHAM / "jigs.abc")
    assert len(scores) > 100
    with_chords = [s for s in scores if s.chords]
    assert len(with_chords) > 0.9 * len(scores)
    for score in with_chords:
        assert all(0 <= c.start_beats <= score.end_beats for c in score.chords)
        assert all(c.kind in KINDS for c in score.chords)


def test_quoted_words_that_are_not_chords_are_left_alone(tmp_path):
    from cadenza.io import read_score

    path = tmp_path / "fine.abc"
    path.write_text('X:1\nT:t\nM:4/4\nL:1/4\nK:G\n"G"GABc|"D7"d2"Fine"d2|"D.C."GABc|"Em"e4|]\n')
    score = read_score(path)
    assert [c.text for c in score.chords] == ["G", "D7", "Em"]


def _chorder_hearing(chord: str, tmp_path):
    """A Chorder whose network hears `chord` (in G major, where the tests use it) on every beat,
    standing in for a trained one; the transitions are flat."""
    import torch

    from cadenza.compose.chord_paths import ChordTransitions
    from cadenza.compose.chorder import Chorder
    from cadenza.tokenize.chord_beats import ChordBeatsTokenizer

    tokenizer = ChordBeatsTokenizer()
    heard = tokenizer.class_of(parse_chord(chord), 7)

    class Hearing(torch.nn.Module):
        def forward(self, x):
            logits = torch.zeros(*x.shape[:-1], tokenizer.vocab_size)
            logits[..., heard] = 5.0
            return logits

    meta = {
        "tokenizer": tokenizer.to_dict(),
        "transitions": ChordTransitions.count([], tokenizer.vocab_size).to_dict(),
        "model": {"block_size": 16},
    }
    return Chorder(Hearing(), meta, tmp_path / chord)


def test_the_chorder_keeps_the_tunes_repeats(tmp_path):
    """`cadenza chords` writes the score chords_for gives back: the tune as read, its chord
    symbols replaced and its Score.repeats kept, for the writers to fold where both passes get
    the same chords. A network that hears the tonic chord everywhere stands in for a trained one."""
    from cadenza.score import Key

    chorder = _chorder_hearing("G", tmp_path)  # the tonic, in G major
    bars = [(67, 0, 2), (71, 2, 2), (74, 4, 2), (72, 6, 2)]
    melody = [Note(p, s + 8 * k, d) for k in range(2) for p, s, d in bars] + [Note(67, 16, 4)]
    score = Score(parts=[Part("", 0, False, melody)], keys=[Key(0.0, 7, "major")], repeats=[Repeat(0.0, 8.0)])
    score.chords = [parse_chord("C", 0.0)]
    (result,) = chorder.chords_for(score, n=1, seed=1)
    assert result.score.repeats == [Repeat(0.0, 8.0)] and result.score.parts == score.parts
    # replaced, and restated where the second pass begins, so that both passes read alike
    assert [(c.text, c.start_beats) for c in result.score.chords] == [("G", 0.0), ("G", 8.0)]


def test_a_continued_lead_sheet_keeps_its_own_symbols_and_its_new_bars_are_chorded(tmp_path):
    """chords_for(kept_until=...): the symbols before it stay as written (Am7, not its class's Am)
    and the path runs through them; the beats after it get the network's chords. A network that
    hears the tonic chord everywhere stands in for a trained one."""
    from cadenza.score import Key

    chorder = _chorder_hearing("G", tmp_path)
    melody = [Note(p, 2.0 * i, 2.0) for i, p in enumerate([67, 71, 69, 72, 71, 67, 66, 67])]
    score = Score(parts=[Part("", 0, False, melody)], keys=[Key(0.0, 7, "major")])
    score.chords = [parse_chord("Am7", 0.0), parse_chord("D7", 4.0)]
    (result,) = chorder.chords_for(score, kept_until=8.0)
    assert [(c.text, c.start_beats) for c in result.score.chords] == [("Am7", 0.0), ("D7", 4.0), ("G", 8.0)]
    # a last kept symbol of the class the new beats go on in, but written otherwise, is not held on
    sus = replace(score, chords=[parse_chord("Am7", 0.0), parse_chord("Gsus4", 4.0)])
    (resolved,) = chorder.chords_for(sus, kept_until=8.0)
    assert [(c.text, c.start_beats) for c in resolved.score.chords] == [("Am7", 0.0), ("Gsus4", 4.0), ("G", 8.0)]
    (fresh,) = chorder.chords_for(score)  # without it every symbol is the network's
    assert [(c.text, c.start_beats) for c in fresh.score.chords] == [("G", 0.0)]


def test_a_melody_written_to_close_on_its_tonic_closes_over_the_tonic_chord(tmp_path):
    """chords_for(close=True): from the beat its last note begins in, a melody ending on a note of
    the tonic triad is heard over the tonic chord, whatever the network hears there (a continued
    waltz had closed on IV); a last note off the triad is left to the network."""
    from cadenza.score import Key

    chorder = _chorder_hearing("C", tmp_path)  # IV in G major, everywhere

    def tune(last: int) -> Score:
        melody = [Note(p, 2.0 * i, 2.0) for i, p in enumerate([72, 76, 79, 76, 74, 72, 71])] + [Note(last, 14.0, 2.0)]
        return Score(parts=[Part("", 0, False, melody)], keys=[Key(0.0, 7, "major")])

    def chords(score: Score, close: bool) -> list:
        (result,) = chorder.chords_for(score, close=close)
        return [(c.text, c.start_beats) for c in result.score.chords]

    assert chords(tune(67), close=False) == [("C", 0.0)]
    assert chords(tune(67), close=True) == [("C", 0.0), ("G", 14.0)]  # G: the tonic
    assert chords(tune(71), close=True) == [("C", 0.0), ("G", 14.0)]  # B: its third
    assert chords(tune(72), close=True) == [("C", 0.0)]  # C: no note of the tonic triad


def test_the_plans_cadences_are_heard_in_the_chords_where_the_melody_belongs_to_them(tmp_path):
    """chords_for(plan=...): at each phrase end the plan gives a cadence, its chord where it
    arrives (for as long as the melody's note there sounds) and the chord before on the beat
    before, where the melody's note belongs to it; the piece's close only with close=True, and as
    planned (a half close on V, though its last note is of the tonic triad too). A network that
    hears IV (C in G major) everywhere stands in for a trained one."""
    from cadenza.plan.form import parse_form
    from cadenza.score import Key

    chorder = _chorder_hearing("C", tmp_path)
    notes = [(72, 0, 2), (76, 2, 2), (72, 4, 2), (76, 6, 2), (72, 8, 2), (76, 10, 2), (69, 12, 4)]  # A (2) held
    notes += [(72, 16, 2), (76, 18, 2), (72, 20, 2), (76, 22, 2), (72, 24, 2), (76, 26, 1), (66, 27, 1), (67, 28, 4)]
    melody = [Note(p, float(at), float(d)) for p, at, d in notes]  # ... F# G (7 1) closing at 28
    score = Score(parts=[Part("", 0, False, melody)], keys=[Key(0.0, 7, "major")])
    plan = parse_form("A4 B4")
    plan.sections[0].cadences = ["half"]

    def chords(plan, close: bool, tune: Score = score) -> list:
        (result,) = chorder.chords_for(tune, plan=plan, close=close)
        return [(c.text, c.start_beats) for c in result.score.chords]

    # the half close on D under the A for its whole length; the close D(7) - G, the D on the beat before
    heard = chords(plan, close=True)
    assert heard[:3] == [("C", 0.0), ("D", 12.0), ("C", 16.0)] and heard[4:] == [("G", 28.0)]
    assert heard[3] in (("D", 27.0), ("D7", 27.0))
    assert chords(plan, close=False) == [("C", 0.0), ("D", 12.0), ("C", 16.0)]  # the close left to the network
    assert chords(None, close=False) == [("C", 0.0)]  # no plan: nothing planned
    # a melody off the cadence's chord is chorded as the network hears it: C under the inner end
    off = replace(
        score, parts=[Part("", 0, False, [replace(x, pitch=72) if x.start_beats == 12.0 else x for x in melody])]
    )
    assert [at for _, at in chords(plan, close=True, tune=off)] == [0.0, 27.0, 28.0]
    # a piece the plan closes on V ends there, though its last note (D) is of the tonic triad too
    on_d = replace(score, parts=[Part("", 0, False, [*melody[:-2], Note(72, 27.0, 1.0), Note(74, 28.0, 4.0)])])
    half = parse_form("A4 B4")
    half.sections[1].cadences = ["half"]
    assert chords(plan, close=True, tune=on_d)[-1] == ("G", 28.0)
    assert chords(half, close=True, tune=on_d)[-1] == ("D", 28.0)


def test_a_planned_close_holds_where_two_holds_meet_and_keeps_a_minor_or_modal_keys_notes(tmp_path):
    """A last note tied over from the beat before the close (a plagal close's tonic under IV there
    and over I after) is chorded IV - I, drawn or likeliest: no beat is left without a chord
    (a reviewer's case had none, then the sampled path's probabilities were NaN). A minor key
    closes on its minor tonic, as the Nottingham tunes do (77 of 79), and D dorian's close is not
    led into by A (C#, outside the mode). Stand-in networks hear V or IV of the sheet's key
    everywhere."""
    from cadenza.plan.form import parse_form
    from cadenza.score import Key

    notes = [(72, 0, 2), (76, 2, 2), (72, 4, 2), (76, 6, 2), (72, 8, 2), (76, 10, 2), (69, 12, 4)]
    notes += [(72, 16, 2), (76, 18, 2), (72, 20, 2), (76, 22, 2), (72, 24, 2), (72, 26, 1), (67, 27, 5)]
    melody = [Note(p, float(at), float(d)) for p, at, d in notes]  # G (the tonic) from beat 27, over the bar line
    score = Score(parts=[Part("", 0, False, melody)], keys=[Key(0.0, 7, "major")])
    plan = parse_form("A4 B4")
    plan.sections[1].cadences = ["plagal"]
    hears_d = _chorder_hearing("D", tmp_path)
    for result in hears_d.chords_for(score, n=2, seed=3, plan=plan, close=True):
        assert [(c.text, c.start_beats) for c in result.score.chords][-2:] == [("C", 27.0), ("G", 28.0)]
    # E minor (the stand-in hears D, E minor's VII): the close on E minor, not E major
    minor = replace(score, parts=[Part("", 0, False, [*melody[:-2], Note(71, 26.0, 2.0), Note(64, 28.0, 4.0)])])
    minor = replace(minor, keys=[Key(0.0, 4, "minor")])
    assert [(c.text, c.start_beats) for c in hears_d.chords_for(minor, plan=parse_form("A4 B4"), close=True)[0]
            .score.chords][-1] == ("Em", 28.0)  # fmt: skip
    # D dorian, closing on D after an E (of A7 and of A minor): no A7 before it
    dorian = replace(score, parts=[Part("", 0, False, [*melody[:-2], Note(64, 26.0, 2.0), Note(62, 28.0, 4.0)])])
    dorian = replace(dorian, keys=[Key(0.0, 2, "minor", modal="dorian")])
    hears_iv = _chorder_hearing("C", tmp_path)  # IV of the sheet's key: G in D
    chords = hears_iv.chords_for(dorian, plan=parse_form("A4 B4"), close=True)[0].score.chords
    assert [(c.text, c.start_beats) for c in chords] == [("G", 0.0), ("Dm", 28.0)]


def test_a_tune_in_a_minor_key_closes_minor_unless_its_melody_sings_the_major_third(tmp_path):
    """Without a plan, the last chord of a tune in a minor key is not its tonic's major chord
    (a newcomer's A minor waltz closed on A in 3 of 4 draws; the Nottingham tunes in minor keys
    close minor, 77 of 79), unless the melody sings the major third there. A network that hears
    the tonic's major chord everywhere (A in A minor) stands in for a trained one."""
    from cadenza.score import Key

    chorder = _chorder_hearing("G", tmp_path)  # I, major: A in A minor

    def last_chord(last_bar: list, before=(69, 72, 76, 74, 72, 71, 72, 71, 68)) -> str:
        melody = [Note(p, float(i), 1.0) for i, p in enumerate(before)]  # 4/4: bars from 0, 4, 8
        melody += [Note(p, 9.0 + i, d) for i, (p, d) in enumerate(last_bar)]
        score = Score(parts=[Part("", 0, False, melody)], keys=[Key(0.0, 9, "minor")])
        (result,) = chorder.chords_for(score)
        return max(result.score.chords, key=lambda c: c.start_beats).text

    assert last_chord([(69, 3.0)]) == "Am"
    assert last_chord([(69, 1.0), (73, 2.0)]) == "A"  # the melody's own C#: a major close
    assert last_chord([(69, 3.0)], before=(69, 72, 76, 74, 72, 73, 76, 71, 68)) == "A"  # C# the bar before
    assert last_chord([(69, 3.0)], before=(69, 73, 76, 74, 72, 71, 72, 71, 68)) == "Am"  # C# long before


def test_a_repeated_passage_gets_its_first_times_chords_and_what_follows_keeps_its_own():
    from cadenza.compose.chorder import repeated_chords

    def chords(*pairs):
        return [parse_chord(t, at) for t, at in pairs]

    def texts(cs):
        return [(c.text, c.start_beats) for c in cs]

    melody = Score(parts=[Part("", 0, False, [Note(67, 0, 24)])])
    # a repeat with a second ending of 2 beats: the shared 6 beats are copied, the ending keeps its own
    melody.repeats = [Repeat(0.0, 8.0, 2.0)]
    given = chords(("G", 0), ("C", 4), ("D", 6), ("Em", 8), ("Am", 12), ("D", 14), ("G", 16))
    assert texts(repeated_chords(melody, given)) == [("G", 0), ("C", 4), ("D", 6), ("G", 8), ("C", 12),
                                                     ("D", 14), ("G", 16)]  # fmt: skip
    # no ending: the whole pass is copied, and the chord the model held on past it is restated after it
    melody.repeats = [Repeat(0.0, 8.0)]
    given = chords(("G", 0), ("C", 4), ("Em", 8), ("A", 12), ("D", 20))
    assert texts(repeated_chords(melody, given)) == [("G", 0), ("C", 4), ("G", 8), ("C", 12), ("A", 16), ("D", 20)]
    melody.repeats = []
    assert repeated_chords(melody, given) == given
    # a repeat that begins under a chord held from before: restated where each pass begins
    melody.repeats = [Repeat(8.0, 16.0)]
    given = chords(("G", 0), ("C", 12), ("D", 16), ("G", 22))
    assert texts(repeated_chords(melody, given)) == [
        ("G", 0),
        ("G", 8),
        ("C", 12),
        ("G", 16),
        ("C", 20),
    ]  # (the tune ends at 24)
    # a repeat that ends the tune: nothing is restated after its end (no empty bar after the tune)
    short = Score(parts=[Part("", 0, False, [Note(67, 0, 16)])], repeats=[Repeat(0.0, 8.0)])
    given = chords(("G", 0), ("C", 4), ("Em", 8), ("A", 12))
    assert texts(repeated_chords(short, given)) == [("G", 0), ("C", 4), ("G", 8), ("C", 12)]


def test_every_spelling_reads_back_from_abc_and_a_word_with_alt_in_it_is_no_chord(tmp_path):
    """ABC symbols reach music21 in a spelling it reads (plain_chord_text): it drops "9sus4",
    "m69" and "7alt" without a word, so these had vanished from a tune; and a quoted word such as
    "Dalton" is a name, not a misspelt chord that refuses the file."""
    texts = ["C7#5#9", "Cm6add9", "A9sus4", "Am6/9", "A7alt", "A7sus4", "D6/9", "Cmajb9", "Em7b5"]
    body = " ".join(f'"{t}"C' for t in texts)
    path = tmp_path / "c.abc"
    path.write_text(f'X:1\nT:t\nM:4/4\nL:1/4\nK:C\n"^Dalton"{body} "Dalton"C "C"C|]\n')
    score = read_score(path)
    assert [c.text for c in score.chords] == [*texts, "C"]
    for suffix in (".abc", ".musicxml", ".mid"):
        assert read_score(write_score(score, tmp_path / f"back{suffix}")).chords == score.chords, suffix
    flat_ninth = ChordSymbol(0.0, 0, "major", None, "", ("b9",))  # C with a flat ninth: not "Cb9", a C-flat
    assert chord_text(flat_ninth) == "Cmajb9" and parse_chord(chord_text(flat_ninth)) == flat_ninth


def test_musicxml_symbols_read_back_as_their_kind_text_spells_them(tmp_path):
    """music21's figure for a <harmony> is its own ("Asus add b7", "Bø7", "Gsus"); the text read
    back is now the root, the <kind text> and the bass, where they spell the same chord (a
    reviewer saw Bm7b5 come back as Bø7, and A7sus4 as A7sus4/A)."""
    texts = ["A7sus4", "Bm7b5", "Gsus4", "D7/F#", "Cmaj7", "E7b9"]
    melody = [Note(67, 2.0 * i, 2.0) for i in range(len(texts))]
    score = Score(parts=[Part("", 0, False, melody)], chords=[parse_chord(t, 2.0 * i) for i, t in enumerate(texts)])
    back = read_score(write_musicxml(score, tmp_path / "s.musicxml"))
    assert [c.text for c in back.chords] == texts
    assert back.chords == score.chords
