"""Decoding: the model proposes, the grammar and the user's constraints dispose.

The layout of a voices sequence is known in advance (prefix, then per bar one BAR token and
steps x voices cells), so the sampler forces every structural token and lets the model choose
only cells. Constraints are data turned into masks on the logits: fixed cells, per-voice pitch
ranges, an allowed set of pitch classes, no parallel fifths or octaves, and a final cadence (the
last bar opens on the tonic chord). Nothing here is special-cased inside the model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from cadenza.compose.settings import SamplingSettings
from cadenza.errors import OptionError
from cadenza.nn.numpy_decoder import Decoder, one_blas_thread
from cadenza.nn.transformer import Transformer
from cadenza.plan.constraints import Constraints, Echo, Hint, allowed_cells
from cadenza.score import Key, Meter
from cadenza.theory import (
    beat_beats,
    cross_related,
    dominant_chord_classes,
    final_chord_classes,
    leading_tone,
    parallel_to,
    tonic_thirds,
)
from cadenza.tokenize.cells import REST as CELL_REST
from cadenza.tokenize.voices import EOS, HOLD, N_PITCHES, PITCH0, REST, VoicesTokenizer

_PITCHES = np.arange(N_PITCHES)
_PITCH_CLASSES = _PITCHES % 12


def final_chord_mask(key: Key, v: int, n_voices: int) -> np.ndarray:
    """Bool (128,): the pitches voice v may take on the final downbeat (theory.final_chord_classes)."""
    return np.isin(_PITCHES % 12, sorted(final_chord_classes(key, v, n_voices)))


def dominant_chord_mask(key: Key, v: int, n_voices: int) -> np.ndarray:
    """Bool (128,): the pitches voice v may take on the beat before the final bar (the V of V-I)."""
    return np.isin(_PITCHES % 12, sorted(dominant_chord_classes(key, v, n_voices)))


def without_cross_relations(allowed: np.ndarray, now: Sequence[int | None], v: int, key: Key) -> np.ndarray:
    """`allowed` (a voice's tokens) less the pitches that sound against another voice's pitch now
    (`now`: each voice's, None for none; voice v's is the note it would hold) as its own letter
    altered (theory.cross_related: F against F#), struck or held; as it was if that would leave
    voice v no note."""
    others = [p % 12 for u, p in enumerate(now) if u != v and p is not None]
    clash = cross_related(others, key)
    if not clash:
        return allowed
    ruled_out = np.zeros(12, dtype=bool)
    ruled_out[list(clash)] = True
    clear = allowed.copy()
    clear[PITCH0 : PITCH0 + N_PITCHES] &= ~ruled_out[_PITCH_CLASSES]
    held = now[v]
    if held is not None and held % 12 in clash:  # another voice moved against the note it holds
        clear[HOLD] = False
    return clear if clear[HOLD] or clear[PITCH0 : PITCH0 + N_PITCHES].any() else allowed


def parallel_pitches(before: list[int | None], now: list[int | None], v: int) -> np.ndarray:
    """Bool (128,): the pitches that voice v, moving from before[v], would take in parallel
    fifths or octaves (or unisons) with a voice u < v already decided at this step
    (theory.parallel_to). before[u] and now[u] are the pitches sounding at the previous and
    this step (None: a rest)."""
    bad = np.zeros(N_PITCHES, dtype=bool)
    if before[v] is None:
        return bad
    for u in range(v):
        if None in (before[u], now[u]):
            continue
        bad |= parallel_to(before[v], before[u], now[u], _PITCHES, upper=False)
    return bad


def leaves_the_bass_a_way(before: list[int | None], now: list[int | None], v: int, bass: np.ndarray) -> np.ndarray:
    """Bool (128,): the pitches voice v (above the bass) may take at this step and still leave
    the bass, narrowed by a plan to the pitches `bass` (bool (128,)), one that makes no parallel
    fifth or octave with it nor with the voices above v already written at this step (now[u],
    u < v; before: the pitches at the step before). An upper voice is written before the bass
    at each step; at a planned cadence the bass's note is all but given, and upper voices that
    ignored it could leave it nothing but parallels."""
    ok = np.ones(N_PITCHES, dtype=bool)
    if before[v] is None or before[-1] is None:
        return ok
    # what the voices above already left the bass (those not yet written still sound their
    # pitch before, and a voice that does not move makes no parallel)
    bass = bass & ~parallel_pitches(before, now, len(before) - 1)
    if not bass.any():
        return ok
    ok[:] = False
    for b in np.flatnonzero(bass):
        ok |= ~parallel_to(before[v], before[-1], int(b), _PITCHES, upper=True)
    return ok


def _allowed_masks(tok: VoicesTokenizer, c: Constraints) -> np.ndarray:
    """(n_voices, vocab) bool: the cell tokens each voice may take (HOLD decided per step)."""
    nv = tok.config.n_voices
    cells = allowed_cells(c.voice_ranges or [(0, N_PITCHES - 1)] * nv, c.pitch_classes)
    mask = np.zeros((nv, tok.vocab_size), dtype=bool)
    mask[:, REST] = cells[:, CELL_REST]
    mask[:, PITCH0 : PITCH0 + N_PITCHES] = cells[:, CELL_REST + 1 :]
    return mask


def sample_token(logits: np.ndarray, allowed: np.ndarray, s: SamplingSettings, rng: np.random.Generator) -> int:
    """Draw one token from `logits` (vocab,) restricted to `allowed`, with temperature, top-k
    and top-p (the smallest set of most likely tokens whose mass reaches top_p)."""
    ids = np.flatnonzero(allowed)
    scaled = logits[ids].astype(np.float64) / s.temperature
    ranked = np.argsort(-scaled, kind="stable")  # most likely first (ties: the lower token first)
    if s.top_k:
        ranked = ranked[: s.top_k]
    order, scaled = ids[ranked], scaled[ranked]
    p = np.exp(scaled - scaled[0])
    p /= p.sum()
    if s.top_p < 1.0:
        keep = int(np.searchsorted(np.cumsum(p), s.top_p)) + 1  # first index whose mass reaches top_p
        p = p[:keep] / p[:keep].sum()
        order = order[:keep]
    return int(order[min(int(np.searchsorted(np.cumsum(p), rng.random(), side="right")), len(p) - 1)])


def _close(allowed: np.ndarray, downbeat: bool, last_cell: int, chord: np.ndarray) -> None:
    """Narrow `allowed` (in place) for the final bar: on its downbeat a pitch of the final chord
    (when the range leaves one), after it only holding that note (or resting on)."""
    if downbeat:
        pitches = allowed[PITCH0 : PITCH0 + N_PITCHES] & chord
        if pitches.any():
            allowed[:] = False
            allowed[PITCH0 : PITCH0 + N_PITCHES] = pitches
    else:
        allowed[:] = False
        allowed[REST if last_cell == REST else HOLD] = True


def _complete(
    chord: np.ndarray, allowed: np.ndarray, upper: list[int | None], thirds: frozenset[int] | set[int]
) -> np.ndarray:
    """The chord's pitches for the last upper voice: only its third (any pitch class in `thirds`)
    when the voices above have not sung one and the voice's range holds one, so that the chord
    is not hollow; else the whole chord."""
    if any(p is not None and p % 12 in thirds for p in upper):
        return chord
    only = chord & np.isin(_PITCHES % 12, sorted(thirds)) & allowed[PITCH0 : PITCH0 + N_PITCHES]
    return only if only.any() else chord


def _approach(allowed: np.ndarray, first: bool, sounding: int | None, chord: np.ndarray) -> None:
    """Narrow `allowed` (in place) on the beat before the final bar: a pitch of the dominant
    chord, or holding one (on the beat's first step, only a held note that belongs to it). Left
    as it is when the range or scale leaves no such note."""
    pitches = allowed[PITCH0 : PITCH0 + N_PITCHES] & chord
    hold = bool(allowed[HOLD]) and (not first or (sounding is not None and bool(chord[sounding])))
    if pitches.any() or hold:
        allowed[:] = False
        allowed[PITCH0 : PITCH0 + N_PITCHES] = pitches
        allowed[HOLD] = hold


def _biased(logits: np.ndarray, bias: np.ndarray | None, v: int, before: int | None) -> np.ndarray:
    """The logits with voice v's melodic-interval bias (log-odds per signed interval from the
    pitch it sings now, clipped to +-(len // 2) semitones) added to its pitch tokens; nothing
    after a rest. Like the logits, it is divided by the temperature when sampled."""
    if bias is None or before is None:
        return logits
    reach = bias.shape[1] // 2
    out = logits.astype(np.float64)  # a copy
    out[PITCH0 : PITCH0 + N_PITCHES] += bias[v][np.clip(_PITCHES - before, -reach, reach) + reach]
    return out


def move_class(before: int | None, pitch: int, last: int) -> int:
    """A voice's last melodic move (-3..3: its size in semitones, 3 for 3 or more, signed; 0 for
    none yet) after it strikes `pitch`, sounding `before` (its last pitch, rests bridged) and
    having moved `last`: a repeated pitch leaves it as it was."""
    if before is None or pitch == before:
        return last
    return int(np.sign(pitch - before)) * min(abs(pitch - before), 3)


def _contoured(logits: np.ndarray, bias: np.ndarray | None, v: int, before: int | None, last: int) -> np.ndarray:
    """The logits with voice v's contour bias (bias[v, last + 3]: log-odds per signed interval from
    the pitch it sings now, given its last move `last`) added to its pitch tokens, as _biased."""
    return logits if bias is None else _biased(logits, bias[:, last + 3], v, before)


def _voiced(logits: np.ndarray, bias: np.ndarray | None, v: int, now: Sequence[int | None]) -> np.ndarray:
    """The logits with voice v's vertical bias added: for each voice u above it sounding now
    (now[u], written at this step), bias[v, u] (12 log-odds, per interval class from voice v's
    pitch up to u's) on v's pitch tokens, and on HOLD for the pitch v would hold (now[v]).
    Like the logits, it is divided by the temperature when sampled."""
    if bias is None or not any(p is not None for p in now[:v]):
        return logits
    out = logits.astype(np.float64)  # a copy
    held = now[v]
    for u in range(v):
        upper = now[u]
        if upper is None:
            continue
        out[PITCH0 : PITCH0 + N_PITCHES] += bias[v, u][(upper - _PITCHES) % 12]
        if held is not None:
            out[HOLD] += bias[v, u][(upper - held) % 12]
    return out


def _registered(logits: np.ndarray, bias: np.ndarray | None, v: int) -> np.ndarray:
    """The logits with voice v's register bias (log-odds per pitch it strikes) added to its pitch
    tokens. Like the logits, it is divided by the temperature when sampled."""
    if bias is None:
        return logits
    out = logits.astype(np.float64)  # a copy
    out[PITCH0 : PITCH0 + N_PITCHES] += bias[v, :N_PITCHES]
    return out


def with_learned_biases(
    logits: np.ndarray, c: Constraints, v: int, before: int | None, now: Sequence[int | None], last: int
) -> np.ndarray:
    """The logits with every bias the model learned for voice v added (those `c` holds): its
    melodic interval from `before` (_biased), the same given its last move `last` (_contoured),
    its intervals under the voices above it sounding `now` (_voiced), and its register
    (_registered)."""
    out = _contoured(_biased(logits, c.interval_bias, v, before), c.contour_bias, v, before, last)
    return _registered(_voiced(out, c.vertical_bias, v, now), c.pitch_bias, v)


SPACING_PENALTY = 1.0  # nats off a note crossing the voice above, or an upper voice's unison or octave-plus under it


def spaced(logits: np.ndarray, v: int, n_voices: int, now: Sequence[int] | np.ndarray) -> np.ndarray:
    """The logits less SPACING_PENALTY on the pitches (struck or held) that would put voice v
    above the voice over it (sounding now[v - 1], -1 for none: a crossing) or, for an upper voice
    (not the lowest), on its very pitch or more than an octave under it: a choir's spacing, which
    the causal model's voices exceed otherwise (benchmarks/harmonize_quality.py), and no alto
    doubling the melody in unison, twice as common as in Bach without it
    (benchmarks/bach_classifier.py's features)."""
    if v == 0 or now[v - 1] < 0 or SPACING_PENALTY == 0:
        return logits
    above = now[v - 1]
    bad = _PITCHES > above
    if v < n_voices - 1:
        bad |= (_PITCHES < above - 12) | (_PITCHES == above)
    out = logits.astype(np.float64)  # a copy
    out[PITCH0 : PITCH0 + N_PITCHES] -= SPACING_PENALTY * bad
    if now[v] >= 0 and bad[now[v]]:
        out[HOLD] -= SPACING_PENALTY
    return out


def _echoed(source: int, source_pitch: int, e: Echo, sounding: int | None) -> int:
    """The token that repeats `source` (whose voice sounded `source_pitch`, -1 for none) moved
    by e.semitones: a held note stays held when the same note sounds, else it is struck anew
    (a return that begins in the middle of a note). A `silent` echo holds where the source held
    the note still sounding, and is silent elsewhere; one that `holds_on` holds whatever note
    sounds where the source held one."""
    if source == REST or source_pitch < 0:
        return REST
    pitch = min(max(source_pitch + e.semitones, 0), N_PITCHES - 1)
    if source == HOLD and (sounding == pitch or (e.holds_on and sounding is not None)):
        return HOLD
    return REST if e.silent else PITCH0 + pitch


def _leaned(logits: np.ndarray, allowed: np.ndarray, lean: float) -> np.ndarray:
    """The logits with `lean` log-odds an octave above middle C added to the pitches, less what
    keeps the allowed pitches' total as it was: the music lies higher, and strikes a note (rather
    than hold or rest) as often as it would have."""
    out = logits.astype(np.float64)  # a copy
    pitches, ok = out[PITCH0 : PITCH0 + N_PITCHES], allowed[PITCH0 : PITCH0 + N_PITCHES]
    if not ok.any() or not np.isfinite(pitches[ok]).any():
        return out
    tilt = lean * (_PITCHES - 60) / 12
    before, after = np.logaddexp.reduce(pitches[ok]), np.logaddexp.reduce(pitches[ok] + tilt[ok])
    out[PITCH0 : PITCH0 + N_PITCHES] += tilt - (after - before)
    return out


def _hinted(source: int, source_pitch: int, e: Hint) -> int:
    """The token a hint favours: the earlier cell's rest, its held note's holding on (the rhythm,
    whatever sounds now), or its struck pitch moved by e.semitones."""
    if source in (REST, HOLD) or source_pitch < 0:
        return REST if source != HOLD else HOLD
    return PITCH0 + min(max(source_pitch + e.semitones, 0), N_PITCHES - 1)


def _planned(
    allowed: np.ndarray,
    cells: np.ndarray,
    sounding: int | None,
    hold_only: bool,
    echo: Echo | None,
    source: int,
    source_pitch: int,
) -> np.ndarray:
    """`allowed` narrowed by the plan at one cell: the pitch sounding there must be one of
    `cells` (N_CELL,), a held note holds on, a varied return keeps its first rhythm and stays
    within reach of its first pitches. What the plan would leave empty it leaves as it was."""
    out = allowed.copy()
    out[REST] &= cells[CELL_REST]
    out[PITCH0 : PITCH0 + N_PITCHES] &= cells[CELL_REST + 1 :]
    if sounding is not None and not cells[CELL_REST + 1 + sounding]:
        out[HOLD] = False
    if hold_only and out[HOLD]:
        out[:] = False
        out[HOLD] = True
    if echo is not None and echo.rhythm_only:
        kept = out.copy()
        if source == HOLD:
            kept[:] = False
            kept[HOLD] = out[HOLD]
        elif source == REST:
            kept[:] = False
            kept[REST] = out[REST]
        else:
            kept[HOLD] = kept[REST] = False
            if echo.reach is not None and source_pitch >= 0:
                centre = source_pitch + echo.semitones
                kept[PITCH0 : PITCH0 + N_PITCHES] &= np.abs(_PITCHES - centre) <= echo.reach
        if kept.any():
            out = kept
    return out if out.any() else allowed


def _resolved(allowed: np.ndarray, outside: int, tones: np.ndarray) -> np.ndarray:
    """`allowed` narrowed so that the next note struck after `outside` (a pitch outside the
    chord) is a step away (one or two semitones) and a tone of the chord (`tones`, 12 bools);
    holding on and resting stay as they were; as it was when no such note is allowed."""
    out = allowed.copy()
    out[PITCH0 : PITCH0 + N_PITCHES] &= (np.abs(_PITCHES - outside) <= 2) & (_PITCHES != outside) & tones[_PITCHES % 12]
    return out if out[PITCH0 : PITCH0 + N_PITCHES].any() else allowed


def _with_third(allowed: np.ndarray, third: frozenset[int], sounding: int | None) -> np.ndarray:
    """`allowed` narrowed to a pitch of `third` (struck, or held when the sounding note is one),
    for the last upper voice of a planned chord whose third no voice above sings; as it was
    when its range holds none."""
    out = allowed.copy()
    out[REST] = False
    out[PITCH0 : PITCH0 + N_PITCHES] &= np.isin(_PITCHES % 12, sorted(third))
    out[HOLD] &= sounding is not None and sounding % 12 in third
    return out if out.any() else allowed


def window_start(bar_starts: list[int], length: int, block_size: int) -> int:
    """Where a slid window begins when a sequence of `length` tokens outgrows the model's reach:
    at the earliest bar (its BAR token's index in `bar_starts`) within the last half block, or
    at the last bar; the prefix is fed again before it."""
    return next((b for b in bar_starts if length - b <= block_size // 2), bar_starts[-1])


def generate_tokens(
    model: Transformer,
    tok: VoicesTokenizer,
    key: Key,
    meter: Meter,
    n_bars: int,
    settings: SamplingSettings = SamplingSettings(),
    constraints: Constraints | None = None,
    on_cell: Callable[[int, int, int], None] | None = None,
) -> list[int]:
    """Sample a whole piece of `n_bars` bars. Returns the token sequence (ending with EOS).

    on_cell(step, voice, token) is called as each cell is decided (for streaming and timing).
    """
    if n_bars < 1:
        raise OptionError(f"bars must be at least 1, not {n_bars}")
    c = constraints or Constraints()
    nv, steps_per_bar = tok.config.n_voices, tok.steps_per_bar(meter)
    base_mask = _allowed_masks(tok, c)
    for step, v in c.fixed:
        if not (0 <= v < nv and 0 <= step < n_bars * steps_per_bar):
            raise OptionError(f"fixed cell at step {step}, voice {v} lies outside the piece")
    if not base_mask[:, PITCH0:].any(axis=1).all():
        raise OptionError("the constraints leave some voice no pitch at all (range and scale do not meet)")
    n_steps = n_bars * steps_per_bar
    if c.step_cells is not None and c.step_cells.shape[:2] != (n_steps, nv):
        raise OptionError(f"the plan covers {c.step_cells.shape[0]} steps; the piece has {n_steps}")
    played = np.full((n_steps, nv), REST)  # the token written at each cell
    sung = np.full((n_steps, nv), -1)  # the pitch sounding at each cell, -1 for none
    rng = np.random.default_rng(settings.seed)
    # the final cadence: V on the last beat before the final bar (when there is one), then I
    approach_from = (n_bars - 1) * steps_per_bar - round(beat_beats(meter) * tok.config.steps_per_beat)
    approach = c.final_cadence and n_bars > 1
    prefix = tok.prefix(key, meter)
    tokens: list[int] = list(prefix)
    bar_starts: list[int] = []  # index in tokens of each BAR token
    decoder = Decoder(model)
    fed = 0  # tokens[:fed] are in the decoder's cache
    logits = None
    last_cell = [REST] * nv  # each voice's cell at the previous step (HOLD may only continue a note)
    sounding: list[int | None] = [None] * nv  # each voice's pitch at the previous step, then at this one
    sang: list[int | None] = [None] * nv  # each voice's last pitch, rests bridged
    moved = [0] * nv  # each voice's last melodic move (move_class)
    unresolved: int | None = None  # a lead sheet's top voice: the pitch it struck outside the chord, until it moves

    def feed():
        """Run the model over tokens not yet in the cache; slide the window when it is full."""
        nonlocal fed, logits
        block = decoder.block_size
        if decoder.length + len(tokens) - fed > block:
            # keep the prefix and the most recent whole bars, about half the window
            keep_from = window_start(bar_starts, len(tokens), block)
            decoder.reset()
            logits = decoder.feed(prefix + tokens[keep_from:])
        elif len(tokens) > fed:
            logits = decoder.feed(tokens[fed:])
        fed = len(tokens)

    with one_blas_thread():
        for bar in range(n_bars):
            bar_starts.append(len(tokens))
            tokens.append(tok.bar_token(n_bars - 1 - bar))
            for i in range(steps_per_bar):
                step = bar * steps_per_bar + i
                before = list(sounding)
                for v in range(nv):
                    fixed = c.fixed.get((step, v))
                    echo = c.echoes.get((step, v))
                    if fixed is None and echo is not None and not echo.rhythm_only:
                        fixed = _echoed(int(played[echo.source, v]), int(sung[echo.source, v]), echo, sounding[v])
                    if fixed is not None:
                        t = fixed
                    else:
                        feed()
                        allowed = base_mask[v].copy()
                        allowed[HOLD] = last_cell[v] != REST and (step, v) not in c.no_hold
                        if c.start_on_downbeat and step == 0 and allowed[PITCH0:].any():
                            allowed[REST] = False
                        if c.step_cells is not None:
                            src = echo.source if echo is not None else step
                            allowed = _planned(
                                allowed,
                                c.step_cells[step, v],
                                sounding[v],
                                (step, v) in c.hold_only,
                                echo,
                                int(played[src, v]),
                                int(sung[src, v]),
                            )
                        need = c.thirds.get(step)
                        if need and v == nv - 2 and not any(p is not None and p % 12 in need for p in sounding[:v]):
                            allowed = _with_third(allowed, need, sounding[v])
                        if c.final_cadence and bar == n_bars - 1:
                            chord = final_chord_mask(key, v, nv)
                            if i == 0 and v == nv - 2:  # the last upper voice completes the chord: its third
                                chord = _complete(chord, allowed, sounding[:v], tonic_thirds(key))
                            _close(allowed, i == 0, last_cell[v], chord)
                        elif approach and step >= approach_from:
                            chord = dominant_chord_mask(key, v, nv)
                            if step == approach_from and v == nv - 2:  # the leading tone, V's third
                                chord = _complete(chord, allowed, sounding[:v], {leading_tone(key)})
                            _approach(allowed, step == approach_from, before[v], chord)
                        if v == 0 and unresolved is not None and c.chord_tones is not None:
                            allowed = _resolved(allowed, unresolved, c.chord_tones[step])
                        if c.no_parallels:
                            free = allowed.copy()
                            free[PITCH0 : PITCH0 + N_PITCHES] &= ~parallel_pitches(before, sounding, v)
                            if v < nv - 1 and c.step_cells is not None and not c.step_cells[step, -1].all():
                                bass = base_mask[-1, PITCH0 : PITCH0 + N_PITCHES].copy()
                                bass &= c.step_cells[step, -1, CELL_REST + 1 :]
                                free[PITCH0 : PITCH0 + N_PITCHES] &= leaves_the_bass_a_way(before, sounding, v, bass)
                            if free.any():  # the final chord may leave no other way in: then allow it
                                allowed = free
                        allowed = without_cross_relations(allowed, sounding, v, key)  # where a note is left
                        assert logits is not None  # feed() ran
                        biased = with_learned_biases(logits, c, v, before[v], sounding, moved[v])
                        if c.spacing:
                            biased = spaced(biased, v, nv, [-1 if p is None else p for p in sounding])
                        if c.hold_bias is not None:  # where in the beat a voice moves
                            biased = biased.astype(np.float64)  # a copy (when no other bias made one)
                            biased[HOLD] += c.hold_bias[v, step % c.hold_bias.shape[1]]
                        if c.turn_lean and step in c.turn_steps:  # a turn lies higher
                            biased = _leaned(biased, allowed, c.turn_lean)
                        hint = c.hints.get((step, v)) if c.echo_bias else None
                        if hint is not None:  # the planned near-repetition: the earlier cell, favoured
                            biased = biased.astype(np.float64)
                            biased[_hinted(int(played[hint.source, v]), int(sung[hint.source, v]), hint)] += c.echo_bias
                        t = sample_token(biased, allowed, settings, rng)
                        if t == REST and step < c.sings_until and allowed[REST + 1 :].any():
                            notes = allowed.copy()  # the model's choice among the rest of what it allowed
                            notes[REST] = False
                            t = sample_token(biased, notes, settings, rng)
                    tokens.append(t)
                    if v == 0 and c.chord_tones is not None:  # a note outside the chord, until it moves or fits
                        pitch = t - PITCH0 if t >= PITCH0 else sounding[0] if t == HOLD else None
                        outside = pitch is not None and not c.chord_tones[step][pitch % 12]
                        unresolved = pitch if outside and (t != HOLD or unresolved is not None) else None
                    last_cell[v] = t
                    sounding[v] = t - PITCH0 if t >= PITCH0 else None if t == REST else sounding[v]
                    if t >= PITCH0:
                        moved[v] = move_class(sang[v], t - PITCH0, moved[v])
                        sang[v] = t - PITCH0
                    played[step, v] = t
                    sung[step, v] = -1 if sounding[v] is None else sounding[v]
                    if on_cell:
                        on_cell(step, v, t)
    tokens.append(EOS)
    return tokens
