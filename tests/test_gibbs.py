"""cadenza.compose.gibbs: parallels found and forbidden exactly, and Gibbs sampling with its repair
pass: hidden cells end free of parallel fifths and octaves when the rules leave a way out,
visible cells never change, every cell stays within what `allowed` permits."""

import numpy as np
import pytest
import torch

from cadenza.compose.gibbs import GibbsSettings, _repair, arriving_parallels, gibbs_fill, leaving_parallels, parallels
from cadenza.nn.orderless import OrderlessConfig, OrderlessModel
from cadenza.plan.constraints import allowed_cells
from cadenza.tokenize.cells import N_CELL, REST


def _cells(rows):
    return np.array([[0 if p is None else p + 1 for p in row] for row in rows], dtype=np.int64)


def test_parallels_found_and_contrary_motion_is_not():
    grid = _cells([[72, 65, 60, 48], [74, 67, 62, 50], [72, 69, 60, 53]])
    found = set(parallels(grid))
    # step 1: everyone up a tone; step 2: S and T down in octaves, A and B up (contrary to S, T)
    assert found == {(1, 0, 1, 7), (1, 0, 2, 0), (1, 0, 3, 0), (1, 2, 3, 0), (2, 0, 2, 0)}


def test_forbidden_values_are_exactly_those_that_add_a_parallel():
    rng = np.random.default_rng(0)
    for _ in range(40):
        grid = rng.integers(50, 75, size=(3, 4)) + 1
        for t in (1, 2):
            hold = rng.random(4) < 0.3
            grid[t, hold] = grid[t - 1, hold]
        grid[rng.random((3, 4)) < 0.05] = 0  # a few rests
        v = int(rng.integers(4))
        base = {(t, a, b) for t, a, b, _ in parallels(grid)}
        bad = arriving_parallels(grid, 1, v) | leaving_parallels(grid, 1, v)
        for x in range(40, 90):
            trial = grid.copy()
            trial[1, v] = x
            new = {(t, a, b) for t, a, b, _ in parallels(trial)} - base
            assert bool(bad[x]) == any(v in (a, b) for _, a, b in new), (grid, v, x)


# -- the repair pass ---------------------------------------------------------------------------


def tiny_orderless(n_voices=4):
    """An untrained orderless model: its choices are arbitrary, so parallels come easily."""
    torch.manual_seed(0)
    return OrderlessModel(
        OrderlessConfig(n_voices=n_voices, steps_per_beat=2, n_layer=1, n_head=2, n_embd=16, dropout=0.0)
    ).eval()


def hidden_parallels(grid, hidden):
    """The parallels (step, upper, lower, interval) that touch a hidden cell."""
    return [(t, a, b, i) for t, a, b, i in parallels(grid) if hidden[t - 1 : t + 1][:, [a, b]].any()]


@pytest.mark.parametrize("given", [0, 1])
def test_repair_removes_hand_made_parallel_fifths_within_the_allowed_cells(given):
    # the soprano rises by steps and the alto follows it a fifth below all the way; one of them is
    # given, the other hidden, its range a twelfth wide without rests (a rest is no way out)
    grid = _cells([[72, 65], [74, 67], [76, 69], [77, 70], [79, 72], [77, 70]])
    free = 1 - given
    hidden = np.zeros(grid.shape, dtype=bool)
    hidden[:, free] = True
    allowed = np.ones(grid.shape + (N_CELL,), dtype=bool)
    allowed[:, free] = allowed_cells([(60, 79)] * 2)[free]
    allowed[:, free, REST] = False
    assert len(hidden_parallels(grid, hidden)) == 5
    for seed in range(5):
        g = grid.copy()
        _repair(
            tiny_orderless(2),
            g,
            hidden,
            allowed,
            GibbsSettings(seed=seed, repair_rounds=1),
            np.random.default_rng(seed),
        )
        assert hidden_parallels(g, hidden) == [], (seed, g)  # one round is enough: each note has a way out
        assert (g[:, given] == grid[:, given]).all()  # the given voice is untouched
        assert all(allowed[t, free, g[t, free]] for t in range(len(g)))  # pitches 60..79, no rest


