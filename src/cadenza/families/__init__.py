"""The model families, and the registry that maps the kind a model.json records to its family.

A family bundles everything one kind of model needs, in one module:

- `Config`: its training run's settings, a dataclass (cadenza.train.loop.RunConfig and more);
  the command line builds `cadenza train`'s options from it, so every default has one source;
- `build_network(meta)`: the network a model.json describes;
- `prepare(cfg, record, echo)`: data read, tokenized and batched, and the network to train, as
  a cadenza.train.run.Prepared (batches, loss, validation, what model.json records);
- `card(out, meta)`: the facts its card.md states (cadenza.train.run.CardFacts);
- `use(directory, meta, model)`: what a loaded model is used through (a Composer, a
  Harmonizer, ...);
- `describe(meta)`: (what it writes, its time grid, its validation loss) for `cadenza models`.

A bundle family (leadsheet) keeps models of other families together in one folder: it has no
network of its own, and a command that loads it gets the part it asks for (cadenza.hub.load).

Adding a family adds its module and one line in FAMILIES, and touches nothing else. Family
modules are imported only when used, so `cadenza --help` imports no torch.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from cadenza.errors import OptionError


@dataclass(frozen=True)
class Family:
    name: str  # what `cadenza train --family` takes
    kind: str  # the tokenizer kind its model.json records
    module: str  # the module that implements it
    about: str  # what its models do, for messages
    used_by: str  # the commands that use its models
    bundle: bool = False  # models of other families kept together (train, use, describe; no network)

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)


FAMILIES = (
    Family(
        "voices",
        "voices",
        "cadenza.families.voices",
        "a fixed number of voices on a time grid, written from the start: chorales, folk tunes",
        "`cadenza generate` and `cadenza continue`; `cadenza harmonize` with a model of several voices",
    ),
    Family(
        "orderless",
        "cells",
        "cadenza.families.orderless",
        "an orderless (masked) voices model that fills in music rather than writing it from the start",
        "`cadenza harmonize` and `cadenza infill`",
    ),
    Family(
        "benchmark",
        "pianoroll",
        "cadenza.families.benchmark",
        "a likelihood benchmark model over piano rolls, which scores music and does not write it",
        "`cadenza bench nll --checkpoint`",
    ),
    Family(
        "performer",
        "performance",
        "cadenza.families.performer",
        "a performer that plays a score as a pianist would (timing, velocity, articulation, pedal)",
        "`cadenza perform --performer learned` and `--performer learned` on generate, continue, harmonize, infill",
    ),
    Family(
        "chords",
        "chords",
        "cadenza.families.chords",
        "chord symbols for a melody, beat by beat, as a lead sheet has them",
        "`cadenza chords`",
    ),
    Family(
        "accompaniment",
        "accompaniment",
        "cadenza.families.accompaniment",
        "an accompaniment (a piano part) for a melody with chord symbols, learned from real arrangements",
        "`cadenza arrange --style pop`",
    ),
    Family(
        "piano",
        "piano",
        "cadenza.families.piano",
        "two-staff piano music in a composer's style (or none), written event by event",
        "`cadenza generate --composer` and `cadenza continue`",
    ),
    Family(
        "leadsheet",
        "leadsheet",
        "cadenza.families.leadsheet",
        "lead sheets: a melody model and a chords model trained on the same tunes, kept together",
        "`cadenza generate` (a melody with chord symbols) and `cadenza chords`",
        bundle=True,
    ),
)


def by_name(name: str) -> Family:
    for f in FAMILIES:
        if f.name == name:
            return f
    raise OptionError(f"unknown family {name!r}; families: {', '.join(f.name for f in FAMILIES)}")


def of_meta(meta: dict, where: str = "model") -> Family:
    """The family of a model.json's (or a training checkpoint's) metadata, by its tokenizer kind
    (or, for a bundle of models, which has no tokenizer of its own, its "kind")."""
    meta = meta if isinstance(meta, dict) else {}
    tokenizer = meta.get("tokenizer")
    kind = tokenizer.get("kind") if isinstance(tokenizer, dict) else meta.get("kind")
    for f in FAMILIES:
        if f.kind == kind:
            return f
    raise OptionError(f"{where}: unknown model kind {kind!r} (known: {', '.join(f.kind for f in FAMILIES)})")


def build_network(meta: dict, where: str = "model"):
    """The (untrained) network a model.json describes, built by its family."""
    return of_meta(meta, where).load().build_network(meta)
