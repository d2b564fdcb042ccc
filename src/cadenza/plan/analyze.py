"""The analyzer: a piece's form read from its notes, as a Plan that `generate --plan` accepts.

    analysis = analyze(score)
    analysis.phrases     each phrase's bars, its last note's onset, its key and its cadence
    analysis.plan        sections labelled A, B, A' ... in order of first appearance, with keys,
                         phrases and cadences; plan.relation(i): new, exact, transposed, varied
    analysis.similarity  the (bars, bars) bar similarity (cadenza.plan.similarity)

How it reads a piece:
- Bars are counted from beat 0 in the first meter's length; a pickup sits at the end of bar 0
  (cadenza.score.pickup_start), so a pickup piece's first phrase holds one bar more. Bars are
  compared on a sixteenth-note grid, so that a played performance compares as its notation.
- The melody is the top line of the part named melody, vocal or soprano, else of the highest.
- Phrase ends: the notes under fermatas where they mark the phrases, as a chorale's do
  (theory.fermatas_mark_phrases: not a long piece's one fermata on its close). Otherwise
  each bar gets the strength of its best phrase-ending note (a long note or one before a rest,
  theory.phrase_ends; a cadence in the home key, theory.cadence_kind, weighed by the note's
  length; a strong beat), a bar with no melody taking the one before's; to that are added a
  note after a rest at the next bar line, the novelty of the bar similarity across the line (a
  checkerboard kernel, Foote 2000), a repetition starting or ending there, and for a single
  line the grid of usual-length phrases. Dynamic programming picks the boundaries that maximize
  these strengths minus a cost per phrase plus a prior on each phrase's length (best at the
  usual length: 8 beats for a melody in quarter notes in 4/4, else 16, in bars; then twice
  that); it runs again with a bonus wherever an exactly repeated passage has a boundary in its
  other playing.
- Keys: the home key is the file's (unless a tenth of the notes lie outside its scale), else
  theory.tune_key for a single line, else the best-correlated key (Krumhansl-Schmuckler) or
  one nearly as good whose tonic is the final bass note. A section's key is the home key
  unless another fits its notes better by a margin and the section closes with an authentic or
  imperfect cadence in it; a phrase's key likewise against its section's.
- Cadences: the chord before and the chord at each phrase end, matched in the phrase's key
  (theory.cadence_kind); a single melody line is judged by its degrees alone. A chord at a
  phrase end that makes no cadence in its key is read in the closely related keys (a half
  cadence in vi). A phrase whose cadence is in another key than its section's carries that
  key in the plan's cadence_keys, as a Roman numeral seen from the section's key.
- Sections: each phrase returns the earlier phrase it resembles best (bars of notes in common,
  Jaccard, plan.similarity): exactly, transposed (at the best shift) or varied (the same
  rhythm, part of the notes, and its first half mostly, in common). Phrase pairs that recur
  together are merged into one section (as Re-Pair merges symbols, up to 16 bars), neighbouring
  phrases that never return are joined up to the usual section length, and each section is
  labelled by the first section it returns; a phrase is labelled a, b ... the same way.
- Periods: a new section whose second phrase is as long as its first and opens with bars like
  the first's (each bar's Jaccard >= SAME) has that many bars as its `echo`; so does a section
  of one phrase of 8 bars or more whose second half opens as its first (a reel's strain in 2/4,
  whose 16-beat phrase is 8 bars: the corpus's 2/4 tunes of 32 bars repeat bars 4 apart as
  often as its 6/8 ones).
- Rhymes: a new section between the first and the last, in the first section's key, whose last
  bars are like the first section's last bars (each bar's Jaccard >= SAME, the last bar's notes
  up to the cadence's arrival only, where both sections' cadences arrive at one place in the
  bar: what follows is an upbeat into different music; fewer than its last phrase has, clear of
  its echo) has that many as its `rhyme`; a last bar alone rhymes with two notes or more up to
  the arrival, not with the cadence's one note.
- Endings: an exact return before the last section whose last bars are not its source's, note
  for note (fewer than its last phrase has), has that many as its `ending`: a strain played
  again with another last bar, as a second ending makes it. In a tune with a pickup the
  difference is often the upbeat alone (the first time into the strain again, the second into
  the next), which a musician writes as first and second endings too. A return with several new
  bars is less alike than an exact one (SAME) and is read as a varied return (A') instead.

The weights below were set on the first 40-100 pieces of benchmarks/analyze_quality.py's three
sets (Bach chorales, Nottingham tunes, POP909 songs); that script reports on them and on more.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, replace

import numpy as np

from cadenza.errors import MusicError
from cadenza.plan.form import Plan, Section, period_bars
from cadenza.plan.similarity import BarNotes, bar_notes, bar_similarity, jaccard, shifted
from cadenza.score import Key, Note, Score, parse_meter, pickup_start, without_grace_notes
from cadenza.theory import (
    bar_and_beat,
    beat_beats,
    cadence_kind,
    cut_top_line,
    fermatas_mark_phrases,
    key_correlations,
    key_name,
    key_numeral,
    phrase_ends,
    related_keys,
    scale,
    tonic_triad,
    tune_key,
)


@dataclass
class Phrase:
    start_bar: int  # from 0
    end_bar: int  # exclusive
    end_beats: float  # onset (beats) of the phrase's final note/chord
    key: Key  # the phrase's local key
    cadence: str  # one of cadenza.plan.form.CADENCES
    label: str = ""  # the phrase's own material: a, b, ... in order of first appearance, a' varied

    @property
    def bars(self) -> int:
        return self.end_bar - self.start_bar


@dataclass
class Analysis:
    bars: int
    meter: str
    key: Key  # home key
    phrases: list[Phrase]
    plan: Plan
    similarity: np.ndarray  # (bars, bars) bar similarity
    pickup: bool = False  # the piece opens with a pickup: its bar 0 (Phrase.start_bar 0) holds only that

    def recipe(self) -> Plan:
        """The plan as a recipe for another piece, as `cadenza analyze` writes it for `generate
        --plan`: each section's key named (a section without one is given a key by the planner,
        which may move it away from home), and a close heard without a cadence (a tune whose last
        bar leads back to its start, say) left open, so that the new piece closes as a plan does."""
        sections = [replace(s, key=s.key or self.plan.key) for s in self.plan.sections]
        last = sections[-1]
        if len(last.cadences) == len(last.phrase_bars()) and last.cadences[-1] == "none":
            sections[-1] = replace(last, cadences=last.cadences[:-1] + [""])
        return replace(self.plan, sections=sections)

    def describe(self) -> str:
        """The form as a musician reads it: Plan.describe, then one line per phrase (its bars
        numbered as the plan's sections and the notation number them, from the first whole bar,
        its key, its cadence, and where its last note falls: theory.bar_and_beat)."""
        lines = [self.plan.describe(), "phrases"]
        meter = parse_meter(self.meter)
        first = 0 if self.pickup else 1  # the number of Phrase.start_bar 0
        for n, p in enumerate(self.phrases, 1):
            at = f"ends {bar_and_beat(p.end_beats, meter, first=first)}"
            bars = f"bars {max(p.start_bar + first, 1)}-{p.end_bar - 1 + first}"
            lines.append(f"  {n:>2}  {p.label:<3} {bars}  {key_name(p.key, self.plan.key)}  {p.cadence}  {at}")
        return "\n".join(lines)


# -- tunables (see the module's docstring) --------------------------------------------------------
PHRASE_COST = 1.2  # a phrase boundary must earn this much
LENGTH_PRIOR = {"double": 0.0, "half": -1.8, "other": -1.6, "one": -2.5}  # against the usual length
START_WEIGHT = 0.3  # a note after a rest at a bar line: the next phrase begins
ENTRY_WEIGHT = 3.0  # ... after a bar or more of silence: the melody enters
REPEAT_WEIGHT = 0.8  # a repetition starts or ends at a bar line
GRID_WEIGHT = 0.5  # a single line's boundary on the grid of usual-length phrases from the start
MIRROR_WEIGHT = 1.0  # a boundary where the same passage, played elsewhere, has one
LONGEST_PHRASE = 16  # bars
CADENCE_WEIGHT = {"authentic": 1.0, "imperfect": 0.6, "half": 0.6, "plagal": 0.5, "deceptive": 0.5, "none": 0.0}
NOVELTY_WEIGHT = 0.6
KEY_MARGIN = 0.1  # a key this near the best-correlated (Krumhansl-Kessler) is nearly as good
HOME_PRIOR = 0.1  # how much better another key must fit a section's notes than the home key
SECTION_PRIOR = 0.1  # likewise for a phrase and its section's key
SAME = 0.8  # mean bar Jaccard at or above which a phrase returns another (exactly or transposed)
VARIED = 0.6  # mean of notes' and rhythm's similarity at or above which it is a varied return
VARIED_NOTES = 0.4  # ... if at least this much of its notes are the same (untransposed)
VARIED_HEAD = 0.6  # ... and as much of its first half: a variation begins as its model did
LONGEST_SECTION = 16  # bars: phrases that recur together are merged up to this length


def analyze(score: Score) -> Analysis:
    """The form of `score`: phrases, keys, cadences, sections and what returns what."""
    score = without_grace_notes(score)  # ornaments aside
    pitched = score.pitched_parts
    if not pitched:
        raise MusicError("no pitched notes to analyze")
    bar_beats = score.meter.bar_beats
    notes = sorted((x for p in pitched for x in p.notes), key=lambda x: (x.start_beats, x.pitch))
    melody = _melody(pitched)
    bars = bar_notes(_quantized(score), bar_beats)
    n_bars = len(bars)
    sim = bar_similarity(bars)
    sounding = _Sounding(notes)
    home = _home_key(score, melody, notes, sounding)
    pickup = pickup_start(score) > 0

    onsets = {round(x.start_beats, 6) for x in melody}
    on_melody = [f for f in score.fermatas_beats if round(f, 6) in onsets]  # those that can end its phrases
    marked = fermatas_mark_phrases(on_melody, score.end_beats, score.meter)
    if marked:
        ends = _marked_ends(melody, score, bar_beats, n_bars)
    else:
        ends = _inferred_ends(melody, score, bar_beats, n_bars, sim, home, sounding, pickup)

    spans = []  # (start bar, end bar exclusive, end beats)
    start = 0
    for bar, at in ends:
        if not start * bar_beats - 1e-6 <= at < (bar + 1) * bar_beats:  # its last note is its last onset
            inside = [x.start_beats for x in notes if start * bar_beats - 1e-6 <= x.start_beats < (bar + 1) * bar_beats]
            at = max(inside, default=start * bar_beats)
        spans.append((start, bar + 1, at))
        start = bar + 1

    groups, relations, phrase_labels = _sections(spans, bars, melody, bar_beats)
    if marked:  # a chorale's lines; a tune's strain that modulates is one section (Nottingham's parts)
        groups, relations = _split_at_key_change(groups, relations, spans, notes, home, melody, sounding, score)

    # keys: each section's (a return keeps its source's, a transposed one moves it), then each phrase's
    section_keys: list[Key] = []
    for g, (source, rel, shift) in zip(groups, relations):
        if rel == "exact" and source is not None:
            section_keys.append(section_keys[source])
        elif rel == "transposed" and source is not None:
            k = section_keys[source]
            section_keys.append(Key(0.0, (k.tonic + shift) % 12, k.mode))
        else:
            section_keys.append(_phrases_key(spans, g[0], g[-1], notes, home, melody, sounding, score))

    phrases: list[Phrase] = []
    for g, skey in zip(groups, section_keys):
        for i in g:
            s, e, at = spans[i]
            span = _between(notes, s * bar_beats, e * bar_beats)
            pkey = _local_key(span, skey, SECTION_PRIOR, at, melody, sounding, score)
            cadence = _cadence_at(at, pkey, melody, sounding, score)
            if cadence == "none" and sounding.chord(at)[0] is not None:  # a half cadence in vi, say
                pkey, cadence = _related_cadence(span, pkey, at, melody, sounding, score)
            phrases.append(Phrase(s, e, at, pkey, cadence, phrase_labels[i]))

    # the plan counts whole bars from the first downbeat: a pickup's bar comes off the first phrase
    trim = 1 if pickup and spans[0][1] - spans[0][0] >= 2 else 0
    last = len(phrases) - 1
    sections: list[Section] = []
    labels: dict[int, str] = {}
    for gi, (g, (source, rel, _)) in enumerate(zip(groups, relations)):
        root = gi if source is None else _root(relations, gi)
        if root not in labels:
            labels[root] = _letters(len(labels))
        skey = section_keys[gi]
        cut = trim if gi == 0 else 0
        length = spans[g[-1]][1] - spans[g[0]][0] - cut
        earlier = next((x for x in sections if x.label == labels[root]), None)
        phrase_bars = [spans[i][1] - spans[i][0] - (cut if k == 0 else 0) for k, i in enumerate(g)]
        echo = 0  # a new section's second phrase opening with its first's bars: a period
        half = period_bars(phrase_bars)  # its first phrase, or the first half of its one long phrase
        if source is None and half:
            a = spans[g[0]][0] + cut
            b = a + half
            while echo < half - 1 and sim[a + echo, b + echo] >= SAME:
                echo += 1
        rhyme = 0  # a new inner section in the first one's key ending with its last bars
        if source is None and 0 < gi < len(groups) - 1 and skey == section_keys[0]:
            a, b = spans[groups[0][-1]][1], spans[g[-1]][1]  # the two sections' ends (exclusive)
            first_bars = spans[groups[0][-1]][1] - spans[groups[0][0]][0] - trim
            most = min(phrase_bars[-1] - 1, first_bars, length - (half + echo if echo else 0))
            # where the cadences arrive in the two last bars, on the sixteenths the bars are quantized to
            at_a, at_b = (
                round((spans[x][2] - (e - 1) * bar_beats) * 4) / 4 for x, e in ((groups[0][-1], a), (g[-1], b))
            )
            # their notes struck up to the arrival, by onset and pitch (the arrival's length is the music after's)
            heads = [frozenset(x[:2] for x in bars[e - 1] if x[0] <= at_a + 1e-6) for e in (a, b)]
            if most and at_a == at_b:  # the last bar up to the cadence's arrival
                rhyme = int(any(heads) and jaccard(*heads) >= SAME)
            while rhyme and rhyme < most and sim[a - 1 - rhyme, b - 1 - rhyme] >= SAME:
                rhyme += 1
            if rhyme == 1 and len(heads[1]) < 2:  # a cadence's one note alone rhymes nothing
                rhyme = 0
        ending = 0  # an exact return's last bars that are not its source's: a second ending (not the close)
        same = rel == "exact" and earlier is not None and earlier.bars == length and section_keys[root] == skey
        if same and gi < len(groups) - 1:
            a, b = spans[groups[root][-1]][1], spans[g[-1]][1]  # the two sections' ends (exclusive)
            while ending < phrase_bars[-1] - 1 and bars[a - 1 - ending] != bars[b - 1 - ending]:
                ending += 1
        sections.append(
            Section(
                label=labels[root],
                bars=length,
                primes=1 if rel == "varied" or (earlier is not None and earlier.bars != length) else 0,
                key=None if skey == home else skey,
                phrases=phrase_bars,
                cadences=[phrases[i].cadence for i in g],
                cadence_keys=away if any(away := [_cadence_key(skey, phrases[i], i == last) for i in g]) else [],
                echo=echo,
                rhyme=rhyme,
                ending=ending,
            )
        )
    plan = Plan(
        sections,
        key=home,
        meter=str(score.meter),
        fermatas=True if marked else None,
        cadence_beat=_cadence_beat(phrases, bar_beats),
    )
    plan.check("analysis")
    return _named_as_the_file(Analysis(n_bars, str(score.meter), home, phrases, plan, sim, pickup), score.key)


def _named_as_the_file(analysis: Analysis, key: Key | None) -> Analysis:
    """`analysis` with each key it reads on the tonic and mode of the church mode its file names
    (`key`: ABC's K:Ddor, MusicXML's <mode>dorian</mode>) named as that mode: D dorian, not the
    D minor the key profiles read. The reading itself knows major and minor only."""
    if key is None or not key.modal:
        return analysis
    named = replace(key, start_beats=0.0)

    def as_named(k: Key) -> Key:
        return named if k.same_key(named) else k

    plan = analysis.plan
    sections = [replace(x, key=x.key and as_named(x.key)) for x in plan.sections]
    plan = replace(plan, key=plan.key and as_named(plan.key), sections=sections)
    phrases = [replace(x, key=as_named(x.key)) for x in analysis.phrases]
    return replace(analysis, key=as_named(analysis.key), phrases=phrases, plan=plan)


def _cadence_key(section_key: Key, phrase: Phrase, last: bool) -> str:
    """The key a phrase's cadence is in, as a Plan's cadence_keys has it: "" for its section's
    key (or no cadence, or the piece's last phrase: a plan closes at home, whatever the phrase
    list says of a close on a Picardy third or a Phrygian half cadence), else a Roman numeral
    seen from the section's key."""
    same = phrase.key.same_key(section_key)
    return "" if same or last or phrase.cadence == "none" else key_numeral(section_key, phrase.key)


