"""Does a melody model keep its meter and end at home? Generated tunes against held-out real ones.

    .venv/bin/python benchmarks/folk_quality.py [--model folk] [--pieces 40] [--bars 16]

Generates --pieces tunes (seeds 0..N-1; key and meter drawn from the training data as
`cadenza generate` does; temperature 1.0, top-p 0.95; by default the last bar opens on the
tonic, as `cadenza generate` plans it, or --free-ending) and measures them and the model's own
held-out validation tunes with the same code:
- ends on the tonic: the last note's pitch class is the tonic of the piece's key;
- downbeats struck: share of bars whose first beat has a note onset (meter kept audibly);
- strong-beat onsets: share of onsets on beats of the meter's main pulse, e.g. quarters in 4/4,
  dotted quarters in 6/8 (a tune that ignores its meter spreads onsets evenly);
- notes in key: share of notes whose pitch class is in the key's scale.
Bar (issue 2): the tunes end on the tonic more often than not.
"""

from __future__ import annotations

import argparse

from cadenza.compose import composer
from cadenza.data.corpus import split_of
from cadenza.score import Score, estimate_key


def pulse_beats(meter) -> float:
    """The main pulse in quarter notes: compound meters (6/8, 9/8, 12/8) pulse in dotted quarters."""
    if meter.denominator == 8 and meter.numerator % 3 == 0 and meter.numerator > 3:
        return 1.5
    return 4.0 / meter.denominator if meter.denominator <= 4 else 1.0


def measure(score: Score) -> dict:
    notes = sorted((n for p in score.parts for n in p.notes), key=lambda n: n.start_beats)
    key = score.key or estimate_key(notes)
    bar, pulse = score.meter.bar_beats, pulse_beats(score.meter)
    onsets = [n.start_beats for n in notes]
    n_bars = max(1, round(score.end_beats / bar))
    first_bar = int(min(onsets) // bar)  # skip an empty virtual bar before a pickup
    struck = {int(round(o / bar)) for o in onsets if abs(o / bar - round(o / bar)) < 1e-6}
    return {
        "ends_on_tonic": notes[-1].pitch % 12 == key.tonic,
        "downbeats_struck": len([b for b in struck if first_bar <= b < n_bars]) / max(1, n_bars - first_bar),
        "strong_beat_onsets": sum(abs(o / pulse - round(o / pulse)) < 1e-6 for o in onsets) / len(onsets),
        "in_key": sum(n.pitch % 12 in key.scale() for n in notes) / len(notes),
    }


def summarize(rows: list[dict]) -> dict:
    return {k: sum(float(r[k]) for r in rows) / len(rows) for k in rows[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="folk")
    ap.add_argument("--pieces", type=int, default=40)
    ap.add_argument("--bars", type=int, default=16)
    ap.add_argument(
        "--free-ending",
        action="store_true",
        help="the raw model: do not make the last bar open on the tonic (the default plan)",
    )
    args = ap.parse_args()

    c = composer.load(args.model)
    ours = summarize(
        [measure(c.generate(bars=args.bars, seed=s, final_cadence=not args.free_ending)) for s in range(args.pieces)]
    )
    _, valid = split_of(c.meta)
    real = summarize([measure(p.score) for p in valid if p.score.notes()])
    print(
        f"model {c.name}: {args.pieces} tunes of {args.bars} bars, seeds 0..{args.pieces - 1}, "
        f"{'free ending' if args.free_ending else 'last bar opens on the tonic (default)'}; "
        f"real: {len(valid)} held-out tunes of {c.meta['train']['data']}"
    )
    print(f"{'measure':22} {'model':>8} {'real':>8}")
    for k in ours:
        print(f"{k:22} {ours[k]:8.3f} {real[k]:8.3f}")


if __name__ == "__main__":
    main()
