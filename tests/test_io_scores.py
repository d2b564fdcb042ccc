"""cadenza.io.scores: MusicXML, ABC and kern through music21: round trips, pickups, real corpus files."""

from pathlib import Path

from cadenza.io import read_score, read_scores, write_score
from cadenza.io.scores import music21_to_score
from cadenza.score import Key, Meter, Note, Part, Score, pitch_range
from conftest import example_score, note_tuples


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


def test_kern_file_from_the_corpus_reads():
    import music21

    path = min(music21.corpus.getComposer("palestrina"), key=lambda p: Path(p).stat().st_size)
    score = read_score(path)
    assert len(score.parts) == 4 and all(p.notes for p in score.parts)
    assert score.meter.numerator > 0 and score.end_beats > 0
