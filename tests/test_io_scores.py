"""cadenza.io.scores: MusicXML, ABC and kern through music21: round trips, pickups, repeats, real corpus files."""

import io
import re
import warnings
import zipfile
from pathlib import Path

import pytest

from cadenza.errors import InputError
from cadenza.io import read_score, read_scores, write_score
from cadenza.io.musicxml import DIVISIONS
from cadenza.io.scores import _irregular_bars, music21_to_score
from cadenza.score import Key, Meter, Note, Part, Repeat, Score, Tempo, bar_starts, pitch_range
from conftest import ROOT, example_score, melody, note_tuples, run_cli


def test_musicxml_round_trip_keeps_pitches_onsets_and_durations(tmp_path):
    score = example_score()
    back = read_score(write_score(score, tmp_path / "example.musicxml"))
    assert [(p.name, p.program, p.is_drum) for p in back.parts] == [(p.name, p.program, p.is_drum) for p in score.parts]
    for original, read in zip(score.parts, back.parts):
        assert note_tuples(read) == note_tuples(original), original.name
    assert back.meters == score.meters
    assert back.keys == score.keys
    assert back.tempos == score.tempos
    assert back.title == "Example"


def test_musicxml_writer_accepts_xml_suffix_and_quantizes(tmp_path):
    score = Score(parts=[Part("p", 0, False, [Note(60, 0.01, 0.98), Note(62, 1.0, 0.001)])])
    back = read_score(write_score(score, tmp_path / "q.xml"))
    assert note_tuples(back.parts[0]) == [(60, 0.0, 1.0), (62, 1.0, round(1 / DIVISIONS, 6))]  # one step


def test_bach_chorale_from_the_corpus():
    import music21

    score = music21_to_score(music21.corpus.parse("bach/bwv66.6"))
    assert [p.name for p in score.parts] == ["Soprano", "Alto", "Tenor", "Bass"]
    low, high = zip(*(pitch_range(Score(parts=[p])) for p in score.parts))
    assert 60 <= low[0] and high[0] <= 81 and 36 <= low[3] and high[3] <= 64
    assert sorted(high, reverse=True) == list(high)  # soprano highest, bass lowest
    assert score.key == Key(0.0, 6, "minor")  # F# minor
    assert score.meter == Meter(0.0, 4, 4)
    # one-beat pickup: it starts on beat 3 so that bar 1 begins at beat 4
    assert min(n.start_beats for n in score.notes()) == 3.0
    assert any(n.start_beats == 4.0 for n in score.parts[0].notes)


ABC_TUNES = """X:1
T:Pickup Tune
M:3/4
L:1/8
Q:1/4=100
K:G
D2|G2 B2 d2|c2 A2 F2|G6|]

X:2
T:Second Tune
M:6/8
L:1/8
K:Dm
A|d2 e f2 g|a3 A3|]
"""


def test_abc_tunes_with_pickups_align_bars_to_beat_zero(tmp_path):
    path = tmp_path / "tunes.abc"
    path.write_text(ABC_TUNES)
    first, second = read_scores(path)
    assert (first.title, second.title) == ("Pickup Tune", "Second Tune")
    assert first.meter == Meter(0.0, 3, 4) and first.key == Key(0.0, 7, "major")
    assert first.tempo_bpm == 100.0
    # the pickup D is the last beat of a virtual bar 0; G begins bar 1 at beat 3
    assert [(n.pitch, n.start_beats) for n in first.parts[0].notes[:2]] == [(62, 2.0), (67, 3.0)]
    assert second.key == Key(0.0, 2, "minor")
    assert [(n.pitch, n.start_beats) for n in second.parts[0].notes[:2]] == [(69, 2.5), (74, 3.0)]
    assert read_score(path).title == "Pickup Tune"


def test_the_composer_is_read_from_the_files_metadata(tmp_path):
    import music21

    assert music21_to_score(music21.corpus.parse("bach/bwv66.6")).composer == ""  # the corpus file names none
    # music21 writes "Music21" as the composer of a file it exports without one: that names nobody
    assert read_score(MELODY).composer == "" and '<creator type="composer">Music21<' in MELODY.read_text()
    path = tmp_path / "tune.abc"
    path.write_text("X:1\nT:Tune\nC:Trad. & Someone\nM:3/4\nL:1/8\nK:G\nG2 B2 d2|G6|]\n")
    assert read_score(path).composer == "Trad. & Someone"
    score = example_score()
    score.composer = "Anna Magdalena Bach"
    assert read_score(write_score(score, tmp_path / "example.musicxml")).composer == "Anna Magdalena Bach"


def test_a_generated_piece_names_cadenza_as_its_composer():
    from cadenza.compose import composer

    c = composer.load("chorales")
    score = c.generate(bars=2, key="C major", meter="4/4", seed=1)
    assert score.composer == "Cadenza (chorales model)"
    assert Score.from_dict(score.to_dict()).composer == score.composer
    prompt = melody(bars=2)
    assert c.continue_score(prompt, bars=1, seed=1).composer == "continued by Cadenza (chorales model)"
    prompt.composer = "Trad."
    assert c.continue_score(prompt, bars=1, seed=1).composer == "Trad. / continued by Cadenza (chorales model)"
    prompt.title = "Greensleeves"
    assert c.continue_score(prompt, bars=1, seed=1).title == "Greensleeves · continued · seed 1"


def test_kern_file_from_the_corpus_reads():
    import music21

    path = min(music21.corpus.getComposer("palestrina"), key=lambda p: Path(p).stat().st_size)
    score = read_score(path)
    assert len(score.parts) == 4 and all(p.notes for p in score.parts)
    assert score.meter.numerator > 0 and score.end_beats > 0


# -- issue 19: music21's chatter stays off the terminal; broken scores are refused in one line -------------

