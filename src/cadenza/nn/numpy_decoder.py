"""Fast incremental decoding on the CPU: the causal transformer of cadenza.nn.transformer, in NumPy.

Sampling feeds one token at a time, and for a model this small the time goes to the framework's
per-operation overhead, not to arithmetic: a PyTorch eager step costs about a millisecond, the
same step here a fraction of that (for the piano model, 4.25M parameters, with guidance's two
rows: 1.7 ms against 1.0 ms, 2026-12-05). For that model a step is also bound by reading its
weights (12.6 MB of layers and 1 MB of GroupHead, from the CPU's last-level cache at about 25 GB/s
a core; 1 MB more for each token of a step) and cached keys and
values, so rows extended together (`Decoders`) cost little more than one (two rows, guidance's,
about 1.3 times one: cadenza.nn.row_process reads the second in a forked child on the other
core instead). BLAS runs on one thread (`one_blas_thread`): waking a second thread costs more
than it saves, and OpenBLAS does not split a product of one or two rows between cores. It does
split the 8 rows of the harmonizer's particles (16 bars: 4.5 s against 5.4 s alone), but two
harmonizations at once on two cores then took 36-42 s each against 6.0-6.1 s on one thread each
(OpenBLAS's threads wait by spinning), and the studio and the fuzz test run jobs side by side.
The weights are the model's own, read once from its state_dict, with each LayerNorm's scale and
shift folded into the product after it and attention's scale into the queries (fewer operations
a step); `tests/test_numpy_decoder.py` checks that the logits equal PyTorch's.

Shapes as in model.py: T new tokens, C channels, H heads, D = C // H, L cached positions.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special
import torch


def _normalize(x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """LayerNorm without its scale and shift, which the decoder folds into the product that
    follows (`_fold`)."""
    inv_c = 1.0 / x.shape[-1]  # sum * 1/C: ndarray.mean's Python wrapper costs more than the sum
    centred = x - x.sum(-1, keepdims=True) * inv_c
    var = (centred * centred).sum(-1, keepdims=True) * inv_c
    return centred / np.sqrt(var + eps)


def _fold(norm: tuple[np.ndarray, np.ndarray], weight: np.ndarray, bias: np.ndarray | None):
    """A LayerNorm's scale and shift folded into the product after it: (n * w + b) @ W + c is
    n @ (w[:, None] * W) + (b @ W + c). Returns (weight (C_in, C_out), bias)."""
    w, b = norm
    return np.ascontiguousarray(w[:, None] * weight), b @ weight + (0.0 if bias is None else bias)


LONG = 1 << 11  # elements from which torch's GELU is the faster
PACK_FROM = 1 << 22  # bytes of weight matrices from which they are packed (`Decoder._pack`)


def _gelu(x: np.ndarray) -> np.ndarray:
    """The exact (erf) GELU, as torch.nn.GELU() computes it. For one row of a small model, SciPy's
    erf (one NumPy call: 9 us against torch's 12 for 1,024 hidden units); from LONG elements up,
    torch's own GELU, vectorized (one thread below its 32,768-element grain): 12 against 15 us for
    two such rows, 14 against 49 for the particles' eight, 25 times as fast for a window of 500
    rows (2026-12-07; harmonize 16 bars 5.40 s against 5.84 s)."""
    if x.size >= LONG:
        return torch.nn.functional.gelu(torch.from_numpy(x)).numpy()
    y = scipy.special.erf(x * (1.0 / math.sqrt(2.0)))
    y += 1.0
    y *= x
    y *= 0.5
    return y


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

            cos, sin = (t.numpy() for t in rotary_tables(cfg.block_size, cfg.n_embd // cfg.n_head))
            half = sin.shape[-1] // 2  # rotate-half's minus sign, kept in the sine table
            self.cos, self.sin = cos, np.concatenate([-sin[:, :half], sin[:, half:]], axis=-1)
        # the tied output head (C, vocab) with ln_f's scale and shift
        self.head = _fold((sd["ln_f.weight"], sd["ln_f.bias"]), sd["tok_emb.weight"].T, None)
        self.group = getattr(cfg, "group", 1)
        if self.group > 1:  # cadenza.nn.transformer.GroupHead
            p = "group_head."
            self.group_head = dict(
                fc=_fold((sd[p + "ln.weight"], sd[p + "ln.bias"]), sd[p + "fc.weight"].T, sd[p + "fc.bias"]),
                sub_emb=sd[p + "sub_emb.weight"],
                proj=(np.ascontiguousarray(sd[p + "proj.weight"].T), sd[p + "proj.bias"]),
            )
        scale = np.ones(3 * cfg.n_embd, dtype=np.float32)
        scale[: cfg.n_embd] = 1.0 / math.sqrt(cfg.n_embd // cfg.n_head)  # attention's, on the queries
        self.layers = []
        for i in range(cfg.n_layer):
            p = f"blocks.{i}."
            qkv_w, qkv_b = _fold(
                (sd[p + "ln1.weight"], sd[p + "ln1.bias"]), sd[p + "attn.qkv.weight"].T, sd[p + "attn.qkv.bias"]
            )
            self.layers.append(
                dict(
                    qkv=(qkv_w * scale, qkv_b * scale),
                    proj=(np.ascontiguousarray(sd[p + "attn.proj.weight"].T), sd[p + "attn.proj.bias"]),
                    fc=_fold(
                        (sd[p + "ln2.weight"], sd[p + "ln2.bias"]), sd[p + "mlp.fc.weight"].T, sd[p + "mlp.fc.bias"]
                    ),
                    out=(np.ascontiguousarray(sd[p + "mlp.out.weight"].T), sd[p + "mlp.out.bias"]),
                )
            )
        if self.group > 1:  # a step's tokens are summed, its padding (PAD, 0) left out
            self.step_emb = self.tok_emb.copy()
            self.step_emb[0] = 0.0
        self._pack()
        D = self.n_embd // self.n_head
        shape = (len(self.layers), self.n_head, self.block_size, D)
        self.k = np.zeros(shape, dtype=np.float32)
        self.v = np.zeros(shape, dtype=np.float32)
        self.length = 0

    def _pack(self) -> None:
        """Move the weight matrices into one block of memory, which NumPy asks the kernel to map with
        2 MiB pages (it does for arrays of 4 MiB or more): a step reads every matrix, and with 4 KiB
        pages the lookups of their addresses miss the TLB (a piano model's step: 3-4% faster)."""
        matrices = [(layer, name) for layer in self.layers for name in ("qkv", "proj", "fc", "out")]
        if self.group > 1:
            matrices += [(self.group_head, "fc"), (self.group_head, "proj")]
        size = sum(table[name][0].size for table, name in matrices)
        if size * 4 < PACK_FROM:  # NumPy asks for large pages from 4 MiB: below it, nothing to gain
            return
        block = np.empty(size, dtype=np.float32)
        at = 0
        for table, name in matrices:
            weight, bias = table[name]
            view = block[at : at + weight.size].reshape(weight.shape)
            view[...] = weight
            table[name] = (view, bias)
            at += weight.size

    def _rotate(self, x: np.ndarray, past: int) -> np.ndarray:
        """Rotary positions (see cadenza.nn.transformer.rotate) for x (B, H, T, D) at positions
        past.. (the sine table carries rotate-half's sign)."""
        T, half = x.shape[-2], x.shape[-1] // 2
        cos, sin = self.cos[past : past + T], self.sin[past : past + T]
        return x * cos + np.concatenate([x[..., half:], x[..., :half]], axis=-1) * sin

    def reset(self) -> None:
        self.length = 0

    def feed(self, tokens: list[int]) -> np.ndarray:
        """Append `tokens` to the cache; return the logits (vocab,) predicting the next token."""
        if self.group > 1:
            raise ValueError("a model of steps of several tokens is read by Reader, not token by token")
        h = _extend(self, self.k[None], self.v[None], np.asarray(tokens)[None], self.length)
        self.length += len(tokens)
        return self.logits(h)[0]

    def logits(self, h: np.ndarray, written: np.ndarray | None = None) -> np.ndarray:
        """The logits (B, vocab) after the network's output h (B, C); with steps of several
        tokens, `written` (B, hidden) is GroupHead's `a` (`group_start`, plus the `sub_emb` rows
        of the step's tokens written so far)."""
        if written is not None:
            g = self.group_head
            h = h + _gelu(written) @ g["proj"][0] + g["proj"][1]
        return _normalize(h) @ self.head[0] + self.head[1]

    def group_start(self, h: np.ndarray) -> np.ndarray:
        """GroupHead's `a` (B, hidden) before any of a step's tokens is written."""
        g = self.group_head
        return _normalize(h) @ g["fc"][0] + g["fc"][1]


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
        if self.w.group > 1:
            raise ValueError("a model of steps of several tokens is read by Reader, not token by token")
        return self.w.logits(self.hidden(tokens))

    def hidden(self, tokens: np.ndarray) -> np.ndarray:
        """Append `tokens` (B, T), or steps of several tokens (B, T, G), to the rows' caches;
        return the network's output (B, C) after each row's last step."""
        h = _extend(self.w, self.k, self.v, tokens, self.length)
        self.length += tokens.shape[1]
        return h


class Reader:
    """Rows of token streams read by a model: one network step per token, or, for a model of
    steps of several tokens (config.group > 1), one per group, a group ending with each token
    that `closes` marks (the rest wait; GroupHead writes the next group's tokens in turn). The
    rows must group alike (they may differ in their tokens, not in where groups end).

    reader = Reader(model, 2, closes)
    logits = reader.feed(np.array([prefix_a, prefix_b]))   # (2, vocab) after each row's last token
    reader.steps([t]), reader.length                        # network steps, for the block size

    `model` may be a Decoder already made (its weights, read once, serve any number of readers),
    and `decoders` the empty rows to read into (cadenza.nn.row_process's, two cores reading them).
    """

    def __init__(self, model, rows: int, closes: np.ndarray | None = None, decoders=None):
        self.w = model if isinstance(model, Decoder) else Decoder(model)
        self.decoders = Decoders(self.w, rows) if decoders is None else decoders
        if self.w.group > 1 and closes is None:
            raise ValueError("a model of steps of several tokens needs to know which tokens end a step")
        self.closes = closes if self.w.group > 1 else None
        self.pending = np.zeros((rows, 0), dtype=np.int64)  # tokens of a step not yet complete
        self.h: np.ndarray | None = None
        self.start: np.ndarray | None = None
        self.pending_sum: np.ndarray | None = None  # the sum of the pending tokens' sub_emb rows

    @property
    def rows(self) -> int:
        return self.decoders.rows

    @property
    def length(self) -> int:
        return self.decoders.length

    def steps(self, tokens) -> int:
        """The network steps that reading `tokens` (one row's) would add."""
        if self.closes is None:
            return len(tokens)
        return int(self.closes[np.asarray(tokens, dtype=np.int64)].sum())

    def reset(self) -> None:
        self.decoders.reset()
        self.pending = self.pending[:, :0]
        self.h = self.start = self.pending_sum = None

    def discard_pending(self) -> None:
        """Forget the tokens of a step not completed (they never reached the network)."""
        self.pending = self.pending[:, :0]
        self.pending_sum = None

    def feed(self, tokens: np.ndarray) -> np.ndarray:
        """Read `tokens` (rows, T); the logits (rows, vocab) for each row's next token."""
        tokens = np.asarray(tokens, dtype=np.int64)
        if self.closes is None:
            return self.w.logits(self.decoders.hidden(tokens))  # (a row_process's rows have no feed)
        stream = np.concatenate([self.pending, tokens], axis=1)
        ends = np.nonzero(self.closes[stream[0]])[0]
        new = tokens
        if len(ends):
            done = ends[-1] + 1
            self.h = self.decoders.hidden(steps_of(stream[:, :done], self.closes, self.w.group))
            self.start = self.w.group_start(self.h)
            stream = new = stream[:, done:]
            self.pending_sum = None
        if self.h is None or self.start is None:
            raise ValueError("no step read yet: a stream must begin with a token that ends a step")
        self.pending = stream
        rows = self.w.group_head["sub_emb"]
        for t in new.T:  # added one at a time, in order (as a sum over the pending tokens would be)
            self.pending_sum = rows[t] if self.pending_sum is None else self.pending_sum + rows[t]
        written = self.start if self.pending_sum is None else self.start + self.pending_sum
        return self.w.logits(self.h, written)


def steps_of(stream: np.ndarray, closes: np.ndarray, size: int) -> np.ndarray:
    """Token streams (B, T), alike in where their steps end (the tokens `closes` marks; the last
    token must be one), as steps (B, n, size) padded with 0 (PAD)."""
    ends = np.nonzero(closes[stream[0]])[0]
    if not len(ends) or ends[-1] != stream.shape[1] - 1:
        raise ValueError("the tokens end inside a step")
    starts = np.concatenate([[0], ends[:-1] + 1])
    if (ends - starts + 1).max() > size:
        raise ValueError(f"a step of more than {size} tokens")
    out = np.zeros((stream.shape[0], len(ends), size), dtype=np.int64)
    step = np.repeat(np.arange(len(ends)), ends - starts + 1)
    out[:, step, np.arange(stream.shape[1]) - starts[step]] = stream
    return out


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
    (B, T), or of steps of several tokens (B, T, G; 0 pads), into the caches (B, layers, H,
    block, D) at positions past..past+T (a Decoder passes its cache as a view with B = 1) and
    return the network's output (B, C) after each row's last position (before ln_f)."""
    B, T = tokens.shape[:2]
    if past + T > w.block_size:
        raise ValueError(f"sequence of {past + T} steps exceeds block_size {w.block_size}")
    H, C = w.n_head, w.n_embd
    D = C // H
    # (B, T, C); of steps (B, T, G): a step's tokens summed, its padding's row zero
    x = w.tok_emb[tokens] if tokens.ndim == 2 else w.step_emb[tokens].sum(axis=2)
    if w.pos_emb is not None:
        x = x + w.pos_emb[past : past + T]
    mask = None
    if T > 1:  # new token t sees cached positions and new positions up to itself
        mask = np.triu(np.full((T, past + T), -np.inf, dtype=np.float32), k=past + 1)
    for i, layer in enumerate(w.layers):
        qkv = _dense(_normalize(x), layer["qkv"]).reshape(B, T, 3 * H, D).transpose(0, 2, 1, 3)  # queries scaled
        qk = qkv[:, : 2 * H] if w.pos_emb is not None else w._rotate(qkv[:, : 2 * H], past)
        q, k, v = qk[:, :H], qk[:, H:], qkv[:, 2 * H :]
        k_cache[:, i, :, past : past + T] = k
        v_cache[:, i, :, past : past + T] = v
        keys, values = k_cache[:, i, :, : past + T], v_cache[:, i, :, : past + T]  # (B, H, L, D)
        att = q @ keys.transpose(0, 1, 3, 2)  # (B, H, T, L)
        if mask is not None:
            att = att + mask
        att = np.exp(att - att.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        y = (att @ values).transpose(0, 2, 1, 3).reshape(B, T, C)
        x = x + _dense(y, layer["proj"])
        h = _gelu(_dense(_normalize(x), layer["fc"]))
        x = x + _dense(h, layer["out"])
    return x[:, -1]
