"""Chords for a melody: the chord-beats tokenizer, chord paths (Viterbi and sampling), the two
baselines, the chords family trained for a few steps by the CLI, and `cadenza chords`."""

import json

import numpy as np
import pytest

from cadenza.chords import parse_chord
from cadenza.compose.chord_paths import ChordTransitions, best_path, place_index, sampled_path
from cadenza.data.corpus import tune_split as split_of
from cadenza.evaluate.chord_baselines import ContainsBaseline, HmmBaseline
from cadenza.io import read_score
from cadenza.score import Key, Meter, Note, Part, Score
from cadenza.tokenize.chord_beats import FEATURES, N_FEATURES, NO_CHORD, ChordBeatsTokenizer
from conftest import one_line_error, run_cli

TUNES = """X:{x}
T:Tune {x}
M:{meter}
L:1/8
K:{key}
{body}
"""
# four small tunes in G and D (4/4, 6/8, 3/4), chords in quotes as the Nottingham files write them
BODIES = [
    ("4/4", "G", '"G"GABc "D7"d2A2|"G"B2G2 "C"E2G2|"Am"A2c2 "D7"F2A2|"G"{a}4{b}4|]'),
    ("6/8", "D", '"D"FAd "A7"cBA|"D"d2A "G"B2G|"D"FAF "A7"EFG|"D"{a}3 {b}3|]'),
    ("3/4", "G", '"G"G2 B2 d2|"C"e2 c2 A2|"D7"F2 A2 c2|"G"{a}2 {b}4|]'),
    ("4/4", "G", '"Em"E2G2 B2e2|"Am"c2A2 "B7"^d2B2|"Em"e2B2 "D"A2F2|"Em"{a}4{b}4|]'),
]
ENDINGS = "GABcdef"  # each copy of a tune ends on other notes: a tune book of distinct tunes


