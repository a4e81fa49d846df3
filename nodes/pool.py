"""Max and average pooling over 1-D (N, C, L) and 2-D (N, C, H, W) inputs, with padding and
PyTorch's ceil_mode."""

import numpy as np

from . import kernels
from .base import Node
from .geometry import batched_input, check_params, output_size, spatial_params, windows


class _PoolNode(Node):
    """Window geometry shared by max and average pooling: windows of the input padded by P on
    each side (with what each kind of pooling pads with), and with ``ceil_mode=True`` a last
    window that may reach past the padded input (it covers what is there)."""

    def __init__(self, kernel_size, stride=None, floor=False, padding=0, ceil_mode=False):
        self.kernel_size = check_params(kernel_size, "kernel_size", self.name, 1)
        if stride is None:  # non-overlapping windows, as in PyTorch
            stride = kernel_size
        self.stride = check_params(stride, "stride", self.name, 1)
        self.padding = check_params(padding, "padding", self.name, 0)
        self.floor, self.ceil_mode = bool(floor), bool(ceil_mode)
        if self.floor and self.ceil_mode:
            raise ValueError(f"{self.name}: floor=True drops an incomplete last window and "
                             "ceil_mode=True keeps it; pass only one of them")

    def _prepare(self, x):
        """x as (N, C, H, W) (height 1 for 1-D), with the geometry of its windows set."""
        x, spatial, axes = batched_input(x, self.name)
        kernel, stride, padding = (spatial_params(value, what, spatial, self.name)
                                   for value, what in ((self.kernel_size, "kernel_size"),
                                                       (self.stride, "stride"),
                                                       (self.padding, "padding")))
        for axis, f, p in zip(axes, kernel, padding):
            if p > f // 2:  # PyTorch's rule: every window holds at least one input element
                raise ValueError(f"{self.name}: padding {p} is more than half the kernel {axis} "
                                 f"{f}, so a window could hold padding only; use padding at most "
                                 f"{f // 2}")
        sizes = tuple(output_size(axis, size, f, s, p, self.floor, padding_allowed=False,
                                  ceil_mode=self.ceil_mode)
                      for axis, size, f, s, p in zip(axes, x.shape[2:], kernel, stride, padding))
        self.spatial = spatial
        if spatial == 1:  # a 1-D signal is an image of height 1
            x = x[:, :, None, :]
            kernel, stride, sizes = ((1,) + v for v in (kernel, stride, sizes))
            padding = (0,) + padding
        self.kernel, self.strides, self.pads = kernel, stride, padding
        # how far ceil_mode's last window reaches past the padded input (0 without it)
        self.overhang = tuple(max(0, s * (o - 1) + f - (n + 2 * p)) for n, f, s, p, o
                              in zip(x.shape[2:], kernel, stride, padding, sizes))
        self.in_shape, self.out_shape = x.shape, x.shape[:2] + sizes
        return x

    def _padded(self, x, value):
        """x with ``value`` P times on each side, and on the far sides over ceil_mode's overhang."""
        (Ph, Pw), (Eh, Ew) = self.pads, self.overhang
        return np.pad(x, ((0, 0), (0, 0), (Ph, Ph + Eh), (Pw, Pw + Ew)), constant_values=value)

    def _scatter(self, per_offset, dtype):
        """dx: for each offset (m, n) in the window, per_offset(m, n) (N, C, Ho, Wo) added to
        x_pad[.., S·i + m, S·j + n]: windows that overlap add up; what lands on the padding is
        dropped."""
        (N, C, H, W), (Ph, Pw), (Eh, Ew) = self.in_shape, self.pads, self.overhang
        dx = np.zeros((N, C, H + 2 * Ph + Eh, W + 2 * Pw + Ew), dtype=dtype)
        (Fh, Fw), (Sh, Sw), (Ho, Wo) = self.kernel, self.strides, self.out_shape[2:]
        for m in range(Fh):
            for n in range(Fw):
                dx[:, :, m:m + Sh * Ho:Sh, n:n + Sw * Wo:Sw] += per_offset(m, n)
        return dx[:, :, Ph:Ph + H, Pw:Pw + W]

    def _finish(self, array):
        """Drop the height-1 axis of a 1-D result."""
        return array[:, :, 0, :] if self.spatial == 1 else array

    def onnx(self, graph, inputs, **more):
        n = self.spatial  # a 1-D pool has its own attributes, not the height-1 image's
        return graph.op(self.onnx_op, inputs[0], kernel_shape=self.kernel[-n:],
                        strides=self.strides[-n:], pads=self.pads[-n:] * 2,
                        ceil_mode=int(self.ceil_mode), **more)


