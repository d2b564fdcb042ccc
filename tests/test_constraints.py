"""cadenza.plan.constraints: ranges and a scale as a mask of allowed cells, and the user's fixed
notes placed on a grid (or refused, in one line)."""

import numpy as np
import pytest

from cadenza.errors import OptionError
from cadenza.plan.constraints import allowed_cells, fixed_spans
from cadenza.plan.rules import FixedNote, Rules
from cadenza.score import Meter
from cadenza.tokenize.cells import N_CELL, REST

SATB = ["Soprano", "Alto", "Tenor", "Bass"]


def pitches(row) -> list[int]:
    """The MIDI pitches a row of the mask allows (a cell is 1 + its pitch)."""
    return [int(c) - 1 for c in np.nonzero(row)[0] if c != REST]


def test_allowed_cells_are_a_rest_or_a_pitch_in_range_clipped_to_midi():
    mask = allowed_cells([(60, 62), (-3, 1), (126, 140), (70, 65)])
    assert mask.shape == (4, N_CELL) and mask.dtype == bool
    assert mask[:, REST].all()  # a rest is always allowed
    assert pitches(mask[0]) == [60, 61, 62]  # inclusive
    assert pitches(mask[1]) == [0, 1]  # clipped at 0
    assert pitches(mask[2]) == [126, 127]  # clipped at 127
    assert pitches(mask[3]) == []  # an empty range: only a rest


def test_allowed_cells_keep_to_the_pitch_classes():
    mask = allowed_cells([(60, 72), (0, 127)], frozenset({0, 4, 7}))
    assert pitches(mask[0]) == [60, 64, 67, 72]
    assert pitches(mask[1]) == [p for p in range(128) if p % 12 in (0, 4, 7)]
    assert mask[:, REST].all()
    assert pitches(allowed_cells([(60, 72)], frozenset())[0]) == []


def test_fixed_notes_are_placed_on_the_grid():
    rules = Rules(fixed=[FixedNote(2, 1, 3, 50, 2.0), FixedNote(1, 2.5, 0, 72, 0.5), FixedNote(4, 3, 1, 67, 2.0)])
    spans = fixed_spans(rules, Meter(0.0, 4, 4), 2, 32, SATB)  # four bars of eighth notes
    assert [(f.voice, a, b) for f, a, b in spans] == [(3, 8, 12), (0, 3, 4), (1, 28, 32)]  # the last ends the piece
    assert [f for f, _, _ in spans] == rules.fixed
    [(_, a, b)] = fixed_spans(Rules(fixed=[FixedNote(2, 1, 3, 50, 1.0)]), Meter(0.0, 3, 4), 4, 24, SATB)
    assert (a, b) == (12, 16)  # bar 2 of 3/4 begins at beat 3: sixteenth-note step 12


@pytest.mark.parametrize(
    "note, words",
    [
        (
            FixedNote(1, 1.25, 0, 72),
            "fixed note soprano C5 at bar 1 beat 1.25 is off this model's grid of 2 steps per beat",
        ),
        (FixedNote(1, 1, 0, 72, 0.75), "off this model's grid"),
        (FixedNote(5, 1, 3, 48), "fixed note bass C3 at bar 5 beat 1 lies past the end of the piece"),
        (FixedNote(4, 4, 2, 55, 2.0), "lies past the end of the piece"),  # it would end after the last bar
        (FixedNote(2, 5, 1, 60), "fixed note alto C4 at bar 2 beat 5: a bar of 4/4 has only 4 quarter-note beats"),
        (FixedNote(1, 1, 4, 60), "is for voice 5, past the end of the piece's 4 voices"),
    ],
    ids=[
        "off the grid",
        "ends off the grid",
        "past the end",
        "ends past the end",
        "beat past the bar",
        "no such voice",
    ],
)
def test_fixed_notes_that_cannot_be_placed_are_refused_in_one_line(note, words):
    with pytest.raises(OptionError) as error:
        fixed_spans(Rules(fixed=[note]), Meter(0.0, 4, 4), 2, 32, SATB)
    assert "\n" not in str(error.value) and words in str(error.value), str(error.value)


def test_chord_symbols_narrow_the_lower_voices_where_they_start_and_on_their_beats():
    """A tune's chord symbols as the harmony under it (plan.chord_symbols): the bass note where a
    symbol starts, its tones on each counted beat it holds, the steps between left free; a
    voice with no chord tone in its range keeps what it had."""
    from cadenza.chords import ChordSymbol
    from cadenza.plan.chord_symbols import counted_beats, plan_chord_symbols
    from cadenza.score import Note, Part, Score

    ranges = [(60, 81), (55, 74), (48, 67), (40, 60)]
    allowed = np.repeat(allowed_cells(ranges)[None], 32, axis=0)  # two bars of 4/4, 4 steps a beat
    allowed[:, 2] = allowed_cells([(66, 66)])[0]  # the tenor can sing only F#4
    chords = [ChordSymbol(0.0, 0, "major"), ChordSymbol(6.0, 7, "dominant", bass=11)]  # C, then G7/B
    tune = Score(parts=[Part("Melody", 0, False, [Note(72, 0.0, 8.0)])], meters=[Meter(0.0, 4, 4)])
    assert counted_beats(tune) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    governed = plan_chord_symbols(allowed, chords, tune, 4)
    assert set(governed) == set(range(32)) and governed[0] == {0, 4, 7} and governed[24] == {7, 11, 2, 5}
    assert {p % 12 for p in pitches(allowed[0, 3])} == {0}  # C's root in the bass where it starts
    assert {p % 12 for p in pitches(allowed[4, 3])} == {0, 4, 7}  # any of its tones on a later beat
    assert {p % 12 for p in pitches(allowed[4, 1])} == {0, 4, 7} and not allowed[4, 1, REST]
    assert len(pitches(allowed[5, 1])) == 20  # between beats: free
    assert {p % 12 for p in pitches(allowed[24, 3])} == {11}  # G7/B: B in the bass
    assert {p % 12 for p in pitches(allowed[28, 1])} == {7, 11, 2, 5}
    assert pitches(allowed[0, 2]) == [66]  # no chord tone in reach: the tenor keeps its F#
    assert pitches(allowed[0, 0]) == list(range(60, 82))  # the melody is not touched
    # symbols that stop early: the last holds to the end of its bar, and the rest is free (its
    # close planned as a tune's without symbols; a G had held over the last four bars of a hymn)
    longer = Score(parts=[Part("Melody", 0, False, [Note(72, 0.0, 16.0)])], meters=[Meter(0.0, 4, 4)])
    free = np.repeat(allowed_cells(ranges)[None], 64, axis=0)
    assert set(plan_chord_symbols(free, chords, longer, 4)) == set(range(32))
    assert len(pitches(free[40, 3])) == len(pitches(allowed_cells(ranges)[3]))
    jig = Score(parts=tune.parts, meters=[Meter(0.0, 6, 8), Meter(6.0, 3, 4)])
    assert counted_beats(jig) == [0.0, 1.5, 3.0, 4.5, 6.0, 7.0, 8.0]  # dotted quarters, then quarters
