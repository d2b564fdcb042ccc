"""cadenza.families.orderless: training batches (windows of whole beats, masks from training_mask,
MASK only where hidden, transpositions in range, a state that reproduces them), the training
masks, and the exact likelihood under an ordering."""

import json
import math

import numpy as np
import torch

from cadenza.families import orderless
from cadenza.families.orderless import CellBatches, ordered_nll, training_mask
from cadenza.nn.orderless import OrderlessConfig, OrderlessModel
from cadenza.tokenize.cells import MASK, N_CELL, REST

SPB, V = 4, 4


def grids() -> list[np.ndarray]:
    """Random grids of different lengths (one shorter than a beat, which is not used), with rests,
    one reaching pitch 126 (cell 127) and one reaching pitch 1 (cell 2)."""
    rng = np.random.default_rng(7)
    out = []
    for length in (37, 50, 64, 3, 29):
        g = rng.integers(41, 82, size=(length, V))
        g[rng.random((length, V)) < 0.1] = REST
        out.append(g)
    out[1][5, 0] = 127
    out[2][9, 3] = 2
    return out


def locate(y: np.ndarray, sources: list[np.ndarray]) -> list[tuple[int, int, int]]:
    """Every (grid, start step, shift) whose window, transposed, is y."""
    found = []
    for i, g in enumerate(sources):
        for start in range(len(g) - len(y) + 1):
            w = g[start : start + len(y)]
            if not ((w == REST) == (y == REST)).all() or not (w > REST).any():
                continue
            shift = int(y[w > REST][0] - w[w > REST][0])
            if (np.where(w > REST, w + shift, REST) == y).all():
                found.append((i, start, shift))
    return found


def test_windows_are_whole_beats_of_the_grids_transposed_within_range():
    source = grids()
    batches = CellBatches(source, SPB, window_steps=24, transpose=5, seed=3)
    assert len(batches.grids) == 4  # the grid shorter than a beat is left out
    starts, shifts, lengths, top, bottom = set(), set(), set(), set(), set()
    for _ in range(12):
        x, y, m = (a.numpy() for a in batches.next(6))
        length = y.shape[1]
        assert 0 < length <= 24 and length % SPB == 0  # whole beats, at most the window
        lengths.add(length)
        for row in y:
            found = locate(row, source)
            assert found, row
            assert all(start % SPB == 0 for _, start, _ in found)  # windows begin on a beat
            assert all(-5 <= s <= 5 for _, _, s in found)
            assert row.min() >= REST and row.max() <= N_CELL - 1  # cells: a rest or a MIDI pitch
            for i, start, s in found:
                starts.add(start)
                shifts.add(s)
                if i == 1 and start <= 5 < start + length:
                    top.add(s)
                if i == 2 and start <= 9 < start + length:
                    bottom.add(s)
    assert top and max(top) <= 1  # a window holding pitch 126 goes at most one semitone up
    assert bottom and min(bottom) >= -1  # one holding pitch 1 at most one down
    assert len(starts) > 5 and len(shifts) > 5
    assert lengths == {24}  # every grid used is longer than the window


def test_short_grids_shorten_the_window_to_whole_beats():
    source = [g[:10] for g in grids()[:2]]  # 10 steps: two and a half beats
    x, y, m = CellBatches(source, SPB, window_steps=64, transpose=0, seed=0).next(3)
    assert y.shape == (3, 8, V)


def test_masks_come_from_training_mask_and_mask_only_hidden_cells(monkeypatch):
    made = []

    def recording(rng, T, V):
        mask = training_mask(rng, T, V)
        made.append(((T, V), mask))
        return mask

    monkeypatch.setattr(orderless, "training_mask", recording)
    batches = CellBatches(grids(), SPB, window_steps=16, transpose=3, seed=11)
    for _ in range(5):
        made.clear()
        x, y, m = (a.numpy() for a in batches.next(4))
        assert [shape for shape, _ in made] == [(16, V)] * 4  # one mask per row, of the window's shape
        assert all((mask == row).all() for (_, mask), row in zip(made, m))
        assert ((x == MASK) == m).all()  # MASK exactly where hidden ...
        assert (x[~m] == y[~m]).all()  # ... and the target everywhere else
        assert (y != MASK).all()


def test_training_masks_are_never_empty_and_mix_the_tasks():
    rng = np.random.default_rng(0)
    masks = [training_mask(rng, 16, V) for _ in range(400)]
    assert all(m.shape == (16, V) and m.any() for m in masks)
    assert any((~m[:, 0]).all() and m[:, 1:].all() for m in masks)  # harmonizing a given soprano
    assert any(not m[:, 0].any() and m.any() and not m[:, 1:].all() for m in masks)  # soprano given, some hidden
    assert any(m[:, 0].any() and not m.all() for m in masks)  # anything hidden


def test_cell_batches_state_round_trip():
    batches = CellBatches(grids(), SPB, window_steps=16, transpose=3, seed=2)
    batches.next(2)
    state = json.loads(json.dumps(batches.state()))  # as a checkpoint stores it
    first = batches.next(5)
    batches.set_state(state)
    again = batches.next(5)
    other = CellBatches(grids(), SPB, window_steps=16, transpose=3, seed=99)
    other.set_state(state)
    for a, b, c in zip(first, again, other.next(5)):
        assert torch.equal(a, b) and torch.equal(a, c)
    assert not torch.equal(first[1], CellBatches(grids(), SPB, window_steps=16, transpose=3, seed=99).next(5)[1])


def test_ordered_nll_is_the_chain_rule_and_normalized():
    torch.manual_seed(0)
    model = OrderlessModel(OrderlessConfig(n_voices=2, steps_per_beat=2, n_layer=1, n_head=2, n_embd=16)).eval()
    grid = np.array([[61, 58], [63, 56]])
    order = [(1, 1), (0, 1)]
    got = ordered_nll(model, grid, order)
    with torch.no_grad():
        first = torch.log_softmax(model(torch.tensor([[[61, MASK], [63, MASK]]])), -1)[0, 1, 1]
        # every value of the first cell, then the second given it: sums to 1 over all 129^2 fillings
        x = torch.tensor([[[61, MASK], [63, k]] for k in range(129)])
        second = torch.log_softmax(model(x), -1)[:, 0, 1]
    manual = -(first[56] + second[56, 58]).item()
    assert math.isclose(got, manual, rel_tol=1e-5)
    total = torch.logsumexp(first[:, None] + second, dim=(0, 1)).item()
    assert abs(total) < 1e-5
