"""ABC text mended before music21 reads it, and checked for what music21 would choke on: one
text pass per thing music21 gets wrong, each line kept where it was where it can be (so that
line numbers in messages hold). `mended_abc` runs them in order:

- `_abc_without_free_text`: free text, text blocks, a field's text going on, a byte-order mark;
- `_check_abc`: numbers no tune has, meters with no note value, keys ABC has not (K:Q#), zero
  lengths, bars and tunes too long for music21, words in a tune's body: refused in one line
  naming the line or tune;
- `_abc_double_repeats`: a note's letter apart from the double repeat after it (`A ::`);
- `_abc_inline_fields` and `_abc_voices`: inline fields on lines of their own, each voice's
  lines together and in its own key, clef words out of K:, additive meters summed, invisible
  rests as rests where a tune has voices, voices numbered (`_abc_voice_numbers`);
- `_abc_unit_lengths`: an L: in every tune's header;
- `_abc_fermatas`: fermatas as a mark music21 keeps (read back by cadenza.io.scores), and
  dynamics (`!pp!`, `+f+`, `!sfz!` ...) as an inline field music21 keeps as a token
  (DYNAMIC_FIELD), which cadenza.io.scores turns into the Dynamic music21 would have made;
- `_abc_chords`: chord symbols in the spelling music21 reads, annotations taken out.

What music21 loses at the level of its tokens (fields on bar lines, P: labels, fermatas, dynamics) is
mended in cadenza.io.scores (`_abc_shortcuts`).
"""

from __future__ import annotations

import re
from pathlib import Path

from cadenza.chords import parse_chord, plain_chord_text
from cadenza.errors import InputError, MusicError


def mended_abc(path: Path, text: str) -> tuple[str, dict[str, str]]:
    """`text`, an ABC file's, as music21 is to read it, and (as `_abc_chords` gives them) the
    chord symbols as the file wrote them. Raises InputError naming `path` for what cannot be
    read (`_check_abc`)."""
    music = _abc_without_free_text(_escaped_quotes(text))
    _check_abc(path, music)
    voiced = _abc_voice_numbers(_abc_voices(_abc_inline_fields(_abc_double_repeats(music))))
    return _abc_chords(path, _abc_unit_lengths(_abc_fermatas(voiced)))


# a quoted string in a line of music: a backslash escapes the character after it (\" a quote, as
# in "^say \"hi\"", or the diaeresis of \"u; \\ a backslash)
_QUOTED = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_FIELD_LINE = re.compile(r"\s*[A-Za-z+]:")


def _escaped_quotes(text: str) -> str:
    """`text` with each backslashed quote inside a quoted string of a music line (an annotation,
    "^say \\"hi\\"") written as an apostrophe: music21 and the checks here would end the string
    at it. Annotations are not read (_abc_chords), and field lines (T:, w:) are left as they are."""
    if '\\"' not in text:
        return text

    def mend(quoted: re.Match) -> str:
        return '"' + quoted[0][1:-1].replace('\\"', "'") + '"'

    return "\n".join(line if _FIELD_LINE.match(line) else _QUOTED.sub(mend, line) for line in text.split("\n"))


# what in a line of music is not notes, kept whole when a pass rewrites the notes around it:
# inline fields, chord symbols and annotations, decorations, a comment
_NOT_NOTES = re.compile(r'(\[[A-Za-z]:[^\]]*\]|"[^"]*"|![^!]*!|\+[^+\s]*\+|%.*$)')


def _abc_without_free_text(text: str) -> str:
    """ABC without what is not music, each such line made blank (so that line numbers hold): a
    leading byte-order mark; text blocks (%%begintext ... %%endtext, %%beginps ... %%endps); a
    field's text going on in the next line (after a `\\` or in a +: line: w: lyrics); and
    free text, a line between a tune's end (a blank line) and the next tune (X:, or K: in a file
    of one tune without X:) that is neither a field, a comment nor music (music holds a bar line,
    or no words, `_abc_words`: a tune cut by a stray blank line reads on, as music21 reads it).
    ABC 2.1 says to ignore free text: music21 read a tune book's words about a tune as notes of
    the tune before them."""
    out: list[str] = []
    in_tune, block, field_goes_on = False, "", False
    for line in text.removeprefix("\ufeff").split("\n"):
        directive = re.match(r"\s*%%(begin|end)(\w+)", line)
        goes_on = field_goes_on
        field_goes_on = bool(_FIELD_LINE.match(line) or goes_on) and line.rstrip().endswith("\\")
        if directive:
            block = directive[2] if directive[1] == "begin" else ""
        elif block or goes_on or re.match(r"\s*\+:", line):  # a field's text going on (w: lyrics)
            line = ""
        elif re.match(r"\s*[XK]:", line):
            in_tune = True
        elif not line.strip():
            in_tune = False
        elif not in_tune and not re.match(r"\s*(%|[A-Za-z+]:)", line) and "|" not in line and _abc_words(line):
            line = ""
        out.append(line)
    return "\n".join(out)


