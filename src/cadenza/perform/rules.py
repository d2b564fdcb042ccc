"""The rule-based performer: the KTH rule system for music performance, as Director Musices
(DM) plays it, on a quantized Score.

Sources (cited in each rule's docstring by author and year):
- Friberg 1991: A. Friberg, "Generative rules for music performance: a formal description of a
  rule system", Computer Music Journal 15(2), 56-71 (the rules' formulas, the melodic charge table).
- Sundberg, Friberg & Frydén 1991: "Common secrets of musicians and listeners: an
  analysis-by-synthesis study of musical performance", in Howell, West & Cross (eds.),
  Representing Musical Structure (melodic and harmonic charge).
- Friberg 1995: "Matching the rule parameters of Phrase arch to performances of Träumerei: a
  preliminary study", KTH symposium on Grammars for music performance (phrase arch's parameters).
- Friberg, Bresin, Frydén & Sundberg 1998: "Musical punctuation on the microlevel: automatic
  identification and performance of small melodic units", J. New Music Research 27(3).
- Friberg & Sundberg 1999: "Does music performance allude to locomotion? A model of final
  ritardandi derived from measurements of stopping runners", JASA 105(3), 1469-1484.
- Bresin 2001: "Articulation rules for automatic music performance", Proc. ICMC 2001.
- Juslin, Friberg & Bresin 2002: "Toward a computational model of expression in music
  performance: the GERM model", Musicae Scientiae special issue 2001-2002 (the noise rule).
- Friberg, Bresin & Sundberg 2006: "Overview of the KTH rule system for musical performance",
  Advances in Cognitive Psychology 2(2-3), 145-161 (the overview; the rules' list and DM).
- Palmer 1996: "On the assignment of structure in music performance", Music Perception 14(1)
  (melody lead).

This module was written from memory of these papers, without their texts at hand: the
docstrings paraphrase them (no verbatim quotations), every formula is the published one as
recalled, and each docstring says which numbers are our own choice or uncertain.

How the rules act. Every rule adds a deviation to the score as written (`deadpan`), in the
units the papers use, and `rules_expression` turns the sum into an Expression:
- tempo: per beat of `beat_grid`, as log beat factors (beat-level rules: phrase arch, harmonic
  charge, final ritardando, fermatas, the noise's tempo drift); note-level IOI rules (melodic
  charge, duration contrast, double duration, faster uphill, punctuation) change the
  inter-onset interval (IOI) of a melody note: the beats it spans stretch by the IOI-weighted
  change, and the timing inside a beat is put right by `shift_seconds`, so each onset falls
  where the changed IOIs place it;
- sound level: in dB per note, turned into MIDI velocity by the DLS/General MIDI law
  velocity = written * 10 ** (dB / 40) (sound level 40 log10 of velocity: about 4.6 velocity
  units per dB at mf = 80, 2.8 at p = 49; it puts the ~6 dB between dynamic markings at about
  the 16 velocity steps of cadenza.perform.dynamics' table). The melody's mean dB deviation is
  taken out of every note (our form of DM's Normalize-SL): the melody keeps the score's own
  dynamics on average, and the lower voices, softer by High-loud, sit under it;
- articulation: micro-pauses (punctuation, leap articulation, breaths) as seconds cut from a
  note's sounding end, turned into `articulation` on the final time map;
- DM's Normalize-DR: the rubato rules' total duration is scaled back to the score's, so only
  the final ritardando and the fermatas make a performance longer than written.

Melody: the skyline, the note that at its onset is the highest sounding (the top voice of a
chorale, the right hand's top note), drum parts left out. Harmony: the major, minor or
diminished triad that best covers each beat's pitch classes (duration-weighted), diatonic
ones in `cadenza.theory.scale` preferred; the key is the score's (`Score.keys`) or, when it has
none, `cadenza.theory.estimate_key`'s.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from cadenza.perform.performance import (
    MAX_BEAT_FACTOR,
    MIN_BEAT_FACTOR,
    Expression,
    beat_index,
    deadpan,
    marked_seconds,
    notes_in_order,
)
from cadenza.score import Key, Note, Score, bar_starts, one_line, pickup_start
from cadenza.theory import estimate_key, fermatas_mark_phrases, scale

EPS = 1e-6
DB_PER_VELOCITY_DECADE = 40.0  # velocity = written * 10 ** (dB / 40): the DLS / General MIDI velocity law


@dataclass(frozen=True)
class Rule:
    """One entry of a rule palette: the rule's name (a key of RULES), its strength k (DM's
    quantity: 0 off, 1 the rule's nominal amount, 2 twice it) and what it does."""

    name: str
    k: float
    what: str


DEFAULT_PALETTE: tuple[Rule, ...] = (
    Rule("phrase_arch", 1.5, "phrase level (DM level 5): slow and soft at the ends, fastest and loudest at turn 0.3"),
    Rule("subphrase_arch", 1.5, "sub-phrase level (DM level 6): the same arch over each sub-phrase"),
    Rule("final_ritard", 1.0, "Friberg & Sundberg 1999's stopping-runner ritardando over the last bars"),
    Rule("high_loud", 1.0, "higher notes louder: 3 dB per octave"),
    Rule("melodic_charge", 1.0, "melody notes far from the chord's root on the circle of fifths louder and longer"),
    Rule("harmonic_charge", 1.0, "crescendo towards chords far from the tonic, diminuendo away (and a little slower)"),
    Rule("duration_contrast", 1.0, "short notes shorter and softer"),
    Rule("double_duration", 1.0, "a long-short pair of ratio 2:1 played closer to 1:1"),
    Rule("punctuation", 1.1, "melodic gestures' last note a little longer and followed by a micro-pause"),
    Rule("faster_uphill", 1.0, "notes in a rising line a little shorter"),
    Rule("leap_articulation", 1.0, "a micro-pause before a melodic leap, growing with the leap"),
    Rule("melody_lead", 1.0, "the melody ~20 ms before the other notes of its chord (piano)"),
    Rule("fermata", 1.0, "a fermata's beats twice as long, with a breath after it"),
    Rule("noise", 1.0, "seeded random tempo drift (1/f), onset and level jitter"),
    Rule("pedal", 1.0, "sustain pedal changed with the bass and harmony, lifted at rests and phrase ends (piano)"),
)
"""DEFAULT_PALETTE: Director Musices' default rule palette, as recalled (DM's palette file, the
one the program loads at start; Friberg et al. 2006, section "Director Musices"): Phrase-arch
k=1.5 at phrase levels 5 and 6, Punctuation k=1.1, High-loud, Melodic-charge,
Harmonic-charge, Duration-contrast, Double-duration, Faster-uphill, Leap-articulation and
Final-ritard k=1.0. Melody lead, fermata, noise and pedal are this module's additions (not DM's
palette) at k=1. DM's own default palette also holds rules left out here (Leap-tone-duration,
Repetition-articulation, Score-legato/staccato, Ensemble-swing, Melodic-sync: voices merge
here through the melody's timing)."""


