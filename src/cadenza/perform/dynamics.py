"""Dynamic markings as MIDI velocities: the plan's per-section dynamics (cadenza.plan.form)
played as a score is played before a performer shapes it.

The table is MuseScore 3's: its demo scores (Debian's musescore3, /usr/share/mscore3-3.2/demos)
store ppp..ff as velocities 16, 33, 49, 64, 80, 96, 112, and fff is 126. About 16 velocity
steps a marking; mf is the tokenizer's usual 80."""

from __future__ import annotations

from dataclasses import replace

from cadenza.score import Score

VELOCITY = {"ppp": 16, "pp": 33, "p": 49, "mp": 64, "mf": 80, "f": 96, "ff": 112, "fff": 126}


def with_dynamics(score: Score, spans: list[tuple[float, float, str]]) -> Score:
    """A copy whose notes starting in each (start, end, marking) span, in beats, sound at the
    marking's velocity; notes outside every span keep theirs."""

    def velocity(start: float, old: int) -> int:
        for a, b, marking in spans:
            if a - 1e-9 <= start < b - 1e-9:
                return VELOCITY[marking]
        return old

    parts = [
        replace(p, notes=[replace(n, velocity=velocity(n.start_beats, n.velocity)) for n in p.notes])
        for p in score.parts
    ]
    return replace(score, parts=parts)
