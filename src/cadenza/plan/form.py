"""The plan of a piece as plain data: its sections, their lengths, keys, cadences, and how each
returns an earlier one. Readable and writable as text (the form string, TOML, JSON).

    A8 A8 B8 B8        four sections of 8 bars; each strain returns exactly
    a2 a2 b2 c2 d2     a chorale in bar form: the Stollen (a) repeats, then the Abgesang
    A8 B8 A'8          a varied return: A's rhythm and outline, part of its notes rewritten
    A8 B8 A8@D         a transposed return: A again, moved into D major (@d: D minor)
    A8 B8 A            a returning label's length may be left out: it keeps its first length

Each section holds one or more phrases (bars and the cadence that ends each). A section's
relation to an earlier one follows from its label:
    new         the label's first section
    exact       the same label (no prime) in the same key as its first section
    transposed  the same label in another key (`@KEY`, or a key given with --keys)
    varied      the label with one or more primes (A', A'')

Cadences (at a phrase end, in the section's key, or in the key its `cadence_keys` names):
    authentic   V - I, the melody on the tonic (also: perfect, pac)
    imperfect   V - I, the melody on the third or fifth (iac)
    half        ending on V (hc)
    plagal      IV - I
    deceptive   V - vi (VI in minor)
    none        no cadence planned

A plan file (TOML or JSON) says the same and more: per-section dynamics and density hints for
the performer, phrases inside a section, whether phrase ends carry fermatas, and the beat of
its last bar a phrase's cadence arrives on (Bach's mostly on beat 3 of 4/4):

    key = "G major"
    meter = "6/8"
    [[sections]]
    label = "A"
    bars = 8
    phrases = [4, 4]
    cadences = ["half", "authentic"]
    echo = 2                           # its second phrase opens with the first's first 2 bars
    dynamics = "mf"
    [[sections]]
    label = "B"
    bars = 8
    rhyme = 1                          # its last bar is the first section's last bar
    [[sections]]
    label = "B"
    bars = 8
    ending = 1                         # B again, its last bar written anew (a second ending)
    [[sections]]
    label = "A"
    bars = 8

`cadence_keys` names, per phrase, the key its cadence is in, as a Roman numeral seen from the
section's key: with cadences = ["authentic", "authentic"], cadence_keys = ["V", ""] closes the
first phrase in the dominant (in G major: A7 - D) and the second at home. Bach's chorales close
about half their inner phrases away from home. "" (or none given) is the section's own key.

`echo` makes a section a period: its second phrase begins with as many bars of its first
phrase (of the same length), then goes its own way to another cadence, as in a tune's
"question and answer"; in a section of one phrase of LONG_PERIOD bars or more, its second
half begins so. `rhyme` makes a new section end as the piece's first section ends: its
last bars (fewer than its last phrase has) repeat that section's up to its cadence's arrival,
cadence and all, moved into its key, as a reel's B strain so often closes with the A strain's
last bars (what follows the arrival, an upbeat into what comes next, is new, unless the
section is played again at once: plan.realize, "Lead-ins"). `ending` makes an
exact or transposed return before the last section end anew: its last bars (fewer than its last
phrase has) are written afresh to its planned cadence (the cadence's arrival kept where it is
the source's: what follows it is new), as a strain played again so often closes with another
last bar (a second ending, mostly another upbeat into what follows; the piece's own close is
the plan's: a last strain closing as its first time did repeats it up to the cadence). The
planner draws all three as often as its corpus does them, where it plans a section's phrases
(a section whose phrases are given keeps its echo, rhyme and ending as given, none included).
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomli_w
import tomllib

from cadenza.errors import InputError, MusicError, OptionError, counted
from cadenza.score import CHURCH_MODES, MODES, Key, name_of_fifths, parse_key, parse_meter, spelled_name
from cadenza.theory import key_name, key_signature, key_spelled, numeral_key, tonic_fifths

CADENCES = ("authentic", "imperfect", "half", "plagal", "deceptive", "none")
_ALIASES = {"perfect": "authentic", "pac": "authentic", "iac": "imperfect", "hc": "half"}
_CADENCE_NAMES = {c: c for c in CADENCES} | _ALIASES
RELATIONS = ("new", "exact", "transposed", "varied")
LONG_PERIOD = 8  # bars of one phrase from which its halves may make a period (Section.period_bars)
DYNAMICS = ("ppp", "pp", "p", "mp", "mf", "f", "ff", "fff")


def parse_cadence(text: str, where: str = "") -> str:
    name = _CADENCE_NAMES.get(text.strip().lower())
    if name is None:
        at = f"{where}: " if where else ""
        raise OptionError(f"{at}unknown cadence {text!r}: give one of {', '.join(CADENCES)} (or perfect)")
    return name


def parse_section_key(text: str, where: str = "") -> Key:
    """'G' -> G major, 'a' -> A minor, 'F# minor', 'Bbm', 'Eb major': as parse_key reads them (a
    lone lower-case tonic is minor there, as in Roman-numeral analysis). `where` names the
    option or file in the error."""
    try:
        return parse_key(text.strip())
    except MusicError as e:
        raise OptionError(f"{where}: {e}" if where else str(e)) from None


_MODE_WORDS = frozenset({"major", "minor", "maj", "min", *CHURCH_MODES})


def _key_words(text: str) -> list[str]:
    """--keys' keys: 'C G a C', or with their modes, 'C# minor, G# major' (a newcomer's, which
    had been read as four keys): a mode's word goes with the tonic before it."""
    words: list[str] = []
    for w in text.replace(",", " ").split():
        if w.lower() in _MODE_WORDS and words and words[-1] != "-" and " " not in words[-1]:
            words[-1] += " " + w
        else:
            words.append(w)
    return words


