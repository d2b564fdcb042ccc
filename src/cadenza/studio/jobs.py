"""A bounded queue of jobs, each a `cadenza` command run as a child process.

A child process per job gives each its time limit and its cancel (the process group is killed),
and keeps a crash inside one from taking the server down. The queue holds at most `max_waiting`
jobs beside those running; one more is refused (QueueFull), and the API answers 429 with
Retry-After. Finished jobs' pieces are in the store; the jobs themselves live in memory.
"""

from __future__ import annotations

import collections
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from cadenza.errors import CadenzaError
from cadenza.studio.commands import EDITS, FORMATS
from cadenza.studio.store import Store

STEM = re.compile(r"^piece(?:-(\d+))?((?:\.[a-z]+)+)$")
LOG_LINES = 12  # of a job's output, shown as its log
KEEP_LINES = 500  # of a job's output, kept to find its error in
KEEP_JOBS = 500  # ended jobs still answered by id; older ones are forgotten


class QueueFull(CadenzaError):
    def __init__(self, retry_after: int):
        super().__init__(f"the studio is busy ({retry_after} s until a place is likely free); try again then")
        self.retry_after = retry_after


@dataclass
class Job:
    command: str
    args: list[str]  # after `cadenza COMMAND INPUT`
    options: dict  # as the client gave them, recorded in each version
    source: dict | None = None  # {"piece", "version", "path"} the command reads
    id: str = field(default_factory=lambda: secrets.token_hex(6))
    state: str = "queued"  # queued, running, storing, done, failed, cancelled
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    pieces: list[str] = field(default_factory=list)
    log: str = ""
    process: subprocess.Popen | None = None
    out: Path | None = None  # where its command writes, while it runs

    def written(self) -> int:
        """Pieces its command has finished writing so far: each piece's JSON record comes last."""
        if self.out is None:
            return 0
        try:
            return len([p for p in self.out.iterdir() if STEM.match(p.name) and p.name.endswith(".json")])
        except OSError:
            return 0

    def expected(self) -> int:
        n = self.options.get("n", 1)
        return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1

    def clean_up(self) -> None:
        """Remove what was made for this job alone: evaluate's copies of the pieces it reads."""
        if self.source is not None and self.source.get("pieces"):
            shutil.rmtree(self.source["path"], ignore_errors=True)

    def to_dict(self, position: int = 0) -> dict:
        end = self.finished or time.time()
        return {
            "id": self.id,
            "command": self.command,
            "state": "running" if self.state == "storing" else self.state,
            "position": position,
            "seconds": round(end - (self.started or end), 2),
            "error": self.error,
            "pieces": list(self.pieces),
            "log": self.log,
            "progress": self._progress(),
        }

    def _progress(self) -> dict:
        """How many of the pieces asked for are written: all once done, none before it runs."""
        of = self.expected()
        if self.state == "done":
            return {"written": of, "of": of}
        return {"written": min(of, self.written()) if self.state in ("running", "storing") else 0, "of": of}


