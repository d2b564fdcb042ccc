"""Do a lead sheet's chord symbols sound the cadences its plan asks for?

    .venv/bin/python benchmarks/leadsheet_cadences.py [--pieces 20] [--model leadsheet]

For seeds 1..N, as `cadenza generate --model leadsheet` writes them with no options: a 16-bar
plan drawn by the model's plan model (its meter and home key drawn too), the melody realized to
it, then chorded by the model's chords part with the plan and the close. For each phrase end the
plan gives a cadence (authentic, imperfect, half, plagal or deceptive; the piece's close is
authentic where the plan names none), counted by kind: whether the chord symbol in force where
the cadence arrives (Plan.arrival_beats) has the root of the cadence's chord in the phrase's
cadence key (theory.cadence_progression: I, V for a half close, vi for a deceptive one), and
whether the one in force half a beat before has the root of the chord before (V, IV for a
plagal close; a half close has none to count). The phrases whose arrival is off are listed.
A few seconds on the 2-core CPU.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from cadenza import hub  # noqa: E402
from cadenza.compose import composer  # noqa: E402
from cadenza.score import in_force  # noqa: E402
from cadenza.theory import cadence_progression  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pieces", type=int, default=20)
    ap.add_argument("--model", default="leadsheet")
    ap.add_argument("--bars", type=int, default=16)
    args = ap.parse_args()
    melody = composer.load(args.model)
    chorder = hub.load(args.model, expect="chords")
    counts: Counter = Counter()
    for s in range(1, args.pieces + 1):
        home, meter = melody.default_key(s), melody.meter_for(args.bars, s)
        plan = melody.plan_for(None, args.bars, meter, home, s)
        score = melody.generate(bars=args.bars, key=home, meter=meter, seed=s, plan=plan)
        score = chorder.chords_for(score, seed=s, plan=plan, close=True)[0].score
        keys = [k or home for k in plan.phrase_keys(home)]
        keys[-1] = plan.key_of(len(plan.sections) - 1) or home
        ends = plan.phrase_ends()
        for n, ((_, kind), at, key) in enumerate(zip(ends, plan.arrival_beats(meter.bar_beats, True), keys)):
            final = n == len(ends) - 1
            kind = kind or ("authentic" if final else "")
            if kind in ("", "none"):
                continue
            before, end, _ = cadence_progression(key, kind, final)
            arrived = in_force(score.chords, at)
            came = in_force(score.chords, at - 0.5)
            counts[kind] += 1
            counts[kind, "arrival"] += arrived is not None and arrived.root == end[0]
            if before is not None:
                counts[kind, "with before"] += 1
                counts[kind, "before"] += came is not None and came.root == before[0]
            if arrived is None or arrived.root != end[0]:
                print(f"seed {s}, phrase {n + 1}: {kind} in {key} at beat {at:g}, heard {arrived and arrived.text}")
    print(
        f"\n{args.pieces} lead sheets of {args.bars} bars ({args.model}); planned cadences heard in the chord symbols"
    )
    print(f"{'cadence':<12}{'planned':>8}{'arrival chord':>16}{'chord before':>16}")
    for kind in ("authentic", "imperfect", "half", "plagal", "deceptive"):
        if counts[kind]:
            b = f"{counts[kind, 'before']}/{counts[kind, 'with before']}" if counts[kind, "with before"] else "-"
            print(f"{kind:<12}{counts[kind]:>8}{counts[kind, 'arrival']:>12}/{counts[kind]:<3}{b:>16}")


if __name__ == "__main__":
    main()
