"""Lead sheets (a melody with chord symbols) for training and measuring: the tunes of a folder,
file or corpus (cadenza.data.corpus.load, parsed once and cached) that have chord symbols, each
in one split by tune.

A tune's split comes from its id without the folder it was read from ("jigs.abc#3" of
"../shared/data/nottingham-abc:jigs.abc#3"), so it is the same wherever the data lies: the
first 8 hex digits of that id's SHA-1 as a number, modulo 100: below 85 train, below 90 valid,
else test. A tune book may hold one tune twice (the Nottingham files do, under two titles): a
valid or test tune whose melody a train tune has too (the same notes, in any key) is left out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from cadenza.data.corpus import LEADSHEET_SPLITS, Piece, load

SPLITS = LEADSHEET_SPLITS  # defined beside corpus.load, which reads a folder's split as FOLDER:test
SPLIT_PERCENT = (85, 5, 10)
LICENSES = {
    "nottingham-abc": "GPL-3.0 (the Nottingham Music Database, cleaned by Jukedeck: ../shared/data/nottingham-abc)",
}


def split_of(piece_id: str) -> str:
    """'train', 'valid' or 'test' for a tune id (see the module docstring)."""
    name = piece_id.rsplit(":", 1)[-1]
    bucket = int(hashlib.sha1(name.encode()).hexdigest()[:8], 16) % 100
    train, valid, _ = SPLIT_PERCENT
    return "train" if bucket < train else "valid" if bucket < train + valid else "test"


def lead_sheets(
    source: str, progress: Callable[[int, int], None] | None = None
) -> tuple[dict[str, list[Piece]], list[str]]:
    """({split: tunes with chord symbols}, one line per file skipped or tune without chords)."""
    data = load(source, progress=progress)
    splits: dict[str, list[Piece]] = {s: [] for s in SPLITS}
    skipped = list(data.skipped)
    for piece in data.pieces:
        if not piece.score.chords:
            skipped.append(f"{piece.id}: no chord symbols")
        elif not any(p.notes and not p.is_drum for p in piece.score.parts):
            skipped.append(f"{piece.id}: no melody")
        else:
            splits[split_of(piece.id)].append(piece)
    trained = {melody_print(p.score): p.id for p in splits["train"]}
    for split in ("valid", "test"):
        kept = []
        for piece in splits[split]:
            twin = trained.get(melody_print(piece.score))
            if twin is None:
                kept.append(piece)
            else:
                skipped.append(f"{piece.id}: the melody of train tune {twin} (left out of {split})")
        splits[split] = kept
    return splits, skipped


def melody_print(score) -> tuple:
    """A melody's notes as (semitones above its first, start and length in quarter notes from
    its first onset): the same for one tune in any key or under another title."""
    notes = sorted((n for p in score.parts if not p.is_drum for n in p.notes), key=lambda n: (n.start_beats, n.pitch))
    if not notes:
        return ()
    first = notes[0]
    return tuple(
        (n.pitch - first.pitch, round(n.start_beats - first.start_beats, 4), round(n.duration_beats, 4)) for n in notes
    )


def measured_on(source: str) -> bool:
    """Whether `source` is a data set benchmarks/leadsheet_quality.py measures on (LICENSES
    names them), whose test split must stay out of training; a user's own tunes are not."""
    return any(name in source for name in LICENSES)


def license_of(source: str) -> str:
    """The license of a known data set named in `source`, else a reminder that it is the user's."""
    for name, text in LICENSES.items():
        if name in source:
            return text
    return "the user's own data (its license is theirs to state)"
