"""The transformer: a causal language model over token sequences, after nanoGPT.

One file, read top to bottom: the config dataclass, the blocks, the model, and save/load as
safetensors + JSON (never pickle). Fast one-token-at-a-time decoding with a key/value cache
lives in cadenza.nn.numpy_decoder (NumPy: for a model this small, PyTorch's per-op overhead dominates).
Shapes: B batch, T time (tokens), C channels (n_embd), H heads, D = C // H.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.nn import functional as F


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int
    block_size: int = 512  # longest context in tokens
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 192
    dropout: float = 0.1  # on embeddings, MLP outputs and (unless attn_dropout says otherwise) attention weights
    attn_dropout: float | None = None  # dropout on attention weights; None: `dropout`. 0 lets PyTorch use its fused
    # (flash) attention kernel: about 7x faster training on a 2-core CPU, where dropping weights costs most of a step
    rope: bool = False  # rotary position embedding (relative positions) instead of learned absolute ones
    n_conditions: int = 0  # > 0: forward() takes a condition id per token (e.g. a window's transposition),
    # whose learned embedding is added to the token's
    causal: bool = True  # False: every position attends to every other (the orderless model)
    group: int = 1  # > 1: a step reads up to this many tokens (their embeddings summed, PAD 0 left
    # out) and a small head (GroupHead) writes the next step's tokens in turn

    def __post_init__(self):
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd {self.n_embd} is not a multiple of n_head {self.n_head}")
        if self.rope and (self.n_embd // self.n_head) % 2:
            raise ValueError("rotary positions need an even head size (n_embd / n_head)")
        if self.group < 1:
            raise ValueError(f"group (tokens a step) must be at least 1, not {self.group}")
        if self.group > 1 and (not self.causal or self.n_conditions):
            raise ValueError("a step of several tokens (group > 1) is for causal models without conditions")


def rotary_tables(block_size: int, head_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin (block_size, head_size) of rotary position embedding (Su et al. 2021): the
    first and second halves of each head's channels are rotated together by angle t * f_i,
    with f_i = 10000^(-2i / head_size), so a query-key product depends on their distance."""
    half = head_size // 2
    freqs = 10000.0 ** (-torch.arange(half, dtype=torch.float32) * 2 / head_size)
    angles = torch.arange(block_size, dtype=torch.float32)[:, None] * freqs[None, :]
    return torch.cat([angles.cos()] * 2, dim=-1), torch.cat([angles.sin()] * 2, dim=-1)


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x (..., T, D) rotated by the tables' rows for its T positions."""
    half = x.shape[-1] // 2
    return x * cos + torch.cat([-x[..., half:], x[..., :half]], dim=-1) * sin


class SelfAttention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.n_head = cfg.n_head
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.dropout = cfg.dropout if cfg.attn_dropout is None else cfg.attn_dropout
        if cfg.rope:  # tables as buffers that are not saved: they follow from the config
            cos, sin = rotary_tables(cfg.block_size, cfg.n_embd // cfg.n_head)
            self.register_buffer("cos", cos, persistent=False)
            self.register_buffer("sin", sin, persistent=False)
        self.rope = cfg.rope
        self.causal = cfg.causal

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, T, C); mask (B, 1, T, T) bool, True where a position may attend (None: causal or all)."""
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        # (B, T, C) -> (B, H, T, D)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        if self.rope:
            cos, sin = self.cos[:T], self.sin[:T]  # type: ignore[index]
            q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        y = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=mask,
            is_causal=self.causal and mask is None,
            dropout_p=self.dropout if self.training else 0.0,
        )
        return self.proj(y.transpose(1, 2).contiguous().view(B, T, C))


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.n_embd)
        self.attn = SelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.n_embd)
        self.mlp = nn.Sequential(
            OrderedDict(
                fc=nn.Linear(cfg.n_embd, 4 * cfg.n_embd),
                gelu=nn.GELU(),
                out=nn.Linear(4 * cfg.n_embd, cfg.n_embd),
                drop=nn.Dropout(cfg.dropout),
            )
        )

    def forward(self, x, mask=None):
        x = x + self.attn(self.ln1(x), mask)
        return x + self.mlp(self.ln2(x))


def scale_residual_projections(model: nn.Module, n_layer: int) -> None:
    """GPT-2's scaled initialization of the projections that write into the residual stream."""
    for name, p in model.named_parameters():
        if name.endswith("attn.proj.weight") or name.endswith("mlp.out.weight"):
            nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))


