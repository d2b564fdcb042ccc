"""The Composer (compose/composer.py) with the shipped chorale model: what users ask of it."""

from cadenza import hub
from cadenza.plan.rules import build_rules


def test_a_fixed_note_keeps_the_length_the_user_gave():
    """--fix 4:1:soprano=A4/2 is a half note: the sampler may not hold it on (seeds 1-3 held it
    for 3 and 4 beats before)."""
    c = hub.load("chorales", expect="voices")
    for seed in (1, 2, 3):
        rules = build_rules(None, [], ["4:1:soprano=A4/2"], None, c.voice_names)
        score = c.generate(bars=8, key="D major", seed=seed, rules=rules)
        [note] = [n for n in score.parts[0].notes if n.start_beats == 12.0]
        assert (note.pitch, note.duration_beats) == (69, 2.0), seed


def test_the_final_cadence_is_v_i_with_the_bass_on_the_roots():
    """Before, 5 of 20 chorales reached the final bar from the dominant in the bass."""
    from cadenza.theory import beat_beats

    c = hub.load("chorales", expect="voices")
    for seed in range(8):
        score = c.generate(bars=4, seed=seed)
        key, bar = score.key, score.meter.bar_beats
        final = score.end_beats - bar  # the final bar's downbeat
        bass = score.parts[-1].notes
        [before] = [n for n in bass if n.start_beats <= final - beat_beats(score.meter) + 1e-6 < n.end_beats]
        assert before.pitch % 12 == (key.tonic + 7) % 12, (seed, key, before)
        assert {n.pitch % 12 for n in bass if n.end_beats > final} == {key.tonic}, (seed, key)


def _two_hands(bars: int = 4):
    """A piano texture: a right-hand part with a melody, a left-hand part with chords, 4/4."""
    from cadenza.score import Meter, Note, Part, Score

    right = [Note(72 + (i % 3) * 2, float(i), 1.0) for i in range(bars * 4)]
    left = [Note(p, float(b * 4), 4.0) for b in range(bars) for p in (48, 52, 55)]
    return Score(parts=[Part("Right", 0, False, right), Part("Left", 0, False, left)], meters=[Meter(0.0, 4, 4)])


def test_a_continuation_is_written_into_the_prompts_own_parts():
    """Before, a piano prompt came back with four new string parts after its own two."""
    prompt = _two_hands()
    c = hub.load("chorales", expect="voices")
    out = c.continue_score(prompt, bars=2, seed=1)
    assert [p.name for p in out.parts] == ["Right", "Left"] and all(p.program == 0 for p in out.parts)
    for part, before in zip(out.parts, prompt.parts):
        assert part.notes[: len(before.notes)] == before.notes  # the prompt unchanged
        assert any(n.start_beats >= 16.0 for n in part.notes)  # and new bars in each hand
    new = [[n.pitch for n in part.notes if n.start_beats >= 16.0] for part in out.parts]
    assert sum(new[0]) / len(new[0]) > sum(new[1]) / len(new[1])  # soprano and alto above, tenor and bass below


def test_one_melody_is_continued_by_the_folk_model():
    from cadenza.compose.composer import model_for_prompt
    from conftest import melody

    assert model_for_prompt(melody())[0] == "folk"
    from cadenza.chords import parse_chord

    lead = melody()
    lead.chords = [parse_chord("E", 0.0)]  # a lead sheet: its new bars want chord symbols too
    assert model_for_prompt(lead) == ("leadsheet", "the prompt is a lead sheet, a melody with chord symbols")


