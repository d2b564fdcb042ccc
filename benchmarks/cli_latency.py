"""What a user waits for: wall-clock time of the real `cadenza` command, run as a subprocess
(start-up, imports, model loading, the music, and writing every default output: MIDI, MusicXML,
WAV and PNG), and the time to write the default outputs of a 10-minute piece.

    .venv/bin/python benchmarks/cli_latency.py [--repeats 3] [--piano PATH] [--no-continue]

One line per measurement, with its command (median of --repeats runs; `continue` of the long
piano file runs once):
  cadenza --help
  cadenza generate --model chorales --bars 4 / 64 --formats mid   (the music alone)
  cadenza generate --model chorales --bars 4 / 64                 (the default outputs)
  cadenza harmonize MELODY      (a 16-bar melody: the soprano of examples/chorale-d-major-seed7.mid)
  cadenza continue PIANO --model chorales --bars 8
                                (a 10-minute piano performance from ../shared/data/asap, read in place)
then the marginal real-time factor with all default outputs: the seconds of music the 64-bar
generate adds over the 4-bar one, divided by the extra wall time (start-up and model loading
cancel out), beside the same for MIDI alone, which bounds it; where the time of a 64-bar
generate goes, phase by phase, in a fresh process; and the time `write_outputs` takes to write
the default outputs of the 10-minute piano performance (in this process, after a warm-up, so
imports are not counted), format by format.

Targets (the issue "the outputs cost more than the music"), on the 2-core machine: a marginal
real-time factor of at least 100x; the outputs of a 10-minute piece written in under 10 s.
Outputs go to a temporary folder. Numbers are printed, nothing is asserted; the machine's load
average is printed first and last, since other work on the machine skews every number.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIANO = ROOT.parent / "shared/data/asap/Beethoven/Piano_Sonatas/21-1/HAGINO02.mid"  # 10 min 6 s
DEMO = ROOT / "examples/chorale-d-major-seed7.mid"

PHASES = r"""
import json, sys, time
times = {}
t = time.perf_counter()
import cadenza.cli.main
times["import cadenza.cli (typer)"] = time.perf_counter() - t
t = time.perf_counter()
import torch
from cadenza.compose import composer
times["import torch, composer"] = time.perf_counter() - t
t = time.perf_counter()
c = composer.load("chorales")
times["load model chorales"] = time.perf_counter() - t
t = time.perf_counter()
score = c.generate(bars=int(sys.argv[1]), key=None, meter=c.default_meter(), tempo_bpm=120.0, seed=1)
times[f"generate {sys.argv[1]} bars"] = time.perf_counter() - t
from cadenza.render import write_outputs
for fmt in ("mid", "musicxml", "wav", "png"):
    t = time.perf_counter()
    write_outputs(score, sys.argv[2], (fmt,), None, force=True)
    times[f"write {fmt} (with its imports)"] = time.perf_counter() - t
