"""cadenza.data.corpus: the parse cache (a file is parsed once until it changes; a damaged entry is
parsed again and repaired; the cache lives under $CADENZA_CACHE), loading folders, and splits."""

import gzip
import os
from pathlib import Path

import pytest

from cadenza.data import corpus
from cadenza.data.corpus import Dataset, Piece, cache_dir, cached_scores, load, with_exact_parts
from cadenza.errors import InputError, OptionError
from cadenza.io.midi import write_midi
from conftest import make_score, melody


class CountingParse:
    """A parse function that counts its calls and returns a fixed score."""

    def __init__(self, score=None):
        self.calls, self.score = 0, score or make_score(bars=1)

    def __call__(self, path):
        self.calls += 1
        return [self.score]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh, empty cache folder as $CADENZA_CACHE."""
    path = tmp_path / "cache"
    monkeypatch.setenv("CADENZA_CACHE", str(path))
    return path


def entries(cache):
    return sorted((cache / "parsed").glob("*.json.gz"))


def test_the_cache_lives_under_cadenza_cache(cache, tmp_path, monkeypatch):
    assert cache_dir() == cache
    song = tmp_path / "song.mid"
    song.write_bytes(b"whatever the parser makes of it")
    cached_scores(song, CountingParse())
    [entry] = entries(cache)
    assert entry.stat().st_size > 0 and not list(tmp_path.glob("*.json.gz"))
    monkeypatch.delenv("CADENZA_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "cadenza"


def test_a_second_read_does_not_parse_again(cache, tmp_path):
    song = tmp_path / "song.mid"
    song.write_bytes(b"x" * 10)
    parse = CountingParse()
    first = cached_scores(song, parse)
    again = cached_scores(song, parse)
    assert parse.calls == 1 and again == first == [parse.score]


def test_a_changed_file_is_parsed_again(cache, tmp_path):
    song = tmp_path / "song.mid"
    song.write_bytes(b"x" * 10)
    parse = CountingParse()
    cached_scores(song, parse)
    song.write_bytes(b"x" * 11)  # a new size
    cached_scores(song, parse)
    assert parse.calls == 2
    st = song.stat()
    os.utime(song, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))  # same size, a new mtime
    parse.score = make_score(bars=2)
    assert cached_scores(song, parse) == [make_score(bars=2)] and parse.calls == 3
    cached_scores(song, parse)
    assert parse.calls == 3 and len(entries(cache)) == 3  # one entry per version of the file


DAMAGE = {
    "garbage": lambda data: b"not gzip at all",
    "empty": lambda data: b"",
    "not json": lambda data: gzip.compress(b"{'scores': ["),
    "no scores": lambda data: gzip.compress(b'[{"title": "x"}]'),
    "truncated": lambda data: data[: len(data) // 2],
    "wrong shape": lambda data: gzip.compress(b'{"title": "x"}'),
}


@pytest.mark.parametrize(
    "damage",
    [
        "garbage",
        "empty",
        "not json",
        "no scores",
        "truncated",
        "wrong shape",
    ],
)
def test_a_damaged_entry_is_parsed_again_and_repaired(cache, tmp_path, damage):
    song = tmp_path / "song.mid"
    song.write_bytes(b"x" * 10)
    parse = CountingParse()
    cached_scores(song, parse)
    [entry] = entries(cache)
    entry.write_bytes(DAMAGE[damage](entry.read_bytes()))
    assert cached_scores(song, parse) == [parse.score] and parse.calls == 2  # parsed again ...
    assert cached_scores(song, parse) == [parse.score] and parse.calls == 2  # ... and the entry repaired
    assert entries(cache) == [entry]


def test_a_file_that_cannot_be_parsed_leaves_no_entry(cache, tmp_path):
    song = tmp_path / "song.mid"
    song.write_bytes(b"x")

    def refuse(path):
        raise InputError(path, "not music")

    with pytest.raises(InputError):
        cached_scores(song, refuse)
    assert entries(cache) == []


@pytest.fixture
def counted_reads(monkeypatch):
    """Count the files corpus.load really parses (it parses through cadenza.io.read_scores)."""
    import cadenza.io

    read, paths = cadenza.io.read_scores, []

    def counting(path):
        paths.append(path.name)
        return read(path)

    monkeypatch.setattr(cadenza.io, "read_scores", counting)
    return paths


def test_load_parses_each_file_once_until_it_changes(cache, tmp_path, counted_reads):
    folder = tmp_path / "music"
    (folder / "sub").mkdir(parents=True)
    write_midi(make_score(bars=2), folder / "a.mid")
    write_midi(melody(), folder / "sub" / "b.mid")
    (folder / "notes.txt").write_text("not a music file")
    first = load(str(folder))
    assert sorted(counted_reads) == ["a.mid", "b.mid"] and len(entries(cache)) == 2
    again = load(str(folder))
    assert sorted(counted_reads) == ["a.mid", "b.mid"]  # nothing parsed the second time
    assert [(p.id, p.score) for p in again.pieces] == [(p.id, p.score) for p in first.pieces]
    assert [p.id for p in first.pieces] == [f"{folder}:a.mid#0", f"{folder}:sub/b.mid#0"]
    write_midi(make_score(bars=3), folder / "a.mid", force=True)
    third = load(str(folder))
    assert sorted(counted_reads) == ["a.mid", "a.mid", "b.mid"]  # only the changed file again
    assert third.pieces[0].score.end_beats == 12.0


def test_load_reports_bad_files_and_refuses_what_is_not_music(cache, tmp_path):
    folder = tmp_path / "music"
    folder.mkdir()
    write_midi(make_score(bars=2), folder / "good.mid")
    (folder / "bad.mid").write_bytes(b"garbage")
    data = load(str(folder))
    assert [p.id for p in data.pieces] == [f"{folder}:good.mid#0"]
    assert len(data.skipped) == 1 and "bad.mid" in data.skipped[0] and "\n" not in data.skipped[0]
    assert entries(cache) and len(entries(cache)) == 1  # a file that failed to parse is not cached
    with pytest.raises(OptionError, match="no such folder or file, and not a built-in corpus"):
        load(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(OptionError, match="no music files found"):
        load(str(tmp_path / "empty"))
    with pytest.raises(OptionError, match="unknown corpus 'x'; built-in corpora: bach-chorales"):
        corpus.corpus_files("x")
    assert len(load(f"{folder},{folder / 'good.mid'}").pieces) == 2  # a comma-separated list
    assert len(load(str(folder), limit=1).pieces) == 1


def test_a_piece_written_in_several_formats_is_read_once(cache, tmp_path):
    """`generate` writes STEM.mid, STEM.musicxml and, performed, STEM.performed.mid: a folder of
    its output holds each piece once (evaluate once counted every piece twice, once played off the
    grid). The MIDI is read; a performance or MusicXML alone is a piece of its own."""
    from cadenza.io.musicxml import write_musicxml

    folder = tmp_path / "out"
    folder.mkdir()
    for name in ("a.mid", "a.performed.mid", "b.performed.mid", "c.MID"):
        write_midi(make_score(bars=2), folder / name)
    for name in ("a.musicxml", "c.musicxml", "d.musicxml"):
        write_musicxml(make_score(bars=2), folder / name)
    data = load(str(folder))
    assert sorted(p.id.split(":")[-1] for p in data.pieces) == [
        "a.mid#0",
        "b.performed.mid#0",
        "c.MID#0",
        "d.musicxml#0",
    ]
    assert sorted(data.skipped) == [
        f"{folder / 'a.musicxml'}: left out, the same piece as a.mid",
        f"{folder / 'a.performed.mid'}: left out, the same piece as a.mid",
        f"{folder / 'c.musicxml'}: left out, the same piece as c.MID",
    ]


def test_splits_are_by_a_hash_of_the_id_and_tiny_sets_still_train_and_validate():
    pieces = [Piece(f"set:{i}.mid#0", make_score(bars=1)) for i in range(200)]
    train, valid = Dataset(pieces).split(10)
    assert 5 <= len(valid) <= 40 and len(train) + len(valid) == 200
    again_train, again_valid = Dataset(list(reversed(pieces))).split(10)
    assert {p.id for p in again_valid} == {p.id for p in valid}  # by id, not by order or chance
    assert {p.id for p in Dataset(pieces).split(50)[1]} > {p.id for p in valid}
    train, valid = Dataset(pieces[:2]).split(0)
    assert len(train) == 1 and len(valid) == 1  # no piece hashed into validation: one is moved there
    train, valid = Dataset(pieces[:3]).split(99)
    assert len(train) == 1 and len(valid) == 2  # every piece hashed into validation: one is moved back


def test_with_exact_parts_counts_pitched_parts_with_notes():
    four = make_score(4)
    three = make_score(3)
    drums = make_score(4)
    drums.parts[3].is_drum = True
    kept = with_exact_parts([Piece("a", four), Piece("b", three), Piece("c", drums)], 4)
    assert [p.id for p in kept] == ["a"]


def test_a_tune_is_the_same_in_any_key_rhythm_or_ornament_and_with_its_repeat_written_out():
    from cadenza.data.corpus import TuneIndex, melody_runs

    tune = [67, 67, 69, 71, 72, 71, 69, 67, 66, 67, 69, 71, 69, 67, 64, 66, 67, 66, 64, 62, 64, 66, 67]
    tune += [71, 72, 74, 72, 71, 69, 71, 67, 69, 71, 72, 71, 69, 67, 69, 66, 67, 64, 62, 64, 66, 67]  # 44 steps
    assert melody_runs([60, 62, 62, 64, 60]) == melody_runs([65, 67, 69, 69, 65]) == {(2, 2, -4)}
    assert melody_runs([60]) == frozenset()
    index = TuneIndex([melody_runs(tune)])
    ornamented = tune[:5] + [74] + tune[5:30] + [70] + tune[30:]  # two notes added: a first-16 match misses it
    assert index.matches(melody_runs([p - 5 for p in tune]))
    assert index.matches(melody_runs(ornamented))
    assert index.matches(melody_runs(tune[:12] + tune))  # its first phrase played twice
    assert index.matches(melody_runs(tune[:14]))  # one phrase of it
    assert not index.matches(melody_runs([60, 64, 67, 72, 71, 67, 64, 62, 60, 65, 69, 72, 70, 67, 64, 60]))
    assert not index.matches(melody_runs(tune[:4] + [60, 61, 60, 61, 60, 61, 60, 61, 60, 61, 60, 61]))


def test_exclude_leaves_out_every_piece_whose_melody_matches_the_split(tmp_path):
    from cadenza.data.benchmarks import load_satb
    from cadenza.data.corpus import Piece, excluded_tunes, melody_runs, without_matches
    from cadenza.errors import OptionError
    from cadenza.score import Note, Part, Score

    data = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "jsb16th_satb.json.gz"
    if not data.exists():
        pytest.skip("the shared benchmark data is not here")
    test = load_satb(data)["test"]
    tunes = excluded_tunes(f"{data}:test")
    assert len(tunes) == len(test) == 77
    first = [int(c) - 1 for c in test[0][:, 0] if c]
    transposed = [p + 3 for i, p in enumerate(first) if i == 0 or p != first[i - 1]]
    same_tune = Score(parts=[Part("S", notes=[Note(p, i, 1.0) for i, p in enumerate(transposed)])])
    other = Score(parts=[Part("S", notes=[Note(p, i, 1.0) for i, p in enumerate([60, 61, 60, 61, 60, 61])])])
    assert melody_runs(transposed) in tunes
    kept = without_matches([Piece("a", same_tune), Piece("b", other)], f"{data}:test")
    assert [p.id for p in kept] == ["b"]
    with pytest.raises(OptionError, match="no split 'tests'"):
        excluded_tunes(f"{data}:tests")


def test_split_of_leaves_out_the_pieces_the_run_recorded_whatever_the_matcher_says_now(monkeypatch):
    pieces = [Piece(f"p{i}", make_score(4)) for i in range(30)]
    monkeypatch.setattr(corpus, "load", lambda source, limit=None, progress=None: Dataset(list(pieces)))
    monkeypatch.setattr(corpus, "without_matches", lambda found, source: found[5:] if source else found)
    run = {"train": {"data": "x", "exact_parts": False, "exclude": "tests.json.gz:test", "valid_percent": 10}}
    train, valid = corpus.split_of(run)
    assert {p.id for p in train + valid} == {f"p{i}" for i in range(5, 30)}  # no record: matched now
    run["data_summary"] = {"excluded_ids": ["p7", "p8"]}
    train, valid = corpus.split_of(run)
    assert {p.id for p in train + valid} == {f"p{i}" for i in range(30)} - {"p7", "p8"}
    assert (train, valid) == Dataset([p for p in pieces if p.id not in {"p7", "p8"}]).split(10)
