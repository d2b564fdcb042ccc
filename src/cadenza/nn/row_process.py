"""Rows of the NumPy decoder extended in a second process, so that two rows read on two cores.

A decoder step of the piano model is bound by reading its weights from memory (numpy_decoder's
docstring), so two rows read in one process cost about 1.3 times one row. With the composer's
guidance the pianist reads two rows, each with its own keys and values. Here the first row is
read in this process and the others in a forked child, at the same time, each on its own core;
the child hands back its rows' network output once a step, through shared memory. Where the
machine has one core (a container's CPU quota counted in whole cores), cannot fork, or is not
x86 (below), the rows are read together in this process, as `Decoders` does. The numbers differ
only in their last bits (a row read alone is multiplied by another BLAS kernel than two rows
together; a window's GELU is SciPy's in the child), so the same seed gives the same music
either way except where a draw falls within about 1e-7 of a boundary: every example and test
piece came out the same.

    with leased_rows(weights, 2, idle) as rows:    # ForkedDecoders, or Decoders
        h = rows.hidden(steps)                     # (2, C), as Decoders.hidden

A child outlives its lease: it waits, asleep, in its owner's `idle` list for the owner's next
piece (forking and the child's first step cost some 30 ms), and quits when it is collected with
that list or the process exits (`close`), or by itself when its parent is gone or after
IDLE_QUIT seconds waiting in the list (the next piece then forks another). A process forked from
the owner later (a worker) forks its own child; it never uses the owner's.

Handing over: each side writes its data into the shared block, then raises its counter; the other
waits for the counter by spinning (a round trip costs under a microsecond where a pipe's costs
some 60, waking a sleeping core) for at most SPIN seconds, yielding its core to anything else
that would run, and then sleeps on a pipe that the writer writes to when the flag says it sleeps.
x86 keeps the order of two stores (the data, then the counter), which the counters rely on, and
elsewhere the rows are read in one process; it does not keep a store before a load, so a side
going to sleep and a side raising the counter can miss each other: the sleeper looks again
every nap (1 ms, growing to MAX_NAP while nothing comes), so that costs a nap at most. A side
left waiting, between pieces or on a busy machine, does not hold a core. An answer that does not
come in ANSWER_WITHIN seconds is an error, and the child is killed.

The child reads and writes nothing but the shared block and its pipes (it closes every other file
it inherited), never returns into the caller's code, and never collects the parent's objects. It
runs NumPy and SciPy only (PyTorch's thread pool, forked, can hang, so a child never takes
`_gelu`'s torch path), and BLAS on the one thread it is forked with.
"""

from __future__ import annotations

import contextlib
import gc
import mmap
import os
import platform
import select
import signal
import sys
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from cadenza.errors import CadenzaError
from cadenza.nn import numpy_decoder
from cadenza.nn.numpy_decoder import Decoder, Decoders, one_blas_thread


class ChildGone(CadenzaError, RuntimeError):
    """The child reading the other rows ended (killed: the machine short of memory?), did not
    answer, or failed: one line for the user, not a traceback."""


