"""Constraints as data: which cells a sampler may write, built from the user's rules (cadenza.plan.rules),
the model's voice ranges and the plan, and shared by the causal sampler (cadenza.compose.sampler)
and the Gibbs sampler (cadenza.compose.gibbs).

A cell is one voice at one grid step: a rest or a pitch (cadenza.tokenize.cells numbers them
REST = 0, pitch p = 1 + p). `allowed_cells` turns ranges and a scale into a (voices, cells)
mask; `fixed_spans` places the user's fixed notes on a grid, refusing those that cannot be.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from cadenza.errors import OptionError
from cadenza.plan.rules import FixedNote, Rules
from cadenza.score import Meter
from cadenza.tokenize.cells import N_CELL, REST


@dataclass(frozen=True)
class Echo:
    """A cell that repeats an earlier one (a planned return): the cell at `source` step of the
    same voice, moved by `semitones`. With `rhythm_only`, only its rhythm: an onset where it had
    one (within `reach` semitones of its pitch, when given), a held note where it held. With
    `silent`, a held note where it held and silence where it struck or rested: a close that
    leaves out the upbeat that followed its first time. With `holds_on`, where it held a note,
    the note sounding here holds on, whatever its pitch: a lead-in after a cadence note of its own."""

    source: int
    semitones: int = 0
    rhythm_only: bool = False
    reach: int | None = None
    silent: bool = False
    holds_on: bool = False


@dataclass(frozen=True)
class Hint:
    """A cell nudged toward an earlier one (plan.realize, "Hints"): the cell at `source` step of
    the same voice, moved by `semitones`; the sampler favours its token by the model's echo_bias."""

    source: int
    semitones: int = 0


@dataclass
class Constraints:
    """What the causal sampler's cells must obey. Cells are addressed by (grid step, voice)."""

    voice_ranges: list[tuple[int, int]] | None = None  # inclusive MIDI pitch range per voice
    pitch_classes: frozenset[int] | None = None  # allowed pitch classes (e.g. a key's scale)
    fixed: dict[tuple[int, int], int] = field(default_factory=dict)  # (step, voice) -> cell token
    # (step, voice): no note held over (a fixed note ends; a fermata's chord is struck). An exact echo
    # is copied as it stands: its source, under the same rule, struck there too
    no_hold: set[tuple[int, int]] = field(default_factory=set)
    no_parallels: bool = False  # forbid parallel fifths and octaves (and unisons) between any two voices
    final_cadence: bool = False  # the last bar opens on the tonic chord (bass on the tonic), held to the end
    interval_bias: np.ndarray | None = None  # (voices, 2k+1) log-odds added per signed melodic interval -k..k
    # (voices, 7, 2k+1) the same, given the voice's last move (-3..3 semitones, 3 for 3 or more; 0 none yet)
    contour_bias: np.ndarray | None = None
    # (voices, voices, 12) log-odds added to voice v's pitch per interval class down from each voice u < v
    # sounding at the same step: [v, u, (upper - lower) % 12]
    vertical_bias: np.ndarray | None = None
    spacing: bool = (
        False  # a choir's spacing: crossing the voice above costs, as do an upper voice's unisons and wide gaps
    )
    hold_bias: np.ndarray | None = None  # (voices, steps per beat) log-odds added to holding on, per step in the beat
    pitch_bias: np.ndarray | None = None  # (voices, 128) log-odds added to each pitch a voice strikes: its register
    start_on_downbeat: bool = False  # every voice sounds on the first downbeat: no pickup, bar 1 is the first bar
    # a choir sings through its phrases: before this step a rest drawn is drawn again from the notes
    # allowed (the model, having drawn one, would have the others fall silent with it)
    sings_until: int = 0
    # the plan (cadenza.plan.realize): cells allowed per step, notes held, earlier cells repeated
    step_cells: np.ndarray | None = None  # bool (steps, voices, N_CELL): the pitch sounding at a step must be allowed
    hold_only: set[tuple[int, int]] = field(default_factory=set)  # (step, voice): the note sounding holds on
    echoes: dict[tuple[int, int], Echo] = field(default_factory=dict)  # (step, voice) -> the cell it repeats
    thirds: dict[int, frozenset[int]] = field(default_factory=dict)  # step -> a chord third someone must sing
    # soft echoes (plan.realize, "Hints"): (step, voice) -> an earlier cell whose token gets echo_bias log-odds
    hints: dict[tuple[int, int], Hint] = field(default_factory=dict)
    echo_bias: float = 0.0
    # a B strain's steps (plan.realize, "Turns"), whose pitches lean up by turn_lean log-odds an octave
    turn_steps: set[int] = field(default_factory=set)
    turn_lean: float = 0.0
    # a lead sheet's chords (realize.chord_constraints): bool (steps, 12), the pitch classes of the chord in
    # force at each step; a note the top voice strikes outside them is left by step to one of them
    chord_tones: np.ndarray | None = None


