"""cadenza.io.abc: the ABC writer. Every file is read back through cadenza's own reader (music21)
and must give the notes (pitch, start, length per part, as played), meters, keys, chord symbols
and repeats written; and its text must say what a reader of ABC expects: chord symbols in quotes,
K: with its mode, octave marks, accidentals where the bar needs them, ties over bar lines,
triplets, repeat signs and first and second endings."""

import re
from dataclasses import replace
from pathlib import Path

import pytest

from cadenza.chords import parse_chord
from cadenza.errors import OutputExistsError
from cadenza.io import read_score, read_scores, write_score
from cadenza.io.abc import abc_text, write_abc
from cadenza.score import Key, Meter, Note, Part, Repeat, Score, Section, Tempo

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
    assert back.repeats == score.repeats
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


def test_double_dotted_notes_are_one_note_value(tmp_path):
    """A double-dotted quarter and half (1.75 and 3.5 beats) on the beat are written as one note, not tied."""
    score = Score(
        parts=[Part("Melody", notes=notes((65, 0, 1.75), (72, 1.75, 0.25), (60, 2, 1), (67, 4, 3.5), (69, 7.5, 0.5)))],
        keys=[Key(0.0, 0, "major")],
    )
    _, text = round_trip(score, tmp_path / "dots.abc")
    assert "-" not in "".join(body(text)) and "F7/4" in text and "G7/2" in text
    # one that begins off the beat is tied, as the MusicXML writer ties it: the beat stays in sight
    off = Score(
        parts=[Part("Melody", notes=notes((65, 0, 0.25), (62, 0.25, 1.75), (60, 2, 2)))], keys=[Key(0.0, 0, "major")]
    )
    _, text = round_trip(off, tmp_path / "off.abc")
    assert body(text)[0].startswith("FD6-D C8")


def test_a_note_after_a_key_change_inside_a_bar_shows_its_accidental(tmp_path):
    """C natural after K:D in the middle of a bar that had a C natural before it (a reviewer's
    case: written `c`, it read back as C sharp)."""
    melody = notes((67, 0, 4), (72, 4, 1), (71, 5, 1), (72, 6, 1), (74, 7, 1), (73, 8, 4))
    score = Score(parts=[Part("Melody", notes=melody)], keys=[Key(0.0, 7, "major"), Key(6.0, 2, "major")])
    path = tmp_path / "keys.abc"
    write_abc(score, path)
    (back,) = read_scores(path)
    assert note_tuples(back.parts[0]) == note_tuples(score.parts[0]) and "=c" in path.read_text()


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


def test_a_compound_meter_marks_its_tempo_in_dotted_quarters(tmp_path):
    score = Score(
        parts=[Part("", notes=notes((67, 0, 1.5), (71, 1.5, 1.5), (74, 3, 3), (72, 6, 1.5), (71, 7.5, 1.5)))],
        meters=[Meter(0.0, 6, 8)],
        keys=[Key(0.0, 7, "major")],
        tempos=[Tempo(0.0, 120.0), Tempo(6.0, 90.0)],
    )
    back, text = round_trip(score, tmp_path / "jig.abc")
    assert "Q:3/8=80" in text.splitlines() and "Q:3/8=60" in body(text)  # as MusicXML marks it
    assert back.tempos == score.tempos  # still 120 and 90 quarters a minute


def test_cut_time_marks_its_tempo_in_halves(tmp_path):
    """A reel in 2/2 is counted in minims: Q:1/2=100, not Q:1/4=200 (a newcomer's fiddler read the
    quarter mark as twice too slow)."""
    score = Score(
        parts=[Part("", notes=notes((74, 0, 1), (73, 1, 1), (71, 2, 2), (69, 4, 4)))],
        meters=[Meter(0.0, 2, 2)],
        keys=[Key(0.0, 2, "major")],
        tempos=[Tempo(0.0, 200.0), Tempo(4.0, 150.0)],
    )
    back, text = round_trip(score, tmp_path / "reel.abc")
    assert "Q:1/2=100" in text.splitlines() and "Q:1/2=75" in body(text)
    assert back.tempos == score.tempos


