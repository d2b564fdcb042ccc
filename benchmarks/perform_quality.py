"""How human do our performances sound? Tempo and loudness curves against ASAP's pianists.

For each test piece of our ASAP split (cadenza.data.asap.split_of: by piece, so the learned
performer never saw these pieces) and each human performance of it, at every annotated beat:

- the tempo curve: the inter-beat intervals (the humans' from their beat annotations; ours
  from the times our performance gives the same score positions), each divided by its beat's
  length in quarter notes, so that a dotted beat, a pickup's short beat or a meter change is
  not read as a change of tempo;
- the loudness curve: the mean velocity of the notes whose onsets fall in each beat.

It prints the mean Pearson r between each rendering's curves and the humans', per folder
averaged over its performances, per piece over its folders (a score and its _no_repeat
version are one piece), then over pieces, with a 95% bootstrap interval over pieces (and the
paired differences between renderings, pieces resampled together):

- deadpan: one tempo (the score's first) and one velocity (64) throughout;
- the score as written: ASAP's score MIDI, with its notated tempo changes and the velocities
  of its dynamics markings (`cadenza perform --performer none`);
- rules: the KTH rule performer (`--performer rules`);
- learned: the learned performer (`--performer learned`);
- human against human: every pair of performances of one piece (the ceiling).

A constant curve has no correlation: it counts as r = 0 (no agreement), so deadpan scores 0
by construction, and the score as written scores 0 on tempo wherever it marks one tempo.

    python benchmarks/perform_quality.py [--data ../shared/data/asap] [--model performer] [--pieces N]
    python benchmarks/perform_quality.py --folds runs/performer-cv

--folds scores every piece of ASAP, each by a learned performer that never saw it: FOLDER holds
one model per cross-validation fold (`cadenza train --family performer --fold K/N --out
FOLDER/K` for K = 0..N-1), and a piece is played by the model whose test slice holds it
(cadenza.data.asap.split_of). The untrained renderings and the humans are scored on every
piece too. More test pieces give narrower intervals than one split's.
    python benchmarks/perform_quality.py --plot Chopin/Etudes_op_10/12 --bars 1-20 --out curves.png

--plot draws one piece's curves (its humans' and ours, bars FIRST-LAST) to look at.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

from cadenza.data.asap import (
    aligned,
    curve_correlation,
    loudness_curve,
    parse_fold,
    performances,
    piece_of,
    split_of,
    tempo_curve,
)
from cadenza.errors import OptionError
from cadenza.perform import perform
from cadenza.score import Score, Tempo

RENDERINGS = ("deadpan", "score as written", "rules", "learned")


def deadpan_score(score: Score) -> Score:
    """One tempo and one velocity throughout."""
    parts = [replace(p, notes=[replace(n, velocity=64) for n in p.notes]) for p in score.parts]
    return replace(score, parts=parts, tempos=[Tempo(0.0, score.tempo_bpm)])


def seconds_per_quarter(seconds: np.ndarray, beats: np.ndarray) -> np.ndarray:
    """The tempo curve: each annotated beat's length in seconds per quarter note."""
    # rounded to a microsecond: a constant tempo must read as constant, not as float noise
    return np.round(tempo_curve(seconds) / np.maximum(np.diff(beats), 1e-6), 6)


