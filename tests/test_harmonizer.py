"""cadenza.compose.harmonizer: harmonizing a melody through the Python API, with a tiny orderless
model really trained (conftest.tiny_harmonizer): rules, voice counts, phrase ends."""

import pytest

from cadenza.errors import OptionError
from cadenza.plan.rules import Rules
from cadenza.theory import scale
from conftest import melody

pytestmark = pytest.mark.slow  # the trained tiny_harmonizer, and Gibbs sampling on it


def _hymn(pitches, lengths, fermatas, start=0.0, key=None):
    """A one-part melody in 4/4: `pitches` one after another, each `lengths` beats long (from
    `start`), with fermatas on the notes starting at `fermatas` and, if given, a key signature."""
    from cadenza.score import Meter, Note, Part, Score

    notes, t = [], start
    for p, d in zip(pitches, lengths):
        notes.append(Note(p, t, float(d)))
        t += d
    return Score(
        parts=[Part("Melody", 0, False, notes)],
        meters=[Meter(0.0, 4, 4)],
        keys=[key] if key else [],
        fermatas_beats=list(fermatas),
    )


def test_harmonize_obeys_rules_and_voice_count(tiny_harmonizer):
    from cadenza.compose import harmonizer as assistant
    from cadenza.plan.rules import FixedNote

    h = assistant.load(str(tiny_harmonizer))
    rules = Rules(scale=None, ranges={3: (43, 50)}, fixed=[FixedNote(2, 1, 2, 57, 2.0)])
    [r] = h.harmonize(melody(), seed=1, iterations=4, rules=rules)
    bass, tenor = r.score.parts[3].notes, r.score.parts[2].notes
    assert all(43 <= n.pitch <= 50 for n in bass)
    assert any(n.pitch == 57 and n.start_beats <= 4.0 and n.end_beats >= 6.0 for n in tenor)
    assert r.score.composer == f"Harmonized by Cadenza ({h.name} model)"  # no composer: not the title
    credited = melody()
    credited.composer = "Robert Burns"
    [named] = h.harmonize(credited, voices=2, seed=1, iterations=1)
    assert named.score.composer == f"Melody: Robert Burns; harmonized by Cadenza ({h.name} model)"
    [two] = h.harmonize(melody(), voices=2, seed=1, iterations=4)
    assert [p.name for p in two.score.parts] == ["Soprano", "Bass"]
    with pytest.raises(OptionError, match="leaves out"):
        h.harmonize(melody(), voices=2, rules=rules)
    with pytest.raises(OptionError, match="only 4 quarter-note beats"):
        h.harmonize(melody(), rules=Rules(fixed=[FixedNote(2, 5, 2, 57)]))
    from cadenza.score import parse_key

    [c] = h.harmonize(melody(), seed=2, iterations=4, rules=Rules(scale=parse_key("E major")))
    assert all(n.pitch % 12 in scale(parse_key("E major")) for p in c.score.parts for n in p.notes)


def test_fermatas_mark_the_phrase_ends(tiny_harmonizer, chorale):
    from cadenza.compose import harmonizer as assistant

    assert chorale.fermatas_beats  # read from the MusicXML
    h = assistant.load(str(tiny_harmonizer))
    [r] = h.harmonize(chorale, track=1, seed=0, iterations=2)
    last = max(n.start_beats for n in chorale.parts[0].notes)
    assert r.info["phrase_ends_beats"] == [b for b in chorale.fermatas_beats if b < last] + [last]


def test_the_final_cadence_is_v_i_and_every_voice_ends_with_the_melody():
    """The shipped harmonizer on Bach's melody (ending B-A in A minor): before, the bass could leave
    the tonic under the final note and the lower voices sang on after the melody had ended."""
    from cadenza import hub
    from cadenza.io import read_score

    h = hub.load("harmonizer", expect="orderless")
    melody_score = read_score("examples/melody-roland-und-godelinde.musicxml")
    for r in h.harmonize(melody_score, seed=1, n=3):
        score, key = r.score, r.score.key
        last = score.parts[0].notes[-1]
        bass = score.parts[-1].notes
        [before] = [n for n in bass if n.start_beats < last.start_beats <= n.end_beats + 1e-6]
        assert before.pitch % 12 == (key.tonic + 7) % 12
        assert {n.pitch % 12 for n in bass if n.end_beats > last.start_beats + 1e-6} == {key.tonic}
        assert max(n.end_beats for n in score.notes()) == last.end_beats


