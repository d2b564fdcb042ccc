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
    ],
    ids=["negative seed", "bars and seconds", "fix past the end", "unwritable folder"],
)
def test_a_newcomers_mistake_is_one_line(args, words, tmp_path):
    from conftest import one_line_error, run_cli

    if "--out" not in args:
        args = [*args, "--out", str(tmp_path / "piece")]
    one_line_error(run_cli(*args), *words)


def test_a_format_given_twice_is_written_once():
    from cadenza.render import parse_formats

    assert parse_formats("mid,wav,mid") == ("mid", "wav")
