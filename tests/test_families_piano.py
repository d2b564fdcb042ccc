"""cadenza.families.piano: windows, validation that scores every event once, and a real (tiny)
training run whose model knows its composers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cadenza.data.corpus import Piece
from cadenza.data.piano import PianoPiece
from cadenza.families import piano as fam
from cadenza.tokenize.piano import PianoConfig, PianoTokenizer
from conftest import piano_piece

TOK = PianoTokenizer(PianoConfig(composers=("Alpha",)))


@pytest.fixture(scope="module")
def pieces():
    raw = [
        PianoPiece(f"p{i}", "Alpha" if i % 2 else "Zed", Piece(f"p{i}", piano_piece(tonic=i, bars=6, figure=i)))
        for i in range(3)
    ]
    tokenized, skipped = fam.tokenize_pieces(raw, TOK)
    assert not skipped
    return tokenized


def test_an_unknown_or_rare_composer_is_tokenized_as_none(pieces):
    assert [p.composer for p in pieces] == ["none", "Alpha", "none"]
    assert pieces[1].window.tokens[1] == TOK.composer_token("Alpha") and pieces[0].window.tokens[1] == TOK.composer0


def test_a_window_is_the_prefix_then_a_bar_and_its_targets_are_the_next_tokens(pieces):
    p = pieces[1]
    x, y = fam.window(p, 2, 0, True, TOK, 64)
    start = p.window.bar_starts[2]
    assert list(x[:3]) == list(p.window.tokens[:3]) and x[3] == TOK.bar
    assert list(x[3:20]) == list(p.window.tokens[start : start + 17])
    assert (y[:2] == TOK.pad).all() and list(y[2:20]) == list(p.window.tokens[start : start + 18])
    x2, _ = fam.window(p, 2, 0, False, TOK, 64)
    assert x2[1] == TOK.composer0 and (x2[2:] == x[2:]).all()


def test_batches_transpose_within_the_piano_and_repeat_from_their_state(pieces):
    cfg = fam.Config(data="x", block_size=64, batch_size=2, n_embd=32, n_head=2, transpose=6)
    b = fam.Batches(pieces, TOK, cfg)
    state = b.state()
    first = b.next(4)
    b.set_state(state)
    again = b.next(4)
    assert all((u == v).all() for u, v in zip(first, again))
    pitches = TOK.pitch_of[first[0].numpy()]
    assert (pitches[pitches >= 0] >= 21).all() and (pitches <= 108).all()


def test_validation_scores_every_event_token_once(pieces):
    for block in (96, 128, 512):  # windows longer than a bar
        scored = sum(int((y != TOK.pad).sum()) for _, y in fam.eval_windows(pieces, TOK, block))
        assert scored == sum(len(p.window.tokens) - 3 for p in pieces)


@pytest.mark.slow
def test_a_trained_model_records_its_composers_and_its_card_states_them(tiny_piano):
    meta = json.loads((tiny_piano / "model.json").read_text())
    assert meta["tokenizer"]["kind"] == "piano" and set(meta["tokenizer"]["composers"]) <= {"Alpha", "Beta"}
    assert meta["tokenizer"]["composers"]
    assert meta["data_summary"]["skipped"] == 1 and np.isfinite(meta["valid_loss"])
    meters = meta["data_stats"]["composer_meters"]  # what `generate --composer` draws a meter from
    assert set(meters["Alpha"]) == {"4/4"} and set(meters["Beta"]) == {"3/4"}, meters
    card = (tiny_piano / "card.md").read_text()
    assert "Composers (training pieces)" in card and "nats per event token" in card
    assert "License of the data: that of your own files" in card