# the fields music21 reads from a field line of a tune's body, and as a chord when inline ([M:3/4])
_INLINE_FIELDS = re.compile(r"\[([KLMPQV]):([^\]]*)\]")
# what a K: field may say besides the key: its clef and staff (music21 reads `K:bass` as B major,
# `K:G middle=d` and its short form `K:G m=d` as G minor, and a tune headed `K:G clef=bass` two
# octaves low: in ABC a clef changes how notes are drawn, not their pitch)
_CLEF_WORDS = re.compile(
    r"\b(?:clef|middle|transpose|octave|stafflines|staffscale|cue)\s*=\s*\S*|\bm=\S+"
    r"|(?<![\w=])(?:treble|bass|baritone|tenor|alto|mezzo|soprano|perc)\d?(?:[+-]8)?(?![\w=])",
    re.IGNORECASE,
)


def _key_only(value: str) -> str:
    """A K: field's key without its clef and staff words ("D clef=bass" -> "D"; "bass" -> ""; the
    bagpipes' HP (no signature), which music21 reads as a key it is not, -> ""; their Hp, F# and
    C#, music21 reads right)."""
    key = " ".join(_CLEF_WORDS.sub(" ", value).split())
    return "" if key == "HP" else key


def _meter_summed(value: str) -> str:
    """An M: field's additive meter as its sum ("2+2+3/8" -> "7/8", "(3+2)/8" -> "5/8"), which
    music21 reads as 223/8; any other as it is."""
    m = re.fullmatch(r"\(?\s*(\d+(?:\s*\+\s*\d+)+)\s*\)?\s*/\s*(\d+)", value.strip())
    if not m:
        return value
    beats = sum(int(n) for n in m[1].split("+"))
    return f"{beats}/{m[2]}"


def _abc_double_repeats(text: str) -> str:
    """ABC with a space between a capital note and the double repeat after it (`A::` -> `A ::`):
    music21 takes `A:` for a field there and loses the note, and with it the repeat or the rest
    of the tune (54 lines of the Nottingham tunes end a strain so)."""
    out: list[str] = []
    for line in text.split("\n"):
        if _FIELD_LINE.match(line) or "::" not in line:
            out.append(line)
            continue
        parts = _NOT_NOTES.split(line)
        out.append(
            "".join(re.sub(r"(?<=[A-Z])::", " ::", part) if i % 2 == 0 else part for i, part in enumerate(parts))
        )
    return "\n".join(out)


def _abc_inline_fields(text: str) -> str:
    """ABC with each inline field of a tune's body ([M:3/4], [K:D], [L:1/16], [Q:1/4=90], [P:B],
    [V:2]) on a field line of its own, where it stood: music21 reads an inline field as a chord
    of no notes, so that a meter or key change was lost, and the voices of a tune written
    `[V:1] abc |` were read one after another as one melody. A line break inside the music
    changes nothing in ABC. Chord symbols, annotations, decorations and comments are left as
    they are, and so is an inline field in a tune's header or in a field line (w: lyrics)."""
    out: list[str] = []
    body = False
    for line in text.split("\n"):
        field = re.match(r"\s*([A-Za-z]):", line)
        if field:
            body = (body or field[1] == "K") and field[1] != "X"
            out.append(line)
            continue
        if not body or "[" not in line:
            out.append(line)
            continue
        parts = _NOT_NOTES.split(line)
        pieces = [""]
        for i, part in enumerate(parts):
            inline = _INLINE_FIELDS.fullmatch(part) if i % 2 else None
            if inline:
                pieces += [f"{inline[1]}:{inline[2].strip()}", ""]
            else:
                pieces[-1] += part
        out += [piece for k, piece in enumerate(pieces) if k % 2 or piece.strip() or len(pieces) == 1]
    return "\n".join(out)


