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


def test_note_steps_hold_the_same_tokens_in_the_same_order(pieces):
    """--note-steps: a window of steps (a note's position, hand, pitch and length in one) holds
    the token window's tokens in its order, its targets the next steps, and validation still
    scores every event token once."""
    import copy

    stepped = copy.deepcopy(pieces)
    fam.with_steps(stepped, TOK)
    p, q = stepped[1], pieces[1]
    x, y = fam.window(p, 2, 3, False, TOK, 64)
    xt, yt = fam.window(q, 2, 3, False, TOK, 1024)
    flat = x[x != TOK.pad]
    assert list(flat) == list(xt[: len(flat)])  # the same tokens, transposed alike, composer none
    assert x.shape == (64, 4) and (x[3] == [TOK.bar, x[3, 1], 0, 0]).all()
    n = int((x[:, 0] != TOK.pad).sum())  # the window's steps (the piece ends before the block)
    assert (y[2 : n - 1] == x[3:n]).all() and (y[:2] == TOK.pad).all() and (y[n - 1] != TOK.pad).any()
    assert {len(row[row != 0]) for row in x[3:n]} <= {2, 3, 4}
    for block in (24, 40, 512):
        scored = sum(int((y != TOK.pad).sum()) for _, y in fam.eval_windows(stepped, TOK, block))
        assert scored == sum(len(p.window.tokens) - 3 for p in pieces)


@pytest.mark.slow
def test_a_note_steps_model_starts_from_a_token_model_and_writes_a_piece(tiny_piano, piano_folder, tmp_path):
    """`cadenza train --note-steps --init-from MODEL`: the blocks and embeddings of a model that
    reads a token a step, the new head learned; model.json says so, and the pianist writes with it."""
    from cadenza import hub
    from conftest import train_tiny

    out = train_tiny(
        tmp_path / "steps", piano_folder, "--family", "piano", "--note-steps", "--block-size", "64",
        "--init-from", str(tiny_piano), steps=2,
    )  # fmt: skip
    meta = json.loads((out / "model.json").read_text())
    assert meta["model"]["group"] == 4 and meta["init_from"]["model"] == str(tiny_piano)
    card = (out / "card.md").read_text()
    assert meta["init_from"]["weights"] > 0 and "one step a note" in card and "started from the weights of" in card
    source = json.loads((tiny_piano / "model.json").read_text())
    assert meta["tokenizer"]["composers"] == source["tokenizer"]["composers"]  # its vocabulary, so its embeddings fit
    network = hub.load_network(out)[0]
    kept = [k for k in network.state_dict() if not k.startswith("group_head.") and k not in network.tied]
    assert meta["init_from"]["weights"] == len(kept)  # all but the new head's (a tied copy counted once)
    score = hub.load(out).generate(bars=3, key="C major", seed=1)
    assert [p.name for p in score.parts] == ["Right hand", "Left hand"] and score.notes()


def test_init_from_a_model_without_weights_is_one_line_before_any_data_is_read(tmp_path):
    from conftest import one_line_error, run_cli

    parts = tmp_path / "parts"
    parts.mkdir()
    (parts / "model.json").write_text("{}")  # as a model of parts holds: its weights in its folders
    proc = run_cli("train", "--family", "piano", "--data", str(tmp_path / "nowhere"), "--init-from", str(parts),
                   "--out", str(tmp_path / "out"))  # fmt: skip
    one_line_error(proc, "--init-from", "no model.safetensors")
    proc = run_cli(
        "train", "--family", "piano", "--data", "x", "--init-from", "no-such-model", "--out", str(tmp_path / "o")
    )
    one_line_error(proc, "no-such-model")
    # a model of another family: its tokens mean other things, whatever shapes match
    proc = run_cli("train", "--family", "piano", "--data", "x", "--init-from", "folk", "--out", str(tmp_path / "f"))
    one_line_error(proc, "--init-from folk: a voices model; this trains a piano model")
    assert not any((tmp_path / name).exists() for name in ("out", "o", "f"))


@pytest.mark.slow
def test_a_run_started_from_a_model_is_not_called_too_short(tiny_piano, piano_folder, tmp_path):
    """The warning that a run is too short to learn much compares with the shipped model's steps;
    a run that starts from a model's weights adds to that model's training, so it says nothing."""
    from conftest import run_cli

    args = ["train", "--family", "piano", "--data", str(piano_folder), "--steps", "1", "--eval-every", "1",
            "--embd", "32", "--layers", "1", "--heads", "2", "--batch-size", "2", "--block-size", "64"]  # fmt: skip
    fresh = run_cli(*args, "--out", str(tmp_path / "a"), check=True)
    assert "too few to learn much" in fresh.stderr
    started = run_cli(*args, "--init-from", str(tiny_piano), "--out", str(tmp_path / "b"), check=True)
    assert "too few to learn much" not in started.stderr and "started from" in started.stderr


def test_registers_are_where_each_composers_hands_play():
    """The trainer's data_stats "registers": a composer's right hand's 90th percentile key and
    left hand's 99th, all pieces' under "" (the pianist lets a hand up to them freely)."""
    from cadenza.families.piano import registers

    high = (list(range(70, 100)), list(range(40, 60)))  # right hand 70-99, left 40-59
    low = (list(range(60, 70)), list(range(30, 40)))
    tops = registers({"High": high, "Low": low, "": (high[0] + low[0], high[1] + low[1])})
    assert tops["High"] == [96, 58] and tops["Low"] == [68, 38]  # (whole keys, rounded down)
    for hand in (0, 1):
        assert tops["Low"][hand] < tops[""][hand] <= tops["High"][hand]