def test_infill_counts_bars_after_a_pickup():
    """--bars 1-1 of a piece with a pickup rewrites the first full bar (MuseScore's bar 1), not
    the bar the pickup sits in."""
    from cadenza import hub
    from cadenza.score import Note, Part, Score

    h = hub.load("harmonizer", expect="orderless")
    lines = [(72, 67, 64, 48), (71, 67, 62, 43), (72, 67, 64, 48), (74, 65, 62, 47)]
    parts = []
    for v in range(4):
        notes = [Note(lines[0][v], 3.0, 1.0)] + [Note(lines[b % 4][v], 4.0 + 4 * b, 4.0) for b in range(3)]
        parts.append(Part(f"v{v}", 0, False, notes))
    score = Score(parts=parts)
    [r] = h.infill(score, (1, 1), ["alto"], seed=1)
    alto_before, alto_after = parts[1].notes, r.score.parts[1].notes
    assert [n for n in alto_after if n.start_beats < 4.0] == [n for n in alto_before if n.start_beats < 4.0]
    assert [n for n in alto_after if n.start_beats >= 8.0] == [n for n in alto_before if n.start_beats >= 8.0]
    with pytest.raises(OptionError, match="3 bars after its pickup"):
        h.infill(score, (3, 4), ["alto"], seed=1)


def test_infill_cuts_a_note_held_into_the_region_where_the_region_begins():
    """The alto's G struck in bar 1 and held two beats into bar 2: rewriting the alto in bar 2 had
    kept it whole, so a note fixed on bar 2's downbeat was refused as clashing with it (the studio's
    pinned note). Now its bar-2 part is the region's to write; its bar-1 part stays."""
    from cadenza import hub
    from cadenza.plan.rules import FixedNote
    from cadenza.score import Note, Part, Score

    h = hub.load("harmonizer", expect="orderless")
    lines = [(72, 67, 64, 48), (71, 67, 62, 43), (72, 67, 64, 48), (74, 65, 62, 47)]
    parts = [Part(f"v{v}", 0, False, [Note(lines[b][v], 4.0 * b, 4.0) for b in range(4)]) for v in range(4)]
    parts[1].notes = [Note(64, 0.0, 2.0), Note(67, 2.0, 4.0), Note(67, 6.0, 2.0), *parts[1].notes[2:]]
    score = Score(parts=parts)
    rules = Rules(scale=None, ranges={}, fixed=[FixedNote(2, 1, 1, 62, 1.0)])  # alto D4 on bar 2's downbeat
    [r] = h.infill(score, (2, 2), ["alto"], seed=1, rules=rules)
    alto = [(n.pitch, n.start_beats, n.end_beats) for n in r.score.parts[1].notes]
    assert alto[:2] == [(64, 0.0, 2.0), (67, 2.0, 4.0)], alto  # the G cut at the bar line
    assert any(p == 62 and start == 4.0 for p, start, _ in alto), alto


def test_infills_new_notes_are_as_loud_as_the_top_voice():
    """A newcomer's harmonization at pp then ff: infill wrote its new alto and tenor at 80."""
    from dataclasses import replace

    from cadenza import hub
    from cadenza.score import Dynamic, Note, Part, Score, Section

    h = hub.load("harmonizer", expect="orderless")
    lines = [(72, 67, 64, 48), (71, 67, 62, 43), (72, 67, 64, 48), (74, 65, 62, 47)]
    parts = [Part(f"v{v}", 0, False, [Note(lines[b][v], 4.0 * b, 4.0) for b in range(4)]) for v in range(4)]
    parts[0].notes = [replace(x, velocity=33 if x.start_beats < 8 else 112) for x in parts[0].notes]
    marks = [Dynamic(0.0, "pp"), Dynamic(8.0, "ff")]
    labels = [Section(0.0, "A"), Section(8.0, "B", "ff")]
    parts[0].dynamics = marks
    [r] = h.infill(Score(parts=parts, sections=labels), (2, 3), ["alto", "tenor"], seed=1)
    assert r.score.parts[0].dynamics == marks and r.score.sections == labels  # the rest of the piece as it was
    for part in r.score.parts[1:3]:
        new = [n for n in part.notes if 4.0 <= n.start_beats < 12.0]
        assert new and all(n.velocity == (33 if n.start_beats < 8 else 112) for n in new), part.name


