"""The `cadenza` command as a whole (cadenza.cli.main): every command has help, and names that
lead nowhere get one line that says what exists."""

import pytest

from conftest import one_line_error, run_cli


@pytest.mark.slow  # two CLI runs
def test_missing_model_and_unknown_corpus(tmp_path):
    one_line_error(run_cli("generate", "--model", "no-such-model"), "no model named")
    one_line_error(
        run_cli("train", "--data", "no-such-corpus", "--out", str(tmp_path / "m")), "no-such-corpus", "bach-chorales"
    )


@pytest.mark.parametrize(
    "command",
    [
        "generate",
        "continue",
        "train",
        "render",
        "models",
        "harmonize",
        "infill",
        "evaluate",
        "baseline markov",
        "baseline heldout",
        "bench nll",
        "analyze",
        "plan",
        "chords",
        "arrange",
        "perform",
    ],
)
def test_every_command_has_help(command):
    proc = run_cli(*command.split(), "--help")
    assert proc.returncode == 0 and "Usage" in proc.stdout and "Traceback" not in proc.stderr, proc.stderr


# mistakes a newcomer made (the README walk-through): each is one line and exit status 2
@pytest.mark.parametrize(
    "args,words",
    [
        (["generate", "--seed", "-1"], ["--seed must be 0 or more"]),
        (["generate", "--bars", "8", "--seconds", "10"], ["--bars or --seconds, not both"]),
        (["generate", "--bars", "2", "--fix", "9:1:alto=E4"], ["lies past the end of the piece"]),
        (["generate", "--bars", "2", "--out", "/proc/cadenza-test/piece"], ["cannot write there"]),
        (["generate", "--key", "D major", "--scale", "Eb major"], ["--key D major", "--scale Eb major", "disagree"]),
        (["baseline", "markov", "--seed", "-1"], ["--seed must be 0 or more"]),
        (["generate", "--bars", "100000"], ["--bars 100000", "at most 1000"]),
        (["generate", "--seconds", "1e6"], ["bars", "at most 1000"]),
        (["generate", "--form", "A8 B8", "--bars", "8"], ["--bars 8", "16 bars"]),
        (["generate", "--form", "A8 ?"], ["--form", "cannot read '?'"]),
        (["generate", "--keys", "C G"], ["--keys", "--form"]),
        (["generate", "--form", "A4 B4", "--cadences", "loud"], ["--cadences 'loud'", "unknown cadence 'loud'"]),
        (["generate", "--form", "A4", "--no-plan"], ["--no-plan"]),
        (["generate", "--meter", "5/0"], ["--meter", "unknown meter '5/0'"]),
        (["plan", "--bars", "0"], ["--bars 0", "at least 1"]),
        (["plan", "--bars", "8", "--meter", "5/0"], ["--meter", "unknown meter '5/0'"]),
        (["generate", "--key", ""], ["--key ''", "name a key"]),
    ],
    ids=[
        "negative seed",
        "bars and seconds",
        "fix past the end",
        "unwritable folder",
        "key outside the scale",
        "negative markov seed",
        "too many bars",
        "too many seconds",
        "form and bars disagree",
        "unreadable form",
        "keys without a form",
        "unknown cadence",
        "a form and no plan",
        "unknown meter",
        "a plan of no bars",
        "a plan's unknown meter",
        "an empty key",
    ],
)
def test_a_newcomers_mistake_is_one_line(args, words, tmp_path):
    from conftest import one_line_error, run_cli

    if "--out" not in args:
        args = [*args, "--out", str(tmp_path / "piece")]
    one_line_error(run_cli(*args), *words)


def test_a_format_given_twice_is_written_once():
    from cadenza.render import parse_formats

    assert parse_formats("mid,wav,mid") == ("mid", "wav")


def test_json_among_the_formats_is_taken_as_the_record_always_written():
    from cadenza.errors import OptionError
    from cadenza.render import parse_formats

    assert parse_formats("mid,musicxml,json") == ("mid", "musicxml")
    with pytest.raises(OptionError, match="always|beside"):
        parse_formats("json")


