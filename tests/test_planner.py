"""The planner (cadenza.plan.planner) and `cadenza plan` / `cadenza train-planner`
(cadenza.cli.plan): a plan model fitted on hand-made plans, then drawn from."""

from __future__ import annotations

import json
import random
from copy import deepcopy
from dataclasses import replace

import pytest

from cadenza.cli.main import main
from cadenza.errors import OptionError
from cadenza.plan import planner
from cadenza.plan.form import Plan, Section, load_plan, parse_form, with_options
from cadenza.score import Key, Meter, parse_key


def _plan(form: str, key: str, meter: str = "6/8", phrases=(4, 4), cadences=("half", "authentic"), keys=None) -> Plan:
    plan = parse_form(form)
    plan.key, plan.meter = parse_key(key), meter
    for i, s in enumerate(plan.sections):
        k = parse_key(keys[i]) if keys and keys[i] else None
        plan.sections[i] = replace(s, phrases=list(phrases), cadences=list(cadences), key=k)
    return plan


def _aabb_corpus(n: int = 12) -> list[Plan]:
    tonics = ["G major", "D major", "A major", "E minor", "C major", "A minor"]
    return [_plan("A8 A8 B8 B8", tonics[i % len(tonics)]) for i in range(n)]


@pytest.fixture(scope="module")
def aabb() -> planner.PlanModel:
    return planner.fit(_aabb_corpus())


def test_relations_read_keys_as_roman_numerals():
    from cadenza.theory import key_numeral, key_numerals, numeral_key

    g, a = parse_key("G major"), parse_key("A minor")
    assert key_numeral(g, parse_key("D major")) == "V"
    assert key_numeral(g, parse_key("E minor")) == "vi"
    assert key_numeral(g, parse_key("G minor")) == "i"
    assert key_numeral(a, parse_key("C major")) == "III"
    assert key_numeral(a, parse_key("E minor")) == "v"
    assert key_numeral(parse_key("C major"), parse_key("Bb major")) == "bVII"
    for home in (g, a):
        for numeral in key_numerals(home.mode):
            assert key_numeral(home, numeral_key(home, numeral)) == numeral
    assert len(set(key_numerals("major"))) == 24
    for bad in ("X", "", "Vi", "#", "IIII"):
        with pytest.raises(ValueError, match="key relation"):
            numeral_key(g, bad)


def test_moves_of_a_plan():
    plan = _plan("A8 A8 B8 A'8 C4 B8", "G major")
    plan.sections[5] = replace(plan.sections[5], key=parse_key("D major"))
    assert planner.moves_of(plan) == [("new", 0), ("repeat", 0), ("new", 0), ("return'", 1), ("new", 0), ("return@", 2)]
    plan = _plan("A4 B4 C4 B4 A4", "G major")
    assert [t for _, t in planner.moves_of(plan)] == [0, 0, 0, 2, 1]


@pytest.mark.parametrize("bars", [1, 7, 16, 24, 32, 37, 64, 200])
def test_sampled_plans_have_exactly_the_bars_asked(aabb, bars):
    for seed in range(5):
        plan = aabb.sample(bars, seed=seed)
        assert plan.bars == bars
        assert all(sum(s.phrase_bars()) == s.bars for s in plan.sections)
        assert all(len(s.cadences) == len(s.phrase_bars()) and all(s.cadences) for s in plan.sections)
        assert plan.phrase_ends()[-1][1] == "authentic"  # the final cadence
        assert plan.key_of(len(plan.sections) - 1) == plan.key_of(0) == plan.key  # home at both ends
        plan.check()


def test_same_seed_same_plan_other_seeds_vary():
    model = planner.fit(
        _aabb_corpus()
        + [_plan("A8 B8 A8 C8", "F major"), _plan("A4 B4 A4 B4 C4", "D minor", phrases=(4,), cadences=("authentic",))]
    )
    with pytest.raises(OptionError, match="do not add up"):
        planner.fit([_plan("A4 B4", "C major", phrases=(4, 4))])
    assert model.sample(32, seed=3).to_dict() == model.sample(32, seed=3).to_dict()
    assert model.sample(40, seed=3).to_dict() == model.sample(40, seed=3).to_dict()
    assert len({json.dumps(model.sample(40, seed=s).to_dict()) for s in range(12)}) > 3


def test_an_aabb_corpus_gives_aabb_forms(aabb):
    forms = [aabb.sample(32, seed=s).form() for s in range(20)]
    assert sum(f == "A8 A8 B8 B8" for f in forms) >= 16, forms
    # longer than any piece it learned from: the chain of moves repeats each new strain
    for s in range(10):
        plan = aabb.sample(48, key=parse_key("D major"), seed=s)
        sections = plan.sections
        assert all(x.bars == 8 for x in sections), plan.form()
        repeats = sum(1 for a, b in zip(sections, sections[1:]) if a.label == b.label)
        assert repeats >= 2, plan.form()
        assert all(s.phrases == [4, 4] for s in sections)


def test_a_form_twice_as_long_keeps_its_phrases(aabb):
    """64 bars from 32-bar pieces: mostly their form made twice as long, in both ways about
    equally: every section twice as long, each section's phrases taken twice (not one 16-bar
    phrase split anew), or each strain played twice."""
    plans = [aabb.sample(64, seed=s) for s in range(30)]
    stretched = [p for p in plans if p.form() == "A16 A16 B16 B16"]
    twice = [p for p in plans if p.form() == "A8 A8 A8 A8 B8 B8 B8 B8"]
    assert len(stretched) >= 6 and len(twice) >= 6, [p.form() for p in plans]
    assert len(stretched) + len(twice) >= 20, [p.form() for p in plans]
    assert all(s.phrases == [4, 4, 4, 4] for p in stretched for s in p.sections)
    assert all(s.phrases == [4, 4] for p in twice for s in p.sections)
    aabb = deepcopy(aabb)
    aabb.smoothing["twice"] = 0.0
    assert not any(aabb.sample(64, seed=s).form() == "A8 A8 A8 A8 B8 B8 B8 B8" for s in range(30))


