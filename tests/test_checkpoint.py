"""cadenza.nn.checkpoint: weights saved as safetensors and read back exactly, readable by others."""

import pytest
import torch

from cadenza.nn.checkpoint import load_into, read_meta, save_model
from cadenza.nn.transformer import ModelConfig, Transformer
from conftest import VOICES_TOK as TOK
from conftest import tiny_voices_model as tiny


@pytest.mark.parametrize("rope", [False, True])
def test_save_load_round_trip_is_exact(tmp_path, rope):
    m = tiny(rope=rope)
    save_model(m, tmp_path, {"note": "x"})
    meta = read_meta(tmp_path)
    m2 = load_into(Transformer(ModelConfig(**meta["model"])), tmp_path)
    assert meta["note"] == "x"
    x = torch.randint(0, TOK.vocab_size, (2, 30))
    assert torch.equal(m(x), m2(x))
    assert not list(tmp_path.glob("*.pt")) and not list(tmp_path.glob("*.pkl"))


def test_models_are_saved_readable_by_others(tmp_path):
    from cadenza.nn.checkpoint import save_model
    from cadenza.nn.transformer import ModelConfig, Transformer

    save_model(Transformer(ModelConfig(vocab_size=10, block_size=8, n_layer=1, n_head=1, n_embd=8)), tmp_path, {})
    for path in tmp_path.iterdir():
        assert path.stat().st_mode & 0o044 == 0o044, path.name  # safetensors writes its own 0600 file


def test_a_network_starts_from_another_s_weights_where_names_and_shapes_match(tmp_path):
    """load_matching (`cadenza train --init-from`): a model that reads a step a note takes a
    one-token-a-step model's blocks and embeddings, its new head stays as it was built."""
    from cadenza.nn.checkpoint import load_matching

    torch.manual_seed(0)
    source = Transformer(ModelConfig(vocab_size=20, block_size=16, n_layer=2, n_head=2, n_embd=16, rope=True))
    save_model(source, tmp_path, {})
    target = Transformer(ModelConfig(vocab_size=20, block_size=32, n_layer=2, n_head=2, n_embd=16, rope=True, group=3))
    head_before = target.group_head.proj.weight.clone()
    taken, fresh = load_matching(target, tmp_path)
    assert "tok_emb.weight" in taken and "blocks.1.mlp.out.weight" in taken
    assert {k.split(".")[0] for k in fresh} == {"group_head"}
    assert torch.equal(target.tok_emb.weight, source.tok_emb.weight) and target.head.weight is target.tok_emb.weight
    assert torch.equal(target.blocks[1].attn.qkv.weight, source.blocks[1].attn.qkv.weight)
    assert torch.equal(target.group_head.proj.weight, head_before)
    wider = Transformer(ModelConfig(vocab_size=20, block_size=16, n_layer=1, n_head=2, n_embd=24))
    assert load_matching(wider, tmp_path)[0] == []  # nothing of another width fits
