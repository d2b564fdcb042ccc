"""cadenza.families (the registry): families by name and by the kind a model.json records, the
networks they build, and one-line refusals of anything else. (tests/test_cli_train_options.py
checks that every family module has the whole interface.)"""

import pytest

from cadenza.errors import OptionError
from cadenza.families import FAMILIES, build_network, by_name, of_meta


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message and message, message
    return message


def test_families_are_found_by_name_and_by_kind():
    assert [f.name for f in FAMILIES] == [
        "voices",
        "orderless",
        "benchmark",
        "performer",
        "chords",
        "accompaniment",
        "piano",
        "leadsheet",
    ]
    for f in FAMILIES:
        assert by_name(f.name) is f
        assert of_meta({"tokenizer": {"kind": f.kind, "whatever": 1}}) is f
        assert f.load().__name__ == f.module
    assert of_meta({"tokenizer": {"kind": "cells"}}).name == "orderless"
    assert of_meta({"tokenizer": {"kind": "pianoroll"}}).name == "benchmark"


def test_an_unknown_family_name_is_one_line_naming_the_families():
    with pytest.raises(OptionError) as error:
        by_name("Voices")  # names are exact
    assert one_line(error) == (
        "unknown family 'Voices'; families: voices, orderless, benchmark, performer, chords, accompaniment, piano, "
        "leadsheet"
    )


@pytest.mark.parametrize(
    "meta, kind",
    [
        ({"tokenizer": {"kind": "midi-like"}}, "'midi-like'"),
        ({"tokenizer": {}}, "None"),
        ({}, "None"),
        ([], "None"),
        (None, "None"),
        ("voices", "None"),
        ({"tokenizer": None}, "None"),
        ({"tokenizer": "voices"}, "None"),
    ],
    ids=[
        "unknown kind",
        "no kind",
        "no tokenizer",
        "a list",
        "null",
        "a string",
        "null tokenizer",
        "a string tokenizer",
    ],
)
def test_an_unknown_kind_is_one_line_naming_the_file_and_the_known_kinds(meta, kind):
    with pytest.raises(OptionError) as error:
        of_meta(meta, "somewhere/model.json")
    known = "voices, cells, pianoroll, performance, chords, accompaniment, piano, leadsheet"
    assert one_line(error) == f"somewhere/model.json: unknown model kind {kind} (known: {known})"
    with pytest.raises(OptionError, match="^model: unknown model kind"):
        build_network(meta)


def test_each_family_builds_the_network_its_model_json_describes():
    from cadenza.nn.orderless import OrderlessModel
    from cadenza.nn.transformer import Transformer

    causal = {"vocab_size": 20, "block_size": 16, "n_layer": 1, "n_head": 2, "n_embd": 8}
    voices = build_network({"tokenizer": {"kind": "voices"}, "model": causal})
    assert type(voices) is Transformer and voices.config.vocab_size == 20 and voices.config.block_size == 16
    bench = build_network({"tokenizer": {"kind": "pianoroll"}, "model": {**causal, "n_conditions": 3}})
    assert type(bench) is Transformer and bench.config.n_conditions == 3
    orderless = build_network(
        {
            "tokenizer": {"kind": "cells"},
            "model": {"n_voices": 2, "steps_per_beat": 2, "n_layer": 1, "n_head": 2, "n_embd": 8},
        }
    )
    assert type(orderless) is OrderlessModel and orderless.config.n_voices == 2
    piano = build_network({"tokenizer": {"kind": "piano"}, "model": {**causal, "rope": True}})
    assert type(piano) is Transformer and piano.config.rope