def _abc_voices(text: str) -> str:
    """ABC with each tune's body voice by voice, and its key changes kept to their voice: the
    lines of a voice written in turns with others (V:1 a system, V:2 its system, V:1 again...)
    gathered after the voice's first V: line (music21 made a part of each turn, all sounding at
    once); a key change in the body (its clef words left out, `_key_only`; one that names no key
    dropped) holds in its voice only, so each voice begins in the key it had (music21 carried one
    voice's last key into the next). In a tune of several voices, invisible rests are rests
    (`_invisible_rests`)."""
    out: list[str] = []
    header_key, voices, order, current = "", dict[str, list[str]](), list[str](), ""

    def flush() -> None:
        key = header_key
        for voice in order:
            lines = voices[voice] if len(order) == 1 else [_invisible_rests(line) for line in voices[voice]]
            changes = [line for line in lines if re.match(r"\s*K:", line)]
            if voice and key != header_key:
                lines = [lines[0], f"K:{header_key}", *lines[1:]]  # this voice begins in the tune's key
            out.extend(lines)
            key = changes[-1].split(":", 1)[1].strip() if changes else header_key
        voices.clear()
        order.clear()

    for line in text.split("\n"):
        field = re.match(r"\s*([A-Za-z]):(.*)", line)
        name, value = (field[1], field[2].strip()) if field else ("", "")
        if name == "M":
            line = f"M:{_meter_summed(value)}"
        if name == "X" or not header_key:  # a tune's header (or a file's)
            flush()
            if name == "K":  # the tune's key, its clef words out (no key said: none)
                header_key = _key_only(value) or "none"
                line = f"K:{header_key}"
            elif name == "X":
                header_key = ""
            current = ""
            out.append(line)
            continue
        if name == "K":
            key = _key_only(value)
            if not key:
                continue
            line = f"K:{key}"
        elif name == "V":
            current = value.split()[0] if value else ""
            if current in voices:
                continue
        if current not in voices:
            voices[current] = []
            order.append(current)
        voices[current].append(line)
    flush()
    return "\n".join(out)


def _invisible_rests(line: str) -> str:
    """A line of music with its invisible rests (x) as rests (z): music21 drops them, so that a
    voice padded with them began too early. Only where a tune has voices: in one, `Hx` after a
    full bar is a fermata's place over the bar line (O'Neill's), no time."""
    if "x" not in line or _FIELD_LINE.match(line):
        return line
    parts = _NOT_NOTES.split(line)
    return "".join(part if i % 2 else part.replace("x", "z") for i, part in enumerate(parts))


def _abc_voice_numbers(text: str) -> str:
    """ABC with each tune's voices numbered 1, 2, ... in the order they first appear, where any
    is named otherwise (V:S, V:RH): music21 makes parts of voices numbered only, and read the
    named ones one after another as one part. A voice without a name= takes its old one as its
    name."""
    tunes = re.split(r"(?m)^(?=\s*X:)", text)
    for t, tune in enumerate(tunes):
        ids = list(dict.fromkeys(m[1] for m in re.finditer(r"(?m)^\s*V:\s*(\S+)", tune)))
        if all(i[0].isdigit() for i in ids):
            continue
        number = {i: str(k + 1) for k, i in enumerate(ids)}

        def renamed(m: re.Match, number: dict[str, str] = number) -> str:
            rest = m[2] if _VOICE_NAME.search(m[2]) else f' name="{m[1]}"{m[2]}'
            return f"V:{number[m[1]]}{rest}"

        tunes[t] = re.sub(r"(?m)^\s*V:\s*(\S+)(.*)$", renamed, tune)
    return "".join(tunes)


# a V: field's name (name="Soprano", nm="S", name=Soprano): the quoted text, else the word (none
# after name=: no name)
_VOICE_NAME = re.compile(r'\b(?:name|nm)\s*=\s*(?:"([^"]*)"|([^"\s]+))?')


