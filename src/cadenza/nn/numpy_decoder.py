"""Fast incremental decoding on the CPU: the causal transformer of cadenza.nn.transformer, in NumPy.

Sampling feeds one token at a time, and for a model this small the time goes to the framework's
per-operation overhead, not to arithmetic: a PyTorch eager step costs about a millisecond, the
same step here a fraction of that. For the larger piano model (3.27M parameters, a long cache)
a step is bound by reading its weights and cached keys and values from memory instead, so rows
extended together (`Decoders`) cost little more than one there too. BLAS runs on one thread
(`one_blas_thread`): for vectors this size, waking a second thread costs more than it saves.
The weights are the model's own (read once from its state_dict); `tests/test_numpy_decoder.py`
checks that the logits equal PyTorch's.

Shapes as in model.py: T new tokens, C channels, H heads, D = C // H, L cached positions.
"""

from __future__ import annotations

import math

import numpy as np


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    inv_c = 1.0 / x.shape[-1]  # sum * 1/C: ndarray.mean's Python wrapper costs more than the sum
    centred = x - x.sum(-1, keepdims=True) * inv_c
    var = (centred * centred).sum(-1, keepdims=True) * inv_c
    return centred / np.sqrt(var + eps) * w + b


def _erf(x: np.ndarray) -> np.ndarray:
    """erf by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7, under float32's step)."""
    t = 1.0 / (1.0 + 0.3275911 * np.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.sign(x) * (1.0 - poly * np.exp(-x * x))


def _gelu(x: np.ndarray) -> np.ndarray:
    """The exact (erf) GELU, as torch.nn.GELU() computes it."""
    return 0.5 * x * (1.0 + _erf(x * (1.0 / math.sqrt(2.0))))


def one_blas_thread():
    """A context in which NumPy's BLAS uses one thread (see the module docstring)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, "blas")


class Decoder:
    """One sequence's key/value cache and the weights to extend it.

    dec = Decoder(model)
    logits = dec.feed([BOS, KEY, METER])   # logits after the last token fed
    logits = dec.feed([next_token])
    dec.reset()                            # empty the cache (to slide a window)
    """

    def __init__(self, model):
        cfg = model.config
        if not getattr(cfg, "causal", False) or getattr(cfg, "n_conditions", 0) or not hasattr(cfg, "vocab_size"):
            raise ValueError(
                f"the NumPy decoder runs causal transformers without conditions only (this model's config: {cfg})"
            )
        sd = {k: v.detach().cpu().float().numpy() for k, v in model.state_dict().items()}
        self.n_head, self.n_embd, self.block_size = cfg.n_head, cfg.n_embd, cfg.block_size
        self.tok_emb = sd["tok_emb.weight"]
        self.pos_emb = sd.get("pos_emb.weight")  # None with rotary positions
        if cfg.rope:
            from cadenza.nn.transformer import rotary_tables

            self.cos, self.sin = (t.numpy() for t in rotary_tables(cfg.block_size, cfg.n_embd // cfg.n_head))
        self.head_t = np.ascontiguousarray(sd["tok_emb.weight"].T)  # tied output head, (C, vocab)
        self.ln_f = (sd["ln_f.weight"], sd["ln_f.bias"])
        self.layers = []
        for i in range(cfg.n_layer):
            p = f"blocks.{i}."
            self.layers.append(
                dict(
                    ln1=(sd[p + "ln1.weight"], sd[p + "ln1.bias"]),
                    qkv=(np.ascontiguousarray(sd[p + "attn.qkv.weight"].T), sd[p + "attn.qkv.bias"]),
                    proj=(np.ascontiguousarray(sd[p + "attn.proj.weight"].T), sd[p + "attn.proj.bias"]),
                    ln2=(sd[p + "ln2.weight"], sd[p + "ln2.bias"]),
                    fc=(np.ascontiguousarray(sd[p + "mlp.fc.weight"].T), sd[p + "mlp.fc.bias"]),
                    out=(np.ascontiguousarray(sd[p + "mlp.out.weight"].T), sd[p + "mlp.out.bias"]),
                )
            )
        D = self.n_embd // self.n_head
        shape = (len(self.layers), self.n_head, self.block_size, D)
        self.k = np.zeros(shape, dtype=np.float32)
        self.v = np.zeros(shape, dtype=np.float32)
        self.length = 0

    def _rotate(self, x: np.ndarray, past: int) -> np.ndarray:
        """Rotary positions (see cadenza.nn.transformer.rotate) for x (B, H, T, D) at positions past.."""
        T, half = x.shape[-2], x.shape[-1] // 2
        cos, sin = self.cos[past : past + T], self.sin[past : past + T]
        return x * cos + np.concatenate([-x[..., half:], x[..., :half]], axis=-1) * sin

    def reset(self) -> None:
        self.length = 0

    def feed(self, tokens: list[int]) -> np.ndarray:
        """Append `tokens` to the cache; return the logits (vocab,) predicting the next token."""
        logits = _extend(self, self.k[None], self.v[None], np.asarray(tokens)[None], self.length)
        self.length += len(tokens)
        return logits[0]


class Decoders:
    """B sequences of one length, extended together: each step's matrix products run once for
    all rows, so B rows cost little more than one (the time goes to per-operation overhead, see
    the module docstring). The rows of cadenza.compose.particles advance in step; `keep` reorders
    and duplicates rows when the particles are redrawn.

    rows = Decoders(Decoder(model), 8)
    logits = rows.feed(np.array([[BOS, KEY, METER]] * 8))   # (8, vocab)
    rows.keep(np.array([0, 0, 3, ...]))                      # row i continues old row keep[i]
    """

    def __init__(self, weights: Decoder, rows: int):
        self.w = weights
        self.rows = rows
        self.block_size = weights.block_size
        self.k = np.zeros((rows, *weights.k.shape), dtype=np.float32)
        self.v = np.zeros((rows, *weights.v.shape), dtype=np.float32)
        self.length = 0

    def reset(self) -> None:
        self.length = 0

    def keep(self, rows: np.ndarray) -> None:
        """Row i goes on as old row rows[i] (the cached positions only are copied)."""
        n = self.length
        self.k[:, :, :, :n] = self.k[rows, :, :, :n]
        self.v[:, :, :, :n] = self.v[rows, :, :, :n]

    def feed(self, tokens: np.ndarray) -> np.ndarray:
        """Append `tokens` (B, T) to the rows' caches; return the logits (B, vocab) predicting
        each row's next token."""
        logits = _extend(self.w, self.k, self.v, tokens, self.length)
        self.length += tokens.shape[1]
        return logits


def _dense(x: np.ndarray, weight_bias: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """x (B, T, C_in) @ weight (C_in, C_out) + bias, as one matrix product over all B * T rows:
    NumPy multiplies a stack (B, T, C_in) by a matrix one row block at a time, reading the weights
    B times, and at these sizes the time is that reading (8 particles' rows: 2-3 times as slow)."""
    weight, bias = weight_bias
    if x.shape[0] == 1:  # one row: one product already
        return x @ weight + bias
    return (x.reshape(-1, x.shape[-1]) @ weight + bias).reshape(*x.shape[:-1], weight.shape[1])


def _extend(w: Decoder, k_cache: np.ndarray, v_cache: np.ndarray, tokens: np.ndarray, past: int) -> np.ndarray:
    """The one decoding step of Decoder and Decoders: write the keys and values of `tokens`
    (B, T) into the caches (B, layers, H, block, D) at positions past..past+T (a Decoder passes
    its cache as a view with B = 1) and return the logits (B, vocab) after each row's last token."""
    B, T = tokens.shape
    if past + T > w.block_size:
        raise ValueError(f"sequence of {past + T} tokens exceeds block_size {w.block_size}")
    H, C = w.n_head, w.n_embd
    D = C // H
    scale = 1.0 / math.sqrt(D)
    x = w.tok_emb[tokens]  # (B, T, C)
    if w.pos_emb is not None:
        x = x + w.pos_emb[past : past + T]
    mask = None
    if T > 1:  # new token t sees cached positions and new positions up to itself
        mask = np.triu(np.full((T, past + T), -np.inf, dtype=np.float32), k=past + 1)
    for i, layer in enumerate(w.layers):
        h = _layer_norm(x, *layer["ln1"])
        qkv = _dense(h, layer["qkv"])  # (B, T, 3C)
        q, k, v = (qkv[..., j * C : (j + 1) * C].reshape(B, T, H, D).transpose(0, 2, 1, 3) for j in range(3))
        if w.pos_emb is None:
            q, k = w._rotate(q, past), w._rotate(k, past)
        k_cache[:, i, :, past : past + T] = k
        v_cache[:, i, :, past : past + T] = v
        keys, values = k_cache[:, i, :, : past + T], v_cache[:, i, :, : past + T]  # (B, H, L, D)
        att = (q @ keys.transpose(0, 1, 3, 2)) * scale  # (B, H, T, L)
        if mask is not None:
            att = att + mask
        att = np.exp(att - att.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        y = (att @ values).transpose(0, 2, 1, 3).reshape(B, T, C)
        x = x + _dense(y, layer["proj"])
        h = _layer_norm(x, *layer["ln2"])
        h = _gelu(_dense(h, layer["fc"]))
        x = x + _dense(h, layer["out"])
    return _layer_norm(x[:, -1], *w.ln_f) @ w.head_t
