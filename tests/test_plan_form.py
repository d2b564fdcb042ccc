"""The plan as data (plan/form.py): form strings, --keys and --cadences, plan files."""

import random

import pytest

from cadenza.errors import InputError, OptionError
from cadenza.plan.form import Plan, load_plan, parse_form, plan_text, with_options
from cadenza.score import parse_key


def test_a_form_string_names_sections_lengths_and_returns():
    plan = parse_form("A8 A8 B8 A'8 A8@D B")
    assert [s.name for s in plan.sections] == ["A", "A", "B", "A'", "A", "B"]
    assert [s.bars for s in plan.sections] == [8, 8, 8, 8, 8, 8]  # B takes its earlier length
    assert [plan.relation(i) for i in range(6)] == ["new", "exact", "new", "varied", "transposed", "exact"]
    assert plan.sections[4].key == parse_key("D major")
    assert plan.bars == 48 and plan.starts() == [0, 8, 16, 24, 32, 40]


def test_keys_and_cadences_go_to_sections_in_order():
    plan = with_options(parse_form("a2 a2 b2 c2"), "C G a C", "half perfect")
    assert [str(plan.key_of(i)) for i in range(4)] == ["C major", "G major", "A minor", "C major"]
    assert plan.key == parse_key("C major")
    assert [s.cadences for s in plan.sections] == [["half"], ["authentic"], [], []]
    assert plan.phrase_ends() == [(1, "half"), (3, "authentic"), (5, ""), (7, "")]
    # the second a is in G: a transposed return of the first
    assert plan.relation(1) == "transposed"


def test_keys_may_be_given_with_their_modes():
    """A newcomer's --keys "C# minor G# major" had been read as four keys for two sections."""
    for keys in ("C# minor G# major", "C# minor, G# major", "c# G#", "C#m Ab"):
        plan = with_options(parse_form("A4 B4"), keys, None)
        assert [plan.key_of(i) for i in range(2)] == [parse_key("C# minor"), parse_key("G# major")], keys
    dorian = with_options(parse_form("A4 B4 A4"), "D dorian - D dorian", None)
    assert dorian.key_of(0) == parse_key("D dorian") and dorian.sections[1].key is None
    with pytest.raises(OptionError, match="3 keys for 2 sections"):
        with_options(parse_form("A4 B4"), "C minor G D", None)


def test_a_plan_file_names_a_section_key_as_its_form_line_does():
    """A newcomer saw `B4@G#` in the form line and "Ab major" in the section's key."""
    plan = with_options(parse_form("A4 B4"), "c# G#", None)
    written = plan.to_dict()
    assert written["form"] == "A4 B4@G#" and written["sections"][1]["key"] == "G# major"
    back = Plan.from_dict(written)
    assert back.key_of(1) == parse_key("G# major") and back.key_of(1).tonic_name == "Ab"  # the same signature
    # a name that would read back with another signature is not given: Db major in F# major stays Db
    far = with_options(parse_form("A4 B4"), "F# Db", None)
    assert far.to_dict()["sections"][1]["key"] == "Db major"
    assert Plan.from_dict(far.to_dict()).key_of(1).tonic_name == "Db"


def test_a_cadence_names_the_key_it_closes_in_after_an_at():
    plan = with_options(parse_form("a2 a2 b2 c2 d2"), None, "half authentic@V half@vi - authentic")
    assert plan.cadence_keys() == ["", "V", "vi", "", ""]
    assert [s.cadences for s in plan.sections] == [["half"], ["authentic"], ["half"], [], ["authentic"]]
    # the last phrase of a section of two phrases; the first keeps its own
    two = parse_form("A8 B8")
    two.sections[0].phrases = [4, 4]
    assert with_options(two, None, "imperfect@IV").sections[0].cadence_keys == ["", "IV"]


@pytest.mark.parametrize(
    "cadences, anew",
    [
        ("half - half", False),  # as its source's: replayed
        ("half - authentic", True),  # another kind
        ("half - half@V", True),  # the same kind in another key
        ("half - none", True),  # planned to end without one, where its source has one
        ("half", False),  # none planned (the planner draws it): replayed
        ("- - none", True),  # planned without one, where the first time's end was left to the model
    ],
)
def test_a_return_writes_a_cadence_anew_where_it_is_not_its_sources(cadences, anew):
    plan = with_options(parse_form("A2 B2 A2 C2"), None, cadences)
    assert plan.cadence_anew(2, 0) == anew
    assert not plan.cadence_anew(0, 0) and not plan.cadence_anew(3, 0)  # not returns