def test_forms_half_as_long_are_a_prior_not_as_many_pieces():
    """A length the corpus has many pieces of is drawn as they are: the forms of half its length
    weigh smoothing["halves"] pieces in all, however many there are (they had weighed one
    each, and a folk model drew 32-bar tunes A8 A8 B8 B8 53% of the time against its corpus's
    78%). A length it has few pieces of is still drawn mostly from them."""
    half = [_plan("A4 B4 C4 D4", "G major", "4/4", (4,), ("authentic",))] * 40
    many = planner.fit(half + [_plan("A8 A8 B8 B8", "G major", "4/4")] * 40)
    forms = [many.sample(32, seed=s).form() for s in range(60)]
    assert sum(f == "A8 A8 B8 B8" for f in forms) >= 42, forms  # 80 / (80 + 2) x 40 / (40 + 10): 78%
    few = planner.fit(half + [_plan("A8 A8 B8 B8", "G major", "4/4")] * 2)
    forms = [few.sample(32, seed=s).form() for s in range(60)]
    halves = ("A8 B8 C8 D8", "A4 A4 B4 B4 C4 C4 D4 D4")
    assert sum(f in halves for f in forms) >= 40, forms  # 42 / (42 + 2) x 10 / (2 + 10): 80%
    few.smoothing["halves"] = 0.0
    assert not any(few.sample(32, seed=s).form() in halves for s in range(60))
    assert few.sample(96, seed=3).bars == 96  # no form of 96 or 48 bars: the chain draws it


def test_forms_half_as_long_are_scaled_down_only_and_count_whole_for_the_mixture():
    """Three 16-bar pieces against one of 32 bars: the half-length forms keep their own weight
    (3, not raised to 10), and the chance of a corpus form at all is 4 / (4 + 2), as the pieces
    count (not 3.0 scaled pieces plus one), so the chain draws a third of the plans."""
    half = [_plan("A4 B4 C4 D4", "G major", "4/4", (4,), ("authentic",))] * 3
    model = planner.fit(half + [_plan("A8 A8 B8 B8", "G major", "4/4")])
    forms = [model.sample(32, seed=s).form() for s in range(300)]
    corpus = sum(f in ("A8 A8 B8 B8", "A8 B8 C8 D8", "A4 A4 B4 B4 C4 C4 D4 D4") for f in forms)
    assert 0.55 < corpus / 300 < 0.8, forms  # 4 / 6 = 0.67 (scaled up to 10 + 1: 11 / 13 = 0.85)
    aabb = sum(f == "A8 A8 B8 B8" for f in forms) / max(corpus, 1)
    assert 0.15 < aabb < 0.4, forms  # 1 / (1 + 3) of the corpus forms (scaled up: 1 / 11)
    many = planner.fit(half * 14 + [_plan("A8 A8 B8 B8", "G major", "4/4")] * 2)  # 42 halves, scaled to 10
    forms = [many.sample(32, seed=s).form() for s in range(300)]
    corpus = sum(f in ("A8 A8 B8 B8", "A8 B8 C8 D8", "A4 A4 B4 B4 C4 C4 D4 D4") for f in forms)
    assert corpus / 300 > 0.91, forms  # 44 / (44 + 2) = 0.96 (counted as scaled, 12 / 14 = 0.86)


def test_each_strain_is_played_twice():
    """A strain is a run of one label: a period A4 A'4 is played twice whole, as a fiddler
    repeats the A strain, not each of its halves twice."""
    assert planner.played_twice("A8 B8") == ("A8 A8 B8 B8", {1: 0, 3: 2})
    assert planner.played_twice("A4 A'4 B8@") == ("A4 A'4 A4 A'4 B8@ B8@", {2: 0, 3: 1, 5: 4})
    assert planner.played_twice("B8 A4 B8") == ("B8 B8 A4 A4 B8 B8", {1: 0, 3: 2, 5: 4})


def test_a_form_played_twice_is_drawn_as_such_and_closes_home_both_times():
    """The last strain played twice is at home both times (the close is; its first playing had
    kept a key drawn for it), and a played-twice form is told from a corpus form it equals."""
    corpus = [_plan("A4 B4 A'4", "G major", "4/4", (4,), ("authentic",), keys=[None, "D major", None])] * 12
    model = planner.fit(corpus)
    plans = [model.sample(24, seed=s) for s in range(60)]
    twice = [p for p in plans if [s.label for s in p.sections] == list("AABBAA")]
    assert len(twice) >= 10, [p.form() for p in plans]
    for p in twice:
        assert p.key_of(4) == p.key_of(5) == p.key, p.describe()
        assert p.key_of(2) == p.key_of(3), p.describe()  # B played again keeps its key


def test_music_whose_strains_are_not_played_twice_has_none_drawn():
    """With twice=0 (train-planner --twice 0, the chorales: none of Bach's 74 chorales of 16
    bars is a form of 8 played twice), a length the corpus lacks is drawn from the forms of half
    its length with every section twice as long, never with each strain played twice."""
    corpus = [_plan("A4 B4", "G major", "4/4", (4,), ("authentic",))] * 12
    forms = [planner.fit(corpus).sample(16, seed=s).form() for s in range(60)]
    assert "A4 A4 B4 B4" in forms and "A8 B8" in forms, forms
    model = planner.fit(corpus, twice=0.0)
    assert (model.smoothing["twice"], model.smoothing["stretch"]) == (0.0, 1.0)
    forms = [model.sample(16, seed=s).form() for s in range(60)]
    assert "A4 A4 B4 B4" not in forms and "A8 B8" in forms, forms


def test_what_the_corpus_does_with_keys_and_cadences():
    """B strains in the dominant (major) or relative major (minor), half then authentic cadences."""
    corpus = [_plan("A8 A8 B8 A8", "G major", keys=[None, None, "D major", None]) for _ in range(10)]
    corpus += [_plan("A8 A8 B8 A8", "A minor", keys=[None, None, "C major", None]) for _ in range(10)]
    model = planner.fit(corpus)
    for key, other in (("G major", "D major"), ("A minor", "C major")):
        plans = [model.sample(32, key=parse_key(key), seed=s) for s in range(20)]
        assert sum(p.sections[2].key == parse_key(other) for p in plans) >= 16
        assert sum(p.sections[0].cadences == ["half", "authentic"] for p in plans) >= 14
    plan = model.sample(32, key=parse_key("Eb major"), seed=1)
    assert plan.form() in ("A8 A8 B8@Bb A8", "A8 A8 B8 A8"), plan.form()


