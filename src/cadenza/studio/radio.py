"""The radio: music that goes on until stopped and never loops.

A Station writes one piece (a segment) after another, each planned by its model's plan model,
so that sections return inside it; and it plans the programme above the pieces:
- keys move and come home: every HOME_EVERY-th segment is in the home key, the others in a key
  closely related to it (theory.related_keys: IV, V, ii, iii, vi of a major key), each a step
  from the one before on the circle of fifths where it can be;
- themes come back: every REPRISE_EVERY-th segment opens with the first bars of an earlier
  segment by the same model in the same mode (when there is one), moved to its own key, and
  the model continues from them;
- the model rotates when several are given.
Each segment is performed (the rules performer by default) and rendered to audio. The same
seed gives the same programme.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from cadenza.plan.realize import transposition
from cadenza.score import Key, Score, excerpt, transpose
from cadenza.theory import key_signature, related_keys

HOME_EVERY = 4  # segments: the home key returns at least this often
REPRISE_EVERY = 3  # segments: an earlier theme returns this often
REPRISE_BARS = 2
OPENINGS_KEPT = 8  # per model: the earlier openings a reprise may bring back


@dataclass
class Segment:
    index: int
    model: str
    key: Key
    score: Score  # as written
    played: Score  # as performed (what the audio sounds)
    seconds: float  # how long it plays
    writing_seconds: float  # how long writing, performing and rendering took (not the audio file)
    reprise_of: int | None = None  # the index of the earlier segment whose opening returns
    form: str = ""
    seed: int = 0  # the seed it was written and performed with

    def record(self) -> dict:
        return {
            "index": self.index,  # from 0; the piece's number is index + 1
            "piece": self.index + 1,
            "model": self.model,
            "seed": self.seed,
            "key": str(self.key),
            "form": self.form,
            "reprise_of": self.reprise_of,
            "returns_piece": None if self.reprise_of is None else self.reprise_of + 1,
            "seconds": round(self.seconds, 3),
            "writing_seconds": round(self.writing_seconds, 3),
            "title": self.score.title,
        }


@dataclass
class Station:
    models: list[str]
    home: Key | None = None  # default: the first model's most common key, drawn with the seed
    seed: int = 0
    bars: int = 16
    tempo: float | None = None  # default: each model's usual tempo
    performer: str = "rules"
    expressiveness: float = 1.0
    _composers: dict = field(default_factory=dict)
    _openings: dict = field(default_factory=dict)  # model -> [(segment index, its opening bars, its key)]
    _key: Key | None = None
    _index: int = 0

    def composer(self, name: str):
        from cadenza.compose import composer

        if name not in self._composers:
            self._composers[name] = composer.load(name)
        return self._composers[name]

    def key_for(self, index: int, rng: np.random.Generator) -> Key:
        """Segment `index`'s key: home every HOME_EVERY-th segment (the first among them),
        else a key closely related to home, one step from the last where there is one."""
        home = self.home
        assert home is not None
        if index % HOME_EVERY == 0:
            return home
        choices = related_keys(home)
        last = self._key or home
        near = [k for k in choices if k != last and abs(key_signature(k) - key_signature(last)) <= 1]
        near = near or [k for k in choices if k != last]
        return near[int(rng.integers(len(near)))]

    def next(self) -> Segment:
        """Write, perform and render the next segment."""
        from cadenza.perform import perform

        t0 = time.perf_counter()
        i = self._index
        rng = np.random.default_rng([self.seed, i])
        name = self.models[i % len(self.models)]
        c = self.composer(name)
        if self.home is None:
            self.home = c.default_key(self.seed)
        key = self.key_for(i, rng)
        seed = self.seed * 1000 + i
        meter = c.meter_for(self.bars, seed)  # as `cadenza generate` draws it
        tempo = self.tempo or _usual_tempo(c)
        earlier = [o for o in self._openings.get(name, []) if o[2].mode == key.mode]  # a theme keeps its mode
        reprise_of, form = None, ""
        if i % REPRISE_EVERY == REPRISE_EVERY - 1 and earlier:
            j, opening, was = earlier[int(rng.integers(len(earlier)))]
            prompt = transpose(opening, transposition(was, key))
            prompt.keys = [replace(key, start_beats=0.0)]
            prompt.tempos = [replace(t, bpm=tempo) for t in prompt.tempos[:1]]
            score = c.continue_score(prompt, bars=self.bars - REPRISE_BARS, seed=seed, source=f"piece {j + 1}")
            reprise_of, form = j, f"opening of piece {j + 1}, continued"
        else:
            plan = c.plan_for(None, self.bars, meter, key, seed)
            score = c.generate(bars=self.bars, key=key, meter=meter, tempo_bpm=tempo, seed=seed, plan=plan)
            form = plan.form() if plan is not None else ""
            kept = self._openings.setdefault(name, [])
            kept.append((i, excerpt(score, 1, REPRISE_BARS), key))
            del kept[:-OPENINGS_KEPT]
        score.title = f"Cadenza radio · {i + 1} · {name} · {key}"
        performance = perform(score, self.performer, seed, self.expressiveness)
        played = performance.to_score()
        seconds = float(max((n[3] for n in performance.notes), default=0.0)) + 1.0  # and a breath
        self._key, self._index = key, i + 1
        return Segment(i, name, key, score, played, seconds, time.perf_counter() - t0, reprise_of, form, seed)


def write_segment(
    segment: Segment, folder: Path, audio: str = "ogg", cover: bool = False, force: bool = False
) -> list[Path]:
    """NNNNNN.mid (as written), NNNNNN.AUDIO (as performed) and NNNNNN.json in `folder`; with
    `cover`, its picture NNNNNN.cover.png too."""
    from cadenza.io import write_score
    from cadenza.io.audio import write_audio
    from cadenza.io.cover import write_cover
    from cadenza.io.files import atomic_write
    from cadenza.render import with_chords_sounding

    stem = folder / f"{segment.index + 1:06d}"
    paths = [write_score(segment.score, stem.with_suffix(".mid"), force=force)]
    paths.append(write_audio(with_chords_sounding(segment.played), stem.with_suffix(f".{audio}"), force=force))
    if cover:
        paths.append(write_cover(segment.score, stem.with_suffix(".cover.png"), size=256, force=force))
    record = json.dumps(segment.record(), indent=1) + "\n"
    paths.append(atomic_write(stem.with_suffix(".json"), record.encode(), force=force))
    return paths


def _usual_tempo(c) -> float:
    """A model's own tempo: chorales slow, tunes lively."""
    return 72.0 if c.tokenizer.config.n_voices >= 4 else 108.0