def abc_voice_names(text: str) -> list[list[str]]:
    """For each tune of ABC text as `mended_abc` gives it (its voices numbered), its voices' names
    (V:1 name="Soprano", nm="Soprano" or name=Soprano; "" for none) in the order music21 makes parts of them,
    which it reads no name from."""
    out = []
    for tune in re.split(r"(?m)^(?=[ \t]*X:)", text)[1:]:
        names: dict[str, str] = {}
        for m in re.finditer(r"(?m)^[ \t]*V:[ \t]*(\S+)(.*)$", tune):
            named = _VOICE_NAME.search(m[2])
            if not names.get(m[1]):  # the first name said for a voice (its definition, in the header)
                names[m[1]] = (named[1] or named[2] or "").strip() if named else ""
        out.append(list(names.values()))
    return out


def _abc_unit_lengths(text: str) -> str:
    """ABC with an L: field in every tune's header that has none: the file header's L: (fields
    before the first X: hold for every tune), else the default ABC 2.1 gives (1/16 under a
    meter shorter than 3/4, the tune's M: or the file header's, else 1/8). music21 reading a
    tune book carries one tune's L: on to the later tunes that have none (a 1/4 in the
    Nottingham jigs at X:168 would double every note after it)."""
    out: list[str] = []
    in_file_header, in_header, has_unit = True, False, False
    book_unit: str | None = None
    book_meter: str | None = None
    meter: str | None = None
    for line in text.split("\n"):
        field = re.match(r"\s*\[?([A-Za-z]):([^\]%]*)", line)
        name, value = (field[1], field[2].strip()) if field else ("", "")
        if name == "X":
            in_file_header, in_header, has_unit, meter = False, True, False, book_meter
        elif in_file_header and name == "L":
            book_unit = value
        elif in_file_header and name == "M":
            book_meter = value
        elif in_header and name == "L":
            has_unit = True
        elif in_header and name == "M":
            meter = value
        elif in_header and name == "K":
            if not has_unit:
                out.append(f"L:{book_unit or _default_unit(meter)}")
            in_header = False
        out.append(line)
    return "\n".join(out)


def _default_unit(meter: str | None) -> str:
    """ABC 2.1's unit note length for a tune with no L: field: 1/16 when its meter (as M: gives
    it: 6/8, 2+3/8) is below 3/4, else 1/8 (also for free meter and for C and C|)."""
    m = re.fullmatch(r"\s*\(?([\d+\s]+)\)?\s*/\s*(\d+)\s*", meter or "")
    if not m or not int(m[2]):
        return "1/8"
    numerator = sum(int(n) for n in re.findall(r"\d+", m[1]))
    return "1/16" if numerator / int(m[2]) < 0.75 else "1/8"


# what a fermata is written as for music21, which drops ABC's fermatas: a crescendo that ends
# where it starts, which no tune writes; `_abc_shortcuts` reads it as a fermata on the next note
_FERMATA_MARK = "!crescendo(!!crescendo)!"


# a dynamic (ABC's !pp!) as written for music21, which drops it: an inline field it keeps as a
# token (of its own, not a chord's), which `_abc_shortcuts` reads as a Dynamic before the next note
DYNAMIC_FIELD = "[I:cadenza-dynamic {}]"
# the dynamics ABC 2.1 names (and the levels and accents a MusicXML reader plays beyond them)
DYNAMIC_NAME = re.compile(r"p{1,6}|f{1,6}|mp|mf|sf|sfz|fz|rf|rfz|sff|sffz|sfffz|s?f+z?p+")
_DYNAMIC = re.compile(rf"[!+]({DYNAMIC_NAME.pattern})[!+]")
# what may stand between a dynamic and its note, which the field must go before to stay a token
# of its own: chord symbols and other decorations before it ("G"!pp!G, as ABC 2.1 orders them),
# or an open chord's bracket ([!p!CE], [C!p!E])
_BEFORE_A_DYNAMIC = re.compile(
    r'((?:"[^"]*"\s*)+(?:![^!\s]*!\s*|\+[^+\s]*\+\s*|[.~HLMOPSTuv]\s*)*|\[(?![A-Za-z]:)[^\[\]"]*?)'
    rf"({re.escape(DYNAMIC_FIELD.split('{}')[0])}[^\]]+\])"
)


