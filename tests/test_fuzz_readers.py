"""benchmarks/fuzz_readers.py: damaged copies of real files reach the readers and the first commands a
musician runs, and none of them gets a traceback, a line that does not name the file, or library noise."""

from __future__ import annotations

import sys

import pytest

from conftest import ROOT


@pytest.fixture(scope="module")
def fuzz():
    """The harness, imported from benchmarks/ (kept on sys.path while the module's tests run, so
    that its spawned workers can import it too)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import fuzz_readers

    yield fuzz_readers
    sys.path.remove(str(ROOT / "benchmarks"))


def test_thirty_mutants_reach_the_readers_without_a_traceback(fuzz):
    result = fuzz.fuzz(n=30, seed=0, jobs=0, cli=False, quiet=True)
    counts = {k: sum(c[k] for c in result["counts"].values()) for k in ("runs", *fuzz.COLUMNS)}
    assert counts["runs"] == 30
    assert {k: v for k, v in counts.items() if k != "runs"} == dict.fromkeys(fuzz.COLUMNS, 0), fuzz.summary(result)


def test_mutant_i_depends_only_on_the_seed_and_i(fuzz):
    import random

    seeds = fuzz.seed_files(["midi", "abc"], random.Random(0))
    assert fuzz.make_mutant(seeds, 3, 7) == fuzz.make_mutant(seeds, 3, 7)
    assert fuzz.make_mutant(seeds, 3, 7) != fuzz.make_mutant(seeds, 3, 8)


def test_the_harness_counts_what_a_user_must_not_see(fuzz, monkeypatch):
    """Not vacuous: a reader that raises KeyError, one whose error does not name the file, and one
    that prints to stderr are each counted."""
    import cadenza.io
    from cadenza.errors import InputError

    def broken(path):
        if str(path).endswith(".mid"):
            raise KeyError("MThd")
        if str(path).endswith(".abc"):
            raise InputError("somewhere else", "Invaild midi file!")
        print("music21: WARNING: out of midi channels", file=sys.stderr)
        return []

    monkeypatch.setattr(cadenza.io, "read_scores", broken)
    result = fuzz.fuzz(n=4, seed=0, formats=["midi", "abc", "kern"], jobs=0, cli=False, quiet=True)
    counts = result["counts"]
    assert counts[("midi", "read")]["traceback"] >= 1
    assert counts[("abc", "read")]["not file-first"] >= 1 and counts[("abc", "read")]["library words"] >= 1
    assert counts[("kern", "read")]["noise"] >= 1
    assert fuzz.problems(result) > 0


@pytest.mark.slow
def test_mutants_through_continue_and_harmonize_in_worker_processes(fuzz):
    """The real thing, small: worker processes with timeouts and a memory cap, and the commands."""
    result = fuzz.fuzz(n=24, seed=0, jobs=2, cli=True, timeout=120, quiet=True)
    total = {k: sum(c[k] for c in result["counts"].values()) for k in ("runs", *fuzz.COLUMNS)}
    assert total["runs"] == 24 * 3
    for problem in ("traceback", "hang", "crash", ">1 GB", "multi-line", "library words", "noise"):
        assert total[problem] == 0, fuzz.summary(result)
    readers = [c for (_, target), c in result["counts"].items() if target == "read"]
    assert sum(c["not file-first"] for c in readers) == 0, fuzz.summary(result)
