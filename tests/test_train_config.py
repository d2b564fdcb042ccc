"""cadenza.train.config: a run's settings, and what a recorded run meant by the ones it lacks."""

import pytest

from cadenza.families.voices import Config


def test_rotary_positions_are_the_default_and_old_runs_keep_theirs():
    assert Config(data="x").rope  # the chorales card: rotary positions 0.16 nats per cell better
    recorded = {k: v for k, v in vars(Config(data="x", steps=5)).items() if k != "rope"}
    assert Config.from_record(recorded).rope is False  # a run recorded before --rope existed: learned positions
    assert Config.from_record({**recorded, "rope": True}).rope is True


def test_the_performer_tempo_is_trained_by_beat_and_old_runs_resume_by_note():
    from cadenza.families.performer import Config as PerformerConfig

    assert PerformerConfig(data="x").tempo_per_beat  # the folds: tempo r 0.470 by beat, 0.458 by note
    recorded = {k: v for k, v in vars(PerformerConfig(data="x", steps=5)).items() if k != "tempo_per_beat"}
    assert PerformerConfig.from_record(recorded).tempo_per_beat is False  # recorded before the option existed
    assert PerformerConfig.from_record({**recorded, "tempo_per_beat": True}).tempo_per_beat is True


def test_a_shipped_model_trained_with_learned_positions_resumes_with_them():
    from cadenza import hub
    from cadenza.nn.checkpoint import read_meta

    meta = read_meta(hub.find_model("folk"))  # trained before --rope was recorded
    assert "rope" not in meta["train"] and not meta["model"].get("rope")
    assert Config.from_record(meta["train"]).rope is False
    network, _ = hub.load_network(hub.find_model("folk"))  # and still loads as it was saved
    assert network.pos_emb is not None


@pytest.mark.parametrize(
    "family, settings, words",
    [
        ("voices", {"valid_percent": 0}, "--valid-percent must be 1 to 50"),
        ("orderless", {"valid_percent": 90}, "--valid-percent must be 1 to 50"),
        ("voices", {"max_pieces": -1}, "--max-pieces must be 0"),
        ("voices", {"n_embd": 36, "n_head": 4}, "--no-rope"),
    ],
)
def test_data_and_head_options_are_checked_with_a_way_out(family, settings, words):
    from cadenza.errors import OptionError
    from cadenza.families import by_name

    config = by_name(family).load().Config
    with pytest.raises(OptionError, match=words):
        config(data="x", **settings)
