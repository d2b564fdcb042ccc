"""Score -> piano-roll picture (PNG) with matplotlib.

One colour per part, time in bars along the x axis (bar lines drawn from the meter map),
pitch with note names on the y axis (C4 = 60), velocity as opacity.
"""

from __future__ import annotations

from pathlib import Path

from cadenza.io.files import atomic_write
from cadenza.score import Score, pickup_start, pitch_range, pitch_to_name

_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def bar_lines_beats(score: Score) -> list[float]:
    """Beats at which bars begin, from beat 0 to the end, following meter changes."""
    meters = sorted(score.meters, key=lambda m: m.start_beats)
    if not meters:
        return [0.0]
    lines, at, end = [], 0.0, score.end_beats
    while at <= end + 1e-9:
        lines.append(at)
        at += next((m for m in reversed(meters) if m.start_beats <= at + 1e-9), meters[0]).bar_beats
    return lines


def draw_piano_roll(score: Score, title: str = ""):
    """A matplotlib Figure of the score's piano roll (for notebooks: display it, or save it)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import numpy as np
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import to_rgb
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    low, high = pitch_range(score)
    low, high = low - 2, high + 2
    end = max(score.end_beats, 1.0)
    fig = Figure(figsize=(min(4 + end / 4, 24), min(3 + (high - low) / 8, 10)), dpi=100)
    ax = fig.add_subplot()
    legend = []
    for i, part in enumerate(score.parts):
        colour = "#555555" if part.is_drum else _COLOURS[i % len(_COLOURS)]
        # a note is a rectangle, velocity its opacity: one collection per part draws the same
        # pixels as a Rectangle patch per note (same corners, same order), many times faster
        x0, y0, length, velocity = (
            np.array([(n.start_beats, n.pitch - 0.45, n.duration_beats, n.velocity) for n in part.notes], dtype=float)
            .reshape(-1, 4)
            .T
        )
        x1, y1 = x0 + length, y0 + 0.9
        corners = np.stack([x0, y0, x1, y0, x1, y1, x0, y1], axis=-1).reshape(-1, 4, 2)
        alpha = 0.35 + 0.65 * velocity / 127
        faces = np.column_stack([np.tile(to_rgb(colour), (len(alpha), 1)), alpha])
        edges = np.column_stack([np.zeros((len(alpha), 3)), alpha])
        ax.add_collection(
            PolyCollection(list(corners), closed=True, facecolors=faces, edgecolors=edges, linewidths=0.3),
            autolim=False,
        )
        legend.append(Patch(facecolor=colour, label=part.name or f"part {i + 1}"))
    bar_lines = bar_lines_beats(score)
    ax.vlines(bar_lines, 0, 1, transform=ax.get_xaxis_transform(), colors="#bbbbbb", linewidths=0.6, zorder=0)
    first = 0 if pickup_start(score) else 1  # bars numbered as notation shows them: a pickup is bar 0
    for b, beat in enumerate(bar_lines):
        if b % 4 == 0:
            ax.text(beat, high + 0.3, str(b + first), fontsize=7, color="#777777")
    cs = [p for p in range(low, high + 1) if p % 12 == 0]
    ax.set_yticks(cs, [f"{pitch_to_name(p)} ({p})" for p in cs])
    for p in cs:
        ax.axhline(p, color="#eeeeee", linewidth=0.6, zorder=0)
    ax.set_xlim(0, end)
    ax.set_ylim(low, high + 1)
    ax.set_xlabel(
        f"beats (quarter notes); bars numbered above; meter {score.meter}, "
        f"{score.tempo_bpm:g} bpm, key {score.key or 'not given'}"
    )
    ax.set_title(title or score.title or "piano roll")
    if legend:
        ax.legend(handles=legend, loc="upper right", fontsize=7, framealpha=0.8)
    fig.tight_layout()
    return fig


def write_piano_roll(score: Score, path: str | Path, force: bool = False, title: str = "") -> Path:
    """Draw the piano roll and save it as PNG, atomically."""
    fig = draw_piano_roll(score, title)
    return atomic_write(path, lambda tmp: fig.savefig(str(tmp), format="png"), force=force)


def write_similarity(
    similarity,
    path: str | Path,
    sections: list[tuple[int, str]] | None = None,
    phrase_starts: list[int] | None = None,
    title: str = "",
    force: bool = False,
) -> Path:
    """Save a (bars, bars) bar-by-bar self-similarity matrix (0 = nothing in common, 1 = the same
    bar; cadenza.plan.similarity) as PNG, atomically: bars numbered from 1 on both axes, a solid
    line where each section (start bar from 0, label) begins, its label above, and a dotted line
    at each other phrase start."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import numpy as np
    from matplotlib.figure import Figure

    sim = np.asarray(similarity, dtype=float)
    n = sim.shape[0]
    size = min(4.0 + n / 12, 14.0)
    fig = Figure(figsize=(size + 1.2, size), dpi=100)
    ax = fig.add_subplot()
    image = ax.imshow(sim, cmap="magma", vmin=0.0, vmax=1.0, origin="upper", extent=(0.5, n + 0.5, n + 0.5, 0.5))
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="notes in common (Jaccard)")
    sections, phrase_starts = sections or [], phrase_starts or []
    starts = {start for start, _ in sections}
    for b in phrase_starts:
        if b > 0 and b not in starts:
            ax.axvline(b + 0.5, color="#8ecae6", linewidth=0.6, linestyle=":")
            ax.axhline(b + 0.5, color="#8ecae6", linewidth=0.6, linestyle=":")
    for start, label in sections:
        if start > 0:
            ax.axvline(start + 0.5, color="#2a9d8f", linewidth=1.2)
            ax.axhline(start + 0.5, color="#2a9d8f", linewidth=1.2)
        ax.text(start + 0.6, 0.3, label, fontsize=9, color="#1d3557", va="bottom", ha="left", clip_on=False)
    ax.set_xlim(0.5, n + 0.5)
    ax.set_ylim(n + 0.5, 0.5)
    ax.set_xlabel("bar")
    ax.set_ylabel("bar")
    ax.set_title(title or "bar-by-bar self-similarity", pad=16)
    fig.tight_layout()
    return atomic_write(path, lambda tmp: fig.savefig(str(tmp), format="png"), force=force)
