"""The chords family: a network that reads a melody beat by beat and says which chord symbol goes
under each beat, as the lead sheets it learned from have them. Used by `cadenza chords`.

Each tune becomes one step per counted beat (cadenza.tokenize.chord_beats: the melody's pitch
classes above the tonic, the place in the bar and in the tune), labelled with the class of the
chord symbol in force (a root above the tonic times a kind). The network is the shared tagger
(cadenza.nn.tagger: bidirectional, rotary positions) over windows of consecutive beats: the
chord under a beat depends on the melody after it as much as before. Its per-beat
probabilities are joined into chord changes by the style's habits of change, counted from the
same training tunes (cadenza.compose.chord_paths), and model.json keeps those counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cadenza.errors import CadenzaError, OptionError
from cadenza.settings import setting
from cadenza.train.config import RunConfig, check_network_shape
from cadenza.train.run import CardFacts, Prepared

if TYPE_CHECKING:
    import torch

# a chord kind is a class of its own when this share of the training tunes' chords (and at least
# MIN_KIND_COUNT of them) have it; rarer kinds count as their triad's (cadenza.tokenize.chord_beats)
MIN_KIND_SHARE = 0.001
MIN_KIND_COUNT = 10


@dataclass
class Config(RunConfig):
    """A chords run: windows of consecutive beats of lead sheets' train split."""

    data: str = setting("", "lead sheets with chord symbols: a folder or file (ABC, MusicXML), or a corpus name")
    block_size: int = setting(256, "beats per window")
    n_layer: int = setting(3, "transformer layers", flag="layers")
    n_head: int = setting(4, "attention heads", flag="heads")
    n_embd: int = setting(96, "channels", flag="embd")
    minutes: float = setting(10.0, "training time budget (ignored with --steps)")
    eval_every: int = setting(200, "validate every this many steps (and at the end)")

    def __post_init__(self):
        super().__post_init__()
        check_network_shape(self.block_size, self.n_embd, self.n_head)


@dataclass(frozen=True)
class ChordNetConfig:
    n_features: int
    n_classes: int
    block_size: int = 256
    n_layer: int = 3
    n_head: int = 4
    n_embd: int = 96
    dropout: float = 0.1


def _network_class():
    from cadenza.nn.tagger import Tagger

    class ChordNet(Tagger):
        """Beat features (B, T, F) -> chord class logits (B, T, n_classes)."""

        architecture = "chords"

        def __init__(self, cfg: ChordNetConfig):
            super().__init__(cfg, cfg.n_classes)

    return ChordNet


def build_network(meta: dict):
    return _network_class()(ChordNetConfig(**meta["model"]))


# ---------------------------------------------------------------------------------------------
# data


def chord_kinds(pieces) -> tuple[str, ...]:
    """The kinds that are classes of their own (MIN_KIND_SHARE), most common first; major,
    minor and dominant always."""
    counts = Counter(c.kind for p in pieces for c in p.score.chords)
    total = sum(counts.values())
    common = [k for k, n in counts.most_common() if n >= max(MIN_KIND_COUNT, MIN_KIND_SHARE * total)]
    return tuple(dict.fromkeys(["major", "minor", "dominant", *common]))


def encode_all(tokenizer, pieces, skipped: list[str]) -> list:
    """The BeatSheet of each tune; a tune that cannot be read as a lead sheet is skipped."""
    sheets = []
    for p in pieces:
        try:
            sheets.append(tokenizer.encode(p.score))
        except CadenzaError as e:
            skipped.append(f"{p.id}: {e}")
    return sheets


def counted_places(sheet) -> np.ndarray:
    """A sheet's places for counting chord changes: -1 where the key changes."""
    places = sheet.places.copy()
    for t in range(1, len(places)):
        if sheet.keys[t] != sheet.keys[t - 1]:
            places[t] = -1
    return places


class BeatBatches:
    """Windows of `block` consecutive beats from random tunes (chosen by length); padded
    windows carry valid=False and class -1."""

    def __init__(self, sheets: list, block: int, seed: int):
        self.sheets = [s for s in sheets if len(s.classes)]
        lengths = np.array([len(s.classes) for s in self.sheets], dtype=np.float64)
        self.weights = lengths / lengths.sum()
        self.block = block
        self.rng = np.random.default_rng(seed)

    def next(self, batch_size: int):
        import torch

        n_features = self.sheets[0].features.shape[1]
        x = np.zeros((batch_size, self.block, n_features), dtype=np.float32)
        y = np.full((batch_size, self.block), -1, dtype=np.int64)
        valid = np.zeros((batch_size, self.block), dtype=bool)
        for b in range(batch_size):
            s = self.sheets[int(self.rng.choice(len(self.sheets), p=self.weights))]
            start = int(self.rng.integers(0, max(1, len(s.classes) - self.block + 1)))
            n = min(self.block, len(s.classes) - start)
            x[b, :n], y[b, :n], valid[b, :n] = s.features[start : start + n], s.classes[start : start + n], True
        return torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(valid)

    def state(self) -> dict:
        return dict(self.rng.bit_generator.state)

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


def loss(model, batch) -> torch.Tensor:
    """Cross-entropy of the chord class over the beats that have one."""
    from torch.nn import functional as F

    x, y, valid = batch
    logits = model(x, valid)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=-1)


def loss_weight(batch) -> int:
    return int((batch[1] >= 0).sum())


