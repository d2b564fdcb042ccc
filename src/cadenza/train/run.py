"""One training run end to end, for every family: start or resume, read the data (the family's
`prepare`), train (cadenza.train.loop.fit) with a progress bar, write the card.

An output folder holds model.safetensors + model.json (the best model), checkpoint.* (the
latest state, for --resume), card.md, and skipped.txt when files were skipped.

`--resume` continues an interrupted run; with `--steps` or `--minutes` (the run's new total) it
trains a finished one further. A run too short to learn much is said to be, with what the
shipped models needed. Ctrl-C says what was kept and how to go on.

Under torchrun (cadenza.train.distributed) every process runs this same skeleton; rank 0 alone
writes those files and speaks.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cadenza.errors import CadenzaError, InputError, OptionError
from cadenza.io.files import atomic_write, remove_temporaries
from cadenza.train.config import RunConfig
from cadenza.train.records import checkpoint_record, repair_pairs

CHECKPOINT_FILES = ("model.json", "model.safetensors", "checkpoint.json", "checkpoint.safetensors")
OUTPUT_FILES = (*CHECKPOINT_FILES, "card.md", "skipped.txt")
EXTENDS = ("steps", "minutes")  # the settings `--resume` takes: the run's new total


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
    """A run's checkpoint record, or one line saying why it cannot be resumed."""
    path = out / "checkpoint.json"
    if not path.exists() and not (out / "checkpoint.safetensors").exists():
        if (out / "model.json").exists():
            raise OptionError(
                f"{out} holds a model but no checkpoint to resume (its run stopped before writing one, or the "
                "model was copied there without it); start over with --force, or train into another --out"
            )
        raise OptionError(f"{out}: nothing to resume (no checkpoint.json); start without --resume")
    try:
        record = checkpoint_record(out)
        record["tokenizer"]["kind"]
        record["state"]["step"]
        return record
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(path, "not a readable training checkpoint; start over with --force") from None


def check_out(out: Path) -> None:
    """Refuse, in one line and before any work, an --out that cannot be a folder this user can write."""
    for p in (out, *out.parents):
        if p.exists():
            if not p.is_dir():
                what = "--out" if p == out else f"--out {out}: {p}"
                raise OptionError(f"{what} is a file, not a folder; give a folder for the model")
            if not os.access(p, os.W_OK | os.X_OK):
                raise OptionError(f"--out {out}: cannot write in {p} (no permission); choose another --out")
            return


def start_or_resume(out: Path, resume: bool, force: bool) -> dict | None:
    """The checkpoint record to resume from, or None for a fresh start. Starting afresh refuses
    an `out` that holds a model unless `force`. Nothing is created or deleted here:
    `clear_previous_run` removes the old run only once the new run's data has been read, so a bad
    --data keeps it, and a refused option leaves no folder behind."""
    check_out(out)
    if resume:
        return read_record(out)
    if any((out / name).exists() for name in ("model.json", "checkpoint.json", "leadsheet.json")) and not force:
        raise OptionError(f"{out} already holds a model; use --resume to continue it or --force to start over")
    return None


def resume_command(out: Path, command: str, data: str = "") -> str:
    """The command that continues the run in `out` (the run's own command says which)."""
    if command.startswith("cadenza bench nll"):
        return f"cadenza bench nll --data {data} --resume --out {out}"
    if (out.parent / "leadsheet.json").exists():  # a part of a lead-sheet bundle goes on with its bundle
        out = out.parent
    return f"cadenza train --resume --out {out}"


def is_finished(state: dict) -> bool:
    return bool(state.get("stopped_early")) or 0 < state.get("total_steps", 0) <= state.get("step", 0)