def _abc_fermatas(text: str) -> str:
    """ABC with each fermata (`!fermata!`, `+fermata+`, the inverted ones, or the shorthand `H`,
    after which music21 would drop the note and every later note move up a place) written as
    _FERMATA_MARK, each dynamic as DYNAMIC_FIELD, and a hairpin that ends where it starts (which
    changes nothing) taken out, so that the mark means a fermata only. Header fields, inline
    fields, chord symbols in quotes and other decorations are left as they are."""
    fermatas = ("!fermata!", "!invertedfermata!", "+fermata+", "+invertedfermata+")

    def decoration(part: str) -> str:
        dynamic = _DYNAMIC.fullmatch(part)
        return _FERMATA_MARK if part in fermatas else DYNAMIC_FIELD.format(dynamic[1]) if dynamic else part

    def mend(line: str) -> str:
        if re.match(r"\s*[A-Za-z]:", line):
            return line
        line = re.sub(r"!(?:crescendo|diminuendo)\(!\s*!(?:crescendo|diminuendo)\)!", "", line)
        if "H" not in line and "fermata" not in line and not _DYNAMIC.search(line):
            return line
        parts = _NOT_NOTES.split(line)
        line = "".join(decoration(part) if i % 2 else part.replace("H", _FERMATA_MARK) for i, part in enumerate(parts))
        while True:  # out of a chord's bracket, then before the chord symbol in front of it ("C"[!p!CEG])
            lifted = _BEFORE_A_DYNAMIC.sub(r"\2\1", line)
            if lifted == line:
                return line
            line = lifted

    return "\n".join(mend(line) for line in text.split("\n"))


_ABC_TOKEN = re.compile(r'"([^"]*)"|(\|+|::)|%.*$|\[[A-Za-z]:[^\]]*\]|([A-Ga-gz])')
_NO_CHORD = {"NC", "N.C.", "No Chord", "None"}


_CHORD_WORDS = ("maj", "min", "dim", "aug", "sus", "add")


def _looks_like_chord(text: str) -> bool:
    """Quoted ABC text meant as a chord symbol: one word from A-G with no full stop and no other
    word in it ("Gm7b5", "C/e", "(D7)"), not a direction or a name written in quotes ("Fine",
    "D.C.", "DANCE", "Elslein")."""
    word = text.strip()
    if not re.fullmatch(r"\(?[A-G]\S*", word) or "." in word:
        return False
    root = re.match(r"\(?[A-G](?:#|b|♯|♭)?", word)
    rest = re.sub(r"^(\d*)alt(?=$|[/)])", r"\1", word[root.end() if root else 1 :])  # A7alt, Aalt; not Dalton
    for w in _CHORD_WORDS:
        rest = rest.replace(w, "")
    return not re.search(r"[a-z]{3,}|[A-Z]{2,}", rest)


def _abc_chords(path: Path, text: str) -> tuple[str, dict[str, str]]:
    """ABC with each chord symbol in quotes written in a spelling music21 reads (plain_chord_text), which
    music21 reads: music21 drops the Nottingham files' "Cd" (diminished) and "Ca" (augmented),
    and spells a flat "Bb" as "B-". Returns the text and, per canonical spelling, the symbol as
    the file wrote it (when the file writes it one way only), for ChordSymbol.text.
    Annotations ("^text", "_text", "<text", ">text", "@text") are taken out; text that is not one
    chord-like word from A-G (_looks_like_chord), blanks and "N.C." are left as they are. Raises
    InputError naming a chord symbol (one word from A-G) cadenza cannot read, its tune and bar."""
    lines, written = [], dict[str, set[str]]()
    tune, bar, in_bar = "1", 1, False
    for line in text.split("\n"):
        field_name = re.match(r"\s*([A-Za-z]):(.*)", line)
        if field_name:
            if field_name[1] == "X":
                tune, bar, in_bar = field_name[2].strip(), 1, False
            lines.append(line)
            continue
        out, at = [], 0
        for m in _ABC_TOKEN.finditer(line):
            if m[2]:  # a bar line: a new bar if notes came since the last
                bar, in_bar = bar + in_bar, False
            elif m[3]:
                in_bar = True
            if m[1] is not None and m[1].strip()[:1] in ("^", "_", "<", ">", "@"):
                out.append(line[at : m.start()])  # an annotation: music21 reads it as a chord, and
                at = m.end()  # fails on some ("^Slowly, with feeling"); it is no note's and no chord's
                continue
            if m[1] is None or not _looks_like_chord(m[1]) or m[1].strip() in _NO_CHORD:
                continue  # no chord: words ("Fine", "D.C."), a blank
            try:
                chord = parse_chord(m[1])
            except MusicError as e:
                raise InputError(path, f"tune X:{tune} bar {bar}: {e}") from None
            canonical = plain_chord_text(chord)  # as music21 reads it
            written.setdefault(canonical, set()).add(m[1].strip())
            out += [line[at : m.start()], f'"{canonical}"']
            at = m.end()
        lines.append("".join(out) + line[at:])
    return "\n".join(lines), {c: next(iter(w)) for c, w in written.items() if len(w) == 1}


