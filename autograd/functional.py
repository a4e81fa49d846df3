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
from .tensor import Tensor, _either, cat, maximum, stack, where


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
    """max(0, x): a MaxNode with the constant first, so x = 0 gets a zero gradient.

    The 0 is a Python int, so the result keeps x's dtype (an int tensor stays int)."""
    return maximum(0, x)


def leaky_relu(x, negative_slope=0.01):
    """x where x > 0, else negative_slope * x: a where node choosing between x and the
    product, so x = 0 gets the slope as its gradient, as in PyTorch."""
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, numbers.Real):
        raise TypeError(f"leaky_relu: negative_slope must be a number, got {negative_slope!r}")
    x = _as_tensor(x)
    return where(x > 0, x, x * negative_slope)


def tanh(x):
    """tanh(x): one node, whose rule reuses its output, dx = (1 - z²) dz."""
    return _as_tensor(x).tanh()


def sigmoid(x):
    """1 / (1 + exp(-x)): one node, finite for any x, whose rule reuses its output."""
    return _as_tensor(x).sigmoid()


def log_softmax(x, axis=-1, *, dim=None):
    """x - log Σ exp(x) along axis (one fused node, finite for any finite x)."""
    axis = _either("log_softmax", "axis", axis, "dim", dim, -1)
    return apply(nodes.LogSoftmaxNode(axis), x)


def softmax(x, axis=-1, *, dim=None):
    """exp(x) / Σ exp(x) along axis, computed as exp(log_softmax(x))."""
    axis = _either("softmax", "axis", axis, "dim", dim, -1)
    x = _as_tensor(x)
    if x.ndim:  # a 0-d input is log_softmax's error
        normalize_axis("softmax", axis, x.shape)  # here, so a bad axis names softmax
    return log_softmax(x, axis).exp()


# ---------------------------------------------------------------- losses

_REDUCTIONS = ("mean", "sum", "none")


def _reduction(fname, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{fname}: reduction must be 'mean', 'sum' or 'none', got "
                         f"{reduction!r}")
    return reduction


def _constant(array):
    """An array made here, read-only: no one else can change it, so no graph records it."""
    array = np.asarray(array)
    array.setflags(write=False)
    return array


def _class_scores(fname, scores, what):
    """Scores (N, C) or (N, C, d1, ...) as rows (M, C), one per example and position."""
    scores = _as_tensor(scores)
    if scores.ndim < 2:
        raise ValueError(f"{fname}: {what} must have shape (N, C) or (N, C, d1, ...), one row "
                         f"of class scores per example, got shape {scores.shape}")
    if scores.ndim == 2:
        return scores
    classes = scores.shape[1]
    return scores.permute(0, *range(2, scores.ndim), 1).reshape(-1, classes)


def _class_labels(fname, targets, scores_shape, what, ignore_index):
    """The targets as a flat int array checked against scores of ``scores_shape``."""
    labels = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
    classes = scores_shape[1]
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{fname}: targets must be integer class indices in [0, {classes}), "
                        f"got dtype {labels.dtype}; convert with targets.astype(np.int64) (class "
                        "probabilities or one-hot targets are not supported)")
    expected = scores_shape[:1] + scores_shape[2:]
    if labels.shape != expected:
        per = "row" if len(scores_shape) == 2 else "row and position"
        raise ValueError(f"{fname}: targets must have shape {expected}, one class index per "
                         f"{per} of the {what} of shape {scores_shape}, got shape {labels.shape}")
    outside = ((labels < 0) | (labels >= classes)) & (labels != ignore_index)
    if outside.any():
        where_ = np.unravel_index(int(np.argmax(outside)), labels.shape)
        where_ = where_[0] if len(where_) == 1 else tuple(int(i) for i in where_)
        raise ValueError(f"{fname}: target {labels[where_]} at position {where_} is not a "
                         f"class index: the {what} of shape {scores_shape} have {classes} "
                         f"classes, so targets must lie in [0, {classes - 1}] (or be "
                         f"ignore_index, {ignore_index})")
    return labels.reshape(-1).astype(np.intp)


def _class_weight(fname, weight, classes):
    if weight is None:
        return None
    weight = weight.data if isinstance(weight, Tensor) else np.asarray(weight)
    if weight.shape != (classes,):
        raise ValueError(f"{fname}: weight must have shape ({classes},), one value per class, "
                         f"got shape {weight.shape}")
    return weight


def _nll(fname, log_probs, targets, weight, ignore_index, reduction, what):
    """The negative log-likelihood of the target classes, and the rows and the per-row
    divisor that a 'mean' uses (for label smoothing)."""
    reduction = _reduction(fname, reduction)
    log_probs = _as_tensor(log_probs)
    rows = _class_scores(fname, log_probs, what)
    labels = _class_labels(fname, targets, log_probs.shape, what, ignore_index)
    weight = _class_weight(fname, weight, log_probs.shape[1])
    kept = labels != ignore_index  # an empty batch's mean is NaN, as in PyTorch (total 0)
    safe = np.where(kept, labels, 0)  # an ignored row picks class 0, then counts for nothing
    picked = rows[np.arange(labels.size), safe]
    per_row = None if weight is None else _constant(np.where(kept, weight[safe], 0))
    if per_row is not None:
        picked = picked * per_row
    if not kept.all():
        picked = where(_constant(kept), picked, 0.0)  # by selection: 0, even for inf there
    total = kept.sum() if per_row is None else per_row.sum()
    context = (rows, kept, weight, total)
    if reduction == "mean":
        return _mean_of_sum(picked, -1.0, total), context
    if reduction == "sum":
        return -picked.sum(), context
    return _per_example(-picked, log_probs.shape), context


