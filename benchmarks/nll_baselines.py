"""The two reference baselines of docs/BENCHMARKS.md on every piano-roll data set, by the same
harness as `cadenza bench nll --baselines`: frame-level NLL per time step in nats.

    .venv/bin/python benchmarks/nll_baselines.py [--data-dir ../shared/benchmarks] [--order 3]

- independent pitches: each of the 88 piano keys sounds with its training frequency (add-one
  smoothing), independently of the others and of the past;
- step n-gram: whole steps as symbols, interpolated absolute discounting (D = 0.75) down to the
  independent model. Both learn from the train split only, without transposition.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cadenza.evaluate.step_baselines import IndependentPitches, StepNGram, nll_per_step
from cadenza.families.benchmark import load_benchmark

SETS = ("jsb_chorales", "nottingham", "muse_data", "piano_midi")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks"))
    ap.add_argument("--order", type=int, default=3)
    args = ap.parse_args()
    print(f"{'data set':14} {'baseline':22} {'valid':>7} {'test':>7}")
    for name in SETS:
        data = load_benchmark(Path(args.data_dir) / f"{name}.json.gz")
        ind = IndependentPitches().fit(data["train"])
        ngram = StepNGram(ind, order=args.order).fit(data["train"])
        for label, model in (("independent pitches", ind), (f"step {args.order}-gram", ngram)):
            print(
                f"{name:14} {label:22} {nll_per_step(model, data['valid']):7.3f} "
                f"{nll_per_step(model, data['test']):7.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
