"""One training run end to end, for every family: start or resume, read the data (the family's
`prepare`), train (cadenza.train.loop.fit) with a progress bar, write the card.

An output folder holds model.safetensors + model.json (the best model), checkpoint.* (the
latest state, for --resume), card.md, and skipped.txt when files were skipped.

Under torchrun (cadenza.train.distributed) every process runs this same skeleton; rank 0 alone
writes those files and speaks.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cadenza.errors import InputError, OptionError
from cadenza.io.files import atomic_write
from cadenza.train.config import RunConfig

CHECKPOINT_FILES = ("model.json", "model.safetensors", "checkpoint.json", "checkpoint.safetensors")


@dataclass
class Prepared:
    """What a family's `prepare` hands the run: the network to train, its batches (next,
    state, set_state), loss and validation, what model.json records beside the weights, the
    files skipped, and a line saying what the run trains on. `loss_weight(batch)`: how many
    terms `loss` averages over (targets, cells, examples), which training over several
    processes needs to make the global batch's mean exact."""

    model: Any
    batches: Any
    loss: Callable
    validate: Callable[[Any], float]
    meta: dict
    skipped: list[str] = field(default_factory=list)
    summary: str = ""
    loss_weight: Callable | None = None


@dataclass
class CardFacts:
    """What a card states, filled in by a family; `write_card` lays it out the same way for all."""

    summary: str  # what the model is, one paragraph
    data: str  # where its data came from and how much
    settings: list[str] = field(default_factory=list)  # family-specific training lines
    valid_unit: str = "nats per token"
    measured: str = ""  # the Measured section; empty: an earlier card's is kept
    how_to_measure: str = "(not yet measured)"  # said when nothing has been measured


def check_enough(data: str, n_train: int, n_valid: int) -> None:
    """Refuse, in one line, data that leaves nothing to train or to validate on."""
    if not n_train or not n_valid:
        raise OptionError(f"{data}: not enough usable pieces to train and validate ({n_train} train, {n_valid} valid)")


def read_record(out: Path) -> dict:
    """A run's checkpoint.json, or one line saying why it cannot be resumed."""
    path = out / "checkpoint.json"
    if not path.exists():
        raise OptionError(f"{out}: nothing to resume (no checkpoint.json); start without --resume")
    try:
        record = json.loads(path.read_text())
        record["tokenizer"]["kind"]
        return record
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(path, "not a readable training checkpoint; start over with --force") from None


def start_or_resume(out: Path, resume: bool, force: bool) -> dict | None:
    """The checkpoint record to resume from, or None for a fresh start. Starting afresh refuses
    an `out` that holds a model unless `force`. Nothing is deleted here: `clear_previous_run`
    removes the old run only once the new run's data has been read, so a bad --data keeps it."""
    if resume:
        return read_record(out)
    if any((out / name).exists() for name in ("model.json", "checkpoint.json")) and not force:
        raise OptionError(f"{out} already holds a model; use --resume to continue it or --force to start over")
    return None


def clear_previous_run(out: Path, resume: bool) -> None:
    """Before a fresh (forced) start trains: remove the model and checkpoint it replaces."""
    if not resume:
        for name in CHECKPOINT_FILES:
            (out / name).unlink(missing_ok=True)


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


def run(
    family,
    cfg: RunConfig | None,
    out: Path,
    resume: bool,
    force: bool,
    quiet: bool,
    command: str,
    echo: Callable[[str], None],
    on_step: Callable | None = None,
):
    """Train a model of `family` (a cadenza.families.Family) with `cfg` into `out`, or resume the
    run there (cfg None: the run's own recorded settings). The card keeps the command that
    started the run and the steps at which it was resumed. `on_step(state, loss, lr)`, if
    given, is called after each step, beside the progress bar.

    Run by every process of a torchrun launch, it trains one model together: the global batch
    (cfg.batch_size) is split between them, and only rank 0 writes files and messages."""
    from cadenza.train import distributed

    with distributed.joined() as group:
        if group is not None and not group.main:
            quiet, echo = True, (lambda m: None)
        state = _run(family, cfg, out, resume, force, quiet, command, echo, on_step, group)
        if group is not None:
            group.barrier()  # no process returns before rank 0 has written the card
        return state


