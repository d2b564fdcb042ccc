"""cadenza.io.scores: MusicXML, ABC and kern through music21: round trips, pickups, real corpus files."""

import io
import re
import warnings
import zipfile
from pathlib import Path

import pytest

from cadenza.errors import InputError
from cadenza.io import read_score, read_scores, write_score
from cadenza.io.scores import music21_to_score
from cadenza.score import Key, Meter, Note, Part, Score, pitch_range
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
    assert note_tuples(back.parts[0]) == [(60, 0.0, 1.0), (62, 1.0, round(1 / 12, 6))]


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
    assert c.continue_score(prompt, bars=1, seed=1).composer == "Cadenza (chorales model)"
    prompt.composer = "Trad."
    assert c.continue_score(prompt, bars=1, seed=1).composer == "Trad. / continued by Cadenza (chorales model)"


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
    assert len(lines) == 1 and lines[0].startswith("model "), proc.stderr  # its own line ("model chorales, ..."), only


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
        "<octave> is '1e300' in measure 1 of part 'Pno'; expected a whole number 0 to 9",
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
    "600_bars": (TUNE + "DEFG ABcd|" * 600 + "]\n", "tune X:1 is over 500 bars long, more than cadenza reads"),
    "bar_lines_lost": (
        TUNE + "DEFG ABcd|" + "D16 " * 40 + "|]\n",
        'tune X:1 has a bar 320 beats long; its bar lines are lost (an unclosed " quote?)',
    ),
    "no_note_length": (
        "X:1\nT:Test\nK:D\nDEFG ABcd|]\n",
        "not valid ABC (notes before the tune says their length: no L: or M: field)",
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


def test_an_abc_fermata_shorthand_keeps_its_note(tmp_path):
    """`HF` (H: the fermata shorthand) made music21 drop the F, and every later note moved up."""
    from cadenza.io import read_score

    (tmp_path / "hymn.abc").write_text("X:1\nT:hymn\nM:4/4\nL:1/4\nK:F\nC|F G A F|G E HF C|D E F A|G2 HF|]\n")
    notes = read_score(tmp_path / "hymn.abc").parts[0].notes
    assert [n.pitch for n in notes] == [60, 65, 67, 69, 65, 67, 64, 65, 60, 62, 64, 65, 69, 67, 65]
