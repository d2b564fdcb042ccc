"""cadenza.data.benchmarks: the piano-roll benchmark files and the four-voice grid file, read or
refused in one line naming the file."""

import gzip
import json

import numpy as np
import pytest

from cadenza.data.benchmarks import is_satb_file, load_benchmark, load_satb
from cadenza.errors import InputError
from cadenza.tokenize.cells import REST


def write(path, content) -> str:
    path.write_bytes(gzip.compress(json.dumps(content).encode()) if not isinstance(content, bytes) else content)
    return str(path)


def test_a_benchmark_file_reads_as_steps_of_pitches(tmp_path):
    data = {"train": [[[60, 64], [], [62.0]]], "valid": [[[59]]], "test": [[[61], [61]]]}
    assert load_benchmark(write(tmp_path / "b.json.gz", data)) == {
        "train": [[[60, 64], [], [62]]],
        "valid": [[[59]]],
        "test": [[[61], [61]]],
    }


@pytest.mark.parametrize(
    "content, words",
    [
        (None, "no such file"),
        (b"not gzip", "not a gzip JSON benchmark file"),
        (gzip.compress(b"[1, 2")[:-3], "not a gzip JSON benchmark file"),  # cut short
        ({"train": [[[60]]], "valid": [[[60]]]}, "expected the splits train, valid, test"),
        ({"train": [[[60]]], "valid": [], "test": [[[60]]]}, "each a non-empty list"),
        ({"train": [[[None, 60]]], "valid": [[[60]]], "test": [[[60]]]}, "a step is not a list of MIDI pitches"),
    ],
    ids=["missing", "not gzip", "truncated", "a split missing", "an empty split", "a rest in a step"],
)
def test_a_bad_benchmark_file_is_one_line_naming_it(tmp_path, content, words):
    path = tmp_path / "bad.json.gz"
    if content is not None:
        write(path, content)
    with pytest.raises(InputError) as error:
        load_benchmark(path)
    message = str(error.value)
    assert message.startswith(f"{path}: ") and words in message and "\n" not in message


def test_the_satb_file_reads_as_grids_of_cells(tmp_path):
    path = write(
        tmp_path / "satb.json.gz",
        {"train": [[[72, 67, None, 48], [74, 67, 60, 50]]], "valid": [[[60, 55, 52, 48]]], "test": [[[None] * 4]]},
    )
    assert is_satb_file(path) and not is_satb_file(str(tmp_path / "other.json.gz"))
    assert not is_satb_file("bach-chorales")
    grids = load_satb(path)
    assert grids["train"][0].dtype == np.int64
    assert grids["train"][0].tolist() == [[73, 68, REST, 49], [75, 68, 61, 51]]  # a cell is 1 + pitch
    assert grids["test"][0].tolist() == [[REST] * 4]
    with pytest.raises(InputError, match="satb.json.gz: not a four-voice grid file"):
        load_satb(write(tmp_path / "satb.json.gz", {"train": [[[72]]]}))
