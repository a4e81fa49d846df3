"""Convolution (the course's cross-correlation) of 1-D and 2-D inputs, with stride and padding.

A 1-D input (N, C, L) is treated as a 2-D input of height 1, so one implementation
serves both. The forward pass copies the Fh*Fw shifted (strided) views of the padded
input into a column array ("im2col", one slice per kernel offset) and does a single
batched matrix multiply; the input gradient scatters the columns back the same way
("col2im"). No Python loop runs over batch items or output pixels.
"""

import numpy as np

from .base import Node
from .parallel import over_batch


# ---------------------------------------------------------------- shared by conv and pooling

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


# ---------------------------------------------------------------- the node

class ConvolutionNode(Node):
    """z[b, k, i, j] = Σ_c Σ_m Σ_n w[k, c, m, n] · x_pad[b, c, S·i + m, S·j + n]

    Cross-correlation, as in the notes (Y_ij = Σ_m Σ_n W_mn X_{i+m, j+n}), over channels c.

    ``x`` is (N, C, H, W) and ``w`` is (K, C, Fh, Fw) for 2-D, or (N, C, L) and (K, C, F)
    for 1-D. ``stride`` and ``padding`` (zeros on both sides) are an int or one int per
    spatial axis. The output size W2 = (W1 - F + 2P)/S + 1 must be whole unless
    ``floor=True``, which drops an incomplete last window as PyTorch does. The bias is
    not part of the node: layers add it with an AdditionNode.
    """
    name, symbol = "conv", "*"
    rules = ("dx[S·i+m, S·j+n] += w[m, n] · dz[i, j]",
             "dw[m, n] = Σᵢⱼ x[S·i+m, S·j+n] · dz[i, j]")
    saved = ("cols", "w")

    def __init__(self, stride=1, padding=0, floor=False):
        self.stride = check_params(stride, "stride", self.name, 1)
        self.padding = check_params(padding, "padding", self.name, 0)
        self.floor = bool(floor)

    def forwardPass(self, x, w):
        x, spatial, axes = batched_input(x, self.name)
        w = np.asarray(w)
        if w.ndim != x.ndim:
            layout = "(K, C, F)" if x.ndim == 3 else "(K, C, Fh, Fw)"
            raise ValueError(f"conv filters for a {x.ndim - 2}-D input of shape {x.shape} must "
                             f"have shape {layout}, got {w.shape}")
        if w.shape[1] != x.shape[1]:
            raise ValueError(f"the input of shape {x.shape} has {x.shape[1]} channels but the conv "
                             f"filters of shape {w.shape} expect {w.shape[1]}; make the filters' "
                             "second dimension equal the input's channels")
        stride = spatial_params(self.stride, "stride", spatial, self.name)
        padding = spatial_params(self.padding, "padding", spatial, self.name)
        sizes = tuple(output_size(axis, size, kernel, s, p, self.floor) for axis, size, kernel, s, p
                      in zip(axes, x.shape[2:], w.shape[2:], stride, padding))
        if spatial == 1:  # a 1-D signal is an image of height 1
            x, w = x[:, :, None, :], w[:, :, None, :]
            stride, padding, sizes = (1,) + stride, (0,) + padding, (1,) + sizes
        N, C, H, W = x.shape
        K, _, Fh, Fw = w.shape
        (Sh, Sw), (Ph, Pw), (Ho, Wo) = stride, padding, sizes
        dtype = np.result_type(x.dtype, w.dtype)
        x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)

        padded = np.zeros((N, C, H + 2 * Ph, W + 2 * Pw), dtype=dtype) if Ph or Pw else x
        # im2col, channel-major within each example: row (c, m, n) of example b's matrix holds
        # x_pad[b, c, S*i + m, S*j + n] for every output pixel (i, j). One strided copy per
        # offset, then one matmul for the part of the batch: (K, C*Fh*Fw) @ (b, C*Fh*Fw, Ho*Wo).
        # On this 2-core machine OpenBLAS runs these per-example products faster than one
        # wide GEMM, and the result is already in (N, K, Ho, Wo) order.
        cols = np.empty((N, C, Fh, Fw, Ho, Wo), dtype=dtype)
        matrix = cols.reshape(N, C * Fh * Fw, Ho * Wo)
        weights = w.reshape(K, -1)
        out = np.empty((N, K, Ho * Wo), dtype=dtype)

        def forward_part(start, stop):
            if Ph or Pw:
                padded[start:stop, :, Ph:Ph + H, Pw:Pw + W] = x[start:stop]
            for m in range(Fh):
                for n in range(Fw):
                    cols[start:stop, :, m, n] = padded[start:stop, :, m:m + Sh * Ho:Sh,
                                                       n:n + Sw * Wo:Sw]
            np.matmul(weights, matrix[start:stop], out=out[start:stop])

        over_batch(forward_part, N, cols.size)
        cols = matrix

        self.cols, self.w = cols, w
        self.geometry = (spatial, (N, C, H, W), (Ho, Wo), (Sh, Sw), (Ph, Pw))
        out = out.reshape(N, K, Ho, Wo)
        return out[:, :, 0, :] if spatial == 1 else out

    def backwardPass(self, dz):
        spatial, (N, C, H, W), (Ho, Wo), (Sh, Sw), (Ph, Pw) = self.geometry
        w, cols = self.w, self.cols
        K, _, Fh, Fw = w.shape
        needs = getattr(self, "needs_input_grad", (True, True))
        dz = np.asarray(dz, dtype=w.dtype).reshape(N, K, Ho * Wo)

        weights = w.reshape(K, -1)
        dw_parts = {}  # by first example, summed in order so the result does not depend on timing
        padded = np.zeros((N, C, H + 2 * Ph, W + 2 * Pw), dtype=w.dtype) if needs[0] else None

        def backward_part(start, stop):
            if needs[1]:
                # dwᵀ[(c, m, n), k] = Σ over examples and pixels of cols[(c, m, n), p] · dz[k, p].
                # As (C·Fh·Fw, P) @ (P, K) products OpenBLAS ran these about 25% faster than as
                # (K, P) @ (P, C·Fh·Fw) for benchmark shape (b) on this project's machine, and
                # at the same speed for shape (a).
                dw_parts[start] = np.matmul(cols[start:stop],
                                            dz[start:stop].transpose(0, 2, 1)).sum(axis=0)
            if needs[0]:
                dcols = np.matmul(weights.T, dz[start:stop]).reshape(stop - start, C, Fh, Fw, Ho, Wo)
                # col2im: add each offset's slice back where it was read; overlapping windows add.
                for m in range(Fh):
                    for n in range(Fw):
                        padded[start:stop, :, m:m + Sh * Ho:Sh, n:n + Sw * Wo:Sw] += dcols[:, :, m, n]

        over_batch(backward_part, N, cols.size)
        dw = dx = None
        if needs[1]:
            parts = [dw_parts[start] for start in sorted(dw_parts)]
            dw = np.ascontiguousarray(sum(parts[1:], parts[0]).T).reshape(w.shape)
            if spatial == 1:
                dw = dw[:, :, 0, :]
        if needs[0]:
            dx = padded[:, :, Ph:Ph + H, Pw:Pw + W]
            if spatial == 1:
                dx = dx[:, :, 0, :]
        return dx, dw
