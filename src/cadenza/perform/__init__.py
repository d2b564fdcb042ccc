"""The performing layer: how a quantized score is played.

`perform(score, performer=..., seed=...)` returns a Performance (cadenza.perform.performance):
the notes as played, in seconds, with velocities and sustain pedal, writable as MIDI
(`Performance.to_score()` through cadenza.io) and renderable as audio. Performers:

- "none": the score as written (its tempo marks and velocities, no pedal);
- "rules": the KTH rule system (cadenza.perform.rules);
- "learned": a network trained on ASAP's human performances (cadenza.perform.learned).

Chorales and other pieces in three or more single-line parts are played as a choir or an organ
would: legato, no pedal, a breath at each phrase end. Everything else is played as a pianist
would. The same seed gives the same performance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cadenza.errors import OptionError

if TYPE_CHECKING:
    from cadenza.perform.performance import Performance
    from cadenza.plan.form import Plan
    from cadenza.score import Score

PERFORMERS = ("none", "rules", "learned")
# The analyzer compares every bar with every other: past this many bars (a damaged file's note
# at beat 20,000) the rules group bars themselves rather than wait a minute for its phrases
ANALYZE_MAX_BARS = 600
MAX_EXPRESSIVENESS = 2.0


def check_performer(performer: str, expressiveness: float = 1.0) -> None:
    """One line for a performer or an expressiveness that does not exist."""
    if performer not in PERFORMERS:
        raise OptionError(f"unknown performer {performer!r}; choose from {', '.join(PERFORMERS)}")
    if not 0 <= expressiveness <= MAX_EXPRESSIVENESS:
        raise OptionError(f"--expressiveness must be 0 to {MAX_EXPRESSIVENESS:g}, not {expressiveness:g}")


def is_choral(score: Score) -> bool:
    """Three or more parts, each one line (no two notes of a part sounding at once): voices."""
    from cadenza.score import overlaps

    parts = [p for p in score.parts if not p.is_drum and p.notes]
    if len(parts) < 3:
        return False
    return not any(overlaps(p.notes) for p in parts)


def phrase_spans(score: Score, plan: Plan | None = None) -> list[tuple[float, float]] | None:
    """Phrase spans in beats, end to end: from the plan the piece was written to, else from the
    analyzer (cadenza.plan.analyze); None when the score's fermatas mark its phrases (a
    chorale's, theory.fermatas_mark_phrases: the rules end each phrase with its fermata's note,
    so an upbeat after it opens the next) or when neither finds
    any (the rules then group bars themselves). In a piece with a pickup each phrase begins
    with its upbeat, as many beats before its first bar line as the pickup is long."""
    from cadenza.score import pickup_start
    from cadenza.theory import fermatas_mark_phrases

    if fermatas_mark_phrases(score.fermatas_beats, score.end_beats, score.meter):  # better than any bar count
        return None
    bar = score.meter.bar_beats
    shift = pickup_start(score)
    if plan is not None:  # a plan counts bars from the first downbeat; the score's bar 0 holds the pickup
        ends = [bar_index + 1 + (1 if shift else 0) for bar_index, _ in plan.phrase_ends()]
    elif score.end_beats / bar > ANALYZE_MAX_BARS:
        return None
    else:
        try:
            from cadenza.plan.analyze import analyze

            ends = [p.end_bar for p in analyze(score).phrases]
        except Exception:  # an analyzer that cannot read this texture leaves the rules their own grouping
            return None
    upbeat = bar - shift if shift else 0.0
    cuts = sorted({e * bar - upbeat for e in ends if 0 < e * bar - upbeat < score.end_beats - 1e-6})
    edges = [0.0, *cuts, score.end_beats]
    spans = [(a, b) for a, b in zip(edges, edges[1:]) if b > a]
    return spans or None


def perform(
    score: Score,
    performer: str = "rules",
    seed: int = 0,
    expressiveness: float = 1.0,
    plan: Plan | None = None,
    model: str = "performer",
) -> Performance:
    """Play `score`. `expressiveness` scales every departure from the written score (0: as
    written, 1: the performer's own, 2: twice as much); `plan` (the form the piece was written
    to) gives the phrases, else the analyzer finds them; `model` names the learned performer's
    model (name or folder). The same arguments give the same performance."""
    from cadenza.perform.performance import deadpan, realize, scaled

    check_performer(performer, expressiveness)
    base = deadpan(score)
    if performer == "none" or not score.notes():
        return realize(score, base, "none")
    choir = is_choral(score)
    if performer == "rules":
        from cadenza.perform.rules import rules_expression

        expression = rules_expression(score, phrase_spans(score, plan), seed=seed, choir=choir)
    else:
        from cadenza.perform.learned import load_performer

        expression = load_performer(model).expression(score, seed=seed, choir=choir)
    from cadenza.perform.marks import with_marks

    # the score's articulation marks hold at every expressiveness: applied after scaling
    return realize(score, with_marks(score, scaled(expression, base, expressiveness), choir=choir), performer)
