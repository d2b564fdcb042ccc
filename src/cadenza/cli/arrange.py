"""`cadenza arrange`: a lead sheet played by a band, in a style whose patterns are data (a TOML file)."""

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
    app.command()(arrange)


def arrange(
    leadsheet: Path = typer.Argument(
        ..., help="a lead sheet: a melody with chord symbols (ABC, MusicXML, MIDI; the first tune of a tune book)"
    ),
    style: str = typer.Option(
        "folk",
        help="folk, waltz, march, ballad, jazz-swing, pop (a piano part played by a model learned from POP909), or a "
        "style file of your own (.toml; see the built-in ones in cadenza/arrange/styles/)",
    ),
    drums: Optional[bool] = typer.Option(
        None, "--drums/--no-drums", help="play the style's drums, or not [default: as the style says]"
    ),
    seed: Optional[int] = typer.Option(
        None, help="random seed, for the variations a style asks for [default: random, printed]"
    ),
    formats: str = typer.Option(
        "mid,musicxml,wav",
        help=FORMATS_HELP,
    ),
    performer: str = PERFORMER,
    expressiveness: float = EXPRESSIVENESS,
    out: Optional[str] = typer.Option(None, help="output stem [default: out/TUNE-STYLE-seedN]"),
    tempo: Optional[str] = typer.Option(
        None, help="quarter notes per minute, or 'style' for the style's own [default: the lead sheet's]"
    ),
    tune_number: Optional[int] = TUNE,
    force: bool = typer.Option(False, help="overwrite existing outputs"),
    quiet: bool = typer.Option(False, help="no messages on stderr"),
):
    """Arrange a lead sheet for a band: the melody on the style's lead instrument, a bass line, a chord
    part (guitar, piano, accordion...) and drums, each a MIDI track and a MusicXML part, the chord symbols
    kept above the staff. A style's patterns are a TOML file: copy a built-in one to make your own."""
    from cadenza.arrange import arrange as arrange_score
    from cadenza.arrange import load_style
    from cadenza.chords import written_text
    from cadenza.errors import OptionError
    from cadenza.render import check_outputs, parse_formats, write_outputs

    fmts = parse_formats(formats, out)
    performing(performer, expressiveness, 0)
    chosen = load_style(style)
    score = read_piece(leadsheet, quiet, tune_number)
    if tempo is not None:
        from dataclasses import replace

        from cadenza.compose.composer import check_tempo
        from cadenza.score import Tempo

        if tempo == "style" and chosen.tempo is None:
            raise OptionError(f"--tempo style: the style {chosen.name} suggests no tempo; give a number")
        try:
            bpm = float(chosen.tempo if tempo == "style" and chosen.tempo is not None else tempo)
        except ValueError:
            raise OptionError(f"--tempo {tempo!r}: expected quarter notes per minute (e.g. 96) or 'style'") from None
        check_tempo(bpm)
        score = replace(score, tempos=[Tempo(0.0, bpm)])
    seed = pick_seed(seed)
    stems = output_stems(out, lambda i: f"{leadsheet.stem}-{chosen.name}-seed{seed + i}", 1)
    check_outputs(stems, fmts, force, performing(performer, expressiveness, seed))
    accompaniment = None
    with about_file(leadsheet):
        if chosen.accompaniment:  # the chord part is a model's (pop)
            from cadenza import hub

            try:
                accompanist = hub.load(chosen.accompaniment, expect="accompaniment")
            except OptionError as e:  # the style file named it: say where
                raise OptionError(f"{chosen.source}: accompaniment = {chosen.accompaniment!r}: {e}") from None
            if score.chords:  # without chord symbols, arrange says so in its own words
                accompaniment = accompanist.accompany(score, seed=seed)
        arranged = arrange_score(score, chosen, seed=seed, drums=drums, accompaniment=accompaniment)
    if not quiet:
        pitched = score.pitched_parts
        if len(pitched) > 1:
            say(f"{leadsheet}: {len(pitched)} parts with notes; the first is the melody, the others are left out")
        hint = ""
        if chosen.tempo is not None and abs(chosen.tempo - score.tempo_bpm) > 0.15 * chosen.tempo:
            hint = f"; tempo {score.tempo_bpm:g} kept (the style suggests {chosen.tempo:g}: --tempo style)"
        parts = ", ".join(f"{p.name} ({'drums' if p.is_drum else f'program {p.program}'})" for p in arranged.parts)
        say(f"style {chosen.name}: {parts}; {seeds_text(seed, 1)}{hint}")
    record = {
        "command": "arrange",
        "leadsheet": str(leadsheet),
        "tune_number": tune_number,
        "style": chosen.name,
        "style_file": chosen.source,
        **({"accompaniment_model": chosen.accompaniment} if chosen.accompaniment else {}),
        "drums": any(p.is_drum for p in arranged.parts),
        "seed": seed,
        "tempo_hint": chosen.tempo,
        "parts": [{"name": p.name, "program": p.program, "is_drum": p.is_drum} for p in arranged.parts],
        "symbols": [[c.start_beats, written_text(c)] for c in arranged.chords],
        "formats": list(fmts),
    }
    for p in write_outputs(arranged, stems[0], fmts, record, force, performing(performer, expressiveness, seed)):
        typer.echo(str(p))