class MaxPoolNode(_PoolNode):
    """z[i, j] = max over the window of x_pad[S·i+m, S·j+n], x padded with -inf

    The gradient goes to the maximum of each window: the notes' indicator formula
    I(x = z) · dz. Ties: the FIRST maximum in row-major window order takes the whole
    gradient (as PyTorch does), so what leaves a window adds up to what arrived. A NaN
    wins the max, and the first NaN of a window takes its gradient. Where windows
    overlap, an input that is the maximum of several windows gets the sum of their
    gradients. Padding is -inf (the lowest integer for integers), so it never takes a
    gradient: in a window of -inf inputs the first input wins, not the padding. By default
    the numbers come from ``nodes/kernels/pool.py`` (without padding or ceil_mode).
    """
    name, symbol = "maxpool", "max"
    rules = ("dx[S·i+m, S·j+n] += [x[S·i+m, S·j+n] is window (i, j)'s first max] · dz[i, j]",)
    saved = ("winner", "fast")
    onnx_op = "MaxPool"

    def forwardPass(self, x):
        x = self._prepare(x)
        self.fast = kernels.find("maxpool", self, x)  # the same numbers, faster, or None
        if self.fast is not None:
            return self._finish(self.fast.forward(x))
        N, C, Ho, Wo = self.out_shape
        lowest = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        flat = windows(self._padded(x, lowest), self.kernel, self.strides, (Ho, Wo))
        flat = flat.reshape(N, C, Ho, Wo, -1)
        self.winner = flat.argmax(axis=-1)  # the first maximum (or the first NaN), m·Fw + n
        if self.pads != (0, 0) or self.overhang != (0, 0):  # a pad tied with -inf inputs
            is_pad = self._padded(np.zeros((1, 1) + x.shape[2:], bool), True)
            is_pad = windows(is_pad, self.kernel, self.strides, (Ho, Wo)).reshape(Ho, Wo, -1)
            won_by_pad = is_pad[np.arange(Ho)[:, None], np.arange(Wo), self.winner]
            self.winner = np.where(won_by_pad, is_pad.argmin(axis=-1), self.winner)  # 1st input
        self.dtype = x.dtype
        return self._finish(np.take_along_axis(flat, self.winner[..., None], axis=-1)[..., 0])

    def backwardPass(self, dz):
        dz = np.asarray(dz).reshape(self.out_shape)
        if self.fast is not None:
            return (self._finish(self.fast.backward(dz)),)
        Fw = self.kernel[1]
        # I(x is the window's max) · dz, by selection: exactly 0 where it is not
        dx = self._scatter(lambda m, n: np.where(self.winner == m * Fw + n, dz, 0),
                           np.result_type(dz.dtype, self.dtype))
        return (self._finish(dx),)


class AvgPoolNode(_PoolNode):
    """z[i, j] = mean over the window of x_pad[S·i+m, S·j+n], x padded with zeros

    Each window's sum is divided by the number of elements it covers: Fh·Fw, padding
    included (PyTorch's ``count_include_pad=True``), but not ceil_mode's overhang past the
    padding; ``count_include_pad=False`` counts the input's elements only.
    """
    name, symbol = "avgpool", "avg"
    rules = ("dx[S·i+m, S·j+n] += dz[i, j] / (Fh·Fw)",)
    saved = ("count",)
    onnx_op = "AveragePool"

    def __init__(self, kernel_size, stride=None, floor=False, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__(kernel_size, stride, floor, padding, ceil_mode)
        self.count_include_pad = bool(count_include_pad)

    def forwardPass(self, x):
        x = self._prepare(x)
        self.dtype = np.result_type(x.dtype, np.float32)
        self.count = self._window_sizes().astype(self.dtype)  # (Ho, Wo): Fh·Fw without padding
        sums = windows(self._padded(x, 0), self.kernel, self.strides, self.out_shape[2:]).sum(
            axis=(4, 5), dtype=self.dtype)
        return self._finish(sums / self.count)

    def backwardPass(self, dz):
        share = np.asarray(dz, dtype=self.dtype).reshape(self.out_shape) / self.count
        return (self._finish(self._scatter(lambda m, n: share, self.dtype)),)

    def onnx(self, graph, inputs):
        return super().onnx(graph, inputs, count_include_pad=int(self.count_include_pad))

    def _window_sizes(self):
        """How many elements each window averages, (Ho, Wo): the product of its extents."""
        extents = []
        for size, f, s, p, out in zip(self.in_shape[2:], self.kernel, self.strides, self.pads,
                                      self.out_shape[2:]):
            start = s * np.arange(out)  # in the padded input
            end = np.minimum(start + f, size + 2 * p)  # the overhang is not counted
            if not self.count_include_pad:
                start, end = np.maximum(start, p), np.minimum(end, size + p)
            extents.append(end - start)
        return np.outer(*extents)
