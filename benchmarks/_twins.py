"""PyTorch twins of our models (same layers, shapes and order) for side-by-side timing."""

from __future__ import annotations


def torch_model(torch, name: str):
    """The PyTorch model matching `name` (our model names, dashes or underscores)."""
    nn = torch.nn
    name = name.replace("_", "-")
    if name == "lenet5":
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
        )  # fmt: skip
    if name == "mlp":
        return nn.Sequential(
            nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
            nn.Linear(256, 10),
        )  # fmt: skip
    if name not in ("alexnet-small", "alexnet-small-bn"):
        raise ValueError(f"no PyTorch twin for {name!r}")
    batch_norm = name.endswith("-bn")

    def conv(index: int, fan_in: int, fan_out: int, kernel: int) -> list:
        layers = [nn.Conv2d(fan_in, fan_out, kernel, padding=kernel // 2, bias=not batch_norm)]
        layers += [nn.BatchNorm2d(fan_out)] if batch_norm else []
        layers += [nn.ReLU()]
        if not batch_norm and index <= 2:
            layers += [nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)]
        return layers

    return nn.Sequential(
        *conv(1, 3, 64, 5), nn.MaxPool2d(3, 2), *conv(2, 64, 192, 5), nn.MaxPool2d(3, 2),
        *conv(3, 192, 384, 3), *conv(4, 384, 256, 3), *conv(5, 256, 256, 3), nn.MaxPool2d(3, 2),
        nn.Flatten(), nn.Dropout(), nn.Linear(2304, 1024), nn.ReLU(), nn.Dropout(),
        nn.Linear(1024, 512), nn.ReLU(), nn.Linear(512, 10),
    )  # fmt: skip
