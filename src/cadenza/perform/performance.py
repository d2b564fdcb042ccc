"""The Performance: a quantized Score as played, and what every performer produces.

A performer (cadenza.perform.rules, cadenza.perform.learned) says how to play each note as an
Expression, in the units players think in: how much longer or shorter each beat is than the
score's tempo marks it, how loud each note is, how early or late it comes against the beat,
how long it is held against its written length, and where the sustain pedal is down. One
function (`realize`) turns an Expression into a Performance, so every performer is timed,
clipped and written the same way.

A Performance keeps the score it played and the time of every beat (its time map), so that
its tempo curve can be compared with a human's, beat for beat. Written out (`to_score`) it is
a Score with a tempo change at every beat that follows the time map, and notes placed at
their played times: a DAW shows the bar lines where the player put them, and the MIDI plays
exactly as performed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from cadenza.score import PIANOS, Meter, Note, Pedal, Score, Tempo, beats_to_seconds

MIN_SECONDS = 0.03  # the shortest note a performance plays (a staccato sixteenth at a fast tempo)
MIN_BEAT_FACTOR, MAX_BEAT_FACTOR = 0.33, 3.0  # how far one beat may stretch against the marked tempo


def beat_grid(score: Score) -> np.ndarray:
    """The beats of the meter, in quarter notes, from 0 to past the last note: a quarter in
    4/4 and 3/4, a dotted quarter in 6/8, 9/8 and 12/8, an eighth in 5/8 and 7/8, a half in 2/2.
    This is what a conductor beats and what ASAP's annotations mark."""
    meters = sorted(score.meters, key=lambda m: m.start_beats)
    if not meters or meters[0].start_beats > 0:  # music before the first meter beats in quarters
        meters = [Meter(0.0, 4, 4), *meters]
    end = max(score.end_beats, 1e-6)
    points: list[float] = []
    for i, m in enumerate(meters):
        stop = meters[i + 1].start_beats if i + 1 < len(meters) else end
        step = meter_beat(m.numerator, m.denominator)
        at = m.start_beats
        while at < stop - 1e-6:
            points.append(at)
            at += step
    if not points or end > points[-1] + 1e-6:
        points.append(end)
    return np.array(sorted(set(round(p, 6) for p in points)), dtype=np.float64)


def beat_index(beats: np.ndarray, positions) -> np.ndarray:
    """The beat (interval of the grid `beats`) each score position falls in; a position a
    hair (1e-6 beat) short of a beat counts as on it. Positions before the grid or past it fall
    in its first or last beat."""
    found = np.searchsorted(beats, np.asarray(positions, dtype=np.float64) + 1e-6, side="right") - 1
    return np.clip(found, 0, len(beats) - 2)


def marked_seconds(score: Score, beats) -> np.ndarray:
    """The time (seconds) of score positions under the score's own tempo marks."""
    return np.array([beats_to_seconds(float(b), score.tempos) for b in beats])


def meter_beat(numerator: int, denominator: int) -> float:
    """The length of a meter's beat in quarter notes: compound meters (6/8, 9/8, 12/8, 6/4)
    beat in dotted notes, the rest in their denominator."""
    unit = 4.0 / denominator
    if numerator in (6, 9, 12) and denominator >= 4:
        return 3 * unit
    return unit


@dataclass
class Expression:
    """How to play a score, as a performer decides it. Arrays are indexed by beat (the
    intervals of `beats`, a beat_grid) or by note (in `notes_in_order(score)` order).

    - beat_factor: each beat's length against the score's marked tempo (1.2: 20% slower);
    - velocity: each note's MIDI velocity;
    - shift_seconds: each note's onset against the beat (negative: early);
    - articulation: each note's sounding length against its written length (0.5: staccato);
    - pedal: sustain-pedal spans, (down, up) in score beats.
    """

    beats: np.ndarray
    beat_factor: np.ndarray
    velocity: np.ndarray
    shift_seconds: np.ndarray
    articulation: np.ndarray
    pedal: list[tuple[float, float]] = field(default_factory=list)


