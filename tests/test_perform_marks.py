"""Articulation marks as performed (cadenza.perform.marks.with_marks): staccato short, tenuto
held, slurs legato and lifted at their end, accents on time and a little long; unmarked notes
as the performer played them, for the rule performer and the learned one alike."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from cadenza.perform.marks import (
    AGOGIC_ACCENT,
    GRACE,
    LEGATO_OVERLAP,
    PORTATO,
    SLUR_END,
    STACCATISSIMO,
    STACCATO,
    TENUTO,
    lifted,
    with_marks,
)
from cadenza.perform.performance import deadpan, notes_in_order, realize
from cadenza.perform.rules import MELODY_LEAD_S, rules_expression
from cadenza.score import Key, Meter, Note, Part, Score, Tempo


def line(pitches, durations, marks=None, start: float = 0.0, velocity: int = 80) -> list[Note]:
    """A melody; `marks[i]` the i-th note's marks (a tuple, or a string for one mark)."""
    notes, t = [], start
    for i, (p, d) in enumerate(zip(pitches, durations)):
        m = (marks or {}).get(i, ())
        notes.append(Note(p, t, d, velocity, marks=(m,) if isinstance(m, str) else tuple(m)))
        t += d
    return notes


def piece(*parts: list[Note], bpm: float = 100.0) -> Score:
    return Score(
        parts=[Part(f"p{i}", notes=list(notes)) for i, notes in enumerate(parts)],
        tempos=[Tempo(0.0, bpm)],
        meters=[Meter(0.0, 4, 4)],
        keys=[Key(0.0, 0, "major")],
    )


def unmarked(score: Score) -> Score:
    return replace(score, parts=[replace(p, notes=[replace(n, marks=()) for n in p.notes]) for p in score.parts])


MELODY = [72, 74, 76, 77, 79, 77, 76, 74, 72, 76, 79, 77, 76, 74, 72, 72]


def marked_melody() -> Score:
    """Four bars of quarters: a staccato pair, a slur over four notes, tenutos, an accent, a
    staccatissimo, a portato; a held left-hand chord under each bar."""
    marks = {
        0: "staccato",
        1: "staccato",
        2: "slur",
        3: "slur",
        4: "slur",
        5: "slur-end",
        7: "tenuto",
        8: "accent",
        10: "staccatissimo",
        11: ("staccato", "slur"),
        12: ("slur-end", "slur"),  # ends one slur and starts the next: legato on
        13: "slur-end",
    }
    rh = line(MELODY, [1.0] * 16, marks)
    lh = [Note(p, 4.0 * b, 4.0, 64) for b in range(4) for p in (48, 52, 55)]
    return piece(rh, lh)


def melody_notes(score: Score) -> list[int]:
    """notes_in_order indices of the first part's notes, in time order."""
    return [k for k, (part, _) in enumerate(notes_in_order(score)) if part == 0]


def sounding(score: Score, expression) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The melody's played (start, end, next start) in seconds."""
    notes = realize(score, expression).notes
    top = melody_notes(score)
    start = np.array([notes[k][2] for k in top])
    end = np.array([notes[k][3] for k in top])
    return start, end, np.append(start[1:], np.inf)


def held(score: Score, expression) -> np.ndarray:
    """The melody's sounding lengths against their written lengths on the played time map."""
    perf = realize(score, expression)
    notes = [n for _, n in notes_in_order(score)]
    top = melody_notes(score)
    written = np.array([np.diff(perf.seconds_at([notes[k].start_beats, notes[k].end_beats]))[0] for k in top])
    return np.array([perf.notes[k][3] - perf.notes[k][2] for k in top]) / written


@pytest.fixture(params=["rules", "rules-choir", "deadpan"])
def performed(request):
    """(score, its expression, the expression following its marks): the marked melody played
    by the rules on a piano, by the rules sung, and as written."""
    score, choir = marked_melody(), request.param == "rules-choir"
    e = deadpan(score) if request.param == "deadpan" else rules_expression(score, seed=2, choir=choir)
    return score, e, with_marks(score, e, choir=choir)


# ---------------------------------------------------------------------------------------------
# each mark


def test_staccato_notes_sound_shorter_than_unmarked_ones(performed):
    score, plain, marked = performed
    ratio = held(score, marked)
    assert ratio[0] <= STACCATO + 1e-6 and ratio[1] <= STACCATO + 1e-6
    assert ratio[0] < 0.6 * ratio[6] and ratio[1] < 0.6 * ratio[9], "shorter than the unmarked notes"
    assert ratio[10] <= STACCATISSIMO + 1e-6, "staccatissimo shorter still"
    assert STACCATO < ratio[11] <= PORTATO + 1e-6, "a dot under a slur: portato"
    top = melody_notes(score)
    assert marked.articulation[top[0]] <= STACCATO and marked.articulation[top[10]] <= STACCATISSIMO


def test_slurred_notes_reach_the_next_onset(performed):
    score, plain, marked = performed
    start, end, nxt = sounding(score, marked)
    for i in (2, 3, 4, 12):
        assert end[i] >= nxt[i] - 1e-6, i


