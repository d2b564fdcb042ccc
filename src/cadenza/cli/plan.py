"""`cadenza plan` (a plan drawn from a model's plan model, or a given form completed by it) and
`cadenza train-planner` (fit that plan model on analyzed corpora: planner.json in a model
folder). See cadenza.plan.planner."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from cadenza.cli.common import SECTION_CADENCES, SECTION_KEYS, key_option, pick_seed, progress_bars, say


def register(app: typer.Typer) -> None:
    app.command("plan")(plan)
    app.command("train-planner")(train_planner)


def plan_model_of(model: str):
    """(the plan model of a model found by name or folder, or of a planner .json file; where it was)."""
    from cadenza.errors import OptionError
    from cadenza.hub import find_model, parts_of
    from cadenza.plan import planner

    given = Path(model).expanduser()
    if given.suffix.lower() == ".json" and given.is_file():
        return planner.load(given), given
    directory = parts_of(model).get("melody") or find_model(model)  # a leadsheet model's: its melody's
    path = directory / planner.FILE
    if not path.exists():
        raise OptionError(
            f"model {model} has no plan model ({path} is missing); fit one with "
            f"`cadenza train-planner --data CORPUS --out {directory}`"
        )
    return planner.load(path), path


def written_meters(planner_path: Path) -> list[str] | None:
    """The meters the model beside a planner.json writes (its model.json's tokenizer lists them);
    None where that is not known (a planner file alone, a piano model's, a folder without one)."""
    import json

    try:
        meters = json.loads((planner_path.parent / "model.json").read_text()).get("tokenizer", {}).get("meters")
    except (OSError, ValueError, AttributeError):
        return None
    return list(meters) if isinstance(meters, list) else None


def plan(
    model: str = typer.Option("chorales", help="model name (see `cadenza models`) or folder, whose planner.json draws"),
    bars: Optional[int] = typer.Option(None, help="length in bars [default: 16; with --form, the form's]"),
    seed: Optional[int] = typer.Option(None, help="random seed [default: random, printed]"),
    key: Optional[str] = typer.Option(
        None, help="home key, e.g. 'G major', 'g' (lower case: minor) [default: drawn from the corpus]"
    ),
    meter: Optional[str] = typer.Option(None, help="e.g. 6/8 [default: drawn from the corpus]"),
    form: Optional[str] = typer.Option(
        None, help="sections to keep, e.g. 'A8 A8 B8 B8' or \"A8 B8 A'8@D\": what it leaves out is planned"
    ),
    keys: Optional[str] = SECTION_KEYS,
    cadences: Optional[str] = SECTION_CADENCES,
    out: Optional[Path] = typer.Option(None, help="also write the plan to this file: TOML (.toml) or JSON"),
    force: bool = typer.Option(False, help="overwrite --out"),
    quiet: bool = typer.Option(False, help="no messages on stderr"),
):
    """Print a plan (form, keys, phrases, cadences) drawn from what a model's corpus does."""
    from cadenza.compose import composer
    from cadenza.errors import MusicError, OptionError
    from cadenza.plan import planner
    from cadenza.plan.form import parse_form, plan_text, with_options
    from cadenza.score import parse_meter

    seed = pick_seed(seed)
    if (keys or cadences) and not form:
        raise OptionError("--keys and --cadences name each section of a --form; give --form too")
    if bars is not None:
        composer.check_bars(bars, "--bars")
    key_obj = key_option(key)
    try:
        meter_text = str(parse_meter(meter)) if meter else None
    except MusicError as e:
        raise OptionError(f"--meter: {e}") from None
    if out is not None:
        from cadenza.io.files import check_writable

        check_writable(out, force)  # before any work
    pm, where = plan_model_of(model)
    meters = written_meters(where)
    problem = composer.meter_problem(meter_text, meters, model) if meter_text and meters else None
    if problem:  # as generate would refuse it, before a plan is drawn
        raise OptionError(problem)
    if form:
        given = with_options(parse_form(form, pm.usual_section_bars(meter_text)), keys, cadences, home=key_obj)
        if bars is not None and bars != given.bars:
            raise OptionError(f"--form {form!r} is {given.bars} bars, not --bars {bars}; give one of them")
        if key_obj is not None:
            given.key = key_obj
        given.meter = meter_text or given.meter or pm.usual_meter()
        result = planner.complete(given, pm, seed)
    else:
        result = pm.sample(bars or 16, meter=meter_text, key=key_obj, seed=seed)
    if not quiet:
        say(f"plan model {where}, seed {seed}")
    typer.echo(result.describe())
    if out is not None:
        from cadenza.io.files import atomic_write

        atomic_write(out, plan_text(result, out.suffix).encode(), force=force)
        if not quiet:
            say(f"wrote {out}")


def train_planner(
    data: str = typer.Option(
        ...,
        help="corpus name(s), comma-separated (e.g. oneills,ryans), or a folder of files (ASAP's folder: its scores)",
    ),
    out: Path = typer.Option(..., help="the model folder to write planner.json into"),
    exclude: str = typer.Option(
        "",
        help="leave out pieces whose melody matches one of these (e.g. ../shared/benchmarks/jsb16th_satb.json.gz:test)",
    ),
    parts: int = typer.Option(0, help="keep only pieces with exactly this many pitched parts (0: any)"),
    max_pieces: int = typer.Option(0, help="fit on at most this many pieces, spread evenly over the data (0: all)"),
    valid_percent: int = typer.Option(
        10,
        help="leave out the pieces a model's training run held out for validation (by the same hash of each id; "
        "ASAP: its own split, its test pieces never read)",
    ),
    license_: str = typer.Option("", "--license", help="the data's license, recorded in planner.json"),
    twice: float = typer.Option(
        0.5,
        min=0.0,
        max=1.0,
        help="where a plan's length is drawn from forms half as long (a length the corpus has few pieces of): the "
        "share played with each strain twice (A8 B8 as A8 A8 B8 B8, as dance tunes go); the rest double each "
        "section's length. 0 for music whose strains are not played twice (chorales)",
    ),
    force: bool = typer.Option(False, help="overwrite an existing planner.json"),
    quiet: bool = typer.Option(False),
):
    """Fit a plan model (planner.json) on the analyzed pieces of a corpus: `cadenza plan` and
    `generate` draw plans from it."""
    command = "cadenza train-planner " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    path = fit_planner(data, out, exclude, parts, max_pieces, valid_percent, license_, force, quiet, command, twice)
    typer.echo(str(path))


def fit_planner(
    data: str,
    out: Path,
    exclude: str,
    parts: int,
    max_pieces: int,
    valid_percent: int,
    license_: str,
    force: bool,
    quiet: bool,
    command: str,
    twice: float = 0.5,
) -> Path:
    """`cadenza train-planner`'s work (see its options), recording `command`; the path of the
    planner.json written. Also used by `cadenza train --family leadsheet`."""
    from cadenza.data import corpus
    from cadenza.errors import CadenzaError, OptionError
    from cadenza.io.files import check_writable
    from cadenza.plan import planner
    from cadenza.plan.analyze import analyze

    if not 0 <= valid_percent < 100:
        raise OptionError(f"--valid-percent {valid_percent}: give 0 to 99")
    target = planner.path_of(out)
    check_writable(target, force)  # before reading any data
    started = time.monotonic()
    from cadenza.data import piano

    asap = Path(data).expanduser().is_dir() and piano.is_asap(Path(data).expanduser())
    with progress_bars(quiet) as progress:
        if asap:  # the ASAP data set: its scores, split by piece as the piano model's (not its performances)
            read = piano.load(data)
            splits, unreadable = read.splits, read.skipped
            pieces = [p.piece for p in splits["train"] + splits["valid"]]
        else:
            dataset = corpus.load(data, progress=lambda done, total: progress("reading", done, total))
            pieces, unreadable = dataset.pieces, dataset.skipped
        if parts:
            pieces = corpus.with_exact_parts(pieces, parts)
        pieces, excluded = corpus.leave_out(pieces, exclude)
        if asap:
            held = {p.id for p in splits["valid"]}
            train, valid = [p for p in pieces if p.id not in held], [p for p in pieces if p.id in held]
        else:
            train, valid = corpus.Dataset(pieces).split(valid_percent) if valid_percent else (pieces, [])
        if max_pieces and len(train) > max_pieces:
            step = len(train) / max_pieces
            train = [train[int(i * step)] for i in range(max_pieces)]
        read_seconds = time.monotonic() - started

        refused: list[str] = []

        def analyzed(pieces, what):
            plans, failed = [], 0
            for i, piece in enumerate(pieces):
                progress(what, i, len(pieces))
                try:
                    found = analyze(piece.score).plan
                    plans.append(found)  # a pickup's bar is already off its first phrase
                except CadenzaError as e:
                    failed += 1
                    refused.append(f"{piece.id}: {e}")
            return plans, failed

        plans, failed = analyzed(train, "analyzing")
    fitted = {
        "command": command,
        "data": data,
        "license": license_ or "see the corpus's source",
        "exclude": exclude,
        "parts": parts,
        "valid_percent": valid_percent,
        "pieces": len(plans),
        "unreadable_files": len(unreadable),
        "excluded": len(excluded),
        "excluded_ids": excluded,  # so corpus.split_of finds this fit's split whatever the matcher becomes
        "held_out": len(valid),
        "not_analyzed": failed,
        "read_seconds": round(read_seconds, 1),
        "analyze_and_fit_seconds": 0.0,
        "analyzer": f"cadenza.plan.analyze (source sha1 {_source_hash(analyze)})",
    }
    model = planner.fit(plans, fitted, twice)
    model.fitted["analyze_and_fit_seconds"] = round(time.monotonic() - started - read_seconds, 1)
    if valid:  # the held-out pieces as analyzed, beside plans drawn for the same bars, meter and key
        with progress_bars(quiet) as progress:
            real, _ = analyzed(valid, "checking on the held-out pieces")
        drawn = [model.sample(p.bars, meter=p.meter, key=p.key, seed=i) for i, p in enumerate(real) if p.bars <= 1000]
        model.fitted["held_out_check"] = {
            "held_out": planner.form_statistics(real),
            "drawn": planner.form_statistics(drawn),
        }
    path = planner.save(model, target, force=force)
    if not quiet:
        skipped = unreadable + refused
        for line in skipped[:10]:
            say(f"skipped {line}")
        if len(skipped) > 10:
            say(f"skipped {len(skipped) - 10} more")
        say(
            f"{len(plans)} pieces analyzed ({len(valid)} held out, {len(excluded)} excluded, {failed} not analyzed, "
            f"{len(unreadable)} unreadable files) in {time.monotonic() - started:.0f} s"
        )
        for line in model.summary() + check_lines(model.fitted.get("held_out_check")):
            say("  " + line)
    return path


def _source_hash(function) -> str:
    """The first 12 hex digits of the SHA-1 of the module that defines `function`: which version
    of the analyzer a plan model was fitted with."""
    import hashlib
    import inspect

    return hashlib.sha1(Path(inspect.getfile(function)).read_bytes()).hexdigest()[:12]


def check_lines(check: dict | None) -> list[str]:
    """The held-out check as a table: each statistic, held-out pieces beside drawn plans."""
    if not check:
        return []
    real, drawn = check["held_out"], check["drawn"]
    lines = [
        f"{'held-out pieces (analyzed) vs plans drawn for their bars, meter, key':<40}",
        f"{'':<22}{'held out':>10}{'drawn':>10}",
    ]
    for k in real:
        lines.append(f"{k:<22}{real[k]:>10.3f}{drawn.get(k, float('nan')):>10.3f}")
    return lines