def key_text(key: Key) -> str:
    return f"{key.tonic_name} {key.modal or key.mode}"


@dataclass
class Section:
    label: str  # the letter(s) naming the material: "A", "b", "Intro"
    bars: int
    primes: int = 0  # A' = 1: a varied return
    key: Key | None = None  # None: the home key
    phrases: list[int] = field(default_factory=list)  # bars of each phrase; empty: one phrase of `bars`
    cadences: list[str] = field(default_factory=list)  # one per phrase; empty or "": planned
    cadence_keys: list[str] = field(default_factory=list)  # one per phrase: the key its cadence is in, "" the section's
    dynamics: str | None = None  # a hint for the performer
    density: float | None = None  # notes per beat relative to the piece (1.0 = as usual): a hint for the performer
    echo: int = 0  # bars at the start of its second phrase that repeat its first phrase's opening (a period)
    rhyme: int = 0  # bars at its end that repeat the first section's last bars (a new section after the first)
    ending: int = 0  # bars at the end of an exact or transposed return written anew (a second ending)

    @property
    def name(self) -> str:
        return self.label + "'" * self.primes

    def phrase_bars(self) -> list[int]:
        return list(self.phrases) or [self.bars]

    def cadence_key(self, k: int) -> str:
        """Phrase k's cadence key: "" (its own key) past the end of cadence_keys."""
        return self.cadence_keys[k] if k < len(self.cadence_keys) else ""

    def period_bars(self) -> int:
        """The bars of each of its first two phrases when they are as long (2 or more), or of each
        half of its one phrase of LONG_PERIOD bars or more (an even number): a period whose second
        phrase (half) may open with up to one bar fewer of its first (its echo); else 0."""
        return period_bars(self.phrase_bars())


def period_bars(phrases: list[int]) -> int:
    """Section.period_bars for a section of these phrases."""
    if len(phrases) == 1 and phrases[0] >= LONG_PERIOD and phrases[0] % 2 == 0:
        return phrases[0] // 2  # a long phrase's halves: a 2/4 reel's 8-bar strain opens its second half so
    return phrases[0] if len(phrases) >= 2 and phrases[0] == phrases[1] >= 2 else 0


