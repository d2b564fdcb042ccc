"""cadenza.hub: models found by folder, by name in $CADENZA_MODELS, among the shipped ones, in
./models and in $CADENZA_HOME/models, in that order; one-line errors for folders that are not models and for
names that lead nowhere."""

import json
import os

import pytest

from cadenza import hub
from cadenza.errors import InputError, OptionError


def make_model(folder, kind="voices"):
    folder.mkdir(parents=True)
    (folder / "model.json").write_text(json.dumps({"tokenizer": {"kind": kind}}))
    return folder


@pytest.fixture
def places(tmp_path, monkeypatch):
    """Two folders of models in $CADENZA_MODELS and a $CADENZA_HOME, each with models in it."""
    first, second, home = tmp_path / "first", tmp_path / "second", tmp_path / "home"
    make_model(first / "mine")
    make_model(second / "mine")
    make_model(second / "chorales")  # the name of a shipped model
    make_model(home / "models" / "at-home")
    make_model(home / "models" / "harmonizer")
    monkeypatch.setenv("CADENZA_MODELS", os.pathsep.join([str(first), str(second)]))
    monkeypatch.setenv("CADENZA_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    return first, second, home


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message, message
    return message


def test_model_dirs_in_order(places, tmp_path):
    first, second, home = places
    assert hub.model_dirs() == [first, second, hub.shipped_models(), tmp_path / "models", home / "models"]


def test_a_model_trained_into_the_working_folders_models_is_found_by_name(places, tmp_path):
    """The README trains with `--out models/my-chorales`; `--model my-chorales` found nothing."""
    mine = make_model(tmp_path / "models" / "my-chorales")
    assert hub.find_model("my-chorales") == mine
    assert hub.find_model("models/my-chorales") == mine  # a folder given as relative is recorded whole
    assert "my-chorales" in [p.name for p, _ in hub.list_models()]


def test_a_working_folders_models_of_another_tool_are_skipped_not_fatal(places, tmp_path):
    """A TF.js model or a broken model.json in ./models had stopped `cadenza models` (exit 2)
    and the studio's model list (500)."""
    make_model(tmp_path / "models" / "mine")
    (tmp_path / "models" / "tfjs").mkdir()
    (tmp_path / "models" / "tfjs" / "model.json").write_text('{"format": "layers-model"}')
    (tmp_path / "models" / "broken").mkdir()
    (tmp_path / "models" / "broken" / "model.json").write_text("{not json")
    skipped: list[str] = []
    names = [p.name for p, _ in hub.list_models(skipped)]
    assert "mine" in names and "tfjs" not in names and "broken" not in names
    assert len(skipped) == 2 and all("\n" not in s for s in skipped)


def test_the_shipped_folder_is_looked_in_once_from_the_repository(monkeypatch):
    monkeypatch.delenv("CADENZA_MODELS", raising=False)
    monkeypatch.chdir(hub.shipped_models().parent)  # where ./models is the shipped folder
    dirs = [d.resolve() for d in hub.model_dirs()]
    assert len(dirs) == len(set(dirs))


def test_names_are_found_in_order_and_folders_directly(places, tmp_path):
    first, second, home = places
    assert hub.find_model("mine") == first / "mine"  # the first folder wins
    assert hub.find_model("chorales") == second / "chorales"  # $CADENZA_MODELS before the shipped models
    assert hub.find_model("harmonizer") == hub.shipped_models() / "harmonizer"  # shipped before home
    assert hub.find_model("at-home") == home / "models" / "at-home"
    elsewhere = make_model(tmp_path / "else" / "mine")
    assert hub.find_model(str(elsewhere)) == elsewhere  # a folder holding a model.json is itself


def test_a_folder_that_is_no_model_is_refused(places, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(OptionError) as error:
        hub.find_model(str(tmp_path / "empty"))
    assert (
        one_line(error) == f"{tmp_path / 'empty'}: not a Cadenza model folder (no model.json); train one with "
        "`cadenza train`"
    )


def test_an_unknown_name_lists_every_model_found(places):
    with pytest.raises(OptionError) as error:
        hub.find_model("no-such-model")
    message = one_line(error)
    assert message.startswith("no model named 'no-such-model'; available: ")
    assert message.endswith(" (see `cadenza models`)")
    available = message.split("available: ")[1].split(" (see")[0].split(", ")
    assert available == sorted(available)
    assert {"mine", "chorales", "at-home", "harmonizer", "folk"} <= set(available)


def test_an_unknown_name_with_no_models_anywhere(monkeypatch, tmp_path):
    monkeypatch.setattr(hub, "shipped_models", lambda: tmp_path / "none")
    monkeypatch.setenv("CADENZA_MODELS", "")
    monkeypatch.setenv("CADENZA_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OptionError, match="no model named 'x'; available: none"):
        hub.find_model("x")


def test_a_broken_model_json_names_the_file(tmp_path):
    folder = make_model(tmp_path / "broken")
    (folder / "model.json").write_text("{not json")
    with pytest.raises(InputError) as error:
        hub.read_meta(folder)
    assert one_line(error) == f"{folder / 'model.json'}: not a readable model.json (JSONDecodeError)"
    with pytest.raises(InputError):
        hub.load_network(str(folder))


def test_a_model_of_an_unknown_kind_names_its_model_json(tmp_path):
    folder = make_model(tmp_path / "odd", kind="midi-like")
    with pytest.raises(OptionError) as error:
        hub.load_network(str(folder))
    assert one_line(error).startswith(f"{folder / 'model.json'}: unknown model kind 'midi-like'")


def test_a_run_without_a_model_yet_says_how_to_continue_it(tmp_path):
    import pytest

    from cadenza.errors import OptionError
    from cadenza.hub import find_model

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "checkpoint.json").write_text("{}")
    with pytest.raises(OptionError, match="cadenza train --resume --out"):
        find_model(str(tmp_path / "run"))
