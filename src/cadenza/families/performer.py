"""The performer family: a network that reads a score's notes and says how a pianist plays each.

Trained on ASAP (cadenza.data.asap): score MIDIs aligned beat by beat and note by note with
human performances. For each score note (cadenza.perform.features: pitch, length, place in
bar, marked dynamics and tempo, chord and melody, place in the piece) it predicts:

- log_beat_factor: how much longer the note's beat is than the score's tempo marks say, less
  the performance's median (a pianist's overall tempo is theirs; the curve is the music's);
- velocity: the note's velocity against the performance's mean, in units of 20;
- shift: its onset against the beat's time, in tenths of a second;
- log_articulation: log of its sounding length over its written length (as played);
- pedal: whether the sustain pedal is down as it sounds (a logit).

The network is the shared tagger (cadenza.nn.tagger: the transformer's blocks, bidirectional
with rotary positions) over windows of consecutive notes: a player looks ahead as well as back.
Each window's unmatched notes and unannotated beats are masked out of the loss.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cadenza.data.asap import parse_fold
from cadenza.errors import CadenzaError, OptionError
from cadenza.perform.learned import SHIFT_UNIT, TARGETS, VELOCITY_UNIT
from cadenza.settings import setting
from cadenza.train.config import RunConfig, check_network_shape
from cadenza.train.run import CardFacts, Prepared

if TYPE_CHECKING:
    import torch

# A performance whose notes are mostly not found in it is a misaligned one (Chopin's op. 25/5
# score MIDI stacks its last bars 26 times over): it would teach noise
MIN_MATCH_RATE = 0.6
PEDAL_PROBE = 0.25  # the pedal target is the pedal's state this many quarter notes after a note is struck
LICENSE = (
    "CC BY-NC-SA 4.0 (ASAP, Foscarin et al. 2020; its performances come from MAESTRO): non-commercial use only, "
    "and this model inherits those terms"
)


@dataclass
class Config(RunConfig):
    """A performer run: windows of consecutive score notes of ASAP's train split."""

    data: str = setting("", "the ASAP folder (with metadata.csv), e.g. ../shared/data/asap")
    block_size: int = setting(256, "notes per window")
    n_layer: int = setting(3, "transformer layers", flag="layers")
    n_head: int = setting(4, "attention heads", flag="heads")
    n_embd: int = setting(96, "channels", flag="embd")
    minutes: float = setting(25.0, "training time budget (ignored with --steps)")
    dropout: float = setting(0.2, "dropout (at 0.1 the validation loss stopped improving after 3,400 steps)")
    eval_every: int = setting(200, "validate every this many steps (and at the end)")
    transpose: int = setting(3, "augment by moving the pitch feature up to this many semitones")
    max_performances: int = setting(0, "use at most this many performances of each split (0: all)")
    fold: str = setting(
        "", "cross-validation: K/N holds out the K-th of N slices of the pieces (benchmarks/perform_quality.py --folds)"
    )
    tempo_per_beat: bool = setting(
        True,
        "count each beat once in the tempo loss, as perform_quality's curves do (--no-tempo-per-beat: each note once,"
        " so a busy beat weighs more than a held one)",
    )

    def __post_init__(self):
        super().__post_init__()
        check_network_shape(self.block_size, self.n_embd, self.n_head)
        if self.max_performances < 0:
            raise OptionError(f"--max-performances must be 0 (all) or more, not {self.max_performances}")
        parse_fold(self.fold)


# ---------------------------------------------------------------------------------------------
# the network


@dataclass(frozen=True)
class PerformerConfig:
    n_features: int
    block_size: int = 256
    n_layer: int = 3
    n_head: int = 4
    n_embd: int = 96
    dropout: float = 0.1


def _network_class():
    from cadenza.nn.tagger import Tagger

    class PerformerNet(Tagger):
        """Note features (B, T, F) -> predictions (B, T, len(TARGETS)), every note seeing the
        whole window."""

        architecture = "performer"

        def __init__(self, cfg: PerformerConfig):
            super().__init__(cfg, len(TARGETS))

    return PerformerNet


def build_network(meta: dict):
    return _network_class()(PerformerConfig(**meta["model"]))


