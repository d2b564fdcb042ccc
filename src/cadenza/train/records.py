"""What a training run's files record, read without torch. Each .safetensors that training
writes (model, checkpoint) carries its .json's content in its own header, under HEADER_KEY: the
pair is renamed weights first, so when a kill falls between the two renames the weights still
say what they are, and the .json is put right from them (cadenza.train.loop writes them)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from cadenza.io.files import atomic_write
from cadenza.nn.checkpoint import HEADER_KEY


def header_record(path: Path) -> dict | None:
    """The JSON record a .safetensors written by training carries in its header (HEADER_KEY),
    read without torch; None for one without (written before it did) or one that cannot be read."""
    try:
        with open(path, "rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            if size > 100_000_000:
                return None
            header = json.loads(f.read(size))
        return json.loads(header["__metadata__"][HEADER_KEY])
    except (OSError, ValueError, KeyError, TypeError, struct.error):
        return None


def checkpoint_record(out: Path) -> dict:
    """The record of the checkpoint in `out`: the one its weights carry (checkpoint.json may be a
    checkpoint older, when a kill fell between their renames), else checkpoint.json's."""
    embedded = header_record(out / "checkpoint.safetensors")
    return embedded if embedded is not None else json.loads((out / "checkpoint.json").read_text())


def repair_pairs(out: Path) -> None:
    """Put right a model.json or checkpoint.json that a kill left one save behind its weights
    (the two are renamed one after the other): rewrite it from the record the weights carry."""
    for name in ("model", "checkpoint"):
        embedded = header_record(out / f"{name}.safetensors")
        if embedded is None:
            continue
        try:
            current = json.loads((out / f"{name}.json").read_text())
        except (OSError, ValueError):
            current = None
        if current != embedded:
            atomic_write(out / f"{name}.json", json.dumps(embedded, indent=2 if name == "model" else 1).encode(), True)
