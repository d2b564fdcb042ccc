"""What a client sends the studio: a file (or ABC text), limited in size, sniffed for what it is
(not trusted by its name), and read as the command line reads it, with the same one-line
errors. And what the page's piano roll draws: a version's notes."""

from __future__ import annotations

from pathlib import Path

from cadenza.errors import InputError

MAX_BYTES = 2_000_000  # a long MusicXML score is well under this
TYPED = "the ABC you typed"  # what ABC text sent as text (not a file) is called in errors


def sniff(data: bytes) -> str | None:
    """The file's kind by its content: mid, mxl (zipped MusicXML), musicxml, abc, krn, or None."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf").lstrip()
    if data.startswith(b"MThd") or data.startswith(b"RIFF") and data[8:12] == b"RMID":
        return "mid"
    if data.startswith(b"PK\x03\x04"):
        return "mxl"
    if head.startswith(b"<") and (
        b"<score-partwise" in head or b"<score-timewise" in head or b"<!DOCTYPE score" in head
    ):
        return "musicxml"
    if b"**kern" in head:
        return "krn"
    text = head.decode("utf-8", "replace")
    if any(line.strip().startswith(("X:", "K:")) for line in text.splitlines()):
        return "abc"
    return None


def accept(data: bytes, name: str, folder: Path) -> str:
    """Keep an upload in `folder` as piece.EXT once it reads as music; its title. Raises
    InputError naming the file and the problem."""
    from cadenza.cli.common import read_piece

    shown = Path(name).name or "upload"
    if len(data) > MAX_BYTES:
        raise InputError(shown, f"larger than the studio takes ({MAX_BYTES // 1_000_000} MB)")
    if not data.strip():
        raise InputError(shown, "empty")
    kind = sniff(data)
    if kind is None and name == TYPED:
        raise InputError(shown, "no ABC header: begin with lines such as X:1, M:4/4, L:1/4 and K:G, then the notes")
    if kind is None:
        raise InputError(shown, "not a MIDI, MusicXML, ABC or kern file")
    path = folder / f"piece.{kind}"
    path.write_bytes(data)
    try:
        score = read_piece(path, quiet=True, keep=False)
    except InputError as e:  # the message names our copy; the user knows their file's name
        raise InputError(shown, str(e).split(": ", 1)[-1]) from None
    own = score.title and score.title != path.stem  # a title in the file, not the name of our copy
    title = score.title if own else ("typed melody" if name == TYPED else Path(shown).stem)
    if kind != "musicxml":  # notation for the page (commands still read the file as it came)
        from cadenza.io import write_score

        score.title = title
        write_score(score, folder / "piece.musicxml")
    return title


def notes_of(path: Path) -> dict:
    """A score's notes by part, in beats (quarter notes), for a piano roll."""
    from cadenza.cli.common import read_piece
    from cadenza.score import pickup_start

    score = read_piece(path, quiet=True, keep=False)
    meter = score.meter
    end = max((n.end_beats for p in score.parts for n in p.notes), default=0.0)
    return {
        "beats_per_bar": meter.bar_beats,
        "bars": int(-(-end // meter.bar_beats)) if end else 0,
        "pickup_beats": pickup_start(score),
        "parts": [
            {
                "name": p.name,
                "notes": [{"pitch": n.pitch, "start": n.start_beats, "end": n.end_beats} for n in p.notes],
            }
            for p in score.parts
            if p.notes and not p.is_drum
        ],
    }
