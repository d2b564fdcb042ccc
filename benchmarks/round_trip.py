"""Scores read, written as MusicXML by Cadenza, and read back: do their notes come back?

    .venv/bin/python benchmarks/round_trip.py [--asap 40] [--asap-offset 0] [--show 0]

Each of N of the 220 piano scores of ../shared/data/asap (xml_score.mxl, evenly spaced in path
order from the `--asap-offset`th, as benchmarks/spelling.py picks them) is read as Cadenza reads
any file, written with cadenza.io.musicxml, and read back the same way. Counted: the notes
(pitch, start, length to 1/100,000 of a quarter note, and whether it is a grace note) of the
score read that do not come back, and the scores that lose any, and of them the grace notes; the
notes with articulations (staccato, tenuto, accents: not slurs, which are not written) that do
not come back with the same ones; a note struck twice at once at one pitch (a duplicate in the
source) comes back once, which counts. Printed per score with `--show`: the divisions written
and the notes lost. A score the reader cannot read is skipped and counted.

Numbers are printed, nothing is asserted.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import NamedTuple

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


class Result(NamedTuple):
    notes: int  # read
    lost: int  # that do not come back
    divisions: int  # written
    graces: int  # grace notes read
    graces_lost: int
    articulated: int  # notes with articulations (staccato, tenuto, accents) read
    articulations_lost: int  # of them, those that do not come back with the same ones


def lost(path: Path) -> Result | None:
    """What of one score comes back, None if unreadable."""
    from cadenza.io.musicxml import ARTICULATIONS, musicxml_text
    from cadenza.io.scores import quiet, read_with_music21

    with quiet():
        try:
            score = read_with_music21(path)[0]
        except Exception as e:
            print(f"{path}: skipped ({type(e).__name__}: {e})", file=sys.stderr)
            return None
        text = musicxml_text(score)
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / "copy.musicxml"
            copy.write_text(text)
            back = read_with_music21(copy)[0]

    def notes(s) -> Counter:
        return Counter(
            (n.pitch, round(n.start_beats, 5), round(n.duration_beats, 5), "grace" in n.marks) for n in s.notes()
        )

    def articulated(s) -> Counter:
        return Counter(
            (n.pitch, round(n.start_beats, 5), round(n.duration_beats, 5), marks)
            for n in s.notes()
            if (marks := tuple(m for m in n.marks if m in ARTICULATIONS))
        )

    before = notes(score)
    missing = before - notes(back)
    divisions = int(re.search(r"<divisions>(\d+)</divisions>", text).group(1))
    graces = sum(k for (*_, grace), k in before.items() if grace), sum(k for (*_, grace), k in missing.items() if grace)
    marked = articulated(score)
    return Result(
        sum(before.values()),
        sum(missing.values()),
        divisions,
        *graces,
        sum(marked.values()),
        sum((marked - articulated(back)).values()),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--asap", type=int, default=40, help="how many ASAP piano scores, evenly spaced (of 220)")
    ap.add_argument("--asap-offset", type=int, default=0, help="start the evenly spaced scores here")
    ap.add_argument("--show", type=int, default=0, help="list this many scores that lose notes")
    args = ap.parse_args()
    scores = sorted(DATA.glob("asap/**/xml_score.mxl"))
    files = scores[args.asap_offset :: max(1, len(scores) // args.asap)][: args.asap]
    start, total, shown = time.time(), Counter(), []
    for path in files:
        result = lost(path)
        if result is None:
            total["skipped"] += 1
            continue
        notes, missing, divisions, graces, graces_missing, marked, marks_missing = result
        total["graces"] += graces
        total["graces lost"] += graces_missing
        total["articulated"] += marked
        total["articulations lost"] += marks_missing
        total["scores"] += 1
        total["notes"] += notes
        total["lost"] += missing
        total["scores losing notes"] += missing > 0
        total["finer than 24"] += divisions != 24
        if missing and len(shown) < args.show:
            shown.append(f"{'/'.join(path.parent.parts[-3:])}: {missing:,} of {notes:,} lost, divisions {divisions}")
    print(
        f"asap {total['scores']} scores, {total['notes']:,} notes: {total['lost']:,} do not come back "
        f"({total['scores losing notes']} scores lose any); of them grace notes {total['graces']:,}, "
        f"{total['graces lost']:,} do not come back; notes with articulations {total['articulated']:,}, "
        f"{total['articulations lost']:,} do not come back with them; written finer than 24 divisions: "
        f"{total['finer than 24']}; skipped {total['skipped']} [{time.time() - start:.0f} s]"
    )
    for line in shown:
        print(line)


if __name__ == "__main__":
    main()