class JobQueue:
    def __init__(self, store: Store, workers: int = 1, max_waiting: int = 8, time_limit: float = 300.0):
        self.store = store
        self.max_waiting = max_waiting
        self.time_limit = time_limit
        self.jobs: dict[str, Job] = {}
        self.waiting: collections.deque[Job] = collections.deque()
        self._cv = threading.Condition()
        self._seconds: collections.deque[float] = collections.deque(maxlen=20)  # recent jobs' run times
        self._workers = [threading.Thread(target=self._work, daemon=True) for _ in range(workers)]
        for w in self._workers:
            w.start()

    def submit(self, job: Job) -> Job:
        with self._cv:
            if len(self.waiting) >= self.max_waiting:
                raise QueueFull(self.retry_after())
            self.jobs[job.id] = job
            self.waiting.append(job)
            ended = [j for j in self.jobs.values() if j.finished is not None]
            for old in sorted(ended, key=lambda j: j.finished or 0.0)[:-KEEP_JOBS]:  # the oldest ended jobs
                del self.jobs[old.id]
            self._cv.notify()
        return job

    def retry_after(self) -> int:
        typical = sorted(self._seconds)[len(self._seconds) // 2] if self._seconds else 10.0
        return max(1, round(typical * (len(self.waiting) + 1) / len(self._workers)))

    def get(self, job_id: str) -> dict:
        with self._cv:
            job = self.jobs.get(job_id)
            if job is None:
                raise KeyError(job_id)
            position = self.waiting.index(job) + 1 if job in self.waiting else 0
            return job.to_dict(position)

    def cancel(self, job_id: str) -> dict:
        with self._cv:
            job = self.jobs.get(job_id)
            if job is None:
                raise KeyError(job_id)
            if job.state == "queued":
                self.waiting.remove(job)
                job.state, job.finished = "cancelled", time.time()
                job.clean_up()
            elif job.state == "running":  # not once it is storing what it wrote: that is done at once
                job.state = "cancelled"
                _kill(job.process)
        return self.get(job_id)

    def _work(self) -> None:
        while True:
            with self._cv:
                while not self.waiting:
                    self._cv.wait()
                job = self.waiting.popleft()
                job.state, job.started = "running", time.time()
            try:
                self._run(job)
            except Exception as e:  # noqa: BLE001 (a job's failure is its own, never the server's)
                job.error = job.error or f"the studio could not run or store it ({type(e).__name__})"
                job.state = "failed" if job.state != "cancelled" else job.state
            finally:
                job.finished = time.time()
                job.process = None
                self._seconds.append(job.finished - (job.started or job.finished))

    def _run(self, job: Job) -> None:
        scratch = self.store.scratch_dir()
        try:
            out = scratch / "out"
            out.mkdir()
            argv = [sys.executable, "-m", "cadenza", job.command]
            if job.source is not None:
                argv.append(str(job.source["path"]))
            argv += job.args + ["--out", str(out / "piece")]
            if job.command in FORMATS:
                argv += ["--formats", FORMATS[job.command]]
            env = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="100")
            with self._cv:
                if job.state == "cancelled":
                    return
                job.out = out
                job.process = subprocess.Popen(
                    argv,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                    env=env,
                    cwd=scratch,
                    preexec_fn=_die_with_parent if _PRCTL is not None else None,
                )
            said: list[str] = []  # what the command says, as it says it (shown live as the job's log)
            reader = threading.Thread(target=_read_lines, args=(job, scratch, said), daemon=True)
            reader.start()
            try:
                job.process.wait(timeout=self.time_limit)
            except subprocess.TimeoutExpired:
                _kill(job.process)
                job.process.wait()
                reader.join(5)
                job.state, job.error = "failed", f"stopped after its time limit of {self.time_limit:g} s"
                return
            reader.join(5)
            with self._cv:
                if job.state == "cancelled":
                    return
                job.state = "storing"  # too late to cancel
            if job.process.returncode != 0:
                errors = [ln for ln in said if ln.startswith("error: ")]
                job.error = errors[-1][len("error: ") :][:500] if errors else "the command failed; see its log"
                job.state = "failed"
                return
            self._keep(job, out)
            if not job.pieces:
                job.state, job.error = "failed", "the command wrote nothing"
                return
            job.state = "done"
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            job.clean_up()

    def _keep(self, job: Job, out: Path) -> None:
        """Move what the command wrote into the store: one piece (or version) per output stem."""
        groups: dict[int, dict[str, Path]] = {}
        for path in out.iterdir():
            m = STEM.match(path.name)
            if m:
                groups.setdefault(int(m.group(1) or 1), {})["piece" + m.group(2)] = path
        src = job.source
        if src is not None and src.get("pieces"):  # evaluate: a report on several pieces, kept as a piece of its own
            for i in sorted(groups):
                folder = out / f"report-{i}"
                folder.mkdir()
                for name, path in groups[i].items():
                    shutil.move(str(path), folder / name)
                title = f"evaluation of {len(src['pieces'])} pieces against {job.options.get('reference')}"
                job.pieces.append(
                    self.store.add(folder, title, job.command, dict(job.options, pieces=src["pieces"]), None)["id"]
                )
            return
        parent = {"piece": src["piece"], "version": src["version"]} if src else None
        for i in sorted(groups):
            files = groups[i]
            if job.command == "analyze":
                self.store.add_files(src["piece"], src["version"], files)  # type: ignore[index]
                job.pieces.append(src["piece"])  # type: ignore[index]
                continue
            folder = out / f"piece-files-{i}"
            folder.mkdir()
            if job.command == "perform":  # the score unchanged, its performance new
                files = {("piece.performed.mid" if k == "piece.mid" else k): p for k, p in files.items()}
                before = src["path"].parent  # type: ignore[index]
                for name in ("piece.musicxml", "piece.mid", "piece.abc", "piece.cover.png"):
                    if (before / name).exists():
                        shutil.copy(before / name, folder / name)
            for name, path in files.items():
                shutil.move(str(path), folder / name)
            record = _record(folder)
            options = dict(job.options, seed_used=record.get("seed"))
            if job.command in EDITS:
                self.store.add_version(src["piece"], folder, job.command, options, parent)  # type: ignore[index]
                job.pieces.append(src["piece"])  # type: ignore[index]
            else:
                source_title = self.store.piece(src["piece"])["title"] if src is not None else None
                title = _title(record, job.command, source_title, job.options)
                job.pieces.append(self.store.add(folder, title, job.command, options, parent)["id"])