def test_infill_keeps_what_a_rewritten_note_sounded_past_the_region():
    """The alto's note struck in bar 2 and held into bar 3: rewriting bar 2 keeps its bar-3 part
    (struck again on bar 3's downbeat), so bar 3 sounds as it did (a studio user saw a rest)."""
    from cadenza import hub
    from cadenza.score import Note, Part, Score

    h = hub.load("harmonizer", expect="orderless")
    lines = [(72, 67, 64, 48), (71, 67, 62, 43), (72, 67, 64, 48), (74, 65, 62, 47)]
    parts = [Part(f"v{v}", 0, False, [Note(lines[b][v], 4.0 * b, 4.0) for b in range(4)]) for v in range(4)]
    parts[1].notes = [Note(67, 0.0, 4.0), Note(67, 4.0, 6.0), Note(69, 10.0, 2.0), Note(65, 12.0, 4.0)]  # G held on
    score = Score(parts=parts)
    for r in h.infill(score, (2, 2), ["alto"], seed=1, n=2):
        after = [(n.pitch, n.start_beats, n.end_beats) for n in r.score.parts[1].notes if n.end_beats > 8.0]
        assert after[:2] == [(67, 8.0, 10.0), (69, 10.0, 12.0)], after
        assert all(n.end_beats <= 8.0 for n in r.score.parts[1].notes if 4.0 <= n.start_beats < 8.0)


def test_a_phrase_that_closes_on_the_tonic_is_reached_from_the_dominant_and_fermatas_are_kept():
    """A hymn in F with a fermata on F in bar 2: the chord before it was iii7 over A, not V; and
    the harmonization's MusicXML lost the melody's fermatas."""
    from cadenza import hub

    pitches = [60, 65, 67, 69, 65, 67, 64, 65, 60, 62, 64, 65, 69, 67, 65]
    lengths = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2]
    melody = _hymn(pitches, lengths, [10.0, 18.0], start=3.0)
    h = hub.load("harmonizer", expect="orderless")
    for r in h.harmonize(melody, seed=1, n=2):
        assert r.score.fermatas_beats == [10.0, 18.0]
        bass = r.score.parts[-1].notes
        [under] = [n for n in bass if n.start_beats <= 9.0 < n.end_beats]  # under the E before the F
        assert under.pitch % 12 == 0  # C: the dominant of F


def test_a_melody_that_starts_on_the_tonic_triad_opens_on_the_tonic_chord(tiny_harmonizer):
    """Bach opens 84% of the chorales whose melody starts on a note of the tonic triad on the
    tonic over its root; the harmonizer had opened 21 of the 66 such test sopranos so, and a
    D mixolydian reel starting on A on A minor over C. A melody starting off the triad is free."""
    from cadenza.compose import harmonizer as assistant
    from cadenza.score import Key

    pitches = [69, 70, 72, 70, 69, 67, 65, 67, 69, 67, 65]
    lengths = [1, 1, 1, 1, 1, 1, 2, 1, 1, 2, 4]
    h = assistant.load(str(tiny_harmonizer))  # a model that knows little: its first chord is anything
    for r in h.harmonize(_hymn(pitches, lengths, [], key=Key(0.0, 5, "major")), seed=1, n=3, iterations=4):
        first = [p.notes[0] for p in r.score.parts[1:]]
        assert all(n.start_beats == 0.0 for n in first)
        assert {n.pitch % 12 for n in first} <= {5, 9, 0} and first[-1].pitch % 12 == 5, first
    off = _hymn([67, *pitches[1:]], lengths, [], key=Key(0.0, 5, "major"))
    basses = {r.score.parts[-1].notes[0].pitch % 12 for r in h.harmonize(off, seed=1, n=6, iterations=4)}
    assert basses != {5}  # G over anything but F: left to the model


