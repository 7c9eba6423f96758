"""Transfer learning: load a backbone, freeze it, put a new head on it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autograd_cv.nn.linear import Linear
from autograd_cv.nn.module import LoadResult, Module


def load_backbone(model: Module, state_dict: Mapping[str, Any]) -> LoadResult:
    """Load every entry whose name and shape match; report the rest (e.g. a head of another size).

    The returned result unpacks as (missing_keys, unexpected_keys) and also lists
    `mismatched_keys` as (key, model_shape, given_shape); `result.skipped` is every model
    key left at its initial value.
    """
    return model.load_state_dict(state_dict, strict=False)


def freeze(module: Module) -> Module:
    """Stop gradients to every parameter of `module` (optimizers then skip them)."""
    return module.requires_grad_(False)


def unfreeze(module: Module) -> Module:
    """Let every parameter of `module` receive gradients again."""
    return module.requires_grad_(True)


def replace_classifier(model: Module, num_classes: int) -> Linear:
    """Swap the model's last Linear layer for a fresh one with `num_classes` outputs.

    Works for LeNet5, AlexNet, AlexNetSmall, MLP and any model whose head is its last
    Linear. Returns the new layer (trainable, default initialisation).
    """
    last = None
    for name, module in model.named_modules():
        if isinstance(module, Linear):
            last = name
    if last is None:
        raise ValueError(f"replace_classifier: {type(model).__name__} has no Linear layer")
    parent_name, _, child_name = last.rpartition(".")
    parent = model.get_submodule(parent_name)
    old = parent._modules[child_name]
    head = Linear(old.in_features, num_classes, bias=old.bias is not None)
    setattr(parent, child_name, head)
    if hasattr(model, "num_classes"):
        model.num_classes = num_classes
    return head