def test_cadences_arrive_on_the_plans_beat_and_the_close_too_unless_it_is_left_open():
    plan = parse_form("A2 B2")
    assert plan.arrival_beats(4.0, close_inside=True) == [4.0, 12.0]  # unset: every arrival on the downbeat
    plan.cadence_beat = 3.0
    assert plan.cadence_into(4.0) == 2.0
    assert plan.arrival_beats(4.0, close_inside=False) == [6.0, 12.0]  # the close on the last downbeat
    assert plan.arrival_beats(4.0, close_inside=True) == [6.0, 14.0]  # on beat 3 too
    assert plan.cadence_into(2.0) == 0.0 and plan.arrival_beats(2.0, True) == [2.0, 6.0]  # past a 2/4 bar


def test_a_piece_closing_on_a_return_closes_anew_unless_its_source_closed_alike():
    assert parse_form("A2 B2 A2").cadence_anew(2, 0)  # the close is authentic, the first A's phrase has none
    assert not with_options(parse_form("A2 B2 A2"), None, "authentic").cadence_anew(2, 0)


def test_a_return_longer_than_its_source_writes_the_cadences_past_its_end_anew():
    plan = with_options(parse_form("A4 B4 A'8 C2"), None, "authentic authentic authentic")
    plan.sections[2].phrases = [4, 4]
    plan.sections[2].cadences = ["authentic", "authentic"]
    assert [plan.cadence_anew(2, k) for k in (0, 1)] == [False, True]  # bar 8 of A' is past A's end


@pytest.mark.parametrize(
    "form, keys, cadences, says",
    [
        ("A8 ?", None, None, "cannot read '?'"),
        ("", None, None, "empty"),
        ("A B8", None, None, "needs a length"),
        ("AABB", None, None, r"AABB8 \(one section\), or A8 A8 B8 B8 \(a section per letter\)"),
        ("A8 B8 C0", None, None, "'C0' has 0 bars; a section has at least 1"),
        ("A8 B8", "C", None, "2 sections"),
        ("A8 B8", None, "half half half", "3 cadences for 2 sections"),
        ("A8", None, "loud", "unknown cadence"),
        ("A8@H", None, None, "^--form 'A8@H': unknown key 'H'"),
        ("A8 B8", "C Q", None, "^--keys 'Q': unknown key 'Q'"),
        ("A8 B'8", None, None, r"section 2 \(B'\) varies B, but no B comes before it"),
        ("A8 B8", None, "authentic@", "name the key after @"),
        ("A8 B8", None, "authentic@X", "'X': not a key"),
        ("A8 B8", None, "half authentic@V", "last phrase closes at home.*write authentic alone"),
    ],
)
def test_a_bad_form_is_refused_in_one_line(form, keys, cadences, says):
    with pytest.raises(OptionError, match=says) as e:
        with_options(parse_form(form), keys, cadences)
    assert "\n" not in str(e.value)


def test_plan_files_round_trip_as_toml_and_json(tmp_path):
    plan = with_options(parse_form("A8 A8 B8 B'8"), "G G D D", "half authentic")
    plan.sections[2].dynamics, plan.sections[2].density = "p", 0.5
    plan.sections[0].phrases, plan.sections[0].cadences = [4, 4], ["half", "half"]
    plan.sections[0].echo = 2
    plan.sections[2].phrases, plan.sections[2].cadences, plan.sections[2].rhyme = [4, 4], ["half", "half"], 1
    assert "its second phrase opening with its first's first 2 bars" in plan.describe()
    assert "ending with the first section's last 1 bar" in plan.describe()
    for name in ("p.toml", "p.json"):
        path = tmp_path / name
        path.write_text(plan_text(plan, path.suffix))
        back = load_plan(path)
        assert back.to_dict() == plan.to_dict()
        assert back.describe() == plan.describe()
    assert Plan.from_dict(plan.to_dict()).phrase_ends()[:2] == [(3, "half"), (7, "half")]


