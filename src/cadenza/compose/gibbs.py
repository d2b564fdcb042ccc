"""Filling hidden cells with the orderless model: annealed blocked Gibbs sampling (Coconet's
procedure, after Yao et al. 2014), then a repair pass against parallel fifths and octaves.

Constraints are data: `allowed` (T, V, N_CELL) says which values each cell may take (fixed
notes, scale, ranges, planned cadences all become this mask); visible cells are never changed.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch
from torch.nn import functional as F

from cadenza.compose.settings import GibbsSettings
from cadenza.errors import OptionError
from cadenza.nn.orderless import OrderlessModel
from cadenza.theory import parallel_motions, parallel_to
from cadenza.tokenize.cells import MASK, N_CELL, REST

_CELLS = np.arange(N_CELL)


def parallels(grid: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Parallel fifths and octaves in a grid of cells (theory.parallel_motions): (step, upper
    voice, lower voice, 7 or 0)."""
    return parallel_motions([[None if c == REST else int(c) for c in row] for row in grid])


def arriving_parallels(grid: np.ndarray, t: int, v: int) -> np.ndarray:
    """Bool (N_CELL,): the values of cell (t, v) that would make a parallel fifth or octave with
    another voice in the motion from step t-1 to t, the other cells as they are."""
    bad = np.zeros(N_CELL, dtype=bool)
    if t == 0:
        return bad
    for u in range(grid.shape[1]):
        p1, q1, q2 = grid[t - 1, v], grid[t - 1, u], grid[t, u]
        if u != v and REST not in (p1, q1, q2):
            bad |= parallel_to(p1, q1, q2, _CELLS, upper=v < u)
    bad[REST] = False
    return bad


def leaving_parallels(grid: np.ndarray, t: int, v: int) -> np.ndarray:
    """Bool (N_CELL,): the values of cell (t, v) that would make a parallel fifth or octave with
    another voice in the motion from step t to t+1: the arriving rule with time reversed."""
    bad = np.zeros(N_CELL, dtype=bool)
    if t + 1 >= len(grid):
        return bad
    for u in range(grid.shape[1]):
        p2, q1, q2 = grid[t + 1, v], grid[t, u], grid[t + 1, u]
        if u != v and REST not in (p2, q1, q2):
            bad |= parallel_to(p2, q2, q1, _CELLS, upper=v < u)
    bad[REST] = False
    return bad


