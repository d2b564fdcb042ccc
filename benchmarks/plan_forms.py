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

    .venv/bin/python benchmarks/plan_forms.py --model folk --held-out

checks that instead, over pieces of every length: the pieces the plan model's fit held out (its
data, split as `cadenza train-planner` split it), as the analyzer reads them, against one plan
drawn for each with its bars, meter and home key (seed = its index, as the fit's own held-out
check draws them): the total variation distance of their forms, over all pieces and over those of
`--bars` bars, and by meter the share of new sections of two 4-bar phrases that are periods (an
echo) and of sections that may rhyme that do. About 30 s for the folk model's 983 pieces. Not for
the piano model: its fit held out ASAP pieces by ASAP's own split, which this does not repeat.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

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
    ap.add_argument("--held-out", action="store_true", help="against the pieces the plan model's fit held out")
    args = ap.parse_args()
    model = planner.load(hub.find_model(args.model))
    if args.held_out:
        held_out(model, args)
        return

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


def held_out_plans(model: planner.PlanModel) -> list:
    """The pieces the plan model's fit held out, as the analyzer reads them."""
    from cadenza.data import corpus, piano
    from cadenza.errors import CadenzaError
    from cadenza.plan.analyze import analyze

    fitted = model.fitted
    if not fitted.get("valid_percent") or not fitted.get("data"):
        raise SystemExit("this plan model's fit held nothing out")
    if Path(fitted["data"]).expanduser().is_dir() and piano.is_asap(Path(fitted["data"]).expanduser()):
        raise SystemExit("this plan model was fitted on ASAP, whose held-out split this does not repeat")
    run = {"data": fitted["data"], "exclude": fitted.get("exclude") or "", "valid_percent": fitted["valid_percent"]}
    if fitted.get("parts"):
        run.update(exact_parts=True, n_voices=fitted["parts"])
    recorded = {"excluded_ids": fitted["excluded_ids"]} if "excluded_ids" in fitted else {}
    _, valid = corpus.split_of({"train": run, "data_summary": recorded})  # as `cadenza train-planner` split it
    plans = []
    for piece in valid:
        try:
            plans.append(analyze(piece.score).plan)
        except CadenzaError:
            pass
    return [p for p in plans if p.bars <= 1000]


def rates(plans: list) -> tuple[dict[str, Counter], dict[str, Counter]]:
    """By meter: (periods among new sections of two 4-bar phrases, rhymes among sections that
    may rhyme), each a Counter of True / False."""
    periods: dict[str, Counter] = {}
    rhymes: dict[str, Counter] = {}
    for p in plans:
        for i, s in enumerate(p.sections):
            new = all(x.label != s.label for x in p.sections[:i])
            if new and s.period_bars() == 4:
                periods.setdefault(p.meter, Counter())[bool(s.echo)] += 1
            if new and p.may_rhyme(i):
                rhymes.setdefault(p.meter, Counter())[bool(s.rhyme)] += 1
    return periods, rhymes


def share(c: Counter) -> float:
    return c[True] / max(1, sum(c.values()))


def held_out(model: planner.PlanModel, args) -> None:
    real = held_out_plans(model)
    drawn = [model.sample(p.bars, meter=p.meter, key=p.key, seed=i) for i, p in enumerate(real)]
    forms = [
        (Counter(planner.form_shape(p) for p in ps), Counter(planner.form_shape(p) for p in ps if p.bars == args.bars))
        for ps in (real, drawn)
    ]
    print(f"{args.model}: {len(real)} held-out pieces (analyzed) against a plan drawn for each (its bars, meter, key)")
    whole, of_length = (distance(shares(forms[0][k]), shares(forms[1][k])) for k in (0, 1))
    n = sum(forms[0][1].values())
    print(f"forms: total variation distance {whole:.3f} over all; {of_length:.3f} over the {n} of {args.bars} bars")
    (rp, rr), (dp, dr) = rates(real), rates(drawn)
    print("by meter (the held-out pieces' five most common): share held out / drawn (sections counted)")
    for meter, _ in Counter(p.meter for p in real).most_common(5):
        cells = []
        for name, a, b in (("periods", rp, dp), ("rhymes", rr, dr)):
            x, y = a.get(meter, Counter()), b.get(meter, Counter())
            cells.append(f"{name} {share(x):.2f} / {share(y):.2f} ({sum(x.values())} / {sum(y.values())})")
        print(f"  {meter:6s} " + "   ".join(cells))


if __name__ == "__main__":
    main()