def test_a_piano_overlaps_slurred_notes_a_little():
    score = marked_melody()
    start, end, nxt = sounding(score, with_marks(score, deadpan(score)))
    for i in (2, 3, 4, 12):
        assert end[i] == pytest.approx(nxt[i] + LEGATO_OVERLAP * (nxt[i] - start[i]), abs=1e-5)
    start, end, nxt = sounding(score, with_marks(score, rules_expression(score, seed=2)))
    assert all(end[i] > nxt[i] for i in (2, 3, 4, 12))


def test_a_choir_joins_slurred_notes_without_overlap():
    score = marked_melody()
    start, end, nxt = sounding(score, with_marks(score, deadpan(score), choir=True))
    for i in (2, 3, 4, 12):
        assert end[i] == pytest.approx(nxt[i], abs=1e-5)


def test_a_slur_overrides_the_rules_micro_pauses():
    # a leap after a step, inside a slur: punctuation and leap articulation would detach 64
    score = piece(line([60, 62, 64, 72, 71, 69], [0.5] * 6, {i: "slur" for i in range(5)}))
    start, end, nxt = sounding(unmarked(score), rules_expression(unmarked(score)))
    assert end[2] < nxt[2] - 0.01, "the rules detach it"
    start, end, nxt = sounding(score, with_marks(score, rules_expression(score)))
    assert np.all(end[:5] >= nxt[:5] - 1e-6)


def test_a_repeated_pitch_under_a_slur_is_joined_not_overlapped():
    score = piece(line([67, 67, 69], [1.0] * 3, {0: "slur", 1: "slur", 2: "slur-end"}))
    start, end, nxt = sounding(score, with_marks(score, deadpan(score)))
    assert end[0] == pytest.approx(nxt[0], abs=1e-6)
    assert end[1] > nxt[1]


def test_a_slurs_last_note_is_lifted(performed):
    score, plain, marked = performed
    start, end, nxt = sounding(score, marked)
    top = melody_notes(score)
    assert marked.articulation[top[5]] <= SLUR_END and marked.articulation[top[13]] <= SLUR_END
    assert nxt[5] - end[5] > 0.05, "a lift before the next note"
    assert marked.articulation[top[12]] >= 1.0, "a slur's end that begins the next slur stays legato"


def test_a_grace_note_sounds_no_longer_than_written():
    """The learned performer held a grace note four times its written 64th, into its note."""
    melody = [Note(69, 0.0, 1.0), Note(74, 0.9375, 0.0625, 80, ("grace",)), Note(72, 1.0, 1.0), Note(71, 2.0, 2.0)]
    score = piece(melody)
    long = replace(deadpan(score), articulation=np.full(len(melody), 4.0))
    assert held(score, long)[1] == pytest.approx(4.0)
    ratio = held(score, with_marks(score, long))
    assert ratio[1] == pytest.approx(GRACE) and ratio[0] == pytest.approx(4.0) and ratio[3] == pytest.approx(4.0)


def test_tenuto_is_held(performed):
    score, plain, marked = performed
    top = melody_notes(score)
    assert marked.articulation[top[7]] >= TENUTO
    start, end, nxt = sounding(score, marked)
    assert end[7] >= nxt[7] - (1 - TENUTO) * 0.6 * 1.5


def test_an_accent_is_not_early_and_its_beat_a_little_long():
    score = marked_melody()
    e = deadpan(score)
    e.shift_seconds = np.full(len(e.shift_seconds), -0.03)
    m = with_marks(score, e)
    top = melody_notes(score)
    assert m.shift_seconds[top[8]] == pytest.approx(-MELODY_LEAD_S), "a chord's top note keeps its melody lead"
    assert m.beat_factor[8] == pytest.approx(AGOGIC_ACCENT)
    assert np.allclose(np.delete(m.beat_factor, 8), 1.0)
    assert np.array_equal(m.velocity, e.velocity), "accents are already in the velocities"
    alone = piece(line([72, 74, 76], [1.0] * 3, {1: "marcato"}))
    e = deadpan(alone)
    e.shift_seconds = np.array([-0.03, -0.03, 0.01])
    m = with_marks(alone, e)
    assert list(m.shift_seconds) == [-0.03, 0.0, 0.01]
    early = replace(deadpan(score), shift_seconds=np.full(len(notes_in_order(score)), -0.03))
    choir = with_marks(score, early, choir=True)
    assert choir.shift_seconds[top[8]] == 0.0


def test_the_pedal_comes_up_over_a_staccato_note():
    score = piece(
        line([72, 74, 76, 77], [1.0] * 4, {1: "staccato", 2: ("staccato", "slur")}),
        [Note(48, 0.0, 4.0, 64)],
    )
    e = deadpan(score)
    e.pedal = [(0.0, 4.0)]
    assert with_marks(score, e).pedal == [(0.0, 1.0), (2.0, 4.0)]  # up over the dot, down over the portato


