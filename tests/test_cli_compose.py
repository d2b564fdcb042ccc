"""`cadenza generate` and `cadenza continue` (cadenza.cli.compose) as a user runs them: real
subprocesses, real files, a tiny model really trained (conftest.tiny_model)."""

import json

import pytest

from conftest import make_score, one_line_error, run_cli

pytestmark = pytest.mark.slow  # every test here needs the trained tiny_model and runs the CLI


def test_generate_writes_every_format_and_same_seed_gives_identical_midi(tiny_model, tmp_path):
    args = [
        "generate",
        "--model",
        str(tiny_model),
        "--bars",
        "2",
        "--key",
        "D major",
        "--tempo",
        "72",
        "--seed",
        "7",
        "--quiet",
    ]
    first = run_cli(*args, "--out", str(tmp_path / "a"), check=True)
    run_cli(*args, "--out", str(tmp_path / "b"), "--formats", "mid", check=True)
    for suffix in ("mid", "musicxml", "wav", "png", "json"):
        assert (tmp_path / f"a.{suffix}").stat().st_size > 0
    assert str(tmp_path / "a.mid") in first.stdout
    assert (tmp_path / "a.mid").read_bytes() == (tmp_path / "b.mid").read_bytes()
    record = json.loads((tmp_path / "a.json").read_text())
    assert record["seed"] == 7 and record["key"] == "D major" and record["tempo"] == 72


def test_alternatives_use_consecutive_seeds(tiny_model, tmp_path):
    proc = run_cli(
        "generate",
        "--model",
        str(tiny_model),
        "--bars",
        "2",
        "--seed",
        "3",
        "--n",
        "2",
        "--formats",
        "mid",
        "--out",
        str(tmp_path / "alt"),
        check=True,
    )
    seeds = [json.loads((tmp_path / f"alt-{i}.json").read_text())["seed"] for i in (1, 2)]
    assert seeds == [3, 4]
    assert (tmp_path / "alt-1.mid").read_bytes() != (tmp_path / "alt-2.mid").read_bytes()
    assert (
        "seeds 3-4, home keys drawn as often as the training music has them (--key chooses one)" in proc.stderr
    )  # no --key: the user is told


def test_a_drawn_key_is_said_and_a_given_one_is_not(tiny_model, tmp_path):
    common = ["generate", "--model", str(tiny_model), "--bars", "2", "--seed", "5", "--formats", "mid"]
    drawn = run_cli(*common, "--out", str(tmp_path / "drawn"), check=True)
    key = json.loads((tmp_path / "drawn.json").read_text())["key"]
    assert f"seed 5, home key {key} (drawn as often as the training music has it; --key chooses one)" in drawn.stderr
    given = run_cli(*common, "--key", "F major", "--out", str(tmp_path / "given"), check=True)
    assert "drawn" not in given.stderr


def test_no_silent_overwrite(tiny_model, tmp_path):
    args = [
        "generate",
        "--model",
        str(tiny_model),
        "--bars",
        "1",
        "--seed",
        "1",
        "--formats",
        "mid",
        "--out",
        str(tmp_path / "x"),
    ]
    run_cli(*args, check=True)
    before = (tmp_path / "x.mid").read_bytes()
    one_line_error(run_cli(*args, "--seed", "2"), "exists", "--force")
    assert (tmp_path / "x.mid").read_bytes() == before
    run_cli(*args, "--seed", "2", "--force", check=True)


def _continue_two_bars(prompt, out, *options):
    """`cadenza continue PROMPT --bars 2 --seed 1 --formats mid --out OUT` and `options`, which must succeed."""
    return run_cli(
        "continue",
        str(prompt),
        *options,
        "--bars",
        "2",
        "--seed",
        "1",
        "--formats",
        "mid",
        "--out",
        str(out),
        check=True,
    )


