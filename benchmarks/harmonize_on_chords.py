"""How far `harmonize` follows a tune's own chord symbols, and what following them costs the bass.

On the first N tunes (by id) of the lead sheets' test split (cadenza.data.corpus.lead_sheets:
the Nottingham folk tunes by default, split by tune), each tune is harmonized twice with the
default model and seed 0, as `cadenza harmonize TUNE` and `cadenza harmonize TUNE
--ignore-chords` write them. For each it counts, over all tunes:

- chord tones on beats: of the lower voices' notes sounding at each counted beat under a symbol,
  the share that are its tones (its slash bass among them);
- bass on the symbol: of the symbols' first beats, the share where the bass sounds the
  symbol's bass note (the slash bass, else the root);
- bass leap: the bass's mean absolute interval between notes, in semitones, and the share of its
  moves larger than a fifth (7 semitones).

A tune the model cannot harmonize (a melody out of its range, a meter it does not know) is
skipped and named.

    python benchmarks/harmonize_on_chords.py [--data ../shared/data/nottingham-abc] [--tunes 12]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from cadenza.chords import pitch_classes
from cadenza.compose import harmonizer
from cadenza.data.corpus import lead_sheets
from cadenza.errors import CadenzaError
from cadenza.plan.chord_symbols import counted_beats
from cadenza.score import Score, in_force

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "nottingham-abc"


def measures(melody: Score, out: Score) -> dict[str, list[float]]:
    """Per tune: chord tones on beats (0/1 per note), bass on the symbol (0/1 per symbol), bass
    intervals (semitones)."""
    chords = sorted(melody.chords, key=lambda c: c.start_beats)
    lower, bass = out.parts[1:], out.parts[-1].notes
    tones, onsets = [], []
    for t in counted_beats(melody):
        c = in_force(chords, t)
        if c is None:
            continue
        wanted = set(pitch_classes(c)) | ({c.bass} if c.bass is not None else set())
        tones += [n.pitch % 12 in wanted for p in lower for n in p.notes if n.start_beats <= t + 1e-9 < n.end_beats]
        if any(abs(x.start_beats - t) < 1e-9 for x in chords):
            under = [n.pitch % 12 for n in bass if n.start_beats <= t + 1e-9 < n.end_beats]
            onsets += [under[0] == (c.bass if c.bass is not None else c.root)] if under else []
    moves = [abs(b.pitch - a.pitch) for a, b in zip(bass, bass[1:])]
    return {
        "tones": [float(x) for x in tones],
        "onsets": [float(x) for x in onsets],
        "moves": [float(m) for m in moves],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--tunes", type=int, default=12)
    ap.add_argument("--model", default="chorales")
    args = ap.parse_args()
    splits, _ = lead_sheets(args.data)
    tunes = sorted(splits["test"], key=lambda p: p.id)
    h = harmonizer.load(args.model)
    totals: dict[bool, dict[str, list[float]]] = {True: {}, False: {}}
    done, started = 0, time.time()
    for piece in tunes:
        if done == args.tunes:
            break
        try:
            results = {follow: h.harmonize(piece.score, seed=0, chords=follow)[0].score for follow in (True, False)}
        except CadenzaError as e:
            print(f"skipped {piece.id}: {e}")
            continue
        done += 1
        for follow, out in results.items():
            for name, values in measures(piece.score, out).items():
                totals[follow].setdefault(name, []).extend(values)
        print(f"{done:>2}. {piece.id} ({piece.score.title}): {len(piece.score.chords)} symbols", flush=True)
    print(f"\n{done} test tunes, model {h.name}, seed 0 ({time.time() - started:.0f} s)\n")
    print(f"{'':<26}{'chord tones on beats':>22}{'bass on the symbol':>20}{'bass move':>11}{'> a fifth':>11}")
    for follow, label in ((True, "following the symbols"), (False, "--ignore-chords")):
        m = totals[follow]
        moves = np.array(m["moves"])
        print(
            f"{label:<26}{np.mean(m['tones']):>22.2f}{np.mean(m['onsets']):>20.2f}"
            f"{moves.mean():>11.2f}{(moves > 7).mean():>11.2f}"
        )


if __name__ == "__main__":
    main()
