"""How well `cadenza analyze` reads form, against real music with ground truth (issue 13).

    .venv/bin/python benchmarks/analyze_quality.py [--chorales 60] [--tunes 100] [--songs 50]
                                                   [--only chorales,nottingham,pop909]

- Bach chorales (music21's corpus, `bach-chorales`): each is read from MusicXML with its
  fermatas as the truth, then analyzed with the fermatas removed, as from MIDI. Phrase-end F1:
  a predicted phrase end (the onset of its last note) matches a fermata within one beat, each
  at most once. Baselines: fixed 2-bar and 4-bar phrases (each ending on the longest top-line
  note of its last bar), and the long notes and rests of the top line alone (theory.phrase_ends,
  the rule the analyzer starts from).
- Nottingham tunes (../shared/data/nottingham-abc): tunes whose parts are labelled (`P:A`) are
  cut into parts, each part's repeats and endings unfolded (music21's expandRepeats), and the
  parts joined in their playing order (`Y:`, else as written); a tune is skipped when a part,
  unfolded, runs over 40 bars (several unlabelled strains under one label) or music21 cannot
  read it. The analyzer sees the notes alone
  (no labels, no key signatures). Measured per bar: label accuracy after the best one-to-one
  renaming of the analyzer's section labels (A' counts as A), the pairwise F-measure of
  same-label bar pairs (no renaming needed; both means over tunes), section-boundary F1
  (label changes, within one bar) and key
  accuracy (the key of the bar's section against the part's K:; modes by their third, Dorian
  as minor). Baselines: 8-bar sections all different ("no repeats"), and one global key
  (Krumhansl-Schmuckler on the whole tune).
- POP909 songs (../shared/data/pop909): a score of the hand-aligned melody (structure/melody.txt)
  and chords (finalized_chord.txt: bass on the root, chord tones above); phrase-boundary F1
  (within one bar, and exact) against each human labelling (human_label1/2.txt; a boundary
  between two labelled segments), and per-bar label accuracy and pairwise F of the phrase
  labels; the two humans against each other are the ceiling. Key accuracy of the home key
  against analyzed_key.txt where it names a single key. Baselines: fixed 4-bar phrases, all
  different.

Numbers are printed, nothing is asserted or cached (the chorales go through Cadenza's usual
parse cache, $CADENZA_CACHE, outside the repository).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
MAX_PART_BARS = 40  # a Nottingham part longer than this, unfolded, holds unlabelled strains


# ---------------------------------------------------------------------------------------------
# measures


def match_f1(pred: list[float], truth: list[float], tol: float) -> tuple[int, int, int]:
    """(true positives, predicted, true): each truth matched at most once, nearest first."""
    used = set()
    tp = 0
    for p in sorted(pred):
        best = None
        for i, t in enumerate(truth):
            if i not in used and abs(p - t) <= tol + 1e-9 and (best is None or abs(p - t) < abs(p - truth[best])):
                best = i
        if best is not None:
            used.add(best)
            tp += 1
    return tp, len(pred), len(truth)


def f1(counts: list[tuple[int, int, int]]) -> tuple[float, float, float]:
    tp, npred, ntrue = (sum(c[i] for c in counts) for i in range(3))
    p = tp / npred if npred else 0.0
    r = tp / ntrue if ntrue else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def label_accuracy(pred: list[str], truth: list[str]) -> float:
    """Per-bar agreement after the best one-to-one renaming of pred's labels (Hungarian)."""
    from scipy.optimize import linear_sum_assignment

    n = min(len(pred), len(truth))
    pred, truth = pred[:n], truth[:n]
    a, b = sorted(set(pred)), sorted(set(truth))
    m = np.zeros((len(a), len(b)))
    for x, y in zip(pred, truth):
        m[a.index(x), b.index(y)] += 1
    rows, cols = linear_sum_assignment(-m)
    return float(m[rows, cols].sum() / n) if n else 0.0


def pairwise_f(pred: list[str], truth: list[str]) -> float:
    """The pairwise F-measure of one piece (same-label bar pairs in both, against either)."""
    return f1([pairwise_counts(pred, truth)])[2]


def pairwise_counts(pred: list[str], truth: list[str]) -> tuple[int, int, int]:
    """(pairs same in both, same in pred, same in truth) over bar pairs i < j."""
    n = min(len(pred), len(truth))
    p = np.array([hash(x) for x in pred[:n]])
    t = np.array([hash(x) for x in truth[:n]])
    sp, st = p[:, None] == p[None, :], t[:, None] == t[None, :]
    upper = np.triu(np.ones((n, n), dtype=bool), 1)
    return int((sp & st & upper).sum()), int((sp & upper).sum()), int((st & upper).sum())