# ---------------------------------------------------------------------------------------------
# the rules' published numbers (each rule's docstring says where from)

# Melodic charge of a pitch class by semitones above the chord's root (Friberg 1991, the melodic
# charge table; Sundberg, Friberg & Frydén 1991): the distance on the circle of fifths, +1 a
# fifth on the sharp side (G 1, D 2, A 3, E 4, B 5, F# 6), from 2.5 on the flat side (F 2.5,
# Bb 3.5, Eb 4.5, Ab 5.5, Db 6.5).
MELODIC_CHARGE = (0.0, 6.5, 2.0, 4.5, 4.0, 2.5, 6.0, 1.0, 5.5, 3.0, 3.5, 5.0)
MELODIC_CHARGE_DB = 0.2  # dB per unit of charge (Friberg 1991)
MELODIC_CHARGE_IOI = 2 / 3 / 100  # IOI lengthening per unit of charge: 0.67 % (Friberg 1991)
HARMONIC_CHARGE_DB = 1.5  # dB per sqrt(charge) (Friberg 1991)
HARMONIC_CHARGE_IOI = 0.5 / 100  # IOI change per sqrt(charge): our choice (DM's :dur 0.5 of the sound level's 1)
HIGH_LOUD_DB_PER_SEMITONE = 3.0 / 12  # 3 dB per octave (Friberg 1991)


@dataclass(frozen=True)
class ArchParams:
    """Phrase arch's parameters, named as DM names them (Friberg 1995; Friberg et al. 2006):
    turn: where in the phrase (0..1 of its length) the tempo is fastest and the level highest;
    power: the curve's exponent (2: slow change near the turn, faster towards the ends);
    amp: sound level against tempo, dB per unit of the arch's shape;
    next: how deep the closing ritardando is against the opening's slowness (>1: deeper);
    last: how much of the closing deviation the phrase's last note gets (the ritardando leads
    into the last note; a long final note is not stretched by the whole arch)."""

    turn: float
    power: float
    amp: float
    next: float
    last: float


ARCH = {
    "phrase_arch": ArchParams(turn=0.3, power=2.0, amp=2.0, next=1.3, last=0.2),
    "subphrase_arch": ArchParams(turn=0.5, power=2.0, amp=2.0, next=1.3, last=0.2),
}
ARCH_IOI = 0.06  # IOI lengthening at the shape's value 1 for k=1 (6 %): our scale for DM's curve
ARCH_DB = 0.75  # dB softer at the shape's value 1 per unit of amp, for k=1: our scale

RITARD_Q, RITARD_W = 3.0, 0.3  # Friberg & Sundberg 1999: curvature q and final tempo w
RITARD_BARS = 2.0  # the final ritardando spans the last two bars before the last onset (our choice)

DURATION_CONTRAST_MS = (0.0, 30.0, 150.0, 400.0, 600.0)  # a note's duration, ms ...
DURATION_CONTRAST_DIOI_MS = (0.0, 0.0, -16.5, -10.0, 0.0)  # ... its IOI change, ms (Friberg 1991, as recalled)
DURATION_CONTRAST_DB_PER_MS = 1.0 / 16.5  # -1 dB at the largest shortening (our scale for DM's :amp 1)
DOUBLE_DURATION = 0.10  # the short note of a 2:1 pair gains 10 % of its IOI, the long one loses as much
PUNCTUATION_MS, PUNCTUATION_PAUSE_MS = 20.0, 40.0  # last note of a gesture: IOI + 20 ms, sounding - 40 ms
FASTER_UPHILL = 0.02  # a note within a rising line loses 2 % of its IOI
LEAP_PAUSE_MS_PER_SEMITONE, LEAP_MIN = 2.5, 3  # micro-pause before a leap of 3+ semitones, up to an octave
MELODY_LEAD_S = 0.020  # Palmer 1996: the melody ~20 ms ahead
FERMATA_FACTOR = 2.0
BREATH_S = 0.2  # a breath after a fermata or (choir) a phrase's end
NOISE_TEMPO, NOISE_ONSET_S, NOISE_DB = 0.01, 0.005, 0.5  # 1 % tempo drift, 5 ms onsets, 0.5 dB: our choice
CHOIR_RUBATO = 0.5  # a choir's (and organ's) rubato: half the piano's, in log tempo
PEDAL_DELAY_BEATS = 0.125  # the pedal goes down a 32nd after the new harmony (syncopated, legato pedalling)


# ---------------------------------------------------------------------------------------------
# the piece as the rules see it


@dataclass(frozen=True)
class _Chord:
    root: int
    tones: frozenset[int]
    third: int
    fifth: int