def _cadence_beat(phrases: list[Phrase], bar_beats: float) -> float | None:
    """The beat of the bar (from 1, in quarter notes) the piece's inner phrase ends fall on most
    often (ties: the earliest); None with no inner phrase end."""
    beats = [round((p.end_beats % bar_beats) * 4) / 4 for p in phrases[:-1]]
    if not beats:
        return None
    return 1 + max(sorted(set(beats)), key=beats.count)


def cadence_at(score: Score, end_beats: float, key: Key) -> str:
    """The cadence the music makes in `key` at a phrase end whose final note or chord starts at
    `end_beats` (where a plan put one): what evaluation checks a realized plan by."""
    pitched = score.pitched_parts
    if not pitched:
        return "none"
    notes = sorted((x for p in pitched for x in p.notes), key=lambda x: (x.start_beats, x.pitch))
    return _cadence_at(end_beats, key, _melody(pitched), _Sounding(notes), score)


def section_key(score: Score, start_beats: float, end_beats: float, home: Key) -> Key:
    """The key of the music from `start_beats` to `end_beats` as the analyzer reads a section's:
    `home` unless another key fits its notes better (HOME_PRIOR) and its last phrase end, the
    last note onset inside, cadences in it."""
    pitched = score.pitched_parts
    notes = sorted((x for p in pitched for x in p.notes), key=lambda x: (x.start_beats, x.pitch))
    inside = _between(notes, start_beats, end_beats)
    if not inside:
        return home
    end = max(x.start_beats for x in inside)
    return _local_key(inside, home, HOME_PRIOR, end, _melody(pitched), _Sounding(notes), score)


