"""Fuzz the score readers: feed damaged copies of real files to every reader and to the commands
a musician runs first, and count what a user must never see.

    .venv/bin/python benchmarks/fuzz_readers.py [--n 2000] [--seed 0] [--formats midi,musicxml,abc,kern]
                                                [--jobs 2] [--timeout 60] [--no-cli] [--keep DIR] [--reasons]

Real files: the repository's examples/ (MIDI, MusicXML), and from ../shared/data where it is
present: small POP909 and ASAP MIDI files, ASAP MusicXML scores (their first measures, as
.musicxml and as .mxl), single Nottingham ABC tunes and a three-tune ABC file; for kern, the
smallest Palestrina pieces of music21's corpus. Each mutant is one real file with one to three
mutations: bit flips, byte overwrites, truncation, deleted, inserted or repeated ranges; for MIDI
chunk-length and header edits, broken chunk tags, dropped or repeated chunks, events pushed to
tick 2**28..2**32, drums only, no notes, a note lasting 2**28 ticks; for MusicXML deleted
elements, opening or closing tags, absurd numbers (durations, divisions, octaves, meters),
mismatched part ids, entity bombs; for ABC deleted or broken header lines (X:, M:, L:, K:, Q:),
deleted or repeated music lines, stray tokens and absurd note lengths; for kern deleted lines,
broken spines and durations. One mutant in twenty is a whole-file case instead: empty, white
space, random bytes, text, another format's file under this suffix. Mutant i depends only on
--seed and i.

Each mutant goes to `cadenza.io.read_scores` (the dispatcher, which calls read_midi or
read_with_music21), then to `cadenza continue FILE --bars 1` and `cadenza harmonize FILE
--track 1 --iterations 2 --repair-rounds 0` (both --formats mid, --quiet), run in-process through
cadenza.cli.main.main as a user's command line would be (--no-cli leaves those out). Runs happen
in --jobs worker processes with their stdout and stderr (the file descriptors, so C libraries are
caught too) captured per run. Counted, per format and target:

  tracebacks    an exception that is not a CadenzaError (the CLI: one escaping main, or an exit
                status other than 0 and 2)
  >10 s         runs longer than 10 seconds
  hangs         runs killed after --timeout seconds (the worker is replaced; counted, not fatal)
  crashes       a worker that died (a segfault, an abort)
  >1 GB         runs whose peak resident memory grew by more than 1 GiB over the worker's resident
                memory before the run (Linux: VmHWM after resetting it through
                /proc/self/clear_refs; elsewhere the growth of ru_maxrss, which can miss a
                second peak). A worker's address space is also capped at its size plus 3 GiB, so
                a runaway allocation ends as MemoryError (a traceback) instead of eating the
                machine.
  not file-first  error lines that do not start with the file name (reader: the message;
                command: the line after "error: ")
  multi-line    errors of more than one line
  library words   error lines in a library's words, not ours ("Invaild", "MiniMidi", an exception
                class name, "object has no attribute", ...)
  noise         anything else on stderr or stdout (a command's stdout may hold its output paths)

Then the five slowest runs and examples of each problem (with --keep DIR the mutants behind them are
copied there, to rerun by hand; --reasons also prints the commonest refusals per format, to review
their words), and the exit status is 1 when any problem was found. The default --n 2000 takes about
three minutes on two cores; --no-cli about a minute; --jobs 0 runs in this process (no timeouts,
no memory cap: for quick tests).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import multiprocessing
import os
import random
import re
import shutil
import struct
import sys
import tempfile
import time
import traceback
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared/data"
FORMATS = ("midi", "musicxml", "abc", "kern")
TARGETS = ("read", "continue", "harmonize")
SLOW_S = 10.0
MEMORY_LIMIT = 1 << 30  # "over 1 GB"
ADDRESS_HEADROOM = 3 << 30  # a worker's cap above its size once warm
SUFFIX = {"midi": ".mid", "musicxml": ".musicxml", "abc": ".abc", "kern": ".krn"}
LIBRARY_WORDS = re.compile(
    r"Invaild|MiniMidi|iostream|music21|Traceback|\b[A-Z][A-Za-z]*(?:Error|Exception|Warning)\b|"
    r"object has no attribute|NoneType|list index|unsupported operand|invalid literal|<\w[\w.]* object at 0x"
)


# -------------------------------------------------------------------------------------------------
# real files


@dataclass
class Seed:
    name: str
    fmt: str
    suffix: str
    data: bytes


def seed_files(formats: list[str], rng: random.Random) -> dict[str, list[Seed]]:
    """Real files of each format: a few, small enough that a mutant reads in well under a second."""
    seeds: dict[str, list[Seed]] = {f: [] for f in formats}
    if "midi" in formats:
        paths = sorted((ROOT / "examples").glob("*.mid"))
        if DATA.is_dir():
            pop = sorted(p for p in DATA.glob("pop909/*/*.mid") if p.stat().st_size < 40_000)
            asap = sorted(p for p in DATA.glob("asap/*/*/*/midi_score.mid") if p.stat().st_size < 20_000)
            paths += rng.sample(pop, min(4, len(pop))) + rng.sample(asap, min(3, len(asap)))
        seeds["midi"] = [Seed(_short(p), "midi", ".mid", p.read_bytes()) for p in paths]
    if "musicxml" in formats:
        xml = [
            Seed(_short(p), "musicxml", ".musicxml", p.read_bytes()) for p in sorted(ROOT.glob("examples/*.musicxml"))
        ]
        if DATA.is_dir():
            scores = sorted(p for p in DATA.glob("asap/*/*/*/xml_score.mxl") if p.stat().st_size < 40_000)
            for p in rng.sample(scores, min(4, len(scores))):
                text = _first_measures(_mxl_xml(p.read_bytes()), 8)
                xml.append(Seed(_short(p) + "[:8 bars]", "musicxml", ".musicxml", text.encode()))
        xml += [Seed(s.name, "musicxml", ".mxl", _mxl_bytes(s.data)) for s in xml[-2:]]
        seeds["musicxml"] = xml
    if "abc" in formats:
        tunes: list[tuple[str, str]] = []
        for p in sorted(DATA.glob("nottingham-abc/*.abc")) if DATA.is_dir() else []:
            tunes += [(f"{_short(p)}#{i}", t) for i, t in enumerate(_abc_tunes(p.read_text(errors="replace")))]
        picked = rng.sample(tunes, min(14, len(tunes)))
        abc = [Seed(name, "abc", ".abc", (text.strip() + "\n").encode()) for name, text in picked]
        if len(picked) >= 3:
            abc.append(Seed("three tunes", "abc", ".abc", "\n\n".join(t.strip() for _, t in picked[:3]).encode()))
        if not abc:
            abc.append(Seed("tune", "abc", ".abc", _FALLBACK_ABC.encode()))
        seeds["abc"] = abc
    if "kern" in formats:
        from music21 import corpus

        kern = sorted(corpus.getComposer("palestrina"), key=lambda p: Path(p).stat().st_size)[:3]
        seeds["kern"] = [Seed(Path(p).name, "kern", ".krn", Path(p).read_bytes()) for p in kern]
    return {f: s for f, s in seeds.items() if s}


_FALLBACK_ABC = "X:1\nT:Scale\nM:4/4\nL:1/8\nK:D\nDEFG ABcd|edcB AGFE|D8|]\n"


def _short(p: Path) -> str:
    try:
        return str(p.relative_to(DATA))
    except ValueError:
        return str(p.relative_to(ROOT))


def _mxl_xml(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        container = z.read("META-INF/container.xml").decode()
        root = re.search(r'full-path="([^"]+)"', container)
        name = root[1] if root else next(n for n in z.namelist() if not n.startswith("META-INF"))
        return z.read(name).decode("utf-8", "replace")


def _mxl_bytes(xml: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/vnd.recordare.musicxml")
        z.writestr(
            "META-INF/container.xml",
            '<?xml version="1.0" encoding="UTF-8"?><container><rootfiles>'
            '<rootfile full-path="score.xml" media-type="application/vnd.recordare.musicxml+xml"/>'
            "</rootfiles></container>",
        )
        z.writestr("score.xml", xml)
    return buffer.getvalue()


def _first_measures(xml: str, n: int) -> str:
    """The score with each part cut after its first n measures: a small real file."""

    def cut(part: re.Match) -> str:
        measures = list(re.finditer(r"<measure\b.*?</measure>", part[0], re.S))
        if len(measures) <= n:
            return part[0]
        return part[0][: measures[n - 1].end()] + "\n</part>"

    return re.sub(r"<part\s+id=.*?</part>", cut, xml, flags=re.S)


def _abc_tunes(text: str) -> list[str]:
    return [t for t in re.split(r"\n\s*\n(?=X:)", text) if t.lstrip().startswith("X:") and "K:" in t]


# -------------------------------------------------------------------------------------------------
# mutations


def make_mutant(seeds: dict[str, list[Seed]], seed: int, index: int) -> tuple[str, Seed, str, bytes]:
    """(format, the real file, what was done, the bytes) of mutant `index`."""
    rng = random.Random(seed * 1_000_003 + index)
    formats = sorted(seeds)
    fmt = formats[index % len(formats)]
    original = rng.choice(seeds[fmt])
    if rng.random() < 0.05:
        what, data = _whole_file(rng, seeds, fmt)
        return fmt, original, what, data
    data, done = original.data, []
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
        ops = SPECIFIC[fmt] if rng.random() < 0.6 else GENERIC
        op = rng.choice(ops)
        try:
            data, what = op(rng, data)
        except Exception:  # mido, zipfile, a regex that finds nothing: any failure of the operation itself
            data, what = bitflip(rng, data)  # the operation needs a structure this file lost
        done.append(what)
    return fmt, original, " + ".join(done), data


def _whole_file(rng: random.Random, seeds: dict[str, list[Seed]], fmt: str) -> tuple[str, bytes]:
    case = rng.choice(("empty", "space", "noise", "text", "other", "utf16", "nul"))
    if case == "empty":
        return "empty file", b""
    if case == "space":
        return "white space", b" \n\t\n" * rng.randint(1, 5)
    if case == "noise":
        return "random bytes", rng.randbytes(rng.choice((1, 13, 14, 100, 4096)))
    if case == "text":
        return "plain text", b"These are my notes for the concert: C D E F G.\n"
    if case == "nul":
        return "zero bytes", bytes(rng.choice((14, 100, 1000)))
    if case == "utf16":
        text = rng.choice([s for f in seeds for s in seeds[f] if s.suffix != ".mxl" and f != "midi"] or [None])
        return (
            ("text as UTF-16", text.data.decode("utf-8", "replace").encode("utf-16")) if text else ("empty file", b"")
        )
    other = rng.choice([s for f in seeds if f != fmt for s in seeds[f]] or seeds[fmt])
    return f"{other.fmt} file {other.name} under this suffix", other.data


# -- generic byte mutations


def bitflip(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    if not data:
        return b"\x00", "a zero byte"
    b = bytearray(data)
    k = rng.choice((1, 1, 2, 4, 8, 32))
    for _ in range(k):
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
    return bytes(b), f"{k} bit flips"


def byteset(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    if not data:
        return b"\xff", "a 0xFF byte"
    b = bytearray(data)
    value = rng.choice((0x00, 0xFF, 0x7F, 0x80, rng.randrange(256)))
    k = rng.choice((1, 2, 8))
    for _ in range(k):
        b[rng.randrange(len(b))] = value
    return bytes(b), f"{k} bytes set to 0x{value:02X}"


def truncate(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    cut = rng.choice((rng.randrange(len(data) + 1), rng.randrange(min(len(data), 40) + 1), len(data) - 1))
    return data[: max(cut, 0)], f"cut after byte {max(cut, 0)}"


def delete_range(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    i = rng.randrange(len(data) + 1)
    n = rng.choice((1, 4, 64, 1024))
    return data[:i] + data[i + n :], f"{n} bytes deleted at {i}"


def insert_bytes(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    i = rng.randrange(len(data) + 1)
    n = rng.choice((1, 3, 64))
    return data[:i] + rng.randbytes(n) + data[i:], f"{n} random bytes inserted at {i}"


def repeat_range(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    i = rng.randrange(len(data) + 1)
    n = rng.choice((8, 100, 1000))
    k = rng.choice((2, 10, 100))
    piece = data[i : i + n]
    return data[:i] + piece * k + data[i + n :], f"{len(piece)} bytes at {i} repeated {k} times"


GENERIC = [bitflip, byteset, truncate, delete_range, insert_bytes, repeat_range]


# -- MIDI


def _chunks(data: bytes) -> list[tuple[int, bytes, int]]:
    """(offset, tag, length) of each chunk, walking by the length fields while they fit."""
    out, pos = [], 0
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos + 4 : pos + 8], "big")
        out.append((pos, data[pos : pos + 4], length))
        pos += 8 + length
    if not out:
        raise ValueError("no chunks")
    return out


def midi_chunk_length(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    chunks = _chunks(data)
    k = rng.randrange(len(chunks))
    pos, _, length = chunks[k]
    new = rng.choice((0, 1, max(length - 1, 0), length + 1, length + 1000, 0x7FFFFFFF, 0xFFFFFFFF, rng.getrandbits(32)))
    return data[: pos + 4] + struct.pack(">I", new) + data[pos + 8 :], f"chunk {k} length {length} -> {new}"


def midi_header(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    if len(data) < 14:
        raise ValueError("short")
    name, offset, values = rng.choice(
        (
            ("format", 8, (0, 1, 2, 3, 0xFFFF)),
            ("tracks", 10, (0, 1, 2, 3, 100, 0xFFFF)),
            ("division", 12, (0, 1, 2, 0x7FFF, 0x8000, 0xE728, 0xFFFF)),
        )
    )
    value = rng.choice(values)
    return data[:offset] + struct.pack(">H", value) + data[offset + 2 :], f"header {name} = {value}"


def midi_header_length(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    value = rng.choice((0, 5, 7, 0xFFFFFFFF))
    return data[:4] + struct.pack(">I", value) + data[8:], f"header length = {value}"


def midi_tag(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    pos, tag, _ = rng.choice(_chunks(data))
    new = rng.choice((b"MTrx", b"mtrk", b"\x00\x00\x00\x00", b"RIFF", b"MThd", b"MTrk"))
    return data[:pos] + new + data[pos + 4 :], f"chunk tag {tag!r} -> {new!r}"


def midi_chunk_edit(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    chunks = _chunks(data)
    if len(chunks) < 2:
        raise ValueError("one chunk")
    k = rng.randrange(1, len(chunks))
    pos, _, length = chunks[k]
    body = data[pos : pos + 8 + length]
    how = rng.choice(("drop", "repeat", "last"))
    if how == "drop":
        return data[:pos] + data[pos + 8 + length :], f"chunk {k} dropped"
    if how == "repeat":
        n = rng.choice((2, 50))
        return data[:pos] + body * n + data[pos + 8 + length :], f"chunk {k} repeated {n} times"
    return data[:pos] + data[pos + 8 + length :] + body, f"chunk {k} moved last"


def midi_far_events(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """Push a track's events far out: k empty text events each 2**28 - 1 ticks after the last."""
    chunks = [c for c in _chunks(data) if c[1] == b"MTrk"]
    pos, _, length = rng.choice(chunks)
    k = rng.choice((1, 4, 8, 9, 16))
    pad = b"\xff\xff\xff\x7f\xff\x01\x00" * k  # delta 0x0FFFFFFF, meta text of length 0
    body = pad + data[pos + 8 : pos + 8 + length]
    return data[:pos] + b"MTrk" + struct.pack(">I", len(body)) + body + data[pos + 8 + length :], (
        f"a track's events pushed {k} x 2**28 ticks"
    )