def test_home_key_and_meter_default_to_the_corpus(aabb):
    plan = aabb.sample(16, seed=0)
    assert plan.meter == "6/8" and plan.key is not None
    assert plan.key in {parse_key(k) for k in ("G major", "D major", "A major", "E minor", "C major", "A minor")}
    assert aabb.sample(16, meter="3/4", key=parse_key("F major"), seed=0).meter == "3/4"
    assert aabb.sample(16, meter=Meter(0.0, 2, 4), seed=0).meter == "2/4"


def test_the_meter_is_drawn_for_the_length_asked():
    """A corpus of many 16-bar songs in 3/4 and fewer 32-bar dance tunes in 6/8: a 32-bar plan
    is in 6/8 (as the corpus's 32-bar pieces are), a 16-bar one in 3/4, and a length no piece
    has in the corpus's meters as they come."""
    songs = [_plan("A8 B8", "F major", "3/4")] * 30
    dances = [_plan("A8 A8 B8 B8", "G major", "6/8")] * 10
    model = planner.fit(songs + dances)
    meters = {bars: [model.sample(bars, seed=s).meter for s in range(40)] for bars in (16, 32, 24)}
    assert meters[32].count("6/8") >= 30, meters[32]  # p = 10.5 / 12
    assert meters[16].count("3/4") >= 30, meters[16]
    assert 15 <= meters[24].count("3/4") <= 39 and "6/8" in meters[24], meters[24]


def test_impossible_lengths_are_refused(aabb):
    for bars in (0, -3, 1001):
        with pytest.raises(OptionError):
            aabb.sample(bars, seed=0)
    with pytest.raises(OptionError):
        planner.fit([])


def test_dict_round_trip_and_file(aabb, tmp_path):
    d = aabb.to_dict()
    assert json.loads(json.dumps(d)) == d
    again = planner.PlanModel.from_dict(json.loads(json.dumps(d)))
    assert again.to_dict() == d
    assert again.sample(32, seed=5).to_dict() == aabb.sample(32, seed=5).to_dict()
    path = planner.save(aabb, tmp_path)
    assert path == tmp_path / "planner.json"
    assert planner.load(tmp_path).to_dict() == d
    with pytest.raises(Exception, match="exists"):
        planner.save(aabb, tmp_path)
    planner.save(aabb, tmp_path, force=True)
    assert planner.of_model(tmp_path).to_dict() == d  # type: ignore[union-attr]
    assert planner.of_model(tmp_path / "elsewhere") is None
    for bad in ({}, {"format": "cadenza-planner", "version": 99}, {**d, "moves": [1, 2]}):
        with pytest.raises(OptionError):
            planner.PlanModel.from_dict(bad)


def test_complete_fills_what_a_form_leaves_out(aabb):
    given = parse_form("A8 A8 B8 B8")
    plan = planner.complete(given, aabb, seed=1)
    assert plan.form().split("@")[0].startswith("A8 A8 B8 B8") and plan.bars == 32
    assert plan.key is not None
    assert all(s.phrases == [4, 4] and all(s.cadences) for s in plan.sections)
    assert plan.sections[-1].cadences[-1] == "authentic"
    assert given.sections[0].phrases == []  # the given plan is left as it was
    # given keys, phrases and cadences stay; a cadence given for one phrase stays on the last
    given = parse_form("A8 B8@D A8")
    given.key = parse_key("G major")
    given.sections[0] = replace(given.sections[0], cadences=["half"])
    given.sections[1] = replace(given.sections[1], phrases=[2, 6])
    plan = planner.complete(given, aabb, seed=2)
    assert plan.sections[0].cadences[-1] == "half" and len(plan.sections[0].cadences) == 2
    assert plan.sections[1].phrases == [2, 6] and plan.key_of(1) == parse_key("D major")
    assert plan.key_of(0) == plan.key_of(2) == parse_key("G major")
    assert plan.sections[2].phrases == plan.sections[0].phrases
    assert planner.complete(given, aabb, seed=2).to_dict() == plan.to_dict()


def test_complete_plans_keys_with_the_model():
    corpus = [_plan("A8 B8 A8", "C major", keys=[None, "G major", None]) for _ in range(10)]
    model = planner.fit(corpus)
    plans = [planner.complete(parse_form("A8 B8 A8"), model, seed=s) for s in range(10)]
    assert sum(p.relation(1) == "new" and p.key_of(1) != p.key for p in plans) >= 8


def test_complete_draws_a_home_key_its_cadence_keys_fit(aabb):
    """bIII is seen from a major key only: a keyless plan with it gets a major home, even where
    the corpus (a third of it minor) and the last section's key (minor) would give a minor one."""
    given = with_options(parse_form("A8 B8"), None, "half@bIII")
    assert {planner.complete(given, aabb, seed=s).key.mode for s in range(12)} == {"major"}
    late_minor = with_options(parse_form("A8 B8 C8@a"), None, "half@bIII")
    plan = planner.complete(late_minor, aabb, seed=0)
    assert plan.key.mode == "major" and str(plan.key_of(2)) == "A minor"
    free = parse_form("A8 B8")  # nothing limits it: the corpus's minor keys are drawn too
    assert {planner.complete(free, aabb, seed=s).key.mode for s in range(12)} == {"major", "minor"}


def test_counts_drive_the_draw_not_a_table():
    """Two corpora, two habits: the model follows its data (a test that fails for a fixed table)."""
    rondo = planner.fit([_plan("A4 B4 A4 C4 A4", "C major", phrases=(4,), cadences=("authentic",))] * 8)
    binary = planner.fit([_plan("A8 A8 B8 B8", "C major")] * 8)
    assert rondo.sample(20, seed=0).form() == "A4 B4 A4 C4 A4"
    assert binary.sample(20, seed=0).form() != "A4 B4 A4 C4 A4"
    long = rondo.sample(36, seed=4)
    labels = [s.label for s in long.sections]
    assert labels.count("A") >= 3 and all(s.bars == 4 for s in long.sections), long.form()


