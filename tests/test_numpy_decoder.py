"""cadenza.nn.numpy_decoder: the NumPy decoder gives the torch model's logits, token by token."""

import numpy as np
import pytest
import torch

from conftest import VOICES_TOK as TOK
from conftest import tiny_voices_model as tiny


@pytest.mark.parametrize("rope", [False, True])
def test_numpy_decoder_gives_the_same_logits_as_the_model(rope):
    from cadenza.nn.numpy_decoder import Decoder

    m = tiny(rope=rope)
    x = torch.randint(0, TOK.vocab_size, (1, 40))
    full = m(x)[0].detach().numpy()
    dec = Decoder(m)
    got = [dec.feed(x[0, :17].tolist())] + [dec.feed([t]) for t in x[0, 17:].tolist()]
    assert np.allclose(np.stack(got), full[16:], atol=1e-4)
    dec.reset()
    assert np.allclose(dec.feed(x[0, :5].tolist()), full[4], atol=1e-4)
    with pytest.raises(ValueError, match="block_size"):
        dec.feed([1] * 64)


def test_the_decoder_refuses_configs_it_does_not_implement():
    """It runs causal transformers without conditions; an orderless network or a shift-aware
    benchmark model is refused, not decoded wrongly."""
    import pytest

    from cadenza.nn.numpy_decoder import Decoder
    from cadenza.nn.orderless import OrderlessConfig, OrderlessModel
    from cadenza.nn.transformer import ModelConfig, Transformer

    with pytest.raises(ValueError, match="causal transformers without conditions"):
        Decoder(Transformer(ModelConfig(vocab_size=12, block_size=16, n_layer=1, n_head=1, n_embd=8, n_conditions=3)))
    with pytest.raises(ValueError, match="causal transformers without conditions"):
        Decoder(Transformer(ModelConfig(vocab_size=12, block_size=16, n_layer=1, n_head=1, n_embd=8, causal=False)))
    with pytest.raises(ValueError, match="causal transformers without conditions"):
        Decoder(OrderlessModel(OrderlessConfig(n_layer=1, n_head=1, n_embd=8)))