def _mido(data: bytes):
    import mido

    return mido.MidiFile(file=io.BytesIO(data))


def _saved(midi) -> bytes:
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def midi_semantic(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    import mido

    midi = _mido(data)
    how = rng.choice(("drums", "no notes", "long note", "ppq", "zero tempo", "bad meter", "far note"))
    if how == "drums":
        for track in midi.tracks:
            for i, m in enumerate(track):
                if hasattr(m, "channel"):
                    track[i] = m.copy(channel=9)
        return _saved(midi), "every event on drum channel 10"
    if how == "no notes":
        for track in midi.tracks:
            track[:] = [
                m.copy(time=0) if m.type not in ("note_on", "note_off") else mido.MetaMessage("text") for m in track
            ]
        return _saved(midi), "notes removed"
    if how == "ppq":
        midi.ticks_per_beat = rng.choice((1, 2, 0x7FFF))
        return _saved(midi), f"ticks per quarter = {midi.ticks_per_beat}"
    track = max(midi.tracks, key=len)
    if how == "zero tempo":
        track.insert(0, mido.MetaMessage("set_tempo", tempo=0))
        return _saved(midi), "a zero tempo"
    if how == "bad meter":
        track.insert(0, mido.MetaMessage("time_signature", numerator=0, denominator=1))
        body = _saved(midi)
        return body.replace(b"\xff\x58\x04\x00\x00", b"\xff\x58\x04\x00\xfe", 1), "a 0/2**254 time signature"
    end = mido.MetaMessage("end_of_track")
    channel = next((m.channel for m in track if hasattr(m, "channel")), 0)
    if how == "long note":
        notes = [mido.Message("note_on", channel=channel, note=60, velocity=80)]
        notes += [mido.MetaMessage("text", time=0x0FFFFFFF) for _ in range(rng.choice((1, 4, 8)))]
        notes += [mido.Message("note_off", channel=channel, note=60), end]
        midi.tracks.append(mido.MidiTrack(notes))
        return _saved(midi), "a note 2**28 ticks or more long"
    k = rng.choice((1, 8, 16))  # a note at tick k * 2**28
    notes = [mido.MetaMessage("text", time=0x0FFFFFFF) for _ in range(k)]
    notes += [mido.Message("note_on", channel=channel, note=60, velocity=80), mido.Message("note_off", note=60, time=1)]
    midi.tracks.append(mido.MidiTrack([*notes, end]))
    midi.type = 1
    return _saved(midi), f"a note at tick {k} x 2**28"


# -- MusicXML

_XML_TAGS = (
    "part-list score-part part measure attributes divisions key fifths mode time beats beat-type clef note pitch "
    "step alter octave duration type voice staff chord rest tie backup forward direction sound barline work "
    "identification score-instrument midi-instrument midi-channel"
).split()
_XML_NUMBERS = "divisions duration octave beats beat-type fifths alter staff voice midi-channel midi-program".split()


def _xml(data: bytes) -> tuple[str, bool]:
    """The text of a MusicXML mutant and whether it came zipped (.mxl)."""
    if data[:2] == b"PK":
        return _mxl_xml(data), True
    return data.decode("utf-8", "replace"), False


def _pack(text: str, zipped: bool) -> bytes:
    return _mxl_bytes(text.encode()) if zipped else text.encode()


def xml_delete_element(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    text, zipped = _xml(data)
    tag = rng.choice(_XML_TAGS)
    found = list(re.finditer(rf"<{tag}\b[^>]*?(?:/>|>.*?</{tag}>)", text, re.S))
    if not found:
        raise ValueError(tag)
    m = rng.choice(found)
    how = rng.choice(("element", "element", "open tag", "close tag"))
    if how == "element":
        text = text[: m.start()] + text[m.end() :]
    elif how == "open tag":
        opening = re.match(rf"<{tag}\b[^>]*>", m[0])
        text = text[: m.start()] + text[m.start() + len(opening[0]) :] if opening else text
    else:
        close = m[0].rfind(f"</{tag}>")
        text = text[: m.start() + close] + text[m.start() + close + len(tag) + 3 :] if close >= 0 else text
    return _pack(text, zipped), f"<{tag}> {how} deleted"


def xml_number(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    text, zipped = _xml(data)
    tag = rng.choice(_XML_NUMBERS)
    found = list(re.finditer(rf"<{tag}>([^<]*)</{tag}>", text))
    if not found:
        raise ValueError(tag)
    value = rng.choice(("0", "-1", "-4", "999999999", "2147483648", "1e300", "0.0001", "x", "", "NaN", "3/4"))
    chosen = rng.sample(found, min(len(found), rng.choice((1, 1, 5, len(found)))))
    for m in sorted(chosen, key=lambda m: m.start(), reverse=True):  # from the end: earlier offsets stay valid
        text = text[: m.start(1)] + value + text[m.end(1) :]
    return _pack(text, zipped), f"<{tag}> = {value!r}"


def xml_structure(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    text, zipped = _xml(data)
    how = rng.choice(("part id", "measures x200", "encoding", "entity bomb", "doctype", "root"))
    if how == "part id":
        text = re.sub(r'<part id="([^"]*)"', r'<part id="\1-other"', text, count=1)
    elif how == "measures x200":
        m = rng.choice(list(re.finditer(r"<measure\b.*?</measure>", text, re.S)))
        text = text[: m.end()] + m[0] * 200 + text[m.end() :]
    elif how == "encoding":
        text = re.sub(r"<\?xml[^>]*\?>", '<?xml version="1.0" encoding="EBCDIC-NONSENSE"?>', text, count=1)
    elif how == "entity bomb":
        bomb = '<!DOCTYPE lolz [<!ENTITY a "aaaaaaaaaa">' + "".join(
            f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9)
        )
        text = re.sub(r"<!DOCTYPE[^>]*>", "", text)
        text = re.sub(r"(<\?xml[^>]*\?>)?", lambda m: (m[0] or "") + bomb + "]>", text, count=1)
        text = text.replace("<work-title>", "<work-title>&j;", 1).replace("<part-name>", "<part-name>&j;", 1)
    elif how == "doctype":
        text = re.sub(r"<!DOCTYPE[^>]*>", '<!DOCTYPE score-partwise SYSTEM "file:///etc/passwd">', text)
    else:
        text = text.replace("score-partwise", rng.choice(("score-timewise", "score", "opus", "html")))
    return _pack(text, zipped), how


# -- ABC

_ABC_FIELDS = {
    "X": ("", "x", "-1", "99999999999999999999"),
    "M": ("0/4", "4/0", "99/1", "1000000/4", "none", "C|", "x/y", "3/4/5", ""),
    "L": ("1/0", "0/1", "1/1000000", "abc", "1", ""),
    "K": ("H", "Zmaj", "", "C clef=xyz", "G#####", "none", "Hp"),
    "Q": ("0", "1/4=0", "1/4=99999999", "1/0=120", "fast", "-60"),
    "T": ("", "\x00\x01", "é" * 200),
}
_ABC_TOKENS = (
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "|:",
    ":|",
    "[1",
    "(9",
    "(3:2:9",
    "!!",
    '"',
    ">>>",
    "<",
    "z99999999",
    "C99999999",
    "C/0",
    "C0",
    "^^^^",
    "=_",
    "K:",
    "\\",
    "%",
    "&",
    "[V:9]",
    "V:",
    "~",
    "[M:0/4]",
    "[L:1/0]",
    "[K:H]",
    "c''''''''''''''''",
    "C,,,,,,,,,,,,,,,,",
    "x/////////",
)


def abc_header(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    lines = data.decode("utf-8", "replace").splitlines()
    field_name = rng.choice(sorted(_ABC_FIELDS))
    where = [i for i, line in enumerate(lines) if line.startswith(field_name + ":")]
    if not where:
        raise ValueError(field_name)
    i = rng.choice(where)
    if rng.random() < 0.4:
        del lines[i]
        return ("\n".join(lines) + "\n").encode(), f"{field_name}: line deleted"
    value = rng.choice(_ABC_FIELDS[field_name])
    lines[i] = f"{field_name}:{value}"
    return ("\n".join(lines) + "\n").encode(), f"{field_name}:{value!r}"


def abc_lines(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    lines = data.decode("utf-8", "replace").splitlines()
    music = [i for i, line in enumerate(lines) if line and not re.match(r"[A-Za-z]:", line)]
    if not music:
        raise ValueError("no music")
    i = rng.choice(music)
    how = rng.choice(("delete", "delete all", "repeat", "token", "token", "cut"))
    if how == "delete":
        del lines[i]
    elif how == "delete all":
        lines = [line for j, line in enumerate(lines) if j not in music]
    elif how == "repeat":
        lines[i:i] = [lines[i]] * 200
    elif how == "cut":
        lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
    else:
        token = rng.choice(_ABC_TOKENS)
        j = rng.randrange(len(lines[i]) + 1)
        lines[i] = lines[i][:j] + token + lines[i][j:]
        how = f"{token!r} inserted"
    return ("\n".join(lines) + "\n").encode(), f"music line {how}"


# -- kern


def kern_lines(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    lines = data.decode("utf-8", "replace").splitlines()
    how = rng.choice(("delete", "spine", "duration", "header", "interp"))
    i = rng.randrange(len(lines))
    if how == "delete":
        del lines[i]
    elif how == "spine":
        lines.insert(i, rng.choice(("*^", "*v\t*v", "*-", "*x\t*x", "*+")))
    elif how == "duration":
        body = [j for j, line in enumerate(lines) if line and line[0].isdigit()]
        if not body:
            raise ValueError("no notes")
        j = rng.choice(body)
        value = rng.choice(("0", "00000", "999999999", "0.", "1%0", "-4"))
        lines[j] = re.sub(r"^\d+\.?", value, lines[j])
        how = f"duration {value}"
    elif how == "header":
        lines = [line.replace("**kern", rng.choice(("**kern2", "**", "**text"))) for line in lines]
    else:
        lines.insert(i, rng.choice(("*M0/4", "*M4/0", "*MM0", "*k[x#]", "*clefX", "*I\x00")))
    return ("\n".join(lines) + "\n").encode(), f"kern {how}"


SPECIFIC = {
    "midi": [midi_chunk_length, midi_header, midi_header_length, midi_tag, midi_chunk_edit, midi_far_events]
    + [midi_semantic] * 3,
    "musicxml": [xml_delete_element, xml_delete_element, xml_number, xml_number, xml_structure],
    "abc": [abc_header, abc_header, abc_lines, abc_lines],
    "kern": [kern_lines],
}


# -------------------------------------------------------------------------------------------------
# one run, in a worker


@dataclass
class Run:
    index: int
    target: str
    outcome: str  # ok, refused, traceback, hang, crash
    seconds: float
    peak_growth: int = 0  # bytes
    message: str = ""
    noise: str = ""
    problems: list[str] = field(default_factory=list)


def _memory_kib(field_name: str) -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_rss() -> int:
    import resource

    if (hwm := _memory_kib("VmHWM")) >= 0:
        return hwm * 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _captured(fn):
    """Run fn() with what it writes to stdout and stderr caught: (result, stdout, stderr). Both the
    file descriptors (what C libraries write) and sys.stdout and sys.stderr (which need not be on
    them, under pytest for one) are swapped."""
    py_out, py_err = io.StringIO(), io.StringIO()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            with contextlib.redirect_stdout(py_out), contextlib.redirect_stderr(py_err):
                result = fn()
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        out.seek(0)
        err.seek(0)
        fd_out, fd_err = (f.read().decode("utf-8", "replace") for f in (out, err))
        return result, fd_out + py_out.getvalue(), fd_err + py_err.getvalue()


def _exception(e: BaseException) -> str:
    frames = traceback.extract_tb(e.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    text = (str(e).strip().splitlines() or [""])[0][:200]
    return f"{type(e).__name__}: {text}{where}"


def run_target(index: int, target: str, path: str, out_dir: str) -> Run:
    """Feed the file at `path` to one target and judge what a user would see."""
    from cadenza.errors import CadenzaError

    def read():
        from cadenza.io import read_scores

        try:
            read_scores(path)
            return "ok", ""
        except CadenzaError as e:
            return "refused", str(e)
        except Exception as e:  # what this harness is here to find
            return "traceback", _exception(e)

    def command():
        from cadenza.cli.main import main

        stem = os.path.join(out_dir, f"{target}-{index}")
        common = ["--formats", "mid", "--out", stem, "--force", "--quiet", "--seed", "1"]
        if target == "continue":
            args = ["continue", path, "--bars", "1", "--model", "chorales", *common]
        else:
            args = ["harmonize", path, "--track", "1", *common]  # the default model, by particles
        argv = sys.argv
        sys.argv = ["cadenza", *args]
        try:
            main()
            return "ok", 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            return ("ok" if code == 0 else "refused" if code == 2 else "traceback"), code
        except Exception as e:
            return "traceback", _exception(e)
        finally:
            sys.argv = argv

    tracked = _reset_peak()
    before = _memory_kib("VmRSS") * 1024 if tracked else _peak_rss()
    start = time.perf_counter()
    try:
        (outcome, detail), stdout, stderr = _captured(read if target == "read" else command)
    except MemoryError as e:  # raised outside the target (the capture itself)
        outcome, detail, stdout, stderr = "traceback", _exception(e), "", ""
    seconds = time.perf_counter() - start
    run = Run(index, target, outcome, seconds, max(0, _peak_rss() - before))
    if target == "read":
        run.message = detail
        run.noise = (stderr + stdout).strip()
        if outcome == "refused":
            _judge_line(run, detail, path)
    else:
        lines = stderr.strip().splitlines()
        if outcome == "traceback" and isinstance(detail, str):
            run.message = detail
            run.noise = stderr.strip()
        elif outcome == "traceback":
            run.message = f"exit status {detail}: " + " | ".join(lines[-3:])
        elif outcome == "refused":
            run.message = lines[0] if lines else "(exit status 2, nothing on stderr)"
            _judge_line(run, run.message.removeprefix("error: "), path, whole=stderr.strip())
            run.noise = "\n".join(lines[1:])
        else:
            run.noise = stderr.strip()  # --quiet: stdout holds the output paths, stderr nothing
    if run.noise:
        run.problems.append("noise")
    if run.outcome == "traceback":
        run.problems.append("traceback")
    if run.seconds > SLOW_S:
        run.problems.append(">10 s")
    if run.peak_growth > MEMORY_LIMIT or "MemoryError" in run.message:
        run.problems.append(">1 GB")
    return run


def _judge_line(run: Run, message: str, path: str, whole: str | None = None) -> None:
    text = whole if whole is not None else message
    if not message.startswith(f"{path}: "):
        run.problems.append("not file-first")
    if "\n" in text.strip():
        run.problems.append("multi-line")
    if LIBRARY_WORDS.search(message):
        run.problems.append("library words")


def worker(conn, out_dir: str, cli: bool, warm_path: str | None) -> None:
    """Serve runs until told to stop: ('run', index, path, targets) -> ('start', ...) then Run each."""
    import resource

    from cadenza.cli.main import main  # noqa: F401  (imports before the first timed run)
    from cadenza.io import scores  # noqa: F401

    if warm_path:  # load the libraries and the models once, untimed
        for target in ("read", *(("continue", "harmonize") if cli else ())):
            run_target(-1, target, warm_path, out_dir)
    size = _memory_kib("VmSize")
    if size > 0:
        cap = size * 1024 + ADDRESS_HEADROOM
        resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
    conn.send(("ready",))
    while True:
        message = conn.recv()
        if message[0] == "stop":
            return
        _, index, path, targets = message
        for target in targets:
            conn.send(("start", index, target))
            conn.send(("done", run_target(index, target, path, out_dir)))
        conn.send(("finished", index))


# -------------------------------------------------------------------------------------------------
# the run


@dataclass
class Mutant:
    index: int
    fmt: str
    seed_name: str
    what: str
    path: str


class Pool:
    """Worker processes that run mutants one at a time each, replaced when one hangs or dies."""

    def __init__(self, jobs: int, out_dir: str, cli: bool, warm_path: str | None, timeout: float):
        self.context = multiprocessing.get_context("spawn")
        self.args = (out_dir, cli, warm_path)
        self.timeout = timeout
        self.workers: list[dict] = [self._start() for _ in range(jobs)]

    def _start(self) -> dict:
        parent, child = self.context.Pipe()
        process = self.context.Process(target=worker, args=(child, *self.args), daemon=True)
        process.start()
        child.close()
        return {"process": process, "conn": parent, "task": None, "target": None, "since": 0.0, "ready": False}

    def run(self, tasks: list[tuple[Mutant, tuple[str, ...]]], on_run) -> None:
        pending = list(reversed(tasks))
        while pending or any(w["task"] for w in self.workers):
            for w in self.workers:
                if w["ready"] and w["task"] is None and pending:
                    w["task"] = pending.pop()
                    mutant, targets = w["task"]
                    w["since"] = time.perf_counter()
                    w["conn"].send(("run", mutant.index, mutant.path, targets))
            conns = {w["conn"]: w for w in self.workers}
            ready = wait(list(conns), timeout=1.0)
            for conn in ready:
                w = conns[conn]
                try:
                    message = conn.recv()
                except (EOFError, OSError):
                    self._lost(w, "crash", on_run)
                    continue
                if message[0] == "ready":
                    w["ready"] = True
                elif message[0] == "start":
                    w["target"], w["since"] = message[2], time.perf_counter()
                elif message[0] == "done":
                    on_run(w["task"][0], message[1])
                elif message[0] == "finished":
                    w["task"], w["target"] = None, None
            now = time.perf_counter()
            for w in self.workers:
                if not w["ready"] and not w["process"].is_alive():
                    raise SystemExit(f"a fuzz worker failed to start (exit status {w['process'].exitcode})")
                if w["task"] and now - w["since"] > self.timeout:
                    self._lost(w, "hang", on_run)
                elif w["task"] and not w["process"].is_alive():
                    self._lost(w, "crash", on_run)

    def _lost(self, w: dict, outcome: str, on_run) -> None:
        """A worker hung or died in the middle of a mutant: count the run it was in, the rest of
        the mutant's targets are not run; start a fresh worker."""
        mutant, targets = w["task"] or (None, ())
        target = w["target"] or (targets[0] if targets else "read")
        if mutant is not None:
            seconds = time.perf_counter() - w["since"]
            run = Run(
                mutant.index, target, outcome, seconds, message=f"worker {outcome} (exit {w['process'].exitcode})"
            )
            run.problems = [outcome] + ([">10 s"] if seconds > SLOW_S else [])
            on_run(mutant, run)
        w["process"].kill()
        w["process"].join()
        self.workers[self.workers.index(w)] = self._start()

    def close(self) -> None:
        for w in self.workers:
            try:
                w["conn"].send(("stop",))
            except OSError:
                pass
        for w in self.workers:
            w["process"].join(timeout=10)
            if w["process"].is_alive():
                w["process"].kill()


COLUMNS = (
    "traceback",
    ">10 s",
    "hang",
    "crash",
    ">1 GB",
    "not file-first",
    "multi-line",
    "library words",
    "noise",
)


def fuzz(
    n: int = 2000,
    seed: int = 0,
    formats: list[str] | None = None,
    jobs: int = 2,
    cli: bool = True,
    timeout: float = 60.0,
    keep: Path | None = None,
    quiet: bool = False,
) -> dict:
    """Make n mutants and run them; return the counts (see the module docstring) and examples."""
    formats = formats or list(FORMATS)
    seeds = seed_files(formats, random.Random(seed))
    if not seeds:
        raise SystemExit("no real files of the asked formats found")
    targets = TARGETS if cli else ("read",)
    counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    examples: dict[str, list[str]] = defaultdict(list)
    slowest: dict[tuple[str, str], float] = defaultdict(float)
    busy: dict[tuple[str, str], float] = defaultdict(float)
    slow_runs: list[tuple[float, str]] = []  # the five slowest, to see where the time goes
    peak: dict[tuple[str, str], int] = defaultdict(int)
    kept: set[int] = set()
    reasons: dict[str, Counter] = defaultdict(Counter)  # format -> refusal reasons, numbers as N
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cadenza-fuzz-") as tmp:
        files, out_dir = Path(tmp, "mutants"), Path(tmp, "out")
        files.mkdir()
        out_dir.mkdir()
        mutants = []
        for i in range(n):
            fmt, original, what, data = make_mutant(seeds, seed, i)
            slug = re.sub(r"[^a-z0-9]+", "-", what.lower()).strip("-")[:40]
            path = files / f"m{i:05d}-{slug}{original.suffix}"
            path.write_bytes(data)
            mutants.append(Mutant(i, fmt, original.name, what, str(path)))
        warm = next((s for f in ("midi", "abc", "musicxml", "kern") for s in seeds.get(f, [])), None)
        warm_path = None
        if warm is not None:
            warm_path = str(Path(tmp, "warm" + warm.suffix))
            Path(warm_path).write_bytes(warm.data)

        done = 0

        def on_run(mutant: Mutant, run: Run) -> None:
            nonlocal done
            key = (mutant.fmt, run.target)
            c = counts[key]
            c["runs"] += 1
            c[run.outcome] += 1
            for p in run.problems:
                c[p] += 1
            slowest[key] = max(slowest[key], run.seconds)
            busy[key] += run.seconds
            slow_runs.append((run.seconds, f"m{mutant.index:05d} {run.target} ({mutant.seed_name}: {mutant.what})"))
            slow_runs.sort(reverse=True)
            del slow_runs[5:]
            if run.outcome == "refused" and run.target == "read":
                reason = run.message.replace(mutant.path, "FILE").removeprefix("FILE: ")
                reasons[mutant.fmt][re.sub(r"\d[\d,.]*", "N", reason)[:140]] += 1
            peak[key] = max(peak[key], run.peak_growth)
            for p in run.problems:
                if len(examples[p]) < 8:
                    shown = run.message or run.noise
                    if p == "noise":
                        shown = run.noise
                    line = shown.replace(mutant.path, "FILE").splitlines()[:1] or [""]
                    examples[p].append(
                        f"m{mutant.index:05d} {run.target} ({mutant.seed_name}: {mutant.what}): {line[0][:220]}"
                    )
                if keep is not None and mutant.index not in kept:
                    keep.mkdir(parents=True, exist_ok=True)
                    shutil.copy(mutant.path, keep / Path(mutant.path).name)
                    kept.add(mutant.index)
            if run.target == targets[-1] or run.outcome in ("hang", "crash"):
                done += 1
                if not quiet and done % 100 == 0:
                    print(f"  {done}/{n} mutants, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)

        if jobs == 0:  # in this process: no timeouts, no memory cap (for quick tests)
            for m in mutants:
                for target in targets:
                    on_run(m, run_target(m.index, target, m.path, str(out_dir)))
        else:
            pool = Pool(jobs, str(out_dir), cli, warm_path, timeout)
            try:
                pool.run([(m, targets) for m in mutants], on_run)
            finally:
                pool.close()
    return {
        "n": n,
        "seed": seed,
        "formats": sorted(seeds),
        "seed_files": {f: len(s) for f, s in seeds.items()},
        "targets": targets,
        "seconds": time.perf_counter() - started,
        "counts": counts,
        "slowest": slowest,
        "busy": busy,
        "slow_runs": slow_runs,
        "peak": peak,
        "examples": examples,
        "reasons": reasons,
    }


def summary(result: dict) -> str:
    """The table: one row per format and target, then a total row, then examples of each problem."""
    head = ("format", "target", "runs", "ok", "refused") + COLUMNS + ("slowest s", "total s", "peak MB")
    rows = []
    total: Counter = Counter()
    for fmt in result["formats"]:
        for target in result["targets"]:
            c = result["counts"].get((fmt, target), Counter())
            total.update(c)
            slow, peak = result["slowest"].get((fmt, target), 0.0), result["peak"].get((fmt, target), 0)
            busy = result["busy"].get((fmt, target), 0.0)
            row = (fmt, target, c["runs"], c["ok"], c["refused"], *(c[k] for k in COLUMNS))
            rows.append((*row, f"{slow:.1f}", f"{busy:.0f}", peak >> 20))
    slow = max(result["slowest"].values(), default=0.0)
    peak = max(result["peak"].values(), default=0)
    busy = sum(result["busy"].values())
    row = ("total", "", total["runs"], total["ok"], total["refused"], *(total[k] for k in COLUMNS))
    rows.append((*row, f"{slow:.1f}", f"{busy:.0f}", peak >> 20))
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        f"fuzz_readers: {result['n']} mutants (seed {result['seed']}) of "
        + ", ".join(f"{k} real {f} files" for f, k in result["seed_files"].items())
        + f", {result['seconds']:.0f} s",
        "  ".join(str(h).rjust(w) if i >= 2 else str(h).ljust(w) for i, (h, w) in enumerate(zip(head, widths))),
    ]
    for r in rows:
        lines.append(
            "  ".join(str(v).rjust(w) if i >= 2 else str(v).ljust(w) for i, (v, w) in enumerate(zip(r, widths)))
        )
    lines.append("\nslowest runs: " + "; ".join(f"{s:.1f} s {what}" for s, what in result["slow_runs"]))
    for problem in COLUMNS:
        if result["examples"].get(problem):
            lines.append(f"\n{problem} (first {len(result['examples'][problem])}):")
            lines += [f"  {e}" for e in result["examples"][problem]]
    return "\n".join(lines)


def reasons(result: dict, top: int = 25) -> str:
    """The commonest reasons the readers gave, per format (numbers shown as N), to review their words."""
    lines = []
    for fmt, counter in sorted(result["reasons"].items()):
        lines.append(f"\n{fmt}: {sum(counter.values())} refusals, {len(counter)} different reasons")
        lines += [f"  {k:5d}  {reason}" for reason, k in counter.most_common(top)]
    return "\n".join(lines)


def problems(result: dict) -> int:
    return sum(c[k] for c in result["counts"].values() for k in COLUMNS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="number of mutants [2000]")
    parser.add_argument("--seed", type=int, default=0, help="random seed: mutant i depends only on it and i [0]")
    parser.add_argument("--formats", default=",".join(FORMATS), help=f"comma list of {', '.join(FORMATS)}")
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes [CPU count]; 0: in this process, no timeouts",
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a run counts as a hang [60]")
    parser.add_argument("--no-cli", action="store_true", help="readers only, not `continue` and `harmonize`")
    parser.add_argument("--keep", type=Path, help="copy the mutants behind every problem to this folder")
    parser.add_argument("--reasons", action="store_true", help="also print the commonest reasons the readers gave")
    args = parser.parse_args()
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        parser.error(f"unknown formats {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread per worker: the workers are the parallelism
    result = fuzz(args.n, args.seed, formats, args.jobs, not args.no_cli, args.timeout, args.keep)
    print(summary(result))
    if args.reasons:
        print(reasons(result))
    sys.exit(1 if problems(result) else 0)


if __name__ == "__main__":
    main()
