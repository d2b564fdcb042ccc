"""Fit the piano model's composer biases: nats added to a token's logit when writing after a
composer, so that the composer's generated pieces use each position in the bar, each hand, each
key and each length about as often as the composer's own training pieces do.

The composer token is worth little to the model (0.006 nats a token on the test pieces: after a
few bars it reads the style from the music), and what it writes after Chopin is mostly called
Beethoven by the composer classifier of benchmarks/piano_quality.py. Each round generates
`--pieces` pieces of 16 bars for each composer (seeds from 1000, so not the benchmark's 0-19;
keys and meters drawn as `cadenza generate --composer` draws them), counts their tokens (read
back from the score as the training pieces are), and adds `--rate` times the log ratio of the
training pieces' shares to the generated ones' (tokens seen 30 times or more in the two
together; each round's step within +-1 nat, the bias within +-3). Only the training split is
read, and only composers with 10 or more training pieces get a bias.

    .venv/bin/python benchmarks/fit_composer_bias.py [--rounds 4] [--pieces 12] [--rate 0.5] [--write]

--write stores the biases in the model's model.json ("sampling" "composer_bias"); without it the
script only prints how far each composer's token shares are from the real ones' (total variation
distance) round by round.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np

from cadenza import hub
from cadenza.data import piano as piano_data
from cadenza.io.files import atomic_write

MIN_PIECES = 10
MIN_COUNT = 30
STEP, BOUND = 1.0, 3.0
BARS = 16
KINDS = ("Bar", "Position", "Program", "Pitch", "Duration")


def counted(tok, written: np.ndarray) -> np.ndarray:
    """The tokens whose shares are fitted: REMI's events the pianist may write."""
    kind = np.array([n.split("_", 1)[0] for n in tok.names] + [""] * (tok.vocab_size - len(tok.names)))
    return np.isin(kind, KINDS) & written


def shares(counts: np.ndarray, mask: np.ndarray) -> np.ndarray:
    c = np.where(mask, counts + 0.5, 0.0)
    return c / c.sum()


def token_counts(tok, scores, composer: str) -> np.ndarray:
    """Each token's count over the scores' tokens; a pitch's is that of the octave around it
    (the twelve keys from five below it to six above), so that the bias moves the register, never a pitch
    class: which pitch classes are in the key is the model's to know, and a composer's keys
    differ piece by piece."""
    counts = np.zeros(tok.vocab_size)
    for score in scores:
        for t in tok.encode(score, composer):
            counts[t] += 1
    pitch = np.flatnonzero(tok.pitch_of >= 0)
    by_pitch = np.zeros(128)
    by_pitch[tok.pitch_of[pitch]] = counts[pitch]
    octave = np.convolve(by_pitch, np.ones(12), mode="full")[6 : 6 + 128]  # keys p-5 .. p+6
    counts[pitch] = octave[tok.pitch_of[pitch]]
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="piano")
    ap.add_argument("--data", default="../shared/data/asap")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--pieces", type=int, default=12, help="pieces per composer per round")
    ap.add_argument("--rate", type=float, default=0.5)
    ap.add_argument("--write", action="store_true", help="store the biases in model.json")
    args = ap.parse_args()

    from cadenza.compose.pianist import _Writer

    pianist = hub.load(args.model)
    tok = pianist.tokenizer
    data = piano_data.load(args.data)
    train = data.splits["train"]
    per = Counter(p.composer for p in train)
    composers = [c for c in pianist.composers if per[c] >= MIN_PIECES]
    probe = _Writer(
        pianist, None, pianist.default_key(0), pianist.default_meter(), pianist.sampling(None, None, None, 0)
    )
    mask = counted(tok, ~probe.off_grid)
    writable = {str(pianist.meter_for(BARS, s, c)) for c in composers for s in range(200)}
    real = {  # in the meters the model writes, where a position in the bar means what it means there
        c: token_counts(
            tok, [p.piece.score for p in train if p.composer == c and str(p.piece.score.meter) in writable], c
        )
        for c in composers
    }
    print(
        f"model {pianist.name}; composers with {MIN_PIECES}+ training pieces (those in {', '.join(sorted(writable))}): "
        + ", ".join(
            f"{c} ({per[c]}, {sum(p.composer == c and str(p.piece.score.meter) in writable for p in train)})"
            for c in composers
        )
    )
    sampling = pianist.meta.setdefault("sampling", {})
    bias = {c: np.zeros(tok.vocab_size) for c in composers}
    for r in range(args.rounds + 1):
        sampling["composer_bias"] = {c: _named(tok, b) for c, b in bias.items()}
        t0 = time.time()
        line = []
        for c in composers:
            scores = [
                pianist.generate(
                    bars=BARS,
                    composer=c,
                    seed=1000 + i,
                    key=pianist.default_key(1000 + i, c),
                    meter=pianist.meter_for(BARS, 1000 + i, c),
                )
                for i in range(args.pieces)
            ]
            gen = token_counts(tok, scores, c)
            want, got = shares(real[c], mask), shares(gen, mask)
            line.append(f"{c} {0.5 * np.abs(want - got).sum():.3f}")
            if r < args.rounds:
                enough = mask & (real[c] + gen >= MIN_COUNT)
                ratio = np.where(enough, want, 1.0) / np.where(enough, got, 1.0)
                step = np.clip(args.rate * np.log(ratio), -STEP, STEP)
                bias[c] = np.clip(bias[c] + np.where(enough, step, 0.0), -BOUND, BOUND)
        print(f"round {r}: token shares' distance to the composer's own: {', '.join(line)} ({time.time() - t0:.0f} s)")
    if args.write:
        path = Path(pianist.directory) / "model.json"
        meta = json.loads(path.read_text())
        meta.setdefault("sampling", {})["composer_bias"] = {c: _named(tok, b) for c, b in bias.items()}
        atomic_write(path, (json.dumps(meta, indent=2) + "\n").encode(), force=True)
        print(f"wrote the biases of {len(composers)} composers to {path}")


def _named(tok, bias: np.ndarray) -> dict[str, float]:
    return {tok.names[i]: round(float(b), 3) for i, b in enumerate(bias) if b and i < len(tok.names)}


if __name__ == "__main__":
    main()
