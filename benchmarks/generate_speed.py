"""Real-time factor of generation: seconds of music written per second of wall clock, and the
time to the first note, for a shipped model on this machine's CPU.

    .venv/bin/python benchmarks/generate_speed.py [--model chorales] [--seconds 60] [--repeats 3]
    .venv/bin/python benchmarks/generate_speed.py --model piano [--composer Chopin]

Target (issue 2): at least 100x real time (a minute of four-voice music in under 0.6 s) and the
first note in under 200 ms; for the piano model (issue 16) at least 50x real time, with the
time to the first whole bar in place of the first note. Model loading is timed separately and
not counted in either.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from cadenza import hub
from cadenza.compose import composer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="chorales")
    ap.add_argument("--seconds", type=float, default=60.0, help="length of music to write")
    ap.add_argument("--tempo", type=float, default=120.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="print the top of a cProfile run")
    ap.add_argument("--composer", default="Chopin", help="a piano model's composer")
    args = ap.parse_args()
    if hub.family_name(args.model) == "piano":
        return piano(args)

    t0 = time.perf_counter()
    c = composer.load(args.model)
    load_s = time.perf_counter() - t0
    meter = c.default_meter()
    bars = composer.bars_for_seconds(args.seconds, meter, args.tempo)
    music_s = bars * meter.bar_beats * 60.0 / args.tempo
    print(
        f"model {c.name}: {c.meta['params'] / 1e6:.2f}M parameters, loaded in {load_s * 1000:.0f} ms; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    print(
        f"writing {bars} bars of {meter} at {args.tempo:g} bpm = {music_s:.1f} s of music, "
        f"{c.tokenizer.config.n_voices} voices"
    )
    c.generate(bars=2, key="C major", meter=meter, tempo_bpm=args.tempo, seed=0)  # warm-up

    walls, firsts = [], []
    for r in range(args.repeats):
        first = []
        start = time.perf_counter()

        def on_cell(step, voice, token, start=start, first=first):
            if not first and token >= 5:  # the first pitch onset
                first.append(time.perf_counter() - start)

        c.generate(bars=bars, key="D major", meter=meter, tempo_bpm=args.tempo, seed=r, on_cell=on_cell)
        walls.append(time.perf_counter() - start)
        firsts.append(first[0] if first else float("nan"))
    wall = statistics.median(walls)
    print(f"wall clock, median of {args.repeats}: {wall:.3f} s  (runs: {', '.join(f'{w:.3f}' for w in walls)})")
    print(f"real-time factor: {music_s / wall:.1f}x  (target >= 100x)")
    print(f"time to first note, median: {statistics.median(firsts) * 1000:.1f} ms  (target < 200 ms)")
    if args.profile:
        import cProfile
        import pstats

        with cProfile.Profile() as prof:
            c.generate(bars=bars, key="D major", meter=meter, tempo_bpm=args.tempo, seed=0)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(18)


def piano(args) -> None:
    t0 = time.perf_counter()
    p = hub.load(args.model)
    load_s = time.perf_counter() - t0
    meter = p.default_meter()
    bars = composer.bars_for_seconds(args.seconds, meter, args.tempo)
    music_s = bars * meter.bar_beats * 60.0 / args.tempo
    print(
        f"model {p.name}: {p.meta['params'] / 1e6:.2f}M parameters, loaded in {load_s * 1000:.0f} ms; "
        f"writing {bars} bars of {meter} at {args.tempo:g} bpm = {music_s:.1f} s of music, after {args.composer}"
    )
    p.generate(bars=2, key="C major", meter=meter, seed=0, composer=args.composer)  # warm-up
    walls, firsts, notes = [], [], []
    for r in range(args.repeats):
        first: list[float] = []
        start = time.perf_counter()

        def on_bar(done, total, start=start, first=first):
            if not first:
                first.append(time.perf_counter() - start)

        score = p.generate(bars=bars, meter=meter, seed=r, composer=args.composer, on_bar=on_bar)
        walls.append(time.perf_counter() - start)
        firsts.append(first[0])
        notes.append(len(score.notes()))
    wall = statistics.median(walls)
    print(f"wall clock, median of {args.repeats}: {wall:.3f} s  (runs: {', '.join(f'{w:.3f}' for w in walls)})")
    print(f"notes written: {', '.join(map(str, notes))}; {statistics.median(notes) / wall:.0f} notes per second")
    print(f"real-time factor: {music_s / wall:.1f}x  (target >= 50x)")
    print(f"time to the first bar, median: {statistics.median(firsts) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
