"""Harmonizing whatever melody a file gives (the shipped harmonizer): no key signature, any
register, rests, a pickup, any meter; the melody always the top voice. And the key a tune
without a signature is read in (theory.melody_key), for major, minor and modal tunes."""

from functools import cache

import pytest

from cadenza.errors import OptionError
from cadenza.score import Key, Meter, Note, Part, Score, Tempo, name_to_pitch, parse_key, pickup_start
from cadenza.theory import key_signature, melody_key, scale


def tune(names: str, meter: tuple[int, int] = (4, 4), start: float = 0.0, key: Key | None = None) -> Score:
    """A one-part score from 'F4:1 G4:1 r:1 ...' (a note name or r for a rest, then its length in
    quarter notes), starting at beat `start`, without a key signature unless one is given."""
    notes, t = [], start
    for item in names.split():
        name, length = item.split(":")
        if name != "r":
            notes.append(Note(name_to_pitch(name), t, float(length)))
        t += float(length)
    return Score(
        parts=[Part("Melody", 0, False, notes)],
        tempos=[Tempo(0.0, 90.0)],
        meters=[Meter(0.0, *meter)],
        keys=[key] if key else [],
    )


# the user's report: F major between C4 and A4 (mean pitch 63.7), no key signature, and no B flat
# to tell it from C major (the key Krumhansl-Schmuckler alone reads)
F_MAJOR_LOW = "F4:1 G4:1 A4:1 F4:1 C4:1 C4:1 D4:1 E4:1 G4:2 E4:1 C4:1 D4:1 E4:1 C4:1 G4:1 E4:2 D4:2 F4:4"

MELODIES = {
    "F major, C4-A4": tune(F_MAJOR_LOW),
    "low, G3-E4": tune("C4:1 D4:1 E4:1 C4:1 G3:1 A3:1 B3:1 G3:1 C4:1 E4:1 D4:1 B3:1 C4:4"),
    "an octave above the soprano": tune("F5:1 A5:1 C6:1 A5:1 F6:1 E6:1 D6:1 C6:1 A5:1 C6:1 G5:1 E5:1 F5:4"),
    "with rests": tune("G4:1 A4:1 B4:1 r:1 D5:2 B4:1 r:1 C5:1 B4:1 A4:1 r:1 G4:3 r:1"),
    "3/4": tune("D5:2 B4:1 G4:2 B4:1 A4:1 G4:1 F#4:1 G4:3 E4:2 F#4:1 G4:3", (3, 4)),
    "6/8": tune("A4:1 C5:0.5 E5:1 C5:0.5 D5:1 B4:0.5 G4:1.5 A4:1 B4:0.5 C5:1 B4:0.5 A4:3", (6, 8)),
    "5/4": tune("E4:1 G4:1 A4:1 B4:1 G4:1 A4:2 G4:1 E4:1 D4:1 E4:5", (5, 4)),
    "pickup in 3/4": tune("D4:1 G4:2 A4:1 B4:1 A4:1 G4:1 A4:2 B4:1 G4:3", (3, 4), start=2.0),
}


@cache
def harmonizer():
    from cadenza import hub

    return hub.load("harmonizer", expect="orderless")


@cache
def harmonized(name: str) -> tuple:
    return tuple(harmonizer().harmonize(MELODIES[name], seed=3, n=2))