def test_periods_are_drawn_as_often_as_the_corpus_has_them():
    """A corpus whose B strains open their second phrase with two bars of their first."""

    def tune(echo: int) -> Plan:
        plan = _plan("A8 A8 B8 B8", "G major")
        plan.sections[2] = replace(plan.sections[2], echo=echo)
        return plan

    model = planner.fit([tune(2)] * 9 + [tune(0)] * 3)
    assert model.echoes["4"] == {"0": 15, "2": 9}  # the new sections: 12 As (never), 12 Bs (3 in 4)
    drawn = [model.sample(32, seed=seed) for seed in range(200)]
    echoes = [s.echo for p in drawn for i, s in enumerate(p.sections) if p.relation(i) == "new" and s.phrases == [4, 4]]
    assert 0.2 < sum(e == 2 for e in echoes) / len(echoes) < 0.45 and set(echoes) <= {0, 1, 2, 3}
    for p in drawn:  # returns copy their source; unequal phrases have none
        for i, s in enumerate(p.sections):
            if p.relation(i) != "new" or len(s.phrase_bars()) < 2 or s.phrase_bars()[0] != s.phrase_bars()[1]:
                assert s.echo == 0, p.to_dict()


def test_periods_are_drawn_by_meter():
    """Jigs whose strains are periods beside songs in 4/4 whose strains never are: each meter's
    plans have periods as often as its own pieces do (a jig's A strain is a period about half
    the time in the folk corpus, a 4/4 song's a tenth); a meter with too few pieces for a row of
    its own draws as all meters do. Rhymes and endings are counted and drawn the same way."""

    def tune(meter: str, echo: int) -> Plan:
        plan = _plan("A8 A8 B8 B8", "G major", meter)
        plan.sections[0] = replace(plan.sections[0], echo=echo)
        return plan

    model = planner.fit([tune("6/8", 2)] * 30 + [tune("4/4", 0)] * 30 + [tune("3/4", 2)] * 2)
    assert model.echoes["6/8|4"] == {"2": 30, "0": 30} and model.echoes["4/4|4"] == {"0": 60}
    assert model.echoes["4"] == {"2": 32, "0": 92}
    assert model.echoes["first|6/8|4"] == {"2": 30} and model.echoes["later|6/8|4"] == {"0": 30}

    def periods(meter: str) -> float:  # the share of new sections of two 4-bar phrases that are periods
        plans = [model.sample(32, meter=meter, seed=seed) for seed in range(100)]
        new = [s for p in plans for i, s in enumerate(p.sections) if p.relation(i) == "new" and s.phrases == [4, 4]]
        return sum(s.echo == 2 for s in new) / len(new)

    assert 0.35 < periods("6/8") < 0.65 and periods("4/4") < 0.05  # in 6/8 the As are, the Bs not
    assert 0.1 < periods("3/4") < 0.45  # 2 pieces: as all meters, 32 / 124

    def first_periods(meter: str) -> float:  # the share of first sections that are periods
        plans = [model.sample(32, meter=meter, seed=seed) for seed in range(100)]
        first = [p.sections[0] for p in plans if p.sections[0].phrases == [4, 4]]
        return sum(s.echo == 2 for s in first) / len(first)

    assert first_periods("6/8") > 0.85 and first_periods("4/4") < 0.05  # the As are periods, the Bs not
    assert 0.35 < first_periods("3/4") < 0.7  # all meters' first sections: 32 of 62
    assert not any("|" in line for line in model.summary())  # the card lists all meters' rows only


def test_rhymes_and_endings_are_drawn_by_meter_also_when_a_plan_is_completed():
    """Reels whose B strains rhyme and whose As end anew, beside 4/4 songs that do neither:
    drawn plans, and forms completed with a meter, rhyme and end anew in the reels' meter only."""

    def tune(meter: str, both: bool) -> Plan:
        plan = _plan("A8 A8 B8 B8", "G major", meter)
        plan.sections[1] = replace(plan.sections[1], ending=1 if both else 0)
        plan.sections[2] = replace(plan.sections[2], rhyme=1 if both else 0)
        return plan

    model = planner.fit([tune("2/2", True)] * 30 + [tune("4/4", False)] * 30)
    assert model.rhymes["2/2|4"] == {"1": 30} and model.endings["4/4|4"] == {"0": 30}

    def shares(plans: list[Plan]) -> tuple[float, float]:
        rhymes = [s.rhyme for p in plans for i, s in enumerate(p.sections) if i and p.relation(i) == "new"]
        endings = [s.ending for p in plans for i, s in enumerate(p.sections) if p.may_end_anew(i)]
        return sum(r > 0 for r in rhymes) / len(rhymes), sum(e > 0 for e in endings) / len(endings)

    for meter in ("2/2", "4/4"):
        drawn = [model.sample(32, meter=meter, seed=seed) for seed in range(60)]
        form = parse_form("A8 A8 B8 B8")
        form.meter = meter
        completed = [planner.complete(deepcopy(form), model, seed=seed) for seed in range(60)]
        for plans in (drawn, completed):
            rhymes, endings = shares(plans)
            if meter == "2/2":
                assert rhymes > 0.9 and endings > 0.9, (meter, rhymes, endings)
            else:
                assert rhymes < 0.1 and endings < 0.1, (meter, rhymes, endings)


def test_a_plan_model_without_echoes_draws_the_plans_it_drew_before(aabb):
    """Echoes are drawn from a generator of their own: keys, cadences and forms do not move."""
    assert not any(aabb.to_dict()["echoes"].get("4", {}).get(e, 0) for e in ("1", "2", "3"))
    _draws_as_before(aabb, "echoes", {"4": {"0": 1, "2": 3}}, "echo")


def _draws_as_before(model: planner.PlanModel, table: str, counts: dict, field: str) -> None:
    """The model with `counts` as its `table` (a feature drawn from a generator of its own) draws
    the plans it drew without the table (a planner.json from before), but for that `field`."""
    d = model.to_dict()
    older = planner.PlanModel.from_dict({k: v for k, v in d.items() if k != table})
    newer = planner.PlanModel.from_dict({**d, table: counts})
    for seed in range(5):
        a, b = older.sample(32, seed=seed), newer.sample(32, seed=seed)
        assert all(getattr(s, field) == 0 for s in a.sections)
        assert [replace(s, **{field: 0}) for s in b.sections] == a.sections


