"""What the command modules share: messages, seeds, progress bars, and the rule options every
generating command takes."""
from __future__ import annotations

import random
from typing import Optional

import typer


def say(message: str) -> None:
    typer.echo(message, err=True)


def pick_seed(seed: Optional[int]) -> int:
    return seed if seed is not None else random.SystemRandom().randrange(2**31)


def alternative_stems(base: str, n: int) -> list[str]:
    """Output stems for n alternatives: BASE alone, or BASE-1 .. BASE-n."""
    return [f"{base}-{i + 1}" if n > 1 else base for i in range(n)]


def progress_bar(quiet: bool):
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    console = Console(stderr=True)
    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
                    console=console, disable=quiet or not console.is_terminal, transient=False)


SCALE = typer.Option(None, "--scale", help="keep every written note in this key's scale, e.g. 'D minor'")
RANGES = typer.Option([], "--range", help="a voice's range, e.g. alto=G3-C5 (repeatable)")
FIXES = typer.Option([], "--fix", help="a fixed note BAR:BEAT:VOICE=PITCH, or =PITCH/BEATS for its length, "
                                         "e.g. 3:1:bass=D3/2 (repeatable)")
FIXED_CELLS = typer.Option(None, "--fixed-cells", help='JSON file: [{"bar": 3, "beat": 1, "voice": "bass", '
                                                       '"pitch": "D3", "beats": 1}, ...]')


def rules_from_options(scale, ranges, fixes, fixed_cells, names):
    from cadenza.rules import build_rules

    return build_rules(scale, list(ranges), list(fixes), fixed_cells, names)


def record_rules(scale, ranges, fixes, fixed_cells) -> dict:
    return {"scale": scale, "ranges": list(ranges), "fix": list(fixes),
            "fixed_cells": str(fixed_cells) if fixed_cells else None}


