"""The piano family: a causal transformer over the piano tokenizer's events (MidiTok's REMI, the
hands as programs, composer and key as condition tokens), written from the start by the
pianist (cadenza.compose.pianist): two-staff piano music in a composer's style.

Training data: pieces tokenized once (cadenza.data.piano: ASAP's scores, or a folder of one's
own files with composers from a CSV or from folder names); a batch draws a piece (by length),
a bar to start at, a transposition (pitch and key tokens move together), and, one time in ten
(`no_composer`), the composer token `none` in place of the piece's, so the same model also
writes without a composer. Loss is taken on every event token: the condition prefix is given.

With `--note-steps` the network reads a step per note (its position, hand, pitch and length:
the tokenizer's `closes` ends a step) and writes the next step's tokens in turn with a small
head (cadenza.nn.transformer.GroupHead): the same tokens in the same order, so its loss in nats
per token compares with a one-token-a-step model's, in about 3.5 times fewer network steps.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from cadenza.data.piano import PianoPiece
from cadenza.errors import OptionError, TokenizeError
from cadenza.settings import setting
from cadenza.tokenize.piano import STEP, PianoConfig, PianoTokenizer, Window
from cadenza.train.config import RunConfig, check_data_options, check_network_shape
from cadenza.train.run import CardFacts, Prepared, check_enough

if TYPE_CHECKING:  # torch is imported where it is used
    import torch

    from cadenza.nn.transformer import Transformer

PREFIX_LEN = 3  # BOS COMPOSER KEY


@dataclass
class Config(RunConfig):
    """A piano model's run: the shared settings plus the window, the labels and the data selection."""

    block_size: int = setting(
        1024, "context length in tokens (about 4 tokens a note), or in steps (about one a note) with --note-steps"
    )
    note_steps: bool = setting(False, "one network step a note (its position, hand, pitch and length), not a token")
    n_embd: int = setting(256, "channels", flag="embd")
    labels: str = setting("", "a CSV of file,composer for a folder of your files [default: the folder names]")
    no_composer: float = setting(0.1, "share of training windows shown without their composer (so none works)")
    min_pieces: int = setting(2, "a composer is a condition token only with at least this many training pieces")
    valid_percent: int = setting(10, "a folder's share of pieces held out for validation (ASAP has its own split)")
    max_pieces: int = setting(0, "use at most this many pieces (0 = all)")

    def __post_init__(self):
        super().__post_init__()
        check_network_shape(self.block_size, self.n_embd, self.n_head, True)
        check_data_options(self.valid_percent, self.max_pieces)
        if not 0 <= self.no_composer <= 1:
            raise OptionError(f"--no-composer must be between 0 and 1, not {self.no_composer}")
        if self.min_pieces < 1:
            raise OptionError(f"--min-pieces must be at least 1, not {self.min_pieces}")


@dataclass
class Tokenized:
    id: str
    composer: str  # as the tokenizer knows it ("none" when unknown or too rare)
    window: Window
    steps: np.ndarray | None = None  # with note steps (`with_steps`): the tokens as steps (n, STEP)
    bar_steps: np.ndarray | None = None  # and the step each bar starts at

    def units(self) -> tuple[np.ndarray, np.ndarray]:
        """What a network step reads (tokens, or steps of tokens) and where bars start in them."""
        if self.steps is not None and self.bar_steps is not None:
            return self.steps, self.bar_steps
        return self.window.tokens, self.window.bar_starts


def with_steps(pieces: list[Tokenized], tok: PianoTokenizer) -> None:
    """Give each piece its tokens as note steps (cadenza.nn.numpy_decoder.steps_of)."""
    from cadenza.nn.numpy_decoder import steps_of

    for p in pieces:
        ids = p.window.tokens
        p.steps = steps_of(ids[None], tok.closes, STEP)[0]
        step_of = np.cumsum(tok.closes[ids]) - tok.closes[ids]  # the step each token is in
        p.bar_steps = step_of[p.window.bar_starts]