# ---------------------------------------------------------------------------------------------
# the melody and what sounds when


MELODY_NAMES = ("melody", "vocal", "soprano", "lead")


def _melody(parts) -> list[Note]:
    """The top line of the part named as the melody (MELODY_NAMES), else of the highest part (by
    mean pitch)."""
    named = [p for p in parts if any(w in p.name.lower() for w in MELODY_NAMES)]
    top = named[0] if named else max(parts, key=lambda p: sum(x.pitch for x in p.notes) / len(p.notes))
    return cut_top_line(top.notes)


class _Sounding:
    """The notes sounding at a time, found fast: notes sorted by onset, searched back as far as
    the longest note reaches."""

    def __init__(self, notes: list[Note]) -> None:
        self.notes = notes
        self.starts = [x.start_beats for x in notes]
        self.longest = max((x.duration_beats for x in notes), default=0.0)

    def at(self, t: float) -> list[Note]:
        hi = bisect.bisect_right(self.starts, t + 1e-6)
        lo = bisect.bisect_left(self.starts, t - self.longest - 1e-6)
        return [x for x in self.notes[lo:hi] if x.end_beats > t + 1e-6]

    def chord(self, t: float) -> tuple[int | None, frozenset[int]]:
        """(the bass's pitch class, pitch classes) sounding at t; (None, ...) when one note or none."""
        here = self.at(t)
        pcs = frozenset(x.pitch % 12 for x in here)
        if len(pcs) <= 1:
            return None, pcs
        return min(here, key=lambda x: x.pitch).pitch % 12, pcs


