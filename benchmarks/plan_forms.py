"""Do drawn plans have the meters and forms of the corpus's pieces of their length?

    .venv/bin/python benchmarks/plan_forms.py [--model folk] [--bars 32] [--plans 300]

Draws `--plans` plans of `--bars` bars from a model's plan model (planner.json), meter and key
left to it as `cadenza plan` leaves them without --meter and --key (`cadenza generate` draws a
meter the same way, among those its model writes and 20 or more pieces are in), and prints,
beside the shares among the fitted corpus pieces of exactly that length (the plan model's own
counts of whole forms by meter), the shares of each meter and of the most common forms, and the
total variation distance between the two (half the sum of absolute differences: 0 = the same
shares, 1 = nothing in common). The corpus side is the plan model's own counts, not held-out
pieces: it checks that the drawing follows what was counted, not how well the counts generalize.
"""

from __future__ import annotations

import argparse
from collections import Counter

from cadenza import hub
from cadenza.plan import planner


def shares(counts: Counter) -> dict[str, float]:
    total = sum(counts.values()) or 1
    return {k: v / total for k, v in counts.items()}


def distance(a: dict[str, float], b: dict[str, float]) -> float:
    return 0.5 * sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="folk")
    ap.add_argument("--bars", type=int, default=32)
    ap.add_argument("--plans", type=int, default=300)
    ap.add_argument("--top", type=int, default=6, help="forms listed")
    args = ap.parse_args()
    model = planner.load(hub.find_model(args.model))

    corpus_meters: Counter = Counter()
    corpus_forms: Counter = Counter()
    for meter, row in model.forms.items():
        for shape, n in row.items():
            if planner.form_bars(shape) == args.bars:
                (corpus_meters if meter != "*" else corpus_forms)[meter if meter != "*" else shape] += n
    if not corpus_forms:
        raise SystemExit(f"the plan model of {args.model} counted no piece of {args.bars} bars")
    drawn = [model.sample(args.bars, seed=s) for s in range(args.plans)]
    plan_meters = Counter(p.meter for p in drawn)
    plan_forms = Counter(planner.form_shape(p) for p in drawn)

    print(f"{args.model}: {args.plans} plans of {args.bars} bars against the {sum(corpus_forms.values()):,.0f} fitted")
    print(f"pieces of {args.bars} bars (share of plans / share of pieces)")
    for title, ours, theirs in (("meters", plan_meters, corpus_meters), ("forms", plan_forms, corpus_forms)):
        a, b = shares(ours), shares(theirs)
        ranked = sorted(set(a) | set(b), key=lambda k: -(a.get(k, 0.0) + b.get(k, 0.0)))[: args.top]
        print(f"{title}: total variation distance {distance(a, b):.2f}")
        for k in ranked:
            print(f"  {k:28s} {a.get(k, 0.0):5.2f} / {b.get(k, 0.0):4.2f}")


if __name__ == "__main__":
    main()