print(json.dumps(times))
"""


def cadenza_command() -> list[str]:
    script = Path(sys.executable).with_name("cadenza")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cadenza.cli"]


def timed(args: list[str], repeats: int) -> list[float]:
    """Wall-clock seconds of each of `repeats` runs of a command (which must succeed)."""
    walls = []
    for _ in range(repeats):
        start = time.perf_counter()
        proc = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        walls.append(time.perf_counter() - start)
        if proc.returncode != 0:
            sys.exit(f"failed ({proc.returncode}): {shlex.join(args)}\n{proc.stderr}")
    return walls


def show(label: str, args: list[str], walls: list[float]) -> float:
    median = statistics.median(walls)
    runs = f"median of {len(walls)}: " if len(walls) > 1 else ""
    shown = shlex.join(["cadenza", *args[len(cadenza_command()) :]])
    print(f"{label:<28} {runs}{median:6.2f} s   ({', '.join(f'{w:.2f}' for w in walls)})   $ {shown}")
    return median


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3, help="runs per measurement (median shown)")
    ap.add_argument("--piano", type=Path, default=PIANO, help="a long piano MIDI file (about 10 minutes)")
    ap.add_argument("--no-continue", action="store_true", help="skip `continue` of the long piano file")
    args = ap.parse_args()

    from cadenza.io import read_score, write_score
    from cadenza.score import Score

    cli = cadenza_command()
    print(f"load average (1, 5, 15 min): {load()}; {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="cadenza-latency-") as tmp:
        tmp = Path(tmp)
        show("--help", cli + ["--help"], timed(cli + ["--help"], max(args.repeats, 5)))

        walls, music = {}, {}
        for formats in ("mid", None):  # MIDI alone (the music's own cost), then the default outputs
            for bars in (4, 64):
                command = cli + [
                    "generate",
                    "--model",
                    "chorales",
                    "--bars",
                    str(bars),
                    "--seed",
                    "1",
                    "--out",
                    str(tmp / f"generate{bars}"),
                    "--force",
                    "--quiet",
                ]
                command += ["--formats", formats] if formats else []
                label = f"generate {bars} bars, {'MIDI only' if formats else '4 outputs'}"
                walls[formats, bars] = show(label, command, timed(command, args.repeats))
                music[bars] = read_score(tmp / f"generate{bars}.mid").seconds()

        demo = read_score(DEMO)
        melody = tmp / "melody-16-bars.mid"
        write_score(Score(parts=[demo.parts[0]], tempos=demo.tempos, meters=demo.meters, keys=demo.keys), melody)
        command = cli + [
            "harmonize",
            str(melody),
            "--seed",
            "1",
            "--out",
            str(tmp / "harmonized"),
            "--force",
            "--quiet",
        ]
        show("harmonize 16 bars", command, timed(command, args.repeats))

        piano = None
        if args.piano.is_file():
            piano = read_score(args.piano)
            if not args.no_continue:
                command = cli + [
                    "continue",
                    str(args.piano),
                    "--model",
                    "chorales",
                    "--bars",
                    "8",
                    "--seed",
                    "1",
                    "--out",
                    str(tmp / "continued"),
                    "--force",
                    "--quiet",
                ]
                show(f"continue {piano.seconds() / 60:.0f}-min piano", command, timed(command, 1))
        else:
            print(f"no piano file at {args.piano}: `continue` skipped")

        added = music[64] - music[4]
        alone, extra = (walls["mid", 64] - walls["mid", 4]), (walls[None, 64] - walls[None, 4])
        print(
            f"\nmarginal real-time factor, all default outputs: {added:.0f} s of music more in "
            f"{extra:.2f} s more = {added / extra:.0f}x  (target >= 100x)"
        )
        outputs = max(extra - alone, 1e-3)
        print(
            f"  the same with MIDI only: {alone:.2f} s more = {added / alone:.0f}x; so the other outputs add "
            f"{outputs:.2f} s per {added:.0f} s of music ({added / outputs:.0f}x on their own)"
        )

        phases = subprocess.run(
            [sys.executable, "-c", PHASES, "64", str(tmp / "phases")], capture_output=True, text=True, check=True
        )
        print("\nwhere a 64-bar generate's time goes (one fresh process, in order):")
        for phase, seconds in json.loads(phases.stdout.strip().splitlines()[-1]).items():
            print(f"  {phase:<34} {seconds:6.3f} s")

        from cadenza.compose import composer
        from cadenza.render import DEFAULT_FORMATS, write_outputs

        if piano is None:  # no piano file: a 10-minute chorale instead
            c = composer.load("chorales")
            meter = c.default_meter()
            piano = c.generate(
                bars=composer.bars_for_seconds(600, meter, 120.0), key=None, meter=meter, tempo_bpm=120.0, seed=1
            )
            what = "a generated 10-minute chorale"
        else:
            what = f"the piano performance {args.piano}"
        write_outputs(read_score(DEMO), tmp / "warm-up", DEFAULT_FORMATS, None, force=True)  # imports
        per_format = {}
        for fmt in DEFAULT_FORMATS:
            start = time.perf_counter()
            write_outputs(piano, tmp / "piece", (fmt,), None, force=True)
            per_format[fmt] = time.perf_counter() - start
        start = time.perf_counter()
        write_outputs(piano, tmp / "piece", DEFAULT_FORMATS, {"benchmark": True}, force=True)
        total = time.perf_counter() - start
        print(f"\ndefault outputs of a {piano.seconds() / 60:.1f}-minute piece, {len(piano.notes())} notes: {what}")
        print("  " + ", ".join(f"{fmt} {seconds:.2f} s" for fmt, seconds in per_format.items()))
        print(f"  write_outputs, all default formats: {total:.2f} s  (target < 10 s)")
    print(f"\nload average (1, 5, 15 min): {load()}")


if __name__ == "__main__":
    main()
