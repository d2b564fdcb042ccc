"""Fit a causal voices model's melodic-interval bias: per voice and signed interval (-12..12
semitones), the log ratio of how often the model's training pieces move by that interval to how
often the model's own samples do. The sampler adds it to each pitch's logit (relative to the
pitch the voice sings now), which nudges the voices' intervals toward the training data's: the
"sampling tuned to Bach's rates" of issue 14. Only training pieces and the model's own samples
go in (seeds 100..139, not the seeds benchmarks/bach_classifier.py scores), never a test split.

The samples are drawn as `cadenza generate` writes pieces: each with the plan its plan model
draws (--no-plan: without). With --rounds N the fit is repeated N times, each round sampling
with the bias so far and adding the log ratio that is left (a bias fitted once undershoots:
the masks and the plans' cadences move the intervals too).

    .venv/bin/python benchmarks/fit_interval_bias.py --model chorales [--rounds 3] [--vertical] [--write]

--vertical fits, in the same rounds, a vertical bias too: per voice v and each voice u above it,
the log ratio of the training pieces' to the samples' shares of each interval class between the
two (counted at every step both sound, as cadenza.evaluate.classifier counts them), which the
sampler adds to voice v's pitches given the pitch u sounds at that step.

--contour fits the melodic bias given each voice's last move instead (per voice, last move -3..3
semitones, 3 for 3 or more, and signed interval: the log ratio of the training pieces' to the
samples' shares of each interval after that move), so that a line goes on as the training
pieces' lines do (a step up is followed by another step up, or turns back, as often as there),
and stores it as "contour_bias" in place of "interval_bias".

--rhythm fits a hold bias too: per voice and step in the beat (sixteenths), the log-odds of the
training pieces' chance of moving there (a new pitch at that step) against the samples', taken
off holding on there, so that voices move on the beat, the eighth and the sixteenth as often as
in the training pieces.

--register fits a register bias too: per voice and pitch, the log ratio of the training pieces'
to the samples' shares of the pitches struck (onsets, not held steps), which the sampler adds to
each pitch a voice strikes, over registers (the shares summed over a fifth around each pitch,
not pitch by pitch, which would learn the samples' keys), so that tunes lie where the training
pieces lie (the folk model's unplanned tunes struck 15% of their notes under D4, its training
tunes 3%). With --no-interval no melodic bias is fitted or written (a model whose intervals are
left as they are).

--write stores them in the model's model.json ("sampling": {"interval_bias": ..., "vertical_bias": ...}). Intervals are
counted between successive sounding pitches, rests bridged (as cadenza.evaluate.classifier counts
them); the sampler applies the bias while a voice sings, not to its first note after a rest, and
like every logit it is divided by the temperature (the fit is for temperature 1).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from cadenza.compose import composer  # noqa: E402
from cadenza.data.corpus import split_of  # noqa: E402
from cadenza.errors import CadenzaError  # noqa: E402
from cadenza.evaluate.classifier import changes, grid_of, melodic_steps  # noqa: E402
from cadenza.io.files import atomic_write  # noqa: E402

REACH = 12
SEEDS = range(100, 140)
SMOOTH = 1e-3
BOUND = 4.0  # the most log-odds the bias adds or takes away, however rare an interval


def interval_shares(grids: list[np.ndarray], n_voices: int) -> np.ndarray:
    """(voices, 2 * REACH + 1) shares of each voice's signed intervals between successive pitches."""
    counts = np.zeros((n_voices, 2 * REACH + 1))
    for g in grids:
        for v in range(n_voices):
            steps = np.clip(melodic_steps(g[:, v]), -REACH, REACH)
            counts[v] += np.bincount(steps + REACH, minlength=2 * REACH + 1)
    return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)


def vertical_shares(grids: list[np.ndarray], n_voices: int) -> np.ndarray:
    """(voices, voices, 12): [v, u] the shares of interval classes from voice v up to voice u < v,
    at the steps both sound (zeros where u >= v)."""
    counts = np.zeros((n_voices, n_voices, 12))
    for g in grids:
        for v in range(n_voices):
            for u in range(v):
                both = (g[:, u] >= 0) & (g[:, v] >= 0)
                counts[v, u] += np.bincount((g[both, u] - g[both, v]) % 12, minlength=12)
    return counts / np.maximum(counts.sum(axis=2, keepdims=True), 1)


