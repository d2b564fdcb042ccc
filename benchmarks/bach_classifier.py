"""Can a classifier tell Cadenza's chorales from Bach's? The classifier two-sample test of
cadenza.evaluate.classifier, with the JSB test chorales (../shared/benchmarks/jsb16th_satb.json.gz,
77 pieces, never trained on by the shipped models) as the real set, against:

  - calibration: the 76 JSB validation chorales (Bach against Bach: should be near 0.5), the same
    with their bars shuffled (what the features cannot see), and random notes in SATB ranges
    (should be near 1.0);
  - `generated`: chorales from the chorale model, --bars 16, 10 keys, seeds 1..40, each with the
    plan its plan model draws (as `cadenza generate --model chorales --bars 16 --key K --seed S`
    writes them; --no-plan: as `generate --no-plan` does);
  - `harmonized`: the harmonizer on the sopranos of the 76 JSB validation chorales (Bach's own
    melodies, as `cadenza harmonize` writes them); --sopranos test: on the 77 test chorales'
    sopranos instead, for a model that saw the validation chorales (the causal chorale model,
    --harmonizer chorales, trained on music21's chorales less every one that sets a test tune,
    cadenza.data.corpus.TuneIndex).
    --fermatas gives each soprano the fermatas of music21's copy of its chorale (found by the
    melody), as a user's MusicXML melody has them; without, the harmonizer infers the phrase ends.

--reference valid makes the 76 validation chorales the real set (and the test chorales the
calibration's Bach): sampling settings are chosen that way, so that the test chorales score
settings they did not choose.

Each set gets two lines: the classifier on cadenza.evaluate.classifier's features (what the
issue's targets are read on), then the same test on its other_features, statistics that no
sampling bias is fitted to directly (the first features are partly what benchmarks/fit_interval_bias.py
fits the samplers to).

Then each voice's pitch-change rate per sixteenth step and melodic-interval shares beside Bach's.

    .venv/bin/python benchmarks/bach_classifier.py [--sets calibration,generated,harmonized] [--pieces 40]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from cadenza.compose import composer, harmonizer  # noqa: E402
from cadenza.data.benchmarks import load_satb  # noqa: E402
from cadenza.evaluate.classifier import (  # noqa: E402
    cross_relation_share,
    grid_of,
    other_features,
    pitches_of_cells,
    random_notes,
    two_sample_test,
    voice_profile,
)
from cadenza.score import Meter, Part, Score, Tempo, parse_key  # noqa: E402
from cadenza.tokenize.cells import cells_to_notes  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "jsb16th_satb.json.gz"
KEYS = ["C major", "G major", "D major", "A major", "F major", "Bb major", "A minor", "E minor", "D minor", "G minor"]
VOICES = ("soprano", "alto", "tenor", "bass")


def soprano(cells: np.ndarray, fermatas: list[float] | None = None) -> Score:
    notes = cells_to_notes(cells[:, 0], 4)
    return Score(
        parts=[Part("Soprano", notes=notes)],
        tempos=[Tempo(0.0, 80.0)],
        meters=[Meter(0.0, 4, 4)],
        fermatas_beats=list(fermatas or []),
    )


def _collapsed(notes: list) -> list:
    """A melody's notes, a repeated pitch merged into the note before (as the grid's soprano has them)."""
    out: list = []
    for x in sorted(notes, key=lambda x: (x.start_beats, -x.pitch)):
        if not out or out[-1].pitch != x.pitch:
            out.append(x)
    return out


def fermatas_by_melody(grids: list[np.ndarray], least: float = 0.8) -> list[list[float]]:
    """For each chorale's soprano, the beats of the notes that carry fermatas in music21's copy of
    the chorale with the most similar melody (difflib's ratio on the sequences of intervals, at
    least `least`; the fermata notes mapped through the matching runs), as a MusicXML melody would
    mark them; [] where no copy is that similar. Only where the fermatas fall is read (the copy's
    fermatas, placed on its soprano's notes), never its harmony."""
    import difflib

    from cadenza.data import corpus

    def steps(line: list) -> list[int]:
        return [b.pitch - a.pitch for a, b in zip(line, line[1:])]

    copies = []
    for piece in corpus.load("bach-chorales").pieces:
        s = piece.score
        line = _collapsed(s.parts[0].notes) if s.parts else []
        if line and s.fermatas_beats:
            on_line = [f for f in s.fermatas_beats if f >= line[0].start_beats - 1e-6]
            marked = {max(i for i, x in enumerate(line) if x.start_beats <= f + 1e-6) for f in on_line}
            copies.append((steps(line), sorted(marked)))
    out = []
    for g in grids:
        line = _collapsed(soprano(g).parts[0].notes)
        mine = steps(line)
        matches = [difflib.SequenceMatcher(None, mine, c, autojunk=False) for c, _ in copies]
        best = max(range(len(copies)), key=lambda i: matches[i].ratio())
        if matches[best].ratio() < least:
            out.append([])
            continue
        mine_of = {b + k: a + k for a, b, n in matches[best].get_matching_blocks() for k in range(n + 1)}
        out.append(sorted(line[mine_of[j]].start_beats for j in copies[best][1] if j in mine_of))
    return out


def bar_shuffled(grid: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    bars = [grid[i : i + 16] for i in range(0, len(grid), 16)]
    return np.concatenate([bars[i] for i in rng.permutation(len(bars))])


def report(label: str, candidates: list[np.ndarray], bach: list[np.ndarray], seconds: float | None = None) -> None:
    took = f" [{seconds:.0f} s to write]" if seconds is not None else ""
    print(f"{label:<28} {two_sample_test(candidates, bach).line()}{took}", flush=True)
    other = two_sample_test(candidates, bach, featurize=other_features)
    print(f"{'  on other features':<28} {other.line()}", flush=True)


def profiles(sets: dict[str, list[np.ndarray]], reference: str) -> None:
    prof = {name: voice_profile(g) for name, g in sets.items()}
    names = list(sets)
    print(f"\npitch-change rate per sixteenth step (ratio to Bach's {reference} chorales)")
    print(f"{'voice':<8}" + "".join(f"{n:>22}" for n in names))
    for v, voice in enumerate(VOICES):
        bach = prof[names[0]][v]["change_rate"]
        cells = [f"{prof[n][v]['change_rate']:.3f} ({prof[n][v]['change_rate'] / bach:.2f})" for n in names]
        print(f"{voice:<8}" + "".join(f"{c:>22}" for c in cells))
    print("\ntwo forms of one note sounding together (theory.cross_related): share of steps, of pieces")
    for n in names:
        steps, pieces = cross_relation_share(sets[n])
        print(f"{n:<22} {steps:.4f}  {pieces:.2f}")
    print("\nmelodic intervals (shares of pitch changes by size in semitones: 1 2 3 4 5 6 7 8+)")
    for v, voice in enumerate(VOICES):
        for n in names:
            shares = " ".join(f"{x:.2f}" for x in prof[n][v]["intervals"])
            print(f"{voice:<8} {n:<14} {shares}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="calibration,generated,harmonized")
    ap.add_argument("--pieces", type=int, default=40, help="generated chorales (keys cycle through 10)")
    ap.add_argument("--model", default="chorales")
    ap.add_argument("--harmonizer", default="harmonizer", help="an orderless model, or a causal one (chorales)")
    ap.add_argument("--sopranos", default="valid", choices=("valid", "test"), help="whose sopranos to harmonize")
    ap.add_argument(
        "--fermatas",
        action="store_true",
        help="the sopranos carry fermatas, from music21's copy of each chorale found by its melody",
    )
    ap.add_argument("--bars", type=int, default=16)
    ap.add_argument(
        "--reference",
        default="test",
        choices=("test", "valid"),
        help="the real set: the test chorales (what is reported), or the valid ones (to choose settings on)",
    )
    ap.add_argument("--top-p", type=float, default=None, help="the generator's top-p (default: its own)")
    ap.add_argument("--temperature", type=float, default=None, help="the generator's temperature")
    ap.add_argument("--gibbs-temperature", type=float, default=None, help="the harmonizer's temperature")
    ap.add_argument("--allow-parallels", action="store_true", help="no parallels mask in the generator")
    ap.add_argument("--no-plan", action="store_true", help="the generator without a plan (generate --no-plan)")
    args = ap.parse_args()
    sets = args.sets.split(",")
    data = load_satb(DATA)
    other = "valid" if args.reference == "test" else "test"
    bach = [pitches_of_cells(g) for g in data[args.reference]]
    valid = [pitches_of_cells(g) for g in data[other]]
    rng = np.random.default_rng(0)
    print(f"reference: {len(bach)} JSB {args.reference} chorales; balanced accuracy, 0.50 = indistinguishable")
    profiled = {f"Bach ({args.reference})": bach}
    if "calibration" in sets:
        report(f"Bach ({len(valid)} {other})", valid, bach)
        report("Bach, bars shuffled", [bar_shuffled(g, rng) for g in valid], bach)
        report("random notes", [random_notes(len(g), rng) for g in valid], bach)
        profiled[f"Bach ({other})"] = valid
    if "generated" in sets:
        c = composer.load(args.model)
        sampling: dict = {"allow_parallels": args.allow_parallels}
        sampling.update({k: v for k, v in (("top_p", args.top_p), ("temperature", args.temperature)) if v is not None})
        t0 = time.perf_counter()
        gen = []
        for s in range(1, args.pieces + 1):
            key = parse_key(KEYS[(s - 1) % len(KEYS)])
            meter = c.default_meter() if args.no_plan else c.meter_for(args.bars, s)  # as generate draws it
            plan = None if args.no_plan else c.plan_for(None, args.bars, meter, key, s)
            gen.append(grid_of(c.generate(bars=args.bars, key=key, meter=meter, seed=s, plan=plan, **sampling), 4))
        report(f"generated ({args.model})", gen, bach, time.perf_counter() - t0)
        profiled["generated"] = gen
    if "harmonized" in sets:
        h = harmonizer.load(args.harmonizer)
        gibbs = {"temperature": args.gibbs_temperature} if args.gibbs_temperature else {}
        t0 = time.perf_counter()
        sopranos = data[args.sopranos]
        marks = fermatas_by_melody(sopranos) if args.fermatas else [[] for _ in sopranos]
        if args.fermatas:
            print(f"fermatas for {sum(bool(m) for m in marks)} of {len(sopranos)} sopranos", flush=True)
            t0 = time.perf_counter()  # the corpus read is not harmonizing
        harm = [
            grid_of(h.harmonize(soprano(g, m), seed=i, **gibbs)[0].score, 4)
            for i, (g, m) in enumerate(zip(sopranos, marks))
        ]
        label = f"harmonized ({args.harmonizer}, {args.sopranos}{', fermatas' if args.fermatas else ''})"
        report(label, harm, bach, time.perf_counter() - t0)
        profiled["harmonized"] = harm
    profiles(profiled, args.reference)


if __name__ == "__main__":
    main()
