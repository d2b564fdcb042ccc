"""cadenza.compose.sampler: the causal sampler, on a tiny untrained model: top-p and masks, seeds,
the forced layout, constraints, parallels forbidden, the final cadence."""

import numpy as np
import pytest

from cadenza.compose.sampler import Constraints, SamplingSettings, generate_tokens
from cadenza.errors import OptionError
from cadenza.score import Key, Meter
from cadenza.tokenize.voices import HOLD, PITCH0, REST
from conftest import VOICES_TOK as TOK
from conftest import tiny_voices_model as tiny


def test_sampling_honours_top_p_and_the_mask():
    from cadenza.compose.sampler import sample_token

    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
    rng = np.random.default_rng(0)
    draws = {sample_token(logits, np.ones(4, bool), SamplingSettings(top_p=0.75), rng) for _ in range(300)}
    assert draws == {0, 1}  # 0.5 + 0.3 reaches 0.75: tokens 2 and 3 are cut
    allowed = np.array([False, False, True, True])
    draws = {sample_token(logits, allowed, SamplingSettings(top_p=1.0), rng) for _ in range(300)}
    assert draws == {2, 3}


def test_same_seed_same_music_and_different_seed_different_music():
    m = tiny()
    a = generate_tokens(m, TOK, Key(0, 2, "major"), Meter(0, 4, 4), 3, SamplingSettings(seed=5))
    b = generate_tokens(m, TOK, Key(0, 2, "major"), Meter(0, 4, 4), 3, SamplingSettings(seed=5))
    c = generate_tokens(m, TOK, Key(0, 2, "major"), Meter(0, 4, 4), 3, SamplingSettings(seed=6))
    assert a == b and a != c


def test_layout_is_forced_and_hold_never_follows_rest():
    m = tiny(block=48)  # shorter than the piece: the window must slide
    ids = generate_tokens(m, TOK, Key(0, 9, "minor"), Meter(0, 3, 4), 5, SamplingSettings(seed=1))
    assert ids[:3] == TOK.prefix(Key(0, 9, "minor"), Meter(0, 3, 4))
    bars = [i for i, t in enumerate(ids) if TOK.is_bar(t)]
    assert [ids[i] - TOK.bar0 for i in bars] == [4, 3, 2, 1, 0]
    cells = [t for t in ids[3:-1] if not TOK.is_bar(t)]
    assert len(cells) == 5 * 6 * 4
    grid = np.array(cells).reshape(-1, 4)
    for v in range(4):
        for s in range(len(grid)):
            if grid[s, v] == HOLD:
                assert s > 0 and grid[s - 1, v] != REST


def test_constraints_are_obeyed():
    m = tiny()
    ranges = [(72, 76), (60, 64), (50, 55), (40, 45)]
    fixed = {(0, 0): PITCH0 + 74, (3, 3): REST}
    ids = generate_tokens(
        m,
        TOK,
        Key(0, 0, "major"),
        Meter(0, 4, 4),
        2,
        SamplingSettings(seed=2, temperature=2.0),
        Constraints(voice_ranges=ranges, pitch_classes=frozenset({0, 2, 4, 5, 7, 9, 11}), fixed=fixed),
    )
    grid = np.array([t for t in ids[3:-1] if not TOK.is_bar(t)]).reshape(-1, 4)
    assert grid[0, 0] == PITCH0 + 74 and grid[3, 3] == REST
    for v, (lo, hi) in enumerate(ranges):
        pitches = grid[:, v][grid[:, v] >= PITCH0] - PITCH0
        assert ((pitches >= lo) & (pitches <= hi)).all()
        assert all(p % 12 in {0, 2, 4, 5, 7, 9, 11} for p in pitches)


