"""The composer's assistant: harmonize a melody, regenerate a region, under the user's rules.

    from cadenza import hub
    h = hub.load("harmonizer")
    [chorale] = h.harmonize(melody_score, seed=1)
    [fixed] = h.infill(chorale, bars=(5, 8), voices=["alto", "tenor"], seed=2)

Both run the orderless model (cadenza.nn.orderless) over a grid of cells: what is given stays
visible, what is to be written is hidden and filled by Gibbs sampling (cadenza.compose.gibbs). The notes
given (the melody; everything outside the region) are copied to the result unchanged.

`harmonize` also runs a causal voices model (hub.load("chorales")): the same grid, masks and
cadence plan, filled by sequential Monte Carlo (cadenza.compose.particles).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from cadenza.compose.composer import Composer
from cadenza.compose.gibbs import gibbs_fill, parallels
from cadenza.compose.particles import harmonize_by_particles
from cadenza.compose.settings import OFF_KEY, GibbsSettings
from cadenza.errors import OptionError, TokenizeError
from cadenza.nn.orderless import OrderlessModel
from cadenza.plan.cadences import half_close, plan_approach, plan_cadence, plan_opening
from cadenza.plan.chord_symbols import plan_chord_symbols
from cadenza.plan.constraints import allowed_cells, fixed_spans
from cadenza.plan.rules import Rules, voice_index
from cadenza.score import (
    Key,
    Meter,
    Note,
    Part,
    Repeat,
    Score,
    at_the_melodys_level,
    bar_starts,
    in_force,
    overlaps,
    pickup_start,
    pitch_to_name,
    played_legato,
    without_graces,
)
from cadenza.theory import (
    SATB_RANGES,
    bar_and_beat,
    beat_beats,
    beats_to_step,
    cut_top_line,
    dominant_seventh,
    leading_tone,
    melody_key,
    related_keys,
    scale,
    strong_beats,
    tonic_thirds,
    tonic_triad,
    voice_names,
)
from cadenza.tokenize.cells import N_CELL, REST, cell_of, cells_to_notes
from cadenza.tokenize.voices import N_PITCHES

CHOIR = 52  # General MIDI program: Choir Aahs, for the parts of an SATB harmonization
LOWEST_BASS = 36  # C2: the lower voices' ranges move down no further than to put the bass there
RAISE_AT_MOST = 5  # semitones the lower voices' ranges may rise above their defaults
CAUSAL_MAX_STEPS = 2048  # the orderless harmonizer's reach: 128 bars of 4/4, about 35 s by particles here
REGISTER_SLACK = 3  # semitones a melody's median may lie off the soprano's middle before the lower voices follow


@dataclass
class Written:
    """A result and what to know about it (seed, key, phrase ends, parallels the repair left)."""

    score: Score
    info: dict


@dataclass
class Harmonizer:
    directory: Path
    meta: dict
    model: OrderlessModel | None
    composer: Composer | None = None  # a causal voices model in the orderless one's place (harmonize only)

    @property
    def name(self) -> str:
        return self.directory.name

    @property
    def n_voices(self) -> int:
        return self.composer.tokenizer.config.n_voices if self.composer else self._orderless.config.n_voices

    @property
    def steps_per_beat(self) -> int:
        return self.composer.tokenizer.config.steps_per_beat if self.composer else self._orderless.config.steps_per_beat

    @property
    def _orderless(self) -> OrderlessModel:
        if self.model is None:
            raise OptionError(f"{self.name} is a causal model: infill needs an orderless one (e.g. harmonizer)")
        return self.model

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
        chords: bool = True,
    ) -> list[Written]:
        """n harmonizations (seeds seed, seed+1, ...) of the melody, in `voices` parts with the
        melody unchanged in the top one (a melody played legato: each note cut where the next
        begins; its grace notes kept, the harmony written under the line without them:
        score.without_graces; its last note held less than a beat over a bar line ends there),
        and no note of it past the last bar line. Phrase ends (the analyzer's phrase plan: notes under
        fermatas, else the phrases it hears; and the last note) get a planned cadence when
        `cadences`: the tonic or dominant chord of the key each phrase closes in (phrase_plan),
        the piece's (the file's, or read from the melody: theory.melody_key) at the end.
        The melody's own chord symbols, when it has them and `chords`, are the harmony instead
        (plan.chord_symbols: each symbol's bass where it starts, its tones on each beat it
        holds), and are written in the result; a cadence is planned only where none holds.

        No voice ever sounds above the melody (in its rests, above its last note). The lower
        voices' default ranges move with the melody's register (_lower_voices_shift, recorded in
        the info), and a melody beyond the soprano range the model learnt is shown to it
        transposed into that range, the music moved back after. Four voices sing as a choir
        (General MIDI program CHOIR).

        A causal voices model (`composer`) fills the same grid under the same masks by particles
        (cadenza.compose.particles), at its own sampling settings: the Gibbs options
        (temperature, iterations, ...) are refused for it."""
        if self.n_voices < 2:
            raise OptionError(
                f"{self.name} writes one voice; harmonize needs a model of several (chorales, harmonizer)"
            )
        if not 2 <= voices <= self.n_voices:
            raise OptionError(f"--voices must be 2 to {self.n_voices}, not {voices}")
        keep = {2: [0, 3], 3: [0, 1, 3], 4: [0, 1, 2, 3]}[voices] if self.n_voices == 4 else list(range(voices))
        sung = melody_part(melody, track, source)
        written = melody_line(sung, track, source)  # the melody as the result has it
        if track is None and overlaps(sung.notes):  # played in: its last note may be held over the bar line
            written = _ending_on_the_bar_line(written, melody)
        line = without_graces(written)  # as the harmony hears it
        rules = (rules or Rules()).counted_in(melody)
        spb = self.steps_per_beat
        meter = melody.meter
        bar_steps = max(1, round(meter.bar_beats * spb))
        end = max(max(beats_to_step(n_.start_beats, spb) + 1, beats_to_step(n_.end_beats, spb)) for n_ in line)
        T = max(bar_steps, math.ceil(end / bar_steps) * bar_steps)
        self._check_length(T, source, meter)
        written = [replace(x, duration_beats=min(x.duration_beats, T / spb - x.start_beats)) for x in written]
        shift = self._lower_voices_shift(line)
        lo, hi = self.voice_range(0)
        slack = int(self.meta["train"].get("transpose", 0))
        lo, hi = lo - slack + min(shift, 0), hi + slack + max(shift, 0)  # what the lower voices can sing under
        for x in line:
            if not lo <= x.pitch <= hi:
                raise OptionError(
                    f"{source}: melody note {pitch_to_name(x.pitch)} at {_where(melody, x.start_beats)} is "
                    f"outside the soprano range this model can harmonize ({pitch_to_name(lo)}-"
                    f"{pitch_to_name(hi)}); transpose the melody"
                )
            if rules.scale is not None and x.pitch % 12 not in scale(rules.scale):
                raise OptionError(
                    f"{source}: melody note {pitch_to_name(x.pitch)} at {_where(melody, x.start_beats)} is "
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
        ranges = {v: self.voice_range(v) for v in range(1, self.n_voices)}  # the lower voices follow the melody
        ranges = {v: (a + shift, b + shift) for v, (a, b) in ranges.items()} | rules.ranges
        allowed = self._allowed(T, replace(rules, ranges=ranges))
        ceiling = _ceiling(line, T, spb)
        self._under_the_melody(allowed, ceiling, grid[:, 0] != REST, rules, source, melody)  # no voice above the melody
        allowed[grid[:, 0] != REST, 1:, REST] = False  # the lower voices sing while the melody does
        allowed[end:, 1:, :] = False  # and stop when it ends
        allowed[end:, 1:, REST] = True
        start = min(beats_to_step(x.start_beats, spb) for x in line)  # and start with it: a pickup stays one
        allowed[:start, 1:, :] = False
        allowed[:start, 1:, REST] = True
        key = rules.scale or melody_key(melody, line)
        symbols = list(melody.chords) if chords else []  # the tune's own harmony, where its file gives one
        under_symbols = allowed.copy()
        governed = plan_chord_symbols(under_symbols, symbols, melody, spb)
        spans = fixed_spans(rules, meter, spb, T, self.voice_names)  # the user's fixed notes, in steps
        off_the_chords = [  # a user's fixed note where a symbol would not have it: the note wins, said so
            f.describe(self.voice_names)
            for f, s0, s1 in spans
            if any(
                (allowed[s, f.voice] != under_symbols[s, f.voice]).any()  # a symbol narrows this voice here
                and not under_symbols[s, f.voice, 1:][np.arange(N_PITCHES) % 12 == f.pitch % 12].any()
                for s in range(s0, s1)
            )
        ]
        if key.modal and melody.key is not None and melody.key.modal:
            # a tune its file names in a church mode: the lower voices keep to the mode's notes
            # (its signature's, and in Dorian the leading tone a cadence asks for: C# in D), not a
            # minor or major key's (no B flat, no G sharp under a D dorian tune's B and G); Bach's
            # lower voices sing both sixths under the Dorian chorale tunes he set, which their
            # files call minor. Where a chord symbol holds, its tones too (an A under a D mixolydian
            # tune sounds its C sharp)
            mode_notes = scale(key) | ({(key.tonic + 11) % 12} if key.modal == "dorian" else set())
            allowed[:, 1:] = _keeping_to(allowed[:, 1:], mode_notes)
            for step, tones in governed.items():
                under_symbols[step, 1:] = _keeping_to(under_symbols[step, 1:], mode_notes | tones)
        analysis = melody_analysis(melody, line, key)
        ends = phrase_plan(melody, line, key, analysis)
        held_over: set[tuple[int, int]] = set()  # (step, voice): the note sounding holds (a causal model's)
        thirds: dict[int, frozenset[int]] = {}  # step -> a third the chord there must sound (a causal model's)
        unplanned = allowed.copy()  # before the cadences are planned
        closing, closing_triad = T, frozenset[int]()  # where the final cadence's I begins (T: none planned), its tones
        if cadences:

            def approach_to(end: Note, at: int, k: Key) -> int | None:
                """V on the beat (or the shorter note) before a phrase end planned on I: its first
                step, where it was planned."""
                before = [y for y in line if y.start_beats < end.start_beats]
                if before:
                    start = max(beats_to_step(before[-1].start_beats, spb), at - round(beat_beats(meter) * spb))
                    if plan_approach(allowed, range(start, at), before[-1].pitch, k) and start < at:
                        return start
                return None

            fermatas = {beats_to_step(b, spb) for b in melody.fermatas_beats}

            def under_fermata(end: Note) -> range:
                """The grid steps a phrase end sounds on after its first, if a fermata is on it: there
                the chord holds (Bach's lower voices strike again under 4% of his fermatas)."""
                at = beats_to_step(end.start_beats, spb)
                return range(at + 1, beats_to_step(end.end_beats, spb)) if at in fermatas else range(at + 1, at + 1)

            for x, _ in ends:
                held_over.update((step, v) for step in under_fermata(x) for v in range(1, self.n_voices))
            for x, k in ends[:-1]:  # a phrase end read from the notes alone plans its first sixteenth
                at = beats_to_step(x.start_beats, spb)
                before = next((y.pitch for y in reversed(line) if y.start_beats < x.start_beats - 1e-6), None)
                sounding = range(at, max(at + 1, under_fermata(x).stop))
                half = before is not None and half_close(x.pitch, before, k)
                if half:  # a half cadence's V holds under its note (I after it, under the same note, undid it)
                    sounding = range(at, max(at + 1, beats_to_step(x.end_beats, spb)))
                plan_cadence(allowed, sounding, x.pitch, k, False, half)
                if half:  # and sounds its third, the leading tone
                    thirds.update(dict.fromkeys(sounding, frozenset({leading_tone(k)})))
                if x.pitch % 12 in tonic_triad(k) and x.pitch % 12 not in dominant_seventh(k):
                    approach_to(x, at, k)  # a phrase that closes on I is reached from V: an authentic cadence
            first = min(line, key=lambda x: x.start_beats)  # the opening chord: I, where the melody starts on it
            plan_opening(allowed, range(start, start + 1), first.pitch, key)
            if ends:  # the final cadence: V on the beat before the last melody note, then I held to the end
                last_note, home = ends[-1]  # the piece's key, or the last the file changes to
                last = closing = beats_to_step(last_note.start_beats, spb)
                closing_triad = frozenset(tonic_triad(home))
                on_tonic = plan_cadence(allowed, range(last, T), last_note.pitch, home, final=True)
                approach = approach_to(last_note, last, home)
                if on_tonic:  # a closing V-I: the V with its leading tone, the I with its third
                    thirds.update(dict.fromkeys(range(last, end), tonic_thirds(home)))
                    if approach is not None:
                        thirds[approach] = frozenset({leading_tone(home)})
        if governed:  # where a chord symbol holds, it is the plan: a cadence planned there gives way,
            # but for the closing I, held to the end under a symbol of the tonic chord
            steps = sorted(governed)
            both = allowed[steps] & under_symbols[steps]
            tonic = np.array([s >= closing and closing_triad <= governed[s] for s in steps], dtype=bool)
            closes = tonic[:, None, None] & both.any(axis=-1, keepdims=True)
            allowed[steps] = np.where(
                closes & (allowed[steps] != unplanned[steps]).any(-1, keepdims=True), both, under_symbols[steps]
            )
            kept = {s: need & governed.get(s, need) for s, need in thirds.items()}
            thirds = {s: need for s, need in kept.items() if need}
        self._fix(grid, hidden, allowed, rules, meter)
        # where notes start: the melody's; a user's fixed note stays one note
        strikes = np.zeros(grid.shape, dtype=bool)
        for x in line:
            strikes[beats_to_step(x.start_beats, spb), 0] = True
        again = sung_again(melody.repeats, grid, hidden, strikes, allowed, governed, spb)
        for dst, src in again.items():  # a repeat's first pass is written to suit its second too
            held_over.update((src, v) for v in range(1, self.n_voices) if (dst, v) in held_over)
            if dst in thirds:
                thirds[src] = (thirds[src] & thirds[dst] or thirds[src]) if src in thirds else thirds[dst]
        held: dict[int, set[int]] = {}
        fixed_ends: set[tuple[int, int]] = set()  # where a fixed note ends: not held over
        for f, s0, s1 in spans:
            if f.voice > 0 and any(cell_of(f.pitch) > c for c in ceiling[s0:s1]):
                raise OptionError(f"{source}: fixed note {f.describe(self.voice_names)} sounds above the melody")
            strikes[s0, f.voice] = True
            held.setdefault(f.voice, set()).update(range(s0 + 1, s1))
            fixed_ends.add((s1, f.voice))
        edges = {t for t in again if t - 1 not in again} | {t + 1 for t in again if t + 1 not in again and t + 1 < T}
        edges |= {again[t] + 1 for t in again if t + 1 not in again}  # where the first ending begins
        # where a copy begins and where it ends, every lower voice strikes anew: a note held over a
        # repeat sign or into a second ending is struck again on the page (cadenza.io.musicxml)
        fixed_ends.update((t, v) for t in edges for v in range(1, self.n_voices))
        gibbs = replace(gibbs or GibbsSettings(), iterations=iterations, temperature=temperature, seed=seed)
        view = self._model_view(line)
        filled: list[np.ndarray]
        if self.composer is None:
            filled = list(
                _moved(
                    gibbs_fill(
                        self._orderless,
                        _moved(grid, view),
                        hidden,
                        _moved(allowed, view),
                        gibbs,
                        n_samples=n,
                        again=again,
                    ),
                    -view,
                )
            )
            # the grid cannot tell a held note from a repeated one: as in a sung chorale, the lower
            # voices sing a new syllable with each melody note that starts on a beat
            syllables = {
                beats_to_step(x.start_beats, spb) for x in line if abs(x.start_beats - round(x.start_beats)) < 1e-6
            }
            starts = [[(syllables | edges) - held.get(v, set()) for v in range(self.n_voices)] for _ in filled]
        else:
            if replace(gibbs, seed=0) != GibbsSettings():
                raise OptionError(
                    f"the Gibbs sampler's settings (temperature, iterations, ...) are for orderless models; "
                    f"{self.name} is a causal model and samples at its own settings: "
                    "drop them, or use --model harmonizer"
                )
            filled, starts = [], []
            off_key = _off_key(melody, key, grid.shape[0], spb, view)  # the same for every alternative
            for i in range(n):
                cells, struck = harmonize_by_particles(
                    self.composer,
                    Key(0.0, (key.tonic + view) % 12, key.mode),
                    meter,
                    _moved(grid, view),
                    hidden,
                    _moved(allowed, view),
                    strikes,
                    self.composer.sampling(None, None, None, seed + i),
                    no_hold=frozenset(fixed_ends),
                    held=frozenset(held_over),
                    off_key=off_key,
                    thirds={s: frozenset((p + view) % 12 for p in need) for s, need in thirds.items()},
                    third_voice=keep[-2],  # the last upper voice written
                    again=again,
                    bass_lowest=frozenset(range(closing, T)) if keep[-1] == self.n_voices - 1 else frozenset(),
                    upper=tuple(keep[1:-1]),
                )
                filled.append(_moved(cells, -view))
                starts.append([set(np.flatnonzero(struck[:, v]).tolist()) for v in range(self.n_voices)])
        for v in sorted({f.voice for f in rules.fixed} | set(rules.ranges)):
            if v not in keep:
                raise OptionError(
                    f"a rule names the {self.voice_names[v].lower()}, which a {voices}-voice "
                    f"harmonization leaves out (voices: {', '.join(self.voice_names[k] for k in keep)})"
                )
        program = CHOIR if self.n_voices == 4 else 0  # SATB sounds as a choir
        out = []
        marks = sung.dynamics  # the melody's, under every voice: they sing at its level
        for i, g in enumerate(filled):
            parts = [Part(name=self.voice_names[0], program=program, notes=list(written), dynamics=list(marks))]
            parts += [
                Part(
                    name=self.voice_names[v],
                    program=program,
                    notes=at_the_melodys_level(cells_to_notes(g[:, v], spb, starts[i][v]), line),
                    dynamics=list(marks),
                )
                for v in keep[1:]
            ]
            score = Score(
                parts=parts,
                tempos=list(melody.tempos),
                meters=list(melody.meters),
                keys=[key, *melody.keys[1:]],  # a strain in another key keeps its signature
                title=f"{melody.title or source} · harmonized · seed {seed + i}",
                composer=credit_for(melody.composer, self.name),
                fermatas_beats=list(melody.fermatas_beats),
                repeats=list(melody.repeats),
                sections=list(melody.sections),
                chords=symbols,
            )
            out.append(
                Written(
                    score,
                    {
                        "seed": seed + i,
                        "key": str(key),
                        "phrase_ends_beats": [x.start_beats for x, _ in ends],
                        "phrase_keys": [str(k) for _, k in ends],
                        "melody_plan": analysis.plan.to_dict(),  # what the phrase ends were read from
                        "chord_symbols_followed": len(symbols),
                        "repeats_sung_alike": repeats_alike(again),
                        "fixed_notes_off_the_chord_symbols": off_the_chords,
                        "parallels_left": len(parallels(g[:, keep])),
                        "lower_voices_shift_semitones": shift,
                        "model_view_transposed_semitones": view,
                    },
                )
            )
        return out

    def _lower_voices_shift(self, line: list[Note]) -> int:
        """Semitones the lower voices' default ranges move to follow the melody: how far its median
        pitch lies from the middle of the soprano's default range, less REGISTER_SLACK (the medians
        of 90% of the JSB training chorales' melodies lie within 3 semitones of it, and Bach's lower
        voices under them stay in their ranges), kept so the bass goes no lower than C2 and no
        range rises more than RAISE_AT_MOST above its default top."""
        lo, hi = self.voice_range(0)
        off = math.floor(float(np.median([x.pitch for x in line])) - (lo + hi) / 2 + 0.5)
        wanted = int(np.sign(off)) * max(0, abs(off) - REGISTER_SLACK)
        lowest = min(self.voice_range(v)[0] for v in range(1, self.n_voices))
        return max(min(wanted, RAISE_AT_MOST), min(0, LOWEST_BASS - lowest))

    def _under_the_melody(
        self, allowed: np.ndarray, ceiling: np.ndarray, sings: np.ndarray, rules: Rules, source: str, melody: Score
    ) -> None:
        """Forbid the lower voices, at each step, every pitch above the melody's (`ceiling`, from
        _ceiling): no voice sings above it, a unison allowed. Where that leaves a voice of default
        range no pitch while the melody `sings` (a melody note below the voice's range), the voice
        may take the octave under the melody note there; a range the user gave that lies wholly
        above a melody note is refused."""
        allowed[:, 1:, :] &= (np.arange(N_CELL)[None, :] <= ceiling[:, None])[:, None, :]
        for t, v in np.argwhere(~allowed[:, 1:, 1:].any(axis=-1) & sings[:, None]):
            v += 1
            top = int(ceiling[t]) - 1
            if v in rules.ranges:
                a, b = rules.ranges[v]
                raise OptionError(
                    f"{source}: the {self.voice_names[v].lower()}'s range ({pitch_to_name(a)}-{pitch_to_name(b)}) "
                    f"lies above the melody's {pitch_to_name(top)} at {_where(melody, t / self.steps_per_beat)}; "
                    "no voice sings above the melody"
                )
            pcs = scale(rules.scale) if rules.scale is not None else None
            allowed[t, v] = allowed_cells([(top - 12, top)], pcs)[0]

    def _model_view(self, line: list[Note]) -> int:
        """Semitones to show the model the music transposed by (and to move its answer back),
        so that the melody lies in the soprano range it learnt (its data's, widened by the
        transposition it was trained with): 0 for a melody inside it."""
        lo, hi = self.voice_range(0)
        slack = int(self.meta["train"].get("transpose", 0))
        low, high = min(x.pitch for x in line), max(x.pitch for x in line)
        return max(0, lo - slack - low) or min(0, hi + slack - high)

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
        are, but for one of a rewritten voice held into the region and ending in it, which is cut
        where the region begins (so a note may be fixed on its first beat); one held on past the
        region's end is kept whole and heard by the model. New notes start inside it and end by
        its end, as loud as the top voice as it was (`at_the_melodys_level`), under the piece's
        chord symbols where it has them (plan.chord_symbols, as harmonize follows them). A rewritten note
        that sounded on past the region keeps that part, struck again at the region's end: the
        music outside the region is the same."""
        model = self._orderless  # a causal model is refused here, before any work
        rules = (rules or Rules()).counted_in(score)
        parts = score.pitched_parts
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
        self._check_length(T, source, meter)
        a, b = (first - 1 + pickup) * bar_steps, (last + pickup) * bar_steps
        grid = np.zeros((T, self.n_voices), dtype=np.int64)
        hidden = np.zeros(grid.shape, dtype=bool)
        hidden[a:b, chosen] = True

        def rewritten(x: Note, v: int) -> bool:
            return v in chosen and a <= beats_to_step(x.start_beats, spb) < b

        def held_in(x: Note, v: int) -> bool:  # held into the region from before it, ending inside it
            return v in chosen and beats_to_step(x.start_beats, spb) < a < beats_to_step(x.end_beats, spb) <= b

        def cut(x: Note, v: int) -> Note:  # a note held into the region keeps only what lies before it
            return replace(x, duration_beats=a / spb - x.start_beats) if held_in(x, v) else x

        end_beats = b / spb
        tails: list[list[Note]] = []  # what rewritten notes sounded past the region, kept as it was
        for v, line in enumerate(lines):
            over = [x for x in line if rewritten(x, v) and x.end_beats > end_beats + 1e-6]
            tails.append([replace(x, start_beats=end_beats, duration_beats=x.end_beats - end_beats) for x in over])
            for x in [cut(x, v) for x in line if not rewritten(x, v)] + tails[v]:
                s0 = beats_to_step(x.start_beats, spb)
                s1 = min(T, max(s0 + 1, beats_to_step(x.end_beats, spb)))
                grid[s0:s1, v] = cell_of(x.pitch)
                hidden[s0:s1, v] = False  # kept notes are heard, never rewritten
        if not hidden.any():
            raise OptionError(f"{source}: nothing to write in bars {first}-{last} of the chosen voices")
        allowed = self._allowed(T, rules)
        plan_chord_symbols(allowed, score.chords, score, spb)  # the piece's own, where it has them
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
        filled = gibbs_fill(model, grid, hidden, allowed, gibbs, n_samples=n)
        out = []
        for i, g in enumerate(filled):
            new_parts = [replace(p, notes=list(p.notes)) for p in score.parts]
            for v in chosen:
                part = new_parts[score.parts.index(parts[order[v]])]
                new = at_the_melodys_level(cells_to_notes(np.where(written[:, v], g[:, v], REST), spb), lines[0])
                part.notes = sorted(
                    [cut(x, v) for x in part.notes if not rewritten(x, v)] + new + tails[v],
                    key=lambda x: (x.start_beats, -x.pitch),
                )
            result = replace(  # all else as it was: tempos, keys, fermatas, chord symbols, sections, dynamics
                score,
                parts=new_parts,
                title=f"{score.title or source} · bars {first}-{last} rewritten · seed {seed + i}",
                composer=score.composer or f"Cadenza ({self.name} model)",
            )
            info = {"seed": seed + i, "parallels_left": len(parallels(g)), "chord_symbols_followed": len(score.chords)}
            out.append(Written(result, info))
        return out

    # -- shared -------------------------------------------------------------------------------
    def takes_meter(self, meter: Meter) -> bool:
        """Whether this model can harmonize a melody in `meter` (an orderless one takes any)."""
        if self.composer is None:
            return True
        try:
            self.composer.tokenizer.meter_token(meter)
            return True
        except TokenizeError:
            return False

    def _check_length(self, T: int, source: str, meter: Meter) -> None:
        """Refuse a piece the model cannot take: longer than an orderless model's reach, in a
        meter a causal model does not know."""
        if self.composer is not None:
            try:
                self.composer.tokenizer.meter_token(meter)
            except TokenizeError as e:
                raise OptionError(f"{source}: {e}; the orderless harmonizer takes it (--model harmonizer)") from None
            if T > CAUSAL_MAX_STEPS:
                bars = CAUSAL_MAX_STEPS // round(meter.bar_beats * self.steps_per_beat)
                raise OptionError(
                    f"{source}: {T} grid steps is longer than this model harmonizes "
                    f"({CAUSAL_MAX_STEPS}, {bars} bars of {meter}); split the piece"
                )
            return
        if T > self._orderless.config.block_size:
            raise OptionError(
                f"{source}: {T} grid steps is longer than this model reaches "
                f"({self._orderless.config.block_size}); split the piece"
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


def sung_again(
    repeats: list[Repeat],
    grid: np.ndarray,
    hidden: np.ndarray,
    strikes: np.ndarray,
    allowed: np.ndarray,
    governed: dict[int, frozenset[int]],
    spb: int,
) -> dict[int, int]:
    """Where the lower voices sing a repeat's music again: step -> the step of its first pass
    they repeat there, over each repeat's second pass but for its second ending (as Bach's
    chorales write a repeated Stollen once, and as a score with repeat signs is read). Taken
    where the passes lie on the grid's steps, the melody (`grid` and `strikes`, voice 0) and the
    chord symbols (`governed`, plan.chord_symbols) are the same in both (where one pass has none,
    the other's holds: a first pass's pickup, before the first symbol, is sung under the chord
    the second pass's pickup is heard under), no lower-voice cell of
    either is given (a user's fixed note), and the cells `allowed` in the two can be made one:
    they are narrowed in place to what both allow (a cadence planned at the end of the second
    pass holds at the end of the first too). A step already sung again (a repeat inside a
    repeat) repeats what its own first pass sings."""
    again: dict[int, int] = {}
    T = len(grid)
    for r in sorted(repeats, key=lambda r: (r.start_beats, r.end_beats)):
        at = [r.start_beats * spb, r.end_beats * spb, r.ending_beats * spb]
        if any(abs(x - round(x)) > 1e-6 for x in at):
            continue  # a pass off the grid's steps
        start, end, ending = (round(x) for x in at)
        n = end - start - ending  # the steps both passes share
        if n <= 0 or end + n > T:
            continue
        first, second = np.arange(start, start + n), np.arange(end, end + n)
        if any(int(t) in again for t in second):
            continue
        if not (
            np.array_equal(grid[first, 0], grid[second, 0])
            and np.array_equal(strikes[first, 0], strikes[second, 0])
            and hidden[first, 1:].all()
            and hidden[second, 1:].all()
            and all(
                None in (governed.get(int(a)), governed.get(int(b))) or governed[int(a)] == governed[int(b)]
                for a, b in zip(first, second)
            )
        ):
            continue
        both = allowed[first, 1:] & allowed[second, 1:]
        if not both.any(axis=-1).all():
            continue  # the passes' plans contradict each other
        allowed[first, 1:] = allowed[second, 1:] = both
        again |= dict(zip(second.tolist(), first.tolist()))
    for t, source in again.items():  # a step sung again from one that is itself sung again: from its source
        while source in again:
            source = again[source]
        again[t] = source
    return again


def repeats_alike(again: dict[int, int]) -> int:
    """How many passes `sung_again` found (runs of consecutive steps repeating consecutive steps)."""
    steps = sorted(again)
    return sum(1 for i, t in enumerate(steps) if not i or steps[i - 1] != t - 1 or again[t] != again[t - 1] + 1)


def _keeping_to(cells: np.ndarray, pitch_classes: set[int] | frozenset[int]) -> np.ndarray:
    """`cells` (..., N_CELL) with each row kept to `pitch_classes` and rests, where that leaves
    it a cell; a row left none stays as it was."""
    inside = np.isin((np.arange(N_CELL) - 1) % 12, sorted(pitch_classes))
    inside[REST] = True
    kept = cells & inside
    return np.where(kept.any(axis=-1, keepdims=True), kept, cells)


def _off_key(melody: Score, key: Key, steps: int, spb: int, view: int) -> np.ndarray | None:
    """(steps, N_PITCHES): settings.OFF_KEY nats off each pitch of the model's view (`view`
    semitones above the music) outside the scale of a key the melody's file has changed to
    (K:D after K:A), from the step it changes; None where the file names no key but `key`."""
    if all(k.same_key(key) for k in melody.keys[1:]):
        return None
    out = np.zeros((steps, N_PITCHES))
    classes = (np.arange(N_PITCHES) - view) % 12
    for t in range(steps):
        here = in_force(melody.keys[1:], t / spb) or key
        if not here.same_key(key):
            out[t] = OFF_KEY * ~np.isin(classes, list(scale(here)))
    return out


def _where(score: Score, beats: float) -> str:
    """Where `beats` falls in `score`, as a musician counts it ("bar 3 beat 2"), its meters changing,
    a pickup's bar 0 as the notation numbers it."""
    meter = max((m for m in score.meters if m.start_beats <= beats + 1e-9), key=lambda m: m.start_beats, default=None)
    return bar_and_beat(beats, meter or score.meter, bar_starts(score), first=0 if pickup_start(score) else 1)


def _ceiling(line: list[Note], T: int, spb: int) -> np.ndarray:
    """(T,) the highest cell a lower voice may take at each grid step under the melody: the lowest
    melody pitch sounding at any moment of the step (a note off the grid, a triplet's, counts in
    every step it touches), in a rest the pitch before it (before the first note, the first)."""
    lowest = np.full(T, N_CELL)  # N_CELL: the melody is silent
    for x in line:
        a = min(T - 1, math.floor(x.start_beats * spb + 1e-6))
        b = max(a + 1, math.ceil(x.end_beats * spb - 1e-6))
        lowest[a:b] = np.minimum(lowest[a:b], cell_of(x.pitch))
    sounding = lowest < N_CELL
    if not sounding.any():
        return np.full(T, N_CELL - 1)
    before = np.maximum.accumulate(np.where(sounding, np.arange(T), -1))
    return lowest[np.where(before >= 0, before, int(np.argmax(sounding)))]


def _moved(cells: np.ndarray, semitones: int) -> np.ndarray:
    """Cells (a grid of them, or a mask over them on the last axis) transposed by `semitones`;
    rests stay rests."""
    if semitones == 0:
        return cells
    if cells.dtype == bool:  # a mask: (..., N_CELL)
        out = np.zeros_like(cells)
        out[..., REST] = cells[..., REST]
        pitches = cells[..., 1:]
        if semitones > 0:
            out[..., 1 + semitones :] = pitches[..., :-semitones]
        else:
            out[..., 1 : N_CELL + semitones] = pitches[..., -semitones:]
        return out
    return np.where(cells == REST, REST, cells + semitones)


def melody_analysis(melody: Score, line: list[Note], key: Key):
    """The analyzer's reading of the melody alone (cadenza.plan.analyze.Analysis), in `key`; a
    key it reads with `key`'s tonic and mode named as `key` is (D mixolydian: the analyzer names
    a church mode as its file does)."""
    from cadenza.plan.analyze import analyze

    alone = Score(parts=[Part("Melody", 0, False, line)], meters=list(melody.meters), keys=[key])
    alone.fermatas_beats = list(melody.fermatas_beats)
    return analyze(alone)


def phrase_plan(melody: Score, line: list[Note], key: Key, analysis=None) -> list[tuple[Note, Key]]:
    """The analyzer's phrase plan of a melody (cadenza.plan.analyze): the last note of each
    phrase (under a fermata where the file marks them) and the key it closes in, a phrase that
    cadences in a neighbouring key (V, vi ...) in that key; the melody's last note closes in
    `key`, the piece's, or where the file changes key (a strain in D after one in A: K:D), in the
    key in force. A phrase read in a key not closely related to that key (theory.related_keys:
    a lone melody can read as G-sharp minor in A major) closes in it instead; one read in that
    key's tonic and mode closes in it as named (D mixolydian, as the analyzer names the mode of
    the melody it is given). Where the melody's
    last pitch is struck again to the end of its last bar, the piece closes on the strongest of
    those strokes, the first of equals (a jig's `D3 D2 |]`: on the downbeat's D, the chord held
    under the second beat's), unless the last stroke carries a fermata. `analysis`: the
    melody's (melody_analysis), where it is already read."""
    onsets = [x.start_beats for x in line]
    ends: dict[int, Key] = {}

    def home(at: float) -> Key:  # the key in force: `key`, then the file's later keys
        return in_force(melody.keys[1:], at) or key

    for phrase in (analysis or melody_analysis(melody, line, key)).phrases:
        i = max(0, bisect_right(onsets, phrase.end_beats + 1e-6) - 1)
        here = home(phrase.end_beats)
        near = any(phrase.key.same_key(k) for k in related_keys(here))
        ends[i] = phrase.key if near and not phrase.key.same_key(here) else here  # here keeps its mode
    meter = melody.meters[-1] if melody.meters else melody.meter
    last = len(line) - 1
    bar_start = max((b for b in bar_starts(melody) if b <= line[last].start_beats + 1e-6), default=0.0)
    run = last  # the first note of the last pitch struck again to the end, inside the last bar
    while run > 0 and line[run - 1].pitch == line[last].pitch and line[run - 1].start_beats >= bar_start - 1e-6:
        run -= 1
    strong = strong_beats(meter)

    def weight(x: Note) -> int:  # 2 on the downbeat, 1 on the bar's other strong beat, else 0
        at = x.start_beats - bar_start
        return 2 if abs(at) < 1e-6 else int(any(abs(at - b) < 1e-6 for b in strong))

    marked = any(abs(f - line[last].start_beats) < 1e-6 for f in melody.fermatas_beats)
    close = last if marked else max(range(run, last + 1), key=lambda i: (weight(line[i]), -i))
    ends = {i: k for i, k in ends.items() if i < close} | {close: home(line[close].start_beats)}
    return [(line[i], k) for i, k in sorted(ends.items())]


def melody_part(score: Score, track: int | None, source: str) -> Part:
    """The part that holds the melody to harmonize: the only pitched part, or part number
    `track` (counted from 1)."""
    parts = score.pitched_parts
    if not parts:
        raise OptionError(f"{source}: no notes to harmonize")
    if track is not None:
        if not 1 <= track <= len(parts):
            raise OptionError(f"{source}: --track must be 1 to {len(parts)}")
        return parts[track - 1]
    if len(parts) > 1:
        raise OptionError(
            f"{source}: {len(parts)} parts with notes and no single melody line; choose one with "
            f"--track (1-{len(parts)}: {', '.join(p.name or '?' for p in parts)})"
        )
    return parts[0]


def melody_line(part: Part, track: int | None, source: str) -> list[Note]:
    """The melody to harmonize in its part (melody_part): the part if it is one line (played
    legato, each note cut where the next begins), or its top line with a `track` given."""
    if track is not None:
        return cut_top_line(part.notes)
    notes = sorted(part.notes, key=lambda x: (x.start_beats, -x.pitch))
    if not overlaps(notes):
        return notes
    if played_legato(notes):
        return cut_top_line(notes)
    raise OptionError(
        f"{source}: the part is polyphonic (notes overlap), not a single melody line; "
        "give --track 1 to harmonize its top line"
    )


def _ending_on_the_bar_line(line: list[Note], melody: Score) -> list[Note]:
    """A melody played in (`line`, of `melody`), whose last note is held over a bar line for less
    than a beat and less than it sounded before it, ending at that bar line: a player lets go a
    little late (a newcomer's legato melody, its last note 0.25 beat over the line, had a bar of
    its own added, all four voices tied into it). A last note struck a little early on a downbeat
    is the downbeat's."""
    last = line[-1]
    at = max((b for b in bar_starts(melody) if b <= last.end_beats - 1e-9), default=0.0)
    over, before = last.end_beats - at, at - last.start_beats
    meter = in_force(sorted(melody.meters, key=lambda m: m.start_beats), at) or melody.meter
    if before > over > 0 and over < beat_beats(meter) - 1e-9:
        return [*line[:-1], replace(last, duration_beats=before)]
    return line


def load(name_or_path: str = "harmonizer", device: str = "cpu") -> Harmonizer:
    """An orderless model by name or folder (see cadenza.hub), or a causal voices model, which
    harmonizes (by particles) but does not infill."""
    from cadenza import hub

    if hub.family_name(name_or_path) == "voices":
        c = hub.load(name_or_path, expect="voices", device=device)
        return Harmonizer(c.directory, c.meta, None, composer=c)
    return hub.load(name_or_path, expect="orderless", device=device)


def credit_for(melody_by: str, model: str) -> str:
    """The composer field of a harmonization: the melody's composer where its file names one
    (MusicXML's creator, ABC's C:), then Cadenza's model. A tune without one is credited to the
    model alone: its title names the tune, and a composer field is for a person."""
    ours = f"Cadenza ({model} model)"
    return f"Melody: {melody_by}; harmonized by {ours}" if melody_by.strip() else f"Harmonized by {ours}"
