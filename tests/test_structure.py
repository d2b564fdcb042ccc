"""cadenza.evaluate.structure: recurrence of bars and phrases, similarity by distance, the
similarity error, and the spread of real pieces, on hand-built scores."""

import math
from types import SimpleNamespace

import numpy as np
import pytest

from cadenza.evaluate import structure
from cadenza.plan.analyze import analyze
from cadenza.score import Key, Meter, Note, Part, Score, Tempo


def random_bar(rng: np.random.Generator, n: int = 6) -> list[tuple[float, int, float]]:
    """n notes (onset in the bar, pitch, duration) at distinct sixteenth-note onsets of a 4/4 bar."""
    onsets = sorted(rng.choice(16, n, replace=False))
    return [(o / 4, int(rng.integers(55, 80)), min(4 - o / 4, float(rng.choice([0.25, 0.5, 1.0])))) for o in onsets]


def score_of(bars: list[list[tuple[float, int, float]]]) -> Score:
    notes = [Note(p, b * 4.0 + t, d, 80) for b, bar in enumerate(bars) for t, p, d in bar]
    return Score(
        parts=[Part(name="melody", program=0, notes=notes)],
        tempos=[Tempo(0.0, 100.0)],
        meters=[Meter(0.0, 4, 4)],
        keys=[Key(0.0, 0, "major")],
    )


def up(bar, semitones: int):
    return [(t, p + semitones, d) for t, p, d in bar]


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_an_aaba_tune_repeats_half_its_bars_and_phrases_exactly(rng):
    a = [random_bar(rng) for _ in range(8)]
    b = [random_bar(rng) for _ in range(8)]
    m = structure.measure_piece(score_of(a + a + b + a))
    assert m["bars"] == 32 and m["phrases_from"] == "windows"
    assert m["bar_exact"] == pytest.approx(16 / 32)  # the second and third A
    assert m["bar_transposed"] == 0.0 and m["bar_varied"] == 0.0
    assert m["phrase_exact"] == pytest.approx(4 / 8)  # 4-bar windows: two in each returning A
    assert m["phrase_transposed"] == 0.0 and m["phrase_varied"] == 0.0
    assert "cadences" not in m  # no analyzer given


def test_a_transposed_copy_counts_as_transposed_not_exact(rng):
    a = [random_bar(rng) for _ in range(8)]
    m = structure.measure_piece(score_of(a + [up(bar, 5) for bar in a]))
    assert m["bar_exact"] == 0.0
    assert m["bar_transposed"] == pytest.approx(8 / 16)
    assert m["phrase_transposed"] == pytest.approx(2 / 4) and m["phrase_exact"] == 0.0


def test_a_phrase_whose_bars_move_by_different_intervals_is_not_a_transposed_phrase(rng):
    a = [random_bar(rng) for _ in range(4)]
    m = structure.measure_piece(score_of(a + [up(a[0], 2), up(a[1], 5), up(a[2], 2), up(a[3], 2)]))
    assert m["bar_transposed"] == pytest.approx(4 / 8)  # each bar on its own is a transposed copy
    assert m["phrase_transposed"] == 0.0 and m["phrase_varied"] == pytest.approx(1 / 2)


def test_a_copy_with_one_note_changed_per_bar_counts_as_varied(rng):
    a = [random_bar(rng) for _ in range(8)]
    varied = [bar[:-1] + [(bar[-1][0], bar[-1][1] + 1, bar[-1][2])] for bar in a]  # 5 of 7 notes shared
    m = structure.measure_piece(score_of(a + varied))
    assert m["bar_exact"] == 0.0 and m["bar_transposed"] == 0.0
    assert m["bar_varied"] == pytest.approx(8 / 16)
    assert m["phrase_varied"] == pytest.approx(2 / 4)


def test_random_notes_almost_never_recur(rng):
    m = structure.measure_piece(score_of([random_bar(rng) for _ in range(48)]))
    assert m["bar_exact"] == 0.0 and m["bar_transposed"] == 0.0
    assert m["bar_varied"] < 0.05
    assert m["phrase_exact"] == 0.0 and m["phrase_varied"] == 0.0


def test_empty_bars_never_count_as_returns(rng):
    x = random_bar(rng)
    m = structure.measure_piece(score_of([x, [], [], x]))
    assert m["bar_exact"] == pytest.approx(1 / 2)  # of the two bars with notes, the second returns


