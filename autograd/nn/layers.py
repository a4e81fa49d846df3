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
    """Shared by Conv1d and Conv2d: a filter bank, stride, zero padding, dilation and groups.

    An output size (W - D(F - 1) - 1 + 2P) / S + 1 that is not whole is an error that shows
    the numbers; ``floor=True`` rounds it down instead, as PyTorch does. With ``groups`` G
    each filter sees in_channels / G channels, so the weight is (out_channels,
    in_channels / G, kh, kw) as in PyTorch.
    """

    dims = None  # 1 or 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, rng=None, dtype=np.float32, floor=False):
        super().__init__()
        self.floor = bool(floor)
        kind = type(self).__name__
        self.in_channels = _positive(in_channels, kind, "in_channels")
        self.out_channels = _positive(out_channels, kind, "out_channels")
        self.kernel_size = tuple(_positive(k, kind, "kernel_size")
                                 for k in _ntuple(kernel_size, self.dims, kind, "kernel_size"))
        self.stride = _ntuple(stride, self.dims, kind, "stride")
        self.padding = _ntuple(padding, self.dims, kind, "padding")
        self.dilation = tuple(_positive(d, kind, "dilation")
                              for d in _ntuple(dilation, self.dims, kind, "dilation"))
        self.groups = _positive(groups, kind, "groups")
        if min(self.stride) < 1 or min(self.padding) < 0:
            raise ValueError(f"{kind}: stride must be >= 1 and padding >= 0, got stride={stride}, "
                             f"padding={padding}")
        for count, what in ((self.in_channels, "in_channels"), (self.out_channels, "out_channels")):
            if count % self.groups:
                raise ValueError(f"{kind}: groups={self.groups} must divide {what}={count}, so "
                                 "that every group gets as many channels; depthwise convolution "
                                 "is groups=in_channels")
        fan_in = self.in_channels // self.groups * int(np.prod(self.kernel_size))
        rng = init.generator(rng)
        self.weight = Parameter(init.fan_in_uniform(
            (out_channels, self.in_channels // self.groups) + self.kernel_size, fan_in, rng, dtype))
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
        stride, padding, dilation = self.stride, self.padding, self.dilation
        if self.dims == 1:
            stride, padding, dilation = stride[0], padding[0], dilation[0]
        try:
            return function(x, self.weight, self.bias, stride, padding, dilation, self.groups,
                            floor=self.floor)
        except ValueError as error:
            raise ValueError(f"{self._label()}: {error}") from error

    def extra_repr(self):
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={_single(self.kernel_size)}"
        for name, default in (("stride", 1), ("padding", 0), ("dilation", 1), ("groups", 1)):
            value = getattr(self, name)
            value = value if isinstance(value, int) else _single(value)
            if value != default:
                text += f", {name}={value}"
        if self.bias is None:
            text += ", bias=False"
        return text + (", floor=True" if self.floor else "")


class Conv1d(_ConvNd):
    """A bank of out_channels 1-D filters: (N, in_channels, L) -> (N, out_channels, L2),
    L2 = (L - D(F - 1) - 1 + 2P) / S + 1. Cross-correlation (no flip), as in the course notes."""

    dims = 1

    def forward(self, x):
        return self._conv(F.conv1d, x)


class Conv2d(_ConvNd):
    """A bank of out_channels 2-D filters: (N, in_channels, H, W) -> (N, out_channels, H2, W2),
    W2 = (W - D(F - 1) - 1 + 2P) / S + 1 (D = 1 without dilation: the course's
    (W - F + 2P) / S + 1). One ConvolutionNode, the bias its third input.

    ``Conv2d(3, 10, 5, padding=2)`` on 128x128x3 inputs gives 128x128x10 outputs and holds
    5*5*3*10 + 10 = 760 parameters (the course quiz).
    """

    dims = 2

    def forward(self, x):
        return self._conv(F.conv2d, x)


class _PoolNd(Module):
    """Shared by the pooling layers: windows, padding, PyTorch's ceil_mode, and tapegrad's
    ``floor=True`` (drop windows that do not fit, as PyTorch does by default; without it an
    output size that is not whole is an error that shows the computation)."""

    dims = None  # 1 or 2

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, floor=False):
        super().__init__()
        self.floor, self.ceil_mode = bool(floor), bool(ceil_mode)
        kind = type(self).__name__
        self.kernel_size = tuple(_positive(k, kind, "kernel_size")
                                 for k in _ntuple(kernel_size, self.dims, kind, "kernel_size"))
        self.stride = None if stride is None else tuple(
            _positive(s, kind, "stride") for s in _ntuple(stride, self.dims, kind, "stride"))
        self.padding = _ntuple(padding, self.dims, kind, "padding")
        for f, p in zip(self.kernel_size, self.padding):
            if not 0 <= p <= f // 2:
                raise ValueError(f"{kind}: padding must be between 0 and half the kernel_size "
                                 f"(so that no window holds padding only), got padding={padding} "
                                 f"for kernel_size={kernel_size}")
        if self.floor and self.ceil_mode:
            raise ValueError(f"{kind}: floor=True drops an incomplete last window and "
                             "ceil_mode=True keeps it; pass only one of them")

    def _arguments(self):
        """The functional's arguments after the input, for this layer's dims."""
        def one(value):
            return value if value is None or self.dims == 2 else value[0]
        return one(self.kernel_size), one(self.stride), one(self.padding)

    def forward(self, x):
        shape = _shape_of(x)
        layout = "(N, C, L)" if self.dims == 1 else "(N, C, H, W)"
        if len(shape) != 2 + self.dims:
            raise ValueError(f"{self._label()} expects input {layout}, got shape {shape}"
                             + ("; add a batch axis with x.reshape(1, *x.shape)"
                                if len(shape) == 1 + self.dims else ""))
        try:
            return self._pool(x)
        except ValueError as error:
            raise ValueError(f"{self._label()}: {error}") from error

    def extra_repr(self):
        text = f"kernel_size={_single(self.kernel_size)}"
        if self.stride is not None and self.stride != self.kernel_size:
            text += f", stride={_single(self.stride)}"
        if any(self.padding):
            text += f", padding={_single(self.padding)}"
        return text + (", ceil_mode=True" if self.ceil_mode else "") + (
            ", floor=True" if self.floor else "")


class _MaxPoolNd(_PoolNd):
    def _pool(self, x):
        function = F.max_pool1d if self.dims == 1 else F.max_pool2d
        return function(x, *self._arguments(), ceil_mode=self.ceil_mode, floor=self.floor)


class _AvgPoolNd(_PoolNd):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, floor=False):
        super().__init__(kernel_size, stride, padding, ceil_mode, floor)
        self.count_include_pad = bool(count_include_pad)

    def _pool(self, x):
        function = F.avg_pool1d if self.dims == 1 else F.avg_pool2d
        return function(x, *self._arguments(), self.ceil_mode, self.count_include_pad,
                        floor=self.floor)

    def extra_repr(self):
        return super().extra_repr() + ("" if self.count_include_pad else ", count_include_pad=False")


class MaxPool1d(_MaxPoolNd):
    """The maximum of each kernel_size window of (N, C, L) (stride defaults to kernel_size;
    padding is -inf); no parameters."""
    dims = 1


class MaxPool2d(_MaxPoolNd):
    """The maximum of each kernel_size window of (N, C, H, W) (stride defaults to kernel_size;
    padding is -inf); no parameters."""
    dims = 2


class AvgPool1d(_AvgPoolNd):
    """The mean of each kernel_size window of (N, C, L) (stride defaults to kernel_size; padding
    is zeros, counted in the mean unless count_include_pad=False); no parameters."""
    dims = 1


class AvgPool2d(_AvgPoolNd):
    """The mean of each kernel_size window of (N, C, H, W) (stride defaults to kernel_size;
    padding is zeros, counted in the mean unless count_include_pad=False); no parameters."""
    dims = 2


class ReLU(Module):
    """max(0, x) elementwise: a MaxNode with the constant 0."""

    def forward(self, x):
        return F.relu(x)


class _BatchNorm(Module):
    """Shared by BatchNorm1d and BatchNorm2d: normalise each channel (axis 1) to mean 0 and
    variance 1, then scale and shift it by the learned ``weight`` and ``bias`` (C,).

    In training mode the mean and variance are the batch's (over every axis but the
    channels), and the buffers ``running_mean`` and ``running_var`` move toward them:
    running = (1 - momentum) * running + momentum * batch (the unbiased variance for
    running_var; ``momentum=None`` takes the plain average of every batch so far, counted by
    ``num_batches_tracked``). In evaluation mode (``model.eval()``) the running statistics
    are used instead, so one example's output does not depend on the others in its batch.
    The buffers are saved in the state dict under PyTorch's names but take no gradient.
    ``affine=False``: no weight and bias; ``track_running_stats=False``: no buffers, and the
    batch's statistics in both modes.
    """

    dims, shapes = None, None  # input ndims and layouts it takes: (2, 3), ("(N, C)", "(N, C, L)")

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, dtype=np.float32):
        super().__init__()
        kind = type(self).__name__
        self.num_features = _positive(num_features, kind, "num_features")
        if isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating)) or not eps > 0:
            raise ValueError(f"{kind}: eps is added to the variance to keep the division finite "
                             f"and must be a positive number, got {eps!r}")
        if momentum is not None and (isinstance(momentum, bool) or not isinstance(
                momentum, (int, float, np.floating)) or not 0 <= momentum <= 1):
            raise ValueError(f"{kind}: momentum must be a number in [0, 1] (the weight of each new "
                             f"batch in the running statistics) or None, got {momentum!r}")
        self.eps, self.momentum = float(eps), None if momentum is None else float(momentum)
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        shape = (self.num_features,)
        self.weight = Parameter(np.ones(shape, dtype)) if affine else None
        self.bias = Parameter(np.zeros(shape, dtype)) if affine else None
        tracked = self.track_running_stats
        self.register_buffer("running_mean", np.zeros(shape, dtype) if tracked else None)
        self.register_buffer("running_var", np.ones(shape, dtype) if tracked else None)
        self.register_buffer("num_batches_tracked", np.array(0, np.int64) if tracked else None)

    def forward(self, x):
        shape = _shape_of(x)
        if len(shape) not in self.dims or shape[1] != self.num_features:
            raise ValueError(f"{self._label()} expects input {' or '.join(self.shapes)} with "
                             f"C = num_features = {self.num_features} channels on axis 1, got "
                             f"shape {shape}")
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if momentum is None:  # the average of all batches so far
                momentum = 1.0 / float(self.num_batches_tracked.data)
        # the batch's statistics in training, and without running ones to use
        use_batch = self.training or not self.track_running_stats
        try:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                                use_batch, momentum if momentum is not None else 0.0, self.eps)
        except ValueError as error:
            raise ValueError(f"{self._label()}: {error}") from error

    def extra_repr(self):
        text = f"{self.num_features}"
        for name, default in (("eps", 1e-5), ("momentum", 0.1), ("affine", True),
                              ("track_running_stats", True)):
            if getattr(self, name) != default:
                text += f", {name}={getattr(self, name)}"
        return text


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) features or (N, C, L) signals, per channel C (see
    ``_BatchNorm``): PyTorch's ``nn.BatchNorm1d``, with its state-dict keys."""

    dims, shapes = (2, 3), ("(N, C)", "(N, C, L)")


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) images, per channel C over the batch and every
    pixel (see ``_BatchNorm``): PyTorch's ``nn.BatchNorm2d``, with its state-dict keys."""

    dims, shapes = (4,), ("(N, C, H, W)",)