@dataclass
class Plan:
    sections: list[Section]
    key: Key | None = None  # the home key; None: the model draws one
    meter: str | None = None  # None: drawn for the length (Composer.meter_for), or the model's usual one
    fermatas: bool | None = None  # phrase ends under fermatas (chorales); None: as the model's style has it
    cadence_beat: float | None = None  # the beat (from 1) of its last bar a phrase's cadence arrives on; None: 1

    # -- derived ----------------------------------------------------------------------------
    @property
    def bars(self) -> int:
        return sum(s.bars for s in self.sections)

    def starts(self) -> list[int]:
        """The bar (from 0) each section begins on."""
        out, at = [], 0
        for s in self.sections:
            out.append(at)
            at += s.bars
        return out

    def dynamics_in_effect(self) -> list[str | None]:
        """Each section's dynamics as a player reads them: its own, else the last one an earlier
        section named (a marking holds until the next), else none."""
        out: list[str | None] = []
        for s in self.sections:
            out.append(s.dynamics or (out[-1] if out else None))
        return out

    def dynamics_spans(self, bar_beats: float) -> list[tuple[float, float, str]]:
        """(start, end, marking) in beats of each section that has dynamics in effect."""
        return [
            (a * bar_beats, (a + s.bars) * bar_beats, d)
            for a, s, d in zip(self.starts(), self.sections, self.dynamics_in_effect())
            if d
        ]

    def key_of(self, i: int) -> Key | None:
        return self.sections[i].key or self.key

    def cadence_keys(self) -> list[str]:
        """Each phrase's cadence key, in the order of phrase_ends(): a Roman numeral seen from its
        section's key ("V": a cadence in its dominant), "" for the section's own key."""
        return [s.cadence_key(k) for s in self.sections for k in range(len(s.phrase_bars()))]

    def phrase_keys(self, home: Key | None = None) -> list[Key | None]:
        """The key each phrase's cadence is in, in the order of phrase_ends(): its section's key
        (`home` where the section and the plan name none), moved by its cadence key; the piece's
        close in its last section's key (as cadence_of: check refuses a cadence key there, and a
        plan built in code without the check closes at home all the same)."""
        sections = [self.key_of(i) or home for i, s in enumerate(self.sections) for _ in s.phrase_bars()]
        keys = [numeral_key(k, n) if n and k is not None else k for k, n in zip(sections, self.cadence_keys())]
        return keys[:-1] + sections[-1:]

    def phrase_cadences(self) -> list[str]:
        """Each phrase's cadence as it is realized (cadence_of: "none" where none is planned, the
        piece's close "authentic" where the plan names none), in the order of phrase_ends()."""
        return [self.cadence_of(i, k)[0] for i, s in enumerate(self.sections) for k in range(len(s.phrase_bars()))]

    def home_modes(self) -> tuple[str, ...]:
        """The modes its home key may be drawn in, when it names none: those every cadence key of
        a section at home (one naming no key of its own) can be seen from; both when none limits
        them, or when they contradict each other (Plan.check refuses that)."""
        modes: tuple[str, ...] = MODES
        for numeral in self._home_numerals():
            modes = tuple(m for m in modes if m in numeral_modes(numeral)) or modes
        return modes

    def _home_numerals(self) -> list[str]:
        """The cadence keys of the sections at home (naming no key of their own)."""
        return [numeral for s in self.sections if s.key is None for numeral in s.cadence_keys if numeral]

    def _check_home_modes(self, where: str) -> None:
        """Refuses cadence keys at home that no one home key can have (bIII: a major one, #vi: a
        minor one)."""
        needs = {m: next((x for x in self._home_numerals() if numeral_modes(x) == (m,)), None) for m in MODES}
        if needs["major"] and needs["minor"]:
            raise OptionError(
                f"{where}: cadence keys {needs['major']!r} (seen from a major key) and {needs['minor']!r} (from a "
                "minor one) in sections at home: no home key has both; give the home key, or either section a key"
            )

    def section_keys(self) -> list[Key]:
        """The home key and every key a section names, as given (a church mode kept; where keys
        change, `keys_in_beats` says)."""
        return [k for k in (self.key, *(s.key for s in self.sections)) if k is not None]

    def keys_in_beats(self, bar_beats: float) -> list[Key]:
        """The key of each section from its first beat (bars of `bar_beats` quarter notes), where
        it changes: the keys a piece written to this plan is in."""
        out: list[Key] = []
        for i, start in enumerate(self.starts()):
            key = self.key_of(i)
            if key is not None and (not out or not out[-1].same_key(key)):
                out.append(replace(key, start_beats=start * bar_beats))
        return out

    def source(self, i: int) -> int | None:
        """The earlier section that section i returns (the first with its label), or None."""
        label = self.sections[i].label
        return next((j for j in range(i) if self.sections[j].label == label), None)

    def relation(self, i: int) -> str:
        j = self.source(i)
        if j is None:
            return "new"
        if self.sections[i].primes:
            return "varied"
        a, b = self.key_of(i), self.key_of(j)
        return "exact" if a == b else "transposed"

    def heard_name(self, i: int, home: Key | None = None) -> str:
        """Section i's label as the notation shows it: its name, primed once more when it returns
        in the other mode (A in C major, then A@a), which keeps only the rhythm and outline of
        its first time (plan.realize) and so is heard as a variation. `home`: the key of sections
        that name none, where the plan names no home key."""
        s = self.sections[i]
        return s.name + "'" if not s.primes and self.returns_in_other_mode(i, home) else s.name

    def returns_in_other_mode(self, i: int, home: Key | None = None) -> bool:
        """Whether section i returns an earlier one in the other mode (A in C major, then A@a);
        `home`: the key of sections that name none, where the plan names no home key."""
        j = self.source(i)
        a, b = self.key_of(i) or home, (self.key_of(j) or home) if j is not None else None
        return a is not None and b is not None and a.mode != b.mode

    def may_rhyme(self, i: int, home: Key | None = None) -> bool:
        """Whether section i may end with the first section's last bars (see the module
        docstring): a new section after the first and before the last, in the first section's
        mode, closing with its cadence (planned for every phrase of both), its last phrase 2 bars
        or more. `home`: the key of sections that name none, where the plan names no home key."""
        if not 0 < i < len(self.sections) - 1 or self.source(i) is not None:
            return False
        first, s = self.sections[0], self.sections[i]
        a, b = self.key_of(i) or home, self.key_of(0) or home
        return (
            (a is None or b is None or a.mode == b.mode)
            and len(first.cadences) == len(first.phrase_bars())
            and len(s.cadences) == len(s.phrase_bars())
            and bool(s.cadences[-1])
            and self.closes_as_first(i)
            and s.phrase_bars()[-1] >= 2
        )

    def cadence_of(self, i: int, k: int) -> tuple[str, str]:
        """Section i's phrase k's cadence as it is realized, and its key: (kind, numeral from the
        section's key, "" its own). A phrase without one is "none"; the piece's last phrase
        closes "authentic" where the plan leaves it open, at home in its section's key."""
        s = self.sections[i]
        kind = s.cadences[k] if k < len(s.cadences) else ""
        if i == len(self.sections) - 1 and k == len(s.phrase_bars()) - 1:
            return kind or "authentic", ""
        return kind or "none", s.cadence_key(k)

    def cadence_anew(self, i: int, k: int) -> bool:
        """Whether section i, a return, writes phrase k's cadence afresh rather than replaying its
        source's: the phrase's cadence is planned (or is the piece's close; a planned "none" is
        one too: to end without a cadence), and its source's phrase ending on the same bar of it
        has another, or the same in another key relative to the section, or none planned where
        this one is planned "none", or no phrase ends there. The one rule of every realizer
        (plan.realize, the pianist)."""
        j = self.source(i)
        mine = self.sections[i].cadences[k] if k < len(self.sections[i].cadences) else ""
        if j is None or (self.cadence_of(i, k)[0] == "none" and not mine):
            return False
        end = list(itertools.accumulate(self.sections[i].phrase_bars()))[k]
        theirs = list(itertools.accumulate(self.sections[j].phrase_bars()))
        if end not in theirs:
            return True
        t = theirs.index(end)
        if mine == "none" and not (self.sections[j].cadences[t : t + 1] or [""])[0]:
            return True  # planned without a cadence, where the first time was left to the model
        return self.cadence_of(i, k) != self.cadence_of(j, t)

    def closes_as_first(self, i: int) -> bool:
        """Whether section i's last cadence is the first section's, in the same key relative to its
        section (a rhyme copies it along)."""
        a, b = self.sections[i], self.sections[0]
        last_key = lambda s: s.cadence_key(len(s.phrase_bars()) - 1)  # noqa: E731
        return (a.cadences or [""])[-1] == (b.cadences or [""])[-1] and last_key(a) == last_key(b)

    def rhyme_room(self, i: int) -> int:
        """The most bars section i's rhyme may have: fewer than its last phrase, no more than the
        first section, and clear of its echo."""
        s = self.sections[i]
        phrases = s.phrase_bars()
        echoed = s.period_bars() + s.echo if s.echo else 0  # the echo's bars end here
        return max(0, min(phrases[-1] - 1, self.sections[0].bars, s.bars - echoed))

    def may_end_anew(self, i: int) -> bool:
        """Whether section i may have an `ending` of its own: an exact or transposed return before
        the last section (whose close the plan sets), its last phrase 2 bars or more."""
        return self._ending_problem(i) == ""

    def _ending_problem(self, i: int) -> str:
        """Why section i cannot have an ending, or ""."""
        if self.relation(i) not in ("exact", "transposed"):
            return "only an exact or transposed return (its label again, unprimed) can end anew"
        if i == len(self.sections) - 1:
            return "the last section ends the piece: its close is planned; give an ending to a return before it"
        if self.sections[i].phrase_bars()[-1] < 2:
            return "its last phrase has 1 bar; an ending needs a last phrase of 2 bars or more"
        return ""

    def cadence_into(self, bar_beats: float) -> float:
        """How far (in quarter-note beats) into its last bar a phrase's cadence arrives:
        `cadence_beat` - 1, or 0 when unset or past the bar."""
        into = self.cadence_beat - 1 if self.cadence_beat is not None else 0.0
        return into if 0 <= into < bar_beats else 0.0

    def arrival_beats(self, bar_beats: float, close_inside: bool) -> list[float]:
        """The beat (quarter-note beats from the piece's start) each phrase's cadence arrives on:
        its last bar's `cadence_beat` (the downbeat when unset or past the bar), the piece's
        close too, where it arrives inside its bar (`close_inside`; else on the downbeat: an open
        ending, or the pianist's close; plan.realize, "Cadences")."""
        into = self.cadence_into(bar_beats)
        ends = self.phrase_ends()
        last = len(ends) - 1
        return [bar * bar_beats + (into if n < last or close_inside else 0.0) for n, (bar, _) in enumerate(ends)]

    def phrase_ends(self) -> list[tuple[int, str]]:
        """(bar, from 0, that the phrase's last bar is; cadence or "") of every phrase end."""
        out = []
        for start, s in zip(self.starts(), self.sections):
            at = start
            for k, bars in enumerate(s.phrase_bars()):
                at += bars
                out.append((at - 1, s.cadences[k] if k < len(s.cadences) else ""))
        return out

    def moved_to(self, home: Key, option: str = "--key") -> Plan:
        """The plan in another home key of the same mode, every section's key moved with it along
        the line of fifths (C major's V, G, is A major's E; its cadence keys, Roman numerals, stay
        as they are), a section in the old home key taking the new one as given (its spelling and
        church mode): `generate --plan P --key D`."""
        if self.key is None:
            return replace(self, key=home)
        if self.key.mode != home.mode:
            raise OptionError(
                f"{option} {home}: the plan is in {self.key}, and moves only to another {self.key.mode} key"
            )
        old = self.key
        sections = [
            replace(s, key=home if s.key.same_key(old) else _moved_key(s.key, old, home)) if s.key is not None else s
            for s in self.sections
        ]
        return replace(self, key=home, sections=sections)

    def form(self) -> str:
        """The form string: 'A8 A8 B8 B8', with @KEY on sections in another key than the home,
        named as the section lines name it (theory.key_spelled: @G# in C# minor, not @Ab)."""
        parts = []
        for s in self.sections:
            at = f"@{_short_key(key_spelled(s.key, self.key))}" if s.key is not None and s.key != self.key else ""
            parts.append(f"{s.name}{s.bars}{at}")
        return " ".join(parts)

    def describe(self) -> str:
        """Several lines a musician reads: the form, then one line per section."""
        lines = [f"form {self.form()}"]
        home = [f"key {self.key}" if self.key else "", f"meter {self.meter}" if self.meter else ""]
        if any(home):
            lines.append("  ".join(x for x in home if x))
        bar = 1
        for i, s in enumerate(self.sections):
            rel = self.relation(i)
            of = f" of {self.sections[self.source(i)].name}" if rel != "new" else ""  # type: ignore[index]
            key = self.key_of(i)
            extra = "".join(
                [
                    f", its second {'half' if len(s.phrase_bars()) == 1 else 'phrase'} opening with its first's "
                    f"first {s.echo} bar{'s' if s.echo > 1 else ''}"
                    if s.echo
                    else "",
                    f", ending with the first section's last {s.rhyme} bar{'s' if s.rhyme > 1 else ''}"
                    if s.rhyme
                    else "",
                    f", its last {s.ending} bar{'s' if s.ending > 1 else ''} written anew" if s.ending else "",
                    f", {s.dynamics}" if s.dynamics else "",
                    f", density {s.density:g}" if s.density is not None else "",
                ]
            )
            phrases = " + ".join(
                f"{b} ({s.cadences[k] if k < len(s.cadences) and s.cadences[k] else 'planned'}"
                f"{f' in {s.cadence_key(k)}' if s.cadence_key(k) else ''})"
                for k, b in enumerate(s.phrase_bars())
            )
            named = key_name(key, self.key) if key else "home key"
            lines.append(f"  {s.name:<4} bars {bar}-{bar + s.bars - 1}  {named}  {rel}{of}  phrases {phrases}{extra}")
            bar += s.bars
        return "\n".join(lines)

    # -- as data ----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        d: dict = {}
        if self.key is not None:
            d["key"] = key_text(self.key)
        if self.meter:
            d["meter"] = self.meter
        if self.fermatas is not None:
            d["fermatas"] = self.fermatas
        if self.cadence_beat is not None:
            d["cadence_beat"] = self.cadence_beat
        d["form"] = self.form()
        sections = []
        for i, s in enumerate(self.sections):
            item: dict = {"label": s.name, "bars": s.bars, "relation": self.relation(i)}
            if s.key is not None:
                item["key"] = _section_key_text(s.key, self.key)
            if s.phrases:
                item["phrases"] = list(s.phrases)
            if s.cadences:
                item["cadences"] = list(s.cadences)
            if any(s.cadence_keys):
                item["cadence_keys"] = list(s.cadence_keys)
            if s.echo:
                item["echo"] = s.echo
            if s.rhyme:
                item["rhyme"] = s.rhyme
            if s.ending:
                item["ending"] = s.ending
            if s.dynamics:
                item["dynamics"] = s.dynamics
            if s.density is not None:
                item["density"] = s.density
            sections.append(item)
        d["sections"] = sections
        return d

    @classmethod
    def from_dict(cls, d: dict, where: str = "plan") -> Plan:
        """A plan from its dict (a plan file's contents); refuses, in one line, what is wrong.
        "form" and "relation" are written for readers and ignored: the sections say it all."""
        if not isinstance(d, dict) or not isinstance(d.get("sections"), list) or not d["sections"]:
            raise OptionError(f"{where}: a plan needs a list of sections, each with a label and bars")
        unknown = sorted(set(d) - _PLAN_FIELDS)
        if unknown:
            raise OptionError(f"{where}: unknown field {unknown[0]!r}; a plan has {', '.join(sorted(_PLAN_FIELDS))}")
        if d.get("fermatas") is not None and not isinstance(d["fermatas"], bool):
            raise OptionError(f"{where}: fermatas must be true or false, not {d['fermatas']!r}")
        try:
            key = parse_key(str(d["key"])) if d.get("key") else None
            meter = str(parse_meter(str(d["meter"]))) if d.get("meter") else None
        except MusicError as e:
            raise OptionError(f"{where}: {e}") from None
        sections = []
        for n, item in enumerate(d["sections"], 1):
            if not isinstance(item, dict) or "label" not in item:
                raise OptionError(f"{where}: section {n} needs a label")
            unknown = sorted(set(item) - _SECTION_FIELDS)
            if unknown:
                raise OptionError(
                    f"{where}: section {n}: unknown field {unknown[0]!r}; a section has "
                    f"{', '.join(sorted(_SECTION_FIELDS))}"
                )
            for name, kind, what in (
                ("bars", int, "a whole number of bars"),
                ("phrases", list, "a list of bars"),
                ("cadences", list, "a list of cadences"),
                ("cadence_keys", list, 'a list of keys as Roman numerals ("V", "vi"; "" for the section\'s key)'),
                ("density", (int, float), "a number"),
                ("echo", int, "a whole number of bars"),
                ("rhyme", int, "a whole number of bars"),
                ("ending", int, "a whole number of bars"),
            ):
                if item.get(name) is not None and (not isinstance(item[name], kind) or isinstance(item[name], bool)):
                    given = json.dumps(item[name], default=str)  # as the file wrote it: true, "one"
                    raise OptionError(f"{where}: section {n}: {name} must be {what}, not {given}")
            label, primes = _split_primes(str(item["label"]), f"{where}: section {n}")
            try:
                s = Section(
                    label=label,
                    bars=int(item.get("bars", 0)),
                    primes=primes,
                    key=parse_section_key(str(item["key"])) if item.get("key") else None,
                    phrases=[int(b) for b in item.get("phrases", [])],
                    cadences=[parse_cadence(c) if c else "" for c in item.get("cadences", [])],
                    cadence_keys=[str(k).strip() for k in item.get("cadence_keys", [])],
                    dynamics=item.get("dynamics"),
                    density=float(item["density"]) if item.get("density") is not None else None,
                    echo=int(item.get("echo") or 0),
                    rhyme=int(item.get("rhyme") or 0),
                    ending=int(item.get("ending") or 0),
                )
            except (TypeError, ValueError) as e:
                raise OptionError(f"{where}: section {n}: {e}") from None
            except OptionError as e:
                raise OptionError(f"{where}: section {n}: {e}") from None
            sections.append(s)
        fermatas = d.get("fermatas")
        try:
            cadence_beat = float(d["cadence_beat"]) if d.get("cadence_beat") is not None else None
        except (TypeError, ValueError):
            raise OptionError(f"{where}: cadence_beat must be a beat number, counted from 1") from None
        plan = cls(sections, key, meter, bool(fermatas) if fermatas is not None else None, cadence_beat)
        _fill_lengths(plan, where)
        plan.check(where)
        return plan

    def check(self, where: str = "plan") -> None:
        if self.cadence_beat is not None:
            bar_beats = parse_meter(self.meter).bar_beats if self.meter else 16
            if not 1 <= self.cadence_beat < bar_beats + 1:
                raise OptionError(
                    f"{where}: cadence_beat {self.cadence_beat:g}: give a beat of the bar, from 1 "
                    f"(quarter notes{f', at most {bar_beats:g} in {self.meter}' if self.meter else ''})"
                )
        for n, s in enumerate(self.sections):
            j = self.source(n)
            if j is None and s.primes:
                raise OptionError(
                    f"{where}: section {n + 1} ({s.name}) varies {s.label}, but no {s.label} comes before it: "
                    f"write {s.label} for new music, or put {s.label} first"
                )
            if j is not None and not s.primes and s.bars != self.sections[j].bars:
                raise OptionError(
                    f"{where}: section {n + 1} returns {s.label} in {s.bars} bars, but {s.label} has "
                    f"{self.sections[j].bars}: give it {self.sections[j].bars}, or mark it varied ({s.label}')"
                )
        for n, s in enumerate(self.sections, 1):
            if s.bars < 1:
                raise OptionError(f"{where}: section {n} ({s.name}) needs at least 1 bar")
            if s.phrases and (min(s.phrases) < 1 or sum(s.phrases) != s.bars):
                raise OptionError(
                    f"{where}: section {n} ({s.name}): its phrases ({'+'.join(map(str, s.phrases))} bars) "
                    f"do not add up to its {s.bars} bars"
                )
            if len(s.cadences) > len(s.phrase_bars()):
                raise OptionError(
                    f"{where}: section {n} ({s.name}) has {counted(len(s.cadences), 'cadence')} for "
                    f"{counted(len(s.phrase_bars()), 'phrase')}"
                )
            if len(s.cadence_keys) > len(s.phrase_bars()):
                raise OptionError(
                    f"{where}: section {n} ({s.name}) has {counted(len(s.cadence_keys), 'cadence key')} for "
                    f"{counted(len(s.phrase_bars()), 'phrase')}"
                )
            last = len(s.phrase_bars()) - 1
            for k, numeral in enumerate(s.cadence_keys):
                problem = cadence_key_problem(numeral, self.key_of(n - 1), n == len(self.sections) and k == last)
                if numeral and k < len(s.cadences) and s.cadences[k] == "none":
                    problem = "a phrase that ends without a cadence has no key to close in"
                if problem:
                    raise OptionError(
                        f"{where}: section {n} ({s.name}): cadence key {numeral!r}: {problem}; "
                        'give "" for the section\'s own key'
                    )
            if s.echo:
                if not 0 < s.echo < s.period_bars():
                    raise OptionError(
                        f"{where}: section {n} ({s.name}): echo {s.echo}: a section's second phrase can open with "
                        "fewer bars of its first than it has, when the two phrases are as long (or the two "
                        f"halves of one phrase of {LONG_PERIOD} bars or more)"
                    )
            if s.rhyme and not (1 < n < len(self.sections) and self.source(n - 1) is None):
                raise OptionError(
                    f"{where}: section {n} ({s.name}): rhyme {s.rhyme}: only a new section between the first and "
                    "the last can end with the first section's last bars"
                )
            if s.rhyme and not 0 < s.rhyme <= self.rhyme_room(n - 1):
                raise OptionError(
                    f"{where}: section {n} ({s.name}): rhyme {s.rhyme}: give at most {self.rhyme_room(n - 1)} "
                    f"bar{'' if self.rhyme_room(n - 1) == 1 else 's'} (fewer than its last phrase has, no more "
                    "than the first section, clear of its echo)"
                )
            first_mode, mode = (self.key_of(0) or self.key), (self.key_of(n - 1) or self.key)
            if s.rhyme and first_mode is not None and mode is not None and first_mode.mode != mode.mode:
                raise OptionError(
                    f"{where}: section {n} ({s.name}): rhyme {s.rhyme}: a section in {mode.mode} cannot end with the "
                    f"bars of a first section in {first_mode.mode}"
                )
            problem = self._ending_problem(n - 1) if s.ending else ""
            if problem:
                raise OptionError(f"{where}: section {n} ({s.name}): ending {s.ending}: {problem}")
            if s.ending and not 0 < s.ending < s.phrase_bars()[-1]:
                last = s.phrase_bars()[-1]
                raise OptionError(
                    f"{where}: section {n} ({s.name}): ending {s.ending}: give 1 to {last - 1} bar"
                    f"{'s' if last > 2 else ''} (fewer than its last phrase's {last})"
                )
            if s.dynamics is not None and s.dynamics not in DYNAMICS:
                raise OptionError(f"{where}: section {n}: dynamics {s.dynamics!r}; give one of {', '.join(DYNAMICS)}")
            if s.density is not None and not 0 < s.density <= 4:
                raise OptionError(f"{where}: section {n}: density {s.density:g}; give a number above 0, at most 4")
        if self.key is None:
            self._check_home_modes(where)


