"""The pianist: two-staff piano music from a piano model (cadenza.families.piano), written event
by event through the NumPy decoder, in a composer's style or none.

    from cadenza import hub
    p = hub.load("piano")
    score = p.generate(bars=32, key="Db major", composer="Chopin", seed=1)

How a piece is written:

- The model reads `BOS COMPOSER KEY`, then writes REMI's events bar by bar. Each bar opens with
  `Bar` and the piece's meter (forced); after that the grammar of REMI is kept by masks (a
  position, then per note hand, pitch and duration; positions move forward inside the bar), so
  every sample decodes. A bar that runs past MAX_BAR_TOKENS is closed.
- The context slides: when the window is full the decoder starts again from the prefix and the
  bars of the last half window.
- A hand that has struck the same one or two keys at onset after onset is moved off them
  (STUCK_FROM): the model, once in such a loop, had stayed in it for bars.
- A hand is kept near where its composer's hands play: each key above the hand's register
  (`Pianist.register`) costs REGISTER_RATE nats a semitone. Neither hand leaves the other
  alone for more than HAND_REST bars.
- A key sounds once at a time (cadenza.score.keys_released): a note struck again while the same
  key still sounds, in either hand, ends the note before, as a pianist lets the key up.
- Phrase ends get their cadence (a plan's, as planned or given): the phrase's last bar opens
  on the cadence's chord in the section's key or the one its cadence key names
  (theory.cadence_progression), the left hand's
  lowest note on its root, every downbeat note one of its notes and the right hand's highest
  the cadence's melody note (the tonic for an authentic cadence), and the last beat before it
  keeps to the chord before (V7 for authentic, imperfect and deceptive cadences, IV for plagal;
  a half cadence's approach is free), no earlier note held into that beat or over the bar line.
  A phrase planned to end without a cadence ("none") ends as the chorales' do (theory.open_end):
  on the tonic chord over its third (I6), after a last beat without the dominant or the leading
  tone. The rest of the bar is the model's.
- The last bar is the final chord (unless `final_chord` is off): an authentic cadence (a plagal
  one where the plan's close is plagal) whose tonic chord stands alone on the downbeat.
- With a plan (cadenza.plan.form), sections follow it. An exact return replays its first
  section's bars (the model reads them, so what follows knows them); a transposed return
  replays them moved to its key (either writes its `ending`'s last bars afresh); a varied
  return (A') replays the first half of each phrase and writes the rest afresh; a return in the
  other mode moves every note onto the new key's scale. A new
  section in another key than the home key is written after a key token of its key (the
  decoder starts again from the prefix with that key and the last bars), and pitches outside
  its scale cost OFF_KEY nats, so the key is heard without forbidding chromatic notes. A
  section that plays the one before it again exactly is a Score.repeat (`_repeats`), written
  between repeat signs where its two passes came out alike.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cadenza.compose.composer import (
    LearnedDefaults,
    bar_line_after,
    check_bars,
    check_tempo,
    continued_credits,
    drawn_key,
    with_plan_sections,
)
from cadenza.compose.settings import OFF_KEY
from cadenza.errors import OptionError
from cadenza.perform.dynamics import marked_on_from
from cadenza.score import (
    MODES,
    PIANO_HANDS,
    PIANOS,
    Key,
    Meter,
    Repeat,
    Score,
    keys_released,
    parse_key,
    parse_meter,
    without_a_last_chord_sounding,
)
from cadenza.theory import Chord, cadence_progression, estimate_key, open_end, scale, thirds, tonic_triad
from cadenza.tokenize.piano import PianoTokenizer, hands

if TYPE_CHECKING:
    from cadenza.nn.numpy_decoder import Decoder
    from cadenza.nn.transformer import Transformer
    from cadenza.plan.form import Plan

MAX_BAR_TOKENS = 400  # a bar's events beyond this are cut off: the model lost its way
# Onsets and lengths the pianist writes: multiples of a sixteenth or of a triplet eighth (3 or 4
# of the tokenizer's 12 steps a beat). ASAP's scores write out ornaments (trills, turns, grace
# notes) on finer steps: 12% of their onsets and 20% of their lengths fall off this grid.
# Sampled, such steps came back as runs of triplet 32nds that no one would write or read.
WRITTEN_STEPS = (3, 4)
GUIDANCE = 1.5  # classifier-free guidance toward the composer asked for (0: none); benchmarks/piano_quality.py:
# 20 generated pieces per composer were recognized as theirs 0.29 of the time unguided, 0.43 at 1.5, 0.41 at 3
# (docs/BENCHMARKS.md; 0.44 at 1.5 with the pianist as shipped)
FINAL_SPAN = 16  # semitones the left hand's last chord may span above its bass (a major tenth)
FINAL_NOTES = 6  # keys the last chord strikes at most; one of them its third (README: "the I with its third")
FINGERS = 5  # keys one hand strikes at one onset, at most
HAND_SPAN = 16  # semitones one hand's keys struck together may span (a major tenth, a large hand's reach)
HAND_REST = 3  # bars one hand may leave to the other alone, an introduction's or a passage's
# A hand stuck on one or two keys: after STUCK_FROM onsets at which a hand struck nothing but the
# same one or two keys, each further onset on them costs STUCK_RATE nats more than the one before.
# Real pieces do it (a repeated note, an octave bass, a tremolo), the model had far more often,
# for bars on end (docs/BENCHMARKS.md, "A hand stuck on one or two keys").
STUCK_FROM = 12
# A hand far above where its composer's hands play: each key above the hand's register (model.json's
# data_stats "registers": the composer's training pieces' 90th percentile of the right hand's keys,
# 99th of the left's; all pieces' for none) costs REGISTER_RATE nats for each semitone past it.
# The model trained to 0.772 and sampled from its whole distribution drifted up a hand's register
# and stayed there (its right hand's 99th percentile C#7 against G#6 in real pieces; 3% of its
# notes at C7 or above against 0.2%): docs/BENCHMARKS.md, "Trained 30 minutes more". CEILING: the
# register of a model without the record (all ASAP training pieces': C#6 and F#5). A composer
# with fewer than REGISTER_PIECES training pieces has all pieces' register (Scriabin's one piece
# would have kept his right hand under D6).
CEILING = (85, 78)
REGISTER_PIECES = 5
REGISTER_RATE = 0.25
STUCK_RATE = 0.5
STUCK_MEMORY = 64  # strokes of each hand remembered


@dataclass
class Pianist(LearnedDefaults):
    directory: Path
    meta: dict
    model: Transformer
    tokenizer: PianoTokenizer
    name: str = ""
    idle_rows: list = field(default_factory=list, repr=False, compare=False)  # cadenza.nn.row_process.leased_rows

    # -- what the model knows ---------------------------------------------------------------------
    @functools.cached_property
    def weights(self) -> Decoder:
        """The model's weights as the NumPy decoder reads them, made once (50 ms: a piece of a
        minute takes about a second)."""
        from cadenza.nn.numpy_decoder import Decoder

        return Decoder(self.model)

    @property
    def composers(self) -> tuple[str, ...]:
        return self.tokenizer.config.composers

    def composer_name(self, composer: str | None) -> str | None:
        """The composer as the model spells it; None for none; one line naming those it knows."""
        if composer is None or composer.strip().lower() in ("", "none"):
            return None
        for c in self.composers:
            if c.lower() == composer.strip().lower():
                return c
        known = ", ".join(self.composers) or "none named"
        raise OptionError(f"--composer {composer}: model {self.name} does not know it (it knows: {known}, or none)")

    def composer_in(self, credit: str | None) -> str | None:
        """The composer of this model's that a piece's credit names first (a word of it, any case:
        "Frédéric Chopin"; for a continuation, "Frédéric Chopin / continued by Cadenza (piano model,
        after Liszt)", the prompt's own composer, Chopin), else None. A name is the family's: C. P. E.
        Bach is Bach."""
        words = [(m.start(), m.group().lower()) for m in re.finditer(r"[^\W\d_]+", credit or "")]
        named = [(at, c) for c in self.composers for at, word in words if word == c.lower()]
        return min(named)[1] if named else None

    def default_key(self, seed: int, composer: str | None = None, modes: tuple[str, ...] = MODES) -> Key:
        """A key in one of `modes` drawn (by the seed) from the keys of the composer's training
        pieces (of all pieces without one)."""
        stats = self.meta.get("data_stats", {})
        seen = stats.get("composer_keys", {}).get(composer or "", {})
        if not any(parse_key(k).mode in modes for k in seen):  # none of the composer's in these modes: all pieces'
            seen = stats.get("keys", {})
        return drawn_key(seen, seed, modes)

    def guided(self, guidance: float | None) -> float:
        """How strongly the composer is followed (classifier-free guidance, see the module
        docstring): as given, else the model's own ("sampling" in model.json), else GUIDANCE."""
        g = self.meta.get("sampling", {}).get("guidance", GUIDANCE) if guidance is None else guidance
        if not 0 <= g <= 10:
            raise OptionError(f"--guidance must be between 0 and 10, not {g}")
        return float(g)

    def picardy(self, composer: str | None) -> bool:
        """Whether a piece in a minor key may close on the major tonic (a Picardy third): where
        the composer's training pieces in minor keys (all pieces', for none or a composer with
        none counted) end on it at least as often as on the minor tonic (model.json's
        "composer_minor_ends"; Bach 7 to 4, Beethoven 1 to 7, Chopin 1 to 3, all 12 to 19). A
        newcomer's A minor pieces after Chopin had closed on A major, two in four. A model
        without the count, or whose minor pieces it could read none of, keeps the choice open."""
        ends = self.meta.get("data_stats", {}).get("composer_minor_ends")
        if not ends:
            return True
        counts = ends.get(composer or "") or {
            kind: sum(c.get(kind, 0) for c in ends.values()) for kind in ("major", "minor")
        }
        return counts.get("major", 0) > 0 and counts.get("major", 0) >= counts.get("minor", 0)

    def register(self, composer: str | None) -> tuple[int, int]:
        """The highest keys (right hand, left hand) that cost nothing (REGISTER_RATE): where the
        composer's hands play (model.json's "registers"), all pieces' for none or a composer of
        fewer than REGISTER_PIECES training pieces, else CEILING."""
        stats = self.meta.get("data_stats", {})
        tops = stats.get("registers", {})
        own = composer is not None and stats.get("composer_pieces", {}).get(composer, 0) >= REGISTER_PIECES
        right, left = (tops.get(composer) if own else None) or tops.get("") or CEILING
        return int(right), int(left)

    def check_keys(self, keys, option: str = "key") -> None:
        """One line where a key is a church mode: the model's key tokens are major and minor,
        and nothing keeps a mode's notes (a newcomer's `--key "D dorian"` came back in D minor
        with B flat, A flat, F sharp and C sharp)."""
        for k in keys:
            if k is not None and k.modal:
                raise OptionError(f"{option} {k}: the piano model writes in major and minor keys only, not in modes")

    # -- writing ----------------------------------------------------------------------------------
    def generate(
        self,
        bars: int = 16,
        key: str | Key | None = None,
        meter: str | Meter | None = None,
        tempo_bpm: float = 120.0,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        seed: int = 0,
        composer: str | None = None,
        plan: Plan | None = None,
        final_chord: bool = True,
        on_bar: Callable[[int, int], None] | None = None,
        guidance: float | None = None,
    ) -> Score:
        """A new piece of `bars` bars (a plan's, when given) by `composer` (or none)."""
        check_tempo(tempo_bpm)
        composer = self.composer_name(composer)
        key = parse_key(key) if isinstance(key, str) else key
        # the key given and the plan's, before a plan's key stands for the given one (a drawn plan
        # keeps its home key without the mode)
        self.check_keys([key, *(plan.section_keys() if plan is not None else [])])
        if plan is not None:
            bars = plan.bars
            key = plan.key or key
            meter = plan.meter or meter
        check_bars(bars)
        key = key or self.default_key(seed, composer)
        meter = parse_meter(meter) if isinstance(meter, str) else meter or self.default_meter()
        sections = _sections(plan, bars, key, final_chord)
        with _Writer(
            self, composer, key, meter, self.sampling(temperature, top_p, top_k, seed), self.guided(guidance)
        ) as w:
            w.start()
            for s in sections:
                w.section(s, final_chord and s is sections[-1], on_bar, bars)
        score = keys_released(self.tokenizer.decode(w.tokens, tempo_bpm))  # a key struck again was let up
        score.repeats = _repeats(sections, meter.bar_beats, final_chord)
        score.keys = [key]
        if plan is not None:
            score.keys = replace(plan, key=plan.key or key).keys_in_beats(meter.bar_beats)
            score = with_plan_sections(score, plan, key, meter.bar_beats)  # its dynamics over the model's
        who = f"{composer} · " if composer else ""
        score.title = f"{self.name} · {who}{key} · seed {seed}"
        score.composer = f"Cadenza ({self.name} model{', after ' + composer if composer else ''})"
        return score

    def continue_score(
        self,
        prompt: Score,
        bars: int = 8,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        seed: int = 0,
        composer: str | None = None,
        final_chord: bool = True,
        guidance: float | None = None,
        source: str | None = None,
    ) -> Score:
        """The prompt unchanged, then `bars` new bars from the first bar line after it: the right
        hand's new notes in the prompt's highest part, the left hand's in its lowest. A prompt of
        one piano part (a recording) comes back on two staves, its notes split into the hands
        as the tokenizer splits them (tokenize.piano.hands), the pedal with the left hand; one of
        two piano parts has them named as the hands, so the notation writes them as one piano's two
        staves."""
        check_bars(bars)
        composer = self.composer_name(composer)
        tok = self.tokenizer
        key = prompt.last_key or estimate_key(prompt.notes())
        self.check_keys([key], "the prompt's key")
        meter = prompt.meters[-1]
        ids = tok.encode(prompt, composer)
        body = ids[3:]
        with _Writer(
            self, composer, key, meter, self.sampling(temperature, top_p, top_k, seed), self.guided(guidance)
        ) as w:
            w.start(body)
            prompt_bars = len(w.bars)
            w.section(_Section(bars, None, key, frozenset()), final_chord, None, bars)
        written = tok.decode(w.tokens, prompt.tempo_bpm)
        cut = prompt_bars * meter.bar_beats  # the prompt's bars, as the tokens have them (all in its last meter)
        join = bar_line_after(prompt)
        parts = [replace(p, notes=list(p.notes)) for p in prompt.parts]
        solo = [p for p in parts if not p.is_drum and p.notes]
        if (
            len(solo) == 1 and solo[0].program in PIANOS
        ):  # one piano track (a recording): two staves, as a pianist reads
            right, left = hands(prompt)
            parts = [p for p in parts if p is not solo[0]] + [
                replace(solo[0], name=name, notes=sorted(notes, key=lambda n: n.start_beats), pedals=list(pedals))
                for name, notes, pedals in ((PIANO_HANDS[0], right, []), (PIANO_HANDS[1], left, solo[0].pedals))
            ]
        pitched = sorted(
            (p for p in parts if not p.is_drum and p.notes), key=lambda p: -sum(n.pitch for n in p.notes) / len(p.notes)
        )
        if len(pitched) == 2 and all(p.program in PIANOS for p in pitched):  # a piano's two staves: named as the hands
            named = {id(p): name for p, name in zip(pitched, PIANO_HANDS)}
            parts = [replace(p, name=named[id(p)]) if id(p) in named else p for p in parts]
            pitched = [next(p for p in parts if p.name == name) for name in PIANO_HANDS]
        for hand, gpart in enumerate(written.parts):
            notes = [replace(n, start_beats=n.start_beats - cut + join) for n in gpart.notes if n.start_beats >= cut]
            if pitched:
                pitched[0 if hand == 0 else -1].notes.extend(notes)
            else:
                parts.append(replace(gpart, notes=notes))
        title, credit = continued_credits(prompt, self.name, seed, source, composer)
        continued = replace(
            prompt,
            parts=parts,
            keys=list(prompt.keys) or [key],
            title=title,
            composer=credit,
        )
        return marked_on_from(keys_released(without_a_last_chord_sounding(continued), since=join), join)


