"""`cadenza perform`: play a score as a musician would, into MIDI and audio."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from cadenza.cli.common import (
    EXPRESSIVENESS,
    PERFORMER,
    TUNE,
    about_file,
    bar_range,
    output_stems,
    performing,
    pick_seed,
    read_piece,
    say,
    unplayed,
)


def register(app: typer.Typer) -> None:
    app.command()(perform)


def perform(
    score: Path = typer.Argument(..., help="a MIDI, MusicXML, ABC or kern file (the first piece of a tune book)"),
    performer: str = PERFORMER,
    expressiveness: float = EXPRESSIVENESS,
    bars: Optional[str] = typer.Option(
        None,
        help="perform only these bars, e.g. 1-16 (numbered as notation shows them: after a pickup, bar 1 is the "
        "first full bar)",
    ),
    seed: Optional[int] = typer.Option(
        None, help="random seed of the rules performer's timing and level noise [default: random, printed]"
    ),
    plan: Optional[Path] = typer.Option(
        None,
        help="the plan the piece was written to (a plan file, or the JSON record `generate` wrote beside it), "
        "for its phrases [default: the analyzer finds them]",
    ),
    formats: str = typer.Option("mid,wav", help="comma list of mid (the performance), wav, flac, ogg, png"),
    out: Optional[str] = typer.Option(
        None, help="output stem: writes STEM.mid, STEM.wav and STEM.json [default: out/SCORE-performed]"
    ),
    force: bool = typer.Option(False, help="overwrite existing outputs"),
    tune_number: Optional[int] = TUNE,
    quiet: bool = typer.Option(False, help="no messages on stderr"),
):
    """Perform a score: timing that breathes with the phrases, velocities that shape lines and
    chords, articulation and sustain pedal. STEM.mid is the performance (every note as played),
    STEM.wav its audio."""
    from cadenza.errors import OptionError
    from cadenza.io.files import keep_input
    from cadenza.perform import perform as play
    from cadenza.plan.form import load_plan
    from cadenza.render import check_out_suffix, check_outputs, parse_formats, write_outputs

    fmts = parse_formats(formats)  # a performance: --out played.xml names no notation to write
    check_out_suffix(out)
    if {"musicxml", "mxl"} & set(fmts):
        raise OptionError(
            "a performance has no notation of its own: give mid, wav, flac, ogg or png (the score "
            "you performed is the notation)"
        )
    options = performing(performer, expressiveness, 0)
    region = bar_range(bars) if bars is not None else None
    if region is not None and plan is not None:
        raise OptionError("--plan gives the whole piece's phrases: give it without --bars")
    the_plan = load_plan(plan) if plan is not None else None
    draws = options.performer == "rules"  # the others play a score the same way whatever the seed
    seed = pick_seed(seed) if draws else 0
    stem = output_stems(out, lambda i: f"{score.stem}-performed", 1)[0]
    keep_input(score)  # refused before any work if an output would replace it
    check_outputs([stem], fmts, force)
    piece = read_piece(score, quiet, tune_number)
    with about_file(score):
        if region is not None:
            from cadenza.score import excerpt

            piece = excerpt(piece, *region)
        if the_plan is not None:
            _check_plan_fits(the_plan, piece, plan)
        performance = play(piece, options.performer, seed, options.expressiveness, plan=the_plan, model=options.model)
    if not quiet:
        say(f"performer {performer}, expressiveness {expressiveness:g}" + (f", seed {seed}" if draws else ""))
        skipped = unplayed(score)
        if skipped:
            where = " (counted in the whole file, not only the bars played)" if region is not None else ""
            say(f"{score}: played what it could; not played{where}: {skipped}")
    record = {
        "command": "perform",
        "score": str(score),
        "performer": options.performer,
        **({"model": options.model} if options.performer == "learned" else {}),
        "expressiveness": expressiveness,
        "seed": seed if draws else None,  # none: it draws nothing
        "plan": str(plan) if plan is not None else None,
        "bars": list(region) if region is not None else None,
        "formats": list(fmts),
    }
    for p in write_outputs(performance.to_score(), stem, fmts, record, force):
        typer.echo(str(p))


def _check_plan_fits(the_plan, piece, path) -> None:
    """A plan names the piece's bars and meter: one written for another piece is refused."""
    import math

    from cadenza.errors import InputError
    from cadenza.score import pickup_start

    bar = piece.meter.bar_beats
    bars = math.ceil(piece.end_beats / bar - 1e-6) - (1 if pickup_start(piece) else 0)
    if the_plan.meter and the_plan.meter != str(piece.meter):
        raise InputError(path, f"a plan in {the_plan.meter}, but the piece is in {piece.meter}")
    if not bars - 1 <= the_plan.bars <= bars:  # a last bar a pickup completes may be counted or not
        raise InputError(path, f"a plan of {the_plan.bars} bars, but the piece has {bars}")
