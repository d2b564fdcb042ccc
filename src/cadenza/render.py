"""Writing a piece in every format a musician wants, beside a JSON record of how it was made.

The MIDI and MusicXML hold the score as written (quantized: for notation and for editing in a
DAW). Given a performer (Performing), the audio is rendered from its performance, and, when
MIDI is among the formats, STEM.performed.mid holds that performance: timing, velocities and
pedal as played. A score's chord symbols sound in its audio (cadenza.score.chord_notes), as
they do in its MIDI's chord track.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cadenza.io.files import atomic_write, check_writable
from cadenza.score import Score, with_chords_sounding

FORMATS = ("mid", "musicxml", "mxl", "abc", "wav", "png", "flac", "ogg", "cover")
DEFAULT_FORMATS = ("mid", "musicxml", "wav", "png")
FILE_SUFFIXES = {"cover": "cover.png"}  # a format whose file is not STEM.FORMAT: the cover picture


def output_path(stem: Path, fmt: str) -> Path:
    """The file a format is written to: STEM.mid, STEM.wav ..., STEM.cover.png."""
    return stem.with_name(f"{stem.name}.{FILE_SUFFIXES.get(fmt, fmt)}")


# an --out's suffix -> the format it names (cadenza.cli.common.output_stems strips it off the stem)
SUFFIX_FORMATS = {
    ".mid": "mid",
    ".midi": "mid",
    ".musicxml": "musicxml",
    ".xml": "musicxml",
    ".mxl": "mxl",
    ".abc": "abc",
    ".wav": "wav",
    ".flac": "flac",
    ".ogg": "ogg",
    ".png": "png",
}
# an --out's suffix that names a kind of file cadenza does not write (`--out song.mp3` had written
# song.mp3.mid, song.mp3.wav ...): refused, where a stem such as take.2 or song.final stays a stem
FOREIGN_SUFFIXES = frozenset(
    ".pdf .mp3 .m4a .aac .opus .aif .aiff .mp4 .mscz .mscx .ly .krn .txt .doc .docx .svg .jpg .jpeg .gif".split()
)


def parse_formats(text: str, out: str | None = None) -> tuple[str, ...]:
    """The formats --formats names, and the one an --out such as tune.abc names by its suffix
    (a newcomer's `--out tune.abc` had written everything but ABC)."""
    from cadenza.errors import OptionError

    formats = tuple(dict.fromkeys(f.strip().lstrip(".").lower() for f in text.split(",") if f.strip()))
    if "json" in formats:  # the record is always written (a newcomer named it, as the README lists it)
        formats = tuple(f for f in formats if f != "json")
        if not formats:
            raise OptionError(
                f"--formats json: STEM.json is written beside any format; add one of {', '.join(FORMATS)}"
            )
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise OptionError(f"unknown format {', '.join(bad) or text!r}; choose from {', '.join(FORMATS)}")
    check_out_suffix(out)
    named = SUFFIX_FORMATS.get(out_suffix(out))
    if named and named not in formats:
        formats += (named,)
    return formats


def out_suffix(out: str | None) -> str:
    """The suffix (lower case) by which an --out names a file: '' for none, an existing folder
    (a folder named x.abc), or a hidden file's name (.abc)."""
    root, suffix = os.path.splitext(out or "")
    return suffix.lower() if os.path.basename(root) and not os.path.isdir(out or "") else ""


def check_out_suffix(out: str | None) -> None:
    """Refuse an --out whose suffix names a kind of file cadenza does not write (FOREIGN_SUFFIXES)."""
    from cadenza.errors import OptionError

    if out_suffix(out) in FOREIGN_SUFFIXES:
        raise OptionError(
            f"--out {out}: cadenza does not write {os.path.splitext(out or '')[1]} files; name a stem "
            f"(written as STEM.mid, STEM.musicxml ...) or end it in one of {', '.join(SUFFIX_FORMATS)}"
        )


@dataclass(frozen=True)
class Performing:
    """How the audio and STEM.performed.mid are played (cadenza.perform.perform's options);
    performer "none" plays the score as written and writes no performed MIDI."""

    performer: str = "rules"
    expressiveness: float = 1.0
    seed: int = 0
    plan: Any = None  # the cadenza.plan.form.Plan the piece was written to, for its phrases
    model: str = "performer"  # the learned performer's model (name or folder)

    def writes_performance(self, formats) -> bool:
        """Whether STEM.performed.mid is written: a performer plays, and MIDI is asked for."""
        return self.performer != "none" and "mid" in formats

    def record(self) -> dict:
        played_by = {"model": self.model} if self.performer == "learned" else {}
        return {"performer": self.performer, **played_by, "expressiveness": self.expressiveness, "seed": self.seed}


PERFORMED = "performed.mid"  # the suffix of the performance's MIDI: STEM.performed.mid


def check_outputs(stems, formats, force: bool, performing: Performing | None = None) -> None:
    """Refuse before any work if an output (or its JSON record, or its performed MIDI) exists
    and force is off, or if its folder cannot be made."""
    from cadenza.errors import OptionError

    extra = (PERFORMED,) if performing is not None and performing.writes_performance(formats) else ()
    for stem in stems:
        stem = Path(stem)
        for f in (*formats, *extra, "json"):
            check_writable(output_path(stem, f), force)
        try:
            stem.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OptionError(f"{stem.parent}: cannot write there ({e.strerror or type(e).__name__})") from None


def write_outputs(
    score: Score,
    stem: str | Path,
    formats=DEFAULT_FORMATS,
    record: dict | None = None,
    force: bool = False,
    performing: Performing | None = None,
) -> list[Path]:
    """Write stem.<fmt> for each format and stem.json (the record); with `performing`, the
    audio from a performance and stem.performed.mid beside them. Checks every target first,
    so a refusal to overwrite leaves nothing half written; an interruption or failure part way
    (Ctrl-C while the audio renders) removes the files this call had made new, so that the same
    command runs again without --force (a file it replaced under --force stays replaced)."""
    stem = Path(stem)
    check_outputs([stem], formats, force, performing)
    made: list[Path] = []
    try:
        return _write_outputs(score, stem, formats, record, force, performing, made)
    except BaseException:
        for p in made:
            with contextlib.suppress(OSError):
                p.unlink()
        raise


def _write_outputs(score, stem: Path, formats, record, force: bool, performing, made: list[Path]) -> list[Path]:
    """write_outputs' writing, each file that did not exist before added to `made` once it is whole."""
    targets = [output_path(stem, f) for f in formats]
    json_path = stem.with_name(f"{stem.name}.json")
    played, performed = score, None
    if performing is not None and record is not None:
        record = {**record, "performance": performing.record()}
    if performing is not None and performing.performer != "none":
        from cadenza.io.midi import write_midi
        from cadenza.perform import perform

        performance = perform(
            score,
            performing.performer,
            performing.seed,
            performing.expressiveness,
            plan=performing.plan,
            model=performing.model,
        )
        played = performance.to_score()
        if performing.writes_performance(formats):
            performed = stem.with_name(f"{stem.name}.{PERFORMED}")
            new = not os.path.lexists(performed)
            write_midi(played, performed, force=force)
            if new:
                made.append(performed)
            targets.insert(targets.index(stem.with_name(f"{stem.name}.mid")) + 1, performed)
    for t in targets:
        if performed is not None and t == performed:
            continue
        suffix, new = t.suffix[1:], not os.path.lexists(t)
        if t.name.endswith(".cover.png"):
            from cadenza.io.cover import write_cover

            write_cover(score, t, force=force)
        elif suffix in ("mid", "musicxml", "mxl", "abc"):
            from cadenza.io import write_score

            write_score(score, t, force=force)
        elif suffix in ("wav", "flac", "ogg"):
            from cadenza.io.audio import write_audio

            write_audio(with_chords_sounding(played), t, force=force)
        elif suffix == "png":
            from cadenza.io.pictures import write_piano_roll

            write_piano_roll(score, t, force=force, title=score.title or stem.name)
        if new:
            made.append(t)
    if record is not None:
        new = not os.path.lexists(json_path)
        atomic_write(json_path, (json.dumps(record, indent=2) + "\n").encode(), force=force)
        if new:
            made.append(json_path)
        targets.append(json_path)
    return targets