SPIN = 0.002  # seconds a side waits by spinning before it sleeps
NAP, MAX_NAP = 0.001, 0.1  # seconds a sleeping side sleeps before it looks again, at first and at most
# seconds a child waits in its owner's idle list before it quits: a child idle in a long-running
# process (the studio) would come to hold its own copy of every page the parent writes to since
# (at most the parent's memory at the fork; 16 MB of its own after a piece, 2026-12-06)
IDLE_QUIT = 60.0
ANSWER_WITHIN = 60.0  # seconds: a window of the piano model's 512 steps takes 0.05 s
# Pieces written side by side on two cores (the studio's radio and a job) make four processes
# for two cores, and a step then waits for the other half of its pair to be given a core: two
# such pieces took 9.3-10.2 s against 5.4-5.9 s with their rows in one process each. So when,
# over each of the last SLOW_SPANS spans of CHECK_STEPS steps, this process waited for the child
# more than WAITED_SHARE of the time it spent on its own row, it takes the child's rows back
# (their keys and values) and reads the rest of the piece in one process. Measured over 32
# steps: two pieces side by side waited 0.52-1.18 of it (median 0.87); a piece alone a median of
# 0.03, but 0.5-1.3 in 31 of 448 spans (never more than two in a row), the two processes' cores
# taken from them by the machine's host for a while.
CHECK_STEPS, WAITED_SHARE, SLOW_SPANS = 32, 0.4, 4
# After rows were taken back, pieces begun in the next CROWDED_FOR seconds read their rows in one
# process without trying a child (each try costs a fork and 128 slow steps).
CROWDED_FOR = 5.0
_crowded_until = 0.0
# the control words: each side's counter and whether it sleeps, the request and the answer, and
# whether the child waits in an idle list
_TO_CHILD, _TO_PARENT, _CHILD_SLEEPS, _PARENT_SLEEPS, _OP, _ROWS, _STEPS, _GROUP, _STATUS, _MESSAGE, _PARKED = range(11)
_HIDDEN, _RESET, _QUIT, _GIVE = 1, 2, 3, 4
_REFUSED, _FAILED = 1, 2  # statuses: a ValueError (as Decoders raises it), anything else
_MESSAGE_BYTES = 1024
GONE = (
    f"the decoder's second process ended (killed? the machine may be short of memory), or did not answer "
    f"within {ANSWER_WITHIN:g} s"
)


def cores() -> int:
    """The CPU cores this process may run on: those its affinity allows, no more than a
    container's CPU quota gives it whole (cgroup_cores)."""
    try:
        allowed = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
    quota = cgroup_cores()
    return allowed if quota is None else max(1, min(allowed, int(quota)))


CGROUP_V2 = Path("/sys/fs/cgroup/cpu.max")  # "max 100000", or "150000 100000": 1.5 cores
CGROUP_V1 = Path("/sys/fs/cgroup/cpu")  # cpu.cfs_quota_us (-1: none) and cpu.cfs_period_us


def cgroup_cores() -> float | None:
    """The cores the CPU quota of the cgroup mounted at /sys/fs/cgroup allows (1.5 for 150 ms of
    each 100 ms), None without one. That is a container's own cgroup; a quota set on a nested
    cgroup of a host (systemd's CPUQuota, a batch scheduler's) is not read."""
    try:
        if CGROUP_V2.exists():
            quota, period = CGROUP_V2.read_text().split()[:2]
        else:
            quota = (CGROUP_V1 / "cpu.cfs_quota_us").read_text().strip()
            period = (CGROUP_V1 / "cpu.cfs_period_us").read_text().strip()
        if quota in ("max", "-1") or float(period) <= 0:
            return None
        return float(quota) / float(period)
    except (OSError, ValueError):
        return None


def can_fork() -> bool:
    """Whether rows may be read in a child: two cores or more (cores: a container's quota counted),
    Linux's fork, x86's store order."""
    x86 = platform.machine().lower() in ("x86_64", "amd64")
    return cores() >= 2 and x86 and sys.platform.startswith("linux")


_idle_lock = threading.Lock()


def _new_lock_after_fork() -> None:  # a fork taken while another thread held the lock would keep it held
    global _idle_lock
    _idle_lock = threading.Lock()


os.register_at_fork(after_in_child=_new_lock_after_fork)


@contextlib.contextmanager
def leased_rows(weights: Decoder, rows: int, idle: list[ForkedDecoders]) -> Iterator[Decoders | ForkedDecoders]:
    """`rows` empty rows of `weights` for one piece: the first here and the rest in a child where
    there are two or more and `can_fork`, else all here. `idle`, the owner's list of children
    waiting for its next piece, lends one or keeps this one after (one child at most: pieces
    written side by side fork one each, and the one that ends last closes its child)."""
    if rows < 2 or not can_fork() or time.monotonic() < _crowded_until:
        yield Decoders(weights, rows)
        return
    with _idle_lock:
        forked = idle.pop() if idle else None
    if forked is not None:
        try:
            if forked.owner != os.getpid() or forked.w is not weights or forked.rows != rows:
                raise ChildGone("another process's child, or rows of other weights")
            forked.reset()
        except (OSError, RuntimeError):  # (a child idle too long has quit)
            forked.close()  # (for another process's child: only this process's copies of its pipes)
            forked = None
    if forked is None:
        try:
            forked = ForkedDecoders(weights, rows)
        except OSError:  # no process to spare (a limit on processes or memory): read them here
            forked = None
    if forked is None:
        yield Decoders(weights, rows)
        return
    try:
        yield forked
    except BaseException:
        forked.close()  # it may be mid-step: not used again
        raise
    if forked.together is not None or forked.broken:  # taken back (the cores were busy), or out of step
        forked.close()
        return
    forked.park()
    with _idle_lock:
        if not idle:
            idle.append(forked)
            return
    forked.close()