def tokenize_pieces(pieces: list[PianoPiece], tok: PianoTokenizer) -> tuple[list[Tokenized], list[str]]:
    known = {c.lower(): c for c in tok.config.composers}
    out, skipped = [], []
    for p in pieces:
        composer = known.get(p.composer.lower(), "none")
        try:
            ids = tok.encode(p.piece.score, composer)
        except TokenizeError as e:
            skipped.append(f"{p.id}: {e}")
            continue
        out.append(Tokenized(p.id, composer, tok.windowed(ids)))
    return out, skipped


class Batches:
    """Random training windows: a piece (by length), a transposition, a start bar, and now and
    then no composer."""

    def __init__(self, pieces: list[Tokenized], tok: PianoTokenizer, cfg: Config):
        if not pieces:
            raise ValueError("no training pieces")
        self.pieces, self.tok, self.block = pieces, tok, cfg.block_size
        self.transpose, self.no_composer = cfg.transpose, cfg.no_composer
        lengths = np.array([len(p.units()[0]) for p in pieces], dtype=np.float64)
        self.weights = lengths / lengths.sum()
        self.rng = np.random.default_rng(cfg.seed)

    def next(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        xs, ys = [], []
        for _ in range(batch_size):
            p = self.pieces[self.rng.choice(len(self.pieces), p=self.weights)]
            w = p.window
            lo = max(-self.transpose, self.tok.config.pitch_low - w.low)
            hi = min(self.transpose, self.tok.config.pitch_high - w.high)
            shift = int(self.rng.integers(lo, hi + 1)) if lo <= hi else 0
            bar = int(self.rng.integers(0, len(p.units()[1])))
            x, y = window(p, bar, shift, bool(self.rng.random() >= self.no_composer), self.tok, self.block)
            xs.append(x)
            ys.append(y)
        return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))

    def state(self) -> dict:
        return dict(self.rng.bit_generator.state)

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