def sounding(part: Part, step: int) -> list[int]:
    """Pitches of the part sounding at sixteenth `step`."""
    beat = step / 4
    return [n.pitch for n in part.notes if n.start_beats <= beat + 1e-6 and beat < n.end_beats - 1e-6]


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MELODIES))
def test_no_voice_ever_sounds_above_the_melody(name):
    melody = MELODIES[name].parts[0].notes
    for r in harmonized(name):
        top, *lower = r.score.parts
        assert top.notes == melody  # the melody unchanged, on top
        steps = round(r.score.end_beats * 4)
        ceiling = melody[0].pitch  # in a rest, the melody's last pitch
        for s in range(steps):
            ceiling = max(sounding(top, s), default=ceiling)
            for part in lower:
                above = [p for p in sounding(part, s) if p > ceiling]
                assert not above, f"{name}: the {part.name.lower()} sings {above} above the melody's {ceiling} at {s}"
        assert all(part.notes for part in lower)
        start = melody[0].start_beats
        assert all(n.start_beats >= start - 1e-6 for part in lower for n in part.notes)  # a pickup stays one
        assert r.score.meters == MELODIES[name].meters


def test_the_pickup_melody_opens_with_a_pickup():
    assert pickup_start(MELODIES["pickup in 3/4"]) == 2.0


@pytest.mark.slow
def test_lower_voices_follow_a_low_f_major_melody_without_a_key():
    """The report: F major in C4-A4, no key signature; the alto sat above the melody (65.7 against
    63.7) and the bass wandered around G#2/A2."""
    for r in harmonized("F major, C4-A4"):
        soprano, alto, tenor, bass = r.score.parts
        assert r.info["key"] == "F major"
        assert r.info["lower_voices_shift_semitones"] < 0

        def mean(part: Part) -> float:
            return sum(n.pitch for n in part.notes) / len(part.notes)

        assert mean(alto) < mean(soprano) - 2
        assert mean(bass) < mean(tenor) < mean(alto)
        in_f = sum(n.duration_beats for n in bass.notes if n.pitch % 12 in scale(Key(0.0, 5, "major")))
        assert in_f >= 0.85 * sum(n.duration_beats for n in bass.notes)
        assert bass.notes[-1].pitch % 12 == 5  # F
        assert min(n.pitch for p in r.score.parts for n in p.notes) >= 36  # no bass below C2


@pytest.mark.slow
def test_register_follows_the_melody_and_the_choir_sings():
    [low] = harmonized("low, G3-E4")[:1]
    [high] = harmonized("an octave above the soprano")[:1]
    assert low.info["lower_voices_shift_semitones"] < 0 < high.info["lower_voices_shift_semitones"] <= 5
    assert high.info["model_view_transposed_semitones"] < 0  # F6 is beyond what the model learnt
    for r in (low, high):
        assert [p.name for p in r.score.parts] == ["Soprano", "Alto", "Tenor", "Bass"]
        assert [p.program for p in r.score.parts] == [52, 52, 52, 52]  # Choir Aahs
    default_top = harmonizer().voice_range(3)[1]
    assert max(n.pitch for n in high.score.parts[3].notes) <= default_top + 5
    with pytest.raises(OptionError, match="melody note C2 at bar 1 beat 1 is outside the soprano range"):
        harmonizer().harmonize(tune("C2:1 D2:1 E2:2"))  # far below anything a soprano sings
    with pytest.raises(OptionError, match="outside the soprano range"):
        harmonizer().harmonize(tune("C8:1 D8:1 E8:2"))


# -- the key of a tune without a signature -----------------------------------------------------


def key_of(names: str, key: Key | None = None) -> str:
    score = tune(names, key=key)
    return str(melody_key(score, score.parts[0].notes))


