"""The KTH rule performer (cadenza.perform.rules): each rule's direction, one rule at a time,
then the whole palette on a two-hand piano piece and a four-part chorale."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from cadenza.perform.performance import deadpan, notes_in_order, realize
from cadenza.perform.rules import (
    DEFAULT_PALETTE,
    RULES,
    Rule,
    derive_phrases,
    ritard_tempo,
    rules_expression,
)
from cadenza.score import Key, Meter, Note, Part, Score, Tempo


def only(name: str, k: float = 1.0) -> tuple[Rule, ...]:
    return (Rule(name, k, ""),)


def line(pitches, durations, start: float = 0.0, velocity: int = 80) -> list[Note]:
    notes, t = [], start
    for p, d in zip(pitches, durations):
        notes.append(Note(p, t, d, velocity))
        t += d
    return notes


def piece(*parts: list[Note], bpm=120.0, meter=(4, 4), key=Key(0.0, 0, "major"), fermatas=()) -> Score:
    return Score(
        parts=[Part(f"p{i}", notes=list(notes)) for i, notes in enumerate(parts)],
        tempos=[Tempo(0.0, bpm)],
        meters=[Meter(0.0, *meter)],
        keys=[key],
        fermatas_beats=list(fermatas),
    )


def two_hand() -> Score:
    """8 bars of 4/4 in C: a right-hand melody (quarters, a pair of eighths in some bars) over
    left-hand half-note triads, I IV V I."""
    melody = [72, 74, 76, 77, 79, 77, 76, 74, 72, 76, 79, 84, 83, 81, 79, 77]
    melody += [76, 77, 79, 81, 79, 77, 76, 74, 76, 74, 72, 71, 72, 72, 72, 72]
    rh: list[Note] = []
    for i, p in enumerate(melody):
        if i % 8 == 6:
            rh += [Note(p, float(i), 0.5, 80), Note(p - 1, i + 0.5, 0.5, 80)]
        else:
            rh.append(Note(p, float(i), 1.0, 80))
    chords = [(48, 52, 55), (53, 57, 60), (55, 59, 62), (48, 52, 55)] * 4
    lh = [Note(p, 2.0 * b, 2.0, 70) for b, chord in enumerate(chords) for p in chord]
    return piece(rh, lh, bpm=100.0)


def chorale() -> Score:
    """A chorale-like four-part piece in G, quarter notes, fermatas ending its three phrases."""
    s = [67, 69, 71, 72, 74, 72, 71, 69, 67, 67, 69, 71, 72, 74, 72, 71, 69, 67, 66, 67]
    a = [64, 65, 67, 67, 67, 67, 67, 64, 62, 64, 65, 67, 67, 67, 67, 67, 64, 64, 62, 62]
    t = [60, 60, 62, 64, 59, 60, 62, 60, 59, 60, 60, 62, 64, 65, 64, 62, 60, 60, 57, 59]
    b = [48, 53, 55, 52, 55, 57, 55, 57, 55, 52, 53, 55, 52, 50, 52, 55, 57, 52, 50, 43]
    voices = [line(v, [1.0] * len(v)) for v in (s, a, t, b)]
    return piece(*voices, bpm=80.0, key=Key(0.0, 7, "major"), fermatas=(7.0, 15.0, 19.0))


def played(score: Score, expression) -> list[tuple[int, int, float, float, int]]:
    """The realized notes, in notes_in_order order."""
    return realize(score, expression).notes


# ---------------------------------------------------------------------------------------------
# the palette


def test_the_default_palette_names_known_rules_with_dm_strengths():
    names = [r.name for r in DEFAULT_PALETTE]
    assert len(names) == len(set(names))
    assert set(names) <= set(RULES) | {"noise"}
    k = {r.name: r.k for r in DEFAULT_PALETTE}
    assert k["phrase_arch"] == k["subphrase_arch"] == 1.5
    assert k["punctuation"] == 1.1
    assert k["high_loud"] == k["melodic_charge"] == k["duration_contrast"] == 1.0


def test_an_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="unknown performance rules"):
        rules_expression(two_hand(), palette=only("louder_everywhere"))


def test_an_empty_palette_plays_deadpan():
    score = two_hand()
    e, d = rules_expression(score, palette=()), deadpan(score)
    assert np.allclose(e.beat_factor, 1.0)
    assert np.allclose(e.velocity, d.velocity)
    assert np.allclose(e.shift_seconds, 0.0)
    assert np.allclose(e.articulation, 1.0)
    assert e.pedal == []


# ---------------------------------------------------------------------------------------------
# phrases


def test_phrases_derived_are_four_bars_ending_at_the_last_note():
    phrases, subs = derive_phrases(two_hand())
    assert phrases == [(0.0, 16.0), (16.0, 32.0)]
    assert subs == [(0.0, 8.0), (8.0, 16.0), (16.0, 24.0), (24.0, 32.0)]


def test_a_pickup_opens_the_first_phrase():
    # a one-beat pickup (beat 3 of bar 0), eight bars, a last bar of three beats: ends at 35
    score = piece(line([67] * 32, [1.0] * 32, start=3.0))
    phrases, _ = derive_phrases(score)
    assert phrases == [(0.0, 19.0), (19.0, 35.0)]


def test_a_chorales_phrases_end_at_its_fermatas():
    phrases, subs = derive_phrases(chorale())
    assert phrases == [(0.0, 8.0), (8.0, 16.0), (16.0, 20.0)]
    assert subs[:2] == [(0.0, 4.0), (4.0, 8.0)]


# ---------------------------------------------------------------------------------------------
# the rules one at a time


def test_phrase_arch_is_slower_and_softer_at_the_phrase_ends_than_in_the_middle():
    score = piece(line([72] * 16, [1.0] * 16))
    e = rules_expression(score, phrases=[(0.0, 16.0)], palette=only("phrase_arch", 1.5))
    f, v = e.beat_factor, e.velocity
    turn = 4  # turn 0.3 of 16 beats: the fastest, loudest beat
    assert f[0] > f[turn] and f[14] > f[turn]
    assert f[14] > f[0]  # next 1.3: the closing ritardando deeper than the opening
    assert np.argmin(f) in (4, 5)
    assert v[0] < v[turn] and v[15] < v[turn] and v[14] < v[8]
    assert np.all(np.diff(f[5:15]) > 0), "a steady ritardando from the turn to the last note"
    assert sum(f) == pytest.approx(16.0), "a phrase keeps its length"


def test_subphrase_arch_shapes_each_half():
    score = piece(line([72] * 16, [1.0] * 16))
    e = rules_expression(score, phrases=[(0.0, 16.0)], palette=only("subphrase_arch", 1.5))
    f = e.beat_factor
    assert f[6] > f[4] < f[0] and f[14] > f[12] < f[8]


def test_final_ritard_follows_the_runners_curve_to_the_end():
    assert ritard_tempo(0.0) == pytest.approx(1.0) and ritard_tempo(1.0) == pytest.approx(0.3)
    score = piece(line([72] * 16, [1.0] * 16))
    f = rules_expression(score, palette=only("final_ritard")).beat_factor
    # the last two bars before the last onset (beat 15): beats 7-14 slow down; the last note holds
    assert np.allclose(f[:7], 1.0)
    assert np.all(np.diff(f[7:16]) > 0), "monotone"
    assert f[14] > 2.0
    assert f[7 + 3] == pytest.approx(1 / ritard_tempo(3.5 / 8))


def test_high_loud_plays_higher_notes_louder():
    score = piece(line([48, 60, 72, 84], [1.0] * 4))
    v = rules_expression(score, palette=only("high_loud")).velocity
    assert np.all(np.diff(v) > 0)
    assert v[2] / v[1] == pytest.approx(10 ** (3 / 40))  # 3 dB an octave, 40 log10 velocity


def test_melodic_charge_is_louder_and_longer_far_from_the_chords_root():
    melody = line([72, 79, 76, 83], [1.0] * 4)  # C G E B over a held C major triad
    chord = [Note(p, 0.0, 4.0, 70) for p in (48, 52, 55)]
    score = piece(melody, chord)
    e = rules_expression(score, palette=only("melodic_charge"))
    top = [k for k, (part, _) in enumerate(notes_in_order(score)) if part == 0]
    v = e.velocity[top]
    assert v[0] < v[1] < v[2] < v[3]  # charges 0, 1, 4, 5
    notes = played(score, e)
    onsets = [notes[k][2] for k in top] + [realize(score, e).seconds[-1]]
    assert onsets[4] - onsets[3] > onsets[1] - onsets[0], "the seventh's IOI longer than the root's"


def test_harmonic_charge_swells_towards_chords_far_from_the_tonic():
    chords = [(48, 52, 55), (43, 47, 50), (48, 52, 55), (41, 45, 48)]  # I V I IV
    notes = [Note(p, 2.0 * b, 2.0, 80) for b, chord in enumerate(chords) for p in chord]
    score = piece(notes)
    v = rules_expression(score, palette=only("harmonic_charge")).velocity
    bass = [v[k] for k, (_, n) in enumerate(notes_in_order(score)) if n.pitch in (48, 43, 41)][:4]
    assert bass[1] > bass[0] and bass[1] > bass[2] and bass[3] > bass[2]


def test_duration_contrast_plays_short_notes_shorter_and_softer():
    durations = [1.0, 0.5, 0.5, 1.0, 0.5, 0.5, 1.0, 1.0]
    score = piece(line([72] * 8, durations))
    e = rules_expression(score, palette=only("duration_contrast"))
    starts = [n[2] for n in played(score, e)]
    iois = np.diff(starts)
    assert iois[1] / iois[0] < 0.5 and iois[2] / iois[3] < 0.5
    v = e.velocity
    assert v[1] < v[0] and v[2] < v[3] and v[4] < v[6]


def test_double_duration_brings_a_two_to_one_pair_closer():
    score = piece(line([72] * 8, [1.0, 0.5] * 4), meter=(6, 8))
    e = rules_expression(score, palette=only("double_duration"))
    starts = [n[2] for n in played(score, e)]
    long, short = starts[1] - starts[0], starts[2] - starts[1]
    assert 1.5 < long / short < 2.0
    assert starts[2] == pytest.approx(0.75, abs=1e-6), "the pair keeps its length (a dotted quarter at 120)"


def test_punctuation_adds_a_micro_pause_after_a_gesture():
    # a leap between steps: 60 62 64 | 72 71 69 67 65; the gesture ends on 64
    score = piece(line([60, 62, 64, 72, 71, 69, 67, 65], [0.5] * 8))
    notes = played(score, rules_expression(score, palette=only("punctuation", 1.1)))
    gaps = [b[2] - a[3] for a, b in zip(notes, notes[1:])]
    assert gaps[2] == pytest.approx(0.044, abs=2e-3), "40 ms * k 1.1 before the leap"
    assert all(abs(g) < 1e-6 for i, g in enumerate(gaps) if i != 2)
    iois = np.diff([n[2] for n in notes])
    assert iois[2] > iois[1], "the gesture's last note lengthened"
    deadpan_notes = played(score, deadpan(score))
    assert all(abs(b[2] - a[3]) < 1e-6 for a, b in zip(deadpan_notes, deadpan_notes[1:]))


def test_a_choir_keeps_punctuation_legato():
    score = piece(line([60, 62, 64, 72, 71, 69, 67, 65], [0.5] * 8))
    notes = played(score, rules_expression(score, phrases=[(0.0, 4.0)], palette=only("punctuation"), choir=True))
    assert all(abs(b[2] - a[3]) < 1e-6 for a, b in zip(notes, notes[1:]))


def test_leap_articulation_detaches_the_note_before_a_leap():
    score = piece(line([60, 62, 69, 67, 60], [1.0] * 5))
    notes = played(score, rules_expression(score, palette=only("leap_articulation")))
    gaps = [b[2] - a[3] for a, b in zip(notes, notes[1:])]
    assert gaps[0] == pytest.approx(0.0, abs=1e-6)
    assert gaps[1] == pytest.approx(0.0175, abs=1e-6)  # a fifth up: 7 semitones * 2.5 ms
    assert gaps[2] == pytest.approx(0.0, abs=1e-6)
    assert gaps[3] == pytest.approx(0.0175, abs=1e-6)  # a fifth down


def test_faster_uphill_shortens_a_rising_line():
    score = piece(line([60, 62, 64, 65, 64, 62, 60, 60], [1.0] * 8))
    notes = played(score, rules_expression(score, palette=only("faster_uphill")))
    iois = np.diff([n[2] for n in notes])
    assert iois[1] < iois[4] and iois[2] < iois[5]


def test_melody_lead_plays_the_top_note_early():
    score = two_hand()
    e = rules_expression(score, palette=only("melody_lead"))
    order = notes_in_order(score)
    first = [k for k, (_, n) in enumerate(order) if n.start_beats == 2.0]  # (at 0 it cannot start earlier)
    assert order[first[0]][1].pitch == 76
    assert e.shift_seconds[first[0]] == pytest.approx(-0.020)
    assert np.allclose(e.shift_seconds[first[1:]], 0.0)
    notes = played(score, e)
    assert notes[first[0]][2] < min(notes[k][2] for k in first[1:])
    choir = rules_expression(score, palette=only("melody_lead"), choir=True)
    assert np.allclose(choir.shift_seconds, 0.0)


def test_a_fermata_lengthens_its_beat_and_breathes_after_it():
    score = chorale()
    e = rules_expression(score, palette=only("fermata"))
    assert e.beat_factor[7] == pytest.approx(2.0) and e.beat_factor[15] == pytest.approx(2.0)
    assert e.beat_factor[6] == pytest.approx(1.0) and e.beat_factor[8] == pytest.approx(1.0)
    notes = played(score, e)
    order = notes_in_order(score)
    at7 = [k for k, (_, n) in enumerate(order) if n.start_beats == 7.0]
    at8 = [k for k, (_, n) in enumerate(order) if n.start_beats == 8.0]
    assert notes[at7[0]][3] - notes[at7[0]][2] > 1.0  # twice a quarter at 80 (0.75 s), less the breath
    assert min(notes[k][2] for k in at8) - max(notes[k][3] for k in at7) == pytest.approx(0.2)
    plain = replace(score, fermatas_beats=[])
    assert realize(score, e).seconds[-1] > realize(plain, rules_expression(plain, palette=only("fermata"))).seconds[-1]


def test_the_same_seed_plays_the_same_and_another_seed_a_little_differently():
    score = two_hand()
    a, b, c = (rules_expression(score, seed=s) for s in (3, 3, 4))
    for field in ("beat_factor", "velocity", "shift_seconds", "articulation"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
        assert not np.array_equal(getattr(a, field), getattr(c, field)), field
    assert a.pedal == b.pedal
    assert np.max(np.abs(a.shift_seconds - c.shift_seconds)) < 0.05, "slightly"
    assert np.max(np.abs(np.log(a.beat_factor / c.beat_factor))) < 0.15


# ---------------------------------------------------------------------------------------------
# piano and choir


def test_a_piano_pedals_a_chordal_texture_and_changes_with_the_harmony():
    score = two_hand()
    pedal = rules_expression(score).pedal
    assert pedal
    assert all(0 <= a < b <= score.end_beats for a, b in pedal)
    assert all(b1 <= a2 for (_, b1), (a2, _) in zip(pedal, pedal[1:])), "never two spans at once"
    ups = {b for _, b in pedal}
    assert {2.0, 4.0, 6.0, 16.0} <= ups, "lifted at each new chord and at the phrase end"
    assert 8.0 not in ups, "I to I: held"


def test_the_pedal_is_lifted_over_rests_and_left_off_a_single_line():
    rh = line([72, 74, 76, 77], [1.0] * 4) + line([79, 77, 76, 74], [1.0] * 4, start=8.0)
    lh = [Note(p, 0.0, 4.0, 70) for p in (48, 52, 55)] + [Note(p, 8.0, 4.0, 70) for p in (43, 47, 50)]
    pedal = rules_expression(piece(rh, lh)).pedal
    assert pedal and not any(a < 8.0 and b > 4.0 for a, b in pedal)
    assert rules_expression(piece(line([72, 74, 76, 77], [1.0] * 4))).pedal == []


def test_an_arpeggio_over_a_held_bass_is_pedalled():
    """Bach's C major prelude, one note at a time over held left-hand notes: its skyline takes
    every note, and the pedal had been left off as for a single line (a newcomer's --bars 5-12)."""
    bars = 4
    lh = [Note(p, 2.0 * h, 2.0, 60) for h in range(2 * bars) for p in (48,)]
    lh += [Note(52, 2.0 * h + 0.25, 1.75, 60) for h in range(2 * bars)]
    rh = [Note(p, 2.0 * h + 0.5 + 0.25 * i, 0.25, 60) for h in range(2 * bars) for i, p in enumerate((67, 72, 76) * 2)]
    pedal = rules_expression(piece(rh, lh)).pedal
    assert pedal and sum(b - a for a, b in pedal) > bars * 4 / 2
    # a run of sixteenths over a bass held four bars: one overlap with the note before, many under the bass
    run = [Note(60 + i % 12, 0.25 * i, 0.25, 60) for i in range(16 * 8)]
    held = [Note(36, 0.0, 16.0, 60), Note(43, 16.0, 16.0, 60)]
    assert rules_expression(piece(run, held)).pedal


def test_a_choir_has_no_pedal_gentler_rubato_and_breathes_at_phrase_ends():
    score = chorale()
    piano, choir = rules_expression(score), rules_expression(score, choir=True)
    assert piano.pedal and choir.pedal == []
    arch = only("phrase_arch", 1.5)
    p_arch, c_arch = rules_expression(score, palette=arch), rules_expression(score, palette=arch, choir=True)
    assert np.std(np.log(c_arch.beat_factor)) < 0.6 * np.std(np.log(p_arch.beat_factor))
    notes = played(score, rules_expression(score, palette=(), choir=True))
    order = notes_in_order(score)
    at15 = [k for k, (_, n) in enumerate(order) if n.start_beats == 15.0]
    at16 = [k for k, (_, n) in enumerate(order) if n.start_beats == 16.0]
    assert min(notes[k][2] for k in at16) - max(notes[k][3] for k in at15) == pytest.approx(0.2)


# ---------------------------------------------------------------------------------------------
# whole performances


@pytest.mark.parametrize("make", [two_hand, chorale])
@pytest.mark.parametrize("choir", [False, True])
def test_the_default_palette_realizes_a_valid_performance(make, choir):
    score = make()
    e = rules_expression(score, choir=choir, seed=1)
    n = len(notes_in_order(score))
    assert len(e.velocity) == len(e.shift_seconds) == len(e.articulation) == n
    assert len(e.beat_factor) == len(e.beats) - 1
    assert np.all(e.beat_factor > 0) and np.all((e.velocity >= 1) & (e.velocity <= 127))
    assert np.all(e.articulation > 0)
    perf = realize(score, e, performer="rules")
    assert np.all(np.diff(perf.seconds) > 0)
    assert len(perf.notes) == n
    assert all(0 <= start < end and 1 <= vel <= 127 for _, _, start, end, vel in perf.notes)
    written = realize(score, deadpan(score)).seconds[-1]
    assert written < perf.seconds[-1] < 1.6 * written, "a little longer: the final ritardando and fermatas"
    # the end slows down
    assert np.mean(e.beat_factor[-4:]) > 1.3 * np.mean(e.beat_factor[:-4])
    back = perf.to_score()
    assert len(back.notes()) == n


def test_velocities_stay_in_midi_range_at_fff():
    score = two_hand()
    loud = replace(score, parts=[replace(p, notes=[replace(n, velocity=127) for n in p.notes]) for p in score.parts])
    e = rules_expression(loud, palette=DEFAULT_PALETTE + (Rule("high_loud", 4.0, ""),))
    assert e.velocity.max() <= 127 and e.velocity.min() >= 1
    assert e.velocity.max() == 127


def test_an_empty_score_plays_as_deadpan():
    e = rules_expression(Score(parts=[Part("empty")]))
    assert len(e.velocity) == 0


def test_a_real_chorale_sung_breathes_at_its_fermatas(chorale):
    """BWV 66.6 (a pickup, six fermatas) as a choir sings it."""
    e = rules_expression(chorale, choir=True)
    perf = realize(chorale, e)
    assert e.pedal == [] and np.all(np.diff(perf.seconds) > 0)
    at = lambda beat: perf.seconds_at(beat + 1) - perf.seconds_at(beat)  # noqa: E731
    for f in chorale.fermatas_beats[:-1]:
        assert at(f) > 1.6 * at(f - 2), f
