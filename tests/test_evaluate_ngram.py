"""cadenza.evaluate.ngram: the cell n-gram baseline is a normalized model, far better than uniform."""

import pytest

from cadenza.evaluate.ngram import NGram


def test_ngram_baseline_is_a_normalized_model(data):
    from cadenza.evaluate.ngram import CELL_VOCAB

    ng = NGram(order=3).fit(p.tokens for p in data)
    ctx = tuple(int(t) for t in data[0].tokens[10:12])
    assert sum(ng.prob(ctx, t) for t in CELL_VOCAB) == pytest.approx(1.0)
    assert 0 < ng.nll(p.tokens for p in data) < 3.0  # far better than uniform over 130 cells (4.87 nats)