# ---------------------------------------------------------------------------------------------
# examples: one per aligned performance


@dataclass
class Example:
    features: np.ndarray  # (notes, F) float32
    targets: np.ndarray  # (notes, len(TARGETS)) float32
    known: np.ndarray  # (notes, len(TARGETS)) bool: which targets the alignment gives
    beat_share: np.ndarray  # (notes,) float32: 1 / the notes whose tempo target is their beat's (0: unknown)


def example_of(aligned) -> Example:
    """The features and targets of one aligned performance (cadenza.data.asap.Aligned)."""
    from cadenza.perform.features import note_features
    from cadenza.perform.performance import beat_index, marked_seconds, notes_in_order

    score = aligned.score
    notes = [n for _, n in notes_in_order(score)]
    features = note_features(score)
    targets = np.zeros((len(notes), len(TARGETS)), dtype=np.float32)
    known = np.zeros((len(notes), len(TARGETS)), dtype=bool)
    beats, seconds = np.asarray(aligned.beats, dtype=np.float64), np.asarray(aligned.seconds, dtype=np.float64)
    share = np.zeros(len(notes), dtype=np.float32)
    if len(notes) == 0 or len(beats) < 3:
        return Example(features, targets, known, share)
    start = np.array([n.start_beats for n in notes])
    end = np.array([n.end_beats for n in notes])
    inside = (start >= beats[0]) & (start < beats[-1])
    # the beat factor: each annotated beat's played length over its marked length
    marked = np.diff(marked_seconds(score, beats))
    played = np.diff(seconds)
    ok = (marked > 1e-4) & (played > 1e-4)
    log_factor = np.where(ok, np.log(np.maximum(played, 1e-4) / np.maximum(marked, 1e-4)), np.nan)
    log_factor = np.clip(log_factor - np.nanmedian(log_factor), -1.5, 1.5)
    beat_of = beat_index(beats, start)
    targets[:, 0] = np.nan_to_num(log_factor[beat_of])
    known[:, 0] = inside & np.isfinite(log_factor[beat_of])
    timed = beat_of[known[:, 0]]  # the beat of each note whose tempo target is known
    share[known[:, 0]] = 1.0 / np.bincount(timed, minlength=len(beats))[timed]
    # each matched note: velocity, onset against the beat, articulation
    velocity = np.asarray(aligned.velocity, dtype=np.float64)
    onset = np.asarray(aligned.onset_seconds, dtype=np.float64)
    offset = np.asarray(aligned.offset_seconds, dtype=np.float64)
    matched = np.isfinite(velocity) & np.isfinite(onset) & np.isfinite(offset)
    on_map = np.interp(start, beats, seconds)
    end_map = np.interp(end, beats, seconds)
    if matched.any():
        targets[:, 1] = np.nan_to_num((velocity - np.nanmean(velocity[matched])) / VELOCITY_UNIT)
        targets[:, 2] = np.nan_to_num(np.clip(onset - on_map, -0.2, 0.2) / SHIFT_UNIT)
        ratio = (offset - onset) / np.maximum(end_map - on_map, 1e-3)
        targets[:, 3] = np.nan_to_num(np.clip(np.log(np.maximum(ratio, 1e-3)), -3.0, 1.5))
    for k in (1, 2, 3):
        known[:, k] = matched & inside
    # the pedal: down while the note sounds, a quarter of a quarter note after it is struck (a
    # legato pedal comes up at a change of harmony and goes down again just after the new notes)
    quarter = np.maximum(np.interp(start + 1.0, beats, seconds) - on_map, 0.0)
    probe = np.where(np.isfinite(onset), onset, on_map) + PEDAL_PROBE * quarter
    down = np.zeros(len(notes), dtype=bool)
    for a, b in aligned.pedal:
        down |= (probe >= a) & (probe < b)
    targets[:, 4] = down
    known[:, 4] = inside
    return Example(features, targets, known, share)


