"""How good is the piano model? Likelihood on held-out pieces, and whether its composers can be
told apart.

1. NLL on the test pieces of our ASAP split (cadenza.data.asap.split_of: by piece; the model
   never saw them), in nats per event token and per note (the sum over a piece's tokens over
   its notes), for
   - the model given each piece's composer token;
   - the same model given `none` (it was trained with the composer left out of 10% of its
     windows): what the composer token is worth;
   - a 5-gram (interpolated absolute discounting, cadenza.evaluate.ngram) fitted on the same
     training pieces' tokens (without the transformer's transposition augmentation).
2. Composer conditioning: a classifier (scikit-learn; --classifier hgb: gradient-boosted trees,
   the default, or rf: a random forest) trained on 16-bar excerpts of the training pieces of
   the five composers with the most training pieces, on features of the notes (`features`;
   --features basic: key-relative pitch classes, the right hand's melodic intervals, onsets and
   chord sizes per hand, durations, registers, triplet onsets, meter; full, the default, adds
   chromatic notes, each hand's rhythm and where in the beat its notes start, the left hand's
   lowest line, the intervals and spans of the notes struck together, and how many sound at
   once; pitch, mostly the notes, not where or how many are struck: key-relative pitch classes
   by length, the right hand's and the bass's intervals, chromatic notes, the intervals and
   spans of the notes struck together). Its
   accuracy on excerpts of held-out real pieces (valid and test splits) shows what it can tell.
   Then `--per-composer` pieces of 16 bars are generated for each of the five (seeds 0..N-1,
   keys and meters drawn from the composer's own, as `cadenza generate --composer` draws them),
   classified, and the confusion matrix printed (chance 0.20).
3. A hand stuck on one or two keys: the share of hand-bars with at least STUCK_STROKES notes on at
   most two keys, in the held-out real excerpts and in the generated pieces of 2 (a repeated note,
   an octave bass or a tremolo in real music; a model's loop in generated music: the pianist's
   STUCK_FROM rule).

    python benchmarks/piano_quality.py [--model piano] [--data ../shared/data/asap] [--per-composer 20]
    python benchmarks/piano_quality.py --skip-nll --features basic --classifier rf   # the first classifier
    python benchmarks/piano_quality.py --write-real runs/piano-real-32 --bars 32

--write-real writes the held-out real pieces (valid and test splits) as MIDI excerpts of --bars
bars, one per piece from its first bar, for `cadenza evaluate --reference` (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import bisect
import math
import time
from collections import Counter
from pathlib import Path

import numpy as np

from cadenza import hub
from cadenza.data import piano as piano_data
from cadenza.families import piano as fam
from cadenza.score import Part, Score, bar_starts, excerpt
from cadenza.theory import estimate_key, scale, top_line

TOP = 5
EXCERPT_BARS = 16
STUCK_STROKES = 6
CLASSIFIERS = {"hgb": "gradient-boosted trees", "rf": "a random forest of 400 trees"}


BASIC = ("key", "mode", "hands", "melody", "durations", "triplets", "meter")  # the first classifier's 55
FULL = (*BASIC, "chromatic", "hand_rhythm", "bass", "chords", "polyphony")  # 125 values
PITCH = ("key", "mode", "melody", "chromatic", "bass", "chords")  # 79 values: mostly the notes, not their rhythm
FEATURE_SETS = {"full": FULL, "basic": BASIC, "pitch": PITCH}


def written(note) -> float:
    """A note's length as written, on the tokenizer's grid of twelfths of a beat. ASAP's score
    MIDIs hold each note 0.002 beats short of its written length (a quarter note is 0.998 beats)
    and the pianist's notes are exact: unrounded, a quarter note fell into the length bucket
    below for real music and the one above for generated (docs/BENCHMARKS.md, "Lengths as
    written")."""
    return round(note.duration_beats * 12) / 12


def features(score: Score, groups: tuple[str, ...] = FULL) -> np.ndarray:
    """What the composer classifier reads of a two-hand score, by group (see the module docstring)."""
    notes = score.notes()
    key = estimate_key(notes)
    pcs = np.zeros(12)
    for n in notes:
        pcs[(n.pitch - key.tonic) % 12] += n.duration_beats
    parts = score.parts or [Part()]
    right, left = parts[0].notes, parts[min(1, len(parts) - 1)].notes  # one part: both hands
    beats = max(score.end_beats, 1.0)
    hands, rhythm = [], []
    for hand in (right, left):
        onsets = Counter(round(n.start_beats, 3) for n in hand)
        pitches = np.array([n.pitch for n in hand]) if hand else np.array([60])
        lengths = np.array([written(n) for n in hand] or [1.0])
        where = np.zeros(12)  # where in the beat its notes start, in twelfths
        for n in hand:
            where[round(n.start_beats % 1 * 12) % 12] += 1
        hands += [
            len(onsets) / beats,
            np.mean(list(onsets.values())) if onsets else 0.0,
            pitches.mean() / 127,
            pitches.std() / 24,
        ]
        rhythm += [np.median(lengths), np.mean(lengths < 0.3), *(where / max(where.sum(), 1))]
    by_onset: dict[float, list[int]] = {}
    for n in left:
        by_onset.setdefault(round(n.start_beats, 3), []).append(n.pitch)
    chords: dict[float, list[int]] = {}
    for n in notes:
        chords.setdefault(round(n.start_beats, 3), []).append(n.pitch)
    above = np.zeros(12)  # the notes struck together: their intervals above the lowest, mod 12
    for ps in chords.values():
        for p in ps:
            above[(p - min(ps)) % 12] += p != min(ps)
    spans = np.array([max(ps) - min(ps) for ps in chords.values()] or [0])
    dur = np.zeros(6)
    for n in notes:
        dur[int(np.clip(math.floor(math.log2(max(written(n), 1e-3)) + 3), 0, 5))] += 1
    triplets = sum(
        1
        for n in notes
        if abs(n.start_beats * 3 - round(n.start_beats * 3)) < 1e-3
        and abs(n.start_beats * 4 - round(n.start_beats * 4)) > 1e-3
    )
    values = {
        "key": pcs / max(pcs.sum(), 1e-9),  # key-relative pitch classes, by duration
        "mode": [key.mode == "minor"],
        "hands": hands,  # per hand: onsets per beat, notes per onset, register, spread
        "melody": _intervals([n.pitch for n in top_line(right)]),  # the right hand's top line
        "durations": dur / max(dur.sum(), 1),
        "triplets": [triplets / max(len(notes), 1)],
        "meter": [score.meter.bar_beats / 4, score.meter.denominator == 8],
        "chromatic": [np.mean([n.pitch % 12 not in scale(key) for n in notes])],
        "hand_rhythm": rhythm,  # per hand: median length, short notes, where in the beat notes start
        "bass": _intervals([min(by_onset[t]) for t in sorted(by_onset)]),  # the left hand's lowest line
        "chords": [*(above / max(above.sum(), 1)), spans.mean() / 24, spans.std() / 24, np.mean(spans > 12)],
        "polyphony": [sum(map(written, notes)) / beats / 8],  # how many notes sound at once
    }
    return np.concatenate([np.asarray(values[g], dtype=np.float64).ravel() for g in groups])


def stuck_bars(score: Score) -> tuple[int, int]:
    """(hand-bars with at least STUCK_STROKES notes on at most two keys, hand-bars) of a score's
    first two parts (the hands)."""
    starts = bar_starts(score)
    stuck = 0
    hands = score.parts[:2]
    for hand in hands:
        by_bar: dict[int, list[int]] = {}
        for n in hand.notes:
            by_bar.setdefault(bisect.bisect_right(starts, n.start_beats + 1e-6) - 1, []).append(n.pitch)
        stuck += sum(1 for keys in by_bar.values() if len(keys) >= STUCK_STROKES and len(set(keys)) <= 2)
    return stuck, len(starts) * len(hands)


def _stuck_line(label: str, scores: list[Score]) -> str:
    stuck, bars = (sum(x) for x in zip(*map(stuck_bars, scores))) if scores else (0, 0)
    return f"  {label}: {stuck} of {bars} hand-bars ({stuck / max(bars, 1):.3f}) stuck on one or two keys"


def _intervals(line: list[int]) -> np.ndarray:
    """Shares of a line's steps by size and direction, -12..12 semitones (wider ones at the ends)."""
    iv = np.zeros(25)
    for a, b in zip(line, line[1:]):
        iv[int(np.clip(b - a, -12, 12)) + 12] += 1
    return iv / max(iv.sum(), 1)


def excerpts(score: Score, bars: int = EXCERPT_BARS) -> list[Score]:
    n = len(bar_starts(score))
    out = []
    for first in range(1, n - bars + 2, bars):
        try:
            ex = excerpt(score, first, first + bars - 1)
        except Exception:  # noqa: BLE001 - a bar map the excerpt cannot cut: skip it
            continue
        if len(ex.notes()) >= 16:
            out.append(ex)
    return out


def likelihood(pianist, data) -> None:
    tok = pianist.tokenizer
    test, skipped = fam.tokenize_pieces(data.splits["test"], tok)
    train, _ = fam.tokenize_pieces(data.splits["train"], tok)
    notes = sum(int((tok.pitch_of[t.window.tokens] >= 0).sum()) for t in test)
    print(
        f"test pieces: {len(test)} ({notes:,} notes, {sum(len(t.window.tokens) - 3 for t in test):,} event tokens)"
        + (f"; {len(skipped)} skipped" if skipped else "")
    )
    for label, composer in (("model, with each piece's composer", True), ("same model, composer 'none'", False)):
        t0 = time.time()
        total, count = fam.nll(pianist.model, test, tok, composer=composer)
        print(
            f"  {label:<38} {total / count:.4f} nats/event  {total / notes:.3f} nats/note  ({time.time() - t0:.0f} s)"
        )
    from cadenza.evaluate.ngram import NGram

    t0 = time.time()
    scored = lambda t: 4 <= t < tok.n_remi  # noqa: E731 - REMI's events, not BOS or the condition tokens
    n_outcomes = tok.n_remi - 4
    gram = NGram(order=5, scored=scored, n_outcomes=n_outcomes).fit(t.window.tokens for t in train)
    seqs = [t.window.tokens for t in test]
    per_event = gram.nll(seqs)
    count = sum(sum(1 for x in s if scored(int(x))) for s in seqs)
    print(
        f"  {'5-gram on the same tokens':<38} {per_event:.4f} nats/event  {per_event * count / notes:.3f} nats/note  "
        f"({time.time() - t0:.0f} s)"
    )


def conditioning(
    pianist, data, per_composer: int, guidance: float | None = None, groups=FULL, classifier: str = "hgb"
) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

    counts = Counter(p.composer for p in data.splits["train"])
    top = [c for c in pianist.composers if c in counts][:TOP]
    top = sorted(top, key=lambda c: -counts[c])[:TOP]

    held_out: list[Score] = []

    def rows(pieces, kept=None):
        X, y = [], []
        for p in pieces:
            if p.composer in top:
                for ex in excerpts(p.piece.score):
                    X.append(features(ex, groups))
                    y.append(top.index(p.composer))
                    if kept is not None:
                        kept.append(ex)
        return np.array(X), np.array(y)

    X, y = rows(data.splits["train"])
    Xh, yh = rows(data.splits["valid"] + data.splits["test"], held_out)
    if classifier == "rf":
        clf = RandomForestClassifier(n_estimators=400, random_state=0, class_weight="balanced").fit(X, y)
    else:
        clf = HistGradientBoostingClassifier(class_weight="balanced", random_state=0).fit(X, y)
    print(
        f"\ncomposer classifier ({CLASSIFIERS[classifier]}, {X.shape[1]} features): {len(X)} training excerpts "
        f"of {EXCERPT_BARS} bars ({', '.join(top)})"
    )
    held = clf.predict(Xh)
    print(
        f"  held-out real excerpts: {len(Xh)}, accuracy {np.mean(held == yh):.2f}, balanced (mean recall) "
        f"{_balanced(held, yh, len(top)):.2f} (chance {1 / len(top):.2f})"
    )
    _matrix("held-out real pieces", held, yh, top)
    t0 = time.time()
    G, gy, generated = [], [], []
    for ci, c in enumerate(top):
        for seed in range(per_composer):
            score = pianist.generate(  # key and meter drawn as `cadenza generate --composer` draws them
                bars=EXCERPT_BARS,
                composer=c,
                seed=seed,
                key=pianist.default_key(seed, c),
                meter=pianist.meter_for(EXCERPT_BARS, seed, c),
                guidance=guidance,
            )
            G.append(features(score, groups))
            gy.append(ci)
            generated.append(score)
    pred = clf.predict(np.array(G))
    print(
        f"\ngenerated: {per_composer} pieces of {EXCERPT_BARS} bars per composer ({time.time() - t0:.0f} s); "
        f"recognized as their composer: {np.mean(pred == np.array(gy)):.2f} (chance {1 / len(top):.2f})"
    )
    _matrix("generated, by the composer asked for", pred, np.array(gy), top)
    print(f"\na hand stuck (at least {STUCK_STROKES} notes in a bar on at most two keys):")
    print(_stuck_line(f"held-out real excerpts of {EXCERPT_BARS} bars", held_out))
    print(_stuck_line("generated pieces", generated))


def _balanced(pred: np.ndarray, truth: np.ndarray, n: int) -> float:
    return float(np.mean([np.mean(pred[truth == i] == i) for i in range(n) if np.any(truth == i)]))


def _matrix(title: str, pred: np.ndarray, truth: np.ndarray, names: list[str]) -> None:
    print(f"  confusion ({title}; rows: truth, columns: classified as)")
    print("  " + " " * 12 + "".join(f"{n[:10]:>11}" for n in names) + "   recall")
    for i, n in enumerate(names):
        row = [int(np.sum((truth == i) & (pred == j))) for j in range(len(names))]
        print("  " + f"{n[:12]:<12}" + "".join(f"{v:>11}" for v in row) + f"   {row[i] / max(sum(row), 1):.2f}")


def write_real(data, out: Path, bars: int) -> None:
    from cadenza.io.midi import write_midi

    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for p in data.splits["valid"] + data.splits["test"]:
        if len(bar_starts(p.piece.score)) >= bars + 1:
            try:
                ex = excerpt(p.piece.score, 1, bars)
            except Exception:  # noqa: BLE001 - a bar map the excerpt cannot cut
                continue
            write_midi(ex, out / (p.id.replace("/", "_") + ".mid"), force=True)
            n += 1
    print(f"{n} held-out excerpts of {bars} bars in {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="piano")
    ap.add_argument("--data", default="../shared/data/asap")
    ap.add_argument("--per-composer", type=int, default=20, help="pieces per composer (0: no conditioning test)")
    ap.add_argument("--skip-nll", action="store_true")
    ap.add_argument("--guidance", type=float, default=None, help="classifier-free guidance [default: the model's]")
    ap.add_argument("--features", choices=tuple(FEATURE_SETS), default="full", help="the classifier's features")
    ap.add_argument("--classifier", choices=tuple(CLASSIFIERS), default="hgb")
    ap.add_argument("--write-real", default="", help="a folder to write held-out real excerpts into, and stop")
    ap.add_argument("--bars", type=int, default=32, help="the excerpts' length for --write-real")
    args = ap.parse_args()
    if args.write_real:
        return write_real(piano_data.load(args.data), Path(args.write_real), args.bars)
    pianist = hub.load(args.model)
    data = piano_data.load(args.data)
    params = pianist.meta["params"] / 1e6
    print(f"model {pianist.name}: {params:.2f}M parameters, composers {', '.join(pianist.composers)}")
    if not args.skip_nll:
        likelihood(pianist, data)
    if args.per_composer:
        conditioning(pianist, data, args.per_composer, args.guidance, FEATURE_SETS[args.features], args.classifier)


if __name__ == "__main__":
    main()