# -- checks before music21: what it would choke on, said plainly

_QUOTES_AND_DECORATIONS = re.compile(r'"[^"]*"|![^!]*!|\+[^+\s]*\+')  # chord symbols, annotations, decorations
_ABC_MAX_NUMBER = 10_000  # no note length, tuplet, repeat or meter in a real tune comes near
_ABC_MAX_BAR_BEATS = 256  # real bars hold up to 16 or so; music21 re-bars 512 in 5 s, 768 in 11 s
_ABC_NOTE = re.compile(r"[A-Ga-gzx][,']*(\d*)(/*)(\d*)")  # a note or rest: letter, octave marks, length
_ABC_MAX_BARS = 500  # 7 times the longest Nottingham tune; music21 slows quadratically: 900 damaged bars take 15 s
# two or more letters that can only be decorations (H-W, h-w: ~T for a trill, u for an up bow)
# with no note after them: prose in a tune's body ("this is not music"), which music21 reads as
# the few notes among its letters
_ABC_WORDS = re.compile(r"[H-Wh-w]{2,}(?![H-Wh-w])(?!\s*(?:[A-Ga-gzxyZX^_=\[\]{(~.|:]|$))")


# a meter's beats without their note value (M:3/, M:3), which music21 fails on with the whole file
_ABC_BROKEN_METER = re.compile(r"\(?\s*\d+(?:\s*\+\s*\d+)*\s*\)?\s*/?")

# a K: field's key (its clef words out, `_key_only`): none, the bagpipes' Hp, or a tonic A-G and whatever follows
# (a mode, `exp`, explicit accidentals, an old `-8va`): music21 reads what follows as it can, but
# reads a tonic that is no note name (K:Q#, German K:H) as C major
_ABC_KEY = re.compile(r"(?:none|Hp|[A-G].*)?", re.IGNORECASE)


def _abc_words(line: str) -> str:
    """The first word in a line of a tune's body that cannot be music (`_ABC_WORDS`), after its
    chord symbols and annotations, comments, decorations (`!trill!`, spaces in none: old ABC's `!`
    line breaks stay) and inline fields; "" if none."""
    music = re.sub(r'"[^"]*"', "", line).split("%", 1)[0]
    music = re.sub(r"![^!\s]*!|\+[^+\s]*\+|\[[A-Za-z]:[^\]]*\]", "", music)
    words = _ABC_WORDS.search(music)
    return words[0] if words else ""


def _quote_left_open(line: str) -> bool:
    """Whether a line of ABC music ends inside a quote (a comment, %, begins outside quotes only:
    "^50% slower" is an annotation)."""
    inside = False
    for c in line:
        if c == '"':
            inside = not inside
        elif c == "%" and not inside:
            break
    return inside


