"""The `cadenza` command: the app, its command groups, and the entry point that turns a user's
mistake into one line on stderr and exit status 2."""

from __future__ import annotations

import sys

import typer

from cadenza.cli import assistant, compose, evaluate, tools, train
from cadenza.cli.common import say

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Cadenza: learn music from scores and MIDI, and write new music.",
)

for group in (compose, train, assistant, evaluate, tools):
    group.register(app)


def main() -> None:
    """Entry point: user errors (every CadenzaError) become one line on stderr and exit status 2."""
    from cadenza.errors import CadenzaError

    try:
        app()  # click's standalone mode handles usage errors (exit 2) and --help itself
    except KeyboardInterrupt:
        say("interrupted")
        sys.exit(130)
    except CadenzaError as e:
        from cadenza.train.distributed import rank

        if rank() == 0:  # under torchrun every process meets the same mistake: one says so
            say(f"error: {e}".splitlines()[0])
        sys.exit(2)
