"""cadenza.evaluate.step_baselines: the independent-pitch and step n-gram baselines are normalized
over every pitch set."""

import itertools
import math

import pytest


def test_baselines_are_normalized():
    from cadenza.evaluate.step_baselines import IndependentPitches, StepNGram

    pieces = [[[60], [61, 62], [], [63]], [[60, 63], [60]]]
    ind = IndependentPitches(60, 63).fit(pieces)
    ngram = StepNGram(ind, order=2).fit(pieces)
    steps = [tuple(c) for r in range(5) for c in itertools.combinations(range(60, 64), r)]
    assert sum(math.exp(ind.logprob(s)) for s in steps) == pytest.approx(1.0)
    assert sum(math.exp(ngram.logprob(((60,),), s)) for s in steps) == pytest.approx(1.0)
