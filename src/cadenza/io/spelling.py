"""The notes of a score's lines spelled for a writer (MusicXML, ABC): theory.spell given, for
each note, what it does in its line (the note it moves to and comes from), the notes sounding
with it in every line, the key in effect, the key of its passage (theory.passage_keys), and how
its pitch class was last spelled in its line since the last bar line, key change or repeat's
edge (a note held over a bar line is remembered in the next bar, not over a key change).

Times are a writer's grid ticks; a line is a list of elements (a note or a chord) in time order,
each with `start`, `end`, `pitches` (low to high) and `spellings`, which spell_lines fills in."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from cadenza.score import Key
from cadenza.theory import spell

Spelling = tuple[str, int, int]  # (letter, alteration, octave)


class Element(Protocol):
    start: int
    end: int
    pitches: list[int]
    spellings: Any  # list[Spelling], filled in here


def spell_lines(
    lines: Sequence[Sequence[Element]],
    keys: list[tuple[int, Key]],
    passages: list[tuple[int, Key]],
    edges: set[int],
    tied_in: Callable[[Any], list[bool] | None] = lambda element: None,
) -> None:
    """Fill in every element's `spellings`. `keys` and `passages`: the key changes and the
    passages' keys by tick, each in effect from its tick (the first before any); `edges`: the
    ticks of bar lines and repeats' edges (key changes are added); `tied_in`: per pitch of an
    element, whether it is tied on from the element before, which keeps its spelling."""
    sounding = _sounding(lines)
    key_changes = {t for t, _ in keys}
    forget = sorted(edges | key_changes)
    for line in lines:
        earlier: dict[int, tuple[str, int]] = {}  # pitch class -> (letter, alteration), since the last edge
        span = 0
        for i, element in enumerate(line):
            before, after = (line[i - 1] if i > 0 else None), (line[i + 1] if i + 1 < len(line) else None)
            if (at := bisect_right(forget, element.start)) != span:
                span, edge = at, forget[at - 1]
                earlier = {}
                if before is not None and before.end > edge and edge not in key_changes:  # held over the edge
                    earlier = {p % 12: s[:2] for p, s in zip(before.pitches, before.spellings)}
            key, passage = in_effect(keys, element.start), in_effect(passages, element.start)
            spellings = [
                spell(
                    pitch,
                    key,
                    _neighbour(pitch, after.pitches if after else []),
                    came_from=_neighbour(pitch, before.pitches if before else []),
                    against=sounding[element.start],
                    passage=passage,
                    earlier=earlier.get(pitch % 12),
                )
                for pitch in element.pitches
            ]
            if before is not None and (ties := tied_in(element)) is not None:  # a tied note keeps its spelling
                held_on = dict(zip(before.pitches, before.spellings))
                spellings = [held_on.get(p, s) if tied else s for p, s, tied in zip(element.pitches, spellings, ties)]
            element.spellings = spellings
            earlier.update((p % 12, s[:2]) for p, s in zip(element.pitches, spellings))


def in_effect(changes: list[tuple[int, Any]], tick: int) -> Any:
    """The change in effect at `tick` (a key, a tempo: changes by tick, in order), the first one
    before any; None without changes."""
    i = bisect_right([c[0] for c in changes], tick) - 1
    return changes[max(i, 0)][1] if changes else None


def _neighbour(pitch: int, chord: list[int]) -> int | None:
    """The note `pitch` moves to (or comes from) in a neighbouring element of its line: a lone
    note, or the one note of a chord a semitone away (none if the chord holds `pitch` itself)."""
    if len(chord) == 1:
        return chord[0]
    steps = [p for p in chord if abs(p - pitch) == 1]
    return steps[0] if len(steps) == 1 and pitch not in chord else None


def _sounding(lines: Sequence[Sequence[Element]]) -> dict[int, list[int]]:
    """The pitches sounding at each onset, in every line (a pitch sounding in two lines twice):
    one sweep over the elements."""
    elements = sorted((e for line in lines for e in line), key=lambda e: e.start)
    out: dict[int, list[int]] = {}
    active: list[Element] = []
    for i, element in enumerate(elements):
        if element.start in out:
            continue
        active = [e for e in active if e.end > element.start]
        j = i
        while j < len(elements) and elements[j].start == element.start:
            active.append(elements[j])
            j += 1
        out[element.start] = sorted(p for e in active for p in e.pitches)
    return out
