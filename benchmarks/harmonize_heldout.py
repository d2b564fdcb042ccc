"""Harmonizing melodies the chorale model never saw, to choose the harmonizer's settings on.

The JSB test chorales are what harmonizations are reported on (benchmarks/bach_classifier.py
--sets harmonized --harmonizer chorales --sopranos test), so a setting must not be chosen there;
and the JSB validation chorales are in the chorale model's training data, which flatters any
setting. This takes the chorales `cadenza train` held out of the `chorales` model's own
training (music21's chorales, its valid split by the hash of each id, less every chorale whose
melody is a JSB test tune: all 17 of the shipped model's), gives the model each one's soprano
with its fermatas (as a user's MusicXML melody has them), and prints, for each held-note cost asked
(cadenza.compose.particles.HOLD_COST, nats off holding a note on where a voice may move), the
classifier two-sample test of the harmonizations against those same chorales and each voice's
pitch-change rate as a ratio to theirs. About 3 minutes a cost on the 2-core CPU.

    .venv/bin/python benchmarks/harmonize_heldout.py --hold-costs 0,0.2,0.4
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from cadenza import hub  # noqa: E402
from cadenza.compose import harmonizer, particles  # noqa: E402
from cadenza.data import corpus  # noqa: E402
from cadenza.evaluate.classifier import grid_of, two_sample_test, voice_profile  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "jsb16th_satb.json.gz"


def held_out_chorales(model: str) -> list:
    """The scores the model's training run held out for validation (as it recorded them), less
    every one whose melody is a JSB test tune by corpus.TuneIndex: the run's own match missed some
    settings of the test tunes."""
    _, valid = corpus.split_of(json.loads((hub.find_model(model) / "model.json").read_text()))
    tests = corpus.TuneIndex(corpus.excluded_tunes(f"{DATA}:test"))
    return [p.score for p in valid if not tests.matches(corpus.melody_runs(corpus.top_voice(p.score)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="chorales")
    ap.add_argument("--hold-costs", default=str(particles.HOLD_COST), help="comma-separated nats")
    args = ap.parse_args()
    chorales = held_out_chorales(args.model)
    bach = [grid_of(s, 4) for s in chorales]
    theirs = voice_profile(bach)
    h = harmonizer.load(args.model)
    print(
        f"{len(chorales)} chorales the {args.model} model held out, sopranos with their fermatas; ratio to Bach's rates"
    )
    for cost in (float(c) for c in args.hold_costs.split(",")):
        particles.HOLD_COST = cost
        t0 = time.perf_counter()
        harmonized = []
        for i, s in enumerate(chorales):
            melody = replace(s, parts=[s.parts[0]], repeats=[], chords=[], sections=[])
            harmonized.append(grid_of(h.harmonize(melody, seed=i)[0].score, 4))
        ours = voice_profile(harmonized)
        rates = " / ".join(f"{ours[v]['change_rate'] / theirs[v]['change_rate']:.2f}" for v in range(4))
        test = two_sample_test(harmonized, bach).line()
        print(f"hold cost {cost:g}: {test}; rates S / A / T / B {rates} [{time.perf_counter() - t0:.0f} s]")


if __name__ == "__main__":
    main()
