"""Layers as functions: each builds its part of the graph from nodes with ``apply``.

``from autograd import functional as F``. Every function takes Tensors (or arrays and
numbers, which become constants) and returns a Tensor, so what it computes is recorded,
drawn and stepped through like anything else. Nothing here has a backward of its own.
"""

import numbers

import numpy as np

import nodes
from nodes.base import normalize_axis

from .tape import apply
from .tensor import Tensor, maximum


def _as_tensor(value):
    return value if isinstance(value, Tensor) else Tensor(value)


# ---------------------------------------------------------------- convolution and pooling

def _batched(x, spatial, fname):
    """x as a tensor of shape (N, C, L) for 1-D or (N, C, H, W) for 2-D, or a clear error."""
    x = _as_tensor(x)
    if x.ndim != spatial + 2:
        layout = "(N, C, L)" if spatial == 1 else "(N, C, H, W)"
        raise ValueError(f"{fname}: the input must have shape {layout}, got shape {x.shape}"
                         + ("; add a batch axis with x[None] for a single example"
                            if x.ndim == spatial + 1 else ""))
    return x


def _conv(x, w, b, stride, padding, dilation, groups, floor, spatial, fname):
    x, w = _batched(x, spatial, fname), _as_tensor(w)
    node = nodes.ConvolutionNode(stride, padding, floor, dilation, groups)
    if b is None:
        return apply(node, x, w)
    b = _as_tensor(b)
    filters = w.shape[0]
    if b.shape != (filters,):
        raise ValueError(f"{fname}: the bias must have shape ({filters},), one value per filter "
                         f"of the weight of shape {w.shape}, got shape {b.shape}")
    return apply(node, x, w, b)  # the bias is the conv node's third input, as in PyTorch


def conv1d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1, *, floor=False):
    """Cross-correlate x (N, C, L) with filters w (K, C/groups, F), then add the bias b (K,).

    ``dilation`` D takes every D-th input under the filter; ``groups`` G splits channels
    and filters into G groups (G = C: depthwise). PyTorch's arguments, in its order.
    """
    return _conv(x, w, b, stride, padding, dilation, groups, floor, 1, "conv1d")


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1, *, floor=False):
    """Cross-correlate x (N, C, H, W) with filters w (K, C/groups, Fh, Fw), then add the bias
    b (K,). ``dilation`` and ``groups`` as in conv1d and PyTorch."""
    return _conv(x, w, b, stride, padding, dilation, groups, floor, 2, "conv2d")


def _pool(node, x, spatial, fname):
    return apply(node, _batched(x, spatial, fname))


# Pooling: PyTorch's arguments in its order, up to those tapegrad has (max pooling has no
# dilation, so ceil_mode is a keyword there). ``floor=True`` is tapegrad's: without it (or
# ceil_mode) an output size that is not whole is an error that shows the computation.

def max_pool1d(x, kernel_size, stride=None, padding=0, *, ceil_mode=False, floor=False):
    """Max over windows of x (N, C, L) padded with -inf; stride defaults to kernel_size.
    Ties: first max."""
    node = nodes.MaxPoolNode(kernel_size, stride, floor, padding, ceil_mode)
    return _pool(node, x, 1, "max_pool1d")


def max_pool2d(x, kernel_size, stride=None, padding=0, *, ceil_mode=False, floor=False):
    """Max over windows of x (N, C, H, W) padded with -inf; stride defaults to kernel_size.
    Ties: first max."""
    node = nodes.MaxPoolNode(kernel_size, stride, floor, padding, ceil_mode)
    return _pool(node, x, 2, "max_pool2d")


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               *, floor=False):
    """Mean over windows of x (N, C, L) padded with zeros; stride defaults to kernel_size."""
    node = nodes.AvgPoolNode(kernel_size, stride, floor, padding, ceil_mode, count_include_pad)
    return _pool(node, x, 1, "avg_pool1d")


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               *, floor=False):
    """Mean over windows of x (N, C, H, W) padded with zeros; stride defaults to kernel_size."""
    node = nodes.AvgPoolNode(kernel_size, stride, floor, padding, ceil_mode, count_include_pad)
    return _pool(node, x, 2, "avg_pool2d")


