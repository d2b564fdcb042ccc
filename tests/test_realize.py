"""A plan realized (plan/realize.py, through Composer.generate): returns come back, phrase ends
carry their cadences, sections keep to their keys. With the shipped folk and chorale models."""

from cadenza import hub
from cadenza.io import read_score, write_score
from cadenza.plan.form import parse_form, with_options
from cadenza.plan.similarity import bar_notes, shifted
from cadenza.score import Repeat, Score, parse_key
from cadenza.theory import cadence_progression, scale


def _bars(score, first, last):
    """Notes (onset in the span, pitch, duration) of bars first..last (from 0)."""
    size = score.meter.bar_beats
    return sorted(
        (round(n.start_beats - first * size, 3), n.pitch, round(n.duration_beats, 3))
        for p in score.parts
        for n in p.notes
        if first * size <= n.start_beats < (last + 1) * size
    )


def _sounding(part, beat):
    [note] = [n for n in part.notes if n.start_beats <= beat + 1e-9 < n.end_beats]
    return note.pitch


def test_an_exact_return_repeats_its_section_note_for_note():
    c = hub.load("folk", expect="voices")
    for seed in (1, 2):
        plan = with_options(parse_form("A4 A4 B4 B4"), None, "half half authentic")
        score = c.generate(plan=plan, key="G major", meter="6/8", seed=seed)
        assert _bars(score, 0, 3) == _bars(score, 4, 7), seed
        # the last B closes as the first did: the same up to its cadence, a one-bar second ending
        assert score.repeats == [Repeat(0.0, 12.0, 0.0), Repeat(24.0, 36.0, 3.0)], seed
        assert len(bar_notes(score)) == 16  # its last note struck in the last bar


def test_a_period_opens_its_second_phrase_as_its_first():
    c = hub.load("folk", expect="voices")
    plan = with_options(parse_form("A8"), None, None)
    plan.sections[0].phrases, plan.sections[0].cadences, plan.sections[0].echo = [4, 4], ["half", "authentic"], 2
    for seed in (1, 2):
        score = c.generate(plan=plan, key="D major", meter="4/4", seed=seed)
        struck = [[n[:2] for n in _bars(score, b, b + 1)] for b in (0, 4, 2, 6)]
        assert struck[0] == struck[1], seed  # the question's first two bars, again (the last note may be held on)
        assert struck[2] != struck[3], seed  # and another answer
        assert score.repeats == []


def test_one_long_phrase_opens_its_second_half_as_its_first():
    """A 2/4 strain of one 8-bar phrase (16 beats) with an echo of 2: bars 5-6 are bars 1-2."""
    c = hub.load("folk", expect="voices")
    plan = with_options(parse_form("A8"), None, None)
    plan.sections[0].phrases, plan.sections[0].echo = [8], 2
    for seed in (1, 2):
        score = c.generate(plan=plan, key="D major", meter="2/4", seed=seed)
        struck = [[n[:2] for n in _bars(score, b, b + 1)] for b in (0, 4, 2, 6)]
        assert struck[0] == struck[1], seed  # (the last note may be held on into what follows)
        assert struck[2] != struck[3], seed


def test_a_rhyme_ends_a_new_section_as_the_first_section_ends():
    """A reel's B strain closing with the A strain's last bars, cadence and all, moved into its
    key; what followed the cadence's arrival there (the upbeat into A's return) is new."""
    c = hub.load("folk", expect="voices")
    plan = with_options(parse_form("A4 B4 C4@D D4"), None, "authentic authentic authentic authentic")
    plan.sections[1].rhyme, plan.sections[2].rhyme = 2, 1
    for seed in (1, 2):
        score = c.generate(plan=plan, key="G major", meter="4/4", seed=seed)
        bars = bar_notes(score)
        arrival = lambda bar: {n[:2] for n in bar if n[0] == 0}  # noqa: E731
        assert bars[6] == bars[2] and arrival(bars[7]) == arrival(bars[3]) != set(), seed  # B ends as A does
        assert arrival(bars[11]) == arrival(shifted(bars[3], -5)), seed  # C's last cadence is A's, in D
        assert bars[4:6] != bars[0:2], seed


def test_a_new_ending_and_a_transposed_return():
    c = hub.load("folk", expect="voices")
    plan = with_options(parse_form("A4 A4 A4@D"), None, "half authentic")
    score = c.generate(plan=plan, key="G major", meter="4/4", seed=4)
    # the second A: the same but for its new ending (the bar with the beat before its last bar, and that bar)
    assert _bars(score, 4, 4) == _bars(score, 0, 0)
    assert [n[:2] for n in _bars(score, 5, 5)] == [n[:2] for n in _bars(score, 1, 1)]
    assert score.repeats == [Repeat(0.0, 16.0, 8.0)]
    # the third: moved into D (5 semitones down or 7 up, whichever is nearer: -5)
    bars = bar_notes(score)
    assert bars[8] == shifted(bars[0], -5)
    assert {n[:2] for n in bars[9]} == {n[:2] for n in shifted(bars[1], -5)}  # bar 10 is the piece's close


