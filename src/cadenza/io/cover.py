"""Score -> a cover picture (PNG): a small compositional pattern-producing network (CPPN,
Stanley 2007) drawn over the picture's coordinates, its inputs and weights set by the piece's
own features, so a piece always gets the same picture and pieces alike get pictures alike.

- the key sets the colours: the tonic's place on the circle of fifths is the hue, minor darker;
- the tempo sets how fine the pattern is (faster, finer);
- the density (notes per beat) sets how busy it is (the weights' scale);
- the form sets its symmetry: a piece whose sections return is mirrored, once per return;
- all of them, with the meter and the range, are the network's latent input z.

The network: inputs (x, y, r, z...), three tanh/sin layers of 16 units with weights drawn from a
generator seeded by a hash of the features, output hue shift, lightness and saturation.
"""

from __future__ import annotations

import colorsys
import hashlib
import json
from pathlib import Path

import numpy as np

from cadenza.io.files import atomic_write
from cadenza.score import Score

SIZE = 512


def features(score: Score) -> dict:
    """The features a cover is drawn from (what the JSON record could show beside it)."""
    from cadenza.theory import estimate_key

    notes = [n for p in score.parts if not p.is_drum for n in p.notes]
    key = score.key or (estimate_key(notes) if notes else None)
    beats = max(score.end_beats, 1e-9)
    labels = [s.label.rstrip("'") for s in score.sections]
    return {
        "fifths": ((key.tonic * 7) % 12) if key else 0,  # the tonic's place on the circle of fifths
        "minor": bool(key and key.mode == "minor"),
        "tempo": round(score.tempo_bpm, 1),
        "density": round(len(notes) / beats, 3),
        "returns": len(labels) - len(set(labels)),
        "sections": len(labels),
        "meter": str(score.meter),
        "low": min((n.pitch for n in notes), default=60),
        "high": max((n.pitch for n in notes), default=72),
    }


def draw_cover(score: Score, size: int = SIZE) -> np.ndarray:
    """(size, size, 3) uint8 RGB: the piece's cover."""
    f = features(score)
    digest = hashlib.sha256(json.dumps(f, sort_keys=True).encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    z = np.array(
        [
            f["fifths"] / 6 - 1,
            1.0 if f["minor"] else -1.0,
            np.tanh((f["tempo"] - 100) / 40),
            np.tanh(f["density"] - 2),
            (f["high"] - f["low"]) / 24 - 1,
        ]
    )
    folds = min(f["returns"], 3)
    y, x = np.mgrid[-1 : 1 : size * 1j, -1 : 1 : size * 1j]
    if folds:  # a returning section mirrors the picture: left-right, then top-bottom, then the diagonal
        x = np.abs(x)
    if folds > 1:
        y = np.abs(y)
    if folds > 2:
        x, y = np.maximum(x, y), np.minimum(x, y)
    scale = 1.5 + 3.0 * np.clip(f["tempo"], 40, 200) / 200
    r = np.sqrt(x**2 + y**2)
    h = np.stack([x * scale, y * scale, r * scale, *[np.full_like(x, v) for v in z]], axis=-1)
    busy = 0.8 + 0.6 * np.tanh(f["density"] / 3)
    for layer in range(3):
        w = rng.normal(0, busy, (h.shape[-1], 16))
        h = h @ w
        h = np.sin(h) if layer % 2 else np.tanh(h)
    out = np.tanh(h @ rng.normal(0, 1.0, (16, 3)))  # hue shift, lightness, saturation in -1..1
    hue = (f["fifths"] / 12 + 0.12 * out[..., 0]) % 1.0
    light = (0.32 if f["minor"] else 0.5) + 0.22 * out[..., 1]
    sat = 0.55 + 0.35 * out[..., 2]
    rgb = np.vectorize(colorsys.hls_to_rgb, otypes=[float, float, float])(hue, light, sat)
    return (np.clip(np.stack(rgb, axis=-1), 0, 1) * 255).astype(np.uint8)


def write_cover(score: Score, path: str | Path, force: bool = False, size: int = SIZE) -> Path:
    from PIL import Image

    picture = Image.fromarray(draw_cover(score, size), "RGB")
    return atomic_write(path, lambda tmp: picture.save(tmp, format="PNG"), force=force)