# ---------------------------------------------------------------- activations

def relu(x):
    """max(0, x): a MaxNode with the constant first, so x = 0 gets a zero gradient."""
    return maximum(0.0, x)


def log_softmax(x, axis=-1):
    """x - log Σ exp(x) along axis (one fused node, finite for any finite x)."""
    return apply(nodes.LogSoftmaxNode(axis), x)


def softmax(x, axis=-1):
    """exp(x) / Σ exp(x) along axis, computed as exp(log_softmax(x))."""
    x = _as_tensor(x)
    if x.ndim:  # a 0-d input is log_softmax's error
        normalize_axis("softmax", axis, x.shape)  # here, so a bad axis names softmax
    return log_softmax(x, axis).exp()


# ---------------------------------------------------------------- losses

def cross_entropy(logits, targets):
    """Mean over the batch of -log softmax(logits)[n, targets[n]].

    ``logits`` is (N, C) scores; ``targets`` holds N integer class indices in [0, C).
    """
    logits = _as_tensor(logits)
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: logits must have shape (N, C), one row of class "
                         f"scores per example, got shape {logits.shape}")
    count, classes = logits.shape
    labels = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: targets must be integer class indices in [0, {classes}), "
                        f"got dtype {labels.dtype}; convert with targets.astype(np.int64) (class "
                        "probabilities or one-hot targets are not supported)")
    if labels.shape != (count,):
        raise ValueError(f"cross_entropy: targets must have shape ({count},), one class index per "
                         f"row of the logits of shape {logits.shape}, got shape {labels.shape}")
    outside = (labels < 0) | (labels >= classes)
    if outside.any():
        where = int(np.argmax(outside))
        raise ValueError(f"cross_entropy: target {labels[where]} at position {where} is not a "
                         f"class index: the logits of shape {logits.shape} have {classes} classes, "
                         f"so targets must lie in [0, {classes - 1}]")
    if count == 0:
        raise ValueError("cross_entropy: the batch is empty (logits of shape "
                         f"{logits.shape}); the mean over no examples is undefined")
    picked = log_softmax(logits, axis=1)[np.arange(count), labels.astype(np.intp)]
    return picked.sum() * (-1.0 / count)


def mse_loss(pred, target):
    """Mean of (pred - target)² over every element; the shapes must match."""
    pred, target = _as_tensor(pred), _as_tensor(target)
    if pred.shape != target.shape:
        raise ValueError(f"mse_loss: prediction of shape {pred.shape} and target of shape "
                         f"{target.shape} differ; reshape one so they match (no broadcasting, "
                         "which would silently average the wrong pairs)")
    diff = pred - target
    return (diff * diff).mean()


# ---------------------------------------------------------------- regularisation and layers

def dropout(x, p=0.5, training=True, rng=None):
    """Inverted dropout: zero each element with probability p, scale the rest by 1/(1-p).

    The identity when ``training`` is False or p == 0. ``rng`` is a numpy Generator or
    an int seed, for reproducible masks.
    """
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p < 1:
        raise ValueError(f"dropout: p is the probability of zeroing an element and must be in "
                         f"[0, 1), got {p!r}")
    x = _as_tensor(x)
    if not training or p == 0:
        return x
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)
    keep = rng.random(x.shape, dtype=np.float32 if dtype == np.float32 else np.float64) >= p
    mask = keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))
    return x * mask


