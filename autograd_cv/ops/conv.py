"""Convolution: conv2d, conv_transpose2d, the weight-gradient op they share, and conv1d.

Three Nodes close under differentiation. With A_w the linear map "conv2d with weight w":

- `Conv2d`           y = A_w x                 (kernels.conv2d_forward)
- `ConvTranspose2d`  y = A_w^T x               (kernels.conv2d_backward_input)
- `Conv2dWeightGrad` y = d<g, A_w x>/dw        (kernels.conv2d_backward_weight), bilinear in x, g

Each one's vjp is made of the other two, called the same way on both kinds of values:
on ndarrays (a plain backward) each Node just runs its kernel; on Tensors
(create_graph=True) it is recorded and can be differentiated again, to any order.
"""

from __future__ import annotations

from typing import Any

from autograd_cv.autograd.node import Node
from autograd_cv.backend import kernels_for
from autograd_cv.ops.arguments import (
    Pair,
    as_tensor,
    check_4d,
    check_arguments,
    check_float,
    check_window,
    data_of,
    match_dtype,
    pair,
    single,
)
from autograd_cv.ops.shape import Pad
from autograd_cv.tensor import Tensor


class Conv2d(Node):
    """Cross-correlation of NCHW input with OIHW weight, plus an optional bias."""

    name = "conv2d"

    def __init__(self, stride: Pair, padding: Pair, dilation: Pair, groups: int) -> None:
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups

    def forward(self, x, weight, bias=None):
        return kernels_for(x).conv2d_forward(
            x, weight, bias, self.stride, self.padding, self.dilation, self.groups
        )

    def vjp(self, grad, out, x, weight, *bias):
        need_x, need_weight = self.needs_input_grad[:2]
        geometry = (self.stride, self.padding, self.dilation, self.groups)
        grad_x = grad_weight = None
        if need_x and need_weight and type(grad) is not Tensor:
            # A plain backward wants both: one pass computes them (backends without that
            # kernel run the two below).
            both = getattr(kernels_for(x), "conv2d_backward", None)
            if both is not None:
                grad_x, grad_weight = both(x, grad, weight, *geometry)
                need_x = need_weight = False
        if need_x:
            grad_x = ConvTranspose2d(*geometry, output_size=x.shape[2:])(grad, weight)
        if need_weight:
            grad_weight = Conv2dWeightGrad(weight.shape, *geometry)(x, grad)
        if not bias:
            return grad_x, grad_weight
        grad_bias = grad.sum(axis=(0, 2, 3)) if self.needs_input_grad[2] else None
        return grad_x, grad_weight, grad_bias


class ConvTranspose2d(Node):
    """The adjoint of conv2d in its input: conv2d's input gradient, as a forward op."""

    name = "conv_transpose2d"

    def __init__(
        self, stride: Pair, padding: Pair, dilation: Pair, groups: int, output_size: Pair
    ) -> None:
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.output_size = tuple(output_size)

    def forward(self, x, weight):
        # The transposed weight (in, out / groups, kh, kw) is the OIHW weight of the conv2d
        # that maps this op's output back to its input.
        output_shape = (x.shape[0], weight.shape[1] * self.groups, *self.output_size)
        return kernels_for(x).conv2d_backward_input(
            x, weight, output_shape, self.stride, self.padding, self.dilation, self.groups
        )

    def vjp(self, grad, out, x, weight):
        need_x, need_weight = self.needs_input_grad
        geometry = (self.stride, self.padding, self.dilation, self.groups)
        grad_x = grad_weight = None
        # With output_padding >= stride (allowed below dilation) conv2d of the output has
        # more positions than x; the extra ones saw only zeros: crop them, or pad x to match.
        in_size = data_of(x).shape[2:]
        extra = tuple(
            (n + 2 * p - d * (k - 1) - 1) // s + 1 - m
            for n, p, d, k, s, m in zip(
                self.output_size, self.padding, self.dilation, data_of(weight).shape[2:],
                self.stride, in_size,
            )
        )  # fmt: skip
        if need_x:
            grad_x = Conv2d(*geometry)(grad, weight)
            if any(extra):
                grad_x = grad_x[:, :, : in_size[0], : in_size[1]]
        if need_weight:
            # <grad, A_w^T x> = <A_w grad, x>: conv2d's weight gradient with the roles swapped.
            if any(extra):
                x = Pad(((0, 0), (0, 0), (0, extra[0]), (0, extra[1])), 0.0)(x)
            grad_weight = Conv2dWeightGrad(weight.shape, *geometry)(grad, x)
        return grad_x, grad_weight


