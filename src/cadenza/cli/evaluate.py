"""`cadenza evaluate` and `cadenza baseline` (the pieces an evaluation compares against)."""

from __future__ import annotations

from pathlib import Path

import typer

from cadenza.cli.common import pick_seed, progress_bars, say

baseline_app = typer.Typer(no_args_is_help=True, help="Write baseline pieces to evaluate beside a model's.")


HELDOUT_FORMATS = ("mid", "musicxml", "abc")  # what `baseline heldout` writes
FEW_PIECES = 30  # a classifier test on fewer candidate pieces than this has little power


def register(app: typer.Typer) -> None:
    app.command()(evaluate)
    app.add_typer(baseline_app, name="baseline")


def evaluate(
    generated: str = typer.Argument(..., help="a folder of pieces (any format cadenza reads)"),
    reference: str = typer.Option(
        ...,
        help="a built-in corpus name (its training split), a folder, or a split of a four-voice grid file "
        "(e.g. ../shared/benchmarks/jsb16th_satb.json.gz:test)",
    ),
    baseline: list[str] = typer.Option([], help="another set to compare, e.g. a baseline's folder (repeatable)"),
    out: Path = typer.Option(Path("report"), help="output stem: writes STEM.html and STEM.json"),
    force: bool = typer.Option(False, help="overwrite an existing report"),
    quiet: bool = typer.Option(False),
):
    """Measure pieces against a reference: pitch, harmony, voice leading, rhythm, structure (how bars
    and phrases return, bar similarity by distance, cadences) beside the spread of real pieces,
    novelty, and whether a classifier can tell them from the reference (0.5: it cannot)."""
    from cadenza.evaluate.report import evaluate as run
    from cadenza.evaluate.report import write_report
    from cadenza.io.files import check_writable

    out = out.with_suffix("") if out.suffix in (".html", ".json") else out
    for p in (out.parent / f"{out.name}.json", out.parent / f"{out.name}.html"):
        check_writable(p, force)
    with progress_bars(quiet) as progress:
        report = run(generated, reference, list(baseline), progress=progress)
    for label, s in report["sets"].items():
        if quiet:
            continue
        if s["skipped"]:
            say(f"{label}: skipped {len(s['skipped'])} files or pieces (listed in the JSON), e.g. {s['skipped'][0]}")
        c = s["classifier"]
        if c["run"]:
            say(
                f"{label}: classifier accuracy {c['accuracy']:.2f} (95% interval {c['low']:.2f}-{c['high']:.2f}; "
                f"{c['n_candidates']} vs {c['n_reference']} reference pieces; 0.5 = indistinguishable)"
                + (
                    f"; with under {FEW_PIECES} pieces the test can seldom tell sets apart: an interval that "
                    "includes 0.5 is no evidence either way"
                    if c["n_candidates"] < FEW_PIECES and c["low"] <= 0.5
                    else ""
                )
            )
        else:
            say(f"{label}: classifier test not run: {c['reason']}")
        if "structure" in s:
            say(structure_line(label, s["structure"], report["reference"]["structure"]))
    for p in write_report(report, out, force=force):
        typer.echo(str(p))


def structure_line(label: str, st: dict, ref: dict) -> str:
    """One line on a set's structure beside the reference's (cadenza.evaluate.structure)."""
    from cadenza.evaluate import structure

    def pct(x: float) -> str:
        return "-" if x != x else f"{100 * x:.1f}%"

    def measure(k: str, name: str) -> str:
        low, high, against = structure.inside_range(st["measures"][k], ref["measures"][k])
        return f"{name} {pct(st['measures'][k]['mean'])} ({against} {pct(low)}-{pct(high)})"

    parts = [measure(k, k.replace("_", " ")) for k in structure.RECURRENCE if k != "phrase_transposed"]
    cadences = [k for k in structure.measure_names(st) if k.startswith("cadence_") and k in ref["measures"]]
    if cadences:
        parts.append("phrase ends: " + ", ".join(measure(k, k[len("cadence_") :]) for k in cadences))
    if "sections" in st["measures"] and "sections" in ref["measures"]:
        low, high, against = structure.inside_range(st["measures"]["sections"], ref["measures"]["sections"])
        places = 1 if against == "real sets" else 0
        form = [f"sections {st['measures']['sections']['mean']:.1f} ({against} {low:.{places}f}-{high:.{places}f})"]
        form += [measure(k, k.replace("_", " ")) for k in structure.FORM[1:]]
        parts.append("form: " + ", ".join(form))
    e, spread = st.get("similarity_error", float("nan")), st.get("error_spread", {})
    inside, compared = structure.inside_count(st)
    within, _ = structure.inside_count(st, "inside_sets")
    return (
        f"{label}: structure: {', '.join(parts)}; similarity error {e:.3f} (sets of {spread.get('size', 0)} real "
        f"pieces of these lengths {spread.get('low', float('nan')):.3f}-{spread.get('high', float('nan')):.3f}); "
        f"{inside} of "
        f"{compared} measures inside the spread of real pieces, {within} within the means of as many real pieces"
        + ("" if st.get("cadences_measured") else "; no cadence rates (the analyzer is not available)")
    )