PITCH_CLASSES = (np.arange(N_CELL) - 1) % 12  # of each cell (meaningless for REST)


def allowed_cells(ranges: list[tuple[int, int]], pitch_classes: frozenset[int] | None = None) -> np.ndarray:
    """Bool (voices, N_CELL): for each voice, a rest, or a pitch inside its inclusive range (MIDI
    numbers, clipped to 0..127) and, when given, in `pitch_classes`."""
    pitches = np.arange(N_CELL) - 1
    mask = np.zeros((len(ranges), N_CELL), dtype=bool)
    for v, (lo, hi) in enumerate(ranges):
        ok = (pitches >= max(lo, 0)) & (pitches <= min(hi, 127))
        if pitch_classes is not None:
            ok &= np.isin(PITCH_CLASSES, sorted(pitch_classes))
        ok[REST] = True
        mask[v] = ok
    return mask


def narrow_to_chord(allowed: np.ndarray, step: int, basses: Iterable[int], tones: Iterable[int]) -> None:
    """Narrow the lower voices at `step` (in place, voices 1 on of a (steps, voices, N_CELL) mask)
    to a chord: the lowest to the pitch classes `basses`, the others to `tones`, none resting. A
    voice left no cell so keeps what it had: the chord gives way to a range, a ceiling, a scale."""
    V = allowed.shape[1]
    for v in range(1, V):
        ok = np.isin(PITCH_CLASSES, sorted(set(basses if v == V - 1 else tones)))
        ok[REST] = False
        narrowed = allowed[step, v] & ok
        if narrowed.any():
            allowed[step, v] = narrowed


def fixed_spans(
    rules: Rules, meter: Meter, steps_per_beat: int, n_steps: int, names: list[str]
) -> list[tuple[FixedNote, int, int]]:
    """(fixed note, first step, end step) of each of the rules' fixed notes on a grid of
    `steps_per_beat` steps per quarter note and `n_steps` steps; refuses, in one line, a note past
    its bar, off the grid, or outside the piece."""
    spans = []
    for f in rules.fixed:
        f.check_in_bar(meter, names)
        s0 = f.start_beats(meter) * steps_per_beat
        s1 = (f.start_beats(meter) + f.beats) * steps_per_beat
        if abs(s0 - round(s0)) > 1e-6 or abs(s1 - round(s1)) > 1e-6:
            raise OptionError(
                f"fixed note {f.describe(names)} is off this model's grid of {steps_per_beat} steps per beat"
            )
        if f.voice >= len(names):
            raise OptionError(
                f"fixed note at bar {f.bar} beat {f.beat:g} is for voice {f.voice + 1}, past the "
                f"end of the piece's {len(names)} voices"
            )
        if round(s1) > n_steps:
            raise OptionError(f"fixed note {f.describe(names)} lies past the end of the piece")
        spans.append((f, round(s0), round(s1)))
    return spans