@pytest.mark.parametrize(
    "section, says",
    [
        ({"label": "A", "bars": 8, "phrases": [4, 4], "echo": 4}, "echo 4"),  # the whole phrase: a return
        ({"label": "A", "bars": 8, "phrases": [2, 6], "echo": 1}, "as long"),
        ({"label": "A", "bars": 6, "echo": 1}, "echo 1"),  # one phrase, too short for halves
        ({"label": "A", "bars": 9, "echo": 1}, "echo 1"),  # one phrase of no two halves
        ({"label": "A", "bars": 8, "phrases": [4, 4], "echo": "two"}, "whole number"),
    ],
)
def test_an_echo_a_section_cannot_have_is_refused(section, says):
    with pytest.raises(OptionError, match=says) as e:
        Plan.from_dict({"sections": [section]})
    assert "\n" not in str(e.value)


def test_one_long_phrase_s_halves_make_a_period():
    plan = Plan.from_dict({"sections": [{"label": "A", "bars": 8, "echo": 2}]})
    assert plan.sections[0].period_bars() == 4 and plan.sections[0].echo == 2


AB = [{"label": "A", "bars": 4}, {"label": "B", "bars": 8, "phrases": [4, 4], "rhyme": 2}]


@pytest.mark.parametrize(
    "sections, says",
    [
        ([{"label": "A", "bars": 8, "phrases": [4, 4], "rhyme": 1}, {"label": "B", "bars": 4}], "between the first"),
        ([{"label": "A", "bars": 4}, {"label": "A", "bars": 4, "rhyme": 1}, {"label": "B", "bars": 4}], "between"),
        ([{"label": "A", "bars": 4}, {"label": "B", "bars": 4, "rhyme": 1}], "between the first and the last"),
        ([*AB, {"label": "A", "bars": 4}], None),  # (what the next cases break)
        ([AB[0], {**AB[1], "rhyme": 4}, {"label": "A", "bars": 4}], "give at most 3"),  # its whole last phrase
        ([{"label": "A", "bars": 2}, {**AB[1], "rhyme": 3}, {"label": "A", "bars": 2}], "give at most 2"),  # A's 2
        ([AB[0], {**AB[1], "echo": 3, "rhyme": 2}, {"label": "A", "bars": 4}], "clear of its echo"),
        ([AB[0], {**AB[1], "key": "e"}, {"label": "A", "bars": 4}], "in minor cannot end with"),
        ([AB[0], {**AB[1], "rhyme": 1.5}, {"label": "A", "bars": 4}], "whole number"),
    ],
)
def test_a_rhyme_a_section_cannot_have_is_refused(sections, says):
    plan = {"key": "G major", "sections": sections}
    if says is None:
        assert Plan.from_dict(plan).sections[1].rhyme == 2
        return
    with pytest.raises(OptionError, match=says) as e:
        Plan.from_dict(plan)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    "sections, says",
    [
        (
            [{"label": "A", "bars": 8, "phrases": [4, 4]}, {"label": "A", "bars": 8, "phrases": [4, 4], "ending": 1}],
            None,
        ),
        ([{"label": "A", "bars": 8}, {"label": "A", "bars": 8, "key": "D", "ending": 1}], None),  # transposed
        ([{"label": "A", "bars": 8, "ending": 1}], "only an exact or transposed return"),  # a new section
        ([{"label": "A", "bars": 8}, {"label": "A'", "bars": 8, "ending": 1}], "only an exact or transposed"),
        (
            [{"label": "A", "bars": 4, "phrases": [3, 1]}, {"label": "A", "bars": 4, "phrases": [3, 1], "ending": 1}],
            "its last phrase has 1 bar",
        ),
        ([{"label": "A", "bars": 8}, {"label": "A", "bars": 8, "phrases": [4, 4], "ending": 4}], "give 1 to 3 bars"),
        ([{"label": "A", "bars": 8}, {"label": "A", "bars": 8, "ending": -1}], "give 1 to 7 bars"),
        ([{"label": "A", "bars": 8}, {"label": "A", "bars": 8, "ending": "one"}], "whole number"),
    ],
)
def test_an_ending_only_an_exact_or_transposed_return_has(sections, says):
    plan = {"key": "G major", "sections": [*sections, {"label": "B", "bars": 4}]}
    if says is None:
        done = Plan.from_dict(plan)
        assert done.sections[1].ending == 1 and "its last 1 bar written anew" in done.describe()
        assert Plan.from_dict(done.to_dict()) == done  # written and read back
        return
    with pytest.raises(OptionError, match=says) as e:
        Plan.from_dict(plan)
    assert "\n" not in str(e.value)


