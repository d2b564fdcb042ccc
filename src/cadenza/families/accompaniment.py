"""The accompaniment family: a network that reads a song's melody and chord symbols on a
sixteenth-note grid and says, step by step and pitch by pitch, where the accompaniment strikes
and holds notes, as the arrangements it learned from do. `cadenza arrange --style pop` plays
its piano part.

Each song becomes a grid (cadenza.tokenize.accompaniment: features of the melody, the chord in
force and the place in the bar; targets silent, onset or held per pitch, all relative to the
key's tonic). The network is the shared tagger (cadenza.nn.tagger: bidirectional, rotary
positions) over windows of consecutive steps, with three outputs per pitch; the accompaniment a
model writes is drawn from its probabilities (cadenza.compose.accompanist).

Data: POP909 (`../shared/data/pop909`, read by cadenza.data.pop909: the MELODY track is the
melody, the PIANO track the accompaniment), or a folder of your own songs: MIDI or MusicXML
with chord symbols and at least two pitched parts (the one named "melody", else the first, is
the melody; those named "piano", else all the others, the accompaniment). Songs are split by
id as lead sheets are (cadenza.data.corpus.tune_split).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cadenza.errors import CadenzaError, OptionError
from cadenza.score import PIANO_HANDS
from cadenza.settings import setting
from cadenza.train.config import RunConfig, check_network_shape
from cadenza.train.run import CardFacts, Prepared

if TYPE_CHECKING:
    import torch

    from cadenza.score import Part, Score


@dataclass
class Config(RunConfig):
    """An accompaniment run: windows of consecutive sixteenth-note steps of the train split."""

    data: str = setting("", "songs: a melody, chord symbols, an accompaniment (../shared/data/pop909, or a folder)")
    block_size: int = setting(256, "steps (sixteenth notes) per window")
    n_layer: int = setting(4, "transformer layers", flag="layers")
    n_head: int = setting(4, "attention heads", flag="heads")
    n_embd: int = setting(128, "channels", flag="embd")
    minutes: float = setting(15.0, "training time budget (ignored with --steps)")
    eval_every: int = setting(200, "validate every this many steps (and at the end)")

    def __post_init__(self):
        super().__post_init__()
        check_network_shape(self.block_size, self.n_embd, self.n_head)


@dataclass(frozen=True)
class AccompanimentNetConfig:
    n_features: int
    n_pitches: int
    block_size: int = 256
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.1


def _network_class():
    from cadenza.nn.tagger import Tagger

    class AccompanimentNet(Tagger):
        """Step features (B, T, F) -> logits (B, T, n_pitches * 3): silent, onset, held per pitch."""

        architecture = "accompaniment"

        def __init__(self, cfg: AccompanimentNetConfig):
            super().__init__(cfg, cfg.n_pitches * 3)

    return AccompanimentNet


def build_network(meta: dict):
    return _network_class()(AccompanimentNetConfig(**meta["model"]))


# ---------------------------------------------------------------------------------------------
# data


def roles(score: Score) -> tuple[Part, list[Part]]:
    """(the melody, the accompaniment) of a song: the part named "melody" (else the first pitched
    one), and the parts named "piano" or as a piano's hands (PIANO_HANDS: a MusicXML piano's two
    staves, as cadenza reads them), else every other pitched part but a "bridge", a second
    melody. Raises CadenzaError when there is no accompaniment."""
    from cadenza.errors import MusicError
    from cadenza.tokenize.accompaniment import melody_of

    pitched = score.pitched_parts
    melody = melody_of(pitched)
    if melody is None:
        raise MusicError("no pitched part")
    piano = [p for p in pitched if (p.name.lower() == "piano" or p.name in PIANO_HANDS) and p is not melody]
    others = piano or [p for p in pitched if p is not melody and p.name.lower() != "bridge"]
    if not others:
        raise MusicError("no accompaniment: one pitched part only (a lead sheet, not an arrangement)")
    return melody, others


def is_pop909(source: str) -> bool:
    root = Path(source).expanduser()
    return root.is_dir() and any((d / "chord_midi.txt").exists() for d in root.iterdir() if d.is_dir())


def songs(source: str, progress: Callable[[int, int], None] | None = None) -> tuple[dict[str, list], list[str]]:
    """({split: songs}, skipped lines): POP909's songs, or a folder's pieces with chord symbols."""
    from cadenza.data.corpus import TUNE_SPLITS, load, tune_split

    if is_pop909(source):
        from cadenza.data.pop909 import pop_songs

        return pop_songs(Path(source).expanduser(), progress)
    data = load(source, progress=progress)
    splits: dict[str, list] = {s: [] for s in TUNE_SPLITS}
    skipped = list(data.skipped)
    for piece in data.pieces:
        if not piece.score.chords:
            skipped.append(f"{piece.id}: no chord symbols")
        else:
            splits[tune_split(piece.id)].append(piece)
    return splits, skipped


def encode_all(pieces, skipped: list[str]) -> list:
    from cadenza.tokenize.accompaniment import encode

    grids = []
    for p in pieces:
        try:
            melody, accompaniment = roles(p.score)
            grids.append(encode(p.score, melody, accompaniment))
        except CadenzaError as e:
            skipped.append(f"{p.id}: {e}")
    return grids


class StepBatches:
    """Windows of `block` consecutive steps from random songs (chosen by length); padded steps
    carry valid=False and targets -1."""

    def __init__(self, grids: list, block: int, seed: int):
        self.grids = [g for g in grids if len(g.targets)]
        lengths = np.array([len(g.targets) for g in self.grids], dtype=np.float64)
        self.weights = lengths / lengths.sum()
        self.block = block
        self.rng = np.random.default_rng(seed)

    def next(self, batch_size: int):
        import torch

        from cadenza.tokenize.accompaniment import N_FEATURES, N_PITCHES

        x = np.zeros((batch_size, self.block, N_FEATURES), dtype=np.float32)
        y = np.full((batch_size, self.block, N_PITCHES), -1, dtype=np.int64)
        valid = np.zeros((batch_size, self.block), dtype=bool)
        for b in range(batch_size):
            g = self.grids[int(self.rng.choice(len(self.grids), p=self.weights))]
            start = int(self.rng.integers(0, max(1, len(g.targets) - self.block + 1)))
            n = min(self.block, len(g.targets) - start)
            x[b, :n], y[b, :n], valid[b, :n] = g.features[start : start + n], g.targets[start : start + n], True
        return torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(valid)

    def state(self) -> dict:
        return dict(self.rng.bit_generator.state)

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


def loss(model, batch) -> torch.Tensor:
    """Cross-entropy of each pitch's state (silent, onset, held) over the steps of the songs."""
    from torch.nn import functional as F

    x, y, valid = batch
    logits = model(x, valid)
    return F.cross_entropy(logits.reshape(-1, 3), y.reshape(-1), ignore_index=-1)


