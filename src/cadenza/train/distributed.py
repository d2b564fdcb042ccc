"""Data-parallel training over several processes with PyTorch's own distributed engine.

`cadenza train --nproc N` re-runs the same command under `torchrun` (launch); running
`torchrun --nproc_per_node N -m cadenza.cli train ...` directly, on one machine or several, is
the same thing. Each process finds torchrun's environment (WORLD_SIZE, RANK, LOCAL_RANK) and
joins the process group (gloo on CPU, NCCL on GPU, one GPU per process by LOCAL_RANK): that is
`joined`, which gives the training loop a Group, and a one-process run None: it never initializes
torch.distributed, and its steps are exactly those of a run before this module existed.

How the loop uses a Group (cadenza.train.loop.fit): every process draws the same global batch
from the same seeded generator and trains on its own slice (`shard`), so the data order is the
one-process order; `backward` makes the summed gradient exactly the one-process gradient of the
global batch's mean loss; whatever depends on a clock or on validation is decided by rank 0 and
shared (`from_rank0`); only rank 0 writes files and speaks. Across machines, --out must be a
folder they share: every process reads the checkpoint to resume.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from datetime import timedelta

from cadenza.errors import OptionError

# How long a process waits at a collective for the others: rank 0 validates while the rest wait
# for its result, and a large validation set can take minutes. A crashed process does not make
# the others wait this long: torchrun stops the whole group when one process fails.
TIMEOUT = timedelta(hours=1)


def world_size() -> int:
    """How many processes train together: torchrun's WORLD_SIZE, 1 outside torchrun."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """This process's rank among them (0 outside torchrun): rank 0 writes and speaks."""
    return int(os.environ.get("RANK", "0"))


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def check_split(batch_size: int, world: int) -> None:
    """Refuse a global batch that does not split evenly over the processes."""
    if world > 1 and batch_size % world:
        raise OptionError(
            f"--batch-size {batch_size} does not split evenly over {world} processes; give a multiple of {world}"
        )


def check_nproc(nproc: int) -> None:
    """Refuse an impossible --nproc, or one that contradicts the torchrun this process runs under."""
    if nproc < 1:
        raise OptionError(f"--nproc must be at least 1, not {nproc}")
    if "WORLD_SIZE" in os.environ and nproc not in (1, world_size()):
        raise OptionError(f"already running in {world_size()} process(es) under torchrun; drop --nproc {nproc}")


def should_launch(nproc: int) -> bool:
    """Whether this command should re-run itself under torchrun (not already inside it)."""
    return nproc > 1 and "WORLD_SIZE" not in os.environ


def without_nproc(argv: list[str]) -> list[str]:
    """The command-line arguments less --nproc and its value."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out


def launch(nproc: int, argv: list[str]) -> int:
    """Run `cadenza ARGV` (less --nproc) in `nproc` processes on this machine under torchrun, and
    return its exit status. Each process gets an equal share of the CPU cores for its threads
    unless OMP_NUM_THREADS says otherwise."""
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        str(nproc),
        "-m",
        "cadenza.cli",
        *without_nproc(argv),
    ]
    proc = subprocess.Popen(cmd, env=env)
    try:
        code = proc.wait()
    except KeyboardInterrupt:  # from a terminal, torchrun got it too: give it time to stop its processes
        try:
            code = proc.wait(timeout=30)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            proc.send_signal(signal.SIGTERM)
            code = proc.wait()
    return code if code >= 0 else 128 - code  # killed by a signal: the shell's convention


@contextmanager
def joined():
    """The process group of a torchrun launch (a Group), or None in one process. The group is
    torn down on leaving."""
    world = world_size()
    if world <= 1:
        yield None
        return
    import torch
    import torch.distributed as dist

    cuda = torch.cuda.is_available()  # the device cadenza.train.loop.pick_device picks
    if cuda:
        here = int(os.environ.get("LOCAL_WORLD_SIZE", local_rank() + 1))
        if torch.cuda.device_count() < here:  # every process says so, rank 0 included: it is the one heard
            raise OptionError(
                f"{here} processes on this machine need a GPU each; it has "
                f"{torch.cuda.device_count()} (CUDA_VISIBLE_DEVICES= trains on the CPU instead)"
            )
        torch.cuda.set_device(local_rank())  # "cuda" is now this process's own GPU
    owned = not dist.is_initialized()
    if owned:
        dist.init_process_group("nccl" if cuda else "gloo", timeout=TIMEOUT)
    try:
        yield Group(dist.get_rank(), dist.get_world_size(), f"cuda:{local_rank()}" if cuda else "cpu")
    finally:
        if owned:
            dist.destroy_process_group()


