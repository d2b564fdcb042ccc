"""How Cadenza spells notes, against the composers' own spellings (issue 14: "accidentals
spelled in the key").

    .venv/bin/python benchmarks/spelling.py [--chorales 408] [--asap 0] [--asap-offset 0] [--show 0]

Each score is read as Cadenza reads any file (pitches as MIDI numbers, the key signatures
kept), its repeats written out, then written to MusicXML by Cadenza's writer, and the notes of
the original and of Cadenza's copy compared where they sound at the same pitch at the same time
(the two lined up at their first notes; within 1/24 of a quarter note, the writer's grid for
a score with times off any grid of note values, to which it rounds them: each of the composer's notes is matched to the
nearest of Cadenza's at its pitch, each once). Printed: the share of all matched notes spelled
as the composer spelled them, and of the "chromatic" ones, those the composer wrote with an
accidental the key signature does not give (the ones a spelling rule must get right); `--show
N` lists N disagreements with their bar. Sources: the Bach chorales of music21's corpus
(`bach-chorales`) and, with `--asap N`, N of the 220 piano scores of ../shared/data/asap
(xml_score.mxl), evenly spaced in path order from the `--asap-offset`th (Bach to Schumann; all
220 take about 22 minutes). theory.passage_keys' constants were chosen on the chorales and on
`--asap 40`; `--asap 40 --asap-offset 2` is another 40, not looked at while choosing. A score
either side cannot read is skipped and counted.

Numbers are printed, nothing is asserted.
"""

from __future__ import annotations

import argparse
import sys
import time
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def spellings(stream) -> dict[tuple[float, int], tuple[str, int, int]]:
    """(onset in quarter notes, MIDI pitch) -> (letter, alteration, the signature's alteration
    of that letter) for every note struck in a music21 score (not a tied note's continuation),
    its repeats written out (a piano's staves may be read as one part or two: the part is not in
    the key)."""
    from music21 import harmony
    from music21 import key as m21key

    try:
        stream = stream.expandRepeats()
    except Exception:  # no repeats, or ones music21 cannot unfold: as written
        pass
    out = {}
    for part in stream.parts:
        flat = part.flatten()
        signatures = [(float(k.offset), k) for k in flat.getElementsByClass(m21key.KeySignature)]
        for n in flat.notes:
            if n.duration.isGrace or isinstance(n, harmony.ChordSymbol):
                continue
            sig = next((k for t, k in reversed(signatures) if t <= float(n.offset)), None)
            for sub in n.notes if n.isChord else [n]:
                tie = sub.tie  # in a chord, each note's own
                if tie is not None and tie.type in ("stop", "continue"):
                    continue  # a tied note's continuation: not struck, and split otherwise by each writer
                pitch = getattr(sub, "pitch", None)
                if pitch is None:
                    continue  # unpitched percussion
                alter = int(pitch.accidental.alter) if pitch.accidental else 0
                given = sig.accidentalByStep(pitch.step) if sig is not None else None
                out[(round(float(n.offset), 4), pitch.midi)] = (pitch.step, alter, int(given.alter) if given else 0)
    return out


# how far apart in quarter notes the composer's note and Cadenza's copy of it may begin: one step
# of the MusicXML writer's grid (1/24) for a score it cannot write on a finer one (cadenza.io.musicxml._grid_of)
TOLERANCE = 1 / 24


def matches(theirs: dict, ours: dict) -> dict:
    """Each of the composer's notes (onset, pitch) -> the spelling of the note of Cadenza's copy
    at its pitch whose onset is nearest, within TOLERANCE, each of ours matched once (the
    composer's taken in time order)."""
    times: dict[int, list[float]] = {}
    for t, pitch in sorted(ours):
        times.setdefault(pitch, []).append(t)
    used: set[tuple[float, int]] = set()
    out = {}
    for t, pitch in sorted(theirs):
        row = times.get(pitch, [])
        i = bisect_left(row, t - TOLERANCE)
        near = [u for u in row[i : bisect_right(row, t + TOLERANCE)] if (u, pitch) not in used]
        if near:
            best = min(near, key=lambda u: abs(u - t))
            used.add((best, pitch))
            out[(t, pitch)] = ours[(best, pitch)]
    return out


def compare(path: Path, show: list[str], show_limit: int = 0) -> Counter:
    """Counts for one score; up to `show_limit` disagreements in all appended to `show`."""
    from music21 import converter

    from cadenza.io.musicxml import musicxml_text
    from cadenza.io.scores import quiet, read_with_music21

    counts: Counter = Counter()
    with quiet():
        try:  # a score either side cannot read is skipped and counted; Cadenza's writer must not fail
            score = read_with_music21(path)[0]
            theirs = spellings(converter.parse(path))
        except Exception as e:
            print(f"{path.name}: skipped ({type(e).__name__}: {e})", file=sys.stderr)
            counts["skipped"] += 1
            return counts
        ours = spellings(converter.parseData(musicxml_text(replace(score, repeats=[]))))
    # a reader drops the rests before the first note: line the two up at their first notes
    shift = min(t for t, _ in theirs) - min(t for t, _ in ours) if theirs and ours else 0.0
    matched = matches(theirs, {(t + shift, pitch): v for (t, pitch), v in ours.items()})
    counts["files"] += 1
    bar = score.meter.bar_beats
    name = path.stem if path.stem != "xml_score" else "/".join(path.parent.parts[-3:])
    for where, (letter, alter, given) in theirs.items():
        mine = matched.get(where)
        if mine is None:
            counts["unmatched"] += 1
            continue
        same = mine[:2] == (letter, alter)
        chromatic = alter != given  # by the composer's spelling alone, so that runs compare
        counts["notes"] += 1
        counts["same"] += same
        counts["chromatic"] += chromatic
        counts["chromatic same"] += chromatic and same
        if not same and len(show) < show_limit:
            show.append(
                f"{name}: bar {int(where[0] // bar) + 1}, beat {where[0] % bar + 1:g}: "
                f"{letter}{'#' * alter or 'b' * -alter} written {mine[0]}{'#' * mine[1] or 'b' * -mine[1]}"
            )
    return counts


def report(name: str, counts: Counter, seconds: float) -> None:
    n, c = counts["notes"], counts["chromatic"]
    print(
        f"{name:10} {counts['files']:4} scores  notes spelled as written {counts['same'] / max(n, 1):.4f} ({n:,})  "
        f"chromatic {counts['chromatic same'] / max(c, 1):.3f} ({counts['chromatic same']:,} of {c:,})  "
        f"unmatched {counts['unmatched']:,}  skipped {counts['skipped']}  [{seconds:.0f} s]"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chorales", type=int, default=408, help="how many of the corpus's chorale files")
    ap.add_argument("--asap", type=int, default=0, help="how many ASAP piano scores, evenly spaced (of 220)")
    ap.add_argument(
        "--asap-offset", type=int, default=0, help="start the evenly spaced ASAP scores here (another sample)"
    )
    ap.add_argument("--show", type=int, default=0, help="list this many disagreements")
    args = ap.parse_args()
    from cadenza.data.corpus import corpus_files

    sets = [("chorales", corpus_files("bach-chorales")[: args.chorales])]
    if args.asap:
        scores = sorted(DATA.glob("asap/**/xml_score.mxl"))
        sets.append(("asap", scores[args.asap_offset :: max(1, len(scores) // args.asap)][: args.asap]))
    shown: list[str] = []
    for name, files in sets:
        start, total = time.time(), Counter()
        for path in files:
            total += compare(path, shown, args.show)
        report(name, total, time.time() - start)
    for line in shown:
        print(line)


if __name__ == "__main__":
    main()
