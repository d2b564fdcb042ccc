"""cadenza.io.pictures: piano rolls as real PNG files, bar lines where the meter puts them."""

from cadenza.io.pictures import bar_lines_beats, write_piano_roll
from cadenza.score import Meter
from conftest import make_score


def test_piano_roll_is_a_png_with_bar_lines_following_meter_changes(tmp_path):
    score = make_score(bars=3)
    score.meters = [Meter(0.0, 4, 4), Meter(4.0, 3, 4)]
    assert bar_lines_beats(score) == [0.0, 4.0, 7.0, 10.0]
    path = write_piano_roll(score, tmp_path / "roll.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_mode & 0o044  # readable by others, like any file the user makes


def test_bars_are_numbered_as_notation_shows_them():
    """A piece with a pickup numbered its pickup bar 1 (MuseScore: 0)."""
    from cadenza.io.pictures import draw_piano_roll
    from cadenza.score import Note, Part, Score

    notes = [Note(67, 3.0, 1.0)] + [Note(72, 4.0 * b, 4.0) for b in range(1, 6)]
    labels = [t.get_text() for t in draw_piano_roll(Score(parts=[Part("p", 0, False, notes)])).axes[0].texts]
    assert labels[0] == "0"