class NoteBatches:
    """Windows of `block` consecutive notes from random performances (chosen by length), each
    moved by a random transposition of its pitch feature; padded windows carry valid=False."""

    def __init__(self, examples: list[Example], block: int, transpose: int, seed: int):
        self.examples = [e for e in examples if len(e.features)]
        lengths = np.array([len(e.features) for e in self.examples], dtype=np.float64)
        self.weights = lengths / lengths.sum()
        self.block, self.transpose = block, transpose
        self.rng = np.random.default_rng(seed)

    def next(self, batch_size: int):
        import torch

        from cadenza.perform.features import NAMES

        n_features = self.examples[0].features.shape[1]
        x = np.zeros((batch_size, self.block, n_features), dtype=np.float32)
        y = np.zeros((batch_size, self.block, len(TARGETS)), dtype=np.float32)
        k = np.zeros((batch_size, self.block, len(TARGETS)), dtype=bool)
        valid = np.zeros((batch_size, self.block), dtype=bool)
        share = np.zeros((batch_size, self.block), dtype=np.float32)
        pitch = NAMES.index("pitch")
        for b in range(batch_size):
            e = self.examples[int(self.rng.choice(len(self.examples), p=self.weights))]
            start = int(self.rng.integers(0, max(1, len(e.features) - self.block + 1)))
            n = min(self.block, len(e.features) - start)
            x[b, :n] = e.features[start : start + n]
            x[b, :n, pitch] += self.rng.integers(-self.transpose, self.transpose + 1) / 24
            y[b, :n], k[b, :n], valid[b, :n] = e.targets[start : start + n], e.known[start : start + n], True
            share[b, :n] = e.beat_share[start : start + n]
        return tuple(torch.from_numpy(a) for a in (x, y, k, valid, share))

    def state(self) -> dict:
        return dict(self.rng.bit_generator.state)

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


def loss(model, batch, tempo_per_beat: bool = False) -> torch.Tensor:
    """Mean squared error of the four regressions and the pedal's cross-entropy, each over the
    targets the alignment knows, summed. With `tempo_per_beat` the tempo's squared errors are
    weighed by each note's beat_share, so that each beat counts once, as the beat-by-beat tempo
    curves that benchmarks/perform_quality.py compares do: a beat of sixteen notes no longer
    outweighs the held chord at a phrase's end sixteen times."""
    import torch
    from torch.nn import functional as F

    x, y, known, valid, share = batch
    pred = model(x, valid)
    total = torch.zeros((), device=x.device)
    for t in range(len(TARGETS)):
        m = known[..., t] & valid
        if not m.any():
            continue
        if TARGETS[t] == "log_beat_factor" and tempo_per_beat:
            w = share[m]
            total = total + (w * (pred[..., t][m] - y[..., t][m]) ** 2).sum() / w.sum()
        elif TARGETS[t] == "pedal":
            total = total + F.binary_cross_entropy_with_logits(pred[..., t][m], y[..., t][m])
        else:
            total = total + F.mse_loss(pred[..., t][m], y[..., t][m])
    return total


def loss_weight(batch) -> int:
    return int(batch[3].sum())


def _validation(examples: list[Example], block: int, tempo_per_beat: bool) -> Callable:
    def validate(model) -> float:
        import torch

        model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for e in examples:
                for s in range(0, len(e.features), block):
                    sl = slice(s, s + block)
                    batch = tuple(
                        torch.from_numpy(np.ascontiguousarray(a[sl]))[None]
                        for a in (e.features, e.targets, e.known, np.ones(len(e.features), dtype=bool), e.beat_share)
                    )
                    total += float(loss(model, batch, tempo_per_beat)) * int(batch[3].sum())
                    count += int(batch[3].sum())
        model.train()
        return total / max(count, 1)

    return validate