def test_a_return_with_an_ending_writes_its_last_bar_anew():
    """A strain played again to the same cadence but with another last bar: a second ending."""
    c = hub.load("folk", expect="voices")
    plan = with_options(parse_form("A4 A4 B4"), None, "authentic authentic authentic")
    for s in plan.sections:
        s.phrases = [4]
    plan.sections[1].ending = 1
    new = 0
    for seed in (1, 2, 3):
        score = c.generate(plan=plan, key="G major", meter="4/4", seed=seed)
        bars = bar_notes(score)
        assert bars[4:7] == bars[0:3], seed
        assert score.repeats == [Repeat(0.0, 16.0, 4.0)], seed  # written once, with first and second endings
        downbeat = [[n[:2] for n in _bars(score, b, b) if n[0] == 0] for b in (3, 7)]
        assert downbeat[0] == downbeat[1] != [], seed  # the same cadence arrives; what follows it is new
        new += bars[7] != bars[3]
    assert new >= 2
    plan.sections[1].ending = 0
    score = c.generate(plan=plan, key="G major", meter="4/4", seed=1)
    assert bar_notes(score)[4:8] == bar_notes(score)[0:4] and score.repeats == [Repeat(0.0, 16.0, 0.0)]


def test_a_varied_return_keeps_the_first_half_and_the_rhythm():
    c = hub.load("folk", expect="voices")
    plan = parse_form("A4 B4 A'4 B4")
    score = c.generate(plan=plan, key="D major", meter="4/4", seed=2)
    bars = bar_notes(score)
    assert bars[8:10] == bars[0:2]
    onsets = lambda b: sorted(t for t, _, _ in bars[b])  # noqa: E731
    assert onsets(10) == onsets(2)  # bar 11, the last, is the final cadence's
    assert bars[10] != bars[2], "a varied return rewrites some notes"  # (bar 11 is the piece's close)
    assert bars[12] == bars[4]  # the last B's last two bars are the piece's close


def test_a_varied_return_begins_each_phrase_as_it_did():
    """A varied return of two 2-bar phrases: the first bar of each phrase comes back note for
    note, the second with its rhythm and new notes, so each phrase is heard as a variation (the
    first half of the section copied whole and the second new had been heard as a return that
    stops)."""
    from dataclasses import replace

    c = hub.load("folk", expect="voices")
    plan = with_options(parse_form("A4 B4 A'4 B4"), None, "half authentic")
    plan.sections = [replace(s, phrases=[2, 2]) for s in plan.sections]
    changed = 0
    for seed in (1, 2, 3):
        bars = bar_notes(c.generate(plan=plan, key="D major", meter="4/4", seed=seed))
        assert bars[8] == bars[0] and bars[10] == bars[2], seed
        assert sorted(t for t, _, _ in bars[9]) == sorted(t for t, _, _ in bars[1]), seed  # the rhythm
        changed += bars[9] != bars[1]
    assert changed >= 2, "a varied return rewrites some notes"


def test_a_varied_return_with_cadences_of_its_own_keeps_its_phrase_heads():
    """Cadences other than its source's free only their approach (the beat before), not the
    approach's whole bar: with 2-bar phrases cadencing on the downbeat, that bar is the head."""
    from dataclasses import replace

    c = hub.load("folk", expect="voices")
    plan = parse_form("A4 B4 A'4 B4")
    cadences = {"A": ["half", "authentic"], "B": ["half", "authentic"], "A'": ["authentic", "half"]}
    plan.sections = [replace(s, phrases=[2, 2], cadences=cadences[s.name]) for s in plan.sections]
    plan.cadence_beat = 1.0
    for seed in (1, 2):
        score = c.generate(plan=plan, key="D major", meter="4/4", seed=seed)
        # onsets and pitches before the approach (beat 4; a note held into it may end otherwise)
        heads = [[n[:2] for n in _bars(score, b, b) if n[0] < 3.0] for b in (0, 2, 8, 10)]
        assert heads[2:] == heads[:2], seed


def test_kept_steps_are_the_first_half_of_each_phrase_in_whole_beats():
    from cadenza.plan.realize import _kept_steps

    assert _kept_steps([2, 2], 16, 4) == set(range(0, 16)) | set(range(32, 48))
    assert _kept_steps([3], 12, 4) == set(range(0, 16))  # half of three bars of 3/4 is 4.5 beats: 4 whole beats
    assert _kept_steps([1], 4, 4) == set(range(0, 4))  # at least one beat


def test_phrase_ends_carry_their_cadences_and_fermatas():
    c = hub.load("chorales", expect="voices")
    key = parse_key("G major")
    plan = with_options(parse_form("a2 b2 c2"), None, "half deceptive authentic")
    plan.fermatas = True
    for seed in (1, 2, 3):
        score = c.generate(plan=plan, key=key, seed=seed)
        assert score.fermatas_beats == [4.0, 12.0, 20.0]
        soprano, bass = score.parts[0], score.parts[-1]
        for beat, kind in ((4.0, "half"), (12.0, "deceptive"), (20.0, "authentic")):
            before, (root, chord), melody = cadence_progression(key, kind)
            assert _sounding(bass, beat) % 12 == root, (seed, kind)
            assert _sounding(soprano, beat) % 12 in melody, (seed, kind)
            assert all(_sounding(p, beat) % 12 in chord for p in score.parts), (seed, kind)
            if before is not None:
                assert _sounding(bass, beat - 1) % 12 == before[0], (seed, kind)
                assert any(_sounding(p, beat - 1) % 12 == 6 for p in score.parts), (seed, kind)  # V's F#
            # the cadence chord is held under its fermata (one beat: to its last sixteenth)
            assert all(_sounding(p, beat + 0.75) == _sounding(p, beat) for p in score.parts), (seed, kind)


