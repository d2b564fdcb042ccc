"""cadenza.nn.row_process: rows read in a forked child give what rows read here give, and the
child goes away when it should."""

import os
import time

import numpy as np
import pytest
import torch

from cadenza.nn import row_process
from conftest import VOICES_TOK as TOK
from conftest import tiny_voices_model as tiny

pytestmark = pytest.mark.skipif(not row_process.can_fork(), reason="rows are read in one process here")


@pytest.fixture(autouse=True)
def _uncrowded(monkeypatch):
    """No rows taken back before (another test's), and none now unless a test asks: a tiny
    model's steps are too short to tell a busy machine by."""
    monkeypatch.setattr(row_process, "_crowded_until", 0.0)
    monkeypatch.setattr(row_process, "WAITED_SHARE", float("inf"))


def _gone(pid: int) -> bool:
    """Exited (a zombie not yet collected by whoever adopted it counts)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def test_rows_read_in_a_child_give_the_rows_read_here():
    """Token by token and a window at once, before and after a reset: the same network output;
    a step past the block size refused without the two falling out of step."""
    from cadenza.nn.numpy_decoder import Decoder, Decoders

    weights = Decoder(tiny(rope=True))
    a, b = torch.randint(0, TOK.vocab_size, (2, 30)).tolist()
    here, forked = Decoders(weights, 2), row_process.ForkedDecoders(weights, 2)
    try:
        assert forked.pid != os.getpid() and not _gone(forked.pid)
        for start, stop in ((0, 5), (5, 6), (6, 30)):
            tokens = np.array([a[start:stop], b[start:stop]])
            assert np.allclose(forked.hidden(tokens), here.hidden(tokens), atol=1e-5)
        assert forked.length == here.length == 30
        forked.reset()
        here.reset()
        assert np.allclose(
            weights.logits(forked.hidden(np.array([b[:4], a[:4]]))), here.feed(np.array([b[:4], a[:4]])), atol=1e-5
        )
        with pytest.raises(ValueError, match="block_size"):
            forked.hidden(np.ones((2, 64), dtype=np.int64))
        assert np.allclose(
            forked.hidden(np.array([[a[4]], [b[4]]])), here.hidden(np.array([[a[4]], [b[4]]])), atol=1e-5
        )
    finally:
        forked.close()
    assert _gone(forked.pid)
    with pytest.raises(RuntimeError, match="closed"):
        forked.reset()


def test_a_lease_keeps_its_child_for_the_next_piece_and_closes_it_after_a_failure():
    from cadenza.nn.numpy_decoder import Decoder

    weights = Decoder(tiny(rope=True))
    idle: list = []
    with row_process.leased_rows(weights, 2, idle) as rows:
        first = rows
        rows.hidden(np.ones((2, 3), dtype=np.int64))
    assert idle == [first] and not _gone(first.pid)
    with row_process.leased_rows(weights, 2, idle) as rows:
        assert rows is first and rows.length == 0 and idle == []  # emptied for the new piece
    with pytest.raises(KeyboardInterrupt), row_process.leased_rows(weights, 2, idle) as rows:
        raise KeyboardInterrupt
    assert idle == [] and _gone(first.pid)
    with row_process.leased_rows(weights, 1, idle) as rows:  # one row: read here
        assert not isinstance(rows, row_process.ForkedDecoders)


def test_a_child_whose_parent_is_gone_quits(monkeypatch):
    """The child of a process killed without closing it (no finalizer ran) quits by itself."""
    monkeypatch.setattr(row_process, "MAX_NAP", 0.01)
    from cadenza.nn.numpy_decoder import Decoder

    weights = Decoder(tiny(rope=True))
    read, write = os.pipe()
    middle = os.fork()
    if middle == 0:  # a parent that forks a child, says its pid, and dies
        try:
            forked = row_process.ForkedDecoders(weights, 2)
            os.write(write, str(forked.pid).encode())
        finally:
            os._exit(0)
    os.close(write)
    child = int(os.read(read, 64))
    os.close(read)
    os.waitpid(middle, 0)
    for _ in range(200):
        if _gone(child):
            break
        time.sleep(0.01)
    assert _gone(child)


def test_a_guided_piece_is_the_same_with_its_rows_in_one_process_or_two(tiny_piano, monkeypatch):
    from cadenza import hub

    p = hub.load(tiny_piano)
    composer = p.composers[0]
    split = p.generate(bars=3, seed=4, composer=composer)
    assert len(p.idle_rows) == 1  # its child waits for the next piece
    again = p.generate(bars=3, seed=4, composer=composer)
    monkeypatch.setattr(row_process, "can_fork", lambda: False)
    together = hub.load(tiny_piano).generate(bars=3, seed=4, composer=composer)
    assert split.notes() == again.notes() == together.notes()
    pid = p.idle_rows[0].pid
    p.idle_rows.clear()  # the last reference: collected, the child told to quit
    assert _gone(pid)


def test_a_child_idle_too_long_quits_and_the_next_piece_forks_another(monkeypatch):
    """Idle in the list, not in a piece: a piece paused longer (Ctrl-Z, a debugger) goes on."""
    from cadenza.nn.numpy_decoder import Decoder, Decoders

    monkeypatch.setattr(row_process, "IDLE_QUIT", 0.2)
    monkeypatch.setattr(row_process, "MAX_NAP", 0.01)
    weights = Decoder(tiny(rope=True))
    idle: list = []
    with row_process.leased_rows(weights, 2, idle) as rows:
        first = rows.pid
        time.sleep(0.6)
        rows.hidden(np.ones((2, 3), dtype=np.int64))
    time.sleep(0.6)
    assert _gone(first)
    tokens = np.ones((2, 3), dtype=np.int64)
    with row_process.leased_rows(weights, 2, idle) as rows:
        assert isinstance(rows, row_process.ForkedDecoders) and rows.pid != first
        assert np.allclose(rows.hidden(tokens), Decoders(weights, 2).hidden(tokens), atol=1e-5)
    idle[0].close()


def test_a_process_forked_later_forks_its_own_child_and_leaves_the_owner_s_alone():
    """A worker forked from the owner inherits its idle list: it must not talk to the owner's
    child through the shared block (the owner's next step would read the worker's answer)."""
    from cadenza.nn.numpy_decoder import Decoder, Decoders

    weights = Decoder(tiny(rope=True))
    idle: list = []
    tokens = np.array([[1, 2, 3], [1, 4, 3]])
    with row_process.leased_rows(weights, 2, idle) as rows:
        owners = rows
    read, write = os.pipe()
    worker = os.fork()
    if worker == 0:
        code = 1
        try:
            os.close(read)
            with row_process.leased_rows(weights, 2, idle) as rows:
                ok = rows is not owners and np.allclose(rows.hidden(tokens), Decoders(weights, 2).hidden(tokens))
            idle[0].close()
            os.write(write, b"ok" if ok else b"no")
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    said = os.read(read, 8)
    os.close(read)
    os.waitpid(worker, 0)
    assert said == b"ok" and not _gone(owners.pid)
    with row_process.leased_rows(weights, 2, idle) as rows:
        assert rows is owners
        assert np.allclose(rows.hidden(tokens), Decoders(weights, 2).hidden(tokens), atol=1e-5)
    owners.close()


def test_rows_taken_back_from_a_child_when_the_cores_are_busy_go_on_as_before(monkeypatch):
    """Waiting for the child more than the rule allows (forced here), the rows come back into this
    process with their keys and values, the child is closed, and the piece goes on the same."""
    from cadenza.nn.numpy_decoder import Decoder, Decoders

    monkeypatch.setattr(row_process, "CHECK_STEPS", 2)
    monkeypatch.setattr(row_process, "WAITED_SHARE", -1.0)
    weights = Decoder(tiny(rope=True))
    a, b = torch.randint(0, TOK.vocab_size, (2, 30)).tolist()
    idle: list = []
    here = Decoders(weights, 2)
    with row_process.leased_rows(weights, 2, idle) as rows:
        pid = rows.pid
        for start, stop in ((0, 5), *((t, t + 1) for t in range(5, 30))):
            tokens = np.array([a[start:stop], b[start:stop]])
            assert np.allclose(rows.hidden(tokens), here.hidden(tokens), atol=1e-5)
        assert rows.together is not None and rows.length == 30 and _gone(pid)
        rows.reset()
        assert np.allclose(rows.hidden(np.array([b[:4], a[:4]])), Decoders(weights, 2).hidden(np.array([b[:4], a[:4]])))
    assert idle == []
    with row_process.leased_rows(weights, 2, idle) as rows:  # the cores were busy a moment ago: no child
        assert not isinstance(rows, row_process.ForkedDecoders)


def test_a_child_killed_mid_piece_is_one_error_the_command_line_reports_in_one_line():
    import signal

    from cadenza.errors import CadenzaError
    from cadenza.nn.numpy_decoder import Decoder

    weights = Decoder(tiny(rope=True))
    with pytest.raises(CadenzaError, match="second process ended"), row_process.leased_rows(weights, 2, []) as rows:
        rows.hidden(np.ones((2, 3), dtype=np.int64))
        os.kill(rows.pid, signal.SIGKILL)
        os.waitpid(rows.pid, 0)
        rows.hidden(np.ones((2, 1), dtype=np.int64))
