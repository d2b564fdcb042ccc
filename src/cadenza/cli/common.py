"""What the command modules share: messages, seeds, progress bars, and the rule options every
generating command takes."""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

import typer

from cadenza.settings import flag_of


def say(message: str) -> None:
    typer.echo(message, err=True)


@contextmanager
def progress_bars(quiet: bool = False) -> Iterator[Callable[[str, int, int], None]]:
    """Yields `update(what, done, total)`, which shows one bar per `what` on stderr (nothing when
    quiet): for work that can take more than a moment, such as reading a corpus."""
    if quiet:
        yield lambda what, done, total: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True)) as bars:
        tasks: dict[str, Any] = {}

        def update(what: str, done: int, total: int) -> None:
            if what not in tasks:
                for task in tasks.values():  # a new stage: the earlier ones are done
                    bars.update(task, completed=bars.tasks[task].total)
                tasks[what] = bars.add_task(what, total=total)
            bars.update(tasks[what], completed=done, total=total)

        yield update
        for task in tasks.values():
            bars.update(task, completed=bars.tasks[task].total)


def read_piece(path, quiet: bool = False, tune: int | None = None, keep: bool = True):
    """The piece to continue, harmonize or rewrite: the first in its file, or the `tune`th (from
    1) of a file of several such as an ABC tune book (which says which it took), with pitched
    notes. With `keep` (a command's input), nothing this process writes may replace the file."""
    from pathlib import Path

    from cadenza.data.corpus import cache_path, cached_scores
    from cadenza.errors import InputError, counted
    from cadenza.io import read_scores, require_pitched
    from cadenza.io.files import keep_input

    path = Path(path)
    if keep:
        keep_input(path)  # what the command writes never replaces it, --force or not
    if path.suffix.lower() == ".abc" and path.is_file():  # a tune book: parsed once, then cached
        if not quiet and not cache_path(path).exists():  # a cached book is not read again, nor counted
            tunes = sum(line.startswith(b"X:") for line in path.read_bytes().splitlines())
            if tunes > 20:
                say(f"{path}: reading {tunes} tunes (the first time takes a while; then they are cached)")
        scores = cached_scores(path, read_scores)
    else:
        scores = read_scores(path)
    if tune is not None:
        if not 1 <= tune <= len(scores):
            raise InputError(path, f"no tune {tune}: the file holds {counted(len(scores), 'piece')}")
        return require_pitched(scores[tune - 1], path)
    if len(scores) > 1 and not quiet:
        title = scores[0].title or "untitled"
        say(f"{path}: {len(scores)} pieces in this file; using the first ({title}); --tune N takes another")
    return require_pitched(scores[0], path)


FORMATS_HELP = (
    "comma list of mid, musicxml, mxl (compressed MusicXML), abc, wav, flac, ogg, png, "
    "cover (STEM.cover.png, its picture)"
)  # cadenza.render.FORMATS, for every command that writes a piece

TUNE = typer.Option(
    None, "--tune", help="which piece of a file of several (an ABC tune book), from 1 [default: the first]"
)


@contextmanager
def about_file(path) -> Iterator[None]:
    """What the music in `path` cannot do (a grid it does not fit, notes a tokenizer cannot
    place) is that file's problem: its message names the file first."""
    from cadenza.errors import InputError, MusicError, TokenizeError

    try:
        yield
    except (MusicError, TokenizeError) as e:
        raise InputError(path, str(e)) from None


def unplayed(path: Path, marks: bool = False) -> str:
    """The notations of a MusicXML, ABC or kern file that cadenza does not play (with `marks`: nor
    write back as marks; cadenza.io.scores.unsupported_markings), as one phrase ("trill x3,
    arpeggio x2"); empty for MIDI, which has none, or when there are none."""
    from cadenza.errors import CadenzaError
    from cadenza.io import MIDI_SUFFIXES
    from cadenza.io.scores import unsupported_markings

    if path.suffix.lower() in MIDI_SUFFIXES:
        return ""
    try:
        counts = unsupported_markings(path, marks)
    except CadenzaError:  # the file was read once already; a second reading that fails says nothing new
        return ""
    return ", ".join(f"{name} x{n}" for name, n in counts.items())