def loss_weight(batch) -> int:
    return int((batch[1] >= 0).sum())


def _validation(grids: list, block: int) -> Callable:
    def validate(model) -> float:
        import torch

        model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for g in grids:
                for a in range(0, len(g.targets), block):
                    x = torch.from_numpy(np.ascontiguousarray(g.features[a : a + block]))[None]
                    y = torch.from_numpy(np.ascontiguousarray(g.targets[a : a + block]).astype(np.int64))[None]
                    batch = (x, y, torch.ones(y.shape[:2], dtype=torch.bool))
                    weight = loss_weight(batch)
                    total += float(loss(model, batch)) * weight
                    count += weight
        model.train()
        return total / max(count, 1)

    return validate


def prepare(cfg: Config, record: dict | None, echo: Callable[[str], None]) -> Prepared:
    import torch

    from cadenza.tokenize.accompaniment import N_FEATURES, N_PITCHES, AccompanimentTokenizer
    from cadenza.train.loop import pick_device
    from cadenza.train.run import check_enough

    if not cfg.data:
        raise OptionError("--data is required: songs with an accompaniment (e.g. ../shared/data/pop909)")
    echo(f"reading {cfg.data} (parsed once, then cached)")
    splits, skipped = songs(cfg.data)
    if not is_pop909(cfg.data):  # a user's own songs: nothing is scored on a test split, so it trains
        splits = {"train": splits["train"] + splits["test"], "valid": splits["valid"], "test": []}
        if not splits["valid"] and len(splits["train"]) > 1:  # a few songs: one is held out to validate on
            splits["valid"] = [splits["train"].pop()]
    train = encode_all(splits["train"], skipped)
    valid = encode_all(splits["valid"], skipped)
    check_enough(cfg.data, len(train), len(valid))
    torch.manual_seed(cfg.seed)
    net_cfg = AccompanimentNetConfig(
        N_FEATURES, N_PITCHES, cfg.block_size, cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.dropout
    )
    model = _network_class()(net_cfg)
    meta = {
        "tokenizer": AccompanimentTokenizer().to_dict(),
        "songs": {s: len(splits[s]) for s in splits},
        "train": asdict(cfg),
    }
    steps = sum(len(g.targets) for g in train)
    return Prepared(
        model.to(pick_device()),
        StepBatches(train, cfg.block_size, cfg.seed),
        loss,
        _validation(valid, cfg.block_size),
        meta,
        skipped,
        f"{len(train)} training and {len(valid)} validation songs ({steps:,} training steps of a sixteenth)",
        loss_weight=loss_weight,
    )