def test_a_phrase_planned_without_a_cadence_rests_on_the_tonic_over_its_third():
    """a2 b2 c2 in G major with "half none authentic": the second phrase ends on I6 (B in the bass
    alone, G and D above), struck after a chord without D or F sharp, and the analyzer hears no
    cadence there."""
    from cadenza.plan.analyze import cadence_at
    from cadenza.theory import open_end

    key = parse_key("G major")
    left_out, (third, above) = open_end(key)
    assert (left_out, third, above) == ({2, 6}, 11, {7, 2})  # D and F# before; B under G and D
    c = hub.load("chorales", expect="voices")
    plan = with_options(parse_form("a2 b2 c2"), None, "half none authentic")
    plan.fermatas = True
    for seed in (1, 2, 3):
        score = c.generate(plan=plan, key=key, seed=seed)
        assert score.fermatas_beats == [4.0, 12.0, 20.0]
        assert _sounding(score.parts[-1], 12.0) % 12 == third, seed
        assert all(_sounding(p, 12.0) % 12 in above for p in score.parts[:-1]), seed
        assert all(_sounding(p, 11.0) % 12 not in left_out for p in score.parts), seed
        assert cadence_at(score, 12.0, key) == "none", seed


def test_every_voice_strikes_under_a_fermata_and_a_varied_return_ends_a_phrase_without_a_cadence_as_planned():
    """A newcomer's plan file (A4 B4 A'4, phrases of two bars, cadences on beat 3, fermatas): the
    voices had held a V chord from the downbeat through a cadence's arrival, which then carried no
    fermata; and A', planned to end its first phrase without a cadence where A had a half one,
    had replayed A's half cadence."""
    from cadenza.plan.form import Plan
    from cadenza.theory import open_end

    sections = [
        {"label": "A", "bars": 4, "phrases": [2, 2], "cadences": ["half", "authentic"]},
        {"label": "B", "bars": 4, "key": "B minor", "phrases": [2, 2], "cadences": ["half", "authentic"]},
        {"label": "A'", "bars": 4, "phrases": [2, 2], "cadences": ["none", "authentic"]},
    ]
    plan = Plan.from_dict({"key": "D major", "meter": "4/4", "fermatas": True, "cadence_beat": 3, "sections": sections})
    key = parse_key("D major")
    c = hub.load("chorales", expect="voices")
    for seed in (6, 8):
        score = c.generate(plan=plan, seed=seed)
        assert score.fermatas_beats == [6.0, 14.0, 22.0, 30.0, 38.0, 46.0], seed
        for beat in score.fermatas_beats:
            assert all(any(abs(n.start_beats - beat) < 1e-9 for n in p.notes) for p in score.parts), (seed, beat)
        _, (third, above) = open_end(key)
        assert _sounding(score.parts[-1], 38.0) % 12 == third, seed  # A's half cadence was on A
        assert all(_sounding(p, 38.0) % 12 in above for p in score.parts[:-1]), seed


def test_a_phrase_cadences_in_the_key_its_cadence_key_names():
    """a2 b2 in G major, the first phrase closing in V (D major: A7 - D), the second at home;
    the analyzer hears the first cadence in D major too."""
    from dataclasses import replace

    from cadenza.plan.analyze import cadence_at

    c = hub.load("chorales", expect="voices")
    key = parse_key("G major")
    plan = with_options(parse_form("a2 b2"), None, "authentic authentic")
    plan.sections[0] = replace(plan.sections[0], cadence_keys=["V"])
    plan.fermatas = True
    d = parse_key("D major")
    for seed in (1, 2, 3):
        score = c.generate(plan=plan, key=key, seed=seed)
        before, (root, chord), melody = cadence_progression(d, "authentic")
        bass = score.parts[-1]
        assert _sounding(bass, 4.0) % 12 == root == 2 and _sounding(bass, 3.0) % 12 == before[0] == 9, seed
        assert all(_sounding(p, 4.0) % 12 in chord for p in score.parts), seed
        assert any(_sounding(p, 3.0) % 12 == 1 for p in score.parts), seed  # A7's C#, D major's leading tone
        assert cadence_at(score, 4.0, d) == "authentic", seed
        assert _sounding(bass, 12.0) % 12 == 7, seed  # the close: at home, on G


