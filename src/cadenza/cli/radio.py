"""`cadenza radio`: music that goes on until stopped."""

from __future__ import annotations

import shutil
from typing import Optional

import typer

PLAYERS = (["ffplay", "-nodisp", "-autoexit", "-loglevel", "quiet"], ["paplay"], ["aplay", "-q"], ["afplay"])


def register(app: typer.Typer) -> None:
    app.command()(radio)


def radio(
    models: str = typer.Option("chorales", help="the models, in turn, comma separated, e.g. chorales,folk"),
    key: Optional[str] = typer.Option(None, help="the home key the music keeps coming back to [default: drawn]"),
    seed: Optional[int] = typer.Option(
        None, help="random seed [default: random, printed]; the same seed, the same music"
    ),
    bars: int = typer.Option(16, help="bars per piece"),
    tempo: Optional[float] = typer.Option(None, help="quarter notes per minute [default: each model's usual]"),
    minutes: Optional[float] = typer.Option(
        None, help="stop after the piece that reaches this much music [default: never]"
    ),
    out: Optional[str] = typer.Option(None, help="a FOLDER/ to write the pieces in, as 000001.ogg, .mid, .json ..."),
    audio: str = typer.Option("ogg", help="the audio files' format with --out: ogg, flac or wav"),
    ahead: int = typer.Option(2, help="pieces written ahead of the one playing"),
    performer: str = typer.Option("rules", help="who plays: rules, learned or none"),
    expressiveness: float = typer.Option(1.0, help="0 (as written) to 2"),
    force: bool = typer.Option(False, help="write into a --out folder that holds pieces already, replacing them"),
    quiet: bool = typer.Option(False, help="no messages on stderr"),
):
    """Play music that never ends and never loops (or write it with --out): pieces one after another,
    keys that move and come home, themes that return."""
    import queue
    import subprocess
    import tempfile
    import threading
    import time
    from pathlib import Path

    from cadenza.cli.common import performing, pick_seed, say
    from cadenza.compose import composer
    from cadenza.errors import OptionError
    from cadenza.score import parse_key
    from cadenza.studio.radio import Station, write_segment

    names = [m.strip() for m in models.split(",") if m.strip()]
    if not names:
        raise OptionError("--models names no model")
    composer.check_bars(bars, "--bars")
    for name in names:
        composer.load(name)  # a model that cannot write music on its own is refused here, in one line
    if audio not in ("ogg", "flac", "wav"):
        raise OptionError(f"--audio must be ogg, flac or wav, not {audio!r}")
    if ahead < 1:
        raise OptionError(f"--ahead must be at least 1, not {ahead}")
    if minutes is not None and minutes <= 0:
        raise OptionError(f"--minutes must be above 0, not {minutes:g}")
    if tempo is not None:
        composer.check_tempo(tempo)
    performing(performer, expressiveness, 0)
    player = None
    if out is None:
        player = next((p for p in PLAYERS if shutil.which(p[0])), None)
        if player is None:
            raise OptionError(
                "no audio player found (ffplay, paplay, aplay or afplay); write the radio to files with "
                "--out FOLDER/, or listen in `cadenza studio`"
            )
        folder = Path(tempfile.mkdtemp(prefix="cadenza-radio-"))
    else:
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        if any(folder.glob("*.json")) and not force:
            raise OptionError(f"{folder} holds pieces already; give --force to add to it, or another folder")
    seed = pick_seed(seed)
    played = 0.0
    station = Station(names, parse_key(key) if key else None, seed, bars, tempo, performer, expressiveness)
    if not quiet:
        say(f"radio: {', '.join(names)}, seed {seed}" + (f", into {folder}" if out else "") + "; Ctrl-C stops it")
    if player is None:  # written as fast as it is made: nothing plays, so nothing needs writing ahead
        while minutes is None or played < minutes * 60:
            segment = station.next()
            write_segment(segment, folder, audio, force=force)
            if not quiet:
                say(_line(segment))
            played += segment.seconds
        return
    ready: queue.Queue = queue.Queue(maxsize=ahead)
    stop = threading.Event()
    failed: list[BaseException] = []

    def produce() -> None:
        try:
            while not stop.is_set():
                segment = station.next()
                write_segment(segment, folder, "wav")
                while not stop.is_set():
                    try:
                        ready.put(segment, timeout=0.2)
                        break
                    except queue.Full:
                        continue
        except BaseException as e:  # noqa: BLE001 (handed to the main thread, which reports it)
            failed.append(e)
            stop.set()

    threading.Thread(target=produce, daemon=True).start()
    underruns, waited = 0, 0.0
    try:
        while minutes is None or played < minutes * 60:
            t0 = time.perf_counter()
            while True:
                try:
                    segment = ready.get(timeout=0.2)
                    break
                except queue.Empty:
                    if failed:
                        raise failed[0] from None
            if played > 0 and time.perf_counter() - t0 > 0.05:
                underruns += 1
                waited += time.perf_counter() - t0
            if not quiet:
                say(_line(segment))
            stem = folder / f"{segment.index + 1:06d}"
            subprocess.run([*player, str(stem.with_suffix(".wav"))], check=False)
            for suffix in (".wav", ".mid", ".json"):
                stem.with_suffix(suffix).unlink(missing_ok=True)
            played += segment.seconds
    finally:
        stop.set()
        shutil.rmtree(folder, ignore_errors=True)
        if not quiet:
            say(f"radio: {played / 60:.1f} minutes played, {underruns} gaps ({waited:.1f} s waiting)")


def _line(segment) -> str:
    back = f", returning to piece {segment.reprise_of + 1}" if segment.reprise_of is not None else ""
    return f"{segment.index + 1:>4}  {segment.model}  {segment.key}  {segment.form}{back}  ({segment.seconds:.0f} s)"
