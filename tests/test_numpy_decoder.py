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


def test_rows_extended_together_give_each_row_its_own_logits():
    """Decoders: two rows of different tokens (as guidance's rows differ in one condition token),
    extended together, give the logits two separate decoders give, before and after a reset."""
    from cadenza.nn.numpy_decoder import Decoder, Decoders

    m = tiny(rope=True)
    a, b = torch.randint(0, TOK.vocab_size, (2, 30)).tolist()
    b[:3] = a[:3]
    b[1] = (a[1] + 1) % TOK.vocab_size  # one token apart, as a composer token and "none" are
    alone = [Decoder(m), Decoder(m)]
    rows = Decoders(Decoder(m), 2)
    for start, stop in ((0, 5), (5, 6), (6, 30)):
        together = rows.feed(np.array([a[start:stop], b[start:stop]]))
        for i, seq in enumerate((a, b)):
            assert np.allclose(together[i], alone[i].feed(seq[start:stop]), atol=1e-5)
    assert not np.allclose(together[0], together[1], atol=1e-3)  # the rows did not share a cache
    rows.reset()
    alone[1].reset()
    assert np.allclose(rows.feed(np.array([b[:4], b[:4]]))[0], alone[1].feed(b[:4]), atol=1e-5)


def _note_steps_model():
    from cadenza.nn.transformer import ModelConfig, Transformer

    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=20, block_size=32, n_layer=2, n_head=2, n_embd=16, dropout=0.0, rope=True, group=3)
    return Transformer(cfg).eval()


def test_a_reader_of_steps_gives_the_model_s_logits_for_each_token_of_the_next_step():
    """A model that reads several tokens a step (config.group): the reader, fed one token at a
    time, gives for each token the logits the torch model gives it (knowing its step's tokens
    before it), and reads a step only when it is complete."""
    from cadenza.nn.numpy_decoder import Reader, steps_of

    m = _note_steps_model()
    closes = np.zeros(20, dtype=bool)
    closes[[1, 2, 3, 4, 5, 6, 7, 8, 9]] = True  # tokens 10-19 open a step, 1-9 end one
    stream = [1, 2, 12, 5, 15, 11, 7, 3, 13, 14, 9, 6, 18, 4]  # steps of 1, 1, 2, 3, 1, 3, 1, 2 tokens
    steps = steps_of(np.array([stream]), closes, 3)  # (1, 8, 3)
    assert steps[0, 3].tolist() == [15, 11, 7] and steps[0, 2].tolist() == [12, 5, 0]
    x, y = torch.from_numpy(steps[:, :-1]), torch.from_numpy(steps[:, 1:])
    with torch.no_grad():
        full = m(x, targets=y)[0].numpy()  # (7, 3, vocab): token j of step i + 1, after step i
    reader = Reader(m, 1, closes)
    where = [(i, j) for i, row in enumerate(steps[0]) for j, t in enumerate(row) if t]
    for n, t in enumerate(stream[:-1]):
        got = reader.feed(np.array([[t]]))[0]
        i, j = where[n + 1]
        assert np.allclose(got, full[i - 1, j], atol=1e-4), n
        assert reader.length == sum(closes[stream[: n + 1]])  # complete steps only
    assert reader.steps([13, 14, 9]) == 1
    with pytest.raises(ValueError, match="inside a step"):
        steps_of(np.array([[1, 12]]), closes, 3)
    with pytest.raises(ValueError, match="more than 3"):
        steps_of(np.array([[10, 11, 12, 13, 1]]), closes, 3)


def test_packed_weights_and_a_window_read_at_once_give_the_model_s_logits(monkeypatch):
    """The paths a large model takes (its weight matrices packed in one block, torch's GELU for
    many rows read at once), forced on a small one: the reader still gives the torch model's
    logits, whether a prompt of several steps is read in one call or a token at a time."""
    import cadenza.nn.numpy_decoder as nd

    monkeypatch.setattr(nd, "PACK_FROM", 0)
    monkeypatch.setattr(nd, "LONG", 1)
    m = _note_steps_model()
    closes = np.zeros(20, dtype=bool)
    closes[1:10] = True
    stream = [1, 2, 12, 5, 15, 11, 7, 3, 13, 14, 9, 6, 18, 4]
    steps = nd.steps_of(np.array([stream]), closes, 3)
    x, y = torch.from_numpy(steps[:, :-1]), torch.from_numpy(steps[:, 1:])
    with torch.no_grad():
        full = m(x, targets=y)[0].numpy()
    reader = nd.Reader(m, 1, closes)
    block = reader.w.layers[0]["qkv"][0].base
    assert block is not None and all(layer["out"][0].base is block for layer in reader.w.layers)  # one block
    got = reader.feed(np.array([stream[:11]]))[0]  # six steps at once; the seventh's first token written
    assert np.allclose(got, full[5, 0], atol=1e-4)


def test_a_model_of_steps_refuses_a_stream_of_tokens():
    m = _note_steps_model()
    with pytest.raises(ValueError, match="steps of 3"):
        m(torch.ones(1, 4, dtype=torch.long))
