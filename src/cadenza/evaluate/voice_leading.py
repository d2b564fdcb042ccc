"""Music-theory checks on voiced music: key share, ranges, parallel perfect intervals, crossings.

Voices are taken with the voices tokenizer's assignment (highest first), sampled on a grid, so
real chorales and generated ones are measured by exactly the same code.
"""

from __future__ import annotations

from dataclasses import dataclass

from cadenza.score import Score
from cadenza.theory import SATB_RANGES, estimate_key, parallel_motions, scale


@dataclass
class VoiceLeadingStats:
    notes: int
    bars: float
    in_key: int  # notes whose pitch class is in the piece's estimated key
    in_range: int  # notes inside their voice's SATB range (4 voices only)
    parallel_fifths: int
    parallel_octaves: int
    crossings: int  # grid steps where a lower voice sounds above the voice above it
    wide_spacings: int  # grid steps where adjacent upper voices are more than an octave apart

    def per_bar(self, count: int) -> float:
        return count / self.bars if self.bars else 0.0


def voice_grid(score: Score, n_voices: int, steps_per_beat: int = 4) -> list[list[int | None]]:
    """[step][voice] sounding pitch or None, from the tokenizer's voice assignment."""
    from cadenza.tokenize.voices import VoicesConfig, VoicesTokenizer

    tok = VoicesTokenizer(VoicesConfig(n_voices=n_voices, steps_per_beat=steps_per_beat, meters=(str(score.meter),)))
    lines = tok.voices_of(score)
    n_steps = max((int(n.end_beats * steps_per_beat + 0.5) for line in lines for n in line), default=0)
    grid: list[list[int | None]] = [[None] * n_voices for _ in range(n_steps)]
    for v, line in enumerate(lines):
        for n in line:
            for s in range(int(n.start_beats * steps_per_beat + 0.5), int(n.end_beats * steps_per_beat + 0.5)):
                grid[s][v] = n.pitch
    return grid


def measure(score: Score, n_voices: int = 4, steps_per_beat: int = 4) -> VoiceLeadingStats:
    from cadenza.tokenize.voices import VoicesConfig, VoicesTokenizer

    tok = VoicesTokenizer(VoicesConfig(n_voices=n_voices, meters=(str(score.meter),)))
    lines = tok.voices_of(score)
    notes = [n for line in lines for n in line]
    in_scale = scale(estimate_key(notes)) if notes else frozenset()
    in_range = 0
    if n_voices == 4:
        in_range = sum(SATB_RANGES[v][0] <= n.pitch <= SATB_RANGES[v][1] for v, line in enumerate(lines) for n in line)
    grid = voice_grid(score, n_voices, steps_per_beat)
    motions = parallel_motions(grid)
    bars = score.end_beats / score.meter.bar_beats if score.meter.bar_beats else 0.0
    return VoiceLeadingStats(
        len(notes),
        bars,
        sum(n.pitch % 12 in in_scale for n in notes),
        in_range,
        sum(m[3] == 7 for m in motions),
        sum(m[3] == 0 for m in motions),
        crossings(grid),
        wide_spacings(grid),
    )


def crossings(grid) -> int:
    """Grid steps x voice pairs where a voice sounds above the voice above it."""
    return sum(
        1
        for row in grid
        for v in range(len(row) - 1)
        if row[v] is not None and row[v + 1] is not None and row[v + 1] > row[v]
    )


def wide_spacings(grid) -> int:
    """Grid steps x pairs of adjacent upper voices (all but the lowest) more than an octave apart."""
    return sum(
        1
        for row in grid
        for v in range(len(row) - 2)
        if row[v] is not None and row[v + 1] is not None and row[v] - row[v + 1] > 12
    )


def summarize(stats: list[VoiceLeadingStats]) -> dict:
    """Pooled rates over many pieces."""
    notes = sum(s.notes for s in stats) or 1
    bars = sum(s.bars for s in stats) or 1
    return {
        "pieces": len(stats),
        "in_key_share": sum(s.in_key for s in stats) / notes,
        "in_satb_range_share": sum(s.in_range for s in stats) / notes,
        "parallel_fifths_per_bar": sum(s.parallel_fifths for s in stats) / bars,
        "parallel_octaves_per_bar": sum(s.parallel_octaves for s in stats) / bars,
        "parallels_per_bar": sum(s.parallel_fifths + s.parallel_octaves for s in stats) / bars,
        "crossings_per_bar": sum(s.crossings for s in stats) / bars,
        "wide_spacings_per_bar": sum(s.wide_spacings for s in stats) / bars,
    }
