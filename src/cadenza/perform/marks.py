"""Articulation marks, played: how a performer follows the staccato dots, tenuto lines, accents
and slurs a score writes (`Note.marks`, cadenza.score.MARKS, filled by the MusicXML reader).

One function, `with_marks`, applied to whatever a performer (rules, learned) decided: a mark
bounds what the performer may do with its note, it does not replace the performer's own
shaping. The bounds are on articulation (sounding / written length, see
cadenza.perform.performance.Expression), so a performer's own shorter staccato or longer
legato is kept. Dynamics and accents are already velocities in the score (the reader puts
them there), so no mark here changes a velocity. Notes without marks are left as they are.

How each mark is played, and why (the sources were recalled, not at hand: the numbers are
as remembered, and those that are our own choice say so):

- staccato: sounding at most half its written length (STACCATO 0.5). C. P. E. Bach's Versuch
  (1753) has detached notes held a little less than half their value; Bresin & Battel 2000
  (R. Bresin and G. U. Battel, "Articulation strategies in expressive piano performance",
  J. New Music Research 29(3), 211-224), measuring pianists' staccato in Mozart's K 545, found
  staccato notes sounding well under half their inter-onset interval (IOI), largely
  independent of the tempo; Bresin 2001's Score-staccato-art rule (KTH's articulation rules,
  "Articulation rules for automatic music performance", Proc. ICMC) plays them so;
- staccatissimo: at most 0.3 (STACCATISSIMO; our choice: shorter than staccato);
- a dot with a slur or a tenuto line (portato, louré): at most 0.75 (PORTATO; our choice, the
  "half-detached" of the treatises): detached, but held longer than a staccato;
- tenuto: at least 0.95 of its length (TENUTO): held its full value, less the release;
- slur (a note under a slur but its last): legato, sounding until the next note of its part
  starts, on a piano a little past it (Bresin & Battel 2000: pianists' legato is a key
  overlap, the released key coming up after the next has gone down; Bresin 2001's
  Score-legato-art rule models its size against the IOI). Here the overlap is LEGATO_OVERLAP
  5 % of the note's IOI (our choice: a touch, not a size taken from the paper), none when
  the next note repeats its pitch (a key cannot be held and struck again) and none in a choir
  or on an organ (`choir`), where legato means joined, not overlapped. At least 1.0 in any case;
- slur-end (a slur's last note): at most 0.85 (SLUR_END): the hand lifts at the end of a
  slur, the slur's last note shortened (the "lift" of piano methods; the 0.85 is our choice).
  Not when the note also starts the next slur ("slur" wins, a note ending one slur and
  beginning another joining the next) or is tenuto;
- accent, marcato: not anticipated, an onset not early against the beat (the performer's
  early shifts are taken back, the melody lead of a chord's top note on a piano, Palmer 1996,
  aside: MELODY_LEAD_S), and a small agogic accent (Riemann 1884's agogischer Akzent: an
  accented note lengthened): the beat it starts in is AGOGIC_ACCENT 3 % longer (our size;
  once per beat, however many accents start in it);
- grace: at most its written length (GRACE 1.0 of the 64th it is read as,
  cadenza.score.GRACE_NOTE_BEATS; our choice): a performer that holds notes longer than
  written (the learned one held a grace note four times as long, into its note) plays it
  short, as an ornament;
- staccato and staccatissimo (not portato) under the sustain pedal: the pedal comes up at the
  dotted note and goes down again when its written length is over (STACCATO's source above:
  a held pedal would sound the note its full value and undo the dot; our rule, where a score
  writes no pedal marks of its own).

Applied once, after the performer and after its expressiveness is scaled
(cadenza.perform.perform): the marks are what the score says, played at every
expressiveness, so expressiveness 0 plays them too and 2 does not make a staccato twice as
short.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from cadenza.perform.performance import Expression, beat_index, notes_in_order, realize
from cadenza.perform.rules import MELODY_LEAD_S
from cadenza.score import Score

STACCATO, STACCATISSIMO, PORTATO = 0.5, 0.3, 0.75  # at most, of the written length
TENUTO = 0.95  # at least
SLUR_END = 0.85  # at most: the lift at a slur's end
GRACE = 1.0  # at most: a grace note sounds no longer than written
LEGATO_OVERLAP = 0.05  # a slurred piano note sounds past the next onset by 5 % of its IOI
AGOGIC_ACCENT = 1.03  # an accented note's beat 3 % longer
EPS = 1e-6


def with_marks(score: Score, expression: Expression, choir: bool = False) -> Expression:
    """`expression` following the articulation marks of `score`'s notes (see the module's
    docstring for how each is played). `choir`: sung or on an organ (legato joins, no overlap,
    no melody lead). Notes without marks, and every beat without an accent, keep their values;
    a score without marks returns `expression` itself."""
    order = notes_in_order(score)
    marks = [frozenset(n.marks) for _, n in order]
    if not any(marks):
        return expression
    accented = np.array([bool(m & {"accent", "marcato"}) for m in marks])
    starts = np.array([n.start_beats for _, n in order], dtype=np.float64)

    # the agogic accent: each beat an accented note starts in, once
    factor = expression.beat_factor.copy()
    if accented.any():
        beat_of = beat_index(expression.beats, starts)
        factor[np.unique(beat_of[accented])] *= AGOGIC_ACCENT

    # an accent is not early, but a piano's melody lead stays
    shift = expression.shift_seconds.copy()
    if accented.any():
        onsets, group = np.unique(np.round(starts, 6), return_inverse=True)
        pitch = np.array([n.pitch for _, n in order])
        highest = np.full(len(onsets), -1)
        np.maximum.at(highest, group, pitch)
        together = np.bincount(group, minlength=len(onsets))
        for a in np.flatnonzero(accented):
            top = together[group[a]] > 1 and pitch[a] == highest[group[a]]
            floor = -MELODY_LEAD_S if top and not choir else 0.0
            shift[a] = max(shift[a], floor)

    dotted = [(n.start_beats, n.end_beats) for (_, n), m in zip(order, marks) if _dot(m) in (STACCATO, STACCATISSIMO)]
    pedal = lifted(expression.pedal, dotted) if expression.pedal and dotted else list(expression.pedal)
    timed = replace(expression, beat_factor=factor, shift_seconds=shift, pedal=pedal)
    articulation = expression.articulation.copy()
    performance = realize(score, timed)
    played_start = np.array([n[2] for n in performance.notes])
    next_onsets = _next_onsets(order)
    for k, m in enumerate(marks):
        if not m & {"staccato", "staccatissimo", "tenuto", "slur", "slur-end", "grace"}:
            continue
        lo, hi = 0.0, np.inf
        dot = _dot(m)
        if "grace" in m:
            articulation[k] = min(articulation[k], GRACE)
            continue
        if dot is not None:
            hi = dot
        else:
            if "tenuto" in m:
                lo = TENUTO
            if "slur" in m:
                lo = max(lo, 1.0, _legato(k, order, next_onsets[k], performance, played_start, choir))
            elif "slur-end" in m and "tenuto" not in m:
                hi = SLUR_END
        articulation[k] = min(max(articulation[k], lo), hi)
    return replace(timed, articulation=articulation)


def _dot(marks: frozenset) -> float | None:
    """The most a dotted note may sound of its written length: STACCATISSIMO, STACCATO, or
    PORTATO for a dot under a slur or with a tenuto line; None for a note without a dot."""
    if not marks & {"staccato", "staccatissimo"}:
        return None
    return PORTATO if marks & {"slur", "tenuto"} else STACCATISSIMO if "staccatissimo" in marks else STACCATO


def lifted(pedal: list[tuple[float, float]], gaps: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The pedal spans (down, up) with the pedal up over every gap (start, end): a span that
    meets a gap is cut there and goes on after it; what is left of a span is kept if longer
    than EPS."""
    out = []
    gaps = sorted(gaps)
    for down, up in pedal:
        at = down
        for a, b in gaps:
            if b <= at + EPS or a >= up - EPS:
                continue
            if a > at + EPS:
                out.append((at, a))
            at = max(at, b)
        if up > at + EPS:
            out.append((at, up))
    return out


