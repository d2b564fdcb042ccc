"""Shared fixtures. Tests keep their caches and models in temporary folders, never in $HOME."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cadenza.score import Key, Meter, Note, Part, Score, Tempo

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    os.environ["CADENZA_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    os.environ["CADENZA_HOME"] = str(tmp_path_factory.mktemp("home"))


def run_cli(*args: str, check: bool = False, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run `cadenza ARGS` as a real subprocess, as a user would."""
    proc = subprocess.run([sys.executable, "-m", "cadenza.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=os.environ.copy())
    if check and proc.returncode != 0:
        raise AssertionError(f"cadenza {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def chorale() -> Score:
    """A real Bach chorale from music21's corpus (BWV 66.6, F# minor, with a pickup)."""
    from music21 import corpus

    from cadenza.io.scores import music21_to_score

    return music21_to_score(corpus.parse("bach/bwv66.6"), title="bwv66.6")


def make_score(n_voices: int = 4, bars: int = 2) -> Score:
    """A small hand-made score: n voices of quarter and half notes in C major, 4/4."""
    base = [72, 67, 64, 48][:n_voices]
    parts = []
    for v, top in enumerate(base):
        notes, t = [], 0.0
        while t < bars * 4:
            dur = 2.0 if (t // 2) % 2 else 1.0
            notes.append(Note(top + (int(t) % 3) * 2, t, dur, 70 + v))
            t += dur
        parts.append(Part(name=f"v{v}", program=0, notes=notes))
    return Score(parts=parts, tempos=[Tempo(0.0, 90.0)], meters=[Meter(0.0, 4, 4)], keys=[Key(0.0, 0, "major")])


@pytest.fixture(scope="session")
def chorale_midi_folder(tmp_path_factory, chorale) -> Path:
    """A folder of a few real chorales as MIDI, in a subfolder, plus one corrupt and one empty file."""
    from music21 import corpus

    from cadenza.io.midi import write_midi
    from cadenza.io.scores import music21_to_score

    folder = tmp_path_factory.mktemp("midi")
    (folder / "sub").mkdir()
    for name in ("bwv66.6", "bwv1.6", "bwv10.7", "bwv101.7", "bwv102.7", "bwv103.6"):
        write_midi(music21_to_score(corpus.parse(f"bach/{name}")), folder / "sub" / f"{name}.mid")
    (folder / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x01\x00garbage")
    (folder / "empty.mid").write_bytes(b"")
    return folder


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, chorale_midi_folder) -> Path:
    """A tiny 4-voice model really trained for a few steps by the CLI."""
    out = tmp_path_factory.mktemp("models") / "tiny"
    run_cli("train", "--data", str(chorale_midi_folder), "--out", str(out), "--steps", "8", "--eval-every", "4",
            "--embd", "32", "--layers", "1", "--heads", "2", "--block-size", "96", "--batch-size", "4",
            "--quiet", check=True)
    return out
