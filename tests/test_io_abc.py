"""cadenza.io.abc: the ABC writer. Every file is read back through cadenza's own reader (music21)
and must give the notes (pitch, start, length per part), meters, keys and chord symbols written;
and its text must say what a reader of ABC expects: chord symbols in quotes, K: with its mode,
octave marks, accidentals where the bar needs them, ties over bar lines, triplets."""

from dataclasses import replace
from pathlib import Path

import pytest

from cadenza.chords import parse_chord
from cadenza.errors import OutputExistsError
from cadenza.io import read_scores, write_score
from cadenza.io.abc import abc_text, write_abc
from cadenza.score import Key, Meter, Note, Part, Score, Tempo

NOTTINGHAM = Path("/work/shared/data/nottingham-abc")


def notes(*triples) -> list[Note]:
    return [Note(pitch, float(start), float(length)) for pitch, start, length in triples]


def note_tuples(part: Part) -> list[tuple[int, float, float]]:
    return sorted((n.pitch, round(n.start_beats, 6), round(n.duration_beats, 6)) for n in part.notes)


def chord_items(score: Score) -> list:
    """The chord symbols by start, compared as chords (ChordSymbol equality ignores the text)."""
    return [
        (round(c.start_beats, 6), replace(c, start_beats=0.0))
        for c in sorted(score.chords, key=lambda c: c.start_beats)
    ]


def distinct(meters: list[Meter]) -> list[Meter]:
    """The meters that change something (the reader may restate one where a repeat began)."""
    return [m for i, m in enumerate(meters) if not i or str(m) != str(meters[i - 1])]


def round_trip(score: Score, path: Path) -> tuple[Score, str]:
    """Write through write_score, read back, compare with what was written."""
    write_score(score, path)
    text = path.read_text()
    (back,) = read_scores(path)
    parts = [p for p in score.parts if p.notes]
    assert len(back.parts) == len(parts)
    for original, read in zip(parts, back.parts):
        assert note_tuples(read) == note_tuples(original), original.name
    assert distinct(back.meters) == distinct(score.meters)
    assert back.keys == score.keys
    assert chord_items(back) == chord_items(score)
    return back, text


def body(text: str) -> list[str]:
    """The tune's music lines (after the K: line of the header)."""
    lines = text.splitlines()
    return lines[next(i for i, line in enumerate(lines) if line.startswith("K:")) + 1 :]


def lead_sheet() -> Score:
    """A tune in G with a one-beat pickup and chord symbols (one of them inside a note)."""
    melody = notes(
        (62, 3, 1), (67, 4, 1.5), (66, 5.5, 0.5), (67, 6, 1), (69, 7, 1), (71, 8, 2), (72, 10, 1), (74, 11, 1),
        (76, 12, 3), (78, 15, 1), (79, 16, 4), (77, 20, 1), (76, 21, 1), (75, 22, 2), (76, 24, 4),
    )  # fmt: skip
    chords = [("G", 4), ("D7", 8), ("Em", 12), ("Bm7b5", 13.5), ("C/E", 16), ("G", 20), ("D7", 26)]
    return Score(
        parts=[Part("Melody", notes=melody)],
        keys=[Key(0.0, 7, "major")],
        chords=[parse_chord(name, start) for name, start in chords],
        title="Lead",
    )


def test_a_lead_sheet_in_g_with_a_pickup_reads_back(tmp_path):
    score = lead_sheet()
    _, text = round_trip(score, tmp_path / "lead.abc")
    header = text.splitlines()
    assert header[:3] == ["%abc-2.1", "X:1", "T:Lead"]
    assert {"M:4/4", "Q:1/4=120", "K:G"} <= set(header)
    assert any(line.startswith("L:1/") for line in header)
    for chord in ("G", "D7", "Em", "Bm7b5", "C/E"):
        assert f'"{chord}"' in text
    first_bar = body(text)[0].split("|")[0]
    assert first_bar.strip() == "D"  # the pickup: a short first bar
    assert body(text)[-1].endswith("|]")
    assert '-"Bm7b5"' in text  # the note sounding across the chord's start is split and tied


def test_a_chord_starting_inside_a_note_splits_it_with_a_tie(tmp_path):
    score = Score(
        parts=[Part("", notes=notes((72, 0, 4)))],
        keys=[Key(0.0, 0, "major")],
        chords=[parse_chord("C", 0), parse_chord("G7", 2)],
    )
    back, text = round_trip(score, tmp_path / "split.abc")
    assert body(text)[0] == '"C"c2- "G7"c2 |]'
    assert len(back.parts[0].notes) == 1


