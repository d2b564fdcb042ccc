"""Does the radio stay ahead of playback? The lead (seconds of music written and rendered beyond
the moment being heard) and the audio underruns (moments the next piece was not ready when the
last one ended) over at least --minutes of music, on this machine's CPU.

Each piece is written, performed and rendered to audio exactly as `cadenza radio` does
(Station.next, then write_segment), and each piece's wall-clock cost is measured. Playback is
then replayed on that clock: one producer writes piece after piece, at most --ahead pieces
beyond the one playing (as the command's queue allows), and the player starts each piece when
the last one ends or, if it is not ready, when it is (an underrun). Loading the models before
the first piece is timed on its own: that is the wait before the music starts.

    .venv/bin/python benchmarks/radio_lead.py [--models chorales,folk] [--minutes 10] [--ahead 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from cadenza.studio.radio import Station, write_segment


def replay(writing: list[float], durations: list[float], ahead: int) -> tuple[list[float], int, float]:
    """(lead at each piece's start, underruns, seconds of silence) for pieces that take
    `writing` seconds to make and `durations` seconds to play, with at most `ahead` made pieces
    waiting beyond the one playing."""
    n = len(writing)
    done = [0.0] * n  # when piece k is ready
    start = [0.0] * n  # when piece k starts playing
    for k in range(n):
        room = start[k - ahead - 1] if k - ahead - 1 >= 0 else 0.0  # the queue has a place
        done[k] = max(done[k - 1] if k else 0.0, room) + writing[k]
        if k == 0:
            start[k] = done[k]
            continue
        start[k] = max(start[k - 1] + durations[k - 1], done[k])
    underruns = sum(1 for k in range(1, n) if done[k] > start[k - 1] + durations[k - 1] + 1e-9)
    silence = sum(max(0.0, done[k] - (start[k - 1] + durations[k - 1])) for k in range(1, n))
    leads = []
    for k in range(1, n):
        ready = [j for j in range(k, n) if done[j] <= start[k]]
        leads.append(sum(durations[j] for j in ready))
    return leads, underruns, silence


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="chorales,folk")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--ahead", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    station = Station(args.models.split(","), seed=args.seed)
    t0 = time.perf_counter()
    for name in station.models:
        station.composer(name)
    loading = time.perf_counter() - t0
    writing, durations = [], []
    with tempfile.TemporaryDirectory() as tmp:
        while sum(durations) < args.minutes * 60:
            t = time.perf_counter()
            segment = station.next()
            write_segment(segment, Path(tmp), "wav")
            writing.append(time.perf_counter() - t)
            durations.append(segment.seconds)
    leads, underruns, silence = replay(writing, durations, args.ahead)
    music = sum(durations)
    print(f"models {args.models}, seed {args.seed}: {len(durations)} pieces, {music / 60:.1f} minutes of music")
    print(f"models loaded in {loading:.1f} s; first piece ready {writing[0]:.1f} s after that")
    print(
        f"writing one piece (compose, perform, render): median {statistics.median(writing):.2f} s, "
        f"max {max(writing):.2f} s, against a median piece of {statistics.median(durations):.0f} s "
        f"({music / sum(writing):.0f}x real time)"
    )
    print(
        f"lead at each piece's start (music ready ahead, --ahead {args.ahead}): min {min(leads):.0f} s, "
        f"median {statistics.median(leads):.0f} s"
    )
    print(f"underruns: {underruns} ({silence:.1f} s of silence) over {music / 60:.1f} minutes")


if __name__ == "__main__":
    main()