class Conv2dWeightGrad(Node):
    """conv2d's weight gradient from (input, grad_output); bilinear, so differentiable."""

    name = "conv2d_weight_grad"

    def __init__(
        self,
        weight_shape: tuple[int, ...],
        stride: Pair,
        padding: Pair,
        dilation: Pair,
        groups: int,
    ) -> None:
        self.weight_shape = tuple(weight_shape)
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups

    def forward(self, x, grad_output):
        return kernels_for(x).conv2d_backward_weight(
            x, grad_output, self.weight_shape, self.stride, self.padding, self.dilation,
            self.groups,
        )  # fmt: skip

    def vjp(self, grad, out, x, grad_output):
        # For a weight-shaped cotangent G: d/dx = A_G^T grad_output, d/dgrad_output = A_G x.
        need_x, need_grad_output = self.needs_input_grad
        geometry = (self.stride, self.padding, self.dilation, self.groups)
        grad_x = grad_grad_output = None
        if need_x:
            grad_x = ConvTranspose2d(*geometry, output_size=x.shape[2:])(grad_output, grad)
        if need_grad_output:
            grad_grad_output = Conv2d(*geometry)(x, grad)
        return grad_x, grad_grad_output


# ----- public functions -----------------------------------------------------------------
def _conv_arguments(
    op: str, input: Any, weight: Any, bias: Any, groups: Any, weight_layout: str
) -> tuple[Tensor, Any, Any, int]:
    """What conv2d and conv_transpose2d check alike: 4-D input and weight, one dtype, groups."""
    input = as_tensor(input)
    check_4d(op, "input", input, "(N, C, H, W) or 3-D (C, H, W)")
    check_float(op, "input", input)
    weight = match_dtype(op, input, weight, "weight")
    check_4d(op, "weight", weight, weight_layout)
    bias = match_dtype(op, input, bias, "bias")
    if int(groups) != groups or groups < 1:
        raise ValueError(f"{op}: groups must be a positive integer, got {groups}")
    return input, weight, bias, int(groups)


def _unbatched(op: str, input: Any) -> tuple[Tensor, bool]:
    """An unbatched (C, H, W) input as a batch of one, and whether it was unbatched."""
    input = as_tensor(input)
    if input.ndim == 3:
        return input.reshape(1, *input.shape), True
    return input, False