def window(
    p: Tokenized, bar: int, shift: int, composer: bool, tok: PianoTokenizer, block: int
) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets) of the window of `p` that starts at its bar `bar` after the prefix: of
    tokens, or of steps (block, STEP) where the piece has them (`with_steps`)."""
    units, bars = p.units()
    ids = tok.transpose(units, shift)
    start = int(bars[bar]) if len(bars) else PREFIX_LEN
    prefix = ids[:PREFIX_LEN].copy()
    if not composer:
        prefix.reshape(PREFIX_LEN, -1)[1, 0] = tok.composer_token(None)
    seq = np.concatenate([prefix, ids[start : start + block + 1 - PREFIX_LEN]])
    x = np.full((block, *units.shape[1:]), tok.pad, dtype=np.int64)
    y = np.full((block, *units.shape[1:]), tok.pad, dtype=np.int64)
    x[: len(seq) - 1] = seq[:-1]
    y[: len(seq) - 1] = seq[1:]
    y[: PREFIX_LEN - 1] = tok.pad  # the prefix is given, not predicted
    return x, y


def eval_windows(pieces: list[Tokenized], tok: PianoTokenizer, block: int, composer: bool = True):
    """Windows that score every event token of each piece once, each window starting at a bar
    (the last bar line before the first token not yet scored, for the most context)."""
    for p in pieces:
        units, bars = p.units()
        n = len(units)
        if not len(bars):
            continue
        bar, scored_until = 0, int(bars[0])
        while scored_until < n:
            start = int(bars[bar])
            x, y = window(p, bar, 0, composer, tok, block)
            # y[i] predicts the piece's unit (token or step) start + i - (PREFIX_LEN - 1), for i >= PREFIX_LEN - 1
            y[: PREFIX_LEN - 1 + max(0, scored_until - start)] = tok.pad
            yield x, y
            scored_until = start + min(block + 1 - PREFIX_LEN, n - start)
            nxt = int(np.searchsorted(bars, scored_until, side="right")) - 1
            bar = nxt if nxt > bar else bar + 1
            if bar >= len(bars):
                break


def nll(
    model: Transformer, pieces: list[Tokenized], tok: PianoTokenizer, composer: bool = True, batch_size: int = 8
) -> tuple[float, int]:
    """(total NLL in nats, tokens scored) over every event token of `pieces` (read as note
    steps where the model reads them so)."""
    import torch

    if model.config.group > 1 and any(p.steps is None for p in pieces):
        pieces = [replace(p) for p in pieces]
        with_steps(pieces, tok)

    with torch.no_grad():
        model.eval()
        device = next(model.parameters()).device
        total, count = 0.0, 0
        windows = list(eval_windows(pieces, tok, model.config.block_size, composer))
        for i in range(0, len(windows), batch_size):
            x = torch.from_numpy(np.stack([w[0] for w in windows[i : i + batch_size]])).to(device)
            y = torch.from_numpy(np.stack([w[1] for w in windows[i : i + batch_size]])).to(device)
            logits = model.target_logits(x, y)
            total += float(
                torch.nn.functional.cross_entropy(
                    logits.view(-1, logits.size(-1)), y.view(-1), ignore_index=tok.pad, reduction="sum"
                )
            )
            count += int((y != tok.pad).sum())
        return total, count


def loss(model: Transformer, batch) -> torch.Tensor:
    return model.loss(*batch)


def loss_weight(batch) -> int:
    return int((batch[1] != 0).sum())


# ---------------------------------------------------------------------------------------------
# the family's interface (cadenza.families)


def build_network(meta: dict) -> Transformer:
    from cadenza.nn.transformer import ModelConfig, Transformer

    return Transformer(ModelConfig(**meta["model"]))


def data_stats(tokenized: list[Tokenized], tok: PianoTokenizer) -> dict:
    """What the pianist uses as defaults: meters and keys seen (per composer too), how a
    composer's pieces in minor keys end (`_minor_end`: with a Picardy third or not), and where
    each composer's hands play (`registers`)."""
    meters: Counter = Counter()
    keys: Counter = Counter()
    keys_by: dict[str, Counter] = {}
    meters_by: dict[str, Counter] = {}
    minor_ends: dict[str, Counter] = {}
    pitches: dict[str, tuple[list[int], list[int]]] = {}
    for t in tokenized:
        ids = t.window.tokens
        hand, _, pitch = tok.keys_struck(ids)
        for h in (0, 1):
            struck = pitch[hand == h].tolist()
            pitches.setdefault(t.composer, ([], []))[h].extend(struck)
            pitches.setdefault("", ([], []))[h].extend(struck)
        end = _minor_end(ids, tok)
        if end:
            minor_ends.setdefault(t.composer, Counter())[end] += 1
        first_meter = next((tok.names[int(i)] for i in ids[PREFIX_LEN:] if tok.is_meter[int(i)]), "")
        if first_meter:
            meter = first_meter.split("_", 1)[1]
            meters[meter] += 1
            meters_by.setdefault(t.composer, Counter())[meter] += 1
        key = str(tok.token_key(int(ids[2])))
        keys[key] += 1
        keys_by.setdefault(t.composer, Counter())[key] += 1
    return {
        "meters": dict(meters.most_common()),
        "keys": dict(keys.most_common()),
        "composer_keys": {c: dict(k.most_common()) for c, k in sorted(keys_by.items())},
        "composer_meters": {c: dict(m.most_common()) for c, m in sorted(meters_by.items())},
        "composer_pieces": dict(Counter(t.composer for t in tokenized).most_common()),
        "composer_minor_ends": {c: dict(sorted(n.items())) for c, n in sorted(minor_ends.items())},
        "registers": registers(pitches),
    }


