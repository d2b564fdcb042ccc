"""A smoothed n-gram baseline over the same token sequences the transformer sees.

Interpolated absolute discounting (Ney, Essen & Kneser 1994): each order's counts minus a
discount D, with the freed mass given to the next lower order, down to a uniform distribution
over the cell vocabulary. Scored, like the transformer, only on cell tokens, in nats per cell.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np

from cadenza.tokenize.voices import HOLD, N_PITCHES, PITCH0, REST

CELL_VOCAB = [REST, HOLD] + list(range(PITCH0, PITCH0 + N_PITCHES))


class NGram:
    def __init__(self, order: int = 5, discount: float = 0.75):
        self.order, self.discount = order, discount
        self.counts = [defaultdict(Counter) for _ in range(order)]  # counts[k][context of length k][token]

    def fit(self, sequences) -> "NGram":
        for seq in sequences:
            seq = [int(t) for t in seq]
            for i in range(1, len(seq)):
                if not _is_cell(seq[i]):
                    continue
                for k in range(self.order):
                    if i - k < 0:
                        break
                    self.counts[k][tuple(seq[i - k:i])][seq[i]] += 1
        return self

    def prob(self, context: tuple, token: int) -> float:
        p = 1.0 / len(CELL_VOCAB)
        for k in range(self.order):
            if len(context) < k:
                break
            ctx = context[len(context) - k:] if k else ()
            c = self.counts[k].get(ctx)
            if not c:
                continue  # unseen context: keep the lower-order estimate
            total = sum(c.values())
            p = max(c.get(token, 0) - self.discount, 0) / total + self.discount * len(c) / total * p
        return p

    def nll(self, sequences) -> float:
        """Mean -log p per cell token over `sequences`."""
        total, count = 0.0, 0
        for seq in sequences:
            seq = [int(t) for t in seq]
            for i in range(1, len(seq)):
                if _is_cell(seq[i]):
                    total -= math.log(self.prob(tuple(seq[max(0, i - self.order + 1):i]), seq[i]))
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
    """p(cell | context) over CELL_VOCAB, the same interpolation as NGram.prob, all cells at once."""
    p = np.full(len(CELL_VOCAB), 1.0 / len(CELL_VOCAB))
    for k in range(model.order):
        if len(context) < k:
            break
        c = model.counts[k].get(context[len(context) - k:] if k else ())
        if not c:
            continue
        total = sum(c.values())
        top = np.zeros(len(CELL_VOCAB))
        for token, count in c.items():
            top[_INDEX[token]] = max(count - model.discount, 0) / total
        p = top + model.discount * len(c) / total * p
    return p


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
                p = distribution(model, tuple(tokens[-(model.order - 1):]) if model.order > 1 else ())
                if last[v] == REST:
                    p[CELL_VOCAB.index(HOLD)] = 0.0
                t = CELL_VOCAB[int(rng.choice(len(p), p=p / p.sum()))]
                tokens.append(t)
                last[v] = t if t != HOLD else last[v]
    return tokens + [EOS]
