"""cadenza.evaluate.measures: the measures on pieces whose answers are known."""

import math

import numpy as np

from cadenza.evaluate.measures import measure_piece
from conftest import make_score
from conftest import melody_of as melody


def test_melody_measures_match_hand_counts():
    # C major: C D E F | G G G G | G G C' B | C D C C  (G six times in a row; B down to C, a
    # leap of a major seventh, resolved by a step up)
    m = measure_piece(melody([60, 62, 64, 65, 67, 67, 67, 67, 67, 67, 72, 71, 60, 62, 60, 60]))
    assert m["starts_on_tonic"] == 1.0 and m["in_key_share"] == 1.0
    assert m["pitch_range"] == 12.0
    assert m["excessive_repetition"] == 2 / 16  # the 5th and 6th G
    assert m["leaps_resolved"] == 1.0  # the only leap over a fifth (67 -> 72 is a fourth)
    assert m["polyphony"] == 1.0 and math.isnan(m["parallels_per_bar"])
    assert m["onsets_per_bar"] == 4.0 and m["mean_ioi_beats"] == 1.0 and m["empty_beat_rate"] == 0.0
    assert m["pc_entropy"] == -sum(p * math.log2(p) for p in np.array([5, 2, 1, 1, 6, 1]) / 16)


def test_recurrence_exact_and_transposed():
    bar = [60, 64, 67, 64]
    exact = measure_piece(melody(bar + [62, 65, 69, 65] + bar + [60] * 4))
    assert exact["recurring_exact"] == 1 / 4  # bar 1 comes back as bar 3
    moved = measure_piece(melody(bar + [p + 2 for p in bar] + [55, 57, 59, 60]))
    assert moved["recurring_transposed"] == 1 / 3 and moved["recurring_exact"] == 0.0


def test_voice_leading_measures_in_four_parts():
    m = measure_piece(make_score(4, bars=2))
    assert m["polyphony"] == 4.0
    assert m["parallels_per_bar"] > 0  # the hand-made voices all move in parallel
    assert m["out_of_range_per_bar"] == 1.0  # the tenor G#4 (68), twice in two bars, is above G4
