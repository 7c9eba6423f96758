"""Conv2d and ConvTranspose2d with torch's weight layouts and default initialisation."""

from __future__ import annotations

from autograd_cv import functional as F
from autograd_cv.nn._checks import count, sizes
from autograd_cv.nn.linear import empty_parameter, reset_weight_and_bias
from autograd_cv.nn.module import Module
from autograd_cv.tensor import Tensor


def pair(value: int | tuple[int, int], name: str) -> tuple[int, int]:
    """An int or a pair of ints as a pair."""
    if isinstance(value, int):
        return (value, value)
    pair_ = tuple(int(v) for v in value)
    if len(pair_) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return pair_  # type: ignore[return-value]


class _ConvNd(Module):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int],
        padding: int | tuple[int, int],
        dilation: int | tuple[int, int],
        groups: int,
        bias: bool,
        transposed: bool,
        output_padding: int | tuple[int, int] = 0,
    ) -> None:
        super().__init__()
        kind = type(self).__name__
        count(in_channels, kind, "in_channels")
        count(out_channels, kind, "out_channels")
        count(groups, kind, "groups")
        sizes(kernel_size, kind, "kernel_size")
        sizes(stride, kind, "stride")
        sizes(padding, kind, "padding", minimum=0)
        sizes(dilation, kind, "dilation")
        sizes(output_padding, kind, "output_padding", minimum=0)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{kind}: in_channels ({in_channels}) and out_channels ({out_channels}) "
                f"must both be divisible by groups ({groups})"
            )
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = pair(kernel_size, f"{kind} kernel_size")
        self.stride = pair(stride, f"{kind} stride")
        self.padding = pair(padding, f"{kind} padding")
        self.dilation = pair(dilation, f"{kind} dilation")
        self.output_padding = pair(output_padding, f"{kind} output_padding")
        self.groups = int(groups)
        if transposed:
            shape = (self.in_channels, self.out_channels // groups, *self.kernel_size)
        else:
            shape = (self.out_channels, self.in_channels // groups, *self.kernel_size)
        self.weight = empty_parameter(*shape)
        self.register_parameter("bias", empty_parameter(self.out_channels) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw the weights with torch's default initialisation."""
        reset_weight_and_bias(self.weight, self.bias)

    def extra_repr(self) -> str:
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.output_padding != (0, 0):
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv2d(_ConvNd):
    """2-D convolution over NCHW input; weight (out_channels, in_channels/groups, kH, kW)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, False
        )

    def forward(self, input: Tensor) -> Tensor:
        return F.conv2d(
            input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution; weight (in_channels, out_channels/groups, kH, kW)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        output_padding: int | tuple[int, int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | tuple[int, int] = 1,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            True,
            output_padding,
        )

    def forward(self, input: Tensor) -> Tensor:
        return F.conv_transpose2d(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.output_padding,
            self.groups,
            self.dilation,
        )