class _Shared:
    """The block both processes see, and the pipes a sleeping side is woken by."""

    def __init__(self, tokens: int, floats: int, cache: int):
        at = [8 * 16, 8 * tokens, 4 * floats, 4 * cache, _MESSAGE_BYTES]  # each part's size
        self.block = mmap.mmap(-1, sum(at))  # (pages never written take no memory)
        offset = np.cumsum([0, *at])
        self.ctl = np.frombuffer(self.block, dtype=np.int64, count=16)
        self.tokens = np.frombuffer(self.block, dtype=np.int64, count=tokens, offset=offset[1])
        self.answer = np.frombuffer(self.block, dtype=np.float32, count=floats, offset=offset[2])
        self.cache = np.frombuffer(
            self.block, dtype=np.float32, count=cache, offset=offset[3]
        )  # keys and values given back
        self.message = np.frombuffer(self.block, dtype=np.uint8, offset=offset[4])
        self.wake_child = os.pipe()
        try:
            self.wake_parent = os.pipe()
        except OSError:
            self.close(self.wake_child)
            raise

    @staticmethod
    def close(fds) -> None:
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)

    def post(self, counter: int, sleeps: int, pipe: int) -> None:
        """Raise a counter (after the data it announces is written), waking its reader if it sleeps."""
        self.ctl[counter] += 1
        if self.ctl[sleeps]:
            os.write(pipe, b"!")

    def wait(self, counter: int, target: int, sleeps: int, pipe: int, alive, within: float = float("inf")) -> bool:
        """Wait until a counter reaches `target`: True, or False once `alive()` says the other
        side is gone or `within` seconds have passed."""
        ctl = self.ctl
        if ctl[counter] >= target:
            return True
        start = time.perf_counter()
        while time.perf_counter() - start < SPIN:
            for _ in range(50):
                if ctl[counter] >= target:
                    return True
            os.sched_yield()  # a process that would run here (pieces written side by side) runs
        nap, slept = NAP, 0.0  # (slept, not the clock: a process stopped by Ctrl-Z is not late)
        while True:
            ctl[sleeps] = 1
            if ctl[counter] >= target:
                ctl[sleeps] = 0
                return True
            readable, _, _ = select.select([pipe], [], [], nap)
            ctl[sleeps] = 0
            if readable:
                if not os.read(pipe, 4096):  # its write end closed: the other side is gone
                    return ctl[counter] >= target
            elif not alive() or slept > within:
                return ctl[counter] >= target
            else:
                slept += nap
                nap = min(2 * nap, MAX_NAP)


