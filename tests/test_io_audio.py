"""cadenza.io.audio: real SoundFont synthesis, audio files written and read back."""

import numpy as np
import pytest

from cadenza.errors import OptionError, OutputExistsError
from cadenza.io.audio import SAMPLE_RATE, render, write_audio
from cadenza.score import Note, Part, Score, Tempo
from conftest import make_score


def one_note(program: int = 0, is_drum: bool = False, bpm: float = 120.0) -> Score:
    return Score(
        parts=[Part("p", program, is_drum, [Note(60 if not is_drum else 38, 0.0, 2.0, 100)])], tempos=[Tempo(0.0, bpm)]
    )


def test_each_program_sounds_different_and_length_follows_the_tempo():
    piano, violin = render(one_note(0)), render(one_note(40))
    assert piano.shape == violin.shape and piano.dtype == np.float32 and piano.shape[1] == 2
    assert abs(piano).max() > 0.05 and abs(violin).max() > 0.05
    assert not np.allclose(piano, violin, atol=1e-3)  # the program is honoured, not one timbre for all
    slow = render(one_note(0, bpm=60))  # two beats: 1 s at 120 bpm, 2 s at 60 bpm, plus the same tail
    assert len(slow) - len(piano) == SAMPLE_RATE


def test_drums_render_from_the_percussion_bank():
    assert abs(render(one_note(is_drum=True))).max() > 0.05


def test_rendering_is_deterministic():
    assert np.array_equal(render(make_score(bars=1)), render(make_score(bars=1)))


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg"])
def test_audio_files_are_written_and_read_back(tmp_path, suffix):
    import soundfile

    path = write_audio(make_score(bars=1), tmp_path / f"a{suffix}")
    audio, rate = soundfile.read(path)
    assert rate == SAMPLE_RATE and audio.ndim == 2 and abs(audio).max() > 0.05
    with pytest.raises(OutputExistsError):
        write_audio(make_score(bars=1), path)
    with pytest.raises(OptionError, match="mp3"):
        write_audio(make_score(bars=1), tmp_path / "a.mp3")


def test_long_ogg_is_written_in_blocks_without_crashing(tmp_path):
    import soundfile

    # 48 s of music: libsndfile's Vorbis encoder crashed when given this much in one call
    score = Score(
        parts=[Part("p", 0, False, [Note(60 + i % 12, i * 1.0, 1.0) for i in range(96)])], tempos=[Tempo(0.0, 120.0)]
    )
    path = write_audio(score, tmp_path / "long.ogg")
    info = soundfile.info(str(path))
    assert info.duration == pytest.approx(48 + 1.5, abs=0.1)


def test_every_rendering_has_the_same_loudness():
    """A soft piano harmonization came out three times quieter than a string chorale (RMS 0.041
    against 0.145): now each is scaled to the same integrated loudness."""
    import pyloudnorm

    from cadenza.io.audio import LOUDNESS_LUFS, PEAK

    soft_piano = make_score(4, bars=4)
    for p in soft_piano.parts:
        p.program, p.notes = 0, [Note(n.pitch, n.start_beats, n.duration_beats, 30) for n in p.notes]
    loud_strings = make_score(4, bars=4)
    for p in loud_strings.parts:
        p.program, p.notes = 48, [Note(n.pitch, n.start_beats, n.duration_beats, 120) for n in p.notes]
    meter = pyloudnorm.Meter(SAMPLE_RATE)
    for score in (soft_piano, loud_strings):
        samples = render(score)
        assert abs(meter.integrated_loudness(samples) - LOUDNESS_LUFS) < 0.5
        assert abs(samples).max() <= PEAK + 1e-6


def test_audio_starts_at_the_first_note():
    """A pickup of one beat in 4/4 (beat 3 of a padded bar) began with 1.5 s of silence."""
    pickup = Score(parts=[Part("p", 0, False, [Note(67, 3.0, 1.0, 90), Note(72, 4.0, 2.0, 90)])])
    samples = render(pickup)
    assert np.flatnonzero(abs(samples).max(axis=1) > 1e-3)[0] < 0.02 * SAMPLE_RATE
    assert len(samples) == round((1.5 + 1.5) * SAMPLE_RATE)  # 3 beats at 120 bpm from the first note, then the tail
