"""The causal comparison for the harmonizer's likelihoods: a left-to-right transformer over the
same sixteenth-note SATB cells, trained here on the same train split (jsb16th_satb.json.gz),
chosen on valid, measured on test.

Sequence: BOS, then each step's cells S, A, T, B (0 = rest, 1 + MIDI pitch). Printed on test:
  - framewise NLL: -log p(all four cells of a step | every earlier step), summed per step, exact;
  - NLL per alto/tenor/bass cell given everything before it in this order (the past of all four
    voices and this step's soprano). A causal model cannot condition on the future soprano, so
    this is not the harmonizer's "given the whole soprano" figure; it is the causal model's best.

This trains a measurement model (not shipped):
    .venv/bin/python benchmarks/causal_satb.py --minutes 15
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from cadenza.families.orderless import load_satb  # noqa: E402
from cadenza.nn.transformer import ModelConfig, Transformer  # noqa: E402
from cadenza.train.loop import RunConfig, fit  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "jsb16th_satb.json.gz"
BOS, PAD = 129, 130


class CellBatches:
    def __init__(self, grids, block: int, transpose: int, seed: int):
        self.grids, self.block, self.transpose = grids, block, transpose
        lengths = np.array([len(g) for g in grids], dtype=np.float64)
        self.weights = lengths / lengths.sum()
        self.rng = np.random.default_rng(seed)

    def next(self, batch_size: int):
        x = np.full((batch_size, self.block), PAD, dtype=np.int64)
        y = np.full((batch_size, self.block), PAD, dtype=np.int64)
        steps = self.block // 4
        for b in range(batch_size):
            g = self.grids[int(self.rng.choice(len(self.grids), p=self.weights))]
            start = int(self.rng.integers(0, max(1, len(g) - steps + 1)))
            w = g[start : start + steps]
            sounding = w[w > 0]
            shift = int(
                self.rng.integers(
                    max(-self.transpose, 1 - sounding.min()), min(self.transpose, 128 - sounding.max()) + 1
                )
            )
            seq = np.concatenate([[BOS], np.where(w > 0, w + shift, 0).reshape(-1)])
            x[b, : len(seq) - 1], y[b, : len(seq) - 1] = seq[:-1], seq[1:]
        return torch.from_numpy(x), torch.from_numpy(y)

    def state(self):
        return self.rng.bit_generator.state

    def set_state(self, state):
        self.rng.bit_generator.state = state


@torch.no_grad()
def measure(model, grids) -> tuple[float, float]:
    """(framewise NLL per step, NLL per A/T/B cell) over whole pieces."""
    model.eval()
    frame_total = atb_total = 0.0
    steps = atb_cells = 0
    for g in grids:
        seq = torch.from_numpy(np.concatenate([[BOS], g.reshape(-1)]))
        nll = F.cross_entropy(model(seq[None, :-1])[0, :, :129], seq[1:], reduction="none").numpy()
        frame_total += float(nll.sum())
        atb_total += float(nll.reshape(-1, 4)[:, 1:].sum())
        steps += len(g)
        atb_cells += 3 * len(g)
    model.train()
    return frame_total / steps, atb_total / atb_cells


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--out", default="runs/causal-satb")
    ap.add_argument("--minutes", type=float, default=15.0)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--embd", type=int, default=192)
    ap.add_argument("--block", type=int, default=512, help="training window in tokens (4 per step)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    d = load_satb(args.data)
    longest = max(len(g) for s in d.values() for g in s) * 4 + 1
    cfg = RunConfig(
        data=args.data,
        block_size=args.block,
        n_layer=args.layers,
        n_embd=args.embd,
        rope=True,
        dropout=0.1,
        batch_size=16,
        minutes=args.minutes,
        eval_every=250,
        transpose=6,
        seed=args.seed,
    )
    torch.manual_seed(args.seed)
    model = Transformer(
        ModelConfig(
            vocab_size=PAD + 1,
            block_size=max(longest, args.block),
            n_layer=args.layers,
            n_head=4,
            n_embd=args.embd,
            dropout=0.1,
            rope=True,
        )
    )
    clock = time.monotonic()
    out = Path(args.out)
    state = fit(
        model,
        cfg,
        CellBatches(d["train"], args.block, cfg.transpose, args.seed),
        lambda m: measure(m, d["valid"])[0],
        out,
        {"note": "benchmarks/causal_satb.py measurement model"},
        loss_fn=lambda m, batch: m.loss(*batch, ignore_index=PAD),
    )
    from cadenza.nn.checkpoint import load_into, read_meta

    meta = read_meta(out)
    best = load_into(Transformer(ModelConfig(**meta["model"])), out)
    valid, test = measure(best, d["valid"]), measure(best, d["test"])
    print(
        f"causal model: {best.num_params():,} parameters, {state.step} steps in "
        f"{(time.monotonic() - clock) / 60:.1f} min, best at step {meta['step']}, seed {args.seed}"
    )
    for name, (frame, atb) in (("valid", valid), ("test", test)):
        print(
            f"{name}: framewise NLL {frame:.4f} nats per step; alto/tenor/bass {atb:.4f} nats per cell "
            f"(given the past and this step's soprano)"
        )
    assert math.isfinite(test[0])


if __name__ == "__main__":
    main()
