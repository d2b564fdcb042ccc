"""The radio: music that goes on until stopped and never loops.

A Station writes one piece (a segment) after another, each planned by its model's plan model,
so that sections return inside it; and it plans the programme above the pieces:
- keys move and come home: every HOME_EVERY-th segment is in the home key, the others in a key
  closely related to it (IV, V, ii, iii, vi: theory's neighbours on the circle of fifths), each
  a step from the one before where it can be;
- themes come back: every REPRISE_EVERY-th segment opens with the first bars of an earlier
  segment by the same model in the same mode, moved to its own key, and the model continues
  from them;
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

from cadenza.score import Key, Score, excerpt, transpose

HOME_EVERY = 4  # segments: the home key returns at least this often
REPRISE_EVERY = 3  # segments: an earlier theme returns this often
REPRISE_BARS = 2
# closely related keys, as (semitones above the home tonic, mode) for a major and a minor home
RELATED = {
    "major": [(5, "major"), (7, "major"), (2, "minor"), (4, "minor"), (9, "minor")],
    "minor": [(3, "major"), (5, "minor"), (7, "minor"), (8, "major"), (10, "major")],
}


@dataclass
class Segment:
    index: int
    model: str
    key: Key
    score: Score  # as written
    played: Score  # as performed (what the audio sounds)
    seconds: float  # how long it plays
    writing_seconds: float  # how long writing, performing and rendering took (not the audio file)
    reprise_of: int | None = None
    form: str = ""

    def record(self) -> dict:
        return {
            "index": self.index,
            "model": self.model,
            "key": str(self.key),
            "form": self.form,
            "reprise_of": self.reprise_of,
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
        choices = [Key(0.0, (home.tonic + d) % 12, m) for d, m in RELATED[home.mode]]
        last = self._key or home
        near = [k for k in choices if k != last and _fifths_apart(k, last) <= 1] or [k for k in choices if k != last]
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
        meter = c.default_meter()
        tempo = self.tempo or _usual_tempo(c)
        earlier = [o for o in self._openings.get(name, []) if o[2].mode == key.mode]  # a theme keeps its mode
        reprise_of, form = None, ""
        if i % REPRISE_EVERY == REPRISE_EVERY - 1 and earlier:
            j, opening, was = earlier[int(rng.integers(len(earlier)))]
            prompt = transpose(opening, _nearest(key.tonic - was.tonic))
            prompt.keys = [replace(key, start_beats=0.0)]
            prompt.tempos = [replace(t, bpm=tempo) for t in prompt.tempos[:1]]
            score = c.continue_score(prompt, bars=self.bars - REPRISE_BARS, seed=seed, source=f"piece {j + 1}")
            reprise_of, form = j, f"opening of piece {j + 1}, continued"
        else:
            plan = c.plan_for(None, self.bars, meter, key, seed)
            score = c.generate(bars=self.bars, key=key, meter=meter, tempo_bpm=tempo, seed=seed, plan=plan)
            form = plan.form() if plan is not None else ""
            self._openings.setdefault(name, []).append((i, excerpt(score, 1, REPRISE_BARS), key))
        score.title = f"Cadenza radio · {i + 1} · {name} · {key}"
        performance = perform(score, self.performer, seed, self.expressiveness)
        played = performance.to_score()
        seconds = float(max((n[3] for n in performance.notes), default=0.0)) + 1.0  # and a breath
        self._key, self._index = key, i + 1
        return Segment(i, name, key, score, played, seconds, time.perf_counter() - t0, reprise_of, form)


def write_segment(segment: Segment, folder: Path, audio: str = "ogg") -> list[Path]:
    """NNNNNN.mid (as written), NNNNNN.AUDIO (as performed) and NNNNNN.json in `folder`."""
    from cadenza.io import write_score
    from cadenza.io.audio import write_audio
    from cadenza.io.files import atomic_write
    from cadenza.render import with_chords_sounding

    stem = folder / f"{segment.index + 1:06d}"
    paths = [write_score(segment.score, stem.with_suffix(".mid"))]
    paths.append(write_audio(with_chords_sounding(segment.played), stem.with_suffix(f".{audio}")))
    record = json.dumps(segment.record(), indent=1) + "\n"
    paths.append(atomic_write(stem.with_suffix(".json"), record.encode()))
    return paths


def _usual_tempo(c) -> float:
    """A model's own tempo: chorales slow, tunes lively."""
    return 72.0 if c.tokenizer.config.n_voices >= 4 else 108.0


def _nearest(semitones: int) -> int:
    """The transposition by `semitones` (mod 12) that moves least: -5..6."""
    return (semitones + 5) % 12 - 5


def _fifths_apart(a: Key, b: Key) -> int:
    """Steps between two keys on the circle of fifths, a minor key counted at its relative major."""
    ta = (a.tonic + (3 if a.mode == "minor" else 0)) % 12
    tb = (b.tonic + (3 if b.mode == "minor" else 0)) % 12
    d = ((ta - tb) * 7) % 12
    return min(d, 12 - d)