class LeakyReLU(Module):
    """max(0, x) + negative_slope · min(0, x) elementwise: a small slope for negative inputs,
    so no unit stops learning."""

    def __init__(self, negative_slope=0.01):
        super().__init__()
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)):
            raise TypeError(f"LeakyReLU: negative_slope must be a number, got {negative_slope!r}")
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    """tanh(x) elementwise, in (-1, 1)."""

    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x)) elementwise, in (0, 1)."""

    def forward(self, x):
        return F.sigmoid(x)


class _AlongDim(Module):
    """Shared by Softmax and LogSoftmax: ``dim`` must be given (PyTorch guesses it when it
    is not, with a warning; a guess here could normalise the wrong axis without a word)."""

    def __init__(self, dim=None):
        super().__init__()
        kind = type(self).__name__
        if dim is None:
            raise TypeError(f"{kind}: pass dim, the axis whose entries become a distribution, "
                            f"e.g. {kind}(dim=1) for scores of shape (N, classes)")
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"{kind}: dim must be an int, got {dim!r}")
        self.dim = int(dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    """exp(x) / Σ exp(x) along ``dim``: entries in (0, 1) that sum to 1."""

    def forward(self, x):
        return F.softmax(x, self.dim)


class LogSoftmax(_AlongDim):
    """x - log Σ exp(x) along ``dim`` (one fused node, finite for any finite x)."""

    def forward(self, x):
        return F.log_softmax(x, self.dim)


class Identity(Module):
    """Its input, unchanged (a placeholder, e.g. for a layer switched off); takes and ignores
    any arguments, as PyTorch's does."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class AdaptiveAvgPool2d(Module):
    """The mean over windows chosen so that the output is ``output_size`` (an int or (Ho, Wo);
    None keeps that axis's size) whatever the input's size: (N, C, H, W) -> (N, C, Ho, Wo).
    ``AdaptiveAvgPool2d(1)`` is global average pooling."""

    def __init__(self, output_size):
        super().__init__()
        sizes = (output_size,) * 2 if output_size is None or isinstance(
            output_size, (int, np.integer)) else tuple(output_size)
        if len(sizes) != 2 or not all(size is None or not isinstance(size, bool) and isinstance(
                size, (int, np.integer)) and size >= 1 for size in sizes):
            raise ValueError(f"AdaptiveAvgPool2d: output_size must be a positive int or a pair of "
                             f"them (None keeps an axis), got {output_size!r}")
        self.output_size = output_size

    def forward(self, x):
        shape = _shape_of(x)
        if len(shape) not in (3, 4):
            raise ValueError(f"{self._label()} expects input (N, C, H, W) or (C, H, W), got "
                             f"shape {shape}")
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


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


