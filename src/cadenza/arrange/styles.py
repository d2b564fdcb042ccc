"""Arrangement styles: what each instrument of a band plays in one bar, as data (a TOML file).

A style file holds (every key but `patterns` may be left out; see styles/*.toml for examples):

    name = "waltz"                     # what it is called [default: the file's name]
    description = "..."                # one line, for people
    tempo = 96                         # a tempo hint, quarter notes a minute (used with --tempo style)
    swing = 1.0                        # long:short of off-beat eighths (2.0: triplet swing; 1.0 straight)
    drums = false                      # whether the drums play unless --drums/--no-drums says
    fill_every = 8                     # every how many bars the drums play one of a pattern's `fills`
    accompaniment = "pop"              # a model (name or folder) that plays the chord part, bass
                                       # included, instead of the patterns' bass and chords (pop.toml)

    [instruments]                      # General MIDI programs (0-127)
    melody = 40
    bass = 32
    chords = 21
    chords_name = "Accordion"          # the chord part's name [default: its program's family]
    chords_register = "C3-C5"          # where chord voicings lie [default C3-C5]
    bass_register = "E1-G2"            # where the bass lies [default E1-G2, MIDI 28-43]

    [patterns."3/4"]                   # one bar of 3/4; also "4/4", "6/8", "2/2"... and "any"
    bass = [{ at = 0, dur = 1, vel = 70, what = "root" }]
    chords = [{ at = 1, dur = 0.8, vel = 50, what = "close" }, { at = 2, dur = 0.8, vel = 46, what = "close" }]
    drums = [{ at = 0, dur = 0.5, vel = 60, what = "kick" }]
    fills = [[{ at = 0, dur = 0.25, vel = 70, what = "snare" }, ...], [...]]   # drums, one drawn at random

An event: `at` (its onset from the bar's start) and `dur` in quarter notes, except in the
"any" pattern, whose events are one counted beat's (theory.beat_beats: a quarter in 3/4, a
dotted quarter in 6/8, a half in 2/2), timed in those beats and repeated on every beat of the
bar; `vel`, the velocity (1-127) under a melody played at 80; `what`:

- bass: a chord tone, BASS_TONES: "root" (the written bass of a slash chord, C/E: E), "third",
  "fifth", "seventh" (each the root where the chord has none), "octave" (the root an octave
  from the last one played), "approach" (a half step into the next bass note's chord root,
  from the side the line comes from) or "step" (the same by a step of the key's scale);
- chords: a voicing, VOICINGS: "close" (every tone within an octave, at most four), "shell"
  (the third and the seventh, or sixth: a triad's third and fifth), "open" (close with its
  second voice from the top an octave down); optionally `voice` (which notes of the voicing,
  0 its lowest, counting on upward an octave higher past its top: an arpeggio plays one at a
  time) and `register` (this event's own, e.g. "C3-G4");
- drums: a General MIDI drum, by number (27-87) or by name (DRUM_NAMES: "kick" 36, "snare"
  38, "closed-hat" 42, "open-hat" 46, "ride" 51...).

Variation, drawn with the arrangement's seed, only where a style asks for it: `what` may be a
list (one is drawn for each bar), `chance` (0-1) the probability that the event plays.

A meter's pattern is, in order: the one keyed by that meter; one of a meter with the same bar
length and kind (simple or compound: "4/4" for 2/2, "2/2" for 4/4); one of a meter of the same
denominator whose bar it fills a whole number of times, repeated ("6/8" twice for 12/8);
"any", beat by beat. Every mistake in a style file is an OptionError of one line that names
the file and the key.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cadenza.errors import MusicError, OptionError

BUILTIN_STYLES = ("folk", "waltz", "march", "ballad", "jazz-swing", "pop")
STYLES_DIR = Path(__file__).resolve().parent / "styles"

BASS_TONES = ("root", "third", "fifth", "seventh", "octave", "approach", "step")
VOICINGS = ("close", "shell", "open")
DRUM_NAMES = {
    "kick": 36,
    "acoustic-kick": 35,
    "side-stick": 37,
    "snare": 38,
    "clap": 39,
    "electric-snare": 40,
    "low-floor-tom": 41,
    "closed-hat": 42,
    "floor-tom": 43,
    "pedal-hat": 44,
    "low-tom": 45,
    "open-hat": 46,
    "mid-tom": 47,
    "high-mid-tom": 48,
    "crash": 49,
    "high-tom": 50,
    "ride": 51,
    "china": 52,
    "ride-bell": 53,
    "tambourine": 54,
    "splash": 55,
    "cowbell": 56,
    "shaker": 70,
    "triangle": 81,
}
DRUM_RANGE = (27, 87)  # General MIDI 2's percussion keys
# a chord part's default name, by General MIDI program family (program // 8)
FAMILY_NAMES = (
    "Piano",
    "Mallets",
    "Organ",
    "Guitar",
    "Bass Guitar",
    "Strings",
    "Ensemble",
    "Brass",
    "Reeds",
    "Pipes",
    "Synth Lead",
    "Synth Pad",
    "Synth",
    "Ethnic",
    "Percussion",
    "Effects",
)
RESERVED_NAMES = ("Melody", "Bass", "Drums", "Chords")  # "Chords" is the MIDI chord-symbol track
DEFAULT_CHORDS_REGISTER = (48, 72)  # C3-C5
DEFAULT_BASS_REGISTER = (28, 43)  # E1-G2

_TOP_KEYS = (
    "name",
    "description",
    "tempo",
    "swing",
    "drums",
    "fill_every",
    "accompaniment",
    "instruments",
    "patterns",
)
_INSTRUMENT_KEYS = ("melody", "bass", "chords", "chords_name", "chords_register", "bass_register")
_PATTERN_KEYS = ("bass", "chords", "drums", "fills")
_EVENT_KEYS = {
    "bass": ("at", "dur", "vel", "what", "chance"),
    "chords": ("at", "dur", "vel", "what", "chance", "voice", "register"),
    "drums": ("at", "dur", "vel", "what", "chance"),
}


@dataclass(frozen=True)
class Event:
    """One note (bass), chord (chords) or stroke (drums) of a pattern."""

    at: float  # onset from the bar's start, quarter notes (counted beats in an "any" pattern)
    dur: float
    vel: int
    what: tuple[str | int, ...]  # the alternatives, one drawn for each bar when several
    chance: float = 1.0
    voice: tuple[int, ...] = ()  # chords: which notes of the voicing, () for all
    register: tuple[int, int] | None = None  # chords: this event's own register


@dataclass(frozen=True)
class Pattern:
    meter: str  # "3/4", or "any"
    bass: tuple[Event, ...] = ()
    chords: tuple[Event, ...] = ()
    drums: tuple[Event, ...] = ()
    fills: tuple[tuple[Event, ...], ...] = ()


@dataclass(frozen=True)
class Style:
    name: str
    source: str  # the file it was read from
    description: str = ""
    tempo: float | None = None
    swing: float = 1.0
    drums: bool = False
    fill_every: int = 8
    melody_program: int = 0
    bass_program: int = 32
    chords_program: int = 0
    chords_name: str = "Piano"
    chords_register: tuple[int, int] = DEFAULT_CHORDS_REGISTER
    bass_register: tuple[int, int] = DEFAULT_BASS_REGISTER
    patterns: dict[str, Pattern] = field(default_factory=dict)
    accompaniment: str = ""  # an accompaniment model (name or folder) that plays the chord part and the bass

    def pattern_for(self, numerator: int, denominator: int) -> tuple[Pattern, float | None]:
        """The pattern a bar of numerator/denominator plays (see the module docstring for the
        order), and how it fills the bar: every how many quarter notes it is repeated, None for
        the "any" pattern, which is played on every counted beat. Raises OptionError when the
        style has none for this meter."""
        from cadenza.theory import is_compound

        meter = f"{numerator}/{denominator}"
        bar = numerator * 4 / denominator
        compound = is_compound(numerator, denominator)
        if meter in self.patterns:
            return self.patterns[meter], bar
        others = [(k, int(k.split("/")[0]), int(k.split("/")[1])) for k in self.patterns if k != "any"]
        for key, num, den in others:
            if abs(num * 4 / den - bar) < 1e-9 and is_compound(num, den) == compound:
                return self.patterns[key], bar
        for key, num, den in others:
            if den == denominator and numerator % num == 0 and is_compound(num, den) == compound:
                return self.patterns[key], num * 4 / den
        if "any" in self.patterns:
            return self.patterns["any"], None
        raise OptionError(
            f"style {self.name} ({self.source}) has no pattern for {meter} (it has {', '.join(self.patterns)}): "
            f'add [patterns."{meter}"] or [patterns.any]'
        )


def style_names() -> str:
    return ", ".join(BUILTIN_STYLES)


def load_style(spec: str) -> Style:
    """A built-in style by name (BUILTIN_STYLES), or a style file (a path, or a name ending in
    .toml). Raises OptionError for an unknown name or a bad file (naming the file and the key).
    Names are read in any case (Waltz is waltz)."""
    if spec.lower() in BUILTIN_STYLES and not Path(spec).expanduser().is_file():
        return read_style(STYLES_DIR / f"{spec.lower()}.toml")
    path = Path(spec).expanduser()
    if spec.lower().endswith(".toml") or path.is_file() or "/" in spec:
        return read_style(path)
    raise OptionError(f"unknown style {spec!r}; built-in styles: {style_names()}, or give a style file (.toml)")


def read_style(path: str | Path) -> Style:
    """A style file, checked: every mistake is an OptionError naming the file and the key."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        import tomli as tomllib

    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OptionError(f"{path}: no such style file (built-in styles: {style_names()})") from None
    except IsADirectoryError:
        raise OptionError(f"{path}: is a folder, not a style file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise OptionError(f"{path}: cannot read this style file ({type(e).__name__}: {e})".splitlines()[0]) from None
    except tomllib.TOMLDecodeError as e:
        raise OptionError(f"{path}: not valid TOML ({e})".splitlines()[0]) from None
    return parse_style(data, str(path), default_name=path.stem)


def parse_style(data: dict, source: str, default_name: str = "") -> Style:
    """A Style from a style file's TOML data; `source` names the file in every error."""

    def bad(key: str, problem: str) -> OptionError:
        return OptionError(f"{source}: {key}: {problem}".splitlines()[0])

    _known(data, _TOP_KEYS, "", bad)
    name = _text(data.get("name", default_name), "name", bad) or default_name
    description = _text(data.get("description", ""), "description", bad)
    tempo = data.get("tempo")
    if tempo is not None and not (_number(tempo) and 10 <= tempo <= 400):
        raise bad("tempo", f"{tempo!r} is not a tempo in quarter notes a minute (10-400)")
    swing = data.get("swing", 1.0)
    if not (_number(swing) and 1.0 <= swing <= 4.0):
        raise bad("swing", f"{swing!r} is not a ratio of long to short eighths from 1 (straight) to 4 (2: triplets)")
    drums = data.get("drums", False)
    if not isinstance(drums, bool):
        raise bad("drums", f"{drums!r} is not true or false")
    fill_every = data.get("fill_every", 8)
    if not (isinstance(fill_every, int) and not isinstance(fill_every, bool) and fill_every >= 1):
        raise bad("fill_every", f"{fill_every!r} is not a number of bars (1 or more)")
    accompaniment = data.get("accompaniment", "")
    if not isinstance(accompaniment, str):
        raise bad("accompaniment", f"{accompaniment!r} is not a model's name or folder")

    instruments = data.get("instruments", {})
    if not isinstance(instruments, dict):
        raise bad("instruments", "is not a table ([instruments])")
    _known(instruments, _INSTRUMENT_KEYS, "instruments.", bad)
    programs = {}
    for part, default in (("melody", 0), ("bass", 32), ("chords", 0)):
        program = instruments.get(part, default)
        if not (isinstance(program, int) and not isinstance(program, bool) and 0 <= program <= 127):
            raise bad(f"instruments.{part}", f"{program!r} is not a General MIDI program (0-127)")
        programs[part] = program
    chords_name = _text(instruments.get("chords_name", ""), "instruments.chords_name", bad).strip()
    chords_name = chords_name or FAMILY_NAMES[programs["chords"] // 8]
    if chords_name in RESERVED_NAMES:
        raise bad(
            "instruments.chords_name",
            f"{chords_name!r} names another part (name the chord part after its instrument: Guitar, Piano...)",
        )
    chords_register = _register(instruments.get("chords_register"), "instruments.chords_register", bad, 12)
    bass_register = _register(instruments.get("bass_register"), "instruments.bass_register", bad, 11)

    patterns = data.get("patterns")
    if patterns is None:
        raise bad("patterns", 'missing: a style needs at least one pattern, e.g. [patterns."4/4"] or [patterns.any]')
    if not isinstance(patterns, dict) or not patterns:
        raise bad("patterns", 'is not a table of patterns by meter ([patterns."4/4"], [patterns.any])')
    parsed = {}
    for meter, pattern in patterns.items():
        parsed[meter] = _pattern(meter, pattern, bad)
    return Style(
        name=name,
        source=source,
        description=description,
        tempo=None if tempo is None else float(tempo),
        swing=float(swing),
        drums=drums,
        fill_every=fill_every,
        melody_program=programs["melody"],
        bass_program=programs["bass"],
        chords_program=programs["chords"],
        chords_name=chords_name,
        chords_register=chords_register or DEFAULT_CHORDS_REGISTER,
        bass_register=bass_register or DEFAULT_BASS_REGISTER,
        patterns=parsed,
        accompaniment=accompaniment.strip(),
    )


def _pattern(meter: str, data: Any, bad) -> Pattern:
    from cadenza.score import parse_meter

    key = f'patterns."{meter}"'
    if meter == "any":
        bar = 1.0  # one counted beat
    else:
        try:
            m = parse_meter(meter)
        except MusicError:
            raise bad(key, 'is not a meter: key patterns by meter ("3/4", "6/8") or "any"') from None
        if meter != str(m):
            raise bad(key, f'write the meter as "{m}"')
        bar = m.bar_beats
    if not isinstance(data, dict):
        raise bad(key, "is not a table of bass, chords and drums events")
    _known(data, _PATTERN_KEYS, key + ".", bad)
    parts = {}
    for part in ("bass", "chords", "drums"):
        parts[part] = _events(data.get(part, []), part, f"{key}.{part}", bar, bad)
    fills = data.get("fills", [])
    if not isinstance(fills, list):
        raise bad(f"{key}.fills", "is not a list of drum patterns (each a list of events)")
    parsed_fills = tuple(_events(f, "drums", f"{key}.fills[{i}]", bar, bad) for i, f in enumerate(fills))
    return Pattern(meter, parts["bass"], parts["chords"], parts["drums"], parsed_fills)


def _events(items: Any, part: str, key: str, bar: float, bad) -> tuple[Event, ...]:
    if not isinstance(items, list) or not all(isinstance(e, dict) for e in items):
        raise bad(key, "is not a list of events ({ at = 0, dur = 1, vel = 64, what = ... })")
    events = []
    unit = "beat" if bar == 1.0 else "bar"
    for i, item in enumerate(items):
        where = f"{key}[{i}]"
        _known(item, _EVENT_KEYS[part], where + ".", bad)
        for need in ("at", "dur", "what"):
            if need not in item:
                raise bad(where, f"missing '{need}'")
        at, dur, vel, chance = item["at"], item["dur"], item.get("vel", 64), item.get("chance", 1.0)
        if not (_number(at) and 0 <= at < bar - 1e-9):
            raise bad(f"{where}.at", f"{at!r} is not an onset within the {unit} (0 to under {bar:g})")
        if not (_number(dur) and dur > 0):
            raise bad(f"{where}.dur", f"{dur!r} is not a length above 0")
        if not (isinstance(vel, int) and not isinstance(vel, bool) and 1 <= vel <= 127):
            raise bad(f"{where}.vel", f"{vel!r} is not a velocity (1-127)")
        if not (_number(chance) and 0 < chance <= 1):
            raise bad(f"{where}.chance", f"{chance!r} is not a probability above 0, at most 1")
        what = _what(item["what"], part, f"{where}.what", bad)
        voice: tuple[int, ...] = ()
        if "voice" in item:
            v = item["voice"]
            voices = v if isinstance(v, list) else [v]
            if not voices or not all(isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 12 for x in voices):
                raise bad(f"{where}.voice", f"{v!r} is not a note of the voicing (0 its lowest) or a list of them")
            voice = tuple(voices)
        register = _register(item.get("register"), f"{where}.register", bad, 12)
        events.append(Event(float(at), float(dur), vel, what, float(chance), voice, register))
    return tuple(events)


def _what(value: Any, part: str, key: str, bad) -> tuple[str | int, ...]:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise bad(key, "is an empty list")
    out: list[str | int] = []
    for v in values:
        if part == "drums":
            if isinstance(v, str) and v in DRUM_NAMES:
                out.append(DRUM_NAMES[v])
            elif isinstance(v, int) and not isinstance(v, bool) and DRUM_RANGE[0] <= v <= DRUM_RANGE[1]:
                out.append(v)
            else:
                raise bad(
                    key,
                    f"unknown drum {v!r}: give a General MIDI drum number "
                    f"({DRUM_RANGE[0]}-{DRUM_RANGE[1]}) or a name ({', '.join(DRUM_NAMES)})",
                )
        else:
            known = BASS_TONES if part == "bass" else VOICINGS
            if v not in known:
                what = "bass tone" if part == "bass" else "voicing"
                raise bad(key, f"unknown {what} {v!r} (known: {', '.join(known)})")
            out.append(v)
    return tuple(out)


def _register(value: Any, key: str, bad, width: int) -> tuple[int, int] | None:
    """'C3-C5' or [48, 72] -> (48, 72); None when not given."""
    from cadenza.score import name_to_pitch

    if value is None:
        return None
    low = high = None
    if isinstance(value, str):
        m = re.fullmatch(r"\s*([A-Ga-g][#b]*-?\d+)\s*-\s*([A-Ga-g][#b]*-?\d+)\s*", value)
        if m:
            try:
                low, high = name_to_pitch(m.group(1)), name_to_pitch(m.group(2))
            except MusicError:
                pass
    elif (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(p, int) and not isinstance(p, bool) and 0 <= p <= 127 for p in value)
    ):
        low, high = value
    if low is None or high is None:
        raise bad(key, f'{value!r} is not a register: give LOW-HIGH, e.g. "C3-C5", or [48, 72]')
    if high - low < width:
        raise bad(key, f"{value!r} is too narrow: it needs at least {width} semitones from its lowest to its highest")
    return low, high


def _known(table: dict, keys: tuple[str, ...], prefix: str, bad) -> None:
    for k in table:
        if k not in keys:
            raise bad(f"{prefix}{k}", f"unknown key (known here: {', '.join(keys)})")


def _text(value: Any, key: str, bad) -> str:
    if not isinstance(value, str):
        raise bad(key, f"{value!r} is not text")
    return value


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
