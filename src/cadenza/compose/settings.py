"""The samplers' settings, one dataclass each: the one place their defaults are written. The
command line builds `generate`/`continue` and `harmonize`/`infill` options from them. No torch
here, so `cadenza --help` reads them without loading it."""

from __future__ import annotations

from dataclasses import dataclass

from cadenza.errors import OptionError
from cadenza.settings import setting

OFF_KEY = 1.0  # nats taken from a pitch outside the scale of a section in another key than home


@dataclass(frozen=True)
class SamplingSettings:
    """The causal sampler (cadenza.compose.sampler)."""

    temperature: float = setting(1.0, "sampling temperature; lower is safer (a model may set its own)")
    top_p: float = setting(
        0.95,
        "nucleus sampling: draw from the most likely notes holding this much probability (a model may set its own)",
    )
    top_k: int = setting(0, "draw from the k most likely notes only (0: no cut; a model may set its own)")
    seed: int = 0

    def __post_init__(self):
        if not self.temperature > 0:
            raise OptionError(f"temperature must be > 0, not {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise OptionError(f"top-p must be in (0, 1], not {self.top_p}")
        if self.top_k < 0:
            raise OptionError(f"top-k must be >= 0, not {self.top_k}")
        if self.seed < 0:
            raise OptionError(f"seed must be 0 or more, not {self.seed}")


@dataclass(frozen=True)
class GibbsSettings:
    """Annealed blocked Gibbs sampling (cadenza.compose.gibbs), Coconet's schedule.

    The default temperature is 0.7: blocked Gibbs resamples many cells at once, each
    independently, and at temperature 1 that leaves stray sixteenth-note fragments in held notes
    (measured on 12 test chorales: 10% of the inner voices' notes were sixteenths and 15% had
    odd lengths, against 2% and 0.1% in Bach). At 0.7 sixteenths are 3% of those notes, near
    Bach's 2%; at 0.5 the voices grow static (fewer notes)."""

    iterations: int = setting(64, "Gibbs sampling steps")
    temperature: float = setting(0.7, "sampling temperature; lower is safer, higher more varied")
    p_max: float = setting(0.9, "share of the hidden cells resampled at the first step ...")
    p_min: float = setting(0.05, "... falling linearly to this share ...")
    anneal: float = setting(0.75, "... over this fraction of the steps (Coconet's eta)")
    repair_rounds: int = setting(8, "passes that resample notes in parallel fifths or octaves (0: none)")
    seed: int = 0

    def __post_init__(self):
        if not self.temperature > 0:
            raise OptionError(f"temperature must be > 0, not {self.temperature}")
        if self.iterations < 1:
            raise OptionError(f"iterations must be at least 1, not {self.iterations}")
        if not 0 < self.p_min <= self.p_max <= 1 or not 0 < self.anneal <= 1:
            raise OptionError(
                f"need 0 < p-min <= p-max <= 1 and 0 < anneal <= 1 (got {self.p_min}, {self.p_max}, {self.anneal})"
            )
        if self.repair_rounds < 0:
            raise OptionError(f"repair rounds must be >= 0, not {self.repair_rounds}")
        if self.seed < 0:
            raise OptionError(f"seed must be 0 or more, not {self.seed}")
