"""Score -> audio with a General MIDI SoundFont, offline.

The synthesizer is TinySoundFont (the `tinysoundfont` package, installed without its pyaudio
dependency: we only render to arrays). The SoundFont is the small General MIDI bank that ships
inside pretty_midi's wheel (TimGM6mb.sf2), or the file named by $CADENZA_SOUNDFONT (e.g.
Debian's /usr/share/sounds/sf2/FluidR3_GM.sf2). Each part plays on the channel the MIDI writer
gives it, with its own General MIDI program; drum parts use the percussion bank.

The sustain pedal (Part.pedals) is played here, not by the synthesizer: TinySoundFont ignores
controller 64. A note released while its part's pedal is down sounds on until the pedal comes
up; one struck again while the pedal still holds it is let go first (note-off, then note-on),
so that each strike starts one voice. A pedal that comes up and goes straight down again
(spans that touch) lets go of every note it held. A score without pedals renders exactly as
it did before pedals existed.

Every command's audio has the same loudness: -16 LUFS integrated (ITU-R BS.1770, measured by
pyloudnorm), with peaks kept under 0.9, so a harmonization sounds as loud as a generated piece
whatever its instruments. The audio starts at the first note: a pickup's empty beats (or a
file's leading silence) are not played as silence.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from cadenza.errors import OptionError
from cadenza.io.files import atomic_write
from cadenza.score import Score, beats_to_seconds

SAMPLE_RATE = 44100
TAIL_SECONDS = 1.5  # let the last notes ring out
LOUDNESS_LUFS = -16.0  # integrated loudness of every rendering (streaming services use -14 to -16)
PEAK = 0.9
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
_SUBTYPES = {".wav": "PCM_16", ".flac": "PCM_16", ".ogg": "VORBIS"}
_BLOCK_FRAMES = 1 << 15


def soundfont_path() -> Path:
    """$CADENZA_SOUNDFONT if set, else the General MIDI SoundFont shipped with pretty_midi."""
    env = os.environ.get("CADENZA_SOUNDFONT")
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise OptionError(f"CADENZA_SOUNDFONT={env}: no such SoundFont file")
        return path
    import pretty_midi

    return Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"


def render(score: Score, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Stereo float32 samples, shape (n, 2), at LOUDNESS_LUFS from the first note on, peak at most
    PEAK. Deterministic for a Score."""
    import tinysoundfont

    from cadenza.io.midi import DRUM_CHANNEL, part_channels, pedal_spans

    synth = tinysoundfont.Synth(samplerate=sample_rate)
    sfid = synth.sfload(str(soundfont_path()))
    events = []  # (sample, order, kind, channel, pitch, velocity); note-offs before note-ons
    first = min((n.start_beats for n in score.notes()), default=0.0)
    lead = round(beats_to_seconds(first, score.tempos) * sample_rate)  # silence before the first note: cut
    for part, channel in zip(score.parts, part_channels(score)):
        if channel == DRUM_CHANNEL:
            synth.program_select(channel, sfid, 128, 0, is_drums=True)
        else:
            try:
                synth.program_select(channel, sfid, 0, part.program)
            except RuntimeError:  # a SoundFont without that preset: fall back to the piano
                synth.program_select(channel, sfid, 0, 0)

        def to_sample(beats: float) -> int:
            return round(beats_to_seconds(beats, score.tempos) * sample_rate) - lead

        notes = []  # (on, off, pitch, velocity) in samples
        for n in part.notes:
            on = to_sample(n.start_beats)
            notes.append((on, max(on + 1, to_sample(n.end_beats)), n.pitch, max(1, n.velocity)))
        if part.pedals:
            notes = sustained(notes, pedal_spans(part.pedals, to_sample))
        for on, off, pitch, velocity in notes:
            events.append((on, 1, channel, pitch, velocity))
            events.append((off, 0, channel, pitch, 0))
    events.sort()
    total = (events[-1][0] if events else 0) + round(TAIL_SECONDS * sample_rate)
    out = np.zeros((total, 2), dtype=np.float32)
    now = 0
    for sample, is_on, channel, pitch, velocity in events:
        if sample > now:
            _generate(synth, out[now:sample])
            now = sample
        if is_on:
            synth.noteon(channel, pitch, velocity)
        else:
            synth.noteoff(channel, pitch)
    if total > now:
        _generate(synth, out[now:total])
    return normalize_loudness(out, sample_rate)