def own_seed(seed: int, rank: int, step: int) -> int:
    """The seed of a rank's own torch generator (its dropout masks) from `step` on."""
    return (seed * 1_000_003 + rank * 10_007 + step) % 2**63


class Group:
    """This process's place in the group and the few collective operations training needs."""

    def __init__(self, rank: int, world: int, device: str):
        self.rank, self.world, self.device = rank, world, device

    @property
    def main(self) -> bool:
        return self.rank == 0

    def shard(self, batch) -> list:
        """This process's slice of a global batch (a tuple of tensors, batch first)."""
        n = len(batch[0])
        check_split(n, self.world)
        b = n // self.world
        return [t[self.rank * b : (self.rank + 1) * b] for t in batch]

    def start(self, model, seed: int, resumed: bool) -> None:
        """Before the first step: every process takes rank 0's weights (they are built alike from
        the seed; this makes sure), and a fresh run gives each rank > 0 a torch generator of its
        own, so that dropout masks differ between the slices (a resumed run restored its own)."""
        import torch
        import torch.distributed as dist

        with torch.no_grad():
            for t in [*model.parameters(), *model.buffers()]:
                dist.broadcast(t.data, 0)
        if self.rank and not resumed:
            torch.manual_seed(own_seed(seed, self.rank, 0))

    def backward(self, model, loss, weight):
        """Backpropagate this process's part of the global batch's loss and sum gradients over
        the processes; returns the global batch's mean loss. `loss` is this slice's mean over
        `weight` terms (tokens, cells or examples: whatever its family's loss averages over), so
        loss * weight is the slice's sum and the global mean is the sum over processes divided by
        the summed weights. Averaging the processes' means instead (what plain data parallelism
        does) weighs a slice with few targets as much as one with many: not the global mean.

        Why an explicit all-reduce and not DistributedDataParallel: DDP hooks only the wrapped
        module's forward(), while the families' losses call other methods (Transformer.loss,
        masked_logits) and validation and checkpoints read the bare model (config, num_params);
        DDP divides by the number of processes, which is not the weighting above; and one flat
        all-reduce per step carries the gradients, the weights and the loss together, in the same
        order on every process, so every process ends the step with identical numbers. What it
        gives up is DDP's overlap of communication with the backward pass, which matters for large
        GPU models, not for these small transformers."""
        import torch
        import torch.distributed as dist

        w = float(weight)
        (loss * w).backward()  # with w == 0 (no targets in this slice) the gradients are zeros
        params = [p for p in model.parameters() if p.requires_grad]
        with torch.no_grad():
            grads = [(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params]
            dtype = grads[0].dtype
            value = loss.detach().to(dtype) * w if w else torch.zeros((), dtype=dtype, device=loss.device)
            flat = torch.cat([*grads, torch.stack([value, torch.tensor(w, dtype=dtype, device=loss.device)])])
            dist.all_reduce(flat)
            flat[:-1] /= flat[-1]
            at = 0
            for p in params:
                n = p.numel()
                if p.grad is not None:  # a parameter no loss reaches keeps no gradient, as in one process
                    p.grad.copy_(flat[at : at + n].view_as(p))
                at += n
            return flat[-2].clone()

    def from_rank0(self, *values):
        """Rank 0's values of these numbers (bool, int or float), on every process: decisions
        taken from a clock or from validation, which only rank 0 reads."""
        import torch
        import torch.distributed as dist

        t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=self.device)
        dist.broadcast(t, 0)
        out = tuple(type(v)(x) for v, x in zip(values, t.tolist()))
        return out if len(out) > 1 else out[0]

    def rng_states(self) -> list:
        """Every rank's torch generator state (CPU), gathered on every process for a checkpoint."""
        import torch
        import torch.distributed as dist

        mine = torch.get_rng_state().to(self.device)
        states = [torch.empty_like(mine) for _ in range(self.world)]
        dist.all_gather(states, mine)
        return [s.cpu() for s in states]

    def barrier(self) -> None:
        import torch.distributed as dist

        dist.barrier()
