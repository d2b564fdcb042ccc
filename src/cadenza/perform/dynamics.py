"""Dynamic markings as MIDI velocities: the plan's per-section dynamics (cadenza.plan.form)
played as a score is played before a performer shapes it.

The table is MuseScore 3's: its demo scores (Debian's musescore3, /usr/share/mscore3-3.2/demos)
store ppp..ff as velocities 16, 33, 49, 64, 80, 96, 112, and fff is 126. About 16 velocity
steps a marking; mf is the tokenizer's usual 80."""

from __future__ import annotations

from dataclasses import replace

from cadenza.score import Dynamic, Part, Score, Section

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


def where_they_change(marks: list[tuple[float, str]]) -> list[tuple[float, str]]:
    """Dynamics marks (place, marking), in order, less each that repeats the one before it: a
    marking holds until the next."""
    return [(t, m) for (t, m), before in zip(marks, [None, *(m for _, m in marks)]) if m != before]


def marked_on_from(score: Score, at: float) -> Score:
    """`score` (a continued one, its new music from beat `at`) with each marked part's dynamics
    marks saying how loud its new music plays: a mark at `at` naming the level nearest the median
    velocity of its notes from there, where the mark in force names another (a prompt marked f,
    continued at p, had shown f over the new bars)."""

    def marked(part: Part) -> Part:
        new = sorted(n.velocity for n in part.notes if n.start_beats >= at - 1e-9)
        before = [d for d in part.dynamics if d.start_beats < at - 1e-9]
        if not before or not new:
            return part
        level = min(VELOCITY, key=lambda m: abs(VELOCITY[m] - new[len(new) // 2]))
        return part if level == before[-1].marking else replace(part, dynamics=[*before, Dynamic(at, level)])

    return replace(score, parts=[marked(p) for p in score.parts])


def marks_shown(part: Part, sections: list[Section]) -> list[tuple[float, str]]:
    """The dynamics marks a writer shows under `part`, (beat, marking), where they change: its
    own (Part.dynamics), or where it has none its sections' (a plan's "p"; a read file's sections
    carry its first part's marks, which a part marked otherwise must not show); ppp..fff only."""
    given = [(d.start_beats, d.marking) for d in part.dynamics] or [
        (s.start_beats, s.dynamics) for s in sections if s.dynamics is not None
    ]
    return where_they_change([(t, m) for t, m in given if m in VELOCITY])