REGISTER_QUANTILES = (90, 99)  # right hand, left hand: the percentile of its keys a register's top is


def registers(pitches: dict[str, tuple[list[int], list[int]]]) -> dict[str, list[int]]:
    """Each composer's (and, under "", all pieces') highest keys of the right and the left hand
    as they play: the REGISTER_QUANTILES-th percentiles of their keys (the pianist lets a hand up
    to these freely, and charges REGISTER_RATE a semitone above them)."""
    return {
        c: [int(np.percentile(keys, q)) if keys else 108 for keys, q in zip(both, REGISTER_QUANTILES)]
        for c, both in sorted(pitches.items())
    }


def _minor_end(ids, tok: PianoTokenizer) -> str:
    """How a piece in a minor key (its key token's) ends: "major" or "minor" where its last
    onset has the tonic lowest and one third above it (the major third: a Picardy third), else
    "" (a major piece, another bass, no third or both)."""
    key = tok.token_key(int(ids[2]))
    if key.mode != "minor":
        return ""
    onset = [i for i, x in enumerate(ids) if int(x) < len(tok.names) and tok.names[int(x)].startswith("Position_")]
    last = onset[-1] if onset else -1
    pitches = [int(tok.pitch_of[int(x)]) for x in ids[last + 1 :] if tok.pitch_of[int(x)] >= 0]
    if last < 0 or not pitches or min(pitches) % 12 != key.tonic:
        return ""
    pcs = {p % 12 for p in pitches}
    major, minor = (key.tonic + 4) % 12 in pcs, (key.tonic + 3) % 12 in pcs
    return "major" if major and not minor else "minor" if minor and not major else ""


def prepare(cfg: Config, record: dict | None, echo: Callable[[str], None]) -> Prepared:
    """Read the pieces, keep the composers with enough of them as condition tokens, tokenize;
    the network and batches to train on."""
    import torch

    from cadenza.data import piano
    from cadenza.nn.transformer import ModelConfig, Transformer
    from cadenza.train.loop import pick_device

    data = piano.load(cfg.data, cfg.labels, cfg.valid_percent, cfg.max_pieces)
    counts = Counter(p.composer for p in data.splits["train"] if p.composer)
    composers = tuple(c for c in data.composers() if counts[c] >= cfg.min_pieces)
    if record is not None:  # a resumed run keeps the vocabulary it started with
        composers = tuple(record["tokenizer"]["composers"])
    elif cfg.init_from:  # and one started from a model takes that model's, so its embeddings fit
        composers = _composers_of(cfg.init_from, composers)
    try:
        tok = PianoTokenizer(PianoConfig(composers=composers))
    except ValueError as e:
        raise OptionError(f"{cfg.data}: {e}") from None
    train_t, skipped_t = tokenize_pieces(data.splits["train"], tok)
    valid_t, skipped_v = tokenize_pieces(data.splits["valid"], tok)
    skipped = data.skipped + skipped_t + skipped_v
    check_enough(cfg.data, len(train_t), len(valid_t))
    if cfg.note_steps:
        with_steps(train_t + valid_t, tok)
    echo(f"composers: {', '.join(f'{c} ({counts[c]})' for c in composers) or 'none named'}")
    few = [c for c in data.composers() if c not in composers]
    if few and record is None and not cfg.init_from:
        echo(
            f"not a condition (fewer than --min-pieces {cfg.min_pieces} training pieces, the validation "
            f"pieces left out): {', '.join(f'{c} ({counts[c]})' for c in few)}; their pieces train the model unnamed"
        )
    n_tokens = sum(len(t.window.tokens) for t in train_t)
    torch.manual_seed(cfg.seed)
    model = Transformer(
        ModelConfig(
            vocab_size=tok.vocab_size,
            block_size=cfg.block_size,
            n_layer=cfg.n_layer,
            n_head=cfg.n_head,
            n_embd=cfg.n_embd,
            dropout=cfg.dropout,
            attn_dropout=0.0,
            rope=True,
            group=STEP if cfg.note_steps else 1,
        )
    )
    meta = {
        "tokenizer": tok.to_dict(),
        "train": asdict(cfg),
        "data_license": data.license,
        "data_stats": data_stats(train_t, tok),
        "data_summary": {
            "train_pieces": len(train_t),
            "valid_pieces": len(valid_t),
            "test_pieces": len(data.splits["test"]),
            "train_tokens": n_tokens,
            "train_notes": sum(len(t.window.tokens[tok.pitch_of[t.window.tokens] >= 0]) for t in train_t),
            "skipped": len(skipped),
        },
    }

    def validate(m) -> float:
        total, count = nll(m, valid_t, tok)
        return total / max(count, 1)

    return Prepared(
        model.to(pick_device()),
        Batches(train_t, tok, cfg),
        loss,
        validate,
        meta,
        skipped,
        f"{len(train_t)} training and {len(valid_t)} validation pieces, {n_tokens:,} training tokens"
        + (f" in {sum(len(t.units()[0]) for t in train_t):,} note steps" if cfg.note_steps else ""),
        loss_weight=loss_weight,
    )


