"""The voices tokenizer: a fixed number of voices (e.g. SATB) on a time grid.

A piece becomes one integer sequence:

    BOS KEY METER  BAR_k  c(step0,v0) c(step0,v1) .. c(step0,vN-1)  c(step1,v0) ..  BAR_k' ..  EOS

- KEY is one of 24 tokens (tonic pitch class x major/minor); METER one of the supported meters.
- Each bar opens with BAR_k, where k is the number of bars still to come after this one,
  capped at `max_bars_left`: the model always knows how far the end is, so it can cadence there.
- A cell c is the state of one voice at one grid step: a pitch onset (the note starts here),
  HOLD (the voice's note goes on) or REST. Voices go from the highest (soprano) down.

The sequence is lossless for what it keeps: notes on the grid, one note at a time per voice.
Decoding accepts any token sequence (a sampled one may be malformed) and never fails.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import ClassVar

from cadenza.errors import TokenizeError
from cadenza.score import Key, Meter, Note, Part, Score, Tempo, without_grace_notes
from cadenza.theory import beats_to_step, estimate_key, top_line, voice_names
from cadenza.tokenize.base import config_of

PAD, BOS, EOS, REST, HOLD = 0, 1, 2, 3, 4
PITCH0 = 5  # token of MIDI pitch p is PITCH0 + p
N_PITCHES = 128

DEFAULT_METERS = ("4/4", "3/4", "2/4", "2/2", "3/2", "6/8", "9/8", "12/8", "3/8", "6/4", "5/4")


@dataclass(frozen=True)
class VoicesConfig:
    n_voices: int = 4
    steps_per_beat: int = 4  # grid steps per quarter note: 4 = sixteenth notes
    max_bars_left: int = 8
    meters: tuple[str, ...] = DEFAULT_METERS
    programs: tuple[int, ...] = ()  # General MIDI program per voice for decoding; () = all 0
    velocity: int = 80

    def __post_init__(self):
        if not 1 <= self.n_voices <= 8:
            raise ValueError(f"n_voices must be 1..8, not {self.n_voices}")
        if self.steps_per_beat < 1:
            raise ValueError("steps_per_beat must be at least 1")
        if self.programs and len(self.programs) != self.n_voices:
            raise ValueError("programs must name one program per voice")
        object.__setattr__(self, "meters", tuple(self.meters))
        object.__setattr__(self, "programs", tuple(self.programs))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> VoicesConfig:
        return cls(**d)


def passing_meters(meters: list[Meter]) -> bool:
    """Whether each change away from the first meter is followed by a change back to it (a
    miscounted bar, as cadenza.io.scores reads one: 2/4 for a bar of two beats in 3/4)."""
    names = [str(m) for m in meters]
    return all(name == names[0] or (i + 1 < len(names) and names[i + 1] == names[0]) for i, name in enumerate(names))


@dataclass
class VoicesTokenizer:
    config: VoicesConfig = field(default_factory=VoicesConfig)
    kind: ClassVar[str] = "voices"

    def __post_init__(self):
        c = self.config
        self.bar0 = PITCH0 + N_PITCHES
        self.key0 = self.bar0 + c.max_bars_left + 1
        self.meter0 = self.key0 + 24
        self.vocab_size = self.meter0 + len(c.meters)

    # -- token helpers ------------------------------------------------------------------------
    def key_token(self, key: Key) -> int:
        return self.key0 + key.tonic + (12 if key.mode == "minor" else 0)

    def token_key(self, token: int) -> Key:
        i = token - self.key0
        return Key(0.0, i % 12, "minor" if i >= 12 else "major")

    def meter_token(self, meter: Meter) -> int:
        name = str(meter)
        if name not in self.config.meters:
            raise TokenizeError(f"meter {name} is not supported (supported: {', '.join(self.config.meters)})")
        return self.meter0 + self.config.meters.index(name)

    def token_meter(self, token: int) -> Meter:
        num, den = self.config.meters[token - self.meter0].split("/")
        return Meter(0.0, int(num), int(den))

    def bar_token(self, bars_left: int) -> int:
        return self.bar0 + min(bars_left, self.config.max_bars_left)

    def is_bar(self, token: int) -> bool:
        return self.bar0 <= token < self.key0

    def steps_per_bar(self, meter: Meter) -> int:
        steps = meter.bar_beats * self.config.steps_per_beat
        if abs(steps - round(steps)) > 1e-6:
            raise TokenizeError(f"meter {meter} does not fit a grid of {self.config.steps_per_beat} steps per beat")
        return int(round(steps))

    def prefix(self, key: Key, meter: Meter) -> list[int]:
        return [BOS, self.key_token(key), self.meter_token(meter)]

    # -- Score -> grid -> tokens --------------------------------------------------------------
    def voices_of(self, score: Score) -> list[list[Note]]:
        """Assign the score's notes to n_voices monophonic lines, highest first.

        A score with exactly n_voices pitched parts keeps its parts (a chord in a part keeps its
        top note). Otherwise all notes are pooled and each note goes to the free voice whose last
        pitch is nearest; a note that finds no free voice is dropped (more polyphony than voices).
        """
        n = self.config.n_voices
        parts = [p for p in score.parts if not p.is_drum and p.notes]
        if len(parts) == n:
            lines = [top_line(p.notes) for p in parts]
        else:
            lines = [[] for _ in range(n)]
            busy_until = [-math.inf] * n
            last_pitch: list[int | None] = [None] * n
            unique = {(x.start_beats, x.pitch): x for p in parts for x in p.notes}  # doublings once
            pooled = sorted(unique.values(), key=lambda x: (x.start_beats, -x.pitch))
            for note in pooled:
                free = [v for v in range(n) if busy_until[v] <= note.start_beats + 1e-6]
                if not free:
                    continue
                v = min(free, key=lambda v: (abs((last_pitch[v] or note.pitch) - note.pitch), v))
                lines[v].append(note)
                busy_until[v], last_pitch[v] = note.end_beats, note.pitch
        lines.sort(key=lambda line: -sum(x.pitch for x in line) / len(line) if line else 0.0)
        return lines

    def cells(self, score: Score, lines: list[list[Note]] | None = None) -> list[list[int]]:
        """Cells [step][voice] as tokens (pitch onset, HOLD, REST), padded to whole bars: the
        voices are `voices_of(score)`, or the monophonic `lines` given, one per voice. A
        piece whose meter changes only for a while (`passing_meters`) is read in its first meter,
        its bars on that meter's grid from the start, as it was before cadenza.io.scores read a
        miscounted bar in a meter of its own (so a model trains on the pieces it trained on)."""
        score = without_grace_notes(score)  # ornaments aside
        meters = list(dict.fromkeys(str(m) for m in score.meters))
        if len(meters) > 1 and not passing_meters(score.meters):
            raise TokenizeError(
                f"meter changes ({' then '.join(meters[:3])}) are not supported: "
                "the voices tokenizer needs one meter per piece"
            )
        spb = self.config.steps_per_beat
        lines = self.voices_of(score) if lines is None else lines
        if not any(lines):
            raise TokenizeError("no notes")
        n_steps = max(beats_to_step(x.end_beats, spb) for line in lines for x in line)
        bar = self.steps_per_bar(score.meter)
        n_steps = max(bar, math.ceil(n_steps / bar) * bar)
        cells = [[REST] * self.config.n_voices for _ in range(n_steps)]
        for v, line in enumerate(lines):
            for note in line:
                start = beats_to_step(note.start_beats, spb)
                end = max(start + 1, beats_to_step(note.end_beats, spb))
                if start < 0 or start >= n_steps:
                    continue
                cells[start][v] = PITCH0 + note.pitch
                for s in range(start + 1, min(end, n_steps)):
                    cells[s][v] = HOLD
        return cells

    def encode(self, score: Score, key: Key | None = None) -> list[int]:
        """Score -> token ids, with BOS, key, meter, bars and EOS."""
        key = key or score.key or estimate_key(score.notes())
        cells = self.cells(score)
        bar = self.steps_per_bar(score.meter)
        tokens = self.prefix(key, score.meter)
        n_bars = len(cells) // bar
        for b in range(n_bars):
            tokens.append(self.bar_token(n_bars - 1 - b))
            for step in cells[b * bar : (b + 1) * bar]:
                tokens.extend(step)
        tokens.append(EOS)
        return tokens

    # -- tokens -> Score ----------------------------------------------------------------------
    def decode(self, tokens: list[int], tempo_bpm: float = 120.0) -> Score:
        """Token ids -> Score. Unknown or misplaced tokens are skipped; HOLD after REST is a rest."""
        c = self.config
        key, meter = Key(0.0, 0, "major"), Meter(0.0, 4, 4)
        cells: list[int] = []
        for t in tokens:
            if t == EOS:
                break
            if self.key0 <= t < self.meter0:
                key = self.token_key(t)
            elif self.meter0 <= t < self.vocab_size:
                meter = self.token_meter(t)
            elif t in (REST, HOLD) or PITCH0 <= t < PITCH0 + N_PITCHES:
                cells.append(t)
        names = voice_names(c.n_voices)
        programs = c.programs or (0,) * c.n_voices
        parts = [Part(name=names[v], program=programs[v]) for v in range(c.n_voices)]
        step_beats = 1.0 / c.steps_per_beat
        n_steps = len(cells) // c.n_voices
        for v in range(c.n_voices):
            pitch, start = None, 0
            for s in range(n_steps + 1):
                t = cells[s * c.n_voices + v] if s < n_steps else REST
                if t == HOLD and pitch is not None:
                    continue
                if pitch is not None:
                    parts[v].notes.append(Note(pitch, start * step_beats, (s - start) * step_beats, c.velocity))
                    pitch = None
                if t >= PITCH0:
                    pitch, start = t - PITCH0, s
        return Score(parts=parts, tempos=[Tempo(0.0, tempo_bpm)], meters=[meter], keys=[key])

    # -- persistence ---------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"kind": self.kind, **self.config.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> VoicesTokenizer:
        return cls(VoicesConfig.from_dict(config_of(d, cls.kind)))
