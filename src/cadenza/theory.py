"""The rules of music theory Cadenza uses, each written once: scales and keys, spelling, the top line,
chords a phrase closes on, voice names and ranges, parallel fifths and octaves, phrase ends.

Samplers turn these rules into masks, the evaluation counts them, the planner plans with them.
Plain Python and NumPy: nothing here imports torch or music21.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np

from cadenza.chords import LETTER_PITCH_CLASS, LETTERS
from cadenza.score import (
    SPELLED_TONICS,
    Key,
    Meter,
    Note,
    Score,
    fifths_of,
    mode_signature,
    name_of_fifths,
    spelled_name,
)

# ---------------------------------------------------------------------------------------------
# scales and keys

MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
MINOR_STEPS = (0, 2, 3, 5, 7, 8, 10, 11)  # natural minor plus the raised 7th (harmonic minor's leading tone)


def scale(key: Key) -> frozenset[int]:
    """Pitch classes of the key's scale (natural minor plus the raised 7th for minor). A church
    mode's are the seven of its key signature (a Mixolydian tune's seventh is flat: with its
    leading tone allowed too, generated tunes sharpened every one)."""
    if key.modal:
        major_tonic = 7 * key_signature(key) % 12
        return frozenset((major_tonic + s) % 12 for s in MAJOR_STEPS)
    steps = MAJOR_STEPS if key.mode == "major" else MINOR_STEPS
    return frozenset((key.tonic + s) % 12 for s in steps)


# Krumhansl-Kessler key profiles (Krumhansl 1990), used to estimate a key when a file has none.
_MAJOR_PROFILE = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
_MINOR_PROFILE = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)


def estimate_key(notes: list[Note]) -> Key:
    """Krumhansl-Schmuckler: the key whose profile best correlates with the duration-weighted
    pitch-class histogram. Used when a file carries no key signature."""
    return key_correlations(notes)[0][1]


def signature_key(key: Key, notes: list[Note]) -> Key:
    """The key a key signature means for these notes: the key it names or the other mode's key
    with the same signature (relative minor or major), whichever profile the notes fit better
    (key_correlations). A MIDI file's key signature often says major for a minor piece."""
    other = Key(key.start_beats, (key.tonic + (9 if key.mode == "major" else 3)) % 12, _OTHER[key.mode])
    fit = {(k.tonic, k.mode): r for r, k in key_correlations(notes)} if notes else {}
    return other if fit.get((other.tonic, other.mode), -2.0) > fit.get((key.tonic, key.mode), -2.0) else key


_OTHER = {"major": "minor", "minor": "major"}


def key_correlations(notes: list[Note]) -> list[tuple[float, Key]]:
    """(correlation, key) for each of the 24 major and minor keys, best first (ties: major before
    minor, then by tonic from C): how well the key's Krumhansl-Kessler profile fits the notes'
    duration-weighted pitch-class histogram."""
    hist = [0.0] * 12
    for n in notes:
        hist[n.pitch % 12] += n.duration_beats
    ranked = []
    for mode, profile in (("major", _MAJOR_PROFILE), ("minor", _MINOR_PROFILE)):
        for tonic in range(12):
            prof = [profile[(pc - tonic) % 12] for pc in range(12)]
            ranked.append((_correlation(hist, prof), Key(0.0, tonic, mode)))
    return sorted(ranked, key=lambda rk: -rk[0])


PASSAGE_REACH = 6  # quarter notes either side of a beat whose notes say which key it is in
PASSAGE_CHANGE = 1.5  # what a change of key costs, in correlations summed over beats
PASSAGE_NOTES = 24  # notes that must begin within a beat's reach for it to say a key of its own


def passage_keys(score: Score) -> list[Key]:
    """The key each passage of the score is heard in, from its first beat on, where it changes
    (and at each new signature): the key a musician spells its notes by (theory.spell) while
    the key signature stays, as in a chorale that modulates to its dominant. Each beat's key
    is the one whose Krumhansl-Kessler profile best fits the notes (not grace notes) sounding from PASSAGE_REACH
    quarter notes before it to PASSAGE_REACH after its end, smoothed so that a change of key
    costs PASSAGE_CHANGE (the best path, Viterbi), and named from the signature in force
    (passage_named): G# major in C# minor, Ab minor in Db major, Cb major in C minor. Where fewer than
    PASSAGE_NOTES notes begin in that reach (a lone melody, a thin texture) a beat says
    nothing of its own: under a signature it is in the signature's key, without one in the
    key before it. Without notes after beat 0, or with any church mode's signature (a modal
    tune): the score's keys."""
    notes = [n for p in score.pitched_parts for n in p.notes if "grace" not in n.marks]  # not ornaments
    beats = math.ceil(max((n.end_beats for n in notes), default=0.0))
    if beats <= 0 or any(k.modal for k in score.keys):
        return list(score.keys)
    index = np.arange(beats + 1)
    lo, hi = np.maximum(index - PASSAGE_REACH, 0), np.minimum(index + PASSAGE_REACH + 1, beats)
    window = np.stack([_sounding_between(lo, hi, pc, notes) for pc in range(12)], axis=1)
    fit = _profile_fit(window)  # (beats + 1) x 24: major keys on C..B, then minor
    onsets = np.sort([n.start_beats for n in notes])
    thin = np.searchsorted(onsets, hi) - np.searchsorted(onsets, lo) < PASSAGE_NOTES
    signatures = sorted(score.keys, key=lambda k: k.start_beats)
    at = np.searchsorted([k.start_beats for k in signatures], index, side="right") - 1
    homes: list[Key | None] = [signatures[max(int(i), 0)] if signatures else None for i in at]
    for t in np.flatnonzero(thin):  # too few notes to say: the signature's key, or no change
        fit[t] = 0.0
        home = homes[t]
        if home is not None:
            fit[t, home.tonic + 12 * (home.mode == "minor")] = 1.0
    path = _best_path(fit, PASSAGE_CHANGE)
    out: list[Key] = []
    for b, k in enumerate(path):
        if b == 0 or k != path[b - 1] or at[b] != at[b - 1]:
            out.append(passage_named(Key(float(b), k % 12, "minor" if k >= 12 else "major"), homes[b]))
    return out