def test_the_curve_of_a_piece_repeating_every_two_bars_peaks_at_even_distances(rng):
    x, y = random_bar(rng), random_bar(rng)
    curve = np.array(structure.measure_piece(score_of([x, y] * 8))["curve"])
    assert len(curve) == structure.MAX_DISTANCE == 16
    assert curve[1::2][:-1] == pytest.approx(1.0)  # distances 2, 4, ... 14
    assert (curve[0:15:2] < 0.3).all()  # distances 1, 3, ... 15
    assert math.isnan(curve[15])  # 16 bars have no pair 16 apart
    peaks = [d for d in range(2, 16) if curve[d - 1] > curve[d - 2] and curve[d - 1] > curve[d]]
    assert peaks == [2, 4, 6, 8, 10, 12, 14]


def test_similarity_error_is_zero_for_identical_sets_and_positive_otherwise(rng):
    repeating = [
        structure.measure_piece(score_of([x, y] * 8)) for x, y in ((random_bar(rng), random_bar(rng)) for _ in range(6))
    ]
    rand = [structure.measure_piece(score_of([random_bar(rng) for _ in range(16)])) for _ in range(6)]
    same = structure.summarize(repeating, repeating)
    assert same["similarity_error"] == 0.0
    apart = structure.summarize(rand, repeating)
    # random bars: near 0 at every distance; repeating: 1 at even distances, ~0 at odd ones
    assert apart["similarity_error"] == pytest.approx(7 / 15, abs=0.03)  # 7 of 15 distances differ by ~1
    assert apart["similarity_error_inside"] is False
    assert structure.summarize(rand, rand)["similarity_error_inside"] is True
    assert structure.similarity_error(np.array([0.1, np.nan, 0.3]), np.array([0.2, 0.5, np.nan])) == pytest.approx(0.1)
    assert math.isnan(structure.similarity_error(np.array([np.nan]), np.array([0.2])))


def test_the_set_error_compares_a_set_with_real_pieces_of_its_lengths(rng):
    # real pieces of two kinds: 8 bars repeating every 2 bars, 24 bars of new bars throughout
    short = [
        structure.measure_piece(score_of([x, y] * 4))
        for x, y in ((random_bar(rng), random_bar(rng)) for _ in range(20))
    ]
    long = [structure.measure_piece(score_of([random_bar(rng) for _ in range(24)])) for _ in range(20)]
    like_short = [
        structure.measure_piece(score_of([x, y] * 4)) for x, y in ((random_bar(rng), random_bar(rng)) for _ in range(8))
    ]
    matched = structure.summarize(like_short, short + long)
    # against the short real pieces' curve, not the mixture's (where the long ones pull it to ~0)
    assert matched["similarity_error"] < 0.01
    assert matched["similarity_error_inside"] is True
    unmatched = structure.similarity_error(
        structure.mean_curve(np.array([p["curve"] for p in like_short])),
        structure.mean_curve(np.array([p["curve"] for p in short + long])),
    )
    assert unmatched > 0.2
    assert list(structure.length_matches(8, np.array([8, 8, 24, 9, 30]), least=3)) == [0, 1, 3]
    assert list(structure.length_matches(40, np.array([8, 24, 30]), least=10)) == [0, 1, 2]
    pools = structure.length_pools([8, 8, 24], np.array([8] * 10 + [9, 24, 30]))
    assert list(pools[8]) == list(range(10)) and list(pools[24]) == list(range(13))
    assert math.isnan(structure.summarize(like_short, [])["similarity_error"])


def test_per_piece_errors_compare_a_reference_piece_with_the_other_pieces():
    curves = np.full((3, structure.MAX_DISTANCE), np.nan)
    curves[:, 0] = [0.0, 0.3, 0.6]
    assert structure.piece_errors(curves, None) == pytest.approx([0.45, 0.0, 0.45])
    assert structure.piece_errors(curves[:1], curves) == pytest.approx([0.3])


def test_a_set_like_the_reference_lies_inside_its_spread_and_a_repetitive_one_outside(rng):
    def tune():
        a = [random_bar(rng) for _ in range(4)]
        return score_of(a + [random_bar(rng) for _ in range(8)] + a)  # a third of the bars return

    real = [structure.measure_piece(tune()) for _ in range(20)]
    like = structure.summarize([structure.measure_piece(tune()) for _ in range(10)], real)
    assert like["measures"]["bar_exact"]["inside"] and like["measures"]["bar_exact"]["inside_sets"]
    loop = [random_bar(rng) for _ in range(2)]
    looping = structure.summarize([structure.measure_piece(score_of(loop * 8)) for _ in range(5)], real)
    m = looping["measures"]["bar_exact"]
    assert m["mean"] == pytest.approx(14 / 16) and m["inside"] is False and m["inside_sets"] is False
    r = structure.summarize(real)["measures"]["bar_exact"]
    assert r["low"] == pytest.approx(4 / 16) == r["high"] and "inside" not in r
    assert structure.inside_count(looping)[1] == len(looping["measures"])


