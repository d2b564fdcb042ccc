"""Chords for a melody, against the human chord symbols of held-out lead sheets.

On the test split of the lead sheets (cadenza.data.corpus.tune_split: by tune, so the model
never saw these tunes; the Nottingham folk tunes by default), at every counted beat that has a
human chord symbol, it compares each method's chord with the human one:

- root: the same root;
- root + quality: the same root and the same triad quality (major, minor, diminished,
  augmented, sus; sevenths aside, as MIREX's major/minor vocabulary compares);
- class: the same root and the same chord class of the model's vocabulary (G7 is not G).

Methods (the baselines are counted from the same training split, with the model's chord kinds):
- most common containing: the most common chord holding the beat's melody notes;
- HMM: chord transitions by place in the bar and melody emissions, Viterbi (its emission weight
  chosen on the valid split);
- model, per beat: the chords model's likeliest class at each beat alone;
- model (`cadenza chords`): the chords model's probabilities joined by the same transitions,
  Viterbi, each repeated passage chorded as its first time, as `cadenza chords` writes them.

Accuracies are over all test beats (tunes weighted by their beats), with 95% bootstrap
intervals over tunes, and the paired difference of `cadenza chords` from each baseline (tunes
resampled together). It also prints the chord changes per bar of each method and of the humans.

Then a melody over chords (cadenza.evaluate.leadsheet): for each test tune in one meter and one
key, `generate --model MELODY --chords` with the tune's own chord symbols (its bars, key and
meter, seed 0, and, as `generate` does, a plan drawn by the model's plan model) writes a new
melody over them. It prints, for the real tunes and for
the new melodies, the share of strong-beat notes that are chord tones and the share of
non-chord tones resolved by step (median and 5th-95th percentiles over tunes), and how many new
melodies fall inside the real tunes' 5th-95th percentile spread; and the same for melodies the
model writes without the chords (in the tune's key, meter, length and the same plan), measured
against the tune's chords: what the chords change.

    python benchmarks/leadsheet_quality.py [--data ../shared/data/nottingham-abc] [--model chords]
        [--melody-model leadsheet] [--no-melody]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

from cadenza import hub
from cadenza.chords import triad_quality
from cadenza.compose.chord_paths import best_path
from cadenza.compose.chorder import EMISSION_WEIGHT, repeated_chords
from cadenza.data.corpus import lead_sheets
from cadenza.evaluate.chord_baselines import ContainsBaseline, HmmBaseline
from cadenza.families.chords import encode_all
from cadenza.score import in_force
from cadenza.tokenize.chord_beats import NO_CHORD

MEASURES = ("root", "root + quality", "class")
BOOTSTRAP = 2000


def truth(piece, sheet):
    """Per beat with a human chord: (index, human root pc, human quality)."""
    chords = sorted(piece.score.chords, key=lambda c: c.start_beats)
    rows = []
    for t, start in enumerate(sheet.starts_beats):
        chord = in_force(chords, float(start))
        if chord is not None and sheet.classes[t] != NO_CHORD:
            rows.append((t, chord.root, triad_quality(chord)))
    return rows


def hits(tokenizer, sheet, rows, path) -> np.ndarray:
    """(beats, 3) bool: root, root + quality, class right."""
    out = np.zeros((len(rows), 3), dtype=bool)
    for i, (t, root, quality) in enumerate(rows):
        chord = tokenizer.chord_of(int(path[t]), sheet.keys[t], 0.0)
        if chord is None:
            continue
        out[i, 0] = chord.root == root
        out[i, 1] = out[i, 0] and triad_quality(chord) == quality
        out[i, 2] = path[t] == sheet.classes[t]
    return out


def changes_per_bar(sheet, path) -> tuple[int, float]:
    changes = int(np.sum(path[1:] != path[:-1]))
    bars = float(np.sum((sheet.places % 4) == 0))
    return changes, bars


def interval(per_tune: list[np.ndarray], rng, column: int) -> tuple[float, float, float]:
    right = np.array([h[:, column].sum() for h in per_tune], dtype=np.float64)
    beats = np.array([len(h) for h in per_tune], dtype=np.float64)
    samples = rng.integers(0, len(per_tune), (BOOTSTRAP, len(per_tune)))
    boot = right[samples].sum(1) / beats[samples].sum(1)
    return right.sum() / beats.sum(), *np.percentile(boot, [2.5, 97.5])


def paired(a: list[np.ndarray], b: list[np.ndarray], rng, column: int) -> tuple[float, float, float]:
    da = np.array([h[:, column].sum() for h in a], dtype=np.float64)
    db = np.array([h[:, column].sum() for h in b], dtype=np.float64)
    beats = np.array([len(h) for h in a], dtype=np.float64)
    samples = rng.integers(0, len(a), (BOOTSTRAP, len(a)))
    boot = (da[samples].sum(1) - db[samples].sum(1)) / beats[samples].sum(1)
    return (da.sum() - db.sum()) / beats.sum(), *np.percentile(boot, [2.5, 97.5])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/nottingham-abc")
    ap.add_argument("--model", default="leadsheet", help="a chords model, or a leadsheet model (its chords part)")
    ap.add_argument("--seed", type=int, default=0, help="the bootstrap's seed")
    ap.add_argument("--melody-model", default="leadsheet", help="the melody model written over the test tunes' chords")
    ap.add_argument("--no-melody", action="store_true", help="only the chords for a melody")
    args = ap.parse_args()
    began = time.time()
    chorder = hub.load(args.model, expect="chords")
    tokenizer = chorder.tokenizer
    splits, _ = lead_sheets(args.data)
    skipped: list[str] = []
    encoded = {s: [(p, e) for p in splits[s] for e in encode_all(tokenizer, [p], skipped)] for s in splits}
    sheets = {s: [e for _, e in encoded[s]] for s in ("train", "valid")}
    test_pieces, test_sheets = [p for p, _ in encoded["test"]], [e for _, e in encoded["test"]]
    contains = ContainsBaseline(tokenizer, sheets["train"])
    # the HMM's emission weight: the best on the valid split (root + quality)
    valid_rows = [truth(p, s) for p, s in encoded["valid"]]
    weights = (0.5, 1.0, 2.0, 4.0, 8.0)
    scores = []
    for w in weights:
        hmm = HmmBaseline(tokenizer, sheets["train"], w)
        h = [hits(tokenizer, s, r, hmm.predict(s)) for s, r in zip(sheets["valid"], valid_rows)]
        scores.append(sum(x[:, 1].sum() for x in h) / max(sum(len(x) for x in h), 1))
    weight = weights[int(np.argmax(scores))]
    hmm = HmmBaseline(tokenizer, sheets["train"], weight)

    def as_written(piece, s, lp):
        """The likeliest path, its repeated passages chorded as their first time (what `cadenza
        chords` writes: Chorder.chords_for), read back beat by beat."""
        chords = tokenizer.decode(best_path(EMISSION_WEIGHT * lp, s.places, chorder.transitions), s)
        return tokenizer.encode(replace(piece.score, chords=repeated_chords(piece.score, chords))).classes

    methods = {
        "most common containing": lambda piece, s, lp: contains.predict(s),
        f"HMM (emission weight {weight:g})": lambda piece, s, lp: hmm.predict(s),
        "model, per beat": lambda piece, s, lp: lp.argmax(1),
        "model (`cadenza chords`)": as_written,
    }
    results = {m: [] for m in methods}
    changes = {m: [0, 0.0] for m in [*methods, "human"]}
    for piece, sheet in zip(test_pieces, test_sheets):
        rows = truth(piece, sheet)
        log_p = chorder.log_probabilities(sheet)
        for m, predict in methods.items():
            path = predict(piece, sheet, log_p)
            results[m].append(hits(tokenizer, sheet, rows, path))
            c, b = changes_per_bar(sheet, path)
            changes[m][0] += c
            changes[m][1] += b
        c, b = changes_per_bar(sheet, sheet.classes)
        changes["human"][0] += c
        changes["human"][1] += b

    beats = sum(len(h) for h in results["model (`cadenza chords`)"])
    print(
        f"{len(test_pieces)} test tunes of {args.data} ({beats:,} beats with a human chord); model {chorder.directory}"
    )
    print(f"chord kinds: {', '.join(tokenizer.kinds)}; {len(skipped)} tunes skipped")
    print()
    print(f"| method | {' | '.join(MEASURES)} | changes per bar |")
    print("| --- | --- | --- | --- | --- |")
    rng = np.random.default_rng(args.seed)
    for m in methods:
        cells = [interval(results[m], rng, k) for k in range(3)]
        text = " | ".join(f"{v:.3f} ({lo:.3f}-{hi:.3f})" for v, lo, hi in cells)
        print(f"| {m} | {text} | {changes[m][0] / max(changes[m][1], 1):.2f} |")
    print(f"| human | | | | {changes['human'][0] / max(changes['human'][1], 1):.2f} |")
    print()
    ours = "model (`cadenza chords`)"
    for m in list(methods)[:2]:
        cells = [paired(results[ours], results[m], rng, k) for k in range(3)]
        text = ", ".join(f"{name} {v:+.3f} ({lo:+.3f}..{hi:+.3f})" for name, (v, lo, hi) in zip(MEASURES, cells))
        print(f"`cadenza chords` minus {m}: {text}")
    if not args.no_melody:
        melody_section(test_pieces, args.melody_model)
    print(f"\n{time.time() - began:.0f} s")


def melody_section(pieces, model: str) -> None:
    from dataclasses import replace

    from cadenza.compose.composer import load
    from cadenza.evaluate.leadsheet import melody_on_chords
    from cadenza.score import bar_starts

    composer = load(model)
    rows = {"real tunes": [], f"{model} over the tunes' chords": [], f"{model} without chords": []}
    for piece in pieces:
        score = piece.score
        if len({str(m) for m in score.meters}) != 1 or len(score.keys) != 1:
            continue
        bars = len(bar_starts(score))
        key, meter = score.keys[0], score.meters[0]
        plan = composer.plan_for(None, bars, meter, key, 0)  # as `generate` does: a plan drawn by the model
        made = [
            composer.generate(bars, key, meter, seed=0, chords=score.chords, plan=plan),
            replace(composer.generate(bars, key, meter, seed=0, plan=plan), chords=score.chords),
        ]
        for name, tune in zip(rows, (score, *made)):
            rows[name].append(melody_on_chords(tune))
    real = rows["real tunes"]
    spread = {k: np.nanpercentile([getattr(m, k) for m in real], [5, 95]) for k in ("strong_share", "resolved_share")}
    print(f"\nmelody over chords: {len(real)} test tunes in one meter and key")
    print("| melodies | strong-beat chord tones | non-chord tones resolved by step | inside the real spread (both) |")
    print("| --- | --- | --- | --- |")
    for name, ms in rows.items():
        cells = []
        for k in ("strong_share", "resolved_share"):
            values = np.array([getattr(m, k) for m in ms])
            lo, mid, hi = np.nanpercentile(values, [5, 50, 95])
            cells.append(f"{mid:.2f} ({lo:.2f}-{hi:.2f})")
        inside = sum(
            all(spread[k][0] <= getattr(m, k) <= spread[k][1] or np.isnan(getattr(m, k)) for k in spread) for m in ms
        )
        print(f"| {name} | {cells[0]} | {cells[1]} | {inside}/{len(ms)} |")


if __name__ == "__main__":
    main()