@dataclass
class _Section:
    bars: int
    source: int | None  # the section it returns, by index
    key: Key
    replay: frozenset[int]  # its bars replayed from its source (all for an exact or transposed return)
    other_mode: bool = False
    cadences: dict[int, tuple[Key, str]] = field(default_factory=dict)  # its phrases' last bars: key, cadence
    rhyme: tuple[int, int] = (0, 0)  # its last bars that replay the first section's, and the bar they stop before
    exact: bool = False  # a return of its source as it was (not varied, not in another key)


def _phrase_heads(phrases: list[int]) -> frozenset[int]:
    """A varied return's bars replayed from its first time: the first half of each phrase (of a
    phrase of one bar, none); the rest is written afresh."""
    starts = itertools.accumulate([0, *phrases])
    return frozenset(b for start, bars in zip(starts, phrases) for b in range(start, start + bars // 2))


def _close_kind(planned: str) -> str:
    """The cadence the pianist closes a piece with, ending on the final tonic chord: plagal where
    the plan's close is, else authentic."""
    return "plagal" if planned == "plagal" else "authentic"


def _progression(
    key: Key, kind: str, final: bool = False
) -> tuple[Chord | None, frozenset[int], Chord, frozenset[int]]:
    """(the chord before, the pitch classes the last beat before leaves out, the chord at the
    phrase end (its bass first), the pitch classes its highest note takes) of a phrase end
    planned `kind`: theory.cadence_progression's, and for "none" the chorales' open end
    (theory.open_end): I6 (the tonic's third in the bass, its root and fifth above, the tonic
    or the fifth on top) after a beat without the dominant's root or the leading tone."""
    if kind == "none":
        left_out, (bass, upper) = open_end(key)
        return None, left_out, (bass, upper | {bass}), upper
    before, arrival, top = cadence_progression(key, kind, final)
    return before, frozenset(), arrival, top


def _repeats(sections: list[_Section], bar_beats: float, closes: bool) -> list[Repeat]:
    """The sections that play the one before them again exactly, bar for bar but for their
    last bars (written anew: a second ending), as repeats; the notation writes each between
    repeat signs where the two passes did come out alike (musicxml.passes_alike). With `closes`,
    the piece's last bar is its final chord, never replayed. A newcomer's "A8 A8" had been
    written out twice, where folk tunes and chorales get repeat signs."""
    starts = [0, *itertools.accumulate(s.bars for s in sections)]
    out = []
    for i, s in enumerate(sections):
        j = s.source
        if j != i - 1 or not s.exact or s.bars != sections[j].bars:
            continue
        replayed = set(s.replay) - ({s.bars - 1} if closes and i == len(sections) - 1 else set())
        head = next((b for b in range(s.bars) if b not in replayed), s.bars)  # bars replayed from its first on
        if head and replayed == set(range(head)):
            out.append(Repeat(starts[j] * bar_beats, starts[i] * bar_beats, (s.bars - head) * bar_beats))
    return out


def _sections(plan: Plan | None, bars: int, home: Key, closes: bool = True) -> list[_Section]:
    """The plan's sections as the pianist writes them; without `closes` (no final chord) the
    piece's last phrase has no cadence of its own."""
    if plan is None:
        return [_Section(bars, None, home, frozenset())]
    out = []
    phrase_keys = iter(plan.phrase_keys(home))
    played = plan  # the cadences as the pianist plays them: with a final chord, the close is at home,
    if closes:  # plagal where the plan says so, else authentic (both end on the tonic chord)
        last = plan.sections[-1]
        n = len(last.phrase_bars())
        planned = last.cadences[n - 1] if len(last.cadences) >= n else ""
        closing = [*last.cadences[: n - 1], *[""] * (n - 1 - len(last.cadences)), _close_kind(planned)]
        played = replace(plan, sections=[*plan.sections[:-1], replace(last, cadences=closing)])
    for i, s in enumerate(plan.sections):
        j = plan.source(i)
        key = plan.key_of(i) or home
        relation = plan.relation(i)
        other = plan.returns_in_other_mode(i, home)
        ends = list(itertools.accumulate(s.phrase_bars()))
        replay: frozenset[int] = frozenset()
        if j is not None:  # no further than its source's bars
            whole = relation in ("exact", "transposed") and not other
            heads = range(s.bars) if whole else _phrase_heads(s.phrase_bars())
            ending = range(s.bars - s.ending, s.bars)  # its ending's bars: written anew
            # and a phrase closing with another cadence than its source's: its last bar and approach
            unclosed = not closes and i == len(plan.sections) - 1  # its last phrase as its source's
            cadenced = range(len(ends) - 1 if unclosed else len(ends))
            anew = {b for k in cadenced if played.cadence_anew(i, k) for b in (ends[k] - 2, ends[k] - 1)}
            replay = frozenset(b for b in heads if b < plan.sections[j].bars and b not in ending and b not in anew)
        keys = [next(phrase_keys) or key for _ in s.phrase_bars()]
        cadences = {end - 1: (k, kind) for end, kind, k in zip(ends, s.cadences, keys) if kind}
        rhyme = (s.rhyme, s.bars if plan.closes_as_first(i) else s.bars - 1)  # replayed, up to a cadence of its own
        out.append(_Section(s.bars, j, key, replay, other, cadences, rhyme, relation == "exact" and not other))
    return out


class _Writer:
    """One piece's tokens as they are written, the decoder that reads them, and the masks that
    keep REMI's grammar."""

    def __init__(self, pianist: Pianist, composer: str | None, key: Key, meter: Meter, settings, guidance: float = 0.0):
        self.tok = tok = pianist.tokenizer
        self.composer, self.home, self.meter, self.settings = composer, key, meter, settings
        self.rng = np.random.default_rng(settings.seed)
        self.guidance = guidance if composer is not None else 0.0
        # with guidance, a second row reads the same music without the composer; the two rows are
        # extended together, on two cores where it can (cadenza.nn.row_process), else each step's
        # operations run once for both (two rows cost about 1.3 times one, two decoders twice:
        # docs/BENCHMARKS.md, "Speed"); a model of note steps reads a step a note
        # (cadenza.families.piano), the block counts steps
        self.rows = 2 if self.guidance else 1
        self.pianist = pianist
        self._lease = contextlib.ExitStack()
        self.block = pianist.model.config.block_size
        self.key_now = key
        self.meter_token = tok.meter_token(meter)
        self.positions = meter.numerator * tok.config.steps_per_beat  # REMI counts the meter's own beats
        compound = meter.denominator >= 8 and meter.numerator % 3 == 0 and meter.numerator > 3
        self.beat_steps = tok.config.steps_per_beat * (3 if compound else 1)  # a beat as felt: 6/8's dotted quarter
        names = tok.names + [""] * (tok.vocab_size - tok.n_remi)
        kind = np.array([n.split("_", 1)[0] for n in names])
        self.is_pos, self.is_prog = kind == "Position", kind == "Program"
        self.is_pitch, self.is_dur = kind == "Pitch", kind == "Duration"
        self.pos_of = tok.position_of
        self.prog_of = tok.hand_of
        steps = tok.config.steps_per_beat
        written = np.zeros(tok.vocab_size, dtype=bool)  # on the written grid (WRITTEN_STEPS)
        self.dur_steps = np.zeros(tok.vocab_size, dtype=np.int64)  # a Duration token's length in steps
        for i, n in enumerate(names):
            if n.startswith("Position_"):
                k = int(n.split("_")[1]) % steps
            elif n.startswith("Duration_"):
                beats, k, per = (int(x) for x in n.split("_")[1].split("."))
                k = k * steps // per
            else:
                continue
            written[i] = any(k % (steps // d) == 0 for d in WRITTEN_STEPS)
            if n.startswith("Duration_"):
                self.dur_steps[i] = beats * steps + k
        off_grid = (self.is_pos | self.is_dur) & ~written
        off_grid |= tok.pitch_of > tok.config.pitch_high  # the vocabulary's one pitch above the piano
        self.on_grid = ~off_grid  # the tokens a piece may take
        # the positions after each position of a bar (-1: before its first)
        self.later = [
            self.is_pos & (self.pos_of > p) & (self.pos_of < self.positions) for p in range(-1, self.positions)
        ]
        self.pitch_class = np.where(tok.pitch_of >= 0, tok.pitch_of % 12, -1)
        self.tokens: list[int] = []  # REMI's tokens of the piece, after the prefix
        self.bars: list[list[int]] = []  # each bar's tokens after Bar and TimeSig
        self.section_starts: list[int] = []  # the bar each section begins on
        self.section_keys: list[Key] = []  # and its key
        self.logits: np.ndarray | None = None
        self.off_key = np.zeros(tok.vocab_size)
        # per hand: each pitch token's cost (0 for other tokens, whose pitch_of is -1)
        self.high_cost = [REGISTER_RATE * np.maximum(tok.pitch_of - top, 0) for top in pianist.register(composer)]
        self.picardy = pianist.picardy(composer)  # a minor piece's close may take the major third
        # each hand's last strokes, in turn: (the onset, counted from the piece's first bar, the key)
        self.strokes: tuple[list[tuple[int, int]], list[tuple[int, int]]] = ([], [])

    def __enter__(self) -> _Writer:
        """Lease the decoder's rows (the two on two cores where it can: cadenza.nn.row_process)."""
        from cadenza.nn.numpy_decoder import Reader
        from cadenza.nn.row_process import leased_rows

        p = self.pianist
        decoders = self._lease.enter_context(leased_rows(p.weights, self.rows, p.idle_rows))
        self.decoder = Reader(p.weights, self.rows, self.tok.closes, decoders)
        return self

    def __exit__(self, *failure) -> None:
        self._lease.__exit__(*failure)  # the rows go back to the pianist, or (after a failure) are closed

    # -- the decoder ------------------------------------------------------------------------------
    def feed(self, ids: list[int]) -> None:
        """Read `ids`, the last tokens written (already in self.bars): when the window is full,
        read again from the prefix and the last bars instead, which hold them."""
        if self.decoder.length + self.decoder.steps(ids) > self.block:
            self.restart()
        else:
            self._read(np.array([ids] * self.decoder.rows))

    def restart(self) -> None:
        """Read again from the prefix (with the key now in force) and the bars of the last half
        window (the bar being written among them, if it fits)."""
        keep: list[int] = []
        steps = 0
        for bar in reversed(self.bars):
            chunk = [self.tok.bar, self.meter_token, *bar]
            steps += self.decoder.steps(chunk)
            if steps > self.block // 2:
                break
            keep = chunk + keep
        self.decoder.reset()
        rows = [self.tok.prefix(self.composer, self.key_now) + keep]
        if self.guidance:
            rows.append(self.tok.prefix(None, self.key_now) + keep)  # as long: the composer token is "none"
        self._read(np.array(rows))

    def _read(self, rows: np.ndarray) -> None:
        """Extend the rows by `rows` (one list of tokens each) and set the logits: with guidance,
        classifier-free guidance, away from what the music alone suggests."""
        logits = self.decoder.feed(rows)
        self.logits = logits[0] + self.guidance * (logits[0] - logits[1]) if self.guidance else logits[0]

    def start(self, body: list[int] | None = None) -> None:
        """Read the prefix, and a prompt's tokens (whole bars) if given."""
        with _one_thread():
            self.restart()  # the prefix alone
            if body:
                bars: list[list[int]] = []
                current: list[int] | None = None
                for t in body:
                    if t == self.tok.bar:
                        current = []
                        bars.append(current)
                    elif current is not None and not self.tok.is_meter[t]:
                        current.append(t)
                for b in bars:
                    self.replay(b)

    # -- writing ----------------------------------------------------------------------------------
    def replay(self, bar: list[int]) -> None:
        ids = [self.tok.bar, self.meter_token, *bar]
        self.tokens.extend(ids)
        self.bars.append(list(bar))
        self.feed(ids)
        for hand, position, pitch in self.keys_of(bar):
            self.strike(hand, len(self.bars) - 1, position, pitch)

    def keys_of(self, bar: list[int]) -> list[tuple[int, int, int]]:
        """(hand, position, pitch) of each key a bar's tokens strike, in turn."""
        return list(zip(*(x.tolist() for x in self.tok.keys_struck(bar))))

    def strike(self, hand: int, bar: int, position: int, pitch: int) -> None:
        """Remember a key `hand` struck at `position` of `bar` (its index in the piece)."""
        strokes = self.strokes[hand]
        strokes.append((bar * self.positions + position, pitch))
        del strokes[:-STUCK_MEMORY]

    def stuck_cost(self, hand: int, bar: int, position: int) -> np.ndarray | float:
        """What striking each key at `position` of `bar` costs `hand` (nats, per token; 0:
        nothing): where that onset would be past the STUCK_FROM-th in a row at which it struck
        the same one or two keys and nothing else, those keys cost STUCK_RATE for each onset past
        it. Keys struck together are one onset: an octave's second key costs what its first did."""
        keys: set[int] = set()
        onsets = {bar * self.positions + position}
        for onset, pitch in reversed(self.strokes[hand]):
            if pitch not in keys and len(keys) == 2:
                break
            keys.add(pitch)
            onsets.add(onset)
        if len(onsets) <= STUCK_FROM or not keys:
            return 0.0
        return np.where(np.isin(self.tok.pitch_of, list(keys)), STUCK_RATE * (len(onsets) - STUCK_FROM), 0.0)

    def section(self, s: _Section, final: bool, on_bar, total: int) -> None:
        with _one_thread():
            first = len(self.bars)
            source_start = self.section_starts[s.source] if s.source is not None else 0
            self.section_starts.append(first)
            self.section_keys.append(s.key)
            if not s.key.same_key(self.key_now):
                self.key_now = s.key
                self.restart()
            outside = np.ones(12, dtype=bool)
            if not s.key.same_key(self.home):
                outside[list(scale(s.key))] = False
                self.off_key = np.where(self.tok.pitch_of >= 0, outside[self.tok.pitch_of % 12] * -OFF_KEY, 0.0)
            else:
                self.off_key = np.zeros(self.tok.vocab_size)
            from cadenza.plan.realize import transposition

            shift = transposition(self.section_keys[s.source], s.key) if s.source is not None else 0
            rhymes = transposition(self.section_keys[0], s.key)
            kinds = dict(s.cadences)
            if final:  # the close, at home: V7 (IV where a plagal close is planned) on the beat before, the tonic alone
                kinds[s.bars - 1] = (s.key, _close_kind(kinds.get(s.bars - 1, (None, ""))[1]))
            for b in range(s.bars):
                last = final and b == s.bars - 1
                if b in s.replay and not last:
                    self.replay(self.moved(self.bars[source_start + b], shift, s.key if s.other_mode else None))
                elif s.bars - s.rhyme[0] <= b < s.rhyme[1]:  # the first section's last bars
                    self.replay(self.moved(self.bars[self.section_starts[1] - (s.bars - b)], rhymes, None))
                else:
                    approach, avoid = _progression(*kinds[b + 1])[:2] if b + 1 in kinds else (None, frozenset())
                    _, _, arrival, top = (
                        _progression(*kinds[b], final=last and self.picardy) if b in kinds else (None, None, None, None)
                    )
                    inverted = b in kinds and kinds[b][1] == "none"  # I6: its bass is the point
                    if first + b == 0 and arrival is None:  # a piece opens in its key: on the tonic chord
                        arrival = (s.key.tonic, tonic_triad(s.key, picardy=False))
                    self.write_bar(last, approach, arrival, self.ring_limit(b, kinds), top, avoid, inverted)
                if on_bar is not None:
                    on_bar(len(self.bars), total)

    def moved(self, bar: list[int], shift: int, onto: Key | None) -> list[int]:
        """A bar's tokens transposed by `shift` (by octaves back into the piano's range), and
        with `onto`, every pitch moved to the nearest note of that key's scale (down first)."""
        tok = self.tok
        out = []
        notes = set(scale(onto)) if onto is not None else None
        for t in bar:
            p = int(tok.pitch_of[t])
            if p < 0:
                out.append(t)
                continue
            p += shift
            if notes is not None and p % 12 not in notes:
                p = p - 1 if (p - 1) % 12 in notes else p + 1
            while p > tok.config.pitch_high:
                p -= 12
            while p < tok.config.pitch_low:
                p += 12
            out.append(t + p - int(tok.pitch_of[t]))
        return out

    def ring_limit(self, bar: int, cadences: dict[int, tuple[Key, str]]) -> int | None:
        """How far (steps from the start of `bar`) a note struck in it before the next cadence's
        approach may ring: to the approach's last beat (its chord alone there), or to the
        arrival's bar line where the approach is free (a half cadence's); None: no cadence ahead
        in the section."""
        for c in sorted(cadences):
            if c - 1 >= bar:  # the approach is bar c - 1
                before, avoid, _, _ = _progression(*cadences[c])
                free = before is None and not avoid
                last_beat = self.positions - self.tok.config.steps_per_beat
                return (c - 1 - bar) * self.positions + (self.positions if free else last_beat)
        return None

    def write_bar(
        self,
        final: bool,
        approach: Chord | None = None,
        arrival: Chord | None = None,
        ring: int | None = None,
        top: frozenset[int] | None = None,
        avoid: frozenset[int] = frozenset(),
        inverted: bool = False,
    ) -> None:
        """One bar, sampled under REMI's grammar, no key struck twice at one onset, and no hand
        striking more than FINGERS keys at one onset or (where the chord asked for leaves a key)
        spanning more than HAND_SPAN. `arrival`: a
        cadence's chord on the downbeat (the bar opens on it: the left hand's lowest note its
        bass, the first of the pair, every note its notes); `approach`: the chord before it, on this bar's last beat
        (struck there: the bar does not end before it is).
        `ring` (ring_limit): no note rings past it, so that a cadence's approach chord sounds
        alone on its last beat and the arrival's chord clean after the bar line.
        `top`: the pitch classes the melody takes at the arrival (cadence_progression's: the
        tonic for an authentic cadence, the third or fifth for an imperfect one). The right hand
        strikes first there, as the tokens order the hands, and its highest key takes one of
        them: the hand goes on until it does, its last finger kept for it, and each key it adds
        leaves one of them above its highest within its span (HAND_SPAN).
        `avoid`: pitch classes the bar's last beat leaves out, struck there (the beat before a
        phrase end planned without a cadence: no dominant, no leading tone).
        `inverted`: the arrival's bass (its chord's first pitch class) is not its root, so the
        left hand strikes there (I6 at a phrase end planned without a cadence; with the right
        hand's lowest key as the bass, the tonic in root position after IV was a plagal cadence).
        `final`: the bar is the piece's close, the arrival chord alone on the downbeat, held at
        least half the bar, its root in the bass (below middle C) and the left hand within an
        octave and a third of it (FINAL_SPAN), its third among its keys (at most FINAL_NOTES: the
        last of them is the third where none has sounded).
        After HAND_REST bars with nothing in the right hand, the bar's first onset opens
        with it: an accompaniment whose melody never came had filled a whole 16-bar piece
        (unconditioned, seed 8: 4 right-hand notes against 183 in the left). The same for the
        left hand: the Beethoven example's B section had its right hand alone for eight bars."""
        tok = self.tok
        enter = self._hand_rests(0) >= HAND_REST  # the melody comes in
        bass = not enter and self._hand_rests(1) >= HAND_REST  # and the bass
        # a piece opens on its downbeat: a first bar begun later is read as a pickup (score.pickup_start),
        # and a newcomer's 3/4 piece had opened with 11 sixteenths, every later bar numbered one less
        opening = not self.bars
        ids = [tok.bar, self.meter_token]
        bar: list[int] = []
        self.bars.append(bar)
        self.tokens.extend(ids)
        self.feed(ids)
        last_beat = self.positions - self.tok.config.steps_per_beat
        last, position, hand, notes = "meter", -1, 0, 0
        final_length: int | None = None  # the last chord's length, once its first key has one
        struck: set[int] = set()  # the keys struck at this position
        in_hand: dict[int, list[int]] = {}  # hand -> the pitches it struck at this position, in turn
        approached = (approach is None and not avoid) or final  # struck on the last beat (nothing asked: True)
        right = self.is_prog & (self.prog_of == 0)
        while len(bar) < MAX_BAR_TOKENS:
            allowed = np.zeros(tok.vocab_size, dtype=bool)
            chord = arrival if position == 0 else approach if position >= last_beat else None
            melody = top if position == 0 and arrival is not None else None  # the arrival's top note
            third = (
                final and chord is not None and bool(self._thirds(chord) & {int(self.pitch_class[t]) for t in struck})
            )
            topped = melody is not None and bool(in_hand.get(0)) and _melody_on_top(max(in_hand[0]), melody)
            if last in ("meter", "duration"):
                allowed |= self.later[position + 1]
                if final or ((arrival is not None or opening) and position < 0):
                    allowed &= self.pos_of == 0  # the cadence's chord, or the piece's first notes, on the downbeat
                if last == "duration":
                    allowed |= self._hands_free(in_hand)
                    allowed[tok.bar] = (not final or (notes >= 3 and third)) and approached
                    if inverted and position == 0 and not in_hand.get(1):
                        allowed &= self.is_prog  # the left hand is still to strike the bass
                    if melody and hand == 0 and not topped:  # the right hand goes on to the melody's note
                        allowed &= right
                    elif melody and in_hand.get(0) and not self._keys(0, chord, struck, in_hand, final, melody)[1]:
                        allowed &= ~right  # no key left for it within its span
            elif last == "position":
                allowed |= self._hands_free(in_hand)
                if melody or enter:
                    allowed &= right
                elif bass:
                    allowed &= ~right
            elif last == "program":
                allowed, _ = self._keys(hand, chord, struck, in_hand, final, melody)
                if final and chord is not None and not third and notes >= FINAL_NOTES - 1:  # its last key: the third
                    kept = allowed & np.isin(self.pitch_class, list(self._thirds(chord)))
                    if (kept & self.on_grid).any():
                        allowed = kept
                if avoid and position >= last_beat:
                    kept = allowed & ~np.isin(self.pitch_class, list(avoid))
                    if (kept & self.on_grid).any():  # (a hand's span may leave none)
                        allowed = kept
            elif last == "pitch":
                allowed[self.is_dur] = True
                if final:  # the last chord rings to the end of the bar, or half of it, in whole beats, all its
                    # keys alike (a newcomer found a half note tied to a sixteenth, and a chord of three lengths)
                    allowed &= (self.dur_steps >= self.positions // 2) & (self.dur_steps <= self.positions)
                    allowed &= self.dur_steps % self.beat_steps == 0
                    if final_length is not None:
                        allowed &= self.dur_steps == final_length
                elif ring is not None:  # nothing rings into a cadence's approach chord or over its bar line
                    end = ring if position < ring else self.positions  # struck on the last beat: to the bar line
                    within = allowed & (self.dur_steps <= end - position)
                    if (within & self.on_grid).any():
                        allowed = within
            if final and last == "duration" and notes >= FINAL_NOTES:
                allowed[:] = False
                allowed[tok.bar] = True
            allowed &= self.on_grid
            if not allowed.any():
                break
            assert self.logits is not None
            cost = (
                self.stuck_cost(hand, len(self.bars) - 1, position) + self.high_cost[hand] if last == "program" else 0.0
            )
            t = _sample(self.logits + self.off_key - cost, allowed, self.settings, self.rng)
            if t == tok.bar:
                break
            if self.is_pos[t]:
                last, position = "position", int(self.pos_of[t])
                struck.clear()
                in_hand.clear()
            elif self.is_prog[t]:
                last, hand = "program", int(self.prog_of[t])
            elif self.is_pitch[t]:
                last = "pitch"
                enter, bass = enter and hand != 0, bass and hand != 1
                struck.add(t)
                in_hand.setdefault(hand, []).append(int(self.tok.pitch_of[t]))
                self.strike(hand, len(self.bars) - 1, position, int(self.tok.pitch_of[t]))
                approached = approached or position >= last_beat
            else:
                last, notes = "duration", notes + 1
                final_length = int(self.dur_steps[t]) if final else None
            bar.append(t)
            self.tokens.append(t)
            self.feed([t])
        unfinished = self.decoder.pending.shape[1]  # a note cut off (a model of note steps): unread, dropped
        if unfinished:
            for t in bar[-unfinished:]:
                if self.is_pitch[t]:
                    self.strokes[hand].pop()
            del bar[-unfinished:], self.tokens[-unfinished:]
            self.decoder.discard_pending()

    @staticmethod
    def _thirds(chord: Chord) -> set[int]:
        """The pitch classes of a chord that are a third above its bass (its root, in the close)."""
        return set(thirds(chord[0])) & set(chord[1])

    def _keys(
        self,
        hand: int,
        chord: Chord | None,
        struck: set[int],
        in_hand: dict[int, list[int]],
        final: bool,
        melody: frozenset[int] | None,
    ) -> tuple[np.ndarray, bool]:
        """(the pitch tokens `hand` may strike next at this onset, whether they keep within its
        span): a key once; the chord's notes where a chord is asked for (the left hand's first its
        bass, the lowest); at an arrival with a `melody`, the right hand's highest key one of its
        notes in the end; in the close, a left hand that can play it; within one hand's span of
        the keys it already holds down, where that leaves a key."""
        pitch = self.tok.pitch_of
        allowed = self.is_pitch.copy()
        allowed[list(struck)] = False  # a key is struck once
        bass = in_hand[1][0] if in_hand.get(1) else None  # the left hand's first pitch here
        if chord is not None:
            bass_only = hand == 1 and bass is None  # the chord's bass (its root, or I6's third)
            sounding = {int(self.pitch_class[t]) for t in struck}
            allowed &= np.isin(self.pitch_class, [chord[0]] if bass_only else list(_one_third(chord, sounding)))
            if hand == 1 and bass is not None:
                allowed &= pitch >= bass  # the bass stays the lowest note
        if melody and hand == 0:  # the melody's note on top, or room left for it
            held = in_hand.get(0, [])
            high = np.maximum(pitch, max(held, default=0))  # the hand's highest key with each pitch added
            low = np.minimum(pitch, min(held, default=self.tok.config.pitch_high))
            on_top = _melody_on_top(high, melody)
            if len(held) == FINGERS - 1:  # its last finger
                allowed &= on_top
            else:  # a melody note left above its highest key, within its span and the keyboard
                above = np.min([(m - high - 1) % 12 + 1 for m in melody], axis=0)
                allowed &= on_top | (high + above <= np.minimum(low + HAND_SPAN, self.tok.config.pitch_high))
        if final and hand == 1:  # the last chord's bass, and a left hand that can play it
            allowed &= pitch < 60 if bass is None else pitch <= bass + FINAL_SPAN
        reach = in_hand.get(hand)
        if not reach:
            return allowed, True
        within = allowed & (pitch >= max(reach) - HAND_SPAN) & (pitch <= min(reach) + HAND_SPAN)
        if (within & self.on_grid).any():
            return within, True
        return allowed, False

    def _hand_rests(self, hand: int) -> int:
        """The bars, counted back from the last written, in which `hand` strikes nothing."""
        n = 0
        for bar in reversed(self.bars):
            if any(h == hand for h, _, _ in self.keys_of(bar)):
                return n
            n += 1
        return n

    def _hands_free(self, in_hand: dict[int, list[int]]) -> np.ndarray:
        """The hand tokens of the hands that may strike another key at this onset: a hand has
        FINGERS fingers. (With both hands free, the shared table itself: not to be changed.)"""
        full = [h for h, pitches in in_hand.items() if len(pitches) >= FINGERS]
        return self.is_prog & ~np.isin(self.prog_of, full) if full else self.is_prog


def _melody_on_top(highest, melody: frozenset[int]):
    """Whether the right hand's highest key (a pitch, or an array of them: with each candidate
    key added) is a note of an arrival's melody (pitch classes)."""
    return np.isin(np.asarray(highest) % 12, list(melody))


def _one_third(chord: Chord, sounding: set[int]) -> frozenset[int]:
    """The chord's pitch classes, less the other third once one of its two thirds (a final tonic
    may have either, theory.tonic_triad) sounds at this onset (`sounding`: pitch classes). Only
    a chord in root position has two thirds (I6, `_progression`'s open end, has one)."""
    root, pcs = chord
    minor, major = thirds(root)
    if not {minor, major} <= pcs:
        return pcs
    return pcs - {major} if minor in sounding else pcs - {minor} if major in sounding else pcs


def _sample(logits, allowed, settings, rng) -> int:
    from cadenza.compose.sampler import sample_token

    return sample_token(logits, allowed, settings, rng)


def _one_thread():
    from cadenza.nn.numpy_decoder import one_blas_thread

    return one_blas_thread()
