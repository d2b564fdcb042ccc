"""The assistant's commands, `cadenza harmonize` and `cadenza infill`, and the rule options every
generating command takes (registered on cadenza.cli's app)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from cadenza.cli.common import (
    EXPRESSIVENESS,
    FIXED_CELLS,
    FIXES,
    FORMATS_HELP,
    PERFORMER,
    RANGES,
    SCALE,
    TUNE,
    about_file,
    bar_range,
    output_stems,
    performing,
    pick_seed,
    read_piece,
    record_rules,
    rules_from_options,
    say,
    seeds_text,
    settings_and_record,
    with_config_options,
)
from cadenza.compose.settings import GibbsSettings

DEFAULT_HARMONIZE_MODEL = "chorales"  # a melody in a meter it does not know goes to the orderless "harmonizer"


def register(app: typer.Typer) -> None:
    app.command()(harmonize)
    app.command()(infill)


@with_config_options({"gibbs": GibbsSettings}, skip=("seed",))
def harmonize(
    melody: Path = typer.Argument(..., help="a melody: MIDI, MusicXML, ABC or kern"),
    model: Optional[str] = typer.Option(
        None,
        help="a causal voices model (harmonizes by particles) or an orderless one such as harmonizer (by Gibbs "
        f"sampling; the Gibbs options are for it): name or folder [default: {DEFAULT_HARMONIZE_MODEL}; a meter it "
        "does not know: harmonizer]",
        show_default=False,
    ),
    voices: int = typer.Option(4, help="number of voices, 2 to 4, the melody on top"),
    track: Optional[int] = typer.Option(None, help="harmonize the top line of this part (1 = first)"),
    seed: Optional[int] = typer.Option(None, help="random seed [default: random, printed]; alternative i uses seed+i"),
    n: int = typer.Option(1, "--n", help="number of different harmonizations"),
    free_cadences: bool = typer.Option(
        False, "--free-cadences", help="do not plan tonic/dominant chords under phrase ends"
    ),
    ignore_chords: bool = typer.Option(
        False,
        "--ignore-chords",
        help="let the model choose the harmony under a melody with chord symbols, which are then left out of the "
        "score (by default they are followed: each one's bass where it starts, its tones on each beat it holds)",
    ),
    scale: Optional[str] = SCALE,
    range_: list[str] = RANGES,
    fix: list[str] = FIXES,
    fixed_cells: Optional[Path] = FIXED_CELLS,
    formats: str = typer.Option(
        "mid,musicxml,wav,png",
        help=FORMATS_HELP,
    ),
    performer: str = PERFORMER,
    expressiveness: float = EXPRESSIVENESS,
    out: Optional[str] = typer.Option(None, help="output stem [default: out/MELODY-harmonized-seedN]"),
    force: bool = typer.Option(False, help="overwrite existing outputs"),
    tune_number: Optional[int] = TUNE,
    quiet: bool = typer.Option(False),
    settings: dict = None,  # type: ignore[assignment]
):
    """Harmonize a melody in two to four voices, the melody unchanged on top."""
    from cadenza.compose import harmonizer as assistant
    from cadenza.errors import OptionError
    from cadenza.render import check_outputs, parse_formats, write_outputs

    fmts = parse_formats(formats, out)
    performing(performer, expressiveness, 0)  # checks the options before any work
    if n < 1:
        raise OptionError(f"--n must be at least 1, not {n}")
    gibbs, recorded = settings_and_record(GibbsSettings, settings)
    score = read_piece(melody, quiet, tune_number)
    h = assistant.load(model or DEFAULT_HARMONIZE_MODEL)
    if model is None and not h.takes_meter(score.meter):
        # the chorale model knows the meters of its data; the orderless model takes any
        h = assistant.load("harmonizer")
        if not quiet:
            say(
                f"{melody}: the {DEFAULT_HARMONIZE_MODEL} model does not know {score.meter}; "
                "harmonized by the orderless harmonizer"
            )
    rules = rules_from_options(scale, range_, fix, fixed_cells, h.voice_names)
    seed = pick_seed(seed)
    stems = output_stems(out, lambda i: f"{melody.stem}-harmonized-seed{seed + i}", n)
    check_outputs(stems, fmts, force, performing(performer, expressiveness, seed))
    with about_file(melody):
        results = h.harmonize(
            score,
            voices=voices,
            temperature=gibbs.temperature,
            seed=seed,
            n=n,
            track=track,
            rules=rules,
            cadences=not free_cadences,
            iterations=gibbs.iterations,
            source=str(melody),
            gibbs=gibbs,
            chords=not ignore_chords,
        )
    if not quiet:
        if score.chords and not ignore_chords:
            n_chords = len(score.chords)
            say(f"{melody}: following its chord symbols ({n_chords} as played; --ignore-chords lets the model choose)")
        for fixed in results[0].info.get("fixed_notes_off_the_chord_symbols", []) if results else []:
            say(f"{melody}: the fixed {fixed} is off the chord symbol there; the fixed note wins")
        alike = max(r.info.get("repeats_sung_alike", 0) for r in results)
        if alike:
            which = "its repeat" if alike == 1 else f"each of its {alike} repeats"
            say(f"{melody}: singing {which} the same both times")
        keys = sorted({str(r.info["key"]) for r in results if r.info.get("key")})  # the key read from the melody
        say(f"model {h.name}, {seeds_text(seed, n)}" + (f", in {' / '.join(keys)}" if keys else ""))
    for i, (stem, r) in enumerate(zip(stems, results)):
        record = {
            "command": "harmonize",
            "melody": str(melody),
            "model": h.name,
            "model_dir": str(h.directory),
            "voices": voices,
            "track": track,
            **(recorded if h.composer is None else {"sampler": "particles"}),  # Gibbs settings: orderless only
            "free_cadences": free_cadences,
            "ignore_chords": ignore_chords,
            **record_rules(scale, range_, fix, fixed_cells),
            **r.info,
            "formats": list(fmts),
        }
        for p in write_outputs(r.score, stem, fmts, record, force, performing(performer, expressiveness, seed + i)):
            typer.echo(str(p))


@with_config_options({"gibbs": GibbsSettings}, skip=("seed",))
def infill(
    piece: Path = typer.Argument(..., help="a piece in four parts (one voice each): MIDI, MusicXML, ABC or kern"),
    bars: str = typer.Option(..., help="the region to rewrite, e.g. 5-8 (bars count from 1)"),
    voices_: Optional[str] = typer.Option(None, "--voices", help="comma list of voices to rewrite [default: all]"),
    model: str = typer.Option("harmonizer", help="an orderless model (name or folder)"),
    seed: Optional[int] = typer.Option(None, help="random seed [default: random, printed]"),
    n: int = typer.Option(1, "--n", help="number of alternatives"),
    scale: Optional[str] = SCALE,
    range_: list[str] = RANGES,
    fix: list[str] = FIXES,
    fixed_cells: Optional[Path] = FIXED_CELLS,
    formats: str = typer.Option("mid,musicxml,wav,png"),
    performer: str = PERFORMER,
    expressiveness: float = EXPRESSIVENESS,
    out: Optional[str] = typer.Option(None, help="output stem [default: out/PIECE-infill-seedN]"),
    force: bool = typer.Option(False),
    tune_number: Optional[int] = TUNE,
    quiet: bool = typer.Option(False),
    settings: dict = None,  # type: ignore[assignment]
):
    """Rewrite a region (bars, voices) of a piece; everything outside it stays as it is."""

    from cadenza.compose import harmonizer as assistant
    from cadenza.errors import OptionError
    from cadenza.render import check_outputs, parse_formats, write_outputs

    fmts = parse_formats(formats, out)
    performing(performer, expressiveness, 0)  # checks the options before any work
    region = bar_range(bars)
    if n < 1:
        raise OptionError(f"--n must be at least 1, not {n}")
    gibbs, recorded = settings_and_record(GibbsSettings, settings)
    score = read_piece(piece, quiet, tune_number)
    h = assistant.load(model)
    rules = rules_from_options(scale, range_, fix, fixed_cells, h.voice_names)
    chosen = [v.strip() for v in voices_.split(",") if v.strip()] if voices_ else None
    seed = pick_seed(seed)
    stems = output_stems(out, lambda i: f"{piece.stem}-infill-seed{seed + i}", n)
    check_outputs(stems, fmts, force, performing(performer, expressiveness, seed))
    with about_file(piece):
        results = h.infill(
            score,
            region,
            chosen,
            temperature=gibbs.temperature,
            seed=seed,
            n=n,
            rules=rules,
            iterations=gibbs.iterations,
            source=str(piece),
            gibbs=gibbs,
        )
    if not quiet:
        if score.chords:
            say(f"{piece}: writing under its chord symbols ({len(score.chords)} as played)")
        say(f"model {h.name}, {seeds_text(seed, n)}")
    for i, (stem, r) in enumerate(zip(stems, results)):
        record = {
            "command": "infill",
            "piece": str(piece),
            "bars": list(region),
            "voices": chosen,
            "model": h.name,
            **recorded,
            **record_rules(scale, range_, fix, fixed_cells),
            **r.info,
            "formats": list(fmts),
        }
        for p in write_outputs(r.score, stem, fmts, record, force, performing(performer, expressiveness, seed + i)):
            typer.echo(str(p))
