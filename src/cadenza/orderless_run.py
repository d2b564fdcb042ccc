"""An orderless (harmonizer) model's training run: load grids, train, write the card.

`cadenza train --orderless` calls this. Data: the SATB sixteenth-note split Coconet used
(../shared/benchmarks/jsb16th_satb.json.gz: its own train and valid parts), or any corpus or
folder that the voices tokenizer reads (split by a hash of each piece's id).
"""
from __future__ import annotations

import gzip
import json
import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from cadenza.errors import InputError, OptionError
from cadenza.files import atomic_write
from cadenza.orderless import N_CELL, REST, GridBatches, OrderlessConfig, OrderlessModel, masked_cells_loss, validation_loss
from cadenza.train import RunConfig, TrainState, fit, pick_device


@dataclass
class OrderlessRunConfig(RunConfig):
    n_embd: int = 128
    dropout: float = 0.1
    window_steps: int = 256  # training windows, in grid steps
    n_voices: int = 4
    steps_per_beat: int = 4
    valid_percent: int = 10
    exact_parts: bool = False
    max_pieces: int = 0

    def __post_init__(self):
        super().__post_init__()
        longest = OrderlessConfig().block_size
        if not self.steps_per_beat <= self.window_steps <= longest:
            raise OptionError(f"--window-steps must be between --steps-per-beat ({self.steps_per_beat}) "
                              f"and {longest}, not {self.window_steps}")


def is_satb_file(data: str) -> bool:
    return data.endswith(".json.gz") and Path(data).is_file()


def load_satb(path: str | Path) -> dict[str, list[np.ndarray]]:
    """jsb16th_satb.json.gz -> {split: [grid (T, 4) of cells]}; null (a resting voice) -> rest."""
    path = Path(path)
    try:
        data = json.loads(gzip.decompress(path.read_bytes()))
        return {s: [np.array([[REST if p is None else 1 + int(p) for p in step] for step in piece], dtype=np.int64)
                    for piece in data[s]] for s in ("train", "valid", "test")}
    except (OSError, EOFError, ValueError, KeyError, TypeError) as e:
        raise InputError(path, f"not a four-voice grid file like jsb16th_satb.json.gz ({type(e).__name__})") from None


def grid_cells(score, tok) -> np.ndarray:
    """A Score -> grid (T, V) of cells through the voices tokenizer's voice assignment."""
    from cadenza.tokenize.voices import HOLD, PITCH0

    rows = tok.grid(score)
    out = np.zeros((len(rows), tok.config.n_voices), dtype=np.int64)
    for s, row in enumerate(rows):
        for v, t in enumerate(row):
            out[s, v] = (1 + t - PITCH0) if t >= PITCH0 else (out[s - 1, v] if t == HOLD and s else REST)
    return out


def load_grids(cfg: OrderlessRunConfig, echo: Callable[[str], None]) -> tuple[list, list, list[str]]:
    """(train grids, valid grids, skipped) for the run's data."""
    if is_satb_file(cfg.data):
        if cfg.n_voices != 4 or cfg.steps_per_beat != 4:
            raise OptionError(f"{cfg.data} holds four voices at sixteenth notes: use --voices 4 --steps-per-beat 4")
        d = load_satb(cfg.data)
        return d["train"], d["valid"], []
    from cadenza import corpus
    from cadenza.tokenize.voices import TokenizeError, VoicesConfig, VoicesTokenizer
    from cadenza.training_run import with_exact_parts

    data = corpus.load(cfg.data, limit=cfg.max_pieces or None)
    if cfg.exact_parts:
        data.pieces = with_exact_parts(data.pieces, cfg.n_voices)
    tok = VoicesTokenizer(VoicesConfig(n_voices=cfg.n_voices, steps_per_beat=cfg.steps_per_beat))
    skipped = list(data.skipped)
    splits = []
    for part in data.split(cfg.valid_percent):
        grids = []
        for p in part:
            try:
                grids.append(grid_cells(p.score, tok))
            except TokenizeError as e:
                skipped.append(f"{p.id}: {e}")
        splits.append(grids)
    return splits[0], splits[1], skipped


