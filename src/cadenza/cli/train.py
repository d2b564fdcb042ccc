"""`cadenza train` (any family) and `cadenza bench nll` (the likelihood benchmarks). Their
training options are built from the families' config dataclasses (cadenza.cli.common)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Optional

import typer

from cadenza.cli.common import config_fields, config_from, known_configs, read_config_file, say, with_config_options

bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks: exact likelihood on published data sets.")

CONFIG = typer.Option(
    None,
    "--config",
    help="a TOML file of settings (names as the options', e.g. layers = 6); options given on the command line win",
)
NPROC = typer.Option(
    1,
    "--nproc",
    help="train data-parallel in this many processes on this machine (torchrun; "
    "gloo on CPU, NCCL on GPU); --batch-size is the global batch, split "
    "between them",
)


def register(app: typer.Typer) -> None:
    app.command()(train)
    app.add_typer(bench_app, name="bench")
    bench_app.command("nll")(bench_nll)


def _echo(quiet: bool):
    return (lambda m: None) if quiet else say


@with_config_options(known_configs())
def train(
    out: Path = typer.Option(..., help="folder for the model and its checkpoints"),
    family: str = typer.Option(
        "voices",
        help="the kind of model: voices (chorales, folk: `generate`), orderless "
        "(`harmonize`, `infill`), benchmark (`bench nll`), performer (`perform --performer learned`), "
        "chords (`chords`, `generate --chords auto`), accompaniment (a style's learned piano: `arrange`), "
        "leadsheet (a melody and a chords model together: `generate --model`), piano (two hands in a "
        "composer's style: `generate`, `continue`)",
    ),
    orderless: bool = typer.Option(False, "--orderless", help="shorthand for --family orderless"),
    config: Optional[Path] = CONFIG,
    resume: bool = typer.Option(
        False,
        help="continue an interrupted run in --out (with its saved settings); with --steps or --minutes (the "
        "run's new total), train a finished run further",
    ),
    force: bool = typer.Option(False, help="start over in an --out that already holds a model"),
    nproc: int = NPROC,
    quiet: bool = typer.Option(False),
    settings: dict = None,  # type: ignore[assignment]
):
    """Train a model on a corpus or a folder of your own files."""
    from cadenza.train import distributed

    distributed.check_nproc(nproc)

    command = "cadenza train " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    try:
        _train(out, family, orderless, config, resume, force, nproc, quiet, settings, command)
    except KeyboardInterrupt:  # cadenza.train.run has said what was kept and how to resume
        sys.exit(130)
    if distributed.rank() == 0:
        if (out / "model.json").is_file():
            _echo(quiet)(_how_to_use(out))
        typer.echo(str(out))


def _how_to_use(out: Path) -> str:
    """How the model trained in `out` is used: by its folder (a name is looked up only in the
    model folders, `cadenza models`), with the commands of its family."""
    from cadenza import families
    from cadenza.nn.checkpoint import read_meta

    family = families.of_meta(read_meta(out), str(out / "model.json"))
    other = {  # the families whose commands take no --model
        "benchmark": f"use it with `cadenza bench nll --checkpoint {out}`",
        "accompaniment": f'use it by naming it in a style file (accompaniment = "{out}"): docs/STYLES.md',
        "performer": f"use it with --performer {out} on perform, generate, continue, harmonize, infill",
    }
    return other.get(family.name, f"use it with --model {out}: {family.used_by}")


def _train(out, family, orderless, config, resume, force, nproc, quiet, settings, command):
    from cadenza import families
    from cadenza.errors import OptionError
    from cadenza.train import distributed, run

    if resume and (out / "leadsheet.json").exists():  # a lead-sheet bundle: its parts resume in turn
        from cadenza.families import leadsheet

        extend = resume_settings(settings, config)
        if nproc > 1:
            raise OptionError("--nproc does not apply to the leadsheet family: its parts train one after the other")
        leadsheet.train(None, {}, out, True, force, quiet, command, _echo(quiet), extend)
    elif resume:
        extend = resume_settings(settings, config)
        record = run.read_record(out)
        fam = families.of_meta(record, str(out / "checkpoint.json"))
        if distributed.should_launch(nproc):  # refusals and a finished run's answer come before torchrun starts
            changes = run.extension(out, record, extend)
            if not changes and run.is_finished(record["state"]):
                _echo(quiet)(run.finished_message(out, record, command))
                return
            distributed.check_split(fam.load().Config.from_record(record["train"]).batch_size, nproc)
            sys.exit(distributed.launch(nproc, sys.argv[1:]))
        run.run(
            fam, None, out, resume=True, force=force, quiet=quiet, command=command, echo=_echo(quiet), extend=extend
        )
    else:
        if orderless and family not in ("voices", "orderless"):  # voices: --family's default
            raise OptionError(f"--orderless and --family {family} contradict each other; give one")
        fam = families.by_name("orderless" if orderless else family)
        values = read_config_file(config) if config else {}
        if fam.name == "leadsheet":
            from cadenza.families import leadsheet

            if nproc > 1:
                raise OptionError("--nproc does not apply to the leadsheet family: its parts train one after the other")
            part_only = [k for k in settings if k not in leadsheet.SHARED]
            if part_only:
                from cadenza.settings import flag_of

                flag = flag_of(config_fields(known_configs())[part_only[0]][0][1])
                raise OptionError(
                    f"{flag} does not apply to the leadsheet family as a whole: set it for one part in a --config "
                    "file's [melody] or [chords] table"
                )
            shared, tables = leadsheet.split_tables(values)
            ls_cfg = config_from(leadsheet.Config, fam.name, shared, settings, config)
            if not ls_cfg.data:
                raise OptionError("give --data (lead sheets with chord symbols), or --resume to continue in --out")
            leadsheet.train(ls_cfg, tables, out, False, force, quiet, command, _echo(quiet), source=str(config))
            return
        cfg = config_from(fam.load().Config, fam.name, values, settings, config)
        if not cfg.data:
            raise OptionError("give --data (a corpus name or a folder), or --resume to continue a run in --out")
        run.start_or_resume(out, resume=False, force=force)  # before reading any data: a refusal writes nothing
        if cfg.init_from:
            run.init_source(cfg.init_from, fam)
        if distributed.should_launch(nproc):  # the options are checked here, in one line, before torchrun starts
            distributed.check_split(cfg.batch_size, nproc)
            sys.exit(distributed.launch(nproc, sys.argv[1:]))
        run.run(fam, cfg, out, resume=False, force=force, quiet=quiet, command=command, echo=_echo(quiet))


def resume_settings(settings: dict, config) -> dict:
    """The settings `--resume` may take: --steps or --minutes, the run's new total (to train a
    finished run further); any other is refused, by its flag, not ignored."""
    from cadenza.cli.common import config_fields
    from cadenza.errors import OptionError
    from cadenza.settings import flag_of
    from cadenza.train.run import EXTENDS

    others = [k for k in settings if k not in EXTENDS]
    if others or config:
        owners = config_fields(known_configs())
        given = ", ".join(flag_of(owners[k][0][1]) for k in others) if others else "--config"
        raise OptionError(
            f"--resume continues with the run's own settings; drop {given} "
            "(only --steps or --minutes, the run's new total, may be given)"
        )
    return dict(settings)


def _benchmark_config():
    from cadenza.families.benchmark import Config

    return Config


@with_config_options({"benchmark": _benchmark_config()}, skip=("data",))
def bench_nll(
    data: Path = typer.Option(..., help="a piano-roll benchmark file, e.g. ../shared/benchmarks/jsb_chorales.json.gz"),
    checkpoint: Optional[Path] = typer.Option(None, help="evaluate this saved benchmark model instead of training"),
    out: Optional[Path] = typer.Option(None, help="folder for the trained model [default: runs/bench-DATA]"),
    config: Optional[Path] = CONFIG,
    baselines: bool = typer.Option(False, help="also print the independent-pitch and step n-gram baselines"),
    resume: bool = typer.Option(False, help="continue an interrupted benchmark run in --out"),
    force: bool = typer.Option(False, help="start over in an --out that already holds a model"),
    with_ngram: bool = typer.Option(
        False, help="also report the network mixed with the step 3-gram (the mixing weight chosen on the valid split)"
    ),
    nproc: int = NPROC,
    quiet: bool = typer.Option(False),
    settings: dict = None,  # type: ignore[assignment]
):
    """Frame-level NLL per time step (nats) on valid and test: train from scratch, or --checkpoint."""
    from cadenza import families
    from cadenza.data.benchmarks import load_benchmark
    from cadenza.errors import OptionError
    from cadenza.families import benchmark as bench
    from cadenza.train import distributed, run

    distributed.check_nproc(nproc)
    main = distributed.rank() == 0  # under torchrun, rank 0 alone prints and evaluates
    launching = checkpoint is None and distributed.should_launch(nproc)  # the processes it starts print
    echo = _echo(quiet or not main)
    d = load_benchmark(data)  # read once; a bad file is reported before any work
    if baselines and main and not launching:
        from cadenza.evaluate.step_baselines import IndependentPitches, StepNGram, nll_per_step

        ind = IndependentPitches().fit(d["train"])
        ngram = StepNGram(ind, order=3).fit(d["train"])
        for name, model in (("independent pitches", ind), ("step 3-gram", ngram)):
            typer.echo(
                f"baseline {name}: valid NLL {nll_per_step(model, d['valid']):.3f}, "
                f"test NLL {nll_per_step(model, d['test']):.3f}"
            )
    if checkpoint is not None and (settings or config or resume or nproc > 1):
        raise OptionError("--checkpoint evaluates a saved model: training options do not apply to it")
    if checkpoint is None:
        command = "cadenza bench nll " + " ".join(shlex.quote(a) for a in sys.argv[3:])
        out = out or Path("runs") / f"bench-{data.name.split('.')[0]}"
        if (out / "model.json").exists() and not (resume or force):
            raise OptionError(
                f"{out} already holds a model; use --checkpoint {out} to evaluate it, "
                "--resume to continue it, or --force to start over"
            )
        fam = families.by_name("benchmark")
        if resume:
            extend = resume_settings(settings, config)
            record = run.read_record(out)
            cfg = bench.Config.from_record(record["train"])
            if Path(cfg.data).resolve() != data.resolve():
                raise OptionError(f"{out} was trained on {cfg.data}; resume it with --data {cfg.data}")
            if launching:
                if not run.extension(out, record, extend) and run.is_finished(record["state"]):
                    echo(run.finished_message(out, record, command))
                else:
                    distributed.check_split(cfg.batch_size, nproc)
                    sys.exit(distributed.launch(nproc, sys.argv[1:]))
            else:
                run.run(
                    fam, None, out, resume=True, force=force, quiet=quiet, command=command, echo=echo, extend=extend
                )
        else:
            from cadenza.train.loop import bf16_is_fast

            given = {**settings, "data": str(data)}
            given.setdefault("bf16", bf16_is_fast())  # by default where the hardware has it natively
            cfg = config_from(bench.Config, fam.name, read_config_file(config) if config else {}, given, config)
            if launching:
                distributed.check_split(cfg.batch_size, nproc)
                sys.exit(distributed.launch(nproc, sys.argv[1:]))
            run.run(fam, cfg, out, resume=False, force=force, quiet=quiet, command=command, echo=echo)
        if not main:
            return
    trained = checkpoint is None
    checkpoint = checkpoint or out
    assert checkpoint is not None
    results, meta = bench.evaluate_checkpoint(checkpoint, d)
    mixed = bench.mix_with_ngram(d, results) if with_ngram else None
    if trained:  # the card states what was just measured
        card = run.write_card(checkpoint, bench.card(checkpoint, meta, results, mixed))
        echo(f"wrote {card}")
    typer.echo(
        f"model {checkpoint}: {meta['params']:,} parameters, trained {meta.get('train_minutes')} minutes "
        f"to step {meta.get('step')} on {meta.get('device')}, seed {meta['train']['seed']}"
    )
    for line in bench.result_lines(results, mixed):
        typer.echo(line)