def test_several_parts_are_voices_with_their_names(tmp_path):
    soprano = notes((72, 0, 1), (74, 1, 1), (76, 2, 2), (77, 4, 2), (76, 6, 2))
    bass = notes((48, 0, 2), (55, 0, 2), (43, 2, 2), (50, 2, 2), (41, 4, 4), (48, 4, 4))  # chords: [C,G,]
    score = Score(
        parts=[Part("Soprano", notes=soprano), Part("Bass", notes=bass)],
        keys=[Key(0.0, 0, "major"), Key(4.0, 7, "major")],
        chords=[parse_chord("C", 0), parse_chord("G", 2), parse_chord("F", 4)],
        fermatas_beats=[2.0, 6.0],
    )
    back, text = round_trip(score, tmp_path / "two.abc")
    lines = text.splitlines()
    assert 'V:1 name="Soprano"' in lines and 'V:2 name="Bass"' in lines
    voice_2 = "\n".join(lines[lines.index('V:2 name="Bass"') + 1 :])  # the names stand on the voices' own V: lines
    assert "[C,G,]2" in voice_2 and '"' not in voice_2  # chord symbols only in the first voice
    assert "He2" in text and "H[G,,D,]2" in voice_2  # fermatas
    assert back.fermatas_beats == [2.0, 6.0]  # and read back (music21 drops ABC's fermatas)


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
    """Jigs in 6/8 (the first with a pickup and a key change and endings of unequal length, which
    the reader finds no simple repeat in; the second with three repeats, written with repeat
    signs and endings) and a waltz in 3/4 with triplets, with their chord symbols."""
    score = nottingham_tune(tmp_path, name, index)
    assert score.chords and score.parts[0].notes
    round_trip(score, tmp_path / "tune.abc")


# ---------------------------------------------------------------------------------------------
# repeats: music played twice (Score.repeats, the notes as played), written once between repeat
# signs, with first and second endings; cadenza's reader unfolds them again


def passes(first, second, at: float) -> list[Note]:
    """Notes as played: (pitch, start, length) of a first pass, then of a second `at` beats later."""
    return notes(*first) + notes(*((p, at + s, d) for p, s, d in second))


def folded_round_trip(score: Score, path: Path) -> tuple[Score, str]:
    """round_trip (notes as played, meters, keys, chords, repeats), and the section labels."""
    back, text = round_trip(score, path)
    assert back.sections == score.sections
    return back, text


TUNE = [(67, 0, 1), (69, 1, 1), (71, 2, 2), (72, 4, 2), (71, 6, 2), (69, 8, 3), (67, 11, 1), (66, 12, 4)]  # 4 bars


def repeated(ending: bool = False, **fields) -> Score:
    """4/4 in G: four bars played twice (the second time ending on G instead of F# when
    `ending`, a one-bar second ending), then a closing bar."""
    second = TUNE[:-1] + [(67, 12, 4)] if ending else TUNE
    melody = passes(TUNE, second, 16) + notes((67, 32, 4))
    return Score(
        parts=[Part("", notes=melody)],
        keys=[Key(0.0, 7, "major")],
        repeats=[Repeat(0.0, 16.0, 4.0 if ending else 0.0)],
        **fields,
    )


def test_a_repeat_is_written_once_between_repeat_signs(tmp_path):
    score = repeated()
    back, text = folded_round_trip(score, tmp_path / "repeat.abc")
    assert body(text) == ["|: G A B2 | c2 B2 | A3 G | F4 :|", "G4 |]"]  # 5 bars written of the 9 played
    assert back.end_beats == 36.0 and back.repeats == [Repeat(0.0, 16.0)]
    assert len(back.parts[0].notes) == 2 * len(TUNE) + 1