def passage_named(key: Key, home: Key | None) -> Key:
    """A passage's key named for spelling its notes under `home`'s signature: as key_spelled
    names it (G# major in C# minor), unless the key's other name, within seven sharps or flats,
    lies nearer home's signature on the line of fifths (Cb major, not B major, in C minor)."""
    named = key_spelled(key, home)
    if home is None:
        return named
    near = key_signature(home)
    for name in SPELLED_TONICS[key.mode == "minor"]:
        other = replace(key, tonic_name=name)
        if other.tonic_name == name and abs(key_signature(other) - near) < abs(key_signature(named) - near):
            named = other
    return named


def _sounding_between(lo: np.ndarray, hi: np.ndarray, pitch_class: int, notes: list[Note]) -> np.ndarray:
    """For each pair of `lo` and `hi`, how long notes of `pitch_class` sound between the two, in
    quarter notes summed over the notes."""
    starts = np.sort([n.start_beats for n in notes if n.pitch % 12 == pitch_class])
    ends = np.sort([n.end_beats for n in notes if n.pitch % 12 == pitch_class])
    if not len(starts):
        return np.zeros(len(lo))
    start_sums, end_sums = (np.concatenate([[0.0], np.cumsum(edges)]) for edges in (starts, ends))

    def until(times: np.ndarray) -> np.ndarray:  # how long they have sounded before each time
        begun, ended = np.searchsorted(starts, times), np.searchsorted(ends, times)
        return times * (begun - ended) - (start_sums[begun] - end_sums[ended])

    return until(hi) - until(lo)


def _profile_fit(hist: np.ndarray) -> np.ndarray:
    """The correlation of each row of pitch-class weights with the 24 key profiles (major keys
    on C..B, then minor); 0 for an empty row."""
    profiles = np.array([np.roll(p, t) for p in (_MAJOR_PROFILE, _MINOR_PROFILE) for t in range(12)])
    profiles = profiles - profiles.mean(axis=1, keepdims=True)
    profiles /= np.linalg.norm(profiles, axis=1, keepdims=True)
    rows = hist - hist.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.where(norms > 0, rows @ profiles.T / np.where(norms > 0, norms, 1.0), 0.0)