DONE = {"harmonize": "harmonized", "continue": "continued", "chords": "with chords"}


def _read_lines(job: Job, scratch: Path, said: list[str]) -> None:
    """Read a job's output line by line into `said` and its log: the client's piece is "the
    piece", not a path on the server, and lines naming the files written are left out."""
    for raw in job.process.stdout:  # type: ignore[union-attr]
        line = raw.decode("utf-8", "replace").rstrip("\n")
        if job.source is not None:
            line = line.replace(f"{job.source['path']}: ", "").replace(str(job.source["path"]), "the piece")
        if not line.strip() or line.startswith(str(scratch)):
            continue
        said.append(line[:300])
        if len(said) > 2 * KEEP_LINES:  # a command that talks on and on: its last lines are what tell
            del said[:KEEP_LINES]
        job.log = "\n".join(said[-LOG_LINES:])


def _record(folder: Path) -> dict:
    """The JSON record the command wrote beside its output ({} if none)."""
    import json

    try:
        data = json.loads((folder / "piece.json").read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _title(record: dict, command: str, source_title: str | None, options: dict | None = None) -> str:
    """A new piece's title: a tune it came from keeps its name ("Four bars · harmonized · seed 1",
    "Four bars · folk band"), else the model, key and seed ("folk · G major · seed 2")."""
    seed = f"seed {record['seed']}" if record.get("seed") is not None else None
    bits: list[object]
    if command == "arrange" and source_title is not None:  # its seed only varies the patterns: in its record
        bits = [source_title, f"{(options or {}).get('style') or 'folk'} band"]
    elif source_title is not None:
        bits = [source_title, DONE.get(command, command), seed]
    else:
        bits = [record.get("model") or command, record.get("key"), seed]
    return " · ".join(str(b) for b in bits if b)


def _prctl():
    import ctypes

    return ctypes.CDLL(None, use_errno=True).prctl


_PRCTL = _prctl() if sys.platform == "linux" else None  # loaded here: nothing is imported after fork


def _die_with_parent() -> None:
    """In a job's process, before it starts: be killed when the server dies (Linux), so a server
    killed mid-job leaves no orphan working on."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _kill(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
