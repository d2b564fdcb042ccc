"""An accompaniment model in use: a lead sheet's melody and chord symbols in, the notes of an
accompaniment out (cadenza.families.accompaniment; `cadenza arrange --style pop`).

    Accompanist(model, meta, directory).accompany(score, seed) -> [Note]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cadenza.errors import MusicError
from cadenza.score import Note, Score
from cadenza.tokenize.accompaniment import N_PITCHES, AccompanimentTokenizer, decode, encode, melody_of, step_of


class Accompanist:
    def __init__(self, model, meta: dict, directory: Path):
        self.model = model.eval()
        self.meta = meta
        self.directory = directory
        self.name = directory.name
        self.block = int(meta["model"]["block_size"])
        AccompanimentTokenizer.from_dict(meta["tokenizer"])  # a model of another grid is refused

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """(T, N_PITCHES, 3) P(silent, onset, held) per step and pitch. A song longer than the
        network's window is read in windows half a window apart, each step taken from the
        window where it lies nearest the middle."""
        import torch

        from cadenza.nn.tagger import read_in_windows

        return read_in_windows(
            self.model, features, self.block, lambda z: torch.softmax(z.reshape(-1, N_PITCHES, 3), dim=-1)
        )

    def accompany(self, score: Score, seed: int = 0, velocity: int = 64) -> list[Note]:
        """The accompaniment of the lead sheet `score` (its part named "melody", else its first),
        from its first chord symbol (and not before the melody's first note) to the melody's
        end. The same seed gives the same notes."""
        melody = melody_of(score.parts)
        if melody is None:
            raise MusicError("no melody to accompany: no part has pitched notes")
        if not score.chords:
            raise MusicError("no chord symbols to accompany")
        grid = encode(score, melody, [])
        p = self.probabilities(grid.features)
        first = max(min(c.start_beats for c in score.chords), min(n.start_beats for n in melody.notes))
        end = max(n.end_beats for n in melody.notes)
        notes = decode(p[..., 1], p[..., 2], grid, seed, velocity, start=step_of(first))
        return [n if n.end_beats <= end else Note(n.pitch, n.start_beats, end - n.start_beats, n.velocity)
                for n in notes if n.start_beats < end - 1e-6]  # fmt: skip