_PLAN_FIELDS = {"key", "meter", "fermatas", "cadence_beat", "form", "sections"}  # "form": written for readers
_SECTION_FIELDS = {
    "label",
    "bars",
    "relation",
    "key",
    "phrases",
    "cadences",
    "cadence_keys",
    "echo",
    "rhyme",
    "ending",
    "dynamics",
    "density",
}


def _names_a_key(numeral: str, mode: str) -> bool:
    try:
        numeral_key(Key(0.0, 0, mode), numeral)
    except ValueError:
        return False
    return True


def _split_primes(text: str, where: str) -> tuple[str, int]:
    m = re.fullmatch(r"([A-Za-z][A-Za-z_]*)('*)", text.strip().replace("\u2032", "'"))
    if not m:
        raise OptionError(f"{where}: label {text!r}: give letters, with primes for a varied return (A, A', b)")
    return m.group(1), len(m.group(2))


def _moved_key(key: Key, old: Key, new: Key) -> Key:
    """`key` moved as far along the line of fifths as `old` is from `new`: its tonic spelled by
    the move (F# major's vi is D# minor, not E flat minor), its church mode kept."""
    letter, alter = name_of_fifths(tonic_fifths(key) + tonic_fifths(new) - tonic_fifths(old))
    moved = replace(key, tonic=(key.tonic + new.tonic - old.tonic) % 12, tonic_name=spelled_name(letter, alter))
    if not moved.modal and abs(key_signature(moved)) > 7:  # E# major: F major's name and signature
        moved = replace(moved, tonic_name="")
    return moved


