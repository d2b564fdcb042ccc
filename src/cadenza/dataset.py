"""Token data for training: pieces tokenized once, windows and transpositions drawn per batch.

Transposition works on tokens directly (pitch tokens and the key token move together), so
augmentation costs nothing. Loss is taken on cell tokens only: BAR, key, meter and EOS tokens
are forced by the sampler, so predicting them teaches nothing and would flatter the loss.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from cadenza.corpus import Piece
from cadenza.tokenize.voices import N_PITCHES, PAD, PITCH0, REST, HOLD, TokenizeError, VoicesTokenizer

PREFIX_LEN = 3  # BOS KEY METER


@dataclass
class TokenizedPiece:
    id: str
    tokens: np.ndarray  # int64, the whole piece
    bar_starts: np.ndarray  # indices of BAR tokens
    low: int  # lowest and highest pitch, to bound transposition
    high: int


def tokenize_pieces(pieces: list[Piece], tok: VoicesTokenizer) -> tuple[list[TokenizedPiece], list[str]]:
    """Tokenize what can be; return (tokenized, one line per piece skipped and why)."""
    out, skipped = [], []
    for p in pieces:
        try:
            ids = np.array(tok.encode(p.score), dtype=np.int64)
        except TokenizeError as e:
            skipped.append(f"{p.id}: {e}")
            continue
        pitches = ids[(ids >= PITCH0) & (ids < PITCH0 + N_PITCHES)] - PITCH0
        if len(pitches) == 0:
            skipped.append(f"{p.id}: no notes on the grid")
            continue
        bars = np.nonzero((ids >= tok.bar0) & (ids < tok.key0))[0]
        out.append(TokenizedPiece(p.id, ids, bars, int(pitches.min()), int(pitches.max())))
    return out, skipped


def transpose_tokens(ids: np.ndarray, semitones: int, tok: VoicesTokenizer) -> np.ndarray:
    if semitones == 0:
        return ids
    ids = ids.copy()
    is_pitch = (ids >= PITCH0) & (ids < PITCH0 + N_PITCHES)
    ids[is_pitch] += semitones
    is_key = (ids >= tok.key0) & (ids < tok.key0 + 24)
    k = ids[is_key] - tok.key0
    ids[is_key] = tok.key0 + (k // 12) * 12 + (k % 12 + semitones) % 12
    return ids


def cell_targets(ids: np.ndarray) -> np.ndarray:
    """Targets with every non-cell token replaced by PAD (ignored by the loss)."""
    is_cell = (ids == REST) | (ids == HOLD) | ((ids >= PITCH0) & (ids < PITCH0 + N_PITCHES))
    return np.where(is_cell, ids, PAD)


class Batches:
    """Random training windows: a piece (by length), a transposition, a start bar."""

    def __init__(self, pieces: list[TokenizedPiece], tok: VoicesTokenizer, block_size: int,
                 transpose: int, seed: int):
        if not pieces:
            raise ValueError("no training pieces")
        self.pieces, self.tok, self.block, self.transpose = pieces, tok, block_size, transpose
        lengths = np.array([len(p.tokens) for p in pieces], dtype=np.float64)
        self.weights = lengths / lengths.sum()
        self.rng = np.random.default_rng(seed)

    def window(self, p: TokenizedPiece, start_bar: int, shift: int) -> tuple[np.ndarray, np.ndarray]:
        ids = transpose_tokens(p.tokens, shift, self.tok)
        body_start = p.bar_starts[start_bar]
        seq = np.concatenate([ids[:PREFIX_LEN], ids[body_start:body_start + self.block + 1 - PREFIX_LEN]])
        x = np.full(self.block, PAD, dtype=np.int64)
        y = np.full(self.block, PAD, dtype=np.int64)
        x[:len(seq) - 1] = seq[:-1]
        y[:len(seq) - 1] = cell_targets(seq[1:])
        return x, y

    def next(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        xs, ys = [], []
        for _ in range(batch_size):
            p = self.pieces[self.rng.choice(len(self.pieces), p=self.weights)]
            lo = max(-self.transpose, -p.low)
            hi = min(self.transpose, N_PITCHES - 1 - p.high)
            shift = int(self.rng.integers(lo, hi + 1))
            start_bar = int(self.rng.integers(0, len(p.bar_starts)))
            x, y = self.window(p, start_bar, shift)
            xs.append(x)
            ys.append(y)
        return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))

    def state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


def eval_windows(pieces: list[TokenizedPiece], tok: VoicesTokenizer, block_size: int):
    """Deterministic windows that score every cell of each piece exactly once. Each window starts
    at a bar (after the prefix) and, after the first, at the last bar line before the first cell
    not yet scored, so that cell has the most context; cells scored before are masked out."""
    helper = Batches(pieces, tok, block_size, 0, 0)
    for p in pieces:
        bar, scored_until = 0, 0  # piece tokens before scored_until are scored
        while scored_until < len(p.tokens):
            start = int(p.bar_starts[bar])
            x, y = helper.window(p, bar, 0)
            # y[i] predicts piece token start + i - (PREFIX_LEN - 1), for i >= PREFIX_LEN - 1
            y[:PREFIX_LEN - 1 + max(0, scored_until - start)] = PAD
            yield x, y
            scored_until = start + min(block_size + 1 - PREFIX_LEN, len(p.tokens) - start)
            nxt = int(np.searchsorted(p.bar_starts, scored_until, side="right")) - 1
            if nxt <= bar:  # a bar longer than the window: go on from the next bar
                nxt = bar + 1
                if nxt >= len(p.bar_starts):
                    break
            bar = nxt
