"""The command line: a thin layer over cadenza.composer, cadenza.train and cadenza.io.

Saved paths go to stdout; progress and messages to stderr. A user's mistake gets one line
and exit status 2. Heavy libraries are imported inside commands so `--help` is instant.
"""
from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Optional

import typer

from cadenza import cli_assistant, cli_evaluate
from cadenza.cli_common import FIXED_CELLS, FIXES, RANGES, SCALE, alternative_stems, say, progress_bar, pick_seed, record_rules, rules_from_options

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Cadenza: learn music from scores and MIDI, and write new music.")


@app.command()
def generate(
    model: str = typer.Option("chorales", help="model name (see `cadenza models`) or folder"),
    bars: Optional[int] = typer.Option(None, help="length in bars [default: 16]"),
    seconds: Optional[float] = typer.Option(None, help="length in seconds, instead of --bars"),
    key: Optional[str] = typer.Option(None, help="e.g. 'D major', 'F# minor' [default: drawn from the training data]"),
    meter: Optional[str] = typer.Option(None, help="e.g. 4/4, 3/4, 6/8 [default: the model's most common]"),
    tempo: float = typer.Option(120.0, help="quarter notes per minute"),
    temperature: float = typer.Option(1.0, help="sampling temperature; lower is safer"),
    top_p: float = typer.Option(0.95, "--top-p", help="nucleus sampling mass"),
    seed: Optional[int] = typer.Option(None, help="random seed [default: random, printed]; variation i uses seed+i"),
    n: int = typer.Option(1, "--n", help="number of alternatives"),
    allow_parallels: bool = typer.Option(False, "--allow-parallels",
                                         help="let voices move in parallel fifths and octaves (forbidden by default)"),
    free_ending: bool = typer.Option(False, "--free-ending",
                                     help="do not end on the tonic chord (by default the last bar opens on it)"),
    scale: Optional[str] = SCALE, range_: list[str] = RANGES, fix: list[str] = FIXES,
    fixed_cells: Optional[Path] = FIXED_CELLS,
    formats: str = typer.Option("mid,musicxml,wav,png", help="comma list of mid, musicxml, wav, flac, ogg, png"),
    out: Optional[str] = typer.Option(None, help="output stem: writes STEM.mid, STEM.wav ... [default: out/MODEL-seedN]"),
    force: bool = typer.Option(False, help="overwrite existing outputs"),
    quiet: bool = typer.Option(False, help="no messages on stderr"),
):
    """Write new music with a trained model."""
    from cadenza import composer
    from cadenza.errors import OptionError
    from cadenza.outputs import check_outputs, parse_formats, write_outputs
    from cadenza.score import parse_key, parse_meter

    from cadenza.sample import SamplingSettings

    fmts = parse_formats(formats)
    if n < 1:
        raise OptionError(f"--n must be at least 1, not {n}")
    if bars is not None and bars < 1:
        raise OptionError(f"--bars must be at least 1, not {bars}")
    composer.check_tempo(tempo)
    SamplingSettings(temperature, top_p)  # checks the values before any work
    key_obj = parse_key(key) if key else None
    meter_obj = parse_meter(meter) if meter else None
    c = composer.load(model)
    rules = rules_from_options(scale, range_, fix, fixed_cells, c.voice_names)
    seed = pick_seed(seed)
    base = out or f"out/{c.name}-seed{seed}"
    stems = alternative_stems(base, n)
    check_outputs(stems, fmts, force)
    if not quiet:
        say(f"model {c.name}, seed {seed}")
    for i, stem in enumerate(stems):
        s = seed + i
        m = meter_obj or c.default_meter()
        length = composer.bars_for_seconds(seconds, m, tempo) if seconds is not None else (bars or 16)
        score = c.generate(bars=length, key=key_obj, meter=m, tempo_bpm=tempo, temperature=temperature,
                           top_p=top_p, seed=s, allow_parallels=allow_parallels,
                           final_cadence=not free_ending, rules=rules)
        record = {"command": "generate", "model": c.name, "model_dir": str(c.directory), "seed": s,
                  "bars": length, "key": str(score.key), "meter": str(score.meter), "tempo": tempo,
                  "temperature": temperature, "top_p": top_p, "allow_parallels": allow_parallels,
                  "free_ending": free_ending, **record_rules(scale, range_, fix, fixed_cells), "formats": list(fmts)}
        for p in write_outputs(score, stem, fmts, record, force):
            typer.echo(str(p))


