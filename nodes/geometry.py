"""The geometry of sliding windows, shared by convolution and pooling.

An input (N, C, H, W) seen through windows of Fh x Fw at stride (Sh, Sw) has
Ho x Wo windows, Ho = (H - Fh + 2P)/S + 1 (the course's output-size formula). With
dilation D a window takes every D-th element, so it reaches across D(F - 1) + 1 of them
and Ho = (H + 2P - D(F - 1) - 1)/S + 1. A 1-D input (N, C, L) is an image of height 1,
so one implementation serves both.
"""

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def windows(x, kernel, stride, sizes, dilation=(1, 1)):
    """The view (N, C, Ho, Wo, Fh, Fw) of x (N, C, H, W) whose [b, c, i, j, m, n] is
    x[b, c, S·i + D·m, S·j + D·n]: each window takes every D-th element (D = 1: a block of
    Fh x Fw neighbours); no copy is made."""
    (Sh, Sw), (Ho, Wo), (Dh, Dw) = stride, sizes, dilation
    reach = (Dh * (kernel[0] - 1) + 1, Dw * (kernel[1] - 1) + 1)
    every = sliding_window_view(x, reach, axis=(2, 3))  # a window at every position
    return every[:, :, :Sh * (Ho - 1) + 1:Sh, :Sw * (Wo - 1) + 1:Sw, ::Dh, ::Dw]


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


def check_params(value, what, node_name, minimum, single=False):
    """Validate an int-or-tuple constructor argument (an int if ``single``) early, so errors
    point at its creation."""
    if single and (not isinstance(value, (int, np.integer)) or isinstance(value, bool)):
        raise TypeError(f"{node_name}: {what} must be an int, got {value!r}")
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


def conv_inputs(x, w, bias, node_name, groups=1):
    """x, w and bias as arrays of one dtype, checked against each other (errors name the
    rule and the fix); the number of spatial axes and their names. With ``groups`` G the
    filters see C/G channels each, so w is (K, C/G, ...) and G divides both C and K."""
    x, spatial, axes = batched_input(x, node_name)
    w = np.asarray(w)
    layout = "(K, C, F)" if spatial == 1 else "(K, C, Fh, Fw)"
    if w.ndim != x.ndim:
        raise ValueError(f"conv filters for a {spatial}-D input of shape {x.shape} must "
                         f"have shape {layout}, got {w.shape}")
    if x.shape[1] == 0 or 0 in w.shape:
        raise ValueError(f"the input {x.shape} and the conv filters {w.shape} {layout} need "
                         "at least one channel, one filter and a kernel of at least 1x1")
    channels, filters = x.shape[1], w.shape[0]
    for count, what, shape in ((channels, "input channels", x.shape),
                               (filters, "filters", w.shape)):
        if count % groups:
            raise ValueError(f"groups={groups} must divide the {count} {what} (shape {shape}) "
                             "so that every group gets as many; use groups "
                             f"{_either(_divisors(math.gcd(channels, filters)))}")
    if w.shape[1] != channels // groups:
        raise ValueError(f"the input of shape {x.shape} has {channels} channels but the conv "
                         f"filters of shape {w.shape} expect {w.shape[1] * groups}; make the "
                         "filters' second dimension equal the input's channels" +
                         (f" divided by groups: {channels} / {groups} = {channels // groups}"
                          if groups != 1 else ""))
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


def output_size(axis, size, kernel, stride, padding, floor, padding_allowed=True, dilation=1,
                ceil_mode=False):
    """W2 = (W1 - F + 2P)/S + 1, or a ValueError that shows the computation and what fits.

    With dilation D the kernel reaches across D(F - 1) + 1 elements: W2 = (W1 - D(F - 1) - 1
    + 2P)/S + 1. ``floor=True`` drops an incomplete last window, as PyTorch does;
    ``ceil_mode=True`` (pooling) keeps it, unless it would start in the right padding, as
    PyTorch's ceil_mode does. ``padding_allowed=False`` (pooling) leaves the padding out of
    the formula when it is 0 and suggests ceil_mode instead of a padding.
    """
    reach = dilation * (kernel - 1) + 1
    span = size - reach + 2 * padding
    taken = f"{kernel}" if dilation == 1 else f"{dilation}*({kernel} - 1) - 1"
    padded = f" + 2*{padding}" if padding_allowed or padding else ""
    formula = f"({size} - {taken}{padded})/{stride} + 1"
    if span < 0:
        dilated = f" dilated by {dilation} (reaching {reach})" if dilation != 1 else ""
        padded = f" (padded by {padding} on each side: {size + 2 * padding})" if padding else ""
        hint = "use a smaller kernel" + (" or dilation" if dilation != 1 else "") + (
            " or more padding" if padding_allowed else "")
        raise ValueError(f"the kernel {axis} {kernel}{dilated} is larger than the input {axis} "
                         f"{size}{padded}: {formula} = {_fmt(span / stride + 1)}; {hint}")
    whole, remainder = divmod(span, stride)
    if remainder and ceil_mode:
        if whole * stride + stride < size + padding:  # the extra window starts inside the input
            whole += 1
    elif remainder and not floor:
        keep = ", or ceil_mode=True to keep it" if not padding_allowed else ""
        raise ValueError(f"the output {axis} {formula} = {_fmt(span / stride + 1)} is not whole; "
                         f"{_suggest(span, stride, padding, padding_allowed)}, or pass "
                         f"floor=True to drop the incomplete last window as PyTorch does{keep}")
    return whole + 1


def _divisors(number):
    return [d for d in range(1, number + 1) if number % d == 0]


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
