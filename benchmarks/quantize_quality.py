"""How well does `cadenza continue` read a recorded performance as a score
(cadenza.perform.quantize)? Measured on the human performances of the test pieces of our ASAP
split, against their beat annotations and their scores' meters:

- beat F-measure: a tracked beat within 70 ms of an annotated one counts (the MIREX tolerance),
  at the annotated level, and at the best of four levels (as annotated, twice as fast, and every
  other beat from either end): a beat tracked at half or double the tempo is a level off;
- tempo level: our median beat against the annotated median beat, as ratios near 1, 2, 1/2,
  3/2, 2/3, or other;
- meter: the beats per bar (and simple or compound) we found against the score's first meter.

    python benchmarks/quantize_quality.py [--data ../shared/data/asap] [--split test] [--limit N]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np

from cadenza.data import asap
from cadenza.io.midi import read_midi
from cadenza.perform.quantize import is_performance, quantized
from cadenza.theory import is_compound

TOLERANCE_S = 0.07


def f_measure(ours: np.ndarray, truth: np.ndarray) -> float:
    if not len(ours) or not len(truth):
        return 0.0
    precision = np.mean([np.min(np.abs(truth - x)) < TOLERANCE_S for x in ours])
    recall = np.mean([np.min(np.abs(ours - x)) < TOLERANCE_S for x in truth])
    return float(2 * precision * recall / (precision + recall)) if precision + recall else 0.0


def level(ratio: float) -> str:
    for name, r in (("same", 1.0), ("double", 0.5), ("half", 2.0), ("3/2", 1.5), ("2/3", 2 / 3)):
        if abs(ratio / r - 1) < 0.08:
            return name
    return "other"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="../shared/data/asap")
    ap.add_argument("--split", default="test")
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    perfs = [p for p in asap.performances(Path(args.data)) if asap.split_of(p.folder) == args.split]
    perfs = perfs[: args.limit or None]
    same, best, levels, meters, detected = [], [], Counter(), Counter(), 0
    for p in perfs:
        played, score = read_midi(p.performance_midi), read_midi(p.score_midi)
        detected += is_performance(played) and not is_performance(score)
        truth, _ = asap.read_annotations(p.performance_annotations)
        _, found = quantized(played)
        ours = found.beat_seconds
        halves = np.sort(np.concatenate([truth, (truth[1:] + truth[:-1]) / 2]))
        same.append(f_measure(ours, truth))
        best.append(max(f_measure(ours, t) for t in (truth, halves, truth[::2], truth[1::2])))
        levels[level(float(np.median(np.diff(ours)) / np.median(np.diff(truth))))] += 1
        m = score.meters[0]
        want = (m.numerator // 3 if is_compound(m.numerator, m.denominator) else m.numerator, m.denominator == 8)
        got = found.meter
        meters[(got.numerator // 3 if got.denominator == 8 else got.numerator, got.denominator == 8) == want] += 1
    n = len(perfs)
    print(f"{n} performances of the {args.split} split ({len({p.folder for p in perfs})} pieces)")
    print(f"told from their scores (performance yes, score no): {detected}/{n}")
    print(f"beat F-measure (70 ms): at the annotated level {np.mean(same):.3f}, at the best level {np.mean(best):.3f}")
    print("tempo level against the annotations: " + ", ".join(f"{k} {v}" for k, v in levels.most_common()))
    print(f"beats per bar and simple/compound as the score's first meter: {meters[True]}/{n}")


if __name__ == "__main__":
    main()
