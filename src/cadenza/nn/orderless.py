"""The orderless (masked) voices model: given any subset of the cells of a (time x voice) grid,
predict every other cell. An instance of orderless NADE (Uria et al. 2014) as Coconet used it
(Huang et al. 2017), with a bidirectional transformer in place of Coconet's convolutions.

A grid is an int array (T steps, V voices) of cells: 0 = rest, 1 + p = MIDI pitch p sounding
(no onset/hold distinction: a held note repeats its pitch, as in Coconet's data). In the input
a hidden cell is MASK. The network sees the sum of one embedding per voice's cell, plus the
step's position in its beat; positions are rotary (relative), so any length up to block_size
works. Output: (B, T, V, N_CELL) logits.

The cells are cadenza.tokenize.cells; training batches, masks, loss and validation are the
orderless family's (cadenza.families.orderless); sampling (annealed blocked Gibbs) is
cadenza.compose.gibbs; Score-level harmonize and infill are cadenza.compose.harmonizer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from cadenza.nn.transformer import Block, ModelConfig, Transformer, scale_residual_projections
from cadenza.tokenize.cells import N_CELL


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
        return ModelConfig(
            vocab_size=N_CELL + 1,
            block_size=self.block_size,
            n_layer=self.n_layer,
            n_head=self.n_head,
            n_embd=self.n_embd,
            dropout=self.dropout,
            rope=True,
            causal=False,
        )


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
        self.apply(Transformer.init_weights)
        scale_residual_projections(self, cfg.n_layer)

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
