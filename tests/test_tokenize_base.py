"""Every tokenizer follows the Tokenizer protocol: kind, encode/decode, to_dict/from_dict, and
its kind is the one its family records."""

import pytest

from cadenza.families import FAMILIES
from cadenza.tokenize.accompaniment import AccompanimentTokenizer
from cadenza.tokenize.cells import CellsTokenizer
from cadenza.tokenize.chord_beats import ChordBeatsTokenizer
from cadenza.tokenize.piano import PianoConfig, PianoTokenizer
from cadenza.tokenize.pianoroll import PianoRollConfig, PianoRollTokenizer
from cadenza.tokenize.voices import VoicesConfig, VoicesTokenizer
from conftest import make_score

TOKENIZERS = [
    VoicesTokenizer(VoicesConfig(n_voices=3, steps_per_beat=2, programs=(40, 41, 42))),
    CellsTokenizer(n_voices=4, steps_per_beat=2),
    PianoRollTokenizer(PianoRollConfig(30, 90)),
    ChordBeatsTokenizer(("major", "minor", "dominant", "minor-seventh")),
    AccompanimentTokenizer(),
    PianoTokenizer(PianoConfig(composers=("Bach",))),
]


@pytest.mark.parametrize("tok", TOKENIZERS, ids=lambda t: t.kind)
def test_a_tokenizer_saves_and_loads_itself(tok):
    d = tok.to_dict()
    assert d["kind"] == tok.kind
    again = type(tok).from_dict(d)
    assert again.to_dict() == d and again.vocab_size == tok.vocab_size
    with pytest.raises(ValueError, match="tokenizer's settings"):
        type(tok).from_dict({**d, "kind": "other"})


def test_each_family_kind_has_a_tokenizer():
    # the performer reads note features (cadenza.perform.features), not tokens: it writes no music;
    # a bundle (leadsheet) has none of its own: its parts have theirs
    kinds = {f.kind for f in FAMILIES if not f.bundle} - {"performance"}
    assert kinds == {t.kind for t in TOKENIZERS}


def test_cells_round_trip_a_score():
    tok = CellsTokenizer(n_voices=4, steps_per_beat=2)
    score = make_score(n_voices=4, bars=2)
    grid = tok.encode(score)
    assert grid.shape == (16, 4)
    back = tok.decode(grid)
    # held notes of one pitch in a row merge (cells have no onsets), so compare sounding pitches per step
    assert (tok.encode(back) == grid).all()
    assert [p.name for p in back.parts] == ["Soprano", "Alto", "Tenor", "Bass"]
