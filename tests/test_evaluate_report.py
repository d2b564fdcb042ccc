"""cadenza.evaluate.report: comparing the distributions of a measure."""

import numpy as np

from cadenza.evaluate.report import compare


def test_distribution_comparison():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 300), rng.normal(0, 1, 300)
    same, apart = compare(a, b), compare(a, b + 10)
    assert same[0] > 0.85 and same[1] < 0.1
    assert apart[0] < 0.01 and apart[1] > 5


def test_evaluate_reports_progress_for_every_stage(tmp_path):
    from cadenza.evaluate.report import evaluate
    from cadenza.io import write_score
    from conftest import make_score

    for folder in ("gen", "ref"):
        (tmp_path / folder).mkdir()
        for i in range(3):
            write_score(make_score(4, bars=2 + i), tmp_path / folder / f"p{i}.mid")
    calls: list[tuple[str, int, int]] = []
    evaluate(str(tmp_path / "gen"), str(tmp_path / "ref"), progress=lambda *a: calls.append(a))
    stages = list(dict.fromkeys(what for what, _, _ in calls))
    assert stages == [
        f"reading {tmp_path / 'ref'}",
        f"measuring {tmp_path / 'ref'}",
        "reading generated",
        "measuring generated",
    ]
    assert all(total == 3 and 0 <= done < 3 for _, done, total in calls)