MELODY = ROOT / "examples/melody-roland-und-godelinde.musicxml"  # one part, abbreviated "Pno"
PEDAL_WARNINGS = ROOT.parent / "shared/data/asap/Beethoven/Piano_Sonatas/26-2/xml_score.mxl"


def overfull_melody(tmp_path) -> Path:
    """The example melody with its first note one division too long, as sloppy exporters write:
    music21 warns "measure 1 in part Pianois overfull" (a MusicXMLWarning) while reading it."""
    text = MELODY.read_text()
    m = re.search(r"<duration>(\d+)</duration>", text)
    assert m is not None
    path = tmp_path / "overfull.musicxml"
    path.write_text(text[: m.start(1)] + str(int(m[1]) + 1) + text[m.end(1) :])
    return path


def unreadable_note_kern(tmp_path) -> Path:
    """A real Palestrina piece with one note music21 cannot parse ("8V"): it writes
    "humdrum.spineParser: WARNING: ... Could not parse 8V" straight to stderr, and reads the rest."""
    from music21 import corpus

    source = Path(min(corpus.getComposer("palestrina"), key=lambda p: Path(p).stat().st_size))
    lines = source.read_text().splitlines()
    i = next(i for i, line in enumerate(lines) if line[:1].isdigit())
    lines[i] = "\t".join(["8V", *lines[i].split("\t")[1:]])
    path = tmp_path / "note.krn"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("make", [overfull_melody, unreadable_note_kern])