def sustained(notes: list[tuple[int, int, int, int]], spans: list[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """Notes (on, off, pitch, velocity) as the pedal plays them, `spans` its (down, up) times
    (sorted, apart: pedal_spans), all in samples. A note released while the pedal is down
    (down < off < up; released as it goes down or up, it stops) sounds until it comes up. A note
    that sounds on only by the pedal ends where its key is struck again."""
    import bisect

    downs = [down for down, _ in spans]
    result: list[list[int]] = []  # [on, off as played, pitch, velocity, off as written]
    held: dict[int, list[list[int]]] = {}  # pitch -> its notes that may still sound
    for on, off, pitch, velocity in sorted(notes):
        i = bisect.bisect_left(downs, off) - 1  # the last span down before the release
        played = spans[i][1] if i >= 0 and off < spans[i][1] else off
        sounding = []
        for note in held.get(pitch, []):
            if note[4] <= on < note[1]:  # held by the pedal alone: struck again
                note[1] = on
            if note[1] > on:
                sounding.append(note)
        note = [on, played, pitch, velocity, off]
        held[pitch] = [*sounding, note]
        result.append(note)
    return [(on, off, pitch, velocity) for on, off, pitch, velocity, _ in result]


def normalize_loudness(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Scale `samples` (in place) to LOUDNESS_LUFS, then down if a peak would pass PEAK. Audio
    too short or too quiet to measure (under 0.4 s, or silence) is only kept under PEAK."""
    import warnings

    import pyloudnorm

    gain = 1.0
    if len(samples) >= 0.4 * sample_rate:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyloudnorm warns of clipping we correct below
            loudness = pyloudnorm.Meter(sample_rate).integrated_loudness(samples)
        if np.isfinite(loudness):
            gain = 10 ** ((LOUDNESS_LUFS - loudness) / 20)
    peak = max(float(samples.max()), -float(samples.min())) if len(samples) else 0.0  # abs().max(), no copy
    if peak * gain > PEAK:
        gain = PEAK / peak
    samples *= np.float32(gain)
    return samples


def _generate(synth, frames: np.ndarray) -> None:
    """Fill `frames`, a contiguous (n, 2) float32 slice of the output, from the synthesizer
    (in place: no buffer of its own to allocate and copy)."""
    synth.generate(len(frames), buffer=memoryview(frames).cast("B"))  # type: ignore[arg-type]


def write_audio(score: Score, path: str | Path, force: bool = False, sample_rate: int = SAMPLE_RATE) -> Path:
    """Render `score` and write it as .wav (16-bit), .flac or .ogg (Vorbis), atomically."""
    import soundfile

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in AUDIO_SUFFIXES:
        raise OptionError(f"{path}: cannot write {suffix or 'files without a suffix'}; use {', '.join(AUDIO_SUFFIXES)}")
    samples = render(score, sample_rate)

    def write(tmp: Path) -> None:
        # in blocks: libsndfile's Vorbis encoder crashes (SIGSEGV) when handed a long file in
        # one call (python-soundfile issue 426; seen here with 40 s of stereo)
        with soundfile.SoundFile(
            str(tmp), "w", sample_rate, 2, subtype=_SUBTYPES[suffix], format=suffix[1:].upper()
        ) as f:
            for i in range(0, len(samples), _BLOCK_FRAMES):
                f.write(samples[i : i + _BLOCK_FRAMES])

    return atomic_write(path, write, force=force)