class _Loss(Module):
    """Shared by the losses: PyTorch's ``reduction`` ('mean', 'sum' or 'none': one loss per
    example) and an optional ``weight``, kept as a buffer as PyTorch keeps it."""

    def __init__(self, weight=None, reduction="mean"):
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"{type(self).__name__}: reduction must be 'mean', 'sum' or 'none', "
                             f"got {reduction!r}")
        self.reduction = reduction
        self.register_buffer("weight", None if weight is None else np.asarray(
            weight.data if isinstance(weight, Tensor) else weight))

    def _call(self, function, *inputs, **options):
        weight = None if self.weight is None else self.weight.data
        try:
            return function(*inputs, weight=weight, reduction=self.reduction, **options)
        except ValueError as error:
            raise ValueError(f"{self._label()}: {error}") from error

    def extra_repr(self):
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """-log softmax(logits)[target], averaged over the batch: logits (N, classes) (or (N, C,
    d1, ...)), integer targets (N,). PyTorch's ``weight`` (per class), ``ignore_index``,
    ``reduction`` and ``label_smoothing``."""

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(weight, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, logits, targets):
        return self._call(F.cross_entropy, logits, targets, ignore_index=self.ignore_index,
                          label_smoothing=self.label_smoothing)


class NLLLoss(_Loss):
    """-log_probs[target], averaged over the batch: the loss after a LogSoftmax(dim=1) layer
    (the two together are CrossEntropyLoss). PyTorch's ``weight``, ``ignore_index`` and
    ``reduction``."""

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean"):
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, log_probs, targets):
        return self._call(F.nll_loss, log_probs, targets, ignore_index=self.ignore_index)