def curves_of(performance, beats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(tempo curve, loudness curve) of one of our performances at the annotated score beats."""
    seconds = performance.seconds_at(beats)
    onsets = np.array([n[2] for n in performance.notes])
    velocities = np.array([n[4] for n in performance.notes], dtype=np.float64)
    return seconds_per_quarter(seconds, beats), loudness_curve(onsets, velocities, seconds)


def r0(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r, 0 where it is undefined (a constant curve)."""
    r = curve_correlation(a, b)
    return 0.0 if not np.isfinite(r) else r


def per_piece(values: list[float], pieces: list[str]) -> list[float]:
    """The mean of each piece's folders (a score and its _no_repeat version are one piece,
    cadenza.data.asap.piece_of), in the order the pieces come: what the intervals resample."""
    by: dict[str, list[float]] = defaultdict(list)
    for piece, value in zip(pieces, values):
        by[piece].append(value)
    return [float(np.mean(v)) for v in by.values()]


def bootstrap(values: list[float], rounds: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    v = np.array(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), size=(rounds, len(v)))].mean(axis=1)
    return float(v.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def plot(folder: str, data: Path, model: str, bars: tuple[int, int], out: Path) -> None:
    """Tempo (seconds per quarter) and loudness (mean velocity) per beat of one piece's
    humans and of our renderings, over bars FIRST-LAST, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cadenza.score import bar_starts, pickup_start

    humans = [aligned(p) for p in performances(data) if p.folder == folder]
    if not humans:
        raise SystemExit(f"no performances of {folder} in {data}")
    score, beats = humans[0].score, humans[0].beats
    starts = bar_starts(score)
    first = starts[bars[0] - 1 + int(pickup_start(score) > 0)]
    last = starts[min(bars[1] + int(pickup_start(score) > 0), len(starts) - 1)]
    keep = (beats[:-1] >= first) & (beats[:-1] < last)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 6), sharex=True)
    x = beats[:-1][keep]
    for a in humans:
        loud = loudness_curve(a.perf_notes[:, 0], a.perf_notes[:, 3], a.seconds)
        top.plot(x, seconds_per_quarter(a.seconds, beats)[keep], color="0.75", lw=1)
        bottom.plot(x, loud[keep], color="0.75", lw=1)
    ours = {
        "score as written": perform(score, "none"),
        "rules": perform(score, "rules", seed=0),
        "learned": perform(score, "learned", seed=0, model=model),
    }
    for (name, performance), color in zip(ours.items(), ("tab:green", "tab:blue", "tab:red")):
        t, lo = curves_of(performance, beats)
        top.plot(x, t[keep], color=color, lw=1.6, label=name)
        bottom.plot(x, lo[keep], color=color, lw=1.6, label=name)
    top.set_ylabel("seconds per quarter")
    bottom.set_ylabel("mean velocity")
    bottom.set_xlabel("beat (quarter notes)")
    top.set_title(f"{folder}, bars {bars[0]}-{bars[1]}: humans (grey) and ours")
    top.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    print(out)


def fold_models(folder: Path) -> dict[int, tuple[str, int]]:
    """{K: (model folder, N)} of a cross-validation folder: one model per fold, K = 0..N-1."""
    found: dict[int, tuple[str, int]] = {}
    for meta_path in sorted(folder.glob("*/model.json")):
        if not (meta_path.parent / "card.md").exists():  # a run writes its card when it ends
            raise SystemExit(f"{meta_path.parent}: its training has not finished (no card.md)")
        try:
            fold = parse_fold(json.loads(meta_path.read_text()).get("train", {}).get("fold", ""))
        except OptionError as e:
            raise SystemExit(f"{meta_path}: train.fold: {e}") from None
        if fold is None:
            raise SystemExit(f"{meta_path}: not trained with --fold K/N")
        if fold[0] in found:
            raise SystemExit(f"{meta_path}: a second model for fold {fold[0]}/{fold[1]}")
        found[fold[0]] = (str(meta_path.parent), fold[1])
    counts = sorted({n for _, n in found.values()})
    if len(counts) != 1 or sorted(found) != list(range(counts[0])):
        raise SystemExit(
            f"{folder}: needs one finished model for each fold K/N, K = 0..N-1, of one N; "
            f"found folds {sorted(found)} of N = {counts}"
        )
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "asap"))
    ap.add_argument("--model", default="performer", help="the learned performer (name or folder)")
    ap.add_argument("--pieces", type=int, default=0, help="only the first N pieces, by folder name (0: all)")
    ap.add_argument("--split", default="test")
    ap.add_argument(
        "--folds", help="a folder of cross-validation models (FOLDER/K): score every piece (not with --split)"
    )
    ap.add_argument("--plot", help="a piece folder (e.g. Chopin/Etudes_op_10/12): draw its curves instead")
    ap.add_argument("--bars", default="1-16", help="with --plot: the bars to draw")
    ap.add_argument("--out", default="curves.png", help="with --plot: the PNG")
    args = ap.parse_args()
    if args.plot:
        first, last = (int(b) for b in args.bars.split("-"))
        plot(args.plot, Path(args.data), args.model, (first, last), Path(args.out))
        return

    if args.folds and args.split != "test":
        ap.error("--folds scores every piece, each in its fold's test split: leave out --split")
    folds = fold_models(Path(args.folds)) if args.folds else {}
    model_of: dict[str, str] = {}
    by_piece: dict[str, list] = defaultdict(list)
    for p in performances(Path(args.data)):
        if folds:
            model_of[p.folder] = next(m for k, (m, n) in folds.items() if split_of(p.folder, (k, n)) == "test")
            by_piece[p.folder].append(p)
        elif split_of(p.folder) == args.split:
            model_of[p.folder] = args.model
            by_piece[p.folder].append(p)
    folders = sorted(by_piece)[: args.pieces or None]
    split = f"pieces, {len(folds)}-fold cross-validated," if folds else f"{args.split} pieces,"
    print(f"{len(folders)} {split} {sum(len(by_piece[f]) for f in folders)} performances", flush=True)
    tempo: dict[str, list[float]] = {k: [] for k in (*RENDERINGS, "human vs human")}
    loud: dict[str, list[float]] = {k: [] for k in (*RENDERINGS, "human vs human")}
    rendered: list[str] = []  # the piece of each folder our renderings were scored on
    paired: list[str] = []  # the piece of each folder with two or more comparable humans
    clock = time.monotonic()
    for folder in folders:
        humans = []
        for p in by_piece[folder]:
            try:
                a = aligned(p)
            except Exception as e:
                print(f"  skipped {p.performance_midi}: {e}", file=sys.stderr)
                continue
            h_loud = loudness_curve(a.perf_notes[:, 0], a.perf_notes[:, 3], a.seconds)
            humans.append((a, seconds_per_quarter(a.seconds, a.beats), h_loud))
        if not humans:
            continue
        score, beats = humans[0][0].score, humans[0][0].beats
        ours = {
            "deadpan": perform(deadpan_score(score), "none"),
            "score as written": perform(score, "none"),
            "rules": perform(score, "rules", seed=0),
            "learned": perform(score, "learned", seed=0, model=model_of[folder]),
        }
        for name, performance in ours.items():
            t, lo = curves_of(performance, beats)
            tempo[name].append(float(np.mean([r0(t, h[1]) for h in humans if len(h[1]) == len(t)])))
            loud[name].append(float(np.mean([r0(lo, h[2]) for h in humans if len(h[2]) == len(lo)])))
        rendered.append(piece_of(folder))
        pairs = [(x, y) for x, y in itertools.combinations(humans, 2) if len(x[1]) == len(y[1])]
        if pairs:
            tempo["human vs human"].append(float(np.mean([r0(x[1], y[1]) for x, y in pairs])))
            paired.append(piece_of(folder))
            loud["human vs human"].append(float(np.mean([r0(x[2], y[2]) for x, y in pairs])))
        print(
            f"  {folder}: {len(humans)} performances; tempo r "
            + ", ".join(f"{k} {tempo[k][-1]:.2f}" for k in RENDERINGS)
            + "; loudness r "
            + ", ".join(f"{k} {loud[k][-1]:.2f}" for k in RENDERINGS),
            flush=True,
        )
    print(
        f"\n{len(rendered)} folders, {len(set(rendered))} pieces (versions of a score, such as "
        f"_no_repeat, averaged as one), {time.monotonic() - clock:.0f} s\n"
    )
    print("| rendering | tempo r (95% CI) | loudness r (95% CI) | pieces |")
    print("| --- | --- | --- | --- |")
    for name in (*RENDERINGS, "human vs human"):
        which = paired if name == "human vs human" else rendered
        if tempo[name]:
            t, lo = bootstrap(per_piece(tempo[name], which)), bootstrap(per_piece(loud[name], which))
            print(
                f"| {name} | {t[0]:.3f} ({t[1]:.3f} to {t[2]:.3f}) | {lo[0]:.3f} ({lo[1]:.3f} to {lo[2]:.3f}) "
                f"| {len(set(which))} |"
            )
    print("\npaired differences, the same pieces resampled together (95% bootstrap interval):")
    for better, worse in (("learned", "rules"), ("rules", "score as written"), ("learned", "score as written")):
        t = bootstrap(per_piece(list(np.subtract(tempo[better], tempo[worse])), rendered))
        lo = bootstrap(per_piece(list(np.subtract(loud[better], loud[worse])), rendered))
        print(
            f"  {better} - {worse}: tempo {t[0]:+.3f} ({t[1]:+.3f} to {t[2]:+.3f}), "
            f"loudness {lo[0]:+.3f} ({lo[1]:+.3f} to {lo[2]:+.3f})"
        )


if __name__ == "__main__":
    main()