@dataclass
class _Piece:
    score: Score
    notes: list[tuple[int, Note]]
    grid: np.ndarray  # beat_grid
    marked: np.ndarray  # seconds of each grid point at the marked tempo
    onsets: np.ndarray  # the distinct onsets, all parts
    onset_of: np.ndarray  # each note's index into onsets
    pitched: np.ndarray  # each note: not a drum
    melody: list[int]  # note indices of the melody (skyline), by onset
    keys: list[Key]
    chords: list[_Chord | None]  # per beat
    phrases: list[tuple[float, float]]
    subphrases: list[tuple[float, float]]
    choir: bool

    @property
    def beat_seconds(self) -> np.ndarray:
        return np.diff(self.marked)

    @property
    def mids(self) -> np.ndarray:
        return (self.grid[:-1] + self.grid[1:]) / 2

    def seconds(self, beats) -> np.ndarray:
        return np.interp(beats, self.grid, self.marked)

    def beat_of(self, at: float) -> int:
        return int(beat_index(self.grid, at))

    def key_at(self, at: float) -> Key:
        current = self.keys[0]
        for k in self.keys:
            if k.start_beats <= at + EPS:
                current = k
        return current

    def melody_ioi(self) -> list[tuple[float, float]]:
        """(onset, end of its IOI) of each melody note: to the next melody onset, or to its own
        end when a rest follows it."""
        out = []
        for i, m in enumerate(self.melody):
            n = self.notes[m][1]
            nxt = self.notes[self.melody[i + 1]][1].start_beats if i + 1 < len(self.melody) else n.end_beats
            end = n.end_beats if nxt - n.end_beats > 0.125 else nxt
            out.append((n.start_beats, max(end, n.start_beats + EPS)))
        return out


@dataclass
class _Effects:
    log_rubato: np.ndarray  # per beat
    log_fixed: np.ndarray  # per beat: final ritardando and fermatas (not normalized)
    ioi: np.ndarray  # per onset interval: IOI multiplier
    db: np.ndarray  # per note
    gap: np.ndarray  # per note: seconds cut from its sounding end
    breath: np.ndarray  # per note: seconds of breath after it (the largest asked for)
    shift: np.ndarray  # per note: seconds early (-) or late (+), beside the IOI rules'
    pedal: list[tuple[float, float]] = field(default_factory=list)

    def stretch_ioi(self, piece: _Piece, start: float, end: float, ratio: float) -> None:
        """Multiply the IOIs of the onset intervals starting in [start, end) by `ratio`."""
        lo = np.searchsorted(piece.onsets, start - EPS)
        hi = np.searchsorted(piece.onsets, end - EPS)
        self.ioi[lo : max(hi, lo + 1)] *= ratio


def _melody(notes: list[tuple[int, Note]], pitched: np.ndarray) -> list[int]:
    """The skyline: at each onset, its highest note when nothing higher is still sounding from
    before (notes_in_order puts the highest of each onset first)."""
    melody: list[int] = []
    active: list[tuple[int, float]] = []  # (-pitch, end) of notes already started
    i = 0
    while i < len(notes):
        start = notes[i][1].start_beats
        group = []
        while i < len(notes) and abs(notes[i][1].start_beats - start) < EPS:
            if pitched[i]:
                group.append(i)
            i += 1
        while active and active[0][1] <= start + EPS:
            heapq.heappop(active)
        if group and (not active or notes[group[0]][1].pitch >= -active[0][0]):
            melody.append(group[0])
        for j in group:
            heapq.heappush(active, (-notes[j][1].pitch, notes[j][1].end_beats))
    return melody


_QUALITIES = ((0, 4, 7), (0, 3, 7), (0, 3, 6))  # major, minor, diminished


def _chords(score: Score, grid: np.ndarray, notes, pitched, key_at: Callable[[float], Key]) -> list[_Chord | None]:
    """The triad of each beat: the one covering most of its duration-weighted pitch classes
    (less what it leaves out), with small preferences for its root in the bass and for the
    key's diatonic triads. A beat of one pitch class keeps the chord before when it holds it."""
    n_beats = len(grid) - 1
    weight = np.zeros((n_beats, 12))
    bass = np.full(n_beats, 999)
    for k, (_, n) in enumerate(notes):
        if not pitched[k]:
            continue
        first = max(int(np.searchsorted(grid, n.start_beats + EPS, side="right")) - 1, 0)
        for b in range(first, n_beats):
            if grid[b] >= n.end_beats - EPS:
                break
            overlap = min(n.end_beats, grid[b + 1]) - max(n.start_beats, grid[b])
            if overlap > EPS:
                weight[b, n.pitch % 12] += overlap
                bass[b] = min(bass[b], n.pitch)
    chords: list[_Chord | None] = []
    for b in range(n_beats):
        w = weight[b]
        total = w.sum()
        if total <= EPS:
            chords.append(None)
            continue
        present = {pc for pc in range(12) if w[pc] > EPS}
        if len(present) < 2:
            prev = chords[-1] if chords else None
            chords.append(prev if prev is not None and present <= prev.tones else None)
            continue
        diatonic = scale(key_at(float(grid[b])))
        best, best_score = None, -math.inf
        for quality in _QUALITIES:
            for root in range(12):
                tones = frozenset((root + s) % 12 for s in quality)
                inside = sum(w[pc] for pc in tones)
                s = 2 * inside - total
                s += 0.1 * total * (bass[b] % 12 == root) + 0.05 * total * (tones <= diatonic)
                s -= 0.01 * total * (quality == _QUALITIES[2])
                if s > best_score:
                    best_score = s
                    best = _Chord(root, tones, (root + quality[1]) % 12, (root + quality[2]) % 12)
        chords.append(best)
    return chords


def _count_back(start: float, end: float, size: float, least: float) -> list[tuple[float, float]]:
    """Spans of `size` beats ending at `end`, counted back to `start`; a first span shorter than
    `least` joins the next."""
    points = [end]
    while points[-1] - size > start + EPS:
        points.append(points[-1] - size)
    points.append(start)
    points = sorted(set(round(p, 6) for p in points))
    if len(points) > 2 and points[1] - points[0] < least - EPS:
        points.pop(1)
    return list(zip(points[:-1], points[1:]))


