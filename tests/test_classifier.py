"""cadenza.evaluate.classifier: the features, the classifier two-sample test, its interval, the voice profile."""

import math

import numpy as np
import pytest

from cadenza.evaluate.classifier import (
    INTERVALS,
    feature_names,
    features,
    grid_of,
    other_features,
    random_notes,
    two_sample_test,
    voice_profile,
    wilson,
)
from cadenza.theory import SATB_RANGES


def stepwise(length: int, rng: np.random.Generator) -> np.ndarray:
    """Four voices moving by steps of one or two semitones, in the same note lengths."""
    out = np.zeros((length, 4), dtype=np.int64)
    for v, (lo, hi) in enumerate(SATB_RANGES):
        s, p = 0, (lo + hi) // 2
        while s < length:
            d = int(rng.choice([2, 4, 4, 8]))
            out[s : s + d, v] = p
            s += d
            p = int(np.clip(p + rng.choice([-2, -1, 1, 2]), lo, hi))
    return out


# one voice: 60 60 62 62 rest rest 64 67 (4 steps with both sounding, 2 of them changes;
# intervals between sounding pitches, rests bridged: 2, 2, 3)
LINE = [60, 60, 62, 62, -1, -1, 64, 67]


def test_features_have_the_documented_length_and_order():
    for n in (1, 2, 4):
        assert len(feature_names(n)) == n * (1 + 3 + len(INTERVALS) + 12) + 12 * n * (n - 1) // 2
    assert len(feature_names(4)) == 200
    grid = np.array([LINE, [p - 12 if p >= 0 else -1 for p in LINE]]).T
    f = features(grid)
    names = feature_names(2)
    assert f.shape == (len(names),)
    values = dict(zip(names, f))
    assert values["v0_change_rate"] == 0.5 and values["v1_change_rate"] == 0.5
    assert values["v0_interval_+2"] == pytest.approx(2 / 3) and values["v0_interval_+3"] == pytest.approx(1 / 3)
    assert values["v0_interval_-2"] == 0
    # the two voices an octave apart at every step both sound
    assert values["v0v1_vertical_0"] == 1.0
    # changes at steps 2 (the off-beat eighth) and 7 (a sixteenth)
    assert values["v0_changes_at_eighth"] == 0.5 and values["v0_changes_at_sixteenth"] == 0.5


def test_voice_profile_of_a_hand_made_grid():
    grid = np.array([LINE, [48] * 8]).T
    prof = voice_profile([grid])
    assert len(prof) == 2
    assert prof[0]["change_rate"] == 0.5 and prof[1]["change_rate"] == 0.0
    assert prof[0]["intervals"] == pytest.approx([0, 2 / 3, 1 / 3, 0, 0, 0, 0, 0])  # sizes 1..7, 8+
    assert prof[1]["intervals"] == [0.0] * 8
    # pooled over pieces: a second piece of leaps of an octave and more
    leaps = np.array([[60, 72, 60, 80, 80, 80, 80, 80], [48] * 8]).T
    both = voice_profile([grid, leaps])
    assert both[0]["change_rate"] == pytest.approx((2 + 3) / (4 + 7))
    assert both[0]["intervals"][-1] == pytest.approx(3 / 6)
    assert voice_profile([]) == []


def test_wilson_interval():
    low, high = wilson(50, 100)
    assert low == pytest.approx(0.404, abs=0.002) and high == pytest.approx(0.596, abs=0.002)
    assert wilson(0, 10)[0] == 0.0 and 0.2 < wilson(0, 10)[1] < 0.35
    assert wilson(10, 10)[1] == 1.0 and 0.65 < wilson(10, 10)[0] < 0.8
    assert all(math.isnan(x) for x in wilson(0, 0))
    narrow, wide = wilson(400, 500), wilson(40, 50)
    assert narrow[0] < 0.8 < narrow[1] and narrow[1] - narrow[0] < wide[1] - wide[0]