def test_a_repeat_with_first_and_second_endings(tmp_path):
    score = repeated(ending=True)
    back, text = folded_round_trip(score, tmp_path / "endings.abc")
    assert body(text) == ["|: G A B2 | c2 B2 | A3 G |[1 F4 :|", "[2 G4 || G4 |]"]
    assert back.repeats == [Repeat(0.0, 16.0, 4.0)]
    played = note_tuples(back.parts[0])
    assert (66, 12.0, 4.0) in played and (67, 28.0, 4.0) in played and (66, 28.0, 4.0) not in played


def test_two_endings_that_came_out_alike_are_written_as_a_plain_repeat():
    """A plan's second ending is written afresh and may come out as its first: `[1 F4 :|[2 F4`
    reads one bar twice. With a fermata only on the second time's last note, the two passes
    differ, and the endings stay."""
    from cadenza.io.musicxml import musicxml_text

    alike = replace(repeated(), repeats=[Repeat(0.0, 16.0, 4.0)])
    assert body(abc_text(alike)) == ["|: G A B2 | c2 B2 | A3 G | F4 :|", "G4 |]"]
    assert "<ending" not in musicxml_text(alike)
    held = replace(alike, fermatas_beats=[28.0])
    assert "[1" in abc_text(held) and "<ending" in musicxml_text(held)


def test_chord_symbols_inside_a_repeat_are_written_once_and_read_in_both_passes(tmp_path):
    """Chords in both passes (one starting inside a held note, which is split and tied), the first
    and second endings under chords of their own."""
    chords = [("G", 0), ("C", 4), ("Bm7b5", 9), ("D7", 12)]
    second = [("G", 16), ("C", 20), ("Bm7b5", 25), ("G", 28)]
    score = repeated(ending=True, chords=[parse_chord(c, t) for c, t in chords + second + [("G", 32)]])
    back, text = folded_round_trip(score, tmp_path / "chords.abc")
    assert body(text) == ['|: "G"G A B2 | "C"c2 B2 | A- "Bm7b5"A2 G |[1 "D7"F4 :|', '[2 "G"G4 || "G"G4 |]']
    assert len(back.chords) == 9


def jig() -> Score:
    """A jig in 6/8 as folk tunes are written, its strains played A A B B: each with a pickup,
    the last bar of each pass as much short of a bar (so the passes are whole bars long and
    start after beat 0, the pickup's bar's beat 1), with chords and the section labels the
    reader gives a P: field before each strain (on the bar line after the pickup, every time)."""
    a = [(62, 2.5, 0.5), (67, 3, 0.5), (71, 3.5, 0.5), (74, 4, 0.5), (79, 4.5, 0.5), (74, 5, 0.5), (71, 5.5, 0.5)]
    a += [(72, 6, 0.5), (71, 6.5, 0.5), (69, 7, 0.5), (67, 7.5, 1)]
    b = [(74, 2.5, 0.5), (79, 3, 0.5), (78, 3.5, 0.5), (76, 4, 0.5), (74, 4.5, 0.5), (72, 5, 0.5), (71, 5.5, 0.5)]
    b += [(72, 6, 0.5), (71, 6.5, 0.5), (69, 7, 0.5), (67, 7.5, 1)]
    melody = passes(a, a, 6) + passes([(p, s + 12, d) for p, s, d in b], b, 18)
    chords = [(name, at + k) for k in (0, 6, 12, 18) for name, at in (("G", 3), ("D7", 6), ("G", 7.5))]
    return Score(
        parts=[Part("", notes=melody)],
        meters=[Meter(0.0, 6, 8)],
        keys=[Key(0.0, 7, "major")],
        chords=[parse_chord(c, t) for c, t in chords],
        repeats=[Repeat(2.5, 8.5), Repeat(14.5, 20.5)],
        sections=[Section(0.0, "A"), Section(9.0, "A"), Section(15.0, "B"), Section(21.0, "B")],
    )


