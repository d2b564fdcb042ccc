"""The orderless family: a bidirectional (masked) voices model that predicts any hidden cells of
a grid from the visible ones, as Coconet does (Huang et al. 2017). It harmonizes melodies and
fills regions (cadenza.compose.harmonizer), sampled by annealed blocked Gibbs steps.

Data: the SATB sixteenth-note split Coconet used (../shared/benchmarks/jsb16th_satb.json.gz: its
own train and valid parts), or any corpus or folder that the voices tokenizer reads (split by a
hash of each piece's id).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from cadenza.errors import OptionError, TokenizeError
from cadenza.settings import setting
from cadenza.tokenize.cells import MASK, N_CELL, REST, CellsTokenizer
from cadenza.train.config import RunConfig, check_data_options
from cadenza.train.run import CardFacts, Prepared, check_enough

if TYPE_CHECKING:  # torch is imported where it is used: `cadenza --help` reads the configs without it
    import torch

    from cadenza.nn.orderless import OrderlessModel


@dataclass
class Config(RunConfig):
    """An orderless run: the shared settings (a smaller default network) plus the grid's."""

    n_embd: int = setting(128, "channels", flag="embd")
    window_steps: int = setting(256, "training window in grid steps")
    n_voices: int = setting(4, "number of voices", flag="voices")
    steps_per_beat: int = setting(4, "grid resolution: 4 = sixteenths")
    valid_percent: int = setting(10, "share of pieces held out for validation (corpora and folders)")
    exact_parts: bool = setting(False, "use only pieces with exactly --voices parts")
    max_pieces: int = setting(0, "use at most this many pieces (0 = all)")

    def __post_init__(self):
        from cadenza.nn.orderless import OrderlessConfig

        super().__post_init__()
        check_data_options(self.valid_percent, self.max_pieces)
        longest = OrderlessConfig().block_size
        if not self.steps_per_beat <= self.window_steps <= longest:
            raise OptionError(
                f"--window-steps must be between --steps-per-beat ({self.steps_per_beat}) "
                f"and {longest}, not {self.window_steps}"
            )


# ---------------------------------------------------------------------------------------------
# training


def training_mask(rng: np.random.Generator, T: int, V: int) -> np.ndarray:
    """Which cells to hide, bool (T, V). A mix of the tasks the model serves: hide each cell with
    a random rate (orderless NADE), the same with the soprano always given (harmonization and
    its chain-rule evaluation), every voice but the soprano (harmonizing from scratch), and a
    block of steps x voices (infilling a region)."""
    kind = rng.random()
    if kind < 0.8:
        m = rng.random((T, V)) < rng.random()
        if kind >= 0.4:
            m[:, 0] = False
    elif kind < 0.9:
        m = np.zeros((T, V), dtype=bool)
        m[:, 1:] = True
    else:
        m = np.zeros((T, V), dtype=bool)
        a, b = sorted(rng.integers(0, T + 1, size=2))
        voices = rng.random(V) < 0.5
        m[a : b + 1, voices] = True
    if not m.any():
        m[rng.integers(T), rng.integers(V)] = True
    return m