def _validation(sheets: list, block: int) -> Callable:
    def validate(model) -> float:
        import torch

        model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for s in sheets:
                for a in range(0, len(s.classes), block):
                    x = torch.from_numpy(np.ascontiguousarray(s.features[a : a + block]))[None]
                    y = torch.from_numpy(np.ascontiguousarray(s.classes[a : a + block]))[None]
                    batch = (x, y, torch.ones(y.shape, dtype=torch.bool))
                    weight = loss_weight(batch)
                    if weight:
                        total += float(loss(model, batch)) * weight
                        count += weight
        model.train()
        return total / max(count, 1)

    return validate


def prepare(cfg: Config, record: dict | None, echo: Callable[[str], None]) -> Prepared:
    import torch

    from cadenza.compose.chord_paths import ChordTransitions
    from cadenza.data.corpus import lead_sheets
    from cadenza.data.leadsheets import measured_on
    from cadenza.tokenize.chord_beats import N_FEATURES, ChordBeatsTokenizer
    from cadenza.train.loop import pick_device
    from cadenza.train.run import check_enough

    if not cfg.data:
        raise OptionError("--data is required: lead sheets with chord symbols (e.g. ../shared/data/nottingham-abc)")
    echo(f"reading {cfg.data} (parsed once, then cached)")
    splits, skipped = lead_sheets(cfg.data)
    if not measured_on(cfg.data):  # a user's own tunes: nothing is scored on a test split, so it trains
        splits = {"train": splits["train"] + splits["test"], "valid": splits["valid"], "test": []}
        if not splits["valid"] and len(splits["train"]) > 1:  # a few tunes: one is held out to validate on
            splits["valid"] = [splits["train"].pop()]
    check_enough(cfg.data, len(splits["train"]), len(splits["valid"]))
    tokenizer = ChordBeatsTokenizer(chord_kinds(splits["train"]))
    train = encode_all(tokenizer, splits["train"], skipped)
    valid = encode_all(tokenizer, splits["valid"], skipped)
    check_enough(cfg.data, len(train), len(valid))
    transitions = ChordTransitions.count([(s.classes, counted_places(s)) for s in train], tokenizer.vocab_size)
    torch.manual_seed(cfg.seed)
    net_cfg = ChordNetConfig(
        N_FEATURES, tokenizer.vocab_size, cfg.block_size, cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.dropout
    )
    model = _network_class()(net_cfg)
    meta = {
        "tokenizer": tokenizer.to_dict(),
        "transitions": transitions.to_dict(),
        "tunes": {s: len(splits[s]) for s in splits},
        "train": asdict(cfg),
    }
    return Prepared(
        model.to(pick_device()),
        BeatBatches(train, cfg.block_size, cfg.seed),
        loss,
        _validation(valid, cfg.block_size),
        meta,
        skipped,
        f"{len(train)} training and {len(valid)} validation lead sheets "
        f"({sum(len(s.classes) for s in train):,} training beats; chord kinds: {', '.join(tokenizer.kinds)})",
        loss_weight=loss_weight,
    )


def card(out: Path, meta: dict) -> CardFacts:
    from cadenza.data.corpus import TUNE_SPLIT_PERCENT as SPLIT_PERCENT
    from cadenza.data.leadsheets import license_of

    t, m = meta["train"], meta["model"]
    tunes = meta.get("tunes", {})
    license_text = license_of(t["data"])
    return CardFacts(
        summary="Chords for a melody: it reads a tune beat by beat and says which chord symbol goes under each beat, "
        f"as the lead sheets it learned from have them. A {m['n_layer']}-layer bidirectional transformer "
        f"({meta['params']:,} parameters, {m['n_embd']} channels, rotary positions) over windows of "
        f"{m['block_size']} beats, with {m['n_classes'] - 1} chord classes (12 roots above the tonic times the "
        f"kinds {', '.join(meta['tokenizer']['kinds'])}) and no chord; its per-beat probabilities are joined by "
        "the chord changes the training tunes make at each place in the bar (a hidden Markov model's Viterbi "
        "path; alternatives are sampled paths). Trained by `cadenza train --family chords`; used by "
        f"`cadenza chords`. License of the data: {license_text}.",
        data=f"`{t['data']}`: the tunes with chord symbols, split by tune (cadenza.data.corpus.tune_split, "
        f"{'/'.join(map(str, SPLIT_PERCENT))} train/valid/test): {tunes.get('train', '?')} train, "
        f"{tunes.get('valid', '?')} valid (chose the checkpoint), "
        + (
            f"{tunes.get('test', '?')} test (read only by benchmarks/leadsheet_quality.py)"
            if tunes.get("test")
            else "no test split (your own tunes: the test tunes were trained on, as nothing is measured on them)"
        )
        + f". License: {license_text}",
        settings=[
            f"- seed {t['seed']}; each step {t['batch_size']} windows of {m['block_size']} beats; AdamW lr {t['lr']}, "
            f"{t['warmup_steps']} warm-up steps, cosine decay; loss: cross-entropy of the chord class per beat"
        ],
        valid_unit="nats per beat",
        how_to_measure="(not yet measured: `python benchmarks/leadsheet_quality.py`)",
    )


def use(directory, meta: dict, model):
    from cadenza.compose.chorder import Chorder

    return Chorder(model, meta, Path(directory))


def describe(meta: dict) -> tuple[str, str, str]:
    return "chord symbols for a melody", "beats", f"{meta.get('valid_loss', float('nan')):.3f} nats/beat"