@app.command("continue")
def continue_(
    prompt: Path = typer.Argument(..., help="a MIDI, MusicXML, ABC or kern file to continue"),
    model: str = typer.Option("chorales", help="model name or folder"),
    bars: int = typer.Option(8, help="bars to add"),
    temperature: float = typer.Option(1.0),
    top_p: float = typer.Option(0.95, "--top-p"),
    seed: Optional[int] = typer.Option(None, help="random seed [default: random, printed]"),
    n: int = typer.Option(1, "--n", help="number of alternatives"),
    allow_parallels: bool = typer.Option(False, "--allow-parallels",
                                         help="let voices move in parallel fifths and octaves (forbidden by default)"),
    free_ending: bool = typer.Option(False, "--free-ending",
                                     help="do not end on the tonic chord (by default the last bar opens on it)"),
    scale: Optional[str] = SCALE, range_: list[str] = RANGES, fix: list[str] = FIXES,
    fixed_cells: Optional[Path] = FIXED_CELLS,
    formats: str = typer.Option("mid,musicxml,wav,png"),
    out: Optional[str] = typer.Option(None, help="output stem [default: out/PROMPT-continued-seedN]"),
    force: bool = typer.Option(False),
    quiet: bool = typer.Option(False),
):
    """Continue a piece: the prompt stays unchanged at the start, new bars follow."""
    from cadenza import composer
    from cadenza.errors import OptionError
    from cadenza.io import read_score
    from cadenza.outputs import check_outputs, parse_formats, write_outputs

    from cadenza.sample import SamplingSettings

    fmts = parse_formats(formats)
    if bars < 1 or n < 1:
        raise OptionError(f"--bars and --n must be at least 1 (got bars {bars}, n {n})")
    SamplingSettings(temperature, top_p)
    score = read_score(prompt)
    c = composer.load(model)
    rules = rules_from_options(scale, range_, fix, fixed_cells, c.voice_names)
    seed = pick_seed(seed)
    base = out or f"out/{prompt.stem}-continued-seed{seed}"
    stems = alternative_stems(base, n)
    check_outputs(stems, fmts, force)
    if not quiet:
        say(f"model {c.name}, seed {seed}")
    for i, stem in enumerate(stems):
        result = c.continue_score(score, bars=bars, temperature=temperature, top_p=top_p, seed=seed + i,
                                  allow_parallels=allow_parallels, final_cadence=not free_ending, rules=rules)
        record = {"command": "continue", "prompt": str(prompt), "model": c.name, "seed": seed + i, "bars": bars,
                  "temperature": temperature, "top_p": top_p, "allow_parallels": allow_parallels,
                  "free_ending": free_ending, **record_rules(scale, range_, fix, fixed_cells)}
        for p in write_outputs(result, stem, fmts, record, force):
            typer.echo(str(p))


