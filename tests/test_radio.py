"""The radio (cadenza.studio.radio, `cadenza radio`): pieces one after another, keys that move and
come home, themes that return; the same seed, the same programme."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cadenza.cli.main import main
from cadenza.score import excerpt, parse_key
from cadenza.studio.radio import HOME_EVERY, REPRISE_BARS, Station


def notes(score, bars: int) -> list[tuple[int, float, float]]:
    return sorted(
        (n.pitch, n.start_beats, n.duration_beats) for p in score.parts for n in excerpt(score, 1, bars).notes()
    )


@pytest.fixture(scope="module")
def programme():
    station = Station(["folk"], home=parse_key("G major"), seed=3, bars=8)
    return [station.next() for _ in range(9)]


def test_the_same_seed_gives_the_same_programme(programme):
    again = Station(["folk"], home=parse_key("G major"), seed=3, bars=8)
    for a in programme[:4]:
        b = again.next()
        assert {**a.record(), "writing_seconds": 0} == {**b.record(), "writing_seconds": 0}
        assert notes(a.score, 8) == notes(b.score, 8)


def test_keys_move_among_related_keys_and_come_home(programme):
    home = parse_key("G major")
    related = {parse_key(k) for k in ("C major", "D major", "A minor", "B minor", "E minor")}  # IV V ii iii vi
    keys = [s.key for s in programme]
    assert all(k == home for k in keys[::HOME_EVERY])
    assert all(k in related for i, k in enumerate(keys) if i % HOME_EVERY)
    assert len(set(keys)) >= 3


def test_an_earlier_theme_returns_moved_to_the_new_key(programme):
    reprises = [s for s in programme if s.reprise_of is not None]
    assert reprises
    for s in reprises:
        earlier = programme[s.reprise_of]
        assert earlier.key.mode == s.key.mode and earlier.reprise_of is None
        shift = (s.key.tonic - earlier.key.tonic + 6) % 12 - 6
        assert notes(s.score, REPRISE_BARS) == [(p + shift, a, d) for p, a, d in notes(earlier.score, REPRISE_BARS)]
        assert notes(s.score, 8) != [(p + shift, a, d) for p, a, d in notes(earlier.score, 8)]  # then it goes on anew


def test_radio_writes_pieces_until_its_minutes_are_up(tmp_path, capsys):
    out = tmp_path / "radio"
    main(["radio", "--models", "folk", "--seed", "2", "--minutes", "1", "--out", f"{out}/", "--quiet"])
    records = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
    assert len(records) >= 2 and sum(r["seconds"] for r in records) >= 60
    assert sum(r["seconds"] for r in records[:-1]) < 60  # and no more
    for r in records:
        stem = out / f"{r['index'] + 1:06d}"
        assert stem.with_suffix(".ogg").read_bytes()[:4] == b"OggS" and stem.with_suffix(".mid").exists()
    with pytest.raises(SystemExit) as e:
        main(["radio", "--models", "folk", "--minutes", "1", "--out", f"{out}/"])
    assert e.value.code == 2 and "holds pieces already" in capsys.readouterr().err
    main(["radio", "--models", "folk", "--seed", "3", "--minutes", "0.5", "--out", f"{out}/", "--force", "--quiet"])
    assert json.loads((out / "000001.json").read_text())["seed"] == 3000  # replaced, by the new seed's first piece


@pytest.mark.parametrize(
    "args, problem",
    [
        (["--models", "harmonizer"], "use it with `cadenza harmonize`"),
        (["--models", "nosuch"], "no model named 'nosuch'"),
        (["--minutes", "0"], "--minutes must be above 0"),
        (["--audio", "mp3"], "--audio must be ogg, flac or wav"),
    ],
)
def test_radio_refuses_what_it_cannot_do_in_one_line(tmp_path, capsys, args, problem):
    with pytest.raises(SystemExit) as e:
        main(["radio", "--out", f"{tmp_path}/", *args])
    err = capsys.readouterr().err
    assert e.value.code == 2 and problem in err and len(err.strip().splitlines()) == 1


def test_radio_without_a_player_says_how_to_listen(monkeypatch, capsys):
    import cadenza.cli.radio as radio

    monkeypatch.setattr(radio, "PLAYERS", ())
    with pytest.raises(SystemExit):
        main(["radio", "--models", "folk"])
    assert "write the radio to files with --out FOLDER/" in capsys.readouterr().err


def test_radio_plays_piece_after_piece_through_a_player(tmp_path, monkeypatch, capsys):
    """Without --out the pieces go to an audio player one after another, each a whole WAV file
    when it plays, and nothing is left behind."""
    import cadenza.cli.radio as radio

    log = tmp_path / "played.txt"
    player = tmp_path / "fakeplay"
    player.write_text(
        f'#!/bin/sh\nhead -c 4 "$1" | grep -q RIFF && echo "$1" >> {log} || echo "not a WAV: $1" >> {log}\n'
    )
    player.chmod(0o755)
    monkeypatch.setattr(radio, "PLAYERS", ([str(player)],))
    main(["radio", "--models", "folk", "--seed", "2", "--minutes", "0.5", "--bars", "8"])
    played = log.read_text().splitlines()
    assert played and not any(line.startswith("not a WAV") for line in played)
    assert [Path(p).name for p in played] == [f"{i + 1:06d}.wav" for i in range(len(played))]
    assert not Path(played[0]).parent.exists()  # the player's files are cleared at the end
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("radio: folk, seed 2") and err[-1].startswith("radio: ") and "minutes played" in err[-1]
