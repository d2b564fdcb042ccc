"""What a user may require of generated music, as plain data: a key's scale, a range per voice,
and notes fixed at given places (on the command line or in a JSON file of fixed cells).

    --scale "D minor"            no note outside the scale (D natural minor plus C#)
    --range alto=G3-C5           voice range, by voice name or number (1 = highest)
    --fix 3:1:bass=D3            bar 3, beat 1 (quarter-note beats, both counted from 1): bass D3
    --fix 5:2.5:soprano=F#4/2    ... lasting 2 beats (default: 1 beat)
    --fixed-cells cells.json     [{"bar": 3, "beat": 1, "voice": "bass", "pitch": "D3", "beats": 1}, ...]

Bars are numbered as notation shows them: in a piece that opens with a pickup, bar 1 is the
first full bar (MuseScore numbers the pickup 0).

The generators turn these into masks on the model's choices (cadenza.compose.sampler for the causal
model, cadenza.compose.harmonizer for the orderless one) and refuse, with a message naming the
conflict, rules that cannot all be met.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from cadenza.errors import InputError, MusicError, OptionError
from cadenza.score import Key, Meter, Score, name_to_pitch, parse_key, pickup_start, pitch_to_name
from cadenza.theory import scale


@dataclass(frozen=True)
class FixedNote:
    bar: int  # counted from 1
    beat: float  # quarter-note beats within the bar, counted from 1
    voice: int  # 0 = highest
    pitch: int
    beats: float = 1.0
    after_pickup: bool = False  # the piece opens with a pickup: bar 1 is the Score's second bar

    def start_beats(self, meter: Meter) -> float:
        return (self.bar - 1 + self.after_pickup) * meter.bar_beats + (self.beat - 1)

    def check_in_bar(self, meter: Meter, names: list[str]) -> None:
        if self.beat - 1 >= meter.bar_beats:
            raise OptionError(
                f"fixed note {self.describe(names)}: a bar of {meter} has only {meter.bar_beats:g} quarter-note beats"
            )

    def describe(self, names: list[str]) -> str:
        return f"{names[self.voice].lower()} {pitch_to_name(self.pitch)} at bar {self.bar} beat {self.beat:g}"


@dataclass
class Rules:
    scale: Key | None = None
    ranges: dict[int, tuple[int, int]] = field(default_factory=dict)  # voice -> inclusive MIDI range
    fixed: list[FixedNote] = field(default_factory=list)

    def counted_in(self, score: Score) -> Rules:
        """These rules with their bar numbers read as `score`'s notation shows them (after its
        pickup, when it opens with one)."""
        pickup = pickup_start(score) > 0
        return replace(self, fixed=[replace(f, after_pickup=pickup) for f in self.fixed])

    def allows(self, voice: int, pitch: int) -> bool:
        lo, hi = self.ranges.get(voice, (0, 127))
        return lo <= pitch <= hi and (self.scale is None or pitch % 12 in scale(self.scale))

    def check(self, names: list[str]) -> None:
        """Refuse rules that contradict each other: a fixed note outside its voice's range or the
        scale, a range holding no note of the scale. (Fixed notes that overlap in one voice are
        refused where they are placed on the grid.)"""
        for v, (lo, hi) in self.ranges.items():
            if not any(self.allows(v, p) for p in range(lo, hi + 1)):
                raise OptionError(
                    f"the range of {names[v].lower()} ({pitch_to_name(lo)}-{pitch_to_name(hi)}) "
                    f"holds no note of {self.scale}"
                )
        for f in self.fixed:
            if not self.allows(f.voice, f.pitch):
                why = (
                    "its range"
                    if not self.ranges.get(f.voice, (0, 127))[0] <= f.pitch <= self.ranges.get(f.voice, (0, 127))[1]
                    else f"the scale of {self.scale}"
                )
                raise OptionError(f"fixed note {f.describe(names)} is outside {why}: the constraints cannot all be met")


def voice_index(name: str, names: list[str]) -> int:
    lowered = [n.lower() for n in names]
    if name.strip().lower() in lowered:
        return lowered.index(name.strip().lower())
    if name.strip().isdigit() and 1 <= int(name) <= len(names):
        return int(name) - 1
    raise OptionError(f"unknown voice {name!r}; this model's voices are {', '.join(lowered)} (or 1-{len(names)})")


def _pitch(text) -> int:
    if isinstance(text, int) or str(text).strip().isdigit():
        p = int(text)
        if not 0 <= p <= 127:
            raise OptionError(f"pitch {p} is outside MIDI's 0..127")
        return p
    try:
        return name_to_pitch(str(text))
    except MusicError as e:
        raise OptionError(str(e)) from None


def parse_range(text: str, names: list[str]) -> tuple[int, tuple[int, int]]:
    """'alto=G3-C5' -> (1, (55, 72))."""
    m = re.fullmatch(r"\s*([^=]+)=\s*([A-Ga-g][#b]*-?\d+|\d+)\s*-\s*([A-Ga-g][#b]*-?\d+|\d+)\s*", text)
    if not m:
        raise OptionError(f"--range {text!r}: expected VOICE=LOW-HIGH, e.g. alto=G3-C5")
    v, lo, hi = voice_index(m.group(1), names), _pitch(m.group(2)), _pitch(m.group(3))
    if lo > hi:
        raise OptionError(f"--range {text!r}: the low note is above the high one")
    return v, (lo, hi)


def parse_fix(text: str, names: list[str]) -> FixedNote:
    """'3:1:bass=D3' or '5:2.5:soprano=F#4/2' -> FixedNote."""
    m = re.fullmatch(r"\s*(\d+):(\d+(?:\.\d+)?):([^=]+)=([^/]+?)(?:/(\d+(?:\.\d+)?))?\s*", text)
    if not m:
        raise OptionError(f"--fix {text!r}: expected BAR:BEAT:VOICE=PITCH[/BEATS], e.g. 3:1:bass=D3")
    bar, beat = int(m.group(1)), float(m.group(2))
    return _fixed(bar, beat, voice_index(m.group(3), names), _pitch(m.group(4)), float(m.group(5) or 1), text)


def _fixed(bar, beat, voice, pitch, beats, where) -> FixedNote:
    if not (math.isfinite(beat) and math.isfinite(beats)):
        raise OptionError(f"{where}: beat and length must be numbers")
    if bar < 1 or beat < 1 or beats <= 0:
        raise OptionError(f"{where}: bars and beats count from 1 and a length must be positive")
    return FixedNote(bar, beat, voice, pitch, beats)


def load_fixed_cells(path: Path, names: list[str]) -> list[FixedNote]:
    """A JSON list of {"bar", "beat", "voice", "pitch", "beats"?}; pitch by name or number."""
    try:
        items = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise InputError(path, f"not a JSON file of fixed cells ({type(e).__name__})") from None
    if not isinstance(items, list):
        raise InputError(path, 'expected a JSON list like [{"bar": 3, "beat": 1, "voice": "bass", "pitch": "D3"}]')
    out = []
    for i, item in enumerate(items):
        try:
            out.append(
                _fixed(
                    int(item["bar"]),
                    float(item["beat"]),
                    voice_index(str(item["voice"]), names),
                    _pitch(item["pitch"]),
                    float(item.get("beats", 1)),
                    f"{path} item {i + 1}",
                )
            )
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(path, f"item {i + 1} needs bar, beat, voice and pitch ({type(e).__name__}: {e})") from None
        except OptionError as e:
            raise InputError(path, f"item {i + 1}: {e}") from None
    return out


def build_rules(
    scale: str | None, ranges: list[str], fixes: list[str], fixed_file: Path | None, names: list[str]
) -> Rules:
    """Rules from command-line options, checked for contradictions."""
    rules = Rules(scale=parse_key(scale) if scale else None)
    for text in ranges:
        v, r = parse_range(text, names)
        rules.ranges[v] = r
    rules.fixed = [parse_fix(t, names) for t in fixes]
    if fixed_file is not None:
        rules.fixed += load_fixed_cells(fixed_file, names)
    rules.check(names)
    return rules
