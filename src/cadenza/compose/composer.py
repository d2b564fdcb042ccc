"""The Python API: load a model by name or path, write new music, continue a prompt.

    from cadenza.compose import composer
    c = composer.load("chorales")           # or cadenza.hub.load("chorales")
    score = c.generate(bars=16, key="D major", tempo_bpm=72, seed=7)

Every command-line verb is a thin layer over this module and cadenza.render.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cadenza.compose.settings import SamplingSettings
from cadenza.errors import InputError, OptionError
from cadenza.perform.dynamics import VELOCITY, with_dynamics
from cadenza.score import (
    MODES,
    PIANO_HANDS,
    PIANOS,
    Key,
    Meter,
    Note,
    Part,
    Score,
    Section,
    at_the_melodys_level,
    ends_short_by_its_pickup,
    is_lead_sheet,
    one_line,
    parse_key,
    parse_meter,
    pitch_to_name,
    without_a_last_chord_sounding,
)
from cadenza.theory import beats_to_step, cut_top_line, estimate_key, scale, voice_names
from cadenza.tokenize.voices import VoicesTokenizer

# How far a duet's or trio's part may go past the range it sang in the prompt, in semitones, and
# the least span it is given (a drone's part must still reach its key's root for the cadence)
DUET_REACH = 4
DUET_SPAN = 16

if TYPE_CHECKING:
    from cadenza.nn.transformer import Transformer
    from cadenza.plan.form import Plan
    from cadenza.plan.planner import PlanModel


class LearnedDefaults:
    """What a model's user (the Composer, the Pianist) takes from its folder and model.json: its
    name, its usual meter, its sampling settings, its plan model and the plans drawn from it."""

    directory: Path
    meta: dict
    tokenizer: Any  # a VoicesTokenizer or a PianoTokenizer: both say a meter by meter_token
    name: str  # what titles and messages call it: its folder's name, or its bundle's (cadenza.hub.load)

    def __post_init__(self):
        self.name = self.name or self.directory.name

    def default_meter(self) -> Meter:
        """The meter the training data (model.json's "data_stats") has most often; 4/4 when unknown."""
        seen = self.meta.get("data_stats", {}).get("meters", {})
        return parse_meter(max(seen, key=seen.get)) if seen else Meter(0.0, 4, 4)

    def meter_for(self, bars: int, seed: int, composer: str | None = None) -> Meter:
        """The meter of a piece of `bars` bars when none is asked for: drawn by the plan model, as
        often as its corpus's pieces of that length are in it, among the meters this model writes
        and its plan model counted in MIN_METER_PIECES pieces or more (a meter few pieces taught
        is written poorly: the piano's 12/8); from a generator of its own, so the rest of the
        piece is drawn as before. default_meter() without a plan model. After a `composer` the
        model knows (a piano model's), among the same meters as often as that composer's training
        pieces are in them (model.json's "composer_meters"): Schubert's 3/4, Liszt's 2/4; as
        without one when the composer wrote in none of them."""
        from cadenza.plan.planner import MIN_METER_PIECES, draw_weighted

        pm = self.plan_model
        if pm is None:
            return self.default_meter()
        writable = [m for m, n in pm.meters.items() if n >= MIN_METER_PIECES and self.writes_meter(parse_meter(m))]
        if not writable:
            return self.default_meter()
        rng = random.Random(f"meter {seed}")
        habits = self.meta.get("data_stats", {}).get("composer_meters", {}).get(composer, {}) if composer else {}
        own = {m: n for m, n in sorted(habits.items()) if m in writable}
        if own:
            return parse_meter(draw_weighted(rng, own))
        return parse_meter(pm.draw_meter(rng, bars, among=writable))

    def writes_meter(self, meter: Meter) -> bool:
        """Whether this model's tokens can say `meter`."""
        from cadenza.errors import TokenizeError

        try:
            self.tokenizer.meter_token(meter)
        except TokenizeError:
            return False
        return True

    def sampling(self, temperature: float | None, top_p: float | None, top_k: int | None, seed: int):
        """The sampler's settings: those given, else this model's own defaults (model.json's
        "sampling", chosen by measurement and stated in its card), else SamplingSettings'."""
        own = {k: v for k, v in self.meta.get("sampling", {}).items() if k in ("temperature", "top_p", "top_k")}
        given = {"temperature": temperature, "top_p": top_p, "top_k": top_k}
        return SamplingSettings(**{**own, **{k: v for k, v in given.items() if v is not None}, "seed": seed})

    @cached_property
    def plan_model(self) -> PlanModel | None:
        """The model of form learned beside this model (its folder's planner.json), if any."""
        from cadenza.plan import planner

        return planner.of_model(self.directory)

    def plan_fermatas(self) -> bool:
        """Whether this model's style ends phrases under fermatas (as chorales do): what its
        plan model found in its corpus; no when it has none."""
        pm = self.plan_model
        return pm is not None and pm.fermatas.get("yes", 0) > pm.fermatas.get("no", 0)

    def fermatas_of(self, plan: Plan) -> bool:
        """Whether `plan`'s phrases end under fermatas: as it says, else as this model's style has it."""
        return plan.fermatas if plan.fermatas is not None else self.plan_fermatas()

    def plan_for(self, given: Plan | None, bars: int, meter: Meter, key: Key, seed: int) -> Plan | None:
        """The plan a piece follows: `given` with what it leaves out planned by this model's plan
        model, or, with none given, a plan of `bars` bars drawn from it (in `meter` and `key`,
        when the given plan does not name them); None when this model has no plan model and
        none is given."""
        from cadenza.plan import planner

        pm = self.plan_model
        if given is not None:
            given = replace(given, key=given.key or key, meter=given.meter or str(meter))
            if pm is not None:
                return planner.complete(given, pm, seed)
            given.check("plan")  # now that its key is known (a cadence key's numeral reads by the mode)
            return given
        return pm.sample(bars, meter=meter, key=key, seed=seed) if pm is not None else None


@dataclass
class Composer(LearnedDefaults):
    directory: Path
    meta: dict
    model: Transformer
    tokenizer: VoicesTokenizer
    name: str = ""

    # -- defaults learned from the training data ------------------------------------------------
    def default_key(self, seed: int, modes: tuple[str, ...] = MODES) -> Key:
        """A key in one of `modes` drawn (by the seed) from how often each occurs in the training
        data."""
        return drawn_key(self.meta.get("data_stats", {}).get("keys", {}), seed, modes)

    def default_constraints(self, allow_parallels: bool = False, final_cadence: bool = True):
        """Each voice within its usual range in the training data; (unless allowed) no parallel
        fifths or octaves between voices; (unless turned off) a final bar that opens on the
        tonic chord and holds it: the one cadence the piece is planned to reach. A model whose
        model.json has a "sampling" "interval_bias" (benchmarks/fit_interval_bias.py) has its
        voices' melodic intervals nudged toward its training data's (a "contour_bias": given each
        voice's last move), one with a "vertical_bias" the intervals between its voices, one with
        a "hold_bias" where in the beat they move, one with a "pitch_bias" each voice's register
        (the pitches it strikes); "spacing": true spaces its voices as a choir's
        (sampler.spaced); an "echo_bias" nudges a planned piece's new bars toward earlier
        ones, a "turn_lean" raises its B strain (plan.realize, "Hints" and "Turns")."""
        from cadenza.plan.constraints import Constraints

        ranges = self.meta.get("data_stats", {}).get("voice_ranges")
        sampling = self.meta.get("sampling", {})
        bias, contour, vertical, hold, register = (
            sampling.get(k) for k in ("interval_bias", "contour_bias", "vertical_bias", "hold_bias", "pitch_bias")
        )
        return Constraints(
            voice_ranges=[tuple(r) for r in ranges] if ranges else None,
            no_parallels=not allow_parallels,
            final_cadence=final_cadence,
            interval_bias=np.array(bias, dtype=np.float64) if bias else None,
            contour_bias=np.array(contour, dtype=np.float64) if contour else None,
            vertical_bias=np.array(vertical, dtype=np.float64) if vertical else None,
            hold_bias=np.array(hold, dtype=np.float64) if hold else None,
            pitch_bias=np.array(register, dtype=np.float64) if register else None,
            spacing=bool(sampling.get("spacing", False)),
            echo_bias=float(sampling.get("echo_bias", 0.0)),
            turn_lean=float(sampling.get("turn_lean", 0.0)),
        )

    # -- writing music ----------------------------------------------------------------------
    def generate(
        self,
        bars: int = 16,
        key: str | Key | None = None,
        meter: str | Meter | None = None,
        tempo_bpm: float = 120.0,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        seed: int = 0,
        constraints=None,
        on_cell=None,
        allow_parallels: bool = False,
        final_cadence: bool = True,
        rules=None,
        plan: Plan | None = None,
        chords: list | None = None,
    ) -> Score:
        """A new piece. With a `plan` (cadenza.plan.form.Plan), its sections decide the length,
        and its key and meter (when it names them) win over `key` and `meter`; the music follows
        its returns, cadences and keys (cadenza.plan.realize), and its phrase ends carry
        fermatas when the plan (or, left open, this model's style) has them; the score carries its
        sections' labels (Score.sections, each at its first bar). With `chords`
        (chord symbols by start beat), the top voice is written over them
        (realize.chord_constraints) and the score carries them: a lead sheet."""
        from cadenza.compose.sampler import generate_tokens
        from cadenza.plan.realize import Grid, Marks, plan_constraints

        check_tempo(tempo_bpm)
        if plan is not None:
            bars = plan.bars
            meter = plan.meter or meter
        check_bars(bars)
        given = parse_key(key) if isinstance(key, str) else key
        key = (plan.key if plan is not None else None) or given or self.default_key(seed)
        if given is not None and given.modal and key.same_key(given):  # a plan's key names no church mode
            key = given
        meter = parse_meter(meter) if isinstance(meter, str) else meter or self.default_meter()
        self._check_meter(meter)
        constraints = constraints or self.default_constraints(allow_parallels, final_cadence)
        if rules is not None:
            self.apply_rules(constraints, rules, meter, bars)
        marks = Marks([], [])
        if plan is not None:
            grid = Grid(self.tokenizer.config.n_voices, self.tokenizer.config.steps_per_beat, meter)
            with_fermatas = self.fermatas_of(plan)
            marks = plan_constraints(plan, key, grid, constraints, with_fermatas, final_cadence, chords=bool(chords))
            constraints.start_on_downbeat = True  # sections are whole bars: a pickup would shift every return
        if chords:
            from cadenza.plan.realize import chord_constraints

            grid = Grid(self.tokenizer.config.n_voices, self.tokenizer.config.steps_per_beat, meter)
            chord_constraints(chords, key, grid, constraints, bars)
            constraints.start_on_downbeat = True  # the chords start on the first downbeat
        tokens = generate_tokens(
            self.model,
            self.tokenizer,
            key,
            meter,
            bars,
            self.sampling(temperature, top_p, top_k, seed),
            constraints,
            on_cell,
        )
        score = self.tokenizer.decode(tokens, tempo_bpm)
        score.keys = [key]  # the tokens hold the tonic's pitch class only: keep its spelling (Cb, not B)
        score.title = f"{self.name} · {key} · seed {seed}"
        score.composer = f"Cadenza ({self.name} model)"
        score.fermatas_beats, score.repeats = marks.fermatas_beats, marks.repeats
        score.chords = sorted(chords or [], key=lambda ch: ch.start_beats)
        if plan is not None:
            score = with_plan_sections(score, plan, key, meter.bar_beats)
            if self.tokenizer.config.n_voices == 1:  # a tune's strain in D after G is written under K:D, as tune
                # books write it (so does the pianist); a chorale's modulations keep the home signature, as Bach's
                score.keys = replace(plan, key=plan.key or key).keys_in_beats(meter.bar_beats)
        return score

    def realized_plan(self, plan: Plan, key: Key, meter: Meter) -> Plan:
        """`plan` as `generate` writes it in `key` and `meter`: each return's `ending` the whole
        bars it writes afresh at its end (realize.Marks.endings: a cadence other than the first
        time's is written from its approach's bar), so that a record says what was written."""
        from cadenza.plan.constraints import Constraints
        from cadenza.plan.realize import Grid, plan_constraints

        grid = Grid(self.tokenizer.config.n_voices, self.tokenizer.config.steps_per_beat, meter)
        fermatas = self.fermatas_of(plan)
        endings = plan_constraints(plan, key, grid, Constraints(), fermatas).endings
        return replace(
            plan, sections=[replace(s, ending=endings.get(i, s.ending)) for i, s in enumerate(plan.sections)]
        )

    def continue_score(
        self,
        prompt: Score,
        bars: int = 8,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        seed: int = 0,
        allow_parallels: bool = False,
        final_cadence: bool = True,
        rules=None,
        source: str | None = None,
        chorder=None,
    ) -> Score:
        """The prompt unchanged, followed by `bars` new bars from the first bar line after it,
        written into the prompt's own instruments: the model's voices, highest first, go to
        the prompt's pitched parts by register (with fewer parts than voices, a part takes
        several; with more, the parts between stop), at each part's own loudness (its last
        dynamics mark's level, else the median of its velocities). A prompt that is one melody
        keeps it in the top voice, and the model's other voices get parts, as loud as the melody
        and marked as it is.
        A duet or trio of single lines keeps its parts, one voice each (`voices_for_parts`):
        the model writes all its voices, and those no part sings are left out.
        A prompt whose meter changes is continued from its last meter: the model reads the
        music from that change on.
        A lead sheet (is_lead_sheet) continued as one line keeps its chord symbols, and its new
        bars are chorded by `chorder` (a cadenza.compose.chorder.Chorder: the likeliest chords
        that follow on from the prompt's); without one its symbols are dropped, as the last would
        sound on under all the new bars."""
        from cadenza.compose.sampler import generate_tokens

        check_bars(bars)
        tok = self.tokenizer
        offset, until = last_meter_span(prompt)
        context = between(prompt, offset, until) if (offset, until) != (0.0, math.inf) else prompt
        key = prompt.last_key or estimate_key(context.notes())  # the key in force where the prompt ends
        meter = context.meter
        self._check_meter(meter, source)
        n = tok.config.n_voices
        pitched = sorted(
            (i for i, p in enumerate(prompt.parts) if not p.is_drum and p.notes),
            key=lambda i: -sum(x.pitch for x in prompt.parts[i].notes) / len(prompt.parts[i].notes),
        )
        # a duet or trio keeps its number of parts: each part is one of the model's voices, chosen
        # by register; the model writes every voice (its harmony), and those no part sings are
        # left out (written as rests they led it astray: beats of silence, lines that stop)
        lined = single_lines([prompt.parts[i] for i in pitched], n)
        voice_of = self.voices_for_parts([prompt.parts[i] for i in pitched]) if lined else None
        lines: list[list[Note]] | None = None
        if voice_of is not None:
            lines = [[] for _ in range(n)]
            for i, v in zip(pitched, voice_of):
                lines[v] = cut_top_line(context.parts[i].notes)
        cells = tok.cells(context, lines)
        steps_per_bar = tok.steps_per_bar(meter)
        prompt_bars = len(cells) // steps_per_bar
        constraints = self.default_constraints(allow_parallels, final_cadence)
        constraints.voice_ranges = None  # the prompt decides the register
        if rules is not None:
            rules = rules.counted_in(context)
            if voice_of is not None:
                named = sorted({f.voice for f in rules.fixed} | set(rules.ranges))
                if any(v not in voice_of for v in named):
                    sung = ", ".join(self.voice_names[v].lower() for v in voice_of)
                    raise OptionError(
                        f"a rule names the {self.voice_names[next(v for v in named if v not in voice_of)].lower()}, "
                        f"which no part of this {len(voice_of)}-part prompt sings (its parts sing: {sung})"
                    )
            for f in rules.fixed:
                if f.bar + f.after_pickup <= prompt_bars:
                    raise OptionError(
                        f"fixed note {f.describe(self.voice_names)} falls inside the prompt "
                        f"({prompt_bars} bars): fix notes in the new bars only"
                    )
            self.apply_rules(constraints, rules, meter, prompt_bars + bars)
        if voice_of is not None:  # a duet's voices stay near where its parts sing, unless --range says
            ranges = list(constraints.voice_ranges or [(0, 127)] * n)
            given = set(rules.ranges) if rules is not None else set()
            for i, v in zip(pitched, voice_of):
                if v not in given:
                    ranges[v] = sung_range([x.pitch for x in prompt.parts[i].notes])
            constraints.voice_ranges = ranges
            # its lowest part closes on the root, as a bass would; not the voice that sounds the final
            # chord's third where the voices above have not (the sampler's `_complete`: a trio's tenor)
            if final_cadence and max(voice_of) < n - 2:
                constraints.step_cells = closing_on_the_root(
                    constraints.step_cells, (prompt_bars + bars) * steps_per_bar, steps_per_bar, n, max(voice_of), key
                )
            # its top part sings on through the new bars: resting there, with the voices no part
            # sings sounding, it left beats of silence (8 of 160 new beats of a G major duet, seeds 1-10)
            constraints.step_cells = singing_on(
                constraints.step_cells,
                (prompt_bars + bars) * steps_per_bar,
                prompt_bars * steps_per_bar,
                n,
                min(voice_of),
            )
        # a tune that opens with a pickup and ends its last bar short by it (a jig's `D|...|G3 G2|]`):
        # the new music begins where it ends, its own pickup in that bar, not after a beat of rest
        ends = max(x.end_beats for x in context.notes())
        short = context is prompt and ends_short_by_its_pickup(prompt)
        free_from = beats_to_step(ends, tok.config.steps_per_beat) if short else len(cells)
        constraints.fixed.update({(s, v): t for s, row in enumerate(cells[:free_from]) for v, t in enumerate(row)})
        if short:  # the prompt's last notes end where it does: none is held on into the new music
            constraints.no_hold.update((free_from, v) for v in range(n))
        tokens = generate_tokens(
            self.model,
            tok,
            key,
            meter,
            prompt_bars + bars,
            self.sampling(temperature, top_p, top_k, seed),
            constraints,
        )
        generated = tok.decode(tokens, context.tempo_bpm)
        cut = prompt_bars * meter.bar_beats
        out_parts = [replace(p, notes=list(p.notes)) for p in prompt.parts]
        join = max(offset + cut, bar_line_after(prompt))  # where the new bars begin
        # a melody keeps one voice; the others get parts
        melody = len(pitched) == 1 and one_line(out_parts[pitched[0]].notes)
        since = ends if short else cut  # where the new music begins: the bar line, or the short bar's end
        voices_in: dict[int, list[str]] = {}  # out_parts index -> the model's voices that part goes on with
        for v, gpart in enumerate(generated.parts):
            new = [
                replace(x, start_beats=x.start_beats - cut + join) for x in gpart.notes if x.start_beats >= since - 1e-9
            ]
            if voice_of is not None:
                if v not in voice_of:
                    continue
                at = pitched[voice_of.index(v)]
            elif pitched and not (melody and v > 0):
                at = pitched[round(v * (len(pitched) - 1) / (n - 1)) if n > 1 else 0]
            else:  # a new part, sung as loud as a melody it is written under, and marked as it is
                lead = out_parts[pitched[0]] if melody else None
                loud = at_the_melodys_level(new, lead.notes) if lead else new
                out_parts.append(
                    Part(gpart.name, gpart.program, notes=loud, dynamics=list(lead.dynamics) if lead else [])
                )
                continue
            part = out_parts[at]
            # at the level its last dynamics mark asks, else as the part plays (its median)
            loudness = (
                VELOCITY[part.dynamics[-1].marking]
                if part.dynamics
                else sorted(x.velocity for x in part.notes)[len(part.notes) // 2]
            )
            part.notes.extend(replace(x, velocity=loudness) for x in new)
            voices_in.setdefault(at, []).append(gpart.name)
        for at, part in enumerate(out_parts):  # an ABC tune's unnamed part: the model's name for the one voice it sings
            if not part.name and len(voices_in.get(at, [])) == 1:
                part.name = voices_in[at][0]
        title, credit = continued_credits(prompt, self.name, seed, source)
        continued = replace(  # the prompt's tempos, fermatas, repeats, sections and dynamics marks as they were
            prompt,
            parts=out_parts,
            meters=list(prompt.meters)
            + ([replace(meter, start_beats=join)] if str(prompt.meters[-1]) != str(meter) else []),
            keys=list(prompt.keys) or [key],
            title=title,
            composer=credit,
        )
        if chorder is not None and is_lead_sheet(continued):
            return chorder.chords_for(continued, seed=seed, kept_until=join, close=final_cadence)[0].score
        return without_a_last_chord_sounding(continued)

    def voices_for_parts(self, parts: list[Part]) -> list[int]:
        """The model's voice for each of `parts` (highest first, fewer than the voices), in
        order: the voices whose ranges' middles lie nearest the parts' middle pitches (a
        soprano-alto duet sings S and A, a soprano-bass one S and B); without ranges, spread."""
        n, m = self.tokenizer.config.n_voices, len(parts)
        ranges = self.meta.get("data_stats", {}).get("voice_ranges")
        if not ranges:
            return [round(k * (n - 1) / (m - 1)) for k in range(m)]
        middles = [sorted(x.pitch for x in p.notes)[len(p.notes) // 2] for p in parts]
        centres = [(lo + hi) / 2 for lo, hi in ranges]
        return list(
            min(
                itertools.combinations(range(n), m),
                key=lambda vs: sum(abs(middles[k] - centres[v]) for k, v in enumerate(vs)),
            )
        )

    @property
    def voice_names(self) -> list[str]:
        return voice_names(self.tokenizer.config.n_voices)

    def apply_rules(self, constraints, rules, meter: Meter, n_bars: int) -> None:
        """Add the user's rules (cadenza.plan.rules.Rules) to sampling constraints, in place: the scale
        as allowed pitch classes, ranges replacing the learned ones, fixed notes as fixed cells
        (the onset, then holds)."""
        from cadenza.plan.constraints import fixed_spans
        from cadenza.tokenize.voices import HOLD, PITCH0

        nv, spb = self.tokenizer.config.n_voices, self.tokenizer.config.steps_per_beat
        if rules.scale is not None:
            constraints.pitch_classes = scale(rules.scale)
        if rules.ranges:
            ranges = list(constraints.voice_ranges or [(0, 127)] * nv)
            for v, (lo, hi) in rules.ranges.items():
                learned_lo, learned_hi = ranges[v]
                if hi < learned_lo or lo > learned_hi:
                    learned = f"{pitch_to_name(learned_lo)}-{pitch_to_name(learned_hi)}"
                    raise OptionError(
                        f"--range {self.voice_names[v].lower()}={pitch_to_name(lo)}-{pitch_to_name(hi)} lies "
                        f"outside all the model learned for that voice ({learned})"
                    )
                ranges[v] = (lo, hi)
            constraints.voice_ranges = ranges
        if rules.fixed:  # the bar numbers the user gave are the piece's: it opens on a downbeat, no pickup
            constraints.start_on_downbeat = True
        total = n_bars * self.tokenizer.steps_per_bar(meter)
        for f, s0, s1 in fixed_spans(rules, meter, spb, total, self.voice_names):
            cells = {(s0, f.voice): PITCH0 + f.pitch}
            cells.update({(s, f.voice): HOLD for s in range(s0 + 1, s1)})
            if any(constraints.fixed.get(c, t) != t for c, t in cells.items()):
                raise OptionError(f"fixed note {f.describe(self.voice_names)} overlaps another fixed note")
            constraints.fixed.update(cells)
            if s1 < total:  # the note ends where the user said: the voice does not hold it on
                constraints.no_hold.add((s1, f.voice))

    def _check_meter(self, meter: Meter, source: str | None = None) -> None:
        """Refuse a meter the model never learned: as an option's mistake, or, with `source`
        (the file the meter came from), as that file's."""
        problem = meter_problem(str(meter), self.tokenizer.config.meters, self.name)
        if problem:
            raise InputError(source, problem) if source else OptionError(problem)


def meter_problem(meter: str, meters: list[str] | tuple[str, ...], model: str) -> str | None:
    """Why a model that writes `meters` cannot write `meter` (None: it can)."""
    if meter in meters:
        return None
    return f"meter {meter} is not supported by model {model} (supported: {', '.join(meters)})"


def drawn_key(seen: dict[str, int], seed: int, modes: tuple[str, ...] = MODES) -> Key:
    """A key in one of `modes` drawn (by the seed) from how often each such key was seen (C
    major, or A minor, when none was)."""
    names = sorted(n for n in seen if parse_key(n).mode in modes)
    if not names:
        return Key(0.0, 0, "major") if "major" in modes else Key(0.0, 9, "minor")
    return parse_key(random.Random(seed).choices(names, weights=[seen[n] for n in names])[0])


def check_tempo(bpm: float) -> None:
    if not 10 <= bpm <= 400:
        raise OptionError(f"tempo must be between 10 and 400 quarter notes per minute, not {bpm}")


def _meter_spans(score: Score) -> list[tuple[float, float, Meter]]:
    """(start, end, meter) of each stretch of one meter; the last ends at inf."""
    meters = sorted(score.meters, key=lambda m: m.start_beats) or [Meter(0.0, 4, 4)]
    spans: list[tuple[float, float, Meter]] = []
    for m, nxt in zip(meters, [*meters[1:], None]):
        end = nxt.start_beats if nxt is not None else math.inf
        if spans and str(spans[-1][2]) == str(m):
            spans[-1] = (spans[-1][0], end, spans[-1][2])
        else:
            spans.append((m.start_beats, end, m))
    return spans


def last_meter_span(score: Score) -> tuple[float, float]:
    """(start, end) in beats of the last stretch of one meter that lasts at least two bars (or
    runs to the end): the music a continuation reads. Short bars after it (a last bar that
    completes a pickup, a bar of 7/8 before a repeat) are not a meter to continue in."""
    spans = _meter_spans(score)
    if len(spans) == 1:
        return spans[0][0], spans[0][1]
    for start, end, m in reversed(spans):
        if min(end, score.end_beats) - start >= 2 * m.bar_beats - 1e-9:
            return start, end
    return spans[-1][0], spans[-1][1]


def with_plan_sections(score: Score, plan: Plan, key: Key, bar_beats: float) -> Score:
    """`score` with each of the plan's sections marked at its first bar (its label as heard,
    "A", "A'", "B", and the dynamics in effect there) and its notes at those dynamics."""
    score.sections = [
        Section(a * bar_beats, plan.heard_name(i, key), d)
        for i, (a, d) in enumerate(zip(plan.starts(), plan.dynamics_in_effect()))
    ]
    spans = plan.dynamics_spans(bar_beats)
    return with_dynamics(score, spans) if spans else score


def bar_line_after(score: Score) -> float:
    """The first bar line at or after the score's last note ends, under its meters."""
    end = score.end_beats
    for start, stop, m in _meter_spans(score):
        if end <= stop + 1e-9:
            bars = math.ceil((end - start) / m.bar_beats - 1e-9)
            return start + max(0, bars) * m.bar_beats
    return end


def between(score: Score, start: float, end: float) -> Score:
    """The music from beat `start` to `end`, moved to begin at 0: notes that start outside it
    are left out, those that run past its end are cut there, and the tempo, meter and key in
    force at `start` hold from 0."""

    def since(changes: list) -> list:
        before = [c for c in changes if c.start_beats <= start + 1e-9][-1:]
        kept = before + [c for c in changes if start + 1e-9 < c.start_beats < end - 1e-9]
        return [replace(c, start_beats=max(0.0, c.start_beats - start)) for c in kept]

    def inside(x) -> bool:
        return start - 1e-9 <= x.start_beats < end - 1e-9

    return Score(
        parts=[
            replace(
                p,
                notes=[
                    replace(x, start_beats=x.start_beats - start, duration_beats=min(x.end_beats, end) - x.start_beats)
                    for x in p.notes
                    if inside(x)
                ],
            )
            for p in score.parts
        ],
        tempos=since(sorted(score.tempos, key=lambda t: t.start_beats)),
        meters=since(sorted(score.meters, key=lambda m: m.start_beats)),
        keys=since(sorted(score.keys, key=lambda k: k.start_beats)),
        title=score.title,
        fermatas_beats=[f - start for f in score.fermatas_beats if start - 1e-9 <= f < end - 1e-9],
    )


def continued_credits(
    prompt: Score, model: str, seed: int, source: str | None = None, after: str | None = None
) -> tuple[str, str]:
    """(the title, the composer) of a continuation: the prompt's title (else its file's name) marked
    as continued with this seed, and its composer followed by Cadenza's model, and the composer
    it wrote after if any, as a generated piece says it (a newcomer's continuation had kept the
    prompt's own title and seed, and one after Schubert did not say so)."""
    name = prompt.title or (Path(source).stem if source else "untitled")
    cadenza = f"Cadenza ({model} model{', after ' + after if after else ''})"
    credit = f"{prompt.composer} / continued by {cadenza}" if prompt.composer else f"continued by {cadenza}"
    return f"{name} · continued · seed {seed}", credit


# a MIDI track's name that a piano's staff may have (none, as a score's tracks are often exported)
_PIANO_TRACK = re.compile(
    r"(?:|piano.*|pno\.?|klavier.*|keyboard.*|(?:right|left)(?: hand)?|[rl]\.? ?h\.?|track \d+)", re.I
)


def model_for_prompt(
    score: Score, performance: bool = False, piano: bool = True, midi: bool = False
) -> tuple[str, str]:
    """(the shipped model that fits a prompt, why): `piano` (where `piano`: no voice rules were
    asked for) for music on a piano's program (PIANOS) that a piano's two staves hold: its two
    hands (PIANO_HANDS: a MusicXML piano part as cadenza reads it, or the tracks it writes), a
    digital piano's recorded `performance` (cadenza.perform.quantize.is_performance) not of one
    melody, or, from a `midi` file (whose programs are stated: ABC's and a MusicXML part's without
    one read as 0), two tracks or one with chords whose names a piano's staves may have (none,
    "Piano", "RH" ...: as MuseScore and sequencers export a score); `folk` for one melody; else
    `chorales`, which continues any texture as four voices written back into the prompt's parts.
    One melody with chord symbols (a lead sheet) goes to `leadsheet`, whose chords part chords
    its new bars."""
    pitched = [p for p in score.parts if not p.is_drum and p.notes]
    on_piano = bool(pitched) and all(p.program in PIANOS for p in pitched)
    melody = len(pitched) == 1 and one_line(pitched[0].notes)
    if piano and on_piano and performance and not melody:
        return "piano", "a recording from a piano: continued by the piano model"
    if piano and on_piano and sorted(p.name for p in pitched) == sorted(PIANO_HANDS):
        return "piano", "the prompt is a piano's two hands: continued by the piano model"
    tracks = piano and on_piano and midi and all(_PIANO_TRACK.fullmatch(p.name.strip()) for p in pitched)
    if tracks and len(pitched) == 2:
        return "piano", "the prompt is two piano tracks: continued by the piano model, as its two hands"
    if tracks and len(pitched) == 1 and not melody:
        return "piano", "the prompt is one piano track with chords: continued by the piano model, in two hands"
    if len(pitched) == 1:
        if melody and score.chords:
            return "leadsheet", "the prompt is a lead sheet, a melody with chord symbols"
        if melody:
            return "folk", "the prompt is one melody"
        return "chorales", "the prompt is one part with chords: continued in four voices"
    if single_lines(pitched, 4):  # the chorale model's four voices
        return "chorales", f"the prompt has {len(pitched)} single-line parts: continued as {len(pitched)} of its voices"
    return "chorales", f"the prompt has {len(pitched)} pitched parts: continued in four voices"


MAX_BARS = 1000  # about 33 minutes of 4/4 at 120 bpm: longer pieces are the radio's job


def single_lines(parts: list[Part], n_voices: int) -> bool:
    """Whether a prompt's pitched `parts` are a duet or trio (fewer than the model's voices, more
    than one) of single lines, which continue keeps one voice each."""
    return 1 < len(parts) < n_voices and all(one_line(p.notes) for p in parts)


def closing_on_the_root(
    step_cells: np.ndarray | None, steps: int, steps_per_bar: int, n_voices: int, voice: int, key: Key
) -> np.ndarray:
    """`step_cells` (all allowed where None) with `voice` held to the tonic on the final bar's
    downbeat: a duet of soprano and alto ends on the tonic in its lower part, not on the fifth
    a four-voice chord's alto may sing (which sounds as a six-four chord with the bass gone)."""
    from cadenza.tokenize.cells import N_CELL, cell_of

    cells = np.ones((steps, n_voices, N_CELL), dtype=bool) if step_cells is None else step_cells.copy()
    tonic = np.zeros(N_CELL, dtype=bool)
    tonic[[cell_of(p) for p in range(key.tonic, 128, 12)]] = True
    cells[steps - steps_per_bar, voice] &= tonic
    return cells


def singing_on(step_cells: np.ndarray | None, steps: int, start: int, n_voices: int, voice: int) -> np.ndarray:
    """`step_cells` (all allowed where None) with `voice` sounding at every step from `start` on:
    no rest."""
    from cadenza.tokenize.cells import N_CELL, REST

    cells = np.ones((steps, n_voices, N_CELL), dtype=bool) if step_cells is None else step_cells.copy()
    cells[start:, voice, REST] = False
    return cells


def sung_range(pitches: list[int]) -> tuple[int, int]:
    """The range a duet's part may take: what it sang, DUET_REACH further either way, and at
    least DUET_SPAN semitones around its middle."""
    lo, hi = min(pitches) - DUET_REACH, max(pitches) + DUET_REACH
    middle = (min(pitches) + max(pitches)) // 2
    return min(lo, middle - DUET_SPAN // 2), max(hi, middle + DUET_SPAN // 2)


def check_bars(bars: int, option: str = "") -> None:
    """Refuse a length out of range, naming the `option` that gave it ("--bars") where one did."""
    if not 1 <= bars <= MAX_BARS:
        what = f"{option} {bars}" if option else f"length {bars} bars"
        raise OptionError(f"{what}: give at least 1 and at most {MAX_BARS} bars")


def bars_for_seconds(seconds: float, meter: Meter, tempo_bpm: float) -> int:
    if seconds <= 0:
        raise OptionError(f"seconds must be positive, not {seconds}")
    return max(1, math.ceil(seconds * tempo_bpm / 60.0 / meter.bar_beats))


def load(name_or_path: str, device: str = "cpu") -> Composer:
    """A voices model by name or folder (see cadenza.hub)."""
    from cadenza import hub

    return hub.load(name_or_path, expect="voices", device=device)
