"""Layers: each is a composition of nodes through ``autograd.functional``, with its parameters.

Weights follow PyTorch's layouts (Linear: (out, in); Conv2d: (out_channels, in_channels,
kh, kw)) and initialisation: weights and biases uniform in +-1/sqrt(fan_in), where
fan_in counts the inputs one output sees (in_features, or in_channels * kh * kw). A
state dict therefore loads into the PyTorch model with the same layers, and back.
"""

import numpy as np

from .. import functional as F
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


def _ntuple(value, n, owner, what):
    """An int, or a sequence of n ints, as a tuple of n ints."""
    values = (value,) * n if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != n or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                   for v in values):
        raise TypeError(f"{owner}: {what} must be an int or {n} ints, got {value!r}")
    return tuple(int(v) for v in values)


def _single(values):
    """(3, 3) -> 3 for display; (3, 1) stays."""
    return values[0] if len(set(values)) == 1 else values


def _positive(value, owner, what):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner}: {what} must be a positive integer, got {value!r}")
    return int(value)


def _shape_of(x):
    return tuple(np.shape(x.data if isinstance(x, Tensor) else x))


class Linear(Module):
    """y = x @ weightᵀ + bias, over the last axis of x: (..., in_features) -> (..., out_features)."""

    def __init__(self, in_features, out_features, bias=True, rng=None, dtype=np.float32):
        super().__init__()
        self.in_features = _positive(in_features, "Linear", "in_features")
        self.out_features = _positive(out_features, "Linear", "out_features")
        rng = init.generator(rng)
        self.weight = Parameter(
            init.fan_in_uniform((out_features, in_features), in_features, rng, dtype))
        self.bias = (Parameter(init.fan_in_uniform((out_features,), in_features, rng, dtype))
                     if bias else None)

    def forward(self, x):
        shape = _shape_of(x)
        if len(shape) < 1 or shape[-1] != self.in_features:
            raise ValueError(f"{self._label()} expects input (..., {self.in_features}) with "
                             f"{self.in_features} features on the last axis, got shape {shape}; "
                             + self._fix(shape))
        return F.linear(x, self.weight, self.bias)

    def _fix(self, shape):
        """What to do about an input of ``shape`` that does not fit: flatten, or which in_features."""
        out = self.out_features
        if len(shape) == 0:
            return f"a single number: give it shape ({self.in_features},) or (N, {self.in_features})"
        if len(shape) <= 2:  # already flat: the layer's size is what is off
            return (f"the input has {shape[-1]} features, so this layer needs "
                    f"in_features={shape[-1]}: Linear({shape[-1]}, {out}) (or change the layers "
                    f"before it to give {self.in_features})")
        features = int(np.prod(shape[1:]))
        flat = (shape[0], features)
        if features == self.in_features:
            return f"flatten the input first: Flatten() before this layer gives {flat}, which fits"
        return (f"flatten the input first: Flatten() before this layer gives {flat}, and then "
                f"it needs in_features={features}: Linear({features}, {out})")

    def extra_repr(self):
        text = f"{self.in_features}, {self.out_features}"
        return text if self.bias is not None else text + ", bias=False"


class _ConvNd(Module):
    """Shared by Conv1d and Conv2d: a filter bank, stride and zero padding.

    An output size (W - F + 2P) / S + 1 that is not whole is an error that shows the
    numbers; ``floor=True`` rounds it down instead, as PyTorch does.
    """

    dims = None  # 1 or 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True,
                 rng=None, dtype=np.float32, floor=False):
        super().__init__()
        self.floor = bool(floor)
        kind = type(self).__name__
        self.in_channels = _positive(in_channels, kind, "in_channels")
        self.out_channels = _positive(out_channels, kind, "out_channels")
        self.kernel_size = tuple(_positive(k, kind, "kernel_size")
                                 for k in _ntuple(kernel_size, self.dims, kind, "kernel_size"))
        self.stride = _ntuple(stride, self.dims, kind, "stride")
        self.padding = _ntuple(padding, self.dims, kind, "padding")
        if min(self.stride) < 1 or min(self.padding) < 0:
            raise ValueError(f"{kind}: stride must be >= 1 and padding >= 0, got stride={stride}, "
                             f"padding={padding}")
        fan_in = self.in_channels * int(np.prod(self.kernel_size))
        rng = init.generator(rng)
        self.weight = Parameter(init.fan_in_uniform(
            (out_channels, in_channels) + self.kernel_size, fan_in, rng, dtype))
        self.bias = Parameter(init.fan_in_uniform((out_channels,), fan_in, rng, dtype)) if bias else None

    def _check_input(self, x):
        shape = _shape_of(x)
        spatial = "L" if self.dims == 1 else "H, W"
        if len(shape) != 2 + self.dims or shape[1] != self.in_channels:
            raise ValueError(
                f"{self._label()} expects input (N, {self.in_channels}, {spatial}): a batch of "
                f"{self.dims + 1}-D inputs with {self.in_channels} channel(s) first, got shape "
                f"{shape}" + ("; add a batch axis with x.reshape(1, *x.shape)"
                              if len(shape) == 1 + self.dims and shape[0] == self.in_channels else ""))

    def _conv(self, function, x):
        self._check_input(x)
        stride, padding = self.stride, self.padding
        if self.dims == 1:
            stride, padding = stride[0], padding[0]
        try:
            return function(x, self.weight, self.bias, stride=stride, padding=padding, floor=self.floor)
        except ValueError as error:
            raise ValueError(f"{self._label()}: {error}") from error

    def extra_repr(self):
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={_single(self.kernel_size)}"
        for name, default in (("stride", 1), ("padding", 0)):
            value = _single(getattr(self, name))
            if value != default:
                text += f", {name}={value}"
        if self.bias is None:
            text += ", bias=False"
        return text + (", floor=True" if self.floor else "")