@pytest.mark.parametrize(
    "args,words",
    [
        (["generate", "--bogus"], ["cadenza generate", "--bogus"]),
        (["generate", "--bars", "x"], ["--bars"]),
        (["continue"], ["PROMPT"]),
    ],
    ids=["unknown option", "not a number", "missing argument"],
)
def test_a_usage_mistake_is_one_line_not_a_box(args, words):
    proc = run_cli(*args)
    one_line_error(proc, *words)
    assert "╭" not in proc.stderr and "Usage" not in proc.stderr


def test_help_names_arguments_plainly():
    text = run_cli("continue", "--help").stdout
    assert "Usage: cadenza continue [OPTIONS] PROMPT" in text
    assert "<bool>" not in text and "{" not in text.splitlines()[0] and "╭" not in text
    assert "--allow-parallels" in text and "\\[" not in text


def test_train_help_names_every_family():
    """The piano family was missing from --family's list."""
    from cadenza.families import FAMILIES

    text = " ".join(run_cli("train", "--help").stdout.split())
    assert all(f"{f.name} (" in text for f in FAMILIES), text


def test_output_names_strip_a_known_suffix_and_honour_folders(tmp_path):
    from cadenza.cli.common import output_stems

    def name(i: int) -> str:
        return f"x-seed{1 + i}"

    (tmp_path / "tunes").mkdir()
    assert output_stems(f"{tmp_path}/song.mid", name, 1) == [f"{tmp_path}/song"]
    assert output_stems(f"{tmp_path}/song.MusicXML", name, 1) == [f"{tmp_path}/song"]
    assert output_stems(f"{tmp_path}/song", name, 2) == [f"{tmp_path}/song-1", f"{tmp_path}/song-2"]
    # in a folder, each alternative is named by its own seed
    assert output_stems(f"{tmp_path}/tunes", name, 2) == [f"{tmp_path}/tunes/x-seed1", f"{tmp_path}/tunes/x-seed2"]
    assert output_stems(f"{tmp_path}/new/", name, 1) == [f"{tmp_path}/new/x-seed1"]
    assert output_stems(f"{tmp_path}/v1.2", name, 1) == [f"{tmp_path}/v1.2"]  # not a suffix we write
    assert output_stems(None, name, 3) == ["out/x-seed1", "out/x-seed2", "out/x-seed3"]


@pytest.mark.slow  # one generation
def test_out_with_a_suffix_writes_that_file(tmp_path):
    run_cli(
        "generate", "--bars", "1", "--seed", "1", "--formats", "mid", "--out", str(tmp_path / "song.mid"), check=True
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.json", "song.mid", "song.performed.mid"]


def test_scale_alone_implies_its_key():
    from cadenza.cli.common import key_for_scale
    from cadenza.score import parse_key

    assert str(key_for_scale(None, "D minor")) == "D minor"
    assert str(key_for_scale(parse_key("A minor"), "C major")) == "A minor"  # natural minor: the same notes
    assert key_for_scale(None, None) is None


def test_the_format_an_out_names_by_its_suffix_is_written():
    from cadenza.render import parse_formats

    assert parse_formats("mid,wav", "tune.abc") == ("mid", "wav", "abc")
    assert parse_formats("mid", "out/song.MXL") == ("mid", "mxl")
    assert parse_formats("mid,abc", "tune.abc") == ("mid", "abc")
    assert parse_formats("mid", "out/") == ("mid",) and parse_formats("mid", None) == ("mid",)
    assert parse_formats("mid", ".abc") == ("mid",)  # a hidden file's name, not a suffix


def test_an_out_naming_a_kind_of_file_cadenza_does_not_write_is_refused():
    """A newcomer's `--out bad.docx` wrote bad.docx.mid, bad.docx.wav ...; a stem with a dot of
    its own (take.2, song.final) is still a stem."""
    from cadenza.errors import OptionError
    from cadenza.render import parse_formats

    for out in ("bad.docx", "out/song.MP3", "score.pdf"):
        with pytest.raises(OptionError, match="does not write"):
            parse_formats("mid", out)
    assert parse_formats("mid", "take.2") == ("mid",) and parse_formats("mid", "song.final") == ("mid",)
