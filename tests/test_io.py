"""cadenza.io: reading and writing scores by suffix, and the one-line errors users get for bad
files, missing files, unknown suffixes and files that already exist."""

from pathlib import Path

import pytest

from cadenza.errors import InputError, OptionError, OutputExistsError
from cadenza.io import SUFFIXES, read_score, write_score
from cadenza.io.midi import write_midi
from conftest import example_score


def assert_one_line_error(error: pytest.ExceptionInfo, path: Path) -> None:
    message = str(error.value)
    assert "\n" not in message and path.name in message and "Traceback" not in message


BAD_FILES = {
    "empty.mid": b"",
    "random.mid": bytes(range(256)) * 3,
    "header_only.mid": b"MThd\x00\x00\x00\x06\x00\x01\x00\x00\x01\xe0",
    "garbage.musicxml": b"<score-partwise><part id='P1'><measure",
    "not_xml.xml": b"\x89PNG\r\n\x1a\n this is not a score",
    "empty.abc": b"   \n",
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_raise_one_line_input_errors(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(BAD_FILES[name])
    with pytest.raises(InputError) as error:
        read_score(path)
    assert_one_line_error(error, path)


def test_truncated_midi_raises_input_error(tmp_path):
    whole = write_midi(example_score(), tmp_path / "whole.mid").read_bytes()
    path = tmp_path / "truncated.mid"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputError) as error:
        read_score(path)
    assert_one_line_error(error, path)


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(InputError) as error:
        read_score(tmp_path / "nowhere.mid")
    assert_one_line_error(error, tmp_path / "nowhere.mid")
    odd = tmp_path / "notes.txt"
    odd.write_text("C D E")
    with pytest.raises(InputError) as error:
        read_score(odd)
    assert_one_line_error(error, odd)
    assert all(suffix in str(error.value) for suffix in SUFFIXES)


@pytest.mark.parametrize("name", ["out.mid", "out.musicxml"])
def test_write_refuses_to_overwrite_without_force(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"keep me")
    with pytest.raises(OutputExistsError):
        write_score(example_score(), path)
    assert path.read_bytes() == b"keep me"
    write_score(example_score(), path, force=True)
    assert read_score(path).parts
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temporary files left


def test_write_unknown_suffix_is_an_option_error(tmp_path):
    with pytest.raises(OptionError):
        write_score(example_score(), tmp_path / "out.wav")
