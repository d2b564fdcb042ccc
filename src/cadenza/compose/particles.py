"""Harmonizing with a causal voices model: sequential Monte Carlo over the lower voices.

A causal model writes each grid step's voices from the top down. With the melody's cells forced,
it would choose the lower voices knowing the melody up to the present step and nothing of where
it goes next. Here a set of particles (partial harmonizations) each draws its own lower voices
from the model, and each is weighed by the probability the model gives the given cells (the
melody's, a user's fixed notes) that follow; at each beat, when the weights have grown uneven,
the particles are redrawn in proportion to them (sequential importance resampling; Doucet,
de Freitas & Gordon, "Sequential Monte Carlo Methods in Practice", 2001). The lower voices that
survive are those under which the melody goes on the way the model expects it to. The weights
count the given cells only: the masks below, the model's sampling biases (melodic, contour and
vertical; cadenza.compose.composer.default_constraints), the spacing (always, whatever the
model's "spacing" says: sampler.spaced), the cost of a held note
(HOLD_COST) and the sampling settings shape the proposals without being corrected for, so the
target is the model under those constraints.

The constraints are those of the orderless path (cadenza.compose.harmonizer builds them): an
allowed-cells mask per step and voice (ranges, no voice above the melody, planned cadences), no
parallel fifths or octaves into a step, and the model's own melodic-interval bias. A particle
left no note but one in parallels takes it and loses its weight (PARALLEL_PENALTY), so that the
redrawing drops it; the orderless path repairs such notes after the fact, a causal one cannot.
"""

from __future__ import annotations

import numpy as np

from cadenza.compose.composer import Composer
from cadenza.compose.sampler import (
    _planned,
    _with_third,
    move_class,
    parallel_pitches,
    sample_token,
    spaced,
    window_start,
    with_learned_biases,
    without_cross_relations,
)
from cadenza.compose.settings import SamplingSettings
from cadenza.nn.numpy_decoder import Decoder, Decoders, one_blas_thread
from cadenza.score import Key, Meter
from cadenza.theory import beat_beats
from cadenza.tokenize.cells import REST as CELL_REST
from cadenza.tokenize.voices import HOLD, N_PITCHES, PITCH0, REST

PARTICLES = 8  # more find likelier harmonizations, and cost time in proportion
PARALLEL_PENALTY = 20.0  # nats off a particle's log-weight for each parallel fifth or octave it was left
HOLLOW_PENALTY = 20.0  # nats off a particle's log-weight where its cadence chord cannot sound its third
HOLD_COST = 0.4  # nats off holding a note on where the voice is free to move (not under a fermata)


def given_tokens(grid: np.ndarray, hidden: np.ndarray, strikes: np.ndarray) -> dict[tuple[int, int], int]:
    """(step, voice) -> token of each given (not hidden) cell: a pitch where a note starts (at a
    step of `strikes`, or where the cell changes), HOLD where it goes on, REST."""
    out = {}
    for t, v in np.argwhere(~hidden):
        cell = int(grid[t, v])
        if cell == CELL_REST:
            out[t, v] = REST
        elif strikes[t, v] or t == 0 or grid[t - 1, v] != cell:
            out[t, v] = PITCH0 + cell - 1
        else:
            out[t, v] = HOLD
    return out


