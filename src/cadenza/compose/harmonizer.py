"""The composer's assistant: harmonize a melody, regenerate a region, under the user's rules.

    from cadenza import hub
    h = hub.load("harmonizer")
    [chorale] = h.harmonize(melody_score, seed=1)
    [fixed] = h.infill(chorale, bars=(5, 8), voices=["alto", "tenor"], seed=2)

Both run the orderless model (cadenza.nn.orderless) over a grid of cells: what is given stays
visible, what is to be written is hidden and filled by Gibbs sampling (cadenza.compose.gibbs). The notes
given (the melody; everything outside the region) are copied to the result unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from cadenza.compose.gibbs import gibbs_fill, parallels
from cadenza.compose.settings import GibbsSettings
from cadenza.errors import OptionError
from cadenza.nn.orderless import OrderlessModel
from cadenza.plan.cadences import plan_approach, plan_cadence
from cadenza.plan.constraints import allowed_cells, fixed_spans
from cadenza.plan.rules import Rules, voice_index
from cadenza.score import Note, Part, Score, pickup_start, pitch_to_name
from cadenza.theory import (
    SATB_RANGES,
    beat_beats,
    beats_to_step,
    cut_top_line,
    dominant_seventh,
    melody_key,
    phrase_ends,
    scale,
    tonic_triad,
    voice_names,
)
from cadenza.tokenize.cells import REST, cell_of, cells_to_notes


@dataclass
class Written:
    """A result and what to know about it (seed, key, phrase ends, parallels the repair left)."""

    score: Score
    info: dict


@dataclass
class Harmonizer:
    directory: Path
    meta: dict
    model: OrderlessModel

    @property
    def name(self) -> str:
        return self.directory.name

    @property
    def n_voices(self) -> int:
        return self.model.config.n_voices

    @property
    def steps_per_beat(self) -> int:
        return self.model.config.steps_per_beat

    @property
    def voice_names(self) -> list[str]:
        return voice_names(self.n_voices)

    def voice_range(self, v: int) -> tuple[int, int]:
        """Voice v's default range: what it had in the training data, and for four voices no
        wider than the conventional SATB ranges (Bach's basses, for one, dip below E2 now and then)."""
        lo, hi = self.meta["data_stats"]["voice_ranges"][v]
        if self.n_voices == 4:
            lo, hi = max(lo, SATB_RANGES[v][0]), min(hi, SATB_RANGES[v][1])
        return int(lo), int(hi)

    # -- harmonize ------------------------------------------------------------------------------
    def harmonize(
        self,
        melody: Score,
        voices: int = 4,
        temperature: float = GibbsSettings.temperature,
        seed: int = 0,
        n: int = 1,
        track: int | None = None,
        rules: Rules | None = None,
        cadences: bool = True,
        iterations: int = GibbsSettings.iterations,
        source: str = "melody",
        gibbs: GibbsSettings | None = None,
    ) -> list[Written]:
        """n harmonizations (seeds seed, seed+1, ...) of the melody, in `voices` parts with the
        melody unchanged in the top one. Phrase ends (notes under fermatas, else long notes and
        notes before rests; and the last note) get a planned cadence when `cadences`: the tonic
        or dominant chord of the key."""
        if not 2 <= voices <= self.n_voices:
            raise OptionError(f"--voices must be 2 to {self.n_voices}, not {voices}")
        line = melody_line(melody, track, source)
        rules = (rules or Rules()).counted_in(melody)
        spb = self.steps_per_beat
        meter = melody.meter
        bar_steps = max(1, round(meter.bar_beats * spb))
        end = max(beats_to_step(n_.end_beats, spb) for n_ in line)
        T = max(bar_steps, math.ceil(end / bar_steps) * bar_steps)
        self._check_length(T, source)
        lo, hi = self.voice_range(0)
        slack = int(self.meta["train"].get("transpose", 0))
        for x in line:
            if not lo - slack <= x.pitch <= hi + slack:
                raise OptionError(
                    f"{source}: melody note {pitch_to_name(x.pitch)} at beat {x.start_beats:g} is "
                    f"outside the soprano range this model knows ({pitch_to_name(lo - slack)}-"
                    f"{pitch_to_name(hi + slack)}); transpose the melody"
                )
            if rules.scale is not None and x.pitch % 12 not in scale(rules.scale):
                raise OptionError(
                    f"{source}: melody note {pitch_to_name(x.pitch)} at beat {x.start_beats:g} is "
                    f"outside the scale of {rules.scale}: the constraints cannot all be met"
                )
        grid = np.zeros((T, self.n_voices), dtype=np.int64)
        for x in line:
            grid[
                beats_to_step(x.start_beats, spb) : max(
                    beats_to_step(x.start_beats, spb) + 1, beats_to_step(x.end_beats, spb)
                ),
                0,
            ] = cell_of(x.pitch)
        hidden = np.zeros(grid.shape, dtype=bool)
        hidden[:, 1:] = True
        allowed = self._allowed(T, rules)
        allowed[grid[:, 0] != REST, 1:, REST] = False  # the lower voices sing while the melody does
        allowed[end:, 1:, :] = False  # and stop when it ends
        allowed[end:, 1:, REST] = True
        start = min(beats_to_step(x.start_beats, spb) for x in line)  # and start with it: a pickup stays one
        allowed[:start, 1:, :] = False
        allowed[:start, 1:, REST] = True
        key = rules.scale or melody_key(melody, line)
        ends = phrase_ends(line, meter, melody.fermatas_beats)
        if cadences:

            def approach_to(end: Note, at: int) -> None:
                """V on the beat (or the shorter note) before a phrase end planned on I."""
                before = [y for y in line if y.start_beats < end.start_beats]
                if before:
                    start = max(beats_to_step(before[-1].start_beats, spb), at - round(beat_beats(meter) * spb))
                    plan_approach(allowed, range(start, at), before[-1].pitch, key)

            for x in ends[:-1]:
                at = beats_to_step(x.start_beats, spb)
                plan_cadence(allowed, range(at, at + 1), x.pitch, key, final=False)
                if x.pitch % 12 in tonic_triad(key) and x.pitch % 12 not in dominant_seventh(key):
                    approach_to(x, at)  # a phrase that closes on I is reached from V: an authentic cadence
            if ends:  # the final cadence: V on the beat before the last melody note, then I held to the end
                last = beats_to_step(ends[-1].start_beats, spb)
                plan_cadence(allowed, range(last, T), ends[-1].pitch, key, final=True)
                approach_to(ends[-1], last)
        self._fix(grid, hidden, allowed, rules, meter)
        gibbs = replace(gibbs or GibbsSettings(), iterations=iterations, temperature=temperature, seed=seed)
        filled = gibbs_fill(self.model, grid, hidden, allowed, gibbs, n_samples=n)
        # the grid cannot tell a held note from a repeated one: as in a sung chorale, the lower
        # voices sing a new syllable with each melody note that starts on a beat
        syllables = {
            beats_to_step(x.start_beats, spb) for x in line if abs(x.start_beats - round(x.start_beats)) < 1e-6
        }
        held: dict[int, set[int]] = {}  # a user's fixed note stays one note
        for f in rules.fixed:
            a = beats_to_step(f.start_beats(meter), spb)
            held.setdefault(f.voice, set()).update(range(a + 1, beats_to_step(f.start_beats(meter) + f.beats, spb)))
        keep = {2: [0, 3], 3: [0, 1, 3], 4: [0, 1, 2, 3]}[voices] if self.n_voices == 4 else list(range(voices))
        for v in sorted({f.voice for f in rules.fixed} | set(rules.ranges)):
            if v not in keep:
                raise OptionError(
                    f"a rule names the {self.voice_names[v].lower()}, which a {voices}-voice "
                    f"harmonization leaves out (voices: {', '.join(self.voice_names[k] for k in keep)})"
                )
        out = []
        for i, g in enumerate(filled):
            parts = [Part(name=self.voice_names[0], program=0, notes=list(line))]
            parts += [
                Part(
                    name=self.voice_names[v],
                    program=0,
                    notes=cells_to_notes(g[:, v], spb, syllables - held.get(v, set())),
                )
                for v in keep[1:]
            ]
            score = Score(
                parts=parts,
                tempos=list(melody.tempos),
                meters=list(melody.meters),
                keys=[key],
                title=f"{melody.title or source} · harmonized · seed {seed + i}",
                fermatas_beats=list(melody.fermatas_beats),
            )
            out.append(
                Written(
                    score,
                    {
                        "seed": seed + i,
                        "key": str(key),
                        "phrase_ends_beats": [x.start_beats for x in ends],
                        "parallels_left": len(parallels(g[:, keep])),
                    },
                )
            )
        return out

    # -- infill -------------------------------------------------------------------------------
    def infill(
        self,
        score: Score,
        bars: tuple[int, int],
        voices: list[str] | None = None,
        temperature: float = GibbsSettings.temperature,
        seed: int = 0,
        n: int = 1,
        rules: Rules | None = None,
        iterations: int = GibbsSettings.iterations,
        source: str = "piece",
        gibbs: GibbsSettings | None = None,
    ) -> list[Written]:
        """n versions of `score` with bars[0]..bars[1] (counted from 1, inclusive) of the chosen
        voices (default: all) written anew. Notes that start outside the region are kept as they
        are (one that starts before the region and sounds into it is kept whole and heard by the
        model); new notes start inside it and end by its end."""
        rules = (rules or Rules()).counted_in(score)
        parts = [p for p in score.parts if p.notes and not p.is_drum]
        if len(parts) != self.n_voices:
            raise OptionError(
                f"{source}: infill needs a piece in {self.n_voices} parts, one voice each "
                f"(this one has {len(parts)} parts with notes)"
            )
        names = [v.lower() for v in self.voice_names]
        chosen = list(range(self.n_voices)) if not voices else sorted({voice_index(v, names) for v in voices})
        first, last = bars
        meter, spb = score.meter, self.steps_per_beat
        bar_steps = round(meter.bar_beats * spb)
        pickup = int(pickup_start(score) > 0)  # bars count as notation shows them: a pickup is bar 0
        total_bars = math.ceil(score.end_beats / meter.bar_beats - 1e-9)
        if first < 1 - pickup or last < first:
            counting = "bars count from 1" + ("; the pickup is bar 0" if pickup else "")
            raise OptionError(f"the region of bars {first}-{last} is empty ({counting})")
        if last > total_bars - pickup:
            raise OptionError(
                f"{source}: the region {first}-{last} runs past the end of the piece ({total_bars - pickup} bars"
                f"{' after its pickup' if pickup else ''}); give bars within {1 - pickup}-{total_bars - pickup}"
            )
        order = sorted(range(len(parts)), key=lambda i: -sum(x.pitch for x in parts[i].notes) / len(parts[i].notes))
        lines = [cut_top_line(parts[i].notes) for i in order]  # voice v: the part with the v-th highest mean pitch
        T = total_bars * bar_steps
        self._check_length(T, source)
        a, b = (first - 1 + pickup) * bar_steps, (last + pickup) * bar_steps
        grid = np.zeros((T, self.n_voices), dtype=np.int64)
        hidden = np.zeros(grid.shape, dtype=bool)
        hidden[a:b, chosen] = True

        def rewritten(x: Note, v: int) -> bool:
            return v in chosen and a <= beats_to_step(x.start_beats, spb) < b

        for v, line in enumerate(lines):
            for x in (x for x in line if not rewritten(x, v)):
                s0 = beats_to_step(x.start_beats, spb)
                s1 = min(T, max(s0 + 1, beats_to_step(x.end_beats, spb)))
                grid[s0:s1, v] = cell_of(x.pitch)
                hidden[s0:s1, v] = False  # kept notes are heard, never rewritten
        if not hidden.any():
            raise OptionError(f"{source}: nothing to write in bars {first}-{last} of the chosen voices")
        allowed = self._allowed(T, rules)
        for f in rules.fixed:
            start = f.start_beats(meter) * spb
            if f.voice not in chosen or not a <= start < b or (f.start_beats(meter) + f.beats) * spb > b + 1e-6:
                raise OptionError(
                    f"fixed note {f.describe(self.voice_names)} lies outside the region being "
                    f"rewritten (bars {first}-{last}, voices {', '.join(names[v] for v in chosen)})"
                )
        written = hidden.copy()  # the cells this infill writes, the user's fixed notes among them
        self._fix(grid, hidden, allowed, rules, meter)
        gibbs = replace(gibbs or GibbsSettings(), iterations=iterations, temperature=temperature, seed=seed)
        filled = gibbs_fill(self.model, grid, hidden, allowed, gibbs, n_samples=n)
        out = []
        for i, g in enumerate(filled):
            new_parts = [replace(p, notes=list(p.notes)) for p in score.parts]
            for v in chosen:
                part = new_parts[score.parts.index(parts[order[v]])]
                new = cells_to_notes(np.where(written[:, v], g[:, v], REST), spb)
                part.notes = sorted(
                    [x for x in part.notes if not rewritten(x, v)] + new, key=lambda x: (x.start_beats, -x.pitch)
                )
            result = Score(
                parts=new_parts,
                tempos=list(score.tempos),
                meters=list(score.meters),
                keys=list(score.keys),
                title=f"{score.title or source} · bars {first}-{last} rewritten · seed {seed + i}",
                fermatas_beats=list(score.fermatas_beats),
            )
            out.append(Written(result, {"seed": seed + i, "parallels_left": len(parallels(g))}))
        return out

    # -- shared -------------------------------------------------------------------------------
    def _check_length(self, T: int, source: str) -> None:
        if T > self.model.config.block_size:
            raise OptionError(
                f"{source}: {T} grid steps is longer than this model reaches "
                f"({self.model.config.block_size}); split the piece"
            )

    def _allowed(self, T: int, rules: Rules) -> np.ndarray:
        """(T, V, N_CELL): rest, or a pitch in the voice's range (the user's, else the training
        data's) and in the scale if one is given."""
        ranges = [rules.ranges.get(v, self.voice_range(v)) for v in range(self.n_voices)]
        cells = allowed_cells(ranges, scale(rules.scale) if rules.scale is not None else None)
        return np.repeat(cells[None], T, axis=0)

    def _fix(self, grid, hidden, allowed, rules: Rules, meter) -> None:
        """Write the user's fixed notes into the grid (visible), refusing ones that clash."""
        for f, s0, s1 in fixed_spans(rules, meter, self.steps_per_beat, len(grid), self.voice_names):
            for s in range(s0, s1):
                if not hidden[s, f.voice] and grid[s, f.voice] != cell_of(f.pitch):
                    raise OptionError(f"fixed note {f.describe(self.voice_names)} clashes with a given note there")
            grid[s0:s1, f.voice] = cell_of(f.pitch)
            hidden[s0:s1, f.voice] = False
            allowed[s0:s1, f.voice] = True


def melody_line(score: Score, track: int | None, source: str) -> list[Note]:
    """The melody to harmonize: the only pitched part if it is one line, or the top line of
    part number `track` (counted from 1)."""
    parts = [p for p in score.parts if p.notes and not p.is_drum]
    if not parts:
        raise OptionError(f"{source}: no notes to harmonize")
    if track is not None:
        if not 1 <= track <= len(parts):
            raise OptionError(f"{source}: --track must be 1 to {len(parts)}")
        return cut_top_line(parts[track - 1].notes)
    if len(parts) > 1:
        raise OptionError(
            f"{source}: {len(parts)} parts with notes and no single melody line; choose one with "
            f"--track (1-{len(parts)}: {', '.join(p.name or '?' for p in parts)})"
        )
    notes = sorted(parts[0].notes, key=lambda x: (x.start_beats, -x.pitch))
    if any(b.start_beats < a.end_beats - 1e-6 for a, b in zip(notes, notes[1:])):
        raise OptionError(
            f"{source}: the part is polyphonic (notes overlap), not a single melody line; "
            "give --track 1 to harmonize its top line"
        )
    return notes


def load(name_or_path: str = "harmonizer", device: str = "cpu") -> Harmonizer:
    """An orderless model by name or folder (see cadenza.hub)."""
    from cadenza import hub

    return hub.load(name_or_path, expect="orderless", device=device)
