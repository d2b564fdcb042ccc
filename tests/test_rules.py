"""cadenza.plan.rules: the user's rules parsed from names, numbers and files, and contradictions refused."""

import json

import pytest

from cadenza.errors import InputError, OptionError
from cadenza.plan.rules import build_rules, load_fixed_cells, parse_fix, parse_range
from cadenza.score import Meter

SATB = ["Soprano", "Alto", "Tenor", "Bass"]


def test_rules_parse_names_numbers_and_lengths(tmp_path):
    assert parse_range("alto=G3-C5", SATB) == (1, (55, 72))
    assert parse_range("4=40-60", SATB) == (3, (40, 60))
    f = parse_fix("5:2.5:soprano=F#4/2", SATB)
    assert (f.bar, f.beat, f.voice, f.pitch, f.beats) == (5, 2.5, 0, 66, 2.0)
    assert f.start_beats(Meter(0.0, 3, 4)) == 4 * 3 + 1.5
    cells = tmp_path / "cells.json"
    cells.write_text(
        json.dumps(
            [
                {"bar": 1, "beat": 1, "voice": "bass", "pitch": "C3"},
                {"bar": 2, "beat": 3, "voice": "tenor", "pitch": 55, "beats": 2},
            ]
        )
    )
    assert [(x.voice, x.pitch, x.beats) for x in load_fixed_cells(cells, SATB)] == [(3, 48, 1.0), (2, 55, 2.0)]


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: parse_range("alto=C5-G3", SATB), "above"),
        (lambda: parse_range("viola=C3-C4", SATB), "unknown voice"),
        (lambda: parse_fix("3-1-bass=D3", SATB), "BAR:BEAT"),
        (lambda: parse_fix("0:1:bass=D3", SATB), "count from 1"),
        (lambda: build_rules("C major", ["bass=C#3-C#3"], [], None, SATB), "holds no note"),
        (lambda: build_rules("C major", [], ["1:1:bass=F#3"], None, SATB), "outside the scale"),
        (lambda: build_rules(None, ["bass=C3-G3"], ["1:1:bass=C4"], None, SATB), "outside its range"),
    ],
)
def test_contradictory_rules_are_refused(call, words):
    with pytest.raises(OptionError, match=words):
        call()


def test_bad_fixed_cells_file_names_the_file(tmp_path):
    bad = tmp_path / "cells.json"
    bad.write_text('[{"bar": 1, "voice": "bass"}]')
    with pytest.raises(InputError, match="cells.json: item 1 needs"):
        load_fixed_cells(bad, SATB)


def test_bars_count_after_a_pickup_as_notation_shows_them():
    """MuseScore numbers a pickup 0: in a piece that opens with one, --fix 1:1 is the first full bar."""
    from cadenza.plan.rules import FixedNote, Rules
    from cadenza.score import Meter, Note, Part, Score

    pickup = Score(parts=[Part("p", 0, False, [Note(67, 3.0, 1.0), Note(72, 4.0, 4.0), Note(71, 8.0, 4.0)])])
    plain = Score(parts=[Part("p", 0, False, [Note(72, 0.0, 4.0), Note(71, 4.0, 4.0)])])
    rules = Rules(fixed=[FixedNote(1, 1, 0, 60)])
    assert rules.counted_in(pickup).fixed[0].start_beats(Meter(0.0, 4, 4)) == 4.0
    assert rules.counted_in(plain).fixed[0].start_beats(Meter(0.0, 4, 4)) == 0.0