def _sample(logits: np.ndarray, allowed: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    z = np.where(allowed, logits.astype(np.float64) / temperature, -np.inf)
    p = np.exp(z - z.max())
    p /= p.sum()
    return min(int(np.searchsorted(np.cumsum(p), rng.random(), side="right")), N_CELL - 1)


@torch.no_grad()
def _logits(model: OrderlessModel, x: np.ndarray) -> np.ndarray:
    return F.log_softmax(model(torch.from_numpy(x)), dim=-1).numpy()


def check_allowed(allowed: np.ndarray, hidden: np.ndarray) -> None:
    empty = np.argwhere(hidden & ~allowed.any(axis=-1))
    if len(empty):
        t, v = empty[0]
        raise OptionError(
            f"the constraints leave no possible note for voice {v + 1} at grid step {t} "
            f"({len(empty)} such cells): they cannot all be met"
        )


@contextmanager
def one_torch_thread():
    """PyTorch on one thread. For these small grids a second thread gains nothing on a quiet
    machine (the example harmonization: 2.22 s on two threads, 2.31 s on one), and when another
    process busies a core the waiting thread's spinning made harmonize 3.5 times slower (17.4 s
    against 5.0 s on one thread). The music is the same."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@torch.no_grad()
@one_torch_thread()
def gibbs_fill(
    model: OrderlessModel,
    grid: np.ndarray,
    hidden: np.ndarray,
    allowed: np.ndarray,
    settings: GibbsSettings = GibbsSettings(),
    n_samples: int = 1,
    no_parallels: bool = True,
    again: dict[int, int] | None = None,
) -> np.ndarray:
    """Fill the `hidden` cells of `grid` (T, V) n_samples times: (n_samples, T, V) grids whose
    visible cells equal `grid`'s. Sample i draws from seed settings.seed + i: the same music as a
    single sample with that seed. `again`: step -> an earlier step whose hidden cells are sung
    again there (a repeat's second pass: harmonizer.sung_again); those are never drawn, but
    copied after each round, so that the model hears the copy around what it draws."""
    model.eval()
    check_allowed(allowed, hidden)
    T, V = grid.shape
    out = np.repeat(np.where(hidden, REST, grid)[None], n_samples, axis=0)
    rngs = [np.random.default_rng(settings.seed + i) for i in range(n_samples)]
    copies = np.array(sorted(again or {}), dtype=np.int64)
    sources = np.array([(again or {})[t] for t in copies], dtype=np.int64)
    drawn = hidden.copy()
    drawn[copies] = False

    def copy(g: np.ndarray) -> None:
        if len(copies):
            g[copies] = np.where(hidden[copies], g[sources], g[copies])

    cells = np.argwhere(drawn)
    if not len(cells):
        return out
    s = settings
    for it in range(s.iterations):
        x = out.copy()
        masks = []
        for i in range(n_samples):
            if it == 0:
                m = hidden.copy()
            else:
                rate = max(s.p_min, s.p_max - (s.p_max - s.p_min) * it / (s.anneal * s.iterations))
                m = np.zeros_like(hidden)
                pick = cells[rngs[i].random(len(cells)) < rate]
                if not len(pick):
                    pick = cells[rngs[i].integers(len(cells))][None]
                m[pick[:, 0], pick[:, 1]] = True
            x[i][m] = MASK
            masks.append(m)
        logp = _logits(model, x)
        for i in range(n_samples):
            for t, v in np.argwhere(masks[i] & drawn):
                out[i, t, v] = _sample(logp[i, t, v], allowed[t, v], s.temperature, rngs[i])
            copy(out[i])
    if no_parallels:
        for i in range(n_samples):
            _repair(model, out[i], drawn, allowed, s, rngs[i])
            copy(out[i])
    return out


def _repair(
    model, grid: np.ndarray, hidden: np.ndarray, allowed: np.ndarray, s: GibbsSettings, rng: np.random.Generator
) -> None:
    """Resample (in place) each hidden note that moves in parallel fifths or octaves: the whole
    note (its run of equal cells) at once, scored by the sum of its cells' log-probabilities,
    forbidden the values that would make a parallel on arriving or leaving."""
    for _ in range(s.repair_rounds):
        runs = set()
        for t, a, b, _ in parallels(grid):
            for v in (a, b):
                for step in (t - 1, t):  # the notes on both sides of the motion
                    if hidden[step, v]:
                        runs.add(_run(grid, hidden, step, v))
        if not runs:
            return
        x = grid.copy()
        for v, a, b in runs:
            x[a:b, v] = MASK
        logp = _logits(model, x[None])[0]
        for v, a, b in sorted(runs, key=lambda r: (r[1], r[0])):
            ok = np.asarray(allowed[a:b, v].all(axis=0))
            free = ok & ~arriving_parallels(grid, a, v) & ~leaving_parallels(grid, b - 1, v)
            grid[a:b, v] = _sample(logp[a:b, v].sum(axis=0), free if free.any() else ok, s.temperature, rng)


def _run(grid: np.ndarray, hidden: np.ndarray, t: int, v: int) -> tuple[int, int, int]:
    """(v, a, b): the hidden cells [a, b) of voice v around step t holding the same value."""
    a, b = t, t + 1
    while a > 0 and hidden[a - 1, v] and grid[a - 1, v] == grid[t, v]:
        a -= 1
    while b < len(grid) and hidden[b, v] and grid[b, v] == grid[t, v]:
        b += 1
    return v, a, b