def run(cfg_kw: dict, out: Path, resume: bool, force: bool, quiet: bool, command: str,
        progress_factory: Callable, echo: Callable[[str], None]) -> TrainState:
    from cadenza.training_run import clear_previous_run, report_skipped, start_or_resume

    record, command = start_or_resume(out, resume, force, command)
    if record and record.get("architecture") != "orderless":
        raise OptionError(f"{out} holds a causal model's run; resume it without --orderless")
    cfg = OrderlessRunConfig(**(record["train"] if record else cfg_kw))
    train_g, valid_g, skipped = load_grids(cfg, echo)
    report_skipped(skipped, out, echo)
    if not train_g or not valid_g:
        raise OptionError(f"{cfg.data}: not enough usable pieces to train and validate "
                          f"({len(train_g)} train, {len(valid_g)} valid)")
    ranges = voice_ranges(train_g, cfg.n_voices)
    echo(f"{len(train_g)} training and {len(valid_g)} validation pieces, "
         f"{sum(len(g) for g in train_g):,} training steps; {len(skipped)} skipped; device {pick_device()}")
    torch.manual_seed(cfg.seed)
    mcfg = OrderlessConfig(n_voices=cfg.n_voices, steps_per_beat=cfg.steps_per_beat, n_layer=cfg.n_layer,
                           n_head=cfg.n_head, n_embd=cfg.n_embd, dropout=cfg.dropout)
    model = OrderlessModel(mcfg).to(pick_device())
    batches = GridBatches(train_g, cfg.steps_per_beat, cfg.window_steps, cfg.transpose, cfg.seed)
    meta = {"architecture": "orderless", "tokenizer": {"kind": "cells", "n_voices": cfg.n_voices, "steps_per_beat": cfg.steps_per_beat},
            "train": asdict(cfg), "command": command,
            "data_stats": {"voice_ranges": ranges},
            "data_summary": {"train_pieces": len(train_g), "valid_pieces": len(valid_g),
                             "train_steps": sum(len(g) for g in train_g), "skipped": len(skipped)}}
    clear_previous_run(out, resume)
    with progress_factory(quiet) as bar:
        task = bar.add_task("training", total=cfg.steps or None, info="")

        def on_step(state: TrainState, loss: float, lr: float):
            best = f" best valid {state.best_valid:.3f}" if state.history else ""
            bar.update(task, completed=state.step, total=state.total_steps or None, info=f"loss {loss:.3f}{best}")
            if not quiet and not bar.console.is_terminal and state.step % 100 == 0:
                echo(f"step {state.step}/{state.total_steps} loss {loss:.3f}{best} lr {lr:.2e}")

        state = fit(model, cfg, batches, lambda m: validation_loss(m, valid_g), out, meta, resume, on_step,
                    loss_fn=masked_cells_loss)
    write_card(out)
    echo(f"done: {state.step} steps, best validation loss {state.best_valid:.4f} nats per hidden cell")
    return state


def voice_ranges(grids: list[np.ndarray], n_voices: int) -> list[list[int]]:
    """Each voice's lowest and highest pitch in the training grids (before augmentation)."""
    out = []
    for v in range(n_voices):
        cells = np.concatenate([g[:, v] for g in grids])
        pitches = cells[cells > REST] - 1
        out.append([int(pitches.min()), int(pitches.max())] if len(pitches) else [0, N_CELL - 2])
    return out


def write_card(out: Path, measured: str = "") -> None:
    meta = json.loads((out / "model.json").read_text())
    card_path = out / "card.md"
    if not measured and card_path.exists() and "\n## Measured\n" in card_path.read_text():
        measured = card_path.read_text().split("\n## Measured\n", 1)[1]
    t, s, m = meta["train"], meta["data_summary"], meta["model"]
    lines = [
        f"# {out.name}",
        "",
        f"An orderless (masked) {t['n_voices']}-voice model ({meta['params'] / 1e6:.2f}M parameters): a "
        f"bidirectional transformer that predicts any hidden cells of a grid of {t['steps_per_beat']} steps per "
        "quarter note from the visible ones, as Coconet does (Huang et al. 2017). It harmonizes melodies and "
        "fills regions (`cadenza harmonize`, `cadenza infill`), sampled by annealed blocked Gibbs steps.",
        "",
        "## Training",
        f"- data: `{t['data']}` — {s['train_pieces']} training pieces, {s['valid_pieces']} validation pieces, "
        f"{s['train_steps']:,} training steps; {s['skipped']} skipped; transposition augmentation ±{t['transpose']} "
        "semitones",
        f"- command: `{meta.get('command', '')}`",
        f"- best checkpoint at step {meta['step']} of {t['steps'] or 'a time budget'}, after {meta['train_minutes']} "
        f"minutes on {meta.get('device')} ({platform.machine()}, {os.cpu_count()} cores)",
        f"- validation loss: {meta['valid_loss']:.4f} nats per hidden cell (fixed random masks)",
        f"- model: {m}",
        "",
        "## Measured",
        measured.strip() or "(not yet measured: run benchmarks/harmonize_quality.py)",
        "",
    ]
    atomic_write(card_path, "\n".join(lines).encode(), force=True)
