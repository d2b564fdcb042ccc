"""The piano-roll tokenizer: a piano roll as a token sequence, for exact frame-level likelihood.

A piece is a list of time steps; a step is the set of MIDI pitches sounding. Each step is
written as its pitches in ascending order, then STEP_END:

    BOS  p p p END  p p END  END  p p p p END ...      (an empty step is a lone END)

Because the order inside a step is canonical (ascending), each pitch set has exactly one
spelling, so the probability a causal model gives a step's tokens *is* the probability of that
step's pitch set, provided that after a pitch the model may only choose a higher pitch or END.
`allowed_next` gives that rule as a mask; with it, the model's distribution over the 2^n
possible sets of a step sums to one (tests/test_families_benchmark.py checks this by enumeration).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

from cadenza.errors import TokenizeError
from cadenza.tokenize.base import config_of

PAD, BOS, END = 0, 1, 2
PITCH0 = 3  # token of the lowest pitch


@dataclass(frozen=True)
class PianoRollConfig:
    low: int = 21  # A0, the piano's lowest key
    high: int = 108  # C8, its highest

    def __post_init__(self):
        if not 0 <= self.low <= self.high <= 127:
            raise ValueError(f"pitch range {self.low}..{self.high} is not within 0..127")

    def to_dict(self) -> dict:
        return asdict(self)


class PianoRollTokenizer:
    kind: ClassVar[str] = "pianoroll"

    def __init__(self, config: PianoRollConfig = PianoRollConfig()):
        self.config = config
        self.n_pitches = config.high - config.low + 1
        self.vocab_size = PITCH0 + self.n_pitches

    def pitch_token(self, pitch: int) -> int:
        if not self.config.low <= pitch <= self.config.high:
            raise TokenizeError(f"pitch {pitch} is outside {self.config.low}..{self.config.high}")
        return PITCH0 + pitch - self.config.low

    def token_pitch(self, token: int) -> int:
        return token - PITCH0 + self.config.low

    def encode(self, steps: list[list[int]]) -> list[int]:
        """Steps (each a collection of pitches) -> BOS, then each step's sorted pitches and END."""
        tokens = [BOS]
        for step in steps:
            tokens.extend(self.pitch_token(p) for p in sorted(set(step)))
            tokens.append(END)
        return tokens

    def decode(self, tokens: list[int]) -> list[list[int]]:
        """Tokens -> steps. Pitches after the last END form no step; BOS and PAD are skipped."""
        steps: list[list[int]] = []
        current: list[int] = []
        for t in tokens:
            if t == END:
                steps.append(current)
                current = []
            elif t >= PITCH0:
                current.append(self.token_pitch(t))
        return steps

    def to_dict(self) -> dict:
        return {"kind": self.kind, **self.config.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> PianoRollTokenizer:
        return cls(PianoRollConfig(**config_of(d, cls.kind)))

    def transpose(self, steps: list[list[int]], semitones: int) -> list[list[int]]:
        return [[p + semitones for p in step] for step in steps]

    def shift_range(self, steps: list[list[int]]) -> tuple[int, int]:
        """The transpositions (lowest, highest) that keep every pitch of `steps` in range."""
        pitches = [p for step in steps for p in step]
        if not pitches:
            return 0, 0
        return self.config.low - min(pitches), self.config.high - max(pitches)


def allowed_next(prev, vocab_size: int):
    """Bool mask (..., vocab) of the tokens that may follow each token of `prev` (a torch tensor
    of any shape). After BOS or END (a step begins): any pitch, or END (an empty step). After a
    pitch: a higher pitch or END. PAD and BOS are never predicted."""
    import torch

    v = torch.arange(vocab_size, device=prev.device)
    prev = prev.unsqueeze(-1)
    return (v == END) | ((v >= PITCH0) & ((prev < PITCH0) | (v > prev)))