def card(out: Path, meta: dict) -> CardFacts:
    t, m = meta["train"], meta["model"]
    songs_ = meta.get("songs", {})
    license_text = "the user's own data (its license is theirs to state)"
    if is_pop909(t["data"]):
        from cadenza.data.pop909 import LICENSE

        license_text = LICENSE
    return CardFacts(
        summary="An accompaniment for a melody with chord symbols: it reads the song on a sixteenth-note grid and "
        "says, step by step and pitch by pitch, where the accompaniment strikes and holds notes, as the "
        f"arrangements it learned from do. A {m['n_layer']}-layer bidirectional transformer ({meta['params']:,} "
        f"parameters, {m['n_embd']} channels, rotary positions) over windows of {m['block_size']} sixteenths, "
        f"with silent, onset and held for each of {m['n_pitches']} pitches relative to the key. Trained by "
        "`cadenza train --family accompaniment`; used by `cadenza arrange --style pop`. "
        f"License of the data: {license_text}.",
        data=f"`{t['data']}`: songs split by id (cadenza.data.corpus.tune_split): {songs_.get('train', '?')} "
        f"train, {songs_.get('valid', '?')} valid (chose the checkpoint), "
        + (
            f"{songs_.get('test', '?')} test (read only by benchmarks/accompaniment_quality.py)"
            if songs_.get("test")
            else "no test split (your own songs: all but the valid ones were trained on)"
        )
        + f". License: {license_text}",
        settings=[
            f"- seed {t['seed']}; each step {t['batch_size']} windows of {m['block_size']} sixteenths; AdamW lr "
            f"{t['lr']}, {t['warmup_steps']} warm-up steps, cosine decay; loss: cross-entropy of each pitch's state "
            "(silent, onset, held) per step"
        ],
        valid_unit="nats per pitch and step",
        how_to_measure="(not yet measured: `python benchmarks/accompaniment_quality.py`)",
    )


def use(directory, meta: dict, model):
    from cadenza.compose.accompanist import Accompanist

    return Accompanist(model, meta, Path(directory))


def describe(meta: dict) -> tuple[str, str, str]:
    return (
        "an accompaniment for a melody with chords",
        "sixteenths",
        f"{meta.get('valid_loss', float('nan')):.4f} nats/cell",
    )
