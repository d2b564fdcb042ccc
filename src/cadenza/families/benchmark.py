"""Likelihood benchmarks: frame-level NLL on the piano-roll data sets of Boulanger-Lewandowski,
Bengio & Vincent (ICML 2012): JSB Chorales, Nottingham, MuseData, Piano-midi.de.

The number is the mean over all time steps of a split of -log p(step | earlier steps of the
piece), in nats, where p is normalized over every possible set of pitches (the piano-roll tokenizer's
ascending order and `allowed_next` mask make the causal model's token probabilities exactly
that). Pieces longer than the model's context are scored with overlapping windows that each
start at a step boundary; every token is scored once, with at least half a window of context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cadenza.data.benchmarks import PUBLISHED_SETS, Piece, load_benchmark
from cadenza.errors import OptionError
from cadenza.settings import setting
from cadenza.tokenize.pianoroll import END, PAD, PITCH0, PianoRollConfig, PianoRollTokenizer, allowed_next
from cadenza.train.config import RunConfig, check_network_shape
from cadenza.train.run import CardFacts, Prepared

if TYPE_CHECKING:  # torch is imported where it is used: `cadenza --help` reads the configs without it
    import torch

    from cadenza.nn.transformer import Transformer


def range_for(data: dict[str, list[Piece]], margin: int = 6) -> PianoRollConfig:
    """The pitch range of a benchmark model: the piano's 88 keys (A0-C8: the published sets are
    88-key rolls, and the published numbers normalize over all 2^88 pitch sets), widened where the
    *train* split, shifted by up to `margin` semitones, goes beyond them. The valid and test splits
    are not looked at: their range must not shape the model."""
    pitches = [p for piece in data["train"] for step in piece for p in step]
    piano = PianoRollConfig()
    return PianoRollConfig(
        max(0, min([piano.low] + [p - margin for p in pitches])),
        min(127, max([piano.high] + [p + margin for p in pitches])),
    )


def check_range(pieces: list[Piece], tok: PianoRollTokenizer, what: str) -> None:
    """Refuse (one line) pieces holding a pitch the model has no token for: it could not score them."""
    pitches = [p for piece in pieces for step in piece for p in step]
    if pitches and (min(pitches) < tok.config.low or max(pitches) > tok.config.high):
        raise OptionError(
            f"{what} holds pitches {min(pitches)}..{max(pitches)}, outside the model's range "
            f"{tok.config.low}..{tok.config.high}"
        )


# ---------------------------------------------------------------------------------------------
# training data


@dataclass
class Config(RunConfig):
    """A benchmark run: rows packed with windows of pieces, a small, regularized network (defaults
    chosen on JSB; docs/BENCHMARKS.md says what each bought)."""

    data: str = setting("", "a piano-roll benchmark file, e.g. ../shared/benchmarks/jsb_chorales.json.gz")
    block_size: int = setting(768, "context length in tokens")
    rope: bool = setting(
        True, "rotary (relative) positions; --no-rope: learned absolute ones (worse here: docs/BENCHMARKS.md)"
    )
    n_layer: int = setting(6, "transformer layers", flag="layers")
    n_head: int = setting(6, "attention heads", flag="heads")
    dropout: float = setting(0.3, "dropout on embeddings and MLP outputs")
    attn_dropout: float = setting(
        0.0, "dropout on attention weights (0 allows the fused attention kernel, several times faster)"
    )
    shift_aware: bool = setting(False, "tell the model each training window's transposition (scoring tells it 0)")
    batch_size: int = setting(4, "rows of --block-size tokens per step, each packed with windows")
    minutes: float = setting(60.0, "training time budget (ignored with --steps)")
    eval_every: int = setting(500, "validate every this many steps (and at the end)")
    patience: int = setting(
        3,
        "stop after this many validations in a row without a new best (0: never); "
        "JSB's 229 training chorales are overfitted within the hour",
    )
    transpose: int = setting(6, "augment the training split by transposition up to this many semitones")

    def __post_init__(self):
        super().__post_init__()
        check_network_shape(self.block_size, self.n_embd, self.n_head, self.rope)


class StepBatches:
    """Training rows packed full of windows: each window is a piece from a random step start (a
    piece chosen by length, transposed at random), led by the token before that step: BOS at the
    piece's start, else the previous step's END, so BOS always means "the piece begins here" (when
    every window began with BOS, the model could not know it was at a piece's start and scored
    first steps 3 nats worse than the step 3-gram did). The windows follow one another in a row
    until it holds `block_size` tokens. Each window is its own segment: the model's attention
    mask keeps it from seeing the others, so packing changes nothing but the padding it saves
    (short JSB windows left over half of each unpacked row empty)."""

    def __init__(self, pieces: list[Piece], tok: PianoRollTokenizer, block_size: int, transpose: int, seed: int):
        self.tok, self.block, self.transpose = tok, block_size, transpose
        self.pieces = [np.array(tok.encode(p), dtype=np.int64) for p in pieces if p]
        self.step_starts = [np.concatenate([[1], np.nonzero(t == END)[0][:-1] + 1]) for t in self.pieces]
        pitches = [t[t >= PITCH0] for t in self.pieces]
        self.low = [int(p.min()) if len(p) else PITCH0 for p in pitches]
        self.high = [int(p.max()) if len(p) else PITCH0 for p in pitches]
        lengths = np.array([len(t) for t in self.pieces], dtype=np.float64)
        self.weights = lengths / lengths.sum()
        self.rng = np.random.default_rng(seed)

    def window(self) -> tuple[np.ndarray, int]:
        """(up to block_size + 1 tokens of a random piece: the one before a random step start, then
        the piece from there; transposed by `shift` semitones, also returned)."""
        top = PITCH0 + self.tok.n_pitches - 1
        i = int(self.rng.choice(len(self.pieces), p=self.weights))
        lo, hi = max(-self.transpose, PITCH0 - self.low[i]), min(self.transpose, top - self.high[i])
        shift = int(self.rng.integers(lo, hi + 1))
        start = int(self.rng.choice(self.step_starts[i]))
        seq = self.pieces[i][start - 1 : start + self.block]  # BOS at the piece's start, else the END before
        return np.where(seq >= PITCH0, seq + shift, seq), shift

    def next(self, batch_size: int) -> tuple[torch.Tensor, ...]:
        """(inputs, targets, segments, conditions), each (batch_size, block_size); a token's
        condition is its window's transposition as an id, shift + self.transpose (see shift_condition)."""
        import torch

        x = np.full((batch_size, self.block), PAD, dtype=np.int64)
        y = np.full((batch_size, self.block), PAD, dtype=np.int64)
        seg = np.zeros((batch_size, self.block), dtype=np.int64)
        cond = np.zeros((batch_size, self.block), dtype=np.int64)
        for b in range(batch_size):
            at, s = 0, 0
            while at < self.block:
                seq, shift = self.window()
                n = min(len(seq) - 1, self.block - at)
                x[b, at : at + n], y[b, at : at + n], seg[b, at : at + n] = seq[:n], seq[1 : n + 1], s
                cond[b, at : at + n] = shift + self.transpose
                at, s = at + n, s + 1
        return tuple(torch.from_numpy(a) for a in (x, y, seg, cond))

    def state(self) -> dict:
        return dict(self.rng.bit_generator.state)

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


