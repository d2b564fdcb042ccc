"""The pop accompaniment (`cadenza arrange --style pop`) against the real piano parts of held-out
songs, and against a pattern style's accompaniment of the same lead sheets.

On the test split of POP909 (cadenza.data.corpus.tune_split by song id: the model never saw
these songs), each song's lead sheet (its melody and chord symbols, nothing of its piano part)
is accompanied three ways, and each accompaniment is measured on the song's first BARS bars
from its first chord symbol:

- real: the song's own PIANO part;
- model: the accompaniment model's notes (cadenza.compose.accompanist, seed 0), as
  `arrange --style pop` plays them;
- ballad: the built-in ballad style's bass and piano patterns (cadenza.arrange), a fixed
  pattern baseline.

Measures, per song:
- onsets per bar;
- chord tones: the share of onsets whose pitch class is a tone of the chord symbol in force;
- bass on one: the share of bars with an onset below C3 (MIDI 48) on the downbeat;
- mean pitch, and its spread (standard deviation);
- notes sounding: the mean number of accompaniment notes sounding per sixteenth;
- above the melody: the share of onsets above the melody note sounding then.

It prints each measure's median over songs (5th-95th percentile of the real songs beside it) and
how many songs' values fall inside the real songs' spread.

    python benchmarks/accompaniment_quality.py [--data ../shared/data/pop909] [--model pop] [--songs 40]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

from cadenza import hub
from cadenza.arrange import arrange, load_style
from cadenza.chords import pitch_classes
from cadenza.families.accompaniment import roles, songs
from cadenza.score import Note, Score, bar_starts, in_force

BARS = 32
MEASURES = ("onsets per bar", "chord tones", "bass on one", "mean pitch", "pitch spread", "notes sounding",
            "above the melody")  # fmt: skip


def measure(notes: list[Note], melody: list[Note], score: Score, lo: float, hi: float) -> dict[str, float]:
    chords = sorted(score.chords, key=lambda c: c.start_beats)
    notes = [n for n in notes if lo - 1e-6 <= n.start_beats < hi]
    bars = [b for b in bar_starts(replace(score, parts=[p for p in score.parts if p.notes][:1])) if lo - 1e-6 <= b < hi]
    if not notes or not bars:
        return {m: float("nan") for m in MEASURES}
    tones = [n.pitch % 12 in pitch_classes(c) for n in notes if (c := in_force(chords, n.start_beats + 1e-6))]
    downbeats = {round(n.start_beats, 3) for n in notes if n.pitch < 48}
    steps = np.arange(lo, hi, 0.25)
    sounding = [sum(1 for n in notes if n.start_beats <= t < n.end_beats) for t in steps]
    above = []
    for n in notes:
        under = [m.pitch for m in melody if m.start_beats <= n.start_beats < m.end_beats]
        if under:
            above.append(n.pitch > max(under))
    pitches = np.array([n.pitch for n in notes], dtype=float)
    return {
        "onsets per bar": len(notes) / len(bars),
        "chord tones": float(np.mean(tones)) if tones else float("nan"),
        "bass on one": sum(1 for b in bars if round(b, 3) in downbeats) / len(bars),
        "mean pitch": float(pitches.mean()),
        "pitch spread": float(pitches.std()),
        "notes sounding": float(np.mean(sounding)),
        "above the melody": float(np.mean(above)) if above else float("nan"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="../shared/data/pop909")
    ap.add_argument("--model", default="pop")
    ap.add_argument("--songs", type=int, default=40, help="test songs measured (the first N by id)")
    args = ap.parse_args()
    started = time.monotonic()
    splits, _ = songs(args.data)
    test = sorted(splits["test"], key=lambda p: p.id)[: args.songs]
    accompanist = hub.load(args.model, expect="accompaniment")
    ballad = load_style("ballad")
    results: dict[str, list[dict[str, float]]] = {"real": [], "model": [], "ballad": []}
    for piece in test:
        melody, piano = roles(piece.score)
        sheet = replace(piece.score, parts=[melody])
        lo = max(min(c.start_beats for c in sheet.chords), min(n.start_beats for n in melody.notes))
        hi = lo + BARS * sheet.meters[0].bar_beats
        results["real"].append(measure([n for p in piano for n in p.notes], melody.notes, sheet, lo, hi))
        results["model"].append(measure(accompanist.accompany(sheet, seed=0), melody.notes, sheet, lo, hi))
        played = arrange(sheet, ballad, seed=0, drums=False)
        pattern = [n for p in played.parts if p.name in ("Piano", "Bass") for n in p.notes]
        results["ballad"].append(measure(pattern, melody.notes, sheet, lo, hi))
    print(f"model {args.model}: {len(test)} test songs of {args.data}, the first {BARS} bars from the first chord; "
          f"{time.monotonic() - started:.0f} s")  # fmt: skip
    print(f"{'measure':<18}{'real (5-95%)':>22}{'model':>10}{'inside':>9}{'ballad':>10}{'inside':>9}")
    for m in MEASURES:
        real = np.array([r[m] for r in results["real"]], dtype=float)
        real = real[~np.isnan(real)]
        lo5, hi95 = np.percentile(real, [5, 95])
        row = f"{m:<18}{np.median(real):>8.2f} ({lo5:5.2f}-{hi95:5.2f})"
        for name in ("model", "ballad"):
            v = np.array([r[m] for r in results[name]], dtype=float)
            v = v[~np.isnan(v)]
            inside = int(((v >= lo5) & (v <= hi95)).sum())
            row += f"{np.median(v):>10.2f}{f'{inside}/{len(v)}':>9}"
        print(row)


if __name__ == "__main__":
    main()
