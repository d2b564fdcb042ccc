"""How well does the harmonizer harmonize Bach's own melodies? Measured on the test chorales of
the sixteenth-note SATB split Coconet used (../shared/benchmarks/jsb16th_satb.json.gz), which the
shipped `harmonizer` never saw (it is trained on that split's train part only).

For each test chorale the soprano goes in; out come alto, tenor and bass. Printed, ours beside
Bach's on the same chorales (per bar of 16 sixteenths; the split carries no meter):
  - parallel fifths and octaves, voice crossings, spacings over an octave between adjacent upper
    voices (grid steps), notes outside the conventional SATB ranges;
  - the share of phrase ends (detected from the soprano as the harmonizer detects them) whose
    chord is the tonic or dominant of the melody's key in root position;
and (--nll) the likelihood of Bach's own voices under the model:
  - NLL per cell of alto, tenor and bass given the soprano, by the chain rule in one random
    order of the cells per chorale (exact for that order);
  - framewise NLL of all four voices: frames in random order, the voices of a frame in random
    order, summed per frame (Coconet's evaluation order).

    .venv/bin/python benchmarks/harmonize_quality.py [--pieces 77] [--nll] [--free-cadences]
    .venv/bin/python benchmarks/harmonize_quality.py --model chorales    # the causal model, by particles
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from cadenza.compose import harmonizer as assistant  # noqa: E402
from cadenza.data.benchmarks import load_satb  # noqa: E402
from cadenza.evaluate.measures import is_cadence_chord  # noqa: E402
from cadenza.evaluate.voice_leading import SATB_RANGES, crossings, parallel_motions, wide_spacings  # noqa: E402
from cadenza.families.orderless import ordered_nll  # noqa: E402
from cadenza.score import Meter, Part, Score, Tempo  # noqa: E402
from cadenza.theory import melody_key  # noqa: E402
from cadenza.tokenize.cells import REST  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "jsb16th_satb.json.gz"
STEPS_PER_BAR = 16


def pitches(grid: np.ndarray) -> list[list[int | None]]:
    return [[None if c == REST else int(c) - 1 for c in row] for row in grid]


def melody_score(grid: np.ndarray) -> Score:
    notes = assistant.cells_to_notes(grid[:, 0], 4)
    return Score(parts=[Part("Soprano", notes=notes)], tempos=[Tempo(0.0, 80.0)], meters=[Meter(0.0, 4, 4)])


def score_grid(score: Score, T: int) -> np.ndarray:
    grid = np.zeros((T, len(score.parts)), dtype=np.int64)
    for v, part in enumerate(score.parts):
        for x in part.notes:
            grid[round(x.start_beats * 4) : round(x.end_beats * 4), v] = 1 + x.pitch
    return grid


def rates(grid: np.ndarray, melody: Score) -> dict:
    rows = pitches(grid)
    motions = parallel_motions(rows)
    out_of_range = 0
    for v in range(4):
        for x in assistant.cells_to_notes(grid[:, v], 4):
            out_of_range += not SATB_RANGES[v][0] <= x.pitch <= SATB_RANGES[v][1]
    line = melody.parts[0].notes
    key = melody_key(melody, line)  # as harmonize reads it
    ends = [x for x, _ in assistant.phrase_plan(melody, line, key)]  # the phrase ends harmonize plans
    cadences = sum(
        None not in rows[round(x.start_beats * 4)] and is_cadence_chord(rows[round(x.start_beats * 4)], key)
        for x in ends
    )
    return {
        "parallels": len(motions),
        "crossings": crossings(rows),
        "wide_spacings": wide_spacings(rows),
        "out_of_range": out_of_range,
        "phrase_ends": len(ends),
        "cadences": cadences,
        "bars": len(grid) / STEPS_PER_BAR,
    }


def pooled(stats: list[dict]) -> dict:
    bars = sum(s["bars"] for s in stats)
    out = {k: sum(s[k] for s in stats) / bars for k in ("parallels", "crossings", "wide_spacings", "out_of_range")}
    out["cadence_share"] = sum(s["cadences"] for s in stats) / max(1, sum(s["phrase_ends"] for s in stats))
    return out


def nll_measures(h, pieces: list[np.ndarray], seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    atb_total = atb_cells = frame_total = frames = 0.0
    for g in pieces:
        cells = [(t, v) for t in range(len(g)) for v in (1, 2, 3)]
        order = [cells[i] for i in rng.permutation(len(cells))]
        atb_total += ordered_nll(h.model, g, order)
        atb_cells += len(order)
        order = [(int(t), int(v)) for t in rng.permutation(len(g)) for v in rng.permutation(4)]
        frame_total += ordered_nll(h.model, g, order)
        frames += len(g)
    return atb_total / atb_cells, frame_total / frames


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="harmonizer")
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--pieces", type=int, default=77, help="how many test chorales (all 77 by default)")
    ap.add_argument("--iterations", type=int, default=64)
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--free-cadences", action="store_true", help="no planned cadences: the network alone")
    ap.add_argument(
        "--allow-parallels",
        action="store_true",
        help="the network alone: no repair pass against parallels and no planned cadences",
    )
    ap.add_argument("--nll", action="store_true", help="also the likelihood measures (minutes)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(2)
    h = assistant.load(args.model)
    if h.composer is not None and (args.nll or args.allow_parallels):
        ap.error("--nll and --allow-parallels measure an orderless model; this one is causal")
    test = load_satb(args.data)["test"][: args.pieces]
    clock = time.monotonic()
    ours, bach = [], []
    for i, g in enumerate(test):
        melody = melody_score(g)
        if args.allow_parallels:
            from cadenza.compose import gibbs

            settings = gibbs.GibbsSettings(args.iterations, args.temperature, repair_rounds=0, seed=args.seed + i)
            hidden = np.zeros(g.shape, dtype=bool)
            hidden[:, 1:] = True
            allowed = h._allowed(len(g), assistant.Rules())
            allowed[g[:, 0] != REST, 1:, REST] = False
            grid = gibbs.gibbs_fill(h.model, np.where(hidden, 0, g), hidden, allowed, settings, no_parallels=False)[0]
        else:
            [r] = h.harmonize(
                melody,
                seed=args.seed + i,
                iterations=args.iterations,
                temperature=args.temperature,
                cadences=not args.free_cadences,
                source=f"test chorale {i}",
            )
            grid = score_grid(r.score, len(g))
        ours.append(rates(grid, melody))
        bach.append(rates(g, melody))
    seconds = time.monotonic() - clock
    o, b = pooled(ours), pooled(bach)
    how = "by particles" if h.composer is not None else f"iterations {args.iterations}, temperature {args.temperature}"
    print(
        f"model {h.name} ({h.meta['params']:,} parameters), {len(test)} test chorales, "
        f"{sum(s['bars'] for s in bach):.0f} bars, {seconds:.1f} s to harmonize ({how}, "
        f"cadences {'free' if args.free_cadences or args.allow_parallels else 'planned'}, "
        f"parallels {'allowed' if args.allow_parallels else 'repaired'})"
    )
    print(f"{'per bar':<28}{'ours':>10}{'Bach':>10}{'ratio':>8}")
    for k in ("parallels", "crossings", "wide_spacings", "out_of_range"):
        ratio = o[k] / b[k] if b[k] else float("nan")
        print(f"{k.replace('_', ' '):<28}{o[k]:>10.4f}{b[k]:>10.4f}{ratio:>8.2f}")
    print(
        f"{'phrase ends on I or V':<28}{o['cadence_share']:>10.1%}{b['cadence_share']:>10.1%}"
        f"  ({sum(s['phrase_ends'] for s in bach)} phrase ends)"
    )
    if args.nll:
        clock = time.monotonic()
        atb, frame = nll_measures(h, test, args.seed)
        print(f"NLL of Bach's alto, tenor, bass given the soprano: {atb:.4f} nats per cell (random order)")
        print(
            f"framewise NLL of all four voices: {frame:.4f} nats per frame (random frame order, "
            f"random voice order within a frame) [{time.monotonic() - clock:.0f} s]"
        )


if __name__ == "__main__":
    main()