def _section_key_text(key: Key, home: Key | None) -> str:
    """A section's key as a plan file writes it: named as a musician names it in `home`
    (key_spelled: G# major in C# minor), where that name reads back to the same key signature
    (G# major reads as Ab major, whose signature the Key has, there being none of eight sharps);
    else as the Key spells it, since read back the name sets the signature."""
    named = key_text(key_spelled(key, home))
    return named if parse_key(named).tonic_name == key.tonic_name else key_text(key)


def _short_key(key: Key) -> str:
    """'G' for G major, 'g' for G minor: the form string's @KEY."""
    return key.tonic_name if key.mode == "major" else key.tonic_name[0].lower() + key.tonic_name[1:]


def _fill_lengths(plan: Plan, where: str) -> None:
    """A section given without a length takes its label's earlier length."""
    for n, s in enumerate(plan.sections):
        if s.bars == 0:
            j = plan.source(n)
            if j is None:
                each = (
                    " ".join(f"{letter}8" for letter in s.label) if 1 < len(s.label) <= 8 and s.label.isalpha() else ""
                )
                also = f" (one section), or {each} (a section per letter)" if each else ""
                raise OptionError(f"{where}: section {n + 1} ({s.name}) needs a length in bars, e.g. {s.name}8{also}")
            plan.sections[n] = replace(s, bars=plan.sections[j].bars, phrases=list(plan.sections[j].phrases))