def test_a_pickup_tunes_repeats_begin_with_their_pickups(tmp_path):
    """A A B B: each strain's repeat begins with its pickup (the first at the tune's start) and
    ends as far into its last bar; its section label stands before the repeat sign."""
    score = jig()
    back, text = folded_round_trip(score, tmp_path / "jig.abc")
    assert body(text) == [
        "P:A",
        '|: D | "G"GBd gdB | "D7"cBA "G"G2 :|',
        "P:B",
        '|: d | "G"gfe dcB | "D7"cBA "G"G2 :|',
    ]
    assert back.repeats == [Repeat(2.5, 8.5), Repeat(14.5, 20.5)] and back.end_beats == 26.5


def test_a_pickup_tunes_repeat_with_first_and_second_endings(tmp_path):
    """The endings are the short last bar of each pass (as long as each other); the music after
    the second pass goes on from inside its bar: a pickup into the next strain, written in the
    second ending's bar, as tune books print it (a second ending runs to its bar's end)."""
    a = [(62, 2.5, 0.5), (67, 3, 0.5), (71, 3.5, 0.5), (74, 4, 0.5), (79, 4.5, 0.5), (74, 5, 0.5), (71, 5.5, 0.5)]
    first = [(72, 6, 0.5), (71, 6.5, 0.5), (69, 7, 0.5), (67, 7.5, 1)]
    second = [(72, 12, 0.5), (74, 12.5, 0.5), (72, 13, 0.5), (71, 13.5, 1)]
    melody = passes(a + first, a, 6) + notes(*second, (74, 14.5, 0.5), (79, 15, 1.5), (78, 16.5, 1.5))
    score = Score(
        parts=[Part("", notes=melody)],
        meters=[Meter(0.0, 6, 8)],
        keys=[Key(0.0, 7, "major")],
        chords=[parse_chord(c, t) for c, t in (("G", 3), ("C", 6), ("G", 9), ("D7", 12), ("G", 15))],
        repeats=[Repeat(2.5, 8.5, 2.5)],
        sections=[Section(0.0, "A"), Section(9.0, "A"), Section(15.0, "B")],
    )
    _, text = folded_round_trip(score, tmp_path / "endings.abc")
    assert body(text) == ["P:A", '|: D | "G"GBd gdB |[1 "C"cBA G2 :|[2 "D7"cdc B2d ||', "P:B", '| "G"g3 f3 |]']


def test_a_second_ending_a_pickup_longer_keeps_its_endings_as_musicxml_does(tmp_path):
    """`|1 G3 G2:|2 G3 G2 c|`: the two passes are alike for the first's whole length, so a plain
    repeat holds the notes too, but only cut where the second pass ends, before the c. The ABC
    writer had written it so (`G3 G2 :| c |`), the MusicXML writer with its endings: both now
    write the endings, as the tune book has them."""
    from cadenza.io.abc import abc_text

    source = tmp_path / "seven.abc"
    source.write_text(
        "X:1\nT:Seven\nM:6/8\nL:1/8\nK:G\n|:d|ded cBA|BAG AFD|ded cBA|1 G3 G2:|2 G3 G2 c||\n"
        "|:BAB cBA|BAG AFD|c3 BAG|1 G3 G2 c:|2 G3 G3|]\n"
    )
    (tune,) = read_scores(source)
    assert tune.repeats[0] == Repeat(2.5, 14.5, 2.5)
    assert "[1 G3 G2 :|[2 G3 G2c |" in abc_text(tune)
    back, _ = folded_round_trip(tune, tmp_path / "back.abc")
    assert back.repeats == tune.repeats
    # where the next strain's repeat opens at that pickup, the bar is cut there all the same: both
    # writers then write the plain repeat, `:: d`
    source.write_text(
        "X:1\nT:ev\nM:6/8\nL:1/8\nK:G\n|:D|E2D G2A|B2c d2B|1 G3 G2:|2 G3 G2||\n|:d|g2b a2g|e2f g2d|1 G3 G2:|2 G3 G3|]\n"
    )
    (tune,) = read_scores(source)
    assert "G3 G2 ::" in abc_text(tune)
    xml = read_score(write_score(tune, tmp_path / "ev.musicxml"))
    (abc,) = read_scores(write_score(tune, tmp_path / "ev.abc"))
    assert xml.repeats == abc.repeats == [Repeat(2.5, 11.5), Repeat(20.5, 29.5, 2.5)]


