"""A model's validation loss beside a smoothed n-gram's, on the same split, tokens and cells.

    .venv/bin/python benchmarks/ngram_baseline.py [--model chorales] [--order 5]

Both are scored in nats per cell token (pitch onset, hold or rest) on the model's own held-out
validation pieces, untransposed. The n-gram (interpolated absolute discounting, orders 1..N)
learns from the same training pieces with the same transposition augmentation; the transformer
is evaluated by the same function its training used (cadenza.train.evaluate).
"""

from __future__ import annotations

import argparse

from cadenza.compose import composer
from cadenza.data.corpus import split_of
from cadenza.evaluate.ngram import NGram, augmented
from cadenza.families.voices import tokenize_pieces
from cadenza.train.loop import evaluate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="chorales")
    ap.add_argument("--order", type=int, default=5)
    args = ap.parse_args()

    c = composer.load(args.model)
    t = c.meta["train"]
    train_p, valid_p = split_of(c.meta)
    train_t, _ = tokenize_pieces(train_p, c.tokenizer)
    valid_t, _ = tokenize_pieces(valid_p, c.tokenizer)
    model_nll = evaluate(c.model, valid_t, c.tokenizer)
    print(f"data {t['data']}: {len(train_t)} training, {len(valid_t)} validation pieces")
    print(f"transformer ({c.name}, {c.meta['params'] / 1e6:.2f}M parameters): {model_nll:.4f} nats per cell")
    for order in sorted({1, 3, args.order}):
        ng = NGram(order=order).fit(augmented(train_t, c.tokenizer, t["transpose"]))
        print(
            f"{order}-gram, absolute discounting, same augmentation: "
            f"{ng.nll(p.tokens for p in valid_t):.4f} nats per cell"
        )


if __name__ == "__main__":
    main()