def shift_condition(model, shift: int = 0) -> int | None:
    """The condition id that tells a shift-aware model its input is transposed by `shift` semitones
    (ids 0..2t stand for -t..+t); None for a model that takes no conditions."""
    n = model.config.n_conditions
    return shift + (n - 1) // 2 if n else None


def masked_logits(
    model, x: torch.Tensor, segments: torch.Tensor | None = None, conditions: torch.Tensor | None = None
) -> torch.Tensor:
    """The model's logits with every token the piano-roll grammar forbids after x set to -inf. A
    shift-aware model is told "not transposed" unless `conditions` say otherwise."""
    import torch

    untransposed = shift_condition(model)
    if conditions is None and untransposed is not None:
        conditions = torch.full_like(x, untransposed)
    logits = model(x, segments, conditions if model.config.n_conditions else None)
    return logits.masked_fill(~allowed_next(x, logits.size(-1)), float("-inf"))


def masked_loss(model, batch) -> torch.Tensor:
    """Mean NLL per token (nats) under the normalized step distribution; PAD targets skipped."""
    from torch.nn import functional as F

    x, y, segments, conditions = batch
    logits = masked_logits(model, x, segments, conditions)
    return F.cross_entropy(logits.view(-1, logits.size(-1)), y.reshape(-1), ignore_index=PAD)