def test_a_pianos_two_hands_or_a_recorded_performance_are_continued_by_the_piano_model():
    """A MusicXML piano part reads as the hands (cadenza.io.scores), as the pianist writes them; a
    newcomer's own piano piece, continued without --model, had come back in four chorale voices,
    and so had a score's two piano tracks as MuseScore exports them (unnamed, or "RH" and "LH")."""
    from dataclasses import replace

    from cadenza.compose.composer import model_for_prompt
    from cadenza.score import PIANO_HANDS
    from conftest import melody

    prompt = _two_hands()
    hands = replace(prompt, parts=[replace(p, name=name) for p, name in zip(prompt.parts, PIANO_HANDS)])
    assert model_for_prompt(hands)[0] == "piano"
    organ = replace(hands, parts=[replace(p, program=19) for p in hands.parts])
    assert model_for_prompt(organ)[0] == "chorales"
    assert model_for_prompt(prompt, performance=True)[0] == "piano"  # a recording from a piano
    assert model_for_prompt(melody(), performance=True)[0] == "folk"  # of one melody: not a pianist's
    choir = replace(prompt, parts=[replace(p, program=52) for p in prompt.parts])
    assert model_for_prompt(choir, performance=True)[0] == "chorales"  # cadenza's own performed chorale
    assert model_for_prompt(hands, piano=False)[0] == "chorales"  # voice rules asked for: a voices model
    # a MIDI file's two tracks on a piano, named as a piano's staves may be (or not at all)
    for names in (("", ""), ("Piano", "Piano"), ("RH", "LH"), ("right hand", "Left Hand"), ("Right", "Left")):
        tracks = replace(prompt, parts=[replace(p, name=name) for p, name in zip(prompt.parts, names)])
        assert model_for_prompt(tracks, midi=True)[0] == "piano", names
        assert model_for_prompt(tracks)[0] == "chorales", names  # ABC, MusicXML: program 0 says nothing
    both = replace(
        prompt, parts=[replace(prompt.parts[0], name="", notes=prompt.parts[0].notes + prompt.parts[1].notes)]
    )
    assert model_for_prompt(both, midi=True)[0] == "piano"  # both hands in one track
    assert model_for_prompt(replace(prompt, parts=prompt.parts * 2), midi=True)[0] == "chorales"  # four parts
    voices = replace(prompt, parts=[replace(p, name=name) for p, name in zip(prompt.parts, ("Soprano", "Alto"))])
    assert model_for_prompt(voices, midi=True)[0] == "chorales"  # a duet, whatever its program
    strings = replace(prompt, parts=[replace(p, program=48) for p in prompt.parts])
    assert model_for_prompt(strings, midi=True)[0] == "chorales"


def test_a_prompt_whose_meter_changes_is_continued_in_its_last_meter():
    """Before, any meter change was refused ("meter changes (3/4 then 4/4) are not supported")."""
    from dataclasses import replace

    from cadenza.score import Meter, Note

    prompt = _two_hands(bars=4)
    for p in prompt.parts:  # two bars of 3/4 first (6 beats), then the 4/4 bars moved after them
        p.notes = [Note(n.pitch, float(i), 1.0) for i, n in enumerate(p.notes[:6])] + [
            replace(n, start_beats=n.start_beats + 6.0) for n in p.notes
        ]
    prompt.meters = [Meter(0.0, 3, 4), Meter(6.0, 4, 4)]
    c = hub.load("chorales", expect="voices")
    out = c.continue_score(prompt, bars=2, seed=1)
    assert [(m.start_beats, str(m)) for m in out.meters] == [(0.0, "3/4"), (6.0, "4/4")]
    assert out.end_beats == 6.0 + 16.0 + 8.0 and any(n.start_beats >= 22.0 for n in out.parts[1].notes)


def test_the_cadence_chords_are_complete():
    """Before, 8 of 20 chorales (seeds 0-19) had no leading tone in the V before the end and 3
    ended on a bare tonic without its third."""
    from cadenza.theory import beat_beats

    c = hub.load("chorales", expect="voices")
    for seed in range(6):
        score = c.generate(bars=4, seed=seed)
        key = score.key
        final = score.end_beats - score.meter.bar_beats

        def sounding(at: float, parts=score.parts) -> set[int]:
            return {n.pitch % 12 for p in parts for n in p.notes if n.start_beats <= at < n.end_beats}

        assert (key.tonic + 11) % 12 in sounding(final - beat_beats(score.meter) + 1e-6), seed
        assert sounding(final + 1e-6) & {(key.tonic + 3) % 12, (key.tonic + 4) % 12}, seed