def test_a_pickup_tunes_last_bar_short_by_the_pickup_is_written_short(tmp_path):
    """`D|GAB c2A|...|D3 D2|]`: the last bar and the pickup make one bar, as tune books write it.
    Both writers had filled the last bar with a rest (`D3 D2z`, a newcomer's finding)."""
    source = tmp_path / "jig.abc"
    source.write_text("X:1\nT:j\nM:6/8\nL:1/8\nK:G\nD|GAB c2A|BAG E2D|GAB AGE|D3 D2|]\n")
    (tune,) = read_scores(source)
    assert tune.end_beats == 14.5
    text = write_score(tune, tmp_path / "out.abc").read_text()
    assert text.rstrip().endswith("\nD3 D2 |]")
    xml = write_score(tune, tmp_path / "out.musicxml").read_text()
    assert "<rest" not in xml.rsplit("<measure", 1)[1]  # the last measure holds D3 D2 only
    for path in (tmp_path / "out.abc", tmp_path / "out.musicxml"):
        back = read_score(path)
        assert back.end_beats == 14.5 and [str(m) for m in back.meters] == ["6/8"], path
        assert [(n.pitch, n.start_beats) for n in back.notes()] == [(n.pitch, n.start_beats) for n in tune.notes()]
    # but a repeat of whole bars played to the end keeps its last bar's rest: it goes back without the pickup
    source.write_text("X:1\nT:j\nM:6/8\nL:1/8\nK:G\nD|:GAB c2A|BAG E2D|GAB AGE|G3 G2z:|\n")
    (tune,) = read_scores(source)
    assert "G3 G2z :|" in write_score(tune, tmp_path / "rep.abc").read_text()
    for path in (tmp_path / "rep.abc", write_score(tune, tmp_path / "rep.musicxml")):
        assert read_score(path).repeats == tune.repeats == [Repeat(3.0, 15.0)], path


def test_a_planned_folk_tune_a_a_b_b_is_written_with_its_repeats(tmp_path):
    """The planner's repeats (A8 A8 B8 B8 in 6/8, each with a two-bar second ending) and section
    labels: 32 bars played, 20 written, read back as generated."""
    from cadenza.compose import composer
    from cadenza.plan.form import parse_form, with_options

    plan = with_options(parse_form("A8 A8 B8 B8"), None, "half authentic half")
    score = composer.load("folk").generate(key="G major", meter="6/8", seed=3, plan=plan)
    assert len(score.repeats) == 2 and all(r.ending_beats == 6.0 for r in score.repeats)
    back, text = folded_round_trip(score, tmp_path / "folk.abc")
    music = " ".join(line for line in body(text) if not line.startswith("P:"))
    assert music.count("|:") == 2 and music.count(":|") == 2 and music.count("[1 ") == music.count("[2 ") == 2
    assert len([bar for bar in re.split(r"[|:]+\]?|\[[12]", music) if bar.strip()]) == 20
    assert [line for line in body(text) if line.startswith("P:")] == ["P:A", "P:B"]  # each written once
    assert back.end_beats == score.end_beats == 96.0