class Broadcast:
    """The studio's radio: a Station written ahead of its listeners in a thread, into `folder`
    (NNNNNN.ogg, .mid, .json), at most `ahead` pieces beyond the furthest one asked for, and
    only the last `keep` pieces kept on disk."""

    def __init__(self, folder: Path, station: Station, ahead: int = 2, keep: int = 12):
        """`folder` is this broadcast's own: another broadcast never writes there."""
        import threading

        self.folder, self.station, self.ahead, self.keep = folder, station, ahead, keep
        folder.mkdir(parents=True, exist_ok=True)
        self.records: dict[int, dict] = {}
        self.wanted = 0
        self.error: str | None = None
        self.stopped = False
        self._cv = threading.Condition()
        threading.Thread(target=self._produce, daemon=True).start()

    def _produce(self) -> None:
        import shutil

        while True:
            with self._cv:
                while not self.stopped and len(self.records) and max(self.records) >= self.wanted + self.ahead:
                    self._cv.wait()
                if self.stopped:
                    break
            try:
                segment = self.station.next()
                if self.stopped:
                    break
                write_segment(segment, self.folder, "ogg", cover=True)
            except Exception as e:  # noqa: BLE001 (a listener is told why the music stopped)
                with self._cv:
                    self.error = (str(e).splitlines() or [type(e).__name__])[0]
                    self._cv.notify_all()
                return
            with self._cv:
                if self.stopped:
                    break
                self.records[segment.index] = segment.record()
                for old in [i for i in self.records if i <= segment.index - self.keep]:
                    del self.records[old]
                    for suffix in (".ogg", ".mid", ".json", ".cover.png"):
                        (self.folder / f"{old + 1:06d}{suffix}").unlink(missing_ok=True)
                self._cv.notify_all()
        shutil.rmtree(self.folder, ignore_errors=True)  # a stopped broadcast leaves nothing behind

    def piece(self, index: int, timeout: float = 60.0) -> dict | None:
        """Piece `index`'s record once it is written (asking for it moves the producer on);
        None if it was dropped long ago or is not ready within `timeout`."""
        import time as _time

        end = _time.monotonic() + timeout
        with self._cv:
            if index > max(self.records, default=-1) + self.ahead + 1:  # not asked for yet: nobody is there
                return None
            self.wanted = max(self.wanted, index)
            self._cv.notify_all()
            while index not in self.records and self.error is None:
                if self.records and index <= max(self.records) - self.keep or _time.monotonic() >= end:
                    return None
                self._cv.wait(timeout=max(0.0, end - _time.monotonic()))
            if self.error is not None and index not in self.records:
                from cadenza.errors import OptionError

                raise OptionError(f"the radio stopped: {self.error}")
            return dict(self.records[index])

    def path(self, index: int, suffix: str) -> Path | None:
        with self._cv:
            if index not in self.records:
                return None
        return self.folder / f"{index + 1:06d}{suffix}"

    def stop(self) -> None:
        """Stop writing; the folder goes once the piece being written is done."""
        with self._cv:
            self.stopped = True
            self._cv.notify_all()