def test_a_6_8_tune_reads_back(tmp_path):
    jig = notes(
        (67, 2.5, 0.5), (71, 3, 1), (67, 4, 0.5), (74, 4.5, 1.5), (72, 6, 0.5), (71, 6.5, 0.5), (69, 7, 0.5),
        (67, 7.5, 1.5), (69, 9, 1.5), (66, 10.5, 1.5), (67, 12, 3),
    )  # fmt: skip
    score = Score(
        parts=[Part("", notes=jig)],
        meters=[Meter(0.0, 6, 8)],
        keys=[Key(0.0, 7, "major")],
        chords=[parse_chord(name, start) for name, start in (("G", 3), ("C", 6), ("D7", 7.5), ("G", 12))],
    )
    _, text = round_trip(score, tmp_path / "jig.abc")
    assert "M:6/8" in text.splitlines() and "L:1/8" in text.splitlines()
    assert body(text)[0].startswith('G | "G"B2G d3 | "C"cBA "D7"G3 |')  # beamed by the dotted-quarter beat


@pytest.mark.parametrize(
    ("key", "field"),
    [(Key(0.0, 7, "major"), "K:G"), (Key(0.0, 4, "minor"), "K:Em"), (Key(0.0, 10, "major"), "K:Bb"),
     (Key(0.0, 6, "minor"), "K:F#m"), (Key(0.0, 11, "major", "Cb"), "K:Cb"), (None, "K:C")],
)  # fmt: skip
def test_the_key_field_names_the_tonic_as_spelled_and_the_mode(key, field):
    score = Score(parts=[Part("", notes=notes((60, 0, 4)))], keys=[key] if key else [])
    assert field in abc_text(score).splitlines()


def test_octave_marks_put_middle_c_at_capital_c():
    score = Score(parts=[Part("", notes=notes((48, 0, 1), (60, 1, 1), (72, 2, 1), (84, 3, 1)))])
    assert body(abc_text(score))[0] == "C, C c c' |]"


def test_accidentals_follow_the_key_and_hold_to_the_end_of_the_bar(tmp_path):
    """A minor: the raised 7th is marked once and holds through the bar; a natural after it is
    marked (=), and so is a note back to the key after a bar line."""
    melody = notes(
        (68, 0, 1), (69, 1, 1), (68, 2, 1), (67, 3, 1),  # G# A G# G: ^G A G =G
        (66, 4, 0.5), (65, 4.5, 0.5), (77, 5, 0.5), (69, 5.5, 0.5), (68, 6, 2),  # F# F f A G#: ^F =F f A ^G
        (67, 8, 4),  # G in a new bar: no accidental
    )  # fmt: skip
    score = Score(parts=[Part("", notes=melody)], keys=[Key(0.0, 9, "minor")])
    _, text = round_trip(score, tmp_path / "minor.abc")
    assert "K:Am" in text.splitlines()
    assert body(text) == ["^G A G =G | ^F/2=F/2 f/2A/2 ^G2 | G4 |]"]


def test_an_accidental_in_another_octave_is_marked_for_every_reader(tmp_path):
    """Whether a reader carries an accidental to the same letter in every octave or keeps it to
    its own octave, the notes read the same: F#4 G4 F5 F4 in C."""
    melody = notes((66, 0, 1), (67, 1, 1), (77, 2, 1), (65, 3, 1))
    score = Score(parts=[Part("", notes=melody)], keys=[Key(0.0, 0, "major")])
    _, text = round_trip(score, tmp_path / "octaves.abc")
    assert body(text) == ["^F G =f =F |]"]


def test_a_double_sharp_is_marked_on_each_of_its_notes(tmp_path):
    """G# minor's leading tone is F##: music21 would carry a double sharp on as a single one."""
    score = Score(parts=[Part("", notes=notes((67, 0, 1), (68, 1, 1), (67, 2, 2)))], keys=[Key(0.0, 8, "minor")])
    _, text = round_trip(score, tmp_path / "leading.abc")
    assert "K:G#m" in text.splitlines()
    assert body(text) == ["^^F G ^^F2 |]"]


def test_a_note_across_a_bar_line_is_tied_and_keeps_its_accidental(tmp_path):
    score = Score(parts=[Part("", notes=notes((60, 0, 3), (66, 3, 2), (67, 5, 3)))], keys=[Key(0.0, 0, "major")])
    back, text = round_trip(score, tmp_path / "tie.abc")
    assert body(text) == ["C3 ^F- | ^F G3 |]"]
    assert [n.duration_beats for n in back.parts[0].notes] == [3.0, 2.0, 3.0]


def test_meter_key_and_tempo_changes_read_back(tmp_path):
    score = Score(
        parts=[
            Part("", notes=notes((66, 0, 2), (73, 2, 4), (74, 6, 2), (76, 8, 3), (78, 11, 3), (79, 14, 1), (81, 15, 2)))
        ],
        meters=[Meter(0.0, 4, 4), Meter(8.0, 3, 4)],
        keys=[Key(0.0, 0, "major"), Key(11.0, 2, "major")],
        tempos=[Tempo(0.0, 100.0), Tempo(14.0, 80.0)],
        chords=[parse_chord("C", 0), parse_chord("A7", 6), parse_chord("D", 11)],
    )
    back, text = round_trip(score, tmp_path / "changes.abc")
    assert back.tempos == score.tempos
    lines = body(text)
    # each change a field line between two bar lines (music21 ignores inline [M:3/4] fields)
    for field in ("M:3/4", "K:D", "Q:1/4=80"):
        i = lines.index(field)
        assert lines[i - 1].endswith("|") and lines[i + 1].startswith("|")


