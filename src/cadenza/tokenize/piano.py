"""The piano tokenizer: MidiTok's REMI events, with the hands as its programs, behind two
condition tokens (composer and key).

A piece is `BOS COMPOSER KEY` and then REMI's own tokens: `Bar`, `TimeSig_N/D` where the
meter is set or changes, `Position_k` (k steps of 1/`steps_per_beat` of the meter's beat into
the bar), and per note `Program_h Pitch_p Duration_d`, where h is the hand (0 right, 1 left:
REMI's program tokens carry the staff, since a piano part has one program). Velocities are
left out: a score's dynamics are few and the performer (cadenza.perform) plays them; the
notes decode at velocity 80.

The condition tokens follow REMI's vocabulary: one per composer the model was trained on, and
`none` (a piece of no named composer, or one the model is asked to write without one), then
the 24 keys (tonic pitch class, major then minor). Transposing a piece moves its pitch tokens
and its key token together (`transpose`).

A model may read a piece in steps of several tokens (`closes` ends one): a note's `Position_k` (where it
moves on), `Program_h`, `Pitch_p` and `Duration_d` in one step, `Bar TimeSig` in another, each
condition token alone (about 1.04 steps a note on ASAP's scores, against 3.6 tokens).

Which notes a hand plays (`hands`): a score with two or more parts gives the higher half of
its parts (by mean pitch) to the right hand and the rest to the left, as a piano score's two
staves are usually its two parts; a score of one part is split at middle C.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from cadenza.errors import TokenizeError
from cadenza.score import PIANO_HANDS, Key, Meter, Note, Part, Score, Tempo, without_grace_notes
from cadenza.tokenize.base import config_of

HANDS = PIANO_HANDS
SPLIT_PITCH = 60  # one part split into hands: middle C and above to the right hand
TICKS = 480  # per quarter note, for MidiTok's input
NONE = "none"  # the composer token of no named composer
OPENING_BEATS = 64.0  # the notes that decide a piece's key token: its first 64 quarter notes
STEP = 4  # the most tokens a step holds: Position Program Pitch Duration
# the meters REMI may write, by denominator: its default leaves out 2/2 and most of /8 and /16
METERS = {2: [1, 2, 3, 4], 4: [1, 2, 3, 4, 5, 6, 7], 8: [2, 3, 4, 5, 6, 7, 9, 12], 16: [3, 5, 6, 7, 9, 12]}


@dataclass
class PianoConfig:
    composers: tuple[str, ...] = ()  # the composers a model knows (its training data's labels)
    steps_per_beat: int = 12  # onset and duration grid: 12 per beat holds 16ths and triplets
    pitch_low: int = 21  # the piano's keys, A0..C8
    pitch_high: int = 108

    def __post_init__(self):
        self.composers = tuple(self.composers)
        if NONE in self.composers:
            raise ValueError(f"a composer may not be called {NONE!r}")
        if self.steps_per_beat < 1 or not (0 <= self.pitch_low < self.pitch_high <= 127):
            raise ValueError("piano tokenizer: steps_per_beat must be positive, and pitches within 0..127")


@dataclass
class Window:
    """One piece's tokens, with where its bars start (for windows that begin on a bar line)."""

    tokens: np.ndarray
    bar_starts: np.ndarray
    low: int
    high: int


