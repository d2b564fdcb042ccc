"""The Tokenizer protocol every tokenizer follows (one file per tokenizer in this package):

- `kind`: the name a model.json records under "tokenizer" (and the families registry reads);
- `encode(music)` -> tokens, `decode(tokens)` -> music, a symmetric pair;
- `to_dict()` -> {"kind": ..., **its config} and `from_dict(d)`: a tokenizer saves and loads
  itself as plain JSON, beside the weights it was trained with.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol


class Tokenizer(Protocol):
    kind: ClassVar[str]
    vocab_size: int

    def encode(self, music: Any) -> Any: ...

    def decode(self, tokens: Any) -> Any: ...

    def to_dict(self) -> dict: ...

    @classmethod
    def from_dict(cls, d: dict) -> Tokenizer: ...


def config_of(d: dict, kind: str) -> dict:
    """A tokenizer dict's config (everything but its kind), refusing a dict of another kind."""
    if d.get("kind") != kind:
        raise ValueError(f"a {d.get('kind')!r} tokenizer's settings, not {kind!r}")
    return {k: v for k, v in d.items() if k != "kind"}
