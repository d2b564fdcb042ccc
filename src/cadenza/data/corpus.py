"""Training data: music21's built-in corpora by name, or a user's folder of files.

Parsing with music21 is slow, so every parsed file is cached as gzip JSON (a Score's to_dict)
under $CADENZA_CACHE (default ~/.cache/cadenza), keyed by the file's path, size and mtime.
Splits are deterministic: a piece goes to validation by a hash of its id, not by chance.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cadenza.errors import CadenzaError, InputError, OptionError
from cadenza.render import PERFORMED
from cadenza.score import Score

# name -> (music21 corpus composer/collection, file suffix, what it is)
TUNE_SPLITS = ("train", "valid", "test")
TUNE_SPLIT_PERCENT = (85, 5, 10)
CORPORA = {
    "bach-chorales": ("bach", ".mxl", "Bach's four-part chorales (MusicXML, ~400)"),
    "essen": ("essenFolksong", ".abc", "Essen folk song collection (ABC, thousands of tunes)"),
    "oneills": ("oneills1850", ".abc", "O'Neill's Music of Ireland, 1850 (ABC fiddle tunes)"),
    "ryans": ("ryansMammoth", ".abc", "Ryan's Mammoth Collection, 1883 (ABC fiddle tunes)"),
    "palestrina": ("palestrina", ".krn", "Palestrina masses (Humdrum kern)"),
}


@dataclass
class Piece:
    id: str  # stable: source file and index within it
    score: Score


@dataclass
class Dataset:
    pieces: list[Piece]
    skipped: list[str] = field(default_factory=list)  # one line per unreadable file

    def split(self, valid_percent: int = 10) -> tuple[list[Piece], list[Piece]]:
        """(train, valid), deterministic by a hash of each piece's id."""
        train: list[Piece] = []
        valid: list[Piece] = []
        for p in self.pieces:
            (valid if _bucket(p.id) < valid_percent else train).append(p)
        if not valid and len(train) > 1:  # tiny data sets still validate on something
            valid.append(train.pop())
        if not train and len(valid) > 1:  # ... and still train on something, whatever the hash drew
            train.append(valid.pop(0))
        return train, valid


def _bucket(text: str) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16) % 100


def cache_dir() -> Path:
    return Path(os.environ.get("CADENZA_CACHE", Path.home() / ".cache" / "cadenza"))


def cache_path(path: Path) -> Path:
    """Where the parse of a file (this path, size and mtime) is cached."""
    st = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|v20".encode()).hexdigest()
    return cache_dir() / "parsed" / f"{key}.json.gz"


def cached_scores(path: Path, parse: Callable[[Path], list[Score]]) -> list[Score]:
    """`parse(path)`, or what it gave before for this file (the same path, size and mtime)."""
    cache = cache_path(path)
    if cache.exists():
        try:
            return [Score.from_dict(d) for d in json.loads(gzip.decompress(cache.read_bytes()))]
        except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError):
            pass  # a damaged cache entry (truncated, not JSON, the wrong shape) is parsed again
    scores = parse(path)
    from cadenza.io.files import atomic_write

    atomic_write(cache, gzip.compress(json.dumps([s.to_dict() for s in scores]).encode()), force=True)
    return scores


def corpus_files(name: str) -> list[Path]:
    if name not in CORPORA:
        raise OptionError(f"unknown corpus {name!r}; built-in corpora: {', '.join(CORPORA)}")
    from music21 import corpus

    collection, suffix, _ = CORPORA[name]
    return sorted(Path(p) for p in corpus.getComposer(collection) if str(p).endswith(suffix))


