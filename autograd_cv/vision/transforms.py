"""torchvision.transforms for one sample at a time: on PIL images or (C, H, W) tensors.

`ToTensor` turns a PIL image or an (H, W, C) uint8 array into a float32 (C, H, W) tensor in
[0, 1]; the geometric transforms accept either form and return the same form. Random
transforms draw from the package generator (`manual_seed`; each DataLoader worker reseeds
it), so a seeded run is reproducible.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from PIL import Image

from autograd_cv.creation import generator
from autograd_cv.tensor import Tensor


class InterpolationMode:
    """Resampling filters under torchvision's names."""

    NEAREST = "nearest"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"


_PIL_FILTERS = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
}


def _size_pair(size: Any, name: str) -> tuple[int, int]:
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    size = tuple(int(n) for n in size)
    if len(size) == 1:
        return size[0], size[0]
    if len(size) != 2:
        raise ValueError(f"{name}: size must be an int or (height, width), got {size}")
    return size


def _chw(image: Any, name: str) -> np.ndarray:
    """The pixels of a (C, H, W) tensor or array (checked)."""
    array = image.data if isinstance(image, Tensor) else np.asarray(image)
    if array.ndim != 3:
        raise ValueError(f"{name}: expected a PIL image or a (C, H, W) tensor, got {array.shape}")
    return array


def _like(image: Any, array: np.ndarray) -> Any:
    return Tensor(np.ascontiguousarray(array)) if isinstance(image, Tensor) else array


def _hw(image: Any, name: str) -> tuple[int, int]:
    if isinstance(image, Image.Image):
        return image.height, image.width
    return _chw(image, name).shape[1:]


class Compose:
    """Apply transforms in order."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, image: Any) -> Any:
        for transform in self.transforms:
            image = transform(image)
        return image

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"Compose({inner}\n)"


class Lambda:
    """Apply a function of your own."""

    def __init__(self, lambd: Callable[[Any], Any]) -> None:
        if not callable(lambd):
            raise TypeError(f"Lambda: expected a callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, image: Any) -> Any:
        return self.lambd(image)

    def __repr__(self) -> str:
        return "Lambda()"


class ToTensor:
    """PIL image or (H, W, C) array -> float32 (C, H, W) tensor; uint8 values scaled to [0, 1]."""

    def __call__(self, picture: Any) -> Tensor:
        array = np.asarray(picture)
        if isinstance(picture, Image.Image) and picture.mode == "1":
            array = array.astype(np.uint8) * 255
        if array.ndim == 2:
            array = array[:, :, None]
        if array.ndim != 3:
            raise ValueError(f"ToTensor: expected an (H, W) or (H, W, C) image, got {array.shape}")
        array = array.transpose(2, 0, 1)
        if array.dtype == np.uint8:
            return Tensor(array.astype(np.float32) / np.float32(255))
        return Tensor(np.ascontiguousarray(array, dtype=np.float32))

    def __repr__(self) -> str:
        return "ToTensor()"


class PILToTensor:
    """PIL image -> (C, H, W) tensor of its own dtype (no scaling)."""

    def __call__(self, picture: Image.Image) -> Tensor:
        array = np.asarray(picture)
        array = array[:, :, None] if array.ndim == 2 else array
        return Tensor(np.ascontiguousarray(array.transpose(2, 0, 1)))


class ToPILImage:
    """(C, H, W) tensor or (H, W, C) array -> PIL image (floats in [0, 1] scaled to 255)."""

    def __call__(self, picture: Any) -> Image.Image:
        if isinstance(picture, Tensor):
            array = picture.data.transpose(1, 2, 0)
        else:
            array = np.asarray(picture)
        if array.dtype.kind == "f":
            array = np.clip(array * 255 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(array[:, :, 0] if array.shape[-1] == 1 else array)


class Normalize:
    """(x - mean) / std per channel of a (C, H, W) tensor."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> None:
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std must be nonzero, got {self.std.tolist()}")

    def __call__(self, tensor: Any) -> Tensor:
        array = _chw(tensor, "Normalize")
        if array.dtype.kind != "f":
            raise TypeError(
                f"Normalize: expected a float tensor, got dtype {array.dtype}; put ToTensor() first"
            )
        channels = array.shape[0]
        for name, values in (("mean", self.mean), ("std", self.std)):
            if len(values) not in (1, channels):
                raise ValueError(
                    f"Normalize: {name} has {len(values)} values but the image of shape "
                    f"{array.shape} has {channels} channels"
                )
        mean = self.mean.astype(array.dtype).reshape(-1, 1, 1)
        std = self.std.astype(array.dtype).reshape(-1, 1, 1)
        return Tensor((array - mean) / std)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class Resize:
    """Resize to (h, w), or an int: the shorter side to that size, keeping the aspect ratio."""

    def __init__(self, size: Any, interpolation: str = InterpolationMode.BILINEAR, **_: Any):
        self.size = size
        if interpolation not in _PIL_FILTERS:
            raise ValueError(f"Resize: unknown interpolation {interpolation!r}")
        self.interpolation = interpolation

    def _target(self, height: int, width: int) -> tuple[int, int]:
        if isinstance(self.size, numbers.Integral) or len(self.size) == 1:
            short = int(self.size if isinstance(self.size, numbers.Integral) else self.size[0])
            if height <= width:
                return short, int(short * width / height)
            return int(short * height / width), short
        return _size_pair(self.size, "Resize")

    def __call__(self, image: Any) -> Any:
        height, width = _hw(image, "Resize")
        new_h, new_w = self._target(height, width)
        resample = _PIL_FILTERS[self.interpolation]
        if isinstance(image, Image.Image):
            return image.resize((new_w, new_h), resample)
        array = _chw(image, "Resize")
        planes = [
            np.asarray(Image.fromarray(plane.astype(np.float32)).resize((new_w, new_h), resample))
            for plane in array
        ]
        return _like(image, np.stack(planes).astype(array.dtype))

    def __repr__(self) -> str:
        return f"Resize(size={self.size}, interpolation={self.interpolation})"


