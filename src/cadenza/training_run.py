"""One training run end to end: load data, tokenize, split, train, write the model card.

This is what `cadenza train` calls; the loop itself lives in cadenza.train.
"""
from __future__ import annotations

import json
import os
import platform
from collections import Counter
from pathlib import Path
from typing import Callable

import numpy as np

from cadenza.errors import OptionError
from cadenza.files import atomic_write
from cadenza.train import TrainConfig, TrainState, pick_device, train


def data_stats(pieces, tokenized, tok) -> dict:
    """What the generator uses as defaults: meters and keys seen, and each voice's usual range."""
    from cadenza.tokenize.voices import N_PITCHES, PITCH0

    n_voices = tok.config.n_voices
    meters = Counter(str(p.score.meter) for p in pieces)
    keys = Counter()
    per_voice = [[] for _ in range(n_voices)]
    for t in tokenized:
        keys[str(tok.token_key(int(t.tokens[1])))] += 1
        body = t.tokens[3:]
        cells = body[(body < PITCH0 + N_PITCHES) & ((body >= PITCH0) | (body == 3) | (body == 4))]
        grid = cells[: len(cells) // n_voices * n_voices].reshape(-1, n_voices)
        for v in range(n_voices):
            col = grid[:, v]
            per_voice[v].extend((col[col >= PITCH0] - PITCH0).tolist())
    ranges = [[int(np.percentile(v, 0.5)), int(np.percentile(v, 99.5))] if v else [0, 127] for v in per_voice]
    return {"meters": dict(meters.most_common()), "keys": dict(keys.most_common()), "voice_ranges": ranges}


def run(cfg_kw: dict, out: Path, resume: bool, force: bool, quiet: bool, command: str,
        progress_factory: Callable, echo: Callable[[str], None]) -> TrainState:
    from cadenza import corpus
    from cadenza.dataset import tokenize_pieces
    from cadenza.tokenize.voices import VoicesConfig, VoicesTokenizer

    record, command = start_or_resume(out, resume, force, command)
    cfg = TrainConfig(**(record["train"] if record else cfg_kw))
    if record:
        echo(f"resuming {out} (data {cfg.data})")
    tok = VoicesTokenizer(VoicesConfig(n_voices=cfg.n_voices, steps_per_beat=cfg.steps_per_beat,
                                       programs=cfg.programs))
    with progress_factory(quiet) as bar:
        task = bar.add_task("reading", total=None, info=cfg.data)
        data = corpus.load(cfg.data, limit=cfg.max_pieces or None,
                           progress=lambda i, n: bar.update(task, completed=i, total=n))
        bar.update(task, completed=bar.tasks[task].total or 0)
    if cfg.exact_parts:
        kept = with_exact_parts(data.pieces, cfg.n_voices)
        echo(f"kept {len(kept)} of {len(data.pieces)} pieces with exactly {cfg.n_voices} parts")
        data.pieces = kept
    train_p, valid_p = data.split(cfg.valid_percent)
    train_t, skipped_t = tokenize_pieces(train_p, tok)
    valid_t, skipped_v = tokenize_pieces(valid_p, tok)
    skipped = data.skipped + skipped_t + skipped_v
    report_skipped(skipped, out, echo)
    if not train_t or not valid_t:
        raise OptionError(f"{cfg.data}: not enough usable pieces to train and validate "
                          f"({len(train_t)} train, {len(valid_t)} valid)")
    n_tokens = sum(len(t.tokens) for t in train_t)
    echo(f"{len(train_t)} training and {len(valid_t)} validation pieces, {n_tokens:,} training tokens; "
         f"{len(skipped)} skipped; device {pick_device()}")
    stats = data_stats(train_p, train_t, tok)
    extra = {"data_stats": stats, "command": command,
             "data_summary": {"train_pieces": len(train_t), "valid_pieces": len(valid_t),
                              "train_tokens": n_tokens, "skipped": len(skipped)}}
    clear_previous_run(out, resume)
    with progress_factory(quiet) as bar:
        task = bar.add_task("training", total=cfg.steps or None, info="")

        def on_step(state: TrainState, loss: float, lr: float):
            best = f" best valid {state.best_valid:.3f}" if state.history else ""
            bar.update(task, completed=state.step, total=state.total_steps or None,
                       info=f"loss {loss:.3f}{best}")
            if quiet or bar.console.is_terminal:
                return
            if state.step % 100 == 0:
                echo(f"step {state.step}/{state.total_steps} loss {loss:.3f}{best} lr {lr:.2e}")

        state = train(cfg, train_t, valid_t, out, resume=resume, extra_meta=extra, progress=on_step)
    write_card(out)
    echo(f"done: {state.step} steps, best validation loss {state.best_valid:.4f} nats per cell")
    return state


def start_or_resume(out: Path, resume: bool, force: bool, command: str) -> tuple[dict | None, str]:
    """(the checkpoint record to resume from, or None for a fresh start; the command the card
    records). Resuming needs a checkpoint; starting afresh refuses an `out` that holds a model
    unless `force`. Nothing is deleted here: the caller clears the old run with
    `clear_previous_run` only once its data has been read, so a bad --data keeps the old model.
    The card keeps the command that started the run and says how it was resumed."""
    if resume:
        if not (out / "checkpoint.json").exists():
            raise OptionError(f"{out}: nothing to resume (no checkpoint.json); start without --resume")
        record = json.loads((out / "checkpoint.json").read_text())
        return record, record.get("command", command) + f" (interrupted, then continued with `{command}`)"
    if (out / "model.json").exists() or (out / "checkpoint.json").exists():
        if not force:
            raise OptionError(f"{out} already holds a model; use --resume to continue it or --force to start over")
    return None, command


def clear_previous_run(out: Path, resume: bool) -> None:
    """Before a fresh (forced) start trains: remove the model and checkpoint it replaces."""
    if not resume:
        for name in ("model.json", "model.safetensors", "checkpoint.json", "checkpoint.safetensors"):
            (out / name).unlink(missing_ok=True)


def with_exact_parts(pieces: list, n_voices: int) -> list:
    """The pieces with exactly n_voices pitched parts that have notes (e.g. four-part chorales)."""
    return [p for p in pieces if sum(1 for q in p.score.parts if q.notes and not q.is_drum) == n_voices]


def split_of(meta: dict) -> tuple[list, list]:
    """(train, valid) pieces exactly as the training run recorded in `meta` (a model.json) had
    them: same data, same part filter, same hash split. For measuring a model on its own
    held-out pieces."""
    from cadenza import corpus

    t = meta["train"]
    data = corpus.load(t["data"], limit=t.get("max_pieces") or None)
    if t.get("exact_parts"):
        data.pieces = with_exact_parts(data.pieces, t["n_voices"])
    return data.split(t.get("valid_percent", 10))


def report_skipped(skipped: list[str], out: Path, echo: Callable[[str], None], show: int = 10) -> None:
    """Say which files or pieces were skipped and why: the first `show` on stderr, all of them in
    OUT/skipped.txt."""
    if not skipped:
        return
    for line in skipped[:show]:
        echo(f"skipped {line}")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "skipped.txt", ("\n".join(skipped) + "\n").encode(), force=True)
    if len(skipped) > show:
        echo(f"... and {len(skipped) - show} more; all {len(skipped)} are listed in {out / 'skipped.txt'}")


