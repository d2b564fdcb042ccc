"""The planner: a small model of form learned from analyzed corpora, which draws plans.

It is fitted on form.Plan objects (what cadenza.plan.analyze finds in a corpus's pieces) and
stored as plain JSON (planner.json beside a model's model.json; no pickles). It counts:

- whole forms: each piece's sections as 'A8 A'8 B8 B8@' (labels, primes, bars; '@' marks a
  transposed return), by meter;
- section moves: each section is `new` (a label not heard before), a `repeat` of the section
  just before, or a `return` of an earlier label; a repeat or return is exact, varied (') or
  transposed (@). A first-order Markov chain over these moves, conditioned on where the section
  starts in the piece (its early, middle or late third); a return's target is counted by its
  label's place in the order the labels were first heard (1: A, 2: B);
- the length in bars of each new section (by meter, backing off to all meters), and how such a
  section splits into phrases ("4+4"), with phrase lengths to fall back on; and, where its
  first two phrases are as long (or its one phrase of 8 bars or more has two halves), how many
  bars of the first open the second (its echo: a period; by that length; for the first section
  apart from the later ones too, backing off to all sections); and for a new section after the
  first that closes with the first section's cadence, how many of its last bars are the first
  section's last (its rhyme; by the length of its last phrase); and for an exact return
  before the last section, how many of its last bars are written anew (its ending: a second
  ending; by the length of its last phrase), drawn for exact and transposed returns alike;
  these three also by meter, backing off to all meters (a jig's strain is a period far more
  often than a song's);
- keys as Roman numerals relative to the home key (V, vi, IV in a major piece; III, v, iv in a
  minor one; lower case: a minor key), by home mode, as a Markov chain from section to section,
  counted into the sections between the first and the last (those two are drawn at home, see
  below) that are not exact returns (whose key is their source's);
- cadences at phrase ends by position (inner: inside a section; section: ending a section;
  final) and the cadence before (so that half and authentic cadences may alternate); and the
  key each cadence is in, as a Roman numeral from its section's key (a chorale's inner phrase
  closing in V or vi), by the section's mode, the position and the cadence;
- whether a piece that closes by playing a section again (its last section an exact return)
  closed that section so the first time too (`closes`);
- home keys, meters, label case, and whether phrase ends carry fermatas (a piece without any
  marked counts as one without: the folk corpus's 136 pieces with fermatas, of 9,259, do not make
  every jig stop at its phrase ends).

Smoothing is add-k toward a backed-off distribution: a row's counts c(t) (N in all, vocabulary
V) give p(t) = (c(t) + k V q(t)) / (N + k V), where q is the coarser row (moves: the move before
alone, then all moves; keys: all transitions of the mode; cadences: the position alone;
lengths, echoes, rhymes and endings: all meters), itself smoothed toward uniform. k for each
table is in "smoothing".

Drawing a plan of exactly `bars` bars (`PlanModel.sample`):
0. A meter, unless given (`cadenza plan` without --meter; `cadenza generate` draws its own the
   same way, among the meters its model writes, Composer.meter_for): as often as the corpus's
   pieces of `bars` bars are in it (smoothed toward all its pieces' meters by
   smoothing["meters"]): a 32-bar folk plan is in the dance tunes' meters, as most 32-bar pieces
   of the corpus are.
1. A whole form: with n corpus pieces whose form is `bars` long or half as long, a form is
   taken with probability n / (n + smoothing["forms"]), in proportion to its weight (a
   Dirichlet-process mixture of the corpus's forms and the chain below): most plans are forms
   real pieces have. A form `bars` long weighs its count.
   The forms half as long, made twice as long, are the prior those counts are smoothed toward,
   weighing at most smoothing["halves"] pieces in all (fewer where the corpus has fewer):
   either every section twice as long and split into its phrases twice (a share "stretch" of
   them) or each strain played twice, as a dance tune plays it (a share "twice", set by
   train-planner --twice: A8 B8 as A8 A8 B8 B8, A4 A'4 B8 as A4 A'4 A4 A'4 B8 B8). So a length
   the corpus has many pieces of is drawn as they are (78% of the folk corpus's 32-bar pieces
   are A8 A8 B8 B8), and a length it has few or none of, from the forms of half its length.
2. Otherwise sections are drawn one after another from the chain of moves, and at each step
   only what still fits is allowed (a new section of at most the bars left; a return only if
   its label's length fits). That always ends exactly on `bars`, but it would favour plans that
   needed much masking; so 48 such drafts are drawn, each weighted by the probability mass its
   masks kept (sequential importance sampling), and one is chosen by those weights:
   approximately a draw from the chain's plans conditioned on their length.
3. Then phrases (a returning label keeps its phrases), keys (an exact return keeps its source's;
   a transposed one takes another), and cadences and their keys (an exact or transposed return
   repeats its source's) are drawn.
Three rules are imposed, not learned: the first and the last section are in the home key, and
the final cadence is authentic, in the home key. (The analyzer reads some pieces otherwise, a chorale whose
first phrase cadences in the relative major as beginning there, which would plan a piece that
states its home key late or never.) Dynamics and density are not planned (the corpora
do not mark them). Every section's key is written out (the home key too), so that a drawn plan
read back from its file counts as one whose keys are given. The same seed gives the same plan.

`complete(plan, model, seed)` fills in what a partly given plan leaves out: the home key, each
section's key (when no section names one; otherwise a section without a key is in the home
key), a section's phrases (a section without phrases takes the phrases of the earlier section
with its label, or is split as the model splits sections of its length), and cadences (a
cadence given for a section of one phrase stays on its last phrase once it is split) with the
keys they are in (a section whose key is given closes in it).

Fitting (`cadenza train-planner`, cadenza.cli.plan) analyzes each training piece of a corpus
(the pieces a model's run held out for validation are left out by the same hash of their ids)
(whose plans count whole bars from the first downbeat: a pickup's bar is off the first phrase).

    from cadenza.plan import planner
    model = planner.load("models/folk")               # the folder or its planner.json
    plan = model.sample(32, meter="6/8", key=parse_key("G major"), seed=3)
    print(plan.describe())
"""

from __future__ import annotations

import itertools
import json
import math
import random
import re
from collections.abc import Collection, Iterable, Sequence
from copy import deepcopy
from dataclasses import dataclass, field, replace
from pathlib import Path

from cadenza.errors import InputError, MusicError, OptionError
from cadenza.plan.form import CADENCES, Plan, Section, key_text, period_bars
from cadenza.score import MODES, Key, Meter, parse_key, parse_meter
from cadenza.theory import home_numeral, key_numeral, key_numerals, numeral_key

FORMAT = "cadenza-planner"
VERSION = 1
FILE = "planner.json"