_SECTION = re.compile(r"([A-Za-z][A-Za-z_]*?)('*)(\d+)?(?:@(\S+))?")


def parse_form(text: str, default_bars: int | None = None) -> Plan:
    """'A8 A8 B8 B8' (see the module docstring) -> Plan, without keys or cadences; a section
    with no length and no earlier label takes `default_bars` (None: an error)."""
    sections = []
    for word in text.replace(",", " ").replace("\u2032", "'").split():
        m = _SECTION.fullmatch(word)
        if not m:
            raise OptionError(
                f"--form: cannot read {word!r}; write sections like A8, A'8, B8@D (label, primes, bars, @key)"
            )
        label, primes, bars, at = m.groups()
        if bars and int(bars) == 0:
            raise OptionError(f"--form: section {word!r} has 0 bars; a section has at least 1 (e.g. {label}8)")
        sections.append(
            Section(
                label=label,
                bars=int(bars) if bars else 0,
                primes=len(primes),
                key=parse_section_key(at, f"--form {word!r}") if at else None,
            )
        )
    if not sections:
        raise OptionError("--form is empty; write sections like 'A8 A8 B8 B8'")
    plan = Plan(sections)
    for n, s in enumerate(plan.sections):
        if s.bars == 0 and plan.source(n) is None and default_bars:
            plan.sections[n] = replace(s, bars=default_bars)
    _fill_lengths(plan, "--form")
    plan.check("--form")
    return plan