def harmonize_by_particles(
    composer: Composer,
    key: Key,
    meter: Meter,
    grid: np.ndarray,
    hidden: np.ndarray,
    allowed: np.ndarray,
    strikes: np.ndarray,
    settings: SamplingSettings,
    particles: int = PARTICLES,
    no_hold: frozenset[tuple[int, int]] = frozenset(),
    held: frozenset[tuple[int, int]] = frozenset(),
    off_key: np.ndarray | None = None,
    thirds: dict[int, frozenset[int]] | None = None,
    third_voice: int | None = None,
    again: dict[int, int] | None = None,
    bass_lowest: frozenset[int] = frozenset(),
    upper: tuple[int, ...] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """Fill the `hidden` cells of `grid` (T, V; T whole bars of `meter`) with `composer`'s causal
    model, within `allowed` (T, V, N_CELL). `strikes` (T, V) marks where the given cells' notes
    start; at the (step, voice) cells of `no_hold` no note is held over (a fixed note ends), at
    those of `held` the note sounding is (under a fermata). `off_key` (T, N_PITCHES): nats taken
    from each pitch a lower voice may strike at each step, where the melody's file has changed
    key (settings.OFF_KEY on the notes outside the new key's scale: the model's key condition is
    the first key's). `thirds`: step -> pitch classes of which the chord there sounds one (a
    final chord's third, its dominant's leading tone): voice `third_voice` (the last upper voice
    written; V - 2 if None) takes one where the voices above it have not (sampler._with_third);
    a particle whose voice can take none there (its range, the parallels, a cross relation)
    loses HOLLOW_PENALTY at that step, so that the redrawing and the final choice drop it.
    `again`: step -> an earlier step whose hidden cells each particle sings again there (a
    repeat's second pass: harmonizer.sung_again), the note struck anew where the copy begins;
    the copy is weighed as a given cell is, and loses PARALLEL_PENALTY for each parallel it
    makes, so that the particles left are those whose first pass also leads into its repeat.
    At the steps of `bass_lowest` (the final chord) the bass, the last voice, sounds no pitch
    above the voices of `upper` (those written out): a final chord sounds over its root, not in
    a six-four with the tenor beneath (a newcomer's minor tune); a particle whose bass can take
    none there loses HOLLOW_PENALTY.
    Returns the filled grid and where its notes start."""
    tok = composer.tokenizer
    T, V = grid.shape
    K = particles
    bar = tok.steps_per_bar(meter)
    beat = max(1, round(beat_beats(meter) * tok.config.steps_per_beat))
    n_bars = T // bar
    given = given_tokens(grid, hidden, strikes)
    third_voice = V - 2 if third_voice is None else third_voice
    off_cost = None if off_key is None else np.pad(off_key, ((0, 0), (PITCH0, tok.vocab_size - PITCH0 - N_PITCHES)))
    defaults = composer.default_constraints()
    rng = np.random.default_rng(settings.seed)
    prefix = tok.prefix(key, meter)
    rows = Decoders(Decoder(composer.model), K)
    tokens = np.zeros((K, len(prefix) + n_bars * (1 + bar * V)), dtype=np.int64)  # each particle's sequence
    n = 0  # tokens[:, :n] are written (all particles' sequences are of one length)
    fed = 0  # tokens[:, :fed] are in the caches
    bar_starts: list[int] = []
    cells = np.zeros((K, T, V), dtype=np.int64)  # REST or 1 + pitch
    struck = np.zeros((K, T, V), dtype=bool)
    last = np.full((K, V), REST)  # each voice's token at the previous step
    sounding = np.full((K, V), -1)  # each voice's pitch now, -1 for none
    sang = np.full((K, V), -1)  # each voice's last pitch, rests bridged
    moved = np.zeros((K, V), dtype=np.int64)  # each voice's last melodic move (sampler.move_class)
    log_w = np.zeros(K)

    def feed() -> np.ndarray:
        """The logits (K, vocab); the window slides (the prefix and the most recent whole bars,
        about half of it) when the sequences outgrow the model's reach."""
        nonlocal fed
        if rows.length + n - fed > rows.block_size:
            keep = window_start(bar_starts, n, rows.block_size)
            rows.reset()
            fresh = np.concatenate([np.repeat([prefix], K, axis=0), tokens[:, keep:n]], axis=1)
        else:
            fresh = tokens[:, fed:n]
        fed = n
        return rows.feed(fresh)

    def append(column: np.ndarray) -> None:
        nonlocal n
        tokens[:, n] = column
        n += 1

    for t in prefix:
        append(np.full(K, t))
    with one_blas_thread():
        for b in range(n_bars):
            bar_starts.append(n)
            append(np.full(K, tok.bar_token(n_bars - 1 - b)))
            for step in range(b * bar, (b + 1) * bar):
                before = sounding.copy()
                for v in range(V):
                    logits = feed()
                    fixed = given.get((step, v))
                    if fixed is not None:  # the weight: how likely the model finds what is given
                        log_w += _log_softmax(logits)[:, fixed]
                        chosen = np.full(K, fixed)
                    elif again and step in again:  # each particle sings its own first pass again
                        chosen = _sung_again(cells[:, again[step], v], struck[:, again[step], v], again, step)
                        log_w += _log_softmax(logits)[np.arange(K), chosen]
                        for k in np.flatnonzero(chosen >= PITCH0):
                            into = parallel_pitches([_pitch(x) for x in before[k]], [_pitch(x) for x in sounding[k]], v)
                            log_w[k] -= PARALLEL_PENALTY * into[chosen[k] - PITCH0]
                    else:
                        chosen = np.zeros(K, dtype=np.int64)
                        need = thirds.get(step) if thirds and v == third_voice else None
                        for i in range(K):
                            hold = last[i, v] != REST and (step, v) not in no_hold
                            choices, forced = _choices(
                                allowed[step, v], hold, before[i], sounding[i], v, tok.vocab_size, key
                            )
                            if hold and (step, v) in held and choices[HOLD]:
                                choices = np.zeros_like(choices)
                                choices[HOLD] = True
                            if step in bass_lowest and v == V - 1:
                                under = _below(choices, [sounding[i, u] for u in upper], _pitch(sounding[i, v]))
                                log_w[i] -= HOLLOW_PENALTY * (under is choices)
                                choices = under
                            if need and not any(p >= 0 and p % 12 in need for p in sounding[i, :v]):
                                narrowed = _with_third(choices, need, _pitch(sounding[i, v]))
                                log_w[i] -= HOLLOW_PENALTY * (narrowed is choices)  # none it may take
                                choices = narrowed
                            log_w[i] -= PARALLEL_PENALTY * forced
                            now = [_pitch(x) for x in sounding[i]]
                            biased = with_learned_biases(
                                logits[i], defaults, v, _pitch(before[i, v]), now, int(moved[i, v])
                            )
                            biased = spaced(biased, v, V, sounding[i])
                            if HOLD_COST and (step, v) not in held:
                                biased = biased.astype(np.float64)  # a copy
                                biased[HOLD] -= HOLD_COST
                            if off_cost is not None:
                                biased = biased - off_cost[step]
                            chosen[i] = sample_token(biased, choices, settings, rng)
                    append(chosen)
                    last[:, v] = chosen
                    sounding[:, v] = np.where(
                        chosen >= PITCH0, chosen - PITCH0, np.where(chosen == REST, -1, sounding[:, v])
                    )
                    cells[:, step, v] = sounding[:, v] + 1  # -1 + 1 = CELL_REST
                    for k in np.flatnonzero(chosen >= PITCH0):
                        moved[k, v] = move_class(_pitch(sang[k, v]), int(chosen[k] - PITCH0), int(moved[k, v]))
                        sang[k, v] = chosen[k] - PITCH0
                    struck[:, step, v] = chosen >= PITCH0
                if (step + 1) % beat == 0 and step + 1 < T:
                    w = np.exp(log_w - log_w.max())
                    w /= w.sum()
                    if 1.0 / np.sum(w**2) < K / 2:  # the effective number of particles has halved
                        pick = rng.choice(K, size=K, p=w)
                        rows.keep(pick)
                        tokens, cells, struck, last, sounding, sang, moved = (
                            a[pick] for a in (tokens, cells, struck, last, sounding, sang, moved)
                        )
                        log_w[:] = 0.0
    w = np.exp(log_w - log_w.max())
    i = int(rng.choice(K, p=w / w.sum()))
    return cells[i], struck[i]


def _below(choices: np.ndarray, above: list[int], held: int | None) -> np.ndarray:
    """`choices` (a mask over tokens) less the pitches above the lowest of `above` (-1: a voice
    not sounding), and holding on where the note `held` is above it; `choices` itself where that
    leaves nothing or no voice above sounds."""
    sounding = [p for p in above if p >= 0]
    if not sounding:
        return choices
    top = min(sounding)
    out = choices.copy()
    out[PITCH0 + top + 1 : PITCH0 + N_PITCHES] = False
    if held is not None and held > top:
        out[HOLD] = False
    return out if out.any() else choices


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _sung_again(cells: np.ndarray, struck: np.ndarray, again: dict[int, int], step: int) -> np.ndarray:
    """(K,) the tokens that sing each particle's cells (`cells`, `struck`: at the step `step`
    repeats) again at `step`: held where they were held, struck where a copy begins."""
    begins = again.get(step - 1) != again[step] - 1
    return np.where(cells == CELL_REST, REST, np.where(struck | begins, PITCH0 + cells - 1, HOLD))


def _pitch(p: int) -> int | None:
    return None if p < 0 else int(p)


def _choices(
    cells: np.ndarray, hold: bool, before: np.ndarray, now: np.ndarray, v: int, vocab: int, key: Key
) -> tuple[np.ndarray, bool]:
    """The tokens voice v may take: the cells `cells` (N_CELL,) allows (a held note, when `hold`
    allows one, only while its pitch is allowed), no parallel fifths or octaves with the voices
    above, and then, where a note is left, none against another voice's as its letter altered
    (sampler.without_cross_relations); and whether nothing but parallels was left (then they are
    allowed). `before`
    and `now` are the voices' pitches at the previous step and this one (-1: none)."""
    allowed = np.zeros(vocab, dtype=bool)
    allowed[REST] = True
    allowed[PITCH0 : PITCH0 + N_PITCHES] = True
    allowed[HOLD] = hold
    allowed = _planned(allowed, cells, _pitch(now[v]), False, None, REST, -1)
    sounding = [_pitch(x) for x in now]
    free = allowed.copy()
    free[PITCH0 : PITCH0 + N_PITCHES] &= ~parallel_pitches([_pitch(x) for x in before], sounding, v)
    forced = not free.any()
    return without_cross_relations(allowed if forced else free, sounding, v, key), forced
