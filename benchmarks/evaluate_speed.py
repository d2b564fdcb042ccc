"""How long does `cadenza evaluate` take for 100 chorales against the Bach reference? Target:
under a minute on the 2-core CPU. The pieces are written first by the shipped chorale model (not
timed); the time covers reading them, measuring them and the reference (the corpus parse is
cached after its first use, as in everyday use), novelty matching and writing the report.

    .venv/bin/python benchmarks/evaluate_speed.py [--pieces 100] [--folder DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from cadenza.compose import composer
from cadenza.data import corpus  # noqa: E402
from cadenza.evaluate.report import evaluate, write_report  # noqa: E402
from cadenza.io import write_score  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pieces", type=int, default=100)
    ap.add_argument("--folder", help="evaluate this folder instead of writing new chorales")
    args = ap.parse_args()
    corpus.load("bach-chorales")  # warm the parse cache (a first run parses ~400 files with music21)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.folder or tmp)
        if not args.folder:
            c = composer.load("chorales")
            for seed in range(args.pieces):
                write_score(c.generate(bars=16, seed=seed), folder / f"chorale-{seed}.mid")
        clock = time.perf_counter()
        report = evaluate(str(folder), "bach-chorales")
        write_report(report, Path(tmp) / "report")
        seconds = time.perf_counter() - clock
    print(
        f"evaluate {report['sets']['generated']['pieces']} pieces against bach-chorales "
        f"({report['reference']['pieces']} reference pieces): {seconds:.1f} s; target 60 s"
    )


if __name__ == "__main__":
    main()
