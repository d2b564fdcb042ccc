"""How long does harmonizing a 16-bar melody in four voices take? Target: under 5 seconds on
the 2-core CPU. The melodies are the first 16 bars (64 beats) of test chorales' sopranos from
../shared/benchmarks/jsb16th_satb.json.gz; the time covers the sampling (harmonize's default, the
causal chorale model by particles; or --model harmonizer: Gibbs sampling and the parallels repair)
and building the Score (not loading the model or writing files).

    .venv/bin/python benchmarks/harmonize_speed.py [--repeats 5] [--model harmonizer [--iterations 64]]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harmonize_quality import DATA, melody_score  # noqa: E402

from cadenza.compose import harmonizer as assistant  # noqa: E402
from cadenza.data.benchmarks import load_satb  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="chorales", help="harmonize's default, or the orderless harmonizer")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=64)
    args = ap.parse_args()
    h = assistant.load(args.model)
    melodies = [melody_score(g[:256]) for g in load_satb(DATA)["test"] if len(g) >= 256][: args.repeats]
    causal = h.composer is not None  # by particles; the Gibbs iterations are the orderless model's
    h.harmonize(melodies[0], seed=0, **({} if causal else {"iterations": 2}))  # warm-up
    times = []
    for i, m in enumerate(melodies):
        clock = time.perf_counter()
        h.harmonize(m, seed=i, **({} if causal else {"iterations": args.iterations}))
        times.append(time.perf_counter() - clock)
    how = "by particles" if causal else f"{args.iterations} Gibbs iterations"
    print(
        f"harmonize 16 bars, 4 voices, {how}, model {h.name}: "
        f"median {statistics.median(times):.2f} s over {len(times)} melodies "
        f"(min {min(times):.2f}, max {max(times):.2f}); target 5 s"
    )


if __name__ == "__main__":
    main()