def test_music21_warnings_stay_off_stderr(tmp_path, capfd, make):
    path = make(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert read_score(path).parts[0].notes
    assert [str(w.message) for w in caught] == []
    assert capfd.readouterr() == ("", "")


@pytest.mark.skipif(not PEDAL_WARNINGS.is_file(), reason="needs ../shared/data/asap")
def test_a_real_score_that_makes_music21_warn_reads_quietly(capfd):
    """A real ASAP score (Beethoven op. 26, 2nd movement): music21 warns "Could not import pedal"."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert read_score(PEDAL_WARNINGS).parts
    assert [str(w.message) for w in caught] == []
    assert capfd.readouterr() == ("", "")


@pytest.mark.skipif(not PEDAL_WARNINGS.is_file(), reason="needs ../shared/data/asap")
def test_continue_on_a_real_score_writes_nothing_to_stderr_but_its_own_words(tmp_path):
    proc = run_cli("continue", str(PEDAL_WARNINGS), "--bars", "1", "--formats", "mid", "--out", str(tmp_path / "c"))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    # its own lines only: the model and seed, and what of the score's notation the continuation does not write
    assert len(lines) == 2 and lines[0].startswith("model "), proc.stderr
    assert lines[1].startswith(f"{PEDAL_WARNINGS}: not written into the continuation's notation: "), proc.stderr


def melody_with(pattern: str, replacement: str) -> str:
    text = MELODY.read_text()
    assert re.search(pattern, text)
    return re.sub(pattern, replacement, text, count=1)


BOMB = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + "]><score-partwise><work><work-title>&j;</work-title></work></score-partwise>"
)

BROKEN_MUSICXML = {
    "mismatched_tag": (
        lambda: MELODY.read_text().replace("</pitch>", "</pitsch>", 1),
        "not well-formed XML (mismatched tag at line 75, column 10)",
    ),
    "octave_1e300": (
        lambda: melody_with(r"<octave>\d+</octave>", "<octave>1e300</octave>"),
        "<octave> is '1e300' in measure 1 of part 'Pno'; expected a whole number -1 to 9",
    ),
    "a_billion_beats": (
        lambda: melody_with(r"<beats>\d+</beats>", "<beats>999999999</beats>"),
        "<beats> is '999999999' in measure 1 of part 'Pno'; expected a whole number of beats (or a sum, 3+2)",
    ),
    "a_note_of_ten_million_beats": (
        lambda: melody_with(r"<duration>\d+</duration>", "<duration>99999999999</duration>"),
        "a duration of 9,920,635 beats in part 'Pno', beyond the 100,000 beats cadenza reads",
    ),
    "entity_bomb": (
        lambda: BOMB,
        "not well-formed XML (entities that expand to far too much text at line 1, column 493)",
    ),
    "html": (
        lambda: "<html><body>Not a score</body></html>",
        "not a MusicXML score (its root element is <html>, not <score-partwise>)",
    ),
    "timewise": (
        lambda: MELODY.read_text().replace("score-partwise", "score-timewise"),
        "a timewise MusicXML score, which cadenza cannot read; export it as partwise",
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN_MUSICXML))
def test_a_broken_musicxml_file_is_refused_in_one_line_naming_it(tmp_path, name):
    """Refused before music21 sees it, in our words: no "invalid literal for int()", no
    MemoryError from a meter of a billion beats, no minutes of expanding entities."""
    make, reason = BROKEN_MUSICXML[name]
    path = tmp_path / f"{name}.musicxml"
    path.write_text(make())
    with pytest.raises(InputError) as error:
        read_score(path)
    assert str(error.value) == f"{path}: {reason}"


def test_a_damaged_mxl_file_is_refused_in_one_line(tmp_path):
    cut = tmp_path / "cut.mxl"
    cut.write_bytes(b"PK\x03\x04" + bytes(60))
    empty = tmp_path / "empty.mxl"
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("readme.txt", "hello")
    empty.write_bytes(archive.getvalue())
    for path, reason in (
        (cut, "a damaged compressed MusicXML (.mxl) file (not a zip archive)"),
        (empty, "a zip archive without a MusicXML score in it"),
    ):
        with pytest.raises(InputError) as error:
            read_score(path)
        assert str(error.value) == f"{path}: {reason}"


TUNE = "X:1\nT:Test\nM:4/4\nL:1/8\nK:D\n"

BROKEN_ABC = {
    "a_note_20000_eighths_long": (
        TUNE + "DEFG ABcd|C20000|]\n",
        "line 6: the number 20000 is beyond any note length or meter",
    ),
    "tune_number_in_words": ("X:one" + TUNE[3:] + "DEFG|]\n", "line 1: the tune number X:one is not a whole number"),
    "meter_zero": (TUNE.replace("M:4/4", "M:0/4") + "DEFG|]\n", "line 3: meter M:0/4 has a zero"),
    "length_zero": (TUNE.replace("L:1/8", "L:1/0") + "DEFG|]\n", "line 4: note length L:1/0 has a zero"),
    "plain_text": ("Dear diary, today I played C D E F G.\n", "not ABC (no header fields such as X:, T:, M:, K:)"),
    "a_meter_in_words": (TUNE + "DEFG|\nM:3/\nABc|]\n", "line 7: M:3/ is no meter (write 6/8, 2+3/8, C, C| or none)"),
    "prose_for_music": (
        TUNE + "DEFG|\nthis is not music\n",
        "line 7: words, not music ('this'); lyrics go on a w: line, notes in quotes",
    ),
    "a_key_abc_has_not": (
        TUNE.replace("K:D", "K:Q#") + "DEFG|]\n",
        "line 5: K:Q# is no key (write K:G, K:Em, K:Ddor, K:F#mix or K:none)",
    ),
    "a_key_change_abc_has_not": (
        TUNE + "DEFG|\nK:Hmaj\nABc|]\n",
        "line 7: K:Hmaj is no key (write K:G, K:Em, K:Ddor, K:F#mix or K:none)",
    ),
    "600_bars": (TUNE + "DEFG ABcd|" * 600 + "]\n", "tune X:1 is over 500 bars long, more than cadenza reads"),
    "an_unclosed_quote": (  # music21 had read the tune as one bar, "CG z6", and said nothing
        TUNE + '"G GABc dBGB|"C"c2ec "G"dBGB|G8|]\n',
        'line 6: a quote (") is not closed: a chord symbol stands in a pair, "G"',
    ),
    "two_stray_quotes": (  # a bar of music between them had vanished, read as text
        TUNE + '"G G A B c | "D7 d2 B2 | "G"G4 |]\n',
        'line 6: a quote holds a bar line ("G G A B c | "): is a quote not closed?',
    ),
    "bar_lines_lost": (
        TUNE + "DEFG ABcd|" + "D16 " * 40 + "|]\n",
        'tune X:1 has a bar 320 beats long; its bar lines are lost (an unclosed " quote?)',
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN_ABC))
def test_a_broken_abc_file_is_refused_in_one_line_naming_it(tmp_path, name):
    text, reason = BROKEN_ABC[name]
    path = tmp_path / f"{name}.abc"
    path.write_text(text)
    with pytest.raises(InputError) as error:
        read_score(path)
    assert str(error.value) == f"{path}: {reason}"


@pytest.mark.parametrize(
    "field", ["K:G", "K:Em", "K:F# minor", "K:Bbmix", "K:Ddor clef=bass", "K:A exp ^c ^f", "K:none", "K:HP", "K:"]
)
def test_keys_as_abc_writes_them_are_read(tmp_path, field):
    path = tmp_path / "key.abc"
    path.write_text(TUNE.replace("K:D", field) + "DEFG|]\n")
    assert len(read_score(path).parts[0].notes) == 4


@pytest.mark.parametrize("field", ["K:G m=d", "K:G middle=d", "K:G clef=bass", "K:G bass"])
def test_a_keys_staff_words_leave_its_mode_alone(tmp_path, field):
    """music21 read `K:G m=d` (the staff's middle line) as G minor, in the header and in the body."""
    path = tmp_path / "key.abc"
    path.write_text(f"X:1\nT:t\nM:4/4\nL:1/4\n{field}\nG,, A,, B,, C,|]\n{field}\nD,4|]\n")
    assert [(k.tonic_name, k.mode) for k in read_score(path).keys] in ([("G", "major")], [("G", "major")] * 2)


def test_a_miscounted_bar_keeps_the_bars_after_it_where_the_file_has_them(tmp_path):
    """A bar of 2 beats in 3/4 is read as a bar of 2/4, so that the bars after it begin on their
    first notes (as MuseScore shows an irregular bar), not across their beats."""
    path = tmp_path / "short.abc"
    path.write_text("X:1\nT:Short\nM:3/4\nL:1/4\nK:G\nG A B | c2 B | A G | D2 D | G3 |]\n")
    score = read_score(path)
    assert score.meters == [Meter(0.0, 3, 4), Meter(6.0, 2, 4), Meter(8.0, 3, 4)]
    assert bar_starts(score)[:5] == [0.0, 3.0, 6.0, 8.0, 11.0]
    # a model is trained on such a piece as before it was read so: in its first meter
    from cadenza.tokenize.voices import VoicesConfig, VoicesTokenizer

    assert len(VoicesTokenizer(VoicesConfig(n_voices=1, steps_per_beat=1)).cells(score)) == 15


def test_miscounted_bars_in_a_row_are_one_change_and_a_bar_of_300_beats_keeps_its_meter(tmp_path):
    path = tmp_path / "shorts.abc"
    path.write_text("X:1\nT:Shorts\nM:3/4\nL:1/4\nK:G\nG A B | c B | A G | F E | D C B, | G,3 |]\n")
    assert read_score(path).meters == [Meter(0.0, 3, 4), Meter(3.0, 2, 4), Meter(9.0, 3, 4)]
    # a bar of 300 beats (a cadenza written as one bar) is no meter: 4/4 stays (MIDI stores at most 255)
    assert _irregular_bars([Meter(0.0, 4, 4)], [0.0, 4.0, 304.0, 308.0, 312.0]) == [Meter(0.0, 4, 4)]


@pytest.mark.parametrize("end", ["A::\n", "A::"])
def test_a_capital_note_before_a_double_repeat_is_kept_with_both_repeats(tmp_path, end):
    """`A::` (as 54 lines of the Nottingham tunes end a strain): music21 alone took `A:` for a
    field, and lost the note with the repeat (or the rest of the tune)."""
    path = tmp_path / "double.abc"
    path.write_text(f"X:1\nT:Double\nM:4/4\nL:1/4\nK:D\nd|AB d2|A2 {end}f|ab af|d3:|\n")
    score = read_score(path)
    assert len(score.parts[0].notes) == 24 and score.meters == [Meter(0.0, 4, 4)]
    assert score.repeats == [Repeat(3.0, 11.0), Repeat(19.0, 27.0)]


def test_a_strains_last_bar_and_the_next_ones_pickup_make_one_bar_and_change_no_meter(tmp_path):
    path = tmp_path / "split.abc"
    path.write_text("X:1\nT:Split\nM:3/4\nL:1/4\nK:G\nD | G A B | c2 | B | A G F | G3 |]\n")
    assert read_score(path).meters == [Meter(0.0, 3, 4)]


def test_decorations_lyrics_and_words_between_tunes_are_not_taken_for_prose_or_notes(tmp_path):
    """`~G` `TB` `uc` `vd` `S` (a roll, a trill, bowings, a segno) are music; a w: line and a
    tune book's words after a tune (past its blank line: ABC's free text, which music21 read as
    notes of that tune) are not notes."""
    path = tmp_path / "book.abc"
    path.write_text(
        TUNE
        + "S ~G3 A TB2 uc2|vd8|]\nw: la la la la la\n\nThis tune was collected in Derby.\n\n"
        + TUNE.replace("X:1", "X:2")
        + "A8|]\n"
    )
    first, second = read_scores(path)
    assert [n.pitch for n in first.parts[0].notes] == [67, 69, 71, 73, 74]
    assert [n.pitch for n in second.parts[0].notes] == [69]


def test_a_latin1_abc_file_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / "cafe.abc"
    path.write_bytes((TUNE.replace("Test", "Café") + "DEFG|]\n").encode("latin-1"))
    with pytest.raises(InputError) as error:
        read_score(path)
    assert str(error.value) == f"{path}: not UTF-8 text (byte 0xE9 at position 9); save it as UTF-8"


def test_abc_is_read_without_music21_beaming(tmp_path, monkeypatch):
    """Beams are notation only, and music21's makeBeams is quadratic in a tune's length (48 s of
    a 50 s read of an 800-bar tune): reading ABC skips it, and puts it back after."""
    from music21 import stream

    calls = []
    monkeypatch.setattr(stream.Stream, "makeBeams", lambda self, *a, **k: calls.append(1))
    spy = stream.Stream.makeBeams
    path = tmp_path / "tune.abc"
    path.write_text(TUNE + "DEFG ABcd|" * 8 + "]\n")
    assert len(read_score(path).parts[0].notes) == 64
    assert calls == [] and stream.Stream.makeBeams is spy


def test_an_overfull_abc_bar_of_sevenths_is_read_without_music21_building_its_meter(tmp_path, monkeypatch):
    """music21 re-bars an overfull bar with a meter for the overflow: 176/7 here, 4 s to build (a
    minute for a damaged tune) and dropped by the reader anyway. It is not built; the notes stay."""
    from music21 import meter

    built = []
    load = meter.TimeSignature.load

    def spy(self, value, *args, **kwargs):
        built.append(value)
        return load(self, value, *args, **kwargs)

    monkeypatch.setattr(meter.TimeSignature, "load", spy)
    path = tmp_path / "sevenths.abc"
    path.write_text(TUNE.replace("L:1/8", "L:1/4") + "dB/2d/2 cA/2c/2|" + "F/7" * 204 + "|G4|]\n")
    score = read_score(path)
    assert len(score.parts[0].notes) == 6 + 204 + 1
    assert [(round(m.start_beats, 6), str(m)) for m in score.meters] == [(0.0, "4/4"), (round(4 + 204 / 7, 6), "4/4")]
    assert "176/7" not in built, built


def test_meters_music21_invents_for_a_tuplet_are_left_out(tmp_path):
    """A stray "(9" makes music21 re-bar an overfull bar as 1/18, which no MIDI file can hold."""
    path = tmp_path / "tuplet.abc"
    path.write_text("X:1\nT:Tuplet\nM:2/4\nL:1/4\nK:G\nd/2d/2 e/2e/2|f/2f/2 f/4g/4a/(94f/4|g2|]\n")
    score = read_score(path)
    assert all(m.denominator in (1, 2, 4, 8, 16, 32, 64, 128) for m in score.meters), score.meters
    assert write_score(score, tmp_path / "tuplet.mid").is_file()


def test_a_key_keeps_its_spelling_when_read(tmp_path):
    from cadenza.io import read_score

    (tmp_path / "cb.abc").write_text("X:1\nT:t\nM:4/4\nL:1/4\nK:Cb\nC D E F|G A B c|\n")
    assert str(read_score(tmp_path / "cb.abc").key) == "Cb major"


def test_abc_meter_key_and_tempo_changes_on_bar_lines_are_read(tmp_path):
    """A field line after a bar line (music21 dropped it) and an inline field (music21 read it as a
    chord of no notes) each change the bars that follow: the 3/4 bars are not read as 4/4."""
    (tmp_path / "changes.abc").write_text(
        "X:1\nT:t\nM:4/4\nL:1/8\nQ:1/4=100\nK:C\nCDEF GABc|c2 B2 A2 G2|\nM:3/4\nK:G\nQ:1/4=80\n"
        "c2 B2 A2|G6|[M:2/4][K:F] B2 A2|F4|]\n"
    )
    score = read_score(tmp_path / "changes.abc")
    assert score.meters == [Meter(0.0, 4, 4), Meter(8.0, 3, 4), Meter(14.0, 2, 4)]
    assert [(k.start_beats, k.tonic_name) for k in score.keys] == [(0.0, "C"), (8.0, "G"), (14.0, "F")]
    assert score.tempos == [Tempo(0.0, 100.0), Tempo(8.0, 80.0)]
    last = sorted(note_tuples(score.parts[0]), key=lambda n: n[1])[-4:]
    assert last == [(67, 11.0, 3.0), (70, 14.0, 1.0), (69, 15.0, 1.0), (65, 16.0, 2.0)]  # B flat, under K:F


def test_abc_voices_named_by_inline_fields_are_read_as_parts(tmp_path):
    """`[V:1] ...` then `[V:2] ...`: two parts sounding together, not one melody after the other."""
    (tmp_path / "duet.abc").write_text("X:1\nT:t\nM:4/4\nL:1/4\nK:C\n[V:1] e d c d|e4|]\n[V:2] C,4|G,,4|]\n")
    score = read_score(tmp_path / "duet.abc")
    assert [note_tuples(p) for p in score.parts] == [
        [(72, 2.0, 1.0), (74, 1.0, 1.0), (74, 3.0, 1.0), (76, 0.0, 1.0), (76, 4.0, 4.0)],
        [(43, 4.0, 4.0), (48, 0.0, 4.0)],
    ]


def pitches_by_part(score) -> list[list[int]]:
    return [[n.pitch for n in sorted(p.notes, key=lambda n: (n.start_beats, n.pitch))] for p in score.parts]


HEAD = "X:1\nT:t\nM:4/4\nL:1/4\n"

# (file text, each tune's pitches by part): what a musician reads in each
ABC_AS_WRITTEN = {
    "no_tune_number": ("T:Snippet\nM:4/4\nL:1/4\nK:G\nG A B c|]\n", [[[67, 69, 71, 72]]]),
    "byte_order_mark": ("\ufeff" + HEAD + "K:G\nG A B c|]\n\nX:2\nT:u\nK:D\nf4|]\n", [[[67, 69, 71, 72]], [[78]]]),
    "blank_line_inside": (HEAD + "K:G\nG A B c|d4|\n\ne f g a|b4|]\n", [[[67, 69, 71, 72, 74, 76, 78, 79, 81, 83]]]),
    "text_block": (
        HEAD + "K:C\nC D E F|\n%%begintext\nThis is sung slowly\n%%endtext\nG4|]\n",
        [[[60, 62, 64, 65, 67]]],
    ),
    "lyrics_going_on": (
        HEAD + "K:C\nC D E F|G4|]\nw:Oh the sum-mer time is \\\ncom-ing\n+: soon\n",
        [[[60, 62, 64, 65, 67]]],
    ),
    "clef_only_key": (
        HEAD + "K:D\nd e f g|[K:clef=bass] D, E, F, G,|\nK:bass\nA,4|]\n",
        [[[74, 76, 78, 79, 50, 52, 54, 55, 57]]],
    ),
    "clef_in_the_header_key": (HEAD + "K:G clef=bass\nG,, A,, B,, C,|D,4|]\n", [[[43, 45, 47, 48, 50]]]),
    "middle_line_in_the_key": (HEAD + "K:G m=d\nG A B c|]\nK:G middle=d\nd4|]\n", [[[67, 69, 71, 72, 74]]]),
    "pipes_key_in_the_header": (HEAD + "K:Hp\nF c G g|]\n", [[[66, 73, 67, 79]]]),
    "mode_and_accidental_spaced": (HEAD + "K:A m =c\nA c e a|]\n", [[[69, 72, 76, 81]]]),
    "key_change_in_one_voice": (
        HEAD + "K:C\nV:1\nc d e f|[K:G] g f e d|]\nV:2\nC D E F|G F E D|]\n",
        [[[72, 74, 76, 77, 79, 78, 76, 74], [60, 62, 64, 65, 67, 65, 64, 62]]],
    ),
    "music_after_a_stray_blank_line": (HEAD + "K:Dm\n\nD2 F G A2|\n\nA G F2\n", [[[62, 65, 67, 69, 69, 67, 65]]]),
    "named_voices": (
        HEAD + 'V:S name="Soprano"\nV:B clef=bass\nK:G\nV:S\nG A B c|d4|]\nV:B\nG,, D, G, C,|B,,4|]\n',
        [[[67, 69, 71, 72, 74], [43, 50, 55, 48, 47]]],
    ),
    "invisible_rests": (HEAD + "K:G\nV:1\nG A B c|d4|]\nV:2\nx4|D4|]\n", [[[67, 69, 71, 72, 74], [62]]]),
    "a_meter_with_its_display": (HEAD.replace("M:4/4", "M:C|=2/2") + "K:G\nG A B c|]\n", [[[67, 69, 71, 72]]]),
    "annotation_with_a_comma": (HEAD + 'K:C\nC D E F|"^Slowly, with feeling" G4|]\n', [[[60, 62, 64, 65, 67]]]),
    "annotation_with_an_escaped_quote": (HEAD + 'K:C\n"^say \\"hi\\""C D E F|G4|]\n', [[[60, 62, 64, 65, 67]]]),
    "annotation_ending_in_a_backslash": (HEAD + 'K:C\n"^path\\\\"C D "G"E F|G4|]\n', [[[60, 62, 64, 65, 67]]]),
    "voices_in_turns": (
        HEAD + "K:G\n[V:1] d2 B2|c4|\n[V:2] G,2 G,2|C4|\n[V:1] d4|]\n[V:2] G,4|]\n",
        [[[74, 71, 72, 74], [55, 55, 60, 55]]],
    ),
}


def test_abc_voices_keep_their_names(tmp_path):
    """music21 reads no V: name; a newcomer's soprano and alto duet came back as two unnamed parts."""
    path = tmp_path / "duets.abc"
    path.write_text(
        HEAD
        + 'V:S name="Soprano"\nV:A nm=Alto\nK:G\nV:S\nd B G B|G4|]\nV:A\nB G D G|D4|]\n\n'
        + HEAD.replace("X:1", "X:2")
        + "V:RH\nV:LH clef=bass\nK:C\nV:RH\nc e g c'|]\nV:LH\nC, G, C G,|]\n\n"
        + HEAD.replace("X:1", "X:3")
        + "K:D\nD E F G|]\n"
    )
    assert [[p.name for p in s.parts] for s in read_scores(path)] == [["Soprano", "Alto"], ["RH", "LH"], [""]]


@pytest.mark.parametrize("name", sorted(ABC_AS_WRITTEN))
def test_abc_is_read_as_a_musician_reads_it(tmp_path, name):
    """What music21 alone got wrong: a tune without X: or behind a byte-order mark (its notes were
    dropped as free text by the first version of the free-text pass), a stray blank line inside a
    tune, text blocks and lyrics going on read as notes, a clef read as a key (K:bass as B major),
    a tune headed in the bass clef read two octaves low, a staff's middle line (K:G m=d) as minor,
    one voice's key carried into the next, voices written in turns sounding all at once, and an
    annotation music21 took for a chord symbol and failed on, one with an escaped quote in it
    (refused as words, not music); voices named (V:S) read as one
    part; invisible rests (x) dropped, so that a voice began too early."""
    text, expected = ABC_AS_WRITTEN[name]
    (tmp_path / "tune.abc").write_text(text, encoding="utf-8")
    assert [pitches_by_part(s) for s in read_scores(tmp_path / "tune.abc")] == expected


@pytest.mark.parametrize("tempo", ["-60", "0.001", "1000000000"])
def test_a_tempo_no_midi_file_can_hold_is_left_out(tmp_path, tempo):
    """Q:1/4=-60 was read as it stood, and writing the piece as MIDI failed with a traceback."""
    (tmp_path / "t.abc").write_text(f"{HEAD}Q:1/4={tempo}\nK:C\nC D E F|\nQ:1/4=90\nG4|]\n")
    score = read_score(tmp_path / "t.abc")
    assert score.tempos == [Tempo(0.0, 120.0), Tempo(4.0, 90.0)]
    assert write_score(score, tmp_path / "t.mid").is_file()


def test_an_additive_abc_meter_is_read_as_its_sum(tmp_path):
    (tmp_path / "odd.abc").write_text("X:1\nT:t\nM:2+2+3/8\nL:1/8\nK:C\nc2 d2 e3|[M:(3+2)/8] c3 d2|]\n")
    assert read_score(tmp_path / "odd.abc").meters == [Meter(0.0, 7, 8), Meter(3.5, 5, 8)]


def test_an_abc_fermata_shorthand_keeps_its_note(tmp_path):
    """`HF` (H: the fermata shorthand) made music21 drop the F, and every later note moved up."""
    from cadenza.io import read_score

    (tmp_path / "hymn.abc").write_text("X:1\nT:hymn\nM:4/4\nL:1/4\nK:F\nC|F G A F|G E HF C|D E F A|G2 HF|]\n")
    notes = read_score(tmp_path / "hymn.abc").parts[0].notes
    assert [n.pitch for n in notes] == [60, 65, 67, 69, 65, 67, 64, 65, 60, 62, 64, 65, 69, 67, 65]


def test_abc_fermatas_are_read(tmp_path):
    """music21 drops ABC's fermatas: a hymn's !fermata! and H marks were lost, so `harmonize` on
    an ABC melody inferred its phrase ends and its performance held no fermata (a newcomer)."""
    from cadenza.io import read_score, read_scores
    from cadenza.io.scores import unsupported_markings

    text = "X:1\nT:hymn\nM:4/4\nL:1/4\nK:G\nG G A B|c B !fermata!A2|B c d B|A A HG2|\n|:d c B !invertedfermata![GB]:|\n"
    (tmp_path / "hymn.abc").write_text(text)
    score = read_score(tmp_path / "hymn.abc")
    assert score.fermatas_beats == [6.0, 14.0, 19.0, 23.0]  # the last one in both passes of the repeat
    assert [n.pitch for n in score.parts[0].notes][:8] == [67, 67, 69, 71, 72, 71, 69, 71]
    assert "fermata" not in unsupported_markings(tmp_path / "hymn.abc")
    crescendo = "X:1\nT:t\nM:4/4\nL:1/4\nK:C\n!crescendo(!C D E !crescendo)!F|G4|]\n"  # a real one stays one
    (tmp_path / "cresc.abc").write_text(crescendo)
    assert read_score(tmp_path / "cresc.abc").fermatas_beats == []
    odd = "X:1\nT:t\nM:4/4\nL:1/4\nK:C\n!crescendo(!!crescendo)!C D +fermata+E F|G4 !fermata!|]\nX:2\nT:u\nK:C\nC4|]\n"
    (tmp_path / "odd.abc").write_text(odd)  # an empty hairpin is no fermata; one on a bar line is no note's
    first, second = read_scores(tmp_path / "odd.abc")
    assert first.fermatas_beats == [2.0] and second.fermatas_beats == []


# -- repeats: a piece is read as played, its repeats unfolded and recorded in Score.repeats -------------

AABB = """X:1
T:Double Jig
M:4/4
L:1/4
Q:1/4=100
K:G
|: G A B c | d e f g :|
|: a b c' d' | e' f' g' a' :|
"""

ENDINGS = """X:1
T:Endings
M:3/4
L:1/4
K:D
D | F A d | f3 |1 e d c :|2 e c A | d3 |]
"""


def played(score: Score, part: int = 0) -> list[tuple[int, float, float]]:
    return [(n.pitch, n.start_beats, n.duration_beats) for n in score.parts[part].notes]


def test_an_abc_tune_with_two_repeated_strains_is_read_as_played(tmp_path):
    path = tmp_path / "aabb.abc"
    path.write_text(AABB)
    score = read_score(path)
    a, b = [67, 69, 71, 72, 74, 76, 78, 79], [81, 83, 84, 86, 88, 90, 91, 93]
    assert played(score) == [(p, float(i), 1.0) for i, p in enumerate(a + a + b + b)]  # twice as long, in order
    assert score.repeats == [Repeat(0.0, 8.0), Repeat(16.0, 24.0)]
    # what the second passes restate (the first bar's key, meter and tempo) changes nothing
    assert (score.keys, score.meters, score.tempos) == ([Key(0.0, 7, "major")], [Meter(0.0, 4, 4)], [Tempo(0.0, 100.0)])


def test_an_abc_strain_without_a_start_repeat_goes_back_to_the_previous_end_repeat(tmp_path):
    """`A :| B :|` is played A A B B (music21 alone plays A A B A A B: back to the first bar)."""
    (tmp_path / "aabb.abc").write_text(AABB)
    (tmp_path / "nostart.abc").write_text(AABB.replace("|:", "|"))
    score = read_score(tmp_path / "nostart.abc")
    assert played(score) == played(read_score(tmp_path / "aabb.abc"))
    assert score.repeats == [Repeat(0.0, 8.0), Repeat(16.0, 24.0)]


def test_first_and_second_endings_each_in_its_pass(tmp_path):
    """A pickup, then |: ... |1 ... :|2 ...: the second pass takes the second ending; the
    Repeat's ending is the last bar of each pass (3 beats; beat 0 is the first full bar)."""
    path = tmp_path / "endings.abc"
    path.write_text(ENDINGS)
    score = read_score(path)
    first = [(62, 2.0, 1.0), (66, 3.0, 1.0), (69, 4.0, 1.0), (74, 5.0, 1.0), (78, 6.0, 3.0)]
    assert played(score) == first + [(76, 9.0, 1.0), (74, 10.0, 1.0), (73, 11.0, 1.0)] + [
        (p, s + 10, d) for p, s, d in first
    ] + [(76, 19.0, 1.0), (73, 20.0, 1.0), (69, 21.0, 1.0), (74, 22.0, 3.0)]
    assert score.repeats == [Repeat(2.0, 12.0, 3.0)]  # from the pickup, as music21 plays it: no start repeat
    assert score.keys == [Key(0.0, 2, "major")]
    # the pickup played again is a bar of one beat, so the second pass's bars begin where its notes do
    assert score.meters == [Meter(0.0, 3, 4), Meter(12.0, 1, 4), Meter(13.0, 3, 4)]


def test_a_tie_into_the_first_ending_goes_on_into_the_second(tmp_path):
    path = tmp_path / "tie.abc"
    path.write_text("X:1\nT:Tie\nM:4/4\nL:1/4\nK:C\n|: C D E F- |1 F4 :|2 F2 G2 |]\n")
    score = read_score(path)
    assert played(score) == [(60, 0, 1), (62, 1, 1), (64, 2, 1), (65, 3, 5)] + [
        (60, 8, 1),
        (62, 9, 1),
        (64, 10, 1),
        (65, 11, 3),
        (67, 14, 2),
    ]
    assert score.repeats == [Repeat(0.0, 8.0, 4.0)]


def repeated_song() -> Score:
    """Two parts in 4/4, played A A' B B and a closing bar: A (bars 1-3 from beat 0) repeated
    with first and second endings of one bar, a melody note tied into each; B (beat 24 on, in
    D major) repeated whole. Fermatas in both passes of each."""
    a = [(67, 0, 1), (69, 1, 1), (71, 2, 2), (72, 4, 2), (74, 6, 3)]
    b = [(76, 24, 1), (74, 25, 1), (72, 26, 2), (71, 28, 4)]
    melody = (
        a
        + [(72, 9, 1), (71, 10, 2)]
        + [(p, s + 12, d) for p, s, d in a]
        + [(69, 21, 1), (67, 22, 2)]
        + b
        + [(p, s + 8, d) for p, s, d in b]
        + [(67, 40, 4)]
    )
    bass = [(43, 0, 4), (50, 4, 4), (43, 8, 4), (43, 12, 4), (50, 16, 4), (55, 20, 4)]
    bass += [(38, 24, 4), (45, 28, 4), (38, 32, 4), (45, 36, 4), (43, 40, 4)]
    return Score(
        parts=[
            Part("Flute", 73, False, [Note(p, s, d) for p, s, d in melody]),
            Part("Cello", 42, False, [Note(p, s, d) for p, s, d in bass]),
        ],
        tempos=[Tempo(0.0, 100.0)],
        keys=[Key(0.0, 7, "major"), Key(24.0, 2, "major")],
        fermatas_beats=[10.0, 22.0, 28.0, 36.0],
        repeats=[Repeat(0.0, 12.0, 4.0), Repeat(24.0, 32.0)],
        title="Song",
    )


def test_cadenzas_own_musicxml_folds_repeats_and_reads_back_as_played(tmp_path):
    """The writer folds (repeat signs, voltas: 7 bars written of 11 played); the reader unfolds:
    the notes, fermatas, keys, meters, tempos and repeats come back as they were."""
    score = repeated_song()
    path = write_score(score, tmp_path / "song.musicxml")
    text = path.read_text()
    assert text.count("<measure ") == 2 * 7 and '<ending number="2" type="start"/>' in text
    back = read_score(path)
    for original, read in zip(score.parts, back.parts, strict=True):
        assert note_tuples(read) == note_tuples(original), original.name
    assert back.repeats == score.repeats
    assert back.fermatas_beats == score.fermatas_beats
    assert (back.keys, back.meters, back.tempos) == (score.keys, score.meters, score.tempos)


def test_a_pass_played_again_begins_under_the_key_meter_and_tempo_its_first_bar_is_written_under():
    """A key, meter and tempo that change inside the repeated bars are set back where the
    second pass begins, though its first bar restates none of them."""
    from music21 import bar, key, meter, note, stream, tempo

    part = stream.Part()
    for number, (pitch, changes) in enumerate([("G4", []), ("D5", [key.Key("D"), meter.TimeSignature("3/4")])], 1):
        m = stream.Measure(number=number)
        for change in changes:
            m.insert(0, change)
        m.append(note.Note(pitch, quarterLength=4 if number == 1 else 3))
        part.append(m)
    first, second = part.getElementsByClass(stream.Measure)
    first.insert(0, key.Key("G"))
    first.insert(0, meter.TimeSignature("4/4"))
    second.insert(1, tempo.MetronomeMark(number=90))
    first.leftBarline = bar.Repeat(direction="start")
    second.rightBarline = bar.Repeat(direction="end")
    score = music21_to_score(stream.Score([part]), unfold=True)
    assert played(score) == [(67, 0, 4), (74, 4, 3), (67, 7, 4), (74, 11, 3)]
    assert [(k.start_beats, str(k)) for k in score.keys] == [
        (0, "G major"),
        (4, "D major"),
        (7, "G major"),
        (11, "D major"),
    ]
    assert [(m.start_beats, str(m)) for m in score.meters] == [(0, "4/4"), (4, "3/4"), (7, "4/4"), (11, "3/4")]
    assert score.tempos == [Tempo(0, 120), Tempo(5, 90), Tempo(7, 120), Tempo(12, 90)]
    assert score.repeats == [Repeat(0.0, 7.0)]
    written = music21_to_score(stream.Score([part]))  # music21_to_score reads as written unless told
    assert played(written) == [(67, 0, 4), (74, 4, 3)] and written.repeats == []


def test_a_repeat_played_three_times_is_unfolded_but_not_recorded(tmp_path):
    path = write_score(repeated_song(), tmp_path / "song.musicxml")
    parts = path.read_text().split("<part id=")
    for i in (1, 2):  # in each part, B's backward repeat (the second) is to be played three times
        before_a, before_b, after = parts[i].split('<repeat direction="backward"/>')
        parts[i] = (
            before_a + '<repeat direction="backward"/>' + before_b + '<repeat direction="backward" times="3"/>' + after
        )
    path.write_text("<part id=".join(parts))
    score = read_score(path)
    assert score.end_beats == 44 + 8  # B three times
    b = [(p, s - 24, d) for p, s, d in played(score) if 24 <= s < 32]
    assert [(p, s, d) for p, s, d in played(score) if s >= 32] == [(p, s + k, d) for k in (32, 40) for p, s, d in b] + [
        (67, 48, 4)
    ]
    assert score.repeats == [Repeat(0.0, 12.0, 4.0)]  # A's, not B's


@pytest.mark.parametrize(
    "damage, why",
    [
        ('<repeat direction="forward"/>', "music21 finds its repeat signs, voltas or D.C./D.S. badly formed"),
        ('<repeat direction="backward" times="1000000"/>', "played in full it might last"),
    ],
)
def test_repeats_that_cannot_be_unfolded_are_read_as_written(tmp_path, capfd, damage, why):
    """Repeat signs music21 cannot pair (four forward repeats, one backward), or a repeat
    played a million times: the bars are read as written, once each, and the caller that asks
    is told why. No traceback, nothing on stderr, no time spent unfolding."""
    from cadenza.io.scores import read_with_music21

    path = write_score(repeated_song(), tmp_path / "song.musicxml")
    text = path.read_text()
    if "forward" in damage:  # two more forward repeats, on bars 2 and 6
        for number in ("2", "6"):
            text = text.replace(
                f'<measure number="{number}">',
                f'<measure number="{number}"><barline location="left">{damage}</barline>',
            )
        text = text.replace('<repeat direction="backward"/>', "", 1)  # and only the second backward one left
    else:
        text = text.replace('<repeat direction="backward"/>', damage)
    path.write_text(text)
    problems: list[str] = []
    score = read_with_music21(path, problems)[0]
    assert score.end_beats == 7 * 4 and score.repeats == []  # the 7 bars written
    assert len(problems) == 1 and problems[0].startswith(f"{path}: Song: its repeats are read as written ({why}")
    assert read_score(path).end_beats == 28
    assert capfd.readouterr() == ("", "")


def test_a_piece_without_repeats_reads_as_before(tmp_path):
    """No repeat signs: unfolding finds nothing to do, and what is read is what music21_to_score
    makes of the music as written."""
    from music21 import converter, corpus

    from cadenza.io.scores import quiet

    chorale = corpus.parse("bach/bwv66.6")
    assert music21_to_score(chorale, unfold=True).to_dict() == music21_to_score(chorale).to_dict()
    with quiet():
        melody_file = converter.parse(MELODY, forceSource=True, storePickle=False)
    assert read_score(MELODY).to_dict() == music21_to_score(melody_file).to_dict()
    path = tmp_path / "tunes.abc"
    path.write_text(ABC_TUNES)
    assert all(not s.repeats for s in read_scores(path))