def test_the_lower_voices_sing_as_loud_as_the_melody(tiny_harmonizer):
    """A newcomer's pp tune got its harmony at mf (every new note at 80): the lower voices take
    the velocity of the melody note struck last at or before each of theirs."""
    from dataclasses import replace

    from cadenza.compose import harmonizer as assistant
    from cadenza.score import Dynamic

    pitches = [69, 70, 72, 70, 69, 67, 65, 67, 69, 67, 65]
    lengths = [1, 1, 1, 1, 1, 1, 2, 1, 1, 2, 4]
    melody = _hymn(pitches, lengths, [])
    melody.parts[0].notes = [replace(x, velocity=33 if x.start_beats < 8 else 96) for x in melody.parts[0].notes]
    melody.parts[0].dynamics = [Dynamic(0.0, "pp"), Dynamic(8.0, "f")]
    h = assistant.load(str(tiny_harmonizer))
    [r] = h.harmonize(melody, seed=1, iterations=4)
    for part in r.score.parts[1:]:
        assert part.notes and all(n.velocity == (33 if n.start_beats < 8 else 96) for n in part.notes), part.name
    # and the marks shown under every voice, which sings at the melody's level: a teacher's pp was heard, not seen
    assert all(part.dynamics == melody.parts[0].dynamics for part in r.score.parts)


def test_the_chord_under_a_held_phrase_end_stays_the_cadence_chord(tiny_harmonizer):
    """A phrase closing on F held three beats under a fermata, in F major: before, only the held
    note's first sixteenth had its chord planned, and the voices moved on under it (Bach's test
    chorale 65 got a D major chord under a held C sharp)."""
    from cadenza.compose import harmonizer as assistant

    pitches = [65, 67, 69, 70, 72, 70, 69, 67, 65, 69, 72, 70, 69, 67, 65]
    lengths = [1, 1, 1, 1, 1, 1, 1, 1, 3, 1, 1, 1, 1, 1, 4]
    melody = _hymn(pitches, lengths, [8.0, 16.0])
    h = assistant.load(str(tiny_harmonizer))  # a model that knows little: it moves under held notes
    for r in h.harmonize(melody, seed=1, n=3, iterations=4):
        under = [n for p in r.score.parts[1:] for n in p.notes if n.start_beats < 11.0 and n.end_beats > 8.0]
        assert {n.pitch % 12 for n in under} <= {5, 9, 0}, under  # F major's triad throughout
        assert {n.pitch % 12 for n in r.score.parts[-1].notes if n.start_beats < 11.0 and n.end_beats > 8.0} == {5}


def test_a_phrase_read_in_a_far_key_closes_in_the_melody_s_key():
    """A lone melody can read as a far key at a phrase end (G-sharp minor in A major, in Bach's test
    chorale 23); the planned cadence then forced that key's tonic. Such a phrase closes in the
    melody's key, a closely related key keeps its own."""
    from cadenza.compose.harmonizer import phrase_plan
    from cadenza.score import Key
    from cadenza.theory import related_keys

    a_major = Key(0.0, 9, "major")
    #            A major, then a phrase on G# minor's V-i (D#-G#), then home
    pitches = [69, 71, 73, 74, 76, 75, 78, 75, 68, 71, 73, 71, 69, 68, 69]
    lengths = [1, 1, 1, 1, 1, 1, 1, 1, 4, 1, 1, 1, 1, 1, 4]
    melody = _hymn(pitches, lengths, [8.0, 17.0])
    near = [a_major, *related_keys(a_major)]
    ends = phrase_plan(melody, melody.parts[0].notes, a_major)
    assert [x.start_beats for x, _ in ends] == [8.0, 17.0]
    assert all(any(k.same_key(n) for n in near) for _, k in ends), ends


def test_a_tonic_struck_again_to_the_end_closes_on_its_first_stroke():
    """A jig ending `D3 D2 |]` closed on its weak beat's D, over a B minor downbeat; the close is
    the first of the last pitch's strokes in the last bar, not one struck in the bar before."""
    from cadenza.compose.harmonizer import phrase_plan
    from cadenza.score import Key

    d_major = Key(0.0, 2, "major")
    #          bar 1: D F# A F#, bar 2: E C# D D (the last bar: the tonic twice)
    melody = _hymn([62, 66, 69, 66, 64, 61, 62, 62], [1] * 8, [])
    ends = phrase_plan(melody, melody.parts[0].notes, d_major)
    assert ends[-1][0].start_beats == 6.0 and ends[-1][1].same_key(d_major)
    over_the_bar = _hymn([62, 66, 69, 62, 62], [1, 1, 1, 1, 4], [])  # D | D: the last bar's D closes
    assert phrase_plan(over_the_bar, over_the_bar.parts[0].notes, d_major)[-1][0].start_beats == 4.0
    weak = _hymn([62, 66, 69, 66, 64, 62, 62], [1, 1, 1, 1, 1, 1, 2], [])  # E D D: the D on beat 2 is weaker
    assert phrase_plan(weak, weak.parts[0].notes, d_major)[-1][0].start_beats == 6.0
    held = _hymn([62, 66, 69, 66, 62, 62], [1, 1, 1, 1, 2, 2], [6.0])  # D D under a fermata: the fermata's
    assert phrase_plan(held, held.parts[0].notes, d_major)[-1][0].start_beats == 6.0


