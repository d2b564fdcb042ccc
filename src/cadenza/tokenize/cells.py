"""The cells tokenizer: voices on a time grid for the orderless model, one cell per step and voice.

A grid is an int array (T steps, V voices) of cells: REST (0), or 1 + p for MIDI pitch p
sounding. There is no onset/hold distinction: a held note repeats its pitch, as in Coconet's
data. MASK (an input value only) hides a cell from the model.
"""
from __future__ import annotations

from collections.abc import Set

import numpy as np

from cadenza.score import Note

N_CELL = 129  # rest + 128 pitches
MASK = N_CELL  # input only: the cell is hidden
REST = 0


def cell_of(pitch: int | None) -> int:
    return REST if pitch is None else 1 + pitch


def pitch_of(cell: int) -> int | None:
    return None if cell == REST else cell - 1


def cells_of(score, tok) -> np.ndarray:
    """A Score -> grid (T, V) of cells, through the voices tokenizer `tok`'s voice assignment."""
    from cadenza.tokenize.voices import HOLD, PITCH0

    rows = tok.cells(score)
    out = np.zeros((len(rows), tok.config.n_voices), dtype=np.int64)
    for s, row in enumerate(rows):
        for v, t in enumerate(row):
            out[s, v] = (1 + t - PITCH0) if t >= PITCH0 else (out[s - 1, v] if t == HOLD and s else REST)
    return out


def cells_to_notes(cells: np.ndarray, steps_per_beat: int, new_notes_at: Set[int] = frozenset(),
                   velocity: int = 80) -> list[Note]:
    """A voice's cells -> notes: each run of one pitch becomes one note (split again at the
    steps in `new_notes_at`); rests are gaps."""
    notes, start = [], 0
    for s in range(1, len(cells) + 1):
        if s == len(cells) or cells[s] != cells[start] or s in new_notes_at:
            if cells[start] != REST:
                notes.append(Note(int(cells[start]) - 1, start / steps_per_beat, (s - start) / steps_per_beat, velocity))
            start = s
    return notes