def test_cadences_away_from_home_are_drawn_as_often_as_the_corpus_has_them(aabb):
    """A corpus whose B strains make their half cadence in vi in 3 tunes of 4: the key of each
    cadence is drawn by its position and kind; the close is at home; returns keep their source's."""

    def tune(away: bool) -> Plan:
        plan = _plan("A8 A8 B8 B8", "G major")
        for i in (2, 3):
            plan.sections[i] = replace(plan.sections[i], cadence_keys=["vi"] if away else [])
        return plan

    corpus = [tune(True)] * 9 + [tune(False)] * 3
    model = planner.fit(corpus)
    assert model.cadence_keys["major|inner|half"] == {"I": 30, "vi": 18}
    assert model.cadence_keys["major|final|authentic"] == {"I": 12}
    drawn = [model.sample(32, key=parse_key("G major"), seed=seed) for seed in range(200)]
    inner = [k for p in drawn for (_, c), k in zip(p.phrase_ends()[:-1], p.cadence_keys()[:-1]) if c == "half"]
    assert 0.25 < inner.count("vi") / len(inner) < 0.5 and set(inner) <= {"", "vi", "V", "IV", "ii", "iii"}
    for p in drawn:
        assert p.cadence_keys()[-1] == ""  # the close: at home
        for i in range(len(p.sections)):
            j = p.source(i)
            if j is not None and p.relation(i) == "exact":
                assert p.sections[i].cadence_keys == p.sections[j].cadence_keys, p.to_dict()
    assert sum(k == "vi" for p in drawn for k in p.cadence_keys()) > 50
    away = planner.form_statistics(corpus)["cadences_away"]
    assert away == 18 / 96 and abs(planner.form_statistics(drawn)["cadences_away"] - away) < 0.05
    # a model without the table (a planner.json from before) draws the plans it drew, all at home
    d = aabb.to_dict()
    older = planner.PlanModel.from_dict({k: v for k, v in d.items() if k != "cadence_keys"})
    newer = planner.PlanModel.from_dict({**d, "cadence_keys": {"major|inner|half": {"I": 1, "vi": 3}}})
    for seed in range(5):
        a, b = (
            older.sample(32, key=parse_key("G major"), seed=seed),
            newer.sample(32, key=parse_key("G major"), seed=seed),
        )
        assert all(not s.cadence_keys for s in a.sections) and any(s.cadence_keys for s in b.sections)
        assert [replace(s, cadence_keys=[]) for s in b.sections] == a.sections


def test_a_far_cadence_key_the_corpus_read_now_and_then_is_not_drawn():
    """A corpus where one tune in 120 has its A strains read as closing in bii (an analysis of a
    modal tune can read so; the folk plan model drew "imperfect in bii" for a newcomer): a cadence
    drawn in such a key closes at home; a key the corpus's cadences use often (here vi) is drawn."""

    def tune(numeral: str) -> Plan:
        plan = _plan("A8 A8 B8 B8", "G major")
        for i in (0, 1):
            plan.sections[i] = replace(plan.sections[i], cadence_keys=[numeral])
        return plan

    model = planner.fit([tune("bii")] + [tune("vi")] * 119)
    assert model.cadence_keys["major|inner|half"]["bii"] == 2  # the corpus has it, under 1% of the time
    numerals = [k for seed in range(300) for k in model.sample(32, key=parse_key("G major"), seed=seed).cadence_keys()]
    assert "bii" not in numerals and numerals.count("vi") > 100


def test_a_section_whose_key_is_given_closes_in_it():
    """A corpus whose phrases all cadence in V (but the close): completing a form with keys given
    draws V for inner phrases, and keeps each section's last cadence in its given key."""
    from cadenza.plan.form import with_options

    def tune() -> Plan:
        plan = _plan("A8 A8 B8 B8", "G major")
        for i in range(4):
            plan.sections[i] = replace(plan.sections[i], cadence_keys=["V", "V" if i < 3 else ""])
        return plan

    model = planner.fit([tune()] * 12)
    inner = []
    for seed in range(10):
        done = planner.complete(with_options(parse_form("A8 B8 C8"), "G D G", None), model, seed=seed)
        for s in done.sections:
            keys = s.cadence_keys + [""] * (len(s.phrase_bars()) - len(s.cadence_keys))
            assert keys[-1] == "", done.to_dict()  # its last phrase closes in the key given
            inner += keys[:-1]
    assert inner and inner.count("V") / len(inner) > 0.8
    form = parse_form("A8 B8 A8@D C8")  # a return the user moved to D repeats A's cadences, but closes in D
    form.key = parse_key("G major")
    for seed in range(10):
        done = planner.complete(form, model, seed=seed)
        back = done.sections[2]
        assert back.cadence_key(len(back.phrase_bars()) - 1) == "", done.to_dict()


def test_repeated_cadences_keep_their_keys_and_a_split_section_its_given_one():
    """A return in the other mode re-reads its source's cadence key from its own tonic; a rhyme
    closes in the key the first section closes in; a cadence given for a whole section stays, with
    its key, on the last phrase it is split into."""
    from cadenza.plan.form import with_options

    def tune() -> Plan:
        plan = _plan("A8 A8 B8 B8", "C major")
        for i in range(3):
            plan.sections[i] = replace(plan.sections[i], cadence_keys=["bVII"])
        return plan

    model = planner.fit([tune()] * 12)
    form = parse_form("A8 B8 A8@c")
    form.key = parse_key("C major")
    moved = 0
    for seed in range(30):  # A in C major cadences in B flat (bVII); A@c, in C minor, calls B flat VII
        done = planner.complete(form, model, seed=seed)
        assert done.relation(2) == "transposed"
        for k in range(len(done.sections[0].phrase_bars())):
            if done.sections[0].cadence_key(k) == "bVII":
                assert done.sections[2].cadence_key(k) == "VII", done.to_dict()
                moved += 1
    assert moved > 10
    plan = parse_form("A8 B8 C8")
    plan.key = parse_key("G major")
    plan.sections[0] = replace(plan.sections[0], phrases=[4, 4], cadences=["half", "authentic"], cadence_keys=["V"])
    plan.sections[1] = replace(plan.sections[1], phrases=[4, 4], rhyme=2)
    done = planner.complete(plan, model, seed=0)
    assert done.sections[1].cadences[-1] == "authentic" and done.sections[1].cadence_key(1) == ""
    assert done.closes_as_first(1)  # the first section closes at home (its cadence keys: ["V"], then "")
    given = with_options(parse_form("A8 B8"), None, "half")
    given.sections[0] = replace(given.sections[0], cadence_keys=["V"])
    split = planner.complete(given, model, seed=1).sections[0]
    assert split.phrases == [4, 4] and split.cadences[-1] == "half" and split.cadence_key(1) == "V"