def cadence_key_problem(numeral: str, section_key: Key | None, last: bool) -> str | None:
    """What is wrong with a phrase's cadence key (Section.cadence_keys) in a section in
    `section_key` (None: not yet known, either mode), `last` the piece's last phrase; None if
    nothing is."""
    if not numeral:
        return None
    if last:
        return "the piece's last phrase closes at home, in its last section's key"
    modes = numeral_modes(numeral)
    if section_key is not None and modes and section_key.mode not in modes:
        return f"a key seen from a {modes[0]} key only, and this section is in {section_key}"
    if not modes:
        return (
            "not a key: give a Roman numeral from the section's key, upper case for a major key, lower case for a "
            "minor one (V, vi, IV, ii in major; III, v, iv, VII in minor)"
        )
    return None


def numeral_modes(numeral: str) -> tuple[str, ...]:
    """The modes of the keys a cadence key's Roman numeral can be seen from: ("major",) for bIII,
    both for V, none for a numeral that names no key."""
    return tuple(mode for mode in MODES if _names_a_key(numeral, mode))


def with_options(
    plan: Plan, keys: str | None, cadences: str | None, home: Key | None = None, source: str = "the form"
) -> Plan:
    """The plan with --keys (one per section, 'C G a C'; '-' keeps a section as the form has it,
    in its @KEY or the home key) and --cadences (the cadence ending each section, in order;
    '-', or fewer than sections, leaves the rest planned; KIND@NUMERAL closes the section in
    another key, 'authentic@V': its cadence_keys; KIND alone in the section's own). `home`: the
    home key given beside the plan (--key), where the plan names none. `source`: what the plan
    came from, as errors name it (a plan file's path)."""
    sections = list(plan.sections)
    if keys:
        words = _key_words(keys)
        if len(words) != len(sections):
            raise OptionError(
                f"--keys names {counted(len(words), 'key')} for {counted(len(sections), 'section')}; "
                "give one per section ('-': as the form has it)"
            )
        given = [None if w == "-" else parse_section_key(w, f"--keys {w!r}") for w in words]
        for n, (s, k) in enumerate(zip(sections, given), 1):
            if k is not None and s.key is not None and s.key != k:
                raise OptionError(
                    f"section {n} ({s.name}) is in {s.key} by {source}, but --keys gives {k} ('-' keeps it)"
                )
        first = given[0]
        if plan.key is not None and first is not None and first != plan.key and plan.sections[0].key is None:
            raise OptionError(f"the plan's home key is {plan.key}, but --keys begins in {first}")
        sections = [replace(s, key=k if k is not None else s.key) for s, k in zip(sections, given)]
    if cadences:
        words = cadences.replace(",", " ").split()
        if len(words) > len(sections):
            raise OptionError(
                f"--cadences names {counted(len(words), 'cadence')} for {counted(len(sections), 'section')}: "
                "give at most one per section"
            )
        for n, w in enumerate(words):
            if w == "-":
                continue
            s = sections[n]
            kind, at, numeral = w.partition("@")
            if at and not numeral:
                raise OptionError(f"--cadences {w!r}: name the key after @, e.g. {kind}@V")
            problem = cadence_key_problem(numeral, s.key or plan.key or home, n == len(sections) - 1)
            if problem:
                raise OptionError(f"--cadences {w!r}: {numeral!r}: {problem}; or write {kind} alone")
            phrases = len(s.phrase_bars())
            sections[n] = replace(
                s,
                cadences=_last_set(s.cadences, phrases, parse_cadence(kind, f"--cadences {w!r}")),
                cadence_keys=_last_set(s.cadence_keys, phrases, numeral),
            )
    out = replace(plan, sections=sections)
    if keys and out.key is None:
        out.key = sections[0].key
    out.check("--keys/--cadences" if keys and cadences else "--keys" if keys else "--cadences")
    return out