def _quantized(score: Score, grid: float = 0.25) -> Score:
    """The score with onsets and lengths on a grid (sixteenths): a played performance's bars
    compare as the notation's would."""

    def q(t: float) -> float:
        return round(t / grid) * grid

    parts = [
        replace(
            p,
            notes=[
                replace(x, start_beats=q(x.start_beats), duration_beats=max(grid, q(x.duration_beats))) for x in p.notes
            ],
        )
        for p in score.parts
    ]
    return replace(score, parts=parts)


def _between(notes: list[Note], lo: float, hi: float) -> list[Note]:
    return [x for x in notes if lo - 1e-6 <= x.start_beats < hi - 1e-6]


# ---------------------------------------------------------------------------------------------
# keys


def _home_key(score: Score, melody: list[Note], notes: list[Note], sounding: _Sounding) -> Key:
    """The file's key unless a tenth of the notes (by duration) lie outside its scale and it is
    neither nearly as well correlated as the best key, closing on its tonic chord (a chromatic
    Adagio of Mozart's, ending on its tonic chord in first inversion, had been put in its
    dominant's key), nor the key the piece opens in (`_opens_in`: a chorale in C# minor that
    moves to G# major and closes there had been read as in A flat major); else, for
    a single line, theory.tune_key; else the best-correlated key among the few nearly as good
    whose tonic is the final bass note."""
    ranked = key_correlations(notes)
    best = ranked[0][0]
    last = max(x.start_beats for x in notes)
    final = [x.pitch for x in notes if x.start_beats >= last - 1e-6]
    if score.key is not None:
        declared = Key(0.0, score.key.tonic, score.key.mode, score.key.tonic_name)
        if _outside(notes, score.key) < 0.1:
            return declared
        fit = next(r for r, k in ranked if (k.tonic, k.mode) == (declared.tonic, declared.mode))
        closing = {p % 12 for p in final}
        if fit >= best - KEY_MARGIN and declared.tonic in closing and closing <= tonic_triad(declared):
            return declared
        if _opens_in(declared, notes, score.meter.bar_beats):
            return declared
    if len({x.start_beats for x in notes}) == len(notes) and len(notes) == len(melody):
        return tune_key(melody)
    bass = min(final) % 12
    on_bass = [k for r, k in ranked[:4] if k.tonic == bass and r >= best - KEY_MARGIN]
    return on_bass[0] if on_bass else ranked[0][1]


OPENING_BARS = 2  # the bars whose notes say which key a piece opens in