def test_rhymes_are_drawn_as_often_as_the_corpus_has_them_and_move_nothing_else(aabb):
    """A corpus whose B strains close with the A strain's last bar in 2 of 3 tunes; sections that
    close with another cadence than the first section's never rhyme."""

    def tune(rhyme: int) -> Plan:
        plan = _plan("A8 A8 B8 B8", "G major")
        plan.sections[2] = replace(plan.sections[2], rhyme=rhyme)
        return plan

    model = planner.fit([tune(1)] * 8 + [tune(0)] * 4)
    assert model.rhymes["4"] == {"0": 4, "1": 8}  # the Bs: their As are returns or the first
    drawn = [model.sample(32, seed=seed) for seed in range(200)]
    rhymes = [s.rhyme for p in drawn for i, s in enumerate(p.sections) if i and p.relation(i) == "new"]
    assert 0.5 < sum(r == 1 for r in rhymes) / len(rhymes) < 0.8 and set(rhymes) <= {0, 1, 2, 3}
    for p in drawn:
        for i, s in enumerate(p.sections):
            if s.rhyme:
                assert p.relation(i) == "new" and i and s.cadences[-1] == p.sections[0].cadences[-1], p.to_dict()
    _draws_as_before(aabb, "rhymes", {"4": {"0": 1, "2": 3}}, "rhyme")


def _completes_without(model: planner.PlanModel, field: str, seed: int) -> None:
    """A plan `model` drew, with `field` cleared in every section and completed again, keeps
    it cleared: completing draws it only where it plans a section's phrases."""
    plain = deepcopy(model.sample(32, seed=seed))
    for s in plain.sections:
        setattr(s, field, 0)
    assert [getattr(s, field) for s in planner.complete(plain, model, seed=seed + 1).sections] == [0] * len(
        plain.sections
    )


def test_completing_a_plan_draws_rhymes_only_where_it_plans_the_phrases(aabb):
    """A plan written out (by `cadenza plan`, analyze, a piece's record) keeps its rhymes, none
    among them, when completed again; a rhyme given without phrases stays within the phrases
    drawn for it."""
    always = planner.PlanModel.from_dict({**aabb.to_dict(), "rhymes": {"4": {"1": 50}, "8": {"1": 50}}})
    for seed in range(6):
        _completes_without(always, "rhyme", seed)
        given = parse_form("A8 B8 A8")
        given.sections[1].rhyme = 7
        done = planner.complete(given, always, seed=seed)
        assert 0 <= done.sections[1].rhyme <= done.rhyme_room(1) and done.sections[1].rhyme < 7


def test_endings_are_drawn_as_often_as_the_corpus_has_them_and_move_nothing_else(aabb):
    """A corpus whose first strains, played again, end with another last bar in 3 tunes of 4:
    returns end anew that often, by the length of their last phrase; new sections and the last
    section never."""

    def tune(ending: int) -> Plan:
        plan = _plan("A8 A8 B8 B8", "G major")
        plan.sections[1] = replace(plan.sections[1], ending=ending)
        return plan

    model = planner.fit([tune(1)] * 18 + [tune(0)] * 6)
    assert model.endings["4"] == {"0": 6, "1": 18}  # the second As (the second Bs close the piece: never)
    assert any("(endings)" in line for line in model.summary())
    drawn = [model.sample(32, seed=seed) for seed in range(200)]
    endings = [s.ending for p in drawn for i, s in enumerate(p.sections) if p.may_end_anew(i)]
    assert 0.6 < sum(e == 1 for e in endings) / len(endings) < 0.9 and set(endings) <= {0, 1, 2, 3}
    assert all(s.ending == 0 for p in drawn for i, s in enumerate(p.sections) if not p.may_end_anew(i))
    assert 0 < planner.form_statistics(drawn)["endings"] < 0.5
    _draws_as_before(aabb, "endings", {"4": {"0": 1, "1": 3}}, "ending")


def test_completing_a_plan_draws_endings_only_where_it_plans_the_phrases(aabb):
    """A return whose phrases are given keeps its ending as given (none included); one given
    without phrases keeps it within the last phrase drawn for it."""
    always = planner.PlanModel.from_dict({**aabb.to_dict(), "endings": {"4": {"1": 50}, "8": {"2": 50}}})
    for seed in range(6):
        _completes_without(always, "ending", seed)
        planned = planner.complete(parse_form("A8 A8 B8 A8"), always, seed=seed)
        assert planned.sections[1].ending == (1 if planned.sections[1].phrase_bars()[-1] == 4 else 2)
        assert planned.sections[3].ending == 0  # the close: the plan sets it
        given = parse_form("A8 A8 B8")
        given.sections[1].ending = 7
        done = planner.complete(given, always, seed=seed)
        assert 0 < done.sections[1].ending < done.sections[1].phrase_bars()[-1]


def test_the_same_seed_draws_the_same_periods_in_every_process(tmp_path):
    """Echoes come from a generator of their own; its seed must not depend on the process (a
    hash of the state would: None's hash is its address before Python 3.12)."""
    import subprocess
    import sys

    model = planner.fit([_plan("A8 A8 B8 B8", "G major")] * 4)
    model.echoes = {"4": {"0": 5, "1": 5, "2": 5, "3": 5}}
    planner.save(model, tmp_path)
    code = (
        f"from cadenza.plan import planner; m = planner.load(r'{tmp_path}'); "
        "print([[s.echo for s in m.sample(32, seed=k).sections] for k in range(12)])"
    )
    run = [sys.executable, "-c", code]
    runs = {subprocess.run(run, capture_output=True, text=True, check=True).stdout for _ in "ab"}
    assert len(runs) == 1 and any(c in runs.pop() for c in "123")


# -- the command line ---------------------------------------------------------------------------


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def model_dir(tmp_path, aabb):
    folder = tmp_path / "tunes"
    folder.mkdir()
    (folder / "model.json").write_text("{}")
    planner.save(aabb, folder)
    return folder