def test_a_dorian_tune_is_in_the_dorian_mode_of_its_final():
    # D Dorian (F and C natural, B natural): plain Krumhansl-Schmuckler reads G major
    dorian = "D4:1 E4:1 F4:1 G4:1 A4:2 B4:1 A4:1 G4:1 E4:1 C4:1 E4:1 G4:1 A4:1 B4:1 C5:1 B4:1 A4:1 G4:1 E4:1 D4:4"
    assert key_of(dorian) == "D dorian"
    k = parse_key(key_of(dorian))
    assert (k.tonic, k.mode, key_signature(k), sorted(scale(k))) == (2, "minor", 0, [0, 2, 4, 5, 7, 9, 11])
    # under a signature of no sharps or flats, ending on D: the same (not C major, ending on its second)
    assert key_of(dorian, key=Key(0.0, 0, "major")) == "D dorian"
    assert key_of("C5:1 B4:1 A4:1 E4:1 A4:2", key=Key(0.0, 0, "major")) == "A minor"  # ending on the sixth
    # What shall we do with the drunken sailor, D Dorian: plain Krumhansl-Schmuckler reads A minor
    sailor = (
        "A4:1 A4:0.5 A4:0.5 A4:1 A4:0.5 A4:0.5 A4:1 D4:1 F4:1 A4:1 G4:1 G4:0.5 G4:0.5 G4:1 G4:0.5 G4:0.5 G4:1 "
        "C4:1 E4:1 G4:1 A4:1 A4:0.5 A4:0.5 A4:1 A4:0.5 A4:0.5 A4:1 B4:1 C5:1 D5:1 C5:1 A4:1 G4:1 E4:1 D4:2 D4:2"
    )
    assert key_of(sailor) == "D dorian"


def test_a_mixolydian_tune_is_in_the_mixolydian_mode_of_its_final():
    # G Mixolydian (F natural): plain Krumhansl-Schmuckler reads C major
    assert (
        key_of("G4:1 A4:1 B4:1 C5:1 D5:1 E5:1 F5:1 D5:1 C5:1 A4:1 F4:1 A4:1 C5:1 B4:1 A4:1 F4:1 G4:4") == "G mixolydian"
    )


def test_a_minor_tune_with_its_leading_tone_and_a_major_tune_without_a_signature():
    assert key_of("A4:1 B4:1 C5:1 D5:1 E5:1 C5:1 A4:1 G#4:1 A4:1 B4:1 C5:1 B4:1 A4:1 G#4:1 E4:1 A4:3") == "A minor"
    assert key_of(F_MAJOR_LOW) == "F major"
    # a tune ending on its third keeps the best-fitting key: C major, not E minor
    assert key_of("C4:1 E4:1 G4:1 C5:1 B4:1 G4:1 F4:1 D4:1 C4:1 D4:1 F4:1 A4:1 G4:1 D4:1 E4:2") == "C major"
    # a signature that fits the melody is kept
    assert key_of(F_MAJOR_LOW, key=Key(0.0, 2, "minor")) == "D minor"


def test_a_tune_its_file_calls_dorian_is_harmonized_and_written_in_its_mode(tmp_path):
    """K:D Dorian: the lower voices keep to the mode's notes and its leading tone (no B flat
    against the tune's B natural, no G sharp against its G), and the harmonization is written
    under no sharps or flats as D dorian (MusicXML's <mode>, ABC's K:Ddor), which reading it back
    keeps."""
    from cadenza.compose import harmonizer as assistant
    from cadenza.io import read_score, write_score

    dorian = "D4:1 E4:1 F4:1 G4:1 A4:2 B4:1 A4:1 G4:1 E4:1 C4:1 E4:1 G4:1 A4:1 B4:1 C5:1 B4:1 A4:1 G4:1 E4:1 D4:4"
    melody = tune(dorian, key=parse_key("D dorian"))
    [r] = assistant.load("chorales").harmonize(melody, seed=1)
    assert str(r.score.key) == "D dorian"
    assert {n.pitch % 12 for p in r.score.parts[1:] for n in p.notes} <= {0, 1, 2, 4, 5, 7, 9, 11}
    xml = write_score(r.score, tmp_path / "piece.musicxml")
    assert "<fifths>0</fifths><mode>dorian</mode>" in xml.read_text()
    abc = write_score(r.score, tmp_path / "piece.abc")
    assert "K:Ddor" in abc.read_text()
    for path in (xml, abc):
        assert str(read_score(path).key) == "D dorian", path