class CellBatches:
    """Random training windows of whole beats from grids (T, V), transposed at random; each with
    its training mask. next() -> (input cells with MASK, target cells, mask) tensors."""

    def __init__(self, grids: list[np.ndarray], steps_per_beat: int, window_steps: int, transpose: int, seed: int):
        self.grids = [g for g in grids if len(g) >= steps_per_beat]
        if not self.grids:
            raise ValueError("no training grids")
        self.spb, self.window, self.transpose = steps_per_beat, window_steps, transpose
        lengths = np.array([len(g) for g in self.grids], dtype=np.float64)
        self.weights = lengths / lengths.sum()
        self.rng = np.random.default_rng(seed)

    def next(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        import torch

        picks = self.rng.choice(len(self.grids), size=batch_size, p=self.weights)
        length = min(self.window, min(len(self.grids[i]) for i in picks)) // self.spb * self.spb
        V = self.grids[0].shape[1]
        x = np.empty((batch_size, length, V), dtype=np.int64)
        y = np.empty((batch_size, length, V), dtype=np.int64)
        m = np.empty((batch_size, length, V), dtype=bool)
        for b, i in enumerate(picks):
            g = self.grids[i]
            start = int(self.rng.integers(0, (len(g) - length) // self.spb + 1)) * self.spb
            w = g[start : start + length]
            sounding = w[w > REST]
            lo = max(-self.transpose, 1 - int(sounding.min())) if len(sounding) else 0
            hi = min(self.transpose, N_CELL - 1 - int(sounding.max())) if len(sounding) else 0
            shift = int(self.rng.integers(lo, hi + 1))
            y[b] = np.where(w > REST, w + shift, REST)
            m[b] = training_mask(self.rng, length, V)
            x[b] = np.where(m[b], MASK, y[b])
        return torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(m)

    def state(self) -> dict:
        return dict(self.rng.bit_generator.state)

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


def masked_cells_loss(model: OrderlessModel, batch) -> torch.Tensor:
    """Mean NLL (nats) of the hidden cells, averaged per example, then over the batch."""
    from torch.nn import functional as F

    x, y, m = batch
    logits = model(x)
    nll = F.cross_entropy(logits.reshape(-1, N_CELL), y.reshape(-1), reduction="none").view(y.shape)
    per_example = (nll * m).sum(dim=(1, 2)) / m.sum(dim=(1, 2))
    return per_example.mean()


def masked_cells_loss_weight(batch) -> int:
    """How many terms masked_cells_loss averages over: the batch's examples (each weighs the same,
    however many cells it hides)."""
    return len(batch[0])


def validation_loss(model: OrderlessModel, grids: list[np.ndarray], seed: int = 1234, repeats: int = 2) -> float:
    """Mean NLL per hidden cell over fixed random masks of each whole validation grid
    (deterministic: the same masks at every evaluation)."""
    import torch
    from torch.nn import functional as F

    with torch.no_grad():
        was = model.training
        model.eval()
        device = next(model.parameters()).device
        rng = np.random.default_rng(seed)
        total = count = 0.0
        for g in grids:
            g = g[: model.config.block_size]  # a longer piece is scored on its beginning
            for _ in range(repeats):
                m = training_mask(rng, len(g), g.shape[1])
                x = torch.from_numpy(np.where(m, MASK, g)[None]).to(device)
                logits = model(x)[0]
                nll = F.cross_entropy(
                    logits[torch.from_numpy(m).to(device)], torch.from_numpy(g[m]).to(device), reduction="sum"
                )
                total += float(nll)
                count += int(m.sum())
        model.train(was)
        return total / max(count, 1)


# ---------------------------------------------------------------------------------------------
# exact likelihood under an ordering


def ordered_nll(model: OrderlessModel, grid: np.ndarray, order: list[tuple[int, int]], batch_size: int = 32) -> float:
    """-log p(the cells in `order` | every other cell), in nats, by the chain rule in that order:
    cell k is predicted with cells order[k:] hidden and everything else visible. Exact for this
    ordering (a properly normalized distribution over the hidden cells)."""
    import torch
    from torch.nn import functional as F

    with torch.no_grad():
        model.eval()
        hidden = np.zeros(grid.shape, dtype=bool)
        for t, v in order:
            hidden[t, v] = True
        total = 0.0
        for k0 in range(0, len(order), batch_size):
            ks = range(k0, min(k0 + batch_size, len(order)))
            x = np.empty((len(ks),) + grid.shape, dtype=np.int64)
            current = np.where(hidden, MASK, grid)
            for k in range(k0, ks.stop):  # row j hides order[k0 + j:]
                x[k - k0] = current
                t, v = order[k]
                current[t, v] = grid[t, v]
            logp = F.log_softmax(model(torch.from_numpy(x)), dim=-1)
            for j, k in enumerate(ks):
                t, v = order[k]
                total -= float(logp[j, t, v, grid[t, v]])
            for k in ks:
                t, v = order[k]
                hidden[t, v] = False
        return total


# ---------------------------------------------------------------------------------------------
# the family's interface (cadenza.families)


def build_network(meta: dict) -> OrderlessModel:
    from cadenza.nn.orderless import OrderlessConfig, OrderlessModel

    return OrderlessModel(OrderlessConfig(**meta["model"]))


def load_grids(cfg: Config) -> tuple[list, list, list[str]]:
    """(train grids, valid grids, skipped) for the run's data."""
    from cadenza.data.benchmarks import is_satb_file, load_satb

    if is_satb_file(cfg.data):
        if cfg.n_voices != 4 or cfg.steps_per_beat != 4:
            raise OptionError(f"{cfg.data} holds four voices at sixteenth notes: use --voices 4 --steps-per-beat 4")
        d = load_satb(cfg.data)
        return d["train"], d["valid"], []
    from cadenza.data import corpus

    data = corpus.load(cfg.data, limit=cfg.max_pieces or None)
    if cfg.exact_parts:
        data.pieces = corpus.with_exact_parts(data.pieces, cfg.n_voices)
    tok = CellsTokenizer(cfg.n_voices, cfg.steps_per_beat)
    skipped = list(data.skipped)
    splits = []
    for part in data.split(cfg.valid_percent):
        grids = []
        for p in part:
            try:
                grids.append(tok.encode(p.score))
            except TokenizeError as e:
                skipped.append(f"{p.id}: {e}")
        splits.append(grids)
    return splits[0], splits[1], skipped


def voice_ranges(grids: list[np.ndarray], n_voices: int) -> list[list[int]]:
    """Each voice's lowest and highest pitch in the training grids (before augmentation)."""
    out = []
    for v in range(n_voices):
        cells = np.concatenate([g[:, v] for g in grids])
        pitches = cells[cells > REST] - 1
        out.append([int(pitches.min()), int(pitches.max())] if len(pitches) else [0, N_CELL - 2])
    return out


def prepare(cfg: Config, record: dict | None, echo: Callable[[str], None]) -> Prepared:
    import torch

    from cadenza.nn.orderless import OrderlessConfig, OrderlessModel
    from cadenza.train.loop import pick_device

    train_g, valid_g, skipped = load_grids(cfg)
    check_enough(cfg.data, len(train_g), len(valid_g))
    torch.manual_seed(cfg.seed)
    model = OrderlessModel(
        OrderlessConfig(
            n_voices=cfg.n_voices,
            steps_per_beat=cfg.steps_per_beat,
            n_layer=cfg.n_layer,
            n_head=cfg.n_head,
            n_embd=cfg.n_embd,
            dropout=cfg.dropout,
        )
    )
    n_steps = sum(len(g) for g in train_g)
    meta = {
        "architecture": "orderless",
        "tokenizer": CellsTokenizer(cfg.n_voices, cfg.steps_per_beat).to_dict(),
        "train": asdict(cfg),
        "data_stats": {"voice_ranges": voice_ranges(train_g, cfg.n_voices)},
        "data_summary": {
            "train_pieces": len(train_g),
            "valid_pieces": len(valid_g),
            "train_steps": n_steps,
            "skipped": len(skipped),
        },
    }
    return Prepared(
        model.to(pick_device()),
        CellBatches(train_g, cfg.steps_per_beat, cfg.window_steps, cfg.transpose, cfg.seed),
        masked_cells_loss,
        lambda m: validation_loss(m, valid_g),
        meta,
        skipped,
        f"{len(train_g)} training and {len(valid_g)} validation pieces, {n_steps:,} training steps",
        loss_weight=masked_cells_loss_weight,
    )


def card(out, meta: dict) -> CardFacts:
    t, s = meta["train"], meta["data_summary"]
    return CardFacts(
        summary=f"An orderless (masked) {t['n_voices']}-voice model ({meta['params'] / 1e6:.2f}M parameters): a "
        f"bidirectional transformer that predicts any hidden cells of a grid of {t['steps_per_beat']} steps "
        "per quarter note from the visible ones, as Coconet does (Huang et al. 2017). It harmonizes melodies "
        "and fills regions (`cadenza harmonize`, `cadenza infill`), sampled by annealed blocked Gibbs steps.",
        data=f"`{t['data']}` — {s['train_pieces']} training pieces, {s['valid_pieces']} validation pieces, "
        f"{s['train_steps']:,} training steps; {s['skipped']} skipped; transposition augmentation "
        f"±{t['transpose']} semitones",
        valid_unit="nats per hidden cell (fixed random masks)",
        how_to_measure="(not yet measured: run benchmarks/harmonize_quality.py)",
    )


def use(directory, meta: dict, model):
    from cadenza.compose.harmonizer import Harmonizer

    return Harmonizer(directory, meta, model)


def describe(meta: dict) -> tuple[str, str, str]:
    tok = meta["tokenizer"]
    return (
        f"harmonize, infill ({tok['n_voices']} voices)",
        f"1/{4 * tok['steps_per_beat']} notes",
        f"{meta.get('valid_loss', float('nan')):.3f} per hidden cell",
    )