def test_several_parts_are_voices_with_their_names(tmp_path):
    soprano = notes((72, 0, 1), (74, 1, 1), (76, 2, 2), (77, 4, 2), (76, 6, 2))
    bass = notes((48, 0, 2), (55, 0, 2), (43, 2, 2), (50, 2, 2), (41, 4, 4), (48, 4, 4))  # chords: [C,G,]
    score = Score(
        parts=[Part("Soprano", notes=soprano), Part("Bass", notes=bass)],
        keys=[Key(0.0, 0, "major"), Key(4.0, 7, "major")],
        chords=[parse_chord("C", 0), parse_chord("G", 2), parse_chord("F", 4)],
        fermatas_beats=[2.0, 6.0],
    )
    _, text = round_trip(score, tmp_path / "two.abc")
    lines = text.splitlines()
    assert 'V:1 name="Soprano"' in lines and 'V:2 name="Bass"' in lines
    voice_2 = "\n".join(lines[lines.index("V:2", lines.index("K:C")) :])
    assert "[C,G,]2" in voice_2 and '"' not in voice_2  # chord symbols only in the first voice
    assert "He2" in text and "H[G,,D,]2" in voice_2  # fermatas


def test_triplets_are_written_as_tuplets(tmp_path):
    third = 1 / 3
    melody = notes(
        (72, 0, third), (74, third, third), (76, 2 * third, third),  # (3cde
        (77, 1, 2 * third), (79, 1 + 2 * third, third),  # (3:2:2f"G7"g/2 (L:1/4)
        (72, 2, 1), (76, 3, 1), (72, 4, 4),
    )  # fmt: skip
    score = Score(
        parts=[Part("", notes=melody)], keys=[Key(0.0, 0, "major")], chords=[parse_chord("G7", 1 + 2 * third)]
    )
    _, text = round_trip(score, tmp_path / "triplets.abc")
    assert body(text) == ['(3c/2d/2e/2 (3:2:2f"G7"g/2 c e | c4 |]']


def test_notes_overlapping_in_one_part_keep_the_top_line(tmp_path):
    score = Score(parts=[Part("", notes=notes((72, 0, 4), (64, 1, 1), (67, 2, 1), (76, 3, 1), (60, 4, 4)))])
    path = tmp_path / "overlap.abc"
    write_abc(score, path)
    (back,) = read_scores(path)
    # the lower notes under the held C are left out; the higher E cuts it short
    assert note_tuples(back.parts[0]) == [(60, 4.0, 4.0), (72, 0.0, 3.0), (76, 3.0, 1.0)]


def test_chord_symbols_before_a_pickup_leave_the_last_on_its_first_note():
    score = Score(
        parts=[Part("", notes=notes((67, 3, 1), (72, 4, 4)))],
        chords=[parse_chord("C", 0), parse_chord("G7", 2), parse_chord("C", 4)],
    )
    assert body(abc_text(score)) == ['"G7"G | "C"c4 |]']


def test_the_title_is_the_files_stem_when_the_score_has_none(tmp_path):
    path = write_abc(Score(parts=[Part("", notes=notes((60, 0, 4)))]), tmp_path / "my tune.abc")
    assert "T:my tune" in path.read_text().splitlines()


def test_write_refuses_to_overwrite_without_force(tmp_path):
    path = tmp_path / "out.abc"
    path.write_bytes(b"keep me")
    with pytest.raises(OutputExistsError):
        write_score(lead_sheet(), path)
    with pytest.raises(OutputExistsError):
        write_abc(lead_sheet(), path)
    assert path.read_bytes() == b"keep me"
    write_score(lead_sheet(), path, force=True)
    assert path.read_text().startswith("%abc-2.1\nX:1\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.abc"]  # no temporary files left


def nottingham_tune(tmp_path: Path, name: str, index: int) -> Score:
    """Tune `index` of a Nottingham file, read with read_scores from a copy of the file's first
    tunes (the whole of jigs.abc takes about a minute to read)."""
    source = NOTTINGHAM / name
    if not source.is_file():
        pytest.skip(f"{source} is not here")
    text = source.read_text(encoding="utf-8", errors="replace")
    starts = [i for i, line in enumerate(text.splitlines()) if line.startswith("X:")]
    lines = text.splitlines()
    copy = tmp_path / f"first-{name}"
    copy.write_text("\n".join(lines[: starts[index + 1]] if index + 1 < len(starts) else lines) + "\n")
    return read_scores(copy)[index]


@pytest.mark.parametrize(("name", "index"), [("jigs.abc", 0), ("jigs.abc", 1), ("waltzes.abc", 0)])
def test_nottingham_tunes_read_back(tmp_path, name, index):
    """Jigs in 6/8 (the first with a pickup and a key change, both with repeats, written out as
    played) and a waltz in 3/4 with triplets, with their chord symbols."""
    score = nottingham_tune(tmp_path, name, index)
    assert score.chords and score.parts[0].notes
    round_trip(score, tmp_path / "tune.abc")