def boundaries(labels: list[str] | list[tuple]) -> list[float]:
    return [float(i) for i in range(1, len(labels)) if labels[i] != labels[i - 1]]


def section_bars(plan) -> list[str]:
    """The label (no primes) of each bar's section."""
    return [s.label for s in plan.sections for _ in range(s.bars)]


def phrase_bars(analysis) -> list[str]:
    return [p.label.rstrip("'") for p in analysis.phrases for _ in range(p.end_bar - p.start_bar)]


def phrase_starts(analysis) -> list[float]:
    return [float(p.start_bar) for p in analysis.phrases[1:]]


def fixed_ends(score, bars: int) -> list[float]:
    """Phrase ends of fixed `bars`-bar phrases: the longest top-line note of each one's last bar."""
    from cadenza.theory import cut_top_line

    bar = score.meter.bar_beats
    parts = [p for p in score.parts if p.notes and not p.is_drum]
    top = max(parts, key=lambda p: sum(x.pitch for x in p.notes) / len(p.notes))
    line = cut_top_line(top.notes)
    n = int(np.ceil(score.end_beats / bar - 1e-9))
    out = []
    for last in list(range(bars - 1, n - 1, bars)) + [n - 1]:
        inside = [x for x in line if last * bar - 1e-6 <= x.start_beats < (last + 1) * bar - 1e-6]
        if inside:
            out.append(max(inside, key=lambda x: (x.duration_beats, -x.start_beats)).start_beats)
    return sorted(set(out))


def long_note_ends(score) -> list[float]:
    """Phrase ends by theory.phrase_ends alone: long notes and notes before rests in the top line."""
    from cadenza.theory import cut_top_line, phrase_ends

    parts = [p for p in score.parts if p.notes and not p.is_drum]
    top = max(parts, key=lambda p: sum(x.pitch for x in p.notes) / len(p.notes))
    return [x.start_beats for x in phrase_ends(cut_top_line(top.notes), score.meter)]


# ---------------------------------------------------------------------------------------------
# Bach chorales


def chorales(limit: int) -> None:
    from cadenza.data.corpus import load
    from cadenza.plan.analyze import analyze

    t0 = time.time()
    data = load("bach-chorales", limit=limit * 2)
    pieces = [p for p in data.pieces if p.score.fermatas_beats][:limit]
    rows: dict[str, list] = {
        "analyzer": [],
        "analyzer, fermatas kept": [],
        "long notes and rests alone": [],
        "fixed 2 bars": [],
        "fixed 4 bars": [],
    }
    cadences: Counter = Counter()
    t_an = 0.0
    for piece in pieces:
        s = piece.score
        truth = sorted(set(s.fermatas_beats))
        last = max(x.start_beats for x in s.notes())
        if all(abs(last - f) > 1e-6 for f in truth):
            truth.append(last)  # the final note ends a phrase, marked or not
        t = time.time()
        blind = analyze(replace(s, fermatas_beats=[]))
        t_an += time.time() - t
        marked = analyze(s)
        cadences.update(p.cadence for p in marked.phrases)
        rows["analyzer"].append(match_f1([p.end_beats for p in blind.phrases], truth, 1.0))
        rows["analyzer, fermatas kept"].append(match_f1([p.end_beats for p in marked.phrases], truth, 1.0))
        for b in (2, 4):
            rows[f"fixed {b} bars"].append(match_f1(fixed_ends(s, b), truth, 1.0))
        rows["long notes and rests alone"].append(match_f1(long_note_ends(s), truth, 1.0))
    n_truth = sum(r[2] for r in rows["analyzer"])
    print(
        f"\nBach chorales: {len(pieces)} pieces, {n_truth} phrase ends (fermatas and final notes); "
        "phrase-end F1 within 1 beat"
    )
    print(f"  {'':28} {'precision':>9} {'recall':>7} {'F1':>6}")
    for name, counts in rows.items():
        p, r, f = f1(counts)
        print(f"  {name:28} {p:9.3f} {r:7.3f} {f:6.3f}")
    total = sum(cadences.values())
    print("  cadences at the fermatas: " + ", ".join(f"{k} {v / total:.0%}" for k, v in cadences.most_common()))
    print(f"  ({t_an / max(1, len(pieces)) * 1000:.0f} ms per analysis; {time.time() - t0:.0f} s in all)")


# ---------------------------------------------------------------------------------------------
# Nottingham


