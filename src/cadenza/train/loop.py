"""Training loop: progress, validation, best checkpoint, atomic periodic checkpoints, resume.

An output folder holds:
  model.safetensors + model.json        the best model by validation loss (what `generate` loads)
  checkpoint.safetensors + .json        the latest state: weights, optimizer moments, step, RNG
  card.md                               what it learned from, how, and how well
Killing a run (even `kill -9`) loses at most the steps since the last checkpoint; `--resume`
continues there. Every file is written whole under a temporary name and renamed (io.files); a
.safetensors carries its .json in its own header, so a kill between their renames leaves
weights that still say what they are (cadenza.train.records). In a one-process run, Ctrl-C
stops after the step in progress and writes a checkpoint there first.
"""

from __future__ import annotations

import json
import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from cadenza.nn.checkpoint import load_weights, save_model, weights_to_save, write_pair
from cadenza.train.config import RunConfig
from cadenza.train.records import checkpoint_record

if TYPE_CHECKING:
    from cadenza.train.distributed import Group


@dataclass
class TrainState:
    step: int = 0
    total_steps: int = 0
    best_valid: float = math.inf
    elapsed_s: float = 0.0
    history: list = field(default_factory=list)  # [step, train_loss, valid_loss]
    stopped_early: bool = False  # ended by cfg.patience before total_steps


def validations_since_best(state: TrainState) -> int:
    """How many validations came after the best one (0: the latest is the best)."""
    valid = [h[2] for h in state.history]
    return len(valid) - 1 - valid.index(min(valid)) if valid else 0


def pick_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def bf16_is_fast(device: str | None = None) -> bool:
    """Whether bfloat16 matrix products run natively here: a CUDA GPU that supports them, or a CPU
    with AMX or AVX-512 BF16 (on this project's 2-core Xeon, bf16 autocast trains 1.4-2x faster; a
    CPU without them emulates bf16 and is slower)."""
    device = device or pick_device()
    if device.startswith("cuda"):
        return torch.cuda.is_bf16_supported()
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " amx_bf16" in flags or " avx512_bf16" in flags


def lr_at(step: int, cfg: RunConfig, total: int) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps))
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def _optimizer(model: torch.nn.Module, cfg: RunConfig) -> torch.optim.AdamW:
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
        betas=(0.9, 0.95),
    )


def _save_checkpoint(
    out: Path, model, opt, state: TrainState, batches, meta: dict, rng_states: list | None = None
) -> None:
    """`rng_states`: with several processes, every rank's torch generator (rank 0's is torch_rng)."""
    tensors = {f"model.{k}": v for k, v in weights_to_save(model).items()}
    opt_state = opt.state_dict()
    for pid, s in opt_state["state"].items():
        for name, value in s.items():
            tensors[f"opt.{pid}.{name}"] = value.detach().cpu().reshape(-1) if value.dim() == 0 else value.cpu()
    tensors["torch_rng"] = torch.get_rng_state()
    for r, rng in enumerate(rng_states or []):
        if r:
            tensors[f"torch_rng.{r}"] = rng
    record = {**meta, "state": asdict(state), "data_rng": batches.state()}
    write_pair(out, "checkpoint", tensors, record, indent=1)


