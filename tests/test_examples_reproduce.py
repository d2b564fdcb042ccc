"""The shipped examples are what the shipped models write today: the same seed gives the same
MIDI, byte for byte (examples/README.md lists the commands)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cadenza.io import read_score, write_score

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
GENERATED = sorted(p for p in EXAMPLES.glob("*.json") if json.loads(p.read_text()).get("command") == "generate")


@pytest.mark.slow
@pytest.mark.parametrize("record", GENERATED, ids=lambda p: p.stem)
def test_generated_example_is_byte_identical(record, tmp_path):
    from cadenza.compose import composer
    from cadenza.plan.form import Plan

    r = json.loads(record.read_text())
    c = composer.load(r["model"])
    score = c.generate(
        bars=r["bars"],
        key=r["key"],
        meter=r["meter"],
        tempo_bpm=r["tempo"],
        temperature=r["temperature"],
        top_p=r["top_p"],
        seed=r["seed"],
        allow_parallels=r["allow_parallels"],
        final_cadence=not r["free_ending"],
        plan=Plan.from_dict(r["plan"]) if "plan" in r else None,
    )
    out = write_score(score, tmp_path / "piece.mid")
    assert out.read_bytes() == record.with_suffix(".mid").read_bytes()


HARMONIZED = sorted(p for p in EXAMPLES.glob("*.json") if json.loads(p.read_text()).get("command") == "harmonize")


@pytest.mark.slow
@pytest.mark.parametrize("record", HARMONIZED, ids=lambda p: p.stem)
def test_example_harmonization_is_byte_identical(record, tmp_path):
    from cadenza import hub

    r = json.loads(record.read_text())
    h = hub.load(r["model"], expect="orderless")
    [result] = h.harmonize(
        read_score(EXAMPLES.parent / r["melody"]),
        voices=r["voices"],
        temperature=r["temperature"],
        seed=r["seed"],
        iterations=r["iterations"],
        source=r["melody"],
    )
    out = write_score(result.score, tmp_path / "harmonized.mid")
    assert out.read_bytes() == record.with_suffix(".mid").read_bytes()


def test_every_example_is_checked():
    assert len(GENERATED) >= 5 and len(HARMONIZED) >= 2
