"""`cadenza chords`: chord symbols for a melody, as a lead sheet has them."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from cadenza.cli.common import (
    EXPRESSIVENESS,
    FORMATS_HELP,
    PERFORMER,
    TUNE,
    about_file,
    output_stems,
    performing,
    pick_seed,
    read_piece,
    say,
    seeds_text,
)


def register(app: typer.Typer) -> None:
    app.command()(chords)


def chords(
    tune: Path = typer.Argument(..., help="a melody: ABC, MusicXML, MIDI or kern (the first tune of a tune book)"),
    model: str = typer.Option(
        "leadsheet", help="a chords model, or a leadsheet model (its chords part), by name or folder"
    ),
    track: Optional[int] = typer.Option(None, help="the part that holds the melody (1 = first) [default: the first]"),
    seed: Optional[int] = typer.Option(None, help="random seed [default: random, printed]; alternative i uses seed+i"),
    n: int = typer.Option(
        1, "--n", help="number of chordings: the first is the likeliest, the others are drawn (seed+1, seed+2, ...)"
    ),
    formats: str = typer.Option(
        "mid,musicxml,abc,wav",
        help=FORMATS_HELP,
    ),
    performer: str = PERFORMER,
    expressiveness: float = EXPRESSIVENESS,
    out: Optional[str] = typer.Option(None, help="output stem [default: out/TUNE-chords-seedN]"),
    tune_number: Optional[int] = TUNE,
    force: bool = typer.Option(False, help="overwrite existing outputs"),
    quiet: bool = typer.Option(False, help="no messages on stderr"),
):
    """Write a tune with chord symbols under its melody, one or two a bar as the model's lead sheets have them.
    The MIDI gets a Chords track, the MusicXML chord symbols above the staff, the ABC chords in quotes."""
    from cadenza import hub
    from cadenza.chords import written_text
    from cadenza.errors import OptionError
    from cadenza.render import check_outputs, parse_formats, write_outputs

    fmts = parse_formats(formats, out)
    performing(performer, expressiveness, 0)
    if n < 1:
        raise OptionError(f"--n must be at least 1, not {n}")
    if track is not None and track < 1:
        raise OptionError(f"--track counts from 1, not {track}")
    score = read_piece(tune, quiet, tune_number)
    chorder = hub.load(model, expect="chords")
    seed = pick_seed(seed)
    stems = output_stems(out, lambda i: f"{tune.stem}-chords-seed{seed + i}", n)
    check_outputs(stems, fmts, force, performing(performer, expressiveness, seed))
    with about_file(tune):
        results = chorder.chords_for(score, n=n, seed=seed, part=None if track is None else track - 1)
    if not quiet:
        replaced = f"; its {len(score.chords)} chord symbols replaced" if score.chords else ""
        say(f"model {chorder.name}, {seeds_text(seed, n)}{replaced}")
    for i, (stem, r) in enumerate(zip(stems, results)):
        record = {
            "command": "chords",
            "tune": str(tune),
            "tune_number": tune_number,
            "model": chorder.name,
            "model_dir": str(chorder.directory),
            "track": track,
            **r.info,
            "symbols": [[c.start_beats, written_text(c)] for c in r.score.chords],
            "formats": list(fmts),
        }
        for p in write_outputs(r.score, stem, fmts, record, force, performing(performer, expressiveness, seed + i)):
            typer.echo(str(p))
