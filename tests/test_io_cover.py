"""The cover picture (cadenza.io.cover): drawn from the piece's features, the same for the same piece."""

from __future__ import annotations

import numpy as np

from cadenza.io.cover import draw_cover, features, write_cover
from cadenza.score import Key, Meter, Note, Part, Score, Section, Tempo


def piece(tonic: int = 2, mode: str = "major", sections: tuple[str, ...] = (), tempo: float = 100.0) -> Score:
    notes = [Note(60 + tonic + (i % 5), i * 0.5, 0.5) for i in range(32)]
    return Score(
        parts=[Part("Melody", notes=notes)],
        tempos=[Tempo(0.0, tempo)],
        meters=[Meter(0.0, 4, 4)],
        keys=[Key(0.0, tonic, mode)],
        sections=[Section(i * 4.0, s) for i, s in enumerate(sections)],
    )


def test_the_same_piece_always_gets_the_same_picture(tmp_path):
    a, b = write_cover(piece(), tmp_path / "a.cover.png"), write_cover(piece(), tmp_path / "b.cover.png")
    assert a.read_bytes() == b.read_bytes() and a.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_key_and_tempo_change_the_picture():
    base = draw_cover(piece(), 64)
    for other in (piece(tonic=7), piece(mode="minor"), piece(tempo=160.0)):
        assert np.abs(draw_cover(other, 64).astype(int) - base).mean() > 5


def test_a_minor_key_is_darker():
    assert draw_cover(piece(mode="minor"), 64).mean() < draw_cover(piece(), 64).mean()


def test_returning_sections_mirror_the_picture():
    plain = draw_cover(piece(sections=("A", "B")), 64)
    assert not np.array_equal(plain, plain[:, ::-1])
    one = draw_cover(piece(sections=("A", "B", "A")), 64)
    assert features(piece(sections=("A", "B", "A'")))["returns"] == 1
    assert np.array_equal(one, one[:, ::-1])
    two = draw_cover(piece(sections=("A", "A", "B", "A")), 64)
    assert np.array_equal(two, two[::-1, :]) and np.array_equal(two, two[:, ::-1])