def test_an_inner_cadence_in_a_minor_key_closes_minor_and_only_the_last_may_take_a_picardy_third():
    """a2 b2 in C major, the first phrase closing in v (G minor): its tonic chord keeps B flat,
    where a Picardy third (B natural, C major's own note) would be heard as a close in V."""
    from dataclasses import replace

    g_minor = parse_key("G minor")
    assert cadence_progression(g_minor, "authentic", final=False)[1][1] == {7, 10, 2}
    assert cadence_progression(g_minor, "authentic")[1][1] == {7, 10, 11, 2}  # the piece's close
    c = hub.load("chorales", expect="voices")
    plan = with_options(parse_form("a2 b2"), None, "authentic authentic")
    plan.sections[0] = replace(plan.sections[0], cadence_keys=["v"])
    plan.fermatas = True
    for seed in (1, 2, 3, 4):
        score = c.generate(plan=plan, key=parse_key("C major"), seed=seed)
        arrival = {_sounding(p, 4.0) % 12 for p in score.parts}
        assert _sounding(score.parts[-1], 4.0) % 12 == 7 and arrival <= {7, 10, 2}, (seed, arrival)


def test_a_section_in_another_key_lets_a_cadence_in_a_third_key_have_its_leading_tone():
    """b2 in D major (a foreign section keeps to D's scale), its cadence in V (A major): the
    beat before the cadence may sing G sharp; the rest of the section may not."""
    from dataclasses import replace

    from cadenza.plan.constraints import PITCH_CLASSES, Constraints
    from cadenza.plan.realize import Grid, plan_constraints
    from cadenza.score import Meter

    plan = with_options(parse_form("a2 b2 c2"), "G D G", "authentic authentic authentic")
    plan.sections[1] = replace(plan.sections[1], cadence_keys=["V"])
    c = Constraints()
    plan_constraints(plan, parse_key("G major"), Grid(4, 4, Meter(0.0, 4, 4)), c, fermatas=True)
    g_sharp = PITCH_CLASSES == 8
    approach = 3 * 16 - 4  # the last beat of b's first bar (the cadence arrives on its second's downbeat)
    assert (c.step_cells[approach][:, g_sharp]).any()  # E7 - A in D major's section: its G sharp
    assert not (c.step_cells[2 * 16 + 4][:, g_sharp]).any()  # elsewhere in the section: D major's scale


def test_a_section_in_another_key_keeps_to_it_after_a_pivot_beat():
    c = hub.load("chorales", expect="voices")
    plan = with_options(parse_form("a2 b2 c2"), "C G C", "authentic authentic authentic")
    score = c.generate(plan=plan, seed=5)
    assert str(score.key) == "C major"
    c_major, g_major = scale(parse_key("C")), scale(parse_key("G"))
    pivot = {n[1] % 12 for n in _bars(score, 2, 2) if n[0] < 1}  # the section's first beat
    in_g = {n[1] % 12 for n in _bars(score, 2, 3) if n[0] >= 1}
    assert pivot <= c_major & g_major
    assert in_g <= g_major and 6 in in_g  # F#: the cadence's dominant in G confirms the new key
    assert _sounding(score.parts[-1], 12.0) % 12 == 7  # on G, under a fermata


def test_a_choir_sings_through_its_phrases():
    """Chorales in far keys had every voice fall silent for a beat inside their phrases (B flat
    minor with a section in F, seed 3, nine times; G sharp minor and D sharp major here): the
    model, having drawn a rest for the soprano, has the others rest with it. No voice rests
    before the close now."""
    c = hub.load("chorales", expect="voices")
    plan = with_options(parse_form("A4 B4"), "g#, D#", None)
    score = c.generate(plan=plan, seed=3)
    for part in score.parts:
        notes = sorted(part.notes, key=lambda n: n.start_beats)
        gaps = [(a.end_beats, b.start_beats) for a, b in zip(notes, notes[1:]) if b.start_beats > a.end_beats + 1e-6]
        assert notes[0].start_beats == 0.0 and not gaps, (part.name, gaps)


def test_a_last_period_stops_before_the_closes_approach_after_a_return_with_an_ending():
    """A8 A8 (its last bar new) B8 whose second phrase opens with its first phrase: the echo
    stops before the beat that approaches the close (a return's ending once moved where the
    close's approach was reckoned from, and the echo ran through the V before the close)."""
    from cadenza.plan.constraints import Constraints
    from cadenza.plan.realize import Grid, plan_constraints
    from cadenza.score import Meter

    plan = parse_form("A8 A8 B8")
    for s in plan.sections:
        s.phrases = [4, 4]
    plan.sections[1].ending, plan.sections[2].echo, plan.cadence_beat = 1, 4, 3.0
    c = Constraints()
    plan_constraints(plan, parse_key("G major"), Grid(1, 4, Meter(0.0, 4, 4)), c, fermatas=False)
    close = 23 * 16 + 8  # the close: beat 3 of the last bar, as the other cadences
    echoed = [t for t, v in c.echoes if t >= 16 * 16]
    assert echoed and max(echoed) == close - 4 - 1, (max(echoed), close)