def _opens_in(key: Key, notes: list[Note], bar_beats: float) -> bool:
    """Whether the piece opens in `key`: its first chord (the notes struck first) is the tonic
    triad over the tonic, two of its notes at least (a lone note, a pickup, says little; an open
    fifth, as a B minor chorale opened, says enough) and the mode's own third if any (C major's
    chord does not open C minor), and no more than a
    quarter of its first OPENING_BARS bars' notes (by duration) lie outside the key's scale (a C#
    minor chorale's opening had an eighth: its Neapolitan D and a Picardy E#). Not by
    correlation: a minor chorale's first phrase closing in its relative major correlates far
    better with the major key."""
    first = notes[0].start_beats
    chord = [x.pitch for x in notes if x.start_beats <= first + 1e-6]
    classes = {p % 12 for p in chord}
    if min(chord) % 12 != key.tonic or len(classes) < 2 or not classes <= tonic_triad(key, False):
        return False
    return _outside(_between(notes, first, first + OPENING_BARS * bar_beats), key) <= 0.25


def _outside(notes: list[Note], key: Key) -> float:
    """The share of `notes` (by duration) whose pitch class lies outside `key`'s scale."""
    total = sum(x.duration_beats for x in notes)
    return sum(x.duration_beats for x in notes if x.pitch % 12 not in scale(key)) / total if total else 0.0


def _local_key(
    notes: list[Note], prefer: Key, margin: float, end: float, melody: list[Note], sounding: _Sounding, score: Score
) -> Key:
    """The key of a span of notes ending on a phrase end at `end`: `prefer`, unless another key
    fits the notes better by `margin` (Krumhansl-Schmuckler) and the span closes in it with a
    stronger cadence than in `prefer` (authentic, then imperfect; the best-fitting such key). A
    phrase closing on the tonic of `prefer` stays in it: B C# D C# B A F# E D closes in D major,
    though B minor fits its notes better."""
    if not notes:
        return prefer
    ranked = key_correlations(notes)
    mine = Key(0.0, prefer.tonic, prefer.mode)
    floor = next(r for r, k in ranked if k == mine) + margin
    own = _CLOSING.get(_cadence_at(end, prefer, melody, sounding, score), 0)
    for r, k in ranked:
        if r < floor:
            break
        if _CLOSING.get(_cadence_at(end, k, melody, sounding, score), 0) > own:
            return k
    return prefer


_CLOSING = {"authentic": 2, "imperfect": 1}  # how firmly a cadence closes in its key


def _phrases_key(
    spans: list[tuple[int, int, float]],
    first: int,
    last: int,
    notes: list[Note],
    home: Key,
    melody: list[Note],
    sounding: _Sounding,
    score: Score,
) -> Key:
    """The key of phrases `first`..`last` (indices into `spans`: start bar, end bar, end beats)
    read as a section's: `home` unless another fits them better by HOME_PRIOR and the last one's
    end cadences in it (_local_key)."""
    bar_beats = score.meter.bar_beats
    lo, hi = spans[first][0] * bar_beats, spans[last][1] * bar_beats
    return _local_key(_between(notes, lo, hi), home, HOME_PRIOR, spans[last][2], melody, sounding, score)


def _related_cadence(
    notes: list[Note], key: Key, end: float, melody: list[Note], sounding: _Sounding, score: Score
) -> tuple[Key, str]:
    """(key, cadence) of a phrase that makes no cadence in its own `key`: the first of the keys
    closely related to it (sharing its signature: ii, iii, IV, V, vi of a major key; III, iv, v,
    VI, VII of a minor one), by how well they fit the notes, in which its end makes one; else
    (key, "none")."""
    fit = {k: r for r, k in key_correlations(notes)} if notes else {}
    for k in sorted(related_keys(key), key=lambda k: -fit.get(k, 0.0)):
        cadence = _cadence_at(end, k, melody, sounding, score)
        if cadence != "none":
            return k, cadence
    return key, "none"


# ---------------------------------------------------------------------------------------------
# phrase ends


def _bar_of(t: float, bar_beats: float, n_bars: int) -> int:
    return min(max(int(t / bar_beats + 1e-6), 0), n_bars - 1)


def _marked_ends(melody: list[Note], score: Score, bar_beats: float, n_bars: int) -> list[tuple[int, float]]:
    """(last bar, end onset) of each phrase: the notes under fermatas and the last; two in one
    bar keep the later."""
    ends: dict[int, float] = {}
    for x in phrase_ends(melody, score.meter, score.fermatas_beats):
        ends[_bar_of(x.start_beats, bar_beats, n_bars)] = x.start_beats
    out = sorted(ends.items())
    if out[-1][0] != n_bars - 1:
        out[-1] = (n_bars - 1, out[-1][1])
    return out