def tune_book(path, copies=6):
    text = "\n".join(
        TUNES.format(x=i * len(BODIES) + j + 1, meter=m, key=k, body=b.format(a=ENDINGS[i % 7], b=ENDINGS[i // 7 % 7]))
        for i in range(copies)
        for j, (m, k, b) in enumerate(BODIES)
    )
    path.write_text(text)
    return path


def lead_sheet() -> Score:
    notes = [Note(67, 0, 2), Note(71, 2, 2), Note(74, 4, 2), Note(72, 6, 2), Note(71, 8, 4), Note(67, 12, 4)]
    chords = [parse_chord(t, s) for t, s in (("G", 0), ("C", 4), ("D7", 6), ("Em", 8), ("Am7", 10), ("G", 12))]
    return Score(parts=[Part("melody", notes=notes)], meters=[Meter(0.0, 4, 4)], keys=[Key(0.0, 7, "major")],
                 chords=chords)  # fmt: skip


def test_beats_and_classes_round_trip():
    tok = ChordBeatsTokenizer(("major", "minor", "dominant"))
    sheet = tok.encode(lead_sheet())
    assert len(sheet.starts_beats) == 16 and sheet.features.shape == (16, N_FEATURES) == (16, len(FEATURES))
    decoded = tok.decode(sheet.classes, sheet)
    # Am7 counts as Am (minor-seventh is not among the kinds): everything else comes back as it was
    assert [c.text for c in decoded] == ["G", "C", "D7", "Em", "Am", "G"]
    assert [c.start_beats for c in decoded] == [0, 4, 6, 8, 10, 12]
    # the features are above the tonic: the first beat's G sounds as the tonic (0), B at beat 2 as the third (4)
    assert sheet.features[0, 0] == 1 and sheet.features[2, 4] == 1 and sheet.features[0, 12] == 1
    assert sheet.features[0, FEATURES.index("beat1")] == 1 and sheet.features[1, FEATURES.index("beat2")] == 1
    assert sheet.places[0] == place_index(4, 0)


def test_roots_are_spelled_as_the_key_spells_them():
    tok = ChordBeatsTokenizer(("major", "minor"))
    e_major, e_flat = Key(0.0, 4, "major"), Key(0.0, 3, "major")
    # a class is 1 + root above the tonic * len(kinds) + kind
    assert tok.chord_of(1 + 4 * 2 + 1, e_major, 0.0).text == "G#m"  # iii in E major
    assert tok.chord_of(1 + 5 * 2 + 0, e_flat, 0.0).text == "Ab"  # IV in Eb major
    assert tok.chord_of(NO_CHORD, e_major, 0.0) is None


def test_a_tune_with_no_chords_has_no_classes_and_no_melody_is_refused():
    from cadenza.errors import MusicError

    score = lead_sheet()
    score.chords = []
    assert (ChordBeatsTokenizer().encode(score).classes == -1).all()
    with pytest.raises(MusicError, match="no melody"):
        ChordBeatsTokenizer().encode(Score(parts=[Part("empty")], meters=[Meter(0.0, 4, 4)]))


def test_viterbi_follows_strong_scores_and_keeps_chords_when_changes_are_rare():
    C = 3
    stay = ChordTransitions(np.full(16, 0.1), np.array([[0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]), np.ones(C) / C)
    places = np.zeros(6, dtype=int)
    strong = np.log(np.array([[0.1, 0.8, 0.1]] * 3 + [[0.1, 0.1, 0.8]] * 3))
    assert best_path(strong, places, stay).tolist() == [1, 1, 1, 2, 2, 2]
    blip = np.log(np.array([[0.1, 0.8, 0.1]] * 3 + [[0.1, 0.45, 0.45]] + [[0.1, 0.8, 0.1]] * 2))
    assert best_path(blip, places, stay).tolist() == [1] * 6  # one unsure beat does not make a change
    drawn = [sampled_path(strong, places, stay, np.random.default_rng(s)).tolist() for s in (1, 1, 2)]
    assert drawn[0] == drawn[1]  # the same seed draws the same path


def test_transitions_count_changes_by_place():
    paths = [(np.array([1, 1, 2, 2, 1, 1]), np.array([0, 1, 0, 1, 0, 1]))]
    t = ChordTransitions.count(paths, 3, smoothing=0.0 + 1e-9)
    assert t.change[0] == pytest.approx(1.0) and t.change[1] == pytest.approx(0.0, abs=1e-6)
    assert t.after[1, 2] == pytest.approx(1.0) and t.after[2, 1] == pytest.approx(1.0)
    assert ChordTransitions.from_dict(json.loads(json.dumps(t.to_dict()))).after.shape == (3, 3)


def test_baselines_choose_chords_that_hold_the_melody():
    tok = ChordBeatsTokenizer(("major", "minor", "dominant"))
    sheet = tok.encode(lead_sheet())
    contains = ContainsBaseline(tok, [sheet])
    path = contains.predict(sheet)
    for t, cls in enumerate(path):
        chord = tok.chord_of(int(cls), sheet.keys[t], 0.0)
        sounding = {int(i) for i in np.nonzero(sheet.features[t, :12])[0]}
        from cadenza.chords import pitch_classes

        assert sounding <= {(p - 7) % 12 for p in pitch_classes(chord)}
    hmm = HmmBaseline(tok, [sheet])
    assert len(hmm.predict(sheet)) == len(sheet.classes)


def test_splits_do_not_depend_on_the_folder():
    assert split_of("/a/b/nottingham-abc:jigs.abc#3") == split_of("../shared/data/nottingham-abc:jigs.abc#3")
    ids = [f"x.abc#{i}" for i in range(400)]
    share = {s: sum(split_of(i) == s for i in ids) / 400 for s in ("train", "valid", "test")}
    assert 0.75 < share["train"] < 0.93 and 0.05 < share["test"] < 0.16


@pytest.fixture(scope="module")
def tiny_chords(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tunes")
    tune_book(folder / "book.abc", copies=12)
    out = tmp_path_factory.mktemp("models") / "chords"
    run_cli("train", "--family", "chords", "--data", str(folder), "--out", str(out), "--steps", "6",
            "--eval-every", "3", "--embd", "16", "--layers", "1", "--heads", "2", "--block-size", "32",
            "--batch-size", "4", "--quiet", check=True)  # fmt: skip
    return out, folder / "book.abc"


def test_chords_writes_a_lead_sheet_in_every_format(tiny_chords, tmp_path):
    model, book = tiny_chords
    card = (model / "card.md").read_text()
    assert "GPL" not in card and "user's own data" in card and "no test split" in card
    meta = json.loads((model / "model.json").read_text())
    assert meta["tunes"]["test"] == 0 and meta["tunes"]["train"] + meta["tunes"]["valid"] == 48  # all trained on
    meta = json.loads((model / "model.json").read_text())
    assert meta["tokenizer"]["kind"] == "chords" and "transitions" in meta
    proc = run_cli("chords", str(book), "--model", str(model), "--seed", "3", "--n", "2",
                   "--formats", "mid,musicxml", "--performer", "none",
                   "--out", str(tmp_path / "tune"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "48 pieces in this file; using the first" in proc.stderr
    for i in (1, 2):
        record = json.loads((tmp_path / f"tune-{i}.json").read_text())
        assert record["seed"] == 3 + i - 1 and record["path"] == ("likeliest" if i == 1 else "sampled")
        xml = (tmp_path / f"tune-{i}.musicxml").read_text()
        assert xml.count("<harmony") == len(record["symbols"]) > 0
        back = read_score(tmp_path / f"tune-{i}.musicxml")
        assert [c.start_beats for c in back.chords] == [s for s, _ in record["symbols"]]
    again = run_cli("chords", str(book), "--model", str(model), "--seed", "3", "--n", "2", "--performer", "none",
                    "--formats", "musicxml", "--out", str(tmp_path / "again"))  # fmt: skip
    assert again.returncode == 0, again.stderr
    for i in (1, 2):
        first = json.loads((tmp_path / f"tune-{i}.json").read_text())["symbols"]
        assert json.loads((tmp_path / f"again-{i}.json").read_text())["symbols"] == first  # same seed, same chords


def test_chords_refuses_bad_input_in_one_line(tiny_chords, tmp_path):
    model, book = tiny_chords
    drums = tmp_path / "drums.mid"
    from cadenza.io import write_score

    write_score(Score(parts=[Part("kit", 0, True, [Note(36, 0, 1)])], meters=[Meter(0.0, 4, 4)]), drums)
    one_line_error(run_cli("chords", str(drums), "--model", str(model)), "drums.mid", "only drums")
    one_line_error(
        run_cli("chords", str(book), "--model", str(model), "--track", "3", "--quiet"), "book.abc", "no part 3"
    )
    one_line_error(run_cli("chords", str(book), "--model", str(model), "--n", "0"), "--n")
    one_line_error(run_cli("chords", str(tmp_path / "none.abc"), "--model", str(model)), "none.abc")
    one_line_error(run_cli("chords", str(book), "--model", str(model), "--tune", "49"), "book.abc", "no tune 49", "48")
    second = run_cli("chords", str(book), "--model", str(model), "--tune", "2", "--formats", "musicxml",
                     "--out", str(tmp_path / "second"))  # fmt: skip
    assert second.returncode == 0 and "pieces in this file" not in second.stderr, second.stderr
    assert read_score(tmp_path / "second.musicxml").title == "Tune 2"


def test_chord_symbols_sound_in_audio_as_in_the_midi_chord_track():
    from cadenza.chords import close_voicing
    from cadenza.score import chord_notes, with_chords_sounding

    score = lead_sheet()
    sounding = with_chords_sounding(score)
    assert [p.name for p in sounding.parts] == ["melody", "Chords"] and sounding.chords == score.chords
    notes = chord_notes(score)
    assert sorted({n.start_beats for n in notes}) == [0, 4, 6, 8, 10, 12]
    assert [n.pitch for n in notes if n.start_beats == 6] == list(close_voicing(parse_chord("D7")))
    assert max(n.end_beats for n in notes) == score.end_beats  # the last chord lasts to the end
    score.chords = []
    assert with_chords_sounding(score) is score


def test_a_progression_is_read_bar_by_bar():
    from cadenza.chords import parse_progression
    from cadenza.errors import MusicError

    chords, bars = parse_progression("D | G A7 | % | Em A7\nD", 4.0, 1.0)
    assert bars == 5 and [(c.start_beats, c.text) for c in chords] == [
        (0, "D"), (4, "G"), (6, "A7"), (8, "G"), (10, "A7"), (12, "Em"), (14, "A7"), (16, "D")
    ]  # fmt: skip
    assert [c.start_beats for c in parse_progression("G D7 G", 3.0, 1.0)[0]] == [0, 1, 2]
    assert [c.start_beats for c in parse_progression("G D7", 3.0, 1.0)[0]] == [0, 2]  # beats 1 and 3 of 3/4
    assert [c.start_beats for c in parse_progression("D A7", 3.0, 1.5)[0]] == [0, 1.5]  # each dotted beat of 6/8
    with pytest.raises(MusicError, match="bar 2: unknown chord symbol 'H7'"):
        parse_progression("D | H7", 4.0, 1.0)
    with pytest.raises(MusicError, match="bar 1: 3 chords in a bar of 2 beats"):
        parse_progression("C D E", 3.0, 1.5)
    assert parse_progression("| G A7 || D |", 4.0, 1.0)[1] == 2  # bar lines at the ends, a double bar
    with pytest.raises(MusicError, match="bar 2 is empty"):
        parse_progression("D | | A7 | D", 4.0, 1.0)
    with pytest.raises(MusicError, match="bar 4 is empty"):
        parse_progression("D | G\nA7 | | D", 4.0, 1.0)


def test_a_progression_file_may_comment_after_its_chords_and_a_minor_one_is_in_minor(tmp_path):
    from cadenza.cli.compose import _progression
    from cadenza.score import Meter

    file = tmp_path / "chords.txt"
    file.write_text("# a minor turnaround\nEm   # home\nAm B7\nEm | F#m7b5 B7\n")
    chords, bars, key = _progression(str(file), Meter(0.0, 4, 4), None, None, None)
    assert bars == 4 and [c.text for c in chords] == ["Em", "Am", "B7", "Em", "F#m7b5", "B7"]
    assert str(key) == "E minor"  # its last B7 leads to E, and its E chord is minor
    assert str(_progression("D | G | A7", Meter(0.0, 4, 4), None, None, None)[2]) == "D major"


def test_chords_change_at_a_change_of_key_and_are_spelled_in_minor():
    tok = ChordBeatsTokenizer(("major", "minor", "dominant", "diminished"))
    notes = [Note(67, 0, 4), Note(74, 4, 4)]
    score = Score(parts=[Part("m", notes=notes)], meters=[Meter(0.0, 4, 4)],
                  keys=[Key(0.0, 7, "major"), Key(4.0, 2, "major")],
                  chords=[parse_chord("G", 0), parse_chord("D", 4)])  # fmt: skip
    sheet = tok.encode(score)
    assert sheet.classes[0] == sheet.classes[4]  # I in G, then I in D: one class
    assert [c.text for c in tok.decode(sheet.classes, sheet)] == ["G", "D"]
    a_minor = Key(0.0, 9, "minor")
    assert tok.chord_of(1 + 11 * 4 + 3, a_minor, 0.0).text == "G#dim"  # vii in A minor, not Abdim
    assert tok.chord_of(1 + 7 * 4 + 2, a_minor, 0.0).text == "E7"  # V7: E, a fifth above A


def test_a_drum_part_is_not_a_melody():
    from cadenza.errors import MusicError

    score = lead_sheet()
    score.parts.append(Part("kit", 0, True, [Note(36, 0, 1)]))
    with pytest.raises(MusicError, match="part 2 .kit. is drums"):
        ChordBeatsTokenizer().encode(score, part=1)


def test_an_exact_return_is_chorded_as_its_first_time_and_what_follows_keeps_its_own():
    from cadenza.compose.chorder import returned_chords
    from cadenza.plan.form import parse_form

    bar = [Note(67, 0, 2), Note(71, 2, 2)]
    tune = [replace_start(n, 4 * b) for b in range(6) for n in bar]  # six bars of one melody bar
    score = Score(parts=[Part("m", notes=tune)], meters=[Meter(0.0, 4, 4)], keys=[Key(0.0, 7, "major")])
    drawn = [parse_chord(t, b) for t, b in (("G", 0), ("C", 4), ("E7", 8), ("Am", 12), ("G", 14), ("D7", 20))]
    chords = returned_chords(score, drawn, parse_form("A2 B1 A2 C1"))
    # bars 3-4 repeat bars 0-1 (G, C); bar 5 goes on under its own chord, E7's Am at beat 2 of bar 3 gone
    assert [(c.start_beats, c.text) for c in chords] == [
        (0, "G"),
        (4, "C"),
        (8, "E7"),
        (12, "G"),
        (16, "C"),
        (20, "D7"),
    ]


def replace_start(n, shift):
    from dataclasses import replace

    return replace(n, start_beats=n.start_beats + shift)


def test_a_pickup_sounds_the_last_chord_before_it():
    from cadenza.score import chord_notes

    notes = [Note(67, 3, 1), Note(72, 4, 4)]
    score = Score(parts=[Part("m", notes=notes)], meters=[Meter(0.0, 4, 4)],
                  chords=[parse_chord("C", 0), parse_chord("G", 3), parse_chord("C", 4)])  # fmt: skip
    sounding = chord_notes(score)
    assert sorted({(n.start_beats, n.end_beats) for n in sounding}) == [(3, 4), (4, 8)]


def test_strong_beats_of_common_meters():
    from cadenza.theory import strong_beats

    assert strong_beats(Meter(0.0, 4, 4)) == (0.0, 2.0) and strong_beats(Meter(0.0, 3, 4)) == (0.0,)
    assert strong_beats(Meter(0.0, 6, 8)) == (0.0, 1.5)


def test_generate_writes_a_melody_over_given_chords(tiny_model, tmp_path):
    # the shipped one-voice folk model (a melody); a model of four voices is refused
    from cadenza.chords import pitch_classes

    proc = run_cli("generate", "--model", "folk", "--chords", "C | F G7 | C", "--bars", "6", "--seed", "2",
                   "--formats", "mid,abc", "--performer", "none", "--out", str(tmp_path / "ls"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    record = json.loads((tmp_path / "ls.json").read_text())
    assert record["chords"] == "C | F G7 | C" and record["key"] == "C major" and record["bars"] == 6
    back = read_score(tmp_path / "ls.mid")
    assert [c.text for c in back.chords] == ["C", "F", "G7", "C", "C", "F", "G7", "C"]  # the 3 bars twice
    assert [c.start_beats for c in back.chords] == [0, 4, 6, 8, 12, 16, 18, 20]
    top = {}
    for part in back.parts[:1]:
        for n in part.notes:
            top[n.start_beats] = max(top.get(n.start_beats, 0), n.pitch)
    for start, pitch in top.items():
        if start % 2 == 0:  # a strong beat of 4/4: a tone of the chord in force
            chord = [c for c in back.chords if c.start_beats <= start][-1]
            assert pitch % 12 in pitch_classes(chord), (start, pitch, chord.text)
    assert '"G7"' in (tmp_path / "ls.abc").read_text()
    bad = run_cli("generate", "--model", "folk", "--chords", "C | X", "--out", str(tmp_path / "x"))
    one_line_error(bad, "--chords", "bar 2", "'X'")
    uneven = run_cli("generate", "--model", "folk", "--chords", "C | G", "--bars", "3", "--out", str(tmp_path / "y"))
    one_line_error(uneven, "--chords has 2 bars", "3 bars")
    four = run_cli("generate", "--model", str(tiny_model), "--chords", "C | G", "--out", str(tmp_path / "z"))
    one_line_error(four, "--chords writes a melody", "4 voices")


def test_generate_with_chords_auto_adds_chord_symbols(tiny_model, tiny_chords, tmp_path):
    model, _ = tiny_chords
    proc = run_cli("generate", "--model", str(tiny_model), "--chords", "auto", "--chords-model", str(model),
                   "--bars", "4", "--seed", "1", "--formats", "musicxml", "--out", str(tmp_path / "auto"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    record = json.loads((tmp_path / "auto.json").read_text())
    assert record["chords"] == "auto" and record["symbols"]
    assert (tmp_path / "auto.musicxml").read_text().count("<harmony") == len(record["symbols"])


def test_melody_on_chords_counts_strong_chord_tones_and_resolutions():
    from cadenza.evaluate.leadsheet import melody_on_chords

    # C E on the strong beats of a bar of C, G on G7's; D -> E and F -> G leave by step to chord tones;
    # A on the strong beat 6 is not a tone of G7, and nothing follows it
    notes = [Note(60, 0, 1), Note(62, 1, 1), Note(64, 2, 1), Note(65, 3, 1), Note(67, 4, 2), Note(69, 6, 2)]
    score = Score(parts=[Part("m", notes=notes)], meters=[Meter(0.0, 4, 4)], chords=[parse_chord("C", 0),
                  parse_chord("G7", 4)])  # fmt: skip
    m = melody_on_chords(score)
    assert (m.strong, m.strong_chord_tones) == (4, 3)  # C, E, G on strong beats; A is not a tone of G7
    assert (m.non_chord_tones, m.resolved) == (3, 2)  # D -> E (a step to a tone), F -> G; A ends the tune
