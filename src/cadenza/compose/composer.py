"""The Python API: load a model by name or path, write new music, continue a prompt.

    from cadenza.compose import composer
    c = composer.load("chorales")           # or cadenza.hub.load("chorales")
    score = c.generate(bars=16, key="D major", tempo_bpm=72, seed=7)

Every command-line verb is a thin layer over this module and cadenza.render.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from cadenza.compose.settings import SamplingSettings
from cadenza.errors import OptionError
from cadenza.score import Key, Meter, Part, Score, parse_key, parse_meter
from cadenza.theory import estimate_key, scale, voice_names
from cadenza.tokenize.voices import VoicesTokenizer

if TYPE_CHECKING:
    from cadenza.nn.transformer import Transformer


@dataclass
class Composer:
    directory: Path
    meta: dict
    model: Transformer
    tokenizer: VoicesTokenizer

    @property
    def name(self) -> str:
        return self.directory.name

    # -- defaults learned from the training data ------------------------------------------------
    def default_meter(self) -> Meter:
        seen = self.meta.get("data_stats", {}).get("meters", {})
        return parse_meter(max(seen, key=seen.get)) if seen else Meter(0.0, 4, 4)

    def default_key(self, seed: int) -> Key:
        """A key drawn (by the seed) from how often each key occurs in the training data."""
        seen = self.meta.get("data_stats", {}).get("keys", {})
        if not seen:
            return Key(0.0, 0, "major")
        names = sorted(seen)
        return parse_key(random.Random(seed).choices(names, weights=[seen[n] for n in names])[0])

    def default_constraints(self, allow_parallels: bool = False, final_cadence: bool = True):
        """Each voice within its usual range in the training data; (unless allowed) no parallel
        fifths or octaves between voices; (unless turned off) a final bar that opens on the
        tonic chord and holds it: the one cadence the piece is planned to reach."""
        from cadenza.plan.constraints import Constraints

        ranges = self.meta.get("data_stats", {}).get("voice_ranges")
        return Constraints(
            voice_ranges=[tuple(r) for r in ranges] if ranges else None,
            no_parallels=not allow_parallels,
            final_cadence=final_cadence,
        )

    # -- writing music ----------------------------------------------------------------------
    def generate(
        self,
        bars: int = 16,
        key: str | Key | None = None,
        meter: str | Meter | None = None,
        tempo_bpm: float = 120.0,
        temperature: float = SamplingSettings.temperature,
        top_p: float = SamplingSettings.top_p,
        top_k: int = SamplingSettings.top_k,
        seed: int = 0,
        constraints=None,
        on_cell=None,
        allow_parallels: bool = False,
        final_cadence: bool = True,
        rules=None,
    ) -> Score:
        from cadenza.compose.sampler import generate_tokens

        check_tempo(tempo_bpm)
        key = parse_key(key) if isinstance(key, str) else key or self.default_key(seed)
        meter = parse_meter(meter) if isinstance(meter, str) else meter or self.default_meter()
        self._check_meter(meter)
        constraints = constraints or self.default_constraints(allow_parallels, final_cadence)
        if rules is not None:
            self.apply_rules(constraints, rules, meter, bars)
        tokens = generate_tokens(
            self.model,
            self.tokenizer,
            key,
            meter,
            bars,
            SamplingSettings(temperature, top_p, top_k, seed),
            constraints,
            on_cell,
        )
        score = self.tokenizer.decode(tokens, tempo_bpm)
        score.title = f"{self.name} · {key} · seed {seed}"
        return score

    def continue_score(
        self,
        prompt: Score,
        bars: int = 8,
        temperature: float = SamplingSettings.temperature,
        top_p: float = SamplingSettings.top_p,
        top_k: int = SamplingSettings.top_k,
        seed: int = 0,
        allow_parallels: bool = False,
        final_cadence: bool = True,
        rules=None,
    ) -> Score:
        """The prompt unchanged, followed by `bars` new bars from the first bar line after it."""
        from cadenza.compose.sampler import generate_tokens

        tok = self.tokenizer
        key = prompt.key or estimate_key(prompt.notes())
        meter = prompt.meter
        self._check_meter(meter)
        cells = tok.cells(prompt)
        steps_per_bar = tok.steps_per_bar(meter)
        prompt_bars = len(cells) // steps_per_bar
        constraints = self.default_constraints(allow_parallels, final_cadence)
        constraints.voice_ranges = None  # the prompt decides the register
        if rules is not None:
            for f in rules.fixed:
                if f.bar <= prompt_bars:
                    raise OptionError(
                        f"fixed note {f.describe(self.voice_names)} falls inside the prompt "
                        f"({prompt_bars} bars): fix notes in the new bars only"
                    )
            self.apply_rules(constraints, rules, meter, prompt_bars + bars)
        constraints.fixed.update({(s, v): t for s, row in enumerate(cells) for v, t in enumerate(row)})
        tokens = generate_tokens(
            self.model,
            tok,
            key,
            meter,
            prompt_bars + bars,
            SamplingSettings(temperature, top_p, top_k, seed),
            constraints,
        )
        generated = tok.decode(tokens, prompt.tempo_bpm)
        cut = prompt_bars * meter.bar_beats
        out_parts = [replace(p, notes=list(p.notes)) for p in prompt.parts]
        pitched = sorted(
            (p for p in out_parts if not p.is_drum and p.notes),
            key=lambda p: -sum(n.pitch for n in p.notes) / len(p.notes),
        )
        for v, gpart in enumerate(generated.parts):
            new = [n for n in gpart.notes if n.start_beats >= cut - 1e-9]
            if len(pitched) == len(generated.parts):
                pitched[v].notes.extend(new)
            else:
                out_parts.append(Part(name=f"{gpart.name} (continued)", program=gpart.program, notes=new))
        return Score(
            parts=out_parts,
            tempos=list(prompt.tempos),
            meters=list(prompt.meters),
            keys=list(prompt.keys) or [key],
            title=prompt.title,
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
            for v, r in rules.ranges.items():
                ranges[v] = r
            constraints.voice_ranges = ranges
        total = n_bars * self.tokenizer.steps_per_bar(meter)
        for f, s0, s1 in fixed_spans(rules, meter, spb, total, self.voice_names):
            cells = {(s0, f.voice): PITCH0 + f.pitch}
            cells.update({(s, f.voice): HOLD for s in range(s0 + 1, s1)})
            if any(constraints.fixed.get(c, t) != t for c, t in cells.items()):
                raise OptionError(f"fixed note {f.describe(self.voice_names)} overlaps another fixed note")
            constraints.fixed.update(cells)
            if s1 < total:  # the note ends where the user said: the voice does not hold it on
                constraints.no_hold.add((s1, f.voice))

    def _check_meter(self, meter: Meter) -> None:
        if str(meter) not in self.tokenizer.config.meters:
            raise OptionError(
                f"meter {meter} is not supported by model {self.name} "
                f"(supported: {', '.join(self.tokenizer.config.meters)})"
            )


def check_tempo(bpm: float) -> None:
    if not 10 <= bpm <= 400:
        raise OptionError(f"tempo must be between 10 and 400 quarter notes per minute, not {bpm}")


def bars_for_seconds(seconds: float, meter: Meter, tempo_bpm: float) -> int:
    if seconds <= 0:
        raise OptionError(f"seconds must be positive, not {seconds}")
    return max(1, math.ceil(seconds * tempo_bpm / 60.0 / meter.bar_beats))


def load(name_or_path: str, device: str = "cpu") -> Composer:
    """A voices model by name or folder (see cadenza.hub)."""
    from cadenza import hub

    return hub.load(name_or_path, expect="voices", device=device)