def _composers_of(model: str, otherwise: tuple[str, ...]) -> tuple[str, ...]:
    """The composers of a piano model (it may have none); `otherwise` for a model of another family."""
    from cadenza.hub import find_model
    from cadenza.nn.checkpoint import read_meta

    tok = read_meta(find_model(model)).get("tokenizer", {})
    return tuple(tok.get("composers", ())) if tok.get("kind") == PianoTokenizer.kind else otherwise


def card(out, meta: dict) -> CardFacts:
    t, tok, s = meta["train"], meta["tokenizer"], meta.get("data_summary", {})
    pieces = meta.get("data_stats", {}).get("composer_pieces", {})
    return CardFacts(
        summary=f"A causal transformer ({meta['params'] / 1e6:.2f}M parameters, {t['block_size']}-"
        + ("step context, one step a note" if t.get("note_steps") else "token context")
        + ", rotary positions) over piano events: MidiTok's REMI (bar, position, hand, pitch, duration on a grid of "
        f"{tok['steps_per_beat']} steps per beat), after a composer token and a key token"
        + (
            "; a step reads a note's tokens together, and a small head writes the next step's in turn"
            if t.get("note_steps")
            else ""
        )
        + ". Trained by Cadenza's own `cadenza train --family piano`. It writes two-staff piano music, with a "
        "composer's style or none.",
        data=f"`{t['data']}` — {s.get('train_pieces')} training pieces ({s.get('train_notes', 0):,} notes, "
        f"{s.get('train_tokens', 0):,} tokens), {s.get('valid_pieces')} validation pieces, "
        f"{s.get('test_pieces', 0)} test pieces kept out (split by piece), {s.get('skipped')} skipped; "
        f"transposition augmentation ±{t['transpose']} semitones. Composers (training pieces): "
        + (", ".join(f"{c} {n}" for c, n in pieces.items()) or "none named")
        + f". License of the data: {meta.get('data_license', 'not recorded')}.",
        settings=[f"- composer left out of {t['no_composer']:.0%} of training windows (so `none` works)"],
        valid_unit="nats per event token",
        how_to_measure="(not yet measured: run benchmarks/piano_quality.py)",
    )


def use(directory, meta: dict, model):
    from cadenza.compose.pianist import Pianist

    return Pianist(directory, meta, model, PianoTokenizer.from_dict(meta["tokenizer"]))


def describe(meta: dict) -> tuple[str, str, str]:
    tok = meta["tokenizer"]
    composers = ", ".join(tok["composers"]) or "none named"
    return (
        f"piano, two staves (composers: {composers})",
        f"1/{4 * tok['steps_per_beat']} notes",
        f"{meta.get('valid_loss', float('nan')):.3f} per event",
    )
