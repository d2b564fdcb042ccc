"""A smoothed n-gram baseline over the same token sequences the transformer sees.

Interpolated absolute discounting (Ney, Essen & Kneser 1994): each order's counts minus a
discount D, with the freed mass given to the next lower order, down to a uniform distribution
over the cell vocabulary. Scored, like the transformer, only on cell tokens, in nats per cell
(by default: `NGram(scored=..., n_outcomes=...)` is one over any tokens, as the piano benchmark uses).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable

import numpy as np

from cadenza.tokenize.voices import HOLD, N_PITCHES, PITCH0, REST

CELL_VOCAB = [REST, HOLD] + list(range(PITCH0, PITCH0 + N_PITCHES))


def interpolate(counts: list, context: tuple, p, discount: float, top: Callable):
    """Interpolated absolute discounting (Ney, Essen & Kneser 1994), written once for every
    n-gram here: starting from the base estimate `p` (a probability, or an array of them), each
    order k = 0, 1, ... whose context (the last k items of `context`) was seen gives
    top(counts, total) (its counts minus the discount, over the total) plus the freed mass,
    discount * distinct / total, times the lower orders' estimate. Unseen contexts keep the
    lower-order estimate. counts[k] maps a context of length k to a Counter of what followed."""
    for k, table in enumerate(counts):
        if len(context) < k:
            break
        c = table.get(context[len(context) - k :] if k else ())
        if not c:
            continue
        total = sum(c.values())
        p = top(c, total) + discount * len(c) / total * p
    return p


class NGram:
    """By default over the voices tokenizer's cells; `scored` (which tokens are predicted and
    scored) and `n_outcomes` (the uniform floor's size) make it one over any tokens."""

    def __init__(
        self,
        order: int = 5,
        discount: float = 0.75,
        scored: Callable[[int], bool] | None = None,
        n_outcomes: int | None = None,
    ):
        self.order, self.discount = order, discount
        self.scored = scored or _is_cell
        self.n_outcomes = n_outcomes or len(CELL_VOCAB)
        self.counts: list[defaultdict] = [defaultdict(Counter) for _ in range(order)]  # [k][context of length k][token]

    def fit(self, sequences) -> NGram:
        for seq in sequences:
            seq = [int(t) for t in seq]
            for i in range(1, len(seq)):
                if not self.scored(seq[i]):
                    continue
                for k in range(self.order):
                    if i - k < 0:
                        break
                    self.counts[k][tuple(seq[i - k : i])][seq[i]] += 1
        return self

    def prob(self, context: tuple, token: int) -> float:
        return interpolate(
            self.counts,
            context,
            1.0 / self.n_outcomes,
            self.discount,
            lambda c, total: max(c.get(token, 0) - self.discount, 0) / total,
        )

    def nll(self, sequences) -> float:
        """Mean -log p per scored token (a cell, by default) over `sequences`."""
        total, count = 0.0, 0
        for seq in sequences:
            seq = [int(t) for t in seq]
            for i in range(1, len(seq)):
                if self.scored(seq[i]):
                    total -= math.log(self.prob(tuple(seq[max(0, i - self.order + 1) : i]), seq[i]))
                    count += 1
        return total / max(count, 1)


def _is_cell(t: int) -> bool:
    return t == REST or t == HOLD or PITCH0 <= t < PITCH0 + N_PITCHES


def augmented(tokenized, tok, transpose: int):
    """Every transposition in [-transpose, transpose] that keeps the piece in MIDI range."""
    from cadenza.families.voices import transpose_tokens

    for p in tokenized:
        for s in range(max(-transpose, -p.low), min(transpose, 127 - p.high) + 1):
            yield transpose_tokens(np.asarray(p.tokens), s, tok)


_INDEX = {t: i for i, t in enumerate(CELL_VOCAB)}


def distribution(model: NGram, context: tuple) -> np.ndarray:
    """p(cell | context) over CELL_VOCAB, NGram.prob for all cells at once."""

    def top(c: Counter, total: int) -> np.ndarray:
        out = np.zeros(len(CELL_VOCAB))
        for token, count in c.items():
            out[_INDEX[token]] = max(count - model.discount, 0) / total
        return out

    return interpolate(model.counts, context, np.full(len(CELL_VOCAB), 1.0 / len(CELL_VOCAB)), model.discount, top)


def sample_piece(model: NGram, tok, key, meter, n_bars: int, seed: int) -> list[int]:
    """A voices token sequence drawn from the n-gram (the Markov-chain baseline): the layout
    tokens (prefix, bars) are fixed as the transformer's sampler fixes them; each cell is drawn
    from the chain, HOLD only where the voice sounds."""
    from cadenza.tokenize.voices import EOS

    rng = np.random.default_rng(seed)
    tokens = tok.prefix(key, meter)
    nv, steps = tok.config.n_voices, tok.steps_per_bar(meter)
    last = [REST] * nv
    for bar in range(n_bars):
        tokens.append(tok.bar_token(n_bars - 1 - bar))
        for _ in range(steps):
            for v in range(nv):
                p = distribution(model, tuple(tokens[-(model.order - 1) :]) if model.order > 1 else ())
                if last[v] == REST:
                    p[CELL_VOCAB.index(HOLD)] = 0.0
                t = CELL_VOCAB[int(rng.choice(len(p), p=p / p.sum()))]
                tokens.append(t)
                last[v] = t if t != HOLD else last[v]
    return tokens + [EOS]
