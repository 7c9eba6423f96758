"""NAdam and RAdam, following torch.optim's single-tensor updates exactly."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from autograd_cv.optim.adam import adam_state
from autograd_cv.optim.adaptive import closure_loss, gradients
from autograd_cv.optim.optimizer import Optimizer, check_betas, check_non_negative


def _moments(state: dict[str, Any], grad: np.ndarray, beta1: float, beta2: float) -> None:
    """Adam's running moments: m = lerp(m, g, 1 - beta1); v = beta2 v + (1 - beta2) g**2."""
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    exp_avg += (grad - exp_avg) * (1 - beta1)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad


def _decay_weights(group: dict[str, Any], param: Any) -> None:
    if group["weight_decay"] != 0 and group["decoupled_weight_decay"]:
        param.data *= 1 - group["lr"] * group["weight_decay"]


class NAdam(Optimizer):
    """torch.optim.NAdam: Adam with Nesterov momentum and torch's momentum-decay schedule
    mu_t = beta1 (1 - 0.5 * 0.96 ** (t * momentum_decay))."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        maximize: bool = False,
    ) -> None:
        check_non_negative(
            "NAdam", lr=lr, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay
        )
        defaults = dict(
            lr=lr, betas=check_betas("NAdam", betas), eps=eps, weight_decay=weight_decay,
            momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
        )  # fmt: skip
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient."""
        loss = closure_loss(closure)
        for group, param, grad in gradients(self):
            beta1, beta2 = group["betas"]
            lr, decay = group["lr"], group["momentum_decay"]
            state = self.state.get(param)
            if state is None:
                state = self.state[param] = adam_state(param.data, mu_product=1.0)
            step = state["step"] = state["step"] + 1
            _decay_weights(group, param)
            mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * decay))
            mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * decay))
            # torch keeps mu_product in a float32 scalar tensor; round the same way
            state["mu_product"] = float(np.float32(state["mu_product"]) * np.float32(mu))
            mu_product = state["mu_product"]
            _moments(state, grad, beta1, beta2)
            denominator = np.sqrt(state["exp_avg_sq"] / (1 - beta2**step))
            denominator += group["eps"]
            param.data -= (lr * (1 - mu) / (1 - mu_product)) * (grad / denominator)
            param.data -= (lr * mu_next / (1 - mu_product * mu_next)) * (
                state["exp_avg"] / denominator
            )
            param.bump_version()
        return loss


class RAdam(Optimizer):
    """torch.optim.RAdam: Adam whose adaptive step is switched on, rectified, once the
    variance of the adaptive rate is tractable (rho_t > 5); plain momentum SGD before."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
        maximize: bool = False,
    ) -> None:
        check_non_negative("RAdam", lr=lr, eps=eps, weight_decay=weight_decay)
        defaults = dict(
            lr=lr, betas=check_betas("RAdam", betas), eps=eps, weight_decay=weight_decay,
            decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
        )  # fmt: skip
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient."""
        loss = closure_loss(closure)
        for group, param, grad in gradients(self):
            beta1, beta2 = group["betas"]
            lr = group["lr"]
            state = self.state.get(param)
            if state is None:
                state = self.state[param] = adam_state(param.data)
            step = state["step"] = state["step"] + 1
            _decay_weights(group, param)
            _moments(state, grad, beta1, beta2)
            bias_correction1 = 1 - beta1**step
            bias_correction2 = 1 - beta2**step
            corrected = state["exp_avg"] / bias_correction1
            rho_inf = 2 / (1 - beta2) - 1
            rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
            if rho_t > 5.0:
                rect = math.sqrt(
                    (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
                )
                root = np.sqrt(state["exp_avg_sq"])
                root += group["eps"]
                adaptive = math.sqrt(bias_correction2) / root
                param.data -= corrected * lr * adaptive * rect
            else:
                param.data -= corrected * lr
            param.bump_version()
        return loss