def notes_in_order(score: Score) -> list[tuple[int, Note]]:
    """(part index, note) of every note, by onset, then pitch from the top, then part: the
    order an Expression's per-note arrays follow."""
    pairs = [(i, n) for i, p in enumerate(score.parts) for n in p.notes]
    return sorted(pairs, key=lambda x: (x[1].start_beats, -x[1].pitch, x[0]))


def deadpan(score: Score) -> Expression:
    """The score exactly as written: its tempo marks, its velocities, its own pedal (if it has
    any: a performance read back)."""
    beats = beat_grid(score)
    notes = notes_in_order(score)
    return Expression(
        beats=beats,
        beat_factor=np.ones(len(beats) - 1),
        velocity=np.array([n.velocity for _, n in notes], dtype=np.float64),
        shift_seconds=np.zeros(len(notes)),
        articulation=np.ones(len(notes)),
        pedal=sorted({(q.start_beats, q.end_beats) for p in score.parts for q in p.pedals}),
    )


@dataclass
class Performance:
    """A score as played: `score` is what was played (quantized, as written); `beats` and
    `seconds` are the time map (the second each beat of the score fell on); `notes` are the
    played notes, each (part index, pitch, start seconds, end seconds, velocity); `pedal` the
    sustain pedal's spans in seconds; `performer` names who played it."""

    score: Score
    beats: np.ndarray
    seconds: np.ndarray
    notes: list[tuple[int, int, float, float, int]]
    pedal: list[tuple[float, float]]
    performer: str = ""

    def seconds_at(self, beats) -> np.ndarray:
        """The played time of score positions (quarter notes), on the time map (past its ends, at
        the first or last beat's tempo)."""
        return _line(beats, self.beats, self.seconds)

    def beats_at(self, seconds) -> np.ndarray:
        """The score position of played times: the time map backwards."""
        return _line(seconds, self.seconds, self.beats)

    def to_score(self) -> Score:
        """A Score that plays as performed: a tempo change at each beat of the time map, notes
        and pedal at their played times, velocities as played. Meters and keys stay the
        score's, so its bars line up with the performance. The whole map is moved so that the
        first note played falls where the first note is written (a melody played 20 ms early
        is early against the beat, not a piece that starts late): a pickup stays a pickup."""
        written = min((n.start_beats for n in self.score.notes()), default=0.0)
        first = min((n[2] for n in self.notes), default=0.0)
        shift = written - float(self.beats_at(first)) if self.notes else 0.0
        if abs(shift) > 0.25:  # a performance that starts a long way off the score keeps its map
            shift = 0.0
        tempos = [
            Tempo(0.0 if i == 0 else float(b0) + shift, float(60.0 * (b1 - b0) / (s1 - s0)))
            for i, (b0, b1, s0, s1) in enumerate(
                zip(self.beats[:-1], self.beats[1:], self.seconds[:-1], self.seconds[1:])
            )
        ]
        parts = [replace(p, notes=[], pedals=[]) for p in self.score.parts]
        for part, pitch, start, end, velocity in self.notes:
            a, b = (float(x) + shift for x in self.beats_at([start, end]))
            parts[part].notes.append(Note(pitch, round(a, 6), max(round(b - a, 6), 1e-3), int(velocity)))
        for down, up in self.pedal:  # the pedal of every piano part (each on its own channel)
            a, b = (max(float(x) + shift, 0.0) for x in self.beats_at([down, up]))
            for sustained in parts:
                if not sustained.is_drum and sustained.program in PIANOS:
                    sustained.pedals.append(Pedal(round(a, 6), max(round(b - a, 6), 1e-3)))
        for p in parts:
            p.notes.sort(key=lambda n: (n.start_beats, n.pitch))
        return replace(self.score, parts=parts, tempos=tempos or self.score.tempos)

    def write(self, path, force: bool = False):
        """Write the performance as MIDI (.mid) or audio (.wav, .flac, .ogg), atomically; an
        existing file is kept unless `force`."""
        from pathlib import Path

        from cadenza.errors import OptionError

        path = Path(path)
        suffix = path.suffix.lower()
        if suffix in (".mid", ".midi"):
            from cadenza.io.midi import write_midi

            return write_midi(self.to_score(), path, force=force)
        if suffix in (".wav", ".flac", ".ogg"):
            from cadenza.io.audio import write_audio

            return write_audio(self.to_score(), path, force=force)
        raise OptionError(f"{path}: a performance is written as .mid, .wav, .flac or .ogg")