def test_a_tune_whose_last_strain_is_in_another_key_closes_in_it():
    """Nottingham's "A and D" has its B strain in D (K:D after K:A): it closed in A major, its
    melody's last D over a G major chord, and its notation lost the K:D."""
    from cadenza.compose.harmonizer import phrase_plan
    from cadenza.score import Key

    a_major, d_major = Key(0.0, 9, "major"), Key(8.0, 2, "major")
    #          A strain: A C# E C# | B G# A (A); B strain: D F# A F# | E C# D (D)
    melody = _hymn([69, 73, 76, 73, 71, 68, 69, 74, 78, 81, 78, 76, 73, 74], [1] * 6 + [2] + [1] * 6 + [2], [])
    melody.keys = [a_major, d_major]
    ends = phrase_plan(melody, melody.parts[0].notes, a_major)
    assert ends[-1][0].start_beats == 14.0 and ends[-1][1].same_key(d_major), ends
    from dataclasses import replace

    from cadenza.compose import harmonizer
    from cadenza.compose.settings import OFF_KEY

    [r] = harmonizer.load("chorales").harmonize(melody, seed=1)
    assert [str(k) for k in r.score.keys] == ["A major", "D major"]  # the signature kept for the notation
    # the lower voices' notes outside D major cost OFF_KEY nats from the change on (the model is told A major)
    off = harmonizer._off_key(melody, a_major, 64, 4, 0)
    assert not off[:32].any() and off[32, 68] == OFF_KEY and off[32, 67] == off[32, 73] == 0.0
    assert harmonizer._off_key(melody, a_major, 64, 4, 2)[32, 70] == OFF_KEY  # a G sharp seen two semitones up
    assert harmonizer._off_key(replace(melody, keys=[a_major]), a_major, 64, 4, 0) is None
    bass = r.score.parts[-1].notes
    assert [n.pitch % 12 for n in bass if n.start_beats <= 14.0 < n.end_beats] == [2]  # on D, root position


def test_under_a_fermata_the_lower_voices_hold_their_chord():
    """Under Bach's fermatas the lower voices strike again under fewer than 4 in 100 (the training
    chorales); the causal harmonizer moved its alto and tenor under a newcomer's held G (E to C and
    B flat to G: a bare fifth, the seventh left by leap)."""
    from cadenza.compose import harmonizer
    from cadenza.score import Key

    pitches = [65, 67, 69, 65, 70, 69, 67, 69, 70, 72, 69, 67, 67, 65, 69, 69, 70, 72, 74, 72, 69]
    pitches += [70, 69, 67, 65, 67, 64, 65]
    lengths = ([1] * 6 + [2]) * 3 + [1] * 6 + [4]  # the fermata notes held 2 beats, the last 4
    fermatas = [6.0, 14.0, 22.0, 30.0]
    melody = _hymn(pitches, lengths, fermatas, key=Key(0.0, 5, "major"))
    notes = melody.parts[0].notes
    assert [n.start_beats for n in notes if n.duration_beats > 1] == fermatas
    h = harmonizer.load("chorales")
    for r in h.harmonize(melody, seed=1, n=3):
        for f in fermatas:
            struck = [
                (p.name, n.pitch, n.start_beats)
                for p in r.score.parts[1:]
                for n in p.notes
                if f < n.start_beats < next(x.end_beats for x in notes if x.start_beats == f)
            ]
            assert not struck, struck


def _sounding(part, at: float) -> list[int]:
    return [n.pitch for n in part.notes if n.start_beats <= at + 1e-9 < n.end_beats]


