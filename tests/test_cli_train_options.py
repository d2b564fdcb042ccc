"""`cadenza train` and `bench nll` options come from the families' config dataclasses: one
source for each default, flags that do not apply to a family refused, --config TOML files."""

from __future__ import annotations

import dataclasses
import json

import pytest

from cadenza.cli.common import config_from, known_configs, read_config_file
from cadenza.errors import OptionError
from cadenza.families import FAMILIES, by_name, of_meta
from conftest import run_cli


def test_every_family_config_field_is_an_option_with_its_default():
    from typer.main import get_command

    from cadenza.cli.main import app

    params = {p.name: p for p in get_command(app).commands["train"].params}
    for family, cls in known_configs().items():
        for f in dataclasses.fields(cls):
            assert f.name in params, (family, f.name)
            assert params[f.name].default is None  # unset: the dataclass default applies
            assert f.metadata.get("help"), (family, f.name)  # documented where it is defined
    help_embd = params["n_embd"].help
    assert "192 (voices)" in help_embd and "128 (orderless)" in help_embd


def test_defaults_come_from_the_dataclass():
    voices = config_from(by_name("voices").load().Config, "voices", {}, {"data": "x"})
    assert voices.steps_per_beat == 2 and voices.n_embd == 192
    orderless = config_from(by_name("orderless").load().Config, "orderless", {}, {"data": "x"})
    assert orderless.n_embd == 128 and orderless.steps_per_beat == 4


def test_a_flag_of_another_family_is_refused_not_ignored():
    with pytest.raises(OptionError, match="--window-steps does not apply to the voices family"):
        config_from(by_name("voices").load().Config, "voices", {}, {"data": "x", "window_steps": 64})
    with pytest.raises(OptionError, match="--block-size does not apply to the orderless family"):
        config_from(by_name("orderless").load().Config, "orderless", {}, {"data": "x", "block_size": 64})


def test_the_command_line_refuses_an_inapplicable_flag(tmp_path):
    proc = run_cli(
        "train",
        "--family",
        "orderless",
        "--data",
        "bach-chorales",
        "--programs",
        "40,40,41,42",
        "--out",
        str(tmp_path / "m"),
    )
    assert proc.returncode == 2 and "--programs does not apply to the orderless family" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "m").exists()