def _line(x, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """np.interp, but continued past both ends along the first and last segment."""
    y = np.interp(x, xp, fp)
    if len(xp) < 2:
        return y
    x = np.asarray(x, dtype=np.float64)
    before, after = x < xp[0], x > xp[-1]
    low, high = (fp[1] - fp[0]) / (xp[1] - xp[0]), (fp[-1] - fp[-2]) / (xp[-1] - xp[-2])
    return np.where(before, fp[0] + (x - xp[0]) * low, np.where(after, fp[-1] + (x - xp[-1]) * high, y))


def realize(score: Score, expression: Expression, performer: str = "") -> Performance:
    """Play `score` as `expression` says: beats stretched within MIN/MAX_BEAT_FACTOR of the
    marked tempo, velocities within 1..127, notes at least MIN_SECONDS long (unless their part
    strikes their pitch again sooner: they end there) and never before the piece starts."""
    beats = expression.beats
    marked = marked_seconds(score, beats)
    factor = np.clip(expression.beat_factor, MIN_BEAT_FACTOR, MAX_BEAT_FACTOR)
    seconds = np.concatenate([[marked[0]], marked[0] + np.cumsum(np.diff(marked) * factor)])
    performance = Performance(score, beats, seconds, [], [], performer)
    played = []
    for k, (part, n) in enumerate(notes_in_order(score)):
        start, written_end = (float(x) for x in performance.seconds_at([n.start_beats, n.end_beats]))
        length = max((written_end - start) * float(expression.articulation[k]), MIN_SECONDS)
        start = max(start + float(expression.shift_seconds[k]), 0.0)
        velocity = int(np.clip(round(float(expression.velocity[k])), 1, 127))
        played.append((part, n.pitch, round(start, 6), round(start + length, 6), velocity))
    performance.notes = _released_before_struck_again(played)
    performance.pedal = [
        (float(performance.seconds_at(a)), float(performance.seconds_at(b))) for a, b in expression.pedal if b > a
    ]
    return performance


def _released_before_struck_again(played: list) -> list:
    """Notes that would still sound when their part strikes their pitch again end as it is
    struck (a MIDI note-off after the new note-on would cut the new note short)."""
    order = sorted(range(len(played)), key=lambda i: (played[i][0], played[i][1], played[i][2]))
    out = list(played)
    for i, j in zip(order, order[1:]):
        a, b = out[i], out[j]
        if (a[0], a[1]) == (b[0], b[1]) and a[3] > b[2] + 1e-9:
            out[i] = (*a[:3], round(max(b[2], a[2] + 0.001), 6), a[4])
    return out


def scaled(expression: Expression, base: Expression, amount: float) -> Expression:
    """`expression` with its departures from `base` (usually deadpan) scaled by `amount`: 0
    plays `base`, 1 as it is, 2 twice as much. Tempo and articulation scale in log space, so
    twice as expressive is a ritardando twice as deep, not a negative beat. The pedal is
    kept whenever `amount` is above 0 (at 0, the base's)."""

    def mix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return b + amount * (a - b)

    return Expression(
        beats=expression.beats,
        beat_factor=np.exp(mix(np.log(expression.beat_factor), np.log(base.beat_factor))),
        velocity=mix(expression.velocity, base.velocity),
        shift_seconds=amount * expression.shift_seconds,
        articulation=np.exp(mix(np.log(expression.articulation), np.log(base.articulation))),
        pedal=list(expression.pedal) if amount > 0 else list(base.pedal),
    )