def _check_abc(path: Path, text: str) -> None:
    """Refuse what is not ABC, or what music21 would choke on: numbers no tune has (C99999999,
    M:1000000/4 make music21 build one object per beat of a bar that long, and run out of
    memory), zero meters and note lengths, a key ABC has not (K:Q#, which music21 reads as C
    major), a tune number that is not a number, a tune of thousands of bars or a bar of
    hundreds of notes (music21 takes minutes over either), words in a tune's body
    (`_abc_words`: music21 reads prose as the notes among its letters), and a quote left open in
    a line of music (music21 pairs it with the next line's, and reads what lies between as text).
    `text` is without its free text (`_abc_without_free_text`)."""
    fields = 0
    tune, body, unit = "1", list[str](), 0.5  # the tune's number, music lines and L: in quarters (1/8)
    in_body = False  # after a tune's K:, before the blank line that ends it
    for number, raw in enumerate(text.splitlines(), 1):
        in_body = in_body and bool(raw.strip())
        line = raw.split("%", 1)[0]
        field_name = re.match(r"\s*([A-Za-z+]):(.*)", line)
        if field_name:
            fields += 1
            letter, value = field_name[1], field_name[2].strip()
            if letter == "X":
                if not value.isdigit():
                    raise InputError(path, f"line {number}: the tune number X:{value[:20]} is not a whole number")
                _check_abc_bars(path, tune, body, unit)
                tune, body, unit, in_body = value, [], 0.5, False
            in_body = in_body or letter == "K"
            if letter not in "LMK":
                continue  # titles, lyrics, notes, tempo: free text or no lengths
        else:
            body.append(line)
        if in_body and not field_name and _quote_left_open(raw):
            raise InputError(path, f'line {number}: a quote (") is not closed: a chord symbol stands in a pair, "G"')
        quoted = re.findall(r'"[^"]*"', line) if in_body and not field_name else []
        across = next((q for q in quoted if "|" in q), None)  # two stray quotes: the music between them, text
        if across:
            shown = across if len(across) <= 24 else across[:24] + '..."'
            raise InputError(path, f"line {number}: a quote holds a bar line ({shown}): is a quote not closed?")
        music = _QUOTES_AND_DECORATIONS.sub("", line)
        words = in_body and not field_name and _abc_words(raw)
        if words:
            raise InputError(
                path, f"line {number}: words, not music ({words!r}); lyrics go on a w: line, notes in quotes"
            )
        for m in re.finditer(r"\d+", music):
            if len(m[0]) > 5 or int(m[0]) > _ABC_MAX_NUMBER:
                shown = m[0] if len(m[0]) <= 12 else m[0][:12] + "..."
                raise InputError(path, f"line {number}: the number {shown} is beyond any note length or meter")
        for m in re.finditer(r"(?:^\s*|\[)M:([^\]]*)", line):
            if _ABC_BROKEN_METER.fullmatch(m[1].strip()):
                raise InputError(
                    path, f"line {number}: M:{m[1].strip()[:20]} is no meter (write 6/8, 2+3/8, C, C| or none)"
                )
        for m in re.finditer(r"(?:^\s*|\[)K:([^\]]*)", line):
            if not _ABC_KEY.fullmatch(_key_only(m[1].strip())):
                raise InputError(
                    path, f"line {number}: K:{m[1].strip()[:20]} is no key (write K:G, K:Em, K:Ddor, K:F#mix or K:none)"
                )
        for m in re.finditer(r"\b([LM]):\s*(\d+)\s*/\s*(\d+)", music):
            if int(m[2]) == 0 or int(m[3]) == 0:
                what = "meter" if m[1] == "M" else "note length"
                raise InputError(path, f"line {number}: {what} {m[1]}:{m[2]}/{m[3]} has a zero")
            if m[1] == "L":
                unit = max(unit, 4 * int(m[2]) / int(m[3]))  # the longest unit the tune uses
    _check_abc_bars(path, tune, body, unit)
    if not fields:
        raise InputError(path, "not ABC (no header fields such as X:, T:, M:, K:)")


def _check_abc_bars(path: Path, tune: str, body: list[str], unit: float) -> None:
    """A tune's bars as music21 sees them (its quotes pair across lines): not too many, none too
    long. A bar's length is over-estimated (chord notes add up, tuplets are ignored): `unit` is
    the tune's L: in quarter notes."""
    music = _QUOTES_AND_DECORATIONS.sub("", "\n".join(body))
    bars = re.split(r"\|+|::", music)
    if len(bars) > _ABC_MAX_BARS:
        raise InputError(path, f"tune X:{tune} is over {_ABC_MAX_BARS:,} bars long, more than cadenza reads")
    for bar in bars:
        beats = 0.0
        for m in _ABC_NOTE.finditer(bar):
            length = int(m[1] or 1) / (int(m[3]) or 1 if m[3] else 2 ** len(m[2]))  # C/0: music21 says why
            beats += length * unit
        if beats > _ABC_MAX_BAR_BEATS:
            raise InputError(
                path, f'tune X:{tune} has a bar {beats:,.0f} beats long; its bar lines are lost (an unclosed " quote?)'
            )