def _mean_of_sum(losses, sign, total):
    """sign · Σ losses / total; with nothing counted (total 0), nan, as in PyTorch."""
    with np.errstate(invalid="ignore"):  # 0 * inf
        return losses.sum() * (sign / total if total else sign * np.inf)


def _per_example(losses, shape):
    """Losses of the rows (M,) in the targets' shape (N, d1, ...)."""
    return losses if len(shape) == 2 else losses.reshape(shape[:1] + shape[2:])


def nll_loss(log_probs, targets, weight=None, ignore_index=-100, reduction="mean"):
    """-log_probs[n, targets[n]], as PyTorch's nll_loss: 'mean' over the examples (divided by
    the sum of their classes' ``weight`` when given), 'sum', or 'none' (one loss each).
    Targets equal to ``ignore_index`` count for nothing. ``log_probs`` is (N, C), or
    (N, C, d1, ...) with targets (N, d1, ...). A composition: indexing, products, a sum."""
    return _nll("nll_loss", log_probs, targets, weight, ignore_index, reduction,
                "log-probabilities")[0]


def cross_entropy(logits, targets, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """nll_loss(log_softmax(logits, axis=1), targets), with PyTorch's arguments.

    ``logits`` is (N, C) scores (or (N, C, d1, ...)); ``targets`` holds integer class indices
    in [0, C). ``label_smoothing`` ε mixes in the loss against a uniform target:
    (1 - ε) · loss + ε/C · Σ_c -log p_c (weighted and reduced as the loss is).
    """
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, numbers.Real) \
            or not 0 <= label_smoothing <= 1:
        raise ValueError(f"cross_entropy: label_smoothing must be a number in [0, 1], got "
                         f"{label_smoothing!r}")
    logits = _as_tensor(logits)
    if logits.ndim < 2:  # here, so the error names the logits rather than log-probabilities
        _class_scores("cross_entropy", logits, "logits")
    log_probs = log_softmax(logits, axis=1)
    loss, (rows, kept, weight, total) = _nll("cross_entropy", log_probs, targets, weight,
                                             ignore_index, reduction, "logits")
    if not label_smoothing:
        return loss
    # -Σ_c w_c log p_c per row; ignored rows count for nothing, as in the loss
    smooth = (rows if weight is None else rows * _constant(np.array(weight))).sum(axis=1)
    if not kept.all():
        smooth = where(_constant(kept), smooth, 0.0)
    if reduction == "mean":
        smooth = _mean_of_sum(smooth, -1.0, total)
    elif reduction == "sum":
        smooth = -smooth.sum()
    else:
        smooth = _per_example(-smooth, logits.shape)
    classes = logits.shape[1]
    return loss * (1.0 - label_smoothing) + smooth * (label_smoothing / classes)


def _same_shape(fname, input, target, what="input"):
    if input.shape != target.shape:
        raise ValueError(f"{fname}: the {what} of shape {input.shape} and the target of shape "
                         f"{target.shape} differ; they must match element for element")


