"""cadenza.nn.transformer: rotary positions depend on distance only; packed windows see only themselves."""

import pytest
import torch

from cadenza.nn.transformer import ModelConfig, Transformer
from cadenza.tokenize.pianoroll import PianoRollConfig, PianoRollTokenizer

TOK = PianoRollTokenizer(PianoRollConfig(60, 63))


def test_rotary_attention_depends_on_distance_only():
    from cadenza.nn.transformer import rotary_tables, rotate

    cos, sin = rotary_tables(32, 8)
    torch.manual_seed(0)
    q, k = torch.randn(8), torch.randn(8)
    dot = lambda i, j: float(rotate(q, cos[i], sin[i]) @ rotate(k, cos[j], sin[j]))
    assert dot(5, 2) == pytest.approx(dot(20, 17), abs=1e-4) and dot(5, 2) != pytest.approx(dot(5, 4), abs=1e-3)


@pytest.mark.parametrize("rope", [True, False])
def test_packed_windows_see_only_themselves(rope):
    torch.manual_seed(0)
    model = Transformer(
        ModelConfig(vocab_size=TOK.vocab_size, block_size=16, n_layer=2, n_head=2, n_embd=16, dropout=0.0, rope=rope)
    ).eval()
    a, b = torch.tensor([TOK.encode([[60], [61, 63]])]), torch.tensor([TOK.encode([[62], [], [60, 61, 62]])])
    packed = model(torch.cat([a, b], 1), torch.tensor([[0] * a.size(1) + [1] * b.size(1)]))
    assert torch.allclose(packed[:, : a.size(1)], model(a), atol=1e-5)
    assert torch.allclose(packed[:, a.size(1) :], model(b), atol=1e-5)  # as if alone: no peeking at a
