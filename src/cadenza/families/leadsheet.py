"""The leadsheet family: a lead sheet is a melody with chord symbols, written by two models
trained on the same tunes and kept in one folder:

- OUT/melody: a one-voice melody model (the voices family), with the plan model fitted on the
  same tunes (planner.json), so that `generate --model leadsheet` follows a form;
- OUT/chords: a chords model (the chords family), which writes the chord symbols under it;
- OUT/model.json names the two parts; OUT/card.md states both.

`cadenza train --family leadsheet --data TUNES --out OUT` trains the melody, then the chords,
then fits the plan model: each part is an ordinary run of its family, with the family defaults
below, so `--resume` continues whichever part was interrupted. `--steps`, `--minutes`, `--seed`
and `--eval-every` apply to both parts; a `--config` TOML file may set any other setting of a
part in a `[melody]` or `[chords]` table (e.g. `[melody]` `embd = 128`).

Loaded by name, a bundle is used as the part a command asks for (cadenza.hub.load): `generate`
gets the melody model and chords its melody with the chords model; `cadenza chords` gets the
chords model.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from cadenza.errors import OptionError
from cadenza.settings import setting

RECORD = "leadsheet.json"  # the bundle's run: its settings, written before the parts train
PARTS = {"melody": "voices", "chords": "chords"}  # part folder: its family
# each part's own settings, where they differ from its family's defaults: the melody model has the
# shipped folk model's shape (models/folk/card.md), with more dropout for a smaller corpus; the
# chords model trains with the dropout the shipped chords model was trained with
PART_DEFAULTS: dict[str, dict[str, Any]] = {
    "melody": {
        "n_voices": 1,
        "steps_per_beat": 4,
        "programs": (73,),
        "block_size": 384,
        "n_layer": 4,
        "n_head": 4,
        "n_embd": 192,
        "batch_size": 16,
        "lr": 1.5e-3,
        "dropout": 0.2,
    },
    "chords": {"dropout": 0.3},
}
SHARED = ("data", "steps", "minutes", "seed", "eval_every")  # the settings both parts take from the bundle's


@dataclass
class Config:
    """A leadsheet run: the settings both parts share; each part's own come from PART_DEFAULTS
    and a --config file's [melody] and [chords] tables."""

    data: str = setting("", "lead sheets with chord symbols: a folder or file (ABC, MusicXML), or a corpus name")
    steps: int = setting(0, "exact number of optimizer steps (reproducible); 0 = use --minutes")
    minutes: float = setting(10.0, "training time budget (ignored with --steps)")
    seed: int = setting(0, "random seed")
    eval_every: int = setting(200, "validate every this many steps (and at the end)")


def split_tables(values: dict) -> tuple[dict, dict[str, dict]]:
    """(the shared settings, {part: its table}) of a --config file's values."""
    tables = {name: values[name] for name in PARTS if isinstance(values.get(name), dict)}
    return {k: v for k, v in values.items() if k not in tables}, tables


def part_config(cfg: Config, name: str, table: dict, source: str = "--config"):
    """The config of part `name` (a RunConfig of its family): PART_DEFAULTS, then the part's
    table of the --config file `source`, then the shared settings; every value checked by the
    part's family (a mistake in the table named by its file and table)."""
    from cadenza import families
    from cadenza.cli.common import config_from
    from cadenza.data.leadsheets import measured_on

    family = families.by_name(PARTS[name])
    for k in table:
        if k in SHARED:
            raise OptionError(f"[{name}] {k}: it is set for both parts; give it outside the [{name}] table")
    given = {**{k: v for k, v in PART_DEFAULTS[name].items() if k not in table}, **{k: getattr(cfg, k) for k in SHARED}}
    measured = [d.strip() for d in cfg.data.split(",") if measured_on(d)]
    if name == "melody" and measured and "exclude" not in table:  # the tunes the benchmarks measure on stay out
        given["exclude"] = ",".join(f"{d}:test" for d in measured)
    return config_from(family.load().Config, f"{name} part of the leadsheet", table, given, f"{source} [{name}]")


def read_record(out: Path) -> dict | None:
    path = out / RECORD
    if not path.exists():
        return None
    from cadenza.errors import InputError

    try:
        record = json.loads(path.read_text())
        record["train"]["data"]
        return record
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(path, "not a readable lead-sheet run; start over with --force") from None


