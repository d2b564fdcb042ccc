"""`cadenza render` and `cadenza models`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    app.command()(render)
    app.command()(models)


def render(
    path: Path = typer.Argument(..., help="a MIDI, MusicXML, ABC or kern file"),
    out: Optional[Path] = typer.Option(None, help="output .wav, .flac, .ogg or .png [default: beside the input, .wav]"),
    force: bool = typer.Option(False),
):
    """Render a file to audio with a General MIDI SoundFont (or to a piano-roll picture)."""
    from cadenza.errors import OptionError
    from cadenza.io import read_score
    from cadenza.io.audio import write_audio
    from cadenza.io.pictures import write_piano_roll

    out = out or path.with_suffix(".wav")
    if out.suffix.lower() not in (".wav", ".flac", ".ogg", ".png"):
        raise OptionError(f"{out}: choose an output ending in .wav, .flac, .ogg or .png")
    score = read_score(path)
    if out.suffix.lower() == ".png":
        write_piano_roll(score, out, force=force, title=path.name)
    else:
        write_audio(score, out, force=force)
    typer.echo(str(out))


def models(
    name: Optional[str] = typer.Argument(None, help="a model's name or folder: show its whole card"),
):
    """List shipped and your own models; with a NAME, show that model's card."""
    from rich.console import Console
    from rich.table import Table

    from cadenza.errors import OptionError
    from cadenza.families import of_meta
    from cadenza.hub import find_model, list_models, model_dirs

    if name is not None:
        path = find_model(name)
        card = path / "card.md"
        if not card.exists():
            raise OptionError(f"{path}: this model has no card (card.md); `cadenza train` writes one")
        typer.echo(card.read_text().rstrip())
        return
    skipped: list[str] = []
    found = list_models(skipped)
    for problem in skipped:  # a folder of the model folders that is no Cadenza model: said, not fatal
        typer.echo(f"skipped {problem}", err=True)
    table = Table(title="Cadenza models")
    for col in ("name", "family", "writes", "grid", "params", "valid loss", "trained on"):
        table.add_column(col)
    shown = []
    for path, meta in found:
        family = of_meta(meta, str(path / "model.json"))
        try:
            writes, grid, loss = family.load().describe(meta)
        except (KeyError, TypeError, ValueError, AttributeError) as e:  # a model.json missing what its family records
            typer.echo(
                f"skipped {path / 'model.json'}: not a whole {family.name} model.json ({type(e).__name__})", err=True
            )
            continue
        shown.append((path, meta))
        table.add_row(
            path.name,
            family.name,
            writes,
            grid,
            f"{meta.get('params', 0) / 1e6:.2f}M",
            loss,
            _data_names(meta.get("train", {}).get("data")),
        )
    # a terminal's own width; piped, 120 columns (a newcomer's table had run to 160 and cut the folders)
    Console(width=None if sys.stdout.isatty() else 120).print(table)
    if not shown:
        typer.echo("no models found in: " + ", ".join(str(d) for d in model_dirs()))
    else:
        for folder in dict.fromkeys(path.parent for path, _ in shown):
            typer.echo(f"in {folder}: {', '.join(p.name for p, _ in shown if p.parent == folder)}")
        typer.echo(
            "`cadenza models NAME` shows a model's card: its data and license, how it was trained, what it measured."
        )


def _data_names(data: str | None) -> str:
    """What a model was trained on, as `cadenza models` lists it: corpus names as given, a
    folder or file by its own name (../shared/data/asap: asap)."""
    if not data:
        return "?"
    return ", ".join(Path(d).name.removesuffix(".json.gz") or d for d in str(data).split(","))