def _run(family, cfg, out, resume, force, quiet, command, echo, on_step, group):
    from cadenza.families import of_meta
    from cadenza.train.distributed import check_split
    from cadenza.train.loop import fit, pick_device

    main = group is None or group.main
    record = start_or_resume(out, resume, force)
    if record is not None:
        recorded = of_meta(record, str(out / "checkpoint.json"))
        if recorded != family:
            raise OptionError(
                f"{out} holds a {recorded.name} model's run, not a {family.name} one; "
                f"resume it with --family {recorded.name}"
            )
        cfg = family.load().Config.from_record(record["train"])
        echo(f"resuming {out} (data {cfg.data})")
    if group is not None:
        check_split(cfg.batch_size, group.world)
    module = family.load()
    prepared: Prepared = module.prepare(cfg, record, echo)
    prepared.meta["command"] = record.get("command", command) if record else command
    if record is not None:
        prepared.meta["resumed_at"] = record.get("resumed_at", []) + [record["state"]["step"]]
    if main:
        report_skipped(prepared.skipped, out, echo)
    echo(
        f"{prepared.summary}; {len(prepared.skipped)} skipped; device {pick_device()}"
        + (f", {group.world} processes" if group is not None else "")
    )
    if main:
        clear_previous_run(out, resume)
    with progress_bar(quiet) as bar:
        task = bar.add_task("training", total=cfg.steps or None, info="")

        def progress(state, loss: float, lr: float):
            if on_step is not None:
                on_step(state, loss, lr)
            best = f" best valid {state.best_valid:.3f}" if state.history else ""
            bar.update(task, completed=state.step, total=state.total_steps or None, info=f"loss {loss:.3f}{best}")
            if not quiet and not bar.console.is_terminal and state.step % 100 == 0:
                echo(f"step {state.step}/{state.total_steps} loss {loss:.3f}{best} lr {lr:.2e}")

        try:
            state = fit(
                prepared.model,
                cfg,
                prepared.batches,
                prepared.validate,
                out,
                prepared.meta,
                resume,
                progress,
                loss_fn=prepared.loss,
                loss_weight=prepared.loss_weight,
                group=group,
            )
        except KeyboardInterrupt:  # Ctrl-C: say what is kept and how to go on
            ckpt = out / "checkpoint.json"
            if ckpt.exists():
                step = json.loads(ckpt.read_text())["state"]["step"]
                echo(
                    f"interrupted; the checkpoint at step {step} is kept: continue with "
                    f"`cadenza train --resume --out {out}`"
                )
            raise
    if not main:
        return state
    facts = module.card(out, json.loads((out / "model.json").read_text()))
    write_card(out, facts)
    echo(f"done: {state.step} steps, best validation loss {state.best_valid:.4f} {facts.valid_unit}")
    return state


def progress_bar(quiet: bool):
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    console = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        console=console,
        disable=quiet or not console.is_terminal,
        transient=False,
    )


def training_lines(out: Path, meta: dict) -> list[str]:
    """The card's lines every family shares: the command (and where it was resumed), the chosen
    step, time and hardware, and an early stop."""
    t = meta["train"]
    ckpt = out / "checkpoint.json"
    state = json.loads(ckpt.read_text())["state"] if ckpt.exists() else {}
    total = state.get("total_steps")
    resumed = meta.get("resumed_at", [])
    command = f"- command: `{meta.get('command', '')}`"
    if resumed:
        command += (
            f"; interrupted and continued with `--resume` (which restores weights, optimizer, step and "
            f"random generators) at step{'s' if len(resumed) > 1 else ''} {', '.join(map(str, resumed))}"
        )
    if total and not t.get("steps"):
        command += (
            f" (the time budget, re-planned at each validation, came to {total:,} steps; `--steps {total}` "
            "trains as many on a schedule fixed from the start: a close rerun, not a step-for-step one)"
        )
    lines = [
        command,
        f"- best checkpoint by validation loss at step {meta['step']}"
        + (f" of {total:,}" if total else "")
        + f", after {meta['train_minutes']} minutes on {meta.get('device')}"
        + (f" ({os.cpu_count()} cores, {platform.machine()})" if meta.get("device") == "cpu" else "")
        + (
            f" in {meta['processes']} processes (data parallel, the same global batch)" if meta.get("processes") else ""
        ),
    ]
    if state.get("stopped_early"):
        lines.append(
            f"- stopped early at step {state['step']:,}: {t['patience']} validations in a row without a "
            f"new best (`--patience {t['patience']}`)"
        )
    return lines


def write_card(out: Path, facts: CardFacts) -> Path:
    """card.md from model.json and a family's facts: what the model is, its data, the command,
    the chosen step, time, hardware, validation loss and settings, and what was measured (an
    earlier card's Measured section is kept when there is nothing new)."""
    meta = json.loads((out / "model.json").read_text())
    card_path = out / "card.md"
    measured = facts.measured
    if not measured and card_path.exists() and "\n## Measured\n" in card_path.read_text():
        measured = card_path.read_text().split("\n## Measured\n", 1)[1]
    lines = [
        f"# {out.name}",
        "",
        facts.summary,
        "",
        "## Training",
        f"- data: {facts.data}",
        *training_lines(out, meta),
        f"- validation loss: {meta['valid_loss']:.4f} {facts.valid_unit}",
        *facts.settings,
        f"- network: {meta['model']}",
        "",
        "## Measured",
        measured.strip() or facts.how_to_measure,
        "",
    ]
    return atomic_write(card_path, "\n".join(lines).encode(), force=True)