def test_new_bars_are_hinted_at_the_bar_one_phrase_before_or_in_the_first_section():
    """A8 A8 B8 in G, B in D, phrases of 4: A's bars 3-4 hint at bars 1-2 and 5-8 at 1-4; B's first
    phrase at A's bars moved into D, its second at its first; the second A copies (echoes, no
    hints) but for its last bar, written afresh toward the first time's; A's first bars have none."""
    from cadenza.plan.constraints import Constraints, Hint
    from cadenza.plan.realize import Grid, plan_constraints
    from cadenza.score import Meter

    plan = with_options(parse_form("A8 A8 B8"), "G G D", None)
    for s in plan.sections:
        s.phrases = [4, 4]
    plan.sections[1].ending = 1
    c = Constraints()
    plan_constraints(plan, parse_key("G major"), Grid(1, 4, Meter(0.0, 4, 4)), c, fermatas=False)
    spb = 16

    def hint(bar, k=5):
        return c.hints.get((bar * spb + k, 0))

    assert hint(0) is None and hint(1) is None
    assert hint(2) == Hint(0 * spb + 5) and hint(3) == Hint(1 * spb + 5)  # the first phrase's halves
    assert hint(6) == Hint(2 * spb + 5)  # one phrase before
    assert all(hint(b) is None for b in range(8, 15)) and (8 * spb + 5, 0) in c.echoes  # copied
    assert hint(15) == Hint(7 * spb + 5)  # the second ending: toward the first
    assert hint(16) == Hint(0 * spb + 5, -5) and hint(19) == Hint(3 * spb + 5, -5)  # B: A's, moved down to D
    assert hint(21) == Hint(17 * spb + 5)
    assert not set(c.hints) & set(c.echoes)
    assert c.turn_steps == set(range(16 * spb, 23 * spb))  # B, the new section after A, but for its last bar


def test_every_hint_points_at_a_cell_written_before_it():
    """Whatever the form, a hint's source is an earlier step (the sampler reads what it wrote there)
    and no cell is both hinted and fixed or echoed; the same for plans the folk plan model draws."""
    from cadenza.plan.constraints import Constraints
    from cadenza.plan.realize import Grid, plan_constraints
    from cadenza.score import Meter

    forms = ["A8 A8 B8 B8", "A4 B8 A4", "A8 B4", "a2 a2 b2 c2 d2", "A8 A'8 B8 A8", "A4 A4@D B8", "A4 B4 A'8"]
    plans = [with_options(parse_form(f), None, None) for f in forms]
    plans += [
        hub.load("folk", expect="voices").plan_for(None, 32, Meter(0.0, 6, 8), parse_key("G"), s) for s in range(20)
    ]
    for plan in plans:
        c = Constraints()
        plan_constraints(plan, parse_key("G major"), Grid(1, 4, Meter(0.0, 6, 8)), c, fermatas=False)
        assert c.hints and all(h.source < step for (step, _), h in c.hints.items()), plan
        assert not set(c.hints) & (set(c.echoes) | set(c.fixed)), plan


def test_the_plan_realized_records_the_bars_each_return_writes_afresh():
    """A8 A8 B8, the A closing half then authentic: the second A's cadence is written from its
    approach's bar, two bars new, and the plan (what the output's JSON records) says so, as the
    second ending printed does; the plan stays one `--plan` takes. The last section's close is
    the piece's, planned, and no ending."""
    from cadenza.score import parse_meter

    c = hub.load("folk", expect="voices")
    plan = with_options(parse_form("A8 A8 B8"), None, "half authentic authentic")
    score = c.generate(plan=plan, key="G major", meter="6/8", seed=3)
    assert score.repeats == [Repeat(0.0, 24.0, 6.0)]  # two bars of 6/8
    written = c.realized_plan(plan, parse_key("G major"), parse_meter("6/8"))
    assert [s.ending for s in written.sections] == [0, 2, 0] and plan.sections[1].ending == 0
    written.check("plan")
    again = c.generate(plan=written, key="G major", meter="6/8", seed=3)
    assert again.notes() == score.notes()
    # a varied return whose new cadence is written from a bar line (cadences on beat 3 of 2/2) has no
    # ending a plan could hold: the plan written stays one --plan takes
    varied = with_options(parse_form("A4 A'4 B8"), None, "half authentic authentic")
    varied.cadence_beat = 3.0
    c.realized_plan(varied, parse_key("G major"), parse_meter("2/2")).check("plan")


def test_section_dynamics_set_the_velocities():
    c = hub.load("folk", expect="voices")
    plan = parse_form("A2 B2")
    plan.sections[0].dynamics, plan.sections[1].dynamics = "p", "f"
    score = c.generate(plan=plan, key="G major", meter="4/4", seed=1)
    notes = score.parts[0].notes
    assert {n.velocity for n in notes if n.start_beats < 8} == {49}
    assert {n.velocity for n in notes if n.start_beats >= 8} == {96}
    assert [s.dynamics for s in score.sections] == ["p", "f"]


def test_section_dynamics_are_printed_and_read_back(tmp_path):
    c = hub.load("folk", expect="voices")
    plan = parse_form("A2 B2")
    plan.sections[0].dynamics, plan.sections[1].dynamics = "p", "f"
    score = c.generate(plan=plan, key="G major", meter="4/4", seed=1)
    write_score(score, tmp_path / "tune.musicxml")
    text = (tmp_path / "tune.musicxml").read_text()
    assert text.count("<dynamics><p/></dynamics>") == 1 and text.count("<dynamics><f/></dynamics>") == 1
    back = read_score(tmp_path / "tune.musicxml")
    assert [(s.label, s.dynamics) for s in back.sections] == [("A", "p"), ("B", "f")]
    assert [n.velocity for n in back.parts[0].notes] == [n.velocity for n in score.parts[0].notes]
    assert Score.from_dict(score.to_dict()).sections == score.sections