def unfoldable(change: str) -> Score:
    score = repeated(ending=True)
    melody = score.parts[0].notes
    if change == "notes":  # the second pass differs outside its ending
        melody[len(TUNE) + 2] = replace(melody[len(TUNE) + 2], pitch=72)
    elif change == "key":  # the second pass changes key
        score.keys.append(Key(20.0, 2, "major"))
    elif change == "tempo":
        score.tempos.append(Tempo(24.0, 90.0))
    elif change == "meter":
        score.meters.append(Meter(24.0, 2, 4))
    elif change == "tempo to the repeat":  # alike in both passes, but going back to |: would keep 140
        score.tempos = [Tempo(0.0, 100.0), Tempo(8.0, 140.0), Tempo(16.0, 100.0), Tempo(24.0, 140.0)]
    elif change == "section":  # a label in the second pass only
        score.sections = [Section(20.0, "B")]
    elif change == "chord":  # the passes hold other chords
        score.chords = [parse_chord("G", 0), parse_chord("G", 16), parse_chord("C", 20)]
    elif change == "not whole bars":  # a pass that ends inside a bar must be of whole bars
        score.repeats = [Repeat(0.0, 15.0)]
    elif change == "inside the first bar":  # a short first bar would read as a pickup
        score.repeats = [Repeat(2.0, 10.0)]
    elif change == "past the end":
        score.repeats = [Repeat(8.0, 24.0)]
    return score


# what keeps a repeat from being folded (`unfoldable`): in both writers, and in the ABC writer (a short first bar)
UNFOLDABLE = (
    "notes",
    "key",
    "tempo",
    "tempo to the repeat",
    "meter",
    "section",
    "chord",
    "not whole bars",
    "past the end",
)
UNFOLDABLE_IN_ABC = (*UNFOLDABLE, "inside the first bar")


@pytest.mark.parametrize("change", UNFOLDABLE_IN_ABC)
def test_a_repeat_that_cannot_be_folded_is_written_out_as_played(tmp_path, change):
    """As the MusicXML writer does: never lose music or a change, a label or a chord of the
    second pass."""
    score = unfoldable(change)
    text = abc_text(score)
    assert text == abc_text(replace(score, repeats=[]))
    assert ":|" not in text and "|:" not in text and "[2" not in text
    path = tmp_path / "out.abc"
    write_abc(score, path)
    (back,) = read_scores(path)
    assert note_tuples(back.parts[0]) == note_tuples(score.parts[0]) and back.repeats == []


def test_both_writers_fold_the_same_repeats():
    """The same rules (cadenza.io.musicxml.passes_alike): a repeat of whole bars on bar lines
    folds in both, one that would lose a note, a change, a label or a chord in neither."""
    from cadenza.io.musicxml import musicxml_text

    for score in (repeated(), repeated(ending=True)):
        assert ":|" in abc_text(score) and '<repeat direction="backward"/>' in musicxml_text(score)
    for change in UNFOLDABLE:
        assert ":|" not in abc_text(unfoldable(change))
        assert "<repeat" not in musicxml_text(unfoldable(change))


def test_a_strain_with_a_short_bar_in_both_passes_is_written_once(tmp_path):
    """A bar of 2/4 at the same place in both passes of a strain in 3/4 (a miscounted bar, as the
    reader reads it) folds in both writers, and reads back as played."""
    from cadenza.io.musicxml import musicxml_text

    strain = [(65, 0, 1), (69, 1, 1), (72, 2, 1), (77, 3, 1), (76, 4, 1), (74, 5, 1), (72, 6, 1), (70, 7, 1)]
    score = Score(
        parts=[Part("", notes=notes(*strain, *[(p, t + 8, d) for p, t, d in strain], (65, 16, 3)))],
        meters=[Meter(0.0, 3, 4), Meter(3.0, 2, 4), Meter(5.0, 3, 4), Meter(11.0, 2, 4), Meter(13.0, 3, 4)],
        keys=[Key(0.0, 5, "major")],
        repeats=[Repeat(0.0, 8.0)],
    )
    back, text = folded_round_trip(score, tmp_path / "short.abc")
    assert "|:" in text and ":|" in text and back.meters == score.meters
    assert '<repeat direction="backward"/>' in musicxml_text(score)


