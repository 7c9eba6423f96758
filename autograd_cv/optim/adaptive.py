"""RMSprop, Adagrad and Adadelta, following torch.optim's single-tensor updates exactly."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from autograd_cv.optim.optimizer import Optimizer, check_non_negative


def closure_loss(closure: Callable[[], Any] | None) -> Any:
    """Re-evaluate the model when the caller passes a closure, as torch's step(closure)."""
    if closure is None:
        return None
    from autograd_cv.autograd.grad_mode import enable_grad

    with enable_grad():
        return closure()


def gradients(optimizer: Optimizer) -> Iterable[tuple[dict[str, Any], Any, np.ndarray]]:
    """(group, param, grad + weight_decay * param) for every parameter with a gradient."""
    for group in optimizer.param_groups:
        weight_decay = group.get("weight_decay", 0.0)
        for param in group["params"]:
            if param.grad is None:
                continue
            grad = param.grad.data
            if group.get("maximize", False):
                grad = -grad
            if weight_decay != 0 and not group.get("decoupled_weight_decay", False):
                grad = grad + weight_decay * param.data
            yield group, param, grad


class RMSprop(Optimizer):
    """torch.optim.RMSprop: v = alpha * v + (1 - alpha) * g**2; p -= lr * g / (sqrt(v) + eps),
    optionally centred (v minus the squared mean gradient) and with momentum."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        maximize: bool = False,
    ) -> None:
        check_non_negative(
            "RMSprop", lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum
        )
        defaults = dict(
            lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
            centered=centered, maximize=maximize,
        )  # fmt: skip
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient."""
        loss = closure_loss(closure)
        for group, param, grad in gradients(self):
            alpha, momentum = group["alpha"], group["momentum"]
            state = self.state.get(param)
            if state is None:
                state = self.state[param] = {"step": 0, "square_avg": np.zeros_like(param.data)}
                if momentum > 0:
                    state["momentum_buffer"] = np.zeros_like(param.data)
                if group["centered"]:
                    state["grad_avg"] = np.zeros_like(param.data)
            state["step"] += 1
            square_avg = state["square_avg"]
            square_avg *= alpha
            square_avg += (1 - alpha) * grad * grad
            if group["centered"]:
                grad_avg = state["grad_avg"]
                grad_avg += (grad - grad_avg) * (1 - alpha)  # torch's lerp
                average = np.sqrt(square_avg - grad_avg * grad_avg)
            else:
                average = np.sqrt(square_avg)
            average += group["eps"]
            if momentum > 0:
                buffer = state["momentum_buffer"]
                buffer *= momentum
                buffer += grad / average
                param.data -= group["lr"] * buffer
            else:
                param.data -= group["lr"] * (grad / average)
            param.bump_version()
        return loss


class Adagrad(Optimizer):
    """torch.optim.Adagrad: s += g**2; p -= lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        maximize: bool = False,
    ) -> None:
        check_non_negative(
            "Adagrad", lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps,
            initial_accumulator_value=initial_accumulator_value,
        )  # fmt: skip
        defaults = dict(
            lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps, maximize=maximize,
            initial_accumulator_value=initial_accumulator_value,
        )  # fmt: skip
        super().__init__(params, defaults)
        # torch creates the state up front, so a fresh state_dict already holds it
        for group in self.param_groups:
            for param in group["params"]:
                self.state[param] = {
                    "step": 0,
                    "sum": np.full_like(param.data, initial_accumulator_value),
                }

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient."""
        loss = closure_loss(closure)
        for group, param, grad in gradients(self):
            state = self.state[param]
            state["step"] += 1
            rate = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
            state["sum"] += grad * grad
            std = np.sqrt(state["sum"])
            std += group["eps"]
            param.data -= rate * (grad / std)
            param.bump_version()
        return loss


class Adadelta(Optimizer):
    """torch.optim.Adadelta: v = rho v + (1 - rho) g**2; d = sqrt(u + eps) / sqrt(v + eps) * g;
    u = rho u + (1 - rho) d**2; p -= lr * d."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        maximize: bool = False,
    ) -> None:
        check_non_negative("Adadelta", lr=lr, eps=eps, weight_decay=weight_decay)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Adadelta: invalid rho {rho} (must be in [0, 1])")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient."""
        loss = closure_loss(closure)
        for group, param, grad in gradients(self):
            rho, eps = group["rho"], group["eps"]
            state = self.state.get(param)
            if state is None:
                state = self.state[param] = {
                    "step": 0,
                    "square_avg": np.zeros_like(param.data),
                    "acc_delta": np.zeros_like(param.data),
                }
            state["step"] += 1
            square_avg, acc_delta = state["square_avg"], state["acc_delta"]
            square_avg *= rho
            square_avg += (1 - rho) * grad * grad
            std = np.sqrt(square_avg + eps)
            delta = np.sqrt(acc_delta + eps)
            delta /= std
            delta *= grad
            acc_delta *= rho
            acc_delta += (1 - rho) * delta * delta
            param.data -= group["lr"] * delta
            param.bump_version()
        return loss