def _inferred_ends(
    melody: list[Note],
    score: Score,
    bar_beats: float,
    n_bars: int,
    sim: np.ndarray,
    home: Key,
    sounding: _Sounding,
    pickup: bool,
) -> list[tuple[int, float]]:
    """(last bar, end onset) of each phrase, chosen by dynamic programming over the bars."""
    strength = np.zeros(n_bars)
    end_at = [b * bar_beats for b in range(n_bars)]
    for x in sounding.notes:  # a bar with no melody ends on its last onset
        end_at[_bar_of(x.start_beats, bar_beats, n_bars)] = x.start_beats
    chosen = [False] * n_bars
    marked = {id(x) for x in phrase_ends(melody, score.meter)}
    median = float(np.median([x.duration_beats for x in melody])) if melody else 1.0
    half_bar = bar_beats / 2 if score.meter.numerator % 2 == 0 else bar_beats
    for i, x in enumerate(melody[:-1]):
        b = _bar_of(x.start_beats, bar_beats, n_bars)
        held = min(1.0, x.duration_beats / (2 * median))  # 1 for a note twice the usual length
        s = 1.0 if id(x) in marked else 0.0
        s += held * (0.5 + CADENCE_WEIGHT[_cadence_at(x.start_beats, home, melody, sounding, score, i)])
        pos = (x.start_beats - b * bar_beats) / half_bar
        if abs(pos - round(pos)) < 1e-3:
            s += 0.3
        if not chosen[b] or s > strength[b]:
            strength[b], end_at[b], chosen[b] = s, x.start_beats, True
    # a bar with no melody before its last beat (a rest, a held note, a pickup) ends the phrase
    # its notes came from: the phrase takes in its closing rest
    beat = beat_beats(score.meter)
    body = [False] * n_bars
    for x in melody:
        b = _bar_of(x.start_beats, bar_beats, n_bars)
        if x.start_beats - b * bar_beats < bar_beats - beat - 1e-6:
            body[b] = True
    for b in range(1, n_bars):
        if not body[b] and strength[b - 1] >= strength[b]:
            strength[b], end_at[b] = strength[b - 1], end_at[b - 1]
    # a phrase starts with a note after a rest, on the downbeat or just before it
    for i, x in enumerate(melody):
        rest = x.start_beats - melody[i - 1].end_beats if i else x.start_beats
        nearest = round(x.start_beats / bar_beats)
        if rest >= beat - 1e-6 and 0 < nearest < n_bars and abs(x.start_beats - nearest * bar_beats) <= beat + 1e-6:
            strength[nearest - 1] += START_WEIGHT if rest < bar_beats - 1e-6 else ENTRY_WEIGHT
    strength += NOVELTY_WEIGHT * _novelty(sim) + REPEAT_WEIGHT * _repetition(sim)
    # the hypermeter of a single line: phrases of the usual length from the first full bar on
    usual = _usual_length(melody, score, bar_beats)
    for b in range(n_bars):
        if (b + 1 - (1 if pickup else 0)) % usual == 0 and len(sounding.notes) == len(melody):
            strength[b] += GRID_WEIGHT  # a single line: no harmony to say otherwise
    if melody:
        end_at[-1] = melody[-1].start_beats
    prior = _length_prior(melody, score, bar_beats, n_bars)
    cuts = _best_cuts(strength, prior, pickup)
    # a passage that repeats is cut where its other playing is: boundaries are mirrored across
    # each long exact repeat, and the cuts chosen again
    mirrored = np.zeros(n_bars)
    for d, start, stop in _repeats(sim):
        for b in cuts:
            for src, dst in ((b, b + d), (b, b - d)):
                lo = start if dst > src else start + d
                if lo <= src < lo + (stop - start) - 1 and 0 <= dst < n_bars - 1:
                    mirrored[dst] = MIRROR_WEIGHT
    if mirrored.any():
        cuts = _best_cuts(strength + mirrored, prior, pickup)
    return [(b, float(end_at[b])) for b in sorted(cuts)]


def _best_cuts(strength: np.ndarray, prior, pickup: bool) -> list[int]:
    """The last bar of each phrase: the cuts that maximize the boundaries' strengths minus
    PHRASE_COST each, plus the length prior of each phrase (dynamic programming)."""
    n_bars = len(strength)
    best = np.full(n_bars + 1, -math.inf)
    back = np.zeros(n_bars + 1, dtype=int)
    best[0] = 0.0
    for j in range(1, n_bars + 1):
        gain = (strength[j - 1] if j < n_bars else 0.0) - PHRASE_COST
        for length in range(1, min(LONGEST_PHRASE, j) + 1):
            i = j - length
            counted = length - 1 if (i == 0 and pickup and length > 1) else length
            value = best[i] + gain + prior(counted)
            if value > best[j]:
                best[j], back[j] = value, i
    cuts = []
    j = n_bars
    while j > 0:
        cuts.append(j - 1)
        j = int(back[j])
    return sorted(cuts)


def _repeats(sim: np.ndarray, least: int = 4) -> list[tuple[int, int, int]]:
    """(lag, start, stop) of each run of at least `least` bars start..stop-1 that bars start+lag..
    repeat exactly (bar similarity SAME or more)."""
    n = sim.shape[0]
    out = []
    for d in range(1, n):
        run = 0
        for b in range(n - d + 1):
            if b < n - d and sim[b, b + d] >= SAME:
                run += 1
                continue
            if run >= least:
                out.append((d, b - run, b))
            run = 0
    return out


def _usual_length(melody: list[Note], score: Score, bar_beats: float) -> int:
    """The usual phrase length in bars (see _length_prior)."""
    median = float(np.median([x.duration_beats for x in melody])) if melody else 1.0
    beats = 8.0 if median >= 0.75 and bar_beats >= 4 else 16.0
    return min((2, 4, 8), key=lambda c: abs(math.log2(beats / bar_beats / c)))


