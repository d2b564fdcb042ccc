"""The benchmark data sets in ../shared/benchmarks: the four piano-roll sets of
Boulanger-Lewandowski, Bengio & Vincent (ICML 2012) with their published splits, and Coconet's
JSB chorales at sixteenth notes in four voices (jsb16th_satb)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

from cadenza.errors import InputError

SPLITS = ("train", "valid", "test")
PUBLISHED_SETS = ("jsb_chorales.json.gz", "nottingham.json.gz", "muse_data.json.gz", "piano_midi.json.gz")
Piece = list[list[int]]  # time steps, each the list of sounding MIDI pitches


def load_benchmark(path: str | Path) -> dict[str, list[Piece]]:
    """A piano-roll benchmark file: gzip JSON {"train": [piece...], "valid": [...], "test": [...]}."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    try:
        data = json.loads(gzip.decompress(path.read_bytes()))
    except (OSError, EOFError, ValueError) as e:
        raise InputError(path, f"not a gzip JSON benchmark file ({type(e).__name__}: {str(e)[:80]})") from None
    if not isinstance(data, dict) or any(not isinstance(data.get(s), list) or not data[s] for s in SPLITS):
        raise InputError(path, f"expected the splits {', '.join(SPLITS)}, each a non-empty list of pieces")
    try:
        return {s: [[[int(p) for p in step] for step in piece] for piece in data[s]] for s in SPLITS}
    except (TypeError, ValueError):
        raise InputError(
            path, "a step is not a list of MIDI pitches (this reads the piano-roll sets, not jsb16th_satb)"
        ) from None


def is_satb_file(data: str) -> bool:
    return data.endswith(".json.gz") and Path(data).is_file()


def load_satb(path: str | Path) -> dict[str, list[np.ndarray]]:
    """jsb16th_satb.json.gz -> {split: [grid (T, 4) of cells (cadenza.tokenize.cells)]}; null (a
    resting voice) -> rest."""
    from cadenza.tokenize.cells import REST

    path = Path(path)
    try:
        data = json.loads(gzip.decompress(path.read_bytes()))
        return {
            s: [
                np.array([[REST if p is None else 1 + int(p) for p in step] for step in piece], dtype=np.int64)
                for piece in data[s]
            ]
            for s in SPLITS
        }
    except (OSError, EOFError, ValueError, KeyError, TypeError) as e:
        raise InputError(path, f"not a four-voice grid file like jsb16th_satb.json.gz ({type(e).__name__})") from None