def test_a_marking_holds_until_the_next_and_a_strain_played_again_stays_one_repeat(tmp_path):
    c = hub.load("folk", expect="voices")
    plan = parse_form("A2 A2 B2")
    plan.sections[0].dynamics, plan.sections[2].dynamics = "p", "f"
    score = c.generate(plan=plan, key="G major", meter="4/4", seed=1)
    assert [s.dynamics for s in score.sections] == ["p", "p", "f"]
    assert {n.velocity for n in score.parts[0].notes if n.start_beats < 16} == {49}  # the second A too
    write_score(score, tmp_path / "tune.musicxml")
    text = (tmp_path / "tune.musicxml").read_text()
    assert text.count("<dynamics>") == 2 and 'direction="backward"' in text  # p once, f once; A repeated
    back = read_score(tmp_path / "tune.musicxml")
    assert [(s.label, s.dynamics) for s in back.sections] == [("A", "p"), ("A", "p"), ("B", "f")]


def test_a_cadence_may_arrive_on_beat_three_as_bachs_mostly_do():
    c = hub.load("chorales", expect="voices")
    key = parse_key("D major")
    plan = with_options(parse_form("a2 b2"), None, "half authentic")
    plan.fermatas, plan.cadence_beat = True, 3.0
    score = c.generate(plan=plan, key=key, seed=3)
    # bar 2 beat 3, held to the bar line (the next phrase on the downbeat, as in Bach's chorales
    # without a pickup), and the close on the same beat of the last bar, held to the end
    assert score.fermatas_beats == [6.0, 14.0]
    root = cadence_progression(key, "half")[1][0]
    assert _sounding(score.parts[-1], 6.0) % 12 == root
    assert all(_sounding(p, t) == _sounding(p, 6.0) for p in score.parts for t in (6.5, 7.0, 7.75))
    assert _sounding(score.parts[-1], 13.0) % 12 == 9 and _sounding(score.parts[-1], 14.0) % 12 == 2  # V, I
    assert all(_sounding(p, 15.75) == _sounding(p, 14.0) for p in score.parts)
    # an open ending (--free-ending) plans no close: its bar's fermata is on the downbeat, where its chord is
    free = c.generate(plan=plan, key=key, seed=3, final_cadence=False)
    assert free.fermatas_beats == [6.0, 12.0]


def test_a_free_ending_is_free_with_a_plan_too_and_a_planned_piece_is_plain_data():
    import json

    c = hub.load("folk", expect="voices")
    plan = parse_form("A2 A2@D")
    closed = c.generate(plan=plan, key="G major", meter="4/4", seed=3)
    free = c.generate(plan=plan, key="G major", meter="4/4", seed=3, final_cadence=False)
    last = lambda s: [n for n in s.parts[0].notes if n.start_beats >= 12]  # noqa: E731
    assert [n.pitch % 12 for n in last(closed)] == [2]  # the close: one whole note, D, the last section's tonic
    assert len(last(free)) > 1 or last(free)[0].duration_beats < 4
    json.dumps(closed.to_dict())  # numbers, not numpy's: the record and the caches take it


def test_a_return_in_the_other_mode_keeps_to_its_scale_and_a_varied_one_moves_with_its_key():
    c = hub.load("folk", expect="voices")
    minor = scale(parse_key("A minor"))
    for seed in (1, 2):
        score = c.generate(plan=parse_form("A4 B4 A4@a"), key="C major", meter="4/4", seed=seed)
        assert {n.pitch % 12 for n in score.parts[0].notes if 32 <= n.start_beats < 44} <= minor, seed
        assert [s.label for s in score.sections] == ["A", "B", "A'"], seed  # heard as a variation, and so named
    score = c.generate(plan=parse_form("A4 B4 A'4@F"), key="C major", meter="4/4", seed=1)
    assert [s.label for s in score.sections] == ["A", "B", "A'"]
    bars = bar_notes(score)
    assert bars[8] == shifted(bars[0], 5)  # the varied return's first half, moved into F


def test_a_continued_prompt_keeps_its_repeats():
    from cadenza.score import Meter, Note, Part, Score

    c = hub.load("folk", expect="voices")
    bar = [Note(67, 0.0, 1.0), Note(69, 1.0, 1.0), Note(71, 2.0, 1.0), Note(67, 3.0, 1.0)]
    notes = [Note(x.pitch, x.start_beats + 4 * k, 1.0) for k in range(4) for x in bar]
    prompt = Score(parts=[Part("Melody", 73, False, notes)], meters=[Meter(0.0, 4, 4)], repeats=[Repeat(0.0, 8.0)])
    assert c.continue_score(prompt, bars=2, seed=1).repeats == [Repeat(0.0, 8.0)]