def test_a_key_written_under_its_usual_name_is_said(capsys, model_dir):
    """E# major would need eleven sharps: the plan is in F major, and stderr says so in a line;
    a key written as given says nothing."""
    code, out, err = _cli(capsys, "plan", "--model", str(model_dir), "--bars", "16", "--seed", "3", "--key", "E# major")
    assert code == 0 and "key F major" in out
    assert "key E# major: written as F major" in err
    code, out, err = _cli(capsys, "plan", "--model", str(model_dir), "--bars", "16", "--seed", "3", "--key", "f#")
    assert code == 0 and "key F# minor" in out and "written as" not in err


def test_cli_prints_a_plan_and_writes_it(capsys, model_dir, tmp_path):
    code, out, err = _cli(capsys, "plan", "--model", str(model_dir), "--bars", "32", "--seed", "3", "--key", "G")
    assert code == 0, err
    assert out.startswith("form ") and "key G major" in out and "bars 25-32" in out
    assert "seed 3" in err
    again = _cli(capsys, "plan", "--model", str(model_dir), "--bars", "32", "--seed", "3", "--key", "G")
    assert again[1] == out
    target = tmp_path / "plan.toml"
    code, out2, err = _cli(capsys, "plan", "--model", str(model_dir), "--bars", "32", "--seed", "3", "--key", "G",
                           "--out", str(target))  # fmt: skip
    assert code == 0 and out2 == out
    written = load_plan(target)
    assert written.bars == 32 and written.describe() == out.rstrip("\n")
    code, _, err = _cli(capsys, "plan", "--model", str(model_dir), "--seed", "3", "--out", str(target))
    assert code == 2 and "exists" in err and len(err.strip().splitlines()) == 1
    code, _, err = _cli(capsys, "plan", "--model", str(model_dir), "--seed", "4", "--out", str(target), "--force")
    assert code == 0
    target_json = tmp_path / "plan.json"
    assert _cli(capsys, "plan", "--model", str(model_dir), "--seed", "4", "--out", str(target_json))[0] == 0
    assert load_plan(target_json).to_dict() == load_plan(target).to_dict()


def test_cli_completes_a_form(capsys, model_dir):
    code, out, err = _cli(capsys, "plan", "--model", str(model_dir), "--form", "A8 B8 A8@D B", "--meter", "3/4",
                          "--key", "G major", "--cadences", "half", "--seed", "1")  # fmt: skip
    assert code == 0, err
    assert out.startswith("form A8 B8 A8@D B8\nkey G major  meter 3/4")
    assert "bars 1-8  G major  new  phrases 4 (" in out and "4 (half)" in out.splitlines()[2]
    assert "transposed of A" in out
    code, _, err = _cli(capsys, "plan", "--model", str(model_dir), "--form", "A8 B8", "--bars", "32")
    assert code == 2 and "16 bars" in err and len(err.strip().splitlines()) == 1


def test_cli_refuses_a_meter_the_model_cannot_write(capsys, model_dir):
    """A plan in a meter the model's tokenizer lacks would only be refused later by generate."""
    (model_dir / "model.json").write_text(json.dumps({"tokenizer": {"meters": ["4/4", "6/8"]}}))
    code, out, err = _cli(capsys, "plan", "--model", str(model_dir), "--meter", "7/8", "--seed", "1")
    assert code == 2 and out == ""
    assert err.strip() == f"error: meter 7/8 is not supported by model {model_dir} (supported: 4/4, 6/8)"
    code, out, err = _cli(capsys, "plan", "--model", str(model_dir), "--meter", "6/8", "--seed", "1")
    assert code == 0 and "meter 6/8" in out, err


def test_cli_refuses_a_model_without_a_planner(capsys, tmp_path):
    folder = tmp_path / "bare"
    folder.mkdir()
    (folder / "model.json").write_text("{}")
    code, out, err = _cli(capsys, "plan", "--model", str(folder), "--bars", "32")
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "no plan model" in lines[0] and "train-planner" in lines[0], err
    code, _, err = _cli(capsys, "plan", "--model", "no-such-model-here")
    assert code == 2 and "no model named" in err and len(err.strip().splitlines()) == 1
    (folder / "planner.json").write_text("{not json")
    code, _, err = _cli(capsys, "plan", "--model", str(folder))
    assert code == 2 and "plan model" in err and len(err.strip().splitlines()) == 1


def test_cli_train_planner_fits_on_a_folder(capsys, tmp_path, monkeypatch):
    """train-planner reads a folder, analyzes each piece and writes planner.json; the analyzer
    is replaced here by one that returns a fixed form, so that only the command is tested."""
    from cadenza.io.midi import write_midi
    from conftest import melody

    data = tmp_path / "data"
    data.mkdir()
    for i in range(6):
        write_midi(melody(bars=4, low=60 + i), data / f"t{i}.mid")

    class Found:
        def __init__(self, score):
            self.plan = _plan("A2 A2", "C major", phrases=(2,), cadences=("authentic",))

    import cadenza.plan.analyze as analyze

    monkeypatch.setattr(analyze, "analyze", Found)
    out = tmp_path / "model"
    code, stdout, err = _cli(capsys, "train-planner", "--data", str(data), "--out", str(out), "--valid-percent", "0",
                             "--license", "CC0", "--quiet")  # fmt: skip
    assert code == 0, err
    assert stdout.strip() == str(out / "planner.json")
    model = planner.load(out)
    assert model.pieces == 6 and model.fitted["license"] == "CC0" and model.fitted["data"] == str(data)
    assert "train-planner" in model.fitted["command"]
    assert model.forms == {"*": {"A2 A2": 6}, "6/8": {"A2 A2": 6}}
    assert model.sample(4, seed=0).bars == 4
    assert "held_out_check" not in model.fitted
    code, _, err = _cli(capsys, "train-planner", "--data", str(data), "--out", str(out), "--quiet")
    assert code == 2 and "exists" in err
    code, _, err = _cli(capsys, "train-planner", "--data", str(data), "--out", str(out), "--valid-percent", "50",
                        "--force")  # fmt: skip
    assert code == 0, err
    check = planner.load(out).fitted["held_out_check"]
    assert check["held_out"]["pieces"] >= 1 and check["held_out"]["exact_returns"] == 0.5
    assert "held out" in err and "exact_returns" in err


def test_drawn_numbers_do_not_depend_on_global_random_state(aabb):
    random.seed(1)
    a = aabb.sample(32, seed=9).to_dict()
    random.seed(2)
    assert aabb.sample(32, seed=9).to_dict() == a