def test_a_pickup_strain_whose_meter_changes_is_written_out(tmp_path):
    """A strain opening with a pickup is folded inside bars only in one meter: with a bar of 2/4
    in it, its second pass's bar lines fall elsewhere than its first's (a reviewer's case)."""
    one = [(60 + (i * 5) % 12, 5 + i, 1) for i in range(12)]
    melody = [(67, i, 1) for i in range(5)] + one + [(p, t + 12, d) for p, t, d in one] + [(72, 29, 3)]
    score = Score(
        parts=[Part("", notes=notes(*melody))],
        meters=[Meter(0.0, 3, 4), Meter(9.0, 2, 4), Meter(11.0, 3, 4), Meter(21.0, 2, 4), Meter(23.0, 3, 4)],
        keys=[Key(0.0, 7, "major")],
        repeats=[Repeat(5.0, 17.0)],
    )
    path = tmp_path / "pickup.abc"
    write_abc(score, path)
    (back,) = read_scores(path)
    assert ":|" not in path.read_text() and back.meters == score.meters
    assert note_tuples(back.parts[0]) == note_tuples(score.parts[0])


def test_a_repeat_too_short_for_music21_to_see_bars_is_written_out(tmp_path):
    """music21 makes bars of an ABC tune only with two plain bar lines, and plays no repeat
    without bars: a repeated bar and a last one are written as played (3 bars, not `|: c4 :| d4 |]`)."""
    score = Score(parts=[Part("", notes=notes((72, 0, 4), (72, 4, 4), (74, 8, 4)))], repeats=[Repeat(0.0, 4.0)])
    text = abc_text(score)
    assert text == abc_text(replace(score, repeats=[])) and body(text) == ["c4 | c4 | d4 |]"]
    (back,) = read_scores(write_abc(score, tmp_path / "short.abc"))
    assert note_tuples(back.parts[0]) == note_tuples(score.parts[0])


def test_voices_share_the_repeat_signs(tmp_path):
    bass = [(43, 0, 4), (48, 4, 4), (50, 8, 4), (38, 12, 4)]
    score = repeated()
    score.parts.append(Part("Cello", notes=passes(bass, bass, 16) + notes((43, 32, 4))))
    _, text = folded_round_trip(score, tmp_path / "voices.abc")
    assert text.count("|:") == 2 and text.count(":|") == 2
    assert 'V:2 name="Cello"\n|: G,,4 | C,4 | D,4 | D,,4 :|\nG,,4 |]\n' in text


def test_a_note_held_over_the_repeat_sign_is_struck_again(tmp_path):
    """As in MusicXML, a tie into the music a repeat skips is not written: the note is cut at the
    repeat sign (and each pass begins with it struck)."""
    held = [(66, 0, 1), *TUNE[1:-1], (66, 12, 5)]
    melody = passes(held[:-1], held[1:-1], 16) + notes((66, 12, 5), (66, 28, 5), (67, 33, 3))
    score = Score(parts=[Part("", notes=melody)], keys=[Key(0.0, 7, "major")], repeats=[Repeat(0.0, 16.0)])
    path = write_abc(score, tmp_path / "held.abc")
    assert body(path.read_text()) == ["|: F A B2 | c2 B2 | A3 G | F4 :|", "F G3 |]"]
    (back,) = read_scores(path)
    struck = [n for n in melody if n.duration_beats != 5] + notes((66, 12, 4), (66, 16, 1), (66, 28, 4), (66, 32, 1))
    assert note_tuples(back.parts[0]) == note_tuples(Part("", notes=struck)) and back.repeats == score.repeats