def _crop(image: Any, top: int, left: int, height: int, width: int) -> Any:
    if isinstance(image, Image.Image):
        return image.crop((left, top, left + width, top + height))
    array = _chw(image, "crop")
    return _like(image, array[:, top : top + height, left : left + width])


class CenterCrop:
    """The central (h, w) window (padded with zeros where the image is smaller)."""

    def __init__(self, size: Any) -> None:
        self.size = _size_pair(size, "CenterCrop")

    def __call__(self, image: Any) -> Any:
        crop_h, crop_w = self.size
        height, width = _hw(image, "CenterCrop")
        if crop_h > height or crop_w > width:
            pad_h, pad_w = max(crop_h - height, 0), max(crop_w - width, 0)
            image = _pad(image, (pad_w // 2, pad_h // 2, pad_w - pad_w // 2, pad_h - pad_h // 2), 0)
            height, width = _hw(image, "CenterCrop")
        top = int(round((height - crop_h) / 2.0))
        left = int(round((width - crop_w) / 2.0))
        return _crop(image, top, left, crop_h, crop_w)

    def __repr__(self) -> str:
        return f"CenterCrop(size={self.size})"


def _pad(image: Any, padding: tuple[int, int, int, int], fill: Any) -> Any:
    """Pad (left, top, right, bottom) with a constant."""
    left, top, right, bottom = padding
    if isinstance(image, Image.Image):
        array = np.asarray(image)
        widths = ((top, bottom), (left, right)) + (((0, 0),) if array.ndim == 3 else ())
        return Image.fromarray(np.pad(array, widths, constant_values=fill))
    array = _chw(image, "pad")
    return _like(image, np.pad(array, ((0, 0), (top, bottom), (left, right)), constant_values=fill))


class RandomCrop:
    """A random (h, w) window, after optional zero `padding` (int, (lr, tb) or 4 values)."""

    def __init__(
        self, size: Any, padding: Any = None, pad_if_needed: bool = False, fill: Any = 0,
        padding_mode: str = "constant",
    ) -> None:  # fmt: skip
        if padding_mode != "constant":
            raise ValueError(
                f"RandomCrop: only padding_mode='constant' is supported, got {padding_mode!r}"
            )
        self.size = _size_pair(size, "RandomCrop")
        self.padding, self.pad_if_needed, self.fill = padding, pad_if_needed, fill

    def __call__(self, image: Any) -> Any:
        if self.padding is not None:
            pad = self.padding
            if isinstance(pad, numbers.Integral):
                pad = (pad,) * 4
            elif len(pad) == 2:
                pad = (pad[0], pad[1], pad[0], pad[1])
            image = _pad(image, tuple(int(p) for p in pad), self.fill)
        crop_h, crop_w = self.size
        height, width = _hw(image, "RandomCrop")
        if self.pad_if_needed and (height < crop_h or width < crop_w):
            grow_h, grow_w = max(crop_h - height, 0), max(crop_w - width, 0)
            image = _pad(image, (grow_w, grow_h, grow_w, grow_h), self.fill)
            height, width = _hw(image, "RandomCrop")
        if crop_h > height or crop_w > width:
            raise ValueError(
                f"RandomCrop: crop {self.size} is larger than the (padded) image {(height, width)}"
            )
        top = int(generator().integers(0, height - crop_h + 1))
        left = int(generator().integers(0, width - crop_w + 1))
        return _crop(image, top, left, crop_h, crop_w)

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror left-right with probability `p`."""

    def __init__(self, p: float = 0.5) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = p

    def __call__(self, image: Any) -> Any:
        if generator().random() >= self.p:
            return image
        if isinstance(image, Image.Image):
            return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return _like(image, _chw(image, "RandomHorizontalFlip")[:, :, ::-1])

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


__all__ = [
    "CenterCrop", "Compose", "InterpolationMode", "Lambda", "Normalize", "PILToTensor",
    "RandomCrop", "RandomHorizontalFlip", "Resize", "ToPILImage", "ToTensor",
]  # fmt: skip