class ForkedDecoders:
    """Decoders' rows (`hidden`, `reset`, `length`, `rows`: what Reader uses) with row 0 read in
    this process and rows 1.. in a forked child at the same time."""

    def __init__(self, weights: Decoder, rows: int):
        self.w = weights
        self.rows = rows
        self.block_size = weights.block_size
        self.here = Decoders(weights, 1)
        self.shared = s = _Shared(
            (rows - 1) * weights.block_size * max(weights.group, 1),
            (rows - 1) * weights.n_embd,
            2 * (rows - 1) * weights.k.size,
        )
        self.sent = 0  # requests posted
        self.broken = False  # a step failed part way: the rows may be out of step
        self.together: Decoders | None = None  # all rows, here, once taken back from the child
        self.timed: list[tuple[float, float]] = []  # the last steps' (own row's time, time waited)
        self.slow_spans = 0  # spans of CHECK_STEPS in a row that waited too long
        self.owner = os.getpid()
        limits = one_blas_thread()  # the child's BLAS keeps the one thread it is forked with
        try:
            pid = os.fork()
        except OSError:
            limits.restore_original_limits()
            s.close((*s.wake_child, *s.wake_parent))
            raise
        if pid == 0:  # the child: serve until told to quit or orphaned, then exit without returning
            gc.disable()  # the parent's objects, copied, are never collected here (nor their finalizers run)
            code = 0
            try:
                _serve(Decoders(weights, rows - 1), s, self.owner)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        limits.restore_original_limits()
        self.pid = pid
        self._closer = weakref.finalize(self, _stop, self.owner, pid, s)
        s.close((s.wake_child[0], s.wake_parent[1]))

    @property
    def length(self) -> int:
        return self.together.length if self.together is not None else self.here.length

    def _alive(self) -> bool:
        try:
            return os.waitpid(self.pid, os.WNOHANG) == (0, 0)
        except ChildProcessError:  # collected already
            return False

    def _request(self, op: int, shape: tuple[int, int, int] = (0, 0, 0)) -> None:
        s = self.shared
        if os.getpid() != self.owner:
            raise ChildGone("the decoder's second process belongs to another process")
        if not self._closer.alive or self.broken:
            raise ChildGone("the decoder's second process was closed")
        s.ctl[_OP], s.ctl[_ROWS], s.ctl[_STEPS], s.ctl[_GROUP] = op, *shape
        s.ctl[_PARKED] = 0
        self.sent += 1
        try:
            s.post(_TO_CHILD, _CHILD_SLEEPS, s.wake_child[1])
        except OSError:  # its end of the pipe closed: it is gone
            self.close()
            raise ChildGone(GONE) from None

    def _answer(self) -> None:
        s = self.shared
        if not s.wait(_TO_PARENT, self.sent, _PARENT_SLEEPS, s.wake_parent[0], self._alive, ANSWER_WITHIN):
            self.close()
            raise ChildGone(GONE)
        if s.ctl[_STATUS]:
            message = bytes(s.message[: s.ctl[_MESSAGE]]).decode(errors="replace")
            self.broken = True  # its rows may have gone on where this one did not, or the reverse
            if s.ctl[_STATUS] == _REFUSED:
                raise ValueError(message)
            raise ChildGone(f"the decoder's second process failed: {message}")

    def reset(self) -> None:
        if self.together is not None:
            self.together.reset()
            return
        self.here.reset()
        self._request(_RESET)
        self._answer()
        self.timed.clear()
        self.slow_spans = 0

    def park(self) -> None:
        """Mark the child as waiting in an idle list (after IDLE_QUIT seconds of it, it quits)."""
        self.shared.ctl[_PARKED] = 1

    def hidden(self, tokens: np.ndarray) -> np.ndarray:
        """As Decoders.hidden: row 0 read here while the child reads the others."""
        tokens = np.asarray(tokens, dtype=np.int64)
        if self.together is not None:
            return self.together.hidden(tokens)
        if tokens.shape[0] != self.rows:
            raise ValueError(f"{tokens.shape[0]} rows of tokens for {self.rows} rows")
        if self.here.length + tokens.shape[1] > self.block_size:  # Decoders' own check, before the child is asked
            raise ValueError(
                f"sequence of {self.here.length + tokens.shape[1]} steps exceeds block_size {self.block_size}"
            )
        theirs = tokens[1:]
        self.shared.tokens[: theirs.size] = theirs.ravel()
        self._request(_HIDDEN, (theirs.shape[0], theirs.shape[1], theirs.shape[2] if theirs.ndim == 3 else 0))
        start = time.perf_counter()
        try:
            mine = self.here.hidden(tokens[:1])
        except BaseException:
            self.broken = True  # the child's rows went on, this one did not
            raise
        finally:
            done = time.perf_counter()
            self._answer()  # waited for even when row 0 failed, so that the two stay in step
        h = np.concatenate([mine, self.shared.answer.reshape(self.rows - 1, -1)])
        if tokens.shape[1] == 1:
            self.timed.append((done - start, time.perf_counter() - done))
            if len(self.timed) == CHECK_STEPS:
                own, waited = np.sum(self.timed, axis=0)
                self.timed.clear()
                self.slow_spans = self.slow_spans + 1 if waited > WAITED_SHARE * own else 0
                if self.slow_spans >= SLOW_SPANS:
                    self._take_back()
        return h

    def _take_back(self) -> None:
        """Read every row here from now on: the child's keys and values copied in, the child closed;
        and no child for CROWDED_FOR seconds."""
        global _crowded_until
        _crowded_until = time.monotonic() + CROWDED_FOR
        self._request(_GIVE)
        self._answer()
        together = Decoders(self.w, self.rows)
        n = self.here.length
        theirs = self.shared.cache.reshape(2, self.rows - 1, *self.w.k.shape)
        for mine, cache, given in ((self.here.k, together.k, theirs[0]), (self.here.v, together.v, theirs[1])):
            cache[:1, ..., :n, :] = mine[..., :n, :]
            cache[1:, ..., :n, :] = given[..., :n, :]
        together.length = n
        self.together = together
        self.close()

    def close(self) -> None:
        """Tell the child to quit and collect it (also done when this object is collected)."""
        self._closer()