def test_continue_keeps_the_prompt(tiny_model, tmp_path, chorale):
    from cadenza.io import read_score
    from cadenza.io.midi import write_midi

    prompt = tmp_path / "prompt.mid"
    write_midi(make_score(bars=2), prompt)
    _continue_two_bars(prompt, tmp_path / "next", "--model", str(tiny_model))
    before, after = read_score(prompt), read_score(tmp_path / "next.mid")
    for p, q in zip(before.parts, after.parts):
        assert q.notes[: len(p.notes)] == p.notes
    assert after.end_beats > before.end_beats
    record = json.loads((tmp_path / "next.json").read_text())
    assert (record["meter"], record["tempo"]) == (str(before.meters[-1]), before.tempos[-1].bpm)


@pytest.mark.parametrize(
    "content,words",
    [
        (b"", ["empty"]),
        (b"this is not music at all", ["bad.mid"]),
        (b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0MTrk\x00\x00\x00\x40\x00\x90\x3c", ["bad.mid"]),
    ],
)
def test_bad_prompt_files_give_one_line_and_exit_2(tiny_model, tmp_path, content, words):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(content)
    one_line_error(run_cli("continue", str(bad), "--model", str(tiny_model)), *words)
    one_line_error(run_cli("render", str(bad)), *words)


@pytest.mark.parametrize(
    "args,words",
    [
        (["--bars", "0"], ["bars", "at least 1"]),
        (["--tempo", "-1"], ["tempo", "between"]),
        (["--key", "H major"], ["unknown key", "D major"]),
        (["--meter", "4/5"], ["meter"]),
        (["--top-p", "2"], ["top-p"]),
        (["--formats", "mp3"], ["mp3", "choose from"]),
    ],
)
def test_impossible_options_say_what_is_accepted(tiny_model, tmp_path, args, words):
    one_line_error(run_cli("generate", "--model", str(tiny_model), "--out", str(tmp_path / "z"), *args), *words)


def test_generate_takes_rules(tiny_model, tmp_path):
    from cadenza.io import read_score

    run_cli(
        "generate",
        "--model",
        str(tiny_model),
        "--bars",
        "2",
        "--seed",
        "2",
        "--scale",
        "D major",
        "--fix",
        "2:1:bass=D3/2",
        "--formats",
        "mid",
        "--out",
        str(tmp_path / "g"),
        "--quiet",
        check=True,
    )
    score = read_score(tmp_path / "g.mid")
    assert all(n.pitch % 12 in (2, 4, 6, 7, 9, 11, 1) for p in score.parts for n in p.notes)
    assert any(n.pitch == 50 and n.start_beats == 4.0 and n.duration_beats >= 2.0 for n in score.parts[3].notes)
    one_line_error(
        run_cli("generate", "--model", str(tiny_model), "--bars", "2", "--scale", "D major", "--fix", "1:1:bass=C3"),
        "outside the scale",
    )


def test_a_church_mode_key_keeps_to_its_notes_and_is_written_in_its_mode(tiny_model, tmp_path):
    from cadenza.io import read_score

    run_cli(
        *("generate", "--model", str(tiny_model), "--bars", "2", "--seed", "3", "--key", "D dorian"),
        *("--formats", "musicxml", "--out", str(tmp_path / "g"), "--quiet"),
        check=True,
    )
    score = read_score(tmp_path / "g.musicxml")
    assert str(score.key) == "D dorian"  # under no sharps or flats
    assert "<fifths>0</fifths><mode>dorian</mode>" in (tmp_path / "g.musicxml").read_text()
    assert all(n.pitch % 12 in (2, 4, 5, 7, 9, 11, 0) for p in score.parts for n in p.notes)


@pytest.mark.slow  # one CLI run with a shipped model
def test_continue_chooses_the_model_and_records_the_choice_and_key(tmp_path):
    from cadenza.io import write_score
    from conftest import melody

    write_score(melody(), tmp_path / "tune.mid")
    proc = _continue_two_bars(tmp_path / "tune.mid", tmp_path / "next")
    assert "model folk (chosen: the prompt is one melody)" in proc.stderr
    record = json.loads((tmp_path / "next.json").read_text())
    assert record["model"] == "folk" and record["model_choice"].startswith("chosen") and record["key"] == "E major"


@pytest.mark.slow  # one CLI run with a shipped model
def test_continuing_two_hands_with_a_one_voice_model_says_which_part_stops(tmp_path):
    """A piano piece continued with the folk model (one voice): its right hand goes on, and
    stderr says in a line that the left hand stops where the prompt ends."""
    proc = _continue_two_bars("examples/piano-bach-c-minor-seed2.mid", tmp_path / "next", "--model", "folk")
    assert "the folk model writes 1 voice: Left hand stops where the prompt ends" in proc.stderr
    assert "Right hand stop" not in proc.stderr


@pytest.mark.slow  # one CLI run with a shipped model
def test_what_the_prompts_music_cannot_do_names_the_file(tmp_path):
    """A meter the model never learned came back as "meter 5/8 is not supported ...", no file named."""
    from cadenza.io import write_score
    from cadenza.score import Meter
    from conftest import melody

    tune = melody()
    tune.meters = [Meter(0.0, 5, 16)]
    write_score(tune, tmp_path / "odd.mid")
    proc = run_cli("continue", str(tmp_path / "odd.mid"), "--out", str(tmp_path / "next"), "--formats", "mid")
    one_line_error(proc, f"error: {tmp_path / 'odd.mid'}: meter 5/16 is not supported by model folk")


@pytest.mark.slow  # one CLI run with a shipped model
def test_a_file_of_several_tunes_says_which_it_continues(tmp_path):
    book = tmp_path / "book.abc"
    book.write_text(
        "X:1\nT:First\nM:4/4\nL:1/4\nK:G\nG A B c|d2 B2|c A F D|G4|\n\n"
        "X:2\nT:Second\nM:4/4\nL:1/4\nK:D\nD E F G|A2 F2|G E C E|D4|\n"
    )
    proc = run_cli(
        "continue", str(book), "--bars", "1", "--seed", "1", "--formats", "mid", "--out", str(tmp_path / "n")
    )
    assert proc.returncode == 0, proc.stderr
    assert f"{book}: 2 pieces in this file; using the first (First)" in proc.stderr


def test_an_out_named_tune_abc_writes_abc_and_an_abc_tunes_part_is_named(tmp_path):
    """A newcomer's `--out next.abc` had written every format but ABC; and an ABC tune's part,
    which its file does not name, was written with an empty name (MuseScore showed the program's)."""
    tune = tmp_path / "tune.abc"
    tune.write_text("X:1\nT:Tune\nM:4/4\nL:1/4\nK:G\nG A B c|d2 B2|c A F D|G4|\n")
    proc = run_cli(
        "continue",
        str(tune),
        "--bars",
        "1",
        "--seed",
        "1",
        "--formats",
        "musicxml",
        "--out",
        str(tmp_path / "next.abc"),
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "next.abc").read_text().startswith("%abc") and (tmp_path / "next.musicxml").exists()
    assert "<part-name>Melody</part-name>" in (tmp_path / "next.musicxml").read_text()


def test_generate_writes_piano_music_by_a_composer_on_a_grand_staff(tiny_piano, tmp_path):
    from cadenza.io import read_score

    args = ["generate", "--model", str(tiny_piano), "--composer", "beta", "--bars", "4", "--meter", "3/4"]
    run_cli(
        *args, "--seed", "4", "--form", "A2 A2", "--out", str(tmp_path / "p"), "--formats", "mid,musicxml", check=True
    )
    record = json.loads((tmp_path / "p.json").read_text())
    assert record["composer"] == "Beta" and record["plan"]["sections"][0]["label"] == "A"
    xml = (tmp_path / "p.musicxml").read_text()
    assert "<staves>2</staves><part-symbol>brace</part-symbol>" in xml and "<part-name>Piano</part-name>" in xml
    for written in ("p.mid", "p.musicxml"):
        back = read_score(tmp_path / written)
        assert [p.name for p in back.parts] == ["Right hand", "Left hand"] and str(back.meter) == "3/4"


@pytest.mark.parametrize(
    "args, words",
    [
        (["--composer", "Mozart"], ["--composer Mozart", "Alpha", "none"]),
        (["--fix", "S 1 C5"], ["--fix", "free piano music", "leave this out"]),
        (["--chords", "C | G"], ["--chords", "chords to follow"]),
    ],
    ids=["unknown composer", "voices option", "chords"],
)
def test_a_piano_model_refuses_what_it_cannot_do_in_one_line(tiny_piano, tmp_path, args, words):
    proc = run_cli("generate", "--model", str(tiny_piano), "--bars", "2", *args, "--out", str(tmp_path / "x"))
    one_line_error(proc, *words)
    assert not list(tmp_path.iterdir())


def test_composer_is_refused_for_a_model_without_composers(tiny_model, tmp_path):
    proc = run_cli("generate", "--model", str(tiny_model), "--composer", "Bach", "--out", str(tmp_path / "x"))
    one_line_error(proc, "--composer", "no composers")


def test_continue_adds_piano_bars_to_a_piano_file(tiny_piano, piano_folder, tmp_path):
    run_cli(
        "continue",
        str(piano_folder / "Alpha" / "0.mid"),
        "--model",
        str(tiny_piano),
        "--bars",
        "2",
        "--composer",
        "Alpha",
        "--seed",
        "1",
        "--formats",
        "mid",
        "--out",
        str(tmp_path / "c"),
        check=True,
    )
    record = json.loads((tmp_path / "c.json").read_text())
    assert record["composer"] == "Alpha" and record["command"] == "continue"


def test_a_piano_piece_is_continued_after_the_composer_its_credit_names(tiny_piano, tmp_path):
    """Without --composer, a prompt whose credit names one of the model's composers goes on after
    them, and says so; --composer none writes after no one."""
    from dataclasses import replace

    from cadenza.io.musicxml import write_musicxml
    from conftest import piano_piece

    prompt = write_musicxml(replace(piano_piece(tonic=7), composer="Johann Beta"), tmp_path / "beta.musicxml")
    args = ("continue", str(prompt), "--model", str(tiny_piano), "--bars", "1", "--seed", "1", "--formats", "mid")
    after = run_cli(*args, "--out", str(tmp_path / "after"), check=True)
    assert "written after Beta, whom its credit names" in after.stderr
    record = json.loads((tmp_path / "after.json").read_text())
    assert record["composer"] == "Beta" and record["composer_choice"] == "named in the prompt's credit"
    plain = run_cli(*args, "--composer", "none", "--out", str(tmp_path / "plain"), check=True)
    assert "written after" not in plain.stderr
    record = json.loads((tmp_path / "plain.json").read_text())
    assert record["composer"] == "none" and "composer_choice" not in record


def test_a_form_whose_cadence_key_fits_major_only_gets_a_major_home(tiny_model, tmp_path):
    run_cli(
        "generate", "--model", str(tiny_model), "--form", "A2 B2", "--cadences", "half@bIII", "--seed", "1",
        "--n", "4", "--formats", "mid", "--out", str(tmp_path / "third"), check=True,
    )  # fmt: skip
    keys = [json.loads((tmp_path / f"third-{i}.json").read_text())["key"] for i in range(1, 5)]
    assert all(k.endswith("major") for k in keys), keys  # unrestricted, seed 2 draws the data's G minor


def test_keys_that_end_away_from_home_say_so(tiny_model, tmp_path):
    args = ("generate", "--model", str(tiny_model), "--form", "A2 B2", "--seed", "1", "--formats", "mid")
    away = run_cli(*args, "--keys", "C G", "--out", str(tmp_path / "away"), check=True)
    assert "--keys: the piece ends in G major, away from its home key C major" in away.stderr
    home = run_cli(*args, "--keys", "C C", "--out", str(tmp_path / "home"), check=True)
    assert "away from its home key" not in home.stderr
    refused = run_cli(*args, "--keys", "C G", "--key", "D", "--out", str(tmp_path / "no"))  # the error alone
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "--key D major" in refused.stderr
    long = run_cli(*args[:3], "--form", "A99999", "--out", str(tmp_path / "long"))  # before any progress is shown
    assert long.returncode == 2 and long.stderr == "error: --form 'A99999' is 99999 bars long: give at most 1000 bars\n"


def test_a_meter_left_out_is_drawn_by_the_plan_model(tiny_model, tmp_path):
    """A model whose plan model learned 8-bar pieces in 3/4 writes them in 3/4 unless told
    otherwise (--meter; --no-plan: the model's usual meter), and 16 bars in 4/4 as its 16-bar
    pieces are; a meter its tokens cannot say (4/2) or that few pieces taught (6/8) is never
    drawn."""
    import shutil

    from cadenza.plan import planner
    from cadenza.plan.form import parse_form

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    plans = []
    for form, meter, n in (("A4 A4", "3/4", 20), ("A8 A8", "4/4", 20), ("A4 B4", "4/2", 40), ("A4 B4", "6/8", 19)):
        plan = parse_form(form)
        plan.meter = meter
        plans += [plan] * n
    planner.save(planner.fit(plans), model)

    def meter(*args: str) -> str:
        out = tmp_path / "piece"
        run_cli("generate", "--model", str(model), "--seed", "3", "--formats", "mid", "--force", "--out", str(out),
                *args, check=True)  # fmt: skip
        return json.loads(out.with_suffix(".json").read_text())["meter"]

    assert meter("--bars", "8") == "3/4"  # 4/2 and 6/8 have more pieces of 8 bars, but not to draw
    assert meter("--bars", "8", "--meter", "2/4") == "2/4"
    assert meter("--bars", "8", "--no-plan") == "4/4"  # the training data's usual meter
    assert meter("--bars", "16") == "4/4"


@pytest.mark.slow  # two CLI runs
def test_generate_plan_with_an_output_record_uses_the_model_that_wrote_it(tmp_path):
    # a newcomer fed a folk jig's JSON back with --plan and no --model, and got a chorale
    run_cli(
        "generate", "--model", "folk", "--form", "A8 A8 B8 B8", "--key", "G", "--meter", "6/8", "--seed", "5",
        "--formats", "mid", "--performer", "none", "--out", str(tmp_path / "jig"), check=True,
    )  # fmt: skip
    again = run_cli(
        "generate", "--plan", str(tmp_path / "jig.json"), "--seed", "5", "--formats", "mid", "--performer", "none",
        "--out", str(tmp_path / "again"), check=True,
    )  # fmt: skip
    assert "model folk" in again.stderr
    assert (tmp_path / "again.mid").read_bytes() == (tmp_path / "jig.mid").read_bytes()


def test_a_plan_moved_to_a_scale_of_the_other_mode_is_refused_naming_the_scale(tiny_model, tmp_path):
    """`--plan P --scale "D minor"` on a plan in F major: the key came from --scale, and the
    line says so (it had said --key)."""
    plan = tmp_path / "f.toml"
    plan.write_text('key = "F major"\n[[sections]]\nlabel = "A"\nbars = 2\n')
    proc = run_cli("generate", "--model", str(tiny_model), "--plan", str(plan), "--scale", "D minor",
                   "--out", str(tmp_path / "x"))  # fmt: skip
    one_line_error(proc, "--scale D minor: the plan is in F major")


def test_the_piano_continuing_four_parts_says_which_stop_where_the_prompt_ends(tiny_piano, tmp_path):
    """The message had read the voices models' voice_names and ended in a traceback for the pianist
    (a chorale's own performed MIDI, continued without --model, had been sent to the piano)."""
    from cadenza.io import write_score

    prompt = write_score(make_score(4, bars=2), tmp_path / "four.mid")
    proc = run_cli(
        "continue",
        str(prompt),
        "--model",
        str(tiny_piano),
        "--bars",
        "1",
        "--seed",
        "1",
        "--formats",
        "mid",
        "--out",
        str(tmp_path / "c"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "model writes two hands:" in proc.stderr and "Traceback" not in proc.stderr