def _next_onsets(order) -> list[list[int]]:
    """For each note (notes_in_order index), the notes of its part that start where it ends
    (the next onset of its line): none when a rest or nothing follows."""
    by_part: dict[int, list[int]] = {}
    for k, (part, _) in enumerate(order):
        by_part.setdefault(part, []).append(k)
    out: list[list[int]] = [[] for _ in order]
    for ks in by_part.values():
        starts = np.array([order[j][1].start_beats for j in ks])
        for k in ks:
            end = order[k][1].end_beats
            at = int(np.searchsorted(starts, end - EPS, side="left"))
            if at < len(ks) and starts[at] <= end + EPS:
                out[k] = [ks[j] for j in range(at, len(ks)) if abs(starts[j] - starts[at]) <= EPS]
    return out


def _legato(k: int, order, following: list[int], performance, played_start: np.ndarray, choir: bool) -> float:
    """The articulation that carries note k (played as `performance`) to the first of the
    `following` notes' played onsets, past it by LEGATO_OVERLAP of its IOI on a piano when
    the next notes do not repeat its pitch; 1.0 when nothing follows."""
    if not following:
        return 1.0
    note = order[k][1]
    target = float(min(played_start[j] for j in following))
    ioi = max(target - played_start[k], 0.0)
    repeats = any(order[j][1].pitch == note.pitch for j in following)
    if not choir and not repeats:
        target += LEGATO_OVERLAP * ioi
    grid_start, grid_end = (float(x) for x in performance.seconds_at([note.start_beats, note.end_beats]))
    return (target - played_start[k]) / max(grid_end - grid_start, EPS)