def contour_shares(grids: list[np.ndarray], n_voices: int) -> np.ndarray:
    """(voices, 7, 2 * REACH + 1): per voice and last move (-3..3, sampler.move_class's classes;
    0 for a voice's first move), the shares of each signed interval it moves by next."""
    counts = np.zeros((n_voices, 7, 2 * REACH + 1))
    for g in grids:
        for v in range(n_voices):
            steps = melodic_steps(g[:, v])
            last = np.concatenate([[0], np.sign(steps[:-1]) * np.minimum(np.abs(steps[:-1]), 3)])
            np.add.at(counts[v], (last + 3, np.clip(steps, -REACH, REACH) + REACH), 1)
    return counts / np.maximum(counts.sum(axis=2, keepdims=True), 1)


def move_rates(grids: list[np.ndarray], n_voices: int, per_beat: int) -> np.ndarray:
    """(voices, per_beat): the share of the steps at each position in the beat where a voice
    that sounded at the step before sounds a new pitch (cadenza.evaluate.classifier.changes)."""
    moved = np.zeros((n_voices, per_beat))
    could = np.zeros((n_voices, per_beat))
    for g in grids:
        where = np.arange(1, len(g)) % per_beat
        for v in range(n_voices):
            both, changed = changes(g[:, v])
            moved[v] += np.bincount(where[changed], minlength=per_beat)
            could[v] += np.bincount(where[both], minlength=per_beat)
    return moved / np.maximum(could, 1)


def pitch_shares(grids: list[np.ndarray], n_voices: int) -> np.ndarray:
    """(voices, 128) shares of the pitches each voice strikes (a pitch after a rest, or after
    another pitch: cadenza.evaluate.classifier.changes' new pitches, and each first note)."""
    counts = np.zeros((n_voices, 128))
    for g in grids:
        for v in range(n_voices):
            line = g[:, v]
            struck = (line >= 0) & np.concatenate([[True], line[1:] != line[:-1]])
            counts[v] += np.bincount(line[struck], minlength=128)[:128]
    return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)