class Conv1d(_ConvNd):
    """A bank of out_channels 1-D filters: (N, in_channels, L) -> (N, out_channels, L2),
    L2 = (L - F + 2P) / S + 1. Cross-correlation (no flip), as in the course notes."""

    dims = 1

    def forward(self, x):
        return self._conv(F.conv1d, x)


class Conv2d(_ConvNd):
    """A bank of out_channels 2-D filters: (N, in_channels, H, W) -> (N, out_channels, H2, W2),
    W2 = (W - F + 2P) / S + 1. One ConvolutionNode, the bias its third input.

    ``Conv2d(3, 10, 5, padding=2)`` on 128x128x3 inputs gives 128x128x10 outputs and holds
    5*5*3*10 + 10 = 760 parameters (the course quiz).
    """

    dims = 2

    def forward(self, x):
        return self._conv(F.conv2d, x)


class _Pool2d(Module):
    """Shared by the pooling layers; ``floor=True`` drops windows that do not fit, as PyTorch does."""

    def __init__(self, kernel_size, stride=None, floor=False):
        super().__init__()
        self.floor = bool(floor)
        kind = type(self).__name__
        self.kernel_size = tuple(_positive(k, kind, "kernel_size")
                                 for k in _ntuple(kernel_size, 2, kind, "kernel_size"))
        self.stride = None if stride is None else tuple(
            _positive(s, kind, "stride") for s in _ntuple(stride, 2, kind, "stride"))

    def _pool(self, function, x):
        shape = _shape_of(x)
        if len(shape) != 4:
            raise ValueError(f"{self._label()} expects input (N, C, H, W), got shape {shape}")
        try:
            return function(x, self.kernel_size, self.stride, floor=self.floor)
        except ValueError as error:
            raise ValueError(f"{self._label()}: {error}") from error

    def extra_repr(self):
        text = f"kernel_size={_single(self.kernel_size)}"
        if self.stride is not None and self.stride != self.kernel_size:
            text += f", stride={_single(self.stride)}"
        return text + (", floor=True" if self.floor else "")


class MaxPool2d(_Pool2d):
    """The maximum of each kernel_size window (stride defaults to kernel_size); no parameters."""

    def forward(self, x):
        return self._pool(F.max_pool2d, x)


class AvgPool2d(_Pool2d):
    """The mean of each kernel_size window (stride defaults to kernel_size); no parameters."""

    def forward(self, x):
        return self._pool(F.avg_pool2d, x)


class ReLU(Module):
    """max(0, x) elementwise: a MaxNode with the constant 0."""

    def forward(self, x):
        return F.relu(x)


class Flatten(Module):
    """(N, C, H, W) -> (N, C*H*W): every axis from start_axis on becomes one."""

    def __init__(self, start_axis=1):
        super().__init__()
        self.start_axis = start_axis

    def forward(self, x):
        shape = _shape_of(x)
        if len(shape) <= self.start_axis:
            raise ValueError(f"{self._label()} flattens the axes from {self.start_axis} on, but the "
                             f"input has shape {shape}")
        return F.flatten(x, self.start_axis)

    def extra_repr(self):
        return "" if self.start_axis == 1 else f"start_axis={self.start_axis}"


class Dropout(Module):
    """In training, zero each element with probability p and scale the rest by 1/(1-p)
    (inverted dropout); in eval mode, the identity. ``rng`` (a seed or a Generator) makes
    the masks reproducible; without it they come from ``autograd.nn.manual_seed``'s generator."""

    def __init__(self, p=0.5, rng=None):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
            raise ValueError(f"Dropout: p is the probability of zeroing an element and must be in "
                             f"[0, 1), got {p!r}")
        self.p = float(p)
        self.rng = None if rng is None else init.generator(rng)

    def forward(self, x):
        rng = self.rng if self.rng is not None else init.generator()
        return F.dropout(x, self.p, self.training, rng)

    def extra_repr(self):
        return f"p={self.p}"


class CrossEntropyLoss(Module):
    """Mean over the batch of -log softmax(logits)[target]: logits (N, classes), integer targets (N,)."""

    def forward(self, logits, targets):
        return F.cross_entropy(logits, targets)


class MSELoss(Module):
    """Mean of the squared differences."""

    def forward(self, prediction, target):
        return F.mse_loss(prediction, target)