def extension(out: Path, record: dict, given: dict) -> dict:
    """The settings `--resume --steps N` or `--resume --minutes M` change in the run's config
    (nothing when neither is given): N or M is the run's new total, which must lie ahead of it.
    Refused, in one line: both at once, a total already reached, a run stopped early."""
    if not given:
        return {}
    state = record["state"]
    step, minutes = state["step"], state.get("elapsed_s", 0.0) / 60
    if set(given) - set(EXTENDS):
        raise ValueError(f"only {EXTENDS} extend a run, not {sorted(given)}")
    if len(given) > 1:
        raise OptionError("give --steps or --minutes with --resume, not both: either is the run's new total")
    if state.get("stopped_early"):
        patience = record.get("train", {}).get("patience")
        raise OptionError(
            f"{out} stopped early at step {step:,}: its validation loss had not improved for {patience} validations, "
            "so more steps would not help; start a new run (--force) with more data or more --dropout instead"
        )
    if "steps" in given:
        if given["steps"] <= step:
            raise OptionError(
                f"{out} is at step {step:,} already; with --resume, --steps is the run's new total: "
                f"give more than {step}"
            )
        return {"steps": given["steps"]}
    if given["minutes"] <= minutes:
        raise OptionError(
            f"{out} has trained {minutes:.1f} minutes already; with --resume, --minutes is the run's new total: "
            f"give more than {math.ceil(minutes * 10) / 10:g}"
        )
    return {"steps": 0, "minutes": given["minutes"]}


def finished_message(out: Path, record: dict, command: str) -> str:
    """What `--resume` says of a run that has nothing left to do (and how to train it further)."""
    state = record["state"]
    step, minutes = state["step"], state.get("elapsed_s", 0.0) / 60
    if state.get("stopped_early"):
        return (
            f"{out} stopped early at step {step:,} (its validation loss no longer improved): nothing to continue; "
            "its best model is in model.safetensors"
        )
    again = resume_command(out, command or record.get("command", ""), record.get("train", {}).get("data", ""))
    return (
        f"{out} finished its {step:,} steps ({minutes:.1f} minutes): nothing to continue; to train it further give "
        f"the new total: `{again} --steps N` (N above {step}) or `--minutes M` (M above {minutes:.1f})"
    )


def clear_previous_run(out: Path, resume: bool) -> None:
    """Before a fresh (forced) start trains: remove the model and checkpoint it replaces."""
    if not resume:
        for name in (*CHECKPOINT_FILES, "leadsheet.json"):  # a lead-sheet bundle's record too: it is replaced
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


def shipped_runs(family) -> list[tuple[str, int]]:
    """(name, steps) of the models shipped with Cadenza of this family, fewest steps first: the
    step at which each was chosen (each run's last or nearly), read from its model.json."""
    from cadenza.families import of_meta
    from cadenza.hub import shipped_models

    runs = []
    root = shipped_models()
    for path in sorted([*root.glob("*/model.json"), *root.glob("*/*/model.json")]):  # a bundle's parts too
        try:
            meta = json.loads(path.read_text())
            if of_meta(meta) == family and int(meta.get("step") or 0) > 0:
                runs.append((path.parent.relative_to(root).as_posix(), int(meta["step"])))
        except (OSError, ValueError, TypeError, CadenzaError):
            continue
    return sorted(runs, key=lambda r: r[1])