def test_a_phrase_closing_in_a_modal_tunes_tonic_closes_in_its_mode(tmp_path):
    """A D mixolydian reel's first phrase was recorded as closing in D major, the analyzer's
    reading, which knows no church modes, beside the piece's key, D mixolydian."""
    from cadenza.compose import harmonizer as assistant
    from cadenza.io import read_score

    reel = "X:1\nT:Reel\nM:4/4\nL:1/8\nK:D Mixolydian\nA2FA DAFA|c2Bc A2FA|GABc d2cA|G2E2 E2D2|"
    (tmp_path / "reel.abc").write_text(reel + "A2FA DAFA|c2Bc A2FA|GABc dcAG|ABcA d4|]\n")
    [r] = assistant.load("chorales").harmonize(read_score(tmp_path / "reel.abc"), seed=1)
    assert r.info["phrase_keys"] == ["D mixolydian", "D mixolydian"]
    assert r.info["melody_plan"]["key"] == "D mixolydian"  # the analyzer's reading, named as the tune is
    assert r.info["melody_plan"]["key"] == "D mixolydian"  # the analyzer's reading, named as the tune is


def test_a_chord_symbol_wins_over_a_modes_notes(tmp_path):
    """Under a D mixolydian tune the lower voices keep to the mode's notes, but an "A" symbol
    asks for C sharp: it had sounded as a bare fifth, A and E, the mode keeping its C natural."""
    from cadenza.compose import harmonizer as assistant
    from cadenza.io import read_score

    tune = 'X:1\nT:Mix\nM:4/4\nL:1/4\nK:Dmix\n"D"d A F A|"C"G E C E|"D"D F A d|"A"e e "A7"e2|"G"d B G B|"D"d4|]\n'
    (tmp_path / "mix.abc").write_text(tune)
    [r] = assistant.load("chorales").harmonize(read_score(tmp_path / "mix.abc"), seed=1)
    under_a = {n.pitch % 12 for p in r.score.parts[1:] for n in p.notes if n.start_beats <= 12.0 < n.end_beats}
    assert 1 in under_a and under_a <= {9, 1, 4}, under_a  # A C# E
    assert 1 not in {n.pitch % 12 for p in r.score.parts[1:] for n in p.notes if n.start_beats < 12.0}


def legato(score: Score, over: float) -> Score:
    """The score's melody as a keyboard player holds it: each note `over` beats into the next."""
    part = score.parts[0]
    notes = [Note(n.pitch, n.start_beats, n.duration_beats + over, n.velocity) for n in part.notes]
    return Score(parts=[Part(part.name, 0, False, notes)], tempos=score.tempos, meters=score.meters, keys=score.keys)


def test_a_melody_played_legato_is_harmonized_as_the_line_it_is():
    """A MIDI melody played in on a keyboard holds each key a little past the next; it had been
    refused as 'polyphonic'. Its notes are cut where the next begins."""
    from cadenza.compose.harmonizer import melody_line

    plain = tune(F_MAJOR_LOW)
    line = melody_line(legato(plain, 0.1).parts[0], None, "legato.mid")
    assert line == plain.parts[0].notes[:-1] + [legato(plain, 0.1).parts[0].notes[-1]]


