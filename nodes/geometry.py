"""The geometry of sliding windows, shared by convolution and pooling.

An input (N, C, H, W) seen through windows of Fh x Fw at stride (Sh, Sw) has
Ho x Wo windows, Ho = (H - Fh + 2P)/S + 1 (the course's output-size formula). A 1-D
input (N, C, L) is an image of height 1, so one implementation serves both.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def windows(x, kernel, stride, sizes):
    """The view (N, C, Ho, Wo, Fh, Fw) of x (N, C, H, W) whose [b, c, i, j] is the window
    x[b, c, S·i : S·i + Fh, S·j : S·j + Fw]; no copy is made."""
    (Sh, Sw), (Ho, Wo) = stride, sizes
    every = sliding_window_view(x, kernel, axis=(2, 3))  # a window at every position
    return every[:, :, :Sh * (Ho - 1) + 1:Sh, :Sw * (Wo - 1) + 1:Sw]


def spatial_params(value, what, ndim, node_name):
    """``value`` (an int, or one int per spatial axis) as a tuple of ``ndim`` ints."""
    if isinstance(value, (int, np.integer)):
        values = (int(value),) * ndim
    else:
        try:
            values = tuple(int(v) for v in value)
        except TypeError:
            raise TypeError(f"{node_name}: {what} must be an int or a tuple of ints, "
                            f"got {value!r}") from None
        if len(values) != ndim:
            raise ValueError(f"{node_name}: {what} {value!r} has {len(values)} entries, but the "
                             f"input has {ndim} spatial axis{'es' if ndim > 1 else ''}; give "
                             f"one int or {ndim} of them")
    return values


def check_params(value, what, node_name, minimum):
    """Validate an int-or-tuple constructor argument early, so errors point at its creation."""
    parts = (value,) if isinstance(value, (int, np.integer)) else value
    try:
        parts = tuple(parts)
    except TypeError:
        raise TypeError(f"{node_name}: {what} must be an int or a tuple of ints, "
                        f"got {value!r}") from None
    if not parts or len(parts) > 2:
        raise ValueError(f"{node_name}: {what} {value!r} must be one int or a pair of ints")
    for part in parts:
        if not isinstance(part, (int, np.integer)) or isinstance(part, bool):
            raise TypeError(f"{node_name}: {what} must be an int or a tuple of ints, got {value!r}")
        if part < minimum:
            raise ValueError(f"{node_name}: {what} must be at least {minimum}, got {value!r}")
    return value


def batched_input(x, node_name):
    """x as an array of shape (N, C, L) or (N, C, H, W), its number of spatial axes and their names."""
    x = np.asarray(x)
    if x.ndim not in (3, 4):
        raise ValueError(f"{node_name} expects an input of shape (N, C, L) for 1-D or "
                         f"(N, C, H, W) for 2-D, got {x.ndim} dimensions {x.shape}; add a "
                         "batch axis with x[None] for a single example")
    spatial = x.ndim - 2
    return x, spatial, ("length",) if spatial == 1 else ("height", "width")


def conv_inputs(x, w, bias, node_name):
    """x, w and bias as arrays of one dtype, checked against each other (errors name the
    rule and the fix); the number of spatial axes and their names."""
    x, spatial, axes = batched_input(x, node_name)
    w = np.asarray(w)
    layout = "(K, C, F)" if spatial == 1 else "(K, C, Fh, Fw)"
    if w.ndim != x.ndim:
        raise ValueError(f"conv filters for a {spatial}-D input of shape {x.shape} must "
                         f"have shape {layout}, got {w.shape}")
    if x.shape[1] == 0 or 0 in w.shape:
        raise ValueError(f"the input {x.shape} and the conv filters {w.shape} {layout} need "
                         "at least one channel, one filter and a kernel of at least 1x1")
    if w.shape[1] != x.shape[1]:
        raise ValueError(f"the input of shape {x.shape} has {x.shape[1]} channels but the conv "
                         f"filters of shape {w.shape} expect {w.shape[1]}; make the filters' "
                         "second dimension equal the input's channels")
    dtype = np.result_type(x.dtype, w.dtype)
    if bias is not None:
        bias = np.asarray(bias)
        if bias.shape != (w.shape[0],):
            raise ValueError(f"the conv bias must have shape ({w.shape[0]},), one number per "
                             f"filter of the filters of shape {w.shape}, got shape {bias.shape}")
        dtype = np.result_type(dtype, bias.dtype)
        bias = bias.astype(dtype, copy=False)
    return x.astype(dtype, copy=False), w.astype(dtype, copy=False), bias, spatial, axes


def _fmt(number):
    return f"{round(number, 2):g}"


def output_size(axis, size, kernel, stride, padding, floor, padding_allowed=True):
    """W2 = (W1 - F + 2P)/S + 1, or a ValueError that shows the computation and what fits.

    ``floor=True`` drops an incomplete last window, as PyTorch does.
    """
    span = size - kernel + 2 * padding
    if padding_allowed:
        formula = f"({size} - {kernel} + 2*{padding})/{stride} + 1"
    else:
        formula = f"({size} - {kernel})/{stride} + 1"
    if span < 0:
        padded = f" (padded by {padding} on each side: {size + 2 * padding})" if padding else ""
        hint = "use a smaller kernel" + (" or more padding" if padding_allowed else "")
        raise ValueError(f"the kernel {axis} {kernel} is larger than the input {axis} "
                         f"{size}{padded}: {formula} = {_fmt(span / stride + 1)}; {hint}")
    whole, remainder = divmod(span, stride)
    if remainder and not floor:
        raise ValueError(f"the output {axis} {formula} = {_fmt(span / stride + 1)} is not whole; "
                         f"{_suggest(span, stride, padding, padding_allowed)}, or pass "
                         "floor=True to drop the incomplete last window as PyTorch does")
    return whole + 1


def _either(numbers):
    """'1, 2 or 4'"""
    words = [str(n) for n in numbers]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _suggest(span, stride, padding, padding_allowed):
    """A sentence naming strides (and paddings) for which the output size is whole."""
    strides = [s for s in range(1, span + 1) if span % s == 0]
    strides = sorted(strides, key=lambda s: (abs(s - stride), s))[:3]
    strides.sort()
    outputs = [span // s + 1 for s in strides]
    text = f"use stride {_either(strides)} (output {_either(outputs)})"
    if padding_allowed and stride > 1:
        base = span - 2 * padding
        fits = [p for p in range(0, padding + stride + 1)
                if p != padding and base + 2 * p >= 0 and (base + 2 * p) % stride == 0]
        if fits:
            best = min(fits, key=lambda p: (abs(p - padding), p))
            text += f", or padding {best} (output {(base + 2 * best) // stride + 1})"
    return text