def test_an_ending_on_the_last_section_is_refused():
    """The piece's close is the plan's: an ending of its own would say nothing more."""
    with pytest.raises(OptionError, match="the last section ends the piece") as e:
        Plan.from_dict({"sections": [{"label": "A", "bars": 8}, {"label": "A", "bars": 8, "ending": 1}]})
    assert "\n" not in str(e.value)


def test_a_generated_piece_record_is_a_plan_file(tmp_path):
    path = tmp_path / "piece.json"
    path.write_text(
        '{"command": "generate", "plan": {"form": "A4 A4", "sections": [{"label": "A", "bars": 4}, {"label": "A"}]}}'
    )
    assert load_plan(path).form() == "A4 A4"


@pytest.mark.parametrize(
    "text, says",
    [
        ("key = 'C major'\n", "a list of sections"),
        ("[[sections]]\nlabel = 'A'\nbars = 4\nphrases = [3, 3]\n", "do not add up"),
        ("[[sections]]\nlabel = 'A'\nbars = 4\ndynamics = 'loud'\n", "dynamics"),
        ("[[sections\n", "not a TOML plan file"),
    ],
)
def test_a_bad_plan_file_is_refused_naming_the_file(tmp_path, text, says):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=says) as e:
        load_plan(path)
    assert str(e.value).startswith(str(path)) and "\n" not in str(e.value)


def test_a_dash_leaves_a_section_as_the_form_has_it():
    plan = with_options(parse_form("A4 B4@d A4 C4"), "- - G D", "- half")
    assert [str(plan.key_of(i)) if plan.key_of(i) else None for i in range(4)][1:] == [
        "D minor",
        "G major",
        "D major",
    ]
    assert [s.cadences for s in plan.sections] == [[], ["half"], [], []]
    with pytest.raises(OptionError, match="by the form"):
        with_options(parse_form("A4 B4@d"), "- D", None)
    with pytest.raises(OptionError, match="is in D minor by plan.toml, but --keys gives D major"):
        with_options(parse_form("A4 B4@d"), "- D", None, source="plan.toml")


def test_a_plan_moves_to_another_key_of_its_mode_its_sections_with_it():
    """`generate --plan P --key D`: a newcomer had to edit a plan file to move it."""
    plan = with_options(parse_form("A4 B4@C A4 C4@d"), None, "- authentic@V")
    plan.key = parse_key("F major")
    moved = plan.moved_to(parse_key("D major"))
    assert [str(moved.key_of(i)) for i in range(4)] == ["D major", "A major", "D major", "B minor"]
    assert moved.sections[1].cadence_keys == plan.sections[1].cadence_keys == ["V"]
    assert moved.form() == "A4 B4@A A4 C4@b"
    with pytest.raises(OptionError, match="--key D minor: the plan is in F major"):
        plan.moved_to(parse_key("D minor"))
    with pytest.raises(OptionError, match="--scale D minor: the plan is in F major"):  # the key came from --scale
        plan.moved_to(parse_key("D minor"), "--scale")
    # along the line of fifths, a church mode kept; the home key's own sections take it as given
    plan = with_options(parse_form("A4 B4@G A4 C4@a D4@Ddor"), None, None)
    plan.key = parse_key("C major")
    sharp = plan.moved_to(parse_key("F# major"))
    assert [str(sharp.key_of(i)) for i in range(5)] == [
        "F# major",
        "C# major",
        "F# major",
        "D# minor",
        "G# dorian",
    ]
    dorian = with_options(parse_form("A4 B4@F A4"), "d - d", None)
    assert [str(k) for k in dorian.moved_to(parse_key("D dorian")).keys_in_beats(4.0)] == [
        "D dorian",
        "F major",
        "D dorian",
    ]
    with pytest.raises(OptionError, match="no key to close in"):
        with_options(parse_form("A4 B4"), None, "none@V authentic")


def test_a_plans_keys_in_beats_are_its_sections_keys_where_they_change():
    plan = with_options(parse_form("A8 B8@A A'8 C4"), None, None)
    plan.key = parse_key("D major")
    keys = plan.keys_in_beats(4.0)
    assert [(k.start_beats, str(k)) for k in keys] == [(0.0, "D major"), (32.0, "A major"), (64.0, "D major")]