def test_with_fixed_notes_the_piece_opens_on_a_downbeat():
    """A pickup would move every bar number after it: --fix 10:1 landed in MuseScore's bar 9."""
    from cadenza.score import pickup_start

    c = hub.load("chorales", expect="voices")
    rules = build_rules(None, [], ["10:1:soprano=G5/4"], None, c.voice_names)
    score = c.generate(bars=16, key="D major", tempo_bpm=72, seed=7, rules=rules)
    assert pickup_start(score) == 0.0 and all(p.notes[0].start_beats == 0.0 for p in score.parts)
    [g] = [n for n in score.parts[0].notes if n.start_beats == 36.0]
    assert (g.pitch, g.duration_beats) == (79, 4.0)


def test_a_range_outside_all_the_model_learned_is_refused():
    import pytest

    from cadenza.errors import OptionError

    c = hub.load("chorales", expect="voices")
    rules = build_rules(None, ["soprano=C6-C7"], [], None, c.voice_names)
    with pytest.raises(OptionError, match="lies outside all the model learned"):
        c.generate(bars=4, seed=1, rules=rules)


def test_a_pickup_tune_ending_short_by_its_pickup_is_continued_from_where_it_ends(tmp_path):
    """A jig opening with a one-eighth pickup ends its last bar an eighth short (`D3 D2|]`): the
    new music begins there with a pickup of its own, as a fiddler plays on. It had begun at the
    next bar line after an eighth of silence (a newcomer's finding)."""
    from cadenza.io import read_score

    (tmp_path / "jig.abc").write_text(
        "X:1\nT:Pickup Jig\nM:6/8\nL:1/8\nK:G\nD|GAB c2A|BAG E2D|GAB c2A|BAG G2D|\nGAB c2A|BAG E2D|GAB AGE|D3 D2|]\n"
    )
    tune = read_score(tmp_path / "jig.abc")
    assert tune.end_beats == 26.5  # a bar line at 27
    c = hub.load("folk", expect="voices")
    for seed in (1, 2, 3):
        out = c.continue_score(tune, bars=2, seed=seed)
        assert [n for n in out.notes() if n.start_beats < 26.5] == tune.notes()  # the prompt as it was
        assert any(abs(n.start_beats - 26.5) < 1e-6 for n in out.notes()), seed
    # a duet so: no part holds its last note on into the new music, where the held tail was dropped
    # and left a part silent (a reviewer's duet, seed 6: the bass from beat 35 to 39)
    (tmp_path / "duet.abc").write_text(
        "X:1\nT:Pickup Duet\nM:4/4\nL:1/4\nK:G\nV:1\nD|G A B c|d2 B G|A B c B|A3 D|G A B c|d2 B G|A G F A|G3|]\n"
        "V:2\nB,|D F G A|B2 G D|F G A G|F3 B,|D F G E|F2 G B,|C B, A, C|B,3|]\n"
    )
    duet = read_score(tmp_path / "duet.abc")
    chorales = hub.load("chorales", expect="voices")
    for seed in (2, 6):
        out = chorales.continue_score(duet, bars=2, seed=seed)
        firsts = [min(n.start_beats for n in p.notes if n.start_beats >= duet.end_beats - 1e-6) for p in out.parts]
        assert firsts == [duet.end_beats] * 2, (seed, firsts)


def test_a_melody_continued_by_four_voices_keeps_its_line_and_gets_new_parts():
    """Before, `continue tune --model chorales` crammed four voices into the melody's staff."""
    from cadenza.score import Note
    from conftest import melody

    tune = melody()
    tune.parts[0].notes = [Note(n.pitch, n.start_beats, n.duration_beats, 104) for n in tune.parts[0].notes]
    c = hub.load("chorales", expect="voices")
    out = c.continue_score(tune, bars=2, seed=1)
    assert [p.name for p in out.parts] == [tune.parts[0].name, "Alto", "Tenor", "Bass"]
    new = [n for n in out.parts[0].notes if n.start_beats >= tune.end_beats - 1e-6]
    assert new and all(b.start_beats >= a.end_beats - 1e-6 for a, b in zip(new, new[1:]))  # still one line
    assert {n.velocity for n in new} == {104}  # at the loudness the part played
    for part in out.parts[1:]:  # the new voices as loud as the melody (they had come in at 80)
        assert {n.velocity for n in part.notes} == {104}, part.name