def test_lifted_cuts_each_span_at_the_gaps():
    assert lifted([(0.0, 8.0)], [(2.0, 3.0), (5.0, 6.0)]) == [(0.0, 2.0), (3.0, 5.0), (6.0, 8.0)]
    assert lifted([(0.0, 2.0), (4.0, 6.0)], [(1.5, 4.5)]) == [(0.0, 1.5), (4.5, 6.0)]
    assert lifted([(1.0, 2.0)], [(0.0, 3.0)]) == []
    assert lifted([(0.0, 1.0)], [(1.0, 2.0)]) == [(0.0, 1.0)]  # a gap that only touches it


def test_a_performers_own_shorter_staccato_and_longer_legato_are_kept():
    score = piece(line([72, 74, 76, 77], [1.0] * 4, {0: "staccato", 1: "slur", 2: "tenuto"}))
    e = deadpan(score)
    e.articulation = np.array([0.2, 1.3, 1.1, 1.0])
    assert list(with_marks(score, e).articulation) == [0.2, 1.3, 1.1, 1.0]


# ---------------------------------------------------------------------------------------------
# unmarked notes, and the performers


def test_notes_without_marks_are_played_as_the_performer_plays_them(performed):
    score, plain, marked = performed
    order = notes_in_order(score)
    free = [k for k, (_, n) in enumerate(order) if not n.marks]
    assert free
    for field in ("velocity", "shift_seconds", "articulation"):
        assert np.array_equal(getattr(marked, field)[free], getattr(plain, field)[free]), field
    assert np.array_equal(np.delete(marked.beat_factor, 8), np.delete(plain.beat_factor, 8))
    dotted = [(0.0, 1.0), (1.0, 2.0), (10.0, 11.0)]  # the staccatos and the staccatissimo, not the portato
    assert marked.pedal == lifted(plain.pedal, dotted) and np.array_equal(marked.beats, plain.beats)
    assert np.array_equal(marked.velocity, plain.velocity)


def test_a_score_without_marks_is_played_unchanged():
    score = unmarked(marked_melody())
    e = rules_expression(score, seed=1)
    assert with_marks(score, e) is e


def test_marks_leave_the_input_expression_alone():
    score = marked_melody()
    e = rules_expression(score, seed=1)
    before = (e.beat_factor.copy(), e.shift_seconds.copy(), e.articulation.copy())
    with_marks(score, e)
    assert all(np.array_equal(a, b) for a, b in zip(before, (e.beat_factor, e.shift_seconds, e.articulation)))


def test_the_learned_performer_follows_the_marks(monkeypatch):
    """The learned performer's expression (its network stubbed: every note legato 1.2,
    pushed 30 ms early) with the marks followed."""
    import cadenza.perform.learned as family
    from cadenza.perform.learned import LearnedPerformer

    def predict(model, features, block):
        pred = np.zeros((len(features), len(family.TARGETS)))
        pred[:, family.TARGETS.index("log_articulation")] = np.log(1.2)
        pred[:, family.TARGETS.index("shift")] = -0.03 / family.SHIFT_UNIT
        return pred

    monkeypatch.setattr(family, "predict", predict)
    score = marked_melody()
    e = LearnedPerformer(None, {"model": {"block_size": 32}}, Path(".")).expression(score)
    m = with_marks(score, e)
    top = melody_notes(score)
    a = m.articulation
    assert a[top[0]] <= STACCATO and a[top[10]] <= STACCATISSIMO and a[top[5]] <= SLUR_END
    assert a[top[6]] == pytest.approx(1.2) and a[top[7]] == pytest.approx(1.2), "unmarked and tenuto as it played"
    assert m.shift_seconds[top[8]] == pytest.approx(-MELODY_LEAD_S)
    perf = realize(score, m, "learned")
    assert all(0 <= s < t for _, _, s, t, _ in perf.notes)


@pytest.mark.parametrize("choir", [False, True])
def test_a_marked_piece_realizes_a_valid_performance(choir):
    score = marked_melody()
    e = with_marks(score, rules_expression(score, seed=1, choir=choir), choir=choir)
    n = len(notes_in_order(score))
    assert len(e.articulation) == len(e.shift_seconds) == len(e.velocity) == n
    assert len(e.beat_factor) == len(e.beats) - 1 and np.all(e.articulation > 0)
    perf = realize(score, e, "rules")
    assert np.all(np.diff(perf.seconds) > 0) and len(perf.notes) == n
    assert all(0 <= s < t and 1 <= v <= 127 for _, _, s, t, v in perf.notes)
    assert len(perf.to_score().notes()) == n


def test_perform_follows_the_marks_at_every_expressiveness():
    from cadenza.perform import perform

    score = marked_melody()
    top = melody_notes(score)
    for amount in (0.0, 1.0, 2.0):
        performance = perform(score, "rules", seed=1, expressiveness=amount)
        notes = performance.notes
        written = np.diff(performance.seconds_at([0.0, 1.0]))[0]
        assert 0.5 * STACCATO < (notes[top[0]][3] - notes[top[0]][2]) / written <= STACCATO + 1e-6, amount
        assert notes[top[2]][3] >= notes[top[3]][2] - 1e-6, amount