def test_a_melody_with_chord_symbols_is_harmonized_on_them(tiny_harmonizer):
    """A folk tune's chord symbols are its harmony: the chorale model had sung them on 62% of the
    beats of "Abram Circle" and put the symbol's bass under 38% of them. Now each symbol's bass
    (its root, or the slash bass) sounds where it starts and its tones on each beat it holds, by
    either sampler; --ignore-chords (chords=False) leaves the harmony to the model."""
    from cadenza.chords import ChordSymbol, pitch_classes
    from cadenza.compose import harmonizer as assistant
    from cadenza.score import Key, in_force

    pitches = [65, 67, 69, 70, 72, 70, 69, 67, 65, 64, 62, 64, 65]
    lengths = [1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 4]
    melody = _hymn(pitches, lengths, [], key=Key(0.0, 5, "major"))
    melody.chords = [
        ChordSymbol(0.0, 5, "major"),
        ChordSymbol(2.0, 10, "major", bass=2),  # Bb/D
        ChordSymbol(4.0, 0, "dominant"),
        ChordSymbol(6.0, 2, "minor"),
        ChordSymbol(8.0, 10, "major"),
        ChordSymbol(10.0, 7, "minor-seventh"),
        ChordSymbol(12.0, 0, "dominant"),
        ChordSymbol(14.0, 5, "major"),
    ]
    shipped = assistant.load("chorales")
    tiny = assistant.load(str(tiny_harmonizer))
    results = shipped.harmonize(melody, seed=3, n=2) + tiny.harmonize(melody, seed=3, iterations=4)
    for r in results:
        assert r.score.chords == melody.chords and r.info["chord_symbols_followed"] == 8
        for at in range(18):
            c = in_force(melody.chords, float(at))
            for part in r.score.parts[1:]:
                assert {p % 12 for p in _sounding(part, at)} <= set(pitch_classes(c)) | {c.bass}, (part.name, at)
        for c in melody.chords:
            [bass] = _sounding(r.score.parts[-1], c.start_beats)
            assert bass % 12 == (c.root if c.bass is None else c.bass), c
    free = shipped.harmonize(melody, seed=3, n=2, chords=False)
    assert all(not r.score.chords and r.info["chord_symbols_followed"] == 0 for r in free)


def test_infill_writes_under_the_pieces_chord_symbols():
    """A harmonization made on chord symbols keeps them; infill had rewritten its bars with a
    bass off the symbol and tones outside its chord."""
    from cadenza import hub
    from cadenza.chords import parse_chord, pitch_classes
    from cadenza.compose import harmonizer as assistant
    from cadenza.score import Key, in_force

    melody = _hymn(
        [67, 71, 74, 72, 71, 69, 67, 66, 67, 69, 71, 67],
        [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 4],
        [],
        key=Key(0.0, 7, "major"),
    )
    melody.chords = [parse_chord(t, b) for t, b in (("G", 0), ("C", 3), ("D/F#", 6), ("Em", 8), ("D7", 10), ("G", 12))]
    [chorale] = assistant.load("chorales").harmonize(melody, seed=2)
    h = hub.load("harmonizer", expect="orderless")
    for r in h.infill(chorale.score, (1, 3), ["alto", "tenor", "bass"], seed=3, n=2):
        assert r.score.chords == melody.chords
        for at in range(12):
            c = in_force(melody.chords, float(at))
            tones = set(pitch_classes(c)) | {c.bass}
            for part in r.score.parts[1:]:
                assert {p % 12 for p in _sounding(part, at)} <= tones, (part.name, at)
        for c in melody.chords[:-1]:
            assert {p % 12 for p in _sounding(r.score.parts[-1], c.start_beats)} == {
                c.bass if c.bass is not None else c.root
            }


def _window(part, start, stop):
    """A part's notes from `start` to `stop` beats, cut there, from `start`: what a pass sings."""
    return sorted(
        (round(max(x.start_beats, start) - start, 6), round(min(x.end_beats, stop) - start, 6), x.pitch)
        for x in part.notes
        if x.start_beats < stop - 1e-6 and x.end_beats > start + 1e-6
    )


