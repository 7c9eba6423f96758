"""Adam and AdamW, following torch.optim's single-tensor update exactly."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from autograd_cv.optim.optimizer import Optimizer, check_betas, check_non_negative


def adam_state(data: np.ndarray, **extra: Any) -> dict[str, Any]:
    """A parameter's fresh Adam-family state: step 0 and zero first and second moments."""
    return {"step": 0, **extra, "exp_avg": np.zeros_like(data), "exp_avg_sq": np.zeros_like(data)}


class Adam(Optimizer):
    """torch.optim.Adam's update (L2 weight decay added to the gradient; amsgrad optional).

    m = lerp(m, g, 1 - beta1); v = beta2 * v + (1 - beta2) * g * g;
    p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps).
    """

    #: AdamW decays the weights directly instead of adding to the gradient
    decoupled_weight_decay = False

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        name = type(self).__name__
        check_non_negative(name, lr=lr, eps=eps, weight_decay=weight_decay)
        defaults = dict(
            lr=lr, betas=check_betas(name, betas), eps=eps, weight_decay=weight_decay,
            amsgrad=amsgrad,
        )  # fmt: skip
        super().__init__(params, defaults)

    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        decoupled = self.decoupled_weight_decay
        for group in self.param_groups:
            lr = group["lr"]
            beta1, beta2 = group["betas"]
            eps = group["eps"]
            weight_decay = group["weight_decay"]
            amsgrad = group["amsgrad"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                data = param.data
                grad = param.grad.data
                state = self.state.get(param)
                if state is None:
                    state = self.state[param] = adam_state(data)
                    if amsgrad:
                        state["max_exp_avg_sq"] = np.zeros_like(data)
                step = state["step"] = state["step"] + 1
                exp_avg = state["exp_avg"]
                exp_avg_sq = state["exp_avg_sq"]
                if weight_decay != 0:
                    if decoupled:
                        data *= 1 - lr * weight_decay
                    else:
                        grad = grad + weight_decay * data
                scratch = np.subtract(grad, exp_avg)
                # torch's lerp_ with weight 1 - beta1 (< 0.5): m + w * (g - m)
                scratch *= 1 - beta1
                exp_avg += scratch
                exp_avg_sq *= beta2
                np.multiply(grad, grad, out=scratch)
                scratch *= 1 - beta2
                exp_avg_sq += scratch
                bias_correction1 = 1 - beta1**step
                bias_correction2 = 1 - beta2**step
                step_size = lr / bias_correction1
                bias_correction2_sqrt = math.sqrt(bias_correction2)
                if amsgrad:
                    max_exp_avg_sq = state["max_exp_avg_sq"]
                    np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
                    np.sqrt(max_exp_avg_sq, out=scratch)
                else:
                    np.sqrt(exp_avg_sq, out=scratch)
                scratch /= bias_correction2_sqrt
                scratch += eps
                np.divide(exp_avg, scratch, out=scratch)
                scratch *= -step_size
                data += scratch
                param.bump_version()


class AdamW(Adam):
    """Adam with decoupled weight decay (torch.optim.AdamW): p *= 1 - lr * weight_decay first."""

    decoupled_weight_decay = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
