"""The checkpoint format every network shares: weights as safetensors (loading never executes
code), everything else (network config, tokenizer, training record) as JSON beside them.

Which network a model.json describes is the families registry's business (cadenza.families);
cadenza.hub puts the two together to load a model by name.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cadenza.errors import InputError

if TYPE_CHECKING:  # torch is imported where it is used: reading a model.json needs no torch
    import torch
    import torch.nn as nn


HEADER_KEY = "cadenza"  # the .safetensors header entry that holds its .json's content


def save_model(model: nn.Module, directory: Path, extra: dict, weights_name: str = "model") -> None:
    """Write <weights_name>.safetensors and <weights_name>.json into `directory`, both whole.

    `extra` (tokenizer config, training record...) is stored in the JSON with the network config.
    """
    config: Any = model.config
    meta = {"model": asdict(config), "architecture": getattr(model, "architecture", "causal"), **extra}
    write_pair(directory, weights_name, weights_to_save(model), meta, indent=2)


def write_pair(directory: Path, name: str, tensors: dict, record: dict, indent: int = 2) -> None:
    """NAME.safetensors and NAME.json, each written atomically, the weights renamed first and
    carrying the JSON's content in their own header (HEADER_KEY): a kill between the two renames
    leaves weights that still say what they are (cadenza.train.records puts the .json right).
    The weights are made as bytes (safetensors' `save`): its `save_file` writes through a hidden
    temporary of its own (`.tmpXXXXXX`), which a kill at that moment left behind."""
    from safetensors.torch import save

    from cadenza.io.files import atomic_write_all

    directory.mkdir(parents=True, exist_ok=True)
    text = json.dumps(record, indent=indent)
    atomic_write_all(
        [
            (directory / f"{name}.safetensors", save(tensors, metadata={HEADER_KEY: text})),
            (directory / f"{name}.json", text.encode()),
        ],
        force=True,
    )


def read_meta(directory: Path, weights_name: str = "model") -> dict:
    """The JSON beside the weights, or one line naming the file that cannot be read."""
    path = Path(directory) / f"{weights_name}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise InputError(path, f"not a readable {path.name} ({type(e).__name__})") from None


def load_into(model: nn.Module, directory: Path, weights_name: str = "model", device: str = "cpu") -> nn.Module:
    """Fill `model` (built from the JSON's config) with the saved weights; returns it in eval mode."""
    from safetensors.torch import load_file

    load_weights(model, load_file(str(Path(directory) / f"{weights_name}.safetensors"), device=device))
    return model.to(device).eval()


def weights_to_save(model: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict without the tied copies (safetensors refuses shared tensors)."""
    tied = getattr(model, "tied", {})
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items() if k not in tied}


def load_weights(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load weights saved by weights_to_save, restoring tied copies."""
    for copy, source in getattr(model, "tied", {}).items():
        state[copy] = state[source]
    model.load_state_dict(state)


def load_matching(model: nn.Module, directory: Path, weights_name: str = "model") -> tuple[list[str], list[str]]:
    """Copy into `model` the saved weights (weights_to_save's) whose names and shapes match its
    own; (the names copied, the model's names left as they were)."""
    import torch
    from safetensors.torch import load_file

    saved = load_file(str(Path(directory) / f"{weights_name}.safetensors"))
    tied = getattr(model, "tied", {})
    own = {k: v for k, v in model.state_dict().items() if k not in tied}  # a tied copy follows its source
    taken = [k for k, v in own.items() if k in saved and saved[k].shape == v.shape]
    with torch.no_grad():
        for k in taken:
            own[k].copy_(saved[k])
    return taken, [k for k in own if k not in taken]