def registers(shares: np.ndarray, width: int = 7) -> np.ndarray:
    """(voices, 128) the shares of pitches summed over the `width` semitones around each (a
    fifth): how much a voice lies in each register, whatever the key (a register bias fitted
    pitch by pitch on 40 samples learned their keys' scales, noise of a nat either way)."""
    kernel = np.ones(width)
    return np.stack([np.convolve(row, kernel, mode="same") for row in shares])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="chorales")
    ap.add_argument("--bars", type=int, default=16)
    ap.add_argument("--write", action="store_true", help="store the bias in the model's model.json")
    ap.add_argument("--rounds", type=int, default=1, help="fit again with the bias so far, this many times")
    ap.add_argument("--vertical", action="store_true", help="fit the vertical bias between voices too")
    ap.add_argument(
        "--rate", type=float, default=1.0, help="the share of each round's log ratio added (below 1 damps the rounds)"
    )
    ap.add_argument("--contour", action="store_true", help="fit the melodic bias given each voice's last move")
    ap.add_argument("--rhythm", action="store_true", help="fit the hold bias by step in the beat too")
    ap.add_argument("--no-plan", action="store_true", help="samples without plans (generate --no-plan)")
    ap.add_argument("--register", action="store_true", help="fit a register bias (the pitches struck) too")
    ap.add_argument("--no-interval", action="store_true", help="fit and write no melodic bias")
    args = ap.parse_args()
    c = composer.load(args.model)
    nv = c.tokenizer.config.n_voices
    train, _ = split_of(c.meta)
    real = []
    for p in train:
        try:
            real.append(grid_of(p.score, nv))
        except CadenzaError:
            continue
    target = interval_shares(real, nv)
    target_contour = contour_shares(real, nv)
    contour = np.zeros((nv, 7, 2 * REACH + 1))
    target_vertical = vertical_shares(real, nv)
    bias = np.zeros((nv, 2 * REACH + 1))
    vertical = np.zeros((nv, nv, 12))
    per_beat = c.tokenizer.config.steps_per_beat
    target_moves = move_rates(real, nv, per_beat)
    hold = np.zeros((nv, per_beat))
    target_pitches = pitch_shares(real, nv)
    register = np.zeros((nv, 128))
    melodic = not args.no_interval
    for r in range(args.rounds):
        samples = []
        for s in SEEDS:
            constraints = c.default_constraints()
            constraints.interval_bias = bias if r and melodic and not args.contour else None  # round 1: unbiased
            constraints.contour_bias = contour if r and melodic and args.contour else None
            constraints.pitch_bias = register if r and args.register else None
            constraints.vertical_bias = vertical if r and args.vertical else None
            constraints.hold_bias = hold if r and args.rhythm else None
            key, meter = c.default_key(s), c.default_meter()
            plan = None if args.no_plan else c.plan_for(None, args.bars, meter, key, s)
            samples.append(grid_of(c.generate(bars=args.bars, key=key, seed=s, constraints=constraints, plan=plan), nv))
        shares = interval_shares(samples, nv)
        gap = np.abs(shares - target).sum(axis=1) / 2
        off = " ".join(f"{g:.3f}" for g in gap)
        print(f"round {r + 1}: the samples' interval shares differ from the training pieces' by {off}", flush=True)
        if melodic and args.contour:
            found = contour_shares(samples, nv)
            contour = np.clip(contour + args.rate * np.log((target_contour + SMOOTH) / (found + SMOOTH)), -BOUND, BOUND)
        elif melodic:
            bias = np.clip(bias + args.rate * np.log((target + SMOOTH) / (shares + SMOOTH)), -BOUND, BOUND)
        if args.register:
            found = pitch_shares(samples, nv)
            low = [f"{(found[v, :62].sum()):.3f}/{target_pitches[v, :62].sum():.3f}" for v in range(nv)]
            print(f"round {r + 1}: pitches struck under D4, samples / training: {' '.join(low)}", flush=True)
            step = np.log((registers(target_pitches) + SMOOTH) / (registers(found) + SMOOTH))
            register = np.clip(register + args.rate * step, -BOUND, BOUND)
        if args.vertical:
            found = vertical_shares(samples, nv)
            pairs = [(v, u) for v in range(nv) for u in range(v)]
            off = " ".join(f"{np.abs(found[v, u] - target_vertical[v, u]).sum() / 2:.3f}" for v, u in pairs)
            print(f"round {r + 1}: vertical interval shares differ (pairs {pairs}) by {off}", flush=True)
            # pairs u >= v are zero in both and add nothing
            step = np.log((target_vertical + SMOOTH) / (found + SMOOTH))
            vertical = np.clip(vertical + args.rate * step, -BOUND, BOUND)
        if args.rhythm:
            moves = move_rates(samples, nv, per_beat)
            print(
                f"round {r + 1}: moves by step in the beat, samples / training: "
                + "; ".join(" ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(moves[v], target_moves[v])) for v in range(nv)),
                flush=True,
            )
            odds = lambda p: np.log((p + SMOOTH) / (1 - p + SMOOTH))  # noqa: E731
            hold = np.clip(hold - args.rate * (odds(target_moves) - odds(moves)), -BOUND, BOUND)
    print(f"{len(real)} training pieces, {len(SEEDS)} samples a round; bias (rows: voices; columns: -{REACH}..{REACH})")
    for row in contour[:, 3] if args.contour else bias:  # with --contour: its row for a first move
        print(" ".join(f"{x:+.2f}" for x in row))
    if args.rhythm:
        print("hold bias (rows: voices; columns: steps in the beat)")
        for row in hold:
            print(" ".join(f"{x:+.2f}" for x in row))
    if args.vertical:
        print("vertical bias (rows: voice v, voice u above it; columns: interval classes 0..11 from v up to u)")
        for v in range(nv):
            for u in range(v):
                print(f"{v} {u} " + " ".join(f"{x:+.2f}" for x in vertical[v, u]))
    if args.write:
        path = c.directory / "model.json"
        meta = json.loads(path.read_text())
        sampling = meta.setdefault("sampling", {})
        if melodic and args.contour:
            sampling.pop("interval_bias", None)
            sampling["contour_bias"] = [[[round(float(x), 4) for x in row] for row in m] for m in contour]
        elif melodic:
            sampling.pop("contour_bias", None)
            sampling["interval_bias"] = [[round(float(x), 4) for x in row] for row in bias]
        if args.register:
            sampling["pitch_bias"] = [[round(float(x), 4) for x in row] for row in register]
        for fitted, name in (
            (args.rhythm, "hold_bias"),
            (args.vertical, "vertical_bias"),
            (args.register, "pitch_bias"),
        ):
            if not fitted:  # one left from an earlier fit was off while these were fitted
                sampling.pop(name, None)
        if args.rhythm:
            sampling["hold_bias"] = [[round(float(x), 4) for x in row] for row in hold]
        if args.vertical:
            sampling["vertical_bias"] = [[[round(float(x), 4) for x in row] for row in m] for m in vertical]
        atomic_write(path, (json.dumps(meta, indent=2) + "\n").encode(), force=True)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