MOVES = ("new", "repeat", "repeat'", "repeat@", "return", "return'", "return@")
POSITIONS = ("early", "middle", "late")
CADENCE_POSITIONS = ("inner", "section", "final")
MAX_SECTION_BARS = 64  # the vocabulary of section and phrase lengths (longer ones count as this)
DRAFTS = 48  # drafts drawn per plan, one kept by importance weight
SMOOTHING = {
    "forms": 2.0,
    "halves": 10.0,
    "stretch": 0.5,
    "twice": 0.5,
    "moves": 0.5,
    "targets": 0.5,
    "keys": 0.02,
    "cadences": 0.5,
    "lengths": 0.02,
    "splits": 0.5,
    "echoes": 0.1,
    "rhymes": 0.1,
    "endings": 0.1,
    "closes": 0.5,
    "cadence_keys": 0.5,
    "meters": 2.0,
}
MIN_METER_PIECES = 20  # a meter with fewer fitted pieces uses the lengths of all meters
# a key the corpus's cadences away from home close in less often than this (in a mode) is the
# analysis misreading a few tunes (bii in a folk tune), not a habit: a cadence drawn in it stays home
MIN_CADENCE_KEY_SHARE = 0.01

Counts = dict[str, float]
Table = dict[str, Counts]


# ---------------------------------------------------------------------------------------------
# smoothing and drawing


def _smoothed(counts: Counts | None, vocab: Sequence[str], k: float, prior: dict[str, float] | None = None):
    """{token: probability} over `vocab`: add-k toward `prior` (uniform when None)."""
    counts = counts or {}
    n = sum(counts.get(t, 0.0) for t in vocab)
    v = len(vocab)
    q = prior or {t: 1.0 / v for t in vocab}
    return {t: (counts.get(t, 0.0) + k * v * q[t]) / (n + k * v) for t in vocab}


def draw_weighted(rng: random.Random, weights: dict[str, float]) -> str:
    """A key of `weights`, drawn in proportion to its weight (in the dict's order)."""
    total = sum(weights.values())
    x = rng.random() * total
    last = ""
    for t, w in weights.items():
        if w <= 0:
            continue
        last = t
        x -= w
        if x < 0:
            return t
    return last


def _add(table: Table, row: str, token: str, n: float = 1.0) -> None:
    counts = table.setdefault(row, {})
    counts[token] = counts.get(token, 0.0) + n


def _summed(table: Table, prefix: str = "") -> Counts:
    """The counts of every row of `table` whose name starts with `prefix`, added up: a marginal."""
    out: Counts = {}
    for row, counts in table.items():
        if row.startswith(prefix):
            for t, c in counts.items():
                out[t] = out.get(t, 0.0) + c
    return out