def _last_set(values: list[str], n: int, last: str) -> list[str]:
    """`values` padded with "" (as planned) to n, its last set to `last`: a section's per-phrase
    list with its closing phrase given."""
    return [*values, *[""] * (n - len(values))][: n - 1] + [last]


def load_plan(path: Path) -> Plan:
    """A plan file: TOML (.toml) or JSON (anything else, including an output's .json record,
    whose "plan" is read)."""
    path = Path(path)
    data, _ = _plan_file(path)
    try:
        return Plan.from_dict(data, where=str(path))
    except OptionError as e:
        raise InputError(path, str(e).removeprefix(f"{path}: ")) from None


def recorded_model(path: Path | str) -> str | None:
    """The model an output's JSON record (a plan file load_plan reads) names, or None: a plan
    file of its own (TOML, or JSON without a record around it) names none."""
    _, record = _plan_file(Path(path))
    if record is None:
        return None
    where, name = record.get("model_dir"), record.get("model")  # its folder, where it still is; else its name
    if isinstance(where, str) and Path(where).is_dir():
        return where
    return name if isinstance(name, str) and name else None


def _plan_file(path: Path) -> tuple[Any, dict | None]:
    """A plan file's data, and the output's record around it where it is one (else None)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(path, f"cannot read it as a plan ({type(e).__name__})") from None
    try:
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, ValueError) as e:
        kind = "TOML" if path.suffix.lower() == ".toml" else "JSON"
        raise InputError(path, f"not a {kind} plan file ({str(e).splitlines()[0]})") from None
    if isinstance(data, dict) and "sections" not in data and isinstance(data.get("plan"), dict):
        return data["plan"], data  # an output's record
    return data, None


def plan_text(plan: Plan, suffix: str) -> str:
    """The plan as a file's text: TOML for .toml, else JSON."""
    d = plan.to_dict()
    return tomli_w.dumps(d) if suffix.lower() == ".toml" else json.dumps(d, indent=2) + "\n"