def test_a_grace_note_in_a_melody_played_legato_is_kept_and_not_harmonized():
    """A keyboard player's grace note, held into by the note before, had the melody refused as
    'polyphonic'; and a last note held a sliver past the bar line had left a bar of rests at the
    end. The grace note stays in the melody, the harmony is that of the line without it, and the
    piece ends with its last bar."""
    from cadenza.compose import harmonizer as assistant
    from cadenza.score import played_legato, without_graces

    played = legato(tune(F_MAJOR_LOW), 0.12)
    grace = Note(name_to_pitch("B4"), 2.9, 0.08)  # before the A4 on beat 3
    with_grace = Score(
        parts=[Part("", 0, False, [*played.parts[0].notes, grace])], meters=played.meters, tempos=played.tempos
    )
    assert played_legato(with_grace.parts[0].notes)
    line = assistant.melody_line(with_grace.parts[0], None, "grace.mid")
    assert grace in line and line[2].end_beats == pytest.approx(2.9)  # the A4 before it, cut where it begins
    heard = without_graces(line)
    assert grace not in heard and heard[2].end_beats == pytest.approx(2.98)  # the A4 takes the grace's time back
    assert heard[:2] + heard[3:] == assistant.melody_line(played.parts[0], None, "played.mid")[:2] + line[4:]

    model = assistant.load("chorales")
    [graced] = model.harmonize(with_grace, seed=2, voices=4)
    [plain] = model.harmonize(played, seed=2, voices=4)
    soprano = graced.score.parts[0].notes
    assert (grace.pitch, 2.9) in [(n.pitch, n.start_beats) for n in soprano]
    end = max(n.end_beats for p in graced.score.parts for n in p.notes)
    assert end == 24.0, end  # the last note, played 0.12 beats long, is cut at the last bar line
    for a, b in zip(graced.score.parts[1:], plain.score.parts[1:]):
        assert a.notes == b.notes, a.name


def test_a_grace_note_held_into_its_note_and_a_last_note_of_a_sliver_are_harmonized():
    """A legato player holds a grace note into the note it leads to (0.22 beats, past its start):
    it had been refused as 'polyphonic'. A last note shorter than half a grid step, struck on the
    bar line, had stopped harmonize with an IndexError."""
    from cadenza.compose import harmonizer as assistant

    played = legato(tune(F_MAJOR_LOW), 0.12)
    held = Note(name_to_pitch("G4"), 2.9, 0.22)
    line = assistant.melody_line(Part("", 0, False, [*played.parts[0].notes, held]), None, "grace.mid")
    assert [(n.pitch, n.start_beats) for n in line][2:5] == [(69, 2.0), (67, 2.9), (65, 3.0)]
    over = legato(tune(F_MAJOR_LOW), 0.25)  # its last note held a quarter of a beat over the line
    [r] = assistant.load("chorales").harmonize(over, seed=1)
    assert max(n.end_beats for p in r.score.parts for n in p.notes) == 24.0  # no bar of its own
    early = legato(tune(F_MAJOR_LOW[: -len("F4:4")] + "F4:3.95 G4:0.9"), 0.1)  # struck a little early
    assert assistant._ending_on_the_bar_line(early.parts[0].notes, early)[-1].duration_beats == 1.0
    changing = legato(tune("C5:4 D5:4 E5:3 F5:2.2"), 0.0)
    changing.meters = [Meter(0.0, 4, 4), Meter(8.0, 3, 4)]  # bar lines at 8, 11, 14
    assert assistant._ending_on_the_bar_line(changing.parts[0].notes, changing)[-1].end_beats == 13.2
    sliver = tune(F_MAJOR_LOW + " F4:0.1")
    [r] = assistant.load("chorales").harmonize(sliver, seed=1)
    last = max(r.score.parts[0].notes, key=lambda n: n.start_beats)
    assert last.start_beats == 24.0 and last.duration_beats > 0


def test_a_held_note_under_a_run_or_a_chord_is_still_not_one_melody():
    from cadenza.compose.harmonizer import melody_line

    held = tune("C5:1 D5:1 E5:1 F5:1").parts[0]
    held.notes.append(Note(name_to_pitch("C4"), 0.0, 4.0))
    chord = tune("C5:1 D5:1 E5:1 F5:1").parts[0]
    chord.notes.append(Note(name_to_pitch("A4"), 1.0, 1.0))
    long_overlap = legato(tune("C5:1 D5:1 E5:1 F5:1"), 0.6).parts[0]  # more than half a note: two voices
    for part in (held, chord, long_overlap):
        with pytest.raises(OptionError, match="polyphonic"):
            melody_line(part, None, "two.mid")