def _halves(spans: Sequence[tuple[float, float]], bar: float) -> list[tuple[float, float]]:
    """Each span cut in two at the bar line (or, in a span shorter than two bars, the beat)
    nearest its middle; spans under two beats stay whole."""
    out = []
    for a, b in spans:
        unit = bar if b - a >= 2 * bar - EPS else 1.0
        if b - a < 2.0 - EPS:
            out.append((a, b))
            continue
        middle = round((a + b) / 2 / unit) * unit
        if not a + EPS < middle < b - EPS:
            middle = round((a + b) / 2)
        out += [(a, middle), (middle, b)] if a + EPS < middle < b - EPS else [(a, b)]
    return out


def derive_phrases(score: Score) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(phrases, sub-phrases) in beats when none are given. With fermatas that mark phrases (a
    chorale's: theory.fermatas_mark_phrases), each phrase ends where a fermata's note ends;
    otherwise phrases are 4 bars, counted back from the
    bar line that closes the last bar (so a pickup opens the first phrase; a first span under a
    bar joins the next). Sub-phrases are the phrases' halves (2 bars; in a chorale, at the bar line or beat
    nearest each phrase's middle)."""
    end = score.end_beats
    if end <= EPS:
        return [], []
    bar = score.meter.bar_beats
    ends = set()
    marked = fermatas_mark_phrases(score.fermatas_beats, end, score.meter)
    for f in score.fermatas_beats if marked else ():
        under = [n for n in score.notes() if abs(n.start_beats - f) < EPS]
        if under:
            e = max(under, key=lambda n: n.pitch).end_beats
            if EPS < e < end - EPS:
                ends.add(round(e, 6))
    if ends:
        points = [0.0, *sorted(ends), end]
        phrases = list(zip(points[:-1], points[1:]))
        return phrases, _halves(phrases, bar)
    # count back from the bar line that closes the last bar, so that phrases end at bar lines,
    # or, after a pickup, as long before them as the pickup is (each phrase opens with its upbeat)
    shift = pickup_start(score)
    last_line = min((s + bar for s in bar_starts(score) if s + bar >= end - EPS), default=end)
    last_line -= bar - shift if shift else 0.0

    def clipped(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
        spans = [(a, min(b, end)) for a, b in spans if a < end - EPS]
        return spans[:-1] + [(spans[-1][0], end)] if spans else spans  # the last phrase runs to the end

    return clipped(_count_back(0.0, last_line, 4 * bar, bar)), clipped(_count_back(0.0, last_line, 2 * bar, bar))


def _piece(score: Score, phrases, choir: bool, base: Expression) -> _Piece:
    notes = notes_in_order(score)
    grid = base.beats
    marked = marked_seconds(score, grid)
    pitched = np.array([not score.parts[p].is_drum for p, _ in notes], dtype=bool)
    onsets = np.array(sorted(set(round(n.start_beats, 6) for _, n in notes)), dtype=np.float64)
    onset_of = np.searchsorted(onsets, [round(n.start_beats, 6) - EPS for _, n in notes])
    keys = sorted(score.keys, key=lambda k: k.start_beats)
    if not keys:
        pitched_notes = [n for k, (_, n) in enumerate(notes) if pitched[k]]
        keys = [estimate_key(pitched_notes) if pitched_notes else Key(0.0, 0, "major")]
    derived, derived_sub = derive_phrases(score)
    if phrases is None:
        spans, subs = derived, derived_sub
    else:
        end = score.end_beats
        spans = sorted((max(float(a), 0.0), min(float(b), end)) for a, b in phrases)
        spans = [(a, b) for a, b in spans if b > a + EPS]
        subs = _halves(spans, score.meter.bar_beats)
    piece = _Piece(
        score, notes, grid, marked, onsets, onset_of, pitched, _melody(notes, pitched), keys, [], spans, subs, choir
    )
    piece.chords = _chords(score, grid, notes, pitched, piece.key_at)
    return piece


# ---------------------------------------------------------------------------------------------
# the rules


def _arch_shape(x: np.ndarray, p: ArchParams) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    rising = ((p.turn - x) / p.turn) ** p.power
    falling = p.next * ((x - p.turn) / (1 - p.turn)) ** p.power
    return np.where(x < p.turn, rising, falling)


def _phrase_arch(piece: _Piece, fx: _Effects, k: float, params: ArchParams, spans) -> None:
    """Phrase arch (Friberg 1995; Friberg et al. 2006, on phrasing): each phrase starts slow and
    soft, grows faster and louder up to its turn, then slows and softens to its end, an arch in
    tempo and sound level, applied at several phrase levels at once (DM's default
    palette: levels 5 and 6, k=1.5, turn 0.3, next 1.3, amp 2, last 0.2, as recalled). The shape:
        D(x) = ((turn - x) / turn) ** power                 x < turn
        D(x) = next * ((x - turn) / (1 - turn)) ** power    x >= turn
    over x in 0..1, the score position in the phrase; each beat's IOI grows by k * 6 % * D
    (beats of the phrase's last note take `last` * next instead), less the phrase's mean, so a
    phrase keeps its length; each note is k * amp * 0.75 dB * D softer. The shape follows DM's
    parameters; the 6 % and 0.75 dB scales, and next and last as read here, are our own."""
    mids, weights = piece.mids, piece.beat_seconds
    melody_onsets = np.array([piece.notes[m][1].start_beats for m in piece.melody])
    starts = np.array([n.start_beats for _, n in piece.notes])
    for a, b in spans:
        inside = (mids >= a) & (mids < b)
        if not inside.any():
            continue
        shape = _arch_shape((mids[inside] - a) / (b - a), params)
        in_phrase = melody_onsets[(melody_onsets > a + EPS) & (melody_onsets < b - EPS)]
        if len(in_phrase):
            shape = np.where(mids[inside] > in_phrase[-1], params.last * params.next, shape)
        dlog = np.log1p(k * ARCH_IOI * shape)
        dlog -= np.average(dlog, weights=weights[inside])
        fx.log_rubato[inside] += dlog
        on = (starts >= a - EPS) & (starts < b - EPS)
        fx.db[on] -= k * params.amp * ARCH_DB * _arch_shape((starts[on] - a) / (b - a), params)


def phrase_arch(piece: _Piece, fx: _Effects, k: float) -> None:
    """Phrase arch at the phrase level (DM level 5): see _phrase_arch."""
    _phrase_arch(piece, fx, k, ARCH["phrase_arch"], piece.phrases)


def subphrase_arch(piece: _Piece, fx: _Effects, k: float) -> None:
    """Phrase arch at the sub-phrase level (DM level 6): see _phrase_arch. DM's default palette
    gives level 6 its own turn (recalled as 2, which we cannot read as a position in 0..1); we
    turn sub-phrases at their middle, 0.5."""
    _phrase_arch(piece, fx, k, ARCH["subphrase_arch"], piece.subphrases)


def ritard_tempo(x, q: float = RITARD_Q, w: float = RITARD_W) -> np.ndarray:
    """Friberg & Sundberg 1999's final ritardando model: the tempo v at the normalized score
    position x (0: the ritardando's start, 1: its last onset), v(x) = [1 + (w^q - 1) x]^(1/q),
    v(0) = 1 and v(1) = w, w the final tempo. q = 2 is a runner's constant deceleration, q = 3
    (the model's fit to the measured ritardandi, as recalled) keeps the braking power constant."""
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    return (1.0 + (w**q - 1.0) * x) ** (1.0 / q)


def final_ritard(piece: _Piece, fx: _Effects, k: float) -> None:
    """Final ritardando (Friberg & Sundberg 1999): over the last two bars before the last onset,
    within the last phrase (our choice of span), each beat's length is 1 / v(x) ** k at its
    midpoint, q = 3, w = 0.3.
    The model covers the IOIs up to the last note; the held last note lasts at least one beat
    at the final tempo w, and never less than written (our choice)."""
    starts = [n.start_beats for k_, (_, n) in enumerate(piece.notes) if piece.pitched[k_]]
    if not starts:
        return
    last = max(starts)
    bar = piece.score.meters[-1].bar_beats if piece.score.meters else 4.0
    phrase_start = max((a for a, _ in piece.phrases if a < last - EPS), default=0.0)
    begin = max(0.0, last - RITARD_BARS * bar, phrase_start)
    mids = piece.mids
    if last - begin > EPS:
        span = (mids >= begin) & (mids < last)
        fx.log_fixed[span] -= k * np.log(ritard_tempo((mids[span] - begin) / (last - begin)))
    held = mids >= last
    if held.any():
        beats = held.sum()
        fx.log_fixed[held] += k * math.log(max(1.0, 1.0 / (RITARD_W * beats)))


def high_loud(piece: _Piece, fx: _Effects, k: float) -> None:
    """High-loud (Friberg 1991; Friberg et al. 2006): the higher the pitch, the louder; the
    sound level rises 3 dB per octave for k=1 (here from the piece's mean pitch;
    the normalization takes out any offset)."""
    pitches = np.array([n.pitch for _, n in piece.notes], dtype=np.float64)
    if not piece.pitched.any():
        return
    mean = pitches[piece.pitched].mean()
    fx.db[piece.pitched] += k * HIGH_LOUD_DB_PER_SEMITONE * (pitches[piece.pitched] - mean)


def _root_at(piece: _Piece, at: float) -> int:
    chord = piece.chords[piece.beat_of(at)] if piece.chords else None
    return chord.root if chord is not None else piece.key_at(at).tonic


def melodic_charge(piece: _Piece, fx: _Effects, k: float) -> None:
    """Melodic charge (Friberg 1991; Sundberg, Friberg & Frydén 1991): a melody note's charge
    C is its distance from the current chord's root on the circle of fifths (MELODIC_CHARGE:
    root 0, fifth 1, ninth 2, sixth 3, third 4, seventh 5, tritone 6; the flat side 2.5 for the
    fourth up to 6.5 for the minor second); the note is 0.2 k C dB louder and its IOI
    0.67 k C % longer (DM's vibrato part is left out). Without a chord (a lone melody) the
    charge is counted from the key's tonic."""
    for m, (a, b) in zip(piece.melody, piece.melody_ioi()):
        n = piece.notes[m][1]
        charge = MELODIC_CHARGE[(n.pitch - _root_at(piece, n.start_beats)) % 12]
        fx.db[m] += k * MELODIC_CHARGE_DB * charge
        fx.stretch_ioi(piece, a, b, 1 + k * MELODIC_CHARGE_IOI * charge)


def harmonic_charge_of(chord: _Chord, key: Key) -> float:
    """A chord's harmonic charge in `key`: its tones' melodic charges counted from the tonic,
    the root's twice, C_har = 2 C(root) + C(third) + C(fifth) (Friberg 1991, as recalled; the
    weights are the least certain number here). C major: I 5, IV 8, V 9, ii 9.5, vi 10."""
    c = lambda pc: MELODIC_CHARGE[(pc - key.tonic) % 12]  # noqa: E731
    return 2 * c(chord.root) + c(chord.third) + c(chord.fifth)


def harmonic_charge(piece: _Piece, fx: _Effects, k: float) -> None:
    """Harmonic charge (Friberg 1991; Sundberg, Friberg & Frydén 1991; Friberg et al. 2006): a
    crescendo towards a chord of higher harmonic charge, a diminuendo towards a lower one. Each
    chord's level is 1.5 k sqrt(C_har) dB above the tonic triad's
    (Friberg 1991's 1.5 dB per sqrt of charge), reached at the chord's onset by a linear ramp
    from the chord before; its beats are 0.5 k % per sqrt(charge) slower (our scale for DM's
    :dur, relative to the tonic's, then normalized with the other rubato)."""
    xs, values = [], []
    prev = None
    for b, chord in enumerate(piece.chords):
        if chord is None:
            continue
        key = piece.key_at(float(piece.grid[b]))
        third = (key.tonic + (4 if key.mode == "major" else 3)) % 12
        tonic = _Chord(key.tonic, frozenset(), third, (key.tonic + 7) % 12)
        rise = math.sqrt(harmonic_charge_of(chord, key)) - math.sqrt(harmonic_charge_of(tonic, key))
        fx.log_rubato[b] += math.log1p(max(k * HARMONIC_CHARGE_IOI * rise, -0.5))
        if chord != prev:
            xs.append(float(piece.grid[b]))
            values.append(k * HARMONIC_CHARGE_DB * rise)
        prev = chord
    if xs:
        starts = np.array([n.start_beats for _, n in piece.notes])
        fx.db[piece.pitched] += np.interp(starts, xs, values)[piece.pitched]


def duration_contrast(piece: _Piece, fx: _Effects, k: float) -> None:
    """Duration contrast (Friberg 1991; Friberg et al. 2006): the contrast between long and short
    notes is sharpened by playing the short ones shorter (and softer): a melody note's IOI changes by a
    function of its nominal duration, tabled in ms (DURATION_CONTRAST_MS -> _DIOI_MS: nothing
    under 30 ms, the most, -16.5 ms, around 150 ms, back to nothing at 600 ms: Friberg 1991's
    table as recalled, k times); every note is also softer, 1 dB at the largest shortening
    (our scale for DM's :amp 1), by its own duration."""
    iois = piece.melody_ioi()
    for a, b in iois:
        ms = 1000 * float(piece.seconds(b) - piece.seconds(a))
        change = np.interp(ms, DURATION_CONTRAST_MS, DURATION_CONTRAST_DIOI_MS)
        if ms > 0 and change:
            fx.stretch_ioi(piece, a, b, 1 + max(k * change / ms, -0.5))
    for i, (_, n) in enumerate(piece.notes):
        if piece.pitched[i]:
            ms = 1000 * float(piece.seconds(n.end_beats) - piece.seconds(n.start_beats))
            change = np.interp(ms, DURATION_CONTRAST_MS, DURATION_CONTRAST_DIOI_MS)
            fx.db[i] += k * DURATION_CONTRAST_DB_PER_MS * change


def double_duration(piece: _Piece, fx: _Effects, k: float) -> None:
    """Double duration (Friberg 1991, after Gabrielsson's measurements): in a melody note
    followed by one half as long (a 2:1 long-short pair, as in 6/8's quarter-eighth), the
    contrast is lessened: the short note's IOI grows by 10 % k of itself and the long note's
    shrinks by as much, keeping the pair's length (the 10 % is our scale). Each note joins one
    pair at most."""
    iois = piece.melody_ioi()
    i = 0
    while i + 1 < len(iois):
        (a, b), (c, d) = iois[i], iois[i + 1]
        long, short = b - a, d - c
        if abs(b - c) < EPS and abs(long - 2 * short) < 0.01 * long:
            moved = k * DOUBLE_DURATION * short
            fx.stretch_ioi(piece, a, b, (long - moved) / long)
            fx.stretch_ioi(piece, c, d, (short + moved) / short)
            i += 2
        else:
            i += 1


def _boundaries(piece: _Piece) -> list[int]:
    """Indices into piece.melody of notes that end a melodic gesture (a simplification of
    Friberg et al. 1998's punctuation sub-rules): a leap of a fourth or more between steps
    (the note before the leap ends the gesture); a note at least twice its predecessor's IOI
    and longer than the next (a long note after shorter ones). A note followed by a rest is
    already set apart and is left alone."""
    iois = piece.melody_ioi()
    pitch = [piece.notes[m][1].pitch for m in piece.melody]
    out = []
    for i in range(1, len(iois) - 1):
        (a, b), (c, _) = iois[i], iois[i + 1]
        if c - b > EPS:
            continue
        leap = abs(pitch[i + 1] - pitch[i]) >= 5
        steps_around = abs(pitch[i] - pitch[i - 1]) <= 2 and (
            i + 2 >= len(pitch) or abs(pitch[i + 2] - pitch[i + 1]) <= 2
        )
        long = b - a >= 2 * (iois[i - 1][1] - iois[i - 1][0]) - EPS and b - a > iois[i + 1][1] - iois[i + 1][0] + EPS
        if (leap and steps_around) or long:
            out.append(i)
    return out


def punctuation(piece: _Piece, fx: _Effects, k: float) -> None:
    """Punctuation (Friberg, Bresin, Frydén & Sundberg 1998): the melody is cut into small
    gestures (_boundaries) and each gesture's last note is lengthened and followed by a
    micro-pause: its IOI + 20 k ms, its sounding end 40 k ms before the next onset (DM's :dur
    and :duroff; the values as recalled; DM's default k 1.1). A choir sings legato: it keeps the
    lengthening and leaves out the micro-pause."""
    iois = piece.melody_ioi()
    for i in _boundaries(piece):
        a, b = iois[i]
        seconds = float(piece.seconds(b) - piece.seconds(a))
        fx.stretch_ioi(piece, a, b, 1 + k * PUNCTUATION_MS / 1000 / seconds)
        if not piece.choir:
            fx.gap[piece.melody[i]] += k * PUNCTUATION_PAUSE_MS / 1000


def faster_uphill(piece: _Piece, fx: _Effects, k: float) -> None:
    """Faster uphill (Friberg 1991): notes in an ascending line are shortened;
    a melody note between a lower and a higher one loses 2 % k of its IOI (Friberg 1991 gives
    the change in ms; the 2 % is our order-of-magnitude stand-in)."""
    iois = piece.melody_ioi()
    pitch = [piece.notes[m][1].pitch for m in piece.melody]
    for i in range(1, len(pitch) - 1):
        if pitch[i - 1] < pitch[i] < pitch[i + 1]:
            fx.stretch_ioi(piece, *iois[i], 1 - k * FASTER_UPHILL)


def leap_articulation(piece: _Piece, fx: _Effects, k: float) -> None:
    """Leap articulation (Bresin 2001, DM's Leap-articulation-dro): the note before a melodic
    leap is detached by a micro-pause growing with the leap, here 2.5 k ms per semitone for
    leaps of 3 semitones or more, up to an octave (the scale is ours). Left out in a choir
    (legato)."""
    if piece.choir:
        return
    pitch = [piece.notes[m][1].pitch for m in piece.melody]
    for i in range(len(pitch) - 1):
        leap = abs(pitch[i + 1] - pitch[i])
        if leap >= LEAP_MIN:
            fx.gap[piece.melody[i]] += k * LEAP_PAUSE_MS_PER_SEMITONE * min(leap, 12) / 1000


def melody_lead(piece: _Piece, fx: _Effects, k: float) -> None:
    """Melody lead (Palmer 1996; the "melody lead" the KTH overview discusses beside its
    Melodic-sync rule): the melody's note sounds about 20 ms before the other notes of its
    chord, here 20 k ms, wherever another note starts with it. Not in a choir."""
    if piece.choir:
        return
    together = np.bincount(piece.onset_of[piece.pitched], minlength=len(piece.onsets))
    for m in piece.melody:
        if together[piece.onset_of[m]] > 1:
            fx.shift[m] -= k * MELODY_LEAD_S


def fermata(piece: _Piece, fx: _Effects, k: float) -> None:
    """Fermatas (this module's rule; DM has none in its default palette): the beats of a
    fermata's note (the highest starting there) are 2 ** k times as long, and every note
    starting there ends with a breath of 0.2 k s before the next (none after the last)."""
    starts = np.array([n.start_beats for _, n in piece.notes])
    end = piece.score.end_beats
    for f in piece.score.fermatas_beats:
        under = np.flatnonzero((np.abs(starts - f) < EPS) & piece.pitched)
        if not len(under):
            continue
        top = piece.notes[int(under[0])][1]
        beats = (piece.mids >= top.start_beats - EPS) & (piece.mids < top.end_beats)
        if not beats.any():
            beats[piece.beat_of(top.start_beats)] = True
        fx.log_fixed[beats] += k * math.log(FERMATA_FACTOR)
        for i in under:
            if piece.notes[i][1].end_beats < end - EPS:
                fx.breath[i] = max(fx.breath[i], k * BREATH_S)


def noise(piece: _Piece, fx: _Effects, k: float, rng: np.random.Generator) -> None:
    """Noise (Juslin, Friberg & Bresin 2002, GERM's "R": random variability; DM's Noise rule):
    a slow 1/f tempo drift (Voss-McCartney, 1 % per beat's log tempo, k times), and per note
    white onset jitter (5 k ms) and level jitter (0.5 k dB). The sizes are our choice. The
    same seed plays the same performance."""
    n_beats = len(fx.log_rubato)
    rows = max(1, math.ceil(math.log2(max(n_beats, 2))))
    drift = np.zeros(n_beats)
    for r in range(rows):
        step = 2**r
        drift += np.repeat(rng.standard_normal(n_beats // step + 1), step)[:n_beats]
    fx.log_rubato += k * NOISE_TEMPO * drift / math.sqrt(rows)
    fx.shift += k * NOISE_ONSET_S * rng.standard_normal(len(fx.shift))
    fx.db += k * NOISE_DB * rng.standard_normal(len(fx.db))


def _sounding(piece: _Piece) -> list[tuple[float, float]]:
    """The spans where some pitched note sounds, merged."""
    spans = sorted((n.start_beats, n.end_beats) for i, (_, n) in enumerate(piece.notes) if piece.pitched[i])
    merged: list[list[float]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1] + EPS:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def pedal(piece: _Piece, fx: _Effects, k: float) -> None:
    """Sustain pedal for a piano (this module's rule; DM has none): legato pedalling, the pedal
    lifted at each change of the bass note or the beat's triad and put down again a 32nd note
    (PEDAL_DELAY_BEATS) after it, lifted where nothing sounds (rests), at phrase ends and at
    fermatas' ends. Only for a texture of more than one voice (score.one_line: an arpeggio over a
    held bass is two, though its skyline takes every note), never in a choir."""
    if piece.choir or one_line([n for i, (_, n) in enumerate(piece.notes) if piece.pitched[i]]):
        return
    n_beats = len(piece.grid) - 1
    bass = np.full(n_beats, -1)
    for i, (_, n) in enumerate(piece.notes):
        if not piece.pitched[i]:
            continue
        for b in range(piece.beat_of(n.start_beats), n_beats):
            if piece.grid[b] >= n.end_beats - EPS:
                break
            bass[b] = n.pitch if bass[b] < 0 else min(bass[b], n.pitch)
    labels = [(int(bass[b]) % 12, piece.chords[b]) for b in range(n_beats)]
    points = {0.0, float(piece.grid[-1])}
    points |= {float(piece.grid[b]) for b in range(1, n_beats) if labels[b] != labels[b - 1]}
    points |= {float(x) for span in piece.phrases for x in span}
    sounding = _sounding(piece)
    points |= {float(x) for span in sounding for x in span}
    starts = np.array([n.start_beats for _, n in piece.notes])
    for f in piece.score.fermatas_beats:
        under = [piece.notes[i][1] for i in np.flatnonzero(np.abs(starts - f) < EPS)]
        points |= {max(n.end_beats for n in under)} if under else set()
    edges = sorted(round(p, 6) for p in points)
    for down, up in zip(edges[:-1], edges[1:]):
        if up - down <= 2 * PEDAL_DELAY_BEATS + EPS:
            continue
        if not any(s < up - EPS and e > down + EPS for s, e in sounding):
            continue
        fx.pedal.append((down + PEDAL_DELAY_BEATS, up))


RULES: dict[str, Callable[[_Piece, _Effects, float], None]] = {
    "phrase_arch": phrase_arch,
    "subphrase_arch": subphrase_arch,
    "final_ritard": final_ritard,
    "high_loud": high_loud,
    "melodic_charge": melodic_charge,
    "harmonic_charge": harmonic_charge,
    "duration_contrast": duration_contrast,
    "double_duration": double_duration,
    "punctuation": punctuation,
    "faster_uphill": faster_uphill,
    "leap_articulation": leap_articulation,
    "melody_lead": melody_lead,
    "fermata": fermata,
    "pedal": pedal,
}  # and "noise", which takes the seed's Generator


# ---------------------------------------------------------------------------------------------
# the performer


def _breaths_at_phrase_ends(piece: _Piece, fx: _Effects) -> None:
    """A choir breathes at each phrase's end (but the last): the notes ending there end 0.2 s
    early."""
    ends = [b for _, b in piece.phrases if b < piece.score.end_beats - EPS]
    for i, (_, n) in enumerate(piece.notes):
        if any(abs(n.end_beats - e) < EPS for e in ends):
            fx.breath[i] = max(fx.breath[i], BREATH_S)


def rules_expression(
    score: Score,
    phrases: list[tuple[float, float]] | None = None,
    palette: Sequence[Rule] = DEFAULT_PALETTE,
    seed: int = 0,
    choir: bool = False,
) -> Expression:
    """How the KTH rules play `score`: `deadpan(score)` with each rule of `palette` (k its
    strength, 0 off) added on top. `phrases`: phrase spans in beats (sub-phrases are their
    halves); None: derive_phrases(score). `seed`: the noise rule's random numbers.
    `choir`: sung (or played on an organ), as chorales are: half the rubato, legato (no
    micro-pauses, no melody lead), a breath at each phrase end, no pedal. Otherwise a piano."""
    base = deadpan(score)
    if not score.notes():
        return base
    unknown = [r.name for r in palette if r.name not in RULES and r.name != "noise"]
    if unknown:
        raise ValueError(f"unknown performance rules {unknown}: the rules are {sorted([*RULES, 'noise'])}")
    piece = _piece(score, phrases, choir, base)
    n_notes, n_beats = len(piece.notes), len(piece.grid) - 1
    fx = _Effects(
        np.zeros(n_beats),
        np.zeros(n_beats),
        np.ones(len(piece.onsets)),
        np.zeros(n_notes),
        np.zeros(n_notes),
        np.zeros(n_notes),
        np.zeros(n_notes),
    )
    rng = np.random.default_rng(seed)
    for rule in palette:
        if rule.k == 0:
            continue
        if rule.name == "noise":
            noise(piece, fx, rule.k, rng)
        else:
            RULES[rule.name](piece, fx, rule.k)
    if choir:
        _breaths_at_phrase_ends(piece, fx)
        fx.log_rubato *= CHOIR_RUBATO
        fx.ioi = fx.ioi**CHOIR_RUBATO
    return _express(piece, fx, base)


def _express(piece: _Piece, fx: _Effects, base: Expression) -> Expression:
    """The effects as an Expression: beat factors from the rubato (normalized to the score's
    length), the note-level IOIs and the fixed stretches; shifts that put each onset where
    its IOIs place it; articulation from the micro-pauses; velocities from the dB."""
    grid, seconds = piece.grid, piece.beat_seconds
    onsets, n_beats = piece.onsets, len(grid) - 1
    # each beat's share of each onset interval's IOI change
    edges = np.append(onsets, grid[-1])
    beat_ioi = np.ones(n_beats)
    for j in range(len(onsets)):
        a, b = edges[j], max(edges[j + 1], edges[j])
        if fx.ioi[j] == 1.0 or b <= a:
            continue
        for beat in range(piece.beat_of(a), n_beats):
            if grid[beat] >= b - EPS:
                break
            overlap = min(b, grid[beat + 1]) - max(a, grid[beat])
            if overlap > 0:
                beat_ioi[beat] += (fx.ioi[j] - 1.0) * overlap / (grid[beat + 1] - grid[beat])
    beat_ioi = np.maximum(beat_ioi, 0.1)
    rubato = np.exp(fx.log_rubato) * beat_ioi
    rubato *= seconds.sum() / max(float((seconds * rubato).sum()), EPS)
    factor = np.clip(rubato * np.exp(fx.log_fixed), MIN_BEAT_FACTOR, MAX_BEAT_FACTOR)
    played = np.concatenate([[piece.marked[0]], piece.marked[0] + np.cumsum(seconds * factor)])
    beat_level = np.concatenate([[piece.marked[0]], piece.marked[0] + np.cumsum(seconds * factor / beat_ioi)])
    # the ideal time map: within each onset interval, the beat-level map stretched by its IOI change
    knots = np.unique(np.round(np.concatenate([grid, onsets, [n.end_beats for _, n in piece.notes]]), 6))
    knots = knots[(knots >= grid[0]) & (knots <= grid[-1])]
    base_times = np.interp(knots, grid, beat_level)
    which = np.searchsorted(onsets, knots[:-1] + EPS, side="right") - 1
    ratio = np.where(which >= 0, fx.ioi[np.clip(which, 0, None)], 1.0)
    ideal = np.concatenate([[base_times[0]], base_times[0] + np.cumsum(np.diff(base_times) * ratio)])

    starts = np.array([n.start_beats for _, n in piece.notes])
    ends = np.array([n.end_beats for _, n in piece.notes])
    ideal_start, ideal_end = np.interp(starts, knots, ideal), np.interp(ends, knots, ideal)
    grid_start, grid_end = np.interp(starts, grid, played), np.interp(ends, grid, played)
    shift = ideal_start - grid_start + fx.shift
    sounding = ideal_end - ideal_start
    cut = np.minimum(fx.gap + fx.breath, 0.5 * sounding)
    end = ideal_end - cut
    articulation = np.maximum(end - (grid_start + shift), 0.05 * sounding) / np.maximum(grid_end - grid_start, EPS)
    db = fx.db.copy()
    if piece.melody:
        db -= db[piece.melody].mean()
    velocity = np.clip(base.velocity * 10.0 ** (db / DB_PER_VELOCITY_DECADE), 1, 127)
    return Expression(
        beats=grid,
        beat_factor=factor,
        velocity=velocity,
        shift_seconds=shift,
        articulation=articulation,
        pedal=sorted(fx.pedal),
    )