def _abc_key(text: str):
    """K: field -> Key (modes by their third: Dorian, Aeolian, Phrygian minor), None if unreadable."""
    from cadenza.score import Key, tonic_name_pitch_class

    m = re.match(r"\s*([A-Ga-g])([#b]?)\s*([A-Za-z]*)", text)
    if not m:
        return None
    tonic = tonic_name_pitch_class(m.group(1).upper() + m.group(2))
    if tonic is None:
        return None
    mode = m.group(3).lower()
    minor = mode.startswith(("m", "aeo", "dor", "phr")) and not mode.startswith(("maj", "mix"))
    return Key(0.0, tonic, "minor" if minor else "major")


def nottingham_tunes(limit: int):
    """(title, Score of the unfolded tune without labels or keys, per-bar part labels, per-bar keys)."""
    from music21 import converter

    from cadenza.io.scores import music21_to_score, quiet
    from cadenza.score import Part, Score, pickup_start

    out = []
    for path in sorted((DATA / "nottingham-abc").glob("*.abc")):
        text = path.read_text(errors="replace")
        for block in re.split(r"\n(?=X:)", text):
            if len(out) >= limit:
                return out
            lines = block.strip().splitlines()
            if not lines or not lines[0].startswith("X:"):
                continue
            parts: dict[str, tuple[dict, list[str]]] = {}
            order, current, in_body = None, None, False
            fields = {"M": "4/4", "L": "1/8", "K": "C"}
            for line in lines:
                m = re.match(r"([A-Za-z]):\s*(.*)", line)
                if m:
                    field, value = m.group(1), m.group(2).strip()
                    if field in "MLK":
                        fields[field] = value
                        if field == "K":
                            in_body = True
                        if current:
                            parts[current][1].append(line)
                    elif field == "Y":
                        order = value
                    elif field == "P" and not in_body:
                        order = order or value  # a header's P: is the playing order
                    elif field == "P":
                        current = value
                        parts[current] = (dict(fields), [])
                elif current and line.strip() and not line.startswith("%"):
                    parts[current][1].append(line)
            if not parts or not all(re.fullmatch(r"[A-Z]", k) for k in parts):
                continue
            order = order or "".join(parts)
            if not order or any(c not in parts for c in order):
                continue
            pieces = []
            with quiet():
                try:
                    for label in order:
                        f, body = parts[label]
                        abc = f"X:1\nT:part\nM:{f['M']}\nL:{f['L']}\nK:{f['K']}\n" + "\n".join(body) + "\n"
                        s = converter.parseData(abc, format="abc")
                        p = s.parts[0] if getattr(s, "parts", None) else s
                        pieces.append((label, _abc_key(f["K"]), music21_to_score(p.expandRepeats())))
                except Exception:
                    continue
            if not pieces or any(not sc.notes() for _, _, sc in pieces):
                continue
            if any(sc.end_beats > MAX_PART_BARS * sc.meter.bar_beats for _, _, sc in pieces):
                continue  # a part holding several unlabelled strains: its label says little
            meter = pieces[0][2].meter
            bar = meter.bar_beats
            if any(sc.meter.bar_beats != bar for _, _, sc in pieces):
                continue  # a meter change between parts: bars would not line up
            notes, labels, keys = [], [], []
            start = 0  # the bar the current part's bar 0 falls on
            for n, (label, key, sc) in enumerate(pieces):
                notes += [replace(x, start_beats=x.start_beats + start * bar) for x in sc.notes()]
                bars = max(1, int(np.ceil(sc.end_beats / bar - 1e-6)))
                for b in range(start, start + bars):
                    if b >= len(labels):  # a pickup bar shared with the part before stays that part's
                        labels.append(label)
                        keys.append(key)
                nxt_pickup = n + 1 < len(pieces) and pickup_start(pieces[n + 1][2]) > 0
                start += bars - (1 if nxt_pickup else 0)
            score = Score(parts=[Part("melody", notes=sorted(notes, key=lambda x: x.start_beats))], meters=[meter])
            title = next((x[2:].strip() for x in lines if x.startswith("T:")), "")
            out.append((f"{path.name}: {title}", score, labels, keys, order))
    return out