def train(
    cfg: Config | None,
    tables: dict[str, dict],
    out: Path,
    resume: bool,
    force: bool,
    quiet: bool,
    command: str,
    echo: Callable[[str], None],
    extend: dict | None = None,
    source: str = "--config",
) -> None:
    """Train (or, with `resume`, go on training) both parts into `out`, then fit the plan model
    and write the bundle's model.json and card.md. `extend` ({"steps": N} or {"minutes": M}) is
    each part's new total; `source`, the --config file the parts' tables came from."""
    from cadenza import families
    from cadenza.io.files import atomic_write
    from cadenza.train import run

    run.check_out(out)
    record = read_record(out)
    if resume:
        if record is None:
            return  # the caller said there is nothing to resume
        cfg = Config(**{k: v for k, v in record["train"].items() if k in SHARED})
        tables = record.get("tables", {})
        command = record.get("command", command)
        if extend:  # the new total, for the parts still to come too, recorded
            cfg = replace(cfg, **extend) if "steps" in extend else replace(cfg, steps=0, minutes=extend["minutes"])
            record = {**record, "train": asdict(cfg)}
            atomic_write(out / RECORD, json.dumps(record, indent=2).encode(), force=True)
    else:
        assert cfg is not None
        if any((out / n).exists() for n in ("model.json", "checkpoint.json", RECORD)) and not force:
            raise OptionError(f"{out} already holds a model; use --resume to continue it or --force to start over")
        for name in PARTS:  # every setting checked, and the data found, before anything is touched
            part_config(cfg, name, tables.get(name, {}), source)
        _check_data(cfg.data)
        out.mkdir(parents=True, exist_ok=True)
        for name in PARTS:  # a fresh start: no part of an earlier run is kept or resumed
            for file in (*run.OUTPUT_FILES, "planner.json"):
                (out / name / file).unlink(missing_ok=True)
        (out / "model.json").unlink(missing_ok=True)
        record = {"kind": "leadsheet", "train": asdict(cfg), "tables": tables, "command": command}
        atomic_write(out / RECORD, json.dumps(record, indent=2).encode(), force=True)
    assert cfg is not None
    parts = {name: part_config(cfg, name, tables.get(name, {})) for name in PARTS}
    for name, part_cfg in parts.items():
        family, part_out = families.by_name(PARTS[name]), out / name
        echo(f"the {name} part: {family.about}")
        part_command = f"{command} (its {name} part)"
        if resume and (part_out / "checkpoint.json").exists():
            part_record = run.read_record(part_out)
            try:
                more = run.extension(part_out, part_record, extend or {})
            except OptionError:  # this part is at the new total already, or stopped early: nothing more to do
                more = {}
            if not more and run.is_finished(part_record["state"]):
                echo(f"{part_out} has finished its run")
                continue
            run.run(family, None, part_out, True, force, quiet, part_command, echo, extend=more)
        else:
            run.run(family, part_cfg, part_out, False, True, quiet, part_command, echo)
    _fit_planner(cfg, out / "melody", quiet, command)
    write_bundle(out, cfg, tables, command)
    echo(f"wrote {out / 'card.md'}")


def _check_data(data: str) -> None:
    """Refuse, in one line, --data naming neither a built-in corpus nor a folder or file."""
    from cadenza.data.corpus import CORPORA

    for item in (d.strip() for d in data.split(",") if d.strip()):
        if item not in CORPORA and not Path(item).expanduser().exists():
            raise OptionError(f"--data {item}: no such folder or file, and not a built-in corpus")


def _fit_planner(cfg: Config, melody: Path, quiet: bool, command: str) -> None:
    """The plan model of the melody part, fitted on the tunes it was trained on (its own valid
    split and, for a benchmark's tunes, the test split left out)."""
    from cadenza.cli.plan import fit_planner
    from cadenza.data.leadsheets import license_of

    meta = json.loads((melody / "model.json").read_text())["train"]
    fit_planner(
        data=cfg.data,
        out=melody,
        exclude=meta.get("exclude", ""),
        parts=0,
        max_pieces=0,
        valid_percent=meta.get("valid_percent", 10),
        license_=license_of(cfg.data),
        force=True,
        quiet=quiet,
        command=f"{command} (its plan model)",
    )


def write_bundle(out: Path, cfg: Config, tables: dict[str, dict], command: str) -> None:
    """OUT/model.json (the parts and what they measured) and OUT/card.md."""
    from cadenza.data.leadsheets import license_of
    from cadenza.io.files import atomic_write

    metas = {name: json.loads((out / name / "model.json").read_text()) for name in PARTS}
    meta = {
        "kind": "leadsheet",
        "parts": {name: name for name in PARTS},
        "params": sum(m.get("params", 0) for m in metas.values()),
        "valid_loss": {name: m.get("valid_loss") for name, m in metas.items()},
        "train": asdict(cfg),
        "tables": tables,
        "command": command,
    }
    melody, chords = metas["melody"], metas["chords"]
    card = [
        f"# {out.name}",
        "",
        "Lead sheets: a melody with chord symbols, written by two models trained on the same tunes by "
        "`cadenza train --family leadsheet`. `cadenza generate --model "
        f"{out}` writes the melody (following a form drawn by its plan model, or given with --form) and "
        'then chords it; `--chords "..."` writes the melody over your chords instead. '
        f"License of the data: {license_of(cfg.data)}.",
        "",
        "## Parts",
        f"- melody/ (its card: melody/card.md): a one-voice melody model, {melody.get('params', 0):,} parameters, "
        f"validation loss {melody.get('valid_loss', float('nan')):.4f} nats per cell; its plan model "
        "(melody/planner.json) was fitted on the same tunes",
        f"- chords/ (its card: chords/card.md): a chords model, {chords.get('params', 0):,} parameters, "
        f"validation loss {chords.get('valid_loss', float('nan')):.4f} nats per beat",
        "",
        "## Training",
        f"- data: `{cfg.data}`; each part's split is stated on its card",
        f"- command: `{command}`",
        "",
    ]
    old = out / "card.md"
    if old.exists() and "\n## Measured\n" in old.read_text():
        card += ["## Measured", old.read_text().split("\n## Measured\n", 1)[1].strip(), ""]
    atomic_write(out / "card.md", "\n".join(card).encode(), force=True)
    atomic_write(out / "model.json", json.dumps(meta, indent=2).encode(), force=True)


@dataclass(frozen=True)
class LeadSheetModel:
    """A loaded bundle: its name and folder, and where its parts lie."""

    name: str
    directory: Path
    parts: dict[str, Path]


def use(directory, meta: dict, model) -> LeadSheetModel:
    directory = Path(directory)
    return LeadSheetModel(directory.name, directory, {name: directory / sub for name, sub in meta["parts"].items()})


def describe(meta: dict) -> tuple[str, str, str]:
    loss = meta.get("valid_loss") or {}
    return (
        "lead sheets: a melody and its chord symbols",
        "melody on 4 steps a beat, chords by the beat",
        f"melody {loss.get('melody', float('nan')):.3f}, chords {loss.get('chords', float('nan')):.3f}",
    )