def test_a_repeat_is_sung_the_same_both_times_and_written_once(tiny_harmonizer, tmp_path):
    """A tune's repeated strain had been harmonized anew the second time through, so the lower
    voices differed and the score was written out in full. Now both samplers sing the first
    pass's harmony again (as Bach writes a repeated Stollen once), the second ending is free,
    and the writers keep the repeat signs; a user's fixed note in one pass leaves the passes
    free, as the user asked."""
    from cadenza.compose import harmonizer as assistant
    from cadenza.io import read_score
    from cadenza.io.abc import write_abc
    from cadenza.io.musicxml import write_musicxml
    from cadenza.plan.rules import FixedNote
    from cadenza.score import Key, Repeat

    strain = [67, 71, 74, 72, 71, 69, 67, 69, 71, 72, 74, 71]  # 3 bars of 4/4, then the first ending
    pitches = strain + [69, 66, 62, 67] + strain + [69, 66, 67, 67] + [74, 72, 71, 69, 67, 66, 67]
    lengths = [1] * 12 + [1, 1, 1, 1] + [1] * 12 + [1, 1, 1, 1] + [1, 1, 1, 1, 1, 1, 2]
    melody = _hymn(pitches, lengths, [], key=Key(0.0, 7, "major"))
    melody.repeats = [Repeat(0.0, 16.0, 4.0)]
    shipped = assistant.load("chorales")
    tiny = assistant.load(str(tiny_harmonizer))
    (tmp_path / "jig.abc").write_text(  # a pickup into each pass, its first chord symbol after it
        'X:1\nT:j\nM:6/8\nL:1/8\nK:G\nD|"G"G2B d2B|"D"A2F D2D|"G"G2B d2B|"D"A2F "G"G2:|\n'
    )
    jig = read_score(tmp_path / "jig.abc")
    results = shipped.harmonize(melody, seed=4) + tiny.harmonize(melody, seed=4, iterations=4)
    for r in results + shipped.harmonize(jig, seed=1) + tiny.harmonize(jig, seed=1, iterations=4):
        assert r.info["repeats_sung_alike"] == 1
        [repeat] = r.score.repeats
        shared = repeat.end_beats - repeat.start_beats - repeat.ending_beats
        for part in r.score.parts:
            first = _window(part, repeat.start_beats, repeat.start_beats + shared)
            assert first == _window(part, repeat.end_beats, repeat.end_beats + shared), part.name
        for write, path in ((write_musicxml, tmp_path / "h.musicxml"), (write_abc, tmp_path / "h.abc")):
            write(r.score, path, force=True)
            back = read_score(path)  # written once, read back as played: the same notes, none struck anew
            assert back.repeats == r.score.repeats, path
            for a, b in zip(back.parts, r.score.parts):
                assert _window(a, 0.0, 99.0) == _window(b, 0.0, 99.0), (path, b.name)
        if r.score.chords:  # the jig: under its last "G", the I of a final cadence to the end
            last = max(x.start_beats for x in jig.parts[0].notes)
            for part in r.score.parts[1:]:
                assert {x.pitch % 12 for x in part.notes if x.end_beats > last + 1e-6} <= {7, 11, 2}, part.name
    rules = Rules(fixed=[FixedNote(voice=3, bar=6, beat=1, pitch=40, beats=1)])  # E2 in the second pass
    [fixed] = shipped.harmonize(melody, seed=4, rules=rules)
    assert fixed.info["repeats_sung_alike"] == 0
    assert _window(fixed.score.parts[3], 20.0, 21.0) == [(0.0, 1.0, 40)]


def test_the_close_under_a_last_symbol_that_is_not_the_tonic_keeps_its_chord(tmp_path):
    """A reviewer's tune in G ending under "D": the closing I's plan had been kept voice by voice
    where it shared a note with the symbol, so the alto and tenor were forced onto D (D D D D).
    Only a symbol of the tonic chord keeps the planned close; under another, its own tones."""
    from cadenza.compose import harmonizer as assistant
    from cadenza.io import read_score

    path = tmp_path / "close.abc"
    path.write_text(
        'X:1\nT:t\nM:4/4\nL:1/8\nK:G\n"G"G2 B2 d2 B2|"C"c2 A2 e2 c2|"G"B2 G2 d2 B2|"D"A4 F4|'
        '"G"G2 B2 d2 g2|"C"e2 c2 "Am"A2 c2|"G"B2 d2 "Em"e2 B2|"D"A4 d4|]\n'
    )
    for r in assistant.load("chorales").harmonize(read_score(path), seed=1, n=2):
        last = {p % 12 for part in r.score.parts for p in _sounding(part, 30.5)}
        assert last <= {2, 6, 9, 0} and len(last) >= 2, last


