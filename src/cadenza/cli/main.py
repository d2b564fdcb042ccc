"""The `cadenza` command: the app, its command groups, and the entry point that turns a user's
mistake into one line on stderr and exit status 2."""

from __future__ import annotations

import sys

import typer

from cadenza.cli import (
    analyze,
    arrange,
    assistant,
    chords,
    compose,
    evaluate,
    perform,
    plan,
    radio,
    studio,
    tools,
    train,
)
from cadenza.cli.common import say

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: no boxes, no <bool> after flags
    help="Cadenza: learn music from scores and MIDI, and write new music.",
)

for group in (compose, train, assistant, chords, arrange, perform, evaluate, tools, analyze, plan, studio, radio):
    group.register(app)


def _plain_usage(command) -> None:
    """Name each command's arguments in capitals in usage lines (PROMPT, not typer's {prompt})."""
    from typer.core import TyperArgument

    for param in getattr(command, "params", []):
        if isinstance(param, TyperArgument):
            name = (param.name or "").upper()
            param.metavar = name
            param._usage_display_name = lambda name=name: name  # type: ignore[method-assign,misc]
    for sub in getattr(command, "commands", {}).values():
        _plain_usage(sub)


def main(argv: list[str] | None = None) -> None:
    """Entry point: a usage mistake or any CadenzaError becomes one line on stderr and exit
    status 2; Ctrl-C says so and exits 130."""
    from typer._click import exceptions as click  # typer vendors click (pinned in constraints.txt)

    from cadenza.errors import CadenzaError

    command = typer.main.get_command(app)
    _plain_usage(command)
    try:
        status = command.main(args=argv, prog_name="cadenza", standalone_mode=False)
        # typer returns Ctrl-C (as 130) and a command's typer.Exit as the status instead of raising
        if status == 130:
            say("interrupted")
        if isinstance(status, int) and status:
            sys.exit(status)
    except click.NoArgsIsHelpError as e:  # `cadenza` or `cadenza baseline` alone: show help
        typer.echo(e.ctx.get_help())
    except click.UsageError as e:
        where = e.ctx.command_path if e.ctx else "cadenza"
        say(f"error: {where}: {e.format_message().splitlines()[0].rstrip('.')} (see {where} --help)")
        sys.exit(2)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        say("interrupted")
        sys.exit(130)
    except CadenzaError as e:
        from cadenza.train.distributed import rank

        if rank() == 0:  # under torchrun every process meets the same mistake: one says so
            say(f"error: {e}".splitlines()[0])
        sys.exit(2)
