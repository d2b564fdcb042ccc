"""Files <-> Score, chosen by suffix.

    read_score(path)          the first (or only) piece in a file
    read_scores(path)         every piece (an ABC file may hold hundreds of tunes)
    write_score(score, path)  .mid/.midi, .musicxml/.xml, .mxl (compressed MusicXML) or .abc

MIDI goes through symusic and mido (cadenza.io.midi); MusicXML, ABC and kern are read through
music21 (cadenza.io.scores), imported only when such a file is met; MusicXML and ABC are
written directly (cadenza.io.musicxml, cadenza.io.abc). Every failure to read is an
InputError whose message is one line naming the file.
"""

from __future__ import annotations

from pathlib import Path

from cadenza.errors import InputError, OptionError
from cadenza.score import Score

MIDI_SUFFIXES = (".mid", ".midi")
SUFFIXES = MIDI_SUFFIXES + (".musicxml", ".xml", ".mxl", ".abc", ".krn")  # what read_score reads
WRITE_SUFFIXES = MIDI_SUFFIXES + (".musicxml", ".xml", ".mxl", ".abc")  # what write_score writes


def read_scores(path: str | Path) -> list[Score]:
    """Every piece in a MIDI, MusicXML, ABC or kern file, chosen by suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if path.is_dir():
        raise InputError(path, "is a folder, not a file")
    if suffix not in SUFFIXES:
        what = f"'{suffix}' files" if suffix else "files without a suffix"
        raise InputError(path, f"cannot read {what}; cadenza reads {', '.join(SUFFIXES)}")
    if not path.is_file():
        raise InputError(path, "not a regular file (a device or a pipe?)" if path.exists() else "no such file")
    if suffix in MIDI_SUFFIXES:
        from cadenza.io.midi import read_midi

        return [read_midi(path)]
    from cadenza.io.scores import read_with_music21

    return read_with_music21(path)


def read_score(path: str | Path) -> Score:
    """The first (or only) piece in a MIDI, MusicXML, ABC or kern file."""
    return read_scores(path)[0]


def require_pitched(score: Score, path: str | Path) -> Score:
    """`score` when it has pitched notes (what continuing, harmonizing and rewriting need); a
    piece of drums alone is refused."""
    if not any(p.notes for p in score.parts):
        raise InputError(path, "no notes" + (" (only chord symbols)" if score.chords else ""))
    if all(p.is_drum for p in score.parts if p.notes):
        raise InputError(path, "only drums, no pitched notes (every note is on channel 10)")
    return score


def write_score(score: Score, path: str | Path, force: bool = False) -> Path:
    """Write `score` as MIDI (.mid, .midi), MusicXML (.musicxml, .xml; .mxl compressed) or ABC
    (.abc), atomically.

    Raises OptionError for another suffix and OutputExistsError if `path` exists and not `force`.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in MIDI_SUFFIXES:
        from cadenza.io.midi import write_midi

        return write_midi(score, path, force=force)
    if suffix == ".abc":
        from cadenza.io.abc import write_abc

        return write_abc(score, path, force=force)
    if suffix == ".mxl":
        from cadenza.io.musicxml import write_mxl

        return write_mxl(score, path, force=force)
    if suffix in WRITE_SUFFIXES:
        from cadenza.io.musicxml import write_musicxml

        return write_musicxml(score, path, force=force)
    what = f"'{suffix}' files" if suffix else "files without a suffix"
    raise OptionError(f"{path}: cannot write {what}; use {', '.join(WRITE_SUFFIXES)}")