def _length_prior(melody: list[Note], score: Score, bar_beats: float, n_bars: int):
    """The score of a phrase of a given length in bars: best at the usual length, then at twice
    and half that. The usual length is 8 beats for a melody that moves in quarter notes or
    slower in bars of four beats or more (a chorale, a hymn), else 16 beats, in whole bars: 2, 4
    or 8 (2 bars of a 4/4 chorale, 4 of a 6/8 jig, a waltz or a pop song)."""
    usual = _usual_length(melody, score, bar_beats)
    table = {usual: 0.0, 2 * usual: LENGTH_PRIOR["double"], usual // 2: LENGTH_PRIOR["half"]}
    return lambda length: table.get(length, LENGTH_PRIOR["other"] if length > 1 else LENGTH_PRIOR["one"])


def _repetition(sim: np.ndarray, span: int = 4) -> np.ndarray:
    """(bars,) how clearly a repetition starts after each bar line, or ends before it: the next
    (previous) `span` bars repeat bars some lag away, and the bar across the line does not."""
    n = sim.shape[0]
    out = np.zeros(n)
    for d in range(2, n):
        g = np.diagonal(sim, d)  # g[i]: bar i against bar i + d
        m = len(g)
        c = np.concatenate([[0.0], np.cumsum(g)])
        i = np.arange(m)
        hi, lo = np.minimum(i + span, m), np.maximum(i - span + 1, 0)
        ahead = (c[hi] - c[i]) / (hi - i)  # bars i .. i+span-1 (against d later)
        behind = (c[i + 1] - c[lo]) / (i + 1 - lo)  # bars i-span+1 .. i
        before = np.concatenate([[0.0], g[:-1]])  # bar i - 1
        after = np.concatenate([g[1:], [0.0]])  # bar i + 1
        # bars j = i + d on repeat bars i on: a line before bar j; bars up to i are repeated d
        # later and bar i + 1 is not: a line after bar i
        np.maximum.at(out, i + d - 1, ahead - before)
        np.maximum.at(out, i, behind - after)
    return np.maximum(out, 0.0)


def _novelty(sim: np.ndarray, k: int = 2) -> np.ndarray:
    """(bars,) how different the k bars after each bar line are from the k bars before, as the
    bar similarity shows (a checkerboard kernel): 0 within a passage, up to 1 at a change."""
    n = sim.shape[0]
    out = np.zeros(n)
    for b in range(n - 1):
        lo, mid, hi = max(0, b + 1 - k), b + 1, min(n, b + 1 + k)
        within = (sim[lo:mid, lo:mid].mean() + sim[mid:hi, mid:hi].mean()) / 2
        across = sim[lo:mid, mid:hi].mean()
        out[b] = max(0.0, within - across)
    return out


# ---------------------------------------------------------------------------------------------
# cadences


def _cadence_at(
    t: float, key: Key, melody: list[Note], sounding: _Sounding, score: Score, index: int | None = None
) -> str:
    """The cadence a phrase ending on the melody note at onset t makes in `key`."""
    if index is None:
        starts = [x.start_beats for x in melody]
        index = max(0, bisect.bisect_right(starts, t + 1e-6) - 1)
    mel = melody[index].pitch % 12 if melody else None
    end_bass, end_pcs = sounding.chord(t)
    if end_bass is None:  # a single line: its own notes
        before = {melody[index - 1].pitch % 12} if index > 0 else set()
        return cadence_kind(key, None, before, None, end_pcs or ({mel} if mel is not None else set()), mel)
    beat = beat_beats(score.meter)
    before_bass, before_pcs = sounding.chord(t - beat)
    if (before_bass, before_pcs) == (end_bass, end_pcs):  # a held chord: the one before it
        for x in reversed(sounding.notes[: bisect.bisect_left(sounding.starts, t - beat - 1e-6)]):
            if x.start_beats < t - 2 * score.meter.bar_beats:
                break
            c = sounding.chord(x.start_beats)
            if c != (end_bass, end_pcs):
                before_bass, before_pcs = c
                break
    return cadence_kind(key, before_bass, before_pcs, end_bass, end_pcs, mel)


# ---------------------------------------------------------------------------------------------
# sections


def _letters(i: int) -> str:
    """A, B, ... Z, AA, AB ..."""
    return chr(65 + i) if i < 26 else _letters(i // 26 - 1) + chr(65 + i % 26)


def _rhythm(melody: list[Note], bar_beats: float, n_bars: int) -> list[frozenset[float]]:
    out: list[set[float]] = [set() for _ in range(n_bars)]
    for x in melody:
        b = _bar_of(x.start_beats, bar_beats, n_bars)
        out[b].add(round(x.start_beats - b * bar_beats, 3))
    return [frozenset(r) for r in out]


def _overlap(a: frozenset[float], b: frozenset[float]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _compare(
    a: tuple[int, int], b: tuple[int, int], bars: list[BarNotes], rhythm: list[frozenset[float]]
) -> tuple[float, float, int, float, float]:
    """(exact similarity, best transposed similarity, its shift, rhythm similarity, exact
    similarity of the first half) of two spans of bars, aligned at their ends over the shorter's
    length. The shift moves b onto a."""
    n = min(a[1] - a[0], b[1] - b[0])
    pairs = [(a[1] - n + k, b[1] - n + k) for k in range(n)]
    each = [jaccard(bars[i], bars[j]) for i, j in pairs]
    exact, head = float(np.mean(each)), float(np.mean(each[: (n + 1) // 2]))
    rhythm_sim = float(np.mean([_overlap(rhythm[i], rhythm[j]) for i, j in pairs]))
    best, best_shift = exact, 0
    if exact < 0.999 and rhythm_sim >= 0.5:
        for s in sorted(range(-11, 12), key=abs):
            if s == 0:
                continue
            v = float(np.mean([jaccard(bars[i], shifted(bars[j], s)) for i, j in pairs]))
            if v > best + 1e-9:
                best, best_shift = v, s
    return exact, best, best_shift, rhythm_sim, head


def _relation(
    a: tuple[int, int], b: tuple[int, int], bars: list[BarNotes], rhythm: list[frozenset[float]]
) -> tuple[str, float, int]:
    """How span b returns span a: ("exact" | "transposed" | "varied" | "new", strength, semitones
    b lies above a)."""
    if abs((a[1] - a[0]) - (b[1] - b[0])) > 1:
        return "new", 0.0, 0
    exact, best, shift, rhythm_sim, head = _compare(a, b, bars, rhythm)
    if exact >= SAME:
        return "exact", exact, 0
    if best >= SAME:
        return "transposed", best, -shift
    varied = 0.5 * exact + 0.5 * rhythm_sim
    if varied >= VARIED and exact >= VARIED_NOTES and head >= VARIED_HEAD:
        return "varied", varied, 0
    return "new", 0.0, 0


def _sections(
    spans: list[tuple[int, int, float]], bars: list[BarNotes], melody: list[Note], bar_beats: float
) -> tuple[list[list[int]], list[tuple[int | None, str, int]], list[str]]:
    """Phrases grouped into sections (lists of phrase indices, in order); for each section (the
    earlier section it returns or None, relation, semitones above it); each phrase's label."""
    rhythm = _rhythm(melody, bar_beats, len(bars))
    n = len(spans)
    # each phrase's family: the first phrase of the earlier one it returns best
    family = list(range(n))
    rank = {"exact": 3, "transposed": 2, "varied": 1}
    primes = [0] * n
    for j in range(n):
        best: tuple[int, float] = (0, 0.0)
        for i in range(j):
            rel, strength, _ = _relation(spans[i][:2], spans[j][:2], bars, rhythm)
            if rel != "new" and (rank[rel], strength) > best:
                best = (rank[rel], strength)
                family[j], primes[j] = family[i], 1 if rel == "varied" else primes[i]
    letters: dict[int, str] = {}
    for f in family:
        letters.setdefault(f, _letters(len(letters)).lower())
    phrase_labels = [letters[f] + "'" * p for f, p in zip(family, primes)]
    # merge phrase pairs that recur together (Re-Pair), longest sections LONGEST_SECTION bars
    groups: list[list[int]] = [[i] for i in range(n)]

    def symbol(g: list[int]) -> tuple[int, ...]:
        return tuple(family[i] for i in g)

    def length(g: list[int]) -> int:
        return spans[g[-1]][1] - spans[g[0]][0]

    while True:
        counts: dict[tuple, int] = {}
        first: dict[tuple, int] = {}
        k = 0
        last_at: dict[tuple, int] = {}
        for k in range(len(groups) - 1):
            pair = (symbol(groups[k]), symbol(groups[k + 1]))
            if length(groups[k]) + length(groups[k + 1]) > LONGEST_SECTION:
                continue
            if last_at.get(pair, -2) == k - 1:  # overlapping (x x x): count once
                continue
            counts[pair] = counts.get(pair, 0) + 1
            first.setdefault(pair, k)
            last_at[pair] = k
        pairs = [p for p, c in counts.items() if c >= 2]
        if not pairs:
            break
        pick = max(pairs, key=lambda p: (counts[p], -first[p]))
        merged: list[list[int]] = []
        k = 0
        while k < len(groups):
            if k + 1 < len(groups) and (symbol(groups[k]), symbol(groups[k + 1])) == pick:
                merged.append(groups[k] + groups[k + 1])
                k += 2
            else:
                merged.append(groups[k])
                k += 1
        groups = merged
    # neighbouring phrases that never return (nor are returned) join, up to a usual section's length
    occurs: dict[tuple, int] = {}
    for g in groups:
        occurs[symbol(g)] = occurs.get(symbol(g), 0) + 1
    repeated = [length(g) for g in groups if occurs[symbol(g)] > 1]
    usual = max(8, int(np.median(repeated))) if repeated else 8
    joined: list[list[int]] = []
    lonely: list[bool] = []
    for g in groups:
        alone = occurs[symbol(g)] == 1
        if joined and alone and lonely[-1] and length(joined[-1]) + length(g) <= usual:
            joined[-1] = joined[-1] + g
        else:
            joined.append(g)
            lonely.append(alone)
    groups = joined
    # each section's relation to the first section with its symbol
    relations: list[tuple[int | None, str, int]] = []
    seen: dict[tuple, int] = {}
    for gi, g in enumerate(groups):
        sym = symbol(g)
        if sym not in seen:
            seen[sym] = gi
            relations.append((None, "new", 0))
            continue
        src = groups[seen[sym]]
        a = (spans[src[0]][0], spans[src[-1]][1])
        b = (spans[g[0]][0], spans[g[-1]][1])
        rel, _, shift = _relation(a, b, bars, rhythm)
        relations.append((seen[sym], "varied" if rel == "new" else rel, shift))
    return groups, relations, phrase_labels


def _split_at_key_change(
    groups: list[list[int]],
    relations: list[tuple[int | None, str, int]],
    spans: list[tuple[int, int, float]],
    notes: list[Note],
    home: Key,
    melody: list[Note],
    sounding: _Sounding,
    score: Score,
) -> tuple[list[list[int]], list[tuple[int | None, str, int]]]:
    """Sections of phrases joined for never returning (`_sections`) cut where the music leaves the
    home key for good: at the phrase end that makes the firmest cadence in the home key
    (CADENCE_WEIGHT; the first of equals) with the phrases up to it at home and those after it to
    the section's end in another key, as a section's key is read (HOME_PRIOR), two phrases a side
    at least (a strain of two phrases, the second in the dominant, is one section). A chorale planned
    "A4 B4" in C# minor and G# major, nothing returning, had been read as one section of eight
    bars in G# major. For phrases marked by fermatas only, a chorale's lines: a tune's strain that
    moves to another key half way is one section (Nottingham's labelled parts: the B strain of
    Lambeth Walk, four phrases, the last two in D, is one part)."""

    def key_of(first: int, last: int) -> Key:
        return _phrases_key(spans, first, last, notes, home, melody, sounding, score)

    returned = {source for source, _, _ in relations if source is not None}
    out_groups: list[list[int]] = []
    out_relations: list[tuple[int | None, str, int]] = []
    moved: dict[int, int] = {}  # old group index -> new
    for gi, (g, (source, rel, shift)) in enumerate(zip(groups, relations)):
        moved[gi] = len(out_groups)
        cut = None
        if source is None and gi not in returned and len(g) >= 4:
            # two phrases a side at least: one phrase at home and one away is a section that modulates
            closes = {k: _cadence_at(spans[g[k - 1]][2], home, melody, sounding, score) for k in range(2, len(g) - 1)}
            cuts = [
                k
                for k, cadence in closes.items()
                if cadence != "none"
                and key_of(g[0], g[k - 1]).same_key(home)
                and not key_of(g[k], g[-1]).same_key(home)
            ]
            cut = max(cuts, key=lambda k: (CADENCE_WEIGHT[closes[k]], -k), default=None)
        source = None if source is None else moved[source]
        if cut is None:
            out_groups.append(g)
            out_relations.append((source, rel, shift))
        else:
            out_groups += [g[:cut], g[cut:]]
            out_relations += [(None, "new", 0), (None, "new", 0)]
    return out_groups, out_relations


def _root(relations: list[tuple[int | None, str, int]], i: int) -> int:
    while relations[i][0] is not None:
        i = relations[i][0]  # type: ignore[assignment]
    return i
