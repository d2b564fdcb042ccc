"""`cadenza evaluate`: measure folders of pieces against a reference and write report.json
(every number) and report.html (tables and figures for a musician).

Sets: "generated" (required), "baseline" (optional), and "reference" itself. For each scalar
measure of cadenza.evaluate.measures: mean, standard deviation and count per set, and for each
non-reference set the overlap area and KL divergence between its per-piece distribution and the
reference's (Gaussian kernel density estimates, as Yang and Lerch 2018 compare feature
distributions). Chord vocabulary: the share of chord occurrences also found in the reference
(cited) versus new ones (invented), after Pachet. Novelty: cadenza.evaluate.novelty.

Classifier two-sample test (cadenza.evaluate.classifier): for each non-reference set, the
cross-validated balanced accuracy, with its 95% Wilson interval, of a random forest (seed 0)
trained to tell the set's pieces from the reference's on per-voice statistics of a
sixteenth-note grid (pitch-change rate, where in the beat changes fall, melodic intervals, pitch
classes relative to the key) and the vertical intervals between voices. 0.5 means the features
cannot tell the sets apart, 1.0 that they always can. The grid has as many voices as most
reference pieces have pitched parts; a piece that does not fit it (a meter change) is left out
and listed in its set's skipped list; a set with fewer than CLASSIFIER_MIN_PIECES pieces on the
grid (or such a reference) is not tested, and the report says why. Beside it, each voice's
pitch-change rate per sixteenth step and its melodic intervals' shares by size (voice_profile),
for the reference and every set.

Structure like real music (cadenza.evaluate.structure, issue 13): for every set, the rates of
exact, transposed and varied recurrence of bars and phrases, the mean bar similarity by bar
distance with Museformer's similarity error against the reference's curve, and (with the
analyzer, cadenza.plan.analyze) the cadence rates at phrase ends; each beside the spread of the
reference's pieces (10th-90th percentile), with every other set's mean marked inside or outside.

The reference is a built-in corpus (its training split), a folder or file, or one split of a
four-voice grid file (PATH.json.gz:test, used as is): see cadenza.data.corpus.load.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from cadenza.errors import CadenzaError
from cadenza.evaluate import structure
from cadenza.evaluate.classifier import feature_names, grid_of, two_sample_test, voice_profile
from cadenza.evaluate.measures import SCALARS, measure_piece
from cadenza.evaluate.novelty import ReferenceIndex
from cadenza.score import Score
from cadenza.theory import voice_names

CLASSIFIER_MIN_PIECES = 4  # per set, on the grid: fewer and the test is not run
CLASSIFIER_SEED = 0


def load_set(
    source: str, reference_split: bool = False, progress: Callable[[int, int], None] | None = None
) -> tuple[list[tuple[str, Score]], list[str]]:
    """([(piece id, Score)], skipped lines) from a corpus name, a folder or file, or a split of a
    four-voice grid file (PATH.json.gz:test). A built-in corpus used as the reference contributes
    its training split only (its held-out pieces stay a fair ceiling); a grid file's named split
    is used as is. `progress(files done, files)` is called as files are read."""
    from cadenza.data import corpus

    data = corpus.load(source, progress=progress)
    pieces = data.pieces
    if reference_split and source in corpus.CORPORA:
        pieces = data.split(10)[0]
    return [(p.id, p.score) for p in pieces], list(data.skipped)


def measure_set(pieces, progress: Callable[[int, int], None] | None = None) -> tuple[list[dict], list[str]]:
    """([each piece's measures, with its "structure" (cadenza.evaluate.structure)], skipped lines)."""
    measured, skipped = [], []
    from cadenza.plan.analyze import analyze

    for i, (pid, score) in enumerate(pieces):
        if progress:
            progress(i, len(pieces))
        try:
            m = measure_piece(score)
            m["structure"] = structure.measure_piece(score, analyze)
        except (ValueError, IndexError, ZeroDivisionError) as e:
            skipped.append(f"{pid}: not measurable ({e})")
            continue
        m["id"], m["score"] = pid, score
        measured.append(m)
    return measured, skipped


def grid_voices(pieces: list[tuple[str, Score]]) -> int:
    """The most common number of pitched parts with notes among the pieces (the first seen on a
    tie; 4 when there are none): the voices of the classifier's grid."""
    counts = Counter(sum(1 for q in score.parts if q.notes and not q.is_drum) for _, score in pieces)
    return max(1, counts.most_common(1)[0][0]) if counts else 4


def grid_set(pieces: list[tuple[str, Score]], n_voices: int) -> tuple[list[np.ndarray], list[str]]:
    """(grids, skipped lines): each piece on the classifier's grid (grid_of), or a line saying why not."""
    grids, skipped = [], []
    for pid, score in pieces:
        try:
            grids.append(grid_of(score, n_voices))
        except (CadenzaError, ValueError) as e:
            skipped.append(f"{pid}: left out of the classifier test ({e})")
    return grids, skipped


def classifier_test(
    grids: list[np.ndarray],
    reference: list[np.ndarray],
    n_voices: int,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """The two-sample test of `grids` against `reference` as a dict: "run" true with the
    TestResult's fields, or false with a "reason"."""
    about = {"voices": n_voices, "features": len(feature_names(n_voices)), "seed": CLASSIFIER_SEED}
    if min(len(grids), len(reference)) < CLASSIFIER_MIN_PIECES:
        return {
            "run": False,
            "reason": f"needs at least {CLASSIFIER_MIN_PIECES} pieces on the {n_voices}-voice grid in each set; "
            f"this set has {len(grids)}, the reference {len(reference)}",
            "n_candidates": len(grids),
            "n_reference": len(reference),
            **about,
        }
    result = two_sample_test(grids, reference, seed=CLASSIFIER_SEED, progress=progress)
    return {"run": True, **result.to_dict(), **about}


def kde(values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Gaussian kernel density (Silverman's bandwidth) of `values` on `grid`, normalized there."""
    sd = values.std()
    bw = 1.06 * sd * len(values) ** -0.2 if sd > 0 else (grid[-1] - grid[0]) / 50 or 1.0
    dens = np.exp(-0.5 * ((grid[:, None] - values[None, :]) / bw) ** 2).sum(axis=1)
    return dens / (dens.sum() * (grid[1] - grid[0]))


def compare(values: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """(overlap area, KL(values || reference)) of the two densities; NaN when either is empty."""
    if not len(values) or not len(reference):
        return math.nan, math.nan
    lo, hi = min(values.min(), reference.min()), max(values.max(), reference.max())
    pad = (hi - lo) * 0.1 or 1.0
    grid = np.linspace(lo - pad, hi + pad, 400)
    p, q = kde(values, grid), kde(reference, grid)
    dx = grid[1] - grid[0]
    overlap = float(np.minimum(p, q).sum() * dx)
    kl = float((p * np.log(np.maximum(p, 1e-12) / np.maximum(q, 1e-12))).sum() * dx)
    return overlap, max(kl, 0.0)


def summarize(measured: list[dict], reference: list[dict] | None, ref_chords: set, index: ReferenceIndex | None):
    out: dict = {"pieces": len(measured), "measures": {}}
    for k in SCALARS:
        v = np.array([m[k] for m in measured if not math.isnan(m[k])])
        entry = {
            "mean": float(v.mean()) if len(v) else math.nan,
            "sd": float(v.std()) if len(v) else math.nan,
            "n": int(len(v)),
            "values": v.tolist(),
        }
        if reference is not None:
            r = np.array([m[k] for m in reference if not math.isnan(m[k])])
            entry["overlap"], entry["kl"] = compare(v, r)
        out["measures"][k] = entry
    chords: Counter = Counter()
    for m in measured:
        chords.update(m["chords"])
    total = sum(chords.values())
    cited = sum(c for ch, c in chords.items() if ch in ref_chords)
    out["chords"] = {
        "occurrences": total,
        "cited_share": cited / total if total else math.nan,
        "distinct": len(chords),
        "invented_distinct": sum(1 for ch in chords if ch not in ref_chords),
    }
    out["structure"] = structure.summarize(
        [m["structure"] for m in measured], [m["structure"] for m in reference] if reference is not None else None
    )
    hist = np.mean([m["pc_histogram"] for m in measured], axis=0) if measured else np.zeros(12)
    out["pc_histogram"] = hist.tolist()
    if index is not None:
        nov = [index.novelty(m["score"]) for m in measured]
        out["novelty"] = {
            "longest_copied_notes_mean": float(np.mean([n["longest_copied_notes"] for n in nov])) if nov else math.nan,
            "longest_copied_notes_max": float(max((n["longest_copied_notes"] for n in nov), default=math.nan)),
            "copied_window_share_mean": float(np.mean([n["copied_window_share"] for n in nov])) if nov else math.nan,
            "flagged": [m["id"] for m, n in zip(measured, nov) if n["plagiarism"]],
        }
    return out


def evaluate(
    generated: str,
    reference: str,
    baselines: list[str] | str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict:
    """Every set measured against the reference, and tested against it with the classifier.
    Baselines are labelled by their folder's name. `progress(what, done, total)` is called as
    files are read, pieces measured and classifiers fitted."""

    def step(what: str) -> Callable[[int, int], None] | None:
        return (lambda done, total: progress(what, done, total)) if progress else None

    baselines = [baselines] if isinstance(baselines, str) else list(baselines or [])
    sets = {"generated": generated}
    for b in baselines:
        label = Path(b).name or b
        sets[label if label not in sets and label != "reference" else f"{label} ({len(sets)})"] = b
    ref_pieces, ref_skipped = load_set(reference, reference_split=True, progress=step(f"reading {reference}"))
    ref_measured, ref_bad = measure_set(ref_pieces, step(f"measuring {reference}"))
    index = ReferenceIndex.build([s for _, s in ref_pieces])
    ref_chords: set = set()
    for m in ref_measured:
        ref_chords.update(m["chords"])
    n_voices = grid_voices(ref_pieces)
    ref_grids, ref_off_grid = grid_set(ref_pieces, n_voices)
    report = {
        "reference": {
            "source": reference,
            **summarize(ref_measured, None, ref_chords, None),
            "grid_voices": n_voices,
            "voice_profile": voice_profile(ref_grids),
            "skipped": ref_skipped + ref_bad + ref_off_grid,
        },
        "sets": {},
    }
    examples = {"reference": ref_measured[0] if ref_measured else None}
    for label, source in sets.items():
        pieces, skipped = load_set(source, progress=step(f"reading {label}"))
        measured, bad = measure_set(pieces, step(f"measuring {label}"))
        grids, off_grid = grid_set(pieces, n_voices)
        report["sets"][label] = {
            "source": source,
            **summarize(measured, ref_measured, ref_chords, index),
            "classifier": classifier_test(grids, ref_grids, n_voices, step(f"classifier test: {label}")),
            "voice_profile": voice_profile(grids),
            "skipped": skipped + bad + off_grid,
        }
        examples[label] = measured[0] if measured else None
    report["_examples"] = examples
    return report


# ---------------------------------------------------------------------------------------------
# writing


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _figures(report: dict) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = {"reference": report["reference"], **report["sets"]}
    palette = ["#444444", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e"]
    colors = {label: palette[i % len(palette)] for i, label in enumerate(sets)}
    figs = []
    fig, ax = plt.subplots(figsize=(8, 3))
    width = 0.8 / len(sets)
    for i, (label, s) in enumerate(sets.items()):
        ax.bar(np.arange(12) + i * width, s["pc_histogram"], width, label=label, color=colors.get(label))
    ax.set_xticks(np.arange(12) + 0.4, ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"])
    ax.set_title("pitch-class histogram (share of notes)")
    ax.legend()
    figs.append(("Pitch classes", _png(fig)))
    cols = 5
    rows = math.ceil(len(SCALARS) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.2 * rows))
    for ax, k in zip(axes.flat, SCALARS):
        for label, s in sets.items():
            v = np.array(s["measures"][k]["values"])
            if len(v) > 1 and v.std() > 0:
                grid = np.linspace(v.min() - v.std(), v.max() + v.std(), 200)
                ax.plot(grid, kde(v, grid), color=colors.get(label), label=label)
            elif len(v):
                ax.axvline(v.mean(), color=colors.get(label), label=label)
        ax.set_title(k.replace("_", " "), fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(SCALARS) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    figs.append(("Distributions of every measure (one value per piece)", _png(fig)))
    figs.append(("Bar similarity by distance", _png(_curve_figure(sets, colors))))
    examples = [(label, m) for label, m in report["_examples"].items() if m]
    fig, axes = plt.subplots(1, len(examples), figsize=(3.6 * len(examples), 3.4), squeeze=False)
    for ax, (label, m) in zip(axes[0], examples):
        ax.imshow(np.array(m["ssm"]), cmap="magma", vmin=0, vmax=1, origin="lower")
        ax.set_title(f"{label}: {m['id'][-40:]}", fontsize=8)
        ax.set_xlabel("bar")
        ax.set_ylabel("bar")
    figs.append(
        ("Bar self-similarity (first piece of each set): bright off-diagonal lines are returning material", _png(fig))
    )
    return figs


def _curve_figure(sets: dict, colors: dict):
    """Each set's mean bar similarity by distance, the reference's 10th-90th percentile shaded."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.2))
    t = np.arange(1, structure.MAX_DISTANCE + 1)
    for label, s in sets.items():
        curve = s.get("structure", {}).get("curve")
        if not curve:
            continue
        if label == "reference":
            ax.fill_between(
                t, curve["low"], curve["high"], color=colors.get(label), alpha=0.15, label="reference, 10-90%"
            )
        ax.plot(t, curve["mean"], marker="o", ms=3, color=colors.get(label), label=label)
    ax.set_xticks(t)
    ax.set_xlabel("bars apart")
    ax.set_ylabel("mean bar similarity")
    ax.set_title("bar similarity by distance (Museformer): peaks are distances at which music returns", fontsize=9)
    ax.legend(fontsize=7)
    return fig


def write_report(report: dict, out_stem: Path, force: bool = False) -> list[Path]:
    """STEM.json and STEM.html. Both are written in full (under temporary names) before either
    is renamed into place, so a killed run leaves the old pair, or none, or at worst a new JSON
    beside an old HTML: never a part of a file."""
    from cadenza.io.files import atomic_write_all, check_writable

    json_path, html_path = out_stem.parent / f"{out_stem.name}.json", out_stem.parent / f"{out_stem.name}.html"
    for p in (json_path, html_path):
        check_writable(p, force)
    figures = _figures(report)
    public = {k: v for k, v in report.items() if k != "_examples"}
    return atomic_write_all(
        [
            (json_path, (json.dumps(_no_nan(public), indent=1, default=_jsonable, allow_nan=False) + "\n").encode()),
            (html_path, _html(public, figures).encode()),
        ],
        force=force,
    )


def _no_nan(x):
    """`x` with every NaN or infinite float as None (JSON's null): report.json is strict JSON."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _no_nan(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_no_nan(v) for v in x]
    return x


def _jsonable(x):
    if isinstance(x, Counter):
        return {" ".join(map(str, k)): v for k, v in x.items()}
    return str(x)


def _fmt(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def _classifier_html(report: dict) -> str:
    """The classifier test's table and the per-voice profiles beside the reference's."""
    rows = []
    for label, s in report["sets"].items():
        c = s.get("classifier")
        if not c:
            continue
        if c["run"]:
            row = (
                f"<td>{_fmt(c['accuracy'])}</td><td>{_fmt(c['low'])}–{_fmt(c['high'])}</td>"
                f"<td>{c['n_candidates']} vs {c['n_reference']}</td>"
                f"<td>{c['folds']}-fold cross-validation × {c['repeats']}</td>"
            )
        else:
            row = f"<td colspan=3>not run: {html.escape(c['reason'])}</td><td></td>"
        rows.append(f"<tr><th>{html.escape(label)}</th>{row}</tr>")
    if not rows:
        return ""
    ref = report["reference"]
    n = ref.get("grid_voices", 0)
    profiles = {
        "reference": ref.get("voice_profile", []),
        **{k: s.get("voice_profile", []) for k, s in report["sets"].items()},
    }
    names = voice_names(n)
    head = "".join(f"<th>{html.escape(label)}</th>" for label in profiles)
    rate_rows = []
    for v, name in enumerate(names):
        ref_rate = profiles["reference"][v]["change_rate"] if v < len(profiles["reference"]) else math.nan
        cells = []
        for label, prof in profiles.items():
            rate = prof[v]["change_rate"] if v < len(prof) else math.nan
            ratio = rate / ref_rate if label != "reference" and ref_rate and not math.isnan(ref_rate) else math.nan
            extra = f" <small>({ratio:.2f}× the reference)</small>" if not math.isnan(ratio) else ""
            cells.append(f"<td>{_fmt(rate)}{extra}</td>")
        rate_rows.append(f"<tr><th>{html.escape(name)}</th>{''.join(cells)}</tr>")
    sizes = [str(i) for i in range(1, 8)] + ["8+"]
    interval_rows = []
    for v, name in enumerate(names):
        for label, prof in profiles.items():
            shares = prof[v]["intervals"] if v < len(prof) else [math.nan] * len(sizes)
            interval_rows.append(
                f"<tr><th>{html.escape(name)}</th><td>{html.escape(label)}</td>"
                + "".join(f"<td>{_fmt(x)}</td>" for x in shares)
                + "</tr>"
            )
    return f"""<h2>Can a classifier tell each set from the reference?</h2>
<p>A random forest learns to tell a set's pieces from the reference's, from statistics of each piece on a
sixteenth-note grid of {n} voices: per voice, how often the pitch changes, where in the beat it changes, its
melodic intervals and its pitch classes relative to the key; per pair of voices, their vertical intervals. The
table gives its cross-validated balanced accuracy: <b>0.5 means it cannot tell the set from the reference</b>
(indistinguishable by these features), 1.0 that it always can; an interval that includes 0.5 is no evidence of
a difference. Form is not seen: pieces with their bars shuffled look alike to it.</p>
<table><tr><th>set</th><th>accuracy</th><th>95% interval</th><th>pieces (set vs reference)</th><th>method</th></tr>
{"".join(rows)}</table>
<h3>Pitch changes per sixteenth step, by voice</h3>
<table><tr><th>voice</th>{head}</tr>{"".join(rate_rows)}</table>
<h3>Melodic intervals by voice (share of pitch changes by size in semitones)</h3>
<table><tr><th>voice</th><th>set</th>{"".join(f"<th>{x}</th>" for x in sizes)}</tr>{"".join(interval_rows)}</table>"""


def _pct(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def _structure_html(report: dict) -> str:
    """The structure table: each measure's mean per set beside the reference's spread."""
    ref = report["reference"].get("structure")
    if not ref:
        return ""
    sets = {k: s["structure"] for k, s in report["sets"].items() if "structure" in s}
    head = "".join(f"<th>{html.escape(label)}</th>" for label in sets)
    rows = []
    for k in structure.measure_names(ref):
        show = _fmt if k in ("similarity_error", "sections") else _pct
        r = ref["measures"][k]
        cells = [f"<td>{show(r['mean'])}<br><small>real pieces: {show(r['low'])} to {show(r['high'])}</small></td>"]
        for s in sets.values():
            m = s["measures"].get(k)
            if not m:
                cells.append("<td>–</td>")
                continue
            mark = {True: "inside", False: "<b>outside</b>", None: ""}[m.get("inside")]
            if m.get("inside_sets") is not None:
                mark += (
                    f"; {'within' if m['inside_sets'] else '<b>not within</b>'} the means of {m['n']} real pieces "
                    f"({show(m['sets_low'])} to {show(m['sets_high'])})"
                )
            cells.append(f"<td>{show(m['mean'])}<br><small>{mark}</small></td>")
        rows.append(f"<tr><th>{html.escape(structure.label(k))}</th>{''.join(cells)}</tr>")
    se_cells = ["<td>–</td>"]
    for s in sets.values():
        e, spread = s.get("similarity_error", math.nan), s.get("error_spread", {})
        mark = {True: "inside", False: "<b>outside</b>", None: ""}[s.get("similarity_error_inside")]
        se_cells.append(
            f"<td>{_fmt(e)}<br><small>sets of {spread.get('size', 0)} real pieces of these lengths: "
            f"{_fmt(spread.get('low'))} to "
            f"{_fmt(spread.get('high'))}; {mark}</small></td>"
        )
    se_name = "similarity error of the set's mean curve against real pieces of its lengths (Museformer's SE)"
    rows.append(f"<tr><th>{se_name}</th>{''.join(se_cells)}</tr>")
    counts = "; ".join(
        f"{html.escape(label)}: {structure.inside_count(s)[0]} of {structure.inside_count(s)[1]} measures inside "
        f"the spread of real pieces, {structure.inside_count(s, 'inside_sets')[0]} within the means of real sets"
        for label, s in sets.items()
    )
    phrases = ref["phrases_from"]
    source = (
        "the analyzer's phrases (cadenza.plan.analyze)"
        if phrases["analyzer"]
        else f"windows of {structure.PHRASE_BARS} bars"
    )
    cadences = (
        " Cadences at phrase ends are the analyzer's (cadenza.plan.analyze): shares of each piece's phrase ends."
        if ref.get("cadences_measured")
        else " Cadence rates need the analyzer (cadenza.plan.analyze), which was not available to this run."
    )
    if "sections" in ref["measures"]:
        cadences += (
            " The form rows count the analyzer's sections (music that returns marks a new one): how many, how many "
            "return an earlier one, and how many end in a cadence."
        )
    failed = {label: s.get("analysis_errors", 0) for label, s in {"reference": ref, **sets}.items()}
    if any(failed.values()):
        cadences += " The analyzer failed on some pieces (measured with windows of bars and without cadences; the "
        cadences += "JSON says why): " + ", ".join(f"{html.escape(k)} {v}" for k, v in failed.items() if v) + "."
    return f"""<h2>Structure like real music</h2>
<p>Does music come back, as in real pieces? A bar <i>repeats exactly</i> when it equals an earlier bar (every
note's onset, pitch and duration, all parts together), <i>transposed</i> when it equals one moved by a
nonzero interval, <i>varied</i> when at least {structure.VARIED:.0%} of the two bars' notes are shared at the best
interval (intersection over union, Museformer's bar similarity); each bar counts once. Phrases are {source};
a phrase recurs when an earlier stretch of as many bars matches it bar by bar. The similarity error is the
mean absolute difference between a bar-similarity-by-distance curve (distances 1 to {structure.MAX_DISTANCE}
bars; figure below) and the reference's (Museformer, Yu et al. 2022). The reference column gives its mean and
the spread of its pieces (10th to 90th percentile); each other set's mean is marked <i>inside</i> or
<b>outside</b> that spread; as the spread of single pieces starts at 0 where most real pieces never repeat a
bar, each mean is also compared with the means of as many real pieces drawn at random (10th to 90th
percentile of {structure.SE_DRAWS} draws): a set of real pieces is <i>within</i> it 80% of the time. Where the
spread of single pieces is one value (0% to 0%, or 100% to 100%), a mean is inside it only if every piece
scores that value, which sets of real pieces rarely do: there <i>inside</i> means within the means of real
sets.{cadences}
The first {structure.MAX_BARS} bars of a piece are measured.</p>
<table><tr><th>measure</th><th>reference</th>{head}</tr>{"".join(rows)}</table>
<p>{counts}.</p>"""


def _html(report: dict, figures: list[tuple[str, str]]) -> str:
    sets = {"reference": report["reference"], **report["sets"]}
    head = "".join(
        f"<th>{html.escape(label)}<br><small>{html.escape(str(s['source']))}, {s['pieces']} pieces</small></th>"
        for label, s in sets.items()
    )
    rows = []
    for k in SCALARS:
        cells = []
        for s in sets.values():
            m = s["measures"][k]
            extra = f"<br><small>overlap {_fmt(m['overlap'])}, KL {_fmt(m['kl'])}</small>" if "overlap" in m else ""
            cells.append(f"<td>{_fmt(m['mean'])} ± {_fmt(m['sd'])}{extra}</td>")
        rows.append(f"<tr><th>{k.replace('_', ' ')}</th>{''.join(cells)}</tr>")
    chord_row = "".join(
        f"<td>{_fmt(s['chords']['cited_share'])} cited; {s['chords']['invented_distinct']} invented "
        f"of {s['chords']['distinct']} distinct</td>"
        for s in sets.values()
    )
    rows.append(f"<tr><th>chord vocabulary</th>{chord_row}</tr>")
    nov = []
    for label, s in report["sets"].items():
        n = s.get("novelty", {})
        flagged = ", ".join(html.escape(f) for f in n.get("flagged", [])[:20]) or "none"
        nov.append(
            f"<li><b>{label}</b>: longest melodic span copied from a reference piece "
            f"{_fmt(n.get('longest_copied_notes_mean'))} "
            f"notes on average (max {_fmt(n.get('longest_copied_notes_max'))}); 4-bar windows found in the "
            f"reference {_fmt(n.get('copied_window_share_mean'))}; flagged as likely copies: {flagged}</li>"
        )
        if s["skipped"]:
            nov.append(
                f"<li>{label}: {len(s['skipped'])} files or pieces skipped (unreadable, empty, not measurable or "
                "left out of the classifier test), listed in the JSON</li>"
            )
    figs = "".join(f"<h2>{html.escape(t)}</h2><img src='data:image/png;base64,{b}'>" for t, b in figures)
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Cadenza evaluation</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:2em auto}}td,th{{border:1px solid #ccc;padding:4px 8px;
text-align:left;vertical-align:top}}table{{border-collapse:collapse}}img{{max-width:100%}}</style></head><body>
<h1>Cadenza evaluation</h1>
<p>Each cell: mean ± standard deviation over pieces; under it, how close the set's distribution is to the
reference's (overlap area: 1 is identical; KL divergence: 0 is identical). The reference is
{html.escape(str(report["reference"]["source"]))} (a built-in corpus contributes its training split; a grid
file, the split it names).</p>
<table><tr><th>measure</th>{head}</tr>{"".join(rows)}</table>
{_structure_html(report)}
{_classifier_html(report)}
<h2>Novelty</h2><ul>{"".join(nov)}</ul>{figs}
<p><small>Measures are defined in cadenza/evaluate/measures.py; every number is in the JSON beside this
page.</small></p>
</body></html>"""