def _string_padding(
    op: str, input: Tensor, padding: str, kernel_size: Pair, stride: Pair, dilation: Pair
) -> tuple[Tensor, Pair]:
    """PyTorch's padding="valid" (none) and "same" (output size = input size, stride 1; an
    odd total pads one more at the bottom/right)."""
    if padding == "valid":
        return input, (0, 0)
    if padding != "same":
        raise ValueError(
            f"{op}: padding must be an int, a pair, 'valid' or 'same', got {padding!r}"
        )
    if stride != (1, 1):
        raise ValueError(f"{op}: padding='same' needs stride 1, got stride {stride}")
    totals = [d * (k - 1) for d, k in zip(dilation, kernel_size)]
    extra = [t % 2 for t in totals]
    if any(extra):
        input = Pad(((0, 0), (0, 0), (0, extra[0]), (0, extra[1])), 0.0)(input)
    return input, (totals[0] // 2, totals[1] // 2)


def conv2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """2-D cross-correlation of an (N, C, H, W) or unbatched (C, H, W) input with an
    (out, C / groups, kh, kw) weight; padding may be "valid" (0) or "same" (stride 1)."""
    op = "conv2d"
    input, unbatched = _unbatched(op, input)
    if unbatched:
        out = conv2d(input, weight, bias, stride, padding, dilation, groups)
        return out.reshape(out.shape[1:])
    input, weight, bias, groups = _conv_arguments(
        op, input, weight, bias, groups, "(out_channels, in_channels / groups, kH, kW)"
    )
    out_channels, per_group = weight.shape[:2]
    if input.shape[1] != per_group * groups:
        raise ValueError(
            f"{op}: input of shape {input.shape} has {input.shape[1]} channels, but weight "
            f"of shape {weight.shape} with groups={groups} expects {per_group * groups}"
        )
    if out_channels % groups:
        raise ValueError(
            f"{op}: weight of shape {weight.shape} has {out_channels} output channels, "
            f"not divisible by groups={groups}"
        )
    if bias is not None and bias.shape != (out_channels,):
        raise ValueError(
            f"{op}: bias must have shape ({out_channels},) for weight of shape {weight.shape}, "
            f"got {bias.shape}"
        )
    stride, dilation = pair(stride, "stride", op), pair(dilation, "dilation", op)
    if isinstance(padding, str):
        input, padding = _string_padding(op, input, padding, weight.shape[2:], stride, dilation)
    padding = pair(padding, "padding", op)
    check_window(op, input.shape, weight.shape[2:], stride, padding, dilation)
    node = Conv2d(stride, padding, dilation, groups)
    return node(input, weight) if bias is None else node(input, weight, bias)


def conv_transpose2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """Transposed convolution (the input-gradient of conv2d) with an (in, out / groups, kh, kw)
    weight, as PyTorch's; output_padding adds rows/columns on one side (< max(stride, dilation)).
    An unbatched (C, H, W) input gives a (C_out, H_out, W_out) output."""
    op = "conv_transpose2d"
    input, unbatched = _unbatched(op, input)
    if unbatched:
        out = conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups,
                               dilation)  # fmt: skip
        return out.reshape(out.shape[1:])
    input, weight, bias, groups = _conv_arguments(
        op, input, weight, bias, groups, "(in_channels, out_channels / groups, kH, kW)"
    )
    in_channels, per_group = weight.shape[:2]
    if input.shape[1] != in_channels:
        raise ValueError(
            f"{op}: input of shape {input.shape} has {input.shape[1]} channels, but weight "
            f"of shape {weight.shape} expects {in_channels}"
        )
    if in_channels % groups:
        raise ValueError(
            f"{op}: weight of shape {weight.shape} has {in_channels} input channels, "
            f"not divisible by groups={groups}"
        )
    out_channels = per_group * groups
    if bias is not None and bias.shape != (out_channels,):
        raise ValueError(
            f"{op}: bias must have shape ({out_channels},) for weight of shape {weight.shape} "
            f"and groups={groups}, got {bias.shape}"
        )
    stride, padding = pair(stride, "stride", op), pair(padding, "padding", op)
    dilation = pair(dilation, "dilation", op)
    output_padding = pair(output_padding, "output_padding", op)
    check_arguments(op, weight.shape[2:], stride, padding, dilation)
    if min(output_padding) < 0:
        raise ValueError(f"{op}: output_padding must be non-negative, got {output_padding}")
    if any(o >= max(s, d) for o, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(
            f"{op}: output_padding {output_padding} must be smaller than stride {stride} "
            f"or dilation {dilation}"
        )
    output_size = tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + o + 1
        for n, s, p, d, k, o in zip(
            input.shape[2:], stride, padding, dilation, weight.shape[2:], output_padding
        )
    )
    if min(output_size) < 1:
        raise ValueError(
            f"{op}: input of shape {input.shape} with weight {weight.shape}, stride {stride}, "
            f"padding {padding} gives an empty output of size {output_size}"
        )
    out = ConvTranspose2d(stride, padding, dilation, groups, output_size)(input, weight)
    if bias is not None:
        out = out + bias.reshape(1, out_channels, 1, 1)
    return out


# ----- conv1d (issue 14): conv2d over a height of one -------------------------------------
def conv1d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """1-D cross-correlation of an (N, C, L) or unbatched (C, L) input with an
    (out, C / groups, k) weight; padding may be "valid" or "same" as in conv2d."""
    op = "conv1d"
    input = as_tensor(input)
    if input.ndim not in (2, 3):
        raise ValueError(f"{op}: expected a 3-D (N, C, L) or 2-D (C, L) input, got {input.shape}")
    weight = as_tensor(weight)
    if weight.ndim != 3:
        raise ValueError(f"{op}: expected a 3-D (out, in / groups, k) weight, got {weight.shape}")
    stride, dilation = single(stride, "stride", op), single(dilation, "dilation", op)
    if not isinstance(padding, str):
        padding = (0, single(padding, "padding", op))
    out = conv2d(
        input.reshape(*input.shape[:-1], 1, input.shape[-1]),
        weight.reshape(*weight.shape[:2], 1, weight.shape[2]),
        bias, (1, stride), padding, (1, dilation), groups,
    )  # fmt: skip
    return out.reshape(*out.shape[:-2], out.shape[-1])
