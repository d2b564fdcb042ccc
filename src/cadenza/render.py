"""Writing a piece in every format a musician wants, beside a JSON record of how it was made."""

from __future__ import annotations

import json
from pathlib import Path

from cadenza.io.files import atomic_write, check_writable
from cadenza.score import Score

FORMATS = ("mid", "musicxml", "wav", "png", "flac", "ogg")
DEFAULT_FORMATS = ("mid", "musicxml", "wav", "png")


def parse_formats(text: str) -> tuple[str, ...]:
    from cadenza.errors import OptionError

    formats = tuple(dict.fromkeys(f.strip().lstrip(".").lower() for f in text.split(",") if f.strip()))
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise OptionError(f"unknown format {', '.join(bad) or text!r}; choose from {', '.join(FORMATS)}")
    return formats


def check_outputs(stems, formats, force: bool) -> None:
    """Refuse before any work if an output (or its JSON record) exists and force is off, or if
    its folder cannot be made."""
    from cadenza.errors import OptionError

    for stem in stems:
        stem = Path(stem)
        for f in (*formats, "json"):
            check_writable(stem.with_name(f"{stem.name}.{f}"), force)
        try:
            stem.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OptionError(f"{stem.parent}: cannot write there ({e.strerror or type(e).__name__})") from None


def write_outputs(
    score: Score, stem: str | Path, formats=DEFAULT_FORMATS, record: dict | None = None, force: bool = False
) -> list[Path]:
    """Write stem.<fmt> for each format and stem.json (the record). Checks every target first,
    so a refusal to overwrite leaves nothing half written."""
    stem = Path(stem)
    targets = [stem.with_name(f"{stem.name}.{f}") for f in formats]
    json_path = stem.with_name(f"{stem.name}.json")
    check_outputs([stem], formats, force)
    for t in targets:
        suffix = t.suffix[1:]
        if suffix in ("mid", "musicxml"):
            from cadenza.io import write_score

            write_score(score, t, force=force)
        elif suffix in ("wav", "flac", "ogg"):
            from cadenza.io.audio import write_audio

            write_audio(score, t, force=force)
        elif suffix == "png":
            from cadenza.io.pictures import write_piano_roll

            write_piano_roll(score, t, force=force, title=score.title or stem.name)
    if record is not None:
        atomic_write(json_path, (json.dumps(record, indent=2) + "\n").encode(), force=force)
        targets.append(json_path)
    return targets
