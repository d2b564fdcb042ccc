"""Planned cadences: the chords under a phrase end, narrowed before the model fills them."""

from __future__ import annotations

import numpy as np

from cadenza.plan.constraints import narrow_to_chord
from cadenza.score import Key
from cadenza.theory import cadence_chords, leading_tone, scale


def plan_cadence(
    allowed: np.ndarray, steps: range, melody_pitch: int, key: Key, final: bool, half: bool = False
) -> bool:
    """Narrow the chord under a phrase end (in place, at each of `steps`): the tonic triad (a
    Picardy third allowed in minor at the final one) with the tonic in the bass, or, for an
    inner phrase end whose melody note is not in it, the dominant seventh chord with the
    dominant in the bass; an inner end that is a `half` close (`half_close`), the dominant
    alone. Left free when the melody note fits neither (or, at the final one, the tonic triad).
    Whether the melody note fits the chord, so that it is planned."""
    chords = cadence_chords(key, final)[: 1 if final else 2]
    if half and not final:
        chords = chords[1:]
    return _narrow(allowed, steps, melody_pitch, chords)


def half_close(pitch: int, before: int, key: Key) -> bool:
    """Whether an inner phrase end on the key's fifth closes on V, a half cadence: reached from the
    sixth above (the raised sixth in a minor key) or from the raised fourth below. Under the inner
    fermatas of the 247 four-part chorales in music21's corpus that set no JSB test tune, where
    the soprano sings the fifth so reached, Bach's chord is V under 78 of 107 in major (I under
    21) and 22 of 24 in minor; reached otherwise (from the fourth, from a minor key's flat
    sixth: I under 19 of 31) it is I as often, and the chord is left to the model."""
    fifth = (key.tonic + 7) % 12
    if key.modal and key.modal != "dorian" and leading_tone(key) not in scale(key):
        return False  # a mode that keeps to its notes has no V (G mixolydian's D chord would want F#)
    return pitch % 12 == fifth and (before - key.tonic) % 12 in (9, 6)


def plan_approach(allowed: np.ndarray, steps: range, melody_pitch: int, key: Key) -> bool:
    """Narrow the chord before the final one to the dominant (seventh) chord over the dominant,
    the V of the closing V-I, when the melody note there belongs to it. Whether it does."""
    return _narrow(allowed, steps, melody_pitch, cadence_chords(key)[1:])


def plan_opening(allowed: np.ndarray, steps: range, melody_pitch: int, key: Key) -> bool:
    """Narrow the first chord to the tonic triad over the tonic when the melody's first note
    belongs to it, as Bach opens 84% of such chorales (218 of the 261 JSB training and validation
    chorales whose soprano starts on a note of the tonic triad, key by estimate_key). Whether it does."""
    return _narrow(allowed, steps, melody_pitch, cadence_chords(key, final=False)[:1])


def _narrow(allowed: np.ndarray, steps: range, melody_pitch: int, chords: list[tuple[int, frozenset[int]]]) -> bool:
    fitting = [c for c in chords if melody_pitch % 12 in c[1]]
    if not fitting:
        return False
    basses = {root for root, _ in fitting}
    tones = set().union(*(c[1] for c in fitting))
    for step in steps:
        narrow_to_chord(allowed, step, basses, tones)
    return True