@app.command()
def train(
    data: Optional[str] = typer.Option(None, help="built-in corpus name(s), comma-separated (bach-chorales, "
                                                  "essen, oneills, ryans, palestrina), or a folder of your files"),
    out: Path = typer.Option(..., help="folder for the model and its checkpoints"),
    minutes: float = typer.Option(10.0, help="training time budget (ignored with --steps)"),
    steps: int = typer.Option(0, help="exact number of optimizer steps (reproducible); 0 = use --minutes"),
    voices: int = typer.Option(4, help="number of voices the model writes (1 = melody)"),
    steps_per_beat: int = typer.Option(2, help="grid resolution: 2 = eighth notes, 4 = sixteenths"),
    programs: str = typer.Option("", help="General MIDI program per voice for output, e.g. 52,52,52,52"),
    block_size: int = typer.Option(512, help="context length in tokens"),
    layers: int = typer.Option(4), heads: int = typer.Option(4), embd: int = typer.Option(192),
    dropout: float = typer.Option(0.1), batch_size: int = typer.Option(16), lr: float = typer.Option(1e-3),
    rope: bool = typer.Option(False, help="rotary (relative) positions instead of learned absolute ones"),
    transpose: int = typer.Option(5, help="augment by random transposition up to this many semitones"),
    max_pieces: int = typer.Option(0, help="use at most this many pieces (0 = all)"),
    exact_parts: bool = typer.Option(False, help="use only pieces with exactly --voices parts (e.g. 4-part chorales)"),
    orderless: bool = typer.Option(False, help="train an orderless (masked) model for harmonize and infill; "
                                               "--data may also be a four-voice grid file like jsb16th_satb.json.gz"),
    window_steps: int = typer.Option(256, help="orderless: training window in grid steps"),
    eval_every: int = typer.Option(200, help="validate every this many steps"),
    patience: int = typer.Option(0, help="stop after this many validations in a row without a new best (0: never)"),
    checkpoint_minutes: float = typer.Option(2.0, help="write a checkpoint at least this often"),
    seed: int = typer.Option(0),
    resume: bool = typer.Option(False, help="continue an interrupted run in --out (with its saved settings)"),
    force: bool = typer.Option(False, help="start over in an --out that already holds a model"),
    quiet: bool = typer.Option(False),
):
    """Train a model on a corpus or a folder of your own files."""
    from cadenza import training_run
    from cadenza.errors import OptionError

    if not data and not resume:
        raise OptionError("give --data (a corpus name or a folder), or --resume to continue a run in --out")
    prog = [int(p) for p in programs.split(",") if p.strip()] if programs else []
    cfg_kw = dict(data=data, n_voices=voices, steps_per_beat=steps_per_beat, programs=tuple(prog),
                  block_size=block_size, n_layer=layers, n_head=heads, n_embd=embd, dropout=dropout,
                  rope=rope, batch_size=batch_size, lr=lr, steps=steps, minutes=minutes, eval_every=eval_every,
                  patience=patience, checkpoint_minutes=checkpoint_minutes, transpose=transpose, seed=seed,
                  max_pieces=max_pieces, exact_parts=exact_parts)
    command = "cadenza train " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    if orderless or (resume and _is_orderless_run(out)):
        from cadenza import orderless_run

        for name in ("programs", "block_size", "rope"):
            cfg_kw.pop(name)
        cfg_kw.update(window_steps=window_steps)
        orderless_run.run(cfg_kw, out, resume=resume, force=force, quiet=quiet, command=command,
                          progress_factory=progress_bar, echo=(lambda m: None) if quiet else say)
        typer.echo(str(out))
        return
    training_run.run(cfg_kw, out, resume=resume, force=force, quiet=quiet, command=command,
                     progress_factory=progress_bar, echo=(lambda m: None) if quiet else say)
    typer.echo(str(out))


def _is_orderless_run(out: Path) -> bool:
    import json

    from cadenza.errors import InputError

    ckpt = out / "checkpoint.json"
    if not ckpt.exists():
        return False
    try:
        return json.loads(ckpt.read_text()).get("architecture") == "orderless"
    except (OSError, ValueError, AttributeError):
        raise InputError(ckpt, "not a readable training checkpoint; start over with --force") from None


@app.command()
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