def test_a_marked_melody_continued_by_four_voices_goes_on_at_its_mark_and_so_do_its_new_voices():
    from dataclasses import replace

    from cadenza.score import Dynamic
    from conftest import melody

    tune = melody()
    tune.parts[0].notes = [replace(n, velocity=96 if n.start_beats < 4 else 33) for n in tune.parts[0].notes]
    tune.parts[0].dynamics = [Dynamic(0.0, "f"), Dynamic(4.0, "pp")]
    out = hub.load("chorales", expect="voices").continue_score(tune, bars=2, seed=1)
    for part in out.parts:
        new = [n for n in part.notes if n.start_beats >= tune.end_beats - 1e-6]
        assert new and {n.velocity for n in new} == {33}, part.name  # pp's level, 33 (the median had been 96 or 33)
        assert part.dynamics == tune.parts[0].dynamics, part.name


def test_a_duet_is_continued_as_a_duet_each_part_one_voice():
    """Before, a soprano-alto duet came back with two of the model's voices as chords in each
    part. Now each part takes the voice nearest its register and stays one line."""
    from cadenza.score import Meter, Note, Part, Score, one_line

    upper = [Note(67 + (0, 2, 4, 5)[i % 4], float(i), 1.0) for i in range(16)]
    lower = [Note(62 + (0, 2, 4, 5)[i % 4], float(i), 1.0) for i in range(16)]
    prompt = Score(parts=[Part("Soprano", 52, False, upper), Part("Alto", 52, False, lower)], meters=[Meter(0.0, 4, 4)])
    c = hub.load("chorales", expect="voices")
    assert c.voices_for_parts(prompt.parts) == [0, 1]  # soprano and alto
    assert c.voices_for_parts([prompt.parts[0], Part("Bass", 52, False, [Note(45, 0.0, 4.0)])]) == [0, 3]
    for seed in (1, 2):
        out = c.continue_score(prompt, bars=2, seed=seed)
        assert [p.name for p in out.parts] == ["Soprano", "Alto"]
        new = [[n for n in p.notes if n.start_beats >= 16.0] for p in out.parts]
        assert all(new) and all(one_line(notes) for notes in new), seed
        assert sum(n.pitch for n in new[0]) / len(new[0]) > sum(n.pitch for n in new[1]) / len(new[1])
        assert new[1][-1].pitch % 12 == 7, seed  # the lower part closes on G, the root (not D, a six-four)


def test_a_duets_top_part_sings_through_the_new_bars():
    """A G major duet ending on a rest, continued: both parts rested on new beats while the voices
    left out sang (beats of silence)."""
    from cadenza.score import Meter, Note, Part, Score

    def part(name: str, pitches: list[int]) -> Part:
        lengths = [1.0] * 12 + [3.0]  # B3 z: the last note held, then a beat's rest
        starts = [sum(lengths[:i]) for i in range(13)]
        return Part(name, 52, False, [Note(p, t, d) for p, t, d in zip(pitches, starts, lengths)])

    upper = part("Soprano", [71, 72, 74, 71, 72, 71, 69, 69, 71, 69, 67, 69, 71])
    lower = part("Alto", [67, 69, 71, 67, 69, 67, 66, 66, 67, 66, 64, 66, 67])
    prompt = Score(parts=[upper, lower], meters=[Meter(0.0, 4, 4)])
    c = hub.load("chorales", expect="voices")
    for seed in (1, 2):
        out = c.continue_score(prompt, bars=4, seed=seed)
        silent = [
            b for b in range(16, 32) if not any(n.start_beats <= b < n.end_beats for p in out.parts for n in p.notes)
        ]
        assert not silent, (seed, silent)


