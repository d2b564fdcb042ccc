"""Piano pieces to train on, each with its composer (or none) and its split.

Two kinds of source:

- the ASAP data set (a folder with ASAP's `metadata.csv`): one score per piece (its quantized
  `midi_score.mid`; of a piece's variant folders, `17-1_no_repeat` beside `17-1`, the first by
  name), its composer from the CSV, and its split by the piece (cadenza.data.asap.split_of: 80%
  train, 10% valid, 10% test, the performer's split too);
- any folder of MIDI, MusicXML, ABC or kern files: composers from a CSV (`labels`: columns
  `file` and `composer`, the file as a path under the folder) or, without one, from the folder
  each file lies in directly under the data folder (my-piano/Chopin/nocturne.mid: Chopin; a file
  at the top: none). Split by a hash of each file's path: `valid_percent` to validation, no test.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from cadenza.data import asap
from cadenza.data.corpus import Piece, cached_scores
from cadenza.errors import CadenzaError, InputError, OptionError


@dataclass
class PianoPiece:
    id: str
    composer: str  # "" when not known
    piece: Piece


ASAP_LICENSE = (
    "CC BY-NC-SA 4.0 (ASAP, Foscarin et al. 2020): non-commercial use only, share-alike; the model is "
    "learned from it and shared under the same terms"
)


@dataclass
class PianoData:
    splits: dict[str, list[PianoPiece]] = field(default_factory=lambda: {"train": [], "valid": [], "test": []})
    skipped: list[str] = field(default_factory=list)
    license: str = "that of your own files"

    def composers(self) -> list[str]:
        """The composers of the training split, most pieces first (ties by name)."""
        counts: dict[str, int] = {}
        for p in self.splits["train"]:
            if p.composer:
                counts[p.composer] = counts.get(p.composer, 0) + 1
        return sorted(counts, key=lambda c: (-counts[c], c))


def is_asap(root: Path) -> bool:
    meta = root / "metadata.csv"
    if not meta.is_file():
        return False
    with meta.open(newline="", encoding="utf-8") as f:
        header = next(csv.reader(f), [])
    return {"composer", "folder", "midi_score"} <= set(header)


def load(source: str, labels: str = "", valid_percent: int = 10, limit: int = 0) -> PianoData:
    root = Path(source).expanduser()
    if not root.exists():
        raise OptionError(f"{source}: no such folder or file")
    if root.is_dir() and is_asap(root):
        if labels:
            raise OptionError(f"--labels {labels}: the ASAP data set's composers come from its metadata.csv")
        return _asap(root, limit)
    return _folder(source, root, labels, valid_percent, limit)


def _read(path: Path) -> list:
    from cadenza.io import read_scores

    return cached_scores(path, read_scores)


def _asap(root: Path, limit: int) -> PianoData:
    data = PianoData(license=ASAP_LICENSE)
    seen: set[str] = set()
    with (root / "metadata.csv").open(newline="", encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: r["folder"])
    for row in rows:
        piece = asap.piece_of(row["folder"])
        if piece in seen:
            continue
        seen.add(piece)
        path = root / row["midi_score"]
        try:
            scores = _read(path)
        except CadenzaError as e:
            data.skipped.append(str(e) if isinstance(e, InputError) else f"{path}: {e}")
            continue
        if not scores or not scores[0].notes():
            data.skipped.append(f"{path}: no notes")
            continue
        data.splits[asap.split_of(row["folder"])].append(PianoPiece(piece, row["composer"], Piece(piece, scores[0])))
        if limit and sum(len(s) for s in data.splits.values()) >= limit:
            break
    return data


def _labels(path: Path) -> dict[str, str]:
    if not path.is_file():
        raise OptionError(f"--labels {path}: no such file")
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not {"file", "composer"} <= set(reader.fieldnames or []):
            raise InputError(path, "needs the columns file and composer")
        return {Path(r["file"]).as_posix(): r["composer"].strip() for r in reader}


def _folder(source: str, root: Path, labels: str, valid_percent: int, limit: int) -> PianoData:
    from cadenza.data import corpus

    named = _labels(Path(labels).expanduser()) if labels else None
    loaded = corpus.load(source, limit=limit or None)
    data = PianoData(skipped=list(loaded.skipped))
    prefix = f"{source}:"
    for split, pieces in zip(("train", "valid"), loaded.split(valid_percent)):
        for p in pieces:
            rel = p.id[len(prefix) :].rsplit("#", 1)[0] if p.id.startswith(prefix) else p.id
            if named is not None:
                composer = named.get(rel, "")
            else:
                parts = Path(rel).parts
                composer = parts[0] if root.is_dir() and len(parts) > 1 else ""
            data.splits[split].append(PianoPiece(p.id, composer, p))
    return data