def test_config_file_values_are_defaults_that_options_override(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('data = "bach-chorales"\nlayers = 2\nembd = 64\nsteps-per-beat = 4\nprograms = [52, 52, 52, 52]\n')
    values = read_config_file(path)
    assert values == {
        "data": "bach-chorales",
        "n_layer": 2,
        "n_embd": 64,
        "steps_per_beat": 4,
        "programs": [52, 52, 52, 52],
    }
    cfg = config_from(by_name("voices").load().Config, "voices", values, {"n_embd": 96}, path)
    assert (cfg.n_layer, cfg.n_embd, cfg.steps_per_beat, cfg.programs) == (2, 96, 4, (52, 52, 52, 52))


def test_a_config_file_key_no_family_has_is_refused(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("window_steps = 64\n")
    with pytest.raises(OptionError, match="run.toml: 'window_steps' is not a setting of the voices family"):
        config_from(by_name("voices").load().Config, "voices", read_config_file(path), {}, path)
    path.write_text("layers = [\n")
    from cadenza.errors import InputError

    with pytest.raises(InputError, match="run.toml: not a TOML config file"):
        read_config_file(path)


@pytest.mark.slow  # a real training run through the CLI
def test_train_with_a_config_file_records_its_settings(tmp_path, chorale_midi_folder):
    path = tmp_path / "tiny.toml"
    path.write_text(
        f'data = "{chorale_midi_folder}"\nlayers = 1\nheads = 2\nembd = 32\nblock-size = 64\n'
        "steps = 2\neval-every = 2\n"
    )
    run_cli("train", "--config", str(path), "--out", str(tmp_path / "m"), "--quiet", check=True)
    train = json.loads((tmp_path / "m" / "model.json").read_text())["train"]
    assert (train["n_layer"], train["n_embd"], train["block_size"], train["steps"]) == (1, 32, 64, 2)


def test_resume_refuses_new_settings_by_their_flags(tmp_path):
    proc = run_cli("train", "--resume", "--out", str(tmp_path), "--layers", "3", "--embd", "64")
    assert (
        proc.returncode == 2 and "--resume continues with the run's own settings; drop --layers, --embd" in proc.stderr
    )
    assert "only --steps or --minutes" in proc.stderr


def test_the_registry_knows_each_kind_once():
    kinds = [f.kind for f in FAMILIES]
    assert len(set(kinds)) == len(kinds) and len({f.name for f in FAMILIES}) == len(FAMILIES)
    for f in FAMILIES:
        module = f.load()
        needs = ("Config", "train", "use", "describe") if f.bundle else ("Config", "build_network", "prepare", "card")
        for name in (*needs, "use", "describe"):
            assert hasattr(module, name), (f.name, name)
        assert of_meta({"tokenizer": {"kind": f.kind}}) is f and of_meta({"kind": f.kind}) is f
    with pytest.raises(OptionError, match="x/model.json: unknown model kind 'midi-like'"):
        of_meta({"tokenizer": {"kind": "midi-like"}}, "x/model.json")
    with pytest.raises(OptionError, match="unknown family 'pianoroll'"):
        by_name("pianoroll")  # a kind, not a family's name


def test_loading_a_model_of_the_wrong_family_says_what_it_is_for():
    from cadenza import hub

    with pytest.raises(OptionError, match="use it with `cadenza harmonize`"):
        hub.load("harmonizer", expect="voices")
    with pytest.raises(OptionError, match="does not write it; use it with `cadenza bench nll"):
        hub.load("jsb", expect="voices")


def card_commands() -> list[tuple[str, list[str]]]:
    import re
    import shlex
    from pathlib import Path

    models = Path(__file__).resolve().parents[1] / "models"
    found = []
    for card in sorted(models.glob("*/card.md")):
        m = re.search(r"command: `cadenza ([^`(]*)", card.read_text())
        if m:
            found.append((card.parent.name, shlex.split(m.group(1))))
    return found


@pytest.mark.parametrize("name,args", card_commands(), ids=lambda x: x if isinstance(x, str) else "")
def test_every_shipped_card_command_is_accepted_today(name, args):
    """The command a card says trained its model still parses, flag for flag (not run here)."""
    from typer.main import get_command

    from cadenza.cli.main import app

    group = get_command(app)
    cmd = group
    while args and hasattr(cmd, "commands") and args[0] in cmd.commands:
        cmd = cmd.commands[args.pop(0)]
    ctx = cmd.make_context(cmd.name, list(args))  # raises on an unknown or malformed option
    assert ctx.params["out"]


def test_card_commands_were_found():
    assert {name for name, _ in card_commands()} >= {"chorales", "folk", "harmonizer", "jsb", "pianomidi"}


@pytest.mark.parametrize(
    "given,words",
    [
        ({"lr": -1.0}, "--lr must be positive"),
        ({"n_embd": 100, "n_head": 3}, "--embd 100 is not a multiple of --heads 3"),
        ({"dropout": 1.5}, "--dropout must be in [0, 1)"),
        ({"transpose": -3}, "--transpose must be at least 0"),
        ({"steps": -5, "minutes": 0.1}, "give a positive --minutes or --steps"),
        ({"n_layer": "six"}, "--layers must be a whole number, not 'six'"),
        ({"rope": True, "n_embd": 30, "n_head": 2}, "rotary positions need an even head size"),
    ],
)
def test_impossible_settings_are_refused_before_any_work(given, words):
    with pytest.raises(OptionError) as e:
        config_from(by_name("voices").load().Config, "voices", {}, {"data": "x", **given})
    assert words in str(e.value) and "\n" not in str(e.value)
