"""How a melody sits on its chord symbols, the two measures of a lead sheet's melody:

- strong-beat chord tones: the share of the melody's notes struck on a strong beat
  (theory.strong_beats) whose pitch class is a tone of the chord symbol in force;
- resolved non-chord tones: of the melody's notes that are not tones of the chord in force
  when struck, the share that become one while held (the chord changes under them) or that
  the next note, struck as this one ends, leaves by step (one or two semitones) to a tone of
  the chord in force at its own start. A rest after one leaves it unresolved.

A tune's notes before its first chord symbol (a pickup) are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from cadenza.chords import pitch_classes
from cadenza.score import Score, bar_starts, in_force
from cadenza.theory import strong_beats
from cadenza.tokenize.chord_beats import melody_line


@dataclass(frozen=True)
class MelodyOnChords:
    strong: int  # notes struck on a strong beat under a chord
    strong_chord_tones: int  # of which chord tones
    non_chord_tones: int  # notes that are not tones of the chord in force
    resolved: int  # of which left by step to a chord tone

    @property
    def strong_share(self) -> float:
        return self.strong_chord_tones / self.strong if self.strong else float("nan")

    @property
    def resolved_share(self) -> float:
        return self.resolved / self.non_chord_tones if self.non_chord_tones else float("nan")


def melody_on_chords(score: Score) -> MelodyOnChords:
    """The two measures for the top line of the score's first pitched part."""
    line = melody_line(score)
    chords = sorted(score.chords, key=lambda c: c.start_beats)
    if not line or not chords:
        return MelodyOnChords(0, 0, 0, 0)
    meters = sorted(score.meters, key=lambda m: m.start_beats)
    strong_at: set[float] = set()
    for bar in bar_starts(score):
        meter = in_force(meters, bar, 1e-9)
        if meter is not None:
            strong_at.update(round(bar + b, 6) for b in strong_beats(meter))

    def chord_at(beat: float):
        return in_force(chords, beat, 1e-9)

    strong = strong_tones = outside = resolved = 0
    for i, n in enumerate(line):
        chord = chord_at(n.start_beats)
        if chord is None:
            continue
        tone = n.pitch % 12 in pitch_classes(chord)
        if round(n.start_beats, 6) in strong_at:
            strong += 1
            strong_tones += tone
        if not tone:
            outside += 1
            later = [c for c in chords if n.start_beats < c.start_beats < n.end_beats - 1e-9]
            if any(n.pitch % 12 in pitch_classes(c) for c in later):
                resolved += 1
            elif i + 1 < len(line) and line[i + 1].start_beats <= n.end_beats + 1e-9:
                nxt = line[i + 1]
                after = chord_at(nxt.start_beats)
                if after is not None and 1 <= abs(nxt.pitch - n.pitch) <= 2 and nxt.pitch % 12 in pitch_classes(after):
                    resolved += 1
    return MelodyOnChords(strong, strong_tones, outside, resolved)
