"""The cells tokenizer: voices on a time grid for the orderless model, one cell per step and voice.

A grid is an int array (T steps, V voices) of cells: REST (0), or 1 + p for MIDI pitch p
sounding. There is no onset/hold distinction: a held note repeats its pitch, as in Coconet's
data. MASK (an input value only) hides a cell from the model.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from cadenza.score import Note, Part, Score
from cadenza.theory import voice_names
from cadenza.tokenize.base import config_of

N_CELL = 129  # rest + 128 pitches
MASK = N_CELL  # input only: the cell is hidden
REST = 0


def cell_of(pitch: int | None) -> int:
    return REST if pitch is None else 1 + pitch


def pitch_of(cell: int) -> int | None:
    return None if cell == REST else cell - 1


@dataclass(frozen=True)
class CellsTokenizer:
    """Score <-> grid (T, V) of cells, voices assigned as the voices tokenizer assigns them
    (highest first)."""

    n_voices: int = 4
    steps_per_beat: int = 4
    kind: ClassVar[str] = "cells"
    vocab_size: ClassVar[int] = N_CELL + 1  # the cells and MASK

    def encode(self, score: Score) -> np.ndarray:
        from cadenza.tokenize.voices import HOLD, PITCH0, VoicesConfig, VoicesTokenizer

        rows = VoicesTokenizer(VoicesConfig(n_voices=self.n_voices, steps_per_beat=self.steps_per_beat)).cells(score)
        out = np.zeros((len(rows), self.n_voices), dtype=np.int64)
        for s, row in enumerate(rows):
            for v, t in enumerate(row):
                out[s, v] = (1 + t - PITCH0) if t >= PITCH0 else (out[s - 1, v] if t == HOLD and s else REST)
        return out

    def decode(self, grid: np.ndarray) -> Score:
        """A grid -> a Score of one part per voice (each run of one pitch is one note)."""
        return Score(
            parts=[
                Part(name=name, notes=cells_to_notes(grid[:, v], self.steps_per_beat))
                for v, name in enumerate(voice_names(self.n_voices))
            ]
        )

    def to_dict(self) -> dict:
        return {"kind": self.kind, "n_voices": self.n_voices, "steps_per_beat": self.steps_per_beat}

    @classmethod
    def from_dict(cls, d: dict) -> CellsTokenizer:
        return cls(**config_of(d, cls.kind))


def cells_to_notes(
    cells: np.ndarray, steps_per_beat: int, new_notes_at: Set[int] = frozenset(), velocity: int = 80
) -> list[Note]:
    """A voice's cells -> notes: each run of one pitch becomes one note (split again at the
    steps in `new_notes_at`); rests are gaps."""
    notes, start = [], 0
    for s in range(1, len(cells) + 1):
        if s == len(cells) or cells[s] != cells[start] or s in new_notes_at:
            if cells[start] != REST:
                notes.append(
                    Note(int(cells[start]) - 1, start / steps_per_beat, (s - start) / steps_per_beat, velocity)
                )
            start = s
    return notes