@pytest.mark.slow  # 30 random forests, about 10 s
def test_one_distribution_is_chance_and_different_ones_are_told_apart():
    rng = np.random.default_rng(0)
    same = [random_notes(64, rng) for _ in range(48)]
    other = [stepwise(64, rng) for _ in range(24)]
    calls: list[tuple[int, int]] = []
    chance = two_sample_test(same[:24], same[24:], repeats=2, progress=lambda *a: calls.append(a))
    apart = two_sample_test(same[:24], other, repeats=2)
    assert chance.accuracy < 0.7 and chance.low < 0.5 < chance.high
    assert apart.accuracy > 0.9 and apart.low > 0.75
    assert (chance.n_candidates, chance.n_reference, chance.folds, chance.repeats) == (24, 24, 5, 2)
    assert calls == [(i, 10) for i in range(10)]
    # deterministic: the same seed, the same answer
    assert two_sample_test(same[:24], other, repeats=2).accuracy == apart.accuracy


def test_two_sample_test_refuses_what_it_cannot_test():
    rng = np.random.default_rng(1)
    four = [random_notes(32, rng) for _ in range(4)]
    with pytest.raises(ValueError, match="different numbers of voices"):
        two_sample_test(four, [g[:, :3] for g in four])
    with pytest.raises(ValueError, match="at least 2 pieces"):
        two_sample_test(four[:1], four[1:])


def test_grid_of_a_score_is_highest_voice_first_with_rests():
    from conftest import make_score

    grid = grid_of(make_score(4, bars=2), 4)
    assert grid.shape == (32, 4)
    assert grid[0].tolist() == [72, 67, 64, 48]
    assert (grid[:, 0] > grid[:, 1]).all()
    assert grid_of(make_score(2, bars=2), 3).shape == (32, 3)


def test_cross_relation_share_counts_steps_with_a_letter_against_itself_altered():
    import numpy as np

    from cadenza.evaluate.classifier import cross_relation_share

    d_major = np.array([[74, 66, 57, 50]] * 6 + [[74, 65, 57, 50]] * 2)  # F natural after F sharp, not with it
    clash = np.array([[74, 66, 57, 50]] * 6 + [[78, 65, 57, 50]] * 2)  # F# in the soprano against F in the alto
    assert cross_relation_share([d_major]) == (0.0, 0.0)
    assert cross_relation_share([clash, d_major]) == (2 / 16, 0.5)


def test_the_other_features_count_contours_note_lengths_motion_and_the_intervals_over_the_bass_on_the_beats():
    # voice 0: moves up, up, up (rests bridged): one run of three, all up; notes of 2, 2, 1, 1
    # steps; voice 1, an octave under it, moves with it: parallel motion twice; on the beats
    # (steps 0 and 4) only step 0 has both, an octave apart
    grid = np.array([LINE, [p - 12 if p >= 0 else -1 for p in LINE]]).T
    f = other_features(grid)
    assert f.shape == (2 * 16 + 4 + 12,)
    assert f[:8].tolist() == [0.0] * 7 + [1.0]  # the run up-up-up
    assert f[8:16].tolist() == [0.5, 0.5] + [0.0] * 6  # lengths 1 and 2
    assert f[32:36].tolist() == [0.0, 0.0, 1.0, 0.0]  # contrary, similar, parallel, oblique
    assert f[36:].tolist() == [1.0] + [0.0] * 11


def test_the_test_on_other_features_tells_random_notes_from_stepwise_voices():
    rng = np.random.default_rng(0)
    same = [stepwise(64, rng) for _ in range(40)]
    other = [random_notes(64, rng) for _ in range(20)]
    assert two_sample_test(same[:20], other, repeats=1, featurize=other_features).accuracy > 0.9
    assert two_sample_test(same[:20], same[20:], repeats=1, featurize=other_features).accuracy < 0.75