def load(source: str, limit: int | None = None, progress: Callable[[int, int], None] | None = None) -> Dataset:
    """A corpus name, a comma-separated list of names, a folder (searched recursively), a file, or
    one split of a four-voice grid file named after a colon (PATH.json.gz:train, :valid or :test,
    as ../shared/benchmarks/jsb16th_satb.json.gz): each grid becomes a Score of four parts in 4/4
    at 80 bpm, with the id FILE:SPLIT#INDEX (jsb16th_satb.json.gz:test#12). A folder or file of
    lead sheets with splits named after a colon (../shared/data/nottingham-abc:test, or
    :valid,test) gives those splits of its tunes with chord symbols (`lead_sheets`)."""
    from cadenza.io import SUFFIXES, read_scores

    head, colon, named = source.rpartition(":")
    if colon and head and not head.endswith(".json.gz") and all(s.strip() in TUNE_SPLITS for s in named.split(",")):
        if not Path(head).expanduser().exists():
            raise OptionError(f"{source}: no such folder or file {head}")
        tunes, skipped = lead_sheets(head, progress)
        return Dataset([p for s in named.split(",") for p in tunes[s.strip()]][: limit or None], skipped)
    if "," in source:
        parts = [load(s.strip(), limit, progress) for s in source.split(",") if s.strip()]
        return Dataset([p for d in parts for p in d.pieces], [s for d in parts for s in d.skipped])
    grid_file, colon, split = source.rpartition(":")
    if (colon and grid_file.endswith(".json.gz")) or (
        source.endswith(".json.gz") and Path(source).expanduser().is_file()
    ):
        from dataclasses import replace

        from cadenza.data.benchmarks import SPLITS, load_satb
        from cadenza.score import Meter, Tempo
        from cadenza.tokenize.cells import CellsTokenizer

        if not colon or not grid_file.endswith(".json.gz"):
            raise OptionError(f"{source}: name a split of the four-voice grid file ({source}:{'|'.join(SPLITS)})")
        if split not in SPLITS:
            raise OptionError(f"{source}: no split {split!r} in a four-voice grid file (splits: {', '.join(SPLITS)})")
        path = Path(grid_file).expanduser()
        if not path.is_file():
            raise OptionError(f"{source}: no such file {grid_file}")
        grids = load_satb(path)[split][: limit or None]
        if any(g.ndim != 2 or g.shape[1] != 4 for g in grids):
            raise InputError(path, "not a four-voice grid file like jsb16th_satb.json.gz (a step is not 4 voices)")
        name = path.name
        pieces: list[Piece] = []
        for i, grid in enumerate(grids):
            if progress:
                progress(i, len(grids))
            score = CellsTokenizer(4, 4).decode(grid)
            score = replace(score, tempos=[Tempo(0.0, 80.0)], meters=[Meter(0.0, 4, 4)], title=f"{name}:{split}#{i}")
            if score.notes():
                pieces.append(Piece(f"{name}:{split}#{i}", score))
        return Dataset(pieces)
    if source in CORPORA:
        files = corpus_files(source)
        root = None
    else:
        path = Path(source).expanduser()
        if not path.exists():
            raise OptionError(f"{source}: no such folder or file, and not a built-in corpus ({', '.join(CORPORA)})")
        root = path if path.is_dir() else path.parent
        files = sorted(f for f in path.rglob("*") if f.suffix.lower() in SUFFIXES) if path.is_dir() else [path]
        if not files:
            raise OptionError(f"{source}: no music files found (looked for {', '.join(SUFFIXES)})")
    files, same = one_per_piece(files)
    pieces, skipped = [], [f"{f}: left out, the same piece as {kept.name}" for f, kept in same]
    for i, f in enumerate(files):
        if progress:
            progress(i, len(files))
        try:
            scores = cached_scores(f, read_scores)
        except InputError as e:
            skipped.append(str(e))
            continue
        except CadenzaError as e:
            skipped.append(f"{f}: {e}")
            continue
        rel = f"{source}:{f.relative_to(root) if root else f.name}"
        for j, s in enumerate(scores):
            if s.notes():
                pieces.append(Piece(f"{rel}#{j}", s))
        if limit and len(pieces) >= limit:
            pieces = pieces[:limit]
            break
    return Dataset(pieces, skipped)


