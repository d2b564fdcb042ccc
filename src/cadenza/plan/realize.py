"""A plan (cadenza.plan.form) turned into constraints on the notes: what a causal sampler must
write where, so that the model's music follows the form. The network still chooses the notes;
the plan narrows its choices.

- **Returns.** An exact return copies its first section cell by cell as the sampler reaches it
  (an echo); a transposed return copies it moved into its key (the shift of at most a tritone
  either way, so the music stays in its register). Where a return's phrase end asks for
  another cadence than the first time (a first and a second ending), the copy stops before the
  cadence's approach and the cadence is planned afresh. An exact return that closes the piece
  with its source's cadence (a strain played again to end the tune), no longer than its source,
  is copied up to that cadence and its arrival, which is held to the end of its counted beat and
  half the bar at least; after that it is the first time without the upbeat that led on: its
  held notes hold, and where it struck a note there is silence (an Echo that is `silent`). So
  the tune ends with the cadence figure each strain ended with, as O'Neill's tunes of 32 bars do
  (their last bar is like the B strain's first ending at a mean similarity of 0.63, and
  0.53-0.57 like the A strain's ends). In notation that last bar is a one-bar second ending.
  In the fermata style (chorales) such a return is copied up to its arrival only where its
  cadences arrive on the downbeat, the close's chord then held to the end under the fermata;
  arriving later in the bar, the close is new from its approach's bar.
- **Lead-ins.** A section played again at once (B B), in the key of the section before it, is
  led into the second time as the first: from the step after the arrival of the cadence that
  ends its first time, the music (the upbeat into its repeat) repeats what followed the arrival
  of the cadence before it (the upbeat into its first time), the cadence's own note held on as
  long as that one was (an Echo that `holds_on`). A strain's pickup is the same each time it
  is played: in O'Neill's A8 A8 B8 B8 tunes, the A strain's second ending and the B strain's
  first ending, both leading into B, are alike at 0.87.
- A return with an `ending` copies its source but for its
  last `ending` bars, which the model writes afresh to its planned cadence (a second ending);
  where that cadence is its source's, the cadence's arrival and the rest of its beat (its note
  or chord, held a beat under a fermata) are kept and what follows is new: the upbeat into what
  comes next, as most second endings differ (O'Neill's A strains played twice: 73% of their
  last bars share half their notes or more with the first time's).
- **Varied returns** (A') copy the first half of each of the section's phrases; in the rest of
  the phrase every voice keeps the rhythm of the first time (an onset where it had one, a held
  note where it held), and the top voice stays within a fourth of its old pitches, so each
  phrase begins as it did and ends anew, its contour kept while the notes are new (one phrase
  half copied and half new, not whole phrases copied and whole phrases new: what a listener,
  and the analyzer, hears as a variation). A return in the other mode (A in C major, A@a) is varied throughout: rhythm
  and outline, moved to the new tonic, with the new key's notes. A return in another key,
  varied or not, moves by the shift between the keys.
- **Periods.** A new section with an `echo` of n bars opens its second phrase (or the second
  half of its one long phrase) with its first phrase's first n bars (up to its own cadence's
  approach), copied as an exact return is, and leaves the rest of that phrase to the model: the
  same question, another answer.
- **Rhymes.** A new section with a `rhyme` of n bars ends with the first section's last n bars,
  copied as a return is (moved into its key), its cadence with them up to the cadence's arrival
  (held a beat under a fermata): what followed it there, an upbeat into the music after the
  first section, is new; a section that closes with another cadence than the first section's
  copies up to its own cadence's approach.
- **Hints.** Real tunes echo themselves far more than their plans say: bars a phrase apart, a
  B strain against the A, a second ending against the first, alike in part, below what the
  analyzer calls a return. So each cell the plan leaves free is nudged (Constraints.hints, not
  held) toward the cell at the same place in an earlier bar: in a new section, the bar as many
  bars before as its first phrase is long; in its first phrase, the first section's bar at
  that place (moved into its key); where neither is there (the first section's first phrase,
  or a later section's first phrase past the first section's length), the bar half a phrase
  before (a first phrase of 4 bars or more); in a return's bars written afresh (a second ending,
  a new cadence), the first time's. How hard is the model's own "echo_bias" (model.json
  "sampling"; none: no nudge); the sampler adds it to the hinted cell's token.
- **Turns.** A new section after the first (a tune's B strain) lies higher than the first, but
  for its closing bar (Constraints.turn_steps): the model's "turn_lean" log-odds an octave
  above middle C are added to its pitches, less what keeps their sum as it was, so that it
  strikes as many notes as it would have (sampler._leaned). O'Neill's tunes of 32 bars lie
  2.75 semitones higher in their second half than in their first, 88% of them higher.
- **Cadences.** At each phrase end the chord on the plan's cadence beat of the phrase's last bar
  (Plan.cadence_beat, quarter-note beats from 1; the downbeat when unset; the piece's close too,
  unless --free-ending leaves it to the model), and the beat before it, are narrowed to the
  cadence's chords in the section's key, or the key the phrase's cadence key names (a cadence in
  V: V of V, then V; theory.cadence_progression): the bass on the chord's root, the upper voices
  on its notes, the top voice on the cadence's melodic degrees (a lone melody: on degrees that
  tell the cadence, theory.melody_cadence), the last upper voice on the chord's third when no
  voice above sings it. A phrase planned to end without one ("none") ends, in voices in chords,
  on the tonic over its third, struck after a chord without V's root or leading tone
  (theory.open_end); a lone melody's
  is left to the model, and a return's is copied as its first time unless that had a cadence
  there (Plan.cadence_anew). With fermatas (chorale style) the cadence chord is struck by every
  voice (none holds into it) and held under a fermata to the bar line where it arrives inside its
  bar, and the next phrase begins on the downbeat, as Bach's chorales that open on a downbeat do
  (in the music21 chorales in 4/4, 257 of the 283 inner fermatas on beat 3 of such a chorale are
  half notes followed by a downbeat; one counted beat and an upbeat on beat 4 is how the
  chorales with a pickup go, 971 of 1,028). Their close arrives on that beat too, its chord held
  to the end (V on the beat before: in 4/4, two quarters and a half note, as 14 of the 18 such
  chorales of 16 bars end). Arriving on the downbeat, the chord is held one counted beat, the
  rest of the bar free for an upbeat. Without fermatas the arrival is held one step and the rest
  of the bar is free, but for a lone melody's inner cadences, held to the end of the counted beat
  (a newcomer heard a lead sheet's authentic close run on in eighths "like none"), and its half
  closes, whose notes on the bar's later counted beats keep to V's (one that runs on over the tonic's
  notes is chorded as a close on I: benchmarks/leadsheet_cadences.py); not over given chord
  symbols, which rule the melody's notes (a held note the next chord does not hold would leap
  away), and not led into a strain played again as the first time was (lead-ins, below) where
  that followed a close on I; the piece's close is held to the end (or ends as its strain's first
  time did, above).
- **Keys.** A section in another key than the home key keeps to that key's scale (and, on the
  beat before a cadence in yet another key and on its cadence chord, to that key's too); its first beat
  keeps to the notes both keys share (the pivot chord), so the change is prepared, and the
  phrase end's cadence in the new key, its dominant with the leading tone, confirms it. The
  first beat of the section that follows, back home or in a third key, is a pivot too.

The piece's own final cadence, when authentic and on the downbeat, is also the sampler's
final_cadence (which completes the tonic chord with its third); arriving later in the bar, or
copied from its strain's first time, it is the plan's cadence alone, whose arrival has its third sung all the same
(Constraints.thirds). The melody closes on the tonic. The close is in the
last section's key: Plan.check refuses a cadence key on the last phrase, and a Plan built in
code without the check is closed at home all the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from cadenza.plan.constraints import PITCH_CLASSES, Constraints, Echo, Hint
from cadenza.plan.form import Plan
from cadenza.score import Key, Meter, Repeat
from cadenza.theory import beat_beats, cadence_progression, melody_cadence, open_end, scale, thirds
from cadenza.tokenize.cells import N_CELL, REST

VARIED_REACH = 5  # semitones a varied return's top voice may move from its first pitches


@dataclass
class Grid:
    """Where the plan's bars fall on a sampler's grid."""

    n_voices: int
    steps_per_beat: int
    meter: Meter

    @property
    def steps_per_bar(self) -> int:
        return round(self.meter.bar_beats * self.steps_per_beat)

    @property
    def steps_per_beat_unit(self) -> int:
        """Steps in one counted beat (a dotted quarter in 6/8)."""
        return round(beat_beats(self.meter) * self.steps_per_beat)

    def bar(self, b: int) -> range:
        return range(b * self.steps_per_bar, (b + 1) * self.steps_per_bar)


def transposition(source: Key, target: Key) -> int:
    """Semitones from one key's tonic to another's, -6..5: the nearer way."""
    return (target.tonic - source.tonic + 6) % 12 - 6


@dataclass
class Marks:
    """What the notation shows of a realized plan: fermatas, and the returns that follow their
    section at once, exactly, written once between repeat signs (with first and second endings
    where the cadence differs); and `endings`, the bars each return writes afresh at its end
    (section index -> whole bars), which can be more than its plan's `ending` (a cadence other
    than the first time's is written from its approach's bar), where a plan may have one
    (Plan.may_end_anew)."""

    fermatas_beats: list[float]
    repeats: list[Repeat]
    endings: dict[int, int] = field(default_factory=dict)


def plan_constraints(
    plan: Plan,
    key: Key,
    grid: Grid,
    c: Constraints,
    fermatas: bool,
    final_cadence: bool = True,
    chords: bool = False,
) -> Marks:
    """Add the plan's returns, cadences and keys to `c` (in place); return the notation marks.
    Without `final_cadence` (--free-ending) the last phrase is left to the model. With `chords`
    (chord symbols given: chord_constraints follows) a lone melody's inner cadences are neither
    held through their beat nor kept on V's notes: the chords rule."""
    nv, spb = grid.n_voices, grid.steps_per_bar
    total = plan.bars * spb
    if c.step_cells is None:
        c.step_cells = np.ones((total, nv, N_CELL), dtype=bool)
    starts = plan.starts()
    keys = [plan.key_of(i) or key for i in range(len(plan.sections))]
    ends = plan.phrase_ends()
    # (an open ending, --free-ending, is not planned: its last bar is left to the model from the downbeat)
    arrivals = [round(b * grid.steps_per_beat) for b in plan.arrival_beats(grid.meter.bar_beats, final_cadence)]
    offset = round(plan.cadence_into(grid.meter.bar_beats) * grid.steps_per_beat)  # into an inner phrase's last bar
    close_into = arrivals[-1] - ends[-1][0] * spb  # and the piece's close
    # each cadence's key: its section's, or a numeral from it; the piece closes in its last section's key
    phrase_keys = [k or key for k in plan.phrase_keys(key)]
    # keys: a foreign section keeps to its scale (and, around a cadence in another key, to that
    # key's too: its leading tone); pivots where the key changes
    unit = grid.steps_per_beat_unit
    section_of_end = [i for i, s in enumerate(plan.sections) for _ in s.phrase_bars()]
    for i, s in enumerate(plan.sections):
        first = grid.bar(starts[i])
        k, before = keys[i], keys[i - 1] if i else key
        if k != key:
            allowed = {t: scale(k) for t in range(first.start, first.start + s.bars * spb)}
            for n, pk in enumerate(phrase_keys):
                if section_of_end[n] == i and pk != k:  # the chord before a cadence and the cadence chord
                    for t in range(arrivals[n] - unit, arrivals[n] + unit):
                        if t in allowed:
                            allowed[t] = scale(k) | scale(pk)
            for t, pitch_classes in allowed.items():
                _keep_to(c.step_cells, range(t, t + 1), pitch_classes)
        if i and k != before:  # the pivot: the section's first beat
            _keep_to(c.step_cells, range(first.start, first.start + unit), scale(k) & scale(before))
    if fermatas and nv > 1:  # a choir sings through its phrases to the close (no rest inside a phrase)
        c.sings_until = arrivals[-1]
    # the opening: a piece in its home key begins on the tonic chord, its bass on the tonic
    if keys[0] == key:
        tonic_chord = cadence_progression(key, "authentic", final=False)[1]  # no Picardy third to open
        _narrow(c, grid, range(0, 1), tonic_chord[0], tonic_chord[1], None, rest=True)
    # cadences at phrase ends (the last one, when authentic, is the sampler's final cadence)
    fermata_beats = []
    # steps a cadence chord is held: under a fermata, to the bar line from inside the bar, else a counted beat
    held = (spb - offset if offset else grid.steps_per_beat_unit) if fermatas else 1
    free: dict[int, list[range]] = {}  # section -> steps its echo leaves free (a new cadence, an ending)
    on_v: set[int] = set()  # the sections a lone melody closes on V, held to the bar's end
    close_held: dict[int, int] = {}  # section -> steps a lone melody holds its close's note (breathes)
    closing: dict[int, range] = {}  # the last section -> the steps after its close's arrival, silent echoes
    for n, ((bar, cadence), k) in enumerate(zip(ends, phrase_keys)):
        last = n == len(ends) - 1
        arrival = arrivals[n]
        if fermatas:  # every voice strikes its note under the fermata (none holds into it from before)
            fermata_beats.append(arrival / grid.steps_per_beat)
            c.no_hold.update((arrival, v) for v in range(nv))
        cadence = cadence or ("authentic" if last else "")
        if last:  # an authentic close on the downbeat is also the sampler's own final cadence
            c.final_cadence = final_cadence and cadence == "authentic" and close_into == 0
        i = section_of_end[n]
        j = plan.source(i)
        same = not plan.cadence_anew(i, n - section_of_end.index(i))  # a return's cadence as its source's
        if not cadence or (last and not final_cadence) or (cadence == "none" and j is not None and same):
            continue  # left to the model, or a return's phrase end without a cadence, as the first time
        approach = arrival - grid.steps_per_beat_unit
        hold = total - arrival if last else held
        if j is not None:  # a return: where the cadence is not its source's, it is written afresh
            closes_again = last and same and plan.relation(i) == "exact"
            if closes_again and fermatas and offset == 0:
                # a chorale's strain played again to close, its cadences on the downbeat: as the first
                # time up to the cadence and its arrival, the chord then held to the end
                free.setdefault(i, []).append(range(arrival + 1, (bar + 1) * spb))
            elif closes_again and not fermatas and plan.sections[i].bars <= plan.sections[j].bars:
                # a strain played again to close: as the first time up to the cadence and its arrival,
                # held to the end of its beat and half the bar at least; then as the first time without
                # the upbeat that led on (silent where that struck), as a tune's last strain is played.
                # A one-bar second ending
                into = arrival - bar * spb
                held_to = min(spb, max((into // unit + 1) * unit, -(-spb // 2 // unit) * unit))
                closing[i] = range(bar * spb + held_to, (bar + 1) * spb)
                free.setdefault(i, []).append(range(arrival + 1, (bar + 1) * spb))
                c.final_cadence, hold = False, held_to - into
            elif last or not same:  # from the approach's bar,
                # unless that would leave less than half the section copied, or the section is a varied
                # return (whose phrases' heads stay copied): then from the approach
                line = approach // spb * spb
                varied = plan.relation(i) == "varied"
                since = line if not varied and line - starts[i] * spb >= plan.sections[i].bars * spb // 2 else approach
                free.setdefault(i, []).append(range(max(since, starts[i] * spb), (bar + 1) * spb))
        breathes = nv == 1 and not last and not fermatas and cadence != "none" and not chords
        rests_on_v = breathes and cadence == "half"
        if breathes:  # a lone melody holds its cadence's note through the beat (a half close ...
            hold = max(hold, (arrival // unit + 1) * unit - arrival)
            if bar == starts[i] + plan.sections[i].bars - 1:
                close_held[i] = hold
        _cadence(c, grid, k, cadence, approach, arrival, hold, final=last, away=not k.same_key(key))
        if rests_on_v:  # ... then stays on V's notes on the bar's later beats)
            dominant = cadence_progression(k, "half", final=False)[1][1]
            for t in range((arrival // unit + 1) * unit, (arrival // spb + 1) * spb, unit):
                _keep_to(c.step_cells, range(t, t + 1), dominant)
            if i in close_held:
                on_v.add(i)
    # returns: echoes of earlier sections (an ending's bars are written afresh)
    for i, s in enumerate(plan.sections):
        j = plan.source(i)
        if j is None:
            continue
        kept_arrival: set[int] = set()  # steps inside its free ones copied: the arrival of a cadence it repeats
        if s.ending:
            close = (starts[i] + s.bars) * spb
            if not any(w.stop == close for w in free.get(i, [])):  # its last cadence is its source's
                arrival = arrivals[max(n for n, at in enumerate(section_of_end) if at == i)]
                kept_arrival = set(range(arrival, arrival + grid.steps_per_beat_unit))
            free.setdefault(i, []).append(range(close - s.ending * spb, close))
        relation = plan.relation(i)
        shift = transposition(keys[j], keys[i])  # a varied return in another key moves too
        src0, dst0 = starts[j] * spb, starts[i] * spb
        n_steps = min(s.bars, plan.sections[j].bars) * spb
        end = dst0 + n_steps
        kept = _kept_steps(s.phrase_bars(), spb, grid.steps_per_beat_unit) if relation == "varied" else None
        if plan.returns_in_other_mode(i, key):  # in the other mode a copy would keep the old one: rhythm and outline
            kept = set()
        silent = closing.get(i, range(0))
        anew = {
            t
            for t in range(dst0, end)
            if t not in kept_arrival and t not in silent and any(t in w for w in free.get(i, []))
        }
        # written afresh, but nudged toward the first time (hints, below)
        for t, v in _free_cells(c, sorted(anew), nv):
            c.hints[(t, v)] = Hint(src0 + t - dst0, shift)
        for t, v in _free_cells(c, [t for t in range(dst0, end) if t not in anew], nv):
            rhythm_only = kept is not None and t - dst0 not in kept
            reach = (VARIED_REACH if v == 0 else None) if rhythm_only else 0
            c.echoes[(t, v)] = Echo(src0 + t - dst0, shift, rhythm_only, reach, t in silent)
    # periods: a new section's second phrase opens as its first did
    for i, s in enumerate(plan.sections):
        if not s.echo or plan.source(i) is not None:
            continue
        half = s.period_bars()  # its first phrase, or the first half of its one long phrase
        src0, dst0 = starts[i] * spb, (starts[i] + half) * spb
        last = i == len(plan.sections) - 1 and 2 * half == s.bars
        approach = (starts[i] + 2 * half - 1) * spb + (close_into if last else offset) - grid.steps_per_beat_unit
        for t, v in _free_cells(c, range(dst0, min(dst0 + s.echo * spb, approach, total)), nv):  # not into its cadence
            c.echoes[(t, v)] = Echo(src0 + t - dst0, 0, False, 0)
    # rhymes: a new section ends as the first section ends
    for i, s in enumerate(plan.sections):
        if not s.rhyme or plan.source(i) is not None:
            continue
        first_end, end = (starts[0] + plan.sections[0].bars) * spb, (starts[i] + s.bars) * spb
        stop = end - spb + offset + held  # through the cadence's arrival
        if not plan.closes_as_first(i):  # a cadence of its own
            stop = end - spb + offset - grid.steps_per_beat_unit
        shift = transposition(keys[0], keys[i])
        for t, v in _free_cells(c, range(end - s.rhyme * spb, min(stop, end, total)), nv):
            c.echoes[(t, v)] = Echo(first_end - end + t, shift, False, 0)
    # lead-ins: a section played again at once is led into as the first time, the music after the
    # cadence that ends the first time (the upbeat into it) as the music after the cadence before it,
    # where both are in one key; each cadence's note held as long as the other was; not after a half
    # close held on V (on_v) from one that was not, whose upbeat went on over I
    for i in range(2, len(plan.sections)):
        if plan.source(i) != i - 1 or plan.relation(i) != "exact" or not keys[i - 2].same_key(keys[i - 1]):
            continue
        if i - 1 in on_v and i - 2 not in on_v:
            continue
        into_again = (starts[i] - 1) * spb + offset + close_held.get(i - 1, held)  # after its arrival's hold
        into_first = into_again - plan.sections[i - 1].bars * spb
        for t, v in _free_cells(c, range(into_again, starts[i] * spb), nv):
            c.echoes[(t, v)] = Echo(t - (into_again - into_first), 0, False, 0, holds_on=True)
    # hints: in a new section, each bar is nudged toward the bar at its place in the phrase before (in
    # its first phrase, in the first section's): the near-repetition of real tunes that no plan states
    for i, s in enumerate(plan.sections):
        if plan.source(i) is not None:
            continue
        head = s.phrase_bars()[0]
        for o in range(s.bars):
            if o >= head:
                src, shift = (starts[i] + o - head) * spb, 0
            elif i and o < plan.sections[0].bars:
                src, shift = (starts[0] + o) * spb, transposition(keys[0], keys[i])
            elif head >= 4 and o >= head // 2:  # the first phrase's second half, as its first half
                src, shift = (starts[i] + o - head // 2) * spb, 0
            else:
                continue
            dst = (starts[i] + o) * spb
            for t, v in _free_cells(c, range(dst, min(dst + spb, total)), nv):
                c.hints[(t, v)] = Hint(src + t - dst, shift)
    # turns: a new section after the first lies higher, but for its closing bar
    for i, s in enumerate(plan.sections):
        if i and plan.source(i) is None:
            c.turn_steps.update(range(starts[i] * spb, min((starts[i] + s.bars - 1) * spb, total)))
    repeats, endings = [], {}
    for i, s in enumerate(plan.sections):
        windows = free.get(i, [])
        close = (starts[i] + s.bars) * spb
        fresh = min((w.start for w in windows if w.stop == close), default=close)  # its last bars written anew
        j = plan.source(i)
        if j == i - 1 and plan.relation(i) == "exact" and s.bars == plan.sections[j].bars:
            if all(w.stop == close for w in windows):  # new notes only in an ending: foldable
                bar_beats = grid.meter.bar_beats
                ending = (close - fresh + spb - 1) // spb  # in whole bars, what is copied of them printed again
                repeats.append(Repeat(starts[j] * bar_beats, starts[i] * bar_beats, ending * bar_beats))
        # whole bars, where a plan may say so (Plan.may_end_anew: not the last section, whose close
        # is the piece's; not a varied return; fewer bars than its last phrase)
        bars = (close - fresh) // spb if fresh % spb == 0 else 0
        if 0 < bars < s.phrase_bars()[-1] and plan.may_end_anew(i):
            endings[i] = bars
    return Marks(fermata_beats, repeats, endings)


def _free_cells(c: Constraints, steps: Iterable[int], nv: int) -> list[tuple[int, int]]:
    """The cells (step, voice) at `steps` that the plan leaves free, not fixed nor echoed: those
    a return, a period or a rhyme may point at an earlier cell (c.echoes), or a hint (c.hints)."""
    return [(t, v) for t in steps for v in range(nv) if (t, v) not in c.fixed and (t, v) not in c.echoes]


def _kept_steps(phrases: list[int], spb: int, beat: int) -> set[int]:
    """The steps of a varied return (from its start) copied from its first time: the first half
    of each phrase (whole beats, at least one); the rest keeps only the rhythm and outline."""
    kept: set[int] = set()
    start = 0
    for bars in phrases:
        steps = bars * spb
        kept.update(range(start, start + max(beat, steps // 2 // beat * beat)))
        start += steps
    return kept


def _keep_to(step_cells: np.ndarray, steps: range, pitch_classes: frozenset[int]) -> None:
    ok = np.isin(PITCH_CLASSES, sorted(pitch_classes))
    ok[REST] = True
    step_cells[steps.start : steps.stop] &= ok


def _cadence(
    c: Constraints,
    grid: Grid,
    key: Key,
    kind: str,
    approach: int,
    arrival: int,
    hold: int,
    final: bool,
    away: bool = False,
) -> None:
    """Narrow the beat before `arrival` to the cadence's first chord and the `hold` steps from
    `arrival` to its last chord, held (with fermatas) from the arrival ("none": the chord before
    without V's notes, the end on I6, theory.open_end; a lone melody's left free); the piece's `final`
    cadence may close a minor key on a Picardy third. `away`: `key` is not the piece's home key
    (a lone melody then approaches the tonic by its leading tone, theory.melody_cadence)."""
    assert c.step_cells is not None
    nv, total = grid.n_voices, c.step_cells.shape[0]
    if kind == "none":  # no cadence: a choir rests on I6, reached without V (a lone melody is left free)
        if nv > 1:
            left_out, (bass, chord) = open_end(key)
            if approach >= 0:  # the chord struck on the beat before (the voices may pass on through V's notes)
                _keep_to(c.step_cells, range(approach, approach + 1), frozenset(range(12)) - left_out)
            _narrow(c, grid, range(arrival, arrival + hold), bass, chord, None)
            c.hold_only.update((step, v) for v in range(nv) for step in range(arrival + 1, min(arrival + hold, total)))
        return
    before, end, melody = cadence_progression(key, kind, final)
    if nv == 1:  # a lone melody: the degrees that tell the cadence without chords (and the key, away from home)
        line_before, melody = melody_cadence(key, kind, away)
        before = (before[0], line_before) if before is not None and line_before is not None else None

    if before is not None and approach >= 0:
        # the chord before: struck on its beat (the voices of a choir may pass on through it);
        # a lone melody keeps to it for the whole beat, its last note before the cadence included
        _narrow(c, grid, range(approach, arrival if nv == 1 else approach + 1), before[0], before[1], None)
    _narrow(c, grid, range(arrival, arrival + hold), end[0], end[1], melody)
    if nv > 2:  # complete chords: the last upper voice sings the third where no voice above does
        if before is not None and approach >= 0:
            c.thirds[approach] = _third(before)
        c.thirds[arrival] = _third(end)
    c.hold_only.update((step, v) for v in range(nv) for step in range(arrival + 1, min(arrival + hold, total)))


def _narrow(
    c: Constraints,
    grid: Grid,
    steps: range,
    bass: int,
    chord: frozenset[int],
    top: frozenset[int] | None,
    rest: bool = False,
) -> None:
    """Narrow `steps` to a chord: the lowest voice on `bass`, the top voice (a lone melody too)
    on `top` when given, the others on the chord's notes; a rest only when `rest`. A voice whose
    range the chord misses stays as it was."""
    assert c.step_cells is not None
    nv, total = grid.n_voices, c.step_cells.shape[0]
    for v in range(nv):
        if nv == 1:
            classes = top if top is not None else chord
        elif v == nv - 1:
            classes = frozenset({bass})
        elif v == 0 and top is not None:
            classes = top
        else:
            classes = chord
        ok = np.isin(PITCH_CLASSES, sorted(classes))
        ok[REST] = rest
        for step in steps:
            if 0 <= step < total:
                narrowed = c.step_cells[step, v] & ok
                if narrowed[1:].any():
                    c.step_cells[step, v] = narrowed


def _third(chord: tuple[int, frozenset[int]]) -> frozenset[int]:
    """The third above a chord's root (both, in a tonic chord with its Picardy third)."""
    root, tones = chord
    return tones & frozenset(thirds(root))


def chord_constraints(chords: list, key: Key, grid: Grid, c: Constraints, bars: int) -> None:
    """A melody written over given chord symbols (cadenza.chords.ChordSymbol, by start beat), in
    place: the top voice sounds a tone of the chord in force (or rests) where a chord starts and
    on each bar's strong beats (theory.strong_beats), a tone of the key's scale or of the chord
    elsewhere, and a note it strikes outside the chord is left by step to a chord tone
    (c.chord_tones, which the sampler follows: passing and neighbour notes, not leaps from a
    dissonance). The chords win over what the plan narrowed (its cadences are the chords'
    now): where the two share no note, the chord's tones are taken; a planned return copies
    its first time's notes only where the chords are the first time's (elsewhere its rhythm and
    outline); and the sampler's own final cadence (V then I) is left to the chords."""
    from cadenza.chords import pitch_classes
    from cadenza.theory import strong_beats

    total = bars * grid.steps_per_bar
    if c.step_cells is None:
        c.step_cells = np.ones((total, grid.n_voices, N_CELL), dtype=bool)
    ordered = sorted(chords, key=lambda ch: ch.start_beats)
    if not ordered:
        return
    spb = grid.steps_per_beat
    strong = {round(b * spb) for b in strong_beats(grid.meter)}
    onsets = {round(ch.start_beats * spb) for ch in ordered}
    home = scale(key)
    c.final_cadence = False
    c.chord_tones = np.ones((total, 12), dtype=bool)
    at = 0
    for step in range(min(total, c.step_cells.shape[0])):
        while at + 1 < len(ordered) and ordered[at + 1].start_beats * spb <= step + 1e-9:
            at += 1
        if ordered[at].start_beats * spb > step + 1e-9:
            continue  # before the first chord: a pickup
        tones = frozenset(pitch_classes(ordered[at]))
        c.chord_tones[step] = np.isin(np.arange(12), sorted(tones))
        allowed = tones if step in onsets or step % grid.steps_per_bar in strong else tones | home
        ok = np.isin(PITCH_CLASSES, sorted(allowed))
        ok[REST] = True
        narrowed = c.step_cells[step, 0] & ok
        c.step_cells[step, 0] = narrowed if narrowed[1:].any() else ok
    # a planned return copies its first time's notes: where its chords are not the first time's
    # (moved as the return is), it keeps only the rhythm and outline, in the chords' notes (a close's
    # silent tail strikes nothing, and stays)
    for (step, v), echo in list(c.echoes.items()):
        if v == 0 and not echo.rhythm_only and not echo.silent and step < total and echo.source < total:
            moved = np.roll(c.chord_tones[echo.source], echo.semitones)
            if not np.array_equal(moved, c.chord_tones[step]):
                c.echoes[(step, v)] = Echo(echo.source, echo.semitones, True, VARIED_REACH)