@baseline_app.command("markov")
def markov(
    model: str = typer.Option("chorales", help="the model whose training data and layout the chain copies"),
    out: Path = typer.Option(..., help="folder for the pieces"),
    n: int = typer.Option(100, "--n", help="number of pieces"),
    bars: int = typer.Option(16),
    order: int = typer.Option(9, help="n-gram order (9 scored best on the chorales' validation split)"),
    seed: int = typer.Option(0, help="piece i uses seed+i"),
    force: bool = typer.Option(False),
    quiet: bool = typer.Option(False, help="no progress on stderr"),
):
    """A smoothed n-gram Markov chain over the model's own tokens and training split, sampled."""
    from cadenza.compose import composer
    from cadenza.data.corpus import split_of
    from cadenza.evaluate.ngram import NGram, augmented, sample_piece
    from cadenza.families.voices import tokenize_pieces
    from cadenza.io import write_score

    seed = pick_seed(seed)
    c = composer.load(model)
    with progress_bars(quiet) as progress:
        train_p, _ = split_of(c.meta, lambda done, total: progress(f"reading {c.meta['train']['data']}", done, total))
        train_t, _ = tokenize_pieces(train_p, c.tokenizer)
        chain = NGram(order=order).fit(augmented(train_t, c.tokenizer, c.meta["train"]["transpose"]))
        out.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            progress("sampling", i, n)
            key, meter = c.default_key(seed + i), c.meter_for(bars, seed + i)  # as generate draws it
            score = c.tokenizer.decode(sample_piece(chain, c.tokenizer, key, meter, bars, seed + i))
            typer.echo(str(write_score(score, out / f"markov{order}-seed{seed + i}.mid", force=force)))


@baseline_app.command("heldout")
def heldout(
    model: str = typer.Option("chorales", help="the model whose held-out validation pieces to write"),
    out: Path = typer.Option(..., help="folder for the pieces"),
    fmt: str = typer.Option(
        "mid",
        "--format",
        help="mid, musicxml or abc: as the pieces compared with them are written (MIDI carries no fermatas)",
    ),
    force: bool = typer.Option(False),
    quiet: bool = typer.Option(False, help="no progress on stderr"),
):
    """The model's held-out real pieces (never trained on), as MIDI or --format: the ceiling to
    compare with."""
    from cadenza.compose import composer
    from cadenza.data.corpus import split_of
    from cadenza.errors import OptionError
    from cadenza.io import write_score

    suffix = fmt.strip().lstrip(".").lower()
    if suffix not in HELDOUT_FORMATS:
        raise OptionError(f"--format {fmt!r}: choose from {', '.join(HELDOUT_FORMATS)}")
    c = composer.load(model)
    with progress_bars(quiet) as progress:
        _, valid = split_of(c.meta, lambda done, total: progress(f"reading {c.meta['train']['data']}", done, total))
    out.mkdir(parents=True, exist_ok=True)
    for p in valid:
        typer.echo(str(write_score(p.score, out / f"{heldout_name(p.id)}.{suffix}", force=force)))


def heldout_name(piece_id: str) -> str:
    """A held-out piece's file name, without suffix: its path in the corpus, flattened, less the
    file's suffix, with its tune number where the file holds several ("essen:altdeu10.abc#12" ->
    "altdeu10-12"), so that no two pieces of one split share a name."""
    path, _, number = piece_id.split(":")[-1].partition("#")
    stem = str(Path(path).with_suffix("")).replace("/", "_")
    return f"{stem}-{number}" if number else stem
