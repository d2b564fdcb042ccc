"""`cadenza analyze`: a piece's form, printed as a musician reads it and written as a plan file
that `cadenza generate --plan` accepts, with a picture of its bar-by-bar self-similarity."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from cadenza.cli.common import TUNE, about_file, output_stems, read_piece

PLAN_FORMATS = ("json", "toml")


def register(app: typer.Typer) -> None:
    app.command()(analyze)


def analyze(
    piece: Path = typer.Argument(
        ..., help="a MIDI, MusicXML, ABC or kern file (of a tune book, the first piece or --tune N)"
    ),
    out: Optional[str] = typer.Option(
        None,
        help="output stem: writes STEM.plan.json and STEM.similarity.png; a FOLDER/ gets PIECE-analysis.* "
        "[default: out/PIECE-analysis]",
    ),
    format_: Optional[str] = typer.Option(
        None, "--format", help="the plan file's format: json or toml [default: json, toml for an --out ending in .toml]"
    ),
    force: bool = typer.Option(False, help="overwrite existing outputs"),
    tune_number: Optional[int] = TUNE,
    quiet: bool = typer.Option(False, help="no messages on stderr"),
):
    """Print a piece's form (sections, phrases, keys, cadences, what returns what) and write it as
    a plan file for `generate --plan`, with a bar-by-bar self-similarity picture (PNG).

    The form is printed as Plan.describe prints a plan, then one line per phrase; the paths of
    the two files written follow. The plan file is the analysis as a recipe (Analysis.recipe):
    every section's key named, and a close heard without a cadence left to be planned."""
    from cadenza.errors import OptionError
    from cadenza.io.files import atomic_write, check_writable, keep_input
    from cadenza.io.pictures import write_similarity
    from cadenza.plan.analyze import analyze as analyze_score
    from cadenza.plan.form import plan_text

    fmt = (format_ or ("toml" if out and out.lower().endswith(".toml") else "json")).strip().lower().lstrip(".")
    if fmt not in PLAN_FORMATS:
        raise OptionError(f"--format {format_!r}: give json or toml")
    if out is not None:  # what names a file we write is not part of the stem
        for tail in (".plan.json", ".plan.toml", ".similarity.png", ".toml"):
            if out.lower().endswith(tail) and len(out) > len(tail):
                out = out[: -len(tail)]
                break
    stem = Path(output_stems(out, lambda i: f"{piece.stem}-analysis", 1)[0])
    plan_path = stem.with_name(f"{stem.name}.plan.{fmt}")
    picture_path = stem.with_name(f"{stem.name}.similarity.png")
    keep_input(piece)
    for p in (plan_path, picture_path):
        check_writable(p, force)
    try:
        stem.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OptionError(f"{stem.parent}: cannot write there ({e.strerror or type(e).__name__})") from None
    score = read_piece(piece, quiet, tune_number)
    with about_file(piece):
        result = analyze_score(score)
    typer.echo(result.describe())
    atomic_write(plan_path, plan_text(result.recipe(), plan_path.suffix).encode(), force=force)
    plan = result.plan
    sections = [(start, s.name) for start, s in zip(plan.starts(), plan.sections)]
    title = f"{score.title or piece.name}: {plan.form()}"
    write_similarity(
        result.similarity, picture_path, sections, [p.start_bar for p in result.phrases], title, force=force
    )
    typer.echo(str(plan_path))
    typer.echo(str(picture_path))
