"""cadenza.arrange and `cadenza arrange`: a lead sheet played by a band in a style whose patterns
are data (TOML): the built-in styles load, each part plays what its pattern says on the chord in
force, in its register, under the melody; the melody, chords and form are kept; bad style files
and lead sheets without chords are one-line errors; the CLI writes named MIDI tracks (drums on
channel 10) and MusicXML, the same seed giving the same bytes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from statistics import median

import pytest

from cadenza.arrange import BUILTIN_STYLES, UNDER_MELODY, arrange, load_style
from cadenza.arrange.styles import parse_style
from cadenza.chords import parse_chord, pitch_classes
from cadenza.errors import MusicError, OptionError
from cadenza.score import Key, Meter, Note, Part, Repeat, Score, Tempo
from conftest import one_line_error, run_cli

NOTTINGHAM = Path("/work/shared/data/nottingham-abc")


def lead_sheet(meter=(4, 4), chords=("C", "F", "G7", "C"), per_bar=1, bars=None, pickup=0.0, velocity=80) -> Score:
    """A melody of quarter notes (eighths in every second bar) with chord symbols, `per_bar` to
    a bar, in C major, ending on a long note from the last bar's middle beat; an optional pickup
    of `pickup` quarter notes."""
    num, den = meter
    bar = num * 4 / den
    bars = bars or max(1, len(chords) // per_bar)
    notes, t = [], 0.0
    if pickup:
        notes.append(Note(67, bar - pickup, pickup, velocity))
        t = bar
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    for b in range(bars):
        at, i = 0.0, 0
        while at < bar - 1e-9:
            length = 0.5 if b % 2 else 1.0
            if b == bars - 1:
                length = bar - at if at >= bar // 2 else 1.0
            notes.append(Note(scale[(b + i) % 8] + 12, t + at, length, velocity))
            at += length
            i += 1
        t += bar
    start = bar if pickup else 0.0
    step = bar / per_bar
    symbols = [parse_chord(c, start + i * step) for i, c in enumerate(chords)]
    return Score(
        parts=[Part("tune", 0, False, notes)],
        tempos=[Tempo(0.0, 100.0)],
        meters=[Meter(0.0, num, den)],
        keys=[Key(0.0, 0, "major")],
        title="Test Tune",
        chords=symbols,
    )


def part(score: Score, name: str) -> Part:
    return next(p for p in score.parts if p.name == name)


def chord_at(score: Score, beats: float):
    return [c for c in sorted(score.chords, key=lambda c: c.start_beats) if c.start_beats <= beats + 1e-6][-1]


def tones(c) -> set[int]:
    return set(pitch_classes(c)) | ({c.bass} if c.bass is not None else set())


PATTERN_STYLES = [s for s in BUILTIN_STYLES if not load_style(s).accompaniment]  # pop's chord part is a model's
ALL_CHORDS = lead_sheet(chords=("C", "Am7", "Dm", "G7", "C/E", "F", "G", "C"), per_bar=2)


@pytest.mark.parametrize("name", PATTERN_STYLES)
def test_every_built_in_style_loads_with_patterns_for_common_meters(name):
    style = load_style(name)
    assert style.name == name and style.description
    assert style.chords_name not in ("Chords", "Melody", "Bass", "Drums")
    for num, den in ((4, 4), (3, 4), (6, 8), (2, 4), (2, 2), (5, 4)):
        pattern, _ = style.pattern_for(num, den)
        assert pattern.bass and pattern.chords


def test_a_waltz_plays_bass_on_one_and_chords_on_two_and_three():
    score = lead_sheet(meter=(3, 4), chords=("C", "F", "G7", "Am", "Dm", "G", "C", "C"))
    arranged = arrange(score, load_style("waltz"), seed=0)
    last_bar = 21.0
    bass = [n for n in part(arranged, "Bass").notes if n.start_beats < last_bar]
    accordion = [n for n in part(arranged, "Accordion").notes if n.start_beats < last_bar]
    assert {round(n.start_beats % 3, 6) for n in bass} == {0.0}
    assert {round(n.start_beats % 3, 6) for n in accordion} == {1.0, 2.0}
    assert len({n.start_beats for n in bass}) == 7
    assert all(not p.is_drum for p in arranged.parts)


@pytest.mark.parametrize("name", PATTERN_STYLES)
def test_bass_and_chord_notes_are_tones_of_the_chord_in_force(name):
    arranged = arrange(ALL_CHORDS, load_style(name), seed=1, drums=True)
    style = load_style(name)
    bass = sorted(part(arranged, "Bass").notes, key=lambda n: n.start_beats)
    assert bass
    for i, n in enumerate(bass):
        assert 28 <= n.pitch <= 43, n
        if n.pitch % 12 in tones(chord_at(arranged, n.start_beats)):
            continue
        # an approach note: a step into the next bass note's chord root
        assert name == "jazz-swing" and i + 1 < len(bass), n
        assert abs(bass[i + 1].pitch - n.pitch) <= 2 and bass[i + 1].pitch % 12 in tones(
            chord_at(arranged, bass[i + 1].start_beats)
        )
    for n in part(arranged, style.chords_name).notes:
        assert n.pitch % 12 in pitch_classes(chord_at(arranged, n.start_beats)), n


def test_the_arrangement_keeps_the_melody_chords_and_form():
    score = lead_sheet(pickup=1.0, chords=("C", "F", "G7", "C"))
    score.repeats = [Repeat(4.0, 12.0)]
    arranged = arrange(score, load_style("folk"), seed=0)
    melody = arranged.parts[0]
    assert melody.name == "Melody" and melody.notes == score.parts[0].notes
    assert arranged.chords == score.chords
    assert (arranged.meters, arranged.keys, arranged.tempos, arranged.title, arranged.repeats) == (
        score.meters,
        score.keys,
        score.tempos,
        score.title,
        score.repeats,
    )
    others = [n for p in arranged.parts[1:] for n in p.notes]
    # nothing before the first chord symbol (the pickup is the melody's alone), nothing after the melody
    assert min(n.start_beats for n in others) >= 4.0
    assert max(n.end_beats for n in others) <= score.end_beats + 1e-6


def test_parts_are_named_after_their_instruments_with_the_styles_programs():
    for name in PATTERN_STYLES:
        style = load_style(name)
        arranged = arrange(ALL_CHORDS, style, seed=0, drums=False)
        assert [(p.name, p.program, p.is_drum) for p in arranged.parts] == [
            ("Melody", style.melody_program, False),
            (style.chords_name, style.chords_program, False),
            ("Bass", style.bass_program, False),
        ]
    assert load_style("folk").chords_name == "Guitar" and load_style("waltz").chords_name == "Accordion"


def test_drums_play_only_when_on_and_as_drums():
    style = load_style("march")
    assert style.drums  # on by default
    with_drums = arrange(ALL_CHORDS, style, seed=0)
    drums = part(with_drums, "Drums")
    assert drums.is_drum and drums.notes and {n.pitch for n in drums.notes} <= set(range(27, 88))
    assert not any(p.is_drum for p in arrange(ALL_CHORDS, style, seed=0, drums=False).parts)
    assert not any(p.is_drum for p in arrange(ALL_CHORDS, load_style("waltz"), seed=0).parts)
    assert any(p.is_drum for p in arrange(ALL_CHORDS, load_style("waltz"), seed=0, drums=True).parts)


def test_swing_moves_off_beat_eighths_later():
    swung = arrange(ALL_CHORDS, load_style("jazz-swing"), seed=0)
    end = max(n.start_beats for n in ALL_CHORDS.parts[0].notes)  # the last bar ends with the melody
    ride = sorted(
        {round(n.start_beats % 1, 3) for n in part(swung, "Drums").notes if n.pitch == 51 and n.start_beats < end}
    )
    assert ride == [0.0, 0.667]  # the ride's "and"s fall on the last triplet eighth
    assert all(round(n.start_beats % 1, 3) != 0.5 for p in swung.parts[1:] for n in p.notes if n.start_beats < end)
    straight = parse_style(
        {
            "swing": 1.0,
            "patterns": {
                "4/4": {
                    "bass": [{"at": 0, "dur": 1, "what": "root"}],
                    "drums": [{"at": 1.5, "dur": 0.5, "what": "ride"}],
                }
            },
        },
        "straight.toml",
    )
    assert {n.start_beats % 1 for n in part(arrange(ALL_CHORDS, straight, drums=True), "Drums").notes} == {0.5}
    melody = part(swung, "Melody").notes
    assert melody == ALL_CHORDS.parts[0].notes  # the melody stays as written


def test_a_chord_change_between_events_gets_a_root_and_a_new_chord():
    # waltz: bass on 1 only, chords on 2 and 3; a change on the "and" of 1 and one on beat 3
    score = lead_sheet(meter=(3, 4), chords=("C", "C", "C"), per_bar=1)
    score.chords = [parse_chord("C", 0.0), parse_chord("G", 0.5), parse_chord("F", 5.0), parse_chord("C", 6.0)]
    arranged = arrange(score, load_style("waltz"), seed=0)
    bass = {n.start_beats: n for n in part(arranged, "Bass").notes}
    assert bass[0.0].pitch % 12 == 0 and bass[0.0].end_beats <= 0.5 + 1e-9  # cut at the change
    assert bass[0.5].pitch % 12 == 7  # G's root, struck at the change
    assert bass[5.0].pitch % 12 == 5  # F's root inserted on beat 3, where the pattern has no bass
    accordion = part(arranged, "Accordion").notes
    assert {n.pitch % 12 for n in accordion if n.start_beats == 5.0} == {5, 9, 0}


def test_a_pickup_bar_and_a_shorter_bar_drop_what_falls_outside():
    score = lead_sheet(meter=(4, 4), chords=("C", "G", "C"), pickup=1.0)
    score.chords = [parse_chord("G7", 3.0)] + score.chords  # a chord over the pickup note
    arranged = arrange(score, load_style("folk"), seed=0)
    first_bar = [n for p in arranged.parts[1:] for n in p.notes if n.start_beats < 4.0]
    assert first_bar and min(n.start_beats for n in first_bar) == 3.0
    assert all(n.end_beats <= 4.0 + 1e-9 for n in first_bar)


def test_registers_voice_leading_and_velocities():
    score = lead_sheet(chords=("C", "F", "G", "C", "Am", "Dm", "G7", "C"), velocity=90)
    arranged = arrange(score, load_style("folk"), seed=0)
    guitar = part(arranged, "Guitar").notes
    assert all(50 <= n.pitch <= 74 for n in guitar)  # the style's D3-D5
    onsets = sorted({n.start_beats for n in guitar})
    chords = [sorted(n.pitch for n in guitar if n.start_beats == t) for t in onsets]
    for a, b in zip(chords, chords[1:]):
        if len(a) == len(b):  # the nearest inversion: no voice leaps far
            assert sum(abs(x - y) for x, y in zip(a, b)) <= 7, (a, b)
    for p in arranged.parts[1:]:
        assert all(n.velocity <= 90 - 8 for n in p.notes), p.name


def test_variation_only_where_asked_and_the_same_seed_gives_the_same_arrangement():
    long = lead_sheet(chords=("C", "F", "G7", "C") * 8)
    march = load_style("march")
    assert arrange(long, march, seed=5) == arrange(long, march, seed=5)
    kits = {tuple(part(arrange(long, march, seed=s), "Drums").notes) for s in range(8)}
    assert len(kits) > 1  # the fills are drawn
    waltz = load_style("waltz")  # asks for nothing to be drawn
    assert arrange(long, waltz, seed=1) == arrange(long, waltz, seed=2)


def test_a_repeats_second_pass_plays_its_first():
    score = lead_sheet(chords=("C", "F", "G7", "C", "C", "F", "G7", "C", "C"))
    score.repeats = [Repeat(0.0, 16.0)]
    arranged = arrange(score, load_style("jazz-swing"), seed=3)
    for p in arranged.parts[1:]:
        first = [(n.start_beats, n.pitch, round(n.duration_beats, 6)) for n in p.notes if n.start_beats < 16]
        second = [
            (round(n.start_beats - 16, 6), n.pitch, round(n.duration_beats, 6))
            for n in p.notes
            if 16 <= n.start_beats < 32
        ]
        assert first == second, p.name


@pytest.mark.parametrize("what,pitch", [("approach", 34), ("step", 35)])
def test_approach_notes_step_into_the_next_root_from_the_side_the_line_comes_from(what, pitch):
    style = parse_style(
        {"patterns": {"4/4": {"bass": [{"at": 0, "dur": 3, "what": "root"}, {"at": 3, "dur": 1, "what": what}]}}},
        "walk.toml",
    )
    bass = part(arrange(lead_sheet(chords=("C", "Am", "Am")), style), "Bass").notes
    assert [n.pitch for n in bass[:3]] == [
        36,
        pitch,
        33,
    ]  # C2, then into A1 from above: Bb1 (a half step), B1 (the scale's)


def test_a_users_style_file_works(tmp_path):
    path = tmp_path / "polka.toml"
    path.write_text(
        'description = "my polka"\n'
        "[instruments]\nmelody = 71\nchords = 24\nbass = 33\n"
        '[patterns."2/4"]\n'
        'bass = [{ at = 0, dur = 1, vel = 70, what = "root" }, { at = 1, dur = 1, vel = 60, what = "fifth" }]\n'
        'chords = [{ at = 0.5, dur = 0.5, vel = 50, what = "shell" }]\n'
        "[patterns.any]\n"
        'bass = [{ at = 0, dur = 1, what = "root" }]\n'
    )
    style = load_style(str(path))
    assert (style.name, style.chords_name, style.melody_program) == ("polka", "Guitar", 71)
    tune = lead_sheet(meter=(2, 4), chords=("C", "G", "C"))
    arranged = arrange(tune, style)
    assert [p.name for p in arranged.parts] == ["Melody", "Guitar", "Bass"]
    end = max(n.start_beats for n in tune.parts[0].notes)  # from there the chord is held to the end
    assert {n.start_beats % 2 for n in part(arranged, "Guitar").notes if n.start_beats < end} == {0.5}
    assert {n.start_beats % 2 for n in part(arranged, "Bass").notes if n.start_beats < end} == {0, 1}
    # 3/4 has no pattern of its own: "any", beat by beat
    assert {n.start_beats % 3 for n in part(arrange(lead_sheet(meter=(3, 4)), style), "Bass").notes} == {0, 1, 2}


@pytest.mark.parametrize(
    "text,words",
    [
        ('[patterns."4/4"]\nbass = [{ at = 0, dur = 1, what = "rooot" }]\n', ['patterns."4/4".bass[0].what', "rooot"]),
        ('name = "x"\n[instruments]\nbass = 32\n', ["patterns", "missing"]),
        ('[patterns."4/4"\nbass = [\n', ["not valid TOML"]),
        ('[patterns."4/4"]\nchords = [{ at = 4, dur = 1, what = "close" }]\n', ["chords[0].at", "within the bar"]),
        ('[patterns."4/4"]\ndrums = [{ at = 0, dur = 1, what = "cowbel" }]\n', ["drums[0].what", "cowbel"]),
        ('[patterns."4/5"]\nbass = []\n', ['patterns."4/5"', "not a meter"]),
        ("tempo_hint = 3\n[patterns.any]\n", ["tempo_hint", "unknown key"]),
        ('[instruments]\nchords_name = "Chords"\n[patterns.any]\n', ["chords_name", "another part"]),
    ],
    ids=["unknown what", "no patterns", "bad toml", "past the bar", "unknown drum", "bad meter", "unknown key", "name"],
)
def test_a_bad_style_file_is_one_error_naming_the_file_and_key(tmp_path, text, words):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(OptionError) as info:
        load_style(str(path))
    message = str(info.value)
    assert len(message.splitlines()) == 1 and str(path) in message
    for w in words:
        assert w in message, message


def test_unknown_and_learned_styles_and_a_missing_file_are_refused():
    assert load_style("pop").accompaniment == "pop"  # a learned chord part (models/pop)
    with pytest.raises(OptionError, match="unknown style 'polka'.*folk"):
        load_style("polka")
    assert load_style("Waltz").name == load_style("waltz").name  # a name in any case
    with pytest.raises(OptionError, match="no such style file"):
        load_style("no/such/style.toml")
    with pytest.raises(OptionError, match="has no pattern for 5/4"):
        style = parse_style({"patterns": {"3/4": {"bass": [{"at": 0, "dur": 1, "what": "root"}]}}}, "mine.toml")
        arrange(lead_sheet(meter=(5, 4)), style)


def test_a_melody_without_chord_symbols_is_refused():
    score = lead_sheet()
    score.chords = []
    with pytest.raises(MusicError, match="cadenza chords"):
        arrange(score, load_style("folk"))


# -- the command line ---------------------------------------------------------------------------


def test_cli_refuses_a_bad_style_file_in_one_line(tmp_path):
    bad = tmp_path / "mine.toml"
    bad.write_text('[patterns."3/4"]\nbass = [{ at = 0, dur = 1, what = "fifth-ish" }]\n')
    tune = tmp_path / "tune.abc"
    tune.write_text('X:1\nT:t\nM:3/4\nL:1/4\nK:G\n"G"GAB|"D"A3|\n')
    one_line_error(run_cli("arrange", str(tune), "--style", str(bad), "--out", str(tmp_path / "o")), str(bad), "what")


def test_a_style_whose_chord_part_is_a_model_plays_the_notes_it_is_given():
    score = lead_sheet()
    style = replace(load_style("pop"), accompaniment="some-model")
    with pytest.raises(ValueError, match="pass its notes"):
        arrange(score, style)
    given = [Note(48, 0.0, 2.0, 70), Note(64, 0.0, 1.0, 60), Note(67, 1.0, 1.0, 60), Note(43, 4.0, 4.0, 70)]
    out = arrange(score, style, seed=1, drums=True, accompaniment=given)
    names = [p.name for p in out.parts]
    assert names == ["Melody", "Piano", "Drums"]  # no Bass: the model's left hand is the bass
    piano = out.parts[1].notes
    assert [(n.pitch, n.start_beats, n.duration_beats) for n in piano] == [
        (n.pitch, n.start_beats, n.duration_beats) for n in sorted(given, key=lambda n: (n.start_beats, n.pitch))
    ]
    top = median(n.velocity for n in out.parts[0].notes) - UNDER_MELODY
    assert all(n.velocity <= top for n in piano)  # still under the melody


def test_cli_refuses_a_style_naming_a_model_that_is_not_there(tmp_path):
    style = tmp_path / "mine.toml"
    style.write_text('accompaniment = "no-such-model"\n[patterns.any]\ndrums = []\n')
    tune = tmp_path / "tune.abc"
    tune.write_text('X:1\nT:t\nM:3/4\nL:1/4\nK:G\n"G"GAB|"D"A3|\n')
    proc = run_cli("arrange", str(tune), "--style", str(style), "--out", str(tmp_path / "o"))
    one_line_error(proc, str(style), "accompaniment = 'no-such-model'", "no model named 'no-such-model'")


def test_cli_refuses_a_melody_without_chords_suggesting_cadenza_chords(tmp_path):
    tune = tmp_path / "tune.abc"
    tune.write_text("X:1\nT:t\nM:3/4\nL:1/4\nK:G\nGAB|A3|\n")
    one_line_error(run_cli("arrange", str(tune), "--out", str(tmp_path / "o")), "tune.abc", "cadenza chords")


@pytest.mark.slow  # two CLI runs
def test_cli_writes_named_tracks_and_musicxml_and_the_same_seed_gives_the_same_midi(tmp_path):
    from cadenza.io import read_score

    tune = tmp_path / "tune.abc"
    tune.write_text('X:1\nT:Test\nM:4/4\nL:1/4\nK:C\n"C"CDEF|"F"GABc|"G7"dcBA|"C"G4|]\n')
    outs = []
    for run in ("a", "b"):
        stem = tmp_path / run
        args = ["arrange", str(tune), "--style", "jazz-swing", "--seed", "4", "--formats", "mid,musicxml"]
        proc = run_cli(*args, "--performer", "none", "--out", str(stem), "--quiet", check=True)
        assert f"{stem}.mid" in proc.stdout and proc.stderr == ""
        outs.append(stem)
    a, b = (Path(f"{s}.mid").read_bytes() for s in outs)
    assert a == b
    back = read_score(f"{outs[0]}.mid")
    assert [(p.name, p.program, p.is_drum) for p in back.parts] == [
        ("Melody", 66, False),
        ("Piano", 0, False),
        ("Bass", 32, False),
        ("Drums", 0, True),
    ]
    assert [c.text for c in back.chords] == ["C", "F", "G7", "C"]
    xml = Path(f"{outs[0]}.musicxml").read_text()
    assert all(f"<part-name>{name}</part-name>" in xml for name in ("Melody", "Piano", "Bass", "Drums"))
    assert "<harmony" in xml


@pytest.mark.skipif(not NOTTINGHAM.is_dir(), reason="needs the Nottingham tunes in /work/shared")
def test_a_nottingham_waltz(tmp_path):
    from cadenza.io import read_scores

    lines = (NOTTINGHAM / "waltzes.abc").read_text().splitlines()
    second = [i for i, line in enumerate(lines) if line.startswith("X:")][1]
    copy = tmp_path / "waltz.abc"
    copy.write_text("\n".join(lines[:second]) + "\n")
    score = read_scores(copy)[0]
    arranged = arrange(score, load_style("waltz"), seed=0)
    assert arranged.parts[0].notes == score.parts[0].notes and arranged.chords == score.chords
    bass, accordion = part(arranged, "Bass").notes, part(arranged, "Accordion").notes
    first = min(c.start_beats for c in score.chords)
    assert min(n.start_beats for n in bass + accordion) >= first
    downbeats = {n.start_beats for n in bass if n.start_beats % 3 == 0}
    assert len(downbeats) >= 0.9 * len([b for b in range(int(first), int(score.end_beats), 3)])
    assert all(28 <= n.pitch <= 43 for n in bass)
    for n in bass + accordion:
        assert n.pitch % 12 in tones(chord_at(arranged, n.start_beats))
    assert all(n.velocity < 80 for n in bass + accordion)
    from cadenza.io import write_score

    write_score(arranged, tmp_path / "w.mid")
    write_score(arranged, tmp_path / "w.musicxml")