def test_a_tune_without_l_gets_the_default_unit_not_the_one_of_the_tune_before(tmp_path):
    # music21 carries one tune's L: on to the next tunes of a book that have none
    book = tmp_path / "book.abc"
    book.write_text("X:1\nT:slow\nM:3/4\nL:1/4\nK:G\nGAB|d3|]\n\nX:2\nT:jig\nM:6/8\nK:D\nDFA dAF|D3 D3|]\n\n"
                    "X:3\nT:reel in 2/4\nM:2/4\nK:D\nDEFG ABcd|d8|]\n")  # fmt: skip
    slow, jig, reel = read_scores(book)
    assert [n.duration_beats for n in slow.parts[0].notes[:3]] == [1.0, 1.0, 1.0]
    assert [n.duration_beats for n in jig.parts[0].notes[:3]] == [0.5, 0.5, 0.5]  # eighths, the 6/8 default
    assert [n.duration_beats for n in reel.parts[0].notes[:4]] == [0.25] * 4  # under 3/4: sixteenths
    assert [(m.numerator, m.denominator) for m in jig.meters] == [(6, 8)]


def test_a_books_own_header_fields_hold_for_its_tunes(tmp_path):
    # fields before the first X: hold for every tune: its L:, else the unit its M: asks for
    for header, expected in (("L:1/4\nM:3/4\n", 1.0), ("M:2/4\n", 0.25), ("", 0.5)):
        book = tmp_path / "book.abc"
        book.write_text(f"{header}\nX:1\nT:t\nK:G\nGAB|d3|]\n")
        [tune] = read_scores(book)
        assert tune.parts[0].notes[0].duration_beats == expected, header
    book.write_text("X:1\nT:t\nM:2+3/8\nK:G\nGAB|dc|]\n")  # 5/8: under 3/4, so sixteenths
    assert read_scores(book)[0].parts[0].notes[0].duration_beats == 0.25


def test_a_passage_in_another_key_is_spelled_in_it_under_the_same_signature():
    """As in MusicXML (tests/test_musicxml_writer.py): under C# minor's signature, a passage in
    G# major writes its leading tone as F double sharp (^^F), not G natural (=G)."""
    from test_musicxml_writer import g_sharp_major_passage

    text = abc_text(g_sharp_major_passage())
    assert "K:C#m" in text.splitlines()
    soprano = text.split("V:1", 1)[1].split("V:2")[0]
    assert re.search(r"\^\^[Ff]", soprano) and not re.search(r"=[Gg]", soprano), soprano


def test_a_figure_keeps_one_spelling_of_a_note_within_its_bar():
    """As in MusicXML (tests/test_musicxml_writer.py): G#3 Fx4 G#4 Fx4 in C# minor, not a G
    natural for the second Fx."""
    from test_musicxml_writer import turning_figure

    text = abc_text(turning_figure())
    assert body(text)[0].startswith("G, ^^F G ^^F | G,"), body(text)


def test_notes_the_one_line_leaves_out_are_counted_in_a_comment(tmp_path):
    """ABC here holds one line a part: a note starting under a higher one still sounding (a
    piano's inner voice) is not written, and the file says so, by part, in a comment line."""
    inner = notes((72, 0, 4), (64, 1, 1), (65, 2, 1), (74, 4, 4))  # E and F under a held C
    score = Score(parts=[Part("Right hand", notes=inner), Part("Left hand", notes=notes((48, 0, 8)))])
    text = abc_text(score)
    assert [line for line in text.splitlines() if line.startswith("%") and "left out" in line] == [
        "% 2 of 4 notes of the Right hand part are left out: this ABC writes one line of notes and chords "
        "a part, and a note under a higher one still sounding is not on it (the MusicXML and MIDI keep every note)"
    ]
    back = read_score(write_abc(score, tmp_path / "inner.abc"))
    assert sorted(n.pitch for n in back.parts[0].notes) == [72, 74]
    assert "left out" not in abc_text(Score(parts=[Part("", notes=notes((60, 0, 1), (62, 1, 1)))]))
