"""How generated chorales end: the share whose bass sounds the dominant on the last beat before
the final bar and only the tonic after it (V-I with the bass on the roots), whose V has its
leading tone, and whose final tonic chord has its third.

    .venv/bin/python benchmarks/final_cadences.py [--model chorales] [--seeds 20] [--bars 8]

Numbers are printed, nothing is asserted.
"""

from __future__ import annotations

import argparse


def main() -> None:
    from cadenza.compose import composer
    from cadenza.theory import beat_beats

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="chorales")
    ap.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1")
    ap.add_argument("--bars", type=int, default=8)
    args = ap.parse_args()
    c = composer.load(args.model)
    roots = leading = third = 0
    for seed in range(args.seeds):
        score = c.generate(bars=args.bars, seed=seed)
        key = score.key
        final = score.end_beats - score.meter.bar_beats
        before = final - beat_beats(score.meter) + 1e-6

        def sounding(at: float, parts=score.parts) -> set[int]:
            return {n.pitch % 12 for p in parts for n in p.notes if n.start_beats <= at < n.end_beats}

        bass = score.parts[-1].notes
        under = [n.pitch % 12 for n in bass if n.start_beats <= before < n.end_beats]
        after = {n.pitch % 12 for n in bass if n.end_beats > final + 1e-6}
        roots += under == [(key.tonic + 7) % 12] and after == {key.tonic}
        leading += (key.tonic + 11) % 12 in sounding(before)
        third += bool(sounding(final + 1e-6) & {(key.tonic + 3) % 12, (key.tonic + 4) % 12})
    n = args.seeds
    print(f"{args.model}, {n} pieces of {args.bars} bars (seeds 0-{n - 1}):")
    print(f"  V-I with the bass on the roots: {roots}/{n}")
    print(f"  V with its leading tone:        {leading}/{n}")
    print(f"  final I with its third:         {third}/{n}")


if __name__ == "__main__":
    main()
