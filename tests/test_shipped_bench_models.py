"""Each shipped likelihood benchmark model reproduces the test NLL its card reports (issue 3:
"reproduces the reported test NLL to two decimals"). Skipped where ../shared/benchmarks is absent."""

import json
import re
from pathlib import Path

import pytest

from cadenza.data.benchmarks import load_benchmark
from cadenza.families import of_meta
from cadenza.families.benchmark import evaluate_checkpoint

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(
    p.parent.name
    for p in (ROOT / "models").glob("*/model.json")
    if of_meta(json.loads(p.read_text())).name == "benchmark"
)


def test_every_benchmark_set_has_a_shipped_model():
    assert {"jsb", "nottingham", "musedata", "pianomidi"} <= set(SHIPPED)


@pytest.mark.slow  # scores a whole test split: 3 to 35 s each
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_reproduces_its_card(name):
    folder = ROOT / "models" / name
    data = ROOT / json.loads((folder / "model.json").read_text())["train"]["data"]
    if not data.exists():
        pytest.skip(f"{data} is not on this machine")
    reported = float(re.search(r"^test NLL (\d+\.\d+) nats", (folder / "card.md").read_text(), re.M).group(1))
    results, _ = evaluate_checkpoint(folder, load_benchmark(data), splits=("test",))
    assert results["test"][0] == pytest.approx(reported, abs=0.005)
