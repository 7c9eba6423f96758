"""`Optimizer`: parameter groups, per-parameter state, zero_grad and a resumable state dict."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from autograd_cv import backend
from autograd_cv.tensor import Tensor


class _Required:
    def __repr__(self) -> str:
        return "<required parameter>"


#: Marks a hyperparameter (like SGD's lr) that every group must be given.
required = _Required()


def check_non_negative(optimizer: str, **values: Any) -> None:
    """Refuse negative hyperparameters, naming the optimizer and the argument."""
    for name, value in values.items():
        if value is not required and value < 0.0:
            raise ValueError(f"{optimizer}: invalid {name} {value} (must be >= 0)")


def check_betas(optimizer: str, betas: tuple[float, float]) -> tuple[float, float]:
    """Adam's (beta1, beta2), each in [0, 1), as floats; else a ValueError naming them."""
    if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
        raise ValueError(f"{optimizer}: invalid betas {betas} (each must be in [0, 1))")
    return float(betas[0]), float(betas[1])


class Optimizer:
    """Base class: holds `param_groups` (dicts of params and hyperparameters) and `state`."""

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of Tensors or dicts, "
                "got a single Tensor"
            )
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (missing ones: defaults)."""
        name = type(self).__name__
        group = dict(param_group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        for param in group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors, got {type(param).__name__}")
            if not param.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor")
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise ValueError(f"{name}: parameter group didn't specify a value of '{key}'")
            group.setdefault(key, default)
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in existing for p in group["params"]):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of every optimized parameter (to None by default, as torch)."""
        for group in self.param_groups:
            for param in group["params"]:
                if set_to_none:
                    param.grad = None
                elif param.grad is not None:
                    param.grad.data.fill(0)

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        raise NotImplementedError

    # ----- saving and resuming ------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """{"state": {index: {name: array or number}}, "param_groups": [...]}, as torch.

        Parameters are replaced by their position across all groups, so the dict holds
        only arrays and numbers and can be written with `ag.save`.
        """
        index_of: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            indices = []
            for param in group["params"]:
                index_of.setdefault(id(param), len(index_of))
                indices.append(index_of[id(param)])
            packed["params"] = indices
            groups.append(packed)
        state = {}
        for param, values in self.state.items():
            if id(param) in index_of:
                state[index_of[id(param)]] = {
                    key: value.copy() if backend.is_array(value) else value
                    for key, value in values.items()
                }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and per-parameter state saved by `state_dict`."""
        name = type(self).__name__
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: the state dict has {len(saved_groups)} parameter "
                f"groups, the optimizer has {len(self.param_groups)}"
            )
        by_index: dict[int, Tensor] = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            indices = list(saved["params"])
            if len(indices) != len(group["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: parameter group {i} has {len(group['params'])} "
                    f"parameters, the state dict's has {len(indices)}"
                )
            for index, param in zip(indices, group["params"]):
                by_index[int(index)] = param
        self.state = {}
        # Saved files give string keys back only if the caller flattened them; accept both.
        for index, values in state_dict["state"].items():
            param = by_index.get(int(index))
            if param is None:
                raise ValueError(f"{name}.load_state_dict: state for unknown parameter {index}")
            restored = {}
            for key, value in values.items():
                if backend.is_array(value) and value.ndim > 0:
                    if value.shape != param.shape:
                        raise ValueError(
                            f"{name}.load_state_dict: state '{key}' of parameter {index} has "
                            f"shape {value.shape}, the parameter has shape {param.shape}"
                        )
                    # state lives where its parameter does, whatever device it was saved from
                    value = backend.to_device(value, backend.device_of(param.data))
                    restored[key] = value.astype(param.dtype, copy=True)
                elif backend.is_array(value):
                    restored[key] = value.item()
                else:
                    restored[key] = value
            self.state[param] = restored
        for group, saved in zip(self.param_groups, saved_groups):
            for key, value in saved.items():
                if key != "params":
                    group[key] = tuple(value) if isinstance(value, list) else value

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)