def _best_path(score: np.ndarray, change: float) -> list[int]:
    """The column for each row that maximises the sum of `score` less `change` for each row
    whose column differs from the row before (Viterbi). A run of equal rows is taken as one,
    weighted by its length (a change inside it gains nothing), so silences and long notes cost
    no time."""
    starts = np.flatnonzero(np.concatenate([[True], np.any(score[1:] != score[:-1], axis=1)]))
    lengths = np.diff(np.append(starts, len(score)))
    runs = score[starts] * lengths[:, None]
    best = runs[0].copy()
    back = np.zeros(runs.shape, dtype=np.int8)
    for t in range(1, len(runs)):
        stay, leave = best, best.max() - change
        back[t] = np.where(stay >= leave, np.arange(runs.shape[1]), best.argmax())
        best = np.maximum(stay, leave) + runs[t]
    path = [int(best.argmax())]
    for t in range(len(runs) - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    return [k for k, n in zip(path[::-1], lengths) for _ in range(n)]


def _correlation(a: list[float], b: list[float]) -> float:
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    va = math.sqrt(sum((x - ma) ** 2 for x in a))
    vb = math.sqrt(sum((y - mb) ** 2 for y in b))
    return cov / (va * vb) if va > 0 and vb > 0 else -1.0


def melody_key(score: Score, line: list[Note], on_final: bool = True) -> Key:
    """The key a melody is in: the file's, unless it has none or a tenth or more of the melody (by
    duration) falls outside its scale (a modal tune under a major signature, say); then the key
    the tune itself shows (tune_key), in the church mode it sings (modal_key: D dorian, G
    mixolydian). `on_final`: a signature's key is read on the tune's final where the tune says so
    (_on_its_final); without, as the shipped chords models were trained (before 2026-12-04)."""
    key = score.key
    if key is not None:
        outside = sum(x.duration_beats for x in line if x.pitch % 12 not in scale(key))
        if outside < 0.1 * sum(x.duration_beats for x in line):
            return _on_its_final(key, line) if on_final else key
    return modal_key(tune_key(line), line)


def _on_its_final(key: Key, line: list[Note]) -> Key:
    """A signature's key, read on the tune's final where no major or minor tune ends and the tune
    itself is in the key of its final (tune_key): on the second degree of the signature's major
    key it is Dorian (a tune under no sharps or flats, ending on D: D dorian), on the sixth the
    relative minor (ending on A: A minor). A phrase that ends on a half cadence keeps its key."""
    if not line or key.modal:
        return key
    final = max(line, key=lambda x: x.start_beats).pitch % 12
    if tune_key(line).tonic != final:
        return key
    sig = key_signature(key)
    for places, mode, modal in ((2, "minor", "dorian"), (3, "minor", "")):  # D and A from C on the fifths
        if final == 7 * (sig + places) % 12 and key.tonic != final:
            named = spelled_name(*name_of_fifths(sig + places))
            return modal_key(Key(key.start_beats, final, mode, named, modal), line)  # A minor with F#: A dorian
    return key


def modal_key(key: Key, line: list[Note]) -> Key:
    """`key` as the church mode the melody sings it in, where its notes say so: a minor key whose
    major sixth sounds longer than its minor sixth, and its subtonic at least as long as its
    leading tone, is Dorian (D E F G A B C, not melodic minor's B and C#); a major key whose minor
    seventh sounds longer than its leading tone is Mixolydian. Else `key` as it is."""

    def sung(interval: int) -> float:
        return sum(x.duration_beats for x in line if x.pitch % 12 == (key.tonic + interval) % 12)

    if key.mode == "minor" and sung(9) > sung(8) and sung(10) >= sung(11):
        return replace(key, modal="dorian")
    if key.mode == "major" and sung(10) > sung(11):
        return replace(key, modal="mixolydian")
    return key


# A tune's key, read from the tune alone: the best-correlated keys, how many and how close to the best.
TUNE_KEY_CANDIDATES = 4
TUNE_KEY_MARGIN = 0.2


def tune_key(line: list[Note]) -> Key:
    """The key of a melody line with no key signature to go by. A tune ends on its tonic: when one
    of the few keys that fit its notes best (Krumhansl-Schmuckler, key_correlations: the best
    four, within 0.2 of the best correlation) has the final note for tonic, the key is on the
    final, major or minor as the tune's third above it is (the one sounding longer; the better
    correlated of those keys when neither does). So a Dorian tune reads as the minor key of its
    final and a Mixolydian one as the major key (D Dorian: D minor; G Mixolydian: G major). When
    none has (a tune ending on its third or fifth), the best-correlated key.

    On melodies whose key is known, the best-correlated key alone was right for 804 of 1010
    Nottingham folk tunes (the key of their ABC signature) and 126 of 182 Bach chorale sopranos
    (the key of the chorale's final bass note); this rule, for 843 and 171."""
    ranked = key_correlations(line)
    if not line:
        return ranked[0][1]
    final = max(line, key=lambda x: x.start_beats).pitch % 12
    best = ranked[0][0]
    on_final = [k for r, k in ranked[:TUNE_KEY_CANDIDATES] if k.tonic == final and r >= best - TUNE_KEY_MARGIN]
    if not on_final:
        return ranked[0][1]
    minor, major = (sum(x.duration_beats for x in line if x.pitch % 12 == (final + i) % 12) for i in (3, 4))
    if minor == major:
        return on_final[0]
    return Key(0.0, final, "minor" if minor > major else "major")


# ---------------------------------------------------------------------------------------------
# spelling


def related_keys(key: Key) -> list[Key]:
    """The keys closely related to `key`, sharing its signature or one a fifth away: vi, V, IV, ii,
    iii of a major key; III, v, iv, VI, VII of a minor one (in that order: the nearest first)."""
    t = key.tonic
    if key.mode == "major":
        steps = [(9, "minor"), (7, "major"), (5, "major"), (2, "minor"), (4, "minor")]
    else:
        steps = [(3, "major"), (7, "minor"), (5, "minor"), (8, "major"), (10, "major")]
    return [Key(0.0, (t + d) % 12, mode) for d, mode in steps]


# Roman numerals of keys, by semitones above a home tonic, as read in a major and in a minor home
# key (in minor, III is the relative major and VII the subtonic); lower case names a minor key
_NUMERALS = {
    "major": ("I", "bII", "II", "bIII", "III", "IV", "#IV", "V", "bVI", "VI", "bVII", "VII"),
    "minor": ("I", "bII", "II", "III", "#III", "IV", "#IV", "V", "VI", "#VI", "VII", "#VII"),
}


def key_numeral(home: Key, key: Key) -> str:
    """The Roman numeral of `key` seen from `home`: 'V' (D major in G major), 'vi' (E minor),
    'III' (C major in A minor), 'i' (G minor in G major). Lower case: a minor key."""
    numeral = _NUMERALS[home.mode][(key.tonic - home.tonic) % 12]
    accidental = numeral.rstrip("IV")
    roman = numeral[len(accidental) :]
    return accidental + (roman.lower() if key.mode == "minor" else roman)


def key_name(key: Key, home: Key | None) -> str:
    """`key` named as a musician names it in a piece in `home` (key_spelled): the dominant of C#
    minor is G# major. For text only: a Key's own name sets its key signature."""
    return str(key_spelled(key, home))


def key_spelled(key: Key, home: Key | None) -> Key:
    """`key` with its tonic spelled as the home scale's degree that its numeral (key_numeral)
    names, where that takes one sharp or flat at most and a signature of seven at most, or is the
    dominant or the tonic's other mode: the dominant of C# minor is G# major, not Ab major (whose
    signature Key keeps, there being none of eight sharps), as is the major of G# minor, and F
    major in F# major is F major, not E# major; else `key`.
    For naming (key_name, a form's @KEY), not for a key signature."""
    if home is None or key.modal:
        return key
    numeral = key_numeral(home, key)
    degree = ("I", "II", "III", "IV", "V", "VI", "VII").index(numeral.lstrip("b#").upper())
    letter = LETTERS[(LETTERS.index(home.tonic_name[0]) + degree) % 7]
    alter = (key.tonic - LETTER_PITCH_CLASS[letter] + 6) % 12 - 6
    if abs(alter) > 1:
        return key
    named = replace(key, tonic_name=spelled_name(letter, alter))
    if abs(key_signature(named)) > 7 and numeral not in ("V", "I"):  # E# major in F# major: F major
        return key
    return named


def numeral_key(home: Key, numeral: str) -> Key:
    """The key a Roman numeral names from `home` (key_numeral's inverse); ValueError for a
    numeral it does not know."""
    accidental = numeral.rstrip("IViv")
    roman = numeral[len(accidental) :]
    if not roman or roman not in (roman.upper(), roman.lower()):
        raise ValueError(f"unknown key relation {numeral!r}")
    try:
        step = _NUMERALS[home.mode].index(accidental + roman.upper())
    except ValueError:
        raise ValueError(f"unknown key relation {numeral!r}") from None
    return Key(0.0, (home.tonic + step) % 12, "minor" if roman.islower() else "major")


def key_numerals(mode: str) -> tuple[str, ...]:
    """Every key relation from a home key in `mode`: 24 numerals, major then minor."""
    major = _NUMERALS[mode]
    return major + tuple(n.rstrip("IV") + n[len(n.rstrip("IV")) :].lower() for n in major)


def home_numeral(mode: str) -> str:
    """The numeral of the home key itself: I in major, i in minor."""
    return "I" if mode == "major" else "i"


def tonic_fifths(key: Key) -> int:
    """The key's tonic, as spelled (Key.tonic_name), on the line of fifths: Cb -7, F# 6."""
    name = key.tonic_name
    return fifths_of(name[0], name[1:].count("#") - name[1:].count("b"))


def key_signature(key: Key) -> int:
    """Sharps in the key signature (negative: flats), from the tonic as spelled: D major 2,
    F major -1, C minor -3, Cb major -7, C# major 7, B major 5; D dorian 0, G mixolydian 0
    (score.CHURCH_MODES)."""
    if key.modal:
        return mode_signature(key.tonic_name, key.modal)
    return tonic_fifths(key) - (3 if key.mode == "minor" else 0)


def key_signature_alterations(key: Key | None) -> dict[str, int]:
    """The alteration (+1 sharp, -1 flat, 0) the key signature gives each letter."""
    sharps = key_signature(key) if key is not None else 0
    alters = dict.fromkeys(LETTERS, 0)
    for letter in "FCGDAEB"[:sharps] if sharps > 0 else "BEADGCF"[:-sharps]:
        alters[letter] = 1 if sharps > 0 else -1
    return alters


def _key_places(key: Key | None) -> tuple[int, frozenset[int], int]:
    """(tonic on the line of fifths, the places of the key's own notes, the lowest place of the
    twelve a note takes by default). Relative to the tonic t: major's own notes are t-1..t+5
    and its chromatic ones by default the lowered 3rd and 7th (t-3, t-2) and the raised 4th,
    1st and 5th (t+6..t+8); minor's own notes are t-4..t+3 (natural minor and the raised 6th)
    and the raised 7th t+5, the chromatic ones the lowered 2nd (t-5), the raised 3rd (t+4) and
    the raised 4th (t+6). Without a key: A minor."""
    if key is None:
        return 3, frozenset(range(-1, 7)) | {8}, -2
    t = tonic_fifths(key)
    if key.modal:  # the seven notes of its signature, and the leading tone of the minor-third modes
        sig = key_signature(key)
        return t, frozenset(range(sig - 1, sig + 6)) | ({t + 5} if key.mode == "minor" else set()), sig - 3
    if key.mode == "minor":
        return t, frozenset(range(t - 4, t + 4)) | {t + 5}, t - 5
    return t, frozenset(range(t - 1, t + 6)), t - 3


def spell(
    pitch: int,
    key: Key | None,
    toward: int | None = None,
    *,
    came_from: int | None = None,
    against: Sequence[int] = (),
    passage: Key | None = None,
    earlier: tuple[str, int] | None = None,
) -> tuple[str, int, int]:
    """(letter, alteration, octave) of a MIDI pitch, by key and by function.

    A note of the key is spelled as the key spells it (in minor the raised 6th and 7th too:
    F# and G# in A minor, but for one the key of its `passage` spells otherwise: Cb, not B, in
    a Cb major passage under C minor's signature); else a note of the key of its `passage`
    (passage_keys: the key the music around it is in, while the signature stays) as that key
    spells it (Fx in a passage
    in G# major under C# minor's signature, Cb in one in Gb major under Eb major's). Any other
    note has two candidate spellings, the flat-side and the sharp-side one; the first rule
    that decides wins:

    0. a major third over a note sounding with it (`against`) is spelled as that chord's third
       (E# over C# in D major, G# over E in C major; over a note of the key, its fifth sounding
       too, even as a double sharp: Fx in D# A# in C# minor, the leading tone of G# major, where
       it modulates there, but G falling to F# over B7's D# in E major);
    1. it moves by a semitone to the next note `toward`: spelled to move by step, as a raised
       degree rising (D# -> E, A# -> B) or a lowered one falling (Eb -> D, Bb -> A), so that
       passing notes follow their direction and neighbour notes resolve;
    1b. as its pitch class was spelled `earlier` in its voice within the bar (letter and
       alteration), so that a figure keeps one spelling (G# Fx G# Fx, not G# Fx G# G); a
       double sharp or flat, or a white key with an accidental, only where the note comes from
       or goes to a note a semitone away by a step of letters (the second Fx above comes from
       G#), not an E# kept from over C# onto an F over D minor's chord;
    2. the key's notes sounding with it (`against`) and the notes before and after it (`came_from`,
       `toward`) that belong to the key: the spelling nearer them on the line of fifths
       (A# against F# and C#, Bb against G and D);
    3. the key's default: in major the raised 1st, 4th and 5th and the lowered 3rd and 7th
       (D#, G#, A#, F and C in D major: no flats in a sharp key), in minor the lowered 2nd and
       the raised 3rd and 4th (Bb, C#, D# in A minor).

    Rules 1 and 2 give way to the key's default where they would write a white key with an
    accidental or a double sharp or flat the key's default does not (D rising to D# in E major,
    not Cx; B falling to Bb in F major, not Cb), but for a lower neighbour returning (G# Fx G#,
    rule 1). Double sharps and flats only where a semitone step asks for them (Fx -> G# in F#
    major, or G# -> Fx kept from earlier in the bar), or the third of D# major there, or the
    passage's key spells them so (Fx in G# major); G otherwise, and A rather than Bbb in Cb
    major)."""
    t, own, low = _key_places(key)
    fifths = _default_fifths(pitch, low)
    in_passage = None  # the note's place in the passage's key, if it is one of that key's notes
    if passage is not None:
        _, passage_own, passage_low = _key_places(passage)
        in_passage = _default_fifths(pitch, passage_low)
        in_passage = in_passage if in_passage in passage_own else None
    # minor's raised 6th and 7th are accidentals under its signature: the passage's key may spell them
    raised = key is not None and key.mode == "minor" and not key.modal and fifths in (t + 3, t + 5)
    if fifths in own and not (raised and in_passage is not None):
        return _spelled(pitch, fifths)
    if in_passage is not None:  # a note of the passage's key: as that key spells it
        return _spelled(pitch, in_passage)
    # a chord's third over them; as a double sharp only over a note of the key with its fifth sounding too
    sounding = {p % 12 for p in against}
    roots = [(_default_fifths(p, low), (p + 7) % 12 in sounding) for p in against if (pitch - p) % 12 == 4]
    flat_side = fifths - 12 if fifths > t else fifths
    candidates = (flat_side, flat_side + 12)
    third = [
        c
        for c in candidates
        if any(c == r + 4 and (abs((c + 1) // 7) <= 1 or r in own and fifth) for r, fifth in roots)
    ]
    if third:  # 0. the major third over a note sounding with it: E# over C#, G# over E, Fx over D#
        return _spelled(pitch, third[0])
    if toward is not None and abs(toward - pitch) == 1:  # 1. a semitone step
        wanted = _stepping_to(toward, pitch, low)
        lower_neighbour = came_from == toward > pitch
        if wanted in candidates and (wanted == fifths or lower_neighbour or not _odd(pitch, wanted)):
            return _spelled(pitch, wanted)
    if earlier is not None and (kept := fifths_of(*earlier)) in candidates:  # 1b. as earlier in the bar
        steps = {_stepping_to(q, pitch, low) for q in (came_from, toward) if q is not None and abs(q - pitch) == 1}
        if not _odd(pitch, kept) or kept in steps:
            return _spelled(pitch, kept)
    if any(abs((c + 1) // 7) > 1 for c in candidates):  # no double sharp or flat but for a step
        return _spelled(pitch, next(c for c in candidates if abs((c + 1) // 7) <= 1))
    around = [_default_fifths(p, low) for p in (*against, came_from, toward) if p is not None]
    around = [f for f in around if f in own]
    if around:  # 2. the key's notes around it
        centre = sum(around) / len(around)
        near, far = sorted(candidates, key=lambda c: abs(c - centre))
        if abs(near - centre) < abs(far - centre) and (near == fifths or not _odd(pitch, near)):
            return _spelled(pitch, near)
    return _spelled(pitch, fifths)  # 3. the key's default


def cross_related(pitch_classes: Iterable[int], key: Key | None) -> frozenset[int]:
    """The pitch classes that would sound against one of `pitch_classes` as its own letter
    altered: F against F#, G against G# in A minor (a chromatic semitone, seven places apart on
    the line of fifths as `spell` spells the key's notes by default). Bach's voices do not sound
    the two forms of a note together; E against F is a diatonic semitone, not one of these. By
    the default spelling only: in D major D against D sharp counts (pitch class 3 is D sharp
    there), B against B flat does not (it is A sharp); the spelling in context is not known
    while a voice is chosen."""
    _, _, low = _key_places(key)
    out = set()
    for q in pitch_classes:
        for r in (q + 1, q - 1):
            if abs(_default_fifths(r, low) - _default_fifths(q, low)) == 7:
                out.add(r % 12)
    return frozenset(out)


def _stepping_to(neighbour: int, pitch: int, low: int) -> int:
    """The place of `pitch` a diatonic semitone from `neighbour` as the key spells it (D# below
    E, Eb above D): a raised degree under it, a lowered one over it."""
    return _default_fifths(neighbour, low) + (5 if neighbour > pitch else -5)


def _odd(pitch: int, fifths: int) -> bool:
    """Whether spelling `pitch` at `fifths` writes a double sharp or flat, or a white key with an
    accidental (Cb, Fb, E#, B#)."""
    alter = name_of_fifths(fifths)[1]
    return abs(alter) > 1 or (alter != 0 and pitch % 12 in (0, 2, 4, 5, 7, 9, 11))


def _default_fifths(pitch: int, low: int) -> int:
    """The pitch's place among the twelve from `low` on the line of fifths."""
    return low + (7 * (pitch % 12) - low) % 12


def _spelled(pitch: int, fifths: int) -> tuple[str, int, int]:
    letter, alter = name_of_fifths(fifths)
    return letter, alter, (pitch - alter) // 12 - 1


# ---------------------------------------------------------------------------------------------
# time: the grid and the top line


def beat_beats(meter: Meter) -> float:
    """The length of one counted beat, in quarter notes: a dotted quarter in compound meters
    (6/8, 9/8, 12/8), else the meter's denominator (a quarter in 4/4, a half in 2/2)."""
    return 1.5 if is_compound(meter.numerator, meter.denominator) else 4.0 / meter.denominator


def strong_beats(meter: Meter) -> tuple[float, ...]:
    """Where a bar's strong beats fall, in quarter notes from the bar line: its first counted
    beat, and the middle one of an even count (4/4: 0 and 2; 6/8: 0 and 1.5; 3/4: 0 only)."""
    beat = beat_beats(meter)
    count = max(1, round(meter.bar_beats / beat))
    return (0.0, count // 2 * beat) if count % 2 == 0 else (0.0,)


def is_compound(numerator: int, denominator: int) -> bool:
    """Whether a meter counts dotted-quarter beats: 6/8, 9/8, 12/8 (not 3/8, counted in eighths)."""
    return denominator == 8 and numerator % 3 == 0 and numerator > 3


def counted(offset: float, meter: Meter) -> str:
    """Where `offset` quarter notes into a bar falls, as a musician counts it: "beat 2" on a
    counted beat (beat_beats: dotted quarters in 6/8), "beat 2.5" between beats of a simple
    meter, and in a compound one the eighth, counted from 1 ("eighth 2": 6/8's second;
    "eighth 1.5": the sixteenth after the first)."""
    beat = offset / beat_beats(meter) + 1
    if abs(beat - round(beat)) > 1e-6 and is_compound(meter.numerator, meter.denominator):
        return f"eighth {round(offset * 2 + 1, 3):g}"
    return f"beat {round(beat, 3):g}"


def bar_and_beat(beats: float, meter: Meter, starts: Sequence[float] = (), first: int = 1) -> str:
    """Where `beats` quarter notes from the start fall, as "bar 3 beat 2": the score's first bar
    numbered `first` (1; 0 for a pickup's bar, as the notation writers number it) and the beat as
    counted() counts it in `meter`, the meter in force there. `starts`: where the bars start
    (score.bar_starts, for a score whose meter changes); without, every bar is one of `meter`."""
    if starts:
        b = max(0, bisect.bisect_right(starts, beats + 1e-9) - 1)
        return f"bar {b + first} {counted(beats - starts[b], meter)}"
    b = int(beats / meter.bar_beats + 1e-9)
    return f"bar {b + first} {counted(beats - b * meter.bar_beats, meter)}"


def beats_to_step(beats: float, steps_per_beat: int) -> int:
    """Nearest grid step, halves rounding up (Python's round() would round half to even)."""
    return math.floor(beats * steps_per_beat + 0.5)


def top_line(notes: list[Note]) -> list[Note]:
    """The highest note of each group of notes starting together, in time order."""
    by_start: dict[float, Note] = {}
    for n in notes:
        if n.start_beats not in by_start or n.pitch > by_start[n.start_beats].pitch:
            by_start[n.start_beats] = n
    return [by_start[s] for s in sorted(by_start)]


def cut_top_line(notes: list[Note]) -> list[Note]:
    """The top line, each note cut where the next onset begins."""
    line = top_line(notes)
    ends = [x.start_beats for x in line[1:]] + [math.inf]
    return [replace(x, duration_beats=min(x.duration_beats, end - x.start_beats)) for x, end in zip(line, ends)]


# ---------------------------------------------------------------------------------------------
# chords and cadences


def thirds(root: int) -> tuple[int, int]:
    """The pitch classes a minor and a major third above `root`: the two a triad on it may have."""
    return (root + 3) % 12, (root + 4) % 12


def tonic_thirds(key: Key, picardy: bool = True) -> frozenset[int]:
    """The tonic triad's third; in minor either where `picardy` (the Picardy third ends many
    minor-key chorales), else the minor third: inside a piece a major third on a minor key's
    tonic would be heard as a close in the major key."""
    minor, major = thirds(key.tonic)
    return frozenset({minor} if key.mode == "minor" else {major}) | ({major} if picardy else set())


def tonic_triad(key: Key, picardy: bool = True) -> frozenset[int]:
    """Pitch classes of the tonic triad, with tonic_thirds."""
    return frozenset({key.tonic, (key.tonic + 7) % 12}) | tonic_thirds(key, picardy)


def leading_tone(key: Key) -> int:
    """The pitch class a semitone below the tonic: the dominant chord's third (raised in minor)."""
    return (key.tonic + 11) % 12


def key_fits_scale(key: Key, scale_key: Key) -> bool:
    """Whether music in `key` can keep to `scale_key`'s scale: its tonic triad (with the mode's
    own third) lies in that scale. A minor in C major's notes: yes; D major in Eb major's: no."""
    third = 4 if key.mode == "major" else 3
    return {(key.tonic + i) % 12 for i in (0, third, 7)} <= scale(scale_key)


def dominant_seventh(key: Key) -> frozenset[int]:
    d = (key.tonic + 7) % 12
    return frozenset({d, (d + 4) % 12, (d + 7) % 12, (d + 10) % 12})


def cadence_chords(key: Key, final: bool = True) -> list[tuple[int, frozenset[int]]]:
    """(bass pitch class, chord pitch classes) of the two chords a phrase closes on: the tonic
    triad over the tonic and the dominant seventh chord over the dominant (the authentic
    cadence's two chords, cadence_progression; the Picardy third only at the `final` one)."""
    before, end, _ = cadence_progression(key, "authentic", final)
    assert before is not None
    return [end, before]


def triad(key: Key, degree: int) -> frozenset[int]:
    """The diatonic triad on scale degree `degree` (1-7) of `key`, minor with its raised seventh
    where the chord holds it (V and vii in minor are major and diminished)."""
    steps = MAJOR_STEPS if key.mode == "major" else (0, 2, 3, 5, 7, 8, 11)
    return frozenset((key.tonic + steps[(degree - 1 + k) % 7]) % 12 for k in (0, 2, 4))


Chord = tuple[int, frozenset[int]]  # (bass pitch class, chord pitch classes)


def cadence_progression(key: Key, kind: str, final: bool = True) -> tuple[Chord | None, Chord, frozenset[int]]:
    """(the chord before, the chord at the phrase end, the melody's pitch classes at the end) of
    a cadence in `key` (cadenza.plan.form.CADENCES), chords in root position:
        authentic  V7 - I, melody on the tonic       imperfect  V7 - I, melody on the third or fifth
        half       (free) - V, melody on a note of V  plagal     IV - I, melody on a note of I
        deceptive  V7 - vi (VI in minor), melody on a note of it
    The before chord of a half cadence is None: anything may lead to V. A minor key's tonic may
    take the Picardy third only at the piece's `final` cadence (tonic_thirds)."""
    t = key.tonic
    V = ((t + 7) % 12, dominant_seventh(key))
    tonic = (t, tonic_triad(key, final))
    if kind == "authentic":
        return V, tonic, frozenset({t})
    if kind == "imperfect":
        return V, tonic, tonic[1] - {t}
    if kind == "half":
        return None, ((t + 7) % 12, triad(key, 5)), triad(key, 5)
    if kind == "plagal":
        return ((t + 5) % 12, triad(key, 4)), tonic, tonic[1]
    if kind == "deceptive":
        vi = triad(key, 6)
        return V, ((t + (9 if key.mode == "major" else 8)) % 12, vi), vi
    raise ValueError(f"no chords for cadence {kind!r}")


def open_end(key: Key) -> tuple[frozenset[int], Chord]:
    """A phrase end of voices in chords that makes no cadence in `key` (cadence_kind hears "none"):
    the tonic chord over its third (I6), its third in the bass alone, struck after a chord
    without the dominant's root or the leading tone (IV, ii or vi: after V, or vii, it would be
    an imperfect cadence). Returns the pitch classes the chord before leaves out, and the end
    chord: its bass and the pitch classes of the voices above it (the root and the fifth). Of
    the 144 inner phrase ends of the 374 training chorales that the analyzer hears make no
    cadence, 21 have the tonic's third in the bass (26 the sixth)."""
    third = (key.tonic + (4 if key.mode == "major" else 3)) % 12
    dominant = (key.tonic + 7) % 12
    return frozenset({dominant, leading_tone(key)}), (third, frozenset({key.tonic, dominant}))


def dominant_chord_classes(key: Key, voice: int, n_voices: int) -> frozenset[int]:
    """The pitch classes voice `voice` (0 = highest) may take on the beat before a piece's final
    chord, the V of its V-I: the dominant for the lowest voice (the bass on the root), a note of
    the dominant seventh chord for the others and for a lone melody (2, 4, 5 or 7 before 1)."""
    chord = dict(cadence_chords(key))
    dominant = (key.tonic + 7) % 12
    if n_voices > 1 and voice == n_voices - 1:
        return frozenset({dominant})
    return chord[dominant]


def final_chord_classes(key: Key, voice: int, n_voices: int) -> frozenset[int]:
    """The pitch classes voice `voice` (0 = highest) may take on a piece's final downbeat: the
    tonic for a melody and for the lowest voice, a note of the tonic triad for the others."""
    if n_voices == 1 or voice == n_voices - 1:
        return frozenset({key.tonic})
    return tonic_triad(key)


# ---------------------------------------------------------------------------------------------
# voices

VOICE_NAMES = {
    1: ["Melody"],
    2: ["Upper", "Lower"],
    3: ["Soprano", "Alto", "Bass"],
    4: ["Soprano", "Alto", "Tenor", "Bass"],
}

# Conventional SATB ranges (inclusive MIDI pitches): S C4-A5, A G3-D5, T C3-G4, B E2-C4.
SATB_RANGES = ((60, 81), (55, 74), (48, 67), (40, 60))


def voice_names(n_voices: int) -> list[str]:
    return VOICE_NAMES.get(n_voices, [f"Voice {i + 1}" for i in range(n_voices)])


# ---------------------------------------------------------------------------------------------
# the parallels rule

PERFECT = (0, 7)  # unison/octave and fifth, modulo octaves


def parallel_to(p1, q1, q2, x, upper: bool):
    """Whether a voice moving from pitch p1 to x makes a parallel fifth or octave (or unison)
    with another voice moving from q1 to q2. `upper` says whether the moving voice is the
    higher of the two. x may be one pitch or an array of candidates (the answer has its shape).

    Parallel: both voices move, in the same direction, and the interval between them (upper
    minus lower, modulo 12) is a fifth or an octave before and after. A voice that holds or
    repeats its pitch makes no parallel."""
    sign = 1 if upper else -1
    interval = (sign * (p1 - q1)) % 12
    if q1 == q2 or interval not in PERFECT:
        return x != x  # False, in x's shape
    same_way = (x > p1) if q2 > q1 else (x < p1)
    return same_way & ((sign * (x - q2)) % 12 == interval)


def parallel_motions(grid) -> list[tuple[int, int, int, int]]:
    """(step, upper voice, lower voice, 7 or 0) for each parallel fifth or octave (unisons
    included) arriving at `step` of a [step][voice] grid of pitches (None = rest), voices from
    the highest down."""
    found = []
    for t in range(1, len(grid)):
        prev, row = grid[t - 1], grid[t]
        for a in range(len(row)):
            for b in range(a + 1, len(row)):
                p1, q1, p2, q2 = prev[a], prev[b], row[a], row[b]
                if None in (p1, q1, p2, q2):
                    continue
                if parallel_to(p1, q1, q2, p2, upper=True):
                    found.append((t, a, b, (p1 - q1) % 12))
    return found


# ---------------------------------------------------------------------------------------------
# phrases

FERMATA_PHRASE_BARS = 8  # fermatas mark a piece's phrases where they fall at least this often, in bars


def fermatas_mark_phrases(fermatas_beats: Sequence[float], end_beats: float, meter) -> bool:
    """Whether a score's fermatas mark its phrase ends, as a chorale's do (one every two bars or
    so), rather than only its close or a pause in a long piece (a Schubert Moment musical's one
    fermata, on its last chord; a Beethoven sonata movement's pauses 20 to 28 bars apart): a
    fermata before the last bar, and no more than FERMATA_PHRASE_BARS bars from the start to the
    first bar with a fermata, from each to the next, and from the last to the end."""
    bar = meter.bar_beats
    last = max(1, math.ceil(end_beats / bar - 1e-9))
    marked = sorted({int(f / bar + 1e-9) for f in fermatas_beats if 0 <= f < end_beats})
    if not marked or marked[0] >= last - 1:
        return False
    points = [-1, *marked, last - 1]  # bar indices: each gap counts the bars after one fermata up to the next
    return max(b - a for a, b in zip(points, points[1:])) <= FERMATA_PHRASE_BARS


def phrase_ends(line: list[Note], meter, fermatas_beats: Sequence[float] = ()) -> list[Note]:
    """Notes that end a phrase: those under a fermata when the score marks any (and the last);
    otherwise a long note (at least twice the melody's typical length and a
    beat and a half) that the next note does not match in length, a note followed by a rest of a
    beat or more, and the last note. (A chain of equally long notes ends a phrase at its end.)"""
    if not line:
        return []
    if fermatas_beats:
        marked = [x for x in line[:-1] if any(abs(x.start_beats - f) < 1e-6 for f in fermatas_beats)]
        return marked + [line[-1]]
    long_beats = max(2 * float(np.median([x.duration_beats for x in line])), 1.5)
    ends = []
    for x, nxt in zip(line, line[1:]):
        rest = nxt.start_beats - x.end_beats
        if rest >= 1.0 or (x.duration_beats >= long_beats and (nxt.duration_beats < x.duration_beats or rest > 0)):
            ends.append(x)
    return ends + [line[-1]]


# ---------------------------------------------------------------------------------------------
# cadences heard: which kind a phrase end is


def _chord_fits(pcs: frozenset[int], bass: int | None, chord: Chord, root_position: bool) -> bool:
    """Whether a sonority (its pitch classes and lowest note, None when unknown) is `chord`: its
    root sounds, its other notes lie in the chord (one foreign note, a passing or suspended tone,
    allowed among three or more, but not the third the chord does not have: C E-flat G is not
    C major, nor E G B the dominant of A minor), and, in root position, its bass is on the root.
    A lone note only has to belong to the chord."""
    root, tones = chord
    if not pcs:
        return False
    if root_position and bass is not None and bass != root:
        return False
    foreign = pcs - tones
    if len(pcs) == 1:
        return not foreign
    if foreign & set(thirds(root)):  # the other quality's third
        return False
    return root in pcs and len(foreign) <= (1 if len(pcs) >= 3 else 0) and len(pcs & tones) >= 2


# the scale degree (1-7) of each pitch class above the tonic, either mode's (and raised) forms alike
_DEGREE = (1, None, 2, 3, 3, 4, None, 5, 6, 6, 7, 7)


def cadence_kind(
    key: Key,
    before_bass: int | None,
    before_pcs: frozenset[int] | set[int],
    end_bass: int | None,
    end_pcs: frozenset[int] | set[int],
    melody_pc: int | None,
) -> str:
    """The cadence (a name of cadenza.plan.form.CADENCES) that a phrase end makes in `key`: the
    chord before it and the chord at its last note (pitch classes, and the bass's pitch class or
    None), and the melody's pitch class at the end, matched against cadence_progression.

    With chords, each kind's chords are matched in root position first (authentic, deceptive,
    plagal, half, imperfect: the first that fits); V - I with a chord inverted or the melody off
    the tonic is imperfect. A single melody line gives only its own notes: pass the note before as
    `before_pcs` and the last as `end_pcs`, both basses None. Then the degrees decide: an end on
    the tonic is authentic (plagal after 4 or 6), on the third imperfect, on the fifth imperfect
    after 2 or 7 and else half, on 2 or 7 half; a deceptive cadence cannot be told from a melody
    alone. A phrase ending elsewhere (on 4 or 6, or on nothing) is none."""
    before = frozenset(p % 12 for p in before_pcs)
    end = frozenset(p % 12 for p in end_pcs)
    mel = melody_pc % 12 if melody_pc is not None else None
    if not end:
        return "none"
    melody_only = end_bass is None and len(end) <= 1
    if melody_only:
        d_end = _DEGREE[((mel if mel is not None else next(iter(end))) - key.tonic) % 12]
        d_before = _DEGREE[(next(iter(before)) - key.tonic) % 12] if len(before) == 1 else None
        if d_end == 1:
            return "plagal" if d_before in (4, 6) else "authentic"
        if d_end == 3:
            return "imperfect"
        if d_end == 5:
            return "imperfect" if d_before in (2, 7) else "half"
        if d_end in (2, 7):
            return "half"
        return "none"
    for kind in ("authentic", "deceptive", "plagal", "half"):
        chord_before, chord_end, melody = cadence_progression(key, kind)
        if not _chord_fits(end, end_bass, chord_end, root_position=True):
            continue
        if chord_before is not None and not _chord_fits(before, before_bass, chord_before, root_position=True):
            continue
        if mel is not None and mel not in melody:
            continue
        return kind
    V, tonic, _ = cadence_progression(key, "imperfect")
    if V is not None and _chord_fits(end, end_bass, tonic, root_position=False):
        if _chord_fits(before, before_bass, V, root_position=False):
            return "imperfect"
    if _chord_fits(end, end_bass, ((key.tonic + 7) % 12, triad(key, 5)), root_position=True):
        return "half"
    return "none"


def melody_cadence(key: Key, kind: str, away: bool = False) -> tuple[frozenset[int] | None, frozenset[int]]:
    """(pitch classes of the note before, of the last note) by which a lone melody makes a
    cadence that its degrees alone tell (cadence_kind's melody rules): authentic 2, 5 or 7 to 1;
    imperfect 2 or 7 to 3; half to 2 or 7 (to 5 it could be heard closing on I); plagal 4 or 6
    to 1. A deceptive cadence needs its chords: its melody is the chords' (cadence_progression).
    `away`: the cadence is in a key other than the piece's home key, and a lone melody comes to
    its tonic by the leading tone (7 to 1: D# to E in E minor after C major, where B to E could
    still be heard in C). Where the leading tone is in the home scale too (E to F in F major
    after C major) it tells nothing more than 5 to 1 would; the whole approach beat keeps to it."""
    if kind == "deceptive":
        before, end, melody = cadence_progression(key, kind)
        return (before[1] if before else None), melody
    dominant = triad(key, 5)
    tonic = key.tonic
    third = (tonic + (4 if key.mode == "major" else 3)) % 12
    leading = dominant - {(tonic + 7) % 12}  # the dominant's third and fifth: 7 and 2
    if kind == "authentic":
        return (frozenset({leading_tone(key)}) if away else dominant), frozenset({tonic})
    if kind == "imperfect":
        return leading, frozenset({third})
    if kind == "half":
        return None, leading
    if kind == "plagal":
        return frozenset({(tonic + 5) % 12, (tonic + (9 if key.mode == "major" else 8)) % 12}), frozenset({tonic})
    raise ValueError(f"no melody for cadence {kind!r}")