def test_a_duet_over_a_drone_closes_on_the_root_and_rules_name_only_its_voices():
    """A reviewer's melody over a D3 drone in G: the bass's range was the drone's +-4 semitones,
    which holds no G, so the piece never closed on the root. A --range on a voice a part sings
    replaces the prompt's range (it was refused against it); a rule on a voice no part sings is
    refused in one line (it was dropped with the voice)."""
    import pytest

    from cadenza.errors import OptionError
    from cadenza.score import Key, Meter, Note, Part, Score

    melody = [Note(67 + (0, 2, 4, 2)[i % 4], float(i), 1.0) for i in range(16)]
    drone = [Note(50, float(b * 4), 4.0) for b in range(4)]
    prompt = Score(
        parts=[Part("Melody", 73, False, melody), Part("Drone", 70, False, drone)],
        meters=[Meter(0.0, 4, 4)],
        keys=[Key(0.0, 7, "major")],
    )
    c = hub.load("chorales", expect="voices")
    assert c.voices_for_parts(prompt.parts) == [0, 3]
    for seed in (1, 2):
        out = c.continue_score(prompt, bars=2, seed=seed)
        assert max(out.parts[1].notes, key=lambda n: n.start_beats).pitch % 12 == 7, seed  # G
    ranged = c.continue_score(
        prompt, bars=2, seed=1, rules=build_rules(None, ["soprano=C5-F5"], [], None, c.voice_names)
    )
    assert all(72 <= n.pitch <= 77 for n in ranged.parts[0].notes if n.start_beats >= 16)
    with pytest.raises(OptionError, match="names the tenor, which no part of this 2-part prompt sings"):
        c.continue_score(prompt, bars=2, seed=1, rules=build_rules(None, [], ["5:1:tenor=D3/2"], None, c.voice_names))


def test_a_model_can_set_its_own_sampling_defaults_and_the_user_overrides_them():
    from cadenza.compose import composer
    from cadenza.compose.settings import SamplingSettings

    chorales, folk = composer.load("chorales"), composer.load("folk")
    assert chorales.meta["sampling"]["top_p"] == 0.97  # models/chorales/card.md says why
    assert chorales.sampling(None, None, None, 3) == SamplingSettings(top_p=0.97, seed=3)
    assert chorales.sampling(0.8, 0.9, None, 3) == SamplingSettings(temperature=0.8, top_p=0.9, seed=3)
    assert folk.sampling(None, None, None, 0) == SamplingSettings()  # no temperature or top_p: the shared defaults
    shipped = chorales.default_constraints()  # models/chorales/card.md, "Sampling"
    assert shipped.contour_bias.shape == (4, 7, 25) and shipped.interval_bias is None
    assert shipped.vertical_bias.shape == (4, 4, 12)
    assert shipped.hold_bias.shape == (4, chorales.tokenizer.config.steps_per_beat)
    assert shipped.spacing
    plain = folk.default_constraints()
    assert plain.interval_bias is None and plain.contour_bias is None and plain.vertical_bias is None
    assert plain.hold_bias is None and not plain.spacing
    assert plain.pitch_bias.shape == (1, 128)  # its register (models/folk/card.md, "Register")
    assert (
        plain.pitch_bias[0, 58:62].mean() < 0 < plain.pitch_bias[0, 70:74].mean()
    )  # A#3-C#4 less likely, A#4-C#5 more


def test_a_tunes_strain_in_another_key_is_written_in_its_signature():
    from cadenza.plan.form import parse_form
    from cadenza.score import parse_key

    g = parse_key("G major")
    score = hub.load("folk", expect="voices").generate(key=g, meter="6/8", seed=1, plan=parse_form("A4 B4@D A4"))
    assert [(k.start_beats, str(k)) for k in score.keys] == [(0.0, "G major"), (12.0, "D major"), (24.0, "G major")]
    chorale = hub.load("chorales", expect="voices").generate(key=g, seed=1, plan=parse_form("A2 B2@D A2"))
    assert [str(k) for k in chorale.keys] == ["G major"]  # Bach writes a chorale's modulations with accidentals


def test_a_prompt_that_changes_key_is_continued_in_its_last_key():
    """A prompt in C that turns to G at bar 3 closes its continuation on G (the voices models
    had read the prompt's first key, the pianist its last)."""
    from cadenza.score import Key

    prompt = _two_hands(bars=4)
    prompt.keys = [Key(0.0, 0, "major"), Key(8.0, 7, "major")]
    out = hub.load("chorales", expect="voices").continue_score(prompt, bars=2, seed=1)
    end = max(n.start_beats for n in out.notes())
    assert min(n.pitch for n in out.notes() if n.start_beats == end) % 12 == 7
