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