def prepare(cfg: Config, record: dict | None, echo: Callable[[str], None]) -> Prepared:
    import torch

    from cadenza.data.asap import aligned, performances, split_of
    from cadenza.perform.features import N_FEATURES
    from cadenza.train.loop import pick_device
    from cadenza.train.run import check_enough

    root = Path(cfg.data).expanduser()
    if not (root / "metadata.csv").exists():
        raise OptionError(f"{cfg.data}: not an ASAP folder (no metadata.csv); e.g. --data ../shared/data/asap")
    found = performances(root)
    splits: dict[str, list[Example]] = {"train": [], "valid": []}
    skipped: list[str] = []
    fold = parse_fold(cfg.fold)
    chosen = {s: [p for p in found if split_of(p.folder, fold) == s] for s in splits}
    if cfg.max_performances:
        chosen = {s: ps[: cfg.max_performances] for s, ps in chosen.items()}
    total = sum(len(ps) for ps in chosen.values())
    done = 0
    for s, ps in chosen.items():
        for p in ps:
            try:
                a = aligned(p)
            except CadenzaError as e:  # one unusable performance is skipped and reported, not fatal
                skipped.append(str(e).splitlines()[0])
            else:
                if a.match_rate < MIN_MATCH_RATE:
                    skipped.append(f"{p.performance_midi}: only {a.match_rate:.0%} of the score's notes found")
                else:
                    splits[s].append(example_of(a))
            done += 1
            if done % 100 == 0:
                echo(f"aligned {done} of {total} performances")
    check_enough(cfg.data, len(splits["train"]), len(splits["valid"]))
    torch.manual_seed(cfg.seed)
    net_cfg = PerformerConfig(N_FEATURES, cfg.block_size, cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.dropout)
    model = _network_class()(net_cfg)
    meta = {"tokenizer": {"kind": "performance"}, "targets": list(TARGETS), "train": asdict(cfg)}
    return Prepared(
        model.to(pick_device()),
        NoteBatches(splits["train"], cfg.block_size, cfg.transpose, cfg.seed),
        functools.partial(loss, tempo_per_beat=cfg.tempo_per_beat),
        _validation(splits["valid"], cfg.block_size, cfg.tempo_per_beat),
        meta,
        skipped,
        f"{len(splits['train'])} training and {len(splits['valid'])} validation performances of ASAP "
        f"({sum(len(e.features) for e in splits['train']):,} training notes)",
        loss_weight=loss_weight,
    )


def card(out: Path, meta: dict) -> CardFacts:
    t, m = meta["train"], meta["model"]
    split = f", cross-validation fold {t['fold']} (cadenza.data.asap.split_of)" if t.get("fold") else ""
    return CardFacts(
        summary="A learned performer: it reads a score's notes and says how a pianist would play each (the beat's "
        "tempo against the marked one, velocity, timing against the beat, articulation, sustain pedal). A "
        f"{m['n_layer']}-layer bidirectional transformer ({meta['params']:,} parameters, {m['n_embd']} channels, "
        f"rotary positions) over windows of {m['block_size']} notes, trained by `cadenza train --family performer` "
        "on the train split of ASAP's aligned scores and human performances (cadenza.data.asap splits by piece: "
        "every performance of a piece is in one split). Used by `cadenza perform --performer learned` and "
        f"`--performer learned` on every generating command. License of the data: {LICENSE}.",
        data=f"`{t['data']}`: the train split of ASAP{split} (score MIDIs and Disklavier performances from MAESTRO, "
        f"aligned by their beat annotations); the valid split chose the checkpoint; the test split was read only "
        f"by benchmarks/perform_quality.py. License: {LICENSE}",
        settings=[
            f"- seed {t['seed']}; each step {t['batch_size']} windows of {m['block_size']} notes; AdamW lr {t['lr']}, "
            f"{t['warmup_steps']} warm-up steps, cosine decay; pitch feature moved by up to ±{t['transpose']} "
            "semitones; loss: mean squared error of the four regressions plus the pedal's cross-entropy"
            + (
                ", the tempo's counted once per beat (the default)"
                if t.get("tempo_per_beat")
                else ", the tempo's counted once per note (--no-tempo-per-beat)"
            )
        ],
        valid_unit="(summed loss over the five targets" + (", tempo by beat)" if t.get("tempo_per_beat") else ")"),
        how_to_measure="(not yet measured: `python benchmarks/perform_quality.py`)",
    )


def use(directory, meta: dict, model):
    from cadenza.perform.learned import LearnedPerformer

    return LearnedPerformer(model, meta, Path(directory))


def describe(meta: dict) -> tuple[str, str, str]:
    return "performances", "notes", f"{meta.get('valid_loss', float('nan')):.3f}"
