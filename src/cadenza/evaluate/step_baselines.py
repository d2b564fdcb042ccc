"""Two baselines for the frame-level likelihood benchmarks, normalized over all pitch sets:

- IndependentPitches: each pitch sounds independently with its training frequency
  (Bernoulli per pitch); the trivial baseline of Boulanger-Lewandowski et al. (2012).
- StepNGram: a smoothed n-gram over whole steps (a step is one symbol, its pitch set), with
  interpolated absolute discounting (Ney, Essen & Kneser 1994) down to IndependentPitches, so
  that an unseen step still gets the probability the independent model gives it.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

from cadenza.evaluate.ngram import interpolate

Piece = list[list[int]]


class IndependentPitches:
    def __init__(self, low: int = 21, high: int = 108, smoothing: float = 1.0):
        self.low, self.high, self.smoothing = low, high, smoothing
        self.log_on: dict[int, float] = {}
        self.log_off: dict[int, float] = {}

    def fit(self, pieces: list[Piece]) -> IndependentPitches:
        counts: Counter = Counter()
        steps = 0
        for piece in pieces:
            steps += len(piece)
            for step in piece:
                counts.update(set(step))
        a = self.smoothing
        for p in range(self.low, self.high + 1):
            q = (counts[p] + a) / (steps + 2 * a)
            self.log_on[p], self.log_off[p] = math.log(q), math.log1p(-q)
        self.all_off = sum(self.log_off.values())
        return self

    def logprob(self, step) -> float:
        return self.all_off + sum(self.log_on[p] - self.log_off[p] for p in set(step))


class StepNGram:
    def __init__(self, base: IndependentPitches, order: int = 3, discount: float = 0.75):
        self.base, self.order, self.discount = base, order, discount
        self.counts: list[defaultdict] = [defaultdict(Counter) for _ in range(order)]  # counts[k][last k steps][step]

    def fit(self, pieces: list[Piece]) -> StepNGram:
        for piece in pieces:
            seq = [("<s>",)] + [tuple(sorted(set(s))) for s in piece]
            for i in range(1, len(seq)):
                for k in range(self.order):
                    if i - k < 0:
                        break
                    self.counts[k][tuple(seq[i - k : i])][seq[i]] += 1
        return self

    def logprob(self, context: tuple, step: tuple) -> float:
        p = interpolate(
            self.counts,
            context,
            math.exp(self.base.logprob(step)),
            self.discount,
            lambda c, total: max(c.get(step, 0) - self.discount, 0) / total,
        )
        return math.log(p)


def step_logprobs(model, pieces: list[Piece]) -> list[list[float]]:
    """log p(step | earlier steps) of either baseline for every step of every piece, in nats."""
    out = []
    for piece in pieces:
        seq = [("<s>",)] + [tuple(sorted(set(s))) for s in piece]
        if isinstance(model, StepNGram):
            out.append([model.logprob(tuple(seq[max(0, i - model.order + 1) : i]), seq[i]) for i in range(1, len(seq))])
        else:
            out.append([model.logprob(seq[i]) for i in range(1, len(seq))])
    return out


def nll_per_step(model, pieces: list[Piece]) -> float:
    """Mean -log p per time step of either baseline over `pieces`, in nats."""
    lps = step_logprobs(model, pieces)
    return -sum(map(sum, lps)) / max(sum(map(len, lps)), 1)