def one_per_piece(files: list[Path]) -> tuple[list[Path], list[tuple[Path, Path]]]:
    """(files, [(left out, the file kept for it)]): of the files of one piece in one folder, as
    `generate` writes them (STEM.mid, STEM.musicxml, STEM.abc, and STEM.performed.mid, the
    piece played: cadenza.render), one is read: the first by cadenza.io.SUFFIXES (MIDI first,
    exact to the tick, then MusicXML, ABC, kern), and the performance last."""
    from cadenza.io import SUFFIXES

    def stem_and_rank(f: Path) -> tuple[Path, int]:
        name = f.name.lower()
        if name.endswith(f".{PERFORMED}"):
            return f.parent / name.removesuffix(f".{PERFORMED}"), len(SUFFIXES)
        suffix = f.suffix.lower()
        return f.parent / f.stem.lower(), SUFFIXES.index(suffix) if suffix in SUFFIXES else len(SUFFIXES)

    keys = {f: stem_and_rank(f) for f in files}
    kept: dict[Path, Path] = {}
    for f in sorted(files, key=lambda f: keys[f][1]):
        kept.setdefault(keys[f][0], f)
    chosen = set(kept.values())
    return [f for f in files if f in chosen], [(f, kept[keys[f][0]]) for f in files if f not in chosen]


def with_exact_parts(pieces: list[Piece], n_voices: int) -> list[Piece]:
    """The pieces with exactly n_voices pitched parts that have notes (e.g. four-part chorales)."""
    return [p for p in pieces if sum(1 for q in p.score.parts if q.notes and not q.is_drum) == n_voices]


def split_of(meta: dict, progress: Callable[[int, int], None] | None = None) -> tuple[list[Piece], list[Piece]]:
    """(train, valid) pieces exactly as the training run recorded in `meta` (a model.json) had
    them: same data, same part filter, same hash split. For measuring a model on its own
    held-out pieces. `progress(files done, files)` is called as files are read."""
    t = meta["train"]
    data = load(t["data"], limit=t.get("max_pieces") or None, progress=progress)
    if t.get("exact_parts"):
        data.pieces = with_exact_parts(data.pieces, t["n_voices"])
    recorded = meta.get("data_summary", {}).get("excluded_ids")  # what the run's own --exclude left out
    data.pieces, _ = leave_out(data.pieces, t.get("exclude", ""), recorded)
    return data.split(t.get("valid_percent", 10))


TUNE_GRAM = 8  # intervals in each run two melodies are compared by
TUNE_SHARE = 0.3  # the share of the shorter melody's runs the other must have for the two to be one tune


def melody_runs(pitches: list[int], n: int = TUNE_GRAM) -> frozenset[tuple[int, ...]]:
    """A tune as it is compared with others: its runs of n intervals between successive distinct
    pitches. Any key or rhythm, notes held or repeated, a repeat played once or twice, and an
    ornament or a changed note here and there leave most runs alone. A melody of n distinct
    pitches or fewer is its one run of all its intervals; a melody of one pitch has none."""
    distinct = [p for i, p in enumerate(pitches) if i == 0 or p != pitches[i - 1]]
    steps = tuple(b - a for a, b in zip(distinct, distinct[1:]))
    if len(steps) <= n:
        return frozenset([steps] if steps else [])
    return frozenset(steps[i : i + n] for i in range(len(steps) - n + 1))


class TuneIndex:
    """Melodies to recognize in other pieces: a melody is one of them when, of the shorter
    melody's runs (melody_runs), at least TUNE_SHARE are the other's too. Bach set many hymn tunes
    more than once, with the melody ornamented or its repeat written out; each setting matches.
    The 77 JSB test melodies match 153 of music21's 364 four-part chorales, 77 of them ones a match
    of their first 16 intervals missed. A melody of only a few runs matches on one shared run, and
    one of n or fewer intervals only a melody just like it: meant for tunes, not motifs."""

    def __init__(self, tunes: list[frozenset[tuple[int, ...]]]):
        self.sizes = [len(t) for t in tunes]
        self.by_run: dict[tuple[int, ...], list[int]] = {}
        for i, tune in enumerate(tunes):
            for run in tune:
                self.by_run.setdefault(run, []).append(i)

    def matches(self, runs: frozenset[tuple[int, ...]]) -> bool:
        shared: dict[int, int] = {}
        for run in runs:
            for i in self.by_run.get(run, ()):
                shared[i] = shared.get(i, 0) + 1
        return any(k >= TUNE_SHARE * min(len(runs), self.sizes[i]) for i, k in shared.items())


def top_voice(score: Score) -> list[int]:
    """The pitches of the highest part (by mean pitch) in time order: a piece's melody."""
    parts = score.pitched_parts
    if not parts:
        return []
    top = max(parts, key=lambda p: sum(x.pitch for x in p.notes) / len(p.notes))
    return [x.pitch for x in sorted(top.notes, key=lambda x: (x.start_beats, -x.pitch))]


