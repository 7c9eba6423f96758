"""DigitPoses: one real digit per canvas at a random centre, scale and rotation, for
DeepPose-style direct regression of those numbers."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from autograd_cv.vision.datasets.digit_scenes import load_digits


class DigitPoses:
    """Item i: (image (1, size, size) float32 in [0, 1], pose (cx, cy, scale, angle) float32,
    label). The digit's 28x28 square is scaled by `scale`, turned by `angle` degrees
    (counter-clockwise) and centred at (cx, cy) in pixels; a function of (seed, split, i)."""

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        train: bool = True,
        size: int = 48,
        source: str = "mnist",
        seed: int = 0,
        length: int | None = None,
        scale: tuple[float, float] = (0.8, 1.3),
        angle: tuple[float, float] = (-45.0, 45.0),
        download: bool = True,
    ) -> None:
        self.images, self.labels = load_digits(source, train, root, download)
        self.train, self.size, self.seed = train, size, seed
        self.scale, self.angle = scale, angle
        # A turned square's corners reach sqrt(2) * half its side from the centre.
        self.reach = 28 * scale[1] / 2 * np.sqrt(2)
        if 2 * self.reach > size + 8:
            raise ValueError(f"DigitPoses: a digit scaled by {scale[1]} does not fit size {size}")
        self.length = len(self.images) if length is None else int(length)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray, int]:
        if not 0 <= index < self.length:
            raise IndexError(f"DigitPoses: index {index} out of range for {self.length} items")
        rng = np.random.default_rng((self.seed, int(self.train), index, 7))
        pick = int(rng.integers(len(self.images)))
        scale, angle = rng.uniform(*self.scale), rng.uniform(*self.angle)
        side = 28 * scale
        # Centres keep the digit's ink (about 20/28 of its square) inside the canvas.
        margin = 0.4 * side
        cx, cy = rng.uniform(margin, self.size - margin, size=2)
        digit = Image.fromarray(self.images[pick])
        # The inverse map of "scale, turn, move the digit's centre (14, 14) to (cx, cy)".
        theta = np.deg2rad(angle)
        cos, sin = np.cos(theta) / scale, np.sin(theta) / scale
        a, b = cos, -sin
        d, e = sin, cos
        c = 14 - a * cx - b * cy
        f = 14 - d * cx - e * cy
        canvas = digit.transform(
            (self.size, self.size), Image.AFFINE, (a, b, c, d, e, f), resample=Image.BILINEAR
        )
        image = np.asarray(canvas, dtype=np.float32)[None] / 255.0
        pose = np.array([cx, cy, scale, angle], dtype=np.float32)
        return image, pose, int(self.labels[pick])

    def batch(self, indices) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Images (B, 1, S, S), poses (B, 4) and labels (B,)."""
        items = [self[int(i)] for i in indices]
        return (
            np.stack([i[0] for i in items]),
            np.stack([i[1] for i in items]),
            np.asarray([i[2] for i in items], dtype=np.int64),
        )