def write_card(out: Path, measured: str = "") -> None:
    """card.md from model.json: data, command, steps, minutes, hardware, validation loss,
    plus any measured results (kept from an earlier card if present)."""
    meta = json.loads((out / "model.json").read_text())
    card_path = out / "card.md"
    if not measured and card_path.exists() and "\n## Measured\n" in card_path.read_text():
        measured = card_path.read_text().split("\n## Measured\n", 1)[1]
    t, tok, s = meta["train"], meta["tokenizer"], meta.get("data_summary", {})
    lines = [
        f"# {out.name}",
        "",
        f"A {tok['n_voices']}-voice causal transformer ({meta['params'] / 1e6:.2f}M parameters) on a grid of "
        f"{tok['steps_per_beat']} steps per quarter note, trained by Cadenza's own `cadenza train`.",
        "",
        "## Training",
        f"- data: `{t['data']}` — {s.get('train_pieces')} training pieces, {s.get('valid_pieces')} validation "
        f"pieces (held out by a hash of each piece's id), {s.get('train_tokens', 0):,} training tokens, "
        f"{s.get('skipped')} skipped; transposition augmentation ±{t['transpose']} semitones",
        f"- command: `{meta.get('command', '')}`",
        f"- best checkpoint at step {meta['step']} of {t['steps'] or 'a time budget'}, after {meta['train_minutes']} "
        f"minutes on {meta.get('device')} ({platform.machine()}, {os.cpu_count()} cores)",
        f"- validation loss: {meta['valid_loss']:.4f} nats per cell",
        f"- model: {meta['model']}",
        "",
        "## Measured",
        measured.strip() or "(not yet measured: run benchmarks/chorale_quality.py or benchmarks/ngram_baseline.py)",
        "",
    ]
    atomic_write(card_path, "\n".join(lines).encode(), force=True)