def _reduce(losses, reduction):
    if reduction == "mean":
        return losses.mean()
    return losses.sum() if reduction == "sum" else losses


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-(t log p + (1 - t) log(1 - p)) for probabilities p in [0, 1] and targets t, as
    PyTorch's: each log at least -100, so p = 0 or 1 stays finite. ``weight`` multiplies each
    element's loss (broadcast). One fused node (nodes/loss.py), then the reduction."""
    reduction = _reduction("binary_cross_entropy", reduction)
    input, target = _as_tensor(input), _as_tensor(target)
    _same_shape("binary_cross_entropy", input, target)
    values = input.data
    if values.size and not ((values >= 0) & (values <= 1)).all():
        raise ValueError(f"binary_cross_entropy: the input must be probabilities in [0, 1], "
                         f"got values from {np.min(values)} to {np.max(values)}; apply sigmoid "
                         "first, or give the scores to binary_cross_entropy_with_logits")
    losses = apply(nodes.BinaryCrossEntropyNode(), input, target)
    if weight is not None:
        losses = losses * weight
    return _reduce(losses, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """binary_cross_entropy(sigmoid(x), t) computed from the scores x, finite for any x:
    (1 - t) x - log σ(x), where log σ(x) is the log-softmax of the two scores (x, 0), the
    fused node that never overflows (so |x| = 1000 gives neither inf nor NaN).
    ``pos_weight`` p weighs the positive term, as in PyTorch: (1 - t) x - (1 + (p - 1) t) log σ(x).
    """
    reduction = _reduction("binary_cross_entropy_with_logits", reduction)
    input, target = _as_tensor(input), _as_tensor(target)
    _same_shape("binary_cross_entropy_with_logits", input, target)
    pair = stack([input, _constant(np.zeros(input.shape, input.dtype))], axis=-1)
    log_sigmoid = log_softmax(pair, axis=-1)[..., 0]
    if pos_weight is None:
        losses = (1 - target) * input - log_sigmoid
    else:
        losses = (1 - target) * input - (1 + (pos_weight - 1) * target) * log_sigmoid
    if weight is not None:
        losses = losses * weight
    return _reduce(losses, reduction)


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


def pad(x, pad, mode="constant", value=0.0):
    """x with ``value`` added around it, as PyTorch's F.pad: ``pad`` holds (before, after)
    counts for the last axis first, then the axis before it, and so on: (1, 1, 2, 0) pads
    the last axis by 1 on each side and the one before by 2 in front. A negative count
    crops. A composition: cat with constant blocks (and indexing to crop), so the gradient
    is dz with the padding cut off.
    """
    if mode != "constant":
        raise ValueError(f"pad: mode {mode!r} is not available; tapegrad pads with a constant "
                         "value (mode='constant')")
    x = _as_tensor(x)
    counts = tuple(pad)
    if len(counts) % 2 or any(isinstance(n, bool) or not isinstance(n, (int, np.integer))
                              for n in counts):
        raise ValueError(f"pad: pad must be pairs of ints (before, after), last axis first, "
                         f"got {pad!r}")
    if len(counts) // 2 > x.ndim:
        raise ValueError(f"pad: {len(counts) // 2} pairs in pad {counts} for a tensor of shape "
                         f"{x.shape}, which has {x.ndim} axes; give at most one pair per axis")
    value = 0 if value is None else value
    out = x
    for pair in range(len(counts) // 2):
        axis, (before, after) = x.ndim - 1 - pair, counts[2 * pair:2 * pair + 2]
        size = out.shape[axis]
        if max(-before, 0) + max(-after, 0) > size:
            raise ValueError(f"pad: ({before}, {after}) on axis {axis} of the tensor of shape "
                             f"{x.shape} crops more than its {size} elements")
        if before < 0 or after < 0:
            start, stop = max(-before, 0), size - max(-after, 0)
            out = out[(slice(None),) * axis + (slice(start, stop),)]
        blocks = []
        for count in (before, after):
            shape = out.shape[:axis] + (max(count, 0),) + out.shape[axis + 1:]
            blocks.append(_constant(np.full(shape, value, out.dtype)) if count > 0 else None)
        parts = [part for part in (blocks[0], out, blocks[1]) if part is not None]
        if len(parts) > 1:
            out = cat(parts, axis)
    return out


def flatten(x, start_axis=1, end_axis=-1, *, start_dim=None, end_dim=None):
    """Axes start_axis to end_axis become one: (N, C, H, W) becomes (N, C·H·W). The default
    start is 1 (the batch axis stays), as in nn.Flatten; ``t.flatten()`` starts at 0."""
    return _as_tensor(x).flatten(start_axis, end_axis, start_dim=start_dim, end_dim=end_dim)


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


# ---------------------------------------------------------------- pooling to a given size

def _averaging_matrix(size, out, dtype):
    """(out, size): row i averages inputs floor(i·size/out) to ceil((i+1)·size/out) - 1,
    PyTorch's bins for adaptive pooling."""
    matrix = np.zeros((out, size), dtype)
    for i in range(out):
        start, stop = (i * size) // out, -(-(i + 1) * size // out)
        matrix[i, start:stop] = 1.0 / (stop - start)
    return _constant(matrix)


def adaptive_avg_pool2d(x, output_size):
    """Average x (N, C, H, W) or (C, H, W) over bins that give ``output_size`` (an int, or
    (h, w) with None keeping that size), as PyTorch does. Averaging bands of rows is a
    matrix product, so this is two of them: A @ x @ Bᵀ, with A (h, H) and B (w, W) holding
    1/(band size) over each band; the diagram shows both matmuls.
    """
    x = _as_tensor(x)
    if x.ndim not in (3, 4):
        raise ValueError(f"adaptive_avg_pool2d: the input must have shape (N, C, H, W) or "
                         f"(C, H, W), got shape {x.shape}")
    height, width = x.shape[-2:]
    sizes = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    if len(sizes) != 2:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be an int or (h, w), got "
                         f"{output_size!r}")
    sizes = tuple(n if s is None else s for s, n in zip(sizes, (height, width)))
    if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in sizes):
        raise ValueError(f"adaptive_avg_pool2d: output_size must be positive ints (or None to "
                         f"keep a size), got {output_size!r}")
    if height == 0 or width == 0:
        raise ValueError(f"adaptive_avg_pool2d: the input of shape {x.shape} is empty; there is "
                         "nothing to average")
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)
    rows = _averaging_matrix(height, sizes[0], dtype)
    columns = _averaging_matrix(width, sizes[1], dtype).T
    return rows @ x @ columns