def test_a_strain_played_again_to_close_repeats_its_first_time_up_to_the_cadence():
    """A4 A4, both closing authentic: the second A is the first up to its cadence's arrival on the
    last downbeat, held half the bar at least, and longer where the first time held it; then
    silence where the first time went on into the repeat: a one-bar second ending."""
    c = hub.load("folk", expect="voices")
    plan = with_options(parse_form("A4 A4"), None, "authentic authentic")
    for seed in (1, 2, 3):
        score = c.generate(plan=plan, key="G major", meter="4/4", seed=seed)
        bars = bar_notes(score)
        assert bars[4:7] == bars[0:3], seed
        first = [n for n in _bars(score, 3, 3) if n[0] == 0]
        [close] = _bars(score, 7, 7)  # one note: nothing struck after it
        assert first and close[:2] == first[0][:2], seed  # the same cadence arrives
        assert close[2] == max(2.0, first[0][2]), seed
        assert len(_bars(score, 3, 3)) > 1 or first[0][2] == 4.0, seed  # the first time went on
        assert score.repeats == [Repeat(0.0, 16.0, 4.0)], seed


def test_a_strain_played_again_is_led_into_as_the_first_time():
    """A4 A4 B4 B4, A closing on a half cadence and B on an authentic one: B's first time ends on
    its own cadence note, held as long as A's second time held its own, then leads back into B
    with the upbeat that led into it the first time."""
    c = hub.load("folk", expect="voices")
    plan = with_options(parse_form("A4 A4 B4 B4"), None, "half half authentic authentic")
    upbeats = 0
    for seed in (1, 2, 3):
        score = c.generate(plan=plan, key="G major", meter="6/8", seed=seed)
        a, b = (_bars(score, k, k) for k in (7, 11))
        assert a[0][0] == b[0][0] == 0 and a[0][2] == b[0][2], seed  # each cadence's note, held alike
        assert a[0][1] % 12 != b[0][1] % 12 and b[0][1] % 12 == 7, seed  # A's on the half cadence, B's on G
        assert a[1:] == b[1:], seed
        upbeats += bool(a[1:])
    assert upbeats


def test_an_inner_transposed_return_with_its_source_s_cadences_is_copied_whole():
    """A4 A4@D B4, every phrase closing authentic: the return in D is A moved down a fourth,
    its cadence included (only a cadence that differs from the first time is written afresh)."""
    c = hub.load("folk", expect="voices")
    plan = with_options(parse_form("A4 A4@D B4"), None, "authentic authentic authentic")
    score = c.generate(plan=plan, key="G major", meter="4/4", seed=2)
    bars = bar_notes(score)
    assert bars[4:7] == [shifted(b, -5) for b in bars[0:3]]
    assert {n[:2] for n in bars[7] if n[0] == 0} == {n[:2] for n in shifted(bars[3], -5) if n[0] == 0}


def test_a_closing_strain_whose_cadences_fall_late_in_the_bar_closes_there_too():
    """In 2/2 with cadences on beat 3 the close arrives on beat 3 as the others do, the bar up to it
    as the first time's, held to the end; the strain is written once between repeat signs, its
    second ending one bar."""
    c = hub.load("folk", expect="voices")
    plan = with_options(parse_form("A4 A4"), None, "authentic authentic")
    plan.cadence_beat = 3.0
    for seed in (1, 2):
        score = c.generate(plan=plan, key="G major", meter="2/2", seed=seed)
        assert score.repeats == [Repeat(0.0, 16.0, 4.0)], seed
        bars = bar_notes(score)
        assert bars[4:7] == bars[0:3], seed
        first, close = _bars(score, 3, 3), _bars(score, 7, 7)
        assert [n for n in close if n[0] < 2.0] == [n for n in first if n[0] < 2.0], seed
        [arrival] = [n for n in close if n[0] >= 2.0]
        assert arrival[:2] == next(n for n in first if n[0] == 2.0)[:2] and arrival[2] == 2.0, seed


def test_a_chorale_closing_on_a_strain_played_again_holds_its_chord_to_the_end():
    """In the fermata style a strain played again to close, its cadences on the downbeat (3/4),
    copies its first time up to the arrival, and every voice holds the final chord to the end."""
    c = hub.load("chorales", expect="voices")
    plan = with_options(parse_form("A4 A4"), None, "authentic authentic")
    score = c.generate(plan=plan, key="G major", meter="3/4", seed=2)
    for part in score.parts:
        assert (part.notes[-1].start_beats, part.notes[-1].duration_beats) == (21.0, 3.0), part.name


def test_a_melody_over_chords_closing_on_a_strain_played_again_ends_on_the_tonic():
    """Over chords that differ from the first time's, the close's silent tail stays silent (only a
    copied note is turned into the rhythm of one): the melody's last note is the tonic."""
    from cadenza.chords import parse_chord

    c = hub.load("leadsheet", expect="voices")
    plan = with_options(parse_form("A4 A4"), None, "authentic authentic")
    symbols = ["G", "C", "D7", "G D7", "G", "C", "D7", "G"]
    chords = [parse_chord(text, 4.0 * bar + 2.0 * k) for bar, bar_text in enumerate(symbols) for k, text in
              enumerate(bar_text.split())]  # fmt: skip
    for seed in (2, 3, 4):
        score = c.generate(plan=plan, key="G major", meter="4/4", seed=seed, chords=chords)
        last = score.parts[0].notes[-1]
        assert last.pitch % 12 == 7 and last.start_beats < 28.0 + 1e-9 < last.end_beats, seed