def excluded_tunes(source: str) -> list[frozenset[tuple[int, ...]]]:
    """The melodies (melody_runs) of a data set to keep out of training: a corpus, folder or file;
    a four-voice grid file with its splits named after a colon (PATH.json.gz:test or :valid,test);
    or lead sheets' splits by tune (`lead_sheets`), as FOLDER:test (see `load`)."""
    from cadenza.data.benchmarks import SPLITS, load_satb

    path, _, splits = source.rpartition(":") if source.count(":") and ".json.gz:" in source else (source, "", "")
    if path.endswith(".json.gz"):
        names = [s.strip() for s in splits.split(",") if s.strip()]
        if not names:
            raise OptionError(f"--exclude {source}: name the split(s) to leave out, e.g. {path}:test")
        unknown = [s for s in names if s not in SPLITS]
        if unknown:
            raise OptionError(f"--exclude {source}: no split {unknown[0]!r} (splits: {', '.join(SPLITS)})")
        grids = load_satb(Path(path).expanduser())
        if any(g.ndim != 2 or not len(g) for s in names for g in grids[s]):
            raise InputError(path, "a piece is not a grid of steps by voices")
        return [melody_runs([int(c) - 1 for c in g[:, 0] if c]) for s in names for g in grids[s]]
    return [melody_runs(top_voice(p.score)) for p in load(source).pieces]


def leave_out(pieces: list[Piece], source: str, recorded: list[str] | None = None) -> tuple[list[Piece], list[str]]:
    """(the pieces kept, the sorted ids of those left out): the ids a run `recorded` when it left
    them out, so that its split stays as it was whatever the matcher becomes; without a record,
    the pieces whose melody is one of `source`'s tunes (without_matches)."""
    if recorded is not None:
        gone = set(recorded)
        kept = [p for p in pieces if p.id not in gone]
    else:
        kept = without_matches(pieces, source)
    ids = {p.id for p in kept}
    return kept, sorted(p.id for p in pieces if p.id not in ids)


def without_matches(pieces: list[Piece], source: str) -> list[Piece]:
    """The pieces whose melody is none of `source`'s tunes (TuneIndex)."""
    if not source:
        return pieces
    index = TuneIndex(excluded_tunes(source))
    return [p for p in pieces if not index.matches(melody_runs(top_voice(p.score)))]


# ---------------------------------------------------------------------------------------------
# lead sheets: tunes with chord symbols, split by tune


def tune_split(piece_id: str) -> str:
    """'train', 'valid' or 'test' for a tune's (or a song's) id, whatever folder it was read
    from: the first 8 hex digits of the SHA-1 of the id without its folder ("jigs.abc#3" of
    "../shared/data/nottingham-abc:jigs.abc#3") as a number, modulo 100: below 85 train, below 90
    valid, else test (TUNE_SPLIT_PERCENT)."""
    name = piece_id.rsplit(":", 1)[-1]
    bucket = int(hashlib.sha1(name.encode()).hexdigest()[:8], 16) % 100
    train, valid, _ = TUNE_SPLIT_PERCENT
    return "train" if bucket < train else "valid" if bucket < train + valid else "test"


def lead_sheets(
    source: str, progress: Callable[[int, int], None] | None = None
) -> tuple[dict[str, list[Piece]], list[str]]:
    """({split: tunes with chord symbols}, one line per file skipped or tune without chords): the
    lead sheets of a folder, file or corpus, each in its tune_split. A tune book may hold one
    tune twice (the Nottingham files do, under two titles): a valid or test tune whose melody a
    train tune has too (melody_print: the same notes, in any key) is left out."""
    data = load(source, progress=progress)
    splits: dict[str, list[Piece]] = {s: [] for s in TUNE_SPLITS}
    skipped = list(data.skipped)
    for piece in data.pieces:
        if not piece.score.chords:
            skipped.append(f"{piece.id}: no chord symbols")
        elif not any(p.notes and not p.is_drum for p in piece.score.parts):
            skipped.append(f"{piece.id}: no melody")
        else:
            splits[tune_split(piece.id)].append(piece)
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