def pick_seed(seed: Optional[int]) -> int:
    from cadenza.errors import OptionError

    if seed is not None and seed < 0:
        raise OptionError(f"--seed must be 0 or more, not {seed}")
    return seed if seed is not None else random.SystemRandom().randrange(2**31)


def output_stems(out: Optional[str], name: Callable[[int], str], n: int) -> list[str]:
    """The output stems of n alternatives. Without `out`, out/NAME; with an `out` that ends in a
    slash or is an existing folder, FOLDER/NAME, where NAME is `name(i)` for alternative i (so
    that it names alternative i's own seed); else `out` with a known suffix stripped (`song.mid`
    -> `song`) as the stem, and STEM-1 .. STEM-n for several."""
    import os

    from cadenza.render import SUFFIX_FORMATS, out_suffix

    if out is None or out.endswith(("/", os.sep)) or os.path.isdir(out):
        folder = "out" if out is None else out
        return [os.path.join(folder, name(i)) for i in range(n)]
    base = os.path.splitext(out)[0] if out_suffix(out) in (*SUFFIX_FORMATS, ".json") else out
    return [f"{base}-{i + 1}" if n > 1 else base for i in range(n)]


def seeds_text(seed: int, n: int) -> str:
    """'seed 7', or 'seeds 7-9' for three alternatives."""
    return f"seed {seed}" if n == 1 else f"seeds {seed}-{seed + n - 1}"


def settings_and_record(cls, settings: dict):
    """(an instance of a sampler's settings class from the options given, what the JSON record
    beside each output keeps of it: every field but the seed, which is recorded per piece)."""
    from dataclasses import asdict

    made = cls(**settings)
    return made, {k: v for k, v in asdict(made).items() if k != "seed"}


ALLOW_PARALLELS = typer.Option(
    False, "--allow-parallels", help="let voices move in parallel fifths and octaves (forbidden by default)"
)
FREE_ENDING = typer.Option(
    False,
    "--free-ending",
    help="do not end on the tonic chord (by default the piece closes on it: on the last bar's downbeat, or, "
    "with a plan, on the beat its phrases cadence on, in chorales beat 3)",
)
SCALE = typer.Option(
    None, "--scale", help="keep every written note in this key's scale, e.g. 'D minor' or 'd' (lower case: minor)"
)
SECTION_KEYS = typer.Option(
    None, "--keys", help="one key per section of --form, e.g. 'C G a C' (lower case: minor; '-': as the form has it)"
)
SECTION_CADENCES = typer.Option(
    None,
    "--cadences",
    help="the cadence ending each section of --form, in order: authentic (perfect), imperfect, half, plagal, "
    "deceptive, none ('-' or fewer than sections: planned; KIND alone: in the section's key); KIND@NUMERAL closes "
    "in another key, e.g. authentic@V, half@vi (a Roman numeral from the section's key; not on the last section)",
)
RANGES = typer.Option([], "--range", help="a voice's range, e.g. alto=G3-C5 (repeatable)")
FIXES = typer.Option(
    [],
    "--fix",
    help="a fixed note BAR:BEAT:VOICE=PITCH, or =PITCH/BEATS for its length, e.g. 3:1:bass=D3/2 (repeatable)",
)
PERFORMER = typer.Option(
    "rules",
    "--performer",
    help="who plays: rules (the KTH rules), learned (trained on human pianists), a performer model you trained "
    "(its folder), or none (the score as written; generating commands then write no STEM.performed.mid)",
)
EXPRESSIVENESS = typer.Option(
    1.0, "--expressiveness", help="how much the performer departs from the written score: 0 (none) to 2 (twice)"
)


def performing(performer: str, expressiveness: float, seed: int, plan=None):
    """The checked cadenza.render.Performing of the --performer and --expressiveness options."""
    from cadenza.perform import PERFORMERS, check_performer
    from cadenza.render import Performing

    if performer not in PERFORMERS:  # a performer model of one's own, by name or folder (found there)
        check_performer("learned", expressiveness)
        return Performing("learned", expressiveness, seed, plan, _performer_model(performer))
    check_performer(performer, expressiveness)
    if performer == "learned":  # before any work: a missing model is said now, not after composing
        from cadenza.hub import find_model

        find_model("performer")
    return Performing(performer, expressiveness, seed, plan)