def test_a_lone_melodys_half_close_holds_its_beat_and_stays_on_v_to_the_bar_line():
    """A lead sheet's half close had held its note for one step, and the melody ran on over the
    tonic's notes, which its chords followed (11 of 36 half closes kept V to their bar's end)."""
    import numpy as np

    from cadenza.plan.constraints import PITCH_CLASSES, Constraints
    from cadenza.plan.realize import Grid, plan_constraints
    from cadenza.score import Meter
    from cadenza.tokenize.cells import REST

    for meter, unit in ((Meter(0.0, 4, 4), 4), (Meter(0.0, 6, 8), 6)):
        plan = parse_form("A8")
        plan.sections[0].phrases, plan.sections[0].cadences = [4, 4], ["half", "authentic"]
        c = Constraints()
        grid = Grid(1, 4, meter)
        plan_constraints(plan, parse_key("G major"), grid, c, fermatas=False)
        bar = grid.steps_per_bar
        arrival = 3 * bar  # the downbeat of bar 4
        assert {(t, 0) for t in range(arrival + 1, arrival + unit)} <= c.hold_only  # held through its beat
        assert (arrival + unit, 0) not in c.hold_only
        d_major = np.isin(PITCH_CLASSES, [2, 6, 9])
        pitched = np.arange(len(PITCH_CLASSES)) != REST
        for t in range(arrival + unit, arrival + bar, unit):  # each later beat on D, F# or A
            sounding = c.step_cells[t, 0] & pitched
            assert sounding.any() and not (sounding & ~d_major).any(), t
        between = c.step_cells[arrival + unit + 1, 0] & pitched
        assert (between & ~d_major).any()  # a passing note between the beats stays free
        given = Constraints()  # chord symbols given: they rule, not V
        plan_constraints(plan, parse_key("G major"), grid, given, fermatas=False, chords=True)
        assert (given.step_cells[arrival + unit, 0] & pitched & ~d_major).any()
        assert (arrival + 1, 0) not in given.hold_only


def test_a_strain_played_again_after_a_half_close_is_not_led_into_as_after_a_close_on_i():
    """A8 B8 B8: the upbeat after A's authentic close had been copied after B's half close, over
    the beats the half close keeps on V (a reviewer's A8 B8 B8 A8 ran F# C A D G there); after a
    B closing on I as A does, the lead-in is copied as before."""
    from cadenza.plan.constraints import Constraints
    from cadenza.plan.realize import Grid, plan_constraints
    from cadenza.score import Meter

    upbeats = {}
    for b_close in ("half", "authentic"):
        plan = parse_form("A8 B8 B8")
        plan.sections[0].phrases, plan.sections[0].cadences = [8], ["authentic"]
        plan.sections[1].phrases, plan.sections[1].cadences = [8], [b_close]
        c = Constraints()
        plan_constraints(plan, parse_key("G major"), Grid(1, 4, Meter(0.0, 4, 4)), c, fermatas=False)
        upbeats[b_close] = [t for t, v in c.echoes if 15 * 16 <= t < 16 * 16]  # B's last bar, after its close
    assert upbeats["authentic"] and not upbeats["half"], upbeats


def test_a_lone_melodys_inner_close_on_i_holds_its_note_through_the_beat():
    """A newcomer heard a lead sheet's authentic close at bar 4 run on in eighths "like none":
    a lone melody's inner cadence now holds its note to the end of its counted beat."""
    from cadenza.plan.constraints import Constraints
    from cadenza.plan.realize import Grid, plan_constraints
    from cadenza.score import Meter

    plan = parse_form("A8")
    plan.sections[0].phrases, plan.sections[0].cadences = [4, 4], ["authentic", "authentic"]
    for nv, held in ((1, True), (4, False)):  # voices in chords hold a step, as before
        c = Constraints()
        plan_constraints(plan, parse_key("G major"), Grid(nv, 4, Meter(0.0, 4, 4)), c, fermatas=False)
        arrival = 3 * 16
        assert ({(t, 0) for t in range(arrival + 1, arrival + 4)} <= c.hold_only) == held


def test_a_lead_in_begins_after_the_held_note_of_the_close_it_follows():
    """A4 B4 B4, A closing without a cadence and B with one: the lead-in copied A's free notes
    over B's close held through its beat (a reviewer's plan); it now begins after the hold."""
    from cadenza.plan.constraints import Constraints
    from cadenza.plan.realize import Grid, plan_constraints
    from cadenza.score import Meter

    plan = parse_form("A4 B4 B4")
    plan.sections[0].cadences, plan.sections[1].cadences = ["none"], ["authentic"]
    c = Constraints()
    plan_constraints(plan, parse_key("G major"), Grid(1, 4, Meter(0.0, 4, 4)), c, fermatas=False)
    arrival = 7 * 16  # B's close, on the downbeat of its last bar
    held = {(t, 0) for t in range(arrival + 1, arrival + 4)}
    assert held <= c.hold_only and not held & set(c.echoes)
    assert (arrival + 4, 0) in c.echoes  # the lead-in itself is still there