@app.command()
def models():
    """List shipped and your own models with their cards."""
    from rich.console import Console
    from rich.table import Table

    from cadenza.composer import list_models, model_dirs

    found = list_models()
    table = Table(title="Cadenza models")
    for col in ("name", "writes", "grid", "params", "valid loss", "trained on", "folder"):
        table.add_column(col)
    for path, meta in found:
        tok = meta.get("tokenizer", {})
        loss = meta.get("valid_loss", float("nan"))
        if tok.get("kind") == "voices":
            writes = "melody" if tok["n_voices"] == 1 else f"{tok['n_voices']} voices"
            grid, loss = f"1/{4 * tok['steps_per_beat']} notes", f"{loss:.3f} per cell"
        elif tok.get("kind") == "cells":  # the orderless model
            writes = f"harmonize, infill ({tok['n_voices']} voices)"
            grid, loss = f"1/{4 * tok['steps_per_beat']} notes", f"{loss:.3f} per hidden cell"
        else:  # a likelihood benchmark model: it scores piano rolls, it does not write music
            writes, grid, loss = "(benchmark)", "piano roll", f"{loss:.3f} per step"
        table.add_row(path.name, writes, grid, f"{meta.get('params', 0) / 1e6:.2f}M", loss,
                      str(meta.get("train", {}).get("data")), str(path))
    Console(width=160).print(table)
    if not found:
        typer.echo("no models found in: " + ", ".join(str(d) for d in model_dirs()))
    for path, _ in found:
        card = path / "card.md"
        if card.exists():
            typer.echo(f"\n--- {path.name}: {card} ---\n" + card.read_text().split("\n## ")[0].strip())


bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks: exact likelihood on published data sets.")
app.add_typer(bench_app, name="bench")