def _performer_model(name: str) -> str:
    """A --performer that names a model: one of the performer family (`cadenza train --family
    performer`), else one line saying what --performer takes."""
    from cadenza import families
    from cadenza.errors import OptionError
    from cadenza.hub import find_model
    from cadenza.nn.checkpoint import read_meta
    from cadenza.perform import PERFORMERS

    takes = f"{', '.join(PERFORMERS)}, or a performer model's name or folder"
    try:
        folder = find_model(name)
    except OptionError:
        raise OptionError(f"unknown performer {name!r}; --performer takes {takes}") from None
    if families.of_meta(read_meta(folder), str(folder / "model.json")).name != "performer":
        raise OptionError(f"{name} is no performer model; --performer takes {takes}")
    return str(folder)


def bar_range(text: str, option: str = "--bars") -> tuple[int, int]:
    """'5-8' -> (5, 8), '5' -> (5, 5): a range of bars as a user types it."""
    import re

    from cadenza.errors import OptionError

    m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+))?\s*", text)
    if not m:
        raise OptionError(f"{option} {text!r}: expected FIRST-LAST, e.g. 5-8, or one bar number")
    first, last = int(m.group(1)), int(m.group(2) or m.group(1))
    if last < first:
        raise OptionError(
            f"{option} {text} is empty: its last bar comes before its first (did you mean {last}-{first}?)"
        )
    return first, last


FIXED_CELLS = typer.Option(
    None, "--fixed-cells", help='JSON file: [{"bar": 3, "beat": 1, "voice": "bass", "pitch": "D3", "beats": 1}, ...]'
)


def key_option(text: Optional[str]):
    """--key as a Key (None when not given), saying on stderr when it is written under another
    name: a tonic whose key would need more than seven sharps or flats (E# major is F major)."""
    if text is None:
        return None
    from cadenza.errors import MusicError, OptionError
    from cadenza.plan.form import key_text
    from cadenza.score import parse_key, tonic_as_written, with_ascii_signs

    if not text.strip():
        raise OptionError("--key '': name a key, e.g. 'D major', or leave --key out to have one drawn")

    try:
        key = parse_key(text)
    except MusicError as e:
        raise OptionError(f"--key: {e}") from None
    if key.tonic_name != tonic_as_written(text):
        given = with_ascii_signs(text).strip()
        say(f"key {given}: written as {key_text(key)}, its usual name (it would need more than seven sharps or flats)")
    return key


def key_for_scale(key, scale: Optional[str]):
    """The key to write in, given --key (a Key or None) and --scale (text or None): --scale alone
    implies its key; a key whose tonic triad lies outside the scale is refused."""
    from cadenza.errors import OptionError
    from cadenza.score import parse_key
    from cadenza.theory import key_fits_scale

    if not scale:
        return key
    scale_key = parse_key(scale)
    if key is None:
        return scale_key
    if not key_fits_scale(key, scale_key):
        raise OptionError(f"--key {key} and --scale {scale_key} disagree: the key's tonic chord is not in that scale")
    return key


def rules_from_options(scale, ranges, fixes, fixed_cells, names):
    from cadenza.plan.rules import build_rules

    return build_rules(scale, list(ranges), list(fixes), fixed_cells, names)


def record_rules(scale, ranges, fixes, fixed_cells) -> dict:
    return {
        "scale": scale,
        "ranges": list(ranges),
        "fix": list(fixes),
        "fixed_cells": str(fixed_cells) if fixed_cells else None,
    }


# ---------------------------------------------------------------------------------------------
# options built from config dataclasses: every default has one source, the dataclass field

_TYPES = {"int": int, "float": float, "bool": bool, "str": str, "tuple[int, ...]": str}


def config_fields(configs: dict[str, type]) -> dict[str, list]:
    """{field name: [(owner label, field), ...]} over the config classes, in first-seen order."""
    import dataclasses

    out: dict[str, list] = {}
    for label, cls in configs.items():
        for f in dataclasses.fields(cls):
            out.setdefault(f.name, []).append((label, f))
    return out


