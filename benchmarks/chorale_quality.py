"""Music-theory quality of a four-voice model's chorales against real Bach.

    .venv/bin/python benchmarks/chorale_quality.py [--model chorales] [--pieces 20] [--bars 16]

Generates --pieces chorales (seeds 0..N-1, keys and meters drawn from the training data as
`cadenza generate` does, each with the plan its plan model draws (--no-plan: none), at the
model's own sampling settings (model.json's "sampling"; --temperature overrides), with parallel
fifths and octaves forbidden while sampling and the last bar opening on the tonic chord as by
default, or --allow-parallels and --free-ending for the raw model), and measures them and
the held-out Bach chorales (the model's own validation split) with the same code
(cadenza.evaluate.voice_leading): share of notes in the estimated key, share inside the
conventional SATB ranges, parallel fifths and octaves per bar, voice crossings per bar.

Quality bar (issue 2): >= 90% of notes in key, voices within SATB ranges, parallels per bar
below 2x Bach's rate.
"""

from __future__ import annotations

import argparse
import json
import time

from cadenza.compose import composer
from cadenza.data.corpus import split_of
from cadenza.evaluate.voice_leading import measure, summarize


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="chorales")
    ap.add_argument("--pieces", type=int, default=20)
    ap.add_argument("--bars", type=int, default=16)
    ap.add_argument(
        "--allow-parallels",
        action="store_true",
        help="the raw model: do not forbid parallel fifths and octaves while sampling",
    )
    ap.add_argument(
        "--free-ending", action="store_true", help="do not make the last bar open on the tonic chord (the default plan)"
    )
    ap.add_argument("--temperature", type=float, default=None, help="default: the model's own")
    ap.add_argument("--no-plan", action="store_true", help="pieces without plans (generate --no-plan)")
    ap.add_argument("--json", help="also write the numbers to this file")
    args = ap.parse_args()

    c = composer.load(args.model)
    settings = c.sampling(args.temperature, None, None, 0)
    t0 = time.perf_counter()
    generated = []
    for s in range(args.pieces):
        key = c.default_key(s)
        meter = c.default_meter() if args.no_plan else c.meter_for(args.bars, s)  # as generate draws it
        plan = None if args.no_plan else c.plan_for(None, args.bars, meter, key, s)
        piece = c.generate(
            bars=args.bars,
            key=key,
            meter=meter,
            seed=s,
            temperature=args.temperature,
            allow_parallels=args.allow_parallels,
            final_cadence=not args.free_ending,
            plan=plan,
        )
        generated.append(measure(piece))
    gen_s = time.perf_counter() - t0
    real = [measure(p.score) for p in split_of(c.meta)[1]]  # the model's own held-out chorales
    ours, bach = summarize(generated), summarize(real)
    print(
        f"model {c.name}: {args.pieces} chorales of {args.bars} bars, seeds 0..{args.pieces - 1}, "
        f"{'no plans' if args.no_plan else 'planned'}, temperature {settings.temperature}, top-p {settings.top_p}, "
        f"parallels "
        f"{'allowed' if args.allow_parallels else 'forbidden'}, "
        f"{'free ending' if args.free_ending else 'final tonic chord'} ({gen_s:.1f} s); "
        f"Bach: {bach['pieces']} held-out chorales"
    )
    print(f"{'measure':28} {'model':>8} {'Bach':>8}")
    for k in ours:
        if k != "pieces":
            print(f"{k:28} {ours[k]:8.3f} {bach[k]:8.3f}")
    ratio = ours["parallels_per_bar"] / bach["parallels_per_bar"] if bach["parallels_per_bar"] else float("inf")
    print(f"parallels ratio model/Bach: {ratio:.2f}  (bar: < 2.0)")
    print(
        f"notes in key: {ours['in_key_share']:.1%}  (bar: >= 90%); "
        f"in SATB range: {ours['in_satb_range_share']:.1%} (Bach {bach['in_satb_range_share']:.1%})"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"model": ours, "bach": bach, "parallels_ratio": ratio}, f, indent=2)


if __name__ == "__main__":
    main()
