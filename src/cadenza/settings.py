"""`setting`: a dataclass field that carries the help text (and, where it differs from the
field's name, the flag) the command line shows for it. Config dataclasses declared with it
(the families' training configs, the samplers' settings) are the one place each default is
written; cadenza.cli.common builds the commands' options from them."""

from __future__ import annotations

from dataclasses import field
from typing import Any


def setting(default: Any, help: str, flag: str | None = None) -> Any:
    return field(default=default, metadata={"help": help, **({"flag": flag} if flag else {})})


def flag_of(f: Any) -> str:
    """The command-line flag of a config field: its `flag` metadata, else its name, with dashes."""
    return "--" + f.metadata.get("flag", f.name).replace("_", "-")
