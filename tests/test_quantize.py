"""cadenza.perform.quantize: a recorded performance read as a score."""

from __future__ import annotations

import random

from cadenza.perform.quantize import is_performance, quantized
from cadenza.score import Meter, Note, Part, Pedal, Score, Tempo


def played(per_bar: int, bars: int = 24, seed: int = 0, beat_s: float = 0.55) -> tuple[Score, list[tuple[int, float]]]:
    """A waltz or march as a pianist might record it: loud bass on each downbeat, chords on the
    other beats, eighths above; the beat drifts slowly (+-8%) and every onset is a few ms off.
    Its notes are in seconds (at 120 bpm: 2 file beats a second). Also (pitch, beat) as written."""
    rng = random.Random(seed)
    notes, written, t = [], [], 0.0
    for b in range(bars * per_bar):
        beat = beat_s * (1 + 0.08 * ((b // 8) % 3 - 1) / 1)
        down = b % per_bar == 0
        jitter = lambda: rng.gauss(0, 0.008)  # noqa: E731
        if down:
            notes.append(Note(40 + (b // per_bar) % 5, (t + jitter()) * 2, beat * 2 * 0.9, 100))
            written.append((40 + (b // per_bar) % 5, float(b)))
        else:
            for p in (55, 59):
                notes.append(Note(p, (t + jitter()) * 2, beat * 2 * 0.5, 55))
                written.append((p, float(b)))
        for half in (0, 1):
            p = 72 + rng.choice([0, 2, 4, 5, 7])
            notes.append(Note(p, (t + half * beat / 2 + jitter()) * 2, beat * 0.9, 70))
            written.append((p, b + half / 2))
        t += beat
    score = Score(
        parts=[Part("Piano", notes=sorted(notes, key=lambda n: n.start_beats), pedals=[Pedal(0.0, 4.0)])],
        tempos=[Tempo(0.0, 120.0)],
        meters=[Meter(0.0, 4, 4)],
    )
    return score, written


def test_a_written_score_is_not_a_performance_and_a_recording_is():
    score, _ = played(3)
    assert is_performance(score)
    on_grid = Score(parts=[Part("p", notes=[Note(60, i * 0.25, 0.25) for i in range(40)])])
    assert not is_performance(on_grid)


def test_a_recorded_waltz_and_march_come_back_in_their_meters_with_their_notes_on_the_beats():
    for per_bar in (3, 4):
        score, written = played(per_bar, seed=per_bar)
        q, found = quantized(score)
        assert str(found.meter) == f"{per_bar}/4", found.describe()
        assert 95 <= found.tempo_bpm <= 125
        got = sorted((n.pitch, n.start_beats) for n in q.notes())
        shift = got[0][1] - min(b for p, b in written if p == got[0][0])
        assert sum((p, b + shift) in set(got) for p, b in written) >= 0.9 * len(written)
        downbeats = {n.start_beats for n in q.notes() if n.pitch < 50}
        assert all(abs(b / per_bar - round(b / per_bar)) < 1e-9 for b in downbeats)  # bass on bar lines
        assert q.parts[0].pedals and q.parts[0].pedals[0].start_beats >= 0
        assert all(n.duration_beats > 0 for n in q.notes())