def _load_checkpoint(out: Path, model, opt, batches, rank: int = 0) -> tuple[TrainState, dict]:
    """The state saved in out/checkpoint.*, loaded into model, opt and batches, and the record
    it was saved with. A rank > 0 of a several-process run restores its own torch generator (or,
    from a checkpoint written by fewer processes, starts one of its own)."""
    from safetensors.torch import load_file

    record = checkpoint_record(out)  # the one the weights carry: checkpoint.json may be one checkpoint older
    tensors = load_file(str(out / "checkpoint.safetensors"))
    load_weights(model, {k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    opt_state = opt.state_dict()
    for key, value in tensors.items():
        if key.startswith("opt."):
            _, pid, name = key.split(".", 2)
            device = next(model.parameters()).device
            v = value.reshape(()) if name == "step" else value
            opt_state["state"].setdefault(int(pid), {})[name] = v.to(device) if name != "step" else v
    opt.load_state_dict(opt_state)
    batches.set_state(record["data_rng"])
    state = TrainState(**record["state"])
    rng = tensors.get(f"torch_rng.{rank}" if rank else "torch_rng")
    if rng is not None:
        torch.set_rng_state(rng)
    else:
        from cadenza.train.distributed import own_seed

        torch.manual_seed(own_seed(record.get("train", {}).get("seed", 0), rank, state.step))
    return state, record


class _StopRequest:
    """Ctrl-C in a one-process run (in the main thread, where Python's own handler is in place):
    the first asks the loop to stop after the step in progress, once it has written a
    checkpoint there; a second stops at once (the last checkpoint stays). Elsewhere (several
    processes, another thread, a handler of the caller's) Ctrl-C is left as it was."""

    def __init__(self, echo: Callable[[str], None]):
        self.echo, self.asked, self.previous = echo, False, None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.asked:
            raise KeyboardInterrupt
        self.asked = True
        self.echo("stopping after this step to write a checkpoint (Ctrl-C again to stop at once)")

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def _targets_counted(batch) -> int:
    """How many terms model.loss(x, y) averages over: the targets that are not PAD (0)."""
    return int((batch[1] != 0).sum())


PLAN_AFTER = 20  # a time budget becomes a step count after timing this many steps


def _steps_within_budget(cfg: RunConfig, state: TrainState, elapsed_s: float, step_s: float, eval_s: float) -> int:
    """The total step count that ends a time-budgeted run within cfg.minutes, given the time so
    far, the mean seconds per training step and per validation (one every cfg.eval_every steps,
    and one at the end)."""
    left = cfg.minutes * 60 - elapsed_s - eval_s
    return state.step + max(0, int(left / (step_s + eval_s / cfg.eval_every)))


def fit(
    model: torch.nn.Module,
    cfg: RunConfig,
    batches,
    evaluate_fn: Callable[[torch.nn.Module], float],
    out: Path,
    meta: dict,
    resume: bool = False,
    progress: Callable[[TrainState, float, float], None] | None = None,
    loss_fn: Callable | None = None,
    loss_weight: Callable | None = None,
    group: Group | None = None,
    on_validate: Callable[[TrainState], None] | None = None,
    echo: Callable[[str], None] = lambda m: None,
) -> TrainState:
    """The training loop, for any tokenizer: AdamW with warm-up and cosine decay, gradient
    clipping, validation every cfg.eval_every steps (the best model is saved as model.*), and a
    full checkpoint (weights, optimizer, step, both RNGs) at least every cfg.checkpoint_minutes,
    when the first best model is saved, at the end, and on Ctrl-C (one process: the step in
    progress is finished, checkpointed, then KeyboardInterrupt is raised).

    `batches` has next(batch_size), state() and set_state(). `loss_fn(model, batch)` defaults to model.loss(x, y).
    `progress(state, train_loss, lr)` is called after each step, `on_validate(state)` after each
    validation (its result is state.history[-1]). With cfg.patience, the run ends once that
    many validations in a row have not improved on the best.

    Resuming with cfg.steps or cfg.minutes other than the checkpoint's (`--resume --steps N`),
    the run's total becomes the new one: a finished run trains on (its learning rate schedule
    is stretched to the new total, so the rate rises again from where it ended).

    With a `group` (cadenza.train.distributed: several processes under torchrun), every process
    draws the same global batch of cfg.batch_size and trains on its slice; `loss_weight(batch)`
    says how many terms loss_fn's mean is over, so that the gradients summed over processes are
    exactly the global batch's (defaults to the non-PAD targets that model.loss averages over).
    Rank 0 validates, times, and alone writes; every rank takes its decisions.
    """
    device = next(model.parameters()).device
    opt = _optimizer(model, cfg)
    params = model.num_params()  # type: ignore[operator]  # every network of cadenza.nn has it
    meta = {**meta, "params": params, "device": str(device)}
    if group is not None:
        meta["processes"] = group.world
        if loss_weight is None and loss_fn is not None:
            raise ValueError("this loss has no loss_weight: it cannot be made exact over several processes")
    weigh: Callable = loss_weight or _targets_counted
    main = group is None or group.main
    loss_fn = loss_fn or (lambda m, batch: m.loss(*batch))
    state = TrainState()
    if resume:
        state, record = _load_checkpoint(out, model, opt, batches, group.rank if group else 0)
        recorded = record.get("train", {})
        if (cfg.steps, cfg.minutes) != (recorded.get("steps", cfg.steps), recorded.get("minutes", cfg.minutes)):
            state.total_steps = cfg.steps  # a new total (0: a time budget, planned again below)
        kept = _best_kept(out)
        if kept is not None and kept < state.best_valid:  # saved after the checkpoint, before a kill: keep it
            state.best_valid = kept
    if group is not None:
        group.start(model, cfg.seed, resume)
    model.train()
    clock = time.monotonic()
    since_ckpt = clock
    checkpointed = resume  # whether this run has a checkpoint on disk
    base_elapsed, first_step, eval_s, n_evals = state.elapsed_s, state.step, 0.0, 0
    with _StopRequest(echo) if group is None else _NoStopRequest() as stop:
        while True:
            if state.total_steps == 0 and cfg.steps:
                state.total_steps = cfg.steps
            if state.total_steps == 0 and state.step - first_step == PLAN_AFTER:  # a time budget: time, then plan
                now = time.monotonic()
                rate = PLAN_AFTER / max(now - clock, 1e-6)
                left = cfg.minutes * 60 - (base_elapsed + now - clock)
                state.total_steps = state.step + max(1, int(rate * left))
                if group is not None:  # rank 0's clock sets the budget for all
                    state.total_steps = group.from_rank0(state.total_steps)
            total = state.total_steps or 10**9
            if state.step >= total or state.stopped_early:
                break
            lr = lr_at(state.step, cfg, total)
            for g in opt.param_groups:
                g["lr"] = lr
            batch = batches.next(cfg.batch_size)
            if group is not None:
                batch = group.shard(batch)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
                loss = loss_fn(model, [t.to(device) for t in batch])
            opt.zero_grad(set_to_none=True)
            if group is None:
                loss.backward()
            else:  # gradients summed over processes: those of the global batch; the loss is its mean
                loss = group.backward(model, loss, weigh(batch))
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            state.step += 1
            state.elapsed_s = base_elapsed + time.monotonic() - clock
            if progress:
                progress(state, loss.item(), lr)
            last = state.step >= (state.total_steps or 10**9)
            saved_best = False
            if state.step % cfg.eval_every == 0 or last:
                began, evals_before = time.monotonic(), eval_s
                valid = evaluate_fn(model) if main else math.nan
                model.train()
                eval_s, n_evals = eval_s + time.monotonic() - began, n_evals + 1
                if not cfg.steps and state.total_steps and not last:  # a time budget: validation time counts too
                    step_s = (began - clock - evals_before) / max(state.step - first_step, 1)
                    state.total_steps = _steps_within_budget(
                        cfg, state, base_elapsed + time.monotonic() - clock, step_s, eval_s / n_evals
                    )
                    last = state.step >= state.total_steps
                if (
                    group is not None
                ):  # rank 0 validated and timed: the best, patience and budget follow from its numbers
                    valid, state.total_steps = group.from_rank0(valid, state.total_steps)
                    last = state.step >= (state.total_steps or 10**9)
                state.history.append([state.step, loss.item(), valid])
                if valid < state.best_valid:
                    state.best_valid, saved_best = valid, True
                    if main:
                        save_model(
                            model,
                            out,
                            {
                                **meta,
                                "valid_loss": valid,
                                "step": state.step,
                                "train_minutes": round(state.elapsed_s / 60, 2),
                            },
                        )
                if cfg.patience and not last and validations_since_best(state) >= cfg.patience:
                    state.stopped_early = last = True  # overfitting: the best model is saved, more steps will not help
                if on_validate:
                    on_validate(state)
            due = (
                last
                or stop.asked
                or (saved_best and not checkpointed)  # a model.json never stands without a checkpoint for long
                or time.monotonic() - since_ckpt > cfg.checkpoint_minutes * 60
            )
            if group is not None and not last:
                due = group.from_rank0(due)  # by rank 0's clock
            if due:
                rng_states = group.rng_states() if group is not None else None
                if main:
                    _save_checkpoint(out, model, opt, state, batches, meta, rng_states)
                since_ckpt, checkpointed = time.monotonic(), True
            if stop.asked and not last:
                raise KeyboardInterrupt
    return state


class _NoStopRequest:
    asked = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def _best_kept(out: Path) -> float | None:
    """The validation loss of the model.json in `out`, if it can be read."""
    try:
        return float(json.loads((out / "model.json").read_text())["valid_loss"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