def with_config_options(configs: dict[str, type], skip: tuple[str, ...] = ()):
    """Decorate a command so that it takes one option per field of the config dataclasses
    (`configs`: a label, such as a family name, for each), with the field's help and default,
    and receives the options the user gave as `settings` ({field name: value}); fields left
    unset keep their dataclass default. A default that differs between the classes is shown
    for each."""
    import inspect

    def wrap(fn):
        import typing

        sig = inspect.signature(fn)
        hints = typing.get_type_hints(fn)  # the command's own annotations, resolved in its module
        params = [p.replace(annotation=hints[p.name]) for p in sig.parameters.values() if p.name != "settings"]
        annotations = {p.name: p.annotation for p in params}
        by_name = config_fields(configs)
        extra = []
        for name, owners in by_name.items():
            if name in skip:
                continue
            f = owners[0][1]
            typ = _TYPES[str(f.type)]
            defaults = {label: "none" if g.default in ("", ()) else str(g.default) for label, g in owners}
            shown = (
                next(iter(defaults.values()))
                if len(set(defaults.values())) == 1
                else ", ".join(f"{d} ({label})" for label, d in defaults.items())
            )
            if len(owners) < len(configs):
                shown += "; " + ", ".join(label for label, _ in owners) + " only"
            flag = flag_of(f)
            decls = (f"{flag}/--no-{flag[2:]}",) if typ is bool else (flag,)
            option = typer.Option(
                None, *decls, help=f"{f.metadata.get('help', '')} [default: {shown}]", show_default=False
            )
            extra.append(
                inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=Optional[typ])
            )
            annotations[name] = Optional[typ]

        def command(**kwargs):
            settings = {k: kwargs.pop(k) for k in list(kwargs) if k in by_name and k not in skip}
            settings = {k: v for k, v in settings.items() if v is not None}
            return fn(settings=settings, **kwargs)

        command.__name__, command.__doc__ = fn.__name__, fn.__doc__
        command.__signature__ = sig.replace(parameters=params + extra)  # type: ignore[attr-defined,unused-ignore]
        command.__annotations__ = annotations
        return command

    return wrap


def config_from(cls, label: str, file_values: dict, given: dict, config_path=None):
    """An instance of config class `cls` (a family's, called `label`) from a --config file's
    values overridden by the options given on the command line. A value the class has no field
    for is refused, naming the option or the file, not ignored."""
    import dataclasses

    from cadenza.errors import OptionError

    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for k, v in file_values.items():
        if k not in fields:
            owners = config_fields(known_configs()).get(k)
            flag = flag_of(owners[0][1])[2:] if owners else k
            shown = k if flag.replace("-", "_") == k else flag  # a renamed one by its flag: layers, not n_layer
            raise OptionError(
                f"{config_path}: {shown!r} is not a setting of the {label} family "
                f"(its settings: {', '.join(flag_of(f)[2:] for f in fields.values())})"
            )
        values[k] = v
    for k, v in given.items():
        if k not in fields:
            flag = "--" + k.replace("_", "-")
            for _, f in config_fields(known_configs()).get(k, []):
                flag = flag_of(f)
            raise OptionError(f"{flag} does not apply to the {label} family")
        values[k] = v
    for k, v in list(values.items()):
        if str(fields[k].type) == "tuple[int, ...]" and isinstance(v, str):
            try:
                values[k] = tuple(int(p) for p in v.split(",") if p.strip())
            except ValueError:
                raise OptionError(f"{flag_of(fields[k])} {v!r}: expected comma-separated numbers") from None
    try:
        return cls(**values)
    except TypeError as e:
        raise OptionError(f"{config_path or 'options'}: {e}") from None


def known_configs() -> dict[str, type]:
    """Every family's config class, by family name."""
    from cadenza.families import FAMILIES

    return {f.name: f.load().Config for f in FAMILIES}


def read_config_file(path) -> dict:
    """A --config file: TOML whose keys are settings' names (n_layer) or flags (layers)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        import tomli as tomllib

    from cadenza.errors import InputError

    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InputError(path, f"not a TOML config file ({e})") from None
    names = {}
    for name, owners in config_fields(known_configs()).items():
        names[name] = name
        names[flag_of(owners[0][1])[2:].replace("-", "_")] = name

    def named(values: dict) -> dict:  # a table (the leadsheet family's [melody], [chords]) is named alike
        return {
            names.get(k.replace("-", "_"), k.replace("-", "_")): named(v) if isinstance(v, dict) else v
            for k, v in values.items()
        }

    return named(data)