def test_a_fixed_note_off_the_chord_symbol_wins_and_is_named():
    """A --fix that a chord symbol would not allow had won silently; it still wins (the user's
    note is the user's), and the result names it, so the command can say so."""
    from cadenza.chords import parse_chord
    from cadenza.compose import harmonizer as assistant
    from cadenza.plan.rules import FixedNote
    from cadenza.score import Key

    melody = _hymn([65, 67, 69, 65, 70, 69, 67, 65], [1, 1, 1, 1, 1, 1, 1, 1], [], key=Key(0.0, 5, "major"))
    melody.chords = [parse_chord("F", 0.0), parse_chord("Bb", 4.0), parse_chord("C7", 6.0), parse_chord("F", 7.0)]
    shipped = assistant.load("chorales")
    rules = Rules(fixed=[FixedNote(voice=3, bar=1, beat=1, pitch=40), FixedNote(voice=3, bar=2, beat=1, pitch=46)])
    [r] = shipped.harmonize(melody, seed=1, rules=rules)
    assert r.info["fixed_notes_off_the_chord_symbols"] == ["bass E2 at bar 1 beat 1"]  # Bb2 under Bb is on it
    low = Rules(fixed=[FixedNote(voice=3, bar=1, beat=1, pitch=35)])  # B1: off the chord and below the range
    assert shipped.harmonize(melody, seed=1, rules=low)[0].info["fixed_notes_off_the_chord_symbols"] == [
        "bass B1 at bar 1 beat 1"
    ]
    assert [(x.pitch, x.start_beats) for x in r.score.parts[3].notes][:1] == [(40, 0.0)]


def test_an_inner_phrase_end_on_the_fifth_from_the_sixth_is_a_half_cadence_on_v():
    """A newcomer's air, G2AB c2BA|G2E2 D4|...: its first phrase ends on D, the fifth, reached from
    E, as a half cadence (Bach's chord there is V under 78 of 107 such fermatas in major); the
    harmonizer had left I or V to the model, and it sang G B D G. Now V, with its leading tone."""
    from cadenza.compose import harmonizer as assistant
    from cadenza.plan.cadences import half_close
    from cadenza.score import Key

    g = Key(0.0, 7, "major")
    assert half_close(62, 64, g) and half_close(62, 61, g)  # D from E above, or from C# below
    assert not half_close(62, 60, g) and not half_close(64, 66, g)  # D from C; E is no fifth
    assert half_close(64, 66, Key(0.0, 9, "minor")) and not half_close(64, 65, Key(0.0, 9, "minor"))
    assert not half_close(62, 64, Key(0.0, 7, "major", modal="mixolydian"))  # no F#: no V to close on
    pitches = [67, 69, 71, 72, 71, 69, 67, 64, 62, 67, 69, 71, 72, 76, 74, 71, 69, 67]
    lengths = [1, 0.5, 0.5, 1, 0.5, 0.5, 1, 1, 2, 1, 0.5, 0.5, 1, 0.5, 0.5, 1, 1, 2]
    air = _hymn(pitches, lengths, [], key=g)
    h = assistant.load("chorales")
    for r in h.harmonize(air, seed=1, n=2):
        for at in (6.0, 6.5, 7.0, 7.5):  # held under the whole half note: I after it had undone the close
            under = [n for p in r.score.parts[1:] for n in p.notes if n.start_beats <= at < n.end_beats]
            assert min(under, key=lambda n: n.pitch).pitch % 12 == 2, (at, under)
            assert {n.pitch % 12 for n in under} <= {2, 6, 9, 0} and 6 in {n.pitch % 12 for n in under}, (at, under)


def test_the_final_chord_sounds_over_its_bass():
    """A newcomer's lament in A minor (seed 2) closed with the tenor's E3 under the bass's A3, a
    six-four chord at the close; the bass of the final chord is now the lowest voice."""
    from dataclasses import replace

    from cadenza.compose import harmonizer as assistant
    from cadenza.score import Key

    pitches = [69, 71, 72, 74, 72, 71, 72, 69, 65, 64, 69, 71, 72, 74, 76, 77, 76, 74, 68, 69]
    air = _hymn(pitches, [1] * 9 + [3] + [1] * 9 + [3], [], key=Key(0.0, 9, "minor"))
    air.meters[0] = replace(air.meters[0], numerator=3)
    h = assistant.load("chorales")
    for r in h.harmonize(air, seed=2, n=3):
        end = r.score.parts[0].notes[-1].start_beats
        final = [[n.pitch for n in p.notes if n.start_beats <= end < n.end_beats] for p in r.score.parts]
        assert all(final[-1][0] <= q[0] for q in final[1:-1]), final