def _serve(rows: Decoders, s: _Shared, parent: int) -> None:
    """The child's loop: extend its rows by what arrives, answer with their network output."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    keep = sorted({s.wake_child[0], s.wake_parent[1]})
    os.closerange(3, keep[0])  # the parent's files and sockets: not held open here
    os.closerange(keep[0] + 1, keep[1])
    os.closerange(keep[1] + 1, os.sysconf("SC_OPEN_MAX"))
    numpy_decoder.LONG = sys.maxsize  # never torch's GELU (see the module docstring)
    ctl, done, last = s.ctl, 0, time.monotonic()

    def wanted() -> bool:  # the parent is there, and has not left it idle for IDLE_QUIT
        return os.getppid() == parent and not (ctl[_PARKED] and time.monotonic() - last > IDLE_QUIT)

    while s.wait(_TO_CHILD, done + 1, _CHILD_SLEEPS, s.wake_child[0], wanted):
        done, last = done + 1, time.monotonic()
        ctl[_STATUS] = 0
        if ctl[_OP] == _QUIT:
            return
        if ctl[_OP] == _RESET:
            rows.reset()
        elif ctl[_OP] == _GIVE:  # its keys and values, for the parent to read the rows itself
            given = s.cache.reshape(2, *rows.k.shape)
            given[0, ..., : rows.length, :] = rows.k[..., : rows.length, :]
            given[1, ..., : rows.length, :] = rows.v[..., : rows.length, :]
        else:
            n, steps, group = int(ctl[_ROWS]), int(ctl[_STEPS]), int(ctl[_GROUP])
            shape = (n, steps, group) if group else (n, steps)
            try:
                s.answer[:] = rows.hidden(s.tokens[: int(np.prod(shape))].reshape(shape)).ravel()
            except Exception as e:
                message = (str(e) if isinstance(e, ValueError) else repr(e)).encode()[:_MESSAGE_BYTES]
                s.message[: len(message)] = np.frombuffer(message, dtype=np.uint8)
                ctl[_MESSAGE], ctl[_STATUS] = len(message), _REFUSED if isinstance(e, ValueError) else _FAILED
        s.post(_TO_PARENT, _PARENT_SLEEPS, s.wake_parent[1])


def _stop(owner: int, pid: int, s: _Shared) -> None:
    """Tell the child to quit, collect it (killed if it has not quit within a second), and close
    the pipes. Nothing in any process but the one that forked it."""
    if os.getpid() != owner:  # another process's child: close only this process's copies of its pipes
        s.close((s.wake_child[1], s.wake_parent[0]))
        return
    try:
        s.ctl[_OP] = _QUIT
        with contextlib.suppress(OSError):  # (a child gone has closed its end)
            s.post(_TO_CHILD, _CHILD_SLEEPS, s.wake_child[1])
        until = time.perf_counter() + 1.0
        while os.waitpid(pid, os.WNOHANG) == (0, 0):
            if time.perf_counter() > until:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            time.sleep(0.0002)
    except ChildProcessError:
        pass
    finally:
        s.close((s.wake_child[1], s.wake_parent[0]))
