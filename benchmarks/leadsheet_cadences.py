"""Do a lead sheet's chord symbols sound the cadences its plan asks for?

    .venv/bin/python benchmarks/leadsheet_cadences.py [--pieces 20] [--model leadsheet]

For seeds 1..N, as `cadenza generate --model leadsheet` writes them with no options: a 16-bar
plan drawn by the model's plan model (its meter and home key drawn too; --key gives the home
key), the melody realized to it, then chorded by the model's chords part with the plan and the
close. For each phrase end the plan gives a cadence (Plan.phrase_cadences: authentic,
imperfect, half, plagal or deceptive; the piece's close authentic where the plan names none),
counted by kind: whether the chord symbol in force where the cadence arrives
(Plan.arrival_beats) has the root of the cadence's chord in the phrase's cadence key
(Plan.phrase_keys, theory.cadence_progression: I, V for a half close, vi for a deceptive one);
whether that chord is still in force on the last beat of the arrival's bar (a half close that
moves on to I within its bar is heard as a close on I); and whether the one in force half a
quarter note before the arrival has the root of the chord before (V, IV for a plagal close; a
half close has none to count). The phrases whose arrival is off are listed.
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
from cadenza.score import in_force, parse_key  # noqa: E402
from cadenza.theory import beat_beats, cadence_progression  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pieces", type=int, default=20)
    ap.add_argument("--model", default="leadsheet")
    ap.add_argument("--bars", type=int, default=16)
    ap.add_argument("--key", default=None, help="every piece's home key (default: drawn, as generate draws it)")
    args = ap.parse_args()
    melody = composer.load(args.model)
    chorder = hub.load(args.model, expect="chords")
    counts: Counter = Counter()
    for s in range(1, args.pieces + 1):
        home = parse_key(args.key) if args.key else melody.default_key(s)
        meter = melody.meter_for(args.bars, s)
        plan = melody.plan_for(None, args.bars, meter, home, s)
        score = melody.generate(bars=args.bars, key=home, meter=meter, seed=s, plan=plan)
        score = chorder.chords_for(score, seed=s, plan=plan, close=True)[0].score
        kinds, bar = plan.phrase_cadences(), meter.bar_beats
        for n, (kind, at, key) in enumerate(zip(kinds, plan.arrival_beats(bar, True), plan.phrase_keys(home))):
            if kind == "none":
                continue
            before, end, _ = cadence_progression(key, kind, final=False)
            arrived = in_force(score.chords, at)
            heard = arrived is not None and arrived.root == end[0]
            last_beat = (at // bar + 1) * bar - beat_beats(meter)
            counts[kind] += 1
            counts[kind, "arrival"] += heard
            counts[kind, "held"] += heard and in_force(score.chords, last_beat) is arrived
            if before is not None:
                came = in_force(score.chords, at - 0.5)
                counts[kind, "with before"] += 1
                counts[kind, "before"] += came is not None and came.root == before[0]
            if not heard:
                print(f"seed {s}, phrase {n + 1}: {kind} in {key} at beat {at:g}, heard {arrived and arrived.text}")
    home = f"home key {args.key}" if args.key else "home keys drawn"
    print(
        f"\n{args.pieces} lead sheets of {args.bars} bars ({args.model}, {home}); planned cadences in the chord symbols"
    )
    print(f"{'cadence':<12}{'planned':>8}{'arrival chord':>16}{'to its bar end':>16}{'chord before':>16}")
    for kind in ("authentic", "imperfect", "half", "plagal", "deceptive"):
        if counts[kind]:
            b = f"{counts[kind, 'before']}/{counts[kind, 'with before']}" if counts[kind, "with before"] else "-"
            arrival, held = f"{counts[kind, 'arrival']}/{counts[kind]}", f"{counts[kind, 'held']}/{counts[kind]}"
            print(f"{kind:<12}{counts[kind]:>8}{arrival:>16}{held:>16}{b:>16}")


if __name__ == "__main__":
    main()