@bench_app.command("nll")
def bench_nll(
    data: Path = typer.Option(..., help="a piano-roll benchmark file, e.g. ../shared/benchmarks/jsb_chorales.json.gz"),
    checkpoint: Optional[Path] = typer.Option(None, help="evaluate this saved benchmark model instead of training"),
    out: Optional[Path] = typer.Option(None, help="folder for the trained model [default: runs/bench-DATA]"),
    minutes: float = typer.Option(60.0, help="training time budget (ignored with --steps)"),
    steps: int = typer.Option(0, help="exact number of optimizer steps; 0 = use --minutes"),
    block_size: int = typer.Option(768, help="context length in tokens"),
    layers: int = typer.Option(6), heads: int = typer.Option(6), embd: int = typer.Option(192),
    dropout: float = typer.Option(0.3), lr: float = typer.Option(1e-3),
    batch_size: int = typer.Option(4, help="rows of --block-size tokens per step, each packed with windows"),
    attn_dropout: float = typer.Option(0.0, help="dropout on attention weights (0 allows the fused attention kernel, "
                                                 "several times faster)"),
    bf16: Optional[bool] = typer.Option(None, "--bf16/--fp32", help="train under bfloat16 autocast [default: where "
                                        "the hardware has it natively]; evaluation is always fp32"),
    rope: bool = typer.Option(True, help="rotary (relative) positions; --no-rope: learned absolute ones (worse here: docs/BENCHMARKS.md)"),
    transpose: int = typer.Option(6, help="augment the training split by transposition up to this many semitones"),
    shift_aware: bool = typer.Option(False, help="tell the model each training window's transposition (scoring "
                                                 "tells it 0), so it can learn the untransposed keys and ranges"),
    eval_every: int = typer.Option(500, help="validate every this many steps (and at the end)"),
    patience: int = typer.Option(3, help="stop after this many validations in a row without a new best (0: never)"),
    seed: int = typer.Option(0),
    baselines: bool = typer.Option(False, help="also print the independent-pitch and step n-gram baselines"),
    resume: bool = typer.Option(False, help="continue an interrupted benchmark run in --out"),
    force: bool = typer.Option(False, help="start over in an --out that already holds a model"),
    with_ngram: bool = typer.Option(False, help="also report the network mixed with the step 3-gram "
                                                "(the mixing weight chosen on the valid split)"),
    quiet: bool = typer.Option(False),
):
    """Frame-level NLL per time step (nats) on valid and test: train from scratch, or --checkpoint."""
    from cadenza import bench
    from cadenza.errors import OptionError

    echo = (lambda m: None) if quiet else say
    d = bench.load_benchmark(data)  # read once; a bad file is reported before any work
    if baselines:
        from cadenza.evaluate.step_baselines import IndependentPitches, StepNGram, nll_per_step

        ind = IndependentPitches().fit(d["train"])
        ngram = StepNGram(ind, order=3).fit(d["train"])
        for name, model in (("independent pitches", ind), ("step 3-gram", ngram)):
            typer.echo(f"baseline {name}: valid NLL {nll_per_step(model, d['valid']):.3f}, "
                       f"test NLL {nll_per_step(model, d['test']):.3f}")
    if checkpoint is None:
        command = "cadenza bench nll " + " ".join(shlex.quote(a) for a in sys.argv[3:])
        out = out or Path("runs") / f"bench-{data.name.split('.')[0]}"
        if (out / "model.json").exists() and not (resume or force):
            raise OptionError(f"{out} already holds a model; use --checkpoint {out} to evaluate it, "
                              "--resume to continue it, or --force to start over")
        if resume:
            import json

            if not (out / "checkpoint.json").exists():
                raise OptionError(f"{out}: nothing to resume (no checkpoint.json); start without --resume")
            record = json.loads((out / "checkpoint.json").read_text())["bench"]
            record.setdefault("attn_dropout", record.get("dropout"))  # runs before the option dropped attention weights
            cfg = bench.BenchConfig(**record)
            if Path(cfg.data).resolve() != data.resolve():
                raise OptionError(f"{out} was trained on {cfg.data}; resume it with --data {cfg.data}")
        else:
            from cadenza.train import bf16_is_fast

            cfg = bench.BenchConfig(data=str(data), block_size=block_size, n_layer=layers, n_head=heads,
                                    n_embd=embd, dropout=dropout, attn_dropout=attn_dropout, rope=rope,
                                    batch_size=batch_size, lr=lr, steps=steps, minutes=minutes, eval_every=eval_every,
                                    patience=patience,
                                    transpose=transpose, shift_aware=shift_aware, seed=seed,
                                    bf16=bf16_is_fast() if bf16 is None else bf16)
        with progress_bar(quiet) as bar:
            task = bar.add_task("training", total=steps or None, info="")

            def on_step(state, loss, lr_now):
                best = f" best valid {state.best_valid:.3f}" if state.history else ""
                bar.update(task, completed=state.step, total=state.total_steps or None, info=f"loss {loss:.3f}{best}")
                if not quiet and not bar.console.is_terminal and state.step % 100 == 0:
                    echo(f"step {state.step}/{state.total_steps} loss {loss:.3f}{best}")

            bench.train_benchmark(cfg, d, out, resume=resume, progress=on_step, command=command)
    results, meta = bench.evaluate_checkpoint(checkpoint or out, d)
    mixed = bench.mix_with_ngram(d, results) if with_ngram else None
    if checkpoint is None:
        card = bench.write_card(out, meta, results, command, mixed)
        echo(f"wrote {card}")
        checkpoint = out
    typer.echo(f"model {checkpoint}: {meta['params']:,} parameters, trained {meta.get('train_minutes')} minutes "
               f"to step {meta.get('step')} on {meta.get('device')}, seed {meta['bench']['seed']}")
    for line in bench.result_lines(results, mixed):
        typer.echo(line)


cli_assistant.register(app)
cli_evaluate.register(app)


def main() -> None:
    """Entry point: user errors become one line on stderr and exit status 2."""
    from cadenza.errors import CadenzaError
    from cadenza.score import MusicError
    from cadenza.tokenize.voices import TokenizeError

    try:
        app()  # click's standalone mode handles usage errors (exit 2) and --help itself
    except (CadenzaError, MusicError, TokenizeError) as e:
        say(f"error: {e}".splitlines()[0])
        sys.exit(2)


if __name__ == "__main__":
    main()
