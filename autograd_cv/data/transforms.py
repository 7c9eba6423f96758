"""Transforms on whole batches of images (N, C, H, W), vectorised over the batch.

Random transforms draw from their own `numpy.random.Generator`, seeded from `seed` and the
epoch: `set_epoch(n)` restarts the stream for epoch `n`, so a resumed run sees the same
augmentations. DataLoader calls `set_epoch` at the start of every epoch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class Transform:
    """Base class: `__call__(images) -> images` on a batch (N, C, H, W); never in place."""

    def __call__(self, images: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def set_epoch(self, epoch: int) -> None:
        """Restart any random stream for `epoch`; deterministic transforms ignore it."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class RandomTransform(Transform):
    """A transform with its own generator, reproducible from `seed` and the epoch."""

    def __init__(self, seed: int | None = None) -> None:
        # Without a seed, draw entropy once so set_epoch still gives a consistent stream per run.
        self.seed = np.random.SeedSequence(seed).entropy
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        self.rng = np.random.default_rng([self.seed, int(epoch)])


class Compose(Transform):
    """Apply transforms in order."""

    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        for transform in self.transforms:
            images = transform(images)
        return images

    def set_epoch(self, epoch: int) -> None:
        for transform in self.transforms:
            if hasattr(transform, "set_epoch"):
                transform.set_epoch(epoch)

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"Compose([{inner}])"


class ToFloat(Transform):
    """uint8 images -> float32 in [0, 1]; float images -> float32 unchanged in value."""

    def __call__(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        if images.dtype == np.uint8:
            return images.astype(np.float32) / np.float32(255)  # divide: 51 -> float32(0.2) exactly
        if images.dtype.kind == "f":
            return images.astype(np.float32, copy=True)
        raise TypeError(f"ToFloat: expected uint8 or float images, got dtype {images.dtype}")


class Normalize(Transform):
    """(images - mean) / std per channel, for float images (put ToFloat first for uint8)."""

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]) -> None:
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if self.mean.ndim != 1 or self.std.ndim != 1:
            raise ValueError("Normalize: mean and std must be numbers or 1-D sequences")
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std must be nonzero, got {self.std.tolist()}")

    def __call__(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        if images.dtype.kind != "f":
            raise TypeError(
                f"Normalize: expected float images, got dtype {images.dtype}; "
                "put ToFloat() before Normalize"
            )
        channels = images.shape[1]
        for name, values in (("mean", self.mean), ("std", self.std)):
            if len(values) not in (1, channels):
                raise ValueError(
                    f"Normalize: {name} has {len(values)} values but images {images.shape} "
                    f"have {channels} channels"
                )
        # Keep the images' dtype: float32 stays float32.
        mean = self.mean.astype(images.dtype).reshape(1, -1, 1, 1)
        std = self.std.astype(images.dtype).reshape(1, -1, 1, 1)
        return (images - mean) / std

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class RandomCrop(RandomTransform):
    """Pad each side by `padding` zeros, then crop a random `size` window per image."""

    def __init__(
        self, size: int | tuple[int, int], padding: int = 0, seed: int | None = None
    ) -> None:
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        if padding < 0:
            raise ValueError(f"RandomCrop: padding must be >= 0, got {padding}")
        self.padding = padding
        super().__init__(seed)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        crop_h, crop_w = self.size
        pad = self.padding
        if pad:
            images = np.pad(images, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        n, _, height, width = images.shape
        if crop_h > height or crop_w > width:
            raise ValueError(
                f"RandomCrop: crop {self.size} is larger than the padded images {(height, width)}"
            )
        top = self.rng.integers(0, height - crop_h + 1, size=n)
        left = self.rng.integers(0, width - crop_w + 1, size=n)
        # windows[n, c, i, j] is the crop_h x crop_w window whose corner is (i, j): a view.
        windows = np.lib.stride_tricks.sliding_window_view(images, (crop_h, crop_w), axis=(2, 3))
        return windows[np.arange(n), :, top, left]  # advanced indexing copies: (N, C, h, w)

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip(RandomTransform):
    """Mirror each image left-right with probability `p`."""

    def __init__(self, p: float = 0.5, seed: int | None = None) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = p
        super().__init__(seed)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        flip = self.rng.random(len(images)) < self.p
        out = images.copy()
        out[flip] = images[flip, :, :, ::-1]
        return out

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"
