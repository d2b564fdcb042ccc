"""cadenza.evaluate.report: comparing the distributions of a measure."""

import numpy as np

from cadenza.evaluate.report import compare


def test_distribution_comparison():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 300), rng.normal(0, 1, 300)
    same, apart = compare(a, b), compare(a, b + 10)
    assert same[0] > 0.85 and same[1] < 0.1
    assert apart[0] < 0.01 and apart[1] > 5
