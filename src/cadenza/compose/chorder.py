"""The Chorder: chord symbols for a melody, from a chords model (cadenza.families.chords).

    chorder = hub.load("chords", expect="chords")
    results = chorder.chords_for(score, n=3, seed=7)   # each a ChordedTune: score + info

Alternative 0 is the likeliest chord path (Viterbi), whatever the seed; alternative i > 0 is a
path drawn with seed + i (so `--n 3 --seed 7` gives the best path and draws with seeds 8 and 9).
The score comes back as it was, its chord symbols replaced.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from cadenza.compose.chord_paths import ChordTransitions, best_path, sampled_path
from cadenza.score import Score
from cadenza.tokenize.chord_beats import BeatSheet, ChordBeatsTokenizer

# The weight of the network's log probabilities against the transitions' in the path: 1 reads
# them as a hidden Markov model's emissions, and its paths change chords too seldom (0.64
# changes a bar on the valid split of the Nottingham tunes, whose humans make 0.94), since the
# network has already seen the neighbouring beats. Chosen on that valid split with the shipped
# model: root + quality accuracy 0.686 at 1, 0.694 at 2, 3 and 5 (0.693 at 8 and 100), 0.81
# changes a bar at 5.
EMISSION_WEIGHT = 5.0


@dataclass
class ChordedTune:
    score: Score
    info: dict  # for the JSON record: seed, how the path was chosen, chords per bar


class Chorder:
    def __init__(self, model, meta: dict, directory: Path):
        self.model = model.eval()
        self.meta = meta
        self.directory = directory
        self.name = directory.name
        self.tokenizer = ChordBeatsTokenizer.from_dict(meta["tokenizer"])
        self.transitions = ChordTransitions.from_dict(meta["transitions"])
        self.block = int(meta["model"]["block_size"])

    def log_probabilities(self, sheet: BeatSheet) -> np.ndarray:
        """(T, C) log P(chord class | the melody) per beat. A tune longer than the network's
        window is read in windows half a window apart, each beat taken from the window where it
        lies nearest the middle."""
        import torch

        from cadenza.nn.tagger import read_in_windows

        return read_in_windows(self.model, sheet.features, self.block, lambda z: torch.log_softmax(z, dim=-1))

    def chords_for(
        self,
        score: Score,
        n: int = 1,
        seed: int = 0,
        part: int | None = None,
        plan=None,
        kept_until: float | None = None,
        close: bool = False,
    ) -> list[ChordedTune]:
        """n chordings of `score`'s melody (part `part`, 0-based, or the first pitched part).
        With the plan the score was written to, an exact return is chorded as its first time
        (returned_chords), and a section in another key is chorded in that key; a passage played
        twice (Score.repeats) is chorded the same both times (repeated_chords).
        With `kept_until` (a continued lead sheet's first new beat), the score's own symbols
        before it are kept as written, and the path runs through their classes, so that the
        new beats' chords follow on from them.
        With the plan, each phrase end the plan gives a cadence is heard as that cadence
        (_planned_cadences): its chord where the cadence arrives, and the chord before it on
        the beat before, each where the melody's note there belongs to it; the piece's own close
        too with `close`, as the plan asks (a half close on V where the last note belongs to V).
        Without a plan, `close` (a melody written to close on its tonic) has a last note of the
        tonic triad heard over the tonic chord, from the beat it begins in (a continued waltz had
        closed on IV under its tonic).
        Without a plan, a tune in a minor key does not close on its tonic's major chord unless its
        melody sings the major third there (_closing_minor)."""
        keyed = score
        if plan is not None and len(plan.keys_in_beats(score.meter.bar_beats)) > 1:  # its sections' own keys
            keyed = replace(score, keys=plan.keys_in_beats(score.meter.bar_beats))
        sheet = self.tokenizer.encode(keyed, part)
        log_p = EMISSION_WEIGHT * self.log_probabilities(sheet)
        if plan is not None:
            _planned_cadences(log_p, sheet, keyed, part, plan, close, self.tokenizer)
        else:
            _closing_minor(log_p, sheet, keyed, part, self.tokenizer)
            if close:
                _closing_on_the_tonic(log_p, sheet, keyed, part, self.tokenizer)
        kept = None  # the prompt's own symbols, where they are kept: they win over the close
        if kept_until is not None and score.chords:
            given = np.flatnonzero(sheet.starts_beats < kept_until - 1e-6)
            _held_to(log_p, given, sheet.classes[given])  # a kept beat may hold its own class only
            kept = sorted((c for c in score.chords if c.start_beats < kept_until - 1e-6), key=lambda c: c.start_beats)
        results = []
        for i in range(n):
            if i == 0:
                path, how = best_path(log_p, sheet.places, self.transitions), "likeliest"
            else:
                rng = np.random.default_rng(seed + i)
                path, how = sampled_path(log_p, sheet.places, self.transitions, rng), "sampled"
            chords = self.tokenizer.decode(path, sheet)
            if plan is not None:
                chords = returned_chords(score, chords, plan, part)
            chords = repeated_chords(score, chords)
            if kept is not None and kept_until is not None:  # as written (Am7 stays Am7, not its class's Am)
                chords = _kept_before(kept, chords, kept_until)
            info = {"seed": seed + i, "path": how, "chords": len(chords), "replaced_chords": len(score.chords)}
            results.append(ChordedTune(replace(score, chords=chords), info))
        return results


def _last_note_beat(sheet, score: Score, part: int | None):
    """(the melody's line, its last note, the index of the sheet's beat that note begins in), or
    None for a sheet without beats or a part without notes."""
    from cadenza.tokenize.chord_beats import melody_line

    line = melody_line(score, part)
    if not line or not len(sheet.starts_beats):
        return None
    last = line[-1]
    return line, last, max(int(np.searchsorted(sheet.starts_beats, last.start_beats + 1e-6)) - 1, 0)


def _closing_on_the_tonic(log_p: np.ndarray, sheet, score: Score, part: int | None, tokenizer) -> None:
    """`log_p` (beats x classes) held to the tonic chord from the beat the melody's last note
    begins in, where that note is of the tonic triad of the key in force there."""
    from cadenza.chords import ChordSymbol
    from cadenza.theory import tonic_triad

    found = _last_note_beat(sheet, score, part)
    if found is None:
        return
    _, last, t = found
    key = sheet.keys[t]
    if last.pitch % 12 not in tonic_triad(key, picardy=False):
        return
    tonic = tokenizer.class_of(ChordSymbol(0.0, key.tonic, "minor" if key.mode == "minor" else "major"), key.tonic)
    beats = np.arange(t, len(log_p))
    _held_to(log_p, beats, np.full(len(beats), tonic))


def _closing_minor(log_p: np.ndarray, sheet, score: Score, part: int | None, tokenizer) -> None:
    """`log_p` (beats x classes) with the tonic's major chord (and its dominant seventh) heard as
    its minor chord (the likelier of the two), from the beat the melody's last note begins in,
    where the key there is minor and the melody's last two bars do not sing the major third
    (a C# in the bar before an A minor tune's last A asks for its Picardy third, found by review):
    a minor tune closes minor (of the Nottingham tunes in minor keys whose last chord symbol is
    on the tonic, 77 have it minor and 2 major), where the network had closed a newcomer's A
    minor waltz on A major in 3 of 4 draws."""
    from cadenza.chords import ChordSymbol
    from cadenza.score import bar_starts

    found = _last_note_beat(sheet, score, part)
    if found is None:
        return
    line, last, t = found
    key = sheet.keys[t]
    bars = [b for b in bar_starts(score) if b <= last.start_beats + 1e-6]
    since = min(bars[-2:] or [0.0])  # the last two bars: a C# there asks for the major close
    major_third = (key.tonic + 4) % 12
    if key.mode != "minor" or any(x.pitch % 12 == major_third for x in line if x.end_beats > since + 1e-6):
        return
    if "minor" not in tokenizer.kinds:
        return
    kinds = [k for k in ("major", "dominant") if k in tokenizer.kinds]
    picardy = [tokenizer.class_of(ChordSymbol(0.0, key.tonic, k), key.tonic) for k in kinds]
    minor = tokenizer.class_of(ChordSymbol(0.0, key.tonic, "minor"), key.tonic)
    for u in range(t, len(log_p)):  # what the network heard as the major chord, heard as the minor one
        log_p[u, minor] = max(log_p[u, minor], *log_p[u, picardy])
        log_p[u, picardy] = -np.inf


def _planned_cadences(log_p: np.ndarray, sheet, score: Score, part: int | None, plan, close: bool, tokenizer) -> None:
    """`log_p` (beats x classes) held, at each phrase end the plan gives a cadence, to the cadence's
    chords (theory.cadence_progression, in the phrase's cadence key): its chord from the beat
    the cadence arrives in, on through the bar while the melody's notes belong to it (and while
    the arrival's note sounds: a close held to the end), so that a half close stays on V; and
    the chord before it (V, or IV of a plagal close) on the beat before; each only where the
    melody's note at its beat belongs to the chord, so that a melody that went its own way is
    chorded as it goes. In a church mode a chord with a note outside the mode (D dorian's A7)
    is left to the network. A minor key closes on its minor tonic: of the Nottingham tunes in
    minor keys whose last chord symbol is on the tonic, 77 have it minor and 2 major.
    Left to the network, the chords had sounded 117 of 142 authentic cadences a plan asked for
    on the tonic and 26 of 36 half cadences on V (benchmarks/leadsheet_cadences.py, 40 lead
    sheets). The piece's close is planned only with `close` (not --free-ending)."""
    from cadenza.theory import cadence_progression, scale
    from cadenza.tokenize.chord_beats import melody_line

    line = melody_line(score, part)
    if not line or not len(sheet.starts_beats):
        return
    home, bar = score.key, score.meter.bar_beats
    kinds = plan.phrase_cadences()
    arrivals = plan.arrival_beats(bar, close)
    for n, (kind, at, key) in enumerate(zip(kinds, arrivals, plan.phrase_keys(home))):
        final = n == len(kinds) - 1
        if kind == "none" or (final and not close) or key is None:
            continue
        before, closing, _ = cadence_progression(key, kind, final=False)  # no Picardy third (below)
        end = closing if not key.modal or closing[1] <= scale(key) else None
        if key.modal and before is not None and not before[1] <= scale(key):
            before = None  # a mode keeps to its notes: D dorian's A7 (C#) is left to the network
        t = int(np.searchsorted(sheet.starts_beats, at + 1e-6)) - 1
        note = _sounding(line, at)
        if t < 0 or note is None:
            continue
        if end is not None and note.pitch % 12 in end[1]:
            bar_end = (at // bar + 1) * bar
            beats = [t]  # and on through the bar while the melody's notes belong to the chord
            for u in range(t + 1, len(log_p)):
                x = _sounding(line, float(sheet.starts_beats[u]))
                in_bar = sheet.starts_beats[u] < bar_end - 1e-6
                if x is None or x.pitch % 12 not in end[1] or not (in_bar or x is note):
                    break
                beats.append(u)
            _held_to_any(log_p, beats, _classes_of(end, key, sheet.keys[t].tonic, tokenizer, seventh=False))
        if before is None or t == 0:
            continue
        prior = _sounding(line, float(sheet.starts_beats[t - 1]))
        if prior is not None and prior.pitch % 12 in before[1]:
            _held_to_any(log_p, [t - 1], _classes_of(before, key, sheet.keys[t - 1].tonic, tokenizer, seventh=True))


def _sounding(line: list, at: float):
    """The note of `line` (a melody, each note cut where the next begins) sounding at `at`, or None."""
    for x in line:
        if x.start_beats <= at + 1e-6 < x.start_beats + x.duration_beats:
            return x
    return None


def _classes_of(
    chord: tuple[int, frozenset[int]], cadence_key, sheet_tonic: int, tokenizer, seventh: bool
) -> list[int]:
    """The tokenizer's chord classes that sound `chord` (root, pitch classes) of a cadence in
    `cadence_key`, as classes relative to the tonic the sheet reads the beat in (`sheet_tonic`,
    the melody's key as the chords model learned it, which may differ from the plan's): its triad,
    major or minor as its third is, and with `seventh` the dominant seventh too on the cadence
    key's fifth (the V7 of V7-I; a half close rests on the triad)."""
    from cadenza.chords import ChordSymbol

    root, tones = chord
    kinds = ["major" if (root + 4) % 12 in tones else "minor"]
    if seventh and root == (cadence_key.tonic + 7) % 12 and kinds == ["major"]:
        kinds.append("dominant")
    return [tokenizer.class_of(ChordSymbol(0.0, root, k), sheet_tonic) for k in kinds if k in tokenizer.kinds]


def _held_to_any(log_p: np.ndarray, beats: list[int], classes: list[int]) -> None:
    """`log_p` (beats x classes) with each of `beats` allowed only those of `classes` it still
    allows; a beat that allows none of them is left as it was, so that no beat is left without a
    chord (two holds on one beat that share none: a path through it would not exist)."""
    for u in beats:
        keep = [c for c in classes if np.isfinite(log_p[u, c])]
        if keep:
            own = log_p[u, keep].copy()
            log_p[u] = -np.inf
            log_p[u, keep] = own


def _held_to(log_p: np.ndarray, beats: np.ndarray, classes: np.ndarray) -> None:
    """`log_p` (beats x classes) with each of `beats` allowed its class in `classes` only."""
    own = log_p[beats, classes]
    log_p[beats] = -np.inf
    log_p[beats, classes] = own


def _kept_before(kept: list, chords: list, until: float) -> list:
    """The symbols `kept` before `until` and `chords` from it on. Where the new chords go on in
    the class of the kept one in force there (so the path wrote no symbol at `until`) but that one
    is written otherwise (G/D, Gsus4 or Gmaj7 for the class G), the new chord is written at
    `until`: a suspension or an inversion is not held into music the model wrote under G."""
    from cadenza.score import in_force

    eps = 1e-6
    after = [c for c in chords if c.start_beats >= until - eps]
    held, new = in_force(kept, until, eps), in_force(chords, until, eps)
    restate = (
        held is not None
        and new is not None
        and not any(abs(c.start_beats - until) < eps for c in after)
        and replace(held, start_beats=0.0) != replace(new, start_beats=0.0)  # the text is not compared
    )
    return sorted([*kept, *([replace(new, start_beats=until)] if restate else []), *after], key=lambda c: c.start_beats)


def repeated_chords(score: Score, chords: list) -> list:
    """`chords` with the second pass of each of `score`'s repeats (cadenza.score.Repeat: the
    same music as the first pass but for its last `ending_beats`) given the first pass's chord
    symbols, so that a tune read from repeat signs is written with them again; the chord in
    force where each pass begins, and where the second ending begins, is restated there."""
    from cadenza.score import in_force

    eps = 1e-6
    for r in sorted(score.repeats, key=lambda r: r.start_beats):
        length = r.end_beats - r.start_beats
        a, b = r.start_beats, r.end_beats - r.ending_beats  # the part both passes share
        if length <= 0 or b <= a:
            continue
        ordered = sorted(chords, key=lambda c: c.start_beats)
        theirs = [c for c in ordered if a - eps <= c.start_beats < b - eps]
        held = in_force(ordered, a, eps)
        restated = []  # the chord in force where the first pass begins, written there too
        if held is not None and not any(abs(c.start_beats - a) < eps for c in theirs):
            restated = [replace(held, start_beats=a)]
            theirs = [*restated, *theirs]
        kept = [c for c in ordered if not (a + length - eps <= c.start_beats < b + length - eps)] + restated
        copied = sorted(kept + [replace(c, start_beats=c.start_beats + length) for c in theirs],
                        key=lambda c: c.start_beats)  # fmt: skip
        own = in_force(ordered, b + length, eps)  # what follows the copy goes on under its own chord
        now = in_force(copied, b + length, eps)
        other = now is None or (
            now.start_beats < b + length - eps and replace(own, start_beats=0.0) != replace(now, start_beats=0.0)
        )
        if own is not None and other and b + length < score.end_beats - eps:  # not past the tune's end
            copied = sorted([*copied, replace(own, start_beats=b + length)], key=lambda c: c.start_beats)
        chords = copied
    return chords


def returned_chords(score: Score, chords: list, plan, part: int | None = None) -> list:
    """`chords` with each bar of an exact return in `plan` (cadenza.plan.form.Plan) whose
    melody is its first time's given that bar's chord symbols, so that a strain played again
    is harmonized again the same way (and its repeat can be written with repeat signs); the
    first such bar of a run restates the chord in force there."""
    from cadenza.score import bar_starts, in_force
    from cadenza.tokenize.chord_beats import melody_line

    line = melody_line(score, part)
    bars = bar_starts(score)
    size = score.meter.bar_beats

    def melody(bar: int) -> list:
        a = bar * size
        return [(n.pitch, round(n.start_beats - a, 6), round(n.duration_beats, 6)) for n in line
                if a - 1e-9 <= n.start_beats < a + size - 1e-9]  # fmt: skip

    copies: dict[int, int] = {}  # bar -> the bar it repeats
    starts = plan.starts()
    for i, section in enumerate(plan.sections):
        j = plan.source(i)
        if j is None or plan.relation(i) != "exact":
            continue
        for k in range(min(section.bars, plan.sections[j].bars)):
            bar, first = starts[i] + k, starts[j] + k
            if bar < len(bars) and (mine := melody(bar)) and mine == melody(first):
                copies[bar] = first
    if not copies:
        return chords
    ordered = sorted(chords, key=lambda c: c.start_beats)
    kept = [c for c in ordered if int((c.start_beats + 1e-9) // size) not in copies]
    for bar, first in sorted(copies.items()):
        shift = (bar - first) * size
        theirs = [c for c in ordered if first * size - 1e-9 <= c.start_beats < (first + 1) * size - 1e-9]
        if bar - 1 not in copies and not any(abs(c.start_beats - first * size) < 1e-9 for c in theirs):
            held = in_force(ordered, first * size)
            if held is not None:
                theirs = [replace(held, start_beats=first * size), *theirs]
        kept += [replace(c, start_beats=c.start_beats + shift) for c in theirs]
        after = bar + 1  # the bar after a copied run goes on under its own chord, restated
        restated = any(abs(c.start_beats - after * size) < 1e-9 for c in kept)
        if after not in copies and after < len(bars) and not restated:
            own = in_force(ordered, after * size)
            if own is not None:
                kept.append(replace(own, start_beats=after * size))
    return sorted(kept, key=lambda c: c.start_beats)