def test_impossible_requests_are_refused():
    m = tiny()
    with pytest.raises(OptionError, match="at least 1"):
        generate_tokens(m, TOK, Key(0, 0, "major"), Meter(0, 4, 4), 0)
    with pytest.raises(OptionError, match="no pitch"):
        generate_tokens(
            m,
            TOK,
            Key(0, 0, "major"),
            Meter(0, 4, 4),
            1,
            constraints=Constraints(voice_ranges=[(61, 61)] * 4, pitch_classes=frozenset({0})),
        )
    with pytest.raises(OptionError):
        SamplingSettings(temperature=0)


def test_no_parallels_constraint_removes_parallel_fifths_and_octaves():
    from cadenza.evaluate.voice_leading import measure

    m = tiny()
    ranges = [(67, 79), (60, 72), (53, 65), (43, 55)]  # narrow, overlapping ranges: parallels come easily

    def parallels(no_parallels):
        total = 0
        for seed in range(3):
            ids = generate_tokens(
                m,
                TOK,
                Key(0, 0, "major"),
                Meter(0, 4, 4),
                4,
                SamplingSettings(seed=seed, temperature=3.0),
                Constraints(voice_ranges=ranges, no_parallels=no_parallels),
            )
            stats = measure(TOK.decode(ids))
            total += stats.parallel_fifths + stats.parallel_octaves
        return total

    assert parallels(False) > 0  # the untrained model writes them...
    assert parallels(True) == 0  # ...and the constraint forbids every one