class PianoTokenizer:
    kind: ClassVar[str] = "piano"

    def __init__(self, config: PianoConfig):
        import miditok

        self.config = config
        self.remi = miditok.REMI(
            miditok.TokenizerConfig(
                # MidiTok's range is inclusive at both ends: the vocabulary (the shipped model's)
                # holds Pitch_109, one above the piano, which no piece has and the pianist never writes
                pitch_range=(config.pitch_low, config.pitch_high + 1),
                beat_res={(0, 4): config.steps_per_beat, (4, 12): 4},
                use_velocities=False,
                use_programs=True,
                one_token_stream_for_programs=True,
                programs=[0, 1],
                use_time_signatures=True,
                time_signature_range=METERS,
                use_tempos=False,
                use_chords=False,
                use_rests=False,
                use_sustain_pedals=False,
            )
        )
        vocab = self.remi.vocab
        self.n_remi = len(vocab)
        self.pad, self.bos, self.eos = vocab["PAD_None"], vocab["BOS_None"], vocab["EOS_None"]
        self.bar = vocab["Bar_None"]
        self.composer_names = (NONE, *config.composers)
        self.composer0 = self.n_remi
        self.key0 = self.composer0 + len(self.composer_names)
        self.vocab_size = self.key0 + 24
        names = {i: t for t, i in vocab.items()}
        self.names = [names[i] for i in range(self.n_remi)]

    # -- the vocabulary ------------------------------------------------------------------------
    def _numbered(self, kind: str) -> np.ndarray:
        """Each token's number if it is REMI's `kind` (Pitch_60: 60), else -1."""
        out = np.full(self.vocab_size, -1, dtype=np.int64)
        for i, name in enumerate(self.names):
            if name.startswith(kind + "_"):
                out[i] = int(name.split("_")[1])
        return out

    @cached_property
    def pitch_of(self) -> np.ndarray:
        """Each token's pitch (REMI's Pitch tokens), else -1."""
        return self._numbered("Pitch")

    @cached_property
    def hand_of(self) -> np.ndarray:
        """Each token's hand (REMI's Program tokens: 0 right, 1 left), else -1."""
        return self._numbered("Program")

    @cached_property
    def position_of(self) -> np.ndarray:
        """Each token's step in its bar (REMI's Position tokens), else -1."""
        return self._numbered("Position")

    def keys_struck(self, ids) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(hand, position, pitch) of each key a stream of tokens strikes, in turn: a Pitch token
        is struck by the hand of the last Program token before it and at the last Position's
        step (the right hand, step 0, before any)."""
        ids = np.asarray(ids, dtype=np.int64)
        pitch = self.pitch_of[ids]
        struck = pitch >= 0
        return _carried(self.hand_of[ids])[struck], _carried(self.position_of[ids])[struck], pitch[struck]

    @cached_property
    def is_meter(self) -> np.ndarray:
        return np.array([n.startswith("TimeSig_") for n in self.names] + [False] * (self.vocab_size - self.n_remi))

    @cached_property
    def closes(self) -> np.ndarray:
        """Whether each token ends a step (cadenza.nn.numpy_decoder.steps_of): all but Bar, Position, Program and Pitch,
        which a step's later tokens follow."""
        opens = ("Bar_", "Position_", "Program_", "Pitch_")
        return np.array([not n.startswith(opens) for n in self.names] + [True] * (self.vocab_size - self.n_remi))

    def meter_token(self, meter: Meter) -> int:
        name = f"TimeSig_{meter.numerator}/{meter.denominator}"
        if name not in self.remi.vocab:
            raise TokenizeError(f"meter {meter} is not one the piano tokenizer writes")
        return self.remi.vocab[name]

    def composer_token(self, composer: str | None) -> int:
        name = composer or NONE
        for i, known in enumerate(self.composer_names):
            if known.lower() == name.lower():
                return self.composer0 + i
        raise KeyError(name)

    def key_token(self, key: Key) -> int:
        return self.key0 + (12 if key.mode == "minor" else 0) + key.tonic % 12

    def token_key(self, token: int) -> Key:
        k = token - self.key0
        return Key(0.0, k % 12, "minor" if k >= 12 else "major")

    def prefix(self, composer: str | None, key: Key) -> list[int]:
        return [self.bos, self.composer_token(composer), self.key_token(key)]

    # -- encode and decode ------------------------------------------------------------------------
    def encode(self, score: Score, composer: str | None = None) -> list[int]:
        """The piece's tokens, `BOS COMPOSER KEY` first. Its key: the score's first key signature,
        major or minor as its opening's notes suggest (theory.signature_key), else the key those
        notes suggest."""
        from cadenza.theory import estimate_key, signature_key

        score = without_grace_notes(score)  # ornaments aside

        notes = score.notes()
        if not notes:
            raise TokenizeError("no notes")
        opening = [n for n in notes if n.start_beats < OPENING_BEATS] or notes
        key = signature_key(score.keys[0], opening) if score.keys else estimate_key(opening)
        try:
            body = self.remi.encode(self.to_symusic(score)).ids
        except Exception as e:  # noqa: BLE001 - MidiTok's errors have no common type
            raise TokenizeError(f"MidiTok could not tokenize it ({type(e).__name__}: {e})") from None
        if not body:
            raise TokenizeError("no notes in the piano's range")
        return self.prefix(composer, key) + list(body)

    def body(self, ids) -> list[int]:
        """REMI's tokens of `ids`: the condition tokens, BOS, EOS and PAD left out."""
        specials = {self.pad, self.bos, self.eos}
        return [int(t) for t in ids if int(t) < self.n_remi and int(t) not in specials]

    def decode(self, ids, tempo_bpm: float = 120.0) -> Score:
        """The notes of `ids` as a two-part score (right hand, left hand), in quarter notes."""
        midi = self.remi.decode(self.body(ids))
        tpq = midi.ticks_per_quarter
        hands: list[list[Note]] = [[], []]
        for track in midi.tracks:
            hand = hands[1 if track.program == 1 else 0]
            hand.extend(Note(n.pitch, n.time / tpq, max(n.duration, 1) / tpq, 80) for n in track.notes)
        meters = [Meter(t.time / tpq, t.numerator, t.denominator) for t in midi.time_signatures] or [Meter(0.0, 4, 4)]
        key = next((self.token_key(int(t)) for t in ids if self.key0 <= int(t) < self.vocab_size), None)
        return Score(
            parts=[
                Part(name, 0, notes=sorted(h, key=lambda n: (n.start_beats, -n.pitch))) for name, h in zip(HANDS, hands)
            ],
            tempos=[Tempo(0.0, tempo_bpm)],
            meters=_distinct(meters),
            keys=[key] if key is not None else [],
        )

    def to_symusic(self, score: Score) -> Any:
        import symusic

        out: Any = symusic.Score(TICKS)
        for m in score.meters:
            out.time_signatures.append(symusic.TimeSignature(round(m.start_beats * TICKS), m.numerator, m.denominator))
        for program, notes in enumerate(hands(score)):
            track: Any = symusic.Track(name=HANDS[program], program=program)
            for n in notes:
                if self.config.pitch_low <= n.pitch <= self.config.pitch_high:
                    start = round(n.start_beats * TICKS)
                    track.notes.append(
                        symusic.Note(start, max(1, round(n.end_beats * TICKS) - start), n.pitch, n.velocity)
                    )
            out.tracks.append(track)
        return out

    def windowed(self, ids: list[int]) -> Window:
        """A piece's tokens as an array, with its bar starts and pitch range. (REMI writes the
        meter after every Bar token, so a window that starts at a bar knows its meter.)"""
        arr = np.asarray(ids, dtype=np.int64)
        bars = np.nonzero(arr == self.bar)[0]
        pitches = self.pitch_of[arr]
        pitches = pitches[pitches >= 0]
        return Window(arr, bars, int(pitches.min()), int(pitches.max()))

    def transpose(self, ids: np.ndarray, semitones: int) -> np.ndarray:
        """`ids` moved by `semitones`: pitch tokens and the key token (pitches must stay in range)."""
        if semitones == 0:
            return ids
        ids = ids.copy()
        pitched = self.pitch_of[ids] >= 0
        ids[pitched] += semitones  # REMI's Pitch tokens are consecutive
        is_key = ids >= self.key0
        k = ids[is_key] - self.key0
        ids[is_key] = self.key0 + (k // 12) * 12 + (k % 12 + semitones) % 12
        return ids

    # -- saving -----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"kind": self.kind, **asdict(self.config)}

    @classmethod
    def from_dict(cls, d: dict) -> PianoTokenizer:
        return cls(PianoConfig(**config_of(d, cls.kind)))


def hands(score: Score) -> list[list[Note]]:
    """[right hand's notes, left hand's notes] (see the module docstring)."""
    parts = [p for p in score.parts if not p.is_drum and p.notes]
    if len(parts) == 1:
        notes = parts[0].notes
        return [[n for n in notes if n.pitch >= SPLIT_PITCH], [n for n in notes if n.pitch < SPLIT_PITCH]]
    by_height = sorted(parts, key=lambda p: -sum(n.pitch for n in p.notes) / len(p.notes))
    upper = (len(by_height) + 1) // 2
    return [[n for p in by_height[:upper] for n in p.notes], [n for p in by_height[upper:] for n in p.notes]]


def _distinct(meters: list[Meter]) -> list[Meter]:
    out: list[Meter] = []
    for m in sorted(meters, key=lambda m: m.start_beats):
        if out and m.start_beats == out[-1].start_beats:
            out[-1] = m
        elif not out or str(out[-1]) != str(m):
            out.append(m)
    return out


def _carried(values: np.ndarray) -> np.ndarray:
    """Each place's last value at or before it that is not -1, else 0."""
    last = np.maximum.accumulate(np.where(values >= 0, np.arange(len(values)), -1))
    return np.where(last >= 0, values[np.maximum(last, 0)], 0)
