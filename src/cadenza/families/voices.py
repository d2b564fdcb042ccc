"""The voices family: a causal transformer over the voices tokenizer (a fixed number of voices
on a time grid), written from the start by the sampler: chorales, folk tunes.

Training data: pieces tokenized once, windows and transpositions drawn per batch.
Transposition works on tokens directly (pitch tokens and the key token move together), so
augmentation costs nothing. Loss is taken on cell tokens only: BAR, key, meter and EOS tokens
are forced by the sampler, so predicting them teaches nothing and would flatter the loss.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from cadenza.data.corpus import Piece
from cadenza.errors import OptionError, TokenizeError
from cadenza.settings import setting
from cadenza.tokenize.voices import HOLD, N_PITCHES, PAD, PITCH0, REST, VoicesConfig, VoicesTokenizer
from cadenza.train.config import RunConfig, check_data_options, check_network_shape
from cadenza.train.run import CardFacts, Prepared, check_enough

if TYPE_CHECKING:  # torch is imported where it is used: `cadenza --help` reads the configs without it
    import torch

    from cadenza.nn.transformer import Transformer


@dataclass
class Config(RunConfig):
    """A voices model's run: the shared settings plus the tokenizer's and the data selection."""

    block_size: int = setting(512, "context length in tokens")
    rope: bool = setting(
        True,
        "rotary (relative) positions; --no-rope: learned absolute ones (0.16 nats per cell worse on the chorales: "
        "models/chorales/card.md)",
    )
    n_voices: int = setting(4, "number of voices the model writes (1 = melody)", flag="voices")
    steps_per_beat: int = setting(2, "grid resolution: 2 = eighth notes, 4 = sixteenths")
    programs: tuple[int, ...] = setting((), "General MIDI program per voice for output, e.g. 52,52,52,52")
    valid_percent: int = setting(10, "share of pieces held out for validation, by a hash of each piece's id")
    max_pieces: int = setting(0, "use at most this many pieces (0 = all)")
    exact_parts: bool = setting(False, "use only pieces with exactly --voices parts (e.g. four-part chorales)")
    exclude: str = setting(
        "",
        "leave out every piece whose melody matches one in this data set (corpus, folder, or "
        "PATH.json.gz:SPLIT), e.g. a benchmark's test pieces",
    )

    def __post_init__(self):
        super().__post_init__()
        check_network_shape(
            self.block_size, self.n_embd, self.n_head, self.rope, "; change one of them, or give --no-rope"
        )
        check_data_options(self.valid_percent, self.max_pieces)
        self.programs = tuple(self.programs)

    def tokenizer(self) -> VoicesTokenizer:
        try:
            return VoicesTokenizer(
                VoicesConfig(n_voices=self.n_voices, steps_per_beat=self.steps_per_beat, programs=self.programs)
            )
        except ValueError as e:
            raise OptionError(str(e)) from None


PREFIX_LEN = 3  # BOS KEY METER


@dataclass
class TokenizedPiece:
    id: str
    tokens: np.ndarray  # int64, the whole piece
    bar_starts: np.ndarray  # indices of BAR tokens
    low: int  # lowest and highest pitch, to bound transposition
    high: int


def tokenize_pieces(pieces: list[Piece], tok: VoicesTokenizer) -> tuple[list[TokenizedPiece], list[str]]:
    """Tokenize what can be; return (tokenized, one line per piece skipped and why)."""
    out, skipped = [], []
    for p in pieces:
        try:
            ids = np.array(tok.encode(p.score), dtype=np.int64)
        except TokenizeError as e:
            skipped.append(f"{p.id}: {e}")
            continue
        pitches = ids[(ids >= PITCH0) & (ids < PITCH0 + N_PITCHES)] - PITCH0
        if len(pitches) == 0:
            skipped.append(f"{p.id}: no notes on the grid")
            continue
        bars = np.nonzero((ids >= tok.bar0) & (ids < tok.key0))[0]
        out.append(TokenizedPiece(p.id, ids, bars, int(pitches.min()), int(pitches.max())))
    return out, skipped


def transpose_tokens(ids: np.ndarray, semitones: int, tok: VoicesTokenizer) -> np.ndarray:
    if semitones == 0:
        return ids
    ids = ids.copy()
    is_pitch = (ids >= PITCH0) & (ids < PITCH0 + N_PITCHES)
    ids[is_pitch] += semitones
    is_key = (ids >= tok.key0) & (ids < tok.key0 + 24)
    k = ids[is_key] - tok.key0
    ids[is_key] = tok.key0 + (k // 12) * 12 + (k % 12 + semitones) % 12
    return ids


def cell_targets(ids: np.ndarray) -> np.ndarray:
    """Targets with every non-cell token replaced by PAD (ignored by the loss)."""
    is_cell = (ids == REST) | (ids == HOLD) | ((ids >= PITCH0) & (ids < PITCH0 + N_PITCHES))
    return np.where(is_cell, ids, PAD)


class Batches:
    """Random training windows: a piece (by length), a transposition, a start bar."""

    def __init__(self, pieces: list[TokenizedPiece], tok: VoicesTokenizer, block_size: int, transpose: int, seed: int):
        if not pieces:
            raise ValueError("no training pieces")
        self.pieces, self.tok, self.block, self.transpose = pieces, tok, block_size, transpose
        lengths = np.array([len(p.tokens) for p in pieces], dtype=np.float64)
        self.weights = lengths / lengths.sum()
        self.rng = np.random.default_rng(seed)

    def window(self, p: TokenizedPiece, start_bar: int, shift: int) -> tuple[np.ndarray, np.ndarray]:
        ids = transpose_tokens(p.tokens, shift, self.tok)
        body_start = p.bar_starts[start_bar]
        seq = np.concatenate([ids[:PREFIX_LEN], ids[body_start : body_start + self.block + 1 - PREFIX_LEN]])
        x = np.full(self.block, PAD, dtype=np.int64)
        y = np.full(self.block, PAD, dtype=np.int64)
        x[: len(seq) - 1] = seq[:-1]
        y[: len(seq) - 1] = cell_targets(seq[1:])
        return x, y

    def next(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        xs, ys = [], []
        for _ in range(batch_size):
            p = self.pieces[self.rng.choice(len(self.pieces), p=self.weights)]
            lo = max(-self.transpose, -p.low)
            hi = min(self.transpose, N_PITCHES - 1 - p.high)
            shift = int(self.rng.integers(lo, hi + 1))
            start_bar = int(self.rng.integers(0, len(p.bar_starts)))
            x, y = self.window(p, start_bar, shift)
            xs.append(x)
            ys.append(y)
        return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))

    def state(self) -> dict:
        return dict(self.rng.bit_generator.state)

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


def eval_windows(pieces: list[TokenizedPiece], tok: VoicesTokenizer, block_size: int):
    """Deterministic windows that score every cell of each piece exactly once. Each window starts
    at a bar (after the prefix) and, after the first, at the last bar line before the first cell
    not yet scored, so that cell has the most context; cells scored before are masked out."""
    helper = Batches(pieces, tok, block_size, 0, 0)
    for p in pieces:
        bar, scored_until = 0, 0  # piece tokens before scored_until are scored
        while scored_until < len(p.tokens):
            start = int(p.bar_starts[bar])
            x, y = helper.window(p, bar, 0)
            # y[i] predicts piece token start + i - (PREFIX_LEN - 1), for i >= PREFIX_LEN - 1
            y[: PREFIX_LEN - 1 + max(0, scored_until - start)] = PAD
            yield x, y
            scored_until = start + min(block_size + 1 - PREFIX_LEN, len(p.tokens) - start)
            nxt = int(np.searchsorted(p.bar_starts, scored_until, side="right")) - 1
            if nxt <= bar:  # a bar longer than the window: go on from the next bar
                nxt = bar + 1
                if nxt >= len(p.bar_starts):
                    break
            bar = nxt


# ---------------------------------------------------------------------------------------------
# validation


def evaluate(model: Transformer, pieces: list[TokenizedPiece], tok: VoicesTokenizer, batch_size: int = 16) -> float:
    """Mean NLL in nats per cell token over every cell of `pieces` (deterministic)."""
    import torch

    with torch.no_grad():
        model.eval()
        device = next(model.parameters()).device
        total, count = 0.0, 0
        windows = list(eval_windows(pieces, tok, model.config.block_size))
        for i in range(0, len(windows), batch_size):
            x = torch.from_numpy(np.stack([w[0] for w in windows[i : i + batch_size]])).to(device)
            y = torch.from_numpy(np.stack([w[1] for w in windows[i : i + batch_size]])).to(device)
            logits = model(x)
            nll = torch.nn.functional.cross_entropy(
                logits.view(-1, logits.size(-1)), y.view(-1), ignore_index=0, reduction="sum"
            )
            total += float(nll)
            count += int((y != 0).sum())
        return total / max(count, 1)


def loss(model: Transformer, batch) -> torch.Tensor:
    return model.loss(*batch)


def loss_weight(batch) -> int:
    """How many terms `loss` averages over: the batch's cell targets (the rest are PAD)."""
    return int((batch[1] != PAD).sum())


