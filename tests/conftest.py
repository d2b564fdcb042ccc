"""Shared fixtures and helpers. Tests keep their caches and models in temporary folders, never in $HOME.

Each source module has its own test file, named after it (cadenza/compose/gibbs.py: test_gibbs.py,
cadenza/tokenize/voices.py: test_tokenize_voices.py, cadenza/cli/train.py: test_cli_train.py); what
several of them need lives here. Tests marked `slow` (real training runs, several CLI subprocesses,
anything over about 2 s) are left out by `make test-fast`."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cadenza.score import Key, Meter, Note, Part, Score, Tempo
from cadenza.tokenize.voices import VoicesConfig, VoicesTokenizer

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    os.environ["CADENZA_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    os.environ["CADENZA_HOME"] = str(tmp_path_factory.mktemp("home"))
    for name in ("CADENZA_MODELS", "CADENZA_SOUNDFONT"):  # a user's own models or sound: not under test
        os.environ.pop(name, None)


@pytest.fixture(scope="session", autouse=True)
def _ctrl_c_heard():
    """Ctrl-C (SIGINT) raises KeyboardInterrupt here and in the CLIs the tests start, as at a
    terminal, also when the suite runs as a shell's background job, which starts with SIGINT
    ignored (and its children too): the tests of what Ctrl-C keeps send it themselves."""
    import signal

    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def run_cli(
    *args: str, check: bool = False, timeout: int = 300, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """Run `cadenza ARGS` as a real subprocess, as a user would (in `cwd`, default this one)."""
    proc = subprocess.run(
        [sys.executable, "-m", "cadenza.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ.copy(),
        cwd=cwd,
    )
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


def train_tiny(out: Path, data: Path, *options: str, steps: int, eval_every: int = 0, relative: bool = False) -> Path:
    """A tiny model (32 channels, one layer, two heads, batches of 4) really trained by the CLI for
    `steps` steps on `data`, validated every `eval_every` (default: halfway and at the end);
    `options`: its family's own. `relative`: name the data by its folder's name, from beside it,
    so that the pieces' ids, and with them the split by their hash, are the same on every run
    (the tmp path is not)."""
    run_cli(
        "train",
        "--data",
        data.name if relative else str(data),
        "--out",
        str(out),
        "--steps",
        str(steps),
        "--eval-every",
        str(eval_every or steps // 2),
        "--embd",
        "32",
        "--layers",
        "1",
        "--heads",
        "2",
        "--batch-size",
        "4",
        "--quiet",
        *options,
        check=True,
        cwd=data.parent if relative else None,
    )
    return out


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, chorale_midi_folder) -> Path:
    """A tiny 4-voice model really trained for a few steps by the CLI."""
    return train_tiny(tmp_path_factory.mktemp("models") / "tiny", chorale_midi_folder, "--block-size", "96", steps=8)


def one_line_error(proc, *words):
    """A command refused as users should see it: exit status 2, one line on stderr, no traceback,
    naming each of `words`."""
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for w in words:
        assert w in lines[0], lines[0]


def melody(bars=4, low=64) -> Score:
    """A one-part tune in 4/4 (E F# G# A B A G# F# ... on E by default), ending on a half note."""
    pitches = [low, low + 2, low + 4, low + 5, low + 7, low + 5, low + 4, low + 2]
    notes = [Note(pitches[i % 8], i * 1.0, 1.0) for i in range(bars * 4 - 2)] + [Note(low, bars * 4 - 2.0, 2.0)]
    return Score(parts=[Part("melody", notes=notes)], tempos=[Tempo(0.0, 90.0)], meters=[Meter(0.0, 4, 4)])


def melody_of(pitches, durations=None, key=Key(0.0, 0, "major")) -> Score:
    """A one-part score of the given pitches (one beat each unless `durations` say otherwise), 4/4."""
    durations = durations or [1.0] * len(pitches)
    notes, t = [], 0.0
    for p, d in zip(pitches, durations):
        notes.append(Note(p, t, d))
        t += d
    return Score(parts=[Part("m", notes=notes)], tempos=[Tempo(0.0, 100.0)], meters=[Meter(0.0, 4, 4)], keys=[key])


def note_tuples(part: Part) -> list[tuple[int, float, float]]:
    return sorted((n.pitch, round(n.start_beats, 6), round(n.duration_beats, 6)) for n in part.notes)


def example_score() -> Score:
    """Four parts: a triplet melody, chords, overlapping notes of different lengths (two
    voices, one note tied over two bar lines) on a transposing instrument, and drums; meter,
    key and tempo changes."""
    soprano = [
        Note(70, 0, 1, 90),
        Note(72, 1, 0.5),
        Note(74, 1.5, 0.5),
        Note(75, 2, 1 / 3),
        Note(74, 2 + 1 / 3, 1 / 3),
        Note(72, 2 + 2 / 3, 1 / 3),
        Note(70, 3, 4),
    ]  # tied over the bar
    alto = [Note(p, 0, 2) for p in (62, 65)] + [Note(p, 2, 1) for p in (63, 67)] + [Note(65, 3, 3)]
    clarinet = [Note(58, 0, 8), Note(62, 0, 1), Note(63, 1, 1), Note(65, 2, 2.5), Note(67, 4.5, 1.5)]
    drums = [Note(36, 0, 0.25, 110), Note(38, 1, 0.25, 100), Note(42, 1.5, 0.25, 70)]
    return Score(
        parts=[
            Part("Soprano", 52, False, soprano),
            Part("Alto", 0, False, alto),
            Part("Clarinet", 71, False, clarinet),
            Part("Drums", 0, True, drums),
        ],
        tempos=[Tempo(0.0, 90.0), Tempo(3.0, 72.0)],
        meters=[Meter(0.0, 3, 4), Meter(3.0, 4, 4)],
        keys=[Key(0.0, 10, "major"), Key(3.0, 7, "minor")],
        title="Example",
    )


# -- small untrained networks and training settings ------------------------------------------------

VOICES_TOK = VoicesTokenizer(VoicesConfig(n_voices=4, steps_per_beat=2))


def tiny_voices_model(block=64, rope=False):
    """An untrained two-layer causal transformer over VOICES_TOK, the same weights every call."""
    import torch

    from cadenza.nn.transformer import ModelConfig, Transformer

    torch.manual_seed(0)
    return Transformer(
        ModelConfig(
            vocab_size=VOICES_TOK.vocab_size, block_size=block, n_layer=2, n_head=2, n_embd=32, dropout=0.0, rope=rope
        )
    ).eval()


def voices_config(**kw):
    """A tiny voices training run's settings (cadenza.families.voices.Config)."""
    from cadenza.families.voices import Config

    base = dict(
        data="test",
        steps_per_beat=2,
        block_size=64,
        n_layer=1,
        n_head=2,
        n_embd=32,
        dropout=0.1,
        batch_size=4,
        lr=3e-3,
        warmup_steps=2,
        steps=16,
        eval_every=8,
        checkpoint_minutes=0.0,
        seed=3,
    )
    return Config(**{**base, **kw})


@pytest.fixture(scope="session")
def data(chorale):
    """Two pieces tokenized for a voices model at eighth notes: the chorale and a hand-made score."""
    from cadenza.data.corpus import Piece
    from cadenza.families.voices import tokenize_pieces

    tok = VoicesTokenizer(VoicesConfig(n_voices=4, steps_per_beat=2))
    pieces = [Piece("chorale", chorale), Piece("made", make_score(bars=4))]
    tokenized, skipped = tokenize_pieces(pieces, tok)
    assert not skipped
    return tokenized


# -- the orderless model, really trained by the command line ----------------------------------------


@pytest.fixture(scope="session")
def satb_file(tmp_path_factory):
    """A small four-voice grid file in jsb16th_satb's format: real chorales from music21."""
    from music21 import corpus

    from cadenza.io.scores import music21_to_score
    from cadenza.tokenize.cells import CellsTokenizer

    tok = CellsTokenizer(n_voices=4, steps_per_beat=4)
    pieces = []
    for name in ("bwv66.6", "bwv1.6", "bwv10.7", "bwv101.7"):
        g = tok.encode(music21_to_score(corpus.parse(f"bach/{name}")))
        pieces.append([[None if c == 0 else int(c) - 1 for c in row] for row in g])
    path = tmp_path_factory.mktemp("satb") / "mini_satb.json.gz"
    path.write_bytes(gzip.compress(json.dumps({"train": pieces[:3], "valid": pieces[3:], "test": pieces[3:]}).encode()))
    return path


@pytest.fixture(scope="session")
def tiny_harmonizer(tmp_path_factory, satb_file):
    """A tiny orderless model really trained for a few steps by the CLI."""
    out = tmp_path_factory.mktemp("models") / "tinyharm"
    return train_tiny(out, satb_file, "--orderless", "--window-steps", "64", "--steps-per-beat", "4", steps=6)


# -- piano ------------------------------------------------------------------------------------------


def piano_piece(tonic: int = 0, meter: Meter = Meter(0.0, 4, 4), bars: int = 4, figure: int = 0) -> Score:
    """Two hands in a major key: a right-hand figure (scale, arpeggio or repeated chords, by
    `figure`) over left-hand bass notes on each downbeat and half bar."""
    right, left = [], []
    size = meter.bar_beats
    scale_steps = [0, 2, 4, 5, 7, 9, 11, 12]
    for b in range(bars):
        t = b * size
        for i in range(int(size * 2)):
            step = [scale_steps[(i + b) % 8], [0, 4, 7, 12][i % 4], [4, 7][i % 2]][figure % 3]
            right.append(Note(72 + tonic + step, t + i * 0.5, 0.5))
        left.append(Note(48 + tonic + (7 if b % 2 else 0), t, size / 2))
        left.append(Note(55 + tonic, t + size / 2, size / 2))
    return Score(
        parts=[Part("Right", notes=right), Part("Left", notes=left)],
        tempos=[Tempo(0.0, 100.0)],
        meters=[meter],
        keys=[Key(0.0, tonic % 12, "major")],
    )


@pytest.fixture(scope="session")
def piano_folder(tmp_path_factory) -> Path:
    """Piano pieces by two 'composers' (folders Alpha: 4/4, Beta: 3/4), one piece of no one's at
    the top, and a broken file."""
    from cadenza.io.midi import write_midi

    folder = tmp_path_factory.mktemp("piano")
    for composer, meter in (("Alpha", Meter(0.0, 4, 4)), ("Beta", Meter(0.0, 3, 4))):
        (folder / composer).mkdir()
        for i in range(6):
            write_midi(piano_piece(tonic=[0, 7, 5][i % 3], meter=meter, figure=i), folder / composer / f"{i}.mid")
    write_midi(piano_piece(tonic=2), folder / "anonymous.mid")
    (folder / "Alpha" / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x01\x00xx")
    return folder


@pytest.fixture(scope="session")
def tiny_piano(tmp_path_factory, piano_folder) -> Path:
    """A tiny piano model really trained for a few steps by the CLI."""
    out = tmp_path_factory.mktemp("models") / "tinypiano"
    return train_tiny(
        out,
        piano_folder,
        "--family",
        "piano",
        "--block-size",
        "128",
        "--valid-percent",
        "20",
        steps=6,
        eval_every=6,
        relative=True,  # 4 of Alpha's 6 pieces and 5 of Beta's train: each composer is known
    )


@pytest.fixture(scope="session")
def tiny_piano_steps(tmp_path_factory, piano_folder) -> Path:
    """The same, reading a step a note (--note-steps), in a context of 48 steps (a few bars, so
    that writing slides it)."""
    out = tmp_path_factory.mktemp("models") / "tinypianosteps"
    return train_tiny(
        out,
        piano_folder,
        "--family",
        "piano",
        "--note-steps",
        "--block-size",
        "48",
        "--valid-percent",
        "20",
        steps=6,
        eval_every=6,
        relative=True,
    )
