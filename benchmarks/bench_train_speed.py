"""Training speed of a likelihood benchmark model: what each of `cadenza bench nll`'s speed
choices buys on this machine, with the real data, batches and loss.

    .venv/bin/python benchmarks/bench_train_speed.py [--data ../shared/benchmarks/jsb_chorales.json.gz]
        [--layers 4 --embd 128 --heads 4 --batch-size 4 --block-size 768] [--steps 5]

Prints seconds per optimizer step and trained tokens per second for dropout on the attention
weights (as `cadenza train` does) against none (PyTorch's fused attention kernel), in fp32 and
under bfloat16 autocast; then how full the rows would be without packing (one window per row,
padded to the longest window of its batch of 16, as before packing).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from cadenza.families.benchmark import StepBatches, load_benchmark, masked_loss, range_for
from cadenza.nn.transformer import ModelConfig, Transformer
from cadenza.tokenize.pianoroll import PianoRollTokenizer


def seconds_per_step(batches, tok, args, attn_dropout: float, bf16: bool) -> float:
    torch.manual_seed(0)
    model = Transformer(
        ModelConfig(
            vocab_size=tok.vocab_size,
            block_size=args.block_size,
            n_layer=args.layers,
            n_head=args.heads,
            n_embd=args.embd,
            dropout=0.2,
            attn_dropout=attn_dropout,
            rope=True,
        )
    )
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    times = []
    for _ in range(args.steps + 2):  # two warm-up steps
        batch = batches.next(args.batch_size)
        began = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = masked_loss(model, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - began)
    return float(np.median(times[2:]))


def main() -> None:
    root = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(root.parent / "shared" / "benchmarks" / "jsb_chorales.json.gz"))
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--embd", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--block-size", type=int, default=768)
    ap.add_argument("--steps", type=int, default=5)
    args = ap.parse_args()
    data = load_benchmark(args.data)
    tok = PianoRollTokenizer(range_for(data))
    batches = StepBatches(data["train"], tok, args.block_size, transpose=6, seed=0)
    tokens = args.batch_size * args.block_size
    print(
        f"{Path(args.data).name}: {args.layers} layers, {args.embd} channels, {args.batch_size} packed rows of "
        f"{args.block_size} tokens, {torch.get_num_threads()} threads; median of {args.steps} steps"
    )
    base = None
    for attn_dropout, bf16 in ((0.2, False), (0.0, False), (0.0, True)):
        s = seconds_per_step(batches, tok, args, attn_dropout, bf16)
        base = base or s
        print(
            f"attention-weight dropout {attn_dropout:.1f}, {'bf16 autocast' if bf16 else 'fp32         '}: "
            f"{s:6.3f} s per step, {tokens / s:8.0f} tokens/s ({base / s:4.1f}x)",
            flush=True,
        )
    lengths = np.array([len(batches.window()[0]) - 1 for _ in range(16 * 200)]).reshape(200, 16)
    fill = lengths.sum() / (16 * lengths.max(axis=1)).sum()
    print(f"without packing, a batch of 16 one-window rows padded to its longest would be {fill:.0%} real tokens")


if __name__ == "__main__":
    main()