def masked_loss_weight(batch) -> int:
    """How many terms masked_loss averages over: the batch's targets that are not PAD."""
    return int((batch[1] != PAD).sum())


# ---------------------------------------------------------------------------------------------
# exact evaluation


def score_windows(tokens: np.ndarray | list[int], block_size: int):
    """(start, input, target) windows that score every token after BOS exactly once; targets
    already scored are PAD, and target j is tokens[start + j]. Each window is tokens from a step
    start, led by the token before it (BOS at the piece's start, else an END), as in training;
    later windows start at the last step start that leaves half a window of context before the
    first token not yet scored."""
    tokens = np.asarray(tokens)
    starts: np.ndarray = np.concatenate([[1], np.nonzero(tokens == END)[0][:-1] + 1])
    start, scored_until = 1, 1  # tokens[1:scored_until] are scored
    while scored_until < len(tokens):
        seq = tokens[start - 1 : start + block_size]
        x, y = seq[:-1].copy(), seq[1:].copy()
        y[: max(0, scored_until - start)] = PAD
        yield start, x, y
        scored_until = start + len(seq) - 1
        # next: a step start that scores something new (> scored_until - block_size), ideally
        # with half a window of context; else the earliest such start
        near = starts[(starts > scored_until - block_size) & (starts <= scored_until)]
        roomy = near[near <= scored_until - block_size // 2]
        start = int(roomy[-1]) if len(roomy) else int(near[0]) if len(near) else scored_until


def step_logprobs(model, pieces: list[Piece], tok: PianoRollTokenizer, batch_size: int = 16) -> list[np.ndarray]:
    """log p(step | earlier steps of its piece) in nats, for every step of every piece: the sum
    of the step's token log-probabilities (its pitches, then END) under the grammar mask."""
    import torch

    with torch.no_grad():
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        encoded = [np.asarray(tok.encode(p)) for p in pieces]
        token_lp = [np.zeros(len(t)) for t in encoded]
        windows = [
            (i, start, x, y) for i, t in enumerate(encoded) for start, x, y in score_windows(t, model.config.block_size)
        ]
        windows.sort(key=lambda w: len(w[2]))  # similar lengths together: less padding
        for g in range(0, len(windows), batch_size):
            group = windows[g : g + batch_size]
            width = max(len(w[2]) for w in group)
            x = torch.full((len(group), width), PAD, dtype=torch.long)
            y = torch.full((len(group), width), PAD, dtype=torch.long)
            for j, (_, _, xs, ys) in enumerate(group):
                x[j, : len(xs)] = torch.from_numpy(xs)
                y[j, : len(ys)] = torch.from_numpy(ys)
            logp = torch.log_softmax(masked_logits(model, x.to(device)).float(), -1)
            picked = logp.gather(-1, y.to(device).unsqueeze(-1)).squeeze(-1).cpu().double().numpy()
            for j, (i, start, _, ys) in enumerate(group):
                scored = np.nonzero(ys != PAD)[0]
                token_lp[i][start + scored] = picked[j, scored]
        model.train(was_training)
        out = []
        for t, lp in zip(encoded, token_lp):
            ends, total = np.nonzero(t == END)[0], np.cumsum(lp)
            out.append(total[ends] - total[np.concatenate([[0], ends[:-1]])])
        return out


def nll_per_step(model, pieces: list[Piece], tok: PianoRollTokenizer, batch_size: int = 16) -> tuple[float, int]:
    """(mean NLL per time step in nats, number of time steps) over `pieces`."""
    lps = step_logprobs(model, pieces, tok, batch_size)
    n_steps = sum(len(lp) for lp in lps)
    return -float(sum(lp.sum() for lp in lps)) / max(n_steps, 1), n_steps


def mixture_weight(a: np.ndarray, b: np.ndarray, iters: int = 100) -> float:
    """The weight w in [0, 1] that maximizes sum log(w e^a + (1 - w) e^b) over paired step
    log-probabilities a and b of two normalized models (EM, which never lowers it)."""
    w = 0.5
    for _ in range(iters):
        la, lb = np.log(w) + a, np.log1p(-w) + b
        w = float(np.clip(np.exp(la - np.logaddexp(la, lb)).mean(), 1e-6, 1 - 1e-6))
    return w


def mixed_logprobs(a: np.ndarray, b: np.ndarray, w: float) -> np.ndarray:
    """log(w e^a + (1 - w) e^b): the mixture of two normalized step distributions is normalized."""
    return np.logaddexp(np.log(w) + a, np.log1p(-w) + b)


# ---------------------------------------------------------------------------------------------
# runs: train from scratch, or evaluate a saved checkpoint


def evaluate_checkpoint(directory: Path, data: dict[str, list[Piece]], splits=("valid", "test")) -> tuple[dict, dict]:
    """({split: (NLL per step, steps, every step's log-probability)}, meta) of a saved benchmark
    model on a loaded data set."""
    from cadenza import hub

    model, meta = hub.load_network(directory, expect="benchmark")
    tok = tokenizer_of(meta)
    results = {}
    for s in splits:
        check_range(data[s], tok, f"the {s} split")
        lp = np.concatenate(step_logprobs(model, data[s], tok))
        results[s] = (-float(lp.sum()) / len(lp), len(lp), lp)
    return results, meta


def mix_with_ngram(data: dict[str, list[Piece]], results: dict) -> tuple[float, dict[str, float]]:
    """(the step 3-gram's weight, {split: NLL per step}) of the mixture of the network (its
    per-step log-probabilities in `results`, as evaluate_checkpoint gives them) and the step
    3-gram baseline fitted on the train split; the weight maximizes the valid split's likelihood."""
    from cadenza.evaluate.step_baselines import IndependentPitches, StepNGram
    from cadenza.evaluate.step_baselines import step_logprobs as ngram_logprobs

    ngram = StepNGram(IndependentPitches().fit(data["train"]), order=3).fit(data["train"])
    other = {
        s: np.concatenate([np.asarray(lp, dtype=np.float64) for lp in ngram_logprobs(ngram, data[s])]) for s in results
    }
    w = mixture_weight(other["valid"], results["valid"][2])
    return w, {s: -float(mixed_logprobs(other[s], results[s][2], w).mean()) for s in results}


def result_lines(results: dict, mixed: tuple[float, dict[str, float]] | None = None) -> list[str]:
    """The lines `bench nll` prints and a card quotes: valid and test NLL, and with `mixed` the mixture's."""
    lines = [f"{s} NLL {results[s][0]:.4f} nats per time step ({results[s][1]} steps)" for s in ("valid", "test")]
    if mixed:
        w, nll = mixed
        lines.append(
            f"mixed with the step 3-gram (weight {w:.3f}, chosen on valid): valid NLL {nll['valid']:.4f}, "
            f"test NLL {nll['test']:.4f} nats per time step"
        )
    return lines


def card(
    out: Path, meta: dict, results: dict | None = None, mixed: tuple[float, dict[str, float]] | None = None
) -> CardFacts:
    """What a benchmark model's card states; with `results` (evaluate_checkpoint's) and `mixed`
    (mix_with_ngram's), the measured valid and test NLL, the lines `--checkpoint` prints."""
    t, m = meta["train"], meta["model"]
    data = Path(t["data"])
    facts = CardFacts(
        summary=f"A likelihood benchmark model, not a composer: a {m['n_layer']}-layer causal transformer "
        f"({meta['params']:,} parameters, {m['n_embd']} channels, {m['n_head']} heads, "
        f"{'rotary' if m.get('rope') else 'learned absolute'} positions, dropout {m['dropout']}) over the "
        f"piano-roll tokenizer (each time step: its pitches in ascending order, then END; pitches "
        f"{meta['tokenizer']['low']}-{meta['tokenizer']['high']}), trained by `cadenza bench nll` on the train "
        f"split of `{data.name}`"
        + (" (Boulanger-Lewandowski, Bengio & Vincent 2012)." if data.name in PUBLISHED_SETS else "."),
        data=f"the train split of `{t['data']}`; the valid split chose the checkpoint; the test split was read "
        "only to report",
        settings=[
            f"- seed {t['seed']}; each step {t['batch_size']} rows of {m['block_size']} tokens, packed with windows "
            "that each start at a time step of a piece and see only themselves; AdamW lr "
            f"{t['lr']} with {t['warmup_steps']} warm-up steps and cosine decay, weight decay {t['weight_decay']}; "
            f"attention-weight dropout {m['dropout'] if m.get('attn_dropout') is None else m['attn_dropout']}; "
            + (
                "bfloat16 autocast for the training steps (validation and the numbers below in fp32); "
                if t.get("bf16")
                else "fp32; "
            )
            + f"random transposition of each training window by up to ±{t['transpose']} semitones (train split only)"
            + (
                "; the model is told each window's transposition (a learned embedding added to every token) and, "
                "when scoring, that nothing is transposed"
                if t.get("shift_aware")
                else ""
            )
        ],
        valid_unit="nats per time step",
        how_to_measure=f"(not yet measured: `cadenza bench nll --data {t['data']} --checkpoint {out}`)",
    )
    if results is not None:
        facts.measured = "\n".join(
            [
                f"`cadenza bench nll --data {t['data']} --checkpoint {out}{' --with-ngram' if mixed else ''}`:",
                "",
                "```",
                *result_lines(results, mixed),
                "```",
                "",
                *(
                    [
                        "With `--with-ngram`, the last line: the network's step distribution mixed with a step 3-gram "
                        "fitted on the train split (interpolated absolute discounting down to independent pitch "
                        "frequencies), one weight chosen by EM on the valid split; a mixture of two normalized "
                        "distributions is normalized.",
                        "",
                    ]
                    if mixed
                    else []
                ),
                "Frame-level NLL per time step in nats, normalized over all pitch sets of a step; pieces longer "
                f"than {m['block_size']} tokens are scored in overlapping windows, each token once with at least "
                "half a window of context. docs/BENCHMARKS.md compares it with the published models and the baselines.",
            ]
        )
    return facts


# ---------------------------------------------------------------------------------------------
# the family's interface (cadenza.families)


def tokenizer_of(meta: dict) -> PianoRollTokenizer:
    return PianoRollTokenizer.from_dict(meta["tokenizer"])


def build_network(meta: dict) -> Transformer:
    from cadenza.nn.transformer import ModelConfig, Transformer

    return Transformer(ModelConfig(**meta["model"]))


def prepare(cfg: Config, record: dict | None, echo: Callable[[str], None]) -> Prepared:
    """Train on the train split of cfg.data; its valid split chooses the checkpoint. The pitch
    range comes from the train split (or, resuming, from the run's own record)."""
    import torch

    from cadenza.nn.transformer import ModelConfig, Transformer
    from cadenza.train.loop import pick_device

    data = load_benchmark(cfg.data)
    tok = tokenizer_of(record) if record else PianoRollTokenizer(range_for(data, cfg.transpose))
    for s in ("valid", "test"):  # before any training: a split the model could not score is refused now
        check_range(data[s], tok, f"the {s} split of {Path(cfg.data).name}")
    torch.manual_seed(cfg.seed)
    model = Transformer(
        ModelConfig(
            vocab_size=tok.vocab_size,
            block_size=cfg.block_size,
            n_layer=cfg.n_layer,
            n_head=cfg.n_head,
            n_embd=cfg.n_embd,
            dropout=cfg.dropout,
            attn_dropout=cfg.attn_dropout,
            rope=cfg.rope,
            n_conditions=2 * cfg.transpose + 1 if cfg.shift_aware else 0,
        )
    )
    meta = {"tokenizer": tok.to_dict(), "train": asdict(cfg)}
    return Prepared(
        model.to(pick_device()),
        StepBatches(data["train"], tok, cfg.block_size, cfg.transpose, cfg.seed),
        masked_loss,
        lambda m: nll_per_step(m, data["valid"], tok)[0],
        meta,
        [],
        f"{len(data['train'])} training and {len(data['valid'])} validation pieces of {Path(cfg.data).name}",
        loss_weight=masked_loss_weight,
    )


def use(directory, meta: dict, model):
    """A benchmark model is used through evaluate_checkpoint."""
    return model


def describe(meta: dict) -> tuple[str, str, str]:
    return "(benchmark)", "piano roll", f"{meta.get('valid_loss', float('nan')):.3f} per step"
