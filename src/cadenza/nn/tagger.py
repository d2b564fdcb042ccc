"""The tagger: the shared transformer's blocks (cadenza.nn.transformer.Block), bidirectional with
rotary positions, over a sequence of feature vectors, one output vector per step. Every step
sees the whole window (a padding mask keeps padded steps out of attention), as a performer
reads ahead and back, and as a chord under a melody depends on what comes next.

Used by the performer (a score's notes -> how each is played) and the chords family (a
melody's beats -> the chord under each).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from cadenza.nn.transformer import Block, ModelConfig, scale_residual_projections


class Tagger(nn.Module):
    """Features (B, T, n_features) -> outputs (B, T, n_outputs). `config` is the family's own
    config dataclass (saved in model.json); it has n_features, block_size, n_layer, n_head,
    n_embd and dropout."""

    architecture = "tagger"

    def __init__(self, config, n_outputs: int):
        super().__init__()
        self.config = config
        blocks = ModelConfig(
            vocab_size=1,
            block_size=config.block_size,
            n_layer=config.n_layer,
            n_head=config.n_head,
            n_embd=config.n_embd,
            dropout=config.dropout,
            attn_dropout=0.0,
            rope=True,
            causal=False,
        )
        self.inp = nn.Linear(config.n_features, config.n_embd)
        self.blocks = nn.ModuleList(Block(blocks) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.head = nn.Linear(config.n_embd, n_outputs)
        scale_residual_projections(self, config.n_layer)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, x: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, T, n_features); valid (B, T) bool, False for padding."""
        mask = None if valid is None else valid[:, None, None, :].expand(-1, 1, x.shape[1], -1)
        h = self.inp(x)
        for block in self.blocks:
            h = block(h, mask)
        return self.head(self.ln_f(h))


def read_in_windows(model: Tagger, features, block: int, transform):
    """`transform(logits)` per step of a whole sequence of features (T, n_features), as a NumPy
    array (T, ...): a sequence longer than the network's window (`block` steps) is read in
    windows half a window apart, each step taken from the window where it lies nearest the
    middle. `transform` maps one window's logits (steps, n_outputs) to a tensor of its steps."""
    import numpy as np

    T = len(features)
    starts = [0] if T <= block else list(range(0, T - block, block // 2)) + [T - block]
    out = None
    best = np.full(T, np.inf)
    with torch.no_grad():
        for a in starts:
            x = torch.from_numpy(np.ascontiguousarray(features[a : a + block]))[None]
            values = transform(model(x).float()[0]).numpy().astype(np.float64)
            if out is None:
                out = np.zeros((T, *values.shape[1:]), dtype=np.float64)
            steps = np.arange(a, a + len(values))
            off_centre = np.abs(steps - (a + len(values) / 2))
            take = off_centre < best[steps]
            out[steps[take]] = values[take]
            best[steps[take]] = off_centre[take]
    return out