def _position(used: int, total: int) -> str:
    return POSITIONS[min(2, 3 * used // max(total, 1))]


def _lengths(top: int) -> list[str]:
    return [str(n) for n in range(1, min(top, MAX_SECTION_BARS) + 1)]


# ---------------------------------------------------------------------------------------------
# the moves a plan makes, read off a plan


def moves_of(plan: Plan) -> list[tuple[str, int]]:
    """(move, target) of each section: a return's target is its label's place in the order the
    labels were first heard (1: the first, A), 0 for other moves."""
    out: list[tuple[str, int]] = []
    for i, s in enumerate(plan.sections):
        if plan.source(i) is None:
            out.append(("new", 0))
            continue
        variant = {"exact": "", "varied": "'", "transposed": "@"}[plan.relation(i)]
        if plan.sections[i - 1].label == s.label:
            out.append(("repeat" + variant, 0))
            continue
        out.append(("return" + variant, _first_heard(plan.sections[:i]).index(s.label) + 1))
    return out


def _first_heard(sections: Sequence[Section]) -> list[str]:
    """The labels heard so far, in the order they were first heard."""
    seen: list[str] = []
    for s in sections:
        if s.label not in seen:
            seen.append(s.label)
    return seen


def _earlier_labels(sections: Sequence[Section]) -> list[str]:
    """The labels a return may take: those heard so far but the last section's."""
    return [label for label in _first_heard(sections) if label != sections[-1].label]


def _cadence_positions(plan: Plan) -> list[list[str]]:
    out = []
    for i, s in enumerate(plan.sections):
        n = len(s.phrase_bars())
        last = i == len(plan.sections) - 1
        out.append(["inner"] * (n - 1) + ["final" if last else "section"])
    return out


# ---------------------------------------------------------------------------------------------
# the model


@dataclass
class PlanModel:
    """Counts of what analyzed pieces do, and the smoothing that turns them into probabilities."""

    forms: Table = field(default_factory=dict)  # meter or "*" -> "A8 A8 B8 B8@" -> pieces ("@": transposed)
    moves: Table = field(default_factory=dict)  # "PREV|POSITION" -> move -> count; PREV "start" for none
    targets: Counts = field(default_factory=dict)  # a return's label by first appearance: "1" (A), "2" (B) -> count
    section_bars: Table = field(default_factory=dict)  # meter or "*" -> bars of a new section -> count
    splits: Table = field(default_factory=dict)  # "METER|BARS" or "*|BARS" -> "4+4" -> count
    phrase_bars: Table = field(default_factory=dict)  # meter or "*" -> bars of a phrase -> count
    # these three by phrase bars ("4", all meters) and by meter too ("6/8|4"); echoes also for the
    # first section and the later ones apart ("first|4", "later|6/8|4"): a tune's opening strain is
    # a period far more often
    echoes: Table = field(default_factory=dict)  # bars of a new section's first two phrases -> echo bars -> count
    rhymes: Table = field(default_factory=dict)  # a rhyming section's last phrase bars -> rhyme bars -> count
    endings: Table = field(default_factory=dict)  # a return's last phrase bars -> bars written anew -> count
    # a piece ending with an exact return of section j: whether j's last cadence was the close's too
    closes: Counts = field(default_factory=dict)  # "same" / "other" -> pieces
    keys: dict[str, Table] = field(default_factory=dict)  # home mode -> previous numeral or "start" -> numeral
    cadences: Table = field(default_factory=dict)  # "POSITION|PREVIOUS" -> cadence -> count
    cadence_keys: Table = field(default_factory=dict)  # "MODE|POSITION|CADENCE" -> numeral from the section's key
    home_keys: Counts = field(default_factory=dict)  # "G major" -> count
    meters: Counts = field(default_factory=dict)  # "6/8" -> count (by piece)
    labels: Counts = field(default_factory=dict)  # "upper" / "lower" -> count
    fermatas: Counts = field(default_factory=dict)  # "yes" / "no" -> pieces
    cadence_beats: Table = field(default_factory=dict)  # meter -> the beat inner phrase ends mostly fall on -> pieces
    smoothing: dict[str, float] = field(default_factory=lambda: dict(SMOOTHING))
    pieces: int = 0
    fitted: dict = field(default_factory=dict)  # how it was fitted: command, data, license, counts

    # -- fitting ----------------------------------------------------------------------------
    def add(self, plan: Plan) -> None:
        """Count one analyzed piece."""
        if not plan.sections:
            return
        plan.check(f"plan {self.pieces + 1}")
        self.pieces += 1
        meter = str(parse_meter(plan.meter)) if plan.meter else None
        if meter:
            self.meters[meter] = self.meters.get(meter, 0) + 1
        home = plan.key or plan.key_of(len(plan.sections) - 1)
        if home is not None:
            name = key_text(home)
            self.home_keys[name] = self.home_keys.get(name, 0) + 1
        yes = "yes" if plan.fermatas else "no"  # a piece with none marked (the analyzer's None) has none
        self.fermatas[yes] = self.fermatas.get(yes, 0) + 1
        if meter and plan.cadence_beat is not None:
            _add(self.cadence_beats, meter, f"{plan.cadence_beat:g}")
        case = "lower" if plan.sections[0].label.islower() else "upper"
        self.labels[case] = self.labels.get(case, 0) + 1
        shape = form_shape(plan)
        for m in ("*", meter) if meter else ("*",):
            _add(self.forms, m, shape)
        total, used, prev = plan.bars, 0, "start"
        for i, (s, (move, back)) in enumerate(zip(plan.sections, moves_of(plan))):
            if i:  # the first section is always new
                _add(self.moves, f"{prev}|{_position(used, total)}", move)
            if back:
                self.targets[str(back)] = self.targets.get(str(back), 0) + 1
            if move == "new":
                bars = str(min(s.bars, MAX_SECTION_BARS))
                split = "+".join(str(b) for b in s.phrase_bars())
                for m in ("*", meter) if meter else ("*",):
                    _add(self.section_bars, m, bars)
                    _add(self.splits, f"{m}|{s.bars}", split)
                    for b in s.phrase_bars():
                        _add(self.phrase_bars, m, str(min(b, MAX_SECTION_BARS)))
                if s.period_bars():
                    _add_by_meter(self.echoes, meter, s.period_bars(), s.echo)
                    _add_by_meter(self.echoes, meter, s.period_bars(), s.echo, "later|" if i else "first|")
                if plan.may_rhyme(i):
                    _add_by_meter(self.rhymes, meter, s.phrase_bars()[-1], s.rhyme)
            elif plan.relation(i) == "exact" and plan.may_end_anew(i):  # (the analyzer reads exact returns' only)
                _add_by_meter(self.endings, meter, s.phrase_bars()[-1], s.ending)
            prev, used = move, used + s.bars
        j, close = plan.source(len(plan.sections) - 1), plan.sections[-1]
        if j is not None and plan.relation(len(plan.sections) - 1) == "exact" and close.cadences:
            first = plan.sections[j]  # the strain the piece closes by playing again: did it close so the first time?
            alike = first.cadences[-1:] == close.cadences[-1:] and not first.cadence_key(len(first.phrase_bars()) - 1)
            which = "same" if alike else "other"
            self.closes[which] = self.closes.get(which, 0) + 1
        if home is not None:
            table = self.keys.setdefault(home.mode, {})
            before = "start"
            last = len(plan.sections) - 1
            for i, (move, _) in enumerate(moves_of(plan)):
                key = plan.key_of(i) or home
                numeral = key_numeral(home, key)
                # the first and the last section are drawn at home; an exact return's key is its source's
                if 0 < i < last and move not in ("repeat", "return"):
                    _add(table, before, numeral)
                before = numeral
        before = "start"
        for i, (s, positions) in enumerate(zip(plan.sections, _cadence_positions(plan))):
            section_key = plan.key_of(i) or home
            for k, where in enumerate(positions):
                cadence = s.cadences[k] if k < len(s.cadences) else ""
                if cadence not in CADENCES:
                    continue  # not analyzed
                _add(self.cadences, f"{where}|{before}", cadence)
                if section_key is not None and cadence != "none":
                    mode = section_key.mode
                    numeral = s.cadence_key(k) or home_numeral(mode)
                    _add(self.cadence_keys, f"{mode}|{where}|{cadence}", numeral)
                before = cadence

    # -- probabilities ----------------------------------------------------------------------
    def _move_probs(self, prev: str, position: str) -> dict[str, float]:
        """P(move | the move before, position), backing off to P(move | the move before), then
        to P(move)."""
        k = self.smoothing["moves"]
        prior = _smoothed(_summed(self.moves, f"{prev}|"), MOVES, k, _smoothed(_summed(self.moves), MOVES, k))
        return _smoothed(self.moves.get(f"{prev}|{position}"), MOVES, k, prior)

    def _target_probs(self, n: int) -> dict[str, float]:
        return _smoothed(self.targets, [str(b) for b in range(1, n + 1)], self.smoothing["targets"])

    def _length_probs(self, meter: str | None, top: int) -> dict[str, float]:
        """P(bars of a new section), over 1..MAX_SECTION_BARS (not renormalized to `top`)."""
        k = self.smoothing["lengths"]
        vocab = _lengths(MAX_SECTION_BARS)
        probs = _smoothed(self.section_bars.get("*"), vocab, k)
        if meter and sum(self.section_bars.get(meter, {}).values()) and self.meters.get(meter, 0) >= MIN_METER_PIECES:
            probs = _smoothed(self.section_bars[meter], vocab, k, probs)
        return {t: p for t, p in probs.items() if int(t) <= top}

    def _key_probs(self, mode: str, before: str) -> dict[str, float]:
        k = self.smoothing["keys"]
        vocab = key_numerals(mode)
        table = self.keys.get(mode, {})
        marginal = _summed(table)
        if not marginal:  # no piece in this mode: the other mode's habits, read as numerals
            other = _summed(self.keys.get("minor" if mode == "major" else "major", {}))
            marginal = {t: c for t, c in other.items() if t in vocab}
        home = home_numeral(mode)
        prior = _smoothed(marginal or {home: 1.0}, vocab, k)
        return _smoothed(table.get(before), vocab, k, prior)

    def _cadence_probs(self, where: str, before: str) -> dict[str, float]:
        k = self.smoothing["cadences"]
        prior = _smoothed(_summed(self.cadences, f"{where}|"), CADENCES, k)
        return _smoothed(self.cadences.get(f"{where}|{before}"), CADENCES, k, prior)

    def _cadence_key_probs(self, mode: str, where: str, cadence: str) -> dict[str, float]:
        """P(the key a cadence is in, seen from its section's key | the section's mode, the
        phrase end's position, the cadence), backing off to the position alone, then to the mode;
        over the numerals the corpus's cadences in this mode were in (the section's own key at
        least)."""
        k = self.smoothing["cadence_keys"]
        every = _summed(self.cadence_keys, f"{mode}|")
        vocab = sorted(set(every) | {home_numeral(mode)})
        prior = _smoothed({home_numeral(mode): 1.0}, vocab, k)
        prior = _smoothed(_summed(self.cadence_keys, f"{mode}|{where}|"), vocab, k, _smoothed(every, vocab, k, prior))
        return _smoothed(self.cadence_keys.get(f"{mode}|{where}|{cadence}"), vocab, k, prior)

    def _habitual_cadence_keys(self, mode: str) -> set[str]:
        """The home numeral and the keys the corpus's cadences in `mode` close in away from home
        at least MIN_CADENCE_KEY_SHARE of the time."""
        home = home_numeral(mode)
        away = {t: c for t, c in _summed(self.cadence_keys, f"{mode}|").items() if t != home}
        total = sum(away.values())
        return {home} | {t for t, c in away.items() if c >= MIN_CADENCE_KEY_SHARE * total}

    # -- what a plan defaults to -------------------------------------------------------------
    def usual_cadence_beat(self, meter: str) -> float | None:
        """The beat of the bar most of the corpus's pieces in `meter` end inner phrases on (1 =
        the downbeat); None when it has no such pieces."""
        counts = self.cadence_beats.get(meter, {})
        return float(max(sorted(counts), key=lambda b: counts[b])) if counts else None

    def usual_meter(self) -> str:
        return max(self.meters, key=lambda m: self.meters[m]) if self.meters else "4/4"

    def usual_section_bars(self, meter: str | None = None) -> int:
        probs = self._length_probs(meter, MAX_SECTION_BARS)
        return int(max(probs, key=lambda t: probs[t]))

    def draw_meter(self, rng: random.Random, bars: int, among: Collection[str] | None = None) -> str:
        """A meter as often as the corpus's pieces `bars` long are in it: p(meter | bars) =
        (n(meter, bars) + k p(meter)) / (n(bars) + k), with k = smoothing["meters"], n counted
        from the whole forms (a 32-bar folk tune is a dance in 2/4, 6/8 or 2/2 far more often
        than the corpus's meters alone say). `among`: the meters it may be (those a model can
        write); "4/4" when the corpus has none of them."""
        meters = {m: n for m, n in sorted(self.meters.items()) if among is None or m in among}
        if not meters:
            return "4/4"
        total, k = sum(meters.values()), self.smoothing["meters"]
        weights = {m: k * n / total for m, n in meters.items()}
        for m in weights:
            weights[m] += sum(c for shape, c in self.forms.get(m, {}).items() if form_bars(shape) == bars)
        return draw_weighted(rng, weights)

    def draw_key(self, rng: random.Random, modes: tuple[str, ...] = MODES) -> Key:
        """A home key in one of `modes`, as often as the corpus's are (C major, or A minor, when
        it has none)."""
        keys = {k: n for k, n in sorted(self.home_keys.items()) if parse_key(k).mode in modes}
        if not keys:
            return parse_key("C major" if "major" in modes else "A minor")
        return parse_key(draw_weighted(rng, keys))

    # -- drawing ----------------------------------------------------------------------------
    def sample(self, bars: int, meter: str | Meter | None = None, key: Key | None = None, seed: int = 0) -> Plan:
        """A plan of exactly `bars` bars in `meter` and home `key` (None: drawn from the corpus's
        meters and keys), drawn from the model; the same seed gives the same plan."""
        if not 1 <= bars <= 1000:
            raise OptionError(f"a plan of {bars} bars: give at least 1 and at most 1000 bars")
        rng = random.Random(seed)
        meter = str(parse_meter(str(meter))) if meter else self.draw_meter(rng, bars)
        home = key if key is not None else self.draw_key(rng)
        home = Key(0.0, home.tonic, home.mode, home.tonic_name)
        whole = self._whole_form(bars, meter, rng)
        halves, again = False, dict[int, int]()
        if whole is not None:
            sections, kinds, halves, again = whole
        else:
            drafts = [self._draft(bars, meter, rng) for _ in range(DRAFTS)]
            best = max(w for _, w in drafts)
            chosen = int(draw_weighted(rng, {str(i): math.exp(w - best) for i, (_, w) in enumerate(drafts)}))
            sections, kinds = drafts[chosen][0]
        lower = self.labels.get("lower", 0) > self.labels.get("upper", 0)
        plan = Plan(
            [replace(s, label=s.label.lower()) if lower else s for s in sections],
            key=home,
            meter=meter,
            fermatas=True if self.fermatas.get("yes", 0) > self.fermatas.get("no", 0) else None,
        )
        plan.cadence_beat = self.usual_cadence_beat(meter)
        self._plan_phrases(plan, meter, rng, halves)
        self._plan_keys(plan, kinds, rng, again)
        self._plan_cadences(plan, kinds, rng)
        self._plan_rhymes(plan, meter, rng, set(range(len(plan.sections))))
        self._plan_endings(plan, meter, rng, set(range(len(plan.sections))))
        plan.check("planner")
        return plan

    def _whole_form(
        self, bars: int, meter: str, rng: random.Random
    ) -> tuple[list[Section], list[str], bool, dict[int, int]] | None:
        """(sections, kinds, whether stretched, {a section: the earlier one it plays again}) of a
        form some corpus piece has (in this meter, when the corpus has enough of it) of exactly
        `bars` bars, or of half as many made twice as long in one of two ways: every section
        twice as long (its sections then take their phrases twice), or played twice
        (`played_twice`), those two in the shares smoothing["stretch"] and smoothing["twice"],
        and the half-length forms together weighing at most smoothing["halves"] pieces; drawn
        with probability n / (n + smoothing["forms"]) for n the pieces of both lengths; else None."""
        row = self.forms.get(meter) if self.meters.get(meter, 0) >= MIN_METER_PIECES else None
        fitting: dict[str, float] = {}
        halves: dict[str, float] = {}
        for shape, c in sorted((row or self.forms.get("*", {})).items()):
            total = form_bars(shape)
            if total == bars:
                fitting[shape] = fitting.get(shape, 0.0) + c
            elif 2 * total == bars:
                stretched = " ".join(
                    _SHAPE.sub(lambda m: f"{m[1]}{m[2]}{2 * int(m[3])}{m[4]}", w) for w in shape.split()
                )
                stretched = "2x " + stretched
                halves[stretched] = halves.get(stretched, 0.0) + c * self.smoothing["stretch"]
                halves["twice " + shape] = c * self.smoothing["twice"]  # drawn as such, not as a form it equals
        mass = sum(halves.values())
        n = sum(fitting.values()) + mass  # the chance of a corpus form at all, as the pieces count
        scale = min(1.0, self.smoothing["halves"] / mass) if mass else 1.0  # only ever down
        for shape, c in halves.items():
            fitting[shape] = fitting.get(shape, 0.0) + c * scale
        if not sum(fitting.values()) or rng.random() * (n + self.smoothing["forms"]) >= n:
            return None
        chosen = draw_weighted(rng, fitting)
        again: dict[int, int] = {}
        if chosen.startswith("twice "):
            chosen, again = played_twice(chosen.removeprefix("twice "))
        sections, kinds = parse_shape(chosen.removeprefix("2x "))
        return sections, kinds, chosen.startswith("2x "), again

    def _draft(self, bars: int, meter: str, rng: random.Random) -> tuple[tuple[list[Section], list[str]], float]:
        """(sections with labels, lengths and primes, and the kind of each: new, exact, varied or
        transposed; the log of the probability mass the length's masks kept)."""
        sections: list[Section] = []
        kinds: list[str] = []
        length_of: dict[str, int] = {}
        weight, used, prev, letters = 0.0, 0, "start", 0
        while used < bars:
            left = bars - used
            options: dict[str, float] = {}
            lengths = self._length_probs(meter, left)
            if not sections:
                probs = {"new": 1.0}
            else:
                probs = self._move_probs(prev, _position(used, bars))
                earlier = _earlier_labels(sections)
                if not earlier:
                    probs = {m: p for m, p in probs.items() if not m.startswith("return")}
                total = sum(probs.values())
                probs = {m: p / total for m, p in probs.items()}
            for move, p in probs.items():
                if move == "new":
                    options["new"] = p * sum(lengths.values())
                elif move.startswith("repeat"):
                    options[move] = p if length_of[sections[-1].label] <= left else 0.0
                else:
                    targets = {
                        b: q for b, q in self._target_probs(len(length_of)).items() if _label(int(b) - 1) in earlier
                    }
                    total = sum(targets.values())
                    for b, q in targets.items():
                        label = _label(int(b) - 1)
                        options[f"{move}|{label}"] = p * q / total if length_of[label] <= left else 0.0
            weight += math.log(sum(options.values()))
            choice = draw_weighted(rng, options)
            move, _, target = choice.partition("|")
            if move == "new":
                label = _label(letters)
                letters += 1
                length = int(draw_weighted(rng, lengths))
                length_of[label] = length
                sections.append(Section(label, length))
                kinds.append("new")
            else:
                label = target or sections[-1].label
                primes = 0
                if move.endswith("'"):
                    primes = 1 + max(s.primes for s in sections if s.label == label)
                elif move.startswith("repeat"):
                    primes = sections[-1].primes  # a repeat of A' is A' again
                sections.append(Section(label, length_of[label], primes=primes))
                kinds.append("varied" if primes else "transposed" if move.endswith("@") else "exact")
            used += sections[-1].bars
            prev = move
        return (sections, kinds), weight

    def split(self, bars: int, meter: str | None, rng: random.Random) -> list[int]:
        """The phrases (bars of each) of a section of `bars` bars: a split the corpus makes of
        sections this long, or phrases drawn one by one from its phrase lengths."""
        k = self.smoothing["splits"]
        row = None
        if meter and self.meters.get(meter, 0) >= MIN_METER_PIECES:
            row = self.splits.get(f"{meter}|{bars}")
        row = row or self.splits.get(f"*|{bars}")
        n = sum(row.values()) if row else 0.0
        if row and rng.random() * (n + k) < n:
            return [int(b) for b in draw_weighted(rng, dict(sorted(row.items()))).split("+")]
        table = self.phrase_bars.get(meter or "", {}) if meter and self.meters.get(meter, 0) >= MIN_METER_PIECES else {}
        vocab = _lengths(MAX_SECTION_BARS)
        probs = _smoothed(self.phrase_bars.get("*"), vocab, self.smoothing["lengths"])
        if table:
            probs = _smoothed(table, vocab, self.smoothing["lengths"], probs)
        out: list[int] = []
        while sum(out) < bars:
            left = bars - sum(out)
            out.append(int(draw_weighted(rng, {t: p for t, p in probs.items() if int(t) <= left})))
        return out

    def _plan_phrases(self, plan: Plan, meter: str | None, rng: random.Random, halves: bool = False) -> None:
        """Phrases for every section that has none: its label's earlier phrases (when the
        lengths agree), else a split drawn for its length (with `halves`, for half its length,
        taken twice); a cadence given for the one phrase a section had stays on its last. A new
        section split here also draws its echo (_draw_echo), from a generator of its own, so that
        the keys and cadences drawn after are those a plan model without echoes would draw."""
        echoes = random.Random(f"echoes {rng.getstate()}")  # a str seed: the same in every process
        for i, s in enumerate(plan.sections):
            if s.phrases:
                continue
            j = plan.source(i)
            if j is not None and plan.sections[j].bars == s.bars and plan.sections[j].phrases:
                phrases = list(plan.sections[j].phrases)
            elif halves and s.bars % 2 == 0:
                phrases = self.split(s.bars // 2, meter, rng) * 2
            else:
                phrases = self.split(s.bars, meter, rng)
            if s.echo and period_bars(phrases) <= s.echo:  # a given echo the drawn split cannot hold:
                phrases = [s.bars]  # one long phrase, whose halves hold it (Plan.check let it through so)
            cadences, numerals = list(s.cadences), list(s.cadence_keys)
            if len(phrases) > 1 and len(cadences) == 1:  # the one cadence given ends the section, in its key
                cadences = [""] * (len(phrases) - 1) + cadences
                numerals = [""] * (len(phrases) - 1) + numerals if numerals else []
            echo = self._draw_echo(phrases, meter, echoes, first=i == 0) if j is None and not s.echo else s.echo
            plan.sections[i] = replace(s, phrases=phrases, cadences=cadences, cadence_keys=numerals, echo=echo)

    def _draw_echo(self, phrases: list[int], meter: str | None, rng: random.Random, first: bool = False) -> int:
        """Bars of a new section's first phrase that open its second (a period), as often as the
        corpus's sections of such phrases do it (in this meter, _detail), the piece's `first`
        section as often as first sections do and the others as the others (O'Neill's tunes of A8
        A8 B8 B8: 62% of their A strains are periods, 35% of their B strains), where it counted
        enough of them; 0 where the phrases differ or nothing was counted."""
        bars = period_bars(phrases)
        probs = self._detail(self.echoes, meter, bars, range(bars), "echoes") if bars else None
        if probs:  # the counts of the first section, or of the later ones, where there are enough of them
            where = "first|" if first else "later|"
            probs = self._detail(self.echoes, meter, bars, range(bars), "echoes", where, probs) or probs
        return int(draw_weighted(rng, probs)) if probs else 0

    def _detail(
        self,
        table: Table,
        meter: str | None,
        bars: int,
        values: Iterable[int],
        kind: str,
        where: str = "",
        prior: dict[str, float] | None = None,
    ) -> dict[str, float] | None:
        """{value: probability} of an echo, rhyme or ending (`kind`: its table's name) for a phrase
        of `bars` bars: the corpus's counts in `meter`, where it has enough pieces of that meter
        and of such phrases in it (MIN_METER_PIECES each), smoothed toward those of all meters (a
        jig's strain is a period about half the time, a 4/4 song's a tenth: the folk corpus's
        held-out sections of two 4-bar phrases); None where nothing was counted. `where` ("first|")
        reads the rows counted for one place in the piece, smoothed toward `prior` (the rows of
        every place), and gives None where it has too few counts."""
        counts = table.get(f"{where}{bars}")
        if not counts or (where and sum(counts.values()) < MIN_METER_PIECES):
            return None
        vocab, k = [str(v) for v in values], self.smoothing[kind]
        probs = _smoothed(counts, vocab, k, prior)
        row = table.get(f"{where}{meter}|{bars}") if meter and self.meters.get(meter, 0) >= MIN_METER_PIECES else None
        return _smoothed(row, vocab, k, probs) if row and sum(row.values()) >= MIN_METER_PIECES else probs

    def _plan_rhymes(self, plan: Plan, meter: str | None, rng: random.Random, fresh: set[int]) -> None:
        """A rhyme for each section whose phrases were planned here (`fresh`) that may rhyme
        (Plan.may_rhyme) and has none given: as many of its last bars as the corpus's such
        sections (of that last phrase's length, in `meter`: _detail) repeat of the first section's, within its room
        (Plan.rhyme_room); a given rhyme is kept within that room. From a generator of its own, so
        that the rest of the plan is drawn as a plan model without rhymes would draw it."""
        draws = random.Random(f"rhymes {rng.getstate()}")  # a str seed: the same in every process
        for i, s in enumerate(plan.sections):
            if i not in fresh:
                continue
            room = plan.rhyme_room(i)
            if s.rhyme:  # given: kept, within the room the phrases drawn for it leave
                plan.sections[i] = replace(s, rhyme=min(s.rhyme, room))
                continue
            probs = self._detail(self.rhymes, meter, s.phrase_bars()[-1], range(room + 1), "rhymes")
            if probs and room and plan.may_rhyme(i):
                plan.sections[i] = replace(s, rhyme=int(draw_weighted(draws, probs)))

    def _plan_endings(self, plan: Plan, meter: str | None, rng: random.Random, fresh: set[int]) -> None:
        """An ending for each exact or transposed return among `fresh` that has none given (its
        last bars written anew, Plan.may_end_anew): as many as the corpus's returns with a last
        phrase of that length end anew (in `meter`: _detail), fewer than that phrase has; a given ending is kept,
        fewer than the last phrase drawn for it has. From a generator of its own, so that the
        rest of the plan is drawn as a plan model without endings would draw it; a model fitted
        before endings were counted draws none."""
        draws = random.Random(f"endings {rng.getstate()}")  # a str seed: the same in every process
        for i, s in enumerate(plan.sections):
            if i not in fresh:
                continue
            bars = s.phrase_bars()[-1]
            if s.ending:  # given: kept, within the last phrase drawn for it (none left by a 1-bar one)
                plan.sections[i] = replace(s, ending=min(s.ending, bars - 1) if plan.may_end_anew(i) else 0)
                continue
            if not plan.may_end_anew(i):
                continue
            probs = self._detail(self.endings, meter, bars, range(bars), "endings")
            if probs:
                plan.sections[i] = replace(s, ending=int(draw_weighted(draws, probs)))

    def _plan_keys(self, plan: Plan, kinds: list[str], rng: random.Random, again: dict[int, int] | None = None) -> None:
        """A key for every section (the home key given explicitly), by the kinds of return;
        the first and the last section in the home key, and so is a section whose cadence keys
        are given (--cadences authentic@V: V seen from home, as whoever asked for it meant).
        A section in `again` plays the earlier one it names again, in its key."""
        assert plan.key is not None
        home = plan.key
        mode = home.mode
        here = home_numeral(mode)
        numerals: list[str] = []
        before = "start"

        def first(i: int) -> int:
            j = plan.source(i)
            return i if j is None else j

        given = {first(i) for i, s in enumerate(plan.sections) if any(s.cadence_keys)}  # with its returns
        for i, kind in enumerate(kinds):
            j = plan.source(i)
            if i == 0 or first(i) in given:
                numeral = here
            elif again and i in again:
                numeral = numerals[again[i]]
            elif kind == "exact" and j is not None:
                numeral = numerals[j]
            else:
                probs = self._key_probs(mode, before)
                if kind == "transposed" and j is not None:
                    probs[numerals[j]] = 0.0
                numeral = draw_weighted(rng, probs)
            numerals.append(numeral)
            before = numeral
        last = len(kinds) - 1
        if numerals[last] != here:
            j = plan.source(last)
            if kinds[last] == "exact" and j is not None:  # the label and its exact returns move home
                was = numerals[j]
                for i in range(len(kinds)):
                    if (
                        plan.sections[i].label == plan.sections[last].label
                        and numerals[i] == was
                        and not (plan.sections[i].primes)
                    ):
                        numerals[i] = here
            numerals[last] = here
            if again and last in again:  # a strain played twice closes at home both times
                numerals[again[last]] = here
        for i, numeral in enumerate(numerals):
            key = home if numeral == here else numeral_key(home, numeral)
            plan.sections[i] = replace(plan.sections[i], key=key)

    def _plan_cadences(
        self, plan: Plan, kinds: list[str] | None, rng: random.Random, keyed: frozenset[int] = frozenset()
    ) -> None:
        """A cadence at every phrase end left unplanned: an exact or transposed return repeats its
        source's; the final one is authentic; the rest are drawn by position and the one before.
        Each cadence planned here also gets the key it is in (seen from its section's key):
        a repeated cadence its source's (moved to this section's mode, _moved_numeral), the rest
        drawn (_cadence_key_probs), from a generator of their own, so that the cadences are drawn
        as a plan model without cadence keys draws them. A cadence given keeps its given key, or
        its section's; so does the last cadence of a section whose key was given (`keyed`: a
        section the user put in D closes in D). The piece's close is at home (realize sees to it).
        Where the last section is an exact return, its first time closes as the close does (at
        home, with the close's cadence: authentic unless given) as often as the corpus's such
        pieces do (`closes`: 86% of the folk corpus's, 92% of O'Neill's tunes of A8 A8 B8 B8),
        drawn from a generator of its own; a rhyme's cadence (the first section's) comes first."""
        before = "start"
        ends = _cadence_positions(plan)
        in_keys = random.Random(f"cadence keys {rng.getstate()}")  # a str seed: the same in every process
        home = plan.key or Key(0.0, 0, "major")
        last = len(plan.sections) - 1
        closes_with = (plan.sections[last].cadences or [""])[-1] or "authentic"  # the close: given, else authentic
        alike = random.Random(f"closes {rng.getstate()}")
        odds = _smoothed(self.closes, ["same", "other"], self.smoothing["closes"])
        same = bool(self.closes) and closes_with != "none" and draw_weighted(alike, odds) == "same"
        exact = (kinds[last] if kinds else plan.relation(last)) == "exact"
        closing = plan.source(last) if exact and same else None  # the section whose first time closes so
        for i, s in enumerate(plan.sections):
            j = plan.source(i)
            kind = kinds[i] if kinds else plan.relation(i)
            source = plan.sections[j] if j is not None and kind in ("exact", "transposed") else None
            cadences = list(s.cadences) + [""] * (len(ends[i]) - len(s.cadences))
            numerals = [s.cadence_key(k) for k in range(len(ends[i]))]
            here = plan.key_of(i) or home
            for k, where in enumerate(ends[i]):
                if not cadences[k]:
                    copied: tuple[int, int] | None = None  # (section, phrase) whose cadence this one repeats
                    if where == "final":
                        cadences[k] = "authentic"
                    elif s.rhyme and i and k == len(ends[i]) - 1:  # it closes as the first section does
                        cadences[k] = plan.sections[0].cadences[-1]
                        copied = (0, len(plan.sections[0].phrase_bars()) - 1)
                    elif i == closing and k == len(ends[i]) - 1:  # the close's first time: the close's cadence
                        cadences[k] = closes_with
                    elif source is not None and source.phrase_bars() == s.phrase_bars() and source.cadences[k : k + 1]:
                        cadences[k] = source.cadences[k] or ""
                        copied = (j, k) if j is not None else None
                    if copied is not None and not numerals[k]:  # its key too, seen from this section's key
                        at, phrase = copied
                        numeral = plan.sections[at].cadence_key(phrase)
                        numerals[k] = _moved_numeral(numeral, plan.key_of(at) or home, here)
                    if not cadences[k]:
                        cadences[k] = draw_weighted(rng, self._cadence_probs(where, before))
                        if self.cadence_keys and cadences[k] != "none":
                            drawn = draw_weighted(in_keys, self._cadence_key_probs(here.mode, where, cadences[k]))
                            if drawn not in self._habitual_cadence_keys(here.mode):
                                drawn = home_numeral(here.mode)
                            numerals[k] = numerals[k] or ("" if drawn == home_numeral(here.mode) else drawn)
                if i in keyed and k == len(ends[i]) - 1 and not s.cadence_key(k):
                    numerals[k] = ""  # a section the user put in a key closes in it, unless told otherwise
                before = cadences[k]
            while numerals and not numerals[-1]:
                numerals.pop()
            plan.sections[i] = replace(s, cadences=cadences, cadence_keys=numerals)

    # -- as data ----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "fitted": self.fitted,
            "pieces": self.pieces,
            "smoothing": dict(self.smoothing),
            "meters": _sorted(self.meters),
            "home_keys": _sorted(self.home_keys),
            "labels": _sorted(self.labels),
            "fermatas": _sorted(self.fermatas),
            "cadence_beats": _sorted_table(self.cadence_beats),
            "forms": _sorted_table(self.forms),
            "moves": _sorted_table(self.moves),
            "targets": _sorted(self.targets),
            "section_bars": _sorted_table(self.section_bars),
            "splits": _sorted_table(self.splits),
            "echoes": _sorted_table(self.echoes),
            "rhymes": _sorted_table(self.rhymes),
            "endings": _sorted_table(self.endings),
            "closes": _sorted(self.closes),
            "phrase_bars": _sorted_table(self.phrase_bars),
            "keys": {mode: _sorted_table(t) for mode, t in sorted(self.keys.items())},
            "cadences": _sorted_table(self.cadences),
            "cadence_keys": _sorted_table(self.cadence_keys),
        }

    @classmethod
    def from_dict(cls, d: dict, where: str = "planner") -> PlanModel:
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise OptionError(f'{where}: not a Cadenza plan model (no "format": "{FORMAT}")')
        if d.get("version") != VERSION:
            raise OptionError(f"{where}: plan model version {d.get('version')!r}; this Cadenza reads {VERSION}")
        try:
            smoothing = dict(SMOOTHING) | {str(k): float(v) for k, v in d.get("smoothing", {}).items()}
            return cls(
                forms=_table(d.get("forms", {})),
                moves=_table(d.get("moves", {})),
                targets=_counts(d.get("targets", {})),
                section_bars=_table(d.get("section_bars", {})),
                splits=_table(d.get("splits", {})),
                echoes=_table(d.get("echoes", {})),
                rhymes=_table(d.get("rhymes", {})),
                endings=_table(d.get("endings", {})),
                closes=_counts(d.get("closes", {})),
                phrase_bars=_table(d.get("phrase_bars", {})),
                keys={str(m): _table(t) for m, t in d.get("keys", {}).items() if m in ("major", "minor")},
                cadences=_table(d.get("cadences", {})),
                cadence_keys=_table(d.get("cadence_keys", {})),
                home_keys=_counts(d.get("home_keys", {})),
                meters=_counts(d.get("meters", {})),
                labels=_counts(d.get("labels", {})),
                fermatas=_counts(d.get("fermatas", {})),
                cadence_beats=_table(d.get("cadence_beats", {})),
                smoothing=smoothing,
                pieces=int(d.get("pieces", 0)),
                fitted=dict(d.get("fitted", {})),
            )
        except (AttributeError, TypeError, ValueError) as e:
            raise OptionError(f"{where}: a damaged plan model ({type(e).__name__}: {e})") from None

    def summary(self) -> list[str]:
        """A few lines on what the model learned, for its card."""

        def top(counts: Counts, n: int = 5) -> str:
            total = sum(counts.values()) or 1.0
            ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
            return ", ".join(f"{t} {c / total:.0%}" for t, c in ranked)

        lines = [
            f"pieces: {self.pieces}; meters: {top(self.meters)}",
            f"forms: {top(self.forms.get('*', {}), 6)}",
            f"new sections' bars: {top(self.section_bars.get('*', {}))}",
            f"phrase bars: {top(self.phrase_bars.get('*', {}))}",
            f"moves after the first section: {top(_summed(self.moves), 7)}",
        ]
        for mode, table in sorted(self.keys.items()):
            lines.append(f"keys of inner sections in {mode} pieces (exact returns left out): {top(_summed(table), 6)}")
        for where in CADENCE_POSITIONS:
            lines.append(f"cadences, {where}: {top(_summed(self.cadences, f'{where}|'), 6)}")
        for mode in ("major", "minor"):
            away = _summed(self.cadence_keys, f"{mode}|inner|")
            if away:
                lines.append(f"keys of inner cadences in {mode} sections (from the section's key): {top(away, 6)}")
        for bars, counts in _all_meters(self.echoes):
            if sum(counts.values()) >= 20:
                lines.append(
                    f"bars of a {bars}-bar first phrase (or half phrase) opening the second (periods): {top(counts, 4)}"
                )
        for bars, counts in _all_meters(self.rhymes):
            if sum(counts.values()) >= 20:
                lines.append(
                    f"last bars of the first section closing a new section's {bars}-bar last phrase (rhymes): "
                    f"{top(counts, 4)}"
                )
        for bars, counts in _all_meters(self.endings):
            if sum(counts.values()) >= 20:
                lines.append(f"last bars of a return's {bars}-bar last phrase written anew (endings): {top(counts, 4)}")
        return lines


def _add_by_meter(table: Table, meter: str | None, bars: int, value: int, where: str = "") -> None:
    """Count `value` for a phrase of `bars` bars, in all meters and in `meter` (rows prefixed by `where`)."""
    _add(table, f"{where}{bars}", str(value))
    if meter:
        _add(table, f"{where}{meter}|{bars}", str(value))


def _all_meters(table: Table) -> list[tuple[str, Counts]]:
    """The rows of an echo, rhyme or ending table counted in all meters, by phrase bars."""
    return sorted(((b, c) for b, c in table.items() if "|" not in b), key=lambda kv: int(kv[0]))


def _moved_numeral(numeral: str, source: Key, here: Key) -> str:
    """A cadence key repeated from a section in `source` into one in `here`, seen from `here`: the
    same numeral when the modes agree (a transposed return moves its cadences along), else the
    numeral of the same key relative to the new tonic in its mode ("" for its own key)."""
    if not numeral or source.mode == here.mode:
        return numeral
    moved = numeral_key(Key(0.0, here.tonic, source.mode), numeral)
    return "" if moved.same_key(here) else key_numeral(here, moved)


def form_shape(plan: Plan) -> str:
    """The plan's sections as 'A8 A8 B8 A'8 B8@': labels (upper case), primes, bars, and '@' on
    a transposed return; keys, phrases and cadences left out."""
    words = []
    for i, s in enumerate(plan.sections):
        moved = "@" if plan.relation(i) == "transposed" else ""
        words.append(s.label.upper() + "'" * s.primes + str(s.bars) + moved)
    return " ".join(words)


_SHAPE = re.compile(r"([A-Z][A-Z_]*)('*)(\d+)(@?)")


def parse_shape(text: str) -> tuple[list[Section], list[str]]:
    """(sections, the kind of each: new, exact, varied, transposed) of a form_shape string."""
    sections: list[Section] = []
    kinds: list[str] = []
    for word in text.split():
        m = _SHAPE.fullmatch(word)
        if not m:
            raise OptionError(f"a damaged plan model: form {text!r}")
        label, primes, bars, moved = m.groups()
        first = all(s.label != label for s in sections)
        sections.append(Section(label, int(bars), primes=len(primes)))
        kinds.append("new" if first else "varied" if primes else "transposed" if moved else "exact")
    return sections, kinds


def played_twice(shape: str) -> tuple[str, dict[int, int]]:
    """A form_shape played as a dance tune plays its strains, each twice, and {each section of
    a second playing: the section it plays again}. A strain is a run of sections with one label
    (A8 B8 as A8 A8 B8 B8; A4 A'4 B8, whose A strain is a period, as A4 A'4 A4 A'4 B8 B8). A
    varied section played again is another variation of its label (Plan.source is always the
    label's first section); it keeps its first playing's key."""
    words = shape.split()
    order: list[int] = []
    again: dict[int, int] = {}
    for _, run in itertools.groupby(range(len(words)), key=lambda i: _word_label(words[i])):
        strain = list(run)
        again |= {len(order) + len(strain) + k: len(order) + k for k in range(len(strain))}
        order += strain + strain
    return " ".join(words[i] for i in order), again


def _word_label(word: str) -> str:
    return parse_shape(word)[0][0].label


def form_bars(text: str) -> int:
    """The bars of a form written as `form_shape` writes it."""
    return sum(s.bars for s in parse_shape(text)[0])


def _label(n: int) -> str:
    """A, B, ... Z, AA, AB, ..."""
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(ord("A") + r) + out
    return out


def _sorted(counts: Counts) -> dict:
    return {
        k: (int(v) if float(v).is_integer() else v) for k, v in sorted(counts.items(), key=lambda kv: _order(kv[0]))
    }


def _order(key: str) -> tuple:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in key.replace("+", "|").split("|"))


def _sorted_table(table: Table) -> dict:
    return {row: _sorted(c) for row, c in sorted(table.items(), key=lambda kv: _order(kv[0]))}


def _counts(d: dict) -> Counts:
    if not isinstance(d, dict):
        raise TypeError("counts must be an object")
    out = {str(k): float(v) for k, v in d.items()}
    if any(v < 0 for v in out.values()):
        raise ValueError("a negative count")
    return out


def _table(d: dict) -> Table:
    if not isinstance(d, dict):
        raise TypeError("a table must be an object")
    return {str(row): _counts(c) for row, c in d.items()}


# ---------------------------------------------------------------------------------------------
# fitting, files, and completing a plan


def fit(plans: Iterable[Plan], fitted: dict | None = None, twice: float = 0.5) -> PlanModel:
    """A plan model counted from analyzed pieces; `fitted` records how (command, data, ...);
    `twice`: smoothing["twice"], the share of the half-length forms drawn with each strain
    played twice (the rest, smoothing["stretch"], with every section twice as long)."""
    model = PlanModel(fitted=dict(fitted or {}))
    model.smoothing.update(twice=twice, stretch=1.0 - twice)
    for plan in plans:
        model.add(plan)
    if not model.pieces:
        raise OptionError("no plans to fit a plan model on")
    return model


def path_of(where: str | Path) -> Path:
    """planner.json in a model folder, or the file itself."""
    p = Path(where)
    return p / FILE if p.is_dir() or p.suffix.lower() != ".json" else p


def save(model: PlanModel, where: str | Path, force: bool = False) -> Path:
    """Write planner.json into a folder (or to a .json path), whole or not at all."""
    from cadenza.io.files import atomic_write

    text = json.dumps(model.to_dict(), indent=1) + "\n"
    return atomic_write(path_of(where), text.encode(), force=force)


def load(where: str | Path) -> PlanModel:
    """The plan model in a model folder (its planner.json) or a .json file."""
    path = path_of(where)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(path, "no plan model here (planner.json)") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise InputError(path, f"cannot read it as a plan model ({type(e).__name__})") from None
    return PlanModel.from_dict(data, str(path))


def form_statistics(plans: Sequence[Plan]) -> dict[str, float]:
    """What a set of plans does, to set drawn plans beside analyzed ones: sections per piece,
    bars per section and per phrase, the shares of sections that return an earlier one (exact,
    varied, transposed) or stand in another key than the home key (of all sections, and of
    those between the first and the last) or are periods (an echo), rhymes, or returns that end
    anew, the shares of phrase ends by cadence, and the share of cadences in another key than
    the home key."""
    sections = [(p, i) for p in plans for i in range(len(p.sections))]
    phrases = [b for p in plans for s in p.sections for b in s.phrase_bars()]
    ends = [c for p in plans for _, c in p.phrase_ends()]
    n, m, e = max(len(sections), 1), max(len(phrases), 1), max(len(ends), 1)
    relations = [p.relation(i) for p, i in sections]
    inside = [(p, i) for p, i in sections if 0 < i < len(p.sections) - 1]
    out = {
        "pieces": float(len(plans)),
        "sections_per_piece": len(sections) / max(len(plans), 1),
        "bars_per_section": sum(p.sections[i].bars for p, i in sections) / n,
        "bars_per_phrase": sum(phrases) / m,
        "exact_returns": relations.count("exact") / n,
        "varied_returns": relations.count("varied") / n,
        "transposed_returns": relations.count("transposed") / n,
        "away_from_home": sum(1 for p, i in sections if (p.key_of(i) or p.key) != p.key) / n,
        "away_inside": sum(1 for p, i in inside if (p.key_of(i) or p.key) != p.key) / max(len(inside), 1),
        "periods": sum(1 for p, i in sections if p.sections[i].echo) / n,
        "rhymes": sum(1 for p, i in sections if p.sections[i].rhyme) / n,
        "endings": sum(1 for p, i in sections if p.sections[i].ending) / n,
    }
    for c in CADENCES:
        out[f"cadence_{c}"] = ends.count(c) / e
    away = [
        not k.same_key(p.key)
        for p in plans
        if p.key is not None
        for (_, c), k in zip(p.phrase_ends(), p.phrase_keys(p.key))
        if c not in ("", "none") and k is not None
    ]
    out["cadences_away"] = sum(away) / max(len(away), 1)
    return {k: round(v, 4) for k, v in out.items()}


def of_model(directory: str | Path) -> PlanModel | None:
    """The plan model beside a model (its folder's planner.json), or None when it has none."""
    path = Path(directory) / FILE
    return load(path) if path.exists() else None


def complete(plan: Plan, model: PlanModel, seed: int = 0) -> Plan:
    """The plan with what it leaves out planned by `model` (see the module docstring): the home
    key, section keys when no section names one, phrases, and cadences. What is given stays.
    The same seed gives the same plan."""
    rng = random.Random(seed)
    out = deepcopy(plan)
    if out.key is None:  # the last section's key, else the first given, else drawn: in a mode its cadence keys fit
        modes = out.home_modes()
        given = [s.key for s in (out.sections[-1], *out.sections) if s.key is not None and s.key.mode in modes]
        out.key = given[0] if given else model.draw_key(rng, modes)
    try:
        meter = str(parse_meter(out.meter)) if out.meter else None
    except MusicError as e:
        raise OptionError(str(e)) from None
    if out.cadence_beat is None:
        out.cadence_beat = model.usual_cadence_beat(meter or model.usual_meter())
    fresh = {i for i, s in enumerate(out.sections) if not s.phrases}  # sections whose phrases are planned here
    meter = meter or model.usual_meter()
    model._plan_phrases(out, meter, rng)
    kinds = [out.relation(i) for i in range(len(out.sections))]
    keyed = frozenset(i for i, s in enumerate(out.sections) if s.key is not None)
    if not keyed:
        model._plan_keys(out, kinds, rng)
        kinds = [out.relation(i) for i in range(len(out.sections))]
    model._plan_cadences(out, kinds, rng, keyed)
    model._plan_rhymes(out, meter, rng, fresh)
    model._plan_endings(out, meter, rng, fresh)
    out.check("plan")
    return out