class BCELoss(_Loss):
    """-(t log p + (1 - t) log(1 - p)) for probabilities p (after a Sigmoid) and targets t in
    [0, 1] of the same shape; each log at least -100, as in PyTorch."""

    def __init__(self, weight=None, *, reduction="mean"):
        super().__init__(weight, reduction)

    def forward(self, probabilities, targets):
        return self._call(F.binary_cross_entropy, probabilities, targets)


class BCEWithLogitsLoss(_Loss):
    """BCELoss of sigmoid(x), computed from the scores x so that it stays finite for any x
    (prefer it to Sigmoid then BCELoss). ``pos_weight`` weighs the positive targets."""

    def __init__(self, weight=None, *, reduction="mean", pos_weight=None):
        super().__init__(weight, reduction)
        self.register_buffer("pos_weight", None if pos_weight is None else np.asarray(
            pos_weight.data if isinstance(pos_weight, Tensor) else pos_weight))

    def forward(self, scores, targets):
        pos_weight = None if self.pos_weight is None else self.pos_weight.data
        return self._call(F.binary_cross_entropy_with_logits, scores, targets,
                          pos_weight=pos_weight)


class MSELoss(Module):
    """Mean of the squared differences."""

    def forward(self, prediction, target):
        return F.mse_loss(prediction, target)