def test_repair_keeps_a_parallel_the_allowed_cells_force():
    # the alto may sing only the pitch a fifth below the soprano: no legal way out, so the
    # repair keeps to `allowed` rather than leave it
    grid = _cells([[72, 65], [74, 67]])
    hidden = np.array([[False, False], [False, True]])
    allowed = np.zeros(grid.shape + (N_CELL,), dtype=bool)
    for v in range(2):
        allowed[[0, 1], v, grid[:, v]] = True  # each cell: its own value only
    g = grid.copy()
    _repair(tiny_orderless(2), g, hidden, allowed, GibbsSettings(), np.random.default_rng(0))
    assert (g == grid).all()


@pytest.mark.parametrize(
    "alto_allowed, repaired",
    [
        (([65], [66, 67]), [65, 66]),  # the second note may not arrive in a fifth from the first
        (([64, 65], [67]), [64, 67]),  # the first note may not leave in a fifth to the second
    ],
)
def test_repair_forbids_notes_that_arrive_or_leave_in_parallel(alto_allowed, repaired):
    # soprano (given) C5 D5 over alto (hidden) F4 G4: parallel fifths; each alto note has one legal value
    grid = _cells([[72, 65], [74, 67]])
    hidden = np.array([[False, True], [False, True]])
    allowed = np.zeros(grid.shape + (N_CELL,), dtype=bool)
    allowed[:, 0] = True
    for t, pitches in enumerate(alto_allowed):
        allowed[t, 1, [p + 1 for p in pitches]] = True
    for seed in range(10):
        g = grid.copy()
        _repair(
            tiny_orderless(2),
            g,
            hidden,
            allowed,
            GibbsSettings(seed=seed, temperature=5.0, repair_rounds=1),
            np.random.default_rng(seed),
        )
        assert (g[:, 1] - 1).tolist() == repaired, seed


@pytest.fixture(scope="module")
def problem():
    """A four-voice grid of 16 steps, half its cells hidden at random, narrow ranges without rests
    (so that an arbitrary model writes parallels), a few given cells among the hidden voices."""
    rng = np.random.default_rng(4)
    ranges = [(67, 79), (60, 72), (53, 65), (43, 55)]
    T = 16
    grid = np.stack([rng.integers(lo, hi + 1, size=T) + 1 for lo, hi in ranges], axis=1)
    hidden = rng.random((T, 4)) < 0.5
    hidden[:, 0] = False  # a given melody
    allowed = np.repeat(allowed_cells(ranges)[None], T, axis=0)
    allowed[..., REST] = False
    return grid, hidden, allowed


def test_gibbs_fill_ends_without_parallels_among_hidden_cells(problem):
    grid, hidden, allowed = problem
    model = tiny_orderless()
    settings = GibbsSettings(iterations=6, temperature=2.0)
    before = gibbs_fill(model, grid, hidden, allowed, settings, n_samples=4, no_parallels=False)
    after = gibbs_fill(model, grid, hidden, allowed, settings, n_samples=4, no_parallels=True)
    assert sum(len(hidden_parallels(g, hidden)) for g in before) > 4  # sampling alone writes them ...
    t, v = np.nonzero(hidden)
    for g in after:
        assert hidden_parallels(g, hidden) == []  # ... and the repair removes every one
        assert (g[~hidden] == grid[~hidden]).all()  # visible cells never change
        assert allowed[t, v, g[t, v]].all()  # every hidden cell within its allowed values
    assert ((before != after) & hidden).any() and not ((before != after) & ~hidden).any()
    once = gibbs_fill(
        model,
        grid,
        hidden,
        allowed,
        GibbsSettings(iterations=6, temperature=2.0, repair_rounds=1),
        n_samples=4,
        no_parallels=True,
    )
    assert (once == after).all()  # one round was enough: every note had a legal way out


def test_gibbs_fill_without_repair_still_keeps_visible_and_allowed_cells(problem):
    grid, hidden, allowed = problem
    out = gibbs_fill(
        tiny_orderless(), grid, hidden, allowed, GibbsSettings(iterations=3, seed=9), n_samples=2, no_parallels=False
    )
    t, v = np.nonzero(hidden)
    for g in out:
        assert (g[~hidden] == grid[~hidden]).all() and allowed[t, v, g[t, v]].all()
