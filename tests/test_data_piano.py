"""cadenza.data.piano: piano pieces with their composers and splits, from ASAP or a folder."""

from __future__ import annotations

import pytest

from cadenza.data import asap, piano
from cadenza.errors import InputError, OptionError


def test_a_folder_gives_composers_by_folder_name_and_skips_a_broken_file(piano_folder):
    data = piano.load(str(piano_folder), valid_percent=20)
    pieces = data.splits["train"] + data.splits["valid"]
    assert len(pieces) == 13 and data.splits["valid"] and not data.splits["test"]
    by_id = {p.id.split(":", 1)[1]: p.composer for p in pieces}
    assert by_id["Alpha/0.mid#0"] == "Alpha" and by_id["Beta/5.mid#0"] == "Beta" and by_id["anonymous.mid#0"] == ""
    assert len(data.skipped) == 1 and "broken.mid" in data.skipped[0]
    assert set(data.composers()) <= {"Alpha", "Beta"}


def test_a_labels_csv_names_the_composers_instead(piano_folder, tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("file,composer\nAlpha/0.mid,Clementi\nanonymous.mid,Czerny\n")
    data = piano.load(str(piano_folder), labels=str(labels))
    by_id = {p.id.split(":", 1)[1]: p.composer for s in data.splits.values() for p in s}
    assert by_id["Alpha/0.mid#0"] == "Clementi" and by_id["anonymous.mid#0"] == "Czerny" and by_id["Beta/1.mid#0"] == ""
    bad = tmp_path / "bad.csv"
    bad.write_text("path,who\nx,y\n")
    with pytest.raises(InputError, match="file and composer"):
        piano.load(str(piano_folder), labels=str(bad))
    with pytest.raises(OptionError, match="no such file"):
        piano.load(str(piano_folder), labels=str(tmp_path / "missing.csv"))


def test_asap_gives_one_score_per_piece_its_composer_and_the_performers_split(tmp_path, piano_folder):
    """An ASAP-shaped folder: a piece and its _no_repeat variant are one piece."""
    import shutil

    rows = ["composer,title,folder,midi_score,midi_performance"]
    for folder, src in (
        ("Alpha/Sonata/1", "Alpha/0.mid"),
        ("Alpha/Sonata/1_no_repeat", "Alpha/1.mid"),
        ("Beta/Waltz/2", "Beta/2.mid"),
    ):
        (tmp_path / folder).mkdir(parents=True)
        shutil.copy(piano_folder / src, tmp_path / folder / "midi_score.mid")
        composer = folder.split("/")[0]
        rows += [
            f"{composer},t,{folder},{folder}/midi_score.mid,{folder}/p1.mid",
            f"{composer},t,{folder},{folder}/midi_score.mid,{folder}/p2.mid",
        ]
    (tmp_path / "metadata.csv").write_text("\n".join(rows) + "\n")
    assert piano.is_asap(tmp_path)
    data = piano.load(str(tmp_path))
    found = {p.id: (p.composer, split) for split, ps in data.splits.items() for p in ps}
    assert found == {
        "Alpha/Sonata/1": ("Alpha", asap.split_of("Alpha/Sonata/1")),
        "Beta/Waltz/2": ("Beta", asap.split_of("Beta/Waltz/2")),
    }
    with pytest.raises(OptionError, match="metadata.csv"):
        piano.load(str(tmp_path), labels="x.csv")


def test_a_missing_folder_is_one_line():
    with pytest.raises(OptionError, match="no such folder"):
        piano.load("/nonexistent/piano")


def test_asap_data_carries_its_license_and_a_folder_its_owners(piano_folder):
    assert piano.load(str(piano_folder)).license == "that of your own files"
    assert "CC BY-NC-SA" in piano.ASAP_LICENSE
