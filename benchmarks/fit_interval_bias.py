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

    .venv/bin/python benchmarks/fit_interval_bias.py --model chorales [--rounds 3] [--write]

--write stores it in the model's model.json ("sampling": {"interval_bias": ...}). Intervals are
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
from cadenza.evaluate.classifier import grid_of, melodic_steps  # noqa: E402
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="chorales")
    ap.add_argument("--bars", type=int, default=16)
    ap.add_argument("--write", action="store_true", help="store the bias in the model's model.json")
    ap.add_argument("--rounds", type=int, default=1, help="fit again with the bias so far, this many times")
    ap.add_argument("--no-plan", action="store_true", help="samples without plans (generate --no-plan)")
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
    bias = np.zeros((nv, 2 * REACH + 1))
    for r in range(args.rounds):
        samples = []
        for s in SEEDS:
            constraints = c.default_constraints()
            constraints.interval_bias = bias if r else None  # the first round: the model as it samples unbiased
            key, meter = c.default_key(s), c.default_meter()
            plan = None if args.no_plan else c.plan_for(None, args.bars, meter, key, s)
            samples.append(grid_of(c.generate(bars=args.bars, key=key, seed=s, constraints=constraints, plan=plan), nv))
        shares = interval_shares(samples, nv)
        gap = np.abs(shares - target).sum(axis=1) / 2
        off = " ".join(f"{g:.3f}" for g in gap)
        print(f"round {r + 1}: the samples' interval shares differ from the training pieces' by {off}", flush=True)
        bias = np.clip(bias + np.log((target + SMOOTH) / (shares + SMOOTH)), -BOUND, BOUND)
    print(f"{len(real)} training pieces, {len(SEEDS)} samples a round; bias (rows: voices; columns: -{REACH}..{REACH})")
    for row in bias:
        print(" ".join(f"{x:+.2f}" for x in row))
    if args.write:
        path = c.directory / "model.json"
        meta = json.loads(path.read_text())
        meta.setdefault("sampling", {})["interval_bias"] = [[round(float(x), 4) for x in row] for row in bias]
        atomic_write(path, (json.dumps(meta, indent=2) + "\n").encode(), force=True)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