def test_upper_voices_leave_a_planned_bass_a_way_without_parallels():
    """A plan that narrows the bass to one pitch class a beat (C G D A ...: each beat a fifth
    up) leaves it nothing else; the voices written before it at each step keep clear of the
    parallels that pitch would make with them (the soprano, allowed the bass's pitch class or
    the one a step above, takes the step wherever the octave would be a parallel one)."""
    from cadenza.compose.sampler import leaves_the_bass_a_way
    from cadenza.evaluate.voice_leading import measure
    from cadenza.plan.constraints import PITCH_CLASSES
    from cadenza.tokenize.cells import N_CELL

    before, none = [67, 64, None, 48], [None] * 4
    way = leaves_the_bass_a_way(before, none, 0, np.isin(np.arange(128), [50]))
    assert not way[69] and way[71] and way[67]  # G over C, then A over D: a fifth; B or G are free
    assert leaves_the_bass_a_way(before, none, 0, np.isin(np.arange(128), [48, 50])).all()  # C may stay
    # G-C-C over C (soprano a fifth, alto an octave above the bass), the bass to go to D or A:
    # with the soprano on A (a fifth over D), the bass must take A, and the alto may not then go
    # down to A an octave above it; with the soprano on B, D is left too, and the alto may
    before = [67, 60, None, 48]
    bass = np.isin(np.arange(128), [50, 45])
    assert not leaves_the_bass_a_way(before, [69, None, None, None], 1, bass)[57]
    assert leaves_the_bass_a_way(before, [71, None, None, None], 1, bass)[57]

    m = tiny()
    ranges = [(67, 79), (60, 72), (53, 65), (43, 55)]
    meter = Meter(0, 4, 4)
    steps, per_beat = 4 * TOK.steps_per_bar(meter), TOK.config.steps_per_beat
    cells = np.ones((steps, 4, N_CELL), dtype=bool)
    for t in range(steps):
        root = (7 * (t // per_beat)) % 12
        cells[t, 3] = PITCH_CLASSES == root
        cells[t, 0] = np.isin(PITCH_CLASSES, [root, (root + 2) % 12])  # the soprano: its octave, or a step above
        cells[t, 0, 0] = cells[t, 3, 0] = False  # no rests

    total = 0
    for seed in range(3):
        c = Constraints(voice_ranges=ranges, no_parallels=True, step_cells=cells)
        ids = generate_tokens(m, TOK, Key(0, 0, "major"), meter, 4, SamplingSettings(seed=seed, temperature=3.0), c)
        stats = measure(TOK.decode(ids))
        assert all(p.pitch % 12 == (7 * int(p.start_beats)) % 12 for p in TOK.decode(ids).parts[3].notes)
        total += stats.parallel_fifths + stats.parallel_octaves
    assert total == 0


def test_final_cadence_opens_the_last_bar_on_the_tonic_chord_and_holds_it():
    m = tiny()
    key = Key(0, 9, "minor")  # A minor: bass on A; upper voices on A, C, C# (Picardy third) or E
    for seed in range(4):
        ids = generate_tokens(
            m,
            TOK,
            key,
            Meter(0, 3, 4),
            3,
            SamplingSettings(seed=seed, temperature=2.0),
            Constraints(final_cadence=True, no_parallels=True),
        )
        grid = np.array([t for t in ids[3:-1] if not TOK.is_bar(t)]).reshape(-1, 4)
        last_bar = grid[-6:]  # 3/4 at two steps per beat
        assert (last_bar[0] >= PITCH0).all()
        assert (last_bar[0, 3] - PITCH0) % 12 == 9
        assert all((p - PITCH0) % 12 in {9, 0, 1, 4} for p in last_bar[0, :3])
        assert (last_bar[1:] == HOLD).all()


def _grid(ids):
    return np.array([t for t in ids[3:-1] if not TOK.is_bar(t)]).reshape(-1, 4)


def _sampled(constraints, temperature=1.0):
    """The tiny model's 4 bars of C major 4/4 under `constraints` (seed 3), as a (steps, 4) grid of tokens."""
    settings = SamplingSettings(seed=3, temperature=temperature)
    return _grid(generate_tokens(tiny(), TOK, Key(0, 0, "major"), Meter(0, 4, 4), 4, settings, constraints))


def _moves(grid, v):
    """Voice v's moves between successive struck pitches, repeats left out."""
    pitches = [t - PITCH0 for t in grid[:, v] if t >= PITCH0]
    return [b - a for a, b in zip(pitches, pitches[1:]) if b != a]


def _sounding(grid):
    """Each step's pitches of the four voices (None for a rest), held notes carried on."""
    now = [None] * 4
    for row in grid:
        now = [t - PITCH0 if t >= PITCH0 else None if t == REST else p for t, p in zip(row, now)]
        yield now


def test_an_interval_bias_moves_the_voices_by_the_favoured_interval():
    # a strong bias toward rising whole tones in every voice: the untrained model, which moves
    # by all sorts of intervals, now mostly rises by 2 semitones when it moves
    def rises_by_two(bias):
        grid = _sampled(Constraints(voice_ranges=[(40, 90)] * 4, interval_bias=bias), temperature=1.5)
        moves = [d for v in range(4) for d in _moves(grid, v)]
        return sum(d == 2 for d in moves) / max(1, len(moves))

    bias = np.zeros((4, 25))
    bias[:, 12 + 2] = 8.0
    assert rises_by_two(None) < 0.2
    assert rises_by_two(bias) > 0.6


def test_a_vertical_bias_moves_the_lower_voices_to_the_favoured_interval_below_the_upper():
    # a strong bias toward a major sixth below the soprano for the bass (struck or held): the
    # untrained model puts its bass anywhere, now mostly a major sixth (9 semitones, any octave) under it
    def sixths(bias):
        grid = _sampled(Constraints(voice_ranges=[(40, 90)] * 4, vertical_bias=bias), temperature=1.5)
        out = [(now[0] - now[3]) % 12 == 9 for now in _sounding(grid) if now[0] is not None and now[3] is not None]
        return sum(out) / max(1, len(out))

    bias = np.zeros((4, 4, 12))
    bias[3, 0, 9] = 8.0
    assert sixths(None) < 0.25
    assert sixths(bias) > 0.7


def test_a_hold_bias_decides_where_in_the_beat_the_voices_move():
    # holding on made very likely on every step but the beat's first: voices move on the beat
    def moves_on_the_beat(bias):
        grid = _sampled(Constraints(voice_ranges=[(40, 90)] * 4, hold_bias=bias))
        steps = np.argwhere(grid[1:] >= PITCH0)[:, 0] + 1  # notes struck after the first step
        return np.mean(steps % TOK.config.steps_per_beat == 0)

    bias = np.full((4, TOK.config.steps_per_beat), 8.0)
    bias[:, 0] = -8.0
    assert moves_on_the_beat(None) < 0.8
    assert moves_on_the_beat(bias) > 0.95


def test_a_pitch_bias_moves_the_voices_to_the_favoured_register():
    # pitches under C4 made very unlikely in every voice: the untrained model strikes notes all
    # over its range, now nearly all at C4 or above
    def low(bias):
        grid = _sampled(Constraints(voice_ranges=[(40, 90)] * 4, pitch_bias=bias), temperature=1.5)
        struck = grid[grid >= PITCH0] - PITCH0
        return np.mean(struck < 60)

    bias = np.zeros((4, 128))
    bias[:, :60] = -8.0
    assert low(None) > 0.2
    assert low(bias) < 0.05


def test_hints_nudge_bars_toward_the_cells_they_point_to():
    # bars 3-4 hinted at bars 1-2 (every voice, every step): with no echo bias the untrained model
    # writes them anew; with a strong one they mostly repeat bars 1-2, held notes and rests too
    from cadenza.plan.constraints import Hint

    spb = TOK.steps_per_bar(Meter(0, 4, 4))
    hints = {(2 * spb + k, v): Hint(k) for k in range(2 * spb) for v in range(4)}

    def repeated(bias):
        grid = _sampled(Constraints(voice_ranges=[(40, 90)] * 4, hints=hints, echo_bias=bias), temperature=1.5)
        return np.mean(grid[2 * spb : 4 * spb] == grid[: 2 * spb])

    assert repeated(0.0) < 0.3
    assert repeated(8.0) > 0.8


def test_a_turn_lean_raises_the_steps_of_a_turn():
    # bars 3-4 a turn: with a lean of 4 log-odds an octave the untrained model sings them higher
    spb = TOK.steps_per_bar(Meter(0, 4, 4))
    turn = set(range(2 * spb, 4 * spb))

    def median_pitch(lean, steps):
        grid = _sampled(Constraints(voice_ranges=[(40, 90)] * 4, turn_steps=turn, turn_lean=lean), temperature=1.5)
        rows = grid[sorted(steps)]
        return np.median(rows[rows >= PITCH0] - PITCH0)

    assert median_pitch(4.0, turn) >= median_pitch(0.0, turn) + 7
    assert median_pitch(4.0, set(range(2 * spb))) == median_pitch(0.0, set(range(2 * spb)))  # before it: as it was


def test_a_lean_moves_the_pitches_up_and_keeps_how_likely_a_note_is_struck():
    from cadenza.compose.sampler import _leaned

    rng = np.random.default_rng(0)
    logits = rng.normal(size=TOK.vocab_size)
    allowed = np.zeros(TOK.vocab_size, dtype=bool)
    allowed[[HOLD, REST]] = True
    allowed[PITCH0 + 55 : PITCH0 + 80] = True

    def shares(x):
        p = np.where(allowed, np.exp(x - x[allowed].max()), 0.0)
        p /= p.sum()
        pitches = p[PITCH0 : PITCH0 + 128]
        return pitches.sum(), (pitches * np.arange(128)).sum() / pitches.sum()

    (struck, mean), (struck_leaned, mean_leaned) = shares(logits), shares(_leaned(logits, allowed, 3.0))
    assert struck_leaned == pytest.approx(struck)  # holding and resting as likely as before
    assert mean_leaned > mean + 3


def test_a_move_class_is_the_last_moves_direction_and_size_up_to_three():
    from cadenza.compose.sampler import move_class

    assert move_class(None, 60, 0) == 0  # a first note: no move yet
    assert move_class(60, 62, 0) == 2 and move_class(62, 61, 2) == -1
    assert move_class(60, 67, -1) == 3 and move_class(67, 55, 3) == -3
    assert move_class(60, 60, -2) == -2  # a repeated pitch leaves the last move as it was


def test_a_contour_bias_moves_a_voice_on_in_the_direction_it_went():
    # a strong bias, after any step up, toward another step up: the lines climb in runs
    def runs_up(bias):
        grid = _sampled(Constraints(voice_ranges=[(30, 100)] * 4, contour_bias=bias), temperature=1.5)
        pairs = []
        for v in range(4):
            moves = _moves(grid, v)
            pairs += [b == 2 for a, b in zip(moves, moves[1:]) if a == 2]
        return sum(pairs) / max(1, len(pairs))

    bias = np.zeros((4, 7, 25))
    bias[:, 3 + 2, 12 + 2] = 8.0  # after a move of +2, a move of +2
    bias[:, 3, 12 + 2] = 8.0  # and the first move too, so that there are runs to count
    assert runs_up(None) < 0.2
    assert runs_up(bias) > 0.6


def test_spacing_keeps_the_voices_in_order(monkeypatch):
    # the untrained model crosses its voices at random; with spacing they keep their order less
    # often, and made heavy (the shipped penalty is a soft 1 nat), almost always
    from cadenza.compose import sampler

    def crossed(spacing):
        out = []
        for now in _sounding(_sampled(Constraints(voice_ranges=[(48, 72)] * 4, spacing=spacing))):
            out += [a < b for a, b in zip(now, now[1:]) if a is not None and b is not None]
        return sum(out) / max(1, len(out))

    assert crossed(False) > 0.3
    assert crossed(True) < crossed(False)
    monkeypatch.setattr(sampler, "SPACING_PENALTY", 8.0)
    assert crossed(True) < 0.05


def test_a_voice_does_not_sound_a_note_against_its_own_letter_altered():
    """F natural is ruled out against another voice's F sharp in D major (E and G are not); where
    only such notes are left, the choices stay as they were."""
    from cadenza.compose.sampler import without_cross_relations
    from cadenza.tokenize.voices import N_PITCHES

    d_major = Key(0.0, 2, "major")
    allowed = np.zeros(PITCH0 + N_PITCHES, dtype=bool)
    allowed[PITCH0 + 60 : PITCH0 + 72] = True
    out = without_cross_relations(allowed, [66, None, 50, None], 1, d_major)
    assert not out[PITCH0 + 65] and out[PITCH0 + 64] and out[PITCH0 + 67] and out[PITCH0 + 66]
    assert not out[PITCH0 + 63]  # D sharp against the bass's D
    only = np.zeros_like(allowed)
    only[PITCH0 + 65] = True
    assert without_cross_relations(only, [66, None, None, None], 1, d_major)[PITCH0 + 65]
    assert without_cross_relations(allowed, [None, 65, None, None], 1, d_major) is allowed  # not against its own note
    allowed[HOLD] = True  # holding F under a melody that moved to F sharp: struck notes only
    held = without_cross_relations(allowed, [66, 65, None, None], 1, d_major)
    assert not held[HOLD] and held[PITCH0 + 64]


def test_a_choir_sings_through_its_phrases_a_rest_drawn_is_drawn_again_from_the_notes():
    # the untrained model rests now and then; before sings_until a rest drawn is drawn again from
    # what else was allowed, so the draws are the same up to the first rest
    free = _sampled(Constraints(voice_ranges=[(40, 90)] * 4), temperature=1.5)
    sung = _sampled(Constraints(voice_ranges=[(40, 90)] * 4, sings_until=10**6), temperature=1.5)
    rests = np.flatnonzero(free.ravel() == REST)
    assert len(rests) > 0 and not (sung == REST).any()
    assert np.array_equal(free.ravel()[: rests[0]], sung.ravel()[: rests[0]])
