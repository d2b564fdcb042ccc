"""Plan adherence: does generated music follow the plan it was given? Checked by the analyzer
(cadenza.plan.analyze), on pieces whose plans the model's own planner drew.

    .venv/bin/python benchmarks/plan_adherence.py                   # 100 pieces per model
    .venv/bin/python benchmarks/plan_adherence.py --pieces 20 --models folk

For each shipped model with a plan model (folk, chorales, piano), `--pieces` plans are drawn
(seeds 1..N, the meter drawn as `cadenza generate` draws it, a key drawn from its data) and
realized; the piano's with no composer named (`--composer` to name one).
Printed:

- cadences: of the phrase ends the plan gives a cadence (authentic, imperfect, half, plagal,
  deceptive, or none: a phrase end planned to make none; counted since 2026-12-05, so the
  shares measured before leave them out; the folk model leaves such an end to the model, the
  chorales and, since 2026-12-05, the piano rest on I6 there), the share where the analyzer
  hears that cadence, in the key the plan names for the phrase (its section's, moved by its
  cadence key: plan.phrase_keys), at the planned place (the phrase's last bar, on the plan's
  cadence beat). The issue's target: at least 90%.
- returns: the mean bar similarity (plan.similarity; at the best shift for a transposed
  return) between sections with the same label and between sections with different labels,
  and the margin between the two; beside it the same margin in real pieces, as the analyzer
  labels them (the model's held-out pieces).
- keys: the share of sections whose notes the analyzer reads in their planned key (the home key
  preferred unless another fits better and the section closes in it), and apart, of those
  planned in the home key and of those planned in another.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from itertools import combinations

import numpy as np

from cadenza import hub
from cadenza.plan.analyze import analyze, cadence_at, section_key
from cadenza.plan.form import Plan
from cadenza.plan.similarity import bar_notes, best_shift, jaccard
from cadenza.score import Score, pickup_start

MODELS = {"folk": 32, "chorales": 16, "piano": 32}  # bars per piece
REAL = {"folk": "oneills,ryans", "chorales": "bach-chorales", "piano": "../shared/data/asap"}


def section_margin(score: Score, plan: Plan) -> tuple[float, float] | None:
    """(mean similarity of same-label section pairs, of different-label pairs), bar by bar over
    the shorter section; None when the piece has no pair of one kind."""
    bars = bar_notes(score)
    # an analyzed piece with a pickup: its plan counts from the first downbeat, the score's bar 1
    skip = 1 if pickup_start(score) > 0 and len(bars) > plan.bars else 0
    bars = bars[skip:]
    starts = plan.starts()
    same, other = [], []
    for i, j in combinations(range(len(plan.sections)), 2):
        a, b = plan.sections[i], plan.sections[j]
        n = min(a.bars, b.bars)
        pairs = [(bars[starts[i] + k], bars[starts[j] + k]) for k in range(n) if starts[j] + k < len(bars)]
        if not pairs:
            continue
        moved = a.label == b.label and plan.relation(j) == "transposed"
        sim = float(np.mean([best_shift(x, y)[0] if moved else jaccard(x, y) for x, y in pairs]))
        (same if a.label == b.label else other).append(sim)
    if not same or not other:
        return None
    return float(np.mean(same)), float(np.mean(other))


def adherence(plan: Plan, score: Score, close_inside: bool = True) -> dict[str, list]:
    """Each planned cadence (kind, what the analyzer hears where it arrives: Plan.arrival_beats,
    the close on the downbeat without `close_inside`) and whether each section is in its planned key."""
    bar_beats = score.meter.bar_beats
    arrivals = plan.arrival_beats(bar_beats, close_inside)
    home = plan.key or score.key
    assert home is not None
    out: dict[str, list] = {"cadence": [], "key": []}
    ends = plan.phrase_ends()
    for n, ((_, cadence), key) in enumerate(zip(ends, plan.phrase_keys(home))):
        if not cadence:
            continue
        assert key is not None
        at = arrivals[n]
        heard = cadence_at(score, at, key)
        out["cadence"].append((cadence, heard))
    for i, (start, s) in enumerate(zip(plan.starts(), plan.sections)):
        planned = plan.key_of(i) or home
        lo, hi = start * bar_beats, (start + s.bars) * bar_beats
        out["key"].append((section_key(score, lo, hi, home) == planned, planned.same_key(home)))
    return out


def real_scores(corpus: str) -> list[Score]:
    """The model's held-out real pieces: a corpus's validation split, or ASAP's (the piano's)."""
    if corpus.endswith("asap"):
        from cadenza.data import piano

        return [p.piece.score for p in piano.load(corpus).splits["valid"]]
    from cadenza.data import corpus as corpora

    return [p.score for p in corpora.load(corpus).split()[1]]


def real_margins(corpus: str, pieces: int) -> list[float]:
    margins = []
    for score in real_scores(corpus)[:pieces]:
        try:
            plan = analyze(score).plan
        except Exception:  # a real piece the analyzer cannot read is left out
            continue
        m = section_margin(score, plan)
        if m is not None:
            margins.append(m[0] - m[1])
    return margins


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pieces", type=int, default=100)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--real", type=int, default=60, help="held-out real pieces for the margin")
    ap.add_argument("--composer", default=None, help="the piano's composer (default: none)")
    args = ap.parse_args()
    for name in args.models.split(","):
        t0 = time.time()
        c = hub.load(name)
        piano = hasattr(c, "composers")
        who = {"composer": args.composer} if piano else {}
        if c.plan_model is None:
            sys.exit(f"model {name} has no plan model (planner.json)")
        cadences: list[tuple[str, str]] = []
        keys: list[tuple[bool, bool]] = []  # (heard in its planned key, planned in the home key)
        margins: list[float] = []
        for seed in range(1, args.pieces + 1):
            key = c.default_key(seed, **who)
            meter = c.meter_for(MODELS[name], seed, **who)
            plan = c.plan_for(None, MODELS[name], meter, key, seed)  # as generate draws
            assert plan is not None
            score = c.generate(plan=plan, seed=seed, **who)
            got = adherence(plan, score, not piano)  # the pianist's close: on the downbeat
            cadences += got["cadence"]
            keys += got["key"]
            m = section_margin(score, plan)
            if m is not None:
                margins.append(m[0] - m[1])
        real = real_margins(REAL[name], args.real)
        took = time.time() - t0
        print(f"\n{name}: {args.pieces} pieces of {MODELS[name]} bars, plans drawn by its planner ({took:.0f} s)")
        hit = sum(a == b for a, b in cadences)
        print(f"  cadences as planned: {hit}/{len(cadences)} = {hit / max(len(cadences), 1):.3f}")
        for kind in sorted({a for a, _ in cadences}):
            rows = [b for a, b in cadences if a == kind]
            heard = {b: rows.count(b) for b in sorted(set(rows))}
            print(f"    {kind:<10} {sum(b == kind for b in rows)}/{len(rows)}  heard: {heard}")
        hit = sum(ok for ok, _ in keys)
        home = [ok for ok, at_home in keys if at_home]
        away = [ok for ok, at_home in keys if not at_home]
        print(
            f"  sections in their planned key: {hit}/{len(keys)} = {hit / max(len(keys), 1):.3f} "
            f"(planned in the home key {sum(home)}/{len(home)}, in another {sum(away)}/{len(away)})"
        )
        if margins:
            print(
                f"  same-label minus different-label similarity: {statistics.mean(margins):.3f} "
                f"over {len(margins)} pieces with both kinds of pair"
            )
        if real:
            q = np.percentile(real, [10, 50, 90])
            print(
                f"  ... in {len(real)} held-out real pieces of {REAL[name]} (analyzer's labels): mean "
                f"{statistics.mean(real):.3f}, 10/50/90% {q[0]:.3f} {q[1]:.3f} {q[2]:.3f}"
            )


if __name__ == "__main__":
    main()
