"""Rows of the NumPy decoder extended in a second process, so that two rows read on two cores.

A decoder step of the piano model is bound by reading its weights from memory (numpy_decoder's
docstring), so two rows read in one process cost about 1.4 times one row. With the composer's
guidance the pianist reads two rows, each with its own keys and values. Here the first row is
read in this process and the others in a forked child, at the same time, each on its own core;
the child hands back its rows' network output once a step, through shared memory. Where the
machine has one core, cannot fork, or is not x86 (below), the rows are read together in this
process, as `Decoders` does. The music is the same either way (tests/test_row_process.py).

    with leased_rows(weights, 2, idle) as rows:    # ForkedDecoders, or Decoders
        h = rows.hidden(steps)                     # (2, C), as Decoders.hidden

A child outlives its lease: it waits, asleep, in its owner's `idle` list for the owner's next
piece (forking and the child's first step cost some 30 ms), and quits when it is collected with
that list or the process exits (`close`), or by itself when its parent is gone or after
IDLE_QUIT seconds without a request (the next piece then forks another).

Handing over: each side writes its data into the shared block, then raises its counter; the other
waits for the counter by spinning (a round trip costs under a microsecond where a pipe's costs
some 60, waking a sleeping core) for at most SPIN seconds, and then sleeps on a pipe that the
writer writes to when the flag says it sleeps, looking again every nap (a wake-up may cross the
flag; the nap grows to MAX_NAP while nothing comes). A side left waiting, between pieces or on a
busy machine, does not hold a core. x86 makes stores seen in the order they are made, which the
counters rely on: elsewhere the rows are read in one process.

The child reads and writes nothing but the shared block and its pipes (it closes every other file
it inherited), never returns into the caller's code, and never collects the parent's objects. It
runs NumPy and SciPy only: PyTorch's thread pool, forked, can hang, so a child never takes
`_gelu`'s torch path.
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

import numpy as np

from cadenza.nn import numpy_decoder
from cadenza.nn.numpy_decoder import Decoder, Decoders

SPIN = 0.002  # seconds a side waits by spinning before it sleeps
NAP, MAX_NAP = 0.001, 0.1  # seconds a sleeping side sleeps before it looks again, at first and at most
# seconds a child waits for its next request before it quits: a child idle in a long-running
# process (the studio) would come to hold its own copy of every page the parent writes to since
# (at most the parent's memory at the fork; 16 MB of its own after a piece, 2026-12-06)
IDLE_QUIT = 60.0
# the control words: each side's counter and whether it sleeps, then the request and the answer
_TO_CHILD, _TO_PARENT, _CHILD_SLEEPS, _PARENT_SLEEPS, _OP, _ROWS, _STEPS, _GROUP, _STATUS, _MESSAGE = range(10)
_HIDDEN, _RESET, _QUIT = 1, 2, 3
_MESSAGE_BYTES = 1024


def cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    """Whether rows may be read in a child: two cores or more, Linux's fork, x86's store order."""
    x86 = platform.machine().lower() in ("x86_64", "amd64")
    return cores() >= 2 and x86 and sys.platform.startswith("linux")


_idle_lock = threading.Lock()


@contextlib.contextmanager
def leased_rows(weights: Decoder, rows: int, idle: list[ForkedDecoders]) -> Iterator[Decoders | ForkedDecoders]:
    """`rows` empty rows of `weights` for one piece: the first here and the rest in a child where
    there are two or more and `can_fork`, else all here. `idle`, the owner's list of children
    waiting for its next piece, lends one or keeps this one after (one child at most: pieces
    written side by side fork one each, and the one that ends last closes its child)."""
    if rows < 2 or not can_fork():
        yield Decoders(weights, rows)
        return
    with _idle_lock:
        forked = idle.pop() if idle else None
    if forked is not None:
        try:
            if forked.w is not weights or forked.rows != rows:
                raise RuntimeError("rows of other weights")
            forked.reset()
        except (OSError, RuntimeError):  # (a child idle too long has quit)
            forked.close()
            forked = None
    if forked is None:
        try:
            forked = ForkedDecoders(weights, rows)
        except OSError:  # no process to spare (a limit on processes or memory): read them here
            yield Decoders(weights, rows)
            return
    try:
        yield forked
    except BaseException:
        forked.close()  # it may be mid-step: not used again
        raise
    with _idle_lock:
        if not idle:
            idle.append(forked)
            return
    forked.close()


class _Shared:
    """The block both processes see, and the pipes a sleeping side is woken by."""

    def __init__(self, tokens: int, floats: int):
        self.block = mmap.mmap(-1, 8 * 16 + 8 * tokens + 4 * floats + _MESSAGE_BYTES)
        self.ctl = np.frombuffer(self.block, dtype=np.int64, count=16)
        self.tokens = np.frombuffer(self.block, dtype=np.int64, count=tokens, offset=8 * 16)
        self.answer = np.frombuffer(self.block, dtype=np.float32, count=floats, offset=8 * 16 + 8 * tokens)
        self.message = np.frombuffer(self.block, dtype=np.uint8, offset=8 * 16 + 8 * tokens + 4 * floats)
        self.wake_child = os.pipe()
        self.wake_parent = os.pipe()

    def post(self, counter: int, sleeps: int, pipe: int) -> None:
        """Raise a counter (after the data it announces is written), waking its reader if it sleeps."""
        self.ctl[counter] += 1
        if self.ctl[sleeps]:
            os.write(pipe, b"!")

    def wait(self, counter: int, target: int, sleeps: int, pipe: int, alive) -> bool:
        """Wait until a counter reaches `target`: True, or False once `alive()` says the other
        side is gone."""
        ctl = self.ctl
        if ctl[counter] >= target:
            return True
        until = time.perf_counter() + SPIN
        while time.perf_counter() < until:
            for _ in range(200):
                if ctl[counter] >= target:
                    return True
        nap = NAP
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
            elif not alive():
                return ctl[counter] >= target
            else:
                nap = min(2 * nap, MAX_NAP)


class ForkedDecoders:
    """Decoders' rows (`hidden`, `reset`, `length`, `rows`) with row 0 read in this process and
    rows 1.. in a forked child at the same time."""

    def __init__(self, weights: Decoder, rows: int):
        self.w = weights
        self.rows = rows
        self.block_size = weights.block_size
        self.here = Decoders(weights, 1)
        self.shared = s = _Shared((rows - 1) * weights.block_size * max(weights.group, 1), (rows - 1) * weights.n_embd)
        self.sent = 0  # requests posted
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child: serve until told to quit or orphaned, then exit without returning
            code = 0
            try:
                _serve(Decoders(weights, rows - 1), s, parent)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(s.wake_child[0])
        os.close(s.wake_parent[1])
        self.pid = pid
        self._closer = weakref.finalize(self, _stop, parent, pid, s)

    @property
    def length(self) -> int:
        return self.here.length

    def _alive(self) -> bool:
        try:
            return os.waitpid(self.pid, os.WNOHANG) == (0, 0)
        except ChildProcessError:  # collected already
            return False

    def _request(self, op: int, shape: tuple[int, int, int] = (0, 0, 0)) -> None:
        s = self.shared
        if not self._closer.alive:
            raise RuntimeError("the decoder's second process was closed")
        s.ctl[_OP], s.ctl[_ROWS], s.ctl[_STEPS], s.ctl[_GROUP] = op, *shape
        self.sent += 1
        s.post(_TO_CHILD, _CHILD_SLEEPS, s.wake_child[1])

    def _answer(self) -> None:
        s = self.shared
        if not s.wait(_TO_PARENT, self.sent, _PARENT_SLEEPS, s.wake_parent[0], self._alive):
            self.close()
            raise RuntimeError("the decoder's second process ended")
        if s.ctl[_STATUS]:
            raise ValueError(bytes(s.message[: s.ctl[_MESSAGE]]).decode())

    def reset(self) -> None:
        self.here.reset()
        self._request(_RESET)
        self._answer()

    def hidden(self, tokens: np.ndarray) -> np.ndarray:
        """As Decoders.hidden: row 0 read here while the child reads the others."""
        tokens = np.asarray(tokens, dtype=np.int64)
        if tokens.shape[0] != self.rows:
            raise ValueError(f"{tokens.shape[0]} rows of tokens for {self.rows} rows")
        if self.here.length + tokens.shape[1] > self.block_size:  # Decoders' own check, before the child is asked
            raise ValueError(
                f"sequence of {self.here.length + tokens.shape[1]} steps exceeds block_size {self.block_size}"
            )
        theirs = tokens[1:]
        self.shared.tokens[: theirs.size] = theirs.ravel()
        self._request(_HIDDEN, (theirs.shape[0], theirs.shape[1], theirs.shape[2] if theirs.ndim == 3 else 0))
        try:
            mine = self.here.hidden(tokens[:1])
        finally:
            self._answer()  # waited for even when row 0 failed, so that the two stay in step
        return np.concatenate([mine, self.shared.answer.reshape(self.rows - 1, -1)])

    def feed(self, tokens: np.ndarray) -> np.ndarray:
        """As Decoders.feed: the logits (rows, vocab) after `tokens` (rows, T)."""
        if self.w.group > 1:
            raise ValueError("a model of steps of several tokens is read by Reader, not token by token")
        return self.w.logits(self.hidden(tokens))

    def close(self) -> None:
        """Tell the child to quit and collect it (also done when this object is collected)."""
        self._closer()


def _serve(rows: Decoders, s: _Shared, parent: int) -> None:
    """The child's loop: extend its rows by what arrives, answer with their network output."""
    from threadpoolctl import threadpool_limits

    gc.freeze()  # the parent's objects, copied, are never collected here (nor their finalizers run)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    keep = {s.wake_child[0], s.wake_parent[1]}
    for fd in os.listdir("/proc/self/fd"):  # the parent's files and sockets: not held open here
        if int(fd) > 2 and int(fd) not in keep:
            with contextlib.suppress(OSError):
                os.close(int(fd))
    numpy_decoder.LONG = sys.maxsize  # never torch's GELU (see the module docstring)
    threadpool_limits(1, "blas")
    ctl, done, last = s.ctl, 0, time.monotonic()

    def wanted() -> bool:  # the parent is there, and asked for something less than IDLE_QUIT ago
        return os.getppid() == parent and time.monotonic() - last < IDLE_QUIT

    while s.wait(_TO_CHILD, done + 1, _CHILD_SLEEPS, s.wake_child[0], wanted):
        done, last = done + 1, time.monotonic()
        ctl[_STATUS] = 0
        if ctl[_OP] == _QUIT:
            return
        if ctl[_OP] == _RESET:
            rows.reset()
        else:
            n, steps, group = int(ctl[_ROWS]), int(ctl[_STEPS]), int(ctl[_GROUP])
            shape = (n, steps, group) if group else (n, steps)
            try:
                s.answer[:] = rows.hidden(s.tokens[: int(np.prod(shape))].reshape(shape)).ravel()
            except ValueError as e:
                message = str(e).encode()[:_MESSAGE_BYTES]
                s.message[: len(message)] = np.frombuffer(message, dtype=np.uint8)
                ctl[_MESSAGE], ctl[_STATUS] = len(message), 1
        s.post(_TO_PARENT, _PARENT_SLEEPS, s.wake_parent[1])


def _stop(parent: int, pid: int, s: _Shared) -> None:
    """Tell the child to quit, collect it (killed if it has not quit within a second), and close
    the pipes. Nothing in any process but the one that forked it."""
    if os.getpid() != parent:
        return
    s.ctl[_OP] = _QUIT
    with contextlib.suppress(OSError):  # (a child gone has closed its end)
        s.post(_TO_CHILD, _CHILD_SLEEPS, s.wake_child[1])
    until = time.perf_counter() + 1.0
    try:
        while os.waitpid(pid, os.WNOHANG) == (0, 0):
            if time.perf_counter() > until:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            time.sleep(0.0002)
    except ChildProcessError:
        pass
    for fd in (s.wake_child[1], s.wake_parent[0]):
        os.close(fd)
