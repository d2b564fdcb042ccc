"""The orderless (masked) voices model: given any subset of the cells of a (time x voice) grid,
predict every other cell. An instance of orderless NADE (Uria et al. 2014) as Coconet used it
(Huang et al. 2017), with a bidirectional transformer in place of Coconet's convolutions.

A grid is an int array (T steps, V voices) of cells: 0 = rest, 1 + p = MIDI pitch p sounding
(no onset/hold distinction: a held note repeats its pitch, as in Coconet's data). In the input
a hidden cell is MASK. The network sees the sum of one embedding per voice's cell, plus the
step's position in its beat; positions are rotary (relative), so any length up to block_size
works. Output: (B, T, V, N_CELL) logits.

Sampling (annealed blocked Gibbs) lives in cadenza.gibbs; Score-level harmonize and infill in
cadenza.assistant.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
from torch.nn import functional as F

from cadenza.model import Block, ModelConfig, Transformer

N_CELL = 129  # rest + 128 pitches
MASK = N_CELL  # input only: the cell is hidden
REST = 0


def cell_of(pitch: int | None) -> int:
    return REST if pitch is None else 1 + pitch


def pitch_of(cell: int) -> int | None:
    return None if cell == REST else cell - 1


@dataclass(frozen=True)
class OrderlessConfig:
    n_voices: int = 4
    steps_per_beat: int = 4
    block_size: int = 2048  # longest grid in steps (64 bars of 4/4 at sixteenths is 1024)
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.1

    def transformer(self) -> ModelConfig:
        return ModelConfig(vocab_size=N_CELL + 1, block_size=self.block_size, n_layer=self.n_layer,
                           n_head=self.n_head, n_embd=self.n_embd, dropout=self.dropout, rope=True, causal=False)


class OrderlessModel(nn.Module):
    architecture = "orderless"
    tied: dict = {}

    def __init__(self, cfg: OrderlessConfig):
        super().__init__()
        self.config = cfg
        mc = cfg.transformer()
        self.cell_emb = nn.Embedding(cfg.n_voices * (N_CELL + 1), cfg.n_embd)  # one table per voice
        self.beat_emb = nn.Embedding(cfg.steps_per_beat, cfg.n_embd)  # position within the beat
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(mc) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.head = nn.Linear(cfg.n_embd, cfg.n_voices * N_CELL)
        self.apply(Transformer._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, cells: torch.Tensor) -> torch.Tensor:
        """cells (B, T, V) in [0, N_CELL] (N_CELL = MASK), T a whole number of beats from a beat
        start -> logits (B, T, V, N_CELL)."""
        B, T, V = cells.shape
        if T > self.config.block_size:
            raise ValueError(f"grid of {T} steps exceeds block_size {self.config.block_size}")
        offsets = torch.arange(V, device=cells.device) * (N_CELL + 1)
        x = self.cell_emb(cells + offsets).sum(dim=2)  # (B, T, C)
        x = x + self.beat_emb(torch.arange(T, device=cells.device) % self.config.steps_per_beat)
        x = self.drop(x)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x)).view(B, T, V, N_CELL)


# ---------------------------------------------------------------------------------------------
# training


def training_mask(rng: np.random.Generator, T: int, V: int) -> np.ndarray:
    """Which cells to hide, bool (T, V). A mix of the tasks the model serves: hide each cell with
    a random rate (orderless NADE), the same with the soprano always given (harmonization and
    its chain-rule evaluation), every voice but the soprano (harmonizing from scratch), and a
    block of steps x voices (infilling a region)."""
    kind = rng.random()
    if kind < 0.8:
        m = rng.random((T, V)) < rng.random()
        if kind >= 0.4:
            m[:, 0] = False
    elif kind < 0.9:
        m = np.zeros((T, V), dtype=bool)
        m[:, 1:] = True
    else:
        m = np.zeros((T, V), dtype=bool)
        a, b = sorted(rng.integers(0, T + 1, size=2))
        voices = rng.random(V) < 0.5
        m[a:b + 1, voices] = True
    if not m.any():
        m[rng.integers(T), rng.integers(V)] = True
    return m


class GridBatches:
    """Random training windows of whole beats from grids (T, V), transposed at random; each with
    its training mask. next() -> (input cells with MASK, target cells, mask) tensors."""

    def __init__(self, grids: list[np.ndarray], steps_per_beat: int, window_steps: int, transpose: int, seed: int):
        self.grids = [g for g in grids if len(g) >= steps_per_beat]
        if not self.grids:
            raise ValueError("no training grids")
        self.spb, self.window, self.transpose = steps_per_beat, window_steps, transpose
        lengths = np.array([len(g) for g in self.grids], dtype=np.float64)
        self.weights = lengths / lengths.sum()
        self.rng = np.random.default_rng(seed)

    def next(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        picks = self.rng.choice(len(self.grids), size=batch_size, p=self.weights)
        length = min(self.window, min(len(self.grids[i]) for i in picks)) // self.spb * self.spb
        V = self.grids[0].shape[1]
        x = np.empty((batch_size, length, V), dtype=np.int64)
        y = np.empty((batch_size, length, V), dtype=np.int64)
        m = np.empty((batch_size, length, V), dtype=bool)
        for b, i in enumerate(picks):
            g = self.grids[i]
            start = int(self.rng.integers(0, (len(g) - length) // self.spb + 1)) * self.spb
            w = g[start:start + length]
            sounding = w[w > REST]
            lo = max(-self.transpose, 1 - int(sounding.min())) if len(sounding) else 0
            hi = min(self.transpose, N_CELL - 1 - int(sounding.max())) if len(sounding) else 0
            shift = int(self.rng.integers(lo, hi + 1))
            y[b] = np.where(w > REST, w + shift, REST)
            m[b] = training_mask(self.rng, length, V)
            x[b] = np.where(m[b], MASK, y[b])
        return torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(m)

    def state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


def masked_cells_loss(model: OrderlessModel, batch) -> torch.Tensor:
    """Mean NLL (nats) of the hidden cells, averaged per example, then over the batch."""
    x, y, m = batch
    logits = model(x)
    nll = F.cross_entropy(logits.reshape(-1, N_CELL), y.reshape(-1), reduction="none").view(y.shape)
    per_example = (nll * m).sum(dim=(1, 2)) / m.sum(dim=(1, 2))
    return per_example.mean()


@torch.no_grad()
def validation_loss(model: OrderlessModel, grids: list[np.ndarray], seed: int = 1234, repeats: int = 2) -> float:
    """Mean NLL per hidden cell over fixed random masks of each whole validation grid
    (deterministic: the same masks at every evaluation)."""
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    rng = np.random.default_rng(seed)
    total = count = 0.0
    for g in grids:
        g = g[:model.config.block_size]  # a longer piece is scored on its beginning
        for _ in range(repeats):
            m = training_mask(rng, len(g), g.shape[1])
            x = torch.from_numpy(np.where(m, MASK, g)[None]).to(device)
            logits = model(x)[0]
            nll = F.cross_entropy(logits[torch.from_numpy(m).to(device)], torch.from_numpy(g[m]).to(device),
                                  reduction="sum")
            total += float(nll)
            count += int(m.sum())
    model.train(was)
    return total / max(count, 1)


# ---------------------------------------------------------------------------------------------
# exact likelihood under an ordering


@torch.no_grad()
def ordered_nll(model: OrderlessModel, grid: np.ndarray, order: list[tuple[int, int]], batch_size: int = 32) -> float:
    """-log p(the cells in `order` | every other cell), in nats, by the chain rule in that order:
    cell k is predicted with cells order[k:] hidden and everything else visible. Exact for this
    ordering (a properly normalized distribution over the hidden cells)."""
    model.eval()
    hidden = np.zeros(grid.shape, dtype=bool)
    for t, v in order:
        hidden[t, v] = True
    total = 0.0
    for k0 in range(0, len(order), batch_size):
        ks = range(k0, min(k0 + batch_size, len(order)))
        x = np.empty((len(ks),) + grid.shape, dtype=np.int64)
        current = np.where(hidden, MASK, grid)
        for k in range(k0, ks.stop):  # row j hides order[k0 + j:]
            x[k - k0] = current
            t, v = order[k]
            current[t, v] = grid[t, v]
        logp = F.log_softmax(model(torch.from_numpy(x)), dim=-1)
        for j, k in enumerate(ks):
            t, v = order[k]
            total -= float(logp[j, t, v, grid[t, v]])
        for k in ks:
            t, v = order[k]
            hidden[t, v] = False
    return total