def test_label_case_follows_the_corpus():
    corpus = [_plan("a2 a2 b2 c2 d2", "C major", phrases=(2,), cadences=("half",)) for _ in range(6)]
    model = planner.fit(corpus)
    forms = [model.sample(10, seed=s).form() for s in range(10)]
    assert all(f == f.lower() for f in forms) and forms.count("a2 a2 b2 c2 d2") >= 5, forms
    plan = model.sample(10, seed=0)
    assert isinstance(plan.sections[0], Section) and isinstance(plan.key, Key)


def test_a_section_whose_cadence_key_is_given_stays_home_when_keys_are_drawn():
    """--cadences "half authentic@V authentic@vi ..." without --keys: V and vi are meant from the
    home key, so those sections are not moved to a drawn key (where vi would name another)."""
    from cadenza import hub
    from cadenza.plan.form import with_options

    model = planner.load(hub.find_model("chorales") / "planner.json")
    form = with_options(parse_form("A2 A2 B2 C2 D2"), None, "half authentic@V authentic@vi half authentic")
    form.key = parse_key("C major")
    drawn_away = 0
    for seed in range(20):
        done = planner.complete(form, model, seed=seed)
        assert done.key_of(1) in (None, form.key) and done.key_of(2) in (None, form.key), (seed, done.to_dict())
        keys = iter(done.phrase_keys(form.key))
        closing = [[next(keys) for _ in s.phrase_bars()][-1] for s in done.sections]  # each section's last phrase
        assert [str(k) for k in closing[1:3]] == ["G major", "A minor"], seed
        drawn_away += any(done.key_of(i) not in (None, form.key) for i in (3,))
    assert drawn_away > 0  # the others are still drawn: C may leave home
    # a return of a section with a given cadence key stays home with it, and so does its source
    form = with_options(parse_form("A2 B2 B2 A2"), None, "- - half@vi authentic", home=parse_key("C major"))
    form.key = parse_key("C major")
    for seed in range(20):
        done = planner.complete(form, model, seed=seed)
        assert done.relation(2) == "exact" and done.key_of(1) in (None, form.key), (seed, done.to_dict())


def test_a_section_played_twice_keeps_its_key_the_second_time():
    """A transposed return played twice (A4 B4 A4@D B4 as A4 A4 B4 B4 A4 A4 B4 B4): both playings
    in one key, where drawing a key for each had moved a repeat to another key."""
    corpus = [_plan("A4 B4 A4 B4", "G major", "4/4", (4,), ("authentic",), keys=[None, None, "D major", None])] * 12
    model = planner.fit(corpus)
    plans = [model.sample(32, seed=s) for s in range(40)]
    twice = [p for p in plans if [s.label for s in p.sections] == list("AABBAABB")]
    assert len(twice) >= 8, [p.form() for p in plans]
    for p in twice:
        keys = [p.key_of(i) for i in range(8)]
        assert all(keys[i] == keys[i + 1] for i in range(0, 8, 2)), (p.form(), keys)
    assert any(p.key_of(4) != p.key_of(0) for p in twice)  # the return still moves


def test_a_meter_is_drawn_among_those_given():
    model = planner.fit([_plan("A8 A8 B8 B8", "G major", "6/8")] * 10 + [_plan("A8 B8", "F major", "3/4")] * 2)
    assert {model.draw_meter(random.Random(s), 32, among=["3/4", "2/4"]) for s in range(20)} == {"3/4"}
    assert model.draw_meter(random.Random(0), 32, among=["5/4"]) == "4/4"  # none of them counted


def test_fermatas_are_drawn_only_where_most_pieces_mark_them():
    """A piece the analyzer found no fermatas in (its plan's None) counts as one without: a few
    songs that mark them do not put a fermata at every phrase end of every tune."""
    marked = [replace(_plan("A8 A8 B8 B8", "G major"), fermatas=True) for _ in range(3)]
    unmarked = _aabb_corpus(12)  # fermatas None, as analyze gives a piece without any
    tunes = planner.fit(marked + unmarked)
    assert tunes.fermatas == {"yes": 3, "no": 12}
    assert tunes.sample(32, seed=1).fermatas is None
    chorales = planner.fit(marked * 5 + unmarked[:2])
    assert chorales.sample(32, seed=1).fermatas is True


def test_a_strain_played_again_to_close_closes_alike_the_first_time_as_often_as_the_corpus():
    """Tunes whose last strain is played twice: where the corpus's B strains close both times as
    the tune closes (authentic at home), drawn plans' do; where they close otherwise the first
    time (a half cadence, then the close), drawn plans' do as the cadences drawn by position do
    (the As close authentic: 0.65 here)."""

    def tune(first_close: str) -> Plan:
        plan = _plan("A8 A8 B8 B8", "G major")
        plan.sections[2] = replace(plan.sections[2], cadences=["half", first_close])
        return plan

    def alike(model: planner.PlanModel) -> float:
        plans = [model.sample(32, meter="6/8", seed=seed) for seed in range(60)]
        closing = [p for p in plans if p.relation(len(p.sections) - 1) == "exact"]
        first = [p.sections[p.source(len(p.sections) - 1)] for p in closing]
        return sum(s.cadences[-1] == "authentic" and not s.cadence_keys for s in first) / len(first)

    same = planner.fit([tune("authentic")] * 30)
    assert same.closes == {"same": 30}
    assert alike(same) > 0.9
    other = planner.fit([tune("half")] * 30)
    assert other.closes == {"other": 30}
    assert alike(other) < alike(same) - 0.2
    assert planner.PlanModel.from_dict(same.to_dict()).closes == {"same": 30}


def test_an_echo_given_without_phrases_is_kept_by_the_phrases_drawn():
    """A plan file's 8-bar section with an echo of 3 and no phrases (Plan.check reads it as one
    8-bar phrase, whose halves hold 3 bars): completed with any seed, the echo still fits."""
    from cadenza.plan.form import Plan

    model = planner.fit(_aabb_corpus())
    for seed in range(20):
        plan = Plan.from_dict({"sections": [{"label": "A", "bars": 8, "echo": 3}, {"label": "B", "bars": 8}]})
        done = planner.complete(plan, model, seed=seed)
        assert done.sections[0].echo == 3 and done.sections[0].period_bars() > 3, seed