def nottingham(limit: int) -> None:
    from cadenza.plan.analyze import analyze
    from cadenza.theory import estimate_key

    t0 = time.time()
    tunes = nottingham_tunes(limit)
    acc: dict[str, list[float]] = {"analyzer": [], "8-bar sections, no repeats": []}
    pair: dict[str, list] = {k: [] for k in acc}
    bounds: dict[str, list] = {k: [] for k in acc}
    key_hits = {"analyzer": [0, 0], "one global key (K-S)": [0, 0]}
    home_hits = [0, 0]
    forms = Counter()
    for _, score, labels, keys, order in tunes:
        a = analyze(score)
        n = min(a.bars, len(labels))
        # the labels count bars from beat 0, a pickup's bar first; the plan from the first downbeat,
        # the pickup's bar left off its first section (cadenza.plan.analyze): it is that section's
        lead = a.bars - a.plan.bars
        assert lead in (0, 1), (a.bars, a.plan.bars)
        pred = (section_bars(a.plan)[:1] * lead + section_bars(a.plan))[:n]
        truth = labels[:n]
        base = [str(i // 8) for i in range(n)]
        truth_bounds = boundaries(truth)
        for name, lab in (("analyzer", pred), ("8-bar sections, no repeats", base)):
            acc[name].append(label_accuracy(lab, truth))
            pair[name].append(pairwise_f(lab, truth))
            bounds[name].append(match_f1(boundaries(lab), truth_bounds, 1.0))
        section_key = [a.plan.key_of(0)] * lead + [
            a.plan.key_of(i) for i, s in enumerate(a.plan.sections) for _ in range(s.bars)
        ]
        glob = estimate_key(score.notes())
        for b in range(n):
            if keys[b] is None:
                continue
            key_hits["analyzer"][0] += section_key[b] == keys[b]
            key_hits["one global key (K-S)"][0] += glob == keys[b]
            key_hits["analyzer"][1] += 1
            key_hits["one global key (K-S)"][1] += 1
        if keys[0] is not None:
            home_hits[0] += a.key == keys[0]
            home_hits[1] += 1
        forms[order] += 1
    print(
        f"\nNottingham: {len(tunes)} tunes with labelled parts "
        f"(orders: {', '.join(f'{k} {v}' for k, v in forms.most_common(5))} ...)"
    )
    print(f"  {'':28} {'label acc':>9} {'pairwise F':>10} {'section-bound F1':>16}")
    for name in acc:
        print(f"  {name:28} {np.mean(acc[name]):9.3f} {np.mean(pair[name]):10.3f} {f1(bounds[name])[2]:16.3f}")
    print("  key per bar:     " + ", ".join(f"{k} {h / max(1, t):.3f}" for k, (h, t) in key_hits.items()))
    print(f"  home key:        analyzer {home_hits[0] / max(1, home_hits[1]):.3f} ({home_hits[1]} tunes)")
    print(f"  ({time.time() - t0:.0f} s in all)")


# ---------------------------------------------------------------------------------------------
# POP909


def _pop_labels(text: str) -> list[str]:
    """'i4A4B8' -> per-bar labels, each segment its own id: ['i', 'i', 'i', 'i', 'A', ...]."""
    return [lab for lab, n in re.findall(r"([A-Za-z])(\d+)", text) for _ in range(int(n))]


def _pop_segments(text: str) -> list[float]:
    """Segment boundaries (bars) of a labelling, including between two segments of one label."""
    out, at = [], 0
    for _, n in re.findall(r"([A-Za-z])(\d+)", text):
        at += int(n)
        out.append(float(at))
    return out[:-1]


def pop909_song(folder: Path):
    from cadenza.score import Meter, Note, Part, Score

    s = folder / "structure"
    melody, at = [], 0.0
    for line in (s / "melody.txt").read_text().split("\n"):
        if not line.strip():
            continue
        pitch, dur = (int(v) for v in line.split()[:2])
        if pitch > 0:
            melody.append(Note(pitch, at, dur / 4))
        at += dur / 4
    chords, at = [], 0.0
    for line in (s / "finalized_chord.txt").read_text().split("\n"):
        m = re.match(r"(\S+)\s+\[([\d,\s]*)\]\s+(\d+)\s+([\d.]+)", line.strip())
        if not m:
            continue
        pcs = [int(v) for v in m.group(2).split(",") if v.strip()]
        dur = float(m.group(4))
        if m.group(1) != "N" and pcs:  # the root in the bass (C2-B2), the chord tones above (C3-B3)
            chords.append(Note(36 + int(m.group(3)) % 12, at, dur))
            chords += [Note(48 + pc % 12, at, dur) for pc in pcs]
        at += dur
    score = Score(parts=[Part("melody", notes=melody), Part("chords", notes=chords)], meters=[Meter(0.0, 4, 4)])
    labels = [(s / f"human_label{i}.txt").read_text().strip() for i in (1, 2)]
    key_lines = [x.strip() for x in (s / "analyzed_key.txt").read_text().splitlines() if x.strip()]
    return score, labels, key_lines


def _pop_key(text: str):
    from cadenza.score import Key, tonic_name_pitch_class

    m = re.fullmatch(r"([A-G][#b]?):(maj|min)", text)
    if not m:
        return None
    tonic = tonic_name_pitch_class(m.group(1))
    return None if tonic is None else Key(0.0, tonic, "major" if m.group(2) == "maj" else "minor")


def pop909(limit: int) -> None:
    from cadenza.plan.analyze import analyze
    from cadenza.theory import estimate_key

    t0 = time.time()
    folders = sorted(p for p in (DATA / "pop909").iterdir() if (p / "structure" / "melody.txt").exists())[:limit]
    names = ("analyzer", "fixed 4 bars, no repeats", "human 1 vs human 2")
    bnd: dict[str, list] = {k: [] for k in names}
    bnd0: dict[str, list] = {k: [] for k in names}
    acc: dict[str, list[float]] = {k: [] for k in names}
    pair: dict[str, list] = {k: [] for k in names}
    keys = {"analyzer": [0, 0], "one global key (K-S)": [0, 0]}
    t_an = 0.0
    for folder in folders:
        score, (lab1, lab2), key_lines = pop909_song(folder)
        t = time.time()
        a = analyze(score)
        t_an += time.time() - t
        truths = [(_pop_labels(x), _pop_segments(x)) for x in (lab1, lab2)]
        n = min(a.bars, len(truths[0][0]))
        base_labels = [str(i // 4) for i in range(n)]
        candidates = {
            "analyzer": (phrase_bars(a), phrase_starts(a)),
            "fixed 4 bars, no repeats": (base_labels, [float(b) for b in range(4, n, 4)]),
        }
        for name, (lab, starts) in candidates.items():
            for truth_labels, truth_bounds in truths:  # against each human, counted once each
                bnd[name].append(match_f1(starts, truth_bounds, 1.0))
                bnd0[name].append(match_f1(starts, truth_bounds, 0.0))
                acc[name].append(label_accuracy(lab[:n], truth_labels[:n]))
                pair[name].append(pairwise_f(lab[:n], truth_labels[:n]))
        (l1, b1), (l2, b2) = truths
        for x, y in (((l1, b1), (l2, b2)), ((l2, b2), (l1, b1))):  # symmetric, as the others are counted
            bnd["human 1 vs human 2"].append(match_f1(x[1], y[1], 1.0))
            bnd0["human 1 vs human 2"].append(match_f1(x[1], y[1], 0.0))
            acc["human 1 vs human 2"].append(label_accuracy(x[0], y[0]))
            pair["human 1 vs human 2"].append(pairwise_f(x[0], y[0]))
        if len(key_lines) == 1 and _pop_key(key_lines[0]) is not None:
            truth = _pop_key(key_lines[0])
            keys["analyzer"][0] += a.key == truth
            keys["one global key (K-S)"][0] += estimate_key(score.notes()) == truth
            for k in keys.values():
                k[1] += 1
    print(f"\nPOP909: {len(folders)} songs, phrases against two human labellings each")
    print(f"  {'':26} {'bound F1 (1 bar)':>16} {'bound F1 (exact)':>16} {'label acc':>9} {'pairwise F':>10}")
    for name in names:
        print(
            f"  {name:26} {f1(bnd[name])[2]:16.3f} {f1(bnd0[name])[2]:16.3f} "
            f"{np.mean(acc[name]):9.3f} {np.mean(pair[name]):10.3f}"
        )
    total = keys["analyzer"][1]
    print(
        f"  home key ({total} songs with one key): "
        + ", ".join(f"{k} {h / max(1, t):.3f}" for k, (h, t) in keys.items())
    )
    print(f"  ({t_an / max(1, len(folders)) * 1000:.0f} ms per analysis; {time.time() - t0:.0f} s in all)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chorales", type=int, default=60, help="Bach chorales with fermatas to read")
    ap.add_argument("--tunes", type=int, default=100, help="Nottingham tunes with labelled parts")
    ap.add_argument("--songs", type=int, default=50, help="POP909 songs")
    ap.add_argument("--only", default="chorales,nottingham,pop909", help="comma list of the three")
    args = ap.parse_args()
    only = {x.strip() for x in args.only.split(",")}
    print(" ".join(["analyze_quality.py", *sys.argv[1:]]))
    if "chorales" in only:
        chorales(args.chorales)
    if "nottingham" in only:
        nottingham(args.tunes)
    if "pop909" in only:
        pop909(args.songs)


if __name__ == "__main__":
    main()
