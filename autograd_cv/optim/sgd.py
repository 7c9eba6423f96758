"""SGD with momentum, dampening, Nesterov and weight decay (torch's update rule)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from autograd_cv.backend import kernels_for
from autograd_cv.optim.optimizer import Optimizer, check_non_negative, required


class SGD(Optimizer):
    """torch.optim.SGD's update, step for step.

    d = grad + weight_decay * p; with momentum: buf = d on the first step, else
    buf = momentum * buf + (1 - dampening) * d; d = d + momentum * buf (Nesterov) or buf;
    p -= lr * d.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = required,  # type: ignore[assignment]
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        check_non_negative("SGD", lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(
            lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
            nesterov=nesterov,
        )  # fmt: skip
        super().__init__(params, defaults)

    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        for group in self.param_groups:
            lr = group["lr"]
            momentum = group["momentum"]
            dampening = group["dampening"]
            weight_decay = group["weight_decay"]
            nesterov = group["nesterov"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                data = param.data
                d_p = param.grad.data
                state = self.state.get(param) if momentum != 0 else None
                buf = state.get("momentum_buffer") if state is not None else None
                if buf is not None and kernels_for(data).sgd_momentum_update(
                    data, d_p, buf, lr, momentum, dampening, weight_decay, nesterov
                ):
                    param.bump_version()  # one fused pass, same arithmetic as below
                    continue
                if weight_decay != 0:
                    d_p = d_p + weight_decay * data
                if momentum != 0:
                    state = self.state.get(param)
                    if state is None:
                        state = self.state[param] = {}
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = d_p.copy()
                    else:
                        buf *= momentum
                        if dampening == 0:
                            buf += d_p
                        else:
                            buf += (1 - dampening) * d_p
                    if nesterov:
                        d_p = d_p + momentum * buf
                    else:
                        d_p = buf
                # p.add_(d_p, alpha=-lr): one temporary for the scaled step.
                data -= lr * d_p
                param.bump_version()