class ShortRun:
    """Says, in one line on stderr, when a run is too short to learn much: fewer steps than any
    shipped model of its family needed (their cards: the folk model had barely learned endings at
    800 steps, docs/BENCHMARKS.md's runs were still 1.5 nats off their best at 300), with what
    to expect and how long a run needs on this machine. Once when the run's length is known (at
    the start with --steps, after the first steps' timing with --minutes), and again at the end."""

    def __init__(self, family, again: str, echo: Callable[[str], None]):
        self.family, self.again, self.echo = family, again, echo  # again: the command that resumes the run
        self.runs = shipped_runs(family)
        self.said = False

    @property
    def needed(self) -> int:
        return self.runs[0][1] if self.runs else 0

    def _shipped(self) -> str:
        steps = sorted({s for _, s in self.runs})
        span = f"{steps[0]:,}" if len(steps) == 1 else f"{steps[0]:,} to {steps[-1]:,}"
        names = ", ".join(name for name, _ in self.runs)
        return f"the shipped {self.family.name} model{'s' if len(self.runs) > 1 else ''} ({names}) trained {span} steps"

    def planned(self, total: int, seconds_per_step: float | None) -> None:
        """The run's length is known: `total` steps (at `seconds_per_step` when timed)."""
        if self.said or not self.needed or total >= self.needed:
            self.said = True
            return
        self.said = True
        if seconds_per_step:
            minutes = math.ceil(self.needed * seconds_per_step / 60)
            how = f"{self.needed:,} steps take about {minutes} minutes here "
            how += f"(--minutes {minutes}, or --steps {self.needed})"
        else:
            how = f"give --steps {self.needed} or more"
        self.echo(
            f"warning: {total:,} steps are too few to learn much: {self._shipped()}; expect music far rougher "
            f"than theirs; {how}"
        )

    def ended(self, state) -> None:
        if not self.needed or state.step >= self.needed or state.stopped_early or not state.step:
            return
        seconds = state.elapsed_s / state.step
        minutes = math.ceil(self.needed * seconds / 60)
        self.echo(
            f"warning: trained only {state.step:,} steps, too few to learn much: {self._shipped()}; train it "
            f"further with `{self.again} --minutes {minutes}` or `--steps {self.needed}` (the new total)"
        )


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
    extend: dict | None = None,
):
    """Train a model of `family` (a cadenza.families.Family) with `cfg` into `out`, or resume the
    run there (cfg None: the run's own recorded settings; `extend`: {"steps": N} or {"minutes":
    M}, the run's new total, to train it further). The card keeps the command that started the
    run and the steps at which it was resumed. `on_step(state, loss, lr)`, if given, is called
    after each step, beside the progress bar.

    Ctrl-C says what was kept and how to go on (on stderr, even when quiet).

    Run by every process of a torchrun launch, it trains one model together: the global batch
    (cfg.batch_size) is split between them, and only rank 0 writes files and messages."""
    from cadenza.train import distributed

    with distributed.joined() as group:
        tell = echo if not quiet else (lambda m: print(m, file=sys.stderr, flush=True))
        if group is not None and not group.main:
            quiet, echo, tell = True, (lambda m: None), (lambda m: None)
        state = _run(family, cfg, out, resume, force, quiet, command, echo, on_step, group, extend or {}, tell)
        if group is not None:
            group.barrier()  # no process returns before rank 0 has written the card
        return state


def init_source(name: str, family=None) -> Path:
    """The folder of the model `--init-from` names, with weights to read; one line if not, or if
    it is a model of another family than `family` (when given): its tokens mean other things, so
    weights of the same shape (a folk model's embeddings in a chorale model) would be taken as
    if they fitted."""
    from cadenza.families import of_meta
    from cadenza.hub import find_model
    from cadenza.nn.checkpoint import read_meta

    source = find_model(name)
    if not (source / "model.safetensors").is_file():
        raise OptionError(
            f"--init-from {name}: {source} holds no model.safetensors (a model of parts: name one of its folders)"
        )
    if family is not None:
        theirs = of_meta(read_meta(source), str(source / "model.json"))
        if theirs.name != family.name:
            raise OptionError(
                f"--init-from {name}: {_a(theirs.name)} model; this trains {_a(family.name)} model "
                f"(start from one of the same family, or train --family {theirs.name})"
            )
    return source