class GroupHead(nn.Module):
    """The tokens of one step, written in turn (a model with config.group > 1). Token j of the
    next step is predicted from the network's output h at this step and the tokens 0..j-1 of the
    next step already written: a = fc(ln(h)) + the sum of their `sub_emb` rows, and the logits
    are the model's own head on ln_f(h + proj(gelu(a))). The tokens' part of `a` is a table lookup,
    so writing a token costs one product of the hidden width by C and the output head's."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        hidden = 4 * cfg.n_embd
        self.ln = nn.LayerNorm(cfg.n_embd)
        self.fc = nn.Linear(cfg.n_embd, hidden)
        self.sub_emb = nn.Embedding(cfg.vocab_size, hidden)
        self.proj = nn.Linear(hidden, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, h: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """h (B, T, C), targets (B, T, G) the next steps' tokens -> (B, T, G, C): the input of the
        output head for each of them, knowing those before it in its step (teacher forcing)."""
        written = self.sub_emb(targets)  # (B, T, G, hidden)
        before = torch.cumsum(written, dim=2) - written  # the sum of the tokens before each
        a = self.fc(self.ln(h))[:, :, None, :] + before
        return h[:, :, None, :] + self.drop(self.proj(F.gelu(a)))


class Transformer(nn.Module):
    tied = {"head.weight": "tok_emb.weight"}  # parameters saved once, under the second name

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.config = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.pos_emb = None if cfg.rope else nn.Embedding(cfg.block_size, cfg.n_embd)
        self.cond_emb = nn.Embedding(cfg.n_conditions, cfg.n_embd) if cfg.n_conditions else None
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight  # weight tying, as in GPT-2
        self.group_head = GroupHead(cfg) if cfg.group > 1 else None
        self.apply(self.init_weights)
        scale_residual_projections(self, cfg.n_layer)

    @staticmethod
    def init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters()) - (self.pos_emb.weight.numel() if self.pos_emb else 0)

    def forward(
        self,
        idx: torch.Tensor,
        segments: torch.Tensor | None = None,
        conditions: torch.Tensor | None = None,
        targets: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """idx (B, T) token ids -> logits (B, T, vocab). (Incremental decoding: cadenza.nn.numpy_decoder.)

        `segments` (B, T) ints, non-decreasing along T, packs several sequences into one row: a
        position attends only to earlier positions of its own segment, as if each were alone.
        `conditions` (B, T) ints below config.n_conditions, required when that is set.
        A model of steps of several tokens (config.group > 1) takes idx (B, T, G), each step's
        tokens padded with 0, and `targets` (B, T, G), the next steps' tokens, and returns the
        logits of each of them (B, T, G, vocab)."""
        B, T = idx.shape[:2]
        if (idx.dim() == 3) != (self.group_head is not None) or (targets is None) != (self.group_head is None):
            raise ValueError(f"this model reads steps of {self.config.group} token(s): idx and targets do not fit it")
        if T > self.config.block_size:
            raise ValueError(f"sequence of {T} tokens exceeds block_size {self.config.block_size}")
        if (conditions is None) != (self.cond_emb is None):
            raise ValueError(f"this model takes {'no ' if self.cond_emb is None else ''}conditions")
        x = self.tok_emb(idx)
        if self.group_head is not None:  # a step's tokens summed, its padding left out
            x = (x * (idx != 0)[..., None]).sum(dim=2)
        if self.cond_emb is not None:
            x = x + self.cond_emb(conditions)
        position = torch.arange(T, device=idx.device)
        mask = None
        if segments is not None:  # (B, 1, T, T): same segment (and, in a causal model, not later)
            mask = segments[:, None, :, None] == segments[:, None, None, :]
            if self.config.causal:
                mask = mask & torch.ones(T, T, dtype=torch.bool, device=idx.device).tril()
            begins = torch.ones_like(segments, dtype=torch.bool)
            begins[:, 1:] = segments[:, 1:] != segments[:, :-1]
            position = position - torch.cummax(torch.where(begins, position, 0), dim=1).values  # within its segment
        if self.pos_emb is not None:
            x = x + self.pos_emb(position)
        x = self.drop(x)
        for block in self.blocks:
            x = block(x, mask)
        if self.group_head is not None:
            x = self.group_head(x, targets)
        return self.head(self.ln_f(x))

    def target_logits(self, idx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The logits that predict `targets` (shaped as they are, plus vocab): a model of steps of
        several tokens reads the targets before each one in its step, a model of tokens none."""
        return self.forward(idx, targets=targets) if self.group_head is not None else self.forward(idx)

    def loss(self, idx: torch.Tensor, targets: torch.Tensor, ignore_index: int = 0) -> torch.Tensor:
        """Mean cross-entropy in nats per predicted token; targets equal to ignore_index are skipped."""
        logits = self.target_logits(idx, targets)
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=ignore_index)
