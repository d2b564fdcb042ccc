"""How many cores the guided piano's second process may count on (cadenza.nn.row_process.cores):
the process's affinity, capped by a container's CPU quota in whole cores."""

import sys

import pytest

from cadenza.nn import row_process

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sched_getaffinity is Linux's")


@pytest.mark.parametrize(
    ("v2", "v1", "quota", "cores"),
    [
        ("max 100000\n", None, None, 4),
        ("150000 100000\n", None, 1.5, 1),
        ("200000 100000\n", None, 2.0, 2),
        ("50000 100000\n", ("-1", "100000"), 0.5, 1),  # where both are mounted, v2's file counts
        (None, ("-1", "100000"), None, 4),
        (None, ("50000", "100000"), 0.5, 1),
        (None, ("800000", "100000"), 8.0, 4),
        ("garbled\n", None, None, 4),
        (None, None, None, 4),
    ],
)
def test_a_container_s_cpu_quota_counts_its_whole_cores(tmp_path, monkeypatch, v2, v1, quota, cores):
    """A cgroup's CPU quota (v2's cpu.max, v1's cfs files) caps the affinity's 4 cores: 1.5
    cores' worth counts as one, and one core forks no second process."""
    cpu_max, v1_dir = tmp_path / "cpu.max", tmp_path / "cpu"
    if v2 is not None:
        cpu_max.write_text(v2)
    if v1 is not None:
        v1_dir.mkdir()
        (v1_dir / "cpu.cfs_quota_us").write_text(v1[0] + "\n")
        (v1_dir / "cpu.cfs_period_us").write_text(v1[1] + "\n")
    monkeypatch.setattr(row_process, "CGROUP_V2", cpu_max)
    monkeypatch.setattr(row_process, "CGROUP_V1", v1_dir)
    monkeypatch.setattr(row_process.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert row_process.cgroup_cores() == quota
    assert row_process.cores() == cores
    if cores == 1:
        assert not row_process.can_fork()