def _a(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


def init_from(model, name: str, echo: Callable[[str], None], family=None) -> dict:
    """Start `model` from the weights of the model `name` (of `family`, when given) wherever
    names and shapes match (a resumed run has its own); one line where none do. What was taken,
    for model.json."""
    from safetensors import SafetensorError

    from cadenza.nn.checkpoint import load_matching, read_meta

    source = init_source(name, family)
    try:
        taken, fresh = load_matching(model, source)
    except (OSError, SafetensorError) as e:
        raise OptionError(f"--init-from {name}: {source / 'model.safetensors'} cannot be read ({e})") from None
    if not taken:
        raise OptionError(f"--init-from {name}: none of its weights fit this network (another family or shape)")
    echo(
        f"started from {source}: {len(taken)} of {len(taken) + len(fresh)} weights"
        + (f"; new: {', '.join(sorted({k.rsplit('.', 1)[0] for k in fresh}))}" if fresh else "")
    )
    return {"model": str(name), "valid_loss": read_meta(source).get("valid_loss"), "weights": len(taken)}


def _run(family, cfg, out, resume, force, quiet, command, echo, on_step, group, extend, tell):
    from cadenza.families import of_meta
    from cadenza.train.distributed import check_split
    from cadenza.train.loop import TrainState, pick_device

    main = group is None or group.main
    record = start_or_resume(out, resume, force)
    if record is not None:
        recorded = of_meta(record, str(out / "checkpoint.json"))
        if recorded != family:
            raise OptionError(
                f"{out} holds a {recorded.name} model's run, not a {family.name} one; "
                f"resume it with --family {recorded.name}"
            )
        changes = extension(out, record, extend)
        if not changes and is_finished(record["state"]):
            echo(finished_message(out, record, record.get("command", command)))
            return TrainState(**record["state"])
        cfg = dataclasses.replace(family.load().Config.from_record(record["train"]), **changes)
        if main:
            repair_pairs(out)
        step = record["state"]["step"]
        if "steps" in extend:
            echo(f"training {out} on from step {step:,} to step {cfg.steps:,} (data {cfg.data})")
        elif "minutes" in extend:
            done = record["state"].get("elapsed_s", 0.0) / 60
            echo(f"training {out} on from step {step:,} to {cfg.minutes:g} minutes in all ({done:.1f} so far)")
        else:
            echo(f"resuming {out} at step {step:,} (data {cfg.data})")
    if group is not None:
        check_split(cfg.batch_size, group.world)
    again = resume_command(out, record.get("command", command) if record else command, cfg.data)
    module = family.load()
    try:
        prepared = module.prepare(cfg, record, echo)
    except KeyboardInterrupt:
        if record is not None:
            tell(
                f"interrupted while reading the data: {out}'s checkpoint at step {record['state']['step']:,} is "
                f"untouched; continue with `{again}`"
            )
        else:
            kept = " (the model it held is kept)" if (out / "model.json").exists() else ""
            tell(f"interrupted while reading the data, before training: nothing was written to {out}{kept}")
        raise
    prepared.meta["command"] = record.get("command", command) if record else command
    if cfg.init_from and record is None:
        prepared.meta["init_from"] = init_from(prepared.model, cfg.init_from, echo, family)
    elif record is not None and "init_from" in record:  # a resumed run still says where it started
        prepared.meta["init_from"] = record["init_from"]
    if record is not None:
        prepared.meta["resumed_at"] = record.get("resumed_at", []) + [record["state"]["step"]]
        prepared.meta["extended"] = record.get("extended", [])
        if extend:
            how = " ".join(f"--{k} {v}" for k, v in extend.items())
            prepared.meta["extended"] = prepared.meta["extended"] + [[record["state"]["step"], how]]
    short = ShortRun(family, again, echo)
    if cfg.init_from or prepared.meta.get("init_from"):  # a model trained further: its steps add to the source's
        short.runs = []
    try:
        if main and out.is_dir():
            remove_temporaries(out, OUTPUT_FILES)  # what killed writes left
        if main:
            report_skipped(prepared.skipped, out, echo)
        echo(
            f"{prepared.summary}; {len(prepared.skipped)} skipped; device {pick_device()}"
            + (f", {group.world} processes" if group is not None else "")
        )
        if main:
            clear_previous_run(out, resume)
        if cfg.steps:
            short.planned(cfg.steps, None)
        state = _fit_with_progress(prepared, cfg, out, resume, quiet, echo, tell, on_step, group, short)
    except KeyboardInterrupt:  # Ctrl-C: say what is kept and how to go on
        tell(interrupted_message(out, again))
        raise
    if not main:
        return state
    facts = module.card(out, json.loads((out / "model.json").read_text()))
    write_card(out, facts)
    best_step = next((h[0] for h in state.history if h[2] == state.best_valid), None)
    last = state.history[-1] if state.history else None
    echo(
        f"done: {state.step:,} steps; best validation loss {state.best_valid:.4f} {facts.valid_unit}"
        + (f" at step {best_step:,}" if best_step is not None else "")
        + f", the model kept in {out / 'model.safetensors'}"
        + (f" (the last validation, at step {last[0]:,}: {last[2]:.4f})" if last and last[0] != best_step else "")
    )
    short.ended(state)
    return state


def _fit_with_progress(prepared: Prepared, cfg, out, resume, quiet, echo, tell, on_step, group, short: ShortRun):
    """cadenza.train.loop.fit with a progress bar (on a terminal) or progress lines (elsewhere):
    the training loss of the last step, and each validation as it comes with the best so far,
    labelled so that neither is taken for the other."""
    from cadenza.train.loop import fit

    with progress_bar(quiet) as bar:
        task = bar.add_task("training", total=cfg.steps or None, info="")
        shown = {"loss": "", "valid": ""}

        def progress(state, loss: float, lr: float):
            if on_step is not None:
                on_step(state, loss, lr)
            if state.total_steps and not short.said:
                short.planned(state.total_steps, state.elapsed_s / max(state.step, 1))
            shown["loss"] = f"train loss {loss:.3f}"
            info = shown["loss"] + shown["valid"]
            bar.update(task, completed=state.step, total=state.total_steps or None, info=info)
            if not quiet and not bar.console.is_terminal and state.step % 100 == 0:
                echo(f"step {state.step}/{state.total_steps} {info} lr {lr:.2e}")

        def validated(state):
            step, _, valid = state.history[-1]
            best_step = next((h[0] for h in state.history if h[2] == state.best_valid), None)
            best = (
                "new best"
                if best_step == step
                else f"best {state.best_valid:.3f}" + (f" at step {best_step}" if best_step is not None else "")
            )
            shown["valid"] = f" | valid {valid:.3f} ({best})"
            bar.update(task, info=shown["loss"] + shown["valid"])
            if not quiet and not bar.console.is_terminal:
                echo(f"step {step}/{state.total_steps}: validation loss {valid:.4f} ({best})")

        return fit(
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
            on_validate=validated,
            echo=tell,
        )


def interrupted_message(out: Path, again: str) -> str:
    """What Ctrl-C during training kept: the checkpoint (and best model) in `out`, and how to go on."""
    best = ""
    try:
        meta = json.loads((out / "model.json").read_text())
        best = f"the best model so far (step {meta['step']:,}, validation loss {meta['valid_loss']:.4f}) is in model.*"
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        state = checkpoint_record(out)["state"]
    except (OSError, ValueError, KeyError, TypeError):
        return (
            "interrupted before the first checkpoint: nothing to resume"
            + (f"; {best}" if best else "")
            + f"; start again{' with --force' if best else ''}"
        )
    total = f" of {state['total_steps']:,}" if state.get("total_steps") else ""
    return (
        f"interrupted: {out} holds a checkpoint at step {state['step']:,}{total}"
        + (f" and {best}" if best else "")
        + f"; continue with `{again}`"
    )


def progress_bar(quiet: bool):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),  # steps done / planned ("?" until a time budget is planned)
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
    try:
        state = checkpoint_record(out)["state"]
    except (OSError, ValueError, KeyError, TypeError):
        state = {}
    total = state.get("total_steps")
    extended = {step: how for step, how in meta.get("extended", [])}
    resumed = [s for s in meta.get("resumed_at", []) if s not in extended]
    command = f"- command: `{meta.get('command', '')}`"
    if resumed:
        command += (
            f"; interrupted and continued with `--resume` (which restores weights, optimizer, step and "
            f"random generators) at step{'s' if len(resumed) > 1 else ''} {', '.join(map(str, resumed))}"
        )
    for step, how in extended.items():
        command += (
            f"; trained further from step {step:,} with `--resume {how}` (a new total: the learning rate's cosine "
            "decay stretched to it)"
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
    if meta.get("init_from"):
        src = meta["init_from"]
        lines.append(
            f"- started from the weights of `{src['model']}` (`--init-from`: {src['weights']} tensors whose names "
            f"and shapes match; its validation loss {src.get('valid_loss') or float('nan'):.4f}), not from random "
            "ones: its training data and time come before this run's"
        )
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