# ---------------------------------------------------------------------------------------------
# the family's interface (cadenza.families)


def build_network(meta: dict) -> Transformer:
    from cadenza.nn.transformer import ModelConfig, Transformer

    return Transformer(ModelConfig(**meta["model"]))


def data_stats(pieces, tokenized, tok) -> dict:
    """What the generator uses as defaults: meters and keys seen, and each voice's usual range."""
    n_voices = tok.config.n_voices
    meters = Counter(str(p.score.meter) for p in pieces)
    keys: Counter = Counter()
    per_voice: list[list[int]] = [[] for _ in range(n_voices)]
    for t in tokenized:
        keys[str(tok.token_key(int(t.tokens[1])))] += 1
        body = t.tokens[3:]
        cells = body[(body < PITCH0 + N_PITCHES) & ((body >= PITCH0) | (body == REST) | (body == HOLD))]
        grid = cells[: len(cells) // n_voices * n_voices].reshape(-1, n_voices)
        for v in range(n_voices):
            col = grid[:, v]
            per_voice[v].extend((col[col >= PITCH0] - PITCH0).tolist())
    ranges = [[int(np.percentile(v, 0.5)), int(np.percentile(v, 99.5))] if v else [0, 127] for v in per_voice]
    return {"meters": dict(meters.most_common()), "keys": dict(keys.most_common()), "voice_ranges": ranges}


def prepare(cfg: Config, record: dict | None, echo: Callable[[str], None]) -> Prepared:
    """Read the corpus or folder, keep the pieces the config selects, split by a hash of each
    piece's id, tokenize; the network and batches to train on."""
    import torch

    from cadenza.data import corpus
    from cadenza.nn.transformer import ModelConfig, Transformer
    from cadenza.train.loop import pick_device

    tok = cfg.tokenizer()
    data = corpus.load(cfg.data, limit=cfg.max_pieces or None)
    if cfg.exact_parts:
        kept = corpus.with_exact_parts(data.pieces, cfg.n_voices)
        echo(f"kept {len(kept)} of {len(data.pieces)} pieces with exactly {cfg.n_voices} parts")
        data.pieces = kept
    excluded: list[str] = []
    if cfg.exclude:  # a resumed run leaves out what it left out when it began, whatever the matcher says now
        recorded = (record or {}).get("data_summary", {}).get("excluded_ids")
        data.pieces, excluded = corpus.leave_out(data.pieces, cfg.exclude, recorded)
        echo(f"left out {len(excluded)} pieces whose melody is a tune of {cfg.exclude}")
    train_p, valid_p = data.split(cfg.valid_percent)
    train_t, skipped_t = tokenize_pieces(train_p, tok)
    valid_t, skipped_v = tokenize_pieces(valid_p, tok)
    skipped = data.skipped + skipped_t + skipped_v
    check_enough(cfg.data, len(train_t), len(valid_t))
    n_tokens = sum(len(t.tokens) for t in train_t)
    torch.manual_seed(cfg.seed)
    model = Transformer(
        ModelConfig(
            vocab_size=tok.vocab_size,
            block_size=cfg.block_size,
            n_layer=cfg.n_layer,
            n_head=cfg.n_head,
            n_embd=cfg.n_embd,
            dropout=cfg.dropout,
            rope=cfg.rope,
        )
    )
    meta = {
        "tokenizer": tok.to_dict(),
        "train": asdict(cfg),
        "data_stats": data_stats(train_p, train_t, tok),
        "data_summary": {
            "train_pieces": len(train_t),
            "valid_pieces": len(valid_t),
            "train_tokens": n_tokens,
            "skipped": len(skipped),
            "excluded": len(excluded),
            "excluded_ids": excluded,  # so corpus.split_of finds this run's split whatever the matcher becomes
        },
    }
    model = model.to(pick_device())
    return Prepared(
        model,
        Batches(train_t, tok, cfg.block_size, cfg.transpose, cfg.seed),
        loss,
        lambda m: evaluate(m, valid_t, tok),
        meta,
        skipped,
        f"{len(train_t)} training and {len(valid_t)} validation pieces, {n_tokens:,} training tokens",
        loss_weight=loss_weight,
    )


def card(out, meta: dict) -> CardFacts:
    t, tok, s = meta["train"], meta["tokenizer"], meta.get("data_summary", {})
    return CardFacts(
        summary=f"A {tok['n_voices']}-voice causal transformer ({meta['params'] / 1e6:.2f}M parameters) on a grid of "
        f"{tok['steps_per_beat']} steps per quarter note, trained by Cadenza's own `cadenza train`.",
        data=f"`{t['data']}` — {s.get('train_pieces')} training pieces, {s.get('valid_pieces')} validation "
        f"pieces (held out by a hash of each piece's id), {s.get('train_tokens', 0):,} training tokens, "
        f"{s.get('skipped')} skipped"
        + (f", {s['excluded']} left out as matching `{t['exclude']}`" if s.get("excluded") else "")
        + f"; transposition augmentation ±{t['transpose']} semitones",
        valid_unit="nats per cell",
        how_to_measure="(not yet measured: run benchmarks/chorale_quality.py or benchmarks/ngram_baseline.py)",
    )


def use(directory, meta: dict, model):
    from cadenza.compose.composer import Composer

    return Composer(directory, meta, model, VoicesTokenizer.from_dict(meta["tokenizer"]))


def describe(meta: dict) -> tuple[str, str, str]:
    tok = meta["tokenizer"]
    writes = "melody" if tok["n_voices"] == 1 else f"{tok['n_voices']} voices"
    return writes, f"1/{4 * tok['steps_per_beat']} notes", f"{meta.get('valid_loss', float('nan')):.3f} per cell"
