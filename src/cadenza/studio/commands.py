"""The API's commands are the command line's: a JSON object of options becomes the argument
list of `cadenza COMMAND`, checked against that command's own options (read from the CLI, so
the two never drift apart). What would touch the server's files is the server's to say: the
output stem, overwriting, the formats, and any option that names a path; a model is named, not
given as a folder."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from cadenza.arrange.styles import BUILTIN_STYLES
from cadenza.data.corpus import CORPORA
from cadenza.errors import OptionError

# commands the API offers, and whether each reads a piece
COMMANDS = {
    "generate": False,
    "continue": True,
    "harmonize": True,
    "infill": True,
    "perform": True,
    "analyze": True,
    "evaluate": True,  # reads several pieces (and a built-in corpus as the reference)
    "chords": True,
    "arrange": True,
}
# a new version of the piece it reads (the history), rather than new pieces
EDITS = {"infill", "perform"}
SERVER_OWNED = {"out", "force", "quiet", "formats", "tune", "help"}
FORMATS = {
    "generate": "mid,musicxml,abc,wav,cover",
    "continue": "mid,musicxml,wav,cover",
    "harmonize": "mid,musicxml,wav,cover",
    "infill": "mid,musicxml,wav,cover",
    "perform": "mid,wav",
    "chords": "mid,musicxml,abc,wav,cover",
    "arrange": "mid,musicxml,wav,cover",
}


MAX_OPTIONS_CHARS = 20_000


@dataclass(frozen=True)
class Option:
    flag: str  # --bars
    is_flag: bool  # --allow-parallels: no value
    off: str | None  # --no-drums: the flag that turns it off, where there is one
    multiple: bool  # --range a --range b
    kind: str  # int, float, str, bool


@cache
def options_of(command: str) -> dict[str, Option]:
    """{name with underscores: Option} of `cadenza COMMAND`, but the server-owned ones and those
    that take a path. Kinds come from the command function's annotations."""
    import inspect
    import pathlib
    import typing

    import typer

    from cadenza.cli import analyze, arrange, assistant, chords, compose, evaluate, perform

    app = typer.Typer()
    for module in (compose, assistant, perform, analyze, evaluate, chords, arrange):
        module.register(app)
    group = typer.main.get_command(app)
    cmd = group.commands[command]  # type: ignore[attr-defined]
    annotations = typing.get_type_hints(inspect.unwrap(cmd.callback))
    out = {}
    for p in cmd.params:
        long = next((o for o in p.opts if o.startswith("--")), None)
        if p.name is None or long is None or long[2:] in SERVER_OWNED:
            continue
        hint = annotations.get(p.name, str)
        inner = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
        base = inner[0]
        base = (typing.get_args(base) or [base])[0] if typing.get_origin(base) is list else base
        if base is pathlib.Path:
            continue
        kind = {int: "int", float: "float", bool: "bool"}.get(base, "str")
        off = next((o for o in getattr(p, "secondary_opts", []) if o.startswith("--")), None)
        out[long[2:].replace("-", "_")] = Option(
            long, bool(getattr(p, "is_flag", False)), off, bool(getattr(p, "multiple", False)), kind
        )
    return out


def argv(command: str, options: dict, models: set[str]) -> list[str]:
    """The arguments after `cadenza COMMAND` for these options (names with dashes or
    underscores). Raises OptionError, in one sentence, for an option the command does not take
    here or a value of the wrong type."""
    if command not in COMMANDS:
        raise OptionError(f"no command {command!r}; the API offers {', '.join(COMMANDS)}")
    known = options_of(command)
    args: list[str] = []
    if len(str(options)) > MAX_OPTIONS_CHARS:
        raise OptionError(f"the options are too long ({len(str(options))} characters; at most {MAX_OPTIONS_CHARS})")
    for name, value in options.items():
        key = name.replace("-", "_")
        if key not in known:
            raise OptionError(
                f"{command} takes no option {name!r} here; it takes "
                + ", ".join(sorted(k.replace("_", "-") for k in known))
            )
        opt = known[key]
        if key in ("model", "chords_model", "harmonizer") and value is not None and str(value) not in models:
            raise OptionError(f"no model named {value!r}; available: {', '.join(sorted(models))}")
        if key == "chords" and _names_a_file(str(value)):
            raise OptionError(f"--chords {value!r} reads like a file's name; give chord symbols between '|', or auto")
        if command == "arrange" and key == "style" and str(value).lower() not in BUILTIN_STYLES:
            raise OptionError(f"the style must be a built-in one here: {', '.join(BUILTIN_STYLES)}, not {value!r}")
        if command == "evaluate" and key == "baseline":
            raise OptionError("evaluate takes no option 'baseline' here (it names folders on the server)")
        if command == "evaluate" and key == "reference" and str(value) not in CORPORA:
            raise OptionError(f"the reference must be a built-in corpus here: {', '.join(CORPORA)}, not {value!r}")
        if isinstance(value, list) and not opt.multiple:  # a comma list on the command line (infill --voices)
            if opt.kind != "str" or not all(isinstance(v, str) for v in value):
                raise OptionError(f"option {name!r} takes one value, not a list")
            value = ",".join(value)
        values = value if isinstance(value, list) else [value]
        for v in values:
            if v is None:
                continue
            if opt.is_flag:
                if not isinstance(v, bool):
                    raise OptionError(f"option {name!r} is true or false, not {v!r}")
                if v or opt.off:
                    args.append(opt.flag if v else opt.off)  # type: ignore[arg-type]
                continue
            if isinstance(v, (dict, list)) or (opt.kind in ("int", "float") and isinstance(v, bool)):
                raise OptionError(f"option {name!r} takes a {_kind(opt.kind)}, not {v!r}")
            if opt.kind == "int" and not (
                isinstance(v, int) or (isinstance(v, str) and v.strip().lstrip("-").isdigit())
            ):
                raise OptionError(f"option {name!r} takes a whole number, not {v!r}")
            if opt.kind == "float":
                try:
                    float(v)
                except (TypeError, ValueError):
                    raise OptionError(f"option {name!r} takes a number, not {v!r}") from None
            args += [opt.flag, str(v)]
    return args


def _names_a_file(chords: str) -> bool:
    """Whether generate's --chords would read this as a file (cli.compose: no '|', a suffix)."""
    from pathlib import Path

    text = chords.strip()
    return text != "auto" and "|" not in text and bool(Path(text).suffix) and " " not in text


def _kind(kind: str) -> str:
    return {"int": "whole number", "float": "number", "bool": "true or false"}.get(kind, "text")