def linear(x, w, b=None):
    """x @ wᵀ + b, in PyTorch's layout: w is (out_features, in_features), b (out_features,)."""
    x, w = _as_tensor(x), _as_tensor(w)
    if w.ndim != 2:
        raise ValueError(f"linear: the weight must have shape (out_features, in_features), got "
                         f"shape {w.shape}")
    if x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"linear: the input of shape {x.shape} must end in in_features = "
                         f"{w.shape[1]} (the weight has shape {w.shape}); flatten it first, "
                         "e.g. F.flatten(x)")
    out = x @ w.T
    if b is None:
        return out
    b = _as_tensor(b)
    if b.shape != (w.shape[0],):
        raise ValueError(f"linear: the bias must have shape ({w.shape[0]},), one value per "
                         f"output of the weight of shape {w.shape}, got shape {b.shape}")
    return out + b


def flatten(x, start_axis=1):
    """x reshaped to x.shape[:start_axis] + (-1,): (N, C, H, W) becomes (N, C·H·W)."""
    return _as_tensor(x).flatten(start_axis)


# ---------------------------------------------------------------- normalisation

def _per_channel(value, channels, shape, what):
    """A per-channel vector (C,) as a tensor of ``shape`` (1, C, 1, ...), broadcasting over
    every axis but the channels."""
    value = _as_tensor(value)
    if value.shape != (channels,):
        raise ValueError(f"batch_norm: {what} must have shape ({channels},), one value per "
                         f"channel, got shape {value.shape}")
    return value.reshape(shape)


def _update_running(running, batch, momentum, what):
    """running <- (1 - momentum) * running + momentum * batch, in place, as PyTorch does."""
    array = running.data if isinstance(running, Tensor) else running
    if not isinstance(array, np.ndarray):
        raise TypeError(f"batch_norm: {what} must be a Tensor or a NumPy array, which training "
                        f"updates in place, got {type(running).__name__}")
    array[...] = (1 - momentum) * array + momentum * batch


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalise each channel (axis 1) of x to mean 0 and variance 1, then scale by weight
    and shift by bias (each of shape (C,)): (x - mean) / sqrt(var + eps) * weight + bias.

    ``training=True``: mean and var are the batch's, over every axis but the channels
    (the biased variance), and ``running_mean``/``running_var`` (when given) move toward
    them in place: running = (1 - momentum) * running + momentum * batch, with the batch's
    unbiased variance for running_var, as in PyTorch. ``training=False``: the running
    statistics are used instead. A composition of nodes; the running statistics take no
    gradient.
    """
    x = _as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: the input must have shape (N, C) or (N, C, ...), "
                         f"with the channels on axis 1, got shape {x.shape}")
    channels = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, channels) + (1,) * (x.ndim - 2)
    if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real):
        raise TypeError(f"batch_norm: momentum must be a number, got {momentum!r}")
    for stat, what in ((running_mean, "running_mean"), (running_var, "running_var")):
        got = np.shape(stat.data if isinstance(stat, Tensor) else stat)
        if stat is not None and got != (channels,):
            raise ValueError(f"batch_norm: {what} must have shape ({channels},), one value per "
                             f"channel of the input of shape {x.shape}, got shape {got}")
    if training:
        count = x.size // channels if channels else 0
        if count <= 1:
            raise ValueError(f"batch_norm: training needs more than one value per channel to "
                             f"compute a variance, got an input of shape {x.shape}; use a batch "
                             "of more than one example, or training=False")
        mean = x.mean(axes, keepdims=True)
        centered = x - mean
        var = (centered * centered).mean(axes, keepdims=True)
        if running_mean is not None:
            _update_running(running_mean, mean.data.reshape(channels), momentum, "running_mean")
        if running_var is not None:
            unbiased = var.data.reshape(channels) * (count / (count - 1))
            _update_running(running_var, unbiased, momentum, "running_var")
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: training=False normalises with running_mean and "
                             "running_var, and one of them is None; pass both, or "
                             "training=True to use the batch's statistics")
        centered = x - _per_channel(running_mean, channels, shape, "running_mean")
        var = _per_channel(running_var, channels, shape, "running_var")
    out = centered * (var + eps) ** -0.5
    if weight is not None:
        out = out * _per_channel(weight, channels, shape, "weight")
    if bias is not None:
        out = out + _per_channel(bias, channels, shape, "bias")
    return out