def test_a_phrase_may_cadence_in_another_key_named_from_its_sections():
    plan = Plan.from_dict(
        {
            "key": "G major",
            "sections": [
                {"label": "A", "bars": 4, "phrases": [2, 2], "cadences": ["authentic", "half"], "cadence_keys": ["V"]},
                {"label": "B", "bars": 4, "key": "E minor", "phrases": [2, 2], "cadence_keys": ["III", ""]},
            ],
        }
    )
    keys = [str(k) for k in plan.phrase_keys()]
    assert keys == ["D major", "G major", "G major", "E minor"]  # III of E minor is G major
    assert plan.cadence_keys() == ["V", "", "III", ""]
    # as realized: "none" where the plan leaves a phrase to the model, the close authentic at home
    assert plan.phrase_cadences() == ["authentic", "half", "none", "authentic"]
    # a plan built in code without the check, with a cadence key on its last phrase, closes at home
    unchecked = Plan.from_dict(plan.to_dict())
    unchecked.sections[1].cadence_keys = ["III", "iv"]
    assert [str(k) for k in unchecked.phrase_keys()][-1] == "E minor"
    assert Plan.from_dict(plan.to_dict()) == plan
    assert "2 (authentic in V)" in plan.describe()
    assert "cadence_keys" not in Plan.from_dict({"sections": [{"label": "A", "bars": 2}]}).to_dict()["sections"][0]


@pytest.mark.parametrize(
    "section, says",
    [
        ({"phrases": [2, 2], "cadence_keys": ["V", "", "ii"]}, "3 cadence keys for 2 phrases"),
        ({"cadence_keys": ["H"]}, "cadence key 'H'"),
        ({"cadence_keys": ["#vi"]}, "cadence key '#vi'"),  # a numeral of a minor key's, in a major section
        ({"cadence_keys": "V"}, "cadence_keys must be a list"),
        ({"phrases": [2, 2], "cadence_keys": ["", "V"]}, "the piece's last phrase"),
    ],
)
def test_a_cadence_key_a_section_cannot_have_is_refused(section, says):
    with pytest.raises(OptionError, match=says):
        Plan.from_dict({"key": "C major", "sections": [{"label": "A", "bars": 4, **section}]})


def test_a_keyless_plan_says_which_modes_its_home_key_may_be_drawn_in():
    def plan(*sections):
        return Plan.from_dict({"sections": [{"label": "AB"[i], "bars": 4, **s} for i, s in enumerate(sections)]})

    assert plan({"cadence_keys": ["bIII"]}, {}).home_modes() == ("major",)  # bIII is seen from a major key
    assert plan({"cadence_keys": ["#vi"]}, {}).home_modes() == ("minor",)  # F# minor from A minor
    assert plan({"phrases": [2, 2], "cadence_keys": ["bIII", "VII"]}, {}).home_modes() == ("major",)
    assert plan({"cadence_keys": ["V"]}, {}).home_modes() == ("major", "minor")
    assert plan({"key": "E major", "cadence_keys": ["bIII"]}, {}).home_modes() == ("major", "minor")  # not at home
    with pytest.raises(OptionError, match="seen from a major key only, and this section is in A minor"):
        with_options(parse_form("A4 B4"), None, "half@bIII", home=parse_key("A minor"))
    with pytest.raises(OptionError, match=r"'bIII' \(seen from a major key\) and '#vi' \(from a minor one\)"):
        with_options(parse_form("A4 B4 C4"), None, "half@bIII half@#vi")  # no one home key has both
    assert with_options(parse_form("A4 B4@e C4"), None, "half@bIII half@#vi").home_modes() == ("major",)


def test_a_key_is_drawn_in_the_modes_asked_for():
    from cadenza.compose.composer import drawn_key

    seen = {"C major": 5, "A minor": 3, "G major": 1}
    assert {drawn_key(seen, s, ("minor",)).mode for s in range(20)} == {"minor"}
    assert {drawn_key(seen, s).mode for s in range(40)} == {"major", "minor"}
    names = sorted(seen)  # with both modes allowed, a seed draws the key it drew before modes were asked for
    before = [parse_key(random.Random(s).choices(names, weights=[seen[n] for n in names])[0]) for s in range(9)]
    assert [drawn_key(seen, s) for s in range(9)] == before
    assert str(drawn_key({"C major": 1}, 0, ("minor",))) == "A minor"  # none seen in the mode