def test_where_most_real_pieces_score_one_value_a_mean_is_compared_with_real_sets(rng):
    def tune(returns: bool):
        a = [random_bar(rng) for _ in range(4)]
        return score_of(
            a + [random_bar(rng) for _ in range(8)] + (a if returns else [random_bar(rng) for _ in range(4)])
        )

    real = [structure.measure_piece(tune(i < 3)) for i in range(40)]  # 3 of 40 repeat bars: the spread is 0%-0%
    r = structure.summarize(real)["measures"]["bar_exact"]
    assert r["low"] == r["high"] == 0.0 and r["mean"] > 0
    like = structure.summarize([structure.measure_piece(tune(i == 0)) for i in range(10)], real)
    m = like["measures"]["bar_exact"]
    assert m["mean"] > r["high"]  # outside one value, as nearly every set of real pieces is
    assert (
        m["inside"]
        and m["inside_sets"]
        and structure.inside_range(m, r) == (m["sets_low"], m["sets_high"], "real sets")
    )
    every = structure.summarize([structure.measure_piece(tune(True)) for _ in range(10)], real)
    assert every["measures"]["bar_exact"]["inside"] is False
    assert structure.inside_range(m, {"low": 0.0, "high": 0.5}) == (0.0, 0.5, "real")


def test_long_pieces_are_cut_at_max_bars(rng):
    m = structure.measure_piece(score_of([random_bar(rng) for _ in range(structure.MAX_BARS + 10)]))
    assert m["bars"] == structure.MAX_BARS


def test_the_analyzer_gives_the_phrases_and_the_cadence_rates(rng):
    a, b, c = ([random_bar(rng) for _ in range(2)] for _ in range(3))
    score = score_of(a + b + a + c)
    phrase = lambda s, e, cad: SimpleNamespace(start_bar=s, end_bar=e, end_beats=e * 4.0 - 1, key=None, cadence=cad)
    phrases = [phrase(0, 2, "half"), phrase(2, 4, "authentic"), phrase(4, 6, "half"), phrase(6, 8, "authentic")]
    m = structure.measure_piece(score, lambda s: SimpleNamespace(phrases=phrases))
    assert m["phrases_from"] == "analyzer"
    assert m["phrase_exact"] == pytest.approx(1 / 4)  # bars 4-5 repeat bars 0-1
    assert m["cadences"]["authentic"] == 0.5 and m["cadences"]["half"] == 0.5 and m["cadences"]["none"] == 0.0
    summary = structure.summarize([m, m], [m])
    assert summary["cadences_measured"] and summary["measures"]["cadence_half"]["mean"] == 0.5
    assert "cadence_half" in structure.measure_names(summary)

    def broken(s):
        raise ValueError("no phrases")

    m = structure.measure_piece(score, broken)
    assert m["phrases_from"] == "windows" and all(math.isnan(v) for v in m["cadences"].values())
    assert m["analysis_error"] == "ValueError: no phrases"
    assert structure.summarize([m])["analysis_errors"] == 1


def test_the_analyzers_sections_give_the_form_and_the_cadences_at_section_ends(rng):
    from cadenza.plan.form import Plan, Section

    a, b = ([random_bar(rng) for _ in range(4)] for _ in range(2))
    phrase = lambda s, e, cad: SimpleNamespace(start_bar=s, end_bar=e, end_beats=e * 4.0 - 1, key=None, cadence=cad)
    phrases = [phrase(0, 4, "authentic"), phrase(4, 8, "half"), phrase(8, 12, "none")]
    plan = Plan([Section("A", 4, cadences=["authentic"]), Section("B", 4, cadences=["half"]),
                 Section("A", 4, cadences=["none"])])  # fmt: skip
    m = structure.measure_piece(score_of(a + b + a), lambda s: SimpleNamespace(phrases=phrases, plan=plan))
    assert m["form"] == {
        "sections": 3.0,
        "section_returns": pytest.approx(1 / 3),  # the last A returns the first
        "section_end_cadence": pytest.approx(2 / 3),
        "section_end_authentic": pytest.approx(1 / 3),
    }
    summary = structure.summarize([m, m], [m])
    assert summary["measures"]["sections"]["mean"] == 3.0 and summary["measures"]["sections"]["inside"]
    assert set(structure.FORM) <= set(structure.measure_names(summary))


def test_the_real_analyzer_finds_phrases_and_cadences_in_a_tune(rng):
    a = [random_bar(rng) for _ in range(4)]
    m = structure.measure_piece(score_of(a + [random_bar(rng) for _ in range(4)] + a), analyze)
    assert m["phrases_from"] == "analyzer" and "analysis_error" not in m
    assert set(m["cadences"]) == set(structure._cadence_names())
    assert sum(m["cadences"].values()) == pytest.approx(1.0)
    assert m["form"]["sections"] >= 1 and 0 <= m["form"]["section_returns"] <= 1
